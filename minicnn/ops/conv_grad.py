"""The two gradient maps of a convolution, as ops: higher-order gradients of the convolutions.

A convolution ``y = op(x, w)`` (2-d, 3-d, transposed) is bilinear in (x, w), so its input
gradients are bilinear too, each in (gy, the other input)::

    gx = ConvGradInput(gy, w)  = (d op / d x)^T gy      (x's shape)
    gw = ConvGradWeight(x, gy) = (d op / d w)^T gy      (w's shape)

With ``<a, b>`` the sum of all products, ``<gx, v> = <gy, op(v, w)>`` and
``<gw, h> = <gy, op(x, h)>``, so the derivatives of the two maps are the three maps again::

    d<gx, v>/dgy = op(v, w)                d<gx, v>/dw  = ConvGradWeight(v, gy)
    d<gw, h>/dx  = ConvGradInput(gy, h)    d<gw, h>/dgy = op(x, h)

The three are closed under differentiation: derivatives of any order stay among them. The
convolution Function ``op`` (its class, with its settings ``params``) provides the arithmetic
through two methods that call its kernels: ``kernel_forward(x, w)`` (no bias) and
``kernel_backward(gy, x, w, need_x, need_w) -> (gx, gw)``. Cost: one kernel call per map, that
of the convolution's forward or of one half of its backward.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function, Tensor, tie_if_constant


def stand_in(like: Any, shape: tuple[int, ...]) -> Any:
    """An uninitialised array of ``shape`` for a kernel argument of which only the shape is read
    (the input of a backward asked for the weight gradient only, and the other way round)."""
    with backend.array_scope(like):
        return backend.get_array_module(like).empty(shape, dtype=like.dtype)


def bilinear_grads(node: Function, gy: Tensor, x: Tensor, w: Tensor) -> tuple[Tensor | None, Tensor | None]:
    """(gx, gw) of the convolution ``node`` = op(x, w[, b]) as ops (None where not needed)."""
    maps = dict(op=type(node), params=node._params)
    need = node.needs_input_grad
    gx = ConvGradInput.apply(gy, w, x_shape=x.shape, **maps) if need[0] else None
    gw = ConvGradWeight.apply(x, gy, w_shape=w.shape, **maps) if need[1] else None
    # a constant result (gy and the other operand constants) stays tied to its input, as torch's
    return tie_if_constant(gx, x), tie_if_constant(gw, w)


def bias_grad(gy: Tensor) -> Tensor:
    """d/db of a convolution's bias: gy (N, C, *spatial) summed over all but the channels."""
    return gy.sum(axis=(0, *range(2, gy.ndim)))


class ConvGradInput(Function):
    """gy (op's output shape), w -> gx (``x_shape``): the input gradient of the convolution ``op``."""

    def forward(self, gy, w):
        if self.requires_grad:
            self.gy, self.w = gy, w
        node = self.op(**self.params)
        return node.kernel_backward(gy, stand_in(gy, self.x_shape), w, True, False)[0]

    def backward(self, v):
        node = self.op(**self.params)
        need_gy, need_w = self.needs_input_grad
        dgy = node.kernel_forward(v, self.w) if need_gy else None
        dw = node.kernel_backward(self.gy, v, stand_in(v, self.w.shape), False, True)[1] if need_w else None
        return dgy, dw

    def backward_graph(self, v, gy, w):
        need_gy, need_w = self.needs_input_grad
        dgy = self.op.apply(v, w, **self.params) if need_gy else None
        dw = ConvGradWeight.apply(v, gy, w_shape=w.shape, op=self.op, params=self.params) if need_w else None
        return dgy, dw


class ConvGradWeight(Function):
    """x, gy (op's output shape) -> gw (``w_shape``): the weight gradient of the convolution ``op``."""

    def forward(self, x, gy):
        if self.requires_grad:
            self.x, self.gy = x, gy
        node = self.op(**self.params)
        return node.kernel_backward(gy, x, stand_in(gy, self.w_shape), False, True)[1]

    def backward(self, h):
        node = self.op(**self.params)
        need_x, need_gy = self.needs_input_grad
        dx = node.kernel_backward(self.gy, stand_in(h, self.x.shape), h, True, False)[0] if need_x else None
        dgy = node.kernel_forward(self.x, h) if need_gy else None
        return dx, dgy

    def backward_graph(self, h, x, gy):
        need_x, need_gy = self.needs_input_grad
        dx = ConvGradInput.apply(gy, h, x_shape=x.shape, op=self.op, params=self.params) if need_x else None
        dgy = self.op.apply(x, h, **self.params) if need_gy else None
        return dx, dgy
