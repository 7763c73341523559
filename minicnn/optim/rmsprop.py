"""RMSprop, optionally centered and with momentum.

torch's algorithm, per parameter p with gradient g (cost O(numel)):

    g = -g                                       if maximize
    g = g + weight_decay * p                     if weight_decay != 0
    v = alpha * v + (1 - alpha) * g * g          mean square
    if centered:
        a = a + (1 - alpha) * (g - a)            mean gradient (torch's lerp)
        avg = sqrt(v - a * a) + eps
    else:
        avg = sqrt(v) + eps
    if momentum > 0:
        b = momentum * b + g / avg               (b starts at zero)
        p = p - lr * b
    else:
        p = p - lr * g / avg
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd import Tensor
from ..backend import get_array_module
from .adam import lerp_
from .optimizer import Optimizer, check_lr, check_torch_flags, hyper_value


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
    capturable=False, foreach=None, maximize=False, differentiable=False)`` (torch's order; the
    implementation flags as in :mod:`.optimizer`)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_torch_flags("RMSprop", differentiable=differentiable, capturable=capturable)
        check_lr("RMSprop", lr)
        if eps < 0.0:
            raise ValueError(f"RMSprop: invalid epsilon value {eps}")
        if momentum < 0.0:
            raise ValueError(f"RMSprop: invalid momentum value {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"RMSprop: invalid weight_decay value {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"RMSprop: invalid alpha value {alpha}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr, alpha, momentum, wd = hyper_value(group["lr"]), group["alpha"], group["momentum"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        square_avg = state["square_avg"]

        g = -grad if group["maximize"] else grad
        if wd != 0:
            g = g + wd * param
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, g, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            param -= lr * buf
        else:
            param += -lr * g / avg
