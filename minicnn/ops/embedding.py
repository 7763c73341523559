"""Embedding lookup: rows of a table picked by an integer index tensor (torch's F.embedding).

Shapes: ``weight`` (V, D) (V = num_embeddings rows of D values), ``input`` any shape S of
int64/int32 indices in [0, V) -> output S + (D,), ``out[s] = weight[input[s]]``.

Backward: the gradient of the table is a scatter-add of the output gradient's rows into
zeros (V, D) -- a row picked k times receives the sum of its k gradient rows. Rows at
``padding_idx`` receive nothing; ``scale_grad_by_freq`` divides each gradient row by how
often its index occurs in ``input``. The index itself gets no gradient.

``max_norm`` (torch's ``embedding_renorm_``): before the lookup, every row that ``input``
picks and whose ``norm_type``-norm exceeds ``max_norm`` is scaled in place, outside
autograd, to norm ``max_norm`` (by ``max_norm / (norm + 1e-7)``), as torch does.

Cost (N = number of indices): forward one gather of N*D values; backward one scatter-add of
N*D values (``np.add.at`` / ``cupyx.scatter_add``) into a zero table of V*D; renorm O(N log N)
for the unique rows plus their norms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels.scatter import add_at
from .index import _INDEX_DTYPES, ScatterAdd

_RENORM_EPS = 1e-7  # torch's: scale = max_norm / (norm + 1e-7)


class EmbeddingLookup(Function):
    """Inputs: weight (V, D), index (S) -> (S, D). Settings: ``padding_idx`` (a row in
    [0, V) that gets no gradient, or None) and ``scale_grad_by_freq``."""

    linear = True  # in the weight; the index is kept (backward_graph below: padding_idx, scale_grad_by_freq)

    def forward(self, weight, index):
        idx = _flat_rows(index, weight.shape[0])
        if self.requires_grad:
            self.idx, self.shape = idx, weight.shape
        return weight[idx].reshape(index.shape + weight.shape[1:])  # a copy (1-d fancy index), never a view

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        V, D = self.shape
        idx = self.idx
        rows = gy.reshape(idx.shape[0], D)
        if self.padding_idx is not None:  # dropped, not multiplied by 0: an inf there stays out
            rows = xp.where((idx != self.padding_idx)[:, None], rows, xp.zeros((), dtype=rows.dtype))
        if self.scale_grad_by_freq:
            counts = xp.zeros(V, dtype=np.int64)  # a scatter-add, not bincount: no host sync on a GPU
            add_at(counts, (idx,), xp.ones(idx.shape, dtype=np.int64))
            rows = rows / counts[idx][:, None].astype(rows.dtype)
        gw = xp.zeros(self.shape, dtype=gy.dtype)
        add_at(gw, (idx[:, None], xp.arange(D)[None, :]), rows)
        return gw, None

    def backward_graph(self, gy, weight, index):
        """Without padding_idx and scale_grad_by_freq, the default (the lookup is its gradient's
        derivative). With them, backward as a ScatterAdd op, so that its derivative is the
        lookup with the padding rows zeroed and divided by the counts (torch's double backward
        leaves the division out)."""
        if self.padding_idx is None and not self.scale_grad_by_freq:
            return super().backward_graph(gy, weight, index)
        xp, (V, D) = gy.xp, weight.shape
        with backend.array_scope(gy.array):
            idx = _flat_rows(index.array, V)
            rows = gy.reshape(idx.shape[0], D)
            if self.scale_grad_by_freq:
                counts = xp.zeros(V, dtype=np.int64)
                add_at(counts, (idx,), xp.ones(idx.shape, dtype=np.int64))
                rows = rows / Tensor(counts[idx][:, None].astype(rows.dtype))
            if self.padding_idx is not None:  # sent to an extra row that is dropped: an inf stays out
                idx = xp.where(idx == self.padding_idx, V, idx)
            target = xp.broadcast_to(idx[:, None], (idx.shape[0], D))
            table = ScatterAdd.apply(Tensor(xp.zeros((V + 1, D), dtype=gy.dtype)), Tensor(target), rows, dim=0)
        return table[:V], None


def _flat_rows(index: Any, V: int) -> Any:
    """``index`` raveled as int64. On a GPU, whose bounds check is deferred (:func:`_check_index`),
    also wrapped into [0, V), so that a bad index can never read or write outside the table."""
    idx = index.reshape(-1).astype(np.int64, copy=False)
    return idx % V if backend.is_cupy_array(idx) and V > 0 else idx


def _row_norms(rows: Any, p: float) -> Any:
    """The ``p``-norm of each row of (K, D), torch's ``Tensor.norm(p)``: inf is the largest
    absolute value, -inf the smallest, 0 the number of nonzeros."""
    xp = backend.get_array_module(rows)
    a = xp.abs(rows)
    if a.shape[1] == 0:
        return xp.zeros(a.shape[0], dtype=a.dtype)
    if p == float("inf"):
        return a.max(axis=1)
    if p == float("-inf"):
        return a.min(axis=1)
    if p == 0:
        return (a != 0).sum(axis=1).astype(a.dtype)
    if p == 1:
        return a.sum(axis=1)
    if p == 2:
        return xp.sqrt((a * a).sum(axis=1))
    return (a**p).sum(axis=1) ** (1.0 / p)


def embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """Scale, in place and outside autograd, each row of ``weight`` (V, D) that ``input``
    picks and whose ``norm_type``-norm exceeds ``max_norm``, to norm ``max_norm`` (torch's
    ``embedding_renorm_``). Indices must be in range (``embedding`` checks them first)."""
    w = weight.array
    xp = backend.get_array_module(w)
    with backend.array_scope(w):
        rows = xp.unique(_flat_rows(input.array, w.shape[0]))
        picked = w[rows]
        norms = _row_norms(picked, float(norm_type)).astype(np.float64)
        scale = xp.where(norms > max_norm, max_norm / (norms + _RENORM_EPS), 1.0).astype(w.dtype)
        w[rows] = picked * scale[:, None]
    weight._version += 1
    return weight


def _check_index(input: Any, weight: Tensor, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        input = Tensor(input, device=weight.device)
    if input.dtype not in _INDEX_DTYPES:
        raise TypeError(f"{op}: expected an index tensor of dtype int64 or int32 as input, got {input.dtype}")
    if input.device != weight.device:
        raise RuntimeError(f"{op}: expected input and weight on one device, got {input.device} and {weight.device}")
    V, index = weight.shape[0], input.array
    if index.size == 0:
        return input
    message = f"{op}: index out of range: the weight has {V} rows (num_embeddings), indices must be in [0, {V})"
    with backend.array_scope(index):  # the index's GPU, whichever is current
        bad = (index < 0) | (index >= V)
        if backend.is_cupy_array(index):
            backend.raise_if(bad.any(), IndexError, message)
        elif bad.any():
            raise IndexError(f"{message}, got {int(index[bad].flat[0])}")
    return input


class PaddingIdxError(ValueError, AssertionError, RuntimeError):
    """A padding_idx outside [-V, V): minicnn's ValueError, and what torch raises there (AssertionError from
    the Embedding layers and F.embedding, RuntimeError from F.embedding_bag)."""


def normalize_padding_idx(padding_idx: int | None, num_embeddings: int, op: str) -> int | None:
    """torch's padding_idx rule: in [-V, V), a negative one counted from the end; None stays None."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise PaddingIdxError(
            f"{op}: padding_idx must be within num_embeddings: expected a value in "
            f"[{-num_embeddings}, {num_embeddings}), got {padding_idx}"
        )
    return int(padding_idx) % num_embeddings if padding_idx < 0 else int(padding_idx)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """The rows of ``weight`` (V, D) at the integer indices ``input`` (any shape S, int64 or
    int32, each in [0, V)) -> (S, D). ``padding_idx`` (in [-V, V)): that row gets no gradient.
    ``max_norm``: the looked-up rows of ``weight`` whose ``norm_type``-norm exceeds it are
    rescaled to it in place first. ``scale_grad_by_freq``: gradient rows divided by the
    frequency of their index in ``input``. ``sparse=True`` is not supported."""
    op = "embedding"
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != 2:
        raise ValueError(f"{op}: expected a 2-d weight (num_embeddings, embedding_dim), got shape {weight.shape}")
    if sparse:
        raise NotImplementedError(
            f"{op}: sparse=True (sparse gradients of the weight) is not supported by minicnn; use sparse=False"
        )
    padding_idx = normalize_padding_idx(padding_idx, weight.shape[0], op)
    input = _check_index(input, weight, op)
    if max_norm is not None:
        embedding_renorm_(weight, input, float(max_norm), norm_type)
    return EmbeddingLookup.apply(weight, input, padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq))


# -- embedding_bag: sums, means or maxima of bags of looked-up rows -------------------------

BAG_MODES = ("sum", "mean", "max")


def _bags(offsets: Any, n_bags: int, length: int, op: str) -> Any:
    """The bag of each of the ``length`` flat indices: bag b holds positions
    [offsets[b], offsets[b + 1]), the last one up to the end (torch's rule, which ignores a
    last offset given with include_last_offset; that one is still checked, as torch does)."""
    xp = backend.get_array_module(offsets)
    starts = offsets[:n_bags].astype(np.int64)
    host = backend.to_numpy(offsets).astype(np.int64)
    if host.size and host[0] != 0:
        raise ValueError(f"{op}: offsets[0] has to be 0 (the first bag starts at position 0), got {int(host[0])}")
    if (np.diff(host) < 0).any():
        raise ValueError(f"{op}: offsets must be non-decreasing, got {host.tolist()}")
    if host.size and host[-1] > length:
        raise ValueError(f"{op}: offsets[-1] can not be greater than the input's length {length}, got {int(host[-1])}")
    return xp.searchsorted(starts, xp.arange(length), side="right") - 1


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The sum, mean or elementwise max of each bag of rows of ``weight`` (V, D) -> (B, D).

    Bags: ``input`` (B, N) of indices is B bags of N (``offsets`` must be None); a 1-d
    ``input`` (L,) is cut at ``offsets`` (B,) (bag b: positions offsets[b] .. offsets[b+1]-1,
    the last to the end), or at offsets (B + 1,) with ``include_last_offset``. Entries equal to
    ``padding_idx`` are left out (not counted by the mean); an empty bag gives zeros.
    ``per_sample_weights`` (input's shape, mode "sum" only) scales each row first.
    ``max_norm``/``norm_type`` and ``scale_grad_by_freq`` as in :func:`embedding`. Gradients:
    the weight (max: to the first maximum of each bag and column) and per_sample_weights.

    A composition of the lookup, ``scatter_add`` and ``gather`` with constant indices, so its
    gradients of any order come from theirs. Cost O(L D)."""
    from .index import gather, scatter_add  # noqa: PLC0415 (index imports this module's neighbours)
    from .math import where  # noqa: PLC0415
    from .shape import cat  # noqa: PLC0415

    op = "embedding_bag"
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != 2:
        raise ValueError(f"{op}: expected a 2-d weight (num_embeddings, embedding_dim), got shape {weight.shape}")
    if mode not in BAG_MODES:
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError(f"{op}: max mode does not support scaling the gradient by the frequency")
    if sparse:
        raise NotImplementedError(f"{op}: sparse=True (sparse gradients) is not supported by minicnn; use sparse=False")
    padding_idx = normalize_padding_idx(padding_idx, weight.shape[0], op)
    input = _check_index(input, weight, op)
    if per_sample_weights is not None:  # torch's order: the shape, the mode, the dtype
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(
                f"{op}: per_sample_weights of shape {per_sample_weights.shape} must have the input's shape "
                f"{input.shape}"
            )
        if mode != "sum":
            raise NotImplementedError(
                f"{op}: per_sample_weights was not None. per_sample_weights is only supported for mode='sum' "
                f"(got mode='{mode}'). Please open a feature request on GitHub."
            )
        if per_sample_weights.dtype != weight.dtype:
            raise TypeError(
                f"{op}: per_sample_weights of dtype {per_sample_weights.dtype} must have the weight's dtype "
                f"{weight.dtype}"
            )
    xp, D = weight.xp, weight.shape[1]
    with backend.array_scope(weight.array):
        if input.ndim == 2:
            if offsets is not None:
                raise ValueError(
                    f"{op}: if input is 2-d (B, N), offsets has to be None, got offsets of shape {offsets.shape}"
                )
            n_bags, length = input.shape[0], input.shape[0] * input.shape[1]
            bag = xp.repeat(xp.arange(n_bags), input.shape[1])
        elif input.ndim == 1:
            if offsets is None:
                raise ValueError(f"{op}: offsets has to be a 1-d tensor when input is 1-d, got None")
            if offsets.ndim != 1 or offsets.dtype not in _INDEX_DTYPES:
                raise ValueError(
                    f"{op}: offsets has to be a 1-d int64 or int32 tensor, got {offsets.dtype} {offsets.shape}"
                )
            n_bags = offsets.shape[0] - 1 if include_last_offset else offsets.shape[0]
            length = input.shape[0]
            bag = _bags(offsets.array, max(n_bags, 0), length, op)
        else:
            raise ValueError(f"{op}: input has to be 1-d or 2-d, got shape {input.shape}")
        if n_bags <= 0 and length:
            raise ValueError(f"{op}: {length} indices but no bag: offsets needs at least one start of a bag")
        n_bags = max(n_bags, 0)
        flat = input.reshape(-1)
        keep = xp.ones(length, dtype=bool) if padding_idx is None else flat.array.astype(np.int64) != padding_idx
    if max_norm is not None:
        embedding_renorm_(weight, input, float(max_norm), norm_type)
    rows = EmbeddingLookup.apply(weight, flat, padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq))
    if padding_idx is not None:
        rows = where(keep[:, None], rows, 0.0)  # padding entries leave their bag
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    if mode == "max":
        return _bag_max(rows, bag, keep, n_bags, gather, cat)
    with backend.array_scope(weight.array):  # (on the weight's GPU, whichever is current)
        target = Tensor(xp.ascontiguousarray(xp.broadcast_to(bag[:, None], (length, D))))
        zeros = Tensor(xp.zeros((n_bags, D), dtype=rows.dtype))
    out = scatter_add(zeros, 0, target, rows)
    if mode == "mean":
        with backend.array_scope(weight.array):
            counts = xp.zeros(n_bags, dtype=np.int64)
            add_at(counts, (bag,), keep.astype(np.int64))  # (no mask compress: no host read of its size)
            sizes = Tensor(xp.maximum(counts, 1).astype(rows.dtype)[:, None])
        out = out / sizes
    return out


def _bag_max(rows: Tensor, bag: Any, keep: Any, n_bags: int, gather: Any, cat: Any) -> Tensor:
    """Elementwise max over each bag of ``rows`` (L, D) -> (n_bags, D): the first maximal entry
    of each (bag, column) is found on the raw values (a constant index), then gathered, so the
    gradient goes to it; an empty bag picks an extra zero row."""
    from ..kernels.scatter import reduce_at  # noqa: PLC0415

    xp, (length, D) = rows.xp, rows.shape
    with backend.array_scope(rows.array):
        values = xp.where(keep[:, None], rows.array, -xp.inf)
        nan = xp.isnan(values)
        cols = xp.arange(D)[None, :]
        best = xp.full((n_bags, D), -xp.inf, dtype=rows.dtype)
        grid = (xp.broadcast_to(bag[:, None], (length, D)), xp.broadcast_to(cols, (length, D)))
        reduce_at(best, grid, xp.where(nan, -xp.inf, values), "amax")
        positions = xp.where(keep[:, None] & (values == best[bag]), xp.arange(length)[:, None], length)
        first = xp.full((n_bags, D), length, dtype=np.int64)
        reduce_at(first, grid, positions.astype(np.int64), "amin")
        # torch keeps a bag's first entry unless a later one is greater: a NaN sticks only if first
        first_kept = xp.full(n_bags, length, dtype=np.int64)
        reduce_at(first_kept, (bag,), xp.where(keep, xp.arange(length), length).astype(np.int64), "amin")
        nan_first = xp.concatenate([nan, xp.zeros((1, D), dtype=bool)])[first_kept]
        first = xp.where(nan_first, first_kept[:, None], first)
        zero_row = Tensor(xp.zeros((1, D), dtype=rows.dtype))
    return gather(cat([rows, zero_row], 0), 0, Tensor(first))
