"""Compile and launch the CUDA kernels: on a GPU through CuPy, or on the CPU through g++.

A :class:`Kernel` holds one CUDA source with one or more ``extern "C" __global__``
kernels. The source is written against type names (``T`` the float type, ``I`` an index
type, ...) that are bound by ``typedef`` lines prepended per dtype, so one text serves
float32 and float64. :meth:`Kernel.run` reads each kernel's parameter list from the source
and checks the arguments against it (count, dtypes, contiguity), then dispatches on the
array type:

* CuPy arrays: the source is compiled by NVRTC into a ``cupy.RawModule`` (once per dtype
  combination and device, cached), and the kernel is launched with 256-thread blocks and
  ``min(ceil(n / 256), 65535 * 8)`` blocks; every kernel is a grid-stride loop, so a capped
  grid still covers all ``n`` indices.
* NumPy arrays: the same source runs on the CPU (:mod:`minicnn.kernels.cuda.host`), which
  is how the kernels are tested where there is no GPU.

Scalar arguments: Python ints are passed as the integer type the parameter declares, floats
as the C type the parameter declares (``T`` is the kernel dtype).

Index type: sources write their indices and sizes as ``IDX``. A launch binds it to ``int``
when every array and the grid-stride range fit in 32 bits (all but the largest tensors),
else to ``long long``: a GPU divides 32-bit integers several times faster than 64-bit ones,
and the kernels' index arithmetic (``idx % OW``, ``idx / OW``...) is a good part of their work.

The array-code kernels call these CUDA versions for CuPy arrays when :func:`enabled_for`
says so; ``with use_cuda_kernels(False):`` switches that off (the tests use it to compare
both paths on a GPU). CuPy is never imported here: its module comes from
:mod:`minicnn.backend` once some CuPy array exists.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from ... import backend
from . import host

BLOCK = 256
MAX_BLOCKS = 65535 * 8
INDEX = "IDX"  # the index type name of the sources, bound per launch (see index_dtype)
NVRTC_OPTIONS: tuple[str, ...] = ()  # CuPy adds the architecture; the default C++ dialect suffices
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

C_NAMES = {
    np.dtype(np.float32): "float",
    np.dtype(np.float64): "double",
    np.dtype(np.int64): "long long",
    np.dtype(np.int32): "int",
    np.dtype(np.uint8): "unsigned char",
}
FIXED_TYPES = {name: dtype for dtype, name in C_NAMES.items()}

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("minicnn_cuda_kernels", default=True)


# -- the switch ---------------------------------------------------------------------------------
def cuda_kernels_enabled() -> bool:
    """Whether CuPy arrays go to the CUDA kernels (default True) or to the array code."""
    return _enabled.get()


@contextlib.contextmanager
def use_cuda_kernels(flag: bool) -> Iterator[None]:
    """``with use_cuda_kernels(False):`` runs the array code on CuPy arrays instead of the
    CUDA kernels (the previous setting is restored on exit)."""
    token = _enabled.set(bool(flag))
    try:
        yield
    finally:
        _enabled.reset(token)


def enabled_for(*arrays: Any) -> bool:
    """True when the CUDA kernels should handle these arrays: kernels are enabled, every
    array (``None`` entries are ignored) is a CuPy array, and the floating ones share one
    dtype, float32 or float64. The array code handles everything else."""
    if not _enabled.get():
        return False
    present = [a for a in arrays if a is not None]
    if not present or not all(backend.is_cupy_array(a) for a in present):
        return False
    floats = {np.dtype(a.dtype) for a in present if np.dtype(a.dtype).kind == "f"}
    return len(floats) == 1 and floats.pop() in FLOAT_DTYPES


def array_code(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with the CUDA kernels switched off: how a launcher hands a case
    it does not cover back to its array-code twin (without being dispatched back to itself)."""
    with use_cuda_kernels(False):
        return fn(*args, **kwargs)


def check_float_dtype(op: str, *arrays: Any) -> np.dtype:
    """The common float32/float64 dtype of ``arrays``, else a TypeError naming ``op``."""
    dtypes = {np.dtype(a.dtype) for a in arrays if a is not None}
    if len(dtypes) != 1 or next(iter(dtypes)) not in FLOAT_DTYPES:
        raise TypeError(
            f"{op} (CUDA kernel): needs float32 or float64 arrays of one dtype, got {sorted(map(str, dtypes))}"
        )
    return dtypes.pop()


def index_dtype(n_threads: int, *arrays: Any) -> np.dtype:
    """int32 when every index a grid-stride kernel forms fits: each array's size and the
    thread count, plus one grid's stride (at most BLOCK * MAX_BLOCKS), below 2**31; else int64."""
    largest = max([int(n_threads), *(int(a.size) for a in arrays)])
    return np.dtype(np.int32 if largest + BLOCK * MAX_BLOCKS < 2**31 else np.int64)


# -- kernel sources -----------------------------------------------------------------------------
class Param(NamedTuple):
    """One kernel parameter: its C base type (``T``, ``long long``...), whether it is a pointer, its name."""

    ctype: str
    pointer: bool
    name: str


_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def parse_signatures(source: str) -> dict[str, tuple[Param, ...]]:
    """The parameter lists of all ``extern "C" __global__`` kernels in ``source``."""
    signatures = {}
    for name, params in _KERNEL.findall(_COMMENTS.sub(" ", source)):
        parsed = []
        for p in params.split(",") if params.strip() else []:
            words = p.replace("*", " * ").split()
            pointer = "*" in words
            words = [w for w in words if w not in ("const", "__restrict__", "*")]
            parsed.append(Param(" ".join(words[:-1]), pointer, words[-1]))
        signatures[name] = tuple(parsed)
    return signatures


class Kernel:
    """A CUDA source of grid-stride kernels, compiled per dtype for a GPU (NVRTC) or the CPU (g++).

    ``typedefs`` names the type parameters of the source (``("T",)`` or ``("T", "I")``);
    each is bound by ``typedef <C type> <name>;`` lines put in front of the source. ``T``
    must be float32 or float64; other names may be any integer or float type of
    :data:`C_NAMES`.
    """

    def __init__(self, source: str, typedefs: tuple[str, ...] = ("T",)) -> None:
        self.source = source
        self.typedefs = tuple(typedefs) + ((INDEX,) if re.search(rf"\b{INDEX}\b", source) else ())
        self.signatures = parse_signatures(source)
        if not self.signatures:
            raise ValueError('Kernel: the source defines no extern "C" __global__ kernel')
        for name, params in self.signatures.items():
            for p in params:
                if p.ctype not in FIXED_TYPES and p.ctype not in self.typedefs:
                    raise ValueError(f"Kernel {name}: parameter {p.name} has unsupported type {p.ctype!r}")
        # per kernel: the positions of its pointer and scalar parameters, and for each type
        # name (but IDX) the position of the first pointer declared with it, or None
        self._layout: dict[str, tuple] = {}
        for name, params in self.signatures.items():
            pointers = tuple(i for i, p in enumerate(params) if p.pointer)
            scalars = tuple(i for i, p in enumerate(params) if not p.pointer)
            first = [next((i for i in pointers if params[i].ctype == t), None) for t in self.typedefs if t != INDEX]
            self._layout[name] = (pointers, scalars, tuple(first))
        self._gpu_modules: dict[tuple, Any] = {}  # (dtypes of the type names, device) -> RawModule
        self._gpu_functions: dict[tuple, Any] = {}  # (dtypes, device, kernel name) -> its function
        self._plans: dict[tuple, tuple] = {}  # (kernel name, dtypes of the type names) -> dtype per parameter

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.signatures)

    def source_for(self, types: dict[str, Any]) -> str:
        """The full source for one binding of the type names, e.g. ``{"T": np.float32}``."""
        lines = [f"typedef {C_NAMES[np.dtype(types[t])]} {t};\n" for t in self.typedefs]
        return "".join(lines) + self.source

    def bind(
        self, name: str, args: tuple[Any, ...], typedefs: dict[str, Any] | None = None, n_threads: int = 0
    ) -> dict[str, np.dtype]:
        """The dtype of each type name, read from the first pointer argument declared with it
        (``IDX`` from the sizes: :func:`index_dtype`)."""
        types = {t: np.dtype(d) for t, d in (typedefs or {}).items()}
        if INDEX in self.typedefs and INDEX not in types:
            types[INDEX] = index_dtype(n_threads, *(a for a in args if hasattr(a, "size")))
        for p, a in zip(self.signatures[name], args):
            if p.pointer and p.ctype in self.typedefs and p.ctype not in types:
                types[p.ctype] = np.dtype(a.dtype)
        for t in self.typedefs:
            if t not in types:
                raise TypeError(
                    f"kernel {name}: cannot tell the type {t} from its arguments; pass typedefs={{{t!r}: ...}}"
                )
            if types[t] not in C_NAMES or (t == "T" and types[t] not in FLOAT_DTYPES):
                raise TypeError(f"kernel {name}: unsupported dtype {types[t]} for type {t}")
        return types

    def run(self, name: str, n_threads: int, *args: Any, typedefs: dict[str, Any] | None = None) -> None:
        """Launch kernel ``name`` over ``n_threads`` indices with ``args`` in parameter order.

        Arrays must be C-contiguous, all NumPy (run on the CPU) or all CuPy on one device (run
        on that GPU), with the dtypes the parameters declare.
        """
        params = self.signatures.get(name)
        if params is None:
            raise ValueError(f"kernel {name!r} is not in this source (it has {', '.join(self.names)})")
        if len(args) != len(params):
            raise TypeError(f"kernel {name}: takes {len(params)} arguments, got {len(args)}")
        pointers, scalars, first = self._layout[name]
        for i in pointers:
            if not hasattr(args[i], "dtype") or not hasattr(args[i], "flags"):
                raise TypeError(
                    f"kernel {name}: argument {params[i].name} must be an array, got {type(args[i]).__name__}"
                )
        # the dtypes of the type names: read from the arguments (fast), or by bind() when
        # typedefs are given, a type name has no pointer, or this binding is new (it validates)
        plan = key = None
        if typedefs is None and None not in first:
            key = tuple(args[i].dtype for i in first)
            if INDEX in self.typedefs:
                key += (index_dtype(int(n_threads), *(args[i] for i in pointers)),)
            plan = self._plans.get((name, key))
        if plan is None:
            types = self.bind(name, args, typedefs, int(n_threads))
            key = tuple(types[t] for t in self.typedefs)
            plan = self._plans.get((name, key))
            if plan is None:  # each parameter's dtype
                resolved = {**FIXED_TYPES, **types}
                plan = self._plans[(name, key)] = tuple(resolved[p.ctype] for p in params)
        converted = list(args)
        for i in pointers:
            a = args[i]
            if a.dtype != plan[i]:
                raise TypeError(f"kernel {name}: argument {params[i].name} must have dtype {plan[i]}, got {a.dtype}")
            if not a.flags.c_contiguous:
                raise ValueError(f"kernel {name}: argument {params[i].name} must be C-contiguous")
        for i in scalars:
            a, dtype = args[i], plan[i]
            if type(a) is not int and dtype.kind in "iu" and int(a) != a:
                raise TypeError(f"kernel {name}: argument {params[i].name} must be an integer, got {a!r}")
            converted[i] = dtype.type(a)  # an int out of the type's range raises
        arrays = [args[i] for i in pointers]
        cp = backend.cupy_if_loaded()
        on_gpu = 0 if cp is None else sum(isinstance(a, cp.ndarray) for a in arrays)
        if on_gpu and on_gpu != len(arrays):
            raise TypeError(f"kernel {name}: arrays must be all NumPy or all CuPy arrays")
        if n_threads <= 0:
            return
        if on_gpu:
            self._run_gpu(cp, name, int(n_threads), key, converted, arrays)
        else:
            types = dict(zip(self.typedefs, key))
            host.launch(
                self.source_for(types), name, [("ptr" if p.pointer else "scalar", a) for p, a in zip(params, converted)]
            )

    def _run_gpu(self, cp: Any, name: str, n: int, key: tuple, args: list, arrays: list) -> None:
        """Launch on the arrays' GPU: the module for this type binding and device is compiled
        once, its kernel functions fetched once, both cached."""
        device = arrays[0].device.id
        if _several_gpus(cp) and any(a.device.id != device for a in arrays[1:]):
            raise ValueError(f"kernel {name}: arrays are on different GPUs")
        fn = self._gpu_functions.get((key, device, name))
        if fn is None:
            with cp.cuda.Device(device):
                module = self._gpu_modules.get((key, device))
                if module is None:
                    types = dict(zip(self.typedefs, key))
                    module = cp.RawModule(code=self.source_for(types), options=NVRTC_OPTIONS)
                    self._gpu_modules[(key, device)] = module
                fn = self._gpu_functions[(key, device, name)] = module.get_function(name)
        blocks = min((n + BLOCK - 1) // BLOCK, MAX_BLOCKS)
        if device == _current_device(cp):
            fn((blocks,), (BLOCK,), tuple(args))
        else:
            with cp.cuda.Device(device):
                fn((blocks,), (BLOCK,), tuple(args))


def _current_device(cp: Any) -> int:
    return cp.cuda.runtime.getDevice()


_gpu_count: dict[int, int] = {}


def _several_gpus(cp: Any) -> bool:
    """Whether this process sees more than one GPU (asked once per CuPy module)."""
    count = _gpu_count.get(id(cp))
    if count is None:
        count = _gpu_count[id(cp)] = cp.cuda.runtime.getDeviceCount()
    return count > 1
