"""im2col and col2im: turn a convolution into one matrix product, and back.

A 2-d convolution slides a ``C x kh x kw`` window over the (zero-padded) input. ``im2col``
copies every window into a column, so that the convolution of all windows with all filters
becomes ONE matrix product ``W (C_out, C*kh*kw) @ cols (C*kh*kw, windows)``, which BLAS (or
cuBLAS) computes close to the machine's peak. ``col2im`` is its adjoint: it adds every
column back onto the window it came from (windows overlap, so values accumulate). The
convolution backward pass uses it to turn the gradient of the columns into the gradient of
the input.

Shapes (NCHW input ``x`` of shape (N, C, H, W), kernel (kh, kw)):

    padded size   Hp = H + pad_top + pad_bottom,   Wp = W + pad_left + pad_right
    output size   OH = floor((Hp - dilation_h*(kh-1) - 1) / stride_h) + 1   (OW alike)
                  (with symmetric padding: floor((H + 2*pad - dilation*(k-1) - 1)/stride) + 1)
    im2col        (N, C*kh*kw, OH*OW)       "image-major": one (C*kh*kw, OH*OW) matrix per image
                  (C*kh*kw, OH*OW*N)        ``batch_last=True``: the batch is the fastest axis
    col2im        the inverse direction, back to (N, C, H, W)

Row ``c*kh*kw + i*kw + j`` of the column matrix holds, for every output pixel (oh, ow), the
input pixel ``xpad[c, oh*stride_h + i*dilation_h, ow*stride_w + j*dilation_w]``.

Worked example: a 1x1x4x4 input, 3x3 kernel, stride 1, no padding -> OH = OW = 2, four
windows, and a (9, 4) column matrix whose column p is the window of output pixel p::

    x = [[ 0,  1,  2,  3],         cols (rows i*3+j, columns oh*2+ow)
         [ 4,  5,  6,  7],           i,j   p=0  p=1  p=2  p=3
         [ 8,  9, 10, 11],           0,0     0    1    4    5
         [12, 13, 14, 15]]           0,1     1    2    5    6
                                     ...
                                     2,2    10   11   14   15

col2im of a matrix of ones counts how many windows cover each pixel: the corners 1, the
four centre pixels 4 (``[[1,2,2,1],[2,4,4,2],[2,4,4,2],[1,2,2,1]]``).

How it is built: the windows are a *strided view* of the padded input (no data copied,
``sliding_window_view``), and im2col is a single copy of that view into the column buffer.
col2im cannot be a view (overlapping windows must be summed), so it loops over the kh*kw
kernel offsets and adds one strided slice per offset -- never a Python loop over pixels or
images, and no ``np.add.at`` (whose unbuffered scatter is an order of magnitude slower).

Layout: NumPy copies an array row by row, and with the image-major layout a row is only OW
elements long, so tiny images (OW ~ 10) pay more for loop overhead than for the data.
``batch_last=True`` first transposes the input to (C, H, W, N) (the layout of Krizhevsky's
cuda-convnet): a row of the copy is then OW*N elements long. It costs the transposes of the
input and of the result, which pays off only for small feature maps.

Strided batch-last col2im accumulates on the stride phases of the padded planes (each tap
then adds OW*N contiguous values per row instead of runs of N): :func:`_col2im_phases`.

Cost (elements = N*C*kh*kw*OH*OW, the size of the column matrix, which is kh*kw/stride^2
times the input): im2col writes each element once; col2im reads each once and does one
read-add-write of the input gradient per kernel offset. Extra memory: the column matrix
itself plus one zero-padded copy of the input (when padding is non-zero).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from . import cuda
from .conv_shapes import Geometry, geometry, padding_pairs

BLOCK_BYTES = 4 << 20  # cache blocking: a block of planes should stay in the (L2/L3) cache; 4 MiB measured best


def plane_blocks(xp: Any, planes: int, bytes_per_plane: int):
    """(start, stop) ranges over a stack of ``planes`` 2-d planes, each range about
    ``BLOCK_BYTES`` so that a block's working set stays in the CPU cache while a loop over
    kernel offsets passes over it kh*kw times. A GPU gets a single block."""
    step = planes if xp is not np else max(1, min(planes, BLOCK_BYTES // max(1, bytes_per_plane)))
    for p0 in range(0, planes, step):
        yield p0, min(planes, p0 + step)


def _geometry(x_shape: tuple, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> Geometry:
    """The sliding-window geometry of ``x_shape`` (as a convolution with one filter)."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return geometry(x_shape, (1, x_shape[1], kh, kw), stride, padding, dilation, op="im2col")


def pad2d(x: Any, padding: Any, *, batch_last: bool = False) -> Any:
    """Zero-pad the two spatial axes of ``x`` (N, C, H, W).

    Returns (N, C, Hp, Wp), or (C, Hp, Wp, N) when ``batch_last`` (the transpose is done by
    the same copy). Without padding (and not ``batch_last``) ``x`` itself is returned.
    """
    xp = backend.get_array_module(x)
    (pt, pb), (pl, pr) = padding_pairs(padding)
    n, c, h, w = x.shape
    if batch_last:
        out = xp.empty((c, h + pt + pb, w + pl + pr, n), dtype=x.dtype)
        out[:, pt : pt + h, pl : pl + w, :] = x.transpose(1, 2, 3, 0)
    else:
        if pt == pb == pl == pr == 0:
            return x
        out = xp.empty((n, c, h + pt + pb, w + pl + pr), dtype=x.dtype)
        out[:, :, pt : pt + h, pl : pl + w] = x
    hw_axes = (1, 2) if batch_last else (2, 3)
    for axis, (before, after) in zip(hw_axes, ((pt, pb), (pl, pr))):  # zero the padding strips
        size = out.shape[axis]
        for lo, hi in ((0, before), (size - after, size)):
            if hi > lo:
                index = [slice(None)] * out.ndim
                index[axis] = slice(lo, hi)
                out[tuple(index)] = 0
    return out


def _planes(a: Any, batch_last: bool) -> Any:
    """View a padded input as a stack of planes with the spatial axes at 1 and 2:
    (N*C, Hp, Wp) for NCHW, (C, Hp, Wp, N) as it is for ``batch_last``."""
    return a if batch_last else a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])


def im2col(
    x: Any,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    *,
    batch_last: bool = False,
    out: Any = None,
) -> Any:
    """Columns of all convolution windows of ``x`` (N, C, H, W).

    Returns (N, C*kh*kw, OH*OW), or (C*kh*kw, OH*OW*N) when ``batch_last``. ``padding`` is
    an int, a pair (ph, pw) or ((top, bottom), (left, right)). ``out``: optional buffer with
    at least that many elements, written in place (the conv kernels reuse one workspace).
    Cost: one write of each of the N*C*kh*kw*OH*OW column entries (kh*kw strided copies), plus a
    zero-padded copy of x when there is padding.
    """
    if not batch_last and cuda.enabled_for(x):
        return cuda.im2col.im2col(x, kernel_size, stride, padding, dilation, out=out)
    xp = backend.get_array_module(x)
    g = _geometry(x.shape, kernel_size, stride, padding, dilation)
    planes = _planes(xp.ascontiguousarray(pad2d(x, g.pads, batch_last=batch_last)), batch_last)
    # All windows as a strided view, no copy: (planes, OH', OW'[, N], span_h, span_w), where
    # span = dilation*(k-1)+1 is the extent of a dilated window; keep every stride-th origin
    # and every dilation-th tap, then move the kernel axes in front of the pixels.
    span = (g.dilation[0] * (g.kh - 1) + 1, g.dilation[1] * (g.kw - 1) + 1)
    windows = xp.lib.stride_tricks.sliding_window_view(planes, span, axis=(1, 2))
    rows, cols = g.offset(0, 0)
    if batch_last:
        view = windows[:, rows, cols, :, :: g.dilation[0], :: g.dilation[1]].transpose(0, 4, 5, 1, 2, 3)
        matrix = (g.c * g.kh * g.kw, g.oh * g.ow * g.n)
    else:
        view = windows[:, rows, cols, :: g.dilation[0], :: g.dilation[1]].transpose(0, 3, 4, 1, 2)
        matrix = (g.n, g.c * g.kh * g.kw, g.oh * g.ow)
    if out is None:
        columns = xp.empty(view.shape, dtype=x.dtype)
    else:
        columns = out.reshape(-1)[: view.size].reshape(view.shape)
    columns[...] = view  # the one copy: every window into its column
    return columns.reshape(matrix)


def col2im(
    cols: Any,
    x_shape: tuple[int, int, int, int],
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    *,
    batch_last: bool = False,
    out: Any = None,
) -> Any:
    """Adjoint of :func:`im2col`: add every column back onto its window.

    ``cols``: (N, C*kh*kw, OH*OW), or (C*kh*kw, OH*OW*N) when ``batch_last``. Returns an
    array of ``x_shape`` (N, C, H, W) (written into ``out`` if given). Pixels covered by
    several windows receive the sum of their columns; padding positions are dropped.
    Cost: one read of each column entry and one read-add-write pass over the (padded) gradient
    per kernel offset (kh*kw passes over N*C*Hp*Wp).
    """
    if not batch_last and cuda.enabled_for(cols, out):
        return cuda.im2col.col2im(cols, x_shape, kernel_size, stride, padding, dilation, out=out)
    xp = backend.get_array_module(cols)
    g = _geometry(x_shape, kernel_size, stride, padding, dilation)
    if out is None:
        out = xp.empty(x_shape, dtype=cols.dtype)
    elif not out.flags.c_contiguous:
        raise ValueError("col2im: out must be C-contiguous")
    hp, wp = g.h + sum(g.pads[0]), g.w + sum(g.pads[1])
    if batch_last:  # planes are channels, each (Hp, Wp, N)
        cols = cols.reshape(g.c, g.kh, g.kw, g.oh, g.ow, g.n)
        plane_shape = (hp, wp, g.n)
    else:  # planes are (image, channel) pairs, each (Hp, Wp)
        cols = cols.reshape(g.n * g.c, g.kh, g.kw, g.oh, g.ow)
        plane_shape = (hp, wp)
    if batch_last and g.stride != (1, 1):
        return _col2im_phases(cols, g, out)
    acc = None
    crop = g.crop()
    plane_size = hp * wp * (g.n if batch_last else 1)
    for p0, p1 in plane_blocks(xp, cols.shape[0], plane_size * cols.itemsize):
        if acc is None:  # one zero-padded block, reused: it stays in cache
            acc = xp.empty((p1 - p0, *plane_shape), dtype=cols.dtype)
        a = acc[: p1 - p0]
        a[...] = 0
        for k, (rows, columns) in enumerate(g.offsets()):
            target = a[:, rows, columns]  # a strided view: += adds in place
            target += cols[p0:p1, k // g.kw, k % g.kw]
        if batch_last:
            out[:, p0:p1] = a[:, crop[0], crop[1]].transpose(3, 0, 1, 2)
        else:
            out.reshape(g.n * g.c, g.h, g.w)[p0:p1] = a[:, crop[0], crop[1]]
    return out


def phase_part(pad: int, size: int, stride: int, a: int) -> tuple[slice, slice]:
    """Along one axis: the indices u of stride phase a (padded index a + stride*u) that hold
    input values, and the input indices (a + stride*u - pad) they hold."""
    u0 = max(0, -(-(pad - a) // stride))  # the first u whose input index is >= 0
    first = a + stride * u0 - pad
    count = len(range(first, size, stride))
    return slice(u0, u0 + count), slice(first, first + stride * count, stride)


def _col2im_phases(cols: Any, g: Geometry, out: Any) -> Any:
    """Batch-last col2im of a strided convolution, accumulated on the stride phases of the
    padded planes; ``cols`` (C, kh, kw, OH, OW, N) as reshaped by :func:`col2im`, ``out`` (N, C, H, W).

    A strided tap would add into every sh-th row and sw-th column, which batch-last is a run
    of only N values per pixel: NumPy's per-run overhead, not arithmetic, is the cost. Phase
    (a, b) of a padded plane holds its pixels [a::sh, b::sw] as a dense (Hq, Wq, N) array
    (Hq = ceil(Hp/sh), Wq alike); tap (i, j) then adds its (OH, OW, N) block into phase
    (i*dh % sh, j*dw % sw) at offset (i*dh // sh, j*dw // sw): rows of OW*N contiguous values.
    One strided copy per phase (sh*sw of them, H*W*N values in all) puts the input positions
    into ``out`` at the end. Measured (1 thread, float32, min of 25): (4, 128, 16, 16) 3x3/2
    1.18 -> 0.35 ms, (4, 256, 8, 8) 0.61 -> 0.29 ms. (Image-major, with rows of only OW and
    sh*sw more copies, phases measured no faster: that layout keeps the strided adds.)
    """
    xp = backend.get_array_module(cols)
    (sh, sw), (dh, dw) = g.stride, g.dilation
    hq, wq = -(-(g.h + sum(g.pads[0])) // sh), -(-(g.w + sum(g.pads[1])) // sw)
    (pt, _), (pl, _) = g.pads
    parts = [(a, b, *phase_part(pt, g.h, sh, a), *phase_part(pl, g.w, sw, b)) for a in range(sh) for b in range(sw)]
    acc = None
    for p0, p1 in plane_blocks(xp, g.c, sh * sw * hq * wq * g.n * cols.itemsize):
        if acc is None:  # one zeroed block of phases, reused: it stays in cache
            acc = xp.empty((p1 - p0, sh, sw, hq, wq, g.n), dtype=cols.dtype)
        block = acc[: p1 - p0]
        block[...] = 0
        for i in range(g.kh):
            for j in range(g.kw):
                (ri, a), (cj, b) = divmod(i * dh, sh), divmod(j * dw, sw)
                target = block[:, a, b, ri : ri + g.oh, cj : cj + g.ow]  # a view: += adds in place
                target += cols[p0:p1, i, j]
        for a, b, rows, xrows, cs, xcs in parts:
            out[:, p0:p1, xrows, xcs] = block[:, a, b, rows, cs].transpose(3, 0, 1, 2)
    return out
