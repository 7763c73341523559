"""Resizing (``torch.nn.functional.interpolate``) of 1, 2 or 3 spatial axes: nearest,
nearest-exact, (bi/tri)linear and bicubic, as per-axis gathers.

Shapes: x (N, C, *S) -> y (N, C, *O), S = (L,), (H, W) or (D, H, W) and O the output sizes.
Every mode is separable: output position ``o`` of an axis reads one (nearest), two (linear) or
four (bicubic) input positions along that axis -- its *taps* -- chosen by a *source index*
rule and weighted. So each axis is described by two small host arrays, ``index`` and
``weight`` of shape (out_size, T) (``weight`` None for nearest), and :func:`resize` applies
them one axis after the other: ``y = sum_k weight[:, k] * take(x, index[:, k], axis)``,
fancy indexing over the whole batch. The same code serves 1-d, 2-d and 3-d input.

Source index of output position ``o`` along an axis of input size ``n`` and output size
``m``, with ``scale = 1/scale_factor`` when the caller passed a scale factor (torch's rule,
kept even though ``m = floor(n*scale_factor)`` makes it differ from n/m) and ``n/m``
otherwise -- torch's ``UpSample.h`` and ``UpSampleKernel.cpp``:

* ``nearest``:        ``min(floor(o * scale), n-1)``;
* ``nearest-exact``:  ``min(floor((o + 0.5) * scale), n-1)`` (pixel centres, like PIL/OpenCV).
  torch has two implementations (:func:`nearest_indices`): its small 2-d kernel (taken when
  OH + OW <= 128) computes in float32 for every dtype and copies an axis of unchanged size
  (``o``) or halves at twice the size (``o // 2``), whatever the scale factor; its generic
  kernel (1-d, 3-d and larger 2-d outputs) takes no such shortcut and computes in float64 for
  float64 input (``max(scale*(o + 0.5) - 0.5, 0) + 0.5`` for nearest-exact). Both are matched.
* ``linear``/``bilinear``/``trilinear``, ``align_corners=False``: ``src = max(0, (o + 0.5)*scale - 0.5)``;
  ``align_corners=True``: ``src = o * (n-1)/(m-1)`` (0 when m == 1; scale factors ignored).
  Then ``i0 = min(floor(src), n-1)``, ``i1 = i0 + 1`` (``i0`` at the last position),
  ``lam = src - i0`` and ``y = (1-lam)*x[i0] + lam*x[i1]``. An axis with m == n (scale factor
  or not) reads ``x[o]*1 + x[o]*0``, both taps at ``o`` -- torch's CPU kernels of every rank:
  not a copy, as an inf or NaN at ``o`` makes a NaN there.
* ``bicubic`` (2-d only, as in torch): ``src = (o + 0.5)*scale - 0.5`` (not clamped) or
  ``o * (n-1)/(m-1)`` with align_corners; taps ``floor(src) - 1 .. floor(src) + 2`` clamped
  into [0, n-1], weighted by Keys' cubic convolution kernel with ``A = -0.75`` at the distances
  ``1 + t, t, 1 - t, 2 - t`` (``t = src - floor(src)``); unlike linear, an axis with m == n is
  resampled too when a scale factor was given (as torch's kernel does).

The arithmetic is torch's to the last bit (so that a weight is 0 exactly where torch's is, and
an inf input makes NaN at the same places): ``src`` in float32 for float16/float32 input and in
float64 for float64 (:func:`compute_dtype`), ``scale*(o + 0.5) - 0.5`` and the cubic
polynomials as fused multiply-adds (:func:`fma`, as torch's compiled kernels), ``floor`` in
float32 (torch's ``floorf``), ``lam`` clipped into [0, 1].

uint8 input (torch's CPU kernels: nearest and nearest-exact in every rank, bilinear and bicubic
in 2-d): nearest gathers as for float32. Bilinear and bicubic use torch's fixed-point path
(:func:`uint8_taps`, :func:`resize_uint8`): float64 weights, the repeated reads of a clamped
border tap merged, scaled to integers with ``p`` bits (the most that keep the largest weight
below 2**15); per axis -- W first, then H, an axis that keeps its size skipped --
``clip((2**(p-1) + sum_k w_k * x[i_k]) >> p, 0, 255)``, a uint8 after each pass.

Backward is the transpose of each axis' map, and the transpose of a gather is again a gather
(:func:`transpose_taps`): input position ``i`` sums the output positions that read it, one
slot per forward tap -- each with its own weight, so that an inf gradient read with weight 0
makes NaN as in torch's scatter-add -- and ``-1`` (an absent tap: no read, not a read times 0)
in the slots of positions read fewer than F times. So the backward is :func:`resize` with the
transposed taps -- no scatter-add, no atomics, deterministic on a GPU -- unless some position
is read more than ``SCATTER_FAN_IN * T`` times and the F gathers would be small (a large
upsampling factor; ``SLOT_ELEMENTS``): then that axis is one scatter-add per tap
(:func:`minicnn.kernels.scatter.add_at`), the same sums.

Known differences (torch's, not ours): torch's nearest backward uses the small 2-d kernel's
index rule, shortcuts included, in every rank and size, so where its forward's rule picks other
pixels (1-d, 3-d or 2-d outputs with OH + OW > 128: a scale factor giving m == n or m == 2n, or
a float64 rounding) torch's gradient is not the adjoint of its forward and
``torch.autograd.gradcheck`` fails; likewise torch's bicubic backward copies the gradient of
an input whose size no axis changes, which its forward resamples under a scale factor other
than 1 (where the taps are the identity's, minicnn copies too: then the copy is the adjoint,
and an inf gradient stays inf). minicnn's gradient is the exact adjoint. torch 2.14's uint8
bilinear/bicubic has two bugs not reproduced: for C > 4 and an output width of 1 it applies the
first output row's weights to every row, and for C = 3 to a 1 x 1 output it fails an internal
assert; minicnn gives the result of its other kernels (one channel at a time).

Cost, per axis pass over an array of P elements after the pass: T gathers and multiply-adds,
~2*T*P flops (nearest: one gather, P copies); passes run first axis to last, so the 2-d case
makes an (N, C, OH, W) intermediate. Backward: the same with F (~ T*m/n + 1) slots per input
position, the slots beyond a position's fan-in skipped (so ~T*P work in all). Host work:
O(T*m) per axis for the taps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from .rounding import fma
from .scatter import add_at

Taps = tuple[Any, Any]  # (index (out, T) int64, weight (out, T) or None for weights 1), host arrays

# backward of an axis: a scatter-add instead of F gathers when F > SCATTER_FAN_IN * T and the
# F gathers are small: F * SLOT_ELEMENTS > the T * gy.size elements moved. (NumPy, measured: a
# gather's fixed cost is ~7 us, about what scatter-adding ~300 elements costs over gathering them.)
SCATTER_FAN_IN = 4
SLOT_ELEMENTS = 300


def compute_dtype(dtype: Any) -> Any:
    """torch's ``opmath`` type: index arithmetic of float16/float32 inputs in float32, of float64 in float64."""
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


def _scale(in_size: int, out_size: int, scale_factor: float | None, dtype: Any) -> Any:
    """``1/scale_factor`` when one was given (and positive), else ``in/out``, in ``dtype``."""
    if scale_factor is not None and scale_factor > 0:
        return dtype(1.0 / scale_factor)
    return dtype(in_size) / dtype(out_size)


def source_index(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, ct: Any, cubic: bool = False
) -> Any:
    """``src`` (out_size,) in ``ct`` for the linear and cubic rules (clamped at 0 unless ``cubic``)."""
    o = np.arange(out_size).astype(ct)
    if align_corners:
        return (ct(in_size - 1) / ct(out_size - 1) if out_size > 1 else ct(0)) * o
    src = fma(_scale(in_size, out_size, scale_factor, ct), o + ct(0.5), ct(-0.5))
    return src if cubic else np.maximum(src, ct(0))


def _guard(src: Any, in_size: int) -> tuple[Any, Any]:
    """torch's ``guard_index_and_lambda``: (``min(floorf(src), n-1)``, ``src - index`` clipped into [0, 1])."""
    index = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), in_size - 1)
    return index, np.clip(src - index.astype(src.dtype), 0, 1).astype(src.dtype)


def nearest_indices(
    in_size: int,
    out_size: int,
    scale_factor: float | None = None,
    exact: bool = False,
    dtype: Any = np.float32,
    dims: int = 2,
) -> Any:
    """Source index (int64, shape (out_size,)) of every output position, ``nearest`` or
    ``nearest-exact``, as torch's CPU kernels compute it for input of ``dtype``: ``dims == 2``
    means its small 2-d kernel (``UpSample.h`` ``nearest_idx``: float32, with the same-size and
    double-size shortcuts of ``nearest``), any other value its generic kernel
    (``HelperInterpNearest``: ``compute_dtype(dtype)``, no shortcuts, the final floor in float32)."""
    o = np.arange(out_size)
    if dims == 2:
        if not exact and out_size == in_size:
            return o
        if not exact and out_size == 2 * in_size:
            return o >> 1
        scale = _scale(in_size, out_size, scale_factor, np.float32)
        src = (o + 0.5) * np.float64(scale) if exact else o.astype(np.float32) * scale
    else:
        ct = compute_dtype(dtype)
        scale = _scale(in_size, out_size, scale_factor, ct)
        if not exact:
            src = o.astype(ct) * scale
        else:
            src = np.maximum(fma(scale, o.astype(ct) + ct(0.5), ct(-0.5)), ct(0)).astype(np.float64) + 0.5
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), in_size - 1)


def nearest_taps(in_size: int, out_size: int, scale_factor: float | None, exact: bool, dtype: Any, dims: int) -> Taps:
    """:func:`nearest_indices` as taps: (index (out_size, 1), None), a host table of out_size
    entries (the data is read by :func:`resize`: one gather pass)."""
    return nearest_indices(in_size, out_size, scale_factor, exact, dtype, dims)[:, None], None


def linear_indices(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any
) -> tuple[Any, Any, Any]:
    """(i0, i1, lam) of linear interpolation along one axis, each of shape (out_size,):
    ``y[o] = (1 - lam[o]) * x[i0[o]] + lam[o] * x[i1[o]]``; ``lam`` in ``compute_dtype(dtype)``."""
    ct = compute_dtype(dtype)
    if out_size == in_size:  # torch: both taps at o, weights 1 and 0, whatever the scale factor
        o = np.arange(out_size)
        return o, o.copy(), np.zeros(out_size, ct)
    i0, lam = _guard(source_index(in_size, out_size, scale_factor, align_corners, ct), in_size)
    return i0, i0 + (i0 < in_size - 1), lam


def linear_taps(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any) -> Taps:
    """:func:`linear_indices` as taps: (index, weight), each (out_size, 2), host tables (the data is
    read by :func:`resize`: two gathers and multiply-adds per axis)."""
    i0, i1, lam = linear_indices(in_size, out_size, scale_factor, align_corners, dtype)
    return np.stack([i0, i1], axis=-1), np.stack([1 - lam, lam], axis=-1)


CUBIC_A = -0.75  # the cubic convolution parameter of torch (and OpenCV)


def _cubic_near(x: Any, a: Any, fused: bool = True) -> Any:
    """Keys' kernel for |x| <= 1: ``((a+2)*x - (a+3))*x*x + 1``, the first step fused as torch's
    interpolate build does (``fused``), or step by step."""
    inner = fma(a + 2, x, -(a + 3)) if fused else (a + 2) * x - (a + 3)
    return inner * x * x + 1


def _cubic_far(x: Any, a: Any, fused: bool = True) -> Any:
    """Keys' kernel for 1 < |x| < 2: ``((a*x - 5a)*x + 8a)*x - 4a``, the first two steps fused as
    torch's interpolate build does (``fused``), or step by step."""
    inner = fma(fma(a, x, -5 * a), x, 8 * a) if fused else (a * x - 5 * a) * x + 8 * a
    return inner * x - 4 * a


def cubic_weights(t: Any, fused: bool = True) -> list[Any]:
    """Keys' cubic convolution weights of the taps at distances 1+t, t, 1-t, 2-t, as torch's
    ``get_cubic_upsample_coefficients`` forms them (2-t as (1-t)+1): four arrays shaped like t.
    ``fused``: with torch's fused multiply-adds (interpolate), else plain (grid_sample's
    vectorised kernel)."""
    a, one = t.dtype.type(CUBIC_A), t.dtype.type(1)
    near, far = _cubic_near, _cubic_far
    return [far(t + one, a, fused), near(t, a, fused), near(one - t, a, fused), far(one - t + one, a, fused)]


def cubic_indices(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any) -> Taps:
    """(taps, weights), each (out_size, 4): ``y[o] = sum_k weights[o, k] * x[taps[o, k]]``.
    (No same-size shortcut: torch's bicubic applies a scale factor even then.)"""
    base, t = _guard(source_index(in_size, out_size, scale_factor, align_corners, compute_dtype(dtype), True), in_size)
    taps = np.clip(base[:, None] + np.arange(-1, 3), 0, in_size - 1)
    return taps, np.stack(cubic_weights(t), -1)


def uint8_taps(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, cubic: bool
) -> tuple[Any, tuple[Any, int]]:
    """torch's fixed-point taps of bilinear (``cubic`` False) or bicubic resizing of uint8 input
    along one axis (``_compute_index_ranges_int16_weights``): (index (out, T), (weight (out, T)
    int32, p)) -- the float64 weights (torch's filter form) of a run of reads of one clamped
    border pixel summed onto the run's last tap (the others 0), times ``2**p`` rounded half away
    from 0, p the most bits (< 22) that keep the largest weight (partial sums included) below 2**15."""
    src = source_index(in_size, out_size, scale_factor, align_corners, np.float64, cubic)
    base, lam = _guard(src, in_size)
    reach = np.arange(-1, 3) if cubic else np.arange(2)
    x = np.abs(reach.astype(np.float64) - lam[:, None])
    if cubic:
        a = np.float64(CUBIC_A)
        w = np.where(x < 1, _cubic_near(x, a), np.where(x < 2, _cubic_far(x, a), 0.0))
    else:
        w = np.where(x < 1, 1.0 - x, 0.0)
    index = np.clip(base[:, None] + reach, 0, in_size - 1)
    # a clamped border tap read several times is one tap whose weight is their sum, added up
    # in order; torch sizes the fixed point by the largest weight, partial sums included
    acc, top = w[:, 0].copy(), max(0.0, float(w[:, 0].max(initial=0)))
    for k in range(1, w.shape[1]):
        repeat = index[:, k] == index[:, k - 1]
        w[repeat, k - 1] = 0  # (the read is moved to the run's last tap; 0 * a pixel adds nothing)
        acc = np.where(repeat, acc + w[:, k], w[:, k])
        w[:, k] = acc
        top = max(top, float(acc.max(initial=0)))
    bits = 0
    while bits < 22 and int(0.5 + top * (1 << (bits + 1))) < 1 << 15:
        bits += 1
    v = w * (1 << bits)
    return index, (np.trunc(v + np.where(v < 0, -0.5, 0.5)).astype(np.int32), bits)


def resize_uint8(x: Any, taps: Sequence[Any]) -> Any:
    """y (N, C, OH, OW) uint8 from x (N, C, H, W) uint8 and the :func:`uint8_taps` of H and W:
    torch's fixed-point passes, W first, then H, an axis that keeps its size skipped."""
    xp = backend.get_array_module(x)
    y = x
    for axis in (x.ndim - 1, x.ndim - 2):
        index, (weight, bits) = taps[axis - x.ndim + 2]
        if index.shape[0] == y.shape[axis]:
            continue
        shape = (index.shape[0],) + (1,) * (x.ndim - axis - 1)
        acc = None
        for k in range(index.shape[1]):
            tap = xp.take(y, xp.asarray(index[:, k]), axis=axis).astype(np.int32)
            tap *= xp.asarray(weight[:, k]).reshape(shape)
            acc = tap + (1 << (bits - 1)) if acc is None else acc + tap
        y = xp.clip(acc >> bits, 0, 255).astype(np.uint8)
    return y.copy() if y is x else y


def transpose_taps(taps: Taps, in_size: int) -> Taps:
    """The taps of the adjoint map, (index (in_size, F), weight (in_size, F) or None): input
    position i gathers every (output position o, tap k) that reads it, one slot each with its
    weight (F: the largest such count); the slots beyond a position's own count hold index -1
    (absent taps, see :func:`resize`). Host work only: an argsort of the m*t reads, O(m t log(m t))
    on the (small) tables, never on the data."""
    index, weight = taps
    m, t = index.shape
    order = np.argsort(index.reshape(-1), kind="stable")  # the reads, grouped by what they read
    src = index.reshape(-1)[order]
    fan_in = np.bincount(src, minlength=in_size)
    width = max(int(fan_in.max(initial=0)), 1)
    slot = np.arange(src.size) - (np.cumsum(fan_in) - fan_in)[src]
    t_index = np.full((in_size, width), -1, np.int64)
    t_index[src, slot] = order // t
    if weight is None:
        return t_index, None
    t_weight = np.zeros((in_size, width), weight.dtype)
    t_weight[src, slot] = weight.reshape(-1)[order]
    return t_index, t_weight


def _is_identity(taps: Taps, in_size: int) -> bool:
    index, weight = taps
    return (
        index.shape == (in_size, 1)
        and (weight is None or bool(np.all(weight == 1)))
        and bool(np.all(index[:, 0] == np.arange(in_size)))
    )


def _gather(y: Any, axis: int, index: Any, weight: Any) -> Any:
    """``sum_k weight[:, k] * take(y, index[:, k], axis)`` (index (R, K)); an index -1 is an
    absent tap: that row skips it (its sum has fewer terms), it does not add ``0 * y[-1]``."""
    xp = backend.get_array_module(y)
    rows = index.shape[0]
    shape = (rows,) + (1,) * (y.ndim - axis - 1)
    out = None
    for k in range(index.shape[1]):
        absent = index[:, k] < 0
        n_absent = int(absent.sum())
        if n_absent == rows:
            continue
        few = n_absent <= rows // 2  # then gather every row, and clear the absent ones afterwards
        take = np.where(absent, 0, index[:, k]) if few else index[~absent, k]
        tap = xp.take(y, xp.asarray(take), axis=axis)
        if weight is not None:
            w = weight[:, k] if few else weight[~absent, k]
            tap *= xp.asarray(w.astype(y.dtype)).reshape((w.size,) + shape[1:])
        if few and n_absent:
            tap[_along(axis, xp.asarray(np.flatnonzero(absent)))] = 0
        if not few:
            out = xp.zeros(y.shape[:axis] + (rows,) + y.shape[axis + 1 :], y.dtype) if out is None else out
            out[_along(axis, xp.asarray(np.flatnonzero(~absent)))] += tap  # (distinct rows: a plain add)
        elif out is None:
            out = tap
        else:
            out += tap
    if out is None:  # no tap at all (no rows, or nothing read)
        out = xp.zeros(y.shape[:axis] + (rows,) + y.shape[axis + 1 :], y.dtype)
    return out


def _along(axis: int, rows: Any) -> tuple:
    """The index of ``rows`` along ``axis`` (every element of the other axes)."""
    return (slice(None),) * axis + (rows,)


def resize(x: Any, taps: Sequence[Taps]) -> Any:
    """y (N, C, *O) from x (N, C, *S) and one (index (O_a, T), weight (O_a, T) or None) per
    spatial axis a, applied first axis to last: ``sum_k weight[:, k] * take(., index[:, k], axis)``
    (an index -1: an absent tap). An inf or NaN input spreads quietly, as in torch.
    Cost: per axis T gathers and multiply-adds over the array after that axis's pass (~2*T*P
    flops; nearest: one gather)."""
    y = x
    with np.errstate(invalid="ignore", over="ignore"):
        for axis, (index, weight) in enumerate(taps, start=x.ndim - len(taps)):
            if not _is_identity((index, weight), y.shape[axis]):
                y = _gather(y, axis, index, weight)
    return y.copy() if y is x else y


def _scatter(gy: Any, axis: int, taps: Taps, in_size: int) -> Any:
    """The adjoint of one axis' gather as T scatter-adds: ``gx[index[o, k]] += weight[o, k] * gy[o]``."""
    xp = backend.get_array_module(gy)
    index, weight = taps
    gx = xp.zeros(gy.shape[:axis] + (in_size,) + gy.shape[axis + 1 :], gy.dtype)
    grid = [xp.arange(n).reshape((n,) + (1,) * (gy.ndim - d - 1)) for d, n in enumerate(gy.shape)]
    shape = (index.shape[0],) + (1,) * (gy.ndim - axis - 1)
    for k in range(index.shape[1]):
        grid[axis] = xp.asarray(index[:, k]).reshape(shape)
        values = gy if weight is None else gy * xp.asarray(weight[:, k].astype(gy.dtype)).reshape(shape)
        add_at(gx, tuple(grid), values)
    return gx


def resize_backward(gy: Any, taps: Sequence[Taps], x_shape: tuple) -> Any:
    """gx (N, C, *S) of :func:`resize`: per axis the gather of the transposed taps, or
    scatter-adds where a position has many readers and the gathers would be tiny (see
    ``SLOT_ELEMENTS``). Cost: about the forward's, ~T*P multiply-adds per axis."""
    gx = gy
    with np.errstate(invalid="ignore", over="ignore"):
        for axis, (t, n) in enumerate(zip(taps, x_shape[-len(taps) :]), start=gy.ndim - len(taps)):
            if _is_identity(t, n):
                continue
            fan_in, width = int(np.bincount(t[0].reshape(-1), minlength=n).max(initial=0)), t[0].shape[1]
            if fan_in > SCATTER_FAN_IN * width and fan_in * SLOT_ELEMENTS > width * gx.size:
                gx = _scatter(gx, axis, t, n)
            else:
                gx = _gather(gx, axis, *transpose_taps(t, n))
    return gx.copy() if gx is gy else gx
