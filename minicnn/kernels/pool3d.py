"""3-d pooling kernels on (..., D, H, W) arrays: max, average, adaptive average, adaptive max.

Shapes: x (N, C, D, H, W) (any leading axes) -> y (N, C, OD, OH, OW). Per spatial axis, with
kernel k, stride s, padding p and dilation d, torch's rule (see ``pool_output_size`` in
:mod:`minicnn.kernels.pool`)::

    out = floor((in + 2*p - d*(k-1) - 1) / s) + 1     (ceil_mode rounds up, but drops a last
                                                      window that would start in the right padding)

Fixed windows (max and average pooling) loop over the K = kd*kh*kw kernel offsets, never over
voxels or images: offset (i, j, l) of every window at once is one strided view of the padded input,
``x_pad[..., i*d_d : ... : s_d, j*d_h : ... : s_h, l*d_w : ... : s_w]`` of shape (..., OD, OH, OW).
Max pooling scans these views in row-major window order with torch's rule ``val > max or
isnan(val)`` starting from -inf at each window's first real voxel: ties go to the first maximum, a
NaN wins (the last NaN of a window), and a window whose real voxels are all -inf points at its first
real voxel, exactly like torch's CPU kernel. The scan keeps the offset number of each maximum
(uint8 for K <= 255); backward adds each output gradient into the strided view of its offset
(one masked pass per offset; overlapping windows accumulate). Average pooling sums the views and
divides by torch's divisor; backward spreads gy/divisor back over the same views.
Cost: forward and backward O(K) elementwise passes over the N*C*OD*OH*OW outputs; extra memory a
padded copy of x when padding or ceil_mode need one.

Adaptive pooling uses torch's bins along each axis, bin i = [floor(i*in/out), ceil((i+1)*in/out)),
and is separable: the volume is reduced along W, then H, then D, each time as a 3-d array
(M, L, R) reduced along its middle axis by gathers over the few positions t < ceil(in/out) + 1
within a bin (never a loop over bins or voxels). Average: the bin means of
:mod:`minicnn.kernels.pool` (inf and NaN stay within their bins); backward is their transpose.
Max: a running ``val > max or isnan(val)`` comparison per axis that carries the positions of the
winners along the axes already reduced -- the separable scan picks the lexicographically first
maximum (or last NaN) in (d, h, w), which is exactly torch's scan order. Backward adds each
gradient at its voxel with one ``bincount`` (overlapping bins accumulate).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .conv_shapes import window_slice
from .pool import _bin_bounds, _bin_mean, _bin_mean_backward, pool_output_size
from .scatter import add_at
from .vol2col import triple

Triple = tuple[int, int, int]


class Pool3dGeometry(NamedTuple):
    """A fixed-window pool's settings and output size, per axis (D, H, W)."""

    kernel: Triple
    stride: Triple
    padding: Triple
    dilation: Triple
    out: Triple

    @property
    def extent(self) -> Triple:
        """Padded-input positions the windows read, per axis: (out-1)*s + d*(k-1) + 1."""
        return tuple(
            (o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(self.out, self.stride, self.dilation, self.kernel)
        )  # type: ignore[return-value]

    def offsets(self) -> Iterator[tuple[int, tuple[slice, slice, slice]]]:
        """(k, slices) for every kernel offset k = (i*kh + j)*kw + l in row-major order (torch's
        scan order): ``a[..., *slices]`` is that offset of every window of the padded ``a``."""
        kd, kh, kw = self.kernel
        for k in range(kd * kh * kw):
            taps = (k // (kh * kw), k // kw % kh, k % kw)
            slices = (window_slice(t, s, d, o) for t, s, d, o in zip(taps, self.stride, self.dilation, self.out))
            yield k, tuple(slices)  # type: ignore[misc]


def pool3d_geometry(
    x_shape: tuple,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    op: str = "max_pool3d",
) -> Pool3dGeometry:
    """Validate the settings like torch and compute the output size; ``x_shape`` ends in (D, H, W).
    ``stride`` None (or empty) means kernel_size. ValueErrors name ``op``."""
    k = triple(kernel_size, "kernel_size", op)
    default_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    s = k if default_stride else triple(stride, "stride", op)
    p, d = triple(padding, "padding", op), triple(dilation, "dilation", op)
    if min(k) <= 0 or min(s) <= 0 or min(d) <= 0:
        raise ValueError(
            f"{op}: kernel_size, stride and dilation must be positive, got kernel_size={k}, stride={s}, dilation={d}"
        )
    if min(p) < 0 or any(pa > ka // 2 for pa, ka in zip(p, k)):
        raise ValueError(f"{op}: pad should be at most half of kernel size, got padding={p} for kernel_size={k}")
    size = tuple(x_shape[-3:])
    out = tuple(pool_output_size(size[a], k[a], s[a], p[a], d[a], ceil_mode) for a in range(3))
    if min(out) < 1:
        raise ValueError(
            f"{op}: input of shape {tuple(x_shape)} is too small for kernel_size={k}, stride={s}, padding={p}, "
            f"dilation={d}: the output would be {out}"
        )
    return Pool3dGeometry(k, s, p, d, out)  # type: ignore[arg-type]


def _pad(x: Any, g: Pool3dGeometry, value: float) -> Any:
    """x placed at (pd, ph, pw) in an array of the windows' extent filled with ``value``; x itself
    when the windows read only inside x."""
    size = x.shape[-3:]
    if g.padding == (0, 0, 0) and all(e <= n for e, n in zip(g.extent, size)):
        return x
    xp = backend.get_array_module(x)
    out = xp.full((*x.shape[:-3], *g.extent), value, dtype=x.dtype)
    keep = [min(n, e - p) for n, e, p in zip(size, g.extent, g.padding)]  # ceil_mode may overhang, floor stop short
    out[(..., *(slice(p, p + m) for p, m in zip(g.padding, keep)))] = x[(..., *(slice(0, m) for m in keep))]
    return out


def _grad_buffer(x_shape: tuple, g: Pool3dGeometry, xp: Any, dtype: Any) -> Any:
    """Zeros covering both the windows' extent and the (padded) input, per leading index."""
    shape = tuple(max(e, p + n) for e, p, n in zip(g.extent, g.padding, x_shape[-3:]))
    return xp.zeros((*x_shape[:-3], *shape), dtype=dtype)


def _crop(gx_pad: Any, x_shape: tuple, g: Pool3dGeometry) -> Any:
    xp = backend.get_array_module(gx_pad)
    return xp.ascontiguousarray(gx_pad[(..., *(slice(p, p + n) for p, n in zip(g.padding, x_shape[-3:])))])


# -- max pooling ---------------------------------------------------------------------------------


def _first_real_offsets(g: Pool3dGeometry, dtype: Any) -> np.ndarray:
    """(OD, OH, OW): the offset number of each window's first real (unpadded) voxel in row-major
    order, where torch's scan starts: per axis the first tap t with o*s - p + t*d >= 0 (kept
    inside the kernel for a window with no real voxel, whose index torch leaves meaningless)."""

    def first(out: int, s: int, p: int, d: int, k: int) -> np.ndarray:
        before = p - np.arange(out) * s  # padding in front of the window's first tap
        return np.clip(-(-before // d), 0, k - 1)

    t = [first(o, s, p, d, k) for o, s, p, d, k in zip(g.out, g.stride, g.padding, g.dilation, g.kernel)]
    kd, kh, kw = g.kernel
    return ((t[0][:, None, None] * kh + t[1][None, :, None]) * kw + t[2][None, None, :]).astype(dtype)


def max_pool3d_forward(x: Any, g: Pool3dGeometry, with_argmax: bool = False) -> tuple[Any, Any]:
    """y (..., OD, OH, OW) and, if ``with_argmax``, the offset k = (i*kh + j)*kw + l of each output's
    maximum (else None). The padding holds -inf, which never wins the scan. Cost: O(K)
    elementwise passes over the outputs (K = kd*kh*kw), a padded copy of x when needed."""
    xp = backend.get_array_module(x)
    x_pad = _pad(x, g, -np.inf)
    if not with_argmax:  # values only: a running maximum (which propagates NaN, as torch)
        views = (x_pad[(..., *slices)] for _, slices in g.offsets())
        y = next(views).copy()
        for v in views:
            xp.maximum(y, v, out=y)
        return y, None
    k_count = math.prod(g.kernel)
    index_dtype = np.dtype(np.uint8 if k_count <= 255 else np.int32)
    y = xp.full((*x.shape[:-3], *g.out), -np.inf, dtype=x.dtype)
    k0 = backend.device_constant(
        ("max_pool3d_first_real", g, index_dtype.str), lambda: _first_real_offsets(g, index_dtype), x
    )
    argmax = xp.empty(y.shape, dtype=index_dtype)
    argmax[...] = k0
    for k, slices in g.offsets():
        win = x_pad[(..., *slices)]
        better = (win > y) | xp.isnan(win)
        y = xp.where(better, win, y)
        argmax = xp.where(better, index_dtype.type(k), argmax)
    return y, argmax


def max_pool3d_backward(gy: Any, argmax: Any, x_shape: tuple, g: Pool3dGeometry) -> Any:
    """gx (x_shape): each output gradient goes to the voxel its window's maximum came from.
    ``where``, not ``gy * mask``: an inf gradient must not become NaN (0 * inf) elsewhere.
    Cost: one masked add per offset, K passes over the outputs, plus a zeroed (padded) gx."""
    xp = backend.get_array_module(gy)
    gx_pad = _grad_buffer(x_shape, g, xp, gy.dtype)
    zero = gy.dtype.type(0)
    for k, slices in g.offsets():
        gx_pad[(..., *slices)] += xp.where(argmax == k, gy, zero)
    return _crop(gx_pad, x_shape, g)


def max_pool3d_indices(argmax: Any, x_shape: tuple, g: Pool3dGeometry) -> Any:
    """torch's ``return_indices``: int64 (..., OD, OH, OW), the flat position d*H*W + h*W + w of each
    maximum in its (D, H, W) input volume (unpadded coordinates)."""
    xp = backend.get_array_module(argmax)
    kd, kh, kw = g.kernel
    k = argmax.astype(xp.int64)
    taps = (k // (kh * kw), k // kw % kh, k % kw)
    pos = []
    for a, t in enumerate(taps):
        first = xp.arange(g.out[a], dtype=xp.int64) * g.stride[a] - g.padding[a]
        pos.append(first.reshape(tuple(-1 if b == a else 1 for b in range(3))) + t * g.dilation[a])
    D, H, W = x_shape[-3:]
    return (pos[0] * H + pos[1]) * W + pos[2]


# -- average pooling -----------------------------------------------------------------------------


def avg_pool3d_divisor(
    x_shape: tuple, g: Pool3dGeometry, count_include_pad: bool = True, divisor_override: int | None = None
) -> np.ndarray:
    """(OD, OH, OW) float64: what torch divides each window sum by. Per axis a window [start, start+k),
    start = o*s - p, is clipped to the padded input [-p, in+p) (counting padding) or further to the
    input [0, in) (``count_include_pad=False``); the divisor is the product over the axes, or
    ``divisor_override``."""
    if divisor_override is not None:
        return np.full(g.out, float(divisor_override))
    lengths = []
    for size, k, s, p, out in zip(x_shape[-3:], g.kernel, g.stride, g.padding, g.out):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        lengths.append(end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0))
    return (lengths[0][:, None, None] * lengths[1][None, :, None] * lengths[2][None, None, :]).astype(np.float64)


def _divisor(x_shape: tuple, g: Pool3dGeometry, count_include_pad: bool, divisor_override: Any, like: Any) -> Any:
    key = ("avg_pool3d_divisor", tuple(x_shape[-3:]), g, count_include_pad, divisor_override, like.dtype.str)
    make = lambda: avg_pool3d_divisor(x_shape, g, count_include_pad, divisor_override).astype(like.dtype)  # noqa: E731
    return backend.device_constant(key, make, like)


def avg_pool3d_forward(x: Any, g: Pool3dGeometry, count_include_pad: bool = True, divisor_override: Any = None) -> Any:
    """y (..., OD, OH, OW): the sum of each zero-padded window over torch's divisor.
    Cost: K = kd*kh*kw adds of strided views over the outputs, then one divide."""
    x_pad = _pad(x, g, 0.0)
    views = (x_pad[(..., *slices)] for _, slices in g.offsets())
    y = next(views).copy()
    for v in views:
        y += v
    y /= _divisor(x.shape, g, count_include_pad, divisor_override, x)
    return y


def avg_pool3d_backward(
    gy: Any, x_shape: tuple, g: Pool3dGeometry, count_include_pad: bool = True, divisor_override: Any = None
) -> Any:
    """gx (x_shape): every voxel of a window receives the window's gradient / divisor.
    Cost: one divide of gy, then K strided adds of it into a zeroed (padded) gx."""
    xp = backend.get_array_module(gy)
    share = gy / _divisor(x_shape, g, count_include_pad, divisor_override, gy)
    gx_pad = _grad_buffer(x_shape, g, xp, gy.dtype)
    for _, slices in g.offsets():
        gx_pad[(..., *slices)] += share
    return _crop(gx_pad, x_shape, g)


# -- adaptive pooling ----------------------------------------------------------------------------


def adaptive_avg_pool3d_forward(x: Any, output_size: Triple) -> Any:
    """y (..., OD, OH, OW): the mean of each (D bin) x (H bin) x (W bin) block, as three separable
    bin means (W, then H, then D), each along the middle axis of a 3-d view. Cost: about
    (ceil(in/out) + 1) passes per axis over the shrinking array."""
    lead, (D, H, W) = x.shape[:-3], x.shape[-3:]
    OD, OH, OW = output_size
    m = math.prod(lead)
    a = _bin_mean(x.reshape(m * D * H, W, 1), -2, OW)  # (m*D*H, OW, 1)
    a = _bin_mean(a.reshape(m * D, H, OW), -2, OH)  # (m*D, OH, OW)
    a = _bin_mean(a.reshape(m, D, OH * OW), -2, OD)  # (m, OD, OH*OW)
    return a.reshape(*lead, OD, OH, OW)


def adaptive_avg_pool3d_backward(gy: Any, x_shape: tuple) -> Any:
    """gx (x_shape): each voxel receives gy / (bin volume) of every bin holding it (the forward's
    three steps transposed, in reverse order)."""
    lead, (D, H, W) = tuple(x_shape[:-3]), tuple(x_shape[-3:])
    OD, OH, OW = gy.shape[-3:]
    m = math.prod(lead)
    g = _bin_mean_backward(gy.reshape(m, OD, OH * OW), -2, D)  # (m, D, OH*OW)
    g = _bin_mean_backward(g.reshape(m * D, OH, OW), -2, H)  # (m*D, H, OW)
    g = _bin_mean_backward(g.reshape(m * D * H, OW, 1), -2, W)  # (m*D*H, W, 1)
    return g.reshape(x_shape)


def _bin_max(a: Any, out: int, carried: list[Any]) -> tuple[Any, Any, list[Any]]:
    """Max of a (M, L, R) over torch's ``out`` bins of its middle axis, with torch's scan rule
    (``v > max or isnan(v)``: the first maximum, the last NaN): (values (M, out, R), the positions
    along L of the winners, and each array of ``carried`` (M, L, R) taken at the winners).
    One gather per position t within a bin (at most ceil(L/out) + 1)."""
    xp = backend.get_array_module(a)
    size = a.shape[1]
    start, length = _bin_bounds(size, out)
    key = ("adaptive_max_pool3d", size, out)
    first = backend.device_constant(key + (0,), lambda: start, a)
    y = xp.take(a, first, axis=1)
    best = xp.broadcast_to(first[:, None], y.shape)
    winners = [xp.take(c, first, axis=1) for c in carried]
    for t in range(1, int(length.max())):
        pos = backend.device_constant(key + (t,), lambda: np.minimum(start + t, size - 1), a)  # noqa: B023
        reached = backend.device_constant(key + ("reached", t), lambda: (t < length)[:, None], a)  # noqa: B023
        v = xp.take(a, pos, axis=1)
        better = ((v > y) | xp.isnan(v)) & reached
        y = xp.where(better, v, y)
        best = xp.where(better, pos[:, None], best)
        winners = [xp.where(better, xp.take(c, pos, axis=1), w) for c, w in zip(carried, winners)]
    return y, best, winners


def adaptive_max_pool3d_forward(x: Any, output_size: Triple) -> tuple[Any, Any]:
    """y (..., OD, OH, OW) and int64 indices (flat d*H*W + h*W + w in each input volume, as torch),
    reduced separably along W, H, then D (see the module docstring)."""
    lead, (D, H, W) = x.shape[:-3], x.shape[-3:]
    OD, OH, OW = output_size
    m = math.prod(lead)
    y, iw, _ = _bin_max(x.reshape(m * D * H, W, 1), OW, [])  # (m*D*H, OW, 1)
    shape = (m * D, H, OW)
    y, ih, (iw,) = _bin_max(y.reshape(shape), OH, [iw.reshape(shape)])  # (m*D, OH, OW)
    shape = (m, D, OH * OW)
    y, id_, (ih, iw) = _bin_max(y.reshape(shape), OD, [ih.reshape(shape), iw.reshape(shape)])  # (m, OD, OH*OW)
    out = (*lead, OD, OH, OW)
    return y.reshape(out), ((id_ * H + ih) * W + iw).reshape(out)


def adaptive_max_pool3d_backward(gy: Any, indices: Any, x_shape: tuple) -> Any:
    """gx (x_shape): every output gradient added at its maximum's voxel -- one scatter-add over
    the flat positions (plane * D*H*W + index); overlapping bins accumulate."""
    xp = backend.get_array_module(gy)
    planes, volume = math.prod(x_shape[:-3]), math.prod(x_shape[-3:])
    bins = math.prod(gy.shape[-3:])
    flat = indices.reshape(planes, bins) + (xp.arange(planes, dtype=xp.int64) * volume)[:, None]
    gx = xp.zeros(planes * volume, dtype=gy.dtype)
    add_at(gx, (flat.reshape(-1),), gy.reshape(-1))
    return gx.reshape(x_shape)
