"""torch.signal: window functions (:mod:`minicnn.signal.windows`)."""

from __future__ import annotations

from . import windows

__all__ = ["windows"]
