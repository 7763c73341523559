"""Dimension arguments by torch's rule, in one place.

A dim counts from the front (0, 1, ...) or, negative, from the end (-1 is the last); a 0-d
tensor takes 0 or -1 as if it were 1-d. Anything else is torch's IndexError, and a dim that
is not an int (a float, a bool) a TypeError.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np


def as_dim(dim: Any, op: str) -> int:
    """An int dim from anything with ``__index__`` (an int, a NumPy integer, a 0-d integer
    tensor), as torch takes it; a bool or a float is a TypeError."""
    if isinstance(dim, (bool, np.bool_)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    try:
        return operator.index(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}") from None


def wrap_dim(dim: Any, ndim: int, op: str) -> int:
    """``dim`` as an index in [0, max(ndim, 1))."""
    dim = as_dim(dim, op)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def wrap_dims(dims: Sequence[Any], ndim: int, op: str) -> tuple[int, ...]:
    """Each of ``dims`` wrapped, in the given order; a dim named twice is torch's RuntimeError."""
    out = tuple(wrap_dim(d, ndim, op) for d in dims)
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(f"{op}: dim {d} appears multiple times in the list of dims {tuple(dims)}")
    return out
