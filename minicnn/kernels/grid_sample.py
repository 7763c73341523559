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
Without a backward nothing is kept: the taps are made and used one block of points at a time.

Memory: the gathers, weightings and sums run over blocks of about ``BLOCK_VALUES`` values
(points times channels), into buffers reused tap after tap, in place, the points in the order
of one pass (so every bit is the same). Peaks (float32, 3 channels, bilinear, 2-D), in units of
the input: forward without grad ~2.2 (the zero-padded copy of the input, the output rows and
their transpose), the backward ~6.8 (the input and output gradient rows, the input rows and the
K d loss / d weight values per point).

Backward: the input gradient scatter-adds ``gy * weight`` onto the taps' rows (the zero slices
collect the outside taps' share and are dropped); the grid gradient is ``sum_c gy * x[tap]``
per tap (d loss / d weight) times the weight's derivative along each grid component -- the
product of that axis's ``dw/dg`` (the weight's derivative times the chain of steps 1-2) with
the other axes' weights; nearest gives a zero grid gradient, as torch.

Cost, with P = prod(out) points and K = T^k taps (bilinear: 4 in 2-D, 8 in 3-D; bicubic, 2-D
only: 16): forward K gathers of N*P rows of C values and ~2*K*N*C*P flops; backward K
scatter-adds of N*C*P values (input) and K more gathers with a sum over C (grid). The loops
over the K taps and the blocks keep temporaries at a block's size. affine_grid: 2k elementwise passes
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
BLOCK_VALUES = 2**16  # values (points times channels) of the temporaries of one block of points


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
    """Pixel coordinate of the normalised coordinate ``g`` (a new array), and its derivative
    dc/dg; ``fused``: ``(g+1) * (size/2) - 0.5`` as one multiply-add (torch's 2-D kernel), else
    step by step. Each step in place, rounded as the expressions of the module docstring."""
    c = g + 1
    if align_corners:
        c /= 2
        c *= size - 1
        return c, (size - 1) / 2
    if not fused:
        c *= size
        c -= 1
        c /= 2
        return c, size / 2
    if c.dtype == np.float64:
        return fma(c, c.dtype.type(size / 2), c.dtype.type(-0.5)), size / 2
    # float32: as :func:`~minicnn.kernels.rounding.fma` does it, in float64 (exact) and rounded
    # once, with one float64 temporary
    wide = c.astype(np.float64)
    del c
    wide *= size / 2
    wide -= 0.5
    return wide.astype(np.float32), size / 2


def reflect_coordinates(c: Any, twice_low: int, twice_high: int) -> tuple[Any, Any]:
    """``c`` reflected about low and high until it lies between them, and dc'/dc (+-1), both
    shaped like c (any shape). The bounds come doubled so that half-pixel edges stay integers.
    Cost: about 10 elementwise passes over c."""
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
    """:func:`axis_taps` without the error state: for g (M,) the (T, M) offsets, weights and
    d(weight)/dg of the T taps along ``axis`` (T = 1 nearest, 2 bilinear, 4 bicubic; weights None
    for nearest, d(weight)/dg None without ``need_grad``). Cost: about 3T + 10 elementwise passes
    over M; the only loop is over the 4 bicubic taps."""
    xp = backend.get_array_module(g)
    size = axis.size
    c, scale = unnormalize(g, size, align_corners, axis.fused)
    weight = dweight = None
    if mode == "bicubic":  # padding acts on the taps, so the chain is just dc/dg
        c0 = xp.floor(c)
        t = c - c0
        del c
        offset = xp.empty((4, t.size), axis.index_dtype)
        for k in range(4):  # k-1 = -1, 0, 1, 2
            _set_offsets(offset[k], pad_coordinates(c0 + (k - 1), size, padding_mode, align_corners)[0], axis)
        del c0
        weight = xp.stack(cubic_weights(t, fused=False))
        if need_grad:
            dweight = xp.stack(_cubic_dt(t))
            dweight *= scale
        return AxisTaps(offset, weight, dweight)
    c, dc = pad_coordinates(c, size, padding_mode, align_corners)
    if mode == "nearest":
        offset = xp.empty((1, c.size), axis.index_dtype)
        _set_offsets(offset[0], xp.rint(c), axis)
        return AxisTaps(offset, None, None)
    c0 = xp.floor(c)
    offset = xp.empty((2, c.size), axis.index_dtype)
    _set_offsets(offset[0], c0, axis)
    weight = xp.empty((2, c.size), c.dtype)
    xp.subtract(c, c0, out=weight[1])  # t
    del c
    c0 += 1
    _set_offsets(offset[1], c0, axis)
    del c0
    xp.subtract(1, weight[1], out=weight[0])  # 1 - t
    if need_grad:
        dweight = xp.empty_like(weight)
        if dc is None:
            dweight[1] = scale
        else:
            xp.multiply(dc, scale, out=dweight[1])
        xp.negative(dweight[1], out=dweight[0])
    return AxisTaps(offset, weight, dweight)


def _set_offsets(out: Any, pos: Any, axis: Axis) -> None:
    """``out[:] = (pos if 0 <= pos < size else size) * stride`` for the integral float tap
    positions ``pos`` (NaN: outside), written into the int array ``out``."""
    xp = backend.get_array_module(pos)
    inside = pos >= 0
    inside &= pos < axis.size  # False for NaN
    out[...] = axis.size
    xp.copyto(out, pos, where=inside, casting="unsafe")
    out *= axis.index_dtype(axis.stride)


# -- grid_sample: the taps over all axes --------------------------------------------------------
def padded_sizes(in_size: tuple[int, ...]) -> tuple[int, ...]:
    """The spatial sizes of the layout of :func:`pixels_last`: one zero slice more per axis."""
    return tuple(int(s) + 1 for s in in_size)


def sample_taps(
    grid: Any,
    in_size: tuple[int, ...],
    mode: str,
    padding_mode: str,
    align_corners: bool,
    need_grad: bool,
    points: slice | None = None,
) -> tuple[AxisTaps, ...]:
    """The taps of the points of ``grid`` (N, *out, k) in an input of spatial size ``in_size``
    ((H, W) or (D, H, W)), one :class:`AxisTaps` per grid component (x, y[, z]): steps 1-3 of
    the module docstring, with offsets into the rows of :func:`pixels_last`. ``points``: only
    those of the N*P points (a slice of them in order), else all."""
    xp = backend.get_array_module(grid)
    n, k, p = grid.shape[0], grid.shape[-1], math.prod(grid.shape[1:-1])
    g = grid.reshape(n * p, k)
    if points is not None:
        g = g[points]
    g = g.astype(compute_dtype(grid.dtype), copy=False)
    padded = padded_sizes(in_size)[::-1]  # (W+1, H+1[, D+1]): the axis of grid component i
    index_dtype = np.int32 if n * math.prod(padded) <= MAX_INT32_ROWS else np.int64
    axes, stride = [], 1
    for i in range(k):
        axis = Axis(padded[i] - 1, stride, k == 2, index_dtype)
        axes.append(axis_taps(g[:, i], axis, mode, padding_mode, align_corners, need_grad))
        stride *= padded[i]
    offset = axes[0].offset  # the x offsets also carry each point's sample's first row
    if points is None:
        first_rows = xp.arange(n, dtype=index_dtype) * index_dtype(stride)  # (N,): each sample's
        offset.reshape(offset.shape[0], n, p)[...] += first_rows[:, None]
    else:
        sample = xp.arange(points.start, points.stop, dtype=index_dtype) // index_dtype(p)
        offset += sample * index_dtype(stride)
    return tuple(axes)


def each_tap(taps: tuple[AxisTaps, ...], weights: bool = True) -> Iterator[tuple[Any, Any]]:
    """Step 4: every combination of one tap per axis, the x tap varying slowest, as (rows (N*P,)
    int64, weights (N*P,), or None for nearest or when ``weights`` is False). The sums and
    products over the first axes are shared by the combinations that continue them, and written
    into one buffer per axis, reused: a yielded pair is overwritten by the next one."""
    xp = backend.get_array_module(taps[0].offset)
    with_weights = weights and taps[0].weight is not None
    m, k = taps[0].offset.shape[1], len(taps)
    # rows: the partial sums in the offsets' type, the full ones in int64 (NumPy's take and add.at
    # are faster with them than with int32); one axis alone: its offsets, widened
    rows = [xp.empty(m, taps[0].offset.dtype) for _ in range(k - 2)] + [xp.empty(m, np.int64)]
    products = [xp.empty(m, taps[0].weight.dtype) for _ in range(k - 1)] if with_weights else None

    return _combine(taps, 0, None, None, rows, products)


def _combine(taps: tuple[AxisTaps, ...], i: int, row: Any, weight: Any, rows: list, products: list | None) -> Iterator:
    """:func:`each_tap` from axis ``i`` on, given the partial ``row`` and ``weight`` of the axes
    before it (a module-level function: a closure calling itself would keep its buffers in a
    reference cycle until the garbage collector runs)."""
    if i == len(taps):
        yield row, weight
        return
    xp = backend.get_array_module(taps[i].offset)
    a = taps[i]
    for t in range(a.offset.shape[0]):
        if i == 0:
            first = a.offset[t] if len(taps) > 1 else a.offset[t].astype(np.int64)
            yield from _combine(taps, 1, first, None if products is None else a.weight[t], rows, products)
        else:
            yield from _combine(
                taps,
                i + 1,
                xp.add(row, a.offset[t], out=rows[i - 1]),
                None if products is None else xp.multiply(weight, a.weight[t], out=products[i - 1]),
                rows,
                products,
            )


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


def take_rows(table: Any, rows: Any, out: Any) -> Any:
    """``out[:] = table[rows]`` for rows of a 2-D ``table`` (R, K), rows (M,), out (M, K): one
    gather, one pass over out. NumPy buffers ``take``'s ``out``
    with its default ``mode="raise"``; the rows are always in range, so "clip" (which then
    clips nothing) writes straight into ``out``."""
    if backend.get_array_module(table) is np:
        return np.take(table, rows, axis=0, out=out, mode="clip")
    return table.take(rows, axis=0, out=out)


def point_blocks(taps: tuple[AxisTaps, ...], channels: int) -> Iterator[tuple[slice, tuple[AxisTaps, ...]]]:
    """The N*P points in blocks of about :data:`BLOCK_VALUES` / ``channels`` points, each as
    (its slice, the taps of its points): the per-tap temporaries (rows, weights, gathered
    values) then stay at a block's size, whatever the batch (a loop over blocks, not pixels)."""
    m = taps[0].offset.shape[1]
    step = max(1, BLOCK_VALUES // max(channels, 1))
    for start in range(0, m, step):
        block = slice(start, min(start + step, m))
        yield block, tuple(AxisTaps(*(None if f is None else f[:, block] for f in a)) for a in taps)


def grid_sample(x: Any, taps: tuple[AxisTaps, ...], out_size: tuple[int, ...]) -> Any:
    """x (N, C, *in) sampled at ``taps`` -> (N, C, *out). Block by block of points, each tap's
    rows are gathered into the output rows (the first tap) or into a block buffer, weighted and
    added in place; then the (N*P, C) rows are transposed to (N, C, P)."""
    n, c = x.shape[:2]
    xt = pixels_last(x, compute_dtype(x.dtype))
    y, buffer = _sampling_buffers(xt, n * math.prod(out_size))
    for block, block_taps in point_blocks(taps, c):
        _sample_block(xt, block_taps, y[block], buffer)
    del xt, buffer
    return _channels_first(y, x, out_size)


def grid_sample_no_grad(x: Any, grid: Any, mode: str, padding_mode: str, align_corners: bool) -> Any:
    """x (N, C, *in) sampled at the points of grid (N, *out, k) -> (N, C, *out), as
    :func:`sample_taps` and :func:`grid_sample`, for no backward: the taps of one block of
    points at a time, so that no taps of all N*P points are held."""
    n, c = x.shape[:2]
    out_size = grid.shape[1:-1]
    xt = pixels_last(x, compute_dtype(x.dtype))
    y, buffer = _sampling_buffers(xt, n * math.prod(out_size))
    step = max(1, BLOCK_VALUES // max(c, 1))
    for start in range(0, y.shape[0], step):
        block = slice(start, min(start + step, y.shape[0]))
        taps = sample_taps(grid, x.shape[2:], mode, padding_mode, align_corners, False, points=block)
        _sample_block(xt, taps, y[block], buffer)
    del xt, buffer
    return _channels_first(y, x, out_size)


def _sampling_buffers(xt: Any, points: int) -> tuple[Any, Any]:
    """The output rows (N*P, C) and a block's buffer."""
    xp = backend.get_array_module(xt)
    c = xt.shape[1]
    return xp.empty((points, c), xt.dtype), xp.empty((min(points, max(1, BLOCK_VALUES // max(c, 1))), c), xt.dtype)


def _sample_block(xt: Any, taps: tuple[AxisTaps, ...], y_block: Any, buffer: Any) -> None:
    """``y_block`` (points, C) = the weighted sum of the rows of ``xt`` at the points' ``taps``."""
    term = buffer[: y_block.shape[0]]
    with np.errstate(invalid="ignore"):  # an inf pixel times a zero weight: NaN, quietly as in torch
        for i, (row, weight) in enumerate(each_tap(taps)):
            target = y_block if i == 0 else term
            take_rows(xt, row, target)
            if weight is not None:
                target *= weight[:, None]
            if i > 0:
                y_block += term


def _channels_first(y: Any, x: Any, out_size: tuple[int, ...]) -> Any:
    """The rows y (N*P, C) as (N, C, *out) in x's dtype."""
    xp = backend.get_array_module(y)
    n, c = x.shape[:2]
    out = xp.ascontiguousarray(y.reshape(n, math.prod(out_size), c).transpose(0, 2, 1))
    del y
    return out.reshape(n, c, *out_size).astype(x.dtype, copy=False)


def grid_sample_backward(
    gy: Any, x: Any, grid_shape: tuple, taps: tuple[AxisTaps, ...], need_input: bool, need_grid: bool
) -> tuple[Any, Any]:
    """(gx (N, C, *in) or None, ggrid (N, *out, k) or None) from gy (N, C, *out). Tap by tap,
    in blocks of points (as the forward): the scatter-add's positions and weighted values, and
    the gathered input rows, stay at a block's size; the points in the same order as one pass."""
    xp = backend.get_array_module(gy)
    n, c, size = x.shape[0], x.shape[1], x.shape[2:]
    p = math.prod(gy.shape[2:])
    ct = compute_dtype(x.dtype)
    gyt = xp.ascontiguousarray(gy.astype(ct, copy=False).reshape(n, c, p).transpose(0, 2, 1)).reshape(n * p, c)
    grid_grad = need_grid and taps[0].dweight is not None  # nearest: zero, as torch
    gxt = xp.zeros((n * math.prod(padded_sizes(size)), c), ct) if need_input else None
    xt = pixels_last(x, ct) if grid_grad else None
    channel = xp.arange(c)
    m = n * p
    step = max(1, BLOCK_VALUES // max(c, 1))
    buffer = xp.empty((min(m, step), c), ct)
    taps_count = math.prod(a.offset.shape[0] for a in taps)
    dloss_dweight = xp.empty((taps_count, m), ct) if grid_grad else None  # per tap, (N*P,)
    for i, (row, weight) in enumerate(each_tap(taps, weights=need_input)):
        for start in range(0, m, step):
            block = slice(start, min(start + step, m))
            values = buffer[: block.stop - start]
            if need_input:
                if weight is None:
                    values[...] = gyt[block]
                else:
                    xp.multiply(gyt[block], weight[block, None], out=values)
                add_at(gxt, (row[block, None], channel), values)
            if grid_grad:
                dloss_dweight[i, block] = xp.einsum("pc,pc->p", take_rows(xt, row[block], values), gyt[block])
    del gyt, xt, buffer
    gx = ggrid = None
    if need_input:  # drop the zero slices
        gx = gxt.reshape(n, *padded_sizes(size), c)[(slice(None), *(slice(0, s) for s in size))]
        del gxt
        gx = xp.ascontiguousarray(xp.moveaxis(gx, -1, 1)).astype(x.dtype, copy=False)
    if grid_grad:
        ggrid = _grid_gradient(dloss_dweight, taps).reshape(grid_shape).astype(x.dtype, copy=False)
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
