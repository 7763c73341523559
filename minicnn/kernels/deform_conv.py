"""Deformable convolution (v1, and v2 with a modulation mask), as torchvision's ``deform_conv2d``.

A deformable convolution is an ordinary convolution whose kh x kw taps do not sit on a fixed
grid: every output pixel moves each tap by its own learned (dy, dx), and reads the input there by
bilinear interpolation (zeros outside the image). v2 also scales each tap by a learned mask value.

Shapes (P = OH*OW output pixels, K = kh*kw taps, G = offset groups, "groups" = weight groups):

    x       (N, C, H, W)
    offset  (N, 2*G*K, OH, OW)   channel g*2K + 2k holds dy, g*2K + 2k + 1 holds dx of tap
                                 k = i*kw + j, for the C/G input channels of offset group g
    mask    (N, G*K, OH, OW)     channel g*K + k (optional; None is a mask of ones)
    weight  (O, C/groups, kh, kw), bias (O,)  ->  y (N, O, OH, OW)
    OH = (H + 2*pad_h - dilation_h*(kh-1) - 1) // stride_h + 1   (OW alike)

Tap (i, j) of output pixel (oh, ow) in offset group g samples the point

    py = oh*stride_h - pad_h + i*dilation_h + dy,    px = ow*stride_w - pad_w + j*dilation_w + dx

bilinearly: with y0 = floor(py), ty = py - y0 (x0, tx alike), the four corners (y0 + a, x0 + b),
a, b in {0, 1}, get the weights (a ? ty : 1-ty) * (b ? tx : 1-tx); a corner outside the image
reads 0. This is the "deformable im2col": the column matrix (N, C*K, P) holds mask * sample,
row c*K + k, and one GEMM per weight group (as in :mod:`minicnn.kernels.conv`) finishes it:
``y[n, group] = W[group] (O/groups, C/groups*K) @ cols[n, group] (C/groups*K, P)``.

How: the input is stored with one ring of zeros, (N, C, H+2, W+2), and a corner's row or column
is clipped into [-1, H] (or [-1, W]) before the lookup, so any corner outside the image lands on
a zero of the ring -- no masks, no branches. A tap is 4 ``take_along_axis`` gathers of N*C*P
values (the same P pixel indices for the C/G channels of an offset group).

Backward (gy (N, O, OH, OW)), per chunk of images, with ``gcols = W^T @ gy`` (one GEMM per
group) and tap by tap:

* input: scatter-add ``gcols * mask * corner weight`` onto the four corners (``add_at``; the
  ring of zeros collects the outside corners' share and is dropped);
* offset: ``s_ab = sum_c gcols * x[corner ab]`` (N, G, P), then
  ``d/dy = mask * ((1-tx)*(s_10 - s_00) + tx*(s_11 - s_01))`` and
  ``d/dx = mask * ((1-ty)*(s_01 - s_00) + ty*(s_11 - s_10))`` -- the derivatives of the corner
  weights;
* mask: ``sum_ab weight_ab * s_ab`` (the sample itself times gcols);
* weight: ``sum_n gy @ cols^T`` with the columns built again from the same corner gathers;
  bias: gy summed.

These are the exact derivatives of the interpolation with floor's corners: at an integer
position (ty or tx == 0) the right-hand one, as torchvision -- also on the edge py == -1, where
pixel row 0 enters with weight 0 and the derivative sees it. Non-finite offsets give non-finite
outputs (in torchvision: undefined).

Cost: forward 4*N*C*K*P gathers and multiply-adds for the columns plus the convolution's GEMM,
``2*N*O*(C/groups)*K*P`` flops; backward two GEMMs (gcols, dW), the column gathers again and
4 scatter-adds of N*C*K*P values (``np.add.at``: its unbuffered scatter is the slow part).
Memory: the column matrix is N*C*K*P values (K/stride^2 times the input, like im2col's) plus
per tap 4 corner gathers of N*C*P; a batch whose columns exceed the im2col budget
(:func:`minicnn.kernels.conv.get_im2col_budget`, 256 MiB by default) is processed in chunks of
images (at least one). Nothing but the inputs is kept for backward: it gathers again.

:func:`deform_conv2d_reference` is the same arithmetic as plain loops over images, pixels and
taps (one scalar bilinear interpolation at a time), for the tests: slow, but easy to check.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .conv import get_im2col_budget
from .scatter import add_at


class DeformGeometry(NamedTuple):
    """Sizes of one deformable convolution (see the module docstring)."""

    n: int
    c: int
    h: int
    w: int
    o: int
    kh: int
    kw: int
    oh: int
    ow: int
    groups: int  # weight groups: C / weight.shape[1]
    offset_groups: int  # G: offset.shape[1] / (2*kh*kw)
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]

    @property
    def taps(self) -> int:
        return self.kh * self.kw

    @property
    def pixels(self) -> int:
        return self.oh * self.ow


def output_size(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    """OH (or OW) of a convolution along one axis: ``(size + 2*pad - dilation*(k-1) - 1) // stride + 1``."""
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def deform_geometry(
    x_shape: tuple, offset_shape: tuple, w_shape: tuple, stride: Any, padding: Any, dilation: Any
) -> DeformGeometry:
    """The sizes of ``deform_conv2d(x, offset, w)`` (shapes assumed checked by the op)."""
    n, c, h, w = x_shape
    o, cg, kh, kw = w_shape
    oh = output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = output_size(w, kw, stride[1], padding[1], dilation[1])
    return DeformGeometry(
        n, c, h, w, o, kh, kw, oh, ow, c // cg, offset_shape[1] // (2 * kh * kw),
        tuple(stride), tuple(padding), tuple(dilation),
    )  # fmt: skip


# -- sampling positions and bilinear corners ------------------------------------------------


class Corners(NamedTuple):
    """The four bilinear corners (00, 01, 10, 11 = (y0, x0), (y0, x1), (y1, x0), (y1, x1)) of
    the points of one tap, arrays (n, G, P): the corners' positions in the ringed (H+2)*(W+2)
    plane, their weights and the fractional parts ty, tx."""

    rows: tuple[Any, Any, Any, Any]
    weights: tuple[Any, Any, Any, Any]
    ty: Any
    tx: Any


def tap_positions(offset: Any, g: DeformGeometry, i: int, j: int) -> tuple[Any, Any]:
    """(py, px), each (n, G, P): where tap (i, j) samples, for a chunk ``offset`` (n, 2*G*K, OH, OW)."""
    xp = backend.get_array_module(offset)
    k = i * g.kw + j
    off = offset.reshape(offset.shape[0], g.offset_groups, g.taps, 2, g.pixels)
    base_y = xp.arange(g.oh, dtype=offset.dtype) * g.stride[0] + (i * g.dilation[0] - g.padding[0])
    base_x = xp.arange(g.ow, dtype=offset.dtype) * g.stride[1] + (j * g.dilation[1] - g.padding[1])
    py = off[:, :, k, 0] + xp.repeat(base_y, g.ow)  # pixel p = oh*OW + ow
    px = off[:, :, k, 1] + xp.tile(base_x, g.oh)
    return py, px


def bilinear_corners(py: Any, px: Any, h: int, w: int) -> Corners:
    """The corners of bilinear sampling at (py, px) in an h x w image stored with a ring of zeros."""
    xp = backend.get_array_module(py)
    y0, x0 = xp.floor(py), xp.floor(px)
    ty, tx = py - y0, px - x0

    def ring_index(c: Any, size: int) -> Any:  # -1 .. size, shifted by the ring: 0 .. size+1
        return xp.nan_to_num(xp.clip(c, -1, size), nan=-1).astype(np.int64) + 1

    r0, r1 = ring_index(y0, h), ring_index(y0 + 1, h)
    c0, c1 = ring_index(x0, w), ring_index(x0 + 1, w)
    stride = w + 2
    rows = (r0 * stride + c0, r0 * stride + c1, r1 * stride + c0, r1 * stride + c1)
    weights = ((1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx), ty * tx)
    return Corners(rows, weights, ty, tx)


def ringed(x: Any) -> Any:
    """x (n, C, H, W) with one ring of zeros: (n, C, (H+2)*(W+2))."""
    xp = backend.get_array_module(x)
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + 2, w + 2), dtype=x.dtype)
    out[:, :, 1:-1, 1:-1] = x
    return out.reshape(n, c, (h + 2) * (w + 2))


def gather_corner(xr: Any, rows: Any, offset_groups: int) -> Any:
    """xr (n, C, (H+2)*(W+2)) read at ``rows`` (n, G, P): (n, G, C/G, P)."""
    xp = backend.get_array_module(xr)
    n, c, hw = xr.shape
    return xp.take_along_axis(xr.reshape(n, offset_groups, c // offset_groups, hw), rows[:, :, None, :], axis=3)


def _image_chunks(g: DeformGeometry, itemsize: int) -> Iterator[tuple[int, int]]:
    """(start, stop) ranges of images whose columns fit the im2col budget (at least one image)."""
    per_image = max(1, g.c * g.taps * g.pixels * itemsize)
    step = max(1, min(g.n, get_im2col_budget() // per_image))
    for n0 in range(0, g.n, step):
        yield n0, min(g.n, n0 + step)


# -- forward and backward ---------------------------------------------------------------------


def deform_columns(x: Any, offset: Any, mask: Any, g: DeformGeometry) -> Any:
    """The deformable im2col of a chunk: x (n, C, H, W) -> cols (n, C*K, P), row c*K + k."""
    xp = backend.get_array_module(x)
    n = x.shape[0]
    xr = ringed(x)
    cols = xp.empty((n, g.offset_groups, g.c // g.offset_groups, g.taps, g.pixels), dtype=x.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            k = i * g.kw + j
            corners = bilinear_corners(*tap_positions(offset, g, i, j), g.h, g.w)
            scale = 1 if mask is None else mask.reshape(n, g.offset_groups, g.taps, g.pixels)[:, :, k]
            col = cols[:, :, :, k]
            col[...] = 0
            for rows, weight in zip(corners.rows, corners.weights):
                col += (weight * scale)[:, :, None] * gather_corner(xr, rows, g.offset_groups)
    return cols.reshape(n, g.c * g.taps, g.pixels)


def deform_conv2d_forward(
    x: Any, offset: Any, w: Any, b: Any, mask: Any, stride: Any, padding: Any, dilation: Any
) -> Any:
    """y (N, O, OH, OW) = the deformable convolution of x (see the module docstring)."""
    xp = backend.get_array_module(x)
    g = deform_geometry(x.shape, offset.shape, w.shape, stride, padding, dilation)
    og, ck = g.o // g.groups, (g.c // g.groups) * g.taps
    wg = w.reshape(g.groups, og, ck)
    y = xp.empty((g.n, g.o, g.pixels), dtype=x.dtype)
    for n0, n1 in _image_chunks(g, x.itemsize):
        cols = deform_columns(x[n0:n1], offset[n0:n1], None if mask is None else mask[n0:n1], g)
        y[n0:n1] = xp.matmul(wg, cols.reshape(n1 - n0, g.groups, ck, g.pixels)).reshape(n1 - n0, g.o, g.pixels)
    if b is not None:
        y += b[:, None]
    return y.reshape(g.n, g.o, g.oh, g.ow)


def deform_conv2d_backward(
    gy: Any,
    x: Any,
    offset: Any,
    w: Any,
    mask: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    need: tuple[bool, bool, bool, bool, bool] = (True, True, True, True, True),
) -> tuple[Any, Any, Any, Any, Any]:
    """(dx, doffset, dw, db, dmask) for gy = dL/dy; ``need`` says which (others are None;
    dmask is None without a mask)."""
    xp = backend.get_array_module(gy)
    need_x, need_off, need_w, need_b, need_m = need
    need_m = need_m and mask is not None
    g = deform_geometry(x.shape, offset.shape, w.shape, stride, padding, dilation)
    og, ck, cg = g.o // g.groups, (g.c // g.groups) * g.taps, g.c // g.offset_groups
    gy = xp.ascontiguousarray(gy).reshape(g.n, g.o, g.pixels)
    db = gy.sum(axis=(0, 2)) if need_b else None
    dx = xp.empty(x.shape, dtype=gy.dtype) if need_x else None
    doff = xp.empty(offset.shape, dtype=gy.dtype) if need_off else None
    dmask = xp.empty(mask.shape, dtype=gy.dtype) if need_m else None
    dw = xp.zeros((g.groups, og, ck), dtype=gy.dtype) if need_w else None
    if not (need_x or need_off or need_w or need_m):
        return dx, doff, dw, db, dmask
    wt = w.reshape(g.groups, og, ck).transpose(0, 2, 1)  # (groups, C/groups*K, O/g)
    ringed_shape = (g.c, (g.h + 2) * (g.w + 2))
    for n0, n1 in _image_chunks(g, gy.itemsize):
        n = n1 - n0
        gyc = gy[n0:n1].reshape(n, g.groups, og, g.pixels)
        gcols = xp.matmul(wt, gyc).reshape(n, g.offset_groups, cg, g.taps, g.pixels)
        xr = ringed(x[n0:n1]) if (need_off or need_w or need_m) else None
        gxr = xp.zeros((n * g.c, ringed_shape[1]), dtype=gy.dtype) if need_x else None  # row (image, channel)
        plane = xp.arange(n * g.c).reshape(n, g.offset_groups, cg, 1)  # gxr's row of (image, group, channel)
        cols = xp.empty((n, g.offset_groups, cg, g.taps, g.pixels), dtype=gy.dtype) if need_w else None
        off_c = doff[n0:n1].reshape(n, g.offset_groups, g.taps, 2, g.pixels) if need_off else None
        mask_c = None if mask is None else mask[n0:n1].reshape(n, g.offset_groups, g.taps, g.pixels)
        for i in range(g.kh):
            for j in range(g.kw):
                k = i * g.kw + j
                c = bilinear_corners(*tap_positions(offset[n0:n1], g, i, j), g.h, g.w)
                scale = 1 if mask_c is None else mask_c[:, :, k]
                gk = gcols[:, :, :, k]  # (n, G, C/G, P)
                if need_x:  # a scatter-add per corner: its temporaries (values, flat positions) are n*C*P
                    for rows, weight in zip(c.rows, c.weights):
                        add_at(gxr, (plane, rows[:, :, None, :]), (weight * scale)[:, :, None] * gk)
                if not (need_off or need_w or need_m):
                    continue
                v = [gather_corner(xr, rows, g.offset_groups) for rows in c.rows]
                if need_w:
                    col = cols[:, :, :, k]
                    col[...] = 0
                    for weight, vab in zip(c.weights, v):
                        col += (weight * scale)[:, :, None] * vab
                if need_off or need_m:
                    s00, s01, s10, s11 = ((gk * vab).sum(axis=2) for vab in v)  # (n, G, P)
                    if need_off:
                        off_c[:, :, k, 0] = scale * ((1 - c.tx) * (s10 - s00) + c.tx * (s11 - s01))
                        off_c[:, :, k, 1] = scale * ((1 - c.ty) * (s01 - s00) + c.ty * (s11 - s10))
                    if need_m:
                        sample = sum(weight * s for weight, s in zip(c.weights, (s00, s01, s10, s11)))
                        dmask[n0:n1].reshape(n, g.offset_groups, g.taps, g.pixels)[:, :, k] = sample
        if need_x:
            dx[n0:n1] = gxr.reshape(n, g.c, g.h + 2, g.w + 2)[:, :, 1:-1, 1:-1]
        if need_w:  # (n, groups, O/g, P) @ (n, groups, P, C/groups*K), summed over the images
            dw += xp.matmul(gyc, cols.reshape(n, g.groups, ck, g.pixels).transpose(0, 1, 3, 2)).sum(axis=0)
    return dx, doff, None if dw is None else dw.reshape(w.shape), db, dmask


# -- the reference: loops ---------------------------------------------------------------------


def _bilinear_point(plane: np.ndarray, py: float, px: float) -> np.ndarray:
    """plane (C, H, W) sampled at one point (py, px): (C,), zero outside (torchvision's rule)."""
    h, w = plane.shape[1:]
    out = np.zeros(plane.shape[0], dtype=plane.dtype)
    if not (-1 < py < h and -1 < px < w):
        return out
    y0, x0 = math.floor(py), math.floor(px)
    ty, tx = py - y0, px - x0
    for yy, wy in ((y0, 1 - ty), (y0 + 1, ty)):
        for xx, wx in ((x0, 1 - tx), (x0 + 1, tx)):
            if 0 <= yy < h and 0 <= xx < w:
                out += wy * wx * plane[:, yy, xx]
    return out


def deform_conv2d_reference(
    x: np.ndarray,
    offset: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    mask: np.ndarray | None,
    stride: Any,
    padding: Any,
    dilation: Any,
) -> np.ndarray:
    """The module docstring's formula with loops over images, output pixels, offset groups and
    taps (NumPy arrays only; slow: for tests on small shapes)."""
    g = deform_geometry(x.shape, offset.shape, w.shape, stride, padding, dilation)
    cg, cw, og = g.c // g.offset_groups, g.c // g.groups, g.o // g.groups
    y = np.zeros((g.n, g.o, g.oh, g.ow), dtype=x.dtype)
    for n in range(g.n):
        for oh in range(g.oh):
            for ow in range(g.ow):
                col = np.zeros((g.c, g.kh, g.kw), dtype=x.dtype)  # the taps' samples, all channels
                for grp in range(g.offset_groups):
                    chans = slice(grp * cg, (grp + 1) * cg)
                    for i in range(g.kh):
                        for j in range(g.kw):
                            k = i * g.kw + j
                            dy, dx = offset[n, grp * 2 * g.taps + 2 * k : grp * 2 * g.taps + 2 * k + 2, oh, ow]
                            py = oh * g.stride[0] - g.padding[0] + i * g.dilation[0] + dy
                            px = ow * g.stride[1] - g.padding[1] + j * g.dilation[1] + dx
                            m = 1 if mask is None else mask[n, grp * g.taps + k, oh, ow]
                            col[chans, i, j] = m * _bilinear_point(x[n, chans], py, px)
                for o in range(g.o):
                    grp = o // og
                    y[n, o, oh, ow] = np.sum(w[o] * col[grp * cw : (grp + 1) * cw])
    if b is not None:
        y += b[:, None, None]
    return y
