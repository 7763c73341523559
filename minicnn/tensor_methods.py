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


def _sizes(args: tuple[Any, ...], keyword: Any, method: str, name: str) -> tuple[Any, ...]:
    """The sizes of ``x.method(*sizes)``, or of torch's keyword form ``x.method(name=sizes)``. No
    sizes at all is torch's TypeError of a missing argument (``x.reshape(())`` is a 0-d shape)."""
    if keyword is None:
        if not args:
            raise _missing(method, name)
        return args
    if args:
        raise TypeError("sizes given both positionally and by keyword")
    return tuple(keyword) if isinstance(keyword, (tuple, list)) else (keyword,)


def _missing(method: str, name: str) -> TypeError:
    return TypeError(f'{method}() missing 1 required positional arguments: "{name}"')  # torch's words


def _spread_args(dim: Any, unbiased: bool, keepdim: bool, correction: Any, axis: Any, keepdims: Any) -> dict:
    """``var``/``std``'s arguments (torch's and NumPy's spellings) as the ops' keywords."""
    return {
        "axis": dim if axis is None else axis,
        "keepdims": keepdim if keepdims is None else keepdims,
        "correction": (1 if unbiased else 0) if correction is None else correction,
    }


def number_outputs(outs: Any, first: int = 0) -> Any:
    """Record ``outs[i]``'s place ``first + i`` among the outputs of the torch op that made them,
    for :attr:`Tensor.output_nr` (minicnn gives each output a node of its own: split's pieces,
    eigh's packed parts). The record names the node by its ``seq``, so an in-place write, which
    gives the tensor another node, turns it back to 0. Returns ``outs``."""
    for i, t in enumerate(outs):
        fn = t._grad_fn
        if fn is not None:
            t._output_of = (fn.seq, first + i)
    return outs


class TensorMethods:
    """Methods of :class:`Tensor` that forward to :mod:`minicnn.ops` (torch's names and signatures)."""

    def sum(
        self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None, *, dtype: Any = None
    ) -> Tensor:
        """Sum over ``axis`` (``dim``); with ``dtype`` the tensor is cast first, as torch's, and an
        integer ``dtype`` is the result's too."""
        x = self if dtype is None else self.to(dtype)
        y = ops.sum(x, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)
        return ops.reduce._to_int_dtype(y, dtype)

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
        if a.ndim:
            ops.reduce._check_nonempty(name, a.shape, None if dim is None else (dim % a.ndim,), IndexError)
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

    def _checked_dims(self, dim: Any, op: str) -> tuple[int, ...]:
        """``dim`` (an int or a sequence) as a tuple of axes by torch's rules (its IndexError for
        a dim out of range, RuntimeError for one named twice); () for a 0-d tensor."""
        dims = ops.dims.wrap_dims(tuple(dim) if isinstance(dim, (tuple, list)) else (dim,), self.ndim, op)
        return () if self.ndim == 0 else dims

    def _logical_reduce(self, op: str, dim: Any, keepdim: bool) -> Tensor:
        """all/any over ``dim`` (None: every dim; a tuple, () reducing none, as torch's): bool,
        or uint8 for a uint8 input (torch's rule); dims checked by torch's rules."""
        axis = None if dim is None else self._checked_dims(dim, op)
        with backend.array_scope(self.array):
            out = getattr(self.xp, op)(self.array, axis=axis, keepdims=keepdim)
            return ag.Tensor(out.astype(np.uint8) if self.dtype == np.uint8 else out)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """True where every element along ``dim`` is nonzero (see :meth:`_logical_reduce`)."""
        return self._logical_reduce("all", dim, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """True where some element along ``dim`` is nonzero (see :meth:`_logical_reduce`)."""
        return self._logical_reduce("any", dim, keepdim)

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
        return ops.reshape(self, *_sizes(args, shape, "reshape", "shape"))

    def view(self, *args: Any, size: Any = None, dtype: Any = None) -> Tensor:
        """``reshape`` that never copies (torch's rule): a shape the strides cannot express raises.
        ``view(dtype)``: the same memory read as ``dtype`` (:func:`minicnn.ops.copies.view_dtype`)."""
        if dtype is not None or (len(args) == 1 and isinstance(args[0], (np.dtype, type))):  # (a cheap first test)
            from .ops.copies import is_dtype, view_dtype  # noqa: PLC0415

            if dtype is not None or is_dtype(args[0]):
                if size is not None or (dtype is not None and args):
                    raise TypeError("view() takes either a size or a dtype, not both")
                return view_dtype(self, args[0] if dtype is None else dtype)
        out = ops.reshape(self, *_sizes(args, size, "view", "size"))
        if out.array.size and out.array is not self.array and ag._base_id(out.array) != ag._base_id(self.array):
            raise RuntimeError(
                f"view size is not compatible with input tensor's size and stride (shape {self.shape} -> "
                f"{out.shape}); use .reshape(...) instead"
            )
        return out

    def view_as(self, other: Tensor) -> Tensor:
        return ops.reshape(self, other.shape)

    def expand(self, *args: Any, size: Any = None) -> Tensor:
        return ops.expand(self, *_sizes(args, size, "expand", "size"))

    def transpose(self, *axes: Any, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        """``transpose(d0, d1)`` swaps two dims (torch; also as ``dim0=, dim1=``); ``transpose()``
        reverses them and a full permutation permutes, as NumPy's (minicnn's API contract)."""
        if dim0 is not None or dim1 is not None:
            if dim0 is None or dim1 is None or axes:
                raise TypeError("transpose: give both dim0 and dim1, by position or by keyword")
            axes = (dim0, dim1)
        return ops.transpose(self, *axes)

    def permute(self, *args: Any, dims: Any = None) -> Tensor:
        return ops.permute(self, *_sizes(args, dims, "permute", "dims"))

    @property
    def T(self) -> Tensor:  # noqa: N802
        return ops.permute(self, *reversed(range(self.ndim)))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim: Any = None) -> Tensor:
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.unsqueeze(self, dim)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """This tensor if its memory is in row-major order already (:meth:`is_contiguous`), else a
        row-major copy (differentiable), as torch's."""
        return self if self.is_contiguous() else ops.clone(self)

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
        return ops.flip(self, *(_sizes(args, dims, "flip", "dims") or ((),)))  # (dims=(): no dim, as torch)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return ops.roll(self, shifts, dims)

    def repeat(self, *args: Any, repeats: Any = None) -> Tensor:
        return ops.repeat(self, *_sizes(args, repeats, "repeat", "repeats"))

    def tile(self, *args: Any, dims: Any = None) -> Tensor:
        dims = _sizes(args, dims, "tile", "dims")
        return ops.tile(self, dims[0] if len(dims) == 1 else dims)

    def narrow(self, dim: int, start: Any, length: int) -> Tensor:
        return ops.narrow(self, dim, start, length)

    def narrow_copy(self, dim: int, start: Any, length: int) -> Tensor:
        return ops.narrow_copy(self, dim, start, length)

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """:meth:`chunk` as new tensors (torch's ``unsafe_chunk``; :func:`minicnn.ops.unsafe_chunk`)."""
        return ops.unsafe_chunk(self, chunks, dim)

    def unsafe_split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """:meth:`split` as new tensors (torch's ``unsafe_split``)."""
        return ops.unsafe_split(self, split_size, dim)

    def unsafe_split_with_sizes(self, split_sizes: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """:meth:`split_with_sizes` as new tensors (torch's ``unsafe_split_with_sizes``)."""
        return ops.unsafe_split_with_sizes(self, split_sizes, dim)

    def nonzero_static(self, *, size: int, fill_value: int = -1) -> Tensor:
        """:meth:`nonzero` cut or padded with ``fill_value`` to ``size`` rows (:func:`minicnn.ops.nonzero_static`)."""
        return ops.nonzero_static(self, size=size, fill_value=fill_value)

    def slice_inverse(self, src: Tensor, dim: int = 0, start: Any = None, end: Any = None, step: int = 1) -> Tensor:
        """``src`` with its slice along ``dim`` replaced by this tensor (:func:`minicnn.ops.slice_inverse`)."""
        return ops.slice_inverse(self, src, dim, start, end, step)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.chunk(self, chunks, dim)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.split(self, split_size, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.unbind(self, dim)

    @property
    def output_nr(self) -> int:
        """torch's ``Tensor.output_nr``: which output of its ``grad_fn`` this tensor is (piece i of
        ``split``/``chunk``/``unbind``, eigenvectors 1 of ``linalg.eigh``, ...); 0 for a leaf, a
        tensor outside the graph, and every single-output op."""
        t = ag._latest(self)  # (a tensor a recorded in-place op rewrote: the result's node)
        fn = t._grad_fn
        if fn is None:
            return 0
        shown_as = getattr(fn, "shown_as", None)  # (an output of a custom Function: (node, k))
        if shown_as is not None:
            return shown_as[1]
        record = getattr(t, "_output_of", None)
        return record[1] if record is not None and fn.seq == record[0] else 0

    def as_subclass(self, cls: type) -> Any:
        """torch's ``Tensor.as_subclass(cls)``: this tensor as an instance of ``cls`` (a subclass of
        Tensor), sharing its memory and version counter; it stays in the graph, through an alias
        node (``AliasBackward0``) when this tensor requires grad, as torch's does."""
        if not (isinstance(cls, type) and issubclass(cls, ag.Tensor)):
            raise TypeError(
                "Creating a Tensor subclass from a class that does not inherit from Tensor is not possible. "
                "Make sure your class inherits from Tensor."
            )
        out = ag.Alias.apply(self)
        out.__class__ = cls
        return out

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
        return self - (other if alpha == 1 or ag._is_bool(other) else other * alpha)  # (a bool: refused unscaled)

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
        """The number of nonzero elements over ``dim`` (None or (): all), int64."""
        every = dim is None or (isinstance(dim, (tuple, list)) and not dim)
        axis = None if every else self._checked_dims(dim, "count_nonzero")
        with backend.array_scope(self.array):
            return ag.Tensor(self.xp.asarray(self.xp.count_nonzero(self.array, axis=axis), dtype=np.int64))

    def _new(self, make: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
        out = make(self.dtype if dtype is None else dtype, self.device if device is None else device)
        return out.requires_grad_(requires_grad) if requires_grad else out

    def new_zeros(
        self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from .creation import _shape, zeros  # noqa: PLC0415

        shape = _shape(_sizes(sizes, size, "new_zeros", "size"))  # () is 0-d: passed whole, not unpacked
        return self._new(lambda dt, dev: zeros(shape, dtype=dt, device=dev), dtype, device, requires_grad)

    def new_ones(
        self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from .creation import _shape, ones  # noqa: PLC0415

        shape = _shape(_sizes(sizes, size, "new_ones", "size"))  # () is 0-d: passed whole, not unpacked
        return self._new(lambda dt, dev: ones(shape, dtype=dt, device=dev), dtype, device, requires_grad)

    def new_empty(
        self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        from .creation import _shape, empty  # noqa: PLC0415

        shape = _shape(_sizes(sizes, size, "new_empty", "size"))  # () is 0-d: passed whole, not unpacked
        return self._new(lambda dt, dev: empty(shape, dtype=dt, device=dev), dtype, device, requires_grad)

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
        """``self.type(other.type())``, as torch: ``other``'s dtype, and the GPU if ``other`` is on
        one (the CPU if it is not); differentiable."""
        out = self.to(other.dtype)
        on_gpu = other.device.startswith("cuda")
        if on_gpu != out.device.startswith("cuda"):  # the device kind comes along, as in torch
            out = out.to("cuda" if on_gpu else "cpu")
        return out

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

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

    # -- elementwise math and special functions (ops/math_extra.py, ops/special_math.py) --
    # (minicnn/ops/special_math.py, ops/math_extra.py)
    def erf(self) -> Tensor:
        return ops.erf(self)

    def erfc(self) -> Tensor:
        return ops.erfc(self)

    def erfinv(self) -> Tensor:
        return ops.erfinv(self)

    def lgamma(self) -> Tensor:
        return ops.lgamma(self)

    def digamma(self) -> Tensor:
        return ops.digamma(self)

    def i0(self) -> Tensor:
        return ops.i0(self)

    def sinc(self) -> Tensor:
        return ops.sinc(self)

    def sgn(self) -> Tensor:
        return ops.sgn(self)

    def signbit(self) -> Tensor:
        return ops.signbit(self)

    def deg2rad(self) -> Tensor:
        return ops.deg2rad(self)

    def rad2deg(self) -> Tensor:
        return ops.rad2deg(self)

    def asinh(self) -> Tensor:
        return ops.asinh(self)

    def acosh(self) -> Tensor:
        return ops.acosh(self)

    def atanh(self) -> Tensor:
        return ops.atanh(self)

    def arcsinh(self) -> Tensor:
        return ops.arcsinh(self)

    def arccosh(self) -> Tensor:
        return ops.arccosh(self)

    def arctanh(self) -> Tensor:
        return ops.arctanh(self)

    def positive(self) -> Tensor:
        return ops.positive(self)

    def isneginf(self) -> Tensor:
        return ops.isneginf(self)

    def isposinf(self) -> Tensor:
        return ops.isposinf(self)

    def isreal(self) -> Tensor:
        return ops.isreal(self)

    def absolute(self) -> Tensor:
        return ops.abs(self)

    def bitwise_not(self) -> Tensor:
        return ops.bitwise_not(self)

    def xlogy(self, other: Any) -> Tensor:
        return ops.xlogy(self, other)

    def logaddexp(self, other: Any) -> Tensor:
        return ops.logaddexp(self, other)

    def logaddexp2(self, other: Any) -> Tensor:
        return ops.logaddexp2(self, other)

    def copysign(self, other: Any) -> Tensor:
        return ops.copysign(self, other)

    def fmax(self, other: Any) -> Tensor:
        return ops.fmax(self, other)

    def fmin(self, other: Any) -> Tensor:
        return ops.fmin(self, other)

    def nextafter(self, other: Any) -> Tensor:
        return ops.nextafter(self, other)

    def ldexp(self, other: Any) -> Tensor:
        return ops.ldexp(self, other)

    def gcd(self, other: Any) -> Tensor:
        return ops.gcd(self, other)

    def lcm(self, other: Any) -> Tensor:
        return ops.lcm(self, other)

    def bitwise_and(self, other: Any) -> Tensor:
        return ops.bitwise_and(self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return ops.bitwise_or(self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return ops.bitwise_xor(self, other)

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return ops.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return ops.bitwise_right_shift(self, other)

    def inner(self, other: Any) -> Tensor:
        return ops.inner(self, other)

    def kron(self, other: Any) -> Tensor:
        return ops.kron(self, other)

    def vdot(self, other: Any) -> Tensor:
        return ops.vdot(self, other)

    def polygamma(self, n: int) -> Tensor:
        return ops.polygamma(n, self)

    def mvlgamma(self, p: int) -> Tensor:
        return ops.mvlgamma(self, p)

    def logit(self, eps: float | None = None) -> Tensor:
        return ops.logit(self, eps)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        return ops.nan_to_num(self, nan, posinf, neginf)

    def float_power(self, exponent: Any) -> Tensor:
        return ops.float_power(self, exponent)

    def heaviside(self, values: Tensor) -> Tensor:
        return ops.heaviside(self, values)

    def is_complex(self) -> bool:
        return False  # (no complex dtypes)

    def is_signed(self) -> bool:
        return self.dtype.kind in "if"

    def hardshrink(self, lambd: float = 0.5) -> Tensor:
        from .ops.activation import hardshrink  # noqa: PLC0415

        return hardshrink(self, lambd)

    def addcmul(self, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
        return ops.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
        return ops.addcdiv(self, tensor1, tensor2, value=value)

    def addmv(self, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return ops.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addr(self, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return ops.addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return ops.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return ops.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def __lshift__(self, other: Any) -> Tensor:
        return ops.bitwise_left_shift(self, other)

    def __rshift__(self, other: Any) -> Tensor:
        return ops.bitwise_right_shift(self, other)

    def __rlshift__(self, other: Any) -> Tensor:
        return ops.bitwise_left_shift(other, self)

    def __rrshift__(self, other: Any) -> Tensor:
        return ops.bitwise_right_shift(other, self)

    # ``x &= y`` and the other in-place bitwise operators write into x, as torch's (without them Python
    # would rebind x to a new tensor and leave its memory and aliases unchanged)
    def __iand__(self, other: Any) -> Tensor:
        return self.bitwise_and_(other)

    def __ior__(self, other: Any) -> Tensor:
        return self.bitwise_or_(other)

    def __ixor__(self, other: Any) -> Tensor:
        return self.bitwise_xor_(other)

    def __ilshift__(self, other: Any) -> Tensor:
        return self.bitwise_left_shift_(other)

    def __irshift__(self, other: Any) -> Tensor:
        return self.bitwise_right_shift_(other)

    # in-place twins that need arguments or integer tensors, or whose torch twin has no derivative
    # (asinh_, sgn_): kept out of autograd.INPLACE, whose generic test calls them on a float tensor
    # without arguments; tested in tests/test_math_extra.py
    def _inplace_twin(name: str) -> Any:  # noqa: N805  (a helper of this class body, deleted below)
        def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
            return ag._inplace_form(name)(self, *args, **kwargs)

        method.__name__ = method.__qualname__ = f"{name}_"
        method.__doc__ = f"In-place :meth:`{name}` (torch's ``{name}_``)."
        return method

    digamma_ = _inplace_twin("digamma")
    polygamma_ = _inplace_twin("polygamma")
    mvlgamma_ = _inplace_twin("mvlgamma")
    sgn_ = _inplace_twin("sgn")
    asinh_ = _inplace_twin("asinh")
    acosh_ = _inplace_twin("acosh")
    atanh_ = _inplace_twin("atanh")
    arcsinh_ = _inplace_twin("arcsinh")
    arccosh_ = _inplace_twin("arccosh")
    arctanh_ = _inplace_twin("arctanh")
    xlogy_ = _inplace_twin("xlogy")
    copysign_ = _inplace_twin("copysign")
    heaviside_ = _inplace_twin("heaviside")
    nextafter_ = _inplace_twin("nextafter")
    ldexp_ = _inplace_twin("ldexp")
    gcd_ = _inplace_twin("gcd")
    lcm_ = _inplace_twin("lcm")
    bitwise_and_ = _inplace_twin("bitwise_and")
    bitwise_or_ = _inplace_twin("bitwise_or")
    bitwise_xor_ = _inplace_twin("bitwise_xor")
    bitwise_not_ = _inplace_twin("bitwise_not")
    bitwise_left_shift_ = _inplace_twin("bitwise_left_shift")
    bitwise_right_shift_ = _inplace_twin("bitwise_right_shift")
    addcmul_ = _inplace_twin("addcmul")
    addcdiv_ = _inplace_twin("addcdiv")
    addmv_ = _inplace_twin("addmv")
    addr_ = _inplace_twin("addr")
    baddbmm_ = _inplace_twin("baddbmm")
    addbmm_ = _inplace_twin("addbmm")
    del _inplace_twin

    def float_power_(self, exponent: Any) -> Tensor:
        """In-place :meth:`float_power`: float64 tensors only, as torch's."""
        if self.dtype != np.float64:
            raise RuntimeError(
                f"the base given to float_power_ has dtype {self.dtype} but the operation's result requires dtype "
                "float64"
            )
        return ag._inplace_form("float_power")(self, exponent)

    # -- shape, indexing and metadata (ops/shape_extra.py, ops/index_extra.py) --
    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """All windows of ``size`` elements, ``step`` apart, along ``dimension`` as a new last
        dim: a view, as torch's (``F.unfold`` is the image im2col, another op)."""
        from .ops.shape_extra import unfold  # noqa: PLC0415

        return unfold(self, dimension, size, step)

    def ravel(self) -> Tensor:
        return ops.ravel(self)

    def select(self, dim: int, index: int) -> Tensor:
        return ops.select(self, dim, index)

    def unflatten(self, dim: int, sizes: Any) -> Tensor:
        return ops.unflatten(self, dim, sizes)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.tensor_split(self, indices_or_sections, dim)

    def split_with_sizes(self, split_sizes: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.split_with_sizes(self, split_sizes, dim)

    def hsplit(self, split_size_or_sections: Any) -> tuple[Tensor, ...]:
        return ops.hsplit(self, split_size_or_sections)

    def vsplit(self, split_size_or_sections: Any) -> tuple[Tensor, ...]:
        return ops.vsplit(self, split_size_or_sections)

    def dsplit(self, split_size_or_sections: Any) -> tuple[Tensor, ...]:
        return ops.dsplit(self, split_size_or_sections)

    def broadcast_to(self, *args: Any, size: Any = None) -> Tensor:
        sizes = _sizes(args, size, "broadcast_to", "size")  # x.broadcast_to(2, 3) too (torch's function: one size)
        return ops.broadcast_to(self, sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes)

    def rot90(self, k: int = 1, dims: Any = (0, 1)) -> Tensor:
        return ops.rot90(self, k, dims)

    def fliplr(self) -> Tensor:
        return ops.fliplr(self)

    def flipud(self) -> Tensor:
        return ops.flipud(self)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        return ops.diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset: int = 0) -> Tensor:
        return ops.diagflat(self, offset)

    def diagonal_scatter(self, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return ops.diagonal_scatter(self, src, offset, dim1, dim2)

    def select_scatter(self, src: Tensor, dim: int, index: int) -> Tensor:
        return ops.select_scatter(self, src, dim, index)

    def slice_scatter(
        self, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1
    ) -> Tensor:
        return ops.slice_scatter(self, src, dim, start, end, step)

    def index_add(self, dim: int, index: Any, source: Tensor, *, alpha: Any = 1) -> Tensor:
        return ops.index_add(self, dim, index, source, alpha=alpha)

    def index_copy(self, dim: int, index: Any, source: Tensor) -> Tensor:
        return ops.index_copy(self, dim, index, source)

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        return ops.index_fill(self, dim, index, value)

    def index_put(self, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
        from .ops.index_extra import index_put  # noqa: PLC0415  (ops.index_put is the x[index] = v op)

        return index_put(self, indices, values, accumulate)

    def masked_select(self, mask: Tensor) -> Tensor:
        return ops.masked_select(self, mask)

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        return ops.masked_scatter(self, mask, source)

    def take(self, index: Any) -> Tensor:
        return ops.take(self, index)

    def put(self, index: Any, source: Tensor, accumulate: bool = False) -> Tensor:
        return ops.put(self, index, source, accumulate)

    def repeat_interleave(
        self, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
    ) -> Tensor:
        if repeats is None:  # (the function's one-tensor form is mc.repeat_interleave(counts))
            raise TypeError("repeat_interleave() missing 1 required argument: 'repeats' (a Tensor or an int)")
        return ops.repeat_interleave(self, repeats, dim, output_size=output_size)

    def argwhere(self) -> Tensor:
        return ops.argwhere(self)

    def sum_to_size(self, *size: Any) -> Tensor:
        if not size:
            raise _missing("sum_to_size", "size")
        return ops.sum_to_size(self, *size)

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Tensor:
        """Write ``fill_value`` on the main diagonal in place (all dims equal, or a matrix; a
        tall matrix with ``wrap`` restarts the diagonal every cols + 1 rows, as torch)."""
        from .ops.index_extra import diagonal_positions  # noqa: PLC0415

        t = ag._latest(self)
        index = diagonal_positions(t.shape, wrap)
        if index is not None and index[0].size:
            with backend.array_scope(t.array):
                t[tuple(t.xp.asarray(i) for i in index)] = fill_value
        return ag._latest(t)

    def _metadata_(self, name: str, change: Any) -> Tensor:
        """torch's in-place view ops (unsqueeze_, t_, ...): the tensor's array replaced by a view
        of the same memory with the new shape/strides, its version bumped. Only for tensors
        outside a graph: a leaf that requires grad is torch's error; minicnn does not record
        the change on a tensor with a history (use the out-of-place form)."""
        t = ag._latest(self)
        ag._check_inference_write(t)
        if t.requires_grad and (ag.is_grad_enabled() or t.grad_fn is not None):
            if t.grad_fn is None:
                raise RuntimeError(
                    f"{name}: a leaf Variable that requires grad is being used in an in-place operation."
                )
            raise RuntimeError(
                f"{name}: minicnn does not record in-place shape changes of a tensor with a history "
                f"(grad_fn={type(t.grad_fn).__name__}); use the out-of-place form"
            )
        t.array = change(t.array)
        t._view_index = t._view_inverse = None  # the new shape no longer fits how it views its base
        t._version += 1
        return t

    def unsqueeze_(self, dim: int) -> Tensor:
        from .ops.dims import wrap_dim  # noqa: PLC0415

        d = wrap_dim(dim, self.ndim + 1, "unsqueeze_")
        return self._metadata_("unsqueeze_", lambda a: a.reshape(a.shape[:d] + (1,) + a.shape[d:]))

    def squeeze_(self, dim: Any = None) -> Tensor:
        shape = ops.squeeze(self.detach(), dim).shape
        return self._metadata_("squeeze_", lambda a: a.reshape(shape))

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        from .ops.dims import wrap_dim  # noqa: PLC0415

        d0, d1 = (wrap_dim(d, self.ndim, "transpose_") for d in (dim0, dim1))
        return self._metadata_("transpose_", lambda a: a.swapaxes(d0, d1) if a.ndim else a)

    def t_(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self._metadata_("t_", lambda a: a.T)

    def swapaxes_(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose_(axis0, axis1)

    def swapdims_(self, dim0: int, dim1: int) -> Tensor:
        return self.transpose_(dim0, dim1)

    # tensor metadata: strides in elements (torch's), sizes in bytes, device tests
    def stride(self, dim: int | None = None) -> Any:
        """Steps between neighbours along each dim, in elements (torch's unit; NumPy's strides
        are in bytes): a tuple, or one dim's int."""
        a = ag._latest(self).array
        strides = tuple(s // a.itemsize for s in a.strides) if a.itemsize else (0,) * a.ndim
        if a.size == 0 and not any(strides):
            # NumPy 2 creates an empty array with zero strides, torch with the row-major ones (a size-0 dim
            # counted as 1); views of it keep zero strides, so only these are known (a view of a non-empty
            # array, or empty_strided's, keeps its strides in NumPy too, as in torch)
            strides = tuple(int(np.prod([max(n, 1) for n in a.shape[k + 1 :]])) for k in range(a.ndim))
        from .ops.dims import wrap_dim  # noqa: PLC0415

        return strides if dim is None else strides[wrap_dim(dim, a.ndim, "stride")]

    def storage_offset(self) -> int:
        """Where the first element sits in the memory the tensor views, in elements: from the
        start of the array that owns that memory (as_strided views reach it through NumPy's
        stride_tricks wrapper, which is not an array)."""
        a = root = node = ag._latest(self).array
        while (node := getattr(node, "base", None)) is not None:
            if isinstance(node, type(a)):
                root = node
        return (ag._data_ptr(a) - ag._data_ptr(root)) // max(a.itemsize, 1)

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """Row-major (C) order with no gaps (NumPy's c_contiguous flag, which, like torch, lets size-1 dims be)."""
        return bool(ag._latest(self).array.flags.c_contiguous)

    def element_size(self) -> int:
        return int(self.dtype.itemsize)

    @property
    def itemsize(self) -> int:
        return int(self.dtype.itemsize)

    @property
    def nbytes(self) -> int:
        return int(self.array.size) * int(self.dtype.itemsize)

    def nelement(self) -> int:
        return int(self.array.size)

    def ndimension(self) -> int:
        return self.ndim

    @property
    def is_cuda(self) -> bool:
        return self.device != "cpu"

    @property
    def is_cpu(self) -> bool:
        return self.device == "cpu"

    @property
    def is_meta(self) -> bool:
        """Whether this tensor is on torch's 'meta' device: shapes and dtypes only, no data (the
        parameters and buffers of a ``Module.to('meta')``)."""
        from .func import _MetaArray  # noqa: PLC0415 - func imports the tensor classes

        return not getattr(self, "_uninitialized", False) and isinstance(self.array, _MetaArray)  # lazy: False

    def get_device(self) -> int:
        """The GPU's index, or -1 for a tensor on the CPU (torch's)."""
        return -1 if self.device == "cpu" else backend.parse_device(self.device)[1]

    def is_same_size(self, other: Tensor) -> bool:
        return self.shape == tuple(other.shape)

    def is_nonzero(self) -> bool:
        """The one element as a bool (torch's error for no elements or more than one)."""
        if self.numel() != 1:
            what = "no values" if self.numel() == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self.item())

    # -- statistics, sorting and searching (ops/stats.py, ops/search.py, ops/cdist.py) --
    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
        return ops.diff(self, n, dim, prepend, append)

    def cummax(self, dim: int) -> Any:
        return ops.cummax(self, dim)

    def cummin(self, dim: int) -> Any:
        return ops.cummin(self, dim)

    def logcumsumexp(self, dim: int) -> Tensor:
        return ops.logcumsumexp(self, dim)

    def median(self, dim: Any = None, keepdim: bool = False) -> Any:
        return ops.median(self, dim, keepdim)

    def nanmedian(self, dim: Any = None, keepdim: bool = False) -> Any:
        return ops.nanmedian(self, dim, keepdim)

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        return ops.mode(self, dim, keepdim)

    def kthvalue(self, k: int, dim: int | None = None, keepdim: bool = False) -> Any:
        return ops.kthvalue(self, k, dim, keepdim)

    def quantile(self, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
        return ops.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
        return ops.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def aminmax(self, *, dim: Any = None, keepdim: bool = False) -> Any:
        return ops.aminmax(self, dim=dim, keepdim=keepdim)

    def msort(self) -> Tensor:
        return ops.msort(self)

    def renorm(self, p: float, dim: int, maxnorm: float) -> Tensor:
        return ops.renorm(self, p, dim, maxnorm)

    def cov(self, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
        return ops.cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self) -> Tensor:
        return ops.corrcoef(self)

    def unique(
        self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim: Any = None
    ) -> Any:
        return ops.unique(self, sorted, return_inverse, return_counts, dim)

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False, dim: Any = None) -> Any:
        return ops.unique_consecutive(self, return_inverse, return_counts, dim)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Tensor:
        return ops.bincount(self, weights, minlength)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
        return ops.histc(self, bins, min, max)

    def histogram(self, bins: Any, *, range: Any = None, weight: Any = None, density: bool = False) -> Any:  # noqa: A002
        return ops.histogram(self, bins, range=range, weight=weight, density=density)

    # -- linear algebra (ops/decompositions.py, ops/matrix_functions.py) --
    def det(self) -> Tensor:
        """The determinant of each matrix (..., n, n) -> (...) (``mc.linalg.det``)."""
        from .ops.matrix_functions import det  # noqa: PLC0415

        return det(self)

    def logdet(self) -> Tensor:
        """log det of each matrix: NaN where det < 0, -inf where it is 0 (torch.logdet)."""
        from .ops.decompositions import logdet  # noqa: PLC0415

        return logdet(self)

    def slogdet(self) -> Any:
        """(sign, logabsdet) of each matrix (``mc.linalg.slogdet``)."""
        from .ops.matrix_functions import slogdet  # noqa: PLC0415

        return slogdet(self)

    def inverse(self) -> Tensor:
        """The inverse of each matrix (``mc.linalg.inv``)."""
        from .ops.matrix_functions import inv  # noqa: PLC0415

        return inv(self)

    def cholesky(self, upper: bool = False) -> Tensor:
        """Removed in torch (raises as torch 2.x does): use ``mc.linalg.cholesky``."""
        raise RuntimeError(
            "This function was deprecated since version 1.9 and is now removed. `torch.cholesky` is deprecated in "
            "favor of `torch.linalg.cholesky`.\nL = torch.cholesky(A) should be replaced with:\n"
            "L = torch.linalg.cholesky(A)\nU = torch.cholesky(A, upper=True) should be replaced with:\n"
            "U = torch.linalg.cholesky(A).mH"
        )

    def cholesky_solve(self, input2: Tensor, upper: bool = False) -> Tensor:
        """X with (L L^T) X = self, L = ``input2`` (U^T U with ``upper``)."""
        from .ops.decompositions import cholesky_solve  # noqa: PLC0415

        return cholesky_solve(self, input2, upper)

    def cholesky_inverse(self, upper: bool = False) -> Tensor:
        """(L L^T)^-1 from the Cholesky factor L = self (U^T U with ``upper``)."""
        from .ops.decompositions import cholesky_inverse  # noqa: PLC0415

        return cholesky_inverse(self, upper)

    def geqrf(self) -> Any:
        """LAPACK's compact QR (a, tau) of each matrix (``mc.geqrf``)."""
        from .ops.householder import geqrf  # noqa: PLC0415

        return geqrf(self)

    def orgqr(self, input2: Tensor) -> Tensor:
        """Q from geqrf's (self, tau=input2) (``mc.linalg.householder_product``)."""
        from .ops.householder import orgqr  # noqa: PLC0415

        return orgqr(self, input2)

    def ormqr(self, input2: Tensor, input3: Tensor, left: bool = True, transpose: bool = False) -> Tensor:
        """Q @ input3 (or input3 @ Q; Q^T with ``transpose``), Q from geqrf's (self, tau=input2) (``mc.ormqr``)."""
        from .ops.householder import ormqr  # noqa: PLC0415

        return ormqr(self, input2, input3, left, transpose)

    def qr(self, some: bool = True) -> Any:
        """Removed in torch (raises as torch 2.x does): use ``mc.linalg.qr``."""
        mode = "reduced" if some else "complete"
        raise RuntimeError(
            "This function was deprecated since version 1.9 and is now removed. `torch.qr` is deprecated in favor "
            "of `torch.linalg.qr` and the boolean parameter `some` has been replaced with a string parameter `mode`."
            "\n\nQ, R = torch.qr(A) should be replaced with:\nQ, R = torch.linalg.qr(A, mode='reduced')\n\nand"
            "\n\nQ, R = torch.qr(A, some=False) should be replaced with:\nQ, R = torch.linalg.qr(A, mode='complete')"
            f"\n\nSince `some` was set to {some}, use mode='{mode}'."
        )

    def svd(self, some: bool = True, compute_uv: bool = True) -> Any:
        """(U, S, V) with V = Vh^T (torch.svd's convention); ``some=False``: full U and V."""
        from .ops.decompositions import legacy_svd  # noqa: PLC0415

        return legacy_svd(self, some, compute_uv)

    def matrix_exp(self) -> Tensor:
        """exp of each square matrix (``mc.linalg.matrix_exp``)."""
        from .ops.matrix_functions import matrix_exp  # noqa: PLC0415

        return matrix_exp(self)

    def matrix_power(self, n: int) -> Tensor:
        """Each square matrix to the integer power n (``mc.linalg.matrix_power``)."""
        from .ops.decompositions import matrix_power  # noqa: PLC0415

        return matrix_power(self, n)

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        """The pseudo-inverse, singular values <= rcond * s_max dropped (``linalg.pinv(rtol=rcond)``)."""
        from .ops.decompositions import pinv  # noqa: PLC0415

        return pinv(self, rtol=rcond)

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        """The cross product of 3-vectors along ``dim`` (None: the first dim of size 3 of the
        broadcast shape, torch.cross's deprecated default)."""
        from .ops.decompositions import cross  # noqa: PLC0415

        if dim is None:
            shape = np.broadcast_shapes(self.shape, other.shape)
            dim = next((i for i, size in enumerate(shape) if size == 3), -1)
        return cross(self, other, dim=dim)

    # -- random sampling and runtime (ops/sampling_random.py, random.py, runtime.py) --
    # Samplers (minicnn/ops/sampling_random.py): in-place ones write into this tensor's memory
    # and are refused on a tensor that requires grad while grad mode is on (torch's error).
    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def bernoulli(self, p: Any = None, *, generator: Any = None) -> Tensor:
        return ops.bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Tensor:
        return ops.multinomial(self, num_samples, replacement, generator=generator)

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None) -> Tensor:
        return ops.sampling_random.uniform_(self, from_, to, generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        return ops.sampling_random.normal_(self, mean, std, generator)

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        return ops.sampling_random.bernoulli_(self, p, generator)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        return ops.sampling_random.exponential_(self, lambd, generator)

    def geometric_(self, p: float, *, generator: Any = None) -> Tensor:
        return ops.sampling_random.geometric_(self, p, generator)

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> Tensor:
        return ops.sampling_random.log_normal_(self, mean, std, generator)

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> Tensor:
        return ops.sampling_random.cauchy_(self, median, sigma, generator)

    _RANDOM_UNSET = object()  # tells random_() from random_(0) (empty [0, 0)) and random_(from, None)

    def random_(self, from_: Any = _RANDOM_UNSET, to: Any = _RANDOM_UNSET, *, generator: Any = None) -> Tensor:
        """torch's ``random_()``, ``random_(to)``, ``random_(from, to)`` (``to=None``: the dtype's range)."""
        unset = self._RANDOM_UNSET
        if to is unset:
            args = () if from_ is unset else (0, from_)
        else:
            args = (0 if from_ is unset else from_, to)
        return ops.sampling_random.random_(self, *args, generator=generator)

    # -- torch's top-level forms and Tensor leftovers (ops/aliases.py, ops/aliases_tensor.py) --
    # Comparisons in place write 0/1 in this tensor's dtype; in a graph the result has a zero
    # gradient, as torch's. The logical ops in place are not seen by autograd at all in torch
    # (even on a leaf that requires grad): written as under no_grad, the tensor keeps its history.
    def _compare_tied(self, name: str, other: Any) -> Tensor:
        out = getattr(self, name)(other)
        return ag.tie(ops.astype(out, self.dtype), self) if self.requires_grad else out

    def _compare_(self, name: str, other: Any) -> Tensor:
        return ag._inplace_form("_compare_tied", f"{name}_")(self, name, other)

    def eq_(self, other: Any) -> Tensor:
        return self._compare_("eq", other)

    def ne_(self, other: Any) -> Tensor:
        return self._compare_("ne", other)

    def lt_(self, other: Any) -> Tensor:
        return self._compare_("lt", other)

    def le_(self, other: Any) -> Tensor:
        return self._compare_("le", other)

    def gt_(self, other: Any) -> Tensor:
        return self._compare_("gt", other)

    def ge_(self, other: Any) -> Tensor:
        return self._compare_("ge", other)

    not_equal_, less_, less_equal_, greater_, greater_equal_ = ne_, lt_, le_, gt_, ge_

    def _logical_(self, name: str, *args: Any) -> Tensor:
        t = ag._latest(self)
        out = getattr(t.detach(), name)(*args)
        if out.shape != t.shape:
            raise RuntimeError(f"{name}_: output with shape {t.shape} doesn't match the broadcast shape {out.shape}")
        with ag.no_grad():
            return t.copy_(out)

    def logical_and_(self, other: Any) -> Tensor:
        return self._logical_("logical_and", other)

    def logical_or_(self, other: Any) -> Tensor:
        return self._logical_("logical_or", other)

    def logical_xor_(self, other: Any) -> Tensor:
        return self._logical_("logical_xor", other)

    def logical_not_(self) -> Tensor:
        return self._logical_("logical_not")

    def where(self, condition: Any, y: Any) -> Tensor:
        """``self`` where ``condition`` holds, else ``y`` (torch's ``x.where(condition, y)``)."""
        return ops.where(condition, self, y)

    def byte(self) -> Tensor:
        return self.to(np.uint8)

    def char(self) -> Tensor:
        return self.to(np.int8)

    def short(self) -> Tensor:
        return self.to(np.int16)

    def prelu(self, weight: Tensor) -> Tensor:
        return ops.activation.prelu(self, weight)

    def adjoint(self) -> Tensor:
        return ops.aliases_tensor.adjoint(self)

    def as_strided(self, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
        """A ``size`` view of this tensor's C-order elements with element strides ``stride``
        (see :func:`minicnn.ops.aliases_tensor.as_strided`); differentiable."""
        return ops.aliases_tensor.as_strided(self, size, stride, storage_offset)

    def resize_(self, *sizes: Any) -> Tensor:
        """torch's ``resize_``: this tensor takes the shape ``sizes``, keeping its first elements
        in memory order, as torch's storage (the same memory when they fit; growing moves to
        new memory whose extra elements are uninitialised). Refused on a tensor that requires
        grad, as torch's, and on one whose elements leave gaps in memory (a strided slice),
        where torch would read its base's storage."""
        if not sizes:
            raise _missing("resize_", "size")
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        ag._check_inference_write(self)
        shape = tuple(int(s) for s in (sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes))
        if any(s < 0 for s in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
        perm = ops.aliases_tensor._memory_order(self.array)
        if perm is None:
            raise RuntimeError(
                f"resize_: the tensor's elements (shape {list(self.shape)}, strides {list(self.stride())}) do not "
                f"fill one block of memory; minicnn does not read its base's storage as torch: resize a clone"
            )
        n, flat = int(np.prod(shape)), self.array.transpose(perm).reshape(-1)  # memory order, a view
        if n <= flat.size:
            self.array = flat[:n].reshape(shape)
        else:
            grown = self.xp.empty(n, dtype=self.dtype)
            grown[: flat.size] = flat
            self.array = grown.reshape(shape)
        return self

    def resize_as_(self, the_template: Tensor) -> Tensor:
        return self.resize_(the_template.shape)

    # -- incomplete gamma (ops/special_more.py) --
    def igamma(self, other: Any) -> Tensor:
        from .ops.special_more import igamma  # noqa: PLC0415

        return igamma(self, other)

    def igammac(self, other: Any) -> Tensor:
        from .ops.special_more import igammac  # noqa: PLC0415

        return igammac(self, other)

    def igamma_(self, other: Any) -> Tensor:
        return ag._inplace_form("igamma")(self, other)

    def igammac_(self, other: Any) -> Tensor:
        return ag._inplace_form("igammac")(self, other)

    # -- LU and triangular solves, torch's older forms (ops/lu.py) --
    def lu(self, pivot: bool = True, get_infos: bool = False) -> Any:
        """(LU, pivots), or (LU, pivots, infos) with ``get_infos`` (torch.lu; ``mc.linalg.lu_factor``)."""
        from .ops.lu import lu  # noqa: PLC0415

        return lu(self, pivot, get_infos)

    def lu_solve(self, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: N803 - torch's names
        """X with A X = self, A given by its LU factorization (``mc.linalg.lu_factor``)."""
        from .ops.lu import lu_solve  # noqa: PLC0415

        return lu_solve(self, LU_data, LU_pivots)

    def triangular_solve(
        self,
        A: Tensor,
        upper: bool = True,
        transpose: bool = False,
        unitriangular: bool = False,  # noqa: N803
    ) -> Any:
        """(X, A copy) with T X = self, T a triangle of A (``mc.triangular_solve``)."""
        from .ops.lu import triangular_solve  # noqa: PLC0415

        return triangular_solve(self, A, upper, transpose, unitriangular)

    # -- torch's remaining ops as methods (ops/ops_extra.py) --
    def index_reduce(self, dim: int, index: Any, source: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
        """``source`` rows reduced into rows ``index`` along ``dim`` (:func:`minicnn.ops.index_reduce`)."""
        return ops.index_reduce(self, dim, index, source, reduce, include_self=include_self)

    def frexp(self) -> Any:
        """``(mantissa, exponent)`` with self = mantissa * 2**exponent (:func:`minicnn.ops.frexp`)."""
        return ops.frexp(self)

    def as_strided_scatter(self, src: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
        """A copy with ``src`` written where ``self.as_strided(size, stride, storage_offset)`` reads."""
        return ops.as_strided_scatter(self, src, size, stride, storage_offset)

    def as_strided_(self, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
        """This tensor becomes its view ``as_strided(size, stride, storage_offset)`` (in place)."""
        return ops.as_strided_(self, size, stride, storage_offset)

    # -- legacy constructors, strided views, Python-callable maps (runtime) --
    def new_empty_strided(
        self, size: Any, stride: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        """:func:`minicnn.empty_strided` with self's dtype and device unless given."""
        from .creation import empty_strided  # noqa: PLC0415

        make = lambda dt, dev: empty_strided(size, stride, dtype=dt, device=dev)  # noqa: E731
        return self._new(make, dtype, device, requires_grad)

    def new(self, *args: Any, size: Any = None, device: Any = None) -> Tensor:
        """torch's legacy constructor, with self's dtype (and device unless given): ``new()`` an
        empty 1-d tensor, ``new(2, 3)`` or ``new(size=(2, 3))`` uninitialised sizes, ``new(data)``
        a copy of a list, tuple or array (a tuple is data, as in torch, where sizes would be a
        torch.Size), ``new(tensor)`` an alias of a tensor of the same dtype."""
        dev = self.device if device is None else device
        if size is not None:
            if args:
                raise TypeError("new(): pass the sizes either positionally or as size=, not both")
            args = tuple(size)
        elif len(args) == 1 and isinstance(args[0], (float, bool, complex, np.floating)):
            raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
        if len(args) == 1 and isinstance(args[0], ag.Tensor):
            other = args[0]
            if other.dtype != self.dtype:
                raise TypeError(f"new(): expected a tensor of dtype {self.dtype} (got {other.dtype})")
            return other.detach() if device is None else other.detach().to(dev)
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return self.new_tensor(args[0], device=dev)
        for a in args:
            if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
                raise TypeError(f"new(): sizes must be integers, got {type(a).__name__} {a!r}")
        return self.new_empty(*(args or (0,)), device=dev)

    def _resized(self, sizes: tuple[int, ...], what: str) -> Tensor:
        """torch's deprecated non-in-place resize: warn, then a reshape keeping the element count."""
        import warnings  # noqa: PLC0415

        warnings.warn(f"non-inplace {what} is deprecated", UserWarning, stacklevel=3)
        n = int(np.prod(sizes, dtype=np.int64))
        if n != self.numel():
            raise RuntimeError(
                f"requested resize to {'x'.join(map(str, sizes))} ({n} elements in total), but the given tensor has "
                f"a size of {'x'.join(map(str, self.shape))} ({self.numel()} elements). autograd's resize can only "
                "change the shape of a given tensor, while preserving the number of elements."
            )
        return self.reshape(sizes)

    def resize(self, *sizes: Any) -> Tensor:
        """Deprecated torch ``resize``: a differentiable reshape to ``sizes`` (the same number of
        elements, else RuntimeError), with torch's deprecation warning. (A single tuple is read as
        the sizes; torch fails on it.)"""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        return self._resized(tuple(int(s) for s in sizes), "resize")

    def resize_as(self, tensor: Tensor) -> Tensor:
        """Deprecated torch ``resize_as``: :meth:`resize` to ``tensor``'s shape."""
        return self._resized(tuple(tensor.shape), "resize_as")

    def _elementwise_(self, what: str, fn: Any, others: tuple[Any, ...]) -> Tensor:
        """``self[i] = fn(self[i], *(o[i] for o in others))`` for every element, in Python, as
        torch's apply_/map_/map2_: CPU tensors only (TypeError), none requiring grad
        (RuntimeError), ``others`` of self's dtype broadcast to self's shape."""
        t = ag._latest(self)
        for x in (t, *others):
            if not isinstance(x, ag.Tensor):
                raise TypeError(f"{what}: expected a Tensor, got {type(x).__name__}")
            if x.device != "cpu":
                raise TypeError(f"{what} is only implemented on CPU tensors")
        if t.requires_grad:
            raise RuntimeError(
                f"Can't call {what}() on Variable that requires grad. Use var.detach().{what}() instead."
            )
        cols = [t.array.reshape(-1).tolist()]
        for o in others:
            if o.dtype != t.dtype:
                raise TypeError(f"{what}: expected {t.dtype} for 'other' (got {o.dtype})")
            try:
                cols.append(np.broadcast_to(o.array, t.shape).reshape(-1).tolist())
            except ValueError:
                raise RuntimeError(f"{what}: other of shape {o.shape} cannot be expanded to {t.shape}") from None
        out = []
        for vals in zip(*cols):
            r = fn(*vals)
            if isinstance(r, ag.Tensor):
                r = r.item()
            if not isinstance(r, (int, float, bool, np.number, np.bool_)):
                raise TypeError(f"must be real number, not {type(r).__name__}")
            out.append(r)
        if out:
            values = np.asarray(out)
            if t.dtype.kind in "iu" and values.size:
                info = np.iinfo(t.dtype)
                if values.min() < info.min or values.max() > info.max:
                    raise RuntimeError(f"value cannot be converted to type {t.dtype} without overflow")
            t[...] = values.reshape(t.shape).astype(t.dtype)
        return ag._latest(t)

    def apply_(self, callable: Any) -> Tensor:  # noqa: A002 - torch's name
        """Each element replaced by ``callable(element)`` (a Python call per element, CPU only), as torch."""
        return self._elementwise_("apply_", callable, ())

    def map_(self, tensor: Tensor, callable: Any) -> Tensor:  # noqa: A002
        """Each element replaced by ``callable(self_element, tensor_element)`` (``tensor`` broadcast), CPU only."""
        return self._elementwise_("map_", callable, (tensor,))

    def map2_(self, x: Tensor, y: Tensor, callable: Any) -> Tensor:  # noqa: A002
        """Each element replaced by ``callable(self_element, x_element, y_element)``, CPU only, as torch."""
        return self._elementwise_("map2_", callable, (x, y))

    # -- shared memory (torch.multiprocessing's Hogwild training) --
    def share_memory_(self) -> Tensor:
        """Move the storage into memory shared between processes, as torch's; returns self.

        A CPU array is copied into an anonymous shared mapping (nothing happens if it is shared
        already, or for a CUDA tensor, as in torch), so processes forked afterwards (the "fork"
        start method of ``multiprocessing``, Linux's default) see one another's in-place writes
        such as optimiser steps: what Hogwild training (pytorch/examples mnist_hogwild) relies on.
        Unlike torch's, the sharing does not survive pickling: under the "spawn" and "forkserver"
        start methods each process gets a copy. Other tensors viewing the old array keep it.
        """
        if self.device != "cpu" or self.is_shared():
            return self
        import mmap  # noqa: PLC0415

        a = self.array
        shared = np.frombuffer(mmap.mmap(-1, max(a.nbytes, 1)), dtype=a.dtype, count=a.size).reshape(a.shape)
        shared[...] = a
        ag._latest(self).array = shared
        return self

    def is_shared(self) -> bool:
        """Whether the storage is in shared memory (after :meth:`share_memory_`); always True on CUDA, as torch."""
        if self.device != "cpu":
            return True
        import mmap  # noqa: PLC0415

        base = self.array
        while isinstance(base, np.ndarray):
            base = base.base
        return isinstance(base.obj if isinstance(base, memoryview) else base, mmap.mmap)

    # -- formatting --
    def __format__(self, format_spec: str) -> str:
        """A 0-d tensor formats as its Python number (``f"{loss:.4f}"``, one value read back from
        the device), as torch; any other tensor, and a Parameter, only with an empty spec."""
        if self.ndim == 0 and type(self) is ag.Tensor:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)
