"""Shape ops (reshape, transpose, indexing, concatenation, padding) and their backward.

Each backward undoes the forward's data movement: reshape back, transpose with the inverse
permutation, scatter-add into the indexed positions, split a concatenation, crop a padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, _as_tensors
from .math import astype, result_dtype


def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _norm_axis(axis: int, ndim: int, op: str) -> int:
    if not -ndim <= axis < max(ndim, 1):
        raise IndexError(f"{op}: dimension {axis} out of range for a {ndim}-d tensor")
    return axis % max(ndim, 1)


class Reshape(Function):
    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: shape {self.shape} is invalid for input of shape {tuple(x.shape)}") from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Expand(Function):
    def forward(self, x):
        self.in_shape = x.shape
        shape = tuple(x.shape[i - (len(self.shape) - x.ndim)] if s == -1 else s for i, s in enumerate(self.shape))
        return backend.get_array_module(x).broadcast_to(x, shape)

    def backward(self, gy):
        from .math import unbroadcast

        return unbroadcast(gy, self.in_shape)


class Permute(Function):
    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):  # inverse permutation
        inv = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inv[a] = i
        return gy.transpose(inv)


class GetItem(Function):
    """``x[index]``; backward scatters ``gy`` into zeros, adding at repeated indices."""

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        if backend.is_cupy_array(x) and not _is_basic(self.index):
            _check_array_indices(self.index, x.shape)
        y = x[self.index]
        if isinstance(y, np.generic):  # every axis indexed by an int: a 0-d view, as torch's x[i, j]
            y = x[(*self.index, Ellipsis) if isinstance(self.index, tuple) else (self.index, Ellipsis)]
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gx = xp.zeros(self.in_shape, dtype=self.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy  # basic slicing selects each element at most once
        elif xp is np:
            np.add.at(gx, self.index, gy)  # repeated indices accumulate
        else:
            import cupyx  # noqa: PLC0415  (only reached with CuPy arrays)

            cupyx.scatter_add(gx, self.index, gy)
        return gx


def index_axes(index: Any, ndim: int) -> list[tuple[Any, int | None]]:
    """Each part of an index with the axis of x it applies to (None for ``None``, ``...``
    and boolean masks, which are not checked)."""
    parts = index if isinstance(index, tuple) else (index,)
    consumed = sum(p.ndim if _is_mask(p) else 0 if p is None or p is Ellipsis else 1 for p in parts)
    out, axis = [], 0
    for p in parts:
        if p is Ellipsis:
            axis += ndim - consumed
            out.append((p, None))
        elif p is None:
            out.append((p, None))
        elif _is_mask(p):
            out.append((p, None))
            axis += p.ndim
        else:
            out.append((p, axis))
            axis += 1
    return out


def _is_mask(p: Any) -> bool:
    dtype = getattr(p, "dtype", None)
    return dtype is not None and np.dtype(dtype).kind == "b"


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
    return all(isinstance(p, (int, slice)) or p is None or p is Ellipsis for p in parts)


def plain_index(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, Tensor):
        return index.array
    if isinstance(index, tuple):
        return tuple(plain_index(i) for i in index)
    if isinstance(index, list) and any(isinstance(i, Tensor) for i in index):
        return [plain_index(i) for i in index]
    return index


class Concat(Function):
    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return backend.get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        bounds = [0]
        for s in self.sizes:
            bounds.append(bounds[-1] + s)
        return tuple(xp.take(gy, xp.arange(a, b), axis=self.axis) for a, b in zip(bounds, bounds[1:]))


class Stack(Function):
    def forward(self, *xs):
        self.n = len(xs)
        return backend.get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return tuple(xp.take(gy, i, axis=self.axis) for i in range(self.n))


class Pad(Function):
    """Constant padding; ``widths`` is NumPy's per-axis ((before, after), ...)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.in_shape = x.shape
        if any(b < 0 or a < 0 for b, a in self.widths):
            # negative padding crops, as in torch
            sl = tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(self.widths, x.shape))
            x = x[sl]
            widths = [(max(b, 0), max(a, 0)) for b, a in self.widths]
        else:
            widths = self.widths
        self.pos = widths
        return xp.pad(x, widths, mode="constant", constant_values=self.value)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        sl = tuple(slice(b, gy.shape[i] - a) for i, (b, a) in enumerate(self.pos))
        g = gy[sl]
        if g.shape != self.in_shape:  # undo a negative-pad crop with zeros
            widths = [(max(-b, 0), max(-a, 0)) for b, a in self.widths]
            g = xp.pad(g, widths)
        return g


def reshape(x: Tensor, *shape: Any) -> Tensor:
    return Reshape.apply(x, shape=_shape_arg(shape))


def expand(x: Tensor, *shape: Any) -> Tensor:
    return Expand.apply(x, shape=_shape_arg(shape))


def permute(x: Tensor, *axes: Any) -> Tensor:
    axes = _shape_arg(axes)
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ValueError(f"permute: axes {axes} are not a permutation of a {x.ndim}-d tensor's dimensions")
    return Permute.apply(x, axes=tuple(a % x.ndim for a in axes))


def transpose(x: Tensor, *axes: Any) -> Tensor:
    """``transpose(x, d0, d1)`` swaps two dims (torch); ``transpose(x)`` reverses them and a
    full permutation of three or more dims permutes, as in NumPy."""
    if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
        d0, d1 = (_norm_axis(a, x.ndim, "transpose") for a in axes)
        perm = list(range(x.ndim))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return Permute.apply(x, axes=tuple(perm))
    if not axes:
        return Permute.apply(x, axes=tuple(reversed(range(x.ndim))))
    return permute(x, *axes)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, 1)
    s = _norm_axis(start_dim, x.ndim, "flatten")
    e = _norm_axis(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(
            f"flatten() has invalid args: start_dim cannot come after end_dim "
            f"(start_dim={start_dim}, end_dim={end_dim} for a {x.ndim}-d tensor)"
        )
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
        dims = {_norm_axis(d, x.ndim, "squeeze") for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = _norm_axis(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def getitem(x: Tensor, index: Any) -> Tensor:
    index = plain_index(index)
    out = GetItem.apply(x, index=index)
    if out._view_of is not None and _is_basic(index):
        out._view_index = index  # an in-place write through out is also recorded on x
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
        raise ValueError("cat: expected a non-empty sequence of tensors")
    nd = ts[0].ndim
    ax = _norm_axis(axis, nd, "cat")
    for t in ts:
        if t.ndim != nd or any(a != b for i, (a, b) in enumerate(zip(t.shape, ts[0].shape)) if i != ax):
            raise ValueError(f"cat: shapes {[t.shape for t in ts]} differ outside dimension {ax}")
    return Concat.apply(*ts, axis=ax)


def stack(tensors: Sequence[Tensor], axis: int = 0, dim: int | None = None) -> Tensor:
    axis = axis if dim is None else dim
    ts = _common_dtype(_as_tensors(tensors, "stack"))
    if not ts:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    if any(t.shape != ts[0].shape for t in ts):
        raise ValueError(f"stack: all tensors need one shape, got {[t.shape for t in ts]}")
    return Stack.apply(*ts, axis=_norm_axis(axis, ts[0].ndim + 1, "stack"))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """torch's ``F.pad``: ``pad`` lists (before, after) pairs starting from the LAST dim; a
    negative width crops. ``value`` fills the new places (None means 0, as in torch)."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding {tuple(pad)} needs pairs for at most {input.ndim} dimensions")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        before, after = int(pad[2 * i]), int(pad[2 * i + 1])
        if max(-before, 0) + max(-after, 0) > input.shape[d]:  # torch crops first, then pads
            raise ValueError(
                f"pad: negative padding ({before}, {after}) of dim {d} crops more than its size {input.shape[d]} "
                f"(input shape {input.shape}, pad {tuple(pad)})"
            )
        widths[d] = (before, after)
    return Pad.apply(input, widths=widths, value=0 if value is None else value)
