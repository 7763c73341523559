"""Vision Transformer (Dosovitskiy, Beyer, Kolesnikov, Weissenborn, Zhai, Unterthiner, Dehghani,
Minderer, Heigold, Gelly, Uszkoreit & Houlsby, "An image is worth 16x16 words: Transformers for
image recognition at scale", ICLR 2021) in torchvision's layout (state-dict keys equal
torchvision's, so its weights load).

The paper applies the Transformer encoder of NLP (Vaswani et al. 2017; the pre-norm form) to an
image with as few changes as possible: the image is cut into P x P patches, each patch is
flattened and projected linearly to a D-dimensional "token" (a P x P convolution with stride P,
``conv_proj``), a learned class token is put in front of the sequence, a learned position
embedding is added, and the encoder's output at the class token goes to the classification head.
There is no convolution after the patchify step and so almost no built-in prior about images
(locality, translation equivariance): the model must learn them, which is why ViT needs large
pre-training sets (ImageNet-21k, JFT-300M) to beat a ResNet; trained on ImageNet-1k alone, it
needs strong regularisation and augmentation (DeiT's recipe, that of torchvision's weights).

Shapes through the network (N images, patch P, D = hidden_dim, S = (image_size / P)^2 + 1)::

    (N, 3, H, W) -> conv_proj (P x P, stride P) -> (N, D, H/P, W/P) -> (N, D, HW/P^2)
      -> (N, HW/P^2, D) -> class token in front -> (N, S, D) -> + pos_embedding (1, S, D)
      -> dropout -> L encoder blocks (N, S, D) -> LayerNorm -> token 0 (N, D) -> heads (N, classes)

An encoder block (``EncoderBlock``; (N, S, D) -> same; pre-norm residuals)::

    x = x + dropout(MultiheadAttention(LayerNorm(x)))      # every token attends to every token
    x = x + MLP(LayerNorm(x))                              # per token: Linear D -> M, GELU,
                                                           # dropout, Linear M -> D, dropout

Self-attention costs O(S^2 D) per block (S^2 = 38,025 pairs for a 224 image and P = 16), the MLP
O(S D M). The head is one Linear (fine-tuning) or, with ``representation_size`` R, Linear D -> R,
tanh, Linear R -> classes (the paper's pre-training head).

Table 1 of the paper (and torchvision's constructors; parameters at 224x224, 1000 classes)::

    model      layers L  hidden D  MLP M   heads  patch  parameters
    vit_b_16   12        768       3072    12     16      86,567,656
    vit_b_32   12        768       3072    12     32      88,224,232
    vit_l_16   24        1024      4096    16     16     304,326,632
    vit_l_32   24        1024      4096    16     32     306,535,400
    vit_h_14   32        1280      5120    16     14     632,045,800

``image_size`` fixes the length of the position embedding: the model takes only that size (it
must be a multiple of the patch size). Initialisation as torchvision's: conv_proj "LeCun"
truncated normal (std sqrt(1 / fan_in)), bias 0; class token 0; position embedding N(0, 0.02^2);
attention as ``nn.MultiheadAttention``'s (Xavier uniform, biases 0); MLP Xavier uniform weights,
N(0, 1e-12) biases; layer norms 1, 0; the head's weight and bias 0 (pre_logits: LeCun truncated
normal, bias 0). With ``conv_stem_configs`` (Xiao et al. 2021, "Early convolutions help
transformers see better") the patchify conv is replaced by a stack of stride-s 3x3
conv-BN-ReLU layers and a final 1x1 conv to D (its weight N(0, 2 / D), bias 0).

mc.summary counts torchvision's published multiply-adds (vit_b_16 17.564 G at 224x224): the
Encoder reports its blocks' attention (``multiply_adds``), which ``nn.MultiheadAttention`` (a
tuple output) cannot. Differences from torchvision: no ``weights``/``progress`` (load a state
dict, as for every mc.models constructor); the constructors name torchvision's keyword
arguments that matter (the rest go to VisionTransformer through ``**kwargs``); a wrong image
size or shape raises ValueError (torchvision: AssertionError).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from .. import nn
from ..autograd import Tensor, default_dtype
from ..ops.shape import cat
from ._blocks import MLP, Conv2dNormActivation

_LAYER_NORM = partial(nn.LayerNorm, eps=1e-6)  # the default norm_layer: LayerNorm(D, eps=1e-6)


class ConvStemConfig(NamedTuple):
    """One conv-norm-activation layer of a convolutional stem (torchvision's)."""

    out_channels: int
    kernel_size: int
    stride: int
    norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d
    activation_layer: Callable[..., nn.Module] = nn.ReLU


class MLPBlock(MLP):
    """The Transformer's MLP: Linear D -> M, GELU, Dropout, Linear M -> D, Dropout; (*, D) -> same.
    Children ``0``..``4`` (torchvision's); a state dict of the older layout (``linear_1``,
    ``linear_2``, version < 2) loads too."""

    _version = 2

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def _load_from_state_dict(
        self,
        state_dict: Any,
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            for i in range(2):
                for kind in ("weight", "bias"):
                    old_key, new_key = f"{prefix}linear_{i + 1}.{kind}", f"{prefix}{3 * i}.{kind}"
                    if old_key in state_dict:
                        state_dict[new_key] = state_dict.pop(old_key)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class EncoderBlock(nn.Module):
    """Pre-norm Transformer encoder block (see the module docstring); (N, S, D) -> same."""

    def __init__(
        self,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        dropout: float,
        attention_dropout: float,
        norm_layer: Callable[..., nn.Module] = _LAYER_NORM,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim != 3:
            raise ValueError(f"EncoderBlock: expected (batch_size, seq_length, hidden_dim), got {tuple(input.shape)}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """+ position embedding (1, S, D), dropout, the blocks ``layers.encoder_layer_i``, LayerNorm;
    (N, S, D) -> same."""

    def __init__(
        self,
        seq_length: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        dropout: float,
        attention_dropout: float,
        norm_layer: Callable[..., nn.Module] = _LAYER_NORM,
    ) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(np.empty((1, seq_length, hidden_dim), dtype=default_dtype()))
        nn.init.normal_(self.pos_embedding, std=0.02)  # as BERT's
        self.dropout = nn.Dropout(dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(
                num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer
            )
        self.layers = nn.Sequential(layers)
        self.ln = norm_layer(hidden_dim)

    def multiply_adds(self, output_shape: tuple[int, ...]) -> int:
        """Per sample, for mc.summary: the self-attention of every block (in_proj S x D x 3D,
        q k^T and weights x v 2 x S x S x D, out_proj S x D x D), which MultiheadAttention (a
        tuple output) does not report; the MLPs' Linear layers count themselves."""
        s, d = output_shape[1:]
        return len(self.layers) * (4 * s * d * d + 2 * s * s * d)

    def forward(self, input: Tensor) -> Tensor:
        s, d = self.pos_embedding.shape[1:]
        if input.ndim != 3 or tuple(input.shape[1:]) != (s, d):
            raise ValueError(f"Encoder: expected input (batch_size, {s}, {d}), got shape {tuple(input.shape)}")
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """(N, 3, image_size, image_size) -> logits (N, num_classes).

    ``patch_size`` P (image_size must be a multiple), ``num_layers`` L encoder blocks of
    ``hidden_dim`` D with ``num_heads`` heads and an MLP of ``mlp_dim``; ``dropout`` after the
    position embedding, the attention and in the MLPs, ``attention_dropout`` on the attention
    weights; ``representation_size``: a Linear + tanh before the head; ``norm_layer`` makes every
    layer norm from D (default LayerNorm, eps 1e-6); ``conv_stem_configs``: a convolutional stem
    instead of the patchify conv. Arguments as torchvision's ``VisionTransformer``."""

    input_size = (3, 224, 224)  # the default; each model's is (3, image_size, image_size)

    def __init__(
        self,
        image_size: int,
        patch_size: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        num_classes: int = 1000,
        representation_size: int | None = None,
        norm_layer: Callable[..., nn.Module] = _LAYER_NORM,
        conv_stem_configs: list[ConvStemConfig] | None = None,
    ) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError(
                f"VisionTransformer: image_size ({image_size}) must be a multiple of patch_size ({patch_size})"
            )
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.mlp_dim = mlp_dim
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.num_classes = num_classes
        self.representation_size = representation_size
        self.norm_layer = norm_layer
        self.input_size = (3, image_size, image_size)

        if conv_stem_configs is not None:
            seq_proj = nn.Sequential()
            prev_channels = 3
            for i, cfg in enumerate(conv_stem_configs):
                seq_proj.add_module(
                    f"conv_bn_relu_{i}",
                    Conv2dNormActivation(
                        in_channels=prev_channels,
                        out_channels=cfg.out_channels,
                        kernel_size=cfg.kernel_size,
                        stride=cfg.stride,
                        norm_layer=cfg.norm_layer,
                        activation_layer=cfg.activation_layer,
                    ),
                )
                prev_channels = cfg.out_channels
            seq_proj.add_module("conv_last", nn.Conv2d(prev_channels, hidden_dim, kernel_size=1))
            self.conv_proj: nn.Module = seq_proj
        else:
            self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)

        seq_length = (image_size // patch_size) ** 2 + 1  # the patches and the class token
        self.class_token = nn.Parameter(np.zeros((1, 1, hidden_dim), dtype=default_dtype()))
        self.encoder = Encoder(
            seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer
        )
        self.seq_length = seq_length

        heads_layers: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads_layers["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads_layers["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads_layers["act"] = nn.Tanh()
            heads_layers["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads_layers)

        if isinstance(self.conv_proj, nn.Conv2d):
            kh, kw = self.conv_proj.kernel_size
            nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / (self.conv_proj.in_channels * kh * kw)))
            if self.conv_proj.bias is not None:
                nn.init.zeros_(self.conv_proj.bias)
        else:
            last = self.conv_proj.conv_last
            nn.init.normal_(last.weight, mean=0.0, std=math.sqrt(2.0 / last.out_channels))
            if last.bias is not None:
                nn.init.zeros_(last.bias)
        if representation_size is not None:
            pre = self.heads.pre_logits
            nn.init.trunc_normal_(pre.weight, std=math.sqrt(1 / pre.in_features))
            nn.init.zeros_(pre.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x: Tensor) -> Tensor:
        """(N, 3, H, W) -> the patch tokens (N, HW / P^2, D)."""
        if x.ndim != 4 or x.shape[2] != self.image_size or x.shape[3] != self.image_size:
            raise ValueError(
                f"VisionTransformer: expected input (N, 3, {self.image_size}, {self.image_size}), "
                f"got shape {tuple(x.shape)}"
            )
        n = x.shape[0]
        grid = self.image_size // self.patch_size
        x = self.conv_proj(x)  # (N, D, H/P, W/P)
        if tuple(x.shape[1:]) != (self.hidden_dim, grid, grid):  # a conv stem whose strides do not make P
            raise ValueError(
                f"VisionTransformer: conv_proj gives {tuple(x.shape)}, expected (N, {self.hidden_dim}, {grid}, "
                f"{grid}) (image_size / patch_size = {grid} tokens a side)"
            )
        return x.reshape(n, self.hidden_dim, grid * grid).permute(0, 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = self._process_input(x)
        n = x.shape[0]
        x = cat([self.class_token.expand(n, -1, -1), x], dim=1)  # (N, S, D)
        x = self.encoder(x)
        return self.heads(x[:, 0])  # the class token's output


# Table 1 of the paper: (patch, layers, heads, hidden, mlp)
VIT_SETTINGS: dict[str, tuple[int, int, int, int, int]] = {
    "vit_b_16": (16, 12, 12, 768, 3072),
    "vit_b_32": (32, 12, 12, 768, 3072),
    "vit_l_16": (16, 24, 16, 1024, 4096),
    "vit_l_32": (32, 24, 16, 1024, 4096),
    "vit_h_14": (14, 32, 16, 1280, 5120),
}


def _vision_transformer(name: str, image_size: int, **kwargs: Any) -> VisionTransformer:
    patch, layers, heads, hidden, mlp = VIT_SETTINGS[name]
    return VisionTransformer(image_size, patch, layers, heads, hidden, mlp, **kwargs)


def vit_b_16(
    *,
    image_size: int = 224,
    num_classes: int = 1000,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    representation_size: int | None = None,
    **kwargs: Any,
) -> VisionTransformer:
    """ViT-B/16: 12 layers, hidden 768, MLP 3072, 12 heads, 16x16 patches; 86,567,656 parameters.
    ``**kwargs``: VisionTransformer's other arguments (norm_layer, conv_stem_configs)."""
    return _vision_transformer(
        "vit_b_16", image_size, num_classes=num_classes, dropout=dropout, attention_dropout=attention_dropout,
        representation_size=representation_size, **kwargs,
    )  # fmt: skip


def vit_b_32(
    *,
    image_size: int = 224,
    num_classes: int = 1000,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    representation_size: int | None = None,
    **kwargs: Any,
) -> VisionTransformer:
    """ViT-B/32: 12 layers, hidden 768, MLP 3072, 12 heads, 32x32 patches; 88,224,232 parameters."""
    return _vision_transformer(
        "vit_b_32", image_size, num_classes=num_classes, dropout=dropout, attention_dropout=attention_dropout,
        representation_size=representation_size, **kwargs,
    )  # fmt: skip


def vit_l_16(
    *,
    image_size: int = 224,
    num_classes: int = 1000,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    representation_size: int | None = None,
    **kwargs: Any,
) -> VisionTransformer:
    """ViT-L/16: 24 layers, hidden 1024, MLP 4096, 16 heads, 16x16 patches; 304,326,632 parameters."""
    return _vision_transformer(
        "vit_l_16", image_size, num_classes=num_classes, dropout=dropout, attention_dropout=attention_dropout,
        representation_size=representation_size, **kwargs,
    )  # fmt: skip


def vit_l_32(
    *,
    image_size: int = 224,
    num_classes: int = 1000,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    representation_size: int | None = None,
    **kwargs: Any,
) -> VisionTransformer:
    """ViT-L/32: 24 layers, hidden 1024, MLP 4096, 16 heads, 32x32 patches; 306,535,400 parameters."""
    return _vision_transformer(
        "vit_l_32", image_size, num_classes=num_classes, dropout=dropout, attention_dropout=attention_dropout,
        representation_size=representation_size, **kwargs,
    )  # fmt: skip


def vit_h_14(
    *,
    image_size: int = 224,
    num_classes: int = 1000,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    representation_size: int | None = None,
    **kwargs: Any,
) -> VisionTransformer:
    """ViT-H/14: 32 layers, hidden 1280, MLP 5120, 16 heads, 14x14 patches; 632,045,800 parameters
    at 224x224 (torchvision's SWAG weights are for 518x518)."""
    return _vision_transformer(
        "vit_h_14", image_size, num_classes=num_classes, dropout=dropout, attention_dropout=attention_dropout,
        representation_size=representation_size, **kwargs,
    )  # fmt: skip


__all__ = ["ConvStemConfig", "Encoder", "EncoderBlock", "MLPBlock", "VisionTransformer", "vit_b_16", "vit_b_32",
           "vit_h_14", "vit_l_16", "vit_l_32"]  # fmt: skip
