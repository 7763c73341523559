"""torch's remaining top-level ops (minicnn/ops/ops_extra.py, native.py, segment.py) against torch:
gradient, index_reduce, frexp, histogramdd, binomial, feature_dropout, as_strided_scatter /
as_strided_, the native_* forms, norm_except_dim, segment_reduce, embedding_bag's 4-tuple,
embedding_renorm_, convolution, conv_tbc and grid_sampler_2d/3d."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.ops import native as N
from minicnn.ops import ops_extra as E
from minicnn.ops.segment import segment_reduce

SETTINGS = settings(max_examples=25, deadline=None)
FEW = settings(max_examples=10, deadline=None)


def _stack(outs):
    return mc.stack(list(outs), 0) if isinstance(outs[0], mc.Tensor) else torch.stack(list(outs), 0)


# --- gradient --------------------------------------------------------------------------------


@st.composite
def gradient_cases(draw):
    edge = draw(st.sampled_from([1, 2]))
    shape = tuple(draw(st.lists(st.integers(edge + 1, 5), min_size=1, max_size=3)))
    dims = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    n_sp = len(shape) if dims is None else 1
    axes = list(range(len(shape))) if dims is None else [dims % len(shape)]
    kind = draw(st.sampled_from(["default", "scalar", "list", "coords"]))
    if kind == "default":
        spacing = None
    elif kind == "scalar":
        spacing = draw(st.floats(0.25, 3.0))
    elif kind == "list":
        spacing = [draw(st.floats(0.25, 3.0)) for _ in range(n_sp)]
    else:
        spacing = [np.cumsum(draw(st.lists(st.floats(0.3, 2.0), min_size=shape[a], max_size=shape[a]))) for a in axes]
    return shape, dims, spacing, edge, draw(st.integers(0, 99))


def _gradient_fns(dims, spacing, edge):
    coords = isinstance(spacing, list) and isinstance(spacing[0], np.ndarray)

    def mc_fn(x):
        kw = {"edge_order": edge} if dims is None else {"edge_order": edge, "dim": dims}
        if spacing is not None:
            kw["spacing"] = [mc.tensor(s) for s in spacing] if coords else spacing
        return _stack(mc.gradient(x, **kw))

    def torch_fn(x):
        kw = {"edge_order": edge} if dims is None else {"edge_order": edge, "dim": dims}
        if spacing is not None:
            kw["spacing"] = [torch.tensor(s) for s in spacing] if coords else spacing
        return _stack(torch.gradient(x, **kw))

    return mc_fn, torch_fn


@SETTINGS
@given(gradient_cases())
def test_gradient_like_torch(case):
    shape, dims, spacing, edge, seed = case
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(*_gradient_fns(dims, spacing, edge), [x], rtol=1e-7, atol=1e-9)


def test_gradient_checks_and_errors():
    x = mc.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    coords = mc.tensor([0.0, 0.5, 1.5, 3.0])
    assert mc.gradcheck(lambda t: _stack(mc.gradient(t, spacing=[2.0, coords], edge_order=2)), [x])
    assert mc.gradgradcheck(lambda t: mc.gradient(t, dim=1, edge_order=2)[0], [x])
    out = mc.gradient(mc.tensor([1, 4, 9, 16]))[0]  # integers: the default float dtype, as torch
    assert out.dtype == np.float32 and np.allclose(out.numpy(), [3, 4, 6, 7])
    with pytest.raises(RuntimeError, match="edge_order"):
        mc.gradient(mc.ones(3), edge_order=3)
    with pytest.raises(RuntimeError, match="at least edge_order"):
        mc.gradient(mc.ones(2, 2), edge_order=2)
    with pytest.raises(RuntimeError, match="list of length"):
        mc.gradient(mc.ones(3), spacing=[1.0, 2.0])
    with pytest.raises(RuntimeError, match="same length"):
        mc.gradient(mc.ones(3, 3), spacing=[1.0, 2.0], dim=0)


# --- index_reduce ----------------------------------------------------------------------------


@st.composite
def index_reduce_cases(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    k = draw(st.integers(1, 5))
    index = np.array(draw(st.lists(st.integers(0, shape[dim] - 1), min_size=k, max_size=k)), dtype=np.int64)
    src_shape = tuple(k if j == dim % len(shape) else n for j, n in enumerate(shape))
    reduce = draw(st.sampled_from(E.INDEX_REDUCTIONS))
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    if reduce in ("amax", "amin", "prod"):  # small integers: ties, and zeros for prod
        x, s = rng.integers(-2, 3, shape).astype(float), rng.integers(-2, 3, src_shape).astype(float)
    else:
        x, s = rng.standard_normal(shape), rng.standard_normal(src_shape)
    return x, dim, index, s, reduce, draw(st.booleans())


@SETTINGS
@given(index_reduce_cases())
def test_index_reduce_like_torch(case):
    x, dim, index, s, reduce, include_self = case
    compare_with_torch(
        lambda a, i, b: mc.index_reduce(a, dim, i, b, reduce, include_self=include_self),
        lambda a, i, b: torch.index_reduce(a, dim, i, b, reduce, include_self=include_self),
        [x, index, s],
    )


def test_index_reduce_method_inplace_and_errors():
    rng = np.random.default_rng(1)
    x, s = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    idx = np.array([0, 2, 2, 3, 0])
    for reduce in E.INDEX_REDUCTIONS:
        m = mc.tensor(x).index_reduce_(0, mc.tensor(idx), mc.tensor(s), reduce, include_self=False)
        t = torch.tensor(x).index_reduce_(0, torch.tensor(idx), torch.tensor(s), reduce, include_self=False)
        np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-12)
    xs, ss = [mc.tensor(a, requires_grad=True) for a in (x, s)]
    for reduce in E.INDEX_REDUCTIONS:  # no ties (continuous data): the numerical checks are valid
        fn = lambda a, b, r=reduce: a.index_reduce(0, mc.tensor(idx), b, r)  # noqa: E731
        assert mc.gradcheck(fn, [xs, ss])
        assert mc.gradgradcheck(fn, [xs, ss])
    with pytest.raises(RuntimeError, match="index_reduce.*reduce"):
        mc.index_reduce(mc.tensor(x), 0, mc.tensor(idx), mc.tensor(s), "sum")
    with pytest.raises(IndexError, match="index_reduce.*out of bounds"):
        mc.index_reduce(mc.tensor(x), 0, mc.tensor([0, 1, 2, 3, 4]), mc.tensor(s), "prod")
    with pytest.raises(RuntimeError, match="index_reduce.*source"):
        mc.index_reduce(mc.tensor(x), 0, mc.tensor(idx), mc.tensor(s[:, :2]), "prod")


# --- frexp, histogramdd, binomial ------------------------------------------------------------


def test_frexp_like_torch():
    a = np.array([0.0, 3.0, -5.0, 1e-310, 7.5e20, np.inf, -np.inf, np.nan, 0.5, -1.0])
    for dtype in (np.float32, np.float64):
        m, e = mc.frexp(mc.tensor(a.astype(dtype)))
        tm, te = torch.frexp(torch.tensor(a.astype(dtype)))
        assert e.dtype == np.int32 and m.dtype == dtype
        np.testing.assert_array_equal(m.numpy(), tm.numpy())
        np.testing.assert_array_equal(e.numpy(), te.numpy())
    x = np.random.default_rng(2).standard_normal((3, 4)) * 10
    compare_with_torch(lambda t: t.frexp()[0], lambda t: torch.frexp(t)[0], [x])
    assert mc.gradcheck(lambda t: mc.frexp(t).mantissa, [mc.tensor(x, requires_grad=True)])
    with pytest.raises(RuntimeError, match="floating"):
        mc.frexp(mc.tensor([1, 2]))


@st.composite
def histogramdd_cases(draw):
    D = draw(st.integers(1, 3))
    lead = tuple(draw(st.lists(st.integers(0, 6), min_size=1, max_size=2)))
    kind = draw(st.sampled_from(["int", "list", "edges"]))
    bins = draw(st.integers(1, 4)) if kind == "int" else [draw(st.integers(1, 4)) for _ in range(D)]
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    if kind == "edges":
        bins = [np.sort(rng.uniform(-2, 2, n + 1)) for n in bins]
    rng_ = None if kind == "edges" or not draw(st.booleans()) else [v for _ in range(D) for v in (-1.0, 1.5)]
    weight = rng.uniform(0, 2, lead) if draw(st.booleans()) else None
    return rng.standard_normal((*lead, D)), bins, rng_, weight, draw(st.booleans())


@SETTINGS
@given(histogramdd_cases())
def test_histogramdd_like_torch(case):
    x, bins, range_, weight, density = case
    for dtype in (np.float32, np.float64):
        edges = isinstance(bins, list) and isinstance(bins[0], np.ndarray)
        mb = [mc.tensor(b.astype(dtype)) for b in bins] if edges else bins
        tb = [torch.tensor(b.astype(dtype)) for b in bins] if edges else bins
        mw = None if weight is None else mc.tensor(weight.astype(dtype))
        tw = None if weight is None else torch.tensor(weight.astype(dtype))
        h, edges = mc.histogramdd(mc.tensor(x.astype(dtype)), mb, range=range_, weight=mw, density=density)
        th, tedges = torch.histogramdd(torch.tensor(x.astype(dtype)), tb, range=range_, weight=tw, density=density)
        assert h.dtype == dtype and len(edges) == len(tedges)
        np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-5, atol=1e-6, equal_nan=True)
        for e, te in zip(edges, tedges):
            np.testing.assert_allclose(e.numpy(), te.numpy(), rtol=1e-6)


def test_histogramdd_errors():
    with pytest.raises(RuntimeError, match="histogramdd.*floating"):
        mc.histogramdd(mc.tensor([[1, 2]]), 2)
    with pytest.raises(RuntimeError, match="histogramdd.*2 sequences"):
        mc.histogramdd(mc.ones(3, 2), [2, 2, 2])
    with pytest.raises(RuntimeError, match="histogramdd.*range"):
        mc.histogramdd(mc.ones(3, 2), 2, range=[0.0, 1.0])


def test_binomial_moments_and_generator():
    mc.manual_seed(0)
    n, p = 20.0, 0.3
    draws = mc.binomial(mc.full((40000,), n), mc.full((40000,), p)).numpy()
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= set(range(21))
    # mean n p = 6, variance n p (1 - p) = 4.2 (a Poisson(6) would give 6; standard errors ~0.01 and ~0.04)
    assert abs(draws.mean() - 6.0) < 0.06 and abs(draws.var() - 4.2) < 0.2
    assert abs(((draws - 6.0) ** 3).mean() - n * p * (1 - p) * (1 - 2 * p)) < 0.4  # third central moment 1.68
    g1, g2 = mc.Generator().manual_seed(5), mc.Generator().manual_seed(5)
    c, q = mc.tensor([3.0, 10.0, 0.0]), mc.tensor([0.5, 1.0, 0.2])
    a, b = mc.binomial(c, q, generator=g1), mc.binomial(c, q, generator=g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.numpy()[1] == 10.0 and a.numpy()[2] == 0.0
    with pytest.raises(RuntimeError, match="binomial"):  # torch's sampler never returns there
        mc.binomial(mc.tensor([0.5, np.nan, 0.2]), q)
    with pytest.raises(TypeError, match="binomial"):
        mc.binomial(mc.tensor([1, 2]), mc.tensor([0.5, 0.5]))


@pytest.mark.parametrize("shapes", [((3,), (1,)), ((1,), (3,)), ((2, 1), (3,)), ((3,), (2, 1)), ((), (3,)), ((3,), ())])
def test_binomial_broadcasts_like_torch(shapes):
    c, p = shapes
    results = []
    for lib in (mc, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = lib.binomial(lib.full(c, 3.0), lib.full(p, 0.5))
        resized = [w for w in caught if "resized" in str(w.message)]
        results.append((tuple(r.shape), len(resized), set(np.unique(np.asarray(r.tolist()))) <= {0.0, 1.0, 2.0, 3.0}))
    assert results[0] == results[1]
    with pytest.raises(RuntimeError, match="binomial.*broadcast"):
        mc.binomial(mc.ones(2), mc.ones(3))


def test_binomial_edge_values_and_fractional_counts_like_torch():
    count = [-1.0, 3.0, 3.0, 3.0, 0.0, -np.inf, 2.7, 2.7, 0.0]
    prob = [0.5, np.nan, 1.5, -0.5, np.nan, 0.5, 1.0, 0.0, 1.0]
    ours = mc.binomial(mc.tensor(count), mc.tensor(prob)).numpy()
    np.testing.assert_array_equal(ours, torch.binomial(torch.tensor(count), torch.tensor(prob)).numpy())
    # a fractional count at 0 < p < 1: k ~ Binomial(floor(count), q), count - k above p = 0.5 (torch's sampler)
    mc.manual_seed(1)
    torch.manual_seed(1)
    c = np.float32(2.7)
    for p, law in ((0.9, {c - 2: 0.01, c - 1: 0.18, c: 0.81}), (0.3, {0.0: 0.49, 1.0: 0.42, 2.0: 0.09})):
        ours = mc.binomial(mc.full((20000,), 2.7), mc.full((20000,), p)).numpy()
        theirs = torch.binomial(torch.full((20000,), 2.7), torch.full((20000,), p)).numpy()
        assert set(np.unique(ours)) == set(np.unique(theirs)) == {np.float32(v) for v in law}
        for v, f in law.items():  # standard errors < 0.004
            assert abs((ours == np.float32(v)).mean() - f) < 0.015 and abs((theirs == np.float32(v)).mean() - f) < 0.015


def test_binomial_result_requires_grad_but_has_no_derivative_like_torch():
    for lib in (mc, torch):
        count = lib.tensor([3.0, 4.0], requires_grad=True)
        r = lib.binomial(count, lib.tensor([0.5, 0.5]))
        assert r.requires_grad
        with pytest.raises(RuntimeError, match="derivative for .*binomial.* is not implemented"):
            r.sum().backward()
        assert not lib.binomial(lib.tensor([3.0]), lib.tensor([0.5])).requires_grad


# --- feature_dropout, as_strided_scatter, as_strided_ -----------------------------------------


def test_feature_dropout():
    mc.manual_seed(3)
    x = mc.tensor(np.random.default_rng(0).standard_normal((8, 16, 3, 2)), requires_grad=True)
    y = mc.feature_dropout(x, 0.25, True)
    ratio = y.detach().numpy() / x.detach().numpy()
    per_channel = ratio.reshape(8, 16, -1)
    assert np.allclose(per_channel, per_channel[..., :1])  # one decision per (n, c)
    assert set(np.round(np.unique(per_channel), 6)) <= {0.0, round(1 / 0.75, 6)}
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ratio)
    assert mc.feature_dropout(x, 0.5, False) is x
    z = mc.tensor(np.ones((4, 6, 5)))
    assert mc.feature_dropout_(z, 0.5, True) is z and set(np.unique(z.numpy())) <= {0.0, 2.0}
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        mc.feature_dropout(mc.ones(5), 0.5, True)


@st.composite
def as_strided_cases(draw):
    n = draw(st.integers(4, 12))
    size = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    stride = tuple(draw(st.integers(1, 3)) for _ in size)
    span = sum((a - 1) * b for a, b in zip(size, stride)) + 1
    offset = draw(st.integers(0, 2))
    if span + offset > n:
        n = span + offset
    injective = draw(st.booleans())
    if injective:  # distinct positions: the gradient is defined
        stride = tuple(int(np.prod(size[k + 1 :])) for k in range(len(size)))
        n = max(n, int(np.prod(size)) + offset)
    return n, size, stride, offset, draw(st.integers(0, 99)), injective


@SETTINGS
@given(as_strided_cases())
def test_as_strided_scatter_like_torch(case):
    n, size, stride, offset, seed, _ = case
    rng = np.random.default_rng(seed)
    x, s = rng.standard_normal((n,)), rng.standard_normal(size)
    m = mc.tensor(x).as_strided_(size, stride, offset)
    np.testing.assert_array_equal(m.numpy(), torch.tensor(x).as_strided_(size, stride, offset).numpy())
    positions = np.arange(n)[offset:]
    positions = np.lib.stride_tricks.as_strided(positions, size, [k * positions.itemsize for k in stride]).ravel()
    if len(set(positions.tolist())) < positions.size:  # overlapping writes: which one wins is unspecified
        return
    compare_with_torch(  # torch 2.14's gradient of input is wrong (it fails torch's gradcheck): src's only
        lambda a, b: mc.as_strided_scatter(a.reshape(1, n), b, size, stride, offset),
        lambda a, b: torch.as_strided_scatter(a.reshape(1, n), b, size, stride, offset),
        [x, s],
        grad_inputs=[False, True],
    )
    xm = mc.tensor(x, requires_grad=True)
    g = rng.standard_normal((1, n))
    (mc.as_strided_scatter(xm.reshape(1, n), mc.tensor(s), size, stride, offset) * mc.tensor(g)).sum().backward()
    expected = g[0].copy()
    expected[positions] = 0.0  # the replaced places get nothing
    np.testing.assert_array_equal(xm.grad.numpy(), expected)


def test_as_strided_scatter_checks():
    x = mc.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    s = mc.tensor(np.random.default_rng(1).standard_normal((2, 2)), requires_grad=True)
    fn = lambda a, b: a.as_strided_scatter(b, (2, 2), (4, 1), 1)  # noqa: E731
    assert mc.gradcheck(fn, [x, s]) and mc.gradgradcheck(fn, [x, s])
    with pytest.raises(RuntimeError, match="src size"):
        mc.as_strided_scatter(x, mc.ones(3, 2, dtype=mc.float64), (2, 2), (4, 1))
    with pytest.raises(RuntimeError, match="out of bounds"):
        mc.as_strided_scatter(x, mc.ones(2, 2, dtype=mc.float64), (2, 2), (12, 1))
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.as_strided_((2, 2), (1, 2))


# --- native_* --------------------------------------------------------------------------------


@FEW
@given(st.integers(0, 99), st.booleans(), st.booleans(), st.integers(0, 2))
def test_native_norms_like_torch(seed, training, affine, spatial):
    rng = np.random.default_rng(seed)
    shape = (3, 4) + (2,) * spatial
    x, w, b = rng.standard_normal(shape), rng.standard_normal(4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    for fn_mc, fn_t, arrays in [
        (lambda a, *p: N.native_batch_norm(a, *(p or (None, None)), mc.tensor(rm), mc.tensor(rv), training, 0.1, 1e-5),
         lambda a, *p: torch.native_batch_norm(a, *(p or (None, None)), torch.tensor(rm), torch.tensor(rv), training,
                                               0.1, 1e-5), [x, w, b] if affine else [x]),
        (lambda a, *p: N.native_layer_norm(a, shape[1:], *(p or (None, None)), 1e-5),
         lambda a, *p: torch.native_layer_norm(a, shape[1:], *(p or (None, None)), 1e-5),
         [x, rng.standard_normal(shape[1:]), rng.standard_normal(shape[1:])] if affine else [x]),
        (lambda a, *p: N.native_group_norm(a, *(p or (None, None)), 3, 4, 2**spatial, 2, 1e-5),
         lambda a, *p: torch.native_group_norm(a, *(p or (None, None)), 3, 4, 2**spatial, 2, 1e-5),
         [x, w, b] if affine else [x]),
    ]:  # fmt: skip
        for k in range(3):
            m = fn_mc(*[mc.tensor(a) for a in arrays])[k]
            t = fn_t(*[torch.tensor(a) for a in arrays])[k]
            assert m.shape == tuple(t.shape)
            np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-9, atol=1e-10)
        compare_with_torch(lambda *a, f=fn_mc: f(*a)[0], lambda *a, f=fn_t: f(*a)[0], arrays)
    for k in (1, 2):  # group norm's statistics are differentiable, as torch's
        compare_with_torch(
            lambda a, k=k: N.native_group_norm(a, None, None, 3, 4, 2**spatial, 2, 1e-5)[k],
            lambda a, k=k: torch.native_group_norm(a, None, None, 3, 4, 2**spatial, 2, 1e-5)[k],
            [x],
        )


def test_native_batch_norm_running_stats_and_double_backward():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3, 2))
    rm, rv = mc.zeros(3, dtype=mc.float64), mc.ones(3, dtype=mc.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    N.native_batch_norm(mc.tensor(x), None, None, rm, rv, True, 0.2, 1e-5)
    torch.native_batch_norm(torch.tensor(x), None, None, trm, trv, True, 0.2, 1e-5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
    double_backward_like_torch(
        lambda a: N.native_group_norm(a, None, None, 5, 3, 2, 3, 1e-5)[0],
        lambda a: torch.native_group_norm(a, None, None, 5, 3, 2, 3, 1e-5)[0],
        [x],
        rtol=1e-7,
        atol=1e-9,
    )
    with pytest.raises(RuntimeError, match="native_group_norm"):
        N.native_group_norm(mc.tensor(x), None, None, 5, 3, 4, 3, 1e-5)


def test_native_dropout_shuffle_norms():
    mc.manual_seed(1)
    x = mc.tensor(np.random.default_rng(0).standard_normal((50, 40)), requires_grad=True)
    out, mask = mc.native_dropout(x, 0.3, True)
    assert mask.dtype == np.bool_ and 0.6 < mask.numpy().mean() < 0.8
    np.testing.assert_allclose(out.detach().numpy(), np.where(mask.numpy(), x.detach().numpy() / 0.7, 0.0))
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), mask.numpy() / 0.7)
    out, mask = mc.native_dropout(x, 0.3, False)
    assert mask.numpy().all() and out is not x and np.array_equal(out.detach().numpy(), x.detach().numpy())
    assert not mc.native_dropout(x, 1.0, None)[1].numpy().any()
    a = np.random.default_rng(1).standard_normal((2, 6, 3))
    np.testing.assert_array_equal(mc.native_channel_shuffle(mc.tensor(a), 3).numpy(),
                                  torch.native_channel_shuffle(torch.tensor(a), 3).numpy())  # fmt: skip
    # (torch's native form has no derivative; minicnn's is channel_shuffle's)
    compare_with_torch(lambda t: mc.native_channel_shuffle(t, 3), lambda t: torch.channel_shuffle(t, 3), [a])
    compare_with_torch(lambda t: mc.native_norm(t), lambda t: torch.norm(t), [a])
    compare_with_torch(lambda t: mc.native_norm(t, 3, [1], True, None), lambda t: torch.norm(t, 3, [1], True), [a])
    for p, d in [(2, 0), (3, 1), (2, -1), (1, 2)]:
        compare_with_torch(
            lambda t, p=p, d=d: mc.norm_except_dim(t, p, d), lambda t, p=p, d=d: torch.norm_except_dim(t, p, d), [a]
        )


# --- segment_reduce --------------------------------------------------------------------------


@st.composite
def segment_cases(draw):
    lengths = draw(st.lists(st.integers(0, 3), min_size=1, max_size=5))
    rest = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    reduce = draw(st.sampled_from(["sum", "mean", "max", "min", "prod", "amax", "amin"]))
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    shape = (sum(lengths), *rest)
    ties = draw(st.booleans())
    data = rng.integers(-2, 3, shape).astype(float) if ties else rng.standard_normal(shape)
    initial = draw(st.one_of(st.none(), st.sampled_from([-1.0, 0.5, 2.0])))
    return data, np.array(lengths), reduce, initial, draw(st.booleans())


@SETTINGS
@given(segment_cases())
def test_segment_reduce_like_torch(case):
    data, lengths, reduce, initial, use_offsets = case
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    cut = offsets if use_offsets else lengths
    key = "offsets" if use_offsets else "lengths"

    def mc_fn(d, c):
        return segment_reduce(d, reduce, **{key: c}, initial=initial)

    def torch_fn(d, c):
        return torch.segment_reduce(d, reduce, **{key: c}, initial=initial)

    ties = reduce not in ("sum", "mean", "prod") and len(np.unique(data)) < data.size
    if data.size == 0 or ties:  # torch's backward refuses empty data; ties: see below
        compare_with_torch(mc_fn, torch_fn, [data, cut], grad_inputs=[False, False])
    else:
        compare_with_torch(mc_fn, torch_fn, [data, cut])
    if ties:  # torch shares a tie's gradient only where it is positive (its CPU kernel divides just those);
        # minicnn always shares evenly, as index_reduce/scatter_reduce: compare with a positive output gradient
        m, t = mc.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        g = np.random.default_rng(0).uniform(0.5, 1.5, (len(lengths), *data.shape[1:]))
        (mc_fn(m, mc.tensor(cut)) * mc.tensor(g)).sum().backward()
        (torch_fn(t, torch.tensor(cut)) * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_segment_reduce_checks_and_errors():
    rng = np.random.default_rng(5)
    d = mc.tensor(rng.standard_normal((6, 2)), requires_grad=True)
    lengths = mc.tensor([2, 0, 3, 1])
    for reduce in ("sum", "mean", "max", "min", "prod"):
        fn = lambda t, r=reduce: segment_reduce(t, r, lengths=lengths, initial=0.5)  # noqa: E731
        assert mc.gradcheck(fn, [d]) and mc.gradgradcheck(fn, [d])  # (torch has no double backward here)
    with pytest.raises(RuntimeError, match="reduce argument"):
        segment_reduce(d, "median", lengths=lengths)
    with pytest.raises(RuntimeError, match="sum to data.size"):
        segment_reduce(d, "sum", lengths=mc.tensor([2, 2]))
    with pytest.raises(RuntimeError, match="indices based reduction"):
        segment_reduce(d, "sum", indices=lengths)
    with pytest.raises(RuntimeError, match="axis"):
        segment_reduce(d, "sum", lengths=lengths, axis=1)
    with pytest.raises(NotImplementedError, match="1-d lengths"):
        segment_reduce(d, "sum", lengths=mc.tensor([[6]]))


# --- embedding_bag, embedding_renorm_, convolution, conv_tbc, grid samplers -------------------


@FEW
@given(st.integers(0, 99), st.sampled_from([0, 1, 2]), st.sampled_from([None, 2]), st.booleans())
def test_embedding_bag_tuple_like_torch(seed, mode, padding_idx, last):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((6, 3))
    idx = rng.integers(0, 6, 9)
    cuts = np.sort(rng.integers(0, 10, 3))
    offsets = np.concatenate([[0], cuts, [9]]) if last else np.concatenate([[0], cuts])
    m = E.embedding_bag(mc.tensor(w), mc.tensor(idx), mc.tensor(offsets), False, mode, False, None, last, padding_idx)
    t = torch.embedding_bag(torch.tensor(w), torch.tensor(idx), torch.tensor(offsets), False, mode, False, None, last,
                            padding_idx)  # fmt: skip
    np.testing.assert_allclose(m[0].numpy(), t[0].numpy(), rtol=1e-12)
    for k in (1, 2, 3):
        assert m[k].dtype == np.int64
        np.testing.assert_array_equal(m[k].numpy(), t[k].numpy(), err_msg=f"output {k}")
    settings_ = (False, mode, False, None, last, padding_idx)
    compare_with_torch(
        lambda a: E.embedding_bag(a, mc.tensor(idx), mc.tensor(offsets), *settings_)[0],
        lambda a: torch.embedding_bag(a, torch.tensor(idx), torch.tensor(offsets), *settings_)[0],
        [w],
    )


def test_embedding_bag_2d_and_renorm():
    rng = np.random.default_rng(6)
    w, idx = rng.standard_normal((5, 4)), rng.integers(0, 5, (3, 2))
    m = E.embedding_bag(mc.tensor(w), mc.tensor(idx), mc.tensor([0]), False, 1)
    t = torch.nn.functional.embedding_bag(torch.tensor(idx), torch.tensor(w), mode="mean")
    np.testing.assert_allclose(m[0].numpy(), t.numpy(), rtol=1e-12)
    mw, tw = mc.tensor(w * 3), torch.tensor(w * 3)
    assert mc.embedding_renorm_(mw, mc.tensor([0, 2, 2]), 1.5, 2.0) is mw
    torch.embedding_renorm_(tw, torch.tensor([0, 2, 2]), 1.5, 2.0)
    np.testing.assert_allclose(mw.numpy(), tw.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="mode"):
        E.embedding_bag(mc.tensor(w), mc.tensor([0]), mc.tensor([0]), False, 3)


@FEW
@given(st.integers(0, 99), st.sampled_from([1, 2, 3]), st.booleans(), st.integers(1, 2), st.integers(0, 1))
def test_convolution_like_torch(seed, k, transposed, stride, padding):
    rng = np.random.default_rng(seed)
    groups = int(rng.integers(1, 3))
    x = rng.standard_normal((2, 2 * groups) + (4,) * k)
    w = rng.standard_normal((2 * groups, 3 if transposed else 2) + (2,) * k)
    b = rng.standard_normal(w.shape[1] * groups if transposed else w.shape[0])
    out_pad = [stride - 1] * k if transposed else [0] * k
    args = ([stride] * k, [padding] * k, [1] * k, transposed, out_pad, groups)
    compare_with_torch(lambda *a: mc.convolution(*a, *args), lambda *a: torch.convolution(*a, *args), [x, w, b])


def test_conv_tbc_and_grid_samplers():
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((6, 2, 3)), rng.standard_normal((3, 3, 4)), rng.standard_normal(4)]
    for pad in (0, 1, 2):
        compare_with_torch(lambda *a, p=pad: mc.conv_tbc(*a, p), lambda *a, p=pad: torch.conv_tbc(*a, p), arrays)
    double_backward_like_torch(lambda *a: mc.conv_tbc(*a, 1), lambda *a: torch.conv_tbc(*a, 1), arrays)
    with pytest.raises(RuntimeError, match="conv_tbc"):
        mc.conv_tbc(mc.ones(6, 2, 3), mc.ones(3, 2, 4), mc.ones(4))
    x2, g2 = rng.standard_normal((2, 3, 4, 5)), rng.uniform(-1.1, 1.1, (2, 3, 2, 2))
    x3, g3 = rng.standard_normal((1, 2, 3, 4, 3)), rng.uniform(-1.1, 1.1, (1, 2, 2, 3, 3))
    for modes in [(0, 0, False), (1, 1, True), (2, 2, False), (0, 2, True)]:
        compare_with_torch(lambda *a, m=modes: mc.grid_sampler_2d(*a, *m),
                           lambda *a, m=modes: torch.grid_sampler_2d(*a, *m), [x2, g2],
                           grad_inputs=[True, modes[0] == 0], rtol=1e-7, atol=1e-9)  # fmt: skip
        if modes[0] < 2:
            compare_with_torch(lambda *a, m=modes: mc.grid_sampler_3d(*a, *m),
                               lambda *a, m=modes: torch.grid_sampler_3d(*a, *m), [x3, g3],
                               grad_inputs=[True, modes[0] == 0], rtol=1e-7, atol=1e-9)  # fmt: skip
    with pytest.raises(RuntimeError, match="grid_sampler_3d: expected 5-d"):
        mc.grid_sampler_3d(mc.tensor(x2), mc.tensor(g2), 0, 0, False)
    with pytest.raises(RuntimeError, match="bicubic"):
        mc.grid_sampler_3d(mc.tensor(x3), mc.tensor(g3), 2, 0, False)


# --- double backward and devices -------------------------------------------------------------


def test_double_backward_like_torch():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 5))
    double_backward_like_torch(*_gradient_fns(1, [np.array([0.0, 0.4, 1.0, 2.5, 3.0])], 2), [x], rtol=1e-7, atol=1e-9)
    s, idx = rng.standard_normal((3, 5)), np.array([0, 3, 0])
    for reduce in ("mean", "amax"):
        double_backward_like_torch(
            lambda a, b, r=reduce: mc.index_reduce(a, 0, mc.tensor(idx), b, r),
            lambda a, b, r=reduce: torch.index_reduce(a, 0, torch.tensor(idx), b, r),
            [x, s],
        )
    double_backward_like_torch(  # (src's gradient only: torch's of input is wrong, see above)
        lambda a, b: mc.as_strided_scatter(a, b, (2, 2), (5, 2), 1),
        lambda a, b: torch.as_strided_scatter(a, b, (2, 2), (5, 2), 1),
        [x, rng.standard_normal((2, 2))],
        grad_inputs=[False, True],
    )


@pytest.mark.parametrize("device", devices())
def test_ops_extra_on_device(device):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 5))
    compare_with_torch(*_gradient_fns(None, None, 2), [x], device=device, rtol=1e-7, atol=1e-9)
    compare_with_torch(
        lambda a, b: mc.index_reduce(a, 1, mc.tensor([0, 4, 4], device=device), b, "prod"),
        lambda a, b: torch.index_reduce(a, 1, torch.tensor([0, 4, 4]), b, "prod"),
        [x, rng.standard_normal((4, 3))],
        device=device,
    )
    compare_with_torch(lambda a: mc.frexp(a)[0], lambda a: torch.frexp(a)[0], [x * 5], device=device)
    compare_with_torch(
        lambda a, b: mc.as_strided_scatter(a, b, (2, 2), (5, 2), 1),
        lambda a, b: torch.as_strided_scatter(a, b, (2, 2), (5, 2), 1),
        [x, rng.standard_normal((2, 2))],
        grad_inputs=[False, True],
        device=device,
    )
    compare_with_torch(
        lambda a: segment_reduce(a, "max", lengths=mc.tensor([1, 0, 3], device=device), initial=0.0),
        lambda a: torch.segment_reduce(a, "max", lengths=torch.tensor([1, 0, 3]), initial=0.0),
        [x],
        device=device,
    )
    compare_with_torch(
        lambda a: N.native_group_norm(a, None, None, 4, 5, 1, 5, 1e-5)[2],
        lambda a: torch.native_group_norm(a, None, None, 4, 5, 1, 5, 1e-5)[2],
        [x.reshape(4, 5, 1)],
        device=device,
    )
    h, _ = mc.histogramdd(mc.tensor(x[:, :2], device=device), [2, 3])
    th, _ = torch.histogramdd(torch.tensor(x[:, :2]), [2, 3])
    np.testing.assert_array_equal(mc.backend.to_numpy(h.array), th.numpy())
    emb = E.embedding_bag(mc.tensor(x, device=device), mc.tensor([0, 3, 1, 1], device=device),
                          mc.tensor([0, 1], device=device), False, 2)  # fmt: skip
    temb = torch.embedding_bag(torch.tensor(x), torch.tensor([0, 3, 1, 1]), torch.tensor([0, 1]), False, 2)
    np.testing.assert_array_equal(mc.backend.to_numpy(emb[3].array), temb[3].numpy())
    draws = mc.binomial(mc.full((100,), 5.0, device=device), mc.full((100,), 0.5, device=device))
    assert draws.device == mc.tensor(x, device=device).device and 0 <= float(draws.min()) <= float(draws.max()) <= 5
    y = mc.feature_dropout(mc.ones(3, 4, 2, device=device), 0.5, True)
    assert set(np.unique(mc.backend.to_numpy(y.array))) <= {0.0, 2.0}


# --- review fixes (h12_review_ops) -----------------------------------------------------------


def test_gradient_coordinates_promote_dtype_as_torch():
    x = np.random.default_rng(10).standard_normal((3, 5))
    for xd, cd in [(np.float32, np.float64), (np.int64, np.float64), (np.float64, np.float32), (np.int64, np.int64)]:
        coords = np.array([0.0, 0.5, 1.5, 3.0, 4.0]).astype(cd) if cd != np.int64 else np.array([0, 1, 3, 4, 7])
        for edge in (1, 2):
            m = mc.gradient(mc.tensor(x.astype(xd)), spacing=[mc.tensor(coords)], dim=1, edge_order=edge)[0]
            t = torch.gradient(torch.tensor(x.astype(xd)), spacing=[torch.tensor(coords)], dim=1, edge_order=edge)[0]
            assert m.dtype == t.numpy().dtype, (xd, cd, edge)
            np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)


def test_histogramdd_refuses_as_torch():
    x = mc.tensor(np.random.default_rng(11).standard_normal((8, 2)))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        mc.histogramdd(mc.tensor(np.arange(5.0)), 3)
    with pytest.raises(RuntimeError, match="same dtype"):
        mc.histogramdd(x, [2, 2], weight=mc.ones(8, dtype=mc.float32))
    with pytest.raises(RuntimeError, match="same dtype"):
        mc.histogramdd(x, [mc.tensor([0.0, 1.0]), mc.tensor([0.0, 1.0])])  # float32 edges, float64 points


def test_binomial_refuses_counts_past_int64():
    with pytest.raises(RuntimeError, match="binomial"):
        mc.binomial(mc.tensor([np.inf]), mc.tensor([0.5]))
    with pytest.raises(RuntimeError, match="binomial"):
        mc.binomial(mc.tensor(np.array([2.0**70])), mc.tensor(np.array([0.5])))


def test_segment_reduce_nan_max_min_prod_like_torch():
    data = np.random.default_rng(12).standard_normal((6, 3))
    data[1, 0] = data[3, 2] = data[4, 2] = np.nan
    g = np.random.default_rng(13).uniform(0.5, 1.5, (4, 3))  # positive: torch divides only those among ties
    for reduce in ("max", "min", "prod"):  # (prod: a lone NaN's gradient is the others' product)
        for initial in (None, 5.0, -5.0):
            m, t = mc.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
            om = segment_reduce(m, reduce, lengths=mc.tensor([2, 0, 3, 1]), initial=initial)
            ot = torch.segment_reduce(t, reduce, lengths=torch.tensor([2, 0, 3, 1]), initial=initial)
            np.testing.assert_array_equal(om.numpy(), ot.detach().numpy())
            (om * mc.tensor(g)).sum().backward()
            (ot * torch.tensor(g)).sum().backward()
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_segment_reduce_offsets_inside_and_unsafe_lengths_like_torch():
    data = np.random.default_rng(14).standard_normal((6, 2))
    for reduce in ("sum", "mean", "max", "prod"):
        for key, cut, unsafe in [("offsets", [1, 3, 5], False), ("offsets", [0, 2, 4], False),
                                 ("offsets", [1, 2, 6], True), ("lengths", [2, 1], True)]:  # fmt: skip
            compare_with_torch(
                lambda d, r=reduce, k=key, c=cut, u=unsafe: segment_reduce(d, r, **{k: mc.tensor(c)}, unsafe=u),
                lambda d, r=reduce, k=key, c=cut, u=unsafe: torch.segment_reduce(
                    d, r, **{k: torch.tensor(c)}, unsafe=u
                ),
                [data],
            )
    d = mc.tensor(data)
    with pytest.raises(RuntimeError, match="inside"):
        segment_reduce(d, "sum", offsets=mc.tensor([0, 3, 7]))
    with pytest.raises(RuntimeError, match="inside"):
        segment_reduce(d, "sum", lengths=mc.tensor([4, 4]), unsafe=True)
    with pytest.raises(NotImplementedError, match="1-d lengths"):
        segment_reduce(mc.tensor(data.T.copy()), "sum", lengths=mc.tensor([[1, 5], [6, 0]]), axis=1)


@pytest.mark.parametrize("device", devices())
def test_segment_reduce_without_array_repeats(device, monkeypatch):
    x = mc.tensor(np.random.default_rng(15).standard_normal((5, 2)), device=device)
    xp, repeat = x.xp, x.xp.repeat

    def cupy13_repeat(a, repeats, axis=None):  # CuPy 13 refuses an array of counts (NumPy takes it)
        if not isinstance(repeats, (int, list, tuple)):
            raise ValueError("cupy.ndaray cannot be specified as `repeats` argument.")
        return repeat(a, repeats, axis)

    monkeypatch.setattr(xp, "repeat", cupy13_repeat)
    out = segment_reduce(x, "sum", lengths=mc.tensor([2, 0, 3], device=device))
    expected = torch.segment_reduce(torch.tensor(x.numpy()), "sum", lengths=torch.tensor([2, 0, 3]))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_embedding_bag_sum_bag_size_with_last_offset():
    w = np.random.default_rng(16).standard_normal((6, 3))
    idx, offsets = np.array([2, 4, 1, 0, 5]), np.array([0, 2, 2, 5])
    for dtype in (np.float64, np.float32):
        for grad in (False, True):  # torch's two paths differ: one zero per offset / per bag
            mw, tw = mc.tensor(w.astype(dtype), requires_grad=grad), torch.tensor(w.astype(dtype), requires_grad=grad)
            m = E.embedding_bag(mw, mc.tensor(idx), mc.tensor(offsets), False, 0, False, None, True)
            t = torch.embedding_bag(tw, torch.tensor(idx), torch.tensor(offsets), False, 0, False, None, True)
            for k in (1, 2, 3):
                np.testing.assert_array_equal(m[k].numpy(), t[k].detach().numpy(), err_msg=f"output {k}")


def test_convolution_one_entry_lists_stand_for_every_dim():
    rng = np.random.default_rng(17)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    for args in [([2], [1], [1], False, [0], 1), ([2], [1], [1], True, [1], 1)]:
        if args[3]:
            w = rng.standard_normal((2, 3, 3, 3))
        compare_with_torch(lambda a, b, s=args: mc.convolution(a, b, None, *s),
                           lambda a, b, s=args: torch.convolution(a, b, None, *s), [x, w])  # fmt: skip


def test_native_batch_norm_mixed_dtypes_as_torch():
    x = np.random.default_rng(18).standard_normal((4, 3)).astype(np.float16)

    def args(tensor, w, rs, training):
        ones, zeros = tensor(np.ones(3, np.float32)), tensor(np.zeros(3, np.float32))
        return tensor(x), ones if w else None, None, zeros if rs else None, ones if rs else None, training, 0.1, 1e-3

    for case in [(True, False, True), (False, True, True), (False, True, False)]:  # (weight, running stats, training)
        m, t = N.native_batch_norm(*args(mc.tensor, *case)), torch.native_batch_norm(*args(torch.tensor, *case))
        for a, b in zip(m, t):
            assert a.dtype == b.numpy().dtype and a.shape == tuple(b.shape)
            np.testing.assert_allclose(a.numpy().astype(np.float64), b.numpy().astype(np.float64), rtol=2e-3, atol=2e-3)


def test_native_batch_norm_one_value_per_channel_as_torch():
    x = np.random.default_rng(19).standard_normal((1, 3, 1))
    w, b = np.array([2.0, -1.0, 0.5]), np.array([0.5, 0.25, -1.0])
    mrm, mrv = mc.zeros(3, dtype=mc.float64), mc.ones(3, dtype=mc.float64)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    m = N.native_batch_norm(mc.tensor(x), mc.tensor(w), mc.tensor(b), mrm, mrv, True, 0.1, 1e-5)
    t = torch.native_batch_norm(torch.tensor(x), torch.tensor(w), torch.tensor(b), trm, trv, True, 0.1, 1e-5)
    for a, c in zip((*m, mrm, mrv), (*t, trm, trv)):
        assert a.shape == tuple(c.shape)
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-6)
    compare_with_torch(
        lambda *a: N.native_batch_norm(*a, None, None, True, 0.1, 1e-5)[0],
        lambda *a: torch.native_batch_norm(*a, None, None, True, 0.1, 1e-5)[0],
        [x, w, b],
    )


def test_as_strided_scatter_shape_error_names_the_op():
    with pytest.raises(RuntimeError, match=r"as_strided_scatter\(\): expected src to have a size equal"):
        mc.as_strided_scatter(mc.zeros(3, 4), mc.ones(2, 3), (2, 2), (1, 4))
