"""torch's extra elementwise math (ops/special_math.py, ops/math_extra.py, kernels/special.py,
mc.special) against torch (and the kernels against scipy.special, a test-only oracle)."""

from __future__ import annotations

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
    assert mixed(K.digamma(x), ss.digamma(x)) < 1e-13
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
        with pytest.raises(TypeError, match="not implemented for 'Float'"):
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
    with pytest.raises(ValueError, match="greater than"):
        mc.mvlgamma(mc.tensor(x), 3)


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
        if floating and name not in ("sgn", "asinh", "atanh", "arcsinh", "heaviside", "nextafter"):  # (torch: none)
            x = lib.tensor(base, requires_grad=True)
            y = x * 1.5
            getattr(y, f"{name}_")(*conv)
            (y * y).sum().backward()
            out.append(x.grad.numpy())
        results.append(out)
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
