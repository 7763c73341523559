"""FCN (Long, Shelhamer & Darrell, "Fully convolutional networks for semantic
segmentation", CVPR 2015) in torchvision's form: a classification network with its pooling
and fully connected layer removed becomes a dense predictor.

torchvision's version (and this one): a ResNet-50/101 whose last two stages keep the
resolution with dilated convolutions (``replace_stride_with_dilation=[False, True, True]``,
output stride 8), then :class:`FCNHead` (3x3 conv to C/4 maps, BN, ReLU, dropout 0.1,
1x1 conv to the classes) on layer4's 2048 maps, and with ``aux_loss=True`` a second
FCNHead on layer3's 1024 maps (its loss helps the training; drop it at inference). Both are
upsampled bilinearly to the input: (N, 3, H, W) -> {"out": (N, K, H, W), "aux": ...}::

    model           aux_loss False   aux_loss True (torchvision's weights)
    fcn_resnet50    32,957,013       35,322,218
    fcn_resnet101   51,949,141       54,314,346

(21 classes: Pascal VOC's 20 and the background.) The state-dict keys equal torchvision's:
``backbone.*`` (the ResNet's up to layer4), ``classifier.*``, ``aux_classifier.*``.
"""

from __future__ import annotations

from ... import nn
from ..resnet import ResNet, resnet50, resnet101
from ._utils import IntermediateLayerGetter, _SimpleSegmentationModel


class FCN(_SimpleSegmentationModel):
    """FCN: ``backbone`` returns {"out": features[, "aux": features]}, ``classifier`` (and
    ``aux_classifier``) make the class maps, upsampled to the input's size.
    (N, 3, H, W) -> OrderedDict(out=(N, K, H, W)[, aux=(N, K, H, W)])."""


class FCNHead(nn.Sequential):
    """3x3 conv to in_channels // 4 maps, BN, ReLU, dropout 0.1, 1x1 conv (with bias) to
    ``channels``: (N, in_channels, h, w) -> (N, channels, h, w)."""

    def __init__(self, in_channels: int, channels: int) -> None:
        inter_channels = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(inter_channels, channels, 1),
        )


def _fcn_resnet(backbone: ResNet, num_classes: int, aux: bool | None) -> FCN:
    return_layers = {"layer4": "out"}
    if aux:
        return_layers["layer3"] = "aux"
    getter = IntermediateLayerGetter(backbone, return_layers=return_layers)
    aux_classifier = FCNHead(1024, num_classes) if aux else None
    return FCN(getter, FCNHead(2048, num_classes), aux_classifier)


def fcn_resnet50(*, num_classes: int = 21, aux_loss: bool | None = None) -> FCN:
    """FCN on a dilated ResNet-50 (output stride 8); 35,322,218 parameters with
    ``aux_loss=True`` and 21 classes, 32,957,013 without."""
    return _fcn_resnet(resnet50(replace_stride_with_dilation=[False, True, True]), num_classes, aux_loss)


def fcn_resnet101(*, num_classes: int = 21, aux_loss: bool | None = None) -> FCN:
    """FCN on a dilated ResNet-101 (output stride 8); 54,314,346 parameters with
    ``aux_loss=True`` and 21 classes, 51,949,141 without."""
    return _fcn_resnet(resnet101(replace_stride_with_dilation=[False, True, True]), num_classes, aux_loss)


__all__ = ["FCN", "FCNHead", "fcn_resnet50", "fcn_resnet101"]
