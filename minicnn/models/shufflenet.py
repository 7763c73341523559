"""ShuffleNet v2 (Ma, Zhang, Zheng & Sun, "ShuffleNet V2: practical guidelines for efficient
CNN architecture design", ECCV 2018), in torchvision's layout (state-dict keys equal
torchvision's).

The paper measures speed rather than multiply-adds, and its guidelines (equal widths in and
out of a 1x1 convolution, few groups, little fragmentation, few element-wise ops) shape the
unit: at stride 1 the input's maps are split in two halves; one half passes untouched, the
other goes through 1x1 conv-BN-ReLU, 3x3 depthwise conv-BN, 1x1 conv-BN-ReLU; the halves
are concatenated (no addition) and a channel shuffle (``F.channel_shuffle``, 2 groups)
interleaves them, so the next unit's split mixes the two. At stride 2 both halves see the
whole input (the left one through a 3x3/2 depthwise conv-BN and a 1x1 conv-BN-ReLU) and the
maps double. Table 5 of the paper (224x224 input)::

    conv1 3x3/2 24, max pool 3x3/2     56x56
    stage2  1 unit /2 + 3 units        28x28    48 | 116 | 176 | 244 maps
    stage3  1 unit /2 + 7 units        14x14    96 | 232 | 352 | 488
    stage4  1 unit /2 + 3 units        7x7      192 | 464 | 704 | 976
    conv5 1x1                          7x7      1024 | 1024 | 1024 | 2048
    global average pool, fc                     (widths 0.5x | 1x | 1.5x | 2x)

    parameters: x0_5 1,366,792   x1_0 2,278,604   x1_5 3,503,624   x2_0 7,393,996
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import nn
from ..autograd import Tensor
from ..nn import functional as F
from ..ops import cat


def depthwise_conv(i: int, o: int, kernel_size: int, stride: int = 1, padding: int = 0) -> nn.Conv2d:
    return nn.Conv2d(i, o, kernel_size, stride, padding, bias=False, groups=i)


class InvertedResidual(nn.Module):
    """The ShuffleNet v2 unit (torchvision's name). (N, inp, H, W) -> (N, oup, H/stride, W/stride);
    at stride 1, inp == oup."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        if not 1 <= stride <= 3:
            raise ValueError(f"ShuffleNetV2 unit: illegal stride value {stride}")
        self.stride = stride
        branch_features = oup // 2
        if stride == 1 and inp != branch_features * 2:
            raise ValueError(
                f"ShuffleNetV2 unit: with stride 1, inp must equal oup // 2 * 2; got inp {inp} and oup {oup}"
            )
        if stride > 1:
            self.branch1 = nn.Sequential(
                depthwise_conv(inp, inp, kernel_size=3, stride=stride, padding=1),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, kernel_size=1, bias=False),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch_features, branch_features, kernel_size=1, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
            depthwise_conv(branch_features, branch_features, kernel_size=3, stride=stride, padding=1),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = cat([x1, self.branch2(x2)], dim=1)
        else:
            out = cat([self.branch1(x), self.branch2(x)], dim=1)
        return F.channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224.

    ``stages_repeats``: units of stage2..4; ``stages_out_channels``: maps of conv1, the three
    stages and conv5."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        stages_repeats: list[int],
        stages_out_channels: list[int],
        num_classes: int = 1000,
        inverted_residual: Callable[..., nn.Module] = InvertedResidual,
    ) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError(f"ShuffleNetV2: expected stages_repeats as list of 3 positive ints, got {stages_repeats}")
        if len(stages_out_channels) != 5:
            raise ValueError(
                f"ShuffleNetV2: expected stages_out_channels as list of 5 positive ints, got {stages_out_channels}"
            )
        self._stage_out_channels = list(stages_out_channels)
        c = stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for name, repeats, out in zip(("stage2", "stage3", "stage4"), stages_repeats, stages_out_channels[1:4]):
            units = [inverted_residual(c, out, 2)] + [inverted_residual(out, out, 1) for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*units))
            c = out
        out = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(c, out, 1, 1, 0, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True))
        self.fc = nn.Linear(out, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.fc(self.conv5(x).mean(dim=(2, 3)))  # global average pool


def _shufflenet(channels: list[int], num_classes: int, **kwargs: Any) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], channels, num_classes=num_classes, **kwargs)


def shufflenet_v2_x0_5(num_classes: int = 1000, **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet v2 0.5x (1,366,792 parameters)."""
    return _shufflenet([24, 48, 96, 192, 1024], num_classes, **kwargs)


def shufflenet_v2_x1_0(num_classes: int = 1000, **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet v2 1x (2,278,604 parameters)."""
    return _shufflenet([24, 116, 232, 464, 1024], num_classes, **kwargs)


def shufflenet_v2_x1_5(num_classes: int = 1000, **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet v2 1.5x (3,503,624 parameters)."""
    return _shufflenet([24, 176, 352, 704, 1024], num_classes, **kwargs)


def shufflenet_v2_x2_0(num_classes: int = 1000, **kwargs: Any) -> ShuffleNetV2:
    """ShuffleNet v2 2x (7,393,996 parameters)."""
    return _shufflenet([24, 244, 488, 976, 2048], num_classes, **kwargs)


__all__ = ["ShuffleNetV2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]
