"""Differentiable layer norm, group norm and instance norm (kernel in kernels/layernorm.py).

All three normalise rows of the input seen as (R, M) and apply a per-element affine map on
the input seen as (A, P, B); they differ only in those shapes (the kernel's docstring has the
table). One Function, :class:`NormalizeRows`, does the work for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import autocast_state
from ..autograd import Function, Tensor
from ..kernels import layernorm as LN
from .errors import ShapeError
from .math import require_float as _check_float
from .norm import _check_channel_vector, batch_norm
from .shape import _prod


class NormalizeRows(Function):
    """Inputs: x, then weight and/or bias when given (``has_weight``/``has_bias`` say which).
    Settings: ``rows`` (R, M), ``layout`` (A, P, B), ``eps``; for instance norm with running
    statistics also ``running_mean``/``running_var`` (raw (C,) arrays, updated in place),
    ``momentum`` and ``batch`` (N)."""

    running_mean = running_var = None

    def forward(self, x, *params):
        weight = params[0] if self.has_weight else None
        bias = params[-1] if self.has_bias else None
        y, xhat, mean, var, inv_std = LN.norm_forward(x, self.rows, self.layout, weight, bias, self.eps)
        if self.running_mean is not None and x.size:
            LN.update_running_stats(
                self.running_mean, self.running_var, mean, var, self.rows[1], self.momentum, self.batch
            )
        self.running_mean = self.running_var = None  # never keep the caller's buffers alive
        if self.requires_grad:
            self.xhat, self.inv_std, self.weight = xhat, inv_std, weight
        return y

    def backward(self, gy):
        gx, gw, gb = LN.norm_backward(
            gy,
            self.xhat,
            self.inv_std,
            self.weight,
            self.rows,
            self.layout,
            need_x_grad=self.needs_input_grad[0],
            need_param_grads=any(self.needs_input_grad[1:]),
        )
        grads = [gx]
        if self.has_weight:
            grads.append(None if gw is None else gw.reshape(self.weight_shape))
        if self.has_bias:
            grads.append(None if gb is None else gb.reshape(self.weight_shape))
        return tuple(grads)

    def composite(self, x, *params):  # (for create_graph=True; running statistics untouched)
        (R, M), (A, P, B) = self.rows, self.layout
        x2 = x.reshape(R, M)
        xc = x2 - x2.sum(axis=1, keepdims=True) / max(M, 1)
        var = (xc * xc).sum(axis=1, keepdims=True) / max(M, 1)
        y = (xc / (var + self.eps).sqrt()).reshape(A, P, B)
        if self.has_weight:
            y = y * params[0].reshape(1, P, 1)
        if self.has_bias:
            y = y + params[-1].reshape(1, P, 1)
        return y.reshape(x.shape)


def _normalize(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    rows: tuple[int, int],
    layout: tuple[int, int, int],
    eps: float,
    weight_shape: tuple[int, ...],
    op: str = "normalisation",
    **running: object,
) -> Tensor:
    params = [p for p in (weight, bias) if p is not None]
    for p, name in ((weight, "weight"), (bias, "bias")):
        if p is not None and p.dtype != input.dtype:  # torch: "mixed dtype ... expect parameter to have scalar type"
            raise TypeError(f"{op}: input is {input.dtype} but the {name} is {p.dtype}; convert one of them")
    return NormalizeRows.apply(
        input,
        *params,
        has_weight=weight is not None,
        has_bias=bias is not None,
        rows=rows,
        layout=layout,
        eps=float(eps),
        weight_shape=weight_shape,
        **running,
    )


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int] | int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    _layer: str = "layer_norm",
) -> Tensor:
    """Normalise input (*, D1, ..., Dk) over its last k dims, ``normalized_shape`` = (D1, ..., Dk),
    then ``weight * xhat + bias`` with weight and bias of shape normalized_shape (or None).
    An int normalized_shape means (int,)."""
    if autocast_state.active:  # mc.autocast (minicnn/amp): float32 on "cuda", mixed float16/float32 on "cpu"

        def again(x: Tensor, w: Tensor | None, b: Tensor | None) -> Tensor:
            return layer_norm(x, normalized_shape, w, b, eps, _layer)

        out = autocast_state.norm(again, input, weight, bias)
        if out is not None:
            return out
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(d) for d in normalized_shape)
    if not shape:
        raise ValueError(f"{_layer}: expected normalized_shape with at least one dimension, got {shape}")
    _check_float(input, _layer)
    k = len(shape)
    if input.ndim < k or tuple(input.shape[-k:]) != shape:
        raise ShapeError(
            f"{_layer}: given normalized_shape={shape}, expected input of shape (*, {', '.join(map(str, shape))}), "
            f"got {input.shape}"
        )
    for v, name in ((weight, "weight"), (bias, "bias")):
        if v is not None and tuple(v.shape) != shape:
            raise ShapeError(f"{_layer}: expected {name} of shape {shape} (normalized_shape), got {tuple(v.shape)}")
    M = _prod(shape)
    R = _prod(input.shape[: input.ndim - k])
    return _normalize(input, weight, bias, (R, M), (R, M, 1), eps, shape, _layer)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    _layer: str = "group_norm",
) -> Tensor:
    """Split the C channels of input (N, C, *) into ``num_groups`` groups of C/num_groups
    consecutive channels; normalise each group of each sample over its channels and ``*``; then
    ``weight[c] * xhat + bias[c]`` with weight, bias of shape (C,) (or None)."""
    if autocast_state.active:  # mc.autocast (minicnn/amp): float32 on "cuda", mixed float16/float32 on "cpu"
        out = autocast_state.norm(lambda x, w, b: group_norm(x, num_groups, w, b, eps, _layer), input, weight, bias)
        if out is not None:
            return out
    if input.ndim < 2:
        raise ShapeError(f"{_layer}: expected an input of shape (N, C, *), got shape {input.shape}")
    _check_float(input, _layer)
    N, C = input.shape[:2]
    G = int(num_groups)
    if G <= 0 or C % G:
        raise ShapeError(
            f"{_layer}: expected the number of channels to be divisible by a positive num_groups, "
            f"got input of shape {input.shape} and num_groups={num_groups}"
        )
    for v, name in ((weight, "weight"), (bias, "bias")):
        _check_channel_vector(v, name, C, input.shape, _layer)
    S = _prod(input.shape[2:])
    if N * (C // G) * S == 1:  # torch's check (its batch-norm check on the input seen as (N*C/G, G, *))
        raise ValueError(
            f"{_layer}: expected more than 1 value per channel when training, got input of shape {input.shape} "
            f"and num_groups={num_groups}"
        )
    return _normalize(input, weight, bias, (N * G, C // G * S), (N, C, S), eps, (C,), _layer)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
    _layer: str = "instance_norm",
) -> Tensor:
    """Normalise each channel of each sample of input (N, C, *) over ``*``, then
    ``weight[c] * xhat + bias[c]``. With ``use_input_stats`` the running statistics, when
    given, are updated in place as torch does: the per-sample means and unbiased variances
    averaged over the batch enter the moving average with ``momentum``. Without it, the
    running statistics normalise instead (as batch norm's evaluation)."""
    if input.ndim < 2:
        raise ValueError(f"{_layer}: expected an input of shape (N, C, *), got shape {input.shape}")
    _check_float(input, _layer)
    N, C = input.shape[:2]
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{_layer}: running_mean and running_var must either both be None or neither be None")
    for v, name in ((running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"), (bias, "bias")):
        _check_channel_vector(v, name, C, input.shape, _layer)
        if v is not None and v.device != input.device:  # (the running stats are updated as raw arrays)
            raise RuntimeError(
                f"{_layer}: expected all tensors on one device, got {name} on {v.device}, input on {input.device}"
            )
    if not use_input_stats:
        if running_mean is None:
            raise ValueError(f"{_layer}: running_mean and running_var must be given when use_input_stats is False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps, _layer=_layer)
    S = _prod(input.shape[2:])
    if S == 1:
        raise ValueError(
            f"{_layer}: expected more than 1 spatial element when training, got input of shape {input.shape}"
        )
    running = {}
    if running_mean is not None:
        running = dict(
            running_mean=running_mean.array, running_var=running_var.array, momentum=float(momentum), batch=N
        )
    return _normalize(input, weight, bias, (N * C, S), (N, C, S), eps, (C,), _layer, **running)
