"""Batch normalisation over the channel axis, training and evaluation, with fused backward.

Shapes: x (N, C), (N, C, L) or (N, C, H, W); weight (gamma), bias (beta) and the running
statistics are (C,). Statistics are per channel over the m = N*L (or N*H*W) values of that
channel::

    mean = sum(x) / m          var = sum((x - mean)^2) / m          (biased: used to normalise)
    xhat = (x - mean) / sqrt(var + eps)          y = gamma * xhat + beta

Training updates the running statistics like torch, with the *unbiased* batch variance::

    running_mean = (1 - momentum) * running_mean + momentum * mean
    running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)

Evaluation normalises with the running statistics instead, an affine map per channel.

Backward in training (derivation in docs/kernels.md). With dxhat = g * gamma, and sums over
the m values of a channel::

    dx = (1/m) * inv_std * (m*dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
    dgamma = sum(g * xhat)       dbeta = sum(g)

Since sum(dxhat) = gamma*dbeta and sum(dxhat*xhat) = gamma*dgamma, the kernel computes
dx = gamma*inv_std * (g - dbeta/m - xhat*dgamma/m) from the two parameter gradients.

Cost (P = elements of x): forward about 6 elementwise passes over P plus two per-channel
reductions, backward about 6 passes and two reductions. Extra memory: xhat (P) is kept for
backward, plus per-channel vectors.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module


def per_channel(v: Any, ndim: int) -> Any:
    """A (C,) vector shaped (1, C, 1, ...) to broadcast against an ndim-dimensional x."""
    return v.reshape((1, v.shape[0]) + (1,) * (ndim - 2))  # C spelled out: it may be 0


def channel_sum(v: Any) -> Any:
    """(C,) sums over every axis but 1. Summing the contiguous trailing axis first is both
    faster and more accurate (pairwise summation) than one reduction over axes (0, 2, 3)."""
    N, C = v.shape[:2]
    m = 1
    for d in v.shape[2:]:
        m *= d
    return v.reshape(N, C, m).sum(axis=2).sum(axis=0)  # sizes spelled out, not -1: N or C may be 0


def batch_norm_train_forward(
    x: Any, weight: Any | None, bias: Any | None, eps: float = 1e-5
) -> tuple[Any, Any, Any, Any, Any]:
    """(y, mean, biased var, xhat, inv_std) using this batch's statistics. An empty batch
    (N = 0) gives an empty y, and mean = var = 0 (sums of nothing; never used, not NaN)."""
    xp = get_array_module(x)
    m = max(1, x.size // max(1, x.shape[1]))
    mean = channel_sum(x) / m
    xhat = x - per_channel(mean, x.ndim)
    var = channel_sum(xhat * xhat) / m
    inv_std = 1.0 / xp.sqrt(var + eps)
    xhat *= per_channel(inv_std, x.ndim)
    y = xhat if weight is None else xhat * per_channel(weight, x.ndim)
    if bias is not None:
        y = y + per_channel(bias, x.ndim)
    return y, mean, var, xhat, inv_std


def update_running_stats(running_mean: Any, running_var: Any, mean: Any, var: Any, m: int, momentum: float) -> None:
    """In place: exponential moving averages of the batch mean and the unbiased batch variance
    (m values per channel). momentum = 1/t gives the cumulative average of t batches."""
    running_mean *= 1.0 - momentum
    running_mean += momentum * mean
    running_var *= 1.0 - momentum
    running_var += momentum * var * (m / (m - 1))


def batch_norm_eval_forward(
    x: Any, running_mean: Any, running_var: Any, weight: Any | None, bias: Any | None, eps: float = 1e-5
) -> tuple[Any, Any]:
    """(y, inv_std): y = (x - running_mean) * inv_std * gamma + beta, as one scale and shift."""
    xp = get_array_module(x)
    inv_std = 1.0 / xp.sqrt(running_var + eps)
    scale = inv_std if weight is None else weight * inv_std
    shift = -running_mean * scale if bias is None else bias - running_mean * scale
    y = x * per_channel(scale, x.ndim)
    y += per_channel(shift, x.ndim)
    return y, inv_std


def batch_norm_train_backward(
    gy: Any, xhat: Any, inv_std: Any, weight: Any | None, need_x_grad: bool = True
) -> tuple[Any, Any, Any]:
    """(dx or None, dgamma, dbeta) for the batch-statistics forward."""
    m = max(1, gy.size // max(1, gy.shape[1]))  # an empty batch: the sums below are 0, dx empty
    dbeta = channel_sum(gy)
    dgamma = channel_sum(gy * xhat)
    if not need_x_grad:
        return None, dgamma, dbeta
    nd = gy.ndim
    dx = xhat * per_channel(dgamma / m, nd)
    xp = get_array_module(gy)
    xp.subtract(gy, dx, out=dx)
    dx -= per_channel(dbeta / m, nd)
    dx *= per_channel(inv_std if weight is None else weight * inv_std, nd)
    return dx, dgamma, dbeta


def batch_norm_eval_backward(
    gy: Any,
    x: Any,
    running_mean: Any,
    inv_std: Any,
    weight: Any | None,
    need_x_grad: bool = True,
    need_param_grads: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dgamma, dbeta) for the running-statistics forward, where the statistics are
    constants: dx = g * gamma * inv_std. Entries not asked for are None."""
    nd = gy.ndim
    dx = dgamma = dbeta = None
    if need_x_grad:
        dx = gy * per_channel(inv_std if weight is None else weight * inv_std, nd)
    if need_param_grads:
        xhat = (x - per_channel(running_mean, nd)) * per_channel(inv_std, nd)
        dgamma = channel_sum(gy * xhat)
        dbeta = channel_sum(gy)
    return dx, dgamma, dbeta
