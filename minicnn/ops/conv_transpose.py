"""Differentiable transposed convolution, unfold and fold: the convolution's column view.

* ``unfold`` (im2col): (N, C, H, W) -> (N, C*kh*kw, L), every sliding window as a column;
  its backward is ``col2im``.
* ``fold`` (col2im): (N, C*kh*kw, L) -> (N, C, H, W), every column added back onto its
  window (overlaps summed); its backward is ``im2col``. ``fold`` is a transposed convolution
  whose weight is the identity.
* ``conv_transpose2d``: the convolution's input gradient run forward (GEMM then col2im);
  its backward is the convolution's forward (im2col then GEMM).

Rows of a column matrix are ``c*kh*kw + i*kw + j`` and its L = OH*OW columns the windows in
row-major order, torch's layout; the arithmetic lives in :mod:`minicnn.kernels.im2col` and
:mod:`minicnn.kernels.conv_transpose`. Errors: :class:`ShapeError` (a ValueError and a
RuntimeError, the type torch raises) for sizes and settings, :class:`DtypeError` for dtypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autocast_state
from ..autograd import Function, Tensor
from ..kernels.conv_shapes import conv_output_size
from ..kernels.conv_transpose import conv_transpose2d_backward, conv_transpose2d_forward, output_size
from ..kernels.im2col import col2im, im2col
from .conv_grad import bias_grad, bilinear_grads
from .errors import DtypeError, ShapeError
from .shape import reshape


def _pair(v: Any, name: str, op: str) -> tuple[int, int]:
    """An int or a pair of ints -> (int, int); torch's error for any other length."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ShapeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _window_settings(kernel_size: Any, dilation: Any, padding: Any, stride: Any, op: str) -> tuple:
    k, d = _pair(kernel_size, "kernel_size", op), _pair(dilation, "dilation", op)
    p, s = _pair(padding, "padding", op), _pair(stride, "stride", op)
    if min(k) < 1:
        raise ShapeError(f"{op}: kernel_size must be positive, got {k}")
    if min(d) < 1:
        raise ShapeError(f"{op}: dilation must be positive, got {d}")
    if min(s) < 1:
        raise ShapeError(f"{op}: stride must be positive, got {s}")
    if min(p) < 0:
        raise ShapeError(f"{op}: padding must be non-negative, got {p}")
    return k, d, p, s


def _blocks(size: tuple, k: tuple, d: tuple, p: tuple, s: tuple, op: str) -> tuple[int, int]:
    """The (OH, OW) grid of sliding blocks over a (H, W) image; a ShapeError when empty."""
    out = tuple(conv_output_size(size[a], k[a], s[a], (p[a], p[a]), d[a]) for a in range(2))
    if min(out) < 1:
        raise ShapeError(
            f"{op}: input of spatial size {tuple(size)} with kernel_size={k}, dilation={d}, padding={p} "
            f"has no sliding block (the block grid would be {out})"
        )
    return out


def _check_float(op: str, *tensors: Tensor | None) -> None:
    dtypes = [t.dtype for t in tensors if t is not None]
    if dtypes[0].kind != "f":
        raise DtypeError(f"{op}: expected a floating point input, got {dtypes[0]}")
    for dt in dtypes[1:]:
        if dt != dtypes[0]:
            raise DtypeError(f"{op}: input is {dtypes[0]} but a parameter is {dt}; convert one of them")


# -- unfold / fold -------------------------------------------------------------------------


class Unfold(Function):
    """x (N, C, H, W) -> columns (N, C*kh*kw, OH*OW); backward col2im."""

    linear = True

    def forward(self, x):
        self.x_shape = x.shape
        return im2col(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def backward(self, gy):
        gy = gy if gy.flags.c_contiguous else gy.copy()  # col2im reads a C-contiguous matrix
        return col2im(gy, self.x_shape, self.kernel_size, self.stride, self.padding, self.dilation)


class Fold(Function):
    """columns (N, C*kh*kw, L) -> y (N, C, H, W) (overlaps summed); backward im2col."""

    linear = True

    def forward(self, cols):
        cols = cols if cols.flags.c_contiguous else cols.copy()  # col2im reads a C-contiguous matrix
        return col2im(cols, self.out_shape, self.kernel_size, self.stride, self.padding, self.dilation)

    def backward(self, gy):
        return im2col(gy, self.kernel_size, self.stride, self.padding, self.dilation)


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """``torch.nn.functional.unfold``: input (N, C, H, W) or unbatched (C, H, W) ->
    (N, C*kh*kw, L) (or (C*kh*kw, L)), L = OH*OW sliding blocks; row ``c*kh*kw + i*kw + j``
    holds tap (i, j) of channel c. ``padding`` is symmetric (an int or a pair)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"unfold: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape {input.shape}")
    k, d, p, s = _window_settings(kernel_size, dilation, padding, stride, "unfold")
    _blocks(input.shape[-2:], k, d, p, s, "unfold")
    unbatched = input.ndim == 3
    x = reshape(input, (1, *input.shape)) if unbatched else input
    y = Unfold.apply(x, kernel_size=k, dilation=d, padding=p, stride=s)
    return reshape(y, y.shape[1:]) if unbatched else y


def fold(
    input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """``torch.nn.functional.fold``: columns (N, C*kh*kw, L) or unbatched (C*kh*kw, L) ->
    (N, C, H, W) (or (C, H, W)) with (H, W) = ``output_size``; L must be the number of sliding
    blocks of that image. Every column is added onto its window (the adjoint of unfold)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fold: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise ShapeError(f"fold: expected a 2-d (C*kh*kw, L) or 3-d (N, C*kh*kw, L) input, got shape {input.shape}")
    size = _pair(output_size, "output_size", "fold")
    k, d, p, s = _window_settings(kernel_size, dilation, padding, stride, "fold")
    rows, length = input.shape[-2:]
    if rows % (k[0] * k[1]):
        raise ShapeError(
            f"fold: input's dimension {input.ndim - 2} ({rows}) must be divisible by the product of "
            f"kernel_size={k}, got input of shape {input.shape}"
        )
    blocks = _blocks(size, k, d, p, s, "fold")
    if length != blocks[0] * blocks[1]:
        raise ShapeError(
            f"fold: output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s} give "
            f"{blocks[0]}x{blocks[1]} = {blocks[0] * blocks[1]} blocks, but input {input.shape} has {length}"
        )
    unbatched = input.ndim == 2
    cols = reshape(input, (1, *input.shape)) if unbatched else input
    out_shape = (cols.shape[0], rows // (k[0] * k[1]), *size)
    y = Fold.apply(cols, out_shape=out_shape, kernel_size=k, dilation=d, padding=p, stride=s)
    return reshape(y, y.shape[1:]) if unbatched else y


# -- transposed convolution ----------------------------------------------------------------


class ConvTranspose2d(Function):
    """x (N, C_in, H, W), w (C_in, C_out/groups, kh, kw)[, b (C_out,)] -> y (N, C_out, OH, OW)."""

    def forward(self, x, w, *maybe_b):
        b = maybe_b[0] if maybe_b else None
        if self.requires_grad:
            self.x, self.w, self.has_bias = x, w, b is not None
        s = self.settings
        return conv_transpose2d_forward(x, w, b, s[0], s[1], s[2], self.groups, s[3])

    def backward(self, gy):
        need = self.needs_input_grad
        s = self.settings
        needs = dict(need_dx=need[0], need_dw=need[1], need_db=self.has_bias and need[2])
        dx, dw, db = conv_transpose2d_backward(gy, self.x, self.w, s[0], s[1], s[2], self.groups, s[3], **needs)
        return (dx, dw, db) if self.has_bias else (dx, dw)

    def backward_graph(self, gy, x, w, *maybe_b):  # through the gradient maps of ops/conv_grad.py
        gx, gw = bilinear_grads(self, gy, x, w)
        return (gx, gw, bias_grad(gy) if self.needs_input_grad[2] else None) if maybe_b else (gx, gw)

    def kernel_forward(self, x, w):
        s = self.settings
        return conv_transpose2d_forward(x, w, None, s[0], s[1], s[2], self.groups, s[3])

    def kernel_backward(self, gy, x, w, need_x, need_w):
        s = self.settings
        dx, dw, _ = conv_transpose2d_backward(
            gy, x, w, s[0], s[1], s[2], self.groups, s[3], need_dx=need_x, need_dw=need_w, need_db=False
        )
        return dx, dw


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    _layer: str = "conv_transpose2d",
) -> Tensor:
    """``torch.nn.functional.conv_transpose2d``: input (N, C_in, H, W) or unbatched (C_in, H, W),
    weight (C_in, C_out/groups, kh, kw), bias (C_out,) or None -> (N, C_out, OH, OW) with
    ``OH = (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1``.
    ``output_padding`` must be smaller than stride or dilation (per axis), as in torch."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, weight, bias = autocast_state.lower(input, weight, bias)
    op = _layer
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"{op}: input and weight must be Tensors, got {type(input).__name__} and {type(weight).__name__}"
        )
    if weight.ndim != 4:
        raise ShapeError(f"{op}: weight must be 4-d (in_channels, out_channels/groups, kh, kw), got {weight.shape}")
    if input.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 4-d (N, C, H, W) or 3-d unbatched (C, H, W) input, got {input.shape}")
    settings, groups = check_transposed(
        input, weight, bias, stride, padding, output_padding, groups, dilation, _pair, op
    )
    unbatched = input.ndim == 3
    x = reshape(input, (1, *input.shape)) if unbatched else input
    args = (x, weight) if bias is None else (x, weight, bias)
    y = ConvTranspose2d.apply(*args, settings=settings, groups=groups)
    return reshape(y, y.shape[1:]) if unbatched else y


def check_transposed(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: Any,
    dilation: Any,
    tup: Any,
    op: str,
) -> tuple[tuple, int]:
    """torch's checks of a transposed convolution over the ``weight.ndim - 2`` spatial axes (the
    ranks of input and weight checked already): ((stride, padding, output_padding, dilation),
    groups), each setting a tuple made by ``tup(value, name, op)``."""
    k = weight.ndim - 2
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ShapeError(f"{op}: groups must be a positive int, got {groups!r}")
    groups = int(groups)
    cin, og = weight.shape[:2]
    if cin % groups:
        raise ShapeError(f"{op}: weight {weight.shape}: its dimension 0 ({cin}) must be divisible by groups={groups}")
    if input.shape[-k - 1] != cin:
        raise ShapeError(f"{op}: weight {weight.shape} expects input with {cin} channels, got input {input.shape}")
    if bias is not None and tuple(bias.shape) != (og * groups,):
        raise ShapeError(f"{op}: bias must have shape ({og * groups},) for weight {weight.shape}, got {bias.shape}")
    _check_float(op, input, weight, bias)
    s, p = tup(stride, "stride", op), tup(padding, "padding", op)
    op_, d = tup(output_padding, "output_padding", op), tup(dilation, "dilation", op)
    if min(s) < 1 or min(d) < 1:
        raise ShapeError(f"{op}: stride and dilation must be positive, got stride={s}, dilation={d}")
    if min(p) < 0 or min(op_) < 0:
        raise ShapeError(f"{op}: padding and output_padding must be non-negative, got {p} and {op_}")
    if any(op_[a] >= max(s[a], d[a]) for a in range(k)):
        raise ShapeError(f"{op}: output_padding {op_} must be smaller than either stride {s} or dilation {d}")
    size = tuple(output_size(input.shape[-k + a], weight.shape[2 + a], s[a], p[a], d[a], op_[a]) for a in range(k))
    if min(size) < 1:
        raise ShapeError(f"{op}: input of size {input.shape[-k:]} gives an output of size {size}: too small")
    return (s, p, op_, d), groups
