"""The two pieces every segmentation model here is built from (torchvision's forms).

- :class:`IntermediateLayerGetter` (torchvision.models._utils'): the children of a backbone
  up to the last one asked for, run in order; ``forward`` returns an ``OrderedDict`` of the
  outputs of the children named in ``return_layers`` under their new names, e.g.
  ``{"layer4": "out", "layer3": "aux"}`` on a ResNet gives ``{"aux": (N, 1024, H/8, W/8),
  "out": (N, 2048, H/8, W/8)}`` (output stride 8 with the last two stages dilated).
- :class:`_SimpleSegmentationModel` (FCN's and DeepLabV3's base): backbone -> features
  dict; ``classifier`` on ``features["out"]`` and, if present, ``aux_classifier`` on
  ``features["aux"]``, each upsampled bilinearly (align_corners=False) to the input's
  H x W: (N, 3, H, W) -> ``OrderedDict(out=(N, classes, H, W)[, aux=(N, classes, H, W)])``.
  The upsampling is a fixed linear map: its cost is 4 multiply-adds per output value.
"""

from __future__ import annotations

from collections import OrderedDict

from ... import nn
from ...autograd import Tensor
from ...nn import functional as F


class IntermediateLayerGetter(nn.ModuleDict):
    """The children of ``model`` up to the last one named in ``return_layers``, run in the
    order they were registered; (N, C, H, W) -> OrderedDict {new name: that child's output}.

    Only direct children can be asked for, and the model must use each child once, in
    registration order (torchvision's assumption too)."""

    _version = 2

    def __init__(self, model: nn.Module, return_layers: dict[str, str]) -> None:
        if not set(return_layers).issubset([name for name, _ in model.named_children()]):
            raise ValueError("return_layers are not present in model")
        orig_return_layers = return_layers
        remaining = {str(k): str(v) for k, v in return_layers.items()}
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for name, module in model.named_children():
            layers[name] = module
            remaining.pop(name, None)
            if not remaining:
                break
        super().__init__(layers)
        self.return_layers = orig_return_layers

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        out: OrderedDict[str, Tensor] = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


def upsample_to(x: Tensor, size: tuple[int, ...]) -> Tensor:
    """Bilinear resize of (N, C, h, w) to (N, C, *size), align_corners=False."""
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class _SimpleSegmentationModel(nn.Module):
    """backbone (returns {"out": ..., ["aux": ...]}) -> classifier(s) -> upsampled to the
    input: (N, C, H, W) -> OrderedDict(out=(N, K, H, W)[, aux=(N, K, H, W)])."""

    def __init__(self, backbone: nn.Module, classifier: nn.Module, aux_classifier: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expected input of shape (N, C, H, W), got {tuple(x.shape)}")
        input_shape = tuple(x.shape[-2:])
        features = self.backbone(x)
        result: OrderedDict[str, Tensor] = OrderedDict()
        result["out"] = upsample_to(self.classifier(features["out"]), input_shape)
        if self.aux_classifier is not None:
            result["aux"] = upsample_to(self.aux_classifier(features["aux"]), input_shape)
        return result


__all__ = ["IntermediateLayerGetter", "upsample_to"]
