"""CUDA inverted dropout (mask and output in one pass), twin of :func:`minicnn.kernels.dropout.dropout_forward`.

Shapes: x (N, C, *) -> y (same) and mask (same, x's dtype, 0 or 1/(1-p)).

The uniform draws u (float32, the shape of x) come from ``minicnn.random.generator(xp)``
exactly as in the twin (same stream, so the same seed gives the same mask). One fused
elementwise kernel then computes, per element,

    mask = (u >= p) ? 1/(1-p) : 0        y = x * mask

where the array code makes three passes (compare, cast and scale, multiply) and two
temporaries. ``p`` is compared in float32, as NumPy compares a float32 array with a Python
float, and 1/(1-p) is rounded to x's dtype first: the result equals the twin bit for bit.

Thread mapping: one thread per element (grid-stride loop), fully coalesced; no atomics are
needed because every thread writes only its own element.

``channelwise`` (dropout2d: one draw per (n, c), a tiny mask) and ``p >= 1`` (all dropped,
no draw) are handed to the array code.

Cost: per element one float32 read (u), one read (x) and two writes (y, mask).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import backend, random
from .. import dropout as twin
from .launch import Kernel, array_code, check_float_dtype

SOURCE = r"""
// one thread per element: keep (u >= p) with the inverted-dropout scale, in one pass
extern "C" __global__ void dropout_forward_kernel(
    const float* __restrict__ u, const T* __restrict__ x, T* __restrict__ y, T* __restrict__ mask,
    float p, T scale, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const T keep = u[idx] >= p ? scale : (T)0;
        mask[idx] = keep;
        y[idx] = x[idx] * keep;
    }
}
"""

KERNEL = Kernel(SOURCE)


def dropout_forward(x: Any, p: float, channelwise: bool = False) -> tuple[Any, Any]:
    """(y, mask) with mask of x's shape (0 or 1/(1-p), x's dtype). One launch, one thread per
    element: reads u and x, writes y and the mask."""
    if channelwise or p >= 1.0:
        return array_code(twin.dropout_forward, x, p, channelwise)
    xp = backend.get_array_module(x)
    dtype = check_float_dtype("dropout", x)
    u = random.generator(xp).random(tuple(x.shape), dtype=np.float32)
    y = xp.empty(x.shape, dtype=dtype)
    mask = xp.empty(x.shape, dtype=dtype)
    KERNEL.run("dropout_forward_kernel", y.size, u, xp.ascontiguousarray(x), y, mask, p, 1.0 / (1.0 - p), y.size)
    return y, mask
