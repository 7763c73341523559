"""The fake CuPy's ``cupyx.scipy.special``: ``erf``, one elementwise kernel on a device array
(float32 stays float32, float64 stays float64, as CuPy's loops 'f->f' and 'd->d')."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from cupy import _as_device

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _erf_host(x: Any) -> Any:
    out_dtype = np.float32 if x.dtype == np.float32 else np.float64
    return _erf(x).astype(out_dtype)


erf = _as_device(_erf_host, "erf")
