"""torch's low-level autocast state functions (``mc.set_autocast_enabled``, ``mc.get_autocast_dtype`` ...).

They read and write the per-thread state that ``mc.autocast`` regions use
(:mod:`minicnn.autocast_state`), so ``mc.set_autocast_enabled("cpu", True)`` turns autocast on for
the ops that follow, as a region does, until switched off. ``autocast_increment_nesting`` /
``autocast_decrement_nesting`` count regions (a region's exit at depth 0 clears the cache of
parameter casts, which :func:`clear_autocast_cache` also does). The ``*_cpu_*`` / ``*_gpu_*``
forms are torch's deprecated ones (its DeprecationWarning). Device types are "cpu" and "cuda"
("gpu" in the deprecated names); minicnn has no bfloat16 (see :mod:`minicnn.amp`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import autocast_state
from . import _as_dtype, _check_device_type


def _bool(value: Any, name: str, position: int) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}(): argument 'enabled' (position {position}) must be bool, not {type(value).__name__}")
    return bool(value)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"minicnn.{old} is deprecated. Please use minicnn.{new} instead.", DeprecationWarning, stacklevel=3)


def set_autocast_enabled(device_type: Any = None, enabled: Any = None) -> None:
    """torch.set_autocast_enabled: ``(device_type, enabled)`` switches autocast for "cpu" or "cuda"
    in this thread; the one-argument form ``(enabled)`` is for "cuda". TypeError unless ``enabled`` is a bool."""
    if enabled is None:
        _bool(device_type, "set_autocast_enabled", 1)
        device_type, enabled = "cuda", device_type
    autocast_state.set_enabled(_check_device_type(device_type), _bool(enabled, "set_autocast_enabled", 2))


def set_autocast_dtype(device_type: str, dtype: Any) -> None:
    """torch.set_autocast_dtype: the dtype autocast casts to on ``device_type`` (float16 by default)."""
    autocast_state.set_dtype(_check_device_type(device_type), _as_dtype(dtype))


def is_autocast_cpu_enabled() -> bool:
    """Deprecated torch form of ``is_autocast_enabled("cpu")``."""
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return autocast_state.is_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """Deprecated torch form of ``set_autocast_enabled("cpu", enabled)``."""
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    autocast_state.set_enabled("cpu", _bool(enabled, "set_autocast_cpu_enabled", 1))


def get_autocast_cpu_dtype() -> np.dtype:
    """Deprecated torch form of ``get_autocast_dtype("cpu")``."""
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return autocast_state.get_dtype("cpu")


def set_autocast_cpu_dtype(dtype: Any) -> None:
    """Deprecated torch form of ``set_autocast_dtype("cpu", dtype)``."""
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    autocast_state.set_dtype("cpu", _as_dtype(dtype))


def get_autocast_gpu_dtype() -> np.dtype:
    """Deprecated torch form of ``get_autocast_dtype("cuda")``."""
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return autocast_state.get_dtype("cuda")


def set_autocast_gpu_dtype(dtype: Any) -> None:
    """Deprecated torch form of ``set_autocast_dtype("cuda", dtype)``."""
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    autocast_state.set_dtype("cuda", _as_dtype(dtype))


def autocast_increment_nesting() -> int:
    """torch.autocast_increment_nesting: one more autocast region open in this thread; the new depth."""
    return autocast_state.change_nesting(1)


def autocast_decrement_nesting() -> int:
    """torch.autocast_decrement_nesting: one region fewer; the new depth (torch's: it may go below 0)."""
    return autocast_state.change_nesting(-1)


def clear_autocast_cache() -> None:
    """torch.clear_autocast_cache: drop the cached low-precision casts of parameters."""
    autocast_state.clear_cache()


def is_autocast_cache_enabled() -> bool:
    """torch.is_autocast_cache_enabled: whether parameter casts are cached (True by default)."""
    return autocast_state.is_cache_enabled()


def set_autocast_cache_enabled(enabled: bool) -> None:
    """torch.set_autocast_cache_enabled: cache parameter casts from now on, or not."""
    autocast_state.set_cache_enabled(_bool(enabled, "set_autocast_cache_enabled", 1))
