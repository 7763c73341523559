"""The fake CuPy's ``cupyx``: ``scatter_add``, ``scatter_max`` and ``scatter_min`` (see
``tests/fake_gpu/README.md``)."""

from __future__ import annotations

from typing import Any

import numpy as np

# the dtypes CuPy's scatter_add (cupy.add.at) takes; it raises TypeError for the others
SUPPORTED = tuple(np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64, np.float16, np.float32, np.float64))


def scatter_add(a: Any, slices: Any, value: Any) -> None:
    """``a[slices] += value`` with repeated indices accumulated (``numpy.add.at``); refuses the
    dtypes real CuPy refuses."""
    if np.dtype(a.dtype) not in SUPPORTED:
        raise TypeError(
            f"cupy.add.at only supports int32, int64, float16, float32, float64, uint32, uint64 (got {a.dtype})"
        )
    np.add.at(a, slices, value)


# the dtypes CuPy's scatter_max/scatter_min take (its tests: 'iILQfd')
SUPPORTED_MAX_MIN = tuple(np.dtype(t) for t in ("i", "I", "L", "Q", "f", "d"))


def _max_min(ufunc: Any, a: Any, slices: Any, value: Any) -> None:
    if np.dtype(a.dtype) not in SUPPORTED_MAX_MIN:
        raise TypeError(f"cupy.{ufunc.__name__}.at does not support {a.dtype}")
    ufunc.at(a, slices, value)


def scatter_max(a: Any, slices: Any, value: Any) -> None:
    """``numpy.maximum.at``, with the dtypes real CuPy takes."""
    _max_min(np.maximum, a, slices, value)


def scatter_min(a: Any, slices: Any, value: Any) -> None:
    """``numpy.minimum.at``, with the dtypes real CuPy takes."""
    _max_min(np.minimum, a, slices, value)
