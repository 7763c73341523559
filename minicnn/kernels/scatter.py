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
    is C-contiguous; its flat positions make one 1-d scatter-add (NumPy's fast ``add.at`` path).
    Cost: O(|values|): the flat positions (one pass per dim of target) and the scatter-add."""
    xp = backend.get_array_module(target)
    flat = flat_positions(target, grid, values)
    if target.dtype == np.float16:  # a float16 running sum stalls at 2048: add up in float32, as torch
        acc = target.astype(np.float32)
        add_at(acc, grid, values.astype(np.float32))
        target[...] = acc.astype(np.float16)
        return
    if xp is np:
        np.add.at(target.reshape(-1), flat, values.reshape(-1))
    elif target.dtype in _CUPY_ADD_AT_DTYPES:
        import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

        if target.dtype.kind in "fc":
            from .. import runtime  # noqa: PLC0415

            runtime.alert_not_deterministic(
                "an atomic scatter-add (scatter_add_, index_add_, gather's backward...) on a CUDA tensor"
            )
        cupyx.scatter_add(target.reshape(-1), flat, values.reshape(-1))
    else:  # CuPy's add.at takes no small ints or bools: add up in int64, cast back as np.add.at would
        import cupyx  # noqa: PLC0415

        acc = target.reshape(-1).astype(np.int64)
        cupyx.scatter_add(acc, flat, values.reshape(-1).astype(np.int64))
        target.reshape(-1)[...] = acc.astype(target.dtype)


def reduce_at(target: Any, grid: tuple[Any, ...], values: Any, reduce: str) -> None:
    """``target[grid] = reduce(target[grid], values)`` with repeated positions reduced in turn,
    in place: "sum" (and "mean"'s sum), "prod", "amax", "amin"; a NaN wins a max or min, as
    in torch. NumPy's ``ufunc.at``. On CuPy: ``cupyx.scatter_add``, ``cupyx.scatter_max/min``
    for integers (exact atomics), and a host round trip -- correct, not fast -- for "prod"
    (CuPy has no multiply.at) and for floating max/min (CuPy's atomics for them go through
    float32 ``fmaxf``, which rounds float64 and drops NaN)."""
    if reduce in ("sum", "mean"):
        add_at(target, grid, values)
        return
    xp = backend.get_array_module(target)
    flat, vals = flat_positions(target, grid, values), values.reshape(-1)
    ufunc = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
    if xp is np:
        with np.errstate(invalid="ignore"):  # a NaN among the values: torch is silent too
            ufunc.at(target.reshape(-1), flat, vals)
    elif reduce != "prod" and target.dtype in _CUPY_MAX_AT_DTYPES:
        import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

        (cupyx.scatter_max if reduce == "amax" else cupyx.scatter_min)(target.reshape(-1), flat, vals)
    else:
        host = backend.to_numpy(target).reshape(-1)  # (settles pending device checks first)
        with np.errstate(invalid="ignore"):
            ufunc.at(host, backend.to_numpy(flat), backend.to_numpy(vals))
        target.reshape(-1)[...] = xp.asarray(host)


# the dtypes cupyx.scatter_max/min handle exactly (CuPy 14: "cupy.maximum.at only supports int32,
# int64, float32, float64, uint32, uint64"; its float atomics round through float32, so not those)
_CUPY_MAX_AT_DTYPES = tuple(np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64))

# the dtypes cupyx.scatter_add (cupy.add.at) supports
_CUPY_ADD_AT_DTYPES = tuple(
    np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64, np.float16, np.float32, np.float64)
)
