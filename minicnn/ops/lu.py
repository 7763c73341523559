"""LU factorization and what is built on it, batched over leading dims as torch: the
``torch.linalg`` forms ``lu``, ``lu_factor``, ``lu_factor_ex``, ``lu_solve``, ``solve_ex``,
``vander``, and torch's top-level ``lu_unpack``, ``lu_solve(b, LU_data, LU_pivots)``,
``triangular_solve`` and the deprecated ``lu`` (Tensor.lu).

Shapes: A (..., m, n), k = min(m, n). ``lu``: P (..., m, m), L (..., m, k) unit lower
triangular, U (..., k, n) upper triangular, A = P L U. ``lu_factor``: LU (..., m, n) (L's
multipliers below the diagonal, U on and above it) and pivots (..., k) int32, 1-based, as
LAPACK's getrf (minicnn/kernels/lu.py). Float32 and float64. Cost: O(m n k) per matrix
forward (k batched elimination steps), O(n^3) backward (two triangular solves).

Gradients (torch's linalg_lu_backward; A^T the transpose of the last two dims, P constant):
  m = n:  dA = P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T
  m < n:  U = [U1 | U2]:  X = tril(L^T gL - triu(gU) U^T, -1) U1^-T,
          dA = P L^-T [X + triu(gU1) | gU2]
  m > n:  L = [L1; L2]:   X = L1^-T triu(gU U^T - L^T tril(gL, -1)),
          dA = P [X + tril(gL1, -1); gL2] U^-T
written once on tensors (SolveTriangular, matmul, tril/triu, cat), so ``backward_graph`` is
the same formula with a graph and is differentiable again. ``lu_factor`` (and ``lu_factor_ex``,
Tensor.lu) is one op, :class:`LUFactor`: its forward is the kernel (LU as it comes), and its
first-order backward is torch's lu_factor_ex_backward (the formula above with gL = tril(gLU, -1),
gU = triu(gLU)) on arrays, by the triangular-solve kernel on LU's triangles; its
``backward_graph`` is the tensor formula on L and U cut from the op's output.
``lu_solve`` is two triangular solves on LU's triangles (and P^T B), so its gradients with
respect to LU and B come from autograd. ``vander`` is a cumulative product.
A zero pivot: ``lu_factor`` raises LinAlgError naming U[i,i] (as torch); ``lu`` and the
``_ex`` forms go on and report it in ``info`` (getrf's: the first zero pivot, 1-based).
``pivot=False`` (torch: CUDA only) factors without row swaps: pivots 1..k, P empty.
``ldl_factor``/``ldl_factor_ex``/``ldl_solve``: A = P L D L^T P^T of a symmetric (indefinite)
A (..., n, n) with Bunch-Kaufman pivoting, the LD and pivots of LAPACK's sytrf (uplo 'L');
no derivative, as torch (differentiating through them raises).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import lu as lu_kernels
from ..kernels import triangular as triangular_kernel
from ..tensor_methods import number_outputs
from .decompositions import SolveTriangular, _const, _eye, _pack, _Packed, _unpack, solve_triangular
from .errors import DtypeError, ShapeError
from .index import gather
from .math import matmul, where
from .matrix_functions import LinAlgError, _check_matrix, _check_square, _is_vector_rhs, solve
from .reduce import cumprod
from .shape import cat, tril, triu

# -- results ------------------------------------------------------------------------------


class LUResult(NamedTuple):
    """``torch.return_types.linalg_lu``: (P, L, U)."""

    P: Tensor
    L: Tensor
    U: Tensor


class LUFactorResult(NamedTuple):
    """``torch.return_types.linalg_lu_factor``: (LU, pivots)."""

    LU: Tensor
    pivots: Tensor


class LUFactorExResult(NamedTuple):
    """``torch.return_types.linalg_lu_factor_ex``: (LU, pivots, info)."""

    LU: Tensor
    pivots: Tensor
    info: Tensor


class LUUnpackResult(NamedTuple):
    """``torch.return_types.lu_unpack``: (P, L, U)."""

    P: Tensor
    L: Tensor
    U: Tensor


class SolveExResult(NamedTuple):
    """``torch.return_types.linalg_solve_ex``: (result, info)."""

    result: Tensor
    info: Tensor


class TriangularSolveResult(NamedTuple):
    """``torch.return_types.triangular_solve``: (solution, cloned_coefficient)."""

    solution: Tensor
    cloned_coefficient: Tensor


# -- the op --------------------------------------------------------------------------------


def _solve_left(t: Tensor, b: Tensor, upper: bool, unit: bool = False) -> Tensor:
    """T^-1 B for the upper/lower triangle of t."""
    return SolveTriangular.apply(t, b, upper=upper, unitriangular=unit)


def _solve_right(t: Tensor, b: Tensor, upper: bool, unit: bool = False) -> Tensor:
    """B T^-1 for the upper/lower triangle of t."""
    return SolveTriangular.apply(t.mT, b.mT, upper=not upper, unitriangular=unit).mT


def _lu_grad(gl: Tensor, gu: Tensor, p: Tensor | None, low: Tensor, up: Tensor) -> Tensor:
    """dA for A = P L U (torch's linalg_lu_backward, real case)."""
    m, n = low.shape[-2], up.shape[-1]
    if m == n:
        g = tril(matmul(low.mT, gl), -1) + triu(matmul(gu, up.mT))
        g = _solve_left(low.mT, _solve_right(up.mT, g, upper=False), upper=True, unit=True)
    elif m < n:
        g = matmul(low.mT, gl) - matmul(triu(gu), up.mT)
        g = _solve_right(up[..., :, :m].mT, tril(g, -1), upper=False)
        g = cat([g + triu(gu[..., :, :m]), gu[..., :, m:]], dim=-1)
        g = _solve_left(low.mT, g, upper=True, unit=True)
    else:
        g = matmul(gu, up.mT) - matmul(low.mT, tril(gl, -1))
        g = _solve_left(low[..., :n, :].mT, triu(g), upper=True, unit=True)
        g = cat([g + tril(gl[..., :n, :], -1), gl[..., n:, :]], dim=-2)
        g = _solve_right(up.mT, g, upper=False)
    return g if p is None or not p.shape[-1] else matmul(p, g)


def _permute_rows(g: Tensor, pivots: Tensor) -> Tensor:
    """P g for the P of LAPACK's ``pivots`` (..., k) (floats, constant), without forming P:
    (P g)[perm[i]] = g[i], a gather of g's rows."""
    xp = g.xp
    with backend.array_scope(g.array):
        inverse = xp.argsort(lu_kernels.permutation(pivots.array, g.shape[-2]), axis=-1)  # P g = g[inverse]
        if not g.requires_grad:  # no graph to record (the first-order backward): gather the rows directly
            m, n = g.shape[-2:]
            rows = int(np.prod(g.shape[:-2]))  # the batch as one dim (-1 is ambiguous when m or n is 0)
            flat = inverse.reshape(rows, m)
            return Tensor(g.array.reshape(rows, m, n)[xp.arange(rows)[:, None], flat].reshape(g.shape))
        index = Tensor(xp.ascontiguousarray(xp.broadcast_to(inverse[..., :, None], g.shape)))
    return gather(g, -2, index)


class LUDecomp(_Packed):
    """(P, L, U, pivots, info) of A = P L U (linalg.lu's), packed (pivots and info as floats:
    exact); P, pivots and info are constants. Without pivoting P is an empty (..., m, 0) part."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        m, n = a.shape[-2:]
        k = min(m, n)
        lu, pivots, info = lu_kernels.lu_factor(a, self.pivot)
        low = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=a.dtype)
        up = xp.triu(lu[..., :k, :])
        if self.pivot:
            p = lu_kernels.permutation_matrix(lu_kernels.permutation(pivots, m), a.dtype)
        else:
            p = xp.zeros((*a.shape[:-2], m, 0), dtype=a.dtype)
        return self._store(a, p, low, up, pivots.astype(a.dtype), info.astype(a.dtype))

    def _grad(self, g, parts):
        (_, gl, gu, _, _), (p, low, up, _, _) = g, parts
        return _lu_grad(gl, gu, p.detach(), low, up)


def _lu_factor_grad(glu: Any, lu: Any, pivots: Any, pivot: bool) -> Any:
    """dA (..., m, n) from dLU for getrf's LU (..., m, n) and pivots (..., k), on arrays: torch's
    lu_factor_ex_backward, i.e. :func:`_lu_grad` with gL = tril(dLU, -1), gU = triu(dLU), and P
    applied as a row scatter. The triangular solves read LU's triangles in place (the kernel
    reads only the triangle asked for). Cost: two triangular solves and two matmuls, O(m n k)
    per matrix."""
    xp = backend.get_array_module(glu)
    m, n = lu.shape[-2:]
    k = min(m, n)
    if glu.size == 0:
        return xp.zeros(lu.shape, dtype=glu.dtype)
    solve = triangular_kernel.solve_triangular
    lower, upper = xp.tri(m, k, -1, dtype=bool), ~xp.tri(k, n, -1, dtype=bool)  # strictly lower, upper (masks)
    lu_t = xp.ascontiguousarray(xp.swapaxes(lu, -1, -2))  # (..., n, m): row-major L^T and U^T for the matmuls
    low_t = xp.where(lower.T, lu_t[..., :k, :], xp.eye(k, m, dtype=lu.dtype))  # L^T (..., k, m)
    up_t = xp.where(upper.T, lu_t[..., :, :k], 0)  # U^T (..., n, k)
    lu_t = lu_t[..., :k, :k]  # L1^T above its diagonal
    gl, gu = xp.where(lower, glu[..., :, :k], 0), xp.where(upper, glu[..., :k, :], 0)
    if m == n:  # L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T
        g = xp.where(lower, low_t @ gl, gu @ up_t)
        g = xp.swapaxes(solve(lu, xp.swapaxes(g, -1, -2), upper=True), -1, -2)
        g = solve(lu_t, g, upper=True, unitriangular=True)
    elif m < n:  # L^-T [tril(L^T gL - gU U^T, -1) U1^-T + gU1 | gU2]
        g = xp.where(lower, low_t @ gl - gu @ up_t, 0)
        g = xp.swapaxes(solve(lu[..., :, :m], xp.swapaxes(g, -1, -2), upper=True), -1, -2)
        g = xp.concatenate([g + gu[..., :, :m], gu[..., :, m:]], axis=-1)
        g = solve(lu_t, g, upper=True, unitriangular=True)
    else:  # [L1^-T triu(gU U^T - L^T gL) + gL1; gL2] U^-T
        g = solve(lu_t, xp.where(upper, gu @ up_t - low_t @ gl, 0), upper=True, unitriangular=True)
        g = xp.concatenate([g + gl[..., :n, :], glu[..., n:, :]], axis=-2)
        g = xp.swapaxes(solve(lu[..., :n, :], xp.swapaxes(g, -1, -2), upper=True), -1, -2)
    if not pivot:
        return g
    rows = math.prod(g.shape[:-2])
    perm = lu_kernels.permutation(pivots, m).reshape(rows, m)
    out = xp.empty((rows, m, n), dtype=g.dtype)
    out[xp.arange(rows)[:, None], perm] = g.reshape(rows, m, n)  # (P g)[perm[i]] = g[i]
    return out.reshape(g.shape)


class LUFactor(Function):
    """LU (..., m, n) of A (..., m, n) as getrf's (L's multipliers below the diagonal, U on and
    above it), one op: forward is the kernel, and (pivots, info) go to the caller's list
    ``sink`` (constants). Backward: :func:`_lu_factor_grad` on arrays; ``backward_graph`` the
    same formula on tensors (:func:`_lu_grad`, L and U cut from the op's output), so that it
    is differentiable again. An in-place write to LU makes backward raise, as torch (it keeps
    LU)."""

    graph_reads = ()
    graph_output = True

    def forward(self, a):
        lu, pivots, info = lu_kernels.lu_factor(a, self.pivot)
        self.sink.extend((pivots, info))
        if self.requires_grad:
            self.lu, self.pivots = lu, pivots
        return lu

    def backward(self, gy):
        return _lu_factor_grad(gy, self.lu, self.pivots, self.pivot)

    def backward_graph(self, gy, a, out):
        m, n = out.shape[-2:]
        k = min(m, n)
        low = tril(out[..., :, :k], -1) + _eye(out, m, k)
        gl, gu = tril(gy[..., :, :k], -1), triu(gy[..., :k, :])
        g = _lu_grad(gl, gu, None, low, triu(out[..., :k, :]))
        if not self.pivot:
            return g
        with backend.array_scope(out.array):
            return _permute_rows(g, Tensor(self.pivots))


def _int32(t: Tensor) -> Tensor:
    with backend.array_scope(t.array):
        return Tensor(t.array.astype(np.int32))


def _factor(A: Tensor, pivot: bool, op: str) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:  # noqa: N803
    """(P, L, U, pivots int32, info int32); P is (..., m, 0) without pivoting."""
    _check_matrix(op, A)
    m, n = A.shape[-2:]
    k = min(m, n)
    out = LUDecomp.apply(A, pivot=bool(pivot))
    p, low, up, piv, info = _unpack(out, ((m, m if pivot else 0), (m, k), (k, n), (k,), ()))
    number_outputs((low, up))  # (torch's output_nr: P is not differentiable there, L and U are outputs 0, 1)
    return p, low, up, _int32(piv), _int32(info)


def _lu_factor(A: Tensor, pivot: bool, op: str) -> tuple[Tensor, Tensor, Tensor]:  # noqa: N803
    """(LU, pivots int32, info int32) of :class:`LUFactor`."""
    _check_matrix(op, A)
    sink: list[Any] = []
    lu = LUFactor.apply(A, pivot=bool(pivot), sink=sink)
    return lu, Tensor(sink[0]), Tensor(sink[1])


def _zero_pivot_error(op: str, info: Tensor, batched: bool) -> LinAlgError:
    flat = backend.to_numpy(info.array).reshape(-1)
    b = int(np.flatnonzero(flat)[0])
    where_ = f"(Batch element {b}): " if batched else ""
    i = int(flat[b])
    return LinAlgError(
        f"{op}: {where_}U[{i},{i}] is zero and using it on lu_solve would result in a division by zero. If you "
        "still want to perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
    )


def _check_info(op: str, info: Tensor, batched: bool) -> None:
    if info.numel() and bool(info.xp.any(info.array)):
        raise _zero_pivot_error(op, info, batched)


# -- torch.linalg forms ------------------------------------------------------------------------


def linalg_lu(A: Tensor, *, pivot: bool = True) -> LUResult:
    """A = P L U for each matrix of A (..., m, n): P (..., m, m) a permutation, L (..., m, k)
    unit lower triangular, U (..., k, n) upper triangular, k = min(m, n). A zero pivot is no
    error (U has a zero on its diagonal). ``pivot=False``: no row swaps, P empty (as torch on
    CUDA; torch's CPU refuses it)."""
    p, low, up, _, _ = _factor(A, pivot, "linalg.lu")
    if not pivot:
        p = _const(A, A.xp.zeros((0,), dtype=A.dtype))
    return LUResult(p.detach(), low, up)  # P is a constant: it does not require grad (torch's)


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """(LU, pivots, info): LU (..., m, n) with L's multipliers below the diagonal and U on and
    above it, pivots (..., k) int32 1-based (LAPACK's getrf), info (...) int32: 0, or the
    1-based index of the first zero pivot (``check_errors=True`` raises there)."""
    lu, piv, info = _lu_factor(A, pivot, "linalg.lu_factor_ex")
    if check_errors:
        _check_info("linalg.lu_factor_ex", info, A.ndim > 2)
    return LUFactorExResult(lu, piv, info)


def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:
    """(LU, pivots) of :func:`lu_factor_ex`; LinAlgError naming U[i,i] if a pivot is zero."""
    lu, piv, info = _lu_factor(A, pivot, "torch.linalg.lu_factor")
    _check_info("torch.linalg.lu_factor", info, A.ndim > 2)
    return LUFactorResult(lu, piv)


def _check_pivots(op: str, LU: Tensor, pivots: Any) -> None:  # noqa: N803 - torch's name
    if not isinstance(pivots, Tensor):
        raise TypeError(f"{op}: pivots must be a Tensor, got {type(pivots).__name__}")
    if pivots.dtype != np.int32:
        raise DtypeError(f"{op}: Expected pivots to be int32, got {pivots.dtype}")
    k = min(LU.shape[-2:])
    if pivots.shape != (*LU.shape[:-2], k):
        raise ShapeError(f"{op}: Expected pivots of shape {(*LU.shape[:-2], k)} for LU {LU.shape}, got {pivots.shape}")


def _permutation(op: str, LU: Tensor, pivots: Tensor) -> Tensor:  # noqa: N803
    """The constant P (..., m, m) of LU's pivots; ValueError for a pivot outside 1..m."""
    m = LU.shape[-2]
    if pivots.numel() and bool(pivots.xp.any((pivots.array < 1) | (pivots.array > m))):
        raise ShapeError(
            f"{op}: pivots must be between 1 and LU.size(-2) = {m} inclusive; did you pass the result of lu_factor?"
        )
    with backend.array_scope(LU.array):
        perm = lu_kernels.permutation(pivots.array, m)
        return Tensor(lu_kernels.permutation_matrix(perm, LU.dtype))


def linalg_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False) -> Tensor:  # noqa: N803
    """X with A X = B (``adjoint``: A^T X = B; ``left=False``: X A = B or X A^T = B), A = P L U
    given as :func:`lu_factor`'s (LU, pivots) of shape (..., n, n), (..., n); B (..., n, k)
    (left) or (..., k, n); batch dims broadcast. Two triangular solves."""
    op = "linalg.lu_solve"
    _check_square(op, LU)
    _check_matrix(op, B, "B")
    _check_pivots(op, LU, pivots)
    if B.dtype != LU.dtype:
        raise DtypeError(
            f"{op}: Expected LU and B to have the same dtype, but found LU of {LU.dtype} and B of {B.dtype}"
        )
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        side = "LU.size(-1) == B.size(-2)" if left else "LU.size(-2) == B.size(-1)"
        raise ShapeError(f"{op}: Incompatible shapes of LU and B for the equation {side} ({LU.shape} and {B.shape})")
    try:
        np.broadcast_shapes(LU.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of LU {LU.shape} and B {B.shape} do not broadcast") from None
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return linalg_lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    p = _permutation(op, LU, pivots)
    if not adjoint:  # X = U^-1 L^-1 P^T B
        y = solve_triangular(LU, matmul(p.mT, B), upper=False, unitriangular=True)
        return solve_triangular(LU, y, upper=True)
    y = solve_triangular(LU.mT, B, upper=False)  # A^T = U^T L^T P^T:  X = P L^-T U^-T B
    return matmul(p, solve_triangular(LU.mT, y, upper=True, unitriangular=True))


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> SolveExResult:
    """:func:`mc.linalg.solve` with an int32 ``info`` (A's batch shape): 0, or the 1-based index
    of the first zero pivot of A's LU factorization (getrf's, from this module's kernel: NumPy's
    solver decides singularity by its own rounding, which differs from torch's more often). A
    singular matrix's solution is NaN (torch: whatever the division by the zero pivot gives,
    inf/NaN); ``check_errors=True`` raises there, as torch."""
    op = "linalg.solve_ex"
    _check_square(op, A)
    xp = A.xp
    with backend.array_scope(A.array):
        info = lu_kernels.lu_factor(A.array)[2]
        if check_errors and info.size and bool(xp.any(info)):
            flat = backend.to_numpy(info).reshape(-1)
            where_ = f"(Batch element {int(np.flatnonzero(flat)[0])}): " if A.ndim > 2 else ""
            raise LinAlgError(f"torch.{op}: {where_}The solver failed because the input matrix is singular.")
        ok, info_t = info == 0, Tensor(info)
        eye = Tensor(xp.broadcast_to(xp.eye(A.shape[-1], dtype=A.dtype), A.shape))
    a = where(ok[..., None, None], A, eye)
    try:
        x = solve(a, B, left=left)
    except LinAlgError:  # NumPy's solver met a zero pivot that this module's factorization does not
        vector = _is_vector_rhs(A, B)
        x = linalg_lu_solve(*lu_factor(a), B.unsqueeze(-1) if vector else B, left=left)
        x = x.squeeze(-1) if vector else x
    keep = ok[..., None] if _is_vector_rhs(A, B) else ok[..., None, None]
    with backend.array_scope(A.array):
        nan = Tensor(xp.full(x.shape, np.nan, dtype=x.dtype))
    return SolveExResult(where(keep, x, nan), info_t)


def linalg_vander(x: Tensor, *, N: int | None = None) -> Tensor:  # noqa: N803 - torch's name
    """(..., n) -> (..., n, N): the powers x^0, x^1, ..., x^(N-1) of each element along the
    last dim (N defaults to n, at least 2). A cumulative product, so differentiable."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.vander: x must be a Tensor, got {type(x).__name__}")
    if x.ndim < 1:
        raise ShapeError("linalg.vander: x must have at least one dimension, got a 0-d tensor")
    if x.dtype == np.bool_:
        raise DtypeError("linalg.vander supports floating point and integer tensors, but got bool")
    n = x.shape[-1] if N is None else int(N)
    if n <= 1:
        raise ShapeError("linalg.vander: N must be greater than 1.")
    x = x if x.dtype.kind == "f" else x.to(np.int64)
    ones = _const(x, x.xp.ones((*x.shape, 1), dtype=x.dtype))
    return cat([ones, cumprod(x.unsqueeze(-1).expand(*x.shape, n - 1), -1)], dim=-1)


# -- LDL^T (Bunch-Kaufman), no derivative (as torch) ------------------------------------------


class LDLFactorExResult(NamedTuple):
    """``torch.return_types.linalg_ldl_factor_ex``: (LD, pivots, info)."""

    LD: Tensor
    pivots: Tensor
    info: Tensor


class LDLFactorResult(NamedTuple):
    """``torch.return_types.linalg_ldl_factor``: (LD, pivots)."""

    LD: Tensor
    pivots: Tensor


class _NotDifferentiable(Function):
    """An op without a derivative, as torch's: differentiating through it raises."""

    def backward(self, gy):
        raise RuntimeError(f"derivative for {self.op} is not implemented")

    def backward_graph(self, gy, *xs):
        return self.backward(gy)


class LDLFactor(_NotDifferentiable):
    """(LD, pivots, info) packed along the last axis (pivots and info as floats: exact)."""

    op = "linalg.ldl_factor_ex"

    def forward(self, a):
        xp = backend.get_array_module(a)
        ld, pivots, info = lu_kernels.ldl_factor(a)
        return _pack(xp, a.shape[:-2], ld, pivots.astype(a.dtype), info.astype(a.dtype))


class LDLSolve(_NotDifferentiable):
    op = "linalg.ldl_solve"

    def forward(self, ld, pivots, b):
        return lu_kernels.ldl_solve(ld, pivots, b)


def _check_ldl_info(op: str, info: Tensor, batched: bool) -> None:
    if not (info.numel() and bool(info.xp.any(info.array))):
        return
    flat = backend.to_numpy(info.array).reshape(-1)
    b = int(np.flatnonzero(flat)[0])
    where_ = f"(Batch element {b}): " if batched else ""
    raise LinAlgError(
        f"{op}: {where_}The factorization could not be completed because the input is singular: "
        f"D[{flat[b]},{flat[b]}] is exactly zero"
    )


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False) -> LDLFactorExResult:
    """A = P L D L^T P^T for each symmetric matrix of A (..., n, n) (its lower triangle is
    read), D with 1x1 and 2x2 blocks (Bunch-Kaufman pivoting, LAPACK's sytrf with uplo 'L', whose
    LD and pivots it reproduces): LD (..., n, n), pivots (..., n) int32, info (...) int32 (the
    first zero block, 1-based, or 0). ``hermitian`` is the same for real matrices. No gradient."""
    op = "linalg.ldl_factor_ex"
    _check_square(op, A)
    n = A.shape[-1]
    ld, piv, info = _unpack(LDLFactor.apply(A), ((n, n), (n,), ()))
    piv, info = _int32(piv), _int32(info)
    if check_errors:
        _check_ldl_info(op, info, A.ndim > 2)
    return LDLFactorExResult(ld, piv, info)


def ldl_factor(A: Tensor, *, hermitian: bool = False) -> LDLFactorResult:
    """(LD, pivots) of :func:`ldl_factor_ex`; LinAlgError if a block of D is exactly zero
    (torch raises an internal error there)."""
    ld, piv, info = ldl_factor_ex(A, hermitian=hermitian)
    _check_ldl_info("linalg.ldl_factor", info, A.ndim > 2)
    return LDLFactorResult(ld, piv)


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:  # noqa: N803
    """X with A X = B, A given by :func:`ldl_factor`'s (LD, pivots) (..., n, n), (..., n);
    B (..., n, k); batch dims broadcast. No gradient (as torch)."""
    op = "linalg.ldl_solve"
    _check_square(op, LD, "LD")
    _check_matrix(op, B, "B")
    if not isinstance(pivots, Tensor) or pivots.dtype.kind not in "iu":
        raise DtypeError(f"{op}: Expected pivots to be integers, got {getattr(pivots, 'dtype', type(pivots))}")
    n = LD.shape[-1]
    if pivots.shape != LD.shape[:-1]:
        raise ShapeError(f"{op}: Expected pivots of shape {LD.shape[:-1]} for LD {LD.shape}, got {pivots.shape}")
    if B.dtype != LD.dtype:
        raise DtypeError(
            f"{op}: Expected LD and B to have the same dtype, but found LD of {LD.dtype} and B of {B.dtype}"
        )
    if B.shape[-2] != n:
        raise ShapeError(f"{op}: Incompatible shapes of LD and B for the equation ({LD.shape} and {B.shape})")
    try:
        batch = np.broadcast_shapes(LD.shape[:-2], B.shape[:-2])
    except ValueError:
        raise ShapeError(f"{op}: the batch dims of LD {LD.shape} and B {B.shape} do not broadcast") from None
    return LDLSolve.apply(LD.expand(*batch, n, n), pivots.expand(*batch, n), B.expand(*batch, *B.shape[-2:]))


# -- torch's top-level forms ---------------------------------------------------------------


def lu_unpack(
    LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True
) -> LUUnpackResult:  # noqa: N803
    """(P, L, U) from :func:`lu_factor`'s LU (..., m, n) and pivots (..., k): P (..., m, m),
    L (..., m, k) unit lower triangular, U (..., k, n); L and U differentiable in LU. A part
    not asked for (``unpack_data`` / ``unpack_pivots`` False) is an empty tensor, as torch."""
    op = "lu_unpack"
    _check_matrix(op, LU_data, "LU_data")
    _check_pivots(op, LU_data, LU_pivots)
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = _const(LU_data, LU_data.xp.zeros((0,), dtype=LU_data.dtype))
    p = _permutation(op, LU_data, LU_pivots) if unpack_pivots else empty
    if not unpack_data:
        return LUUnpackResult(p, empty, empty)
    low = tril(LU_data[..., :, :k], -1) + _eye(LU_data, m, k)
    return LUUnpackResult(p, *number_outputs((low, triu(LU_data[..., :k, :]))))


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: N803
    """torch.lu_solve: X with A X = b, A given by :func:`lu_factor`'s (LU_data, LU_pivots)."""
    return linalg_lu_solve(LU_data, LU_pivots, b)


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple[Tensor, ...]:  # noqa: N803
    """torch.lu (deprecated there): (LU, pivots), or (LU, pivots, infos) with ``get_infos``;
    without it a zero pivot raises, as torch."""
    lu, piv, info = _lu_factor(A, pivot, "torch.linalg.lu_factor_ex")
    if not get_infos:
        _check_info("torch.linalg.lu_factor_ex", info, A.ndim > 2)
        return LUFactorResult(lu, piv)
    return LUFactorExResult(lu, piv, info)


def triangular_solve(
    b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False, unitriangular: bool = False
) -> TriangularSolveResult:  # noqa: N803
    """torch.triangular_solve: X with T X = b (``transpose``: T^T X = b), T the upper (or lower)
    triangle of A (..., n, n); b (..., n, k); batch dims broadcast. Returns (X, a copy of A
    broadcast to the batch shape). A zero on T's diagonal gives inf/NaN, as torch (no error)."""
    op = "triangular_solve"
    _check_square(op, A)
    _check_matrix(op, b, "b")
    t = A.mT if transpose else A
    x = solve_triangular(t, b, upper=upper != transpose, unitriangular=unitriangular)
    return TriangularSolveResult(x, A.expand(*x.shape[:-2], *A.shape[-2:]).clone())


__all__ = [
    "LDLFactorExResult",
    "LDLFactorResult",
    "LUFactorExResult",
    "LUFactorResult",
    "LUResult",
    "LUUnpackResult",
    "SolveExResult",
    "TriangularSolveResult",
    "ldl_factor",
    "ldl_factor_ex",
    "ldl_solve",
    "linalg_lu",
    "linalg_lu_solve",
    "linalg_vander",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "lu_unpack",
    "solve_ex",
    "triangular_solve",
]
