"""CUDA max pooling with argmax routing, twin of :func:`minicnn.kernels.pool.max_pool2d_forward`
and :func:`~minicnn.kernels.pool.max_pool2d_backward`.

Shapes: x (N, C, H, W) -> y (N, C, OH, OW) and argmax (N, C, OH, OW), the kernel offset
``k = i*kw + j`` of each window's maximum (uint8 when kh*kw <= 255, else int32, like the
twin). Sizes, ``ceil_mode`` and the checks come from :func:`minicnn.kernels.pool.pool_geometry`.

Thread mapping:

* forward: one thread per output (n, c, oh, ow). It scans its window's real taps (those in
  the padding or past the input are skipped) in row-major order -- torch's order --
  starting, as torch does, from -inf with the argmax of the first real tap; a tap replaces
  the running maximum iff ``v > max || isnan(v)``. So ties go to the first maximum, the
  last NaN wins, and a window whose real pixels are all -inf points at its first real
  pixel (never into the padding), exactly as in the twin and in torch. An all-padding
  window gives -inf (the value the twin's -inf padding gives).
* backward: one thread per INPUT pixel (n, c, h, w), gathering. For each tap (i, j) it
  solves ``h + ph = oh*sh + i*dh`` (and the same for w) for the window (oh, ow) that reads
  this pixel through that tap; if that window exists and its argmax is k = i*kw + j, the
  window's gradient is this pixel's. The thread adds them in tap order and writes gx once.

Why no atomics: the scatter formulation (a thread per output adding gy into gx at its
argmax) needs ``atomicAdd`` where windows overlap (stride < kernel), which makes float sums
depend on thread timing. The gather writes each gx element once, deterministically, with
no zero fill beforehand.

Cost: forward reads kh*kw values per output (neighbouring threads read neighbouring
pixels) and writes y and one small integer per output; backward reads, per input pixel,
at most kh*kw argmax values and their gy, and writes gx once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import backend
from .. import pool as twin
from .launch import Kernel, check_float_dtype

SOURCE = r"""
// one thread per output (n, c, oh, ow): scan the window, keep the maximum and its tap number
extern "C" __global__ void max_pool2d_forward_kernel(
    const T* __restrict__ x, T* __restrict__ y, I* __restrict__ argmax,
    IDX H, IDX W, IDX OH, IDX OW,
    IDX kh, IDX kw, IDX sh, IDX sw, IDX ph, IDX pw,
    IDX dh, IDX dw, IDX total)
{
    const T neg_inf = -__int_as_float(0x7f800000);
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX ow = idx % OW;
        const IDX oh = (idx / OW) % OH;
        const T* plane = x + (idx / (OW * OH)) * H * W;
        const IDX h0 = oh * sh - ph, w0 = ow * sw - pw;
        // the first real (unpadded) tap, where torch's scan starts (kept inside the kernel
        // for a window with no real pixel, whose index is meaningless)
        IDX i0 = h0 < 0 ? (-h0 + dh - 1) / dh : 0, j0 = w0 < 0 ? (-w0 + dw - 1) / dw : 0;
        if (i0 > kh - 1) i0 = kh - 1;
        if (j0 > kw - 1) j0 = kw - 1;
        T best = neg_inf;
        IDX best_k = i0 * kw + j0;
        for (IDX i = i0; i < kh; ++i) {
            const IDX h = h0 + i * dh;
            if (h >= H) break;
            if (h < 0) continue;  // only where i0 was clamped: no real row
            for (IDX j = j0; j < kw; ++j) {
                const IDX w = w0 + j * dw;
                if (w >= W) break;
                if (w < 0) continue;
                const T v = plane[h * W + w];
                if (v > best || isnan(v)) {  // torch's rule: first maximum, last NaN
                    best = v;
                    best_k = i * kw + j;
                }
            }
        }
        y[idx] = best;
        argmax[idx] = (I)best_k;
    }
}

// one thread per input pixel (n, c, h, w): gather gy of every window whose maximum is this pixel
extern "C" __global__ void max_pool2d_backward_kernel(
    const T* __restrict__ gy, const I* __restrict__ argmax, T* __restrict__ gx,
    IDX H, IDX W, IDX OH, IDX OW,
    IDX kh, IDX kw, IDX sh, IDX sw, IDX ph, IDX pw,
    IDX dh, IDX dw, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX w = idx % W;
        const IDX h = (idx / W) % H;
        const IDX plane = (idx / (W * H)) * OH * OW;
        T acc = 0;
        for (IDX i = 0; i < kh; ++i) {
            const IDX hs = h + ph - i * dh;             // = oh * sh for the window using tap i here
            if (hs < 0 || hs % sh != 0 || hs / sh >= OH) continue;
            for (IDX j = 0; j < kw; ++j) {
                const IDX ws = w + pw - j * dw;
                if (ws < 0 || ws % sw != 0 || ws / sw >= OW) continue;
                const IDX o = plane + (hs / sh) * OW + ws / sw;
                if ((IDX)argmax[o] == i * kw + j) acc += gy[o];
            }
        }
        gx[idx] = acc;
    }
}
"""

KERNEL = Kernel(SOURCE, typedefs=("T", "I"))


def _settings(x_shape: tuple[int, ...], g: twin.PoolGeometry) -> tuple[int, ...]:
    H, W = x_shape[-2:]
    return (H, W, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw)


def max_pool2d_forward(
    x: Any,
    kernel_size: twin.IntPair,
    stride: twin.IntPair | None = None,
    padding: twin.IntPair = 0,
    dilation: twin.IntPair = 1,
    ceil_mode: bool = False,
    with_argmax: bool = False,
) -> tuple[Any, Any]:
    """y (N, C, OH, OW) and, if ``with_argmax``, the kernel offset of each maximum (else None).
    One launch, one thread per output scanning its kh*kw taps; writes y and one small integer each."""
    xp = backend.get_array_module(x)
    check_float_dtype("max_pool2d", x)
    g = twin.pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    out_shape = tuple(x.shape[:-2]) + (g.oh, g.ow)
    y = xp.empty(out_shape, dtype=x.dtype)
    # the argmax is written in any case (one small integer per output); it is returned on request
    argmax = xp.empty(out_shape, dtype=np.uint8 if g.kh * g.kw <= 255 else np.int32)
    total = y.size
    KERNEL.run("max_pool2d_forward_kernel", total, xp.ascontiguousarray(x), y, argmax, *_settings(x.shape, g), total)
    return y, (argmax if with_argmax else None)


def max_pool2d_backward(
    gy: Any,
    argmax: Any,
    x_shape: tuple[int, ...],
    kernel_size: twin.IntPair,
    stride: twin.IntPair | None = None,
    padding: twin.IntPair = 0,
    dilation: twin.IntPair = 1,
    ceil_mode: bool = False,
) -> Any:
    """gx (x_shape): each input pixel gathers the gradients of the windows whose maximum it is.
    One launch, one thread per input pixel reading at most kh*kw argmax values and gy; gx written once."""
    xp = backend.get_array_module(gy)
    check_float_dtype("max_pool2d backward", gy)
    x_shape = tuple(int(s) for s in x_shape)
    g = twin.pool_geometry(x_shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    out_shape = x_shape[:-2] + (g.oh, g.ow)
    if tuple(gy.shape) != out_shape or tuple(argmax.shape) != out_shape:
        raise ValueError(
            f"max_pool2d backward: gy and argmax must have shape {out_shape} for an input of shape {x_shape}, "
            f"got {tuple(gy.shape)} and {tuple(argmax.shape)}"
        )
    gx = xp.empty(x_shape, dtype=gy.dtype)
    total = gx.size
    KERNEL.run(
        "max_pool2d_backward_kernel",
        total,
        xp.ascontiguousarray(gy),
        xp.ascontiguousarray(argmax),
        gx,
        *_settings(x_shape, g),
        total,
    )
    return gx
