"""Scaled dot-product attention and torch's multi-head attention forward, built from ops.

``scaled_dot_product_attention(query, key, value)``:
query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev), with

    weights = softmax(query @ key^T * scale + mask, dim=-1)      (..., L, S)
    output  = dropout(weights) @ value

Everything is written with existing differentiable ops (matmul, softmax, where, dropout), so
gradients of every order come from those ops; there is no fused kernel. Cost: two batched
GEMMs, 2 * L * S * (E + Ev) flops per batch entry, and the (..., L, S) weights are stored
(O(L * S) memory per head, unlike a flash kernel's O(L)).

``multi_head_attention_forward`` is torch.nn.functional's (sequence-first layout (L, N, E)).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import autocast_state
from ..autograd import Tensor
from .dropout import dropout
from .errors import DtypeError, ShapeError
from .linear import linear
from .pad import pad
from .shape import cat, chunk

_NEG_INF = float("-inf")


def _causal_mask(xp: Any, length: int, source_length: int) -> Tensor:
    """Boolean (L, S), True on and below the diagonal (torch's top-left alignment)."""
    return Tensor(xp.tril(xp.ones((length, source_length), dtype=bool)))


def _check_sdpa(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None, is_causal: bool) -> None:
    op = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ShapeError(
            f"{op}: query, key and value need at least 2 dims (..., L, E), (..., S, E), (..., S, Ev); "
            f"got {query.shape}, {key.shape}, {value.shape}"
        )
    if not (query.dtype == key.dtype == value.dtype) or query.dtype.kind != "f":
        raise DtypeError(
            f"{op}: query, key and value must have one floating dtype; got {query.dtype}, {key.dtype}, {value.dtype}"
        )
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(
            f"{op}: expected query (..., L, E), key (..., S, E), value (..., S, Ev); "
            f"got {query.shape}, {key.shape}, {value.shape}"
        )
    if attn_mask is not None:
        if is_causal:
            raise ShapeError(f"{op}: an explicit attn_mask should not be set when is_causal=True")
        if attn_mask.dtype not in (np.bool_, np.float32, query.dtype):
            raise DtypeError(
                f"{op}: attn_mask must be bool, float32 or of the query's dtype {query.dtype}; got {attn_mask.dtype}"
            )


def _check_broadcast(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None) -> None:
    """The leading dims of query, key and value, and the mask with (..., L, S), must broadcast."""
    op = "scaled_dot_product_attention"
    try:
        lead = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
        if attn_mask is not None:
            np.broadcast_shapes((*lead, query.shape[-2], key.shape[-2]), attn_mask.shape)
    except ValueError:
        mask = "" if attn_mask is None else f" and attn_mask {attn_mask.shape}"
        raise ShapeError(
            f"{op}: the batch dims of query {query.shape}, key {key.shape}, value {value.shape}{mask} "
            "do not broadcast (attn_mask must broadcast to (..., L, S))"
        ) from None


def _repeat_heads(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
    """Grouped-query attention: key/value (..., Hk, S, *) repeated to query's Hq heads."""
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        raise ValueError("scaled_dot_product_attention: enable_gqa needs inputs (..., H, L, E) with a heads dim")
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hk == 0 or hv == 0 or hq % hk or hq % hv:
        raise ValueError(
            f"scaled_dot_product_attention: with enable_gqa the number of heads in key ({hk}) and value ({hv}) "
            f"must divide the number of heads in query ({hq})"
        )
    return key.repeat_interleave(hq // hk, dim=-3), value.repeat_interleave(hq // hv, dim=-3)


def attention_weights(scores: Tensor, attn_mask: Tensor | None, safe: bool) -> Tensor:
    """softmax over the last dim of ``scores`` (..., L, S) after the mask: a bool mask keeps
    the True entries (the others get -inf), a float mask is added. ``safe``: rows without any
    finite score give weights 0 (torch's sdpa); otherwise they give NaN (plain softmax)."""
    if attn_mask is not None:
        if attn_mask.dtype == np.bool_:
            scores = scores.masked_fill(~attn_mask, _NEG_INF)
        else:
            scores = scores + attn_mask
    if not safe or attn_mask is None:
        return scores.softmax(-1)
    dead = Tensor(scores.xp.all(scores.array == _NEG_INF, axis=-1, keepdims=True))  # a constant
    return scores.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value: query (..., L, E), key (..., S, E),
    value (..., S, Ev) -> (..., L, Ev); leading dims broadcast.

    ``attn_mask`` (broadcasts to (..., L, S)): bool (True = takes part) or float (added to
    the scores). ``is_causal``: query i sees keys 0..i (top-left aligned, (L, S) lower
    triangle). ``scale`` None: 1/sqrt(E). ``dropout_p`` > 0 drops weights (always, as torch's
    function: pass 0.0 in eval). ``enable_gqa``: key/value heads (dim -3) repeat to the
    query's. A row whose keys are all masked gives zeros, as torch's."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        query, key, value, attn_mask = autocast_state.lower(query, key, value, attn_mask)
    _check_sdpa(query, key, value, attn_mask, is_causal)
    if enable_gqa:
        key, value = _repeat_heads(query, key, value)
    _check_broadcast(query, key, value, attn_mask)
    if attn_mask is not None and attn_mask.dtype != np.bool_ and attn_mask.dtype != query.dtype:
        attn_mask = attn_mask.to(query.dtype)  # torch takes a float32 mask for any query dtype
    if is_causal:
        attn_mask = _causal_mask(query.xp, query.shape[-2], key.shape[-2])
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    weights = attention_weights((query @ key.transpose(-2, -1)) * factor, attn_mask, safe=True)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


def _float_mask(mask: Tensor | None, dtype: Any, name: str) -> Tensor | None:
    """torch's _canonical_mask: a bool mask (True = masked out) as a float mask with -inf there; a float
    mask stays as it is (one of another float dtype is cast to the query's once merged, as torch's sdpa
    path takes it)."""
    if mask is None:
        return None
    if mask.dtype == np.bool_:
        xp = mask.xp
        return Tensor(xp.where(mask.array, xp.asarray(_NEG_INF, dtype=dtype), xp.asarray(0.0, dtype=dtype)))
    if mask.dtype.kind != "f":
        raise DtypeError(f"multi_head_attention_forward: {name} must be bool or floating; got {mask.dtype}")
    return mask


def _in_projection(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    weights: tuple[Tensor, Tensor, Tensor],
    bias: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    e = weights[0].shape[0]
    bq, bk, bv = (None, None, None) if bias is None else (bias[:e], bias[e : 2 * e], bias[2 * e :])
    return linear(query, weights[0], bq), linear(key, weights[1], bk), linear(value, weights[2], bv)


def _in_projection_packed(
    query: Tensor, key: Tensor, value: Tensor, weight: Tensor, bias: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    """q, k, v from the packed in_proj weight (3E, E), as torch's ``_in_projection_packed``:
    self-attention (query, key and value one tensor) is one GEMM with all 3E rows, cut in
    three; key is value (encoder-decoder attention) is one for q and one with the 2E rows of
    k and v; otherwise three."""
    e = weight.shape[0] // 3
    if key is value:
        if query is key:
            return chunk(linear(query, weight, bias), 3, -1)
        bq, bkv = (None, None) if bias is None else (bias[:e], bias[e:])
        return (linear(query, weight[:e], bq), *chunk(linear(key, weight[e:], bkv), 2, -1))
    return _in_projection(query, key, value, (weight[:e], weight[e : 2 * e], weight[2 * e :]), bias)


def _check_mha(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None) -> bool:
    """True for batched (L, N, E) inputs, False for unbatched (L, E); errors otherwise."""
    op = "multi_head_attention_forward"
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise ValueError(
                f"{op}: for a batched (3-D) query, key and value must be 3-D; got {key.shape}, {value.shape}"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise ValueError(
                f"{op}: for batched inputs key_padding_mask must be 2-D (N, S); got {key_padding_mask.shape}"
            )
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise ValueError(
                f"{op}: for an unbatched (2-D) query, key and value must be 2-D; got {key.shape}, {value.shape}"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise ValueError(
                f"{op}: for unbatched inputs key_padding_mask must be 1-D (S,); got {key_padding_mask.shape}"
            )
        return False
    raise ValueError(f"{op}: query should be unbatched 2-D (L, E) or batched 3-D (L, N, E); got {query.shape}")


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """torch's multi-head attention: query (L, N, E), key (S, N, kdim), value (S, N, vdim)
    (or unbatched (L, E), ...) -> (attn_output (L, N, E), weights (N, L, S) averaged over the
    heads, (N, H, L, S) with ``average_attn_weights=False``, or None without ``need_weights``).

    Masks: ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N*H, L, S), bool (True =
    masked out) or float (added). With ``need_weights`` a fully masked row gives NaN (plain
    softmax, as torch's weights path); without it zeros (as torch's sdpa path)."""
    op = "multi_head_attention_forward"
    batched = _check_mha(query, key, value, key_padding_mask)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    if key.shape[1] != bsz or value.shape[1] != bsz:
        raise ValueError(
            f"{op}: query (L, N, E) {query.shape}, key {key.shape} and value {value.shape} must share the batch size N"
        )
    if is_causal and attn_mask is None:
        raise ShapeError(
            f"{op}: need attn_mask if specifying the is_causal hint; you may use "
            "Transformer.generate_square_subsequent_mask to create it"
        )
    if key_padding_mask is not None and attn_mask is not None and key_padding_mask.dtype != attn_mask.dtype:
        warnings.warn(
            "Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for both instead.",
            stacklevel=3,
        )
    key_padding_mask = _float_mask(key_padding_mask, query.dtype, "key_padding_mask")
    attn_mask = _float_mask(attn_mask, query.dtype, "attn_mask")
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"{op}: was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"{op}: embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise ValueError(
                f"{op}: key's sequence and batch dims {key.shape[:2]} do not match value's {value.shape[:2]}"
            )
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(f"{op}: use_separate_proj_weight is True but q/k/v_proj_weight is None")
        q, k, v = _in_projection(query, key, value, (q_proj_weight, k_proj_weight, v_proj_weight), in_proj_bias)
    else:
        if key.shape != value.shape:
            raise ValueError(f"{op}: key shape {key.shape} does not match value shape {value.shape}")
        if in_proj_weight is None:
            raise ValueError(f"{op}: use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    src_len = key.shape[0]
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if attn_mask.shape != (tgt_len, src_len):
                raise ShapeError(
                    f"{op}: the shape of the 2D attn_mask is {attn_mask.shape}, but should be {(tgt_len, src_len)}"
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if attn_mask.shape != (bsz * num_heads, tgt_len, src_len):
                raise ShapeError(
                    f"{op}: the shape of the 3D attn_mask is {attn_mask.shape}, "
                    f"but should be {(bsz * num_heads, tgt_len, src_len)}"
                )
        else:
            raise ShapeError(f"{op}: attn_mask's dimension {attn_mask.ndim} is not supported")
    if (bias_k is None) != (bias_v is None):
        raise ValueError(f"{op}: bias_k and bias_v must both be given or both be None")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError(f"{op}: bias cannot be added to a static key or value")
        k, v = cat([k, bias_k.repeat(1, bsz, 1)]), cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    # (len, N, E) -> (N*H, len, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, bsz * num_heads, head_dim, "static_k")
    v = _heads(v, static_v, bsz * num_heads, head_dim, "static_v")
    if add_zero_attn:
        k = _cat_zero_row(k)
        v = _cat_zero_row(v)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if key_padding_mask.shape != (bsz, src_len):
            raise ValueError(
                f"{op}: expected key_padding_mask of shape {(bsz, src_len)}, but got {key_padding_mask.shape}"
            )
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if attn_mask is not None and attn_mask.dtype != q.dtype:
        attn_mask = attn_mask.to(q.dtype)  # a float32 mask for a float64 query, merged in float32 as torch's
    scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)
    weights = attention_weights(scores, attn_mask, safe=not need_weights)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, out_proj_weight.shape[0])
    if not need_weights:
        return (out if batched else out.squeeze(1)), None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        return out.squeeze(1), weights.squeeze(0)
    return out, weights


def _cat_zero_row(x: Tensor) -> Tensor:
    """(B, S, D) -> (B, S + 1, D) with a zero row appended."""
    return pad(x, (0, 0, 0, 1))


def _heads(x: Tensor, static: Tensor | None, batch_heads: int, head_dim: int, name: str) -> Tensor:
    if static is None:
        return x.reshape(x.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.shape[0] != batch_heads or static.shape[2] != head_dim:
        raise ValueError(
            f"multi_head_attention_forward: expecting {name} of shape "
            f"({batch_heads}, S, {head_dim}); got {static.shape}"
        )
    return static
