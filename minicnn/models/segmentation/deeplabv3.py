"""DeepLabV3 (Chen, Papandreou, Schroff & Adam, "Rethinking atrous convolution for semantic
image segmentation", 2017) in torchvision's form.

Atrous spatial pyramid pooling (:class:`ASPP`) looks at the backbone's last feature map at
several scales at once, in parallel branches of 256 maps each: a 1x1 convolution, three 3x3
convolutions dilated by the ``atrous_rates`` (12, 24, 36: a 3x3 kernel with dilation r sees
a (2r+1) x (2r+1) window at the cost of 9 taps), and image pooling (:class:`ASPPPooling`:
global average, 1x1 conv, BN, ReLU, spread back over the map by the bilinear resize of a
1x1 map). The branches are concatenated (5 x 256 maps) and projected to 256 by a 1x1 conv,
BN, ReLU and dropout 0.5. :class:`DeepLabHead` adds a 3x3 conv, BN, ReLU and the 1x1
classifier. With ``aux_loss=True`` an :class:`~minicnn.models.segmentation.fcn.FCNHead`
sits on an earlier stage. (N, 3, H, W) -> {"out": (N, K, H, W)[, "aux": ...]}::

    model                          backbone (output stride)           aux False    aux True
    deeplabv3_resnet50             ResNet-50, layer3-4 dilated (8)    39,638,869   42,004,074
    deeplabv3_resnet101            ResNet-101, layer3-4 dilated (8)   58,630,997   60,996,202
    deeplabv3_mobilenet_v3_large   MobileNetV3-Large, dilated (16)    11,025,477   11,029,328

For MobileNetV3 the head sits on the last layer of ``features`` (960 maps) and the
auxiliary head on the last block at output stride 8 (40 maps). State-dict keys equal
torchvision's.
"""

from __future__ import annotations

from collections.abc import Sequence

from ... import nn
from ...autograd import Tensor
from ...ops.shape import cat
from ..mobilenet import MobileNetV3, mobilenet_v3_config, mobilenet_v3_large
from ..resnet import ResNet, resnet50, resnet101
from ._utils import IntermediateLayerGetter, _SimpleSegmentationModel, upsample_to
from .fcn import FCNHead


class DeepLabV3(_SimpleSegmentationModel):
    """DeepLabV3: ``backbone`` returns {"out": features[, "aux": features]}, ``classifier``
    (and ``aux_classifier``) make the class maps, upsampled to the input's size.
    (N, 3, H, W) -> OrderedDict(out=(N, K, H, W)[, aux=(N, K, H, W)])."""


class ASPPConv(nn.Sequential):
    """3x3 conv dilated by ``dilation`` ("same" padding), BN, ReLU:
    (N, in_channels, h, w) -> (N, out_channels, h, w)."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class ASPPPooling(nn.Sequential):
    """Image-level features: global average pool, 1x1 conv, BN, ReLU, resized back to the
    input's h x w (every pixel gets the same vector): (N, C_in, h, w) -> (N, C_out, h, w)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        size = tuple(x.shape[-2:])
        for mod in self:
            x = mod(x)
        return upsample_to(x, size)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: a 1x1 branch, one :class:`ASPPConv` per rate and
    :class:`ASPPPooling`, concatenated and projected (1x1 conv, BN, ReLU, dropout 0.5):
    (N, in_channels, h, w) -> (N, out_channels, h, w)."""

    def __init__(self, in_channels: int, atrous_rates: Sequence[int], out_channels: int = 256) -> None:
        super().__init__()
        modules: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())
        ]
        modules += [ASPPConv(in_channels, out_channels, rate) for rate in tuple(atrous_rates)]
        modules.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(modules)
        self.project = nn.Sequential(
            nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.project(cat([conv(x) for conv in self.convs], dim=1))


class DeepLabHead(nn.Sequential):
    """ASPP (256 maps), 3x3 conv, BN, ReLU, 1x1 conv (with bias) to the classes:
    (N, in_channels, h, w) -> (N, num_classes, h, w)."""

    def __init__(self, in_channels: int, num_classes: int, atrous_rates: Sequence[int] = (12, 24, 36)) -> None:
        super().__init__(
            ASPP(in_channels, atrous_rates),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Conv2d(256, num_classes, 1),
        )


def _deeplabv3_resnet(backbone: ResNet, num_classes: int, aux: bool | None) -> DeepLabV3:
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    getter = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return DeepLabV3(getter, DeepLabHead(2048, num_classes), aux_classifier)


def stage_indices(backbone: MobileNetV3, strides: Sequence[int]) -> list[int]:
    """Positions in ``backbone.features`` of the stem (0), of each block whose setting has
    stride > 1 (the first block of a stage, torchvision's ``_is_cn``; ``strides`` are the
    blocks' strides in order, block i at position i + 1) and of the last layer."""
    return [0] + [i + 1 for i, s in enumerate(strides) if s > 1] + [len(backbone.features) - 1]


def _mobilenet_v3_large_dilated() -> tuple[MobileNetV3, list[int]]:
    """torchvision's segmentation backbone: MobileNetV3-Large with the last stage dilated
    (output stride 16), and its stage positions (see :func:`stage_indices`)."""
    setting, _ = mobilenet_v3_config("large", dilated=True)
    backbone = mobilenet_v3_large(dilated=True)
    return backbone, stage_indices(backbone, [cnf.stride for cnf in setting])


def _deeplabv3_mobilenetv3(backbone: MobileNetV3, stages: list[int], num_classes: int, aux: bool | None) -> DeepLabV3:
    features = backbone.features
    out_pos = stages[-1]  # C5, output stride 16
    aux_pos = stages[-4]  # C2, output stride 8
    return_layers = {str(out_pos): "out"}
    if aux:
        return_layers[str(aux_pos)] = "aux"
    getter = IntermediateLayerGetter(features, return_layers=return_layers)
    aux_classifier = FCNHead(features[aux_pos].out_channels, num_classes) if aux else None
    return DeepLabV3(getter, DeepLabHead(features[out_pos].out_channels, num_classes), aux_classifier)


def deeplabv3_resnet50(*, num_classes: int = 21, aux_loss: bool | None = None) -> DeepLabV3:
    """DeepLabV3 on a dilated ResNet-50 (output stride 8); 42,004,074 parameters with
    ``aux_loss=True`` and 21 classes, 39,638,869 without."""
    return _deeplabv3_resnet(resnet50(replace_stride_with_dilation=[False, True, True]), num_classes, aux_loss)


def deeplabv3_resnet101(*, num_classes: int = 21, aux_loss: bool | None = None) -> DeepLabV3:
    """DeepLabV3 on a dilated ResNet-101 (output stride 8); 60,996,202 parameters with
    ``aux_loss=True`` and 21 classes, 58,630,997 without."""
    return _deeplabv3_resnet(resnet101(replace_stride_with_dilation=[False, True, True]), num_classes, aux_loss)


def deeplabv3_mobilenet_v3_large(*, num_classes: int = 21, aux_loss: bool | None = None) -> DeepLabV3:
    """DeepLabV3 on MobileNetV3-Large with its last stage dilated (output stride 16);
    11,029,328 parameters with ``aux_loss=True`` and 21 classes, 11,025,477 without."""
    backbone, stages = _mobilenet_v3_large_dilated()
    return _deeplabv3_mobilenetv3(backbone, stages, num_classes, aux_loss)


__all__ = [
    "ASPP", "ASPPConv", "ASPPPooling", "DeepLabHead", "DeepLabV3", "deeplabv3_mobilenet_v3_large",
    "deeplabv3_resnet50", "deeplabv3_resnet101",
]  # fmt: skip
