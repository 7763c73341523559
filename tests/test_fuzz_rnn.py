"""Differential fuzzer (seeded, trimmed) of the recurrent layers against torch.

Each case draws a layer (``RNN`` with tanh / relu, ``LSTM`` (with or without ``proj_size``), ``GRU``, or a
cell ``RNNCell`` / ``LSTMCell`` / ``GRUCell``) and random settings (sizes, ``num_layers``, ``bias``,
``batch_first``, ``bidirectional``, a dropout > 0 in eval mode), builds it in both libraries with the same
parameters (torch's state dict loaded into minicnn's), and runs it at float64 (sometimes float32) on a batched,
unbatched or packed input, with no initial state, a right one or a misshapen one. Packed inputs come from
``pack_padded_sequence`` (``enforce_sorted`` either way, lengths as a list or a tensor) or ``pack_sequence``
(after ``pad_sequence`` with either ``padding_side``), and the output is unpacked by ``pad_packed_sequence``
(``batch_first``, ``padding_value``, ``total_length``). Compared: outputs (values, shapes, dtypes; a packed
output's ``data``, ``batch_sizes``, ``sorted_indices``, ``unsorted_indices``), final states, the gradients of
``(out * w).sum() + (h_n * w2).sum() (+ (c_n * w3).sum())`` with respect to the input, the initial states
and every parameter, and exceptions (type; both raise or neither); also ``state_dict`` keys and order,
``_flat_weights_names``, ``all_weights``, ``flatten_parameters()`` and ``repr``.

The full fuzzer runs thousands of cases; here a few dozen, so the file takes seconds.
A failure names the seed: ``run_rnn(seed)`` replays it.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from conftest import attempt, error_names, same_builtin_error, tensors_differ

import minicnn as mc

LAYERS = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


@dataclass
class Case:
    """One drawn program: the layer ``kind(*args, **kwargs)``, the input (padded when ``pack`` says how to pack
    it), the initial state arrays (None: not passed) and the settings of the run."""

    kind: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    x: np.ndarray
    states: list[np.ndarray] | None
    dtype: str = "float64"
    train: bool = True
    pack: dict[str, Any] | None = None
    unpack: dict[str, Any] = field(default_factory=dict)
    bad_state: bool = False
    bad_input: bool = False
    x_dtype: str | None = None  # the input's dtype where it is not the layer's
    state_dtype: str | None = None
    strided: bool = False  # the input a transposed view of a leaf holding the transposed values


def flip(r: random.Random, p: float = 0.5) -> bool:
    return r.random() < p


def misshape(r: random.Random, shape: list[int]) -> list[int]:
    """``shape`` with one size off by one, or one dimension more or fewer."""
    shape = list(shape)
    how = r.randint(0, 2)
    if how == 0 and shape:
        i = r.randrange(len(shape))
        shape[i] = max(shape[i] + r.choice([-1, 1]), 0)
    elif how == 1 or not shape:
        shape.insert(r.randint(0, len(shape)), 1)
    else:
        shape.pop(r.randrange(len(shape)))
    return shape


def draw_cell(r: random.Random, rs: np.random.RandomState, kind: str) -> Case:
    i, h = r.randint(1, 4), r.randint(1, 4)
    kw: dict[str, Any] = dict(bias=flip(r, 0.7))
    if kind == "RNNCell":
        kw["nonlinearity"] = r.choice(["tanh", "relu"])
    batched = flip(r, 0.7)
    n = r.randint(0, 3) if flip(r, 0.1) else r.randint(1, 3)
    lead = [n] if batched else []
    x = rs.randn(*lead, i + (1 if flip(r, 0.05) else 0))
    states = None
    if flip(r, 0.6):
        shapes = [lead + [h]] * (2 if kind == "LSTMCell" else 1)
        if flip(r, 0.1):
            k = r.randrange(len(shapes))
            shapes[k] = misshape(r, shapes[k])
        states = [np.asarray(rs.randn(*s)) for s in shapes]
    return Case(kind, (i, h), kw, x, states)


def draw_layer(r: random.Random, rs: np.random.RandomState, kind: str) -> Case:
    i, h = r.randint(1, 4), r.randint(1, 4)
    layers, d = r.randint(1, 3), 2 if flip(r, 0.4) else 1
    kw: dict[str, Any] = dict(num_layers=layers, bias=flip(r, 0.7), batch_first=flip(r), bidirectional=d == 2)
    if kind == "RNN":
        kw["nonlinearity"] = r.choice(["tanh", "relu"])
    proj = r.randint(1, h - 1) if kind == "LSTM" and h > 1 and flip(r, 0.4) else 0
    if kind == "LSTM" and flip(r, 0.03):  # not smaller than hidden_size, or negative
        proj = r.choice([h, -1])
    if proj:
        kw["proj_size"] = proj
    if flip(r, 0.03):
        i, h = (0, h) if flip(r) else (i, 0)
    train = True
    if layers > 1 and flip(r, 0.2):  # in eval mode; or p = 1, which zeroes every layer's input but the first's
        kw["dropout"] = r.choice([0.3, 1.0])
        train = kw["dropout"] == 1.0 and flip(r)
    case = Case(kind, (i, h), kw, np.zeros(0), None, train=train)
    out_h = proj if 0 < proj < h else h
    t, n = (r.randint(1, 9), r.randint(1, 6)) if flip(r, 0.1) else (r.randint(1, 4), r.randint(1, 3))
    mode = r.choice(["batched", "batched", "unbatched", "packed", "packed"])
    if mode != "packed" and flip(r, 0.06):  # no steps, or (batched) no sequences
        t, n = (0, n) if flip(r) or mode == "unbatched" else (t, 0)
    feat = i + (1 if flip(r, 0.04) else 0)
    if mode == "packed":
        lengths = [r.randint(1, t) for _ in range(n)]
        lengths[r.randrange(n)] = t
        how = r.choice(["padded", "padded", "sequence"])
        sort = flip(r, 0.6)
        if sort or how == "sequence" and flip(r, 0.5):
            lengths.sort(reverse=True)
        case.pack = dict(how=how, lengths=lengths, enforce_sorted=sort or flip(r, 0.1), as_tensor=flip(r))
        case.pack["batch_first"] = flip(r) if how == "padded" else False
        case.pack["padding_side"] = r.choice(["right", "left"]) if how == "sequence" else "right"
        case.pack["pad_batch_first"] = flip(r)
        if how == "padded" and flip(r, 0.05):  # a length beyond the padded steps, or of the wrong count
            case.pack["lengths"] = lengths + [1] if flip(r) else [t + 1] + lengths[1:]
        case.bad_input = feat != i
        shape = [n, t, feat] if case.pack["batch_first"] else [t, n, feat]
        case.x = rs.randn(*shape)
        total = t + r.randint(-1, 2) if flip(r, 0.4) else None
        case.unpack = dict(batch_first=flip(r), padding_value=r.choice([0.0, -1.5]), total_length=total)
        lead = [n]
    elif mode == "unbatched":
        case.x, lead = rs.randn(t, feat), []
    else:
        case.x = rs.randn(n, t, feat) if kw["batch_first"] else rs.randn(t, n, feat)
        if flip(r, 0.03):
            case.x = case.x[:, :, :, None] if flip(r) or 0 in case.x.shape else case.x[0, 0]
        lead = [n]
    if flip(r, 0.6):
        shapes = [[layers * d, *lead, out_h]] + ([[layers * d, *lead, h]] if kind == "LSTM" else [])
        if flip(r, 0.1):
            k, case.bad_state = r.randrange(len(shapes)), True
            shapes[k] = misshape(r, shapes[k])
        case.states = [np.asarray(rs.randn(*s)) for s in shapes]
    return case


def draw(seed: int) -> Case:
    r, rs = random.Random(seed), np.random.RandomState(seed % 2**32)
    kind = LAYERS[seed % len(LAYERS)]
    case = draw_cell(r, rs, kind) if kind.endswith("Cell") else draw_layer(r, rs, kind)
    case.dtype = "float32" if flip(r, 0.15) else "float64"
    other = "float64" if case.dtype == "float32" else "float32"
    case.x_dtype = other if flip(r, 0.03) else None
    case.state_dtype = other if case.states and flip(r, 0.05) else None
    case.strided = case.x.ndim >= 2 and flip(r, 0.2)
    if case.x.size and flip(r, 0.04):  # a special value
        case.x.reshape(-1)[r.randrange(case.x.size)] = r.choice([np.nan, np.inf, -np.inf])
    return case


# -- runner -------------------------------------------------------------------------------------------
def differ(a: Any, b: Any, rtol: float) -> str | None:
    """:func:`tensors_differ` with atol = rtol."""
    return tensors_differ(a, b, rtol)


def leaf(lib: Any, a: np.ndarray, dtype: str) -> Any:
    a = a.astype(dtype)
    return torch.tensor(a, requires_grad=True) if lib is torch else mc.tensor(a, requires_grad=True)


def flat(out: Any) -> list[Any]:
    """The tensors of nested tuples, in order."""
    return [t for o in out for t in flat(o)] if isinstance(out, tuple) else [out]


def forward(lib: Any, case: Case, m: Any, x: Any, states: list[Any] | None) -> tuple[list[Any], list[Any]]:
    """Run the case: (the tensors the loss weighs, the other results compared: a packed output's fields)."""
    rnn = lib.nn.utils.rnn
    hx = None if states is None else (tuple(states) if case.kind in ("LSTM", "LSTMCell") else states[0])
    if case.pack is None:
        return flat(m(x) if hx is None else m(x, hx)), []
    p = case.pack
    lengths = torch.tensor(p["lengths"]) if p["as_tensor"] and lib is torch else p["lengths"]
    if p["as_tensor"] and lib is mc:
        lengths = mc.tensor(np.array(p["lengths"]))
    if p["how"] == "padded":
        packed = rnn.pack_padded_sequence(x, lengths, batch_first=p["batch_first"], enforce_sorted=p["enforce_sorted"])
    else:
        seqs = [x[: p["lengths"][b], b] for b in range(x.shape[1])]
        side, first = p["padding_side"], p["pad_batch_first"]
        padded = rnn.pad_sequence(seqs, batch_first=first, padding_side=side, padding_value=0.25)
        steps = padded.shape[1 if first else 0]
        start = [steps - n if side == "left" else 0 for n in p["lengths"]]  # the sequences back, then packed
        cut = [padded[b] if first else padded[:, b] for b in range(len(seqs))]
        seqs = [c[a : a + n] for c, a, n in zip(cut, start, p["lengths"])]
        packed = rnn.pack_sequence(seqs, enforce_sorted=p["enforce_sorted"])
    out, h = m(packed) if hx is None else m(packed, hx)
    fields = [] if p["how"] == "padded" else [padded]
    fields += [packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices]
    fields += [out.data, out.batch_sizes, out.sorted_indices, out.unsorted_indices]
    padded, lens = rnn.pad_packed_sequence(out, **case.unpack)
    # (a copy: torch's unpad_sequence transposes a time-major batch in place)
    fields += [lens, *rnn.unpack_sequence(out), *rnn.unpad_sequence(padded.clone(), lens, case.unpack["batch_first"])]
    return [padded, *flat(h)], fields


def structure(m: Any) -> list[Any]:
    """What is compared of a layer besides its numbers."""
    got = [list(m.state_dict()), repr(m)]
    if hasattr(m, "_flat_weights_names"):
        got += [list(m._flat_weights_names), [[tuple(p.shape) for p in ws] for ws in m.all_weights]]
        got.append([tuple(p.shape) for p in m._flat_weights])
        got.append(m.flatten_parameters())
    return got


def run_rnn(seed: int) -> str | None:
    """One random recurrent program; None if torch and minicnn agree, else what differs."""
    case = draw(seed)
    where = f"seed {seed} {case.kind}{case.args} {case.kwargs} train {case.train} x {case.x.shape} {case.dtype}"
    where += f" x_dtype {case.x_dtype} state_dtype {case.state_dtype}" + (" strided" if case.strided else "")
    where += f" states {None if case.states is None else [s.shape for s in case.states]} pack {case.pack}"
    where += f" unpack {case.unpack}" if case.pack else ""
    tol = 1e-7 if case.dtype == "float64" else 2e-4
    tm, terr = attempt(lambda: getattr(torch.nn, case.kind)(*case.args, **case.kwargs))
    mm, merr = attempt(lambda: getattr(mc.nn, case.kind)(*case.args, **case.kwargs))
    if terr or merr:
        return None if same_builtin_error(terr, merr) else f"{where}: construction {error_names(terr, merr)}"
    cast = "double" if case.dtype == "float64" else "float"
    tm, mm = getattr(tm, cast)().train(case.train), getattr(mm, cast)().train(case.train)
    mm.load_state_dict(OrderedDict((k, mc.tensor(v.detach().numpy().copy())) for k, v in tm.state_dict().items()))
    ts, ms = structure(tm), structure(mm)
    if ts != ms:
        return f"{where}: structure {ts} vs {ms}"
    x_dtype, state_dtype = case.x_dtype or case.dtype, case.state_dtype or case.dtype
    x = np.ascontiguousarray(case.x.swapaxes(0, 1)) if case.strided else case.x
    tx, mx = leaf(torch, x, x_dtype), leaf(mc, x, x_dtype)
    tin, min_ = (tx.transpose(0, 1), mx.transpose(0, 1)) if case.strided else (tx, mx)
    th = None if case.states is None else [leaf(torch, s, state_dtype) for s in case.states]
    mh = None if case.states is None else [leaf(mc, s, state_dtype) for s in case.states]
    if case.kind == "LSTM" and case.pack and (case.bad_state or case.bad_input):
        # torch 2.14's LSTM skips its size checks on a packed input (it reads out of bounds, or crashes)
        mres, merr = attempt(lambda: forward(mc, case, mm, min_, mh))
        return None if isinstance(merr, RuntimeError) else f"{where}: forward {merr!r}, torch: no check"
    if case.kind.endswith("Cell") and case.states and any(s.ndim != case.x.ndim for s in case.states):
        # a state with more or fewer dims than the input: minicnn raises, torch raises from inside (a size check,
        # a matmul's or an IndexError) or, where its unsqueezed sizes happen to fit, returns a misshapen output
        mres, merr = attempt(lambda: forward(mc, case, mm, min_, mh))
        return None if isinstance(merr, RuntimeError) else f"{where}: forward {merr!r}, hx of other dims"
    tres, terr = attempt(lambda: forward(torch, case, tm, tin, th))
    mres, merr = attempt(lambda: forward(mc, case, mm, min_, mh))
    if case.pack and case.bad_state and terr is None and isinstance(merr, RuntimeError):
        return None  # a packed input's hx of a larger batch: torch checks it after taking the sorted rows out of it
    if isinstance(terr, IndexError) and "index out of range" in str(terr) and "len(lengths)" in str(merr):
        return None  # more lengths than sequences, not sorted: torch's index_select fails before its own check
    if terr or merr:
        return None if same_builtin_error(terr, merr) else f"{where}: forward {error_names(terr, merr)}"
    (tout, tfields), (mout, mfields) = tres, mres
    if len(tout) != len(mout) or len(tfields) != len(mfields):
        return f"{where}: {len(tout)}, {len(tfields)} outputs vs {len(mout)}, {len(mfields)}"
    for i, (a, b) in enumerate(zip(tout + tfields, mout + mfields)):
        if differ(a, b, tol):
            return f"{where}: output {i} {differ(a, b, tol)}"
    rs = np.random.RandomState(seed % 2**32 + 1)
    ws = [rs.randn(*t.shape).astype(case.dtype) for t in tout]
    _, terr = attempt(lambda: sum((t * torch.tensor(w)).sum() for t, w in zip(tout, ws)).backward())
    _, merr = attempt(lambda: sum((t * mc.tensor(w)).sum() for t, w in zip(mout, ws)).backward())
    if terr or merr:
        return None if same_builtin_error(terr, merr) else f"{where}: backward {error_names(terr, merr)}"
    for name, a, b in [("input", tx, mx)] + [(f"state {k}", a, b) for k, (a, b) in enumerate(zip(th or [], mh or []))]:
        if differ(a.grad, b.grad, tol):
            return f"{where}: {name} grad {differ(a.grad, b.grad, tol)}"
    mp = dict(mm.named_parameters())
    for n, p in tm.named_parameters():
        if differ(p.grad, mp[n].grad, tol):
            return f"{where}: {n}.grad {differ(p.grad, mp[n].grad, tol)}"
    return None


# beyond the first 60, seeds of bugs the fuzzer found (each also has a direct test in test_rnn.py): 85 (a float32 LSTM
# of hidden_size 1 was off by up to 0.1), 219 (as seed 29: a cell took an hx with other dims than its input)
REPLAY = [85, 219]


def test_fuzz_recurrent_layers_like_torch():
    failures = [(seed, run_rnn(seed)) for seed in [*range(60), *REPLAY]]
    assert [f for f in failures if f[1]] == []
