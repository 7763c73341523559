"""nn.MultiheadAttention, torch's layer: parameters, state-dict keys, init and repr as torch's.

Parameters: ``in_proj_weight`` (3E, E) when kdim = vdim = embed_dim, else ``q_proj_weight``
(E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim); ``in_proj_bias`` (3E,)
with ``bias``; child ``out_proj`` (a Linear printed as torch's NonDynamicallyQuantizableLinear);
``bias_k`` / ``bias_v`` (1, 1, E) with ``add_bias_kv``.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Tensor, default_dtype
from ..ops.attention import multi_head_attention_forward
from . import init
from .linear import Linear
from .module import Module, Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under torch's name for MultiheadAttention's ``out_proj`` (same repr)."""


class MultiheadAttention(Module):
    """Multi-head attention: query (L, N, E), key (S, N, kdim), value (S, N, vdim) ->
    (output (L, N, E), weights (N, L, S) or None); (N, L, E) etc. with ``batch_first``,
    (L, E) unbatched. See :func:`minicnn.ops.attention.multi_head_attention_forward`."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"MultiheadAttention: embed_dim and num_heads must be greater than 0, "
                f"got embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        dt = default_dtype(dtype)
        xp = backend.xp_for_device(device)

        def param(*shape: int) -> Parameter:
            return Parameter(xp.empty(shape, dtype=dt))

        with backend.device_scope(device):
            if not self._qkv_same_embed_dim:
                self.q_proj_weight = param(embed_dim, embed_dim)
                self.k_proj_weight = param(embed_dim, self.kdim)
                self.v_proj_weight = param(embed_dim, self.vdim)
                self.register_parameter("in_proj_weight", None)
            else:
                self.in_proj_weight = param(3 * embed_dim, embed_dim)
                for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                    self.register_parameter(name, None)
            self.register_parameter("in_proj_bias", param(3 * embed_dim) if bias else None)
            self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
            self.register_parameter("bias_k", param(1, 1, embed_dim) if add_bias_kv else None)
            self.register_parameter("bias_v", param(1, 1, embed_dim) if add_bias_kv else None)
            self.add_zero_attn = add_zero_attn
            self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torch's: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k / bias_v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        batched = query.ndim == 3
        if self.batch_first and batched:  # (kept one tensor where they were: the packed in-projection sees it)
            if key is value:
                same = query is key
                key = value = key.transpose(1, 0)
                query = key if same else query.transpose(1, 0)
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = {}
        if not self._qkv_same_embed_dim:
            separate = dict(
                use_separate_proj_weight=True,
                q_proj_weight=self.q_proj_weight,
                k_proj_weight=self.k_proj_weight,
                v_proj_weight=self.v_proj_weight,
            )
        out, weights = multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
            **separate,
        )
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, weights
