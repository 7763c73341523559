"""``pdist``: the p-norm distance between every pair of rows (``torch.nn.functional.pdist``).

Shapes: input (N, M) -> (N (N - 1) / 2,), the distances ||x_i - x_j||_p for i < j in
row-major order (i, then j), as torch and scipy's condensed form. p >= 0: p = 0 counts the
differing entries, p = inf takes the largest |difference|.

Cost: the K = N (N - 1) / 2 row differences are formed at once, O(K M) time and memory in
forward, backward and backward_graph (which gathers the rows and scatter-adds G back).

Backward is torch's ``_pdist_backward``: with d = x_i - x_j, r = dist and g its gradient,
the pair adds G to row i and subtracts it from row j, where
    p = 0: G = 0;  p = 1: G = g sign(d);  p = 2: G = g d / r;
    p < 2: G = g sign(d) |d|^(p-1) / r^(p-1), 0 where d = 0 if p < 1;
    p > 2: G = g d |d|^(p-2) / r^(p-1);  p = inf: G = g sign(d) where |d| = r (every tie);
and G = 0 for a pair at distance 0 (for p not 0 or 1). ``backward_graph`` writes the same G
in ops (|d|^(p-1), |d|^(p-2) with a zero derivative at d = 0), which gives torch's second
derivatives.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from .errors import ShapeError
from .index import gather, scatter_add
from .math import require_float, where


def _pairs(n: int, xp):
    """The row indices (i, j), i < j, of every pair in torch's order."""
    i, j = np.triu_indices(n, 1)
    return xp.asarray(i), xp.asarray(j)


def _distance(diff, p: float, xp):
    """||diff||_p along the last axis: (K, M) -> (K,)."""
    a = xp.abs(diff)
    if p == 0:
        return (diff != 0).sum(axis=-1).astype(diff.dtype)
    if p == 1:
        return a.sum(axis=-1)
    if p == 2:
        return xp.sqrt((diff * diff).sum(axis=-1))
    if p == math.inf:
        return a.max(axis=-1) if diff.shape[-1] else a.sum(axis=-1)
    with np.errstate(divide="ignore", over="ignore"):
        return (a**p).sum(axis=-1) ** (1.0 / p)


def _rows_from_pairs(pair_grads, i, j, n: int, xp):
    """sum over pairs of +G at row i, -G at row j: (K, M) -> (N, M) (a dense N x N x M layout,
    no scatter)."""
    full = xp.zeros((n, n) + pair_grads.shape[1:], dtype=pair_grads.dtype)
    full[i, j] = pair_grads
    return full.sum(axis=1) - full.sum(axis=0)


def pair_grad_graph(diff: Tensor, g: Tensor, r: Tensor, p: float) -> Tensor:
    """The gradient of ``g * ||d||_p`` with respect to ``d``, in ops (for second derivatives),
    for a finite p other than 0 and 1: ``g * sign(d) |d|^(p-1) / r^(p-1)`` with r = ||d||_p
    (broadcast against ``diff``); zero where r = 0, and |d|^(p-1), |d|^(p-2) taken as 0 at
    d = 0 with a zero derivative there (torch's subgradients). Shared by pdist and cdist."""
    r_zero = r.array == 0
    safe_r = where(r_zero, 1.0, r)
    if p == 2:
        pair = g * diff / safe_r
    else:
        d_zero = diff.array == 0
        safe_abs = where(d_zero, 1.0, abs(diff))
        if p < 2:
            pair = where(d_zero, 0.0, diff.sign() * safe_abs ** (p - 1)) * g / safe_r ** (p - 1)
        else:
            pair = diff * where(d_zero, 0.0, safe_abs ** (p - 2)) * g / safe_r ** (p - 1)
    return where(r_zero, 0.0, pair)


class Pdist(Function):
    """y_k = ||x_i - x_j||_p over the pairs i < j; backward as in the module docstring."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        i, j = _pairs(x.shape[0], xp)
        diff = x[i] - x[j]
        dist = _distance(diff, self.p, xp)
        if self.requires_grad:
            self.saved = diff, dist, i, j
        return dist

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        diff, dist, i, j = self.saved
        p, n = self.p, self.inputs[0].shape[0]
        if p == 0 or gy.size == 0 or diff.size == 0:
            return xp.zeros((n,) + diff.shape[1:], dtype=gy.dtype)
        g, r = gy[:, None], dist[:, None]
        zero = diff.dtype.type(0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p == 1:
                pair = g * xp.sign(diff)
            elif p == math.inf:
                pair = g * xp.sign(diff) * (xp.abs(diff) == r)
            else:
                if p < 2:
                    pair = xp.sign(diff) * xp.abs(diff) ** (p - 1) * g / r ** (p - 1)
                    if p < 1:
                        pair = xp.where(diff == 0, zero, pair)
                elif p == 2:
                    pair = g * diff / r
                else:
                    pair = diff * xp.abs(diff) ** (p - 2) * g / r ** (p - 1)
                pair = xp.where(r == 0, zero, pair)
        return _rows_from_pairs(pair, i, j, n, xp)

    def backward_graph(self, gy, x):  # the same G in ops; the masks (r = 0, d = 0, ties) are constants
        p, (n, m), xp = self.p, x.shape, x.xp
        with backend.array_scope(x.array):
            i, j = _pairs(n, xp)
            at_i, at_j = (Tensor(xp.ascontiguousarray(xp.broadcast_to(k[:, None], (k.shape[0], m)))) for k in (i, j))
            zeros = Tensor(xp.zeros(x.shape, dtype=x.dtype))
        diff = gather(x, 0, at_i) - gather(x, 0, at_j)
        g = gy.reshape(-1, 1)
        if p == 0:  # zero, but in the graph as torch's
            pair = diff * 0.0 * g
        elif p == 1:
            pair = g * diff.sign()
        elif p == math.inf:
            tie = xp.abs(diff.array) == _distance(diff.array, p, xp)[:, None]
            pair = g * diff.sign() * Tensor(tie.astype(x.dtype))
        else:
            pair = pair_grad_graph(diff, g, Pdist.apply(x, p=p).reshape(-1, 1), p)
        return scatter_add(zeros, 0, at_i, pair) - scatter_add(zeros, 0, at_j, pair)  # +G at row i, -G at row j


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distances between the rows of ``input`` (N, M), for every pair i < j:
    a tensor of shape (N (N - 1) / 2,). p >= 0 (0 and inf included)."""
    require_float(input, "pdist")
    if input.ndim != 2:
        raise ShapeError(f"pdist: expected a 2-D input (N, M), got shape {input.shape} ({input.ndim}D)")
    p = float(p)
    if not p >= 0:
        raise ShapeError(f"pdist only supports non-negative p values, got p={p}")
    return Pdist.apply(input, p=p)
