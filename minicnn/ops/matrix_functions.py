"""Functions of square matrices, batched over leading dims as in ``torch.linalg``: solve, inv,
det, slogdet, matrix_exp, cholesky, and householder_product (tall matrices).

Shapes: A is (..., n, n); ``solve``'s B is (..., n, k) or a batch of vectors (..., n), the
batch dims broadcast; ``det``/``slogdet`` give (...); ``householder_product`` takes reflectors
A (..., m, n) and scales tau (..., k), k <= n <= m, and gives Q (..., m, n). Float32 and
float64. Costs, per matrix: O(n^3) forward (one LU, SVD, Cholesky, or for matrix_exp six
products and one solve, plus one product per halving), and about as much again backward.

Gradients (real matrices; A^T below is the transpose of the last two dims):
  inv      Y = A^-1:           dA = -Y^T G Y^T
  solve    X = A^-1 B:         dB = A^-T G,  dA = -dB X^T
  det      d = det A:          dA = g adj(A)^T (through an SVD, so singular A too)
  slogdet  l = log|det A|:     dA = g A^-T   (the sign has no gradient)
  cholesky A = L L^T:          dA = L^-T Phi L^-1, Phi = the Hermitian part of tril(L^T G) with
                               half its diagonal (Murray 2016, as torch)
  matrix_exp                   dA = the upper-right block of exp([[A^T, G], [0, A^T]])
Each graph form (create_graph) writes the same formula with the ops themselves (Inv, Solve,
MatrixExp, Cholesky) and matmul, so it is differentiable again; det's is
gy * adj(A)^T with adj(A)^T an op (AdjugateT, through the SVD), so the first derivative
is defined at singular A under create_graph too (as torch's) while the second needs a
nonsingular A (its gradient is det(A) times a formula in A^-1). householder_product
is written with minicnn ops (k rank-one updates), so autograd derives it directly.
Singular input: inv and solve raise :class:`LinAlgError` (a ValueError naming the op), as
torch raises its LinAlgError; cholesky does the same for a matrix that is not positive-definite.
"""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, tie
from ..tensor_methods import number_outputs
from .errors import DtypeError, ShapeError
from .math import matmul
from .shape import cat, tril

# -- checks ------------------------------------------------------------------------------


class LinAlgError(ValueError, RuntimeError):
    """A matrix function met a matrix it cannot handle (singular, not positive-definite),
    as ``torch.linalg.LinAlgError`` (a RuntimeError there; a ValueError too, minicnn's rule)."""


def _check_matrix(op: str, a: Any, name: str = "A") -> None:
    """``a`` is a float32/float64 tensor of (batches of) matrices, or a TypeError/ValueError naming ``op``."""
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(a).__name__}")
    if a.dtype not in (np.float32, np.float64):
        raise DtypeError(f"{op}: Expected a floating point tensor (float32 or float64) as {name}. Got {a.dtype}")
    if a.ndim < 2:
        raise ShapeError(f"{op}: The input tensor {name} must have at least 2 dimensions, got shape {a.shape}.")


def _check_square(op: str, a: Any, name: str = "A") -> None:
    _check_matrix(op, a, name)
    if a.shape[-1] != a.shape[-2]:
        raise ShapeError(
            f"{op}: {name} must be batches of square matrices, but they are {a.shape[-2]} by {a.shape[-1]} matrices"
        )


def _mt(a: Any) -> Any:
    """The transpose of the last two dims of an array."""
    return backend.get_array_module(a).swapaxes(a, -1, -2)


def _raising(xp: Any) -> Any:
    """A context in which a singular or indefinite matrix raises numpy's LinAlgError: always
    on NumPy; CuPy only checks cuSOLVER's status (one device sync) inside this errstate."""
    if xp is np:
        return contextlib.nullcontext()
    import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

    return cupyx.errstate(linalg="raise")


def _raw_inv(a: Any, op: str) -> Any:
    xp = backend.get_array_module(a)
    try:
        with _raising(xp):
            return xp.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{op}: the input matrix is singular, the inversion could not be completed") from None


def _raw_solve(a: Any, b: Any, op: str) -> Any:
    """A^-1 B for a (..., n, n) and b (..., n, k) of the same batch shape."""
    xp = backend.get_array_module(a)
    try:
        with _raising(xp):
            return xp.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise LinAlgError(f"{op}: the input matrix is singular, the solve could not be completed") from None


# -- inv, solve ------------------------------------------------------------------------------


class Inv(Function):
    graph_reads = ()  # the graph form reads the output only
    graph_output = True

    def forward(self, a):
        y = _raw_inv(a, "linalg.inv")
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy):
        yt = _mt(self.y)
        return -(yt @ gy @ yt)

    def backward_graph(self, gy, a, out):
        yt = out.mT
        return -matmul(matmul(yt, gy), yt)


class Solve(Function):
    """X = A^-1 B, A (..., n, n) and B (..., n, k) with equal batch shapes."""

    graph_output = True

    def forward(self, a, b):
        x = _raw_solve(a, b, "linalg.solve")
        if self.requires_grad:
            self.a, self.x = a, x
        return x

    def backward(self, gy):
        gb = _raw_solve(_mt(self.a), gy, "linalg.solve")
        ga = -(gb @ _mt(self.x)) if self.needs_input_grad[0] else None
        return ga, gb if self.needs_input_grad[1] else None

    def backward_graph(self, gy, a, b, out):
        gb = Solve.apply(a.mT, gy)
        ga = -matmul(gb, out.mT) if self.needs_input_grad[0] else None
        return ga, gb if self.needs_input_grad[1] else None


def inv(A: Tensor) -> Tensor:
    """The inverse of each matrix of A (..., n, n); LinAlgError if one is singular."""
    _check_square("linalg.inv", A)
    return Inv.apply(A)


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    """torch's rule: B is a batch of vectors if it is 1-d or has the shape A.shape[:-1]."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B). A (..., n, n); B (..., n, k), or (..., n) as a
    batch of vectors (1-d, or shaped A.shape[:-1]; left only, as torch); ``left=False`` takes
    B (..., k, n). Batch dims broadcast; the result has B's (broadcast) shape."""
    _check_square("linalg.solve", A)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve: B must be a Tensor, got {type(B).__name__}")
    if B.dtype != A.dtype:
        raise DtypeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of {A.dtype} and B of {B.dtype}"
        )
    vector = _is_vector_rhs(A, B)
    if vector and not left:
        raise ShapeError(
            "linalg.solve: Vector broadcasting of the left hand side is not supported for left=False. In this case "
            "linalg.solve is equivalent to B / A.squeeze(-1)"
        )
    b = B.unsqueeze(-1) if vector else B
    if b.ndim < 2:
        raise ShapeError(f"linalg.solve: The input tensor B must have at least 2 dimensions, got shape {B.shape}.")
    n = A.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        side = "A.size(-1) == B.size(-2)" if left else "A.size(-2) == B.size(-1)"
        raise ShapeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation {side} ({A.shape} and {B.shape})"
        )
    try:
        batch = np.broadcast_shapes(A.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(f"linalg.solve: the batch dims of A {A.shape} and B {B.shape} do not broadcast") from None
    a = A.expand(*batch, n, n)
    b = b.expand(*batch, *b.shape[-2:])
    x = Solve.apply(a, b) if left else Solve.apply(a.mT, b.mT).mT  # X A = B  <=>  A^T X^T = B^T
    return x.squeeze(-1) if vector else x


# -- det, slogdet -------------------------------------------------------------------------


def _exclusive_products(s: Any) -> Any:
    """p_i = prod_{j != i} s_j along the last axis, without dividing (s may hold zeros)."""
    xp = backend.get_array_module(s)
    ones = xp.ones_like(s[..., :1])
    left = xp.cumprod(xp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    right = xp.cumprod(xp.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return left * right


class LogAbsDet(Function):
    """log|det A| (...,); d/dA = A^-T."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        if self.requires_grad:
            self.a = a
        return xp.linalg.slogdet(a)[1]

    def backward(self, gy):
        try:
            ait = _mt(_raw_inv(self.a, "linalg.slogdet"))
        except LinAlgError:  # singular: adj(A)^T / det A, infinite (or NaN) as torch's, not an error
            with np.errstate(divide="ignore", invalid="ignore"):
                ait = _adjugate_t(self.a) / backend.get_array_module(self.a).linalg.det(self.a)[..., None, None]
        return gy[..., None, None] * ait

    def backward_graph(self, gy, a):
        return gy.unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mT


def _adjugate_t(a: Any) -> Any:
    """adj(A)^T of each matrix of a (..., n, n), through the SVD A = U S V^T: adj(A)^T =
    det(U) det(V) U diag(p) V^T, p_i the product of the singular values but s_i (no division:
    defined at singular A too)."""
    xp = backend.get_array_module(a)
    try:
        u, s, vh = xp.linalg.svd(a)
    except np.linalg.LinAlgError:  # NumPy's SVD refuses NaN/inf: those matrices get NaN, as torch's gradient
        bad = ~xp.isfinite(a).all(axis=(-2, -1))[..., None, None]
        return xp.where(bad, xp.nan, _adjugate_t(xp.where(bad, 0, a)))
    sign = xp.linalg.det(u) * xp.linalg.det(vh)
    return sign[..., None, None] * ((u * _exclusive_products(s)[..., None, :]) @ vh)


class AdjugateT(Function):
    """C = adj(A)^T = det(A) A^-T (..., n, n), the gradient of det: singular A too forward;
    its own gradient, dA = det (<H, A^-T> A^-T - A^-T H^T A^-T), needs a nonsingular A."""

    def forward(self, a):
        if self.requires_grad:
            self.a = a
        return _adjugate_t(a)

    def backward(self, gc):
        xp = backend.get_array_module(gc)
        ait = _mt(_raw_inv(self.a, "linalg.det"))
        d = xp.linalg.det(self.a)[..., None, None]
        return d * ((gc * ait).sum(axis=(-2, -1), keepdims=True) * ait - ait @ _mt(gc) @ ait)

    def composite(self, a):
        return Det.apply(a).unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mT


class Det(Function):
    """det A (...,); d/dA = adj(A)^T (:class:`AdjugateT`), defined at singular A too."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        if self.requires_grad:
            self.a = a
        return xp.linalg.det(a)

    def backward(self, gy):
        return gy[..., None, None] * _adjugate_t(self.a)

    def backward_graph(self, gy, a):  # first derivative at singular A too, as torch's
        return gy.unsqueeze(-1).unsqueeze(-1) * AdjugateT.apply(a)


class NoGradient(Function):
    """(inputs) -> the constant ``self.value``, which requires grad where an input does but
    gives them no gradient (undefined, not zeros): torch's slogdet sign for real input, its
    empty lstsq residuals."""

    def forward(self, *arrays):
        return self.value

    def backward(self, gy):
        return (None,) * len(self.needs_input_grad)

    def backward_graph(self, gy, *inputs):
        return (None,) * len(inputs)


class SlogdetResult(NamedTuple):
    """``torch.return_types.linalg_slogdet``: (sign, logabsdet)."""

    sign: Tensor
    logabsdet: Tensor


def det(A: Tensor) -> Tensor:
    """The determinant of each matrix of A (..., n, n) -> (...)."""
    _check_square("linalg.det", A)
    return Det.apply(A)


def slogdet(A: Tensor) -> SlogdetResult:
    """(sign, log|det|) of each matrix of A (..., n, n), each (...); a singular matrix gives
    (0, -inf). The sign requires grad when A does but has no gradient, as torch's for real input."""
    _check_square("linalg.slogdet", A)
    with backend.array_scope(A.array):
        sign = A.xp.linalg.slogdet(A.array)[0]
    return SlogdetResult(*number_outputs((NoGradient.apply(A, value=sign), LogAbsDet.apply(A))))


# -- matrix_exp ----------------------------------------------------------------------------

# Pade (13, 13) coefficients and the largest 1-norm it serves to double precision (Higham 2005)
_PADE13 = (
    64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
    10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0,
)  # fmt: skip
_THETA13 = 5.371920351148152


def _expm(a: Any) -> Any:
    """exp of each matrix of a (..., n, n) by scaling and squaring: A / 2^s has 1-norm at most
    theta_13, its exp is the Pade (13, 13) approximant r = (V - U)^-1 (V + U), U odd and V even
    in A, and exp(A) = r^(2^s), s chosen per matrix (Higham 2005, as scipy's expm)."""
    xp = backend.get_array_module(a)
    n = a.shape[-1]
    if a.size == 0:
        return a.copy()
    norm1 = xp.abs(a).sum(axis=-2).max(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = xp.ceil(xp.log2(norm1 / _THETA13))
    s = xp.where(xp.isfinite(s) & (s > 0), s, 0).astype(np.int64)
    a = a / (2.0**s).astype(a.dtype)[..., None, None]
    b = [a.dtype.type(c) for c in _PADE13]
    eye = xp.eye(n, dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = xp.linalg.solve(v - u, v + u)
    for i in range(int(s.max())):  # square the matrices that were scaled at least i + 1 times
        r = xp.where((s > i)[..., None, None], r @ r, r)
    return r


def _exp_block(a_t: Any, g: Any, zeros: Any) -> tuple[Any, ...]:
    """The rows of [[A^T, G], [0, A^T]]."""
    return (a_t, g), (zeros, a_t)


class MatrixExp(Function):
    def forward(self, a):
        if self.requires_grad:
            self.a = a
        return _expm(a)

    def backward(self, gy):  # d<G, exp A> = <exp([[A^T, G], [0, A^T]])[:n, n:], dA>
        xp = backend.get_array_module(gy)
        n = gy.shape[-1]
        rows = _exp_block(_mt(self.a), gy, xp.zeros_like(gy))
        block = xp.concatenate([xp.concatenate(r, axis=-1) for r in rows], axis=-2)
        return _expm(block)[..., :n, n:]

    def backward_graph(self, gy, a):  # the same block, exponentiated by this op again
        n = a.shape[-1]
        with backend.array_scope(a.array):
            zeros = Tensor(a.xp.zeros(a.shape, dtype=a.dtype))
        rows = _exp_block(a.mT, gy, zeros)
        block = cat([cat(list(r), dim=-1) for r in rows], dim=-2)
        return MatrixExp.apply(block)[..., :n, n:]


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) = sum_k A^k / k! for each matrix of A (..., n, n)."""
    _check_square("linalg.matrix_exp", A)
    return MatrixExp.apply(A)


# -- cholesky ------------------------------------------------------------------------------


def _cholesky_phi(p: Any, tri: Any, mt: Any) -> Any:
    """Phi = the Hermitian matrix with lower triangle tril(p) and half its diagonal."""
    p = tri(p)
    return 0.5 * (p + mt(tri(p, -1)))


class Cholesky(Function):
    """L lower triangular with A = L L^T, for symmetric positive-definite A (its lower
    triangle is read)."""

    graph_reads = ()
    graph_output = True

    def forward(self, a):
        xp = backend.get_array_module(a)
        try:
            with _raising(xp):
                low = xp.linalg.cholesky(a)
            # a NaN pivot (LAPACK's potrf refuses it, as torch) spreads to the last diagonal entry
            if a.shape[-1] and bool(xp.isnan(low[..., -1, -1]).any()):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            raise LinAlgError(
                "linalg.cholesky: The factorization could not be completed because the input is not positive-definite"
            ) from None
        if self.requires_grad:
            self.low = low
        return low

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        low = self.low
        phi = _cholesky_phi(_mt(low) @ gy, xp.tril, _mt)
        linv = _raw_inv(low, "linalg.cholesky")
        return _mt(linv) @ phi @ linv

    def backward_graph(self, gy, a, out):
        phi = _cholesky_phi(matmul(out.mT, gy), tril, lambda t: t.mT)
        linv = Inv.apply(out)
        return matmul(matmul(linv.mT, phi), linv)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor of each symmetric positive-definite matrix of A (..., n, n): L lower
    triangular with A = L L^T, read from A's lower triangle, or (``upper=True``) U upper
    triangular with A = U^T U, read from A's upper triangle (as torch). LinAlgError if a
    matrix is not positive-definite."""
    _check_square("linalg.cholesky", A)
    if upper:  # torch reads the upper triangle then: the lower one of A^T, and U = chol(A^T)^T
        return Cholesky.apply(A.mT).mT
    return Cholesky.apply(A)


# -- householder_product -----------------------------------------------------------------


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of H_1 H_2 ... H_k, H_i = I - tau_i v_i v_i^T, v_i the i-th column
    of A (..., m, n) below the diagonal with a 1 on it (LAPACK's orgqr). tau (..., k), k <= n
    <= m. Written as k rank-one updates of Q (..., m, n) in minicnn ops, so its gradient (and
    the higher ones) come from autograd: O(k m n) forward and backward."""
    op = "linalg.householder_product"
    for name, t, ndim in (("input", A, 2), ("tau", tau, 1)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype not in (np.float32, np.float64):
            raise DtypeError(f"{op}: Expected a floating point tensor (float32 or float64) as {name}. Got {t.dtype}")
        if t.ndim < ndim:
            raise ShapeError(f"{op}: {name} must have at least {ndim} dimensions, got shape {t.shape}.")
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if m < n:
        raise ShapeError(f"{op}: input.shape[-2] must be greater than or equal to input.shape[-1], got shape {A.shape}")
    if n < k:
        raise ShapeError(
            f"{op}: input.shape[-1] must be greater than or equal to tau.shape[-1], got {A.shape} and {tau.shape}"
        )
    if tau.shape[:-1] != A.shape[:-2]:
        raise ShapeError(
            f"{op}: Expected batch dimensions of tau to be equal to input.shape[:-2], got {A.shape} and {tau.shape}"
        )
    if tau.dtype != A.dtype:
        raise DtypeError(f"{op}: tau dtype {tau.dtype} does not match input dtype {A.dtype}")
    with backend.array_scope(A.array):
        eye = Tensor(A.xp.eye(m, n, dtype=A.dtype))
    v = tril(A, -1) + eye  # column i: the reflector v_i
    q = eye.expand(*A.shape)
    for i in reversed(range(k)):  # Q <- H_i Q, the last reflector applied first
        vi = v[..., :, i : i + 1]
        ti = tau[..., i : i + 1].unsqueeze(-1)
        q = q - matmul(ti * vi, matmul(vi.mT, q))
    return q if k else tie(tie(q, A), tau)  # no reflectors: eye(m, n), with zero gradients (torch)
