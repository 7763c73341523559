"""AlexNet (Krizhevsky, Sutskever & Hinton, "ImageNet classification with deep
convolutional neural networks", NeurIPS 2012).

``alexnet()`` is torchvision's single-tower variant (64-192-384-256-256 maps, no LRN, an
adaptive 6x6 average pool so that any input of at least 63x63 works; 61,100,840
parameters; its state-dict keys equal torchvision's). ``alexnet(original=True)`` is the
network of the paper, on 227x227 inputs::

    layer                                   output        parameters
    conv1 11x11/4, 96, ReLU, LRN, max 3/2   96x55x55 -> 27    34,944
    conv2 5x5 pad 2, 256, groups 2, ReLU,
          LRN, max 3/2                      256x27x27 -> 13   307,456
    conv3 3x3 pad 1, 384, ReLU              384x13x13         885,120
    conv4 3x3 pad 1, 384, groups 2, ReLU    384x13x13         663,936
    conv5 3x3 pad 1, 256, groups 2, ReLU,
          max 3/2                           256x13x13 -> 6    442,624
    dropout 0.5, fc6 4096, ReLU                                37,752,832
    dropout 0.5, fc7 4096, ReLU                                16,781,312
    fc8 1000                                                   4,097,000
                                                       total  60,965,224

groups=2 reproduces the two-GPU split: conv2, conv4 and conv5 see only the maps on their
own GPU, conv3 and the fully connected layers see both. The paper's response normalisation
b = a / (k + alpha * sum a^2)^beta with n=5, k=2, alpha=1e-4, beta=0.75 is PyTorch's
LocalResponseNorm with alpha = 5e-4, since PyTorch divides alpha by the window size n.
"""

from __future__ import annotations

from .. import nn
from ..autograd import Tensor


class AlexNet(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); H, W >= 63 (native 224x224)."""

    input_size = (3, 224, 224)

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class AlexNet2012(nn.Module):
    """The 2012 network: (N, 3, 227, 227) -> logits (N, num_classes); 60,965,224
    parameters at 1000 classes. Initialised as in the paper: weights N(0, 0.01^2), biases 1
    in conv2, conv4, conv5 and the hidden fully connected layers, 0 elsewhere."""

    input_size = (3, 227, 227)

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4),  # conv1: 96x55x55
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 96x27x27 (overlapping pooling)
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),  # conv2: 256x27x27
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 256x13x13
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # conv3: across both GPUs
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),  # conv4
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),  # conv5
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 256x6x6
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),  # fc6
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),  # fc7
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),  # fc8
        )
        ones = {id(self.features[4]), id(self.features[10]), id(self.features[12])}
        ones |= {id(self.classifier[1]), id(self.classifier[4])}
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.constant_(m.bias, 1.0 if id(m) in ones else 0.0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.features(x)))


def alexnet(num_classes: int = 1000, original: bool = False, **kwargs) -> nn.Module:
    """AlexNet. ``original=False``: torchvision's layout (loads its weights). ``original=True``:
    the 2012 network with LRN, groups=2 and 227x227 inputs (60,965,224 parameters)."""
    return AlexNet2012(num_classes, **kwargs) if original else AlexNet(num_classes, **kwargs)


__all__ = ["AlexNet", "AlexNet2012", "alexnet"]
