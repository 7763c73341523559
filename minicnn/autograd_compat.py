"""The older and rarer names of ``torch.autograd``, as ``mc.autograd`` gives them.

- :class:`Variable`: torch's pre-0.4 wrapper, now an alias: ``Variable(t)`` is ``t.detach()``
  (the same memory), ``Variable(t, requires_grad=True)`` that alias as a new leaf, and every
  tensor is an instance (``isinstance(x, Variable)``).
- :func:`variable`: raises, as torch's (use ``mc.tensor``).
- :func:`gradcheck` / :func:`gradgradcheck`: :mod:`minicnn.gradcheck`'s checks with torch's
  keyword-only signature; ``raise_exception=False`` returns False instead of raising. Options
  about torch's other AD modes (forward AD, batched gradients, ...) are accepted and unused.
- :mod:`grad_mode` (``minicnn.grad_mode``): the grad-mode context managers under torch's module
  name, and :class:`set_multithreading_enabled`, which changes nothing: minicnn's backward
  always runs on the calling thread.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from . import gradcheck as _gc
from .autograd import Tensor
from .grad_mode import set_multithreading_enabled

__all__ = ["Variable", "gradcheck", "gradgradcheck", "set_multithreading_enabled", "variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, other: Any) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """Deprecated, as in torch: ``Variable(data, requires_grad=False, volatile=False)`` returns
    ``data.detach()`` (sharing memory, a leaf) with ``requires_grad`` set; ``Variable()`` is an
    empty float tensor. ``volatile`` has no effect (a UserWarning, as torch)."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # type: ignore[misc]
        if volatile:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                UserWarning,
                stacklevel=2,
            )
            if requires_grad:
                raise ValueError("Variable can't be volatile and require_grad at the same time!")
        if data is None:
            from .creation import empty  # noqa: PLC0415  (creation imports autograd)

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(bool(requires_grad))


def variable(*args: Any, **kwargs: Any) -> Tensor:
    """Removed in torch: always raises RuntimeError (use ``mc.tensor``)."""
    raise RuntimeError("torch.autograd.variable(...) is deprecated, use torch.tensor(...) instead")


def _checked(check: Callable[..., bool], raise_exception: bool, *args: Any, **kwargs: Any) -> bool:
    try:
        return check(*args, **kwargs)
    except _gc.GradcheckError:
        if raise_exception:
            raise
        return False


def gradcheck(
    func: Callable[..., Tensor | Sequence[Tensor]],
    inputs: Tensor | Sequence[Tensor],
    *,
    eps: float = 1e-06,
    atol: float = 1e-05,
    rtol: float = 0.001,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """torch.autograd.gradcheck: :func:`minicnn.gradcheck` (central differences against
    ``backward`` for every input that requires grad; use float64). A mismatch raises
    :class:`minicnn.gradcheck.GradcheckError`, or gives False with ``raise_exception=False``.
    The options for torch's other checks are accepted and unused."""
    return _checked(_gc.gradcheck, raise_exception, func, inputs, eps=eps, atol=atol, rtol=rtol)


def gradgradcheck(
    func: Callable[..., Tensor | Sequence[Tensor]],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    *,
    eps: float = 1e-06,
    atol: float = 1e-05,
    rtol: float = 0.001,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """torch.autograd.gradgradcheck: :func:`minicnn.gradgradcheck` (second derivatives by
    central differences; use float64), False instead of raising with ``raise_exception=False``."""
    return _checked(_gc.gradgradcheck, raise_exception, func, inputs, grad_outputs, eps=eps, atol=atol, rtol=rtol)
