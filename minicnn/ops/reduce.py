"""Reductions: sum, mean, max, min, var, prod, logsumexp, norm, dist, nansum, nanmean, and the
cumulative cumsum and cumprod, each with its backward.

``axis`` is None (all), an int or a tuple; ``keepdims`` as in NumPy (``dim``/``keepdim`` are
torch's names for the same).
"""

from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from .dims import wrap_dim, wrap_dims
from .errors import DtypeError, ShapeError
from .linalg import PolarFactor
from .math import _floating, _promote, astype, clone, require_float, sub, where
from .shape import Concat, Expand, Flip, movedim, narrow, reshape, unsqueeze


def _axes(axis: Any, ndim: int, op: str = "reduction") -> tuple[int, ...]:
    """The reduced axes, sorted: None or an empty tuple is every axis (as in torch)."""
    if axis is None or (isinstance(axis, (tuple, list)) and len(axis) == 0):
        return tuple(range(ndim))
    out = wrap_dims(axis if isinstance(axis, (tuple, list)) else (axis,), ndim, op)
    if ndim == 0:  # like torch, dim 0 / -1 of a 0-d tensor is valid and reduces nothing
        return ()
    return tuple(sorted(out))


def _expand(g: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """Re-insert reduced axes so ``g`` broadcasts against the input."""
    if keepdims:
        return g
    xp = backend.get_array_module(g)
    return xp.expand_dims(g, axes) if axes else g


def _expand_graph(gy: Tensor, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Tensor:
    """:func:`_expand` on a tensor in the graph (a reshape): ``gy`` with the reduced axes of an
    input of ``shape`` back as size-1 dims."""
    return gy if keepdims else reshape(gy, tuple(1 if i in axes else n for i, n in enumerate(shape)))


class Sum(Function):
    linear = True

    def forward(self, x):
        self.in_shape = x.shape
        if x.dtype.kind in "biu":  # bools and integers add up in int64, as torch (NumPy: uint64 for uints)
            return x.sum(axis=self.axes, keepdims=self.keepdims, dtype=np.int64)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):  # every input element contributes with weight 1
        xp = backend.get_array_module(gy)
        return xp.broadcast_to(_expand(gy, self.axes, self.keepdims), self.in_shape).copy()


class Mean(Function):
    linear = True

    def forward(self, x):
        self.in_shape = x.shape
        self.n = 1
        for a in self.axes:
            self.n *= x.shape[a]
        if not self.n:  # the mean of nothing is NaN, quietly as in torch (NumPy warns)
            xp = backend.get_array_module(x)
            return xp.full(x.sum(axis=self.axes, keepdims=self.keepdims).shape, np.nan, dtype=x.dtype)
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):  # weight 1/n each
        xp = backend.get_array_module(gy)
        return xp.broadcast_to(_expand(gy, self.axes, self.keepdims) / self.n, self.in_shape).astype(gy.dtype)

    def backward_graph(self, gy, x):
        if self.n:
            return super().backward_graph(gy, x)
        # an empty reduction: gy spread over no elements, whose derivative in gy is 0 (as torch);
        # the default's (this op applied again) would be the mean of nothing, NaN
        return Expand.apply(_expand_graph(gy, x.shape, self.axes, self.keepdims), shape=x.shape)


def _check_nonempty(op: str, shape: tuple[int, ...], axes: tuple[int, ...] | None, error: type = RuntimeError) -> None:
    """max/min/argmax have no identity: torch's errors for an empty reduction, IndexError for an
    empty reduced dim, ``error`` for all elements (``axes`` None) of an empty tensor."""
    if axes is None:
        if math.prod(shape) == 0:
            raise error(f"{op}(): Expected reduction dim to be specified for input.numel() == 0")
        return
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size, got shape {shape}")


class MaxMin(Function):
    """max or min. Over one dimension given as an int (``x.max(dim=1)``) the gradient goes to
    the first extremum along it, as with torch's ``max(dim)``, whose index picks one element;
    over all elements or several dimensions it is shared equally among tied extrema, torch's
    rule for ``max()`` and ``amax``."""

    def forward(self, x):
        _check_nonempty(self.label, x.shape, None if self.whole else self.axes)
        y = getattr(x, self.op)(axis=self.axes, keepdims=True)
        if self.first:  # one-hot of the first extremum (NaN counts as one, as in torch)
            (axis,) = self.axes
            xp = backend.get_array_module(x)
            index = getattr(xp, f"arg{self.op}")(x, axis=axis, keepdims=True)
            positions = xp.arange(x.shape[axis]).reshape([-1 if i == axis else 1 for i in range(x.ndim)])
            self.mask = positions == index
            self.graph_reads = ()  # as torch's max(dim), which keeps only the indices: x may be written later
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

    def backward_graph(self, gy, x):  # the mask is a constant, like argmax indices: zero in x
        g = _expand_graph(gy, x.shape, self.axes, self.keepdims)
        mask = Tensor(self.mask.astype(gy.dtype))
        if self.first:
            return g * mask
        return g / Tensor(self.mask.sum(axis=self.axes, keepdims=True).astype(gy.dtype)) * mask


class Var(Function):
    whole = False  # reduced over all elements as torch's dim=None (its backward differs when n <= correction)

    def forward(self, x):
        self.n = 1
        for a in self.axes:
            self.n *= x.shape[a]
        mean = x.mean(axis=self.axes, keepdims=True)
        self.centered = x - mean
        denom = builtins.max(self.n - self.correction, 0)
        squares = (self.centered**2).sum(axis=self.axes, keepdims=self.keepdims)
        if denom == 0:  # torch's warning; the result is squares / 0 (inf, or NaN for 0 / 0), as torch's
            warnings.warn(
                "var(): degrees of freedom is <= 0. Correction should be strictly less than the reduction factor "
                "(input numel divided by output numel).",
                UserWarning,
                stacklevel=4,
            )
        return squares / squares.dtype.type(denom)

    def _scale(self) -> float:
        """torch's factor 2 / (n - correction) of d var / dx, unclamped (negative when n < correction,
        inf when equal), while the forward divides by max(n - correction, 0)."""
        d = self.n - self.correction
        return 2.0 / d if d else math.inf

    def _degenerate(self) -> Any:
        """torch's d var / dx over all elements when n <= correction: inf, NaN where x equals the
        mean (a constant, with no graph); None in every other case."""
        if not self.whole or self.n > self.correction:
            return None
        xp, dtype = backend.get_array_module(self.centered), self.centered.dtype
        return xp.where(self.centered == 0, dtype.type(math.nan), dtype.type(math.inf))

    def backward(self, gy):  # d var / dx = 2 (x - mean) / (n - correction), in torch's order of products
        g = _expand(gy, self.axes, self.keepdims)
        degenerate = self._degenerate()
        if degenerate is not None:
            return (g * degenerate).astype(gy.dtype)
        return ((g * self._scale()) * self.centered).astype(gy.dtype)

    def backward_graph(self, gy, x):
        g = _expand_graph(gy, x.shape, self.axes, self.keepdims)
        degenerate = self._degenerate()
        if degenerate is not None:
            return g * Tensor(degenerate)
        return (g * self._scale()) * (x - Mean.apply(x, axes=self.axes, keepdims=True))


def sum(x: Tensor, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:  # noqa: A001
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    return Sum.apply(x, axes=_axes(axis, x.ndim, "sum"), keepdims=keepdims)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    if x.dtype.kind != "f":
        raise DtypeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. "
            f"Got: {x.dtype} (cast it with .float() or pass dtype=)"
        )
    return Mean.apply(x, axes=_axes(axis, x.ndim, "mean"), keepdims=keepdims)


def max(x: Tensor, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:  # noqa: A001
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    first = isinstance(axis, (int, np.integer)) and x.ndim > 0
    axes = _axes(axis, x.ndim, "max")
    return MaxMin.apply(x, axes=axes, keepdims=keepdims, op="max", first=first, label="max", whole=axis is None)


def min(x: Tensor, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:  # noqa: A001
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    first = isinstance(axis, (int, np.integer)) and x.ndim > 0
    axes = _axes(axis, x.ndim, "min")
    return MaxMin.apply(x, axes=axes, keepdims=keepdims, op="min", first=first, label="min", whole=axis is None)


def amax(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (every dim when empty); tied maxima share the gradient."""
    whole = dim is None or (isinstance(dim, (tuple, list)) and not dim)
    return MaxMin.apply(
        x, axes=_axes(dim, x.ndim, "amax"), keepdims=keepdim, op="max", first=False, label="amax", whole=whole
    )


def amin(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (every dim when empty); tied minima share the gradient."""
    whole = dim is None or (isinstance(dim, (tuple, list)) and not dim)
    return MaxMin.apply(
        x, axes=_axes(dim, x.ndim, "amin"), keepdims=keepdim, op="min", first=False, label="amin", whole=whole
    )


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
    if x.dtype.kind != "f":
        raise DtypeError(f"std and var only support floating point and complex dtypes, got {x.dtype}")
    whole = axis is None or x.ndim == 0
    return Var.apply(x, axes=_axes(axis, x.ndim, "var"), keepdims=keepdims, correction=correction, whole=whole)


class SqrtOfVar(Function):
    """std = sqrt(var): d std / d var = 1 / (2 std), and 0 where std is 0 (all values equal),
    as torch's std backward, where a plain sqrt would give inf * 0 = NaN."""

    def forward(self, v):
        xp = backend.get_array_module(v)
        self.y = xp.sqrt(v)
        return self.y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        safe = xp.where(self.y == 0, 1, self.y)
        return xp.where(self.y == 0, 0, gy / (2 * safe)).astype(gy.dtype, copy=False)

    def backward_graph(self, gy, v):  # y again as this op (not sqrt, whose derivative at 0 is inf)
        y = SqrtOfVar.apply(v)
        zero = y.array == 0
        return where(zero, 0.0, gy / (2 * where(zero, 1.0, y)))


def std(x: Tensor, axis: Any = None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Standard deviation: the square root of :func:`var`, with torch's zero gradient where
    the values are all equal."""
    return SqrtOfVar.apply(var(x, axis, keepdims, correction))


# -- products, cumulative ops, logsumexp, norms, NaN-ignoring sums ------------------------


def _reduced_size(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _exclusive_cumprod(x: Any, axis: int, reverse: bool = False) -> Any:
    """[1, x0, x0 x1, ...] along ``axis`` (the product of the elements before each one; with
    ``reverse``, of those after it)."""
    xp = backend.get_array_module(x)
    m = xp.moveaxis(x, axis, -1)
    if reverse:
        m = m[..., ::-1]
    out = xp.concatenate([xp.ones_like(m[..., :1]), xp.cumprod(m[..., :-1], axis=-1)], axis=-1)
    if reverse:
        out = out[..., ::-1]
    return xp.moveaxis(out, -1, axis)


def _reverse_cumsum(g: Any, axis: int) -> Any:
    """sum_{j >= i} g_j along ``axis``: the adjoint of cumsum."""
    xp = backend.get_array_module(g)
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


def _exclusive_cumprod_graph(x: Tensor, axis: int, reverse: bool = False) -> Tensor:
    """:func:`_exclusive_cumprod` in ops (Flip, Concat, Cumprod), differentiable again."""
    n = x.shape[axis]
    if n == 0:
        return x
    if reverse:
        x = Flip.apply(x, dims=(axis,))
    with backend.array_scope(x.array):
        ones = Tensor(x.xp.ones([1 if i == axis else k for i, k in enumerate(x.shape)], dtype=x.dtype))
    out = Concat.apply(ones, Cumprod.apply(narrow(x, axis, 0, n - 1), axis=axis), axis=axis)
    return Flip.apply(out, dims=(axis,)) if reverse else out


def _reverse_cumsum_graph(g: Tensor, axis: int) -> Tensor:
    """:func:`_reverse_cumsum` in ops (linear: Flip and Cumsum)."""
    return Flip.apply(Cumsum.apply(Flip.apply(g, dims=(axis,)), axis=axis), dims=(axis,))


class Prod(Function):
    """Product over ``axes``. d y / d x_i is the product of the other elements, computed as
    (product of those before i) * (product of those after i) along the reduced axis, so zeros
    are exact without a division: one zero gets the product of the rest, the others 0; with two
    zeros everything is 0 (torch's prod_safe_zeros_backward). Cost: two cumulative products."""

    def forward(self, x):
        if self.requires_grad:
            self.x = x
        dtype = np.int64 if x.dtype.kind in "biu" else None  # torch: integer products are int64
        return x.prod(axis=self.axes, keepdims=self.keepdims, dtype=dtype)

    def backward(self, gy):
        x = self.x
        g = _expand(gy, self.axes, self.keepdims)
        if len(self.axes) == x.ndim:  # over everything: along the flattened tensor
            flat = x.reshape(-1)
            others = (_exclusive_cumprod(flat, 0) * _exclusive_cumprod(flat, 0, reverse=True)).reshape(x.shape)
        else:
            (axis,) = self.axes
            others = _exclusive_cumprod(x, axis) * _exclusive_cumprod(x, axis, reverse=True)
        return (g * others).astype(gy.dtype)

    def backward_graph(self, gy, x):  # backward in ops: Cumprod's own derivative is exact at zeros
        g = _expand_graph(gy, x.shape, self.axes, self.keepdims)
        if len(self.axes) == x.ndim:
            flat = reshape(x, -1)
            others = _exclusive_cumprod_graph(flat, 0) * _exclusive_cumprod_graph(flat, 0, reverse=True)
            return g * reshape(others, x.shape)
        (axis,) = self.axes
        return g * (_exclusive_cumprod_graph(x, axis) * _exclusive_cumprod_graph(x, axis, reverse=True))


class Cumsum(Function):
    linear = True

    def forward(self, x):
        dtype = np.int64 if x.dtype.kind in "biu" else None  # as torch: integer sums are int64
        return backend.get_array_module(x).cumsum(x, axis=self.axis, dtype=dtype)

    def backward(self, gy):  # y_j = sum_{i <= j} x_i, so dx_i = sum_{j >= i} gy_j
        return _reverse_cumsum(gy, self.axis)


class Cumprod(Function):
    """y_j = prod_{i <= j} x_i. dx_k = sum_{j >= k} gy_j prod_{i <= j, i != k} x_i. Before the
    first zero along the axis that is reverse_cumsum(gy * y)_k / x_k (y vanishes from the first
    zero on); at the first zero it is reverse_cumsum(gy * cumprod(x with that zero set to 1));
    after it, 0 (every product includes the zero). Exact with zeros, as torch's. Cost: three
    cumulative scans, no host synchronisation."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        dtype = np.int64 if x.dtype.kind in "biu" else None
        y = xp.cumprod(x, axis=self.axis, dtype=dtype)
        if self.requires_grad:
            self.x, self.y = x, y
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x, y, axis = self.x, self.y, self.axis
        zero = x == 0
        seen = xp.cumsum(zero, axis=axis)  # zeros so far, this one included
        before = seen == 0
        first = zero & (seen == 1)
        one = x.dtype.type(1)
        g_before = _reverse_cumsum(gy * y, axis) / xp.where(before, x, one)
        g_first = _reverse_cumsum(gy * xp.cumprod(xp.where(first, one, x), axis=axis), axis)
        return xp.where(before, g_before, xp.where(first, g_first, x.dtype.type(0)))

    def backward_graph(self, gy, x):
        axis = self.axis
        if not bool((x.array == 0).any()):  # (a host read, as torch's)
            return _reverse_cumsum_graph(gy * Cumprod.apply(x, axis=axis), axis) / x
        # with zeros, torch's formula that stays differentiable: for each k, the cumulative
        # product of x with x_k set to 1 (an (n, n) matrix per slice, O(n^2)), then
        # dx_k = sum_{j >= k} gy_j prod_{i <= j, i != k} x_i
        n = x.shape[axis]
        xs, gs = movedim(x, axis, -1), movedim(gy, axis, -1)
        with backend.array_scope(x.array):
            eye = x.xp.eye(n, dtype=bool)
            upper = Tensor(x.xp.triu(x.xp.ones((n, n), dtype=x.dtype)))  # [k, j] = 1 for j >= k
        without_k = where(eye, 1.0, unsqueeze(xs, -2))  # [..., k, i]
        prods = Cumprod.apply(without_k, axis=without_k.ndim - 1)  # [..., k, j]
        gk = Sum.apply(prods * unsqueeze(gs, -2) * upper, axes=(prods.ndim - 1,), keepdims=False)
        return movedim(gk, -1, axis)


class LogSumExp(Function):
    """log(sum(exp(x))) over ``axes``, computed as m + log(sum(exp(x - m))) with m the maximum
    (0 where m is infinite, as torch: a row of -inf gives -inf, one +inf gives +inf).
    d/dx = exp(x - y) = softmax(x) (NaN for a row of -inf, as torch's)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        if _reduced_size(x.shape, self.axes) == 0:  # empty sum: log 0
            shape = [1 if i in self.axes else n for i, n in enumerate(x.shape)]
            y = xp.full(shape, -xp.inf, dtype=x.dtype)
        else:
            m = x.max(axis=self.axes, keepdims=True)
            m = xp.where(xp.isinf(m), x.dtype.type(0), m)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        if self.requires_grad:
            self.x, self.y = x, y
        return y if self.keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        with np.errstate(invalid="ignore", over="ignore"):
            return _expand(gy, self.axes, self.keepdims) * xp.exp(self.x - self.y)

    def backward_graph(self, gy, x):
        y = LogSumExp.apply(x, axes=self.axes, keepdims=True)
        return _expand_graph(gy, x.shape, self.axes, self.keepdims) * (x - y).exp()


class VectorNorm(Function):
    """(sum |x|^p)^(1/p) over ``axes``; p = inf / -inf: max / min |x|; p = 0: the count of
    nonzeros. Backward is torch's norm_backward: p = 2: x / norm (0 where the norm is 0);
    p = 1: sign(x); p = +-inf: sign(x) shared equally among the extrema; p = 0: zero; other p:
    sign(x) |x|^(p-1) / norm^(p-1) (0 where the norm is 0, or for p < 1 where x is 0)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        p = self.p
        a = xp.abs(x)
        if (p < 0 or p == math.inf) and _reduced_size(x.shape, self.axes) == 0:
            raise RuntimeError(
                f"norm: cannot compute the {p} norm of an empty tensor: the operation does not have an identity"
            )
        if builtins.abs(p) == math.inf:
            norm = a.max(axis=self.axes, keepdims=True) if p > 0 else a.min(axis=self.axes, keepdims=True)
        elif p == 0:
            norm = (x != 0).sum(axis=self.axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            norm = a.sum(axis=self.axes, keepdims=True)
        elif p == 2:
            norm = xp.sqrt((x * x).sum(axis=self.axes, keepdims=True))
        else:
            with np.errstate(divide="ignore", over="ignore"):
                norm = (a**p).sum(axis=self.axes, keepdims=True) ** (1.0 / p)
        if self.requires_grad:
            self.x, self.norm = x, norm
        return norm if self.keepdims else norm.reshape([n for i, n in enumerate(norm.shape) if i not in self.axes])

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x, norm, p = self.x, self.norm, self.p
        g = _expand(gy, self.axes, self.keepdims)
        zero = x.dtype.type(0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p == 0:
                return xp.zeros_like(x)
            if p == 1:
                return xp.sign(x) * g
            if p == 2:
                return g * xp.where(norm == 0, zero, x / norm)
            if builtins.abs(p) == math.inf:
                a = xp.abs(x)
                mask = (a == norm) | xp.isnan(a)
                count = mask.sum(axis=self.axes, keepdims=True).astype(x.dtype)
                return xp.sign(x) * (g / count * mask)
            if p < 1:
                scaled = xp.sign(x) * xp.where(x == 0, zero, xp.abs(x) ** (p - 1))
                return scaled * g * norm ** (1 - p)
            scaled = xp.sign(x) * xp.abs(x) ** (p - 1) if p < 2 else x * xp.abs(x) ** (p - 2)
            return scaled * xp.where(norm == 0, zero, g / norm ** (p - 1))

    def backward_graph(self, gy, x):  # backward in ops, the norm computed again as this op
        p = self.p
        if p == 0:
            return Tensor(x.xp.zeros_like(x.array))  # a constant, as torch's
        g = _expand_graph(gy, x.shape, self.axes, self.keepdims)
        if p == 1:
            return x.sign() * g
        if builtins.abs(p) == math.inf:  # the extrema's mask and count are constants
            with backend.array_scope(x.array):
                a = x.xp.abs(x.array)
                extreme = a.max(axis=self.axes, keepdims=True) if p > 0 else a.min(axis=self.axes, keepdims=True)
                mask = (a == extreme) | x.xp.isnan(a)
                count = mask.sum(axis=self.axes, keepdims=True).astype(x.dtype)
            return x.sign() * (g / Tensor(count) * Tensor(mask.astype(x.dtype)))
        norm = VectorNorm.apply(x, axes=self.axes, keepdims=True, p=p)
        zero = norm.array == 0
        safe = where(zero, 1.0, norm)
        if p == 2:  # 0 at a zero norm, as backward (and no made-up Hessian there)
            return g * where(zero, 0.0, x / safe)
        if p < 1:
            at_zero = x.array == 0
            scaled = x.sign() * where(at_zero, 0.0, where(at_zero, 1.0, x).abs() ** (p - 1))
            return scaled * g * norm ** (1 - p)
        scaled = x.sign() * x.abs() ** (p - 1) if p < 2 else x * x.abs() ** (p - 2)
        return scaled * where(zero, 0.0, g / safe ** (p - 1))


class NanSum(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.keep = ~xp.isnan(x)
        return xp.nansum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):  # 1 where x is a number, 0 at NaN
        return _expand(gy, self.axes, self.keepdims) * self.keep

    def backward_graph(self, gy, x):  # the NaN mask is a constant
        with backend.array_scope(x.array):
            keep = Tensor((~x.xp.isnan(x.array)).astype(x.dtype))
        return _expand_graph(gy, x.shape, self.axes, self.keepdims) * keep


class NanMean(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        keep = ~xp.isnan(x)
        count = keep.sum(axis=self.axes, keepdims=True).astype(x.dtype)
        if self.requires_grad:
            self.keep, self.count = keep, count
        with np.errstate(divide="ignore", invalid="ignore"):
            y = xp.nansum(x, axis=self.axes, keepdims=True) / count
        return y if self.keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

    def backward(self, gy):  # 1/count where x is a number, 0 at NaN (NaN where all are NaN, as torch)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (_expand(gy, self.axes, self.keepdims) / self.count) * self.keep

    def backward_graph(self, gy, x):  # the NaN mask and the counts are constants
        with backend.array_scope(x.array):
            keep = ~x.xp.isnan(x.array)
            count = Tensor(keep.sum(axis=self.axes, keepdims=True).astype(x.dtype))
        return (_expand_graph(gy, x.shape, self.axes, self.keepdims) / count) * Tensor(keep.astype(x.dtype))


def _cast_to(x: Tensor, dtype: Any) -> Tensor:
    """torch's ``dtype=`` of reductions: the input is converted first."""
    return x if dtype is None or np.dtype(dtype) == x.dtype else astype(x, dtype)


def _to_int_dtype(y: Tensor, dtype: Any) -> Tensor:
    """An integer (or bool) ``dtype=`` of a sum, product or cumulative op is torch's result dtype
    too, where minicnn accumulates integers in int64: the int64 result cast (wrapping as the
    narrower accumulation would)."""
    if dtype is None or np.dtype(dtype).kind not in "biu" or y.dtype == np.dtype(dtype):
        return y
    return astype(y, dtype)


def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Product of all elements (``dim=None``) or along the one dimension ``dim``.
    Integer and bool inputs give int64, as in torch; ``dtype`` converts the input first.
    The gradient is exact where the input has zeros (see :class:`Prod`)."""
    x = _cast_to(input, dtype)
    if dim is None:
        axes = _axes(None, x.ndim, "prod")
    else:
        axis = wrap_dim(dim, x.ndim, "prod")
        axes = (axis,) if x.ndim else ()  # dim 0 of a 0-d tensor reduces nothing
    return _to_int_dtype(Prod.apply(x, axes=axes, keepdims=keepdim), dtype)


def _cumulative(fn: type[Function], input: Tensor, dim: Any, dtype: Any, op: str) -> Tensor:
    x = _cast_to(input, dtype)
    axis = wrap_dim(dim, x.ndim, op)
    if x.ndim == 0:  # torch: a 0-d tensor along dim 0 is itself (integers as int64)
        return astype(x, np.int64) if x.dtype.kind in "biu" else clone(x)
    return fn.apply(x, axis=axis)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim`` (same shape); integer and bool inputs give int64, as in torch."""
    return _to_int_dtype(_cumulative(Cumsum, input, dim, dtype, "cumsum"), dtype)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim`` (same shape); exact gradient with zeros (see :class:`Cumprod`)."""
    return _to_int_dtype(_cumulative(Cumprod, input, dim, dtype, "cumprod"), dtype)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over ``dim`` (an int or a tuple), computed stably; integer inputs
    give float32. An empty reduction gives -inf."""
    x = _floating(input)
    return LogSumExp.apply(x, axes=_axes(dim, x.ndim, "logsumexp"), keepdims=keepdim)


class NuclearNorm(Function):
    """Sum of the singular values of each matrix over ``axes`` (two dims; the others batch).

    With the reduced SVD A = U diag(s) V^T, d(sum s) = tr(U^T dA V), so dA = g U V^T: one
    batched SVD forward, one batched matrix product backward. At a rank-deficient matrix the
    norm has no unique gradient; U V^T of the SVD found is the subgradient taken (as torch).
    Under create_graph the gradient is g * PolarFactor(A) (minicnn.ops.linalg), whose own
    derivative is the norm's Hessian in closed form: second derivatives, not third."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        a = xp.moveaxis(x, self.axes, (-2, -1))
        from .decompositions import _lapack  # (it loads after this module)

        u, s, vh = _lapack("matrix_norm", xp.linalg.svd, a, full_matrices=False)
        if self.requires_grad:
            self.uvh = u @ vh
        y = s.sum(axis=-1)
        return xp.expand_dims(y, self.axes) if self.keepdims else y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        g = gy if not self.keepdims else xp.squeeze(gy, self.axes)
        return xp.moveaxis(g[..., None, None] * self.uvh, (-2, -1), self.axes)

    def backward_graph(self, gy, x):  # g U V^T, with U V^T an op of its own (PolarFactor)
        a = movedim(x, self.axes, (-2, -1))
        g = reshape(gy, a.shape[:-2] + (1, 1))
        return movedim(g * PolarFactor.apply(a), (-2, -1), self.axes)


def _nuclear_norm(x: Tensor, dim: Any, keepdim: bool) -> Tensor:
    """torch.norm(x, 'nuc', dim): dim None on a 2-d input, else two distinct dims."""
    if x.ndim < 2:
        raise ShapeError(f"norm: the nuclear norm needs a matrix (at least 2 dims), got shape {x.shape}")
    if dim is None:
        dim = tuple(range(x.ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dims) != 2:
        raise ShapeError(f"norm: the nuclear norm needs dim to be a 2-tuple, got {dims} for shape {x.shape}")
    return NuclearNorm.apply(x, axes=wrap_dims(dims, x.ndim, "norm"), keepdims=keepdim)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """torch.norm: the vector p-norm of ``input`` over ``dim`` (None or an empty tuple: every
    element, as one vector). ``p``: a number (2, 1, inf, -inf, 0 = count of nonzeros, any
    other), None (= 2), ``'fro'`` (the 2-norm over at most two dims) or ``'nuc'`` (the sum of
    singular values of the matrices over the two dims ``dim``; None for a 2-d input).
    Floating inputs only, as in torch; ``dtype`` converts first."""
    x = _cast_to(input, dtype)
    require_float(x, "norm")
    if isinstance(p, str):
        if p == "nuc":
            return _nuclear_norm(x, dim, keepdim)
        if p != "fro":
            raise ValueError(f"norm: order {p!r} is not supported (a number, None, 'fro' or 'nuc')")
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise ShapeError(f"norm: p='fro' needs at most 2 dims, got dim={tuple(dim)}")  # (torch's RuntimeError)
        p = 2
    p = 2.0 if p is None else float(p)
    return VectorNorm.apply(x, axes=_axes(dim, x.ndim, "norm"), keepdims=keepdim, p=p)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast), over all elements; floating inputs only."""
    a, b = _promote(input, other)
    if a.dtype.kind != "f":
        raise DtypeError(f"dist: expected floating point inputs, got dtype {a.dtype}")
    d = sub(a, b)
    return VectorNorm.apply(d, axes=_axes(None, d.ndim, "dist"), keepdims=False, p=float(p))


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum treating NaN as zero (its gradient there is 0); integer inputs are summed as int64."""
    if dtype is not None and input.dtype.kind == "f" and np.dtype(dtype).kind != "f":  # NaNs dropped before the cast
        input = where(input.isnan(), 0.0, input)
    x = _cast_to(input, dtype)
    if x.dtype.kind != "f":
        y = Sum.apply(_cast_to(x, np.int64), axes=_axes(dim, x.ndim, "nansum"), keepdims=keepdim)
        return _to_int_dtype(y, dtype)
    return NanSum.apply(x, axes=_axes(dim, x.ndim, "nansum"), keepdims=keepdim)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Mean of the non-NaN elements (NaN where there are none); floating inputs only, as torch."""
    x = _cast_to(input, dtype)
    require_float(x, "nanmean")
    return NanMean.apply(x, axes=_axes(dim, x.ndim, "nanmean"), keepdims=keepdim)
