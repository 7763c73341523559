"""Adam and AdamW (decoupled weight decay).

torch's algorithm, per parameter p with gradient g, step t = 1, 2, ... (cost O(numel)):

    g = -g                               if maximize
    p = p * (1 - lr * weight_decay)      AdamW (decoupled)
    g = g + weight_decay * p             Adam with weight_decay != 0
    m = m + (1 - beta1) * (g - m)        first moment (torch's lerp)
    v = beta2 * v + (1 - beta2) * g * g  second moment
    v_max = max(v_max, v)                if amsgrad, and v_max replaces v below
    denom = sqrt(v) / sqrt(1 - beta2**t) + eps
    p = p - lr / (1 - beta1**t) * m / denom
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd import Tensor
from ..backend import get_array_module
from .optimizer import Optimizer, check_lr, check_torch_flags, hyper_value


def lerp_(start: Any, end: Any, weight: float) -> None:
    """``start += weight * (end - start)`` in place, rounded like torch's ``lerp_``."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        diff = end - start
        diff *= 1 - weight
        get_array_module(start).subtract(end, diff, out=start)


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
    decoupled_weight_decay=False)``; the implementation flags as in :mod:`.optimizer`."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        name = type(self).__name__
        check_torch_flags(name, fused=fused, differentiable=differentiable, capturable=capturable)
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError(f"{name}: lr as a Tensor is not supported for capturable=False and foreach=True")
        check_lr(name, lr)
        if eps < 0.0:
            raise ValueError(f"{name}: invalid epsilon value {eps}")
        betas = (float(betas[0]), float(betas[1]))
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} (expected 0 <= beta < 1)")
        if weight_decay < 0.0:
            raise ValueError(f"{name}: invalid weight_decay value {weight_decay}")
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr, wd, eps = hyper_value(group["lr"]), group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]

        g = -grad if group["maximize"] else grad
        if wd != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * wd
            else:
                g = g + wd * param
        lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g

        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            max_sq = state["max_exp_avg_sq"]
            xp.maximum(max_sq, exp_avg_sq, out=max_sq)
            denom = xp.sqrt(max_sq)
        else:
            denom = xp.sqrt(exp_avg_sq)
        denom /= bias_correction2_sqrt
        denom += eps
        param += -step_size * exp_avg / denom


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
    maximize=False, foreach=None, capturable=False, differentiable=False, fused=None)``:
    Adam whose weight decay shrinks the parameter directly, ``p *= 1 - lr * weight_decay``."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
