"""DenseNet (Huang, Liu, van der Maaten & Weinberger, "Densely connected convolutional
networks", CVPR 2017), the DenseNet-BC form, in torchvision's layout (state-dict keys equal
torchvision's).

Inside a dense block every layer sees the concatenation of the block's input and of all
earlier layers' outputs, and adds k new maps (the growth rate): layer l of a block whose
input has c_0 maps reads c_0 + (l - 1) k maps. Features are reused instead of recomputed,
so the layers can be narrow (k = 32). Each layer is BN-ReLU-conv 1x1 to 4k maps (the "B",
bottleneck), then BN-ReLU-conv 3x3 to k maps. Between blocks a transition (BN-ReLU-conv 1x1,
2x2 average pool) halves the maps (the "C", compression 0.5) and the resolution.
Table 1 of the paper (224x224 input)::

    conv0 7x7/2 2k, max pool 3x3/2            56x56
    dense block 1: 6 layers                    56x56    then transition -> 28x28
    dense block 2: 12 layers                   28x28    then transition -> 14x14
    dense block 3: 24 | 32 | 48 | 36 layers    14x14    then transition -> 7x7
    dense block 4: 16 | 32 | 32 | 24 layers    7x7
    BN, ReLU, global average pool, fc

    model        k    blocks            parameters
    densenet121  32   (6, 12, 24, 16)    7,978,856
    densenet169  32   (6, 12, 32, 32)   14,149,480
    densenet201  32   (6, 12, 48, 32)   20,013,928
    densenet161  48   (6, 12, 36, 24)   28,681,000

The price of the concatenations is memory: a block of L layers holds L + 1 growing inputs.
``memory_efficient=True`` (Pleiss et al., "Memory-efficient implementation of DenseNets",
2017) recomputes each layer's concatenation, batch norm, ReLU and 1x1 convolution in the
backward pass instead of keeping them (gradient checkpointing, ``mc.utils.checkpoint``):
the same gradients for one more forward pass of those parts (in training mode their batch
norms update the running statistics twice, as in torch).
"""

from __future__ import annotations

from typing import Any

from .. import nn
from ..autograd import Tensor
from ..nn import functional as F
from ..ops import cat
from ..utils.checkpoint import checkpoint


class _DenseLayer(nn.Module):
    """BN-ReLU-conv 1x1 (to bn_size * k maps) on the concatenated inputs, then BN-ReLU-conv
    3x3 to k maps. list of (N, C_i, H, W) with sum C_i = num_input_features -> (N, k, H, W)."""

    def __init__(
        self,
        num_input_features: int,
        growth_rate: int,
        bn_size: int,
        drop_rate: float,
        memory_efficient: bool = False,
    ) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def bottleneck(self, *inputs: Tensor) -> Tensor:
        """conv1(relu1(norm1(concatenation of the inputs)))."""
        return self.conv1(self.relu1(self.norm1(cat(list(inputs), dim=1))))

    def forward(self, input: Tensor | list[Tensor]) -> Tensor:
        features = [input] if isinstance(input, Tensor) else list(input)
        if self.memory_efficient and any(t.requires_grad for t in features):
            out = checkpoint(self.bottleneck, *features, use_reentrant=False)
        else:
            out = self.bottleneck(*features)
        new_features = self.conv2(self.relu2(self.norm2(out)))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers ``denselayer1``...; each reads all maps so far.
    (N, C, H, W) -> (N, C + num_layers * growth_rate, H, W)."""

    def __init__(
        self,
        num_layers: int,
        num_input_features: int,
        bn_size: int,
        growth_rate: int,
        drop_rate: float,
        memory_efficient: bool = False,
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate, memory_efficient)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features: Tensor) -> Tensor:
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return cat(features, dim=1)


class _Transition(nn.Sequential):
    """BN-ReLU-conv 1x1 to ``num_output_features``, 2x2/2 average pool (keys norm, conv)."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224, any H, W >= 29 works (conv0,
    pool0 and two transitions halve 29 to 2, the last transition's 2x2 pool needs that).

    ``growth_rate`` k, ``block_config`` the layers of the four blocks, ``num_init_features``
    the maps of conv0, ``bn_size`` the bottleneck's width in units of k, ``drop_rate`` the
    dropout after each dense layer, ``memory_efficient`` checkpointing (see the module)."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: tuple[int, int, int, int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        drop_rate: float = 0,
        num_classes: int = 1000,
        memory_efficient: bool = False,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(3, num_init_features, 7, stride=2, padding=3, bias=False))
        self.features.add_module("norm0", nn.BatchNorm2d(num_init_features))
        self.features.add_module("relu0", nn.ReLU(inplace=True))
        self.features.add_module("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        c = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers, c, bn_size, growth_rate, drop_rate, memory_efficient)
            self.features.add_module(f"denseblock{i + 1}", block)
            c += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(c, c // 2))
                c //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(c))
        self.classifier = nn.Linear(c, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(F.adaptive_avg_pool2d(F.relu(self.features(x)), (1, 1)).flatten(1))


def _densenet(
    growth_rate: int, block_config: tuple[int, int, int, int], num_init_features: int, num_classes: int, **kwargs: Any
) -> DenseNet:
    return DenseNet(growth_rate, block_config, num_init_features, num_classes=num_classes, **kwargs)


def densenet121(num_classes: int = 1000, **kwargs: Any) -> DenseNet:
    """DenseNet-121 (k = 32, blocks 6, 12, 24, 16; 7,978,856 parameters)."""
    return _densenet(32, (6, 12, 24, 16), 64, num_classes, **kwargs)


def densenet161(num_classes: int = 1000, **kwargs: Any) -> DenseNet:
    """DenseNet-161 (k = 48, blocks 6, 12, 36, 24, conv0 96 maps; 28,681,000 parameters)."""
    return _densenet(48, (6, 12, 36, 24), 96, num_classes, **kwargs)


def densenet169(num_classes: int = 1000, **kwargs: Any) -> DenseNet:
    """DenseNet-169 (k = 32, blocks 6, 12, 32, 32; 14,149,480 parameters)."""
    return _densenet(32, (6, 12, 32, 32), 64, num_classes, **kwargs)


def densenet201(num_classes: int = 1000, **kwargs: Any) -> DenseNet:
    """DenseNet-201 (k = 32, blocks 6, 12, 48, 32; 20,013,928 parameters)."""
    return _densenet(32, (6, 12, 48, 32), 64, num_classes, **kwargs)


# torchvision's names (the models print alike); the public aliases stay importable
DenseLayer, DenseBlock, Transition = _DenseLayer, _DenseBlock, _Transition

__all__ = ["DenseBlock", "DenseLayer", "DenseNet", "Transition", "densenet121", "densenet161", "densenet169",
           "densenet201"]  # fmt: skip
