"""Margin, embedding and likelihood losses, as ``torch.nn.functional``: margin ranking, hinge
embedding, soft margin, multi-label soft margin, multi-class margin (``multi_margin_loss``),
multi-label margin, triplet margin (p-norm or any distance), cosine embedding, Poisson NLL and
Gaussian NLL.

Each takes torch's arguments (with the deprecated ``size_average``/``reduce`` where torch has
them), shape rules and reductions: 'none' keeps the per-element (or per-sample) losses, 'sum'
adds them, 'mean' averages them (nan for no elements, as torch). Most are compositions of
differentiable Tensor ops written as torch's own formula, so autograd gives torch's gradients,
kinks included: a hinge max(0, z) passes the gradient only where z > 0. Three are Functions:
soft margin and Poisson NLL (pointwise, on :class:`~minicnn.ops.loss._PointwiseLoss`: stable,
no warnings where torch's composite computes 0 * log 0) and the Gaussian NLL's variance clamp.

Shapes: N samples, C classes, D features. Cost: a few elementwise passes over the inputs;
``multilabel_margin_loss`` compares every class with every other, O(N C^2) time and memory.

Errors: wrong shapes raise :class:`ShapeError` (a ValueError that is torch's RuntimeError), a
float target where class indices belong :class:`DtypeError` (a TypeError that is torch's
RuntimeError), a bad ``reduction``, ``p`` or ``margin`` ValueError, as torch. Class indices out
of range raise RuntimeError and a negative variance ValueError (on a GPU at the next host read,
:func:`minicnn.backend.raise_if`).
Integer inputs are refused (TypeError): torch computes some of these losses on them, in a
float result or even an integer one, and refuses others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..kernels.scatter import add_at
from .activation import Softplus, _stable_sigmoid, _stable_softplus, logsigmoid
from .errors import DtypeError, ShapeError
from .index import gather
from .loss import (
    _as_loss_tensor,
    _check_reduction,
    _float_target,
    _not_differentiable,
    _PointwiseLoss,
    _reduction,
    legacy_reduction,
)
from .math import clamp, log, minimum, require_float, sqrt, where
from .similarity import ClampKeepGrad, pairwise_distance

_COSINE_EPS = float(np.float32(1e-12))  # added to the squared norms (torch's: a C float, 9.99999996e-13)


# -- helpers -------------------------------------------------------------------------------


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.numel() == 0:  # torch's mean of nothing is nan (and NumPy's would warn)
        return loss.sum() * math.nan
    return loss.mean()


def _broadcast(op: str, **shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of the named shapes; ShapeError naming them when there is none."""
    try:
        return tuple(np.broadcast_shapes(*shapes.values()))
    except ValueError:
        named = ", ".join(f"{name} of shape {shape}" for name, shape in shapes.items())
        raise ShapeError(f"{op}: {named} do not broadcast together") from None


def _same_ndim(op: str, **tensors: Tensor) -> None:
    if len({t.ndim for t in tensors.values()}) > 1:
        shapes = ", ".join(f"{name} {t.shape}" for name, t in tensors.items())
        raise ShapeError(f"{op}: all inputs must have the same number of dimensions, got {shapes}")


def _class_target(op: str, target: Any, like: Tensor) -> Tensor:
    """Integer class indices as a Tensor on ``like``'s device (torch wants int64; any integer
    dtype is accepted here, as by cross_entropy)."""
    target = target if isinstance(target, Tensor) else Tensor(target, device=like.device)
    if target.dtype.kind not in "iu":
        raise DtypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}")
    return target


def _classes(op: str, x: Tensor) -> tuple[int, int]:
    """(N, C) of a (N, C), (C,) or 0-d input (C = 1), torch's shapes for the multi-class margin
    losses; C must not be 0."""
    if x.ndim > 2 or (x.ndim > 0 and x.shape[-1] == 0):
        raise ShapeError(f"{op}: expected a non-empty (C,) or (N, C) input (or a 0-d one), got shape {x.shape}")
    if x.ndim == 2:
        return x.shape[0], x.shape[1]
    return 1, x.shape[0] if x.ndim == 1 else 1


# -- pairwise and margin losses ------------------------------------------------------------


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """loss = max(0, -y (x1 - x2) + margin): y = 1 asks x1 to rank above x2, y = -1 below.

    input1, input2, target: the same number of dims (torch's rule), broadcasting together,
    typically (N,) or (); the loss has the broadcast shape ('none'). Gradients for input1,
    input2 and target (torch's too)."""
    op = "margin_ranking_loss"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    require_float(input1, op, "input1")
    require_float(input2, op, "input2")
    target = _as_loss_tensor(target, input1)
    _same_ndim(op, input1=input1, input2=input2, target=target)
    _broadcast(op, input1=input1.shape, input2=input2.shape, target=target.shape)
    return _reduce(clamp(-target * (input1 - input2) + margin, min=0), reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Any,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """loss = x where y = 1, max(0, margin - x) where y = -1 (x: typically a distance).

    As torch's formula, a target that is neither 1 nor -1 gets both terms. input and target:
    any shapes that broadcast; the loss has the broadcast shape and the input's dtype. The
    target only selects (no gradient)."""
    op = "hinge_embedding_loss"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    require_float(input, op)
    target = _as_loss_tensor(target, input)
    _broadcast(op, input=input.shape, target=target.shape)
    loss = where(target != 1, clamp(margin - input, min=0), 0) + where(target != -1, input, 0)
    return _reduce(loss, reduction)


class _SoftMargin(_PointwiseLoss):
    """l = log(1 + exp(-t x)) (a stable softplus: finite where torch's exp overflows);
    dl/dx = -t sigmoid(-t x). torch has no derivative for the target."""

    def pointwise(self, x, t, need_x, need_t):
        z = -t * x
        return _stable_softplus(z), (-t * _stable_sigmoid(z) if need_x else None), None

    def graph(self, x, t):
        return Softplus.apply(-t * x, beta=1.0, threshold=math.inf)


def soft_margin_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Two-class logistic loss log(1 + exp(-y x)) for targets y in {1, -1}.

    input: any shape; target broadcasts to it (torch writes the loss into an input-shaped
    tensor); the loss has the input's shape and dtype. Gradient for input; torch refuses a
    target that requires grad, and so does this."""
    op = "soft_margin_loss"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    require_float(input, op)
    target = _float_target(input, _as_loss_tensor(target, input))
    if _broadcast(op, input=input.shape, target=target.shape) != input.shape:
        raise ShapeError(f"{op}: target of shape {target.shape} does not broadcast to the input's shape {input.shape}")
    _not_differentiable(op, "target", target)
    return _SoftMargin.apply(input, target, reduction=reduction, dtype=input.dtype)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """One-versus-all logistic loss over C classes, averaged over the classes:

    loss = -1/C sum_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)).

    input (N, C) or (C,) (any number of dims: the last holds the classes); target (0/1 labels,
    or probabilities) and weight (C,) broadcast with it. 'none' gives one loss per sample, (N,)
    or (); as torch's composition, input, target and weight all get gradients."""
    op = "multilabel_soft_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    require_float(input, op)
    if input.ndim == 0:
        raise IndexError(f"{op}: the class dimension -1 does not exist in a 0-d input")
    target = _as_loss_tensor(target, input)
    shapes = dict(input=input.shape, target=target.shape)
    if weight is not None:
        weight = _as_loss_tensor(weight, input)
        shapes["weight"] = weight.shape
    _broadcast(op, **shapes)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(axis=class_dim) / input.shape[class_dim]
    _check_reduction(op, reduction)
    return _reduce(loss, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss of scores x against the class y of each sample:

    loss = 1/C sum_{i != y} w_y max(0, margin - x_y + x_i)^p,   p = 1 or 2.

    input (N, C), or unbatched (C,) or 0-d (C = 1); target (N,) integer classes in [0, C), or
    () for an unbatched input; weight (C,) of the input's dtype, not differentiable (as torch).
    'none' gives the target's shape."""
    op = "multi_margin_loss"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    if p != 1 and p != 2:
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got p={p}")
    require_float(input, op)
    if weight is not None:
        weight = _as_loss_tensor(weight, input)
        if weight.ndim != 1:
            raise ValueError(f"{op}: weight must be one-dimensional, got shape {weight.shape}")
    target = _class_target(op, target, input)
    n, c = _classes(op, input)
    if target.ndim > 1 or target.numel() != n:
        raise ShapeError(
            f"{op}: target should be 1-D with size equal to the number of input samples ({n}), "
            f"got target of shape {target.shape} for input of shape {input.shape}"
        )
    if weight is not None:
        if weight.shape != (c,):
            raise ShapeError(f"{op}: weight must have shape ({c},), got {weight.shape}")
        if weight.dtype != input.dtype:
            raise DtypeError(f"{op}: weight dtype {weight.dtype} must equal the input's dtype {input.dtype}")
        _not_differentiable(op, "weight", weight)
    xp = input.xp
    with backend.array_scope(input.array):
        t = target.array.reshape(n)
        backend.raise_if(((t < 0) | (t >= c)).any(), RuntimeError, f"{op}: target out of range [0, {c})")
        t = xp.clip(t, 0, c - 1).astype(np.int64)
        others = t[:, None] != xp.arange(c)  # (N, C): the classes that are not the target
        w_y = None if weight is None else weight.array[t][:, None]
    x = input.reshape(n, c)
    z = clamp(margin - gather(x, 1, Tensor(t[:, None])) + x, min=0)  # (N, C)
    h = where(Tensor(others), z * z if p == 2 else z, 0)
    if w_y is not None:
        h = h * Tensor(w_y)
    loss = h.sum(axis=1) / c
    return _reduce(loss.reshape(target.shape), reduction)


def multilabel_margin_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label hinge loss: every target class j should score 1 above every other class i:

    loss = 1/C sum_{j in targets} sum_{i not in targets} max(0, 1 - (x_j - x_i)).

    input (N, C), or unbatched (C,) or 0-d; target of the input's shape (C values for a 0-d
    input: one), integer classes, the targets being those before the first -1 (a class listed
    twice counts twice, as torch). Every entry must be in [-1, C). 'none' gives (N,), or ()
    for an unbatched input. Cost: O(N K C) time and memory for K, the most targets a row lists
    (torch's kernel: O(N C^2) time); K is read on the host, one sync per call on a GPU."""
    op = "multilabel_margin_loss"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    require_float(input, op)
    target = _class_target(op, target, input)
    n, c = _classes(op, input)
    ok = target.shape == (n, c) if input.ndim == 2 else target.ndim <= 1 and target.numel() == c
    if not ok:
        raise ShapeError(f"{op}: inconsistent target of shape {target.shape} for input of shape {input.shape}")
    xp = input.xp
    with backend.array_scope(input.array):
        t = target.array.reshape(n, c)
        backend.raise_if(((t < -1) | (t >= c)).any(), RuntimeError, f"{op}: target out of range [-1, {c})")
        listed = xp.cumprod(t >= 0, axis=1).astype(bool)  # (N, C): the positions before the first -1
        k = int(listed.sum(axis=1).max()) if n and c else 0  # the targets are a prefix of each row
        targets, valid = xp.where(listed[:, :k], t[:, :k], 0), listed[:, :k]  # (N, K)
        count = xp.zeros((n, c), dtype=np.int64)  # (N, C): how often each class is listed
        add_at(count, (xp.arange(n)[:, None], targets), valid.astype(np.int64))
        # pair weights (N, k, i): the k-th listed target against every class i that is not a target
        pairs = (valid[:, :, None] & (count == 0)[:, None, :]).astype(input.dtype)
    x = input.reshape(n, c)
    x_target = gather(x, 1, Tensor(targets))  # (N, K)
    z = clamp(1 - x_target.reshape(n, k, 1) + x.reshape(n, 1, c), min=0)  # (N, k, i): 1 - x_j + x_i
    loss = (z * Tensor(pairs)).sum(axis=(1, 2)) / c
    return _reduce(loss if input.ndim == 2 else loss.reshape(()), reduction)


# -- embedding losses ----------------------------------------------------------------------


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """loss = max(0, margin + d(a, pos) - d(a, neg)) with d the pairwise p-norm distance
    ||x1 - x2 + eps||_p over the last dim; ``swap``: d(a, neg) := min(d(a, neg), d(pos, neg)).

    anchor, positive, negative: (N, D) or (D,) (any, the same number of dims; broadcasting);
    the loss has the broadcast shape without the last dim. margin > 0."""
    op = "triplet_margin_loss"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        require_float(t, op, name)
    _same_ndim(op, anchor=anchor, positive=positive, negative=negative)
    _broadcast(op, anchor=anchor.shape, positive=positive.shape, negative=negative.shape)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp(margin + d_pos - d_neg, min=0), reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """:func:`triplet_margin_loss` with any distance: loss = max(0, margin + d(a, pos) - d(a, neg)),
    d = ``distance_function`` (default :func:`pairwise_distance`), which returns one distance
    per triplet; ``swap`` as there. The inputs need the same number of dims; margin > 0."""
    op = "triplet_margin_with_distance_loss"
    _check_reduction(op, reduction)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    _same_ndim(op, anchor=anchor, positive=positive, negative=negative)
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, distance(positive, negative))
    return _reduce(clamp(margin + d_pos - d_neg, min=0), reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """loss = 1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, 0 for
    other targets, with torch's cos = sum(x1 x2) / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))
    (0 for a zero vector, with a large but finite gradient).

    input1, input2: (N, D) with target (N,), or (D,) with a 0-d target; the inputs broadcast
    together, the target with (N,). Gradients for the inputs; the target only selects."""
    op = "cosine_embedding_loss"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    require_float(input1, op, "input1")
    require_float(input2, op, "input2")
    target = _as_loss_tensor(target, input1)
    if target.ndim > 1:
        raise ShapeError(f"{op}: 0-d or 1-d target expected (multi-target not supported), got shape {target.shape}")
    want = 2 if target.ndim == 1 else 1
    if input1.ndim != want or input2.ndim != want:
        raise ShapeError(
            f"{op}: a {target.ndim}-d target expects {want}-d inputs, got inputs of shapes {input1.shape} "
            f"and {input2.shape}"
        )
    shape = _broadcast(op, input1=input1.shape, input2=input2.shape)
    _broadcast(op, cosine=shape[:-1], target=target.shape)
    dim = target.ndim
    prod = (input1 * input2).sum(axis=dim)
    mag1 = (input1 * input1).sum(axis=dim) + _COSINE_EPS
    mag2 = (input2 * input2).sum(axis=dim) + _COSINE_EPS
    cos = prod / sqrt(mag1 * mag2)
    loss = where(target == 1, 1 - cos, 0) + where(target == -1, clamp(cos - margin, min=0), 0)
    return _reduce(loss, reduction)


# -- likelihood losses ---------------------------------------------------------------------


class _PoissonNLL(_PointwiseLoss):
    """log_input: l = e^x - t x;  dl/dx = e^x - t;  dl/dt = -x.
    otherwise:  l = x - t log(x + eps);  dl/dx = 1 - t / (x + eps);  dl/dt = -log(x + eps).
    full adds Stirling's term t log t - t + log(2 pi t) / 2 where t > 1 (0 elsewhere): d/dt is
    log t + 1/(2t) there, 0 for 0 < t <= 1, and nan for t <= 0, where torch's masked
    composition differentiates 0 * log t."""

    def pointwise(self, x, t, need_x, need_t):
        xp = backend.get_array_module(x, t)
        dx = dt = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # torch: inf/nan, silently
            if self.log_input:
                ex = xp.exp(x)
                loss = ex - t * x
                if need_x:
                    dx = ex - t
                if need_t:
                    dt = -x
            else:
                log_x = xp.log(x + self.eps)
                loss = x - t * log_x
                if need_x:
                    dx = 1 - t / (x + self.eps)
                if need_t:
                    dt = -log_x
            if self.full:
                zero, nan = t.dtype.type(0), t.dtype.type(math.nan)
                big = t > 1
                log_t = xp.log(t)
                loss = loss + xp.where(big, t * log_t - t + 0.5 * xp.log(2 * math.pi * t), zero)
                if need_t:
                    dt = dt + xp.where(big, log_t + 0.5 / t, xp.where(t > 0, zero, nan))
        return loss, dx, dt

    def graph(self, x, t):
        loss = x.exp() - t * x if self.log_input else x - t * (x + self.eps).log()
        if self.full:  # (log t is NaN for t < 0: masked here, but its derivative is NaN, as torch's)
            stirling = t * t.log() - t + 0.5 * (2 * math.pi * t).log()
            loss = loss + where(t.array > 1, stirling, 0.0)
        return loss


def poisson_nll_loss(
    input: Tensor,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of counts t under Poisson rates: the rate is exp(input) with
    ``log_input`` (loss = e^x - t x), else the input itself (loss = x - t log(x + eps)).
    ``full`` adds Stirling's approximation of log(t!), t log t - t + log(2 pi t) / 2, for t > 1.

    input and target: any shapes that broadcast; the loss has the broadcast shape and their
    result dtype. Gradients for input and target."""
    op = "poisson_nll_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(op, reduction)
    require_float(input, op)
    target = _float_target(input, _as_loss_tensor(target, input))
    _broadcast(op, input=input.shape, target=target.shape)
    dtype = np.result_type(input.dtype, target.dtype)
    return _PoissonNLL.apply(
        input, target, reduction=reduction, dtype=dtype, log_input=bool(log_input), full=bool(full), eps=float(eps)
    )


def _gaussian_var(op: str, input: Tensor, var: Any) -> Tensor:
    """torch's checks and broadcasting of ``var``: a number (then the input's shape), the
    input's shape (heteroscedastic), the input's shape without its last dim (then unsqueezed),
    or the input's number of dims with one size that differs (a size-1 dim that broadcasts)."""
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        with backend.array_scope(input.array):
            return Tensor(input.xp.full(input.shape, var, dtype=input.dtype))
    var = _as_loss_tensor(var, input)
    if var.dtype.kind != "f":
        raise DtypeError(f"{op}: var must be a floating point tensor, got dtype {var.dtype}")
    with backend.array_scope(var.array):
        backend.raise_if((var.array < 0).any(), ValueError, f"{op}: var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        return var.unsqueeze(-1)
    if var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var
    raise ShapeError(f"{op}: var of shape {var.shape} is of incorrect size for input of shape {input.shape}")


def gaussian_nll_loss(
    input: Tensor,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target`` under normal distributions of mean ``input`` and
    variance ``var``: loss = (log(max(var, eps)) + (x - t)^2 / max(var, eps)) / 2, plus
    log(2 pi) / 2 with ``full``. The clamp at eps passes the gradient on unchanged (torch's).

    input (N, *) or (*); target broadcasts with it; var: a number >= 0, or a tensor of the
    input's shape, of that shape without the last dim, or with one dim of size 1 (one variance
    shared along it). The loss has the broadcast shape. Gradients for input, target and var."""
    op = "gaussian_nll_loss"
    require_float(input, op)
    target = _as_loss_tensor(target, input)
    var = _gaussian_var(op, input, var)
    _check_reduction(op, reduction)
    _broadcast(op, input=input.shape, target=target.shape, var=var.shape)
    var = ClampKeepGrad.apply(var, eps=float(eps))  # torch clamps in place under no_grad
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
