"""Host memory: keep large temporary arrays from costing a page fault per 4 KiB page.

A training step allocates and frees the same large arrays (im2col columns, activations,
gradients: up to ~10 MB each for LeNet-5 at batch 128) over and over. glibc's malloc serves
such sizes with a fresh ``mmap`` and returns them with ``munmap`` on free (or trims the heap
top), so every step touches brand-new pages and the kernel zero-fills them one page fault at
a time: measured ~3,200 faults per LeNet-5 step, a third of the step's time on this VM.

:func:`keep_freed_memory` raises two malloc thresholds so that freed blocks stay in the heap
and the next step reuses them (the CPU counterpart of a GPU framework's caching allocator):

* ``M_MMAP_THRESHOLD`` = 32 MiB (glibc's maximum): blocks below it come from the heap;
* ``M_TRIM_THRESHOLD`` = 256 MiB: up to that much free memory at the heap top is kept.

It runs once when minicnn is imported (glibc only; elsewhere it does nothing). The process
then holds on to up to ~256 MiB of freed memory. Set ``MINICNN_KEEP_FREED_MEMORY=0`` before
the import to leave malloc as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 256 * 2**20

_applied = False


def keep_freed_memory() -> bool:
    """Set the malloc thresholds described above; True where that took effect (glibc)."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
    return _applied


def _apply_on_import() -> None:
    if os.environ.get("MINICNN_KEEP_FREED_MEMORY", "1") != "0":
        keep_freed_memory()
