"""Numerical gradient checking by central differences.

``gradcheck(fn, inputs)`` perturbs every element of every input that requires grad by
+-eps, estimates d(sum(fn(inputs) * v))/d(input) for a fixed random projection ``v`` and
compares with the analytic gradient from ``backward``. ``gradgradcheck`` does the same for
the second derivatives (``create_graph=True``). Use float64 inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor, enable_grad, no_grad
from .engine import grad


class GradcheckError(RuntimeError, AssertionError):
    """Raised when an analytic gradient disagrees with the numerical one: a RuntimeError, as
    torch's, and an AssertionError, as a failed check is in a test."""


def _outputs(out: Any) -> list[Tensor]:
    """The tensors of ``fn``'s result, however nested in tuples, lists and dicts (torch's
    gradcheck likewise checks every output; other values are ignored)."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _outputs(o)]
    return []


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    _constant_ok: bool = False,
) -> bool:
    """True if analytic and numerical gradients agree for every input that requires grad;
    otherwise raise :class:`GradcheckError` naming the input, the worst index and both values.

    The inputs that require grad are replaced by leaf copies (so a non-leaf input works, and
    the caller's tensors, their ``.grad`` and their memory are left alone); every output,
    however nested, is projected on a fixed random direction. Inputs other than float64 get a
    warning, as in torch: float32 rounding swamps a central difference with eps=1e-6."""
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} is {inputs[i].dtype}, not float64: the check is likely to fail on rounding",
                stacklevel=2,
            )
    args = list(inputs)
    for i in checked:
        t = inputs[i]
        with backend.array_scope(t.array):
            args[i] = Tensor(t.xp.array(t.array, copy=True, order="C"), requires_grad=True)

    outs = _outputs(fn(*args))
    rng = np.random.default_rng(seed)
    projections = [backend.to_device(rng.standard_normal(o.shape), o.device) for o in outs]  # on o's GPU

    def scalar() -> float:
        with no_grad():
            cur = _outputs(fn(*args))
        return float(sum(float((o.array * v).sum()) for o, v in zip(cur, projections)))

    total = None
    for o, v in zip(outs, projections):
        if o.requires_grad:
            term = (o * Tensor(v)).sum()
            total = term if total is None else total + term
    if total is None and not _constant_ok:
        raise GradcheckError("gradcheck: no output depends on an input that requires grad")
    if total is not None:  # (else every analytic gradient is 0: gradgradcheck of a linear fn)
        total.backward()

    for i in checked:
        t = args[i]
        analytic = np.zeros(t.shape) if t.grad is None else backend.to_numpy(t.grad.array)
        numeric = np.zeros(t.shape)
        flat = t.array.reshape(-1)  # a view of the copy: perturb in place
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


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any] | Tensor,
    grad_outputs: Sequence[Any] | Tensor | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """``torch.autograd.gradgradcheck``: second derivatives by central differences. It runs
    :func:`gradcheck` on the map (inputs, v) -> d<fn(inputs), v>/d inputs, the first
    derivatives taken with ``create_graph=True``; so both the gradients with respect to the
    inputs and those with respect to the seed ``v`` are checked. ``v`` (one per output) is
    ``grad_outputs`` or random float64, fixed by ``seed``. Since an op's ``backward_graph`` is a
    second implementation of its derivative, the first derivatives it gives are also compared
    with those of ``backward``. Use float64 inputs."""
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    n = len(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad")
    with enable_grad():
        outs = _outputs(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        seeds = [
            Tensor(backend.to_device(rng.standard_normal(o.shape), o.device), requires_grad=True)
            for o in outs
            if o.requires_grad
        ]
    else:
        given = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        seeds = [g if isinstance(g, Tensor) else Tensor(np.asarray(g, dtype=np.float64)) for g in given]

    # backward_graph is a second implementation of each op's derivative: it must agree with backward
    xs = [Tensor(inputs[i].array, requires_grad=True) if i in checked else inputs[i] for i in range(n)]
    with enable_grad():
        cur = [o for o in _outputs(fn(*xs)) if o.requires_grad]
        wrt = [xs[i] for i in checked]
        plain = grad(cur, wrt, list(seeds), retain_graph=True, allow_unused=True, materialize_grads=True)
        graph = grad(cur, wrt, list(seeds), create_graph=True, allow_unused=True, materialize_grads=True)
    for i, p, q in zip(checked, plain, graph):
        a, b = backend.to_numpy(p.array), backend.to_numpy(q.array)
        err = np.abs(b - a) - (atol + rtol * np.abs(a))
        if err.size and err.max() > 0:
            k = np.unravel_index(int(np.argmax(err)), a.shape)
            raise GradcheckError(
                f"gradgradcheck: input {i} (shape {tuple(a.shape)}) at index {tuple(int(j) for j in k)}: the first "
                f"derivative with create_graph=True is {b[k]:.8g}, backward gives {a[k]:.8g} (atol={atol}, rtol={rtol})"
            )

    def first_derivatives(*args: Tensor) -> tuple[Tensor, ...]:
        xs, vs = args[:n], args[n:]
        with enable_grad():  # gradcheck evaluates under no_grad; these need the graph
            cur = [o for o in _outputs(fn(*xs)) if o.requires_grad]
            wrt = [xs[i] for i in checked]
            return grad(cur, wrt, list(vs), create_graph=True, allow_unused=True, materialize_grads=True)

    return gradcheck(first_derivatives, (*inputs, *seeds), eps=eps, atol=atol, rtol=rtol, seed=seed, _constant_ok=True)
