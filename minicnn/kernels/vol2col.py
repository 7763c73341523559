"""vol2col and col2vol (3-d im2col and col2im), and the 3-d convolutions built on them.

A 3-d convolution slides a ``C x kd x kh x kw`` window over a (zero-padded) volume. ``vol2col``
copies every window into a column, so that all windows times all filters become one GEMM per
group, exactly as :mod:`minicnn.kernels.im2col` does for images; ``col2vol`` is its adjoint
(every column added back onto its window, overlaps summed).

Shapes (x (N, C, D, H, W), kernel (kd, kh, kw), K = kd*kh*kw, per axis a with stride s,
padding (before, after) and dilation d, torch's rule)::

    out_a = floor((in_a + before + after - d*(k_a - 1) - 1) / s) + 1       (OD, OH, OW), P = OD*OH*OW
    vol2col   (N, C, D, H, W) -> (N, C*K, P)
    col2vol   (N, C*K, P) -> (N, C, D, H, W)

Row ``c*K + (i*kh + j)*kw + l`` of an image's column matrix holds, for every output voxel
(od, oh, ow), the voxel ``xpad[c, od*s_d + i*d_d, oh*s_h + j*d_h, ow*s_w + l*d_w]``.

How: a loop over the K kernel offsets (never over images or voxels). Offset (i, j, l) of every
window at once is one strided view of the padded volume, ``xpad[:, :, i*d_d : ... : s_d, ...]``
of shape (N, C, OD, OH, OW); vol2col copies it into row block (i, j, l) of the columns, col2vol
adds row block (i, j, l) back into that view.

Cost (elements M = N*C*K*P, the column matrix: K/(s_d*s_h*s_w) times the input): vol2col writes
each once; col2vol reads each once with one read-add-write of the padded gradient per offset.
Extra memory: the columns and a zero-padded copy of the input when there is padding.

The convolutions (cross-correlation, ``torch.nn.functional.conv3d``)::

    x (N, C, D, H, W), w (O, C/groups, kd, kh, kw), b (O,) -> y (N, O, OD, OH, OW)
    y[n, o] = b[o] + sum_{c, i, j, l} w[o, c, i, j, l] * xpad[n, group(o)*C/groups + c, <offset (i, j, l)>]

:func:`conv3d_forward` and :func:`conv3d_backward`, two algorithms (``algo=``, the same numbers):

* ``"vol2col"`` (any stride; the reference): vol2col, then ``W (groups, O/g, C/g*K) @ cols (n,
  groups, C/g*K, P)`` -- one ``matmul`` whose (n, groups, O/g, P) result *is* the NCDHW output.
  Backward: ``dW = gy @ cols^T`` and ``dcols = W^T @ gy`` (GEMMs), ``dX = col2vol(dcols)``,
  ``db`` a sum. A 1x1x1 kernel with stride 1 and no padding needs no columns (the input is its
  own column matrix).
* ``"shift"`` (stride 1 only; chosen there by ``"auto"``, :func:`choose_algo`): the same GEMMs
  on *shifted* columns. Flatten each channel of the padded volume, xflat (N, C, Dp*Hp*Wp), and
  put output voxel (od, oh, ow) at flat position ``q = od*Hp*Wp + oh*Wp + ow`` of the padded
  grid: with stride 1 its offset (i, j, l) reads ``xflat[q + shift]``, ``shift = i*d_d*Hp*Wp +
  j*d_h*Wp + l*d_w``. So row block (i, j, l) of the columns is one contiguous slice
  ``xflat[:, :, shift : shift + span]`` -- K copies of N*C long rows, where vol2col copies
  N*C*OD*OH rows of OW voxels each (NumPy pays per row) -- and col2vol becomes K adds of long
  rows at the same shifts. ``span = (OD-1)*Hp*Wp + (OH-1)*Wp + OW`` positions: the P output
  voxels and the grid's gaps between them (oh >= OH or ow >= OW), a fraction
  ``1 - OH*OW/(Hp*Wp)`` computed and cut away in the forward pass, fed zeros in the backward
  pass (gy is first copied onto the grid). Cost: the GEMM flops times span/P (1.17 for a 24 x 24
  map padded by 1); copies and adds at memory speed. Extra memory: the padded input, and the
  output (forward) or gy and dX (backward) on the padded grid.

Cost ``2*N*O*(C/groups)*K*P`` flops forward, twice that backward. The columns live in the
workspace of :mod:`minicnn.kernels.conv`, bounded by its budget (``set_im2col_budget``): a batch
whose columns exceed it (or, on the CPU, the cache-sized chunk) runs in chunks of images -- and
with ``"shift"``, an image whose columns alone exceed it in runs of positions (equal runs of at
least ``MIN_RUN``; ``MIN_ADD_RUN`` for dX), so that a large volume's GEMMs also work in the
cache. The backward pass rebuilds the columns chunk by chunk instead of keeping them.

Measured (float32, x (4, 16, 16, 24, 24), 32 filters 3x3x3, padding 1; medians in one process,
ms forward / dW / dX at 1 thread): vol2col 23.0 / 21.9 / 30.7, shift 20.2 / 18.6 / 18.0, torch
9.4 / 9.8 / 9.6; at 2 threads vol2col 22.0 / 13.7 / 22.9, shift 12.7 / 13.1 / 12.1. vol2col's
dX was the slowest part: its inner-32 GEMM writes 16 MB of dcols per image, which col2vol reads
back in 166k rows of 24 voxels. What is left is GEMM time: OpenBLAS runs these shapes at ~90
GFLOP/s (its square-matrix rate here is ~100), and each of the three GEMMs is 1.2 GFLOP with
the gaps. Tried for the input gradient and dropped: the forward correlation of gy (padded by
d*(k-1) - p) with the flipped, channel-transposed weight, one GEMM of inner dimension O*K (24 ms
even with shifted columns: twice the columns to copy, a wider grid); per-offset GEMMs
``W_k^T @ gy`` added straight into dX without dcols (33 ms); vol2col in chunks of depth planes
(28 ms).

:func:`conv_transpose3d_forward` (``torch.nn.functional.conv_transpose3d``) is the convolution's
input gradient run forward: x (N, C_in, D, H, W), w (C_in, C_out/groups, kd, kh, kw) ->
(N, C_out, OD, OH, OW), ``out_a = (in_a - 1)*s - 2*p + d*(k_a - 1) + output_padding_a + 1``;
one GEMM ``W^T @ x`` per group, then col2vol. Its backward is the convolution's forward (vol2col
of gy, then GEMMs). Same cost as the convolution it transposes.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from . import conv
from .conv import _chunks, _workspace, get_im2col_budget
from .conv_shapes import conv_output_size, window_slice
from .conv_transpose import fit, full_size, output_size

Triple = tuple[int, int, int]
Pads = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]  # (before, after) for D, H, W


def _int(v: Any, name: str, op: str) -> int:
    """An int from anything with ``__index__``; a float, a string or a bool is torch's TypeError."""
    if isinstance(v, bool):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {v!r}") from None


def triple(v: Any, name: str = "value", op: str = "conv3d") -> Triple:
    """``3 -> (3, 3, 3)``; a 1-sequence is broadcast and a 3-sequence kept (torch's rule); any
    other length is a ValueError naming ``op``, a non-integer a TypeError."""
    if isinstance(v, (tuple, list)):
        if len(v) not in (1, 3):
            raise ValueError(f"{op}: {name} must be an int or a tuple of 3 ints, got {v!r}")
        a, b, c = (v[0],) * 3 if len(v) == 1 else v
        return _int(a, name, op), _int(b, name, op), _int(c, name, op)
    n = _int(v, name, op)
    return n, n, n


def resolve_padding(padding: Any, kernel: Triple, stride: Triple, dilation: Triple, op: str = "conv3d") -> Pads:
    """Padding as ((before, after),) * 3 from an int, a triple, ``"valid"``, ``"same"`` or the
    explicit form. ``"same"`` (stride 1 only, like torch) pads ``d*(k-1)`` per axis, half before
    and the rest (the odd extra voxel) after."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
    if isinstance(padding, (tuple, list)) and len(padding) == 3 and isinstance(padding[0], (tuple, list)):
        pads = tuple((int(b), int(a)) for b, a in padding)
    else:
        pads = tuple((p, p) for p in triple(padding, "padding", op))
    if min(min(p) for p in pads) < 0:
        raise ValueError(f"{op}: negative padding is not supported, got {padding!r}")
    return pads  # type: ignore[return-value]


class Geometry3d(NamedTuple):
    """A 3-d convolution's sizes and settings, resolved: x (n, c, *size), weight
    (o, c/groups, *kernel), output (n, o, *out)."""

    n: int
    c: int
    o: int
    groups: int
    size: Triple
    kernel: Triple
    stride: Triple
    pads: Pads
    dilation: Triple
    out: Triple

    @property
    def k(self) -> int:
        """Kernel offsets kd*kh*kw."""
        return math.prod(self.kernel)

    @property
    def p(self) -> int:
        """Output voxels per image OD*OH*OW."""
        return math.prod(self.out)

    @property
    def ck(self) -> int:
        """Rows of one group's column matrix: (C/groups) * K."""
        return self.c // self.groups * self.k

    @property
    def padded(self) -> Triple:
        return tuple(s + b + a for s, (b, a) in zip(self.size, self.pads))  # type: ignore[return-value]

    @property
    def pointwise(self) -> bool:
        """1x1x1 kernel, stride 1, no padding: the input already is the column matrix."""
        return self.kernel == (1, 1, 1) and self.stride == (1, 1, 1) and self.pads == ((0, 0),) * 3

    def offsets(self) -> Iterator[tuple[Triple, tuple[slice, slice, slice]]]:
        """((i, j, l), slices) for every kernel offset in row-major order: ``xpad[..., *slices]``
        is the (..., OD, OH, OW) view that offset multiplies."""
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                for l in range(self.kernel[2]):
                    slices = tuple(
                        window_slice(t, self.stride[a], self.dilation[a], self.out[a]) for a, t in enumerate((i, j, l))
                    )
                    yield (i, j, l), slices  # type: ignore[misc]

    def crop(self) -> tuple[slice, slice, slice]:
        """The padded-volume positions that hold the unpadded input."""
        return tuple(slice(b, b + s) for s, (b, _) in zip(self.size, self.pads))  # type: ignore[return-value]

    def shifts(self) -> list[int]:
        """Stride 1: per kernel offset (i, j, l), row-major, its start in the flattened padded
        volume, ``i*d_d*Hp*Wp + j*d_h*Wp + l*d_w``."""
        _, hp, wp = self.padded
        kd, kh, kw = self.kernel
        dd, dh, dw = self.dilation
        return [i * dd * hp * wp + j * dh * wp + l * dw for i in range(kd) for j in range(kh) for l in range(kw)]

    @property
    def span(self) -> int:
        """Stride 1: flat positions from the first output voxel to the last one, on the padded
        grid (an output row every Wp, a plane every Hp*Wp): ``(OD-1)*Hp*Wp + (OH-1)*Wp + OW``."""
        _, hp, wp = self.padded
        od, oh, ow = self.out
        return (od - 1) * hp * wp + (oh - 1) * wp + ow


def geometry3d(
    x_shape: tuple,
    w_shape: tuple,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    op: str = "conv3d",
) -> Geometry3d:
    """Check that a weight of ``w_shape`` (O, C/groups, kd, kh, kw) fits an input of ``x_shape``
    (N, C, D, H, W) and resolve the settings; ValueErrors name ``op``."""
    n, c = x_shape[:2]
    o, cg = w_shape[:2]
    if groups < 1 or o % groups or cg * groups != c:
        raise ValueError(
            f"{op}: weight of shape {tuple(w_shape)} with groups={groups} does not fit an input of shape "
            f"{tuple(x_shape)} (expected weight (O, C/groups, kd, kh, kw) with O divisible by groups)"
        )
    kernel = tuple(int(k) for k in w_shape[2:])
    stride, dilation = triple(stride, "stride", op), triple(dilation, "dilation", op)
    if min(stride) < 1:
        raise ValueError(f"{op}: non-positive stride is not supported, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be positive, got {dilation}")
    pads = resolve_padding(padding, kernel, stride, dilation, op)  # type: ignore[arg-type]
    size = tuple(int(s) for s in x_shape[2:])
    out = tuple(conv_output_size(size[a], kernel[a], stride[a], pads[a], dilation[a]) for a in range(3))
    if min(out) < 1:
        padded = tuple(s + b + a for s, (b, a) in zip(size, pads))
        raise ValueError(
            f"{op}: padded input of size {padded} is smaller than the kernel {kernel} with dilation "
            f"{dilation}: the output would be {out}"
        )
    return Geometry3d(n, c, o, groups, size, kernel, stride, pads, dilation, out)  # type: ignore[arg-type]


def _window_geometry(x_shape: tuple, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> Geometry3d:
    """The sliding-window geometry of ``x_shape`` (as a convolution with one filter)."""
    return geometry3d(x_shape, (1, x_shape[1], *triple(kernel_size)), stride, padding, dilation, op="vol2col")


def pad3d(x: Any, pads: Pads) -> Any:
    """Zero-pad the three spatial axes of ``x`` (N, C, D, H, W); ``x`` itself without padding."""
    if pads == ((0, 0),) * 3:
        return x
    xp = backend.get_array_module(x)
    padded = tuple(s + b + a for s, (b, a) in zip(x.shape[2:], pads))
    out = xp.zeros((*x.shape[:2], *padded), dtype=x.dtype)
    out[(slice(None), slice(None), *(slice(b, b + s) for s, (b, _) in zip(x.shape[2:], pads)))] = x
    return out


def vol2col(x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, *, out: Any = None) -> Any:
    """Columns of all windows of ``x`` (N, C, D, H, W): (N, C*K, P). ``padding``: an int, a
    triple or ((before, after),) * 3. ``out``: optional buffer with at least that many elements
    (the workspace), written in place. Cost: one write of each of the N*C*K*P column entries (K
    strided copies), plus a zero-padded copy of x when there is padding."""
    xp = backend.get_array_module(x)
    g = _window_geometry(x.shape, kernel_size, stride, padding, dilation)
    xpad = pad3d(x, g.pads)
    shape = (g.n, g.c, *g.kernel, *g.out)
    cols = xp.empty(shape, dtype=x.dtype) if out is None else out.reshape(-1)[: math.prod(shape)].reshape(shape)
    for (i, j, l), slices in g.offsets():
        cols[:, :, i, j, l] = xpad[(slice(None), slice(None), *slices)]
    return cols.reshape(g.n, g.c * g.k, g.p)


def col2vol(
    cols: Any,
    x_shape: tuple,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    *,
    out: Any = None,
) -> Any:
    """Adjoint of :func:`vol2col`: cols (N, C*K, P) -> an array of ``x_shape`` (N, C, D, H, W)
    (written into ``out`` if given) in which every voxel holds the sum of the column entries
    that came from it; entries from the padding are dropped. Cost: one read of each column entry
    and one read-add-write pass over the padded gradient per offset (K passes)."""
    xp = backend.get_array_module(cols)
    g = _window_geometry(x_shape, kernel_size, stride, padding, dilation)
    cols = cols.reshape(g.n, g.c, *g.kernel, *g.out)
    no_pad = g.pads == ((0, 0),) * 3
    if no_pad and out is not None:
        acc = out
        acc[...] = 0
    else:
        acc = xp.zeros((g.n, g.c, *g.padded), dtype=cols.dtype)
    for (i, j, l), slices in g.offsets():
        acc[(slice(None), slice(None), *slices)] += cols[:, :, i, j, l]
    if no_pad:
        return acc
    inner = acc[(slice(None), slice(None), *g.crop())]
    if out is None:
        return xp.ascontiguousarray(inner)
    out[...] = inner
    return out


# -- the convolution ---------------------------------------------------------------------

ALGOS = ("auto", "vol2col", "shift")
# Shortest runs of positions for "shift" (when one image's columns exceed the chunk limit).
# Forward and dW: cache-sized runs, but no shorter than MIN_RUN (the copies pay per row).
# dX: longer than 2048 -- NumPy 2.4's strided in-place add runs about 3x slower per element on
# rows of 2048 elements or fewer (measured: 6-9 ns vs 2 ns per 16-row column); with 2028-position
# runs the bench case's dX adds took 9 ms instead of 3. (Wide layers, e.g. 64 -> 64 channels on
# 16 x 24 x 24: forward and dW 18 % faster in cache-sized runs of ~600 than in runs of 2049.)
MIN_RUN = 256
MIN_ADD_RUN = 2049


# "shift" computes the gaps of the padded grid too: worth it while they add at most half again
# as many positions (a dilated kernel on a small output makes the grid mostly gaps: dilation 4
# on 8^3 took twice vol2col's time).
MAX_GAP_RATIO = 1.5


def choose_algo(g: Geometry3d, itemsize: int = 4) -> str:
    """``"shift"`` for stride 1 (a 1x1x1 kernel only with padding) where the grid's gaps cost
    little (``span <= MAX_GAP_RATIO * P``) and its whole-batch arrays (the padded input, the
    output or gradients on the grid) fit the im2col budget; else ``"vol2col"``."""
    if g.stride != (1, 1, 1) or g.pointwise or g.p == 0:
        return "vol2col"
    dp, hp, wp = g.padded
    grid_bytes = g.n * max(g.c * dp, g.o * g.out[0]) * hp * wp * itemsize
    return "shift" if g.span <= MAX_GAP_RATIO * g.p and grid_bytes <= get_im2col_budget() else "vol2col"


def _resolve_algo(algo: str, g: Geometry3d, itemsize: int = 4) -> str:
    if algo not in ALGOS:
        raise ValueError(f"conv3d: algo must be one of {ALGOS}, got {algo!r}")
    if algo == "auto":
        return choose_algo(g, itemsize)
    if algo == "shift" and g.stride != (1, 1, 1):
        raise ValueError(f"conv3d: algo='shift' needs stride 1, got stride {g.stride}")
    return algo


def _columns(x: Any, g: Geometry3d) -> Any:
    """Column matrices (n, groups, C/g*K, P) of a chunk of n images, in the workspace."""
    xp = backend.get_array_module(x)
    n = x.shape[0]
    if g.pointwise:
        return xp.ascontiguousarray(x).reshape(n, g.groups, g.ck, g.p)
    buf = _workspace(xp, n * g.groups * g.ck * g.p, x.dtype)
    cols = vol2col(x, g.kernel, g.stride, g.pads, g.dilation, out=buf)
    return cols.reshape(n, g.groups, g.ck, g.p)


def _shifted_columns(xflat: Any, g: Geometry3d, q0: int, q1: int) -> Any:
    """Shifted columns (n, groups, C/g*K, q1 - q0) of flat positions q0 <= q < q1, in the
    workspace: row ``c*K + k`` is ``xflat[:, c, shift_k + q0 : shift_k + q1]``."""
    xp = backend.get_array_module(xflat)
    n, q = xflat.shape[0], q1 - q0
    cols = _workspace(xp, n * g.c * g.k * q, xflat.dtype).reshape(n, g.c, g.k, q)
    for k, shift in enumerate(g.shifts()):
        cols[:, :, k] = xflat[:, :, shift + q0 : shift + q1]
    return cols.reshape(n, g.groups, g.ck, q)


def _position_chunks(
    xp: Any, n: int, g: Geometry3d, bytes_per_position: int, min_run: int
) -> Iterator[tuple[int, int, int, int]]:
    """(n0, n1, q0, q1): images n0 <= i < n1, flat positions q0 <= q < q1 -- whole images while
    one image's ``span`` positions fit the chunk limit of :mod:`minicnn.kernels.conv` (budget;
    on the CPU, cache-sized), else one image in equal runs of at least ``min_run`` positions
    (fewer, longer runs where the limit would make them shorter; one when span < min_run)."""
    limit = get_im2col_budget() if xp is not np else min(get_im2col_budget(), conv.CACHE_CHUNK_BYTES)
    if g.span * bytes_per_position <= limit:
        for n0, n1 in _chunks(xp, n, g.span * bytes_per_position):
            yield n0, n1, 0, g.span
        return
    count = min(math.ceil(g.span * bytes_per_position / limit), max(1, g.span // min_run))
    bounds = [r * g.span // count for r in range(count + 1)]  # runs of floor or ceil(span/count)
    for i in range(n):
        for q0, q1 in zip(bounds[:-1], bounds[1:]):
            yield i, i + 1, q0, q1


def _on_grid(a: Any, g: Geometry3d) -> Any:
    """a (N, O, OD, OH, OW) on the padded grid: (N, O, OD*Hp*Wp), zero where ow >= OW or oh >= OH."""
    xp = backend.get_array_module(a)
    _, hp, wp = g.padded
    out = xp.zeros((*a.shape[:3], hp, wp), dtype=a.dtype)
    out[..., : g.out[1], : g.out[2]] = a
    return out.reshape(*a.shape[:2], a.shape[2] * hp * wp)


def _off_grid(a: Any, g: Geometry3d) -> Any:
    """a (N, O, OD*Hp*Wp) on the padded grid -> the output voxels, contiguous (N, O, OD, OH, OW)."""
    xp = backend.get_array_module(a)
    _, hp, wp = g.padded
    return xp.ascontiguousarray(a.reshape(*a.shape[:2], g.out[0], hp, wp)[..., : g.out[1], : g.out[2]])


def _conv3d_forward_vol2col(x: Any, w: Any, g: Geometry3d) -> Any:
    """y (N, O, P): vol2col of each chunk of images, then ``W @ cols`` into y."""
    xp = backend.get_array_module(x)
    og = g.o // g.groups
    wg = w.reshape(g.groups, og, g.ck)
    y = xp.empty((g.n, g.o, g.p), dtype=x.dtype)
    col_bytes = 0 if g.pointwise else g.groups * g.ck * g.p * x.itemsize
    for n0, n1 in _chunks(xp, g.n, col_bytes):
        cols = _columns(x[n0:n1], g)  # (n, groups, C/g*K, P)
        xp.matmul(wg, cols, out=y[n0:n1].reshape(n1 - n0, g.groups, og, g.p))
    return y


def _conv3d_forward_shift(x: Any, w: Any, g: Geometry3d) -> Any:
    """y (N, O, P), stride 1: shifted columns of each chunk of positions, ``W @ cols`` onto the
    padded grid, then the output cut out of it."""
    xp = backend.get_array_module(x)
    og = g.o // g.groups
    wg = w.reshape(g.groups, og, g.ck)
    xflat = pad3d(x, g.pads).reshape(g.n, g.c, math.prod(g.padded))
    _, hp, wp = g.padded
    grid = xp.empty((g.n, g.groups, og, g.out[0] * hp * wp), dtype=x.dtype)  # never read past span
    for n0, n1, q0, q1 in _position_chunks(xp, g.n, g, g.c * g.k * x.itemsize, MIN_RUN):
        xp.matmul(wg, _shifted_columns(xflat[n0:n1], g, q0, q1), out=grid[n0:n1, :, :, q0:q1])
    return _off_grid(grid.reshape(g.n, g.o, grid.shape[-1]), g).reshape(g.n, g.o, g.p)


def conv3d_forward(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    algo: str = "auto",
) -> Any:
    """y (N, O, OD, OH, OW) = conv3d(x (N, C, D, H, W), w (O, C/groups, kd, kh, kw)) + b (O,).
    ``algo``: ``"vol2col"``, ``"shift"`` (stride 1 only) or ``"auto"`` (:func:`choose_algo`).
    Cost: 2*N*O*(C/groups)*K*P flops (K = kd*kh*kw, P = OD*OH*OW), columns bounded by the budget."""
    g = geometry3d(x.shape, w.shape, stride, padding, dilation, groups)
    if _resolve_algo(algo, g, x.itemsize) == "shift":
        y = _conv3d_forward_shift(x, w, g)
    else:
        y = _conv3d_forward_vol2col(x, w, g)
    if b is not None:
        y += b[:, None]
    return y.reshape(g.n, g.o, *g.out)


def _conv3d_backward_vol2col(gy: Any, x: Any, w: Any, g: Geometry3d, need_dx: bool, need_dw: bool) -> tuple:
    """(dx, dW^T per group (groups, C/g*K, O/g)) for gy (N, O, P): per chunk of images the
    columns are rebuilt, ``dW^T += sum_n cols @ gy^T``, then ``dcols = W^T @ gy`` overwrites
    them in the workspace and col2vol folds dcols into dX."""
    xp = backend.get_array_module(gy)
    og = g.o // g.groups
    gx = xp.empty(x.shape, dtype=gy.dtype) if need_dx else None
    gw = None
    wt = w.reshape(g.groups, og, g.ck).transpose(0, 2, 1)
    per_image = (0 if g.pointwise else g.groups * g.ck * g.p) + (g.ck * g.o if need_dw else 0)
    for n0, n1 in _chunks(xp, g.n, per_image * gy.itemsize):
        n = n1 - n0
        gyc = gy[n0:n1].reshape(n, g.groups, og, g.p)
        if need_dw:  # (n, groups, CK, P) @ (n, groups, P, O/g), summed over the images
            part = xp.matmul(_columns(x[n0:n1], g), gyc.transpose(0, 1, 3, 2)).sum(axis=0)
            gw = part if gw is None else gw + part
        if need_dx:
            if g.pointwise:  # W^T @ gy already is the input gradient
                xp.matmul(wt, gyc, out=gx[n0:n1].reshape(n, g.groups, g.ck, g.p))
            else:
                buf = _workspace(xp, n * g.groups * g.ck * g.p, gy.dtype).reshape(n, g.groups, g.ck, g.p)
                dcols = xp.matmul(wt, gyc, out=buf)
                col2vol(dcols, (n, g.c, *g.size), g.kernel, g.stride, g.pads, g.dilation, out=gx[n0:n1])
    return gx, gw


def _conv3d_backward_shift(gy: Any, x: Any, w: Any, g: Geometry3d, need_dx: bool, need_dw: bool) -> tuple:
    """(dx, dW^T per group) for gy (N, O, P), stride 1: gy goes onto the padded grid (zeros
    where no output voxel is); per run of positions ``dW^T += cols @ gy^T`` with the shifted
    columns; then, in runs of its own (longer, for the adds), ``dcols = W^T @ gy`` and each of
    its K row blocks added onto the flattened padded gradient at its shift; dX is cut out of that."""
    xp = backend.get_array_module(gy)
    og = g.o // g.groups
    gyg = _on_grid(gy.reshape(g.n, g.o, *g.out), g)
    gyg = gyg.reshape(g.n, g.groups, og, gyg.shape[-1])
    xflat = pad3d(x, g.pads).reshape(g.n, g.c, math.prod(g.padded)) if need_dw else None
    gxflat = xp.zeros((g.n, g.c, math.prod(g.padded)), dtype=gy.dtype) if need_dx else None
    gw = None
    wt = w.reshape(g.groups, og, g.ck).transpose(0, 2, 1)
    bytes_per_position = g.c * g.k * gy.itemsize
    if need_dw:  # (n, groups, CK, q) @ (n, groups, q, O/g), summed over the images and the runs
        for n0, n1, q0, q1 in _position_chunks(xp, g.n, g, bytes_per_position, MIN_RUN):
            cols = _shifted_columns(xflat[n0:n1], g, q0, q1)
            part = xp.matmul(cols, gyg[n0:n1, :, :, q0:q1].transpose(0, 1, 3, 2)).sum(axis=0)
            gw = part if gw is None else gw + part
    gx = None
    if need_dx:  # dcols (n, groups, CK, q) = W^T @ gy, its K row blocks added at their shifts
        for n0, n1, q0, q1 in _position_chunks(xp, g.n, g, bytes_per_position, MIN_ADD_RUN):
            n, q = n1 - n0, q1 - q0
            buf = _workspace(xp, n * g.c * g.k * q, gy.dtype).reshape(n, g.groups, g.ck, q)
            dcols = xp.matmul(wt, gyg[n0:n1, :, :, q0:q1], out=buf).reshape(n, g.c, g.k, q)
            for k, shift in enumerate(g.shifts()):
                gxflat[n0:n1, :, shift + q0 : shift + q1] += dcols[:, :, k]
        gxpad = gxflat.reshape(g.n, g.c, *g.padded)
        gx = xp.ascontiguousarray(gxpad[(slice(None), slice(None), *g.crop())])
    return gx, gw


def conv3d_backward(
    gy: Any,
    x: Any,
    w: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
    algo: str = "auto",
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`conv3d_forward` for gy (N, O, OD, OH, OW); entries not asked for
    are None. ``algo`` as in :func:`conv3d_forward` (the two may differ). "shift" multiplies
    the gaps' zero gradients by real voxels (for dW) and by the weights (for dX), so an inf or
    NaN there would spread NaN where torch has finite values: with a non-finite x (dW) or w
    (dX) vol2col is taken instead. Cost: twice the forward's flops (dW and dX, one GEMM each)."""
    xp = backend.get_array_module(gy)
    g = geometry3d(x.shape, w.shape, stride, padding, dilation, groups)
    gy = xp.ascontiguousarray(gy).reshape(g.n, g.o, g.p)
    gb = gy.sum(axis=(0, 2)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    shift = _resolve_algo(algo, g, gy.itemsize) == "shift"
    if shift and not ((not need_dw or xp.isfinite(x).all()) and (not need_dx or xp.isfinite(w).all())):
        shift = False
    backward = _conv3d_backward_shift if shift else _conv3d_backward_vol2col
    gx, gw = backward(gy, x, w, g, need_dx, need_dw)
    if need_dw and gw is None:  # a batch of 0 images: dW is a sum of nothing
        gw = xp.zeros((groups, g.ck, g.o // groups), dtype=gy.dtype)
    gw = gw.transpose(0, 2, 1).reshape(w.shape) if need_dw else None
    return gx, gw, gb


# -- the transposed convolution ----------------------------------------------------------


def _transposed_sizes(x_shape: tuple, w_shape: tuple, s: Triple, p: Triple, op_: Triple, d: Triple) -> tuple:
    """(out, full): the output size and the size the columns reach with the after-padding kept,
    ``(in - 1)*s - p + d*(k - 1) + 1`` per axis (the convolution of that size, padded (p, 0),
    gives back the input's size)."""
    k = w_shape[2:]
    out = tuple(output_size(x_shape[2 + a], k[a], s[a], p[a], d[a], op_[a]) for a in range(3))
    full = tuple(full_size(x_shape[2 + a], k[a], s[a], p[a], d[a]) for a in range(3))
    return out, full


def conv_transpose3d_forward(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Triple = (1, 1, 1),
    padding: Triple = (0, 0, 0),
    output_padding: Triple = (0, 0, 0),
    groups: int = 1,
    dilation: Triple = (1, 1, 1),
) -> Any:
    """y (N, C_out, OD, OH, OW) = conv_transpose3d(x (N, C_in, D, H, W), w (C_in, C_out/g, kd, kh, kw)) + b.

    Per chunk of images: ``cols = W^T (g, C_out/g*K, C_in/g) @ x (n, g, C_in/g, D*H*W)`` in the
    workspace, col2vol onto the full output (after-padding kept), then cut to size. Cost: the
    flops of the convolution it transposes, 2*N*C_in*(C_out/g)*K*D*H*W, plus the col2vol passes."""
    xp = backend.get_array_module(x)
    n, cin = x.shape[:2]
    og, kernel = w.shape[1], tuple(w.shape[2:])
    cout, k, v = og * groups, math.prod(kernel), math.prod(x.shape[2:])
    out, full = _transposed_sizes(x.shape, w.shape, stride, padding, output_padding, dilation)
    if min(full) < 1 or n == 0:  # every column lands in the padding (or no images): only the bias
        y = xp.zeros((n, cout, *out), dtype=x.dtype)
    else:
        x = xp.ascontiguousarray(x)
        wt = w.reshape(groups, cin // groups, og * k).transpose(0, 2, 1)  # (g, C_out/g*K, C_in/g)
        pads = tuple((p, 0) for p in padding)
        yfull = xp.empty((n, cout, *full), dtype=x.dtype)
        for n0, n1 in _chunks(xp, n, cout * k * v * x.itemsize):
            m = n1 - n0
            buf = _workspace(xp, m * cout * k * v, x.dtype).reshape(m, groups, og * k, v)
            cols = xp.matmul(wt, x[n0:n1].reshape(m, groups, cin // groups, v), out=buf)
            col2vol(cols, (m, cout, *full), kernel, stride, pads, dilation, out=yfull[n0:n1])
        y = fit(yfull, out)
    if b is not None:
        y += b[:, None, None, None]
    return y


def conv_transpose3d_backward(
    gy: Any,
    x: Any,
    w: Any,
    stride: Triple = (1, 1, 1),
    padding: Triple = (0, 0, 0),
    output_padding: Triple = (0, 0, 0),
    groups: int = 1,
    dilation: Triple = (1, 1, 1),
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) for gy (N, C_out, OD, OH, OW): per chunk, ``cols = vol2col(gy)``,
    ``dX = W (g, C_in/g, C_out/g*K) @ cols``, ``dW += sum_n x @ cols^T``; ``db`` sums gy.
    Cost: the vol2col of gy, then twice the forward's flops."""
    xp = backend.get_array_module(gy)
    n, cin = x.shape[:2]
    og, kernel = w.shape[1], tuple(w.shape[2:])
    cout, k, v = og * groups, math.prod(kernel), math.prod(x.shape[2:])
    _, full = _transposed_sizes(x.shape, w.shape, stride, padding, output_padding, dilation)
    gb = gy.sum(axis=(0, 2, 3, 4)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    if min(full) < 1 or n == 0:  # the output never saw x: zero gradients
        gx = xp.zeros(x.shape, dtype=gy.dtype) if need_dx else None
        return gx, (xp.zeros(w.shape, dtype=gy.dtype) if need_dw else None), gb
    gyf = xp.ascontiguousarray(fit(gy, full))
    pads = tuple((p, 0) for p in padding)
    wg = w.reshape(groups, cin // groups, og * k)
    xg = xp.ascontiguousarray(x).reshape(n, groups, cin // groups, v)
    gx = xp.empty(x.shape, dtype=gy.dtype) if need_dx else None
    gw = None
    per_image = cout * k * v + (cin * og * k if need_dw else 0)
    for n0, n1 in _chunks(xp, n, per_image * gy.itemsize):
        m = n1 - n0
        buf = _workspace(xp, m * cout * k * v, gy.dtype)
        cols = vol2col(gyf[n0:n1], kernel, stride, pads, dilation, out=buf).reshape(m, groups, og * k, v)
        if need_dx:
            xp.matmul(wg, cols, out=gx[n0:n1].reshape(m, groups, cin // groups, v))
        if need_dw:  # (m, g, C_in/g, V) @ (m, g, V, C_out/g*K), summed over the images
            part = xp.matmul(xg[n0:n1], cols.transpose(0, 1, 3, 2)).sum(axis=0)
            gw = part if gw is None else gw + part
    gw = gw.reshape(w.shape) if need_dw else None
    return gx, gw, gb
