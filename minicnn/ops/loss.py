"""Losses: cross-entropy (fused log-softmax + NLL), NLL and mean squared error.

Shapes: ``input`` (N, C) or (N, C, d1, ...) logits; ``target`` (N,) or (N, d1, ...) integer
class indices. Semantics equal ``torch.nn.functional`` including ``weight``,
``ignore_index``, ``label_smoothing`` and the weighted-mean normalisation.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import cross_entropy as ce

_REDUCTIONS = ("mean", "sum", "none")


def _check(op: str, x: Tensor, target: Tensor, weight: Tensor | None, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}")
    if x.ndim < 1 or (x.ndim == 1 and target.ndim != 0):
        raise ValueError(f"{op}: input of shape {x.shape} and target of shape {target.shape} do not match")
    expected = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{op}: input of shape {x.shape} needs a target of shape {expected}, got target of shape {target.shape}"
        )
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    if weight is not None and weight.shape != (c,):
        raise ValueError(f"{op}: weight must have shape ({c},), got {weight.shape}")


def _flat_targets(op: str, x: Any, target: Any, maybe_weight: tuple, ignore_index: int) -> tuple[Any, ...]:
    """Logits as (rows, C), each row's class index (0 where ignored), weight w[y] (0 where
    ignored) and whether it is kept. A class outside [0, C) raises (on a GPU at the next host
    read: backend.raise_if)."""
    x2 = ce.classes_last(x)
    c = x2.shape[1]
    t, keep, bad = ce.class_indices(target, c, ignore_index)
    backend.raise_if(bad, IndexError, f"{op}: target holds a class index outside [0, {c})")
    wy = keep.astype(x.dtype) if not maybe_weight else maybe_weight[0][t] * keep
    return x2, t, wy, keep


def _reduce(loss: Any, reduction: str, denom: Any, shape: tuple, dtype: Any, smoothed: bool = False) -> Any:
    """Per-row losses -> 'none' (in the target's shape), 'sum', or the weighted 'mean'.

    A 'mean' over no weight (every row ignored, or all w[y] = 0) is 0/0 = nan, as in torch;
    with label smoothing torch adds the smoothing term's sum/0 to that nan, so the result is
    nan there too (not the inf that (nll + smoothing)/0 would give). Chosen with ``where``:
    no value is read on the host."""
    if reduction == "none":
        return loss.reshape(shape).astype(dtype, copy=False)
    total = loss.sum()
    if reduction == "sum":
        return total.astype(dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):  # torch does not warn either
        mean = total / denom
    if smoothed:
        xp = backend.get_array_module(mean)
        mean = xp.where(denom == 0, mean.dtype.type(np.nan), mean)
    return mean.astype(dtype, copy=False)


def _row_scale(gy: Any, reduction: str, denom: Any, kept: Any) -> Any:
    """The gradient of the reduced loss with respect to each row's loss, shape (R,). It is 0
    for ignored rows whatever gy and 1/denom are, as in torch, which skips them: an all-ignored
    'mean' (1/0 = inf) still gives a zero gradient, while a kept row of weight 0 gets
    0 * inf = nan, as torch's does."""
    xp = backend.get_array_module(gy)
    if reduction == "none":
        scale = gy.reshape(-1)
    elif reduction == "mean":
        with np.errstate(divide="ignore"):
            scale = gy / denom
    else:
        scale = gy
    return xp.where(kept, scale, scale.dtype.type(0))


class CrossEntropy(Function):
    """loss_i = (1-eps) w[y_i] (-log p_i[y_i]) + eps/C sum_c w[c] (-log p_i[c])

    d loss_i / d x_i = (1-eps) w[y_i] (p_i - onehot(y_i)) + eps/C (sum(w) p_i - w).
    (kernels/cross_entropy.py; a fused CUDA kernel for CuPy arrays.)
    """

    def forward(self, x, target, *maybe_weight):
        weight = maybe_weight[0] if maybe_weight else None
        rows = ce.cross_entropy_forward(x, target, weight, self.ignore_index, self.label_smoothing)
        c = x.shape[0] if x.ndim == 1 else x.shape[1]
        backend.raise_if(rows.bad, IndexError, f"cross_entropy: target holds a class index outside [0, {c})")
        self.denom = rows.wy.sum() if self.reduction == "mean" else None
        if self.requires_grad:
            self.x, self.rows, self.weight = x, rows, weight
        return _reduce(rows.loss, self.reduction, self.denom, target.shape, x.dtype, self.label_smoothing > 0)

    def backward(self, gy):
        if self.reduction == "none":
            scale = gy.reshape(-1)
        elif self.reduction == "mean":  # 1/0 = inf when no row counts: the kernels give ignored rows 0
            with np.errstate(divide="ignore"):
                scale = gy / self.denom
        else:
            scale = gy
        g = ce.cross_entropy_backward(scale, self.x, self.rows, self.weight, self.label_smoothing)
        return g.astype(gy.dtype, copy=False), None, None


class NLLLoss(Function):
    """loss_i = -w[y_i] x_i[y_i]; the gradient is -w[y_i] at (i, y_i), 0 elsewhere."""

    def forward(self, x, target, *maybe_weight):
        xp = backend.get_array_module(x)
        self.in_shape = x.shape
        x2, self.t, self.wy, self.kept = _flat_targets("nll_loss", x, target, maybe_weight, self.ignore_index)
        self.n, self.c = x2.shape
        loss = -self.wy * x2[xp.arange(self.n), self.t]
        self.denom = self.wy.sum()
        return _reduce(loss, self.reduction, self.denom, target.shape, x.dtype)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        g = xp.zeros((self.n, self.c), dtype=gy.dtype)
        with np.errstate(invalid="ignore"):  # 0 * inf = nan for a kept row of weight 0 over a zero 'mean'
            g[xp.arange(self.n), self.t] = -self.wy * _row_scale(gy, self.reduction, self.denom, self.kept)
        return ce.classes_back(g.astype(gy.dtype, copy=False), self.in_shape), None, None


def legacy_reduction(size_average: Any, reduce: Any, reduction: str, stacklevel: int = 3) -> str:
    """torch's deprecated ``size_average``/``reduce`` pair as a ``reduction``
    (torch.nn._reduction.legacy_get_string): both None keep ``reduction``; otherwise a None
    counts as True, reduce false gives 'none', else size_average false 'sum', else 'mean', with
    torch's deprecation warning (placed at the caller of the loss)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{result}' instead.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return result


def _reduction(reduction: str) -> str:
    """torch's deprecated alias 'elementwise_mean' of 'mean' (torch.nn._reduction.get_enum),
    with its warning; other values unchanged (checked by the loss)."""
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            UserWarning,
            stacklevel=3,
        )
        return "mean"
    return reduction


def _ce_inputs(op: str, x: Any, target: Any, weight: Any, reduction: str) -> tuple[Any, ...]:
    target = target if isinstance(target, Tensor) else Tensor(target)
    weight = None if weight is None else (weight if isinstance(weight, Tensor) else Tensor(weight, dtype=x.dtype))
    _check(op, x, target, weight, reduction)
    return (x, target) if weight is None else (x, target, weight)


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits against integer class targets (torch's semantics).

    input (N, C) or (N, C, d1, ...) or unbatched (C,); target (N,) or (N, d1, ...) or ();
    weight (C,). ``size_average``/``reduce``: torch's deprecated form of ``reduction``."""
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    args = _ce_inputs("cross_entropy", input, target, weight, reduction)
    return CrossEntropy.apply(
        *args, ignore_index=ignore_index, reduction=reduction, label_smoothing=float(label_smoothing)
    )


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities against integer class targets (shapes as
    :func:`cross_entropy`)."""
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    args = _ce_inputs("nll_loss", input, target, weight, reduction)
    return NLLLoss.apply(*args, ignore_index=ignore_index, reduction=reduction)


def mse_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    """Mean squared error over the broadcast of ``input`` and ``target``.

    As torch: shapes that differ but broadcast give a UserWarning (it is usually a mistake,
    e.g. (N, 1) outputs against (N,) targets make an (N, N) loss) and are broadcast; the
    gradients of both are summed over the broadcast axes. Shapes that do not broadcast raise.

    ``weight`` (input's shape exactly, as torch 2.14 demands) scales each squared error
    (broadcast with it to the loss's shape); then 'mean' is sum(weight * (input - target)^2) /
    sum(weight) -- the sum of ``weight`` itself, not of its broadcast -- and 'sum', 'none' as
    usual. ``weight`` gets a gradient too when it requires one."""
    target_shape = tuple(target.shape) if hasattr(target, "shape") else ()
    if target_shape != input.shape:
        try:
            np.broadcast_shapes(input.shape, target_shape)
        except ValueError:
            raise ValueError(
                f"mse_loss: input of shape {input.shape} and target of shape {target_shape} do not broadcast"
            ) from None
        warnings.warn(
            f"Using a target size {target_shape} that is different to the input size {input.shape}. "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=2,
        )
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is None:
        reduction = _reduction(reduction)
    if reduction not in _REDUCTIONS:  # torch's weighted path refuses 'elementwise_mean' too
        raise ValueError(f"mse_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    d = input - target
    sq = d * d
    if weight is not None:
        weight = weight if isinstance(weight, Tensor) else Tensor(weight, dtype=input.dtype)
        if weight.shape != input.shape:
            raise ValueError(
                f"mse_loss: weight of shape {weight.shape} must have the input's shape {input.shape} "
                "(torch: Weights and input must have the same size.)"
            )
        sq = sq * weight
        if reduction == "mean":  # 0/0 = nan when every weight is 0, as in torch (which does not warn)
            with np.errstate(divide="ignore", invalid="ignore"):
                return sq.sum() / weight.sum()
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()
