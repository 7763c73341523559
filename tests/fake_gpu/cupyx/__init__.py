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


# the dtypes CuPy's scatter_max/scatter_min take (CuPy 14's message: int32, int64, float32,
# float64, uint32, uint64)
SUPPORTED_MAX_MIN = tuple(np.dtype(t) for t in (np.int32, np.int64, np.float32, np.float64, np.uint32, np.uint64))


def _max_min(ufunc: Any, a: Any, slices: Any, value: Any) -> None:
    """``ufunc.at``, with the dtypes real CuPy takes and its float behaviour: CuPy's atomics for
    floats use ``fmaxf``/``fminf``, so a float64 result is rounded through float32 and a NaN
    loses (so that code relying on them for floats fails here as it would on a GPU)."""
    if np.dtype(a.dtype) not in SUPPORTED_MAX_MIN:
        raise TypeError(f"cupy.{ufunc.__name__}.at does not support {a.dtype}")
    if a.dtype.kind != "f":
        ufunc.at(a, slices, value)
        return
    fmax = np.fmax if ufunc is np.maximum else np.fmin  # NaN loses
    acc = a.astype(np.float32)
    fmax.at(acc, slices, np.asarray(value).astype(np.float32))
    a[...] = acc.astype(a.dtype)


def scatter_max(a: Any, slices: Any, value: Any) -> None:
    """``numpy.maximum.at`` as real CuPy computes it (see :func:`_max_min`)."""
    _max_min(np.maximum, a, slices, value)


def scatter_min(a: Any, slices: Any, value: Any) -> None:
    """``numpy.minimum.at`` as real CuPy computes it (see :func:`_max_min`)."""
    _max_min(np.minimum, a, slices, value)


def errstate(linalg: str | None = None) -> Any:
    """cupyx.errstate: with linalg="raise", CuPy's linalg raises numpy's LinAlgError on a
    singular/indefinite input (it returns NaNs otherwise); NumPy always raises, so a no-op."""
    import contextlib

    return contextlib.nullcontext()
