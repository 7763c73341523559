"""Differentiable 3-d (volumetric) convolution, transposed convolution and pools, with
``torch.nn.functional``'s signatures; the arithmetic lives in :mod:`minicnn.kernels.vol2col` and
:mod:`minicnn.kernels.pool3d`.

Inputs are (N, C, D, H, W) or unbatched (C, D, H, W), like torch. ``return_indices=True`` makes
the max pools return ``(output, indices)``, the indices an int64 tensor (no gradient) of flat
positions d*H*W + h*W + w in each input volume. Errors: :class:`ShapeError` (a ValueError and
torch's RuntimeError) for sizes and settings, :class:`DtypeError` (a TypeError) for dtypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autocast_state
from ..autograd import Function, Tensor, tie
from ..kernels import pool3d as K
from ..kernels.vol2col import (
    conv3d_backward,
    conv3d_forward,
    conv_transpose3d_backward,
    conv_transpose3d_forward,
    geometry3d,
    triple,
)
from .conv_grad import bias_grad, bilinear_grads
from .conv_transpose import _check_float, check_transposed
from .errors import DtypeError, ShapeError
from .pool import AdaptiveAvgPool2d, AdaptiveMaxPool2d, ScatterPlanes, adaptive_output_size
from .shape import reshape

# -- helpers -------------------------------------------------------------------------------------


def _triple(v: Any, name: str, op: str) -> tuple[int, int, int]:
    try:
        return triple(v, name, op)
    except ValueError as e:
        raise ShapeError(str(e)) from None


def _batched(x: Tensor) -> Tensor:
    """(C, D, H, W) -> (1, C, D, H, W); a 5-d input as it is."""
    return reshape(x, (1, *x.shape)) if x.ndim == 4 else x


def _like_input(y: Tensor, input: Tensor) -> Tensor:
    """Drop the batch axis added by :func:`_batched` for an unbatched input."""
    return reshape(y, y.shape[1:]) if input.ndim == 4 else y


def _check_conv_input(input: Any, weight: Any, op: str, layout: str) -> None:
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"{op}: input and weight must be Tensors, got {type(input).__name__} and {type(weight).__name__}"
        )
    if weight.ndim != 5:
        raise ShapeError(f"{op}: weight must be 5-d {layout}, got shape {weight.shape}")
    if input.ndim not in (4, 5):
        raise ShapeError(
            f"{op}: expected a 5-d input (N, C, D, H, W) or a 4-d unbatched input (C, D, H, W), got shape {input.shape}"
        )
    if 0 in input.shape[-3:] and 0 not in input.shape[:-3]:
        raise ShapeError(
            f"{op}: only zero batch or zero channel inputs are supported, got input of shape {input.shape}"
        )


# -- convolution ---------------------------------------------------------------------------------


class Conv3d(Function):
    """x (N, C, D, H, W), w (O, C/groups, kd, kh, kw)[, b (O,)] -> y (N, O, OD, OH, OW)."""

    def forward(self, x, w, *maybe_b):
        b = maybe_b[0] if maybe_b else None
        if self.requires_grad:
            self.x, self.w, self.has_bias = x, w, b is not None
        return conv3d_forward(x, w, b, self.stride, self.padding, self.dilation, self.groups)

    def backward(self, gy):
        need = self.needs_input_grad
        dx, dw, db = conv3d_backward(
            gy,
            self.x,
            self.w,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            need_dx=need[0],
            need_dw=need[1],
            need_db=self.has_bias and need[2],
        )
        return (dx, dw, db) if self.has_bias else (dx, dw)

    def backward_graph(self, gy, x, w, *maybe_b):  # through the gradient maps of ops/conv_grad.py
        gx, gw = bilinear_grads(self, gy, x, w)
        return (gx, gw, bias_grad(gy) if self.needs_input_grad[2] else None) if maybe_b else (gx, gw)

    def kernel_forward(self, x, w):
        return conv3d_forward(x, w, None, self.stride, self.padding, self.dilation, self.groups)

    def kernel_backward(self, gy, x, w, need_x, need_w):
        settings = (self.stride, self.padding, self.dilation, self.groups)
        dx, dw, _ = conv3d_backward(gy, x, w, *settings, need_dx=need_x, need_dw=need_w, need_db=False)
        return dx, dw


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    _layer: str = "conv3d",
) -> Tensor:
    """``torch.nn.functional.conv3d``: input (N, C, D, H, W) or unbatched (C, D, H, W), weight
    (O, C/groups, kd, kh, kw), bias (O,) or None -> (N, O, OD, OH, OW) with
    ``OD = floor((D + 2*padding - dilation*(kd-1) - 1)/stride) + 1`` (OH, OW alike).
    ``stride``, ``padding``, ``dilation``: an int or a triple; ``padding`` also ``"same"``
    (stride 1 only; an odd total puts the extra voxel at the end, as torch) or ``"valid"``."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, weight, bias = autocast_state.lower(input, weight, bias)
    op = _layer
    _check_conv_input(input, weight, op, "(out_channels, in_channels/groups, kd, kh, kw)")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ShapeError(f"{op}: groups must be a positive int, got {groups!r}")
    groups = int(groups)
    o, cg = weight.shape[:2]
    if o % groups:
        raise ShapeError(f"{op}: out_channels of weight {weight.shape} ({o}) must be divisible by groups={groups}")
    if input.shape[-4] != cg * groups:
        raise ShapeError(
            f"{op}: weight {weight.shape} with groups={groups} expects input with {cg * groups} channels, "
            f"got input of shape {input.shape}"
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise ShapeError(f"{op}: bias must have shape ({o},) to match weight {weight.shape}, got {bias.shape}")
    _check_float(op, input, weight, bias)
    x = _batched(input)
    try:
        geometry3d(x.shape, weight.shape, stride, padding, dilation, groups, op=op)  # raises on a bad fit
    except ValueError as e:
        raise ShapeError(str(e)) from None
    settings = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    args = (x, weight) if bias is None else (x, weight, bias)
    return _like_input(Conv3d.apply(*args, **settings), input)


class ConvTranspose3d(Function):
    """x (N, C_in, D, H, W), w (C_in, C_out/groups, kd, kh, kw)[, b (C_out,)] -> y (N, C_out, OD, OH, OW)."""

    def forward(self, x, w, *maybe_b):
        b = maybe_b[0] if maybe_b else None
        if self.requires_grad:
            self.x, self.w, self.has_bias = x, w, b is not None
        return conv_transpose3d_forward(x, w, b, *self.settings[:3], self.groups, self.settings[3])

    def backward(self, gy):
        need = self.needs_input_grad
        needs = dict(need_dx=need[0], need_dw=need[1], need_db=self.has_bias and need[2])
        s = self.settings
        dx, dw, db = conv_transpose3d_backward(gy, self.x, self.w, s[0], s[1], s[2], self.groups, s[3], **needs)
        return (dx, dw, db) if self.has_bias else (dx, dw)

    def backward_graph(self, gy, x, w, *maybe_b):  # through the gradient maps of ops/conv_grad.py
        gx, gw = bilinear_grads(self, gy, x, w)
        return (gx, gw, bias_grad(gy) if self.needs_input_grad[2] else None) if maybe_b else (gx, gw)

    def kernel_forward(self, x, w):
        return conv_transpose3d_forward(x, w, None, *self.settings[:3], self.groups, self.settings[3])

    def kernel_backward(self, gy, x, w, need_x, need_w):
        s = self.settings
        dx, dw, _ = conv_transpose3d_backward(
            gy, x, w, s[0], s[1], s[2], self.groups, s[3], need_dx=need_x, need_dw=need_w, need_db=False
        )
        return dx, dw


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    _layer: str = "conv_transpose3d",
) -> Tensor:
    """``torch.nn.functional.conv_transpose3d``: input (N, C_in, D, H, W) or unbatched
    (C_in, D, H, W), weight (C_in, C_out/groups, kd, kh, kw), bias (C_out,) or None ->
    (N, C_out, OD, OH, OW), ``OD = (D-1)*stride - 2*padding + dilation*(kd-1) + output_padding + 1``
    (OH, OW alike). ``output_padding`` must be smaller than stride or dilation, per axis."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, weight, bias = autocast_state.lower(input, weight, bias)
    op = _layer
    _check_conv_input(input, weight, op, "(in_channels, out_channels/groups, kd, kh, kw)")
    settings, groups = check_transposed(
        input, weight, bias, stride, padding, output_padding, groups, dilation, _triple, op
    )
    args = (_batched(input), weight) if bias is None else (_batched(input), weight, bias)
    return _like_input(ConvTranspose3d.apply(*args, settings=settings, groups=groups), input)


# -- pools ---------------------------------------------------------------------------------------


def _check_pool_input(x: Any, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in (4, 5):
        raise ShapeError(f"{op}: expected a 4-d (C, D, H, W) or 5-d (N, C, D, H, W) input, got shape {x.shape}")
    if min(x.shape[-4:]) == 0:
        raise ShapeError(f"{op}: expected an input whose non-batch dimensions are not empty, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: expected a floating point input, got dtype {x.dtype}")


def _pool_geometry(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode, op: str) -> K.Pool3dGeometry:
    try:
        return K.pool3d_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, op)
    except ValueError as e:
        raise ShapeError(str(e)) from None


class MaxPool3d(Function):
    def forward(self, x):
        y, argmax = K.max_pool3d_forward(x, self.g, with_argmax=self.requires_grad or self.indices_out is not None)
        if self.indices_out is not None:  # a list the caller reads after apply()
            self.indices_out.append(K.max_pool3d_indices(argmax, x.shape, self.g))
        if self.requires_grad:
            self.argmax, self.x_shape = argmax, x.shape
        return y

    def backward(self, gy):
        return K.max_pool3d_backward(gy, self.argmax, self.x_shape, self.g)

    def backward_graph(self, gy, x):  # gy to the maxima: linear in gy, the argmax is a constant
        indices = K.max_pool3d_indices(self.argmax, self.x_shape, self.g)
        return tie(ScatterPlanes.apply(gy, indices=indices, shape=self.x_shape, dims=3), x)  # tied as torch's


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    _layer: str = "max_pool3d",
) -> Any:
    """``torch.nn.functional.max_pool3d``: the max over each (dilated) window, (N, C, D, H, W) or
    (C, D, H, W) -> (N, C, OD, OH, OW); stride defaults to kernel_size; padding at most half the
    kernel. With ``return_indices`` also the int64 flat positions d*H*W + h*W + w of the maxima."""
    _check_pool_input(input, _layer)
    g = _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, _layer)
    sink: list[Any] | None = [] if return_indices else None
    y = MaxPool3d.apply(input, g=g, indices_out=sink)
    return (y, Tensor(sink[0])) if return_indices else y


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """torch's ``max_pool3d_with_indices``: always (output, indices), whatever ``return_indices``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True, _layer="max_pool3d")


class AvgPool3d(Function):
    linear = True
    tied = True  # as torch, whose backward takes the input

    def forward(self, x):
        if self.requires_grad:
            self.x_shape = x.shape
        return K.avg_pool3d_forward(x, self.g, self.count_include_pad, self.divisor_override)

    def backward(self, gy):
        return K.avg_pool3d_backward(gy, self.x_shape, self.g, self.count_include_pad, self.divisor_override)


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    _layer: str = "avg_pool3d",
) -> Tensor:
    """``torch.nn.functional.avg_pool3d``: the mean over each window, (N, C, D, H, W) or
    (C, D, H, W) -> (N, C, OD, OH, OW), with torch's divisor (``count_include_pad``: padding counts;
    ceil_mode windows are clipped to the padded input; ``divisor_override`` replaces it). As torch,
    the unpadded input must be at least the kernel along every axis."""
    _check_pool_input(input, _layer)
    g = _pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode, _layer)
    if any(n < k for n, k in zip(input.shape[-3:], g.kernel)):
        raise ShapeError(f"{_layer}: input of size {input.shape[-3:]} is smaller than the kernel {g.kernel}")
    if divisor_override is not None and (
        isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer))
    ):
        raise TypeError(f"{_layer}: divisor_override must be an int, got {divisor_override!r}")
    if divisor_override is not None and int(divisor_override) == 0:
        raise ShapeError(f"{_layer}: divisor must be not zero")
    return AvgPool3d.apply(input, g=g, count_include_pad=bool(count_include_pad), divisor_override=divisor_override)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    forward_kernel = staticmethod(K.adaptive_avg_pool3d_forward)
    backward_kernel = staticmethod(K.adaptive_avg_pool3d_backward)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    forward_kernel = staticmethod(K.adaptive_max_pool3d_forward)
    backward_kernel = staticmethod(K.adaptive_max_pool3d_backward)


def adaptive_avg_pool3d(input: Tensor, output_size: Any, _layer: str = "adaptive_avg_pool3d") -> Tensor:
    """``torch.nn.functional.adaptive_avg_pool3d``: the mean over torch's adaptive bins,
    (N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size)."""
    _check_pool_input(input, _layer)
    return AdaptiveAvgPool3d.apply(input, output_size=adaptive_output_size(input.shape, output_size, _layer, dims=3))


def adaptive_max_pool3d(
    input: Tensor, output_size: Any, return_indices: bool = False, _layer: str = "adaptive_max_pool3d"
) -> Any:
    """``torch.nn.functional.adaptive_max_pool3d``: the max over torch's adaptive bins,
    (N, C, D, H, W) or (C, D, H, W) -> (N, C, *output_size); with ``return_indices`` also the int64
    flat positions d*H*W + h*W + w of the maxima."""
    _check_pool_input(input, _layer)
    sink: list[Any] | None = [] if return_indices else None
    size = adaptive_output_size(input.shape, output_size, _layer, dims=3)
    y = AdaptiveMaxPool3d.apply(input, output_size=size, indices_out=sink)
    return (y, Tensor(sink[0])) if return_indices else y


def adaptive_max_pool3d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """torch's ``adaptive_max_pool3d_with_indices``: always (output, indices)."""
    return adaptive_max_pool3d(input, output_size, True)
