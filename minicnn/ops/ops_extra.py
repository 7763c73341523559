"""torch's remaining top-level ops, each a composition of minicnn's differentiable ops (or a
non-differentiable array computation), so their gradients of any order are those ops':

* :func:`gradient` -- central differences of ``input`` along each dim (torch.gradient): for each
  dim a tensor of input's shape. Cost O(numel) per dim.
* :func:`index_reduce` -- ``input`` with rows ``source[..., i, ...]`` reduced into rows
  ``index[i]`` along ``dim`` ("prod", "mean", "amax", "amin"): torch's ``scatter_reduce`` with the
  1-d index spread along ``dim`` (same gradients: ties share, a lone zero of a product gets the
  product of the rest).
* :func:`frexp` -- ``input = mantissa * 2**exponent``, mantissa in [0.5, 1) (input's dtype),
  exponent int32; the mantissa is ``input * 2**-exponent`` so its gradient is ``2**-exponent``.
* :func:`histogramdd` -- counts of the rows of ``input`` (..., D) in a D-dimensional grid of bins.
  Not differentiable. Cost O(N D) plus one bincount over prod(bins).
* :func:`binomial` -- Binomial(count, prob) samples (float, count's dtype; broadcast), torch's rules for
  edge values and non-integer counts. No derivative (the result requires grad as torch's).
* :func:`feature_dropout` / :func:`feature_dropout_` -- channel dropout of (N, C, *).
* :func:`as_strided_scatter` -- ``input`` with the elements an ``as_strided`` view would show
  replaced by ``src``; :func:`as_strided_` -- the tensor's own metadata changed to that view.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import autograd, backend, random
from ..autograd import Function, Tensor
from ..kernels.scatter import reduce_at
from . import aliases_tensor
from .conv import conv2d
from .conv1d import conv1d, conv_transpose1d
from .conv3d import conv3d, conv_transpose3d
from .conv_transpose import conv_transpose2d
from .dims import wrap_dim
from .dropout import _dropout
from .embedding import _bags, normalize_padding_idx
from .embedding import _check_index as _check_rows
from .embedding import embedding_bag as _embedding_bag
from .embedding import embedding_renorm_ as _renorm
from .index import scatter_reduce
from .index_extra import _along, _check_index, _source, _spread
from .math import index_put
from .search import _count, _linear_bins, _linspace
from .shape import cat, narrow, reshape

# --- gradient ----------------------------------------------------------------------------------


def _dims(dim: Any, ndim: int) -> list[int]:
    if dim is None:
        return list(range(ndim))
    dims = [dim] if isinstance(dim, int) else list(dim)
    out = [wrap_dim(d, ndim, "torch.gradient") for d in dims]
    if len(set(out)) != len(out):
        raise RuntimeError(f"torch.gradient: dim {dims} appears multiple times in the list of dims")
    return out


def _spacings(spacing: Any, dims: list[int], ndim: int, given_dim: bool) -> list[Any]:
    """One entry per dim: a Python float (uniform spacing) or a 1-d coordinates Tensor."""
    if isinstance(spacing, Tensor):
        spacing = [spacing] if spacing.ndim == 1 else spacing.item()
    if not isinstance(spacing, (list, tuple)):
        return [float(spacing)] * len(dims)
    if len(spacing) != len(dims):
        if given_dim:
            raise RuntimeError(
                "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim arguments to "
                f"have the same length, but got a spacing argument of length {len(spacing)} and a dim argument of "
                f"length {len(dims)}."
            )
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar, or a list of length equal to "
            f"'self.dim() = {ndim}', since dim argument was not given, but got a list of length {len(spacing)}"
        )
    out = []
    for s in spacing:
        if isinstance(s, Tensor):
            if s.ndim == 0:
                out.append(float(s.item()))
            elif s.ndim != 1:
                raise RuntimeError(f"torch.gradient expected each tensor in spacing to be 1-d, got shape {s.shape}")
            else:
                out.append(s)
        else:
            out.append(float(s))
    return out


def _along_dim(values: Any, d: int, ndim: int, like: Tensor) -> Tensor:
    """A constant 1-d array shaped to broadcast along dim ``d``."""
    return Tensor(like.xp.asarray(values, dtype=like.dtype).reshape([-1 if k == d else 1 for k in range(ndim)]))


def _gradient_uniform(f: Tensor, d: int, h: float, edge_order: int) -> Tensor:
    n = f.shape[d]

    def s(start: int, length: int) -> Tensor:
        return narrow(f, d, start if start >= 0 else n + start, length)

    center = (s(2, n - 2) - s(0, n - 2)) / (2 * h)
    if edge_order == 1:
        first, last = (s(1, 1) - s(0, 1)) / h, (s(-1, 1) - s(-2, 1)) / h
    else:
        first = (-1.5 * s(0, 1) + 2 * s(1, 1) - 0.5 * s(2, 1)) / h
        last = (0.5 * s(-3, 1) - 2 * s(-2, 1) + 1.5 * s(-1, 1)) / h
    return cat([first, center, last], d)


def _gradient_coordinates(f: Tensor, d: int, x: Any, edge_order: int) -> Tensor:
    """NumPy's (and torch's) second-order formulas for coordinates ``x`` (1-d array, length n).
    As torch, the coefficients are computed in x's float dtype (the default one for integer
    coordinates) and the result has the promoted dtype of f and them."""
    xp = backend.get_array_module(x)
    x = x.astype(x.dtype if x.dtype.kind == "f" else autograd.default_dtype())
    f = f.to(np.result_type(f.dtype, x.dtype))
    n, ndim = f.shape[d], f.ndim
    dx = xp.diff(x)
    hd, hs = dx[:-1], dx[1:]  # the step before and after each interior point

    def s(start: int, length: int) -> Tensor:
        return narrow(f, d, start if start >= 0 else n + start, length)

    def c(v: Any) -> Tensor:
        return _along_dim(v, d, ndim, f)

    a, b, cc = -hs / (hd * (hd + hs)), (hs - hd) / (hd * hs), hd / (hs * (hd + hs))
    center = c(a) * s(0, n - 2) + c(b) * s(1, n - 2) + c(cc) * s(2, n - 2)
    if edge_order == 1:
        first = (s(1, 1) - s(0, 1)) / c(dx[:1])
        last = (s(-1, 1) - s(-2, 1)) / c(dx[-1:])
    else:
        d1, d2 = dx[0:1], dx[1:2]
        first = (
            c(-(2 * d1 + d2) / (d1 * (d1 + d2))) * s(0, 1)
            + c((d1 + d2) / (d1 * d2)) * s(1, 1)
            + c(-d1 / (d2 * (d1 + d2))) * s(2, 1)
        )
        d1, d2 = dx[-2:-1], dx[-1:]
        last = (
            c(d2 / (d1 * (d1 + d2))) * s(-3, 1)
            + c(-(d2 + d1) / (d1 * d2)) * s(-2, 1)
            + c((2 * d2 + d1) / (d2 * (d1 + d2))) * s(-1, 1)
        )
    return cat([first, center, last], d)


def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1) -> tuple[Tensor, ...]:  # noqa: A002
    """torch.gradient: the derivative estimate of ``input`` along each dim of ``dim`` (default:
    all), one tensor of input's shape per dim. Interior points: central differences (second
    order, also for non-uniform coordinates); the two edges: one-sided differences of order
    ``edge_order`` (1 or 2). ``spacing``: a number (the step of every dim), a list of numbers
    (one per dim) or a list of 1-d tensors (the coordinates along each dim). Integer inputs give
    the default float dtype. Differentiable."""
    if edge_order not in (1, 2):
        raise RuntimeError(f"torch.gradient only supports edge_order=1 and edge_order=2, got {edge_order}")
    if input.dtype.kind not in "f":
        input = input.to(autograd.default_dtype())
    dims = _dims(dim, input.ndim)
    spacings = _spacings(spacing, dims, input.ndim, dim is not None)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    out = []
    for d, h in zip(dims, spacings):
        if isinstance(h, Tensor):
            if h.shape[0] != input.shape[d]:
                raise RuntimeError(
                    f"torch.gradient expected each tensor to be on the same device and of length {input.shape[d]} "
                    f"along dim {d}, got a coordinates tensor of length {h.shape[0]}"
                )
            out.append(_gradient_coordinates(input, d, backend.to_device(h.array, input.device), edge_order))
        else:
            out.append(_gradient_uniform(input, d, h, edge_order))
    return tuple(out)


# --- index_reduce ------------------------------------------------------------------------------

INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def index_reduce(
    input: Tensor,  # noqa: A002
    dim: int,
    index: Tensor,
    source: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """A copy of ``input`` with ``source[..., i, ...]`` reduced into ``input[..., index[i], ...]``
    along ``dim`` with ``reduce`` ("prod", "mean", "amax", "amin"; ``include_self=False`` leaves
    input's values at the indexed places out). Differentiable in input and source (torch's
    scatter_reduce gradients: ties share evenly, a product's lone zero gets the rest's product)."""
    op = "index_reduce()"
    if reduce not in INDEX_REDUCTIONS:
        raise RuntimeError(f"{op}: Expected reduce argument to be one of prod, mean, amax or amin, got {reduce!r}")
    x, d, idx = _along(input, dim, index, op)
    src = _source(input, source, d, idx.shape[0], op)
    _check_index(idx.array, x.shape[d], d, op)
    out = scatter_reduce(x, d, _spread(idx, d, src.shape), src, reduce, include_self=include_self)
    return reshape(out, ()) if input.ndim == 0 else out


# --- frexp -------------------------------------------------------------------------------------


class FrexpResult(NamedTuple):
    """torch.return_types.frexp."""

    mantissa: Tensor
    exponent: Tensor


def frexp(input: Tensor) -> FrexpResult:  # noqa: A002
    """``(mantissa, exponent)`` with ``input = mantissa * 2**exponent``, |mantissa| in [0.5, 1)
    (0, inf and NaN: themselves with exponent 0). The mantissa is ``input * 2**-exponent``
    (exact), so it is differentiable with gradient ``2**-exponent``, as torch's. (torch forms
    that factor in float32, so for float64 inputs outside float32's normal range its gradient
    is inf or 0; minicnn's is the exact power of two, inf only past float64's range.)"""
    if input.dtype.kind != "f":
        raise RuntimeError(
            f"torch.frexp() only supports floating-point dtypes, got {input.dtype} (cast the input first)"
        )
    xp = input.xp
    with backend.array_scope(input.array):
        _, e = xp.frexp(input.array)
        exponent = e.astype(np.int32)
        half = -exponent // 2  # 2**-exponent in two factors: one overflows for subnormal inputs
        one = xp.ones((), dtype=input.dtype)
        first, second = xp.ldexp(one, half).astype(input.dtype), xp.ldexp(one, -exponent - half).astype(input.dtype)
    return FrexpResult(input * Tensor(first) * Tensor(second), Tensor(exponent))


# --- histogramdd -------------------------------------------------------------------------------


class HistogramddResult(NamedTuple):
    """torch.return_types.histogramdd."""

    hist: Tensor
    bin_edges: tuple[Tensor, ...]


def _bins_per_dim(bins: Any, D: int) -> list[Any]:
    if isinstance(bins, int):
        return [bins] * D
    bins = list(bins)
    if len(bins) != D:
        raise RuntimeError(
            f"torch.histogramdd: expected {D} sequences of bin edges (or bin counts) for the {D} dimensions of the "
            f"input's rows, got {len(bins)}"
        )
    return bins


def histogramdd(
    input: Tensor,  # noqa: A002
    bins: Any,
    *,
    range: Sequence[float] | None = None,  # noqa: A002
    weight: Tensor | None = None,
    density: bool = False,
) -> HistogramddResult:
    """The rows of ``input`` (..., D) (points in D dimensions) counted in a grid of bins:
    ``bins`` an int (that many equal bins per dim), D ints, or D increasing 1-d edge tensors;
    ``range`` (2 D numbers: min0, max0, min1, ...) the outer edges of equal bins (default: the
    data's range per dim, widened by 0.5 each way when empty); ``weight`` (input.shape[:-1])
    adds up weights instead of counts; ``density`` divides by the total and the bins' volumes.
    Returns ``(hist, bin_edges)``: hist of shape (bins0, ..., binsD-1), input's dtype. Points
    outside the edges are left out; each last bin includes its right edge."""
    op = "torch.histogramdd"
    if input.dtype.kind != "f":
        raise RuntimeError(f"{op}: input tensor should have a floating dtype, got {input.dtype}")
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor should have at least 2 dimensions (rows of points), got shape "
                           f"{list(input.shape)}")  # fmt: skip
    D = input.shape[-1]
    a = input.array.reshape(-1, D)
    per_dim = _bins_per_dim(bins, D)
    if range is not None and len(range) != 2 * D:
        raise RuntimeError(f"{op}: expected {2 * D} values for range (min and max of each dim), got {len(range)}")
    xp = input.xp
    with backend.array_scope(a):
        w = None
        if weight is not None:
            if tuple(weight.shape) != tuple(input.shape[:-1]):
                raise RuntimeError(
                    f"{op}: expected weight to have the shape of input without its last dim, {list(input.shape[:-1])}, "
                    f"got {list(weight.shape)}"
                )
            if weight.dtype != input.dtype:
                raise RuntimeError(
                    f"{op}: if weight tensor is provided, input tensor and weight tensor should have the same dtype, "
                    f"but got input({input.dtype}), and weight({weight.dtype})"
                )
            w = weight.array.reshape(-1)
        flat = xp.zeros(a.shape[0], dtype=np.int64)
        inside = xp.ones(a.shape[0], dtype=bool)
        counts, all_edges = [], []
        for k, b in enumerate(per_dim):
            col = xp.ascontiguousarray(a[:, k])
            if isinstance(b, Tensor):
                if b.dtype != input.dtype:
                    raise RuntimeError(
                        f"{op}: input tensor and bins tensors should have the same dtype, but got input with dtype "
                        f"{input.dtype} and bins for dimension {k} with dtype {b.dtype}"
                    )
                edges = b.array
                if b.ndim != 1 or edges.shape[0] < 2:
                    raise RuntimeError(f"{op}: bins tensor of dim {k} should be 1-d with at least 2 edges")
                n = edges.shape[0] - 1
                pos = xp.minimum(xp.searchsorted(edges, col, side="right") - 1, n - 1)
                pos = xp.where((col >= edges[0]) & (col <= edges[-1]), pos, -1)
            else:
                n = int(b)
                if n <= 0:
                    raise RuntimeError(f"{op}: bins must be > 0, but got {n} for dimension {k}")
                if range is not None:
                    left, right = float(range[2 * k]), float(range[2 * k + 1])
                elif col.size:
                    left, right = float(col.min()), float(col.max())
                else:
                    left, right = 0.0, 1.0
                if not (np.isfinite(left) and np.isfinite(right)):
                    raise RuntimeError(f"{op}: range of [{left}, {right}] is not finite")
                if left > right:
                    raise RuntimeError(f"{op}: min should not exceed max, but got min {left} max {right}")
                if left == right:
                    left, right = left - 0.5, right + 0.5
                edges = _linspace(left, right, n + 1, a.dtype, xp)
                pos = _linear_bins(col, edges[0], edges[-1], n, edges, local_search=True)
            inside &= pos >= 0
            flat = flat * n + xp.maximum(pos, 0)
            counts.append(n)
            all_edges.append(edges)
        total = math.prod(counts)
        hist = _count(xp.where(inside, flat, -1), w, total, a.dtype).reshape(counts)
        if density:
            with np.errstate(invalid="ignore", divide="ignore"):
                volume = xp.ones((), dtype=a.dtype)
                for k, edges in enumerate(all_edges):
                    volume = volume * xp.diff(edges).reshape([-1 if j == k else 1 for j in builtins.range(D)])
                hist = hist / hist.sum() / volume
        return HistogramddResult(Tensor(hist.astype(a.dtype)), tuple(Tensor(e.astype(a.dtype)) for e in all_edges))


# --- binomial ----------------------------------------------------------------------------------


class Binomial(Function):
    """Binomial(count, prob) samples of the broadcast (count, prob) (the ``generator`` setting:
    a minicnn Generator or None). Torch's sampler, elementwise: 0 where count <= 0 or
    prob <= 0, count where prob >= 1, NaN where prob is NaN; otherwise, with q = min(prob,
    1 - prob), k ~ Binomial(floor(count), q) and the sample is k (prob <= 0.5) or count - k
    (so a non-integer count keeps its fraction: 2.7 at prob 0.9 gives 0.7, 1.7 or 2.7).
    No derivative, but the result requires grad when an input does, as torch's (whose
    backward raises the same error)."""

    def forward(self, n, p):
        xp = backend.get_array_module(n)
        n, p = xp.broadcast_arrays(n, p)
        valid = (n > 0) & (p > 0) & (p < 1)
        q = xp.where(p > 0.5, 1 - p, p)
        trials = xp.where(valid, xp.floor(n), 0).astype(np.int64)
        q = xp.where(valid, q, 0).astype(np.float64)
        rng, rxp = random.host_rng(self.generator, xp, "binomial")
        if rxp is np:
            trials, q = backend.to_numpy(trials), backend.to_numpy(q)
        k = xp.asarray(rng.binomial(trials, q)).astype(n.dtype)
        k = xp.where(p > 0.5, n - k, k)
        nan = xp.asarray(np.nan, dtype=n.dtype)
        edge = xp.where((n > 0) & (p >= 1), n, xp.where((n > 0) & xp.isnan(p), nan, xp.zeros_like(n)))
        return xp.where(valid, k, edge)

    def backward(self, gy):
        raise RuntimeError("the derivative for 'binomial' is not implemented")

    def backward_graph(self, gy, n, p):
        raise RuntimeError("the derivative for 'binomial' is not implemented")


def binomial(count: Tensor, prob: Tensor, generator: Any = None) -> Tensor:
    """Samples of Binomial(count, prob), elementwise on the broadcast shape, floats of count's
    dtype (count and prob of one float dtype), as torch (see :class:`Binomial`; torch also
    warns when count's shape is not the result's). Draws from ``generator`` or the library
    generator (``mc.manual_seed``). A NaN, infinite or >= 2**63 count is refused (torch's
    sampler never returns there). Where count * q >= 10 torch samples by BTRS rejection, exact
    for integer counts; for a non-integer count there its law is a continuous extension, here
    Binomial(floor(count), q) (means differ by at most q * frac(count))."""
    for name, t in (("count", count), ("prob", prob)):
        if not isinstance(t, Tensor):
            raise TypeError(f"binomial(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t.dtype.kind != "f":
            raise TypeError(f"binomial(): expected a floating point {name} tensor, got dtype {t.dtype}")
    if count.dtype != prob.dtype:
        raise RuntimeError(f"binomial(): count ({count.dtype}) and prob ({prob.dtype}) must have the same dtype")
    try:
        shape = tuple(np.broadcast_shapes(count.shape, prob.shape))
    except ValueError:
        raise RuntimeError(
            f"binomial(): count of shape {list(count.shape)} and prob of {list(prob.shape)} do not broadcast"
        ) from None
    if tuple(count.shape) != shape and count.numel() > 0:
        warnings.warn(
            f"binomial(): an output with one or more elements was resized since it had shape {list(count.shape)}, "
            f"which does not match the required output shape {list(shape)} (torch's deprecation warning: it "
            f"allocates the result in count's shape)",
            UserWarning,
            stacklevel=2,
        )
    n = count.array
    with backend.array_scope(n):
        backend.raise_if(
            count.xp.any(~(n < 2.0**63)),  # NaN, inf, too large (-inf: 0, as torch)
            RuntimeError,
            "binomial(): expected a finite count below 2**63 (torch's sampler does not return for NaN or inf)",
        )
    return Binomial.apply(count, prob, generator=generator)


# --- feature_dropout ---------------------------------------------------------------------------


def _feature_dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:  # noqa: A002
    op = "feature_dropout"
    if input.ndim < 2 and train and 0.0 < p < 1.0:
        raise RuntimeError(f"{op}: Feature dropout requires at least 2 dimensions in the input")
    return _dropout(input, p, bool(train), inplace, input.ndim >= 2, op)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """torch.feature_dropout: zero whole (n, c) slices of (N, C, *) with probability p, scale the
    rest by 1 / (1 - p) when ``train``; the identity otherwise (F.dropout2d's kernel)."""
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """:func:`feature_dropout` written into ``input``."""
    return _feature_dropout(input, p, train, True)


# --- as_strided_scatter, as_strided_ -----------------------------------------------------------


def _positions(xp: Any, size: tuple[int, ...], stride: tuple[int, ...], offset: int) -> Any:
    """The memory positions (relative to the tensor's first element) an as_strided view reads."""
    positions = xp.full(size, offset, dtype=np.int64)
    for k, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[k] = n
        positions = positions + xp.arange(n, dtype=np.int64).reshape(shape) * s
    return positions


def as_strided_scatter(
    input: Tensor,  # noqa: A002
    src: Tensor,
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """torch.as_strided_scatter: a copy of ``input`` whose elements seen by
    ``input.as_strided(size, stride, storage_offset)`` are replaced by ``src`` (of shape
    ``size``). Differentiable in input (zero at the replaced places) and src. The same limits as
    :func:`~minicnn.ops.aliases_tensor.as_strided` (input's elements must fill one block)."""
    view = aliases_tensor.as_strided(input.detach(), size, stride, storage_offset)  # checks as torch's
    if not isinstance(src, Tensor):
        raise TypeError(f"as_strided_scatter(): argument 'src' must be Tensor, not {type(src).__name__}")
    if tuple(src.shape) != tuple(view.shape):
        raise RuntimeError(
            f"as_strided_scatter(): expected src to have a size equal to the slice of self. src size = "
            f"{list(src.shape)}, slice size = "
            f"{list(view.shape)}"
        )
    if src.dtype != input.dtype:
        raise RuntimeError(f"as_strided_scatter(): src ({src.dtype}) and input ({input.dtype}) dtypes differ")
    perm = aliases_tensor._memory_order(autograd._latest(input).array)
    own = input.storage_offset()
    offset = own if storage_offset is None else int(storage_offset)
    with backend.array_scope(input.array):
        positions = _positions(input.xp, view.shape, tuple(int(k) for k in stride), offset - own)
    memory = input.permute(tuple(perm)).reshape(-1)
    written = index_put(memory, (positions,), src)
    inverse = [0] * len(perm)
    for i, k in enumerate(perm):
        inverse[k] = i
    return written.reshape(tuple(input.shape[k] for k in perm)).permute(tuple(inverse))


def as_strided_(input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:  # noqa: A002
    """torch.as_strided_: ``input`` itself becomes the view ``input.as_strided(size, stride,
    storage_offset)`` of its memory (a metadata change, version bumped; refused for a tensor
    that requires grad, as minicnn's other in-place view ops)."""
    view = aliases_tensor.as_strided(input.detach(), size, stride, storage_offset)  # checks as torch's
    return input._metadata_("as_strided_", lambda a: view.array)


# --- torch's top-level forms of nn.functional ops (ATen's argument order and int modes) ----------

_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(
    weight: Tensor,
    indices: Tensor,
    offsets: Tensor,
    scale_grad_by_freq: bool = False,
    mode: int = 0,
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """torch.embedding_bag: ``(output, offset2bag, bag_size, max_indices)``; ``output`` is
    F.embedding_bag's (``mode`` 0 sum, 1 mean, 2 max; differentiable), the other three int64
    constants as torch's CPU kernel gives them: offset2bag the bag of each index (empty for sum
    of a float32/float16 weight without padding_idx: torch's fast path); bag_size the number of
    non-padding indices per bag (sum: zeros, one per offset, or one per bag when weight requires
    grad: torch's two paths); max_indices the index (weight row) each max came from (B, D)
    for max, bag_size for mean, zeros for sum (as bag_size). A 2-d
    ``indices`` (B, N) is taken as B bags of N."""
    if mode not in (0, 1, 2):
        raise ValueError(f"embedding_bag: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode!r}")
    if indices.ndim == 2:
        B, N = indices.shape
        with backend.array_scope(indices.array):
            offsets = Tensor(indices.xp.arange(0, B * N, max(N, 1), dtype=np.int64)[:B])
        indices, include_last_offset = reshape(indices, (-1,)), False
    name = _BAG_MODES[mode]
    out = _embedding_bag(
        indices, weight, offsets, None, 2, scale_grad_by_freq, name, sparse, per_sample_weights,
        include_last_offset, padding_idx,
    )  # fmt: skip
    pad = normalize_padding_idx(padding_idx, weight.shape[0], "embedding_bag")
    xp, n_bags, length = weight.xp, out.shape[0], indices.shape[0]
    with backend.array_scope(weight.array):
        idx = indices.array.astype(np.int64)
        keep = xp.ones(length, dtype=bool) if pad is None else idx != pad
        bag = _bags(offsets.array, n_bags, length, "embedding_bag")
        if name == "sum":
            # torch's two CPU paths differ with include_last_offset: one per bag when weight requires grad
            zeros = xp.zeros(n_bags if weight.requires_grad else offsets.shape[0], dtype=np.int64)
            fast = pad is None and weight.dtype in (np.float32, np.float16)  # torch's fast path skips it
            offset2bag = xp.zeros(0, dtype=np.int64) if fast else bag
            return out, Tensor(offset2bag), Tensor(zeros), Tensor(zeros.copy())
        bag_size = xp.bincount(bag[keep], minlength=n_bags).astype(np.int64)[:n_bags]
        if name == "mean":
            return out, Tensor(bag), Tensor(bag_size), Tensor(bag_size.copy())
        rows = xp.where(keep[:, None], weight.array[idx], -xp.inf)
        best = xp.full((n_bags, weight.shape[1]), -xp.inf, dtype=rows.dtype)
        cols = xp.broadcast_to(xp.arange(weight.shape[1])[None, :], rows.shape)
        reduce_at(best, (xp.broadcast_to(bag[:, None], rows.shape), cols), rows, "amax")
        first = xp.full(best.shape, length, dtype=np.int64)
        hit = keep[:, None] & (rows == best[bag])
        positions = xp.where(hit, xp.arange(length)[:, None], length)
        reduce_at(first, (xp.broadcast_to(bag[:, None], rows.shape), cols), positions, "amin")
        max_indices = xp.where(first < length, xp.concatenate([idx, xp.zeros(1, dtype=np.int64)])[first], 0)
        return out, Tensor(bag), Tensor(bag_size), Tensor(max_indices.astype(np.int64))


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:  # noqa: A002
    """torch.embedding_renorm_: the rows of the table ``input`` (V, D) that ``indices`` picks and
    whose ``norm_type``-norm exceeds ``max_norm`` scaled in place (outside autograd) to norm
    ``max_norm`` (by max_norm / (norm + 1e-7)); returns ``input``."""
    if input.ndim != 2:
        raise RuntimeError(f"embedding_renorm_: expected a 2-d table (num_embeddings, dim), got shape {input.shape}")
    return _renorm(input, _check_rows(indices, input, "embedding_renorm_"), float(max_norm), norm_type)


def convolution(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    transposed: bool,
    output_padding: Sequence[int],
    groups: int,
) -> Tensor:
    """torch.convolution: conv1d/2d/3d (or conv_transpose1d/2d/3d when ``transposed``), chosen by
    weight's rank (3, 4 or 5), with ATen's argument order. Differentiable as those ops."""
    k = weight.ndim - 2
    if k not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-d, 4-d or 5-d weight, got shape {list(weight.shape)}")
    if input.ndim != weight.ndim:
        raise RuntimeError(
            f"convolution: expected a {weight.ndim}-d input (batched, for a {weight.ndim}-d weight), got shape "
            f"{list(input.shape)}"
        )

    def fit(v: Any) -> Any:  # a one-entry list stands for every dim, as ATen's expand_param_if_needed
        v = tuple(v) if isinstance(v, (list, tuple)) else v
        return v[0] if isinstance(v, tuple) and len(v) == 1 else v

    s, p, d, op = fit(stride), fit(padding), fit(dilation), fit(output_padding)
    if transposed:
        f = (conv_transpose1d, conv_transpose2d, conv_transpose3d)[k - 1]
        return f(input, weight, bias, s, p, op, groups, d)
    if any(int(v) != 0 for v in (output_padding if isinstance(output_padding, (list, tuple)) else [output_padding])):
        # (torch's forward ignores it, its backward refuses it)
        raise RuntimeError("convolution: output_padding is only supported for transposed convolutions")
    return (conv1d, conv2d, conv3d)[k - 1](input, weight, bias, s, p, d, groups)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:  # noqa: A002
    """torch.conv_tbc (also F.conv_tbc): a 1-d convolution of a (time, batch, channels) sequence:
    input (T, B, C_in), weight (K, C_in, C_out), bias (C_out,) -> (T + 2 pad - K + 1, B, C_out);
    conv1d on the permuted tensors. Differentiable."""
    if input.ndim != 3 or weight.ndim != 3 or bias.ndim != 1:
        raise RuntimeError(
            f"conv_tbc: expected input (T, B, C_in), weight (K, C_in, C_out) and bias (C_out,), got shapes "
            f"{list(input.shape)}, {list(weight.shape)}, {list(bias.shape)}"
        )
    if input.shape[2] != weight.shape[1] or bias.shape[0] != weight.shape[2]:
        raise RuntimeError(
            f"conv_tbc: input channels ({input.shape[2]}) must equal weight.shape[1] ({weight.shape[1]}) and bias "
            f"channels ({bias.shape[0]}) weight.shape[2] ({weight.shape[2]})"
        )
    y = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, 1, int(pad), 1, 1, "conv_tbc")
    return y.permute(2, 0, 1)


def _grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,  # noqa: A002
                  align_corners: bool, dims: int) -> Tensor:  # fmt: skip
    from .aliases import grid_sampler  # noqa: PLC0415

    name = f"grid_sampler_{dims}d"
    if input.ndim != dims + 2 or grid.ndim != dims + 2:
        raise RuntimeError(
            f"{name}: expected {dims + 2}-d input and grid, got shapes {list(input.shape)} and {list(grid.shape)}"
        )
    if dims == 3 and interpolation_mode == 2:
        raise RuntimeError(f"{name}: bicubic interpolation only supports 4D input")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_2d(
    input: Tensor,  # noqa: A002
    grid: Tensor,
    interpolation_mode: int,
    padding_mode: int,
    align_corners: bool,
) -> Tensor:
    """torch.grid_sampler_2d: F.grid_sample of (N, C, H, W) at grid (N, Ho, Wo, 2) with ATen's int
    modes (interpolation 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border, 2 reflection)."""
    return _grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners, 2)


def grid_sampler_3d(
    input: Tensor,  # noqa: A002
    grid: Tensor,
    interpolation_mode: int,
    padding_mode: int,
    align_corners: bool,
) -> Tensor:
    """torch.grid_sampler_3d: as :func:`grid_sampler_2d` for (N, C, D, H, W) and grid
    (N, Do, Ho, Wo, 3) (interpolation 0 trilinear or 1 nearest)."""
    return _grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners, 3)
