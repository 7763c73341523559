"""Shape ops (reshape, transpose, indexing, concatenation; flip, roll, repeat/tile,
views along a dim (narrow, chunk, split, unbind), movedim, diagonals and triangles) and their
backward.

Each backward undoes the forward's data movement: reshape back, transpose with the inverse
permutation, scatter-add into the indexed positions, split a concatenation. Padding is in ``ops/pad.py``.
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, _as_tensors, is_grad_enabled
from ..tensor_methods import number_outputs
from .dims import as_dim, wrap_dim, wrap_dims
from .errors import ShapeError
from .math import astype, clone, result_dtype, torch_index


def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Reshape(Function):
    linear = True

    def forward(self, x):
        self.in_shape = x.shape
        try:
            if builtins.min(self.shape, default=0) < -1:  # NumPy takes any negative size for -1
                raise ValueError
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(f"reshape: shape {self.shape} is invalid for input of shape {tuple(x.shape)}") from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Expand(Function):
    linear = True

    def forward(self, x):
        self.in_shape = x.shape
        lead = len(self.shape) - x.ndim
        if lead < 0 or builtins.min(self.shape[:lead], default=0) < 0:
            raise ShapeError(f"expand: size {list(self.shape)} does not fit the tensor's shape {list(x.shape)}")
        shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(self.shape))
        xp = backend.get_array_module(x)
        try:
            out = xp.broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(
                f"expand: the expanded size {list(self.shape)} must match the existing size {list(x.shape)} "
                "at non-singleton dimensions"
            ) from None
        if out.size == x.size:  # nothing stretched (only new size-1 dims): a writable view, as torch's
            return x.reshape(shape)
        return out

    def backward(self, gy):
        from .math import unbroadcast

        return unbroadcast(gy, self.in_shape)


class Permute(Function):
    linear = True

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):  # inverse permutation
        inv = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inv[a] = i
        return gy.transpose(inv)


class GetItem(Function):
    """``x[index]``; backward scatters ``gy`` into zeros, adding at repeated indices."""

    linear = True

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        if backend.is_cupy_array(x) and not _is_basic(self.index):
            _check_array_indices(self.index, x.shape)
        y = x[self.index]
        if isinstance(y, np.generic):  # every axis indexed by an int: a 0-d view, as torch's x[i, j]
            y = x[(*self.index, Ellipsis) if isinstance(self.index, tuple) else (self.index, Ellipsis)]
        return y

    def release(self) -> None:
        if not _is_basic(self.index):  # torch saves an array index for backward (IndexBackward0): freed
            self.free()
        else:
            super().release()

    def backward_part(self, gy):
        return (self.index, gy) if _is_basic(self.index) else None

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gx = xp.zeros(self.in_shape, dtype=self.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy  # basic slicing selects each element at most once
        elif xp is np:
            np.add.at(gx, self.index, gy)  # repeated indices accumulate
        else:
            import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

            from .. import runtime  # noqa: PLC0415

            runtime.alert_not_deterministic("index backward (x[index] with an array index) on a CUDA tensor")
            cupyx.scatter_add(gx, self.index, gy)
        return gx


def index_axes(index: Any, ndim: int) -> list[tuple[Any, int | None]]:
    """Each part of an index with the axis of x it applies to (None for ``None``, ``...``
    and boolean masks, which are not checked)."""
    parts = index if isinstance(index, tuple) else (index,)
    consumed = sum(np.ndim(p) if _is_mask(p) else 0 if p is None or p is Ellipsis else 1 for p in parts)
    out, axis = [], 0
    for p in parts:
        if p is Ellipsis:
            axis += ndim - consumed
            out.append((p, None))
        elif p is None:
            out.append((p, None))
        elif _is_mask(p):
            out.append((p, None))
            axis += np.ndim(p)
        else:
            out.append((p, axis))
            axis += 1
    return out


def _is_mask(p: Any) -> bool:
    dtype = getattr(p, "dtype", None)
    return type(p) is bool or (dtype is not None and np.dtype(dtype).kind == "b")


def _check_array_indices(index: Any, shape: tuple[int, ...]) -> None:
    """CuPy wraps out-of-range integer array indices around (NumPy and torch raise): check
    them on the device, raised at the next host read (backend.raise_if, like torch's
    device-side assert); Python ints are checked here."""
    for part, axis in index_axes(index, len(shape)):
        if axis is None or axis >= len(shape) or isinstance(part, slice):
            continue
        n = shape[axis]
        if isinstance(part, (int, np.integer)):
            if not -n <= part < n:
                raise IndexError(f"index {part} is out of bounds for axis {axis} with size {n}")
        elif backend.is_cupy_array(part) and part.dtype.kind in "iu" and part.size:
            bad = ((part < -n) | (part >= n)).any()
            backend.raise_if(bad, IndexError, f"index: an index is out of bounds for axis {axis} with size {n}")


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    # (a Python bool is an advanced index, a 0-d mask: x[0, :, True] is (n, 1, k) in torch, (1, n, k) in NumPy)
    return all((isinstance(p, (int, slice)) and type(p) is not bool) or p is None or p is Ellipsis for p in parts)


def plain_index(index: Any, copy: bool = False) -> Any:
    """Replace Tensors inside an index by their arrays; with ``copy``, copies of them (what a
    graph node keeps must not change when the index tensor is written in place later). A slice
    step <= 0 raises ValueError, as torch's (``x[::-1]``: use ``flip``)."""
    if isinstance(index, Tensor):
        if index.dtype == np.uint8:  # torch's deprecated byte mask: a boolean mask, not positions
            warnings.warn(
                "indexing with dtype uint8 is now deprecated, please use a dtype bool instead",
                UserWarning,
                stacklevel=3,
            )
            return index.array.astype(bool)
        return index.array.copy() if copy else index.array
    if isinstance(index, tuple):
        return tuple(plain_index(i, copy) for i in index)
    if isinstance(index, list) and any(isinstance(i, Tensor) for i in index):
        return [plain_index(i, copy) for i in index]
    if isinstance(index, slice) and index.step is not None and index.step <= 0:  # torch's: no reversing slices
        raise ValueError("slice step cannot be zero" if index.step == 0 else "step must be greater than zero")
    return index


class Concat(Function):
    linear = True

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        xp = backend.get_array_module(*xs)
        y = xp.concatenate(xs, axis=self.axis)  # in the inputs' layout: torch's result is always contiguous
        return y if y.flags.c_contiguous else xp.ascontiguousarray(y)

    def backward(self, gy):
        # each input's gradient is its slice of gy, a view (no copy; the engine copies a view before writing to it)
        lead, start, grads = (slice(None),) * self.axis, 0, []
        for s in self.sizes:
            grads.append(gy[(*lead, slice(start, start + s))])
            start += s
        return tuple(grads)


class Stack(Function):
    linear = True

    def forward(self, *xs):
        self.n = len(xs)
        xp = backend.get_array_module(*xs)
        y = xp.stack(xs, axis=self.axis)  # in the inputs' layout: torch's result is always contiguous
        return y if y.flags.c_contiguous else xp.ascontiguousarray(y)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return tuple(xp.take(gy, i, axis=self.axis) for i in range(self.n))


def reshape(x: Tensor, *shape: Any) -> Tensor:
    in_shape = x.shape
    return _whole_view(Reshape.apply(x, shape=_shape_arg(shape)), lambda v: Reshape.apply(v, shape=in_shape))


def _permuted(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    back = tuple(int(a) for a in np.argsort(axes))
    return _whole_view(Permute.apply(x, axes=axes), lambda v: Permute.apply(v, axes=back))


def _whole_view(out: Tensor, inverse: Any) -> Tensor:
    """``out``; if it is a view of all of its input's memory, marked so that an in-place write
    through it is also recorded on the input, as ``input = inverse(out)`` (Tensor._record_inplace)."""
    if out._view_of is not None:
        out._view_inverse = inverse
    return out


def expand(x: Tensor, *shape: Any) -> Tensor:
    out = Expand.apply(x, shape=_shape_arg(shape))
    if out.numel() != x.numel():  # stretched: a read-only view (torch refuses writes to it too)
        return out
    in_shape = x.shape  # nothing stretched: a writable view of all of x, as a reshape
    return _whole_view(out, lambda v: Reshape.apply(v, shape=in_shape))


def permute(x: Tensor, *axes: Any) -> Tensor:
    """torch's permute: ``axes`` (varargs or one sequence) names every dim once."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if len(axes) != x.ndim:
        raise RuntimeError(
            f"permute(): number of dims don't match: the tensor has {x.ndim} dims, got {len(axes)} ({axes})"
        )
    return _permuted(x, wrap_dims(axes, x.ndim, "permute") if x.ndim else ())


def transpose(x: Tensor, *axes: Any) -> Tensor:
    """``transpose(x, d0, d1)`` swaps two dims (torch); ``transpose(x)`` reverses them and a
    full permutation of three or more dims permutes, as in NumPy."""
    if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
        d0, d1 = (wrap_dim(a, x.ndim, "transpose") for a in axes)
        if x.ndim == 0:  # dims 0 and -1 of a 0-d tensor: nothing to swap
            return _permuted(x, ())
        perm = list(range(x.ndim))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return _permuted(x, tuple(perm))
    if not axes:
        return _permuted(x, tuple(reversed(range(x.ndim))))
    return permute(x, *axes)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    s = wrap_dim(start_dim, x.ndim, "flatten")
    e = wrap_dim(end_dim, x.ndim, "flatten")
    if x.ndim == 0:
        return reshape(x, 1)
    if s > e:
        raise ValueError(
            f"flatten() has invalid args: start_dim cannot come after end_dim "
            f"(start_dim={start_dim}, end_dim={end_dim} for a {x.ndim}-d tensor)"
        )
    if s == e:  # no dims flattened: the input itself, as torch documents
        return x
    shape = x.shape[:s] + (-1 if x.numel() else _prod(x.shape[s : e + 1]),) + x.shape[e + 1 :]
    return reshape(x, shape)


def _prod(xs: Sequence[int]) -> int:
    p = 1
    for v in xs:
        p *= v
    return p


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = {wrap_dim(d, x.ndim, "squeeze") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = wrap_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def getitem(x: Tensor, index: Any) -> Tensor:
    index = plain_index(index, copy=is_grad_enabled() and x.requires_grad)
    return _basic_view(x, index) if _is_basic(index) else GetItem.apply(x, index=torch_index(index, x.array))


def _basic_view(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` for a plain basic index (no checks): a view, and an in-place write through it
    is also recorded on x."""
    out = GetItem.apply(x, index=index)
    if out._view_of is not None:
        out._view_index = index
    return out


def _common_dtype(ts: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """The tensors in torch's promoted dtype (float32 with int64 gives float32, not NumPy's float64)."""
    if len({t.dtype for t in ts}) <= 1:
        return ts
    dt = result_dtype(*ts)
    return tuple(t if t.dtype == dt else astype(t, dt) for t in ts)


def cat(tensors: Sequence[Tensor], axis: int = 0, dim: int | None = None) -> Tensor:
    """Concatenate along ``axis`` (``dim=`` is accepted as in torch)."""
    axis = axis if dim is None else dim
    ts = _common_dtype(_as_tensors(tensors, "cat"))
    if not ts:
        raise ShapeError("cat: expected a non-empty sequence of tensors")
    shapes = [t.array.shape for t in ts]  # (plain tuples: cheaper than Tensor.shape's Size)
    if () in shapes:
        raise RuntimeError(f"cat: zero-dimensional tensor (at position {shapes.index(())}) cannot be concatenated")
    like = next((s for s in shapes if s != (0,)), shapes[0])
    nd = len(like)
    ax = wrap_dim(axis, nd, "cat")
    if nd > 1 and (0,) in shapes:  # torch's legacy rule: a 1-d empty tensor joins anything (cat([tensor([]), x]))
        empty = tuple(0 if i == ax else n for i, n in enumerate(like))  # as 0 along ax
        ts = tuple(reshape(t, empty) if s == (0,) else t for t, s in zip(ts, shapes))
        shapes = [t.array.shape for t in ts]
    rest = like[:ax] + like[ax + 1 :]
    for s in shapes:
        if len(s) != nd or s[:ax] + s[ax + 1 :] != rest:
            raise ShapeError(f"cat: shapes {[t.shape for t in ts]} differ outside dimension {ax}")
    return Concat.apply(*ts, axis=ax)


def stack(tensors: Sequence[Tensor], axis: int = 0, dim: int | None = None) -> Tensor:
    axis = axis if dim is None else dim
    ts = _common_dtype(_as_tensors(tensors, "stack"))
    if not ts:
        raise ShapeError("stack: expected a non-empty sequence of tensors")
    if any(t.shape != ts[0].shape for t in ts):
        raise ShapeError(f"stack: all tensors need one shape, got {[t.shape for t in ts]}")
    return Stack.apply(*ts, axis=wrap_dim(axis, ts[0].ndim + 1, "stack"))


# -- flip, roll, repeat/tile, views along a dim (narrow, chunk, split, unbind), movedim,
# -- diagonals and triangles --------------------------------------------------------------
# Copies (flip, roll, repeat, tril/triu, diag) are Functions whose backward undoes the data
# movement: flip back, roll back, sum the tiles, mask again, take the diagonal; being linear
# (``linear = True``), their gradient's own derivative is the op applied again. The views
# (narrow, chunk, split, unbind) are basic-index getitems, so they share memory and the
# version counter with their input and in-place writes through them are recorded on it;
# diagonal is a strided view of its own (see Diagonal).


def _dims_arg(dims: Any, op: str = "dims") -> tuple[int, ...]:
    """An int, or a sequence of ints (also as varargs: ``flip(x, 0, 1)``), as a tuple; a bool
    or a float is a TypeError, as in torch."""
    if isinstance(dims, (tuple, list)):
        return tuple(as_dim(d, op) for d in dims)
    return (as_dim(dims, op),)


class Flip(Function):
    """Reverse the order of the elements along ``dims`` (a copy, as torch's)."""

    linear = True

    def forward(self, x):
        return backend.get_array_module(x).flip(x, axis=self.dims).copy()

    def backward(self, gy):
        return backend.get_array_module(gy).flip(gy, axis=self.dims)


class Roll(Function):
    """Shift cyclically by ``shifts`` along ``dims`` (None: over the flattened tensor)."""

    linear = True

    def forward(self, x):
        return backend.get_array_module(x).roll(x, self.shifts, axis=self.dims)

    def backward(self, gy):
        neg = -self.shifts if isinstance(self.shifts, int) else tuple(-s for s in self.shifts)
        return backend.get_array_module(gy).roll(gy, neg, axis=self.dims)


class Repeat(Function):
    """Tile ``x`` (padded with leading 1-dims to len(reps)) ``reps[i]`` times along dim i.
    Backward: view ``gy`` as (reps[0], n[0], reps[1], n[1], ...) and sum over the reps."""

    linear = True

    def forward(self, x):
        self.in_shape = x.shape
        lead = len(self.reps) - x.ndim
        return backend.get_array_module(x).tile(x.reshape((1,) * lead + x.shape), self.reps)

    def backward(self, gy):
        sizes = (1,) * (len(self.reps) - len(self.in_shape)) + tuple(self.in_shape)
        split = [v for r, n in zip(self.reps, sizes) for v in (r, n)]
        return gy.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(self.in_shape)


class Triangle(Function):
    """``tril`` (lower=True) or ``triu`` of the last two dims: entries with
    ``j - i <= diagonal`` (tril) or ``>= diagonal`` (triu) kept, the others set to 0."""

    linear = True

    def forward(self, x):
        xp = backend.get_array_module(x)
        rows, cols = x.shape[-2:]
        tri = xp.tri(rows, cols, self.diagonal if self.lower else self.diagonal - 1, dtype=bool)
        self.keep = tri if self.lower else ~tri
        return xp.where(self.keep, x, x.dtype.type(0))

    def backward(self, gy):
        return backend.get_array_module(gy).where(self.keep, gy, gy.dtype.type(0))


class DiagEmbed(Function):
    """A 1-d x of length n as the ``offset``-th diagonal of an (n+|offset|)^2 matrix of zeros."""

    linear = True

    def forward(self, x):
        return backend.get_array_module(x).diag(x, self.offset)

    def backward(self, gy):
        return backend.get_array_module(gy).diagonal(gy, self.offset).copy()


def _diagonal_view(a: Any, offset: int, dim1: int, dim2: int) -> Any:
    """``a.diagonal(...)`` as a writable view (NumPy hands out a read-only one; CuPy's is writable)."""
    d = backend.get_array_module(a).diagonal(a, offset, dim1, dim2)
    flags = getattr(d, "flags", None)
    if getattr(flags, "writeable", True) is False and a.flags.writeable:
        d.flags.writeable = True
    return d


class Diagonal(Function):
    """The elements ``x[..., i, ..., i + offset, ...]`` (i along dim1, i + offset along dim2)
    as a view: dim1 and dim2 removed, the diagonal appended as the last dim. Backward writes
    ``gy`` onto the diagonal of zeros."""

    linear = True

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        return _diagonal_view(x, self.offset, self.dim1, self.dim2)

    def backward(self, gy):
        gx = backend.get_array_module(gy).zeros(self.in_shape, dtype=self.dtype)
        _diagonal_view(gx, self.offset, self.dim1, self.dim2)[...] = gy
        return gx


def flip(input: Tensor, dims: Any, *more: int) -> Tensor:
    """A copy of ``input`` with the order of the elements along ``dims`` (an int or a
    sequence; varargs accepted like Tensor.flip) reversed."""
    dims = wrap_dims(_dims_arg(dims, "flip") + _dims_arg(tuple(more), "flip"), input.ndim, "flip")
    return Flip.apply(input, dims=dims if input.ndim else ())  # a 0-d tensor: nothing to reverse


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift the elements cyclically: by ``shifts[i]`` along ``dims[i]`` (ints or sequences
    of equal length); with ``dims=None`` the tensor is flattened, rolled and reshaped back."""
    shifts = _dims_arg(shifts, "roll")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: 0")
        return Roll.apply(input, shifts=shifts[0], dims=None)
    dims = _dims_arg(dims, "roll")
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: {len(dims)}")
    if input.ndim == 0:
        raise IndexError(f"roll: dimension specified as {dims[0]} but tensor has no dimensions")
    return Roll.apply(input, shifts=shifts, dims=tuple(wrap_dim(d, input.ndim, "roll") for d in dims))


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """torch's ``Tensor.repeat``: ``input`` tiled ``sizes[i]`` times along dim i (a tuple or
    varargs, at least input.ndim of them; extra leading ones add dims)."""
    reps = _shape_arg(sizes)
    if len(reps) < input.ndim:
        raise RuntimeError(
            f"repeat: number of dimensions of repeat dims ({len(reps)}) can not be smaller than number of "
            f"dimensions of tensor ({input.ndim})"
        )
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat: trying to create tensor with negative dimension: repeats {reps}")
    return Repeat.apply(input, reps=reps)


def tile(input: Tensor, dims: Any) -> Tensor:
    """``repeat`` with ``dims`` padded by leading ones to input.ndim (torch.tile)."""
    reps = _dims_arg(dims, "tile")
    return repeat(input, (1,) * (input.ndim - len(reps)) + reps)


def _slice_along(dim: int, part: Any) -> tuple[Any, ...]:
    """An index that applies ``part`` to dim ``dim`` and takes all of the dims before it."""
    return (slice(None),) * dim + (part,)


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """The view ``input[..., start:start + length, ...]`` along ``dim``; a negative start
    counts from the end."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim, "narrow")
    n, start, length = input.shape[d], int(start), int(length)
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative, got {length}")
    if not -n <= start <= n:
        raise IndexError(f"narrow(): start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    start = start + n if start < 0 else start
    if start + length > n:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return getitem(input, _slice_along(d, slice(start, start + length)))


def narrow_copy(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """:func:`narrow` as a new tensor (torch's ``narrow_copy``): a copy, not a view."""
    return clone(narrow(input, dim, start, length))


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of ``tensor`` along ``dim``: pieces of ``split_size`` (an int; the last may be
    smaller) or of the given sizes (a sequence summing to the dim's size)."""
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
        if size == 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        count = max(-(-n // size), 1) if size else 1
        sizes = [min(size, n - i * size) for i in range(count)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got {sizes}")
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension {d}), "
                f"but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:  # getitem's work without its checks: the index is int slices
        out.append(_basic_view(tensor, _slice_along(d, slice(start, start + s))))
        start += s
    return number_outputs(tuple(out))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` views of equal size ceil(n / chunks) along ``dim`` (the last may be
    smaller, and there may be fewer), as torch.chunk; an empty dim gives ``chunks`` empty views."""
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:
        return split(input, [0] * chunks, d)
    return split(input, -(-n // chunks), d)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The views ``input[..., i, ...]`` along ``dim`` (that dim removed), for every i."""
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim, "unbind")
    return number_outputs(tuple(getitem(input, _slice_along(d, i)) for i in range(input.shape[d])))


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """``input`` with its dims ``source`` moved to positions ``destination`` (ints or equal-
    length sequences); the other dims keep their order (a view, like permute)."""
    src, dst = _dims_arg(source, "movedim"), _dims_arg(destination, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain the same "
            f"number of dims as destination ({list(dst)} dims)"
        )
    src_n = tuple(wrap_dim(s, input.ndim, "movedim") for s in src)
    dst_n = tuple(wrap_dim(s, input.ndim, "movedim") for s in dst)
    for name, given, dims in (("source", src, src_n), ("destination", dst, dst_n)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(given)})")
    if input.ndim == 0:  # nothing to move (NumPy's transpose takes no axes for a 0-d array)
        return reshape(input, ())
    order = [k for k in range(input.ndim) if k not in src_n]
    for dst_k, src_k in sorted(zip(dst_n, src_n)):
        order.insert(dst_k, src_k)
    return _permuted(input, tuple(order))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The view of the ``offset``-th diagonal of ``input`` over dims ``dim1`` and ``dim2``
    (offset > 0 above the main diagonal): those two dims removed, the diagonal appended as
    the last dim. In-place writes through it reach ``input``, also inside a graph."""
    d1 = wrap_dim(dim1, input.ndim, "diagonal")
    d2 = wrap_dim(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = int(offset)
    out = Diagonal.apply(input, offset=offset, dim1=d1, dim2=d2)
    if out._view_of is not None:  # a write through out is recorded on input as input[index] = out
        out._view_index = _diagonal_index(input, offset, d1, d2, out.shape)
    return out


def _diagonal_index(x: Tensor, offset: int, d1: int, d2: int, out_shape: tuple[int, ...]) -> tuple[Any, ...]:
    """An integer-array index of every dim of x whose ``x[index]`` is ``diagonal(x, ...)``
    (the arrays broadcast to the diagonal's shape: the other dims in order, then the diagonal)."""
    xp, nd = x.xp, len(out_shape)
    with backend.array_scope(x.array):
        diag = xp.arange(out_shape[-1]).reshape((1,) * (nd - 1) + (-1,))
        rest = iter(range(nd - 1))
        index = []
        for k in range(x.ndim):
            if k == d1:
                index.append(diag + max(-offset, 0))
            elif k == d2:
                index.append(diag + max(offset, 0))
            else:
                p = next(rest)
                index.append(xp.arange(x.shape[k]).reshape([-1 if j == p else 1 for j in range(nd)]))
    return tuple(index)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d input: the square matrix with it on the ``diagonal``-th diagonal (zeros
    elsewhere). A 2-d input: a copy of its ``diagonal``-th diagonal (1-d)."""
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=int(diagonal))
    if input.ndim == 2:
        return clone(Diagonal.apply(input, offset=int(diagonal), dim1=0, dim2=1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def _triangle(input: Tensor, diagonal: int, lower: bool) -> Tensor:
    name = "tril" if lower else "triu"
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got shape {input.shape}")
    return Triangle.apply(input, diagonal=int(diagonal), lower=lower)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (entries with col - row <= diagonal), zeros above."""
    return _triangle(input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (entries with col - row >= diagonal), zeros below."""
    return _triangle(input, diagonal, False)
