"""Fractional max pooling (Graham, 2014) on (P, *spatial) arrays, 2-d or 3-d, torch's rule.

Shapes: x (P, *in) with P = N*C planes and ``in`` = (H, W) or (T, H, W); samples (P, d) -> y and
int64 indices (P, *out); each index is the flat position (row-major) of its maximum in the plane.

Every window is a full ``kernel`` box; only where the windows start is random. Along one axis
with input size ``in``, output size ``out``, kernel ``k`` and the plane's sample u (torch's
interval rule, computed in the input's dtype like torch's CPU kernel)::

    alpha   = (in - k) / (out - 1)
    start_i = int((i + u) * alpha) - int(u * alpha)     for i < out - 1   (int truncates)
    start_{out-1} = in - k

so the steps between windows are floor(alpha) or ceil(alpha), in a pseudo-random order fixed by
u, and the last window ends at the border. torch takes sample 0 for W and 1 for H (2-d), and
0, 1, 2 for T, H, W (3-d). The max over a window scans it in row-major order with torch's rule
``v > max or isnan(v)`` from -inf: the first maximum wins, a NaN wins (the last NaN), a window of
-inf points at its first element.

Vectorised over planes and windows: the loop runs over the K = prod(kernel) kernel offsets; for
each, the flat positions start + offset of all windows (P, *out) are gathered from the planes.
Cost: forward K gathers and comparisons over P*prod(out) elements; backward one scatter-add of
the gradient at the saved indices (windows overlap when alpha < k, and then accumulate).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from .. import backend
from .scatter import add_at


def interval_starts(samples: Any, size: int, out: int, kernel: int) -> Any:
    """(P, out) int64 window starts along one axis from the samples u (P,), torch's rule (see the
    module docstring); the arithmetic is in the samples' dtype, as torch's kernel. Starts are
    clipped into [0, size - kernel] (only samples outside [0, 1) could leave that range)."""
    xp = backend.get_array_module(samples)
    dtype = samples.dtype
    starts = xp.full((samples.shape[0], out), size - kernel, dtype=np.int64)
    if out > 1:
        alpha = dtype.type(size - kernel) / dtype.type(out - 1)
        i = xp.arange(out - 1, dtype=dtype)
        u = samples[:, None]
        starts[:, :-1] = ((i + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)
    return xp.clip(starts, 0, size - kernel)


def fractional_max_pool_forward(x: Any, samples: Any, kernel: tuple[int, ...], out: tuple[int, ...]) -> tuple[Any, Any]:
    """x (P, *in), samples (P, d) in x's dtype -> y (P, *out) and int64 indices (P, *out)."""
    xp = backend.get_array_module(x)
    d = len(kernel)
    size = x.shape[1:]
    P = x.shape[0]
    sample_of_axis = (1, 0) if d == 2 else (0, 1, 2)  # torch: 2-d sample 0 is W, 1 is H
    strides = [math.prod(size[a + 1 :]) for a in range(d)]
    # flat position of each window's first element: sum over axes of start * stride, (P, *out)
    base = xp.zeros((P, *out), dtype=np.int64)
    for a in range(d):
        starts = interval_starts(samples[:, sample_of_axis[a]], size[a], out[a], kernel[a])
        shape = [P] + [out[b] if b == a else 1 for b in range(d)]
        base = base + (starts * strides[a]).reshape(shape)
    planes = x.reshape(P, math.prod(size))  # sizes spelled out, not -1: there may be no planes
    flat_base = base.reshape(P, math.prod(out))
    y = xp.full(flat_base.shape, -np.inf, dtype=x.dtype)
    indices = flat_base.copy()
    for taps in itertools.product(*(range(k) for k in kernel)):  # row-major: torch's scan order
        pos = flat_base + sum(t * s for t, s in zip(taps, strides))
        v = xp.take_along_axis(planes, pos, axis=1)
        better = (v > y) | xp.isnan(v)
        y = xp.where(better, v, y)
        indices = xp.where(better, pos, indices)
    return y.reshape(P, *out), indices.reshape(P, *out)


def fractional_max_pool_backward(gy: Any, indices: Any, x_shape: tuple[int, ...]) -> Any:
    """gx (x_shape = (P, *in)): each output gradient added at its maximum (one scatter-add)."""
    xp = backend.get_array_module(gy)
    P = x_shape[0]
    gx = xp.zeros((P, math.prod(x_shape[1:])), dtype=gy.dtype)
    n = math.prod(indices.shape[1:])
    add_at(gx, (xp.arange(P)[:, None], indices.reshape(P, n)), gy.reshape(P, n))
    return gx.reshape(x_shape)


def fractional_max_pool_reference(
    x: np.ndarray, samples: np.ndarray, kernel: tuple[int, ...], out: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The slow reference: torch's loops over planes and windows, NumPy only (for tests).
    x (P, *size) planes, samples (P, d) -> (y, int64 indices), each (P, *out). Cost: a Python
    step per output element (P * prod(out) windows), for study and tests only."""
    d = len(kernel)
    size = x.shape[1:]
    sample_of_axis = (1, 0) if d == 2 else (0, 1, 2)
    y = np.empty((x.shape[0], *out), dtype=x.dtype)
    idx = np.empty((x.shape[0], *out), dtype=np.int64)
    for p in range(x.shape[0]):
        seqs = [interval_starts(samples[p : p + 1, sample_of_axis[a]], size[a], out[a], kernel[a])[0] for a in range(d)]
        for o in itertools.product(*(range(n) for n in out)):
            best, where = -np.inf, None
            for taps in itertools.product(*(range(k) for k in kernel)):
                at = tuple(int(seqs[a][o[a]]) + taps[a] for a in range(d))
                v = x[(p, *at)]
                if where is None:
                    where = at
                if v > best or np.isnan(v):
                    best, where = v, at
            y[(p, *o)] = best
            idx[(p, *o)] = np.ravel_multi_index(where, size)
    return y, idx
