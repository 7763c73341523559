"""Softmax cross-entropy over the class axis: the loss of every row and its gradient, with
torch's ``weight``, ``ignore_index`` and ``label_smoothing``.

Shapes: x (N, C) or (N, C, d1, ...) logits, classes on axis 1; target (N,) or (N, d1, ...)
integer class indices; weight (C,) or None. A *row* is one position (n, d1, ...): R = N*d1*...
rows, in the order of ``target.reshape(-1)``.

Forward, per row with class t, row maximum m and lse = m + log sum_c exp(x_c - m), so that
log p_c = x_c - lse::

    kept   = t != ignore_index, and t inside [0, C) (otherwise the row is *bad*)
    wy     = w[t] * kept                       (w = 1 without a weight)
    loss   = -(1-eps) wy log p_t - kept eps/C sum_c w_c log p_c

Backward, given s, the gradient of the reduced loss with respect to each row's loss (one
value for 'sum' and 'mean', 1/sum(wy) folded in for 'mean'; one per row for 'none')::

    dx_c = s ((1-eps) wy (p_c - [c == t]) + kept eps/C (sum(w) p_c - w_c))

Ignored rows get dx = 0 exactly, whatever s is (torch skips them: an all-ignored 'mean' has
s = 1/0 = inf and a zero gradient); a kept row of weight 0 under that s gets 0 * inf = nan,
as in torch. Bad rows are reported (``bad``) and count as ignored, so that nothing reads outside x; the
caller raises. Backward recomputes p from x and lse rather than keeping log p (one R x C
array less between the passes).

Cost: forward reads x twice (maximum, then the exp-sum) and keeps 3 values per row; backward
reads x once and writes dx once. CuPy arrays of one float dtype go to the CUDA kernels
(:mod:`minicnn.kernels.cuda.cross_entropy`: two launches in all, where this array code makes
about twenty passes).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..backend import get_array_module
from . import cuda


class Rows(NamedTuple):
    """What the forward pass gives, one entry per row (shape (R,)), and ``bad``: a 0-d array,
    true (nonzero) when some row that is not ignored has a class outside [0, C)."""

    loss: Any
    wy: Any  # w[t] of each kept row, 0 for ignored (and bad) rows
    lse: Any  # log sum_c exp(x_c)
    target: Any  # the class index of each row (any value where not kept)
    kept: Any  # bool, or uint8 from the CUDA kernel
    bad: Any


def classes_last(x: Any) -> Any:
    """(N, C, d...) -> (R, C); (C,) -> (1, C)."""
    if x.ndim == 1:
        return x[None]
    xp = get_array_module(x)
    return xp.moveaxis(x, 1, -1).reshape(x.shape[0] * math.prod(x.shape[2:]), x.shape[1])  # (-1 fails for C = 0)


def classes_back(g2: Any, shape: tuple[int, ...]) -> Any:
    """(R, C) -> ``shape`` (N, C, d...), the inverse of :func:`classes_last`."""
    if len(shape) == 1:
        return g2[0]
    xp = get_array_module(g2)
    moved = (shape[0],) + shape[2:] + (shape[1],)
    return xp.moveaxis(g2.reshape(moved), -1, 1)


def class_indices(target: Any, c: int, ignore_index: int) -> tuple[Any, Any, Any]:
    """(t, kept, bad) for the targets of R rows: each row's class (0 where not kept), whether
    the row counts, and a 0-d flag: some row that is not ignored has a class outside [0, C).
    Bad rows are not kept, so that indexing with t stays inside x (on a GPU without asking
    the flag, which would wait for the device)."""
    xp = get_array_module(target)
    t = target.reshape(-1)
    kept = t != ignore_index
    if c == 0:  # no classes: every row that is not ignored is out of bounds
        return xp.zeros_like(t), xp.zeros_like(kept), kept.any()
    t = xp.where(kept, t, 0)
    if t.dtype.kind == "i":  # negative indices become huge: one comparison finds both ends
        t = t.view(np.dtype(f"u{t.dtype.itemsize}"))
    outside = t >= c
    bad = outside.any()
    if xp is not np or bad:
        kept &= ~outside
        t = xp.where(kept, t, 0)
    return t, kept, bad


def cross_entropy_forward(
    x: Any, target: Any, weight: Any = None, ignore_index: int = -100, label_smoothing: float = 0.0
) -> Rows:
    """Per-row losses of logits ``x`` (N, C, d...) against ``target`` (N, d...) (see the module
    docstring): the ``Rows`` of (R,) arrays, R = N*d1*d2*.... Cost: x is read twice (the maximum,
    then the exp-sum; once more with label smoothing) and 3 values are kept per row."""
    if x.size == 0:  # no rows, or no classes (every row ignored or bad): no maximum to take
        xp = get_array_module(x)
        x2 = classes_last(x)
        t, kept, bad = class_indices(target, x2.shape[1], ignore_index)
        zeros = xp.zeros(x2.shape[0], x.dtype)
        return Rows(zeros, zeros, xp.full(x2.shape[0], -np.inf, x.dtype), t, kept, bad)
    if cuda.enabled_for(x, weight, target) and target.dtype in cuda.cross_entropy.TARGET_DTYPES:
        return cuda.cross_entropy.cross_entropy_forward(x, target, weight, ignore_index, label_smoothing)
    xp = get_array_module(x)
    x2 = classes_last(x)
    rows, c = x2.shape
    t, kept, bad = class_indices(target, c, ignore_index)
    m = x2.max(axis=1, keepdims=True)
    shifted = x2 - m
    log_sum = xp.log(xp.exp(shifted).sum(axis=1))
    wy = kept.astype(x.dtype) if weight is None else weight[t] * kept
    eps = label_smoothing
    loss = -(1 - eps) * wy * (shifted[xp.arange(rows), t] - log_sum)
    if eps:
        logp = shifted - log_sum[:, None]
        loss = loss - (eps / c) * (logp.sum(axis=1) if weight is None else (logp * weight).sum(axis=1)) * kept
    return Rows(loss, wy, m[:, 0] + log_sum, t, kept, bad)


def cross_entropy_backward(scale: Any, x: Any, rows: Rows, weight: Any = None, label_smoothing: float = 0.0) -> Any:
    """dx (x's shape) for the per-row gradient ``scale``: a 0-d array, or (R,) for 'none'.
    Cost: one read of x (p recomputed from x and the saved lse) and one write of dx."""
    if x.size == 0:
        return get_array_module(x).zeros_like(x)
    if cuda.enabled_for(scale, x, weight, rows.target) and rows.target.dtype in cuda.cross_entropy.TARGET_DTYPES:
        return cuda.cross_entropy.cross_entropy_backward(scale, x, rows, weight, label_smoothing)
    xp = get_array_module(x)
    x2 = classes_last(x)
    n, c = x2.shape
    p = xp.exp(x2 - rows.lse[:, None])
    eps = label_smoothing
    # 0 for ignored rows even where scale is inf or nan (1/0 for a 'mean' over no weight)
    scale = xp.where(rows.kept, scale, x.dtype.type(0))
    with np.errstate(invalid="ignore"):  # a kept row of weight 0 under that inf: 0 * inf = nan, as torch
        coef = (1 - eps) * rows.wy * scale
        g = p * coef[:, None]
        g[xp.arange(n), rows.target] -= coef
        if eps:
            w_sum, w = (c, 1) if weight is None else (weight.sum(), weight)
            g += (eps / c) * (w_sum * p - w) * scale[:, None]
    return classes_back(g.astype(x.dtype, copy=False), x.shape)
