"""Scatter-reductions: ``target[grid] op= values`` with repeated positions combined, in place.

``grid`` is an open grid of coordinates (one array per dim of ``target``, broadcasting to
``values``' shape), as fancy indexing takes them. Every element's flat (C-order) position in
``target`` is computed once, and one 1-d ``ufunc.at`` (NumPy) or ``cupyx.scatter_add/max/min``
(CuPy) does the rest: O(|values|) work, no Python loop over elements. Used by the backward of
every gather (gather, index_select, embedding, resizing, grid sampling) and by scatter_add /
scatter_reduce.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend


def flat_positions(target: Any, grid: tuple[Any, ...], values: Any) -> Any:
    """The flat (C-order) position in ``target`` of each element of ``values`` (grid's open
    coordinates broadcast to values' shape), raveled."""
    xp = backend.get_array_module(target)
    flat, stride = None, 1
    for d in reversed(range(target.ndim)):
        term = grid[d] * stride
        flat = term if flat is None else flat + term
        stride *= target.shape[d]
    return xp.broadcast_to(flat, values.shape).reshape(-1)


def add_at(target: Any, grid: tuple[Any, ...], values: Any) -> None:
    """``target[grid] += values`` with repeated positions accumulated, in place. ``target``
    is C-contiguous; its flat positions make one 1-d scatter-add (NumPy's fast ``add.at`` path)."""
    xp = backend.get_array_module(target)
    flat = flat_positions(target, grid, values)
    if xp is np:
        np.add.at(target.reshape(-1), flat, values.reshape(-1))
    elif target.dtype in _CUPY_ADD_AT_DTYPES:
        import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

        cupyx.scatter_add(target.reshape(-1), flat, values.reshape(-1))
    else:  # CuPy's add.at takes no small ints or bools: add up in int64, cast back as np.add.at would
        import cupyx  # noqa: PLC0415

        acc = target.reshape(-1).astype(np.int64)
        cupyx.scatter_add(acc, flat, values.reshape(-1).astype(np.int64))
        target.reshape(-1)[...] = acc.astype(target.dtype)


def reduce_at(target: Any, grid: tuple[Any, ...], values: Any, reduce: str) -> None:
    """``target[grid] = reduce(target[grid], values)`` with repeated positions reduced in turn,
    in place: "sum" (and "mean"'s sum), "prod", "amax", "amin". NumPy's ``ufunc.at``; on CuPy
    ``cupyx.scatter_add/max/min``, and the host's for "prod" (CuPy has no multiply.at) and
    for max/min of other dtypes than int32, float32 and float64."""
    if reduce in ("sum", "mean"):
        add_at(target, grid, values)
        return
    xp = backend.get_array_module(target)
    flat, vals = flat_positions(target, grid, values), values.reshape(-1)
    ufunc = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
    if xp is np:
        ufunc.at(target.reshape(-1), flat, vals)
    elif reduce == "prod" or target.dtype not in _CUPY_MAX_AT_DTYPES:  # a host round trip: correct, not fast
        host = xp.asnumpy(target).reshape(-1)
        ufunc.at(host, xp.asnumpy(flat), xp.asnumpy(vals))
        target.reshape(-1)[...] = xp.asarray(host)
    else:
        import cupyx  # noqa: PLC0415

        (cupyx.scatter_max if reduce == "amax" else cupyx.scatter_min)(target.reshape(-1), flat, vals)


# the dtypes cupyx.scatter_max/min are sure to support (CuPy's own tests: int32, float32, float64)
_CUPY_MAX_AT_DTYPES = tuple(np.dtype(t) for t in (np.int32, np.float32, np.float64))

# the dtypes cupyx.scatter_add (cupy.add.at) supports
_CUPY_ADD_AT_DTYPES = tuple(
    np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64, np.float16, np.float32, np.float64)
)
