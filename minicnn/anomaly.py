"""Autograd anomaly detection, torch's ``torch.autograd.detect_anomaly``.

With the mode on (``mc.autograd.detect_anomaly()``, ``mc.autograd.set_detect_anomaly(True)`` or
``mc.set_anomaly_enabled(True)``):

- every recorded op (a :class:`~minicnn.autograd.Function` node) keeps the Python stack of its
  forward call (``traceback.extract_stack``, taken in ``Function.apply``);
- in backward, an error raised while a node runs is preceded by a warning naming the node
  (``"Error detected in MulBackward. Traceback of forward call that caused the error: ..."``)
  and showing that stack, as torch's; so is an error raised in a tensor's hook (named after
  the tensor's op, or ``AccumulateGrad`` for a leaf, whose hooks torch runs in that node);
- with ``check_nan`` (the default), a node whose returned gradient holds a NaN raises torch's
  ``RuntimeError("Function 'MulBackward' returned nan values in its 0th output.")`` (after the
  same warning).

A node is named ``<Function class>Backward`` (torch names a custom Function ``MyFnBackward``;
its built-in ops carry a ``0`` suffix, which minicnn's do not).

Cost: off, one flag test per recorded op in ``Function.apply`` and one per backward call;
on, a stack capture per recorded op and a NaN scan (a host read on a GPU) per gradient.
"""

from __future__ import annotations

import contextlib
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from . import autograd

__all__ = [
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_anomaly_enabled",
    "set_detect_anomaly",
]


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on (torch.is_anomaly_enabled)."""
    return autograd._anomaly_enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection checks gradients for NaN (torch.is_anomaly_check_nan_enabled)."""
    return autograd._anomaly_check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly detection on or off, and its NaN check (torch.set_anomaly_enabled)."""
    autograd._anomaly_enabled = bool(enabled)
    autograd._anomaly_check_nan = bool(check_nan)


class detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - torch's name
    """Anomaly detection on inside the block (or the decorated function), the previous state
    back after it. Warns that the mode is slow when made, as torch."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._saved: list[tuple[bool, bool]] = []
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should only be enabled "
            "for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        self._saved.append((is_anomaly_enabled(), is_anomaly_check_nan_enabled()))
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *exc: object) -> None:
        set_anomaly_enabled(*self._saved.pop())


class set_detect_anomaly:  # noqa: N801 - torch's name
    """Set anomaly detection on or off now (a function call), or for a ``with`` block, after
    which the previous state returns (torch.autograd.set_detect_anomaly)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


def node_name(fn: Any) -> str:
    """torch's name of a graph node: ``<Function class>Backward``."""
    return f"{type(fn).__name__}Backward"


def forward_traceback_warning(name: str, stack: Any) -> None:
    """torch's warning before an error raised in backward: the node and its forward's stack."""
    if stack is None:
        detail = (
            "No forward pass information available. Enable detect anomaly during forward pass for more information."
        )
    else:
        detail = "Traceback of forward call that caused the error:\n" + "".join(traceback.format_list(stack))
    warnings.warn(f"Error detected in {name}. {detail.rstrip()}", UserWarning, stacklevel=3)


def _check_nan(name: str, grads: Any) -> Any:
    """``grads`` (what a backward returned), or torch's RuntimeError if one holds a NaN."""
    for i, g in enumerate(grads if isinstance(grads, tuple) else (grads,)):
        if g is None:
            continue
        a = g.array if isinstance(g, autograd.Tensor) else g
        xp = autograd.backend.get_array_module(a)
        if a.dtype.kind in "fc" and bool(xp.isnan(a).any()):
            raise RuntimeError(f"Function '{name}' returned nan values in its {i}th output.")
    return grads


def checked_step(step: Callable[..., None]) -> Callable[..., None]:
    """The engine's per-node ``step`` with anomaly detection: the node's backward (and
    backward_graph) checked for NaN while it runs, and any error preceded by the warning."""

    def run(t: Any, g: Any, *rest: Any) -> None:
        fn = t._grad_fn
        if fn is None:
            return step(t, g, *rest)
        name, stack = node_name(fn), getattr(fn, "forward_stack", None)
        patched = autograd._anomaly_check_nan
        if patched:
            for method in ("backward", "backward_graph"):
                raw = getattr(fn, method)
                fn.__dict__[method] = lambda *a, _raw=raw, **k: _check_nan(name, _raw(*a, **k))
            raw_part = fn.backward_part  # a slice's gradient as (index, block): the block is checked
            fn.__dict__["backward_part"] = lambda gy: _check_part(name, raw_part(gy))
        try:
            step(t, g, *rest)
        except Exception:
            forward_traceback_warning(name, stack)
            raise
        finally:
            if patched:  # (a released node has dropped them already)
                for method in ("backward", "backward_graph", "backward_part"):
                    fn.__dict__.pop(method, None)

    return run


def _check_part(name: str, part: Any) -> Any:
    """``part`` (what ``backward_part`` returned: None or ``(index, block)``), checked as :func:`_check_nan`."""
    if part is not None:
        _check_nan(name, part[1])
    return part


def checked_hooks(run_hooks: Callable[..., Any]) -> Callable[..., Any]:
    """The engine's runner of a tensor's hooks (``run_hooks(t, ...)``) with anomaly detection:
    an error raised in a hook is preceded by the warning, naming the node the hook runs in as
    torch's (``t``'s op, ``AccumulateGrad`` for a leaf)."""

    def run(t: Any, *args: Any) -> Any:
        try:
            return run_hooks(t, *args)
        except Exception:
            fn = t._grad_fn
            if fn is None:
                forward_traceback_warning("AccumulateGrad", None)
            else:
                forward_traceback_warning(node_name(fn), getattr(fn, "forward_stack", None))
            raise

    return run
