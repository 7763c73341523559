"""Tensor factories: ``mc.tensor``, ``mc.zeros``, ``mc.randn``, ... (torch's names)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, random
from .autograd import DEFAULT_DTYPE, Tensor


def _shape(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _dtype(dtype: Any) -> np.dtype:
    return DEFAULT_DTYPE if dtype is None else np.dtype(dtype)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (lists of floats become float32)."""
    if isinstance(data, Tensor):
        data = data.array
    arr = Tensor(data, dtype=dtype, device=device).array
    if arr is data or (isinstance(data, np.ndarray) and not backend.is_cupy_array(arr) and np.shares_memory(arr, data)):
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with the NumPy array ``a``."""
    return Tensor(a)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(xp.zeros(_shape(size), dtype=_dtype(dtype)), requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(xp.ones(_shape(size), dtype=_dtype(dtype)), requires_grad=requires_grad)


def full(size: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value as in torch
    (bool -> bool, int -> int64, float -> float32) unless given."""
    if dtype is None:
        kind = np.asarray(fill_value).dtype.kind
        dtype = np.bool_ if kind == "b" else np.int64 if kind in "iu" else DEFAULT_DTYPE
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(xp.full(_shape((size,)), fill_value, dtype=np.dtype(dtype)), requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    xp = t.xp if device is None else backend.xp_for_device(device)
    with backend.array_scope(t.array) if device is None else backend.device_scope(device):
        out = Tensor(xp.zeros(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad)
    return out if device is None else out.to(device)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    xp = t.xp if device is None else backend.xp_for_device(device)
    with backend.array_scope(t.array) if device is None else backend.device_scope(device):
        out = Tensor(xp.ones(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad)
    return out if device is None else out.to(device)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Standard normal samples from the library generator."""
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        a = random.generator(xp).standard_normal(_shape(size), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(a, requires_grad=requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Uniform [0, 1) samples from the library generator."""
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        a = random.generator(xp).random(_shape(size), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(a, requires_grad=requires_grad)


def randint(low: int, high: int, size: Any, dtype: Any = np.int64, device: Any = None) -> Tensor:
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(random.generator(xp).integers(low, high, size=_shape((size,))).astype(dtype))


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None, device: Any = None) -> Tensor:
    """Like torch.arange: integers give int64, any float gives float32; values ``start + i*step``
    are computed in float64 and then rounded once (so a float32 range does not drift)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: from {start} to {end} runs against the sign of step {step}")
    xp = backend.xp_for_device(device)
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else DEFAULT_DTYPE
    dtype = np.dtype(dtype)
    with backend.device_scope(device):
        if dtype.kind == "f":
            return Tensor(xp.arange(start, end, step, dtype=np.float64).astype(dtype))
        return Tensor(xp.arange(start, end, step, dtype=dtype))
