"""Differentiable batch norm and local response norm (kernels in kernels/batchnorm.py, lrn.py).

For ``create_graph=True`` both have a ``composite``: the forward again in differentiable ops
(batch norm's never touches the running statistics, which the forward updated once)."""

from __future__ import annotations

from .. import autocast_state
from ..autograd import Function, Tensor
from ..kernels import batchnorm as BN
from ..kernels import lrn as LRN
from .errors import ShapeError
from .pad import pad


class BatchNorm(Function):
    """Inputs: x, then weight and/or bias when given (``has_weight``/``has_bias`` say which).
    ``running_mean``/``running_var`` are raw arrays (or None), updated in place in training."""

    def forward(self, x, *params):
        weight = params[0] if self.has_weight else None
        bias = params[-1] if self.has_bias else None
        if self.training:
            y, mean, var, xc, inv_std = BN.batch_norm_train_forward(x, weight, bias, self.eps)
            # an empty batch (N = 0) leaves the running statistics as they are, as torch does
            # (the module still counts it in num_batches_tracked, as torch's does)
            if self.running_mean is not None and self.running_var is not None and x.size:
                BN.update_running_stats(
                    self.running_mean, self.running_var, mean, var, x.size // x.shape[1], self.momentum
                )
            if self.requires_grad:  # xc may be x itself: backward then needs the mean
                self.xc, self.inv_std, self.weight = xc, inv_std, weight
                self.xs_mean = mean if xc is x else None
        else:
            y, inv_std = BN.batch_norm_eval_forward(x, self.running_mean, self.running_var, weight, bias, self.eps)
            if self.requires_grad:  # copy the mean: later training steps update it in place
                self.x, self.inv_std, self.weight, self.mean = x, inv_std, weight, self.running_mean.copy()
        self.running_mean = self.running_var = None  # never keep the caller's buffers alive
        return y

    def backward(self, gy):
        need_x = self.needs_input_grad[0]
        if self.training:
            gx, gw, gb = BN.batch_norm_train_backward(gy, self.xc, self.inv_std, self.weight, need_x, self.xs_mean)
        else:
            need_params = any(self.needs_input_grad[1:])
            gx, gw, gb = BN.batch_norm_eval_backward(
                gy, self.x, self.mean, self.inv_std, self.weight, need_x, need_params
            )
        grads = [gx]
        if self.has_weight:
            grads.append(gw)
        if self.has_bias:
            grads.append(gb)
        return tuple(grads)

    def composite(self, x, *params):
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # a (C,) vector against x
        if self.training:
            axes = (0,) + tuple(range(2, x.ndim))
            m = max(1, x.numel() // max(1, x.shape[1]))
            xc = x - x.sum(axis=axes, keepdims=True) / m
            var = (xc * xc).sum(axis=axes, keepdims=True) / m
            y = xc / (var + self.eps).sqrt()
        else:  # the running statistics (copied in forward) are constants
            y = (x - Tensor(self.mean).reshape(shape)) * Tensor(self.inv_std).reshape(shape)
        if self.has_weight:
            y = y * params[0].reshape(shape)
        if self.has_bias:
            y = y + params[-1].reshape(shape)
        return y


def _check_channel_vector(v: Tensor | None, name: str, C: int, x_shape: tuple[int, ...], op: str) -> None:
    if v is not None and tuple(v.shape) != (C,):
        raise ShapeError(
            f"{op}: {name} of shape {tuple(v.shape)} does not fit input of shape {x_shape} "
            f"(expected ({C},), one value per channel)"
        )


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    _layer: str = "batch_norm",
    _check_eps: bool = True,
) -> Tensor:
    """Normalise each channel of input (N, C, *) with batch statistics (training) or the running
    ones (evaluation), then scale by weight and shift by bias. In training the running
    statistics, when given, are updated in place (unbiased variance), like torch.

    ``eps`` must be positive in training and non-negative in evaluation (torch's F.batch_norm
    checks; ``_check_eps=False`` for torch.batch_norm and torch.native_batch_norm, which have none)."""
    if autocast_state.active:  # mc.autocast (minicnn/amp): a float16 input with float32 weights, as torch

        def again(x: Tensor, w: Tensor | None, b: Tensor | None) -> Tensor:
            return batch_norm(x, running_mean, running_var, w, b, training, momentum, eps, _layer, _check_eps)

        out = autocast_state.norm(again, input, weight, bias, widen_on_cuda=False)
        if out is not None:
            return out
    if input.ndim < 2:
        raise ValueError(f"{_layer}: expected an input of shape (N, C, *), got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{_layer}: expected a floating point input, got dtype {input.dtype}")
    C = input.shape[1]
    for v, name in ((running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"), (bias, "bias")):
        _check_channel_vector(v, name, C, input.shape, _layer)
    # like torch, refuse only exactly one value per channel: an empty batch (N or C = 0) is fine
    if training and input.numel() // max(C, 1) == 1:
        raise ValueError(
            f"{_layer}: expected more than 1 value per channel when training, got input of shape {input.shape}"
        )
    if _check_eps and training and eps <= 0:  # a constant channel would divide by zero
        raise ValueError(f"{_layer}: eps must be positive during training, but got {eps}")
    if _check_eps and eps < 0:
        raise ValueError(f"{_layer}: eps must be non-negative, but got {eps}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{_layer}: running_mean and running_var must be given in evaluation mode (training=False)")
    if training and momentum is None:
        raise ValueError(
            f"{_layer}: momentum must be a number (the BatchNorm modules turn momentum=None "
            "into the cumulative average 1/num_batches_tracked)"
        )
    params = [p for p in (weight, bias) if p is not None]
    return BatchNorm.apply(
        input,
        *params,
        has_weight=weight is not None,
        has_bias=bias is not None,
        training=bool(training),
        momentum=momentum,
        eps=float(eps),
        running_mean=None if running_mean is None else running_mean.array,
        running_var=None if running_var is None else running_var.array,
    )


class LocalResponseNorm(Function):
    def forward(self, a):
        b, s, s_pow = LRN.lrn_forward(a, self.size, self.alpha, self.beta, self.k)
        if self.requires_grad:
            self.a, self.b, self.s, self.s_pow = a, b, s, s_pow
        return b

    def backward(self, gb):
        return LRN.lrn_backward(gb, self.a, self.b, self.s, self.s_pow, self.size, self.alpha, self.beta)

    def composite(self, a):
        N, C, M = LRN.ncm_shape(a.shape)
        a3 = a.reshape(N, C, M)
        padded = pad(a3 * a3, (0, 0, self.size // 2, (self.size - 1) // 2))  # zero channels around
        window = padded[:, 0:C]
        for o in range(1, self.size):
            window = window + padded[:, o : o + C]
        s = window * (self.alpha / self.size) + self.k
        return (a3 * s ** (-self.beta)).reshape(a.shape)


def local_response_norm(
    input: Tensor,
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
    _layer: str = "local_response_norm",
) -> Tensor:
    """LRN across channels, torch's definition b_c = a_c / (k + alpha/n * sum a_c'^2)^beta.
    input: (N, C, *) with at least 3 dimensions. AlexNet's paper constants need alpha=5e-4 here
    (kernels/lrn.py explains)."""
    if input.ndim < 3:
        raise ValueError(f"{_layer}: expected an input of 3 or more dimensions (N, C, *), got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{_layer}: expected a floating point input, got dtype {input.dtype}")
    if int(size) < 1:
        raise ValueError(f"{_layer}: size must be a positive integer, got {size}")
    return LocalResponseNorm.apply(input, size=int(size), alpha=float(alpha), beta=float(beta), k=float(k))
