"""Video ResNets (Tran, Wang, Torresani, Ray, LeCun & Paluri, "A closer look at
spatiotemporal convolutions for action recognition", CVPR 2018) in torchvision's layout
(``torchvision.models.video.resnet``: class names, state-dict keys and printout equal, so its
Kinetics-400 weights load).

Input: a clip (N, 3, T, H, W) (channels, then time); output logits (N, num_classes), 400 by
default (Kinetics-400). torchvision's weights were trained on 16 frames of 112x112. All three
networks are ResNet-18's layout (BasicBlock x [2, 2, 2, 2], 64-128-256-512 maps, global
average pool over T, H and W, fc) and differ in the convolutions that see time::

    model         stem                               layer1-4 convolutions    parameters
    r3d_18        3x7x7 /(1,2,2)  3 -> 64            3x3x3 everywhere          33,371,472
    mc3_18        3x7x7 /(1,2,2)  3 -> 64            3x3x3 in layer1, then     11,695,440
                                                     1x3x3 (2-d) in layer2-4
    r2plus1d_18   1x7x7 /(1,2,2)  3 -> 45, 3x1x1 -> 64  (2+1)-d: 1x3x3 to M      31,505,325
                                                     maps, BN, ReLU, 3x1x1

- R3D: every convolution is 3-d (3x3x3), the stride 2 of layer2-4 applies to T, H and W.
- MCx ("mixed convolutions"): 3-d convolutions only in the early layers (layer1 here), 2-d
  ones (kernel 1x3x3, stride (1, 2, 2)) after, so time is kept at full length and is
  collapsed only by the final average pool. The paper's finding: motion is best modelled
  early. Fewest parameters, as the later, wide layers have 3x smaller kernels.
- R(2+1)D: each 3x3x3 convolution of N_i -> N_o maps is split into a spatial 1x3x3 one to M
  maps, then batch norm and ReLU, then a temporal 3x1x1 one to N_o maps, where
  M = floor(27 N_i N_o / (9 N_i + 3 N_o)) keeps the parameter count about that of the 3-d
  convolution (``midplanes``). Twice the nonlinearities; easier to optimise.

The stride of a block (2 in the first block of layer2-4) sits on its first convolution; the
shortcut (1x1x1 conv + BN) strides by ``conv_builder.get_downsample_stride(stride)``: (s, s, s),
but (1, s, s) for the 2-d convolution. Cost on a 16x112x112 clip (torchvision's weights' meta,
in GFLOPS): r3d_18 40.7, mc3_18 43.3 (its later layers keep all 16 frames), r2plus1d_18 40.5.

Differences from torchvision: the constructors take ``num_classes`` (and VideoResNet's other
arguments as keywords) but no ``weights``/``progress`` (load a state dict instead, as for every
mc.models constructor); ``zero_init_residual`` zeros the last batch norm of each block
(torchvision's refers to a ``bn3`` these blocks do not have, so it raises for Bottleneck and
does nothing for BasicBlock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ... import nn
from ...autograd import Tensor


class Conv3DSimple(nn.Conv3d):
    """3x3x3 convolution, stride s on T, H and W, padding 1, no bias. ``midplanes`` is unused
    (the builders share one signature)."""

    def __init__(
        self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1, padding: int = 1
    ) -> None:
        super().__init__(
            in_channels=in_planes,
            out_channels=out_planes,
            kernel_size=(3, 3, 3),
            stride=stride,
            padding=padding,
            bias=False,
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


class Conv2Plus1D(nn.Sequential):
    """(2+1)-d convolution: 1x3x3 (stride (1, s, s)) to ``midplanes`` maps, BatchNorm3d, ReLU,
    then 3x1x1 (stride (s, 1, 1)) to ``out_planes``; children ``0``-``3``."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1, padding: int = 1) -> None:
        super().__init__(
            nn.Conv3d(
                in_planes,
                midplanes,
                kernel_size=(1, 3, 3),
                stride=(1, stride, stride),
                padding=(0, padding, padding),
                bias=False,
            ),
            nn.BatchNorm3d(midplanes),
            nn.ReLU(inplace=True),
            nn.Conv3d(
                midplanes, out_planes, kernel_size=(3, 1, 1), stride=(stride, 1, 1), padding=(padding, 0, 0), bias=False
            ),
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


class Conv3DNoTemporal(nn.Conv3d):
    """2-d convolution of each frame: kernel 1x3x3, stride (1, s, s), padding (0, 1, 1), no
    bias (MCx's later layers). ``midplanes`` is unused."""

    def __init__(
        self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1, padding: int = 1
    ) -> None:
        super().__init__(
            in_channels=in_planes,
            out_channels=out_planes,
            kernel_size=(1, 3, 3),
            stride=(1, stride, stride),
            padding=(0, padding, padding),
            bias=False,
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return 1, stride, stride


ConvBuilder = type[Conv3DSimple | Conv3DNoTemporal | Conv2Plus1D]


def _midplanes(inplanes: int, planes: int) -> int:
    """R(2+1)D's M: the width at which a (2+1)-d convolution has a 3x3x3 one's parameters."""
    return (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)


class BasicBlock(nn.Module):
    """relu(conv2(conv1(x)) + shortcut(x)), conv1 = [conv, BN, ReLU] (with the stride),
    conv2 = [conv, BN]; ``conv_builder`` makes the convolutions. inplanes -> planes."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        conv_builder: Callable[..., nn.Module],
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        midplanes = _midplanes(inplanes, planes)
        super().__init__()
        self.conv1 = nn.Sequential(
            conv_builder(inplanes, planes, midplanes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = nn.Sequential(conv_builder(planes, planes, midplanes), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + residual)


class Bottleneck(nn.Module):
    """1x1x1 reduce to ``planes``, ``conv_builder``'s convolution (with the stride), 1x1x1
    expand to 4 x planes, each followed by BN (and ReLU but the last), + shortcut, ReLU.
    (No torchvision constructor uses it; VideoResNet accepts it.)"""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        conv_builder: Callable[..., nn.Module],
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        midplanes = _midplanes(inplanes, planes)
        self.conv1 = nn.Sequential(
            nn.Conv3d(inplanes, planes, kernel_size=1, bias=False), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = nn.Sequential(
            conv_builder(planes, planes, midplanes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv3 = nn.Sequential(
            nn.Conv3d(planes, planes * self.expansion, kernel_size=1, bias=False),
            nn.BatchNorm3d(planes * self.expansion),
        )
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + residual)


class BasicStem(nn.Sequential):
    """The default conv-batchnorm-relu stem"""

    def __init__(self) -> None:
        super().__init__(
            nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )


class R2Plus1dStem(nn.Sequential):
    """R(2+1)D stem is different than the default one as it uses separated 3D convolution"""

    def __init__(self) -> None:
        super().__init__(
            nn.Conv3d(3, 45, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(45),
            nn.ReLU(inplace=True),
            nn.Conv3d(45, 64, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )


class VideoResNet(nn.Module):
    """(N, 3, T, H, W) -> logits (N, num_classes). ``block``: BasicBlock or Bottleneck;
    ``conv_makers``: the convolution class of each of layer1-4; ``layers``: blocks per stage;
    ``stem``: a callable making the stem. Native clip 16x112x112; the spatial stride is 16
    (the stem's 2, then 2 in layer2-4), the temporal 8 for Conv3DSimple and Conv2Plus1D."""

    input_size = (3, 16, 112, 112)

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        conv_makers: Sequence[ConvBuilder],
        layers: list[int],
        stem: Callable[..., nn.Module],
        num_classes: int = 400,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self.stem = stem()
        self.layer1 = self._make_layer(block, conv_makers[0], 64, layers[0], stride=1)
        self.layer2 = self._make_layer(block, conv_makers[1], 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, conv_makers[2], 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, conv_makers[3], 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:  # each block starts as the identity (Goyal et al. 2017)
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.conv3[1].weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.conv2[1].weight, 0)

    def _make_layer(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        conv_builder: ConvBuilder,
        planes: int,
        blocks: int,
        stride: int = 1,
    ) -> nn.Sequential:
        """``blocks`` blocks; the first one strides and has the projection shortcut."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            ds_stride = conv_builder.get_downsample_stride(stride)
            downsample = nn.Sequential(
                nn.Conv3d(self.inplanes, planes * block.expansion, kernel_size=1, stride=ds_stride, bias=False),
                nn.BatchNorm3d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, conv_builder, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, conv_builder) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 5:
            raise ValueError(f"VideoResNet: expected a clip (N, C, T, H, W), got shape {tuple(x.shape)}")
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _video_resnet(
    block: type[BasicBlock] | type[Bottleneck],
    conv_makers: Sequence[ConvBuilder],
    layers: list[int],
    stem: Callable[..., nn.Module],
    num_classes: int,
    **kwargs: Any,
) -> VideoResNet:
    return VideoResNet(block, conv_makers, layers, stem, num_classes=num_classes, **kwargs)


def r3d_18(num_classes: int = 400, **kwargs: Any) -> VideoResNet:
    """R3D-18: 3x3x3 convolutions throughout (33,371,472 parameters at 400 classes).
    ``kwargs``: VideoResNet's ``zero_init_residual``."""
    return _video_resnet(BasicBlock, [Conv3DSimple] * 4, [2, 2, 2, 2], BasicStem, num_classes, **kwargs)


def mc3_18(num_classes: int = 400, **kwargs: Any) -> VideoResNet:
    """MC3-18: 3x3x3 convolutions in layer1, 1x3x3 in layer2-4 (11,695,440 parameters)."""
    conv_makers = [Conv3DSimple] + [Conv3DNoTemporal] * 3
    return _video_resnet(BasicBlock, conv_makers, [2, 2, 2, 2], BasicStem, num_classes, **kwargs)


def r2plus1d_18(num_classes: int = 400, **kwargs: Any) -> VideoResNet:
    """R(2+1)D-18: every 3x3x3 convolution split into 1x3x3 + 3x1x1 (31,505,325 parameters)."""
    return _video_resnet(BasicBlock, [Conv2Plus1D] * 4, [2, 2, 2, 2], R2Plus1dStem, num_classes, **kwargs)


__all__ = [
    "BasicBlock", "BasicStem", "Bottleneck", "Conv2Plus1D", "Conv3DNoTemporal", "Conv3DSimple", "R2Plus1dStem",
    "VideoResNet", "mc3_18", "r2plus1d_18", "r3d_18",
]  # fmt: skip
