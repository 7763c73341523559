"""torchvision's ``weights=`` / ``progress=`` keywords on the model constructors.

``mc.models.resnet18(weights=None)`` builds the randomly initialised model, as torchvision's;
minicnn downloads no weights, so any other ``weights`` raises a ValueError saying how to load
torchvision's into the model (the state-dict keys are torchvision's).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["accepts_weights"]


def accepts_weights(builder: Callable[..., Any]) -> Callable[..., Any]:
    """``builder`` taking torchvision's keyword-only ``weights=None`` and ``progress=True`` too."""

    @functools.wraps(builder)
    def build(*args: Any, weights: Any = None, progress: bool = True, **kwargs: Any) -> Any:
        if weights is not None:
            raise ValueError(
                f"{builder.__name__}: minicnn does not download pretrained weights (got weights={weights!r}); "
                f"build with weights=None and load torchvision's: model = mc.models.{builder.__name__}(); "
                f"model.load_state_dict({{k: v.numpy() for k, v in "
                f"torchvision.models.{builder.__name__}(weights=...).state_dict().items()}})"
            )
        return builder(*args, **kwargs)

    params = list(inspect.signature(builder).parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind == p.VAR_KEYWORD), len(params))
    params[at:at] = [
        inspect.Parameter("weights", inspect.Parameter.KEYWORD_ONLY, default=None),
        inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=True),
    ]
    build.__signature__ = inspect.signature(builder).replace(parameters=params)  # type: ignore[attr-defined]
    return build
