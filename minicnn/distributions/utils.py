"""Helpers shared by the distributions (torch.distributions.utils' names): broadcasting the
parameters, probabilities <-> logits, clamping, and the Gamma sampler with its implicit
reparameterisation gradient."""

from __future__ import annotations

import functools
import numbers
from typing import Any

import numpy as np

from .. import backend, random
from ..autograd import Tensor
from ..runtime import finfo, get_default_dtype

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "standard_gamma",
    "sum_rightmost",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def _as_tensor(value: Any, like: Tensor | None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if like is None:
        return Tensor(np.asarray(value, dtype=get_default_dtype()))
    return like.new_tensor(float(value))


def broadcast_all(*values: Any) -> tuple[Tensor, ...]:
    """Numbers and tensors broadcast to one shape: numbers become tensors of the first tensor's
    dtype and device (the default dtype when there is none), as torch.distributions.utils.broadcast_all.
    ValueError for anything that is neither."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)):
            raise ValueError(
                "Input arguments must all be instances of numbers.Number, minicnn.Tensor or objects implementing "
                "__torch_function__."
            )
    tensors = [_as_tensor(v, like) for v in values]
    if like is not None and like.dtype.kind != "f":
        tensors = [t.to(get_default_dtype()) if t.dtype.kind != "f" else t for t in tensors]
    shape = tuple(np.broadcast_shapes(*(t.shape for t in tensors)))
    return tuple(t if tuple(t.shape) == shape else t.expand(shape) for t in tensors)


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the ``dim`` rightmost dimensions of ``value`` (nothing for dim 0)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[: value.ndim - dim]) + (-1,)).sum(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities clamped into [eps, 1 - eps] of their dtype."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """sigmoid(logits) when ``is_binary``, else softmax over the last dim."""
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log(p) - log1p(-p) when ``is_binary``, else log(p) (p clamped into [eps, 1 - eps])."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ps_clamped.log() - (-ps_clamped).log1p()
    return ps_clamped.log()


class lazy_property:  # noqa: N801
    """A property computed on first access and then stored on the instance (torch's
    lazy_property: the distributions keep ``probs`` or ``logits`` and derive the other)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        from .. import autograd  # noqa: PLC0415

        with autograd.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The lower triangle (below ``diag``) of the last two dims as a vector, row by row."""
    n = mat.shape[-1]
    rows, cols = np.tril_indices(n, k=diag)
    return mat[..., rows.tolist(), cols.tolist()]


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of :func:`tril_matrix_to_vec`."""
    m = vec.shape[-1]
    n = int(round((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2))
    rows, cols = np.tril_indices(n, k=diag)
    flat = np.ravel_multi_index((rows, cols), (n, n))
    from ..creation import zeros  # noqa: PLC0415

    out = zeros(tuple(vec.shape[:-1]) + (n * n,), dtype=vec.dtype, device=vec.device)
    out = out.index_add(-1, Tensor(backend.get_array_module(vec.array).asarray(flat)), vec)
    return out.reshape(tuple(vec.shape[:-1]) + (n, n))


def _gamma_cdf_da(a: Any, x: Any, xp: Any) -> Any:
    """d/da of the regularised incomplete gamma P(a, x) by a central difference in float64
    (of Q = 1 - P where P > 1/2, which keeps its relative accuracy in the upper tail)."""
    from ..kernels import special as K  # noqa: PLC0415

    h = 1e-5 * xp.maximum(a, 1e-3)
    upper = K.gammainc(a, x) > 0.5
    lo = xp.where(upper, -K.gammainc(a + h, x, upper=True), K.gammainc(a + h, x))
    hi = xp.where(upper, -K.gammainc(a - h, x, upper=True), K.gammainc(a - h, x))
    return (lo - hi) / (2 * h)


def standard_gamma_grad(alpha: Any, x: Any) -> Any:
    """dx/dalpha of a Gamma(alpha, 1) sample x holding its CDF fixed (the implicit
    reparameterisation torch's ``_standard_gamma_grad`` computes): -(dP/da) / (dP/dx), arrays."""
    from ..kernels import special as K  # noqa: PLC0415

    xp = backend.get_array_module(alpha)
    a, v = alpha.astype(np.float64), x.astype(np.float64)
    with np.errstate(all="ignore"):
        g = -_gamma_cdf_da(a, v, xp) / K.gammainc_density(a, v)
    return xp.where(xp.isfinite(g), g, 0.0).astype(alpha.dtype)


def standard_gamma(alpha: Tensor, generator: Any = None) -> Tensor:
    """Samples of Gamma(alpha, 1) (alpha's shape, dtype and device; at least its dtype's ``tiny``)
    from the library generator or ``generator`` (a mc.Generator), differentiable w.r.t. ``alpha``
    by implicit reparameterisation: the gradient is dx/dalpha at a fixed CDF
    (:func:`standard_gamma_grad`), as torch's ``_standard_gamma``. Under create_graph that
    gradient is a constant (its own derivative w.r.t. alpha is taken as zero; torch does not
    implement it)."""
    xp = alpha.xp
    with backend.array_scope(alpha.array):
        rng, rxp = random.host_rng(generator, xp, "_standard_gamma")
        a = alpha.array.astype(np.float64)
        x = rng.standard_gamma(a if rxp is xp else backend.to_numpy(a))
        x = xp.maximum(xp.asarray(x), finfo(alpha.dtype).tiny).astype(alpha.dtype)
    sample = Tensor(x)
    if not alpha.requires_grad:
        return sample
    with backend.array_scope(alpha.array):
        grad = Tensor(standard_gamma_grad(alpha.array, x))
    return sample + (alpha - alpha.detach()) * grad
