"""Behaviour of the session-11 speed-ups, against torch: the input gradient of a stride-1
convolution computed as a forward convolution of gy (no col2im), and strided convolutions with
tiny outputs in the batch-last GEMMs, whose col2im accumulates on stride phases; the depthwise
plane-path forward as one matmul over a stack of tap runs. No timings here: only that the fast forms compute what
torch does, on shapes that take them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minicnn.kernels import conv as K
from minicnn.kernels import depthwise as D
from minicnn.kernels.conv_shapes import geometry
from minicnn.kernels.im2col import col2im
from minicnn.ops.conv import conv2d


def _torch_conv(pads, dilation, groups):
    """torch's conv2d with explicit ((top, bottom), (left, right)) zero padding."""
    (pt, pb), (pl, pr) = pads

    def f(x, w):
        return TF.conv2d(TF.pad(x, (pl, pr, pt, pb)), w, None, 1, 0, dilation, groups)

    return f


@st.composite
def stride1_convs(draw):
    """A stride-1 convolution whose dX can take the forward form: a kernel larger than 1x1 and
    padding of at most dilation*(k-1) per side (asymmetric too)."""
    groups = draw(st.integers(1, 3))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.sampled_from([(1, 2), (2, 1), (2, 2), (3, 3), (1, 3), (3, 2), (4, 4)]))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = tuple(
        (draw(st.integers(0, d * (k - 1))), draw(st.integers(0, d * (k - 1)))) for k, d in ((kh, dh), (kw, dw))
    )
    h = draw(st.integers(dh * (kh - 1) + 1 - sum(pads[0]), 9).filter(lambda v: v >= 1))
    w = draw(st.integers(dw * (kw - 1) + 1 - sum(pads[1]), 9).filter(lambda v: v >= 1))
    n = draw(st.integers(1, 3))
    return (n, groups * cg, h, w), (groups * og, cg, kh, kw), pads, (dh, dw), groups


@settings(max_examples=40, deadline=None)
@given(conv=stride1_convs(), seed=st.integers(0, 2**16))
def test_stride1_dx_as_forward_matches_torch(conv, seed):
    x_shape, w_shape, pads, dilation, groups = conv
    assume(K._dx_as_forward_pays(geometry(x_shape, w_shape, 1, pads, dilation, groups)))
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    compare_with_torch(
        lambda a, b: conv2d(a, b, None, 1, pads, dilation, groups),
        _torch_conv(pads, dilation, groups),
        [x, w],
        seed=seed,
    )


@settings(max_examples=25, deadline=None)
@given(conv=stride1_convs(), seed=st.integers(0, 2**16), batch_last=st.booleans())
def test_stride1_dx_as_forward_kernel_equals_col2im_form(conv, seed, batch_last):
    """The new dX against torch's, at the kernel level, in both column layouts and with dX alone."""
    x_shape, w_shape, pads, dilation, groups = conv
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    y = K.conv2d_im2col(x, w, None, 1, pads, dilation, groups)
    gy = rng.standard_normal(y.shape)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    _torch_conv(pads, dilation, groups)(xt, wt).backward(torch.from_numpy(gy))
    for need_dw in (True, False):
        gx, gw, gb = K.conv2d_im2col_backward(
            gy, x, w, 1, pads, dilation, groups, True, need_dw, True, batch_last=batch_last
        )
        np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
        assert gx.shape == x.shape and gx.flags.c_contiguous
        np.testing.assert_allclose(gb, gy.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)
        if need_dw:
            np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-12, atol=1e-12)
        else:
            assert gw is None


def test_which_convolutions_take_the_forward_form():
    def pays(x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1):
        return K._dx_as_forward_pays(geometry(x_shape, w_shape, stride, padding, dilation, groups))

    assert pays((4, 64, 32, 32), (64, 64, 3, 3), padding=1)  # ResNet's 3x3
    assert pays((4, 400, 4, 4), (400, 16, 3, 3), padding=1, groups=25)  # RegNet's grouped 3x3
    assert not pays((4, 64, 32, 32), (64, 64, 3, 3), stride=2, padding=1)  # strided: col2im
    assert not pays((4, 64, 8, 8), (64, 64, 1, 1))  # pointwise: W^T @ gy is dX already
    assert not pays((4, 8, 8, 8), (8, 8, 3, 3), padding=3)  # padding beyond d*(k-1)
    assert not pays((0, 8, 8, 8), (8, 8, 3, 3), padding=1)  # no images
    assert not pays((4, 512, 4, 4), (512, 512, 3, 3), padding=1)  # weight copy > half the columns


@pytest.mark.parametrize("device", devices())
def test_resnet_like_float32_conv_matches_torch(device):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 16, 12, 12)), rng.standard_normal((24, 16, 3, 3)) * 0.1
    compare_with_torch(
        lambda a, b: conv2d(a, b, padding=1),
        lambda a, b: TF.conv2d(a, b, padding=1),
        [x, w],
        dtype=np.float32,
        device=device,
        rtol=1e-4,
        atol=1e-4,
    )


def test_double_backward_through_the_forward_form_matches_torch():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((6, 2, 3, 2))
    double_backward_like_torch(
        lambda a, b: conv2d(a, b, padding=(1, 1), dilation=(1, 2), groups=2),
        lambda a, b: TF.conv2d(a, b, padding=(1, 1), dilation=(1, 2), groups=2),
        [x, w],
    )


@st.composite
def strided_convs(draw):
    """A strided convolution on a small map, with any padding up to half the kernel."""
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(2, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 9))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 9))
    n = draw(st.integers(1, 3))
    return (n, groups * cg, h, w), (groups * og, cg, kh, kw), (sh, sw), (ph, pw), (dh, dw), groups


@settings(max_examples=40, deadline=None)
@given(conv=strided_convs(), seed=st.integers(0, 2**16), batch_last=st.sampled_from([None, True, False]))
def test_strided_batch_last_kernel_matches_torch(conv, seed, batch_last):
    """Forward and all three gradients of a strided convolution in either column layout (None:
    the automatic choice), with columns kept for backward and rebuilt there, against torch."""
    x_shape, w_shape, stride, padding, dilation, groups = conv
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = TF.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    gy = rng.standard_normal(yt.shape)
    yt.backward(torch.from_numpy(gy))
    settings_ = (stride, padding, dilation, groups)
    for ctx in ({}, None):
        y = K.conv2d_im2col(x, w, b, *settings_, batch_last=batch_last, ctx=ctx)
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
        gx, gw, gb = K.conv2d_im2col_backward(gy, x, w, *settings_, batch_last=batch_last, ctx=ctx)
        for ours, theirs in ((gx, xt), (gw, wt), (gb, bt)):
            np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_which_strided_convolutions_fold_the_batch():
    def folds(x_shape, w_shape, stride=2, padding=0, groups=1):
        return K._batch_last_pays(geometry(x_shape, w_shape, stride, padding, 1, groups))

    assert folds((4, 256, 8, 8), (512, 256, 3, 3), padding=1)  # ResNet-18 layer4's 3x3/2
    assert folds((4, 256, 8, 8), (512, 256, 1, 1))  # and its 1x1/2 downsample
    assert not folds((4, 400, 8, 8), (400, 16, 3, 3), padding=1, groups=25)  # small grouped weights
    assert not folds((4, 64, 64, 64), (64, 64, 3, 3), padding=1)  # large outputs
    assert not folds((1, 256, 8, 8), (512, 256, 3, 3), padding=1)  # one image: nothing to fold


@pytest.mark.parametrize("device", devices())
def test_strided_conv_with_a_tiny_output_matches_torch(device):
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((3, 32, 5, 5)), rng.standard_normal((64, 32, 3, 3)) * 0.1
    assert K._batch_last_pays(geometry(x.shape, w.shape, 2, 1, 1, 1))
    compare_with_torch(
        lambda a, b: conv2d(a, b, stride=2, padding=1),
        lambda a, b: TF.conv2d(a, b, stride=2, padding=1),
        [x, w],
        device=device,
    )
    double_backward_like_torch(
        lambda a, b: conv2d(a, b, stride=2, padding=1),
        lambda a, b: TF.conv2d(a, b, stride=2, padding=1),
        [x, w],
        device=device,
    )


@settings(max_examples=40, deadline=None)
@given(conv=strided_convs(), seed=st.integers(0, 2**16))
def test_strided_batch_last_col2im_matches_torch_fold(conv, seed):
    """col2im of batch-last columns on stride phases = torch's ``fold`` of the same columns."""
    (n, c, h, w), (_, _, kh, kw), stride, padding, dilation, _ = conv
    g = geometry((n, c, h, w), (1, c, kh, kw), stride, padding, dilation)
    p = g.oh * g.ow
    cols = np.random.default_rng(seed).standard_normal((c * kh * kw, p * n))
    ours = col2im(cols, (n, c, h, w), (kh, kw), stride, padding, dilation, batch_last=True)
    image_major = torch.from_numpy(np.ascontiguousarray(cols.reshape(-1, p, n).transpose(2, 0, 1)))
    theirs = TF.fold(image_major, (h, w), (kh, kw), dilation, padding, stride)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-12)


@st.composite
def depthwise_plane_convs(draw):
    """A depthwise convolution that takes the plane path (few channels), any multiplier,
    stride, dilation and padding."""
    c, m = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, kh)), draw(st.integers(0, kw)))
    h = draw(st.integers(max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]), 11))
    w = draw(st.integers(max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]), 11))
    return (draw(st.integers(1, 3)), c, h, w), (c * m, 1, kh, kw), stride, padding, dilation


@settings(max_examples=40, deadline=None)
@given(conv=depthwise_plane_convs(), seed=st.integers(0, 2**16), bias=st.booleans())
def test_depthwise_plane_forward_as_one_matmul_matches_torch(conv, seed, bias):
    """Forward (the tap stack and matmul) and backward (whose stride-1 dX is that forward again)."""
    x_shape, w_shape, stride, padding, dilation = conv
    assert not D.uses_channels_last(x_shape, w_shape, stride, padding, dilation)
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    c = x_shape[1]
    compare_with_torch(
        lambda *t: conv2d(*t, stride=stride, padding=padding, dilation=dilation, groups=c),
        lambda *t: TF.conv2d(*t, stride=stride, padding=padding, dilation=dilation, groups=c),
        arrays,
        seed=seed,
    )


def test_depthwise_plane_forward_in_several_cache_blocks_matches_torch(monkeypatch):
    """Blocks of planes: the stack and the accumulator are reused, the last block is smaller."""
    from minicnn.kernels import im2col

    monkeypatch.setattr(im2col, "BLOCK_BYTES", 20000)  # 2 planes a block: 21 planes, last block 1
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((3, 7, 9, 8)), rng.standard_normal((14, 1, 3, 3)), rng.standard_normal(14)
    ours = D.conv2d_depthwise(x, w, b, 1, 1, 1)
    theirs = TF.conv2d(*(torch.from_numpy(a) for a in (x, w, b)), padding=1, groups=7).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", devices())
def test_depthwise_plane_path_float32_matches_torch(device):
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 8, 20, 20)), rng.standard_normal((8, 1, 3, 3))
    compare_with_torch(
        lambda a, b: conv2d(a, b, padding=1, groups=8),
        lambda a, b: TF.conv2d(a, b, padding=1, groups=8),
        [x, w],
        dtype=np.float32,
        device=device,
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize("budget", [1 << 28, 2000])
def test_strided_image_major_dx_within_and_beyond_the_budget_matches_torch(budget):
    """Image-major strided dX goes batch-last while its columns fit the im2col budget, and
    falls back to chunks of images beyond it; both are torch's gradient."""
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((3, 6, 13, 11)), rng.standard_normal((4, 3, 3, 3))
    g = geometry(x.shape, w.shape, 2, 1, 1, 2)
    assert not K._batch_last_pays(g)
    old = K.get_im2col_budget()
    K.set_im2col_budget(budget)
    try:
        compare_with_torch(
            lambda a, b: conv2d(a, b, stride=2, padding=1, groups=2),
            lambda a, b: TF.conv2d(a, b, stride=2, padding=1, groups=2),
            [x, w],
        )
    finally:
        K.set_im2col_budget(old)
