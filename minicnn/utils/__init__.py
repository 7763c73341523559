"""``mc.utils``, as ``torch.utils``: :mod:`.checkpoint` (gradient checkpointing) and ``data``
(the same module as :mod:`minicnn.data`, so ``from minicnn.utils.data import DataLoader``
works as torch's spelling does)."""

from __future__ import annotations

import sys

from .. import data
from . import checkpoint

sys.modules[__name__ + ".data"] = data  # ``import minicnn.utils.data`` finds it

__all__ = ["checkpoint", "data"]
