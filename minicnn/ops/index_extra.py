"""torch's other indexing functions: index_add / index_copy / index_fill / index_put (also
accumulating), masked_select / masked_scatter, take / put, repeat_interleave, argwhere,
unravel_index, tril_indices / triu_indices and sum_to_size.

Each one is a composition of the differentiable indexing ops minicnn has (getitem, index_put,
scatter, scatter_add, gather via index_select, where), with integer indices as constants:
their gradients and higher-order gradients are those ops'. The one new Function is
:class:`IndexPutAccumulate` (``x[index] += v`` out of place with repeated indices adding up,
for ``index_put(accumulate=True)`` and ``put(accumulate=True)``). All results are new tensors
(copies), as torch's out-of-place forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from .dims import wrap_dim
from .index import Gather, Scatter, ScatterAdd
from .math import index_put as _index_put
from .math import unbroadcast
from .shape import _check_array_indices, expand, getitem, plain_index, reshape
from .shape_extra import broadcast_shapes


def _as_long(index: Any, like: Tensor, op: str, dtypes: str = "iu") -> Tensor:
    index = index if isinstance(index, Tensor) else Tensor(np.asarray(index, dtype=np.int64), device=like.device)
    if index.dtype.kind not in dtypes:
        raise RuntimeError(f"{op}: expected an integer (int64 or int32) index tensor, got dtype {index.dtype}")
    return index


def _along(input: Tensor, dim: int, index: Any, op: str) -> tuple[Tensor, int, Tensor]:  # noqa: A002
    """(input at least 1-d, dim wrapped, the 1-d int64 index) of the index_* ops."""
    index = _as_long(index, input, op)
    if index.ndim > 1:
        raise IndexError(f"{op}: index should have dimension 1 or 0 (got {index.ndim})")
    x = reshape(input, (1,)) if input.ndim == 0 else input
    d = wrap_dim(dim, input.ndim, op.rstrip("()"))
    return x, d, reshape(index, (-1,)) if index.ndim == 0 else index


def _check_index(
    index: Any, n: int, dim: int, op: str, allow_negative: bool = False, error: type[Exception] = IndexError
) -> None:
    """``error`` (torch's IndexError for the index_* ops; index_add of a >= 2-d tensor: RuntimeError)
    if an entry of ``index`` is outside [0, n) (or [-n, n))."""
    if index.size == 0:
        return
    bad = (index < (-n if allow_negative else 0)) | (index >= n)
    if backend.is_cupy_array(index):
        backend.raise_if(bad.any(), error, f"{op}: an index is out of bounds for dimension {dim} with size {n}")
    elif bad.any():
        raise error(f"{op}: index {int(index[bad].flat[0])} is out of bounds for dimension {dim} with size {n}")


def _spread(index: Tensor, d: int, shape: tuple[int, ...]) -> Tensor:
    """A 1-d index placed along dim ``d`` and expanded to ``shape`` (scatter's index)."""
    lined = reshape(index, [-1 if k == d else 1 for k in range(len(shape))])
    return expand(lined.to(np.int64), shape)


def _source(input: Tensor, source: Any, d: int, k: int, op: str) -> Tensor:  # noqa: A002
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}: argument 'source' must be Tensor, not {type(source).__name__}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"{op}: self ({input.dtype}) and source ({source.dtype}) must have the same scalar type")
    src = reshape(source, (1,)) if source.ndim == 0 else source
    want = tuple(k if j == d else n for j, n in enumerate(input.shape if input.ndim else (1,)))
    if src.shape != want:
        raise RuntimeError(
            f"{op}: source of shape {list(source.shape)} does not fit: expected {list(want)} (self's shape "
            f"{list(input.shape)} with dim {d} of the number of indices, {k})"
        )
    return src


def _back(out: Tensor, input: Tensor) -> Tensor:  # noqa: A002
    return reshape(out, ()) if input.ndim == 0 else out


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``alpha * source[..., i, ...]`` added to ``input[..., index[i], ...]``
    along ``dim`` (repeated indices add up). Differentiable in input and source."""
    x, d, idx = _along(input, dim, index, "index_add()")
    src = _source(input, source, d, idx.shape[0], "index_add()")
    # torch's types, which its kernels decide: RuntimeError along the first or last of 2+ dims with alpha 1
    error = RuntimeError if x.ndim > 1 and d in (0, x.ndim - 1) and alpha == 1 else IndexError
    _check_index(idx.array, x.shape[d], d, "index_add()", error=error)
    if np.dtype(input.dtype).kind in "biu":  # torch casts alpha to an integer input's dtype (1.5 -> 1)
        alpha = np.asarray(alpha).astype(input.dtype).item()
    if alpha != 1:
        src = src * alpha
    return _back(ScatterAdd.apply(x, _spread(idx, d, src.shape), src, dim=d), input)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``input[..., index[i], ...] = source[..., i, ...]`` along ``dim``
    (for a repeated index, which write wins is unspecified, as in torch)."""
    x, d, idx = _along(input, dim, index, "index_copy()")
    src = _source(input, source, d, idx.shape[0], "index_copy()")
    _check_index(idx.array, x.shape[d], d, "index_copy()")
    return _back(Scatter.apply(x, _spread(idx, d, src.shape), src, dim=d, value=None), input)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor, differentiable) at the
    entries ``index`` along ``dim`` (negative indices count from the end)."""
    x, d, idx = _along(input, dim, index, "index_fill()")
    n = x.shape[d]
    _check_index(idx.array, n, d, "index_fill()", allow_negative=True)
    with backend.array_scope(x.array):
        hit = x.xp.zeros(n, dtype=bool)
        hit[idx.array] = True
        mask = hit.reshape([-1 if k == d else 1 for k in range(x.ndim)])
    return _back(x.masked_fill(Tensor(mask), value), input)


class IndexPutAccumulate(Function):
    """``y = x.copy(); y[index] += v`` with repeated index positions adding up (v broadcast to
    the indexed shape). Backward: x's gradient is ``gy``, v's is ``gy[index]`` summed to v's shape."""

    linear = True  # in (x, v); the index is a setting

    def forward(self, x, v):
        xp = backend.get_array_module(x)
        self.v_shape = v.shape
        y = x.copy()
        picked = xp.broadcast_to(v, y[self.index].shape)
        if xp is np:
            np.add.at(y, self.index, picked)
        else:
            import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

            from .. import runtime  # noqa: PLC0415

            if y.dtype.kind in "fc":
                runtime.alert_not_deterministic("index_put_ with accumulate=True on a CUDA tensor")
            if y.dtype.kind in "fc" or y.dtype in (np.int32, np.int64, np.uint32, np.uint64):
                cupyx.scatter_add(y, self.index, picked)
            else:  # bool, (u)int8, (u)int16: CuPy's add.at refuses them; add in int64, wrap back as NumPy's
                wide = y.astype(np.int64)
                cupyx.scatter_add(wide, self.index, picked.astype(np.int64))
                y = (wide != 0) if y.dtype == np.bool_ else wide.astype(y.dtype)
        return y

    def backward(self, gy):
        gv = unbroadcast(gy[self.index], self.v_shape) if self.needs_input_grad[1] else None
        return gy if self.needs_input_grad[0] else None, gv


def _advanced(index: Any, x: Tensor) -> tuple[Any, ...]:
    """An index of int arrays (bool masks turned into their positions), for ``ufunc.at``."""
    out = []
    for part in index:
        if hasattr(part, "dtype") and part.dtype == np.bool_:
            out.extend(part.nonzero())
        else:
            out.append(part)
    return tuple(out)


def index_put(input: Tensor, indices: Sequence[Any], values: Any, accumulate: bool = False) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``input[indices] = values`` (``indices``: a tuple of integer or
    bool tensors, one per leading dim; ``values`` broadcast to the indexed shape), or ``+=`` with
    ``accumulate=True`` (repeated positions add up). Differentiable in input and values."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be a tuple of Tensors, not {type(indices).__name__}")
    if len(indices) > max(input.ndim, 1):
        raise IndexError(f"index_put(): too many indices for tensor of dimension {input.ndim} (got {len(indices)})")
    index = tuple(slice(None) if i is None else plain_index(i if isinstance(i, Tensor) else Tensor(i), copy=True)
                  for i in indices)  # fmt: skip
    for part in index:
        if hasattr(part, "dtype") and part.dtype.kind not in "iub":
            raise IndexError(
                f"index_put(): tensors used as indices must be long, int or bool tensors, got {part.dtype}"
            )
    if backend.is_cupy_array(input.array):
        _check_array_indices(index, input.shape)
    if isinstance(values, Tensor) and values.dtype != input.dtype:
        raise RuntimeError(
            "index_put(): Index put requires the source and destination dtypes match, got "
            f"{input.dtype} for the destination and {values.dtype} for the source."
        )
    v = values if isinstance(values, Tensor) else Tensor(values, dtype=input.dtype, device=input.device)
    if not accumulate:
        return _index_put(input, index, v)
    with backend.array_scope(input.array):
        index = _advanced(index, input)
        try:
            input.array[index]
        except IndexError as e:
            raise IndexError(f"index_put(): {e} (tensor of shape {list(input.shape)})") from None
    return IndexPutAccumulate.apply(input, v, index=index)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:  # noqa: A002
    """The elements of ``input`` where the bool ``mask`` is True (both broadcast), as a 1-d copy.
    Its length depends on the data: on a GPU it waits for the mask."""
    if not isinstance(mask, Tensor) or mask.dtype != np.bool_:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {getattr(mask, 'dtype', type(mask))}")
    x, where = _masked_positions(input, mask)
    return getitem(x, tuple(Tensor(w) for w in where))


def _masked_positions(input: Tensor, mask: Tensor) -> tuple[Tensor, tuple[Any, ...]]:  # noqa: A002
    """input expanded to the broadcast shape of both (at least 1-d), and the positions of the
    mask's True elements in it (one int array per dim)."""
    shape = broadcast_shapes(input.shape, mask.shape) or (1,)
    x = input if input.shape == shape else expand(reshape(input, (1,)) if input.ndim == 0 else input, shape)
    with backend.array_scope(x.array):
        where = x.xp.broadcast_to(mask.array, shape).nonzero()
    return x, where


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:  # noqa: A002
    """A copy of ``input`` (broadcast with ``mask``) whose places where ``mask`` is True take the
    first elements of ``source``, in row-major order. Differentiable in input and source."""
    if not isinstance(mask, Tensor) or mask.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_: expected BoolTensor for mask, got {getattr(mask, 'dtype', type(mask))}")
    if source.dtype != input.dtype:
        raise RuntimeError(
            f"masked_scatter: expected self and source to have same dtypes but got {input.dtype} and {source.dtype}"
        )
    x, where = _masked_positions(input, mask)
    k = int(where[0].shape[0])
    if k > source.numel():
        raise RuntimeError(
            f"masked_scatter: Number of elements of source < number of ones in mask ({source.numel()} < {k})"
        )
    out = _index_put(x, where, getitem(reshape(source, -1), slice(0, k)))
    return reshape(out, ()) if input.ndim == 0 and mask.ndim == 0 else out


def take(input: Tensor, index: Tensor) -> Tensor:  # noqa: A002
    """``input.flatten()[index]``: the elements at the flat positions ``index`` (int64; negative
    count from the end), in index's shape. Differentiable in input (repeats add up)."""
    index = _as_long(index, input, "take()")
    n = input.numel()
    idx = index.array
    if idx.size:
        bad = (idx < -n) | (idx >= n)
        if backend.is_cupy_array(idx):
            backend.raise_if(
                bad.any(), IndexError, f"take(): out of range: an index is outside a tensor of {n} elements"
            )
        elif bad.any():
            raise IndexError(
                f"take(): out of range: tried to access index {int(idx[bad].flat[0])} on a tensor of {n} elements."
            )
    return getitem(reshape(input, -1), Tensor(idx.astype(np.int64)))


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:  # noqa: A002
    """A copy of ``input`` with the elements at the flat positions ``index`` set to ``source``'s
    (as many), or with ``source`` added (``accumulate``; repeats add up)."""
    index = _as_long(index, input, "put()")
    if index.numel() != source.numel():
        raise IndexError(
            f"put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source.numel()}, index.numel() = {index.numel()}"
        )
    if source.dtype != input.dtype:
        raise RuntimeError(f"put_(): self ({input.dtype}) and source ({source.dtype}) must have the same scalar type")
    n = input.numel()
    idx = index.array.reshape(-1).astype(np.int64)
    if idx.size:
        bad = (idx < -n) | (idx >= n)
        if backend.is_cupy_array(idx):
            backend.raise_if(
                bad.any(), IndexError, f"put_(): out of range: an index is outside a tensor of {n} elements"
            )
        elif bad.any():
            raise IndexError(
                f"put_(): out of range: tried to access index {int(idx[bad][0])} on a tensor of {n} elements."
            )
    flat, src = reshape(input, -1), reshape(source, -1)
    if accumulate:
        out = IndexPutAccumulate.apply(flat, src, index=(idx,))
    else:
        out = _index_put(flat, (idx,), src)
    return reshape(out, input.shape)


def repeat_interleave(
    input: Tensor, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:  # noqa: A002,E501
    """Each element (each slice along ``dim``; of the flattened tensor when dim is None)
    repeated ``repeats`` times (an int, or a tensor with one count per element). With one
    integer tensor and no repeats: the indices ``i`` repeated ``input[i]`` times. A copy;
    differentiable in input (the gradient adds up each element's repeats)."""
    if repeats is None:
        counts = input
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave: repeats must be a 1-dim integer tensor (repeat_interleave(repeats))")
        return Tensor(_repeat_index(counts.xp, counts.numel(), counts, output_size, counts.array))
    x, d = (reshape(input, -1), 0) if dim is None else (input, wrap_dim(dim, input.ndim, "repeat_interleave"))
    x = reshape(x, (1,)) if x.ndim == 0 else x
    with backend.array_scope(x.array):
        index = _repeat_index(x.xp, x.shape[d], repeats, output_size, x.array)
    shape = tuple(index.shape[0] if k == d else n for k, n in enumerate(x.shape))
    return Gather.apply(x, _spread(Tensor(index), d, shape), dim=d, op="repeat_interleave()", allow_negative=False)


def _repeat_index(xp: Any, n: int, repeats: Any, output_size: int | None, like: Any) -> Any:
    """``[0] * r0 + [1] * r1 + ...`` as an int64 array (the repeats read on the host)."""
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1 or repeats.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave: repeats must be 0-dim or 1-dim integer tensor")
        counts = backend.to_numpy(repeats.array).reshape(-1).astype(np.int64)
        if counts.size == 1:
            counts = np.full(n, counts[0])
        elif counts.size != n:
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {counts.size} and input.size({n})")  # fmt: skip
    else:
        counts = np.full(n, int(repeats), dtype=np.int64)
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    if output_size is not None and int(output_size) != int(counts.sum()):
        raise RuntimeError(
            f"repeat_interleave: output_size {output_size} does not match the sum of repeats {int(counts.sum())}"
        )
    index = np.repeat(np.arange(n, dtype=np.int64), counts)
    return index if xp is np else backend.to_device(index, backend.device_of(like))


def argwhere(input: Tensor) -> Tensor:  # noqa: A002
    """The (count, ndim) int64 indices of the non-zero elements (``input.nonzero()``)."""
    return input.nonzero()


def unravel_index(indices: Tensor, shape: Any) -> tuple[Tensor, ...]:
    """The coordinates in an array of ``shape`` of the flat (row-major) positions ``indices``:
    one int64 tensor per dim, each of indices' shape."""
    if not isinstance(indices, Tensor):
        indices = Tensor(np.asarray(indices))
    if indices.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    if 0 in shape and indices.numel():
        raise ValueError(f"'shape' cannot have zero dimensions when 'indices' is non-empty, but got {shape}")
    out, rest = [], indices.array.astype(np.int64)
    with backend.array_scope(rest):
        for s in reversed(shape):
            out.append(rest % s if s else rest * 0)
            rest = rest // s if s else rest
    return tuple(Tensor(a) for a in reversed(out))


def _triangle_indices(row: int, col: int, offset: int, dtype: Any, device: Any, lower: bool) -> Tensor:
    for name, n in (("row", row), ("col", col)):
        if int(n) < 0:
            raise RuntimeError(f"{'tril' if lower else 'triu'}_indices: {name} must be non-negative, got {int(n)}")
    rows, cols = np.indices((int(row), int(col)))
    keep = (cols - rows <= offset) if lower else (cols - rows >= offset)
    out = np.stack([rows[keep], cols[keep]]).astype(np.int64 if dtype is None else np.dtype(dtype))
    return Tensor(out, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = "cpu") -> Tensor:
    """The (2, N) row and column indices of the lower triangle (col - row <= offset) of a
    row x col matrix, in row-major order (dtype None: int64)."""
    return _triangle_indices(row, col, int(offset), dtype, device, True)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = "cpu") -> Tensor:
    """The (2, N) indices of the upper triangle (col - row >= offset), row-major (dtype None: int64)."""
    return _triangle_indices(row, col, int(offset), dtype, device, False)


def sum_to_size(input: Tensor, *size: Any) -> Tensor:  # noqa: A002
    """``input`` summed over the dims that broadcasting ``size`` to input's shape would stretch."""
    shape = tuple(int(s) for s in (size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size))
    try:
        ok = len(shape) <= input.ndim and np.broadcast_shapes(shape, input.shape) == input.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(input.shape)}}}.")
    return unbroadcast(input, shape)


def diagonal_positions(shape: tuple[int, ...], wrap: bool) -> tuple[Any, ...] | None:
    """The index of the elements ``fill_diagonal_`` writes (torch's rule): (i, i, ..., i) for
    a tensor with all dims equal; for a tall matrix with ``wrap``, the diagonal restarts every
    cols + 1 rows, as NumPy's fill_diagonal. None: nothing to write."""
    if len(shape) < 2:
        raise RuntimeError(f"fill_diagonal_: dimensions must larger than 1, got {len(shape)}")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError(f"fill_diagonal_: all dimensions of input must be of equal length, got {list(shape)}")
    if len(shape) > 2:
        return (np.arange(shape[0]),) * len(shape)
    rows, cols = shape
    end = rows * cols if wrap else min(rows, cols) * cols
    flat = np.arange(0, end, cols + 1)
    return (flat // cols, flat % cols) if cols else None
