"""The activations beyond relu/sigmoid/tanh (gelu ... prelu) and their layers, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, rand
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import activation as N
from minicnn.ops import activation as A

SHAPES = st.lists(st.integers(1, 5), min_size=0, max_size=4)

# name: (minicnn fn, torch fn, value range, kinks); each fn takes the input tensor only
OPS = {
    "gelu": (A.gelu, TF.gelu, (-7, 7), []),
    "gelu_tanh": (
        lambda x: A.gelu(x, approximate="tanh"),
        lambda x: TF.gelu(x, approximate="tanh"),
        (-7, 7),
        [],
    ),
    "silu": (A.silu, TF.silu, (-30, 30), []),
    "elu": (A.elu, TF.elu, (-5, 5), [0.0]),
    "elu_alpha": (lambda x: A.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5), (-5, 5), [0.0]),
    "selu": (A.selu, TF.selu, (-5, 5), [0.0]),
    "celu": (lambda x: A.celu(x, alpha=2.0), lambda x: TF.celu(x, alpha=2.0), (-5, 5), [0.0]),
    "mish": (A.mish, TF.mish, (-30, 30), []),
    "hardswish": (A.hardswish, TF.hardswish, (-5, 5), [-3.0, 3.0]),
    "hardsigmoid": (A.hardsigmoid, TF.hardsigmoid, (-5, 5), [-3.0, 3.0]),
    "hardtanh": (A.hardtanh, TF.hardtanh, (-3, 3), [-1.0, 1.0]),
    "hardtanh_kw": (
        lambda x: A.hardtanh(x, min_val=-0.5, max_val=2.0),
        lambda x: TF.hardtanh(x, min_val=-0.5, max_val=2.0),
        (-3, 3),
        [-0.5, 2.0],
    ),
    "logsigmoid": (A.logsigmoid, TF.logsigmoid, (-40, 40), []),
    "softsign": (A.softsign, TF.softsign, (-5, 5), [0.0]),
    "threshold": (
        lambda x: A.threshold(x, threshold=0.5, value=-2.0),
        lambda x: TF.threshold(x, threshold=0.5, value=-2.0),
        (-3, 3),
        [0.5],
    ),
    "softmin": (lambda x: A.softmin(x, dim=-1), lambda x: TF.softmin(x, dim=-1), (-5, 5), []),
    "leaky_relu_": (
        lambda x: A.leaky_relu_(x * 1, negative_slope=0.2),
        lambda x: TF.leaky_relu_(x * 1, negative_slope=0.2),
        (-3, 3),
        [0.0],
    ),
}
# torch computes hardsigmoid's 1/6 as a float32 constant, and softsign's gradient by autograd
LOOSE = {"hardsigmoid": 1e-7}


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=20, deadline=None)
@given(shape=SHAPES, seed=st.integers(0, 2**31 - 1), kinks=st.booleans())
def test_forward_backward_matches_torch(name: str, shape: list[int], seed: int, kinks: bool) -> None:
    f, tf, (lo, hi), kink_values = OPS[name]
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, lo, hi)
    if kinks and kink_values and x.size:  # put some elements exactly on the kinks
        pick = rng.random(x.shape) < 0.5
        x = np.where(pick, rng.choice(kink_values, size=x.shape), x)
    if name == "softmin" and not shape:
        shape = [1]
        x = x.reshape(1)
    rtol = LOOSE.get(name)
    compare_with_torch(f, tf, [x], rtol=rtol)


@pytest.mark.parametrize("name", sorted(OPS))
def test_float32_kept(name: str) -> None:
    f, tf, (lo, hi), kink_values = OPS[name]
    x = rand(np.random.default_rng(1), (4, 9), lo, hi)
    compare_with_torch(f, tf, [x], dtype=np.float32)


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradcheck_away_from_kinks(name: str) -> None:
    f, _, (lo, hi), kink_values = OPS[name]
    x = rand(np.random.default_rng(2), (3, 5), max(lo, -6), min(hi, 6))
    for k in kink_values:  # keep eps-neighbourhoods of the kinks clear
        x = np.where(np.abs(x - k) < 1e-3, x + 0.01, x)
    assert mc.gradcheck(f, [mc.tensor(x, requires_grad=True)])


def test_nan_gradients_follow_torchs_vectorised_loop() -> None:
    """A NaN input: torch's vectorised kernels (all but the tail of a tensor) decide its gradient."""
    for name, (f, tf, _, _) in OPS.items():
        if name == "softmin":
            continue
        x = np.full(64, np.nan)
        x[1::2] = np.linspace(-4, 4, 32)
        compare_with_torch(f, tf, [x], rtol=LOOSE.get(name))
        mt = mc.tensor(x, requires_grad=True)
        tt = torch.tensor(x, requires_grad=True)
        f(mt).sum().backward()
        tf(tt).sum().backward()
        np.testing.assert_array_equal(np.isnan(mt.grad.numpy()), np.isnan(tt.grad.numpy()), err_msg=name)


@settings(max_examples=20, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    dim=st.integers(-4, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_glu(shape: list[int], dim: int, seed: int) -> None:
    dim = dim % len(shape) - (len(shape) if dim < 0 else 0)
    shape[dim] *= 2
    x = rand(np.random.default_rng(seed), shape, -4, 4)
    compare_with_torch(lambda t: A.glu(t, dim=dim), lambda t: TF.glu(t, dim=dim), [x])
    assert mc.gradcheck(lambda t: A.glu(t, dim), [mc.tensor(x, requires_grad=True)])


@settings(max_examples=20, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=4),
    per_channel=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
    zeros=st.booleans(),
)
def test_prelu(shape: list[int], per_channel: bool, seed: int, zeros: bool) -> None:
    rng = np.random.default_rng(seed)
    x = rand(rng, shape)
    if zeros:
        x = np.where(rng.random(x.shape) < 0.4, 0.0, x)
    c = (shape[1] if len(shape) > 1 else 1) if per_channel and shape else 1
    w = rng.uniform(-0.5, 0.5, size=(c,) if per_channel or not shape else ())
    compare_with_torch(A.prelu, TF.prelu, [x, w])
    compare_with_torch(A.prelu, TF.prelu, [x, w], dtype=np.float32)
    if not zeros:
        xs = [mc.tensor(x, requires_grad=True), mc.tensor(w, requires_grad=True)]
        assert mc.gradcheck(A.prelu, xs)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", ["gelu", "selu", "hardswish", "softmin"])
def test_on_device(name: str, device: str) -> None:
    f, tf, (lo, hi), _ = OPS[name]
    x = rand(np.random.default_rng(3), (3, 6), lo, hi)
    compare_with_torch(f, tf, [x], device=device)
    compare_with_torch(f, tf, [x], dtype=np.float32, device=device)


@pytest.mark.parametrize("device", devices())
def test_prelu_module_on_device(device: str) -> None:
    m = N.PReLU(3, device=device)
    assert mc.backend.device_of(m.weight.array) == mc.backend.device_str(device)
    x = mc.tensor(rand(np.random.default_rng(4), (2, 3, 4)).astype(np.float32), device=device)
    m(x).sum().backward()
    tm = tnn.PReLU(3)
    tm(torch.tensor(x.numpy())).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


MODULES = [
    ("GELU", ()),
    ("GELU", ("tanh",)),
    ("SiLU", ()),
    ("SiLU", (True,)),
    ("ELU", ()),
    ("ELU", (0.5, True)),
    ("SELU", (True,)),
    ("CELU", (2.0,)),
    ("Mish", (True,)),
    ("Hardswish", (True,)),
    ("Hardsigmoid", ()),
    ("Hardtanh", ()),
    ("Hardtanh", (-2, 3, True)),
    ("LogSigmoid", ()),
    ("Softsign", ()),
    ("Threshold", (0.1, 20)),
    ("Threshold", (0.1, 20.0, True)),
    ("Softmin", (1,)),
    ("Softmin", ()),
    ("GLU", ()),
    ("GLU", (1,)),
    ("PReLU", ()),
    ("PReLU", (3, 0.1)),
]


@pytest.mark.parametrize(("cls", "args"), MODULES)
def test_module_repr_and_output(cls: str, args: tuple) -> None:
    m, tm = getattr(N, cls)(*args), getattr(tnn, cls)(*args)
    assert str(m) == str(tm)
    x = rand(np.random.default_rng(5), (2, 4, 4) if cls == "GLU" else (2, 3, 4)).astype(np.float32)
    before = x.copy()
    if cls == "Softmin" and not args:
        with pytest.warns(UserWarning, match="softmin"):
            y = m(mc.tensor(x))
        with pytest.warns(UserWarning):
            ty = tm(torch.tensor(x))
    else:
        y, ty = m(mc.tensor(x)), tm(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x, before)  # modules compute out of place


def test_module_keywords() -> None:
    assert str(N.Hardtanh(min_val=0.0, max_val=6.0, inplace=True)) == "Hardtanh(min_val=0.0, max_val=6.0, inplace=True)"
    assert str(N.Threshold(threshold=1, value=0)) == str(tnn.Threshold(threshold=1, value=0))
    assert str(N.GELU(approximate="tanh")) == str(tnn.GELU(approximate="tanh"))
    assert str(N.PReLU(num_parameters=4, init=0.5)) == str(tnn.PReLU(num_parameters=4, init=0.5))
    with pytest.warns(FutureWarning):
        assert N.Hardtanh(min_value=-2.0).min_val == -2.0


def test_prelu_parameter() -> None:
    for args in [(), (5,), (2, -0.3)]:
        m, tm = N.PReLU(*args), tnn.PReLU(*args)
        assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
        assert m.weight.shape == tuple(tm.weight.shape) and m.weight.dtype == np.float32
        np.testing.assert_array_equal(m.weight.numpy(), tm.weight.detach().numpy())
        assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert N.PReLU(2, dtype=np.float64).weight.dtype == np.float64
    m, tm = N.PReLU(3, 0.2), tnn.PReLU(3, 0.2)
    x = rand(np.random.default_rng(6), (4, 3, 2, 2)).astype(np.float32)
    g = rand(np.random.default_rng(7), (4, 3, 2, 2)).astype(np.float32)
    (m(mc.tensor(x)) * mc.tensor(g)).sum().backward()
    (tm(torch.tensor(x)) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


INPLACE = {
    "silu": (A.silu, TF.silu),
    "elu": (lambda x, **k: A.elu(x, 0.7, **k), lambda x, **k: TF.elu(x, 0.7, **k)),
    "selu": (A.selu, TF.selu),
    "celu": (lambda x, **k: A.celu(x, 1.5, **k), lambda x, **k: TF.celu(x, 1.5, **k)),
    "mish": (A.mish, TF.mish),
    "hardswish": (A.hardswish, TF.hardswish),
    "hardsigmoid": (A.hardsigmoid, TF.hardsigmoid),
    "hardtanh": (A.hardtanh, TF.hardtanh),
    "threshold": (lambda x, **k: A.threshold(x, 0.1, 9.0, **k), lambda x, **k: TF.threshold(x, 0.1, 9.0, **k)),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_writes_input_and_differentiates(name: str) -> None:
    f, tf = INPLACE[name]
    x = rand(np.random.default_rng(8), (3, 4))
    m = mc.tensor(x)
    out = f(m, inplace=True)
    np.testing.assert_allclose(m.numpy(), tf(torch.tensor(x)).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(out.numpy(), m.numpy())
    leaf, tleaf = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        f(leaf, inplace=True)
    f(leaf * 2, inplace=True).sum().backward()
    tf(tleaf * 2, inplace=True).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=LOOSE.get(name, 1e-9), atol=1e-12)


def test_leaky_relu_inplace() -> None:
    x = np.array([-2.0, 0.0, 3.0])
    m = mc.tensor(x)
    assert A.leaky_relu_(m, 0.3) is not None
    np.testing.assert_allclose(m.numpy(), [-0.6, 0.0, 3.0])


FLOAT_ONLY = [A.gelu, A.silu, A.elu, A.selu, A.celu, A.mish, A.hardswish, A.hardsigmoid, A.logsigmoid, A.glu]


@pytest.mark.parametrize("f", FLOAT_ONLY + [lambda x: A.softmin(x, 0), A.leaky_relu_])
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_integer_inputs_refused(f, dtype) -> None:
    with pytest.raises(TypeError, match="floating point"):
        f(mc.tensor(np.array([1, 0]).astype(dtype)))


def test_integer_inputs_torch_allows() -> None:
    x = np.array([-3, -1, 0, 1, 2, 5])
    for f, tf in [
        (lambda t: A.hardtanh(t, -1.5, 1.5), lambda t: TF.hardtanh(t, -1.5, 1.5)),
        (lambda t: A.threshold(t, -0.5, 7.9), lambda t: TF.threshold(t, -0.5, 7.9)),
        (A.softsign, TF.softsign),
        (lambda t: A.softmin(t, 0, dtype=np.float64), lambda t: TF.softmin(t, 0, dtype=torch.float64)),
    ]:
        y, ty = f(mc.tensor(x)), tf(torch.tensor(x))
        assert y.dtype == np.dtype(str(ty.dtype)[6:])
        np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-6)
    for f in (A.hardtanh, A.softsign, lambda t: A.threshold(t, 0, 1)):
        with pytest.raises(TypeError):
            f(mc.tensor(np.array([True])))
    with pytest.raises(TypeError, match="prelu"):
        A.prelu(mc.tensor(x), mc.tensor(np.array([0.25])))


def test_bad_arguments() -> None:
    x = mc.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="approximate"):
        A.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="alpha"):
        A.celu(x, alpha=0.0)
    with pytest.raises(ValueError, match="min_val"):
        A.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ValueError, match=r"dimension 1 is size 3.*\(2, 3\)"):
        A.glu(x)
    with pytest.raises(ValueError, match="scalars"):
        A.glu(mc.tensor(np.float64(1.0)))
    with pytest.raises(IndexError, match="out of range"):
        A.glu(x, dim=2)
    with pytest.raises(ValueError, match="2 slopes.*3 channels"):
        A.prelu(x, mc.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="1-d"):
        A.prelu(x, mc.tensor(np.ones((1, 1))))
    with pytest.raises(ValueError, match="0-d"):
        A.prelu(mc.tensor(np.float64(1.0)), mc.tensor(np.ones(2)))
    with pytest.raises(TypeError, match="float32"):
        A.prelu(x, mc.tensor(np.ones(3, dtype=np.float32)))


@pytest.mark.parametrize(
    ("f", "tf", "shapes"),
    [
        (A.glu, TF.glu, [(2, 3)]),
        (A.glu, TF.glu, [()]),
        (A.prelu, TF.prelu, [(2, 3), (2,)]),
        (A.prelu, TF.prelu, [(2, 3), (1, 1)]),
        (A.prelu, TF.prelu, [(), (2,)]),
        (lambda x, w: A.prelu(x, w.float()), lambda x, w: TF.prelu(x, w.float()), [(2, 3), (3,)]),
    ],
)
def test_shape_errors_are_torchs_runtime_error(f, tf, shapes) -> None:
    """Where torch raises RuntimeError, so does minicnn (its ValueError being one too)."""
    arrays = [np.ones(s) for s in shapes]
    with pytest.raises(RuntimeError) as theirs:
        tf(*[torch.tensor(a) for a in arrays])
    with pytest.raises(type(theirs.value)):
        f(*[mc.tensor(a) for a in arrays])


def test_softmin_dtype_and_implicit_dim() -> None:
    x = rand(np.random.default_rng(9), (2, 3)).astype(np.float32)
    y = A.softmin(mc.tensor(x), 1, dtype=np.float64)
    ty = TF.softmin(torch.tensor(x), 1, dtype=torch.float64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        y = A.softmin(mc.tensor(x))
    np.testing.assert_allclose(y.numpy(), TF.softmin(torch.tensor(x), 1).numpy(), rtol=1e-6)


def test_erf_accuracy_against_math() -> None:
    import math

    from minicnn.kernels.erf import erf

    x = np.concatenate([np.linspace(-8, 8, 2001), [0.0, -0.0, 1e-300, 5.999, 6.0, np.inf, -np.inf]])
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), want, rtol=0, atol=5e-14)
    assert np.isnan(erf(np.array([np.nan]))).all()


def test_selu_constants_are_torchs() -> None:
    y = TF.selu(torch.tensor([1.0, -1e9], dtype=torch.float64)).numpy()
    assert (A.SELU_SCALE, -A.SELU_ALPHA * A.SELU_SCALE) == (y[0], y[1])
