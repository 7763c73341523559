"""Behaviour of the session-10 speed-ups, against torch: the one-pass sigmoid (SiLU, the SE
gates), SiLU's in-place backward, pointwise convolutions with the batch folded into one GEMM,
the remembered convolution geometry and tap offsets, and the channels-last padding of the
depthwise kernel. No timings here: only that the fast forms compute what torch does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import conv as K
from minicnn.kernels import depthwise as D
from minicnn.kernels.conv_shapes import geometry
from minicnn.ops.activation import _stable_sigmoid, sigmoid, silu
from minicnn.ops.conv import conv2d

# -- sigmoid: 1 / (1 + exp(-x)) in one fresh array ------------------------------------------

EXTREMES = [-np.inf, -1e4, -800.0, -745.0, -710.0, -104.0, -100.0, -88.8, -88.0, -20.0, -1e-8, -0.0, 0.0,
            1e-8, 20.0, 88.0, 100.0, 800.0, 1e4, np.inf]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_at_extremes_matches_torch(dtype):
    x = np.array(EXTREMES, dtype=dtype)
    ours = _stable_sigmoid(x)
    ref = torch.sigmoid(torch.from_numpy(x)).numpy()
    assert ours.dtype == dtype
    tiny = np.finfo(dtype).tiny  # below it torch and the exact value may differ by a subnormal
    np.testing.assert_allclose(ours, ref, rtol=4 * np.finfo(dtype).eps, atol=tiny)
    assert ours[0] == 0 and ours[-1] == 1  # the limits, not NaN
    assert np.isnan(_stable_sigmoid(np.array([np.nan], dtype=dtype)))[0]


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple),
    scale=st.sampled_from([1.0, 10.0, 60.0]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_sigmoid_relative_accuracy_like_torch(shape, scale, dtype, seed):
    x = np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale, dtype=dtype)
    ours = _stable_sigmoid(x)
    ref = torch.sigmoid(torch.from_numpy(x)).numpy()
    assert ours.shape == x.shape and ours.dtype == dtype
    # relative to the value itself, also deep in the left tail (where 1 + tanh(x/2) would cancel)
    np.testing.assert_allclose(ours, ref, rtol=8 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)


def test_sigmoid_of_a_0d_array_and_float16_in_float32():
    assert float(_stable_sigmoid(np.array(-3.0))) == pytest.approx(1 / (1 + np.exp(3.0)), rel=1e-15)
    x = np.array([-17.0, -12.0, -3.0, 0.0, 3.0, 12.0], dtype=np.float16)
    ours = _stable_sigmoid(x)
    assert ours.dtype == np.float16
    # computed in float32 and rounded once, as torch's half sigmoid: the small values survive
    np.testing.assert_array_equal(ours, torch.sigmoid(torch.from_numpy(x)).numpy())
    assert ours[0] > 0


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_silu_forward_backward_match_torch(device, dtype):
    x = np.random.default_rng(1).standard_normal((3, 4, 5)) * 8
    x.flat[:4] = [-120.0, -30.0, 30.0, 120.0]  # saturated: gradients ~0 on both sides, not NaN
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else {}
    compare_with_torch(sigmoid, torch.sigmoid, [x], dtype=dtype, device=device, **tol)
    compare_with_torch(silu, TF.silu, [x], dtype=dtype, device=device, **tol)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), seed=st.integers(0, 2**16))
def test_silu_gradients_on_random_inputs(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 5
    compare_with_torch(silu, TF.silu, [x], seed=seed)


def test_silu_and_sigmoid_gradcheck_and_second_derivatives():
    x = mc.tensor(np.random.default_rng(2).standard_normal((2, 3)) * 3, requires_grad=True)
    assert mc.gradcheck(silu, (x,))
    assert mc.gradcheck(sigmoid, (x,))
    arr = np.random.default_rng(3).standard_normal((2, 3)) * 3
    double_backward_like_torch(silu, TF.silu, [arr])
    double_backward_like_torch(sigmoid, torch.sigmoid, [arr])


def test_silu_backward_keeps_the_gradient_dtype_and_leaves_saved_arrays_alone():
    x = np.random.default_rng(4).standard_normal((2, 3)).astype(np.float32)
    xm = mc.tensor(x.copy(), requires_grad=True)
    y = silu(xm)
    y.backward(mc.tensor(np.ones_like(x)))
    g1 = xm.grad.numpy().copy()
    assert xm.grad.dtype == np.float32
    xm.grad = None
    y2 = silu(xm)
    y2.backward(mc.tensor(np.ones_like(x)))  # same input, same gradient: nothing was overwritten
    np.testing.assert_array_equal(xm.grad.numpy(), g1)
    np.testing.assert_array_equal(xm.numpy(), x)


# -- pointwise convolutions with the batch folded into the GEMM ---------------------------------

# (N, C, H, W, O, groups): tiny maps with wide channels, where _batch_last_pays folds the batch
POINTWISE_FOLDED = [
    (4, 12, 1, 1, 20, 1),  # squeeze-and-excitation: 1x1 maps
    (3, 16, 2, 2, 24, 1),  # a head on 2x2
    (2, 24, 1, 2, 30, 3),  # grouped
    (5, 16, 1, 1, 16, 2),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("n, c, h, w, o, groups", POINTWISE_FOLDED)
@pytest.mark.parametrize("bias", [False, True])
def test_pointwise_folded_conv_matches_torch(device, n, c, h, w, o, groups, bias):
    g = geometry((n, c, h, w), (o, c // groups, 1, 1), groups=groups)
    assert K._batch_last_pays(g)  # the path under test
    rng = np.random.default_rng(n * 100 + c)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c // groups, 1, 1))]
    if bias:
        arrays.append(rng.standard_normal(o))
    compare_with_torch(
        lambda *t: conv2d(*t, groups=groups),
        lambda *t: TF.conv2d(*t, groups=groups),
        arrays,
        device=device,
    )


def test_pointwise_layout_choice():
    assert not K._batch_last_pays(geometry((1, 64, 1, 1), (64, 64, 1, 1)))  # one image: nothing to fold
    assert not K._batch_last_pays(geometry((4, 48, 32, 32), (104, 48, 1, 1)))  # large maps: image-major
    assert K._batch_last_pays(geometry((4, 320, 2, 2), (1280, 320, 1, 1)))
    assert not K._batch_last_pays(geometry((4, 0, 2, 2), (8, 0, 1, 1)))  # no input channels


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(0, 5),
    cg=st.integers(1, 6),
    og=st.integers(1, 6),
    groups=st.integers(1, 3),
    hw=st.sampled_from([(1, 1), (1, 2), (2, 2), (3, 1)]),
    need=st.sampled_from([(True, True, True), (False, True, True), (True, False, False), (True, True, False)]),
    budget=st.sampled_from([None, 1]),
    keep=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_pointwise_kernel_both_layouts_agree_with_torch(n, cg, og, groups, hw, need, budget, keep, seed):
    """Image-major and batch-folded, chunked (a 1-byte budget: one image per chunk) or not,
    columns kept for backward or rebuilt, only the gradients asked for."""
    rng = np.random.default_rng(seed)
    c, o = cg * groups, og * groups
    x = rng.standard_normal((n, c, *hw))
    w = rng.standard_normal((o, cg, 1, 1))
    b = rng.standard_normal(o)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = TF.conv2d(tx, tw, tb, groups=groups)
    gy = rng.standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    old = K.get_im2col_budget()
    try:
        if budget is not None:
            K.set_im2col_budget(budget)
        for batch_last in (False, True):
            ctx = {} if keep else None
            y = K.conv2d_im2col(x, w, b, groups=groups, batch_last=batch_last, ctx=ctx)
            np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
            dx, dw, db = K.conv2d_im2col_backward(gy, x, w, 1, 0, 1, groups, *need, batch_last=batch_last, ctx=ctx)
            for got, want, asked in ((dx, tx.grad, need[0]), (dw, tw.grad, need[1]), (db, tb.grad, need[2])):
                if asked:
                    np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
                else:
                    assert got is None
    finally:
        K.set_im2col_budget(old)


def test_pointwise_folded_conv_in_float32_and_gradcheck():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 8, 1, 1))
    w = rng.standard_normal((16, 8, 1, 1))
    compare_with_torch(conv2d, TF.conv2d, [x, w], dtype=np.float32)
    xm, wm = mc.tensor(x, requires_grad=True), mc.tensor(w, requires_grad=True)
    assert mc.gradcheck(conv2d, (xm, wm))
    double_backward_like_torch(conv2d, TF.conv2d, [x, w])


# -- geometry and tap offsets, remembered ----------------------------------------------------


def test_geometry_is_the_same_for_lists_tuples_and_repeated_calls():
    a = geometry((2, 6, 9, 7), (4, 3, 3, 2), stride=(2, 1), padding="valid", dilation=[1, 2], groups=2)
    b = geometry((2, 6, 9, 7), (4, 3, 3, 2), stride=[2, 1], padding=(0, 0), dilation=(1, 2), groups=2)
    c = geometry((2, 6, 9, 7), (4, 3, 3, 2), stride=(2, 1), padding="valid", dilation=[1, 2], groups=2)
    assert a == b == c
    assert (a.oh, a.ow) == (4, 5)
    same = geometry((1, 1, 5, 6), (1, 1, 4, 3), padding="same")
    assert same.pads == ((1, 2), (1, 1)) and (same.oh, same.ow) == (5, 6)  # torch: extra row at the bottom


def test_geometry_errors_every_time():
    for _ in range(2):  # a failed resolution is not remembered
        with pytest.raises(ValueError, match="does not fit an input with 3 channels"):
            geometry((1, 3, 8, 8), (4, 2, 3, 3))
        with pytest.raises(ValueError, match="smaller than the 5x5 kernel"):
            geometry((1, 3, 4, 4), (4, 3, 5, 5), op="conv2d")
        with pytest.raises(ValueError, match="myconv: stride and dilation must be positive"):
            geometry((1, 3, 8, 8), (4, 3, 3, 3), stride=0, op="myconv")


def test_the_error_names_the_caller_even_when_a_shape_was_seen_before():
    geometry((1, 3, 8, 8), (4, 3, 3, 3), op="first")
    with pytest.raises(ValueError, match="second: weight of shape"):
        geometry((1, 3, 8, 8), (4, 3, 3, 3), groups=2, op="second")


@settings(max_examples=25, deadline=None)
@given(kh=st.integers(1, 4), kw=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 2), p=st.integers(0, 2))
def test_tap_offsets_are_offset_of_every_tap(kh, kw, s, d, p):
    g = geometry((1, 1, 12, 11), (1, 1, kh, kw), stride=s, padding=p, dilation=d)
    assert g.offsets() == tuple(g.offset(i, j) for i in range(kh) for j in range(kw))


# -- depthwise, channels-last padding ----------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 5),
    h=st.integers(1, 5),
    w=st.integers(1, 5),
    pads=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
)
def test_padded_channels_last_is_a_zero_padded_transpose(n, c, h, w, pads):
    t, b, le, r = pads
    x = np.random.default_rng(n + c).standard_normal((n, c, h, w)).astype(np.float32)
    g = geometry(x.shape, (c, 1, 1, 1), padding=((t, b), (le, r)), groups=c)
    got = D._padded_channels_last(x, g)
    want = np.pad(x, ((0, 0), (0, 0), (t, b), (le, r))).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("stride, padding, k", [(1, 2, 5), (2, 1, 3), (1, (0, 3), 3)])
def test_channels_last_depthwise_matches_torch(device, stride, padding, k):
    x_shape, w_shape = (2, 64, 6, 5), (64, 1, k, k)
    assert D.uses_channels_last(x_shape, w_shape, stride, padding)
    rng = np.random.default_rng(k)
    compare_with_torch(
        lambda x, w: conv2d(x, w, stride=stride, padding=padding, groups=64),
        lambda x, w: TF.conv2d(x, w, stride=stride, padding=padding, groups=64),
        [rng.standard_normal(x_shape), rng.standard_normal(w_shape)],
        device=device,
    )
