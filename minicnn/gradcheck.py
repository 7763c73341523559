"""Numerical gradient checking by central differences.

``gradcheck(fn, inputs)`` perturbs every element of every input that requires grad by
+-eps, estimates d(sum(fn(inputs) * v))/d(input) for a fixed random projection ``v`` and
compares with the analytic gradient from ``backward``. Use float64 inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor, no_grad


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the numerical one."""


def _outputs(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    return [o for o in out if isinstance(o, Tensor)]


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """True if analytic and numerical gradients agree for every input that requires grad;
    otherwise raise :class:`GradcheckError` naming the input, the worst index and both values."""
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 for a meaningful check")

    outs = _outputs(fn(*inputs))
    rng = np.random.default_rng(seed)
    projections = [o.xp.asarray(rng.standard_normal(o.shape)) for o in outs]

    def scalar() -> float:
        with no_grad():
            cur = _outputs(fn(*inputs))
        return float(sum(float((o.array * v).sum()) for o, v in zip(cur, projections)))

    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    total = None
    for o, v in zip(outs, projections):
        if o.requires_grad:
            term = (o * Tensor(v)).sum()
            total = term if total is None else total + term
    if total is None:
        raise GradcheckError("gradcheck: no output depends on an input that requires grad")
    total.backward()

    for i in checked:
        t = inputs[i]
        analytic = np.zeros(t.shape) if t.grad is None else backend.to_numpy(t.grad.array)
        numeric = np.zeros(t.shape)
        t.array = t.xp.ascontiguousarray(t.array)
        flat = t.array.reshape(-1)  # a view: perturb in place
        for k in range(flat.size):
            orig = flat[k].item()
            flat[k] = orig + eps
            plus = scalar()
            flat[k] = orig - eps
            minus = scalar()
            flat[k] = orig
            numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            k = np.unravel_index(int(np.argmax(err)), t.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {t.shape}) at index {tuple(int(j) for j in k)}: "
                f"analytic {analytic[k]:.8g} vs numerical {numeric[k]:.8g} "
                f"(atol={atol}, rtol={rtol})"
            )
    return True
