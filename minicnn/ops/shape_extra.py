"""torch's other shape functions, built from the shape ops of :mod:`minicnn.ops.shape`:
broadcasting (broadcast_to/tensors/shapes), atleast_Nd, the h/v/d/column stacks and splits,
tensor_split, unflatten, ravel, select, rot90, fliplr/flipud, the diagonal makers (diag_embed,
diagflat) and the ``*_scatter`` ops (diagonal, select, slice), sliding windows (``unfold``),
block_diag, cartesian_prod, combinations, meshgrid, tensordot and vander.

Almost all are compositions of existing differentiable ops (reshape, expand, getitem, cat,
flip, transpose, index_put, matmul), so their gradients -- and their higher-order gradients --
are those ops'. Views where torch returns views (the splits, select, unflatten, ravel of a
contiguous tensor, broadcast_to, meshgrid, atleast_Nd, unfold); copies elsewhere (stacks,
rot90, flips, the scatters, diag_embed). The one new Function is :class:`Unfold`, a strided
view of overlapping windows whose backward adds each window offset's gradient back.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, _as_tensors
from .dims import as_dim, wrap_dim
from .math import index_put
from .shape import (
    _diagonal_index,
    _shape_arg,
    _slice_along,
    cat,
    expand,
    flip,
    getitem,
    permute,
    reshape,
    split,
    stack,
    transpose,
)


def _tensors_arg(tensors: tuple[Any, ...], op: str) -> tuple[Tensor, ...]:
    """``f(a, b)`` or ``f([a, b])`` (torch's *tensors functions take both)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    return _as_tensors(tensors, op)


# -- broadcasting -----------------------------------------------------------------------------
def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape that tensors of ``shapes`` (ints or sequences) broadcast to (torch.broadcast_shapes)."""
    shapes = tuple((int(s),) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s) for s in shapes)
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {list(shapes)} cannot be broadcast to a single shape") from None


def broadcast_to(input: Tensor, shape: Any) -> Tensor:  # noqa: A002 - torch's names
    """``input.expand(shape)``: a view (-1 keeps a dim); writable when no dim is stretched, as torch's."""
    shape = _shape_arg((shape,))
    if len(shape) == input.ndim and all(s in (-1, n) for s, n in zip(shape, input.shape)):
        return getitem(input, (Ellipsis,))  # the same shape: a plain view (expand's is read-only)
    return expand(input, *shape)


def broadcast_tensors(*tensors: Any) -> tuple[Tensor, ...]:
    """Every tensor expanded (a view) to the broadcast shape of all of them."""
    ts = _tensors_arg(tensors, "broadcast_tensors")
    shape = broadcast_shapes(*(t.shape for t in ts))
    return tuple(t if t.shape == shape else expand(t, shape) for t in ts)


# -- at least N dims, stacks and splits -----------------------------------------------------------
def _atleast(tensors: tuple[Any, ...], n: int) -> Any:
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    out = tuple(_atleast_one(t, n) for t in _tensors_arg(tensors, f"atleast_{n}d"))
    return out[0] if single else out


def _atleast_one(t: Tensor, n: int) -> Tensor:
    if t.ndim >= n:
        return t
    if n == 3 and t.ndim == 2:  # (m, k) -> (m, k, 1), as torch and NumPy
        return reshape(t, (*t.shape, 1))
    if n == 3 and t.ndim == 1:  # (k,) -> (1, k, 1)
        return reshape(t, (1, t.shape[0], 1))
    return reshape(t, (1,) * (n - t.ndim) + t.shape)


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 dim (a 0-d one becomes (1,)); one tensor in, one out, else a tuple."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 dims (leading 1s added)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 dims: () -> (1, 1, 1), (k,) -> (1, k, 1), (m, k) -> (m, k, 1)."""
    return _atleast(tensors, 3)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate column-wise: along dim 0 for 1-d tensors, else dim 1 (0-d ones count as 1-d). A copy."""
    ts = atleast_1d(tuple(_as_tensors(tensors, "hstack")))
    return cat(ts, dim=0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate row-wise (dim 0) after atleast_2d. A copy."""
    return cat(atleast_2d(tuple(_as_tensors(tensors, "vstack"))), dim=0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate depth-wise (dim 2) after atleast_3d. A copy."""
    return cat(atleast_3d(tuple(_as_tensors(tensors, "dstack"))), dim=2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1, 0-d and 1-d tensors taken as columns (n, 1). A copy."""
    ts = tuple(reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in _as_tensors(tensors, "column_stack"))
    return cat(ts, dim=1)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """Views of ``input`` along ``dim``: ``n`` sections (an int or a 0-d integer tensor; the
    first ``size % n`` one longer), or cut before each of the given indices (a sequence or a
    1-d integer tensor; indices past the end or decreasing give empty pieces, as torch)."""
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = wrap_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios.dtype.kind not in "iu" or ios.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have an integer dtype and be 0-d or 1-d, "
                f"got dtype {ios.dtype} with {ios.ndim} dims"
            )
        ios = int(ios.item()) if ios.ndim == 0 else [int(i) for i in backend.to_numpy(ios.array)]
    if isinstance(ios, (int, np.integer)):
        sections = int(ios)
        if sections <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {sections}")
        small, extra = divmod(n, sections)
        bounds = list(itertools.accumulate([0] + [small + (i < extra) for i in range(sections)]))
    else:
        cuts = [int(i) for i in ios]
        bounds = [0, *cuts, n]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        a, b = min(max(a + n if a < 0 else a, 0), n), min(max(b + n if b < 0 else b, 0), n)
        out.append(getitem(input, _slice_along(d, slice(a, max(a, b)))))
    return tuple(out)


def _split_named(input: Tensor, indices_or_sections: Any, dim: int, op: str) -> tuple[Tensor, ...]:  # noqa: A002
    if isinstance(indices_or_sections, (int, np.integer)):
        n, k = input.shape[dim], int(indices_or_sections)
        if k == 0 or n % k:
            raise RuntimeError(
                f"torch.{op} attempted to split along dimension {dim}, but the size of the dimension {n} "
                f"is not divisible by the split_size {k}!"
            )
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input: Tensor, indices_or_sections: Any) -> tuple[Tensor, ...]:  # noqa: A002
    """tensor_split along dim 1 (dim 0 for a 1-d tensor); an int must divide the dim exactly."""
    if input.ndim == 0:
        raise RuntimeError(
            "torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with 0 dimensions!"
        )
    return _split_named(input, indices_or_sections, 0 if input.ndim == 1 else 1, "hsplit")


def vsplit(input: Tensor, indices_or_sections: Any) -> tuple[Tensor, ...]:  # noqa: A002
    """tensor_split along dim 0 of a tensor with at least 2 dims; an int must divide the dim exactly."""
    if input.ndim < 2:
        raise RuntimeError(
            f"torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with {input.ndim} dimensions!"
        )
    return _split_named(input, indices_or_sections, 0, "vsplit")


def dsplit(input: Tensor, indices_or_sections: Any) -> tuple[Tensor, ...]:  # noqa: A002
    """tensor_split along dim 2 of a tensor with at least 3 dims; an int must divide the dim exactly."""
    if input.ndim < 3:
        raise RuntimeError(
            f"torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with {input.ndim} dimensions!"
        )
    return _split_named(input, indices_or_sections, 2, "dsplit")


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """Views of the given sizes along ``dim`` (they must sum to the dim's size)."""
    return split(input, [int(s) for s in split_sizes], dim)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:  # noqa: A002
    """``dim`` expanded into ``sizes`` (one of them may be -1): a view."""
    d = wrap_dim(dim, input.ndim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = input.shape[d] if input.ndim else 1
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1 or (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({n}) "
            "in the input tensor"
        )
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1 :])


def ravel(input: Tensor) -> Tensor:  # noqa: A002
    """The tensor flattened to 1-d (a view when its memory allows, as reshape)."""
    return reshape(input, -1)


def select(input: Tensor, dim: int, index: int) -> Tensor:  # noqa: A002
    """The view ``input[..., index, ...]`` with ``dim`` removed."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim, "select")
    n, i = input.shape[d], as_dim(index, "select")
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(input.shape)} at dimension {d}")
    return getitem(input, _slice_along(d, i % n))


# -- rotations and flips (copies) ---------------------------------------------------------------
def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:  # noqa: A002
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first towards the
    second (torch's and NumPy's direction). A copy (made by flip)."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (wrap_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k = int(k) % 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return flip(input, ())  # a copy, as torch's


def fliplr(input: Tensor) -> Tensor:  # noqa: A002
    """Reverse dim 1 (left/right) of a tensor with at least 2 dims. A copy."""
    if input.ndim < 2:
        raise RuntimeError("fliplr: input must be >= 2-d.")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:  # noqa: A002
    """Reverse dim 0 (up/down) of a tensor with at least 1 dim. A copy."""
    if input.ndim < 1:
        raise RuntimeError("flipud: input must be >= 1-d.")
    return flip(input, 0)


# -- diagonals and the *_scatter ops (copies) -------------------------------------------------------
def _scatter_src(input: Tensor, src: Any, shape: tuple[int, ...], op: str) -> Tensor:  # noqa: A002
    src = src if isinstance(src, Tensor) else Tensor(src, dtype=input.dtype, device=input.device)
    if src.shape != tuple(shape):
        raise RuntimeError(f"{op}: expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(shape)}")  # fmt: skip
    return src


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """A copy of ``input`` with its ``diagonal(offset, dim1, dim2)`` replaced by ``src`` (of that diagonal's shape)."""
    d1, d2 = wrap_dim(dim1, input.ndim, "diagonal_scatter"), wrap_dim(dim2, input.ndim, "diagonal_scatter")
    if d1 == d2:
        raise RuntimeError(f"diagonal_scatter: diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = int(offset)
    rest = tuple(n for k, n in enumerate(input.shape) if k not in (d1, d2))
    length = max(min(input.shape[d1] + min(offset, 0), input.shape[d2] - max(offset, 0)), 0)
    src = _scatter_src(input, src, (*rest, length), "diagonal_scatter()")
    return index_put(input, _diagonal_index(input, offset, d1, d2, src.shape), src)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    view = select(input, dim, index)  # (checks dim and index)
    d = wrap_dim(dim, input.ndim, "select_scatter")
    src = _scatter_src(input, src, view.shape, "select_scatter()")
    return index_put(input, _slice_along(d, as_dim(index, "select_scatter") % input.shape[d]), src)


def slice_scatter(
    input: Tensor,  # noqa: A002
    src: Tensor,
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
) -> Tensor:
    """A copy of ``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``."""
    if int(step) <= 0:
        raise RuntimeError("slice_scatter: slice step must be positive")
    d = wrap_dim(dim, input.ndim, "slice_scatter")
    index = _slice_along(d, slice(start, end, int(step)))
    shape = input.array[index].shape
    src = _scatter_src(input, src, shape, "slice_scatter()")
    return index_put(input, index, src)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: A002
    """Matrices with the last dim of ``input`` on their ``offset``-th diagonal over the new
    dims ``dim1``, ``dim2`` of the result (input.ndim + 1 dims), zeros elsewhere. A copy."""
    nd = input.ndim + 1
    d1, d2 = wrap_dim(dim1, nd, "diag_embed"), wrap_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = int(offset)
    size = (input.shape[-1] if input.ndim else 1) + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(size if k in (d1, d2) else next(rest) for k in range(nd))
    with backend.array_scope(input.array):
        zeros = Tensor(input.xp.zeros(shape, dtype=input.dtype))
    return diagonal_scatter(zeros, reshape(input, (1,)) if input.ndim == 0 else input, offset, d1, d2)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:  # noqa: A002
    """The flattened ``input`` on the ``offset``-th diagonal of a square matrix of zeros. A copy."""
    return diag_embed(reshape(input, -1), offset, 0, 1)


# -- sliding windows (a view) -----------------------------------------------------------------------
class Unfold(Function):
    """Windows of ``size`` elements every ``step`` along ``dim``: x (..., n, ...) ->
    (..., L, ..., size), L = (n - size) // step + 1, as a strided view of x (no copy; windows
    overlap when step < size). Backward: for each offset k of a window, the gradient of
    window position l goes to x's element l * step + k (a loop over the ``size`` offsets)."""

    linear = True

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.in_shape, self.dtype = x.shape, x.dtype
        n, d = x.shape[self.dim], self.dim
        windows = (n - self.size) // self.step + 1
        shape = x.shape[:d] + (windows,) + x.shape[d + 1 :] + (self.size,)
        strides = x.strides[:d] + (x.strides[d] * self.step,) + x.strides[d + 1 :] + (x.strides[d],)
        return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)

    def backward(self, gy):
        xp, d = backend.get_array_module(gy), self.dim
        gx = xp.zeros(self.in_shape, dtype=self.dtype)
        windows = gy.shape[d]
        for k in range(self.size):
            gx[_slice_along(d, slice(k, k + (windows - 1) * self.step + 1, self.step))] += gy[..., k]
        return gx


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:  # noqa: A002
    """torch's ``Tensor.unfold``: all windows of ``size`` elements, ``step`` apart, along
    ``dimension``, as a new last dim: a view (writes through it reach ``input``)."""
    d = wrap_dim(dimension, input.ndim, "unfold")
    n = input.shape[d] if input.ndim else 1
    size, step = int(size), int(step)
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if input.ndim == 0:  # torch: a 0-d tensor gives (size,), not (1, size)
        return reshape(Unfold.apply(reshape(input, (1,)), dim=0, size=size, step=step), (size,))
    return Unfold.apply(input, dim=d, size=size, step=step)


# -- products of tensors -------------------------------------------------------------------------------
def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d: 1x1, 1-d: one row, 2-d) as blocks along the diagonal of a matrix of zeros."""
    ts = tuple(
        reshape(t, (1, -1) if t.ndim else (1, 1)) if t.ndim < 2 else t for t in _as_tensors(tensors, "block_diag")
    )
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has {t.ndim} dimensions"
            )
    if not ts:
        return Tensor(np.zeros((1, 0)))
    width = sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        with backend.array_scope(t.array):
            lpad = Tensor(t.xp.zeros((t.shape[0], left), dtype=t.dtype))
            rpad = Tensor(t.xp.zeros((t.shape[0], width - left - t.shape[1]), dtype=t.dtype))
        rows.append(cat((lpad, t, rpad), dim=1))
        left += t.shape[1]
    return cat(rows, dim=0)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids of 1-d (or 0-d) tensors: views expanded to (len(t0), len(t1), ...)
    with ``indexing="ij"`` (the default, with torch's warning when not given), or with the
    first two sizes swapped for ``"xy"``."""
    ts = _tensors_arg(tensors, "meshgrid")
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D")
    ts = tuple(reshape(t, -1) for t in ts)
    swap = indexing == "xy" and len(ts) >= 2
    order = list(ts)
    if swap:
        order[0], order[1] = order[1], order[0]
    shape = tuple(t.shape[0] for t in order)
    grids = [expand(reshape(t, [-1 if j == k else 1 for j in range(len(order))]), shape) for k, t in enumerate(order)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All tuples of one element of each 1-d tensor, as rows (n0 * n1 * ..., k); one tensor: itself."""
    ts = _as_tensors(tensors, "cartesian_prod")
    for t in ts:
        if t.ndim != 1:
            raise RuntimeError(f"cartesian_prod: Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([reshape(g, -1) for g in grids], dim=1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002
    """All ``r``-element combinations of the elements of the 1-d ``input`` (in itertools'
    order), as rows of a (count, r) tensor; with_replacement: itertools.combinations_with_replacement."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    r = int(r)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:  # an empty constant, as torch's (no grad_fn)
        with backend.array_scope(input.array):
            return Tensor(input.xp.zeros(0, dtype=input.dtype))
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(make(range(input.shape[0]), r))
    with backend.array_scope(input.array):
        index = input.xp.asarray(np.asarray(rows, dtype=np.int64).reshape(len(rows), r))
    return getitem(input, Tensor(index))


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Any = None) -> Tensor:
    """Sum of products over ``dims`` of a and b: an int n (a's last n dims with b's first n),
    a pair of sequences (a's dims, b's dims), or a (2, n) integer tensor. Computed as one
    matmul of the permuted, reshaped operands."""
    if out is not None:
        raise TypeError("tensordot: out= is not supported (minicnn ops return new tensors)")
    if isinstance(dims, Tensor):
        dims = backend.to_numpy(dims.array).tolist()
    if isinstance(dims, (int, np.integer)):
        n = int(dims)
        if n < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={n}")
        if n > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={n}")
        da, db = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        da, db = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f"tensordot: both dimension lists should have same length, got {len(da)} and {len(db)}")
    da = [wrap_dim(d, a.ndim, "tensordot") for d in da]
    db = [wrap_dim(d, b.ndim, "tensordot") for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(
                f"tensordot: contracted dimensions need to match, but first has size {a.shape[i]} in dim {i} "
                f"and second has size {b.shape[j]} in dim {j}"
            )
    free_a = [k for k in range(a.ndim) if k not in da]
    free_b = [k for k in range(b.ndim) if k not in db]
    k = int(np.prod([a.shape[i] for i in da]))
    m, n = int(np.prod([a.shape[i] for i in free_a])), int(np.prod([b.shape[j] for j in free_b]))
    am = reshape(permute(a, free_a + da) if a.ndim else a, (m, k))
    bm = reshape(permute(b, db + free_b) if b.ndim else b, (k, n))
    return reshape(am @ bm, tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b))


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803 - torch's name
    """The Vandermonde matrix of the 1-d ``x``: columns x**(N-1), ..., x**0 (``increasing``:
    the other order); N defaults to len(x). Built as a cumulative product, as torch's."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    from .reduce import cumprod  # noqa: PLC0415

    x = x if x.dtype.kind == "f" else x.to(np.int64)
    with backend.array_scope(x.array):
        ones = Tensor(x.xp.ones((x.shape[0], 1), dtype=x.dtype))
    if n <= 1:
        out = getitem(ones, (slice(None), slice(0, n)))
    else:
        out = cat((ones, cumprod(expand(reshape(x, (-1, 1)), (x.shape[0], n - 1)), 1)), dim=1)
    return out if increasing else flip(out, 1)
