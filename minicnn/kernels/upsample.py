"""Resizing images (``torch.nn.functional.interpolate``): nearest, bilinear and bicubic, as
gathers.

Shapes: x (N, C, H, W) -> y (N, C, OH, OW). Every mode is separable: every output row oh
reads one (nearest), two (bilinear) or four (bicubic) input rows -- its *taps* -- chosen by a
*source index* rule and weighted, and every column likewise, so the taps and weights are small
arrays (out_size, T) computed once per axis (on the host, then moved to x's device) and the
resize is fancy indexing over the whole batch.

Source index of output position ``o`` along an axis of input size ``n`` and output size
``m``, with ``scale = 1/scale_factor`` when the caller passed a scale factor (torch's rule,
kept even though ``m = floor(n*scale_factor)`` makes it differ from n/m) and ``n/m``
otherwise -- torch's ``UpSample.h``, including the float32 arithmetic of the nearest rules:

* ``nearest``:        ``min(floor(o * scale), n-1)`` (o itself when m == n, ``o // 2`` when m == 2n);
* ``nearest-exact``:  ``min(floor((o + 0.5) * scale), n-1)`` (pixel centres, like PIL/OpenCV);
* ``bilinear``, ``align_corners=False``: ``src = max(0, (o + 0.5)*scale - 0.5)``;
  ``align_corners=True``: ``src = o * (n-1)/(m-1)`` (0 when m == 1; scale factors ignored).
  An axis with m == n is copied as it is (torch's CPU kernel; scale factor or not).
  Then ``i0 = min(floor(src), n-1)``, ``i1 = i0 + 1`` (``i0`` at the last row), ``lam = src - i0``,
  and ``y = (1-lam)*x[i0] + lam*x[i1]``, first along H, then along W.
* ``bicubic``: ``src = (o + 0.5)*scale - 0.5`` (not clamped) or ``o * (n-1)/(m-1)`` with
  align_corners; taps ``floor(src) - 1 .. floor(src) + 2`` clamped into [0, n-1], weighted by
  Keys' cubic convolution kernel with ``A = -0.75`` at the distances ``1 + t, t, 1 - t, 2 - t``
  (``t = src - floor(src)``); unlike bilinear, an axis with m == n is resampled too when a
  scale factor was given (as torch's kernel does).

Backward is the transpose: every output gradient is added back onto the input positions it
was read from, with the same weights -- a scatter-add (repeated indices accumulate), done as
one 1-d ``np.add.at`` (``cupyx.scatter_add`` on a GPU) over flat positions.

Known difference: the nearest rules follow torch's float32 index arithmetic for every dtype.
torch's float64 kernels round some products differently, so for float64 input with a
non-integer scale factor (or some 1-d sizes) an output pixel can read the neighbouring input
pixel (about 1-8 % of such configurations, found by an audit); float32 input matches exactly.

Cost: nearest reads and writes N*C*OH*OW elements; a T-tap mode ~2T*N*C*OH*(W + OW) flops
(the H pass makes an (N, C, OH, W) intermediate). Backward: the same number of scatter-adds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend


def compute_dtype(dtype: Any) -> Any:
    """torch's ``opmath`` type: index arithmetic of float16/float32 inputs in float32, of float64 in float64."""
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


def _scale(in_size: int, out_size: int, scale_factor: float | None, dtype: Any) -> Any:
    """``1/scale_factor`` when one was given (and positive), else ``in/out``, in ``dtype``."""
    if scale_factor is not None and scale_factor > 0:
        return dtype(1.0 / scale_factor)
    return dtype(in_size) / dtype(out_size)


def nearest_indices(
    in_size: int, out_size: int, scale_factor: float | None = None, exact: bool = False, shortcuts: bool = True
) -> Any:
    """Source index (int64, shape (out_size,)) of every output position, ``nearest`` or
    ``nearest-exact`` (float32 arithmetic, as torch's CPU and CUDA kernels). ``shortcuts``:
    torch's 2-d kernel copies an axis of unchanged size and halves at exactly twice the size,
    whatever the scale factor; its 1-d kernel does not when a scale factor is given."""
    o = np.arange(out_size)
    if not exact and shortcuts and out_size == in_size:
        return o
    if not exact and shortcuts and out_size == 2 * in_size:
        return o >> 1
    scale = _scale(in_size, out_size, scale_factor, np.float32)
    src = (o + 0.5) * np.float64(scale) if exact else o.astype(np.float32) * scale
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), in_size - 1)


def linear_indices(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any
) -> tuple[Any, Any, Any]:
    """(i0, i1, lam) of bilinear interpolation along one axis, each of shape (out_size,):
    ``y[o] = (1 - lam[o]) * x[i0[o]] + lam[o] * x[i1[o]]``; ``lam`` in ``compute_dtype(dtype)``."""
    ct = compute_dtype(dtype)
    o = np.arange(out_size).astype(ct)
    if out_size == in_size:  # torch's CPU kernel leaves such an axis as it is, whatever the scale factor
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


def cubic_indices(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any
) -> tuple[Any, Any]:
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


def linear_taps(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, dtype: Any) -> tuple:
    """:func:`linear_indices` as (taps, weights), each (out_size, 2)."""
    i0, i1, lam = linear_indices(in_size, out_size, scale_factor, align_corners, dtype)
    return np.stack([i0, i1], axis=-1), np.stack([1 - lam, lam], axis=-1)


def _scatter_last(g: Any, index: Any, size: int) -> Any:
    """out (..., size) with ``out[..., index[j]] += g[..., j]`` (repeated indices accumulate)."""
    xp = backend.get_array_module(g)
    rows = int(np.prod(g.shape[:-1]))
    out = xp.zeros(rows * size, dtype=g.dtype)
    flat = (xp.arange(rows)[:, None] * size + index[None, :]).reshape(-1)
    values = xp.ascontiguousarray(g).reshape(-1)
    if xp is np:
        np.add.at(out, flat, values)
    else:
        import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

        cupyx.scatter_add(out, flat, values)
    return out.reshape(*g.shape[:-1], size)


def _on(xp: Any, *arrays: Any) -> tuple[Any, ...]:
    return tuple(xp.asarray(a) for a in arrays)


def upsample_nearest2d(x: Any, hi: Any, wi: Any) -> Any:
    """y (N, C, OH, OW) = x[:, :, hi[oh], wi[ow]] for source indices hi (OH,), wi (OW,)."""
    xp = backend.get_array_module(x)
    hi, wi = _on(xp, hi, wi)
    return x[:, :, hi[:, None], wi[None, :]]


def upsample_nearest2d_backward(gy: Any, x_shape: tuple, hi: Any, wi: Any) -> Any:
    """gx (N, C, H, W): every gy[n, c, oh, ow] added onto x position (hi[oh], wi[ow])."""
    xp = backend.get_array_module(gy)
    n, c, h, w = x_shape
    hi, wi = _on(xp, hi, wi)
    flat = (hi[:, None] * w + wi[None, :]).reshape(-1)  # each output pixel's source, flat in H*W
    return _scatter_last(gy.reshape(n * c, gy.shape[2] * gy.shape[3]), flat, h * w).reshape(x_shape)


def upsample_taps2d(x: Any, h_taps: tuple, w_taps: tuple) -> Any:
    """y (N, C, OH, OW) from x (N, C, H, W) and each axis' (taps, weights), (OH, T) and (OW, T):
    the weighted taps along H first, then along W."""
    xp = backend.get_array_module(x)
    (hi, hw), (wi, ww) = _on(xp, *h_taps), _on(xp, *w_taps)
    hw, ww = hw.astype(x.dtype), ww.astype(x.dtype)
    t = sum(x[:, :, hi[:, k], :] * hw[:, k, None] for k in range(hi.shape[1]))  # (N, C, OH, W)
    return sum(t[..., wi[:, k]] * ww[:, k] for k in range(wi.shape[1]))


def upsample_taps2d_backward(gy: Any, x_shape: tuple, h_taps: tuple, w_taps: tuple) -> Any:
    """gx (N, C, H, W): the W pass and then the H pass of :func:`upsample_taps2d`, transposed
    (each a scatter-add of the T weighted copies of the gradient onto their taps)."""
    xp = backend.get_array_module(gy)
    (hi, hw), (wi, ww) = _on(xp, *h_taps), _on(xp, *w_taps)
    hw, ww = hw.astype(gy.dtype), ww.astype(gy.dtype)
    n, c, h, w = x_shape
    gt = _scatter_last(xp.concatenate([gy * ww[:, k] for k in range(wi.shape[1])], axis=-1), wi.T.reshape(-1), w)
    gt = gt.transpose(0, 1, 3, 2)  # (N, C, W, OH): the H axis last for the second scatter
    gx = _scatter_last(xp.concatenate([gt * hw[:, k] for k in range(hi.shape[1])], axis=-1), hi.T.reshape(-1), h)
    return xp.ascontiguousarray(gx.transpose(0, 1, 3, 2))
