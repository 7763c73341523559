"""CUDA im2col and col2im (image-major layout), twins of :mod:`minicnn.kernels.im2col`.

Shapes: x (N, C, H, W); kernel (kh, kw); cols (N, C*kh*kw, OH*OW), row ``(c*kh + i)*kw + j``
holding tap (i, j) of channel c for every output pixel ``oh*OW + ow``. Padding may be
asymmetric, ((top, bottom), (left, right)); sizes come from
:func:`minicnn.kernels.conv_shapes.geometry`.

Thread mapping:

* ``im2col``: one thread per (n, c, oh, ow) -- Caffe's mapping. The thread computes where
  its window starts in x, ``(oh*sh - top, ow*sw - left)``, and loops over the kh*kw taps,
  writing ``cols[n, (c*kh + i)*kw + j, oh*OW + ow] = x[n, c, h, w]`` (0 outside x). Threads
  next to each other (neighbouring ow) read neighbouring x and write neighbouring cols, so
  both sides coalesce.
* ``col2im``: one thread per input pixel (n, c, h, w), GATHERING: for each tap (i, j) it
  solves ``h + top = oh*sh + i*dh`` (and the same for w) for a window (oh, ow); when that
  window exists, its column value for (i, j) belongs to the pixel. The thread sums them in
  tap order and writes the pixel once.

Why no atomics: the scatter formulation of col2im (a thread per column entry, adding into
x) needs ``atomicAdd`` because windows overlap; its result then depends on the order in
which threads happen to add (not reproducible in float), and double atomicAdd is slow on
older GPUs. Gathering writes every output exactly once, so no output needs zeroing first.

Cost: im2col reads each x value up to kh*kw times (from cache) and writes the N*C*kh*kw*OH*OW
column entries once; col2im reads each column entry once and writes the N*C*H*W pixels once,
with kh*kw index tests per pixel.

``batch_last=True`` and ``out`` buffers of another dtype (or not contiguous) are handed to
the array code, which defines their semantics.
"""

from __future__ import annotations

from typing import Any

from ... import backend
from .. import im2col as twin
from .launch import Kernel, array_code, check_float_dtype

SOURCE = r"""
// one thread per (n, c, oh, ow): copy the kh*kw taps of its window into the column matrix
extern "C" __global__ void im2col_kernel(
    const T* __restrict__ x, T* __restrict__ cols,
    IDX H, IDX W, IDX OH, IDX OW,
    IDX kh, IDX kw, IDX sh, IDX sw, IDX pt, IDX pl,
    IDX dh, IDX dw, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX ow = idx % OW;
        const IDX oh = (idx / OW) % OH;
        const IDX nc = idx / (OW * OH);              // n*C + c: the (image, channel) plane
        const IDX h0 = oh * sh - pt, w0 = ow * sw - pl;
        const T* plane = x + nc * H * W;
        T* out = cols + nc * kh * kw * OH * OW + oh * OW + ow;  // row (c*kh + 0)*kw + 0
        for (IDX i = 0; i < kh; ++i) {
            const IDX h = h0 + i * dh;
            for (IDX j = 0; j < kw; ++j) {
                const IDX w = w0 + j * dw;
                out[(i * kw + j) * OH * OW] = (h >= 0 && h < H && w >= 0 && w < W) ? plane[h * W + w] : (T)0;
            }
        }
    }
}

// one thread per input pixel (n, c, h, w): gather the column entries of every window tap on it
extern "C" __global__ void col2im_kernel(
    const T* __restrict__ cols, T* __restrict__ x,
    IDX H, IDX W, IDX OH, IDX OW,
    IDX kh, IDX kw, IDX sh, IDX sw, IDX pt, IDX pl,
    IDX dh, IDX dw, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX w = idx % W;
        const IDX h = (idx / W) % H;
        const IDX nc = idx / (W * H);
        const T* rows = cols + nc * kh * kw * OH * OW;
        T acc = 0;
        for (IDX i = 0; i < kh; ++i) {
            const IDX hs = h + pt - i * dh;             // = oh * sh for the window using tap i here
            if (hs < 0 || hs % sh != 0 || hs / sh >= OH) continue;
            const IDX oh = hs / sh;
            for (IDX j = 0; j < kw; ++j) {
                const IDX ws = w + pl - j * dw;
                if (ws < 0 || ws % sw != 0 || ws / sw >= OW) continue;
                acc += rows[(i * kw + j) * OH * OW + oh * OW + ws / sw];
            }
        }
        x[idx] = acc;
    }
}
"""

KERNEL = Kernel(SOURCE)


def _settings(g: Any) -> tuple[int, ...]:
    """The geometry arguments shared by both kernels, in parameter order."""
    (pt, _), (pl, _) = g.pads
    return (g.h, g.w, g.oh, g.ow, g.kh, g.kw, *g.stride, pt, pl, *g.dilation)


def im2col(
    x: Any,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    *,
    batch_last: bool = False,
    out: Any = None,
) -> Any:
    """:func:`minicnn.kernels.im2col.im2col` as a kernel: (N, C, H, W) -> (N, C*kh*kw, OH*OW),
    written into the first elements of ``out`` when given. One launch, one thread per (n, c, oh, ow)
    looping over the kh*kw taps: each column entry is written once."""
    if batch_last or (out is not None and (out.dtype != x.dtype or not out.flags.c_contiguous)):
        return array_code(twin.im2col, x, kernel_size, stride, padding, dilation, batch_last=batch_last, out=out)
    xp = backend.get_array_module(x)
    check_float_dtype("im2col", x)
    g = twin._geometry(x.shape, kernel_size, stride, padding, dilation)
    shape = (g.n, g.c * g.kh * g.kw, g.oh * g.ow)
    size = g.n * g.c * g.kh * g.kw * g.oh * g.ow
    if out is None:
        cols = xp.empty(shape, dtype=x.dtype)
    else:
        cols = out.reshape(-1)[:size].reshape(shape)  # a view: out is contiguous
    x = xp.ascontiguousarray(x)
    KERNEL.run("im2col_kernel", g.n * g.c * g.oh * g.ow, x, cols, *_settings(g), g.n * g.c * g.oh * g.ow)
    return cols


def col2im(
    cols: Any,
    x_shape: tuple[int, int, int, int],
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    *,
    batch_last: bool = False,
    out: Any = None,
) -> Any:
    """:func:`minicnn.kernels.im2col.col2im` as a kernel: (N, C*kh*kw, OH*OW) -> x_shape,
    written into ``out`` (C-contiguous) when given. One launch, one thread per input pixel gathering
    its <= kh*kw column entries: each entry read once, each pixel written once, no atomics."""
    x_shape = tuple(int(s) for s in x_shape)
    if batch_last or (out is not None and (out.dtype != cols.dtype or out.shape != x_shape)):
        return array_code(
            twin.col2im, cols, x_shape, kernel_size, stride, padding, dilation, batch_last=batch_last, out=out
        )
    xp = backend.get_array_module(cols)
    check_float_dtype("col2im", cols)
    g = twin._geometry(x_shape, kernel_size, stride, padding, dilation)
    expected = g.n * g.c * g.kh * g.kw * g.oh * g.ow
    if cols.size != expected:
        raise ValueError(
            f"col2im: cols of shape {tuple(cols.shape)} do not fit x_shape {x_shape}: expected "
            f"{(g.n, g.c * g.kh * g.kw, g.oh * g.ow)} ({expected} elements)"
        )
    if out is None:
        out = xp.empty(x_shape, dtype=cols.dtype)
    elif not out.flags.c_contiguous:
        raise ValueError("col2im: out must be C-contiguous")
    total = g.n * g.c * g.h * g.w
    KERNEL.run("col2im_kernel", total, xp.ascontiguousarray(cols), out, *_settings(g), total)
    return out
