"""The device-named forms ``mc.cuda.amp`` and ``mc.cpu.amp`` use: ``autocast`` and
``GradScaler`` bound to one device type, with torch's FutureWarning (torch deprecates them in
favour of ``mc.amp.autocast(device)`` / ``mc.amp.GradScaler(device)``, which they are)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import GradScaler as _GradScaler
from . import autocast as _autocast


def device_forms(device: str, module: str) -> tuple[type, type]:
    """``(autocast, GradScaler)`` of ``mc.<device>.amp`` (torch's signatures, minicnn's float16)."""

    def deprecated(name: str) -> None:
        warnings.warn(
            f"`minicnn.{device}.amp.{name}(args...)` is deprecated. Please use "
            f"`minicnn.amp.{name}('{device}', args...)` instead.",
            FutureWarning,
            stacklevel=3,
        )

    class autocast(_autocast):  # noqa: N801
        __doc__ = f"``mc.{device}.amp.autocast(args...)``: ``mc.autocast({device!r}, args...)``, float16 by default."

        def __init__(self, enabled: bool = True, dtype: Any = np.float16, cache_enabled: bool = True) -> None:
            deprecated("autocast")
            super().__init__(device, enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        __doc__ = f"``mc.{device}.amp.GradScaler(args...)`` is ``mc.amp.GradScaler({device!r}, args...)``."

        def __init__(
            self,
            init_scale: float = 2.0**16,
            growth_factor: float = 2.0,
            backoff_factor: float = 0.5,
            growth_interval: int = 2000,
            enabled: bool = True,
        ) -> None:
            deprecated("GradScaler")
            super().__init__(device, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    for cls in (autocast, GradScaler):
        cls.__module__, cls.__qualname__ = module, cls.__name__
    return autocast, GradScaler
