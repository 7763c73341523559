"""``cdist``: the p-norm distance between every row of x1 and every row of x2 (torch.cdist).

Shapes: x1 (*, P, M), x2 (*, R, M), batch dims broadcast -> (*, P, R). p >= 0: p = 0 counts
the differing entries, p = inf takes the largest |difference|.

Forward: for p = 2 with the matrix-product mode (torch's default picks it when P > 25 or
R > 25; ``compute_mode="use_mm_for_euclid_dist"`` always) ``sqrt(clamp(|a|^2 + |b|^2 - 2 a.b, 0))``,
O(B P R M) in a matmul and O(B P R) memory; every other case forms the differences
d = x1_i - x2_j at once: O(B P R M) time and memory, in forward and backward.

Backward is torch's ``_cdist_backward`` (the same as pdist's): with r = dist and g its
gradient, pair (i, j) adds G to row i of x1 and subtracts it from row j of x2, where
    p = 0: G = 0;  p = 1: G = g sign(d);  p = 2: G = g d / r;
    p < 2: G = g sign(d) |d|^(p-1) / r^(p-1), 0 where d = 0 if p < 1;
    p > 2: G = g d |d|^(p-2) / r^(p-1);  p = inf: G = g sign(d) where |d| = r (every tie);
and G = 0 for a pair at distance 0 (torch's zero-distance subgradient). ``backward_graph``
writes the same G in ops (torch itself has second derivatives only for the matmul mode).
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from .math import require_float
from .pdist import _distance, pair_grad_graph
from .reduce import sum as reduce_sum
from .shape import expand, reshape, unsqueeze

_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _pair_grad(diff, g, r, p: float, xp):
    """G (B, P, R, M) of the module docstring from d, g and r (B, P, R, 1), raw arrays."""
    zero = diff.dtype.type(0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p == 1:
            return g * xp.sign(diff)
        if p == math.inf:
            return g * xp.sign(diff) * (xp.abs(diff) == r)
        if p < 2:
            pair = xp.sign(diff) * xp.abs(diff) ** (p - 1) * g / r ** (p - 1)
            if p < 1:
                pair = xp.where(diff == 0, zero, pair)
        elif p == 2:
            pair = g * diff / r
        else:
            pair = diff * xp.abs(diff) ** (p - 2) * g / r ** (p - 1)
        return xp.where(r == 0, zero, pair)


class Cdist(Function):
    """dist[b, i, j] = ||x1[b, i] - x2[b, j]||_p, x1 (B, P, M), x2 (B, R, M)."""

    def forward(self, x1, x2):
        xp = backend.get_array_module(x1)
        if self.use_mm:
            sq = (x1 * x1).sum(-1)[:, :, None] + (x2 * x2).sum(-1)[:, None, :] - 2 * (x1 @ xp.swapaxes(x2, -1, -2))
            dist = xp.sqrt(xp.maximum(sq, 0))
        else:
            dist = _distance(x1[:, :, None, :] - x2[:, None, :, :], self.p, xp)
        if self.requires_grad:
            self.dist = dist
        return dist.astype(x1.dtype, copy=False)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x1, x2 = (t.array for t in self.inputs)
        if self.p == 0 or gy.size == 0 or x1.shape[-1] == 0:
            return xp.zeros(x1.shape, dtype=gy.dtype), xp.zeros(x2.shape, dtype=gy.dtype)
        diff = x1[:, :, None, :] - x2[:, None, :, :]
        pair = _pair_grad(diff, gy[..., None], self.dist[..., None], self.p, xp)
        return pair.sum(axis=2), -pair.sum(axis=1)

    def backward_graph(self, gy, x1, x2):  # the same G in ops; the masks (r = 0, d = 0, ties) are constants
        p, xp = self.p, x1.xp
        diff = unsqueeze(x1, 2) - unsqueeze(x2, 1)
        g = unsqueeze(gy, -1)
        if p == 0:  # zero, but in the graph as torch's
            pair = diff * 0.0 * g
        elif p == 1:
            pair = g * diff.sign()
        elif p == math.inf:
            tie = xp.abs(diff.array) == self.dist[..., None]
            pair = g * diff.sign() * Tensor(tie.astype(diff.dtype))
        else:
            pair = pair_grad_graph(diff, g, unsqueeze(Cdist.apply(x1, x2, **self._params), -1), p)
        return reduce_sum(pair, 2), -reduce_sum(pair, 1)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distances between the rows of x1 (*, P, M) and of x2 (*, R, M): (*, P, R),
    batch dims broadcast. Gradients as torch's (0 for a pair at distance 0)."""
    for name, t in (("x1", x1), ("x2", x2)):
        require_float(t, "cdist", name)
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"cdist: x1 and x2 must have the same dtype, got {x1.dtype} and {x2.dtype}")
    p = float(p)
    if not p >= 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    (P, M), R = x1.shape[-2:], x2.shape[-2]
    batch = tuple(np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2]))
    B = math.prod(batch)  # (not -1: an empty tensor has no size to infer)
    a = reshape(expand(x1, *batch, P, M), B, P, M)
    b = reshape(expand(x2, *batch, R, M), B, R, M)
    use_mm = p == 2 and (
        compute_mode == "use_mm_for_euclid_dist" or (compute_mode.endswith("if_necessary") and (P > 25 or R > 25))
    )
    return reshape(Cdist.apply(a, b, p=p, use_mm=use_mm), *batch, P, R)
