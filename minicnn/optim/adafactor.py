"""Adafactor: Adam-like steps with a factored second moment (torch 2.14's ``optim.Adafactor``).

torch's algorithm, per parameter p with gradient g, step t = 1, 2, ... (cost O(numel); the
second-moment memory of an (..., R, C) parameter is O(R + C) per leading index)::

    g = -g                                        if maximize
    w_t = t ** beta2_decay                        (1 - beta2_t; beta2_decay <= 0)
    rho = min(lr, 1 / sqrt(t))
    alpha = max(eps2, rms(p)) * rho               (rms(p) = ||p||_2 / sqrt(numel), before decay)
    p = p * (1 - lr * weight_decay)
    p of 2 or more dims (factored over its last two):
        row_var = lerp(row_var, mean(g * g, dim=-1), w_t)     (..., R, 1)
        col_var = lerp(col_var, mean(g * g, dim=-2), w_t)     (..., 1, C)
        v = row_var @ col_var / max(mean(row_var, dim=-2), eps1)
    else:
        variance = lerp(variance, g * g, w_t);  v = variance
    u = g / sqrt(max(v, eps1 ** 2))
    p = p - alpha / max(1, rms(u) / d) * u

eps = (eps1, eps2); eps1 None is the machine epsilon of the dtype of the group's first parameter
with a gradient (torch's rule, also in a group of mixed dtypes). ``lr`` may be a
one-element Tensor. State: ``step`` (an int, as the other minicnn optimisers; torch keeps a
0-d float tensor) and ``row_var`` / ``col_var`` or ``variance``, torch's names and shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .adam import lerp_
from .optimizer import Optimizer, check_lr, hyper_value


class Adafactor(Optimizer):
    """``Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
    *, foreach=None, maximize=False)``; ``foreach`` is a hint, ignored (see :mod:`.optimizer`)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        check_lr(name, lr)
        if not 0.0 >= beta2_decay:
            raise ValueError(f"{name}: beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"{name}: epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"{name}: epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"{name}: clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"{name}: weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(
            lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach, maximize=maximize
        )
        super().__init__(params, defaults)

    def _update_group(self, items: list[tuple[Any, Any, dict[str, Any]]], group: dict[str, Any]) -> None:
        eps1, eps2 = group["eps"]
        if eps1 is None and items and items[0][0].dtype.kind == "f":  # as torch: the first one's dtype, for all
            group = {**group, "eps": (float(np.finfo(items[0][0].dtype).eps), eps2)}
        super()._update_group(items, group)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = get_array_module(param)
        if param.dtype.kind != "f":
            raise TypeError(f"Adafactor: expected floating-point parameters, got dtype {param.dtype}")
        lr, wd, d = hyper_value(group["lr"]), group["weight_decay"], group["d"]
        eps1, eps2 = group["eps"]
        factored = grad.ndim > 1
        if not state:
            state["step"] = 0
            if factored:
                state["row_var"] = xp.zeros(grad.shape[:-1] + (1,), dtype=grad.dtype)
                state["col_var"] = xp.zeros(grad.shape[:-2] + (1, grad.shape[-1]), dtype=grad.dtype)
            else:
                state["variance"] = xp.zeros_like(grad)
        state["step"] += 1
        t = float(state["step"])
        g = -grad if group["maximize"] else grad

        weight = t ** group["beta2_decay"]
        rho = min(lr, 1 / t**0.5)
        alpha = _fmax(eps2, _norm_over(param, param.size**0.5, xp)) * rho  # a float; on a GPU a 0-d array
        if wd != 0:
            param *= 1 - lr * wd
        with np.errstate(divide="ignore", invalid="ignore"):  # eps1 = 0 and a zero gradient: NaN, as torch
            if factored:
                row_var, col_var = state["row_var"], state["col_var"]
                lerp_(row_var, (g * g).mean(axis=-1, keepdims=True), weight)
                lerp_(col_var, (g * g).mean(axis=-2, keepdims=True), weight)
                v = row_var @ col_var
                v /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
            else:
                lerp_(state["variance"], g * g, weight)
                v = state["variance"].copy()
            update = g / xp.sqrt(xp.maximum(v, eps1 * eps1))
        denom = _fmax(1.0, _norm_over(update, update.size**0.5 * d, xp))
        scale = -alpha / denom
        param += (scale if xp is np else scale.astype(update.dtype)) * update  # (as NumPy casts a float)


def _norm_over(a: Any, divisor: float, xp: Any) -> Any:
    """||a||_2 / divisor, the sum of squares in a's dtype, the division in float64: a Python
    float on the CPU, a 0-d device array on a GPU (no host read per parameter and step)."""
    norm = xp.sqrt((a * a).sum())
    return (float(norm) if xp is np else norm.astype(np.float64)) / divisor


def _fmax(floor: float, v: Any) -> Any:
    """max(floor, v) as Python's max (a NaN v gives floor), for a float or a 0-d array."""
    return max(floor, v) if isinstance(v, float) else get_array_module(v).fmax(v, floor)
