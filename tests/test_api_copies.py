"""torch's copy variants of view ops (``mc.permute_copy`` ...), the ``unsafe_`` splits, ``slice_inverse``,
``nonzero_static``, ``max_pool1d_with_indices``, ``typename`` / ``set_warn_always``, and the functional
RNN entry points (``mc.lstm_cell`` ..., ``mc.lstm`` ...), against torch: values, gradients, dtypes,
errors; the copies never share memory with their input."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch
from conftest import TOL, compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc

SETTINGS = settings(max_examples=6, deadline=None)


def _last(shape: tuple[int, ...]) -> int:
    return len(shape) - 1


# name -> the arguments after the tensor, for an input of the given shape (every side >= 1, 2-3 dims)
COPY_ARGS: dict[str, Any] = {
    "alias_copy": lambda s: (),
    "as_strided_copy": lambda s: ((min(2, s[0]), min(2, s[-1])), (s[-1], 1)),
    "diagonal_copy": lambda s: (1, 0, _last(s)),
    "expand_copy": lambda s: ((2, *s),),
    "permute_copy": lambda s: (tuple(reversed(range(len(s)))),),
    "select_copy": lambda s: (_last(s), -1),
    "slice_copy": lambda s: (_last(s), 1, None, 2),
    "squeeze_copy": lambda s: (),
    "transpose_copy": lambda s: (0, -1),
    "unfold_copy": lambda s: (_last(s), min(2, s[-1]), 1),
    "unsqueeze_copy": lambda s: (1,),
    "view_copy": lambda s: ((-1,),),
    "split_copy": lambda s: (2, -1),
    "split_with_sizes_copy": lambda s: ([1, s[-1] - 1], -1),
    "unbind_copy": lambda s: (_last(s),),
    "unsafe_chunk": lambda s: (2, 0),
    "unsafe_split": lambda s: (1, 0),
    "unsafe_split_with_sizes": lambda s: ([s[0] - 1, 1], 0),
}


def _flat(out: Any, cat: Any) -> Any:
    """A tuple of pieces joined into one 1-d tensor (compare_with_torch takes one output)."""
    return cat([p.reshape(-1) for p in out]) if isinstance(out, tuple) else out


@pytest.mark.parametrize("name", sorted(COPY_ARGS))
@SETTINGS
@given(shape=array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4), seed=st.integers(0, 2**16))
def test_copy_variants_match_torch_and_own_their_memory(name: str, shape: tuple[int, ...], seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(shape)
    args = COPY_ARGS[name](shape)
    compare_with_torch(
        lambda t: _flat(getattr(mc, name)(t, *args), mc.cat),
        lambda t: _flat(getattr(torch, name)(t, *args), torch.cat),
        [x],
    )
    xm = mc.tensor(x, requires_grad=True)
    out = getattr(mc, name)(xm, *args)
    theirs = getattr(torch, name)(torch.tensor(x), *args)
    assert isinstance(out, tuple) == isinstance(theirs, tuple)
    for piece, ref in zip(
        out if isinstance(out, tuple) else (out,), theirs if isinstance(theirs, tuple) else (theirs,)
    ):
        assert tuple(piece.shape) == tuple(ref.shape)
        assert not np.shares_memory(piece.array, xm.array) and piece.is_contiguous()
        assert piece.requires_grad


@pytest.mark.parametrize("device", devices())
def test_copy_variants_on_device_and_t_copy(device: str) -> None:
    x = np.random.default_rng(0).standard_normal((3, 2))
    compare_with_torch(mc.t_copy, torch.t_copy, [x], device=device)
    compare_with_torch(
        lambda t: mc.squeeze_copy(t, (1,)), lambda t: torch.squeeze_copy(t, (1,)), [x[:, :1]], device=device
    )
    xm = mc.tensor(x, requires_grad=True, device=device)
    out = mc.detach_copy(xm)
    assert not out.requires_grad and not np.shares_memory(out.numpy(), xm.numpy())
    np.testing.assert_array_equal(out.numpy(), torch.detach_copy(torch.tensor(x)).numpy())


@pytest.mark.parametrize(
    "name, shape, args",
    [
        ("alias_copy", (), ()),
        ("squeeze_copy", (), ()),
        ("unsqueeze_copy", (), (0,)),
        ("view_copy", (0, 3), ((3, 0),)),
        ("slice_copy", (0, 2), (0, 1, 5)),
        ("expand_copy", (1,), ((0,),)),
        ("split_copy", (0,), (2,)),
        ("unbind_copy", (0, 2), (1,)),
        ("t_copy", (2,), ()),
    ],
)
def test_copy_variants_on_empty_and_0d_inputs(name: str, shape: tuple[int, ...], args: tuple[Any, ...]) -> None:
    x = np.arange(float(np.prod(shape))).reshape(shape)
    ours, theirs = getattr(mc, name)(mc.tensor(x), *args), getattr(torch, name)(torch.tensor(x), *args)
    for a, b in zip(ours if isinstance(ours, tuple) else (ours,), theirs if isinstance(theirs, tuple) else (theirs,)):
        assert tuple(a.shape) == tuple(b.shape) and a.dtype == np.float64
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda m, x: m.slice_copy(x, 0, 0, 2, 0), RuntimeError),
        (lambda m, x: m.slice_copy(x.sum(), 0), IndexError),
        (lambda m, x: m.split_copy(x, [1, 2]), TypeError),
        (lambda m, x: m.unsafe_split(x, [1, 2]), TypeError),
        (lambda m, x: m.t_copy(x.reshape(1, 3, 1)), RuntimeError),
        (lambda m, x: m.select_copy(x, 0, 3), IndexError),
        (lambda m, x: m.nonzero_static(x, size=-1), RuntimeError),
    ],
)
def test_errors_match_torch(call: Any, error: type) -> None:
    with pytest.raises(error):
        call(torch, torch.arange(3.0))
    with pytest.raises(error):
        call(mc, mc.arange(3.0))


def test_gradcheck_of_a_copy() -> None:
    x = mc.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert mc.gradcheck(lambda t: mc.unfold_copy(mc.permute_copy(t, (1, 0)), 0, 2, 1), (x,))


def test_slice_inverse_rebuilds_the_base_like_torch() -> None:
    base = np.random.default_rng(2).standard_normal((3, 6))
    tb = torch.tensor(base, requires_grad=True)
    piece = tb[:, 1:5:2]
    theirs = torch.slice_inverse(piece, tb, 1, 1, 5, 2)
    mb = mc.tensor(base, requires_grad=True)
    ours = mc.slice_inverse(mb[:, 1:5:2], mb, 1, 1, 5, 2)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    g = np.random.default_rng(3).standard_normal(base.shape)
    (theirs * torch.tensor(g)).sum().backward()
    (ours * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(mb.grad.numpy(), tb.grad.numpy(), **TOL[np.float64])
    assert not np.shares_memory(ours.array, mb.array)


@SETTINGS
@given(
    shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    size=st.integers(0, 6),
    fill=st.integers(-3, 3),
    seed=st.integers(0, 2**16),
)
def test_nonzero_static_matches_torch(shape: tuple[int, ...], size: int, fill: int, seed: int) -> None:
    x = np.random.default_rng(seed).integers(0, 2, shape)
    ours = mc.nonzero_static(mc.tensor(x), size=size, fill_value=fill)
    theirs = torch.nonzero_static(torch.tensor(x), size=size, fill_value=fill)
    assert ours.dtype == np.int64 and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    method = mc.tensor(x).nonzero_static(size=size)
    np.testing.assert_array_equal(method.numpy(), torch.tensor(x).nonzero_static(size=size).numpy())


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("stride, padding, dilation, ceil_mode", [((), 0, 1, False), (2, 1, 2, True)])
def test_max_pool1d_with_indices_matches_torch(device: str, stride: Any, padding: int, dilation: int, ceil_mode: bool):
    x = np.random.default_rng(4).standard_normal((2, 3, 9))
    args = (3, stride, padding, dilation, ceil_mode)
    for k in (0, 1):
        compare_with_torch(
            lambda t, k=k: mc.max_pool1d_with_indices(t, *args)[k],
            lambda t, k=k: torch.max_pool1d_with_indices(t, *args)[k],
            [x],
            device=device,
        )


def test_typename_and_warn_always_flag() -> None:
    assert mc.typename(mc.zeros(2)) == torch.typename(torch.zeros(2)) == "torch.FloatTensor"
    assert mc.typename(mc.tensor([1, 2])) == torch.typename(torch.tensor([1, 2])) == "torch.LongTensor"
    for obj in (3, [1], "s", int, np.float32):
        assert mc.typename(obj) == torch.typename(obj)
    assert mc.typename(mc.nn.Linear) == "minicnn.nn.linear.Linear"
    assert not mc.is_warn_always_enabled()
    try:
        mc.set_warn_always(True)
        assert mc.is_warn_always_enabled()
    finally:
        mc.set_warn_always(False)
    with pytest.raises(RuntimeError):
        torch.set_warn_always(1)
    with pytest.raises(RuntimeError):
        mc.set_warn_always(1)


# -- functional RNNs ---------------------------------------------------------------------------------
CELLS = {"lstm_cell": 4, "gru_cell": 3, "rnn_tanh_cell": 1, "rnn_relu_cell": 1}


def _cell_arrays(gates: int, bias: bool, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    n, i, h = 3, 4, 5
    arrays = [rng.standard_normal((n, i)), rng.standard_normal((n, h)), rng.standard_normal((n, h))]
    arrays += [rng.standard_normal((gates * h, i)) * 0.5, rng.standard_normal((gates * h, h)) * 0.5]
    return arrays + ([rng.standard_normal(gates * h), rng.standard_normal(gates * h)] if bias else [])


def _cell_call(lib: Any, name: str) -> Any:
    def call(x: Any, h: Any, c: Any, *weights: Any) -> Any:
        if name == "lstm_cell":
            return lib.cat([p.reshape(-1) for p in lib.lstm_cell(x, (h, c), *weights)])
        return getattr(lib, name)(x, h, *weights) + 0 * c.sum()

    return call


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_cells_match_torch(device: str, name: str, bias: bool) -> None:
    arrays = _cell_arrays(CELLS[name], bias, seed=len(name))
    compare_with_torch(_cell_call(mc, name), _cell_call(torch, name), arrays, device=device)
    compare_with_torch(_cell_call(mc, name), _cell_call(torch, name), arrays, dtype=np.float32, device=device)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_rnn_cells_gradcheck(name: str) -> None:
    inputs = tuple(mc.tensor(a, requires_grad=True) for a in _cell_arrays(CELLS[name], True, seed=7))
    assert mc.gradcheck(_cell_call(mc, name), inputs)


def test_lstm_cell_returns_a_pair_and_gru_cell_with_one_bias() -> None:
    x, h, c, w_ih, w_hh, b_ih, _ = _cell_arrays(4, True, seed=8)
    out = mc.lstm_cell(mc.tensor(x), [mc.tensor(h), mc.tensor(c)], mc.tensor(w_ih), mc.tensor(w_hh))
    assert isinstance(out, tuple) and len(out) == 2
    x, h, _, w_ih, w_hh, b_ih, _ = _cell_arrays(3, True, seed=9)
    ours = mc.gru_cell(mc.tensor(x), mc.tensor(h), mc.tensor(w_ih), mc.tensor(w_hh), mc.tensor(b_ih), None)
    theirs = torch.gru_cell(*map(torch.tensor, (x, h, w_ih, w_hh, b_ih)), None)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **TOL[np.float64])


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda m, a: m.lstm_cell(a["x"], (a["h"],), a["w4"], a["wh4"]), RuntimeError),
        (lambda m, a: m.lstm_cell(a["x"][0], (a["h"][0], a["h"][0]), a["w4"], a["wh4"]), IndexError),
        (lambda m, a: m.gru_cell(a["x"][:, :2], a["h"], a["w3"], a["wh3"]), RuntimeError),
        (lambda m, a: m.gru_cell(a["x"], a["h"][:2], a["w3"], a["wh3"]), RuntimeError),
        (lambda m, a: m.gru_cell(a["x"], a["h"], a["w4"], a["wh4"]), RuntimeError),
        (lambda m, a: m.rnn_tanh_cell(a["x"], a["h"][:, :2], a["w3"][:5], a["wh3"][:5]), RuntimeError),
    ],
)
def test_rnn_cell_errors_match_torch(call: Any, error: type) -> None:
    rng = np.random.default_rng(5)
    arrays = {"x": (3, 4), "h": (3, 5), "w4": (20, 4), "wh4": (20, 5), "w3": (15, 4), "wh3": (15, 5)}
    arrays = {k: rng.standard_normal(s) for k, s in arrays.items()}
    with pytest.raises(error):
        call(torch, {k: torch.tensor(v) for k, v in arrays.items()})
    with pytest.raises(error):
        call(mc, {k: mc.tensor(v) for k, v in arrays.items()})


def _torch_layer(mode: str, batch_first: bool) -> torch.nn.Module:
    kw = dict(num_layers=2, bidirectional=True, batch_first=batch_first, dtype=torch.float64)
    if mode.startswith("rnn_"):
        return torch.nn.RNN(3, 4, nonlinearity=mode.removeprefix("rnn_"), **kw)
    return {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[mode](3, 4, **kw)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn_sequence_functions_match_torch(mode: str, batch_first: bool) -> None:
    torch.manual_seed(0)
    layer = _torch_layer(mode, batch_first)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    states = [rng.standard_normal((4, 2, 4)) for _ in range(2 if mode == "lstm" else 1)]
    weights = [w.detach().numpy() for w in layer._flat_weights]

    def run(lib: Any) -> tuple[Any, list[Any]]:
        params = [lib.tensor(w, requires_grad=True) for w in weights]
        hs = [lib.tensor(s, requires_grad=True) for s in states]
        hx = tuple(hs) if mode == "lstm" else hs[0]
        out = getattr(lib, mode)(lib.tensor(x), hx, params, True, 2, 0.0, False, True, batch_first)
        sum((o * lib.tensor(np.cos(np.arange(o.numel()))).reshape(o.shape)).sum() for o in out).backward()
        return out, params + hs

    ours, our_leaves = run(mc)
    theirs, their_leaves = run(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[np.float64])
    for a, b in zip(our_leaves, their_leaves):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL[np.float64])


def test_packed_gru_and_projected_lstm_match_torch() -> None:
    torch.manual_seed(1)
    gru = torch.nn.GRU(3, 4, dtype=torch.float64)
    x = torch.randn(4, 3, 3, dtype=torch.float64)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, [4, 2, 1])
    h0 = torch.randn(1, 3, 4, dtype=torch.float64)
    theirs = torch.gru(packed.data, packed.batch_sizes, h0, gru._flat_weights, True, 1, 0.0, False, False)
    weights = [mc.tensor(w.detach().numpy()) for w in gru._flat_weights]
    ours = mc.gru(mc.tensor(packed.data.numpy()), mc.tensor(packed.batch_sizes.numpy()), mc.tensor(h0.numpy()),
                  weights, True, 1, 0.0, False, False)  # fmt: skip
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[np.float64])
    lstm = torch.nn.LSTM(3, 4, proj_size=2, bias=False, dtype=torch.float64)
    hx = (torch.randn(1, 3, 2, dtype=torch.float64), torch.randn(1, 3, 4, dtype=torch.float64))
    theirs = torch.lstm(x, hx, lstm._flat_weights, False, 1, 0.0, False, False, False)
    weights = [mc.tensor(w.detach().numpy()) for w in lstm._flat_weights]
    ours = mc.lstm(
        mc.tensor(x.numpy()), tuple(mc.tensor(h.numpy()) for h in hx), weights, False, 1, 0.0, False, False, False
    )
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[np.float64])


def test_rnn_sequence_errors_match_torch() -> None:
    gru, lstm = torch.nn.GRU(3, 4), torch.nn.LSTM(3, 4)
    x, h0 = torch.randn(5, 2, 3), torch.zeros(1, 2, 4)
    for lib, conv in ((torch, lambda t: t), (mc, lambda t: mc.tensor(t.detach().numpy()))):
        params = [conv(w) for w in gru._flat_weights]
        with pytest.raises(RuntimeError):  # a missing parameter
            lib.gru(conv(x), conv(h0), params[:3], True, 1, 0.0, False, False, False)
        params = [conv(w) for w in lstm._flat_weights]
        with pytest.raises(IndexError):  # an unbatched input (nn.LSTM adds the batch dim, not torch.lstm)
            lib.lstm(conv(x[:, 0]), (conv(h0[:, 0]), conv(h0[:, 0])), params, True, 1, 0.0, False, False, False)


def test_rnn_sequence_gradcheck() -> None:
    rng = np.random.default_rng(10)
    x, h0 = rng.standard_normal((3, 2, 2)), rng.standard_normal((2, 2, 3))
    weights = [rng.standard_normal(s) * 0.5 for s in ((9, 2), (9, 3), (9,), (9,))] * 2
    inputs = tuple(mc.tensor(a, requires_grad=True) for a in (x, h0, *weights))
    assert mc.gradcheck(lambda x, h, *w: mc.gru(x, h, list(w), True, 1, 0.0, False, True, False)[0], inputs)


# -- Tensor.view(dtype) / view_copy(input, dtype): the bits read as another dtype --------------------------
VIEW_DTYPES = ["float32", "float64", "float16", "int8", "uint8", "int16", "int32", "int64", "bool"]


@pytest.mark.parametrize("src", ["float32", "float64", "int8", "int16", "float16"])
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), which=st.sampled_from(VIEW_DTYPES))
@settings(max_examples=12, deadline=None)
def test_view_dtype_matches_torch(src: str, shape: tuple[int, ...], which: str) -> None:
    x = (np.arange(int(np.prod(shape))) % 7).reshape(shape).astype(src)  # 0..6: every bit pattern a valid bool
    t = torch.empty(shape, dtype=getattr(torch, src)).copy_(torch.from_numpy(x))  # torch's strides, also when empty
    try:
        expected = t.view(getattr(torch, which))
    except RuntimeError as e:
        with pytest.raises(RuntimeError, match=str(e).split(" to view")[0].replace("(", r"\(").replace(")", r"\)")):
            mc.tensor(x).view(getattr(mc, which))
        with pytest.raises(RuntimeError):
            mc.view_copy(mc.tensor(x), getattr(mc, which))
        return
    ours = mc.tensor(x).view(getattr(mc, which))
    assert tuple(ours.shape) == tuple(expected.shape) and ours.dtype == np.dtype(which)
    np.testing.assert_array_equal(ours.numpy(), expected.numpy())
    copied = mc.view_copy(mc.tensor(x), dtype=getattr(mc, which))
    np.testing.assert_array_equal(copied.numpy(), torch.view_copy(t, dtype=getattr(torch, which)).numpy())


@pytest.mark.parametrize("shape", [(1, 0), (1, 0, 0), (1, 1, 0)])
def test_view_dtype_of_empty_checks_size_one_strides_as_torch(shape: tuple[int, ...]) -> None:
    """Empty: torch's strides of the size-1 dims are 1, not a multiple of the element-size ratio."""
    with pytest.raises(RuntimeError) as e:
        torch.zeros(shape, dtype=torch.int8).view(torch.float32)
    with pytest.raises(RuntimeError, match=re.escape(str(e.value).split(" to view")[0])):
        mc.zeros(shape, dtype=mc.int8).view(mc.float32)


@pytest.mark.parametrize(
    "cut",
    [
        lambda z: z[:, 1:5],  # storage offset 1
        lambda z: z[:, ::2][:, :2],  # stride(-1) 2
        lambda z: z[:, :3].t(),
        lambda z: z[:, 2:6],  # fits: offset 2, strides (8, 1)
        lambda z: z.reshape(4, 4)[:, :3],  # size(-1) 3
    ],
)
def test_view_dtype_on_strided_views_matches_torch(cut: Any) -> None:
    x = np.arange(16, dtype=np.int8).reshape(2, 8)
    ours, theirs = cut(mc.tensor(x)), cut(torch.tensor(x))
    try:
        expected = theirs.view(torch.int16)
    except RuntimeError as e:
        with pytest.raises(RuntimeError, match=str(e).split(" to view")[0].replace("(", r"\(").replace(")", r"\)")):
            ours.view(mc.int16)
        return
    got = ours.view(mc.int16)
    assert tuple(got.shape) == tuple(expected.shape) and got.stride() == expected.stride()
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("device", devices())
def test_view_dtype_shares_memory_and_version_and_is_outside_autograd(device: str) -> None:
    x = mc.zeros(4, device=device)
    y = x.view(mc.int32)
    y += 1  # 1 as an int32 is float32's smallest subnormal, as in torch
    np.testing.assert_array_equal(x.numpy(), torch.zeros(4).view(torch.int32).add_(1).view(torch.float32).numpy())
    assert x._version == y._version == 1
    x.add_(1.0)
    assert y._version == 2 and int(y.numpy()[0]) == int(torch.tensor([1.0]).view(torch.int32)[0])
    a = mc.randn(3, requires_grad=True, device=device)
    for dt in (mc.float32, mc.int32, mc.float16):  # torch: view(dtype) is not differentiable, even to its own dtype
        assert not a.view(dt).requires_grad and a.view(dt).grad_fn is None
        assert not (a * 2).view(dt).requires_grad
    assert mc.view_copy(a, mc.float32).array is not a.array
    with pytest.raises(TypeError):
        mc.ones(2, 3).view(mc.float16, 3)
