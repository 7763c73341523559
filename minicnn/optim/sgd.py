"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

torch's algorithm, per parameter p with gradient g (all arrays of p's shape, cost O(numel)):

    g = -g                              if maximize
    g = g + weight_decay * p            if weight_decay != 0
    if momentum != 0:
        b = g                           at the first step (no dampening)
        b = momentum * b + (1 - dampening) * g   afterwards
        g = g + momentum * b            if nesterov else  g = b
    p = p - lr * g
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import backend
from ..autograd import Tensor
from ..backend import get_array_module
from ..kernels import cuda
from .optimizer import Optimizer, check_lr, check_torch_flags, hyper_value


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
    foreach=None, differentiable=False, fused=None)``; the last three as in :mod:`.optimizer`."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_torch_flags("SGD", fused=fused, differentiable=differentiable)
        check_lr("SGD", lr)
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def _settings(self, group: dict[str, Any]) -> tuple:
        """The group's settings in :func:`sgd_step`'s order; a Tensor lr as the float it holds now."""
        names = ("momentum", "dampening", "weight_decay", "nesterov", "maximize")
        return (float(hyper_value(group["lr"])), *(group[k] for k in names))

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        buf = sgd_step(param, grad, state.get("momentum_buffer"), *self._settings(group))
        if buf is not None:
            state["momentum_buffer"] = buf

    def _update_group(self, items: list[tuple[Any, Any, dict[str, Any]]], group: dict[str, Any]) -> None:
        """GPU parameters of one dtype and device go to the multi-tensor CUDA kernel together
        (one launch per few tensors, like torch's foreach SGD); the rest one by one."""
        settings = self._settings(group)
        fused: dict[tuple, list] = {}
        rest = items
        if backend.cupy_if_loaded() is not None:  # (without CuPy every array is a host one)
            rest = []
            for item in items:
                param, grad, state = item
                if cuda.enabled_for(param, grad, state.get("momentum_buffer")):
                    fused.setdefault((param.dtype, param.device.id), []).append(item)
                else:
                    rest.append(item)
        for param, grad, state in rest:  # one by one (Optimizer._update_group, the settings read once)
            with backend.array_scope(param):
                buf = sgd_step(param, grad, state.get("momentum_buffer"), *settings)
            if buf is not None:
                state["momentum_buffer"] = buf
        for batch in fused.values():
            params, grads, states = zip(*batch)
            bufs = [s.get("momentum_buffer") for s in states]
            with backend.array_scope(params[0]):
                new_bufs = cuda.sgd.sgd_step_many(params, grads, bufs, *settings)
            for state, buf in zip(states, new_bufs):
                if buf is not None:
                    state["momentum_buffer"] = buf


def sgd_step(
    param: Any,
    grad: Any,
    buf: Any,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
) -> Any:
    """One SGD update of the array ``param`` in place (the algorithm in the module docstring);
    returns the momentum buffer (``buf`` updated in place, a new one at the first step, None
    without momentum). ``grad`` is never written. On a GPU the CUDA twin
    :func:`minicnn.kernels.cuda.sgd.sgd_step` does it in one fused pass."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    if momentum != 0:
        if buf is None:
            buf = get_array_module(param).array(g, dtype=param.dtype, copy=True)
        else:
            buf *= momentum
            if dampening == 0:
                buf += g  # (1 - 0) * g is g exactly: one array pass fewer
            else:
                buf += (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    param -= lr * g
    return buf
