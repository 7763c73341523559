"""Losses: cross-entropy (fused log-softmax + NLL), NLL and mean squared error.

Shapes: ``input`` (N, C) or (N, C, d1, ...) logits; ``target`` (N,) or (N, d1, ...) integer
class indices. Semantics equal ``torch.nn.functional`` including ``weight``,
``ignore_index``, ``label_smoothing`` and the weighted-mean normalisation.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function, Tensor

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


def _classes_last(x: Any) -> Any:
    """(N, C, d...) -> (N*d..., C); (C,) -> (1, C)."""
    if x.ndim == 1:
        return x[None]
    xp = backend.get_array_module(x)
    return xp.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _classes_back(g2: Any, shape: tuple[int, ...]) -> Any:
    if len(shape) == 1:
        return g2[0]
    xp = backend.get_array_module(g2)
    moved = (shape[0],) + shape[2:] + (shape[1],)
    return xp.moveaxis(g2.reshape(moved), -1, 1)


class CrossEntropy(Function):
    """loss_i = (1-eps) w[y_i] (-log p_i[y_i]) + eps/C sum_c w[c] (-log p_i[c])

    d loss_i / d x_i = (1-eps) w[y_i] (p_i - onehot(y_i)) + eps/C (sum(w) p_i - w).
    """

    def forward(self, x, target, *maybe_weight):
        xp = backend.get_array_module(x)
        self.in_shape = x.shape
        x2 = _classes_last(x)
        t = target.reshape(-1)
        n, c = x2.shape
        w = maybe_weight[0] if maybe_weight else xp.ones(c, dtype=x.dtype)
        keep = t != self.ignore_index
        t_safe = xp.where(keep, t, 0)
        if xp.any((t_safe < 0) | (t_safe >= c)):
            raise IndexError(f"cross_entropy: target holds a class index outside [0, {c})")
        shifted = x2 - x2.max(axis=1, keepdims=True)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        rows = xp.arange(n)
        wy = w[t_safe] * keep  # weight of each sample's class; 0 where ignored
        eps = self.label_smoothing
        loss = -(1 - eps) * wy * logp[rows, t_safe]
        if eps:
            loss = loss - (eps / c) * (logp * w).sum(axis=1) * keep
        denom = wy.sum() if self.reduction == "mean" else None
        if self.requires_grad:
            self.logp, self.t, self.w, self.wy, self.keep, self.denom = logp, t_safe, w, wy, keep, denom
        if self.reduction == "none":
            return loss.reshape(target.shape).astype(x.dtype)
        total = loss.sum()
        return (total / denom if self.reduction == "mean" else total).astype(x.dtype)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        p = xp.exp(self.logp)
        n, c = p.shape
        eps = self.label_smoothing
        g = (1 - eps) * self.wy[:, None] * p
        g[xp.arange(n), self.t] -= (1 - eps) * self.wy
        if eps:
            g += (eps / c) * (self.w.sum() * p - self.w) * self.keep[:, None]
        if self.reduction == "none":
            g *= gy.reshape(-1, 1)
        elif self.reduction == "mean":
            g *= gy / self.denom
        else:
            g *= gy
        return _classes_back(g.astype(gy.dtype), self.in_shape), None, None


class NLLLoss(Function):
    """loss_i = -w[y_i] x_i[y_i]; the gradient is -w[y_i] at (i, y_i), 0 elsewhere."""

    def forward(self, x, target, *maybe_weight):
        xp = backend.get_array_module(x)
        self.in_shape = x.shape
        x2 = _classes_last(x)
        t = target.reshape(-1)
        n, c = x2.shape
        w = maybe_weight[0] if maybe_weight else xp.ones(c, dtype=x.dtype)
        keep = t != self.ignore_index
        t_safe = xp.where(keep, t, 0)
        if xp.any((t_safe < 0) | (t_safe >= c)):
            raise IndexError(f"nll_loss: target holds a class index outside [0, {c})")
        wy = w[t_safe] * keep
        loss = -wy * x2[xp.arange(n), t_safe]
        self.t, self.wy, self.n, self.c = t_safe, wy, n, c
        self.denom = wy.sum()
        if self.reduction == "none":
            return loss.reshape(target.shape).astype(x.dtype)
        return (loss.sum() / self.denom if self.reduction == "mean" else loss.sum()).astype(x.dtype)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        g = xp.zeros((self.n, self.c), dtype=gy.dtype)
        scale = gy.reshape(-1) if self.reduction == "none" else (gy / self.denom if self.reduction == "mean" else gy)
        g[xp.arange(self.n), self.t] = -self.wy * scale
        return _classes_back(g, self.in_shape), None, None


def _ce_inputs(op: str, x: Any, target: Any, weight: Any, reduction: str) -> tuple[Any, ...]:
    target = target if isinstance(target, Tensor) else Tensor(target)
    weight = None if weight is None else (weight if isinstance(weight, Tensor) else Tensor(weight, dtype=x.dtype))
    _check(op, x, target, weight, reduction)
    return (x, target) if weight is None else (x, target, weight)


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,  # noqa: A002
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits against integer class targets (torch's semantics)."""
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
    ignore_index: int = -100,  # noqa: A002
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities against integer class targets."""
    args = _ce_inputs("nll_loss", input, target, weight, reduction)
    return NLLLoss.apply(*args, ignore_index=ignore_index, reduction=reduction)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean squared error; shapes must match (torch broadcasts with a warning; we refuse)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    target_shape = target.shape if hasattr(target, "shape") else ()
    if tuple(target_shape) != input.shape:
        raise ValueError(f"mse_loss: input of shape {input.shape} and target of shape {tuple(target_shape)} differ")
    d = input - target
    sq = d * d
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()
