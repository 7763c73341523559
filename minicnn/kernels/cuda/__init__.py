"""CUDA kernels for the operations where CuPy's array API is slow on a GPU.

For CuPy arrays, im2col/col2im, max pooling (argmax routing), LRN, depthwise convolution,
the dropout mask, softmax cross-entropy and the SGD update run as hand-written CUDA kernels
(``cupy.RawModule``) instead of array code; the array-code kernels in :mod:`minicnn.kernels`
stay the reference ("twin") and the CPU path, and call these launchers when
:func:`enabled_for` their arguments.

Design, so that the GPU code is tested without a GPU:

1. Every kernel is a grid-stride loop over ``IDX`` indices, written against a type name
   ``T``; prepended ``typedef`` lines bind ``T`` to float or double and ``IDX`` to ``int``
   (or ``long long`` for tensors of 2**31 elements and more). NVRTC compiles each
   source for both (``tests/test_cuda_kernels.py``), which catches CUDA syntax and type errors.
2. The same source also compiles with g++ behind a small prelude that defines ``threadIdx``,
   ``blockIdx``, ``blockDim`` and ``gridDim`` as host variables (:mod:`.host`): one host
   "thread" then runs every index, and the launchers called on NumPy arrays execute the
   CUDA index arithmetic on the CPU, compared with the array code and with torch.
3. On a GPU the very same launchers run through CuPy (:mod:`.launch`).

No kernel uses shared memory, ``__syncthreads`` or atomics: reductions over overlapping
windows are written as gathers (each output computed by one thread), which keeps results
deterministic and the host emulation exact.
"""

from __future__ import annotations

import importlib
from typing import Any

from .launch import Kernel, array_code, cuda_kernels_enabled, enabled_for, use_cuda_kernels

_SUBMODULES = ("cross_entropy", "depthwise", "dropout", "host", "im2col", "launch", "lrn", "pool", "sgd")


def __getattr__(name: str) -> Any:
    """The kernel modules are imported on first use (``cuda.pool.max_pool2d_forward``): they
    import their array-code twins, which import this package to dispatch, so importing them
    here would be circular."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Kernel",
    "array_code",
    "cuda_kernels_enabled",
    "enabled_for",
    "use_cuda_kernels",
    *_SUBMODULES,
]
