"""torch's smaller top-level tensor functions: strided views, dtype rules, makers and aliases.

* :func:`as_strided` -- ``(size, stride, storage_offset)`` view of a tensor's memory, and
  its :class:`AsStrided` op: forward ``xp.lib.stride_tricks.as_strided`` on the input's
  elements in memory order (a view sharing memory, O(1)); backward scatters the output
  gradient back to the positions it was read from, accumulating where windows overlap
  (torch's ``as_strided_backward``), O(numel(out) + numel(in)).
  The "storage" here is the block of memory the input's own elements fill, in memory order:
  torch's storage for a contiguous tensor or a transposed/permuted one (``x.t()``); the
  offset is torch's (the default: the input's own :meth:`storage_offset`). An input whose
  elements leave gaps or share memory (a strided slice ``x[:, ::2]``, an expanded tensor) is
  refused, as is a view reaching before the input's first element or past its last: torch
  would read its base's storage there, which minicnn does not track.
* :func:`result_type`, :func:`promote_types`, :func:`can_cast`: torch's promotion rules on
  minicnn's dtypes (NumPy dtypes).
* :func:`asarray`, :func:`frombuffer`, :func:`from_dlpack`, :func:`scalar_tensor`,
  :func:`range`, :func:`logspace`: makers with torch's dtype, copy and memory-sharing rules.
* :func:`rsub`, :func:`fill`, :func:`detach`, :func:`adjoint`, :func:`chain_matmul`,
  :func:`frobenius_norm`, :func:`nuclear_norm`: one-line forms of existing ops.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import autograd, backend
from ..autograd import Function, Tensor
from ..kernels.scatter import add_at
from .math import _category, result_dtype


def _ints(values: Any, what: str) -> tuple[int, ...]:
    values = (values,) if isinstance(values, (int, np.integer)) else tuple(values)
    if not all(isinstance(v, (int, np.integer)) for v in values):
        raise TypeError(f"as_strided: {what} must be a sequence of integers, got {values!r}")
    return tuple(int(v) for v in values)


def _memory_order(a: Any) -> tuple[int, ...] | None:
    """a's axes from the largest stride to the smallest when its elements fill one block of
    memory with no gaps and no overlap (C order or a permutation of it); None otherwise."""
    if a.size <= 1:
        return tuple(builtins.range(a.ndim))
    perm = tuple(sorted(builtins.range(a.ndim), key=lambda k: -a.strides[k]))
    return perm if a.transpose(perm).flags.c_contiguous else None


class AsStrided(Function):
    """(in_shape) -> size: out[i] = memory(x)[offset + sum_k i_k * stride_k], memory(x) being
    x's elements in memory order (axes ``perm``). Linear in x; its backward reads only the
    positions."""

    linear = True

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.in_shape = x.shape
        memory = x.transpose(self.perm).reshape(-1)  # a view: x's elements fill a block of memory
        offset = self.storage_offset
        return xp.lib.stride_tricks.as_strided(
            memory[offset:], shape=self.size, strides=tuple(s * memory.itemsize for s in self.stride)
        )

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        positions = xp.full(self.size, self.storage_offset, dtype=np.int64)
        for k, (n, s) in enumerate(zip(self.size, self.stride)):
            shape = [1] * len(self.size)
            shape[k] = n
            positions = positions + xp.arange(n, dtype=np.int64).reshape(shape) * s
        gmemory = xp.zeros(math.prod(self.in_shape), dtype=gy.dtype)
        add_at(gmemory, (positions,), gy)  # overlapping windows read a position more than once: their grads add up
        inverse = [0] * len(self.perm)
        for i, k in enumerate(self.perm):
            inverse[k] = i
        return gmemory.reshape(tuple(self.in_shape[k] for k in self.perm)).transpose(inverse)


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:  # noqa: A002
    """torch.as_strided: a ``size`` view of input's memory with element strides ``stride``,
    starting at element ``storage_offset`` of the storage (default: input's own
    :meth:`storage_offset`). Differentiable. Refused for an input whose elements do not fill
    one block of memory, or a view outside that block (see the module docstring)."""
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    own = input.storage_offset()
    offset = own if storage_offset is None else int(storage_offset)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: size {list(size)}, stride {list(stride)}")
    if any(n < 0 for n in size) or any(s < 0 for s in stride) or offset < 0:
        raise RuntimeError(
            f"as_strided: sizes, strides and storage offset must be non-negative, got size {list(size)}, "
            f"stride {list(stride)}, storage offset {offset}"
        )
    perm = _memory_order(autograd._latest(input).array)  # the array the op will read
    if perm is None:
        raise RuntimeError(
            f"as_strided: the input's elements (shape {list(input.shape)}, strides {list(input.stride())}) do not "
            f"fill one block of memory (a strided slice or an expanded tensor); minicnn reads only the input's own "
            f"elements, not its base's storage as torch: pass input.clone() instead"
        )
    if offset < own:
        raise RuntimeError(
            f"as_strided: storage offset {offset} lies before the input's first element (storage offset {own}); "
            f"minicnn reads only the input's own elements, not its base's storage as torch"
        )
    needed = 0 if 0 in size else offset - own + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if needed > input.numel():
        raise RuntimeError(
            f"as_strided: sizes {list(size)}, strides {list(stride)}, storage offset {offset} require "
            f"{needed} elements from the input's storage offset {own}, out of bounds for the input's "
            f"{input.numel()} elements"
        )
    return AsStrided.apply(input, size=size, stride=stride, storage_offset=offset - own, perm=perm)


def adjoint(input: Tensor) -> Tensor:  # noqa: A002
    """torch.adjoint: the last two dims swapped (real tensors: the conjugate is the tensor)."""
    if input.ndim < 2:
        raise RuntimeError(
            f"adjoint() is only supported on matrices or batches of matrices. Got {input.ndim}-D tensor."
        )
    return input.transpose(-2, -1)


def rsub(input: Tensor, other: Any, alpha: float = 1) -> Tensor:  # noqa: A002
    """torch.rsub: ``other - alpha * input``."""
    if isinstance(alpha, (float, np.floating)) and input.dtype.kind in "iub":
        raise RuntimeError("rsub: for integral input tensors, argument alpha must not be a floating point number")
    return other - (input if alpha == 1 or input.dtype == np.bool_ else input * alpha)  # (a bool: refused)


def detach(input: Tensor) -> Tensor:  # noqa: A002
    """torch.detach: ``input.detach()`` (shares memory, no graph)."""
    return input.detach()


def fill(input: Tensor, value: Any) -> Tensor:  # noqa: A002
    """torch.fill: a new tensor of input's shape and dtype holding ``value`` (a number or a 0-d
    tensor, whose gradient is the sum of the output's); input gets a zero gradient."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"fill only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions."
            )
        out = value.to(input.dtype).expand(input.shape).clone()
    else:
        out = input.detach().clone().fill_(value)
    return autograd.tie(out, input) if input.requires_grad and autograd.is_grad_enabled() else out


def chain_matmul(*matrices: Tensor) -> Tensor:
    """torch.chain_matmul (deprecated for ``mc.linalg.multi_dot``): the product of 2-D tensors."""
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.ndim != 2:
            raise RuntimeError(f"chain_matmul(): Tensor dimension is {m.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0].clone()
    from ..linalg import multi_dot

    return multi_dot(list(matrices))


def frobenius_norm(input: Tensor, dim: Sequence[int] | int, keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.frobenius_norm: the 2-norm of the elements over ``dim`` (one or two dims)."""
    from ..linalg import vector_norm

    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"frobenius_norm: expected at most 2 dims, got {len(dims)}")
    return vector_norm(input, 2, dims, keepdim)


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.nuclear_norm: the sum of singular values of the matrices over ``dim`` (default the
    last two dims); ``nuclear_norm(x, keepdim)`` with a bool is torch's other overload."""
    from ..linalg import matrix_norm

    if isinstance(dim, bool):
        dim, keepdim = None, dim
    if dim is None:
        if input.ndim < 2:
            raise RuntimeError(f"nuclear_norm: expected a tensor with 2 or more dimensions, got {input.ndim}-D")
        dim = (-2, -1)
    return matrix_norm(input, "nuc", tuple(dim), keepdim)


# --- dtype rules: bool < integer < floating; across categories the higher wins ---------------


def _as_dtype(dtype: Any) -> np.dtype:
    return np.dtype(dtype)


def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    """torch.result_type: the dtype ``tensor1 + tensor2`` would have (a number or 0-d tensor
    only counts when of a higher category than the dimensioned operand)."""
    return result_dtype(tensor1, tensor2)


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """torch.promote_types: across categories the higher one as it is (int64 with float16 is
    float16); within one NumPy's promotion (uint8 with int8 is int16)."""
    a, b = _as_dtype(type1), _as_dtype(type2)
    if _category(a) != _category(b):
        return a if _category(a) > _category(b) else b
    return np.promote_types(a, b)


def can_cast(from_: Any, to: Any) -> bool:
    """torch.can_cast: a cast is refused only to a lower category (float to integer, integer
    or float to bool); any size within a category is allowed."""
    return _category(_as_dtype(from_)) <= _category(_as_dtype(to))


# --- makers ------------------------------------------------------------------------------------


def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """torch.scalar_tensor: a 0-d tensor of the default float dtype unless ``dtype``."""
    s = s.item() if isinstance(s, Tensor) else s
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        a = xp.asarray(s, dtype=autograd.default_dtype(dtype))
    return Tensor(a, requires_grad=requires_grad)


def range(  # noqa: A001 - torch's name
    start: float = 0,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """torch.range (deprecated for :func:`mc.arange`): from start to end INCLUSIVE, of the
    default float dtype unless ``dtype``; values ``start + i * step`` computed in float64."""
    warnings.warn(
        "mc.range is deprecated and will be removed in a future release because its behavior is inconsistent "
        "with Python's range builtin. Instead, use mc.arange, which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    if end is None:
        raise TypeError('range() missing 1 required positional arguments: "end"')
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if step == 0:
        raise RuntimeError("range: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"range: upper bound and larger bound inconsistent with step sign ({start}, {end}, {step})")
    dt = autograd.default_dtype(dtype)
    if dt.kind in "iub":  # torch counts in int64 for an integer dtype: start, end and step truncated
        start, end, step = (int(v) for v in (start, end, step))
        if step == 0:
            raise RuntimeError("range: step must be nonzero")
    n = math.floor((end - start) / step) + 1
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        a = (start + xp.arange(n, dtype=np.float64) * step).astype(dt)
    return Tensor(a, requires_grad=requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """torch.logspace: ``base ** linspace(start, end, steps)`` (computed in float64). For an
    integer dtype, as torch: start and end truncated to integers, the powers truncated
    (``logspace(0, 1, 5, dtype=int64)`` is ``[1, 1, 3, 5, 10]``); one step is ``base ** start``."""
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    steps = int(steps)
    if steps < 0:
        raise RuntimeError(f"logspace: number of steps must be non-negative, got {steps}")
    xp = backend.xp_for_device(device)
    dt = autograd.default_dtype(dtype)
    if dt.kind == "b":
        raise TypeError("logspace: not implemented for dtype bool")
    with backend.device_scope(device):
        if dt.kind in "iu" and steps > 1:
            # torch's integer kernel: exponents from the truncated ends, the first half counted
            # from start and the second from end
            lo, hi = int(start), int(end)
            step, i = (hi - lo) / (steps - 1), xp.arange(steps, dtype=np.float64)
            a = xp.power(float(base), xp.where(i < steps // 2, lo + step * i, hi - step * (steps - 1 - i)))
        else:
            a = xp.power(float(base), xp.linspace(start, end, steps, dtype=np.float64))
        a = (xp.trunc(a) if dt.kind in "iu" else a).astype(dt)
    return Tensor(a, requires_grad=requires_grad)


def asarray(
    obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None, requires_grad: bool | None = None
) -> Tensor:
    """torch.asarray: ``obj`` as a tensor, sharing memory where it can.

    A Tensor comes back as itself (same object, graph kept) unless ``dtype``/``device`` ask
    for a conversion or ``copy=True`` (a clone, in the graph); a NumPy/CuPy array (or anything
    with ``__array__``/DLPack) is wrapped without a copy when its dtype and device fit (so writes
    show on both sides); Python numbers and lists are converted (floats to the default dtype).
    ``copy=False`` refuses a conversion that would copy (ValueError, as torch)."""
    want = None if dtype is None else np.dtype(dtype)
    if device is None and backend.DEFAULT_DEVICE != "cpu":  # torch: the default device, for tensors too
        device = backend.DEFAULT_DEVICE
    if isinstance(obj, Tensor):
        same_device = device is None or backend.parse_device(device) == backend.parse_device(obj.device)
        same = (want is None or want == obj.dtype) and same_device
        if copy is False and not same:
            raise ValueError(f"can't alias tensor with dtype {obj.dtype} into dtype {want} without a copy")
        out = obj.to(*(a for a in (device, want) if a is not None)) if not same else obj
        if copy and out is obj:
            out = obj.clone()
    else:
        is_array = hasattr(obj, "__array_interface__") or backend.is_cupy_array(obj) or hasattr(obj, "__dlpack__")
        if is_array and not isinstance(obj, (np.ndarray, np.generic)) and not backend.is_cupy_array(obj):
            obj = np.from_dlpack(obj) if hasattr(obj, "__dlpack__") else np.asarray(obj)
        if is_array:
            if copy is False and want is not None and want != obj.dtype:
                raise ValueError(f"can't alias array with dtype {obj.dtype} into dtype {want} without a copy")
            arr = obj if want is None else obj.astype(want, copy=False)
            if device is not None:
                arr = backend.to_device(arr, backend.parse_device(device))
            elif copy:
                arr = arr.copy()
            if copy and arr is obj:
                arr = arr.copy()
            out = Tensor(arr)
        elif _is_buffer(obj):  # torch: the raw bytes, read as ``dtype`` (default: the default float dtype)
            shared = frombuffer(obj, dtype=autograd.default_dtype(want))
            out = shared.to(device) if device is not None else shared
            out = out.clone() if copy and out is shared else out
        else:
            if copy is False:
                raise ValueError(f"asarray: copy=False but {type(obj).__name__} cannot be aliased")
            out = Tensor(autograd._as_array(_scalars(obj), want, device))
    if requires_grad:
        out.requires_grad_(True)
    return out


def _is_buffer(obj: Any) -> bool:
    if isinstance(obj, (str, Tensor, list, tuple)):
        return False
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def _scalars(obj: Any) -> Any:
    """A (nested) sequence with its tensors as torch reads them: each one element (a 0-d tensor)."""
    if isinstance(obj, Tensor):
        if obj.numel() != 1:
            raise ValueError("asarray: only one element tensors can be converted to Python scalars")
        return obj.detach().reshape(())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_scalars(o) for o in obj)
    return obj


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """torch.frombuffer: a 1-d tensor over the bytes of a Python buffer (bytearray, memoryview,
    array.array, ...), sharing its memory; ``offset`` in bytes, ``count`` elements (-1: all)."""
    dt = np.dtype(dtype)
    view = memoryview(buffer)
    size = view.nbytes
    if size == 0 or count == 0:
        raise ValueError(f"frombuffer: both buffer length ({size}) and count ({count}) must not be 0")
    if view.readonly:
        warnings.warn(
            "frombuffer: the given buffer is not writable; the tensor shares its memory and is read-only too. "
            "Copy the buffer (or the tensor) to write to it.",
            UserWarning,
            stacklevel=2,
        )
    if offset < 0 or offset >= builtins.max(size, 1):
        raise ValueError(
            f"frombuffer: offset must be non-negative and no greater than buffer length ({size}), got {offset}"
        )
    if count > 0 and offset + count * dt.itemsize > size:
        raise ValueError(f"frombuffer: requested buffer length ({count} * {dt.itemsize} + {offset}) exceeds {size}")
    if count < 0 and (size - offset) % dt.itemsize:
        raise ValueError(
            f"frombuffer: buffer length ({size - offset} after offset) must be a multiple of the element size "
            f"({dt.itemsize})"
        )
    return Tensor(np.frombuffer(buffer, dtype=dt, count=count, offset=offset), requires_grad=requires_grad)


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """torch.from_dlpack: a tensor sharing the memory of a DLPack producer (a NumPy or CuPy
    array, a torch tensor...); a CUDA producer gives a CuPy-backed tensor."""
    if isinstance(ext_tensor, Tensor):
        out = ext_tensor
    elif type(ext_tensor).__name__ == "PyCapsule":  # a legacy capsule (torch.to_dlpack, mc.to_dlpack)
        try:  # NumPy reads a capsule only through __dlpack__; it refuses a CUDA one
            out = Tensor(np.from_dlpack(_Capsule(ext_tensor)))
        except BufferError:
            out = Tensor(backend.xp_for_device("cuda").from_dlpack(ext_tensor))
    else:
        kind = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") else 1
        xp = backend.xp_for_device("cuda") if kind in (2, 3, 13) else np  # kDLCUDA, kDLCUDAHost, kDLCUDAManaged
        out = Tensor(xp.from_dlpack(ext_tensor))
    if device is not None:
        out = out.to(device)
    if copy:
        out = out.clone()
    return out


class _Capsule:
    """A DLPack capsule dressed as a producer for ``np.from_dlpack`` (which reads the array
    read-only: NumPy cannot tell from a legacy capsule whether writing is safe)."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)


def to_dlpack(tensor: Tensor) -> Any:
    """torch.to_dlpack: a DLPack capsule of the tensor's memory (NumPy's or CuPy's ``__dlpack__``)."""
    return tensor.array.__dlpack__()


def get_device(input: Tensor) -> int:  # noqa: A002
    """torch.get_device: the CUDA device index, -1 on the CPU (``input.get_device()``)."""
    return input.get_device()


__all__ = [
    "AsStrided", "adjoint", "as_strided", "asarray", "can_cast", "chain_matmul", "detach", "fill", "frobenius_norm",
    "from_dlpack", "frombuffer", "get_device", "logspace", "nuclear_norm", "promote_types", "range", "result_type",
    "rsub", "scalar_tensor", "to_dlpack",
]  # fmt: skip
