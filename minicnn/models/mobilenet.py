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

v3 (Howard et al., "Searching for MobileNetV3", ICCV 2019; torchvision's layout, state-dict
keys equal torchvision's) keeps v2's inverted residual and takes its per-block settings from
an architecture search: 3x3 or 5x5 depthwise kernels, expansion widths that vary block by
block, a squeeze-and-excitation unit in some blocks (Hu et al. 2018: global average pool,
1x1 conv to a quarter of the maps, ReLU, 1x1 conv back, hard sigmoid, and the maps scaled
by the result), and the hard swish x relu6(x + 3) / 6 in the deeper half (ReLU in the
shallower). The head pools first and then applies a 1x1 "conv" (a linear layer) to 1280
(large) or 1024 (small) features, hard swish, dropout, the classifier. Batch norm with eps
0.001, momentum 0.01 (torchvision's ``norm_layer`` replaces it: any callable making the
normalisation from a channel count; ``block`` replaces the inverted residual: a callable
``block(cnf, norm_layer)``). Tables 1 and 2 of the paper::

    large: 15 blocks, conv 3x3/2 16 ... 960 -> 1280 -> classes    5,483,032 parameters
    small: 11 blocks, conv 3x3/2 16 ... 576 -> 1024 -> classes    2,542,856 parameters
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from .. import nn
from ..autograd import Tensor
from ..nn import functional as F
from ._blocks import Conv2dNormActivation, SqueezeExcitation, init_torchvision_style, make_divisible

# ---------------------------------------------------------------------------------------
# MobileNet v1


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv (with the stride) + BN + ReLU, then 1x1 pointwise conv + BN + ReLU.
    (N, C_in, H, W) -> (N, C_out, H/stride, W/stride)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.depthwise = Conv2dNormActivation(in_channels, in_channels, 3, stride, groups=in_channels)
        self.pointwise = Conv2dNormActivation(in_channels, out_channels, 1)

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

        layers: list[nn.Module] = [Conv2dNormActivation(3, width(32), 3, stride=2)]
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
            layers.append(Conv2dNormActivation(inp, hidden, 1, activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden, hidden, 3, stride, groups=hidden, activation_layer=nn.ReLU6),
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
        features: list[nn.Module] = [Conv2dNormActivation(3, input_channel, 3, stride=2, activation_layer=nn.ReLU6)]
        for t, c, n, s in V2_SETTING:
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, 1, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        init_torchvision_style(self, linear_std=0.01)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), (1, 1)).flatten(1))


# ---------------------------------------------------------------------------------------
# MobileNet v3


class BneckConfig(NamedTuple):
    """One row of Tables 1/2 of the v3 paper (widths already scaled by width_mult)."""

    input_channels: int
    kernel: int
    expanded_channels: int
    out_channels: int
    use_se: bool
    use_hs: bool  # hard swish, else ReLU
    stride: int
    dilation: int


class InvertedResidualV3(nn.Module):
    """1x1 expand (if wider) -> k x k depthwise -> [squeeze-excitation] -> 1x1 linear
    projection, activation ReLU or hard swish; adds the input when stride is 1 and the widths
    match. Keys ``block.<i>.*`` as torchvision's; ``norm_layer`` makes each normalisation
    from its channel count."""

    def __init__(self, cnf: BneckConfig, norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()
        bn = norm_layer
        if not 1 <= cnf.stride <= 2:
            raise ValueError(f"InvertedResidualV3: stride must be 1 or 2, got {cnf.stride}")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        act = nn.Hardswish if cnf.use_hs else nn.ReLU
        exp = cnf.expanded_channels
        layers: list[nn.Module] = []
        if exp != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, exp, 1, norm_layer=bn, activation_layer=act))
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(
            Conv2dNormActivation(
                exp, exp, cnf.kernel, stride, groups=exp, norm_layer=bn, activation_layer=act, dilation=cnf.dilation
            )
        )
        if cnf.use_se:
            se = SqueezeExcitation(exp, make_divisible(exp // 4, 8), scale_activation=nn.Hardsigmoid)
            layers.append(se)
        layers.append(Conv2dNormActivation(exp, cnf.out_channels, 1, norm_layer=bn, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x) + x if self.use_res_connect else self.block(x)

    def __repr__(self) -> str:
        # printed under torchvision's name (its v3 block is an InvertedResidual too)
        return "InvertedResidual" + super().__repr__()[len(type(self).__name__) :]


# Tables 1 and 2: input, kernel, expanded, output, SE, hard swish, stride. At 224x224 the stem's
# conv 3x3/2 gives 112x112 and each stride 2 halves it: large 112 -> 56 -> 28 -> 14 -> 7, small
# 56 -> 28 -> 14 -> 7; then 1x1 conv to 6x the last width, global pool, the head.
V3_LARGE: list[tuple[int, int, int, int, bool, bool, int]] = [
    (16, 3, 16, 16, False, False, 1),
    (16, 3, 64, 24, False, False, 2),
    (24, 3, 72, 24, False, False, 1),
    (24, 5, 72, 40, True, False, 2),
    (40, 5, 120, 40, True, False, 1),
    (40, 5, 120, 40, True, False, 1),
    (40, 3, 240, 80, False, True, 2),
    (80, 3, 200, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1),
    (80, 3, 184, 80, False, True, 1),
    (80, 3, 480, 112, True, True, 1),
    (112, 3, 672, 112, True, True, 1),
    (112, 5, 672, 160, True, True, 2),  # the last three: the "tail"
    (160, 5, 960, 160, True, True, 1),
    (160, 5, 960, 160, True, True, 1),
]
V3_SMALL: list[tuple[int, int, int, int, bool, bool, int]] = [
    (16, 3, 16, 16, True, False, 2),
    (16, 3, 72, 24, False, False, 2),
    (24, 3, 88, 24, False, False, 1),
    (24, 5, 96, 40, True, True, 2),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 120, 48, True, True, 1),
    (48, 5, 144, 48, True, True, 1),
    (48, 5, 288, 96, True, True, 2),  # the last three: the "tail"
    (96, 5, 576, 96, True, True, 1),
    (96, 5, 576, 96, True, True, 1),
]


def mobilenet_v3_config(
    arch: str, width_mult: float = 1.0, reduced_tail: bool = False, dilated: bool = False
) -> tuple[list[BneckConfig], int]:
    """The blocks and the head width of ``arch`` ("large" or "small") as torchvision builds
    them: widths x width_mult rounded to multiples of 8; ``reduced_tail`` halves the widths of
    the last three blocks and of the head, ``dilated`` gives them dilation 2 instead of stride 2."""
    if arch not in ("large", "small"):
        raise ValueError(f"MobileNetV3: arch must be 'large' or 'small', got {arch!r}")
    table, last = (V3_LARGE, 1280) if arch == "large" else (V3_SMALL, 1024)
    divider = 2 if reduced_tail else 1
    tail = len(table) - 3

    def adjust(c: int) -> int:
        return make_divisible(c * width_mult, 8)

    setting = []
    for i, (cin, k, exp, cout, se, hs, s) in enumerate(table):
        if i > tail:
            cin, exp = cin // divider, exp // divider
        if i >= tail:  # the first tail block reduces only its output
            cout //= divider
        dilation = 2 if dilated and i >= tail else 1
        setting.append(BneckConfig(adjust(cin), k, adjust(exp), adjust(cout), se, hs, s, dilation))
    return setting, adjust(last // divider)


class MobileNetV3(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224.

    ``inverted_residual_setting`` and ``last_channel`` as :func:`mobilenet_v3_config` returns;
    ``block`` (default :class:`InvertedResidualV3`) is called as ``block(cnf, norm_layer)`` for
    each setting; ``norm_layer`` (default BatchNorm2d with eps 0.001, momentum 0.01) makes every
    normalisation from its channel count. Arguments as torchvision's."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        inverted_residual_setting: list[BneckConfig],
        last_channel: int,
        num_classes: int = 1000,
        block: Callable[..., nn.Module] | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("MobileNetV3: inverted_residual_setting should not be empty")
        if not all(isinstance(cnf, BneckConfig) for cnf in inverted_residual_setting):
            kinds = sorted({type(cnf).__name__ for cnf in inverted_residual_setting})
            raise TypeError(
                "MobileNetV3: inverted_residual_setting should be a list of BneckConfig (as mobilenet_v3_config "
                f"returns), got elements of type {', '.join(kinds)}"
            )
        block = InvertedResidualV3 if block is None else block
        bn = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01) if norm_layer is None else norm_layer
        first = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [
            Conv2dNormActivation(3, first, 3, stride=2, norm_layer=bn, activation_layer=nn.Hardswish)
        ]
        layers += [block(cnf, bn) for cnf in inverted_residual_setting]
        lastconv_in = inverted_residual_setting[-1].out_channels
        lastconv_out = 6 * lastconv_in
        layers.append(Conv2dNormActivation(lastconv_in, lastconv_out, 1, norm_layer=bn, activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(lastconv_out, last_channel),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(last_channel, num_classes),
        )
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def mobilenet_v1(num_classes: int = 1000, width_mult: float = 1.0, **kwargs: Any) -> MobileNetV1:
    """MobileNet v1 (4,231,976 parameters at width 1.0 and 1000 classes)."""
    return MobileNetV1(num_classes=num_classes, width_mult=width_mult, **kwargs)


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0, **kwargs: Any) -> MobileNetV2:
    """MobileNet v2 in torchvision's layout (3,504,872 parameters at width 1.0)."""
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult, **kwargs)


def mobilenet_v3_large(
    num_classes: int = 1000,
    width_mult: float = 1.0,
    reduced_tail: bool = False,
    dilated: bool = False,
    dropout: float = 0.2,
    block: Callable[..., nn.Module] | None = None,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> MobileNetV3:
    """MobileNet v3 large in torchvision's layout (5,483,032 parameters at width 1.0);
    ``block`` and ``norm_layer`` as :class:`MobileNetV3`'s."""
    setting, last = mobilenet_v3_config("large", width_mult, reduced_tail, dilated)
    return MobileNetV3(setting, last, num_classes=num_classes, block=block, norm_layer=norm_layer, dropout=dropout)


def mobilenet_v3_small(
    num_classes: int = 1000,
    width_mult: float = 1.0,
    reduced_tail: bool = False,
    dilated: bool = False,
    dropout: float = 0.2,
    block: Callable[..., nn.Module] | None = None,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> MobileNetV3:
    """MobileNet v3 small in torchvision's layout (2,542,856 parameters at width 1.0);
    ``block`` and ``norm_layer`` as :class:`MobileNetV3`'s."""
    setting, last = mobilenet_v3_config("small", width_mult, reduced_tail, dilated)
    return MobileNetV3(setting, last, num_classes=num_classes, block=block, norm_layer=norm_layer, dropout=dropout)


__all__ = ["MobileNetV1", "MobileNetV2", "MobileNetV3", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large",
           "mobilenet_v3_small"]  # fmt: skip
