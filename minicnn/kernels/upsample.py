"""Resizing images (``torch.nn.functional.interpolate``): nearest and bilinear, as gathers.

Shapes: x (N, C, H, W) -> y (N, C, OH, OW). Both modes are separable: every output row oh
reads one (nearest) or two (bilinear) input rows chosen by a *source index* rule, and every
column likewise, so the indices and weights are 1-d arrays computed once per axis (on the
host, then moved to x's device) and the resize is fancy indexing over the whole batch.

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

Backward is the transpose: every output gradient is added back onto the input positions it
was read from, with the same weights -- a scatter-add (repeated indices accumulate), done as
one 1-d ``np.add.at`` (``cupyx.scatter_add`` on a GPU) over flat positions.

Known difference: the nearest rules follow torch's float32 index arithmetic for every dtype.
torch's float64 kernels round some products differently, so for float64 input with a
non-integer scale factor (or some 1-d sizes) an output pixel can read the neighbouring input
pixel (about 1-8 % of such configurations, found by an audit); float32 input matches exactly.

Cost: nearest reads and writes N*C*OH*OW elements; bilinear ~3*N*C*OH*(W + OW) flops
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


def nearest_indices(in_size: int, out_size: int, scale_factor: float | None = None, exact: bool = False) -> Any:
    """Source index (int64, shape (out_size,)) of every output position, ``nearest`` or
    ``nearest-exact`` (float32 arithmetic, as torch's CPU and CUDA kernels)."""
    o = np.arange(out_size)
    if not exact and out_size == in_size:
        return o
    if not exact and out_size == 2 * in_size:
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


def upsample_bilinear2d(x: Any, h_idx: tuple, w_idx: tuple) -> Any:
    """y (N, C, OH, OW) from x (N, C, H, W) and the (i0, i1, lam) of each axis (:func:`linear_indices`)."""
    xp = backend.get_array_module(x)
    h0, h1, lh = _on(xp, *h_idx)
    w0, w1, lw = _on(xp, *w_idx)
    lh, lw = lh.astype(x.dtype)[:, None], lw.astype(x.dtype)
    t = x[:, :, h0, :] * (1 - lh) + x[:, :, h1, :] * lh  # (N, C, OH, W)
    return t[..., w0] * (1 - lw) + t[..., w1] * lw


def upsample_bilinear2d_backward(gy: Any, x_shape: tuple, h_idx: tuple, w_idx: tuple) -> Any:
    """gx (N, C, H, W): the W pass and then the H pass of :func:`upsample_bilinear2d`, transposed."""
    xp = backend.get_array_module(gy)
    h0, h1, lh = _on(xp, *h_idx)
    w0, w1, lw = _on(xp, *w_idx)
    lh, lw = lh.astype(gy.dtype), lw.astype(gy.dtype)
    n, c, h, w = x_shape
    gt = _scatter_last(xp.concatenate([gy * (1 - lw), gy * lw], axis=-1), xp.concatenate([w0, w1]), w)
    gt = gt.transpose(0, 1, 3, 2)  # (N, C, W, OH): the H axis last for the second scatter
    gx = _scatter_last(xp.concatenate([gt * (1 - lh), gt * lh], axis=-1), xp.concatenate([h0, h1]), h)
    return xp.ascontiguousarray(gx.transpose(0, 1, 3, 2))
