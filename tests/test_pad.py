"""Reflect, replicate and circular padding (``F.pad`` modes, kernels/pad.py), the padding
layers of every mode and dimension, and Conv1d/Conv2d ``padding_mode``, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F
from minicnn.kernels.pad import axis_plan, pad_axis, pad_axis_backward, pad_reference

SETTINGS = settings(max_examples=30, deadline=None)
MODES = ("reflect", "replicate", "circular")
FLOATS = st.sampled_from([np.float32, np.float64])


def _valid(mode: str, n: int, before: int, after: int) -> bool:
    """torch's limits (and the cases where torch's circular result is defined)."""
    if mode == "reflect":
        return max(before, after) < n and n + before + after >= 1
    if mode == "replicate":
        return n + before + after >= 1
    left = n - max(-before, 0) - max(-after, 0)
    return left >= 0 and max(before, after) <= left


@st.composite
def pad_cases(draw, mode=None):
    """(mode, shape, pad): k = 1..3 padded dims of an unbatched (k+1)-d or batched (k+2)-d
    input, widths drawn around the sizes (crops included) and kept where torch allows them."""
    mode = draw(st.sampled_from(MODES)) if mode is None else mode
    k = draw(st.integers(1, 3))
    batch = draw(st.sampled_from([(), (0,), (1,), (2,)]))
    shape = (*batch, draw(st.integers(1, 3)), *(draw(st.integers(1, 5)) for _ in range(k)))
    pad: list[int] = []
    for n in reversed(shape[-k:]):
        before, after = draw(st.integers(-n, n + 2)), draw(st.integers(-n, n + 2))
        assume(_valid(mode, n, before, after))
        pad += [before, after]
    return mode, shape, tuple(pad)


@SETTINGS
@given(case=pad_cases(), dtype=FLOATS, seed=st.integers(0, 2**16))
@pytest.mark.parametrize("device", devices())
def test_pad_modes_match_torch(device, case, dtype, seed):
    mode, shape, pad = case
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(
        lambda a: F.pad(a, pad, mode=mode),
        lambda a: TF.pad(a, pad, mode=mode),
        [x],
        dtype=dtype,
        device=device,
        seed=seed,
    )


@SETTINGS
@given(case=pad_cases(), seed=st.integers(0, 2**16))
def test_the_gather_kernel_matches_the_reference(case, seed):
    """kernels/pad.py's gather, axis by axis, against the position-by-position reference."""
    mode, shape, pad = case
    x = np.random.default_rng(seed).standard_normal(shape)
    k = len(pad) // 2
    widths = [(0, 0)] * (len(shape) - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    y = x
    for axis, (before, after) in enumerate(widths):
        y = pad_axis(y, axis_plan(shape[axis], before, after, mode), axis)
    np.testing.assert_array_equal(y, pad_reference(x, widths, mode))


@SETTINGS
@given(
    mode=st.sampled_from(MODES),
    n=st.integers(1, 6),
    before=st.integers(-6, 7),
    after=st.integers(-6, 7),
    seed=st.integers(0, 2**16),
)
def test_the_backward_adds_each_gradient_to_the_position_it_was_read_from(mode, n, before, after, seed):
    """pad_axis_backward against the obvious scatter-add (np.add.at) of the plan's index."""
    assume(_valid(mode, n, before, after))
    plan = axis_plan(n, before, after, mode)
    g = np.random.default_rng(seed).standard_normal((3, plan.index.size, 2))
    expected = np.zeros((3, n, 2))
    np.add.at(expected, (slice(None), plan.index), g)
    np.testing.assert_allclose(pad_axis_backward(g, plan, 1), expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_pad_gradcheck(mode):
    rng = np.random.default_rng(3)
    for shape, pad in (((2, 5), (2, -1)), ((2, 3, 4, 5), (-1, 2, 3, 1)), ((1, 3, 4, 5), (1, 1, -1, 0, 2, 1))):
        if mode == "reflect" and pad == (1, 1, -1, 0, 2, 1):
            pad = (1, 1, -1, 0, 1, 1)
        x = mc.tensor(rng.standard_normal(shape), requires_grad=True)
        assert mc.gradcheck(lambda a, p=pad: F.pad(a, p, mode=mode), [x])


def test_replicate_sums_the_repeated_reads():
    x = mc.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    F.pad(x, (2, 3), mode="replicate").sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 1.0, 4.0]])


def test_pad_mode_errors_name_the_limit():
    x = mc.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="reflect widths must be smaller than the size 4"):
        F.pad(x, (4, 0), mode="reflect")
    with pytest.raises(ValueError, match="wraps around more than once"):
        F.pad(x, (-1, 4), mode="circular")
    with pytest.raises(ValueError, match="output size 0 must be at least 1"):
        F.pad(x, (-2, -2), mode="replicate")
    with pytest.raises(NotImplementedError, match=r"last 1 dim\(s\) takes a 2-d or 3-d input"):
        F.pad(mc.zeros(1, 2, 3, 4), (1, 1), mode="reflect")
    with pytest.raises(NotImplementedError, match="takes a 2-d or 3-d input"):
        F.pad(mc.zeros(4), (1, 1), mode="replicate")
    with pytest.raises(ValueError, match="nonzero sizes"):
        F.pad(mc.zeros(2, 0, 4), (1, 1), mode="reflect")
    with pytest.raises(ValueError, match="doesn't take in value"):
        F.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(NotImplementedError, match="'symmetric'"):
        F.pad(x, (1, 1), mode="symmetric")
    for t_args in (((4, 0), "reflect"), ((1, 1), "reflect")):  # torch refuses these too
        with pytest.raises((RuntimeError, NotImplementedError)):
            TF.pad(torch.zeros(2, 3, 4) if t_args[0] == (4, 0) else torch.zeros(1, 2, 3, 4), *t_args)


def test_circular_and_zero_batch_sizes_as_torch():
    for shape, pad, mode in (
        ((0, 3, 5), (1, 1), "reflect"),
        ((2, 0, 5), (1, 2), "circular"),
        ((3, 0), (0, 0), "circular"),
    ):
        ours = F.pad(mc.zeros(shape), pad, mode=mode)
        assert ours.shape == tuple(TF.pad(torch.zeros(shape), pad, mode=mode).shape)


# -- the layers ----------------------------------------------------------------------------------
LAYERS = [
    (f"{kind}Pad{k}d", k, extra)
    for k in (1, 2, 3)
    for kind, extra in (("Reflection", ()), ("Replication", ()), ("Circular", ()), ("Zero", ()), ("Constant", (1.5,)))
]


@pytest.mark.parametrize(("name", "k", "extra"), LAYERS)
def test_padding_layers_match_torch(name, k, extra):
    rng = np.random.default_rng(k)
    for padding in (1, tuple(int(v) for v in rng.integers(-1, 3, 2 * k))):
        m, t = getattr(nn, name)(padding, *extra), getattr(tnn, name)(padding, *extra)
        assert repr(m) == repr(t)
        assert m.padding == t.padding and type(m.padding) is type(t.padding)
        assert m.state_dict() == {}
        for batch in ((), (2,)):
            x = rng.standard_normal((*batch, 2, *(4,) * k))
            compare_with_torch(m, t, [x])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_circular_layers_check_the_input_dims(k):
    layer = getattr(nn, f"CircularPad{k}d")(1)
    with pytest.raises(ValueError, match=f"expected {k + 1}D or {k + 2}D input \\(got {k + 3}D input\\)"):
        layer(mc.zeros(*(2,) * (k + 3)))
    with pytest.raises(ValueError, match=f"expected {k + 1}D or {k + 2}D input"):
        getattr(tnn, f"CircularPad{k}d")(1)(torch.zeros(*(2,) * (k + 3)))


@pytest.mark.parametrize("device", devices())
def test_padding_layers_on_device(device):
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 6)).astype(np.float32)
    for name in ("ReflectionPad2d", "ReplicationPad2d", "CircularPad2d"):
        for padding in ((1, 2, 3, 0), (2, -1, 1, 1)):
            compare_with_torch(
                getattr(nn, name)(padding), getattr(tnn, name)(padding), [x], dtype=np.float32, device=device
            )


# -- convolution padding_mode --------------------------------------------------------------------
@SETTINGS
@given(
    mode=st.sampled_from(("zeros", *MODES)),
    dims=st.sampled_from([1, 2]),
    kernel=st.integers(1, 3),
    padding=st.sampled_from([0, 1, 2, "same", "valid"]),
    dilation=st.integers(1, 2),
    stride=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
    bias=st.booleans(),
    dtype=FLOATS,
    seed=st.integers(0, 2**16),
)
@pytest.mark.parametrize("device", devices())
def test_conv_padding_mode_matches_torch(
    device, mode, dims, kernel, padding, dilation, stride, groups, bias, dtype, seed
):
    if padding == "same":
        stride = 1
    size = 6
    if mode == "reflect" and not isinstance(padding, str):
        padding = min(padding, size - 1)
    cls = ("Conv1d", "Conv2d")[dims - 1]
    kw = dict(padding=padding, dilation=dilation, stride=stride, groups=groups, bias=bias, padding_mode=mode)
    t = getattr(tnn, cls)(2, 4, kernel, **kw).to(getattr(torch, np.dtype(dtype).name))
    m = getattr(nn, cls)(2, 4, kernel, **kw, dtype=dtype, device=device)
    assert repr(m) == repr(t)
    assert tuple(m._reversed_padding_repeated_twice) == tuple(t._reversed_padding_repeated_twice)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.tensor(rng.standard_normal(p.shape)))
    for p, q in zip(m.parameters(), t.parameters()):
        p.data[...] = mc.tensor(q.detach().numpy(), device=device).data
    x = rng.standard_normal((2, 2, *(size,) * dims)).astype(dtype)
    g = rng.standard_normal(t(torch.tensor(x)).shape).astype(dtype)
    mx, tx = mc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    my, ty = m(mx), t(tx)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), **tol, err_msg="forward")
    (my * mc.tensor(g, device=device)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    for name, ours, theirs in [("input", mx, tx), *zip(("weight", "bias"), m.parameters(), t.parameters())]:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **tol, err_msg=f"gradient of {name}")


def test_conv_padding_mode_gradcheck():
    rng = np.random.default_rng(5)
    for mode in MODES:
        conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode, dtype=np.float64)
        x = mc.tensor(rng.standard_normal((1, 2, 4, 5)), requires_grad=True)
        assert mc.gradcheck(conv, [x])
        conv1 = nn.Conv1d(2, 3, 3, padding="same", dilation=2, padding_mode=mode, dtype=np.float64)
        assert mc.gradcheck(conv1, [mc.tensor(rng.standard_normal((1, 2, 6)), requires_grad=True)])


def test_conv_padding_mode_is_checked_as_torch():
    for cls in (nn.Conv2d, nn.Conv1d):
        with pytest.raises(ValueError, match="padding_mode must be one of .* but got padding_mode='mirror'"):
            cls(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        tnn.Conv2d(1, 1, 3, padding_mode="mirror")


def test_api_md_positional_value():
    """API.md lists ``pad(x, pad, value=0)``: a number in mode's place is the constant."""
    x = np.random.default_rng(13).standard_normal((2, 3))
    expected = TF.pad(torch.tensor(x), (1, 2), value=1.5).numpy()
    np.testing.assert_array_equal(F.pad(mc.tensor(x), (1, 2), 1.5).numpy(), expected)
    np.testing.assert_array_equal(F.pad(mc.tensor(x), (1, 2), value=1.5).numpy(), expected)
    with pytest.raises(TypeError):
        TF.pad(torch.tensor(x), (1, 2), 1.5)  # torch refuses the number: no torch call changes meaning


def test_pad_arguments_as_torch():
    """Widths must be ints; an integer tensor's fill value is truncated and must fit; an empty
    pad returns a copy (0-d inputs included)."""
    for bad in ((1.5, 1), (True, 1)):
        with pytest.raises(TypeError):
            F.pad(mc.ones(2), bad)
        with pytest.raises(TypeError):
            TF.pad(torch.ones(2), bad)
    for value in (1.5, 2, -1, 300):
        try:
            expected = TF.pad(torch.ones(1, 2, dtype=torch.uint8), (1, 1), value=value).numpy()
        except RuntimeError:
            with pytest.raises(RuntimeError, match="without overflow"):
                F.pad(mc.ones(1, 2, dtype=mc.uint8), (1, 1), value=value)
            continue
        np.testing.assert_array_equal(F.pad(mc.ones(1, 2, dtype=mc.uint8), (1, 1), value=value).numpy(), expected)
    x = mc.tensor(3.0)
    y = F.pad(x, ())
    assert y.shape == () and float(y) == 3.0 and y is not x
