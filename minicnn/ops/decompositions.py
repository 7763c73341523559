"""Matrix decompositions and the functions built on them, batched over leading dims as in
``torch.linalg``: qr, eigh/eigvalsh, svd/svdvals, solve_triangular, pinv, and (composites of
these and minicnn ops) matrix_rank, lstsq, matrix_power, multi_dot, vecdot, cross, cond,
cholesky_ex, inv_ex, tensorinv, tensorsolve; torch's older forms logdet, torch.svd's (U, S, V),
cholesky_solve and cholesky_inverse.

Shapes: A (..., m, n), k = min(m, n). ``qr``: Q (..., m, k|m), R (..., k|m, n); ``eigh`` of a
symmetric (..., n, n): eigenvalues (..., n) ascending, eigenvectors (..., n, n) as columns;
``svd``: U (..., m, k|m), S (..., k) descending, Vh (..., k|n, n). Float32 and float64.
Cost per matrix: O(m n k) forward (one LAPACK / cuSOLVER call), about as much backward.

A decomposition with several outputs is one op whose output packs them, flattened, along
the last axis; the public functions cut it apart (slices and reshapes, so each part is
differentiable). The gradient formulas are torch's (real case; A^T is the transpose of the
last two dims, skew(X) = X - X^T):
  qr   m >= n:  dA = (gQ + Q syminvadj(triu(gR R^T - Q^T gQ))) R^-T,
                syminvadj(X) = X + X^T with X's own diagonal; m < n (A = [X | Y], R = [U | V]):
                dY = Q gV and dX is the square case with gQ + Y gV^T
  eigh          dA = V (skew(V^T gV) / 2E + diag(gL)) V^T,  E_ij = L_j - L_i (diagonal 1)
  svd           dA = U ((skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS)) V^T,
                E_ij = S_j^2 - S_i^2, plus (I - U U^T) gU S^-1 V^T (tall) or
                U S^-1 gV^T (I - V V^T) (wide)
  pinv          torch's pinv_backward (constant rank)
A part whose gradient is zero counts as absent (torch: undefined), so that eigenvalues alone
or singular values alone stay finite at repeated values. Each formula is written once on
tensors; ``backward`` runs it without a graph, ``backward_graph`` with one (the op's output
and the op itself appear in it, so it is differentiable again, to any order).
On CuPy every op runs the batched cupy.linalg call (qr, eigh, svd, solve); lstsq and pinv go
through the SVD (cupy.linalg.lstsq has no batches).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, no_grad, tie
from ..kernels import lu as lu_kernels
from ..kernels import triangular as triangular_kernel
from ..tensor_methods import number_outputs
from . import householder
from .errors import DtypeError, ShapeError
from .math import clone, matmul, require_float, where
from .matrix_functions import (
    Cholesky,
    Inv,
    LinAlgError,
    NoGradient,
    _check_matrix,
    _check_square,
    inv,
    slogdet,
    solve,
)
from .reduce import amax, amin
from .shape import cat, stack, tril, triu

# -- checks and helpers ----------------------------------------------------------------


def _lapack(op: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` (an ``xp.linalg`` SVD or eigensolver), NumPy's LinAlgError (no
    convergence: a NaN or inf in the input) raised as minicnn's :class:`LinAlgError`, as torch."""
    try:
        return fn(*args, **kwargs)
    except np.linalg.LinAlgError:
        raise LinAlgError(
            f"{op}: The algorithm failed to converge because the input matrix contained non-finite values."
        ) from None


def _const(like: Tensor, array: Any) -> Tensor:
    with backend.array_scope(like.array):
        return Tensor(like.xp.asarray(array, dtype=like.dtype))


def _eye(like: Tensor, n: int, m: int | None = None) -> Tensor:
    with backend.array_scope(like.array):
        return Tensor(like.xp.eye(n, m, dtype=like.dtype))


def _diag_embed(d: Tensor) -> Tensor:
    """(..., n) -> (..., n, n) with d on the diagonal."""
    return d.unsqueeze(-1) * _eye(d, d.shape[-1])


def _nonzero(t: Tensor) -> bool:
    return bool(t.xp.any(t.array))


def _pack(xp: Any, batch: tuple[int, ...], *parts: Any) -> Any:
    # each part's own size, not -1: a batch of 0 matrices leaves -1 undetermined
    return xp.concatenate([p.reshape(*batch, math.prod(p.shape[len(batch) :])) for p in parts], axis=-1)


def _unpack(out: Any, shapes: tuple[tuple[int, ...], ...]) -> list[Any]:
    """The parts of a packed output (arrays or tensors), each (*batch, *shape)."""
    batch, parts, start = out.shape[:-1], [], 0
    for shape in shapes:
        size = math.prod(shape)
        parts.append(out[..., start : start + size].reshape((*batch, *shape)))
        start += size
    number_outputs(parts)  # (torch's output_nr: the parts are one op's outputs)
    return parts


class _Packed(Function):
    """A decomposition: forward packs its parts (``self.shapes``); ``_grad(g_parts, parts)``
    (on tensors) gives dA. graph_output: the formula reads the parts, not A."""

    graph_reads = ()
    graph_output = True
    shapes: tuple[tuple[int, ...], ...] = ()

    def _store(self, a: Any, *parts: Any) -> Any:
        self.shapes = tuple(p.shape[a.ndim - 2 :] for p in parts)
        out = _pack(backend.get_array_module(a), a.shape[:-2], *parts)
        if self.requires_grad:
            self.out = out
        return out

    def backward(self, gy):
        with no_grad(), backend.array_scope(gy):
            return self._grad(_unpack(Tensor(gy), self.shapes), _unpack(Tensor(self.out), self.shapes)).array

    def backward_graph(self, gy, a, out):
        return self._grad(_unpack(gy, self.shapes), _unpack(out, self.shapes))


# -- solve_triangular -----------------------------------------------------------------------


class SolveTriangular(Function):
    """X = T^-1 B, T the upper or lower triangle of A (..., n, n) (unit diagonal if
    ``unitriangular``), B (..., n, k). dB = T^-T G, dA = -triangle(dB X^T); ``full_grad``:
    dA = -dB X^T, the gradient of A^-1 B for a full A at a triangular one (torch's
    cholesky_solve, whose factor's other triangle gets a gradient though not read)."""

    graph_output = True
    full_grad = False

    def forward(self, a, b):
        x = triangular_kernel.solve_triangular(a, b, self.upper, self.unitriangular)
        if self.requires_grad:
            self.a, self.x = a, x
        return x

    def backward(self, gy):
        with no_grad(), backend.array_scope(gy):
            ga, gb = self.backward_graph(Tensor(gy), Tensor(self.a), None, Tensor(self.x))
        return None if ga is None else ga.array, None if gb is None else gb.array

    def backward_graph(self, gy, a, b, out):
        gb = SolveTriangular.apply(
            a.mT, gy, upper=not self.upper, unitriangular=self.unitriangular, full_grad=self.full_grad
        )
        ga = None
        if self.needs_input_grad[0]:
            ga = -matmul(gb, out.mT)
            if not self.full_grad:
                ga = triu(ga, int(self.unitriangular)) if self.upper else tril(ga, -int(self.unitriangular))
        return ga, gb if self.needs_input_grad[1] else None


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor:
    """X with T X = B (``left=False``: X T = B), T the upper (``upper``) or lower triangle of A
    (..., n, n), with ones on the diagonal if ``unitriangular``. B (..., n, k) (left) or
    (..., k, n); batch dims broadcast. A zero on T's diagonal gives inf/nan, as torch (no error)."""
    op = "linalg.solve_triangular"
    _check_square(op, A)
    _check_matrix(op, B, "B")
    if B.dtype != A.dtype:
        raise DtypeError(f"{op}: Expected A and B to have the same dtype, but found A of {A.dtype} and B of {B.dtype}")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise ShapeError(f"{op}: Incompatible shapes of A and B for the equation ({A.shape} and {B.shape})")
    try:
        batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of A {A.shape} and B {B.shape} do not broadcast") from None
    a, b = A.expand(*batch, n, n), B.expand(*batch, *B.shape[-2:])
    if left:
        return SolveTriangular.apply(a, b, upper=upper, unitriangular=unitriangular)
    return SolveTriangular.apply(a.mT, b.mT, upper=not upper, unitriangular=unitriangular).mT


# -- qr ----------------------------------------------------------------------------------


class QRResult(NamedTuple):
    """``torch.return_types.linalg_qr`` (and ``qr``): (Q, R)."""

    Q: Tensor
    R: Tensor


def _syminvadj(x: Tensor) -> Tensor:
    """X + X^T keeping X's own diagonal."""
    return x + x.mT - _diag_embed(x.diagonal(0, -2, -1))


def _qr_grad_tall(gq: Tensor, gr: Tensor, q: Tensor, r: Tensor) -> Tensor:
    """dA for A = QR with R square (m >= n, reduced)."""
    m = matmul(gr, r.mT) - matmul(q.mT, gq)
    b = gq + matmul(q, _syminvadj(triu(m)))
    return SolveTriangular.apply(r, b.mT, upper=True, unitriangular=False).mT  # b R^-T


class QR(_Packed):
    """(Q, R) packed; ``mode`` 'reduced' or 'complete' (Q is needed for the gradient)."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        q, r = xp.linalg.qr(a, mode=self.mode)
        return self._store(a, q, r)

    def _grad(self, g, parts):
        (gq, gr), (q, r) = g, parts
        m, n = q.shape[-2], r.shape[-1]
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if m >= n:
            return _qr_grad_tall(gq, gr, q, r)
        # wide: A = [X | Y], R = [U | V] with X = Q U square, Y = Q V
        a_y = matmul(q, r[..., :, m:])
        gv = gr[..., :, m:]
        gx = _qr_grad_tall(gq + matmul(a_y, gv.mT), gr[..., :, :m], q, r[..., :, :m])
        return cat([gx, matmul(q, gv)], dim=-1)


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """A = QR, Q (..., m, k) orthonormal columns and R (..., k, n) upper triangular, k =
    min(m, n) (``mode='complete'``: k = m; ``'r'``: R only, Q empty). LAPACK's signs (those of
    torch). Not differentiable for mode='r', nor for 'complete' with m > n (torch's rules)."""
    _check_matrix("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise ShapeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'"
        )
    if mode == "r":
        r = number_outputs((_RAlone.apply(A),), first=1)[0]  # (torch's output_nr: R is output 1)
        return QRResult(_const(A, A.xp.zeros((0,), dtype=A.dtype)), r)
    out = QR.apply(A, mode=mode)
    m, n = A.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    q, r = _unpack(out, ((m, k), (k, n)))
    return QRResult(q, r)


class _RAlone(Function):
    """R of A = QR (mode='r'); its gradient raises as torch's (Q is not computed)."""

    def forward(self, a):
        return backend.get_array_module(a).linalg.qr(a, mode="r")

    def backward(self, gy):
        raise RuntimeError(
            "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use "
            "linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr."
        )

    def backward_graph(self, gy, a):
        return self.backward(None)


# -- eigh ----------------------------------------------------------------------------------


class EighResult(NamedTuple):
    """``torch.return_types.linalg_eigh``: (eigenvalues, eigenvectors)."""

    eigenvalues: Tensor
    eigenvectors: Tensor


def _eigh_grad(gl: Tensor, gv: Tensor, lam: Tensor, v: Tensor) -> Tensor:
    inner = _diag_embed(gl)
    if _nonzero(gv):
        s = matmul(v.mT, gv)
        e = lam.unsqueeze(-2) - lam.unsqueeze(-1) + _eye(lam, lam.shape[-1])  # E_ij = L_j - L_i, 1 on the diagonal
        inner = inner + 0.5 * (s - s.mT) / e
    return matmul(matmul(v, inner), v.mT)


class Eigh(_Packed):
    """(eigenvalues, eigenvectors) packed, from the ``UPLO`` triangle of A."""

    def forward(self, a):
        lam, v = _lapack("linalg.eigh", backend.get_array_module(a).linalg.eigh, a, UPLO=self.UPLO)
        return self._store(a, lam, v)

    def _grad(self, g, parts):
        return _eigh_grad(g[0], g[1], *parts)


class Eigvalsh(Function):
    """The eigenvalues alone (..., n); dA = V diag(gL) V^T."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        if not self.requires_grad:
            return _lapack("linalg.eigh", xp.linalg.eigvalsh, a, UPLO=self.UPLO)
        lam, self.v = _lapack("linalg.eigh", xp.linalg.eigh, a, UPLO=self.UPLO)
        return lam

    def backward(self, gl):
        v = self.v
        return (v * gl[..., None, :]) @ backend.get_array_module(v).swapaxes(v, -1, -2)

    def backward_graph(self, gl, a):  # V from the full op, so that V's own derivative is in the graph
        n = a.shape[-1]
        _, v = _unpack(Eigh.apply(a, UPLO=self.UPLO), ((n,), (n, n)))
        return matmul(v * gl.unsqueeze(-2), v.mT)


def _check_uplo(op: str, UPLO: str) -> None:  # noqa: N803 - torch's name
    if UPLO not in ("L", "U"):
        raise ShapeError(f"{op}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:  # noqa: N803
    """Eigenvalues (..., n), ascending, and orthonormal eigenvectors (..., n, n) (columns) of
    each symmetric matrix of A (..., n, n), read from its lower (``UPLO='L'``) or upper
    triangle. Each eigenvector's sign is LAPACK's: only sign-invariant functions of them have
    a meaningful gradient (torch's rule too); repeated eigenvalues make it infinite."""
    _check_square("linalg.eigh", A)
    _check_uplo("linalg.eigh", UPLO)
    n = A.shape[-1]
    lam, v = _unpack(Eigh.apply(A, UPLO=UPLO), ((n,), (n, n)))
    return EighResult(lam, v)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues (..., n), ascending, of each symmetric matrix of A (..., n, n)."""
    _check_square("linalg.eigvalsh", A)
    _check_uplo("linalg.eigvalsh", UPLO)
    return Eigvalsh.apply(A, UPLO=UPLO)


class MatrixSqrtH(Function):
    """The principal square root X = V diag(sqrt(L)) V^T of each symmetric positive
    (semi-)definite matrix of A (..., n, n) (from its lower triangle, as eigh; negative
    eigenvalues count as 0). X A-derivative: X dX + dX X = dA, a Sylvester equation, which the
    eigenbasis makes diagonal: dA = V ((V^T sym(G) V) / (s_i + s_j)) V^T, s = sqrt(L), with
    sym(G) = (G + G^T) / 2 (torch's gradient is symmetric). Defined at repeated eigenvalues
    (only s_i + s_j divides). Cost: one eigh, two (n, n) products forward, four backward."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        lam, v = _lapack("linalg.matrix_sqrth", xp.linalg.eigh, a)
        s = xp.sqrt(xp.maximum(lam, 0))
        if self.requires_grad:
            self.v, self.s = v, s
        return (v * s[..., None, :]) @ xp.swapaxes(v, -1, -2)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        v, s = self.v, self.s
        vt = xp.swapaxes(v, -1, -2)
        g = gy + xp.swapaxes(gy, -1, -2)
        g *= 0.5
        m = vt @ g @ v
        m /= s[..., :, None] + s[..., None, :]
        return v @ m @ vt

    def backward_graph(self, gy, a):  # the same formula on eigh's outputs, which carry their own derivative
        n = a.shape[-1]
        lam, v = _unpack(Eigh.apply(a, UPLO="L"), ((n,), (n, n)))
        s = lam.clamp_min(0).sqrt()
        m = matmul(matmul(v.mT, (gy + gy.mT) * 0.5), v) / (s.unsqueeze(-1) + s.unsqueeze(-2))
        return matmul(matmul(v, m), v.mT)


def matrix_sqrth(A: Tensor) -> Tensor:
    """The principal square root (..., n, n) of each symmetric positive-definite matrix of A
    (..., n, n): the symmetric positive X with X X = A (torch.linalg.matrix_sqrth)."""
    _check_square("linalg.matrix_sqrth", A)
    require_float(A, "linalg.matrix_sqrth")
    return MatrixSqrtH.apply(A)


# -- svd -----------------------------------------------------------------------------------


class SVDResult(NamedTuple):
    """``torch.return_types.linalg_svd``: (U, S, Vh)."""

    U: Tensor
    S: Tensor
    Vh: Tensor


class LegacySVDResult(NamedTuple):
    """``torch.return_types.svd``: (U, S, V), V not transposed."""

    U: Tensor
    S: Tensor
    V: Tensor


def _svd_grad(gu: Tensor, gs: Tensor, gvh: Tensor, u: Tensor, s: Tensor, vh: Tensor) -> Tensor:
    """torch's svd_backward for the reduced SVD (U (m, k), S (k), Vh (k, n))."""
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    has_u, has_v = _nonzero(gu), _nonzero(gvh)
    if not (has_u or has_v):
        return matmul(u * gs.unsqueeze(-2), vh)
    v, gv = vh.mT, gvh.mT
    s2 = s * s
    e = s2.unsqueeze(-2) - s2.unsqueeze(-1) + _eye(s, k)  # E_ij = S_j^2 - S_i^2, 1 on the diagonal
    inner = 0.0
    if has_u:
        uhgu = matmul(u.mT, gu)
        inner = (uhgu - uhgu.mT) * s.unsqueeze(-2)
    if has_v:
        vhgv = matmul(v.mT, gv)
        inner = inner + s.unsqueeze(-1) * (vhgv - vhgv.mT)
    inner = inner / e + _diag_embed(gs)
    if m > k and has_u:  # the part of gU outside span(U)
        gus = gu / s.unsqueeze(-2)
        return matmul(matmul(u, inner) + gus - matmul(u, matmul(u.mT, gus)), vh)
    if n > k and has_v:  # the part of gV outside span(V)
        sgvh = gvh / s.unsqueeze(-1)
        return matmul(u, matmul(inner, vh) + sgvh - matmul(matmul(sgvh, v), vh))
    return matmul(matmul(u, inner), vh)


class SVD(_Packed):
    """(U, S, Vh) packed; ``full_matrices`` as numpy's. The gradient narrows U and Vh to
    their first k columns / rows (torch's rule: the rest is arbitrary)."""

    def forward(self, a):
        u, s, vh = _lapack("linalg.svd", backend.get_array_module(a).linalg.svd, a, full_matrices=self.full_matrices)
        return self._store(a, u, s, vh)

    def _grad(self, g, parts):
        k = parts[1].shape[-1]
        (gu, gs, gvh), (u, s, vh) = g, parts
        return _svd_grad(gu[..., :k], gs, gvh[..., :k, :], u[..., :k], s, vh[..., :k, :])


class Svdvals(Function):
    """The singular values alone (..., k); dA = U diag(gS) Vh."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        if not self.requires_grad:
            return _lapack("linalg.svd", xp.linalg.svd, a, compute_uv=False)
        self.u, s, self.vh = _lapack("linalg.svd", xp.linalg.svd, a, full_matrices=False)
        return s

    def backward(self, gs):
        return (self.u * gs[..., None, :]) @ self.vh

    def backward_graph(self, gs, a):
        m, n = a.shape[-2:]
        k = min(m, n)
        u, _, vh = _unpack(SVD.apply(a, full_matrices=False), ((m, k), (k,), (k, n)))
        return matmul(u * gs.unsqueeze(-2), vh)


def _check_driver(op: str, driver: Any) -> None:
    if driver is not None:
        raise ShapeError(
            f"{op}: driver= chooses a cuSOLVER routine in torch (CUDA only); minicnn has one, got {driver!r}"
        )


def svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None) -> SVDResult:
    """A = U diag(S) Vh: U (..., m, k), S (..., k) descending, Vh (..., k, n), k = min(m, n);
    ``full_matrices=True`` (torch's default) makes U (..., m, m) and Vh (..., n, n). Singular
    vectors are defined up to sign: only sign-invariant functions of them have a meaningful
    gradient (torch's rule); repeated singular values make it infinite."""
    _check_matrix("linalg.svd", A)
    _check_driver("linalg.svd", driver)
    m, n = A.shape[-2:]
    k = min(m, n)
    ku, kv = (m, n) if full_matrices else (k, k)
    u, s, vh = _unpack(SVD.apply(A, full_matrices=full_matrices), ((m, ku), (k,), (kv, n)))
    return SVDResult(u, s, vh)


def svdvals(A: Tensor, *, driver: Any = None) -> Tensor:
    """The singular values (..., min(m, n)), descending, of each matrix of A (..., m, n)."""
    _check_matrix("linalg.svdvals", A)
    _check_driver("linalg.svdvals", driver)
    return number_outputs((Svdvals.apply(A),), first=1)[0]  # (torch's S, output 1 of its svd node)


# -- pinv, matrix_rank ----------------------------------------------------------------------


def _cutoff(xp: Any, s: Any, atol: Any, rtol: Any, m: int, n: int) -> Any:
    """torch's threshold max(atol, rtol * s_max) (..., 1); rtol defaults to 0 where atol > 0,
    else (atol None, 0 or negative) to eps * max(m, n)."""
    if isinstance(atol, Tensor):
        atol = atol.array
    if isinstance(rtol, Tensor):
        rtol = rtol.array
    if rtol is None:
        rtol = np.finfo(s.dtype).eps * max(m, n)
        if atol is not None:  # 0 where atol > 0, elementwise (a tensor atol may mix both)
            rtol = xp.where(xp.asarray(atol) > 0, 0.0, rtol)
    atol = 0.0 if atol is None else atol
    smax = s.max(axis=-1) if s.shape[-1] else xp.zeros(s.shape[:-1], s.dtype)
    tol = xp.maximum(xp.asarray(atol, dtype=s.dtype), xp.asarray(rtol, dtype=s.dtype) * smax)
    return xp.asarray(tol)[..., None]


class Pinv(Function):
    """The Moore-Penrose pseudo-inverse (..., n, m) through the SVD (or, ``hermitian``, the
    eigendecomposition), singular values at most ``tol`` taken as 0. torch's pinv_backward
    (constant rank)."""

    graph_output = True

    def forward(self, a):
        xp = backend.get_array_module(a)
        m, n = a.shape[-2:]
        if self.hermitian:
            lam, v = _lapack("linalg.eigh", xp.linalg.eigh, a)
            keep = xp.abs(lam) > _cutoff(xp, xp.abs(lam), self.atol, self.rtol, m, n)
            inv_s = xp.where(keep, 1 / xp.where(keep, lam, 1), 0).astype(a.dtype)
            y = (v * inv_s[..., None, :]) @ xp.swapaxes(v, -1, -2)
        else:
            u, s, vh = _lapack("linalg.svd", xp.linalg.svd, a, full_matrices=False)
            keep = s > _cutoff(xp, s, self.atol, self.rtol, m, n)
            inv_s = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(a.dtype)
            y = (xp.swapaxes(vh, -1, -2) * inv_s[..., None, :]) @ xp.swapaxes(u, -1, -2)
        if self.requires_grad:
            self.a, self.y = a, y
        return y

    def backward(self, gy):
        with no_grad(), backend.array_scope(gy):
            return self.backward_graph(Tensor(gy), Tensor(self.a), Tensor(self.y)).array

    def backward_graph(self, g, a, out):  # torch's pinv_backward
        p, (m, n) = out, a.shape[-2:]
        ph, gh = p.mT, g.mT
        if m <= n:
            k = matmul(gh, p)
            kph = matmul(k, ph)
            return -matmul(p, k).mT + kph - matmul(matmul(a, p), kph) + matmul(matmul(ph, p), gh - matmul(k, a))
        k = matmul(p, gh)
        phk = matmul(ph, k)
        return -matmul(k, p).mT + matmul(matmul(gh - matmul(a, k), p), ph) + phk - matmul(matmul(phk, p), a)


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """The pseudo-inverse (..., n, m) of A (..., m, n): singular values <= max(atol, rtol *
    s_max) count as 0 (rtol defaults to eps * max(m, n) where atol is None or <= 0, else 0).
    ``hermitian``: A symmetric, through its eigendecomposition (its lower triangle)."""
    _check_matrix("linalg.pinv", A)
    if hermitian:
        _check_square("linalg.pinv", A)
    return Pinv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian)


def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """The number of singular values (|eigenvalues| if ``hermitian``) above max(atol, rtol *
    s_max) of each matrix of A (..., m, n) -> int64 (...)."""
    _check_matrix("linalg.matrix_rank", A)
    xp = A.xp
    m, n = A.shape[-2:]
    with backend.array_scope(A.array):
        a = A.array
        s = (
            xp.abs(_lapack("linalg.eigh", xp.linalg.eigvalsh, a))
            if hermitian
            else _lapack("linalg.svd", xp.linalg.svd, a, compute_uv=False)
        )
        rank = (s > _cutoff(xp, s, atol, rtol, m, n)).sum(axis=-1).astype(np.int64)
        return Tensor(rank)


# -- lstsq -------------------------------------------------------------------------------


class LstsqResult(NamedTuple):
    """``torch.return_types.linalg_lstsq``: (solution, residuals, rank, singular_values)."""

    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


class _LstsqSolution(Function):
    """(x) -> the driver's solution ``self.value``, with the gradient of x = pinv(A) B (torch's
    lstsq backward, whatever the driver and rcond)."""

    def forward(self, x):
        return self.value

    def backward(self, gy):
        return gy

    def backward_graph(self, gy, x):
        return gy


def _lstsq_rtol(driver: str, rcond: float | None, eps: float, m: int, n: int) -> float:
    """The relative cutoff of the SVD drivers as LAPACK applies torch's rcond: None is torch's
    eps * max(m, n); gelss takes rcond < 0 as eps; gelsd (dlalsd) rcond <= 0 or >= 1 as the
    unit roundoff eps / 2; gels has none (full rank assumed): the default guards a singular A."""
    if rcond is None or driver == "gels":
        return eps * max(m, n)
    if driver == "gelss":
        return eps if rcond < 0 else rcond
    return eps / 2 if rcond <= 0 or rcond >= 1 else rcond


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> LstsqResult:
    """The least-squares solution X (..., n, k) of A X = B, A (..., m, n), B (..., m, k) (batch
    dims broadcast), as torch's on CPU. ``driver`` 'gelsy' (default): QR with column pivoting,
    rank r from the leading R11 blocks (smax * rcond <= smin), the minimum-norm solution of
    the first r rows (minicnn/ops/householder.py); 'gelsd', 'gelss': pinv(A) B, singular
    values <= rcond * s_max taken as 0 (LAPACK's readings of rcond, :func:`_lstsq_rtol`);
    'gels': full rank assumed, rcond ignored (minicnn still drops singular values <=
    eps * max(m, n) * s_max, where LAPACK's result would be garbage). rcond None:
    eps * max(m, n). The driver decides which extra outputs are filled: residuals (squared
    residual norms (..., k) when m > n, driver 'gels', or 'gelsd'/'gelss' with every A of full
    rank), rank (not for 'gels'), singular_values ('gelsd', 'gelss'); the others are empty.
    The solution and the residuals have gradients, torch's: those of pinv(A) B with pinv's
    default cutoff (and of |A X - B|^2 through it); rank and singular_values do not."""
    op = "linalg.lstsq"
    _check_matrix(op, A)
    if not isinstance(B, Tensor):
        raise TypeError(f"{op}: B must be a Tensor, got {type(B).__name__}")
    if B.dtype != A.dtype:
        raise DtypeError(f"{op}: Expected A and B to have the same dtype, but found A of {A.dtype} and B of {B.dtype}")
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise ShapeError(f"{op}: parameter `driver` should be one of {_DRIVERS}, got {driver!r}")
    vector = B.ndim == A.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    if b.ndim < 2 or b.shape[-2] != m:
        raise ShapeError(f"{op}: input.size(-2) should match other.size(-2), got A {A.shape} and B {B.shape}")
    try:
        batch = np.broadcast_shapes(A.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of A {A.shape} and B {B.shape} do not broadcast") from None
    a, b = A.expand(*batch, m, n), b.expand(*batch, *b.shape[-2:])
    eps = float(np.finfo(A.dtype).eps)
    default = eps * max(m, n)
    xp = A.xp
    with backend.array_scope(A.array):
        empty = xp.zeros((0,), dtype=A.dtype)
        s = None if driver == "gelsy" else _lapack("linalg.lstsq", xp.linalg.svd, a.array, compute_uv=False)
        if driver == "gelsy":
            rc = default if rcond is None else float(rcond)
            value, rank = _lapack("linalg.lstsq", householder.gelsy_solution, a.array, b.array, rc)
        else:
            rtol = _lstsq_rtol(driver, rcond, eps, m, n)
            rank = (s > _cutoff(xp, s, None, rtol, m, n)).sum(axis=-1).astype(np.int64)
            value = None if rtol == default else matmul(pinv(a.detach(), rtol=rtol), b.detach()).array
    if value is None:  # the default cutoff: the solution is pinv(A) B itself, with its graph
        x = matmul(pinv(a), b)
    elif A.requires_grad or B.requires_grad:
        x = _LstsqSolution.apply(matmul(pinv(a), b), value=value)
    else:
        x = _const(A, value)
    if m > n and (driver == "gels" or driver in ("gelsd", "gelss") and bool((rank == n).all())):
        r = matmul(a, x) - b  # residuals |A X - B|^2 with torch's gradient (that of X = pinv(A) B)
        residuals_t = (r * r).sum(axis=-2)
    else:  # empty, but requires grad where A or B does, as torch's
        residuals_t = NoGradient.apply(A, B, value=empty)
    number_outputs((residuals_t,), first=1)  # (torch's output_nr: output 1 of lstsq's node)
    with backend.array_scope(A.array):
        rank_t = Tensor(rank if driver != "gels" else xp.zeros((0,), dtype=np.int64))
        sv = Tensor(s if driver in ("gelsd", "gelss") else empty)
    return LstsqResult(x.squeeze(-1) if vector else x, residuals_t, rank_t, sv)


# -- composites: matrix_power, multi_dot, vecdot, cross, cond --------------------------------


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n for each matrix of A (..., m, m) by repeated squaring; n < 0 inverts A first, n = 0
    gives the identity (with a zero gradient). Integer A for n >= 0 (integer result)."""
    op = "linalg.matrix_power"
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"{op}: n must be an integer, got {type(n).__name__}")
    n = int(n)
    if isinstance(A, Tensor) and A.dtype.kind in "iu" and n >= 0:  # integer powers stay integers, as torch
        if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
            raise ShapeError(f"{op}: A must be batches of square matrices, got shape {A.shape}")
    else:
        _check_square(op, A)
    if n == 0:
        return tie(_eye(A, A.shape[-1]).expand(*A.shape), A)
    base = inv(A) if n < 0 else A
    result = None
    n = abs(n)
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return clone(result) if result is A else result  # n = 1: a new tensor, as torch's (not A itself)


def multi_dot(tensors: Any) -> Tensor:
    """The product of 2-d matrices, left to right; the first may be 1-d (a row vector) and the
    last 1-d (a column vector), those dims dropped from the result, as torch. (torch picks the
    cheapest order; the result is the same up to rounding.)"""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ShapeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"multi_dot(): tensor {i} must be a Tensor, got {type(t).__name__}")
        edge = i in (0, len(tensors) - 1)
        if t.ndim != 2 and not (edge and t.ndim == 1):
            what = "1D or 2D" if edge else "2D"
            raise ShapeError(f"multi_dot(): tensor {i} must be {what} but got {t.ndim}D")
        if t.dtype != tensors[0].dtype:
            raise DtypeError(f"multi_dot(): all tensors must have the same dtype, got {tensors[0].dtype} and {t.dtype}")
    first, last = tensors[0].ndim == 1, tensors[-1].ndim == 1
    ts = [tensors[0].unsqueeze(0) if first else tensors[0], *tensors[1:-1]]
    ts.append(tensors[-1].unsqueeze(-1) if last else tensors[-1])
    y = ts[0]
    for i, t in enumerate(ts[1:], 1):
        if y.shape[-1] != t.shape[0]:
            raise ShapeError(f"multi_dot(): tensors {i - 1} and {i} cannot be multiplied ({y.shape} and {t.shape})")
        y = matmul(y, t)
    if last:
        y = y.squeeze(-1)
    if first:
        y = y.squeeze(0)
    return y


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """sum(x * y) over ``dim`` (x and y broadcast); floating x and y of one dtype, as torch."""
    require_float(x, "linalg.vecdot", "x")
    require_float(y, "linalg.vecdot", "y")
    if x.dtype != y.dtype:
        raise DtypeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found {x.dtype} and {y.dtype}")
    return (x * y).sum(dim)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:  # noqa: A002 - torch's name
    """The cross product of 3-vectors along ``dim`` (input and other broadcast)."""
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linalg.cross: {name} must be a Tensor, got {type(t).__name__}")
    if input.ndim != other.ndim:
        raise ShapeError(
            f"linalg.cross: inputs must have the same number of dimensions, got {input.shape} and {other.shape}"
        )
    if input.dtype != other.dtype:
        raise DtypeError(f"linalg.cross: expected scalar type {input.dtype} but found {other.dtype}")
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise ShapeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and {other.shape[dim]}"
        )
    a, b = input.movedim(dim, -1), other.movedim(dim, -1)
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=-1)
    return c.movedim(-1, dim)


def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number of each matrix of A (..., m, n) in the ``p`` norm: None / 2 is
    s_max / s_min, -2 s_min / s_max (any shape); 'nuc' sum(S) * sum(1 / S); 'fro', 1, -1,
    inf, -inf norm(A) * norm(A^-1) (square A), inf where A is singular. 0 for empty A."""
    _check_matrix("linalg.cond", A)
    if p not in (None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf):
        raise ShapeError(f"linalg.cond got an invalid norm type: {p}")
    if p in ("fro", "nuc"):
        _check_square(f"linalg.cond(ord={p})", A)
    if A.numel() == 0:  # torch's (and NumPy's) 0 for empty matrices, whatever p
        with backend.array_scope(A.array):
            return Tensor(A.xp.zeros(A.shape[:-2], dtype=A.dtype))
    if p in (None, 2, -2, "nuc"):
        s = svdvals(A)
        if p == "nuc":
            return s.sum(-1) * (1 / s).sum(-1)
        hi, lo = amax(s, -1), amin(s, -1)
        return hi / lo if p in (None, 2) else lo / hi
    _check_square(f"linalg.cond(ord={p})", A)
    from ..linalg import matrix_norm  # noqa: PLC0415  (mc.linalg builds on this module)

    a_inv, info = inv_ex(A)
    with backend.array_scope(A.array):
        inf = Tensor(A.xp.full(A.shape, np.inf, dtype=A.dtype))
    a_inv = where(info.array[..., None, None] > 0, inf, a_inv)  # a singular A: inf, as torch
    y = matrix_norm(A, p) * matrix_norm(a_inv, p)
    return where(y.xp.isnan(y.array), inf[..., 0, 0], y)  # 0 * inf (A = 0): inf, as torch


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of A seen as a map from its last dims to its first ``ind`` dims: A
    (*out, *in) with prod(out) = prod(in) -> (*in, *out), through :func:`inv`."""
    if not isinstance(ind, int) or ind <= 0:
        raise ShapeError(f"linalg.tensorinv: Expected a strictly positive integer for 'ind', but got {ind}")
    out_shape, in_shape = A.shape[:ind], A.shape[ind:]
    rows, cols = math.prod(out_shape), math.prod(in_shape)
    if rows != cols:
        raise ShapeError(
            f"linalg.tensorinv: Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"
        )
    return inv(A.reshape(rows, cols)).reshape((*in_shape, *out_shape))


def tensorsolve(A: Tensor, B: Tensor, dims: Any = None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B: A (*B.shape, *X.shape) after moving ``dims`` (of A)
    to the end, through :func:`solve`."""
    if dims is not None:
        dims = [dims] if isinstance(dims, int) else list(dims)
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    x_shape = A.shape[B.ndim :]
    if A.shape[: B.ndim] != B.shape or math.prod(x_shape) != B.numel():
        raise ShapeError(
            f"linalg.tensorsolve: Expected A.shape[:B.ndim] == B.shape and prod(A.shape[B.ndim:]) == B.numel(), "
            f"got A {A.shape} and B {B.shape}"
        )
    n = B.numel()
    return solve(A.reshape(n, n), B.reshape(n)).reshape(tuple(x_shape))


# -- the _ex forms: an info tensor instead of an error ---------------------------------------


class CholeskyExResult(NamedTuple):
    """``torch.return_types.linalg_cholesky_ex``: (L, info)."""

    L: Tensor
    info: Tensor


class InvExResult(NamedTuple):
    """``torch.return_types.linalg_inv_ex``: (inverse, info)."""

    inverse: Tensor
    info: Tensor


def _first_failing_minor(a: Any, ok: Any) -> Any:
    """int32 (...): 0 where ``ok``, else the order of the first leading principal minor of a
    that is not positive (Sylvester's criterion: where LAPACK's potrf stops)."""
    xp = backend.get_array_module(a)
    n = a.shape[-1]
    info = xp.zeros(a.shape[:-2], dtype=np.int32)
    for j in range(n, 0, -1):  # the smallest failing order wins
        with np.errstate(invalid="ignore"):
            bad = ~(xp.linalg.det(a[..., :j, :j]) > 0)  # a NaN minor fails too
        info = xp.where(bad & ~ok, np.int32(j), info)
    return info


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:
    """:func:`cholesky` with an int32 ``info`` (...): 0 where the factorization succeeded,
    else the order of the leading minor that is not positive-definite (LAPACK's). A failed
    matrix's factor is NaN (torch leaves LAPACK's partial factor)."""
    _check_square("linalg.cholesky_ex", A)
    try:
        low = Cholesky.apply(A.mT if upper else A)
        low = low.mT if upper else low
        with backend.array_scope(A.array):
            info = Tensor(A.xp.zeros(A.shape[:-2], dtype=np.int32))
        return CholeskyExResult(low, info)
    except LinAlgError:
        if check_errors:
            raise
    xp = A.xp
    with backend.array_scope(A.array):
        a = xp.swapaxes(A.array, -1, -2) if upper else A.array
        tri = xp.tril(a)
        sym = tri + xp.swapaxes(xp.tril(a, -1), -1, -2)
        eye = xp.eye(a.shape[-1], dtype=a.dtype)
        finite = xp.isfinite(sym).all(axis=(-2, -1))  # NaN/inf fail (LAPACK's potrf), NumPy's eigvalsh refuses them
        eig = xp.linalg.eigvalsh(xp.where(finite[..., None, None], sym, eye)) if a.shape[-1] else None
        ok = eig.min(axis=-1) > 0 if a.shape[-1] else finite
        ok &= finite
        info = _first_failing_minor(sym, ok)
        safe = Tensor(xp.where(ok[..., None, None], sym, eye))
    keep = ok[..., None, None]
    try:
        low = Cholesky.apply(where(keep, A.mT if upper else A, safe))
    except LinAlgError:  # singular to rounding (eigenvalues ~ eps * |A|, positive ones too): potrf refuses them
        with backend.array_scope(A.array):
            ok &= eig.min(axis=-1) > a.shape[-1] * np.finfo(a.dtype).eps * xp.abs(eig).max(axis=-1)
            info = xp.where(ok | (info > 0), info, np.int32(a.shape[-1]))
            safe = Tensor(xp.where(ok[..., None, None], sym, eye))
        keep = ok[..., None, None]
        low = Cholesky.apply(where(keep, A.mT if upper else A, safe))
    with backend.array_scope(A.array):
        nan = Tensor(xp.full(A.shape, np.nan, dtype=A.dtype))
    low = where(keep, low, nan)
    return CholeskyExResult(low.mT if upper else low, Tensor(info))


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:
    """:func:`inv` with an int32 ``info`` (...): 0 where A is invertible, else the 1-based index
    of the first zero pivot of its LU factorization (minicnn/kernels/lu.py, as torch's getrf;
    n where only NumPy's inverse met one). A singular matrix's inverse is NaN."""
    _check_square("linalg.inv_ex", A)
    try:
        y = Inv.apply(A)
        with backend.array_scope(A.array):
            info = Tensor(A.xp.zeros(A.shape[:-2], dtype=np.int32))
        return InvExResult(y, info)
    except LinAlgError:
        if check_errors:
            raise
    xp = A.xp
    n = A.shape[-1]
    with backend.array_scope(A.array):
        # singular as LAPACK sees it (an exact zero pivot of the LU factorization: torch's and
        # inv's test), each matrix on its own, not through a tolerance that a batch-mate trips
        ok = xp.linalg.slogdet(A.array)[0] != 0
        pivot = lu_kernels.lu_factor(A.array)[2]
        info = Tensor(xp.where(ok, 0, xp.where(pivot > 0, pivot, n)).astype(np.int32))
        safe = Tensor(xp.eye(n, dtype=A.dtype))
        nan = Tensor(xp.full(A.shape, np.nan, dtype=A.dtype))
        okt = Tensor(ok[..., None, None])
    y = Inv.apply(where(okt, A, safe))
    return InvExResult(where(okt, y, nan), info)


# -- torch's older function forms (torch.logdet, torch.svd, torch.qr, cholesky_solve, ...) ---


def logdet(input: Tensor) -> Tensor:  # noqa: A002
    """log det A (...,): NaN where det < 0, -inf where A is singular (torch.logdet)."""
    sign, logabs = slogdet(input)
    with backend.array_scope(input.array):
        nan = Tensor(input.xp.full(logabs.shape, np.nan, dtype=input.dtype))
    return where(sign.array >= 0, logabs, nan)


def legacy_svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> LegacySVDResult:  # noqa: A002
    """torch.svd: (U, S, V) with V = Vh^T; ``some=False`` gives the full U and V;
    ``compute_uv=False`` gives zero U (..., m, m) and V (..., n, n)."""
    _check_matrix("svd", input)
    if not compute_uv:
        m, n = input.shape[-2:]
        with backend.array_scope(input.array):
            xp = input.xp
            u = Tensor(xp.zeros((*input.shape[:-2], m, m), dtype=input.dtype))
            v = Tensor(xp.zeros((*input.shape[:-2], n, n), dtype=input.dtype))
        return LegacySVDResult(u, svdvals(input), v)
    u, s, vh = svd(input, full_matrices=not some)
    return LegacySVDResult(u, s, vh.mT)


def _cholesky_product(factor: Tensor, upper: bool) -> Tensor:
    """A = L L^T (or U^T U) from the factor's triangle (torch ignores the other one), with a
    gradient that reaches all of the factor, not confined to the triangle (torch's
    cholesky_inverse gradient; cholesky_solve gets the same from SolveTriangular's full_grad)."""
    tri = triu(factor) if upper else tril(factor)
    factor = factor - (factor - tri).detach()  # the triangle's values, an identity gradient
    return matmul(factor.mT, factor) if upper else matmul(factor, factor.mT)


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:  # noqa: N803 - torch's names
    """X with A X = B, A = L L^T (or U^T U with ``upper``) given its Cholesky factor L
    (..., n, n); B (..., n, k), batch dims broadcast. Two triangular solves on the factor's
    triangle (the other one is ignored, as torch's potrs; a zero on the diagonal gives
    inf/nan); the gradient is torch's, -(G X^T + X G^T) L, over the whole factor."""
    op = "cholesky_solve"
    _check_square(op, L, "L")
    _check_matrix(op, B, "B")
    if B.dtype != L.dtype:
        raise DtypeError(f"{op}: Expected b and A to have the same dtype, but found b of {B.dtype} and A of {L.dtype}")
    n = L.shape[-1]
    if B.shape[-2] != n:
        raise ShapeError(f"{op}: Incompatible matrix sizes for the Cholesky factor {L.shape} and B {B.shape}")
    try:
        batch = np.broadcast_shapes(L.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of B {B.shape} and L {L.shape} do not broadcast") from None
    f, b = L.expand(*batch, n, n), B.expand(*batch, *B.shape[-2:])
    first, second = (f.mT, f) if upper else (f, f.mT)  # A = first second, first lower
    y = SolveTriangular.apply(first, b, upper=False, unitriangular=False, full_grad=True)
    return SolveTriangular.apply(second, y, upper=True, unitriangular=False, full_grad=True)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:  # noqa: N803
    """(L L^T)^-1 (or (U^T U)^-1 with ``upper``) from the triangular Cholesky factor L
    (..., n, n)."""
    _check_square("cholesky_inverse", L, "L")
    return inv(_cholesky_product(L, upper))


__all__ = [
    "CholeskyExResult",
    "EighResult",
    "InvExResult",
    "LegacySVDResult",
    "LstsqResult",
    "QRResult",
    "SVDResult",
    "cholesky_ex",
    "cholesky_inverse",
    "cholesky_solve",
    "cond",
    "cross",
    "eigh",
    "eigvalsh",
    "inv_ex",
    "legacy_svd",
    "logdet",
    "lstsq",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "pinv",
    "qr",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vecdot",
]
