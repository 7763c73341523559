"""Differentiable pooling with torch.nn.functional's signatures (kernels in kernels/pool.py).

Inputs are (N, C, H, W) or unbatched (C, H, W), like torch. ``return_indices=True`` makes the
max pools return ``(output, indices)``, the indices an int64 tensor (no gradient) of flat
positions row*W + col in each input plane.

Higher-order gradients (``create_graph=True``): the average pools are linear ops; a max pool's
gradient is a scatter of gy to the maxima, whose positions are constants, and
:class:`ScatterPlanes` (with its adjoint :class:`GatherPlanes`) makes that map an op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, tie
from ..kernels import pool as K
from ..kernels.scatter import add_at
from .errors import DtypeError, ShapeError

IntPair = int | tuple[int, int]


def check_pool_input(x: Tensor, op: str) -> None:
    """ShapeError unless x is (C, H, W) or (N, C, H, W); DtypeError unless floating point."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: expected a floating point input, got dtype {x.dtype}")


def _check_pool_geometry(
    x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, op: str
) -> None:
    """The kernel's setting checks (ValueError) as the ShapeError that is also torch's RuntimeError."""
    try:
        K.pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, op)
    except ValueError as e:
        raise ShapeError(str(e)) from None


# -- the max pools' gradient as ops (create_graph=True) --------------------------------------------


def _planes(shape: tuple[int, ...], dims: int) -> tuple[int, int]:
    """(planes, values per plane) of an array whose last ``dims`` axes are its planes."""
    return math.prod(shape[:-dims]), math.prod(shape[-dims:])


def scatter_planes(g: Any, indices: Any, shape: tuple[int, ...], dims: int) -> Any:
    """zeros(``shape``) with every value of g (..., *out) added at its flat position ``indices``
    (g's shape, int64) in its plane (the last ``dims`` axes); repeated positions accumulate."""
    xp = backend.get_array_module(g)
    (p, s), (_, n) = _planes(shape, dims), _planes(g.shape, dims)
    out = xp.zeros((p, s), dtype=g.dtype)
    add_at(out, (xp.arange(p)[:, None], indices.reshape(p, n)), g.reshape(p, n))
    return out.reshape(shape)


def gather_planes(v: Any, indices: Any, dims: int) -> Any:
    """v (..., *in) read at the flat positions ``indices`` (..., *out) of each plane: the adjoint
    of :func:`scatter_planes`."""
    xp = backend.get_array_module(v)
    (p, s), (_, n) = _planes(v.shape, dims), _planes(indices.shape, dims)
    return xp.take_along_axis(v.reshape(p, s), indices.reshape(p, n), axis=1).reshape(indices.shape)


class ScatterPlanes(Function):
    """g (..., *out) -> (..., *in) (``shape``): :func:`scatter_planes` with constant ``indices``;
    a max pool's backward (gy to its maxima) as a linear op, whose adjoint is the gather."""

    linear = True

    def forward(self, g):
        return scatter_planes(g, self.indices, self.shape, self.dims)

    def backward(self, v):
        return gather_planes(v, self.indices, self.dims)


class GatherPlanes(Function):
    """v (..., *in) -> (..., *out) (indices' shape): :func:`gather_planes` with constant
    ``indices``; max unpooling's backward as a linear op, whose adjoint is the scatter-add."""

    linear = True

    def forward(self, v):
        return gather_planes(v, self.indices, self.dims)

    def backward(self, g):
        return scatter_planes(g, self.indices, self.shape, self.dims)


# -- the pools --------------------------------------------------------------------------------------


class MaxPool2d(Function):
    def forward(self, x):
        settings = (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
        y, argmax = K.max_pool2d_forward(x, *settings, with_argmax=self.requires_grad or self.indices_out is not None)
        if self.indices_out is not None:  # a list the caller reads after apply()
            self.indices_out.append(K.max_pool2d_indices(argmax, x.shape, *settings))
        if self.requires_grad:
            self.argmax, self.x_shape = argmax, x.shape
        return y

    def backward(self, gy):
        settings = (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
        return K.max_pool2d_backward(gy, self.argmax, self.x_shape, *settings)

    def backward_graph(self, gy, x):  # gy to the maxima: linear in gy, the argmax is a constant
        settings = (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
        indices = K.max_pool2d_indices(self.argmax, self.x_shape, *settings)
        return tie(ScatterPlanes.apply(gy, indices=indices, shape=self.x_shape, dims=2), x)  # tied as torch's


class AvgPool2d(Function):
    linear = True
    tied = True  # as torch, whose backward takes the input

    def forward(self, x):
        if self.requires_grad:
            self.x_shape = x.shape
        return K.avg_pool2d_forward(x, *self.settings)

    def backward(self, gy):
        return K.avg_pool2d_backward(gy, self.x_shape, *self.settings)


def _bins_shape(x_shape: tuple[int, ...], output_size: tuple[int, ...]) -> tuple[int, ...]:
    """x's leading axes followed by the adaptive output size."""
    return tuple(x_shape[: -len(output_size)]) + tuple(output_size)


class AdaptiveAvgPool2d(Function):
    """The mean over adaptive bins; the 3-d op is this class with the 3-d kernels."""

    linear = True
    tied = True  # as torch, whose backward takes the input

    forward_kernel = staticmethod(K.adaptive_avg_pool2d_forward)
    backward_kernel = staticmethod(K.adaptive_avg_pool2d_backward)

    def forward(self, x):
        if self.requires_grad:
            self.x_shape = x.shape
        if 0 in self.output_size:  # no bins: an empty result, as torch's
            return backend.get_array_module(x).zeros(_bins_shape(x.shape, self.output_size), x.dtype)
        return self.forward_kernel(x, self.output_size)

    def backward(self, gy):
        if 0 in self.output_size:
            return backend.get_array_module(gy).zeros(self.x_shape, gy.dtype)
        return self.backward_kernel(gy, self.x_shape)


class AdaptiveMaxPool2d(Function):
    """The max over adaptive bins (indices for ``return_indices``); the 3-d op is this class
    with the 3-d kernels."""

    forward_kernel = staticmethod(K.adaptive_max_pool2d_forward)
    backward_kernel = staticmethod(K.adaptive_max_pool2d_backward)

    def forward(self, x):
        if 0 in self.output_size:  # no bins: empty results, as torch's (its backward then adds nothing)
            xp, shape = backend.get_array_module(x), _bins_shape(x.shape, self.output_size)
            y, indices = xp.zeros(shape, x.dtype), xp.zeros(shape, xp.int64)
        else:
            y, indices = self.forward_kernel(x, self.output_size)
        if self.indices_out is not None:
            self.indices_out.append(indices)
        if self.requires_grad:
            self.indices, self.x_shape = indices, x.shape
        return y

    def backward(self, gy):
        return self.backward_kernel(gy, self.indices, self.x_shape)

    def backward_graph(self, gy, x):  # gy to the maxima: linear in gy, the indices are constants
        return tie(ScatterPlanes.apply(gy, indices=self.indices, shape=self.x_shape, dims=len(self.output_size)), x)


def max_pool2d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    _layer: str = "max_pool2d",
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over each (dilated) window: input (N, C, H, W) -> (N, C, OH, OW); see kernels/pool.py."""
    check_pool_input(input, _layer)
    _check_pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, _layer)
    sink: list[Any] | None = [] if return_indices else None
    y = MaxPool2d.apply(
        input,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        indices_out=sink,
    )
    return (y, Tensor(sink[0])) if return_indices else y


def avg_pool2d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    _layer: str = "avg_pool2d",
) -> Tensor:
    """Mean over each window: input (N, C, H, W) -> (N, C, OH, OW), torch's divisor rules."""
    check_pool_input(input, _layer)
    _check_pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode, _layer)
    if divisor_override is not None and int(divisor_override) <= 0:
        raise ShapeError(f"{_layer}: divisor_override must be positive, got {divisor_override}")
    settings = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return AvgPool2d.apply(input, settings=settings)


def adaptive_output_size(x_shape: tuple[int, ...], output_size: Any, op: str, dims: int = 2) -> tuple[int, ...]:
    """An int, or a ``dims``-tuple whose None entries keep the input's size -> the output size
    of the last ``dims`` axes. A bare None is a TypeError, as in torch (only the entries of a
    tuple may be None), and so is a non-integer entry."""
    what = "a pair" if dims == 2 else f"a tuple of {dims}"
    if output_size is None:
        raise TypeError(f"{op}: output_size must be an int or {what} (whose entries may be None), got None")
    if isinstance(output_size, int):
        sizes: tuple[Any, ...] = (output_size,) * dims
    elif isinstance(output_size, (tuple, list)) and len(output_size) == dims:
        sizes = tuple(output_size)
    else:
        raise ShapeError(f"{op}: output_size must be an int or {what}, got {output_size!r}")
    if any(isinstance(v, bool) or not (v is None or isinstance(v, (int, np.integer))) for v in sizes):
        raise TypeError(f"{op}: output_size must be ints (or None), got {output_size!r}")
    out = tuple(int(x_shape[-dims + i]) if v is None else int(v) for i, v in enumerate(sizes))
    if min(out) < 0:
        raise ShapeError(f"{op}: output_size must be >= 0, got {output_size!r}")
    if min(x_shape[-dims:]) <= 0:
        raise ShapeError(f"{op}: input of shape {tuple(x_shape)} has an empty spatial axis")
    return out


def adaptive_avg_pool2d(input: Tensor, output_size: Any, _layer: str = "adaptive_avg_pool2d") -> Tensor:
    """Average over torch's adaptive bins: input (N, C, H, W) -> (N, C, *output_size)."""
    check_pool_input(input, _layer)
    return AdaptiveAvgPool2d.apply(input, output_size=adaptive_output_size(input.shape, output_size, _layer))


def adaptive_max_pool2d(
    input: Tensor, output_size: Any, return_indices: bool = False, _layer: str = "adaptive_max_pool2d"
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over torch's adaptive bins: input (N, C, H, W) -> (N, C, *output_size)."""
    check_pool_input(input, _layer)
    sink: list[Any] | None = [] if return_indices else None
    y = AdaptiveMaxPool2d.apply(
        input, output_size=adaptive_output_size(input.shape, output_size, _layer), indices_out=sink
    )
    return (y, Tensor(sink[0])) if return_indices else y
