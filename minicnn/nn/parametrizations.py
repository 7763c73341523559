"""``mc.nn.utils.parametrizations``: weight normalisation and spectral normalisation as
parametrizations (:mod:`minicnn.nn.parametrize`), as ``torch.nn.utils.parametrizations``.

``weight_norm(module, "weight", dim=0)``: ``weight = g * v / ||v||``, the norm taken over
every dim but ``dim`` (all of them for ``dim=None``), so each slice along ``dim`` (an output
unit for dim 0) has length ``g``. Stored as ``parametrizations.weight.original0`` = g (shape
(C, 1, ..., 1) for dim 0; 0-d for None) and ``original1`` = v (the weight's shape).
Salimans & Kingma, 2016.

``spectral_norm(module, "weight", n_power_iterations=1, eps=1e-12, dim=None)``:
``weight = W / sigma(W)``, sigma the largest singular value of W seen as a matrix
(``dim`` first, the other dims flattened: (C_out, C_in * kh * kw) for a conv; dim 1 by
default for a transposed conv). sigma is estimated by power iteration with the vectors
``_u`` (rows) and ``_v`` (columns), buffers of the parametrization (state-dict keys
``parametrizations.weight.0._u`` / ``._v``): 15 iterations when registered, then
``n_power_iterations`` at each access in training mode; in eval mode the stored vectors are
used as they are. sigma = u . (W v) is differentiable in W (u, v held constant), as torch.
Cost per access: 2 * n_power_iterations + 1 matrix-vector products with the (h, w) matrix.
A 1-d weight is simply normalised to unit length. Miyato et al., 2018.

``orthogonal(module, "weight", orthogonal_map=None, *, use_trivialization=True)``: the weight
(..., m, n) has orthonormal columns (m >= n) or rows (m < n). It is computed from the
unconstrained ``original`` X (the tall orientation, n <= m below) by ``"matrix_exp"``:
exp(A), or ``"cayley"``: (I - A/2)^-1 (I + A/2), A = the skew-symmetric part made of tril(X)
padded to (m, m), first n columns kept; or ``"householder"``: the product of the reflectors
below X's diagonal, each column signed by X's diagonal (+-1). Default: matrix_exp for a square
weight, householder otherwise. With ``use_trivialization`` the result is multiplied by the
buffer ``base`` (m, m) (state-dict key ``parametrizations.weight.0.base``), set when a weight
is assigned: the weight itself if it is orthogonal, else the Q of its QR decomposition
(completed with random columns for a non-square weight), while ``original`` becomes -I.
Lezcano-Casado, 2019 (dynamic trivializations).

The initial u and v are drawn from ``mc.random`` (torch draws from its own generator, so
the two libraries agree given the same buffers, not the same seed).
"""

from __future__ import annotations

from enum import Enum, auto
from typing import Any

import numpy as np

from .. import backend, random
from ..autograd import Tensor, no_grad
from ..ops.linalg import dot, mv
from ..ops.matrix_functions import householder_product, matrix_exp, solve
from ..ops.reduce import norm
from ..ops.shape import cat, diagonal, tril
from ..ops.similarity import normalize
from . import parametrize
from .conv import ConvTranspose1d, ConvTranspose2d
from .conv3d import ConvTranspose3d
from .module import Module

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _norm_except_dim(v: Tensor, pow: float, dim: int) -> Tensor:
    """torch.norm_except_dim: the ``pow``-norm of ``v`` over every dim but ``dim``, kept as
    size-1 dims (shape (1, .., v.shape[dim], .., 1)); ``dim=-1`` is the norm of all of ``v``
    (0-d), not the last dim."""
    if dim == -1:
        return norm(v, pow)
    if not -v.ndim <= dim < v.ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-v.ndim}, {v.ndim - 1}], but got {dim})"
        )
    dim %= v.ndim
    axes = tuple(d for d in range(v.ndim) if d != dim)
    if not axes:  # the norm of each single element
        return v.abs()
    return norm(v, pow, axes, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """torch._weight_norm: ``v * (g / norm_except_dim(v, 2, dim))``."""
    return v * (g / _norm_except_dim(v, 2, dim))


class _WeightNorm(Module):
    """The weight-norm parametrization: ``forward(g, v)`` -> the weight, ``right_inverse``
    (weight) -> (g, v)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (norm over every dim but ``dim``;
    over all for ``dim=None``); g is ``parametrizations.<name>.original0``, v ``original1``.
    Returns ``module``. As torch, a checkpoint of the older hook-based ``weight_norm`` (keys
    ``<name>_g`` / ``<name>_v``) loads too: a load-state-dict pre-hook renames those keys."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _weight_norm_compat_hook(
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        g_key = f"{prefix}{name}_g"
        v_key = f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            original0 = state_dict.pop(g_key)
            original1 = state_dict.pop(v_key)
            state_dict[f"{prefix}parametrizations.{name}.original0"] = original0
            state_dict[f"{prefix}parametrizations.{name}.original1"] = original1

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


class _SpectralNorm(Module):
    """The spectral-norm parametrization of a tensor shaped like ``weight``, with its power
    iteration vectors ``_u`` (h,) and ``_v`` (w,) for the (h, w) matrix view."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            with no_grad():
                weight_mat = self._reshape_weight_to_matrix(weight.detach())
                h, w = weight_mat.shape
                xp = weight.xp
                with backend.array_scope(weight.array):
                    rng = random.generator(xp)
                    u = Tensor(xp.asarray(rng.standard_normal(h), dtype=weight.dtype))
                    v = Tensor(xp.asarray(rng.standard_normal(w), dtype=weight.dtype))
                self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """(h, w): dim ``self.dim`` first, the others flattened in order."""
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """``n_power_iterations`` steps u <- normalize(W v), v <- normalize(W^T u), written
        into the buffers in place (torch's order and eps)."""
        with no_grad():
            w = weight_mat.detach()
            for _ in range(n_power_iterations):
                normalize(mv(w, self._v), dim=0, eps=self.eps, out=self._u)
                normalize(mv(w.t(), self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # copies, so that a later power iteration does not rewrite what this graph saved
        u, v = self._u.clone(), self._v.clone()
        sigma = dot(u, mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12, dim: int | None = None
) -> Module:
    """Reparametrize ``module.<name>`` as itself divided by its spectral norm (estimated by
    power iteration, see the module docstring). ``dim``: the dim of the rows (None: 1 for
    transposed convolutions, else 0). Returns ``module``; ValueError if ``module`` has no
    tensor ``name``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# -- orthogonal ---------------------------------------------------------------------------


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


def _is_orthogonal(q: Any) -> bool:
    """Q^T Q = I within 10 n eps (torch's test), Q (..., n, k) an array."""
    xp = backend.get_array_module(q)
    n, k = q.shape[-2:]
    eps = 10.0 * n * float(np.finfo(q.dtype).eps)
    return bool(xp.allclose(xp.swapaxes(q, -1, -2) @ q, xp.eye(k, dtype=q.dtype), rtol=1e-5, atol=eps))


def _make_orthogonal(a: Any) -> Any:
    """The Q of A = QR with diag(R) >= 0, A (..., n, k) tall (an array)."""
    xp = backend.get_array_module(a)
    q, r = xp.linalg.qr(a)
    return q * xp.sign(xp.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


class _Orthogonal(Module):
    """The orthogonal parametrization of a tensor shaped like ``weight`` (see the module
    docstring); ``base`` is a buffer when ``use_trivialization``."""

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X, n, k = X.mT, k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = tril(X)  # n k - k (k - 1) / 2 free entries
            if n != k:  # embed in a square matrix
                with backend.array_scope(X.array):
                    zeros = Tensor(X.xp.zeros((*X.shape[:-2], n, n - k), dtype=X.dtype))
                X = cat([X, zeros], dim=-1)
            A = X - X.mT  # skew-symmetric
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = matrix_exp(A)
            else:  # the Cayley retraction (I + A/2)(I - A/2)^-1, as torch computes it
                with backend.array_scope(A.array):
                    eye = Tensor(A.xp.eye(n, dtype=A.dtype))
                Q = solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = tril(X, -1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            # X's diagonal holds +-1 (a constant: truncated to integers, as torch's .int())
            signs = diagonal(X, 0, -2, -1).detach()
            with backend.array_scope(signs.array):
                signs = Tensor(signs.array.astype(np.int32).astype(Q.dtype))
            Q = Q * signs.unsqueeze(-2)
        if "base" in self._buffers:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(
                f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape {Q.shape}."
            )
        xp = Q.xp
        q_init = Q
        q = Q.array
        n, k = q.shape[-2:]
        transpose = n < k
        if transpose:
            q, n, k = q.swapaxes(-1, -2), k, n  # (a view: no launch, so on any current GPU)
        with backend.array_scope(q):
            if "base" not in self._buffers:
                if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley parametrizations when "
                        "use_trivialization=False."
                    )
                # householder: the reflectors of Q's QR (LAPACK geqrf), the diagonal set to the signs of
                # diag(R), flipped where tau = 0 (LAPACK's marker of a skipped reflection)
                h, tau = xp.linalg.qr(q, mode="raw")
                a = xp.ascontiguousarray(xp.swapaxes(h, -1, -2), dtype=q.dtype)
                i = xp.arange(k)
                d = xp.sign(a[..., i, i])
                a[..., i, i] = xp.where(tau == 0, -d, d)
                return Tensor(xp.swapaxes(a, -1, -2).copy() if transpose else a)
            if n == k:
                q = q.copy() if _is_orthogonal(q) else _make_orthogonal(q)
            else:  # complete Q to an (n, n) orthogonal matrix with random columns
                rng = random.generator(xp)
                extra = xp.asarray(rng.standard_normal((*q.shape[:-2], n, n - k)), dtype=q.dtype)
                q = _make_orthogonal(xp.concatenate([q, extra], axis=-1))
            self.base = Tensor(xp.ascontiguousarray(q, dtype=Q.dtype))
            # -I, so that householder(zeros) would be eye(m, n) and matrix_exp(0) = I: the weight is base
            neg_id = xp.zeros(q_init.shape, dtype=Q.dtype)
            i = xp.arange(min(q_init.shape[-2:]))
            neg_id[..., i, i] = -1.0
            return Tensor(neg_id)


def orthogonal(
    module: Module, name: str = "weight", orthogonal_map: str | None = None, *, use_trivialization: bool = True
) -> Module:
    """Reparametrize ``module.<name>`` (a matrix or batch of matrices (..., m, n)) to be
    orthogonal: orthonormal columns if m >= n, rows otherwise (see the module docstring).
    ``orthogonal_map``: ``"matrix_exp"``, ``"cayley"`` or ``"householder"``; None chooses
    matrix_exp for square matrices, householder otherwise. Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    orth_enum = _OrthMaps.__members__.get(orthogonal_map) if isinstance(orthogonal_map, str) else None
    if orth_enum is None:
        raise ValueError(
            f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: {orthogonal_map}'
        )
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
