"""The torch-style method surface of :class:`~minicnn.autograd.Tensor`: ``x.sum()``,
``x.reshape(...)``, ``x.exp()``, ``x.gather(...)`` and the other methods that only forward
to an op of :mod:`minicnn.ops` or only read the array (tests such as ``isnan``, the ``new_*``
makers).

They live in this mixin so that :mod:`minicnn.autograd` holds just the engine: the tensor's
storage, operators, version counter and in-place writes, ``Function``, and the backward pass.
Nothing here records a graph node itself: every differentiable method is an op's call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import autograd as ag  # a cycle on purpose: autograd subclasses this mixin; ag.* is read when a method runs
from . import backend

if TYPE_CHECKING:
    from .autograd import Tensor

ops: Any = None  # minicnn.ops, bound by minicnn.autograd once the ops are loaded (they subclass its Function)


def _sizes(args: tuple[Any, ...], keyword: Any) -> tuple[Any, ...]:
    """The sizes of ``x.m(*sizes)``, or of torch's keyword form ``x.m(name=sizes)``."""
    if keyword is None:
        return args
    if args:
        raise TypeError("sizes given both positionally and by keyword")
    return tuple(keyword) if isinstance(keyword, (tuple, list)) else (keyword,)


def _spread_args(dim: Any, unbiased: bool, keepdim: bool, correction: Any, axis: Any, keepdims: Any) -> dict:
    """``var``/``std``'s arguments (torch's and NumPy's spellings) as the ops' keywords."""
    return {
        "axis": dim if axis is None else axis,
        "keepdims": keepdim if keepdims is None else keepdims,
        "correction": (1 if unbiased else 0) if correction is None else correction,
    }


class TensorMethods:
    """Methods of :class:`Tensor` that forward to :mod:`minicnn.ops` (torch's names and signatures)."""

    def sum(
        self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None, *, dtype: Any = None
    ) -> Tensor:
        """Sum over ``axis`` (``dim``); with ``dtype`` the tensor is cast first, as torch's."""
        x = self if dtype is None else self.to(dtype)
        return ops.sum(x, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)

    def mean(
        self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None, *, dtype: Any = None
    ) -> Tensor:
        """Mean over ``axis`` (``dim``); with ``dtype`` the tensor is cast first, as torch's."""
        x = self if dtype is None else self.to(dtype)
        return ops.mean(x, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)

    def max(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
        return ops.max(self, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)

    def min(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
        return ops.min(self, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)

    def var(
        self,
        dim: Any = None,
        unbiased: bool = True,
        keepdim: bool = False,
        *,
        correction: int | None = None,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Tensor:
        """Variance over ``dim``, with Bessel's correction unless ``unbiased=False``
        (``correction=``, torch's newer spelling, overrides it); positional order as torch's
        ``var(dim, unbiased, keepdim)``. ``axis``/``keepdims``: NumPy's names."""
        return ops.var(self, **_spread_args(dim, unbiased, keepdim, correction, axis, keepdims))

    def std(
        self,
        dim: Any = None,
        unbiased: bool = True,
        keepdim: bool = False,
        *,
        correction: int | None = None,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Tensor:
        """Standard deviation: the square root of :meth:`var` (same arguments); its gradient is 0
        where all values are equal, as torch's."""
        return ops.std(self, **_spread_args(dim, unbiased, keepdim, correction, axis, keepdims))

    def _arg_extreme(self, name: str, dim: Any, keepdim: bool) -> Tensor:
        xp, a = self.xp, self.array
        with backend.array_scope(a):
            index = getattr(xp, name)(a, axis=dim, keepdims=keepdim)
            if xp is not np and a.dtype.kind == "f":  # CuPy's reduction may pick any NaN: the first, as NumPy
                nan = xp.isnan(a)
                index = xp.where(nan.any(axis=dim, keepdims=keepdim), xp.argmax(nan, axis=dim, keepdims=keepdim), index)
            return ag.Tensor(index.astype(np.int64, copy=False))

    def argmax(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None) -> Tensor:
        """Index of the largest value along ``dim`` (of the flattened tensor if None), int64;
        the first one where several tie, and a NaN counts as the largest, as in torch."""
        return self._arg_extreme("argmax", dim if axis is None else axis, keepdim if keepdims is None else keepdims)

    def argmin(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None) -> Tensor:
        return self._arg_extreme("argmin", dim if axis is None else axis, keepdim if keepdims is None else keepdims)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Maximum over ``dim`` (all dims if None or ()); tied maxima share the gradient (torch's amax)."""
        return ops.amax(self, () if dim is None else dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.amin(self, () if dim is None else dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        with backend.array_scope(self.array):
            return ag.Tensor(self.xp.all(self.array, axis=dim, keepdims=keepdim))

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        with backend.array_scope(self.array):
            return ag.Tensor(self.xp.any(self.array, axis=dim, keepdims=keepdim))

    def pow(self, exponent: Any) -> Tensor:
        return ops.pow(self, exponent)

    def t(self) -> Tensor:
        """Transpose of a tensor of at most 2 dimensions (torch's ``t()``)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return ops.clip(self, min, max)

    clamp = clip

    def relu(self) -> Tensor:
        return ops.relu(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def softmax(self, dim: int, dtype: Any = None) -> Tensor:
        return ops.softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim: int, dtype: Any = None) -> Tensor:
        return ops.log_softmax(self, dim, dtype=dtype)

    def reshape(self, *args: Any, shape: Any = None) -> Tensor:
        return ops.reshape(self, *_sizes(args, shape))

    def view(self, *args: Any, size: Any = None) -> Tensor:
        """``reshape`` that never copies (torch's rule): a shape the strides cannot express raises."""
        out = ops.reshape(self, *_sizes(args, size))
        if out.array.size and out.array is not self.array and ag._base_id(out.array) != ag._base_id(self.array):
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (shape {self.shape} -> "
                f"{out.shape}); use .reshape(...) instead"
            )
        return out

    def view_as(self, other: Tensor) -> Tensor:
        return ops.reshape(self, other.shape)

    def expand(self, *args: Any, size: Any = None) -> Tensor:
        return ops.expand(self, *_sizes(args, size))

    def transpose(self, *axes: Any, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        """``transpose(d0, d1)`` swaps two dims (torch; also as ``dim0=, dim1=``); ``transpose()``
        reverses them and a full permutation permutes, as NumPy's (minicnn's API contract)."""
        if dim0 is not None or dim1 is not None:
            if dim0 is None or dim1 is None or axes:
                raise TypeError("transpose: give both dim0 and dim1, by position or by keyword")
            axes = (dim0, dim1)
        return ops.transpose(self, *axes)

    def permute(self, *args: Any, dims: Any = None) -> Tensor:
        return ops.permute(self, *_sizes(args, dims))

    @property
    def T(self) -> Tensor:  # noqa: N802
        return ops.permute(self, *reversed(range(self.ndim)))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim: Any = None) -> Tensor:
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.unsqueeze(self, dim)

    def contiguous(self) -> Tensor:
        return self

    # -- more elementwise math, reductions and products (ops/math.py, reduce.py, linalg.py) ----
    def sin(self) -> Tensor:
        return ops.sin(self)

    def cos(self) -> Tensor:
        return ops.cos(self)

    def tan(self) -> Tensor:
        return ops.tan(self)

    def asin(self) -> Tensor:
        return ops.asin(self)

    def acos(self) -> Tensor:
        return ops.acos(self)

    def atan(self) -> Tensor:
        return ops.atan(self)

    def arcsin(self) -> Tensor:
        return ops.arcsin(self)

    def arccos(self) -> Tensor:
        return ops.arccos(self)

    def arctan(self) -> Tensor:
        return ops.arctan(self)

    def sinh(self) -> Tensor:
        return ops.sinh(self)

    def cosh(self) -> Tensor:
        return ops.cosh(self)

    def reciprocal(self) -> Tensor:
        return ops.reciprocal(self)

    def rsqrt(self) -> Tensor:
        return ops.rsqrt(self)

    def square(self) -> Tensor:
        return ops.square(self)

    def log2(self) -> Tensor:
        return ops.log2(self)

    def log10(self) -> Tensor:
        return ops.log10(self)

    def log1p(self) -> Tensor:
        return ops.log1p(self)

    def expm1(self) -> Tensor:
        return ops.expm1(self)

    def exp2(self) -> Tensor:
        return ops.exp2(self)

    def floor(self) -> Tensor:
        return ops.floor(self)

    def ceil(self) -> Tensor:
        return ops.ceil(self)

    def trunc(self) -> Tensor:
        return ops.trunc(self)

    def fix(self) -> Tensor:
        return ops.fix(self)

    def frac(self) -> Tensor:
        return ops.frac(self)

    def sign(self) -> Tensor:
        return ops.sign(self)

    def trace(self) -> Tensor:
        return ops.trace(self)

    def round(self, *, decimals: int = 0) -> Tensor:
        return ops.round(self, decimals=decimals)

    def fmod(self, other: Any) -> Tensor:
        return ops.fmod(self, other)

    def hypot(self, other: Any) -> Tensor:
        return ops.hypot(self, other)

    def atan2(self, other: Any) -> Tensor:
        return ops.atan2(self, other)

    arctan2 = atan2

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return ops.lerp(self, end, weight)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return ops.prod(self, dim, keepdim, dtype=dtype)

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        return ops.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        return ops.cumprod(self, dim, dtype=dtype)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return ops.logsumexp(self, dim, keepdim)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        return ops.norm(self, p, dim, keepdim, dtype)

    def dist(self, other: Any, p: float = 2) -> Tensor:
        return ops.dist(self, other, p)

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return ops.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return ops.nanmean(self, dim, keepdim, dtype=dtype)

    def mm(self, mat2: Any) -> Tensor:
        return ops.mm(self, mat2)

    def bmm(self, mat2: Any) -> Tensor:
        return ops.bmm(self, mat2)

    def mv(self, vec: Any) -> Tensor:
        return ops.mv(self, vec)

    def dot(self, tensor: Any) -> Tensor:
        return ops.dot(self, tensor)

    def outer(self, vec2: Any) -> Tensor:
        return ops.outer(self, vec2)

    ger = outer

    def addmm(self, mat1: Any, mat2: Any, *, beta: float = 1, alpha: float = 1) -> Tensor:
        return ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    # -- indexing, sorting and rearranging (minicnn/ops/index.py, ops/shape.py) -------------
    def gather(self, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
        return ops.gather(self, dim, index, sparse_grad=sparse_grad)

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None) -> Tensor:
        return ops.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_reduce(self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> Tensor:
        return ops.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        return ops.scatter_add(self, dim, index, src)

    def index_select(self, dim: int, index: Any) -> Tensor:
        return ops.index_select(self, dim, index)

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Tensor:
        return ops.take_along_dim(self, indices, dim)

    def topk(self, k: int, dim: int | None = None, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        return ops.topk(self, k, dim, largest, sorted)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return ops.argsort(self, dim, descending, stable)

    def flip(self, *args: Any, dims: Any = None) -> Tensor:
        return ops.flip(self, *_sizes(args, dims))

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return ops.roll(self, shifts, dims)

    def repeat(self, *args: Any, repeats: Any = None) -> Tensor:
        return ops.repeat(self, *_sizes(args, repeats))

    def tile(self, *args: Any, dims: Any = None) -> Tensor:
        dims = _sizes(args, dims)
        return ops.tile(self, dims[0] if len(dims) == 1 else dims)

    def narrow(self, dim: int, start: Any, length: int) -> Tensor:
        return ops.narrow(self, dim, start, length)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.chunk(self, chunks, dim)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.split(self, split_size, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.unbind(self, dim)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        return ops.movedim(self, source, destination)

    moveaxis = movedim

    def diag(self, diagonal: int = 0) -> Tensor:
        return ops.diag(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return ops.diagonal(self, offset, dim1, dim2)

    def tril(self, diagonal: int = 0) -> Tensor:
        return ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return ops.triu(self, diagonal)

    # -- torch's other spellings, comparisons and factories as methods ---------------------
    def add(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """``self / other``; ``rounding_mode="floor"`` or ``"trunc"`` rounds the quotient, with a
        zero gradient, as torch's."""
        if rounding_mode is None:
            return self / other
        from .ops.math import div_rounded  # noqa: PLC0415

        return div_rounded(self, other, rounding_mode)

    def neg(self) -> Tensor:
        return -self

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def floor_divide(self, other: Any) -> Tensor:
        return self // other

    def remainder(self, other: Any) -> Tensor:
        return self % other

    subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg

    def clamp_min(self, min: Any) -> Tensor:  # noqa: A002
        return ops.clip(self, min, None)

    def clamp_max(self, max: Any) -> Tensor:  # noqa: A002
        return ops.clip(self, None, max)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """``value`` where ``mask`` (a bool tensor) is True, else self, broadcast together;
        differentiable in self and in a tensor ``value`` (0-d), as torch's."""
        mask = mask if isinstance(mask, ag.Tensor) else ag.Tensor(mask, device=self.device)
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {mask.dtype}")
        if isinstance(value, ag.Tensor) and value.ndim != 0:
            raise RuntimeError(
                f"masked_fill only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)"
            )
        if isinstance(value, ag.Tensor):
            value = value.to(self.dtype)
        else:  # cast to self's dtype, as torch (2.7 into an int tensor is 2)
            value = ag.Tensor(ag.scalar_like(value, self.dtype, self.array))
        return ops.where(mask, value, self)

    def eq(self, other: Any) -> Tensor:
        return self == other

    def ne(self, other: Any) -> Tensor:
        return self != other

    def lt(self, other: Any) -> Tensor:
        return self < other

    def le(self, other: Any) -> Tensor:
        return self <= other

    def gt(self, other: Any) -> Tensor:
        return self > other

    def ge(self, other: Any) -> Tensor:
        return self >= other

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def equal(self, other: Tensor) -> bool:
        """True if both have the same shape and the same values (torch.equal)."""
        return self.shape == other.shape and bool((self == other).all())

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        b = other.array if isinstance(other, ag.Tensor) else other
        if isinstance(b, (int, float)) and self.dtype.kind == "f":  # compared in self's precision, as torch
            b = ag.scalar_like(b, self.dtype, self.array)
        with backend.array_scope(self.array):
            return ag.Tensor(self.xp.isclose(self.array, b, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def _unary_test(self, name: str) -> Tensor:
        with backend.array_scope(self.array):
            return ag.Tensor(getattr(self.xp, name)(self.array))

    def isnan(self) -> Tensor:
        return self._unary_test("isnan")

    def isinf(self) -> Tensor:
        return self._unary_test("isinf")

    def isfinite(self) -> Tensor:
        return self._unary_test("isfinite")

    def logical_not(self) -> Tensor:
        return self._unary_test("logical_not")

    def _logical(self, other: Any, name: str) -> Tensor:
        b = other.array if isinstance(other, ag.Tensor) else other
        with backend.array_scope(self.array):
            return ag.Tensor(getattr(self.xp, name)(self.array, b))

    def logical_and(self, other: Any) -> Tensor:
        return self._logical(other, "logical_and")

    def logical_or(self, other: Any) -> Tensor:
        return self._logical(other, "logical_or")

    def logical_xor(self, other: Any) -> Tensor:
        return self._logical(other, "logical_xor")

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Indices of the non-zero elements: an (n, ndim) int64 tensor, or a tuple of ndim (n,)
        tensors with ``as_tuple``. Its size depends on the data, so on a GPU it waits for it."""
        with backend.array_scope(self.array):
            idx = self.xp.nonzero(self.array if self.ndim else self.array.reshape(1))
            if as_tuple:
                return tuple(ag.Tensor(i.astype(np.int64)) for i in idx)
            if self.ndim == 0:  # (1, 0) or (0, 0), as torch
                return ag.Tensor(self.xp.zeros((len(idx[0]), 0), np.int64))
            return ag.Tensor(self.xp.stack(idx, axis=1).astype(np.int64))

    def count_nonzero(self, dim: Any = None) -> Tensor:
        with backend.array_scope(self.array):
            return ag.Tensor(self.xp.asarray(self.xp.count_nonzero(self.array, axis=dim), dtype=np.int64))

    def _new(self, make: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
        out = make(self.dtype if dtype is None else dtype, self.device if device is None else device)
        return out.requires_grad_(requires_grad) if requires_grad else out

    def new_zeros(
        self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from .creation import zeros  # noqa: PLC0415

        shape = _sizes(sizes, size)
        return self._new(lambda dt, dev: zeros(*shape, dtype=dt, device=dev), dtype, device, requires_grad)

    def new_ones(
        self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from .creation import ones  # noqa: PLC0415

        shape = _sizes(sizes, size)
        return self._new(lambda dt, dev: ones(*shape, dtype=dt, device=dev), dtype, device, requires_grad)

    def new_empty(
        self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from .creation import empty  # noqa: PLC0415

        shape = _sizes(sizes, size)
        return self._new(lambda dt, dev: empty(*shape, dtype=dt, device=dev), dtype, device, requires_grad)

    def new_full(
        self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from .creation import full  # noqa: PLC0415

        return self._new(lambda dt, dev: full(size, fill_value, dtype=dt, device=dev), dtype, device, requires_grad)

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """A new leaf holding a copy of ``data``, with self's dtype and device unless given."""
        data = data.detach().array if isinstance(data, ag.Tensor) else data

        def make(dt: Any, dev: Any) -> Tensor:
            a = ag._as_array(data, dt, dev)
            with backend.array_scope(a):  # the copy stays on a's GPU
                return ag.Tensor(a.copy())

        return self._new(make, dtype, device, requires_grad)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(*other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(*other.shape)

    def maximum(self, other: Any) -> Tensor:
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.minimum(self, other)

    @property
    def mH(self) -> Tensor:  # noqa: N802
        """Conjugate transpose of the last two dims: for real tensors, :attr:`mT`."""
        return self.mT

    @property
    def H(self) -> Tensor:  # noqa: N802
        """Conjugate transpose of a matrix: for real tensors, ``t()`` (at most 2-d, as torch)."""
        if self.ndim > 2:
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
        return self.t()

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """The last two dimensions swapped (torch's ``mT``)."""
        if self.ndim < 2:
            raise RuntimeError(
                f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor."
            )
        return ops.transpose(self, -2, -1)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return ops.transpose(self, axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    # --- session 11: elementwise math (h11_math) ---

    # --- session 11: shape and indexing (h11_shape) ---

    # --- session 11: reductions, sorting, statistics (h11_stats) ---

    # --- session 11: linear algebra (h11_linalg) ---

    # --- session 11: random sampling and runtime (h11_random) ---
