"""ASGD: averaged stochastic gradient descent (Polyak-Ruppert averaging in ``ax``).

torch's algorithm, per parameter p with gradient g, step t = 1, 2, ... (``eta`` starts at lr,
``mu`` at 1, ``ax`` at zero; cost O(numel))::

    g = -g                                     if maximize
    g = g + weight_decay * p                   if weight_decay != 0
    p = p * (1 - lambd * eta) - eta * g
    ax = ax + mu * (p - ax)                    (ax = p while mu == 1)
    eta = lr / (1 + lambd * lr * t)**alpha
    mu = 1 / max(1, t - t0)

``eta`` and ``mu`` are Python floats rounded to float32, as torch's 0-d float32 tensors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd import Tensor
from ..backend import get_array_module
from .adam_variants import float32_scalar
from .optimizer import Optimizer, check_lr, check_torch_flags, hyper_value


class ASGD(Optimizer):
    """``ASGD(params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None, maximize=False,
    differentiable=False, capturable=False)``; flags as in :mod:`.optimizer`."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_torch_flags("ASGD", differentiable=differentiable, capturable=capturable)
        check_lr("ASGD", lr)
        if weight_decay < 0.0:
            raise ValueError(f"ASGD: invalid weight_decay value {weight_decay}")
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        lr, lambd = hyper_value(group["lr"]), group["lambd"]
        if not state:
            state["step"] = 0
            state["eta"] = float32_scalar(lr)
            state["mu"] = 1.0
            state["ax"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        eta, mu, ax = float(state["eta"]), float(state["mu"]), state["ax"]
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * param
        param *= 1 - lambd * eta
        param += -eta * g
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        state["eta"] = float32_scalar(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"] = float32_scalar(1 / max(1, step - group["t0"]))
