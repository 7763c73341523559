"""Activations and (log-)softmax, each with its local derivative."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, _latest, is_grad_enabled
from .math import _floating, astype


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


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold`` (torch's
    switch to the linear asymptote). Computed as ``max(z, 0) + log1p(exp(-|z|))`` with z = beta x,
    which never exponentiates a large positive number. d/dx = sigmoid(beta x), 1 past the threshold."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        z = x * self.beta
        linear = z > self.threshold
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / self.beta
        if self.requires_grad:
            self.z, self.linear = z, linear
        return xp.where(linear, x, soft.astype(x.dtype))

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        z = self.z
        e = xp.exp(-xp.abs(z))  # sigmoid(z) without overflow
        sig = xp.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(gy.dtype)
        return xp.where(self.linear, gy, gy * sig)


def _dim(x: Tensor, dim: Any, op: str, stacklevel: int) -> int:
    if dim is None:  # torch's deprecated implicit choice, with its warning (at torch's stack level)
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an argument.",
            UserWarning,
            stacklevel=stacklevel,
        )
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dimension {dim} out of range for a {x.ndim}-d tensor")
    return dim % max(x.ndim, 1)


def _maybe_inplace(input: Tensor, inplace: bool, fn: Callable[[Tensor], Tensor], op: str) -> Tensor:
    """``fn(input)``; with ``inplace`` written into input's memory and returned as torch's
    ``relu_`` does: a plain write when no graph is recorded, else an in-place op that autograd
    records (refused, as in torch, for a leaf that requires grad)."""
    if not inplace:
        return fn(input)
    t = _latest(input)
    if not (is_grad_enabled() and t.requires_grad):
        return t.copy_(fn(t.detach()))
    return t._record_inplace(fn, f"{op}_")


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise, any shape; ``inplace=True`` overwrites input (torch's relu_)."""
    return _maybe_inplace(input, inplace, ReLU.apply, "relu")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6) elementwise; ``inplace=True`` overwrites input."""
    return _maybe_inplace(input, inplace, ReLU6.apply, "relu6")


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input where input > 0, else negative_slope * input; ``inplace=True`` overwrites input."""
    return _maybe_inplace(input, inplace, lambda t: LeakyReLU.apply(t, slope=negative_slope), "leaky_relu")


def sigmoid(input: Tensor) -> Tensor:
    return Sigmoid.apply(_as_float(input))


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(_as_float(input))


def _as_float(input: Any) -> Any:
    """Integer and bool inputs become float32 (torch's rule for float functions)."""
    return _floating(input) if isinstance(input, Tensor) else input


def _cast(input: Tensor, dtype: Any) -> Tensor:
    """torch's ``dtype=`` of softmax: the input is cast before the op (the gradient flows back
    through the cast to the input's dtype)."""
    return input if dtype is None or np.dtype(dtype) == input.dtype else astype(input, dtype)


def softmax(input: Tensor, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(input) / sum(exp(input)) along ``dim`` (computed stably), any shape. ``dtype``: cast
    the input to it first. ``_stacklevel`` places the implicit-dim warning, as in torch."""
    return Softmax.apply(_as_float(_cast(input, dtype)), axis=_dim(input, dim, "softmax", _stacklevel))


def log_softmax(input: Tensor, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """input - logsumexp(input) along ``dim``, any shape; ``dtype`` and ``_stacklevel`` as softmax."""
    return LogSoftmax.apply(_as_float(_cast(input, dtype)), axis=_dim(input, dim, "log_softmax", _stacklevel))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * input)) / beta`` elementwise, any shape, reverting to ``input`` where
    ``beta * input > threshold`` (torch.nn.functional.softplus); floating inputs only, as in torch."""
    if input.dtype.kind != "f":
        raise TypeError(f"softplus: expected a floating point input, got dtype {input.dtype}")
    return Softplus.apply(input, beta=beta, threshold=threshold)
