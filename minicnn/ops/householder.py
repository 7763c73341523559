"""Householder QR in LAPACK's compact form (torch's low-level LAPACK wrappers): ``geqrf``,
``orgqr`` (= ``linalg.householder_product``) and ``ormqr``; and ``gelsy_solution``, the
minimum-norm least-squares solution by QR with column pivoting that ``linalg.lstsq`` uses
for driver 'gelsy'.

Shapes: A (..., m, n), k = min(m, n). ``geqrf``: (a (..., m, n), tau (..., k)), R on and above
a's diagonal, the reflectors below it (minicnn/kernels/householder.py). ``ormqr(input, tau,
other)``: input (..., mn, k') of reflectors, tau (..., t), other (..., m, p) (left: Q other,
mn = m) or (..., p, n) (right: other Q, mn = n), Q = H_1 ... H_t, t = min(mn, k'); transposed
with ``transpose``. Cost: geqrf 2 m n k per matrix; ormqr 4 t mn p.
Gradients: none for geqrf (torch raises when one is asked for); ormqr is written as t
rank-one updates of ``other`` in minicnn ops, so its gradients (every order, for input, tau
and other) come from autograd, as householder_product's.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, tie
from ..kernels import householder as kernel
from ..kernels import triangular as triangular_kernel
from ..tensor_methods import number_outputs
from .errors import DtypeError, ShapeError
from .math import matmul
from .matrix_functions import _check_matrix, householder_product
from .shape import cat


class GeqrfResult(NamedTuple):
    """``torch.return_types.geqrf``: (a, tau)."""

    a: Tensor
    tau: Tensor


class _Geqrf(Function):
    """The compact QR, a and tau packed along the last axis ((..., m, n + 1), tau padded with
    zeros to m); its derivative raises as torch's."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        h, tau, _ = kernel.householder_qr(a)
        m, k = a.shape[-2], tau.shape[-1]
        pad = xp.zeros((*tau.shape[:-1], m - k), dtype=a.dtype)
        return xp.concatenate([h, xp.concatenate([tau, pad], axis=-1)[..., :, None]], axis=-1)

    def backward(self, gy):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")

    def backward_graph(self, gy, a):
        return self.backward(None)


def geqrf(input: Tensor) -> GeqrfResult:  # noqa: A002 - torch's name
    """LAPACK's geqrf of each matrix of ``input`` (..., m, n): (a, tau), R in a's upper triangle
    and the Householder reflectors H_i = I - tau_i v_i v_i^T below it (v_i: column i under the
    diagonal, with a 1 on it); Q = H_1 ... H_k (``orgqr`` forms it, ``ormqr`` applies it). Not
    differentiable (torch's rule: asking for the gradient raises NotImplementedError)."""
    _check_matrix("geqrf", input, "input")
    m, n = input.shape[-2:]
    out = _Geqrf.apply(input)
    return GeqrfResult(*number_outputs((out[..., :, :n], out[..., : min(m, n), n])))


def orgqr(input: Tensor, tau: Tensor) -> Tensor:  # noqa: A002
    """The first n columns of H_1 ... H_k from geqrf's (input, tau): ``linalg.householder_product``."""
    return householder_product(input, tau)


def _check_ormqr(h: Tensor, tau: Tensor, other: Tensor, left: bool) -> None:
    op = "torch.ormqr"
    for name, t in (("input", h), ("tau", tau), ("other", other)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if h.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dimensions, got shape {h.shape}.")
    if other.ndim < 2:
        raise ShapeError(f"{op}: other must have at least 2 dimensions, got shape {other.shape}.")
    if h.dtype not in (np.float32, np.float64):
        raise DtypeError(f"{op}: Expected a floating point tensor (float32 or float64) as input. Got {h.dtype}")
    for name, t in (("tau", tau), ("other", other)):
        if t.dtype != h.dtype:
            raise DtypeError(
                f"{op}: Expected input and {name} to have the same dtype, but input has dtype {h.dtype} and "
                f"{name} has dtype {t.dtype}"
            )
    if tau.ndim != h.ndim - 1:
        raise ShapeError(
            f"{op}: Expected tau to have one dimension less than input, but got tau.ndim equal to {tau.ndim} and "
            f"input.ndim is equal to {h.ndim}"
        )
    if other.ndim != h.ndim:
        raise ShapeError(f"{op}: Expected other to have as many dimensions as input, got {other.shape} and {h.shape}")
    side, dim = ("other.shape[-2]", -2) if left else ("other.shape[-1]", -1)
    if other.shape[dim] != h.shape[-2]:
        raise ShapeError(f"{op}: {side} must be equal to input.shape[-2], got {other.shape} and {h.shape}")
    if tau.shape[-1] != min(other.shape[dim], h.shape[-1]):
        raise ShapeError(
            f"{op}: tau.shape[-1] must be equal to min({side}, input.shape[-1]), got tau {tau.shape}, "
            f"input {h.shape} and other {other.shape}"
        )
    if tau.shape[:-1] != h.shape[:-2] or other.shape[:-2] != h.shape[:-2]:
        raise ShapeError(
            f"{op}: Expected batch dimensions of tau and other to be equal to input.shape[:-2], got input "
            f"{h.shape}, tau {tau.shape} and other {other.shape}"
        )


def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True, transpose: bool = False) -> Tensor:  # noqa: A002
    """Q @ other (``left``) or other @ Q, Q^T with ``transpose``, Q = H_1 ... H_t the (mn, mn)
    product of the Householder reflectors of geqrf's (input, tau) (LAPACK's ormqr), without
    forming Q. Differentiable in input (below its diagonal), tau and other."""
    _check_ormqr(input, tau, other, left)
    mn, t = input.shape[-2], tau.shape[-1]
    out = other
    with backend.array_scope(input.array):
        one = Tensor(input.xp.ones((*input.shape[:-2], 1, 1), dtype=input.dtype))
    # Q c = H_1 (... (H_t c)): the last reflector first; Q^T c = H_t (... (H_1 c)); c Q = ((c H_1) H_2) ...
    for i in range(t) if transpose == left else reversed(range(t)):
        v = cat([one, input[..., i + 1 : mn, i : i + 1]], dim=-2)  # (..., mn - i, 1)
        ti = tau[..., i : i + 1].unsqueeze(-1)
        if left:  # rows i: of c change: c_i -= tau v (v^T c_i)
            block = out[..., i:, :]
            out = cat([out[..., :i, :], block - matmul(ti * v, matmul(v.mT, block))], dim=-2)
        else:
            block = out[..., :, i:]
            out = cat([out[..., :, :i], block - matmul(matmul(block, v), (ti * v).mT)], dim=-1)
    return out if t else tie(tie(out.clone(), input), tau)  # no reflectors: Q = I, zero gradients for input and tau


def gelsy_solution(a: Any, b: Any, rcond: float) -> tuple[Any, Any]:
    """(x (..., n, p), rank (...) int64): LAPACK's gelsy for a (..., m, n), b (..., m, p) of one
    batch shape. A P = Q R with column pivoting; the rank r is the largest leading R11 (r x r)
    with smax(R11) * rcond <= smin(R11) (LAPACK estimates those singular values incrementally;
    here they are exact, from svdvals of each leading block, which decides the same away from
    the threshold), and 1 wherever R[0, 0] != 0 (0 where it is 0, or where b has no columns);
    x = P z, z the minimum-norm solution of R[:r, :] z = (Q^T b)[:r]. Cost: the pivoted QR
    (2 m n k), Q^T b (2 m k p), one svdvals of the k x k R (and, when that is not full rank,
    of each leading block, k^4 / 3 at most), and a QR of each distinct rank's R[:r, :]^T."""
    xp = backend.get_array_module(a, b)
    *batch, m, n = a.shape
    k = min(m, n)
    x = xp.zeros((*batch, n, b.shape[-1]), dtype=a.dtype)
    rank = xp.zeros(tuple(batch), dtype=np.int64)
    if k == 0 or 0 in batch or b.shape[-1] == 0:  # LAPACK's quick return: rank 0
        return x, rank
    h, tau, perm = kernel.householder_qr(a, pivot=True)
    c = kernel.apply_householder(h, tau, b, left=True, transpose=True)[..., :k, :]
    r = xp.triu(h[..., :k, :])

    def accepted(size: int) -> Any:
        s = xp.linalg.svd(r[..., :size, :size], compute_uv=False)
        return s[..., -1] >= s[..., 0] * rcond

    rank = xp.where(r[..., 0, 0] != 0, 1, 0).astype(np.int64)
    if k > 1 and bool((accepted(k) & (rank == 1)).all()):  # full rank: the common case, one svdvals
        rank = xp.full(tuple(batch), k, dtype=np.int64)
    elif k > 1:
        alive = rank == 1
        for size in range(2, k + 1):
            alive = alive & accepted(size)
            if not bool(alive.any()):
                break
            rank = rank + alive
    p = b.shape[-1]
    z = xp.zeros((rank.size, n, p), dtype=a.dtype)  # the batch flattened: the ranks pick matrices by index
    flat_rank, flat_r, flat_c = rank.reshape(-1), r.reshape(rank.size, k, n), c.reshape(rank.size, k, p)
    for rk in (int(v) for v in xp.unique(flat_rank)):
        if rk == 0:
            continue
        sel = xp.nonzero(flat_rank == rk)[0]
        # min-norm z of T z = d, T = R[:r, :] (full row rank): T^T = Q2 R2, z = Q2 R2^-T d
        q2, r2 = xp.linalg.qr(xp.swapaxes(flat_r[sel, :rk, :], -1, -2))
        w = triangular_kernel.solve_triangular(xp.swapaxes(r2, -1, -2), flat_c[sel, :rk, :], upper=False)
        z[sel] = q2 @ w
    z = z.reshape(*batch, n, p)
    x = xp.take_along_axis(z, xp.argsort(perm, axis=-1)[..., :, None], axis=-2)  # x[perm[j]] = z[j]
    return x, rank
