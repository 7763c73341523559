"""ResNet (He, Zhang, Ren & Sun, "Deep residual learning for image recognition", CVPR
2016), Table 1 of the paper, in torchvision's layout (state-dict keys equal torchvision's).

Each block learns a residual F(x) and outputs relu(F(x) + shortcut(x)): when F is near zero
the block is near the identity, so a deeper network is never harder to fit than a
shallower one and the gradient reaches early layers through the identity paths::

    stage    output    18            34            50               101              152
    conv1    112x112   7x7/2 64, then 3x3/2 max pool
    layer1   56x56     [3x3 64]x2 x2  ... x3       [1x1 64, 3x3 64, 1x1 256] x3  x3    x3
    layer2   28x28     [3x3 128]x2 x2 ... x4       [1x1 128, 3x3 128, 1x1 512] x4 x4   x8
    layer3   14x14     [3x3 256]x2 x2 ... x6       [... 1024] x6                  x23   x36
    layer4   7x7       [3x3 512]x2 x2 ... x3       [... 2048] x3                  x3    x3
             1x1       global average pool, fc

BasicBlock (two 3x3 convolutions) builds ResNet-18/34, Bottleneck (1x1 reduce, 3x3, 1x1
expand by 4) ResNet-50/101/152. Like torchvision ("ResNet v1.5") the stride of a
downsampling bottleneck sits on its 3x3 convolution. When a shortcut must change the
shape (stride 2 or more channels) the paper offers two options: "B" projects with a 1x1
convolution + batch norm (torchvision's, the default), "A" keeps the identity, subsampled
by the stride and padded with zero channels, and adds no parameters.

Two variants change only the bottleneck's 3x3 convolution, the one that sees space
(torchvision's ``groups`` and ``width_per_group``; its width is
``planes * width_per_group / 64 * groups``, the 1x1 convolutions around it follow):

- ResNeXt (Xie, Girshick, Dollar, Tu & He, "Aggregated residual transformations for deep
  neural networks", CVPR 2017, Table 1): the 3x3 convolution is split into ``groups``
  independent paths ("cardinality" C) of ``width_per_group`` maps each (d): ResNeXt-50
  (32x4d) has 32 paths of 4 maps in layer1, a 128-wide grouped 3x3 where ResNet-50 has a
  64-wide dense one, at about the same cost (a grouped convolution costs 1/C of a dense one).
  The paper's finding: adding paths buys more accuracy than adding depth or width at the
  same cost.
- Wide ResNet (Zagoruyko & Komodakis, "Wide residual networks", BMVC 2016), in torchvision's
  form: the bottleneck's inner width doubled (``width_per_group=128``), the outer 4x
  expansion unchanged: wide_resnet50_2's layer4 bottlenecks are 1,024 wide inside where
  ResNet-50's are 512.

    model               layers         groups x width   parameters
    resnext50_32x4d     [3, 4, 6, 3]   32 x 4           25,028,904
    resnext101_32x8d    [3, 4, 23, 3]  32 x 8           88,791,336
    resnext101_64x4d    [3, 4, 23, 3]  64 x 4           83,455,272
    wide_resnet50_2     [3, 4, 6, 3]    1 x 128         68,883,240
    wide_resnet101_2    [3, 4, 23, 3]   1 x 128        126,886,696

Two more of torchvision's options: ``replace_stride_with_dilation`` (three bools, for
layer2-4) keeps a stage at its input's resolution (as segmentation backbones do, e.g.
DeepLab's output stride 8 with ``[False, True, True]``): the stage's stride-2 becomes
stride 1, and from then on every 3x3 convolution is dilated by the product of the strides
left out, so its receptive field grows as before (Yu & Koltun 2016; Chen et al. 2017). The
first block of such a stage still uses the previous dilation. Only the bottleneck supports
it (BasicBlock raises NotImplementedError, as torchvision's). ``norm_layer`` builds every
normalisation layer from its channel count (default ``nn.BatchNorm2d``), e.g.
``functools.partial(nn.BatchNorm2d, eps=1e-3)`` or ``lambda c: nn.GroupNorm(32, c)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import nn
from ..autograd import Tensor
from ..nn import functional as F
from ._blocks import init_torchvision_style


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution with "same" padding (= dilation), no bias."""
    return nn.Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A: identity subsampled by ``stride`` with zero channels appended.
    (N, C_in, H, W) -> (N, C_out, ceil(H/stride), ceil(W/stride)); no parameters."""

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.in_planes, self.out_planes, self.stride = in_planes, out_planes, stride

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_planes - self.in_planes
        return F.pad(x, (0, 0, 0, 0, 0, extra)) if extra > 0 else x

    def extra_repr(self) -> str:
        return f"{self.in_planes}, {self.out_planes}, stride={self.stride}"


def make_shortcut(
    kind: str, in_planes: int, out_planes: int, stride: int, norm_layer: Callable[..., nn.Module] | None = None
) -> nn.Module | None:
    """The shortcut of a block whose output shape differs from its input (None if not);
    ``norm_layer`` (default BatchNorm2d) makes option B's normalisation."""
    if stride == 1 and in_planes == out_planes:
        return None
    if kind == "B":
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        return nn.Sequential(conv1x1(in_planes, out_planes, stride), norm_layer(out_planes))
    if kind == "A":
        return ZeroPadShortcut(in_planes, out_planes, stride)
    raise ValueError(f"ResNet: shortcut must be 'A' or 'B', got {kind!r}")


class BasicBlock(nn.Module):
    """relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x)); planes -> planes."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock only supports groups=1 and base_width=64, got {groups} and {base_width}")
        if dilation > 1:
            raise NotImplementedError(f"Dilation > 1 not supported in BasicBlock, got dilation={dilation}")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)  # after, as torchvision (hook order)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce to ``width``, 3x3 (with the stride and dilation, in ``groups`` groups), 1x1
    expand to 4 x planes, + shortcut; width = planes * base_width / 64 * groups (= planes for
    ResNet)."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)  # after, as torchvision (hook order)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224, any H, W >= 32 works.

    Arguments as torchvision's ``ResNet`` (``replace_stride_with_dilation``: three bools for
    layer2-4, ``norm_layer``: channels -> normalisation module, default BatchNorm2d), plus
    ``shortcut`` ("A" or "B", the paper's options) in the fourth place."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        num_classes: int = 1000,
        shortcut: str = "B",
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: list[bool] | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if shortcut not in ("A", "B"):
            raise ValueError(f"ResNet: shortcut must be 'A' or 'B', got {shortcut!r}")
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                f"replace_stride_with_dilation should be None or a 3-element tuple, got {replace_stride_with_dilation}"
            )
        self._norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        self.shortcut = shortcut
        self.groups, self.base_width = groups, width_per_group
        self.inplanes = 64
        self.dilation = 1
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        dilate = replace_stride_with_dilation
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=dilate[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=dilate[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=dilate[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_torchvision_style(self, linear_std=None)
        if zero_init_residual:  # each block starts as the identity (Goyal et al. 2017)
            for m in self.modules():
                if isinstance(m, Bottleneck) and getattr(m.bn3, "weight", None) is not None:
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock) and getattr(m.bn2, "weight", None) is not None:
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        planes: int,
        blocks: int,
        stride: int = 1,
        dilate: bool = False,
    ) -> nn.Sequential:
        """``blocks`` blocks; the first one strides (or, with ``dilate``, keeps the resolution
        and the later blocks dilate by the stride left out) and has the shortcut."""
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        out = planes * block.expansion
        shape = {"groups": self.groups, "base_width": self.base_width, "norm_layer": self._norm_layer}
        shortcut = make_shortcut(self.shortcut, self.inplanes, out, stride, self._norm_layer)
        layers = [block(self.inplanes, planes, stride, shortcut, dilation=previous_dilation, **shape)]
        self.inplanes = out
        layers += [block(self.inplanes, planes, dilation=self.dilation, **shape) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _resnet(block: Any, layers: list[int], num_classes: int, shortcut: str, **kwargs: Any) -> ResNet:
    return ResNet(block, layers, num_classes=num_classes, shortcut=shortcut, **kwargs)


def _fixed(kwargs: dict[str, Any], **values: Any) -> dict[str, Any]:
    """kwargs with the variant's own settings: one passed again with the same value is fine,
    with another a ValueError (torchvision's ``_ovewrite_named_param``)."""
    for name, value in values.items():
        if name in kwargs and kwargs[name] != value:
            raise ValueError(f"The parameter '{name}' expected value {value} but got {kwargs[name]} instead.")
    return {**kwargs, **values}


def resnet18(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """ResNet-18: BasicBlock x [2, 2, 2, 2] (11,689,512 parameters with shortcut B)."""
    return _resnet(BasicBlock, [2, 2, 2, 2], num_classes, shortcut, **kwargs)


def resnet34(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlock x [3, 4, 6, 3] (21,797,672 parameters with shortcut B)."""
    return _resnet(BasicBlock, [3, 4, 6, 3], num_classes, shortcut, **kwargs)


def resnet50(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """ResNet-50: Bottleneck x [3, 4, 6, 3] (25,557,032 parameters with shortcut B)."""
    return _resnet(Bottleneck, [3, 4, 6, 3], num_classes, shortcut, **kwargs)


def resnet101(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """ResNet-101: Bottleneck x [3, 4, 23, 3] (44,549,160 parameters with shortcut B)."""
    return _resnet(Bottleneck, [3, 4, 23, 3], num_classes, shortcut, **kwargs)


def resnet152(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """ResNet-152: Bottleneck x [3, 8, 36, 3] (60,192,808 parameters with shortcut B)."""
    return _resnet(Bottleneck, [3, 8, 36, 3], num_classes, shortcut, **kwargs)


def resnext50_32x4d(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """ResNeXt-50 (32x4d): Bottleneck x [3, 4, 6, 3], 32 groups of 4 (25,028,904 parameters)."""
    return _resnet(Bottleneck, [3, 4, 6, 3], num_classes, shortcut, **_fixed(kwargs, groups=32, width_per_group=4))


def resnext101_32x8d(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """ResNeXt-101 (32x8d): Bottleneck x [3, 4, 23, 3], 32 groups of 8 (88,791,336 parameters)."""
    return _resnet(Bottleneck, [3, 4, 23, 3], num_classes, shortcut, **_fixed(kwargs, groups=32, width_per_group=8))


def resnext101_64x4d(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """ResNeXt-101 (64x4d): Bottleneck x [3, 4, 23, 3], 64 groups of 4 (83,455,272 parameters)."""
    return _resnet(Bottleneck, [3, 4, 23, 3], num_classes, shortcut, **_fixed(kwargs, groups=64, width_per_group=4))


def wide_resnet50_2(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide (68,883,240 parameters)."""
    return _resnet(Bottleneck, [3, 4, 6, 3], num_classes, shortcut, **_fixed(kwargs, width_per_group=128))


def wide_resnet101_2(num_classes: int = 1000, shortcut: str = "B", **kwargs: Any) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide (126,886,696 parameters)."""
    return _resnet(Bottleneck, [3, 4, 23, 3], num_classes, shortcut, **_fixed(kwargs, width_per_group=128))


__all__ = [
    "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
]  # fmt: skip
