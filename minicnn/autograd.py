"""Tensor and define-by-run reverse-mode autograd.

The whole engine is this file. A :class:`Tensor` wraps one backend array. Calling an op
runs a :class:`Function`: its ``forward`` computes on raw arrays and the Function becomes the
output tensor's graph node, remembering its input tensors. ``Tensor.backward`` orders the
nodes topologically (iteratively, so a 2,000-layer chain is fine), walks them in reverse
and asks each node's ``backward`` for the gradients of its inputs, which are summed per
tensor exactly like PyTorch accumulates them. The engine knows nothing about any op.

After ``backward`` each visited node drops its inputs and saved arrays (unless
``retain_graph=True``), so activations are freed as soon as their gradient is known.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class set_grad_enabled(contextlib.ContextDecorator):  # noqa: N801 - torch's name
    """Context manager / decorator that turns graph recording on or off."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, self.mode

    def __exit__(self, *exc: Any) -> None:
        global _grad_enabled
        _grad_enabled = self._prev


class no_grad(set_grad_enabled):  # noqa: N801
    """``with mc.no_grad():`` records no graph (inference, optimiser updates)."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):  # noqa: N801
    def __init__(self) -> None:
        super().__init__(True)


_FLOAT_KINDS = "f"
DEFAULT_DTYPE = np.dtype(np.float32)


def _as_array(data: Any, dtype: Any = None, device: Any = None):
    """Turn ``data`` into a backend array: Python floats become float32 like torch."""
    if isinstance(data, Tensor):
        data = data.array
    if device is not None:  # converted where it is, then copied once (host -> GPU, GPU -> GPU)
        return backend.to_device(_as_array(data, dtype), device)
    xp = backend.get_array_module(data)
    with backend.array_scope(data):  # a GPU array is converted on its own GPU
        if dtype is not None:
            return xp.asarray(data, dtype=dtype)
        if isinstance(data, (np.ndarray, np.generic)) or backend.is_cupy_array(data):
            return xp.asarray(data)
    arr = np.asarray(data)
    return arr.astype(DEFAULT_DTYPE) if arr.dtype == np.float64 else arr


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Attributes: ``array`` (the raw NumPy/CuPy array), ``requires_grad``, ``grad`` (a Tensor
    or None), ``grad_fn`` (the Function that produced it, None for leaves).
    """

    __array_priority__ = 1000  # make ``ndarray + Tensor`` call Tensor.__radd__
    _vc: list[int] | None = None  # version counter, shared with views (see _version)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, device: Any = None) -> None:
        self.array = _as_array(data, dtype, device)
        self.grad: Tensor | None = None
        self.grad_fn: Function | None = None
        self._requires_grad = False
        self._retain_grad = False
        self.requires_grad = requires_grad

    # -- version counter ----------------------------------------------------------------
    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has seen (0 if none). A tensor made
        as a view of another (reshape, transpose, basic indexing...) shares its counter, as
        in torch, so backward can tell when memory an op kept was written (_check_saved)."""
        return 0 if self._vc is None else self._vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        if self._vc is None:
            self._vc = [0]
        self._vc[0] = value

    def _share_version(self, other: Tensor) -> None:
        if other._vc is None:
            other._vc = [0]
        self._vc = other._vc

    # -- basic properties -------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.array.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(f"only floating point tensors can require gradients, got dtype {self.array.dtype}")
        if not flag and self.grad_fn is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use .detach()")
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = flag
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.array)

    @property
    def xp(self):
        return backend.get_array_module(self.array)

    @property
    def data(self) -> Tensor:
        """A detached tensor sharing this tensor's array (like ``torch.Tensor.data``)."""
        return Tensor(self.array)

    @data.setter
    def data(self, value: Any) -> None:
        self.array = value.array if isinstance(value, Tensor) else _as_array(value)

    def numel(self) -> int:
        return int(self.array.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.array), separator=", ", prefix="tensor(")
        extra = ""
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self.dtype != DEFAULT_DTYPE and self.dtype.kind == "f":
            extra += f", dtype={self.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- conversion ---------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A host NumPy copy of the data."""
        return np.array(backend.to_numpy(self.array), copy=True)

    def item(self) -> Any:
        if self.array.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return backend.to_numpy(self.array).reshape(()).item()

    def tolist(self) -> Any:
        return backend.to_numpy(self.array).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = backend.to_numpy(self.array)
        return a.astype(dtype) if dtype is not None else a

    def detach(self) -> Tensor:
        """A new leaf sharing the data, cut from the graph."""
        return Tensor(self.array)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self) -> Tensor:
        return _ops.clone(self)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``.to(device)``, ``.to(dtype)`` or both; differentiable like torch's."""
        device = kwargs.get("device")
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, str) or isinstance(a, tuple):
                device = a
            else:
                dtype = a
        out = self
        if device is not None and backend.device_str(device) != self.device:
            out = _ops.to_device(out, device)
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = _ops.astype(out, dtype)
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str = 0) -> Tensor:
        return self.to(device if isinstance(device, str) else f"cuda:{device}")

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def type(self, dtype: Any) -> Tensor:
        return self.to(dtype)

    # -- autograd -----------------------------------------------------------------------
    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward."""
        self._retain_grad = True

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        with backend.array_scope(self.array):
            if grad is None:
                if self.array.size != 1:
                    raise RuntimeError(
                        f"grad can be implicitly created only for scalar outputs, got shape {self.shape}"
                    )
                g = self.xp.ones_like(self.array)
            else:
                g = self.xp.array(_as_array(grad, dtype=self.dtype), copy=True)
                if g.shape != self.array.shape:
                    raise ValueError(f"backward: grad has shape {g.shape}, expected {self.shape}")
        run_backward(self, g, retain_graph)

    # -- arithmetic: defined in minicnn.ops, bound here --------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def _inplace(self, other: Any, op: str) -> Tensor:
        """``x += y`` (and -=, *=, /=): in place on the array when no graph is involved, as in
        an optimiser step under ``no_grad``. A leaf that requires grad refuses, like torch;
        where the graph must record the op, the result is computed out of place and the
        name is rebound to it."""
        recording = is_grad_enabled() and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        if recording:
            if self.requires_grad and self.is_leaf:
                raise RuntimeError("a leaf Tensor that requires grad is being used in an in-place operation")
            return getattr(self, f"__{op}__")(other)
        getattr(self.array, f"__i{op}__")(other.array if isinstance(other, Tensor) else other)
        self._version += 1
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, "add")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, "sub")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, "mul")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, "truediv")

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("in-place assignment to a tensor that requires grad")
        value = value.array if isinstance(value, Tensor) else value
        if isinstance(value, np.ndarray) and backend.is_cupy_array(self.array):
            value = backend.to_device(value, self.device)  # CuPy takes no host array here
        self.array[_ops.plain_index(index)] = value
        self._version += 1

    # comparisons give non-differentiable boolean tensors
    def _compare(self, other: Any, op: str) -> Tensor:
        b = other.array if isinstance(other, Tensor) else other
        return Tensor(getattr(self.array, op)(b))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "__eq__")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "__ne__")

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, "__lt__")

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, "__le__")

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, "__gt__")

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, "__ge__")

    __hash__ = object.__hash__

    # -- methods that forward to minicnn.ops ---------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
        return _ops.sum(self, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)

    def mean(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
        return _ops.mean(self, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)

    def max(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
        return _ops.max(self, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)

    def min(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
        return _ops.min(self, axis=axis if dim is None else dim, keepdims=keepdims if keepdim is None else keepdim)

    def var(
        self,
        axis: Any = None,
        keepdims: bool = False,
        dim: Any = None,
        unbiased: bool = True,
        correction: int | None = None,
        keepdim: Any = None,
    ) -> Tensor:
        ddof = (1 if unbiased else 0) if correction is None else correction
        keep = keepdims if keepdim is None else keepdim
        return _ops.var(self, axis=axis if dim is None else dim, keepdims=keep, correction=ddof)

    def argmax(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
        axis = axis if dim is None else dim
        return Tensor(self.xp.argmax(self.array, axis=axis, keepdims=keepdims if keepdim is None else keepdim))

    def argmin(self, axis: Any = None, keepdims: bool = False, dim: Any = None, keepdim: Any = None) -> Tensor:
        axis = axis if dim is None else dim
        return Tensor(self.xp.argmin(self.array, axis=axis, keepdims=keepdims if keepdim is None else keepdim))

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return _ops.clip(self, min, max)

    clamp = clip

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def softmax(self, dim: int) -> Tensor:
        return _ops.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return _ops.log_softmax(self, dim)

    def reshape(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, *shape)

    view = reshape

    def view_as(self, other: Tensor) -> Tensor:
        return _ops.reshape(self, other.shape)

    def expand(self, *shape: Any) -> Tensor:
        return _ops.expand(self, *shape)

    def transpose(self, *axes: Any) -> Tensor:
        return _ops.transpose(self, *axes)

    def permute(self, *axes: Any) -> Tensor:
        return _ops.permute(self, *axes)

    @property
    def T(self) -> Tensor:  # noqa: N802
        return _ops.permute(self, *reversed(range(self.ndim)))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return _ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim: Any = None) -> Tensor:
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return _ops.unsqueeze(self, dim)

    def contiguous(self) -> Tensor:
        return self


class Function:
    """One differentiable op: ``forward`` and ``backward`` side by side, on raw arrays.

    Subclasses implement
      * ``forward(self, *xs) -> y``: compute the output from input arrays; save on ``self``
        what backward needs (skip saving when ``self.requires_grad`` is False);
      * ``backward(self, gy) -> gx`` or a tuple with one entry per input (None where an
        input needs no gradient; ``self.needs_input_grad[i]`` says which do).
    Non-tensor settings (axis, stride, ...) are keyword arguments of ``apply``.
    """

    inputs: tuple[Tensor, ...] = ()
    requires_grad: bool = False
    needs_input_grad: tuple[bool, ...] = ()

    def __init__(self, **params: Any) -> None:
        self.__dict__.update(params)

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        fn = cls(**params)
        tensors = _as_tensors(inputs, cls.__name__)
        needs = tuple(t.requires_grad for t in tensors)
        fn.requires_grad = _grad_enabled and any(needs)
        fn.needs_input_grad = needs if fn.requires_grad else (False,) * len(needs)
        if fn.requires_grad:
            fn.versions = tuple(t._version for t in tensors)
        with backend.array_scope(tensors[0].array if tensors else None):  # on their GPU
            y = fn.forward(*(t.array for t in tensors))
        out = Tensor.__new__(Tensor)
        out.array, out.grad, out._retain_grad = y, None, False
        out._requires_grad = fn.requires_grad
        out.grad_fn = None
        if getattr(y, "base", None) is not None:  # a view of an input shares its version counter
            base = _base_id(y)
            for t in tensors:
                if _base_id(t.array) == base:  # the same memory behind both (no device call)
                    out._share_version(t)
                    break
        if fn.requires_grad:
            fn.inputs = tensors
            fn.out_version = out._version
            out.grad_fn = fn
        return out

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError

    def backward(self, gy: Any) -> Any:
        raise NotImplementedError

    def release(self) -> None:
        """Drop inputs and saved arrays; the node can no longer run backward."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def scalar_like(value: Any, dtype: Any, like: Any) -> Any:
    """``value`` as an array of ``dtype`` where ``like`` lives. A scalar becomes a 0-d array,
    on a GPU uploaded once per value, dtype and device and then shared (``2 * x`` in a training
    loop copies nothing to the device after the first step; ops never write to their inputs)."""
    dtype = np.dtype(dtype)
    if not isinstance(value, (int, float, bool, np.generic)):  # an array or a list: converted, not cached
        with backend.array_scope(like):
            return backend.get_array_module(like).asarray(value, dtype=dtype)
    return backend.device_constant(("scalar", type(value), value, dtype.str), lambda: np.asarray(value, dtype), like)


def _as_tensors(inputs: Sequence[Any], op: str) -> tuple[Tensor, ...]:
    """Wrap scalars/arrays as constant tensors (matching the first tensor's dtype and
    device) and check that all tensors share one device."""
    ref = next((x for x in inputs if isinstance(x, Tensor)), None)
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(x)
        elif ref is not None and isinstance(x, (int, float, bool)) and ref.dtype.kind == "f":
            out.append(Tensor(scalar_like(x, ref.dtype, ref.array)))
        else:
            out.append(Tensor(x, device=None if ref is None else ref.device))
    devices = {t.device for t in out}
    if len(devices) > 1:
        raise RuntimeError(f"{op}: expected all tensors on one device, got {', '.join(sorted(devices))}")
    return tuple(out)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors reachable from ``root`` that need a gradient, each after all of its inputs
    (iterative post-order depth-first search, so graph depth is not limited by Python's
    stack). A tensor's "done" marker sits below its inputs on the stack, so it is emitted
    only once every input's subgraph has been."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        fn = t.grad_fn
        if fn is None:
            continue
        if getattr(fn, "released", False):
            raise RuntimeError(
                "Trying to backward through the graph a second time; "
                "pass retain_graph=True to the first backward() call"
            )
        for inp in fn.inputs:
            if inp.requires_grad and id(inp) not in visited:
                stack.append((inp, False))
    return order


def _base_id(a: Any) -> int:
    """Identity of the memory behind ``a`` (the array a chain of views ends in)."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return id(a)


def _holds(fn: Function, array: Any) -> bool:
    """Whether ``fn`` kept (in an attribute, or a tuple/list/dict attribute) an array whose
    memory may overlap ``array``'s."""
    xp = backend.get_array_module(array)
    for v in fn.__dict__.values():
        items = v.values() if isinstance(v, dict) else v if isinstance(v, (tuple, list)) else (v,)
        for a in items:
            if not (isinstance(a, np.ndarray) or backend.is_cupy_array(a)):
                continue
            if xp.may_share_memory(a, array):
                return True
    return False


def _check_saved(fn: Function, out: Tensor) -> None:
    """torch's in-place check: an input (or the output) of ``fn`` that was written in place
    after ``fn`` ran, while ``fn`` keeps that very memory for its backward, would make the
    gradient silently wrong; raise instead. Writes to memory ``fn`` did not keep are fine
    (``y = x + 1; x += 1`` still differentiates, as in torch)."""
    changed = [(i, t) for i, (t, v) in enumerate(zip(fn.inputs, fn.versions)) if t._version != v]
    if out._version != fn.out_version:
        changed.append(("output", out))
    for which, t in changed:
        if _holds(fn, t.array):
            expected = fn.out_version if which == "output" else fn.versions[which]
            what = "its output" if which == "output" else f"input {which}"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: {what} of {type(fn).__name__}, of shape {t.shape}, is at version {t._version}; "
                f"expected version {expected} instead"
            )


def run_backward(root: Tensor, grad: Any, retain_graph: bool = False) -> None:
    """Walk the graph from ``root`` backwards, summing gradients per tensor.

    Backward functions never modify their incoming gradient, but may pass it on unchanged
    or as a view (``Add`` hands ``gy`` to both inputs). Leaves store their gradient without
    a copy unless its memory already backs another leaf's ``.grad`` from this pass, so no
    two ``.grad`` arrays ever share memory.
    """
    grads: dict[int, Any] = {id(root): grad}
    leaf_bases: set[int] = set()  # memory given to leaves in this pass (kept alive by them)
    for t in reversed(_topological_order(root)):
        g = grads.pop(id(t), None)
        if g is not None:
            with backend.array_scope(g):  # the GPU of this step's arrays (backend.array_scope)
                _backward_step(t, g, grads, leaf_bases, retain_graph)


def _backward_step(t: Tensor, g: Any, grads: dict[int, Any], leaf_bases: set[int], retain_graph: bool) -> None:
    """Give ``g`` = dL/dt to a leaf's ``.grad``, or pass it through ``t``'s op to its inputs."""
    fn = t.grad_fn
    if fn is None:
        if t.grad is None:
            base = _base_id(g)
            if base in leaf_bases:
                g = g.copy()
                base = id(g)
            leaf_bases.add(base)
            t.grad = Tensor(g)
        elif getattr(getattr(t.grad.array, "flags", None), "writeable", True):
            t.grad.array += g  # the leaf owns this memory (see above): accumulate in place
        else:
            t.grad.array = t.grad.array + g
        return
    if t._retain_grad:
        t.grad = Tensor(g.copy()) if t.grad is None else Tensor(t.grad.array + g)
    _check_saved(fn, t)
    in_grads = fn.backward(g)
    if not isinstance(in_grads, tuple):
        in_grads = (in_grads,)
    for inp, gi in zip(fn.inputs, in_grads):
        if gi is None or not inp.requires_grad:
            continue
        if gi.shape != inp.array.shape:
            raise RuntimeError(
                f"{type(fn).__name__}.backward returned a gradient of shape {tuple(gi.shape)} "
                f"for an input of shape {inp.shape}"
            )
        if gi.dtype != inp.array.dtype:
            gi = gi.astype(inp.array.dtype)
        key = id(inp)
        grads[key] = gi if key not in grads else grads[key] + gi
    if not retain_graph:
        fn.release()


from . import ops as _ops  # noqa: E402  (ops subclass Function, so they load after it)
