"""The fake CuPy's ``cupyx.scipy.special``: ``erf`` and ``erfc``, each one elementwise kernel
on a device array with CuPy's loops only ('f->f', 'd->d'): float16 and float32 give float32,
everything else float64."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:  # the fake on the path as `cupy` (PYTHONPATH=tests/fake_gpu), or imported as `fake_gpu.cupy`
    from cupy import _as_device
except ImportError:
    from fake_gpu.cupy import _as_device

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _loop_dtype(x: Any) -> Any:
    return np.float32 if x.dtype in (np.float16, np.float32) else np.float64


def _erf_host(x: Any) -> Any:
    return _erf(x).astype(_loop_dtype(x))


def _erfc_host(x: Any) -> Any:
    return _erfc(x).astype(_loop_dtype(x))


erf = _as_device(_erf_host, "erf")
erfc = _as_device(_erfc_host, "erfc")
