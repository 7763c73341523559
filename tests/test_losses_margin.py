"""Margin, embedding and likelihood losses (minicnn/ops/loss_margin.py, minicnn/nn/loss_margin.py)
against torch: forward and gradients of every differentiable input on hypothesis-drawn shapes,
settings, reductions and dtypes (unbatched and broadcast inputs, targets at the hinge points,
zero vectors, variances below eps), float64 gradchecks, legacy size_average/reduce, mixed
dtypes, empty batches, errors (both raise, the same exception class), the modules' signatures,
attributes, reprs and state dicts, and one run of every loss on each device."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minicnn as mc
from minicnn.nn import loss_margin as NM
from minicnn.nn.distance import CosineSimilarity
from minicnn.ops import loss_margin as LM
from minicnn.ops.similarity import cosine_similarity

SETTINGS = settings(max_examples=40, deadline=None)
REDUCTIONS = st.sampled_from(["none", "sum", "mean"])
FLOATS = st.sampled_from([np.float32, np.float64])
F32_TOL = dict(rtol=2e-5, atol=1e-5)

NAMES = [
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "cosine_embedding_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
]
MODULES = {
    "margin_ranking_loss": "MarginRankingLoss",
    "hinge_embedding_loss": "HingeEmbeddingLoss",
    "soft_margin_loss": "SoftMarginLoss",
    "multilabel_soft_margin_loss": "MultiLabelSoftMarginLoss",
    "multi_margin_loss": "MultiMarginLoss",
    "multilabel_margin_loss": "MultiLabelMarginLoss",
    "triplet_margin_loss": "TripletMarginLoss",
    "triplet_margin_with_distance_loss": "TripletMarginWithDistanceLoss",
    "cosine_embedding_loss": "CosineEmbeddingLoss",
    "poisson_nll_loss": "PoissonNLLLoss",
    "gaussian_nll_loss": "GaussianNLLLoss",
}


def _tol(dtype):
    return F32_TOL if dtype == np.float32 else {}


def _pair(name, **kw):
    """(ours, torch's) loss ``name`` with the keyword arguments fixed. multi_margin_loss takes
    a third tensor as its ``weight`` (p and margin come first)."""

    def call(fn, a):
        if name == "multi_margin_loss" and len(a) == 3:
            return fn(*a[:2], weight=a[2], **kw)
        return fn(*a, **kw)

    return (lambda *a: call(getattr(LM, name), a)), (lambda *a: call(getattr(TF, name), a))


def _quarters(rng, shape, lo=-8, hi=8):
    """Multiples of 1/4 (exact in binary): hinge points z = 0 are hit exactly, where torch and
    minicnn both give the subgradient 0."""
    return rng.integers(lo, hi + 1, shape) / 4


def _squash(shape, rng):
    """``shape`` with some sizes turned to 1 (the same number of dims, broadcasting back)."""
    return tuple(1 if rng.uniform() < 0.3 else n for n in shape)


# -- margin ranking, hinge embedding, soft margin ------------------------------------------


@SETTINGS
@given(
    shape=array_shapes(min_dims=0, max_dims=3, max_side=4),
    margin=st.sampled_from([0.0, 0.25, 1.0, -0.5]),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_margin_ranking_loss(shape, margin, reduction, dtype, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = _quarters(rng, _squash(shape, rng)), _quarters(rng, _squash(shape, rng))
    y = rng.choice([-1.0, 1.0, 0.5, -2.0], _squash(shape, rng))
    ours, theirs = _pair("margin_ranking_loss", margin=margin, reduction=reduction)
    compare_with_torch(ours, theirs, [x1, x2, y], dtype=dtype, **_tol(dtype))


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
    margin=st.sampled_from([1.0, 0.5, 0.0, -0.75]),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_hinge_embedding_loss(shapes, margin, reduction, dtype, seed):
    """Broadcast shapes; targets 1, -1 and others (which take both terms, as torch's formula)."""
    rng = np.random.default_rng(seed)
    xs, ts = shapes.input_shapes
    x = _quarters(rng, xs)
    y = rng.choice([1.0, -1.0, -1.0, 0.0, 2.0], ts)
    ours, theirs = _pair("hinge_embedding_loss", margin=margin, reduction=reduction)
    compare_with_torch(ours, theirs, [x, y], grad_inputs=[True, False], dtype=dtype, **_tol(dtype))


@SETTINGS
@given(
    shape=array_shapes(min_dims=0, max_dims=3, max_side=4),
    suffix=st.integers(0, 3),
    scale=st.sampled_from([1.0, 5.0, 15.0]),  # (float32's exp overflows past 88: torch's inf, see below)
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_soft_margin_loss(shape, suffix, scale, reduction, dtype, seed):
    """The target broadcasts to the input (a trailing part of its shape, some sizes 1)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    t_shape = _squash(shape[len(shape) - min(suffix, len(shape)) :], rng)
    y = rng.choice([1.0, -1.0, 0.3], t_shape)
    ours, theirs = _pair("soft_margin_loss", reduction=reduction)
    compare_with_torch(ours, theirs, [x, y], grad_inputs=[True, False], dtype=dtype, **_tol(dtype))


def test_soft_margin_loss_is_stable_where_torch_overflows():
    """A documented difference: torch's log1p(exp(-y x)) is inf (and its gradient nan) once
    exp overflows; this is softplus computed stably, so -y x = 1000 gives 1000 and gradient -1."""
    x = mc.tensor(np.array([-1000.0, 1000.0, -100.0], np.float32), requires_grad=True)
    loss = LM.soft_margin_loss(x, mc.tensor(np.ones(3, np.float32)), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1000.0, 0.0, 100.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 0.0, -1.0])
    assert np.isinf(TF.soft_margin_loss(torch.tensor([-1000.0]), torch.ones(1)).item())


# -- multi-label soft margin, multi margin, multi-label margin -----------------------------


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=4),
    weighted=st.sampled_from(["none", "classes", "full"]),
    hard=st.booleans(),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_multilabel_soft_margin_loss(shape, weighted, hard, reduction, dtype, seed):
    """(C,), (N, C) or more dims; 0/1 labels or probabilities; weight (C,) or input-shaped.
    Input, target and weight all get gradients (torch's composition)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    t = rng.integers(0, 2, shape).astype(float) if hard else rng.uniform(0, 1, shape)
    arrays = [x, t]
    if weighted != "none":
        arrays.append(rng.uniform(0.2, 2.0, shape[-1:] if weighted == "classes" else shape))

    def ours(a, b, *w):
        return LM.multilabel_soft_margin_loss(a, b, *w, reduction=reduction)

    def theirs(a, b, *w):
        return TF.multilabel_soft_margin_loss(a, b, *w, reduction=reduction)

    compare_with_torch(ours, theirs, arrays, dtype=dtype, **_tol(dtype))


@SETTINGS
@given(
    batch=st.sampled_from([None, 0, 1, 3, 5]),
    classes=st.integers(1, 5),
    p=st.sampled_from([1, 2]),
    margin=st.sampled_from([1.0, 0.5, 0.0, -0.25]),
    weighted=st.booleans(),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_multi_margin_loss(batch, classes, p, margin, weighted, reduction, dtype, seed):
    """(N, C) with target (N,), unbatched (C,) with a 0-d target; quarter-grid scores, so
    margin - x_y + x_i = 0 happens (gradient 0 in both)."""
    if batch == 0:
        reduction = "none"  # torch's 'sum' and 'mean' of no samples are uninitialised memory (test_empty_batch)
    rng = np.random.default_rng(seed)
    x = _quarters(rng, (classes,) if batch is None else (batch, classes), -4, 4)
    t = rng.integers(0, classes, () if batch is None else (batch,))
    arrays = [x, t] + ([rng.uniform(0.2, 2.0, classes)] if weighted else [])

    def ours(a, b, *w):
        return LM.multi_margin_loss(a, b, p, margin, *w, reduction=reduction)

    def theirs(a, b, *w):
        return TF.multi_margin_loss(a, b, p, margin, *w, reduction=reduction)

    compare_with_torch(ours, theirs, arrays, grad_inputs=[True, False, False][: len(arrays)], dtype=dtype)


def _label_lists(rng, n, c, dup):
    """Per row: some classes (repeated if ``dup``), then -1, then anything in [-1, C)."""
    t = rng.integers(-1, c, (n, c))
    for row in t:
        k = rng.integers(0, c + 1)
        row[:k] = rng.integers(0, c, k) if dup else rng.permutation(c)[:k]
        if k < c:
            row[k] = -1
    return t


@SETTINGS
@given(
    batch=st.sampled_from([None, 0, 1, 2, 4]),
    classes=st.integers(1, 6),
    dup=st.booleans(),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_multilabel_margin_loss(batch, classes, dup, reduction, dtype, seed):
    """Targets listed before the first -1 (duplicates count twice), garbage after it; (N, C)
    or unbatched (C,); quarter-grid scores hit 1 - x_j + x_i = 0 exactly."""
    if batch == 0:
        reduction = "none"  # as in test_multi_margin_loss
    rng = np.random.default_rng(seed)
    n = 1 if batch is None else batch
    x = _quarters(rng, (n, classes), -4, 4)
    t = _label_lists(rng, n, classes, dup)
    if batch is None:
        x, t = x[0], t[0]
    ours, theirs = _pair("multilabel_margin_loss", reduction=reduction)
    compare_with_torch(ours, theirs, [x, t], grad_inputs=[True, False], dtype=dtype)


def test_multi_class_margin_losses_odd_shapes():
    """torch accepts a 0-d input (one class: the only class is the target), and for
    multi_margin_loss any target with N elements: 'none' then has the target's shape."""
    x = np.array([[0.5, -0.25, 1.0]])
    for reduction in ("none", "mean"):
        ours, theirs = _pair("multi_margin_loss", reduction=reduction)
        for arrays in ([np.array(0.5), np.array(0)], [x, np.array(2)], [x[0], np.array([1])], [x[0], np.array(1)]):
            compare_with_torch(ours, theirs, arrays, [True, False])
        for t in (np.array(0), np.array([-1])):
            compare_with_torch(*_pair("multilabel_margin_loss", reduction=reduction), [np.array(0.5), t], [True, False])


# -- triplet and cosine embedding ----------------------------------------------------------


def _triplet_arrays(rng, shape):
    return [rng.standard_normal(_squash(shape, rng)) for _ in range(3)]


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=4),
    margin=st.sampled_from([1.0, 0.3, 2.5]),
    p=st.sampled_from([2.0, 1.0, 3.0, 1.5, math.inf]),
    eps=st.sampled_from([1e-6, 0.0, 0.1]),
    swap=st.booleans(),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_triplet_margin_loss(shape, margin, p, eps, swap, reduction, dtype, seed):
    """(N, D), (D,) or more dims, broadcasting (the same number of dims); any p."""
    rng = np.random.default_rng(seed)
    ours, theirs = _pair("triplet_margin_loss", margin=margin, p=p, eps=eps, swap=swap, reduction=reduction)
    compare_with_torch(ours, theirs, _triplet_arrays(rng, shape), dtype=dtype, **_tol(dtype))


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=4),
    distance=st.sampled_from(["default", "cosine", "l1"]),
    margin=st.sampled_from([1.0, 0.3]),
    swap=st.booleans(),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_triplet_margin_with_distance_loss(shape, distance, margin, swap, reduction, dtype, seed):
    rng = np.random.default_rng(seed)
    ours_d, theirs_d = {
        "default": (None, None),
        "cosine": (
            lambda a, b: 1 - cosine_similarity(a, b, dim=-1),
            lambda a, b: 1 - TF.cosine_similarity(a, b, dim=-1),
        ),
        "l1": (lambda a, b: (a - b).abs().sum(-1), lambda a, b: (a - b).abs().sum(-1)),
    }[distance]

    def ours(*a):
        return LM.triplet_margin_with_distance_loss(
            *a, distance_function=ours_d, margin=margin, swap=swap, reduction=reduction
        )

    def theirs(*a):
        return TF.triplet_margin_with_distance_loss(
            *a, distance_function=theirs_d, margin=margin, swap=swap, reduction=reduction
        )

    compare_with_torch(ours, theirs, _triplet_arrays(rng, shape), dtype=dtype, **_tol(dtype))


@SETTINGS
@given(
    batch=st.sampled_from([None, 0, 1, 3, 5]),
    dim=st.integers(0, 4),
    bcast=st.sampled_from(["none", "input2", "target"]),
    zero_rows=st.booleans(),
    margin=st.sampled_from([0.0, 0.3, -0.4]),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_cosine_embedding_loss(batch, dim, bcast, zero_rows, margin, reduction, dtype, seed):
    """(N, D) inputs with a (N,) target (or (1,) / a (1, D) input2 broadcast), or (D,) with a
    0-d target; targets 1, -1 and others (loss 0); zero vectors (cos 0, a large finite gradient)."""
    rng = np.random.default_rng(seed)
    shape = (dim,) if batch is None else (batch, dim)
    x1, x2 = rng.standard_normal(shape), rng.standard_normal(shape)
    # a gradient that is 0 up to rounding carries the rounding of terms of size g / ||x||: nonzero
    # entries of at least 1e-2 keep those below 100 (as test_losses_more's cosine_similarity)
    x1, x2 = (np.where(np.abs(v) < 1e-2, np.copysign(1e-2, v), v) for v in (x1, x2))
    y = rng.choice([1.0, -1.0, -1.0, 0.0], () if batch is None else (batch,))
    if zero_rows:
        x1[..., :] *= rng.integers(0, 2, shape[:-1] + (1,))
    if batch is not None and bcast == "input2":
        x2 = x2[:1]
    if batch is not None and bcast == "target":
        y = y[:1] if batch else y
    ours, theirs = _pair("cosine_embedding_loss", margin=margin, reduction=reduction)
    compare_with_torch(ours, theirs, [x1, x2, y], grad_inputs=[True, True, False], dtype=dtype, **_tol(dtype))


# -- Poisson and Gaussian NLL --------------------------------------------------------------


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
    log_input=st.booleans(),
    full=st.booleans(),
    eps=st.sampled_from([1e-8, 0.1]),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_poisson_nll_loss(shapes, log_input, full, eps, reduction, dtype, seed):
    """Broadcast shapes; counts 0 and 1 (the edges of Stirling's term, where torch's target
    gradient is 0 for 0 < t <= 1 and nan at t = 0) and non-integer targets."""
    rng = np.random.default_rng(seed)
    xs, ts = shapes.input_shapes
    x = rng.uniform(-2, 2, xs) if log_input else rng.uniform(0.05, 3, xs)
    t = np.where(rng.uniform(size=ts) < 0.3, rng.integers(0, 2, ts), rng.uniform(0, 5, ts))
    ours, theirs = _pair("poisson_nll_loss", log_input=log_input, full=full, eps=eps, reduction=reduction)
    compare_with_torch(ours, theirs, [x, t], dtype=dtype, **_tol(dtype))


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=4),
    var_kind=st.sampled_from(["same", "short", "one", "number"]),
    target_bcast=st.booleans(),
    small=st.booleans(),
    full=st.booleans(),
    eps=st.sampled_from([1e-6, 0.05]),
    reduction=REDUCTIONS,
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
def test_gaussian_nll_loss(shape, var_kind, target_bcast, small, full, eps, reduction, dtype, seed):
    """var of the input's shape, without its last dim, with one dim of size 1, or a number;
    variances at and below eps (clamped, the gradient passed on unchanged, as torch)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    t = rng.standard_normal(shape[1:] if target_bcast else shape)
    if var_kind == "number":
        var = float(rng.choice([0.0, 0.5, 2.0]) if small else rng.uniform(0.1, 2))
        compare_with_torch(
            *_pair("gaussian_nll_loss", var=var, full=full, eps=eps, reduction=reduction),
            [x, t],
            dtype=dtype,
            **_tol(dtype),
        )
        return
    v_shape = {"same": shape, "short": shape[:-1], "one": shape[:-1] + (1,)}[var_kind]
    v = rng.uniform(0.1, 2.0, v_shape)
    if small:
        v = np.where(rng.uniform(size=v_shape) < 0.4, rng.choice([0.0, 1e-8, eps], v_shape), v)

    def ours(a, b, c):
        return LM.gaussian_nll_loss(a, b, c, full=full, eps=eps, reduction=reduction)

    def theirs(a, b, c):
        return TF.gaussian_nll_loss(a, b, c, full=full, eps=eps, reduction=reduction)

    compare_with_torch(ours, theirs, [x, t, v], dtype=dtype, **_tol(dtype))


# -- fixed cases: gradchecks, devices, empty batches, legacy reductions, modules ------------


def _fixed(name, rng, n=3):
    """(arrays, which need a gradient, keyword arguments) of a small case of loss ``name``,
    with values away from the hinge points (gradcheck's central differences)."""

    def r(*shape):
        return rng.uniform(-2, 2, shape)

    signs = rng.choice([-1.0, 1.0], n)
    cases = {
        "margin_ranking_loss": ([r(n), r(n), signs * 1.5], [1, 1, 1], {"margin": 0.3}),
        "hinge_embedding_loss": ([r(n, 2), np.stack([signs, -signs], 1)], [1, 0], {"margin": 1.5}),
        "soft_margin_loss": ([r(n, 2), np.stack([signs, -signs], 1)], [1, 0], {}),
        "multilabel_soft_margin_loss": ([r(n, 4), rng.uniform(0, 1, (n, 4)), rng.uniform(0.5, 2, 4)], [1, 1, 1], {}),
        "multi_margin_loss": (
            [r(n, 4), rng.integers(0, 4, n), rng.uniform(0.5, 2, 4)],
            [1, 0, 0],
            {"p": 2, "margin": 0.7},
        ),
        "multilabel_margin_loss": ([r(n, 4), _label_lists(rng, n, 4, True)], [1, 0], {}),
        "triplet_margin_loss": ([r(n, 4), r(n, 4), r(n, 4)], [1, 1, 1], {"margin": 2.0, "p": 3.0, "swap": True}),
        "triplet_margin_with_distance_loss": ([r(n, 4), r(n, 4), r(n, 4)], [1, 1, 1], {"margin": 2.0, "swap": True}),
        "cosine_embedding_loss": ([r(n, 4), r(n, 4), signs], [1, 1, 0], {"margin": -0.5}),
        "poisson_nll_loss": ([r(n, 2), rng.uniform(0.5, 4, (n, 2))], [1, 1], {"full": True}),
        "gaussian_nll_loss": ([r(n, 2), r(n, 2), rng.uniform(0.5, 2, (n, 1))], [1, 1, 1], {"full": True}),
    }
    arrays, grads, kw = cases[name]
    return arrays, [bool(g) for g in grads], kw


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name):
    rng = np.random.default_rng(7)
    arrays, grads, kw = _fixed(name, rng)
    inputs = [mc.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    for reduction in ("none", "mean"):
        assert mc.gradcheck(_pair(name, reduction=reduction, **kw)[0], inputs)


@pytest.mark.parametrize("device", devices())
def test_every_loss_on_device(device):
    rng = np.random.default_rng(3)
    for name in NAMES:
        arrays, grads, kw = _fixed(name, rng)
        for reduction in ("none", "mean"):
            compare_with_torch(*_pair(name, reduction=reduction, **kw), arrays, grad_inputs=grads, device=device)


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch(name):
    """'none' keeps the empty batch, 'sum' is 0, 'mean' is nan, and backward runs. torch's
    multi_margin_loss and multilabel_margin_loss return uninitialised memory for that 'sum' and
    'mean' (checked against those values here); the others agree with torch."""
    arrays, grads, kw = _fixed(name, np.random.default_rng(0), n=0)
    for reduction in ("none", "sum", "mean"):
        if reduction != "none" and name in ("multi_margin_loss", "multilabel_margin_loss"):
            inputs = [mc.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no NumPy warning either
                out = _pair(name, reduction=reduction, **kw)[0](*inputs)
                out.backward()
            np.testing.assert_array_equal(out.numpy(), 0.0 if reduction == "sum" else np.nan)
            assert inputs[0].grad.shape == inputs[0].shape
            continue
        compare_with_torch(*_pair(name, reduction=reduction, **kw), arrays, grad_inputs=grads)


def test_targets_at_the_hinge_points():
    """z = 0 exactly at every hinge: the gradient there is 0, in torch and here."""
    x = np.array([0.5, 1.0, -0.25, 2.0])
    compare_with_torch(
        *_pair("margin_ranking_loss", margin=0.5, reduction="sum"), [x, x - 0.5, np.ones(4)]
    )  # z = -(x1 - x2) + 0.5 = 0
    compare_with_torch(
        *_pair("hinge_embedding_loss", margin=1.0, reduction="sum"), [x, -np.ones(4)], grad_inputs=[True, False]
    )
    scores = np.array([[1.0, 0.0, 2.0], [0.5, 1.5, 1.5]])  # margin - x_y + x_i = 0 at (0, 0) and (1, 0)
    for p in (1, 2):
        compare_with_torch(
            *_pair("multi_margin_loss", p=p, reduction="sum"), [scores, np.array([2, 2])], grad_inputs=[True, False]
        )
    compare_with_torch(
        *_pair("multilabel_margin_loss", reduction="sum"), [scores, np.array([[2, -1, 0], [1, 2, -1]])], [True, False]
    )
    anchor, pos, neg = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]])
    compare_with_torch(*_pair("triplet_margin_loss", eps=0.0), [anchor, pos, neg])  # margin + 1 - 2 = 0


def test_poisson_full_target_gradient_nan_at_zero():
    """torch's masked Stirling term differentiates 0 * log t: the target's gradient is nan at
    t = 0 (and t < 0), 0 for 0 < t <= 1."""
    t = np.array([0.0, 0.5, 1.0, 3.0, -1.0])
    compare_with_torch(*_pair("poisson_nll_loss", full=True, reduction="sum"), [np.zeros(5), t])
    t_in = mc.tensor(t, requires_grad=True)
    LM.poisson_nll_loss(mc.tensor(np.zeros(5)), t_in, full=True, reduction="sum").backward()
    assert np.isnan(t_in.grad.numpy()[[0, 4]]).all() and (t_in.grad.numpy()[1:3] == 0.0).all()


LEGACY = [n for n in NAMES if "size_average" in inspect.signature(getattr(LM, n)).parameters]
ENUM_REDUCTION = [n for n in LEGACY if n not in ("multilabel_soft_margin_loss", "poisson_nll_loss")]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_size_average_and_reduce(name):
    arrays, grads, kw = _fixed(name, np.random.default_rng(1))
    for size_average, reduce, expected in [(False, None, "sum"), (None, False, "none"), (True, True, "mean")]:
        legacy = dict(kw, size_average=size_average, reduce=reduce)
        mc_fn, torch_fn = _pair(name, **legacy)
        with pytest.warns(UserWarning, match=f"reduction='{expected}'"):
            ours = mc_fn(*[mc.tensor(a) for a in arrays])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = torch_fn(*[torch.tensor(a) for a in arrays])
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_elementwise_mean_alias(name):
    """torch's deprecated 'elementwise_mean' is 'mean' (with a warning) where torch reads the
    reduction through _Reduction.get_enum; the losses that compare the string refuse it."""
    arrays, _, kw = _fixed(name, np.random.default_rng(1))
    ours = [mc.tensor(a) for a in arrays]
    theirs = [torch.tensor(a) for a in arrays]
    mc_fn, torch_fn = _pair(name, reduction="elementwise_mean", **kw)
    if name in ENUM_REDUCTION:
        with pytest.warns(UserWarning, match="elementwise_mean"):
            got = mc_fn(*ours)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_allclose(got.numpy(), torch_fn(*theirs).numpy())
    else:
        with pytest.raises(ValueError):
            torch_fn(*theirs)
        with pytest.raises(ValueError, match="reduction"):
            mc_fn(*ours)
    mc_fn, torch_fn = _pair(name, reduction="batchmean", **kw)
    with pytest.raises(ValueError):
        torch_fn(*theirs)
    with pytest.raises(ValueError, match="reduction"):
        mc_fn(*ours)


MIXED = [  # (loss, arrays with their dtypes, keyword arguments): the result dtype follows torch
    ("margin_ranking_loss", [np.float32, np.float32, np.float64], {}),
    ("margin_ranking_loss", [np.float32, np.float32, np.int64], {}),
    ("hinge_embedding_loss", [np.float32, np.float64], {}),
    ("hinge_embedding_loss", [np.float64, np.int64], {}),
    ("soft_margin_loss", [np.float32, np.float64], {}),
    ("soft_margin_loss", [np.float32, np.int64], {}),
    ("soft_margin_loss", [np.float64, np.float32], {}),
    ("multilabel_soft_margin_loss", [np.float32, np.float64], {}),
    ("multilabel_soft_margin_loss", [np.float32, np.int64], {}),
    ("triplet_margin_loss", [np.float64, np.float32, np.float32], {}),
    ("cosine_embedding_loss", [np.float32, np.float32, np.float64], {}),
    ("cosine_embedding_loss", [np.float32, np.float64, np.int64], {}),
    ("poisson_nll_loss", [np.float32, np.float64], {}),
    ("poisson_nll_loss", [np.float32, np.int64], {"full": True}),
    ("gaussian_nll_loss", [np.float32, np.float32, np.float64], {}),
    ("gaussian_nll_loss", [np.float32, np.float64, np.float32], {}),
]


@pytest.mark.parametrize("name, dtypes, kw", MIXED)
def test_mixed_dtypes(name, dtypes, kw):
    arrays, _, fixed_kw = _fixed(name, np.random.default_rng(4))
    arrays = [np.rint(a) if np.dtype(d).kind == "i" else a for a, d in zip(arrays, dtypes)]
    arrays = [a.astype(d) for a, d in zip(arrays, dtypes)]
    mc_fn, torch_fn = _pair(name, **{**fixed_kw, **kw, "reduction": "none"})
    ours = mc_fn(*[mc.tensor(a) for a in arrays])
    theirs = torch_fn(*[torch.tensor(a) for a in arrays])
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_integer_inputs_are_refused():
    """A decision: torch computes some of these losses on integer inputs (in a float or even an
    integer result) and refuses others; minicnn refuses them all with a TypeError."""
    ints = mc.tensor(np.arange(6).reshape(2, 3))
    for call in [
        lambda: LM.margin_ranking_loss(ints, ints, ints),
        lambda: LM.hinge_embedding_loss(ints, ints),
        lambda: LM.soft_margin_loss(ints, ints),
        lambda: LM.multilabel_soft_margin_loss(ints, ints),
        lambda: LM.multi_margin_loss(ints, mc.tensor([0, 1])),
        lambda: LM.multilabel_margin_loss(ints, ints),
        lambda: LM.triplet_margin_loss(ints, ints, ints),
        lambda: LM.cosine_embedding_loss(ints, ints, mc.tensor([1, 1])),
        lambda: LM.poisson_nll_loss(ints, ints),
        lambda: LM.gaussian_nll_loss(ints, ints, 1.0),
    ]:
        with pytest.raises(TypeError):
            call()


# -- errors: torch raises, and so does minicnn, with the same exception class ---------------


def _a(*shape, dtype=np.float32):
    return np.random.default_rng(0).uniform(0.1, 1, shape).astype(dtype)


def _i(*values):
    return np.array(values, dtype=np.int64)


ERRORS = [
    ("margin_ranking_loss", [_a(3), _a(3), _a(1, 3)], {}),  # different numbers of dims
    ("margin_ranking_loss", [_a(3), _a(2), _a(3)], {}),  # no broadcast
    ("margin_ranking_loss", [_a(3), _a(3), _a(3)], {"reduction": "avg"}),
    ("hinge_embedding_loss", [_a(3), _a(2)], {}),
    ("soft_margin_loss", [_a(3, 1), _a(1, 2)], {}),  # the target must broadcast to the input
    ("soft_margin_loss", [_a(2), _a(3, 2)], {}),
    ("multilabel_soft_margin_loss", [_a(), _a()], {}),  # no class dim
    ("multilabel_soft_margin_loss", [_a(2, 3), _a(2, 3), _a(4)], {}),
    ("multi_margin_loss", [_a(2, 3), _i(0, 1)], {"p": 3}),
    ("multi_margin_loss", [_a(2, 3), _i(0, 1), _a(1, 3)], {}),  # 2-d weight (the 3rd tensor: weight=)
    ("multi_margin_loss", [_a(2, 3), _i(0, 1), _a(4)], {}),
    ("multi_margin_loss", [_a(2, 3), _i(0, 1), _a(3, dtype=np.float64)], {}),
    ("multi_margin_loss", [_a(2, 3), np.array([0.0, 1.0])], {}),  # float target
    ("multi_margin_loss", [_a(2, 3), _i(0, 3)], {}),  # out of range
    ("multi_margin_loss", [_a(2, 3), _i(-1, 0)], {}),
    ("multi_margin_loss", [_a(2, 3), _i(0, 1, 1)], {}),
    ("multi_margin_loss", [_a(2, 3, 1), _i(0, 1)], {}),
    ("multi_margin_loss", [_a(2, 0), _i(0, 0)], {}),
    ("multilabel_margin_loss", [_a(2, 3), _i(0, 1, -1)], {}),  # target shape
    ("multilabel_margin_loss", [_a(3), _i([0, 1, -1])], {}),
    ("multilabel_margin_loss", [_a(2, 3), _i([0, 3, -1], [0, -1, 0])], {}),  # out of range
    ("multilabel_margin_loss", [_a(2, 3), _i([0, -1, 3], [0, -1, 0])], {}),  # after the -1 too
    ("multilabel_margin_loss", [_a(2, 3), _i([0, -2, 1], [0, -1, 0])], {}),
    ("multilabel_margin_loss", [_a(2, 3), np.zeros((2, 3))], {}),
    ("multilabel_margin_loss", [_a(1, 2, 2), np.zeros((1, 2, 2), np.int64)], {}),
    ("triplet_margin_loss", [_a(2, 3), _a(2, 3), _a(2, 3)], {"margin": 0.0}),
    ("triplet_margin_loss", [_a(2, 3), _a(3), _a(2, 3)], {}),
    ("triplet_margin_loss", [_a(2, 3), _a(2, 3), _a(2, 4)], {}),
    ("triplet_margin_with_distance_loss", [_a(2, 3), _a(2, 3), _a(2, 3)], {"margin": -1.0}),
    ("triplet_margin_with_distance_loss", [_a(2, 3), _a(3), _a(2, 3)], {}),
    ("cosine_embedding_loss", [_a(2, 3), _a(2, 3), _a(2, 1)], {}),
    ("cosine_embedding_loss", [_a(3), _a(3), _a(1)], {}),
    ("cosine_embedding_loss", [_a(2, 3), _a(2, 3), _a()], {}),
    ("cosine_embedding_loss", [_a(2, 3), _a(3), _a(2)], {}),
    ("cosine_embedding_loss", [_a(2, 3), _a(2, 3), _a(3)], {}),
    ("cosine_embedding_loss", [_a(2, 3), _a(2, 4), _a(2)], {}),
    ("poisson_nll_loss", [_a(2, 3), _a(2, 2)], {}),
    ("gaussian_nll_loss", [_a(2, 3), _a(2, 3), -_a(2, 3)], {}),
    ("gaussian_nll_loss", [_a(2, 3), _a(2, 3), _a(2, 2)], {}),
    ("gaussian_nll_loss", [_a(2, 3), _a(2, 3), _a(3)], {}),
    ("gaussian_nll_loss", [_a(2, 3), _a(2, 3), _a()], {}),
    ("gaussian_nll_loss", [_a(2, 3), _a(2, 3), np.ones((2, 3), np.int64)], {}),
    ("gaussian_nll_loss", [_a(2, 3), _a(2, 4), _a(2, 3)], {}),
]


@pytest.mark.parametrize("case", range(len(ERRORS)), ids=lambda i: f"{ERRORS[i][0]}-{i}")
def test_errors_match_torch(case):
    name, arrays, kw = ERRORS[case]
    mc_fn, torch_fn = _pair(name, **kw)
    with pytest.raises(Exception) as theirs:
        torch_fn(*[torch.tensor(a) for a in arrays])
    expected = type(theirs.value)
    with pytest.raises(expected):
        mc_fn(*[mc.tensor(a) for a in arrays])


def test_errors_of_numbers_and_non_differentiable_arguments():
    x = _a(2, 3)
    for fn in (TF.gaussian_nll_loss, LM.gaussian_nll_loss):
        tensor = torch.tensor if fn is TF.gaussian_nll_loss else mc.tensor
        with pytest.raises(ValueError, match="negative"):
            fn(tensor(x), tensor(x), -0.5)
    for lib, tensor in ((TF, torch.tensor), (LM, mc.tensor)):
        with pytest.raises(RuntimeError, match="not differentiable"):
            lib.soft_margin_loss(tensor(x), tensor(x, requires_grad=True))
        with pytest.raises(RuntimeError, match="not differentiable"):
            lib.multi_margin_loss(tensor(x), tensor(_i(0, 1)), weight=tensor(_a(3), requires_grad=True))
    with mc.no_grad():  # allowed when nothing is recorded
        LM.soft_margin_loss(mc.tensor(x), mc.tensor(x, requires_grad=True))


# -- modules -------------------------------------------------------------------------------


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


MODULE_SETTINGS = {  # non-default constructor arguments and the attributes torch sets
    "MarginRankingLoss": ({"margin": 0.5}, ["margin"]),
    "HingeEmbeddingLoss": ({"margin": 2.0}, ["margin"]),
    "SoftMarginLoss": ({}, []),
    "MultiLabelSoftMarginLoss": ({"weight": [0.5, 1.0, 2.0, 1.5]}, []),
    "MultiMarginLoss": ({"p": 2, "margin": 0.7, "weight": [0.5, 1.0, 2.0, 1.5]}, ["p", "margin"]),
    "MultiLabelMarginLoss": ({}, []),
    "TripletMarginLoss": ({"margin": 2.0, "p": 3.0, "eps": 1e-3, "swap": True}, ["margin", "p", "eps", "swap"]),
    "TripletMarginWithDistanceLoss": ({"margin": 2.0, "swap": True}, ["margin", "swap"]),
    "CosineEmbeddingLoss": ({"margin": -0.5}, ["margin"]),
    "PoissonNLLLoss": ({"log_input": False, "full": True, "eps": 1e-4}, ["log_input", "full", "eps"]),
    "GaussianNLLLoss": ({"full": True, "eps": 1e-3}, ["full", "eps"]),
}


@pytest.mark.parametrize("name", NAMES)
def test_module_signature_attributes_repr_and_forward(name):
    cls_name = MODULES[name]
    cls, tcls = getattr(NM, cls_name), getattr(tnn, cls_name)
    assert _params(cls.__init__) == _params(tcls.__init__)
    assert [p for p, *_ in _params(cls.forward)] == [p for p, *_ in _params(tcls.forward)]
    assert _params(getattr(LM, name)) == _params(getattr(TF, name))
    kw, attributes = MODULE_SETTINGS[cls_name]
    for args in ({}, dict(kw, reduction="sum")):
        m = cls(**{k: mc.tensor(v) if isinstance(v, list) else v for k, v in args.items()})
        tm = tcls(**{k: torch.tensor(v) if isinstance(v, list) else v for k, v in args.items()})
        assert repr(m) == repr(tm)
        for attr in attributes + ["reduction"]:
            assert getattr(m, attr) == getattr(tm, attr), attr
        assert list(m.state_dict()) == list(tm.state_dict())
        for key, value in tm.state_dict().items():
            np.testing.assert_array_equal(np.asarray(m.state_dict()[key]), value.numpy())
    # the module computes its functional with its settings
    arrays, grads, _ = _fixed(name, np.random.default_rng(5))
    if "weight" in kw:
        arrays = arrays[:2]
    out = m(*[mc.tensor(a.astype(np.float32) if a.dtype.kind == "f" else a) for a in arrays])
    expected = tm(*[torch.tensor(a.astype(np.float32) if a.dtype.kind == "f" else a) for a in arrays])
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_module_legacy_arguments_and_refusals():
    for name in ("MarginRankingLoss", "SoftMarginLoss", "MultiMarginLoss", "TripletMarginLoss", "PoissonNLLLoss"):
        with pytest.warns(UserWarning, match="reduction='none'"):
            m = getattr(NM, name)(reduce=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert m.reduction == "none" == getattr(tnn, name)(reduce=False).reduction
    for lib, tensor in ((tnn, torch.tensor), (NM, mc.tensor)):
        with pytest.raises(ValueError):
            lib.MultiMarginLoss(p=3)
        with pytest.raises(ValueError, match="1D"):
            lib.MultiMarginLoss(weight=tensor(np.ones((2, 2))))
        with pytest.raises(ValueError, match="margin"):
            lib.TripletMarginLoss(margin=0.0)
        with pytest.raises(ValueError, match="margin"):
            lib.TripletMarginWithDistanceLoss(margin=-1.0)


def test_triplet_with_distance_module_holds_its_distance():
    """The default distance is a PairwiseDistance child (in the repr, as torch's); a Module
    distance is a child too; a plain function is an attribute."""
    ours, theirs = NM.TripletMarginWithDistanceLoss(), tnn.TripletMarginWithDistanceLoss()
    assert repr(ours) == repr(theirs) and "PairwiseDistance" in repr(ours)
    ours = NM.TripletMarginWithDistanceLoss(distance_function=CosineSimilarity(dim=-1), margin=0.5)
    theirs = tnn.TripletMarginWithDistanceLoss(distance_function=tnn.CosineSimilarity(dim=-1), margin=0.5)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(6)
    arrays = _triplet_arrays(rng, (3, 4))
    np.testing.assert_allclose(
        ours(*[mc.tensor(a) for a in arrays]).numpy(), theirs(*[torch.tensor(a) for a in arrays]).numpy(), rtol=1e-12
    )

    def distance(a, b):
        return (a - b).abs().sum(-1)

    assert repr(NM.TripletMarginWithDistanceLoss(distance_function=distance)) == "TripletMarginWithDistanceLoss()"
    assert NM.TripletMarginWithDistanceLoss(distance_function=distance).distance_function is distance


def test_loss_modules_share_torchs_bases_and_warn_at_the_building_line():
    """Every loss module is a _Loss (as in torch); a legacy size_average warning points at the
    line that builds the loss, also when a loss subclass builds another loss inside."""
    import warnings

    import minicnn.nn.loss as NL

    for name in ("HuberLoss", "TripletMarginWithDistanceLoss", "GaussianNLLLoss", "MSELoss", "MultiMarginLoss"):
        assert isinstance(getattr(mc.nn, name)(), NL._Loss), name

    class Combo(mc.nn.MSELoss):
        def __init__(self):
            super().__init__()
            self.inner = mc.nn.L1Loss(size_average=False)  # the warning's line

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        Combo()
    assert got[0].filename == __file__
    assert "self.inner = mc.nn.L1Loss" in open(__file__).read().splitlines()[got[0].lineno - 1]
