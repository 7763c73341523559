"""Root-mean-square normalisation (torch's F.rms_norm): layer norm without the mean.

Input (*, D1, ..., Dk) is seen as rows (R, M), R = prod(*), M = D1*...*Dk, normalised over
its last k dims (``normalized_shape``); weight, when given, has shape normalized_shape.
Per row::

    inv_rms = 1 / sqrt(sum(x^2) / M + eps)        xhat = x * inv_rms        y = weight * xhat

``eps`` None means ``finfo(input.dtype).eps``, as torch. Backward (with dxhat = g * weight)::

    dx = inv_rms * (dxhat - xhat * mean_row(dxhat * xhat))      dweight = sum over rows of g * xhat

Cost (E = elements of x): forward about 3 elementwise passes and one row reduction; backward
about 5 passes and two reductions. Backward keeps the input and inv_rms (R,) and recomputes xhat.
The affine map is layer norm's (kernels/layernorm.py, layout (R, M, 1)).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels.layernorm import affine
from .errors import ShapeError
from .math import astype, require_float
from .shape import _prod


class RMSNormRows(Function):
    """Inputs: x and, when ``has_weight``, weight (normalized_shape). Settings: ``rows`` (R, M), ``eps``."""

    def forward(self, x, *maybe_w):
        xp = backend.get_array_module(x)
        R, M = self.rows
        x2 = x.reshape(R, M)
        inv_rms = 1.0 / xp.sqrt((x2 * x2).sum(axis=1) / max(M, 1) + self.eps)
        xhat = x2 * inv_rms[:, None]
        w = maybe_w[0] if maybe_w else None
        if self.requires_grad:  # xhat is recomputed in backward: the output may be written in place
            self.x2, self.inv_rms, self.w = x2, inv_rms, w
        return affine(xhat, w, None, (R, M, 1)).reshape(x.shape)

    def backward(self, gy):
        R, M = self.rows
        g = gy.reshape(R, M)
        gx = gw = None
        xhat = self.x2 * self.inv_rms[:, None]
        if self.needs_input_grad[0]:
            dxhat = g if self.w is None else g * self.w.reshape(1, M)
            gx = dxhat - xhat * ((dxhat * xhat).sum(axis=1, keepdims=True) / max(M, 1))
            gx *= self.inv_rms[:, None]
            gx = gx.reshape(gy.shape)
        if self.w is not None and self.needs_input_grad[1]:
            gw = (g * xhat).sum(axis=0).reshape(self.w.shape)
        return gx, gw

    def composite(self, x, *maybe_w):  # (for create_graph=True)
        R, M = self.rows
        x2 = x.reshape(R, M)
        y = x2 / ((x2 * x2).sum(axis=1, keepdims=True) / max(M, 1) + self.eps).sqrt()
        if maybe_w:
            y = y * maybe_w[0].reshape(1, M)
        return y.reshape(x.shape)


def rms_norm(
    input: Tensor,
    normalized_shape: Sequence[int] | int,
    weight: Tensor | None = None,
    eps: float | None = None,
    _layer: str = "rms_norm",
) -> Tensor:
    """Normalise input (*, D1, ..., Dk) by the root mean square over its last k dims,
    ``normalized_shape`` = (D1, ..., Dk) (an int means (int,)), then scale by ``weight`` of
    shape normalized_shape (or None), cast to the input's dtype. ``eps`` None:
    ``finfo(dtype).eps`` of the computing dtype (float32 for float16 input, whose statistics
    are computed in float32, as torch)."""
    if isinstance(normalized_shape, numbers.Integral):
        shape: tuple[int, ...] = (int(normalized_shape),)
    else:
        shape = tuple(int(d) for d in normalized_shape)
    if not shape:
        raise ValueError(f"{_layer}: expected normalized_shape with at least one dimension, got {shape}")
    require_float(input, _layer)
    k = len(shape)
    if input.ndim < k or tuple(input.shape[-k:]) != shape:
        raise ShapeError(
            f"{_layer}: given normalized_shape={shape}, expected input of shape (*, {', '.join(map(str, shape))}), "
            f"got {input.shape}"
        )
    if weight is not None:
        if not isinstance(weight, Tensor):
            raise TypeError(f"{_layer}: weight must be a Tensor or None, got {type(weight).__name__}")
        if tuple(weight.shape) != shape:
            raise ShapeError(
                f"{_layer}: expected weight of shape {shape} (normalized_shape), got {tuple(weight.shape)}"
            )
        if weight.dtype != input.dtype:  # torch computes in the input's type
            weight = astype(weight, input.dtype)
    if input.dtype == np.float16:  # statistics in float32 (a float16 sum of squares overflows at 256), as torch
        low = rms_norm(astype(input, np.float32), shape, None if weight is None else astype(weight, np.float32), eps)
        return astype(low, np.float16)
    eps = float(np.finfo(input.dtype).eps) if eps is None else float(eps)
    rows = (_prod(input.shape[: input.ndim - k]), _prod(shape))
    args = (input,) if weight is None else (input, weight)
    return RMSNormRows.apply(*args, rows=rows, eps=eps)
