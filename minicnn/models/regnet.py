"""RegNet (Radosavovic, Kosaraju, Girshick, He & Dollar, "Designing network design
spaces", CVPR 2020), the X and Y families in torchvision's layout (state-dict keys equal
torchvision's, so its weights load as they are).

The paper searches not for one network but for a simple rule that makes good ones: a
network is a stem (3x3/2 conv to 32 maps), four stages of residual bottleneck blocks and a
head (global pool, fc), and the widths of its d blocks follow a line, quantised::

    u_j = w_0 + w_a * j                      j = 0 .. d-1 (the "continuous" width)
    s_j = round(log(u_j / w_0) / log(w_m))   how many times w_m fits
    w_j = 8 * round(w_0 * w_m^s_j / 8)       the block's width, a multiple of 8

Blocks of equal width form a stage; the first block of each stage has stride 2 and a
1x1 conv + BN projection shortcut. Each block is x + F(x), then ReLU, with F = 1x1 conv
(width w * b, the bottleneck ratio; b = 1 for all of these), 3x3 grouped conv (groups of
g maps, the stride), 1x1 conv back to w, each with BN (ReLU after the first two). After
rounding, each stage's width is adjusted so that the 3x3 conv's width is a multiple of
g (and g is at most that width). RegNet-Y adds squeeze-excitation (Hu et al. 2018) after
the 3x3 conv: global average pool, 1x1 conv down to a quarter of the BLOCK'S INPUT width,
ReLU, 1x1 conv back, sigmoid, the maps scaled by it. The settings (torchvision's, from the
paper's Tables; torchvision computes the widths in float32 and so do we)::

    model           d    w_0   w_a     w_m    g     stage depths    stage widths           parameters
    regnet_x_400mf  22   24    24.48   2.54   16    1, 2, 7, 12     32, 64, 160, 400        5,495,976
    regnet_x_800mf  16   56    35.73   2.28   16    1, 3, 7, 5      64, 128, 288, 672       7,259,656
    regnet_x_1_6gf  18   80    34.01   2.25   24    2, 4, 10, 2     72, 168, 408, 912       9,190,136
    regnet_x_3_2gf  25   88    26.31   2.25   48    2, 6, 15, 2     96, 192, 432, 1008     15,296,552
    regnet_x_8gf    23   80    49.56   2.88   120   2, 5, 15, 1     80, 240, 720, 1920     39,572,648
    regnet_x_16gf   22   216   55.59   2.1    128   2, 6, 13, 1     256, 512, 896, 2048    54,278,536
    regnet_x_32gf   23   320   69.86   2.0    168   2, 7, 13, 1     336, 672, 1344, 2520  107,811,560
    regnet_y_400mf  16   48    27.89   2.09   8     1, 3, 6, 6      48, 104, 208, 440       4,344,144
    regnet_y_800mf  14   56    38.84   2.4    16    1, 3, 8, 2      64, 144, 320, 784       6,432,512
    regnet_y_1_6gf  27   48    20.71   2.65   24    2, 6, 17, 2     48, 120, 336, 888      11,202,430
    regnet_y_3_2gf  21   80    42.63   2.66   24    2, 5, 13, 1     72, 216, 576, 1512     19,436,338
    regnet_y_8gf    17   192   76.82   2.19   56    2, 4, 10, 1     224, 448, 896, 2016    39,381,472
    regnet_y_16gf   18   200   106.23  2.48   112   2, 4, 11, 1     224, 448, 1232, 3024   83,590,140
    regnet_y_32gf   20   232   115.89  2.53   232   2, 5, 12, 1     232, 696, 1392, 3712  145,046,770
    regnet_y_128gf  27   456   160.83  2.52   264   2, 7, 17, 1     528, 1056, 2904, 7392 644,812,894

(X: no SE; Y: SE ratio 0.25; parameters at 1000 classes; regnet_x_8gf's first stage, only 80
wide, has group width 80, not 120.) The name is the cost at 224x224
in multiply-adds (400MF = 0.4 G). Any input of at least 1x1 works (each stride-2 conv pads).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from .. import nn
from ..autograd import Tensor
from ._blocks import Conv2dNormActivation, SqueezeExcitation, make_divisible


class SimpleStemIN(Conv2dNormActivation):
    """3x3/2 conv (no bias) -> norm -> activation: (N, width_in, H, W) -> (N, width_out,
    ceil(H/2), ceil(W/2)); keys 0.*, 1.*."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        norm_layer: Callable[..., nn.Module],
        activation_layer: Callable[..., nn.Module],
    ) -> None:
        super().__init__(
            width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer, activation_layer=activation_layer
        )


class BottleneckTransform(nn.Sequential):
    """F of a block: ``a`` 1x1 conv to w_b = round(width_out * bottleneck_multiplier), ``b``
    3x3 conv (stride, w_b // group_width groups), [``se`` squeeze-excitation to
    round(se_ratio * width_in) maps], ``c`` 1x1 conv to width_out (no activation)."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        norm_layer: Callable[..., nn.Module],
        activation_layer: Callable[..., nn.Module],
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None,
    ) -> None:
        w_b = int(round(width_out * bottleneck_multiplier))
        groups = w_b // group_width
        act, norm = activation_layer, norm_layer  # Conv2dNormActivation passes inplace=True (never in place here)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["a"] = Conv2dNormActivation(width_in, w_b, 1, norm_layer=norm, activation_layer=act)
        layers["b"] = Conv2dNormActivation(w_b, w_b, 3, stride, groups=groups, norm_layer=norm, activation_layer=act)
        if se_ratio:  # the squeeze width counts from the block's input, not from w_b
            squeeze = int(round(se_ratio * width_in))
            layers["se"] = SqueezeExcitation(w_b, squeeze, activation=activation_layer, scale_activation=nn.Sigmoid)
        layers["c"] = Conv2dNormActivation(w_b, width_out, 1, norm_layer=norm, activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """activation(shortcut(x) + F(x)): the shortcut is the identity, or a 1x1 conv (with the
    stride) + norm ``proj`` when the width or the resolution changes.
    (N, width_in, H, W) -> (N, width_out, ceil(H/stride), ceil(W/stride))."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        norm_layer: Callable[..., nn.Module],
        activation_layer: Callable[..., nn.Module],
        group_width: int = 1,
        bottleneck_multiplier: float = 1.0,
        se_ratio: float | None = None,
    ) -> None:
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(
                width_in, width_out, 1, stride, norm_layer=norm_layer, activation_layer=None
            )
        self.f = BottleneckTransform(
            width_in, width_out, stride, norm_layer, activation_layer, group_width, bottleneck_multiplier, se_ratio
        )
        self.activation = activation_layer(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    """``depth`` blocks of one width; the first takes width_in and the stride. Children are
    named ``block{stage_index}-{i}`` (torchvision's keys)."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        depth: int,
        block_constructor: Callable[..., nn.Module],
        norm_layer: Callable[..., nn.Module],
        activation_layer: Callable[..., nn.Module],
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None = None,
        stage_index: int = 0,
    ) -> None:
        super().__init__()
        for i in range(depth):
            block = block_constructor(
                width_in if i == 0 else width_out,
                width_out,
                stride if i == 0 else 1,
                norm_layer,
                activation_layer,
                group_width,
                bottleneck_multiplier,
                se_ratio,
            )
            self.add_module(f"block{stage_index}-{i}", block)


class BlockParams:
    """The per-stage settings of a RegNet: lists ``depths``, ``widths``, ``group_widths``,
    ``bottleneck_multipliers``, ``strides`` (one entry per stage) and ``se_ratio``."""

    def __init__(
        self,
        depths: list[int],
        widths: list[int],
        group_widths: list[int],
        bottleneck_multipliers: list[float],
        strides: list[int],
        se_ratio: float | None = None,
    ) -> None:
        self.depths = depths
        self.widths = widths
        self.group_widths = group_widths
        self.bottleneck_multipliers = bottleneck_multipliers
        self.strides = strides
        self.se_ratio = se_ratio

    @classmethod
    def from_init_params(
        cls,
        depth: int,
        w_0: int,
        w_a: float,
        w_m: float,
        group_width: int,
        bottleneck_multiplier: float = 1.0,
        se_ratio: float | None = None,
        **kwargs: Any,
    ) -> BlockParams:
        """The stages of the quantised linear rule (module docstring): ``depth`` blocks,
        initial width ``w_0`` (a multiple of 8), slope ``w_a`` >= 0, width step ``w_m`` > 1.
        Every stage strides by 2. Other keyword arguments are ignored (torchvision's
        constructors pass theirs on to both this and ``RegNet``)."""
        quant, stride = 8, 2
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError(
                f"Invalid RegNet settings: need w_a >= 0, w_0 > 0 a multiple of 8 and w_m > 1, "
                f"got w_0={w_0}, w_a={w_a}, w_m={w_m}"
            )
        # float32 as torchvision's (torch.arange(depth) * w_a is a float32 tensor)
        widths_cont = np.arange(depth, dtype=np.float32) * np.float32(w_a) + np.float32(w_0)
        capacity = np.round(np.log(widths_cont / np.float32(w_0)) / np.float32(np.log(w_m)))
        block_widths = (np.round(np.float32(w_0) * np.float32(w_m) ** capacity / quant) * quant).astype(int).tolist()
        # a new stage wherever the width changes
        starts = [j for j in range(depth) if j == 0 or block_widths[j] != block_widths[j - 1]]
        stage_widths = [block_widths[j] for j in starts]
        stage_depths = [b - a for a, b in zip(starts, starts[1:] + [depth])]
        n = len(stage_widths)
        multipliers = [bottleneck_multiplier] * n
        stage_widths, group_widths = cls._adjust_widths_groups_compatibility(
            stage_widths, multipliers, [group_width] * n
        )
        return cls(stage_depths, stage_widths, group_widths, multipliers, [stride] * n, se_ratio)

    def _get_expanded_params(self) -> Any:
        """(width, stride, depth, group width, bottleneck multiplier) per stage."""
        return zip(self.widths, self.strides, self.depths, self.group_widths, self.bottleneck_multipliers)

    @staticmethod
    def _adjust_widths_groups_compatibility(
        stage_widths: list[int], bottleneck_ratios: list[float], group_widths: list[int]
    ) -> tuple[list[int], list[int]]:
        """Group width at most the bottleneck width, and the bottleneck width rounded to a
        multiple of the group width (make_divisible); the stage width follows."""
        widths = [int(w * b) for w, b in zip(stage_widths, bottleneck_ratios)]
        group_widths_min = [min(g, w_bot) for g, w_bot in zip(group_widths, widths)]
        ws_bot = [make_divisible(w_bot, g) for w_bot, g in zip(widths, group_widths_min)]
        stage_widths = [int(w_bot / b) for w_bot, b in zip(ws_bot, bottleneck_ratios)]
        return stage_widths, group_widths_min

    def __repr__(self) -> str:
        return (
            f"BlockParams(depths={self.depths}, widths={self.widths}, group_widths={self.group_widths}, "
            f"bottleneck_multipliers={self.bottleneck_multipliers}, strides={self.strides}, se_ratio={self.se_ratio})"
        )


class RegNet(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224, any H, W >= 1 works.

    Arguments as torchvision's: ``block_params`` (:class:`BlockParams`), ``stem_width``,
    ``stem_type`` (called as ``stem_type(3, stem_width, norm_layer, activation)``, default
    :class:`SimpleStemIN`), ``block_type`` (called as :class:`ResBottleneckBlock` is, its
    default), ``norm_layer`` (channels -> normalisation module, default BatchNorm2d) and
    ``activation`` (a module class, called with ``inplace=True`` as torchvision does,
    except in the squeeze-excitation; default ReLU)."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        block_params: BlockParams,
        num_classes: int = 1000,
        stem_width: int = 32,
        stem_type: Callable[..., nn.Module] | None = None,
        block_type: Callable[..., nn.Module] | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        stem_type = SimpleStemIN if stem_type is None else stem_type
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        block_type = ResBottleneckBlock if block_type is None else block_type
        activation = nn.ReLU if activation is None else activation
        self.stem = stem_type(3, stem_width, norm_layer, activation)
        current_width = stem_width
        stages: OrderedDict[str, nn.Module] = OrderedDict()
        for i, (width_out, stride, depth, group_width, multiplier) in enumerate(block_params._get_expanded_params()):
            stages[f"block{i + 1}"] = AnyStage(
                current_width,
                width_out,
                stride,
                depth,
                block_type,
                norm_layer,
                activation,
                group_width,
                multiplier,
                block_params.se_ratio,
                stage_index=i + 1,
            )
            current_width = width_out
        self.trunk_output = nn.Sequential(stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(current_width, num_classes)
        for m in self.modules():  # torchvision's: ResNet-style, fan_out = k*k*C_out
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=(2.0 / fan_out) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.avgpool(self.trunk_output(self.stem(x))).flatten(start_dim=1))


def _regnet(
    depth: int,
    w_0: int,
    w_a: float,
    w_m: float,
    group_width: int,
    se_ratio: float | None,
    num_classes: int,
    kwargs: dict[str, Any],
) -> RegNet:
    params = BlockParams.from_init_params(depth, w_0, w_a, w_m, group_width, se_ratio=se_ratio, **kwargs)
    norm_layer = kwargs.pop("norm_layer", partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    return RegNet(params, num_classes=num_classes, norm_layer=norm_layer, **kwargs)


# RegNet-Y: squeeze-excitation with ratio 0.25


def regnet_y_400mf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetY-400MF (4,344,144 parameters); keyword arguments as :class:`RegNet`'s."""
    return _regnet(16, 48, 27.89, 2.09, 8, 0.25, num_classes, kwargs)


def regnet_y_800mf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetY-800MF (6,432,512 parameters)."""
    return _regnet(14, 56, 38.84, 2.4, 16, 0.25, num_classes, kwargs)


def regnet_y_1_6gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetY-1.6GF (11,202,430 parameters)."""
    return _regnet(27, 48, 20.71, 2.65, 24, 0.25, num_classes, kwargs)


def regnet_y_3_2gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetY-3.2GF (19,436,338 parameters)."""
    return _regnet(21, 80, 42.63, 2.66, 24, 0.25, num_classes, kwargs)


def regnet_y_8gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetY-8GF (39,381,472 parameters)."""
    return _regnet(17, 192, 76.82, 2.19, 56, 0.25, num_classes, kwargs)


def regnet_y_16gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetY-16GF (83,590,140 parameters)."""
    return _regnet(18, 200, 106.23, 2.48, 112, 0.25, num_classes, kwargs)


def regnet_y_32gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetY-32GF (145,046,770 parameters)."""
    return _regnet(20, 232, 115.89, 2.53, 232, 0.25, num_classes, kwargs)


def regnet_y_128gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetY-128GF (644,812,894 parameters: 2.6 GB in float32)."""
    return _regnet(27, 456, 160.83, 2.52, 264, 0.25, num_classes, kwargs)


# RegNet-X: no squeeze-excitation


def regnet_x_400mf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetX-400MF (5,495,976 parameters); keyword arguments as :class:`RegNet`'s."""
    return _regnet(22, 24, 24.48, 2.54, 16, None, num_classes, kwargs)


def regnet_x_800mf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetX-800MF (7,259,656 parameters)."""
    return _regnet(16, 56, 35.73, 2.28, 16, None, num_classes, kwargs)


def regnet_x_1_6gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetX-1.6GF (9,190,136 parameters)."""
    return _regnet(18, 80, 34.01, 2.25, 24, None, num_classes, kwargs)


def regnet_x_3_2gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetX-3.2GF (15,296,552 parameters)."""
    return _regnet(25, 88, 26.31, 2.25, 48, None, num_classes, kwargs)


def regnet_x_8gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetX-8GF (39,572,648 parameters)."""
    return _regnet(23, 80, 49.56, 2.88, 120, None, num_classes, kwargs)


def regnet_x_16gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetX-16GF (54,278,536 parameters)."""
    return _regnet(22, 216, 55.59, 2.1, 128, None, num_classes, kwargs)


def regnet_x_32gf(num_classes: int = 1000, **kwargs: Any) -> RegNet:
    """RegNetX-32GF (107,811,560 parameters)."""
    return _regnet(23, 320, 69.86, 2.0, 168, None, num_classes, kwargs)


__all__ = [
    "BlockParams", "RegNet", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
    "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf",
    "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf",
]  # fmt: skip
