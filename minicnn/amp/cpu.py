"""``mc.cpu.amp``: torch.cpu.amp's ``autocast`` and ``GradScaler`` (deprecated in torch in
favour of ``mc.amp.autocast("cpu")`` / ``mc.amp.GradScaler("cpu")``, which these are)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import GradScaler as _GradScaler
from . import autocast as _autocast

__all__ = ["GradScaler", "autocast"]


class autocast(_autocast):  # noqa: N801
    """``mc.cpu.amp.autocast(args...)`` is ``mc.autocast("cpu", args...)`` (with torch's FutureWarning).
    Its default dtype is float16 (torch's is bfloat16, which minicnn lacks)."""

    def __init__(self, enabled: bool = True, dtype: Any = np.float16, cache_enabled: bool = True) -> None:
        warnings.warn(
            "`minicnn.cpu.amp.autocast(args...)` is deprecated. Please use `minicnn.amp.autocast('cpu', args...)` "
            "instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``mc.cpu.amp.GradScaler(args...)`` is ``mc.amp.GradScaler("cpu", args...)`` (with torch's FutureWarning)."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`minicnn.cpu.amp.GradScaler(args...)` is deprecated. Please use "
            "`minicnn.amp.GradScaler('cpu', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)
