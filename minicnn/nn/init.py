"""Weight initialisation (``mc.nn.init``), PyTorch's formulas, drawing from the library RNG.

Each function fills a tensor in place and returns it. ``fan_in`` of a weight of shape
(out, in, *kernel) is ``in * prod(kernel)``; ``fan_out`` is ``out * prod(kernel)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend, random
from ..autograd import Tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    if t.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dimensions, got shape {t.shape}")
    receptive = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive


def _fill(t: Tensor, draw: Any) -> Tensor:
    """Replace the data of ``t`` (same shape, dtype, device) with ``draw(generator)``."""
    with backend.array_scope(t.array):  # draws and allocates on t's GPU
        new = t.xp.asarray(draw(random.generator(t.xp)), dtype=t.dtype)
    if new.shape == t.shape:
        t.array = new  # the fresh draw becomes the data: no second pass over memory
    else:
        t.array[...] = new
        t._version += 1
    return t


def _draw_dtype(t: Tensor) -> Any:
    """Draw float32 tensors in float32 (half the time and memory of a float64 draw)."""
    return np.float32 if t.dtype == np.float32 else np.float64


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    dt = _draw_dtype(t)
    return _fill(t, lambda g: g.random(t.shape, dtype=dt) * dt(b - a) + dt(a))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    dt = _draw_dtype(t)
    return _fill(t, lambda g: g.standard_normal(t.shape, dtype=dt) * dt(std) + dt(mean))


def constant_(t: Tensor, val: float) -> Tensor:
    t.array[...] = val
    t._version += 1
    return t


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1.0)


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al. 2015)."""
    fan = _calculate_fan_in_and_fan_out(t)[0 if mode == "fan_in" else 1]
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(t, -bound, bound)


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    fan = _calculate_fan_in_and_fan_out(t)[0 if mode == "fan_in" else 1]
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def trunc_normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """N(mean, std^2) restricted to [a, b] (absolute bounds, as in torch), by rejection:
    redraw the samples that fall outside until none do."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")

    def draw(g: Any) -> Any:  # standard_normal: CuPy's generator has no normal()
        x = mean + std * g.standard_normal(t.shape)
        bad = (x < a) | (x > b)
        while bad.any():
            x[bad] = mean + std * g.standard_normal(int(bad.sum()))
            bad = (x < a) | (x > b)
        return x

    return _fill(t, draw)
