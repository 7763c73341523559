"""Max unpooling: put every value back at the position its max pool recorded, zeros elsewhere.

Shapes: values x (..., H, W) and indices (same shape, int64) -> y (..., OH, OW). Each index
is a flat position row*OW + col in its own (OH, OW) output plane -- the convention of
``max_pool2d(..., return_indices=True)``, whose (unpadded) input plane is the output plane
here. The leading axes (N, C) are planes: P = prod(...) planes of L = H*W values each and
S = OH*OW outputs each. Viewed as (P, L) and (P, S)::

    forward   y = zeros(P, S);  y[p, idx[p, l]] = x[p, l]      (one scatter)
    backward  gx[p, l] = gy[p, idx[p, l]]                       (one gather)

The backward is the transpose of the forward when the indices of a plane are distinct (max
pooling with stride >= kernel). Overlapping pools can record one position several times: the
forward then keeps one of the values (NumPy: the last; CuPy, like torch on CUDA, any one --
nondeterministic), while the backward still gives every value the gradient at its position,
as torch's does.

Cost: the forward writes P*S zeros and scatters P*L values; the backward gathers P*L values.
No loop: the scatter is one fancy-index assignment with a (P, 1) row index, the gather one
``take_along_axis``. :func:`invalid_index` is one pass over the indices (a 0-d flag, so that
on a GPU the check does not wait for the device).
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import get_array_module


def invalid_index(indices: Any, plane_size: int) -> Any:
    """0-d bool array: does any index fall outside [0, plane_size)? indices: any shape, integer."""
    xp = get_array_module(indices)
    if indices.size == 0:
        return xp.zeros((), dtype=bool)
    return ((indices < 0) | (indices >= plane_size)).any()


def max_unpool_forward(x: Any, indices: Any, output_hw: tuple[int, int]) -> Any:
    """y (..., OH, OW): zeros, with x (..., H, W) written at its flat per-plane ``indices``
    (same shape as x, int64, each in [0, OH*OW) -- checked by the caller; not read when
    OH*OW is 0). Cost: P*OH*OW zeros written, one scatter of x's values (P planes)."""
    xp = get_array_module(x)
    lead = x.shape[:-2]
    planes = math.prod(lead)
    size = output_hw[0] * output_hw[1]
    length = x.shape[-2] * x.shape[-1]  # spelled out, not -1: there may be no planes
    y = xp.zeros((planes, size), dtype=x.dtype)
    if size == 0:  # nowhere to put anything
        return y.reshape(lead + tuple(output_hw))
    rows = xp.arange(planes)[:, None]
    y[rows, indices.reshape(planes, length)] = x.reshape(planes, length)
    return y.reshape(lead + tuple(output_hw))


def max_unpool_backward(gy: Any, indices: Any) -> Any:
    """gx (indices' shape (..., H, W)): the output gradient gy (..., OH, OW) read at each index.
    Cost: one gather of x's size."""
    xp = get_array_module(gy)
    lead = gy.shape[:-2]
    planes = math.prod(lead)
    size = gy.shape[-2] * gy.shape[-1]
    length = indices.shape[-2] * indices.shape[-1]
    if size == 0:  # an empty output depends on nothing
        return xp.zeros(indices.shape, dtype=gy.dtype)
    gx = xp.take_along_axis(gy.reshape(planes, size), indices.reshape(planes, length), axis=1)
    return gx.reshape(indices.shape)
