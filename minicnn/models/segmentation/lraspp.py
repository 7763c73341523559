"""Lite R-ASPP (Howard et al., "Searching for MobileNetV3", ICCV 2019, section 6.3), the
segmentation head proposed with MobileNetV3, in torchvision's form.

It replaces ASPP's pyramid by one cheap branch with squeeze-excitation-style attention, on
the backbone's last map ("high", 960 maps at output stride 16 with the last stage dilated):
``cbr`` (1x1 conv to 128, BN, ReLU) times ``scale`` (global average pool, 1x1 conv to 128,
sigmoid: one weight per map and image), resized bilinearly to the "low" map (40 maps,
output stride 8), then ``high_classifier`` of that plus ``low_classifier`` of the low map
(two 1x1 convolutions with bias), resized to the input:
(N, 3, H, W) -> {"out": (N, K, H, W)}; no auxiliary head. lraspp_mobilenet_v3_large:
3,221,538 parameters at 21 classes. State-dict keys equal torchvision's.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ... import nn
from ...autograd import Tensor
from ._utils import IntermediateLayerGetter, upsample_to
from .deeplabv3 import _mobilenet_v3_large_dilated


class LRASPP(nn.Module):
    """``backbone`` returns {"low": (N, low_channels, h, w), "high": (N, high_channels,
    h', w')}; :class:`LRASPPHead` makes the class maps, resized to the input:
    (N, C, H, W) -> OrderedDict(out=(N, num_classes, H, W))."""

    def __init__(
        self, backbone: nn.Module, low_channels: int, high_channels: int, num_classes: int, inter_channels: int = 128
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = LRASPPHead(low_channels, high_channels, num_classes, inter_channels)

    def forward(self, input: Tensor) -> OrderedDict[str, Tensor]:
        if input.ndim != 4:
            raise ValueError(f"LRASPP: expected input of shape (N, C, H, W), got {tuple(input.shape)}")
        out = upsample_to(self.classifier(self.backbone(input)), tuple(input.shape[-2:]))
        result: OrderedDict[str, Tensor] = OrderedDict()
        result["out"] = out
        return result


class LRASPPHead(nn.Module):
    """{"low", "high"} -> low_classifier(low) + high_classifier(resize(cbr(high) *
    scale(high))): (N, num_classes, h, w) at the low map's size."""

    def __init__(self, low_channels: int, high_channels: int, num_classes: int, inter_channels: int) -> None:
        super().__init__()
        self.cbr = nn.Sequential(
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(inplace=True),
        )
        self.scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, input: dict[str, Tensor]) -> Tensor:
        low, high = input["low"], input["high"]
        x = self.cbr(high) * self.scale(high)
        x = upsample_to(x, tuple(low.shape[-2:]))
        return self.low_classifier(low) + self.high_classifier(x)


def lraspp_mobilenet_v3_large(*, num_classes: int = 21, **kwargs: Any) -> LRASPP:
    """Lite R-ASPP on MobileNetV3-Large with its last stage dilated; 3,221,538 parameters
    at 21 classes. ``aux_loss=True`` raises NotImplementedError (no auxiliary head), as
    torchvision's; any other keyword a TypeError."""
    if kwargs.pop("aux_loss", False):
        raise NotImplementedError("This model does not use auxiliary loss")
    if kwargs:
        raise TypeError(f"lraspp_mobilenet_v3_large() got unexpected keyword arguments {sorted(kwargs)}")
    backbone, stages = _mobilenet_v3_large_dilated()
    features = backbone.features
    low_pos, high_pos = stages[-4], stages[-1]  # C2 (output stride 8), C5 (output stride 16)
    getter = IntermediateLayerGetter(features, return_layers={str(low_pos): "low", str(high_pos): "high"})
    return LRASPP(getter, features[low_pos].out_channels, features[high_pos].out_channels, num_classes)


__all__ = ["LRASPP", "LRASPPHead", "lraspp_mobilenet_v3_large"]
