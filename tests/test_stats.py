"""torch's reductions, order statistics, searching and counting (ops/stats.py, ops/search.py,
ops/cdist.py) against torch: values, indices (torch's tie rules where torch is deterministic),
first and second derivatives, float64 gradchecks, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
from minicnn.ops import stats as S

SETTINGS = settings(max_examples=20, deadline=None)
FEW = settings(max_examples=10, deadline=None)
SHAPES = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


def distinct(shape, seed: int) -> np.ndarray:
    """Distinct values (a shuffled grid plus jitter): no ties, no kinks."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) + rng.uniform(0.1, 0.4, n)).reshape(shape) / max(n, 1)


def tied(shape, seed: int, k: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, size=shape).astype(np.float64)


def both(mc_out, t_out) -> None:
    """A (values, indices) pair equal to torch's, field names included."""
    assert type(mc_out).__name__.lower() == type(t_out).__name__ + "result"
    assert mc_out._fields == ("values", "indices")
    np.testing.assert_allclose(mc_out[0].numpy(), t_out[0].numpy(), rtol=1e-12, atol=0)
    np.testing.assert_array_equal(mc_out[1].numpy(), t_out[1].numpy())
    assert mc_out[1].dtype == np.int64


# -- cummax / cummin / logcumsumexp / diff ------------------------------------------------------
@SETTINGS
@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 99), ties=st.booleans())
def test_cummax_cummin_like_torch(shape, data, seed, ties):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = tied(shape, seed) if ties else distinct(shape, seed)
    for name in ("cummax", "cummin"):
        both(getattr(S, name)(mc.tensor(a), dim), getattr(torch, name)(torch.tensor(a), dim))
        compare_with_torch(
            lambda x, n=name: getattr(x, n)(dim).values, lambda x, n=name: getattr(torch, n)(x, dim)[0], [a]
        )


def test_cummax_nan_and_0d():
    a = np.array([1.0, np.nan, 3.0, np.nan, 0.0])
    for name in ("cummax", "cummin"):
        both(getattr(S, name)(mc.tensor(a), 0), getattr(torch, name)(torch.tensor(a), 0))
        both(getattr(S, name)(mc.tensor(2.0), 0), getattr(torch, name)(torch.tensor(2.0), 0))


@SETTINGS
@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 99), scale=st.sampled_from([1.0, 100.0]))
def test_logcumsumexp_like_torch(shape, data, seed, scale):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = np.random.default_rng(seed).normal(size=shape) * scale
    compare_with_torch(lambda x: mc.logcumsumexp(x, dim), lambda x: torch.logcumsumexp(x, dim), [a])


def test_logcumsumexp_no_underflow_and_double_backward():
    a = np.array([-1000.0, 0.0, 5.0, 1000.0])
    np.testing.assert_allclose(S.logcumsumexp(mc.tensor(a), 0).numpy(), torch.logcumsumexp(torch.tensor(a), 0))
    b = np.random.default_rng(1).normal(size=(3, 5))
    double_backward_like_torch(lambda x: S.logcumsumexp(x, 1), lambda x: torch.logcumsumexp(x, 1), [b])
    assert mc.gradgradcheck(lambda x: S.logcumsumexp(x, 0), [mc.tensor(b[:, :2], requires_grad=True)])


def test_logcumsumexp_infinities_keep_other_gradients_finite():
    # an infinite element makes only its own gradient NaN, as torch's (it used to reach every earlier element)
    a = np.array([[1.0, np.nan, 3.0, 2.0], [2.0, 2.0, 2.0, 2.0], [-0.0, 0.0, -1.0, np.inf]])
    compare_with_torch(lambda x: mc.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0), [a])
    b = np.array([[np.inf, np.inf], [-np.inf, -np.inf], [np.inf, -np.inf], [2.0, -np.inf]])
    compare_with_torch(lambda x: mc.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0), [b])
    x = mc.tensor(a[:, 3], requires_grad=True)
    mc.logcumsumexp(x, 0).sum().backward()
    assert np.isfinite(x.grad.numpy()[:2]).all()


@SETTINGS
@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 99))
def test_diff_like_torch(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = data.draw(st.integers(0, 3))
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape)
    d = dim % len(shape)
    pre = rng.normal(size=tuple(2 if i == d else s for i, s in enumerate(shape)))
    app = rng.normal(size=tuple(1 if i == d else s for i, s in enumerate(shape)))
    compare_with_torch(lambda x: mc.diff(x, n, dim), lambda x: torch.diff(x, n, dim), [a])
    compare_with_torch(
        lambda x, p, q: mc.diff(x, n, dim, prepend=p, append=q),
        lambda x, p, q: torch.diff(x, n, dim, prepend=p, append=q),
        [a, pre, app],
    )


def test_diff_bool_and_errors():
    a = np.array([True, False, False, True])
    assert np.array_equal(mc.diff(mc.tensor(a)).numpy(), torch.diff(torch.tensor(a)).numpy())
    with pytest.raises(RuntimeError, match="one-dimensional"):
        mc.diff(mc.tensor(1.0))


def test_diff_order_zero_is_a_new_tensor_with_a_graph_as_torch():
    a = np.array([[1.0, 3.0], [2.0, 5.0]])
    x, t = mc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = mc.diff(x, 0), torch.diff(t, 0)
    assert (y is x, y.requires_grad, y.grad_fn is None, y.is_leaf) == (ty is t, True, ty.grad_fn is None, ty.is_leaf)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    with mc.no_grad(), torch.no_grad():
        assert mc.diff(x, 0).requires_grad == torch.diff(t, 0).requires_grad


# -- median / nanmedian / kthvalue / mode / msort ------------------------------------------------
@SETTINGS
@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 99), keepdim=st.booleans())
def test_selections_with_dim_like_torch(shape, data, seed, keepdim):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(1, shape[dim]))
    a = distinct(shape, seed)  # no ties: torch's indices are then unique
    x, t = mc.tensor(a), torch.tensor(a)
    both(x.median(dim, keepdim), t.median(dim, keepdim))
    both(x.nanmedian(dim, keepdim), t.nanmedian(dim, keepdim))
    both(x.kthvalue(k, dim, keepdim), t.kthvalue(k, dim, keepdim))
    both(x.mode(dim, keepdim), t.mode(dim, keepdim))
    compare_with_torch(lambda x: mc.median(x, dim, keepdim)[0], lambda x: torch.median(x, dim, keepdim)[0], [a])
    compare_with_torch(lambda x: mc.kthvalue(x, k, dim)[0], lambda x: torch.kthvalue(x, k, dim)[0], [a])
    compare_with_torch(lambda x: mc.mode(x, dim)[0], lambda x: torch.mode(x, dim)[0], [a])
    compare_with_torch(mc.msort, torch.msort, [a])


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=10), seed=st.integers(0, 99))
def test_mode_ties_like_torch(shape, seed):
    """torch's mode: the smallest of the most frequent values, at its last index (for slices
    up to 16 long, where torch's CPU sort keeps equal values in order)."""
    a = tied(shape, seed, k=4)
    both(mc.mode(mc.tensor(a), -1), torch.mode(torch.tensor(a), -1))
    compare_with_torch(lambda x: mc.mode(x, 0).values, lambda x: torch.mode(x, 0).values, [a])


@SETTINGS
@given(shape=SHAPES, seed=st.integers(0, 99), nan=st.booleans())
def test_median_whole_shares_gradient_like_torch(shape, seed, nan):
    a = tied(shape, seed)
    if nan:
        a.flat[seed % a.size] = np.nan
    for name in ("median", "nanmedian"):
        if nan and name == "median":
            x = mc.tensor(a, requires_grad=True)
            t = torch.tensor(a, requires_grad=True)
            getattr(mc, name)(x).backward()
            getattr(torch, name)(t).backward()
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
            continue
        compare_with_torch(getattr(mc, name), getattr(torch, name), [a])


def test_selection_ties_values_and_nan_rules():
    a = tied((4, 9), 3)
    x, t = mc.tensor(a), torch.tensor(a)
    for k in (1, 4, 9):  # the values agree; the index points at an equal value (torch's is unspecified)
        mv, mi = x.kthvalue(k, 1)
        np.testing.assert_array_equal(mv.numpy(), t.kthvalue(k, 1).values.numpy())
        np.testing.assert_array_equal(np.take_along_axis(a, mi.numpy()[:, None], 1)[:, 0], mv.numpy())
    n = np.nan
    b = np.array([[1.0, n, 3, n, 0], [n, n, n, n, n], [2, 1, 0, 5, 4]])
    for name in ("median", "nanmedian"):
        both(getattr(mc, name)(mc.tensor(b[::2]), 1), getattr(torch, name)(torch.tensor(b[::2]), 1))
        m, t = getattr(mc, name)(mc.tensor(b[1]), 0), getattr(torch, name)(torch.tensor(b[1]), 0)
        assert np.isnan(m.values.item()) and np.isnan(t.values.item())  # (which NaN's index: unspecified)
        np.testing.assert_array_equal(getattr(mc, name)(mc.tensor(b)).numpy(), getattr(torch, name)(torch.tensor(b)))
    both(mc.kthvalue(mc.tensor(b), 5, 1), torch.kthvalue(torch.tensor(b), 5, 1))
    both(mc.median(mc.tensor(2.5), 0), torch.median(torch.tensor(2.5), 0))
    with pytest.raises(RuntimeError, match="out of range"):  # torch's RuntimeError
        mc.kthvalue(mc.tensor(a), 10, 1)
    with pytest.raises(RuntimeError, match="out of range"):
        torch.kthvalue(torch.tensor(a), 10, 1)


def test_selection_gradchecks():
    a = distinct((3, 4), 5)
    x = mc.tensor(a, requires_grad=True)
    assert mc.gradcheck(lambda x: x.median(1)[0], [x])
    assert mc.gradcheck(lambda x: x.kthvalue(2, 0)[0], [x])
    assert mc.gradcheck(lambda x: x.cummax(1)[0], [x])
    assert mc.gradcheck(lambda x: x.median(), [x])
    double_backward_like_torch(lambda x: x.median(1)[0] ** 2, lambda x: x.median(1)[0] ** 2, [a])
    double_backward_like_torch(lambda x: x.cummin(0)[0] ** 3, lambda x: x.cummin(0)[0] ** 3, [a])


# -- quantile --------------------------------------------------------------------------------
INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


@SETTINGS
@given(
    shape=SHAPES,
    data=st.data(),
    seed=st.integers(0, 99),
    keepdim=st.booleans(),
    interpolation=st.sampled_from(INTERPOLATIONS),
    vector=st.booleans(),
)
def test_quantile_like_torch(shape, data, seed, keepdim, interpolation, vector):
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    qs = data.draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 1.0]), min_size=1, max_size=3))
    a = distinct(shape, seed)
    for name in ("quantile", "nanquantile"):
        if vector:
            compare_with_torch(
                lambda x, q, n=name: getattr(mc, n)(x, q, dim, keepdim, interpolation=interpolation),
                lambda x, q, n=name: getattr(torch, n)(x, q, dim, keepdim, interpolation=interpolation),
                [a, np.array(qs)],
                grad_inputs=[True, True],  # q's gradient too (linear: the rank's slope times the gap)
            )
        else:
            compare_with_torch(
                lambda x, n=name: getattr(mc, n)(x, qs[0], dim, keepdim, interpolation=interpolation),
                lambda x, n=name: getattr(torch, n)(x, qs[0], dim, keepdim, interpolation=interpolation),
                [a],
            )


def test_quantile_nan_float32_and_errors():
    n = np.nan
    a = np.array([[1.0, n, 3, 2], [n, n, n, n], [4, 0, 1, 2]], dtype=np.float32)
    for name in ("quantile", "nanquantile"):
        for interp in INTERPOLATIONS:
            m = getattr(mc, name)(mc.tensor(a), mc.tensor(np.array([0.3, 0.5], np.float32)), 1, interpolation=interp)
            t = getattr(torch, name)(torch.tensor(a), torch.tensor([0.3, 0.5]), 1, interpolation=interp)
            assert m.dtype == np.float32
            np.testing.assert_array_equal(m.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="range"):
        mc.quantile(mc.tensor(a), 1.5)
    with pytest.raises(RuntimeError, match="float or double"):
        mc.quantile(mc.tensor(np.arange(3)), 0.5)
    with pytest.raises(ValueError, match="interpolation"):
        mc.quantile(mc.tensor(a), 0.5, interpolation="cubic")


def test_quantile_gradcheck_and_double_backward():
    a = distinct((3, 5), 2)
    q = mc.tensor(np.array([0.2, 0.5, 0.9]))
    assert mc.gradcheck(lambda x: mc.quantile(x, q, 1), [mc.tensor(a, requires_grad=True)])
    qs = mc.tensor(np.array([0.2, 0.55, 0.9]), requires_grad=True)  # ranks 0.8, 2.2, 3.6: away from the kinks
    assert mc.gradcheck(lambda q: mc.quantile(mc.tensor(a), q, 1), [qs])
    assert mc.gradcheck(lambda q: mc.nanquantile(mc.tensor(a), q, 1), [qs])
    double_backward_like_torch(lambda x: mc.quantile(x, 0.3, 0) ** 2, lambda x: torch.quantile(x, 0.3, 0) ** 2, [a])


# -- aminmax, moments, renorm -----------------------------------------------------------------
@SETTINGS
@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 99), keepdim=st.booleans())
def test_aminmax_and_moments_like_torch(shape, data, seed, keepdim):
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    a = tied(shape, seed)  # ties share the gradient, as torch's
    for i in (0, 1):
        compare_with_torch(
            lambda x, i=i: mc.aminmax(x, dim=dim, keepdim=keepdim)[i],
            lambda x, i=i: torch.aminmax(x, dim=dim, keepdim=keepdim)[i],
            [a],
        )
    assert mc.aminmax(mc.tensor(a))._fields == ("min", "max")
    b = np.random.default_rng(seed).normal(size=shape)
    correction = data.draw(st.sampled_from([0, 1]))
    if (b.size if dim is None else b.shape[dim]) > correction:
        for name in ("std_mean", "var_mean"):
            for i in (0, 1):
                compare_with_torch(
                    lambda x, n=name, i=i: getattr(mc, n)(x, dim, correction=correction, keepdim=keepdim)[i],
                    lambda x, n=name, i=i: getattr(torch, n)(x, dim, correction=correction, keepdim=keepdim)[i],
                    [b],
                )


def test_std_mean_unbiased_overload():
    a = np.random.default_rng(0).normal(size=(3, 4))
    for name in ("std_mean", "var_mean"):
        m, t = getattr(mc, name)(mc.tensor(a), 1, False, True), getattr(torch, name)(torch.tensor(a), 1, False, True)
        for u, v in zip(m, t):
            np.testing.assert_allclose(u.numpy(), v.numpy())


@SETTINGS
@given(
    shape=array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4),
    data=st.data(),
    seed=st.integers(0, 99),
    p=st.sampled_from([1.0, 2.0, 3.0, 1.5]),
    maxnorm=st.sampled_from([0.5, 1.0, 5.0]),
)
def test_renorm_like_torch(shape, data, seed, p, maxnorm):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = np.random.default_rng(seed).normal(size=shape)
    compare_with_torch(lambda x: x.renorm(p, dim, maxnorm), lambda x: x.renorm(p, dim, maxnorm), [a])


def test_renorm_gradchecks_and_inplace():
    a = np.random.default_rng(3).normal(size=(3, 4))
    assert mc.gradcheck(lambda x: mc.renorm(x, 2, 0, 1.0), [mc.tensor(a, requires_grad=True)])
    double_backward_like_torch(lambda x: mc.renorm(x, 3, 1, 0.8), lambda x: torch.renorm(x, 3, 1, 0.8), [a])
    x = mc.tensor(a)
    x.renorm_(2, 0, 1.0)
    np.testing.assert_allclose(x.numpy(), torch.tensor(a).renorm_(2, 0, 1.0).numpy())


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, math.inf])
@pytest.mark.parametrize("maxnorm", [0.0, 1.0, 10.0])
def test_renorm_special_rows_like_torch(p, maxnorm):
    """Rows with NaN (kept, gradient passed through as torch's), +-inf, zero norm, and ordinary ones."""
    nan, inf = math.nan, math.inf
    a = np.array([[1.0, nan, 2.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [inf, 1.0, 2.0], [0.1, 0.2, 0.1], [-inf, 1, nan]])
    g = np.arange(18.0).reshape(6, 3) / 7 - 1
    t = torch.tensor(a, requires_grad=True)
    torch.renorm(t, p, 0, maxnorm).backward(torch.tensor(g))
    x = mc.tensor(a, requires_grad=True)
    y = mc.renorm(x, p, 0, maxnorm)
    y.backward(mc.tensor(g))
    np.testing.assert_allclose(y.numpy(), torch.renorm(torch.tensor(a), p, 0, maxnorm).numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


# -- cov / corrcoef -----------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:cov\\(\\). degrees of freedom:UserWarning")
@SETTINGS
@given(
    v=st.integers(1, 4), n=st.integers(2, 6), seed=st.integers(0, 99), one_d=st.booleans(),
    weights=st.sampled_from(["none", "f", "a", "fa"]), correction=st.sampled_from([0, 1, 2]),
)  # fmt: skip
def test_cov_corrcoef_like_torch(v, n, seed, one_d, weights, correction):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n,) if one_d else (v, n))
    fw, aw = rng.integers(1, 4, size=n), rng.uniform(0.5, 2.0, size=n)
    kw = {}
    if "f" in weights:
        kw["fweights"] = fw
    if "a" in weights:
        kw["aweights"] = aw
    total = (fw if "f" in weights else np.ones(n)).sum()
    if total <= correction * (2 if "a" in weights else 1):
        return  # degrees of freedom <= 0 (checked in test_cov_errors)

    def ours(x, *w):
        return mc.cov(x, correction=correction, **{k: mc.tensor(v) for k, v in kw.items()})

    def theirs(x, *w):
        return torch.cov(x, correction=correction, **{k: torch.tensor(v) for k, v in kw.items()})

    compare_with_torch(ours, theirs, [a])
    if "a" in weights:  # the gradient also flows into aweights
        compare_with_torch(
            lambda x, w: mc.cov(x, correction=correction, aweights=w),
            lambda x, w: torch.cov(x, correction=correction, aweights=w),
            [a, aw],
        )
    compare_with_torch(mc.corrcoef, torch.corrcoef, [a])


def test_cov_gradchecks_and_errors():
    a = np.random.default_rng(4).normal(size=(2, 5))
    w = np.random.default_rng(5).uniform(0.5, 2, size=5)
    assert mc.gradcheck(lambda x, w: mc.cov(x, aweights=w), [mc.tensor(a, requires_grad=True), mc.tensor(w)])
    assert mc.gradcheck(mc.corrcoef, [mc.tensor(a, requires_grad=True)])
    double_backward_like_torch(lambda x: mc.cov(x), lambda x: torch.cov(x), [a])
    double_backward_like_torch(mc.corrcoef, torch.corrcoef, [a])
    with pytest.raises(RuntimeError, match="two or fewer"):
        mc.cov(mc.tensor(np.zeros((2, 2, 2))))
    with pytest.raises(RuntimeError, match="negative"):
        mc.cov(mc.tensor(a), fweights=mc.tensor(np.array([1, -1, 1, 1, 1])))
    with pytest.warns(UserWarning, match="degrees of freedom"):
        mc.cov(mc.tensor(np.ones((2, 1))))


# -- trapezoid ----------------------------------------------------------------------------------
@SETTINGS
@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 99), form=st.sampled_from(["x1", "xfull", "dx", "none"]))
def test_trapezoid_like_torch(shape, data, seed, form):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    y = rng.normal(size=shape)
    for name in ("trapezoid", "cumulative_trapezoid", "trapz"):
        ours, theirs = getattr(mc, name), getattr(torch, name)
        if form == "x1":
            x = np.sort(rng.normal(size=shape[dim]))
            compare_with_torch(lambda y, x, f=ours: f(y, x, dim=dim), lambda y, x, f=theirs: f(y, x, dim=dim), [y, x])
        elif form == "xfull":
            x = rng.normal(size=shape)
            compare_with_torch(lambda y, x, f=ours: f(y, x, dim=dim), lambda y, x, f=theirs: f(y, x, dim=dim), [y, x])
        elif form == "dx" and name != "trapz":
            compare_with_torch(lambda y, f=ours: f(y, dx=0.7, dim=dim), lambda y, f=theirs: f(y, dx=0.7, dim=dim), [y])
        else:
            compare_with_torch(lambda y, f=ours: f(y, dim=dim), lambda y, f=theirs: f(y, dim=dim), [y])


def test_trapezoid_gradcheck_and_empty():
    y, x = np.random.default_rng(6).normal(size=(2, 4)), np.array([0.0, 0.5, 1.5, 2.0])
    assert mc.gradcheck(
        lambda y, x: mc.trapezoid(y, x), [mc.tensor(y, requires_grad=True), mc.tensor(x, requires_grad=True)]
    )
    assert mc.gradcheck(lambda y: mc.cumulative_trapezoid(y, dx=0.5), [mc.tensor(y, requires_grad=True)])
    double_backward_like_torch(lambda y, x: mc.trapezoid(y, x) ** 2, lambda y, x: torch.trapezoid(y, x) ** 2, [y, x])
    for name in ("trapezoid", "cumulative_trapezoid"):
        assert getattr(mc, name)(mc.zeros(2, 0)).shape == tuple(getattr(torch, name)(torch.zeros(2, 0)).shape)


MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


# -- cdist --------------------------------------------------------------------------------------
@SETTINGS
@given(
    p=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf]),
    b1=st.sampled_from([(), (2,), (1,)]), b2=st.sampled_from([(), (2,)]),
    P=st.integers(1, 4), R=st.integers(1, 4), M=st.integers(1, 3), seed=st.integers(0, 99),
    mode=st.sampled_from(list(MODES)),
    repeat=st.booleans(),
)  # fmt: skip
def test_cdist_like_torch(p, b1, b2, P, R, M, seed, mode, repeat):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=b1 + (P, M)), rng.normal(size=b2 + (R, M))
    if repeat and b1 == b2:  # a zero distance (torch's subgradient 0) and an equal coordinate (p < 1, inf ties)
        x2[..., 0, :] = x1[..., 0, :]
        x1[..., -1, 0] = x2[..., -1, 0]
    compare_with_torch(
        lambda a, b: mc.cdist(a, b, p, mode), lambda a, b: torch.cdist(a, b, p, mode), [x1, x2], atol=1e-9
    )


def test_cdist_large_uses_mm_and_float32():
    rng = np.random.default_rng(7)
    x1, x2 = rng.normal(size=(30, 3)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    compare_with_torch(lambda a, b: mc.cdist(a, b), lambda a, b: torch.cdist(a, b), [x1, x2], dtype=np.float32,
                       rtol=1e-4, atol=1e-4)  # fmt: skip


def test_cdist_gradchecks_and_double_backward():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(2, 2))
    for p in (1.5, 2.0, 3.0, math.inf):
        assert mc.gradcheck(
            lambda x, y, p=p: mc.cdist(x, y, p), [mc.tensor(a, requires_grad=True), mc.tensor(b, requires_grad=True)]
        )
    double_backward_like_torch(  # torch has second derivatives for the matmul form only
        lambda x, y: mc.cdist(x, y, compute_mode="use_mm_for_euclid_dist"),
        lambda x, y: torch.cdist(x, y, compute_mode="use_mm_for_euclid_dist"),
        [a, b],
    )
    for p in (1.0, 3.0):
        assert mc.gradgradcheck(
            lambda x, y, p=p: mc.cdist(x, y, p), [mc.tensor(a, requires_grad=True), mc.tensor(b, requires_grad=True)]
        )
    with pytest.raises(RuntimeError, match="same number of columns"):
        mc.cdist(mc.tensor(a), mc.tensor(np.zeros((2, 3))))
    with pytest.raises(RuntimeError, match="non-negative"):
        mc.cdist(mc.tensor(a), mc.tensor(b), -1)


# -- counting and searching ------------------------------------------------------------------------
def _same(ours, theirs) -> None:
    ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
    assert len(ours) == len(theirs)
    for m, t in zip(ours, theirs):
        assert m.dtype == np.dtype(str(t.dtype).replace("torch.", "")), (m.dtype, t.dtype)
        np.testing.assert_array_equal(m.numpy(), t.numpy())


@SETTINGS
@given(shape=SHAPES, data=st.data(), seed=st.integers(0, 99), inv=st.booleans(), counts=st.booleans())
def test_unique_like_torch(shape, data, seed, inv, counts):
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    a = np.random.default_rng(seed).integers(0, 3, size=shape)
    for x in (a, a.astype(np.float32)):
        _same(mc.unique(mc.tensor(x), True, inv, counts, dim), torch.unique(torch.tensor(x), True, inv, counts, dim))
        _same(
            mc.unique_consecutive(mc.tensor(x), inv, counts, dim),
            torch.unique_consecutive(torch.tensor(x), return_inverse=inv, return_counts=counts, dim=dim),
        )


def test_unique_nan_and_scalar():
    a = np.array([np.nan, 1.0, np.nan, 1.0])
    _same(mc.unique(mc.tensor(a), return_counts=True), torch.unique(torch.tensor(a), return_counts=True))
    _same(mc.tensor(3).unique(), torch.tensor(3).unique())


@SETTINGS
@given(
    n=st.integers(0, 20), seed=st.integers(0, 99), minlength=st.integers(0, 12), w=st.sampled_from([None, "f32", "i"])
)
@example(n=15, seed=71, minlength=0, w="f32")  # float32 weights that cancel in one bin
def test_bincount_like_torch(n, seed, minlength, w):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 8, size=n)
    weights = {None: None, "f32": rng.normal(size=n).astype(np.float32), "i": rng.integers(0, 5, size=n)}[w]
    m = mc.bincount(mc.tensor(a), None if weights is None else mc.tensor(weights), minlength)
    t = torch.bincount(torch.tensor(a), None if weights is None else torch.tensor(weights), minlength)
    assert m.dtype == np.dtype(str(t.dtype).replace("torch.", ""))
    # torch adds float32 weights one by one in float32; minicnn sums in float64 and rounds once. A bin
    # whose weights cancel (seed 71, n 15: 0.0554620623 vs torch's 0.0554621220) differs by up to
    # n * eps32 * sum|w| absolutely, far above rtol times the small result.
    atol = 0.0 if w != "f32" else n * np.finfo(np.float32).eps * float(np.abs(weights).sum())
    np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-6, atol=atol)


@SETTINGS
@given(
    n=st.integers(0, 50), seed=st.integers(0, 99), bins=st.integers(1, 9),
    dtype=st.sampled_from([np.float32, np.float64]),
    rng_kind=st.sampled_from(["data", "given", "edges"]), weighted=st.booleans(), density=st.booleans(),
)  # fmt: skip
def test_histc_histogram_like_torch(n, seed, bins, dtype, rng_kind, weighted, density):
    rng = np.random.default_rng(seed)
    a = (rng.normal(size=n) * 2).astype(dtype)
    lo, hi = -1.5, 2.0
    on_edges = a.copy()
    on_edges[: n // 2] = np.round(a[: n // 2] * 2) / 2  # values on the bin edges and bounds
    _same(mc.histc(mc.tensor(on_edges), bins, lo, hi), torch.histc(torch.tensor(on_edges), bins, lo, hi))
    if n:
        _same(mc.histc(mc.tensor(on_edges), bins), torch.histc(torch.tensor(on_edges), bins))
    w = rng.uniform(0, 2, size=n).astype(dtype) if weighted else None
    kw_m = {"weight": None if w is None else mc.tensor(w), "density": density}
    kw_t = {"weight": None if w is None else torch.tensor(w), "density": density}
    if rng_kind == "edges":
        edges = np.sort(rng.normal(size=bins + 1) * 2).astype(dtype)
        m, t = (
            mc.histogram(mc.tensor(a), mc.tensor(edges), **kw_m),
            torch.histogram(torch.tensor(a), torch.tensor(edges), **kw_t),
        )
    else:
        r = (lo, hi) if rng_kind == "given" else None
        m, t = (
            mc.histogram(mc.tensor(a), bins, range=r, **kw_m),
            torch.histogram(torch.tensor(a), bins, range=r, **kw_t),
        )
    assert m._fields == ("hist", "bin_edges")
    np.testing.assert_allclose(m.hist.numpy(), t.hist.numpy(), rtol=1e-5, equal_nan=True)
    # torch's CPU linspace rounds by SIMD width: the edges agree to an ulp of the range's bounds (an
    # edge near 0 only to that, after lo + i * step cancels); the random data is not on them
    edges_t = t.bin_edges.numpy()
    ulp = np.finfo(dtype).eps * (np.abs(edges_t).max() if edges_t.size else 0.0)
    rtol = 4e-7 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(m.bin_edges.numpy(), edges_t, rtol=rtol, atol=ulp)


@SETTINGS
@given(
    rows=st.sampled_from([(), (2,), (2, 3)]), n=st.integers(0, 7), m=st.integers(0, 5), seed=st.integers(0, 99),
    right=st.booleans(), int32=st.booleans(), use_sorter=st.booleans(), floats=st.booleans(),
)  # fmt: skip
def test_searchsorted_bucketize_like_torch(rows, n, m, seed, right, int32, use_sorter, floats):
    rng = np.random.default_rng(seed)
    seq = np.sort(rng.integers(0, 6, size=rows + (n,)), axis=-1)
    vals = rng.integers(-1, 7, size=rows + (m,))
    if floats:
        seq, vals = seq.astype(np.float64), vals + 0.5 * rng.integers(0, 2, size=vals.shape)
        seq, vals = seq.astype(np.float64), vals.astype(np.float64)
    kw = {"out_int32": int32, "right": right}
    _same(
        mc.searchsorted(mc.tensor(seq), mc.tensor(vals), **kw),
        torch.searchsorted(torch.tensor(seq), torch.tensor(vals), **kw),
    )
    side = "right" if right else "left"
    _same(
        mc.searchsorted(mc.tensor(seq), mc.tensor(vals), side=side),
        torch.searchsorted(torch.tensor(seq), torch.tensor(vals), side=side),
    )
    if use_sorter and n:
        perm = np.argsort(rng.random(seq.shape), axis=-1)
        shuffled, sorter = (
            np.take_along_axis(seq, perm, -1),
            np.argsort(np.take_along_axis(seq, perm, -1), -1, kind="stable"),
        )
        _same(
            mc.searchsorted(mc.tensor(shuffled), mc.tensor(vals), sorter=mc.tensor(sorter), **kw),
            torch.searchsorted(torch.tensor(shuffled), torch.tensor(vals), sorter=torch.tensor(sorter), **kw),
        )
    if not rows:
        grid = rng.integers(-1, 7, size=(2, 3)).astype(seq.dtype)
        _same(
            mc.bucketize(mc.tensor(grid), mc.tensor(seq), **kw),
            torch.bucketize(torch.tensor(grid), torch.tensor(seq), **kw),
        )


@SETTINGS
@given(shape=SHAPES, seed=st.integers(0, 99), invert=st.booleans())
def test_isin_like_torch(shape, seed, invert):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 6, size=shape), rng.integers(0, 6, size=(3,))
    _same(
        mc.isin(mc.tensor(a), mc.tensor(b), invert=invert), torch.isin(torch.tensor(a), torch.tensor(b), invert=invert)
    )
    _same(mc.isin(mc.tensor(a), 2, invert=invert), torch.isin(torch.tensor(a), 2, invert=invert))


def test_search_errors():
    with pytest.raises(RuntimeError, match="opposites"):
        mc.searchsorted(mc.tensor(np.arange(3)), mc.tensor(np.arange(2)), right=True, side="left")
    with pytest.raises(RuntimeError, match="first N-1 dimensions"):
        mc.searchsorted(mc.tensor(np.zeros((2, 3))), mc.tensor(np.zeros((3, 1))))
    with pytest.raises(RuntimeError, match="non-negative"):
        mc.bincount(mc.tensor(np.array([1, -1])))
    with pytest.raises(RuntimeError, match="larger than min"):
        mc.histc(mc.tensor(np.zeros(3)), 4, 2.0, 1.0)
    # torch's exception types: NotImplementedError (a RuntimeError) for an unsupported dtype
    cases = [
        (NotImplementedError, "bincount", np.array([1.0, 2.0]), ()),
        (NotImplementedError, "bincount", np.array([True, False]), ()),
        (RuntimeError, "bincount", np.array([[1, 2]]), ()),
        (NotImplementedError, "histc", np.array([1, 2]), (3,)),
        (NotImplementedError, "histc", np.array([1, 2], dtype=np.uint8), (3,)),
        (RuntimeError, "quantile", np.array([1.0, 2.0]), (0.5, None, False)),
    ]
    for error, name, a, args in cases:
        kwargs = {"interpolation": "cubic"} if name == "quantile" else {}
        with pytest.raises(error):
            getattr(torch, name)(torch.tensor(a), *args, **kwargs)
        with pytest.raises(error):
            getattr(mc, name)(mc.tensor(a), *args, **kwargs)


# -- one small case per family on every device ---------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_families_on_device(device):
    a = distinct((3, 4), 9)
    compare_with_torch(lambda x: x.cummax(1)[0], lambda x: x.cummax(1)[0], [a], device=device)
    compare_with_torch(lambda x: mc.logcumsumexp(x, 0), lambda x: torch.logcumsumexp(x, 0), [a], device=device)
    compare_with_torch(
        lambda x: x.median(0)[0] + x.mode(1)[0].sum() + x.median(),
        lambda x: x.median(0)[0] + x.mode(1)[0].sum() + x.median(),
        [a],
        device=device,
    )
    compare_with_torch(lambda x: mc.quantile(x, 0.3, 1), lambda x: torch.quantile(x, 0.3, 1), [a], device=device)
    compare_with_torch(lambda x: mc.diff(x, 2) + 0, lambda x: torch.diff(x, 2) + 0, [a], device=device)
    compare_with_torch(mc.corrcoef, torch.corrcoef, [a], device=device)
    compare_with_torch(lambda x: mc.renorm(x, 2, 0, 0.5), lambda x: torch.renorm(x, 2, 0, 0.5), [a], device=device)
    compare_with_torch(lambda x: mc.cumulative_trapezoid(x), torch.cumulative_trapezoid, [a], device=device)
    compare_with_torch(
        lambda x, y: mc.cdist(x, y, 1.5), lambda x, y: torch.cdist(x, y, 1.5), [a, a[:2] * 2], device=device
    )
    i = np.array([[1, 2, 2], [0, 2, 2]])
    x = mc.tensor(i, device=device)
    for ours, theirs in zip(
        mc.unique(x, return_inverse=True, return_counts=True, dim=0),
        torch.unique(torch.tensor(i), return_inverse=True, return_counts=True, dim=0),
    ):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(mc.bincount(x[0]).numpy(), torch.bincount(torch.tensor(i[0])).numpy())
    np.testing.assert_array_equal(
        mc.searchsorted(mc.tensor(np.sort(a, 1), device=device), mc.tensor(a, device=device)).numpy(),
        torch.searchsorted(torch.tensor(np.sort(a, 1)), torch.tensor(a)).numpy(),
    )
    np.testing.assert_array_equal(
        mc.histc(mc.tensor(a, device=device), 4).numpy(), torch.histc(torch.tensor(a), 4).numpy()
    )
    np.testing.assert_array_equal(mc.isin(x, 2).numpy(), torch.isin(torch.tensor(i), 2).numpy())


def test_remaining_gradchecks():
    a = distinct((3, 4), 11)
    x = mc.tensor(a, requires_grad=True)
    checks = {
        "diff": lambda x: mc.diff(x, 2, 0, append=x[:1] * 2),
        "mode": lambda x: x.mode(0).values,
        "nanmedian": lambda x: x.nanmedian(1).values + x.nanmedian(),
        "nanquantile": lambda x: mc.nanquantile(x, 0.35, 0, interpolation="midpoint"),
        "aminmax": lambda x: mc.aminmax(x, dim=1).min * mc.aminmax(x, dim=1).max,
        "msort": lambda x: mc.msort(x) ** 2,
        "std_mean": lambda x: mc.std_mean(x, 1)[0] * mc.std_mean(x, 1)[1],
        "var_mean": lambda x: mc.var_mean(x, 0, correction=0)[0] + mc.var_mean(x)[1],
        "logcumsumexp": lambda x: mc.logcumsumexp(x * 3, 1),
    }
    for name, fn in checks.items():
        assert mc.gradcheck(fn, [x]), name


def test_empty_and_integer_inputs():
    assert np.isnan(mc.median(mc.zeros(0)).item()) and np.isnan(torch.median(torch.zeros(0)).item())
    for name in ("median", "nanmedian"):  # NaN in the graph: backward gives an empty gradient, as torch's
        ours, theirs = mc.zeros(2, 0, requires_grad=True), torch.zeros(2, 0, requires_grad=True)
        for x, lib in ((ours, mc), (theirs, torch)):
            out = getattr(lib, name)(x)
            assert out.requires_grad and np.isnan(out.item())
            out.backward()
        assert ours.grad.shape == tuple(theirs.grad.shape) and ours.grad.dtype == np.float32
    i = np.array([[3, 1, 2], [1, 1, 0]])
    for name in ("median", "nanmedian"):
        both(getattr(mc, name)(mc.tensor(i), 1), getattr(torch, name)(torch.tensor(i), 1))
        assert getattr(mc, name)(mc.tensor(i)).item() == getattr(torch, name)(torch.tensor(i)).item()
    both(mc.cummax(mc.tensor(i), 1), torch.cummax(torch.tensor(i), 1))
    both(mc.mode(mc.tensor(i), 1), torch.mode(torch.tensor(i), 1))
    with pytest.raises(NotImplementedError, match="floating point"):  # torch's type (a RuntimeError)
        mc.logcumsumexp(mc.tensor(i), 0)
    with pytest.raises(NotImplementedError):
        torch.logcumsumexp(torch.tensor(i), 0)


def test_median_of_empty_integer_tensor_keeps_its_dtype():
    # torch's NaN converted to the integer dtype (it was a float32 NaN here)
    for dt in ("uint8", "int8", "int16", "int32", "int64"):
        for name in ("median", "nanmedian"):
            ours = getattr(mc, name)(mc.zeros((1, 0), dtype=getattr(mc, dt)))
            theirs = getattr(torch, name)(torch.zeros((1, 0), dtype=getattr(torch, dt)))
            assert (str(ours.dtype), ours.shape, ours.item()) == (dt, (), theirs.item()), (dt, name)


# -- review h11_review_stats: edge cases against torch ----------------------------------------------
def _raises_like_torch(error, ours, theirs) -> None:
    """Both callables raise ``error`` (torch's exception type)."""
    with pytest.raises(error):
        theirs()
    with pytest.raises(error):
        ours()


def _op_raises_like_torch(error, name: str, a: np.ndarray, *args, **kwargs) -> None:
    """``mc.<name>(tensor(a), ...)`` raises ``error`` as ``torch.<name>`` does."""
    _raises_like_torch(
        error,
        lambda: getattr(mc, name)(mc.tensor(a), *args, **kwargs),
        lambda: getattr(torch, name)(torch.tensor(a), *args, **kwargs),
    )


def test_unique_dim_on_empty_and_0d_like_torch():
    for shape, dim in (((0, 3), 0), ((2, 0), 1), ((2, 0, 3), 1), ((2, 0, 3), -2)):
        z = np.zeros(shape)
        for fn in ("unique", "unique_consecutive"):
            ours = getattr(mc, fn)(mc.tensor(z), return_inverse=True, return_counts=True, dim=dim)
            theirs = getattr(torch, fn)(torch.tensor(z), return_inverse=True, return_counts=True, dim=dim)
            for o, t in zip(ours, theirs):
                assert o.shape == tuple(t.shape) and o.dtype == t.numpy().dtype
    for shape, dim in (((0, 3), 1), ((2, 0, 3), 0)):  # an empty dim that is not the selected one
        _op_raises_like_torch(RuntimeError, "unique", np.zeros(shape), dim=dim)
    for shape, dim in (((0, 0), 0), ((2, 0, 0), 1)):  # two empty dims: refused, the selected one among them too
        _op_raises_like_torch(RuntimeError, "unique", np.zeros(shape), dim=dim)
        _op_raises_like_torch(RuntimeError, "unique_consecutive", np.zeros(shape), dim=dim)
    for dim in (0, -1):
        _op_raises_like_torch(IndexError, "unique", np.array(3.0), dim=dim)
        _op_raises_like_torch(IndexError, "unique_consecutive", np.array(3.0), dim=dim)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_nan_boundaries_like_torch(right):
    """A sorted sequence with NaNs at its end (what sort gives): torch's bisection counts a
    NaN boundary as below every value; NaN values go to the end."""
    seq = np.array([1.0, 2.0, 2.0, np.nan, np.nan])
    vals = np.array([[0.0, 2.0, 3.0, np.inf, -np.inf, np.nan]])
    for s, v in ((seq, vals), (np.stack([seq, seq[::-1].copy()]), np.concatenate([vals, vals]))):
        ours = mc.searchsorted(mc.tensor(s), mc.tensor(v if s.ndim > 1 else v[0]), right=right)
        theirs = torch.searchsorted(torch.tensor(s), torch.tensor(v if s.ndim > 1 else v[0]), right=right)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = mc.bucketize(mc.tensor(vals), mc.tensor(seq), right=right)
    np.testing.assert_array_equal(ours.numpy(), torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=right))
    assert (
        mc.searchsorted(mc.tensor(seq), 3.0, right=right).item()
        == torch.searchsorted(torch.tensor(seq), 3.0, right=right).item()
    )


def test_search_and_count_input_errors_like_torch():
    s, v = np.array(1.0), np.array([0.5, 2.0])
    _raises_like_torch(
        RuntimeError,
        lambda: mc.searchsorted(mc.tensor(s), mc.tensor(v)),
        lambda: torch.searchsorted(torch.tensor(s), torch.tensor(v)),
    )
    s, order = np.array([3.0, 1.0, 2.0]), np.array([5, 0, 1])
    _raises_like_torch(
        RuntimeError,
        lambda: mc.searchsorted(mc.tensor(s), mc.tensor(v), sorter=mc.tensor(order)),
        lambda: torch.searchsorted(torch.tensor(s), torch.tensor(v), sorter=torch.tensor(order)),
    )
    _raises_like_torch(
        RuntimeError,
        lambda: mc.histogram(mc.tensor(v), mc.tensor(np.array([1.0]))),
        lambda: torch.histogram(torch.tensor(v), torch.tensor([1.0], dtype=torch.float64)),
    )
    edges = np.array([0.0, 1.0, 2.0])
    _raises_like_torch(
        TypeError,
        lambda: mc.histogram(mc.tensor(v), mc.tensor(edges), range=(0.0, 1.0)),
        lambda: torch.histogram(torch.tensor(v), torch.tensor(edges), range=(0.0, 1.0)),
    )
    b = np.array([True, False, True])
    _op_raises_like_torch(RuntimeError, "bincount", b)
    for name in ("median", "nanmedian"):  # bool: torch's NotImplementedError (a RuntimeError)
        _op_raises_like_torch(NotImplementedError, name, b)
        _op_raises_like_torch(NotImplementedError, name, b, 0)
    _op_raises_like_torch(NotImplementedError, "kthvalue", b, 1)


def test_dim_checks_on_0d_and_empty_like_torch():
    for dim in (1, -2, 5):
        _op_raises_like_torch(IndexError, "logcumsumexp", np.array(2.5), dim)
        _op_raises_like_torch(IndexError, "kthvalue", np.array(2.5), 1, dim)
    for shape, dim in (((0,), 0), ((2, 0, 3), 1)):
        _op_raises_like_torch(IndexError, "kthvalue", np.zeros(shape), 2, dim)
        _op_raises_like_torch(IndexError, "aminmax", np.zeros(shape), dim=dim)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"])
def test_cdist_empty_like_torch(mode):
    for s1, s2 in (((0, 2), (3, 2)), ((3, 0), (4, 0)), ((2, 3, 2), (2, 0, 2)), ((2, 0, 2), (3, 2))):
        a, b = np.ones(s1), np.ones(s2)
        ours = mc.cdist(mc.tensor(a, requires_grad=True), mc.tensor(b), compute_mode=mode)
        theirs = torch.cdist(torch.tensor(a), torch.tensor(b), compute_mode=mode)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        ours.sum().backward()


def test_cumulative_trapezoid_empty_stays_in_graph():
    y = mc.zeros(2, 0, requires_grad=True)
    out = mc.cumulative_trapezoid(y)
    ref = torch.cumulative_trapezoid(torch.zeros(2, 0, requires_grad=True))
    assert out.shape == tuple(ref.shape) and out.requires_grad == ref.requires_grad
