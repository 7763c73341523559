"""Adagrad and Adadelta: per-coordinate step sizes from accumulated squared gradients.

torch's algorithms, per parameter p with gradient g, step t = 1, 2, ... (cost O(numel)):

Adagrad (``s`` starts at ``initial_accumulator_value``)::

    g = -g                                  if maximize
    g = g + weight_decay * p                if weight_decay != 0
    clr = lr / (1 + (t - 1) * lr_decay)
    s = s + g * g
    p = p - clr * g / (sqrt(s) + eps)

Adadelta (``v`` and ``u`` start at zero)::

    g = -g                                  if maximize
    g = g + weight_decay * p                if weight_decay != 0
    v = rho * v + (1 - rho) * g * g
    delta = sqrt(u + eps) / sqrt(v + eps) * g
    u = rho * u + (1 - rho) * delta * delta
    p = p - lr * delta
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import backend
from ..autograd import Tensor
from ..backend import get_array_module
from .optimizer import Optimizer, check_lr, check_torch_flags, hyper_value


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
    foreach=None, *, maximize=False, differentiable=False, fused=None)``; the implementation flags
    as in :mod:`.optimizer`. As torch's, the state of every parameter (``step`` 0 and ``sum``) is
    made on construction, so ``state_dict()`` lists parameters that never had a gradient."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_torch_flags("Adagrad", fused=fused, differentiable=differentiable)
        check_lr("Adagrad", lr)
        if lr_decay < 0.0:
            raise ValueError(f"Adagrad: invalid lr_decay value {lr_decay}")
        if weight_decay < 0.0:
            raise ValueError(f"Adagrad: invalid weight_decay value {weight_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError(f"Adagrad: invalid initial_accumulator_value value {initial_accumulator_value}")
        if eps < 0.0:
            raise ValueError(f"Adagrad: invalid epsilon value {eps}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                with backend.array_scope(p.array):
                    self._init_state(p.array, self.state[p])

    def share_memory(self) -> None:
        """Move every ``sum`` accumulator into memory shared between processes (as
        :meth:`Tensor.share_memory_`), so processes forked afterwards update one (Hogwild)."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["sum"] = Tensor(state["sum"]).share_memory_().array

    def _init_state(self, param: Any, state: dict[str, Any]) -> None:
        state["step"] = 0
        state["sum"] = get_array_module(param).full_like(param, self.defaults["initial_accumulator_value"])

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        if not state:  # a parameter added later with add_param_group (torch uses the defaults' value)
            self._init_state(param, state)
        state["step"] += 1
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * param
        clr = hyper_value(group["lr"]) / (1 + (state["step"] - 1) * group["lr_decay"])
        state_sum = state["sum"]
        state_sum += g * g
        std = xp.sqrt(state_sum)
        std += group["eps"]
        param += -clr * (g / std)


class Adadelta(Optimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
    maximize=False, differentiable=False)``; the implementation flags as in :mod:`.optimizer`."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_torch_flags("Adadelta", differentiable=differentiable, capturable=capturable)
        check_lr("Adadelta", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value {rho} (expected 0 <= rho <= 1)")
        if eps < 0.0:
            raise ValueError(f"Adadelta: invalid epsilon value {eps}")
        if weight_decay < 0.0:
            raise ValueError(f"Adadelta: invalid weight_decay value {weight_decay}")
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            capturable=capturable,
            foreach=foreach,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            state["acc_delta"] = xp.zeros_like(param)
        state["step"] += 1
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * param
        square_avg *= rho
        square_avg += (1 - rho) * g * g
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps)
        delta /= std
        delta *= g
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param += -hyper_value(group["lr"]) * delta
