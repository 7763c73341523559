"""A recurrent layer's time step as one op: the gate arithmetic of an LSTM or GRU step, forward
and backward in minicnn/kernels/rnn_cells.py (equations there). Each op's ``composite`` is the
same step written in minicnn ops, which gives it higher derivatives (create_graph=True).

  lstm_step(gx, gh, c) -> (h', c')   gx, gh (N, 4H), c (N, H)
  gru_step(gx, gh, h)  -> h'         gx, gh (N, 3H), h (N, H)

The LSTM step has two outputs: the op returns them stacked, (2, N, H), and the function cuts
that apart (views; their gradients meet again in the backward without a copy per piece).
"""

from __future__ import annotations

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import rnn_cells as K
from .activation import sigmoid, tanh
from .shape import chunk, stack


class LSTMStep(Function):
    """(gx, gh, c) -> stack([h', c']) of shape (2, N, H); see kernels/rnn_cells.py."""

    def forward(self, gx, gh, c):
        xp = backend.get_array_module(gx)
        h_new, c_new, act, tc = K.lstm_cell(gx, gh, c, xp)
        out = xp.empty((2, *c.shape), dtype=c_new.dtype)
        out[0], out[1] = h_new, c_new
        if self.requires_grad:
            self.saved = (act, c, tc)
        return out

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        da, dc = K.lstm_cell_backward(gy[0], gy[1], *self.saved, xp)
        need_x, need_h, need_c = self.needs_input_grad
        return (da if need_x else None), (da if need_h else None), (dc if need_c else None)

    def composite(self, gx, gh, c):
        i, f, g, o = chunk(gx + gh, 4, 1)
        c_new = sigmoid(f) * c + sigmoid(i) * tanh(g)
        return stack([sigmoid(o) * tanh(c_new), c_new])


class GRUStep(Function):
    """(gx, gh, h) -> h' (N, H); see kernels/rnn_cells.py."""

    def forward(self, gx, gh, h):
        xp = backend.get_array_module(gx)
        h_new, gates = K.gru_cell(gx, gh, h, xp)
        if self.requires_grad:
            self.saved = (gates, gh, h)
        return h_new

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        dgx, dgh, dh = K.gru_cell_backward(gy, *self.saved, xp)
        need_x, need_h, need_prev = self.needs_input_grad
        return (dgx if need_x else None), (dgh if need_h else None), (dh if need_prev else None)

    def composite(self, gx, gh, h):
        x_r, x_z, x_n = chunk(gx, 3, 1)
        h_r, h_z, h_n = chunk(gh, 3, 1)
        r = sigmoid(x_r + h_r)
        z = sigmoid(x_z + h_z)
        n = tanh(x_n + r * h_n)
        return (1 - z) * n + z * h


def lstm_step(gx: Tensor, gh: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step's gates: gx, gh (N, 4H), c (N, H) -> (h', c'), each (N, H)."""
    both = LSTMStep.apply(gx, gh, c)
    return both[0], both[1]


def gru_step(gx: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """One GRU step's gates: gx, gh (N, 3H), h (N, H) -> h' (N, H)."""
    return GRUStep.apply(gx, gh, h)
