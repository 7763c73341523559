"""Differentiable 2-d convolution: checks the arguments, then calls the kernels.

The arithmetic lives in :mod:`minicnn.kernels.conv` (direct, im2col + GEMM),
:mod:`minicnn.kernels.depthwise` and :mod:`minicnn.kernels.winograd`; this module adds the graph
node and clear errors.
"""

from __future__ import annotations

from typing import Any

from .. import autocast_state
from ..autograd import Function, Tensor
from ..kernels.conv import ALGOS, conv2d_backward, conv2d_forward
from ..kernels.conv_shapes import geometry
from .conv_grad import bias_grad, bilinear_grads
from .errors import DtypeError, ShapeError
from .shape import reshape


class Conv2d(Function):
    """x (N, C, H, W), w (O, C/groups, kh, kw)[, b (O,)] -> y (N, O, OH, OW).

    Settings: stride, padding, dilation, groups, algo. Backward asks the kernel only for the
    gradients that are needed (the first layer of a network needs no dX).
    """

    def forward(self, x, w, *maybe_b):
        b = maybe_b[0] if maybe_b else None
        # the kernel may keep intermediates for backward in ctx (small im2col column matrices)
        self.ctx = {} if self.requires_grad and self.needs_input_grad[1] else None
        y = conv2d_forward(x, w, b, self.stride, self.padding, self.dilation, self.groups, self.algo, self.ctx)
        if self.requires_grad:
            self.x, self.w, self.has_bias = x, w, b is not None
        return y

    def backward(self, gy):
        need = self.needs_input_grad
        dx, dw, db = conv2d_backward(
            gy,
            self.x,
            self.w,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.algo,
            need_dx=need[0],
            need_dw=need[1],
            need_db=self.has_bias and need[2],
            ctx=self.ctx,
        )
        return (dx, dw, db) if self.has_bias else (dx, dw)

    def backward_graph(self, gy, x, w, *maybe_b):  # through the gradient maps of ops/conv_grad.py
        gx, gw = bilinear_grads(self, gy, x, w)
        return (gx, gw, bias_grad(gy) if self.needs_input_grad[2] else None) if maybe_b else (gx, gw)

    # the arithmetic of those gradient maps: the kernels without bias
    def kernel_forward(self, x, w):
        return conv2d_forward(x, w, None, self.stride, self.padding, self.dilation, self.groups, self.algo)

    def kernel_backward(self, gy, x, w, need_x, need_w):
        settings = (self.stride, self.padding, self.dilation, self.groups, self.algo)
        dx, dw, _ = conv2d_backward(gy, x, w, *settings, need_dx=need_x, need_dw=need_w, need_db=False)
        return dx, dw


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    algo: str = "auto",
    _layer: str = "conv2d",
) -> Tensor:
    """``torch.nn.functional.conv2d``: input (N, C, H, W) or unbatched (C, H, W), weight
    (O, C/groups, kh, kw), bias (O,) or None. ``padding``: int, pair, ``"same"`` or ``"valid"``.

    ``algo``: ``"auto"`` (default), ``"direct"``, ``"im2col"``, ``"depthwise"`` or ``"winograd"``
    (3x3, stride 1, dilation 1, groups 1 only; a ValueError otherwise) (see
    :mod:`minicnn.kernels.conv`); all give the same result up to rounding.

    Empty inputs: a batch of 0 images gives an empty output and zero dW, db. With 0 input
    channels (input (N, 0, H, W), w (O, 0, kh, kw)) every output is an empty sum plus the bias, so y
    is the bias broadcast over (N, O, OH, OW) and db sums gy. torch 2.14 returns shape
    (N, 0, OH, OW) there -- not the O output channels of its own weight (its backward still gives
    db O zeros) -- a quirk minicnn does not copy: it returns the mathematically sensible result.
    """
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, weight, bias = autocast_state.lower(input, weight, bias)
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"{_layer}: input and weight must be Tensors, got {type(input).__name__} and {type(weight).__name__}"
        )
    if weight.ndim != 4:
        raise ShapeError(
            f"{_layer}: weight must be 4-d (out_channels, in_channels/groups, kh, kw), got shape {weight.shape}"
        )
    if input.ndim not in (3, 4):
        raise ShapeError(
            f"{_layer}: expected a 4-d input (N, C, H, W) or a 3-d unbatched input (C, H, W), got shape {input.shape}"
        )
    if not isinstance(groups, int) or groups < 1:
        raise ShapeError(f"{_layer}: groups must be a positive int, got {groups!r}")
    o, cg = weight.shape[:2]
    if o % groups:
        raise ShapeError(f"{_layer}: out_channels ({o}) must be divisible by groups ({groups})")
    channels = input.shape[-3]
    if channels != cg * groups:
        batch = "N, " if input.ndim == 4 else ""
        raise ShapeError(
            f"{_layer}: expected input of shape ({batch}{cg * groups}, H, W) "
            f"(weight {weight.shape} with groups={groups} needs {cg * groups} input channels), "
            f"got input of shape {input.shape}"
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise ShapeError(f"{_layer}: bias must have shape ({o},) to match weight {weight.shape}, got {bias.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise DtypeError(f"{_layer}: input is {input.dtype} but {name} is {t.dtype}; convert one of them")
    if input.dtype.kind != "f":
        raise DtypeError(f"{_layer}: expected a floating point input, got {input.dtype}")
    if algo not in ALGOS:
        raise ValueError(f"{_layer}: algo must be one of {ALGOS}, got {algo!r}")
    unbatched = input.ndim == 3
    if unbatched:
        input = reshape(input, (1, *input.shape))
    try:
        geometry(input.shape, weight.shape, stride, padding, dilation, groups, op=_layer)  # raises on a bad fit
    except ValueError as e:
        raise ShapeError(str(e)) from None
    settings = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, algo=algo)
    y = Conv2d.apply(input, weight, **settings) if bias is None else Conv2d.apply(input, weight, bias, **settings)
    return reshape(y, y.shape[1:]) if unbatched else y
