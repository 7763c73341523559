"""Adamax, NAdam and RAdam: Adam with an infinity norm, Nesterov momentum, a rectified step.

torch's algorithms, per parameter p with gradient g, step t = 1, 2, ... (cost O(numel)); all
start ``g = -g`` if maximize and ``g = g + weight_decay * p`` if weight_decay != 0 (NAdam and
RAdam with ``decoupled_weight_decay`` instead shrink ``p = p * (1 - lr * weight_decay)``)::

    Adamax:  m = m + (1 - beta1) * (g - m)
             u = max(beta2 * u, |g| + eps)
             p = p - lr / (1 - beta1**t) * m / u

    NAdam:   mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))        (and mu_{t+1})
             mu_product = mu_product * mu_t                                (a float32 scalar, as torch's)
             m = m + (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g
             denom = sqrt(v / (1 - beta2**t)) + eps
             p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
                   - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    RAdam:   m, v as NAdam;  m_hat = m / (1 - beta1**t)
             rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
             if rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                            p = p - m_hat * lr * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r
             else:          p = p - m_hat * lr

``lr`` may be a one-element Tensor (see :mod:`.optimizer`).

Scalar state that torch keeps in 0-d float32 tensors (NAdam's ``mu_product``, ASGD's ``eta`` and
``mu``) is kept here as Python floats rounded to float32 after every update, so the steps equal
torch's; ``step`` is an int, as in the other minicnn optimisers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .adam import lerp_
from .optimizer import Optimizer, check_lr, check_torch_flags, hyper_value


def float32_scalar(value: Any) -> float:
    """``value`` rounded as torch's float32 scalar state holds it (a Python float)."""
    return float(np.float32(float(value)))


def check_adam_like(name: str, lr: Any, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    """torch's ValueErrors for the settings Adam-like optimisers share."""
    check_lr(name, lr)
    if eps < 0.0:
        raise ValueError(f"{name}: invalid epsilon value {eps}")
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} (expected 0 <= beta < 1)")
    if weight_decay < 0.0:
        raise ValueError(f"{name}: invalid weight_decay value {weight_decay}")


def _decay(param: Any, grad: Any, group: dict[str, Any]) -> Any:
    """maximize and (coupled or decoupled) weight decay; returns the gradient to use."""
    g = -grad if group["maximize"] else grad
    wd = group["weight_decay"]
    if wd != 0:
        if group.get("decoupled_weight_decay", False):
            param *= 1 - hyper_value(group["lr"]) * wd
        else:
            g = g + wd * param
    return g


class Adamax(Optimizer):
    """``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
    maximize=False, differentiable=False, capturable=False)``; flags as in :mod:`.optimizer`."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_torch_flags("Adamax", differentiable=differentiable, capturable=capturable)
        check_adam_like("Adamax", lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_inf"] = xp.zeros_like(param)
        state["step"] += 1
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        g = _decay(param, grad, group)
        lerp_(exp_avg, g, 1 - beta1)
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.abs(g) + group["eps"], out=exp_inf)
        clr = hyper_value(group["lr"]) / (1 - beta1 ** state["step"])
        param += -clr * (exp_avg / exp_inf)


class NAdam(Optimizer):
    """``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
    differentiable=False)``; flags as in :mod:`.optimizer`."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_torch_flags("NAdam", differentiable=differentiable, capturable=capturable)
        check_adam_like("NAdam", lr, betas, eps, weight_decay)
        if momentum_decay < 0.0:
            raise ValueError(f"NAdam: invalid momentum_decay value {momentum_decay}")
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr, eps, psi = hyper_value(group["lr"]), group["eps"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        g = _decay(param, grad, group)

        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        mu_product = float32_scalar(np.float32(float(state["mu_product"])) * np.float32(mu))
        state["mu_product"] = mu_product

        lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g
        denom = xp.sqrt(exp_avg_sq / (1 - beta2**step))
        denom += eps
        param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
        param += (-lr * mu_next) / (1.0 - mu_product * mu_next) * (exp_avg / denom)


class RAdam(Optimizer):
    """``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
    *, foreach=None, maximize=False, capturable=False, differentiable=False)``; flags as in
    :mod:`.optimizer`."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_torch_flags("RAdam", differentiable=differentiable, capturable=capturable)
        check_adam_like("RAdam", lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr = hyper_value(group["lr"])
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        g = _decay(param, grad, group)
        lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g

        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        m_hat = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = xp.sqrt(exp_avg_sq)
            adaptive_lr += group["eps"]
            adaptive_lr = bias_correction2**0.5 / adaptive_lr
            param -= m_hat * lr * adaptive_lr * rect
        else:
            param -= m_hat * lr
