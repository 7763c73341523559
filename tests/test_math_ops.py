"""Pointwise math, reductions and products (minicnn.ops.math / reduce / linalg) against torch.

Every op: forward and backward compared with torch on hypothesis-drawn shapes and values
(float64; the special values where an op has a special case: zeros for prod/cumprod/norm,
halves for round, -inf rows for logsumexp, large inputs for softplus), a float64 gradcheck away
from kinks, integer-input dtypes, and torch's refusals.
"""

from __future__ import annotations

import math

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
from minicnn.ops import activation as A
from minicnn.ops import linalg as L
from minicnn.ops import math as M
from minicnn.ops import reduce as R

SETTINGS = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**16)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
nonempty = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4)


def away_from_zero(lo: float, hi: float):
    return lambda rng, shape: rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def uniform(lo: float, hi: float):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def halves(rng, shape):
    """Exact halves (0.5, 1.5, -2.5: round to even) mixed with arbitrary values."""
    return np.where(rng.random(shape) < 0.5, rng.integers(-8, 9, shape) / 2, rng.uniform(-5, 5, shape))


def eighths(rng, shape):
    """k/8: halves at the first and second decimal place (1.25, 0.125) for round(decimals)."""
    return rng.integers(-400, 401, shape) / 8


def with_zero_nan(rng, shape):
    x = rng.uniform(-3, 3, shape)
    return np.where(rng.random(shape) < 0.2, 0.0, np.where(rng.random(shape) < 0.1, np.nan, x))


def off_integers(rng, shape):
    """Values at least 0.1 from every integer and half-integer: away from rounding jumps."""
    return rng.integers(-5, 5, shape) + rng.choice([0.15, 0.3, 0.65, 0.85], shape) + rng.uniform(-0.04, 0.04, shape)


def assert_same(ours: mc.Tensor, theirs: torch.Tensor) -> None:
    """Same dtype and values (for mixed-dtype calls, which compare_with_torch casts away)."""
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)


# name: (minicnn function, torch function, sampler for compare, sampler for gradcheck)
UNARY = {
    "sin": (M.sin, torch.sin, uniform(-6, 6), uniform(-6, 6)),
    "cos": (M.cos, torch.cos, uniform(-6, 6), uniform(-6, 6)),
    "tan": (M.tan, torch.tan, uniform(-1.4, 1.4), uniform(-1.3, 1.3)),
    "asin": (M.asin, torch.asin, uniform(-0.99, 0.99), uniform(-0.9, 0.9)),
    "acos": (M.acos, torch.acos, uniform(-0.99, 0.99), uniform(-0.9, 0.9)),
    "atan": (M.atan, torch.atan, uniform(-10, 10), uniform(-10, 10)),
    "sinh": (M.sinh, torch.sinh, uniform(-5, 5), uniform(-5, 5)),
    "cosh": (M.cosh, torch.cosh, uniform(-5, 5), uniform(-5, 5)),
    "reciprocal": (M.reciprocal, torch.reciprocal, away_from_zero(0.05, 5), away_from_zero(0.3, 5)),
    "rsqrt": (M.rsqrt, torch.rsqrt, uniform(0.01, 9), uniform(0.2, 9)),
    "square": (M.square, torch.square, uniform(-5, 5), uniform(-5, 5)),
    "log2": (M.log2, torch.log2, uniform(0.01, 100), uniform(0.2, 100)),
    "log10": (M.log10, torch.log10, uniform(0.01, 100), uniform(0.2, 100)),
    "log1p": (M.log1p, torch.log1p, uniform(-0.99, 10), uniform(-0.8, 10)),
    "expm1": (M.expm1, torch.expm1, uniform(-1e-3, 1e-3), uniform(-3, 3)),
    "expm1_wide": (M.expm1, torch.expm1, uniform(-20, 20), uniform(-3, 3)),
    "exp2": (M.exp2, torch.exp2, uniform(-10, 10), uniform(-3, 3)),
    "softplus": (A.softplus, TF.softplus, uniform(-40, 40), uniform(-15, 15)),
    "softplus_beta": (
        lambda x: F.softplus(x, beta=2.0, threshold=5.0),
        lambda x: TF.softplus(x, beta=2.0, threshold=5.0),
        uniform(-10, 10),
        off_integers,  # beta * x stays off 5 (the threshold)
    ),
    "softplus_large": (
        lambda x: F.softplus(x, 0.5, 1000.0),  # no linear switch: log1p(exp(z)) up to z = 700
        lambda x: TF.softplus(x, 0.5, 1000.0),
        uniform(-1400, 1400),
        uniform(-10, 10),
    ),
    "floor": (M.floor, torch.floor, halves, off_integers),
    "ceil": (M.ceil, torch.ceil, halves, off_integers),
    "trunc": (M.trunc, torch.trunc, halves, off_integers),
    "round": (M.round, torch.round, halves, off_integers),
    "round_dec1": (lambda x: M.round(x, decimals=1), lambda x: torch.round(x, decimals=1), eighths, None),
    "round_dec2": (lambda x: M.round(x, decimals=2), lambda x: torch.round(x, decimals=2), eighths, None),
    "round_dec-1": (lambda x: M.round(x, decimals=-1), lambda x: torch.round(x, decimals=-1), uniform(-500, 500), None),
    "sign": (M.sign, torch.sign, with_zero_nan, off_integers),
    "frac": (M.frac, torch.frac, halves, off_integers),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_unary_matches_torch(name, shape, seed):
    f, tf, sample, _ = UNARY[name]
    compare_with_torch(f, tf, [sample(np.random.default_rng(seed), shape)])


@pytest.mark.parametrize("name", sorted(n for n in UNARY if UNARY[n][3] is not None))
def test_unary_gradcheck(name):
    f, _, _, sample = UNARY[name]
    x = mc.tensor(sample(np.random.default_rng(1), (3, 4)), requires_grad=True)
    assert mc.gradcheck(f, [x])


@pytest.mark.parametrize("name", sorted(n for n in UNARY if n != "softplus_large"))  # torch's exp overflows there
def test_unary_float32_keeps_dtype(name):
    f, tf, sample, _ = UNARY[name]
    compare_with_torch(f, tf, [sample(np.random.default_rng(2), (4, 5))], dtype=np.float32)


def test_rounding_specials():
    """The values the rules are about: halves to even, at decimals too; sign(NaN) = 0; frac's sign."""
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.25, 1.35, 125.0, 135.0, -0.0, np.inf, -np.inf, np.nan])
    for f, tf in [
        (M.round, torch.round),
        (lambda t: M.round(t, decimals=1), lambda t: torch.round(t, decimals=1)),
        (lambda t: M.round(t, decimals=-1), lambda t: torch.round(t, decimals=-1)),
        (M.sign, torch.sign),
        (M.frac, torch.frac),
        (M.floor, torch.floor),
        (M.ceil, torch.ceil),
        (M.trunc, torch.trunc),
    ]:
        compare_with_torch(f, tf, [x])
        compare_with_torch(f, tf, [x], dtype=np.float32)
    assert M.round(mc.tensor([0.5, 1.5, 2.5, -2.5])).tolist() == [0.0, 2.0, 2.0, -2.0]


FLOAT_FUNCTIONS = "sin cos tan asin acos atan sinh cosh reciprocal rsqrt log2 log10 log1p expm1 exp2".split()


@pytest.mark.parametrize("name", FLOAT_FUNCTIONS + ["square", "floor", "ceil", "trunc", "round", "sign"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_unary_integer_and_bool_inputs_as_torch(name, dtype):
    """float functions of integers give float32; square keeps integers (bool -> int64); the
    rounding functions return integers as they are and refuse bool (sign keeps bool)."""
    x = np.array([-3, 0, 1, 2]).astype(dtype)
    try:
        expected = getattr(torch, name)(torch.tensor(x))
    except (NotImplementedError, RuntimeError):
        with pytest.raises(TypeError, match=name):
            getattr(M, name)(mc.tensor(x))
        return
    out = getattr(M, name)(mc.tensor(x))
    assert out.dtype == np.dtype(str(expected.dtype).replace("torch.", ""))
    np.testing.assert_allclose(out.numpy().astype(np.float64), expected.double().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.round(x, decimals=1),
        lambda m, x: m.frac(x),
        lambda m, x: m.hypot(x, x),
        lambda m, x: m.lerp(x, x, 0.5),
    ],
)
def test_integer_inputs_refused_where_torch_refuses(call):
    x = np.array([1, 2, 3])
    with pytest.raises((NotImplementedError, RuntimeError)):
        call(torch, torch.tensor(x))
    with pytest.raises(TypeError):
        call(M, mc.tensor(x))


def test_softplus_is_stable_past_overflow():
    """Where exp(beta x) overflows below the threshold, torch's log1p(exp(beta x)) / beta is inf;
    minicnn's max(z, 0) + log1p(exp(-|z|)) stays exact (checked against NumPy's logaddexp)."""
    x = np.array([-2000.0, -800.0, 0.0, 800.0, 2000.0])
    for dtype, beta in [(np.float64, 1.0), (np.float32, 1.0), (np.float32, 3.0)]:
        t = mc.tensor(x.astype(dtype), requires_grad=True)
        y = F.softplus(t, beta=beta, threshold=1e6)
        np.testing.assert_allclose(y.numpy(), np.logaddexp(0.0, beta * x) / beta, rtol=1e-6)
        y.sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), [0, 0, 0.5, 1, 1])
    assert np.isinf(TF.softplus(torch.tensor(x), threshold=1e6).numpy()[-1])  # torch overflows here


def test_softplus_refuses_integers_and_module_matches_torch():
    with pytest.raises(TypeError, match="softplus"):
        F.softplus(mc.tensor([1, 2]))
    for kwargs in [{}, {"beta": 2, "threshold": 10.0}, {"beta": 0.5}]:
        m, t = mc.nn.activation.Softplus(**kwargs), torch.nn.Softplus(**kwargs)
        assert repr(m) == repr(t)
        x = np.random.default_rng(0).uniform(-30, 30, (4, 5))
        compare_with_torch(m, t, [x])


# -- binary pointwise ----------------------------------------------------------------------


def fmod_operands(rng, sa, sb):
    """b away from 0 and a / b at least 0.1 from an integer (away from fmod's jumps)."""
    b = away_from_zero(0.5, 2)(rng, sb)
    q = rng.integers(-4, 4, np.broadcast_shapes(sa, sb)) + rng.uniform(0.1, 0.9, np.broadcast_shapes(sa, sb))
    a = q * b
    return a if a.shape == tuple(sa) else None, b


BINARY = {
    "fmod": (M.fmod, torch.fmod),
    "hypot": (M.hypot, torch.hypot),
    "atan2": (M.atan2, torch.atan2),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True)])
@SETTINGS
@given(shp=pairs, seed=seeds)
def test_binary_matches_torch(name, grads, shp, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shp.input_shapes
    a, b = rng.uniform(-5, 5, sa), away_from_zero(0.3, 3)(rng, sb)
    compare_with_torch(*BINARY[name], [a, b], grad_inputs=grads)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradcheck(name):
    rng = np.random.default_rng(3)
    b = away_from_zero(0.5, 2)(rng, (3, 4))
    a = (rng.integers(-4, 4, (3, 4)) + rng.uniform(0.1, 0.9, (3, 4))) * b  # a / b off the integers
    assert mc.gradcheck(BINARY[name][0], [mc.tensor(a, requires_grad=True), mc.tensor(b, requires_grad=True)])


def test_binary_specials():
    """fmod has the sign of the dividend; integer fmod by 0 raises; atan2 and hypot at (0, 0)."""
    a, b = np.array([5.0, -5.0, 5.5, -5.5, 0.0]), np.array([3.0, 3.0, -2.0, -2.0, 0.0])
    compare_with_torch(M.fmod, torch.fmod, [a[:4], b[:4]])
    compare_with_torch(M.atan2, torch.atan2, [a * 0, b * 0])  # gradient 0 at the origin, as torch's
    compare_with_torch(M.hypot, torch.hypot, [a * 0, b * 0])  # NaN gradient at the origin, as torch's
    compare_with_torch(M.fmod, torch.fmod, [np.array([7, -7, 7]), np.array([3, 3, -3])])
    compare_with_torch(lambda x: M.fmod(x, 2.5), lambda x: torch.fmod(x, 2.5), [np.array([7, -7])], dtype=np.float32)
    compare_with_torch(M.atan2, torch.atan2, [np.array([1, -2]), np.array([3, 4])], dtype=np.float32)  # ints: float32
    with pytest.raises(ZeroDivisionError):
        M.fmod(mc.tensor([1, 2]), mc.tensor([1, 0]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_remainder_at_special_values_bit_for_bit_as_torch(dtype):
    # torch's remainder is fmod moved into b's sign, so a zero result keeps a's sign (-4 % 2 is -0.0);
    # NumPy's remainder gives a zero b's sign
    # (no 1e30 % 1e-30: torch's float32 kernel overflows a / b there and gives NaN, minicnn fmod's exact value)
    vals = np.array([-4.0, 4.0, -0.0, 0.0, -3.0, 3.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 5.5, -5.5, 1e6])
    a, b = (v.ravel().astype(dtype) for v in np.meshgrid(vals, vals))
    got = (mc.tensor(a) % mc.tensor(b)).numpy()
    want = (torch.tensor(a) % torch.tensor(b)).numpy()
    np.testing.assert_array_equal(got, want)
    number = ~np.isnan(want)  # (a NaN's sign bit is not specified)
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))
    got, want = (mc.tensor(a) % -2.0).numpy(), (torch.tensor(a) % -2.0).numpy()
    number = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))


weights = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, -0.5, 2.0]), st.just("tensor"), st.just("0-d"))


@SETTINGS
@given(shp=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3), w=weights, seed=seeds)
def test_lerp_matches_torch(shp, w, seed):
    rng = np.random.default_rng(seed)
    sa, sb, sw = shp.input_shapes
    a, b = rng.uniform(-3, 3, sa), rng.uniform(-3, 3, sb)
    if w == "tensor" or w == "0-d":
        wt = rng.uniform(-0.5, 1.5, sw if w == "tensor" else ())
        compare_with_torch(M.lerp, torch.lerp, [a, b, wt])
    else:
        compare_with_torch(lambda x, y: M.lerp(x, y, w), lambda x, y: torch.lerp(x, y, w), [a, b])


def test_lerp_is_exact_at_the_ends():
    """torch computes from the nearer end (end - (end - start)(1 - w) for |w| >= 0.5): weight 1
    gives ``end`` exactly even where start + (end - start) rounds it away."""
    start, end = np.array([1e8, -3e7, 1.0], np.float32), np.array([1e-3, 2.5e-4, 1e-9], np.float32)
    for w in (1.0, 0.75, 0.5, 0.25, 0.0):
        ours = M.lerp(mc.tensor(start), mc.tensor(end), w).numpy()
        np.testing.assert_array_equal(ours, torch.lerp(torch.tensor(start), torch.tensor(end), w).numpy())
    np.testing.assert_array_equal(M.lerp(mc.tensor(start), mc.tensor(end), 1.0).numpy(), end)


def test_lerp_gradcheck_and_dtypes():
    rng = np.random.default_rng(4)
    a, b, w = (mc.tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in [(3, 4), (4,), (3, 1)])
    assert mc.gradcheck(M.lerp, [a, b, w])
    one = mc.tensor(np.ones(2, np.float32))
    with pytest.raises(TypeError, match="end"):
        M.lerp(one, mc.tensor(np.zeros(2)), 0.5)
    with pytest.raises(TypeError, match="weight"):
        M.lerp(one, one, mc.tensor(np.full(2, 0.5)))
    out = M.lerp(one, one * 0, mc.tensor(0.25, dtype=np.float64))  # a 0-d weight is converted, as in torch
    assert out.dtype == np.float32 and np.allclose(out.numpy(), 0.75)


# -- reductions ----------------------------------------------------------------------------


def inject_zeros(rng, x, n):
    """x with n randomly chosen elements set to 0 (repeats allowed: up to n zeros)."""
    x = x.copy()
    if x.size and n:
        x.reshape(-1)[rng.integers(0, x.size, n)] = 0.0
    return x


@SETTINGS
@given(shape=shapes, data=st.data(), zeros=st.integers(0, 3), keepdim=st.booleans(), seed=seeds)
def test_prod_matches_torch_with_zeros(shape, data, zeros, keepdim, seed):
    rng = np.random.default_rng(seed)
    x = inject_zeros(rng, away_from_zero(0.5, 1.5)(rng, shape), zeros)
    dim = data.draw(st.none() | st.integers(-max(len(shape), 1), max(len(shape), 1) - 1), label="dim")
    if dim is None:
        compare_with_torch(R.prod, torch.prod, [x])
    else:
        compare_with_torch(lambda t: R.prod(t, dim, keepdim), lambda t: torch.prod(t, dim, keepdim), [x])


def test_prod_zero_cases_and_gradcheck():
    x = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 6.0], [1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    for f, tf in [
        (R.prod, torch.prod),
        (lambda t: R.prod(t, 1), lambda t: torch.prod(t, 1)),
        (lambda t: R.prod(t, 0, True), lambda t: torch.prod(t, 0, True)),
        (lambda t: R.prod(t[0]), lambda t: torch.prod(t[0])),  # one zero over everything
        (lambda t: R.prod(t[1]), lambda t: torch.prod(t[1])),  # two zeros over everything
    ]:
        compare_with_torch(f, tf, [x])
    t = mc.tensor(x, requires_grad=True)
    assert mc.gradcheck(lambda a: R.prod(a, 1), [t])  # a polynomial: fine at zeros too
    assert mc.gradcheck(lambda a: R.prod(a[:3, :3]), [t])


def test_prod_cumsum_dtypes_as_torch():
    for x in [np.array([1, -2, 3], np.int32), np.array([True, False, True]), np.array([1, 2], np.uint8)]:
        for f, tf in [
            (R.prod, torch.prod),
            (lambda t: R.prod(t, 0), lambda t: torch.prod(t, 0)),
            (lambda t: R.cumsum(t, 0), lambda t: torch.cumsum(t, 0)),
            (lambda t: R.cumprod(t, 0), lambda t: torch.cumprod(t, 0)),
            (R.nansum, torch.nansum),
        ]:
            compare_with_torch(f, tf, [x])
    compare_with_torch(
        lambda t: R.prod(t, dtype=np.float64), lambda t: torch.prod(t, dtype=torch.float64), [np.array([2, 3])]
    )
    compare_with_torch(lambda t: R.cumsum(t, 0), lambda t: torch.cumsum(t, 0), [np.array(3.0)])  # 0-d
    # an integer dtype= is the result's dtype (wrapping as torch's narrower accumulation), not int64
    a = np.array([[1, 2], [3, 200]])
    for dtype in ("int32", "uint8", "int16", "bool"):
        md, td = getattr(mc, dtype), getattr(torch, dtype)
        for f, tf in [
            (lambda t, md=md: t.sum(dtype=md), lambda t, td=td: t.sum(dtype=td)),
            (lambda t, md=md: mc.sum(t, 0, dtype=md), lambda t, td=td: torch.sum(t, 0, dtype=td)),
            (lambda t, md=md: R.prod(t, dtype=md), lambda t, td=td: torch.prod(t, dtype=td)),
            (lambda t, md=md: t.cumsum(0, dtype=md), lambda t, td=td: t.cumsum(0, dtype=td)),
            (lambda t, md=md: t.cumprod(1, dtype=md), lambda t, td=td: t.cumprod(1, dtype=td)),
            (lambda t, md=md: R.nansum(t, 1, dtype=md), lambda t, td=td: torch.nansum(t, 1, dtype=td)),
            (lambda t, md=md: R.cumsum(t[0, 0], 0, dtype=md), lambda t, td=td: torch.cumsum(t[0, 0], 0, dtype=td)),
        ][: 3 if dtype == "bool" else None]:  # (torch's cumulative ops and nansum have no bool)
            compare_with_torch(f, tf, [a])
    f = np.array([[1.5, np.nan, -2.7], [np.nan, 3.0, 4.0]])  # NaNs are dropped before an integer dtype= casts
    for dtype, dim in (("int64", 0), ("int32", None), ("uint8", 1)):
        ours = R.nansum(mc.tensor(f), dim, dtype=getattr(mc, dtype))
        theirs = torch.nansum(torch.tensor(f), dim, dtype=getattr(torch, dtype))
        assert ours.dtype == theirs.numpy().dtype and ours.tolist() == theirs.tolist()
    with pytest.raises(TypeError):
        R.prod(mc.tensor([1.0, 2.0]), (0,))  # one dim, as torch's


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@SETTINGS
@given(shape=nonempty, data=st.data(), zeros=st.integers(0, 4), seed=seeds)
def test_cumulative_matches_torch(op, shape, data, zeros, seed):
    rng = np.random.default_rng(seed)
    x = inject_zeros(rng, away_from_zero(0.5, 1.5)(rng, shape), zeros)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    compare_with_torch(lambda t: getattr(R, op)(t, dim), lambda t: getattr(torch, op)(t, dim), [x])


def test_cumprod_zero_cases_and_gradcheck():
    x = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 6.0], [1.0, 2.0, 3.0, 0.0], [0.0, 0.0, 2.0, 1.5]])
    for dim in (0, 1):
        compare_with_torch(lambda t, d=dim: R.cumprod(t, d), lambda t, d=dim: torch.cumprod(t, d), [x])
        t = mc.tensor(x, requires_grad=True)
        assert mc.gradcheck(lambda a, d=dim: R.cumprod(a, d), [t])
        assert mc.gradcheck(lambda a, d=dim: R.cumsum(a, d), [t])


def logsumexp_input(rng, shape):
    """Finite values, some -inf elements and whole -inf rows along the last axis, a few +inf."""
    x = rng.uniform(-50, 50, shape)
    x = np.where(rng.random(shape) < 0.2, -np.inf, x)
    x = np.where(rng.random(shape) < 0.05, np.inf, x)
    if x.ndim and rng.random() < 0.5:
        x[..., :] = np.where(rng.random(shape[:-1] + (1,)) < 0.5, -np.inf, x)
    return x


@pytest.mark.filterwarnings(
    "ignore:invalid value encountered:RuntimeWarning"
)  # the comparison's sum(out * g) of infinite outputs
@SETTINGS
@given(shape=nonempty, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_logsumexp_matches_torch(shape, data, keepdim, seed):
    rng = np.random.default_rng(seed)
    x = logsumexp_input(rng, shape)
    dims = st.integers(-len(shape), len(shape) - 1)
    dim = data.draw(dims | st.lists(dims, min_size=1, max_size=len(shape), unique_by=lambda d: d % len(shape)))
    dim = tuple(dim) if isinstance(dim, list) else dim
    compare_with_torch(lambda t: R.logsumexp(t, dim, keepdim), lambda t: torch.logsumexp(t, dim, keepdim), [x])


@pytest.mark.filterwarnings(
    "ignore:invalid value encountered:RuntimeWarning"
)  # the comparison's sum(out * g) of infinite outputs
def test_logsumexp_specials_and_gradcheck():
    inf = np.inf
    x = np.array([[-inf, -inf], [1.0, -inf], [inf, 1.0], [inf, inf], [-inf, inf], [np.nan, 1.0], [800.0, 799.0]])
    compare_with_torch(lambda t: R.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1), [x])
    compare_with_torch(lambda t: R.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1), [x], dtype=np.float32)
    compare_with_torch(lambda t: R.logsumexp(t, 0), lambda t: torch.logsumexp(t, 0), [np.ones((0, 3))])
    compare_with_torch(lambda t: R.logsumexp(t, 0), lambda t: torch.logsumexp(t, 0), [np.array([1, 2])])  # float32
    t = mc.tensor(np.random.default_rng(5).uniform(-3, 3, (3, 4)), requires_grad=True)
    assert mc.gradcheck(lambda a: R.logsumexp(a, 1), [t])
    assert mc.gradcheck(lambda a: R.logsumexp(a, (0, 1), True), [t])


NORM_PS = [2, 1, math.inf, -math.inf, 0, 0.5, 1.5, 3, -1, "fro", None]


def norm_input(rng, shape, ties):
    x = rng.integers(-2, 3, shape).astype(np.float64) if ties else rng.uniform(-3, 3, shape)
    if x.ndim and x.size and rng.random() < 0.5:  # a whole slice of zeros: the subgradient at 0
        x[0] = 0.0
    return inject_zeros(rng, x, 1)


@pytest.mark.parametrize("p", NORM_PS, ids=str)
@SETTINGS
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), ties=st.booleans(), seed=seeds)
def test_norm_matches_torch(p, shape, data, keepdim, ties, seed):
    rng = np.random.default_rng(seed)
    x = norm_input(rng, shape, ties)
    n = len(shape)
    dims = st.integers(-max(n, 1), max(n, 1) - 1)
    dim = data.draw(st.none() | dims | st.lists(dims, max_size=min(n, 2), unique_by=lambda d: d % max(n, 1)))
    dim = tuple(dim) if isinstance(dim, list) else dim
    reduced = range(n) if dim in (None, ()) else np.atleast_1d(dim)
    empty_reduction = n > 0 and any(shape[d] == 0 for d in reduced)
    if p is not None and p != "fro" and (p < 0 or p == math.inf) and empty_reduction:  # no identity
        with pytest.raises(RuntimeError):
            torch.norm(torch.tensor(x), p, dim, keepdim)
        with pytest.raises(RuntimeError, match="norm"):
            R.norm(mc.tensor(x), p, dim, keepdim)
        return
    compare_with_torch(lambda t: R.norm(t, p, dim, keepdim), lambda t: torch.norm(t, p, dim, keepdim), [x])


@pytest.mark.parametrize("p", [q for q in NORM_PS if q != 0], ids=str)
def test_norm_gradcheck(p):
    x = mc.tensor(away_from_zero(0.5, 2)(np.random.default_rng(6), (3, 4)) * np.arange(1, 5), requires_grad=True)
    assert mc.gradcheck(lambda a: R.norm(a, p), [x])  # distinct magnitudes: no ties for +-inf
    assert mc.gradcheck(lambda a: R.norm(a, p, 1, True), [x])


def test_norm_options_and_refusals():
    x = np.random.default_rng(7).uniform(-2, 2, (2, 3, 4))
    compare_with_torch(
        lambda t: R.norm(t, dtype=np.float64), lambda t: torch.norm(t, dtype=torch.float64), [x], dtype=np.float32
    )
    compare_with_torch(lambda t: R.norm(t, "fro", (0, 2)), lambda t: torch.norm(t, "fro", (0, 2)), [x])
    compare_with_torch(lambda t: R.norm(t, 2, ()), lambda t: torch.norm(t, 2, ()), [x])
    zero = np.zeros(3)
    for p in (2, "fro", 1, 3, 0.5):  # the subgradient at 0 is 0 (p = 2: not NaN)
        compare_with_torch(lambda t, p=p: R.norm(t, p), lambda t, p=p: torch.norm(t, p), [zero])
    with pytest.raises(TypeError, match="norm"):
        R.norm(mc.tensor([1, 2]))
    for bad in (dict(dim=None), dict(dim=(0,))):  # a 3-d input needs its two dims; one dim is no matrix
        with pytest.raises(ValueError, match="2-tuple"):
            R.norm(mc.tensor(x), "nuc", **bad)
    with pytest.raises(ValueError, match="at least 2 dims"):
        R.norm(mc.tensor(x[0, 0]), "nuc")
    for lib in (mc, torch):  # torch's RuntimeError (minicnn's a ValueError too)
        with pytest.raises(RuntimeError):
            lib.norm(lib.tensor(x), "fro", (0, 1, 2))
    with pytest.raises(ValueError, match="fro"):
        R.norm(mc.tensor(x), "fro", (0, 1, 2))
    with pytest.raises(ValueError, match="order"):
        R.norm(mc.tensor(x), "foo")


@SETTINGS
@given(
    batch=st.sampled_from([(), (2,), (2, 1)]),
    m=st.integers(1, 4),
    n=st.integers(1, 4),
    order=st.booleans(),
    keepdim=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=seeds,
)
def test_nuclear_norm_matches_torch(batch, m, n, order, keepdim, dtype, seed):
    """Sum of singular values of the matrices over two dims (full rank: random matrices)."""
    x = np.random.default_rng(seed).standard_normal((m, *batch, n))
    dim = (0, -1) if order else (-1, 0)
    if not batch and order and not keepdim:
        dim = None  # the 2-d default
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else {}
    compare_with_torch(
        lambda t: R.norm(t, "nuc", dim, keepdim), lambda t: torch.norm(t, "nuc", dim, keepdim), [x], dtype=dtype, **tol
    )


@pytest.mark.parametrize("device", devices())
def test_nuclear_norm_on_device(device):
    x = np.random.default_rng(9).standard_normal((3, 2, 4))
    compare_with_torch(lambda t: R.norm(t, "nuc", (0, 2)), lambda t: torch.norm(t, "nuc", (0, 2)), [x], device=device)


def test_nuclear_norm_gradcheck():
    x = mc.tensor(np.random.default_rng(8).standard_normal((2, 3, 4)), requires_grad=True)
    assert mc.gradcheck(lambda a: R.norm(a, "nuc", (1, 2)), [x])
    assert mc.gradcheck(lambda a: R.norm(a, "nuc", (2, 0), keepdim=True), [x])


@pytest.mark.parametrize("p", [2, 1, 3, math.inf])
@SETTINGS
@given(shp=pairs, seed=seeds)
def test_dist_matches_torch(p, shp, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shp.input_shapes
    a, b = rng.uniform(-2, 2, sa), rng.uniform(-2, 2, sb)
    compare_with_torch(lambda x, y: R.dist(x, y, p), lambda x, y: torch.dist(x, y, p), [a, b])


def test_dist_gradcheck_and_zero():
    rng = np.random.default_rng(8)
    a, b = (mc.tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in [(3, 4), (4,)])
    assert mc.gradcheck(lambda x, y: R.dist(x, y, 3), [a, b])
    compare_with_torch(R.dist, torch.dist, [np.ones(3), np.ones(3)])  # gradient 0 where they are equal
    assert_same(
        R.dist(mc.tensor(np.ones(3, np.float32)), mc.tensor(np.zeros(3))),
        torch.dist(torch.ones(3), torch.zeros(3, dtype=torch.float64)),
    )
    with pytest.raises(TypeError, match="dist"):
        R.dist(mc.tensor([1, 2]), mc.tensor([0, 1]))


@pytest.mark.parametrize("op", ["nansum", "nanmean"])
@SETTINGS
@given(shape=nonempty, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_nan_reductions_match_torch(op, shape, data, keepdim, seed):
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(shape) < 0.3, np.nan, rng.uniform(-3, 3, shape))
    if rng.random() < 0.5:
        x[..., 0] = np.nan  # a whole NaN slice: nanmean's 0/0
    n = len(shape)
    dim = data.draw(st.none() | st.integers(-n, n - 1) | st.lists(st.integers(0, n - 1), max_size=n, unique=True))
    dim = tuple(dim) if isinstance(dim, list) else dim
    compare_with_torch(lambda t: getattr(R, op)(t, dim, keepdim), lambda t: getattr(torch, op)(t, dim, keepdim), [x])


def test_nan_reductions_gradcheck_and_dtypes():
    x = mc.tensor(np.where(np.eye(3, 4) > 0, np.nan, np.arange(12.0).reshape(3, 4)), requires_grad=True)
    assert mc.gradcheck(lambda a: R.nansum(a, 1), [x])
    assert mc.gradcheck(lambda a: R.nanmean(a, 0), [x])
    compare_with_torch(R.nansum, torch.nansum, [np.array([1, 2, 3], np.int32)])  # int64, as torch
    with pytest.raises(TypeError, match="nanmean"):
        R.nanmean(mc.tensor([1, 2]))


# -- products ------------------------------------------------------------------------------
dims = st.integers(0, 4)


@SETTINGS
@given(b=dims, n=dims, k=dims, m=dims, seed=seeds)
def test_matrix_products_match_torch(b, n, k, m, seed):
    rng = np.random.default_rng(seed)
    A, B, v, w = (
        rng.standard_normal((n, k)),
        rng.standard_normal((k, m)),
        rng.standard_normal(k),
        rng.standard_normal(m),
    )
    compare_with_torch(L.mm, torch.mm, [A, B])
    compare_with_torch(L.bmm, torch.bmm, [rng.standard_normal((b, n, k)), rng.standard_normal((b, k, m))])
    compare_with_torch(L.mv, torch.mv, [A, v])
    compare_with_torch(L.dot, torch.dot, [v, rng.standard_normal(k)])
    compare_with_torch(L.outer, torch.outer, [v, w])
    compare_with_torch(L.trace, torch.trace, [A])
    compare_with_torch(L.mm, torch.mm, [A, B], grad_inputs=[False, True])


@SETTINGS
@given(
    n=st.integers(1, 4),
    k=dims,
    m=st.integers(1, 4),
    input_shape=st.sampled_from(["nm", "m", "1m", "n1", "", "11"]),
    beta=st.sampled_from([1, 0, 0.5, -2.0]),
    alpha=st.sampled_from([1, 0.5, -1.5]),
    seed=seeds,
)
def test_addmm_matches_torch(n, k, m, input_shape, beta, alpha, seed):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal([{"n": n, "m": m, "1": 1}[s] for s in input_shape])
    args = [c, rng.standard_normal((n, k)), rng.standard_normal((k, m))]
    compare_with_torch(
        lambda *t: L.addmm(*t, beta=beta, alpha=alpha), lambda *t: torch.addmm(*t, beta=beta, alpha=alpha), args
    )


def test_products_gradcheck_and_specials():
    rng = np.random.default_rng(9)
    T = lambda *s: mc.tensor(rng.standard_normal(s), requires_grad=True)  # noqa: E731
    assert mc.gradcheck(L.mm, [T(2, 3), T(3, 4)])
    assert mc.gradcheck(L.bmm, [T(2, 2, 3), T(2, 3, 4)])
    assert mc.gradcheck(L.mv, [T(2, 3), T(3)])
    assert mc.gradcheck(L.dot, [T(3), T(3)])
    assert mc.gradcheck(L.outer, [T(3), T(2)])
    assert mc.gradcheck(L.trace, [T(3, 4)])
    assert mc.gradcheck(lambda c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2.0), [T(4), T(2, 3), T(3, 4)])
    # beta = 0: input is ignored, its NaN does not propagate (and gets a zero gradient)
    nan = np.full(4, np.nan)
    compare_with_torch(
        lambda *t: L.addmm(*t, beta=0), lambda *t: torch.addmm(*t, beta=0), [nan, np.ones((2, 3)), np.ones((3, 4))]
    )
    # integers stay integers; outer promotes like *
    i = np.arange(6).reshape(2, 3)
    compare_with_torch(L.mm, torch.mm, [i, i.T.copy()])
    compare_with_torch(L.trace, torch.trace, [i.astype(np.int32)])
    assert_same(
        L.outer(mc.tensor(np.arange(3)), mc.tensor(np.ones(2, np.float32))), torch.outer(torch.arange(3), torch.ones(2))
    )
    compare_with_torch(
        lambda *t: L.addmm(*t, beta=2, alpha=3),
        lambda *t: torch.addmm(*t, beta=2, alpha=3),
        [np.ones(2, np.int64), i, i.T.copy()],
    )


def _refused(mc_call, torch_call, error):
    with pytest.raises(RuntimeError):
        torch_call()
    with pytest.raises(error):
        mc_call()


@pytest.mark.parametrize(
    "name, args, error",
    [
        ("mm", [(2, 3), (3,)], ValueError),
        ("mm", [(2, 3), (2, 3)], ValueError),
        ("mm", [(2, 2, 3), (3, 4)], ValueError),
        ("bmm", [(5, 2, 3), (4, 3, 4)], ValueError),
        ("bmm", [(1, 2, 3), (4, 3, 4)], ValueError),  # no broadcasting
        ("bmm", [(5, 2, 3), (5, 2, 4)], ValueError),
        ("bmm", [(2, 3), (3, 4)], ValueError),
        ("mv", [(2, 3), (2,)], ValueError),
        ("mv", [(2, 3), (3, 4)], ValueError),
        ("dot", [(3,), (2,)], ValueError),
        ("dot", [(2, 3), (2, 3)], ValueError),
        ("dot", [(), ()], ValueError),
        ("outer", [(2, 3), (3,)], ValueError),
        ("trace", [(2, 2, 2)], ValueError),
        ("trace", [(3,)], ValueError),
        ("addmm", [(3,), (2, 3), (3, 4)], ValueError),
        ("addmm", [(1, 2, 4), (2, 3), (3, 4)], ValueError),
    ],
)
def test_product_shape_refusals(name, args, error):
    arrays = [np.ones(s) for s in args]
    _refused(
        lambda: getattr(L, name)(*map(mc.tensor, arrays)),
        lambda: getattr(torch, name)(*map(torch.tensor, arrays)),
        error,
    )


@pytest.mark.parametrize(
    "name, shapes",
    [("mm", [(2, 3), (3, 4)]), ("bmm", [(1, 2, 3), (1, 3, 4)]), ("mv", [(2, 3), (3,)]), ("dot", [(3,), (3,)])],
)
def test_product_dtype_refusals(name, shapes):
    a, b = np.ones(shapes[0], np.float32), np.ones(shapes[1])
    _refused(
        lambda: getattr(L, name)(mc.tensor(a), mc.tensor(b)),
        lambda: getattr(torch, name)(torch.tensor(a), torch.tensor(b)),
        TypeError,
    )


# -- einsum --------------------------------------------------------------------------------
EQUATIONS = [
    "ij,jk->ik",
    "ij,jk",  # implicit output
    "bij,bjk->bik",
    "i,i->",
    "i,j->ij",
    "ij->ji",
    "ij->",
    "ijk->kj",
    "ijk",  # implicit: the identity
    "bn,bn->b",
    "ij,ij->ij",
    "abc,cd,de->abe",
    "Ab,bC",  # implicit output sorts capitals first: AC
    "aB",  # ... so this transposes: Ba
    "Ca,ab",  # Cb, not bC
    "ba,ab->a",
    "...ij,...jk->...ik",
    "...ij,jk",
    "i...->...",
    "...ij->ij",  # the broadcast dims summed away (torch's; NumPy refuses this one)
    "ij->...ij",
    " i j , j k -> i k ",
    "ii->i",  # a diagonal
    "ii",  # the trace
    "bii->bi",
    "iij,jk->ik",
    "iji->j",
    "ii,ij->j",
    "...ii->...i",
    "aab,bcc->ac",
]


def einsum_shapes(rng, equation, broadcast):
    """Operand shapes for ``equation``: one size per label (1-3); with ``broadcast`` some
    operands get size 1 for a label (torch broadcasts those) and ``...`` 0-2 dims."""
    lhs = equation.replace(" ", "").split("->")[0]
    sizes = {c: int(rng.integers(1, 4)) for c in lhs if c.isalpha()}
    ell = [int(rng.integers(1, 4)) for _ in range(int(rng.integers(0, 3)))]
    out = []
    for term in lhs.split(","):
        shape = []
        ones = {c for c in term if broadcast and rng.random() < 0.25}  # a label repeated in a term keeps one size
        for part in term.split("..."):
            shape += [1 if c in ones else sizes[c] for c in part]
            shape += [None]
        shape.pop()
        if None in shape:  # the ellipsis: a suffix of the broadcast dims, some of size 1
            k = int(rng.integers(0, len(ell) + 1)) if broadcast else len(ell)
            e = [1 if broadcast and rng.random() < 0.25 else n for n in ell[len(ell) - k :]]
            i = shape.index(None)
            shape[i : i + 1] = e
        out.append(tuple(shape))
    return out


@pytest.mark.parametrize("equation", EQUATIONS)
@SETTINGS
@given(broadcast=st.booleans(), seed=seeds)
def test_einsum_matches_torch(equation, broadcast, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in einsum_shapes(rng, equation, broadcast)]
    compare_with_torch(lambda *t: L.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), arrays)


def test_einsum_forms_gradcheck_and_refusals():
    rng = np.random.default_rng(10)
    a, b, c = (mc.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 3), (3, 4), (4, 1)])
    assert mc.gradcheck(lambda x, y, z: L.einsum("ij,jk,kl->il", x, y, z), [a, b, c])
    assert mc.gradcheck(lambda x, y: L.einsum("ij,jk->", x, y), [a, b])
    assert mc.gradcheck(lambda x: L.einsum("ij->ji", x), [a])
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    expected = torch.einsum("ij,jk->ik", torch.tensor(A), torch.tensor(B)).numpy()
    np.testing.assert_allclose(L.einsum("ij,jk->ik", [mc.tensor(A), mc.tensor(B)]).numpy(), expected)  # a list
    np.testing.assert_allclose(L.einsum(mc.tensor(A), [0, 1], mc.tensor(B), [1, 2], [0, 2]).numpy(), expected)
    np.testing.assert_allclose(L.einsum(mc.tensor(A), [0, 1], mc.tensor(B), [1, 2]).numpy(), expected)
    assert mc.gradcheck(lambda x: L.einsum("ii->i", x), [mc.tensor(rng.standard_normal((3, 3)), requires_grad=True)])
    assert mc.gradcheck(
        lambda x, y: L.einsum("bii,ij->bj", x, y), [mc.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True), b]
    )
    with pytest.raises(TypeError, match="einsum"):
        L.einsum("ij,jk->ik", mc.tensor(A.astype(np.float32)), mc.tensor(B))
    for eq, shapes in [
        ("ij,jk->ik", [(2, 3)]),  # fewer operands
        ("ij->i", [(2, 2), (2,)]),  # more operands
        ("ij,jk->ik", [(2, 3), (2, 3)]),  # sizes do not broadcast
        ("ij->ii", [(2, 2)]),  # repeated output subscript
        ("ij->k", [(2, 2)]),  # unknown output subscript
        ("i1->i", [(2, 2)]),  # not a letter
        ("ij->i", [(2, 2, 2)]),  # rank mismatch
        ("ii->i", [(2, 3)]),  # a repeated subscript of two sizes
    ]:
        arrays = [np.ones(s) for s in shapes]
        _refused(
            lambda eq=eq, arrays=arrays: L.einsum(eq, *map(mc.tensor, arrays)),
            lambda eq=eq, arrays=arrays: torch.einsum(eq, *map(torch.tensor, arrays)),
            ValueError,
        )
    out = L.einsum("ij->ji", mc.tensor(A))
    out.array[0, 0] = 99.0  # the result never aliases its input
    assert A[0, 0] != 99.0


# -- devices -------------------------------------------------------------------------------
DEVICE_CASES = {
    "cumprod": (
        lambda t: R.cumprod(t, 1),
        lambda t: torch.cumprod(t, 1),
        lambda rng: [inject_zeros(rng, rng.uniform(-2, 2, (3, 5)), 3)],
    ),
    "prod": (
        lambda t: R.prod(t, 0),
        lambda t: torch.prod(t, 0),
        lambda rng: [inject_zeros(rng, rng.uniform(-2, 2, (3, 5)), 3)],
    ),
    "logsumexp": (
        lambda t: R.logsumexp(t, 1),
        lambda t: torch.logsumexp(t, 1),
        lambda rng: [logsumexp_input(rng, (4, 3))],
    ),
    "norm_inf": (
        lambda t: R.norm(t, math.inf, 1),
        lambda t: torch.norm(t, math.inf, 1),
        lambda rng: [norm_input(rng, (3, 4), True)],
    ),
    "norm_3": (lambda t: R.norm(t, 3, 0), lambda t: torch.norm(t, 3, 0), lambda rng: [norm_input(rng, (3, 4), False)]),
    "nanmean": (lambda t: R.nanmean(t, 1), lambda t: torch.nanmean(t, 1), lambda rng: [with_zero_nan(rng, (3, 4))]),
    "softplus": (A.softplus, TF.softplus, lambda rng: [rng.uniform(-30, 30, (3, 4))]),
    "round": (
        lambda t: M.round(t, decimals=1),
        lambda t: torch.round(t, decimals=1),
        lambda rng: [eighths(rng, (3, 4))],
    ),
    "lerp": (
        M.lerp,
        torch.lerp,
        lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.uniform(0, 1, (3, 1))],
    ),
    "fmod": (M.fmod, torch.fmod, lambda rng: [rng.uniform(-5, 5, (3, 4)), away_from_zero(0.5, 2)(rng, (4,))]),
    "einsum": (
        lambda *t: L.einsum("...ij,jk->...ki", *t),
        lambda *t: torch.einsum("...ij,jk->...ki", *t),
        lambda rng: [rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 1))],
    ),
    "addmm": (
        lambda *t: L.addmm(*t, beta=0.5, alpha=2.0),
        lambda *t: torch.addmm(*t, beta=0.5, alpha=2.0),
        lambda rng: [rng.standard_normal(4), rng.standard_normal((2, 3)), rng.standard_normal((3, 4))],
    ),
    "trace": (L.trace, torch.trace, lambda rng: [rng.standard_normal((3, 4))]),
}


@pytest.mark.filterwarnings(
    "ignore:invalid value encountered:RuntimeWarning"
)  # the comparison's sum(out * g) of infinite outputs
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(DEVICE_CASES))
def test_on_each_device(device, name):
    f, tf, make = DEVICE_CASES[name]
    for seed in range(3):
        compare_with_torch(f, tf, make(np.random.default_rng(seed)), device=device)


@pytest.mark.parametrize("name", sorted(DEVICE_CASES))
def test_float32_keeps_dtype(name):
    f, tf, make = DEVICE_CASES[name]
    compare_with_torch(f, tf, make(np.random.default_rng(0)), dtype=np.float32)
