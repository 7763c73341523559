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

The training kernels keep the centred input xc = x - mean rather than xhat = xc * inv_std
(xhat enters only multiplied by per-channel numbers, so inv_std is folded into those), and
every per-channel sum is one ``einsum`` that reads its operands once: the sum of squares and
sum(g * xc) never write a product array.

Cost (P = elements of x; a pass reads or writes P values), training: forward 2 read-only
reductions + 3 elementwise passes (xc, y = xc * scale, y += beta), backward 2 read-only
reductions + 4 elementwise passes. (The first version: 7 and 7 passes, xhat, xc * xc and
g * xhat written out; MobileNet v2's 52 batch norms, batch 4, 128x128, forward + backward,
1 thread, old and new alternating in one process under load: 31 -> 21 ms.)
Extra memory: xc (P) is kept for backward, plus per-channel vectors.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module


def per_channel(v: Any, ndim: int) -> Any:
    """A (C,) vector shaped (1, C, 1, ...) to broadcast against an ndim-dimensional x."""
    return v.reshape((1, v.shape[0]) + (1,) * (ndim - 2))  # C spelled out: it may be 0


def _ncl(v: Any) -> Any:
    """(N, C, *) -> an (N, C, L) view, L = the pixels of a channel (sizes spelled out, not -1:
    N or C may be 0)."""
    N, C = v.shape[:2]
    L = 1
    for d in v.shape[2:]:
        L *= d
    return v.reshape(N, C, L)


def channel_sum(v: Any) -> Any:
    """(C,) sums over every axis but 1, as one ``einsum`` (a single pass, no temporary; 3x
    faster than ``sum(axis=(0, 2, 3))`` and as accurate here)."""
    xp = get_array_module(v)
    return xp.einsum("ncl->c", _ncl(v))


def channel_dot(a: Any, b: Any) -> Any:
    """(C,) sums of a * b over every axis but 1, as one ``einsum``: the products are never
    stored (one read of each, instead of a product array written and read again)."""
    xp = get_array_module(a)
    return xp.einsum("ncl,ncl->c", _ncl(a), _ncl(b))


def batch_norm_train_forward(
    x: Any, weight: Any | None, bias: Any | None, eps: float = 1e-5
) -> tuple[Any, Any, Any, Any, Any]:
    """(y, mean, biased var, xc, inv_std) using this batch's statistics; xc = x - mean is what
    backward needs (xhat = xc * inv_std is never stored). An empty batch (N = 0) gives an empty
    y, and mean = var = 0 (sums of nothing; never used, not NaN).

    Passes over x-sized data: sum(x), xc = x - mean (written), sum(xc * xc) (einsum, read
    only), y = xc * (gamma * inv_std) (written), y += beta (in place)."""
    xp = get_array_module(x)
    m = max(1, x.size // max(1, x.shape[1]))
    mean = channel_sum(x) / m
    xc = x - per_channel(mean, x.ndim)
    var = channel_dot(xc, xc) / m
    inv_std = 1.0 / xp.sqrt(var + eps)
    scale = inv_std if weight is None else weight * inv_std
    y = xc * per_channel(scale, x.ndim)
    if bias is not None:
        y += per_channel(bias, x.ndim)
    return y, mean, var, xc, inv_std


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
    gy: Any, xc: Any, inv_std: Any, weight: Any | None, need_x_grad: bool = True
) -> tuple[Any, Any, Any]:
    """(dx or None, dgamma, dbeta) for the batch-statistics forward, from the centred input
    xc = x - mean that it returned. With xhat = xc * inv_std::

        dbeta = sum(g)     dgamma = sum(g * xhat) = inv_std * sum(g * xc)
        dx = gamma * inv_std * (g - dbeta/m - xc * (inv_std * dgamma / m))

    Passes: two reductions that only read (sum(g), einsum of g and xc), then four elementwise
    passes that build dx in one new array."""
    m = max(1, gy.size // max(1, gy.shape[1]))  # an empty batch: the sums below are 0, dx empty
    dbeta = channel_sum(gy)
    dgamma = channel_dot(gy, xc) * inv_std
    if not need_x_grad:
        return None, dgamma, dbeta
    nd = gy.ndim
    dx = xc * per_channel(inv_std * dgamma / m, nd)
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
        xc = x - per_channel(running_mean, nd)
        dgamma = channel_dot(gy, xc) * inv_std
        dbeta = channel_sum(gy)
    return dx, dgamma, dbeta
