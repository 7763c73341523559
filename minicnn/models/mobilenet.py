"""MobileNet v1 (Howard et al., "MobileNets: efficient convolutional neural networks for
mobile vision applications", 2017) and v2 (Sandler et al., "MobileNetV2: inverted residuals
and linear bottlenecks", CVPR 2018).

v1 replaces each standard convolution by a depthwise separable one: a 3x3 depthwise
convolution (one filter per input map, groups = C) followed by a 1x1 pointwise convolution
that mixes the maps, each with batch norm and ReLU. For a k x k convolution from M to N
maps the cost falls from M N k^2 to M k^2 + M N per output pixel, a ratio of
1/N + 1/k^2 (about 1/8 to 1/9 for k = 3). Table 1 of the paper (224x224 input)::

    conv 3x3/2 32                      112x112x32
    dw/s1 + pw 64                      112x112x64
    dw/s2 + pw 128, dw/s1 + pw 128     56x56x128
    dw/s2 + pw 256, dw/s1 + pw 256     28x28x256
    dw/s2 + pw 512, 5 x (dw/s1 + pw 512)   14x14x512
    dw/s2 + pw 1024, dw/s1 + pw 1024   7x7x1024
    avg pool 7x7, fc 1000              4,231,976 parameters at width 1.0

The width multiplier alpha thins every layer to alpha x its maps (cost ~ alpha^2).

v2 (torchvision's layout, state-dict keys equal torchvision's) stacks inverted residual
blocks: a 1x1 expansion by t = 6, a 3x3 depthwise convolution, and a linear 1x1 projection
(no ReLU: a narrow bottleneck loses information under ReLU) back to a thin map; the
shortcut joins the thin bottlenecks when the shape allows. ReLU6 elsewhere. 3,504,872
parameters at width 1.0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import nn
from ..autograd import Tensor
from ._blocks import init_torchvision_style, make_divisible

# ---------------------------------------------------------------------------------------
# MobileNet v1


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias, "same" padding) -> BatchNorm2d -> activation; keys 0.*, 1.*."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        activation: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size=kernel_size,
                stride=stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            activation(),
        )


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv (with the stride) + BN + ReLU, then 1x1 pointwise conv + BN + ReLU.
    (N, C_in, H, W) -> (N, C_out, H/stride, W/stride)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.depthwise = ConvBNReLU(in_channels, in_channels, 3, stride, groups=in_channels)
        self.pointwise = ConvBNReLU(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


# Table 1: (output maps, stride of the depthwise conv) of the 13 separable layers
V1_SETTING: list[tuple[int, int]] = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
    (1024, 2), (1024, 1),
]  # fmt: skip


class MobileNetV1(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224."""

    input_size = (3, 224, 224)

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.0) -> None:
        super().__init__()

        def width(c: int) -> int:
            return max(8, int(c * width_mult))

        layers: list[nn.Module] = [ConvBNReLU(3, width(32), 3, stride=2)]
        in_channels = width(32)
        for c, s in V1_SETTING:
            layers.append(DepthwiseSeparable(in_channels, width(c), s))
            in_channels = width(c)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(in_channels, num_classes)
        init_torchvision_style(self, linear_std=0.01)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(self.flatten(self.avgpool(self.features(x)))))


# ---------------------------------------------------------------------------------------
# MobileNet v2


class InvertedResidual(nn.Module):
    """1x1 expand (x expand_ratio, ReLU6) -> 3x3 depthwise (stride, ReLU6) -> 1x1 linear
    projection + BN; adds the input when stride is 1 and the widths match."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride}")
        self.stride = stride
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU(inp, hidden, 1, activation=nn.ReLU6))
        layers += [
            ConvBNReLU(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
            nn.Conv2d(hidden, oup, kernel_size=1, bias=False),  # linear bottleneck: no ReLU
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# Table 2: expansion t, output maps c, repeats n, first stride s
V2_SETTING: list[tuple[int, int, int, int]] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


class MobileNetV2(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224."""

    input_size = (3, 224, 224)

    def __init__(
        self, num_classes: int = 1000, width_mult: float = 1.0, round_nearest: int = 8, dropout: float = 0.2
    ) -> None:
        super().__init__()
        input_channel = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [ConvBNReLU(3, input_channel, 3, stride=2, activation=nn.ReLU6)]
        for t, c, n, s in V2_SETTING:
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(ConvBNReLU(input_channel, self.last_channel, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        init_torchvision_style(self, linear_std=0.01)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


def mobilenet_v1(num_classes: int = 1000, width_mult: float = 1.0, **kwargs: Any) -> MobileNetV1:
    """MobileNet v1 (4,231,976 parameters at width 1.0 and 1000 classes)."""
    return MobileNetV1(num_classes=num_classes, width_mult=width_mult, **kwargs)


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0, **kwargs: Any) -> MobileNetV2:
    """MobileNet v2 in torchvision's layout (3,504,872 parameters at width 1.0)."""
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult, **kwargs)


__all__ = ["MobileNetV1", "MobileNetV2", "mobilenet_v1", "mobilenet_v2"]
