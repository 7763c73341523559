"""``mc.accelerator``: torch.accelerator, the device-neutral view of the GPU.

The device selection of PyTorch's current tutorials and examples works unchanged::

    device = mc.accelerator.current_accelerator().type if mc.accelerator.is_available() else "cpu"

minicnn's only accelerator is CUDA through CuPy: ``current_accelerator()`` is
``mc.device("cuda")`` when CuPy sees a GPU and None otherwise (as a CPU-only torch build). The
index functions work on CuPy's current device; without a GPU they raise RuntimeError.

The memory functions read CuPy's memory pool through ``mc.cuda``'s (see there for what CuPy
can and cannot count); without a GPU they behave as torch's on a CPU-only machine: the counters
are 0, ``memory_stats`` is empty, the resets and ``empty_cache`` do nothing, while
``get_memory_info`` and ``get_device_capability`` raise RuntimeError. There are no streams
(``current_stream`` / ``set_stream``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .backend import _import_cupy, cuda, device

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "device_count",
    "device_index",
    "empty_cache",
    "empty_host_cache",
    "get_device_capability",
    "get_memory_info",
    "is_available",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "memory_stats",
    "reset_accumulated_memory_stats",
    "reset_peak_memory_stats",
    "set_device_idx",
    "set_device_index",
    "synchronize",
]


def is_available() -> bool:
    """True when an accelerator (a CUDA GPU seen by CuPy) can be used."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``mc.device("cuda")`` when CuPy is importable (and, with ``check_available``, sees a
    GPU), else None."""
    if _import_cupy() is None or (check_available and not is_available()):
        return None
    return device("cuda")


def device_count() -> int:
    """How many accelerators (GPUs) there are; 0 without one."""
    return cuda.device_count()


def _require() -> Any:
    if not is_available():
        raise RuntimeError("mc.accelerator: no accelerator is available (minicnn's is a CUDA GPU through CuPy)")
    return _import_cupy()


def _index(dev: Any) -> int:
    """The GPU index ``dev`` names: an int, "cuda", "cuda:N" or an ``mc.device``."""
    if isinstance(dev, int) and not isinstance(dev, bool):
        index = dev
    else:
        d = device(dev)
        if d.type != "cuda":
            raise ValueError(f"mc.accelerator: {d!r} is not the current accelerator (cuda)")
        index = current_device_index() if d.index is None else d.index
    if not 0 <= index < device_count():
        raise ValueError(f"mc.accelerator: device index {index} out of range (there are {device_count()} GPUs)")
    return index


def current_device_index() -> int:
    """The index of the current GPU (CuPy's current device)."""
    return int(_require().cuda.runtime.getDevice())


def set_device_index(device: Any) -> None:  # noqa: A002 - torch's name
    """Make GPU ``device`` (an index, "cuda:N" or an ``mc.device``) the current one."""
    cp = _require()
    cp.cuda.Device(_index(device)).use()


@contextmanager
def device_index(device: Any) -> Iterator[None]:  # noqa: A002 - torch's name
    """Within the block GPU ``device`` is current; None changes nothing (and needs no GPU)."""
    if device is None:
        yield
        return
    saved = current_device_index()
    set_device_index(device)
    try:
        yield
    finally:
        set_device_index(saved)


def synchronize(device: Any = None) -> None:  # noqa: A002 - torch's name
    """Wait for the queued work of GPU ``device`` (None: the current one)."""
    cp = _require()
    if device is None:
        cuda.synchronize()
        return
    with cp.cuda.Device(_index(device)):
        cuda.synchronize()


current_device_idx = current_device_index  # torch's older names
set_device_idx = set_device_index


# -- memory (mc.cuda's, i.e. CuPy's memory pool) ---------------------------------------------------
def memory_stats(device_index: Any = None, /) -> OrderedDict[str, Any]:
    """Memory statistics of GPU ``device_index`` under torch's names: ``allocated_bytes.all.current``
    / ``.peak`` and ``reserved_bytes.all.current`` / ``.peak`` (CuPy's pool; the peaks as
    ``mc.cuda.max_memory_*`` define them). Empty without a GPU, as torch's on a CPU-only machine."""
    if not is_available():
        return OrderedDict()
    idx = _index(device_index) if device_index is not None else current_device_index()
    stats = {
        "allocated_bytes.all.current": cuda.memory_allocated(idx),
        "allocated_bytes.all.peak": cuda.max_memory_allocated(idx),
        "reserved_bytes.all.current": cuda.memory_reserved(idx),
        "reserved_bytes.all.peak": cuda.max_memory_reserved(idx),
    }
    return OrderedDict(sorted(stats.items()))


def memory_allocated(device_index: Any = None, /) -> int:
    """Bytes held by tensors on the GPU; 0 without one."""
    return memory_stats(device_index).get("allocated_bytes.all.current", 0)


def max_memory_allocated(device_index: Any = None, /) -> int:
    """The peak of :func:`memory_allocated` since the start or :func:`reset_peak_memory_stats`; 0 without a GPU."""
    return memory_stats(device_index).get("allocated_bytes.all.peak", 0)


def memory_reserved(device_index: Any = None, /) -> int:
    """Bytes CuPy's pool holds from the driver, used or cached; 0 without a GPU."""
    return memory_stats(device_index).get("reserved_bytes.all.current", 0)


def max_memory_reserved(device_index: Any = None, /) -> int:
    """The peak of :func:`memory_reserved`; 0 without a GPU."""
    return memory_stats(device_index).get("reserved_bytes.all.peak", 0)


def reset_peak_memory_stats(device_index: Any = None, /) -> None:
    """Restart the peaks from the current values; nothing without a GPU."""
    if is_available():
        cuda.reset_peak_memory_stats(_index(device_index) if device_index is not None else current_device_index())


def reset_accumulated_memory_stats(device_index: Any = None, /) -> None:
    """Nothing to reset: minicnn keeps no accumulated (allocation-count) statistics."""
    if device_index is not None and is_available():
        _index(device_index)  # still reject a bad device


def empty_cache() -> None:
    """Give the cached, unused blocks of CuPy's memory pools back to the driver (``mc.cuda.empty_cache``)."""
    cuda.empty_cache()


def empty_host_cache() -> None:
    """Give the unused blocks of CuPy's pinned host memory pool back; nothing where CuPy is not loaded."""
    from .backend import cupy_if_loaded  # noqa: PLC0415

    cp = cupy_if_loaded()
    if cp is not None:
        cp.get_default_pinned_memory_pool().free_all_blocks()


def get_memory_info(device_index: Any = None, /) -> tuple[int, int]:
    """(free, total) bytes of the GPU, as the driver reports them; RuntimeError without a GPU."""
    _require()
    return cuda.mem_get_info(_index(device_index) if device_index is not None else current_device_index())


_SUPPORTED_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


def get_device_capability(device: Any = None, /) -> dict[str, Any]:  # noqa: A002 - torch's name
    """torch's capability dict: ``{"supported_dtypes": set of dtypes}`` (minicnn's dtypes, all of
    which CuPy allocates). RuntimeError without a GPU."""
    _require()
    if device is not None:
        _index(device)
    return {"supported_dtypes": {np.dtype(d) for d in _SUPPORTED_DTYPES}}
