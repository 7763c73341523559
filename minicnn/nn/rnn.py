"""Recurrent layers as torch's: the cells ``RNNCell``, ``LSTMCell``, ``GRUCell`` (one time step)
and the sequence layers ``RNN``, ``LSTM``, ``GRU`` (stacked, optionally bidirectional).

Shapes (N batch, L sequence length, H_in input_size, H hidden_size, P proj_size or H):
  cell:  input (N, H_in) or (H_in,), hx (N, H) or (H,) -> h' (N, H) (LSTMCell: (h', c'))
  layer: input (L, N, H_in) ((N, L, H_in) with batch_first, or unbatched (L, H_in), or a
         PackedSequence), h_0 (num_layers * D, N, P) -> output (L, N, D * P), h_n like h_0
         (LSTM also c_0 / c_n (num_layers * D, N, H)); D = 2 if bidirectional else 1.

The gates in torch's order and layout (one stacked weight per kind):
  RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                    (or relu)
  LSTM: i, f, g, o = chunks of W_ih x + b_ih + W_hh h + b_hh          (weight (4H, *))
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = sigmoid(o) * tanh(c')  (then W_hr h')
  GRU:  r, z, n chunks of (W_ih x + b_ih) and of (W_hh h + b_hh)        (weight (3H, *))
        r = sigmoid(x_r + h_r);  z = sigmoid(x_z + h_z);  n = tanh(x_n + r * h_n)
        h' = (1 - z) * n + z * h

Everything is built from differentiable minicnn ops (linear, cat, and for an LSTM or GRU one op
that runs a layer direction's whole loop over time, minicnn/ops/rnn_cells.py, with
backpropagation through time written out in minicnn/kernels/rnn_cells.py; with proj_size, and
for RNN_TANH/RNN_RELU, the loop runs op by op, with a step's gate arithmetic as one op), so
higher derivatives come from autograd.
Cost per layer and direction: one GEMM for the input projections of all L steps
(L * N * H_in * G flops, G = gate rows), then a Python loop over the L steps, each one
GEMM (N * P * G) and elementwise gate arithmetic. A PackedSequence runs the same loop on the
first batch_sizes[t] rows at step t (its sequences are sorted by decreasing length).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .. import backend
from ..autograd import Tensor, default_dtype
from ..creation import zeros
from ..ops.activation import relu, tanh
from ..ops.dropout import dropout as _dropout
from ..ops.errors import DtypeError, ShapeError
from ..ops.linear import linear
from ..ops.rnn_cells import gru_step, lstm_step, recurrence
from ..ops.shape import cat, stack
from . import init
from .module import Module, Parameter
from .utils_rnn import PackedSequence

State = tuple[Tensor, ...]  # (h,) or (h, c)

# ---------------------------------------------------------------------------------------------
# One time step: the input projection gx = W_ih x + b_ih is given (computed for all steps at once).


def _rnn_step(nonlinearity: str) -> Callable[..., State]:
    act = tanh if nonlinearity == "tanh" else relu

    def step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None) -> State:
        return (act(gx + linear(state[0], w_hh, b_hh)),)

    return step


def _lstm_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None) -> State:
    h, c = lstm_step(gx, linear(state[0], w_hh, b_hh), state[1])  # the gates: ops/rnn_cells.py
    return (h if w_hr is None else linear(h, w_hr), c)


def _gru_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None) -> State:
    return (gru_step(gx, linear(state[0], w_hh, b_hh), state[0]),)


# ---------------------------------------------------------------------------------------------
# Cells


class RNNCellBase(Module):
    """The parameters of a cell: weight_ih (G, input_size), weight_hh (G, hidden_size),
    bias_ih, bias_hh (G,) with G = num_chunks * hidden_size, all U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = num_chunks * hidden_size
        shapes = {"weight_ih": (gates, input_size), "weight_hh": (gates, hidden_size)}
        shapes.update({"bias_ih": (gates,), "bias_hh": (gates,)} if bias else {})
        _register(self, shapes, device, dtype)
        if not bias:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _run(self, input: Tensor, hx: Any, n_states: int, step: Callable[..., State]) -> State:
        """One step on a batched or unbatched input; ``hx`` None, a tensor or (h, c)."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        states = None if hx is None else ((hx,) if n_states == 1 else tuple(hx))
        for k, s in enumerate(states or ()):
            if s.ndim not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{k}]"
                raise ShapeError(f"{name}: Expected {what} to be 1D or 2D, got {s.ndim}D instead")
            if s.ndim != input.ndim:  # torch: a size mismatch (or, where the sizes broadcast, a misshapen output)
                raise ShapeError(f"{name}: for a {input.ndim}D input, hx must be {input.ndim}D, got {s.ndim}D")
        batched = input.ndim == 2
        x = input if batched else input.reshape(1, -1)
        if x.shape[1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got {x.shape[1]} expected {self.input_size}")
        if states is None:
            states = (zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device),) * n_states
        elif not batched:
            states = tuple(s.reshape(1, -1) for s in states)
        for k, s in enumerate(states):
            if s.shape[0] != x.shape[0]:
                raise ShapeError(
                    f"{name}: Input batch size {x.shape[0]} doesn't match hidden{k} batch size {s.shape[0]}"
                )
            if s.shape[1] != self.hidden_size:
                raise ShapeError(
                    f"{name}: hidden{k} has inconsistent hidden_size: got {s.shape[1]}, expected {self.hidden_size}"
                )
        _check_dtype(name, x, self.weight_ih, states)
        out = step(linear(x, self.weight_ih, self.bias_ih), states, self.weight_hh, self.bias_hh, None)
        return out if batched else tuple(s.reshape(-1) for s in out)


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (``nonlinearity="relu"``: relu); h = 0 if
    ``hx`` is None. input (N, input_size) or (input_size,) -> (N, hidden_size) or (hidden_size,)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._run(input, hx, 1, _rnn_step(self.nonlinearity))[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): (h', c') from input (N, input_size) or (input_size,)
    and hx = (h, c), each (N, hidden_size) or (hidden_size,) (zeros if None)."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = self._run(input, hx, 2, _lstm_step)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn))):
    input (N, input_size) or (input_size,), hx (N, hidden_size) or (hidden_size,) -> h'."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run(input, hx, 1, _gru_step)[0]


# ---------------------------------------------------------------------------------------------
# Sequence layers


def _split_rows(x: Tensor, sizes: Sequence[int]) -> list[Tensor]:
    """x (sum(sizes), *) cut into consecutive pieces of ``sizes`` rows (views; their gradients
    are summed into one array of x's size in the backward, see Function.backward_part)."""
    pieces, start = [], 0
    for n in sizes:
        pieces.append(x[start : start + n])
        start += n
    return pieces


def _run_direction(
    step: Callable[..., State],
    x: Tensor,
    batch_sizes: Sequence[int],
    state: State,
    weights: Sequence[Tensor | None],
    reverse: bool,
) -> tuple[Tensor, State]:
    """One layer in one direction over time-major rows: x (sum(batch_sizes), features), step t
    holding the batch_sizes[t] rows after those of steps 0..t-1; state: tensors (N, *) with
    N = batch_sizes[0]. Returns the outputs as rows like x and the final state."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    if step in (_lstm_step, _gru_step) and w_hr is None:  # the loop over time as one op (ops/rnn_cells.py)
        lstm = step is _lstm_step
        gx = linear(x, w_ih, b_ih)
        return recurrence(lstm, gx, w_hh, b_hh, state[0], state[1] if lstm else None, batch_sizes, reverse)
    gx = _split_rows(linear(x, w_ih, b_ih), batch_sizes)  # the input projections of every step: one GEMM
    n = batch_sizes[0]
    outputs: list[Any] = [None] * len(batch_sizes)
    for t in reversed(range(len(batch_sizes))) if reverse else range(len(batch_sizes)):
        bs = batch_sizes[t]
        active = state if bs == n else tuple(s[:bs] for s in state)  # the sequences still running
        new = step(gx[t], active, w_hh, b_hh, w_hr)
        outputs[t] = new[0]
        state = new if bs == n else tuple(cat([a, s[bs:]]) for a, s in zip(new, state))
    return cat(outputs), state


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrent layer; ``mode`` is "RNN_TANH",
    "RNN_RELU", "LSTM" or "GRU". Parameters weight_ih_l{k}{_reverse}, weight_hh_l..., bias_ih_l...,
    bias_hh_l... (and weight_hr_l... with proj_size), all U(-1/sqrt(H), 1/sqrt(H)) as torch."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_settings(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        gate_rows = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
        if mode not in gate_rows:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gates, out_size = gate_rows[mode] * hidden_size, proj_size or hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(num_layers):
            for direction in range(self._directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                layer_in = input_size if layer == 0 else out_size * self._directions
                names = {"weight_ih": (gates, layer_in), "weight_hh": (gates, out_size)}
                names.update({"bias_ih": (gates,), "bias_hh": (gates,)} if bias else {})
                names.update({"weight_hr": (proj_size, hidden_size)} if proj_size else {})
                shapes.update({k + suffix: v for k, v in names.items()})
                self._all_weights.append([k + suffix for k in names])
                self._flat_weights_names.extend(self._all_weights[-1])
        _register(self, shapes, device, dtype)

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _flat_weights(self) -> list[Parameter]:
        """The parameters in ``_flat_weights_names``' order (torch's list, read by weight-dropping wrappers)."""
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op, as torch's off cuDNN (kept so that code calling it runs)."""

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _step(self) -> Callable[..., State]:
        if self.mode == "LSTM":
            return _lstm_step
        return _gru_step if self.mode == "GRU" else _rnn_step("tanh" if self.mode == "RNN_TANH" else "relu")

    def _weights(self, layer: int, direction: int) -> list[Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return [getattr(self, n + suffix, None) for n in names]

    def _state_sizes(self) -> list[int]:
        """The feature size of each state tensor: h (proj_size or hidden_size), and c for LSTM."""
        h = self.proj_size or self.hidden_size
        return [h, self.hidden_size] if self.mode == "LSTM" else [h]

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        name, lstm = type(self).__name__, self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        hs = None if hx is None else (tuple(hx) if lstm else (hx,))
        if packed:
            x, batch_sizes = input.data, [int(b) for b in input.batch_sizes.tolist()]
            n, batched = batch_sizes[0], True
            if x.ndim != 2:
                raise ShapeError(f"{name}: input must have 2 dimensions, got {x.ndim}")
        else:
            if input.ndim not in (2, 3):
                what = f"{input.ndim}D tensor" if name == "RNN" else f"{input.ndim}D"  # torch's two wordings
                raise ShapeError(f"{name}: Expected input to be 2D or 3D, got {what} instead")
            batched = input.ndim == 3
            x = input if batched else input.reshape(input.shape[0], 1, input.shape[1])
            if batched and self.batch_first:
                x = x.transpose(0, 1)
            if hs is not None:
                want = 3 if batched else 2
                if any(h.ndim != want for h in hs):
                    got = ", ".join(f"{h.ndim}-D" for h in hs)
                    what = "hx and cx" if lstm else "hx"
                    raise ShapeError(
                        f"{name}: For {'batched 3-D' if batched else 'unbatched 2-D'} input, {what} should also be "
                        f"{want}-D but got {'(' + got + ') tensors' if lstm else got + ' tensor'}"
                    )
                if not batched:
                    hs = tuple(h.reshape(h.shape[0], 1, h.shape[1]) for h in hs)
            n, steps = x.shape[1], x.shape[0]
            if steps == 0:
                raise ShapeError(f"{name}: Expected sequence length to be larger than 0 in RNN")
            batch_sizes = [n] * steps
            x = x.reshape(steps * n, x.shape[2])
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got {x.shape[-1]}"
            )
        _check_dtype(name, x, self.weight_ih_l0, hs or ())
        layers = self.num_layers * self._directions
        if hs is None:
            hs = tuple(zeros(layers, n, size, dtype=x.dtype, device=x.device) for size in self._state_sizes())
        for k, (h, size) in enumerate(zip(hs, self._state_sizes())):
            if tuple(h.shape) != (layers, n, size):
                which = f"hidden[{k}] size" if lstm else "hidden size"
                raise ShapeError(f"{name}: Expected {which} {(layers, n, size)}, got {list(h.shape)}")
        if packed and hx is not None and input.sorted_indices is not None:  # hx follows the caller's batch order
            hs = tuple(h[:, input.sorted_indices] for h in hs)
        rows, finals = self._run_layers(x, batch_sizes, hs)
        final = tuple(stack(f) for f in finals)
        if packed:
            if input.unsorted_indices is not None:
                final = tuple(f[:, input.unsorted_indices] for f in final)
            output: Any = PackedSequence(rows, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        else:
            output = rows.reshape(len(batch_sizes), n, rows.shape[-1])
            if not batched:
                output = output.reshape(len(batch_sizes), rows.shape[-1])
                final = tuple(f.reshape(f.shape[0], f.shape[2]) for f in final)
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, (final if lstm else final[0])

    def _run_layers(self, x: Tensor, batch_sizes: list[int], hs: State) -> tuple[Tensor, list[list[Tensor]]]:
        """Every layer and direction over the time-major rows x; the final states per kind
        (h, c) in torch's order (layer * directions + direction)."""
        step = self._step()
        finals: list[list[Tensor]] = [[] for _ in hs]
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = _dropout(x, self.dropout, True)
            outs = []
            for d in range(self._directions):
                k = layer * self._directions + d
                out, state = _run_direction(
                    step, x, batch_sizes, tuple(h[k] for h in hs), self._weights(layer, d), d == 1
                )
                outs.append(out)
                for kind, s in zip(finals, state):
                    kind.append(s)
            x = outs[0] if len(outs) == 1 else cat(outs, 1)
        return x, finals


class RNN(RNNBase):
    """Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu), stacked
    ``num_layers`` deep; forward(input, hx=None) -> (output, h_n). See the module docstring."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM (gates i, f, g, o), optionally with projections (proj_size > 0: h_t = W_hr h_t);
    forward(input, hx=None) -> (output, (h_n, c_n)). See the module docstring."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size,
            device, dtype,
        )  # fmt: skip


class GRU(RNNBase):
    """GRU (gates r, z, n); forward(input, hx=None) -> (output, h_n). See the module docstring."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )


# ---------------------------------------------------------------------------------------------
# Helpers


def _register(module: Module, shapes: dict[str, tuple[int, ...]], device: Any, dtype: Any) -> None:
    """Register the parameters of ``shapes`` in order on ``device`` and draw them there."""
    dt = default_dtype(dtype)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        for name, shape in shapes.items():
            module.register_parameter(name, Parameter(xp.empty(shape, dtype=dt)))
        module.reset_parameters()


def _reset_uniform(module: Module) -> None:
    """torch's init of every recurrent parameter: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class _InputDtypeError(DtypeError, ValueError):
    """An input whose dtype is not the weights': torch's layers raise a ValueError, its cells a RuntimeError."""


def _check_dtype(name: str, x: Tensor, weight: Tensor, states: State = ()) -> None:
    if x.dtype != weight.dtype:
        raise _InputDtypeError(
            f"{name}: input dtype ({x.dtype}) does not match weight dtype ({weight.dtype}). "
            f"Convert input: input.to({weight.dtype}), or convert model: model.to({x.dtype})"
        )
    for s in states:
        if s.dtype != x.dtype:
            raise DtypeError(
                f"{name}: Input and hidden tensors are not the same dtype, found input tensor with {x.dtype} "
                f"and hidden tensor with {s.dtype}"
            )


def _check_settings(
    input_size: Any, hidden_size: Any, num_layers: Any, bias: Any, batch_first: Any, dropout: Any, proj_size: Any
) -> None:
    """torch's checks of the recurrent layers' settings, with its messages."""
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an element being zeroed"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
            stacklevel=4,
        )
    for what, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{what} should be of type bool, got: {type(value).__name__}")
    for what, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int):
            raise TypeError(f"{what} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{what} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
