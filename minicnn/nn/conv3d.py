"""The 3-d (volumetric) layers: Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d,
AdaptiveAvgPool3d, AdaptiveMaxPool3d, BatchNorm3d and InstanceNorm3d, with torch's signatures,
parameter names, initialisation, buffers and reprs (the functions are in :mod:`minicnn.ops.conv3d`)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..kernels.vol2col import triple
from ..ops.conv3d import adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, conv3d, conv_transpose3d, max_pool3d
from ..ops.errors import ShapeError
from .conv import ConvTranspose2d, _check_padding_mode, _conv_repr, _pad_by_mode, _reversed_padding
from .layernorm import InstanceNorm2d
from .linear import register_weight_and_bias, reset_weight_and_bias
from .module import Module
from .normalization import _BatchNorm
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d


class Conv3d(Module):
    """3-d convolution over (N, C_in, D, H, W) or (C_in, D, H, W) -> (N, C_out, OD, OH, OW).

    ``weight``: (out_channels, in_channels/groups, kd, kh, kw), ``bias``: (out_channels,).
    Init as torch: weight ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and
    bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels/groups * kd * kh * kw.
    ``padding_mode`` "reflect", "replicate" or "circular" pads with ``F.pad`` first, as torch.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if groups < 1 or in_channels % groups:
            raise ValueError(f"Conv3d: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"Conv3d: out_channels ({out_channels}) must be divisible by groups ({groups})")
        _check_padding_mode(padding_mode)
        stride = triple(stride, "stride", "Conv3d")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv3d: invalid padding string {padding!r}, should be one of 'valid', 'same'")
            if padding == "same" and stride != (1, 1, 1):
                raise ValueError("Conv3d: padding='same' is not supported for strided convolutions")
        else:
            padding = triple(padding, "padding", "Conv3d")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = triple(kernel_size, "kernel_size", "Conv3d")
        self.stride, self.padding, self.dilation = stride, padding, triple(dilation, "dilation", "Conv3d")
        self.groups, self.padding_mode = groups, padding_mode
        register_weight_and_bias(
            self, (out_channels, in_channels // groups, *self.kernel_size), out_channels, bias, dtype, device
        )
        self._reversed_padding_repeated_twice = _reversed_padding(self.padding, self.kernel_size, self.dilation)

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self)

    def forward(self, input: Tensor) -> Tensor:
        x, padding = _pad_by_mode(self, input)
        name = f"{type(self).__name__}({self.extra_repr()})"
        return conv3d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups, _layer=name)

    def extra_repr(self) -> str:
        return _conv_repr(self)


class ConvTranspose3d(ConvTranspose2d):
    """Transposed 3-d convolution (N, C_in, D, H, W) or (C_in, D, H, W) -> (N, C_out, OD, OH, OW),
    ``OD = (D-1)*stride - 2*padding + dilation*(kd-1) + output_padding + 1``; ``weight``:
    (in_channels, out_channels/groups, kd, kh, kw). Everything else (init, ``forward(x,
    output_size=None)``, "zeros" padding only) as :class:`~minicnn.nn.conv.ConvTranspose2d`."""

    dims = 3
    _conv = staticmethod(conv_transpose3d)

    @staticmethod
    def _tuple(v: Any, name: str) -> tuple[int, ...]:
        return triple(v, name, "ConvTranspose3d")


# -- pools ---------------------------------------------------------------------------------------


class MaxPool3d(MaxPool2d):
    """Max over kd x kh x kw windows; stride defaults to kernel_size. (N, C, D, H, W) or
    (C, D, H, W) -> (N, C, OD, OH, OW) (MaxPool2d's settings and repr, over three dimensions)."""

    _pool = staticmethod(max_pool3d)


class AvgPool3d(AvgPool2d):
    """Mean over kd x kh x kw windows; stride defaults to kernel_size. (N, C, D, H, W) or
    (C, D, H, W) -> (N, C, OD, OH, OW), torch's divisor rules."""

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
            _layer=self._name(),
        )


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Average over torch's adaptive bins to a fixed (OD, OH, OW) (None keeps that axis)."""

    _pool = staticmethod(adaptive_avg_pool3d)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """Max over torch's adaptive bins to a fixed (OD, OH, OW) (None keeps that axis)."""

    _pool = staticmethod(adaptive_max_pool3d)


# -- normalisation ------------------------------------------------------------------------------


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) inputs, statistics per channel over N, D, H and W (the
    batch norm of :class:`~minicnn.nn.normalization.BatchNorm2d`). As torch, only 5-d inputs."""

    _expected = "(N, {C}, D, H, W)"

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 5:
            raise ValueError(
                f"{self._name()}: expected 5D input (N, {self.num_features}, D, H, W), got shape {x.shape}"
            )
        if x.shape[1] != self.num_features:
            raise ShapeError(
                f"{self._name()}: expected input of shape (N, {self.num_features}, D, H, W), got {x.shape}"
            )


class InstanceNorm3d(InstanceNorm2d):
    """Normalise each channel of each sample of (N, C, D, H, W) or (C, D, H, W) over D, H and W
    (everything else as :class:`~minicnn.nn.layernorm.InstanceNorm2d`)."""

    _spatial = 3

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (4, 5):
            raise ValueError(
                f"InstanceNorm3d({self.num_features}): expected input of shape (N, C, D, H, W) or (C, D, H, W), "
                f"got {input.shape}"
            )
        return super().forward(input)
