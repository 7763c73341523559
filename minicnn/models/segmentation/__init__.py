"""``mc.models.segmentation``: torchvision's semantic segmentation models (FCN, DeepLabV3,
Lite R-ASPP), with torchvision's classes, printouts and state-dict keys, so its weights load
with ``model.load_state_dict({k: v.numpy() for k, v in tv_model.state_dict().items()})``.

Each takes (N, 3, H, W) and returns an ``OrderedDict`` with ``"out"`` (N, num_classes, H, W)
class scores at the input's resolution and, for FCN/DeepLabV3 built with ``aux_loss=True``,
``"aux"`` of the same shape from an earlier stage (add its loss, weighted, during
training). Constructors take keyword-only ``num_classes`` (default 21: Pascal VOC) and
``aux_loss``; like the other builders of ``mc.models`` they load no weights.
"""

from ._utils import IntermediateLayerGetter
from .deeplabv3 import (
    ASPP,
    ASPPConv,
    ASPPPooling,
    DeepLabHead,
    DeepLabV3,
    deeplabv3_mobilenet_v3_large,
    deeplabv3_resnet50,
    deeplabv3_resnet101,
)
from .fcn import FCN, FCNHead, fcn_resnet50, fcn_resnet101
from .lraspp import LRASPP, LRASPPHead, lraspp_mobilenet_v3_large

__all__ = [
    "ASPP", "ASPPConv", "ASPPPooling", "DeepLabHead", "DeepLabV3", "FCN", "FCNHead", "IntermediateLayerGetter",
    "LRASPP", "LRASPPHead", "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet101", "deeplabv3_resnet50",
    "fcn_resnet101", "fcn_resnet50", "lraspp_mobilenet_v3_large",
]  # fmt: skip
