"""Depthwise convolution (groups == C): every channel is filtered on its own.

Shapes: x (N, C, H, W), weight (C*m, 1, kh, kw) with channel multiplier m (usually 1),
bias (C*m,) -> y (N, C*m, OH, OW); output channel c*m + k is input channel c filtered by
weight[c*m + k]. OH and OW as for any convolution (see :mod:`minicnn.kernels.conv_shapes`).

Each output channel sums only kh*kw products, so the im2col GEMM would have an inner
dimension of kh*kw (9) -- too short for BLAS to shine -- and its column matrix would be
kh*kw times the input. Instead this kernel never builds columns; it loops over the kernel
offsets (i, j) and, for all images, channels and pixels at once::

    forward   y           += xpad[..., rows_ij, cols_ij] * w[:, i, j]      (per channel)
    dW        dw[:, i, j]  = sum over images and pixels of gy * xpad[..., rows_ij, cols_ij]
    dX        dxpad[..., rows_ij, cols_ij] += gy * w[:, i, j]

where ``rows_ij, cols_ij`` is the strided slice that offset (i, j) reads (one input pixel per
output pixel). Cost: N*C*m*OH*OW*kh*kw multiply-adds each way -- 1/(C/groups) of a dense
convolution's. Extra memory: a padded copy of the input and a few cache-sized scratch blocks.

Cache blocking: every step above is a whole-array NumPy expression that streams its operands
through memory, kh*kw times. To keep them in the CPU cache instead, the images x channels
are treated as one stack of 2-d planes and processed in blocks of planes of about
``BLOCK_BYTES`` (a loop over memory blocks, not over images or pixels; the GPU gets one
block, see :func:`minicnn.kernels.im2col.plane_blocks`). On CPU this is 2-3 times faster
than the unblocked loop.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from .conv_shapes import Geometry, geometry
from .im2col import pad2d, plane_blocks


def _check(g: Geometry) -> int:
    """The channel multiplier m = O / C, after checking that this is a depthwise conv."""
    if g.groups != g.c or g.o % g.c:
        raise ValueError(
            f"conv2d (depthwise): needs groups == input channels and output channels a multiple "
            f"of them, got groups={g.groups}, {g.c} input and {g.o} output channels"
        )
    return g.o // g.c


def _plane_weights(w: Any, g: Geometry, m: int) -> Any:
    """The weights of every plane of the (N*C) stack: (N*C, m, kh, kw) (small: no pixels)."""
    xp = backend.get_array_module(w)
    per_channel = w.reshape(g.c, m, g.kh, g.kw)
    return xp.ascontiguousarray(xp.broadcast_to(per_channel, (g.n, g.c, m, g.kh, g.kw))).reshape(
        g.n * g.c, m, g.kh, g.kw
    )


def conv2d_depthwise(
    x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int | None = None
) -> Any:
    """Depthwise convolution forward: a sum over kernel offsets of shifted slices times
    per-channel weights. ``groups`` defaults to (and must equal) the number of channels."""
    xp = backend.get_array_module(x)
    g = geometry(x.shape, w.shape, stride, padding, dilation, x.shape[1] if groups is None else groups)
    m = _check(g)
    planes = g.n * g.c
    xpad = xp.ascontiguousarray(pad2d(x, g.pads))
    xpad = xpad.reshape(planes, 1, *xpad.shape[2:])  # (N*C, 1, Hp, Wp)
    wp = _plane_weights(w, g, m)  # (N*C, m, kh, kw)
    y = xp.empty((planes, m, g.oh, g.ow), dtype=x.dtype)
    plane_bytes = (xpad[0].size + 2 * m * g.oh * g.ow) * x.itemsize
    tmp = None
    for p0, p1 in plane_blocks(xp, planes, plane_bytes):
        xb, yb, wb = xpad[p0:p1], y[p0:p1], wp[p0:p1]
        if tmp is None:
            tmp = xp.empty(yb.shape, dtype=x.dtype)
        t = tmp[: p1 - p0]
        for i in range(g.kh):
            for j in range(g.kw):
                rows, cols = g.offset(i, j)
                wij = wb[:, :, i, j, None, None]  # (planes, m, 1, 1)
                if i == 0 and j == 0:
                    xp.multiply(xb[:, :, rows, cols], wij, out=yb)
                else:
                    xp.multiply(xb[:, :, rows, cols], wij, out=t)
                    yb += t
    y = y.reshape(g.n, g.o, g.oh, g.ow)
    if b is not None:
        y += b[:, None, None]
    return y


def conv2d_depthwise_backward(
    gy: Any, x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int | None = None,
    need_dx: bool = True, need_dw: bool = True, need_db: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`conv2d_depthwise`; entries not asked for are None.

    dW sums, per offset, the products of gy with the input slice over images and pixels
    (one ``einsum`` per block and offset); dX accumulates gy * w into the strided slices of
    a padded block, which is then cropped.
    """
    xp = backend.get_array_module(gy)
    g = geometry(x.shape, w.shape, stride, padding, dilation, x.shape[1] if groups is None else groups)
    m = _check(g)
    planes = g.n * g.c
    gyp = xp.ascontiguousarray(gy).reshape(planes, m, g.oh, g.ow)
    gb = gy.sum(axis=(0, 2, 3)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    hp = g.h + g.pads[0][0] + g.pads[0][1]
    wpad = g.w + g.pads[1][0] + g.pads[1][1]
    if need_dw:
        xpad = xp.ascontiguousarray(pad2d(x, g.pads)).reshape(planes, hp, wpad)
        dw_planes = xp.empty((planes, m, g.kh, g.kw), dtype=gy.dtype)
    if need_dx:
        wp = _plane_weights(w, g, m)
        gx = xp.empty((planes, g.h, g.w), dtype=gy.dtype)
    plane_bytes = (2 * hp * wpad + (m + 1) * g.oh * g.ow) * gy.itemsize
    acc = tmp = None
    crop = g.crop()
    for p0, p1 in plane_blocks(xp, planes, plane_bytes):
        gb_ = gyp[p0:p1]  # (planes, m, OH, OW)
        if need_dx:
            if acc is None:
                acc = xp.empty((p1 - p0, hp, wpad), dtype=gy.dtype)
                tmp = xp.empty((p1 - p0, g.oh, g.ow), dtype=gy.dtype)
            a, t = acc[: p1 - p0], tmp[: p1 - p0]
            a[...] = 0
            wb = wp[p0:p1]
        for i in range(g.kh):
            for j in range(g.kw):
                rows, cols = g.offset(i, j)
                if need_dw:
                    dw_planes[p0:p1, :, i, j] = xp.einsum("pmhw,phw->pm", gb_, xpad[p0:p1, rows, cols])
                if need_dx:
                    if m == 1:
                        xp.multiply(gb_[:, 0], wb[:, 0, i, j, None, None], out=t)
                    else:  # sum the m output channels that read this input channel
                        xp.einsum("pmhw,pm->phw", gb_, wb[:, :, i, j], out=t)
                    target = a[:, rows, cols]  # a strided view: += adds in place
                    target += t
        if need_dx:
            gx[p0:p1] = a[:, crop[0], crop[1]]
    dx = gx.reshape(x.shape) if need_dx else None
    dw = dw_planes.reshape(g.n, g.o, g.kh, g.kw).sum(axis=0).reshape(w.shape) if need_dw else None
    return dx, dw, gb
