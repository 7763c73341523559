"""Second (and some third) derivatives (``create_graph=True``) of the neural-network ops:
activations, losses, normalisations, similarities and dropout, against torch.

Every op: a hypothesis test of forward, first gradients with a graph and second derivatives
(w.r.t. every input and the seed) against torch (``double_backward_like_torch``), and a float64
``mc.gradgradcheck`` on a tiny case. Data stay away from kinks (relu at 0, hardtanh's bounds,
softplus's threshold, hinge points), where derivatives are one-sided choices. Random ops
(dropout, rrelu in training) are compared with torch on the mask minicnn drew (same seed);
multi_margin_loss and multilabel_margin_loss with torch's formula written in torch ops (torch
has no double backward for its fused kernels).
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
from minicnn.autograd import Function

# (``minicnn.ops`` exports functions named norm and dropout, which hide those submodules)
A, L, LM, N, G, RN, S, D = (
    importlib.import_module(f"minicnn.ops.{m}")
    for m in ("activation", "loss", "loss_margin", "norm", "groupnorm", "rmsnorm", "similarity", "dropout")
)

SETTINGS = settings(max_examples=10, deadline=None)
seeds = st.integers(0, 2**16)
shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
reductions = st.sampled_from(["mean", "sum", "none"])


def tensors(arrays, device="cpu"):
    return [mc.tensor(a, requires_grad=True, device=device) for a in arrays]


def uniform(lo: float, hi: float):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def near(centres, spread: float):
    """Values within ``spread`` of one of ``centres``: chosen so that kinks lie outside."""
    return lambda rng, shape: rng.choice(centres, shape) + rng.uniform(-spread, spread, shape)


away_from_zero = near([-1.2, 1.2], 1.0)  # |x| >= 0.2

# name: (minicnn function, torch function, sampler of its input[, rtol])
ACTIVATIONS = {
    "relu": (A.relu, TF.relu, away_from_zero),
    "relu6": (A.relu6, TF.relu6, near([-1.0, 3.0, 7.0], 0.8)),
    "leaky_relu": (lambda x: A.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), away_from_zero),
    "rrelu_eval": (A.rrelu, TF.rrelu, away_from_zero),
    "sigmoid": (A.sigmoid, torch.sigmoid, uniform(-4, 4)),
    "tanh": (A.tanh, torch.tanh, uniform(-3, 3)),
    "softmax": (lambda x: A.softmax(x, -1), lambda x: TF.softmax(x, -1), uniform(-3, 3)),
    "softmax_dim0": (lambda x: A.softmax(x, 0), lambda x: TF.softmax(x, 0), uniform(-3, 3)),
    "log_softmax": (lambda x: A.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1), uniform(-3, 3)),
    "log_softmax_dim0": (lambda x: A.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0), uniform(-3, 3)),
    "softmin": (lambda x: A.softmin(x, -1), lambda x: TF.softmin(x, -1), uniform(-3, 3)),
    "softplus": (A.softplus, TF.softplus, uniform(-4, 4)),
    # beta 2, threshold 1.5: the switch to x sits at x = 0.75
    "softplus_threshold": (
        lambda x: A.softplus(x, 2.0, 1.5),
        lambda x: TF.softplus(x, 2.0, 1.5),
        near([-0.5, 1.6], 0.6),
    ),
    "gelu": (A.gelu, TF.gelu, uniform(-4, 4)),
    "gelu_tanh": (lambda x: A.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh"), uniform(-4, 4)),
    "silu": (A.silu, TF.silu, uniform(-4, 4)),
    "elu": (lambda x: A.elu(x, 1.3), lambda x: TF.elu(x, 1.3), away_from_zero),
    "selu": (A.selu, TF.selu, away_from_zero),
    # (alpha 2: torch's celu rounds 1/alpha to float32 in its float64 backward)
    "celu": (lambda x: A.celu(x, 2.0), lambda x: TF.celu(x, 2.0), away_from_zero),
    "mish": (A.mish, TF.mish, uniform(-4, 4)),
    "hardswish": (A.hardswish, TF.hardswish, near([-4.0, 0.0, 4.0], 0.8)),
    # (torch has no double backward for its hardsigmoid kernel: its formula in torch ops)
    "hardsigmoid": (A.hardsigmoid, lambda x: torch.clamp(x + 3, 0, 6) / 6, near([-4.0, 0.0, 4.0], 0.8)),
    "hardtanh": (A.hardtanh, TF.hardtanh, near([-1.6, 0.0, 1.6], 0.5)),
    "logsigmoid": (A.logsigmoid, TF.logsigmoid, uniform(-4, 4)),
    "softsign": (A.softsign, TF.softsign, away_from_zero),
    "threshold": (lambda x: A.threshold(x, 0.1, 2.0), lambda x: TF.threshold(x, 0.1, 2.0), near([-0.5, 0.7], 0.4)),
    "tanhshrink": (A.tanhshrink, TF.tanhshrink, uniform(-3, 3)),
    "softshrink": (A.softshrink, TF.softshrink, near([-1.0, 0.0, 1.0], 0.4)),
    "hardshrink": (A.hardshrink, TF.hardshrink, near([-1.0, 0.0, 1.0], 0.4)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_activation_double_backward_like_torch(name, shape, seed):
    mc_fn, torch_fn, sample, *rtol = ACTIVATIONS[name]
    x = sample(np.random.default_rng(seed), shape)
    double_backward_like_torch(mc_fn, torch_fn, [x], seed=seed, rtol=rtol[0] if rtol else None)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradgradcheck(name):
    mc_fn, _, sample, *_ = ACTIVATIONS[name]
    assert mc.gradgradcheck(mc_fn, tensors([sample(np.random.default_rng(1), (2, 3))]))


@SETTINGS
@given(n=st.integers(1, 3), half=st.integers(1, 3), dim=st.integers(-2, 1), seed=seeds)
def test_glu_double_backward_like_torch(n, half, dim, seed):
    shape = [n, n + 1]
    shape[dim] = 2 * half
    x = np.random.default_rng(seed).uniform(-3, 3, shape)
    double_backward_like_torch(lambda t: A.glu(t, dim), lambda t: TF.glu(t, dim), [x], seed=seed)


@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 4), per_channel=st.booleans(), seed=seeds)
def test_prelu_double_backward_like_torch(n, c, per_channel, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, (n, c, 2))
    w = rng.uniform(-0.5, 0.5, c if per_channel else 1)
    double_backward_like_torch(A.prelu, TF.prelu, [x, w], seed=seed)


def test_glu_and_prelu_gradgradcheck():
    rng = np.random.default_rng(2)
    assert mc.gradgradcheck(lambda t: A.glu(t, 1), tensors([rng.uniform(-2, 2, (2, 4))]))
    assert mc.gradgradcheck(A.prelu, tensors([away_from_zero(rng, (2, 3, 2)), rng.uniform(-0.5, 0.5, 3)]))


def test_inplace_activations_record_a_differentiable_graph():
    """relu_ and friends (run on the clone autograd keeps) under create_graph, as torch."""
    x = near([-1.0, 0.4, 1.2], 0.15)(np.random.default_rng(3), (3, 4))  # every kink at least 0.1 away

    def chain(t, relu, elu, leaky_relu):
        y = t * 1.5
        relu(y, inplace=True)
        w = y * y - 1
        elu(w, inplace=True)
        return leaky_relu(w * 2 + 0.5, 0.1, inplace=True)

    double_backward_like_torch(
        lambda t: chain(t, A.relu, A.elu, A.leaky_relu), lambda t: chain(t, TF.relu, TF.elu, TF.leaky_relu), [x]
    )


TIED = {
    "relu": (A.relu, TF.relu),
    "relu6": (A.relu6, TF.relu6),
    "leaky_relu": (lambda t: A.leaky_relu(t, 0.1), lambda t: TF.leaky_relu(t, 0.1)),
    "hardtanh": (A.hardtanh, TF.hardtanh),
    "threshold": (lambda t: A.threshold(t, 0.1, 2.0), lambda t: TF.threshold(t, 0.1, 2.0)),
    "rrelu_training": (
        lambda t: (mc.manual_seed(0), A.rrelu(t, training=True))[1],
        lambda t: TF.rrelu(t, training=True),
    ),
    "nll_loss": (
        lambda t: L.nll_loss(t, mc.tensor(np.array([0, 2, 1]))),
        lambda t: TF.nll_loss(t, torch.tensor([0, 2, 1])),
    ),
}


@pytest.mark.parametrize("name", sorted(TIED))
def test_piecewise_linear_ops_give_what_precedes_them_a_zero_second_gradient(name):
    """Their derivative is piecewise constant, yet as torch's it stays tied to the input's
    graph: a bias before them gets a zero gradient from a gradient penalty, not none (so an
    optimiser's weight decay still applies to it, as in torch)."""
    ours, theirs = TIED[name]
    x = away_from_zero(np.random.default_rng(15), (3, 4))
    for lib, fn in ((mc, ours), (torch, theirs)):
        xt = lib.tensor(x, requires_grad=True)
        bias = lib.tensor(np.zeros(4), requires_grad=True)
        (g,) = lib.autograd.grad(fn(xt + bias).sum(), [xt], create_graph=True)
        assert g.requires_grad
        (g * g).sum().backward()
        np.testing.assert_array_equal(bias.grad.numpy(), np.zeros(4))


# -- third derivatives: the first derivative's graph is differentiable again ------------------


def _torch_normalized(x, dim, eps=1e-5):
    centred = x - x.mean(dim, keepdim=True)
    return centred / torch.sqrt((centred * centred).mean(dim, keepdim=True) + eps)


THIRD = {
    "tanh": (A.tanh, torch.tanh),
    "sigmoid": (A.sigmoid, torch.sigmoid),
    "log_softmax": (lambda x: A.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
    "gelu": (A.gelu, TF.gelu),
    "elu": (A.elu, TF.elu),
    # torch's batch_norm has no third derivative and its layer_norm a wrong one (torch's own
    # gradgradcheck of x -> d<layer_norm(x), u>/dx fails): their formulas in torch ops
    "batch_norm": (lambda x: N.batch_norm(x, None, None, training=True), lambda x: _torch_normalized(x, 0)),
    "layer_norm": (lambda x: G.layer_norm(x, (3,)), lambda x: _torch_normalized(x, 1)),
    "cross_entropy": (
        lambda x: L.cross_entropy(x, mc.tensor(np.array([0, 2])), label_smoothing=0.1),
        lambda x: TF.cross_entropy(x, torch.tensor([0, 2]), label_smoothing=0.1),
    ),
}


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivatives_like_torch(name):
    """The second and third derivatives of an op are the first and second derivatives of its
    gradient function x -> d<f(x), u>/dx, compared with torch's."""
    f, tf = THIRD[name]
    rng = np.random.default_rng(4)
    x = away_from_zero(rng, (2, 3))
    u = rng.standard_normal((2, 3)) if name != "cross_entropy" else np.ones(())

    def ours(t):
        return mc.autograd.grad(f(t), [t], mc.tensor(u), create_graph=True)[0]

    def theirs(t):
        return torch.autograd.grad(tf(t), [t], torch.tensor(u), create_graph=True)[0]

    double_backward_like_torch(ours, theirs, [x])
    assert mc.gradgradcheck(ours, tensors([x]))


# -- losses ------------------------------------------------------------------------------------
# Each case: (rng, n, c, reduction) -> (minicnn function, torch function, arrays[, rtol]).


def _ignored(target: np.ndarray) -> int:
    """The class of the first row as ignore_index, the last row made another class (some row
    stays: with every row ignored a 'mean' is 0/0, where torch's second derivative w.r.t. the
    seed is NaN although its first gradient is 0 for every seed; minicnn's is that 0's, 0)."""
    if target.size < 2:
        return -100
    flat = target.reshape(-1)
    flat[-1] = flat[0] + 1 if flat[0] == 0 else flat[0] - 1
    return int(flat[0])


def _ce(rng, n, c, reduction, weighted=False, smoothing=0.0, ignore=False, spatial=False, unbatched=False):
    x = rng.uniform(-3, 3, (c,) if unbatched else (n, c, 2) if spatial else (n, c))
    target = rng.integers(0, c, () if unbatched else (n, 2) if spatial else (n,))
    weight = rng.uniform(0.5, 2, c) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=_ignored(target) if ignore else -100)

    def ours(t):
        return L.cross_entropy(t, mc.tensor(target), None if weight is None else mc.tensor(weight), **kw)

    def theirs(t):
        return TF.cross_entropy(t, torch.tensor(target), None if weight is None else torch.tensor(weight), **kw)

    return ours, theirs, [x]


def _nll(rng, n, c, reduction, weighted=True, ignore=True, spatial=False):
    x = rng.uniform(-3, 0, (n, c, 2) if spatial else (n, c))
    target = rng.integers(0, c, (n, 2) if spatial else (n,))
    weight = rng.uniform(0.5, 2, c) if weighted else None
    kw = dict(reduction=reduction, ignore_index=_ignored(target) if ignore else -100)

    def ours(t):
        return L.nll_loss(t, mc.tensor(target), None if weight is None else mc.tensor(weight), **kw)

    def theirs(t):
        return TF.nll_loss(t, torch.tensor(target), None if weight is None else torch.tensor(weight), **kw)

    return ours, theirs, [x]


PLAIN = uniform(-2, 2)


def _pair(ours, theirs, x_sample=PLAIN, t_sample=PLAIN, weight=False, **kw):
    """A loss of (input, target[, weight]), every one of them differentiable."""

    def case(rng, n, c, reduction):
        arrays = [x_sample(rng, (n, c)), t_sample(rng, (n, c))] + ([rng.uniform(0.5, 2, (n, c))] if weight else [])

        def call(fn, a, b, w=None):
            return fn(a, b, reduction=reduction, **kw, **({} if w is None else {"weight": w}))

        return (lambda *a: call(ours, *a)), (lambda *a: call(theirs, *a)), arrays

    return case


def _torch_l1(a, b, reduction, weight=None):
    """torch's l1_loss in torch ops (its abs has an "efficient zero" second derivative, which
    .numpy() refuses)."""
    d = a - b
    loss = torch.where(d > 0, d, -d) * (1 if weight is None else weight)
    if reduction == "mean" and weight is not None:
        return loss.sum() / weight.sum()
    return _reduce_torch(loss, reduction)


def _off_diagonal(rng, n, c, spread=0.4):
    """Targets and inputs that keep every difference at least 0.1 from the pair losses' kinks."""
    return near([-1.5, 0.0, 1.5], spread)(rng, (n, c)), near([-1.5, 0.0, 1.5], spread)(rng, (n, c))


def _bce(rng, n, c, reduction):
    x, t, w = rng.uniform(0.05, 0.95, (n, c)), rng.uniform(0, 1, (n, c)), rng.uniform(0.5, 2, (n, c))
    return (
        lambda a, b: L.binary_cross_entropy(a, b, mc.tensor(w), reduction=reduction),
        lambda a, b: TF.binary_cross_entropy(a, b, torch.tensor(w), reduction=reduction),
        [x, t],
    )


def _bce_logits(rng, n, c, reduction):
    x, t = rng.uniform(-3, 3, (n, c)), rng.uniform(0, 1, (n, c))
    w, pw = rng.uniform(0.5, 2, (n, c)), rng.uniform(0.5, 2, c)
    return (
        lambda a, b: L.binary_cross_entropy_with_logits(
            a, b, mc.tensor(w), reduction=reduction, pos_weight=mc.tensor(pw)
        ),
        lambda a, b: TF.binary_cross_entropy_with_logits(
            a, b, torch.tensor(w), reduction=reduction, pos_weight=torch.tensor(pw)
        ),
        [x, t],
    )


def _kl(log_target):
    def case(rng, n, c, reduction):
        red = "batchmean" if reduction == "mean" else reduction
        t = rng.uniform(-2, 0, (n, c)) if log_target else rng.uniform(0.05, 1, (n, c))
        return (
            lambda a, b: L.kl_div(a, b, reduction=red, log_target=log_target),
            lambda a, b: TF.kl_div(a, b, reduction=red, log_target=log_target),
            [rng.uniform(-3, 0, (n, c)), t],
        )

    return case


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


def _soft_margin(rng, n, c, reduction):
    y = _signs(rng, (n, c))
    return (
        lambda a: LM.soft_margin_loss(a, mc.tensor(y), reduction=reduction),
        lambda a: TF.soft_margin_loss(a, torch.tensor(y), reduction=reduction),
        [rng.uniform(-3, 3, (n, c))],
    )


def _poisson(log_input, full):
    def case(rng, n, c, reduction):
        x = rng.uniform(-2, 1, (n, c)) if log_input else rng.uniform(0.2, 3, (n, c))
        t = rng.uniform(0.1, 4, (n, c))
        kw = dict(log_input=log_input, full=full, reduction=reduction)
        return (lambda a, b: LM.poisson_nll_loss(a, b, **kw)), (lambda a, b: TF.poisson_nll_loss(a, b, **kw)), [x, t]

    return case


def _gaussian(rng, n, c, reduction):
    x, t, v = rng.uniform(-2, 2, (n, c)), rng.uniform(-2, 2, (n, c)), rng.uniform(0.3, 2, (n, 1))
    kw = dict(full=True, reduction=reduction)
    return (lambda *a: LM.gaussian_nll_loss(*a, **kw)), (lambda *a: TF.gaussian_nll_loss(*a, **kw)), [x, t, v]


def _margin_ranking(rng, n, c, reduction):
    a, b = _off_diagonal(rng, n, c)
    y = _signs(rng, (n, c))
    kw = dict(margin=0.05, reduction=reduction)  # the kink is at y (a - b) = 0.05: data differ by 0.1 or 1.5 +- 0.8
    return (
        lambda p, q: LM.margin_ranking_loss(p, q, mc.tensor(y), **kw),
        lambda p, q: TF.margin_ranking_loss(p, q, torch.tensor(y), **kw),
        [a, b + near([-0.3, 0.3], 0.1)(rng, (n, c))],
    )


def _hinge(rng, n, c, reduction):
    x, y = near([0.3, 1.7], 0.2)(rng, (n, c)), _signs(rng, (n, c))  # margin 1: away from 1
    return (
        lambda a: LM.hinge_embedding_loss(a, mc.tensor(y), reduction=reduction),
        lambda a: TF.hinge_embedding_loss(a, torch.tensor(y), reduction=reduction),
        [x],
    )


def _multilabel_soft_margin(rng, n, c, reduction):
    x, y, w = rng.uniform(-3, 3, (n, c)), rng.uniform(0, 1, (n, c)), rng.uniform(0.5, 2, c)
    return (
        lambda a, b, v: LM.multilabel_soft_margin_loss(a, b, v, reduction=reduction),
        lambda a, b, v: TF.multilabel_soft_margin_loss(a, b, v, reduction=reduction),
        [x, y, w],
    )


def _reduce_torch(loss, reduction):
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()


def _multi_margin(rng, n, c, reduction, p=2):
    """torch's formula 1/C sum_{i != y} w_y max(0, margin - x_y + x_i)^p in torch ops; integer
    steps plus 0.25 +- 0.2 keep margin - x_y + x_i (margin 1) from 0."""
    x = rng.integers(-2, 3, (n, c)) + near([-0.25, 0.25], 0.1)(rng, (n, c))
    y, w = rng.integers(0, c, n), rng.uniform(0.5, 2, c)
    others = torch.tensor(y[:, None] != np.arange(c))

    def theirs(t):
        z = torch.clamp(1.0 - t.gather(1, torch.tensor(y)[:, None]) + t, min=0) ** p
        loss = (torch.where(others, z, 0) * torch.tensor(w[y])[:, None]).sum(1) / c
        return _reduce_torch(loss, reduction)

    return lambda t: LM.multi_margin_loss(t, mc.tensor(y), p, weight=mc.tensor(w), reduction=reduction), theirs, [x]


def _multilabel_margin(rng, n, c, reduction):
    """1/C sum over (target j, non-target i) of max(0, 1 - x_j + x_i), in torch ops."""
    x = rng.integers(-2, 3, (n, c)) + near([-0.25, 0.25], 0.1)(rng, (n, c))
    target = np.full((n, c), -1)
    pairs = np.zeros((n, c, c))
    for r in range(n):
        listed = rng.permutation(c)[: rng.integers(1, c + 1)]
        target[r, : len(listed)] = listed
        others = np.setdiff1d(np.arange(c), listed)
        pairs[r, listed[:, None], others[None, :]] = 1

    def theirs(t):
        z = torch.clamp(1 - t[:, :, None] + t[:, None, :], min=0)
        return _reduce_torch((z * torch.tensor(pairs)).sum((1, 2)) / c, reduction)

    return lambda t: LM.multilabel_margin_loss(t, mc.tensor(target), reduction=reduction), theirs, [x]


def _triplet(swap):
    def case(rng, n, c, reduction):
        a, p, q = rng.uniform(-2, 2, (3, n, c))
        kw = dict(margin=5.0, swap=swap, reduction=reduction)  # margin 5: every hinge is active
        return (lambda *t: LM.triplet_margin_loss(*t, **kw)), (lambda *t: TF.triplet_margin_loss(*t, **kw)), [a, p, q]

    return case


def _triplet_distance(rng, n, c, reduction):
    a, p, q = rng.uniform(-2, 2, (3, n, c))
    kw = dict(margin=5.0, reduction=reduction)
    return (
        lambda *t: LM.triplet_margin_with_distance_loss(*t, **kw),
        lambda *t: TF.triplet_margin_with_distance_loss(*t, **kw),
        [a, p, q],
    )


def _cosine_embedding(rng, n, c, reduction):
    a, b, y = rng.uniform(-2, 2, (n, c + 1)), rng.uniform(-2, 2, (n, c + 1)), _signs(rng, n)
    kw = dict(margin=-1.5, reduction=reduction)  # cos > -1 > -1.5: the hinge is active
    return (
        lambda p, q: LM.cosine_embedding_loss(p, q, mc.tensor(y), **kw),
        lambda p, q: TF.cosine_embedding_loss(p, q, torch.tensor(y), **kw),
        [a, b],
    )


LOSSES = {
    "cross_entropy": _ce,
    "cross_entropy_weight_smoothing_ignore": lambda *a: _ce(*a, weighted=True, smoothing=0.2, ignore=True),
    "cross_entropy_spatial": lambda *a: _ce(*a, weighted=True, smoothing=0.1, spatial=True),
    "cross_entropy_unbatched": lambda *a: _ce(*a, smoothing=0.1, unbatched=True),
    "nll_loss": _nll,
    "nll_loss_spatial_unweighted": lambda *a: _nll(*a, weighted=False, ignore=False, spatial=True),
    "mse_loss": _pair(L.mse_loss, TF.mse_loss),
    "mse_loss_weight": _pair(L.mse_loss, TF.mse_loss, weight=True),
    "l1_loss": _pair(L.l1_loss, _torch_l1, near([-1.0, 1.0], 0.5), uniform(-0.4, 0.4)),
    "l1_loss_weight": _pair(L.l1_loss, _torch_l1, near([-1.0, 1.0], 0.5), uniform(-0.4, 0.4), weight=True),
    "smooth_l1_loss": _pair(L.smooth_l1_loss, TF.smooth_l1_loss, near([-1.5, 0.0, 1.5], 0.3), beta=0.8),
    "huber_loss_weight": _pair(L.huber_loss, TF.huber_loss, near([-1.5, 0.0, 1.5], 0.3), weight=True, delta=0.8),
    "binary_cross_entropy": _bce,
    "binary_cross_entropy_with_logits": _bce_logits,
    "kl_div": _kl(False),
    "kl_div_log_target": _kl(True),
    "soft_margin_loss": _soft_margin,
    "poisson_nll_loss": _poisson(True, False),
    "poisson_nll_loss_full": _poisson(True, True),
    "poisson_nll_loss_rates": _poisson(False, True),
    "gaussian_nll_loss": _gaussian,
    "margin_ranking_loss": _margin_ranking,
    "hinge_embedding_loss": _hinge,
    "multilabel_soft_margin_loss": _multilabel_soft_margin,
    "multi_margin_loss": _multi_margin,
    "multi_margin_loss_p1": lambda *a: _multi_margin(*a, p=1),
    "multilabel_margin_loss": _multilabel_margin,
    "triplet_margin_loss": _triplet(False),
    "triplet_margin_loss_swap": _triplet(True),
    "triplet_margin_with_distance_loss": _triplet_distance,
    "cosine_embedding_loss": _cosine_embedding,
}


@pytest.mark.parametrize("name", sorted(LOSSES))
@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(2, 4), reduction=reductions, seed=seeds)
def test_loss_double_backward_like_torch(name, n, c, reduction, seed):
    ours, theirs, arrays = LOSSES[name](np.random.default_rng(seed), n, c, reduction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning
        # atol: a reduced loss's second derivative w.r.t. the seed sums terms of both signs
        double_backward_like_torch(ours, theirs, arrays, seed=seed, atol=1e-9)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradgradcheck(name):
    ours, _, arrays = LOSSES[name](np.random.default_rng(5), 2, 3, "mean")
    assert mc.gradgradcheck(ours, tensors(arrays))


def test_cross_entropy_first_gradient_with_a_graph_keeps_torch_rules_for_ignored_rows():
    """Every row ignored under 'mean' (0/0): the gradient is 0, as the first-order backward's
    and torch's; a kept row of weight 0 next to ignored ones gives NaN, as theirs."""
    x = np.random.default_rng(6).uniform(-2, 2, (3, 4))
    for target, weight in ((np.array([1, 1, 1]), np.ones(4)), (np.array([1, 2, 1]), np.array([1.0, 1, 0, 1]))):
        xt = tensors([x])[0]
        y = L.cross_entropy(xt, mc.tensor(target), mc.tensor(weight), ignore_index=1)
        (g,) = mc.autograd.grad(y, [xt], create_graph=True)
        y.backward()
        tt = torch.tensor(x, requires_grad=True)
        TF.cross_entropy(tt, torch.tensor(target), torch.tensor(weight), ignore_index=1).backward()
        np.testing.assert_array_equal(g.numpy(), xt.grad.numpy())
        np.testing.assert_array_equal(g.numpy(), tt.grad.numpy())


# -- normalisation -----------------------------------------------------------------------------


@SETTINGS
@given(n=st.integers(2, 3), c=st.integers(1, 3), spatial=st.sampled_from([(), (3,), (2, 2)]), seed=seeds)
def test_batch_norm_training_double_backward_like_torch(n, c, spatial, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.uniform(-2, 2, (n, c, *spatial)), rng.uniform(0.5, 1.5, c), rng.uniform(-1, 1, c)
    rm, rv = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)
    double_backward_like_torch(
        lambda *t: N.batch_norm(t[0], mc.tensor(rm), mc.tensor(rv), *t[1:], training=True, momentum=0.2),
        lambda *t: TF.batch_norm(t[0], torch.tensor(rm), torch.tensor(rv), *t[1:], training=True, momentum=0.2),
        [x, w, b],
        seed=seed,
    )


@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), affine=st.booleans(), seed=seeds)
def test_batch_norm_eval_double_backward_like_torch(n, c, affine, seed):
    rng = np.random.default_rng(seed)
    x, rm, rv = rng.uniform(-2, 2, (n, c, 3)), rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)
    params = [rng.uniform(0.5, 1.5, c), rng.uniform(-1, 1, c)] if affine else []
    double_backward_like_torch(
        lambda *t: N.batch_norm(t[0], mc.tensor(rm), mc.tensor(rv), *t[1:], training=False),
        lambda *t: TF.batch_norm(t[0], torch.tensor(rm), torch.tensor(rv), *t[1:], training=False),
        [x, *params],
        seed=seed,
    )


def test_batch_norm_running_statistics_are_updated_once_per_forward():
    """A gradient-penalty-like step: forward, create_graph gradient, backward of a function of
    it. The running statistics move once, as torch's (the composite that the second pass
    differentiates never touches them); the parameters' gradients equal torch's."""
    rng = np.random.default_rng(7)
    x, w, b = rng.uniform(-2, 2, (4, 3, 2, 2)), rng.uniform(0.5, 1.5, 3), rng.uniform(-1, 1, 3)
    rm, rv = rng.uniform(-1, 1, 3), rng.uniform(0.5, 2, 3)
    results = []
    for lib, grad, fn in ((mc, mc.autograd.grad, N.batch_norm), (torch, torch.autograd.grad, TF.batch_norm)):
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        running = lib.tensor(rm.copy()), lib.tensor(rv.copy())
        y = fn(xt, *running, wt, bt, True, 0.3)
        (gx,) = grad((y * y * y).sum(), [xt], create_graph=True)
        (gx * gx).sum().backward()
        results.append([r.numpy() for r in running] + [t.grad.numpy() for t in (xt, wt, bt)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


def test_instance_norm_running_statistics_are_updated_once_per_forward():
    rng = np.random.default_rng(8)
    x = rng.uniform(-2, 2, (2, 3, 4))
    results = []
    for lib, grad, fn in ((mc, mc.autograd.grad, G.instance_norm), (torch, torch.autograd.grad, TF.instance_norm)):
        xt = lib.tensor(x, requires_grad=True)
        running = lib.tensor(np.zeros(3)), lib.tensor(np.ones(3))
        y = fn(xt, *running, momentum=0.4)
        (gx,) = grad((y * y * y).sum(), [xt], create_graph=True)
        (gx * gx).sum().backward()
        results.append([r.numpy() for r in running] + [xt.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


def _norm_case(name, rng, n, c):
    """(minicnn function, torch function, arrays) of a row normalisation with its parameters."""
    x = rng.uniform(-2, 2, (n, c, 3))
    w, b = rng.uniform(0.5, 1.5, c), rng.uniform(-1, 1, c)
    if name == "layer_norm":
        w2, b2 = rng.uniform(0.5, 1.5, (c, 3)), rng.uniform(-1, 1, (c, 3))
        ours, theirs = (lambda *t: G.layer_norm(t[0], (c, 3), *t[1:])), (lambda *t: TF.layer_norm(t[0], (c, 3), *t[1:]))
        return ours, theirs, [x, w2, b2]
    if name == "layer_norm_last":
        return (lambda t: G.layer_norm(t, 3)), (lambda t: TF.layer_norm(t, (3,))), [x]
    if name == "group_norm":
        x = rng.uniform(-2, 2, (n, 2 * c, 2))
        w, b = rng.uniform(0.5, 1.5, 2 * c), rng.uniform(-1, 1, 2 * c)
        return (lambda *t: G.group_norm(t[0], 2, *t[1:])), (lambda *t: TF.group_norm(t[0], 2, *t[1:])), [x, w, b]
    if name == "instance_norm":
        return (
            lambda *t: G.instance_norm(t[0], weight=t[1], bias=t[2]),
            lambda *t: TF.instance_norm(t[0], weight=t[1], bias=t[2]),
            [x, w, b],
        )
    if name == "rms_norm":
        ours, theirs = (lambda *t: RN.rms_norm(t[0], (c, 3), t[1])), (lambda *t: TF.rms_norm(t[0], (c, 3), t[1]))
        return ours, theirs, [x, rng.uniform(0.5, 1.5, (c, 3))]
    if name == "rms_norm_eps":
        return (lambda t: RN.rms_norm(t, 3, eps=0.1)), (lambda t: TF.rms_norm(t, (3,), eps=0.1)), [x]
    if name == "local_response_norm":
        x = rng.uniform(-2, 2, (n, c + 2, 2, 2))
        kw = dict(size=3, alpha=0.5, beta=0.75, k=1.0)
        return (lambda t: N.local_response_norm(t, **kw)), (lambda t: TF.local_response_norm(t, **kw)), [x]
    assert name == "local_response_norm_even"
    x = rng.uniform(-2, 2, (n, c + 2, 3))
    kw = dict(size=2, alpha=0.3, beta=0.6, k=2.0)
    return (lambda t: N.local_response_norm(t, **kw)), (lambda t: TF.local_response_norm(t, **kw)), [x]


NORMS = [
    "layer_norm",
    "layer_norm_last",
    "group_norm",
    "instance_norm",
    "rms_norm",
    "rms_norm_eps",
    "local_response_norm",
    "local_response_norm_even",
]


@pytest.mark.parametrize("name", NORMS)
@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), seed=seeds)
def test_norm_double_backward_like_torch(name, n, c, seed):
    ours, theirs, arrays = _norm_case(name, np.random.default_rng(seed), n, c)
    double_backward_like_torch(ours, theirs, arrays, seed=seed)


@pytest.mark.parametrize("name", NORMS)
def test_norm_gradgradcheck(name):
    ours, _, arrays = _norm_case(name, np.random.default_rng(9), 2, 1)
    assert mc.gradgradcheck(ours, tensors(arrays))


def test_batch_norm_gradgradcheck():
    rng = np.random.default_rng(10)
    x, w, b = rng.uniform(-2, 2, (3, 2, 2)), rng.uniform(0.5, 1.5, 2), rng.uniform(-1, 1, 2)
    rm, rv = mc.tensor(np.zeros(2)), mc.tensor(np.ones(2))
    assert mc.gradgradcheck(lambda *t: N.batch_norm(t[0], None, None, *t[1:], training=True), tensors([x, w, b]))
    assert mc.gradgradcheck(lambda *t: N.batch_norm(t[0], rm, rv, *t[1:]), tensors([x, w, b]))


# -- similarity ----------------------------------------------------------------------------------


SIMILARITY = {
    "cosine_similarity": (S.cosine_similarity, TF.cosine_similarity),
    "cosine_similarity_last": (lambda a, b: S.cosine_similarity(a, b, -1), lambda a, b: TF.cosine_similarity(a, b, -1)),
    "pairwise_distance": (S.pairwise_distance, TF.pairwise_distance),
    "pairwise_distance_p3": (lambda a, b: S.pairwise_distance(a, b, 3.0), lambda a, b: TF.pairwise_distance(a, b, 3.0)),
    "normalize": (lambda a, b: S.normalize(a * b), lambda a, b: TF.normalize(a * b)),
}


@pytest.mark.parametrize("name", sorted(SIMILARITY))
@SETTINGS
@given(n=st.integers(1, 3), d=st.integers(1, 4), broadcast=st.booleans(), seed=seeds)
def test_similarity_double_backward_like_torch(name, n, d, broadcast, seed):
    ours, theirs = SIMILARITY[name]
    rng = np.random.default_rng(seed)
    a, b = away_from_zero(rng, (n, d)), away_from_zero(rng, (1 if broadcast else n, d))
    double_backward_like_torch(ours, theirs, [a, b], seed=seed)


@pytest.mark.parametrize("name", sorted(SIMILARITY))
def test_similarity_gradgradcheck(name):
    ours, _ = SIMILARITY[name]
    rng = np.random.default_rng(11)
    assert mc.gradgradcheck(ours, tensors([away_from_zero(rng, (2, 3)), away_from_zero(rng, (2, 3))]))


def test_cosine_similarity_first_gradient_at_a_zero_vector_with_a_graph():
    """At a zero vector (norm clamped to eps) the gradient with a graph equals the plain one
    and torch's: the norm's gradient there is 0, the clamp passes it unchanged."""
    a = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
    b = np.array([[0.5, 1.0, -1.0], [2.0, 0.3, 0.1]])
    ma, mb = tensors([a, b])
    g = mc.autograd.grad(S.cosine_similarity(ma, mb).sum(), [ma, mb], create_graph=True)
    S.cosine_similarity(ma, mb).sum().backward()
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    TF.cosine_similarity(ta, tb).sum().backward()
    for ours, plain, theirs in zip(g, (ma.grad, mb.grad), (ta.grad, tb.grad)):
        np.testing.assert_allclose(ours.numpy(), plain.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9)


# -- dropout and other random ops: the second pass reuses the forward's draw ---------------------


RANDOM = {
    "dropout": lambda t: D.dropout(t, 0.4),
    "dropout1d": lambda t: D.dropout1d(t.reshape(t.shape[0], -1, 2), 0.4).reshape(t.shape),
    "dropout2d": lambda t: D.dropout2d(t, 0.4),
    "dropout3d": lambda t: D.dropout3d(t.reshape(*t.shape, 1), 0.4).reshape(t.shape),
    "alpha_dropout": lambda t: D.alpha_dropout(t, 0.3, training=True),
    "feature_alpha_dropout": lambda t: D.feature_alpha_dropout(t, 0.3, training=True),
    "rrelu_training": lambda t: A.rrelu(t * t - 1, training=True),
}


def _seeded(fn, seed):
    def run(t):
        mc.manual_seed(seed)
        return fn(t)

    return run


def _drawn_affine_map(fn, shape):
    """(scale, shift) of the random affine map x -> fn(x) that ``fn`` draws (fn seeded)."""
    with mc.no_grad():
        shift = fn(mc.tensor(np.zeros(shape))).numpy()
        return fn(mc.tensor(np.ones(shape))).numpy() - shift, shift


@pytest.mark.parametrize("name", sorted(RANDOM))
@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), seed=seeds)
def test_random_op_double_backward_like_torch_with_the_drawn_mask(name, n, c, seed):
    rng = np.random.default_rng(seed)
    shape = (n, c, 2, 2)
    ours = _seeded(RANDOM[name], seed)
    x = rng.uniform(-2, 2, shape)
    if name == "rrelu_training":  # y = slope(x) * (x^2 - 1): the drawn slopes, away from x^2 = 1
        x = near([-2.0, 0.0, 2.0], 0.6)(rng, shape)
        with mc.no_grad():
            z = x * x - 1
            slope = ours(mc.tensor(x)).numpy() / z

        def theirs(t):
            return torch.tensor(slope) * (t * t - 1)

    else:
        scale, shift = _drawn_affine_map(ours, shape)

        def theirs(t):
            return t * torch.tensor(scale) + torch.tensor(shift)

    double_backward_like_torch(ours, theirs, [x], seed=seed)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_op_gradgradcheck(name):
    x = near([-2.0, 0.0, 2.0], 0.6)(np.random.default_rng(12), (2, 2, 2, 1))
    assert mc.gradgradcheck(_seeded(RANDOM[name], 3), tensors([x]))


# -- every family once on each device ------------------------------------------------------------


FAMILIES = {
    "activations": lambda rng: (
        lambda t: A.log_softmax(A.gelu(A.leaky_relu(t, 0.1) + A.tanh(t)), 1),
        lambda t: TF.log_softmax(TF.gelu(TF.leaky_relu(t, 0.1) + torch.tanh(t)), 1),
        [away_from_zero(rng, (2, 3))],
    ),
    "losses": lambda rng: (
        lambda t: (
            L.cross_entropy(t, mc.tensor(np.array([2, 0]), device=t.device), label_smoothing=0.1)
            + L.binary_cross_entropy_with_logits(t, A.sigmoid(t * 2).detach())
        ),
        lambda t: (
            TF.cross_entropy(t, torch.tensor([2, 0]), label_smoothing=0.1)
            + TF.binary_cross_entropy_with_logits(t, torch.sigmoid(t * 2).detach())
        ),
        [rng.uniform(-2, 2, (2, 3))],
    ),
    "norms": lambda rng: (
        lambda t: N.local_response_norm(N.batch_norm(t, None, None, training=True), 2) + G.group_norm(t, 1),
        lambda t: TF.local_response_norm(TF.batch_norm(t, None, None, training=True), 2) + TF.group_norm(t, 1),
        [rng.uniform(-2, 2, (2, 3, 2))],
    ),
    "similarity": lambda rng: (S.cosine_similarity, TF.cosine_similarity, [rng.uniform(-2, 2, (2, 3, 2))] * 2),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_on_device(family, device):
    ours, theirs, arrays = FAMILIES[family](np.random.default_rng(13))
    double_backward_like_torch(ours, theirs, arrays, device=device)


@pytest.mark.parametrize("device", devices())
def test_dropout_on_device(device):
    ours = _seeded(lambda t: D.dropout2d(t, 0.5), 4)
    x = np.random.default_rng(14).uniform(-2, 2, (2, 3, 2, 2))
    mask = ours(mc.tensor(np.ones(x.shape), device=device)).numpy()
    double_backward_like_torch(ours, lambda t: t * torch.tensor(mask), [x], device=device)


# -- coverage ------------------------------------------------------------------------------------


def test_every_function_of_these_modules_has_a_double_backward():
    """linear, a composite, or its own backward_graph (else the engine's NotImplementedError);
    a pointwise loss either gives its loss in ops (graph) or its own backward_graph."""
    missing = []
    for module in (A, L, LM, N, G, RN, S, D):
        for name, cls in vars(module).items():
            if not (isinstance(cls, type) and issubclass(cls, Function) and cls.__module__ == module.__name__):
                continue
            own = cls.backward_graph is not Function.backward_graph
            if issubclass(cls, L._PointwiseLoss) and cls is not L._PointwiseLoss:
                if cls.graph is L._PointwiseLoss.graph and cls.backward_graph is Function.backward_graph:
                    missing.append(name)
            elif not (cls.linear or hasattr(cls, "composite") or own):
                missing.append(name)
    assert not missing, f"no double backward: {missing}"


def test_elu_second_derivative_at_zero_takes_the_positive_side_as_torch():
    x = np.array([0.0, -1.0, 2.0])
    out = []
    for lib in (mc, torch):
        t = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad(lib.nn.functional.elu(t).sum(), t, create_graph=True)
        out.append((g.detach().numpy(), lib.autograd.grad(g.sum(), t)[0].numpy()))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "hardtanh"])
def test_third_derivative_through_piecewise_linear_activations_stays_tied(name):
    """The seed's derivative of relu's gradient is relu's mask again, still tied to x: a third
    pass gives zeros, as torch, not an error."""
    out = []
    for lib in (mc, torch):
        x = lib.tensor([-1.0, 2.0], requires_grad=True)
        v = lib.ones(2, requires_grad=True)
        (g,) = lib.autograd.grad(getattr(lib.nn.functional, name)(x), x, v, create_graph=True)
        (gv,) = lib.autograd.grad(g.sum(), v, create_graph=True)
        out.append(lib.autograd.grad(gv.sum(), x)[0].numpy())
    np.testing.assert_array_equal(out[0], out[1])


TIED_CONSTANT = {
    "prelu_constant_weight": lambda L, x: L.nn.functional.prelu(x, L.tensor([0.25], dtype=L.float64)),
    "batch_norm_eval": lambda L, x: L.nn.functional.batch_norm(
        x, L.zeros(2, dtype=L.float64), L.ones(2, dtype=L.float64), training=False
    ),
    "instance_norm_running_stats": lambda L, x: L.nn.functional.instance_norm(
        x, L.zeros(2, dtype=L.float64), L.ones(2, dtype=L.float64), use_input_stats=False
    ),
}


@pytest.mark.parametrize("name", sorted(TIED_CONSTANT))
def test_constant_first_gradient_stays_tied_to_the_input_as_torch(name):
    """With constant parameters these gradients do not depend on x; torch's still carry an
    edge to x, so differentiating them again gives zeros, not an error."""
    fn = TIED_CONSTANT[name]
    x = np.random.default_rng(0).standard_normal((2, 2, 3))
    for lib in (mc, torch):
        t = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad(fn(lib, t).sum(), t, create_graph=True)
        assert g.requires_grad
        (gg,) = lib.autograd.grad((g * g).sum(), t, allow_unused=True)
        assert gg is None or not gg.numpy().any()
