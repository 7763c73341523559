"""CUDA depthwise convolution (groups == C_in), twin of :func:`minicnn.kernels.depthwise.conv2d_depthwise`
and :func:`~minicnn.kernels.depthwise.conv2d_depthwise_backward`.

Shapes: x (N, C, H, W), weight (C*m, 1, kh, kw) with channel multiplier m, bias (C*m,) or
None -> y (N, C*m, OH, OW); output channel co reads input channel ``co // m``. Sizes and
checks: :func:`minicnn.kernels.conv_shapes.geometry` (asymmetric padding, "same", "valid").

Thread mapping:

* forward: one thread per output (n, co, oh, ow): kh*kw multiply-adds over its window
  (taps in the padding are skipped), plus the bias.
* dx: one thread per input pixel (n, c, h, w), gathering. For each tap (i, j) it solves
  ``h + top = oh*sh + i*dh`` (and the same for w) for the output (oh, ow) that reads this
  pixel through the tap, and adds ``gy[n, co, oh, ow] * w[co, i, j]`` over the m output
  channels co of channel c. One write per pixel, no zero fill.
* dw: a deterministic two-stage reduction. Stage 1 is a kernel with one thread per
  (n, co, tap, band): it loops over the outputs of one band of output rows and writes the
  partial sum ``sum_{oh in band, ow} gy[n, co, oh, ow] * x[n, co // m, oh*sh - top + i*dh,
  ow*sw - left + j*dw]`` into an (N, C*m, kh*kw, bands) buffer; stage 2 sums the partials
  over images and bands with array code. The bands (up to OH, one row each) are as many as
  it takes to reach about ``DW_THREADS`` threads: N*C*m*kh*kw alone (37k for MobileNet's
  first depthwise layer at batch 32) would leave most of a large GPU idle.
* db: ``gy.sum(axis=(0, 2, 3))`` in array code (CuPy's reduction is fast).

Why no atomics: the scatter form of dx (a thread per output adding into the input pixels of
its window) and the one-stage dw (all threads adding into kh*kw weights) need
``atomicAdd``, whose float results depend on thread timing and which serialises badly on
the few dw addresses. Gathers and per-image partial sums give the same result on every run.

Cost: forward and dx each do N*C*m*OH*OW*kh*kw multiply-adds, reading x (or gy) from
cache-friendly neighbouring positions; dw does the same number in N*C*m*kh*kw*bands threads
plus an (N, C*m, kh*kw, bands) buffer.
"""

from __future__ import annotations

from typing import Any

from ... import backend
from .. import depthwise as twin
from ..conv_shapes import Geometry, geometry
from .launch import Kernel, check_float_dtype

SOURCE = r"""
// one thread per output (n, co, oh, ow): the window of input channel co / m times filter co
extern "C" __global__ void depthwise_forward_kernel(
    const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias, T* __restrict__ y,
    IDX C, IDX m, IDX H, IDX W, IDX OH, IDX OW,
    IDX kh, IDX kw, IDX sh, IDX sw, IDX pt, IDX pl,
    IDX dh, IDX dw, IDX has_bias, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX ow = idx % OW;
        const IDX oh = (idx / OW) % OH;
        const IDX co = (idx / (OW * OH)) % (C * m);
        const IDX n = idx / (OW * OH * C * m);
        const T* plane = x + (n * C + co / m) * H * W;
        const T* filter = w + co * kh * kw;
        const IDX h0 = oh * sh - pt, w0 = ow * sw - pl;
        T acc = 0;
        for (IDX i = 0; i < kh; ++i) {
            const IDX h = h0 + i * dh;
            if (h < 0 || h >= H) continue;
            for (IDX j = 0; j < kw; ++j) {
                const IDX ww = w0 + j * dw;
                if (ww < 0 || ww >= W) continue;
                acc += plane[h * W + ww] * filter[i * kw + j];
            }
        }
        if (has_bias) acc += bias[co];
        y[idx] = acc;
    }
}

// one thread per input pixel (n, c, h, w): gather gy * w over the taps and the m filters reading it
extern "C" __global__ void depthwise_dx_kernel(
    const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ dx,
    IDX C, IDX m, IDX H, IDX W, IDX OH, IDX OW,
    IDX kh, IDX kw, IDX sh, IDX sw, IDX pt, IDX pl,
    IDX dh, IDX dw, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX ww = idx % W;
        const IDX h = (idx / W) % H;
        const IDX c = (idx / (W * H)) % C;
        const IDX n = idx / (W * H * C);
        const T* grads = gy + (n * C + c) * m * OH * OW;  // output channels c*m ... c*m + m-1
        const T* filters = w + c * m * kh * kw;
        T acc = 0;
        for (IDX i = 0; i < kh; ++i) {
            const IDX hs = h + pt - i * dh;              // = oh * sh for the output using tap i here
            if (hs < 0 || hs % sh != 0 || hs / sh >= OH) continue;
            for (IDX j = 0; j < kw; ++j) {
                const IDX ws = ww + pl - j * dw;
                if (ws < 0 || ws % sw != 0 || ws / sw >= OW) continue;
                const IDX o = (hs / sh) * OW + ws / sw;
                T tap = 0;
                for (IDX k = 0; k < m; ++k) tap += grads[k * OH * OW + o] * filters[k * kh * kw + i * kw + j];
                acc += tap;
            }
        }
        dx[idx] = acc;
    }
}

// one thread per (n, co, tap, band): the share of dw[co, tap] from one image and one band of
// output rows (bands split the pixel loop so that enough threads exist to fill the GPU)
extern "C" __global__ void depthwise_dw_partial_kernel(
    const T* __restrict__ gy, const T* __restrict__ x, T* __restrict__ partial,
    IDX C, IDX m, IDX H, IDX W, IDX OH, IDX OW,
    IDX kh, IDX kw, IDX sh, IDX sw, IDX pt, IDX pl,
    IDX dh, IDX dw, IDX bands, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX band = idx % bands;
        const IDX rest = idx / bands;
        const IDX tap = rest % (kh * kw);
        const IDX i = tap / kw, j = tap % kw;
        const IDX co = (rest / (kh * kw)) % (C * m);
        const IDX n = rest / (kh * kw * C * m);
        const T* grads = gy + (n * C * m + co) * OH * OW;
        const T* plane = x + (n * C + co / m) * H * W;
        const IDX rows = (OH + bands - 1) / bands;
        const IDX oh1 = (band + 1) * rows < OH ? (band + 1) * rows : OH;
        T acc = 0;
        for (IDX oh = band * rows; oh < oh1; ++oh) {
            const IDX h = oh * sh - pt + i * dh;
            if (h < 0 || h >= H) continue;
            for (IDX ow = 0; ow < OW; ++ow) {
                const IDX ww = ow * sw - pl + j * dw;
                if (ww < 0 || ww >= W) continue;
                acc += grads[oh * OW + ow] * plane[h * W + ww];
            }
        }
        partial[idx] = acc;
    }
}
"""

KERNEL = Kernel(SOURCE)
DW_THREADS = 2**18  # dW: split the output rows into bands until about this many threads exist


def _settings(g: Geometry, m: int) -> tuple[int, ...]:
    """The geometry arguments shared by the three kernels, in parameter order."""
    (pt, _), (pl, _) = g.pads
    return (g.c, m, g.h, g.w, g.oh, g.ow, g.kh, g.kw, *g.stride, pt, pl, *g.dilation)


def _geometry(x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: int | None) -> tuple[Geometry, int]:
    g = geometry(x.shape, w.shape, stride, padding, dilation, x.shape[1] if groups is None else groups)
    return g, twin._check(g)


def conv2d_depthwise(
    x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int | None = None
) -> Any:
    """y (N, C*m, OH, OW) of a depthwise convolution; ``groups`` defaults to (and must equal) C.
    One launch, one thread per output: kh*kw multiply-adds (N*C*m*OH*OW*kh*kw in all)."""
    xp = backend.get_array_module(x)
    check_float_dtype("conv2d (depthwise)", x, w, b)
    g, m = _geometry(x, w, stride, padding, dilation, groups)
    y = xp.empty((g.n, g.o, g.oh, g.ow), dtype=x.dtype)
    w = xp.ascontiguousarray(w)
    bias = w if b is None else xp.ascontiguousarray(b)  # a placeholder pointer when there is no bias
    if bias.size < g.o:
        raise ValueError(f"conv2d (depthwise): bias of shape {tuple(b.shape)} does not fit {g.o} output channels")
    KERNEL.run(
        "depthwise_forward_kernel",
        y.size,
        xp.ascontiguousarray(x),
        w,
        bias,
        y,
        *_settings(g, m),
        int(b is not None),
        y.size,
    )
    return y


def conv2d_depthwise_backward(
    gy: Any,
    x: Any,
    w: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int | None = None,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`conv2d_depthwise` for gy (N, C*m, OH, OW); entries not asked for are
    None. dx: one thread per input pixel, gathering; dw: a two-stage per-band reduction (an
    (N, C*m, kh*kw, bands) buffer); each does the forward's N*C*m*OH*OW*kh*kw multiply-adds."""
    xp = backend.get_array_module(gy)
    check_float_dtype("conv2d (depthwise) backward", gy, x, w)
    g, m = _geometry(x, w, stride, padding, dilation, groups)
    if tuple(gy.shape) != (g.n, g.o, g.oh, g.ow):
        raise ValueError(
            f"conv2d (depthwise) backward: gy must have shape {(g.n, g.o, g.oh, g.ow)}, got {tuple(gy.shape)}"
        )
    gb = gy.sum(axis=(0, 2, 3)) if need_db else None
    gy = xp.ascontiguousarray(gy)
    dx = dw = None
    if need_dx:
        dx = xp.empty(x.shape, dtype=gy.dtype)
        KERNEL.run("depthwise_dx_kernel", dx.size, gy, xp.ascontiguousarray(w), dx, *_settings(g, m), dx.size)
    if need_dw:
        taps = g.n * g.o * g.kh * g.kw
        bands = max(1, min(g.oh, -(-DW_THREADS // max(taps, 1))))
        partial = xp.empty((g.n, g.o, g.kh * g.kw, bands), dtype=gy.dtype)
        KERNEL.run(
            "depthwise_dw_partial_kernel",
            partial.size,
            gy,
            xp.ascontiguousarray(x),
            partial,
            *_settings(g, m),
            bands,
            partial.size,
        )
        dw = partial.sum(axis=(0, 3)).reshape(w.shape)
    return dx, dw, gb
