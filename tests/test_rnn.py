"""nn.RNN / LSTM / GRU, their cells and nn.utils.rnn against torch (float64 parity of outputs,
final states and every gradient), plus gradcheck, double backward, errors, reprs and init."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as TR
from conftest import devices, double_backward_like_torch, engine_writes
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import rnn as R
from minicnn.nn import utils_rnn as U

TOL = dict(rtol=1e-8, atol=1e-10)
MODES = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _pair(kind: str, *args: Any, **kwargs: Any) -> tuple[Any, torch.nn.Module]:
    """The minicnn and torch module of class ``kind`` (float64), with torch's parameters copied in."""
    t = getattr(torch.nn, kind)(*args, **kwargs).double()
    m = getattr(R, kind)(*args, **kwargs, dtype=np.float64)
    m.load_state_dict({k: mc.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return m, t


def _flat(out: Any) -> list[Any]:
    """The tensors of a nested (output, state) result, a PackedSequence as its data."""
    if isinstance(out, (U.PackedSequence, TR.PackedSequence)):
        return [out.data]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _compare(m: Any, t: torch.nn.Module, m_out: Any, t_out: Any, m_in: list[Any], t_in: list[Any]) -> None:
    """Outputs equal, then the gradients of sum(out_k * g_k) for every input and parameter."""
    mo, to = _flat(m_out), _flat(t_out)
    assert len(mo) == len(to)
    rng = np.random.default_rng(0)
    m_loss, t_loss = None, None
    for a, b in zip(mo, to):
        assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL, err_msg="forward")
        g = rng.standard_normal(a.shape)
        ma, ta = (a * mc.tensor(g, device=a.device)).sum(), (b * torch.tensor(g)).sum()
        m_loss, t_loss = (ma, ta) if m_loss is None else (m_loss + ma, t_loss + ta)
    m_loss.backward()
    t_loss.backward()
    for i, (a, b) in enumerate(zip(m_in, t_in)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL, err_msg=f"gradient of input {i}")
    tp = dict(t.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), **TOL, err_msg=f"gradient of {name}")


def _leaves(a: np.ndarray, device: str = "cpu") -> tuple[Any, torch.Tensor]:
    return mc.tensor(a, requires_grad=True, device=device), torch.tensor(a, requires_grad=True)


# ---------------------------------------------------------------------------------------------
# cells


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(["RNNCell", "RNNCell_relu", "LSTMCell", "GRUCell"]),
    n=st.integers(0, 3),  # 0: unbatched
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    bias=st.booleans(),
    give_hx=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_cells_like_torch(kind: str, n: int, sizes: tuple[int, int], bias: bool, give_hx: bool, seed: int) -> None:
    h_in, hidden = sizes
    kwargs: dict[str, Any] = {"bias": bias}
    if kind == "RNNCell_relu":
        kind, kwargs["nonlinearity"] = "RNNCell", "relu"
    m, t = _pair(kind, h_in, hidden, **kwargs)
    rng = np.random.default_rng(seed)
    lead = (n,) if n else ()
    mx, tx = _leaves(rng.standard_normal((*lead, h_in)))
    m_in, t_in = [mx], [tx]
    mh: Any = None
    th: Any = None
    if give_hx:
        states = [_leaves(rng.standard_normal((*lead, hidden))) for _ in range(2 if kind == "LSTMCell" else 1)]
        m_in += [s[0] for s in states]
        t_in += [s[1] for s in states]
        mh, th = (m_in[1], t_in[1]) if kind != "LSTMCell" else (tuple(m_in[1:]), tuple(t_in[1:]))
    _compare(m, t, m(mx, mh), t(tx, th), m_in, t_in)


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cell_double_backward_like_torch(kind: str) -> None:
    """Second derivatives of one step w.r.t. input, state and every weight."""
    m, _ = _pair(kind, 3, 2)
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2))]
    arrays += [p.numpy() for p in m.parameters()]
    torch_cell = {"LSTMCell": torch.lstm_cell, "GRUCell": torch.gru_cell, "RNNCell": torch.rnn_tanh_cell}[kind]

    def mc_fn(x: Any, h: Any, c: Any, *ws: Any) -> Any:
        for name, w in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), ws):
            m._parameters[name] = w
        if kind == "LSTMCell":
            h2, c2 = m(x, (h, c))
            return h2 + 2 * c2
        return m(x, h) * c  # c: a second input to keep the signature alike

    def torch_fn(x: Any, h: Any, c: Any, *ws: Any) -> Any:
        if kind == "LSTMCell":
            h2, c2 = torch_cell(x, (h, c), *ws)
            return h2 + 2 * c2
        return torch_cell(x, h, *ws) * c

    double_backward_like_torch(mc_fn, torch_fn, arrays, rtol=1e-8, atol=1e-10)


def test_cell_gradgradcheck() -> None:
    cell = R.GRUCell(2, 2, dtype=np.float64)
    rng = np.random.default_rng(2)
    x = mc.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    h = mc.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    assert mc.gradgradcheck(lambda a, b: cell(a, b), [x, h])


# ---------------------------------------------------------------------------------------------
# layers


@st.composite
def layer_settings(draw: Any) -> dict[str, Any]:
    mode = draw(st.sampled_from(sorted(MODES)))
    hidden = draw(st.integers(1, 4))
    s = dict(
        mode=mode,
        steps=draw(st.integers(1, 4)),
        n=draw(st.integers(0, 3)),  # 0: unbatched
        h_in=draw(st.integers(1, 4)),
        hidden=hidden,
        num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        proj=draw(st.integers(0, hidden - 1)) if mode == "LSTM" else 0,
        give_hx=draw(st.booleans()),
    )
    return s


def _layer_pair(s: dict[str, Any]) -> tuple[Any, torch.nn.Module]:
    kwargs: dict[str, Any] = dict(
        num_layers=s["num_layers"], bias=s["bias"], batch_first=s["batch_first"], bidirectional=s["bidirectional"]
    )
    if s["mode"] == "RNN_RELU":
        kwargs["nonlinearity"] = "relu"
    if s["proj"]:
        kwargs["proj_size"] = s["proj"]
    return _pair(MODES[s["mode"]], s["h_in"], s["hidden"], **kwargs)


def _states(s: dict[str, Any], rng: np.random.Generator, batch: int | None) -> tuple[list[Any], list[Any], Any, Any]:
    """Random h_0 (and c_0): minicnn and torch leaves and the hx argument of each."""
    lead = (s["num_layers"] * (2 if s["bidirectional"] else 1),)
    mid = (batch,) if batch else ()
    sizes = [s["proj"] or s["hidden"]] + ([s["hidden"]] if s["mode"] == "LSTM" else [])
    pairs = [_leaves(rng.standard_normal((*lead, *mid, size))) for size in sizes]
    m_in, t_in = [p[0] for p in pairs], [p[1] for p in pairs]
    if s["mode"] == "LSTM":
        return m_in, t_in, tuple(m_in), tuple(t_in)
    return m_in, t_in, m_in[0], t_in[0]


@settings(max_examples=40, deadline=None)
@given(s=layer_settings(), seed=st.integers(0, 2**16))
def test_layers_like_torch(s: dict[str, Any], seed: int) -> None:
    """Output, h_n (c_n) and the gradients of input, h_0 (c_0) and every parameter."""
    m, t = _layer_pair(s)
    rng = np.random.default_rng(seed)
    n, steps = s["n"], s["steps"]
    shape = (steps, s["h_in"]) if not n else ((n, steps, s["h_in"]) if s["batch_first"] else (steps, n, s["h_in"]))
    mx, tx = _leaves(rng.standard_normal(shape))
    m_in, t_in, mh, th = [mx], [tx], None, None
    if s["give_hx"]:
        ms, ts, mh, th = _states(s, rng, n)
        m_in, t_in = m_in + ms, t_in + ts
    _compare(m, t, m(mx, mh), t(tx, th), m_in, t_in)


@settings(max_examples=25, deadline=None)
@given(
    mode=st.sampled_from(sorted(MODES)),
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    enforce_sorted=st.booleans(),
    batch_first=st.booleans(),
    bidirectional=st.booleans(),
    num_layers=st.integers(1, 2),
    give_hx=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_packed_input_like_torch(
    mode: str,
    lengths: list[int],
    enforce_sorted: bool,
    batch_first: bool,
    bidirectional: bool,
    num_layers: int,
    give_hx: bool,
    seed: int,
) -> None:
    """A PackedSequence through the layer: packed output, h_n, the padded output again, and the
    gradients of the padded input, h_0 and the parameters."""
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    s = dict(
        mode=mode, h_in=2, hidden=3, num_layers=num_layers, bias=True, batch_first=batch_first,
        bidirectional=bidirectional, proj=1 if mode == "LSTM" and seed % 2 else 0,
    )  # fmt: skip
    m, t = _layer_pair(s)
    rng = np.random.default_rng(seed)
    steps, n = max(lengths) + 1, len(lengths)
    mx, tx = _leaves(rng.standard_normal((n, steps, 2) if batch_first else (steps, n, 2)))
    mp = U.pack_padded_sequence(mx, lengths, batch_first, enforce_sorted)
    tp = TR.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    assert mp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for a, b in ((mp.sorted_indices, tp.sorted_indices), (mp.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())
    m_in, t_in, mh, th = [mx], [tx], None, None
    if give_hx:
        ms, ts, mh, th = _states(s, rng, n)
        m_in, t_in = m_in + ms, t_in + ts
    m_out, m_state = m(mp, mh)
    t_out, t_state = t(tp, th)
    m_pad, m_len = U.pad_packed_sequence(m_out, batch_first, -1.5, steps + 1)
    t_pad, t_len = TR.pad_packed_sequence(t_out, batch_first, -1.5, steps + 1)
    assert m_len.tolist() == t_len.tolist() and m_len.dtype == np.int64
    _compare(m, t, (m_out, m_state, m_pad), (t_out, t_state, t_pad), m_in, t_in)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_layer_gradcheck(mode: str) -> None:
    """Numerical gradients of a tiny bidirectional two-layer layer w.r.t. input, h_0 and weights."""
    layer = getattr(R, mode)(2, 2, num_layers=2, bidirectional=True, dtype=np.float64)
    names = [n for n, _ in layer.named_parameters()]
    rng = np.random.default_rng(3)
    x = mc.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    h = mc.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    params = [mc.tensor(p.numpy(), requires_grad=True) for p in layer.parameters()]

    def fn(x: Any, h: Any, *ps: Any) -> Any:
        for name, p in zip(names, ps):
            layer._parameters[name] = p
        return layer(x, (h, h * 0.5) if mode == "LSTM" else h)

    assert mc.gradcheck(fn, [x, h, *params])


@pytest.mark.parametrize("device", devices())
def test_layers_on_device(device: str) -> None:
    m, t = _pair("LSTM", 3, 4, num_layers=2, bidirectional=True, proj_size=2)
    m.to(device)
    rng = np.random.default_rng(4)
    mx, tx = _leaves(rng.standard_normal((4, 3, 3)), device)
    _compare(m, t, m(U.pack_padded_sequence(mx, [4, 2, 3], enforce_sorted=False)),
             t(TR.pack_padded_sequence(tx, [4, 2, 3], enforce_sorted=False)), [mx], [tx])  # fmt: skip
    g, tg = _pair("GRU", 3, 2, batch_first=True)
    g.to(device)
    mx, tx = _leaves(rng.standard_normal((2, 4, 3)), device)
    _compare(g, tg, g(mx), tg(tx), [mx], [tx])
    c, tc = _pair("LSTMCell", 3, 2)
    c.to(device)
    mx, tx = _leaves(rng.standard_normal((2, 3)), device)
    _compare(c, tc, c(mx), tc(tx), [mx], [tx])


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["lstm", "gru"]),
    st.integers(1, 4),
    st.integers(1, 5),
    st.sampled_from([0.5, 3.0, 60.0]),
    st.integers(0, 2**16),
)
def test_fused_steps_equal_their_composites(kind: str, n: int, hidden: int, scale: float, seed: int) -> None:
    """ops/rnn_cells.py's kernels (forward and backward) against the same step written in ops
    (the ops' composite), float64, incl. saturated gates (scale 60: sigmoid and tanh at 0/1)."""
    from minicnn.ops import rnn_cells as C

    rng = np.random.default_rng(seed)
    g = 4 if kind == "lstm" else 3
    arrays = [rng.standard_normal((n, g * hidden)) * scale, rng.standard_normal((n, g * hidden)) * scale]
    arrays.append(rng.standard_normal((n, hidden)))
    op = C.LSTMStep if kind == "lstm" else C.GRUStep
    results = []
    for fused in (True, False):
        xs = [mc.tensor(a, requires_grad=True) for a in arrays]
        y = op.apply(*xs) if fused else op().composite(*xs)
        gy = np.random.default_rng(seed + 1).standard_normal(y.shape)
        (y * mc.tensor(gy)).sum().backward()
        results.append([y.numpy(), *(x.grad.numpy() for x in xs)])
    for a, b in zip(*results):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    st.booleans(),
    st.lists(st.integers(1, 4), min_size=1, max_size=5).map(lambda b: sorted(b, reverse=True)),
    st.integers(1, 4),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_recurrence_equals_its_composite(
    lstm: bool, batch_sizes: list[int], hidden: int, reverse: bool, bias: bool, seed: int
) -> None:
    """The whole-sequence op (backpropagation through time in kernels/rnn_cells.py) against the
    same steps in ops, on packed batch sizes, both directions, with and without b_hh: every
    output and every input gradient, float64."""
    from minicnn.ops import rnn_cells as C

    rng = np.random.default_rng(seed)
    g, n, rows = (4 if lstm else 3) * hidden, batch_sizes[0], sum(batch_sizes)
    arrays = [rng.standard_normal((rows, g)), rng.standard_normal((g, hidden)) * 0.5, rng.standard_normal((n, hidden))]
    arrays += [rng.standard_normal((n, hidden))] if lstm else []
    arrays += [rng.standard_normal(g)] if bias else []
    settings_ = dict(lstm=lstm, batch_sizes=batch_sizes, reverse=reverse, has_bias=bias)
    results = []
    for fused in (True, False):
        xs = [mc.tensor(a, requires_grad=True) for a in arrays]
        y = C.Recurrence.apply(*xs, **settings_) if fused else C.Recurrence(**settings_).composite(*xs)
        gy = np.random.default_rng(seed + 1).standard_normal(y.shape)
        (y * mc.tensor(gy)).sum().backward()
        results.append([y.numpy(), *(x.grad.numpy() for x in xs)])
        for x, a in zip(xs, arrays):  # the kernels work in place on their own buffers, never on the inputs
            np.testing.assert_array_equal(x.numpy(), a)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_recurrence_second_derivatives() -> None:
    from minicnn.ops import rnn_cells as C

    rng = np.random.default_rng(2)
    xs = [mc.tensor(rng.standard_normal(s) * 0.5, requires_grad=True) for s in ((5, 8), (8, 2), (2, 2), (2, 2))]
    assert mc.gradgradcheck(
        lambda *t: C.Recurrence.apply(*t, lstm=True, batch_sizes=[2, 2, 1], reverse=True, has_bias=False), xs
    )


@pytest.mark.parametrize("device", devices())
def test_fused_steps_on_each_device(device: str) -> None:
    from minicnn.ops import rnn_cells as C

    rng = np.random.default_rng(3)
    for op, g in ((C.LSTMStep, 4), (C.GRUStep, 3)):
        arrays = [rng.standard_normal((3, 2 * g)).astype(np.float32) for _ in range(2)]
        arrays.append(rng.standard_normal((3, 2)).astype(np.float32))
        outs = []
        for dev in ("cpu", device):
            xs = [mc.tensor(a, device=dev, requires_grad=True) for a in arrays]
            y = op.apply(*xs)
            (y * y).sum().backward()
            outs.append([mc.backend.to_numpy(t.array) for t in (y, *(x.grad for x in xs))])
        for a, b in zip(*outs):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backward_work_grows_about_linearly_with_sequence_length() -> None:
    """Taking each step's slice of the input projections must not make the backward write a
    gradient of the whole sequence per step (O(L^2)): count what the pass allocates to sum
    gradients (the sequence's gradient once, plus the per-step states')."""

    def work(steps: int) -> int:
        m = R.GRU(2, 3, dtype=np.float64)
        out, h = m(mc.tensor(np.ones((steps, 2, 2))))
        with engine_writes() as sizes:
            (out.sum() + h.sum()).backward()
        return sum(sizes)

    assert work(128) < 10 * work(16)  # 8x the steps: O(L) ~ 8x here, O(L log L) ~ 14x, O(L^2) ~ 64x


def test_dropout_between_layers() -> None:
    """Dropout 1 zeroes the second layer's input in training, as torch; eval ignores dropout."""
    for mode in ("LSTM", "GRU", "RNN"):
        m, t = _pair(mode, 3, 4, num_layers=2, dropout=1.0)
        x = np.random.default_rng(5).standard_normal((3, 2, 3))
        mo, _ = m(mc.tensor(x))
        to, _ = t(torch.tensor(x))
        np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), **TOL)
        m2, t2 = _pair(mode, 3, 4, num_layers=2, dropout=0.5)
        m2.eval(), t2.eval()
        np.testing.assert_allclose(m2(mc.tensor(x))[0].numpy(), t2(torch.tensor(x))[0].detach().numpy(), **TOL)
        m2.train()
        mc.manual_seed(0)
        a = m2(mc.tensor(x))[0].numpy()
        mc.manual_seed(0)
        b = m2(mc.tensor(x))[0].numpy()
        np.testing.assert_array_equal(a, b)  # the draw follows mc.manual_seed
        assert not np.allclose(a, m2.eval()(mc.tensor(x))[0].numpy())  # and it does drop


# ---------------------------------------------------------------------------------------------
# construction: parameters, init, repr, errors


@pytest.mark.parametrize(
    "kind, args, kwargs",
    [
        ("LSTM", (3, 4), dict(num_layers=2, proj_size=2, bidirectional=True, batch_first=True, dropout=0.1)),
        ("GRU", (3, 4), dict(bias=False)),
        ("RNN", (3, 4), dict(nonlinearity="relu", num_layers=3, bidirectional=True)),
        ("RNN", (2, 5), {}),
        ("LSTMCell", (3, 4), {}),
        ("GRUCell", (3, 4), dict(bias=False)),
        ("RNNCell", (3, 4), dict(nonlinearity="relu", bias=False)),
    ],
)
def test_parameters_init_and_repr_like_torch(kind: str, args: tuple[int, ...], kwargs: dict[str, Any]) -> None:
    m = getattr(R, kind)(*args, **kwargs)
    t = getattr(torch.nn, kind)(*args, **kwargs)
    assert repr(m) == repr(t)
    ms, ts = m.state_dict(), t.state_dict()
    assert list(ms) == list(ts)
    bound = 1 / math.sqrt(args[1])
    for k in ms:
        assert tuple(ms[k].shape) == tuple(ts[k].shape) and ms[k].dtype == np.float32
        a = np.asarray(ms[k])
        assert a.min() >= -bound and a.max() <= bound
    every = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    assert every.max() > 0.7 * bound and every.min() < -0.7 * bound  # spread over the whole interval
    if kind in ("LSTM", "GRU", "RNN"):
        assert [[tuple(p.shape) for p in ws] for ws in m.all_weights] == [
            [tuple(p.shape) for p in ws] for ws in t.all_weights
        ]
        assert m._flat_weights_names == t._flat_weights_names
        assert [tuple(p.shape) for p in m._flat_weights] == [tuple(p.shape) for p in t._flat_weights]
        assert m._flat_weights[1] is m.weight_hh_l0


def _raises_like_torch(m_call: Any, t_call: Any) -> None:
    """Both raise; ours is a ValueError or TypeError whose message contains torch's."""
    with pytest.raises(Exception) as t_err:
        t_call()
    with pytest.raises((ValueError, TypeError)) as m_err:
        m_call()
    assert str(t_err.value) in str(m_err.value), (str(m_err.value), str(t_err.value))


@pytest.mark.parametrize(
    "kind, kwargs, x_shape, hx_shapes",
    [
        ("LSTM", dict(proj_size=2), (5, 2, 4), None),
        ("LSTM", dict(proj_size=2, num_layers=2), (5, 2, 3), [(2, 2, 4), (2, 2, 4)]),
        ("LSTM", dict(num_layers=2), (5, 2, 3), [(2, 2, 4), (2, 3, 4)]),
        ("LSTM", {}, (5, 2, 3, 1), None),
        ("LSTM", {}, (5, 2, 3), [(1, 4), (1, 4)]),
        ("LSTM", {}, (5, 3), [(1, 1, 4), (1, 1, 4)]),
        ("GRU", {}, (5, 2, 3), [(1, 3, 4)]),
        ("GRU", {}, (5, 2, 3), [(3, 4)]),
        ("RNN", {}, (5, 3), [(1, 1, 4)]),
        ("RNN", {}, (5,), None),
        ("GRU", {}, (0, 2, 3), None),
        ("LSTMCell", {}, (2, 5), None),
        ("LSTMCell", {}, (2, 3), [(3, 4), (3, 4)]),
        ("LSTMCell", {}, (2, 3), [(2, 4), (2, 5)]),
        ("LSTMCell", {}, (2, 3, 1), None),
        ("GRUCell", {}, (2, 3), [(2, 5)]),
        ("GRUCell", {}, (2, 3), [(2, 1, 4)]),
        ("RNNCell", {}, (2, 3), [(3, 4)]),
    ],
)
def test_shape_errors_like_torch(kind: str, kwargs: dict[str, Any], x_shape: tuple[int, ...], hx_shapes: Any) -> None:
    m = getattr(R, kind)(3, 4, **kwargs)
    t = getattr(torch.nn, kind)(3, 4, **kwargs)
    mh: Any = None
    th: Any = None
    if hx_shapes:
        mh = tuple(mc.zeros(s) for s in hx_shapes)
        th = tuple(torch.zeros(s) for s in hx_shapes)
        if len(hx_shapes) == 1:
            mh, th = mh[0], th[0]
    _raises_like_torch(lambda: m(mc.zeros(x_shape), mh), lambda: t(torch.zeros(x_shape), th))


@pytest.mark.parametrize(
    "kind, args, kwargs",
    [
        ("LSTM", (3, 4), dict(proj_size=4)),
        ("LSTM", (3, 4), dict(proj_size=-1)),
        ("GRU", (3, 4), dict(dropout=1.5)),
        ("GRU", (3, 4), dict(num_layers=0)),
        ("RNN", (0, 4), {}),
        ("RNN", (3, 0), {}),
        ("RNN", (3.0, 4), {}),
        ("RNN", (3, 4), dict(bias=1)),
        ("RNN", (3, 4), dict(nonlinearity="sigmoid")),
    ],
)
def test_setting_errors_like_torch(kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _raises_like_torch(lambda: getattr(R, kind)(*args, **kwargs), lambda: getattr(torch.nn, kind)(*args, **kwargs))


def test_dtype_error_and_dropout_warning() -> None:
    with pytest.raises(ValueError, match="does not match weight dtype"):  # torch's layers: a ValueError
        R.GRU(3, 4)(mc.zeros(2, 1, 3, dtype=np.float64))
    with pytest.raises(RuntimeError, match="does not match weight dtype"):  # torch's cells: a RuntimeError
        R.GRUCell(3, 4)(mc.zeros(2, 3, dtype=np.float64))
    with pytest.raises(RuntimeError, match="GRU: Input and hidden tensors are not the same dtype"):
        R.GRU(3, 4)(mc.zeros(2, 1, 3), mc.zeros(1, 1, 4, dtype=np.float64))
    with pytest.raises(TypeError, match="LSTMCell: Input and hidden tensors are not the same dtype"):
        R.LSTMCell(3, 4)(mc.zeros(1, 3), (mc.zeros(1, 4), mc.zeros(1, 4, dtype=np.float64)))
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        R.LSTM(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        R.LSTM(3, 4, num_layers=2, dropout=0.5)


def test_signatures_like_torch() -> None:
    """Names, order and defaults as torch's (RNN/LSTM/GRU: as the documented overloads of torch's
    ``*args, **kwargs``, with RNNBase's order)."""
    import inspect

    def params(f: Any) -> list[tuple[str, Any]]:
        return [(p.name, p.default) for p in inspect.signature(f).parameters.values()]

    pairs = [(getattr(R, n), getattr(torch.nn, n)) for n in ("RNNCell", "LSTMCell", "GRUCell")]
    pairs += [(getattr(U, n), getattr(TR, n)) for n in U.__all__ if n != "PackedSequence"]
    pairs += [(getattr(R, n).forward, getattr(torch.nn, n).forward) for n in ("RNNCell", "LSTMCell", "GRUCell")]
    pairs += [(getattr(R, n).forward, getattr(torch.nn, n).forward) for n in ("RNN", "LSTM", "GRU")]
    for ours, theirs in pairs:
        assert params(ours) == params(theirs), ours
    base = [p for p in params(torch.nn.RNNBase) if p[0] != "mode"]
    assert params(R.LSTM) == base
    assert params(R.GRU) == [p for p in base if p[0] != "proj_size"]
    rnn = [p for p in base if p[0] != "proj_size"]
    assert params(R.RNN) == rnn[:3] + [("nonlinearity", "tanh")] + rnn[3:]


# ---------------------------------------------------------------------------------------------
# nn.utils.rnn


@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    trailing=st.lists(st.integers(1, 3), max_size=2),
    batch_first=st.booleans(),
    padding_side=st.sampled_from(["left", "right"]),
    padding_value=st.sampled_from([0.0, -1.0, 2.5]),
    seed=st.integers(0, 2**16),
)
def test_pad_sequence_like_torch(
    lengths: list[int], trailing: list[int], batch_first: bool, padding_side: str, padding_value: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    pairs = [_leaves(rng.standard_normal((n, *trailing))) for n in lengths]
    mo = U.pad_sequence([p[0] for p in pairs], batch_first, padding_value, padding_side)
    to = TR.pad_sequence([p[1] for p in pairs], batch_first, padding_value, padding_side)
    m = mc.nn.Module()
    t = torch.nn.Module()
    _compare(m, t, mo, to, [p[0] for p in pairs], [p[1] for p in pairs])


def test_pack_sequence_unpack_and_unpad_like_torch() -> None:
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((n, 2)) for n in (2, 4, 1)]
    mp = U.pack_sequence([mc.tensor(a) for a in arrays], enforce_sorted=False)
    tp = TR.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=False)
    np.testing.assert_array_equal(mp.data.numpy(), tp.data.numpy())
    assert mp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert mp.sorted_indices.tolist() == tp.sorted_indices.tolist()
    assert mp.unsorted_indices.tolist() == tp.unsorted_indices.tolist()
    for a, b in zip(U.unpack_sequence(mp), arrays):
        np.testing.assert_array_equal(a.numpy(), b)
    padded = U.pad_sequence([mc.tensor(a) for a in arrays], batch_first=True)
    for a, b in zip(U.unpad_sequence(padded, mc.tensor([2, 4, 1]), batch_first=True), arrays):
        np.testing.assert_array_equal(a.numpy(), b)
    with pytest.raises(ValueError, match="must be sorted in decreasing order"):
        U.pack_sequence([mc.tensor(a) for a in arrays])
    assert U.invert_permutation(None) is None
    assert U.invert_permutation(mc.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert isinstance(mp, tuple) and mp.double().data.dtype == np.float64 and not mp.is_cuda


@pytest.mark.parametrize(
    "lengths, total_length",
    [([4, 5, 1], None), ([4, 0, 1], None), ([4, 2], None), ([4, 3, 1], 3)],
)
def test_pack_errors_like_torch(lengths: list[int], total_length: int | None) -> None:
    x = np.zeros((4, 3, 2))
    if total_length is None:
        _raises_like_torch(
            lambda: U.pack_padded_sequence(mc.tensor(x), lengths),
            lambda: TR.pack_padded_sequence(torch.tensor(x), lengths),
        )
        return
    mp, tp = U.pack_padded_sequence(mc.tensor(x), lengths), TR.pack_padded_sequence(torch.tensor(x), lengths)
    _raises_like_torch(
        lambda: U.pad_packed_sequence(mp, total_length=total_length),
        lambda: TR.pad_packed_sequence(tp, total_length=total_length),
    )
    with pytest.raises(ValueError, match="padding_side"):
        U.pad_sequence([mc.zeros(2)], padding_side="mid")


def test_packing_an_empty_batch_is_an_error_like_torch() -> None:
    _raises_like_torch(
        lambda: U.pack_padded_sequence(mc.zeros(3, 0, 2), []),
        lambda: TR.pack_padded_sequence(torch.zeros(3, 0, 2), []),
    )
    with pytest.raises(ValueError, match="Cannot pack empty tensors"):
        U.pack_padded_sequence(mc.zeros(3, 2, 0), [3, 1])


@pytest.mark.parametrize("kind", ["LSTM", "LSTMCell"])
def test_float32_lstm_of_hidden_size_one_like_torch(kind: str) -> None:
    """The o gate of a (N, 4) gate array is a view with a 16-byte step in float32, which NumPy 2.4's in-place
    ``negative`` read as contiguous (the fuzzer's seed 727: outputs off by 0.1)."""
    t = getattr(torch.nn, kind)(2, 1)
    m = getattr(R, kind)(2, 1)
    m.load_state_dict({k: mc.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 2, 2) if kind == "LSTM" else (3, 2)).astype(np.float32)
    m_out, t_out = _flat(m(mc.tensor(x))), _flat(t(torch.tensor(x)))
    for a, b in zip(m_out, t_out):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, hx_shape", [("GRU", (1, 3)), ("RNN", (1, 2, 4)), ("RNN", (2, 3, 4))])
def test_packed_input_with_a_misshapen_hx_is_a_runtime_error_like_torch(kind: str, hx_shape: tuple[int, ...]) -> None:
    """torch's index_select of hx by the sorted order fails with a RuntimeError; minicnn checks the shape first
    (it raised an IndexError from the permutation)."""
    x = np.zeros((2, 3, 3))
    mp = U.pack_padded_sequence(mc.tensor(x, dtype=np.float32), [1, 2, 2], enforce_sorted=False)
    tp = TR.pack_padded_sequence(torch.tensor(x, dtype=torch.float32), [1, 2, 2], enforce_sorted=False)
    m, t = getattr(R, kind)(3, 4), getattr(torch.nn, kind)(3, 4)
    with pytest.raises(RuntimeError):
        t(tp, torch.zeros(hx_shape))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 3, 4\)"):
        m(mp, mc.zeros(hx_shape))


@pytest.mark.parametrize(
    "kind, x_shape, hx_shape", [("GRUCell", (4,), (4, 1)), ("LSTMCell", (3, 4), (4,)), ("RNNCell", (2, 4), (4,))]
)
def test_cell_hx_of_other_dims_than_the_input_raises_like_torch(
    kind: str, x_shape: tuple[int, ...], hx_shape: tuple[int, ...]
) -> None:
    """torch raises a RuntimeError (a size check or its matmul's); minicnn reshaped such an hx and ran."""
    m, t = getattr(R, kind)(4, 4), getattr(torch.nn, kind)(4, 4)
    mh, th = mc.zeros(hx_shape), torch.zeros(hx_shape)
    with pytest.raises(RuntimeError):
        t(torch.zeros(x_shape), (th, th) if kind == "LSTMCell" else th)
    with pytest.raises(RuntimeError, match=f"{kind}: for a {len(x_shape)}D input, hx must be {len(x_shape)}D"):
        m(mc.zeros(x_shape), (mh, mh) if kind == "LSTMCell" else mh)
