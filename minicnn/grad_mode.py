"""``mc.autograd.grad_mode``, torch.autograd.grad_mode: the context managers that switch graph
recording (:class:`no_grad`, :class:`enable_grad`, :class:`set_grad_enabled`,
:class:`inference_mode`), :class:`set_multithreading_enabled` and :class:`enforce_grad_layout_policy`."""

from __future__ import annotations

import functools
from typing import Any

from .autograd import enable_grad, no_grad, set_grad_enabled

__all__ = [
    "enable_grad",
    "enforce_grad_layout_policy",
    "no_grad",
    "set_grad_enabled",
    "set_multithreading_enabled",
]

_multithreading = True
_grad_layout_enforced = True


class set_multithreading_enabled:  # noqa: N801 - torch's name
    """torch's switch for multithreaded backward on accelerators, as a function or a context
    manager (the previous setting comes back at the block's end). It changes nothing here:
    minicnn's backward always runs on the calling thread."""

    def __init__(self, mode: bool) -> None:
        global _multithreading
        self.prev, _multithreading = _multithreading, bool(mode)
        self.mode = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        global _multithreading
        _multithreading = self.prev

    def clone(self) -> set_multithreading_enabled:
        """A copy of this switch (torch's)."""
        return self.__class__(self.mode)


class enforce_grad_layout_policy:  # noqa: N801 - torch's name
    """torch's switch for the gradient layout contract (an accumulated ``.grad`` gets its
    parameter's strides, or row-major ones), as a function or a context manager (the previous
    setting comes back at the block's end). ``enable=False`` lets torch keep an incoming gradient
    with another layout instead of copying it. The setting is kept and changes nothing here:
    minicnn's ``.grad`` has the layout the backward pass produced (row-major for a permuted
    parameter), which is the layout torch's relaxed policy gives; values never differ."""

    def __init__(self, enable: bool = True) -> None:
        global _grad_layout_enforced
        self.prev, _grad_layout_enforced = _grad_layout_enforced, bool(enable)
        self.mode = bool(enable)

    def __call__(self, func: Any) -> Any:
        """As a decorator: ``func`` runs with this setting, the one before it around the call."""
        global _grad_layout_enforced
        _grad_layout_enforced = self.prev

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        global _grad_layout_enforced
        _grad_layout_enforced = self.prev

    def clone(self) -> enforce_grad_layout_policy:
        """A copy of this switch (torch's)."""
        return self.__class__(self.mode)


def is_grad_layout_enforced() -> bool:
    """The current :class:`enforce_grad_layout_policy` setting (torch's
    ``torch._C._is_grad_layout_enforcement_enabled``)."""
    return _grad_layout_enforced


def __getattr__(name: str) -> Any:
    if name == "inference_mode":  # defined in minicnn/__init__.py, which loads after this module
        from . import inference_mode  # noqa: PLC0415

        return inference_mode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
