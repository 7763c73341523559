"""Indexing along a dimension: gather/scatter, index_select, take_along_dim, sort and topk.

All of them pick (or place) one element per position of an integer ``index`` tensor along
``dim``, and every other dimension is walked by position. With ``x`` of shape (..., n, ...)
and ``index`` of shape S (same number of dims):

* ``gather``:       ``out[p] = x[p with p[dim] := index[p]]``, out shape S;
* ``scatter``:      ``out = x.clone(); out[p with p[dim] := index[p]] = src[p]``;
* ``scatter_add``:  the same with ``+=`` (repeated positions accumulate);
* ``scatter_reduce``: the same with sum, prod, mean, amax or amin (``include_self`` or not);
* ``index_select``: ``gather`` with a 1-d index broadcast over the other dims;
* ``take_along_dim``: ``gather`` after broadcasting x and index against each other;
* ``sort`` / ``argsort`` / ``topk``: a stable argsort along dim, then ``gather``.

The element coordinates of every position are an "open grid" (one ``arange`` per dim,
shaped to broadcast, with ``index`` in place of dim's), so a gather is one fancy-indexing
read and the backward of a gather is one scatter-add. Scatter-adds go through a flat
(C-order) position per element and ``np.add.at`` on the raveled target (``cupyx.scatter_add``
on CuPy; ``kernels/scatter.py``): O(|index|) work, no Python loop over elements. Sorting costs O(n log n) per slice
(topk sorts fully: simple, stable, and deterministic).

Errors follow torch's types: IndexError for a dim out of range, RuntimeError for an index of
the wrong dtype, the wrong number of dims, a size that does not fit, or an index out of
bounds (on a GPU that last check is deferred: :func:`minicnn.backend.raise_if`).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels.scatter import add_at, reduce_at
from .dims import wrap_dim
from .math import clone, where
from .pad import Pad
from .shape import expand, reshape

_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


# -- helpers on raw arrays ----------------------------------------------------------------
def _grid(xp: Any, index: Any, dim: int) -> tuple[Any, ...]:
    """The coordinates, in an array that ``index`` addresses along ``dim``, of the element
    each position of ``index`` picks: ``index`` itself for ``dim`` and an ``arange`` shaped to
    broadcast for every other dim (the open grid of ``index.shape``)."""
    nd, index = index.ndim, index.astype(np.int64, copy=False)  # int32 * a large stride would overflow
    return tuple(
        index if d == dim else xp.arange(n).reshape([n if k == d else 1 for k in range(nd)])
        for d, n in enumerate(index.shape)
    )


def _check_bounds(
    index: Any, n: int, dim: int, op: str, allow_negative: bool = False, error: type[Exception] = RuntimeError
) -> None:
    """Raise ``error`` (torch's RuntimeError by default) if an entry of ``index`` is outside [0, n) (or [-n, n))."""
    if index.size == 0:
        return
    low = -n if allow_negative else 0
    bad = (index < low) | (index >= n)
    if backend.is_cupy_array(index):
        backend.raise_if(bad.any(), error, f"{op}: an index is out of bounds for dimension {dim} with size {n}")
    elif bad.any():
        raise error(f"{op}: index {int(index[bad].flat[0])} is out of bounds for dimension {dim} with size {n}")


def _sort_order(a: Any, axis: int, descending: bool) -> Any:
    """Stable argsort along ``axis`` as int64. Descending keeps equal elements in their
    original order too (argsort of the reversed array, reversed back); NaN counts as the
    largest value, as in torch (NumPy and CuPy sort it last)."""
    xp = backend.get_array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    rev = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return ((a.shape[axis] - 1) - xp.flip(rev, axis)).astype(np.int64, copy=False)


# -- Functions ---------------------------------------------------------------------------
class Gather(Function):
    """``x[grid(index)]``: inputs x (..., n, ...) and index (same ndim; any size along dim,
    at most x's elsewhere). Backward scatter-adds ``gy`` into zeros of x's shape."""

    linear = True  # in x; the index is kept
    trusted = False
    error: type[Exception] = RuntimeError  # (index_select along dim 0: torch's IndexError)

    def forward(self, x, index):
        xp, n = backend.get_array_module(x), x.shape[self.dim]
        if not self.trusted:  # sort/topk's own indices are in range by construction
            _check_bounds(index, n, self.dim, self.op, self.allow_negative, self.error)
        if self.allow_negative:  # counted from the end; the scatter-add of backward needs them >= 0
            index = xp.where(index < 0, index + n, index)
        grid = _grid(xp, index, self.dim)
        if self.requires_grad:
            self.in_shape, self.dtype, self.grid = x.shape, x.dtype, grid
        return x[grid]

    def backward(self, gy):
        gx = backend.get_array_module(gy).zeros(self.in_shape, dtype=self.dtype)
        add_at(gx, self.grid, gy)
        return gx, None


class Scatter(Function):
    """``out = x.copy(); out[grid(index)] = src[:index.shape]`` (or a number, ``value``).
    Backward: x's gradient is ``gy`` with the written places zeroed, src's is ``gy[grid]``
    (zeros where src is larger than index), as torch's."""

    def forward(self, x, index, src=None):
        _check_bounds(index, x.shape[self.dim], self.dim, "scatter()")
        grid = _grid(backend.get_array_module(x), index, self.dim)
        part = tuple(slice(0, n) for n in index.shape)
        y = x.copy()
        y[grid] = self.value if src is None else src[part]
        if self.requires_grad:
            self.grid, self.part = grid, part
            self.src_shape = None if src is None else src.shape
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gx = gsrc = None
        if self.needs_input_grad[0]:
            gx = gy.copy()
            gx[self.grid] = 0
        if self.src_shape is not None and self.needs_input_grad[2]:
            gsrc = xp.zeros(self.src_shape, dtype=gy.dtype)
            gsrc[self.part] = gy[self.grid]
        return gx, None, gsrc

    def backward_graph(self, gy, x, index, src=None):  # (not linear: a number ``value`` is a constant term)
        gx = _zero_at(gy, index, self.dim) if self.needs_input_grad[0] else None
        gsrc = None
        if src is not None and self.needs_input_grad[2]:
            gsrc = _pad_to(_gather(gy, index, self.dim), src.shape)
        return gx, None, gsrc


class ScatterAdd(Function):
    """``out = x.copy(); out[grid(index)] += src[:index.shape]``, repeated places summed.
    Backward: x's gradient is ``gy``, src's is ``gy[grid]`` (zeros beyond index's shape)."""

    linear = True  # in (x, src); the index is kept

    def forward(self, x, index, src):
        _check_bounds(index, x.shape[self.dim], self.dim, "scatter_add()")
        grid = _grid(backend.get_array_module(x), index, self.dim)
        part = tuple(slice(0, n) for n in index.shape)
        y = x.copy()  # C-contiguous, as _add_at needs
        add_at(y, grid, src[part])
        if self.requires_grad:
            self.grid, self.part, self.src_shape = grid, part, src.shape
        return y

    def backward(self, gy):
        gsrc = None
        if self.needs_input_grad[2]:
            gsrc = backend.get_array_module(gy).zeros(self.src_shape, dtype=gy.dtype)
            gsrc[self.part] = gy[self.grid]
        return gy if self.needs_input_grad[0] else None, None, gsrc


REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce: str, dtype: Any) -> Any:
    """The value a reduction starts from when ``include_self=False``."""
    if reduce in ("sum", "mean"):
        return dtype.type(0)
    if reduce == "prod":
        return dtype.type(1)
    if dtype.kind == "f":
        return dtype.type(-np.inf if reduce == "amax" else np.inf)
    if dtype.kind == "b":
        return dtype.type(reduce == "amin")
    info = np.iinfo(dtype)
    return dtype.type(info.min if reduce == "amax" else info.max)


def _scatter_reduce_forward(x: Any, grid: tuple[Any, ...], s: Any, reduce: str, include_self: bool) -> tuple:
    """(out, count): ``x`` with ``s`` reduced into the ``grid`` places; count (x's shape) is how
    many values each place averaged ("mean" only, at least 1)."""
    xp = backend.get_array_module(x)
    y = x.copy()  # C-contiguous, as the scatters need
    if not include_self:
        y[grid] = _identity(reduce, x.dtype)
    reduce_at(y, grid, s, reduce)
    count = None
    if reduce == "mean":
        count = (xp.ones if include_self else xp.zeros)(x.shape, dtype=x.dtype)
        add_at(count, grid, xp.ones(s.shape, dtype=x.dtype))
        xp.maximum(count, 1, out=count)  # (a mask assignment would wait for the GPU)
        y = y // count if x.dtype.kind in "iu" else y / count  # torch floors integer means
    return y, count


class ScatterReduce(Function):
    """``out = x.copy()`` with ``src[:index.shape]`` reduced into the places ``grid(index)``
    ("sum", "prod", "mean", "amax", "amin"; with ``include_self=False`` x's values at those
    places are left out). Backward, torch's rules per reduction (g = output gradient):

    * sum:  gx = g,        gsrc = g[grid];
    * mean: gx = g / N,    gsrc = (g / N)[grid]   (N: how many values each place averaged);
    * prod: gx = g * (product of the others), gsrc likewise; a product with zeros is redone
      with the zeros masked, so that a single zero still gets the product of the rest;
    * amax/amin: g shared evenly among the values (x's and src's) equal to the result.

    With ``include_self=False`` x's gradient is 0 at the scattered places."""

    def forward(self, x, index, src):
        _check_bounds(index, x.shape[self.dim], self.dim, "scatter_reduce()")
        grid = _grid(backend.get_array_module(x), index, self.dim)
        part = tuple(slice(0, n) for n in index.shape)
        s = src[part]
        y, count = _scatter_reduce_forward(x, grid, s, self.reduce, self.include_self)
        if self.requires_grad:
            self.saved = x, s, y, count, grid, part, src.shape
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x, s, y, count, grid, part, src_shape = self.saved
        reduce, include_self = self.reduce, self.include_self
        if reduce == "sum":
            gx, gs = gy.copy(), gy[grid]
        elif reduce == "mean":
            gx = gy / count
            gs = gx[grid]
        elif reduce == "prod":
            masked_x = xp.where(x == 0, x.dtype.type(1), x)
            gx = gy * _scatter_reduce_forward(masked_x, grid, s, reduce, include_self)[0] / masked_x
            zero = s == 0
            zeros_at = xp.zeros(x.shape, dtype=x.dtype)
            add_at(zeros_at, grid, zero.astype(x.dtype))
            single = zero & (zeros_at[grid] == 1)
            others = _scatter_reduce_forward(x, grid, xp.where(single, s.dtype.type(1), s), reduce, include_self)[0]
            gs = xp.where(single, (gy * others)[grid], (gy * y)[grid] / xp.where(zero, s.dtype.type(1), s))
        else:  # amax, amin
            x_is = (x == y).astype(gy.dtype)
            s_is = (s == y[grid]).astype(gy.dtype)
            shared = x_is.copy()
            add_at(shared, grid, s_is)
            g = gy / shared
            gx, gs = x_is * g, s_is * g[grid]
        if not include_self:
            gx = gx.copy()
            gx[grid] = 0
        gsrc = xp.zeros(src_shape, dtype=gy.dtype)
        gsrc[part] = gs
        return gx, None, gsrc

    def backward_graph(self, gy, x, index, src):
        """backward in ops, torch's formulas: sum and mean are linear; prod recomputes the
        product with the zeros masked; amax/amin route by masks, constants like argmax."""
        reduce, dim = self.reduce, self.dim
        count, grid, part = self.saved[3], self.saved[4], self.saved[5]
        s = src[part]
        gx = gs = None
        if reduce in ("sum", "mean"):
            g = gy if reduce == "sum" else gy / Tensor(count)
            gx, gs = g, _gather(g, index, dim)
        elif reduce == "prod":
            gx, gs = self._prod_graph(gy, x, index, src, s)
        else:  # amax, amin
            xa, sa, y = x.array, s.array, self.saved[2]
            x_is, s_is = (xa == y).astype(gy.dtype), (sa == y[grid]).astype(gy.dtype)
            shared = x_is.copy()
            add_at(shared, grid, s_is)
            g = gy / Tensor(shared)
            gx, gs = g * Tensor(x_is), _gather(g, index, dim) * Tensor(s_is)
        if gx is not None and not self.include_self:
            gx = _zero_at(gx, index, dim)
        return (
            gx if self.needs_input_grad[0] else None,
            None,
            _pad_to(gs, src.shape) if gs is not None and self.needs_input_grad[2] else None,
        )

    def _prod_graph(self, gy, x, index, src, s):
        """prod's gradients as torch forms them: x's from the product with x's zeros set to 1;
        src's from the product with its lone zeros set to 1 (exact where a place has one zero
        among the values scattered to it; the second derivative is not supported where a
        place has two or more, as in torch)."""
        dim, params = self.dim, self._params
        grid = self.saved[4]
        gx = gs = None
        if self.needs_input_grad[0]:
            masked_x = where(x.array == 0, 1.0, x)
            gx = gy * ScatterReduce.apply(masked_x, index, src, **params) / masked_x
        if self.needs_input_grad[2]:
            sa, xp = s.array, s.xp
            zero = sa == 0
            zeros_at = xp.zeros(x.shape, dtype=x.dtype)
            add_at(zeros_at, grid, zero.astype(x.dtype))
            at = zeros_at[grid]
            single = zero & (at == 1)
            lone = xp.zeros(src.shape, dtype=bool)
            lone[self.saved[5]] = single
            others = ScatterReduce.apply(x, index, where(lone, 1.0, src), **params)
            result = ScatterReduce.apply(x, index, src, **params)
            gs = where(single, _gather(gy * others, index, dim), _gather(gy * result, index, dim) / where(zero, 1.0, s))
            if bool((zero & (at > 1)).any()):
                gs = NoDoubleBackward.apply(
                    gs,
                    message="scatter_reduce(): double backward is unsupported for src when two or more zeros of "
                    "src are scattered to the same place with reduce='prod' (as in torch)",
                )
        return gx, gs


class NoDoubleBackward(Function):
    """The identity, whose derivative raises ``message`` (torch's DelayedError): marks a first
    gradient that is right but whose formula cannot be differentiated again."""

    def forward(self, x):
        return x

    def backward(self, gy):
        raise RuntimeError(self.message)

    def backward_graph(self, gy, x):
        raise RuntimeError(self.message)


def _gather(g: Tensor, index: Tensor, dim: int) -> Tensor:
    """``g[grid(index)]`` as a Gather op (linear; the index is in range by construction)."""
    return Gather.apply(g, index, dim=dim, op="gather()", allow_negative=False, trusted=True)


def _zero_at(g: Tensor, index: Tensor, dim: int) -> Tensor:
    """``g`` with the places ``grid(index)`` set to 0, as a Scatter op (linear with value 0)."""
    return Scatter.apply(g, index, dim=dim, value=g.dtype.type(0))


def _pad_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``g`` (index's shape) in the leading corner of zeros of ``shape`` (src's), as a Pad op."""
    if g.shape == tuple(shape):
        return g
    return Pad.apply(g, widths=[(0, n - k) for k, n in zip(g.shape, shape)], value=g.dtype.type(0))


class ScatterWithReduce(Function):
    """torch's ``scatter(..., reduce="add" | "multiply")``: the forward of :class:`ScatterReduce`
    with the input included, src a tensor or the number ``value``; like torch, no derivative."""

    def forward(self, x, index, src=None):
        xp = backend.get_array_module(x)
        _check_bounds(index, x.shape[self.dim], self.dim, "scatter()")
        grid = _grid(xp, index, self.dim)
        part = xp.full(index.shape, self.value, dtype=x.dtype) if src is None else src[tuple(map(slice, index.shape))]
        return _scatter_reduce_forward(x, grid, part, self.reduce, True)[0]

    def backward(self, gy):
        raise RuntimeError(
            "scatter(): the derivative of scatter with reduce='add'/'multiply' is not implemented (as in torch); "
            "use scatter_reduce, which has one"
        )

    def backward_graph(self, gy, *xs):
        return self.backward(gy)  # (raises)


# -- argument checks -----------------------------------------------------------------------
def _as_index(index: Any, like: Tensor, op: str, dtypes: tuple[np.dtype, ...] = _INDEX_DTYPES) -> Tensor:
    if not isinstance(index, Tensor):
        index = Tensor(index, device=like.device)
    if index.dtype not in dtypes:
        names = " or ".join(str(d) for d in dtypes)
        raise RuntimeError(f"{op}: expected dtype {names} for index, got {index.dtype}")
    return index


def _at_least_1d(t: Tensor) -> Tensor:
    return reshape(t, 1) if t.ndim == 0 else t


def _check_fits(x: Tensor, index: Tensor, dim: int, op: str, src: Tensor | None = None) -> None:
    """torch's shape rules: index has x's number of dims (a 0-d tensor counts as 1-d), and is
    no larger than x apart from ``dim`` (and no larger than src anywhere)."""
    if max(index.ndim, 1) != max(x.ndim, 1):
        raise RuntimeError(
            f"{op}: index tensor must have the same number of dimensions as input tensor "
            f"(index shape {index.shape}, input shape {x.shape})"
        )
    if src is not None and max(src.ndim, 1) != max(index.ndim, 1):
        raise RuntimeError(
            f"{op}: index tensor must have the same number of dimensions as src tensor "
            f"(index shape {index.shape}, src shape {src.shape})"
        )
    xs, ix = _at_least_1d(x).shape, _at_least_1d(index).shape
    ss = None if src is None else _at_least_1d(src).shape
    for d, n in enumerate(ix):
        if (d != dim and n > xs[d]) or (ss is not None and n > ss[d]):
            where = f"self {list(xs)} apart from dimension {dim}"
            if ss is not None:
                where += f" and src {list(ss)}"
            raise RuntimeError(
                f"{op}: size does not match at dimension {d}: expected index {list(ix)} to be no larger than {where}"
            )


# -- public functions ---------------------------------------------------------------------
def gather(input: Tensor, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` for dim 0 (and so on): out has index's
    shape; index (int64 or int32) has input's number of dims and is no larger than input
    apart from ``dim``. Differentiable in input (repeated indices add their gradients)."""
    if sparse_grad:
        raise NotImplementedError("gather: sparse_grad=True (minicnn's gradients are dense)")
    index = _as_index(index, input, "gather()")
    d = wrap_dim(dim, input.ndim, "gather")
    _check_fits(input, index, d, "gather()")
    out = Gather.apply(_at_least_1d(input), _at_least_1d(index), dim=d, op="gather()", allow_negative=False)
    return reshape(out, ()) if index.ndim == 0 else out


def _gather_sorted(input: Tensor, dim: int, indices: Tensor) -> Tensor:
    """:func:`gather` of sort's or topk's own indices (input at least 1-d), which are in range
    by construction: no bounds check (on a GPU: no pending device check per call)."""
    d = wrap_dim(dim, input.ndim, "gather")
    return Gather.apply(input, indices, dim=d, op="gather()", allow_negative=False, trusted=True)


def scatter(
    input: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: str | None = None
) -> Tensor:
    """A copy of ``input`` with ``out[... index[p] ...] = src[p]`` along ``dim`` for every
    position p of index (torch's out-of-place ``scatter``); ``src`` may be a tensor of
    input's dtype (no smaller than index) or a number (also accepted as ``value=``). Where
    index repeats a place, which write wins is unspecified (as in torch). ``reduce="add"``
    or ``"multiply"`` accumulates instead (torch's, without a derivative: see scatter_reduce)."""
    if src is None and value is None:
        raise TypeError("scatter(): expected a tensor src or a number value")
    src = value if src is None else src
    index = _as_index(index, input, "scatter()")
    d = wrap_dim(dim, input.ndim, "scatter")
    x, idx = _at_least_1d(input), _at_least_1d(index)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r}")
        settings = dict(dim=d, reduce="sum" if reduce == "add" else "prod", value=None)
        if isinstance(src, Tensor):
            warnings.warn(
                "The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a future "
                "PyTorch release. Use torch.scatter_reduce instead for more reduction options.",
                UserWarning,
                stacklevel=2,
            )
            if src.dtype != input.dtype:
                raise RuntimeError(
                    f"scatter(): expected self.dtype to be equal to src.dtype ({input.dtype} vs {src.dtype})"
                )
            _check_fits(input, index, d, "scatter()", src)
            out = ScatterWithReduce.apply(x, idx, _at_least_1d(src), **settings)
        else:
            _check_fits(input, index, d, "scatter()")
            out = ScatterWithReduce.apply(x, idx, **{**settings, "value": input.dtype.type(src)})
        return reshape(out, ()) if input.ndim == 0 else out
    if isinstance(src, Tensor):
        if src.dtype != input.dtype:
            raise RuntimeError(
                f"scatter(): expected self.dtype to be equal to src.dtype ({input.dtype} vs {src.dtype})"
            )
        _check_fits(input, index, d, "scatter()", src)
        out = Scatter.apply(x, idx, _at_least_1d(src), dim=d, value=None)
    else:
        if not isinstance(src, (int, float, bool, np.number, np.bool_)):
            raise TypeError(f"scatter(): src must be a Tensor or a number, not {type(src).__name__}")
        _check_fits(input, index, d, "scatter()")
        out = Scatter.apply(x, idx, dim=d, value=input.dtype.type(src))  # a NumPy scalar: CuPy takes it
    return reshape(out, ()) if input.ndim == 0 else out


def scatter_add(input: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``out[... index[p] ...] += src[p]`` along ``dim``; repeated
    places accumulate. ``src`` is a tensor of input's dtype, no smaller than index."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not {type(src).__name__}")
    if src.dtype != input.dtype:
        raise RuntimeError(
            f"scatter_add(): expected self.dtype to be equal to src.dtype ({input.dtype} vs {src.dtype})"
        )
    index = _as_index(index, input, "scatter_add()")
    d = wrap_dim(dim, input.ndim, "scatter_add")
    _check_fits(input, index, d, "scatter_add()", src)
    out = ScatterAdd.apply(_at_least_1d(input), _at_least_1d(index), _at_least_1d(src), dim=d)
    return reshape(out, ()) if input.ndim == 0 else out


def scatter_reduce(
    input: Tensor, dim: int, index: Any, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """A copy of ``input`` with every ``src[p]`` reduced into ``out[... index[p] ...]`` along
    ``dim``: ``reduce`` is "sum", "prod", "mean", "amax" or "amin"; with ``include_self=False``
    the values of input at the scattered places take no part. Differentiable in input and src
    (torch's gradients, see :class:`ScatterReduce`). Integer means are floored, as torch's."""
    if reduce not in REDUCTIONS:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be one of {REDUCTIONS}, got {reduce!r}")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce(): argument 'src' must be Tensor, not {type(src).__name__}")
    if src.dtype != input.dtype:
        raise RuntimeError(
            f"scatter_reduce(): expected self.dtype to be equal to src.dtype ({input.dtype} vs {src.dtype})"
        )
    if reduce == "mean" and input.dtype == np.bool_:
        raise NotImplementedError("scatter_reduce(): reduce='mean' is not implemented for bool tensors (as torch)")
    index = _as_index(index, input, "scatter_reduce()")
    d = wrap_dim(dim, input.ndim, "scatter_reduce")
    if index.numel() == 0:  # nothing is scattered: torch checks no shapes either
        return clone(input)
    _check_fits(input, index, d, "scatter_reduce()", src)
    out = ScatterReduce.apply(
        _at_least_1d(input), _at_least_1d(index), _at_least_1d(src), dim=d, reduce=reduce, include_self=include_self
    )
    return reshape(out, ()) if input.ndim == 0 else out


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    """The entries ``index`` (a 1-d or 0-d int64/int32 tensor) of ``input`` along ``dim``:
    out has input's shape with ``dim``'s size replaced by len(index). Differentiable in
    input (repeated indices add their gradients)."""
    index = _as_index(index, input, "index_select()")
    if index.ndim > 1:
        raise IndexError(f"index_select(): index is supposed to be a vector, got shape {index.shape}")
    d = wrap_dim(dim, input.ndim, "index_select")
    if input.ndim == 0:
        if index.numel() != 1:
            raise RuntimeError(f"index_select(): index to scalar can have only 1 value, got {index.numel()} value(s)")
        index = reshape(index, 1)
        out = Gather.apply(reshape(input, 1), index, dim=0, op="index_select()", allow_negative=False, error=IndexError)
        return reshape(out, ())
    index = reshape(index, [-1 if k == d else 1 for k in range(input.ndim)])
    shape = tuple(index.shape[d] if k == d else n for k, n in enumerate(input.shape))
    error = RuntimeError if d == 1 else IndexError  # torch's types (its kernels differ by dim)
    return Gather.apply(input, expand(index, shape), dim=d, op="index_select()", allow_negative=False, error=error)


def take_along_dim(input: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` (int64) against each other in
    every dim but ``dim``; with ``dim=None`` both are flattened first. Along a given dim,
    negative indices count from the end (torch wraps any out-of-range index around there;
    minicnn raises for indices outside [-n, n))."""
    indices = _as_index(indices, input, "take_along_dim()", (np.dtype(np.int64),))
    if dim is None:
        return gather(reshape(input, -1), 0, reshape(indices, -1))
    if input.ndim != indices.ndim:
        raise RuntimeError(
            "take_along_dim(): input and indices should have the same number of dimensions, but got "
            f"{input.ndim} dimensions for input, and {indices.ndim} dimensions for indices"
        )
    if input.ndim == 0:
        raise IndexError("take_along_dim(): dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim, "take_along_dim")
    shape = []
    for k, (a, b) in enumerate(zip(input.shape, indices.shape)):
        if k != d and a != b and 1 not in (a, b):
            raise RuntimeError(
                f"take_along_dim(): the size of input ({a}) must match the size of indices ({b}) "
                f"at non-singleton dimension {k}"
            )
        shape.append(max(a, b) if min(a, b) else 0)
    x_shape = tuple(input.shape[d] if k == d else n for k, n in enumerate(shape))
    i_shape = tuple(indices.shape[d] if k == d else n for k, n in enumerate(shape))
    x = input if input.shape == x_shape else expand(input, x_shape)
    idx = indices if indices.shape == i_shape else expand(indices, i_shape)
    return Gather.apply(x, idx, dim=d, op="take_along_dim()", allow_negative=True)


class TopKResult(NamedTuple):
    """What :func:`topk` returns (torch.return_types.topk)."""

    values: Tensor
    indices: Tensor


class SortResult(NamedTuple):
    """What :func:`sort` returns (torch.return_types.sort)."""

    values: Tensor
    indices: Tensor


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim``. The sort is always stable (equal
    elements keep their order, also when descending); ``stable=False`` gives the same result,
    which torch allows (its CPU sort orders ties differently for slices longer than 16).
    NaN sorts as the largest value."""
    d = wrap_dim(dim, input.ndim, "argsort")
    a = input.array.reshape(1) if input.ndim == 0 else input.array
    with backend.array_scope(a):
        order = _sort_order(a, d, descending)
    return Tensor(order.reshape(()) if input.ndim == 0 else order)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
    """``(values, indices)`` of ``input`` sorted along ``dim`` (see :func:`argsort` for ties
    and NaN); values are differentiable, their gradient goes back to the picked places."""
    indices = argsort(input, dim, descending, stable)
    if input.ndim == 0:
        return SortResult(gather(input, dim, indices), indices)
    return SortResult(_gather_sorted(input, dim, indices), indices)


def topk(  # noqa: A002
    input: Tensor, k: int, dim: int | None = None, largest: bool = True, sorted: bool = True
) -> TopKResult:
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements
    along ``dim`` (None: the last), in sorted order. Among equal elements the lower index comes first (torch's
    CPU topk picks and orders ties otherwise: the values agree, the indices of ties may not);
    ``sorted=False`` returns the same sorted result. NaN counts as the largest value."""
    d = wrap_dim(-1 if dim is None else dim, input.ndim, "topk")
    n = input.shape[d] if input.ndim else 1
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k out of range (k={k} for dimension {d} of size {n})")
    if input.ndim == 0:  # torch gives the element itself, even for k=0
        return TopKResult(clone(input), Tensor(np.zeros((), np.int64), device=input.device))
    order = argsort(input, d, descending=largest)
    indices = Tensor(order.array[(slice(None),) * d + (slice(0, k),)])
    return TopKResult(_gather_sorted(input, d, indices), indices)
