"""S3D (Xie, Sun, Huang, Tu & Murphy, "Rethinking spatiotemporal feature learning:
speed-accuracy trade-offs in video classification", ECCV 2018) in torchvision's layout
(``torchvision.models.video.s3d``: names, state-dict keys and printout equal, so its
Kinetics-400 weights load).

S3D is Inception v1 (GoogLeNet) inflated to 3-d with every 3x3 convolution made "separable"
in time: a 1xkxk spatial convolution, BN, ReLU, then a kx1x1 temporal one, BN, ReLU
(:class:`TemporalSeparableConv`). Each Inception block (:class:`SepInceptionBlock3D`) has
four branches concatenated on channels: 1x1x1; 1x1x1 then separable 3x3x3; the same with other
widths; 3x3x3 max pool then 1x1x1. Batch norm has eps 1e-3 and momentum 1e-3 by default::

    features (N, 3, T, H, W)                                   output (T=64, H=W=224)
    separable 7x7x7 /2 -> 64, max pool 1x3x3 /(1,2,2)          64 x 32 x 56 x 56
    1x1x1 64, separable 3x3x3 -> 192, max pool 1x3x3 /(1,2,2)  192 x 32 x 28 x 28
    Inception 3b, 3c; max pool 3x3x3 /2                        480 x 16 x 14 x 14
    Inception 4b-4f; max pool 2x2x2 /2                         832 x 8 x 7 x 7
    Inception 5b, 5c                                           1024 x 8 x 7 x 7
    avgpool 2x7x7 /1, dropout, 1x1x1 conv (bias) -> classes, mean over T', H', W'

The average pool's 2x7x7 window needs at least 2 frames and 7x7 after the features (stride 8
in time, 32 in space, with rounding): clips of at least 13 frames and 209x209 (torchvision's
weights' meta: 14 frames, 224x224). 8,320,048 parameters at 400 classes; 17.98 GFLOPS (torchvision's
weights' meta).

Differences from torchvision: the constructor takes ``num_classes`` and S3D's other
arguments, no ``weights``/``progress``. As torchvision's, S3D leaves every layer at its
default initialisation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ... import nn
from ...autograd import Tensor
from ...ops import cat
from .._blocks import Conv3dNormActivation


class TemporalSeparableConv(nn.Sequential):
    """[1xkxk conv, stride (1, s, s), BN, ReLU] then [kx1x1 conv, stride (s, 1, 1), BN, ReLU];
    children ``0`` and ``1`` (Conv3dNormActivation). (N, C_in, T, H, W) -> (N, C_out, T', H', W')."""

    def __init__(
        self,
        in_planes: int,
        out_planes: int,
        kernel_size: int,
        stride: int,
        padding: int,
        norm_layer: Callable[..., nn.Module],
    ) -> None:
        super().__init__(
            Conv3dNormActivation(
                in_planes,
                out_planes,
                kernel_size=(1, kernel_size, kernel_size),
                stride=(1, stride, stride),
                padding=(0, padding, padding),
                bias=False,
                norm_layer=norm_layer,
            ),
            Conv3dNormActivation(
                out_planes,
                out_planes,
                kernel_size=(kernel_size, 1, 1),
                stride=(stride, 1, 1),
                padding=(padding, 0, 0),
                bias=False,
                norm_layer=norm_layer,
            ),
        )


class SepInceptionBlock3D(nn.Module):
    """Four branches, concatenated: b0_out + b1_out + b2_out + b3_out channels, T, H and W
    kept. branch0 1x1x1; branch1/2 1x1x1 to b*_mid then separable 3x3x3; branch3 3x3x3 max
    pool (stride 1) then 1x1x1."""

    def __init__(
        self,
        in_planes: int,
        b0_out: int,
        b1_mid: int,
        b1_out: int,
        b2_mid: int,
        b2_out: int,
        b3_out: int,
        norm_layer: Callable[..., nn.Module],
    ) -> None:
        super().__init__()
        self.branch0 = Conv3dNormActivation(in_planes, b0_out, kernel_size=1, stride=1, norm_layer=norm_layer)
        self.branch1 = nn.Sequential(
            Conv3dNormActivation(in_planes, b1_mid, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(b1_mid, b1_out, kernel_size=3, stride=1, padding=1, norm_layer=norm_layer),
        )
        self.branch2 = nn.Sequential(
            Conv3dNormActivation(in_planes, b2_mid, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(b2_mid, b2_out, kernel_size=3, stride=1, padding=1, norm_layer=norm_layer),
        )
        self.branch3 = nn.Sequential(
            nn.MaxPool3d(kernel_size=(3, 3, 3), stride=1, padding=1),
            Conv3dNormActivation(in_planes, b3_out, kernel_size=1, stride=1, norm_layer=norm_layer),
        )

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class S3D(nn.Module):
    """(N, 3, T, H, W) -> logits (N, num_classes). ``dropout``: before the classifier;
    ``norm_layer``: channels -> normalisation module, default BatchNorm3d(eps=1e-3,
    momentum=1e-3). Native clip 64x224x224 (at least 13x209x209)."""

    input_size = (3, 64, 224, 224)

    def __init__(
        self,
        num_classes: int = 400,
        dropout: float = 0.2,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = functools.partial(nn.BatchNorm3d, eps=0.001, momentum=0.001)
        self.features = nn.Sequential(
            TemporalSeparableConv(3, 64, 7, 2, 3, norm_layer),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            Conv3dNormActivation(64, 64, kernel_size=1, stride=1, norm_layer=norm_layer),
            TemporalSeparableConv(64, 192, 3, 1, 1, norm_layer),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            SepInceptionBlock3D(192, 64, 96, 128, 16, 32, 32, norm_layer),
            SepInceptionBlock3D(256, 128, 128, 192, 32, 96, 64, norm_layer),
            nn.MaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1)),
            SepInceptionBlock3D(480, 192, 96, 208, 16, 48, 64, norm_layer),
            SepInceptionBlock3D(512, 160, 112, 224, 24, 64, 64, norm_layer),
            SepInceptionBlock3D(512, 128, 128, 256, 24, 64, 64, norm_layer),
            SepInceptionBlock3D(512, 112, 144, 288, 32, 64, 64, norm_layer),
            SepInceptionBlock3D(528, 256, 160, 320, 32, 128, 128, norm_layer),
            nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0)),
            SepInceptionBlock3D(832, 256, 160, 320, 32, 128, 128, norm_layer),
            SepInceptionBlock3D(832, 384, 192, 384, 48, 128, 128, norm_layer),
        )
        self.avgpool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Conv3d(1024, num_classes, kernel_size=1, stride=1, bias=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 5:
            raise ValueError(f"S3D: expected a clip (N, C, T, H, W), got shape {tuple(x.shape)}")
        x = self.classifier(self.avgpool(self.features(x)))
        return x.mean(dim=(2, 3, 4))


def s3d(num_classes: int = 400, **kwargs: Any) -> S3D:
    """S3D (8,320,048 parameters at 400 classes). ``kwargs``: S3D's ``dropout``, ``norm_layer``."""
    return S3D(num_classes=num_classes, **kwargs)


__all__ = ["S3D", "SepInceptionBlock3D", "TemporalSeparableConv", "s3d"]
