"""torch's functional recurrent entry points, on weights the caller passes:

* cells (one time step, input (N, I), states (N, H); weights w_ih (G*H, I), w_hh (G*H, H),
  biases (G*H,) or None; G = 4 for an LSTM, 3 for a GRU, 1 for an Elman RNN):
  ``lstm_cell(input, hx=(h, c), ...) -> (h', c')``, ``gru_cell(input, hx, ...) -> h'``,
  ``rnn_tanh_cell`` / ``rnn_relu_cell(input, hx, ...) -> h'``: what nn.LSTMCell, nn.GRUCell and
  nn.RNNCell return, with the gate arithmetic of minicnn/ops/rnn_cells.py.
* sequences, torch's two overloads each:
  ``lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
  -> (output, h_n, c_n)`` and ``lstm(data, batch_sizes, hx, params, has_biases, num_layers,
  dropout, train, bidirectional)`` for a packed sequence's data; ``gru``, ``rnn_tanh``,
  ``rnn_relu`` the same with one state tensor ``hx`` and results ``(output, h_n)``. ``params``
  holds per layer and direction w_ih, w_hh, then b_ih, b_hh when ``has_biases``, then (LSTM with
  h and c of different sizes) w_hr. The layers run as nn.LSTM / nn.GRU / nn.RNN run theirs
  (minicnn/nn/rnn.py; cost there).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from ..autograd import Tensor
from .activation import relu, tanh
from .dropout import dropout as _dropout
from .linear import linear
from .rnn_cells import gru_step, lstm_step
from .shape import cat, stack

_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
# torch's sequence functions on a padded input; the packed form has data, batch_sizes first and no batch_first
_INPUT_NAMES = ("input", "hx", "params", "has_biases", "num_layers", "dropout", "train", "bidirectional", "batch_first")


def _check_cell(name: str, input: Tensor, states: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor) -> None:  # noqa: A002
    """torch's checks of a cell's arguments (RuntimeError, IndexError for a 1-d input as torch)."""
    if input.ndim != 2:
        raise IndexError(f"{name}: expected input of 2 dimensions (batch, input_size), got {input.ndim}")
    if w_ih.ndim != 2 or w_hh.ndim != 2:
        raise RuntimeError(f"{name}: expected 2-d weights, got w_ih {list(w_ih.shape)}, w_hh {list(w_hh.shape)}")
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}")
    hidden, gates = w_hh.shape[1], _GATES[name.removesuffix("_cell")]
    for which, w in (("weight_ih", w_ih), ("weight_hh", w_hh)):
        if w.shape[0] != gates * hidden:
            raise RuntimeError(
                f"{name}: {which} first dim must be {gates} * hidden_size = {gates * hidden}, but got {w.shape[0]}"
            )
    for k, s in enumerate(states):
        if s.ndim != 2 or s.shape[0] != input.shape[0]:
            raise RuntimeError(
                f"{name}: Input batch size {input.shape[0]} doesn't match hidden{k} batch size "
                f"{s.shape[0] if s.ndim else list(s.shape)}"
            )
        if s.shape[1] != hidden:
            raise RuntimeError(f"{name}: hidden{k} has inconsistent hidden_size: got {s.shape[1]}, expected {hidden}")


def lstm_cell(
    input: Tensor,  # noqa: A002 - torch's names
    hx: Sequence[Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """torch.lstm_cell: one LSTM step, ``hx = (h, c)`` -> ``(h', c')`` (gates i, f, g, o)."""
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    h, c = hx
    _check_cell("lstm_cell", input, (h, c), w_ih, w_hh)
    return lstm_step(linear(input, w_ih, b_ih), linear(h, w_hh, b_hh), c)


def gru_cell(
    input: Tensor,  # noqa: A002
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """torch.gru_cell: one GRU step -> h' (gates r, z, n)."""
    _check_cell("gru_cell", input, (hx,), w_ih, w_hh)
    return gru_step(linear(input, w_ih, b_ih), linear(hx, w_hh, b_hh), hx)


def rnn_tanh_cell(
    input: Tensor,  # noqa: A002
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """torch.rnn_tanh_cell: ``tanh(input w_ih^T + b_ih + hx w_hh^T + b_hh)``."""
    _check_cell("rnn_tanh_cell", input, (hx,), w_ih, w_hh)
    return tanh(linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh))


def rnn_relu_cell(
    input: Tensor,  # noqa: A002
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """torch.rnn_relu_cell: ``relu(input w_ih^T + b_ih + hx w_hh^T + b_hh)``."""
    _check_cell("rnn_relu_cell", input, (hx,), w_ih, w_hh)
    return relu(linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh))


def _sequence(mode: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Tensor, ...]:
    """The layers of torch.lstm / gru / rnn_tanh / rnn_relu in either overload (see the module docstring)."""
    from ..nn import rnn as R  # (nn imports ops: loaded on first use)

    names = list(_INPUT_NAMES[3:-1])  # has_biases ... bidirectional
    lstm = mode == "lstm"
    # the packed form: a tensor batch_sizes where the other has hx (LSTM: a pair) or params (the rest: a list)
    packed = "batch_sizes" in kwargs or (len(args) > 2 - lstm and isinstance(args[2 - lstm], Tensor))
    names = ["data", "batch_sizes", "hx", "params", *names] if packed else [*_INPUT_NAMES]
    if len(args) > len(names):
        raise TypeError(f"{mode}() takes {len(names)} arguments, got {len(args)}")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names or k in bound:
            raise TypeError(f"{mode}() got an unexpected or repeated argument {k!r}")
        bound[k] = v
    missing = [n for n in names if n not in bound]
    if missing:
        raise TypeError(f"{mode}() missing required arguments: {', '.join(missing)}")
    x = bound["data" if packed else "input"]
    hs = tuple(bound["hx"]) if lstm else (bound["hx"],)
    if lstm and len(hs) != 2:
        raise RuntimeError(f"lstm expects two hidden states, got {len(hs)}")
    layers, directions = int(bound["num_layers"]), 2 if bound["bidirectional"] else 1
    proj = lstm and hs[0].shape[-1] != hs[1].shape[-1]
    per = 2 + 2 * bool(bound["has_biases"]) + proj
    params = list(bound["params"])
    if len(params) != per * layers * directions:
        raise RuntimeError(
            f"{mode}: got an incorrect number of RNN parameters: {len(params)}, expected {per * layers * directions} "
            f"({per} per layer and direction)"
        )
    if packed:
        batch_sizes = [int(b) for b in bound["batch_sizes"].tolist()]
        if x.ndim != 2:
            raise RuntimeError(f"{mode}: packed input data must have 2 dimensions, got {x.ndim}")
    else:
        if x.ndim != 3:
            raise IndexError(f"{mode}: expected input of 3 dimensions (seq_len, batch, input_size), got {x.ndim}")
        if bound["batch_first"]:
            x = x.transpose(0, 1)
        steps, n = x.shape[0], x.shape[1]
        batch_sizes, x = [n] * steps, x.reshape(steps * n, x.shape[2])
    for h in hs:
        if h.ndim != 3 or h.shape[0] != layers * directions or h.shape[1] != batch_sizes[0]:
            raise RuntimeError(
                f"{mode}: Expected hidden size ({layers * directions}, {batch_sizes[0]}, *), got {list(h.shape)}"
            )
    step = {"lstm": R._lstm_step, "gru": R._gru_step}.get(mode) or R._rnn_step(mode.removeprefix("rnn_"))
    finals: list[list[Tensor]] = [[] for _ in hs]
    p, train = float(bound["dropout"]), bool(bound["train"])
    for layer in range(layers):
        if layer > 0 and p > 0 and train:
            x = _dropout(x, p, True)
        outs = []
        for d in range(directions):
            k = layer * directions + d
            w = params[k * per : (k + 1) * per]
            weights = [w[0], w[1], *(w[2:4] if bound["has_biases"] else (None, None)), w[-1] if proj else None]
            out, state = R._run_direction(step, x, batch_sizes, tuple(h[k] for h in hs), weights, d == 1)
            outs.append(out)
            for kind, s in zip(finals, state):
                kind.append(s)
        x = outs[0] if directions == 1 else cat(outs, 1)
    if not packed:
        x = x.reshape(len(batch_sizes), batch_sizes[0], x.shape[-1])
        x = x.transpose(0, 1) if bound["batch_first"] else x
    return (x, *(stack(f) for f in finals))


def lstm(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor, Tensor]:
    """torch.lstm: ``lstm(input, hx, params, has_biases, num_layers, dropout, train,
    bidirectional, batch_first)`` or ``lstm(data, batch_sizes, hx, params, has_biases,
    num_layers, dropout, train, bidirectional)``; ``hx = (h_0, c_0)``. Returns
    ``(output, h_n, c_n)`` (output: the packed data in the second form)."""
    return _sequence("lstm", args, kwargs)  # type: ignore[return-value]


def gru(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """torch.gru: as :func:`lstm` with one state tensor ``hx``; returns ``(output, h_n)``."""
    return _sequence("gru", args, kwargs)  # type: ignore[return-value]


def rnn_tanh(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """torch.rnn_tanh: as :func:`gru`, an Elman RNN with tanh; returns ``(output, h_n)``."""
    return _sequence("rnn_tanh", args, kwargs)  # type: ignore[return-value]


def rnn_relu(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """torch.rnn_relu: as :func:`gru`, an Elman RNN with relu; returns ``(output, h_n)``."""
    return _sequence("rnn_relu", args, kwargs)  # type: ignore[return-value]


# the signature ``help`` shows: torch's form on a padded input (the packed form is positional)
_INPUT_FORM = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in _INPUT_NAMES])
for _fn in (lstm, gru, rnn_tanh, rnn_relu):
    _fn.__signature__ = _INPUT_FORM  # type: ignore[attr-defined]
