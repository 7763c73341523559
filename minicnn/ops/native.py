"""torch's ``native_*`` top-level forms (ATen's kernels seen from Python) and weight_norm's
``norm_except_dim``, each delegating to minicnn's differentiable op so gradients flow through
the output:

* :func:`native_batch_norm` -> (out, save_mean, save_invstd): F.batch_norm plus the batch's
  per-channel mean and 1 / sqrt(biased var + eps) (training; empty (0,) tensors in evaluation,
  as torch's CPU kernel). The saved statistics are constants (torch: not differentiable).
* :func:`native_layer_norm` -> (out, mean, rstd), statistics of shape input.shape[:-k] + (1,)*k
  (constants, as torch).
* :func:`native_group_norm` -> (out, mean, rstd), statistics (N, group); differentiable, as
  torch's (computed again with ops: O(numel)).
* :func:`native_dropout` -> (out, mask bool): dropout with its kept-mask.
* :func:`native_channel_shuffle`, :func:`native_norm`, :func:`norm_except_dim`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..kernels import dropout as K
from .groupnorm import group_norm, layer_norm
from .norm import batch_norm
from .pixel import channel_shuffle
from .reduce import norm


def _stats(a: Any, axes: tuple[int, ...], eps: float, keepdims: bool) -> tuple[Any, Any]:
    """(mean, 1 / sqrt(biased var + eps)) of ``a`` over ``axes``, in a's dtype."""
    xp = backend.get_array_module(a)
    with backend.array_scope(a):
        mean = a.mean(axis=axes, keepdims=True)
        var = ((a - mean) ** 2).mean(axis=axes, keepdims=keepdims)
        rstd = (1.0 / xp.sqrt(var + a.dtype.type(eps))).astype(a.dtype)
        return (mean if keepdims else mean.reshape(var.shape)).astype(a.dtype), rstd


def native_batch_norm(
    input: Tensor,  # noqa: A002
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """torch.native_batch_norm: ``(F.batch_norm(...), save_mean, save_invstd)``; in training the
    batch statistics per channel (C,) (running statistics updated in place when given), in
    evaluation two empty (0,) tensors, as torch's. A float16 input with float32 parameters (torch's
    mixed-type kernel): out float16, the statistics float32."""
    if training and input.ndim >= 2 and input.numel() == input.shape[1] and input.numel() > 0:
        return _one_value_per_channel(input, weight, bias, running_mean, running_var, momentum, eps)
    out = batch_norm(
        input, running_mean, running_var, weight, bias, bool(training), momentum, eps, "native_batch_norm", False
    )
    if out.dtype != input.dtype:  # a float16 input with float32 parameters: torch's mixed-type kernel
        out = out.to(input.dtype)
    params = [t for t in (weight, bias, running_mean, running_var) if t is not None]
    stats_dtype = params[0].dtype if params and params[0].dtype != input.dtype else input.dtype
    xp = input.xp
    if not training:
        with backend.array_scope(input.array):
            empty = xp.zeros((0,), dtype=stats_dtype)
        return out, Tensor(empty), Tensor(empty.copy())
    axes = (0, *range(2, input.ndim))
    mean, invstd = _stats(input.array.astype(stats_dtype), axes, eps, keepdims=False)
    return out, Tensor(mean), Tensor(invstd)


def _one_value_per_channel(
    input: Tensor,  # noqa: A002
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """Training on one value per channel, which torch's native kernel takes (F.batch_norm
    refuses it): x - mean is 0, so out = bias (gradient 0 to x), invstd = 1 / sqrt(eps), and
    the running variance takes the unbiased variance 0 / 0 = NaN, as torch's."""
    shape = [1, input.shape[1]] + [1] * (input.ndim - 2)
    xp = input.xp
    with backend.array_scope(input.array):
        invstd = xp.full((input.shape[1],), 1.0 / np.sqrt(eps), dtype=input.dtype)
        mean = input.array.reshape(-1)
        if running_mean is not None and running_var is not None:
            running_mean.array *= 1.0 - momentum
            running_mean.array += momentum * mean
            running_var.array[...] = np.nan  # (1 - momentum) * var + momentum * 0 * (1 / 0)
            running_mean._version += 1
            running_var._version += 1
    out = (input - input) * Tensor(invstd.reshape(shape))
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out, Tensor(mean.copy()), Tensor(invstd)


def native_layer_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: Sequence[int],
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """torch.native_layer_norm: ``(F.layer_norm(...), mean, rstd)``, the statistics of shape
    input.shape[:-k] + (1,) * k for k = len(normalized_shape) (constants)."""
    out = layer_norm(input, normalized_shape, weight, bias, eps, "native_layer_norm")
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    mean, rstd = _stats(input.array, tuple(range(input.ndim - k, input.ndim)), eps, keepdims=True)
    return out, Tensor(mean), Tensor(rstd)


def native_group_norm(
    input: Tensor,  # noqa: A002
    weight: Tensor | None,
    bias: Tensor | None,
    N: int,  # noqa: N803 (ATen's names)
    C: int,  # noqa: N803
    HxW: int,  # noqa: N803
    group: int,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """torch.native_group_norm: ``(F.group_norm(input, group, weight, bias, eps), mean, rstd)``
    with the statistics (N, group), differentiable as torch's; N, C, HxW must describe input."""
    if input.ndim < 2 or (input.shape[0], input.shape[1], input.numel() // max(N * C, 1)) != (N, C, HxW):
        raise RuntimeError(
            f"native_group_norm: expected input with shape [{N}, {C}, *] and {HxW} values per channel, got "
            f"{list(input.shape)}"
        )
    out = group_norm(input, group, weight, bias, eps, "native_group_norm")
    rows = input.reshape(N, group, -1)
    mean = rows.mean(dim=-1)
    var = ((rows - mean.unsqueeze(-1)) ** 2).mean(dim=-1)
    return out, mean, (var + eps).rsqrt()


def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple[Tensor, Tensor]:  # noqa: A002
    """torch.native_dropout: ``(out, mask)``: in training (``train`` True or None) each element is
    kept with probability 1 - p (mask True) and scaled by 1 / (1 - p), else zeroed; otherwise
    ``(input.clone(), all-True mask)``. Differentiable through ``out``."""
    p = K.check_probability(p, "native_dropout")
    if input.dtype.kind != "f":
        raise TypeError(f"native_dropout: expected a floating point input, got dtype {input.dtype}")
    xp = input.xp
    if train is False:
        with backend.array_scope(input.array):
            keep = xp.ones(input.shape, dtype=bool)
        return input.clone(), Tensor(keep)
    with backend.array_scope(input.array):
        scaled = K.dropout_mask(tuple(input.shape), p, input.dtype, xp)
        keep = scaled != 0
    return input * Tensor(scaled), Tensor(keep)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002
    """torch.native_channel_shuffle: :func:`~minicnn.ops.pixel.channel_shuffle`."""
    return channel_shuffle(input, groups)


def native_norm(
    input: Tensor,  # noqa: A002
    p: Any = 2,
    dim: Any = None,
    keepdim: bool = False,
    dtype: Any = None,
) -> Tensor:
    """torch.native_norm (ATen's two overloads in one: ``(input, p=2)`` and ``(input, p, dim,
    keepdim, dtype)``): the vector p-norm, :func:`~minicnn.ops.reduce.norm`. (torch has only
    sparse kernels for it; minicnn computes the dense norm.)"""
    return norm(input, 2 if p is None else p, dim, keepdim, dtype)


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:  # noqa: A002
    """torch.norm_except_dim (weight_norm's helper): the ``pow``-norm of ``v`` over every dim but
    ``dim``, shaped (1, ..., v.shape[dim], ..., 1); ``dim=-1``: the norm of all of v (0-d)."""
    if dim == -1:
        return norm(v, pow)
    if not -v.ndim <= dim < v.ndim:
        raise IndexError(f"norm_except_dim: dim {dim} out of range for a {v.ndim}-d tensor")
    d = dim % v.ndim
    others = tuple(k for k in range(v.ndim) if k != d)
    return norm(v, pow, others, keepdim=True) if others else v.abs()


__all__ = [
    "native_batch_norm",
    "native_layer_norm",
    "native_group_norm",
    "native_dropout",
    "native_channel_shuffle",
    "native_norm",
    "norm_except_dim",
]
