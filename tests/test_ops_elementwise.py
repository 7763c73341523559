"""Elementwise arithmetic, pointwise math, activations and matmul against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minicnn as mc
import minicnn.nn.functional as F

SETTINGS = settings(max_examples=30, deadline=None)
dtypes = st.sampled_from([np.float32, np.float64])
shapes = array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4)

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "pow": (lambda a, b: a**b, lambda a, b: a**b),
    "where": (lambda a, b: mc.where(a > b, a, b), lambda a, b: torch.where(a > b, a, b)),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shp=pairs, dtype=dtypes, seed=st.integers(0, 2**16))
def test_binary_broadcasting(device, name, shp, dtype, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shp.input_shapes
    a = rng.uniform(0.5, 2.0, sa)  # positive: valid for pow's log and away from div's pole
    b = rng.uniform(0.5, 2.0, sb) * rng.choice([-1, 1], sb) if name != "pow" else rng.uniform(-2, 2, sb)
    f, g = BINARY[name]
    compare_with_torch(f, g, [a, b], dtype=dtype, device=device)


@pytest.mark.parametrize("scalar", [2, 0.5, -3.0])
def test_scalar_operands_keep_dtype(scalar):
    a = np.random.default_rng(0).uniform(0.5, 2, (3, 4))
    for f in (
        lambda x: x + scalar,
        lambda x: scalar - x,
        lambda x: x * scalar,
        lambda x: scalar / x,
        lambda x: x**scalar,
        lambda x: -x,
    ):
        compare_with_torch(f, f, [a], dtype=np.float32)


UNARY = {
    "exp": (mc.exp, torch.exp, (-3, 3)),
    "log": (mc.log, torch.log, (0.1, 5)),
    "sqrt": (mc.sqrt, torch.sqrt, (0.1, 5)),
    "abs": (lambda x: x.abs(), torch.abs, (-3, 3)),
    "clip": (lambda x: x.clip(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), (-2, 2)),
    "clip_lo": (lambda x: mc.clamp(x, min=0.1), lambda x: x.clamp(min=0.1), (-2, 2)),
    "relu": (F.relu, TF.relu, (-3, 3)),
    "relu6": (F.relu6, TF.relu6, (-3, 9)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), (-3, 3)),
    "sigmoid": (F.sigmoid, torch.sigmoid, (-30, 30)),
    "tanh": (F.tanh, torch.tanh, (-4, 4)),
    "softmax0": (lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0), (-50, 50)),
    "softmax-1": (lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1), (-50, 50)),
    "log_softmax0": (lambda x: F.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0), (-50, 50)),
    "log_softmax-1": (lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1), (-50, 50)),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5), dtype=dtypes, seed=st.integers(0, 2**16))
def test_unary(device, name, shape, dtype, seed):
    f, g, (lo, hi) = UNARY[name]
    x = np.random.default_rng(seed).uniform(lo, hi, shape)
    if name.startswith(("relu", "leaky", "abs", "clip")):
        x[np.abs(x) < 1e-3] = 0.5  # keep finite differences and torch away from the kink
    compare_with_torch(f, g, [x], dtype=dtype, device=device)


def test_activation_kinks_match_torch():
    """Subgradients at the kinks follow torch: relu'(0)=0, relu6'(6)=0, clip passes at bounds."""
    x = np.array([-1.0, 0.0, 6.0, 3.0, 0.7, -0.5])
    for f, g in [
        (F.relu, TF.relu),
        (F.relu6, TF.relu6),
        (lambda t: t.abs(), torch.abs),
        (lambda t: t.clip(-0.5, 0.7), lambda t: t.clamp(-0.5, 0.7)),
    ]:
        compare_with_torch(f, g, [x])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu"])
def test_activation_special_values_match_torch(device, dtype, name):
    """NaN passes its gradient through relu and relu6 (torch's masks are "not x <= 0" and
    "not (x <= 0 or x >= 6)"); -0.0, +-inf and the kinks get torch's values; an inf upstream
    gradient does not leak into masked positions (0, not 0 * inf = NaN)."""
    f, g, _ = UNARY[name]
    x = np.array([0.0, -0.0, 6.0, -1e-30, 1e-30, 5.999, 6.001, -3, 3, 100, -100, np.inf, -np.inf, np.nan, np.nan])
    for gy in (np.linspace(-1.0, 2.0, x.size), np.full(x.size, np.inf)):
        xm = mc.tensor(x.astype(dtype), requires_grad=True, device=device)
        xt = torch.tensor(x.astype(dtype), requires_grad=True)
        ym, yt = f(xm), g(xt)
        np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
        ym.backward(mc.tensor(gy.astype(dtype), device=device))
        yt.backward(torch.tensor(gy.astype(dtype)))
        np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("value", [-0.7, 0.0, 2.5, 6.0, 7.0])
def test_relu6_of_a_0d_tensor_matches_torch(device, value):
    """A 0-d input: its mask was a NumPy bool scalar, which ``out=`` refused (a TypeError)."""
    compare_with_torch(F.relu6, TF.relu6, [np.array(value)], device=device)
    compare_with_torch(
        lambda t: mc.nn.ReLU6(inplace=True)(t * 1),
        lambda t: torch.nn.ReLU6(inplace=True)(t * 1),
        [np.array(value)],
        device=device,
    )


def test_softmax_is_stable_for_huge_logits():
    x = mc.tensor([[1000.0, 0.0, -1000.0]])
    assert np.isfinite(F.softmax(x, 1).numpy()).all()
    assert np.isfinite(F.log_softmax(x, 1).numpy()).all()
    assert np.isfinite(F.sigmoid(mc.tensor([-1000.0, 1000.0])).numpy()).all()


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((1, 2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((4,), (2, 4, 3)),
    ((2, 5, 4), (4,)),
    ((0, 3), (3, 2)),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul(device, sa, sb, dtype):
    rng = np.random.default_rng(1)
    compare_with_torch(
        lambda a, b: a @ b, torch.matmul, [rng.standard_normal(sa), rng.standard_normal(sb)], dtype=dtype, device=device
    )


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(n=st.integers(0, 4), i=st.integers(1, 5), o=st.integers(1, 5), bias=st.booleans(), lead=st.booleans())
def test_linear(device, n, i, o, bias, lead):
    rng = np.random.default_rng(n * 100 + i * 10 + o)
    shape = (2, n, i) if lead else (n, i)
    arrays = [rng.standard_normal(shape), rng.standard_normal((o, i))] + ([rng.standard_normal(o)] if bias else [])
    compare_with_torch(F.linear, TF.linear, arrays, device=device)


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        mc.randn(2, 3) @ mc.randn(4, 5)


def test_linear_shape_error_names_layer_and_shapes():
    layer = mc.nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(4, 3\).*\(2, 5\)"):
        layer(mc.randn(2, 5))


GRADCHECK = {
    "add": (lambda a, b: a + b, [(2, 3), (3,)]),
    "sub": (lambda a, b: a - b, [(2, 1), (1, 3)]),
    "mul": (lambda a, b: a * b, [(2, 3), (2, 1)]),
    "div": (lambda a, b: a / b, [(2, 3), (3,)]),
    "pow": (lambda a, b: a**b, [(2, 3), (2, 3)]),
    "matmul": (lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    "matmul_vec": (lambda a, b: a @ b, [(4,), (3, 4, 2)]),
    "exp": (mc.exp, [(2, 3)]),
    "log": (mc.log, [(2, 3)]),
    "sqrt": (mc.sqrt, [(2, 3)]),
    "abs": (lambda x: x.abs(), [(2, 3)]),
    "clip": (lambda x: x.clip(0.8, 1.5), [(2, 3)]),
    "where": (lambda a, b: mc.where(a > 1.2, a, b), [(2, 3), (3,)]),
    "relu": (F.relu, [(3, 4)]),
    "relu6": (F.relu6, [(3, 4)]),
    "leaky_relu": (lambda x: F.leaky_relu(x - 1.2, 0.1), [(3, 4)]),
    "sigmoid": (F.sigmoid, [(3, 4)]),
    "tanh": (F.tanh, [(3, 4)]),
    "softmax": (lambda x: F.softmax(x, 1), [(3, 4)]),
    "log_softmax": (lambda x: F.log_softmax(x, 0), [(3, 4)]),
    "linear": (F.linear, [(3, 4), (2, 4), (2,)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_float64(name):
    fn, shapes_ = GRADCHECK[name]
    rng = np.random.default_rng(7)
    inputs = []
    for s in shapes_:
        a = rng.uniform(0.5, 2.0, s)
        a[np.abs(a - 1.2) < 0.02] += 0.1  # keep away from kinks used above
        inputs.append(mc.tensor(a, requires_grad=True))
    assert mc.gradcheck(fn, inputs)


def test_linear_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match=r"Linear\(3, 2\).*float32.*float64"):
        mc.nn.Linear(3, 2).double()(mc.randn(4, 3))


def test_activation_layer_reprs_match_torch():
    for make in (
        lambda m: m.ReLU(),
        lambda m: m.ReLU(inplace=True),
        lambda m: m.ReLU6(inplace=True),
        lambda m: m.LeakyReLU(0.2, inplace=True),
        lambda m: m.LeakyReLU(),
    ):
        assert repr(make(mc.nn)) == repr(make(torch.nn))


def _outcome(f, lib):
    """(dtype name, values) of ``f(lib)``, or the exception raised."""
    try:
        r = f(lib)
    except Exception as e:  # noqa: BLE001  (the type is what is compared)
        return e
    return str(r.dtype).split(".")[-1], np.asarray(r.numpy() if lib is mc else r.detach().numpy()).tolist()


INT_CASES = {
    "uint8 + -1 wraps": lambda L: L.tensor([1, 2], dtype=L.uint8) + -1,
    "-1 * uint8 wraps": lambda L: -1 * L.tensor([1, 2], dtype=L.uint8),
    "int8 + 1000 wraps": lambda L: L.tensor([1, -2], dtype=L.int8) + 1000,
    "uint8 0-d & int8": lambda L: L.tensor(3, dtype=L.uint8) & L.tensor([1, 6], dtype=L.int8),
    "uint8 | int8 0-d": lambda L: L.tensor([1, 6], dtype=L.uint8) | L.tensor(3, dtype=L.int8),
    "bool ^ int16": lambda L: L.tensor([True, False]) ^ L.tensor([3, 5], dtype=L.int16),
    "bool << int8": lambda L: L.tensor([True, False]) << L.tensor([1, 2], dtype=L.int8),
    "int tensor ** negative int tensor": lambda L: L.tensor([2, 1, -1, -1, 0]) ** L.tensor([-1, -3, -1, -2, 2]),
    "bool ** True": lambda L: L.tensor([True, False]) ** True,
    "float16 == float64 0-d": lambda L: L.tensor([0.1, 2.0], dtype=L.float16) == L.tensor(0.1, dtype=L.float64),
    "float32 < int64 0-d": lambda L: L.tensor([16777216.0]) < L.tensor(16777217),
    # an empty dividend divides nothing: no ZeroDivisionError (it raised)
    "empty int % 0": lambda L: L.zeros((0, 2), dtype=L.int32) % L.tensor([0, 1], dtype=L.int32),
    "empty int // bool False": lambda L: L.zeros((0, 1), dtype=L.int64) // L.tensor(False),
    "empty int fmod 0": lambda L: L.fmod(L.zeros((2, 0), dtype=L.int64), 0),
    "empty int div trunc 0": lambda L: L.div(L.zeros(0, dtype=L.int32), L.tensor(0), rounding_mode="trunc"),
}


@pytest.mark.parametrize("name", sorted(INT_CASES))
def test_integer_and_bool_promotion_as_torch(name):
    f = INT_CASES[name]
    assert _outcome(f, mc) == _outcome(f, torch)


ERROR_CASES = {
    "int // 0": (lambda L: L.tensor([1, 2]) // 0, ZeroDivisionError),
    "int % int 0": (lambda L: L.tensor([1, 2], dtype=L.int8) % L.tensor([1, 0], dtype=L.int8), ZeroDivisionError),
    "bool // int with 0": (lambda L: L.tensor([True]) // L.tensor([0]), ZeroDivisionError),
    "int ** -1": (lambda L: L.tensor([2]) ** -1, None),
    "bool - int": (lambda L: L.tensor([True]) - L.tensor([1]), None),
    "float - True": (lambda L: L.tensor([1.0]) - True, None),
    "-bool": (lambda L: -L.tensor([True]), None),
    "bool // bool": (lambda L: L.tensor([True]) // L.tensor([True]), None),
    "bool ** bool": (lambda L: L.tensor([True]) ** L.tensor([True]), None),
    "bool & 2.5": (lambda L: L.tensor([True]) & 2.5, None),
    "int32 | float32": (lambda L: L.tensor([1], dtype=L.int32) | L.tensor([1.0]), None),
    "bool << bool": (lambda L: L.tensor([True]) << L.tensor([True]), None),
    "int mean": (lambda L: L.tensor([1, 2]).mean(), None),
    "int var": (lambda L: L.tensor([1, 2]).var(), None),
    "int += 0.5": (lambda L: L.tensor([1, 2]).__iadd__(0.5), None),
    "int /= 2": (lambda L: L.tensor([1, 2]).__itruediv__(2), None),
    "int //= 0": (lambda L: L.tensor([1, 2]).__ifloordiv__(0), ZeroDivisionError),
    "int %= 0": (lambda L: L.tensor([1, 2]).__imod__(0), ZeroDivisionError),
    "int //= 2.5": (lambda L: L.tensor([1, 2]).__ifloordiv__(2.5), None),
    "bool += int tensor": (lambda L: L.tensor([True]).__iadd__(L.tensor([2])), None),
    "int mul_ float tensor": (lambda L: L.tensor([1, 2]).mul_(L.tensor([1.5, 2.0])), None),
    "0-d += 1-d": (lambda L: L.tensor(1.0).__iadd__(L.tensor([1.0, 2.0])), None),
    "fmod bool": (lambda L: L.fmod(L.tensor([True]), L.tensor([True])), None),  # (NumPy's answer: int8)
    "hypot int": (lambda L: L.hypot(L.tensor([3]), L.tensor([4])), None),
    "lerp int": (lambda L: L.lerp(L.tensor([1]), L.tensor([2]), 0.5), None),
    "lerp float32 with float64": (lambda L: L.lerp(L.tensor([1.0]), L.tensor([2.0], dtype=L.float64), 0.5), None),
    "float -= True": (lambda L: L.tensor([1.0]).__isub__(True), None),  # (NumPy's in-place fast path computes it)
    "float -= bool tensor": (lambda L: L.tensor([1.0, 2.0]).__isub__(L.tensor([True, False])), None),
    # torch 2.14's type for a bool subtraction is NotImplementedError; alpha does not make the bool a number
    "float - bool, alpha": (lambda L: L.tensor([1.0]).sub(L.tensor([True]), alpha=2), NotImplementedError),
    "float sub_ True, alpha": (lambda L: L.tensor([1.0]).sub_(True, alpha=2), NotImplementedError),
    "rsub bool, alpha": (lambda L: L.rsub(L.tensor([True]), 1, alpha=2), NotImplementedError),
    "torch.sub bool, alpha": (lambda L: L.sub(L.tensor([1.0]), True, alpha=2), NotImplementedError),
    "(2,) + (3,)": (lambda L: L.ones(2) + L.ones(3), None),  # NumPy's broadcast ValueError is torch's RuntimeError
    "(2, 3) * (2,)": (lambda L: L.ones(2, 3) * L.ones(2), None),
    "where (2,) (3,)": (lambda L: L.where(L.ones(2) > 0, L.ones(2), L.ones(3)), None),
    "atan2 (4, 1) (3, 2)": (lambda L: L.atan2(L.ones(4, 1), L.ones(3, 2)), None),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_refused_dtypes_raise_torchs_runtime_error(name):
    f, also = ERROR_CASES[name]
    with pytest.raises(RuntimeError):
        f(torch)
    with pytest.raises(RuntimeError) as info:
        f(mc)
    if also is not None:
        assert isinstance(info.value, also)


def test_floor_division_and_remainder_in_place_write_through_every_view_as_torch():
    # x //= s and x %= s write into x's memory (they rebound the name before: views kept the old values)
    seen = []
    for lib in (mc, torch):
        for a, s in (([5, -7], 2), ([5.5, -7.0], 1.5), ([5.0, -7.0], -0.0), ([5, -7], lib.tensor([2, -3]))):
            for op in ("floordiv", "mod"):
                x = lib.tensor(a)
                v, before = x[:], x
                x = getattr(x, f"__i{op}__")(s)
                seen.append(repr((x is before, v.tolist(), x.tolist(), x._version)))  # (repr: NaN equals NaN)
    half = len(seen) // 2
    assert seen[:half] == seen[half:]
    grads = []
    for lib in (mc, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = w * 3
        y %= 2  # recorded in the graph
        (y * lib.tensor([1.0, 4.0])).sum().backward()
        grads.append(w.grad.tolist())
    assert grads[0] == grads[1] == [3.0, 12.0]


def test_bitwise_in_place_operators_write_through_every_view_as_torch():
    # x &= y, |=, ^=, <<=, >>= write into x's memory (Python rebound x to a new tensor before: x and views unchanged)
    seen = []
    for lib in (mc, torch):
        for a, s in (([5, -7], lib.tensor(True)), ([True, False], lib.tensor([True, True])), ([5, 12], 3)):
            for op in ("and", "or", "xor", "lshift", "rshift"):
                x = lib.tensor(a)
                v, before = x[:], x
                try:
                    x = getattr(x, f"__i{op}__")(s)
                except RuntimeError:  # bool <<= bool: refused by both
                    seen.append("refused")
                    continue
                seen.append(repr((x is before, v.tolist(), x.tolist(), x._version)))
    half = len(seen) // 2
    assert seen[:half] == seen[half:]
    for lib in (mc, torch):
        x = lib.tensor([True, False])
        with pytest.raises(RuntimeError):  # int64 result into a bool tensor
            x |= lib.tensor([3, 0])
        with pytest.raises(RuntimeError):  # a float tensor
            y = lib.tensor([1.0])
            y &= 1


def test_inplace_casts_as_torch():
    for f in (
        lambda L: L.tensor([1, 2], dtype=L.uint8).__iadd__(L.tensor([-3, 300])),  # int64 into uint8 wraps
        lambda L: L.tensor([1, 2], dtype=L.int8).__imul__(200),
        lambda L: L.tensor([1.0, 2.0], dtype=L.float16).add_(L.tensor([1.0, 2.0], dtype=L.float64)),
        lambda L: L.tensor([7, -7], dtype=L.uint8).floor_divide_(L.tensor([2, 3])),
    ):
        assert _outcome(f, mc) == _outcome(f, torch)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_abs_and_div_gradients_at_special_values_like_torch(device, dtype):
    """abs' is 0 at NaN (torch's sign(NaN) is 0), and div's divisor gradient is formed
    -gy (a / b) / b as torch's: b * b underflowed to 0 for a tiny b (NaN or inf before)."""
    tiny = np.finfo(dtype).tiny / 4  # (a subnormal: its square is 0)
    a = np.array([np.nan, 0.0, -0.0, tiny, 1.0, -2.0, np.inf, 3.0, 0.0, 1e-3], dtype)
    b = np.array([2.0, tiny, tiny, tiny, np.inf, 0.0, 2.0, 1e-3, np.inf, -4.0], dtype)
    for second in (False, True):
        xm = [mc.tensor(v, requires_grad=True, device=device) for v in (a, b)]
        xt = [torch.tensor(v, requires_grad=True) for v in (a, b)]
        gm = mc.autograd.grad((xm[0].abs() + xm[0] / xm[1]).sum(), xm, create_graph=second)
        gt = torch.autograd.grad((xt[0].abs() + xt[0] / xt[1]).sum(), xt, create_graph=second)
        for m, t in zip(gm, gt, strict=True):
            np.testing.assert_allclose(m.numpy(), t.detach().numpy(), rtol=1e-6)
            np.testing.assert_array_equal(np.signbit(m.numpy()), np.signbit(t.detach().numpy()))
    if dtype == np.float64:
        pair = [mc.tensor(np.array(v), requires_grad=True) for v in ([0.5, -2.0, 0.0], [0.3, 1.7, -0.9])]
        assert mc.gradgradcheck(mc.div, pair)
