"""Inception-ResNet v1 and v2 (Szegedy, Ioffe, Vanhoucke & Alemi, "Inception-v4,
Inception-ResNet and the impact of residual connections on learning", AAAI 2017).

Each Inception-ResNet block runs a cheap Inception module (1x1 reductions, small branches),
concatenates the branches, restores the channel count with a linear 1x1 convolution (with
bias, no batch norm, no activation), scales that residual by 0.1-0.3 and adds it to the
block input, then applies ReLU: out = relu(x + scale * up(cat(branches))). The paper found
that without this down-scaling, networks with more than ~1000 filters "died" early in
training (the last layers output only zeros); 0.17, 0.10 and 0.20 are the scales of the
released TensorFlow models. Batch norm sits only on the convolutions, not on the sums.

Inception-ResNet-v1 (the cost of Inception-v3), paper Figs. 14, 10, 7, 11, 12, 13::

    stem (Fig. 14)       299x299x3 -> 35x35x256
    5 x block35          35x35x256    (1x1 32 | 1x1 32-3x3 32 | 1x1 32-3x3 32-3x3 32) -> 1x1 256
    Reduction-A          17x17x896    (k, l, m, n = 192, 192, 256, 384)
    10 x block17         17x17x896    (1x1 128 | 1x1 128-1x7 128-7x1 128) -> 1x1 896
    Reduction-B          8x8x1792
    5 x block8           8x8x1792     (1x1 192 | 1x1 192-1x3 192-3x1 192) -> 1x1 1792
    avg pool, dropout 0.2, fc

Inception-ResNet-v2 (the cost of Inception-v4) in the layout of the released model (the
TF-slim code, timm's ``inception_resnet_v2``, whose state-dict keys this follows): the
Inception-v3-like stem ending in an Inception-A module ``mixed_5b`` (35x35x320), 10 x
block35, Reduction-A (256, 256, 384, 384) -> 17x17x1088, 20 x block17, Reduction-B ->
8x8x2080, 9 x block8 and a final block8 without ReLU, a 1x1 convolution to 1536 maps,
average pooling and the classifier: 55,843,464 parameters with 1000 classes. (The paper's
figure draws 5/10/5 blocks; the released network uses 10/20/10.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import nn
from ..autograd import Tensor
from ..ops import cat
from . import _blocks
from .inception_v4 import ReductionA


class BasicConv2d(_blocks.BasicConv2d):
    """timm's form of the unit: the ReLU is a child ``relu`` (printed as timm's)."""

    relu_child = True


class Block35(nn.Module):
    """35x35 residual block: 1x1 b0 | 1x1-3x3 (b1) | 1x1-3x3-3x3 (b2) -> 1x1 back to C."""

    def __init__(self, channels: int, b0: int, b1: Sequence[int], b2: Sequence[int], scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(channels, b0, kernel_size=1)
        self.branch1 = nn.Sequential(
            BasicConv2d(channels, b1[0], kernel_size=1),
            BasicConv2d(b1[0], b1[1], kernel_size=3, padding=1),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(channels, b2[0], kernel_size=1),
            BasicConv2d(b2[0], b2[1], kernel_size=3, padding=1),
            BasicConv2d(b2[1], b2[2], kernel_size=3, padding=1),
        )
        self.conv2d = nn.Conv2d(b0 + b1[1] + b2[2], channels, kernel_size=1)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2d(cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1))
        return self.relu(out * self.scale + x)


class Block17(nn.Module):
    """17x17 residual block: 1x1 b0 | 1x1-1x7-7x1 (b1) -> 1x1 back to C."""

    def __init__(self, channels: int, b0: int, b1: Sequence[int], scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(channels, b0, kernel_size=1)
        self.branch1 = nn.Sequential(
            BasicConv2d(channels, b1[0], kernel_size=1),
            BasicConv2d(b1[0], b1[1], kernel_size=(1, 7), padding=(0, 3)),
            BasicConv2d(b1[1], b1[2], kernel_size=(7, 1), padding=(3, 0)),
        )
        self.conv2d = nn.Conv2d(b0 + b1[2], channels, kernel_size=1)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2d(cat([self.branch0(x), self.branch1(x)], 1))
        return self.relu(out * self.scale + x)


class Block8(nn.Module):
    """8x8 residual block: 1x1 b0 | 1x1-1x3-3x1 (b1) -> 1x1 back to C; ``relu=False``
    leaves the sum unactivated (v2's last block)."""

    def __init__(self, channels: int, b0: int, b1: Sequence[int], scale: float, relu: bool = True) -> None:
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(channels, b0, kernel_size=1)
        self.branch1 = nn.Sequential(
            BasicConv2d(channels, b1[0], kernel_size=1),
            BasicConv2d(b1[0], b1[1], kernel_size=(1, 3), padding=(0, 1)),
            BasicConv2d(b1[1], b1[2], kernel_size=(3, 1), padding=(1, 0)),
        )
        self.conv2d = nn.Conv2d(b0 + b1[2], channels, kernel_size=1)
        self.relu = nn.ReLU() if relu else None

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2d(cat([self.branch0(x), self.branch1(x)], 1)) * self.scale + x
        return out if self.relu is None else self.relu(out)


class ReductionB(nn.Module):
    """17 -> 8 grid reduction of the Inception-ResNets (Figs. 12 and 18): three stride-2
    conv branches (widths b0, b1, b2, each after a 1x1 reduction) and a 3x3/2 max pool."""

    def __init__(self, channels: int, b0: Sequence[int], b1: Sequence[int], b2: Sequence[int]) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(
            BasicConv2d(channels, b0[0], kernel_size=1),
            BasicConv2d(b0[0], b0[1], kernel_size=3, stride=2),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(channels, b1[0], kernel_size=1),
            BasicConv2d(b1[0], b1[1], kernel_size=3, stride=2),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(channels, b2[0], kernel_size=1),
            BasicConv2d(b2[0], b2[1], kernel_size=3, padding=1),
            BasicConv2d(b2[1], b2[2], kernel_size=3, stride=2),
        )
        self.branch3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class Mixed5b(nn.Module):
    """v2's stem end, an Inception-A module on 35x35x192 -> 320 maps:
    1x1 96 | 1x1 48-5x5 64 | 1x1 64-3x3 96-3x3 96 | avgpool-1x1 64."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(192, 96, kernel_size=1)
        self.branch1 = nn.Sequential(
            BasicConv2d(192, 48, kernel_size=1),
            BasicConv2d(48, 64, kernel_size=5, padding=2),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(192, 64, kernel_size=1),
            BasicConv2d(64, 96, kernel_size=3, padding=1),
            BasicConv2d(96, 96, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
            BasicConv2d(192, 64, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class InceptionResNetV1(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 299x299, smallest 75x75."""

    input_size = (3, 299, 299)

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv2d_1a = BasicConv2d(3, 32, kernel_size=3, stride=2)  # 149x149x32
        self.conv2d_2a = BasicConv2d(32, 32, kernel_size=3)  # 147x147x32
        self.conv2d_2b = BasicConv2d(32, 64, kernel_size=3, padding=1)  # 147x147x64
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)  # 73x73x64
        self.conv2d_3b = BasicConv2d(64, 80, kernel_size=1)  # 73x73x80
        self.conv2d_4a = BasicConv2d(80, 192, kernel_size=3)  # 71x71x192
        self.conv2d_4b = BasicConv2d(192, 256, kernel_size=3, stride=2)  # 35x35x256
        self.repeat = nn.Sequential(*(Block35(256, 32, (32, 32), (32, 32, 32), scale=0.17) for _ in range(5)))
        self.mixed_6a = ReductionA(256, k=192, l=192, m=256, n=384)  # 17x17x896
        self.repeat_1 = nn.Sequential(*(Block17(896, 128, (128, 128, 128), scale=0.10) for _ in range(10)))
        self.mixed_7a = ReductionB(896, (256, 384), (256, 256), (256, 256, 256))  # 8x8x1792
        self.repeat_2 = nn.Sequential(*(Block8(1792, 192, (192, 192, 192), scale=0.20) for _ in range(5)))
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(p=dropout)
        self.classif = nn.Linear(1792, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv2d_2b(self.conv2d_2a(self.conv2d_1a(x)))
        x = self.conv2d_4b(self.conv2d_4a(self.conv2d_3b(self.maxpool_3a(x))))
        x = self.repeat_2(self.mixed_7a(self.repeat_1(self.mixed_6a(self.repeat(x)))))
        return self.classif(self.dropout(self.flatten(self.global_pool(x))))


class InceptionResNetV2(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 299x299, smallest 75x75."""

    input_size = (3, 299, 299)

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv2d_1a = BasicConv2d(3, 32, kernel_size=3, stride=2)  # 149x149x32
        self.conv2d_2a = BasicConv2d(32, 32, kernel_size=3)  # 147x147x32
        self.conv2d_2b = BasicConv2d(32, 64, kernel_size=3, padding=1)  # 147x147x64
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)  # 73x73x64
        self.conv2d_3b = BasicConv2d(64, 80, kernel_size=1)  # 73x73x80
        self.conv2d_4a = BasicConv2d(80, 192, kernel_size=3)  # 71x71x192
        self.maxpool_5a = nn.MaxPool2d(3, stride=2)  # 35x35x192
        self.mixed_5b = Mixed5b()  # 35x35x320
        self.repeat = nn.Sequential(*(Block35(320, 32, (32, 32), (32, 48, 64), scale=0.17) for _ in range(10)))
        self.mixed_6a = ReductionA(320, k=256, l=256, m=384, n=384)  # 17x17x1088
        self.repeat_1 = nn.Sequential(*(Block17(1088, 192, (128, 160, 192), scale=0.10) for _ in range(20)))
        self.mixed_7a = ReductionB(1088, (256, 384), (256, 288), (256, 288, 320))  # 8x8x2080
        self.repeat_2 = nn.Sequential(*(Block8(2080, 192, (192, 224, 256), scale=0.20) for _ in range(9)))
        self.block8 = Block8(2080, 192, (192, 224, 256), scale=1.0, relu=False)
        self.conv2d_7b = BasicConv2d(2080, 1536, kernel_size=1)  # 8x8x1536
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(p=dropout)
        self.classif = nn.Linear(1536, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv2d_2b(self.conv2d_2a(self.conv2d_1a(x)))
        x = self.maxpool_5a(self.conv2d_4a(self.conv2d_3b(self.maxpool_3a(x))))
        x = self.repeat(self.mixed_5b(x))
        x = self.repeat_1(self.mixed_6a(x))
        x = self.conv2d_7b(self.block8(self.repeat_2(self.mixed_7a(x))))
        return self.classif(self.dropout(self.flatten(self.global_pool(x))))


def inception_resnet_v1(num_classes: int = 1000, **kwargs: Any) -> InceptionResNetV1:
    """Inception-ResNet-v1 as in the paper (5/10/5 residual blocks)."""
    return InceptionResNetV1(num_classes=num_classes, **kwargs)


def inception_resnet_v2(num_classes: int = 1000, **kwargs: Any) -> InceptionResNetV2:
    """Inception-ResNet-v2 as released (55,843,464 parameters with 1000 classes)."""
    return InceptionResNetV2(num_classes=num_classes, **kwargs)


__all__ = ["InceptionResNetV1", "InceptionResNetV2", "inception_resnet_v1", "inception_resnet_v2"]
