"""ConvNeXt (Liu, Mao, Wu, Feichtenhofer, Darrell & Xie, "A ConvNet for the 2020s", CVPR
2022) in torchvision's layout (state-dict keys equal torchvision's, so its weights load).

The paper starts from ResNet-50 and changes it one step at a time towards the design of a
vision Transformer (Swin), keeping only what helps on ImageNet: stage depths in the ratio
1:1:3:1 (Swin's), a "patchify" stem (a 4x4 convolution with stride 4, no overlap), depthwise
convolutions (ResNeXt with one map per group) at a width of 96, the inverted bottleneck
(narrow -> 4x wide -> narrow, as a Transformer's MLP), a 7x7 depthwise kernel moved to the
top of the block (where the maps are narrow), and the "micro" design: GELU instead of ReLU,
one activation and one normalisation per block, layer norm instead of batch norm, and
separate downsampling layers (layer norm + 2x2 convolution with stride 2) between stages.

A block (``CNBlock``; (N, C, H, W) -> same)::

    x -> 7x7 depthwise conv -> to (N, H, W, C) -> LayerNorm(C) -> Linear C -> 4C -> GELU
      -> Linear 4C -> C -> to (N, C, H, W) -> x gamma (layer scale, per channel, 1e-6 at first)
      -> stochastic depth -> + x

The two linear layers act on the channels of each pixel, i.e. they are 1x1 convolutions
written channels-last (as the paper's code). Layer scale (Touvron et al. 2021) starts each
residual branch near zero, so that a deep stack starts near the identity. Stochastic depth
(Huang et al. 2016) drops a whole branch per sample in training, with a probability growing
linearly from 0 at the first block to ``stochastic_depth_prob`` at the last.

At 224x224 (the variants of section 3 of the paper)::

    stem      56x56   4x4/4 conv C1, LayerNorm2d
    stage 1   56x56   B1 blocks of width C1, then LayerNorm2d + 2x2/2 conv C1 -> C2
    stage 2   28x28   B2 blocks of width C2, then downsampling C2 -> C3
    stage 3   14x14   B3 blocks of width C3, then downsampling C3 -> C4
    stage 4    7x7    B4 blocks of width C4
    head              global average pool, LayerNorm2d, flatten, linear

    model            (C1, C2, C3, C4)        (B1, B2, B3, B4)   parameters    default drop
    convnext_tiny    (96, 192, 384, 768)     (3, 3, 9, 3)       28,589,128    0.1
    convnext_small   (96, 192, 384, 768)     (3, 3, 27, 3)      50,223,688    0.4
    convnext_base    (128, 256, 512, 1024)   (3, 3, 27, 3)      88,591,464    0.5
    convnext_large   (192, 384, 768, 1536)   (3, 3, 27, 3)     197,767,336    0.5

Any H, W >= 32 works (the stem divides by 4, each downsampling by 2, rounding down).
Initialisation as torchvision's: Conv2d and Linear weights from N(0, 0.02^2) truncated to
[-2, 2], biases 0; layer norms weight 1, bias 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from .. import nn
from ..autograd import Tensor, default_dtype
from ..nn import functional as F
from ._blocks import Conv2dNormActivation, Permute


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of each pixel: (N, C, H, W) -> same, normalised over C
    (torchvision's: to channels-last, layer norm, back). weight and bias are (C,)."""

    def forward(self, x: Tensor) -> Tensor:
        (c,) = self.normalized_shape
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"LayerNorm2d({c}): expected input (N, {c}, H, W), got shape {tuple(x.shape)}")
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """The ConvNeXt block (see the module docstring); (N, dim, H, W) -> same. ``norm_layer``
    makes the channels-last normalisation from ``dim`` (default LayerNorm with eps 1e-6)."""

    def __init__(
        self,
        dim: int,
        layer_scale: float,
        stochastic_depth_prob: float,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(np.full((dim, 1, 1), layer_scale, dtype=default_dtype()))
        self.stochastic_depth = nn.StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: Tensor) -> Tensor:
        result = self.stochastic_depth(self.layer_scale * self.block(input))
        return result + input


class CNBlockConfig:
    """One stage: ``num_layers`` blocks of width ``input_channels``, then a downsampling layer
    to ``out_channels`` (none if None, the last stage)."""

    def __init__(self, input_channels: int, out_channels: int | None, num_layers: int) -> None:
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_channels={self.input_channels}, out_channels={self.out_channels}, "
            f"num_layers={self.num_layers})"
        )


class ConvNeXt(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224, any H, W >= 32 works.

    ``block_setting``: the stages (a list of :class:`CNBlockConfig`); ``stochastic_depth_prob``:
    the drop probability of the last block (block i of n drops with p * i / (n - 1));
    ``layer_scale``: the initial value of every block's gamma; ``block``: called as
    ``block(dim, layer_scale, sd_prob)`` for each block (default :class:`CNBlock`);
    ``norm_layer``: makes the stem's, the downsampling layers' and the head's normalisation
    from a channel count (default :class:`LayerNorm2d` with eps 1e-6; the blocks keep theirs).
    Arguments as torchvision's ``ConvNeXt`` (without its ignored ``**kwargs``)."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        block_setting: list[CNBlockConfig],
        stochastic_depth_prob: float = 0.0,
        layer_scale: float = 1e-6,
        num_classes: int = 1000,
        block: Callable[..., nn.Module] | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not (isinstance(block_setting, Sequence) and all(isinstance(s, CNBlockConfig) for s in block_setting)):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = CNBlock if block is None else block
        norm_layer = partial(LayerNorm2d, eps=1e-6) if norm_layer is None else norm_layer

        first = block_setting[0].input_channels
        stem = Conv2dNormActivation(
            3, first, kernel_size=4, stride=4, padding=0, norm_layer=norm_layer, activation_layer=None, bias=True
        )
        layers: list[nn.Module] = [stem]
        total = sum(cnf.num_layers for cnf in block_setting)
        block_id = 0
        for cnf in block_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                # drop probability grows linearly with depth (torchvision divides by total - 1;
                # a single block would divide by zero there, here it gets probability 0)
                sd_prob = stochastic_depth_prob * block_id / max(total - 1.0, 1.0)
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(
                    nn.Sequential(
                        norm_layer(cnf.input_channels),
                        nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2),
                    )
                )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        last_channels = last.input_channels if last.out_channels is None else last.out_channels
        self.classifier = nn.Sequential(norm_layer(last_channels), nn.Flatten(1), nn.Linear(last_channels, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


# Section 3 of the paper: (widths, blocks per stage) and torchvision's default
# stochastic depth probability of each size
CONVNEXT_SETTINGS: dict[str, tuple[tuple[int, int, int, int], tuple[int, int, int, int], float]] = {
    "tiny": ((96, 192, 384, 768), (3, 3, 9, 3), 0.1),
    "small": ((96, 192, 384, 768), (3, 3, 27, 3), 0.4),
    "base": ((128, 256, 512, 1024), (3, 3, 27, 3), 0.5),
    "large": ((192, 384, 768, 1536), (3, 3, 27, 3), 0.5),
}


def convnext_config(size: str) -> list[CNBlockConfig]:
    """The stages of ConvNeXt-``size`` ("tiny", "small", "base" or "large") as torchvision's."""
    if size not in CONVNEXT_SETTINGS:
        raise ValueError(f"ConvNeXt: size must be one of {', '.join(CONVNEXT_SETTINGS)}, got {size!r}")
    widths, depths, _ = CONVNEXT_SETTINGS[size]
    outs: list[int | None] = [*widths[1:], None]
    return [CNBlockConfig(c, o, n) for c, o, n in zip(widths, outs, depths)]


def _convnext(
    size: str,
    num_classes: int,
    stochastic_depth_prob: float,
    layer_scale: float,
    block: Callable[..., nn.Module] | None,
    norm_layer: Callable[..., nn.Module] | None,
) -> ConvNeXt:
    return ConvNeXt(
        convnext_config(size),
        stochastic_depth_prob=stochastic_depth_prob,
        layer_scale=layer_scale,
        num_classes=num_classes,
        block=block,
        norm_layer=norm_layer,
    )


def convnext_tiny(
    num_classes: int = 1000,
    stochastic_depth_prob: float = 0.1,
    layer_scale: float = 1e-6,
    block: Callable[..., nn.Module] | None = None,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> ConvNeXt:
    """ConvNeXt-T: widths (96, 192, 384, 768), blocks (3, 3, 9, 3); 28,589,128 parameters."""
    return _convnext("tiny", num_classes, stochastic_depth_prob, layer_scale, block, norm_layer)


def convnext_small(
    num_classes: int = 1000,
    stochastic_depth_prob: float = 0.4,
    layer_scale: float = 1e-6,
    block: Callable[..., nn.Module] | None = None,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> ConvNeXt:
    """ConvNeXt-S: widths (96, 192, 384, 768), blocks (3, 3, 27, 3); 50,223,688 parameters."""
    return _convnext("small", num_classes, stochastic_depth_prob, layer_scale, block, norm_layer)


def convnext_base(
    num_classes: int = 1000,
    stochastic_depth_prob: float = 0.5,
    layer_scale: float = 1e-6,
    block: Callable[..., nn.Module] | None = None,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> ConvNeXt:
    """ConvNeXt-B: widths (128, 256, 512, 1024), blocks (3, 3, 27, 3); 88,591,464 parameters."""
    return _convnext("base", num_classes, stochastic_depth_prob, layer_scale, block, norm_layer)


def convnext_large(
    num_classes: int = 1000,
    stochastic_depth_prob: float = 0.5,
    layer_scale: float = 1e-6,
    block: Callable[..., nn.Module] | None = None,
    norm_layer: Callable[..., nn.Module] | None = None,
) -> ConvNeXt:
    """ConvNeXt-L: widths (192, 384, 768, 1536), blocks (3, 3, 27, 3); 197,767,336 parameters."""
    return _convnext("large", num_classes, stochastic_depth_prob, layer_scale, block, norm_layer)


__all__ = ["CNBlock", "CNBlockConfig", "ConvNeXt", "LayerNorm2d", "Permute", "convnext_base", "convnext_config",
           "convnext_large", "convnext_small", "convnext_tiny"]  # fmt: skip
