"""The 3-d (volumetric) layers: Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d,
AdaptiveAvgPool3d, AdaptiveMaxPool3d, BatchNorm3d and InstanceNorm3d, with torch's signatures,
parameter names, initialisation, buffers and reprs (the functions are in :mod:`minicnn.ops.conv3d`)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..kernels.vol2col import triple
from ..ops.conv3d import adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, conv3d, conv_transpose3d, max_pool3d
from ..ops.errors import ShapeError
from .conv import ConvTranspose2d, _ConvNd
from .layernorm import InstanceNorm2d
from .normalization import _BatchNorm
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d


class Conv3d(_ConvNd):
    """3-d convolution over (N, C_in, D, H, W) or (C_in, D, H, W) -> (N, C_out, OD, OH, OW);
    weight (out_channels, in_channels/groups, kd, kh, kw). Everything else as
    :class:`~minicnn.nn.conv._ConvNd` (every padding_mode included)."""

    dims = 3

    @staticmethod
    def _tuple(v: Any, name: str) -> tuple[int, ...]:
        return triple(v, name, "Conv3d")

    def _conv(self, x: Tensor, padding: Any, layer: str) -> Tensor:
        return conv3d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups, _layer=layer)


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
        if self._misfit(x):
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
