"""Second derivatives (``create_graph=True``) of the shape, reduction, indexing, padding, pixel
and embedding ops (minicnn.ops.shape, reduce, index, pad, pixel, embedding) against torch.

Every op: a hypothesis test of forward, first gradients with a graph and second derivatives
(w.r.t. every input and the seed) against torch (``double_backward_like_torch``), and a float64
``mc.gradgradcheck`` on a tiny case. A linear op is tested on ``op(x) * op(x)`` (or ``op(x * x)``),
so that its second derivative w.r.t. x is not zero and runs its gradient's own derivative
(the op applied again). Data stay away from kinks (ties of max unless the ties are the
point, zeros of norms); the zeros of prod and cumprod are tested on purpose.

Where torch is not the oracle: ``embedding(scale_grad_by_freq=True)``, whose double backward
in torch leaves the division by the counts out (its own gradgradcheck fails), is checked by
``mc.gradgradcheck`` only; torch's zero second derivatives of norm p=1 and p=+-inf are
"efficient zero" tensors that ``.numpy()`` refuses, so those are tested through x^3; std of
equal values, where torch's second derivative is NaN and minicnn's 0.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812
from conftest import devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
from minicnn.ops import embedding as E
from minicnn.ops import index as I  # noqa: E741
from minicnn.ops import pixel as X
from minicnn.ops import reduce as R
from minicnn.ops import shape as S

P = importlib.import_module("minicnn.ops.pad")  # (minicnn.ops.pad is also the function's name)

SETTINGS = settings(max_examples=10, deadline=None)
seeds = st.integers(0, 2**16)
shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
INF = float("inf")


def square(f):
    """``f(x) * f(x)``: a linear f, made to have a second derivative in x."""

    def g(*xs):
        y = f(*xs)
        return y * y

    return g


def distinct(rng: np.random.Generator, shape) -> np.ndarray:
    """Values at least 0.3 apart (no ties of max/min/sort), in about [-n/3, n/3]."""
    n = int(np.prod(shape, dtype=np.int64))
    return (rng.permutation(n).reshape(shape) - n / 2) * 0.6 + rng.uniform(-0.1, 0.1, shape)


def away_from_zero(rng: np.random.Generator, shape, lo: float = 0.5, hi: float = 1.5) -> np.ndarray:
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def axes_of(data, ndim: int):
    """A drawn reduction: None (every axis) or a non-empty tuple of distinct axes."""
    if data.draw(st.booleans()):
        return None
    return tuple(data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)))


def gg(fn, *arrays, grad=None):
    """``mc.gradgradcheck`` of fn on float64 tensors (all requiring grad unless ``grad`` says)."""
    grad = [a.dtype.kind == "f" for a in arrays] if grad is None else grad
    ts = [mc.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    assert mc.gradgradcheck(fn, ts)


# -- shape ops ---------------------------------------------------------------------------
@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_reshape_expand_permute_and_their_forms_like_torch(shape, data, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    nd = len(shape)
    perm = tuple(data.draw(st.permutations(range(nd))))
    d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    big = tuple(2 if n == 1 else n for n in shape)
    cases = [
        (lambda a: S.reshape(a, -1, 1), lambda a: a.reshape(-1, 1)),
        (lambda a: S.expand(a, (2, *big)), lambda a: a.expand(2, *big)),
        (lambda a: S.permute(a, perm), lambda a: a.permute(perm)),
        (lambda a: S.transpose(a, d0, d1), lambda a: a.transpose(d0, d1)),
        (lambda a: S.flatten(S.unsqueeze(a, d0), 1), lambda a: a.unsqueeze(d0).flatten(1)),
        (lambda a: S.squeeze(a), lambda a: a.squeeze()),
        (lambda a: S.movedim(a, d0, d1), lambda a: a.movedim(d0, d1)),
    ]
    for mc_fn, torch_fn in cases:
        double_backward_like_torch(square(mc_fn), square(torch_fn), [x])


@SETTINGS
@given(data=st.data(), seed=seeds)
def test_getitem_with_slices_ints_masks_and_repeated_indices_like_torch(data, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3, 2))
    rows = data.draw(st.lists(st.integers(-4, 3), min_size=1, max_size=6))  # repeats accumulate
    cols = data.draw(st.lists(st.integers(0, 2), min_size=len(rows), max_size=len(rows)))
    mask = rng.random((4, 3)) < 0.5
    r, c = np.array(rows), np.array(cols)
    cases = [
        ((slice(1, 3), slice(None, None, 2)), (slice(1, 3), slice(None, None, 2))),
        ((2,), (2,)),
        ((Ellipsis, 1, None), (Ellipsis, 1, None)),
        ((r,), (torch.tensor(r),)),
        ((r, slice(None), 0), (torch.tensor(r), slice(None), 0)),
        ((r, c), (torch.tensor(r), torch.tensor(c))),
        ((mask,), (torch.tensor(mask),)),
    ]
    for mi, ti in cases:
        double_backward_like_torch(square(lambda a, i=mi: a[i]), square(lambda a, i=ti: a[i]), [x])


@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_cat_and_stack_like_torch(shape, data, seed):
    rng = np.random.default_rng(seed)
    nd = len(shape)
    axis = data.draw(st.integers(-nd, nd - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=2, max_size=3))
    parts = [rng.standard_normal(shape[: axis % nd] + (k,) + shape[axis % nd + 1 :]) for k in sizes]
    double_backward_like_torch(square(lambda *ts: S.cat(ts, axis)), square(lambda *ts: torch.cat(ts, axis)), parts)
    same = [rng.standard_normal(shape) for _ in sizes]
    sdim = data.draw(st.integers(-nd - 1, nd))
    double_backward_like_torch(square(lambda *ts: S.stack(ts, sdim)), square(lambda *ts: torch.stack(ts, sdim)), same)


@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_flip_roll_repeat_tile_like_torch(shape, data, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    nd = len(shape)
    dims = tuple(data.draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)))
    shifts = tuple(data.draw(st.lists(st.integers(-4, 4), min_size=len(dims), max_size=len(dims))))
    reps = tuple(data.draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd + 1)))
    cases = [
        (lambda a: S.flip(a, dims), lambda a: torch.flip(a, dims)),
        (lambda a: S.roll(a, shifts, dims), lambda a: torch.roll(a, shifts, dims)),
        (lambda a: S.roll(a, shifts[0]), lambda a: torch.roll(a, shifts[0])),
        (lambda a: S.repeat(a, reps), lambda a: a.repeat(reps)),
        (lambda a: S.tile(a, reps[:1]), lambda a: torch.tile(a, reps[:1])),
    ]
    for mc_fn, torch_fn in cases:
        double_backward_like_torch(square(mc_fn), square(torch_fn), [x])


@SETTINGS
@given(rows=st.integers(1, 4), cols=st.integers(1, 4), batch=st.integers(1, 2), data=st.data(), seed=seeds)
def test_triangles_and_diagonals_like_torch(rows, cols, batch, data, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, rows, cols))
    k = data.draw(st.integers(-3, 3))
    d1, d2 = data.draw(st.permutations(range(3)))[:2]
    cases = [
        (lambda a: S.tril(a, k), lambda a: torch.tril(a, k)),
        (lambda a: S.triu(a, k), lambda a: torch.triu(a, k)),
        (lambda a: S.diagonal(a, k, d1, d2), lambda a: torch.diagonal(a, k, d1, d2)),
        (lambda a: S.diag(a[0], k), lambda a: torch.diag(a[0], k)),  # 2-d: a diagonal (a copy)
        (lambda a: S.diag(a[0, 0], k), lambda a: torch.diag(a[0, 0], k)),  # 1-d: a diagonal matrix
    ]
    for mc_fn, torch_fn in cases:
        double_backward_like_torch(square(mc_fn), square(torch_fn), [x])


@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_views_along_a_dim_like_torch(shape, data, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    n = shape[d]
    start = data.draw(st.integers(0, n - 1))
    length = data.draw(st.integers(0, n - start))
    pieces = data.draw(st.integers(1, 3))

    def weighted(parts):  # each piece scaled differently, so that a mix-up shows
        return [p * (i + 1.0) for i, p in enumerate(parts)]

    cases = [
        (lambda a: S.narrow(a, d, start, length), lambda a: a.narrow(d, start, length)),
        (lambda a: S.cat(weighted(S.chunk(a, pieces, d)), d), lambda a: torch.cat(weighted(a.chunk(pieces, d)), d)),
        (lambda a: S.cat(weighted(S.split(a, 2, d)), d), lambda a: torch.cat(weighted(a.split(2, d)), d)),
        (lambda a: S.stack(weighted(S.unbind(a, d))), lambda a: torch.stack(weighted(a.unbind(d)))),
    ]
    for mc_fn, torch_fn in cases:
        double_backward_like_torch(square(mc_fn), square(torch_fn), [x])


def test_shape_ops_gradgradcheck():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3))
    for fn in (
        lambda a: S.reshape(a * a, 3, 2),
        lambda a: S.expand(a * a, (2, 2, 3)),
        lambda a: S.permute(a * a, 1, 0),
        lambda a: (a * a)[[1, 1, 0], 1:],
        lambda a: S.cat([a * a, a], 1),
        lambda a: S.stack([a * a, a], 0),
        lambda a: S.flip(a * a, 1),
        lambda a: S.roll(a * a, 1, 1),
        lambda a: S.repeat(a * a, 2, 1),
        lambda a: S.triu(a * a, 1) + S.tril(a, -1),
        lambda a: S.diagonal(a * a, 1),
        lambda a: S.diag((a * a)[0], -1),
    ):
        gg(fn, x)


@pytest.mark.parametrize("device", devices())
def test_shape_ops_on_device(device):
    x = np.random.default_rng(1).standard_normal((3, 4))

    def mc_fn(a):
        b = S.cat([S.flip(a, 0), S.roll(a, 1, 1)], 0)[[0, 2, 2, 5]]
        return S.triu(S.repeat(b, 1, 2), 1) * S.permute(S.stack([b, b], 2), 0, 2, 1).sum(1).mean(-1, keepdims=True)

    def torch_fn(a):
        b = torch.cat([torch.flip(a, (0,)), torch.roll(a, 1, 1)], 0)[[0, 2, 2, 5]]
        return torch.triu(b.repeat(1, 2), 1) * torch.stack([b, b], 2).permute(0, 2, 1).sum(1).mean(-1, keepdim=True)

    double_backward_like_torch(mc_fn, torch_fn, [x], device=device)


# -- reductions ----------------------------------------------------------------------------
@SETTINGS
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_sum_mean_cumsum_like_torch(shape, data, keepdim, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    axes = axes_of(data, len(shape))
    dims = () if axes is None else axes
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    cases = [
        (lambda a: R.sum(a, axes, keepdim), lambda a: torch.sum(a, dims, keepdim)),
        (lambda a: R.mean(a, axes, keepdim), lambda a: torch.mean(a, dims, keepdim)),
        (lambda a: R.cumsum(a, d), lambda a: torch.cumsum(a, d)),
    ]
    for mc_fn, torch_fn in cases:
        double_backward_like_torch(square(mc_fn), square(torch_fn), [x])
        double_backward_like_torch(lambda a, f=mc_fn: f(a * a), lambda a, f=torch_fn: f(a * a), [x])


@SETTINGS
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_max_min_amax_amin_like_torch(shape, data, keepdim, seed):
    x = distinct(np.random.default_rng(seed), shape)
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    dims = tuple(data.draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)))
    cases = [
        (lambda a: R.max(a, d, keepdim), lambda a: torch.max(a, d, keepdim).values),
        (lambda a: R.min(a, d, keepdim), lambda a: torch.min(a, d, keepdim).values),
        (lambda a: R.amax(a, dims, keepdim), lambda a: torch.amax(a, dims, keepdim)),
        (lambda a: R.amin(a, dims, keepdim), lambda a: torch.amin(a, dims, keepdim)),
        (lambda a: R.max(a), lambda a: torch.max(a)),
        (lambda a: R.min(a), lambda a: torch.min(a)),
    ]
    for mc_fn, torch_fn in cases:
        double_backward_like_torch(lambda a, f=mc_fn: f(a * a * a), lambda a, f=torch_fn: f(a * a * a), [x])


def test_max_min_ties_route_like_torch():
    """The second derivative w.r.t. the seed follows the first one's routing: along a dim the
    first extremum, over several dims or all elements the ties sharing equally."""
    x = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, -1.0, 5.0], [0.5, -1.0, 0.0, -1.0]])
    cases = [
        (lambda a: R.max(a, 1), lambda a: torch.max(a, 1).values),
        (lambda a: R.min(a, 1), lambda a: torch.min(a, 1).values),
        (lambda a: R.amax(a, 1), lambda a: torch.amax(a, 1)),
        (lambda a: R.amin(a, (0, 1)), lambda a: torch.amin(a, (0, 1))),
        (lambda a: R.max(a), lambda a: torch.max(a)),
    ]
    for mc_fn, torch_fn in cases:
        double_backward_like_torch(mc_fn, torch_fn, [x])


@SETTINGS
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), correction=st.integers(0, 2), seed=seeds)
def test_var_std_like_torch(shape, data, keepdim, correction, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    axes = axes_of(data, len(shape))
    n = int(np.prod([shape[a] for a in (range(len(shape)) if axes is None else axes)]))
    if n - correction <= 0 or n == 1:  # (no degrees of freedom: NaN; one value: std's kink at 0)
        axes, correction = None, 0
        x = np.random.default_rng(seed).standard_normal((2, *shape))
    dims = None if axes is None else axes
    double_backward_like_torch(
        lambda a: R.var(a, axes, keepdim, correction),
        lambda a: torch.var(a, dims, correction=correction, keepdim=keepdim),
        [x],
    )
    double_backward_like_torch(
        lambda a: R.std(a, axes, keepdim, correction),
        lambda a: torch.std(a, dims, correction=correction, keepdim=keepdim),
        [x],
    )


def test_var_without_degrees_of_freedom_is_nan_like_torch():
    x = np.array([[0.5, -1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        double_backward_like_torch(lambda a: R.var(a, 0), lambda a: torch.var(a, 0), [x])


def test_std_of_equal_values_has_zero_gradients():
    """Where all values are equal (std 0, a kink), the first gradient is 0 as torch's, and so is
    the second (torch's is NaN there: its masked_fill of grad / (2 std) differentiates to 0 / 0)."""
    x = np.array([[1.5, 1.5, 1.5], [0.5, -1.0, 2.0]])
    m, t = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    v = np.array([0.7, -1.3])
    mv, tv = mc.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    (gm,) = mc.autograd.grad(R.std(m, 1), m, mv, create_graph=True)
    (gt,) = torch.autograd.grad(torch.std(t, 1), t, tv, create_graph=True)
    np.testing.assert_allclose(gm.numpy(), gt.detach().numpy(), rtol=1e-12)
    w = np.random.default_rng(0).standard_normal(x.shape)
    second_m = mc.autograd.grad((gm * mc.tensor(w)).sum(), [m, mv])
    second_t = torch.autograd.grad((gt * torch.tensor(w)).sum(), [t, tv])
    assert np.isnan(second_t[1][0].item())
    for a, b in zip(second_m, second_t):
        np.testing.assert_array_equal(a.numpy()[0], 0.0)
        np.testing.assert_allclose(a.numpy()[1], b.numpy()[1], rtol=1e-9)


@SETTINGS
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), zeros=st.integers(0, 2), seed=seeds)
def test_prod_and_cumprod_like_torch_also_with_zeros(shape, data, keepdim, zeros, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, shape)
    x.reshape(-1)[rng.permutation(x.size)[:zeros]] = 0.0
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    cases = [
        (lambda a: R.prod(a), lambda a: torch.prod(a)),
        (lambda a: R.prod(a, d, keepdim), lambda a: torch.prod(a, d, keepdim)),
        (lambda a: R.cumprod(a, d), lambda a: torch.cumprod(a, d)),
    ]
    for mc_fn, torch_fn in cases:
        double_backward_like_torch(mc_fn, torch_fn, [x])


@SETTINGS
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_logsumexp_like_torch(shape, data, keepdim, seed):
    x = np.random.default_rng(seed).uniform(-3, 3, shape)
    axes = axes_of(data, len(shape))
    dims = tuple(range(len(shape))) if axes is None else axes
    double_backward_like_torch(
        lambda a: R.logsumexp(a, dims, keepdim), lambda a: torch.logsumexp(a, dims, keepdim), [x]
    )


@SETTINGS
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_vector_norms_and_dist_like_torch(shape, data, keepdim, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, shape)
    axes = axes_of(data, len(shape))
    for p in (2, 3, 1.5, 0.5, -1.5, "fro"):
        if p == "fro" and axes is not None and len(axes) > 2:
            continue
        double_backward_like_torch(
            lambda a, p=p: R.norm(a, p, axes, keepdim), lambda a, p=p: torch.norm(a, p, axes, keepdim), [x]
        )
    # p = 1, inf, -inf: through x^3 (torch's zero second derivatives are "efficient zeros")
    y = np.sign(x) * (np.abs(distinct(rng, shape)) + 0.2)  # distinct |values|: no ties of the extrema
    for p in (1, INF, -INF):
        double_backward_like_torch(
            lambda a, p=p: R.norm(a * a * a, p, axes, keepdim),
            lambda a, p=p: torch.norm(a * a * a, p, axes, keepdim),
            [y],
        )
    other = x + away_from_zero(rng, shape)
    for p in (2, 3, 1.5):
        double_backward_like_torch(lambda a, b, p=p: R.dist(a, b, p), lambda a, b, p=p: torch.dist(a, b, p), [x, other])


def test_zero_norm_gradient_is_a_constant_zero_like_torch():
    """p = 0 (the count of nonzeros): a zero first gradient with no graph (torch's is undefined)."""
    x = mc.tensor(np.array([[0.5, 0.0, -2.0]]), requires_grad=True)
    v = mc.tensor(np.array([1.5]), requires_grad=True)
    (g,) = mc.autograd.grad(R.norm(x, 0, 1), x, v, create_graph=True)
    assert not g.requires_grad
    np.testing.assert_array_equal(g.numpy(), np.zeros((1, 3)))


@SETTINGS
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_nansum_nanmean_like_torch(shape, data, keepdim, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    axes = axes_of(data, len(shape))
    nan = rng.random(shape) < 0.4
    nan[tuple(slice(0, 1) if axes is None or i in axes else slice(None) for i in range(len(shape)))] = False
    x[nan] = np.nan  # (every reduced slice keeps a number: nanmean of only NaN is NaN anyway)
    dims = None if axes is None else axes
    double_backward_like_torch(
        lambda a: R.nansum(a * a, axes, keepdim), lambda a: torch.nansum(a * a, dims, keepdim), [x]
    )
    double_backward_like_torch(
        lambda a: R.nanmean(a * a, axes, keepdim), lambda a: torch.nanmean(a * a, dims, keepdim), [x]
    )


def test_reductions_gradgradcheck():
    rng = np.random.default_rng(2)
    x = away_from_zero(rng, (2, 3))
    z = x.copy()
    z[0, 1] = z[1, 0] = z[1, 2] = 0.0  # one zero in a row, two in another
    for fn, data in (
        (lambda a: R.sum(a * a, 1, True), x),
        (lambda a: R.mean(a * a, (0, 1)), x),
        (lambda a: R.cumsum(a * a, 1), x),
        (lambda a: R.max(a * a * a, 1), x),
        (lambda a: R.amax(a * a * a, (0, 1)), x),
        (lambda a: R.min(a * a * a), x),
        (lambda a: R.var(a, 1), x),
        (lambda a: R.std(a, 0, True), x),
        (lambda a: R.prod(a, 1), x),
        (lambda a: R.prod(a, 1), z),
        (lambda a: R.prod(a), z),
        (lambda a: R.cumprod(a, 1), x),
        (lambda a: R.cumprod(a, 1), z),
        (lambda a: R.logsumexp(a, 1), x),
        (lambda a: R.norm(a, 2, 1), x),
        (lambda a: R.norm(a, 3), x),
        (lambda a: R.norm(a, 0.5, 0), x),
        (lambda a: R.norm(a * a * a, 1, 0), x),
        (lambda a: R.norm(a * a * a, INF, 1), x),
        (lambda a: R.nansum(a * a, 1), np.where(z == 0, np.nan, x)),
        (lambda a: R.nanmean(a * a, 1), np.where(z == 0, np.nan, x)),
    ):
        gg(fn, data)


def test_third_derivatives_like_torch():
    """A third derivative: the second gradients' graph differentiated once more."""
    x = away_from_zero(np.random.default_rng(3), (2, 3))
    x[0, 1] = 0.0
    cases = [
        (lambda a: R.cumprod(a, 1), lambda a: torch.cumprod(a, 1)),
        (lambda a: R.prod(a, 1), lambda a: torch.prod(a, 1)),
        (lambda a: R.logsumexp(a, 0), lambda a: torch.logsumexp(a, 0)),
        (lambda a: R.std(a, 1), lambda a: torch.std(a, 1)),
        (lambda a: R.norm(a, 3, 1), lambda a: torch.norm(a, 3, 1)),
    ]
    for mc_fn, torch_fn in cases:
        m, t = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ym, yt = mc_fn(m), torch_fn(t)
        wm, wt = ym, yt
        for _ in range(2):
            (wm,) = mc.autograd.grad(wm.sum(), m, create_graph=True)
            (wt,) = torch.autograd.grad(wt.sum(), t, create_graph=True)
            wm, wt = wm * wm, wt * wt
        (gm,) = mc.autograd.grad(wm.sum(), m)
        (gt,) = torch.autograd.grad(wt.sum(), t)
        np.testing.assert_allclose(gm.numpy(), gt.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("device", devices())
def test_reductions_on_device(device):
    x = away_from_zero(np.random.default_rng(4), (3, 4))
    x[1, 2] = 0.0

    def mc_fn(a):
        return R.logsumexp(a, 1) * R.std(a, 1) + R.prod(a, 1) + R.cumprod(a, 1).sum(1) + R.amax(a, 1) * R.norm(a, 3, 1)

    def torch_fn(a):
        return (
            torch.logsumexp(a, 1) * torch.std(a, 1)
            + torch.prod(a, 1)
            + torch.cumprod(a, 1).sum(1)
            + torch.amax(a, 1) * torch.norm(a, 3, 1)
        )

    double_backward_like_torch(mc_fn, torch_fn, [x], device=device)


# -- indexing along a dim ------------------------------------------------------------------
def _index(rng, x_shape, dim, idx_shape):
    return rng.integers(0, x_shape[dim], idx_shape)


def index_shape(data, shape, dim: int, along: int) -> tuple[int, ...]:
    """A drawn index shape for ``dim`` of an input of ``shape``: up to ``along`` there, at most
    the input's size elsewhere (torch's rule for gather and the scatters)."""
    return tuple(data.draw(st.integers(1, along if k == dim else n)) for k, n in enumerate(shape))


@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_gather_index_select_take_along_dim_sort_topk_like_torch(shape, data, seed):
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape)
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    idx_shape = index_shape(data, shape, d % nd, 4)
    idx = _index(rng, shape, d % nd, idx_shape)
    sel = rng.integers(0, shape[d], data.draw(st.integers(1, 4)))
    along = rng.integers(-shape[d], shape[d], tuple(n if k == d % nd else 1 for k, n in enumerate(shape)))
    k = data.draw(st.integers(0, shape[d]))
    cases = [
        (lambda a, i: I.gather(a, d, i), lambda a, i: torch.gather(a, d, i), [x, idx]),
        (lambda a, i: I.index_select(a, d, i), lambda a, i: torch.index_select(a, d, i), [x, sel]),
        (lambda a, i: I.take_along_dim(a, i, d), lambda a, i: torch.take_along_dim(a, i, d), [x, along]),
        (lambda a, i: I.take_along_dim(a, i), lambda a, i: torch.take_along_dim(a, i), [x, idx]),
        (lambda a: I.sort(a, d, True).values, lambda a: torch.sort(a, d, True).values, [x]),
        (lambda a: I.topk(a, k, d).values, lambda a: torch.topk(a, k, d).values, [x]),
    ]
    for mc_fn, torch_fn, arrays in cases:
        double_backward_like_torch(square(mc_fn), square(torch_fn), arrays)


@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_scatter_and_scatter_add_like_torch(shape, data, seed):
    rng = np.random.default_rng(seed)
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    idx_shape = index_shape(data, shape, d % nd, shape[d] + 1)
    x, src = rng.standard_normal(shape), rng.standard_normal(idx_shape)
    idx = _index(rng, shape, d % nd, idx_shape)
    # scatter: one write per place (which of repeated writes wins is unspecified)
    unique = np.argsort(rng.random((*idx_shape[: d % nd], shape[d], *idx_shape[d % nd + 1 :])), axis=d)
    unique = np.take(unique, np.arange(min(idx_shape[d], shape[d])), axis=d)
    usrc = rng.standard_normal(unique.shape)
    value = data.draw(st.sampled_from([0.0, 2.5]))
    cases = [
        (lambda a, i, s: I.scatter(a, d, i, s), lambda a, i, s: torch.scatter(a, d, i, s), [x, unique, usrc]),
        (lambda a, i: I.scatter(a, d, i, value), lambda a, i: torch.scatter(a, d, i, value), [x, idx]),
        (lambda a, i, s: I.scatter_add(a, d, i, s), lambda a, i, s: torch.scatter_add(a, d, i, s), [x, idx, src]),
    ]
    for mc_fn, torch_fn, arrays in cases:
        double_backward_like_torch(square(mc_fn), square(torch_fn), arrays)


@SETTINGS
@given(
    shape=shapes,
    data=st.data(),
    reduce=st.sampled_from(["sum", "mean", "prod", "amax", "amin"]),
    include_self=st.booleans(),
    seed=seeds,
)
def test_scatter_reduce_like_torch(shape, data, reduce, include_self, seed):
    rng = np.random.default_rng(seed)
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    idx_shape = index_shape(data, shape, d % nd, shape[d] + 2)
    idx = _index(rng, shape, d % nd, idx_shape)
    x, src = away_from_zero(rng, shape), away_from_zero(rng, idx_shape)
    if reduce in ("amax", "amin"):  # no ties
        both = distinct(rng, (x.size + src.size,))
        x, src = both[: x.size].reshape(shape), both[x.size :].reshape(idx_shape)
    if reduce == "prod" and data.draw(st.booleans()):  # zeros: one in x, one in src (one per place at most)
        x.reshape(-1)[rng.integers(x.size)] = 0.0
        src.reshape(-1)[rng.integers(src.size)] = 0.0
    double_backward_like_torch(
        lambda a, i, s: I.scatter_reduce(a, d, i, s, reduce, include_self=include_self),
        lambda a, i, s: torch.scatter_reduce(a, d, i, s, reduce, include_self=include_self),
        [x, idx, src],
    )


def test_scatter_reduce_prod_with_two_zeros_in_a_place_refuses_double_backward_like_torch():
    x = np.array([1.5, -2.0, 0.5])
    idx = np.array([0, 0, 2])
    src = np.array([0.0, 0.0, 3.0])
    for lib, scatter_reduce in ((mc, I.scatter_reduce), (torch, torch.scatter_reduce)):
        a, s = lib.tensor(x, requires_grad=True), lib.tensor(src, requires_grad=True)
        (gs,) = lib.autograd.grad(scatter_reduce(a, 0, lib.tensor(idx), s, "prod").sum(), s, create_graph=True)
        np.testing.assert_array_equal(gs.detach().numpy(), [0.0, 0.0, 0.5])  # the first gradient is right
        with pytest.raises(RuntimeError, match="(?i)double backward is unsupported"):
            lib.autograd.grad(gs.sum(), s)


def test_scatter_with_reduce_has_no_derivative_like_torch():
    x = mc.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        y = I.scatter(x, 0, mc.tensor(np.array([1])), x[:1], reduce="multiply")
    with pytest.raises(RuntimeError, match="derivative of scatter with reduce"):
        mc.autograd.grad(y.sum(), x, create_graph=True)


def test_index_ops_gradgradcheck():
    rng = np.random.default_rng(5)
    x = away_from_zero(rng, (2, 3))
    src = away_from_zero(rng, (2, 4))  # larger than the index: the rest gets no gradient
    idx = np.array([[0, 2, 2], [1, 1, 0]])
    z = x.copy()
    z[0, 2] = 0.0
    sz = src.copy()
    sz[1, 1] = 0.0
    for fn, arrays in (
        (lambda a, i: I.gather(a * a, 1, i), [x, idx]),
        (lambda a, i, s: I.scatter(a * a, 1, i[:, :2], s * a[:, :1]), [x, np.array([[0, 2], [1, 0]]), src]),
        (lambda a, i: I.scatter(a * a, 1, i, 1.5), [x, idx]),
        (lambda a, i, s: I.scatter_add(a * a, 1, i, s * s), [x, idx, src]),
        (lambda a, i, s: I.scatter_reduce(a * a, 1, i, s, "mean", include_self=False), [x, idx, src]),
        (lambda a, i, s: I.scatter_reduce(a, 1, i, s, "prod"), [z, idx, sz]),
        (lambda a, i, s: I.scatter_reduce(a, 1, i, s, "prod", include_self=False), [x, idx, sz]),
        (lambda a, i, s: I.scatter_reduce(a * a * a, 1, i, s, "amax"), [x, idx, src]),
    ):
        gg(fn, *arrays)


@pytest.mark.parametrize("device", devices())
def test_index_ops_on_device(device):
    rng = np.random.default_rng(6)
    x, src = away_from_zero(rng, (3, 4)), away_from_zero(rng, (3, 4))
    idx = np.array([[0, 1, 1, 3], [2, 2, 0, 1], [3, 0, 0, 0]])

    def mc_fn(a, i, s):
        y = I.scatter_reduce(a, 1, i, s, "prod") + I.scatter_add(a, 1, i, s * s)
        return I.gather(y * y, 1, i) + I.sort(a, 1).values

    def torch_fn(a, i, s):
        y = torch.scatter_reduce(a, 1, i, s, "prod") + torch.scatter_add(a, 1, i, s * s)
        return torch.gather(y * y, 1, i) + torch.sort(a, 1).values

    double_backward_like_torch(mc_fn, torch_fn, [x, idx, src], device=device)


# -- padding, pixel rearrangements, embedding -------------------------------------------
@SETTINGS
@given(
    spatial=st.integers(1, 3),
    batched=st.booleans(),
    mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]),
    data=st.data(),
    seed=seeds,
)
def test_pad_like_torch(spatial, batched, mode, data, seed):
    rng = np.random.default_rng(seed)
    sizes = tuple(data.draw(st.integers(2, 4)) for _ in range(spatial))
    shape = ((2,) if batched else ()) + (2,) + sizes
    widths = []
    for n in reversed(sizes):
        low = -1 if mode in ("constant", "circular") else 0
        high = {"reflect": n - 1, "circular": n - 1}.get(mode, 3)
        widths += [data.draw(st.integers(low, high)), data.draw(st.integers(low, high))]
    value = data.draw(st.sampled_from([0.0, -1.5])) if mode == "constant" else None
    x = rng.standard_normal(shape)
    kw = {} if value is None else {"value": value}
    double_backward_like_torch(
        square(lambda a: P.pad(a, widths, mode, **kw)), square(lambda a: TF.pad(a, widths, mode, **kw)), [x]
    )


@SETTINGS
@given(r=st.integers(1, 2), c=st.integers(1, 2), h=st.integers(1, 2), w=st.integers(1, 3), seed=seeds)
def test_pixel_rearrangements_like_torch(r, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, c * r * r, h, w))
    y = rng.standard_normal((2, c, h * r, w * r))
    double_backward_like_torch(square(lambda a: X.pixel_shuffle(a, r)), square(lambda a: TF.pixel_shuffle(a, r)), [x])
    double_backward_like_torch(
        square(lambda a: X.pixel_unshuffle(a, r)), square(lambda a: TF.pixel_unshuffle(a, r)), [y]
    )
    double_backward_like_torch(
        square(lambda a: X.channel_shuffle(a, c)),
        square(lambda a: TF.channel_shuffle(a, c)),
        [rng.standard_normal((2, c * r, h, w))],
    )
    double_backward_like_torch(
        square(lambda a: X.unflatten(a, 1, (c, r * r))), square(lambda a: a.unflatten(1, (c, r * r))), [x]
    )


@SETTINGS
@given(
    num=st.integers(1, 5),
    dim=st.integers(1, 3),
    idx_shape=array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4),
    data=st.data(),
    seed=seeds,
)
def test_embedding_like_torch(num, dim, idx_shape, data, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((num, dim))
    idx = rng.integers(0, num, idx_shape)
    padding_idx = data.draw(st.none() | st.integers(-num, num - 1))
    max_norm = data.draw(st.sampled_from([None, 0.8]))
    double_backward_like_torch(
        lambda t, i: E.embedding(i, t * t, padding_idx, max_norm),
        lambda t, i: TF.embedding(i, t * t, padding_idx, max_norm),
        [w, idx],
    )


def test_embedding_scale_grad_by_freq_second_derivative_is_the_scaled_lookup():
    """torch's double backward leaves the division by the counts out (its gradgradcheck of this
    case fails); here: the first gradient is torch's and the second is checked numerically."""
    rng = np.random.default_rng(7)
    w = rng.standard_normal((5, 3))
    idx = np.array([[0, 2, 2], [4, 2, 0]])
    for padding_idx in (None, 2):
        m, t = mc.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
        v = rng.standard_normal((2, 3, 3))
        (gm,) = mc.autograd.grad(
            E.embedding(mc.tensor(idx), m, padding_idx, scale_grad_by_freq=True), m, mc.tensor(v), create_graph=True
        )
        yt = TF.embedding(torch.tensor(idx), t, padding_idx, scale_grad_by_freq=True)
        (gt,) = torch.autograd.grad(yt, t, torch.tensor(v))
        np.testing.assert_allclose(gm.numpy(), gt.numpy(), rtol=1e-12)
        gg(lambda a, i, p=padding_idx: E.embedding(i, a * a, p, scale_grad_by_freq=True), w, idx)


def test_pad_pixel_embedding_gradgradcheck():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 4, 2, 2))
    for fn in (
        lambda a: P.pad(a * a, (1, -1, 2, 0), value=0.5),
        lambda a: P.pad(a * a, (1, 1, 1, 0), "reflect"),
        lambda a: P.pad(a * a, (1, 0, 0, 1), "replicate"),
        lambda a: P.pad(a * a, (-1, 1, 1, 1), "circular"),
        lambda a: X.pixel_shuffle(a * a, 2),
        lambda a: X.pixel_unshuffle(a * a, 2),
    ):
        gg(fn, x)
    gg(lambda t, i: E.embedding(i, t * t, padding_idx=1), rng.standard_normal((3, 2)), np.array([[0, 1, 1], [2, 0, 0]]))


@pytest.mark.parametrize("device", devices())
def test_pad_pixel_embedding_on_device(device):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 4, 2, 3))
    w = rng.standard_normal((4, 6))
    idx = np.array([[0, 3, 3], [1, 0, 2]])

    def mc_fn(a, t, i):
        y = P.pad(X.pixel_shuffle(a, 2), (1, 1, 0, 1), "reflect") + P.pad(
            X.pixel_shuffle(a, 2), (1, 1, 0, 1), value=1.0
        )
        return y.sum((2, 3)) * E.embedding(i, t * t, padding_idx=3).sum(-1).mean()

    def torch_fn(a, t, i):
        s = TF.pixel_shuffle(a, 2)
        y = TF.pad(s, (1, 1, 0, 1), "reflect") + TF.pad(s, (1, 1, 0, 1), value=1.0)
        return y.sum((2, 3)) * TF.embedding(i, t * t, padding_idx=3).sum(-1).mean()

    double_backward_like_torch(mc_fn, torch_fn, [x, w, idx], device=device)


def test_two_norm_at_a_zero_vector_has_the_first_orders_zero_and_no_made_up_hessian():
    """backward gives 0 at a zero norm (torch too); the create_graph gradient is that same 0
    with a zero derivative (torch's is NaN there: its x / norm is 0 / 0), not the identity."""
    x = mc.zeros(3, dtype=mc.float64, requires_grad=True)
    (g,) = mc.autograd.grad(x.norm(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), 0.0)
    np.testing.assert_array_equal(mc.autograd.grad(g.sum(), x)[0].numpy(), 0.0)
