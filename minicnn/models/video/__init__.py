"""``mc.models.video``: torchvision's video classifiers (``torchvision.models.video``), with
its class names, state-dict keys and printouts, so its Kinetics-400 weights load with
``model.load_state_dict({k: v.numpy() for k, v in tv_model.state_dict().items()})``.

Input: clips (N, 3, T, H, W); output logits (N, num_classes), 400 by default. The ResNets
(R3D-18, MC3-18, R(2+1)D-18) are in :mod:`.resnet`, S3D in :mod:`.s3d`. Each model class has
``input_size`` (C, T, H, W), its native clip (pass ``(1, *input_size)`` to ``mc.summary``).
"""

from .resnet import (
    BasicBlock,
    BasicStem,
    Bottleneck,
    Conv2Plus1D,
    Conv3DNoTemporal,
    Conv3DSimple,
    R2Plus1dStem,
    VideoResNet,
    mc3_18,
    r2plus1d_18,
    r3d_18,
)
from .s3d import S3D, s3d

__all__ = [
    "BasicBlock", "BasicStem", "Bottleneck", "Conv2Plus1D", "Conv3DNoTemporal", "Conv3DSimple", "R2Plus1dStem", "S3D",
    "VideoResNet", "mc3_18", "r2plus1d_18", "r3d_18", "s3d",
]  # fmt: skip
