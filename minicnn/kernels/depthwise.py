"""Depthwise convolution (groups == C): every channel is filtered on its own.

Shapes: x (N, C, H, W), weight (C*m, 1, kh, kw) with channel multiplier m (usually 1),
bias (C*m,) -> y (N, C*m, OH, OW); output channel c*m + k is input channel c filtered by
weight[c*m + k]. OH and OW as for any convolution (see :mod:`minicnn.kernels.conv_shapes`).

Each output sums only kh*kw products, so an im2col GEMM would have an inner dimension of
kh*kw (9): too short for BLAS, and its column matrix would be kh*kw times the input. This
kernel never builds columns. It loops over the kernel taps (i, j) and, for all images,
channels and pixels at once::

    forward   y          += x_ij * w[:, i, j]                 (per channel)
    dW        dw[:, i, j] = sum over images and pixels of gy * x_ij
    dX        dx_ij      += gy * w[:, i, j]

where ``x_ij`` is the part of the padded input that tap (i, j) multiplies -- one input pixel
per output pixel, a shifted (and, for stride > 1, strided) slice. Cost: N*C*m*OH*OW*kh*kw
multiply-adds each way, 1/(C/groups) of a dense convolution's. Extra memory: cache-sized
scratch blocks only.

Two tricks make the NumPy loops fast:

* Cache blocking: images x channels form one stack of 2-d planes, processed in blocks of
  about ``BLOCK_BYTES`` (:func:`minicnn.kernels.im2col.plane_blocks`). A block is padded into
  a small reused buffer and all kh*kw taps pass over it while it sits in the CPU cache (a
  loop over memory blocks, not over images or pixels; a GPU gets one block).
* Flat planes (stride 1): NumPy pays per row, and a 56-wide row is short. Stored as one long
  row of Hp*Wp values, a padded plane turns every tap into ONE contiguous run: output
  (oh, ow) sits at flat position oh*Wp + ow, and tap (i, j) reads the run that starts at
  i*dilation_h*Wp + j*dilation_w. The price: each output row is computed Wp wide, and its
  last Wp-OW values (which wrap around into the next row) are garbage and dropped -- about
  (kw-1)/OW extra work. In backward the garbage columns of gy are set to zero, so they add
  nothing.

Small maps: the channels-last path
----------------------------------

Both tricks pay per plane: on an 8x8 or 4x4 map a plane is a few dozen values, and NumPy's
per-row and per-plane overhead, not arithmetic, is the cost (MobileNet v2, batch 4, 128x128:
its 17 depthwise layers took 65 ms of a 158 ms training step, 2.8x torch's 22 ms). For small
outputs the kernel therefore moves the channels to the last axis instead
(:func:`_conv2d_channels_last`, :func:`_backward_channels_last`): x is copied once into a
zero-padded (N, Hp, Wp, C) buffer, gy into (N, OH, OW, C*m), and the same three tap loops run
with one channel per element of the innermost axis, so every NumPy inner loop is C long
(96..960 in MobileNet) whatever the map size::

    forward   y[n, oh, ow, c, k]  += xpad[n, tap, c] * w[c, k]        (tap = shifted pixels)
    dW        dw[c, k, tap]        = sum over n, oh, ow of xpad[n, tap, c] * gy[n, oh, ow, c, k]
    dX        dxpad[n, tap, c]    += sum over k of gy[n, oh, ow, c, k] * w[c, k]

Same multiply-adds; extra cost: the transposing copies of x, gy and the result (one pass
each), and memory: a padded channels-last copy of x (or dx) and one output-sized scratch.
It has no cache blocking, so it is only taken while the input fits in L2.

Which path (:func:`uses_channels_last`): channels-last when the output has at most
``SMALL_OUTPUT_PIXELS`` = 64 pixels per plane (8x8), there are at least ``MIN_CHANNELS`` = 64
input channels and the input is at most ``SMALL_INPUT_BYTES`` = 1 MiB; the plane path
otherwise. Measured (1 thread, float32, ms forward / dX / dW, plane -> channels-last; torch):

    (4, 960, 4, 4)    s1   0.80 / 1.03 / 0.49  ->  0.32 / 0.31 / 0.32    torch 0.19 / 0.23 / 0.16
    (4, 576, 8, 8)    s2   0.89 / 0.96 / 0.68  ->  0.29 / 0.34 / 0.31    torch 0.20 / 0.25 / 0.17
    (4, 384, 8, 8)    s1   0.76 / 0.98 / 0.41  ->  0.47 / 0.43 / 0.50    torch 0.20 / 0.23 / 0.17
    (4, 192, 16, 16)  s2   0.77 / 0.82 / 0.56  ->  0.43 / 0.49 / 0.46    torch 0.25 / 0.28 / 0.18
    (4, 192, 16, 16)  s1   1.12 / 1.40 / 0.57  ->  1.08 / 0.93 / 1.17    (256 pixels: plane path)
    (4, 144, 32, 32)  s2   1.66 / 1.91 / 1.22  ->  2.56 / 1.63 / 2.63    (256 pixels: plane path)
    (32, 256, 16, 16) s1   fwd+bwd 30 -> 63 (8 MiB input: plane path, cache blocking wins)
    (4, 32, 16, 16)   s1   fwd+bwd 0.56 -> 0.71 (few channels: short inner loops, plane path)

MobileNet v2's 17 depthwise layers (batch 4, 128x128, forward + dX + dW): 67 -> 54 ms (torch 22-25);
the training step 1.77x -> 1.70x torch. The (32, 128, 56, 56) benchmark case keeps the plane path (0.5x torch).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from . import cuda
from .conv_shapes import Geometry, geometry
from .im2col import plane_blocks

SMALL_OUTPUT_PIXELS = 64  # OH*OW at most this (8x8) ...
MIN_CHANNELS = 64  # ... at least this many input channels ...
SMALL_INPUT_BYTES = 1 << 20  # ... and an input that fits in L2: the channels-last path (measured)


class _Planes:
    """How a block of padded planes is stored and where each kernel tap reads it."""

    def __init__(self, g: Geometry, m: int) -> None:
        self.g, self.m = g, m
        self.hp, self.wp = g.h + sum(g.pads[0]), g.w + sum(g.pads[1])
        self.flat = g.stride == (1, 1)
        (dh, dw) = g.dilation
        if self.flat:
            # one extra zero row: the runs of the last taps reach (kw-1)*dw < Wp values past the end
            self.grid = (self.hp + 1, self.wp)
            self.out = (g.oh * self.wp,)
            n = g.oh * self.wp
            starts = [i * dh * self.wp + j * dw for i in range(g.kh) for j in range(g.kw)]
            self.taps = [(slice(s, s + n),) for s in starts]
            self.pix = "q"  # einsum letters of the pixel axes
        else:
            self.grid = (self.hp, self.wp)
            self.out = (g.oh, g.ow)
            self.taps = [g.offset(i, j) for i in range(g.kh) for j in range(g.kw)]
            self.pix = "hw"

    def buffer(self, xp: Any, planes: int, dtype: Any) -> Any:
        """A zeroed (planes, 1, *grid) buffer; ``fill`` later writes only the interior."""
        return xp.zeros((planes, 1, *self.grid), dtype=dtype)

    def fill(self, buf: Any, x_block: Any) -> Any:
        """Copy x planes (b, H, W) into the interior of ``buf``; return the tap-able view
        (b, 1, Hp*Wp') for flat planes, (b, 1, Hp, Wp) otherwise."""
        b = x_block.shape[0]
        rows, cols = self.g.crop()
        buf[:b, 0, rows, cols] = x_block
        return buf[:b].reshape(b, 1, -1) if self.flat else buf[:b]

    def valid(self, out_block: Any) -> Any:
        """(b, m, *out) -> the (b, m, OH, OW) view without the garbage columns."""
        if not self.flat:
            return out_block
        return out_block.reshape(out_block.shape[0], self.m, self.g.oh, self.wp)[..., : self.g.ow]

    def per_plane(self, v: Any) -> Any:
        """A (b, m) array of per-plane values (a tap's weights, the bias) shaped to broadcast
        against a block's outputs: (b, m, 1[, 1])."""
        return v.reshape(v.shape[0], self.m, *(1,) * len(self.out))


def _check(g: Geometry) -> int:
    """The channel multiplier m = O / C, after checking that this is a depthwise conv."""
    if g.groups != g.c or g.o % g.c:
        raise ValueError(
            f"conv2d (depthwise): needs groups == input channels and output channels a multiple "
            f"of them, got groups={g.groups}, {g.c} input and {g.o} output channels"
        )
    return g.o // g.c


def _per_plane(v: Any, g: Geometry, m: int) -> Any:
    """Per-channel values (weights (C*m, 1, kh, kw) or bias (C*m,)) repeated for every plane of
    the (N*C) stack: (N*C, m, rest) (small: no pixels)."""
    xp = backend.get_array_module(v)
    per_channel = v.reshape(1, g.c, m, v.size // (g.c * m))  # sizes spelled out: N may be 0
    return xp.ascontiguousarray(xp.broadcast_to(per_channel, (g.n, *per_channel.shape[1:]))).reshape(
        g.n * g.c, *per_channel.shape[2:]
    )


def uses_channels_last(
    x_shape: tuple, w_shape: tuple, stride: Any = 1, padding: Any = 0, dilation: Any = 1, itemsize: int = 4
) -> bool:
    """Whether :func:`conv2d_depthwise` (and its backward) take the channels-last path for an
    input of ``x_shape`` (N, C, H, W) and a weight of ``w_shape``: small output planes, many
    channels, an input that fits in L2 (see the module docstring)."""
    g = geometry(x_shape, w_shape, stride, padding, dilation, x_shape[1])
    return _small(g, itemsize)


def _small(g: Geometry, itemsize: int) -> bool:
    return (
        g.oh * g.ow <= SMALL_OUTPUT_PIXELS
        and g.c >= MIN_CHANNELS
        and g.n * g.c * g.h * g.w * itemsize <= SMALL_INPUT_BYTES
    )


def _padded_channels_last(x: Any, g: Geometry) -> Any:
    """x (N, C, H, W) -> zero-padded (N, Hp, Wp, C): one transposing copy."""
    xp = backend.get_array_module(x)
    hp, wp = g.h + sum(g.pads[0]), g.w + sum(g.pads[1])
    out = xp.zeros((g.n, hp, wp, g.c), dtype=x.dtype)
    rows, cols = g.crop()
    out[:, rows, cols, :] = x.transpose(0, 2, 3, 1)
    return out


def _taps_channels_last(w: Any, g: Geometry, m: int) -> Any:
    """Weights (C*m, 1, kh, kw) -> (kh*kw, C, m): one (C, m) slice per tap."""
    xp = backend.get_array_module(w)
    return xp.ascontiguousarray(w.reshape(g.c, m, g.kh * g.kw).transpose(2, 0, 1))


def _conv2d_channels_last(x: Any, w: Any, b: Any, g: Geometry, m: int) -> Any:
    """The forward with channels on the last axis; y (N, C*m, OH, OW)."""
    xp = backend.get_array_module(x)
    xpad = _padded_channels_last(x, g)[..., None]  # (N, Hp, Wp, C, 1)
    wk = _taps_channels_last(w, g, m)
    acc = xp.empty((g.n, g.oh, g.ow, g.c, m), dtype=x.dtype)
    tmp = xp.empty_like(acc)
    for k in range(g.kh * g.kw):
        rows, cols = g.offset(*divmod(k, g.kw))
        if k == 0:
            xp.multiply(xpad[:, rows, cols], wk[k], out=acc)
        else:
            xp.multiply(xpad[:, rows, cols], wk[k], out=tmp)
            acc += tmp
    acc = acc.reshape(g.n, g.oh, g.ow, g.o)
    if b is not None:
        acc += b
    return xp.ascontiguousarray(acc.transpose(0, 3, 1, 2))


def _backward_channels_last(
    gy: Any, x: Any, w: Any, g: Geometry, m: int, need_dx: bool, need_dw: bool
) -> tuple[Any, Any]:
    """(dx, dw) with channels on the last axis; None where not asked for."""
    xp = backend.get_array_module(gy)
    gyt = xp.ascontiguousarray(gy.transpose(0, 2, 3, 1)).reshape(g.n, g.oh, g.ow, g.c, m)
    tmp = xp.empty_like(gyt)
    dx = dw = None
    if need_dw:
        xpad = _padded_channels_last(x, g)[..., None]
        dwk = xp.empty((g.kh * g.kw, g.o), dtype=gy.dtype)
        for k in range(g.kh * g.kw):
            rows, cols = g.offset(*divmod(k, g.kw))
            xp.multiply(xpad[:, rows, cols], gyt, out=tmp)
            dwk[k] = tmp.reshape(-1, g.o).sum(axis=0)
        dw = xp.ascontiguousarray(dwk.T).reshape(w.shape)
    if need_dx:
        wk = _taps_channels_last(w, g, m)
        dxpad = xp.zeros((g.n, g.h + sum(g.pads[0]), g.w + sum(g.pads[1]), g.c), dtype=gy.dtype)
        for k in range(g.kh * g.kw):
            rows, cols = g.offset(*divmod(k, g.kw))
            target = dxpad[:, rows, cols]  # a view: += adds in place
            if m == 1:
                xp.multiply(gyt, wk[k], out=tmp)
                target += tmp[..., 0]
            else:  # sum the m output channels that read this input channel
                target += xp.einsum("nhwcm,cm->nhwc", gyt, wk[k])
        rows, cols = g.crop()
        dx = xp.ascontiguousarray(dxpad[:, rows, cols].transpose(0, 3, 1, 2))
    return dx, dw


def conv2d_depthwise(
    x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int | None = None
) -> Any:
    """Depthwise convolution forward: a sum over kernel taps of shifted slices times
    per-channel weights, on planes or (small maps, :func:`uses_channels_last`) channels-last.
    ``groups`` defaults to (and must equal) the number of channels."""
    if cuda.enabled_for(x, w, b):
        return cuda.depthwise.conv2d_depthwise(x, w, b, stride, padding, dilation, groups)
    xp = backend.get_array_module(x)
    g = geometry(x.shape, w.shape, stride, padding, dilation, x.shape[1] if groups is None else groups)
    m = _check(g)
    if _small(g, x.itemsize):
        return _conv2d_channels_last(x, w, b, g, m)
    lay = _Planes(g, m)
    planes = g.n * g.c
    xs = x.reshape(planes, g.h, g.w)
    wp = _per_plane(w, g, m)
    bp = None if b is None else _per_plane(b, g, m)[:, :, 0]
    y = xp.empty((planes, m, g.oh, g.ow), dtype=x.dtype)
    plane_bytes = (lay.hp * lay.wp + 2 * m * g.oh * lay.wp) * x.itemsize
    pad = acc = tmp = None
    for p0, p1 in plane_blocks(xp, planes, plane_bytes):
        if pad is None:  # scratch for the first (largest) block, reused by the others
            pad = lay.buffer(xp, p1 - p0, x.dtype)
            acc = xp.empty((p1 - p0, m, *lay.out), dtype=x.dtype)
            tmp = xp.empty_like(acc)
        xb = lay.fill(pad, xs[p0:p1])
        a, t, wb = acc[: p1 - p0], tmp[: p1 - p0], wp[p0:p1]
        for k, tap in enumerate(lay.taps):
            if k == 0:
                xp.multiply(xb[(..., *tap)], lay.per_plane(wb[:, :, k]), out=a)
            else:
                xp.multiply(xb[(..., *tap)], lay.per_plane(wb[:, :, k]), out=t)
                a += t
        if bp is not None:
            a += lay.per_plane(bp[p0:p1])  # while the block is in the cache
        y[p0:p1] = lay.valid(a)
    return y.reshape(g.n, g.o, g.oh, g.ow)


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
    """(dx, dw, db) of :func:`conv2d_depthwise`; entries not asked for are None. Small maps
    take the channels-last path (:func:`uses_channels_last`), as in the forward.

    Per block of planes and per tap: dW sums gy * x_ij over pixels (one ``einsum``; the
    images are summed at the end), dX adds gy * w_ij onto the tap's slice of a zeroed padded
    block, which is then cropped into dx.
    """
    if cuda.enabled_for(gy, x, w):
        return cuda.depthwise.conv2d_depthwise_backward(
            gy, x, w, stride, padding, dilation, groups, need_dx, need_dw, need_db
        )
    xp = backend.get_array_module(gy)
    g = geometry(x.shape, w.shape, stride, padding, dilation, x.shape[1] if groups is None else groups)
    m = _check(g)
    gb = gy.sum(axis=(0, 2, 3)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    if _small(g, gy.itemsize):
        return (*_backward_channels_last(gy, x, w, g, m, need_dx, need_dw), gb)
    lay = _Planes(g, m)
    planes = g.n * g.c
    gys = gy.reshape(planes, m, g.oh, g.ow)
    xs = x.reshape(planes, g.h, g.w)
    wp = _per_plane(w, g, m) if need_dx else None
    dw_planes = xp.empty((planes, m, g.kh * g.kw), dtype=gy.dtype) if need_dw else None
    dx = xp.empty((planes, g.h, g.w), dtype=gy.dtype) if need_dx else None
    plane_bytes = (2 * lay.hp * lay.wp + 2 * m * g.oh * lay.wp) * gy.itemsize
    first = True
    for p0, p1 in plane_blocks(xp, planes, plane_bytes):
        n = p1 - p0
        if first:  # scratch for the first (largest) block, reused by the others
            first = False
            gwide = xp.zeros((n, m, g.oh, lay.wp), dtype=gy.dtype) if lay.flat else None  # zero garbage columns
            xpad = lay.buffer(xp, n, gy.dtype) if need_dw else None
            dxpad = lay.buffer(xp, n, gy.dtype) if need_dx else None
            tmp = xp.empty((n, 1, *lay.out), dtype=gy.dtype) if need_dx else None
        if lay.flat:
            gwide[:n, :, :, : g.ow] = gys[p0:p1]
            gyb = gwide[:n].reshape(n, m, -1)
        else:
            gyb = gys[p0:p1]
        if need_dw:
            xb = lay.fill(xpad, xs[p0:p1])[:, 0]
        if need_dx:
            acc = dxpad[:n].reshape(n, 1, -1) if lay.flat else dxpad[:n]
            acc[...] = 0
            t, wb = tmp[:n], wp[p0:p1]
        for k, tap in enumerate(lay.taps):
            if need_dw:
                dw_planes[p0:p1, :, k] = xp.einsum(f"pm{lay.pix},p{lay.pix}->pm", gyb, xb[(..., *tap)])
            if need_dx:
                if m == 1:
                    xp.multiply(gyb, lay.per_plane(wb[:, :, k]), out=t)
                else:  # sum the m output channels that read this input channel
                    t[:, 0] = xp.einsum(f"pm{lay.pix},pm->p{lay.pix}", gyb, wb[:, :, k])
                target = acc[(..., *tap)]  # a view: += adds in place
                target += t
        if need_dx:
            rows, cols = g.crop()
            dx[p0:p1] = dxpad[:n, 0, rows, cols]
    dx = dx.reshape(x.shape) if need_dx else None
    dw = dw_planes.reshape(g.n, g.o, g.kh * g.kw).sum(axis=0).reshape(w.shape) if need_dw else None
    return dx, dw, gb
