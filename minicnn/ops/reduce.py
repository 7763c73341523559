"""Reductions: sum, mean, max, min, var, each with its backward.

``axis`` is None (all), an int or a tuple; ``keepdims`` as in NumPy (``dim``/``keepdim`` are
torch's names for the same).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """The reduced axes, sorted: None or an empty tuple is every axis (as in torch)."""
    if axis is None or (isinstance(axis, (tuple, list)) and len(axis) == 0):
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise IndexError(f"dimension {a} out of range for a {ndim}-d tensor")
        if a % builtins.max(ndim, 1) in out:
            raise RuntimeError(f"dim {a % builtins.max(ndim, 1)} appears multiple times in the list of dims")
        out.append(a % builtins.max(ndim, 1))
    if ndim == 0:  # like torch, dim 0 / -1 of a 0-d tensor is valid and reduces nothing
        return ()
    return tuple(sorted(out))


def _expand(g: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """Re-insert reduced axes so ``g`` broadcasts against the input."""
    if keepdims:
        return g
    xp = backend.get_array_module(g)
    return xp.expand_dims(g, axes) if axes else g


class Sum(Function):
    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):  # every input element contributes with weight 1
        xp = backend.get_array_module(gy)
        return xp.broadcast_to(_expand(gy, self.axes, self.keepdims), self.in_shape).copy()


class Mean(Function):
    def forward(self, x):
        self.in_shape = x.shape
        self.n = 1
        for a in self.axes:
            self.n *= x.shape[a]
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):  # weight 1/n each
        xp = backend.get_array_module(gy)
        return xp.broadcast_to(_expand(gy, self.axes, self.keepdims) / self.n, self.in_shape).astype(gy.dtype)


class MaxMin(Function):
    """max or min. Over one dimension given as an int (``x.max(dim=1)``) the gradient goes to
    the first extremum along it, as with torch's ``max(dim)``, whose index picks one element;
    over all elements or several dimensions it is shared equally among tied extrema, torch's
    rule for ``max()`` and ``amax``."""

    def forward(self, x):
        if x.size == 0:
            raise RuntimeError(f"{self.op}: cannot reduce an empty tensor")
        y = getattr(x, self.op)(axis=self.axes, keepdims=True)
        if self.first:  # one-hot of the first extremum (NaN counts as one, as in torch)
            (axis,) = self.axes
            xp = backend.get_array_module(x)
            index = getattr(xp, f"arg{self.op}")(x, axis=axis, keepdims=True)
            positions = xp.arange(x.shape[axis]).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
            self.mask = positions == index
        else:  # every extremum; where the result is NaN, the NaNs are
            xp = backend.get_array_module(x)
            self.mask = (x == y) | (xp.isnan(x) & xp.isnan(y)) if x.dtype.kind == "f" else x == y
        return y if self.keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        g = _expand(gy, self.axes, self.keepdims)
        if self.first:
            return (self.mask * g).astype(gy.dtype)
        count = self.mask.sum(axis=self.axes, keepdims=True)
        return (self.mask * (g / count)).astype(gy.dtype)


class Var(Function):
    def forward(self, x):
        self.n = 1
        for a in self.axes:
            self.n *= x.shape[a]
        mean = x.mean(axis=self.axes, keepdims=True)
        self.centered = x - mean
        denom = builtins.max(self.n - self.correction, 0)
        return (self.centered**2).sum(axis=self.axes, keepdims=self.keepdims) / denom

    def backward(self, gy):  # d var / dx = 2 (x - mean) / (n - correction); NaN when n <= correction
        g = _expand(gy, self.axes, self.keepdims)
        denom = builtins.max(self.n - self.correction, 0)
        return (g * self.centered * (2.0 / denom if denom else float("nan"))).astype(gy.dtype)


def sum(x: Tensor, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:  # noqa: A001
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    return Sum.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    return Mean.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims)


def max(x: Tensor, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:  # noqa: A001
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    first = isinstance(axis, (int, np.integer)) and x.ndim > 0
    return MaxMin.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims, op="max", first=first)


def min(x: Tensor, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:  # noqa: A001
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    first = isinstance(axis, (int, np.integer)) and x.ndim > 0
    return MaxMin.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims, op="min", first=first)


def amax(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (every dim when empty); tied maxima share the gradient."""
    return MaxMin.apply(x, axes=_axes(dim, x.ndim), keepdims=keepdim, op="max", first=False)


def amin(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (every dim when empty); tied minima share the gradient."""
    return MaxMin.apply(x, axes=_axes(dim, x.ndim), keepdims=keepdim, op="min", first=False)


def var(
    x: Tensor,
    axis: Any = None,
    keepdims: bool = False,
    correction: int = 1,
    dim: Any = None,
    keepdim: Any = None,
    unbiased: bool | None = None,
) -> Tensor:
    """Variance with Bessel's ``correction`` (1 = unbiased, torch's default)."""
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return Var.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims, correction=correction)
