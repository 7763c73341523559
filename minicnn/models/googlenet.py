"""GoogLeNet / Inception v1 (Szegedy et al., "Going deeper with convolutions", CVPR 2015).

The network is a stack of nine Inception modules. Each module runs four branches on the
same input and concatenates their maps: a 1x1 convolution, a 1x1 reduction followed by a
3x3, a 1x1 reduction followed by a 5x5, and a 3x3 max pool followed by a 1x1 projection.
The 1x1 reductions are what makes it affordable: inception3a's 5x5 branch sees 192 maps
through a 16-map bottleneck (192x16 + 16x32x25 = 15,872 weights instead of 192x32x25 =
153,600). Global average pooling replaces the large fully connected layers, and two
auxiliary classifiers on inception4a and inception4d add their (weighted) losses during
training only.

Paper table (224x224 input; #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)::

    conv 7x7/2 64, max 3x3/2, [LRN], conv 1x1 64, conv 3x3 192, [LRN], max 3x3/2   28x28x192
    inception3a  64  96 128 16  32  32   -> 256         inception3b 128 128 192 32  96  64 -> 480
    max 3x3/2                                           14x14
    inception4a 192  96 208 16  48  64   -> 512  (aux1) inception4b 160 112 224 24  64  64
    inception4c 128 128 256 24  64  64               inception4d 112 144 288 32  64  64 (aux2)
    inception4e 256 160 320 32 128 128   -> 832
    max 3x3/2                                           7x7
    inception5a 256 160 320 32 128 128   inception5b 384 192 384 48 128 128 -> 1024
    avg pool 7x7, dropout, linear

``googlenet()`` is torchvision's variant (state-dict keys equal torchvision's): batch norm
after every convolution and no LRN, a 3x3 convolution in the "5x5" branch, a 2x2 pool
before inception5a, and an adaptive 4x4 pool in the auxiliary heads; 6,624,904 parameters
(13,004,888 with the auxiliary heads). ``googlenet(original=True)`` is the 2014 network as
published: convolutions with bias and ReLU, LRN (n=5, alpha=1e-4, beta=0.75, k=1, the
Caffe reference model's), 5x5 branches, 3x3/2 pools, auxiliary heads with a 5x5/3 average
pool, dropout 0.4 before the classifier.

In training mode with auxiliary heads the forward returns ``GoogLeNetOutputs(logits,
aux_logits2, aux_logits1)`` like torchvision; in eval mode the logits alone.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from .. import nn
from ..autograd import Tensor
from ..nn import functional as F
from ..ops import cat
from ._blocks import BasicConv2d, init_truncated_normal

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class ConvReLU(nn.Module):
    """The paper's unit: Conv2d with bias -> ReLU (no batch norm)."""

    def __init__(self, in_channels: int, out_channels: int, **conv_kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, **conv_kwargs)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.conv(x))


class Inception(nn.Module):
    """Four parallel branches concatenated along channels: (N, C, H, W) ->
    (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W). ``k5`` is the kernel of the "5x5"
    branch (5 in the paper, 3 in torchvision's variant)."""

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        conv_block: Callable[..., nn.Module] = BasicConv2d,
        k5: int = 3,
    ) -> None:
        super().__init__()
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),
            conv_block(ch5x5red, ch5x5, kernel_size=k5, padding=k5 // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier on a 14x14 map: average pool to 4x4, 1x1 conv to 128 maps,
    fc 1024 + ReLU, dropout, fc to the classes. (N, C, 14, 14) -> (N, num_classes).
    ``pool``: None for torchvision's adaptive 4x4 average pool (a function, as torchvision's),
    or a module (child ``pool``; the paper's 5x5/3 average pool)."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        conv_block: Callable[..., nn.Module] = BasicConv2d,
        dropout: float = 0.7,
        pool: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if pool is not None:
            self.pool = pool
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(x) if "pool" in self._modules else F.adaptive_avg_pool2d(x, (4, 4))
        x = self.conv(x).flatten(1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes), or GoogLeNetOutputs in training mode with
    auxiliary heads. Native input 224x224."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        original: bool = False,
        dropout: float | None = None,
        dropout_aux: float = 0.7,
        init_weights: bool = True,
    ) -> None:
        super().__init__()
        self.aux_logits, self.transform_input, self.original = aux_logits, transform_input, original
        conv_block = ConvReLU if original else BasicConv2d
        k5 = 5 if original else 3

        def inception(*channels: int) -> Inception:
            return Inception(*channels, conv_block=conv_block, k5=k5)

        self.conv1 = conv_block(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        if original:  # the paper's local response normalisations (torchvision's variant has none)
            self.lrn1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.conv2 = conv_block(64, 64, kernel_size=1)
        self.conv3 = conv_block(64, 192, kernel_size=3, padding=1)
        if original:
            self.lrn2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(3 if original else 2, stride=2, ceil_mode=True)

        self.inception5a = inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = inception(832, 384, 192, 384, 48, 128, 128)

        if aux_logits:

            def aux(c: int) -> InceptionAux:
                pool = nn.AvgPool2d(5, stride=3) if original else None
                return InceptionAux(c, num_classes, conv_block, dropout=dropout_aux, pool=pool)

            self.aux1 = aux(512)
            self.aux2 = aux(528)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=(0.4 if original else 0.2) if dropout is None else dropout)
        self.fc = nn.Linear(1024, num_classes)

        if init_weights and not original:
            init_truncated_normal(self, default_std=0.01)  # torchvision's
        elif init_weights:  # the Caffe reference model's: Xavier weights, biases 0.2
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.constant_(m.bias, 0.2)

    def _transform_input(self, x: Tensor) -> Tensor:
        """Map inputs normalised with ImageNet's mean/std to the (x - 0.5) / 0.5 scaling the
        original weights expect (torchvision's ``transform_input``)."""
        if not self.transform_input:
            return x
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        chans = [x[:, c : c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)]
        return cat(chans, 1)

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        if self.original:
            x = self.lrn1(x)
        x = self.conv3(self.conv2(x))
        if self.original:
            x = self.lrn2(x)
        x = self.maxpool2(x)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        use_aux = self.aux_logits and self.training and self.aux1 is not None
        aux1 = self.aux1(x) if use_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if use_aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if use_aux:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(num_classes: int = 1000, aux_logits: bool = True, original: bool = False, **kwargs: Any) -> GoogLeNet:
    """GoogLeNet (Inception v1). ``original=False``: torchvision's layout and keys.
    ``original=True``: the 2014 network with LRN and 5x5 branches, no batch norm."""
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, original=original, **kwargs)


__all__ = ["GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "googlenet"]
