"""Tensor and define-by-run reverse-mode autograd: tensors and the graph they record.

This file holds the tensor and its graph nodes; the backward pass over them is
:mod:`minicnn.engine` (and the tensor's torch-style method surface, ``x.sum()``,
``x.reshape(...)`` and the like, which only forward to ops, is the mixin in
:mod:`minicnn.tensor_methods`). A :class:`Tensor` wraps one backend array. Calling an op
runs a :class:`Function`: its ``forward`` computes on raw arrays and the Function becomes the
output tensor's graph node, remembering its input tensors. ``Tensor.backward`` hands the
graph to the engine, which orders the nodes topologically, walks them in reverse and asks
each node's ``backward`` for the gradients of its inputs, summed per tensor exactly like
PyTorch accumulates them.

Also here: grad modes (``no_grad``, ``enable_grad``, ``set_grad_enabled``; per thread), the version
counters and the recording of in-place writes (``Tensor._record_inplace``), inference
tensors, and what a node keeps after a pass (``Function.release``: unless
``retain_graph=True``, its inputs and saved arrays are dropped, so activations are freed
as soon as their gradient is known).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import itertools
import sys
import threading
import traceback
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend
from .size import Size
from .tensor_methods import TensorMethods

_new_tuple = tuple.__new__  # Size(a.shape) without its checks: NumPy's dims are ints already

_sequence = itertools.count()  # Function.seq of the next recorded node
_anomaly_enabled = False  # torch's anomaly detection (minicnn/anomaly.py): set by mc.set_anomaly_enabled
_anomaly_check_nan = True


class _Mode(threading.local):
    """The calling thread's grad mode, per thread as torch's: a mode switched in one thread
    leaves the others as they are, and a new thread starts from these class attributes (grad
    on, inference mode off), whatever its parent's mode. (Anomaly mode is process-wide, as
    torch's; autocast's per-thread state is :mod:`minicnn.autocast_state`'s.)"""

    grad = True  # graph recording: no_grad, enable_grad, set_grad_enabled, a backward pass (engine)
    inference = False  # inside mc.inference_mode(): new tensors are inference tensors


_mode = _Mode()
# process-wide tallies that spare an op its thread-local reads while no thread has switched: one
# entry per switch, added and removed by list.append and list.pop (atomic: no lock). A thread
# that ends with grad off stays counted: ops then read _mode.grad, which is still right.
_grad_off: list[None] = []  # one entry per thread whose grad mode is off: while empty, grad is on everywhere
_inference_blocks: list[None] = []  # one per open inference_mode block: while empty, inference mode is off


def _set_grad(on: bool) -> None:
    """Switch the calling thread's grad mode (every switch comes here, to keep ``_grad_off``)."""
    if on != _mode.grad:
        if on:
            _grad_off.pop()
        else:
            _grad_off.append(None)
    _mode.grad = on


def _count_inference_block(opens: bool) -> None:
    """Count an ``inference_mode`` block that turns inference mode on, as it opens or closes."""
    if opens:
        _inference_blocks.append(None)
    else:
        _inference_blocks.pop()


def is_grad_enabled() -> bool:
    """Whether ops record a graph in the calling thread (torch.is_grad_enabled)."""
    return _mode.grad


class set_grad_enabled(contextlib.ContextDecorator):  # noqa: N801 - torch's name
    """Turn graph recording on or off, as torch's: called plainly it switches at once
    (``mc.set_grad_enabled(False)``); as a context manager until the block ends; as a
    decorator inside the function only."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'enabled' must be bool, not {type(mode).__name__}")
        self.mode = mode
        self._saved: list[bool] = []
        self._before: bool | None = None
        if type(self) is set_grad_enabled:  # the plain call takes effect now (no_grad() does not)
            self._before = _mode.grad
            _set_grad(mode)

    def __call__(self, func: Any) -> Any:  # used as a decorator: undo the switch made by __init__
        if self._before is not None:
            _set_grad(self._before)
            self._before = None
        if inspect.isgeneratorfunction(func):
            return _wrap_generator(self, func)
        return super().__call__(func)

    def __enter__(self) -> None:
        self._saved.append(_mode.grad if self._before is None else self._before)
        self._before = None
        _set_grad(self.mode)

    def __exit__(self, *exc: Any) -> None:
        _set_grad(self._saved.pop())

    def _recreate_cm(self) -> set_grad_enabled:
        """A fresh copy for each call of a decorated function (as torch's decorators): its stack
        of saved modes is then the calling thread's alone, when threads call it at once."""
        cm = object.__new__(type(self))
        cm.__dict__.update(self.__dict__)
        cm._saved = []
        return cm


def _wrap_generator(mode: Any, func: Any) -> Any:
    """A generator function whose body runs inside ``mode`` at each resumption (torch's): the
    caller's setting holds between its yields."""

    @functools.wraps(func)
    def generator(*args: Any, **kwargs: Any) -> Any:
        mode_here = mode._recreate_cm()  # (this generator's own, as a decorated function's call)
        gen = func(*args, **kwargs)
        try:
            with mode_here:
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with mode_here:
                        gen.close()
                    raise
                except BaseException:
                    with mode_here:
                        response = gen.throw(*sys.exc_info())
                else:
                    with mode_here:
                        response = gen.send(request)
        except StopIteration as e:
            return e.value

    return generator


class _GradMode(set_grad_enabled):
    """A fixed mode, usable as ``with mode():``, ``@mode()`` and bare ``@mode`` (torch's
    ``orig_func``)."""

    MODE = False

    def __new__(cls, orig_func: Any = None) -> Any:
        self = super().__new__(cls)
        if orig_func is None:
            return self
        self.__init__()
        return self(orig_func)

    def __init__(self, orig_func: Any = None) -> None:
        super().__init__(self.MODE)


class no_grad(_GradMode):  # noqa: N801
    """``with mc.no_grad():`` records no graph (inference, optimiser updates). Also a decorator,
    with or without parentheses."""

    MODE = False


class enable_grad(_GradMode):  # noqa: N801
    """``with mc.enable_grad():`` records a graph again inside a ``no_grad`` block. Also a
    decorator, with or without parentheses."""

    MODE = True


_FLOAT_KINDS = "f"
DEFAULT_DTYPE = np.dtype(np.float32)


def default_dtype(dtype: Any = None) -> np.dtype:
    """``dtype``, or the default float dtype when None (float32 unless ``mc.set_default_dtype``
    changed it), read when called: layers and factories made later follow a change."""
    return np.dtype(DEFAULT_DTYPE) if dtype is None else np.dtype(dtype)


def _as_array(data: Any, dtype: Any = None, device: Any = None):
    """Turn ``data`` into a backend array: Python floats become float32 like torch."""
    if isinstance(data, Tensor):
        data = data.array
    if device is not None:  # converted where it is, then copied once (host -> GPU, GPU -> GPU)
        return backend.to_device(_as_array(data, dtype), device)
    xp = backend.get_array_module(data)
    # a GPU array is converted on its own GPU; values beyond the dtype's range round to inf quietly, as in torch
    with backend.array_scope(data), np.errstate(over="ignore"):
        if dtype is not None:
            try:
                arr = xp.asarray(data, dtype=dtype)
            except OverflowError:  # torch's rule: a negative int wraps into an unsigned dtype, else an error
                arr, dt = np.asarray(data), np.dtype(dtype)
                if dt.kind != "u" or arr.dtype.kind != "i" or arr.max() > np.iinfo(dt).max:
                    raise RuntimeError(f"value cannot be converted to type {dt} without overflow") from None
                arr = xp.asarray(arr.astype(dt))
        elif isinstance(data, (np.ndarray, np.generic)) or backend.is_cupy_array(data):
            # (a 'meta' stand-in, func._MetaArray, stays one: as a plain array its one zero would be computed with)
            arr = data if type(data) is not np.ndarray and getattr(data, "is_meta_array", False) else xp.asarray(data)
        else:
            arr = np.asarray(data)
            if arr.dtype == np.float64:
                arr = arr.astype(_sequence_dtype(data))
    if arr.dtype.kind in "OUSVM":  # objects, strings, bytes, datetimes: not numbers
        raise TypeError(f"a tensor holds numbers or bools; got {type(data).__name__} of dtype {arr.dtype}")
    return arr


def _sequence_dtype(data: Any) -> np.dtype:
    """torch's dtype for a (nested) sequence that NumPy made float64: every Python float counts
    as the default float32, a Python int as int64, a NumPy scalar as its own dtype, and the
    highest category (bool < int < float) decides among them (``[np.float64(1), 2.0]`` is
    float64, ``[np.float16(1), 2]`` float16, ``[1.5, 2.0]`` float32)."""
    if not isinstance(data, (list, tuple)):
        return np.dtype(DEFAULT_DTYPE)  # a Python float
    kinds: set[type] = set()
    stack = [data]
    while stack:
        seq = stack.pop()
        kinds.update(map(type, seq))
        stack.extend(item for item in seq if isinstance(item, (list, tuple)))
    scalars = [np.dtype(k) for k in kinds if issubclass(k, np.generic)]
    if not scalars:
        return np.dtype(DEFAULT_DTYPE)
    dtypes = scalars + [
        np.dtype(d) for k, d in ((float, DEFAULT_DTYPE), (int, np.int64), (bool, np.bool_)) if k in kinds
    ]
    category = {"b": 0, "i": 1, "u": 1, "f": 2}
    top = max(category.get(d.kind, 2) for d in dtypes)
    return np.result_type(*[d for d in dtypes if category.get(d.kind, 2) == top])


class Tensor(TensorMethods):
    """An n-dimensional array that remembers how it was computed.

    Attributes: ``array`` (the raw NumPy/CuPy array), ``requires_grad``, ``grad`` (a Tensor
    or None), ``grad_fn`` (the Function that produced it, None for leaves).
    """

    __array_priority__ = 1000  # make ``ndarray + Tensor`` call Tensor.__radd__
    # version counter, shared with views: [in-place writes so far, the count at the last write
    # that autograd recorded] (see _version); the version at which grad_fn was recorded
    _vc: list[int] | None = None
    _graph_version = 0
    _superseded_by: Tensor | None = None  # the result of a recorded in-place op on this tensor
    _view_of: Tensor | None = None  # the input this tensor is a view of (made by an op)
    _view_index: Any = None  # for a view made by basic indexing (x[i], x[a:b]): the index
    _view_inverse: Any = None  # for a view of all of its input (reshape, permute): view -> input's shape
    _hooks: dict[int, Any] | None = None  # register_hook's functions
    _post_hooks: dict[int, Any] | None = None  # register_post_accumulate_grad_hook's (leaves)
    _grad_fn: Function | None = None  # the op that made it (grad_fn)
    _inference = False  # made inside inference_mode (or a view of such a tensor): torch's inference tensor
    _no_inplace: str | None = None  # why a recorded in-place write to it is refused (torch's error message)
    _cut_write = False  # written through an as_strided/unfold view by a recorded write its history lacks
    _stub: Tensor | None = None  # what a released node that saved nothing keeps of it (autograd._stub)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, device: Any = None) -> None:
        """Wraps ``data`` (an array keeps its dtype; a Python list or tuple becomes the default
        float dtype, as ``torch.Tensor([0])`` is ``tensor([0.])``: mc.tensor infers it instead)."""
        if dtype is None and isinstance(data, (list, tuple)):  # torch.Tensor([0]) is tensor([0.])
            dtype = default_dtype()
        self.array = _as_array(data, dtype, device)
        self._grad: Tensor | None = None
        self._grad_fn: Function | None = None
        self._requires_grad = False
        self._retain_grad = False
        self.requires_grad = requires_grad
        if _inference_blocks and _mode.inference:
            self._inference = True

    # -- version counter ----------------------------------------------------------------
    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has seen (0 if none). A tensor made
        as a view of another (reshape, transpose, basic indexing...) shares its counter, as
        in torch, so backward can tell when memory an op kept was written (engine._check_saved)."""
        return 0 if self._vc is None else self._vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        if self._vc is None:
            self._vc = [0, 0]
        self._vc[0] = value

    def _share_version(self, other: Tensor) -> None:
        if other._vc is None:
            other._vc = [0, 0]
        self._vc = other._vc

    # -- basic properties -------------------------------------------------------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward (leaves, and tensors that retain_grad()). Read
        through an alias of a tensor that a recorded in-place op rewrote, it is the result's. A
        non-leaf that does not retain its gradient has none: reading it warns, as torch."""
        t = self if self._superseded_by is None else _latest(self)
        if t._grad is None and t._grad_fn is not None and not t._retain_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
                "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return t._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:  # torch's checks: a tensor of this tensor's dtype, shape and device
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None, got {type(value).__name__}")
            for what, got, own in (
                ("dtype", value.dtype, self.dtype),
                ("size", list(value.shape), list(self.shape)),
                ("device", value.device, self.device),
            ):
                if got != own:
                    raise RuntimeError(f"attempting to assign a gradient of {what} {got} to a tensor of {what} {own}")
        (self if self._superseded_by is None else _latest(self))._grad = value  # (the getter's tensor)

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad if self._superseded_by is None else _latest(self)._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.array.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(f"only floating point tensors can require gradients, got dtype {self.array.dtype}")
        if not flag and self.grad_fn is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use .detach()")
        if flag and self._inference and not _mode.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.")
        (self if self._superseded_by is None else _latest(self))._requires_grad = bool(flag)  # (the getter's)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        _latest(self).requires_grad = requires_grad  # (on the leaf that detach_ left, where it did)
        return self

    def is_inference(self) -> bool:
        """Whether this is an inference tensor (torch's): made inside ``mc.inference_mode()``, or a
        view of one. Outside inference mode it cannot require grad, be written in place, or be
        kept for backward by a recorded op."""
        return self._inference

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """torch's: a leaf is copied with everything it holds (data, requires_grad, grad) and a
        version counter of its own; a tensor with a history raises, as torch's does, rather
        than copying the graph behind it."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at "
                "the moment; this one has a history (grad_fn): detach() it, or copy the leaves it came from"
            )
        result = object.__new__(type(self))
        memo[id(self)] = result
        for name, value in self.__dict__.items():
            result.__dict__[name] = None if name == "_vc" else copy.deepcopy(value, memo)
        return result

    @property
    def grad_fn(self) -> Function | None:
        """The op that made this tensor (None for a leaf); read through an alias of a tensor that a
        recorded in-place op rewrote, the op of the result, as torch's single tensor object shows."""
        fn = self._grad_fn if self._superseded_by is None else _latest(self)._grad_fn
        return fn if fn is None or fn.shown_as is None else fn.shown_as[0]

    @property
    def is_leaf(self) -> bool:
        return _latest(self)._grad_fn is None

    @property
    def _base(self) -> Tensor | None:
        """torch's ``_base``: for a view (made by a view op: slicing, reshape, transpose...), the
        tensor whose memory it views, the first one of a chain of views; None for a tensor that
        is not a view. (A tensor that a recorded in-place op rewrote is a new object in minicnn:
        ``v._base`` is the object the view was taken from.)"""
        t = _latest(self)._view_of
        if t is None:
            return None
        while t._view_of is not None:
            t = t._view_of
        return t

    def _is_view(self) -> bool:
        """torch's ``_is_view()``: whether this tensor is a view of another (see :attr:`_base`)."""
        return _latest(self)._view_of is not None

    @property
    def shape(self) -> Size:
        """The dims as an ``mc.Size`` (a tuple: ``x.shape == (2, 3)`` holds; ``x.shape.numel()``)."""
        return _new_tuple(Size, self.array.shape)

    def size(self, dim: int | None = None):
        """``mc.Size`` of the dims, or the size of dim ``dim`` (an int)."""
        return _new_tuple(Size, self.array.shape) if dim is None else self.array.shape[dim]

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
        a = value.array if isinstance(value, Tensor) else _as_array(value)
        self.array = _latest(self).array = a  # (also the alias's own, which its reads use)

    def numel(self) -> int:
        return int(self.array.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        from .tensor_str import format_tensor  # noqa: PLC0415  (torch's look; mc.set_printoptions)

        self = _latest(self)
        return format_tensor(
            backend.to_numpy(self.array), device=self.device, default_dtype=default_dtype(),
            grad_fn=self.grad_fn, requires_grad=self.requires_grad,
        )  # fmt: skip

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
        """A new leaf sharing the data (and its version counter: an in-place write to either is
        seen by backward through the other), cut from the graph. Having no history, it never goes
        stale: a write autograd records into the memory, before or after, does not refuse it (torch's)."""
        out = Tensor(self.array)
        out._share_version(self)
        out._graph_version = np.inf
        return out

    def detach_(self) -> Tensor:
        self = _latest(self)
        if self._view_of is not None:  # its base would keep a history the view no longer has
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        if self._grad_fn is not None:  # nodes recorded before (a view's) keep its history, as torch's edges do:
            out = self.detach()  # a new leaf on its memory stands for it from now on (as after an in-place op)
            out._retain_grad = self._retain_grad  # (kept on self too: its old node still fills .grad, the leaf's)
            self._superseded_by = out
            return self  # (torch's own object; reads through it see the new leaf)
        self._grad_fn = None
        self._requires_grad = False
        return self

    def clone(self) -> Tensor:
        return _ops.clone(self)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``.to(device)``, ``.to(dtype)``, both, or ``.to(other)`` (other's device and dtype);
        differentiable like torch's. Returns ``self`` when nothing changes, unless ``copy=True``.
        (``non_blocking`` is accepted: copies are synchronous.)"""
        device = kwargs.get("device")
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) or isinstance(a, tuple):
                device = a
            else:
                dtype = a
        out = self
        if device is not None and backend.device_str(device) != self.device:
            out = _ops.to_device(out, device)
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = _ops.astype(out, dtype)
        if out is self and kwargs.get("copy", False):
            out = _ops.clone(self)
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

    def int(self) -> Tensor:
        return self.to(np.int32)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """torch's ``type()``: with no ``dtype`` the type string ("torch.FloatTensor"); else this
        tensor converted to ``dtype`` (a dtype, ``mc.LongTensor``, or "torch.LongTensor")."""
        from .legacy_types import tensor_type  # noqa: PLC0415

        return tensor_type(self, dtype, non_blocking, **kwargs)

    # -- autograd -----------------------------------------------------------------------
    def register_hook(self, hook: Any) -> Any:
        """Call ``hook(grad)`` with the gradient of this tensor when backward computes it; a
        returned tensor replaces it (for a leaf, before it is added to ``.grad``), as torch's.
        Returns a handle whose ``remove()`` unregisters the hook."""
        t = _latest(self)
        if not t.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if t._hooks is None:
            t._hooks = {}
        return _add_hook(t._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call ``hook(tensor)`` on this leaf each time backward has added to its ``.grad``
        (after its :meth:`register_hook` hooks), as torch's (e.g. to step an optimiser inside
        backward). Returns a handle whose ``remove()`` unregisters the hook."""
        t = _latest(self)
        if not t.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if t._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if t._post_hooks is None:
            t._post_hooks = {}
        return _add_hook(t._post_hooks, hook)

    @property
    def retains_grad(self) -> bool:
        """Whether this non-leaf keeps its ``.grad`` after backward (:meth:`retain_grad`); as torch's flag, it
        stays set on a tensor that ``detach_`` made a leaf."""
        return _latest(self)._retain_grad

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward (a leaf keeps it anyway: a no-op, as torch's)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        t = _latest(self)
        if t._grad_fn is not None:
            t._retain_grad = True

    def zero_grad(self) -> None:
        self.grad = None

    def backward(
        self,
        grad: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
        *,
        gradient: Any = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``, or with ``inputs`` only into
        those tensors' (leaves or not). ``gradient=`` is torch's name for ``grad``.
        ``create_graph=True``: the gradients get a graph of their own (:func:`backward`)."""
        backward(self, gradient if grad is None else grad, retain_graph, create_graph, inputs=inputs)

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

    def __floordiv__(self, other: Any) -> Tensor:
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _ops.remainder(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def _inplace(self, other: Any, op: str) -> Tensor:
        """``x += y`` (and -=, *=, /=, //=, %=, **=), as in torch: the result is written into x's memory,
        so every alias and view of x sees it. With no graph to record (an optimiser step under
        ``no_grad``) that is all; otherwise see :meth:`_record_inplace`."""
        self = _latest(self)
        _check_inference_write(self)
        if not _records(self, other):
            _check_writable(self.array, f"__i{op}__")
            # on the tensor's GPU, whichever is current; overflow to inf, inf - inf, x / 0 quietly, as in torch
            with backend.array_scope(self.array), np.errstate(all="ignore"):
                try:
                    if op in ("floordiv", "mod") or (op == "sub" and _is_bool(other)):
                        raise TypeError  # torch's rules, not NumPy's: an integer division by 0 raises, a bool - refused
                    getattr(self.array, f"__i{op}__")(other.array if isinstance(other, Tensor) else other)
                except (TypeError, ValueError, OverflowError):  # NumPy's rules refused: torch's decide
                    out = getattr(self.detach(), f"__{op}__")(other.detach() if isinstance(other, Tensor) else other)
                    self.array[...] = _inplace_result(out, self, f"__i{op}__").array
            self._version += 1
            return self
        return self._record_inplace(lambda old: getattr(old, f"__{op}__")(other), f"__i{op}__")

    def _record_inplace(self, compute: Any, what: str, written: bool = False, counted: bool = False) -> Tensor:
        """An in-place write that autograd records. The op runs out of place on a copy of the
        old value (so its backward keeps what it needs), the result is written into this
        tensor's memory, and a new tensor on that memory becomes the op's output. Ops given
        this tensor afterwards use that output (``_latest``); graph nodes recorded before keep
        the old value's history, as torch's version-tracked graph does. Refused like torch: a
        leaf that requires grad, or a view of one; a result of another shape, or of a dtype
        that cannot be cast back. ``written``: the memory already holds the result (a base
        re-described after a write through its view), only the graph changes; ``counted``: the
        version counter already counts the write (the view's, which torch counts once)."""
        _check_inference_write(self)
        if self._no_inplace is not None:
            raise RuntimeError(self._no_inplace)
        base = self
        while base is not None:  # torch's test for a view: it requires grad and its base is a leaf
            if base.is_leaf and (base.requires_grad or (base is not self and self._requires_grad)):
                kind = "a leaf Tensor" if base is self else "a view of a leaf Tensor"
                raise RuntimeError(f"{what}: {kind} that requires grad is being used in an in-place operation")
            base = base._view_of
        out = _inplace_result(compute(_ops.clone(self)), self, what)
        if not written:
            _check_writable(self.array, what)
            with backend.array_scope(self.array):
                self.array[...] = out.array
        if not counted:
            self._version += 1
        self._vc[1] = self._vc[0]  # views of this memory computed before now are stale
        out.array = self.array
        out._share_version(self)
        out._view_of, out._view_index, out._view_inverse = self._view_of, self._view_index, self._view_inverse
        out._graph_version = out._version
        out._retain_grad, self._retain_grad = self._retain_grad, False
        if out._grad_fn is not None:
            out._grad_fn.out_version = out._version
        self._superseded_by = out
        if self._view_of is not None and (self._view_index is not None or self._view_inverse is not None):
            # a write through a view v of y: y's own history must now say y[index] = out (torch's
            # CopySlices), or for a view of all of y (reshape, transpose) y = inverse(out);
            # recorded on y the same way, so y (and its base, if y is a view) go on
            if self._view_index is not None:
                index = self._view_index
                rebuild = lambda old: _ops.index_put(old, index, out)  # noqa: E731
            else:
                inverse = self._view_inverse
                rebuild = lambda old: inverse(out)  # noqa: E731
            base = _latest(self._view_of)
            base._graph_version = base._vc[1]  # the rebuilt node below describes the new values
            base._record_inplace(rebuild, what, written=True, counted=True)
            out._graph_version = out._version
        elif self._view_of is not None:  # (as_strided, unfold) no history of the bases is rebuilt: their later
            base = self._view_of  # use, or that of their older views, is refused (_view_in_graph), not cut off
            while base is not None:
                _latest(base)._cut_write = True
                base = base._view_of
        return out

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, "add")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, "sub")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, "mul")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, "truediv")

    def __ipow__(self, other: Any) -> Tensor:
        return self._inplace(other, "pow")

    def __ifloordiv__(self, other: Any) -> Tensor:
        return self._inplace(other, "floordiv")

    def __imod__(self, other: Any) -> Tensor:
        return self._inplace(other, "mod")

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value`` in x's memory; recorded by autograd (see :meth:`_record_inplace`)
        when x or value requires grad, so both get their gradients, as in torch."""
        self = _latest(self)
        _check_inference_write(self)
        index = _ops.plain_index(index, copy=_records(self, value))
        if _records(self, value):
            value = _latest(value) if isinstance(value, Tensor) else value
            if isinstance(value, Tensor) and _written_already(self, index, value):
                self._vc[0] += 1  # the end of Python's ``y[index] op= v``, recorded on y by the view's
                return  # write; torch's copy_ back counts as a write of its own
            self._record_inplace(lambda old: _ops.index_put(old, index, value), "setitem")
            return
        value = _latest(value).array if isinstance(value, Tensor) else value
        if isinstance(value, np.ndarray) and backend.is_cupy_array(self.array):
            value = backend.to_device(value, self.device)  # CuPy takes no host array here
        _check_writable(self.array, "setitem")
        with backend.array_scope(self.array):
            mask = _ops.fill_mask(
                index, self.shape, np.shape(value) if not backend.is_cupy_array(value) else value.shape
            )
            if mask is not None:  # x[mask] = 0: no count of the mask's true elements (a GPU wait)
                self.xp.copyto(self.array, self.xp.asarray(value, dtype=self.dtype), where=mask)
            else:
                _ops.write_index(self.array, index, value)
        self._version += 1

    # in-place methods (torch's trailing underscore), recorded like ``x += y``
    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace(other if alpha == 1 else other * alpha, "add")

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace(other if alpha == 1 or _is_bool(other) else other * alpha, "sub")  # (a bool: refused)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(other, "mul")

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return self._inplace(other, "truediv")
        return _inplace_form("div", "div_")(self, other, rounding_mode=rounding_mode)

    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace(exponent, "pow")

    def copy_(self, src: Any) -> Tensor:
        self[...] = src
        return _latest(self)

    def fill_(self, value: Any) -> Tensor:
        self[...] = value
        return _latest(self)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return _inplace_form("clip", "clamp_")(self, min, max)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        t = _latest(self)
        shape = np.broadcast_shapes(tuple(mask.shape if isinstance(mask, Tensor) else np.shape(mask)), t.shape)
        if shape != t.shape:
            raise RuntimeError(f"masked_fill_: output with shape {t.shape} doesn't match the broadcast shape {shape}")
        if not _records(t, value):
            return t.copy_(t.detach().masked_fill(mask, value.detach() if isinstance(value, Tensor) else value))
        return t._record_inplace(lambda old: old.masked_fill(mask, value), "masked_fill_")

    def _fillable(self, what: str) -> Tensor:
        """The tensor a random fill writes into; refused for one that requires grad while grad
        mode is on (a leaf: torch's error; a non-leaf: the fill would not be recorded), and for an
        inference tensor outside inference mode."""
        t = _latest(self)
        _check_inference_write(t)
        if _mode.grad and t.requires_grad:
            if t._grad_fn is None:
                raise RuntimeError(
                    f"{what}: a leaf Variable that requires grad is being used in an in-place operation."
                )
            raise RuntimeError(f"{what}: a random fill of a tensor in a graph is not recorded; clone() or detach() it")
        return t

    # comparisons and bitwise ops give non-differentiable tensors
    def _compare(self, other: Any, op: str) -> Tensor:
        a, b = self.array, other.array if isinstance(other, Tensor) else other
        if isinstance(other, Tensor) and a.dtype != b.dtype and "f" in (a.dtype.kind, b.dtype.kind):
            dt = _ops.math.result_dtype(self, other)  # compared in torch's promoted dtype (float16 vs a float64 0-d)
            a, b = a.astype(dt, copy=False), b.astype(dt, copy=False)
        with backend.array_scope(self.array), np.errstate(over="ignore"):  # (x < 1e300: the number cast to inf)
            try:
                return Tensor(getattr(a, op)(b))
            except ValueError as e:
                raise _broadcast_error(op.strip("_"), [a, b], e) from e

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

    def __and__(self, other: Any) -> Tensor:
        return _ops.bitwise_and(self, other)

    def __or__(self, other: Any) -> Tensor:
        return _ops.bitwise_or(self, other)

    def __xor__(self, other: Any) -> Tensor:
        return _ops.bitwise_xor(self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self) -> Tensor:
        if self.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise not): only bool and integer tensors, got {self.dtype}")
        with backend.array_scope(self.array):
            return Tensor(~self.array)

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    __hash__ = object.__hash__


def can_cast(src: Any, dst: Any) -> bool:
    """torch's rule for writing a result into a tensor (in-place ops, ``out=``): no float into an
    integer or bool tensor, no integer into a bool one; all else casts (int64 into uint8 wraps)."""
    src, dst = np.dtype(src), np.dtype(dst)
    return not ((src.kind == "f" and dst.kind in "biu") or (src.kind in "iu" and dst.kind == "b"))


def _is_bool(v: Any) -> bool:
    """``v`` is a Python bool or a bool tensor (which torch refuses to subtract)."""
    return type(v) is bool or (isinstance(v, Tensor) and v.dtype == np.bool_)


def _inplace_result(out: Tensor, t: Tensor, what: str) -> Tensor:
    """``out``, the result of an in-place op on ``t``, checked as torch does (same shape, a dtype
    that :func:`can_cast` into t's) and cast to t's dtype."""
    if out.shape != t.shape:
        raise RuntimeError(
            f"{what}: output with shape {list(t.shape)} doesn't match the broadcast shape {list(out.shape)}"
        )
    if out.dtype == t.dtype:
        return out
    if not can_cast(out.dtype, t.dtype):
        raise RuntimeError(f"{what}: result type {out.dtype} can't be cast to the desired output type {t.dtype}")
    return _ops.astype(out, t.dtype)


def _inplace_form(name: str, public: str | None = None) -> Any:
    """``t.<name>_(...)``: ``t.<name>(...)`` written into t's memory, recorded in the graph when
    t or a tensor argument requires grad (see :meth:`Tensor._record_inplace`), as torch's.
    ``public``: the method's name in error messages (default ``<name>_``)."""
    label = public or f"{name}_"

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        t = _latest(self)
        if any(_records(t, a) for a in (*args, *kwargs.values(), None)):
            return t._record_inplace(lambda old: getattr(old, name)(*args, **kwargs), label)
        return t.copy_(_inplace_result(getattr(t.detach(), name)(*args, **kwargs), t, label))

    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"In-place :meth:`{name}` (torch's ``{name}_``)."
    return method


# torch's in-place twins of ops that keep the shape: x.exp_(), x.relu_(), x.scatter_(dim, index, src)...
INPLACE = (
    "abs", "neg", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "reciprocal", "rsqrt",
    "square", "floor", "ceil", "round", "trunc", "frac", "sign", "log1p", "expm1", "log2", "log10",
    "clamp_min", "clamp_max", "fmod", "remainder", "lerp", "floor_divide", "cumsum", "scatter", "scatter_add",
    "scatter_reduce",
    "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "exp2", "fix", "atan2", "arctan2",
    "hypot", "cumprod", "tril", "triu", "addmm",
    # ops/math_extra.py, ops/special_math.py
    "erf", "erfc", "erfinv", "lgamma", "i0", "sinc", "logit", "deg2rad", "rad2deg", "absolute", "nan_to_num",
    # ops/shape_extra.py, ops/index_extra.py
    "index_add", "index_copy", "index_fill", "index_put", "masked_scatter", "put",
    # ops/stats.py, ops/search.py, ops/cdist.py
    "renorm",
    # ops/aliases.py, ops/aliases_tensor.py
    "clip", "divide", "multiply", "subtract", "true_divide", "negative",
    # ops/ops_extra.py, ops/native.py, ops/segment.py (torch's remaining top-level ops)
    "index_reduce",
)  # fmt: skip
for _name in INPLACE:
    setattr(Tensor, f"{_name}_", _inplace_form(_name))


class Function:
    """One differentiable op: ``forward`` and ``backward`` side by side, on raw arrays.

    Subclasses implement
      * ``forward(self, *xs) -> y``: compute the output from input arrays; save on ``self``
        what backward needs (skip saving when ``self.requires_grad`` is False);
      * ``backward(self, gy) -> gx`` or a tuple with one entry per input (None where an
        input needs no gradient; ``self.needs_input_grad[i]`` says which do).
    Non-tensor settings (axis, stride, ...) are keyword arguments of ``apply``.

    Higher-order gradients (``create_graph=True``) need the backward as differentiable ops on
    tensors. An op gives it one of three ways (see :meth:`backward_graph`): ``linear = True``
    (its backward is a linear map of ``gy`` alone), ``composite(*xs)`` (its forward written
    in other ops), or its own ``backward_graph(gy, *xs)``. Under create_graph an input written
    in place since the forward is refused if backward_graph reads it (``graph_reads``); one that
    reads the op's output instead (``graph_output``: ``backward_graph(gy, *xs, out=y)``) lets
    the input change, as torch's saved-output ops (tanh, sigmoid, softmax) do.
    """

    inputs: tuple[Tensor, ...] = ()
    requires_grad: bool = False
    needs_input_grad: tuple[bool, ...] = ()
    linear: bool = False  # jointly linear in its float inputs (reshape, sum, pad with 0, avg_pool...)
    tied: bool = False  # a linear op whose gradient torch ties to its input (its backward reads it: pools)
    # what backward_graph reads (create_graph refuses an input written in place since the forward
    # only if it is read): the inputs whose values it reads (None: all; a linear op's float inputs
    # never count), and whether it takes the op's output as ``out=`` (tanh: gy * (1 - out^2)),
    # which then must not have been written either (torch checks the tensors it saved, the same);
    # a node may set its own graph_reads in forward (max(dim) reads no input)
    graph_reads: tuple[int, ...] | None = None
    graph_output: bool = False
    # a binary op whose backward_graph reads each input only for the other's gradient (mul, matmul), as torch
    # saves it: then graph_reads is the inputs whose partner needs a gradient
    graph_reads_crossed: bool = False
    released: bool = False  # set by release(): the node ran backward and dropped what it kept
    stubbed: bool = False  # set by keep_edges(): its inputs are value-less stubs (_StubTensor)
    seq: int = 0  # creation order of the recorded nodes (torch's sequence_nr): backward runs later ones first
    calls_user_code: bool = False  # its backward calls the user's functions (module backward hooks)
    shown_as: tuple[Any, int] | None = None  # (node, output index) that grad_fn/next_functions show instead

    def __init__(self, **params: Any) -> None:
        for key, value in params.items():  # (not self.__dict__.update: touching __dict__ turns the node's
            setattr(self, key, value)  # compact attribute storage into a plain dict, slower on every later access)
        self._params = params  # the settings, to apply the op again (Adjoint, double backward)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass written as torch's (``forward(ctx, ...)`` a staticmethod on tensors) is
        applied by :mod:`minicnn.custom_function` instead of the array-level ``apply`` below."""
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            from . import custom_function  # noqa: PLC0415

            cls.apply = classmethod(custom_function.apply)
            if "vjp" in cls.__dict__ and "backward" not in cls.__dict__:  # torch's other name for it
                cls.backward = cls.__dict__["vjp"]

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        fn = cls(**params)
        tensors = _as_tensors(inputs, cls.__name__)
        needs = tuple([t._requires_grad for t in tensors])  # (the latest tensors: _as_tensors)
        grad_enabled = not _grad_off or _mode.grad
        fn.requires_grad = grad_enabled and True in needs
        fn.needs_input_grad = needs if fn.requires_grad else (False,) * len(needs)
        if fn.requires_grad:
            versions = []
            for t in tensors:
                if t._inference and not cls.linear:  # (an op that is not linear keeps its inputs)
                    raise _inference_saved()
                vc = t._vc
                if vc is None:
                    versions.append(0)
                    continue
                if vc[1] > t._graph_version:
                    raise _stale(cls.__name__, t)
                versions.append(vc[0])
            fn.versions = tuple(versions)
        elif grad_enabled:  # a view that a recorded write to its memory put in the graph (torch regenerates it)
            for t in tensors:
                vc = t._vc
                if vc is not None and vc[1] > t._graph_version and _view_in_graph(t):
                    raise _stale(cls.__name__, t)
        # inf - inf is NaN quietly, as in torch (and in the backward pass); ops on GPU arrays run on their GPU
        if backend.cupy_if_loaded() is None:  # (no GPU: no device to enter, a third of a microsecond saved)
            y = _quiet_forward(fn, [t.array for t in tensors])
        else:
            with backend.array_scope(tensors[0].array if tensors else None):
                y = _quiet_forward(fn, [t.array for t in tensors])
        if isinstance(y, np.generic):  # NumPy reductions give scalars: keep a (writable) 0-d array
            y = np.asarray(y)
        if fn.requires_grad and y.dtype.kind not in _FLOAT_KINDS:  # integer/bool results: constants
            fn.requires_grad = False
        out = Tensor.__new__(Tensor)
        out.array, out._grad, out._retain_grad = y, None, False
        out._requires_grad = fn.requires_grad
        out._grad_fn = None
        if _inference_blocks and _mode.inference:
            out._inference = True
        if getattr(y, "base", None) is not None:  # a view of an input shares its version counter
            base = _base_id(y)
            for t in tensors:
                if _base_id(t.array) == base:  # the same memory behind both (no device call)
                    out._share_version(t)
                    out._view_of = t
                    out._inference = t._inference
                    out._graph_version = out._vc[0]  # (for one that needs no grad: see _view_in_graph)
                    if not grad_enabled:  # torch's view made under no_grad: refuses a recorded in-place write;
                        out._requires_grad, out._no_inplace = t._requires_grad, NO_GRAD_VIEW  # a leaf, given no grad
                    elif t._no_inplace is not None:  # (torch's creation meta: a view of such a view inherits it)
                        out._no_inplace = t._no_inplace
                    break
        if fn.requires_grad:
            fn.seq = next(_sequence)
            fn.inputs = tensors
            fn.out_version = out._graph_version = 0 if out._vc is None else out._vc[0]
            out._grad_fn = fn
            if _anomaly_enabled:  # torch's anomaly mode: remember where the forward ran (minicnn/anomaly.py)
                fn.forward_stack = traceback.extract_stack()[:-1]
        return out

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError

    def backward(self, gy: Any) -> Any:
        raise NotImplementedError

    def backward_part(self, gy: Any) -> tuple[Any, Any] | None:
        """For an op of one input whose gradient is zero outside one block ``x[index]`` (a basic
        index: slices, ints, None, ...): ``(index, block)``. The backward pass then adds
        ``block`` into ``gx[index]`` without a zero array of x's size per op, so cutting x into k
        pieces costs O(x.size) backward, not O(k * x.size). None (the default): use ``backward``."""
        return None

    def backward_graph(self, gy: Tensor, *xs: Tensor) -> Tensor | tuple[Tensor | None, ...]:
        """``backward`` in differentiable ops on tensors (``create_graph=True``): ``gy`` and the
        inputs ``xs`` are tensors in the graph, and so is every returned gradient, which makes
        it differentiable again. The default serves two kinds of op:

          * ``linear = True``: gx_i = A_i^T gy does not depend on ``xs``; each is an
            :class:`Adjoint` node running this op's ``backward``, whose own derivative is the
            op applied again (d<gx_i, v>/dgy = A_i v);
          * ``composite(self, *xs) -> y``, the forward in other ops: gx is the gradient of
            sum(composite(xs) * gy), taken with a graph (the forward is computed again).

        Other ops override it with their derivative written in ops (``Mul``: gy * b, gy * a).
        A linear op with ``tied = True`` returns its gradients tied to the inputs (:func:`tie`),
        as torch does where its backward takes the input (the pools): what comes before the
        input then gets a zero second derivative, not none.
        """
        if type(self).linear:  # the class flag: an op may keep an attribute of that name
            shared: dict[str, Any] = {}  # one run of the raw backward for all the Adjoints (cat of k: 1, not k)
            grads = [
                Adjoint.apply(gy, node=self, index=i, shared=shared) if need else None
                for i, need in enumerate(self.needs_input_grad)
            ]
            if self.tied:  # (a class flag, or a setting of this call)
                grads = [None if g is None else tie(g, x) for g, x in zip(grads, xs)]
            return tuple(grads)
        composite = getattr(self, "composite", None)
        if composite is None:
            raise NotImplementedError(
                f"{type(self).__name__}: create_graph=True (higher-order gradients) is not supported by this op: "
                "it has no backward_graph, composite or linear form"
            )
        # fresh aliases, so that repeated inputs (x * x) and inputs computed from each other
        # get one partial derivative each, not the total derivative
        alias = [Alias.apply(x) if need else x.detach() for x, need in zip(xs, self.needs_input_grad)]
        wanted = [a for a, need in zip(alias, self.needs_input_grad) if need]
        with set_grad_enabled(True):
            y = composite(*alias)
        gs = iter(grad(y, wanted, gy, create_graph=True, allow_unused=True, materialize_grads=True))
        out = [next(gs) if need else None for need in self.needs_input_grad]
        # a constant gradient (constant gy and parameters) stays tied to its input, as torch's
        return tuple(tie_if_constant(g, x) for g, x in zip(out, xs))

    def release(self) -> None:
        """After a backward pass without retain_graph: drop inputs and saved arrays. As torch frees
        only saved tensors, a linear op that kept only settings (sizes, dims, slices, dtypes: add,
        sum, view, cat, expand...) stays usable; any other is freed (:meth:`free`)."""
        if type(self).linear and not self.tied:  # (the pools keep their input, as torch's do)
            for key, value in self.__dict__.items():
                if key not in _NODE_KEYS and not _plain(value):
                    break
            else:
                self.keep_edges()
                return
        self.free()

    def keep_edges(self) -> None:
        """Replace the inputs by :class:`_StubTensor` s, which hold no values: the node keeps its
        edges (torch's next_functions) and can run again if its backward reads no input."""
        self.inputs = tuple([_stub(t) for t in self.inputs])
        self.stubbed = True

    def free(self) -> None:
        """Drop everything but ``seq`` and the edges (torch's next_functions: a leaf input itself,
        an :class:`_Edge` for another): the node can no longer run backward (torch's freed saved
        tensors), but a pass with ``inputs`` that needs no gradient through it walks past it, as
        torch's does."""
        new = [(t if t._grad_fn is None else _Edge(t._grad_fn)) if t._requires_grad else _NO_EDGE for t in self.inputs]
        self.__dict__ = {"inputs": tuple(new), "seq": self.seq, "released": True}

    def name(self) -> str:
        """torch's name of this node: ``MulBackward0``, ``AddmmBackward0``, ... (minicnn/tensor_str.py)."""
        from .tensor_str import grad_fn_name  # noqa: PLC0415

        return grad_fn_name(self)

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """torch's edges to the nodes of this op's inputs: ``(node, 0)`` per input, the input's
        ``grad_fn``, an :class:`AccumulateGrad` for a leaf that requires grad, None for an input
        that needs no gradient (a freed node keeps them too, as torch's); ``shown_as`` where a node has it."""
        return tuple(_edge_shown(t) for t in self.__dict__.get("inputs", ()))

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


if np.lib.NumpyVersion(np.__version__) >= "2.0.0":

    @np.errstate(all="ignore")  # (NumPy 2's errstate as a decorator: its state per call, half a with block's cost)
    def _quiet_forward(fn: Function, arrays: list[Any]) -> Any:
        """``fn.forward(*arrays)`` with NumPy's floating-point warnings off: torch makes inf and NaN quietly."""
        try:
            return fn.forward(*arrays)
        except ValueError as e:
            raise _broadcast_error(type(fn).__name__, arrays, e) from e

else:  # NumPy 1's decorator shares one state between nested calls

    def _quiet_forward(fn: Function, arrays: list[Any]) -> Any:
        """``fn.forward(*arrays)`` with NumPy's floating-point warnings off: torch makes inf and NaN quietly."""
        with np.errstate(all="ignore"):
            try:
                return fn.forward(*arrays)
            except ValueError as e:
                raise _broadcast_error(type(fn).__name__, arrays, e) from e


def _broadcast_error(op: str, arrays: list[Any], e: ValueError) -> ValueError:
    """NumPy's "could not be broadcast" ValueError in an op's forward as torch's RuntimeError (a
    ShapeError, also a ValueError) naming the op and the shapes; any other ValueError as it is."""
    if isinstance(e, RuntimeError) or "broadcast" not in str(e):
        return e
    from .ops.errors import ShapeError  # (ops load after this module)

    shapes = " and ".join(str(tuple(a.shape)) for a in arrays if hasattr(a, "shape"))
    return ShapeError(f"{op}: operands of shapes {shapes} do not broadcast ({e})")


def _edge_shown(t: Tensor) -> tuple[Any, int]:
    """One entry of :attr:`Function.next_functions`: ``t``'s node (or what it is shown as), an
    :class:`AccumulateGrad` for a leaf that requires grad, else None."""
    fn = t._grad_fn
    if fn is not None:
        return fn.shown_as or (fn, 0)
    return (AccumulateGrad(t) if t._requires_grad and t._no_inplace is not NO_GRAD_VIEW else None, 0)


# what Function.apply (and anomaly mode) put on every node: not values saved for backward
_NODE_KEYS = frozenset(
    ("inputs", "_params", "requires_grad", "needs_input_grad", "versions", "seq", "out_version", "forward_stack")
    + ("backward", "backward_graph", "backward_part")
)
_SCALAR_TYPES = frozenset((type(None), bool, int, float, complex, str, slice, type(Ellipsis)))


def _plain(value: Any) -> bool:
    """Whether a node's attribute is a setting, not a saved value: a number, string, slice,
    dtype, or a tuple, list or dict of those (an array, a tensor or any other object is not)."""
    kind = type(value)
    if kind in _SCALAR_TYPES:
        return True
    if kind is tuple or kind is list or kind is Size:  # (shapes, axes: the common case, checked flat first)
        for item in value:
            inner = type(item)
            if inner in _SCALAR_TYPES:
                continue
            if inner is tuple:  # (a tuple of shapes: Add's, Mul's; one level without a call)
                for sub in item:
                    if type(sub) not in _SCALAR_TYPES and not _plain(sub):
                        return False
            elif not _plain(item):
                return False
        return True
    if kind is dict:
        return all(map(_plain, value.values()))
    if isinstance(value, (tuple, list)):
        return all(map(_plain, value))
    return isinstance(value, (np.dtype, np.generic, type))


class _StubTensor(Tensor):
    """Stands in for a tensor ``t`` among the inputs of a released node that saved nothing: the
    engine sees t's op, shape, dtype, version counter and (while t lives) t's hooks and retained
    gradient, but not its values, which are freed with t, as after torch's backward."""

    _ref: Any = None  # weakref.ref(t)
    _meta: Any = None  # (shape, dtype) of t, for the array made when it is first asked for (NumPy)

    @property
    def array(self) -> Any:  # type: ignore[override]
        """One zero element seen through zero strides: t's shape and dtype, no memory."""
        a = self.__dict__.get("_array")
        if a is None:
            shape, dtype = self._meta
            a = self.__dict__["_array"] = np.ndarray(shape, dtype, np.zeros((), dtype), 0, (0,) * len(shape))
        return a

    @property
    def _hooks(self) -> dict[int, Any] | None:  # type: ignore[override]
        t = self._ref()
        return None if t is None else t._hooks

    @property
    def _retain_grad(self) -> bool:  # type: ignore[override]
        t = self._ref()
        return t is not None and t._retain_grad

    @property
    def _grad(self) -> Tensor | None:  # type: ignore[override]
        t = self._ref()
        return None if t is None else t._grad

    @_grad.setter
    def _grad(self, value: Tensor | None) -> None:
        t = self._ref()
        if t is not None:
            t._grad = value


def _stub(t: Tensor) -> Tensor:
    """``t`` itself for a leaf that requires grad (torch's AccumulateGrad keeps it too); else one
    :class:`_StubTensor` per tensor (shared by all of its consumers: its gradient is summed once)."""
    if (t._grad_fn is None and t._requires_grad) or type(t) is _StubTensor:  # (a later pass releases it again)
        return t
    stub = t._stub  # (not t.__dict__.get: that would turn t's attribute storage into a dict)
    if stub is None:
        stub = t._stub = object.__new__(_StubTensor)
        a = t.array
        if isinstance(a, np.ndarray):
            stub._meta = (a.shape, a.dtype)
        else:  # a GPU array: the stand-in on its device now
            with backend.array_scope(a):
                stub.__dict__["_array"] = t.xp.broadcast_to(t.xp.zeros((), a.dtype), a.shape)
        stub._grad_fn, stub._requires_grad, stub._vc = t._grad_fn, t._requires_grad, t._vc
        stub._graph_version, stub._ref = t._graph_version, weakref.ref(t)
    return stub


class _Edge:
    """What a freed node (:meth:`Function.free`) keeps of an input that is not a leaf: its op, for
    the walk of a later pass. No values, shape or hooks: a freed node's inputs never get a
    gradient (a pass that would give them one raises first)."""

    __slots__ = ("_grad_fn", "_requires_grad")
    _hooks = _post_hooks = None
    _retain_grad = False

    def __init__(self, fn: Function | None = None) -> None:
        self._grad_fn, self._requires_grad = fn, fn is not None


_NO_EDGE = _Edge()  # an input that needs no gradient


class AccumulateGrad:
    """torch's node at a leaf that requires grad (``next_functions`` shows it): ``variable`` is
    the leaf, whose ``.grad`` backward adds to. minicnn's engine does this itself; the node is
    only a view of the graph for those who walk it."""

    next_functions: tuple = ()

    def __init__(self, variable: Tensor) -> None:  # noqa: F811 - torch's attribute name
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class Alias(Function):
    """y = x, a new node: lets a composite's gradient name each argument apart."""

    linear = True

    def forward(self, x):
        return x.view()

    def backward(self, gy):
        return gy

    def backward_graph(self, gy: Tensor, x: Tensor) -> Tensor:
        return gy


class Tie(Function):
    """(a, b) -> a; b's gradient is 0. Ties a backward result that does not depend on the
    input b (a piecewise-constant derivative) to b's graph, as torch's backward ops are, so
    that what comes before b gets a zero gradient, not none. Jointly linear."""

    linear = True

    def forward(self, a, b):
        self.b_shape = b.shape
        return a.view()

    def backward(self, gy):
        gb = backend.get_array_module(gy).zeros(self.b_shape, gy.dtype) if self.needs_input_grad[1] else None
        return gy, gb


def tie(a: Tensor, b: Tensor) -> Tensor:
    """``a``, with a zero gradient for ``b`` (see :class:`Tie`)."""
    return Tie.apply(a, b)


def tie_if_constant(g: Tensor | None, x: Tensor) -> Tensor | None:
    """A gradient with no graph of its own (constant gy and parameters) tied to its input x,
    as torch's backward ops are; one that has a graph (or None) as it is."""
    return g if g is None or g.requires_grad else tie(g, x)


class Adjoint(Function):
    """gx = A^T gy for input ``index`` of a linear op ``node`` (y = A_0 x_0 + A_1 x_1 + ...),
    by the node's own ``backward``. Linear in gy, so its derivative is A again: d<gx, v>/dgy
    = A v, the op applied to v in slot ``index`` and zeros in its other float inputs (integer
    inputs, such as indices, are kept). Costs what the op's backward and forward cost.
    ``shared``: a dict given to the Adjoints of all of one node's inputs for one ``gy``: the
    first runs the node's backward and leaves the result there for the others."""

    linear = True

    def forward(self, gy):
        node = self.node
        shared = self.__dict__.pop("shared", None)
        shared = {} if shared is None else shared
        if "g" not in shared:
            shared["g"], shared["taken"] = node.backward(gy), set()
        g = shared["g"][self.index] if isinstance(shared["g"], tuple) else shared["g"]
        if g is gy or id(g) in shared["taken"]:  # no two results share an array, nor one with gy
            g = g.copy()
        shared["taken"].add(id(g))
        # what applying the op again needs: a later pass may release the node before this one
        self.op, self.op_params = type(node), node._params
        self.slots = [
            None if j == self.index else (t.shape, t.dtype) if t.dtype.kind in _FLOAT_KINDS else Tensor(t.array.copy())
            for j, t in enumerate(node.inputs)
        ]
        del self.node
        self._params = {}  # (which named the node and the shared result too)
        return g

    def backward(self, v):
        with no_grad():
            return self.backward_graph(Tensor(v), None)[0].array

    def backward_graph(self, v: Tensor, gy: Any) -> tuple[Tensor]:
        args = []
        for slot in self.slots:
            if slot is None:
                args.append(v)
            elif isinstance(slot, tuple):  # another float input: zeros, on v's device
                with backend.array_scope(v.array):
                    args.append(Tensor(v.xp.zeros(slot[0], dtype=slot[1])))
            else:
                args.append(slot)
        return (self.op.apply(*args, **self.op_params),)


def scalar_like(value: Any, dtype: Any, like: Any) -> Any:
    """``value`` as an array of ``dtype`` where ``like`` lives. A scalar becomes a 0-d array,
    on a GPU uploaded once per value, dtype and device and then shared (``2 * x`` in a training
    loop copies nothing to the device after the first step; ops never write to their inputs)."""
    dtype = np.dtype(dtype)
    if not isinstance(value, (int, float, bool, np.generic)):  # an array or a list: converted, not cached
        with backend.array_scope(like):
            return backend.get_array_module(like).asarray(value, dtype=dtype)
    if not backend.is_cupy_array(like):
        return _scalar_array(value, dtype)
    key = ("scalar", type(value), repr(value), dtype.str)  # (repr: 0.0 and -0.0, equal keys, stay apart; NaN hits)
    return backend.device_constant(key, lambda: _scalar_array(value, dtype), like)


def _scalar_array(value: Any, dtype: np.dtype) -> np.ndarray:
    """``value`` as a 0-d array of ``dtype``; an integer out of the dtype's range wraps around as
    in torch (``uint8 tensor + -1`` adds 255), where NumPy raises OverflowError; a float out of
    range becomes inf quietly, as in torch (``float32 tensor * 1e300``)."""
    try:
        with np.errstate(over="ignore"):
            return np.asarray(value, dtype)
    except OverflowError:
        if not isinstance(value, (int, np.integer)) or not -(2**63) <= value < 2**64:
            raise
        return np.asarray(np.uint64(value % 2**64)).astype(dtype)


def _as_tensors(inputs: Sequence[Any], op: str) -> tuple[Tensor, ...]:
    """Wrap scalars/arrays as constant tensors (matching the first tensor's dtype and
    device) and check that all tensors share one device. A tensor that a recorded in-place
    op wrote to stands for that op's result (``y = z = x * 2; y += 1; z * 3`` uses ``y``)."""
    if not isinstance(inputs, (tuple, list)):
        inputs = list(inputs)  # a generator (mc.cat(t for t in ...)) is read once
    host = backend.cupy_if_loaded() is None  # then a Tensor's own device property says "cpu"
    for x in inputs:
        if not isinstance(x, Tensor) or x._superseded_by is not None:
            break
        if type(x).device is not _TENSOR_DEVICE:  # a subclass with a device of its own
            host = False
    else:  # all tensors, none rewritten in place: the usual case
        if len(inputs) > 1 and not host:
            return _check_one_device(inputs, op)
        return tuple(inputs)
    ref = next((x for x in inputs if isinstance(x, Tensor)), None)
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(x if x._superseded_by is None else _latest(x))
        elif ref is not None and isinstance(x, (int, float, bool)) and ref.dtype.kind == "f":
            out.append(Tensor(scalar_like(x, ref.dtype, ref.array)))
        else:
            out.append(Tensor(x, device=None if ref is None else ref.device))
    return _check_one_device(out, op)


_TENSOR_DEVICE = Tensor.device


def _check_one_device(tensors: Sequence[Tensor], op: str) -> tuple[Tensor, ...]:
    """``tensors``, all on one device, or RuntimeError naming the devices. As in torch, a 0-d
    CPU tensor may join an op on a GPU (a scalar such as ``torch.tensor(2.0)``): it is moved."""
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        gpus = devices - {"cpu"}
        if len(gpus) == 1:
            gpu = next(iter(gpus))
            moved = tuple(t.to(gpu) if t.device == "cpu" and t.ndim == 0 else t for t in tensors)
            if all(t.device == gpu for t in moved):
                return moved
        raise RuntimeError(f"{op}: expected all tensors on one device, got {', '.join(sorted(devices))}")
    return tuple(tensors)


# why a recorded in-place write into a view taken under no_grad (or inference_mode) of a tensor that requires grad
# is refused (torch's words); such a view requires grad but is given no gradient (engine._accumulate)
NO_GRAD_VIEW = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that this use "
    "case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the view and the "
    "inplace either both inside the no_grad block (if you don't want the inplace to be tracked) or both outside (if "
    "you want the inplace to be tracked)."
)


def _stale(what: str, t: Tensor) -> RuntimeError:
    return RuntimeError(
        f"{what}: a tensor of shape {t.shape} was computed before an in-place write, recorded by autograd, to "
        "memory it shares (through its base or another view), so its graph no longer describes its values. torch "
        "regenerates such a view's history; minicnn refuses: take the view again after the write (y[1:], not "
        "an older v = y[1:]), or clone() before writing"
    )


def _view_in_graph(t: Tensor) -> bool:
    """Whether ``t``, a tensor that needs no grad whose memory a recorded in-place write has changed
    since it was made, is a view of a tensor that requires grad now (torch's view would, with a
    history regenerated from its base's; minicnn refuses it rather than lose that gradient), or is
    (a view of) a tensor written through a view whose write could not be recorded on it (``_cut_write``)."""
    if t._cut_write:
        return True
    while t._view_of is not None:
        t = _latest(t._view_of)
        if t._requires_grad or t._cut_write:
            return True
    return False


def _latest(t: Tensor) -> Tensor:
    while t._superseded_by is not None:
        t = t._superseded_by
    return t


def _written_already(t: Tensor, index: Any, value: Tensor) -> bool:
    """Whether ``t[index] = value`` has nothing left to do: ``value`` is the result of an in-place
    write through the view ``t[index]`` itself (Python's ``t[index] op= v`` assigns it back),
    which :meth:`Tensor._record_inplace` already recorded on ``t``, and nothing wrote since."""
    if value._view_of is None or _latest(value._view_of) is not t or t._vc is None:
        return False
    if not (value._graph_version == t._graph_version == t._vc[0]):
        return False
    view = t.array[index]
    return (
        view.shape == value.array.shape
        and view.strides == value.array.strides
        and _data_ptr(view) == _data_ptr(value.array)
    )


def _writable(a: Any) -> bool:
    """Whether writing into ``a`` in place is safe: not NumPy-read-only, and no two elements
    on one address (a stride of 0, as ``expand`` makes; CuPy has no read-only flag for it)."""
    if not getattr(getattr(a, "flags", None), "writeable", True):
        return False
    if a.size == 0:  # nothing to write (NumPy gives empty arrays zero strides)
        return True
    return not any(st == 0 and n > 1 for n, st in zip(a.shape, a.strides))


def _check_writable(a: Any, what: str) -> None:
    if not _writable(a):
        raise RuntimeError(
            f"{what}: unsupported operation: more than one element of the written-to tensor refers to a single "
            "memory location (an expand()ed or read-only view); clone() it before writing"
        )


def _data_ptr(a: Any) -> int:
    return a.ctypes.data if isinstance(a, np.ndarray) else a.data.ptr


def _records(t: Tensor, other: Any) -> bool:
    """Whether an in-place write of ``other`` into ``t`` must be recorded in the graph."""
    return _mode.grad and (t.requires_grad or (isinstance(other, Tensor) and _latest(other).requires_grad))


def _check_inference_write(t: Tensor) -> None:
    """Refuse an in-place write into an inference tensor outside inference mode (torch's error),
    before anything is written: in-place ops, setitem, and the writers that write a tensor's
    array directly (nn.init, the random fills, in-place dropout, in-place shape changes)."""
    if t._inference and not _mode.inference:
        raise RuntimeError(  # torch's words
            "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get a "
            "normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more details."
        )


def _inference_saved() -> RuntimeError:
    return RuntimeError(  # torch's words
        "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode in "
        "computation tracked by autograd. To work around this, you can make a clone to get a normal tensor and use "
        "it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`."
    )


def _root_array(a: Any) -> Any:
    """The array a chain of views of ``a`` ends in (``a`` itself if it owns its memory)."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def _base_id(a: Any) -> int:
    """Identity of the memory behind ``a`` (the array a chain of views ends in)."""
    return id(_root_array(a))


def _wrap(a: Any) -> Tensor:
    """``Tensor(a)`` for an array ``a`` (NumPy or CuPy) without the conversion of the constructor
    (but a NumPy scalar, what 0-d arithmetic gives, becomes a writable 0-d array as there)."""
    if isinstance(a, np.generic):
        a = np.asarray(a)
    t = Tensor.__new__(Tensor)
    t.array, t._grad, t._grad_fn, t._requires_grad, t._retain_grad = a, None, None, False, False
    return t


class _HookHandle:
    """What register_hook returns: ``remove()`` takes the hook out (also as a context manager)."""

    def __init__(self, hooks: dict[int, Any], key: int) -> None:
        self.hooks, self.key = hooks, key

    def remove(self) -> None:
        self.hooks.pop(self.key, None)

    def __enter__(self) -> _HookHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _add_hook(hooks: dict[int, Any], hook: Any) -> _HookHandle:
    """Register ``hook`` in ``hooks`` under the next key (hooks run in registration order)."""
    key = max(hooks, default=-1) + 1
    hooks[key] = hook
    return _HookHandle(hooks, key)


from . import autograd_functional as functional  # noqa: E402, F401  (mc.autograd.functional, torch's)
from . import custom_function as function  # noqa: E402  (mc.autograd.function: FunctionCtx, once_differentiable)

# the backward pass, minicnn/engine.py (loaded after Tensor and Function, which it needs): Tensor.backward and
# Function.backward_graph call it, and mc.autograd.backward / mc.autograd.grad are torch's names
from .engine import backward, grad  # noqa: E402

sys.modules.setdefault(f"{__name__}.functional", functional)  # import minicnn.autograd.functional works
sys.modules.setdefault(f"{__name__}.function", function)
from . import grad_mode  # noqa: E402  (mc.autograd.grad_mode, torch's module)
from .autograd_compat import Variable, gradcheck, gradgradcheck, set_multithreading_enabled, variable  # noqa: E402, F401, F811
from .grad_mode import enforce_grad_layout_policy  # noqa: E402, F401

sys.modules.setdefault(f"{__name__}.grad_mode", grad_mode)
from . import ops as _ops  # noqa: E402  (ops subclass Function, so they load after it)
from . import tensor_methods as _tensor_methods  # noqa: E402
from .anomaly import detect_anomaly, set_detect_anomaly  # noqa: E402, F401  (mc.autograd.detect_anomaly, torch's)

_tensor_methods.ops = _ops
