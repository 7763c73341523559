"""CUDA softmax cross-entropy, twin of :mod:`minicnn.kernels.cross_entropy` (formulas there).

Shapes: x (N, C, d...) logits viewed as (N, C, inner) with inner = d1*d2*... (1 for (N, C)),
so no transposed copy is made for per-pixel losses; target (N, d...) int64, int32 or uint8;
weight (C,) or None. Rows r = n*inner + i, as ``target.reshape(-1)``.

Thread mapping:

* ``cross_entropy_forward_kernel``: one thread per row. It walks the row's C logits
  (stride ``inner``) twice: the maximum m, then sum exp(x_c - m); it writes the row's loss,
  w[t], lse and kept flag. A row whose class is neither ``ignore_index`` nor inside [0, C)
  is not kept and sets the one-byte flag ``bad``: every such thread writes the same value and
  no thread reads it, so the race is harmless and needs no atomic. Label smoothing adds a third
  walk over the row.
* ``cross_entropy_backward_kernel``: one thread per element of x; it recomputes
  p = exp(x - lse) and writes dx. Reads are coalesced along the fastest axis of x.

Cost: forward 2 (3 with label smoothing) reads of x and 3 values written per row, against
about twenty array passes of the twin; backward one read and one write per element, against
about eight passes. The scale of the backward pass (gy, gy/sum(wy) for 'mean', or one value
per row for 'none') is read from device memory, so no value travels to the host.

The twin makes the same float operations in the same order except for the sums over the C
classes (NumPy sums pairwise): results agree to float tolerance, not bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import backend
from .. import cross_entropy as twin
from .launch import Kernel, check_float_dtype

TARGET_DTYPES = (np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.uint8))

SOURCE = r"""
// one thread per row r = n * inner + i of x viewed as (N, C, inner)
extern "C" __global__ void cross_entropy_forward_kernel(
    const T* __restrict__ x, const I* __restrict__ target, const T* __restrict__ weight,
    T* __restrict__ loss, T* __restrict__ wy, T* __restrict__ lse, unsigned char* __restrict__ kept,
    unsigned char* __restrict__ bad, long long ignore_index, int has_weight, T one_minus_eps,
    T eps_over_c, IDX rows, IDX C, IDX inner)
{
    for (IDX r = (IDX)blockIdx.x * blockDim.x + threadIdx.x; r < rows;
         r += (IDX)blockDim.x * gridDim.x) {
        const IDX n = r / inner;
        const T* xr = x + (n * C) * inner + (r - n * inner);  // class c at xr[c * inner]
        T m = xr[0];
        for (IDX c = 1; c < C; ++c) m = fmax(m, xr[c * inner]);
        T sum = 0;
        for (IDX c = 0; c < C; ++c) sum += exp(xr[c * inner] - m);
        const T log_sum = log(sum);
        lse[r] = m + log_sum;
        const long long t = (long long)target[r];
        if (t == ignore_index || t < 0 || t >= (long long)C) {
            if (t != ignore_index) *bad = 1;  // all writers store 1: no atomic needed
            kept[r] = 0;
            wy[r] = 0;
            loss[r] = 0;
            continue;
        }
        const T w_t = has_weight ? weight[t] : (T)1;
        T l = -one_minus_eps * w_t * ((xr[t * inner] - m) - log_sum);
        if (eps_over_c != (T)0) {
            T acc = 0;
            for (IDX c = 0; c < C; ++c) acc += (has_weight ? weight[c] : (T)1) * ((xr[c * inner] - m) - log_sum);
            l = l - eps_over_c * acc;
        }
        kept[r] = 1;
        wy[r] = w_t;
        loss[r] = l;
    }
}

// one thread per element idx = (n * C + c) * inner + i of x and dx
extern "C" __global__ void cross_entropy_backward_kernel(
    const T* __restrict__ x, const I* __restrict__ target, const T* __restrict__ weight,
    const T* __restrict__ lse, const T* __restrict__ wy, const unsigned char* __restrict__ kept,
    const T* __restrict__ scale, T* __restrict__ dx, int has_weight, int scale_per_row,
    const T* __restrict__ w_sum, T one_minus_eps, T eps_over_c, IDX total, IDX C, IDX inner)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX nc = idx / inner;
        const IDX n = nc / C;
        const IDX c = nc - n * C;
        const IDX r = n * inner + (idx - nc * inner);
        if (!kept[r]) {
            dx[idx] = 0;
            continue;
        }
        const T s = scale[scale_per_row ? r : 0];
        const T p = exp(x[idx] - lse[r]);
        const T coef = one_minus_eps * wy[r] * s;
        T g = p * coef;
        if ((long long)target[r] == (long long)c) g = g - coef;
        if (eps_over_c != (T)0) g = g + eps_over_c * (*w_sum * p - (has_weight ? weight[c] : (T)1)) * s;
        dx[idx] = g;
    }
}
"""

KERNEL = Kernel(SOURCE, typedefs=("T", "I"))


def _layout(x: Any) -> tuple[int, int, int]:
    """(rows, C, inner) of logits x: (C,), (N, C) or (N, C, d...)."""
    if x.ndim == 1:
        return 1, x.shape[0], 1
    inner = int(np.prod(x.shape[2:], dtype=np.int64))
    return x.shape[0] * inner, x.shape[1], inner


def cross_entropy_forward(
    x: Any, target: Any, weight: Any = None, ignore_index: int = -100, label_smoothing: float = 0.0
) -> twin.Rows:
    """Per-row losses, as :func:`minicnn.kernels.cross_entropy.cross_entropy_forward`: x (N, C, d...)
    viewed as (N, C, inner), target (N, d...); returns the twin's ``Rows`` of (N*inner,) arrays.
    One launch, one thread per row; cost: 2 (3 with label smoothing) reads of x, 3 values written a
    row (module docstring)."""
    xp = backend.get_array_module(x)
    dtype = check_float_dtype("cross_entropy", x, weight)
    if np.dtype(target.dtype) not in TARGET_DTYPES:
        raise TypeError(
            f"cross_entropy (CUDA kernel): target dtype must be one of int64, int32, uint8, got {target.dtype}"
        )
    rows, c, inner = _layout(x)
    x = xp.ascontiguousarray(x)
    target = xp.ascontiguousarray(target)
    w = xp.ascontiguousarray(weight) if weight is not None else xp.empty(1, dtype=dtype)
    loss, wy, lse = (xp.empty(rows, dtype=dtype) for _ in range(3))
    kept = xp.empty(rows, dtype=np.uint8)
    bad = xp.zeros((), dtype=np.uint8)
    eps = float(label_smoothing)
    KERNEL.run(
        "cross_entropy_forward_kernel",
        rows,
        x,
        target,
        w,
        loss,
        wy,
        lse,
        kept,
        bad,
        int(ignore_index),
        int(weight is not None),
        1 - eps,
        eps / c,
        rows,
        c,
        inner,
    )
    return twin.Rows(loss, wy, lse, target.reshape(-1), kept, bad)


def cross_entropy_backward(
    scale: Any, x: Any, rows: twin.Rows, weight: Any = None, label_smoothing: float = 0.0
) -> Any:
    """dx shaped like x (N, C, d...), as :func:`minicnn.kernels.cross_entropy.cross_entropy_backward`;
    ``scale`` is (1,) or one value per row (N*inner,). One launch, one thread per element of x;
    cost: one read and one write of x's size."""
    xp = backend.get_array_module(x)
    dtype = check_float_dtype("cross_entropy backward", x, weight, rows.lse)
    n_rows, c, inner = _layout(x)
    x = xp.ascontiguousarray(x)
    scale = xp.ascontiguousarray(scale, dtype=dtype)
    w = xp.ascontiguousarray(weight) if weight is not None else xp.empty(1, dtype=dtype)
    kept = rows.kept if rows.kept.dtype == np.uint8 else rows.kept.astype(np.uint8)
    dx = xp.empty(x.shape, dtype=dtype)
    eps = float(label_smoothing)
    if not eps:  # the sum of the weights is not read
        w_sum = w
    elif weight is None:
        w_sum = xp.full(1, c, dtype=dtype)
    else:
        w_sum = weight.sum(keepdims=True)  # stays on the device
    KERNEL.run(
        "cross_entropy_backward_kernel",
        x.size,
        x,
        xp.ascontiguousarray(rows.target),
        w,
        rows.lse,
        rows.wy,
        xp.ascontiguousarray(kept),
        scale,
        dx,
        int(weight is not None),
        int(scale.size > 1),
        w_sum,
        1 - eps,
        eps / c,
        x.size,
        c,
        inner,
    )
    return dx
