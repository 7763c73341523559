"""EfficientNet (Tan & Le, "EfficientNet: rethinking model scaling for convolutional neural
networks", ICML 2019) and EfficientNetV2 (Tan & Le, "EfficientNetV2: smaller models and faster
training", ICML 2021), in torchvision's layout (state-dict keys equal torchvision's).

The building block is MobileNet v2's inverted residual with a squeeze-and-excitation unit
("MBConv"): a 1x1 expansion by ``expand_ratio``, a k x k depthwise convolution (with the
stride), squeeze-excitation (global pool, 1x1 conv to a quarter of the block's *input* width,
SiLU, 1x1 conv back, sigmoid, maps scaled), and a linear 1x1 projection; SiLU (x sigmoid(x),
"swish") after the other convolutions, batch norm after each. V2's "FusedMBConv" replaces the
expansion and the depthwise convolution by one dense k x k convolution (with the stride),
faster on accelerators at small widths, and has no squeeze-excitation. When the shape allows,
a block adds its input, and in training its residual branch is dropped per sample with the
stochastic-depth probability ``stochastic_depth_prob * i / n`` (block i of n counted over the
whole network, so 0 for the first block and just under ``stochastic_depth_prob`` for the
last; Huang et al. 2016), the kept ones scaled by 1/(1-p) (``nn.StochasticDepth``, "row").

B0 (Table 1 of the paper, 224x224 input; stage: MBConv expansion, kernel, stride, output
maps, repeats)::

    conv 3x3/2 32                        112x112
    MBConv1 3x3    16  x1                112x112
    MBConv6 3x3/2  24  x2                56x56
    MBConv6 5x5/2  40  x2                28x28
    MBConv6 3x3/2  80  x3                14x14
    MBConv6 5x5    112 x3                14x14
    MBConv6 5x5/2  192 x4                7x7
    MBConv6 3x3    320 x1                7x7
    conv 1x1 1280, global pool, dropout, fc     5,288,548 parameters

B1-B7 scale B0 by the paper's compound rule: every width x ``width_mult`` (rounded to a
multiple of 8), every stage's repeats x ``depth_mult`` (rounded up), and the resolution::

    model  width  depth  resolution  dropout  parameters   batch norm
    b0     1.0    1.0    224         0.2       5,288,548   eps 1e-5, momentum 0.1
    b1     1.0    1.1    240         0.2       7,794,184   eps 1e-5, momentum 0.1
    b2     1.1    1.2    288         0.3       9,109,994   eps 1e-5, momentum 0.1
    b3     1.2    1.4    300         0.3      12,233,232   eps 1e-5, momentum 0.1
    b4     1.4    1.8    380         0.4      19,341,616   eps 1e-5, momentum 0.1
    b5     1.6    2.2    456         0.4      30,389,784   eps 1e-3, momentum 0.01
    b6     1.8    2.6    528         0.5      43,040,704   eps 1e-3, momentum 0.01
    b7     2.0    3.1    600         0.5      66,347,960   eps 1e-3, momentum 0.01

(resolution: torchvision's evaluation crop, ``model.input_size``, the paper's but for b2's
260; b5-b7's batch-norm settings are torchvision's, those of the weights it ports for them.)
V2 (Table 4 of the V2 paper for S; torchvision's M and L), batch norm eps 1e-3 (momentum 0.1),
head 1280 wide. Both run on inputs down to 1x1 (a padded stride-2 convolution maps 1x1 to
1x1), although torchvision's weights' meta lists a minimum size of 33x33 for V2::

    v2_s: Fused1 3x3 24 x2, Fused4 3x3/2 48 x4, Fused4 3x3/2 64 x4, MBConv4 3x3/2 128 x6,
          MBConv6 3x3 160 x9, MBConv6 3x3/2 256 x15             21,458,488 parameters (384)
    v2_m: 7 stages, 57 blocks                                   54,139,356 parameters (480)
    v2_l: 7 stages, 79 blocks                                  118,515,272 parameters (480)

``norm_layer`` (any callable making the normalisation from a channel count) replaces the
variant's batch norm; stochastic depth and dropout are off in ``eval()``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from .. import nn
from ..autograd import Tensor
from ._blocks import Conv2dNormActivation, SqueezeExcitation, make_divisible

# ---------------------------------------------------------------------------------------
# stage settings


@dataclass
class _MBConvConfig:
    """One stage: ``num_layers`` blocks of kind ``block``; the first has ``stride`` and goes
    from ``input_channels`` to ``out_channels``, the others keep ``out_channels`` at stride 1."""

    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int
    block: Callable[..., nn.Module]

    @staticmethod
    def adjust_channels(channels: float, width_mult: float, min_value: int | None = None) -> int:
        return make_divisible(channels * width_mult, 8, min_value)


class MBConvConfig(_MBConvConfig):
    """An MBConv stage, widths x ``width_mult`` (multiples of 8), repeats x ``depth_mult``
    (rounded up); ``block`` defaults to :class:`MBConv`."""

    def __init__(
        self,
        expand_ratio: float,
        kernel: int,
        stride: int,
        input_channels: int,
        out_channels: int,
        num_layers: int,
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        block: Callable[..., nn.Module] | None = None,
    ) -> None:
        input_channels = self.adjust_channels(input_channels, width_mult)
        out_channels = self.adjust_channels(out_channels, width_mult)
        num_layers = self.adjust_depth(num_layers, depth_mult)
        super().__init__(
            expand_ratio, kernel, stride, input_channels, out_channels, num_layers, MBConv if block is None else block
        )

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        return int(math.ceil(num_layers * depth_mult))


class FusedMBConvConfig(_MBConvConfig):
    """A FusedMBConv stage (V2; no scaling); ``block`` defaults to :class:`FusedMBConv`."""

    def __init__(
        self,
        expand_ratio: float,
        kernel: int,
        stride: int,
        input_channels: int,
        out_channels: int,
        num_layers: int,
        block: Callable[..., nn.Module] | None = None,
    ) -> None:
        block = FusedMBConv if block is None else block
        super().__init__(expand_ratio, kernel, stride, input_channels, out_channels, num_layers, block)


# ---------------------------------------------------------------------------------------
# blocks


# torchvision passes SiLU(inplace=True) to its squeeze-excitation (printed so; ours computes
# out of place)
_SiLU = partial(nn.SiLU, inplace=True)


def _check_stride(name: str, stride: int) -> None:
    if not 1 <= stride <= 2:
        raise ValueError(f"{name}: illegal stride value, expected 1 or 2, got {stride}")


class MBConv(nn.Module):
    """1x1 expand (SiLU; left out at ratio 1) -> k x k depthwise (stride, SiLU) ->
    squeeze-excitation (to max(1, C_in // 4), SiLU, sigmoid) -> 1x1 linear projection + BN;
    then, when stride is 1 and the widths match, stochastic depth and the input added.
    (N, C_in, H, W) -> (N, C_out, H/stride, W/stride). Keys ``block.<i>.*`` as torchvision's."""

    def __init__(
        self,
        cnf: _MBConvConfig,
        stochastic_depth_prob: float,
        norm_layer: Callable[..., nn.Module],
        se_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        _check_stride("MBConv", cnf.stride)
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        se_layer = partial(SqueezeExcitation, scale_activation=nn.Sigmoid) if se_layer is None else se_layer
        act, bn = nn.SiLU, norm_layer
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers: list[nn.Module] = []
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, 1, norm_layer=bn, activation_layer=act))
        layers.append(
            Conv2dNormActivation(
                expanded, expanded, cnf.kernel, cnf.stride, groups=expanded, norm_layer=bn, activation_layer=act
            )
        )
        layers.append(se_layer(expanded, max(1, cnf.input_channels // 4), activation=_SiLU))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, 1, norm_layer=bn, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = nn.StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


class FusedMBConv(nn.Module):
    """k x k dense conv expanding (stride, SiLU) -> 1x1 linear projection + BN, or at ratio 1
    one k x k conv (stride, SiLU) straight to C_out; then, when stride is 1 and the widths
    match, stochastic depth and the input added. (N, C_in, H, W) -> (N, C_out, H/s, W/s)."""

    def __init__(self, cnf: _MBConvConfig, stochastic_depth_prob: float, norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()
        _check_stride("FusedMBConv", cnf.stride)
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        act, bn = nn.SiLU, norm_layer
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers = [
                Conv2dNormActivation(
                    cnf.input_channels, expanded, cnf.kernel, cnf.stride, norm_layer=bn, activation_layer=act
                ),
                Conv2dNormActivation(expanded, cnf.out_channels, 1, norm_layer=bn, activation_layer=None),
            ]
        else:
            layers = [
                Conv2dNormActivation(
                    cnf.input_channels, cnf.out_channels, cnf.kernel, cnf.stride, norm_layer=bn, activation_layer=act
                )
            ]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = nn.StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


# ---------------------------------------------------------------------------------------
# the network


class EfficientNet(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes). Arguments as torchvision's:
    ``inverted_residual_setting`` the stages (as :func:`efficientnet_config` returns),
    ``dropout`` before the classifier, ``stochastic_depth_prob`` the last block's drop rate
    (block i of n drops with ``stochastic_depth_prob * i / n``), ``norm_layer`` (default
    BatchNorm2d) makes every normalisation from its channel count, ``last_channel`` the head's
    width (default 4 x the last stage's). ``input_size`` is the native size (the constructors
    set their variant's)."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        inverted_residual_setting: Sequence[_MBConvConfig],
        dropout: float,
        stochastic_depth_prob: float = 0.2,
        num_classes: int = 1000,
        norm_layer: Callable[..., nn.Module] | None = None,
        last_channel: int | None = None,
    ) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("EfficientNet: the inverted_residual_setting should not be empty")
        if not (
            isinstance(inverted_residual_setting, Sequence)
            and all(isinstance(s, _MBConvConfig) for s in inverted_residual_setting)
        ):
            if isinstance(inverted_residual_setting, Sequence):
                kinds = "elements of type " + ", ".join(sorted({type(s).__name__ for s in inverted_residual_setting}))
            else:
                kinds = type(inverted_residual_setting).__name__
            raise TypeError(
                "EfficientNet: the inverted_residual_setting should be List[MBConvConfig] (MBConvConfig or "
                f"FusedMBConvConfig, as efficientnet_config returns), got {kinds}"
            )
        bn = nn.BatchNorm2d if norm_layer is None else norm_layer
        first = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [Conv2dNormActivation(3, first, 3, stride=2, norm_layer=bn, activation_layer=nn.SiLU)]
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # the stage's later blocks: its output width at stride 1
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, bn))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_in = inverted_residual_setting[-1].out_channels
        lastconv_out = 4 * lastconv_in if last_channel is None else last_channel
        layers.append(Conv2dNormActivation(lastconv_in, lastconv_out, 1, norm_layer=bn, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(lastconv_out, num_classes))
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


# ---------------------------------------------------------------------------------------
# the variants

# B0's stages (Table 1 of the paper): expansion, kernel, stride, input, output, repeats
B0_SETTING: list[tuple[int, int, int, int, int, int]] = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]
# V2's stages: fused?, expansion, kernel, stride, input, output, repeats
V2_SETTINGS: dict[str, list[tuple[bool, int, int, int, int, int, int]]] = {
    "s": [
        (True, 1, 3, 1, 24, 24, 2),
        (True, 4, 3, 2, 24, 48, 4),
        (True, 4, 3, 2, 48, 64, 4),
        (False, 4, 3, 2, 64, 128, 6),
        (False, 6, 3, 1, 128, 160, 9),
        (False, 6, 3, 2, 160, 256, 15),
    ],
    "m": [
        (True, 1, 3, 1, 24, 24, 3),
        (True, 4, 3, 2, 24, 48, 5),
        (True, 4, 3, 2, 48, 80, 5),
        (False, 4, 3, 2, 80, 160, 7),
        (False, 6, 3, 1, 160, 176, 14),
        (False, 6, 3, 2, 176, 304, 18),
        (False, 6, 3, 1, 304, 512, 5),
    ],
    "l": [
        (True, 1, 3, 1, 32, 32, 4),
        (True, 4, 3, 2, 32, 64, 7),
        (True, 4, 3, 2, 64, 96, 7),
        (False, 4, 3, 2, 96, 192, 10),
        (False, 6, 3, 1, 192, 224, 19),
        (False, 6, 3, 2, 224, 384, 25),
        (False, 6, 3, 1, 384, 640, 7),
    ],
}
# name -> (width_mult, depth_mult, resolution); V2 ignores the multipliers
VARIANTS: dict[str, tuple[float, float, int]] = {
    "efficientnet_b0": (1.0, 1.0, 224),
    "efficientnet_b1": (1.0, 1.1, 240),
    "efficientnet_b2": (1.1, 1.2, 288),
    "efficientnet_b3": (1.2, 1.4, 300),
    "efficientnet_b4": (1.4, 1.8, 380),
    "efficientnet_b5": (1.6, 2.2, 456),
    "efficientnet_b6": (1.8, 2.6, 528),
    "efficientnet_b7": (2.0, 3.1, 600),
    "efficientnet_v2_s": (1.0, 1.0, 384),
    "efficientnet_v2_m": (1.0, 1.0, 480),
    "efficientnet_v2_l": (1.0, 1.0, 480),
}


def efficientnet_config(
    arch: str, width_mult: float | None = None, depth_mult: float | None = None
) -> tuple[list[_MBConvConfig], int | None]:
    """The stages and the head width (None: 4 x the last stage's) of ``arch`` as torchvision
    builds them: "efficientnet_b*" scales B0 by ``width_mult`` and ``depth_mult`` (by default
    the named variant's, e.g. 2.0 and 3.1 for "efficientnet_b7"), "efficientnet_v2_s/m/l" are
    fixed (the multipliers are ignored, as torchvision's)."""
    if arch.startswith("efficientnet_b"):
        if width_mult is None or depth_mult is None:
            if arch not in VARIANTS:
                raise ValueError(f"EfficientNet: {arch} needs width_mult and depth_mult (B0-B7 have their own)")
            width_mult = VARIANTS[arch][0] if width_mult is None else width_mult
            depth_mult = VARIANTS[arch][1] if depth_mult is None else depth_mult
        bneck = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
        return [bneck(*row) for row in B0_SETTING], None
    for size in ("s", "m", "l"):
        if arch.startswith(f"efficientnet_v2_{size}"):
            return [(FusedMBConvConfig if fused else MBConvConfig)(*row) for fused, *row in V2_SETTINGS[size]], 1280
    raise ValueError(f"EfficientNet: unsupported model type {arch}")


def _build(
    arch: str,
    num_classes: int,
    dropout: float,
    stochastic_depth_prob: float,
    norm_layer: Callable[..., nn.Module] | None,
) -> EfficientNet:
    width, depth, resolution = VARIANTS[arch]
    setting, last_channel = efficientnet_config(arch, width, depth)
    if norm_layer is None:
        if arch.startswith("efficientnet_v2"):
            norm_layer = partial(nn.BatchNorm2d, eps=1e-3)
        elif arch in ("efficientnet_b5", "efficientnet_b6", "efficientnet_b7"):
            norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
    model = EfficientNet(
        setting,
        dropout,
        stochastic_depth_prob=stochastic_depth_prob,
        num_classes=num_classes,
        norm_layer=norm_layer,
        last_channel=last_channel,
    )
    model.input_size = (3, resolution, resolution)
    return model


def efficientnet_b0(
    num_classes: int = 1000,
    dropout: float = 0.2,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNet-B0 in torchvision's layout (5,288,548 parameters at 1000 classes)."""
    return _build("efficientnet_b0", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_b1(
    num_classes: int = 1000,
    dropout: float = 0.2,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNet-B1 in torchvision's layout (7,794,184 parameters at 1000 classes)."""
    return _build("efficientnet_b1", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_b2(
    num_classes: int = 1000,
    dropout: float = 0.3,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNet-B2 in torchvision's layout (9,109,994 parameters at 1000 classes)."""
    return _build("efficientnet_b2", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_b3(
    num_classes: int = 1000,
    dropout: float = 0.3,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNet-B3 in torchvision's layout (12,233,232 parameters at 1000 classes)."""
    return _build("efficientnet_b3", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_b4(
    num_classes: int = 1000,
    dropout: float = 0.4,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNet-B4 in torchvision's layout (19,341,616 parameters at 1000 classes)."""
    return _build("efficientnet_b4", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_b5(
    num_classes: int = 1000,
    dropout: float = 0.4,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNet-B5 in torchvision's layout (30,389,784 parameters at 1000 classes)."""
    return _build("efficientnet_b5", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_b6(
    num_classes: int = 1000,
    dropout: float = 0.5,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNet-B6 in torchvision's layout (43,040,704 parameters at 1000 classes)."""
    return _build("efficientnet_b6", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_b7(
    num_classes: int = 1000,
    dropout: float = 0.5,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNet-B7 in torchvision's layout (66,347,960 parameters at 1000 classes)."""
    return _build("efficientnet_b7", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_v2_s(
    num_classes: int = 1000,
    dropout: float = 0.2,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNetV2-S in torchvision's layout (21,458,488 parameters at 1000 classes)."""
    return _build("efficientnet_v2_s", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_v2_m(
    num_classes: int = 1000,
    dropout: float = 0.3,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNetV2-M in torchvision's layout (54,139,356 parameters at 1000 classes)."""
    return _build("efficientnet_v2_m", num_classes, dropout, stochastic_depth_prob, norm_layer)


def efficientnet_v2_l(
    num_classes: int = 1000,
    dropout: float = 0.4,
    stochastic_depth_prob: float = 0.2,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> EfficientNet:
    """EfficientNetV2-L in torchvision's layout (118,515,272 parameters at 1000 classes)."""
    return _build("efficientnet_v2_l", num_classes, dropout, stochastic_depth_prob, norm_layer)


__all__ = ["EfficientNet", "FusedMBConv", "FusedMBConvConfig", "MBConv", "MBConvConfig", "efficientnet_b0",
           "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
           "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
           "efficientnet_config"]  # fmt: skip
