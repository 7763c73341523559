"""Small building blocks shared by several model families.

``Conv2dNormActivation`` / ``Conv3dNormActivation`` (conv -> normalisation -> activation),
``SqueezeExcitation``, ``MLP`` and ``Permute`` are torchvision.ops.misc's, with the same
signatures, children and state-dict keys, so that the models built from them print and load
as torchvision's. ``BasicConv2d`` is the conv -> batch norm -> ReLU unit of GoogLeNet (torchvision's form),
the Inception v3/v4 and Inception-ResNet networks; its state-dict keys are ``conv.weight``
and ``bn.*`` as in torchvision and timm, so their weights load as they are. torchvision's
applies the ReLU as a function (no child); timm's holds it as child ``relu`` (a subclass
with ``relu_child = True``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .. import nn
from ..autograd import Tensor
from ..nn import functional as F


def _ntuple(value: Any, n: int) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, Sequence) else (value,) * n


class ConvNormActivation(nn.Sequential):
    """conv -> [norm] -> [activation]; children ``0``, ``1``, ``2`` (those present).

    ``padding`` None: "same" for odd kernels, (k - 1) // 2 * dilation per dimension;
    ``bias`` None: a conv bias only when there is no normalisation; ``inplace`` is passed to
    the activation as ``inplace=`` (None: not passed). Use :class:`Conv2dNormActivation` or
    :class:`Conv3dNormActivation` (this base warns when built directly, as torchvision's)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...] = 3,
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] | str | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int, ...] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
        conv_layer: Callable[..., nn.Module] = nn.Conv2d,
    ) -> None:
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                dims = len(kernel_size) if isinstance(kernel_size, Sequence) else len(dilation)  # type: ignore[arg-type]
                kernel_size, dilation = _ntuple(kernel_size, dims), _ntuple(dilation, dims)
                padding = tuple((k - 1) // 2 * d for k, d in zip(kernel_size, dilation))
        if bias is None:
            bias = norm_layer is None
        layers: list[nn.Module] = [
            conv_layer(
                in_channels, out_channels, kernel_size, stride, padding, dilation=dilation, groups=groups, bias=bias
            )
        ]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels
        if type(self) is ConvNormActivation:
            warnings.warn(
                "Don't use ConvNormActivation directly, please use Conv2dNormActivation and Conv3dNormActivation "
                "instead.",
                stacklevel=2,
            )


class Conv2dNormActivation(ConvNormActivation):
    """Conv2d -> [norm] -> [activation] (torchvision.ops.Conv2dNormActivation).
    (N, C_in, H, W) -> (N, C_out, H', W'); keys ``0.*`` (conv), ``1.*`` (norm)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int, int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, groups, norm_layer, activation_layer,
            dilation, inplace, bias, nn.Conv2d,
        )  # fmt: skip


class Conv3dNormActivation(ConvNormActivation):
    """Conv3d -> [norm] -> [activation] (torchvision.ops.Conv3dNormActivation).
    (N, C_in, D, H, W) -> (N, C_out, D', H', W'); keys ``0.*`` (conv), ``1.*`` (norm)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int] = 3,
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] | str | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm3d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int, int, int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, groups, norm_layer, activation_layer,
            dilation, inplace, bias, nn.Conv3d,
        )  # fmt: skip


class SqueezeExcitation(nn.Module):
    """x * scale_activation(fc2(activation(fc1(avgpool(x))))), fc1/fc2 1x1 convolutions with
    bias (Hu et al. 2018; torchvision.ops.SqueezeExcitation). (N, C, H, W) -> same."""

    def __init__(
        self,
        input_channels: int,
        squeeze_channels: int,
        activation: Callable[..., nn.Module] = nn.ReLU,
        scale_activation: Callable[..., nn.Module] = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input: Tensor) -> Tensor:
        """The per-channel scale, (N, C, 1, 1)."""
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(input)))))

    def forward(self, input: Tensor) -> Tensor:
        return self._scale(input) * input


class MLP(nn.Sequential):
    """(Linear -> [norm] -> activation -> Dropout) per hidden width, then Linear -> Dropout
    (torchvision.ops.MLP). (*, in_channels) -> (*, hidden_channels[-1]). ``inplace`` is passed
    to the activation and the dropouts (None: not passed)."""

    def __init__(
        self,
        in_channels: int,
        hidden_channels: list[int],
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        inplace: bool | None = None,
        bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        params = {} if inplace is None else {"inplace": inplace}
        layers: list[nn.Module] = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(nn.Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))  # type: ignore[misc]
            layers.append(nn.Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(nn.Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout, **params))
        super().__init__(*layers)


class Permute(nn.Module):
    """The input with its dims in the order ``dims`` (torchvision.ops.Permute; prints as
    ``Permute()``, as torchvision's)."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(self.dims)


class BasicConv2d(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d(eps) -> ReLU. (N, C_in, H, W) -> (N, C_out, H', W').
    Children ``conv``, ``bn`` (torchvision's), and ``relu`` where the class sets ``relu_child``."""

    relu_child = False

    def __init__(self, in_channels: int, out_channels: int, eps: float = 1e-3, **conv_kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=eps)
        if self.relu_child:
            self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn(self.conv(x))
        return self.relu(x) if self.relu_child else F.relu(x)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor`` without going more than
    10 % below ``value`` (the rule of the TensorFlow MobileNet code, used by torchvision)."""
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def init_torchvision_style(model: nn.Module, linear_std: float | None = 0.01) -> None:
    """Conv2d: kaiming normal (fan_out, ReLU gain), bias 0; BatchNorm: weight 1, bias 0;
    Linear: N(0, linear_std^2), bias 0 (or left at the default when ``linear_std`` is None).
    This is torchvision's initialisation of VGG, ResNet and MobileNet v2."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)


def init_truncated_normal(model: nn.Module, default_std: float) -> None:
    """Conv2d and Linear weights from N(0, std^2) truncated to [-2, 2] (std = the module's
    ``stddev`` attribute if it has one, else ``default_std``); BatchNorm weight 1, bias 0.
    This is torchvision's initialisation of GoogLeNet (std 0.01) and Inception v3 (std 0.1)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            std = float(getattr(m, "stddev", default_std))
            nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2.0, b=2.0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
