"""The 3-d layers against torch: conv3d, conv_transpose3d, max/avg/adaptive pools 3d, BatchNorm3d and
InstanceNorm3d (forward, gradients, indices, running statistics, modules, errors, devices)."""

from __future__ import annotations

import contextlib
import math
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import TOL, compare_with_torch, devices, rand
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.kernels.vol2col as V
from minicnn.kernels.conv import get_im2col_budget, set_im2col_budget
from minicnn.kernels.vol2col import col2vol, vol2col
from minicnn.nn.conv3d import (
    AdaptiveAvgPool3d,
    AdaptiveMaxPool3d,
    AvgPool3d,
    BatchNorm3d,
    Conv3d,
    ConvTranspose3d,
    InstanceNorm3d,
    MaxPool3d,
)
from minicnn.ops.conv3d import (
    adaptive_avg_pool3d,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool3d,
    conv3d,
    conv_transpose3d,
    max_pool3d,
    max_pool3d_with_indices,
)

FAST = settings(max_examples=25, deadline=None)
MC = types.SimpleNamespace(
    conv3d=conv3d,
    conv_transpose3d=conv_transpose3d,
    max_pool3d=max_pool3d,
    avg_pool3d=avg_pool3d,
    adaptive_avg_pool3d=adaptive_avg_pool3d,
    adaptive_max_pool3d=adaptive_max_pool3d,
)
LOOSE32 = dict(rtol=1e-4, atol=1e-4)  # float32 sums of up to a few hundred products


def tol(dtype) -> dict:
    return LOOSE32 if dtype == np.float32 else {}


def as_given(v: tuple, as_int: bool):
    """A triple, or its int form when all three agree and ``as_int``."""
    return v[0] if as_int and len(set(v)) == 1 else v


def distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Values without ties (a shuffled grid), so that every window has one maximum."""
    size = math.prod(shape)
    return (rng.permutation(size).reshape(shape) - size / 2) / size * 4


def input_array(rng: np.random.Generator, shape: tuple, ties: bool) -> np.ndarray:
    return rng.integers(-2, 3, size=shape).astype(np.float64) if ties else distinct(rng, shape)


def same_error(mc_call, torch_call) -> None:
    """torch raises; minicnn raises an exception of the same type (or a subclass of it)."""
    with pytest.raises(Exception) as torch_err:
        torch_call()
    with pytest.raises(type(torch_err.value)):
        mc_call()


# -- vol2col -------------------------------------------------------------------------------------


@FAST
@given(
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2)),
    st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 2)),
    st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(0, 2)),
    st.tuples(st.integers(1, 2), st.integers(1, 1), st.integers(1, 2)),
)
def test_col2vol_is_the_adjoint_of_vol2col(k, s, p, d):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5, 4))
    assume(all(n + 2 * pp >= dd * (kk - 1) + 1 for n, kk, pp, dd in zip(x.shape[2:], k, p, d)))
    cols = vol2col(x, k, s, p, d)
    c = rng.standard_normal(cols.shape)
    # <vol2col(x), c> == <x, col2vol(c)>, and the column layout row c*K + (i*kh + j)*kw + l:
    np.testing.assert_allclose((cols * c).sum(), (x * col2vol(c, x.shape, k, s, p, d)).sum(), rtol=1e-12)
    i, j, l = k[0] - 1, k[1] - 1, k[2] - 1
    xpad = np.pad(x, [(0, 0), (0, 0)] + [(pp, pp) for pp in p])
    row = 2 * math.prod(k) + (i * k[1] + j) * k[2] + l  # channel 2, the last kernel offset
    first = tuple(t * dd for t, dd in zip((i, j, l), d))
    out = [(n + 2 * pp - dd * (kk - 1) - 1) // ss + 1 for n, kk, pp, dd, ss in zip(x.shape[2:], k, p, d, s)]
    window = xpad[1, 2, first[0] :: s[0], first[1] :: s[1], first[2] :: s[2]][: out[0], : out[1], : out[2]]
    np.testing.assert_array_equal(cols[1, row], window.reshape(-1))


# -- conv3d --------------------------------------------------------------------------------------


@st.composite
def conv3d_cases(draw):
    groups = draw(st.integers(1, 2))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    kind = draw(st.sampled_from(["int", "triple", "same", "valid"]))
    s = (1, 1, 1) if kind == "same" else tuple(draw(st.integers(1, 2)) for _ in range(3))
    p = tuple(draw(st.integers(0, 2)) for _ in range(3)) if kind in ("int", "triple") else (0, 0, 0)
    if kind == "int":
        p = (p[0],) * 3
    pad = {"int": p[0], "triple": p, "same": "same", "valid": "valid"}[kind]
    total = [dd * (kk - 1) if kind == "same" else 2 * pp for kk, dd, pp in zip(k, d, p)]
    sizes = tuple(draw(st.integers(max(1, dd * (kk - 1) + 1 - t), 5)) for kk, dd, t in zip(k, d, total))
    as_int = draw(st.booleans())
    settings_ = dict(stride=as_given(s, as_int), padding=pad, dilation=as_given(d, as_int), groups=groups)
    return (draw(st.integers(1, 2)), cin, *sizes), (cout, cin // groups, *k), draw(st.booleans()), settings_


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels
@FAST
@given(conv3d_cases(), st.sampled_from([np.float32, np.float64]))
def test_conv3d_matches_torch(case, dtype):
    x_shape, w_shape, bias, kw = case
    rng = np.random.default_rng(1)
    arrays = [rand(rng, x_shape), rand(rng, w_shape)] + ([rand(rng, w_shape[:1])] if bias else [])
    compare_with_torch(lambda *t: conv3d(*t, **kw), lambda *t: TF.conv3d(*t, **kw), arrays, dtype=dtype, **tol(dtype))


def test_conv3d_unbatched_keywords_pointwise_empty_batch_and_chunks():
    rng = np.random.default_rng(2)
    w, b = rand(rng, (4, 3, 2, 1, 3)), rand(rng, (4,))
    kw = dict(stride=(2, 1, 1), padding=(1, 0, 2), dilation=(1, 1, 2))
    compare_with_torch(  # unbatched (C, D, H, W), everything by keyword
        lambda x, w, b: conv3d(input=x, weight=w, bias=b, **kw),
        lambda x, w, b: TF.conv3d(input=x, weight=w, bias=b, **kw),
        [rand(rng, (3, 4, 3, 5)), w, b],
    )
    # 1x1x1: the input is its own column matrix
    compare_with_torch(
        lambda x, w: conv3d(x, w, groups=2),
        lambda x, w: TF.conv3d(x, w, groups=2),
        [rand(rng, (2, 6, 2, 3, 4)), rand(rng, (4, 3, 1, 1, 1))],
    )
    compare_with_torch(  # a batch of 0 volumes: empty output, zero dW and db
        lambda x, w, b: conv3d(x, w, b, **kw),
        lambda x, w, b: TF.conv3d(x, w, b, **kw),
        [np.zeros((0, 3, 4, 3, 5)), w, b],
    )
    budget = get_im2col_budget()
    try:  # one volume per chunk: the columns of a batch do not fit the budget
        set_im2col_budget(1)
        for x_shape, w_ in (((3, 3, 4, 3, 5), w), ((3, 3, 2, 2, 2), rand(rng, (4, 3, 1, 1, 1)))):
            compare_with_torch(
                lambda x, w, b: conv3d(x, w, b, padding=1),
                lambda x, w, b: TF.conv3d(x, w, b, padding=1),
                [rand(rng, x_shape), w_, b],
            )
    finally:
        set_im2col_budget(budget)


def test_conv_transpose3d_in_chunks_matches_torch():
    """The transposed convolution with one volume per chunk (forward, and every gradient summed
    over the chunks)."""
    rng = np.random.default_rng(60)
    budget = get_im2col_budget()
    try:
        set_im2col_budget(1)
        for groups, kw in ((1, dict(stride=2)), (2, dict(stride=2, padding=1, output_padding=1, dilation=1))):
            x, w, b = rand(rng, (3, 4, 2, 3, 2)), rand(rng, (4, 6 // groups, 2, 3, 2)), rand(rng, (6,))
            compare_with_torch(
                lambda a, u, v, kw=kw, g=groups: conv_transpose3d(a, u, v, groups=g, **kw),
                lambda a, u, v, kw=kw, g=groups: TF.conv_transpose3d(a, u, v, groups=g, **kw),
                [x, w, b],
            )
    finally:
        set_im2col_budget(budget)


ARGUMENT_CALLS = {
    "stride 1.5": lambda f, lib: f.conv3d(lib.ones(1, 1, 3, 3, 3), lib.ones(1, 1, 2, 2, 2), stride=1.5),
    "transposed padding 'same'": lambda f, lib: f.conv_transpose3d(
        lib.ones(1, 1, 3, 3, 3), lib.ones(1, 1, 2, 2, 2), padding="same"
    ),
    "divisor_override 2.5": lambda f, lib: f.avg_pool3d(lib.ones(1, 1, 4, 4, 4), 2, divisor_override=2.5),
    "adaptive size 2.0": lambda f, lib: f.adaptive_avg_pool3d(lib.ones(1, 1, 4, 4, 4), (2.0, 2, 2)),
    "stride (2,)": lambda f, lib: f.conv3d(lib.ones(1, 1, 4, 4, 4), lib.ones(1, 1, 2, 2, 2), stride=(2,)),
    "groups np.int64": lambda f, lib: f.conv3d(lib.ones(1, 2, 4, 4, 4), lib.ones(2, 1, 2, 2, 2), groups=np.int64(2)),
    "empty depth, transposed": lambda f, lib: f.conv_transpose3d(lib.ones(1, 2, 0, 2, 2), lib.ones(2, 1, 2, 2, 2)),
    "empty depth, padded": lambda f, lib: f.conv3d(lib.ones(1, 1, 0, 3, 3), lib.ones(1, 1, 1, 1, 1), padding=1),
}


@pytest.mark.parametrize("name", list(ARGUMENT_CALLS))
def test_3d_arguments_as_torch(name):
    """Non-integer settings are TypeErrors, a 1-sequence broadcasts, NumPy ints count, an empty
    spatial axis (with a batch and channels) is torch's RuntimeError."""
    import minicnn.nn.functional as MF

    call = ARGUMENT_CALLS[name]
    try:
        expected = tuple(call(TF, torch).shape)
    except (TypeError, RuntimeError) as e:
        with pytest.raises(type(e)):
            call(MF, mc)
        return
    assert tuple(call(MF, mc).shape) == expected


def test_conv3d_gradcheck():
    rng = np.random.default_rng(3)
    x = mc.tensor(rand(rng, (2, 2, 3, 4, 3)), requires_grad=True)
    w = mc.tensor(rand(rng, (4, 1, 2, 2, 2)), requires_grad=True)
    b = mc.tensor(rand(rng, (4,)), requires_grad=True)
    kw = dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(1, 1, 2), groups=2)
    assert mc.gradcheck(lambda x, w, b: conv3d(x, w, b, **kw), [x, w, b])
    assert mc.gradcheck(
        lambda x, w: conv3d(x, w, padding="same"), [x, mc.tensor(rand(rng, (3, 2, 2, 1, 2)), requires_grad=True)]
    )


# -- conv3d kernels: "shift" (stride 1) and "vol2col", each against torch ------------------------


@st.composite
def kernel_cases(draw):
    """A conv3d with explicit (before, after) padding per axis, up to 2 beyond the kernel's reach
    d*(k-1) (whole planes that only the padding feeds), and the algorithm to run it with."""
    algo = draw(st.sampled_from(["shift", "vol2col", "auto"]))
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    s = (1, 1, 1) if algo == "shift" else tuple(draw(st.integers(1, 2)) for _ in range(3))
    pads = tuple(
        (draw(st.integers(0, dd * (kk - 1) + 2)), draw(st.integers(0, dd * (kk - 1) + 2))) for kk, dd in zip(k, d)
    )
    sizes = tuple(draw(st.integers(max(1, dd * (kk - 1) + 1 - sum(p)), 6)) for kk, dd, p in zip(k, d, pads))
    needs = draw(st.sampled_from([(True, True), (True, False), (False, True)]))  # (dx, dw)
    return (draw(st.integers(1, 2)), cin, *sizes), (cout, cin // groups, *k), s, pads, d, groups, algo, needs


def torch_conv3d_grads(x, w, b, gy, stride, pads, dilation, groups):
    """torch's y, dx, dw, db for explicit (before, after) padding (F.pad, then conv3d)."""
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    flat_pads = [p for pair in reversed(pads) for p in pair]  # F.pad: last axis first
    yt = TF.conv3d(TF.pad(xt, flat_pads), wt, bt, stride=stride, dilation=dilation, groups=groups)
    yt.backward(torch.tensor(gy))
    return yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@FAST
@given(kernel_cases(), st.sampled_from([np.float32, np.float64]))
def test_conv3d_kernels_match_torch(case, dtype):
    x_shape, w_shape, stride, pads, dilation, groups, algo, (need_dx, need_dw) = case
    rng = np.random.default_rng(7)
    x, w, b = (rand(rng, shape).astype(dtype) for shape in (x_shape, w_shape, w_shape[:1]))
    y = V.conv3d_forward(x, w, b, stride, pads, dilation, groups, algo=algo)
    gy = rand(rng, y.shape).astype(dtype)
    expected = torch_conv3d_grads(x, w, b, gy, stride, pads, dilation, groups)
    got = (y, *V.conv3d_backward(gy, x, w, stride, pads, dilation, groups, need_dx, need_dw, algo=algo))
    for name, ours, theirs, needed in zip(("y", "dx", "dw", "db"), got, expected, (True, need_dx, need_dw, True)):
        if not needed:
            assert ours is None, name
            continue
        assert ours.shape == theirs.shape and ours.dtype == dtype, name
        np.testing.assert_allclose(ours, theirs, **(LOOSE32 if dtype == np.float32 else TOL[np.float64]), err_msg=name)


def test_conv3d_shift_in_chunks_of_positions_matches_vol2col_and_torch():
    """A volume whose columns exceed the budget runs in runs of flat positions, image by image
    (the forward pass and dW in runs of at least MIN_RUN positions, dX of MIN_ADD_RUN); the
    gradients are then summed (dW) or accumulated (dX) over the runs."""
    rng = np.random.default_rng(8)
    x, w, b = rand(rng, (2, 3, 20, 18, 18)), rand(rng, (6, 1, 3, 2, 3)), rand(rng, (6,))
    pads, dilation, groups = ((2, 1), (1, 1), (0, 2)), (2, 1, 1), 3
    g = V.geometry3d(x.shape, w.shape, 1, pads, dilation, groups)
    gy = rand(rng, (2, 6, *g.out))
    expected = torch_conv3d_grads(x, w, b, gy, (1, 1, 1), pads, dilation, groups)
    budget = get_im2col_budget()
    try:
        set_im2col_budget(1)
        _, hp, wp = g.padded
        for min_run in (V.MIN_RUN, V.MIN_ADD_RUN):
            runs = list(V._position_chunks(np, 2, g, g.c * g.k * 8, min_run))
            assert len(runs) >= 6 and {r[1] - r[0] for r in runs} == {1} and runs[-1][3] == g.span
            assert min(r[3] - r[2] for r in runs) >= min_run
            # most runs start and end on an output voxel, not on the grid's padding (where a lost
            # or doubled boundary position would not show)
            ends = [divmod(q % (hp * wp), wp) for r in runs for q in (r[2], r[3] - 1)]
            assert sum(oh < g.out[1] and ow < g.out[2] for oh, ow in ends) > len(ends) * 3 // 4
        for algo in ("shift", "vol2col"):
            y = V.conv3d_forward(x, w, b, 1, pads, dilation, groups, algo=algo)
            got = (y, *V.conv3d_backward(gy, x, w, 1, pads, dilation, groups, algo=algo))
            for ours, theirs in zip(got, expected):
                np.testing.assert_allclose(ours, theirs, **TOL[np.float64])
    finally:
        set_im2col_budget(budget)


def test_conv3d_algo_is_checked():
    x, w = np.zeros((1, 1, 4, 4, 4)), np.zeros((1, 1, 2, 2, 2))
    with pytest.raises(ValueError, match="algo='shift' needs stride 1"):
        V.conv3d_forward(x, w, stride=(1, 2, 1), algo="shift")
    with pytest.raises(ValueError, match="algo must be one of"):
        V.conv3d_backward(np.zeros((1, 1, 3, 3, 3)), x, w, algo="im2col")
    geometry, x_shape = V.geometry3d, (1, 1, 8, 8, 8)
    assert V.choose_algo(geometry(x_shape, w.shape)) == "shift"
    assert V.choose_algo(geometry(x_shape, w.shape, stride=(1, 1, 2))) == "vol2col"
    assert V.choose_algo(geometry(x_shape, (1, 1, 1, 1, 1))) == "vol2col"  # 1x1x1: no columns at all
    assert V.choose_algo(geometry(x_shape, (1, 1, 1, 1, 1), padding=1)) == "shift"
    # mostly gaps: a dilated kernel on a small output (span 1,260 positions for P = 64)
    assert V.choose_algo(geometry((1, 1, 8, 8, 8), (1, 1, 3, 3, 3), padding=4, dilation=4)) == "vol2col"
    assert V.choose_algo(geometry((1, 1, 4, 4, 4), w.shape)) == "vol2col"  # span 43 > 1.5 * 27
    budget = get_im2col_budget()
    try:  # the whole-batch grid arrays must fit the budget
        set_im2col_budget(8 * 8 * 8 * 4)
        assert V.choose_algo(geometry(x_shape, w.shape), itemsize=4) == "shift"
        assert V.choose_algo(geometry(x_shape, w.shape, padding=1), itemsize=4) == "vol2col"
    finally:
        set_im2col_budget(budget)


@pytest.mark.parametrize("algo", ["shift", "vol2col"])
def test_conv3d_non_finite_values_like_torch(algo):
    """An inf or NaN in x or w reaches the gradients where torch's do and nowhere else: shift's
    gaps would multiply it by a zero gradient (NaN), so conv3d_backward takes vol2col then."""
    rng = np.random.default_rng(3)
    x, w, gy = rand(rng, (2, 2, 4, 5, 6)), rand(rng, (3, 2, 3, 3, 3)), rand(rng, (2, 3, 4, 5, 6))
    for bad in ("x", "w"):
        xb, wb = x.copy(), w.copy()
        (xb if bad == "x" else wb)[0, 1, 1, 2, -1] = np.inf
        (xb if bad == "x" else wb)[-1, 0, 0, 0, 0] = np.nan
        with np.errstate(invalid="ignore"):  # the kernels called directly (ops run them under errstate)
            y = V.conv3d_forward(xb, wb, None, 1, 1, algo=algo)
            dx, dw, _ = V.conv3d_backward(gy, xb, wb, 1, 1, algo=algo)
        expected = torch_conv3d_grads(xb, wb, np.zeros(3), gy, (1, 1, 1), ((1, 1),) * 3, (1, 1, 1), 1)
        for name, ours, theirs in zip(("y", "dx", "dw"), (y, dx, dw), expected):
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{bad}: {name}")
            finite = np.isfinite(theirs)
            np.testing.assert_allclose(ours[finite], theirs[finite], **TOL[np.float64])


ALGOS = ["auto", "vol2col"]  # the automatic choice (shift for stride 1), then vol2col everywhere


@contextlib.contextmanager
def forced_algo(algo: str):
    """The 3-d convolution ops run with ``algo`` ("auto": unchanged)."""
    with pytest.MonkeyPatch.context() as mp:
        if algo != "auto":
            mp.setattr(V, "choose_algo", lambda g, itemsize=4: algo)
        yield


@st.composite
def module_cases(draw):
    groups = draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    s = tuple(draw(st.integers(1, 2)) for _ in range(3)) if draw(st.booleans()) else 1
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    p = tuple(draw(st.integers(0, dd * (kk - 1) + (2 if mode == "zeros" else 0))) for kk, dd in zip(k, d))
    least = [dd * (kk - 1) + 1 - 2 * pp for kk, dd, pp in zip(k, d, p)]
    if mode != "zeros":  # reflect needs padding < size (circular: <=)
        least = [max(low, pp + 1) for low, pp in zip(least, p)]
    sizes = tuple(draw(st.integers(max(1, low), 6)) for low in least)
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kw = dict(stride=s, padding=p, dilation=d, groups=groups, padding_mode=mode)
    return (cin, cout, k), kw, (draw(st.integers(1, 2)), cin, *sizes)


@pytest.mark.parametrize("algo", ALGOS)
@FAST
@given(case=module_cases())
def test_conv3d_module_padding_modes_match_torch_with_each_algo(algo, case):
    """nn.Conv3d pads by padding_mode and then calls F.conv3d without padding."""
    args, kw, x_shape = case
    ours, theirs = Conv3d(*args, **kw).double(), torch.nn.Conv3d(*args, **kw).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rand(np.random.default_rng(9), x_shape)
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = rand(np.random.default_rng(10), theirs(xt).shape)
    with forced_algo(algo):
        ym, yt = ours(xm), theirs(xt)
        (ym * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **TOL[np.float64])
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL[np.float64])
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **TOL[np.float64])
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), **TOL[np.float64])


@pytest.mark.parametrize(
    "kw",
    [
        dict(padding=(3, 1, 0), dilation=(1, 2, 1), groups=2),  # padding beyond d*(k-1) on depth
        dict(padding="same", dilation=(2, 1, 1)),
        dict(stride=(2, 1, 1), padding=1),
    ],
)
@pytest.mark.parametrize("algo", ALGOS)
def test_conv3d_gradcheck_with_each_algo(algo, kw):
    rng = np.random.default_rng(11)
    x = mc.tensor(rand(rng, (2, 2, 3, 4, 3)), requires_grad=True)
    w = mc.tensor(rand(rng, (4, 2 // kw.get("groups", 1), 2, 2, 2)), requires_grad=True)
    b = mc.tensor(rand(rng, (4,)), requires_grad=True)
    with forced_algo(algo):
        assert mc.gradcheck(lambda x, w, b: conv3d(x, w, b, **kw), [x, w, b])


# -- conv_transpose3d ----------------------------------------------------------------------------


@st.composite
def conv_transpose3d_cases(draw):
    groups = draw(st.integers(1, 2))
    cin, og = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    s = tuple(draw(st.integers(1, 3)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    op = tuple(draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d))
    sizes = tuple(draw(st.integers(1, 4)) for _ in range(3))
    # padding that leaves an output: 2*p <= (n-1)*s + d*(k-1) + output_padding
    room = [((n - 1) * ss + dd * (kk - 1) + o) // 2 for n, ss, dd, kk, o in zip(sizes, s, d, k, op)]
    p = tuple(draw(st.integers(0, min(2, r))) for r in room)
    as_int = draw(st.booleans())
    kw = dict(stride=s, padding=as_given(p, as_int), output_padding=op, groups=groups, dilation=as_given(d, as_int))
    return (draw(st.integers(1, 2)), cin, *sizes), (cin, og, *k), draw(st.booleans()), kw


@FAST
@given(conv_transpose3d_cases(), st.sampled_from([np.float32, np.float64]))
def test_conv_transpose3d_matches_torch(case, dtype):
    x_shape, w_shape, bias, kw = case
    rng = np.random.default_rng(4)
    arrays = [rand(rng, x_shape), rand(rng, w_shape)] + ([rand(rng, (w_shape[1] * kw["groups"],))] if bias else [])
    compare_with_torch(
        lambda *t: conv_transpose3d(*t, **kw),
        lambda *t: TF.conv_transpose3d(*t, **kw),
        arrays,
        dtype=dtype,
        **tol(dtype),
    )


def test_conv_transpose3d_is_the_input_gradient_of_conv3d_and_gradcheck():
    rng = np.random.default_rng(5)
    kw = dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1))
    x = mc.tensor(rand(rng, (2, 3, 5, 6, 5)), requires_grad=True)
    w = mc.tensor(rand(rng, (4, 3, 3, 2, 3)))
    y = conv3d(x, w, **kw)
    g = rand(rng, y.shape)
    (y * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(conv_transpose3d(mc.tensor(g), w, **kw).numpy(), x.grad.numpy(), **TOL[np.float64])
    x = mc.tensor(rand(rng, (1, 4, 2, 3, 2)), requires_grad=True)
    w = mc.tensor(rand(rng, (4, 1, 2, 3, 2)), requires_grad=True)
    b = mc.tensor(rand(rng, (2,)), requires_grad=True)
    kw = dict(stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 0), groups=2, dilation=(1, 1, 2))
    assert mc.gradcheck(lambda x, w, b: conv_transpose3d(x, w, b, **kw), [x, w, b])
    compare_with_torch(  # unbatched
        lambda x, w: conv_transpose3d(x, w, stride=2),
        lambda x, w: TF.conv_transpose3d(x, w, stride=2),
        [rand(rng, (4, 2, 2, 3)), rand(rng, (4, 3, 2, 2, 2))],
    )


# -- max pooling ---------------------------------------------------------------------------------


@st.composite
def window_cases(draw, dilation: bool = True):
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    s = None if draw(st.booleans()) else tuple(draw(st.integers(1, 3)) for _ in range(3))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    d = tuple(draw(st.integers(1, 2)) for _ in range(3)) if dilation else (1, 1, 1)
    sizes = tuple(draw(st.integers(max(1, dd * (kk - 1) + 1 - 2 * pp), 6)) for kk, dd, pp in zip(k, d, p))
    as_int = draw(st.booleans())
    kw = dict(kernel_size=as_given(k, as_int), stride=s, padding=as_given(p, as_int), ceil_mode=draw(st.booleans()))
    if dilation:
        kw["dilation"] = as_given(d, as_int)
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes), kw


@FAST
@given(window_cases(), st.booleans(), st.integers(0, 2**16))
def test_max_pool3d_matches_torch(case, ties, seed):
    """Values, indices (ties included: both take the first maximum in window order) and gradients."""
    shape, kw = case
    x = input_array(np.random.default_rng(seed), shape, ties)
    xt = torch.tensor(x, requires_grad=True)
    yt, it = TF.max_pool3d(xt, **kw, return_indices=True)
    # a window made only of padding (-inf): torch's backward sends its gradient to the voxel its
    # index names, minicnn's nowhere (as in 1-d and 2-d); compared apart from the rest
    assume(bool(torch.isfinite(yt).all()))
    xm = mc.tensor(x, requires_grad=True)
    ym, im = max_pool3d(xm, **kw, return_indices=True)
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    assert im.dtype == np.int64 and not im.requires_grad
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    g = np.random.default_rng(seed + 1).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    (ym * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(max_pool3d(mc.tensor(x), **kw).numpy(), ym.numpy())  # the no-grad path


def test_max_pool3d_nan_and_neg_inf_like_torch():
    """NaN wins (the last NaN of a window); a window whose real voxels are all -inf points at its
    first real voxel, not into the padding."""
    rng = np.random.default_rng(6)
    x = distinct(rng, (2, 2, 5, 4, 5))
    x[0, 0, :2, :2, :2] = -np.inf
    x[0, 1, 1, 1, 1] = x[0, 1, 2, 2, 3] = x[1, 0, 4, 3, 4] = np.nan
    for kw in (
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(2, 3, 2), stride=1, padding=(1, 1, 0), ceil_mode=True),
    ):
        xt, xm = torch.tensor(x, requires_grad=True), mc.tensor(x, requires_grad=True)
        yt, it = TF.max_pool3d(xt, **kw, return_indices=True)
        ym, im = max_pool3d(xm, **kw, return_indices=True)
        np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
        np.testing.assert_array_equal(im.numpy(), it.numpy())
        g = rng.standard_normal(yt.shape)
        yt.backward(torch.tensor(g))
        (ym * mc.tensor(g)).sum().backward()
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_max_pool3d_gradcheck_and_with_indices():
    rng = np.random.default_rng(7)
    x = mc.tensor(distinct(rng, (1, 2, 4, 5, 4)), requires_grad=True)
    kw = dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), dilation=(1, 1, 2), ceil_mode=True)
    assert mc.gradcheck(lambda t: max_pool3d(t, **kw), [x])
    y, i = max_pool3d_with_indices(x, **kw)
    yt, it = TF.max_pool3d_with_indices(torch.tensor(x.numpy()), **kw)
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    y, i = max_pool3d(x[0], 2, return_indices=True)  # unbatched
    yt, it = TF.max_pool3d(torch.tensor(x.numpy()[0]), 2, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    assert y.shape == tuple(yt.shape)


# -- average pooling -----------------------------------------------------------------------------


@FAST
@given(
    window_cases(dilation=False),
    st.booleans(),
    st.one_of(st.none(), st.integers(1, 5)),
    st.sampled_from([np.float32, np.float64]),
)
def test_avg_pool3d_matches_torch(case, count_include_pad, divisor_override, dtype):
    shape, kw = case
    k = kw["kernel_size"]
    assume(all(n >= kk for n, kk in zip(shape[2:], (k,) * 3 if isinstance(k, int) else k)))  # torch's rule
    kw.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    compare_with_torch(
        lambda t: avg_pool3d(t, **kw),
        lambda t: TF.avg_pool3d(t, **kw),
        [rand(np.random.default_rng(8), shape)],
        dtype=dtype,
        **tol(dtype),
    )


def test_avg_pool3d_gradcheck_and_unbatched():
    rng = np.random.default_rng(9)
    x = mc.tensor(rand(rng, (1, 2, 4, 5, 3)), requires_grad=True)
    for kw in (
        dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), ceil_mode=True, count_include_pad=False),
        dict(kernel_size=3, stride=1, padding=1, divisor_override=5),
    ):
        assert mc.gradcheck(lambda t, kw=kw: avg_pool3d(t, **kw), [x])
    compare_with_torch(lambda t: avg_pool3d(t, 2, 1), lambda t: TF.avg_pool3d(t, 2, 1), [rand(rng, (2, 3, 4, 2))])


# -- adaptive pooling ----------------------------------------------------------------------------

sizes3 = st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7))
outs3 = st.tuples(*(st.one_of(st.none(), st.integers(1, 7)) for _ in range(3)))


@FAST
@given(sizes3, st.one_of(st.integers(1, 7), outs3), st.sampled_from([np.float32, np.float64]))
def test_adaptive_avg_pool3d_matches_torch(size, out, dtype):
    compare_with_torch(
        lambda t: adaptive_avg_pool3d(t, out),
        lambda t: TF.adaptive_avg_pool3d(t, out),
        [rand(np.random.default_rng(10), (2, 2, *size))],
        dtype=dtype,
        **tol(dtype),
    )


@FAST
@given(sizes3, st.one_of(st.integers(1, 7), outs3), st.booleans(), st.integers(0, 2**16))
def test_adaptive_max_pool3d_matches_torch(size, out, ties, seed):
    """Values, indices (ties included: the first maximum in (d, h, w) order) and gradients."""
    x = input_array(np.random.default_rng(seed), (2, 2, *size), ties)
    xt, xm = torch.tensor(x, requires_grad=True), mc.tensor(x, requires_grad=True)
    yt, it = TF.adaptive_max_pool3d(xt, out, return_indices=True)
    ym, im = adaptive_max_pool3d(xm, out, return_indices=True)
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    assert im.dtype == np.int64 and not im.requires_grad
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    g = np.random.default_rng(seed + 1).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    (ym * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_adaptive_pools3d_non_finite_values_like_torch():
    """A NaN bin takes its last NaN (torch's scan), an all -inf bin its first voxel; an inf voxel
    spoils only the averages of the bins holding it."""
    rng = np.random.default_rng(11)
    x = distinct(rng, (1, 2, 5, 6, 7))
    x[0, 0, 0:3, 0:3, 0:4] = -np.inf
    x[0, 1, 1, 2, 3] = x[0, 1, 2, 2, 5] = x[0, 1, 4, 5, 6] = np.nan
    x[0, 0, 4, 4, 4] = np.inf
    for out in ((2, 3, 3), (4, 4, 5)):
        y, i = adaptive_max_pool3d(mc.tensor(x), out, return_indices=True)
        yt, it = TF.adaptive_max_pool3d(torch.tensor(x), out, return_indices=True)
        np.testing.assert_array_equal(y.numpy(), yt.numpy())
        np.testing.assert_array_equal(i.numpy(), it.numpy())
        np.testing.assert_allclose(
            adaptive_avg_pool3d(mc.tensor(x), out).numpy(), TF.adaptive_avg_pool3d(torch.tensor(x), out).numpy()
        )


def test_adaptive_pools3d_gradcheck_unbatched_and_with_indices():
    rng = np.random.default_rng(12)
    x = mc.tensor(distinct(rng, (1, 2, 4, 5, 3)), requires_grad=True)
    assert mc.gradcheck(lambda t: adaptive_avg_pool3d(t, (3, 2, 2)), [x])
    assert mc.gradcheck(lambda t: adaptive_max_pool3d(t, (3, None, 2)), [x])
    y, i = adaptive_max_pool3d_with_indices(x[0], (2, 3, 2))
    yt, it = TF.adaptive_max_pool3d_with_indices(torch.tensor(x.numpy()[0]), (2, 3, 2))
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    compare_with_torch(lambda t: adaptive_avg_pool3d(t, 2), lambda t: TF.adaptive_avg_pool3d(t, 2), [x.numpy()[0]])


@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.max_pool3d(x, 2, stride=1, padding=1),
        lambda F, x: F.avg_pool3d(x, 2, stride=1, padding=1),
        lambda F, x: F.adaptive_avg_pool3d(x, (2, 3, 2)),
        lambda F, x: F.adaptive_max_pool3d(x, (2, 3, 2)),
        lambda F, x: F.conv_transpose3d(
            x, x.new_ones((2, 3, 2, 2, 2)) if F is TF else mc.ones(2, 3, 2, 2, 2, dtype=np.float64), stride=2
        ),
    ],
)
def test_empty_batch_like_torch(call):
    compare_with_torch(lambda t: call(MC, t), lambda t: call(TF, t), [np.zeros((0, 2, 3, 4, 5))])


# -- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(momentum=None), dict(affine=False, momentum=0.3), dict(track_running_stats=False), dict(bias=False)],
)
def test_batch_norm3d_over_several_steps(kwargs):
    """Three training steps (outputs, gradients, running statistics), then evaluation, as torch."""
    ours, theirs = BatchNorm3d(3, **kwargs).double(), torch.nn.BatchNorm3d(3, **kwargs).double()
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(13)
    for step in range(4):
        if step == 3:
            ours.eval()
            theirs.eval()
        x, g = rng.standard_normal((2, 3, 2, 3, 2)) * (step + 1) + step, rng.standard_normal((2, 3, 2, 3, 2))
        xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ym, yt = ours(xm), theirs(xt)
        (ym * mc.tensor(g)).sum().backward()
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **TOL[np.float64], err_msg=f"y, step {step}")
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL[np.float64], err_msg=f"dx, step {step}")
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **TOL[np.float64], err_msg=f"d{name}")
            p.grad = q.grad = None
        mine, ref = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(ref)
        for key in ref:
            np.testing.assert_allclose(mine[key], ref[key].numpy(), **TOL[np.float64], err_msg=f"{key}, step {step}")


@pytest.mark.parametrize(
    "kwargs,shape",
    [
        (dict(), (2, 3, 2, 3, 4)),
        (dict(affine=True), (3, 2, 3, 2)),
        (dict(track_running_stats=True, momentum=0.2), (2, 3, 3, 2, 2)),
        (dict(affine=True, track_running_stats=True, bias=False), (3, 2, 2, 3)),
    ],
)
def test_instance_norm3d_train_and_eval_like_torch(kwargs, shape):
    ours, theirs = InstanceNorm3d(3, **kwargs).double(), torch.nn.InstanceNorm3d(3, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(14)
    for step in range(3):
        if step == 2:
            ours.eval()
            theirs.eval()
        x, g = rng.standard_normal(shape) * (step + 1) + step, rng.standard_normal(shape)
        xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ym, yt = ours(xm), theirs(xt)
        (ym * mc.tensor(g)).sum().backward()
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **TOL[np.float64])
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL[np.float64])
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), **TOL[np.float64], err_msg=key)


def test_norms3d_gradcheck():
    rng = np.random.default_rng(15)
    x = mc.tensor(rng.standard_normal((2, 2, 2, 3, 2)), requires_grad=True)
    bn, inorm = BatchNorm3d(2).double(), InstanceNorm3d(2, affine=True).double()
    assert mc.gradcheck(lambda t: bn(t), [x])
    assert mc.gradcheck(lambda t: inorm(t), [x])


# -- modules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((2, 4, 3), dict()),
        ((2, 4, (1, 2, 3)), dict(stride=2, padding=1, groups=2, bias=False)),
        ((2, 3, 3), dict(padding="same", dilation=(1, 2, 1), padding_mode="reflect")),
        ((2, 3, (2, 3, 2)), dict(padding=(1, 2, 0), padding_mode="replicate")),
        ((2, 2, 2), dict(padding="same", padding_mode="circular")),
        ((2, 2, 3), dict(padding="valid", stride=(1, 2, 1))),
    ],
)
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv3d_module_matches_torch(args, kwargs):
    ours, theirs = Conv3d(*args, **kwargs).double(), torch.nn.Conv3d(*args, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rand(np.random.default_rng(16), (2, 2, 4, 5, 4))
    for batch in (x, x[0]):
        xm, xt = mc.tensor(batch, requires_grad=True), torch.tensor(batch, requires_grad=True)
        ym, yt = ours(xm), theirs(xt)
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **TOL[np.float64])
        ym.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL[np.float64])
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **TOL[np.float64])


def test_conv_transpose3d_module_matches_torch_with_output_size():
    kw = dict(stride=(2, 1, 3), padding=(1, 0, 1), groups=2, dilation=(1, 2, 1))
    ours, theirs = (
        ConvTranspose3d(4, 2, (3, 2, 3), **kw).double(),
        torch.nn.ConvTranspose3d(4, 2, (3, 2, 3), **kw).double(),
    )
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rand(np.random.default_rng(17), (2, 4, 3, 2, 3))
    for size in (None, (6, 4, 9), (2, 2, 6, 4, 8)):
        y = ours(mc.tensor(x), output_size=size)
        yt = theirs(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **TOL[np.float64])
    with pytest.raises(ValueError):
        ours(mc.tensor(x), output_size=(9, 4, 9))


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.MaxPool3d(2),
        lambda nn: nn.MaxPool3d((2, 3, 2), stride=1, padding=(1, 1, 0), dilation=(1, 1, 2), ceil_mode=True),
        lambda nn: nn.AvgPool3d(2),
        lambda nn: nn.AvgPool3d((2, 3, 1), stride=1, padding=(1, 0, 0), ceil_mode=True, count_include_pad=False),
        lambda nn: nn.AvgPool3d(2, divisor_override=3),
        lambda nn: nn.AdaptiveAvgPool3d((2, None, 3)),
        lambda nn: nn.AdaptiveMaxPool3d(2),
    ],
)
def test_pool3d_modules_match_torch(make):
    nn = types.SimpleNamespace(
        MaxPool3d=MaxPool3d,
        AvgPool3d=AvgPool3d,
        AdaptiveAvgPool3d=AdaptiveAvgPool3d,
        AdaptiveMaxPool3d=AdaptiveMaxPool3d,
    )
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    x = distinct(np.random.default_rng(18), (2, 2, 4, 5, 6))
    compare_with_torch(ours, theirs, [x])
    compare_with_torch(ours, theirs, [x[0]])


def test_pool3d_modules_return_indices():
    x = distinct(np.random.default_rng(19), (1, 2, 4, 4, 5))
    for ours, theirs in (
        (MaxPool3d(2, return_indices=True), torch.nn.MaxPool3d(2, return_indices=True)),
        (AdaptiveMaxPool3d((3, 2, 2), return_indices=True), torch.nn.AdaptiveMaxPool3d((3, 2, 2), True)),
    ):
        (y, i), (yt, it) = ours(mc.tensor(x)), theirs(torch.tensor(x))
        np.testing.assert_array_equal(y.numpy(), yt.numpy())
        np.testing.assert_array_equal(i.numpy(), it.numpy())


def test_conv3d_default_init_statistics():
    mc.manual_seed(0)
    for layer, fan_in in (
        (Conv3d(4, 32, (3, 3, 2), groups=2), 2 * 18),
        (ConvTranspose3d(4, 32, (3, 2, 3), groups=2), 16 * 18),
    ):
        bound = 1 / math.sqrt(fan_in)
        for p in (layer.weight.numpy(), layer.bias.numpy()):
            assert p.dtype == np.float32
            assert np.abs(p).max() <= bound
            assert np.abs(p).max() > 0.8 * bound
        w = layer.weight.numpy()
        assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
        assert abs(w.mean()) < 0.1 * bound


# -- errors --------------------------------------------------------------------------------------


def ones(F, shape, dtype=np.float64):
    a = np.ones(shape, dtype=dtype)
    return torch.tensor(a) if F is TF else mc.tensor(a)


@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.conv3d(x[0, 0], ones(F, (2, 4, 3, 3, 3))),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 3, 3))),
        lambda F, x: F.conv3d(x, ones(F, (2, 3, 3, 3, 3))),
        lambda F, x: F.conv3d(x, ones(F, (3, 2, 3, 3, 3)), groups=2),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 7, 3, 3))),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 3, 3, 3)), stride=2, padding="same"),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 3, 3, 3)), padding="full"),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 3, 3, 3)), padding=-1),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 3, 3, 3)), stride=0),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 3, 3, 3)), stride=(1, 2)),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 3, 3, 3)), ones(F, (3,))),
        lambda F, x: F.conv3d(x, ones(F, (2, 4, 3, 3, 3), np.float32)),
        lambda F, x: F.conv_transpose3d(x[0, 0], ones(F, (4, 2, 3, 3, 3))),
        lambda F, x: F.conv_transpose3d(x, ones(F, (4, 2, 3, 3, 3)), output_padding=1),
        lambda F, x: F.conv_transpose3d(x, ones(F, (4, 2, 3, 3, 3)), groups=3),
        lambda F, x: F.conv_transpose3d(x, ones(F, (3, 2, 3, 3, 3))),
        lambda F, x: F.conv_transpose3d(x, ones(F, (4, 2, 3, 3, 3)), padding=9),
        lambda F, x: F.max_pool3d(x, 2, padding=2),
        lambda F, x: F.max_pool3d(x[0, 0], 2),
        lambda F, x: F.max_pool3d(x, 6),
        lambda F, x: F.max_pool3d(x, 2, stride=0),
        lambda F, x: F.max_pool3d(x, (2, 2)),
        lambda F, x: F.max_pool3d(x[:, :0], 2),
        lambda F, x: F.avg_pool3d(x, 2, padding=2),
        lambda F, x: F.avg_pool3d(x[0, 0], 2),
        lambda F, x: F.avg_pool3d(x, 6),
        lambda F, x: F.avg_pool3d(x[:, :, :2], 3, padding=1),
        lambda F, x: F.avg_pool3d(x, 2, divisor_override=0),
        lambda F, x: F.adaptive_avg_pool3d(x[0, 0], 2),
        lambda F, x: F.adaptive_avg_pool3d(x, (2, 2)),
        lambda F, x: F.adaptive_avg_pool3d(x, None),
        lambda F, x: F.adaptive_avg_pool3d(x[:, :, :0], 2),
        lambda F, x: F.adaptive_max_pool3d(x[0, 0], 2),
        lambda F, x: F.adaptive_max_pool3d(x, (2, 2)),
    ],
)
def test_functional_errors_match_torch(call):
    x = rand(np.random.default_rng(20), (2, 4, 5, 5, 5))
    same_error(lambda: call(MC, mc.tensor(x)), lambda: call(TF, torch.tensor(x)))


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda nn: nn.Conv3d(4, 3, 3, groups=2), None),
        (lambda nn: nn.Conv3d(3, 4, 3, groups=2), None),
        (lambda nn: nn.Conv3d(4, 4, 3, padding_mode="mirror"), None),
        (lambda nn: nn.Conv3d(4, 4, 3, stride=2, padding="same"), None),
        (lambda nn: nn.Conv3d(4, 4, 3, padding="full"), None),
        (lambda nn: nn.ConvTranspose3d(4, 4, 3, padding_mode="reflect"), None),
        (lambda nn: nn.BatchNorm3d(4), (4, 5, 5, 5)),
        (lambda nn: nn.BatchNorm3d(3), (2, 4, 5, 5, 5)),
        (lambda nn: nn.InstanceNorm3d(4), (5, 5, 5)),
        (lambda nn: nn.InstanceNorm3d(3, affine=True), (2, 4, 5, 5, 5)),
        (lambda nn: nn.Conv3d(3, 4, 3), (2, 4, 5, 5, 5)),
    ],
)
def test_module_errors_match_torch(make, shape):
    nn = types.SimpleNamespace(
        Conv3d=Conv3d, ConvTranspose3d=ConvTranspose3d, BatchNorm3d=BatchNorm3d, InstanceNorm3d=InstanceNorm3d
    )
    x = np.ones(shape or (1,))
    if shape is None:
        same_error(lambda: make(nn), lambda: make(torch.nn))
    else:
        same_error(lambda: make(nn)(mc.tensor(x)), lambda: make(torch.nn).double()(torch.tensor(x)))


def test_errors_name_the_layer_and_shapes():
    x = mc.tensor(np.ones((2, 4, 5, 5, 5)))
    with pytest.raises(ValueError, match=r"Conv3d\(3, 4, kernel_size=\(3, 3, 3\).*\(2, 4, 5, 5, 5\)"):
        Conv3d(3, 4, 3).double()(x)
    with pytest.raises(ValueError, match=r"max_pool3d: .*\(2, 4, 5, 5, 5\).*too small"):
        max_pool3d(x, 6)
    with pytest.raises(TypeError, match="avg_pool3d: expected a floating point input"):
        avg_pool3d(mc.tensor(np.ones((1, 1, 2, 2, 2), dtype=np.int64)), 2)
    with pytest.raises(ValueError, match=r"BatchNorm3d\(3\): expected input of shape \(N, 3, D, H, W\)"):
        BatchNorm3d(3)(x)


# -- devices -------------------------------------------------------------------------------------

DEVICE_CASES = {
    "conv3d": (
        lambda F: lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1, groups=2),
        [(2, 4, 3, 4, 3), (2, 2, 2, 3, 2), (2,)],
    ),
    "conv3d stride 1": (  # the shift algorithm
        lambda F: lambda x, w, b: F.conv3d(x, w, b, padding=(2, 1, 0), dilation=(1, 2, 1), groups=2),
        [(2, 4, 3, 4, 3), (2, 2, 2, 2, 2), (2,)],
    ),
    "conv_transpose3d": (
        lambda F: lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
        [(2, 4, 2, 3, 2), (4, 1, 3, 2, 3), (2,)],
    ),
    "max_pool3d": (
        lambda F: lambda x: F.max_pool3d(x, (2, 3, 2), stride=1, padding=1, ceil_mode=True),
        [(2, 2, 3, 4, 5)],
    ),
    "avg_pool3d": (
        lambda F: lambda x: F.avg_pool3d(x, 2, stride=1, padding=1, count_include_pad=False),
        [(2, 2, 3, 4, 5)],
    ),
    "adaptive_avg_pool3d": (lambda F: lambda x: F.adaptive_avg_pool3d(x, (2, 3, 4)), [(2, 2, 3, 4, 5)]),
    "adaptive_max_pool3d": (lambda F: lambda x: F.adaptive_max_pool3d(x, (2, 3, 3)), [(2, 2, 3, 4, 5)]),
}


INDEX_CALLS = {
    "max_pool3d": lambda F, x: F.max_pool3d(x, 2, stride=1, padding=1, return_indices=True),
    "adaptive_max_pool3d": lambda F, x: F.adaptive_max_pool3d(x, (2, 3, 3), return_indices=True),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("op", list(DEVICE_CASES))
def test_ops_on_device(op, device):
    make, shapes = DEVICE_CASES[op]
    rng = np.random.default_rng(21)
    arrays = [distinct(rng, s) for s in shapes]
    compare_with_torch(make(MC), make(TF), arrays, device=device)
    if op in INDEX_CALLS:  # the int64 indices live on the device too
        _, i = INDEX_CALLS[op](MC, mc.tensor(arrays[0], device=device))
        _, it = INDEX_CALLS[op](TF, torch.tensor(arrays[0]))
        assert i.device.startswith(device)
        np.testing.assert_array_equal(i.numpy(), it.numpy())


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("kind", ["Conv3d", "ConvTranspose3d", "BatchNorm3d", "InstanceNorm3d"])
def test_modules_on_device(kind, device):
    args = {"Conv3d": (2, 4, 3), "ConvTranspose3d": (2, 4, 3), "BatchNorm3d": (2,), "InstanceNorm3d": (2,)}[kind]
    kwargs = {"InstanceNorm3d": dict(affine=True, track_running_stats=True)}.get(kind, {})
    ours = globals()[kind](*args, **kwargs, device=device).double()
    theirs = getattr(torch.nn, kind)(*args, **kwargs).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert ours.weight.device.startswith(device)
    x = rand(np.random.default_rng(22), (2, 2, 3, 4, 3))
    xm, xt = mc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    ym, yt = ours(xm), theirs(xt)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **TOL[np.float64])
    (ym * ym).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL[np.float64])
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(mc.backend.to_numpy(ours.state_dict()[key]), value.numpy(), **TOL[np.float64])
