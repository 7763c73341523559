"""The rest of torch.special (ops/special_more.py; kernels/special.py's erfcx and gammainc,
kernels/bessel.py, kernels/polynomials.py) against torch, and in float64 against scipy.special and
mpmath (test-only oracles) where torch's own values are less accurate (its J0/J1/Y0/Y1 and Ai, to
~1e-6 absolute; its gammainc, to ~2e-9 relative)."""

from __future__ import annotations

import math

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
from minicnn.kernels import bessel as KB
from minicnn.kernels import polynomials as KP
from minicnn.kernels import special as K
from minicnn.ops import special_more as M

SETTINGS = settings(max_examples=15, deadline=None)
TS = torch.special


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _wide(rng: np.random.Generator, shape, lo: float, hi: float) -> np.ndarray:
    """Half uniform on [lo, hi], half log-uniform magnitudes 1e-3 .. max(|lo|, |hi|) (signs as the range allows)."""
    u = rng.uniform(lo, hi, shape)
    top = max(abs(lo), abs(hi))
    mag = np.exp(rng.uniform(math.log(1e-3), math.log(top), shape))
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0) if lo < 0 else 1.0
    mag = np.clip(sign * mag, lo, hi)
    return np.where(rng.random(shape) < 0.5, u, mag)


# (name, ours, torch's, scipy's, low, high, torch's atol): unary functions of x
UNARY = [
    ("erfcx", M.erfcx, TS.erfcx, ss.erfcx, -20, 60, 0),
    ("bessel_j0", M.bessel_j0, TS.bessel_j0, ss.j0, -60, 60, 2e-6),
    ("bessel_j1", M.bessel_j1, TS.bessel_j1, ss.j1, -60, 60, 2e-6),
    ("bessel_y0", M.bessel_y0, TS.bessel_y0, ss.y0, 0.01, 60, 2e-6),
    ("bessel_y1", M.bessel_y1, TS.bessel_y1, ss.y1, 0.05, 60, 2e-6),
    ("modified_bessel_i0", M.modified_bessel_i0, TS.modified_bessel_i0, ss.i0, -40, 40, 0),
    ("modified_bessel_i1", M.modified_bessel_i1, TS.modified_bessel_i1, ss.i1, -40, 40, 0),
    ("modified_bessel_k0", M.modified_bessel_k0, TS.modified_bessel_k0, ss.k0, 1e-3, 60, 0),
    ("modified_bessel_k1", M.modified_bessel_k1, TS.modified_bessel_k1, ss.k1, 1e-3, 60, 0),
    ("scaled_modified_bessel_k0", M.scaled_modified_bessel_k0, TS.scaled_modified_bessel_k0, ss.k0e, 1e-3, 500, 0),
    ("scaled_modified_bessel_k1", M.scaled_modified_bessel_k1, TS.scaled_modified_bessel_k1, ss.k1e, 1e-3, 500, 0),
    ("spherical_bessel_j0", M.spherical_bessel_j0, TS.spherical_bessel_j0, lambda v: ss.spherical_jn(0, v), -60, 60, 0),
    ("airy_ai", M.airy_ai, TS.airy_ai, lambda v: ss.airy(v)[0], -30, 30, 5e-6),
]
IDS = [u[0] for u in UNARY]
DIFFERENTIABLE = [u for u in UNARY if u[0] != "airy_ai"]


@pytest.mark.parametrize(("name", "ours", "theirs", "scipy_fn", "lo", "hi", "atol"), UNARY, ids=IDS)
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=5), seed=st.integers(0, 2**16))
def test_unary_like_torch_and_scipy(name, ours, theirs, scipy_fn, lo, hi, atol, shape, seed):
    x = _wide(_rng(seed), shape, lo, hi)
    # (erfcx' = 2x erfcx - 2/sqrt(pi) cancels for large x: the gradient is compared to ~1e-15 absolute)
    floor = 1e-15 if name == "erfcx" else 1e-300
    compare_with_torch(ours, theirs, [x], rtol=1e-13 if atol == 0 else 0, atol=atol or floor)
    got = ours(mc.tensor(x)).numpy()
    want = scipy_fn(x)
    if name == "airy_ai":  # the oscillating side: absolute against the envelope (as torch's, the phase ~|x|^1.5 rounds)
        bound = 2e-13 * np.abs(want) + np.where(x < -2.09, 2e-14 * np.abs(x) ** -0.25, 1e-15)
        assert np.all(np.abs(got - want) <= bound)
        return
    np.testing.assert_allclose(got, want, rtol=2e-13, atol=1e-15 if name.startswith("bessel") else 0)


def _max_rel(got: np.ndarray, want: np.ndarray) -> float:
    ok = np.isfinite(want) & (want != 0)
    return float(np.max(np.abs(got[ok] - want[ok]) / np.abs(want[ok])))


def test_float64_accuracy_against_scipy_and_mpmath():
    """Relative errors on 20000 draws each (the figures in the kernels' docstrings)."""
    rng = _rng(0)
    x = np.concatenate([rng.uniform(-30, 30, 10000), np.exp(rng.uniform(-8, 5.5, 10000))])
    # erfcx: scipy's (torch's) loses up to ~6e-14 for x < -5 (exp(x^2)); ours ~2e-16 there
    assert _max_rel(K.erfcx(x[x > -5]), ss.erfcx(x[x > -5])) < 3e-15
    neg = np.array([-26.5, -24.4, -22.7])
    with mpmath.workdps(40):
        want = np.array([float(mpmath.exp(mpmath.mpf(v) ** 2) * mpmath.erfc(v)) for v in neg])
    np.testing.assert_allclose(K.erfcx(neg), want, rtol=5e-16)
    pos = x[x > 0]
    for ours, theirs, bound in [(KB.k0, ss.k0, 3e-15), (KB.k1, ss.k1, 3e-15), (KB.k0e, ss.k0e, 3e-15),
                                (KB.k1e, ss.k1e, 3e-15)]:  # fmt: skip
        assert _max_rel(ours(pos), theirs(pos)) < bound
    # J, Y: relative away from the zeros, absolute against the envelope near them
    for ours, theirs, xs in [(KB.j0, ss.j0, x), (KB.j1, ss.j1, x), (KB.y0, ss.y0, pos), (KB.y1, ss.y1, pos)]:
        got, want = ours(xs), theirs(xs)
        envelope = np.minimum(1.0, np.sqrt(2 / (np.pi * np.abs(xs)))) + np.abs(want)
        assert np.max(np.abs(got - want) / envelope) < 1e-15
    ai, want = KB.airy_ai(x), ss.airy(x)[0]
    assert _max_rel(ai[x > -2.09], want[x > -2.09]) < 2e-13
    assert np.max(np.abs(ai - want) / np.abs(x) ** -0.25) < 2e-14  # (the oscillating side: absolute)


def test_sincos_kernel_against_numpy():
    # bessel.py's sin and cos from tan(x/2): every quadrant, next to the zeros, large arguments; NaN at +-inf
    x = np.concatenate([_rng(9).uniform(-1e5, 1e5, 4000), _rng(10).uniform(5, 40, 4000),
                        np.arange(-40, 41) * (np.pi / 4), np.array([0.0, 1e-300, 7.9e5, -8.1e5, 1e200])])  # fmt: skip
    s, c = K._sincos(np, x)
    assert np.max(np.abs(s - np.sin(x))) <= 4e-16 and np.max(np.abs(c - np.cos(x))) <= 4e-16
    with np.errstate(invalid="ignore"):
        s, c = K._sincos(np, np.array([np.inf, -np.inf, np.nan]))
    assert np.isnan(s).all() and np.isnan(c).all()


def test_i1_sign_at_zero_and_minus_inf_like_torch():
    x = np.array([-0.0, 0.0, -np.inf, -3.0, 9.0, -25.0])
    for ours, theirs in [(K.i1, torch.special.i1), (K.i1e, torch.special.i1e)]:
        got, want = ours(x), theirs(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-15)
        num = ~np.isnan(want)  # (i1(-inf) is NaN)
        assert np.array_equal(np.signbit(got[num]), np.signbit(want[num]))


def test_bessel_edges_like_torch():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1e-310, 5.0, -5.0, 2.0, 2.09, -2.09, 103.9, 1e300, -1e300,
                  -1e206, -1e205])  # fmt: skip
    t = torch.tensor(x)
    for name, ours, theirs, _, _, _, atol in UNARY:
        got = ours(mc.tensor(x)).numpy()
        want = theirs(t).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=atol, err_msg=name)
    assert np.signbit(M.bessel_j1(mc.tensor([-0.0])).numpy()[0])


@pytest.mark.parametrize(("name", "ours", "theirs", "scipy_fn", "lo", "hi", "atol"), DIFFERENTIABLE,
                         ids=[u[0] for u in DIFFERENTIABLE])  # fmt: skip
def test_unary_gradcheck_and_double_backward(name, ours, theirs, scipy_fn, lo, hi, atol):
    x = _rng(1).uniform(max(lo, -3), min(hi, 8), (5,))
    if name.startswith(("modified_bessel_k", "scaled")):
        x = x[x > 0.3]
    assert mc.gradcheck(ours, [mc.tensor(x, requires_grad=True)])
    assert mc.gradgradcheck(ours, [mc.tensor(x, requires_grad=True)])


def test_bessel_derivatives_against_scipy():
    """torch's Bessel functions have no gradient: ours (closed forms) against scipy's derivatives."""
    rng = _rng(2)
    x = np.concatenate([rng.uniform(0.05, 30, 40), [0.0, 1e-7, 0.3, 5e-324, 1e-320, 1e-160]])  # (subnormal: J1/x)
    for ours, want in [
        (M.bessel_j0, lambda v: ss.jvp(0, v)),
        (M.bessel_j1, lambda v: ss.jvp(1, v)),
        (M.bessel_y0, lambda v: ss.yvp(0, v)),
        (M.bessel_y1, lambda v: ss.yvp(1, v)),
        (M.modified_bessel_k0, lambda v: ss.kvp(0, v)),
        (M.modified_bessel_k1, lambda v: ss.kvp(1, v)),
        (M.scaled_modified_bessel_k0, lambda v: np.exp(v) * (ss.kvp(0, v) + ss.k0(v))),
        (M.scaled_modified_bessel_k1, lambda v: np.exp(v) * (ss.kvp(1, v) + ss.k1(v))),
        (M.spherical_bessel_j0, lambda v: ss.spherical_jn(0, v, derivative=True)),
    ]:
        xs = x if ours in (M.bessel_j0, M.bessel_j1) else x[x > 0.01]
        if ours is M.spherical_bessel_j0:  # (scipy's is NaN at subnormal x; ours the limit 0)
            xs = x[(x == 0) | (x > 1e-100)]
        m = mc.tensor(xs, requires_grad=True)
        ours(m).sum().backward()
        np.testing.assert_allclose(m.grad.numpy(), want(xs), rtol=1e-12, atol=1e-15, err_msg=str(ours))
        double = mc.tensor(-xs, requires_grad=True)
        if ours in (M.bessel_j0, M.bessel_j1, M.spherical_bessel_j0):  # (even / odd: the derivative is odd / even)
            ours(double).sum().backward()
            sign = 1.0 if ours is M.bessel_j1 else -1.0
            np.testing.assert_allclose(double.grad.numpy(), sign * want(xs), rtol=1e-12, atol=1e-15)
        graph = mc.tensor(xs, requires_grad=True)  # (the graph form's first derivative, the same)
        (g,) = mc.autograd.grad(ours(graph).sum(), [graph], create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), want(xs), rtol=1e-12, atol=1e-15, err_msg=str(ours))


def test_airy_and_polynomials_have_no_gradient_like_torch():
    x = mc.tensor([0.3, -1.0], requires_grad=True)
    assert not M.airy_ai(x).requires_grad
    assert not M.chebyshev_polynomial_t(x, 3).requires_grad
    assert not TS.airy_ai(torch.tensor([0.3], requires_grad=True)).requires_grad


def test_erfcx_gradient_like_torch_at_wide_range():
    x = np.concatenate([_wide(_rng(3), (40,), -20, 1e4), [0.0]])
    compare_with_torch(M.erfcx, TS.erfcx, [x], rtol=1e-12, atol=1e-15)
    double_backward_like_torch(M.erfcx, TS.erfcx, [x[np.abs(x) < 8]], rtol=1e-11, atol=1e-14)


# -- zeta ----------------------------------------------------------------------------------------


@SETTINGS
@given(shapes=broadcastable_shapes(shape=(3, 2), min_dims=0, max_dims=2), seed=st.integers(0, 2**16))
def test_zeta_like_torch_and_scipy(shapes, seed):
    rng = _rng(seed)
    s = rng.uniform(1.01, 30, (3, 2))
    q = np.where(rng.random(shapes) < 0.7, np.exp(rng.uniform(-5, 6, shapes)), rng.uniform(0.01, 3, shapes))
    compare_with_torch(M.zeta, TS.zeta, [s, q], grad_inputs=[False, False], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(M.zeta(mc.tensor(s), mc.tensor(q)).numpy(), ss.zeta(s, q), rtol=1e-13)


def test_zeta_negative_q_edges_and_dtypes_like_torch():
    s = np.array([1.0, 0.5, 2, 2, 2.5, 2, np.inf, 2, np.nan, 3, 4, 2, 5, 2])
    q = np.array([1.0, 1, 0, -1.5, -1.5, np.inf, 0.5, -np.inf, 1, -2.25, -7.6, -1.0, -0.3, np.nan])
    got = M.zeta(mc.tensor(s), mc.tensor(q)).numpy()
    want = TS.zeta(torch.tensor(s), torch.tensor(q)).numpy()
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)])
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12)
    assert M.zeta(mc.tensor([2]), 3).dtype == np.float32
    assert M.zeta(2, mc.tensor([3.0], dtype=mc.float64)).dtype == np.float64
    np.testing.assert_allclose(M.zeta(mc.tensor([2]), mc.tensor([3])).numpy(), TS.zeta(torch.tensor([2]), 3).numpy())


def test_zeta_extreme_orders_like_torch():
    """Huge and infinite s, and the poles q = 0, -1, ..., -inf under any s (torch: +inf there, even
    for a non-integer or NaN s), return at once: a huge integer s used to loop building the
    reflection polynomial, and s = inf raised OverflowError. Where the first term is all of the sum
    (q <= 1, or q > 0 with s log(1 + 1/q) > 37) both give q^-s; for q > 1 torch (Cephes) gives NaN
    from 0 / 0, minicnn the limit 0."""
    big = [100.0, 1e30, np.inf, 1e300, 66.0, 65.0]
    qs = [-7.0, -2.25, -1.0, -0.0, 0.0, 1e-30, 0.5, 1.0, -np.inf, np.nan, -0.3, -7.6]
    low = [(a, b) for a in (0.0, 0.5, 1.0, -1.0, np.nan) for b in (np.inf, -np.inf, np.nan)]  # s <= 1 decides first
    s = np.array([a for a in big for _ in qs] + [1.5, 1.5, np.nan, np.nan, 2.5] + [a for a, _ in low])
    q = np.array(qs * len(big) + [-7.0, 0.0, -1.0, -0.0, -np.inf] + [b for _, b in low])
    got = M.zeta(mc.tensor(s), mc.tensor(q)).numpy()
    want = TS.zeta(torch.tensor(s), torch.tensor(q)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)  # (NaN where NaN, inf where inf)
    over = np.array([2.0, 3.0, 1e30])
    for order in (1e30, np.inf, 1e300):
        assert np.isnan(TS.zeta(torch.tensor(order, dtype=torch.float64), torch.tensor(over)).numpy()).all()
        np.testing.assert_array_equal(M.zeta(mc.tensor(order, dtype=mc.float64), mc.tensor(over)).numpy(), 0.0)


def test_zeta_gradient_in_q_and_refusal_in_s():
    s, q = np.array([2.0, 3.5, 7.0]), np.array([0.7, 2.0, 11.0])
    mq = mc.tensor(q, requires_grad=True)
    M.zeta(mc.tensor(s), mq).sum().backward()
    np.testing.assert_allclose(mq.grad.numpy(), -s * ss.zeta(s + 1, q), rtol=1e-13)
    assert mc.gradcheck(lambda v: M.zeta(mc.tensor(s), v), [mc.tensor(q, requires_grad=True)])
    assert mc.gradgradcheck(lambda v: M.zeta(mc.tensor(s), v), [mc.tensor(q, requires_grad=True)])
    ms = mc.tensor(s, requires_grad=True)
    with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented"):
        M.zeta(ms, mc.tensor(q)).sum().backward()
    with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented"):  # (torch's)
        TS.zeta(torch.tensor(s, requires_grad=True), torch.tensor(q)).sum().backward()


# -- the incomplete gamma functions ----------------------------------------------------------------


def _gamma_draw(rng: np.random.Generator, shape) -> tuple[np.ndarray, np.ndarray]:
    """a log-uniform on 1e-3 .. 1e4, x around a (within a few sqrt(a) for large a), or anywhere."""
    a = np.exp(rng.uniform(math.log(1e-3), math.log(1e4), shape))
    spread = np.where(a > 10, 3 / np.sqrt(a), 1.5)
    x = np.where(rng.random(shape) < 0.7, a * np.exp(rng.normal(0, 1, shape) * spread), rng.exponential(20, shape))
    return a, x


@pytest.mark.parametrize(("ours", "theirs"), [(M.gammainc, TS.gammainc), (M.gammaincc, TS.gammaincc)],
                         ids=["gammainc", "gammaincc"])  # fmt: skip
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=2, max_side=6), seed=st.integers(0, 2**16))
def test_gammainc_like_torch(ours, theirs, shape, seed):
    a, x = _gamma_draw(_rng(seed), shape)
    # torch's forward is accurate to ~2e-9 relative only; the gradient in x is the same formula
    compare_with_torch(ours, theirs, [a, x], grad_inputs=[False, True], rtol=1e-8, atol=1e-300)


def test_gammainc_accuracy_against_scipy_and_mpmath():
    a, x = _gamma_draw(_rng(4), (20000,))
    p, q = K.gammainc(a, x), K.gammainc(a, x, upper=True)
    for got, want in [(p, ss.gammainc(a, x)), (q, ss.gammaincc(a, x))]:  # (scipy's own error: ~5e-13)
        ok = want > 1e-280
        assert _max_rel(got[ok], want[ok]) < 1e-12
        assert np.max(np.abs(got - want)) < 5e-14
    pts = [(111.18, 64.94), (1000.0, 1000.5), (5000.0, 4700.0), (20.0, 25.0), (0.5, 3.0), (1e-3, 0.46), (3.0, 1e-5),
           (352.3, 46.06), (554.9, 777.1), (139.2, 0.63), (1e-300, 1.0), (0.3, 1.0)]  # fmt: skip
    with mpmath.workdps(30):
        for a0, x0 in pts:
            want_p = float(mpmath.gammainc(a0, 0, x0, regularized=True))
            want_q = float(mpmath.gammainc(a0, x0, mpmath.inf, regularized=True))
            np.testing.assert_allclose(K.gammainc(np.array(a0), np.array(x0)), want_p, rtol=1e-13)
            np.testing.assert_allclose(K.gammainc(np.array(a0), np.array(x0), upper=True), want_q, rtol=5e-14)


def test_gammainc_fraction_small_a_near_one_against_mpmath():
    # the continued fraction needs ~100 steps for small a next to x = 1 (40 + 9 sqrt(max a) steps left
    # 5e-12 here; 6e-11 at Q(0.01, 1.1) alone)
    a = np.array([0.01, 1e-6, 0.3, 0.7, 0.9, 0.99, 0.5, 0.01])
    x = np.array([1.1, 1.1, 1.2, 1.1, 1.01, 1.001, 1.5, 2.0])
    with mpmath.workdps(30):
        want = np.array([float(mpmath.gammainc(a0, x0, mpmath.inf, regularized=True)) for a0, x0 in zip(a, x)])
    np.testing.assert_allclose(K.gammainc(a, x, upper=True), want, rtol=5e-15)
    np.testing.assert_allclose(K.gammainc(a, x), 1 - want, rtol=5e-15)


def test_gammainc_large_a_against_mpmath():
    # a >= 1e7 needs Temme's expansion next to x = a: the series / fraction would need ~9 sqrt(a) passes
    # (scipy's own is wrong below x = a - 4.5 sqrt(a) there: 1e-17 for 6.2e-16 at a = 1e12, x = a - 8 sqrt(a))
    with mpmath.workdps(50):
        for a0 in (250.0, 1e7, 1e8):
            for k in (-8.0, -3.0, -0.5, 0.0, 1.0, 4.6, 8.0):
                x0 = a0 + k * math.sqrt(a0)
                want_q = mpmath.gammainc(a0, x0, mpmath.inf, regularized=True)
                for upper, want in ((False, float(1 - want_q)), (True, float(want_q))):
                    np.testing.assert_allclose(K.gammainc(np.array(a0), np.array(x0), upper=upper), want, rtol=5e-14)
    # Q(a, a) = 1/2 - 1 / (3 sqrt(2 pi a)) + O(a^-3/2); and just outside Temme's window (|x - a| >= 0.3 a)
    a = np.array([1e12, 1e20])
    want = 0.5 - 1 / (3 * np.sqrt(2 * np.pi * a))
    np.testing.assert_allclose(K.gammainc(a, a, upper=True), want, rtol=1e-15)
    np.testing.assert_allclose(K.gammainc(a, a), 1 - want, rtol=1e-15)
    with mpmath.workdps(300):  # (P = 1 - Q down to 1e-250)
        for a0, x0 in [(1e4, 6999.0), (1e4, 7001.0), (1e4, 12999.0), (1e4, 13001.0), (201.0, 1005.0)]:
            want_q = mpmath.gammainc(a0, x0, mpmath.inf, regularized=True)
            np.testing.assert_allclose(K.gammainc(np.array(a0), np.array(x0), upper=True), float(want_q), rtol=3e-13)
            np.testing.assert_allclose(K.gammainc(np.array(a0), np.array(x0)), float(1 - want_q), rtol=3e-13)


def test_gammainc_edges_like_torch():
    inf, nan = np.inf, np.nan
    a = np.array([0, 0, 0, 1, 1, -1, 2, inf, inf, 2, nan, 1, 0.5, 2, 3])
    x = np.array([0, 1, inf, 0, inf, 1, -1, 1, inf, nan, 1, 1e-300, 1e-320, 1e300, 0.0])
    for ours, theirs in [(M.gammainc, TS.gammainc), (M.gammaincc, TS.gammaincc)]:
        got = ours(mc.tensor(a), mc.tensor(x)).numpy()
        want = theirs(torch.tensor(a), torch.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    # Q(a, 1) ~ a E1(1) for tiny a: torch's gives 8e-301 at a = 1e-300 (3.6x too large), ours the value
    np.testing.assert_allclose(
        K.gammainc(np.array(1e-300), np.array(1.0), upper=True), 1e-300 * ss.exp1(1.0), rtol=1e-14
    )


def test_gammainc_gradients_methods_and_inplace():
    a, x = np.array([0.5, 2.0, 7.5]), np.array([0.3, 2.5, 6.0])
    for ours, theirs, up in [(M.gammainc, TS.gammainc, False), (M.gammaincc, TS.gammaincc, True)]:
        fx = lambda v, ours=ours: ours(mc.tensor(a), v)  # noqa: E731
        assert mc.gradcheck(fx, [mc.tensor(x, requires_grad=True)])
        assert mc.gradgradcheck(fx, [mc.tensor(x, requires_grad=True)])
        double_backward_like_torch(ours, theirs, [a, x], grad_inputs=[False, True], rtol=1e-8, atol=1e-12)
        with pytest.raises(NotImplementedError, match="igammac?: input' is not implemented"):  # (torch's type)
            ours(mc.tensor(a, requires_grad=True), mc.tensor(x)).sum().backward()
        method = mc.tensor(a).igammac if up else mc.tensor(a).igamma
        np.testing.assert_allclose(
            method(mc.tensor(x)).numpy(), (ss.gammaincc if up else ss.gammainc)(a, x), rtol=1e-13
        )
        top = mc.igammac if up else mc.igamma
        np.testing.assert_allclose(top(mc.tensor(a), mc.tensor(x)).numpy(), method(mc.tensor(x)).numpy())
        t = mc.tensor(a)
        assert (t.igammac_ if up else t.igamma_)(mc.tensor(x)) is t
        np.testing.assert_allclose(t.numpy(), method(mc.tensor(x)).numpy())
        xg = mc.tensor(x, requires_grad=True)
        t = mc.tensor(a) * 1.0
        (t.igammac_ if up else t.igamma_)(xg).sum().backward()
        tx = torch.tensor(x, requires_grad=True)
        theirs(torch.tensor(a), tx).sum().backward()
        np.testing.assert_allclose(xg.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert M.gammainc(mc.tensor([2]), mc.tensor([3])).dtype == np.float32  # (torch refuses integers)
    assert M.gammainc(mc.tensor([2.0], dtype=mc.float32), 3.0).dtype == np.float32


# -- the orthogonal polynomials ----------------------------------------------------------------------

POLYNOMIALS = [
    "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
    "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
    "legendre_polynomial_p",
]  # fmt: skip


@pytest.mark.parametrize("name", POLYNOMIALS)
@settings(max_examples=10, deadline=None)
@given(shapes=broadcastable_shapes(shape=(4, 3), min_dims=0, max_dims=2), seed=st.integers(0, 2**16))
def test_polynomials_like_torch(name, shapes, seed):
    rng = _rng(seed)
    ends = np.array([-1.0, 1.0, 0.0, 0.5, 2.0, -2.0, np.nan, np.inf])
    x = np.where(rng.random((4, 3)) < 0.2, rng.choice(ends, (4, 3)), rng.uniform(-1.3, 1.3, (4, 3)))
    n = rng.integers(-2, 26, shapes)
    ours, theirs = getattr(M, name), getattr(TS, name)
    for dtype, rtol in [(np.float64, 1e-10), (np.float32, 2e-4)]:
        got = ours(mc.tensor(x.astype(dtype)), mc.tensor(n))
        want = theirs(torch.tensor(x.astype(dtype)), torch.tensor(n))
        assert got.dtype == dtype and got.shape == tuple(want.shape)
        scale = np.maximum(1.0, np.abs(np.nan_to_num(want.numpy(), posinf=0, neginf=0)))
        # near a root p_n is a difference of recurrence terms up to ~2n max_k |p_k|: allow 8 ulps of
        # those (float32 H_14(0.8787) = -1217.28 from terms of 8.5e6: torch -1217.52, ours -1218.0)
        xb, nb = np.broadcast_arrays(x.astype(dtype).astype(np.float64), n)
        every = theirs(torch.tensor(xb[..., None]), torch.arange(26)).numpy()  # degrees 0 .. 25
        every = np.where((np.arange(26) <= nb[..., None]) & np.isfinite(every), np.abs(every), 0.0)
        terms = 2 * np.maximum(nb, 1) * every.max(axis=-1)
        scale = np.maximum(scale, terms * 8 * np.finfo(dtype).eps / rtol)
        np.testing.assert_allclose(got.numpy() / scale, want.numpy() / scale, rtol=0, atol=rtol)
    for n0 in (-1, 0, 1, 7, 12):  # a scalar degree, and float degrees (truncated, as torch's)
        np.testing.assert_allclose(
            ours(mc.tensor(x), n0).numpy(), theirs(torch.tensor(x), n0).numpy(), rtol=1e-10, atol=1e-12
        )
    nf = n + 0.7
    np.testing.assert_allclose(
        ours(mc.tensor(x), mc.tensor(nf)).numpy(),
        theirs(torch.tensor(x), torch.tensor(nf)).numpy(),
        rtol=1e-10,
        atol=1e-12,
    )


def test_polynomials_dtypes_and_scalar_input_like_torch():
    for name in POLYNOMIALS:
        ours, theirs = getattr(M, name), getattr(TS, name)
        for args in [((1, 2, 3), (3, 4, 5)), (0.25, (3, 4))]:
            mx = mc.tensor(args[0]) if isinstance(args[0], tuple) else args[0]
            tx = torch.tensor(args[0]) if isinstance(args[0], tuple) else args[0]
            got, want = ours(mx, mc.tensor(args[1])), theirs(tx, torch.tensor(args[1]))
            assert got.dtype == np.dtype(str(want.dtype).replace("torch.", "")), name
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_degree_beyond_int64_is_negative_like_torch(name):
    """torch casts a float degree to int64; NaN, +-inf and |n| >= 2^63 become INT64_MIN (x86), a
    negative degree, so 0 at once (minicnn clipped 1e30 to 2^62 and ran the recurrence forever)."""
    x = np.array([0.0, 0.5, 1.0, -1.0, 2.0, 0.3, 0.7])
    n = np.array([1e30, -1e30, 9.3e18, np.inf, np.nan, -np.inf, 5.0])
    got = getattr(M, name)(mc.tensor(x), mc.tensor(n)).numpy()
    want = getattr(TS, name)(torch.tensor(x), torch.tensor(n)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_chebyshev_trig_branch_against_mpmath():
    """Large degrees: torch's cos(n acos x) form keeps T_n exact where the recurrence would not."""
    x = np.linspace(-0.999, 0.999, 41)
    got = KP.chebyshev_t(x, np.full_like(x, 500))
    with mpmath.workdps(30):
        want = np.array([float(mpmath.chebyt(500, v)) for v in x])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_polynomial_cost_bounded_at_large_degree(monkeypatch):
    """A huge degree costs no recurrence passes where torch's closed forms apply (|y| < 1, the ends),
    and the recurrence stops once every stepping element has overflowed to NaN (as torch's values)."""
    passes = []
    real = KP._recurrence

    def counted(xp, x, n, p1, step):
        def step_counted(k, q, p):
            passes.append(k)
            if len(passes) > 20000:
                raise AssertionError("the recurrence runs on to the full degree")
            return step(k, q, p)

        return real(xp, x, n, p1, step_counted)

    monkeypatch.setattr(KP, "_recurrence", counted)
    x = np.array([-0.999, -0.3, 0.0, 0.41, 0.999, 1.0, -1.0])
    for name in POLYNOMIALS[:8]:
        xs = (x + 1) / 2 if name.startswith("shifted") else x  # (|2x - 1| <= 1)
        for n in (10**9, 10**9 + 1):
            passes.clear()
            got = getattr(M, name)(mc.tensor(xs), n).numpy()
            want = getattr(TS, name)(torch.tensor(xs), n).numpy()
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)  # (cos(n theta): n ulp of theta)
            assert not passes, name
    for name, x0 in (("chebyshev_polynomial_t", 1.5), ("shifted_chebyshev_polynomial_u", -0.2)):
        for name_n in (10**6, 10**6 + 1):  # (1.5 and 2 (-0.2) - 1 = -1.4: the recurrence, NaN by ~800)
            passes.clear()
            got = getattr(M, name)(mc.tensor(np.array([x0, 0.3])), name_n).numpy()
            want = getattr(TS, name)(torch.tensor([x0, 0.3], dtype=torch.float64), name_n).numpy()
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-8)
            assert len(passes) < 2000
    for name in ("hermite_polynomial_h", "hermite_polynomial_he"):
        passes.clear()
        got = getattr(M, name)(mc.tensor([-2.0, 0.5, 3.0]), 10**6).numpy()
        want = getattr(TS, name)(torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64), 10**6).numpy()
        assert np.isnan(got).all() and np.isnan(want).all() and len(passes) < 2000


# -- float32, integers, devices --------------------------------------------------------------------


def test_float32_and_integer_inputs_like_torch():
    x = _rng(5).uniform(0.2, 9, (30,)).astype(np.float32)
    for name, ours, theirs, _, _, _, atol in UNARY:
        got = ours(mc.tensor(x))
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got.numpy(), theirs(torch.tensor(x)).numpy(), rtol=2e-5, atol=max(atol, 1e-6))
        ints = np.array([1, 2, 3])
        got = ours(mc.tensor(ints))
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got.numpy(), theirs(torch.tensor(ints)).numpy(), rtol=2e-6, atol=max(atol, 1e-7))
    a, xx = _gamma_draw(_rng(6), (30,))
    got = M.gammainc(mc.tensor(a.astype(np.float32)), mc.tensor(xx.astype(np.float32)))
    want = TS.gammainc(torch.tensor(a.astype(np.float32)), torch.tensor(xx.astype(np.float32)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-6)


def test_special_namespace_has_every_torch_special_name():
    names = [n for n in dir(torch.special) if not n.startswith("_") and callable(getattr(torch.special, n))]
    missing = [n for n in names if not hasattr(mc.special, n)]
    assert not missing


@pytest.mark.parametrize("device", devices())
def test_families_run_on_device(device):
    x = np.array([0.2, 0.5, 0.7, 3.0, 6.5, 25.0])
    for ours, theirs in [
        (M.erfcx, TS.erfcx),
        (M.bessel_j1, TS.bessel_j1),
        (M.bessel_y0, TS.bessel_y0),
        (M.modified_bessel_k1, TS.modified_bessel_k1),
        (M.scaled_modified_bessel_k0, TS.scaled_modified_bessel_k0),
        (M.spherical_bessel_j0, TS.spherical_bessel_j0),
    ]:
        m = mc.tensor(x, device=device, requires_grad=True)
        y = ours(m)
        y.sum().backward()
        assert m.grad is not None
        np.testing.assert_allclose(y.detach().numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(M.airy_ai(mc.tensor(x - 3, device=device)).numpy(), ss.airy(x - 3)[0], rtol=1e-13)
    a = mc.tensor(x, device=device)
    q = mc.tensor(x[::-1].copy(), device=device, requires_grad=True)
    M.gammainc(a, q).sum().backward()
    np.testing.assert_allclose(M.gammaincc(a, q).detach().numpy(), ss.gammaincc(x, x[::-1]), rtol=1e-12)
    np.testing.assert_allclose(M.zeta(q + 1, a).detach().numpy(), ss.zeta(x[::-1] + 1, x), rtol=1e-13)
    big, near = np.array([1e6, 1e6, 300.0]), np.array([1e6 - 2e3, 1e6 + 500.0, 310.0])  # (Temme's expansion)
    got = M.gammaincc(mc.tensor(big, device=device), mc.tensor(near, device=device)).numpy()
    np.testing.assert_allclose(got, ss.gammaincc(big, near), rtol=1e-13)
    n = mc.tensor(np.array([0, 1, 3, 9, 12, -1]), device=device)
    for name in ("chebyshev_polynomial_u", "shifted_chebyshev_polynomial_w", "hermite_polynomial_he",
                 "laguerre_polynomial_l", "legendre_polynomial_p"):  # fmt: skip
        got = getattr(M, name)(mc.tensor(x / 30, device=device), n)
        want = getattr(TS, name)(torch.tensor(x / 30), torch.tensor([0, 1, 3, 9, 12, -1]))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)


def test_overflowing_polynomials_and_airy_are_quiet_as_torch():
    import warnings

    x = np.linspace(-3e4, 3e4, 41)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy RuntimeWarning for inf/nan arising at large degree
        for name in (
            "hermite_polynomial_h",
            "chebyshev_polynomial_t",
            "laguerre_polynomial_l",
            "legendre_polynomial_p",
        ):
            ours = getattr(mc.special, name)(mc.tensor(x), 300).numpy()
            theirs = getattr(torch.special, name)(torch.tensor(x), 300).numpy()
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, equal_nan=True)
        mc.special.airy_ai(mc.tensor([-1e300, 1e300, np.nan]))


# -- h12_loose: gammainc's edge values with NaN / inf / 0, the gradient for large a --------------

_EDGES = [math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, 2.0, 1e-3]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gammainc_nan_inf_zero_edges_exactly_like_torch(dtype):
    a, x = (np.array(v, dtype=dtype).reshape(-1) for v in np.meshgrid(_EDGES, _EDGES, indexing="ij"))
    for ours, theirs in [(M.gammainc, TS.gammainc), (M.gammaincc, TS.gammaincc)]:
        got = ours(mc.tensor(a), mc.tensor(x)).numpy()
        want = theirs(torch.tensor(a), torch.tensor(x)).numpy()
        edge = ~((a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x))
        np.testing.assert_array_equal(got[edge], want[edge])  # P(nan, 0) = 0, P(nan, inf) = 1, P(inf, nan) = 0, ...
        np.testing.assert_allclose(
            got[~edge], want[~edge], rtol=1e-5 if dtype == np.float32 else 1e-13
        )  # (torch float32: ~4e-6)
        assert got.dtype == want.dtype


@pytest.mark.parametrize("a0", [1e6, 1e12])
def test_gammainc_gradient_for_huge_a_against_mpmath(a0):
    """dP/dx = x^(a-1) e^-x / Gamma(a): torch's formula loses ~a eps (4e-3 relative at a = 1e12)."""
    x = a0 + np.array([-4.0, -1.0, -0.1, 0.0, 0.5, 2.0, 5.0]) * math.sqrt(a0)
    with mpmath.workdps(60):
        want = np.array([float(mpmath.exp((a0 - 1) * mpmath.log(v) - v - mpmath.loggamma(a0))) for v in x.tolist()])
    for ours, sign in [(M.gammainc, 1.0), (M.gammaincc, -1.0)]:
        xt = mc.tensor(x, requires_grad=True)
        ours(mc.tensor(np.full_like(x, a0)), xt).sum().backward()
        np.testing.assert_allclose(xt.grad.numpy(), sign * want, rtol=1e-13)
        xt = mc.tensor(x, requires_grad=True)
        (gx,) = mc.autograd.grad(ours(mc.tensor(np.full_like(x, a0)), xt).sum(), xt, create_graph=True)
        np.testing.assert_allclose(gx.detach().numpy(), sign * want, rtol=1e-13)  # the graph form: the same values


def test_gammainc_density_derivatives_are_those_of_torchs_formula():
    a, x = np.array([0.7, 3.5, 12.0, 40.0]), np.array([0.4, 2.0, 13.0, 37.0])
    torch_form = lambda a, x: torch.exp((a - 1) * torch.log(x) - x - torch.lgamma(a))  # noqa: E731
    compare_with_torch(M.GammaincDensity.apply, torch_form, [a, x], rtol=1e-11, atol=1e-14)
    double_backward_like_torch(M.GammaincDensity.apply, torch_form, [a, x], rtol=1e-7, atol=1e-14)  # (trigamma)
    ins = [mc.tensor(a[:2], requires_grad=True), mc.tensor(x[:2], requires_grad=True)]
    assert mc.gradgradcheck(M.GammaincDensity.apply, ins)
