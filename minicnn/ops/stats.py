"""torch's order statistics, running extrema and small statistics, all differentiable.

* ``diff``: n-th forward difference along dim (one narrow-and-subtract per order);
* ``cummax`` / ``cummin``: running extremum and the index where it was reached;
* ``logcumsumexp``: log of the running sum of exp, as a log-space scan;
* ``median`` / ``nanmedian`` / ``kthvalue`` / ``mode`` / ``msort``: picks by a stable sort;
* ``quantile`` / ``nanquantile``: torch's sort-and-interpolate (5 interpolations);
* ``aminmax``, ``std_mean``, ``var_mean``, ``renorm``, ``cov``, ``corrcoef``;
* ``trapezoid`` / ``trapz`` / ``cumulative_trapezoid``.

Every op that picks elements computes int64 indices on raw arrays and then gathers: the
gradient goes to the picked element (a scatter-add), torch's ``value_selecting_reduction``
rule, and the gather is linear, so double backward comes for free. ``median()`` and
``nanmedian()`` over all elements share the gradient evenly among the elements equal to the
result, as torch's. The rest are compositions of differentiable ops. ``cdist`` is in
:mod:`minicnn.ops.cdist`.

Ties: a pick among equal values takes the one a *stable* ascending sort puts at the wanted
rank (the earliest in memory order). torch's CPU kernels (quickselect) choose among equal
values in an unspecified way; minicnn's values always agree, the index of a tied value may
not. ``cummax``/``cummin`` take the latest index of the extremum, and ``mode`` the smallest of
the most frequent values at its last index: both exactly as torch. NaN: sorts as the largest
value; ``median``/``quantile`` of a slice holding NaN is NaN (its first NaN for median), the
nan-versions ignore NaNs.

Costs: sorting O(n log n) per slice; the scans (cummax, logcumsumexp) are Hillis-Steele
doubling scans, log2(n) vectorised steps of O(numel) each.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..tensor_methods import number_outputs
from .dims import wrap_dim
from .errors import ShapeError
from .index import Gather, _sort_order, sort
from .math import clip, clone, exp, lerp, log, sqrt, where
from .reduce import _check_nonempty, amax, amin, mean, norm
from .reduce import sum as reduce_sum
from .shape import cat, diagonal, movedim, narrow, reshape, squeeze


# -- result types (torch.return_types.*) -------------------------------------------------------
class CummaxResult(NamedTuple):
    values: Tensor
    indices: Tensor


class CumminResult(NamedTuple):
    values: Tensor
    indices: Tensor


class MedianResult(NamedTuple):
    values: Tensor
    indices: Tensor


class NanmedianResult(NamedTuple):
    values: Tensor
    indices: Tensor


class ModeResult(NamedTuple):
    values: Tensor
    indices: Tensor


class KthvalueResult(NamedTuple):
    values: Tensor
    indices: Tensor


class AminmaxResult(NamedTuple):
    min: Tensor
    max: Tensor


# -- helpers -----------------------------------------------------------------------------------
def _tensor_input(x: Any, op: str, bool_ok: bool = True) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): expected a Tensor as input, got {type(x).__name__}")
    if not bool_ok and x.dtype == np.bool_:
        raise NotImplementedError(f"{op}(): not implemented for bool tensors (as torch)")
    return x


def _pick(x: Tensor, index: Any, d: int, op: str) -> Tensor:
    """``x`` gathered at the int64 ``index`` (keepdim shape, in range) along ``d``: a Gather
    node, so the gradient goes to the picked elements."""
    return Gather.apply(x, Tensor(index), dim=d, op=op, allow_negative=False, trusted=True)


def _selection(x: Tensor, dim: int, keepdim: bool, op: str, choose: Any, result: type) -> Any:
    """``(values, indices)`` of the element ``choose(a, axis)`` (keepdims int64 indices)
    picks per slice of ``x`` along ``dim``; a 0-d input is its own slice of length 1."""
    scalar = x.ndim == 0
    xs = reshape(x, 1) if scalar else x
    d = wrap_dim(dim, max(x.ndim, 1), op)
    _check_nonempty(op, xs.shape, (d,))
    with backend.array_scope(xs.array):
        index = choose(xs.array, d).astype(np.int64, copy=False)
    values = _pick(xs, index, d, f"{op}()")
    indices = Tensor(index)
    if scalar:
        return result(reshape(values, ()), reshape(indices, ()))
    if not keepdim:
        values, indices = squeeze(values, d), squeeze(indices, d)
    return result(values, indices)


def _nan_count(a: Any, axis: int) -> Any:
    xp = backend.get_array_module(a)
    if a.dtype.kind != "f":
        return xp.zeros(a.shape[:axis] + (1,) + a.shape[axis + 1 :], dtype=np.int64)
    return xp.isnan(a).sum(axis=axis, keepdims=True)


def _rank(a: Any, axis: int, k: Any) -> Any:
    """The index of the element of stable-sorted rank ``k`` (keepdims ints) along ``axis``."""
    xp = backend.get_array_module(a)
    order = _sort_order(a, axis, False)
    return xp.take_along_axis(order, xp.asarray(k, dtype=np.int64), axis=axis)


class EvenShare(Function):
    """The element of ``x`` at flat position ``index`` (0-d out); its gradient is shared evenly
    among the elements equal to it (NaN: among the NaNs), torch's ``evenly_distribute_backward``
    for ``median()`` / ``nanmedian()``."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        y = x.reshape(-1)[self.index]
        mask = (xp.isnan(x) if bool(xp.isnan(y)) else x == y) if x.dtype.kind == "f" else x == y
        if self.requires_grad:
            self.share = (mask / mask.sum()).astype(x.dtype)
        return y.reshape(())

    def backward(self, gy):
        return (gy * self.share).astype(gy.dtype)

    def backward_graph(self, gy, x):  # the shares are constants (like argmax indices)
        return gy * Tensor(self.share)


def _whole(x: Tensor, op: str, ignore_nan: bool) -> Tensor:
    if x.numel() == 0 and x.dtype.kind == "f":  # NaN in the graph (an empty gradient), as torch's
        return reduce_sum(x) + math.nan
    if x.numel() == 0:  # torch's NaN converted to the integer dtype (x86's conversion: the lowest 32/64-bit value)
        wide = x.dtype.kind == "i" and x.dtype.itemsize >= 4
        nan = np.asarray(np.iinfo(x.dtype).min if wide else 0, dtype=x.dtype)
        return Tensor(backend.to_device(nan, x.device) if x.device != "cpu" else nan)
    a = x.array.reshape(-1)
    with backend.array_scope(a):
        n, nans = a.shape[0], int(_nan_count(a, 0)[0])
        if ignore_nan:
            k = max((n - nans - 1) // 2, 0)
        else:
            k = n - nans if nans else (n - 1) // 2
        index = int(_rank(a, 0, [k])[0])
    return EvenShare.apply(x, index=index)


# -- cumulative ------------------------------------------------------------------------------
def _running_extreme(a: Any, axis: int, larger: bool) -> Any:
    """Index of the running max (``larger``) or min along ``axis``, torch's rule: a later
    element equal to the running extremum takes over, and NaN wins (a later NaN too). A
    Hillis-Steele scan: after the step with shift s every place holds the best of its last 2s."""
    xp = backend.get_array_module(a)
    v = xp.moveaxis(a, axis, -1).copy()
    n = v.shape[-1]
    idx = xp.broadcast_to(xp.arange(n, dtype=np.int64), v.shape).copy()
    s = 1
    while s < n:
        lv, rv = v[..., :-s], v[..., s:]
        left = lv > rv if larger else lv < rv
        if v.dtype.kind == "f":
            left = left | (xp.isnan(lv) & ~xp.isnan(rv))
        new_v, new_i = xp.where(left, lv, rv), xp.where(left, idx[..., :-s], idx[..., s:])
        v[..., s:], idx[..., s:] = new_v, new_i
        s *= 2
    return xp.moveaxis(idx, -1, axis)


def _cumulative_extreme(x: Tensor, dim: int, larger: bool, result: type, op: str) -> Any:
    scalar = x.ndim == 0
    xs = reshape(x, 1) if scalar else x
    d = wrap_dim(dim, max(x.ndim, 1), op)
    with backend.array_scope(xs.array):
        index = _running_extreme(xs.array, d, larger)
    values, indices = _pick(xs, index, d, f"{op}()"), Tensor(index)
    return result(reshape(values, ()), reshape(indices, ())) if scalar else result(values, indices)


def cummax(input: Tensor, dim: int) -> CummaxResult:
    """``(values, indices)``: the running maximum along ``dim`` and where it was reached (the
    latest index among equal values; NaN propagates). Values are differentiable: each output
    element's gradient goes to the element at its index."""
    return _cumulative_extreme(_tensor_input(input, "cummax"), dim, True, CummaxResult, "cummax")


def cummin(input: Tensor, dim: int) -> CumminResult:
    """As :func:`cummax`, for the running minimum."""
    return _cumulative_extreme(_tensor_input(input, "cummin"), dim, False, CumminResult, "cummin")


def _logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """log(exp(a) + exp(b)) in ops, shifted by the larger (a constant: the derivative of the
    shifted form is exact for any shift)."""
    xp = a.xp
    with backend.array_scope(a.array):
        m = xp.maximum(a.array, b.array)
        m = xp.where(xp.isfinite(m), m, m.dtype.type(0))
    shift = Tensor(m)
    return log(exp(a - shift) + exp(b - shift)) + shift


def _logcumsumexp_scan(a: Any, axis: int, reverse: bool = False) -> Any:
    """The array ``log(cumsum(exp(a), axis))`` (from the end with ``reverse``): a doubling scan
    of logaddexp, exact for infinities."""
    xp = backend.get_array_module(a)
    v = xp.moveaxis(a, axis, -1)
    v = (v[..., ::-1] if reverse else v).copy()
    n, s = v.shape[-1], 1
    while s < n:
        v[..., s:] = xp.logaddexp(v[..., :-s], v[..., s:])
        s *= 2
    return xp.moveaxis(v[..., ::-1] if reverse else v, -1, axis)


class LogCumSumExp(Function):
    """log(cumsum(exp(x))) along ``axis``. Backward by torch's formula: dx_j = sum over i >= j of
    g_i exp(x_j - y_i), the positive and the negative g apart, each a reverse scan in log space,
    so an infinite element makes only its own gradient NaN (a chain of logaddexp nodes would
    carry 0 * NaN to every element before it)."""

    def forward(self, x):
        y = _logcumsumexp_scan(x, self.axis)
        if self.requires_grad:
            self.x, self.y = x, y
        return y

    def backward(self, gy):
        xp, x, y = backend.get_array_module(gy), self.x, self.y
        lowest = gy.dtype.type(np.finfo(gy.dtype).min)  # torch's log of a zero gradient
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_g = xp.log(xp.abs(gy))
            parts = [xp.where(sign * gy > 0, log_g, lowest) - y for sign in (1, -1)]
            pos, neg = (xp.exp(_logcumsumexp_scan(p, self.axis, reverse=True) + x) for p in parts)
        return (pos - neg).astype(gy.dtype, copy=False)

    def composite(self, x):  # the same scan in ops, for higher derivatives
        d, n, s, v = self.axis, x.shape[self.axis], 1, x
        while s < n:
            v = cat([narrow(v, d, 0, s), _logaddexp(narrow(v, d, 0, n - s), narrow(v, d, s, n - s))], dim=d)
            s *= 2
        return v * 1.0 if v is x else v


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input), dim))`` without overflow or underflow: a doubling scan of
    logaddexp (log2(n) steps, each O(numel)). Floating inputs only."""
    x = _tensor_input(input, "logcumsumexp")
    if x.dtype.kind != "f":
        raise NotImplementedError(f"logcumsumexp(): expected a floating point input, got {x.dtype}")  # as torch
    d = wrap_dim(dim, x.ndim, "logcumsumexp")
    if x.ndim == 0:
        return x * 1.0
    return LogCumSumExp.apply(x, axis=d)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """The n-th forward difference ``out[i] = x[i + 1] - x[i]`` along ``dim`` (applied n
    times), after concatenating ``prepend`` / ``append`` along dim; bool tensors use xor."""
    x = _tensor_input(input, "diff")
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, x.ndim, "diff")
    if n == 0:  # torch returns a copy of the input, without prepend or append
        return clone(x)
    parts = [p if isinstance(p, Tensor) else Tensor(p, device=x.device) for p in (prepend, x, append) if p is not None]
    for p in parts:
        if p.ndim != x.ndim:
            raise RuntimeError(f"diff expects prepend or append to be the same dimension as input, got {p.shape}")
    if len(parts) > 1:
        x = cat(parts, dim=d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = (hi != lo) if x.dtype == np.bool_ else hi - lo
    return x


# -- order statistics ------------------------------------------------------------------------
def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``median(x)``: the lower median of every element (0-d; NaN if any is NaN; gradient shared
    among equal elements). ``median(x, dim, keepdim=False)``: ``(values, indices)`` along dim
    (the first NaN where a slice has one)."""
    x = _tensor_input(input, "median", bool_ok=False)
    if dim is None:
        return _whole(x, "median", ignore_nan=False)

    def choose(a: Any, axis: int) -> Any:
        xp, n, nans = backend.get_array_module(a), a.shape[axis], _nan_count(a, axis)
        return _rank(a, axis, xp.where(nans > 0, n - nans, (n - 1) // 2))

    return _selection(x, dim, keepdim, "median", choose, MedianResult)


def nanmedian(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """:func:`median` ignoring NaNs (NaN only for an all-NaN slice, at index 0 of it)."""
    x = _tensor_input(input, "nanmedian", bool_ok=False)
    if dim is None:
        return _whole(x, "nanmedian", ignore_nan=True)

    def choose(a: Any, axis: int) -> Any:
        xp, n, nans = backend.get_array_module(a), a.shape[axis], _nan_count(a, axis)
        return _rank(a, axis, xp.maximum((n - nans - 1) // 2, 0))

    return _selection(x, dim, keepdim, "nanmedian", choose, NanmedianResult)


def kthvalue(input: Tensor, k: int, dim: int | None = None, keepdim: bool = False) -> KthvalueResult:
    """``(values, indices)`` of the k-th smallest element (k from 1) along ``dim`` (None: the last)."""
    x = _tensor_input(input, "kthvalue", bool_ok=False)
    dim = -1 if dim is None else dim
    d = wrap_dim(dim, max(x.ndim, 1), "kthvalue")
    n = x.shape[d] if x.ndim else 1
    if n and not 1 <= k <= n:  # (an empty dim is the IndexError of _selection)
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim} (k={k}, size {n})")

    def choose(a: Any, axis: int) -> Any:
        shape = a.shape[:axis] + (1,) + a.shape[axis + 1 :]
        return _rank(a, axis, backend.get_array_module(a).full(shape, k - 1, dtype=np.int64))

    return _selection(x, dim, keepdim, "kthvalue", choose, KthvalueResult)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> ModeResult:
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest of equally
    frequent ones) and the last index where it occurs, as torch."""
    x = _tensor_input(input, "mode")

    def choose(a: Any, axis: int) -> Any:
        xp = backend.get_array_module(a)
        order = xp.moveaxis(_sort_order(a, axis, False), axis, -1)
        rows = order.reshape(-1, order.shape[-1])
        s = xp.take_along_axis(xp.moveaxis(a, axis, -1).reshape(rows.shape), rows, axis=-1)
        b, n = rows.shape
        start = xp.ones((b, n), dtype=bool)
        start[:, 1:] = s[:, 1:] != s[:, :-1]
        run = xp.cumsum(start.reshape(-1)) - 1  # a global id per run of equal values
        count = xp.bincount(run)[run].reshape(b, n)
        first = xp.argmax(count, axis=1)  # first place of the longest run: the smallest value
        last = first + count[xp.arange(b), first] - 1
        index = rows[xp.arange(b), last]
        return xp.expand_dims(index.reshape(order.shape[:-1]), axis)

    return _selection(x, dim, keepdim, "mode", choose, ModeResult)


def msort(input: Tensor) -> Tensor:
    """``sort(input, dim=0).values``."""
    return sort(_tensor_input(input, "msort"), 0).values


def aminmax(input: Tensor, *, dim: Any = None, keepdim: bool = False) -> AminmaxResult:
    """``(min, max)`` over ``dim`` (None: every element; keepdim then keeps all dims as 1);
    tied extrema share the gradient, as torch's."""
    x = _tensor_input(input, "aminmax")
    if x.numel() == 0 and dim is None:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity")
    if dim is not None and x.ndim:
        _check_nonempty("aminmax", x.shape, (wrap_dim(dim, x.ndim, "aminmax"),))
    dims = () if dim is None else dim
    lo, hi = amin(x, dims, keepdim), amax(x, dims, keepdim)
    return AminmaxResult(*number_outputs((lo, hi)))


# -- quantiles -------------------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x: Tensor, q: Any, dim: Any, keepdim: bool, interpolation: str, ignore_nan: bool, op: str) -> Tensor:
    """torch's ``quantile`` algorithm: sort (NaN last), ranks = q (count - 1), then the value
    at the rank, interpolated between its two neighbours."""
    x = _tensor_input(x, op)
    if x.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype, got {x.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ShapeError(f"{op}() interpolation must be one of {_INTERPOLATIONS}, got '{interpolation}'")
    if x.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    xp = x.xp
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor, got shape {q.shape}")
        if q.dtype != x.dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor, got {q.dtype} and {x.dtype}")
        qa, q_vector = backend.to_device(q.array, x.device).reshape(-1), q.ndim == 1
    else:
        qa, q_vector = xp.asarray([q], dtype=x.dtype), False
    with backend.array_scope(x.array):
        if bool(((qa < 0) | (qa > 1)).any()) or bool(xp.isnan(qa).any()):
            raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
    if dim is None:
        src, d = reshape(x, -1), 0
    else:
        src, d = x, wrap_dim(dim, max(x.ndim, 1), op)
        src = reshape(src, 1) if x.ndim == 0 else src
    values = movedim(sort(src, d).values, d, -1)  # (..., n)
    with backend.array_scope(values.array):
        a, n = values.array, values.shape[-1]
        nan = xp.isnan(a)
        if ignore_nan:
            slope = ((~nan).sum(axis=-1, keepdims=True) - 1).astype(x.dtype)  # d ranks / d q
            ranks = qa * slope
            clipped = ranks < 0
            ranks = xp.where(clipped, x.dtype.type(0), ranks)
        else:
            ranks = xp.broadcast_to(qa * x.dtype.type(n - 1), a.shape[:-1] + (qa.shape[0],))
            slope, clipped = x.dtype.type(n - 1), nan.any(axis=-1, keepdims=True)
            ranks = xp.where(clipped, x.dtype.type(n - 1), ranks)
        if interpolation == "lower":
            ranks = xp.floor(ranks)
        elif interpolation == "higher":
            ranks = xp.ceil(ranks)
        elif interpolation == "nearest":
            ranks = xp.round(ranks)  # half to even, as torch's round
        below = ranks.astype(np.int64)
        above = xp.ceil(ranks).astype(np.int64)
        weights = xp.full(ranks.shape, 0.5, dtype=x.dtype) if interpolation == "midpoint" else ranks - below
    out = _take(values, below)
    if interpolation in ("linear", "midpoint"):
        w = Tensor(weights.astype(x.dtype))
        if interpolation == "linear" and isinstance(q, Tensor) and q.requires_grad and q.device == x.device:
            # the weight's gradient in q, torch's: d weight / d q = the rank's slope, 0 where the rank was
            # replaced (NaN in the slice; an all-NaN slice for nanquantile); the added term is 0
            dq = (reshape(q, -1) - reshape(q, -1).detach()) * Tensor(xp.asarray(slope, dtype=x.dtype))
            w = w + where(Tensor(xp.broadcast_to(clipped, ranks.shape)), 0.0, dq)
        out = lerp(out, _take(values, above), w)
    out = movedim(out, -1, 0)  # (Q, ...)
    if keepdim:
        kept = (1,) * x.ndim if dim is None else tuple(1 if i == d else s for i, s in enumerate(x.shape))
        out = reshape(out, (out.shape[0],) + kept)
    return out if q_vector else squeeze(out, 0)


def _take(values: Tensor, index: Any) -> Tensor:
    """``values`` (..., n) gathered at ``index`` (..., Q) along the last dim."""
    return Gather.apply(values, Tensor(index), dim=values.ndim - 1, op="quantile()", allow_negative=False, trusted=True)


def quantile(input: Tensor, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """The ``q``-quantiles (a float or a 0-d/1-d tensor in [0, 1]) along ``dim`` (None: of every
    element). A 1-d q puts its dim first in the result. interpolation: linear, lower,
    higher, midpoint or nearest, as torch. NaN in a slice gives NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(
    input: Tensor, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear"
) -> Tensor:
    """:func:`quantile` ignoring NaNs (NaN for an all-NaN slice)."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


# -- moments and normalisation -----------------------------------------------------------------
def var_mean(
    input: Tensor, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *, correction: Any = None
) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim`` (arguments as :meth:`Tensor.var`)."""
    x = _tensor_input(input, "var_mean")
    return number_outputs((x.var(dim, unbiased, keepdim, correction=correction), mean(x, dim=dim, keepdim=keepdim)))


def std_mean(
    input: Tensor, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *, correction: Any = None
) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim`` (arguments as :meth:`Tensor.std`)."""
    x = _tensor_input(input, "std_mean")
    return number_outputs((x.std(dim, unbiased, keepdim, correction=correction), mean(x, dim=dim, keepdim=keepdim)))


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Every slice ``input.select(dim, i)`` whose p-norm exceeds ``maxnorm`` scaled down to norm
    ``maxnorm`` (torch's ``maxnorm / (norm + 1e-7)``); the gradient runs through the norm."""
    x = _tensor_input(input, "renorm")
    if not p > 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if x.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {x.ndim} dimensions")
    d = wrap_dim(dim, x.ndim, "renorm")
    others = tuple(i for i in range(x.ndim) if i != d)
    size = norm(x, p, dim=others, keepdim=True)
    exceeds = size.array > maxnorm
    if bool(x.xp.isnan(size.array).any()):
        # a NaN slice is kept as it is, with gradient ``grad`` (torch's where(norm > maxnorm, ..., grad)):
        # its norm must not enter the graph, or 0 * NaN would reach it through the norm's backward
        kept = where(exceeds, x, 0.0)
        return where(exceeds, kept * (maxnorm / (norm(kept, p, dim=others, keepdim=True) + 1e-7)), x)
    factor = where(exceeds, maxnorm / (size + 1e-7), 1.0)
    return x * factor


def cov(input: Tensor, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (V, N) (1-d: one
    variable; 0-d result): torch's formula with integer frequency weights ``fweights`` (N,)
    and float observation weights ``aweights`` (N,)."""
    x = _tensor_input(input, "cov")
    if x.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with {x.ndim}")
    obs = reshape(x, 1, -1) if x.ndim < 2 else x
    n = obs.shape[1]
    w = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        if wt.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {wt.ndim}")
        if wt.numel() != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations ({n}), "
                               f"but got {wt.numel()}")  # fmt: skip
        if name == "fweights" and wt.dtype.kind not in "iu":
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got {wt.dtype}")
        if name == "aweights" and wt.dtype.kind != "f":
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got {wt.dtype}")
        if bool((wt.array < 0).any()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = wt if w is None else w * wt
    w_sum = float(n) if w is None else reduce_sum(w)
    avg = reduce_sum(obs if w is None else obs * w, 1) / w_sum
    if w is not None and correction != 0:
        factor = w_sum - correction * (reduce_sum(w * aweights) / w_sum if aweights is not None else 1)
    else:
        factor = w_sum - correction
    if float(factor.array if isinstance(factor, Tensor) else factor) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)  # fmt: skip
        factor = 0.0
    centred = obs - reshape(avg, -1, 1)
    c = centred @ (centred if w is None else centred * w).mT
    c = c / factor
    return squeeze(c)


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input`` (V, N): :func:`cov` divided by
    the outer product of the standard deviations, clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    sd = sqrt(diagonal(c))
    c = c / reshape(sd, -1, 1)
    c = c / reshape(sd, 1, -1)
    return clip(c, -1, 1)


# -- integration -------------------------------------------------------------------------------
def _spacing(y: Tensor, x: Tensor, d: int, op: str) -> Tensor:
    """``x[1:] - x[:-1]`` along ``d``, x 1-d (of y's size along d) or broadcasting with y."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{op}: There must be one `x` value for each sample point, got {x.shape[0]} "
                               f"and {y.shape[d]}")  # fmt: skip
        x = reshape(x, tuple(-1 if i == d else 1 for i in range(y.ndim)))
    elif x.ndim != y.ndim:
        raise RuntimeError(f"{op}: x of shape {x.shape} does not match y of shape {y.shape}")
    m = x.shape[d]
    return narrow(x, d, 1, m - 1) - narrow(x, d, 0, m - 1)


def _integrate(y: Tensor, x: Any, dx: Any, dim: int, op: str, cumulative: bool) -> Tensor:
    y = _tensor_input(y, op)
    if x is not None and dx is not None:
        raise RuntimeError(f"{op}: cannot pass both x and dx")
    if y.ndim == 0:
        raise IndexError(f"{op}: expected y to have at least one dimension")
    d = wrap_dim(dim, y.ndim, op)
    n = y.shape[d]
    if n == 0:  # torch: zeros without dim; cumulative: y itself (empty), in the graph
        return y * 1.0 if cumulative else y.new_zeros(tuple(s for i, s in enumerate(y.shape) if i != d))
    left, right = narrow(y, d, 0, n - 1), narrow(y, d, 1, n - 1)
    if x is not None:
        step = _spacing(y, x if isinstance(x, Tensor) else Tensor(x, device=y.device), d, op)
        if cumulative:
            return ((left + right) * step).cumsum(d) / 2.0
        return reduce_sum(step * (left + right), d) / 2.0
    dx = 1.0 if dx is None else float(dx)
    if cumulative:
        return (dx / 2.0 * (left + right)).cumsum(d)
    return (reduce_sum(y, d) - (squeeze(narrow(y, d, 0, 1), d) + squeeze(narrow(y, d, n - 1, 1), d)) * 0.5) * dx


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: sample points ``x`` (1-d or broadcasting with y) or a
    constant spacing ``dx`` (default 1)."""
    return _integrate(y, x, dx, dim, "trapezoid", cumulative=False)


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """An alias of :func:`trapezoid`."""
    return _integrate(y, x, dx, dim, "trapz", cumulative=False)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoidal rule along ``dim``: one value fewer than y along it."""
    return _integrate(y, x, dx, dim, "cumulative_trapezoid", cumulative=True)
