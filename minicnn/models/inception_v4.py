"""Inception v4 (Szegedy, Ioffe, Vanhoucke & Alemi, "Inception-v4, Inception-ResNet and the
impact of residual connections on learning", AAAI 2017), Figures 3-9 of the paper.

A uniform, deeper Inception: the stem (Fig. 3) mixes parallel stride-2 pooling and
convolution three times, then 4 x Inception-A on the 35x35 grid, Reduction-A, 7 x
Inception-B (1x7/7x1 factorised) on 17x17, Reduction-B, 3 x Inception-C (1x3 & 3x1 side by
side) on 8x8, average pooling, dropout (keep 0.8) and the classifier::

    stem                 299x299x3 -> 35x35x384
    4 x Inception-A      35x35x384    (1x1 96 | 1x1 64-3x3 96 | 1x1 64-3x3 96-3x3 96 | avg-1x1 96)
    Reduction-A          17x17x1024   (k, l, m, n = 192, 224, 256, 384)
    7 x Inception-B      17x17x1024
    Reduction-B          8x8x1536
    3 x Inception-C      8x8x1536
    avg pool, dropout 0.2, fc

42,679,816 parameters with 1000 classes. The state-dict keys follow timm's
``inception_v4`` (``features.N...``, ``last_linear``), so its weights load as they are.
Convolutions have no bias and are followed by batch norm (eps 1e-3) and ReLU.
"""

from __future__ import annotations

from typing import Any

from .. import nn
from ..autograd import Tensor
from ..ops import cat
from . import _blocks


class BasicConv2d(_blocks.BasicConv2d):
    """timm's form of the unit: the ReLU is a child ``relu`` (printed as timm's)."""

    relu_child = True


def _avg_pool() -> nn.Module:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class Mixed3a(nn.Module):
    """Stem, part 1: maxpool 3x3/2 | conv 3x3/2 96, 147 -> 73, 64 -> 160 maps."""

    def __init__(self) -> None:
        super().__init__()
        self.maxpool = nn.MaxPool2d(3, stride=2)
        self.conv = BasicConv2d(64, 96, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.maxpool(x), self.conv(x)], 1)


class Mixed4a(nn.Module):
    """Stem, part 2: 1x1 64-3x3 96 | 1x1 64-1x7 64-7x1 64-3x3 96 (valid), 73 -> 71, 192 maps."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(
            BasicConv2d(160, 64, kernel_size=1),
            BasicConv2d(64, 96, kernel_size=3),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(160, 64, kernel_size=1),
            BasicConv2d(64, 64, kernel_size=(1, 7), padding=(0, 3)),
            BasicConv2d(64, 64, kernel_size=(7, 1), padding=(3, 0)),
            BasicConv2d(64, 96, kernel_size=3),
        )

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x)], 1)


class Mixed5a(nn.Module):
    """Stem, part 3: conv 3x3/2 192 | maxpool 3x3/2, 71 -> 35, 384 maps."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = BasicConv2d(192, 192, kernel_size=3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.conv(x), self.maxpool(x)], 1)


class InceptionA(nn.Module):
    """Fig. 4, 35x35 grid, 384 -> 384 maps."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(384, 96, kernel_size=1)
        self.branch1 = nn.Sequential(
            BasicConv2d(384, 64, kernel_size=1),
            BasicConv2d(64, 96, kernel_size=3, padding=1),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(384, 64, kernel_size=1),
            BasicConv2d(64, 96, kernel_size=3, padding=1),
            BasicConv2d(96, 96, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(384, 96, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class ReductionA(nn.Module):
    """Fig. 7, 35 -> 17: conv 3x3/2 n | 1x1 k-3x3 l-3x3/2 m | maxpool 3x3/2 -> n + m + C_in.
    (k, l, m, n) = (192, 224, 256, 384) in Inception-v4; shared by the Inception-ResNets."""

    def __init__(self, in_channels: int, k: int, l: int, m: int, n: int) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(in_channels, n, kernel_size=3, stride=2)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, k, kernel_size=1),
            BasicConv2d(k, l, kernel_size=3, padding=1),
            BasicConv2d(l, m, kernel_size=3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class InceptionB(nn.Module):
    """Fig. 5, 17x17 grid, 1024 -> 1024 maps, 7x7 factorised into 1x7 and 7x1."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(1024, 384, kernel_size=1)
        self.branch1 = nn.Sequential(
            BasicConv2d(1024, 192, kernel_size=1),
            BasicConv2d(192, 224, kernel_size=(1, 7), padding=(0, 3)),
            BasicConv2d(224, 256, kernel_size=(7, 1), padding=(3, 0)),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(1024, 192, kernel_size=1),
            BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0)),
            BasicConv2d(192, 224, kernel_size=(1, 7), padding=(0, 3)),
            BasicConv2d(224, 224, kernel_size=(7, 1), padding=(3, 0)),
            BasicConv2d(224, 256, kernel_size=(1, 7), padding=(0, 3)),
        )
        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(1024, 128, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class ReductionB(nn.Module):
    """Fig. 8, 17 -> 8: 1x1 192-3x3/2 192 | 1x1 256-1x7 256-7x1 320-3x3/2 320 | maxpool."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(
            BasicConv2d(1024, 192, kernel_size=1),
            BasicConv2d(192, 192, kernel_size=3, stride=2),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(1024, 256, kernel_size=1),
            BasicConv2d(256, 256, kernel_size=(1, 7), padding=(0, 3)),
            BasicConv2d(256, 320, kernel_size=(7, 1), padding=(3, 0)),
            BasicConv2d(320, 320, kernel_size=3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class InceptionC(nn.Module):
    """Fig. 6, 8x8 grid, 1536 -> 1536 maps, with 1x3 and 3x1 side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(1536, 256, kernel_size=1)
        self.branch1_0 = BasicConv2d(1536, 384, kernel_size=1)
        self.branch1_1a = BasicConv2d(384, 256, kernel_size=(1, 3), padding=(0, 1))
        self.branch1_1b = BasicConv2d(384, 256, kernel_size=(3, 1), padding=(1, 0))
        self.branch2_0 = BasicConv2d(1536, 384, kernel_size=1)
        self.branch2_1 = BasicConv2d(384, 448, kernel_size=(3, 1), padding=(1, 0))
        self.branch2_2 = BasicConv2d(448, 512, kernel_size=(1, 3), padding=(0, 1))
        self.branch2_3a = BasicConv2d(512, 256, kernel_size=(1, 3), padding=(0, 1))
        self.branch2_3b = BasicConv2d(512, 256, kernel_size=(3, 1), padding=(1, 0))
        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(1536, 256, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.branch1_0(x)
        x1 = cat([self.branch1_1a(x1), self.branch1_1b(x1)], 1)
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        x2 = cat([self.branch2_3a(x2), self.branch2_3b(x2)], 1)
        return cat([self.branch0(x), x1, x2, self.branch3(x)], 1)


class InceptionV4(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 299x299, smallest 75x75."""

    input_size = (3, 299, 299)

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            BasicConv2d(3, 32, kernel_size=3, stride=2),  # 149x149x32
            BasicConv2d(32, 32, kernel_size=3),  # 147x147x32
            BasicConv2d(32, 64, kernel_size=3, padding=1),  # 147x147x64
            Mixed3a(),  # 73x73x160
            Mixed4a(),  # 71x71x192
            Mixed5a(),  # 35x35x384
            *(InceptionA() for _ in range(4)),
            ReductionA(384, k=192, l=224, m=256, n=384),  # 17x17x1024
            *(InceptionB() for _ in range(7)),
            ReductionB(),  # 8x8x1536
            *(InceptionC() for _ in range(3)),
        )
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(p=dropout)
        self.last_linear = nn.Linear(1536, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.flatten(self.global_pool(self.features(x)))
        return self.last_linear(self.dropout(x))


def inception_v4(num_classes: int = 1000, **kwargs: Any) -> InceptionV4:
    """Inception v4 (42,679,816 parameters with 1000 classes)."""
    return InceptionV4(num_classes=num_classes, **kwargs)


__all__ = ["InceptionV4", "ReductionA", "inception_v4"]
