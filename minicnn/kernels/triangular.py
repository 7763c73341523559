"""Batched triangular solve by blocked substitution, as BLAS's trsm (side 'L').

Shapes: a (..., n, n), b (..., n, k) with the same batch shape (the caller broadcasts).
  solve_triangular(a, b, upper, unitriangular) -> x (..., n, k) with T x = b, T the upper
  (``upper``) or lower triangle of a; ``unitriangular``: T's diagonal is taken as ones
  (a's diagonal is not read). Entries of a outside the triangle are never read.
  A right-hand solve x T = b is the left solve T^T x^T = b^T (the caller transposes).
Blocks of ``block`` rows are solved in the order of the substitution (upper: last block
first). Each block first subtracts the contribution of the rows already solved (one matmul
over the whole batch: x_B -= T[B, done] x[done]); then its rows are solved one by one,
x_i = (x_i - T[i, B solved] x[B solved]) / T_ii, each step vectorised over the batch and
the k right-hand sides. No pivoting, no check: a zero on T's diagonal gives inf/nan as
trsm does (x_i = b_i / 0, then inf * 0 = nan further on), never an error.
Cost: n^2 k multiply-adds per matrix (half of them in the block matmuls for n >> block);
the Python loop runs over the n rows and the n / block blocks.
``solve_triangular_reference`` is the row-by-row textbook version, for tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend


def solve_triangular(a: Any, b: Any, upper: bool, unitriangular: bool = False, block: int = 32) -> Any:
    """x (..., n, k) with T x = b for a (..., n, n), b (..., n, k) (see the module docstring).
    Cost: n^2 k multiply-adds per matrix; the loop runs over the n rows, vectorised over the batch."""
    xp = backend.get_array_module(a, b)
    n = a.shape[-1]
    x = xp.array(b, dtype=xp.result_type(a, b), order="C", copy=True)  # rows contiguous (b may be a transpose)
    starts = list(range(0, n, block))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for s in reversed(starts) if upper else starts:
            e = min(s + block, n)
            # the rows solved so far: below the block (upper) or above it (lower)
            if upper and e < n:
                x[..., s:e, :] -= a[..., s:e, e:] @ x[..., e:, :]
            elif not upper and s > 0:
                x[..., s:e, :] -= a[..., s:e, :s] @ x[..., :s, :]
            for i in range(e - 1, s - 1, -1) if upper else range(s, e):
                lo, hi = (i + 1, e) if upper else (s, i)
                if hi > lo:
                    x[..., i, :] -= (a[..., i : i + 1, lo:hi] @ x[..., lo:hi, :])[..., 0, :]
                if not unitriangular:
                    x[..., i, :] /= a[..., i, i, None]
    return x


def solve_triangular_reference(a: Any, b: Any, upper: bool, unitriangular: bool = False) -> Any:
    """The textbook substitution, one matrix entry at a time (slow; for tests)."""
    xp = backend.get_array_module(a, b)
    n = a.shape[-1]
    x = xp.array(b, dtype=xp.result_type(a, b), copy=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(n - 1, -1, -1) if upper else range(n):
            for j in range(i + 1, n) if upper else range(i):
                x[..., i, :] -= a[..., i, j, None] * x[..., j, :]
            if not unitriangular:
                x[..., i, :] /= a[..., i, i, None]
    return x
