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
reductions + 4 elementwise passes. On the CPU, where no channel's mean is large against its
spread (:data:`UNCENTRED_RATIO`), the forward takes the statistics from the raw sums of x and
x*x instead and keeps x itself for backward: 2 reductions + 2 elementwise passes, no xc
(:func:`batch_norm_train_forward`). (The first version: 7 and 7 passes, xhat, xc * xc and
g * xhat written out; MobileNet v2's 52 batch norms, batch 4, 128x128, forward + backward,
1 thread, old and new alternating in one process under load: 31 -> 21 ms.)
Extra memory: xc (P) is kept for backward, plus per-channel vectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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


FLAT_MAX_IMAGE = 1 << 17  # the (N, C*L) layout of channel_views up to this C*L (values per image)


def channel_views(arrays: tuple[Any, ...], *vectors: Any) -> tuple[list[Any], list[Any]]:
    """Equal-shape (N, C, *) arrays and (C,) vectors as the operands of per-channel elementwise
    passes: on the CPU, for C-contiguous arrays of N > 1 images with L > 1 pixels per channel
    and C*L <= ``FLAT_MAX_IMAGE``, each array as its (N, C*L) view and each vector repeated L
    times to (C*L,) (broadcast over the images only); else the arrays themselves and the vectors
    shaped (1, C, 1, ...). A result shaped like the views goes back with ``.reshape(shape)``.

    NumPy runs a (1, C, 1, 1) broadcast as N*C inner loops of L elements each, the vector's
    stride 0: 1.3-1.5x the time of the flat form with its C*L-element inner loops, repeats
    included (1 thread, (4, 232, 4, 4) to (4, 24, 64, 64), alternating). With one image, or
    images of more than 2^17 values ((4, 64, 64, 64): even), the repeated vectors (C*L values
    each, read from memory on every pass) cost as much as they save; a GPU broadcasts at no cost."""
    x = arrays[0]
    xp = get_array_module(x)
    N = x.shape[0] if x.ndim > 2 else 0
    L = x.size // max(1, N * x.shape[1]) if N else 0
    if xp is np and N > 1 and L > 1 and x.size // N <= FLAT_MAX_IMAGE and all(a.flags.c_contiguous for a in arrays):
        return [a.reshape(N, x.size // N) for a in arrays], [xp.repeat(v, L) for v in vectors]
    return list(arrays), [per_channel(v, x.ndim) for v in vectors]


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


UNCENTRED_RATIO = 16.0  # raw-sum statistics where mean(x^2) <= this * var in every channel (|mean| <~ 3.9 std)


def batch_norm_train_forward(
    x: Any, weight: Any | None, bias: Any | None, eps: float = 1e-5
) -> tuple[Any, Any, Any, Any, Any]:
    """(y, mean, biased var, xs, inv_std) using this batch's statistics; xs is what backward
    needs: the centred input xc = x - mean, or -- on the CPU, where every channel's spread is
    not small against its mean -- x itself (``xs is x``; then backward also takes ``mean``).
    xhat = xc * inv_std is never stored. An empty batch (N = 0) gives an empty y, and
    mean = var = 0 (sums of nothing; never used, not NaN).

    Passes over x-sized data, first the raw sums of x and x*x (two einsums, read only; per
    (image, channel) in x's dtype, then over the images in float64). Where
    mean(x^2) <= ``UNCENTRED_RATIO`` * var in every channel, var = mean(x^2) - mean^2 loses at
    most log2(16) = 4 bits to cancellation, and y = x * scale + shift follows in two passes:
    4 in all, one array written. Otherwise (a large mean; NaN or inf) the two-pass statistics:
    xc = x - mean (written), sum(xc * xc), y = xc * scale, y += beta: 6 passes, two arrays
    written; on the CPU 2 more, sum(xc) and xc -= that residual mean, to take the mean to
    float64 accuracy (the sums of a large mean in float32 are not). MobileNet v2's (4, 96, 64, 64),
    float32, 1 thread: 6.2 -> 3.1 ms (CPU time, medians of 9 alternating rounds under load)."""
    xp = get_array_module(x)
    nd = x.ndim
    if x.dtype.itemsize < 4:  # float16: x*x and its sums overflow at 65504; in float32, as torch's CPU kernel
        f32, x32 = xp.float32, x.astype(xp.float32)
        w32, b32 = (None if v is None else v.astype(f32) for v in (weight, bias))
        y, mean, var, xs, inv_std = batch_norm_train_forward(x32, w32, b32, eps)
        if xs is x32:  # backward takes float32 xs centred (never x itself, which is float16)
            xs -= per_channel(mean, nd)
        return y.astype(x.dtype), mean.astype(x.dtype), var.astype(x.dtype), xs, inv_std
    m = max(1, x.size // max(1, x.shape[1]))
    x3 = _ncl(x)
    sum_x = xp.einsum("ncl->nc", x3).sum(axis=0, dtype=xp.float64)
    if xp is np:  # (on a GPU the test below would wait for the sums: keep the two passes)
        mean_sq = xp.einsum("ncl,ncl->nc", x3, x3).sum(axis=0, dtype=xp.float64) / m
        mean64 = sum_x / m
        var64 = mean_sq - mean64 * mean64
        if bool(xp.all(var64 * UNCENTRED_RATIO >= mean_sq)):  # False at NaN
            mean, var = mean64.astype(x.dtype), var64.astype(x.dtype)
            y, inv_std = batch_norm_eval_forward(x, mean, var, weight, bias, eps)  # (the same scale and shift)
            return y, mean, var, x, inv_std
    mean = (sum_x / m).astype(x.dtype)
    xc = x - per_channel(mean, nd)
    if xp is np:
        # A mean large against the spread (the test above failed). The per-image sums in x's
        # dtype (and the rounding of mean to it) leave a large mean off by up to L ulps of it
        # (float32, mean 1e4 +- 1, 64x64: 1.6e-3, so dgamma 1.5e-3 relative): the mean of xc is
        # that residual, accurate since xc is of the order of the spread. One more reduction and
        # one pass in place, on this rare CPU path only.
        resid = channel_sum(xc) / m
        resid[~xp.isfinite(resid)] = 0  # inf - inf in a channel with an infinity: its mean stays inf, as torch's
        xc -= per_channel(resid, nd)
        mean = (mean.astype(xp.float64) + resid).astype(x.dtype)
    var = channel_dot(xc, xc) / m
    inv_std = 1.0 / xp.sqrt(var + eps)
    scale = inv_std if weight is None else weight * inv_std
    y = xc * per_channel(scale, nd)
    if bias is not None:
        y += per_channel(bias, nd)
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
    """(y, inv_std): y = (x - running_mean) * inv_std * gamma + beta, as one scale and shift.
    x (N, C, *) -> y like x; running stats, weight, bias and inv_std (C,). Cost: two elementwise
    passes over x (multiply, then add in place) plus O(C) for the per-channel scale and shift."""
    xp = get_array_module(x)
    inv_std = 1.0 / xp.sqrt(running_var + eps)
    scale = inv_std if weight is None else weight * inv_std
    shift = -running_mean * scale if bias is None else bias - running_mean * scale
    (xv,), (scale, shift) = channel_views((x,), scale, shift)
    y = xv * scale
    y += shift
    return y.reshape(x.shape), inv_std


def batch_norm_train_backward(
    gy: Any, xs: Any, inv_std: Any, weight: Any | None, need_x_grad: bool = True, mean: Any | None = None
) -> tuple[Any, Any, Any]:
    """(dx or None, dgamma, dbeta) for the batch-statistics forward, from the ``xs`` that it
    returned: the centred input xc = x - mean, or x itself, and then ``mean`` must be given
    (the forward returns x where ``xs is x``). With xhat = xc * inv_std::

        dbeta = sum(g)     dgamma = sum(g * xhat) = inv_std * sum(g * xc)
        dx = gamma * inv_std * (g - dbeta/m - xc * (inv_std * dgamma / m))

    and with x: sum(g * xc) = sum(g * x) - mean * dbeta, and xc * k = x * k - mean * k folded
    into the per-channel constant (the forward takes x only where |mean| is a few standard
    deviations at most, so little cancels).

    Passes: two reductions that only read (sum(g), einsum of g and xs), then four elementwise
    passes that build dx in one new array."""
    if gy.dtype.itemsize < 4:  # float16: sums in float32 (xs and inv_std are float32 already), as the forward
        f32 = get_array_module(gy).float32
        w32 = None if weight is None else weight.astype(f32)
        grads = batch_norm_train_backward(gy.astype(f32), xs, inv_std, w32, need_x_grad, mean)
        return tuple(None if g is None else g.astype(gy.dtype) for g in grads)  # type: ignore[return-value]
    m = max(1, gy.size // max(1, gy.shape[1]))  # an empty batch: the sums below are 0, dx empty
    dbeta = channel_sum(gy)
    dot = channel_dot(gy, xs)
    if mean is not None:
        dot = dot - mean * dbeta
    dgamma = dot * inv_std
    if not need_x_grad:
        return None, dgamma, dbeta
    k = inv_std * dgamma / m
    shift = dbeta / m if mean is None else dbeta / m - k * mean
    scale = inv_std if weight is None else weight * inv_std
    (gv, xv), (k, shift, scale) = channel_views((gy, xs), k, shift, scale)
    dx = xv * k
    xp = get_array_module(gy)
    xp.subtract(gv, dx, out=dx)
    dx -= shift
    dx *= scale
    return dx.reshape(gy.shape), dgamma, dbeta


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
