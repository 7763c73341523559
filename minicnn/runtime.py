"""Runtime knobs with torch's names: the default float dtype, BLAS threads, dtype limits
(``finfo``/``iinfo``) and print options.

- ``set_default_dtype(d)`` / ``get_default_dtype()``: the dtype of Python floats made into
  tensors and of the float factories (``mc.zeros``, ``mc.rand``...); float32 or float64.
- ``set_num_threads(n)`` / ``get_num_threads()``: the threads of the BLAS library NumPy calls
  (matmul, convolutions as GEMM), through ``threadpoolctl`` when it is importable. Without it
  there is no portable way to change them at run time: ``set_num_threads`` then only records
  the number (``get_num_threads`` returns it; the BLAS keeps its own, set by environment
  variables such as ``OMP_NUM_THREADS`` before start-up).
- ``finfo(dtype)`` / ``iinfo(dtype)``: torch's attributes (bits, eps, max, min, tiny,
  smallest_normal, resolution, dtype), from NumPy's.
- ``set_printoptions(...)``: precision, threshold, edgeitems, linewidth, profile, sci_mode for
  ``repr(tensor)``, which prints as torch does (minicnn/tensor_str.py: torch's defaults, then these);
  :func:`print_kwargs` gives the options set as ``numpy.array2string`` keywords.
"""

from __future__ import annotations

import builtins
import os
from typing import Any

import numpy as np

from . import autograd, backend

__all__ = [
    "finfo",
    "get_default_dtype",
    "get_num_threads",
    "iinfo",
    "set_default_dtype",
    "set_num_threads",
    "set_printoptions",
]


# -- default dtype --------------------------------------------------------------------------------
def set_default_dtype(d: Any) -> None:
    """Make ``d`` (float32 or float64) the dtype of Python floats made into tensors and of the
    float factories. TypeError for any other dtype, as torch for non-floating types."""
    try:
        if d is None:  # np.dtype(None) would be float64
            raise TypeError
        dt = np.dtype(d)
    except TypeError:
        raise TypeError(f"set_default_dtype: expected a dtype, got {d!r}") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"only floating-point types are supported as the default type (float32, float64), got {dt}")
    autograd.DEFAULT_DTYPE = dt


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats: float32 unless :func:`set_default_dtype`."""
    return autograd.default_dtype()


# -- threads --------------------------------------------------------------------------------------
_threads: dict[str, Any] = {"limit": None, "recorded": None}


def _threadpoolctl() -> Any:
    try:
        import threadpoolctl  # noqa: PLC0415 - optional, never a dependency

        return threadpoolctl
    except ImportError:
        return None


def set_num_threads(int: int) -> None:  # noqa: A002 - torch's parameter name
    """Limit the BLAS library's threads to ``int`` (a positive integer; RuntimeError otherwise,
    as torch). Through threadpoolctl if importable, else only recorded (see the module doc)."""
    n = int
    if isinstance(n, bool) or not isinstance(n, (builtins.int, np.integer)) or n <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n!r}")
    n = builtins.int(n)
    tpc = _threadpoolctl()
    if tpc is not None:
        _threads["limit"] = tpc.threadpool_limits(limits=n, user_api="blas")
    _threads["recorded"] = n


def get_num_threads() -> int:
    """The BLAS threads in use (the largest over the loaded BLAS libraries), as threadpoolctl
    reports them; without it, the number :func:`set_num_threads` recorded, else the CPU count."""
    tpc = _threadpoolctl()
    if tpc is not None:
        counts = [info["num_threads"] for info in tpc.threadpool_info() if info.get("user_api") == "blas"]
        if counts:
            return max(counts)
    return _threads["recorded"] or os.cpu_count() or 1


# -- dtype limits ---------------------------------------------------------------------------------
class finfo:  # noqa: N801 - torch's name
    """torch.finfo: the limits of a floating point dtype (default: the default dtype)."""

    def __init__(self, type: Any = None) -> None:  # noqa: A002 - torch's name
        dt = get_default_dtype() if type is None else np.dtype(type)
        if dt.kind != "f":
            raise TypeError(f"finfo() requires a floating point input type, got {dt}. Use iinfo to handle it")
        info = np.finfo(dt)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = str(dt)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("finfo", self.dtype))

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
            f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})"
        )


class iinfo:  # noqa: N801 - torch's name
    """torch.iinfo: the limits of an integer dtype."""

    def __init__(self, type: Any) -> None:  # noqa: A002 - torch's name
        dt = np.dtype(type)
        if dt.kind not in "iu":
            raise TypeError(f"iinfo() requires an integer input type, got {dt}. Use finfo to handle it")
        info = np.iinfo(dt)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), str(dt)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("iinfo", self.dtype))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


# -- print options --------------------------------------------------------------------------------
_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80),
}
_print: dict[str, Any] = {}  # the options set; repr(tensor) uses torch's defaults for the others


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """torch.set_printoptions: digits after the point, the element count above which a tensor
    is summarised, the items kept at each edge then, the characters per line, a ``profile``
    ("default", "short", "full") setting the first four, and ``sci_mode`` (True: always
    scientific notation, False: never, None: as needed)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        _print.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):  # fmt: skip
        if value is not None:
            _print[name] = value
    _print["sci_mode"] = sci_mode


def print_kwargs() -> dict[str, Any]:
    """The print options as ``numpy.array2string`` keywords ({} before any set_printoptions)."""
    out: dict[str, Any] = {}
    for name in ("precision", "edgeitems"):
        if name in _print:
            out[name] = int(_print[name])
    if "threshold" in _print:
        t = _print["threshold"]
        out["threshold"] = 2**62 if t == float("inf") else int(t)
    if "linewidth" in _print:
        out["max_line_width"] = int(_print["linewidth"])
    sci = _print.get("sci_mode")
    if sci is True:
        digits = int(_print.get("precision", 4))
        out["formatter"] = {"float_kind": lambda v: np.format_float_scientific(v, precision=digits, unique=False)}
    elif sci is False:  # NumPy's suppress_small still switches to scientific at 1e8: format it ourselves
        digits = int(_print.get("precision", 4))
        out["formatter"] = {"float_kind": lambda v: np.format_float_positional(v, precision=digits, unique=False)}
    return out


# -- default device, legacy tensor types, denormals, device modules -----------------
def set_default_device(device: Any) -> None:
    """Make ``device`` ("cpu", "cuda", "cuda:N"; None: back to the CPU) where factories
    (``mc.zeros``, ``mc.tensor``, ``mc.randn``...) and layers' parameters made with
    ``device=None`` are allocated, as torch.set_default_device. "cuda" without CuPy raises
    minicnn's RuntimeError saying how to get it."""
    name = "cpu" if device is None else backend.device_str(device)
    if name != "cpu":
        backend.require_cupy()
    backend.DEFAULT_DEVICE = name


def get_default_device() -> backend.device:
    """The device of tensors made with ``device=None``: ``device("cpu")`` unless
    :func:`set_default_device` ("cuda:N" then; a :class:`minicnn.device` is its string)."""
    return backend.device(backend.DEFAULT_DEVICE)


_TENSOR_TYPES = {"FloatTensor": np.float32, "DoubleTensor": np.float64}


def set_default_tensor_type(t: Any, /) -> None:
    """Deprecated torch.set_default_tensor_type: ``t`` is a type name, "torch.FloatTensor" or
    "torch.DoubleTensor" (also "minicnn." in front; "torch.cuda.FloatTensor" also makes "cuda"
    the default device), which sets the default dtype. Warns as torch; TypeError for other types."""
    import warnings  # noqa: PLC0415

    warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use torch.set_default_dtype() "
        "and torch.set_default_device() as alternatives.",
        UserWarning,
        stacklevel=2,
    )
    name = t if isinstance(t, str) else getattr(t, "__name__", None)
    parts = name.split(".") if isinstance(name, str) else []
    if not parts or parts[-1] not in _TENSOR_TYPES or parts[0] not in ("torch", "minicnn", "mc", parts[-1]):
        raise TypeError(
            f"invalid type object {t!r}: only floating-point types are supported as the default type "
            "(torch.FloatTensor, torch.DoubleTensor)"
        )
    set_default_dtype(_TENSOR_TYPES[parts[-1]])
    if "cuda" in parts[1:-1]:
        set_default_device("cuda")


def set_flush_denormal(mode: bool) -> bool:
    """torch.set_flush_denormal: whether flushing denormal floats to zero could be set. NumPy
    gives no control of the CPU's flush-to-zero mode, so minicnn never flushes them and
    returns False for either mode, as torch does on a CPU without that support."""
    return False


def init_num_threads() -> None:
    """torch.init_num_threads: nothing to do here (NumPy's BLAS sets up its threads itself)."""


# -- deterministic algorithms ---------------------------------------------------------------------
_deterministic = {"mode": False, "warn_only": False}  # as torch keeps them: two flags
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """torch.use_deterministic_algorithms: with ``mode=True`` an op that has no deterministic
    implementation raises a RuntimeError naming it (a UserWarning with ``warn_only=True``).

    minicnn's CPU kernels are all deterministic (NumPy's scatter-adds run in order), as are its
    CUDA kernels (gathers, no atomics: docs/gpu.md). The exceptions are the floating-point
    scatter-adds on a GPU, CuPy's atomic ``cupyx.scatter_add``: ``index_put_(...,
    accumulate=True)``, ``scatter_add_``/``index_add_`` and the backward passes built on them
    (advanced indexing, gather, embedding, grid_sample, interpolate, ROI ops, CTC...) alert on
    CUDA tensors. torch has deterministic CUDA versions of some of these (indexing, gather,
    embedding, ``scatter_add_``), so there minicnn raises where torch does not.
    """
    if not isinstance(mode, (bool, np.bool_)):
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' must be bool, not {type(mode).__name__}")
    _deterministic.update(mode=bool(mode), warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled() -> bool:
    """Whether :func:`use_deterministic_algorithms` is on (also in ``warn_only`` mode)."""
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` flag last given to :func:`use_deterministic_algorithms` (as torch, also when it is off)."""
    return _deterministic["warn_only"]


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """torch.set_deterministic_debug_mode: "default"/0 (off), "warn"/1 or "error"/2; the same
    switch as :func:`use_deterministic_algorithms`."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got {debug_mode}"
            )
        debug_mode = _DEBUG_MODES[debug_mode]
    if not isinstance(debug_mode, int) or debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode!r}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0, 1 or 2: see :func:`set_deterministic_debug_mode`."""
    return 0 if not _deterministic["mode"] else 1 if _deterministic["warn_only"] else 2


def alert_not_deterministic(caller: str) -> None:
    """Raise (or warn, in ``warn_only`` mode) where ``caller``, an op without a deterministic
    implementation, runs while :func:`use_deterministic_algorithms` is on; torch's message."""
    if not _deterministic["mode"]:
        return
    message = (
        f"{caller} does not have a deterministic implementation, but you set "
        "'minicnn.use_deterministic_algorithms(True)'. You can turn off determinism just for this operation, "
        "or you can use the 'warn_only=True' option, if that's acceptable for your application."
    )
    if _deterministic["warn_only"]:
        import warnings  # noqa: PLC0415

        warnings.warn(message, UserWarning, stacklevel=3)
    else:
        raise RuntimeError(message)


class _CpuModule:
    """What ``mc.get_device_module("cpu")`` returns: torch.cpu's small interface."""

    __name__ = "minicnn.cpu"
    amp = backend._LazyModule("minicnn.amp.cpu")  # torch.cpu.amp (autocast, GradScaler)

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def current_device() -> str:
        return "cpu"

    @staticmethod
    def synchronize(device: Any = None) -> None:
        """Nothing to wait for on the CPU."""

    def __repr__(self) -> str:
        return "<module 'minicnn.cpu'>"


cpu = _CpuModule()


def get_device_module(device: Any = None) -> Any:
    """The module of a device, as torch.get_device_module: ``mc.cuda`` for "cuda"/"cuda:N", a
    small cpu module (is_available, device_count, current_device, synchronize) for "cpu";
    None: ``mc.cuda`` when a GPU is available, else the cpu module."""
    if device is None:
        return backend.cuda if backend.cuda.is_available() else cpu
    kind, _ = backend.parse_device(device)
    return cpu if kind == "cpu" else backend.cuda


# -- warnings, type names -------------------------------------------------------------------------
_warn_always = False


def set_warn_always(b: bool, /) -> None:
    """Record torch's warn_always flag (False by default; :func:`is_warn_always_enabled` reads it).
    In torch it makes warnings that are issued once per process issue every time; Python's
    ``warnings`` filters already decide that for minicnn's warnings, so here it is a flag only.
    RuntimeError for anything but a bool, as torch."""
    global _warn_always
    if not isinstance(b, bool):
        raise RuntimeError(f"set_warn_always expects a bool, but got {type(b).__name__}")
    _warn_always = b


def is_warn_always_enabled() -> bool:
    """Whether :func:`set_warn_always` turned the warn_always flag on."""
    return _warn_always


def typename(obj: object, /) -> str:
    """torch.typename: a tensor's legacy type name (``"torch.FloatTensor"``, as ``obj.type()``),
    else the object's qualified name: ``module.qualname`` of a class or function, of the class of
    any other object; builtins without their module (``"int"``, ``"list"``)."""
    if isinstance(obj, autograd.Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module, qualname = obj.__class__.__module__ or "", obj.__class__.__qualname__
    return qualname if module in {"", "builtins"} else f"{module}.{qualname}"
