"""Fully connected layer ``y = x W^T + b`` as one op (one GEMM forward, two backward)."""

from __future__ import annotations

import numpy as np

from .. import autocast_state
from ..autograd import Function, Tensor
from .shape import reshape


def _rows(shape: tuple[int, ...]) -> int:
    """The number of rows of the (rows, features) view of a (*, features) array, spelled out:
    a reshape cannot infer it (-1) when features is 0 (in_features = 0, out_features = 0)."""
    rows = 1
    for d in shape[:-1]:
        rows *= int(d)
    return rows


class Linear(Function):
    """x: (*, in), W: (out, in), b: (out,) -> y: (*, out). Cost: 2 * rows * in * out flops
    forward; backward dX = gY W and dW = gY^T X, db = sum of gY over rows."""

    def forward(self, x, w, *maybe_b):
        x2 = x.reshape(_rows(x.shape), x.shape[-1])
        y = x2 @ w.T
        if maybe_b:
            y += maybe_b[0]
        if self.requires_grad:  # dX needs W, dW needs X: keep only what is needed
            self.x_shape = x.shape
            self.x2 = x2 if self.needs_input_grad[1] else None
            self.w = w if self.needs_input_grad[0] else None
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, gy):
        g2 = gy.reshape(_rows(gy.shape), gy.shape[-1])
        gx = (g2 @ self.w).reshape(self.x_shape) if self.needs_input_grad[0] else None
        gw = g2.T @ self.x2 if self.needs_input_grad[1] else None
        gb = g2.sum(axis=0) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return gx, gw, gb

    def backward_graph(self, gy, x, w, *maybe_b):
        # dX = gY W and dW = gY^T X are Linear ops again: Linear(a, b) = a b^T
        need = self.needs_input_grad
        g2 = reshape(gy, (_rows(gy.shape), gy.shape[-1]))
        gx = Linear.apply(gy, w.T) if need[0] else None
        gw = Linear.apply(g2.T, reshape(x, (_rows(x.shape), x.shape[-1])).T) if need[1] else None
        return (gx, gw, g2.sum(axis=0) if need[2] else None) if maybe_b else (gx, gw)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None, _layer: str = "linear") -> Tensor:
    """``input @ weight.T + bias``: input (*, in), weight (out, in), bias (out,) -> (*, out); a
    1-d weight (in,) without bias gives (*), as torch's."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, weight, bias = autocast_state.lower(input, weight, bias)
    if weight.ndim == 1 and bias is None and input.ndim >= 1 and input.shape[-1] == weight.shape[0]:
        return linear(input, weight.reshape(1, weight.shape[0]), None, _layer).reshape(input.shape[:-1])
    if input.ndim < 1 or weight.ndim != 2 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"{_layer}: input of shape {input.shape} does not fit weight of shape {weight.shape} "
            f"(expected input (*, {weight.shape[1] if weight.ndim == 2 else '?'}))"
        )
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise TypeError(f"{_layer}: input is {input.dtype} but the weight is {weight.dtype}; convert one of them")
    if bias is not None and bias.shape != (weight.shape[0],):  # torch: any bias that broadcasts to the output
        out_shape = (*input.shape[:-1], weight.shape[0])
        try:
            fits = np.broadcast_shapes(out_shape, bias.shape) == out_shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{_layer}: bias of shape {bias.shape} does not fit weight of shape {weight.shape} "
                f"(expected ({weight.shape[0]},) or a shape that broadcasts to the output {out_shape})"
            )
        return Linear.apply(input, weight) + bias
    return Linear.apply(input, weight) if bias is None else Linear.apply(input, weight, bias)
