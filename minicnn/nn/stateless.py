"""``torch.nn.utils.stateless`` (reached as ``mc.nn.utils.stateless``): the deprecated first home
of :func:`minicnn.func.functional_call`."""

from __future__ import annotations

import warnings
from typing import Any


def functional_call(
    module: Any,
    parameters_and_buffers: dict[str, Any],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by those of
    ``parameters_and_buffers`` for the call; as torch's, deprecated (a FutureWarning) in favour
    of :func:`minicnn.func.functional_call`, which it calls."""
    warnings.warn(
        "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in a future "
        "version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    from ..func import functional_call as call  # noqa: PLC0415  (func loads on first use)

    return call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)


__all__ = ["functional_call"]
