"""Spatial transformers (2-D): torch's ``affine_grid`` and ``grid_sample``, as gathers.

Shapes: ``affine_grid``: theta (N, 2, 3) -> grid (N, H, W, 2). ``grid_sample``: input x
(N, C, H_in, W_in) and grid (N, H_out, W_out, 2) -> y (N, C, H_out, W_out). ``grid[..., 0]``
is a point's x (along W) and ``grid[..., 1]`` its y (along H), normalised: -1 and +1 are the
centres of the corner pixels with ``align_corners=True``, their outer edges without.

affine_grid: the base grid (H, W, 3) holds (x, y, 1) per output pixel, x = ``linspace(-1, 1, W)``
(times (W-1)/W without align_corners, so that the points are pixel centres; 0 when W == 1)
and y likewise along H; then ``grid[n] = base @ theta[n]^T``. Backward: ``gtheta[n] =
gy[n]^T @ base`` (over the H*W points).

grid_sample, per output point and axis (an axis of ``size`` pixels), as torch's GridSampler.h:

1. unnormalise the grid coordinate g to pixels: ``c = (g+1)/2 * (size-1)`` (align_corners) or
   ``c = ((g+1)*size - 1)/2``; ``dc/dg = (size-1)/2`` or ``size/2``.
2. padding: ``zeros`` leaves c alone (taps outside the image read 0); ``border`` clips c into
   [0, size-1] (gradient 0 outside, and on the bounds); ``reflection`` reflects c about the
   edges -- the corner centres 0 and size-1 with align_corners, the outer edges -0.5 and
   size-0.5 without -- until it lies between them (gradient +1 or -1 by the number of
   reflections), then clips. Bilinear and nearest pad c itself; bicubic pads each integer tap.
3. taps along the axis: ``nearest``: one, ``rint(c)`` (round half to even), weight 1;
   ``bilinear``: ``floor(c)`` and ``floor(c)+1`` with weights ``1-t`` and ``t``, ``t = c -
   floor(c)``; ``bicubic``: ``floor(c)-1 .. floor(c)+2`` with Keys' cubic convolution weights
   (A = -0.75) at distances ``1+t, t, 1-t, 2-t``.
4. ``y[n, :, p] = sum over taps (j, i) of wy[j] * wx[i] * x[n, :, iy[j], ix[i]]`` (a tap
   outside the image reads 0).

Backward: the input gradient scatter-adds ``gy * wy * wx`` onto the taps; the grid gradient is
``sum_c gy * x[taps] * wy * dwx/dg`` for x (and ``dwy/dg * wx`` for y), where ``dw/dg`` is the
weight's derivative times the chain of step 1-2; nearest gives a zero grid gradient, as torch.

Cost, with T taps per axis (1, 2 or 4) and P = H_out*W_out: forward T^2 gathers of N*C*P
values and ~2*T^2*N*C*P flops; backward T^2 scatter-adds of N*C*P values (input) and T^2
more gathers with a sum over C (grid). affine_grid: a (H*W, 3) x (3, 2) product per sample,
6*N*H*W multiply-adds, and the same for its backward.

Non-finite grid values: NaN or +-inf are outside the image for ``zeros`` (NaN weights make a
NaN output, as torch's CPU kernel) and clip to the border (NaN to 0) for the other modes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .scatter import add_at
from .upsample import CUBIC_A, compute_dtype

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")


# -- affine_grid ----------------------------------------------------------------------------
def linspace_from_neg_one(steps: int, align_corners: bool, dtype: Any) -> np.ndarray:
    """(steps,) normalised coordinates of the pixel centres along one axis (host array)."""
    if steps <= 1:
        return np.zeros(steps, dtype)
    r = np.linspace(-1, 1, steps, dtype=dtype)
    return r if align_corners else r * (steps - 1) / steps


def affine_base_grid(h: int, w: int, align_corners: bool, dtype: Any, like: Any) -> Any:
    """(H, W, 3): (x, y, 1) per output pixel, where ``like`` lives (uploaded once per setting)."""

    def make() -> np.ndarray:
        base = np.empty((h, w, 3), dtype)
        base[..., 0] = linspace_from_neg_one(w, align_corners, dtype)
        base[..., 1] = linspace_from_neg_one(h, align_corners, dtype)[:, None]
        base[..., 2] = 1
        return base

    return backend.device_constant(("affine_base", h, w, bool(align_corners), np.dtype(dtype).str), make, like)


def affine_grid(theta: Any, base: Any) -> Any:
    """theta (N, 2, 3), base (H, W, 3) -> grid (N, H, W, 2)."""
    h, w, _ = base.shape
    return (base.reshape(1, h * w, 3) @ theta.transpose(0, 2, 1)).reshape(theta.shape[0], h, w, 2)


def affine_grid_backward(gy: Any, base: Any) -> Any:
    """gy (N, H, W, 2), base (H, W, 3) -> gtheta (N, 2, 3)."""
    n, h, w, _ = gy.shape
    return gy.reshape(n, h * w, 2).transpose(0, 2, 1) @ base.reshape(h * w, 3)


# -- grid_sample: coordinates along one axis ------------------------------------------------
def unnormalize(g: Any, size: int, align_corners: bool) -> tuple[Any, float]:
    """Pixel coordinate of the normalised coordinate ``g``, and its derivative dc/dg."""
    if align_corners:
        return (g + 1) / 2 * (size - 1), (size - 1) / 2
    return ((g + 1) * size - 1) / 2, size / 2


def reflect_coordinates(c: Any, twice_low: int, twice_high: int) -> tuple[Any, Any]:
    """``c`` reflected about low and high until it lies between them, and dc'/dc (+-1).
    The bounds come doubled so that half-pixel edges stay integers."""
    xp = backend.get_array_module(c)
    if twice_low == twice_high:
        return xp.zeros_like(c), xp.zeros_like(c)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = c - low
    sign = xp.where(shifted < 0, -1.0, 1.0).astype(c.dtype)
    a = xp.abs(shifted)
    extra, flips = xp.fmod(a, span), xp.floor(a / span)
    even = xp.remainder(flips, 2) == 0
    return xp.where(even, extra + low, span - extra + low), xp.where(even, sign, -sign)


def pad_coordinates(c: Any, size: int, padding_mode: str, align_corners: bool) -> tuple[Any, Any]:
    """The padding step: c mapped by ``padding_mode``, and dc'/dc (None for zeros: 1)."""
    if padding_mode == "zeros":
        return c, None
    xp = backend.get_array_module(c)
    d = None
    if padding_mode == "reflection":
        bounds = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        c, d = reflect_coordinates(c, *bounds)
    inside = ((c > 0) & (c < size - 1)).astype(c.dtype)  # the bounds themselves count as outside
    # fmax/fmin (not clip): a NaN goes to 0, as in torch's CPU kernel
    return xp.fmin(xp.fmax(c, 0), size - 1), inside if d is None else d * inside


def _cubic(t: Any) -> list[Any]:
    """Keys' weights of the taps at distances 1+t, t, 1-t, 2-t."""
    a = CUBIC_A

    def near(s: Any) -> Any:  # |s| <= 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s: Any) -> Any:  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_dt(t: Any) -> list[Any]:
    """d/dt of :func:`_cubic`'s weights."""
    a = CUBIC_A

    def near(s: Any) -> Any:
        return (3 * (a + 2) * s - 2 * (a + 3)) * s

    def far(s: Any) -> Any:
        return (3 * a * s - 10 * a) * s + 8 * a

    return [far(t + 1), near(t), -near(1 - t), -far(2 - t)]


class AxisTaps(NamedTuple):
    """The taps of every point along one axis; each field (T, N, P)."""

    index: Any  # int64 pixel index, 0 where the tap is outside (safe to gather)
    inside: Any  # bool: the tap lies in the image (outside, it reads 0)
    weight: Any
    dweight: Any  # d weight / d grid coordinate (None: not asked for, or nearest)


def axis_taps(g: Any, size: int, mode: str, padding_mode: str, align_corners: bool, need_grad: bool) -> AxisTaps:
    """Steps 1-3 of the module docstring for the coordinates ``g`` (N, P) along an axis of ``size``."""
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf coordinates are allowed
        return _axis_taps(g, size, mode, padding_mode, align_corners, need_grad)


def _axis_taps(g: Any, size: int, mode: str, padding_mode: str, align_corners: bool, need_grad: bool) -> AxisTaps:
    xp = backend.get_array_module(g)
    c, scale = unnormalize(g, size, align_corners)
    dweight = None
    if mode == "bicubic":  # padding acts on the taps, so the chain is just dc/dg
        c0 = xp.floor(c)
        t = c - c0
        pos = xp.stack([pad_coordinates(c0 + k, size, padding_mode, align_corners)[0] for k in (-1, 0, 1, 2)])
        weight = xp.stack(_cubic(t))
        if need_grad:
            dweight = xp.stack(_cubic_dt(t)) * scale
    else:
        c, dc = pad_coordinates(c, size, padding_mode, align_corners)
        if mode == "nearest":
            pos = xp.rint(c)[None]
            weight = xp.ones_like(pos)
        else:
            c0 = xp.floor(c)
            t = c - c0
            pos, weight = xp.stack([c0, c0 + 1]), xp.stack([1 - t, t])
            if need_grad:
                d = xp.full_like(t, scale) if dc is None else dc * scale
                dweight = xp.stack([-d, d])
    inside = (pos >= 0) & (pos < size)  # False for NaN
    return AxisTaps(xp.where(inside, pos, 0).astype(np.int64), inside, weight, dweight)


# -- grid_sample: the 2-D taps ----------------------------------------------------------------
class Taps2d(NamedTuple):
    x: AxisTaps  # along W
    y: AxisTaps  # along H
    width: int


def sample_taps(
    grid: Any, in_hw: tuple[int, int], mode: str, padding_mode: str, align_corners: bool, need_grad: bool
) -> Taps2d:
    """The taps of the points of ``grid`` (N, H_out, W_out, 2) in an (H_in, W_in) image."""
    n, ho, wo, _ = grid.shape
    g = grid.astype(compute_dtype(grid.dtype), copy=False).reshape(n, ho * wo, 2)
    h, w = in_hw
    return Taps2d(
        axis_taps(g[..., 0], w, mode, padding_mode, align_corners, need_grad),
        axis_taps(g[..., 1], h, mode, padding_mode, align_corners, need_grad),
        w,
    )


def _corners(taps: Taps2d) -> Iterator[tuple[int, int, Any, Any]]:
    """(j, i, flat index (N, P), inside (N, P)) of every 2-D tap: y tap j, x tap i."""
    tx, ty = taps.x, taps.y
    for j in range(len(ty.index)):
        for i in range(len(tx.index)):
            yield j, i, ty.index[j] * taps.width + tx.index[i], ty.inside[j] & tx.inside[i]


def _open_grid(xf: Any, flat: Any) -> tuple[Any, Any, Any]:
    """Index of xf (N, C, H*W) that picks (N, C, P): batch, channel, flat pixel."""
    xp = backend.get_array_module(xf)
    n, c, _ = xf.shape
    return xp.arange(n).reshape(n, 1, 1), xp.arange(c).reshape(1, c, 1), flat[:, None, :]


def _pixels_last(x: Any, ct: Any) -> Any:
    """x (N, C, H, W) as (N, H*W, C) in the compute dtype: each pixel's channels contiguous, so
    that a gather copies whole rows of C values."""
    n, c, h, w = x.shape
    xp = backend.get_array_module(x)
    return xp.ascontiguousarray(x.astype(ct, copy=False).reshape(n, c, h * w).transpose(0, 2, 1))


def _gather(xt: Any, flat: Any, inside: Any) -> Any:
    """xt (N, H*W, C) at the pixels ``flat`` (N, P) -> (N, P, C); 0 where not inside."""
    xp = backend.get_array_module(xt)
    rows = xt[xp.arange(xt.shape[0])[:, None], flat]
    return xp.where(inside[..., None], rows, 0)


def grid_sample(x: Any, taps: Taps2d, out_hw: tuple[int, int]) -> Any:
    """x (N, C, H_in, W_in) sampled at ``taps`` -> (N, C, H_out, W_out)."""
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    ct = compute_dtype(x.dtype)
    xt = _pixels_last(x, ct)
    y = xp.zeros((n, out_hw[0] * out_hw[1], c), ct)
    for j, i, flat, inside in _corners(taps):
        y += _gather(xt, flat, inside) * (taps.y.weight[j] * taps.x.weight[i])[..., None]
    return y.transpose(0, 2, 1).reshape(n, c, *out_hw).astype(x.dtype)


def grid_sample_backward(
    gy: Any, x: Any, grid_shape: tuple, taps: Taps2d, need_input: bool, need_grid: bool
) -> tuple[Any, Any]:
    """(gx (N, C, H_in, W_in) or None, ggrid (N, H_out, W_out, 2) or None) from gy (N, C, H_out, W_out)."""
    xp = backend.get_array_module(gy)
    n, c, h, w = x.shape
    ct = compute_dtype(x.dtype)
    gyf = gy.astype(ct, copy=False).reshape(n, c, grid_shape[1] * grid_shape[2])
    xf = x.astype(ct, copy=False).reshape(n, c, h * w)
    xt = _pixels_last(x, ct) if need_grid else None
    gyt = xp.ascontiguousarray(gyf.transpose(0, 2, 1)) if need_grid else None  # (N, P, C)
    tx, ty = taps.x, taps.y
    grid_grad = need_grid and tx.dweight is not None
    gx = xp.zeros((n, c, h * w), ct) if need_input else None
    ggx = xp.zeros(gyf.shape[::2], ct) if grid_grad else None
    ggy = xp.zeros(gyf.shape[::2], ct) if grid_grad else None
    for j, i, flat, inside in _corners(taps):
        if need_input:
            weight = xp.where(inside, ty.weight[j] * tx.weight[i], 0)
            add_at(gx, _open_grid(xf, flat), gyf * weight[:, None])
        if grid_grad:
            s = (gyt * _gather(xt, flat, inside)).sum(axis=-1)  # d loss / d weight of this tap (N, P)
            ggx += s * (ty.weight[j] * tx.dweight[i])
            ggy += s * (ty.dweight[j] * tx.weight[i])
    if need_input:
        gx = gx.reshape(x.shape).astype(x.dtype, copy=False)
    ggrid = None
    if grid_grad:
        ggrid = xp.stack([ggx, ggy], axis=-1).reshape(grid_shape).astype(x.dtype, copy=False)
    elif need_grid:  # nearest: zero, as torch
        ggrid = xp.zeros(grid_shape, x.dtype)
    return gx, ggrid
