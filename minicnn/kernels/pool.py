"""Pooling kernels on NCHW arrays: max, average, adaptive average and adaptive max.

Shapes: x (N, C, H, W) -> y (N, C, OH, OW). Per spatial axis, with kernel k, stride s,
padding p and dilation d (torch's rule)::

    out = floor((in + 2*p - d*(k-1) - 1) / s) + 1

``ceil_mode`` rounds up instead, but drops the last window if it would start past the input
and its left padding ((out-1)*s >= in + p), so every window starts on real data or left padding.

How the fixed-window kernels work: loop over the k_h*k_w kernel offsets, never over pixels.
Offset (i, j) of every window at once is one strided view of the (padded) input::

    x_pad[:, :, i*d : i*d + s*(OH-1) + 1 : s,  j*d : j*d + s*(OW-1) + 1 : s]   # (N, C, OH, OW)

Max pooling keeps a running maximum over these views; average pooling sums them. Average
pooling's backward walks the same views and adds the output gradient into the matching strided
view of the input gradient: overlapping windows (stride < kernel) simply accumulate. Max
pooling's backward routes each gradient to its window's maximum. When the windows tile the input
(stride == kernel, no padding or dilation, sizes divisible) each input pixel has exactly one
window, and backward writes the routed gradients straight into gx viewed as
(N, C, OH, kh, OW, kw): no zero fill, no accumulation. Overlapping windows on the CPU add all
gradients at their maxima's flat positions in one ``np.bincount`` (a scatter-add); on CuPy
arrays the array code makes one masked pass per offset instead (the CUDA kernel gathers).

Cost (M = N*C*OH*OW output pixels, K = k_h*k_w offsets): forward and backward each make O(K)
elementwise passes over M elements. Extra memory: a padded copy of x when padding or
ceil_mode need one, and for max-pool backward one small integer per output pixel (the offset
number of the argmax; uint8 for kernels up to 255 offsets).

Adaptive pooling splits an axis of length ``in`` into ``out`` bins, bin i covering
[floor(i*in/out), ceil((i+1)*in/out)); neighbouring bins overlap when ``out`` does not divide
``in``. Adaptive average pooling reshapes and averages when the bins tile the input, and
otherwise sums each axis's bins over the few offsets within a bin (separable: rows, then
columns), so that a non-finite pixel stays in its bins; adaptive max pooling is the separable
scan of :mod:`minicnn.kernels.pool3d` (columns, then rows; one argmax for a single bin), and its
backward one scatter-add.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..backend import get_array_module
from . import cuda

IntPair = int | tuple[int, int]


def pair(v: IntPair, name: str = "value", op: str = "pool") -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 2) -> (3, 2)``; anything else is a ValueError naming ``op``."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    if isinstance(v, (tuple, list)) and len(v) == 1:
        return int(v[0]), int(v[0])
    if isinstance(v, (tuple, list)) and len(v) == 2:
        return int(v[0]), int(v[1])
    raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Number of windows along one axis (torch's formula, including its ceil_mode rule)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window would start in the right padding: drop it
    return out


class PoolGeometry(NamedTuple):
    """Everything a fixed-window pooling kernel needs, per axis (h, w)."""

    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    dh: int
    dw: int
    oh: int
    ow: int


def pool_geometry(
    x_shape: tuple[int, ...],
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    op: str = "pool2d",
) -> PoolGeometry:
    """Validate the settings like torch does and compute the output size. x_shape: (N, C, H, W)."""
    kh, kw = pair(kernel_size, "kernel_size", op)
    sh, sw = (kh, kw) if stride is None or stride == () or stride == [] else pair(stride, "stride", op)
    ph, pw = pair(padding, "padding", op)
    dh, dw = pair(dilation, "dilation", op)
    if min(kh, kw) <= 0 or min(sh, sw) <= 0 or min(dh, dw) <= 0:
        raise ValueError(
            f"{op}: kernel_size, stride and dilation must be positive, "
            f"got kernel_size={(kh, kw)}, stride={(sh, sw)}, dilation={(dh, dw)}"
        )
    if ph < 0 or pw < 0 or ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"{op}: padding must be between 0 and half the kernel size, "
            f"got padding={(ph, pw)} for kernel_size={(kh, kw)}"
        )
    H, W = x_shape[-2:]
    oh = pool_output_size(H, kh, sh, ph, dh, ceil_mode)
    ow = pool_output_size(W, kw, sw, pw, dw, ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{op}: input of shape {tuple(x_shape)} is too small for kernel_size={(kh, kw)}, "
            f"stride={(sh, sw)}, padding={(ph, pw)}, dilation={(dh, dw)}: "
            f"the output would be {oh}x{ow}"
        )
    return PoolGeometry(kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


def _padded_extent(g: PoolGeometry) -> tuple[int, int]:
    """Rows and columns of the padded input that the windows actually read."""
    return (g.oh - 1) * g.sh + g.dh * (g.kh - 1) + 1, (g.ow - 1) * g.sw + g.dw * (g.kw - 1) + 1


def _pad(x: Any, g: PoolGeometry, value: float) -> Any:
    """x placed at (ph, pw) in an array of the padded extent, filled with ``value``.
    Returns x itself when no padding is needed (the windows then read inside x)."""
    H, W = x.shape[-2:]
    hp, wp = _padded_extent(g)
    if g.ph == 0 and g.pw == 0 and hp <= H and wp <= W:
        return x
    xp = get_array_module(x)
    out = xp.full(x.shape[:-2] + (hp, wp), value, dtype=x.dtype)
    h, w = min(H, hp - g.ph), min(W, wp - g.pw)  # ceil_mode may read past x, floor may stop short
    out[..., g.ph : g.ph + h, g.pw : g.pw + w] = x[..., :h, :w]
    return out


def _window_view(a: Any, g: PoolGeometry, i: int, j: int) -> Any:
    """Kernel offset (i, j) of every window: a strided (N, C, OH, OW) view of padded ``a``."""
    r, c = i * g.dh, j * g.dw
    return a[..., r : r + g.sh * (g.oh - 1) + 1 : g.sh, c : c + g.sw * (g.ow - 1) + 1 : g.sw]


def _offsets(g: PoolGeometry) -> list[tuple[int, int, int]]:
    """(k, i, j) for every kernel offset in row-major order: torch's window scan order."""
    return [(i * g.kw + j, i, j) for i in range(g.kh) for j in range(g.kw)]


def _grad_buffer_shape(x_shape: tuple[int, ...], g: PoolGeometry) -> tuple[int, int]:
    """(rows, columns) covering both the padded extent and the input (so the input can be cut out)."""
    hp, wp = _padded_extent(g)
    H, W = x_shape[-2:]
    return max(hp, g.ph + H), max(wp, g.pw + W)


def _grad_buffer(x_shape: tuple[int, ...], g: PoolGeometry, xp: Any, dtype: Any) -> Any:
    """Zeros of :func:`_grad_buffer_shape` for each input plane."""
    return xp.zeros(tuple(x_shape[:-2]) + _grad_buffer_shape(x_shape, g), dtype=dtype)


def _crop(gx_pad: Any, x_shape: tuple[int, ...], g: PoolGeometry) -> Any:
    H, W = x_shape[-2:]
    if gx_pad.shape[-2:] == (H, W):
        return gx_pad
    return get_array_module(gx_pad).ascontiguousarray(gx_pad[..., g.ph : g.ph + H, g.pw : g.pw + W])


# -- max pooling --------------------------------------------------------------------------------
def max_pool2d_forward(
    x: Any,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    with_argmax: bool = False,
) -> tuple[Any, Any]:
    """y (N, C, OH, OW) and, if ``with_argmax``, the kernel offset k = i*kw + j of each output's
    maximum (else None). Padding holds -inf, so it never wins against real (finite) data.

    Ties go to the first maximum in row-major window order and NaN wins, exactly torch's
    ``if (val > maxval || isnan(val))``: a later offset replaces the running max only if it is
    strictly greater (or NaN). torch starts that scan from -inf with the index of the window's
    first *real* pixel, so a window whose real pixels are all -inf points at its first real
    pixel, never into the padding: with padding, outputs equal to -inf get that offset
    (:func:`_first_real_offsets`; on the CPU only when some output is -inf).

    Cost (M = N*C*OH*OW outputs, K = kh*kw offsets): O(K) elementwise passes over M (a compare and
    selects per offset), no loop over pixels; a padded copy of x when padding or ceil_mode need one.
    """
    if cuda.enabled_for(x):
        return cuda.pool.max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode, with_argmax)
    xp = get_array_module(x)
    g = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    x_pad = _pad(x, g, -np.inf)
    offsets = _offsets(g)
    y = _window_view(x_pad, g, 0, 0).copy()
    if not with_argmax:
        for _, i, j in offsets[1:]:
            xp.maximum(y, _window_view(x_pad, g, i, j), out=y)  # maximum propagates NaN, as torch does
        return y, None

    index_dtype = np.uint8 if len(offsets) <= 255 else np.int32
    if xp is not np:  # on a GPU, asking whether y holds a NaN would wait for it: take the NaN rule at once
        return _max_pool2d_nan_scan(x_pad, g, offsets, index_dtype)
    # Each offset's view is copied once into a contiguous buffer: the comparisons and updates
    # below then run on contiguous memory, several times faster than on the strided view.
    argmax = xp.zeros(y.shape, dtype=index_dtype)
    win = xp.empty_like(y)
    better = xp.empty(y.shape, dtype=bool)
    candidate = xp.empty_like(argmax)
    for k, i, j in offsets[1:]:
        xp.copyto(win, _window_view(x_pad, g, i, j))
        xp.greater(win, y, out=better)
        # argmax = where(better, k, argmax), written branch-free (a masked write is several
        # times slower): offsets come in increasing k, so every stored argmax is below k and
        # max(argmax, better*k) picks k exactly where better.
        xp.multiply(better, argmax.dtype.type(k), out=candidate)
        xp.maximum(argmax, candidate, out=argmax)
        xp.maximum(y, win, out=y)
    if xp.isnan(y).any():  # rare: redo the scan with torch's NaN rule (a NaN always wins)
        return _max_pool2d_nan_scan(x_pad, g, offsets, argmax.dtype)
    return y, _point_neg_inf_at_real_pixels(y, argmax, g)


def _first_real_offsets(g: PoolGeometry, dtype: Any) -> np.ndarray:
    """(OH, OW): the offset k = i0*kw + j0 of each window's first real (unpadded) pixel in
    row-major order, i0 the first tap with oh*sh - ph + i0*dh >= 0 (likewise j0): where torch's
    scan starts. Kept inside the kernel (i0 <= kh-1) for a window with no real pixel at all,
    whose index torch leaves meaningless."""

    def first(out: int, s: int, p: int, d: int, k: int) -> np.ndarray:
        before = p - np.arange(out) * s  # padding rows in front of the window's first tap
        return np.clip(-(-before // d), 0, k - 1)

    k0 = first(g.oh, g.sh, g.ph, g.dh, g.kh)[:, None] * g.kw + first(g.ow, g.sw, g.pw, g.dw, g.kw)[None, :]
    return k0.astype(dtype)


def _point_neg_inf_at_real_pixels(y: Any, argmax: Any, g: PoolGeometry) -> Any:
    """argmax where every output equal to -inf (all its real pixels -inf, or none real) points at
    its window's first real pixel, as torch's. Only padding can make the scan's offset differ:
    without it tap 0 is always real. On a GPU one ``where`` (asking whether any output is -inf
    would wait for the device); on the CPU a comparison, and the fix only where needed."""
    if g.ph == 0 and g.pw == 0:
        return argmax
    xp = get_array_module(y)
    neg = y == -np.inf
    if xp is np and not neg.any():
        return argmax
    k0 = backend.device_constant(
        ("max_pool2d_first_real", g, argmax.dtype.str), lambda: _first_real_offsets(g, argmax.dtype), argmax
    )
    return xp.where(neg, k0, argmax)


def _max_pool2d_nan_scan(x_pad: Any, g: PoolGeometry, offsets: list, index_dtype: Any) -> tuple[Any, Any]:
    """The argmax scan of :func:`max_pool2d_forward` with ``better = (val > max) | isnan(val)``:
    the last NaN of a window wins, as in torch. Only run when the output holds a NaN (the
    comparisons without the isnan test are cheaper and agree wherever there is none)."""
    xp = get_array_module(x_pad)
    y = _window_view(x_pad, g, 0, 0).copy()
    argmax = xp.zeros(y.shape, dtype=index_dtype)
    for k, i, j in offsets[1:]:
        win = _window_view(x_pad, g, i, j)
        better = (win > y) | xp.isnan(win)
        argmax = xp.maximum(argmax, better * argmax.dtype.type(k))
        y = xp.where(better, win, y)
    return y, _point_neg_inf_at_real_pixels(y, argmax, g)


def max_pool2d_backward(
    gy: Any,
    argmax: Any,
    x_shape: tuple[int, ...],
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> Any:
    """gx (x_shape): each output gradient goes to the input pixel its window's maximum came from.

    For each kernel offset k, the outputs whose argmax is k add their gradient into the strided
    view of gx at that offset; overlapping windows accumulate. Cost: K masked passes over the M
    outputs plus a zeroed (padded) gx; tiling windows write gx once per offset with no zero fill
    (:func:`_max_pool2d_backward_tiles`), and overlapping ones on the CPU take a single bincount
    (:func:`_max_pool2d_backward_scatter`).
    """
    if cuda.enabled_for(gy, argmax):
        return cuda.pool.max_pool2d_backward(gy, argmax, x_shape, kernel_size, stride, padding, dilation, ceil_mode)
    xp = get_array_module(gy)
    g = pool_geometry(x_shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    if _tiles(x_shape, g):
        return _max_pool2d_backward_tiles(gy, argmax, x_shape, g)
    if xp is np:
        return _max_pool2d_backward_scatter(gy, argmax, x_shape, g)
    gx_pad = _grad_buffer(x_shape, g, xp, gy.dtype)
    zero = gy.dtype.type(0)
    for k, i, j in _offsets(g):
        # the gradients whose maximum sat at offset k; where, not gy * mask: 0 * inf would be NaN
        _window_view(gx_pad, g, i, j)[...] += xp.where(argmax == k, gy, zero)
    return _crop(gx_pad, x_shape, g)


def _max_pool2d_backward_scatter(gy: Any, argmax: Any, x_shape: tuple[int, ...], g: PoolGeometry) -> Any:
    """Backward for overlapping windows on the CPU, in one pass instead of one masked pass per
    offset: each output's flat position of its maximum in the padded plane, then
    ``np.bincount`` adds every gradient at its position (repeated positions accumulate, in
    float64). About 1.7x faster than the per-offset passes for AlexNet's 3x3/2 pooling, for
    one int64 index per output and a float64 plane per input plane of extra memory."""
    hp, wp = _grad_buffer_shape(x_shape, g)
    n_planes = int(np.prod(x_shape[:-2], dtype=np.int64))
    i, j = np.divmod(argmax.astype(np.intp), g.kw)  # the window offset of each maximum
    rows = (np.arange(g.oh, dtype=np.int64) * g.sh)[:, None] + i * g.dh  # padded coordinates
    cols = (np.arange(g.ow, dtype=np.int64) * g.sw)[None, :] + j * g.dw
    planes = (np.arange(n_planes, dtype=np.int64) * (hp * wp)).reshape(*x_shape[:-2], 1, 1)
    flat = planes + rows * wp + cols
    sums = np.bincount(flat.ravel(), weights=gy.ravel(), minlength=n_planes * hp * wp)
    return _crop(sums.astype(gy.dtype).reshape(*x_shape[:-2], hp, wp), x_shape, g)


def _tiles(x_shape: tuple[int, ...], g: PoolGeometry) -> bool:
    """Whether the windows tile the input: stride == kernel, no padding or dilation, and the
    windows cover every pixel (LeNet's and VGG's 2x2/2 pooling on even sizes)."""
    return (
        (g.sh, g.sw) == (g.kh, g.kw)
        and (g.ph, g.pw, g.dh, g.dw) == (0, 0, 1, 1)
        and (g.oh * g.kh, g.ow * g.kw) == tuple(x_shape[-2:])
    )


def _max_pool2d_backward_tiles(gy: Any, argmax: Any, x_shape: tuple[int, ...], g: PoolGeometry) -> Any:
    """Backward for tiling windows: every input pixel lies in exactly one window, so gx viewed
    as (N, C, OH, kh, OW, kw) is *written* once per offset -- no zero fill, no accumulation.

    Offset k of every window receives ``gy where argmax == k, else 0``. Written as
    ``gy * (argmax == k)`` that would turn an inf or NaN in gy into NaN at the other pixels of
    its window (0 * inf), where torch writes 0. On the CPU ``where`` over a random mask
    branches and costs several multiplies, so the multiply is kept when gy is finite (one
    ``isfinite`` pass over gy, the size of the output: a quarter of gx for 2x2 windows); a
    GPU (array code) takes ``where`` at once -- asking whether gy is finite would wait for it.
    Cost: K = kh*kw passes over the N*C*OH*OW outputs, writing each gx element once.
    """
    xp = get_array_module(gy)
    gx = xp.empty(x_shape, dtype=gy.dtype)
    tiles = gx.reshape(*x_shape[:-2], g.oh, g.kh, g.ow, g.kw)
    if xp is np and np.isfinite(gy).all():
        here = np.empty(gy.shape, dtype=bool)
        for k, i, j in _offsets(g):
            np.equal(argmax, k, out=here)
            np.multiply(gy, here, out=tiles[..., :, i, :, j])
        return gx
    zero = gy.dtype.type(0)
    for k, i, j in _offsets(g):
        tiles[..., :, i, :, j] = xp.where(argmax == k, gy, zero)
    return gx


def max_pool2d_indices(
    argmax: Any,
    x_shape: tuple[int, ...],
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> Any:
    """torch's ``return_indices``: int64 (N, C, OH, OW), each the flat position row*W + col of the
    maximum in its (H, W) input plane (unpadded coordinates)."""
    xp = get_array_module(argmax)
    g = pool_geometry(x_shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    W = x_shape[-1]
    i, j = xp.divmod(argmax.astype(xp.int64), g.kw)
    rows = (xp.arange(g.oh) * g.sh - g.ph)[:, None] + i * g.dh
    cols = (xp.arange(g.ow) * g.sw - g.pw)[None, :] + j * g.dw
    return rows * W + cols


# -- average pooling ----------------------------------------------------------------------------
def avg_pool2d_divisor(
    x_shape: tuple[int, ...], g: PoolGeometry, count_include_pad: bool = True, divisor_override: int | None = None
) -> Any:
    """The (OH, OW) numbers each window sum is divided by (NumPy array), as torch computes them.

    Per axis a window covers [start, start + k) with start = o*s - p. It is first clipped to the
    padded input [-p, in + p) (ceil_mode windows may overhang it): that length counts the
    padding. Clipped further to the input [0, in) it counts only real pixels. The divisor is
    the product of the two axes' lengths (or ``divisor_override``).
    """
    if divisor_override is not None:
        return np.full((g.oh, g.ow), float(divisor_override))

    def lengths(size: int, k: int, s: int, p: int, out: int) -> np.ndarray:
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            return end - start
        return np.minimum(end, size) - np.maximum(start, 0)

    H, W = x_shape[-2:]
    return np.outer(lengths(H, g.kh, g.sh, g.ph, g.oh), lengths(W, g.kw, g.sw, g.pw, g.ow)).astype(np.float64)


def _divisor(x_shape: tuple, g: PoolGeometry, count_include_pad: bool, divisor_override: Any, like: Any) -> Any:
    """:func:`avg_pool2d_divisor` in ``like``'s dtype, where ``like`` lives (cached on a GPU)."""
    key = ("avg_pool2d_divisor", tuple(x_shape[-2:]), g, count_include_pad, divisor_override, like.dtype.str)
    make = lambda: avg_pool2d_divisor(x_shape, g, count_include_pad, divisor_override).astype(like.dtype)  # noqa: E731
    return backend.device_constant(key, make, like)


def avg_pool2d_forward(
    x: Any,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """y (N, C, OH, OW): the sum of each zero-padded window divided by torch's divisor.
    Cost: K = kh*kw adds of strided views over the N*C*OH*OW outputs, then one divide."""
    g = pool_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    x_pad = _pad(x, g, 0.0)
    y = _window_view(x_pad, g, 0, 0).copy()
    for _, i, j in _offsets(g)[1:]:
        y += _window_view(x_pad, g, i, j)
    y /= _divisor(x.shape, g, count_include_pad, divisor_override, x)
    return y


def avg_pool2d_backward(
    gy: Any,
    x_shape: tuple[int, ...],
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """gx (x_shape): every pixel of a window receives the window's gradient / divisor.
    Cost: one divide of gy, then K = kh*kw strided adds of it (N*C*OH*OW values each) into gx."""
    xp = get_array_module(gy)
    g = pool_geometry(x_shape, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    g_share = gy / _divisor(x_shape, g, count_include_pad, divisor_override, gy)
    gx_pad = _grad_buffer(x_shape, g, xp, gy.dtype)
    for _, i, j in _offsets(g):
        _window_view(gx_pad, g, i, j)[...] += g_share
    return _crop(gx_pad, x_shape, g)


# -- adaptive pooling ---------------------------------------------------------------------------
def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """torch's bins along one axis: bin i is [floor(i*size/out), ceil((i+1)*size/out)), as a list
    of ``out`` (start, stop) pairs (host integers; no array work)."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def _bin_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of torch's ``out`` bins along an axis of ``size`` (int64 arrays)."""
    i = np.arange(out, dtype=np.int64)
    start = (i * size) // out
    return start, -(-((i + 1) * size) // out) - start


def _gather_sum_plan(first: np.ndarray, count: np.ndarray, size: int, pad: bool) -> tuple[np.ndarray, np.ndarray]:
    """For out[p] = sum over t < count[p] of a[first[p] + t]: the (T, P) positions read at
    each t and the (T, P) mask of the p that t reaches. With ``pad`` the positions a run does
    not reach read slot ``size``, a zero appended to ``a`` (the mask is then not needed);
    without, they are clipped inside ``a`` and masked."""
    t = np.arange(int(count.max()), dtype=np.int64)[:, None]
    reached = t < count[None, :]
    pos = np.where(reached, first[None, :] + t, size if pad else np.minimum(first[None, :] + t, size - 1))
    return pos, reached


def _gather_sum(a: Any, axis: int, first: np.ndarray, count: np.ndarray, key: tuple) -> Any:
    """out (a's shape with P = ``len(first)`` along ``axis``, -2 or -1): out[p] = sum over
    t < count[p] of a[first[p] + t] along ``axis`` -- sums over contiguous runs, one gather
    per t (a few). Positions a run does not reach are never multiplied by 0, so inf and NaN
    stay inside their runs: they are masked with ``where``, or, when the output is the larger
    (P > a's length: a backward pass), read from a zero appended to ``a`` (cheaper than a
    masked pass over the output). The position and mask tables are uploaded once per key
    where ``a`` lives (two small constants)."""
    xp = get_array_module(a)
    size = a.shape[axis]
    full = int(count.min())  # offsets below this reach every p: no mask
    pad = len(first) > size and full < count.max()
    if pad:
        zero = xp.zeros(a.shape[:-2] + ((1, a.shape[-1]) if axis == -2 else (a.shape[-2], 1)), dtype=a.dtype)
        a = xp.concatenate([a, zero], axis=axis)
    pos = backend.device_constant(key + ("pos", pad), lambda: _gather_sum_plan(first, count, size, pad)[0], a)
    if not pad and full < count.max():
        mask = _gather_sum_plan(first, count, size, pad)[1]
        mask = backend.device_constant(key + ("mask",), lambda: mask[:, :, None] if axis == -2 else mask, a)
    out = None
    for t in range(int(count.max())):
        v = xp.take(a, pos[t], axis=axis)
        if t >= full and not pad:
            v = xp.where(mask[t], v, a.dtype.type(0))
        if out is None:
            out = v
        else:
            out += v
    return out


def _per_bin(values: np.ndarray, axis: int, like: Any, key: tuple) -> Any:
    """``values`` (one per bin) in ``like``'s dtype, shaped to broadcast along ``axis``."""
    shaped = values[:, None] if axis == -2 else values
    return backend.device_constant(key, lambda: shaped.astype(like.dtype), like)


def _bin_mean(x: Any, axis: int, out: int) -> Any:
    """Adaptive average along one axis (-2 or -1): ``out`` bin means of x along ``axis``."""
    size = x.shape[axis]
    start, length = _bin_bounds(size, out)
    key = ("adaptive_avg_pool", size, out, axis, x.dtype.str)
    s = _gather_sum(x, axis, start, length, key)
    return s / _per_bin(length, axis, x, key + ("length",))


def _bin_mean_backward(gy: Any, axis: int, size: int) -> Any:
    """The transpose of :func:`_bin_mean`: each position of ``size`` gathers gy / len(bin) of
    the bins holding it -- a contiguous run of bins (several when out > size: gathering, not
    scattering, so bins sharing a start need no atomic or duplicate-safe add)."""
    out = gy.shape[axis]
    start, length = _bin_bounds(size, out)
    h = np.arange(size, dtype=np.int64)
    first = np.searchsorted(start + length, h, side="right")  # first bin ending after h
    last = np.searchsorted(start, h, side="right") - 1  # last bin starting at or before h
    key = ("adaptive_avg_pool_backward", size, out, axis, gy.dtype.str)
    share = gy / _per_bin(length, axis, gy, key + ("length",))
    return _gather_sum(share, axis, first, last - first + 1, key)


def adaptive_avg_pool2d_forward(x: Any, output_size: tuple[int, int]) -> Any:
    """y (N, C, OH, OW): the mean of each (row bin) x (column bin) block.

    When the bins tile the input (H % OH == 0 and W % OW == 0: global pooling, identity,
    14 -> 7) x is viewed as (N, C, OH, kh, OW, kw) blocks and summed over kh, then kw strided
    views (one contiguous mean when OW == 1): about two reads of x. Otherwise the mean is
    separable: the row bins first, as sums over the at most ceil(H/OH) + 1 offsets within a
    bin (one gather of an (N, C, OH, W) block each), then the column bins likewise on that
    (N, C, OH, W) result. Cost: about (ceil(H/OH) + 1)
    passes over N*C*OH*W values plus (ceil(W/OW) + 1) over N*C*OH*OW. Every output reads
    only its own bin, so an inf or NaN pixel spoils only the bins holding it (as in torch;
    a dense averaging-matrix product would give 0 * inf = NaN everywhere).
    """
    (H, W), (OH, OW) = x.shape[-2:], output_size
    lead = x.shape[:-2]
    if H % OH == 0 and W % OW == 0:
        kh, kw = H // OH, W // OW
        if OW == 1:  # global pooling and the like: one contiguous reduction
            return x.reshape(lead + (OH, kh * W)).mean(axis=-1)[..., None]
        # sums of kh, then kw strided views (much faster than a mean over two inner axes)
        blocks = x.reshape(lead + (OH, kh, OW, kw))
        rows = blocks[..., 0, :, :].copy()
        for i in range(1, kh):
            rows += blocks[..., i, :, :]
        y = rows[..., 0].copy()
        for j in range(1, kw):
            y += rows[..., j]
        y /= y.dtype.type(kh * kw)
        return y
    return _bin_mean(_bin_mean(x, -2, OH), -1, OW)


def adaptive_avg_pool2d_backward(gy: Any, x_shape: tuple[int, ...]) -> Any:
    """gx (x_shape): each pixel receives gy / (bin size) of every bin holding it.

    Tiling bins: gy / (kh*kw) repeated over each (kh, kw) block (about one write of gx).
    Otherwise the transpose of the forward, column bins then row bins, each position
    gathering from its (contiguous) run of bins: about (ceil(OW/W) + 1) passes over
    N*C*OH*W values and (ceil(OH/H) + 1) over N*C*H*W. An inf in gy reaches only its bin's
    pixels.
    """
    (H, W), (OH, OW) = x_shape[-2:], gy.shape[-2:]
    lead = tuple(x_shape[:-2])
    xp = get_array_module(gy)
    if H % OH == 0 and W % OW == 0:
        kh, kw = H // OH, W // OW
        share = gy / gy.dtype.type(kh * kw)
        if OW == 1:  # one value per (row bin): a contiguous broadcast
            return xp.ascontiguousarray(xp.broadcast_to(share[..., None], lead + (OH, kh, W))).reshape(x_shape)
        return xp.repeat(xp.repeat(share, kw, axis=-1), kh, axis=-2)
    return _bin_mean_backward(_bin_mean_backward(gy, -1, W), -2, H)


def adaptive_max_pool2d_forward(x: Any, output_size: tuple[int, int]) -> tuple[Any, Any]:
    """y (N, C, OH, OW) and int64 indices (flat row*W + col in each input plane, as torch).

    Several bins: the separable scan of :func:`minicnn.kernels.pool3d.adaptive_max_pool3d_forward`
    on x seen as (N, C, 1, H, W) -- along W, then H, one gather per position t within a bin (at most
    ceil(in/out) + 1 per axis), never a loop over bins; it picks the same winner as torch's
    row-major scan. Cost: about 8 elementwise passes per position t over the reduced array:
    (ceil(W/OW) + 1) positions over N*C*H*OW values, then (ceil(H/OH) + 1) over N*C*OH*OW.

    One bin (global pooling): flatten x to (N, C, H*W) and take argmax, which returns the first
    maximum in row-major order (torch's tie rule; a block of -inf gives its first pixel, as torch).
    A block holding NaN takes its *last* NaN, as torch's scan ``val > max || isnan(val)`` does
    (argmax would give the first): two more passes over the block (isnan, and an argmax over it
    reversed). About 3 passes over x, several times faster than the scan for one bin.
    """
    xp = get_array_module(x)
    (H, W), (OH, OW) = x.shape[-2:], output_size
    lead = x.shape[:-2]
    if OH * OW != 1:
        from .pool3d import adaptive_max_pool3d_forward  # noqa: PLC0415  (pool3d imports this module)

        y, idx = adaptive_max_pool3d_forward(x.reshape(lead + (1, H, W)), (1, OH, OW))
        return y.reshape(lead + (OH, OW)), idx.reshape(lead + (OH, OW))
    y = xp.empty(lead + (OH, OW), dtype=x.dtype)
    idx = xp.empty(lead + (OH, OW), dtype=xp.int64)
    for a, (h0, h1) in enumerate(adaptive_bins(H, OH)):
        for b, (w0, w1) in enumerate(adaptive_bins(W, OW)):
            block = x[..., h0:h1, w0:w1].reshape(lead + ((h1 - h0) * (w1 - w0),))  # not -1: N may be 0
            nan = xp.isnan(block)
            last_nan = block.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
            k = xp.where(nan.any(axis=-1), last_nan, xp.argmax(block, axis=-1))
            y[..., a, b] = xp.take_along_axis(block, k[..., None], axis=-1)[..., 0]
            idx[..., a, b] = (h0 + k // (w1 - w0)) * W + w0 + k % (w1 - w0)
    return y, idx


def adaptive_max_pool2d_backward(gy: Any, indices: Any, x_shape: tuple[int, ...]) -> Any:
    """gx (x_shape): every output gradient gy (N, C, OH, OW) added at its argmax -- one scatter-add
    over the flat positions (plane * H*W + index); overlapping bins accumulate. Cost: one pass
    over gy plus a zeroed gx; no loop over bins. It is
    :func:`minicnn.kernels.pool3d.adaptive_max_pool3d_backward` on x seen as (N, C, 1, H, W), as
    the forward is the 3-d scan."""
    from .pool3d import adaptive_max_pool3d_backward  # noqa: PLC0415  (pool3d imports this module)

    lead = tuple(x_shape[:-2])
    gy3 = gy.reshape(lead + (1,) + tuple(gy.shape[-2:]))
    return adaptive_max_pool3d_backward(gy3, indices, lead + (1,) + tuple(x_shape[-2:])).reshape(x_shape)
