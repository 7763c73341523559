"""Randomized low-rank SVD and PCA (torch.svd_lowrank, torch.pca_lowrank): Halko, Martinsson
and Tropp (2009), algorithm 4.4 (randomized subspace iteration) for the basis, 5.1 for the SVD.

Shapes: A (..., m, n); U (..., m, q'), S (..., q'), V (..., n, q'), q' = min(q, m, n) (the
reduced QR of the sketch caps it). A is taken as tall (a wide A is transposed, and U and V
swapped back). One Gaussian test matrix R (n, q) from the global generator, shared by the
batch, as torch's. Cost per matrix: (2 niter + 2) products of A with an n x q (or m x q)
block, 4 m n q, plus niter + 1 reduced QRs (m q^2) and one SVD of a q x n matrix.
Everything is minicnn's differentiable matmul / qr / svd, so gradients flow through the
whole algorithm (for a fixed draw of R) as through torch's.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from .decompositions import qr, svd
from .errors import DtypeError, ShapeError
from .math import matmul
from .reduce import mean


def _sub(x: Tensor, m: Tensor | None, r: Tensor, mt: bool = False) -> Tensor:
    """(A - M) r, computed as torch's: A r - M r (``mt``: A^T and M^T)."""
    return x if m is None else x - matmul(m.mT if mt else m, r)


def _approximate_basis(a: Tensor, q: int, niter: int, m: Tensor | None) -> Tensor:
    """An orthonormal Q (..., m, q') whose range approximates that of A - M (torch's
    get_approximate_basis): Q = qr((A - M) R).Q, then ``niter`` power iterations."""
    from ..creation import randn  # noqa: PLC0415 - creation imports the ops

    r = randn(a.shape[-1], q, dtype=a.dtype, device=a.device)
    basis = qr(_sub(matmul(a, r), m, r)).Q
    for _ in range(niter):
        basis = qr(_sub(matmul(a.mT, basis), m, basis, mt=True)).Q
        basis = qr(_sub(matmul(a, basis), m, basis)).Q
    return basis


def _svd_lowrank(a: Tensor, q: int, niter: int, m: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    rows, cols = a.shape[-2:]
    if m is not None:
        m = m.broadcast_to(a.shape)
    wide = rows < cols
    if wide:  # the algorithm assumes a tall A
        a, m = a.mT, None if m is None else m.mT
    basis = _approximate_basis(a, q, niter, m)
    b = matmul(basis.mT, a)
    if m is not None:
        b = b - matmul(basis.mT, m)
    u, s, vh = svd(b, full_matrices=False)
    u, v = matmul(basis, u), vh.mT
    return (v, s, u) if wide else (u, s, v)


def _check(op: str, a: Any, q: Any, niter: Any) -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: A must be a Tensor, got {type(a).__name__}")
    if a.dtype.kind != "f":
        raise DtypeError(f"{op}: expected a floating point A (float32 or float64), got {a.dtype}")
    if a.ndim < 2:
        raise ShapeError(f"{op}: A must have at least 2 dimensions, got shape {a.shape}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None) -> tuple:  # noqa: N803
    """(U, S, V) with A - M ~ U diag(S) V^T of rank q' = min(q, m, n) for A (..., m, n) (M, if
    given, broadcast to A's shape; V, not V^T, as torch.svd_lowrank), by randomized subspace
    iteration with ``niter`` power steps (None: 6 and 2). The result depends on the global
    generator's draw; exact when rank(A - M) <= q. Differentiable through minicnn's qr/svd."""
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    _check("svd_lowrank", A, q, niter)
    if M is not None and not isinstance(M, Tensor):
        raise TypeError(f"svd_lowrank: M must be a Tensor or None, got {type(M).__name__}")
    return _svd_lowrank(A, int(q), int(niter), M)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2) -> tuple:  # noqa: N803
    """(U, S, V) of the low-rank SVD of A (..., m, n) after subtracting each column's mean
    (``center``): the principal directions are V's columns, S^2 / (m - 1) the variances.
    q: the rank, at most min(m, n) (None: min(6, m, n)), else ValueError as torch."""
    rows, cols = A.shape[-2:] if isinstance(A, Tensor) and A.ndim >= 2 else (0, 0)
    if q is None:
        q = min(6, rows, cols)
    elif not (q >= 0 and q <= min(rows, cols)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(rows, cols)}")
    _check("pca_lowrank", A, q, niter)
    if not center:
        return _svd_lowrank(A, int(q), int(niter), None)
    return _svd_lowrank(A - mean(A, dim=-2, keepdim=True), int(q), int(niter), None)
