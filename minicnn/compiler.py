"""``mc.compile`` and ``mc.compiler``: torch.compile's interface, without a compiler.

minicnn runs every op eagerly as array code and has no graph compiler, so ``mc.compile(model)``
returns ``model`` itself (a module or a function), unchanged: a script written for
``torch.compile`` runs, at eager speed. It works as a call, as a bare decorator
(``@mc.compile``) and as a decorator with arguments (``@mc.compile(mode="max-autotune")``);
the arguments are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile", "disable", "is_compiling", "reset"]


def compile(  # noqa: A001 - torch's name
    model: Callable | None = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | Callable | None = None,
    mode: str | None = None,
    options: dict[str, Any] | None = None,
    disable: bool = False,
    **kwargs: Any,
) -> Any:
    """``model`` unchanged (see the module docstring); without ``model``, a decorator that
    returns its argument unchanged."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise RuntimeError(f"compile(): expected a callable (a Module or a function), got {type(model).__name__}")
    return model


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None) -> Any:
    """torch.compiler.disable: ``fn`` unchanged (nothing is ever compiled); usable as a decorator."""
    return (lambda f: f) if fn is None else fn


def is_compiling() -> bool:
    """False: minicnn never traces code for a compiler."""
    return False


def reset() -> None:
    """Nothing to clear (torch.compiler.reset clears compiled code)."""
