"""Spatial transformers, 2-D and 3-D: torch's ``affine_grid`` and ``grid_sample``, as gathers.

Shapes, with k = 2 spatial axes (H, W) or k = 3 (D, H, W):
``affine_grid``: theta (N, k, k+1) -> grid (N, *out, k) (out = (H, W) or (D, H, W)).
``grid_sample``: input x (N, C, *in) and grid (N, *out, k) -> y (N, C, *out).
``grid[..., 0]`` is a point's x (along W), ``grid[..., 1]`` its y (along H) and ``grid[..., 2]``
its z (along D), normalised: -1 and +1 are the centres of the corner pixels with
``align_corners=True``, their outer edges without.

affine_grid: the base grid (*out, k+1) holds (x, y[, z], 1) per output pixel, x =
``linspace(-1, 1, W)`` (times (W-1)/W without align_corners, so that the points are pixel
centres; 0 when W == 1) and y, z likewise along H, D; then ``grid[n] = base @ theta[n]^T``,
summed term by term in the order of ``base`` (as torch's batched product, bit for bit).
The linspace is torch's CPU kernel's, bit for bit in float32 and float64 (float16: torch's
Half arithmetic rounds at every step, up to ~1.5e-3 away): ``step = 2/(W-1)``, the first half
``-1 + step*i`` and the second half ``1 - step*(W-1-i)``, each a fused multiply-add (one
rounding, :func:`fma`); then ``* (W-1)`` and ``/ W``, rounded in turn. Backward:
``gtheta[n] = gy[n]^T @ base``.

grid_sample, per output point and axis (an axis of ``size`` pixels), as torch's CPU kernels:

1. unnormalise the grid coordinate g to pixels: ``c = (g+1)/2 * (size-1)`` (align_corners) or
   ``c = (g+1) * (size/2) - 0.5``; ``dc/dg = (size-1)/2`` or ``size/2``. ``g+1`` is rounded,
   then (without align_corners) the rest is one fused multiply-add in 2-D, as torch's
   vectorised 2-D kernel computes it, and ``((g+1)*size - 1)/2``, rounded step by step, in 3-D,
   as its scalar 3-D kernel (GridSampler.h). The rounding decides which pixel a tie picks.
   (Fused as in torch's x86 builds for AVX2 and AVX-512, which its CPUs of the last decade
   run; its baseline build, ATEN_CPU_CAPABILITY=default, rounds the linspace and the 2-D
   unnormalising twice.)
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

Layout: the input is read "pixels last", as rows ``xt[row] = x[n, :, pixel]`` of C values,
with one slice of zeros after the last pixel of every axis: sample n's pixel (d, h, w) is row
``n*(D+1)*(H+1)*(W+1) + (d*(H+1) + h)*(W+1) + w``, and a row with d == D, h == H or w == W
holds zeros. A tap outside the image names index ``size`` along its axis, so every tap's row is
the sum of one *offset* per axis (index times the axis's row stride; the x offsets also carry
the sample's first row), a tap is one ``take`` of N*P rows, and a tap outside costs nothing
special -- not even for a NaN or inf in the input.

What is kept (per axis, (T, N*P) each): the taps' offsets (int32 while the rows fit),
their weights and, when the grid needs a gradient, the weights' derivatives. The K-tap rows and
weights are sums and products of these, formed tap by tap in the forward and again in the
backward (k-1 additions and multiplications of N*P values each: little beside the gather of N*P
rows of C values). 2-D bicubic, float32: 96 bytes per point instead of 320 for all K taps.

Backward: the input gradient scatter-adds ``gy * weight`` onto the taps' rows (the zero slices
collect the outside taps' share and are dropped); the grid gradient is ``sum_c gy * x[tap]``
per tap (d loss / d weight) times the weight's derivative along each grid component -- the
product of that axis's ``dw/dg`` (the weight's derivative times the chain of steps 1-2) with
the other axes' weights; nearest gives a zero grid gradient, as torch.

Cost, with P = prod(out) points and K = T^k taps (bilinear: 4 in 2-D, 8 in 3-D; bicubic, 2-D
only: 16): forward K gathers of N*P rows of C values and ~2*K*N*C*P flops; backward K
scatter-adds of N*C*P values (input) and K more gathers with a sum over C (grid). The loops
over the K taps keep temporaries at the output's size. affine_grid: 2k elementwise passes
over N*P values per grid component; its backward a (k, P) x (P, k+1) product per sample.

Non-finite grid values, one rule in 2-D and 3-D: NaN or +-inf are outside the image for
``zeros`` (NaN weights make a NaN output, as torch's 2-D CPU kernel) and clip to the border
(NaN to 0) for the other modes. (torch's 3-D CPU kernel differs: 0 for such points with
``zeros``, NaN clipped to size-1 with ``border`` and ``reflection``.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .rounding import fma
from .scatter import add_at
from .upsample import CUBIC_A, compute_dtype, cubic_weights

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
MAX_INT32_ROWS = 2**31 - 1  # inputs of up to this many rows (of C values) keep int32 tap offsets


# -- affine_grid ----------------------------------------------------------------------------
def linspace_from_neg_one(steps: int, align_corners: bool, dtype: Any) -> np.ndarray:
    """(steps,) normalised coordinates of the pixel centres along one axis (host array), as
    torch's ``linspace(-1, 1, steps)`` (times ``(steps-1)/steps`` without align_corners)."""
    dtype = np.dtype(dtype).type
    if steps <= 1:
        return np.zeros(steps, dtype)
    step = dtype(2) / dtype(steps - 1)
    i = np.arange(steps)
    first = i < steps // 2  # from -1 upwards; the second half from +1 downwards
    r = fma(
        np.where(first, step, -step).astype(dtype),
        np.where(first, i, steps - 1 - i).astype(dtype),
        np.where(first, -1, 1).astype(dtype),
    )
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
    """theta (N, k, k+1), base (*out, k+1) -> grid (N, *out, k): ``grid[n, ..., i] = x *
    theta[n, i, 0] + y * theta[n, i, 1] (+ z * theta[n, i, 2]) + theta[n, i, k]``, summed in
    this order, every product and sum rounded -- torch's batched product on its AVX2/AVX-512
    builds, bit for bit (a BLAS product rounds in another order)."""
    xp = backend.get_array_module(theta)
    n, k = theta.shape[:2]
    columns = [xp.ascontiguousarray(base[..., j]).reshape(1, -1) for j in range(k)]  # (1, P): x, y[, z]
    grid = xp.empty((n, columns[0].shape[1], k), theta.dtype)
    for i in range(k):
        component = columns[0] * theta[:, i, 0:1]
        for j in range(1, k):
            component = component + columns[j] * theta[:, i, j : j + 1]
        grid[..., i] = component + theta[:, i, k : k + 1]  # base's 1 times the translation: exact
    return grid.reshape(n, *base.shape[:-1], k)


def affine_grid_backward(gy: Any, base: Any) -> Any:
    """gy (N, *out, k), base (*out, k+1) -> gtheta (N, k, k+1)."""
    n, k = gy.shape[0], gy.shape[-1]
    return gy.reshape(n, -1, k).transpose(0, 2, 1) @ base.reshape(-1, k + 1)


# -- grid_sample: coordinates along one axis ------------------------------------------------
def unnormalize(g: Any, size: int, align_corners: bool, fused: bool) -> tuple[Any, float]:
    """Pixel coordinate of the normalised coordinate ``g``, and its derivative dc/dg; ``fused``:
    ``(g+1) * (size/2) - 0.5`` as one multiply-add (torch's 2-D kernel), else step by step."""
    if align_corners:
        return (g + 1) / 2 * (size - 1), (size - 1) / 2
    if fused:
        return fma(g + 1, g.dtype.type(size / 2), g.dtype.type(-0.5)), size / 2
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


def _cubic_dt(t: Any) -> list[Any]:
    """d/dt of the weights of :func:`~minicnn.kernels.upsample.cubic_weights`."""
    a = CUBIC_A

    def near(s: Any) -> Any:
        return (3 * (a + 2) * s - 2 * (a + 3)) * s

    def far(s: Any) -> Any:
        return (3 * a * s - 10 * a) * s + 8 * a

    return [far(t + 1), near(t), -near(1 - t), -far(2 - t)]


class AxisTaps(NamedTuple):
    """The T taps of every point along one axis; each field (T, N*P)."""

    offset: Any  # int row offset: the tap's pixel index (``size`` if outside) times the axis's row stride
    weight: Any  # None for nearest (weight 1)
    dweight: Any  # d weight / d grid coordinate; None when not asked for, and for nearest


class Axis(NamedTuple):
    """One spatial axis of the input, as :func:`axis_taps` reads it."""

    size: int  # pixels
    stride: int  # rows of :func:`pixels_last` between neighbouring pixels
    fused: bool  # unnormalise with one multiply-add (2-D) or step by step (3-D)
    index_dtype: Any  # of the offsets: int32 or int64


def axis_taps(g: Any, axis: Axis, mode: str, padding_mode: str, align_corners: bool, need_grad: bool) -> AxisTaps:
    """Steps 1-3 of the module docstring for the coordinates ``g`` (N*P,) along ``axis``."""
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf coordinates are allowed
        return _axis_taps(g, axis, mode, padding_mode, align_corners, need_grad)


def _axis_taps(g: Any, axis: Axis, mode: str, padding_mode: str, align_corners: bool, need_grad: bool) -> AxisTaps:
    xp = backend.get_array_module(g)
    size = axis.size
    c, scale = unnormalize(g, size, align_corners, axis.fused)
    weight = dweight = None
    if mode == "bicubic":  # padding acts on the taps, so the chain is just dc/dg
        c0 = xp.floor(c)
        t = c - c0
        pos = xp.stack([pad_coordinates(c0 + k, size, padding_mode, align_corners)[0] for k in (-1, 0, 1, 2)])
        weight = xp.stack(cubic_weights(t, fused=False))
        if need_grad:
            dweight = xp.stack(_cubic_dt(t)) * scale
    else:
        c, dc = pad_coordinates(c, size, padding_mode, align_corners)
        if mode == "nearest":
            pos = xp.rint(c)[None]
        else:
            c0 = xp.floor(c)
            t = c - c0
            pos, weight = xp.stack([c0, c0 + 1]), xp.stack([1 - t, t])
            if need_grad:
                d = xp.full_like(t, scale) if dc is None else dc * scale
                dweight = xp.stack([-d, d])
    inside = (pos >= 0) & (pos < size)  # False for NaN
    offset = xp.where(inside, pos, size).astype(axis.index_dtype) * axis.index_dtype(axis.stride)
    return AxisTaps(offset, weight, dweight)


# -- grid_sample: the taps over all axes --------------------------------------------------------
def padded_sizes(in_size: tuple[int, ...]) -> tuple[int, ...]:
    """The spatial sizes of the layout of :func:`pixels_last`: one zero slice more per axis."""
    return tuple(int(s) + 1 for s in in_size)


def sample_taps(
    grid: Any, in_size: tuple[int, ...], mode: str, padding_mode: str, align_corners: bool, need_grad: bool
) -> tuple[AxisTaps, ...]:
    """The taps of the points of ``grid`` (N, *out, k) in an input of spatial size ``in_size``
    ((H, W) or (D, H, W)), one :class:`AxisTaps` per grid component (x, y[, z]): steps 1-3 of
    the module docstring, with offsets into the rows of :func:`pixels_last`."""
    xp = backend.get_array_module(grid)
    n, k, p = grid.shape[0], grid.shape[-1], math.prod(grid.shape[1:-1])
    g = grid.astype(compute_dtype(grid.dtype), copy=False).reshape(n * p, k)
    padded = padded_sizes(in_size)[::-1]  # (W+1, H+1[, D+1]): the axis of grid component i
    index_dtype = np.int32 if n * math.prod(padded) <= MAX_INT32_ROWS else np.int64
    axes, stride = [], 1
    for i in range(k):
        axis = Axis(padded[i] - 1, stride, k == 2, index_dtype)
        axes.append(axis_taps(g[:, i], axis, mode, padding_mode, align_corners, need_grad))
        stride *= padded[i]
    first_rows = xp.repeat(xp.arange(n, dtype=index_dtype) * index_dtype(stride), p)  # (N*P,): each sample's
    axes[0] = axes[0]._replace(offset=axes[0].offset + first_rows)
    return tuple(axes)


def each_tap(taps: tuple[AxisTaps, ...], weights: bool = True) -> Iterator[tuple[Any, Any]]:
    """Step 4: every combination of one tap per axis, the x tap varying slowest, as (rows (N*P,)
    int64, weights (N*P,), or None for nearest or when ``weights`` is False). The sums and
    products over the first axes are shared by the combinations that continue them."""
    with_weights = weights and taps[0].weight is not None

    def combine(i: int, row: Any, weight: Any) -> Iterator[tuple[Any, Any]]:
        if i == len(taps):
            yield row, weight
            return
        a = taps[i]
        for t in range(a.offset.shape[0]):
            if i == 0:  # int64 rows: NumPy's take and add.at are faster with them than with int32
                yield from combine(1, a.offset[t].astype(np.int64), a.weight[t] if with_weights else None)
            else:
                yield from combine(i + 1, row + a.offset[t], None if weight is None else weight * a.weight[t])

    return combine(0, None, None)


def pixels_last(x: Any, dtype: Any) -> Any:
    """x (N, C, *in) as (N*prod(in+1), C) rows in ``dtype``, the layout of the module docstring:
    every spatial axis gets one slice of zeros after its last pixel."""
    xp = backend.get_array_module(x)
    n, c, size = x.shape[0], x.shape[1], x.shape[2:]
    xt = xp.empty((n, *padded_sizes(size), c), dtype)
    xt[(slice(None), *(slice(0, s) for s in size))] = xp.moveaxis(x, 1, -1)
    for i, s in enumerate(size):
        xt[(slice(None),) * (1 + i) + (s,)] = 0
    return xt.reshape(n * math.prod(xt.shape[1:-1]), c)


def grid_sample(x: Any, taps: tuple[AxisTaps, ...], out_size: tuple[int, ...]) -> Any:
    """x (N, C, *in) sampled at ``taps`` -> (N, C, *out)."""
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    xt = pixels_last(x, compute_dtype(x.dtype))
    y = None  # (N*P, C)
    with np.errstate(invalid="ignore"):  # an inf pixel times a zero weight: NaN, quietly as in torch
        for row, weight in each_tap(taps):
            term = xp.take(xt, row, axis=0)
            if weight is not None:
                term *= weight[:, None]
            if y is None:
                y = term
            else:
                y += term
    p = math.prod(out_size)
    return y.reshape(n, p, c).transpose(0, 2, 1).reshape(n, c, *out_size).astype(x.dtype, copy=False)


def grid_sample_backward(
    gy: Any, x: Any, grid_shape: tuple, taps: tuple[AxisTaps, ...], need_input: bool, need_grid: bool
) -> tuple[Any, Any]:
    """(gx (N, C, *in) or None, ggrid (N, *out, k) or None) from gy (N, C, *out)."""
    xp = backend.get_array_module(gy)
    n, c, size = x.shape[0], x.shape[1], x.shape[2:]
    p = math.prod(gy.shape[2:])
    ct = compute_dtype(x.dtype)
    gyt = xp.ascontiguousarray(gy.astype(ct, copy=False).reshape(n, c, p).transpose(0, 2, 1)).reshape(n * p, c)
    grid_grad = need_grid and taps[0].dweight is not None  # nearest: zero, as torch
    gxt = xp.zeros((n * math.prod(padded_sizes(size)), c), ct) if need_input else None
    xt = pixels_last(x, ct) if grid_grad else None
    channel = xp.arange(c)
    dloss_dweight = []  # per tap, (N*P,)
    for row, weight in each_tap(taps, weights=need_input):
        if need_input:
            add_at(gxt, (row[:, None], channel), gyt if weight is None else gyt * weight[:, None])
        if grid_grad:
            dloss_dweight.append(xp.einsum("pc,pc->p", xp.take(xt, row, axis=0), gyt))
    gx = ggrid = None
    if need_input:  # drop the zero slices
        gx = gxt.reshape(n, *padded_sizes(size), c)[(slice(None), *(slice(0, s) for s in size))]
        gx = xp.ascontiguousarray(xp.moveaxis(gx, -1, 1)).astype(x.dtype, copy=False)
    if grid_grad:
        ggrid = _grid_gradient(xp.stack(dloss_dweight), taps).reshape(grid_shape).astype(x.dtype, copy=False)
    elif need_grid:
        ggrid = xp.zeros(grid_shape, x.dtype)
    return gx, ggrid


def _grid_gradient(dloss_dweight: Any, taps: tuple[AxisTaps, ...]) -> Any:
    """(N*P, k) from d loss / d weight (K, N*P) of every tap (in :func:`each_tap`'s order): a
    tap's weight is a product of one weight per axis, so its derivative along grid component i
    is axis i's dweight times the other axes' weights; summed over the taps, one axis at a time."""
    xp = backend.get_array_module(dloss_dweight)
    k, t = len(taps), taps[0].offset.shape[0]
    dloss = dloss_dweight.reshape((t,) * k + dloss_dweight.shape[1:])  # the K taps as (T,) * k, x first
    components = []
    for i in range(k):
        r = dloss
        for j in reversed(range(k)):  # sum out the last tap axis: (..., T, N*P) -> (..., N*P)
            r = xp.einsum("...tp,tp->...p", r, taps[j].dweight if j == i else taps[j].weight)
        components.append(r)
    return xp.stack(components, axis=-1)
