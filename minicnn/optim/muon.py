"""Muon: momentum SGD whose step is the orthogonalised momentum (torch 2.14's ``optim.Muon``),
for 2-d parameters (weight matrices) only.

torch's algorithm, per (A, B) parameter p with gradient g::

    buf = lerp(buf, g, 1 - momentum)                    (buf = momentum buf + (1 - momentum) g)
    u = lerp(g, buf, momentum) if nesterov else buf
    O = NS(u): X = u / max(||u||_F, eps) (transposed when A > B), then ns_steps times
        G = X X^T;  X = a X + (b G + c G G) X           (ns_coefficients = (a, b, c))
    p = p * (1 - lr * weight_decay)
    p = p - lr * ratio * O,  ratio = sqrt(max(1, A / B))  ("original", the default)
                                    0.2 sqrt(max(A, B))   ("match_rms_adamw")
                                    sqrt(A / B)           ("spectral_unclamped")

Cost per step: 3 ns_steps matrix products of sizes min(A, B)^2 max(A, B), min(A, B)^3.

As torch, the Newton-Schulz iteration runs in bfloat16: every product and sum is formed in
float32 and rounded to bfloat16 (nearest, ties to even), as torch's CPU kernels do; NumPy has
no bfloat16, so the values are float32 arrays holding bfloat16 numbers (:func:`to_bfloat16`).
The step thus equals torch's to the bfloat16 rounding of each result (an intermediate whose
float32 sum lands on a rounding midpoint differently may differ by one bfloat16 unit).
State: ``momentum_buffer``, torch's name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .adam import lerp_
from .optimizer import Optimizer, check_lr, hyper_value

ADJUST_LR_FNS = ("original", "match_rms_adamw", "spectral_unclamped")


def to_bfloat16(x: Any) -> Any:
    """``x`` rounded to bfloat16 (through float32, as torch's conversion), as a float32 array."""
    xp = get_array_module(x)
    bits = xp.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)  # (same item size: any layout)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def zeropower_via_newtonschulz(u: Any, ns_coefficients: tuple[float, float, float], ns_steps: int, eps: float) -> Any:
    """torch's ``_zeropower_via_newtonschulz``: an approximate U V^T of the (A, B) matrix
    u = U S V^T, in bfloat16 (returned as float32 holding bfloat16 values)."""
    if ns_steps >= 100:
        raise ValueError("Muon: number of steps must be less than 100 for computational efficiency")
    if u.ndim != 2:
        raise ValueError(f"Muon: input tensor gradient must be a 2D matrix, got shape {u.shape}")
    if len(ns_coefficients) != 3:
        raise ValueError("Muon: coefficients must be a tuple of exactly 3 values")
    xp = get_array_module(u)
    a, b, c = (np.float32(k) for k in ns_coefficients)
    x = to_bfloat16(u)
    tall = u.shape[0] > u.shape[1]
    if tall:
        x = xp.ascontiguousarray(x.T)
    norm = to_bfloat16(xp.sqrt((x * x).sum(dtype=np.float32)))
    x = to_bfloat16(x / xp.maximum(norm, float(to_bfloat16(np.float32(eps)))))
    for _ in range(ns_steps):
        gram = to_bfloat16(x @ x.T)
        gram_update = to_bfloat16(b * gram + c * (gram @ gram))
        x = to_bfloat16(a * x + gram_update @ x)
    return x.T if tall else x


def adjust_lr(lr: float, adjust_lr_fn: str | None, shape: tuple[int, ...]) -> float:
    """The lr scaled for an (A, B) matrix, as torch's ``_adjust_lr``."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    elif adjust_lr_fn == "spectral_unclamped":
        ratio = math.sqrt(rows / cols)
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """``Muon(params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
    ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None)``:
    every parameter must be 2-d (use AdamW for biases, norms, embeddings)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | Tensor = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (3.4445, -4.7750, 2.0315),
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        name = type(self).__name__
        check_lr(name, lr)
        if not 0.0 <= momentum:
            raise ValueError(f"{name}: momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"{name}: weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ADJUST_LR_FNS:
            raise ValueError(f"{name}: adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            nesterov=nesterov,
            ns_coefficients=ns_coefficients,
            eps=eps,
            ns_steps=ns_steps,
            adjust_lr_fn=adjust_lr_fn,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        f"{name} only supports 2D parameters whereas we found a parameter with size: {p.shape}"
                    )

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, momentum = hyper_value(group["lr"]), group["momentum"]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = get_array_module(grad).zeros_like(grad)
        buf = state["momentum_buffer"]
        if grad.ndim != 2:  # (a parameter added later by add_param_group) refused before any update, as torch
            raise ValueError(f"Muon: Param gradient must be a 2D matrix, got shape {grad.shape}")
        lerp_(buf, grad, 1 - momentum)
        if group["nesterov"]:
            update = grad.copy()
            lerp_(update, buf, momentum)
        else:
            update = buf
        ortho = zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
        param *= 1 - lr * group["weight_decay"]
        param += -adjust_lr(lr, group["adjust_lr_fn"], param.shape) * ortho.astype(param.dtype)
