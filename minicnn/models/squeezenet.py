"""SqueezeNet (Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer, "SqueezeNet: AlexNet-level
accuracy with 50x fewer parameters and <0.5MB model size", 2016), in torchvision's layout
(state-dict keys equal torchvision's).

The building block is the Fire module: a 1x1 "squeeze" convolution to s maps, then two
"expand" convolutions side by side, e1 1x1 and e3 3x3 filters, their outputs concatenated
(e1 + e3 maps). Few squeeze maps (s < e1 + e3) feed the 3x3 filters, and half of the
expand filters are 1x1: a 3x3 filter has 9x the weights of a 1x1 one. No fully connected
layer: a 1x1 convolution to the classes and a global average pool end the network.
Table 1 of the paper (v1.0; Fire(s, e1, e3); map sizes for a 224x224 input, the paper's
227x227 Caffe crop gives 111x111 -> 55x55 in the first row)::

    conv1 7x7/2 96, max pool 3x3/2           109x109 -> 54x54
    fire2 (16, 64, 64), fire3 (16, 64, 64), fire4 (32, 128, 128)
    max pool 3x3/2                           27x27
    fire5 (32, 128, 128), fire6 (48, 192, 192), fire7 (48, 192, 192), fire8 (64, 256, 256)
    max pool 3x3/2                           13x13
    fire9 (64, 256, 256), dropout 50 %, conv10 1x1 classes, ReLU, global avg pool
    1,248,424 parameters

v1.1 (from the SqueezeNet repository) starts with a 3x3/2 convolution of 64 maps (111x111 at
224) and pools earlier (after conv1, fire3 and fire5: 55, 27, 13): the same accuracy for 2.4x
less computation, 1,235,496 parameters. The max pools round up (ceil mode), as in Caffe.
"""

from __future__ import annotations

from typing import Any

from .. import nn
from ..autograd import Tensor
from ..ops import cat


class Fire(nn.Module):
    """squeeze 1x1 to ``squeeze_planes`` + ReLU, then [expand 1x1 + ReLU, expand 3x3 + ReLU]
    concatenated. (N, inplanes, H, W) -> (N, expand1x1_planes + expand3x3_planes, H, W)."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        e1 = self.expand1x1_activation(self.expand1x1(x))
        e3 = self.expand3x3_activation(self.expand3x3(x))
        return cat([e1, e3], dim=1)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224, any H, W >= 21 (v1.0) or
    >= 17 (v1.1) works. ``version`` is "1_0" or "1_1"."""

    input_size = (3, 224, 224)

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2),
                nn.ReLU(inplace=True),
                _pool(),
                Fire(96, 16, 64, 64),
                Fire(128, 16, 64, 64),
                Fire(128, 32, 128, 128),
                _pool(),
                Fire(256, 32, 128, 128),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                _pool(),
                Fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2),
                nn.ReLU(inplace=True),
                _pool(),
                Fire(64, 16, 64, 64),
                Fire(128, 16, 64, 64),
                _pool(),
                Fire(128, 32, 128, 128),
                Fire(256, 32, 128, 128),
                _pool(),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x)).flatten(1)


def squeezenet1_0(num_classes: int = 1000, **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.0, Table 1 of the paper (1,248,424 parameters)."""
    return SqueezeNet("1_0", num_classes=num_classes, **kwargs)


def squeezenet1_1(num_classes: int = 1000, **kwargs: Any) -> SqueezeNet:
    """SqueezeNet 1.1: 2.4x less computation than 1.0 at the same accuracy (1,235,496 parameters)."""
    return SqueezeNet("1_1", num_classes=num_classes, **kwargs)


__all__ = ["Fire", "SqueezeNet", "squeezenet1_0", "squeezenet1_1"]
