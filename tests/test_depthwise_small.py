"""The depthwise kernel's channels-last path for small maps (minicnn.kernels.depthwise): against
torch (F.conv2d with groups=C), against the plane path, on both sides of the thresholds that
choose it, float64 gradcheck, and a devices() case."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, torch_depthwise_grads
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import depthwise as D
from minicnn.ops.conv import conv2d


@contextlib.contextmanager
def thresholds(pixels: int, channels: int, nbytes: int):
    """Set the thresholds that choose the channels-last path (module globals read per call)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "SMALL_OUTPUT_PIXELS", pixels)
        mp.setattr(D, "MIN_CHANNELS", channels)
        mp.setattr(D, "SMALL_INPUT_BYTES", nbytes)
        yield


def always_channels_last():
    return thresholds(1 << 30, 1, 1 << 40)


def never_channels_last():
    return thresholds(0, 1 << 30, 0)


@st.composite
def depthwise_cases(draw):
    """A depthwise convolution with a valid output: x shape, weight shape, stride, padding, dilation."""
    n, c, m = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.sampled_from([1, 2, (1, 2), (2, 1), 3]))
    dilation = draw(st.sampled_from([1, 2, (1, 2)]))
    if stride == 1 and draw(st.booleans()):
        padding = "same"
    else:
        padding = draw(st.sampled_from([0, 1, 2, (1, 0), (0, 2)]))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    try:
        D.uses_channels_last((n, c, h, w), (c * m, 1, kh, kw), stride, padding, dilation)
    except ValueError:  # output would be empty
        assume(False)
    return (n, c, h, w), (c * m, 1, kh, kw), stride, padding, dilation


def check_kernel_against_torch(x, w, b, stride, padding, dilation, rtol, atol, seed=1):
    """Forward and all three gradients of the kernel functions against torch."""
    y = D.conv2d_depthwise(x, w, b, stride, padding, dilation, x.shape[1])
    gy = np.random.default_rng(seed).standard_normal(y.shape).astype(x.dtype)
    y_ref, dx_ref, dw_ref, db_ref = torch_depthwise_grads(x, w, b, gy, stride, padding, dilation)
    dx, dw, db = D.conv2d_depthwise_backward(gy, x, w, stride, padding, dilation, x.shape[1], True, True, b is not None)
    assert y.dtype == dx.dtype == dw.dtype == x.dtype
    assert y.flags.c_contiguous and dx.flags.c_contiguous
    np.testing.assert_allclose(y, y_ref, rtol=rtol, atol=atol, err_msg="forward")
    np.testing.assert_allclose(dx, dx_ref, rtol=rtol, atol=atol, err_msg="dX")
    np.testing.assert_allclose(dw, dw_ref, rtol=rtol, atol=atol, err_msg="dW")
    if b is not None:
        np.testing.assert_allclose(db, db_ref, rtol=rtol, atol=atol, err_msg="db")


TOLS = {np.float32: (2e-4, 2e-4), np.float64: (1e-9, 1e-10)}


@settings(max_examples=40, deadline=None)
@given(
    case=depthwise_cases(), dtype=st.sampled_from([np.float32, np.float64]), bias=st.booleans(), seed=st.integers(0, 9)
)
def test_channels_last_matches_torch(case, dtype, bias, seed):
    x_shape, w_shape, stride, padding, dilation = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    with always_channels_last():
        assert D.uses_channels_last(x_shape, w_shape, stride, padding, dilation)
        check_kernel_against_torch(x, w, b, stride, padding, dilation, *TOLS[dtype], seed=seed)


@settings(max_examples=25, deadline=None)
@given(case=depthwise_cases(), need=st.sampled_from([(True, False), (False, True), (False, False)]))
def test_channels_last_partial_gradients_equal_plane_path(case, need):
    """Only the gradients asked for are computed (None otherwise), and both paths agree."""
    x_shape, w_shape, stride, padding, dilation = case
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    c = x_shape[1]
    with never_channels_last():
        y_plane = D.conv2d_depthwise(x, w, None, stride, padding, dilation, c)
        gy = rng.standard_normal(y_plane.shape)
        ref = D.conv2d_depthwise_backward(gy, x, w, stride, padding, dilation, c)
    with always_channels_last():
        y = D.conv2d_depthwise(x, w, None, stride, padding, dilation, c)
        got = D.conv2d_depthwise_backward(gy, x, w, stride, padding, dilation, c, *need, True)
    np.testing.assert_allclose(y, y_plane, rtol=1e-12, atol=1e-12)
    for wanted, g, r in zip((*need, True), got, ref):
        if wanted:
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)
        else:
            assert g is None


# (x shape, stride): the default thresholds are 64 output pixels, 64 channels, 1 MiB of input
BOUNDARY = [
    ((2, 64, 8, 8), 1, True),  # 8x8 = 64 pixels: channels-last
    ((2, 64, 9, 8), 1, False),  # 9x8 = 72 pixels
    ((2, 64, 16, 16), 2, True),  # stride 2: 8x8 out
    ((2, 64, 17, 16), 2, False),  # 9x8 out
    ((2, 63, 8, 8), 1, False),  # one channel short
    ((64, 64, 8, 8), 1, True),  # float32: exactly 1 MiB
    ((65, 64, 8, 8), 1, False),  # 1 MiB + one image
]


@pytest.mark.parametrize("x_shape,stride,small", BOUNDARY)
def test_threshold_both_sides_match_torch(x_shape, stride, small):
    c = x_shape[1]
    assert D.uses_channels_last(x_shape, (c, 1, 3, 3), stride, 1, 1, itemsize=4) is small
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    check_kernel_against_torch(x, w, b, stride, 1, 1, rtol=2e-4, atol=2e-4)


WIDE_BOUNDARY = [
    ((2, 64, 16, 16), 5, True),  # 5x5: up to 16x16 = 256 output pixels
    ((2, 64, 17, 16), 5, False),  # 17x16 = 272
    ((2, 64, 16, 16), 3, False),  # 3x3: 64
    ((2, 63, 16, 16), 5, False),  # one channel short
]


@pytest.mark.parametrize("x_shape,k,small", WIDE_BOUNDARY)
def test_wide_kernel_threshold_both_sides_match_torch(x_shape, k, small):
    """Kernels of 25 taps (5x5) and more take channels-last up to 4x the output pixels."""
    c = x_shape[1]
    assert D.uses_channels_last(x_shape, (c, 1, k, k), 1, k // 2, 1, itemsize=4) is small
    assert D.uses_channels_last((4, 240, 16, 16), (240, 1, 5, 5), 1, 2, 1)  # EfficientNet-B0's, batch 4
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((c, 1, k, k)).astype(np.float32)
    check_kernel_against_torch(x, w, None, 1, k // 2, 1, rtol=2e-4, atol=2e-4)


def test_float64_input_bytes_threshold():
    """The 1 MiB limit counts bytes: the float32 case at the limit is over it in float64."""
    assert D.uses_channels_last((64, 64, 8, 8), (64, 1, 3, 3), 1, 1, 1, itemsize=4)
    assert not D.uses_channels_last((64, 64, 8, 8), (64, 1, 3, 3), 1, 1, 1, itemsize=8)


def test_mobilenet_v2_small_layers_take_channels_last():
    """The small MobileNet v2 layers at batch 4 (128x128) take the new path, the big ones not."""
    assert D.uses_channels_last((4, 960, 4, 4), (960, 1, 3, 3), 1, 1, 1)
    assert D.uses_channels_last((4, 576, 8, 8), (576, 1, 3, 3), 2, 1, 1)
    assert D.uses_channels_last((4, 384, 8, 8), (384, 1, 3, 3), 1, 1, 1)
    assert D.uses_channels_last((4, 192, 16, 16), (192, 1, 3, 3), 2, 1, 1)
    assert not D.uses_channels_last((4, 192, 16, 16), (192, 1, 3, 3), 1, 1, 1)
    assert not D.uses_channels_last((32, 128, 56, 56), (128, 1, 3, 3), 1, 1, 1)


@pytest.mark.parametrize(
    "x_shape,m,stride,padding,dilation",
    [
        ((4, 576, 8, 8), 1, 1, 1, 1),  # MobileNet v2's layers: the m = 1 einsum
        ((4, 576, 8, 8), 1, 2, 1, 1),
        ((4, 960, 4, 4), 1, 1, 1, 1),
        ((2, 96, 7, 6), 2, (2, 1), (1, 2), (1, 2)),  # m = 2, uneven stride and dilation over the window view
    ],
)
def test_channels_last_window_einsum_matches_torch(x_shape, m, stride, padding, dilation):
    """The forward's single einsum over a window view of the padded input (and dX, a forward of
    gy for stride 1), float32 at MobileNet sizes, against torch."""
    rng = np.random.default_rng(6)
    c = x_shape[1]
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((c * m, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(c * m).astype(np.float32)
    with always_channels_last():
        check_kernel_against_torch(x, w, b, stride, padding, dilation, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("block_bytes", [1, 2 * 5 * 4 * 4, 1 << 20])  # one channel, uneven blocks of 2, all
@pytest.mark.parametrize("m,stride", [(1, 1), (2, 1), (1, 2)])
def test_channels_last_copies_in_channel_blocks_match_torch(block_bytes, m, stride):
    """The transposing copies of x and gy into channels-last go in blocks of channels
    (TRANSPOSE_BLOCK_BYTES); dX as a forward (stride 1, m = 1) pads the transposed gy of dW."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 7, 5, 4)).astype(np.float32)
    w = rng.standard_normal((7 * m, 1, 3, 3)).astype(np.float32)
    with always_channels_last(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "TRANSPOSE_BLOCK_BYTES", block_bytes)
        check_kernel_against_torch(x, w, None, stride, 1, 1, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "stride,padding,dilation,m", [(1, 1, 1, 1), (2, 1, 1, 2), (1, "same", 2, 1), ((2, 1), 0, 1, 3)]
)
def test_channels_last_gradcheck(stride, padding, dilation, m):
    rng = np.random.default_rng(4)
    x = mc.tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((3 * m, 1, 3, 3)), requires_grad=True)
    b = mc.tensor(rng.standard_normal(3 * m), requires_grad=True)
    with always_channels_last():
        assert mc.gradcheck(
            lambda x, w, b: conv2d(x, w, b, stride, padding, dilation, groups=3, algo="depthwise"), (x, w, b)
        )


def test_channels_last_empty_batch():
    x, w = np.zeros((0, 4, 5, 5)), np.ones((8, 1, 3, 3))
    with always_channels_last():
        y = D.conv2d_depthwise(x, w, None, 1, 1, 1, 4)
        dx, dw, db = D.conv2d_depthwise_backward(np.zeros(y.shape), x, w, 1, 1, 1, 4)
    assert y.shape == (0, 8, 5, 5) and dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros(w.shape))
    np.testing.assert_array_equal(db, np.zeros(8))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channels_last_conv2d_op(device, dtype):
    """Through the conv2d op (groups=C, channel multiplier 2, stride 2, bias) on each device."""
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((8, 1, 3, 3)), rng.standard_normal(8)]
    with always_channels_last():
        compare_with_torch(
            lambda x, w, b: conv2d(x, w, b, stride=2, padding=1, groups=4),
            lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1, groups=4),
            arrays,
            dtype=dtype,
            device=device,
            rtol=2e-4 if dtype == np.float32 else None,
            atol=2e-4 if dtype == np.float32 else None,
        )
