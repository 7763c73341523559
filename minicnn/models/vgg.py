"""VGG (Simonyan & Zisserman, "Very deep convolutional networks for large-scale image
recognition", ICLR 2015), configurations A (VGG11), B (VGG13), D (VGG16) and E (VGG19) of
the paper's Table 1, with or without batch normalisation after each convolution.

Every convolution is 3x3 with padding 1 (stride 1), every pooling 2x2/2: a stack of two
3x3 convolutions sees 5x5 pixels with 2 x 9 = 18 weights per channel pair instead of 25,
three see 7x7 with 27 instead of 49, and each adds a ReLU. Maps double after each pool
(64 -> 512). The head is three fully connected layers (4096, 4096, classes) on the 7x7x512
map. State-dict keys equal torchvision's; initialisation as torchvision: convolutions
kaiming normal (fan_out), fully connected weights N(0, 0.01^2), all biases 0.
"""

from __future__ import annotations

from .. import nn
from ..autograd import Tensor
from ._blocks import init_torchvision_style

# Table 1: numbers are output maps of a 3x3 convolution, "M" a 2x2 max pool.
CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(config: list[int | str], batch_norm: bool = False) -> nn.Sequential:
    """The convolutional part: conv3x3(-BN)-ReLU per number, max pool per "M"."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(v)))
        layers.append(nn.ReLU(inplace=True))
        in_channels = int(v)
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); H, W >= 32 (native 224x224)."""

    input_size = (3, 224, 224)

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        init_torchvision_style(self, linear_std=0.01)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(config: str, batch_norm: bool, num_classes: int, **kwargs) -> VGG:
    return VGG(make_layers(CONFIGS[config], batch_norm), num_classes, **kwargs)


def vgg11(num_classes: int = 1000, **kwargs) -> VGG:
    """Configuration A: 8 convolutions + 3 fully connected layers (132,863,336 parameters)."""
    return _vgg("A", False, num_classes, **kwargs)


def vgg11_bn(num_classes: int = 1000, **kwargs) -> VGG:
    return _vgg("A", True, num_classes, **kwargs)


def vgg13(num_classes: int = 1000, **kwargs) -> VGG:
    """Configuration B: 10 convolutions + 3 fully connected layers."""
    return _vgg("B", False, num_classes, **kwargs)


def vgg13_bn(num_classes: int = 1000, **kwargs) -> VGG:
    return _vgg("B", True, num_classes, **kwargs)


def vgg16(num_classes: int = 1000, **kwargs) -> VGG:
    """Configuration D: 13 convolutions + 3 fully connected layers (138,357,544 parameters)."""
    return _vgg("D", False, num_classes, **kwargs)


def vgg16_bn(num_classes: int = 1000, **kwargs) -> VGG:
    return _vgg("D", True, num_classes, **kwargs)


def vgg19(num_classes: int = 1000, **kwargs) -> VGG:
    """Configuration E: 16 convolutions + 3 fully connected layers."""
    return _vgg("E", False, num_classes, **kwargs)


def vgg19_bn(num_classes: int = 1000, **kwargs) -> VGG:
    return _vgg("E", True, num_classes, **kwargs)


__all__ = ["VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
