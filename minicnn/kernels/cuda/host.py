"""Run CUDA kernel sources on the CPU: compile them with g++ behind a prelude that emulates CUDA.

Every kernel in :mod:`minicnn.kernels.cuda` is written as a grid-stride loop over
``IDX`` indices (``int`` or ``long long``, bound per launch), so ONE thread runs all of
them. The prelude below makes the same source a valid C++ file: ``__global__`` and
``__device__`` vanish, ``threadIdx``, ``blockIdx``, ``blockDim`` and ``gridDim`` become plain
variables (by default thread 0 of a one-thread grid), and the few CUDA intrinsics the kernels
use get host versions. The source is compiled to a shared library and called through
``ctypes`` on NumPy arrays: the exact index arithmetic of the CUDA code runs on the CPU,
where it can be compared with the array code and with torch.

:func:`emulated_launch` runs a kernel as ``grid x block`` emulated threads one after
another (optionally in reverse order): every index is then handled by the thread that owns
it on a GPU, which checks that the kernels' threads are independent (no thread reads what
another one writes).

Libraries are cached on disk under ``$MINICNN_KERNEL_CACHE`` or
``<tmp>/minicnn-host-kernels-<uid>``, named by the sha256 of the complete C++ text and the
compiler flags. A library is compiled to a temporary name and then renamed into place
(atomic), so parallel test processes never load a half-written file.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

CXX_FLAGS = ("-O2", "-std=c++14", "-shared", "-fPIC", "-ffp-contract=off", "-Wall", "-Wextra")
"""-ffp-contract=off: no fused multiply-adds, so each float operation rounds exactly like the
corresponding NumPy operation."""

PRELUDE = r"""// host prelude: lets CUDA kernel sources compile as C++ (minicnn/kernels/cuda/host.py)
#include <cmath>
#include <cstring>
using std::exp; using std::fabs; using std::fmax; using std::fmin; using std::isinf; using std::isnan;
using std::log; using std::pow; using std::sqrt;
#define __global__
#define __device__
#define __forceinline__ inline
struct minicnn_uint3 { unsigned int x, y, z; };
static minicnn_uint3 threadIdx = {0, 0, 0};
static minicnn_uint3 blockIdx = {0, 0, 0};
static minicnn_uint3 blockDim = {1, 1, 1};
static minicnn_uint3 gridDim = {1, 1, 1};
extern "C" void minicnn_set_thread(unsigned int grid, unsigned int block, unsigned int b, unsigned int t) {
    gridDim.x = grid; blockDim.x = block; blockIdx.x = b; threadIdx.x = t;
}
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, sizeof f); return f; }
static inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, sizeof d); return d; }
// end of host prelude
"""

C_TYPES = {
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
    np.dtype(np.int64): ctypes.c_longlong,
    np.dtype(np.int32): ctypes.c_int,
    np.dtype(np.uint8): ctypes.c_ubyte,
}

_libraries: dict[str, ctypes.CDLL] = {}
_launch: contextvars.ContextVar[tuple[int, int, bool]] = contextvars.ContextVar(
    "minicnn_host_launch", default=(1, 1, False)
)


def cache_dir() -> Path:
    """The directory of compiled libraries (created, private to this user)."""
    root = os.environ.get("MINICNN_KERNEL_CACHE")
    if root:
        path = Path(root)
    else:
        uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
        path = Path(tempfile.gettempdir()) / f"minicnn-host-kernels-{uid}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if hasattr(os, "getuid") and path.stat().st_uid != os.getuid():
        raise RuntimeError(f"host kernels: cache directory {path} belongs to another user; set MINICNN_KERNEL_CACHE")
    return path


def _key(cuda_source: str) -> str:
    return hashlib.sha256("\0".join((PRELUDE + cuda_source, *CXX_FLAGS)).encode()).hexdigest()


def compile_library(cuda_source: str) -> ctypes.CDLL:
    """The shared library of ``PRELUDE + cuda_source`` (compiled once, then cached); g++'s
    diagnostics are kept beside it (:func:`compiler_warnings`)."""
    key = _key(cuda_source)
    lib = _libraries.get(key)
    if lib is not None:
        return lib
    path = cache_dir() / f"{key}.so"
    if not path.exists():
        _compile(PRELUDE + cuda_source, path)
    lib = ctypes.CDLL(str(path))
    lib.minicnn_set_thread.argtypes = [ctypes.c_uint] * 4
    lib.minicnn_set_thread.restype = None
    _libraries[key] = lib
    return lib


def _compile(text: str, path: Path) -> None:
    """g++ ``text`` into the library ``path`` (and its diagnostics into ``path.log``), each
    written under a temporary name and renamed into place."""
    cxx = shutil.which("g++")
    if cxx is None:
        raise RuntimeError(
            "host kernels: g++ was not found on PATH; it is needed to run the CUDA kernel sources on the CPU "
            "(install it, e.g. `apt-get install g++`)"
        )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}-", suffix=".so")
    os.close(fd)
    src, log = tmp[:-3] + ".cpp", tmp[:-3] + ".log"
    try:
        Path(src).write_text(text)
        done = subprocess.run([cxx, *CXX_FLAGS, src, "-o", tmp], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"host kernels: g++ failed to compile the kernel source:\n{done.stderr}")
        Path(log).write_text(done.stderr.replace(src, "kernels.cpp"))
        os.replace(log, path.with_suffix(".log"))  # the log first: a library in place always has one
        os.replace(tmp, path)
    finally:
        for leftover in (src, tmp, log):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)


def compiler_warnings(cuda_source: str) -> str:
    """g++'s diagnostics (with ``CXX_FLAGS``, which include -Wall -Wextra) for the host
    library of ``cuda_source``; empty when it compiled cleanly."""
    compile_library(cuda_source)
    log = cache_dir() / f"{_key(cuda_source)}.log"
    if not log.exists():  # a library from an older cache: compile once more for the log
        _compile(PRELUDE + cuda_source, log.with_suffix(".so"))
    return log.read_text()


@contextlib.contextmanager
def emulated_launch(grid: int = 1, block: int = 1, reverse: bool = False) -> Iterator[None]:
    """Run host kernels as ``grid`` blocks of ``block`` threads, one emulated thread after the
    other (in reverse order if ``reverse``). The default is a single thread."""
    if grid < 1 or block < 1:
        raise ValueError(f"emulated_launch: grid and block must be positive, got {grid} and {block}")
    token = _launch.set((int(grid), int(block), bool(reverse)))
    try:
        yield
    finally:
        _launch.reset(token)


def launch(cuda_source: str, name: str, args: list[tuple[str, Any]]) -> None:
    """Call kernel ``name`` of ``cuda_source`` on the CPU.

    ``args``: (kind, value) pairs in parameter order, kind ``"ptr"`` for a C-contiguous NumPy
    array (passed by address) or a NumPy scalar (passed by value as its C type).
    """
    lib = compile_library(cuda_source)
    fn = getattr(lib, name)
    c_types = [ctypes.c_void_p if kind == "ptr" else C_TYPES[value.dtype] for kind, value in args]
    c_args = [value.ctypes.data if kind == "ptr" else value.item() for kind, value in args]
    fn.argtypes, fn.restype = c_types, None
    grid, block, reverse = _launch.get()
    threads = [(b, t) for b in range(grid) for t in range(block)]
    for b, t in reversed(threads) if reverse else threads:
        lib.minicnn_set_thread(grid, block, b, t)
        fn(*c_args)
    lib.minicnn_set_thread(1, 1, 0, 0)
