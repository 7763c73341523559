"""The fake CuPy's ``cupyx``: ``scatter_add`` only (see ``tests/fake_gpu/README.md``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def scatter_add(a: Any, slices: Any, value: Any) -> None:
    """``a[slices] += value`` with repeated indices accumulated (``numpy.add.at``)."""
    np.add.at(a, slices, value)
