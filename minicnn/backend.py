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
    """``"cpu"`` -> ("cpu", 0); ``"cuda"`` -> ("cuda", N) for the current GPU N (0 unless
    ``mc.cuda.set_device`` chose another); ``"cuda:1"`` -> ("cuda", 1); None -> the default
    device (:data:`DEFAULT_DEVICE`)."""
    if device is None:
        device = DEFAULT_DEVICE
        if device == "cpu":
            return ("cpu", 0)
    if isinstance(device, tuple):
        return device
    s = str(device).strip().lower()
    if s == "cpu":
        return ("cpu", 0)
    if s == "cuda" or s == "gpu":  # the current GPU, as torch (mc.cuda.set_device changes it)
        cp = cupy_if_loaded()
        return ("cuda", 0 if cp is None else int(cp.cuda.runtime.getDevice()))
    if s.startswith("cuda:"):
        idx = s[5:]
        if idx.isdigit():
            return ("cuda", int(idx))
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def device_str(device: Any) -> str:
    kind, idx = parse_device(device)
    return "cpu" if kind == "cpu" else f"cuda:{idx}"


class device(str):  # noqa: N801 - torch's name
    """torch.device: where a tensor lives. It *is* its string (``"cpu"``, ``"cuda"``, ``"cuda:1"``),
    so ``x.device == "cpu"`` holds and it goes wherever a device string goes, and it has torch's
    attributes ``type`` ("cpu" or "cuda") and ``index`` (None unless given), and torch's repr.

    ``device("cuda:1")``, ``device("cuda", 1)``, ``device(type="cuda", index=1)`` and ``device(1)``
    (a CUDA index) are the same device. As a context manager it sets the default device of
    factories and layers (:func:`minicnn.set_default_device`) and restores it on exit."""

    type: str
    index: int | None

    def __new__(cls, type: Any = None, index: int | None = None) -> device:  # noqa: A002
        if type is None:
            raise TypeError("device() missing required argument 'type'")
        if isinstance(type, device) and index is None:
            return type
        if isinstance(type, int) and not isinstance(type, bool):  # torch.device(1): CUDA device 1
            type, index = "cuda", type
        text = str(type).strip().lower()
        kind, _, idx = text.partition(":")
        if kind not in ("cpu", "cuda") or (idx and not idx.isdigit()):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        if index is not None:
            if idx:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed explicitly: {type}"
                )
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise RuntimeError(f"Device index must not be negative, got {index!r}")
            idx = str(index)
        self = super().__new__(cls, f"{kind}:{int(idx)}" if idx else kind)
        self.type, self.index = kind, int(idx) if idx else None
        return self

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (device, (str(self),))

    def __enter__(self) -> device:
        from . import runtime  # noqa: PLC0415

        self.__dict__.setdefault("_previous", []).append(DEFAULT_DEVICE)
        runtime.set_default_device(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        global DEFAULT_DEVICE
        DEFAULT_DEVICE = self._previous.pop()


_DEVICES: dict[int, device] = {}  # CUDA index -> its device, made once (Tensor.device is read often)
CPU = device("cpu")


def device_of(x: Any) -> device:
    """The device of an array: ``device("cpu")`` or ``device("cuda:N")`` (a str subclass)."""
    if is_cupy_array(x):
        idx = x.device.id
        found = _DEVICES.get(idx)
        if found is None:
            found = _DEVICES[idx] = device("cuda", idx)
        return found
    return CPU


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


class _LazyModule:
    """A class attribute that imports a module on first access (``mc.cuda.amp``: kept out of
    ``import minicnn``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        import importlib  # noqa: PLC0415

        return importlib.import_module(self.name)


class cuda:  # noqa: N801 - exposed as ``mc.cuda`` like ``torch.cuda``
    """torch.cuda's runtime functions, on CuPy: availability, the current device, seeding, memory.

    Without a GPU (no CuPy, or CuPy sees none) they behave as torch built with CUDA on a machine
    without one: ``is_available()`` False, ``device_count()`` 0, seeding and ``empty_cache`` do
    nothing, the memory counters are 0, and what needs a device (``current_device``,
    ``set_device``, ``get_device_name``, ``get_device_properties``, ...) raises RuntimeError.
    ``mc.cuda.amp`` holds torch.cuda.amp's ``autocast`` and ``GradScaler`` (:mod:`minicnn.amp`).
    """

    amp = _LazyModule("minicnn.amp.cuda")

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
            cuda._note_peak()
        raise_deferred()

    # -- the current device -----------------------------------------------------------------
    @staticmethod
    def _require() -> Any:
        """CuPy with a GPU, or torch's kind of RuntimeError (with CuPy's reason)."""
        if not cuda.is_available():
            reason = f" (CuPy: {type(_cupy_error).__name__}: {_cupy_error})" if _cupy_error is not None else ""
            raise RuntimeError(f"minicnn.cuda: no CUDA GPU is available{reason}; minicnn runs CUDA through CuPy")
        return _cupy

    @staticmethod
    def _index(device: Any = None) -> int:
        """The GPU index of ``device``: None (the current one), an int, "cuda", "cuda:N" or an ``mc.device``."""
        cp = cuda._require()
        if device is None:
            return int(cp.cuda.runtime.getDevice())
        if isinstance(device, int) and not isinstance(device, bool):
            index = device
        else:
            d = CPU.__class__(device)
            if d.type != "cuda":
                raise ValueError(f"Expected a cuda device, but got: {d}")
            index = int(cp.cuda.runtime.getDevice()) if d.index is None else d.index
        if not 0 <= index < cuda.device_count():
            raise RuntimeError(f"CUDA error: invalid device ordinal {index} (there are {cuda.device_count()} GPUs)")
        return index

    @staticmethod
    def is_initialized() -> bool:
        """True once CuPy has been imported and sees a GPU."""
        return cupy_if_loaded() is not None and cuda.is_available()

    @staticmethod
    def init() -> None:
        """Import CuPy now (torch.cuda.init); RuntimeError without a GPU."""
        cuda._require()

    @staticmethod
    def current_device() -> int:
        """The index of the current GPU (CuPy's current device)."""
        return int(cuda._require().cuda.runtime.getDevice())

    @staticmethod
    def set_device(device: Any) -> None:  # noqa: A002
        """Make ``device`` (an index, "cuda:N" or an ``mc.device``) the current GPU."""
        cuda._require().cuda.Device(cuda._index(device)).use()

    @staticmethod
    def get_device_properties(device: Any = None) -> Any:
        """A namespace of the GPU's ``name``, ``major``, ``minor``, ``total_memory`` (bytes) and
        ``multi_processor_count`` (from ``cupy.cuda.runtime.getDeviceProperties``)."""
        import types  # noqa: PLC0415

        props = cuda._require().cuda.runtime.getDeviceProperties(cuda._index(device))
        name = props.get("name", b"")
        return types.SimpleNamespace(
            name=name.decode() if isinstance(name, bytes) else str(name),
            major=int(props.get("major", 0)),
            minor=int(props.get("minor", 0)),
            total_memory=int(props.get("totalGlobalMem", 0)),
            multi_processor_count=int(props.get("multiProcessorCount", 0)),
        )

    @staticmethod
    def get_device_name(device: Any = None) -> str:
        """The GPU's name, e.g. "NVIDIA H100 80GB HBM3"."""
        return cuda.get_device_properties(device).name

    @staticmethod
    def get_device_capability(device: Any = None) -> tuple[int, int]:
        """The GPU's compute capability (major, minor)."""
        props = cuda.get_device_properties(device)
        return (props.major, props.minor)

    @staticmethod
    def is_bf16_supported(including_emulation: bool = True) -> bool:
        """False: minicnn has no bfloat16 (NumPy and CuPy have no such dtype)."""
        return False

    # -- seeding ------------------------------------------------------------------------------
    @staticmethod
    def _seed_gpus(seed: int, indices: Any) -> None:
        from . import random as mc_random  # noqa: PLC0415

        s = mc_random._check_seed(seed)
        if not cuda.is_available():
            return
        cp = _cupy
        for idx in indices:
            with cp.cuda.Device(idx):
                mc_random._cp_rngs[idx] = cp.random.default_rng(mc_random.derived_seed(s, 2**32 + idx) if idx else s)

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Seed the current GPU's generator (as ``mc.manual_seed(seed)`` seeds it); nothing without a GPU."""
        cuda._seed_gpus(seed, [cuda.current_device()] if cuda.is_available() else [])

    @staticmethod
    def manual_seed_all(seed: int) -> None:
        """Seed every GPU's generator (as ``mc.manual_seed(seed)`` seeds them); nothing without a GPU."""
        cuda._seed_gpus(seed, range(cuda.device_count()))

    @staticmethod
    def seed() -> None:
        """Seed the current GPU's generator from a non-deterministic seed."""
        from . import random as mc_random  # noqa: PLC0415

        cuda.manual_seed(mc_random._fresh_seed())

    @staticmethod
    def seed_all() -> None:
        """Seed every GPU's generator from one non-deterministic seed."""
        from . import random as mc_random  # noqa: PLC0415

        cuda.manual_seed_all(mc_random._fresh_seed())

    # -- memory (CuPy's memory pool) ------------------------------------------------------------
    _peak: dict[int, int] = {}

    @staticmethod
    def _pool_bytes(device: Any, which: str) -> int:
        """``used_bytes``/``total_bytes`` of CuPy's default pool on ``device``; 0 without CuPy or a GPU."""
        cp = cupy_if_loaded()
        if cp is None or not cuda.is_available():
            return 0
        with cp.cuda.Device(cuda._index(device)):
            return int(getattr(cp.get_default_memory_pool(), which)())

    @staticmethod
    def _note_peak(device: Any = None) -> int:
        used = cuda._pool_bytes(device, "used_bytes")
        if cupy_if_loaded() is not None and cuda.is_available():
            idx = cuda._index(device)
            cuda._peak[idx] = max(cuda._peak.get(idx, 0), used)
        return used

    @staticmethod
    def memory_allocated(device: Any = None) -> int:
        """Bytes held by tensors on the GPU (CuPy's pool ``used_bytes()``); 0 without a GPU."""
        return cuda._note_peak(device)

    @staticmethod
    def memory_reserved(device: Any = None) -> int:
        """Bytes CuPy's pool holds from the driver, used or cached (``total_bytes()``); 0 without a GPU."""
        return cuda._pool_bytes(device, "total_bytes")

    @staticmethod
    def max_memory_allocated(device: Any = None) -> int:
        """The largest :func:`memory_allocated` seen since the start or :func:`reset_peak_memory_stats`.

        CuPy's pool keeps no high-water mark, so this is the peak of the values seen at the calls
        of ``memory_allocated``, ``max_memory_allocated`` and ``synchronize``: a lower bound of
        torch's figure (call ``memory_allocated()`` where the peak is expected). 0 without a GPU."""
        cuda._note_peak(device)
        if cupy_if_loaded() is None or not cuda.is_available():
            return 0
        return cuda._peak.get(cuda._index(device), 0)

    @staticmethod
    def max_memory_reserved(device: Any = None) -> int:
        """:func:`memory_reserved` (CuPy's pool only grows until :func:`empty_cache`)."""
        return cuda.memory_reserved(device)

    @staticmethod
    def reset_peak_memory_stats(device: Any = None) -> None:
        """Restart :func:`max_memory_allocated` from the current allocation. RuntimeError without a GPU, as torch."""
        idx = cuda._index(device)
        cuda._peak[idx] = 0
        cuda._note_peak(idx)

    reset_max_memory_allocated = reset_peak_memory_stats

    @staticmethod
    def empty_cache() -> None:
        """Give the unused blocks of CuPy's memory pools (device and pinned host) back to the driver;
        nothing where CuPy is not loaded."""
        cp = cupy_if_loaded()
        if cp is None:
            return
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()

    @staticmethod
    def mem_get_info(device: Any = None) -> tuple[int, int]:
        """(free, total) bytes of the GPU, as the driver reports them."""
        cp = cuda._require()
        with cp.cuda.Device(cuda._index(device)):
            free, total = cp.cuda.runtime.memGetInfo()
        return int(free), int(total)


def cp_device_count() -> int:
    return _import_cupy().cuda.runtime.getDeviceCount()
