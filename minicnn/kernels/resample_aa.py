"""Anti-aliased resizing (``F.interpolate(..., antialias=True)``, modes bilinear, bicubic and lanczos):
a separable filter whose support widens with the downscaling factor, as torch's CPU kernels
(``UpSampleKernel.cpp``: ``_compute_indices_min_size_weights_aa``, taken from Pillow).

Shapes: x (N, C, H, W) -> y (N, C, OH, OW). Each spatial axis (input size n, output size m) is
one weight matrix ``A`` (m, n), and ``y = A_h @ x @ A_w^T`` over the last two axes (W first,
then H, as torch). Backward: ``gx = A_h^T @ gy @ A_w``, the transposed contractions.

Weights of one axis, torch's rule. ``scale`` is ``(n-1)/(m-1)`` (0 when m == 1) with
align_corners, else ``1/scale_factor`` when one was given, else ``n/m`` (torch's
``area_pixel_compute_scale``); the filter is the triangle ``max(0, 1 - |t|)`` (bilinear,
``interp = 2``), Keys' cubic with ``a = -0.5`` (bicubic, ``interp = 4``; Pillow's value: plain
bicubic uses -0.75) or Lanczos-3, ``sinc(t) * sinc(t/3)`` for ``|t| < 3`` with
``sinc(t) = sin(pi t)/(pi t)`` (lanczos, ``interp = 6``; Pillow's ``Image.LANCZOS``, torch 2.14's
``HelperInterpLanczos``; no align_corners). For output position ``o``:

* ``support = interp/2 * max(scale, 1)`` -- downscaling by s stretches the filter s times;
* ``center = scale * (o + 0.5)`` (in input pixel units, pixel edges at integers);
* the taps are ``i = xmin .. xmin + xsize - 1`` with ``xmin = max(trunc(center - support + 0.5), 0)``
  and ``xmin + xsize = min(trunc(center + support + 0.5), n)`` -- the support truncated at
  the edges, no clamped border reads;
* ``w_i = filter((i - center + 0.5) / max(scale, 1))``, then divided by their sum (unless it is 0),
  so that every output is a weighted mean of the taps it reads.

As torch, the weights are computed in the input's float type (float32 for float32 input, the
truncations of ``center +- support + 0.5`` in float64), and an axis whose size does not change is
copied, whatever the scale factor. (Lanczos in float32: torch takes ``sinf`` of ``pi t`` and
the window ``sinc(t/3)`` in float64; minicnn takes both sines in float64, so a float32 weight
may differ from torch's in its last bit.)

Known differences (torch 2.14's CPU kernels, every filter; not reproduced): (1) its backward
applies the weights of an axis of unchanged size all the same, so under a scale factor with
``floor(n * s) == n`` but ``s != 1`` its gradient is not the adjoint of its forward (and
``torch.autograd.gradcheck`` fails); minicnn's backward is the exact adjoint (that axis copied).
(2) For an output width of 1 its float forward applies the first output row's weights to every
output row of the vertical (H) pass; minicnn resamples each row with its own weights (what
torch gives for the transposed input).

Dense matrices cost O(m*n) host memory and time to build per axis and a BLAS matmul of
~2*N*C*(H*W*OW + H*OW*OH) flops forward (the same backward), whatever the filter width: fine for
small images, so they are used only while each has at most ``DENSE_MAX`` (2**20) elements (a
1024 -> 1024 axis, 8 MB in float64). A larger axis (a 4000 -> 3999 one would be 128 MB in
float64 and ~99.9% zeros) takes the banded form instead: only the ``xsize`` taps of each row,
as :func:`aa_axis` gives them (built without the dense matrix) for
:func:`minicnn.kernels.upsample.resize` (gathers, cost ~2*T*P per pass with
T = 2*ceil(support)+1; its sums in another order: float32 results within a few ulps of torch's).
The dense form also turns ``0 * inf`` into NaN across a whole row, where torch reads only the
support; :func:`resample` therefore takes the banded path for input holding inf or NaN (one
reduction to check, a host sync on a GPU).

The weights depend only on the sizes and settings, not on the data: :func:`axis_weights` keeps
the last ``CACHE_SIZE`` axes' (host taps and the dense matrix where the input lives, uploaded once
per device) in a small LRU cache, so a training loop or a data pipeline resizing to the same
size builds and copies nothing after its first call.

uint8 input (torch's fixed-point path, no gradient): :func:`aa_uint8_taps` for
:func:`minicnn.kernels.upsample.resize_uint8` -- the float64 weights scaled to integers with the
most bits (< 22) that keep the largest weight below 2**15, rounded half away from 0.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np

from .. import backend
from . import upsample as U
from .upsample import Taps

INTERP_SIZE = {"bilinear": 2, "bicubic": 4, "lanczos": 6}
CUBIC_AA_A = -0.5  # Keys' a of torch's (and Pillow's) anti-aliased bicubic filter


def aa_scale(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, ct: Any) -> Any:
    """torch's ``area_pixel_compute_scale`` in ``ct``: the input step per output step along one
    axis, a scalar (no arrays, no cost)."""
    if align_corners:
        return ct(in_size - 1) / ct(out_size - 1) if out_size > 1 else ct(0)
    return U._scale(in_size, out_size, scale_factor, ct)


def aa_filter(t: Any, mode: str) -> Any:
    """The filter at distances ``t`` (array, its dtype kept): triangle, cubic (a = -0.5) or
    Lanczos-3. Array code on ``t``'s module (the per-sample resizer of the transforms runs it
    on the device; lanczos is host-only)."""
    xp = backend.get_array_module(t)
    t = xp.abs(t)
    one = t.dtype.type(1)
    if mode == "bilinear":
        return xp.where(t < one, one - t, t.dtype.type(0))
    if mode == "lanczos":
        return lanczos3(t)
    a = t.dtype.type(CUBIC_AA_A)
    near = ((a + 2) * t - (a + 3)) * t * t + one
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return xp.where(t < one, near, xp.where(t < 2, far, t.dtype.type(0)))


def _sinc(t: Any) -> Any:
    """sin(pi t) / (pi t), 1 at t == 0; ``pi t`` and the quotient rounded to t's dtype, the
    sine taken in float64 (torch's ``std::sin`` of a float: the same up to its last bit)."""
    pit = t * t.dtype.type(math.pi)
    safe = np.where(pit == 0, t.dtype.type(1), pit)
    return np.where(t == 0, t.dtype.type(1), np.sin(safe.astype(np.float64)).astype(t.dtype) / safe)


def lanczos3(t: Any) -> Any:
    """Lanczos-3 at distances ``|t|`` (array, dtype kept): ``sinc(t) * sinc(t / 3)`` for t < 3, else 0.
    As torch's ``aa_filter<float>``, whose ``x / 3.0`` is a double: the second factor and the
    product in float64, then rounded to t's dtype."""
    window = _sinc(t.astype(np.float64) / 3.0)
    return np.where(t < 3, _sinc(t).astype(np.float64) * window, 0.0).astype(t.dtype)


def aa_weights(in_size: int, out_size: int, scale: Any, mode: str) -> tuple[Any, Any, Any]:
    """(xmin (m,), xsize (m,), weights (m, T)) in ``type(scale)``: row o holds the normalised
    weights of input positions ``xmin[o] + k`` for k < xsize[o], zeros after;
    T = 2*ceil(support) + 1."""
    ct = type(scale)
    s = float(scale)
    support = ct(INTERP_SIZE[mode] * 0.5 * s) if s >= 1.0 else ct(INTERP_SIZE[mode] * 0.5)
    width = int(math.ceil(support)) * 2 + 1
    center = (s * (np.arange(out_size) + 0.5)).astype(ct)
    invscale = ct(1.0 / s) if s >= 1.0 else ct(1)
    c64, s64 = center.astype(np.float64), float(support)
    xmin = np.maximum(np.trunc(c64 - s64 + 0.5).astype(np.int64), 0)
    xsize = np.minimum(np.trunc(c64 + s64 + 0.5).astype(np.int64), in_size) - xmin
    xsize = np.clip(xsize, 0, width)  # (torch: rounding can make it one too many)
    k = np.arange(width)
    t = ((xmin[:, None] + k).astype(ct) - center[:, None]).astype(np.float64) + 0.5
    w = aa_filter((t * float(invscale)).astype(ct), mode)
    w[k >= xsize[:, None]] = 0
    total = np.zeros(out_size, ct)
    for j in range(width):  # torch's order of summation
        total += w[:, j]
    w = np.where(total[:, None] != 0, w / np.where(total != 0, total, 1)[:, None], w).astype(ct)
    return xmin, xsize, w


DENSE_MAX = 1 << 20  # elements of one axis' dense matrix (8 MB in float64); a larger axis gets only its taps


def aa_axis(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, mode: str, dtype: Any
) -> tuple[Any, Taps, Taps]:
    """One axis' weights as host arrays in ``dtype`` (float32 or float64: torch's CPU kernels
    take no other): the dense matrix A (out_size, in_size), or None when it would have more
    than ``DENSE_MAX`` elements, and the banded taps of A and of A^T for
    :func:`minicnn.kernels.upsample.resize` -- (index (rows, T), weight (rows, T)), index -1
    in a row's unused slots -- which hold exactly torch's reads (zero weights at a support's
    ends included). Cost of the taps: O(out_size * T), whatever the sizes."""
    scale = aa_scale(in_size, out_size, scale_factor, align_corners, dtype)
    xmin, xsize, w = aa_weights(in_size, out_size, scale, mode)
    rows, k = np.nonzero(np.arange(w.shape[1]) < xsize[:, None])
    cols, values = xmin[rows] + k, w[rows, k].astype(dtype, copy=False)
    matrix = None
    if out_size * in_size <= DENSE_MAX:
        matrix = np.zeros((out_size, in_size), dtype)
        matrix[rows, cols] = values
    return matrix, _banded(rows, cols, values, out_size), _banded(cols, rows, values, in_size)


CACHE_SIZE = 32  # axes whose weights are kept (an entry: at most 2 * DENSE_MAX * 8 bytes + taps)
_cache: OrderedDict[tuple, Any] = OrderedDict()


def _cached(key: tuple, build: Any) -> Any:
    """``build()``, kept under ``key`` among the last ``CACHE_SIZE`` results (least recently
    used dropped first); its host arrays made read-only, since every caller shares them."""
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    entry = build()
    stack = [entry]
    while stack:
        a = stack.pop()
        if isinstance(a, tuple):
            stack.extend(a)
        elif isinstance(a, np.ndarray):
            a.flags.writeable = False
    _cache[key] = entry
    if len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return entry


def axis_weights(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, mode: str, dtype: Any, like: Any
) -> tuple[Any, Taps, Taps]:
    """:func:`aa_axis`, with the dense matrix (when there is one) as an array where ``like``
    lives, from a least-recently-used cache keyed by everything the weights depend on (sizes,
    scale factor, align_corners, mode, dtype, device). The arrays are shared between calls:
    read-only. (A NaN scale factor never matches: it builds anew each time.)"""
    dtype = np.dtype(dtype)
    on_gpu = backend.is_cupy_array(like)
    place = ("cuda", like.device.id) if on_gpu else ("cpu",)

    def build() -> tuple[Any, Taps, Taps]:
        matrix, taps, grad_taps = aa_axis(in_size, out_size, scale_factor, align_corners, mode, dtype.type)
        if matrix is not None and on_gpu:
            with backend.array_scope(like):
                matrix = backend.get_array_module(like).asarray(matrix)
        return matrix, taps, grad_taps

    return _cached((in_size, out_size, scale_factor, bool(align_corners), mode, dtype.str, place), build)


def uint8_axis_taps(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, mode: str
) -> tuple[Any, tuple[Any, int]]:
    """:func:`aa_uint8_taps` from the cache of :func:`axis_weights` (host arrays, read-only)."""
    key = (in_size, out_size, scale_factor, bool(align_corners), mode, "uint8")
    return _cached(key, lambda: aa_uint8_taps(in_size, out_size, scale_factor, align_corners, mode))


def clear_cache() -> None:
    """Forget the weights :func:`axis_weights` and :func:`uint8_axis_taps` keep."""
    _cache.clear()


def _banded(rows: Any, cols: Any, values: Any, n_rows: int) -> Taps:
    """The taps of the (n_rows, .) matrix whose entries (rows[i], cols[i]) are ``values[i]``
    (each read once): row r's reads in slots 0, 1, ..., in the order of their columns."""
    order = np.lexsort((cols, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    counts = np.bincount(rows, minlength=n_rows)
    slot = np.arange(rows.size) - (np.cumsum(counts) - counts)[rows]
    index = np.full((n_rows, max(int(counts.max(initial=0)), 1)), -1, np.int64)
    weight = np.zeros(index.shape, values.dtype)
    index[rows, slot] = cols
    weight[rows, slot] = values
    return index, weight


def copy_taps(size: int) -> Taps:
    """The taps of an axis that is copied: (index (size, 1), None) -- a host table,
    :func:`minicnn.kernels.upsample.resize` skips the axis (no pass over the data)."""
    return np.arange(size)[:, None], None


def resample(x: Any, a_h: Any, a_w: Any, taps: tuple[Taps, Taps], banded: bool = False) -> Any:
    """y (N, C, OH, OW) = a_h @ x @ a_w^T from x (N, C, H, W); ``a_h`` (OH, H) and ``a_w``
    (OW, W) matrices (host or on x's device), or None for an axis that is copied; W first, then H, as torch.
    With ``banded`` (an axis too large for a dense matrix), or for input holding inf or NaN,
    through the banded ``taps`` (H's, W's) instead."""
    xp = backend.get_array_module(x)
    if banded or not bool(xp.isfinite(x).all()):
        return U.resize(x, list(taps))  # (H first: the same reads, other roundings)
    y = x
    if a_w is not None:
        y = y @ xp.asarray(a_w.T.astype(x.dtype, copy=False))
    if a_h is not None:
        y = xp.asarray(a_h.astype(x.dtype, copy=False)) @ y
    return y.copy() if y is x else y


def resample_backward(gy: Any, a_h: Any, a_w: Any, taps: tuple[Taps, Taps], banded: bool = False) -> Any:
    """gx (N, C, H, W) = a_h^T @ gy @ a_w from gy (N, C, OH, OW), the matrices of
    :func:`resample` (None: that axis copied); through ``taps``, the banded forms of a_h^T and
    a_w^T, with ``banded`` or where gy holds inf or NaN."""
    xp = backend.get_array_module(gy)
    if banded or not bool(xp.isfinite(gy).all()):
        return U.resize(gy, list(taps))
    gx = gy
    if a_h is not None:
        gx = xp.asarray(a_h.T.astype(gy.dtype, copy=False)) @ gx
    if a_w is not None:
        gx = gx @ xp.asarray(a_w.astype(gy.dtype, copy=False))
    return gx.copy() if gx is gy else gx


def aa_uint8_taps(
    in_size: int, out_size: int, scale_factor: float | None, align_corners: bool, mode: str
) -> tuple[Any, tuple[Any, int]]:
    """torch's fixed-point anti-aliased taps of one axis for uint8 input
    (``_compute_index_ranges_int16_weights``): (index (m, T), (weight (m, T) int32, bits));
    the weights of :func:`aa_weights` in float64 times ``2**bits``, rounded half away from 0."""
    scale = aa_scale(in_size, out_size, scale_factor, align_corners, np.float64)
    xmin, _, w = aa_weights(in_size, out_size, scale, mode)
    top = max(0.0, float(w.max(initial=0)))
    bits = 0
    while bits < 22 and int(0.5 + top * (1 << (bits + 1))) < 1 << 15:
        bits += 1
    v = w * (1 << bits)
    index = np.minimum(xmin[:, None] + np.arange(w.shape[1]), in_size - 1)  # taps past xsize weigh 0
    return index, (np.trunc(v + np.where(v < 0, -0.5, 0.5)).astype(np.int32), bits)
