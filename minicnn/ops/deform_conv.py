"""Differentiable deformable convolution (torchvision's ``deform_conv2d``): checks, the graph node,
and the same computation written in minicnn ops for higher-order gradients.

The arithmetic lives in :mod:`minicnn.kernels.deform_conv`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, Tensor
from ..kernels.deform_conv import bilinear_corners, deform_conv2d_backward, deform_conv2d_forward, output_size
from .index import take_along_dim
from .pad import pad
from .shape import reshape, stack

OP = "deform_conv2d"


class DeformConv2dOp(Function):
    """x (N, C, H, W), offset (N, 2*G*kh*kw, OH, OW), weight (O, C/groups, kh, kw)
    [, bias (O,)][, mask (N, G*kh*kw, OH, OW)] -> y (N, O, OH, OW).

    Settings: stride, padding, dilation (pairs), has_bias, has_mask (which optional tensors
    follow the weight, in that order). Backward asks the kernel only for the gradients needed.
    """

    def _split(self, extras: tuple) -> tuple[Any, Any]:
        bias = extras[0] if self.has_bias else None
        mask = extras[-1] if self.has_mask else None
        return bias, mask

    def forward(self, x, offset, w, *extras):
        b, mask = self._split(extras)
        if self.requires_grad:
            self.x, self.offset, self.w, self.mask = x, offset, w, mask
        return deform_conv2d_forward(x, offset, w, b, mask, self.stride, self.padding, self.dilation)

    def backward(self, gy):
        need = self.needs_input_grad
        need_b = self.has_bias and need[3]
        need_m = self.has_mask and need[-1]
        dx, doff, dw, db, dmask = deform_conv2d_backward(
            gy, self.x, self.offset, self.w, self.mask, self.stride, self.padding, self.dilation,
            need=(need[0], need[1], need[2], need_b, need_m),
        )  # fmt: skip
        return (dx, doff, dw) + ((db,) if self.has_bias else ()) + ((dmask,) if self.has_mask else ())

    def composite(self, x, offset, w, *extras):
        """The forward in minicnn ops (for create_graph=True): the corners' positions are
        constants (floor has derivative 0), their weights are products of (1 - t) and t, with
        t = position - floor(position) a function of the offset."""
        b, mask = self._split(extras)
        return deform_conv2d_composite(x, offset, w, b, mask, self.stride, self.padding, self.dilation)


def deform_conv2d_composite(
    x: Tensor,
    offset: Tensor,
    w: Tensor,
    b: Tensor | None,
    mask: Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> Tensor:
    """:class:`DeformConv2dOp`'s arithmetic as ops: per tap, four ``take_along_dim`` gathers of
    the input with a ring of zeros, weighted and summed; then one matmul per weight group."""
    n, c, h, wd = x.shape
    o, cw, kh, kw = w.shape
    oh, ow = offset.shape[2:]
    taps, pixels, groups = kh * kw, oh * ow, c // cw
    offset_groups = offset.shape[1] // (2 * taps)
    cg = c // offset_groups
    xr = reshape(pad(x, (1, 1, 1, 1)), (n, offset_groups, cg, (h + 2) * (wd + 2)))
    off = reshape(offset, (n, offset_groups, taps, 2, pixels))
    masks = None if mask is None else reshape(mask, (n, offset_groups, taps, pixels))
    xp = x.xp
    columns = []
    for i in range(kh):
        for j in range(kw):
            k = i * kw + j
            base_y = xp.arange(oh, dtype=x.dtype) * stride[0] + (i * dilation[0] - padding[0])
            base_x = xp.arange(ow, dtype=x.dtype) * stride[1] + (j * dilation[1] - padding[1])
            py = off[:, :, k, 0] + Tensor(xp.repeat(base_y, ow))
            px = off[:, :, k, 1] + Tensor(xp.tile(base_x, oh))
            corners = bilinear_corners(py.array, px.array, h, wd)  # the constant parts
            ty = py - Tensor(py.array - corners.ty)  # py - floor(py), differentiable in py
            tx = px - Tensor(px.array - corners.tx)
            weights = ((1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx), ty * tx)
            col = None
            for rows, weight in zip(corners.rows, weights):
                scale = weight if masks is None else weight * masks[:, :, k]
                term = reshape(scale, (n, offset_groups, 1, pixels)) * take_along_dim(xr, rows[:, :, None, :], 3)
                col = term if col is None else col + term
            columns.append(col)
    cols = reshape(stack(columns, axis=3), (n, groups, cw * taps, pixels))  # row c*K + k
    y = reshape(reshape(w, (groups, o // groups, cw * taps)) @ cols, (n, o, oh, ow))
    return y if b is None else y + reshape(b, (o, 1, 1))


def _pair(v: Any, name: str) -> tuple[int, int]:
    """torchvision's ``_pair``: an int or a pair of ints, checked."""
    pair = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pair):
        raise ValueError(f"{OP}: {name} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


def deform_conv2d(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = (1, 1),
    padding: Any = (0, 0),
    dilation: Any = (1, 1),
    mask: Tensor | None = None,
) -> Tensor:
    """``torchvision.ops.deform_conv2d``: deformable convolution v1 (``mask=None``) or v2.

    input (N, C, H, W), offset (N, 2*offset_groups*kh*kw, OH, OW) with (dy, dx) pairs per tap,
    weight (O, C/groups, kh, kw), bias (O,), mask (N, offset_groups*kh*kw, OH, OW) ->
    (N, O, OH, OW); ``OH = (H + 2*padding[0] - dilation[0]*(kh-1) - 1) // stride[0] + 1``.
    groups = C / weight.shape[1] and offset_groups = offset.shape[1] / (2*kh*kw) are read from
    the shapes, as torchvision does. See :mod:`minicnn.kernels.deform_conv` for the arithmetic.
    """
    tensors = {"input": input, "offset": offset, "weight": weight, "bias": bias, "mask": mask}
    for name, t in tensors.items():
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{OP}: {name} must be a Tensor, got {type(t).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{OP}: expected a floating point input, got {input.dtype}")
    for name, t in tensors.items():
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"{OP}: input is {input.dtype} but {name} is {t.dtype}; convert one of them")
    for name in ("input", "offset", "weight", "mask"):
        t = tensors[name]
        if t is not None and t.ndim != 4:
            raise ValueError(f"{OP}: {name} must be 4-d, got shape {t.shape}")
    stride, padding, dilation = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(
            f"{OP}: stride and dilation must be positive and padding non-negative, "
            f"got stride={stride}, padding={padding}, dilation={dilation}"
        )
    n, c, h, w = input.shape
    o, cw, kh, kw = weight.shape
    if cw < 1 or kh < 1 or kw < 1 or c % cw or o % (c // cw):
        raise ValueError(
            f"{OP}: weight {weight.shape} does not fit input {input.shape}: weight.shape[1] must divide the "
            f"{c} input channels (groups = {c} / weight.shape[1]) and the groups the {o} output channels"
        )
    taps = kh * kw
    offset_groups = offset.shape[1] // (2 * taps)
    if offset_groups < 1 or offset.shape[1] != 2 * taps * offset_groups or c % offset_groups:
        raise ValueError(
            f"{OP}: offset.shape[1] must be 2 * offset_groups * kh * kw = a multiple of {2 * taps} whose "
            f"offset_groups divide the {c} input channels, got offset of shape {offset.shape}"
        )
    oh = output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = output_size(w, kw, stride[1], padding[1], dilation[1])
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{OP}: the output would be {oh} x {ow} for input {input.shape}, weight {weight.shape}, "
            f"stride={stride}, padding={padding}, dilation={dilation}"
        )
    expected = (n, 2 * offset_groups * taps, oh, ow)
    if tuple(offset.shape) != expected:
        raise ValueError(
            f"{OP}: expected offset of shape {expected} (N, 2*offset_groups*kh*kw, OH, OW), got {offset.shape}"
        )
    if mask is not None and tuple(mask.shape) != (n, offset_groups * taps, oh, ow):
        raise ValueError(
            f"{OP}: expected mask of shape {(n, offset_groups * taps, oh, ow)} (N, offset_groups*kh*kw, OH, OW), "
            f"got {mask.shape}"
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"{OP}: expected bias of shape ({o},) to match weight {weight.shape}, got {bias.shape}")
    extras = tuple(t for t in (bias, mask) if t is not None)
    settings = dict(
        stride=stride, padding=padding, dilation=dilation, has_bias=bias is not None, has_mask=mask is not None
    )
    return DeformConv2dOp.apply(input, offset, weight, *extras, **settings)
