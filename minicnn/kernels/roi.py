"""Region-of-interest pooling kernels (Fast/Mask R-CNN), as torchvision's CPU kernels.

Shapes: x (N, C, H, W), rois (K, 5) rows (batch index, x1, y1, x2, y2) in image coordinates
(times ``spatial_scale`` gives feature-map coordinates) -> y (K, C, PH, PW).

RoIAlign: each roi is cut into PH x PW bins; bin (ph, pw) averages the bilinear interpolation
of x at a grid of gh x gw sample points, (iy + 0.5)/gh of the way through the bin and likewise
in x. gh = sampling_ratio, or ceil(roi_h / PH) per roi when sampling_ratio <= 0 (adaptive).
``aligned`` shifts the box by -0.5 pixel (Detectron2); otherwise a roi is at least 1 x 1.
A sample outside [-1, H] x [-1, W] contributes 0; one in [-1, 0] is clamped to 0 and one past
the last pixel to it (torchvision's rules, in its order of operations, in the input's dtype).
The kernel loops over the sample offsets (iy, ix) up to the largest grid; each step handles
the rois whose grid has that offset, all their bins and channels at once (four row gathers
from the channels-last input flattened to (N H W, C)). Backward: the transpose, a scatter-add
per sample offset (one bincount on NumPy). Cost: O(sum_k gh_k gw_k C PH PW) both ways, as
torchvision's; the rois get no gradient (torchvision's neither). Linear in x.

RoIPool: integer box corners (rounded half away from zero), at least 1 x 1; bin (ph, pw) is
rows [floor(ph h/PH), ceil((ph+1) h/PH)) of the roi (and likewise in x), clipped to the map;
y is the bin's maximum (first one in row-major order; an empty bin gives 0), and ``argmax``
its flat position h*W + w (-1 for an empty bin). The kernel loops over offsets within a bin
up to the largest bin, all rois and bins at once. Backward adds gy at argmax. Cost:
O(bh bw K C PH PW), bh x bw the largest bin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .scatter import add_at


def _roi_corners(rois: Any, spatial_scale: float, offset: float) -> tuple[Any, ...]:
    """Batch indices (K,) int64 and the corners scaled, in the rois' dtype (as C++'s T)."""
    t = rois.dtype.type
    batch = rois[:, 0].astype(np.int64)
    scale = t(spatial_scale)
    return (batch,) + tuple(rois[:, i] * scale - t(offset) for i in range(1, 5))


def _align_geometry(rois: Any, pooled: tuple[int, int], spatial_scale: float, sampling_ratio: int, aligned: bool):
    """Per roi: batch index, start (y, x), bin size (y, x), grid (y, x) (int64), count."""
    xp = backend.get_array_module(rois)
    t = rois.dtype.type
    batch, x1, y1, x2, y2 = _roi_corners(rois, spatial_scale, 0.5 if aligned else 0.0)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:  # malformed rois become 1 x 1
        roi_w, roi_h = xp.maximum(roi_w, t(1)), xp.maximum(roi_h, t(1))
    ph, pw = pooled
    bin_h, bin_w = roi_h / t(ph), roi_w / t(pw)
    if sampling_ratio > 0:
        grid_h = xp.full(rois.shape[0], sampling_ratio, dtype=np.int64)
        grid_w = grid_h
    else:
        with np.errstate(invalid="ignore"):
            grid_h = xp.nan_to_num(xp.ceil(roi_h / t(ph))).astype(np.int64)
            grid_w = xp.nan_to_num(xp.ceil(roi_w / t(pw))).astype(np.int64)
    count = xp.maximum(grid_h * grid_w, 1).astype(rois.dtype)
    return batch, (y1, x1), (bin_h, bin_w), (grid_h, grid_w), count


def _sample_axis(start: Any, bin_size: Any, grid: Any, i: int, pooled: int, size: int) -> tuple[Any, ...]:
    """Sample offset i along one axis, for every roi and bin: (low, high, weight of low, weight of
    high, in range), each (K, P); the weights are 0 out of range. Coordinates as torchvision:
    start + p*bin + (i+.5)*bin/grid."""
    xp = backend.get_array_module(start)
    t = start.dtype.type
    p = xp.arange(pooled, dtype=start.dtype)
    step = (t(i + 0.5) * bin_size) / xp.maximum(grid, 1).astype(start.dtype)
    c = start[:, None] + p[None, :] * bin_size[:, None] + step[:, None]
    inside = (c >= -1.0) & (c <= size)
    c = xp.where(inside & (c > 0), c, t(0))
    low = c.astype(np.int64)
    last = low >= size - 1
    low = xp.where(last, size - 1, low)
    high = xp.where(last, size - 1, low + 1)
    c = xp.where(last, low.astype(start.dtype), c)
    lw = xp.where(inside, c - low.astype(start.dtype), t(0))  # in the rois' dtype, as C++'s T
    return low, high, xp.where(inside, t(1) - lw, t(0)), lw, inside


def _align_samples(geometry: tuple, x_shape: tuple[int, ...], pooled: tuple[int, int]) -> Any:
    """Yield, per sample offset (iy, ix): the rois whose grid has it (``sel``, an index array
    (K',), or a full slice when every roi's does), and for them and every bin the four bilinear
    corners as (flat channels-last position b*H*W + row*W + col (K', PH, PW) int64, weight
    (K', PH, PW)), and whether the sample is in range (K', PH, PW). Out-of-range samples point
    at pixel (0, 0) of their image with weight 0, as torchvision's forward. Rois without the
    offset are skipped, so the work is sum_k gh_k gw_k (torchvision's), not K max(gh) max(gw)."""
    xp = backend.get_array_module(geometry[0])
    _, _, height, width = x_shape
    batch, (sy, sx), (bh, bw), (gh, gw), _ = geometry
    base = batch * (height * width)
    along_x = [_sample_axis(sx, bw, gw, ix, pooled[1], width) for ix in range(_largest(gw))]
    for iy in range(_largest(gh)):
        along_y = _sample_axis(sy, bh, gh, iy, pooled[0], height)
        for ix, along_x_ix in enumerate(along_x):
            taken = (iy < gh) & (ix < gw)
            sel = slice(None) if bool(taken.all()) else xp.nonzero(taken)[0]
            yl, yh, hy, ly, y_in = (a[sel] for a in along_y)
            xl, xh, hx, lx, x_in = (a[sel] for a in along_x_ix)
            if yl.shape[0] == 0:
                continue
            inside = y_in[:, :, None] & x_in[:, None, :]
            b = base[sel][:, None, None]
            corners = [
                (
                    xp.where(inside, b + (rows * width)[:, :, None] + cols[:, None, :], b),
                    wy[:, :, None] * wx[:, None, :],
                )
                for rows, wy in ((yl, hy), (yh, ly))
                for cols, wx in ((xl, hx), (xh, lx))
            ]
            yield sel, corners, inside


def _largest(a: Any) -> int:
    """The largest entry of an int array as a Python int (0 for an empty one): a loop's length."""
    return int(a.max()) if a.size else 0


def roi_align_forward(
    x: Any, rois: Any, pooled: tuple[int, int], spatial_scale: float, sampling_ratio: int, aligned: bool
) -> Any:
    """x (N, C, H, W), rois (K, 5) -> (K, C, PH, PW): averages of bilinear samples per bin."""
    xp = backend.get_array_module(x)
    n, c, h, w = x.shape
    k = rois.shape[0]
    acc = xp.zeros((k, pooled[0], pooled[1], c), dtype=x.dtype)
    if x.size == 0:
        return xp.ascontiguousarray(acc.transpose(0, 3, 1, 2))
    xflat = xp.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(n * h * w, c)  # a gather takes a whole row
    geometry = _align_geometry(rois, pooled, spatial_scale, sampling_ratio, aligned)
    for sel, corners, _ in _align_samples(geometry, x.shape, pooled):
        val = None
        for flat, wt in corners:  # w1 v1 + w2 v2 + w3 v3 + w4 v4, torchvision's order
            term = xflat.take(flat, axis=0)
            term *= wt[..., None]
            if val is None:
                val = term
            else:
                val += term
        acc[sel] += val
    acc /= geometry[-1][:, None, None, None]
    return xp.ascontiguousarray(acc.transpose(0, 3, 1, 2))


def roi_align_backward(
    gy: Any,
    rois: Any,
    x_shape: tuple[int, ...],
    pooled: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
) -> Any:
    """gy (K, C, PH, PW) -> gx (N, C, H, W): each sample's share gy w / count added at its corners.
    NumPy: one ``np.bincount`` per sample offset over flat channels-last positions (the four
    corners together), summed in float64 (an order of magnitude faster than ``np.add.at``);
    CuPy: scatter-adds."""
    xp = backend.get_array_module(gy)
    n, c, h, w = x_shape
    host = xp is np
    gxt = np.zeros(n * h * w * c) if host else xp.zeros((n * h * w, c), dtype=gy.dtype)
    if gy.size == 0 or gxt.size == 0:
        return xp.zeros(x_shape, dtype=gy.dtype)
    geometry = _align_geometry(rois, pooled, spatial_scale, sampling_ratio, aligned)
    # each bin's share before the weights (torchvision's backward omits the max(count, 1): it
    # differs only where nothing is added)
    gyt = gy.transpose(0, 2, 3, 1) / geometry[-1][:, None, None, None]
    channels = xp.arange(c)
    for sel, corners, inside in _align_samples(geometry, x_shape, pooled):
        g = xp.where(inside[..., None], gyt[sel], gy.dtype.type(0))  # out-of-range samples add nothing
        if host:
            flat = np.concatenate([(f[..., None] * c + channels).ravel() for f, _ in corners])
            share = np.concatenate([(g * wt[..., None]).ravel() for _, wt in corners])
            gxt += np.bincount(flat, weights=share, minlength=gxt.size)
        else:
            for flat, wt in corners:
                add_at(gxt, (flat[..., None], channels), g * wt[..., None])
    if host:
        gxt = gxt.astype(gy.dtype)
    return xp.ascontiguousarray(gxt.reshape(n, h, w, c).transpose(0, 3, 1, 2))


def _round_half_away(v: Any) -> Any:
    """C's round(): halves away from zero (exact: v - trunc(v) has no rounding error)."""
    xp = backend.get_array_module(v)
    r = xp.trunc(v)
    return (r + xp.where(xp.abs(v - r) >= 0.5, xp.sign(v), 0)).astype(np.int64)


def _pool_bins(start: Any, end: Any, pooled: int, size: int, dtype: Any) -> tuple[Any, Any]:
    """Each roi's bins along one axis, clipped to the map: [lo, hi) (K, P) int64."""
    xp = backend.get_array_module(start)
    t = np.dtype(dtype).type
    length = xp.maximum(end - start + 1, 1)
    bin_size = length.astype(dtype) / t(pooled)
    p = xp.arange(pooled, dtype=dtype)
    lo = xp.floor(p[None, :] * bin_size[:, None]).astype(np.int64) + start[:, None]
    hi = xp.ceil((p[None, :] + t(1)) * bin_size[:, None]).astype(np.int64) + start[:, None]
    return xp.clip(lo, 0, size), xp.clip(hi, 0, size)


def roi_pool_forward(x: Any, rois: Any, pooled: tuple[int, int], spatial_scale: float) -> tuple[Any, Any]:
    """x (N, C, H, W), rois (K, 5) -> (y (K, C, PH, PW), argmax (K, C, PH, PW) int64)."""
    xp = backend.get_array_module(x)
    n, c, height, width = x.shape
    batch, x1, y1, x2, y2 = _roi_corners(rois, spatial_scale, 0.0)
    x1, y1, x2, y2 = (_round_half_away(v) for v in (x1, y1, x2, y2))
    h_lo, h_hi = _pool_bins(y1, y2, pooled[0], height, x.dtype)
    w_lo, w_hi = _pool_bins(x1, x2, pooled[1], width, x.dtype)
    empty = ((h_hi <= h_lo)[:, :, None] | (w_hi <= w_lo)[:, None, :])[..., None]
    k = rois.shape[0]
    shape = (k, pooled[0], pooled[1], c)
    best = xp.where(empty, x.dtype.type(0), x.dtype.type(-np.finfo(np.float32).max)) * xp.ones(shape, x.dtype)
    argmax = xp.full(shape, -1, dtype=np.int64)
    if x.size == 0:
        return xp.ascontiguousarray(best.transpose(0, 3, 1, 2)), xp.ascontiguousarray(argmax.transpose(0, 3, 1, 2))
    xflat = xp.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(n * height * width, c)  # a gather takes a row
    base = (batch * (height * width))[:, None, None]
    for dh in range(_largest(h_hi - h_lo)):
        rows = h_lo + dh
        row_in = rows < h_hi
        rows = xp.minimum(rows, height - 1)[:, :, None]
        for dw in range(_largest(w_hi - w_lo)):
            cols = w_lo + dw
            inside = (row_in[:, :, None] & (cols < w_hi)[:, None, :])[..., None]
            cols = xp.minimum(cols, width - 1)[:, None, :]
            pos = rows * width + cols
            v = xflat.take(base + pos, axis=0)
            better = inside & (v > best)
            xp.copyto(best, v, where=better)
            xp.copyto(argmax, pos[..., None], where=better)
    return (
        xp.ascontiguousarray(best.transpose(0, 3, 1, 2)),
        xp.ascontiguousarray(argmax.transpose(0, 3, 1, 2)),
    )


def roi_pool_backward(gy: Any, argmax: Any, batch: Any, x_shape: tuple[int, ...]) -> Any:
    """gy (K, C, PH, PW) -> gx (N, C, H, W): gy added at each bin's argmax (none for empty bins)."""
    xp = backend.get_array_module(gy)
    n, c, h, w = x_shape
    gx = xp.zeros((n, c, h * w), dtype=gy.dtype)
    if gx.size == 0 or gy.size == 0:  # an empty map: every bin is empty
        return gx.reshape(x_shape)
    grid = (batch[:, None, None, None], xp.arange(c)[None, :, None, None], xp.maximum(argmax, 0))
    add_at(gx, grid, xp.where(argmax >= 0, gy, gy.dtype.type(0)))
    return gx.reshape(x_shape)


def roi_pool_gather(gx: Any, argmax: Any, batch: Any) -> Any:
    """The transpose of :func:`roi_pool_backward`: gx (N, C, H, W) -> (K, C, PH, PW), gx at each
    bin's argmax (0 for empty bins)."""
    xp = backend.get_array_module(gx)
    n, c, h, w = gx.shape
    flat = gx.reshape(n, c, h * w)
    got = flat[batch[:, None, None, None], xp.arange(c)[None, :, None, None], xp.maximum(argmax, 0)]
    return xp.where(argmax >= 0, got, gx.dtype.type(0))
