"""A fake CuPy: NumPy arrays posing as arrays on two fake GPUs (see ``tests/fake_gpu/README.md``).

What it keeps of CuPy's behaviour, because minicnn's GPU code depends on it:

* ``cupy.ndarray`` is its own type (``FakeGpuArray``), with ``.device.id`` and ``.get()``;
  functions of the module (``cupy.empty``, ``cupy.asarray``, ...) return it.
* Elementwise operations, reductions and functions refuse host arrays mixed with device arrays
  (``TypeError``, like CuPy's "Unsupported type <class 'numpy.ndarray'>"); Python and NumPy
  scalars are accepted, and the converters (``asarray``...) take host arrays.
* What CuPy returns as a 0-d array (a full reduction, an element) is a 0-d device array here
  too, never a NumPy scalar.
* Devices: arrays belong to the device that was current when they were made
  (``cupy.cuda.Device(i)`` switches), and a kernel refuses arrays of another device.
* Integer array indices wrap around instead of raising, as in CuPy.
* Arguments NumPy takes and CuPy 13/14 does not are refused (TypeError, as CuPy's): ufunc
  ``where=``/``order=``, reductions' ``initial=``/``where=``, ``take``'s ``mode=``, ``einsum``'s
  ``out=``, ``choose`` with a list of choices, ``repeat`` with a device array of counts (CuPy 13
  takes an int or a list), ``asarray``'s ``copy=`` (CuPy 14 only), and
  (ValueError) a sort ``kind`` but "stable"
  (``_UFUNC_KEYWORDS``, ``_SIGNATURES``): code that runs only on NumPy fails here, not on a GPU.
* NumPy functions CuPy 13 lacks (``put_along_axis``, ``vecdot``, ``unstack``, ... ``NUMPY_ONLY``)
  are missing from the module (AttributeError), and NumPy's own on device arrays raise TypeError.
* ``RawModule`` "compiles" the CUDA source with the host runner and launches the kernel as the
  grid it is given (one emulated thread after another) when that grid is small, and as one
  thread otherwise (every kernel is a grid-stride loop, so one thread covers all indices).
* ``random.default_rng`` is NumPy's generator restricted to the methods CuPy's has, so draws
  equal the CPU's for one seed.
* ``counts`` records kernel launches and host reads (the per-step GPU budget is tested on it).
"""

from __future__ import annotations

import collections
import types
from typing import Any

import numpy as np

__version__ = "fake (NumPy " + np.__version__ + ")"

counts = collections.Counter()
"""What the fake saw: "kernels" (elementwise operations, reductions, functions that compute,
RawModule launches) and "host reads" (get, item, bool/int/float of a device array). Tests
clear it and count one training step: the GPU's per-step budget, without a GPU."""

EMULATED_THREADS_UP_TO = 1 << 14
"""A launch of at most this many threads runs as its grid; a larger one as a single thread."""


DEVICES = 2
"""Fake GPUs: 0 and 1. Like CuPy, arrays live on the device that was current when they were
made, and a kernel (an elementwise op, a reduction, a RawModule launch...) runs on the current
device and refuses arrays of another (CuPy: "The device where the array resides (1) is
different from the current device (0)", without peer access)."""
_current = [0]


class _Device:
    """``cupy.cuda.Device(i)``: a context that makes GPU i current; ``Device()`` is the current one."""

    def __init__(self, index: int | None = None) -> None:
        self.id = _current[0] if index is None else int(index)
        if not 0 <= self.id < DEVICES:
            raise ValueError(f"fake CuPy: no device {self.id} (there are {DEVICES})")
        self._saved: list[int] = []

    def synchronize(self) -> None:
        return None

    def use(self) -> None:
        """Make this device current (CuPy's ``Device.use``)."""
        _current[0] = self.id

    def __enter__(self) -> _Device:
        self._saved.append(_current[0])
        _current[0] = self.id
        return self

    def __exit__(self, *exc: Any) -> None:
        _current[0] = self._saved.pop()


def _on_current_device(a: FakeGpuArray) -> None:
    if a._dev != _current[0]:
        raise ValueError(
            f"fake CuPy: the device where the array resides ({a._dev}) is different from the current "
            f"device ({_current[0]})"
        )


def _host(a: Any) -> Any:
    """The NumPy view of a device array (which must be on the current device); a host array is
    refused, a scalar passes."""
    if isinstance(a, FakeGpuArray):
        _on_current_device(a)
        return a.view(np.ndarray)
    if isinstance(a, np.ndarray):
        raise TypeError(f"Unsupported type {type(a)} (fake CuPy: a host array mixed with device arrays)")
    if isinstance(a, (list, tuple)):
        return type(a)(_host(x) for x in a)
    return a


def _has_host_array(values: Any) -> bool:
    for v in values:
        if isinstance(v, np.ndarray) and not isinstance(v, FakeGpuArray):
            return True
        if isinstance(v, (list, tuple)) and _has_host_array(v):
            return True
    return False


def _device(r: Any) -> Any:
    if isinstance(r, np.ndarray):
        return r.view(FakeGpuArray)
    if isinstance(r, np.generic):
        return np.asarray(r).view(FakeGpuArray)
    if isinstance(r, tuple):
        return tuple(_device(x) for x in r)
    return r


def _host_read(name: str) -> Any:
    """A method that reads a device value on the host (CuPy: a copy, after waiting for the GPU)."""

    def read(self: FakeGpuArray, *args: Any) -> Any:
        counts["host reads"] += 1
        return getattr(self.view(np.ndarray), name)(*args)

    read.__name__ = name
    return read


class FakeGpuArray(np.ndarray):
    """A NumPy array posing as a CuPy array on the device that was current when it was made
    (a view stays on its base's device)."""

    _dev = 0

    def __array_finalize__(self, obj: Any) -> None:
        self._dev = obj._dev if isinstance(obj, FakeGpuArray) else _current[0]

    @property
    def device(self) -> _Device:
        return _Device(self._dev)

    def get(self) -> np.ndarray:
        counts["host reads"] += 1
        return np.array(self.view(np.ndarray))

    item, tolist = _host_read("item"), _host_read("tolist")
    __bool__, __float__ = _host_read("__bool__"), _host_read("__float__")
    __int__, __index__ = _host_read("__int__"), _host_read("__index__")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if ufunc.__name__ in NUMPY_ONLY:  # CuPy's __array_ufunc__ finds no cupy.<name>
            raise TypeError(f"fake CuPy: CuPy 13 has no ufunc {ufunc.__name__!r} (NumPy only)")
        _check_ufunc_keywords(ufunc, method, kwargs)
        counts["kernels"] += 1
        # ufunc.at(a, indices, b): the indices may be host arrays, as in indexing
        args = [_index(a) if method == "at" and i == 1 else _host(a) for i, a in enumerate(inputs)]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_host(o) for o in out)
        if "where" in kwargs:
            kwargs["where"] = _host(kwargs["where"])
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return None if method == "at" else _device(result)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        """NumPy functions on device arrays run (CuPy dispatches them to its own), but refuse a
        host array beside a device one, as CuPy's versions do."""
        if func.__name__ in NUMPY_ONLY:  # CuPy's __array_function__ finds no cupy.<name>
            raise TypeError(
                f"fake CuPy: no implementation of numpy.{func.__name__} for device arrays (CuPy 13 lacks it)"
            )
        if _has_host_array(args) or _has_host_array(kwargs.values()):
            raise TypeError(f"fake CuPy: numpy.{func.__name__} got a host NumPy array beside a device array")
        _check_call(func.__name__, args, kwargs)  # CuPy calls its own function with these arguments
        return super().__array_function__(func, types, args, kwargs)

    # the methods whose CuPy versions take fewer arguments than NumPy's (see _SIGNATURES)
    def take(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("take", args, kwargs, method=True)
        return super().take(*args, **kwargs)

    def choose(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("choose", args, kwargs, method=True)
        return super().choose(*args, **kwargs)

    def repeat(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("repeat", args, kwargs, method=True)
        return super().repeat(*args, **kwargs)

    def argsort(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("argsort", args, kwargs, method=True)
        return super().argsort(*args, **kwargs)

    def sort(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("sort", args, kwargs, method=True)
        return super().sort(*args, **kwargs)

    def sum(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("sum", args, kwargs, method=True)
        return super().sum(*args, **kwargs)

    def prod(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("prod", args, kwargs, method=True)
        return super().prod(*args, **kwargs)

    def mean(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("mean", args, kwargs, method=True)
        return super().mean(*args, **kwargs)

    def max(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("max", args, kwargs, method=True)
        return super().max(*args, **kwargs)

    def min(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("min", args, kwargs, method=True)
        return super().min(*args, **kwargs)

    def all(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("all", args, kwargs, method=True)
        return super().all(*args, **kwargs)

    def any(self, *args: Any, **kwargs: Any) -> Any:
        _check_call("any", args, kwargs, method=True)
        return super().any(*args, **kwargs)

    def __getitem__(self, key: Any) -> Any:
        r = super().__getitem__(_wrapped(_index(key), self.shape))
        if isinstance(r, np.generic):  # CuPy gives a 0-d array on the array's device
            r = np.asarray(r).view(FakeGpuArray)
            r._dev = self._dev
        return r

    def __setitem__(self, key: Any, value: Any) -> None:
        _on_current_device(self)  # a copy kernel on the current device
        super().__setitem__(_index(key), _host(value))


_UFUNC_KEYWORDS = {
    "__call__": {"out", "dtype", "casting"},
    "outer": {"out", "dtype", "casting"},
    "reduce": {"axis", "dtype", "out", "keepdims"},
    "accumulate": {"axis", "dtype", "out"},
    "reduceat": {"axis", "dtype", "out"},
    "at": set(),
}
"""The keywords CuPy's ufuncs take (``cupy.ufunc.__call__`` pops out, dtype and casting and
raises "Wrong arguments" for any other; ``reduce(array, axis, dtype, out, keepdims)``): no
``where=``, ``initial=``, ``order=``, ``subok=``, ``signature=``. NumPy's own methods pass
``where=True`` and ``initial=<no value>`` to their reductions, so only other values are refused."""

_SIGNATURES = {
    "take": ("a", "indices", "axis", "out"),  # no mode= ("This function does not support mode")
    "choose": ("a", "choices", "out", "mode"),
    "sum": ("a", "axis", "dtype", "out", "keepdims"),  # no initial=, where=
    "prod": ("a", "axis", "dtype", "out", "keepdims"),
    "nansum": ("a", "axis", "dtype", "out", "keepdims"),
    "mean": ("a", "axis", "dtype", "out", "keepdims"),
    "max": ("a", "axis", "out", "keepdims"),
    "amax": ("a", "axis", "out", "keepdims"),
    "min": ("a", "axis", "out", "keepdims"),
    "amin": ("a", "axis", "out", "keepdims"),
    "all": ("a", "axis", "out", "keepdims"),
    "any": ("a", "axis", "out", "keepdims"),
    "argsort": ("a", "axis", "kind"),  # kind None or "stable" only (ValueError otherwise)
    "sort": ("a", "axis", "kind"),
    "asarray": ("a", "dtype", "order", "blocking"),  # no copy= (CuPy 14 adds it)
}
"""CuPy 13/14's parameters of functions (and, but for the first, of the ndarray methods) where
NumPy's take more; ``einsum`` (operands, then only dtype= and optimize=) is checked apart."""


def _check_ufunc_keywords(ufunc: np.ufunc, method: str, kwargs: dict) -> None:
    allowed = _UFUNC_KEYWORDS.get(method, set())
    unknown = {k for k, v in kwargs.items() if k not in allowed}
    unknown = {k for k in unknown if not _is_default(k, kwargs[k])}
    if unknown:
        raise TypeError(f"fake CuPy: cupy.{ufunc.__name__}.{method} got keywords CuPy lacks: {sorted(unknown)}")


_DEFAULTS = {"where": True, "initial": np._NoValue, "subok": False, "order": "K"}
"""NumPy's defaults, which its own methods pass on to ufuncs: CuPy's behaviour (not refused)."""


def _is_default(name: str, value: Any) -> bool:
    return name in _DEFAULTS and (value is _DEFAULTS[name] or (name == "order" and value == "K"))


def _check_call(name: str, args: tuple, kwargs: dict, method: bool = False) -> None:
    """TypeError for an argument CuPy's ``name`` does not take (a keyword, or one positional
    argument too many); ``choose`` also needs its choices as one device array (CuPy reads
    ``choices.shape``: a list raises AttributeError there)."""
    if name == "einsum":
        unknown = set(kwargs) - {"dtype", "optimize"}
        if unknown:
            raise TypeError(f"fake CuPy: cupy.einsum takes no {sorted(unknown)} (only dtype= and optimize=)")
        return
    params = _SIGNATURES.get(name)
    if params is None:
        return
    params = params[1:] if method else params
    unknown = {k for k in set(kwargs) - set(params) if not _is_default(k, kwargs[k])}
    if len(args) > len(params) or unknown:
        raise TypeError(
            f"fake CuPy: cupy.{name} takes only ({', '.join(params)}); got {len(args)} positional and {sorted(kwargs)}"
        )
    if name in ("argsort", "sort"):
        at = 1 if method else 2  # kind's position
        kind = args[at] if len(args) > at else kwargs.get("kind")
        if kind not in (None, "stable"):
            raise ValueError(f"fake CuPy: cupy.{name}: kind can only be None or 'stable' (got {kind!r})")
    if name == "repeat":
        repeats = args[0 if method else 1] if len(args) > (0 if method else 1) else kwargs.get("repeats")
        if isinstance(repeats, FakeGpuArray):
            raise ValueError("fake CuPy: cupy.ndaray cannot be specified as `repeats` argument (CuPy 13: ints only)")
    if name == "choose":
        choices = args[0 if method else 1] if len(args) > (0 if method else 1) else kwargs.get("choices")
        if not isinstance(choices, FakeGpuArray):
            raise TypeError(
                "fake CuPy: cupy.choose needs its choices as one device array (CuPy reads choices.shape), "
                f"got {type(choices).__name__}"
            )


def _wrapped(key: Any, shape: tuple[int, ...]) -> Any:
    """Integer array indices taken modulo their axis's size: CuPy wraps out-of-range indices
    around where NumPy raises (CuPy's documented difference)."""
    parts = key if isinstance(key, tuple) else (key,)
    if not any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts):
        return key
    from minicnn.ops.shape import index_axes  # noqa: PLC0415  (the same axis bookkeeping)

    out = []
    for p, axis in index_axes(parts, len(shape)):
        if isinstance(p, np.ndarray) and p.dtype.kind in "iu" and axis is not None and shape[axis]:
            p = p % shape[axis]
        out.append(p)
    return tuple(out) if isinstance(key, tuple) else out[0]


def _index(key: Any) -> Any:
    """An index for the NumPy view: device index arrays unwrapped (CuPy also takes host ones)."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    return key.view(np.ndarray) if isinstance(key, FakeGpuArray) else key


_CONVERTERS = {"array", "asarray", "asanyarray"}  # the functions that take host arrays
_NO_KERNEL = {"empty", "empty_like", "asarray", "ascontiguousarray", "array", "asanyarray", "moveaxis", "stack"}
"""Functions counted as no kernel launch: allocation, views, and conversions that are copies
only when needed (what they copy is a transfer or a copy kernel, counted nowhere: a lower bound)."""


def _unwrap(v: Any, converter: bool = False) -> Any:
    if isinstance(v, FakeGpuArray):
        if not converter:  # cupy.asarray(a) of another device's array copies it here
            _on_current_device(v)
        return v.view(np.ndarray)
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x, converter) for x in v)
    return v


def _as_device(fn: Any, name: str = "") -> Any:
    """A CuPy function made of NumPy's: host arrays refused (but by the converters), device
    arrays computed on as NumPy arrays, array results returned as device arrays."""

    def on_device(*args: Any, **kwargs: Any) -> Any:
        _check_call(name, args, kwargs)
        if name not in _NO_KERNEL:
            counts["kernels"] += 1
        if name not in _CONVERTERS and (_has_host_array(args) or _has_host_array(kwargs.values())):
            raise TypeError(f"fake CuPy: cupy.{name} got a host NumPy array (CuPy takes device arrays)")
        conv = name in _CONVERTERS
        result = _device(fn(*_unwrap(args, conv), **{k: _unwrap(v, conv) for k, v in kwargs.items()}))
        source = args[0] if args else None
        if conv and isinstance(source, FakeGpuArray) and isinstance(result, FakeGpuArray):
            if source._dev != _current[0]:  # cupy.asarray(a) of another GPU's array: a copy here
                result = np.array(result.view(np.ndarray)).view(FakeGpuArray)
            elif np.may_share_memory(result, source):
                result._dev = source._dev  # nothing to convert: a itself (or a view)
        elif conv and isinstance(source, np.ndarray) and isinstance(result, FakeGpuArray):
            if np.may_share_memory(result.view(np.ndarray), source):  # host -> device: a copy, as in CuPy
                result = np.array(result.view(np.ndarray)).view(FakeGpuArray)
        return result

    on_device.__name__ = name or getattr(fn, "__name__", "fn")
    return on_device


NUMPY_ONLY = frozenset(
    """acos acosh asin asinh atan atan2 atanh pow apply_over_axes asmatrix astype bitwise_count bitwise_invert
    bitwise_left_shift bitwise_right_shift block bmat busday_count busday_offset concat cumulative_prod
    cumulative_sum datetime_as_string datetime_data einsum_path frompyfunc fromregex geomspace histogram_bin_edges
    is_busday isdtype isnat matrix_transpose matvec nanpercentile nanquantile nested_iters permute_dims polyder
    polydiv polyint put_along_axis spacing trapezoid unique_all unique_counts unique_inverse unique_values unstack
    vecdot vecmat""".split()
)
"""NumPy (2.x) functions that CuPy 13 lacks (NumPy's public callables missing from CuPy 13.6's
namespace; CuPy 14 adds the array-API aliases, ``astype``, ``concat``, ``cumulative_*``,
``put_along_axis``, ``trapezoid`` and ``unique_*``, not ``vecdot``): ``cupy.<name>`` raises
AttributeError, and NumPy's function or ufunc on a device array TypeError (CuPy's
``__array_function__``/``__array_ufunc__`` find no implementation). Code must avoid them or
test with ``hasattr`` (as depthwise's ``vecdot``)."""


def __getattr__(name: str) -> Any:
    """Any other name: NumPy's, with array results coming back as device arrays (but the
    names CuPy 13 lacks, :data:`NUMPY_ONLY`)."""
    if name in NUMPY_ONLY:
        raise AttributeError(f"module 'cupy' has no attribute {name!r} (fake CuPy: NumPy has it, CuPy 13 does not)")
    attr = getattr(np, name)
    if callable(attr) and not isinstance(attr, type):
        return _as_device(attr, name)
    return attr


ndarray = FakeGpuArray


def asnumpy(a: Any) -> np.ndarray:
    return a.get() if isinstance(a, FakeGpuArray) else np.asarray(a)


class RawModule:
    """cupy.RawModule stand-in: "compiles" with the host runner and launches the kernel as the
    given grid of blocks. Scalars must be NumPy scalars (CuPy would pass a Python float as a
    double whatever the parameter's type). ``created`` and ``launched`` record what happened."""

    created: list[tuple[str, tuple]] = []
    launched: list[str] = []

    def __init__(self, code: str, options: tuple = (), **_: Any) -> None:
        self.code, self.options = code, options
        RawModule.created.append((code, options))

    def get_function(self, name: str) -> Any:
        from minicnn.kernels.cuda import host  # noqa: PLC0415

        def call(grid: tuple, block: tuple, args: tuple) -> None:
            assert len(grid) == 1 and len(block) == 1 and grid[0] >= 1 and block[0] >= 1
            converted = []
            for a in args:
                if isinstance(a, FakeGpuArray):
                    _on_current_device(a)  # a kernel reads the current device's memory
                    converted.append(("ptr", a))
                else:
                    assert isinstance(a, np.generic), f"{name}: scalar {a!r} is not a NumPy scalar"
                    converted.append(("scalar", a))
            RawModule.launched.append(name)
            counts["kernels"] += 1
            threads = grid[0] * block[0]
            shape = (grid[0], block[0]) if threads <= EMULATED_THREADS_UP_TO else (1, 1)
            with host.emulated_launch(*shape):
                host.launch(self.code, name, converted)

        return call


class _Generator:
    """NumPy's generator with only the methods CuPy's ``Generator`` has (no ``normal``,
    ``choice``, ``permutation``, ``shuffle``)."""

    METHODS = {"beta", "binomial", "chisquare", "dirichlet", "exponential", "f", "gamma", "geometric",
               "hypergeometric", "integers", "logseries", "poisson", "power", "random", "standard_exponential",
               "standard_gamma", "standard_normal", "uniform"}  # fmt: skip

    def __init__(self, seed: Any) -> None:
        self.rng = np.random.default_rng(seed)

    def __getattr__(self, name: str) -> Any:
        if name not in self.METHODS:
            raise AttributeError(f"fake CuPy: cupy.random.Generator has no attribute {name!r}")
        return _as_device(getattr(self.rng, name))


random = types.SimpleNamespace(default_rng=_Generator)


def _linalg_without(fn: Any, *keywords: str) -> Any:
    """A cupy.linalg function that refuses the keywords NumPy 2 has and CuPy 13 lacks."""

    def call(*args: Any, **kwargs: Any) -> Any:
        refused = sorted(set(kwargs) & set(keywords))
        if refused:
            raise TypeError(f"fake CuPy: cupy.{fn.__name__} takes no {refused} (NumPy-only)")
        return fn(*args, **kwargs)

    return call


linalg = types.SimpleNamespace(  # the cupy.linalg functions minicnn calls (CuPy's are batched too)
    svd=_linalg_without(_as_device(np.linalg.svd, "linalg.svd"), "hermitian"),
    qr=_as_device(np.linalg.qr, "linalg.qr"),
    eigh=_as_device(np.linalg.eigh, "linalg.eigh"),
    eigvalsh=_as_device(np.linalg.eigvalsh, "linalg.eigvalsh"),
    inv=_as_device(np.linalg.inv, "linalg.inv"),
    solve=_as_device(np.linalg.solve, "linalg.solve"),
    det=_as_device(np.linalg.det, "linalg.det"),
    slogdet=_as_device(np.linalg.slogdet, "linalg.slogdet"),
    cholesky=_linalg_without(_as_device(np.linalg.cholesky, "linalg.cholesky"), "upper"),
)
lib = types.SimpleNamespace(
    stride_tricks=types.SimpleNamespace(
        as_strided=_linalg_without(_as_device(np.lib.stride_tricks.as_strided), "subok", "writeable"),
        sliding_window_view=_as_device(np.lib.stride_tricks.sliding_window_view),
    )
)
cuda = types.SimpleNamespace(
    Device=_Device,
    runtime=types.SimpleNamespace(
        getDeviceCount=lambda: DEVICES,
        getDevice=lambda: _current[0],
        getDeviceProperties=lambda i: {
            "name": b"fake GPU (NumPy arrays, kernels through g++)",
            "major": 9,
            "minor": 0,
            "totalGlobalMem": 2**30,
            "multiProcessorCount": 2,
        },
        memGetInfo=lambda: (2**29, 2**30),
    ),
)


class _MemoryPool:
    """CuPy's memory pool interface (per device, the current one). The fake does not count the
    bytes of its arrays: tests set ``used``/``total`` (device index -> bytes); ``free_all_blocks``
    drops the cached part (total becomes used) and counts its calls."""

    def __init__(self) -> None:
        self.used: dict[int, int] = {}
        self.total: dict[int, int] = {}
        self.freed = 0

    def used_bytes(self) -> int:
        return self.used.get(_current[0], 0)

    def total_bytes(self) -> int:
        return self.total.get(_current[0], 0)

    def free_all_blocks(self) -> None:
        self.freed += 1
        self.total = dict(self.used)


_memory_pool, _pinned_memory_pool = _MemoryPool(), _MemoryPool()


def get_default_memory_pool() -> _MemoryPool:
    return _memory_pool


def get_default_pinned_memory_pool() -> _MemoryPool:
    return _pinned_memory_pool
