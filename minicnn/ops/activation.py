"""Activations and (log-)softmax, each with its local derivative."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor


class ReLU(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        y = xp.maximum(x, 0)
        if self.requires_grad:
            # torch's threshold_backward: 0 where y <= 0, else gy -- so a NaN input (y NaN)
            # passes its gradient; y is never negative, so that is y != 0 (-0.0 included)
            self.mask = y != 0
        return y

    def backward(self, gy):  # 1 where x > 0 or x is NaN, else 0 (0 at 0, like torch)
        return _masked(gy, self.mask)


class ReLU6(Function):
    def forward(self, x):
        y = backend.get_array_module(x).clip(x, 0, 6)
        if self.requires_grad:  # torch's hardtanh_backward: 0 where x <= 0 or x >= 6, so NaN passes
            self.mask = (y != 0) & (y != 6)
        return y

    def backward(self, gy):  # 1 on the open interval (0, 6) and at NaN
        return _masked(gy, self.mask)


def _masked(gy: Any, mask: Any) -> Any:
    """gy where mask, else 0 -- also where gy is inf or NaN (gy * mask would give 0 * inf = NaN
    there; torch gives 0). On the CPU ``where`` over a random mask branches and takes ~10x a
    multiply, so the multiply is used when gy is finite (one cheap check); a GPU takes ``where``."""
    xp = backend.get_array_module(gy)
    if xp is np and np.isfinite(gy).all():
        return gy * mask
    return xp.where(mask, gy, gy.dtype.type(0))


class LeakyReLU(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.pos = x > 0
        return xp.where(x > 0, x, x * x.dtype.type(self.slope))

    def backward(self, gy):  # 1 for x > 0, slope otherwise
        xp = backend.get_array_module(gy)
        return xp.where(self.pos, gy, gy * gy.dtype.type(self.slope))


class Sigmoid(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        # numerically stable: never exponentiate a large positive number
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)
        self.y = y
        return y

    def backward(self, gy):  # s (1 - s)
        return gy * self.y * (1 - self.y)


class Tanh(Function):
    def forward(self, x):
        y = backend.get_array_module(x).tanh(x)
        self.y = y
        return y

    def backward(self, gy):  # 1 - tanh^2
        return gy * (1 - self.y * self.y)


class Softmax(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.size == 0:  # e.g. a dimension of length 0: max() has no identity; torch returns the empty shape
            self.y = xp.empty_like(x)
            return self.y
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        y = e / e.sum(axis=self.axis, keepdims=True)
        self.y = y
        return y

    def backward(self, gy):  # J^T g = y * (g - sum(g * y))
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.size == 0:  # as in Softmax: nothing to normalise, the empty shape
            self.y = xp.empty_like(x)
            return self.y
        shifted = x - x.max(axis=self.axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.y = y
        return y

    def backward(self, gy):  # g - softmax * sum(g)
        xp = backend.get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


def _dim(x: Tensor, dim: Any, op: str) -> int:
    if dim is None:  # torch's deprecated implicit choice, with its warning
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an argument.",
            UserWarning,
            stacklevel=3,
        )
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dimension {dim} out of range for a {x.ndim}-d tensor")
    return dim % max(x.ndim, 1)


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return ReLU.apply(x)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    return ReLU6.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return LeakyReLU.apply(x, slope=negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(x)


def softmax(x: Tensor, dim: Any = None) -> Tensor:
    return Softmax.apply(x, axis=_dim(x, dim, "softmax"))


def log_softmax(x: Tensor, dim: Any = None) -> Tensor:
    return LogSoftmax.apply(x, axis=_dim(x, dim, "log_softmax"))
