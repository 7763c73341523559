"""Batched Householder QR in LAPACK's compact form, and the application of its reflectors.

Shapes: a (..., m, n), k = min(m, n).
  householder_qr(a, pivot=False) -> (h (..., m, n), tau (..., k), perm (..., n) int64 or None):
  LAPACK's geqrf (``pivot``: geqp3, column pivoting by the largest remaining column norm).
  R is h's upper triangle; below the diagonal, column i holds the reflector v_i without its
  leading 1, H_i = I - tau_i v_i v_i^T, and (A P) = H_1 ... H_k R, P the permutation taking
  column j of A P from column perm[j] of A. Reflectors as LAPACK's larfg: beta =
  -sign(alpha) ||(alpha, x)||, tau = (beta - alpha) / beta, v = x / (alpha - beta); tau = 0
  (H = I) where x = 0.
  apply_householder(h, tau, c, left, transpose) -> Q c, Q^T c (left) or c Q, c Q^T (right),
  Q = H_1 ... H_k the m x m (left; c (..., m, p)) or n x n (right; c (..., p, n)) product of
  the reflectors of h (..., mq, k') with tau (..., k): LAPACK's ormqr.
Each Python loop runs over the k columns (reflectors), every step vectorised over the batch;
no loop over the batch or the elements. Cost: 2 m n k - 2 k^3 / 3 multiply-adds per matrix
for the QR (pivoting adds a column-norm recomputation, m n per step), 2 k mq p for applying.
"""

from __future__ import annotations

from typing import Any

from .. import backend


def householder_qr(a: Any, pivot: bool = False) -> tuple[Any, Any, Any]:
    """(h, tau, perm) of a (..., m, n): the compact QR (see the module docstring). Cost: 2 m n k -
    2 k^3 / 3 multiply-adds per matrix, a Python loop over the k = min(m, n) columns."""
    xp = backend.get_array_module(a)
    h = xp.array(a, copy=True)
    *batch, m, n = h.shape
    k = min(m, n)
    tau = xp.zeros((*batch, k), dtype=h.dtype)
    perm = None
    if pivot:
        perm = xp.broadcast_to(xp.arange(n), (*batch, n)).copy()
        cols = xp.broadcast_to(xp.arange(n), (*batch, n))
    for j in range(k):
        if pivot:
            norms = xp.sqrt((h[..., j:, j:] ** 2).sum(axis=-2))
            p = (xp.argmax(norms, axis=-1) + j)[..., None]  # (..., 1): the first largest, as LAPACK
            swap = xp.where(cols == j, p, xp.where(cols == p, j, cols))  # the transposition (j p)
            h = xp.take_along_axis(h, swap[..., None, :], axis=-1)
            perm = xp.take_along_axis(perm, swap, axis=-1)
        alpha = h[..., j, j]
        x = h[..., j + 1 :, j]
        xnorm = xp.sqrt((x * x).sum(axis=-1))
        beta = -xp.copysign(xp.sqrt(alpha * alpha + xnorm * xnorm), alpha)
        keep = xnorm == 0  # H = I: nothing below the diagonal to annihilate
        safe = xp.where(keep, 1, beta)
        t = xp.where(keep, 0, (beta - alpha) / safe)
        scale = xp.where(keep, 0, 1 / xp.where(keep, 1, alpha - beta))
        v = x * scale[..., None]
        h[..., j + 1 :, j] = v
        h[..., j, j] = xp.where(keep, alpha, beta)
        tau[..., j] = t
        if j + 1 < n:  # the trailing columns: C <- (I - t v v^T) C, v = (1, v)
            c = h[..., j:, j + 1 :]
            w = c[..., 0, :] + (v[..., :, None] * c[..., 1:, :]).sum(axis=-2)
            c[..., 0, :] -= t[..., None] * w
            c[..., 1:, :] -= (t[..., None] * v)[..., :, None] * w[..., None, :]
    return h, tau, perm


def apply_householder(h: Any, tau: Any, c: Any, left: bool = True, transpose: bool = False) -> Any:
    """Q c / Q^T c (``left``) or c Q / c Q^T, Q the product of h's reflectors (module docstring).
    Cost: 2 k mq p multiply-adds per matrix, a loop over the k reflectors."""
    xp = backend.get_array_module(h, tau, c)
    out = xp.array(c, dtype=xp.result_type(h, c), copy=True)
    mq, k = h.shape[-2], tau.shape[-1]
    # Q c = H_1 (H_2 (... H_k c)): the last reflector first; Q^T c = H_k (... H_1 c); c Q = ((c H_1) H_2) ...
    order = range(k) if transpose == left else reversed(range(k))
    for i in order:
        v = xp.concatenate([xp.ones_like(h[..., i : i + 1, i]), h[..., i + 1 : mq, i]], axis=-1)  # (..., mq - i)
        t = tau[..., i]
        if left:
            block = out[..., i:, :]
            w = (v[..., :, None] * block).sum(axis=-2)  # v^T C (..., p)
            block -= (t[..., None] * v)[..., :, None] * w[..., None, :]
        else:
            block = out[..., :, i:]
            w = (block * v[..., None, :]).sum(axis=-1)  # C v (..., p)
            block -= w[..., :, None] * (t[..., None] * v)[..., None, :]
    return out
