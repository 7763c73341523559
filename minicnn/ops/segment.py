"""torch.segment_reduce: reductions over consecutive segments of ``data`` along axis 0.

Shapes: ``data`` (n, *rest), ``lengths`` (S,) (summing to n, or at most n with ``unsafe``) or
``offsets`` (S + 1,) nondecreasing within [0, n] -> output (S, *rest); rows outside every
segment are left out (torch's 2-d lengths / other axes: not supported). Each row's segment id
is a constant index (searchsorted over the segment ends; rows in none go to an extra segment
that is cut off); the reductions are :func:`index_add` (sum, mean) and :func:`index_reduce`
(prod, amax, amin), so the gradients and the higher-order ones are those ops': a lone zero of
a product gets the product of the others; ties of max/min share evenly (torch's CPU kernel
divides only a positive gradient among ties: a deliberate difference); a segment holding a
NaN is NaN for max/min with the gradient shared by its NaNs, and a lone NaN of a product gets
the product of the others, as torch. Empty segments give ``initial`` when it is given, else
sum 0, prod 1, mean NaN, max -inf, min +inf, as torch. With ``initial``: sum + initial,
prod * initial, (sum + initial) / length, max(initial, max), min(initial, min) (the data's
entries keep the whole gradient where they tie with initial). Cost O(numel) plus n log S.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from .dims import wrap_dim
from .index_extra import index_add
from .math import where
from .ops_extra import index_reduce
from .shape import narrow

SEGMENT_REDUCTIONS = {"sum": "sum", "mean": "mean", "prod": "prod", "max": "amax", "amax": "amax",
                      "min": "amin", "amin": "amin"}  # fmt: skip


def _segments(lengths: Any, offsets: Any, indices: Any, n: int, unsafe: bool, op: str) -> tuple[Any, Any]:
    """(starts, lengths) of the segments as 1-d int64 arrays of data's module; checked as torch
    checks them (lengths summing to n unless ``unsafe``, no negative length) and, always, to lie
    inside the n rows (torch reads past them when unsafe; minicnn refuses)."""
    if indices is not None:
        raise RuntimeError(f"{op}: indices based reduction is not supported yet.")
    if (lengths is None) == (offsets is None):
        raise RuntimeError(f"{op}: Either lengths or offsets must be defined (exactly one of them).")
    given = lengths if lengths is not None else offsets
    a = given.array if isinstance(given, Tensor) else np.asarray(given)
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: lengths/offsets must be an int32 or int64 tensor, got {a.dtype}")
    if a.ndim != 1:
        raise NotImplementedError(f"{op}: minicnn supports 1-d lengths/offsets only, got shape {list(a.shape)}")
    xp = backend.get_array_module(a)
    a = a.astype(np.int64)
    if lengths is not None:
        lens = a
        starts = xp.cumsum(lens) - lens
    else:
        if a.shape[0] == 0:
            raise RuntimeError(f"{op}: offsets must have at least one entry (S + 1 for S segments)")
        lens, starts = xp.diff(a), a[:-1]
    host_lens, host_starts = backend.to_numpy(lens), backend.to_numpy(starts)
    if (host_lens < 0).any():
        raise RuntimeError(f"{op}: lengths contains negative value!")
    if not unsafe and lengths is not None and int(host_lens.sum()) != n:
        raise RuntimeError(
            f"{op}: Expected all rows of lengths along axis to sum to data.size(lengths.dim()-1) when !unsafe."
        )
    if host_lens.size and (int(host_starts[0]) < 0 or int((host_starts + host_lens)[-1]) > n):
        raise RuntimeError(
            f"{op}: the segments cover rows {int(host_starts[0])} to {int((host_starts + host_lens)[-1])} of "
            f"data's {n} along axis (they must lie inside)"
        )
    return starts, lens


def _nans(data: Tensor, seg: Tensor, S: int) -> tuple[Any, Any, Tensor | None]:
    """(data's NaN mask, NaN count per segment, NaN sum per segment: NaN where any, with
    gradient 1 to each NaN); the last two None when data holds no NaN."""
    xp = data.xp
    with backend.array_scope(data.array):
        isnan = data.array != data.array
        if not bool(backend.to_numpy(isnan.any())):
            return isnan, None, None
        zeros = xp.zeros((S, *data.shape[1:]), dtype=data.dtype)
        ones = Tensor(isnan.reshape(isnan.shape[0], -1).astype(data.dtype))
        count = index_add(Tensor(zeros.reshape(S, -1)), 0, seg, ones).array.reshape(zeros.shape)
    return isnan, count, index_add(Tensor(zeros), 0, seg, where(Tensor(isnan), data, 0.0))


def _nan_aware_extreme(data: Tensor, seg: Tensor, S: int, kind: str) -> Tensor:
    """amax/amin of each segment: NaN where the segment holds a NaN (the NaNs share its
    gradient, as torch's kernel gives it; index_reduce's would spread NaN over the segment),
    else index_reduce of the rest (ties share evenly)."""
    isnan, count, nan_sum = _nans(data, seg, S)
    fill = -np.inf if kind == "amax" else np.inf
    with backend.array_scope(data.array):
        init = Tensor(data.xp.full((S, *data.shape[1:]), fill, dtype=data.dtype))
    out = index_reduce(init, 0, seg, where(Tensor(isnan), fill, data), kind, include_self=False)
    if count is None:
        return out
    with backend.array_scope(data.array):
        share = (1.0 / data.xp.maximum(count, 1)).astype(data.dtype)
    return where(Tensor(count > 0), nan_sum * Tensor(share), out)


def _nan_aware_prod(data: Tensor, seg: Tensor, S: int) -> Tensor:
    """The product of each segment: index_reduce's of the non-NaN entries times the segment's
    NaN (if any), so that, as torch's kernel, a lone NaN's gradient is the product of the
    others (index_reduce's would be NaN / NaN)."""
    isnan, count, nan_sum = _nans(data, seg, S)
    with backend.array_scope(data.array):
        init = Tensor(data.xp.ones((S, *data.shape[1:]), dtype=data.dtype))
    if count is None:
        return index_reduce(init, 0, seg, data, "prod")
    out = index_reduce(init, 0, seg, where(Tensor(isnan), 1.0, data), "prod")
    with backend.array_scope(data.array):
        more = data.xp.where(count > 1, np.nan, 1.0).astype(data.dtype)  # two NaNs: NaN gradients too
    return out * where(Tensor(count > 0), nan_sum, 1.0) * Tensor(more)


def segment_reduce(
    data: Tensor,
    reduce: str,
    *,
    lengths: Tensor | None = None,
    indices: Tensor | None = None,
    offsets: Tensor | None = None,
    axis: int = 0,
    unsafe: bool = False,
    initial: Any = None,
) -> Tensor:
    """torch.segment_reduce: ``reduce`` ("sum", "mean", "prod", "max"/"amax", "min"/"amin") over
    consecutive segments of ``data`` along ``axis``, cut by ``lengths`` (S,) or ``offsets``
    (S + 1,): output of data's shape with that axis S long. Rows outside every segment (offsets
    not from 0 to n, or lengths summing to less than n with ``unsafe=True``) are left out.
    Differentiable in data."""
    op = "segment_reduce()"
    if reduce not in SEGMENT_REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point data tensor, got dtype {data.dtype}")
    d = wrap_dim(axis, data.ndim, "segment_reduce")
    kind = SEGMENT_REDUCTIONS[reduce]
    xp = data.xp
    n = data.shape[0] if data.ndim else 1
    given = lengths if lengths is not None else offsets
    if d != 0 and getattr(given, "ndim", 1) == 1:
        raise RuntimeError(f"{op}: Expected axis to be the last dimension of lengths but got {axis}.")
    with backend.array_scope(data.array):
        starts, lens = _segments(lengths, offsets, indices, n, unsafe, op)
        S = int(lens.shape[0])
        # each row's segment (searchsorted, as CuPy's repeat takes no array of counts); S: in none
        rows = xp.arange(n, dtype=np.int64)
        ends = starts + lens
        s = xp.searchsorted(ends, rows, side="right")
        inside = (s < S) & (rows >= starts[xp.minimum(s, max(S - 1, 0))] if S else rows < 0)
        seg = Tensor(xp.where(inside, s, S).astype(np.int64))
        shape = (S + 1, *data.shape[1:])
        lead = [-1] + [1] * (data.ndim - 1)
        size = xp.concatenate([lens, xp.ones(1, dtype=np.int64)]).astype(data.dtype).reshape(lead)
        empty = Tensor(xp.broadcast_to(size == 0, shape).copy())
        start = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "amax": -np.inf, "amin": np.inf}[kind]
        init = Tensor(xp.full(shape, start, dtype=data.dtype))
    if kind in ("sum", "mean"):
        out = index_add(init, 0, seg, data)
        if initial is not None:
            out = out + float(initial)
        if kind == "mean":
            with backend.array_scope(data.array):
                if initial is None:
                    scale = xp.where(size > 0, 1.0 / xp.maximum(size, 1), np.nan).astype(data.dtype)
                else:
                    scale = (1.0 / xp.maximum(size, 1)).astype(data.dtype)
            out = out * Tensor(scale)
        return narrow(out, 0, 0, S)
    if kind == "prod":
        out = _nan_aware_prod(data, seg, S + 1)
        return narrow(out if initial is None else out * float(initial), 0, 0, S)
    out = _nan_aware_extreme(data, seg, S + 1, kind)
    if initial is not None:
        value = float(initial)
        keep = (out.array >= value) if kind == "amax" else (out.array <= value)
        out = where(Tensor(keep | (out.array != out.array)) & ~empty, out, value)
    return narrow(out, 0, 0, S)
