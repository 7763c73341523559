"""Array backends and devices.

minicnn computes on NumPy arrays (device ``"cpu"``) or CuPy arrays (device ``"cuda:N"``).
Everything above this module writes against ``xp = get_array_module(x)`` and never imports
CuPy itself. CuPy is imported lazily, the first time a CUDA device is asked for, so that
``import minicnn`` stays fast and works where CuPy is absent.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import numpy as np

_cupy: Any = None
_cupy_error: Exception | None = None


def _import_cupy():
    """Import CuPy once; return the module or None (and remember why)."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy  # noqa: PLC0415

            _cupy = cupy
        except Exception as exc:  # ImportError, or a broken CUDA install
            _cupy_error = exc
    return _cupy


def cupy_if_loaded():
    """CuPy if something already imported it, else None. Never triggers an import."""
    return sys.modules.get("cupy") if _cupy is None else _cupy


def is_cupy_array(x: Any) -> bool:
    cp = cupy_if_loaded()
    return cp is not None and isinstance(x, cp.ndarray)


def get_array_module(*arrays: Any):
    """numpy, or cupy if any argument is a CuPy array (like ``cupy.get_array_module``)."""
    cp = cupy_if_loaded()
    if cp is not None:
        for a in arrays:
            if isinstance(a, cp.ndarray):
                return cp
    return np


DEFAULT_DEVICE = "cpu"
"""The device of tensors made with ``device=None`` (factories, layers' parameters and buffers):
``mc.set_default_device`` sets it, as torch.set_default_device."""


def parse_device(device: Any) -> tuple[str, int]:
    """``"cpu"`` -> ("cpu", 0); ``"cuda"`` -> ("cuda", 0); ``"cuda:1"`` -> ("cuda", 1); None -> the
    default device (:data:`DEFAULT_DEVICE`)."""
    if device is None:
        device = DEFAULT_DEVICE
        if device == "cpu":
            return ("cpu", 0)
    if isinstance(device, tuple):
        return device
    s = str(device).strip().lower()
    if s == "cpu":
        return ("cpu", 0)
    if s == "cuda" or s == "gpu":
        return ("cuda", 0)
    if s.startswith("cuda:"):
        idx = s[5:]
        if idx.isdigit():
            return ("cuda", int(idx))
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def device_str(device: Any) -> str:
    kind, idx = parse_device(device)
    return "cpu" if kind == "cpu" else f"cuda:{idx}"


def device_of(x: Any) -> str:
    """The device string of an array: ``"cpu"`` or ``"cuda:N"``."""
    if is_cupy_array(x):
        return f"cuda:{x.device.id}"
    return "cpu"


def require_cupy():
    """CuPy, or a RuntimeError that says how to get it."""
    cp = _import_cupy()
    if cp is None:
        raise RuntimeError(
            "device 'cuda' needs CuPy, which could not be imported "
            f"({type(_cupy_error).__name__}: {_cupy_error}). "
            "Install it with `pip install minicnn[cuda12]` (or [cuda13]) on a machine with an NVIDIA GPU."
        )
    return cp


def xp_for_device(device: Any):
    kind, _ = parse_device(device)
    return np if kind == "cpu" else require_cupy()


_NO_SCOPE = contextlib.nullcontext()


def array_scope(a: Any) -> Any:
    """The context in which CuPy allocates and launches on ``a``'s GPU.

    CuPy works on its *current* device: every ``cupy.empty``, elementwise kernel and GEMM
    runs there, wherever its inputs live. minicnn's ops, backward steps and optimiser
    updates therefore enter the device of their arrays (``cupy.cuda.Device(N)``), so that
    tensors on ``"cuda:1"`` work without the caller switching devices, as in torch. For a host
    array, or one on the current GPU already, this is a shared no-op context."""
    cp = cupy_if_loaded()
    if cp is None or not isinstance(a, cp.ndarray):
        return _NO_SCOPE
    idx = a.device.id
    return _NO_SCOPE if idx == cp.cuda.runtime.getDevice() else cp.cuda.Device(idx)


_constants: dict[tuple, Any] = {}
MAX_CONSTANTS = 256


def device_constant(key: tuple, make: Any, like: Any) -> Any:
    """``make()``, a small host array that depends only on ``key`` (a pooling divisor, an
    averaging matrix), as an array where ``like`` lives: on a GPU uploaded once per key and
    device and then reused, instead of one host-to-device copy per call."""
    if not is_cupy_array(like):
        return make()
    k = (key, like.device.id)
    a = _constants.get(k)
    if a is None:
        if len(_constants) >= MAX_CONSTANTS:
            _constants.clear()
        with array_scope(like):
            a = _constants[k] = cupy_if_loaded().asarray(make())
    return a


def device_scope(device: Any) -> Any:
    """:func:`array_scope` for a device name (``"cpu"``, ``"cuda:N"``, None = cpu)."""
    kind, idx = parse_device(device)
    if kind == "cpu":
        return _NO_SCOPE
    cp = require_cupy()
    return _NO_SCOPE if idx == cp.cuda.runtime.getDevice() else cp.cuda.Device(idx)


def to_device(x: Any, device: Any):
    """Move (or keep) an array on ``device``; copies only when the device changes."""
    kind, idx = parse_device(device)
    if kind == "cpu":
        return to_numpy(x)
    cp = require_cupy()
    with cp.cuda.Device(idx):
        if isinstance(x, cp.ndarray) and x.device.id == idx:
            return x
        return cp.asarray(x)


def to_numpy(x: Any) -> np.ndarray:
    """A host NumPy array (a copy if the array lives on a GPU)."""
    if is_cupy_array(x):
        if _deferred:
            raise_deferred()
        return x.get()
    return np.asarray(x)


# -- checks of device data, without stopping the GPU ------------------------------------------
_deferred: list[tuple[Any, type[Exception], str]] = []
MAX_DEFERRED = 64
"""Pending device checks beyond this many are settled at once (one host sync)."""


def raise_if(flag: Any, error: type[Exception], message: str) -> None:
    """``raise error(message)`` if the 0-d array ``flag`` is true (nonzero).

    A NumPy flag is read now. Reading a GPU flag would stop the host until the GPU has caught
    up (a sync per call, and no more overlap of Python with GPU work), so it is read later: at
    the next copy of a device array to the host (``Tensor.item()``, ``.numpy()``, ``float()``,
    printing), at ``mc.cuda.synchronize()``, or when more than :data:`MAX_DEFERRED` checks are
    pending. This is torch's device-side assert, with a message that names the op: the
    error surfaces a little after the call that caused it.
    """
    if not is_cupy_array(flag):
        if flag:
            raise error(message)
        return
    _deferred.append((flag, error, message))
    if len(_deferred) > MAX_DEFERRED:
        raise_deferred()


def raise_deferred() -> None:
    """Read the pending device checks (oldest first); raise the first that failed, dropping the rest."""
    while _deferred:
        flag, error, message = _deferred.pop(0)
        if bool(flag):
            _deferred.clear()
            raise error(message + " (checked on the GPU, raised at the next host read)")


class cuda:  # noqa: N801 - exposed as ``mc.cuda`` like ``torch.cuda``
    """``mc.cuda.is_available()`` / ``mc.cuda.device_count()``."""

    @staticmethod
    def is_available() -> bool:
        cp = _import_cupy()
        if cp is None:
            return False
        try:
            return cp.cuda.runtime.getDeviceCount() > 0
        except Exception:
            return False

    @staticmethod
    def device_count() -> int:
        return cp_device_count() if cuda.is_available() else 0

    @staticmethod
    def synchronize() -> None:
        """Wait for the GPU; then raise what the pending device checks found (:func:`raise_if`)."""
        cp = cupy_if_loaded()
        if cp is not None:
            cp.cuda.Device().synchronize()
        raise_deferred()


def cp_device_count() -> int:
    return _import_cupy().cuda.runtime.getDeviceCount()
