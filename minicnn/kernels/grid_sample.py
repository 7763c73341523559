"""Spatial transformers, 2-D and 3-D: torch's ``affine_grid`` and ``grid_sample``, as gathers.

Shapes, with k = 2 spatial axes (H, W) or k = 3 (D, H, W):
``affine_grid``: theta (N, k, k+1) -> grid (N, *out, k) (out = (H, W) or (D, H, W)).
``grid_sample``: input x (N, C, *in) and grid (N, *out, k) -> y (N, C, *out).
``grid[..., 0]`` is a point's x (along W), ``grid[..., 1]`` its y (along H) and ``grid[..., 2]``
its z (along D), normalised: -1 and +1 are the centres of the corner pixels with
``align_corners=True``, their outer edges without.

affine_grid: the base grid (*out, k+1) holds (x, y[, z], 1) per output pixel, x =
``linspace(-1, 1, W)`` (times (W-1)/W without align_corners, so that the points are pixel
centres; 0 when W == 1) and y, z likewise along H, D; then ``grid[n] = base @ theta[n]^T``.
Backward: ``gtheta[n] = gy[n]^T @ base`` (over the points).

grid_sample, per output point and axis (an axis of ``size`` pixels), as torch's GridSampler.h:

1. unnormalise the grid coordinate g to pixels: ``c = (g+1)/2 * (size-1)`` (align_corners) or
   ``c = ((g+1)*size - 1)/2``; ``dc/dg = (size-1)/2`` or ``size/2``.
2. padding: ``zeros`` leaves c alone (taps outside the image read 0); ``border`` clips c into
   [0, size-1] (gradient 0 outside, and on the bounds); ``reflection`` reflects c about the
   edges -- the corner centres 0 and size-1 with align_corners, the outer edges -0.5 and
   size-0.5 without -- until it lies between them (gradient +1 or -1 by the number of
   reflections), then clips. Bilinear and nearest pad c itself; bicubic pads each integer tap.
3. T taps along the axis: ``nearest``: one, ``rint(c)`` (round half to even), weight 1;
   ``bilinear``: ``floor(c)`` and ``floor(c)+1`` with weights ``1-t`` and ``t``, ``t = c -
   floor(c)``; ``bicubic``: ``floor(c)-1 .. floor(c)+2`` with Keys' cubic convolution weights
   (A = -0.75) at distances ``1+t, t, 1-t, 2-t``.
4. the point's K = T^k taps are every combination of one tap per axis, weighted by the product
   of the axes' weights (bilinear in 3-D: the 8 corners of trilinear interpolation):
   ``y[n, :, p] = sum over taps of weight * x[n, :, tap]``; a tap outside the image reads 0.

Layout: the input is read "pixels last", as rows ``xt[(n, pixel)] = x[n, :, pixel]`` of C
values, with one extra row of zeros after each sample's V = prod(in) pixels. Every tap is one
row number (outside taps name their sample's zero row), so a tap is one ``take`` of N*P rows
and a tap outside costs nothing special -- not even for a NaN or inf in the input.

Backward: the input gradient scatter-adds ``gy * weight`` onto the taps' rows (the zero rows
collect the outside taps' share and are dropped); the grid gradient is ``sum_c gy * x[tap]``
per tap (d loss / d weight) times the weight's derivative along each grid component -- the
product of that axis's ``dw/dg`` (the weight's derivative times the chain of steps 1-2) with
the other axes' weights; nearest gives a zero grid gradient, as torch.

Cost, with P = prod(out) points and K = T^k taps (bilinear: 4 in 2-D, 8 in 3-D; bicubic, 2-D
only: 16): forward K gathers of N*P rows of C values and ~2*K*N*C*P flops; backward K
scatter-adds of N*C*P values (input) and K more gathers with a sum over C (grid). Kept for
the backward: the taps' rows and weights, K*N*P each, and k*K*N*P weight derivatives when the
grid needs a gradient; the loops over the K taps keep temporaries at the output's size.
affine_grid: a (P, k+1) x (k+1, k) product per sample, and the same for its backward.

Non-finite grid values, one rule in 2-D and 3-D: NaN or +-inf are outside the image for
``zeros`` (NaN weights make a NaN output, as torch's 2-D CPU kernel) and clip to the border
(NaN to 0) for the other modes. (torch's 3-D CPU kernel differs: 0 for such points with
``zeros``, NaN clipped to size-1 with ``border`` and ``reflection``.)
"""

from __future__ import annotations

import math
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


def affine_base_grid(size: tuple[int, ...], align_corners: bool, dtype: Any, like: Any) -> Any:
    """(*size, k+1) for the spatial ``size`` (H, W) or (D, H, W): (x, y[, z], 1) per output
    pixel, where ``like`` lives (uploaded once per setting)."""
    size = tuple(int(s) for s in size)
    k = len(size)

    def make() -> np.ndarray:
        base = np.empty((*size, k + 1), dtype)
        for i in range(k):  # component i (x, y, z) runs along spatial axis k-1-i (W, H, D)
            base[..., i] = linspace_from_neg_one(size[k - 1 - i], align_corners, dtype).reshape((-1,) + (1,) * i)
        base[..., k] = 1
        return base

    return backend.device_constant(("affine_base", size, bool(align_corners), np.dtype(dtype).str), make, like)


def affine_grid(theta: Any, base: Any) -> Any:
    """theta (N, k, k+1), base (*out, k+1) -> grid (N, *out, k)."""
    out, k1 = base.shape[:-1], base.shape[-1]
    n = theta.shape[0]
    return (base.reshape(1, -1, k1) @ theta.transpose(0, 2, 1)).reshape(n, *out, k1 - 1)


def affine_grid_backward(gy: Any, base: Any) -> Any:
    """gy (N, *out, k), base (*out, k+1) -> gtheta (N, k, k+1)."""
    n, k = gy.shape[0], gy.shape[-1]
    return gy.reshape(n, -1, k).transpose(0, 2, 1) @ base.reshape(-1, k + 1)


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


# -- grid_sample: the taps over all axes --------------------------------------------------------
class Taps(NamedTuple):
    """Every tap of every point, over the k axes: K = T^k taps, N*P points (P per sample)."""

    row: Any  # (K, N*P) int64 row of the input laid out by pixels_last; an outside tap names a zero row
    weight: Any  # (K, N*P) the product of the axes' weights
    dweight: Any  # (k, K, N*P) d weight / d grid component (x, y[, z]); None: not asked for, or nearest


def sample_taps(
    grid: Any, in_size: tuple[int, ...], mode: str, padding_mode: str, align_corners: bool, need_grad: bool
) -> Taps:
    """The taps of the points of ``grid`` (N, *out, k) in an input of spatial size ``in_size``
    ((H, W) or (D, H, W)): steps 1-4 of the module docstring."""
    xp = backend.get_array_module(grid)
    n, k, p = grid.shape[0], grid.shape[-1], math.prod(grid.shape[1:-1])
    g = grid.astype(compute_dtype(grid.dtype), copy=False).reshape(n, p, k)
    sizes = tuple(int(s) for s in in_size[::-1])  # (W, H[, D]): the axis of grid component i
    axes = [axis_taps(g[..., i], sizes[i], mode, padding_mode, align_corners, need_grad) for i in range(k)]
    t = axes[0].index.shape[0]

    def spread(a: Any, i: int) -> Any:
        """Component i's (T, N, P) with its T along axis i of the (T,) * k taps."""
        return a.reshape((1,) * i + (t,) + (1,) * (k - 1 - i) + a.shape[1:])

    pixel, inside, stride = 0, True, 1
    for i, a in enumerate(axes):
        pixel = pixel + spread(a.index, i) * stride
        inside = inside & spread(a.inside, i)
        stride *= sizes[i]
    v = stride  # pixels per sample; row v of each sample is the zero row
    row = xp.where(inside, pixel, v) + xp.arange(n).reshape(n, 1) * (v + 1)
    weights = [spread(a.weight, i) for i, a in enumerate(axes)]
    dweight = None
    if axes[0].dweight is not None:  # d weight / d component i: axis i's dweight times the other axes' weights
        dweight = xp.stack(
            [
                math.prod(spread(a.dweight, i) if j == i else w for j, w in enumerate(weights))
                for i, a in enumerate(axes)
            ]
        ).reshape(k, t**k, n * p)
    return Taps(row.reshape(t**k, n * p), math.prod(weights).reshape(t**k, n * p), dweight)


def pixels_last(x: Any, dtype: Any) -> Any:
    """x (N, C, *in) as (N*(V+1), C) rows in ``dtype``: sample n's pixel q (flat, V = prod(in)
    per sample) is row n*(V+1) + q, and row n*(V+1) + V holds zeros."""
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    v = math.prod(x.shape[2:])
    xt = xp.empty((n, v + 1, c), dtype)
    xt[:, :v] = x.reshape(n, c, v).transpose(0, 2, 1)
    xt[:, v] = 0
    return xt.reshape(n * (v + 1), c)


def grid_sample(x: Any, taps: Taps, out_size: tuple[int, ...]) -> Any:
    """x (N, C, *in) sampled at ``taps`` -> (N, C, *out)."""
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    ct = compute_dtype(x.dtype)
    xt = pixels_last(x, ct)
    y = xp.zeros((taps.row.shape[1], c), ct)  # (N*P, C)
    with np.errstate(invalid="ignore"):  # an inf pixel times a zero weight: NaN, quietly as in torch
        for row, weight in zip(taps.row, taps.weight):
            y += xp.take(xt, row, axis=0) * weight[:, None]
    p = math.prod(out_size)
    return y.reshape(n, p, c).transpose(0, 2, 1).reshape(n, c, *out_size).astype(x.dtype, copy=False)


def grid_sample_backward(
    gy: Any, x: Any, grid_shape: tuple, taps: Taps, need_input: bool, need_grid: bool
) -> tuple[Any, Any]:
    """(gx (N, C, *in) or None, ggrid (N, *out, k) or None) from gy (N, C, *out)."""
    xp = backend.get_array_module(gy)
    n, c = x.shape[:2]
    v, p = math.prod(x.shape[2:]), math.prod(gy.shape[2:])
    ct = compute_dtype(x.dtype)
    gyt = xp.ascontiguousarray(gy.astype(ct, copy=False).reshape(n, c, p).transpose(0, 2, 1)).reshape(n * p, c)
    gx = ggrid = None
    if need_input:
        gxt = xp.zeros((n * (v + 1), c), ct)
        channel = xp.arange(c)
        for row, weight in zip(taps.row, taps.weight):
            add_at(gxt, (row[:, None], channel), gyt * weight[:, None])
        gx = xp.ascontiguousarray(gxt.reshape(n, v + 1, c)[:, :v].transpose(0, 2, 1))  # drops the zero rows
        gx = gx.reshape(x.shape).astype(x.dtype, copy=False)
    if need_grid and taps.dweight is not None:
        xt = pixels_last(x, ct)
        dloss_dweight = xp.stack([xp.einsum("pc,pc->p", xp.take(xt, row, axis=0), gyt) for row in taps.row])
        ggrid = xp.einsum("kp,ikp->pi", dloss_dweight, taps.dweight).reshape(grid_shape).astype(x.dtype, copy=False)
    elif need_grid:  # nearest: zero, as torch
        ggrid = xp.zeros(grid_shape, x.dtype)
    return gx, ggrid
