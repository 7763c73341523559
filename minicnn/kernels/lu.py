"""LU factorization with partial pivoting, as LAPACK's getrf, and the LDL^T factorization of
symmetric matrices with Bunch-Kaufman pivoting, as LAPACK's sytrf (``ldl_factor``/``ldl_solve``,
see their docstrings), in plain batched array code.

Shapes: a (..., m, n), k = min(m, n).
  lu_factor(a) -> lu (..., m, n): U in the upper triangle, L's multipliers below the
                  diagonal (L has a unit diagonal, not stored);
                  pivots (..., k) int32, 1-based: row j was swapped with row pivots[j] - 1
                  at step j (LAPACK's ipiv);
                  info (...) int32: 0, or the 1-based index of the first zero pivot U[j, j].
  permutation(pivots, m) -> perm (..., m) int64 with a[perm] = (L U) row by row, i.e.
                  A = P L U with P[perm[i], i] = 1.
Each step j picks as pivot the first entry of largest |.| in column j on or below the
diagonal (LAPACK's idamax), swaps it into row j (two rows per matrix, by index), scales the
column below by 1 / pivot and subtracts the rank-one update, for all matrices of the batch at
once. A zero pivot leaves its column unscaled and sets info, as getrf (the factorization goes on).
Blocked right-looking, as getrf: the steps of a panel of ``block`` columns update the panel
only (and the panel's rows of U to its right, one dot product each); then the trailing block
gets one matmul, A22 -= L21 U12. The steps work on a transposed copy of the panel, so that a
column's pivot search, scaling and rank-one update run along contiguous memory. The last
panel updates every column to its right, so a matrix with k <= block is factored by the
plain unblocked steps (LAPACK's getf2).
An exactly singular matrix (a repeated row) has an exactly zero pivot for k <= block (as
getf2); beyond, rounding decides (as in LAPACK's blocked getrf, whose info differs too).
Cost: O(m n k) per matrix, most of it in the matmuls; the Python loop runs over the k
columns only. Rounding differs from LAPACK's in the last bits, so the pivots equal LAPACK's
except at near-ties. ``lu_factor_reference`` is the loop-by-loop textbook version, for tests.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend


def lu_factor(a: Any, pivot: bool = True, block: int = 16) -> tuple[Any, Any, Any]:
    """(lu, pivots, info) of each matrix of a (..., m, n); ``pivot=False``: no row swaps
    (pivots are 1..k). ``block``: the panel width. Cost: O(m n k) per matrix, mostly in the
    trailing matmuls; the Python loop runs over the k columns."""
    xp = backend.get_array_module(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    lu = a.reshape(math.prod(batch), m, n).copy()  # one batch dim: rows are picked by index
    at = xp.arange(lu.shape[0])
    pivots = xp.broadcast_to(xp.arange(1, k + 1, dtype=np.int32), (lu.shape[0], k)).copy()
    for j0 in range(0, k, block):
        j1 = min(j0 + block, k)
        c1 = j1 if j1 < k else n  # the columns the steps update: the panel, or all in the last one
        pt = xp.swapaxes(lu[:, j0:, j0:c1], -1, -2).copy()  # the panel, transposed: its columns contiguous
        for j in range(j0, j1):
            jj = j - j0  # column j of the matrix is row jj of pt
            if pivot:
                q = jj + xp.argmax(xp.abs(pt[:, jj, jj:]), axis=-1)  # (B,): the first largest |.|
                p = q + j0
                row_j = lu[:, j].copy()  # the whole rows (the panel's part is rewritten from pt below)
                lu[:, j] = lu[at, p]
                lu[at, p] = row_j
                col_j = pt[:, :, jj].copy()
                pt[:, :, jj] = pt[at, :, q]
                pt[at, :, q] = col_j
                pivots[:, j] = p + 1
            d = pt[:, jj, jj]
            pt[:, jj, jj + 1 :] *= (1 / xp.where(d == 0, 1, d)).astype(a.dtype, copy=False)[:, None]
            pt[:, jj + 1 :, jj + 1 :] -= pt[:, jj + 1 :, jj, None] * pt[:, jj, None, jj + 1 :]
            if jj > 0:  # row j of U right of the panel: its row minus L[j, j0:j] U[j0:j]
                lu[:, j, c1:] -= (pt[:, None, :jj, jj] @ lu[:, j0:j, c1:])[:, 0]
        lu[:, j0:, j0:c1] = xp.swapaxes(pt, -1, -2)
        lu[:, j1:, c1:] -= lu[:, j1:, j0:j1] @ lu[:, j0:j1, c1:]
    info = xp.zeros(lu.shape[0], dtype=np.int32)
    if k:  # the first zero on U's diagonal (a step's pivot stays there unchanged)
        zero = xp.diagonal(lu, axis1=-2, axis2=-1) == 0
        info = xp.where(zero.any(axis=-1), zero.argmax(axis=-1) + 1, 0).astype(np.int32)
    return lu.reshape(a.shape), pivots.reshape(*batch, k), info.reshape(batch)


def permutation(pivots: Any, m: int) -> Any:
    """perm (..., m) from LAPACK pivots (..., k): the row swaps applied to 0..m-1 in order."""
    xp = backend.get_array_module(pivots)
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    piv = pivots.reshape(math.prod(batch), k).astype(np.int64) - 1
    perm = xp.broadcast_to(xp.arange(m), (piv.shape[0], m)).copy()
    at = xp.arange(piv.shape[0])
    for j in range(k):  # swap entries j and p of each row (p = j: a no-op)
        p = piv[:, j]
        at_p = perm[at, p]
        perm[at, p] = perm[:, j]
        perm[:, j] = at_p
    return perm.reshape(*batch, m)


def permutation_matrix(perm: Any, dtype: Any) -> Any:
    """P (..., m, m) with P[perm[i], i] = 1, so that A = P L U."""
    xp = backend.get_array_module(perm)
    m = perm.shape[-1]
    return (xp.arange(m)[:, None] == perm[..., None, :]).astype(dtype)


def lu_factor_reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The same for one NumPy matrix (m, n), loop by loop: the textbook algorithm, for tests."""
    lu = np.array(a, dtype=a.dtype)
    m, n = lu.shape
    pivots, info = np.zeros(min(m, n), dtype=np.int32), 0
    for j in range(min(m, n)):
        p = j + int(np.argmax(np.abs(lu[j:, j])))
        lu[[j, p]] = lu[[p, j]]
        pivots[j] = p + 1
        if lu[j, j] == 0:
            info = info or j + 1
            continue
        lu[j + 1 :, j] *= 1 / lu[j, j]
        for i in range(j + 1, m):
            lu[i, j + 1 :] -= lu[i, j] * lu[j, j + 1 :]
    return lu, pivots, info


# -- LDL^T with Bunch-Kaufman pivoting (LAPACK's sytrf, lower) ----------------------------------

_BK_ALPHA = (1 + 17**0.5) / 8  # Bunch-Kaufman's threshold: bounds the growth of the factors


def _symmetric_swap(t: Any, i: Any, j: Any) -> Any:
    """t (..., r, r) with rows and columns i and j (each (...)) exchanged, per matrix."""
    xp = backend.get_array_module(t)
    idx = xp.arange(t.shape[-1])
    idx = xp.where(idx == i[..., None], j[..., None], xp.where(idx == j[..., None], i[..., None], idx))
    t = xp.take_along_axis(t, idx[..., :, None], axis=-2)
    return xp.take_along_axis(t, idx[..., None, :], axis=-1)


def _symmetrize(t: Any) -> Any:
    """The symmetric matrix with t's lower triangle."""
    xp = backend.get_array_module(t)
    return xp.tril(t) + xp.swapaxes(xp.tril(t, -1), -1, -2)


def ldl_factor(a: Any) -> tuple[Any, Any, Any]:
    """A = L D L^T for each symmetric matrix of a (..., n, n) (its lower triangle is read), D
    block diagonal with 1x1 and 2x2 blocks, as LAPACK's sytf2 (uplo 'L'). Returns
    ld (..., n, n): D's blocks on the diagonal and subdiagonal, L's multipliers below them,
    zeros above; pivots (..., n) int32: k + 1 > 0 for a 1x1 block at column j whose rows and
    columns j and k were exchanged, -(k + 1) on both columns of a 2x2 block (second column
    exchanged with k); info (...) int32: the first exactly zero block column, 1-based, or 0.
    Each step j picks the block size and the interchange from the largest off-diagonal
    entries of column j and of row imax (Bunch-Kaufman), for all matrices at once; a matrix
    whose step j - 1 was a 2x2 block skips step j (masks). Cost: O(n^3) per matrix."""
    xp = backend.get_array_module(a)
    n = a.shape[-1]
    batch = a.shape[:-2]
    s = _symmetrize(a)
    pivots = xp.zeros((*batch, n), dtype=np.int32)
    info = xp.zeros(batch, dtype=np.int32)
    skip = xp.zeros(batch, dtype=bool)
    alpha = a.dtype.type(_BK_ALPHA)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(n):
            t = s[..., j:, j:]
            r = n - j
            active = ~skip
            absakk = xp.abs(t[..., 0, 0])
            if r > 1:
                imax = 1 + xp.argmax(xp.abs(t[..., 1:, 0]), axis=-1)
                colmax = xp.abs(xp.take_along_axis(t[..., :, 0], imax[..., None], axis=-1)[..., 0])
                row = xp.abs(xp.take_along_axis(t, imax[..., None, None], axis=-2)[..., 0, :])
                row = xp.where(xp.arange(r) == imax[..., None], 0, row)  # off the diagonal
                rowmax = row.max(axis=-1)
                diag = xp.abs(xp.take_along_axis(xp.diagonal(t, axis1=-2, axis2=-1), imax[..., None], axis=-1)[..., 0])
            else:
                imax = xp.zeros(batch, dtype=np.int64)
                colmax = rowmax = diag = xp.zeros(batch, dtype=a.dtype)
            zero = xp.maximum(absakk, colmax) == 0
            keep = zero | (absakk >= alpha * colmax) | (absakk >= alpha * colmax * (colmax / rowmax))
            two = active & ~keep & (diag < alpha * rowmax)
            kp = xp.where(keep, 0, imax)  # the row and column exchanged with kk = 0 or 1 (2x2)
            kk = two.astype(imax.dtype)
            kp = xp.where(active, kp, kk)
            t = _symmetric_swap(t, kk, kp)
            one = active & ~two & ~zero
            # 1x1 block: L's column = t[1:, 0] / d, trailing block -= x x^T / d
            d11 = 1 / xp.where(one, t[..., 0, 0], 1)
            x = t[..., 1:, 0]
            t1 = t.copy()
            t1[..., 1:, 1:] -= x[..., :, None] * (d11[..., None] * x)[..., None, :]
            t1[..., 1:, 0] *= d11[..., None]
            # 2x2 block on columns 0, 1: L's two columns w = [c0 c1] D^-1, trailing -= [c0 c1] w^T
            t2 = t.copy()
            if r > 2:
                d21 = xp.where(two, t[..., 1, 0], 1)
                e11, e22 = t[..., 1, 1] / d21, t[..., 0, 0] / d21
                d21 = (1 / (e11 * e22 - 1)) / d21
                c0, c1 = t[..., 2:, 0], t[..., 2:, 1]
                w0 = d21[..., None] * (e11[..., None] * c0 - c1)
                w1 = d21[..., None] * (e22[..., None] * c1 - c0)
                t2[..., 2:, 2:] -= c0[..., :, None] * w0[..., None, :] + c1[..., :, None] * w1[..., None, :]
                t2[..., 2:, 0], t2[..., 2:, 1] = w0, w1
            t = xp.where(one[..., None, None], t1, xp.where(two[..., None, None], t2, t))
            s[..., j:, j:] = _symmetrize(t)
            p = (j + kp + 1).astype(np.int32)
            pivots[..., j] = xp.where(active, xp.where(two, -p, p), pivots[..., j])
            if j + 1 < n:
                pivots[..., j + 1] = xp.where(two, -p, pivots[..., j + 1])
            info = xp.where(active & zero & (info == 0), np.int32(j + 1), info)
            skip = two
    return xp.tril(s), pivots, info


def ldl_solve(ld: Any, pivots: Any, b: Any) -> Any:
    """X with A X = B, A = L D L^T given by :func:`ldl_factor`'s (ld, pivots) (..., n, n),
    (..., n); b (..., n, k) of the same batch shape. As LAPACK's sytrs: the interchanges and
    L^-1 column by column, D's blocks, then L^-T and the interchanges backwards (masks for the
    2x2 blocks). Cost: O(n^2 k) per matrix."""
    xp = backend.get_array_module(b)
    n = ld.shape[-1]
    batch = ld.shape[:-2]
    b = b.copy()
    rows = xp.arange(n)

    def swap(b: Any, i: Any, j: Any) -> Any:
        idx = xp.where(rows == i[..., None], j[..., None], xp.where(rows == j[..., None], i[..., None], rows))
        return xp.take_along_axis(b, idx[..., :, None], axis=-2)

    skip = xp.zeros(batch, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(n):  # L D Y = P^T B, left to right
            p = pivots[..., k].astype(np.int64)
            one, two = ~skip & (p > 0), ~skip & (p < 0)
            at = xp.where(two, k + 1, k)
            b = swap(b, xp.where(one | two, at, k), xp.where(one, p - 1, xp.where(two, -p - 1, k)))
            bk = b[..., k, :]
            if k + 1 < n:
                b1 = b.copy()
                b1[..., k + 1 :, :] -= ld[..., k + 1 :, k, None] * bk[..., None, :]
                b1[..., k, :] = bk / xp.where(one, ld[..., k, k], 1)[..., None]
                b2 = b.copy()
                bk1 = b[..., k + 1, :]
                b2[..., k + 2 :, :] -= (
                    ld[..., k + 2 :, k, None] * bk[..., None, :] + ld[..., k + 2 :, k + 1, None] * (bk1[..., None, :])
                )
                d21 = xp.where(two, ld[..., k + 1, k], 1)[..., None]
                e11, e22 = ld[..., k, k, None] / d21, ld[..., k + 1, k + 1, None] / d21
                denom = e11 * e22 - 1
                y0, y1 = bk / d21, bk1 / d21
                b2[..., k, :] = (e22 * y0 - y1) / denom
                b2[..., k + 1, :] = (e11 * y1 - y0) / denom
                b = xp.where(one[..., None, None], b1, xp.where(two[..., None, None], b2, b))
            else:
                b[..., k, :] = xp.where(one[..., None], bk / ld[..., k, k, None], bk)
            skip = two
        skip = xp.zeros(batch, dtype=bool)
        for k in reversed(range(n)):  # L^T X = Y, then the interchanges, right to left
            p = pivots[..., k].astype(np.int64)
            one, two = ~skip & (p > 0), ~skip & (p < 0)
            tail = b[..., k + 1 :, :]
            b1 = b.copy()
            b1[..., k, :] -= (ld[..., k + 1 :, k, None] * tail).sum(axis=-2)
            if k > 0:
                b1[..., k - 1, :] -= xp.where(two[..., None], (ld[..., k + 1 :, k - 1, None] * tail).sum(axis=-2), 0)
            b = xp.where((one | two)[..., None, None], b1, b)
            b = swap(b, xp.full(batch, k), xp.where(one, p - 1, xp.where(two, -p - 1, k)))
            skip = two
    return b


def ldl_factor_reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """LAPACK's dsytf2 (uplo 'L') for one NumPy matrix (n, n), step by step, for tests."""
    a = np.tril(np.array(a))
    n = a.shape[0]
    pivots, info, k = np.zeros(n, dtype=np.int32), 0, 0
    while k < n:
        kstep, absakk = 1, abs(a[k, k])
        imax = k + 1 + int(np.argmax(np.abs(a[k + 1 :, k]))) if k < n - 1 else k
        colmax = abs(a[imax, k]) if k < n - 1 else 0.0
        kp = k
        if max(absakk, colmax) == 0:
            info = info or k + 1
        else:
            if absakk < _BK_ALPHA * colmax:
                rowmax = np.abs(a[imax, k:imax]).max()
                if imax < n - 1:
                    rowmax = max(rowmax, np.abs(a[imax + 1 :, imax]).max())
                if absakk < _BK_ALPHA * colmax * (colmax / rowmax):
                    kp = imax
                    kstep = 1 if abs(a[imax, imax]) >= _BK_ALPHA * rowmax else 2
            kk = k + kstep - 1
            if kp != kk:  # exchange rows and columns kk and kp of the trailing block
                a[kp + 1 :, [kk, kp]] = a[kp + 1 :, [kp, kk]]
                tmp = a[kk + 1 : kp, kk].copy()
                a[kk + 1 : kp, kk] = a[kp, kk + 1 : kp]
                a[kp, kk + 1 : kp] = tmp
                a[[kk, kp], [kk, kp]] = a[[kp, kk], [kp, kk]]
                if kstep == 2:
                    a[[k + 1, kp], k] = a[[kp, k + 1], k]
            if kstep == 1 and k < n - 1:
                d11 = 1 / a[k, k]
                x = a[k + 1 :, k].copy()
                a[k + 1 :, k + 1 :] -= np.tril(np.outer(x, d11 * x))
                a[k + 1 :, k] *= d11
            elif kstep == 2 and k < n - 2:
                d21 = a[k + 1, k]
                e11, e22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                d21 = (1 / (e11 * e22 - 1)) / d21
                c0, c1 = a[k + 2 :, k].copy(), a[k + 2 :, k + 1].copy()
                w0, w1 = d21 * (e11 * c0 - c1), d21 * (e22 * c1 - c0)
                a[k + 2 :, k + 2 :] -= np.tril(np.outer(c0, w0) + np.outer(c1, w1))
                a[k + 2 :, k], a[k + 2 :, k + 1] = w0, w1
        pivots[k : k + kstep] = kp + 1 if kstep == 1 else -(kp + 1)
        k += kstep
    return a, pivots, info
