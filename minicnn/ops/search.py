"""torch's counting and searching functions (none differentiable: integer or count results).

* ``unique`` / ``unique_consecutive``: sort-based (stable argsort, then run starts), with the
  inverse map and counts; ``dim`` compares whole slices (a lexicographic sort of the rows);
* ``bincount``, ``histc``, ``histogram``: a bin index per element, then one bincount;
* ``searchsorted`` / ``bucketize``: a vectorised bisection (log2(n) steps over all queries at
  once), with torch's comparison (a NaN boundary counts as below every value);
* ``isin``.

Costs: O(n log n) for the sorts and searches, O(n + bins) for the counts. Results are torch's
exactly (bins computed in the input's dtype, in torch's order of operations). ``unique`` returns
sorted values also for ``sorted=False`` (torch leaves that order unspecified); NaNs are each
their own value, as torch's CPU unique.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Tensor
from .dims import wrap_dim


class HistogramResult(NamedTuple):
    """What :func:`histogram` returns (torch.return_types.histogram)."""

    hist: Tensor
    bin_edges: Tensor


def _arr(x: Any, like: Any = None) -> Any:
    """The raw array of a Tensor (or a number / list, on ``like``'s device)."""
    if isinstance(x, Tensor):
        return x.array
    xp = np if like is None else backend.get_array_module(like)
    return xp.asarray(x)


def _runs(s: Any, axis_rows: bool) -> Any:
    """Boolean starts of runs of equal neighbours in ``s`` (n,) or rows of ``s`` (n, k)."""
    xp = backend.get_array_module(s)
    start = xp.ones(s.shape[0], dtype=bool)
    if s.shape[0] > 1:
        neq = s[1:] != s[:-1]
        start[1:] = neq.any(axis=1) if axis_rows else neq
    return start


def _finish(values: Any, start: Any, order: Any, n: int, inverse_shape: Any, want: tuple[bool, bool]) -> Any:
    """(values, inverse?, counts?) from the run starts of the (sorted) sequence."""
    xp = backend.get_array_module(start)
    out = [Tensor(values)]
    if want[0]:
        ids = xp.cumsum(start) - 1
        inverse = xp.empty(n, dtype=np.int64)
        if order is None:
            inverse = ids.astype(np.int64)
        else:
            inverse[order] = ids
        out.append(Tensor(inverse.reshape(inverse_shape)))
    if want[1]:
        firsts = xp.nonzero(start)[0]
        out.append(Tensor(xp.diff(xp.concatenate([firsts, xp.asarray([n])])).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def _unique(input: Tensor, dim: Any, consecutive: bool, want: tuple[bool, bool], op: str) -> Any:
    a = input.array
    with backend.array_scope(a):
        xp = backend.get_array_module(a)
        if dim is None:
            flat = a.reshape(-1)
            order = None if consecutive else xp.argsort(flat, kind="stable")
            s = flat if order is None else flat[order]
            start = _runs(s, False)
            return _finish(s[start], start, order, flat.shape[0], input.shape, want)
        if input.ndim == 0:
            raise IndexError(f"{op}(): dimension specified as {dim} but tensor has no dimensions")
        d = wrap_dim(dim, input.ndim, op)
        if a.size == 0:  # torch: only the selected dim may be empty; then nothing to do
            if a.shape.count(0) > 1:
                raise RuntimeError(f"{op}(): number of zero sized dimensions is more than one, so unique cannot be "
                                   f"applied (shape {input.shape})")  # fmt: skip
            if a.shape[d] != 0:
                raise RuntimeError(f"{op}(): there are 0 sized dimensions, and they aren't selected, so unique "
                                   f"cannot be applied (shape {input.shape}, dim {d})")  # fmt: skip
            none = xp.zeros(0, dtype=np.int64)
            out = [Tensor(a.copy())] + [Tensor(none.copy()) for w in want if w]
            return out[0] if len(out) == 1 else tuple(out)
        moved = xp.moveaxis(a, d, 0)
        n = moved.shape[0]
        rows = moved.reshape(n, -1)
        order = None
        if not consecutive:
            keys = rows.T[::-1] if rows.shape[1] else xp.zeros((1, n), dtype=rows.dtype)
            order = xp.lexsort(keys)  # last key first: row order, lexicographic
            rows = rows[order]
        start = _runs(rows, True)
        values = xp.moveaxis(rows[start].reshape((-1,) + moved.shape[1:]), 0, d)
        return _finish(xp.ascontiguousarray(values), start, order, n, (n,), want)


def unique(
    input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim: Any = None
) -> Any:
    """The distinct values of ``input`` (flattened; with ``dim``: the distinct slices along
    it), sorted; also the index of each element's value (``return_inverse``, input's shape, or
    (size of dim,)) and how often each occurs (``return_counts``). ``sorted=False`` also
    sorts (torch leaves that order unspecified)."""
    return _unique(input, dim, False, (return_inverse, return_counts), "unique")


def unique_consecutive(
    input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: Any = None
) -> Any:
    """:func:`unique` of runs of equal neighbours only (no sort): [1, 1, 2, 1] -> [1, 2, 1]."""
    return _unique(input, dim, True, (return_inverse, return_counts), "unique_consecutive")


def bincount(input: Tensor, weights: Any = None, minlength: int = 0) -> Tensor:
    """Counts of each value of the non-negative 1-d integer ``input`` (length max(input) + 1, at
    least ``minlength``); with ``weights`` (input's shape) their sums instead (the weights'
    float dtype; float64 for integer weights)."""
    a = input.array
    if a.dtype.kind not in "iu":  # torch's NotImplementedError (a RuntimeError) for other dtypes
        raise NotImplementedError(f"bincount: not implemented for dtype {input.dtype}; expected an integral input")
    if input.ndim != 1:
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got shape {input.shape}")
    if minlength < 0:
        raise RuntimeError(f"bincount(): minlength should be >= 0, got {minlength}")
    with backend.array_scope(a):
        xp = backend.get_array_module(a)
        if a.size and bool((a < 0).any()):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if weights is None or a.size == 0:  # (torch: int64 zeros for no input, even with weights)
            return Tensor(xp.bincount(a, minlength=minlength).astype(np.int64))
        w = _arr(weights, a)
        if w.shape != a.shape:
            raise RuntimeError(f"weights should be 1-d and have the same length as input, got {w.shape} and {a.shape}")
        dtype = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
        return Tensor(xp.bincount(a, weights=w, minlength=minlength).astype(dtype))


def _linear_bins(a: Any, left: Any, right: Any, bins: int, edges: Any, local_search: bool) -> Any:
    """torch's bin index for ``a`` (flat) with equal bins on [left, right] (the input's dtype):
    ``(a - left) * bins / (right - left)``, checked against the edges (``local_search``), the
    last bin closed. Out-of-range elements and NaN get -1."""
    xp = backend.get_array_module(a)
    inside = (a >= left) & (a <= right)
    pos = ((a - left) * a.dtype.type(bins) / (right - left)).astype(np.int64)
    pos = xp.where(inside, pos, 0)
    if local_search:  # as torch: the upper bound of a among edges[pos - 1 : pos + 2], minus 1
        lo = xp.maximum(pos - 1, 0)
        hi = xp.minimum(pos + 2, bins + 1)
        count = xp.zeros(pos.shape, dtype=np.int64)
        for k in range(3):
            j = lo + k
            count += ((j < hi) & (edges[xp.minimum(j, bins)] <= a)).astype(np.int64)
        pos = lo + count - 1
    pos = xp.where(pos >= bins, bins - 1, pos)
    return xp.where(inside, pos, -1)


def _linspace(left: float, right: float, steps: int, dtype: Any, xp: Any) -> Any:
    """torch's CPU linspace: the first half from the start, the second from the end."""
    if steps == 1:
        return xp.asarray([left], dtype=dtype)
    t = np.dtype(dtype).type
    start, end = t(left), t(right)
    step = (end - start) / t(steps - 1)
    i = xp.arange(steps).astype(dtype)
    return xp.where(xp.arange(steps) < steps // 2, start + step * i, end - step * (t(steps - 1) - i)).astype(dtype)


def _count(pos: Any, weights: Any, bins: int, dtype: Any) -> Any:
    xp = backend.get_array_module(pos)
    keep = pos >= 0
    idx = pos[keep]
    w = None if weights is None else weights.reshape(-1)[keep]
    return xp.bincount(idx, weights=w, minlength=bins)[:bins].astype(dtype)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts in ``bins`` equal bins on [min, max] (both 0, or equal: the data's range; elements
    outside are left out; the last bin includes max). A float tensor of input's dtype."""
    if input.dtype.kind != "f":
        raise NotImplementedError(f"torch.histc: not implemented for dtype {input.dtype} (floating inputs only)")
    if bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for dimension 0")
    a = input.array.reshape(-1)
    with backend.array_scope(a):
        xp = backend.get_array_module(a)
        left, right = float(min), float(max)
        if left == right and a.size:
            left, right = float(a.min()), float(a.max())
        if left == right:
            left, right = left - 1, right + 1
        if not (np.isfinite(left) and np.isfinite(right)):
            raise RuntimeError(f"torch.histc: range of [{left}, {right}] is not finite")
        if not left < right:
            raise RuntimeError("torch.histc: max must be larger than min")
        edges = _linspace(left, right, bins + 1, a.dtype, xp)
        pos = _linear_bins(a, edges[0], edges[-1], bins, edges, local_search=False)
        return Tensor(_count(pos, None, bins, a.dtype))


def histogram(
    input: Tensor,
    bins: Any,
    *,
    range: Any = None,
    weight: Any = None,
    density: bool = False,  # noqa: A002
) -> HistogramResult:
    """``(hist, bin_edges)``: ``bins`` equal bins on ``range`` (default: the data's range, widened
    by 0.5 each way when empty) or the given increasing edges (a 1-d tensor); optional
    ``weight`` per element; ``density`` divides by the total and the bin widths."""
    if input.dtype.kind != "f":
        raise RuntimeError(f"torch.histogram: input tensor should have a floating dtype, got {input.dtype}")
    a = input.array.reshape(-1)
    with backend.array_scope(a):
        xp = backend.get_array_module(a)
        w = None if weight is None else _arr(weight, a)
        if w is not None and w.shape != input.shape:
            raise RuntimeError(f"torch.histogram: weight should have the same shape as input, got {w.shape}")
        if isinstance(bins, Tensor):
            if range is not None:  # torch has no overload taking both
                raise TypeError("torch.histogram(): range cannot be given with a tensor of bin edges")
            edges = bins.array
            if bins.ndim != 1 or edges.shape[0] < 2:
                raise RuntimeError(f"torch.histogram(): bins tensor should have one dimension and at least 2 "
                                   f"elements (one bin), got shape {bins.shape}")  # fmt: skip
            n = edges.shape[0] - 1
            inside = (a >= edges[0]) & (a <= edges[-1])
            pos = xp.minimum(xp.searchsorted(edges, a, side="right") - 1, n - 1)
            pos = xp.where(inside, pos, -1)
        else:
            n = int(bins)
            if n <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {n} for dimension 0")
            if range is not None:
                left, right = float(range[0]), float(range[1])
            elif a.size:
                left, right = float(a.min()), float(a.max())
            else:  # torch's default range for no data
                left, right = 0.0, 1.0
            if not (np.isfinite(left) and np.isfinite(right)):
                raise RuntimeError(f"torch.histogram(): range of [{left}, {right}] is not finite")
            if left > right:
                raise RuntimeError(f"torch.histogram(): min should not exceed max, but got min {left} max {right}")
            if left == right:
                left, right = left - 0.5, right + 0.5
            edges = _linspace(left, right, n + 1, a.dtype, xp)
            pos = _linear_bins(a, edges[0], edges[-1], n, edges, local_search=True)
        hist = _count(pos, w, n, a.dtype)
        if density:  # (NaN for no counts, as torch)
            with np.errstate(invalid="ignore", divide="ignore"):
                hist = hist / hist.sum() / xp.diff(edges)
        return HistogramResult(Tensor(hist.astype(a.dtype)), Tensor(xp.array(edges, dtype=a.dtype)))


def _bisect(seq: Any, values: Any, right: bool) -> Any:
    """For each row of ``seq`` (..., n) the insertion points of ``values`` (..., m): a bisection
    of all queries at once (log2(n) + 1 vectorised steps). torch's test: go right unless
    ``seq[mid] >= value`` (``>`` with ``right``), so a NaN in seq counts as below every value
    and a NaN value lands at the end."""
    xp = backend.get_array_module(seq)
    n = seq.shape[-1]
    lo = xp.zeros(values.shape, dtype=np.int64)
    if n == 0:
        return lo
    hi = xp.full(values.shape, n, dtype=np.int64)
    for _ in range(n.bit_length() + 1):
        mid = (lo + hi) // 2
        v = xp.take_along_axis(seq, xp.minimum(mid, max(n - 1, 0)), axis=-1)
        go_right = (lo < hi) & ~((v > values) if right else (v >= values))
        lo, hi = xp.where(go_right, mid + 1, lo), xp.where(go_right | (lo >= hi), hi, mid)
    return lo


def searchsorted(
    sorted_sequence: Tensor,
    values: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Tensor:
    """The indices where ``values`` would be inserted into the last dim of ``sorted_sequence``
    (1-d: one sequence for all; else its leading dims match values'), keeping it sorted: the
    first such place, the last with ``right=True`` or ``side="right"``. ``sorter``: indices
    that sort the sequence. int64 (int32 with ``out_int32``)."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")  # fmt: skip
        right = side == "right"
    seq = sorted_sequence.array
    if seq.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
                           "dimension")  # fmt: skip
    with backend.array_scope(seq):
        xp = backend.get_array_module(seq)
        vals = _arr(values, seq)
        if sorter is not None:
            order = _arr(sorter, seq)
            if order.shape != seq.shape:
                raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same size, got "
                                   f"{seq.shape} and {order.shape}")  # fmt: skip
            if order.size and bool(((order < 0) | (order >= seq.shape[-1])).any()):
                raise RuntimeError("torch.searchsorted(): sorter index out of range")
            seq = xp.take_along_axis(seq, order.astype(np.int64), axis=-1)
        if seq.ndim > 1 and (vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]):
            raise RuntimeError(
                "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of "
                f"boundaries tensor and input value tensor must match, but we got boundaries tensor {list(seq.shape)} "
                f"and input value tensor {list(vals.shape)}"
            )
        if seq.ndim == 1:  # one sequence for every value, as a batch of one
            out = _bisect(seq.reshape(1, -1), vals.reshape(1, -1), right).reshape(vals.shape)
        else:
            out = _bisect(seq, vals, right)
        return Tensor(xp.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each element of ``input`` among the 1-d increasing ``boundaries``: i with
    boundaries[i-1] < x <= boundaries[i] (``right=True``: boundaries[i-1] <= x < boundaries[i])."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (either may be a number)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): at least one of elements and test_elements must be a Tensor")
    like = elements.array if isinstance(elements, Tensor) else test_elements.array
    a, b = _arr(elements, like), _arr(test_elements, like)
    with backend.array_scope(like):
        xp = backend.get_array_module(like)
        return Tensor(xp.isin(a, b.reshape(-1), invert=invert))
