"""torch's extra elementwise math (ops/special_math.py, ops/math_extra.py, kernels/special.py,
mc.special) against torch (and the kernels against scipy.special, a test-only oracle)."""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import scipy.special as ss
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, broadcastable_shapes

import minicnn as mc
from minicnn.kernels import special as K
from minicnn.ops import math_extra as E
from minicnn.ops import special_math as S

SETTINGS = settings(max_examples=15, deadline=None)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# (name, ours, torch's, low, high): unary differentiable ops and a domain away from poles/kinks
UNARY = [
    ("erf", S.erf, torch.erf, -3, 3),
    ("erfc", S.erfc, torch.erfc, -3, 3),
    ("erfinv", S.erfinv, torch.erfinv, -0.95, 0.95),
    ("lgamma", S.lgamma, torch.lgamma, 0.1, 8),
    ("lgamma_neg", S.lgamma, torch.lgamma, -3.9, -3.1),
    ("digamma", S.digamma, torch.digamma, 0.1, 8),
    ("digamma_neg", S.digamma, torch.digamma, -2.9, -2.1),
    ("polygamma1", lambda x: S.polygamma(1, x), lambda x: torch.polygamma(1, x), 0.2, 6),
    ("polygamma3", lambda x: S.polygamma(3, x), lambda x: torch.polygamma(3, x), 0.3, 6),
    ("mvlgamma", lambda x: S.mvlgamma(x, 3), lambda x: torch.mvlgamma(x, 3), 1.1, 5),
    ("i0", S.i0, torch.i0, -25, 25),
    ("i0e", S.i0e, torch.special.i0e, -25, 25),
    ("i1", S.i1, torch.special.i1, -25, 25),
    ("i1e", S.i1e, torch.special.i1e, -25, 25),
    ("ndtri", S.ndtri, torch.special.ndtri, 0.02, 0.98),
    ("log_ndtr", S.log_ndtr, torch.special.log_ndtr, -30, 6),
    ("sinc", S.sinc, torch.sinc, -3, 3),
    ("asinh", S.asinh, torch.asinh, -3, 3),
    ("acosh", S.acosh, torch.acosh, 1.1, 4),
    ("atanh", S.atanh, torch.atanh, -0.9, 0.9),
    ("logit", E.logit, torch.logit, 0.05, 0.95),
    ("logit_eps", lambda x: E.logit(x, 0.2), lambda x: torch.logit(x, 0.2), 0.05, 0.95),
    ("deg2rad", E.deg2rad, torch.deg2rad, -200, 200),
    ("rad2deg", E.rad2deg, torch.rad2deg, -4, 4),
    ("nan_to_num", E.nan_to_num, torch.nan_to_num, -3, 3),
    ("entr", E.entr, torch.special.entr, 0.05, 3),
]
IDS = [u[0] for u in UNARY]
# torch's trigamma (digamma's derivative, lgamma's second) is accurate to ~5e-10 relative only
# (ours to 3e-16 against scipy: test_kernel_accuracy_against_scipy_and_torch)
TRIGAMMA_RTOL = {"digamma": 1e-9, "digamma_neg": 1e-9, "polygamma1": 1e-9, "lgamma": 1e-9, "lgamma_neg": 1e-9}


@pytest.mark.parametrize(("name", "ours", "theirs", "lo", "hi"), UNARY, ids=IDS)
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 2**16))
def test_unary_forward_backward_like_torch(name, ours, theirs, lo, hi, shape, seed):
    x = _rng(seed).uniform(lo, hi, shape)
    compare_with_torch(ours, theirs, [x], rtol=TRIGAMMA_RTOL.get(name, 1e-10), atol=1e-12)


@pytest.mark.parametrize(("name", "ours", "theirs", "lo", "hi"), UNARY, ids=IDS)
def test_unary_gradcheck_and_double_backward(name, ours, theirs, lo, hi):
    x = _rng(1).uniform(lo, hi, (5,))
    if name in ("i0", "i1"):  # (moderate values: gradcheck's differences are absolute)
        x = x / 5
    if name == "logit_eps":
        x = x[np.abs(x - 0.2) > 0.02]
        x = x[np.abs(x - 0.8) > 0.02]
    assert mc.gradcheck(ours, [mc.tensor(x, requires_grad=True)])
    double_backward_like_torch(ours, theirs, [x], rtol=TRIGAMMA_RTOL.get(name, 1e-8), atol=1e-10)


def test_unary_float32_and_integer_inputs():
    x = _rng(2).uniform(0.1, 3, (20,)).astype(np.float32)
    for ours, theirs in [(S.lgamma, torch.lgamma), (S.digamma, torch.digamma), (S.i0, torch.i0), (S.erf, torch.erf)]:
        got = ours(mc.tensor(x))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.numpy(), theirs(torch.tensor(x)).numpy(), rtol=2e-6, atol=1e-6)
        assert ours(mc.tensor(np.array([1, 2, 3]))).dtype == np.float32


def test_kernel_accuracy_against_scipy_and_torch():
    rng = _rng(3)
    x = np.concatenate([rng.uniform(-30, 30, 2000), rng.uniform(0, 3, 500), rng.exponential(100, 200)])
    x = x[np.abs(x - np.round(x)) > 1e-6]  # (no poles)

    def mixed(a, b):  # relative where |b| > 1, absolute below
        return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1))

    assert mixed(K.lgamma(x), ss.gammaln(x)) < 1e-13
    assert mixed(K.lgamma(x), torch.lgamma(torch.tensor(x)).numpy()) < 1e-13
    # (scipy's digamma loses ~2e-13 next to the poles, where pi x rounds: mpmath is the oracle)
    assert mixed(K.digamma(x), np.array([float(mpmath.digamma(v)) for v in x])) < 5e-15
    for n in (1, 2, 5):
        assert np.max(np.abs(K.polygamma(n, x) / ss.polygamma(n, x) - 1)) < 1e-12
    y = np.concatenate([rng.uniform(-1, 1, 2000), 1 - 10.0 ** -rng.uniform(1, 16, 200), -0.5 + 0 * rng.uniform(size=3)])
    assert np.max(np.abs(K.erfinv(y) / ss.erfinv(y) - 1)) < 2e-15
    p = np.concatenate([rng.uniform(0, 1, 500), 10.0 ** -rng.uniform(1, 300, 200)])
    assert np.max(np.abs(K.ndtri(p) / ss.ndtri(p) - 1)) < 2e-15
    z = rng.uniform(-60, 20, 2000)
    assert np.max(np.abs(K.log_ndtr(z) - ss.log_ndtr(z)) / np.abs(ss.log_ndtr(z))) < 5e-14
    b = np.concatenate([rng.uniform(-50, 50, 1000), rng.uniform(-700, 700, 100)])
    for name in ("i0", "i0e", "i1", "i1e"):
        assert np.max(np.abs(getattr(K, name)(b) / getattr(ss, name)(b) - 1)) < 3e-15, name


def _mp(fn, x, dps=60):
    """fn (an mpmath function) at each float64 x, in float64 (dps digits: enough past the reflection's
    cancellation at large negative x)."""
    with mpmath.workdps(dps):
        return np.array([float(fn(mpmath.mpf(float(v)))) for v in np.ravel(x)]).reshape(np.shape(x))


def test_polygamma_large_negative_argument_at_fixed_cost():
    # the reflection (no recurrence from q up to 10: the old loop took ~|q| passes, 0.8 s for one element)
    x = np.array([-1e3 + 0.5, -1e3 + 0.25, -1234.5678, -2.5, -0.3, -1e-9, 1e-9, -7.9999])
    for n in (1, 2, 3, 4, 6):
        want = _mp(lambda v, n=n: mpmath.polygamma(n, v), x)
        np.testing.assert_allclose(K.polygamma(n, x), want, rtol=1e-13, atol=0, err_msg=f"n = {n}")
    np.testing.assert_allclose(K.digamma(x), _mp(mpmath.digamma, x), rtol=1e-14, atol=0)
    # psi'(-m - 1/2) = pi^2 / sin^2 - psi'(m + 3/2) = pi^2 - 1e-12 (the old loop: 1e12 passes)
    np.testing.assert_allclose(K.polygamma(1, np.array([-1e12 - 0.5])), [math.pi**2 - 1e-12], rtol=1e-15)
    poles = np.array([0.0, -0.0, -1.0, -7.0, -1e6])
    np.testing.assert_array_equal(K.polygamma(1, poles), np.full(5, np.inf))
    np.testing.assert_array_equal(K.polygamma(2, poles), np.full(5, -np.inf))
    np.testing.assert_array_equal(K.polygamma(3, np.array([np.inf, -np.inf, np.nan])), [0.0, np.nan, np.nan])


def test_hurwitz_zeta_like_scipy():
    rng = _rng(5)
    q = np.concatenate([rng.uniform(0, 3, 100), 10.0 ** rng.uniform(-8, 8, 100), [1e-300, 1e300, 0.5, 9.5, 10.0]])
    for s in (1.0001, 1.5, 2.0, 3.0, 7.3, 20.0):
        np.testing.assert_allclose(K.zeta(s, q), ss.zeta(s, q), rtol=2e-14, atol=0, err_msg=f"s = {s}")
    neg = -rng.uniform(0, 40, 100)
    for s in (2.0, 3.0, 6.0):
        np.testing.assert_allclose(K.zeta(s, neg), _mp(lambda v, s=s: mpmath.zeta(s, v), neg), rtol=1e-13)
    s = np.array([2.0, 2.5, 1.0, 0.5, 3.0, 2.0, 4.0])
    q = np.array([np.inf, -2.5, 1.0, 1.0, -3.0, 0.0, -3.5])
    want = [0.0, np.nan, np.inf, np.nan, np.inf, np.inf, float(mpmath.zeta(4, -3.5))]
    np.testing.assert_allclose(K.zeta(s, q), want, rtol=1e-14)
    s, q = np.array([[2.0], [3.5]]), np.array([1.5, 4.0, 1e-3])  # (broadcast)
    np.testing.assert_allclose(K.zeta(s, q), ss.zeta(s, q), rtol=2e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_kernels_at_branch_edges(dtype):
    """Just below and above each switch between methods, against mpmath."""

    def around(*points):
        p = np.array(points, dtype=np.float64)
        return np.concatenate([np.nextafter(p, -np.inf), p, np.nextafter(p, np.inf)]).astype(dtype)

    tol = 4e-15 if dtype == np.float64 else 0
    near = around(0.5, -0.5, 1e-8, -1e-8, 1.5, 10.0, 0.25, -0.25, 0.75)  # reflection, tiny-x log, cot's halves
    check = [(K.lgamma, lambda v: mpmath.log(abs(mpmath.gamma(v))), near), (K.digamma, mpmath.digamma, near)]
    check.append((lambda v: K.polygamma(2, v), lambda v: mpmath.polygamma(2, v), near))
    erf_edges = [float(mpmath.erf(mpmath.sqrt(-mpmath.log(1 - mpmath.exp(-w))))) for w in (6.25, 16.0)]  # w switches
    e = around(*erf_edges, -erf_edges[0], 0.5, 1 - 2**-52)
    check.append((K.erfinv, mpmath.erfinv, e[np.abs(e) < 1]))  # (1 - 2^-52 is 1 in float32)
    check.append((K.i0, lambda v: mpmath.besseli(0, v), around(20.0, -20.0)))
    check.append((K.i1, lambda v: mpmath.besseli(1, v), around(20.0, -20.0)))
    for ours, theirs, x in check:
        got = ours(x)
        assert got.dtype == dtype
        want = _mp(theirs, x.astype(np.float64)).astype(dtype)
        err = np.abs(got.astype(np.float64) - want) / np.maximum(np.abs(want), 1)
        ulp = np.spacing(np.maximum(np.abs(want), 1).astype(dtype)).astype(np.float64) / np.maximum(np.abs(want), 1)
        assert np.all(err <= np.maximum(tol, ulp)), (ours, x[err > np.maximum(tol, ulp)])
    p = around(5e-17, 1e-300, 0.5, 0.0004)  # ndtri: 2p at Giles' end (1e-16), the far tail, the middle
    np.testing.assert_allclose(K.ndtri(p), ss.ndtri(p.astype(np.float64)).astype(dtype), rtol=2e-15)


@pytest.mark.parametrize("device", devices())
def test_zeta_reflection_on_device(device):
    x = np.array([-1e3 + 0.25, -2.5, -0.3, 0.7, 3.0])
    m = mc.tensor(x, device=device, requires_grad=True)
    out = S.polygamma(2, m)
    out.sum().backward()
    np.testing.assert_allclose(out.numpy(), _mp(lambda v: mpmath.polygamma(2, v), x), rtol=1e-13)
    np.testing.assert_allclose(m.grad.numpy(), _mp(lambda v: mpmath.polygamma(3, v), x), rtol=1e-13)
    q = mc.tensor(x, device=device).array
    want = _mp(lambda v: -mpmath.polygamma(2, v) / 2, x)
    np.testing.assert_allclose(mc.backend.to_numpy(K.zeta(np.float64(3.0), q)), want, rtol=1e-13)


def test_special_values_like_torch():
    vals = np.array([0.0, -0.0, 1.0, 2.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 0.5, -0.5])
    t = torch.tensor(vals)
    for ours, theirs in [(S.lgamma, torch.lgamma), (S.digamma, torch.digamma), (S.i0, torch.i0),
                         (S.sinc, torch.sinc), (E.nan_to_num, torch.nan_to_num)]:  # fmt: skip
        np.testing.assert_allclose(ours(mc.tensor(vals)).numpy(), theirs(t).numpy(), rtol=2e-15, atol=1e-15)
    e = np.array([-1.0, 1.0, 0.0, 1.5, np.nan])
    np.testing.assert_array_equal(S.erfinv(mc.tensor(e)).numpy(), torch.erfinv(torch.tensor(e)).numpy())
    np.testing.assert_array_equal(
        E.nan_to_num(mc.tensor(vals), 1.0, 2.0, -3.0).numpy(), torch.nan_to_num(t, 1.0, 2.0, -3.0).numpy()
    )
    for ours, theirs in [(E.signbit, torch.signbit), (E.isposinf, torch.isposinf), (E.isneginf, torch.isneginf),
                         (E.isreal, torch.isreal)]:  # fmt: skip
        np.testing.assert_array_equal(ours(mc.tensor(vals)).numpy(), theirs(t).numpy())


# (name, ours, torch's, low, high, differentiable in which): broadcasting binary ops
BINARY = [
    ("xlogy", E.xlogy, torch.xlogy, 0.1, 3, (True, True)),
    ("xlog1py", E.xlog1py, torch.special.xlog1py, 0.1, 3, (True, True)),
    ("logaddexp", E.logaddexp, torch.logaddexp, -5, 5, (True, True)),
    ("logaddexp2", E.logaddexp2, torch.logaddexp2, -5, 5, (True, True)),
    ("copysign", E.copysign, torch.copysign, -3, 3, (True, False)),
    ("float_power", E.float_power, torch.float_power, 0.5, 2, (True, True)),
    ("fmax", E.fmax, torch.fmax, -3, 3, (True, True)),
    ("fmin", E.fmin, torch.fmin, -3, 3, (True, True)),
    ("ldexp", E.ldexp, torch.ldexp, -3, 3, (True, True)),
]
BIDS = [b[0] for b in BINARY]


@pytest.mark.parametrize(("name", "ours", "theirs", "lo", "hi", "grads"), BINARY, ids=BIDS)
@SETTINGS
@given(
    shapes=broadcastable_shapes(shape=(2, 3), min_dims=0, max_dims=3).flatmap(
        lambda s: st.tuples(st.just(s), broadcastable_shapes(shape=s, min_dims=0, max_dims=3))
    ),
    seed=st.integers(0, 2**16),
)
def test_binary_broadcasting_like_torch(name, ours, theirs, lo, hi, grads, shapes, seed):
    rng = _rng(seed)
    a, b = rng.uniform(lo, hi, shapes[0]), rng.uniform(lo, hi, shapes[1])
    compare_with_torch(ours, theirs, [a, b], grad_inputs=grads, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("name", "ours", "theirs", "lo", "hi", "grads"), BINARY, ids=BIDS)
def test_binary_gradcheck_and_double_backward(name, ours, theirs, lo, hi, grads):
    rng = _rng(4)
    a, b = rng.uniform(lo, hi, (2, 3)), rng.uniform(lo, hi, (3,))
    ins = [mc.tensor(a, requires_grad=grads[0]), mc.tensor(b, requires_grad=grads[1])]
    assert mc.gradcheck(ours, ins)
    double_backward_like_torch(ours, theirs, [a, b], grad_inputs=grads, rtol=1e-8, atol=1e-10)


def test_binary_dtypes_and_nan_rules():
    i = mc.tensor(np.array([1, -2, 3]))
    assert E.copysign(i, i).dtype == torch.copysign(torch.tensor([1, -2, 3]), torch.tensor([1, -2, 3])).numpy().dtype
    assert E.float_power(mc.tensor(np.ones(2, np.float32)), 2).dtype == np.float64
    assert E.xlogy(i, 2.0).dtype == np.float32
    a = np.array([np.nan, 1.0, np.nan, 2.0])
    b = np.array([1.0, np.nan, np.nan, 3.0])
    for ours, theirs in [(E.fmax, torch.fmax), (E.fmin, torch.fmin), (E.xlogy, torch.xlogy)]:
        np.testing.assert_array_equal(
            ours(mc.tensor(a), mc.tensor(b)).numpy(), theirs(torch.tensor(a), torch.tensor(b)).numpy()
        )
    z = np.array([0.0, 0.0, 1.0])
    np.testing.assert_array_equal(E.xlogy(mc.tensor(z), mc.tensor(np.array([0.0, np.nan, 2.0]))).numpy(),
                                  torch.xlogy(torch.tensor(z), torch.tensor([0.0, np.nan, 2.0])).numpy())  # fmt: skip
    h = np.array([-1.0, 0.0, 2.0, np.nan])
    np.testing.assert_array_equal(
        E.heaviside(mc.tensor(h), mc.tensor(np.array([0.5]))).numpy(),
        torch.heaviside(torch.tensor(h), torch.tensor([0.5], dtype=torch.float64)).numpy(),
    )
    np.testing.assert_array_equal(
        E.nextafter(mc.tensor(h), mc.tensor(np.array([3.0]))).numpy(),
        torch.nextafter(torch.tensor(h), torch.tensor([3.0], dtype=torch.float64)).numpy(),
    )


INTEGER = [
    ("gcd", E.gcd, torch.gcd),
    ("lcm", E.lcm, torch.lcm),
    ("bitwise_and", E.bitwise_and, torch.bitwise_and),
    ("bitwise_or", E.bitwise_or, torch.bitwise_or),
    ("bitwise_xor", E.bitwise_xor, torch.bitwise_xor),
    ("left_shift", E.bitwise_left_shift, torch.bitwise_left_shift),
    ("right_shift", E.bitwise_right_shift, torch.bitwise_right_shift),
]


@pytest.mark.parametrize(("name", "ours", "theirs"), INTEGER, ids=[n for n, _, _ in INTEGER])
@SETTINGS
@given(
    dtype=st.sampled_from([np.int64, np.int32, np.int16, np.uint8]),
    other=st.sampled_from([np.int64, np.int32, np.int16, np.uint8]),
    seed=st.integers(0, 2**16),
)
def test_integer_ops_like_torch(name, ours, theirs, dtype, other, seed):
    rng = _rng(seed)
    shift = "shift" in name
    a = rng.integers(-50 if np.dtype(dtype).kind == "i" else 0, 50, (3, 4)).astype(dtype)
    b = rng.integers(0 if shift else (-50 if np.dtype(other).kind == "i" else 0), 7 if shift else 50, (4,)).astype(
        other
    )
    want = theirs(torch.tensor(a), torch.tensor(b)).numpy()
    got = ours(mc.tensor(a), mc.tensor(b)).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_bitwise_operators_not_and_errors():
    a, b = np.array([5, -3, 12]), np.array([1, 2, 3])
    ta, tb = torch.tensor(a), torch.tensor(b)
    np.testing.assert_array_equal((mc.tensor(a) << mc.tensor(b)).numpy(), (ta << tb).numpy())
    np.testing.assert_array_equal((mc.tensor(a) >> 1).numpy(), (ta >> 1).numpy())
    np.testing.assert_array_equal(E.bitwise_not(mc.tensor(a)).numpy(), torch.bitwise_not(ta).numpy())
    m = np.array([True, False])
    np.testing.assert_array_equal(E.bitwise_xor(mc.tensor(m), mc.tensor(m[::-1].copy())).numpy(), [True, True])
    for fn in (E.bitwise_and, E.gcd, E.bitwise_left_shift):
        with pytest.raises(TypeError, match="not implemented for 'Double'"):  # torch's name of float64
            fn(mc.tensor(np.ones(2)), mc.tensor(np.ones(2)))
    with pytest.raises(TypeError, match="bitwise_not"):
        E.bitwise_not(mc.tensor(np.ones(2)))


PRODUCTS = [
    ("addcmul", lambda i, a, b: E.addcmul(i, a, b, value=0.5),
     lambda i, a, b: torch.addcmul(i, a, b, value=0.5), [(3, 1), (1, 4), (3, 4)]),
    ("addcdiv", lambda i, a, b: E.addcdiv(i, a, b, value=-2),
     lambda i, a, b: torch.addcdiv(i, a, b, value=-2), [(4,), (3, 4), (3, 1)]),
    ("addmv", lambda i, m, v: E.addmv(i, m, v, beta=0.5, alpha=2),
     lambda i, m, v: torch.addmv(i, m, v, beta=0.5, alpha=2), [(1,), (3, 4), (4,)]),
    ("addr", lambda i, a, b: E.addr(i, a, b, alpha=3), lambda i, a, b: torch.addr(i, a, b, alpha=3),
     [(3, 4), (3,), (4,)]),
    ("baddbmm", lambda i, a, b: E.baddbmm(i, a, b, beta=2), lambda i, a, b: torch.baddbmm(i, a, b, beta=2),
     [(2, 3, 4), (2, 3, 5), (2, 5, 4)]),
    ("addbmm", lambda i, a, b: E.addbmm(i, a, b, alpha=0.5), lambda i, a, b: torch.addbmm(i, a, b, alpha=0.5),
     [(3, 4), (2, 3, 5), (2, 5, 4)]),
    ("inner", E.inner, torch.inner, [(2, 3, 4), (5, 4)]),
    ("inner_0d", E.inner, torch.inner, [(), (5, 4)]),
    ("kron", E.kron, torch.kron, [(2, 3), (3, 1, 2)]),
    ("vdot", E.vdot, torch.vdot, [(5,), (5,)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "ours", "theirs", "shapes"), PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_products_like_torch(name, ours, theirs, shapes):
    rng = _rng(5)
    arrays = [rng.uniform(0.5, 2, s) for s in shapes]
    compare_with_torch(ours, theirs, arrays, rtol=1e-10, atol=1e-12)
    double_backward_like_torch(ours, theirs, arrays, rtol=1e-8, atol=1e-10)
    assert mc.gradcheck(ours, [mc.tensor(a, requires_grad=True) for a in arrays])


def test_beta_zero_ignores_nan_input():
    i = np.full((3,), np.nan)
    m, v = _rng(6).standard_normal((3, 2)), _rng(7).standard_normal(2)
    got = E.addmv(mc.tensor(i), mc.tensor(m), mc.tensor(v), beta=0).numpy()
    np.testing.assert_allclose(got, torch.addmv(torch.tensor(i), torch.tensor(m), torch.tensor(v), beta=0).numpy())


def test_methods_functions_inplace_and_special():
    x = np.array([0.2, 0.5, 0.7])
    t = torch.tensor(x)
    np.testing.assert_allclose(mc.tensor(x).lgamma().numpy(), t.lgamma().numpy())
    np.testing.assert_allclose(mc.tensor(x).polygamma(2).numpy(), t.polygamma(2).numpy())
    np.testing.assert_allclose(mc.polygamma(2, mc.tensor(x)).numpy(), torch.polygamma(2, t).numpy())
    np.testing.assert_allclose(mc.logit(mc.tensor(x), eps=0.3).numpy(), torch.logit(t, eps=0.3).numpy())
    np.testing.assert_allclose(mc.tensor(x).hardshrink(0.4).numpy(), t.hardshrink(0.4).numpy())
    y = mc.tensor(x.copy())
    y.erfinv_()
    np.testing.assert_allclose(y.numpy(), t.erfinv().numpy())
    w = mc.tensor(x.copy(), requires_grad=True)
    z = w * 1.0
    z.digamma_()
    z.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), torch.polygamma(1, t).numpy())
    assert mc.is_signed(mc.tensor(x)) and not mc.is_complex(mc.tensor(x)) and mc.is_floating_point(mc.tensor(x))
    assert not mc.tensor(np.array([1], np.uint8)).is_signed()
    np.testing.assert_allclose(mc.clamp_min(mc.tensor(x), 0.4).numpy(), torch.clamp_min(t, 0.4).numpy())
    assert mc.positive(mc.tensor(x)).shape == (3,) and mc.absolute(mc.tensor(-x)).numpy().min() > 0
    with pytest.raises(TypeError):
        mc.positive(mc.tensor(np.array([True])))
    for name in ("gammaln", "psi", "expit", "ndtr", "ndtri", "log_ndtr", "i0e", "i1", "erfc", "sinc", "entr"):
        np.testing.assert_allclose(
            getattr(mc.special, name)(mc.tensor(x)).numpy(), getattr(torch.special, name)(t).numpy(), rtol=1e-12
        )
    np.testing.assert_allclose(mc.special.multigammaln(mc.tensor(x + 2), 2).numpy(),
                               torch.special.multigammaln(t + 2, 2).numpy())  # fmt: skip
    np.testing.assert_allclose(mc.special.softmax(mc.tensor(x), 0).numpy(), torch.special.softmax(t, 0).numpy())
    np.testing.assert_allclose(mc.special.logsumexp(mc.tensor(x), 0).numpy(), torch.special.logsumexp(t, 0).numpy())
    # outside the domain (x <= (p-1)/2) torch 2.x computes the sum anyway (no error); p < 1 is refused
    w = np.array([0.1, 0.2, 1.0, 0.7, -0.5])
    np.testing.assert_allclose(mc.mvlgamma(mc.tensor(w), 3).numpy(), torch.mvlgamma(torch.tensor(w), 3).numpy())
    with pytest.raises(RuntimeError, match="greater than or equal to 1"):
        mc.mvlgamma(mc.tensor(x), 0)


@pytest.mark.parametrize("device", devices())
def test_ops_run_on_device(device):
    x = np.array([0.2, 0.5, 0.7, 3.0, 25.0])
    t = torch.tensor(x)
    for ours, theirs in [
        (S.lgamma, torch.lgamma),
        (S.digamma, torch.digamma),
        (S.erfinv, torch.erfinv),
        (lambda v: S.polygamma(2, v), lambda v: torch.polygamma(2, v)),
        (S.i0, torch.i0),
        (S.i1e, torch.special.i1e),
        (S.ndtri, torch.special.ndtri),
        (S.log_ndtr, torch.special.log_ndtr),
        (S.sinc, torch.sinc),
        (S.asinh, torch.asinh),
    ]:
        xs = x[x < 1] if ours in (S.erfinv, S.ndtri) else x
        m = mc.tensor(xs, device=device, requires_grad=True)
        ours(m).sum().backward()
        tt = torch.tensor(xs, requires_grad=True)
        theirs(tt).sum().backward()
        np.testing.assert_allclose(
            ours(mc.tensor(xs, device=device)).numpy(), theirs(torch.tensor(xs)).numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(m.grad.numpy(), tt.grad.numpy(), rtol=1e-9)  # (torch's trigamma: 5e-10)
    a = mc.tensor(np.array([6, -4, 9]), device=device)
    np.testing.assert_array_equal(
        E.gcd(a, a * 2).numpy(), torch.gcd(torch.tensor([6, -4, 9]), torch.tensor([12, -8, 18])).numpy()
    )
    np.testing.assert_allclose(
        E.logaddexp(mc.tensor(x, device=device), 1.0).numpy(), torch.logaddexp(t, torch.tensor(1.0)).numpy()
    )
    for ours, theirs in [(E.logaddexp, torch.logaddexp), (E.nextafter, torch.nextafter), (E.xlogy, torch.xlogy),
                         (E.heaviside, torch.heaviside)]:  # fmt: skip
        a, b = mc.tensor(x - 0.5, device=device, requires_grad=True), mc.tensor(x[::-1].copy(), device=device)
        got = ours(a, b)
        np.testing.assert_allclose(got.numpy(), theirs(torch.tensor(x - 0.5), torch.tensor(x[::-1].copy())).numpy())
        if ours is not E.heaviside:
            got.sum().backward()
            assert a.grad.device == a.device


INPLACE_TWINS = [  # (name, args as (kind, shape) or plain values, float?)
    ("digamma", [], True), ("polygamma", [2], True), ("mvlgamma", [1], True), ("sgn", [], True),
    ("asinh", [], True), ("atanh", [], True), ("arcsinh", [], True), ("xlogy", [("f", (4,))], True),
    ("copysign", [("f", (3, 4))], True), ("ldexp", [("f", (4,))], True), ("heaviside", [("f", (4,))], True),
    ("nextafter", [("f", (3, 4))], True), ("addcmul", [("f", (4,)), ("f", (3, 1))], True),
    ("addcdiv", [("f", (3, 4)), ("f", (4,))], True), ("addr", [("f", (3,)), ("f", (4,))], True),
    ("addbmm", [("f", (2, 3, 5)), ("f", (2, 5, 4))], True),
    ("gcd", [("i", (4,))], False), ("lcm", [("i", (3, 4))], False), ("bitwise_and", [("i", (4,))], False),
    ("bitwise_or", [("i", (4,))], False), ("bitwise_xor", [("i", (4,))], False), ("bitwise_not", [], False),
    ("bitwise_left_shift", [("s", (4,))], False), ("bitwise_right_shift", [("s", (4,))], False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "floating"), INPLACE_TWINS, ids=[t[0] for t in INPLACE_TWINS])
def test_inplace_twins_like_torch(name, args, floating):
    rng = _rng(8)
    base = rng.uniform(0.1, 0.9, (3, 4)) if floating else rng.integers(-20, 20, (3, 4))
    made = []
    for a in args:
        if not isinstance(a, tuple):
            made.append(a)
        elif a[0] == "f":
            made.append(rng.uniform(0.5, 1.5, a[1]))
        else:
            made.append(rng.integers(0, 5, a[1]) if a[0] == "s" else rng.integers(-20, 20, a[1]))
    results = []
    for lib in (mc, torch):
        conv = [lib.tensor(m) if isinstance(m, np.ndarray) else m for m in made]
        plain = lib.tensor(base.copy())
        view = plain[1:]
        getattr(plain, f"{name}_")(*conv)
        out = [view.numpy().copy()]
        if floating and name not in ("sgn", "asinh", "atanh", "arcsinh", "heaviside"):  # (torch: none)
            x = lib.tensor(base, requires_grad=True)
            y = x * 1.5
            getattr(y, f"{name}_")(*conv)
            (y * y).sum().backward()
            out.append(x.grad.numpy())
        results.append(out)
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# -- review fixes (h11 review): each test failed before its fix ---------------------------------


def _both(fn_mc, fn_torch, arrays, grad=True):
    """Values and (where ``grad``) gradients of sum(out) of both libraries, as NumPy arrays."""
    ours = [mc.tensor(a, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad) for a in arrays]
    y, t = fn_mc(*ours), fn_torch(*theirs)
    if grad:
        y.sum().backward()
        t.sum().backward()
    got = [y.numpy()] + ([g.grad.numpy() for g in ours] if grad else [])
    want = [t.detach().numpy()] + ([g.grad.numpy() for g in theirs] if grad else [])
    return got, want


def test_logaddexp_of_equal_infinities_like_torch():
    a = np.array([-np.inf, np.inf, np.inf, -np.inf, 3.0, np.nan, 1.0])
    b = np.array([-np.inf, np.inf, 1.0, 2.0, -np.inf, 1.0, 1.0])
    for ours, theirs in [(E.logaddexp, torch.logaddexp), (E.logaddexp2, torch.logaddexp2)]:
        got, want = _both(ours, theirs, [a, b])
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-15)


def test_logaddexp_second_derivative_at_ties():
    a = np.array([0.5, -1.0, 2.0])  # a == b: the curvature sigmoid' = 1/4 (it was 0, from |a - b|)
    double_backward_like_torch(E.logaddexp, torch.logaddexp, [a, a.copy()], rtol=1e-12, atol=1e-14)
    double_backward_like_torch(E.logaddexp2, torch.logaddexp2, [a, a.copy()], rtol=1e-12, atol=1e-14)
    assert mc.gradgradcheck(E.logaddexp, [mc.tensor(a, requires_grad=True), mc.tensor(a.copy(), requires_grad=True)])


@pytest.mark.parametrize(
    ("name", "shapes"),
    [("addmv", [(3,), (3, 2), (2,)]), ("addr", [(3, 4), (3,), (4,)]), ("baddbmm", [(2, 3, 4), (2, 3, 5), (2, 5, 4)]),
     ("addbmm", [(1, 4), (2, 3, 5), (2, 5, 4)])],
)  # fmt: skip
def test_beta_zero_gives_input_a_zero_gradient_and_ignores_nan(name, shapes):
    rng = _rng(9)
    arrays = [np.full(shapes[0], np.nan)] + [rng.standard_normal(s) for s in shapes[1:]]
    got, want = _both(
        lambda *t: getattr(E, name)(*t, beta=0, alpha=2), lambda *t: getattr(torch, name)(*t, beta=0, alpha=2), arrays
    )
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_add_family_refuses_an_input_that_does_not_broadcast_to_the_result():
    rng = _rng(10)
    for name, shapes in [("addmv", [(4,), (3, 2), (2,)]), ("addmv", [(2, 3), (3, 2), (2,)]),
                         ("addr", [(2, 3, 4), (3,), (4,)]), ("addbmm", [(2, 3, 4), (2, 3, 5), (2, 5, 4)])]:  # fmt: skip
        arrays = [rng.standard_normal(s) for s in shapes]
        with pytest.raises(RuntimeError):
            getattr(torch, name)(*[torch.tensor(a) for a in arrays])
        with pytest.raises(ValueError, match=f"{name}: input of shape"):
            getattr(E, name)(*[mc.tensor(a) for a in arrays])


@pytest.mark.parametrize("name", ["addmv", "baddbmm", "addbmm"])
@pytest.mark.parametrize("input_dtype", ["float64", "int64"])
@pytest.mark.parametrize("input_shape", [(), (2,)])
def test_add_family_refuses_an_input_of_another_dtype_as_torch(name, input_dtype, input_shape):
    mats = {"addmv": [(2, 2), (2,)]}.get(name, [(1, 2, 2), (1, 2, 2)])
    for lib in (torch, mc):
        args = [lib.ones(input_shape, dtype=getattr(lib, input_dtype))] + [lib.ones(s) for s in mats]
        with pytest.raises(RuntimeError):
            getattr(lib, name)(*args)


def test_heaviside_backward_raises_and_nextafter_passes_the_gradient_like_torch():
    x = np.array([1.0, -1.0, 0.0])
    v = np.array([0.5])
    h = E.heaviside(mc.tensor(x, requires_grad=True), mc.tensor(v))
    assert h.requires_grad  # (as torch's: the error comes at backward time)
    with pytest.raises(RuntimeError, match="derivative for 'heaviside' is not implemented"):
        h.sum().backward()
    got, want = _both(E.nextafter, torch.nextafter, [np.array([[1.0, -1.0, 0.0]]), np.array([[0.5], [2.0]])])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    double_backward_like_torch(lambda a, b: E.nextafter(a * a, b), lambda a, b: torch.nextafter(a * a, b),
                               [np.array([0.5, 2.0]), np.array([1.0, 0.0])], grad_inputs=(True, False))  # fmt: skip


def test_xlogy_and_xlog1py_gradient_where_input_is_zero_like_torch():
    """Values with torch's signed zeros (+0.0 at x = +-0, -0.0 for x < 0 at log(y) = 0), d/dx =
    log(y) where x = 0 except at y <= 0 (masked to 0; y = inf keeps inf), d/dy = x / y."""
    x = np.array([0.0, 0.0, 0.0, -0.0, 1.0, 2.0, 0.0, 0.0, -1.0, 0.0, 2.0])
    y = np.array([2.0, 0.5, -1.0, 3.0, 0.0, np.nan, np.nan, np.inf, 1.0, 0.0, -0.0])
    for ours, theirs, shift in [(E.xlogy, torch.xlogy, 0.0), (E.xlog1py, torch.special.xlog1py, -1.0)]:
        got, want = _both(ours, theirs, [x, y + shift])
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-15)  # (log1p may differ by an ulp)
            np.testing.assert_array_equal(np.signbit(g), np.signbit(w))
        assert not np.signbit(got[0][3])


def test_logit_eps_keeps_the_gradient_on_the_closed_interval_and_is_infinite_at_the_ends():
    x = np.array([0.0, 0.1, 0.5, 0.9, 0.95, 1.0])
    for eps in (0.1, 0.7, None):  # (eps > 0.5: torch picks eps below eps, else 1 - eps)
        got, want = _both(lambda t, e=eps: E.logit(t, e), lambda t, e=eps: torch.logit(t, e), [x])
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-14)
    f = np.array([0.0, 0.25, 1.0], np.float32)
    np.testing.assert_array_equal(E.logit(mc.tensor(f), 1e-6).numpy(), torch.logit(torch.tensor(f), 1e-6).numpy())


def test_special_function_edge_values_like_torch():
    inf = np.array([np.inf, -np.inf, 0.0, -0.0])
    for ours, theirs in [(S.i0e, torch.special.i0e), (S.i1e, torch.special.i1e), (S.erfinv, torch.erfinv)]:
        got, want = ours(mc.tensor(inf)).numpy(), theirs(torch.tensor(inf)).numpy()
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got) & ~np.isnan(got), np.signbit(want) & ~np.isnan(want))
    tiny = np.array([1e-310, -1e-310, 5e-324])  # (subnormal: pi / sin(pi x) overflowed)
    np.testing.assert_allclose(S.lgamma(mc.tensor(tiny)).numpy(), torch.lgamma(torch.tensor(tiny)).numpy())
    np.testing.assert_array_equal(S.polygamma(1, mc.tensor(np.array([-np.inf]))).numpy(), [np.nan])
    big = np.array([1.0, 2.5])  # (n! beyond float64: an OverflowError before)
    np.testing.assert_array_equal(S.polygamma(200, mc.tensor(big)).numpy(), torch.polygamma(200, torch.tensor(big)))


def test_ldexp_keeps_float16_and_promotes_like_torch():
    x = np.array([0.5, -1.5, 3.0])
    for xd, nd in [(np.float16, np.int64), (np.float32, np.int32), (np.int64, np.int64), (np.float16, np.float64)]:
        got = E.ldexp(mc.tensor(x.astype(xd)), mc.tensor(np.array([1, 2, -1]).astype(nd)))
        want = torch.ldexp(torch.tensor(x.astype(xd)), torch.tensor(np.array([1, 2, -1]).astype(nd))).numpy()
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want)


def test_fmax_fmin_ties_share_the_gradient_like_torch():
    a = np.array([1.0, 2.0, -1.0, 0.5])
    b = np.array([1.0, 3.0, -1.0, np.nan])
    for ours, theirs in [(E.fmax, torch.fmax), (E.fmin, torch.fmin)]:
        got, want = _both(ours, theirs, [a, b])
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[2][:3], want[2][:3])  # (torch also gives the NaN operand a gradient)


def test_maximum_minimum_ties_of_signed_zeros_return_the_first_operand_like_torch():
    a = np.array([0.0, -0.0, 0.0, -0.0, np.nan, 1.0])
    b = np.array([-0.0, 0.0, 0.0, -0.0, 1.0, np.nan])
    for name in ("maximum", "minimum", "fmax", "fmin"):
        got = getattr(mc, name)(mc.tensor(a), mc.tensor(b)).numpy()
        want = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_sinc_second_derivative_at_zero():
    x = mc.tensor(np.array([0.0, 0.3, -1.2]), requires_grad=True)
    assert mc.gradgradcheck(S.sinc, [x])
    (g,) = mc.autograd.grad(S.sinc(x).sum(), x, create_graph=True)
    (h,) = mc.autograd.grad(g.sum(), x)
    assert h.numpy()[0] == pytest.approx(-(np.pi**2) / 3, rel=1e-14)  # (torch's is NaN there)


def test_copysign_gives_other_a_zero_gradient_like_torch():
    got, want = _both(E.copysign, torch.copysign, [np.array([[1.0, -2.0, 3.0]]), np.array([[-1.0], [0.0]])])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_float_power_inplace_twin_and_nan_to_num_overflow():
    for lib in (mc, torch):
        t = lib.tensor(np.array([1.5, 2.0]))
        t.float_power_(2)
        np.testing.assert_array_equal(t.numpy(), [2.25, 4.0])
        with pytest.raises(RuntimeError, match="float_power_"):
            lib.tensor(np.array([1.5], np.float32)).float_power_(2)
    f = np.array([np.inf, -np.inf, np.nan], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = E.nan_to_num(mc.tensor(f), posinf=1e300, neginf=-1e300).numpy()
    np.testing.assert_array_equal(got, torch.nan_to_num(torch.tensor(f), posinf=1e300, neginf=-1e300).numpy())


def test_second_derivatives_gradgradcheck():
    def t(*v):
        return mc.tensor(np.array(v), requires_grad=True)

    assert mc.gradgradcheck(S.lgamma, [t(0.7, 2.5, -1.3)])
    assert mc.gradgradcheck(S.digamma, [t(0.7, 2.5, -1.3)])
    assert mc.gradgradcheck(S.erfinv, [t(0.1, -0.6, 0.9)])
    assert mc.gradgradcheck(lambda x: E.logit(x, 0.2), [t(0.1, 0.6, 0.7)])
    for fn in (E.xlogy, E.xlog1py):  # (input 0: d/dinput = log(other), was 0)
        assert mc.gradcheck(fn, [t(0.0, 0.6, -0.9), t(0.3, 1.5, 2.0)])
        assert mc.gradgradcheck(fn, [t(0.0, 0.6, -0.9), t(0.3, 1.5, 2.0)])


def _grads_both(fn_mc, fn_torch, x, create_graph):
    """First gradients of sum(out * w) (w random), and the second ones of their sum, both libraries."""
    w = _rng(3).uniform(0.5, 1.5, x.shape).astype(x.dtype)
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (gm,) = mc.autograd.grad((fn_mc(xm) * mc.tensor(w)).sum(), xm, create_graph=create_graph)
    (gt,) = torch.autograd.grad((fn_torch(xt) * torch.tensor(w)).sum(), xt, create_graph=create_graph)
    if not create_graph:
        return (gm.numpy(),), (gt.numpy(),)
    (hm,), (ht,) = mc.autograd.grad(gm.sum(), xm), torch.autograd.grad(gt.sum(), xt)
    return (gm.numpy(), hm.numpy()), (gt.detach().numpy(), ht.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logit_and_entr_gradients_outside_the_domain_like_torch(dtype):
    """torch's derivatives of logit, dy / (x (1 - x)), are NaN outside [0, 1] (and at +-inf)
    without eps, 0 outside [eps, 1 - eps] with it; entr's, -(1 + log x), are +inf at 0, NaN for
    x < 0, -inf at inf (they were 0, 0 and NaN), its second -1/x. (A NaN input: below; torch's
    logit with eps gives it a 0 gradient (as ours) in its vectorized loop, NaN in the scalar tail.)"""
    x = np.array([-0.5, 1.5, np.inf, -np.inf, 0.0, 1.0, 0.2, 0.8, 0.5, 1e-30, -2.0, 3.0], dtype)
    cases = [(lambda t, e=eps: E.logit(t, e), lambda t, e=eps: torch.logit(t, e)) for eps in (None, 0.0, 0.2)]
    cases.append((E.entr, torch.special.entr))
    for ours, theirs in cases:
        for create_graph in (False, True):
            got, want = _grads_both(ours, theirs, x, create_graph)
            rtol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(got[0], want[0], rtol=rtol)
            sign = [np.signbit(g) & ~np.isnan(g) for g in (got[0], want[0])]  # (a NaN's sign bit means nothing)
            np.testing.assert_array_equal(*sign)
            if create_graph:  # (torch's second derivative of logit is NaN at 0 and 1, -1/x^2 differs: compare inside)
                keep = slice(None) if ours is E.entr else slice(6, 9)
                np.testing.assert_allclose(got[1][keep], want[1][keep], rtol=rtol)
    xt = mc.tensor(np.array([0.3, 1.7, 0.05]), requires_grad=True)
    assert mc.gradcheck(E.entr, [xt]) and mc.gradgradcheck(E.entr, [xt])
    nan = np.resize(np.array([np.nan, 0.3, -1.0], dtype), 64)  # (a multiple of any SIMD loop's step: no tail)
    for eps in (None, 0.1):
        got, want = _grads_both(lambda t, e=eps: E.logit(t, e), lambda t, e=eps: torch.logit(t, e), nan, False)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-5)


def test_nextafter_gradient_is_zero_where_input_equals_other_like_torch():
    a = np.array([0.0, 1.0, 2.0, 0.0, -0.0, 1.0, np.nan, np.inf, np.inf])
    b = np.array([1.0, 1.0, 1.0, -0.0, 0.0, np.nan, 1.0, np.inf, 0.0])
    got, want = _both(E.nextafter, torch.nextafter, [a, b])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    double_backward_like_torch(E.nextafter, torch.nextafter, [a[:6], b[:6]], grad_inputs=(True, False))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_i1_and_sinc_derivatives_near_zero_against_mpmath(dtype):
    """i1' = i0 - i1/x and sinc' = (cos(pi x) - sinc x) / x cancel near 0: the second
    derivative of i1 was inf at a tiny x (NaN in float32), sinc's was -8 at 1e-8 (-pi^2/3)."""
    x = np.array([0.0, 1e-30, -1e-8, 1e-3, 0.02, -0.05, 0.0999, 0.1001, 0.7, -3.0], dtype)
    refs = [
        (S.i1, lambda v: mpmath.besseli(1, v)),
        (S.i1e, lambda v: mpmath.besseli(1, v) * mpmath.exp(-abs(v))),
        (S.sinc, lambda v: mpmath.sinc(mpmath.pi * v) if v else mpmath.mpf(1)),
    ]
    for ours, ref in refs:
        xm = mc.tensor(x, requires_grad=True)
        (g0,) = mc.autograd.grad(ours(xm).sum(), xm)
        (g,) = mc.autograd.grad(ours(xm).sum(), xm, create_graph=True)
        (h,) = mc.autograd.grad(g.sum(), xm)
        side = [1 if v >= 0 else -1 for v in x]  # (i1e has a kink at 0: one-sided derivatives)
        want1 = [float(mpmath.diff(ref, mpmath.mpf(float(v)), 1, direction=s)) for v, s in zip(x, side)]
        want2 = [float(mpmath.diff(ref, mpmath.mpf(float(v)), 2, direction=s)) for v, s in zip(x, side)]
        tol = dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(g0.numpy(), want1, **tol)
        np.testing.assert_allclose(g.numpy(), want1, **tol)
        kink = ours is S.i1e  # (at 0 its second derivative jumps from 1 to -1: 0 there, by sign(0) = 0)
        np.testing.assert_allclose(h.numpy()[kink:], want2[kink:], **tol)
    xt = mc.tensor(np.array([0.0, 0.05, -0.08, 0.4]), requires_grad=True)
    for ours in (S.i1, S.i1e, S.sinc):
        assert mc.gradgradcheck(ours, [xt])


def _float32_ulps(got: np.ndarray, want64: np.ndarray) -> np.ndarray:
    """Distance in float32 ulps between float32 results and the correctly rounded float64 values."""
    with np.errstate(over="ignore"):  # (callers drop the values past float32's range)
        ints = [a.view(np.int32).astype(np.int64) for a in (got, want64.astype(np.float32))]
    ints = [np.where(i < 0, -(i & 0x7FFFFFFF), i) for i in ints]
    return np.abs(ints[0] - ints[1])


def test_float32_path_within_one_ulp():
    """float32 input takes shorter approximations (erfinv / ndtri, i0 / i0e / i1 / i1e, polygamma,
    gammainc / gammaincc): each result within 1 ulp of the correctly rounded value (scipy's float64,
    rounded), the hard regions included: next to +-1 and 0 for erfinv, p in the far tail for ndtri,
    the series / Chebyshev cut at |x| = 8, the poles of polygamma, x next to a for gammainc."""
    rng = np.random.default_rng(0)
    near_one = np.arange(np.float32(0.999).view(np.int32), np.float32(1).view(np.int32), dtype=np.int32)
    y = np.concatenate([rng.uniform(-1, 1, 20000), 10 ** rng.uniform(-45, 0, 5000)]).astype(np.float32)
    y = np.concatenate([y, near_one.view(np.float32)])
    assert _float32_ulps(K.erfinv(y), ss.erfinv(y.astype(np.float64))).max() <= 1
    p = np.abs(y[y != 0]) / 2
    assert _float32_ulps(K.ndtri(p), ss.ndtri(p.astype(np.float64))).max() <= 1
    cut = np.arange(np.float32(7.99).view(np.int32), np.float32(8.01).view(np.int32), dtype=np.int32)
    x = np.concatenate([rng.uniform(-40, 40, 20000), 10 ** rng.uniform(-40, 2, 5000), cut.view(np.float32)])
    x = np.concatenate([x, -x]).astype(np.float32)
    for name in ("i0", "i0e", "i1", "i1e"):
        want = getattr(ss, name)(x.astype(np.float64))
        ok = np.isfinite(want) & (np.abs(want) > 1e-37)  # (float32 subnormals: double rounding)
        assert _float32_ulps(getattr(K, name)(x)[ok], want[ok]).max() <= 1, name
    q = np.concatenate([rng.uniform(-20, 30, 20000), 10 ** rng.uniform(-20, 6, 5000)]).astype(np.float32)
    for n in (1, 2, 5):
        want = ss.polygamma(n, q.astype(np.float64))
        ok = np.isfinite(want) & (np.abs(want) < 3e38) & (np.abs(want) > 1e-37)
        assert _float32_ulps(K.polygamma(n, q)[ok], want[ok]).max() <= 1, n
    a = np.concatenate([10 ** rng.uniform(-6, 3.5, 6000), rng.uniform(0.5, 20, 6000)]).astype(np.float32)
    x = np.concatenate([a * 10 ** rng.uniform(-3, 1.5, a.size), a * (1 + 10 ** rng.uniform(-7, 0, a.size))])
    a, x = np.concatenate([a, a]), x.astype(np.float32)
    for ours, oracle in ((mc.special.gammainc, ss.gammainc), (mc.special.gammaincc, ss.gammaincc)):
        want = oracle(a.astype(np.float64), x.astype(np.float64))
        ok = np.abs(want) > 1e-37
        got = ours(mc.tensor(a), mc.tensor(x))
        assert got.dtype == mc.float32
        assert _float32_ulps(got.numpy()[ok], want[ok]).max() <= 1, oracle


def test_erfinv_float32_evaluation_within_one_ulp_and_special_values():
    """float32 erfinv is computed in float32 (log and Horner; the last step in float64): within 1 ulp of
    scipy's float64 rounded on a dense grid, every float32 next to the switch to the float64 tails
    ((1 - y)(1 + y) = exp(-6.25)), tiny and subnormal y; -0.0, +-1, |y| > 1, NaN and dtypes like torch."""
    edge = np.float32(math.sqrt(-math.expm1(-6.25))).view(np.int32)
    around = np.arange(edge - 300, edge + 300, dtype=np.int32).view(np.float32)
    y = np.concatenate([np.linspace(-1, 1, 400001), 10.0 ** np.linspace(-45, -1, 5000), around])
    y = np.concatenate([y, -y]).astype(np.float32)
    assert _float32_ulps(K.erfinv(y), ss.erfinv(y.astype(np.float64))).max() <= 1
    special = np.array([0.0, -0.0, 1.0, -1.0, 1.0000001, -2.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45], np.float32)
    want = torch.erfinv(torch.from_numpy(special)).numpy()
    got = K.erfinv(special)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got[:4]), np.signbit(want[:4]))  # (-0.0; NaN's sign aside)
    inputs = (np.array([0.5, -0.9, 1], np.float16), np.array([-1, 0, 1]), np.float32(0.25), np.zeros((0, 3), "f4"))
    for x in inputs:
        want = torch.erfinv(torch.as_tensor(x)).numpy()
        got = mc.erfinv(mc.tensor(x)).numpy()
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-3 if x.dtype == np.float16 else 1e-7)


def test_lgamma_next_to_the_negative_integers_against_mpmath():
    """The reflection's log|sin(pi x)| folds x mod 2 to [0, 1/2] exactly: accurate next to the odd negative
    integers too (sin(pi x) of x reduced to 1 + d lost up to 4e-4 relative at x = -15 + 1e-13)."""
    d = np.array([1e-13, -1e-13, 1e-9, -1e-9, 1e-6, -1e-6, 0.25])
    x = (-np.array([1.0, 2.0, 3.0, 15.0, 16.0, 17.0, 101.0])[:, None] + d).ravel()
    want = _mp(lambda v: mpmath.log(abs(mpmath.gamma(v))), x)
    got = K.lgamma(x)
    assert np.all(np.abs(got - want) / np.maximum(np.abs(want), 1) < 2e-14)
    np.testing.assert_array_equal(K.lgamma(np.array([-15.0, -0.0, -np.inf, np.nan])), [np.inf, np.inf, np.inf, np.nan])
