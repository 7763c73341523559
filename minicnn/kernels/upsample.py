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
  torch has two implementations (:func:`nearest_indices`): its 2-d kernel computes in float32
  for every dtype and copies an axis of unchanged size (``o``) or halves at twice the size
  (``o // 2``), whatever the scale factor; its 1-d and 3-d kernels take no such shortcut and
  compute in float64 for float64 input (``max(scale*(o + 0.5) - 0.5, 0) + 0.5`` for
  nearest-exact, with the fused multiply-add of a float32 build). Both are matched exactly.
* ``linear``/``bilinear``/``trilinear``, ``align_corners=False``: ``src = max(0, (o + 0.5)*scale - 0.5)``;
  ``align_corners=True``: ``src = o * (n-1)/(m-1)`` (0 when m == 1; scale factors ignored).
  An axis with m == n is copied as it is (torch's CPU kernels of every rank; scale factor or not).
  Then ``i0 = min(floor(src), n-1)``, ``i1 = i0 + 1`` (``i0`` at the last position),
  ``lam = src - i0`` and ``y = (1-lam)*x[i0] + lam*x[i1]``.
* ``bicubic`` (2-d only, as in torch): ``src = (o + 0.5)*scale - 0.5`` (not clamped) or
  ``o * (n-1)/(m-1)`` with align_corners; taps ``floor(src) - 1 .. floor(src) + 2`` clamped
  into [0, n-1], weighted by Keys' cubic convolution kernel with ``A = -0.75`` at the distances
  ``1 + t, t, 1 - t, 2 - t`` (``t = src - floor(src)``); unlike linear, an axis with m == n is
  resampled too when a scale factor was given (as torch's kernel does).

Backward is the transpose of each axis' map, and the transpose of a gather is again a gather
(:func:`transpose_taps`): input position ``i`` sums the output positions that read it, with
the same weights, padded with weight-0 taps to the largest fan-in F. So the backward is
:func:`resize` with the transposed taps -- no scatter-add, no atomics, deterministic on a GPU.

Known difference (torch's, not ours): torch's 1-d and 3-d nearest backward uses the 2-d
index rule, shortcuts included, so where the two rules pick different pixels (a scale factor
giving m == n or m == 2n, or a float64 rounding) torch's gradient is not the adjoint of its
forward and ``torch.autograd.gradcheck`` fails; likewise torch's bicubic backward copies an
axis of unchanged size that its forward resamples. minicnn's gradient is the exact adjoint.

Cost, per axis pass over an array of P elements after the pass: T gathers and multiply-adds,
~2*T*P flops (nearest: one gather, P copies); passes run first axis to last, so the 2-d case
makes an (N, C, OH, W) intermediate. Backward: the same with F (~ T*m/n + 1) taps per input
position. Host work: O(T*m) per axis for the taps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend

Taps = tuple[Any, Any]  # (index (out, T) int64, weight (out, T) or None for weights 1), host arrays


def compute_dtype(dtype: Any) -> Any:
    """torch's ``opmath`` type: index arithmetic of float16/float32 inputs in float32, of float64 in float64."""
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


def _scale(in_size: int, out_size: int, scale_factor: float | None, dtype: Any) -> Any:
    """``1/scale_factor`` when one was given (and positive), else ``in/out``, in ``dtype``."""
    if scale_factor is not None and scale_factor > 0:
        return dtype(1.0 / scale_factor)
    return dtype(in_size) / dtype(out_size)


def nearest_indices(
    in_size: int,
    out_size: int,
    scale_factor: float | None = None,
    exact: bool = False,
    dtype: Any = np.float32,
    dims: int = 2,
) -> Any:
    """Source index (int64, shape (out_size,)) of every output position, ``nearest`` or
    ``nearest-exact``, as torch's CPU kernel for ``dims`` spatial axes computes it for input of
    ``dtype``: for dims == 2 in float32 with the same-size and double-size shortcuts of
    ``nearest`` (``UpSample.h`` ``nearest_idx``); for dims 1 and 3 in ``compute_dtype(dtype)``
    without shortcuts (``HelperInterpNearest``), the final floor in float32 (``floorf``)."""
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
            # scale*(o + 0.5) - 0.5 as one fused multiply-add: exact in float64 for float32 operands
            src = (np.float64(scale) * (o.astype(ct) + ct(0.5)) - 0.5).astype(ct)
            src = np.maximum(src, ct(0)).astype(np.float64) + 0.5
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), in_size - 1)


def nearest_taps(in_size: int, out_size: int, scale_factor: float | None, exact: bool, dtype: Any, dims: int) -> Taps:
    """:func:`nearest_indices` as taps: (index (out_size, 1), None)."""
    return nearest_indices(in_size, out_size, scale_factor, exact, dtype, dims)[:, None], None


def linear_indices(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any
) -> tuple[Any, Any, Any]:
    """(i0, i1, lam) of linear interpolation along one axis, each of shape (out_size,):
    ``y[o] = (1 - lam[o]) * x[i0[o]] + lam[o] * x[i1[o]]``; ``lam`` in ``compute_dtype(dtype)``."""
    ct = compute_dtype(dtype)
    o = np.arange(out_size).astype(ct)
    if out_size == in_size:  # torch's CPU kernels leave such an axis as it is, whatever the scale factor
        src = o
    elif align_corners:
        scale = ct(in_size - 1) / ct(out_size - 1) if out_size > 1 else ct(0)
        src = scale * o
    else:
        src = np.maximum(_scale(in_size, out_size, scale_factor, ct) * (o + ct(0.5)) - ct(0.5), ct(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - i0.astype(ct), 0, 1).astype(ct)
    i1 = i0 + (i0 < in_size - 1)
    return i0, i1, lam


def linear_taps(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any) -> Taps:
    """:func:`linear_indices` as taps: (index, weight), each (out_size, 2)."""
    i0, i1, lam = linear_indices(in_size, out_size, scale_factor, align_corners, dtype)
    return np.stack([i0, i1], axis=-1), np.stack([1 - lam, lam], axis=-1)


CUBIC_A = -0.75  # the cubic convolution parameter of torch (and OpenCV)


def _cubic_weights(t: Any) -> Any:
    """Keys' cubic convolution weights (..., 4) of the taps at distances 1+t, t, 1-t, 2-t."""
    a = t.dtype.type(CUBIC_A)

    def near(x: Any) -> Any:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Any) -> Any:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = t.dtype.type(1)
    return np.stack([far(t + one), near(t), near(one - t), far(one - t + one)], axis=-1)


def cubic_indices(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any) -> Taps:
    """(taps, weights), each (out_size, 4): ``y[o] = sum_k weights[o, k] * x[taps[o, k]]``."""
    ct = compute_dtype(dtype)
    o = np.arange(out_size).astype(ct)
    if align_corners:  # (no same-size shortcut: torch's bicubic applies the scale factor even then)
        src = (ct(in_size - 1) / ct(out_size - 1) if out_size > 1 else ct(0)) * o
    else:
        src = _scale(in_size, out_size, scale_factor, ct) * (o + ct(0.5)) - ct(0.5)
    base = np.floor(src)
    taps = np.clip(base.astype(np.int64)[:, None] + np.arange(-1, 3), 0, in_size - 1)
    return taps, _cubic_weights((src - base).astype(ct)).astype(ct)


def transpose_taps(taps: Taps, in_size: int) -> Taps:
    """The taps of the adjoint map, (index (in_size, F), weight (in_size, F) or None): input
    position i gathers every output position o that reads it (the weights of repeated reads,
    such as bicubic's clamped border taps, added up); rows with fewer than F readers are padded
    with weight-0 taps repeating their first index (so an inf or NaN gradient there reaches the
    position as NaN, as torch's weight-0 taps pass it on). None when every weight is 1."""
    index, weight = taps
    m, t = index.shape
    w = np.ones((m, t)) if weight is None else weight.astype(np.float64)
    pairs, which = np.unique(index.reshape(-1) * m + np.arange(m).repeat(t), return_inverse=True)
    pair_weight = np.bincount(which.reshape(-1), weights=w.reshape(-1))
    src, out = pairs // m, pairs % m  # sorted by src, then out
    fan_in = np.bincount(src, minlength=in_size)
    width = max(int(fan_in.max(initial=0)), 1)
    slot = np.arange(pairs.size) - (np.cumsum(fan_in) - fan_in)[src]
    t_index, t_weight = np.zeros((in_size, width), np.int64), np.zeros((in_size, width))
    t_index[src, slot], t_weight[src, slot] = out, pair_weight
    t_index = np.where(np.arange(width) < fan_in[:, None], t_index, t_index[:, :1])
    if np.all(t_weight == 1):
        return t_index, None
    return t_index, t_weight.astype(np.float32 if weight is None else weight.dtype)


def _is_identity(taps: Taps, in_size: int) -> bool:
    index, weight = taps
    return (
        index.shape == (in_size, 1)
        and (weight is None or bool(np.all(weight == 1)))
        and bool(np.all(index[:, 0] == np.arange(in_size)))
    )


def resize(x: Any, taps: Sequence[Taps]) -> Any:
    """y (N, C, *O) from x (N, C, *S) and one (index (O_a, T), weight (O_a, T) or None) per
    spatial axis a, applied first axis to last: ``sum_k weight[:, k] * take(., index[:, k], axis)``."""
    xp = backend.get_array_module(x)
    y = x
    for axis, (index, weight) in enumerate(taps, start=x.ndim - len(taps)):
        if _is_identity((index, weight), y.shape[axis]):
            continue
        index = xp.asarray(index)
        if weight is not None:  # (O_a, T, 1, ..., 1): weight[:, k] broadcasts over the axes after ``axis``
            weight = xp.asarray(weight.astype(x.dtype)).reshape(*index.shape, *(1,) * (x.ndim - axis - 1))
        out = xp.take(y, index[:, 0], axis=axis)
        if weight is not None:
            out *= weight[:, 0]
        for k in range(1, index.shape[1]):
            tap = xp.take(y, index[:, k], axis=axis)
            out += tap if weight is None else tap * weight[:, k]
        y = out
    return y.copy() if y is x else y


def resize_backward(gy: Any, taps: Sequence[Taps], x_shape: tuple) -> Any:
    """gx (N, C, *S) of :func:`resize`: the same gathers with each axis' transposed taps."""
    return resize(gy, [transpose_taps(t, n) for t, n in zip(taps, x_shape[-len(taps) :])])
