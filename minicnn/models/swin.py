"""Swin Transformer (Liu, Lin, Cao, Hu, Wei, Zhang, Lin & Guo, "Swin Transformer: Hierarchical vision
transformer using shifted windows", ICCV 2021) and Swin Transformer V2 (Liu, Hu, Lin, Yao, Xie,
Wei, Ning, Cao, Zhang, Dong, Wei & Guo, "Swin Transformer V2: Scaling up capacity and
resolution", CVPR 2022) in torchvision's layout (state-dict keys equal torchvision's, so its
weights load).

ViT attends globally over one coarse grid of tokens, at a cost quadratic in the image area.
Swin brings back two priors of convolutional networks: locality (self-attention only inside
non-overlapping M x M windows, a cost linear in the area) and a hierarchy (4 stages; between
them "patch merging" concatenates each 2x2 group of tokens, 4C, and projects it to 2C, halving
the resolution as a stride-2 convolution would). Windows alone would never exchange
information, so every second block shifts the map by (M/2, M/2) before partitioning ("shifted
windows", SW-MSA): the new windows straddle the old borders. The shift is a cyclic roll; the
tokens that wrap around are not neighbours in the image, so an attention mask (-100 before the
softmax) keeps attention inside the regions that were contiguous before the roll. Each head adds
a learned relative position bias B[dy, dx] (a table of (2M-1)^2 entries per head, indexed by the
buffer ``relative_position_index``) to its logits.

A block (``SwinTransformerBlock``; (N, H, W, C) -> same, channels-last)::

    x = x + stochastic_depth(W-MSA or SW-MSA(LayerNorm(x)))
    x = x + stochastic_depth(MLP(LayerNorm(x)))          # Linear C -> 4C, GELU, Linear 4C -> C

(shifted) window attention, for one block with heads h and window M x M::

    (N, H, W, C) -> pad H, W to multiples of M -> roll by (-M/2, -M/2) if shifted
      -> windows (N * nW, M*M, C) -> Linear C -> 3C -> q, k, v (N * nW, h, M*M, C/h)
      -> q k^T / sqrt(C/h) + bias (1, h, M*M, M*M) [+ mask (nW, M*M, M*M)] -> softmax -> . v
      -> (N * nW, M*M, C) -> Linear C -> C -> back to (N, H, W, C) -> roll back -> crop

V2 (``*V2`` classes), for stable training of large models at high resolution: residual
post-norm (``x + LayerNorm(attn(x))`` instead of ``x + attn(LayerNorm(x))``), scaled cosine
attention (cos(q, k) * exp(min(logit_scale, log 100)), a learned scale per head, instead of
q k^T / sqrt(d)), a continuous position bias: a 2-layer MLP (2 -> 512 -> h, ``cpb_mlp``) of
log-spaced relative coordinates (``relative_coords_table``), squashed to 16 * sigmoid, which
transfers to other window sizes; no bias on k; the patch merging normalises after its reduction.

Shapes through swin_t at 224x224 (torchvision's configurations, Table 1 of the papers)::

    stem      56x56   4x4/4 conv 3 -> C, to (N, H, W, C), LayerNorm
    stage 1   56x56   d1 blocks of width C,  heads h1, then PatchMerging C -> 2C
    stage 2   28x28   d2 blocks of width 2C, heads h2, then PatchMerging 2C -> 4C
    stage 3   14x14   d3 blocks of width 4C, heads h3, then PatchMerging 4C -> 8C
    stage 4    7x7    d4 blocks of width 8C, heads h4
    head              LayerNorm, to (N, C, H, W), global average pool, flatten, Linear

    model       C    depths         heads            window  parameters   default drop
    swin_t      96   (2, 2, 6, 2)   (3, 6, 12, 24)   7       28,288,354   0.2
    swin_s      96   (2, 2, 18, 2)  (3, 6, 12, 24)   7       49,606,258   0.3
    swin_b      128  (2, 2, 18, 2)  (4, 8, 16, 32)   7       87,768,224   0.5
    swin_v2_t   96   (2, 2, 6, 2)   (3, 6, 12, 24)   8       28,351,570   0.2
    swin_v2_s   96   (2, 2, 18, 2)  (3, 6, 12, 24)   8       49,737,442   0.3
    swin_v2_b   128  (2, 2, 18, 2)  (4, 8, 16, 32)   8       87,930,848   0.5

Any H, W works (maps are padded to the window and to even sizes before merging). A map no
larger than the window is one window and is not shifted. Initialisation as torchvision's: every
Linear's weight truncated normal std 0.02 and bias 0, the relative position bias table truncated
normal std 0.02, V2's logit scale log 10.

mc.summary counts torchvision's published multiply-adds (swin_t 4.491 G at 224x224): the
attention layers report theirs (``multiply_adds``), as their qkv and proj are applied as
functions. Differences from torchvision: no ``weights``/``progress`` (load a state dict, as for
every mc.models constructor); the constructors take ``stochastic_depth_prob`` (torchvision's
fix it and raise TypeError when it is given); a model of a single block gets drop probability 0
(torchvision's divides by zero); swin_v2_* have ``input_size`` 256x256 (their weights').
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from .. import nn
from ..autograd import Tensor, default_dtype
from ..nn import functional as F
from ..ops.shape import cat
from ._blocks import MLP, Permute


def _patch_merging_pad(x: Tensor) -> Tensor:
    """(..., H, W, C) -> (..., ceil(H/2), ceil(W/2), 4C): each 2x2 group's four tokens side by
    side (odd H or W padded with zeros), in torchvision's order (0,0), (1,0), (0,1), (1,1)."""
    h, w = x.shape[-3:-1]
    x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    x0 = x[..., 0::2, 0::2, :]
    x1 = x[..., 1::2, 0::2, :]
    x2 = x[..., 0::2, 1::2, :]
    x3 = x[..., 1::2, 1::2, :]
    return cat([x0, x1, x2, x3], dim=-1)


def _get_relative_position_bias(table: Tensor, index: Tensor, window_size: list[int]) -> Tensor:
    """table ((2Mh-1)(2Mw-1), heads) gathered by index (N*N,), N = Mh*Mw -> (1, heads, N, N)."""
    n = window_size[0] * window_size[1]
    bias = table[index.array].reshape(n, n, -1)
    return bias.permute(2, 0, 1).unsqueeze(0)


def _shift_mask(xp: Any, pad_h: int, pad_w: int, window_size: list[int], shift_size: list[int]) -> Any:
    """The SW-MSA mask (nW, N, N): 0 where two tokens of a window came from the same region of
    the unrolled map, -100 where the cyclic shift brought them together. A map (pad_h, pad_w)
    has 3 regions per axis: [0, n - M), [n - M, n - s), [n - s, n) (the last two wrapped)."""

    def regions(n: int, m: int, s: int) -> Any:
        i = xp.arange(n)
        return (i >= n - m).astype(np.int64) + (i >= n - s).astype(np.int64)

    (mh, mw), (sh, sw) = window_size, shift_size
    label = 3 * regions(pad_h, mh, sh)[:, None] + regions(pad_w, mw, sw)[None, :]  # (pad_h, pad_w)
    label = label.reshape(pad_h // mh, mh, pad_w // mw, mw).transpose(0, 2, 1, 3).reshape(-1, mh * mw)
    return xp.where(label[:, None, :] != label[:, :, None], -100.0, 0.0)


def shifted_window_attention(
    input: Tensor,
    qkv_weight: Tensor,
    proj_weight: Tensor,
    relative_position_bias: Tensor,
    window_size: list[int],
    num_heads: int,
    shift_size: list[int],
    attention_dropout: float = 0.0,
    dropout: float = 0.0,
    qkv_bias: Tensor | None = None,
    proj_bias: Tensor | None = None,
    logit_scale: Tensor | None = None,
    training: bool = True,
) -> Tensor:
    """Window multi-head self-attention with relative position bias, shifted or not
    (torchvision's function; see the module docstring). input (B, H, W, C) -> same;
    qkv_weight (3C, C), proj_weight (C, C), relative_position_bias (1, heads, N, N) with
    N = Mh * Mw; ``logit_scale`` (heads, 1, 1): V2's scaled cosine attention (and no k bias)."""
    if input.ndim != 4:
        raise ValueError(f"shifted_window_attention: expected input (B, H, W, C), got shape {tuple(input.shape)}")
    b, h, w, c = input.shape
    if c % num_heads != 0:
        raise ValueError(f"shifted_window_attention: the channels ({c}) must be divisible by num_heads ({num_heads})")
    mh, mw = window_size
    pad_r = (mw - w % mw) % mw
    pad_b = (mh - h % mh) % mh
    x = F.pad(input, (0, 0, 0, pad_r, 0, pad_b))
    pad_h, pad_w = h + pad_b, w + pad_r
    shift = [0 if mh >= pad_h else shift_size[0], 0 if mw >= pad_w else shift_size[1]]
    shifted = sum(shift) > 0
    if shifted:
        x = x.roll(shifts=(-shift[0], -shift[1]), dims=(1, 2))
    n_windows = (pad_h // mh) * (pad_w // mw)
    n = mh * mw
    x = x.reshape(b, pad_h // mh, mh, pad_w // mw, mw, c).permute(0, 1, 3, 2, 4, 5).reshape(b * n_windows, n, c)

    if logit_scale is not None and qkv_bias is not None:
        keep = qkv_bias.xp.ones(3 * c, dtype=qkv_bias.dtype)
        keep[c : 2 * c] = 0  # V2: no bias on k
        qkv_bias = qkv_bias * Tensor(keep)
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(b * n_windows, n, 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # (B * nW, heads, N, C / heads)
    if logit_scale is not None:
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * logit_scale.clamp(max=math.log(100.0)).exp()
    else:
        attn = (q * (c // num_heads) ** -0.5) @ k.transpose(-2, -1)
    attn = attn + relative_position_bias  # (B * nW, heads, N, N)
    if shifted:
        mask = _shift_mask(input.xp, pad_h, pad_w, window_size, shift).astype(attn.dtype)
        attn = attn.reshape(b, n_windows, num_heads, n, n) + Tensor(mask[None, :, None])
        attn = attn.reshape(-1, num_heads, n, n)
    attn = F.softmax(attn, dim=-1)
    attn = F.dropout(attn, p=attention_dropout, training=training)
    x = (attn @ v).transpose(1, 2).reshape(b * n_windows, n, c)
    x = F.linear(x, proj_weight, proj_bias)
    x = F.dropout(x, p=dropout, training=training)

    x = x.reshape(b, pad_h // mh, pad_w // mw, mh, mw, c).permute(0, 1, 3, 2, 4, 5).reshape(b, pad_h, pad_w, c)
    if shifted:
        x = x.roll(shifts=(shift[0], shift[1]), dims=(1, 2))
    return x[:, :h, :w, :]


class PatchMerging(nn.Module):
    """(..., H, W, C) -> (..., ceil(H/2), ceil(W/2), 2C): 2x2 groups concatenated (4C),
    LayerNorm(4C), Linear 4C -> 2C without bias."""

    def __init__(self, dim: int, norm_layer: Callable[..., nn.Module] = nn.LayerNorm) -> None:
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.reduction(self.norm(_patch_merging_pad(x)))


class PatchMergingV2(nn.Module):
    """V2's patch merging: the reduction first, then LayerNorm(2C)."""

    def __init__(self, dim: int, norm_layer: Callable[..., nn.Module] = nn.LayerNorm) -> None:
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2 * dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.reduction(_patch_merging_pad(x)))


class ShiftedWindowAttention(nn.Module):
    """(B, H, W, dim) -> same: :func:`shifted_window_attention` with the layers ``qkv``
    (dim -> 3 dim) and ``proj`` (dim -> dim), the learned ``relative_position_bias_table``
    ((2Mh-1)(2Mw-1), heads) and the buffer ``relative_position_index`` (Mh*Mw*Mh*Mw,) int64."""

    def __init__(
        self,
        dim: int,
        window_size: list[int],
        shift_size: list[int],
        num_heads: int,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        attention_dropout: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(window_size) != 2 or len(shift_size) != 2:
            raise ValueError("window_size and shift_size must be of length 2")
        self.window_size = window_size
        self.shift_size = shift_size
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_relative_position_bias_table()
        self.define_relative_position_index()

    def define_relative_position_bias_table(self) -> None:
        mh, mw = self.window_size
        table = np.zeros(((2 * mh - 1) * (2 * mw - 1), self.num_heads), dtype=default_dtype())
        self.relative_position_bias_table = nn.Parameter(table)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self) -> None:
        """index[i * N + j] = (dy + Mh - 1) * (2Mw - 1) + dx + Mw - 1 for tokens i, j of a window
        and (dy, dx) = position of i - position of j."""
        mh, mw = self.window_size
        coords = np.stack(np.meshgrid(np.arange(mh), np.arange(mw), indexing="ij")).reshape(2, -1)  # (2, N)
        rel = coords[:, :, None] - coords[:, None, :]  # (2, N, N)
        index = (rel[0] + mh - 1) * (2 * mw - 1) + rel[1] + mw - 1
        self.register_buffer("relative_position_index", index.reshape(-1).astype(np.int64))

    def multiply_adds(self, output_shape: tuple[int, ...]) -> int:
        """Per sample, for mc.summary (qkv and proj are applied as functions, not as layers):
        on the map padded to whole windows, T tokens of C channels in windows of N = Mh * Mw:
        qkv T x C x 3C, q k^T and weights x v 2 x T x N x C, proj T x C x C. V2's position-bias
        MLP does not depend on the input (it could be cached) and is left out, as in
        torchvision's published counts."""
        h, w, c = output_shape[-3:]
        (mh, mw), n = self.window_size, self.window_size[0] * self.window_size[1]
        tokens = -(-h // mh) * mh * -(-w // mw) * mw
        return 4 * tokens * c * c + 2 * tokens * n * c

    def get_relative_position_bias(self) -> Tensor:
        """(1, heads, N, N)."""
        return _get_relative_position_bias(
            self.relative_position_bias_table, self.relative_position_index, self.window_size
        )

    def forward(self, x: Tensor) -> Tensor:
        return shifted_window_attention(
            x,
            self.qkv.weight,
            self.proj.weight,
            self.get_relative_position_bias(),
            self.window_size,
            self.num_heads,
            shift_size=self.shift_size,
            attention_dropout=self.attention_dropout,
            dropout=self.dropout,
            qkv_bias=self.qkv.bias,
            proj_bias=self.proj.bias,
            logit_scale=getattr(self, "logit_scale", None),  # V2's cosine attention
            training=self.training,
        )


class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """V2: scaled cosine attention with ``logit_scale`` (heads, 1, 1) and the continuous position
    bias 16 * sigmoid(cpb_mlp(relative_coords_table)); the buffer ``relative_coords_table``
    (1, 2Mh-1, 2Mw-1, 2) holds sign(t) log2(1 + |t|) / 3 of the relative coordinates scaled to
    [-8, 8]."""

    def __init__(
        self,
        dim: int,
        window_size: list[int],
        shift_size: list[int],
        num_heads: int,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        attention_dropout: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(
            dim, window_size, shift_size, num_heads, qkv_bias=qkv_bias, proj_bias=proj_bias,
            attention_dropout=attention_dropout, dropout=dropout,
        )  # fmt: skip
        self.logit_scale = nn.Parameter(np.full((num_heads, 1, 1), math.log(10.0), dtype=default_dtype()))
        self.cpb_mlp = nn.Sequential(
            nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True), nn.Linear(512, num_heads, bias=False)
        )
        if qkv_bias:
            self.qkv.bias.array[dim : 2 * dim] = 0

    def define_relative_position_bias_table(self) -> None:
        mh, mw = self.window_size
        f32 = np.float32  # as torchvision's (a float32 buffer)
        dy = np.arange(-(mh - 1), mh, dtype=f32) / f32(mh - 1)
        dx = np.arange(-(mw - 1), mw, dtype=f32) / f32(mw - 1)
        table = np.stack(np.meshgrid(dy, dx, indexing="ij"), axis=-1)[None] * f32(8)  # (1, 2Mh-1, 2Mw-1, 2)
        table = np.sign(table) * np.log2(np.abs(table) + f32(1)) / f32(3)
        self.register_buffer("relative_coords_table", table.astype(f32))

    def get_relative_position_bias(self) -> Tensor:
        table = self.cpb_mlp(self.relative_coords_table).reshape(-1, self.num_heads)
        bias = _get_relative_position_bias(table, self.relative_position_index, self.window_size)
        return 16 * bias.sigmoid()


class SwinTransformerBlock(nn.Module):
    """Pre-norm Swin block (see the module docstring); (B, H, W, dim) -> same. ``attn_layer`` is
    called as ``attn_layer(dim, window_size, shift_size, num_heads, attention_dropout=,
    dropout=)``."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: list[int],
        shift_size: list[int],
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
        attn_layer: Callable[..., nn.Module] = ShiftedWindowAttention,
    ) -> None:
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn_layer(
            dim, window_size, shift_size, num_heads, attention_dropout=attention_dropout, dropout=dropout
        )
        self.stochastic_depth = nn.StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = norm_layer(dim)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class SwinTransformerBlockV2(SwinTransformerBlock):
    """V2's block: residual post-norm, ``x + norm(attn(x))``, ``x + norm(mlp(x))``."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: list[int],
        shift_size: list[int],
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
        attn_layer: Callable[..., nn.Module] = ShiftedWindowAttentionV2,
    ) -> None:
        super().__init__(
            dim, num_heads, window_size, shift_size, mlp_ratio=mlp_ratio, dropout=dropout,
            attention_dropout=attention_dropout, stochastic_depth_prob=stochastic_depth_prob,
            norm_layer=norm_layer, attn_layer=attn_layer,
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.stochastic_depth(self.norm1(self.attn(x)))
        return x + self.stochastic_depth(self.norm2(self.mlp(x)))


class SwinTransformer(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224 (swin_v2_*: 256x256), any size works.

    ``patch_size`` [ph, pw] of the patchify conv, ``embed_dim`` C, ``depths`` and ``num_heads``
    per stage (stage i has width C 2^i), ``window_size`` [Mh, Mw] (every second block of a stage
    shifts by M // 2); ``stochastic_depth_prob``: the drop probability of the last block (block
    i of n drops with p * i / (n - 1)); ``norm_layer`` makes every layer norm from a width
    (default LayerNorm, eps 1e-5); ``block`` (default :class:`SwinTransformerBlock`) and
    ``downsample_layer`` (default :class:`PatchMerging`) choose v1 or v2. Arguments as
    torchvision's ``SwinTransformer``."""

    input_size = (3, 224, 224)

    def __init__(
        self,
        patch_size: list[int],
        embed_dim: int,
        depths: list[int],
        num_heads: list[int],
        window_size: list[int],
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.1,
        num_classes: int = 1000,
        norm_layer: Callable[..., nn.Module] | None = None,
        block: Callable[..., nn.Module] | None = None,
        downsample_layer: Callable[..., nn.Module] = PatchMerging,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        block = SwinTransformerBlock if block is None else block
        norm_layer = partial(nn.LayerNorm, eps=1e-5) if norm_layer is None else norm_layer

        stem = nn.Sequential(
            nn.Conv2d(3, embed_dim, kernel_size=(patch_size[0], patch_size[1]), stride=(patch_size[0], patch_size[1])),
            Permute([0, 2, 3, 1]),
            norm_layer(embed_dim),
        )
        layers: list[nn.Module] = [stem]
        total = sum(depths)
        block_id = 0
        for i_stage, depth in enumerate(depths):
            dim = embed_dim * 2**i_stage
            stage: list[nn.Module] = []
            for i_layer in range(depth):
                # torchvision divides by total - 1 (a single block would divide by zero there)
                sd_prob = stochastic_depth_prob * float(block_id) / max(total - 1.0, 1.0)
                stage.append(
                    block(
                        dim,
                        num_heads[i_stage],
                        window_size=window_size,
                        shift_size=[0 if i_layer % 2 == 0 else m // 2 for m in window_size],
                        mlp_ratio=mlp_ratio,
                        dropout=dropout,
                        attention_dropout=attention_dropout,
                        stochastic_depth_prob=sd_prob,
                        norm_layer=norm_layer,
                    )
                )
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i_stage < len(depths) - 1:
                layers.append(downsample_layer(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(num_features)
        self.permute = Permute([0, 3, 1, 2])  # (N, H, W, C) -> (N, C, H, W)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"SwinTransformer: expected input (N, 3, H, W), got shape {tuple(x.shape)}")
        x = self.norm(self.features(x))
        return self.head(self.flatten(self.avgpool(self.permute(x))))


# torchvision's configurations: (embed_dim, depths, heads, window, default stochastic depth, v2)
SWIN_SETTINGS: dict[str, tuple[int, list[int], list[int], int, float, bool]] = {
    "swin_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 7, 0.2, False),
    "swin_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], 7, 0.3, False),
    "swin_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 7, 0.5, False),
    "swin_v2_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 8, 0.2, True),
    "swin_v2_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], 8, 0.3, True),
    "swin_v2_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 8, 0.5, True),
}


def _swin(name: str, num_classes: int, stochastic_depth_prob: float, **kwargs: Any) -> SwinTransformer:
    embed_dim, depths, heads, window, _, v2 = SWIN_SETTINGS[name]
    if v2:
        kwargs = {"block": SwinTransformerBlockV2, "downsample_layer": PatchMergingV2, **kwargs}
    model = SwinTransformer(
        [4, 4], embed_dim, list(depths), list(heads), [window, window],
        stochastic_depth_prob=stochastic_depth_prob, num_classes=num_classes, **kwargs,
    )  # fmt: skip
    if v2:
        model.input_size = (3, 256, 256)  # torchvision's V2 weights: 256x256 (8x8 windows on 64x64 tokens)
    return model


def swin_t(*, num_classes: int = 1000, stochastic_depth_prob: float = 0.2, **kwargs: Any) -> SwinTransformer:
    """Swin-T: C 96, depths (2, 2, 6, 2), heads (3, 6, 12, 24), window 7; 28,288,354 parameters.
    ``**kwargs``: SwinTransformer's other arguments (mlp_ratio, dropout, attention_dropout,
    norm_layer, block, downsample_layer)."""
    return _swin("swin_t", num_classes, stochastic_depth_prob, **kwargs)


def swin_s(*, num_classes: int = 1000, stochastic_depth_prob: float = 0.3, **kwargs: Any) -> SwinTransformer:
    """Swin-S: C 96, depths (2, 2, 18, 2), heads (3, 6, 12, 24), window 7; 49,606,258 parameters."""
    return _swin("swin_s", num_classes, stochastic_depth_prob, **kwargs)


def swin_b(*, num_classes: int = 1000, stochastic_depth_prob: float = 0.5, **kwargs: Any) -> SwinTransformer:
    """Swin-B: C 128, depths (2, 2, 18, 2), heads (4, 8, 16, 32), window 7; 87,768,224 parameters."""
    return _swin("swin_b", num_classes, stochastic_depth_prob, **kwargs)


def swin_v2_t(*, num_classes: int = 1000, stochastic_depth_prob: float = 0.2, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-T: C 96, depths (2, 2, 6, 2), heads (3, 6, 12, 24), window 8; 28,351,570 parameters."""
    return _swin("swin_v2_t", num_classes, stochastic_depth_prob, **kwargs)


def swin_v2_s(*, num_classes: int = 1000, stochastic_depth_prob: float = 0.3, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-S: C 96, depths (2, 2, 18, 2), heads (3, 6, 12, 24), window 8; 49,737,442 parameters."""
    return _swin("swin_v2_s", num_classes, stochastic_depth_prob, **kwargs)


def swin_v2_b(*, num_classes: int = 1000, stochastic_depth_prob: float = 0.5, **kwargs: Any) -> SwinTransformer:
    """Swin-V2-B: C 128, depths (2, 2, 18, 2), heads (4, 8, 16, 32), window 8; 87,930,848 parameters."""
    return _swin("swin_v2_b", num_classes, stochastic_depth_prob, **kwargs)


__all__ = ["PatchMerging", "PatchMergingV2", "ShiftedWindowAttention", "ShiftedWindowAttentionV2", "SwinTransformer",
           "SwinTransformerBlock", "SwinTransformerBlockV2", "shifted_window_attention", "swin_b", "swin_s", "swin_t",
           "swin_v2_b", "swin_v2_s", "swin_v2_t"]  # fmt: skip
