"""``mc.cuda.amp``: torch.cuda.amp's ``autocast`` and ``GradScaler`` (deprecated in torch in
favour of ``mc.amp.autocast("cuda")`` / ``mc.amp.GradScaler("cuda")``, which these are)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import GradScaler as _GradScaler
from . import autocast as _autocast
from . import custom_bwd, custom_fwd

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


class autocast(_autocast):  # noqa: N801
    """``mc.cuda.amp.autocast(args...)`` is ``mc.autocast("cuda", args...)`` (with torch's FutureWarning)."""

    def __init__(self, enabled: bool = True, dtype: Any = np.float16, cache_enabled: bool = True) -> None:
        warnings.warn(
            "`minicnn.cuda.amp.autocast(args...)` is deprecated. Please use `minicnn.amp.autocast('cuda', args...)` "
            "instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``mc.cuda.amp.GradScaler(args...)`` is ``mc.amp.GradScaler("cuda", args...)`` (with torch's FutureWarning)."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`minicnn.cuda.amp.GradScaler(args...)` is deprecated. Please use "
            "`minicnn.amp.GradScaler('cuda', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
