"""``mc.linalg``: the ``torch.linalg`` functions minicnn has, batched over leading dims.

Matrix functions (minicnn/ops/matrix_functions.py): ``solve``, ``inv``, ``det``, ``slogdet``,
``matrix_exp``, ``cholesky``, ``householder_product``, and the error they raise on singular
input, :class:`LinAlgError`. Decompositions and what is built on them
(minicnn/ops/decompositions.py): ``qr``, ``eigh``, ``eigvalsh``, ``svd``, ``svdvals``,
``solve_triangular``, ``pinv``, ``matrix_rank``, ``lstsq``, ``matrix_power``, ``matrix_sqrth``, ``multi_dot``,
``vecdot``, ``cross``, ``cond``, ``cholesky_ex``, ``inv_ex``, ``tensorinv``, ``tensorsolve``.
Norms delegate to the existing reductions (minicnn/ops/reduce.py): ``vector_norm`` is
``mc.norm``'s vector p-norm, ``matrix_norm`` its Frobenius and nuclear norms plus the max/min
absolute column (ord 1, -1) and row (ord inf, -inf) sums and the spectral norms (ord 2, -2:
the largest / smallest singular value, through ``svdvals``); ``norm`` chooses between the two
as torch.linalg.norm does. ``matmul`` and ``diagonal`` are the existing ops with
torch.linalg's defaults. LU (minicnn/ops/lu.py, on the batched partial-pivoting kernel of
minicnn/kernels/lu.py): ``lu``, ``lu_factor``, ``lu_factor_ex``, ``lu_solve``, ``solve_ex``,
``vander``, and the symmetric-indefinite ``ldl_factor``, ``ldl_factor_ex``, ``ldl_solve``
(Bunch-Kaufman, LAPACK's sytrf; no gradient, as torch). ``polar`` (A = U H, on the orthogonal
factor of minicnn/ops/linalg.py). Not here: the general (non-symmetric)
eigendecomposition ``eig``/``eigvals`` (complex results; minicnn has no complex dtypes), and
the ``out=`` keyword.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .autograd import Tensor
from .ops.decompositions import (
    CholeskyExResult,
    EighResult,
    InvExResult,
    LstsqResult,
    QRResult,
    SVDResult,
    _lapack,
    cholesky_ex,
    cond,
    cross,
    eigh,
    eigvalsh,
    inv_ex,
    lstsq,
    matrix_power,
    matrix_rank,
    matrix_sqrth,
    multi_dot,
    pinv,
    qr,
    solve_triangular,
    svd,
    svdvals,
    tensorinv,
    tensorsolve,
    vecdot,
)
from .ops.dims import wrap_dims
from .ops.errors import ShapeError
from .ops.linalg import PolarFactor
from .ops.lu import (
    LDLFactorExResult,
    LDLFactorResult,
    LUFactorExResult,
    LUFactorResult,
    LUResult,
    SolveExResult,
    ldl_factor,
    ldl_factor_ex,
    ldl_solve,
    lu_factor,
    lu_factor_ex,
    solve_ex,
)
from .ops.lu import linalg_lu as lu
from .ops.lu import linalg_lu_solve as lu_solve
from .ops.lu import linalg_vander as vander
from .ops.math import matmul as _matmul
from .ops.math import require_float
from .ops.matrix_functions import (
    LinAlgError,
    SlogdetResult,
    _check_matrix,
    cholesky,
    det,
    householder_product,
    inv,
    matrix_exp,
    slogdet,
    solve,
)
from .ops.reduce import _cast_to, amax, amin
from .ops.reduce import norm as _norm
from .ops.reduce import sum as _sum
from .ops.shape import diagonal as _diagonal

__all__ = [
    "CholeskyExResult",
    "EighResult",
    "InvExResult",
    "LDLFactorExResult",
    "LDLFactorResult",
    "LUFactorExResult",
    "LUFactorResult",
    "LUResult",
    "LinAlgError",
    "PolarResult",
    "LstsqResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "SolveExResult",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "householder_product",
    "inv",
    "inv_ex",
    "ldl_factor",
    "ldl_factor_ex",
    "ldl_solve",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "lstsq",
    "matmul",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_sqrth",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "polar",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]


class PolarResult(NamedTuple):
    """``torch.return_types.linalg_polar``: (U, H)."""

    U: Tensor
    H: Tensor


def polar(A: Tensor) -> PolarResult:
    """The polar decomposition A = U H of each matrix of A (..., m, n), m >= n: U (..., m, n) with
    orthonormal columns (W V^T for the reduced SVD A = W diag(S) V^T), H = V diag(S) V^T
    (..., n, n) symmetric positive semi-definite, here sym(U^T A), equal in exact arithmetic.
    Differentiable where A has full column rank (torch's rule). Cost: one batched SVD, one
    (n, m) by (m, n) product."""
    _check_matrix("linalg.polar", A)
    m, n = A.shape[-2:]
    if m < n:
        raise ShapeError(f"linalg.polar: input must have at least as many rows as columns, but got {m} by {n} matrices")
    u = _lapack("linalg.polar", PolarFactor.apply, A)  # (NumPy's SVD refuses a NaN / inf: torch's LinAlgError)
    h = _matmul(u.mT, A)
    return PolarResult(u, (h + h.mT) * 0.5)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """``input @ other`` with broadcasting (``mc.matmul``)."""
    return _matmul(input, other)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal of each matrix over (dim1, dim2), last: ``mc.diagonal`` with the last two
    dims as default."""
    return _diagonal(A, offset, dim1, dim2)


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The ``ord``-norm of x over ``dim`` (None: every element as one vector). ``ord``: any
    number, inf, -inf, 0 (count of nonzeros). Floating input only; ``dtype`` converts first."""
    if isinstance(ord, str):
        raise TypeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return _norm(x, float(ord), dim, keepdim, dtype=dtype)


def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """A norm of each matrix over the two dims ``dim`` (..., m, n) -> (...): ``'fro'``,
    ``'nuc'`` (sum of singular values), 1 / -1 (max / min of the absolute column sums),
    inf / -inf (max / min of the absolute row sums), 2 / -2 (largest / smallest singular
    value, through :func:`svdvals`)."""
    x = _cast_to(A, dtype)
    require_float(x, "linalg.matrix_norm")
    if x.ndim < 2:
        raise ShapeError(
            f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got shape {A.shape}."
        )
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ShapeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    rows, cols = wrap_dims(tuple(dim), x.ndim, "linalg.matrix_norm")
    if ord in ("fro", "nuc"):
        return _norm(x, ord, (rows, cols), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        # ord +-1 sums each column's absolute values (over the rows), ord +-inf each row's
        summed, other = (rows, cols) if abs(ord) == 1 else (cols, rows)
        if ord > 0 and x.shape[other] == 0:  # the max of no sums: 0 (a sum over nothing), as torch
            y = _sum(x.abs(), (rows, cols), keepdims=True)
            return y if keepdim else y.squeeze((rows, cols))
        sums = _sum(x.abs(), summed, keepdims=True)
        y = (amax if ord > 0 else amin)(sums, other, keepdim=True)
        return y if keepdim else y.squeeze((rows, cols))
    if ord in (2, -2):
        s = svdvals(x.movedim((rows, cols), (-2, -1)))
        if ord > 0 and s.shape[-1] == 0:  # the largest of no singular values: 0, as torch
            y = _sum(s, -1)
        else:
            y = (amax if ord > 0 else amin)(s, -1)
        return y.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols)) if keepdim else y
    raise ShapeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(input: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """torch.linalg.norm: a vector norm when ``dim`` is an int (or one dim), a matrix norm
    when it is a 2-tuple; with ``dim=None``, ord=None is the 2-norm of all elements, otherwise
    input must be 1-d (vector norm) or 2-d (matrix norm)."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) == 2:
            return matrix_norm(input, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
        if len(dim) != 1:
            raise ShapeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    elif ord is not None:
        if input.ndim not in (1, 2):
            raise ShapeError(
                f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {input.ndim}D."
            )
        if input.ndim == 2:
            return matrix_norm(input, ord, (-2, -1), keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise ShapeError(f"linalg.norm: ord {ord!r} is a matrix norm; it needs a 2-d input or a 2-tuple dim")
    return vector_norm(input, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
