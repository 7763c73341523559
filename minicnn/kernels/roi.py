"""Region-of-interest pooling kernels (Fast/Mask R-CNN), as torchvision's CPU kernels.

Shapes: x (N, C, H, W), rois (K, 5) rows (batch index, x1, y1, x2, y2) in image coordinates
(times ``spatial_scale`` gives feature-map coordinates) -> y (K, C, PH, PW).

RoIAlign: each roi is cut into PH x PW bins; bin (ph, pw) averages the bilinear interpolation
of x at a grid of gh x gw sample points, (iy + 0.5)/gh of the way through the bin and likewise
in x. gh = sampling_ratio, or ceil(roi_h / PH) per roi when sampling_ratio <= 0 (adaptive).
``aligned`` shifts the box by -0.5 pixel (Detectron2); otherwise a roi is at least 1 x 1.
A sample outside [-1, H] x [-1, W] contributes 0; one in [-1, 0] is clamped to 0 and one past
the last pixel to it (torchvision's rules, in its order of operations). The kernel loops over
the sample offsets (iy, ix) up to the largest grid; each step handles all rois, bins and
channels at once (four gathers from the channels-last input), rois with a smaller grid masked.
Backward: the transpose, four scatter-adds per sample offset (bincounts on NumPy). Cost: O(gh gw K C PH PW) both
ways; the rois get no gradient (torchvision's neither). Linear in x.

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
    high, in range), each (K, P). Coordinates as torchvision: start + p*bin + (i+.5)*bin/grid."""
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
    lw = c - low
    return low, high, t(1) - lw, lw, inside


def _align_samples(geometry: tuple, x_shape: tuple[int, ...], pooled: tuple[int, int]) -> Any:
    """Yield, per sample offset (iy, ix), for every roi and bin: the batch index (K, 1, 1), the
    four bilinear corners as (rows (K, PH, 1), cols (K, 1, PW), weight (K, PH, PW)), whether the
    roi's grid has this offset (K, 1, 1) and whether the sample is in range (K, PH, PW).
    Out-of-range samples point at pixel (0, 0) with weight 0, as torchvision's forward."""
    _, _, height, width = x_shape
    batch, (sy, sx), (bh, bw), (gh, gw), _ = geometry
    b = batch[:, None, None]
    along_x = [_sample_axis(sx, bw, gw, ix, pooled[1], width) for ix in range(_largest(gw))]
    for iy in range(_largest(gh)):
        yl, yh, hy, ly, y_in = _sample_axis(sy, bh, gh, iy, pooled[0], height)
        for ix, (xl, xh, hx, lx, x_in) in enumerate(along_x):
            inside = y_in[:, :, None] & x_in[:, None, :]
            taken = ((iy < gh) & (ix < gw))[:, None, None]
            corners = [
                (
                    _where(y_in, rows, 0)[:, :, None],
                    _where(x_in, cols, 0)[:, None, :],
                    _where(inside, wy[:, :, None] * wx[:, None, :], 0),
                )
                for rows, wy in ((yl, hy), (yh, ly))
                for cols, wx in ((xl, hx), (xh, lx))
            ]
            yield b, corners, taken, inside


def _largest(a: Any) -> int:
    """The largest entry of an int array as a Python int (0 for an empty one): a loop's length."""
    return int(a.max()) if a.size else 0


def _where(cond: Any, a: Any, b: Any) -> Any:
    return backend.get_array_module(a).where(cond, a, a.dtype.type(b))


def roi_align_forward(
    x: Any, rois: Any, pooled: tuple[int, int], spatial_scale: float, sampling_ratio: int, aligned: bool
) -> Any:
    """x (N, C, H, W), rois (K, 5) -> (K, C, PH, PW): averages of bilinear samples per bin."""
    xp = backend.get_array_module(x)
    k, c = rois.shape[0], x.shape[1]
    xt = x.transpose(0, 2, 3, 1)  # channels last: one gather takes all channels of a sample
    acc = xp.zeros((k, pooled[0], pooled[1], c), dtype=x.dtype)
    geometry = _align_geometry(rois, pooled, spatial_scale, sampling_ratio, aligned)
    for b, corners, taken, _ in _align_samples(geometry, x.shape, pooled):
        val = None
        for rows, cols, w in corners:  # w1 v1 + w2 v2 + w3 v3 + w4 v4, torchvision's order
            term = w[..., None] * xt[b, rows, cols]
            val = term if val is None else val + term
        acc += xp.where(taken[..., None], val, x.dtype.type(0))
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
    NumPy: one ``np.bincount`` per sample offset and corner over flat channels-last positions,
    summed in float64 (an order of magnitude faster than ``np.add.at``); CuPy: scatter-adds."""
    xp = backend.get_array_module(gy)
    n, c, h, w = x_shape
    host = xp is np
    gxt = np.zeros(n * h * w * c) if host else xp.zeros((n, h, w, c), dtype=gy.dtype)
    gyt = gy.transpose(0, 2, 3, 1)
    channels = xp.arange(c)[None, None, None, :]
    geometry = _align_geometry(rois, pooled, spatial_scale, sampling_ratio, aligned)
    count = geometry[-1]  # (torchvision's backward omits the max(., 1): it differs only where nothing is added)
    for b, corners, taken, inside in _align_samples(geometry, x_shape, pooled):
        added = (taken & inside)[..., None]
        for rows, cols, wt in corners:
            share = xp.where(added, (gyt * wt[..., None]) / count[:, None, None, None], gy.dtype.type(0))
            if host:
                flat = (((b * h + rows) * w + cols)[..., None] * c + channels).ravel()
                gxt += np.bincount(flat, weights=share.ravel(), minlength=gxt.size)
            else:
                add_at(gxt, (b[..., None], rows[..., None], cols[..., None], channels), share)
    if host:
        gxt = gxt.astype(gy.dtype).reshape(n, h, w, c)
    return xp.ascontiguousarray(gxt.transpose(0, 3, 1, 2))


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
    xt = x.transpose(0, 2, 3, 1)
    b = batch[:, None, None]
    for dh in range(_largest(h_hi - h_lo)):
        rows = h_lo + dh
        row_in = rows < h_hi
        rows = xp.minimum(rows, height - 1)[:, :, None]
        for dw in range(_largest(w_hi - w_lo)):
            cols = w_lo + dw
            inside = (row_in[:, :, None] & (cols < w_hi)[:, None, :])[..., None]
            cols = xp.minimum(cols, width - 1)[:, None, :]
            v = xt[b, rows, cols]
            better = inside & (v > best)
            best = xp.where(better, v, best)
            argmax = xp.where(better, (rows * width + cols)[..., None], argmax)
    return (
        xp.ascontiguousarray(best.transpose(0, 3, 1, 2)),
        xp.ascontiguousarray(argmax.transpose(0, 3, 1, 2)),
    )


def roi_pool_backward(gy: Any, argmax: Any, batch: Any, x_shape: tuple[int, ...]) -> Any:
    """gy (K, C, PH, PW) -> gx (N, C, H, W): gy added at each bin's argmax (none for empty bins)."""
    xp = backend.get_array_module(gy)
    n, c, h, w = x_shape
    gx = xp.zeros((n, c, h * w), dtype=gy.dtype)
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
