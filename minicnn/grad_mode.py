"""``mc.autograd.grad_mode``, torch.autograd.grad_mode: the context managers that switch graph
recording (:class:`no_grad`, :class:`enable_grad`, :class:`set_grad_enabled`,
:class:`inference_mode`) and :class:`set_multithreading_enabled`."""

from __future__ import annotations

from typing import Any

from .autograd import enable_grad, no_grad, set_grad_enabled

__all__ = ["enable_grad", "no_grad", "set_grad_enabled", "set_multithreading_enabled"]

_multithreading = True


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


def __getattr__(name: str) -> Any:
    if name == "inference_mode":  # defined in minicnn/__init__.py, which loads after this module
        from . import inference_mode  # noqa: PLC0415

        return inference_mode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
