"""Fractional max pooling with torch.nn.functional's signatures (kernel in kernels/fractional_pool.py).

``fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
return_indices=False, _random_samples=None)``: input (N, C, H, W) or (C, H, W) -> (N, C, OH, OW),
the max over kernel-sized windows whose starts follow torch's pseudo-random interval rule, one
sample u in [0, 1) per (n, c) and axis. Given the same ``_random_samples`` (N, C, 2) (float, the
input's dtype) the output and indices equal torch's; otherwise the samples are drawn from
``minicnn.random.generator``. ``output_ratio`` r gives OH = int(H * r) (and OW alike).
The 3-d op is the same on (N, C, T, H, W) with samples (N, C, 3).

Gradient: gy goes to each window's maximum -- a scatter with constant indices, which
:class:`~minicnn.ops.pool.ScatterPlanes` makes an op for ``create_graph=True``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from .. import random as mc_random
from ..autograd import Function, Tensor, tie
from ..kernels import fractional_pool as K
from .errors import DtypeError, ShapeError
from .pool import ScatterPlanes


class FractionalMaxPool(Function):
    """x (..., *in) and samples (prod(...), d) (a setting) -> (..., *out)."""

    def forward(self, x):
        d = len(self.kernel)
        lead = x.shape[:-d]
        planes = x.reshape(math.prod(lead), *x.shape[-d:])
        y, indices = K.fractional_max_pool_forward(planes, self.samples, self.kernel, self.out)
        indices = indices.reshape(*lead, *self.out)
        if self.indices_out is not None:  # a list the caller reads after apply()
            self.indices_out.append(indices)
        if self.requires_grad:
            self.indices, self.x_shape = indices, x.shape
        return y.reshape(*lead, *self.out)

    def backward(self, gy):
        d = len(self.kernel)
        p = math.prod(self.x_shape[:-d])
        planes = (p, *self.out)
        gx = K.fractional_max_pool_backward(gy.reshape(planes), self.indices.reshape(planes), (p, *self.x_shape[-d:]))
        return gx.reshape(self.x_shape)

    def backward_graph(self, gy, x):  # gy to the maxima: linear in gy, the indices are constants
        d = len(self.kernel)
        return tie(ScatterPlanes.apply(gy, indices=self.indices, shape=self.x_shape, dims=d), x)


def _sizes(v: Any, d: int, name: str, op: str, kind: type = int) -> tuple:
    """An int (float for ratios) or a d-sequence (a 1-sequence counts for all) -> d-tuple."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = v[0]
        elif len(v) == d:
            return tuple(_size(a, name, op, kind) for a in v)
        else:
            raise ValueError(f"{op}: {name} must be a number or a sequence of {d}, got {v!r}")
    return (_size(v, name, op, kind),) * d


def _size(v: Any, name: str, op: str, kind: type) -> Any:
    """One entry of a size as ``kind``; a size (int kind) must be an integer, as torch's TypeError says."""
    if kind is int and not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {type(v).__name__} {v!r}")
    return kind(v)


def _check_samples(samples: Any, x: Tensor, batch: int, d: int, op: str) -> Any:
    """The (N, C, d) samples of a batch of N (1 unbatched) as a raw (N*C, d) array."""
    if not isinstance(samples, Tensor):
        raise TypeError(f"{op}: _random_samples must be a Tensor, got {type(samples).__name__}")
    if samples.dtype != x.dtype:
        raise DtypeError(f"{op}: _random_samples must have the input's dtype {x.dtype}, got {samples.dtype}")
    if samples.device != x.device:
        raise TypeError(f"{op}: input is on {x.device} but _random_samples on {samples.device}")
    channels = x.shape[-d - 1]
    s = samples.shape
    if len(s) != 3 or s[1] != channels or s[2] != d or s[0] < batch:
        raise ShapeError(
            f"{op}: _random_samples must have shape (N, C, {d}) = ({batch}, {channels}, {d}) for input of "
            f"shape {x.shape}, got {s}"
        )
    return samples.array[:batch].reshape(batch * channels, d)


def fractional_max_pool(
    input: Tensor,
    kernel_size: Any,
    output_size: Any,
    output_ratio: Any,
    return_indices: bool,
    _random_samples: Tensor | None,
    d: int,
    op: str,
) -> Any:
    """The 2-d (d=2) or 3-d (d=3) op; see the module docstring."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    kernel = _sizes(kernel_size, d, "kernel_size", op)  # the arguments' types first, as torch's parser
    sizes = None if output_size is None else _sizes(output_size, d, "output_size", op)
    if input.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{op}: expected a {d + 1}-d or {d + 2}-d input, got shape {input.shape}")
    if input.dtype.kind != "f":
        raise DtypeError(f"{op}: expected a floating point input, got dtype {input.dtype}")
    if 0 in input.shape[-d - 1 :]:
        raise ShapeError(f"{op}: expected non-empty channel and spatial axes, got input of shape {input.shape}")
    if min(kernel) <= 0:
        raise ShapeError(f"{op}: kernel size should be greater than zero, got {kernel}")
    size = input.shape[-d:]
    if sizes is not None:
        out = sizes
    elif output_ratio is not None:
        ratio = _sizes(output_ratio, d, "output_ratio", op, float)
        out = tuple(int(n * r) for n, r in zip(size, ratio))
    else:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    names = ("height", "width") if d == 2 else ("time", "height", "width")
    for a in range(d):
        # torch's checks: out + k - 1 <= in (2-d), < in (3-d)
        fits = out[a] + kernel[a] - 1 <= size[a] if d == 2 else out[a] + kernel[a] - 1 < size[a]
        if out[a] < 0 or not fits:
            raise ShapeError(
                f"{op}: pool {names[a]} {kernel[a]} with output {names[a]} {out[a]} is too large relative to "
                f"input {names[a]} {size[a]} (input shape {input.shape})"
            )
    batch = input.shape[0] if input.ndim == d + 2 else 1
    if _random_samples is None:
        draw = input.dtype if input.dtype.itemsize >= 4 else np.float32  # (random: float32 or float64 only)
        with backend.array_scope(input.array):  # the generator of the input's GPU, whichever is current
            rng = mc_random.generator(input.xp)
            samples = rng.random((batch * input.shape[-d - 1], d), dtype=draw).astype(input.dtype, copy=False)
    else:
        samples = _check_samples(_random_samples, input, batch, d, op)
    sink: list[Any] | None = [] if return_indices else None
    y = FractionalMaxPool.apply(input, kernel=kernel, out=out, samples=samples, indices_out=sink)
    return (y, Tensor(sink[0])) if return_indices else y


def fractional_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
    _layer: str = "fractional_max_pool2d",
) -> Any:
    """``torch.nn.functional.fractional_max_pool2d``: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW)
    (and int64 indices h*W + w of the maxima with ``return_indices``); samples (N, C, 2)."""
    return fractional_max_pool(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2, _layer
    )


def fractional_max_pool3d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
    _layer: str = "fractional_max_pool3d",
) -> Any:
    """``torch.nn.functional.fractional_max_pool3d``: (N, C, T, H, W) or (C, T, H, W) ->
    (N, C, OT, OH, OW) (and int64 indices t*H*W + h*W + w with ``return_indices``); samples
    (N, C, 3)."""
    return fractional_max_pool(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3, _layer
    )
