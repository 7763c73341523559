"""torch.nn.parameter's names: Parameter, and the uninitialised (lazy) tensors of lazy modules.

An :class:`UninitializedParameter` / :class:`UninitializedBuffer` holds no data yet: only a
dtype, a device and ``requires_grad``. It keeps an empty placeholder array of that dtype on that
device, so ``Module.to(...)`` before the first forward changes what it will become. Reading its
``array`` (what every op does) raises a ValueError naming the problem; ``shape`` raises torch's
RuntimeError. ``materialize(shape)`` allocates the data (uninitialised memory, ``empty``) and
turns the object, in place, into a plain Parameter / Tensor, so optimisers and containers that
already hold it keep working with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, default_dtype
from .module import Buffer, Parameter  # noqa: F401  (torch.nn.parameter.Buffer)

__all__ = ["Parameter", "UninitializedBuffer", "UninitializedParameter", "UninitializedTensorMixin", "is_lazy"]


def _empty(device: Any, dtype: Any, shape: tuple[int, ...] = (0,)) -> Any:
    """An uninitialised array of ``shape`` on ``device`` (None: the CPU), ``dtype`` (None: float32)."""
    dt = default_dtype(dtype)
    with backend.device_scope(device):
        return backend.xp_for_device(device).empty(shape, dtype=dt)


class UninitializedTensorMixin:
    """What UninitializedParameter and UninitializedBuffer share (torch's class of that name)."""

    cls_to_become: type[Tensor] = Tensor
    _uninitialized = True  # what Module checks (minicnn.nn.module cannot import this module)

    @property
    def array(self) -> Any:
        raise ValueError(
            f"Attempted to use an uninitialized parameter or buffer ({type(self).__name__}) in an operation. "
            "This error happens when you are using a lazy module (LazyLinear, LazyConv2d, ...) or explicitly "
            f"manipulating `minicnn.nn.parameter.{type(self).__name__}` objects. When using lazy modules, call "
            "`forward` with a dummy batch to initialize the parameters before calling minicnn functions"
        )

    @array.setter
    def array(self, value: Any) -> None:
        self.__dict__["array"] = value

    @property
    def _placeholder(self) -> Any:
        """The empty array that carries the dtype and device the data will have."""
        return self.__dict__["array"]

    @property
    def shape(self) -> tuple[int, ...]:
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. "
            "This error usually happens in `load_state_dict` when trying to load "
            "an uninitialized parameter into an initialized one. "
            "Call `forward` to initialize the parameters before accessing their attributes."
        )

    def size(self, dim: int | None = None) -> Any:
        """torch's: the placeholder's size, ``(0,)``."""
        shape = tuple(self._placeholder.shape)
        return shape if dim is None else shape[dim]

    @property
    def dtype(self) -> np.dtype:
        return self._placeholder.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self._placeholder)

    @property
    def xp(self) -> Any:
        return backend.get_array_module(self._placeholder)

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self._placeholder.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, got dtype {self.dtype}")
        self._requires_grad = bool(flag)

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Allocate the data (``empty``: not initialised) with ``shape``, on the placeholder's
        device and dtype unless given, and become ``cls_to_become`` (Parameter or Tensor) in place."""
        placeholder = self._placeholder
        device = backend.device_of(placeholder) if device is None else device
        dtype = placeholder.dtype if dtype is None else dtype
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
        data = _empty(device, dtype, shape)
        self.__class__ = self.cls_to_become  # type: ignore[assignment]
        self.array = data

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """torch's: an uninitialised tensor of the same class with the new device and/or dtype
        (itself when nothing changes)."""
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, (str, tuple)):
                device = a
            else:
                dtype = a
        placeholder = self._placeholder
        if device is not None and backend.device_str(device) != self.device:
            placeholder = backend.to_device(placeholder, device)
        if dtype is not None and np.dtype(dtype) != placeholder.dtype:
            placeholder = placeholder.astype(np.dtype(dtype))
        if placeholder is self._placeholder:
            return self
        return self._like(placeholder)

    def _like(self, placeholder: Any) -> Any:
        out = object.__new__(type(self))
        Tensor.__init__(out, placeholder)
        out.__dict__.update((k, v) for k, v in self.__dict__.items() if k not in out.__dict__)
        out.requires_grad = self.requires_grad
        return out

    def half(self) -> Any:
        return self.to(np.float16)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        if id(self) in memo:
            return memo[id(self)]
        result = self._like(self._placeholder.copy())
        memo[id(self)] = result
        return result

    def share_memory_(self) -> Any:
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to initialize the "
            "parameters before calling `module.share_memory()`."
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet (a lazy module's, until its first forward).
    ``device`` and ``dtype`` (None: the CPU, float32) are what ``materialize`` will use."""

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        Tensor.__init__(self, _empty(device, dtype))
        if self.dtype.kind == "f":
            self.requires_grad = requires_grad


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (lazy batch and instance norm's running
    statistics); becomes a plain Tensor on ``materialize``."""

    cls_to_become = Tensor

    def __init__(
        self, requires_grad: bool = False, device: Any = None, dtype: Any = None, persistent: bool = True
    ) -> None:
        Tensor.__init__(self, _empty(device, dtype), requires_grad)
        self.persistent = persistent


def is_lazy(param: Any) -> bool:
    """Whether ``param`` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(param, UninitializedTensorMixin)
