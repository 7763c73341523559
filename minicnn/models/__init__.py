"""``mc.models``: the classic CNN architectures, each written to read like its paper's table.

Constructors take ``num_classes`` (default 1000; LeNet 10). Where torchvision has the model,
the state-dict keys equal torchvision's, so its weights load with
``model.load_state_dict({k: v.numpy() for k, v in tv_model.state_dict().items()})``.
Each model class has ``input_size`` (C, H, W), its native input size. The constructors also take
torchvision's ``weights=None`` and ``progress``; minicnn downloads no weights, so any other
``weights`` is a ValueError that says how to load torchvision's (``_weights.py``).
"""

from . import segmentation, video
from .alexnet import AlexNet, AlexNet2012, alexnet
from .convnext import (
    CNBlock,
    CNBlockConfig,
    ConvNeXt,
    LayerNorm2d,
    convnext_base,
    convnext_large,
    convnext_small,
    convnext_tiny,
)
from .densenet import DenseNet, densenet121, densenet161, densenet169, densenet201
from .efficientnet import (
    EfficientNet,
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
    efficientnet_b4,
    efficientnet_b5,
    efficientnet_b6,
    efficientnet_b7,
    efficientnet_v2_l,
    efficientnet_v2_m,
    efficientnet_v2_s,
)
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from .inception import Inception3, InceptionOutputs, inception_v3
from .inception_resnet import InceptionResNetV1, InceptionResNetV2, inception_resnet_v1, inception_resnet_v2
from .inception_v4 import InceptionV4, inception_v4
from .lenet import LeNet5, LeNet5Classic, lenet5
from .mnasnet import MNASNet, mnasnet0_5, mnasnet0_75, mnasnet1_0, mnasnet1_3
from .mobilenet import (
    MobileNetV1,
    MobileNetV2,
    MobileNetV3,
    mobilenet_v1,
    mobilenet_v2,
    mobilenet_v3_large,
    mobilenet_v3_small,
)
from .regnet import (
    RegNet,
    regnet_x_1_6gf,
    regnet_x_3_2gf,
    regnet_x_8gf,
    regnet_x_16gf,
    regnet_x_32gf,
    regnet_x_400mf,
    regnet_x_800mf,
    regnet_y_1_6gf,
    regnet_y_3_2gf,
    regnet_y_8gf,
    regnet_y_16gf,
    regnet_y_32gf,
    regnet_y_128gf,
    regnet_y_400mf,
    regnet_y_800mf,
)
from .resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
    resnext101_32x8d,
    resnext101_64x4d,
    wide_resnet50_2,
    wide_resnet101_2,
)
from .shufflenet import ShuffleNetV2, shufflenet_v2_x0_5, shufflenet_v2_x1_0, shufflenet_v2_x1_5, shufflenet_v2_x2_0
from .squeezenet import SqueezeNet, squeezenet1_0, squeezenet1_1
from .swin import (
    PatchMerging,
    PatchMergingV2,
    ShiftedWindowAttention,
    ShiftedWindowAttentionV2,
    SwinTransformer,
    SwinTransformerBlock,
    SwinTransformerBlockV2,
    shifted_window_attention,
    swin_b,
    swin_s,
    swin_t,
    swin_v2_b,
    swin_v2_s,
    swin_v2_t,
)
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn
from .vit import (
    ConvStemConfig,
    Encoder,
    EncoderBlock,
    MLPBlock,
    VisionTransformer,
    vit_b_16,
    vit_b_32,
    vit_h_14,
    vit_l_16,
    vit_l_32,
)

__all__ = [
    "segmentation",
    "video",
    "AlexNet", "AlexNet2012", "BasicBlock", "Bottleneck", "CNBlock", "CNBlockConfig", "ConvNeXt", "DenseNet",
    "EfficientNet", "GoogLeNet", "GoogLeNetOutputs", "Inception3", "InceptionOutputs", "InceptionResNetV1",
    "InceptionResNetV2", "InceptionV4", "LayerNorm2d", "LeNet5", "LeNet5Classic", "MNASNet", "MobileNetV1",
    "MobileNetV2", "MobileNetV3", "RegNet", "ResNet", "ShuffleNetV2", "SqueezeNet", "VGG", "alexnet", "convnext_base",
    "convnext_large", "convnext_small", "convnext_tiny", "densenet121", "densenet161", "densenet169", "densenet201",
    "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
    "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_l", "efficientnet_v2_m", "efficientnet_v2_s", "googlenet",
    "inception_resnet_v1", "inception_resnet_v2", "inception_v3", "inception_v4", "lenet5", "mnasnet0_5",
    "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large",
    "mobilenet_v3_small", "regnet_x_16gf", "regnet_x_1_6gf", "regnet_x_32gf", "regnet_x_3_2gf", "regnet_x_400mf",
    "regnet_x_800mf", "regnet_x_8gf", "regnet_y_128gf", "regnet_y_16gf", "regnet_y_1_6gf", "regnet_y_32gf",
    "regnet_y_3_2gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_8gf", "resnet101", "resnet152", "resnet18",
    "resnet34", "resnet50", "resnext101_32x8d", "resnext101_64x4d", "resnext50_32x4d", "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "squeezenet1_0", "squeezenet1_1", "vgg11",
    "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "wide_resnet101_2", "wide_resnet50_2",
    "PatchMerging", "PatchMergingV2", "ShiftedWindowAttention", "ShiftedWindowAttentionV2", "SwinTransformer",
    "SwinTransformerBlock", "SwinTransformerBlockV2", "shifted_window_attention", "swin_b", "swin_s", "swin_t",
    "swin_v2_b", "swin_v2_s", "swin_v2_t",
    "ConvStemConfig", "Encoder", "EncoderBlock", "MLPBlock", "VisionTransformer", "vit_b_16", "vit_b_32", "vit_h_14",
    "vit_l_16", "vit_l_32",
]  # fmt: skip

# torchvision's weights=None / progress= keywords on every constructor (models/_weights.py)
from ._weights import accepts_weights  # noqa: E402

for _name in __all__:
    if _name[0].islower() and _name not in ("segmentation", "video", "shifted_window_attention"):
        globals()[_name] = accepts_weights(globals()[_name])
del _name
