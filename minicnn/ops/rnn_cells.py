"""A recurrent layer's time step as one op: the gate arithmetic of an LSTM or GRU step, forward
and backward in minicnn/kernels/rnn_cells.py (equations there); and a whole layer direction
as one op, the loop over time with backpropagation through time written out. Each op's
``composite`` is the same computation written in minicnn ops, which gives it higher
derivatives (create_graph=True).

  lstm_step(gx, gh, c) -> (h', c')   gx, gh (N, 4H), c (N, H)
  gru_step(gx, gh, h)  -> h'         gx, gh (N, 3H), h (N, H)
  recurrence(lstm, gx, w_hh, b_hh, h0, c0, batch_sizes, reverse) -> (outputs (R, H), (h, [c]))

The LSTM step has two outputs: the op returns them stacked, (2, N, H), and the function cuts
that apart (views; their gradients meet again in the backward without a copy per piece).
"""

from __future__ import annotations

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import rnn_cells as K
from .activation import sigmoid, tanh
from .shape import cat, chunk, stack


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
            self.saved = (gates, gh[:, 2 * h.shape[1] :], h)
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


class Recurrence(Function):
    """One direction of an LSTM or GRU layer over all its steps (kernels/rnn_cells.py's
    ``sequence``): inputs gx (R, G), w_hh (G, H), h0 (N, H), then c0 (N, H) for an LSTM and
    b_hh (G,) when given; settings lstm, batch_sizes, reverse, has_bias. The output packs the
    step outputs (R, H), the final h (N, H) and, for an LSTM, the final c (N, H), flattened
    one after the other (:func:`recurrence` cuts them apart)."""

    def forward(self, gx, w_hh, h0, *rest):
        xp = backend.get_array_module(gx)
        c0 = rest[0] if self.lstm else None
        b_hh = rest[-1] if self.has_bias else None
        out, h, c, saved = K.sequence(self.lstm, gx, self.batch_sizes, self.reverse, w_hh, b_hh, h0, c0, xp)
        if self.requires_grad:
            self.saved, self.w_hh = saved, w_hh
        self.sizes = (out.size, h.size)
        return xp.concatenate([out.reshape(-1), h.reshape(-1)] + ([c.reshape(-1)] if self.lstm else []))

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        rows, hidden = self.saved["h_prev"].shape
        n_out, n_state = self.sizes
        dout = gy[:n_out].reshape(rows, hidden)
        dh_n = gy[n_out : n_out + n_state].reshape(-1, hidden)
        dc_n = gy[n_out + n_state :].reshape(-1, hidden) if self.lstm else None
        dgx, dw_hh, db_hh, dh0, dc0 = K.sequence_backward(
            self.lstm, dout, dh_n, dc_n, self.saved, self.batch_sizes, self.reverse, self.w_hh, xp
        )
        grads = [dgx, dw_hh, dh0] + ([dc0] if self.lstm else []) + ([db_hh] if self.has_bias else [])
        return tuple(g if need else None for g, need in zip(grads, self.needs_input_grad))

    def composite(self, gx, w_hh, h0, *rest):  # the same steps in ops (for create_graph=True)
        c0 = rest[0] if self.lstm else None
        b_hh = rest[-1] if self.has_bias else None
        n, outputs = h0.shape[0], {}
        h, c = h0, c0
        starts = [0]
        for bs in self.batch_sizes:
            starts.append(starts[-1] + bs)
        order = range(len(self.batch_sizes))
        for t in reversed(order) if self.reverse else order:
            bs, rows = self.batch_sizes[t], slice(starts[t], starts[t + 1])
            gh = h[:bs] @ w_hh.mT if b_hh is None else h[:bs] @ w_hh.mT + b_hh
            if self.lstm:
                h_new, c_new = lstm_step(gx[rows], gh, c[:bs])
                c = c_new if bs == n else cat([c_new, c[bs:]])
            else:
                h_new = gru_step(gx[rows], gh, h[:bs])
            outputs[t] = h_new
            h = h_new if bs == n else cat([h_new, h[bs:]])
        parts = [cat([outputs[t] for t in order]).reshape(-1), h.reshape(-1)]
        return cat(parts + ([c.reshape(-1)] if self.lstm else []))


def recurrence(
    lstm: bool,
    gx: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None,
    h0: Tensor,
    c0: Tensor | None,
    batch_sizes: list[int],
    reverse: bool,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One direction of an LSTM (``lstm``) or GRU layer: gx (R, G) the input projections of all
    steps as rows (step t: the batch_sizes[t] rows after those of the steps before), h0, c0
    (N, H) -> the outputs (R, H) and the final state (h,) or (h, c), each (N, H)."""
    inputs = [gx, w_hh, h0] + ([c0] if lstm else []) + ([b_hh] if b_hh is not None else [])
    packed = Recurrence.apply(
        *inputs, lstm=lstm, batch_sizes=list(batch_sizes), reverse=reverse, has_bias=b_hh is not None
    )
    rows, (n, hidden) = gx.shape[0], h0.shape
    out = packed[: rows * hidden].reshape(rows, hidden)
    h = packed[rows * hidden : (rows + n) * hidden].reshape(n, hidden)
    return out, ((h, packed[(rows + n) * hidden :].reshape(n, hidden)) if lstm else (h,))


def lstm_step(gx: Tensor, gh: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step's gates: gx, gh (N, 4H), c (N, H) -> (h', c'), each (N, H)."""
    both = LSTMStep.apply(gx, gh, c)
    return both[0], both[1]


def gru_step(gx: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """One GRU step's gates: gx, gh (N, 3H), h (N, H) -> h' (N, H)."""
    return GRUStep.apply(gx, gh, h)
