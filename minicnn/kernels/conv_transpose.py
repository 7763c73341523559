"""Transposed 2-d convolution (``torch.nn.functional.conv_transpose2d``): the convolution's
input gradient, run forward.

Shapes: x (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw) -- torch's layout, the weight of
the convolution C_out -> C_in that this op transposes -- bias (C_out,) -> y (N, C_out, OH, OW):

    OH = (H - 1)*stride_h - 2*pad_h + dilation_h*(kh - 1) + output_padding_h + 1   (OW alike)

Input pixel (h, w) of channel c adds ``x[n, c, h, w] * weight[c, o, i, j]`` onto output pixel
``(h*stride_h - pad_h + i*dilation_h, w*stride_w - pad_w + j*dilation_w)`` of channel
``g*C_out/groups + o`` (g = c's group); positions outside the output are dropped.

How: exactly the backward-to-input of :func:`minicnn.kernels.conv.conv2d_im2col` --
one GEMM per group ``cols = W^T (C_out/g*kh*kw, C_in/g) @ x (C_in/g, H*W)`` then ``col2im``
adds the columns onto the output. Backward is the convolution's forward: ``im2col`` of gy
gives columns (N, C_out*kh*kw, H*W); ``dX = W @ cols`` and ``dW = sum_n x @ cols^T``
(GEMMs), ``db = sum of gy``.

``output_padding`` (< max(stride, dilation)) only adds rows/columns at the bottom/right. The
columns are added onto the "full" output that keeps the bottom/right padding,
``OHf = (H - 1)*stride_h - pad_h + dilation_h*(kh - 1) + 1`` rows (col2im padding
((pad_h, 0), (pad_w, 0)), so the convolution of that size gives back H x W), which is then cut
to OH rows, or extended by zero rows when output_padding > pad.

Cost: ``2 * N * C_in * (C_out/groups) * kh * kw * H * W`` flops forward, twice that backward
(the same as the convolution it transposes). Extra memory: one column matrix
(N, C_out*kh*kw, H*W) -- kh*kw times the input for stride 1 -- and, with output_padding or
padding, one copy of the output.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from .conv_shapes import pair
from .im2col import col2im, im2col


def output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, output_padding: int) -> int:
    """``(size - 1)*stride - 2*pad + dilation*(kernel - 1) + output_padding + 1``."""
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1


def full_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """Rows the columns reach, bottom padding included: ``(size-1)*stride - pad + dilation*(kernel-1) + 1``."""
    return (size - 1) * stride - pad + dilation * (kernel - 1) + 1


def _sizes(x_shape: tuple, w_shape: tuple, stride: Any, padding: Any, output_padding: Any, dilation: Any) -> tuple:
    """(out (OH, OW), full (OHf, OWf), settings as pairs)."""
    s, p, op, d = pair(stride), pair(padding), pair(output_padding), pair(dilation)
    k = w_shape[2:]
    out = tuple(output_size(x_shape[2 + a], k[a], s[a], p[a], d[a], op[a]) for a in range(2))
    full = tuple(full_size(x_shape[2 + a], k[a], s[a], p[a], d[a]) for a in range(2))
    return out, full, (s, p, d)


def fit(a: Any, shape: tuple) -> Any:
    """``a`` (N, C, *spatial) cut or zero-extended at the end of each spatial axis (bottom/right)
    to (N, C, *shape); 2-d and 3-d alike."""
    if a.shape[2:] == tuple(shape):
        return a
    xp = backend.get_array_module(a)
    out = xp.zeros((*a.shape[:2], *shape), dtype=a.dtype)
    common = (slice(None), slice(None), *(slice(0, min(m, t)) for m, t in zip(a.shape[2:], shape)))
    out[common] = a[common]
    return out


def conv_transpose2d_forward(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Any:
    """y (N, C_out, OH, OW) = conv_transpose2d(x (N, C_in, H, W), w (C_in, C_out/g, kh, kw)) + b.
    Cost: one GEMM per group, 2*N*C_in*(C_out/g)*kh*kw*H*W flops, then col2im of the columns."""
    xp = backend.get_array_module(x)
    n, cin, h, wd = x.shape
    og, kh, kw = w.shape[1:]
    cout = og * groups
    out, full, (s, p, d) = _sizes(x.shape, w.shape, stride, padding, output_padding, dilation)
    if min(full) < 1 or n == 0:  # every column lands in the padding (or no images): only the bias
        y = xp.zeros((n, cout, *out), dtype=x.dtype)
    else:
        wt = w.reshape(groups, cin // groups, og * kh * kw).transpose(0, 2, 1)  # (g, C_out/g*kh*kw, C_in/g)
        cols = xp.matmul(wt, xp.ascontiguousarray(x).reshape(n, groups, cin // groups, h * wd))
        cols = cols.reshape(n, cout * kh * kw, h * wd)
        y = col2im(cols, (n, cout, *full), (kh, kw), s, ((p[0], 0), (p[1], 0)), d)
        y = fit(y, out)
    if b is not None:
        y += b[:, None, None]
    return y


def conv_transpose2d_backward(
    gy: Any,
    x: Any,
    w: Any,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) for gy (N, C_out, OH, OW); entries not asked for are None.
    Cost: im2col of gy, then up to two GEMMs of the forward's flops each (dx is a convolution)."""
    xp = backend.get_array_module(gy)
    n, cin, h, wd = x.shape
    og, kh, kw = w.shape[1:]
    _, full, (s, p, d) = _sizes(x.shape, w.shape, stride, padding, output_padding, dilation)
    gb = gy.sum(axis=(0, 2, 3)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    if min(full) < 1 or n == 0:  # the output never saw x: zero gradients
        gx = xp.zeros(x.shape, dtype=gy.dtype) if need_dx else None
        return gx, (xp.zeros(w.shape, dtype=gy.dtype) if need_dw else None), gb
    gyf = xp.ascontiguousarray(fit(gy, full))
    cols = im2col(gyf, (kh, kw), s, ((p[0], 0), (p[1], 0)), d)  # (N, C_out*kh*kw, H*W)
    cols = cols.reshape(n, groups, og * kh * kw, h * wd)
    gx = gw = None
    if need_dx:  # (g, C_in/g, C_out/g*kh*kw) @ (N, g, C_out/g*kh*kw, H*W)
        gx = xp.matmul(w.reshape(groups, cin // groups, og * kh * kw), cols).reshape(x.shape)
    if need_dw:  # sum over images of (N, g, C_in/g, H*W) @ (N, g, H*W, C_out/g*kh*kw)
        xg = xp.ascontiguousarray(x).reshape(n, groups, cin // groups, h * wd)
        gw = xp.matmul(xg, cols.transpose(0, 1, 3, 2)).sum(axis=0).reshape(w.shape)
    return gx, gw, gb
