"""Rprop: resilient backpropagation, steps of per-coordinate sizes that follow the gradient's sign.

torch's algorithm, per parameter p with gradient g (``prev`` starts at zero, ``size`` at lr;
cost O(numel))::

    g = -g                                     if maximize
    s = sign(g * prev) -> etaplus where > 0, etaminus where < 0, 1 where 0 (or NaN: torch's sign(NaN) is 0)
    size = clamp(size * s, step_size_min, step_size_max)
    g = 0 where s == etaminus                  (a sign change: no step, and forget the gradient)
    p = p - sign(g) * size                     (no step where g is NaN, as sign(NaN) = 0)
    prev = g
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd import Tensor
from ..backend import get_array_module
from .optimizer import Optimizer, check_lr, check_torch_flags, hyper_value


class Rprop(Optimizer):
    """``Rprop(params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
    maximize=False, differentiable=False)``; flags as in :mod:`.optimizer`."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_torch_flags("Rprop", differentiable=differentiable, capturable=capturable)
        check_lr("Rprop", lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Rprop: invalid eta values {etas[0]}, {etas[1]} (expected 0 < etaminus < 1 < etaplus)")
        defaults = dict(
            lr=lr,
            etas=etas,
            step_sizes=step_sizes,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        etaminus, etaplus = group["etas"]
        size_min, size_max = group["step_sizes"]
        if not state:
            state["step"] = 0
            state["prev"] = xp.zeros_like(param)
            state["step_size"] = xp.full_like(param, hyper_value(group["lr"]))
        state["step"] += 1
        prev, step_size = state["prev"], state["step_size"]
        g = -grad if group["maximize"] else grad

        gp = g * prev  # NaN compares False both ways: factor 1, as torch's sign(NaN) == 0
        factor = xp.where(gp > 0, etaplus, xp.where(gp < 0, etaminus, 1.0)).astype(param.dtype, copy=False)
        step_size *= factor
        xp.clip(step_size, size_min, size_max, out=step_size)
        g = xp.where(factor == etaminus, 0, g).astype(param.dtype, copy=False)
        param -= _torch_sign(g) * step_size
        prev[...] = g


def _torch_sign(x: Any) -> Any:
    """torch's ``sign``: -1, 0 or 1, and 0 for NaN (NumPy's gives NaN), in ``x``'s dtype."""
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)
