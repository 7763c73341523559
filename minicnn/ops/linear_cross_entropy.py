"""``F.linear_cross_entropy``: cross-entropy of ``linear(input, linear_weight, linear_bias)``
against the targets, computed in chunks of the batch so that the (N, C) logits never exist
whole (the point, for a large vocabulary: memory O(chunk * C) instead of O(N * C)).

Shapes: input (N, D) or (D,); linear_weight (C, D) (or (C, d1, ..., dK, D) for a K-dimensional
loss); linear_bias (C,) (or (C, d1, ..., dK)); target (N,) or () class indices, or class
probabilities of the logits' shape. Semantics are ``cross_entropy(linear(...), target, ...)``'s
(torch's reference), with ``ignore_index=None`` meaning -100.

The chunked path (class-index targets, 2-d weight) runs one Function: per chunk of rows the
logits are formed, the cross-entropy kernel (kernels/cross_entropy.py) gives the row losses,
and backward forms them again to get d logits, then dx = d logits @ W, dW += d logits^T x,
db += sum d logits. Cost: the two matmuls, 2 N C D multiply-adds forward and 6 N C D backward
(the logits are recomputed). Other cases (probability targets, K-dimensional weights) use the
reference composition of ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import cross_entropy as ce
from .linear import linear
from .loss import _check_reduction, _reduce, cross_entropy

_LOGITS_PER_CHUNK = 2**20  # default chunk: about this many logits at a time


@dataclass
class LinearCrossEntropyOptions:
    """torch's options of the chunked path. minicnn always chunks the supported cases; only
    ``batch_chunk_size`` (rows per chunk; None: about 2**20 logits per chunk) changes anything
    here. The other fields are kept for torch's signature and repr (minicnn's backward
    recomputes the logits, so any number of backward calls with retain_graph works)."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: Any = None


class LinearCrossEntropy(Function):
    """Chunked linear + cross-entropy: inputs x (N, D), W (C, D)[, b (C,)]; settings target
    (N,), class ``weight`` (C,) or None, ignore_index, label_smoothing, reduction, chunk."""

    def _rows(self, x, w, maybe_b, start):
        stop = start + self.chunk
        logits = x[start:stop] @ w.T
        if maybe_b:
            logits = logits + maybe_b[0]
        return logits, ce.cross_entropy_forward(
            logits, self.target[start:stop], self.weight, self.ignore_index, self.label_smoothing
        )

    def forward(self, x, w, *maybe_b):
        xp = backend.get_array_module(x)
        n, c = x.shape[0], w.shape[0]
        loss, wy = xp.empty(n, dtype=x.dtype), xp.empty(n, dtype=x.dtype)
        for start in range(0, n, self.chunk):
            _, rows = self._rows(x, w, maybe_b, start)
            backend.raise_if(rows.bad, IndexError, f"linear_cross_entropy: target holds a class index outside [0, {c})")
            loss[start : start + self.chunk], wy[start : start + self.chunk] = rows.loss, rows.wy
        self.denom = wy.sum() if self.reduction == "mean" else None
        if self.requires_grad:
            self.x, self.w, self.maybe_b = x, w, maybe_b
        return _reduce(loss, self.reduction, self.denom, self.target.shape, x.dtype, self.label_smoothing > 0)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x, w, maybe_b = self.x, self.w, self.maybe_b
        if self.reduction == "none":
            scale = gy.reshape(-1)
        elif self.reduction == "mean":  # 1/0 = inf when no row counts: the kernel gives ignored rows 0
            with np.errstate(divide="ignore"):
                scale = gy / self.denom
        else:
            scale = gy
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        gx = xp.zeros_like(x) if need_x else None
        gw = xp.zeros_like(w) if need_w else None
        gb = xp.zeros_like(maybe_b[0]) if maybe_b and self.needs_input_grad[2] else None
        for start in range(0, x.shape[0], self.chunk):
            stop = start + self.chunk
            logits, rows = self._rows(x, w, maybe_b, start)
            g = ce.cross_entropy_backward(
                scale[start:stop] if scale.ndim else scale, logits, rows, self.weight, self.label_smoothing
            )
            if need_x:
                gx[start:stop] = g @ w
            if need_w:
                gw += g.T @ x[start:stop]
            if gb is not None:
                gb += g.sum(axis=0)
        return (gx, gw, gb) if maybe_b else (gx, gw)

    def composite(self, x, w, *maybe_b):  # the reference: its logits whole, for create_graph only
        weight = None if self.weight is None else Tensor(self.weight)
        logits = linear(x, w, maybe_b[0] if maybe_b else None)
        target = Tensor(self.target)
        return cross_entropy(
            logits, target, weight, ignore_index=self.ignore_index, reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )  # fmt: skip


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Any,
    *,
    linear_bias: Tensor | None = None,
    weight: Any = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: LinearCrossEntropyOptions | None = None,
) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, weight, ...)``, in
    chunks of the batch for class-index targets (see the module docstring for shapes)."""
    op = "linear_cross_entropy"
    _check_reduction(op, reduction)
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: expected input with dimensionality 1 or 2, got {input.ndim} (shape {input.shape})")
    if linear_weight.ndim < 2:
        raise ValueError(f"{op}: expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    if input.shape[-1] != linear_weight.shape[-1]:
        raise ValueError(
            f"{op}: expected equal input and linear_weight last dimensions (in_features), "
            f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively"
        )
    floats = [input, linear_weight] + ([] if linear_bias is None else [linear_bias])
    if input.dtype.kind != "f" or any(t.dtype != input.dtype for t in floats):
        raise TypeError(
            f"{op}: input, linear_weight and linear_bias must share one floating-point dtype, got "
            + ", ".join(str(t.dtype) for t in floats)
        )
    c, out_features, d = linear_weight.shape[0], tuple(linear_weight.shape[1:-1]), input.shape[-1]
    if linear_bias is not None and tuple(linear_bias.shape) != (c, *out_features):
        raise ValueError(f"{op}: expected linear_bias shape {(c, *out_features)}, got {tuple(linear_bias.shape)}")
    if out_features and input.ndim == 1:
        raise ValueError(
            f"{op}: K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires "
            f"batched input, (N, {d}), got unbatched input with shape {tuple(input.shape)}"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target), device=input.device)
    logits_shape = (*input.shape[:-1], c, *out_features)
    probabilities = tuple(target.shape) == logits_shape
    if probabilities and ignore_index is not None:
        raise ValueError(f"{op}: ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    weight = None if weight is None else (weight if isinstance(weight, Tensor) else Tensor(weight, dtype=input.dtype))
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(f"{op}: weight must have shape ({c},), got {tuple(weight.shape)}")
    if probabilities or out_features or target.dtype.kind not in "iu":
        flat = linear(input, linear_weight.reshape(-1, d))
        logits = flat.reshape(logits_shape) if out_features else flat
        if linear_bias is not None:
            logits = logits + linear_bias
        return cross_entropy(logits, target, weight, ignore_index=ignore_index, reduction=reduction,
                             label_smoothing=label_smoothing)  # fmt: skip
    batched = input.ndim == 2
    expected = (input.shape[0],) if batched else ()
    if tuple(target.shape) != expected:
        raise ValueError(f"{op}: input of shape {input.shape} needs a target of shape {expected}, got {target.shape}")
    x = input if batched else input.unsqueeze(0)
    n = x.shape[0]
    chunk = options.batch_chunk_size if options is not None and options.batch_chunk_size else None
    chunk = max(1, min(n, chunk or _LOGITS_PER_CHUNK // max(c, 1)))
    args = (x, linear_weight) if linear_bias is None else (x, linear_weight, linear_bias)
    loss = LinearCrossEntropy.apply(
        *args,
        target=target.array.reshape(-1),
        weight=None if weight is None else weight.array,
        ignore_index=ignore_index,
        label_smoothing=float(label_smoothing),
        reduction=reduction,
        chunk=int(chunk),
    )
    return loss.reshape(()) if reduction == "none" and not batched else loss
