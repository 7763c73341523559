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

Cost (elements = N*C*kh*kw*OH*OW, the size of the column matrix, which is kh*kw/stride^2
times the input): im2col writes each element once; col2im reads each once and does one
read-add-write of the input gradient per kernel offset. Extra memory: the column matrix
itself plus one zero-padded copy of the input (when padding is non-zero).
"""

from __future__ import annotations

from typing import Any

from .. import backend

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))


def pair(v: Any, name: str = "value") -> Pair:
    """``3 -> (3, 3)``; ``(2, 3) -> (2, 3)``."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def padding_pairs(padding: Any) -> Padding:
    """``p -> ((p, p), (p, p))``, ``(ph, pw) -> ((ph, ph), (pw, pw))``; explicit
    ``((top, bottom), (left, right))`` is returned as is."""
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and isinstance(padding[0], (tuple, list)):
        (t, b), (le, r) = padding
        return (int(t), int(b)), (int(le), int(r))
    ph, pw = pair(padding, "padding")
    return (ph, ph), (pw, pw)


def conv_output_size(size: int, kernel: int, stride: int, pad: Pair, dilation: int) -> int:
    """``floor((size + pad_before + pad_after - dilation*(kernel-1) - 1) / stride) + 1``."""
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def _geometry(hw: Pair, kernel_size: Any, stride: Any, padding: Any, dilation: Any):
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel_size), pair(stride), pair(dilation)
    pads = padding_pairs(padding)
    oh = conv_output_size(hw[0], kh, sh, pads[0], dh)
    ow = conv_output_size(hw[1], kw, sw, pads[1], dw)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"im2col: a {kh}x{kw} kernel (dilation {(dh, dw)}) does not fit an input of size {hw} "
            f"padded by {pads}: the output would be {oh}x{ow}"
        )
    return (kh, kw), (sh, sw), pads, (dh, dw), (oh, ow)


def pad2d(x: Any, padding: Any, *, batch_last: bool = False) -> Any:
    """Zero-pad the two spatial axes of ``x`` (N, C, H, W).

    Returns (N, C, Hp, Wp), or (C, Hp, Wp, N) when ``batch_last`` (the transpose is done by
    the same copy). Without padding (and not ``batch_last``) ``x`` itself is returned.
    """
    xp = backend.get_array_module(x)
    (pt, pb), (pl, pr) = padding_pairs(padding)
    n, c, h, w = x.shape
    if batch_last:
        x = x.transpose(1, 2, 3, 0)
        out = xp.empty((c, h + pt + pb, w + pl + pr, n), dtype=x.dtype)
        inner = out[:, pt : pt + h, pl : pl + w, :]
        hw_axes = (1, 2)
    else:
        if pt == pb == pl == pr == 0:
            return x
        out = xp.empty((n, c, h + pt + pb, w + pl + pr), dtype=x.dtype)
        inner = out[:, :, pt : pt + h, pl : pl + w]
        hw_axes = (2, 3)
    inner[...] = x
    _zero_border(out, (pt, pb), (pl, pr), hw_axes)
    return out


def _zero_border(out: Any, ph: Pair, pw: Pair, hw_axes: Pair) -> None:
    """Zero the padding strips of ``out`` (cheaper than zeroing the whole array)."""
    ah, aw = hw_axes
    hp, wp = out.shape[ah], out.shape[aw]
    for axis, (before, after), size in ((ah, ph, hp), (aw, pw, wp)):
        for lo, hi in ((0, before), (size - after, size)):
            if hi > lo:
                index = [slice(None)] * out.ndim
                index[axis] = slice(lo, hi)
                out[tuple(index)] = 0


def _windows(xpad: Any, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair, hw_axes: Pair) -> Any:
    """A read-only strided view of all windows: the padded array's axes with (H, W) replaced
    by (OH, OW), followed by two new axes (kh, kw). No data is copied."""
    xp = backend.get_array_module(xpad)
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)  # extent of one dilated window
    win = xp.lib.stride_tricks.sliding_window_view(xpad, span, axis=hw_axes)
    index = [slice(None)] * xpad.ndim + [slice(None, None, dh), slice(None, None, dw)]
    index[hw_axes[0]] = slice(None, sh * (oh - 1) + 1, sh)
    index[hw_axes[1]] = slice(None, sw * (ow - 1) + 1, sw)
    return win[tuple(index)]


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
    an int, a pair (ph, pw) or ((top, bottom), (left, right)). ``out``: optional buffer of at
    least as many elements, written in place (the conv kernels reuse one workspace).
    """
    xp = backend.get_array_module(x)
    n, c, h, w = x.shape
    kernel, stride, pads, dilation, (oh, ow) = _geometry((h, w), kernel_size, stride, padding, dilation)
    xpad = pad2d(x, pads, batch_last=batch_last)
    if batch_last:  # (C, OH, OW, N, kh, kw) -> (C, kh, kw, OH, OW, N)
        view = _windows(xpad, kernel, stride, dilation, (oh, ow), (1, 2)).transpose(0, 4, 5, 1, 2, 3)
        matrix = (c * kernel[0] * kernel[1], oh * ow * n)
    else:  # (N, C, OH, OW, kh, kw) -> (N, C, kh, kw, OH, OW)
        view = _windows(xpad, kernel, stride, dilation, (oh, ow), (2, 3)).transpose(0, 1, 4, 5, 2, 3)
        matrix = (n, c * kernel[0] * kernel[1], oh * ow)
    cols = xp.empty(view.shape, dtype=x.dtype) if out is None else out.reshape(-1)[: view.size].reshape(view.shape)
    cols[...] = view  # the one copy: every window into its column
    return cols.reshape(matrix)


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
    """
    xp = backend.get_array_module(cols)
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw), (oh, ow) = _geometry(
        (h, w), kernel_size, stride, padding, dilation
    )
    if out is None:
        out = xp.empty(x_shape, dtype=cols.dtype)
    hp, wp = h + pt + pb, w + pl + pr
    if batch_last:
        cols = cols.reshape(c, kh, kw, oh, ow, n)
        acc = xp.zeros((c, hp, wp, n), dtype=cols.dtype)
        hw = (1, 2)
    else:
        cols = cols.reshape(n, c, kh, kw, oh, ow)
        padded = pt or pb or pl or pr
        acc = xp.zeros((n, c, hp, wp), dtype=cols.dtype) if padded else out
        if not padded:
            acc[...] = 0
        hw = (2, 3)
    for i in range(kh):
        for j in range(kw):
            index = [slice(None)] * acc.ndim
            index[hw[0]] = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            index[hw[1]] = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            target = acc[tuple(index)]
            target += cols[:, i, j] if batch_last else cols[:, :, i, j]
    if batch_last:
        out[...] = acc[:, pt : pt + h, pl : pl + w, :].transpose(3, 0, 1, 2)
    elif acc is not out:
        out[...] = acc[:, :, pt : pt + h, pl : pl + w]
    return out
