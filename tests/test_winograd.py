"""The Winograd F(2x2, 3x3) convolution kernel (minicnn/kernels/winograd.py, ``algo="winograd"``)
against torch: values and gradients on generated shapes, the odd-size remainder tiles, every
padding, the kept and the chunked paths, float32 error, errors for the shapes it does not do."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import compare_with_torch, devices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import conv as K
from minicnn.kernels import winograd as W

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def wino(x, w, b=None, padding=0):
    return mc.nn.functional.conv2d(x, w, b, 1, padding, algo="winograd")


@SETTINGS
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    o=st.integers(1, 3),
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    padding=st.integers(0, 3),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_matches_torch_on_generated_shapes(n, c, o, h, w, padding, bias, seed):
    h, w = h + max(0, 2 - 2 * padding), w + max(0, 2 - 2 * padding)  # at least one output pixel
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3))]
    if bias:
        arrays.append(rng.standard_normal(o))
    compare_with_torch(
        lambda *t: wino(*t, padding=padding), lambda *t: F.conv2d(*t, padding=padding), arrays, seed=seed
    )


@pytest.mark.parametrize("padding", [0, 1, 2, "same", (1, 0), (2, 1)])
@pytest.mark.parametrize("hw", [(6, 8), (5, 7), (4, 3)])  # even and odd outputs: partial last tiles
def test_padding_and_remainder_tiles(padding, hw):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3, *hw)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)]
    compare_with_torch(
        lambda x, w, b: wino(x, w, b, padding), lambda x, w, b: F.conv2d(x, w, b, padding=padding), arrays
    )


def test_kernel_asymmetric_padding_against_torch():
    """The kernel takes ((top, bottom), (left, right)) as conv.py resolves it (and dX's negative pads)."""
    rng = np.random.default_rng(1)
    x, w, gy = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((2, 4, 7, 7))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = F.conv2d(F.pad(xt, (2, 1, 0, 2)), wt)  # left, right, top, bottom
    yt.backward(torch.tensor(gy))
    pads = ((0, 2), (2, 1))
    np.testing.assert_allclose(W.conv2d_winograd(x, w, None, pads), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    dx, dw, db = W.conv2d_winograd_backward(gy, x, w, pads)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, gy.sum(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("padding", [0, 1, 3])
def test_gradcheck(padding):
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = mc.tensor(rng.standard_normal(3), requires_grad=True)
    assert mc.gradcheck(lambda x, w, b: wino(x, w, b, padding), (x, w, b))


def test_chunked_and_kept_paths_agree(monkeypatch):
    """One image per chunk, nothing kept for dW, against torch (the default keeps V of small layers)."""
    monkeypatch.setattr(W, "CHUNK_BYTES", 1)
    monkeypatch.setattr(W, "KEEP_BYTES", 0)
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((3, 4, 7, 6)), rng.standard_normal((5, 4, 3, 3)), rng.standard_normal(5)]
    compare_with_torch(lambda x, w, b: wino(x, w, b, 1), lambda x, w, b: F.conv2d(x, w, b, padding=1), arrays)
    ctx = {}
    K.conv2d_forward(arrays[0], arrays[1], None, padding=1, algo="winograd", ctx=ctx)
    assert "winograd_v" not in ctx


def test_column_blocks_of_the_transform_products_against_torch(monkeypatch):
    """The output transform's and dW's (4, 16) / (16, 4) products in column blocks (CPU): blocks of 43
    columns, which divide none of the products' widths (O*N*(TH + 1)*(TW + 1) = 5*3*20), against torch."""
    monkeypatch.setattr(W, "BLOCK_COLUMNS", 43)
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((3, 4, 7, 6)), rng.standard_normal((5, 4, 3, 3)), rng.standard_normal(5)]
    compare_with_torch(lambda x, w, b: wino(x, w, b, 1), lambda x, w, b: F.conv2d(x, w, b, padding=1), arrays)


def test_keeps_the_transformed_input_for_small_layers():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((5, 4, 3, 3))
    ctx = {}
    K.conv2d_forward(x, w, None, padding=1, algo="winograd", ctx=ctx)
    assert ctx["winograd_v"].shape == (4, 4, 4, 2, 4 * 4)  # (4, 4, C, N, (TH + 1)*(TW + 1))


def test_empty_batch_and_no_input_channels():
    rng = np.random.default_rng(4)
    compare_with_torch(
        lambda x, w, b: wino(x, w, b, 1),
        lambda x, w, b: F.conv2d(x, w, b, padding=1),
        [np.zeros((0, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)],
    )
    y = wino(mc.zeros(2, 0, 4, 4), mc.zeros(3, 0, 3, 3), mc.tensor([1.0, 2.0, 3.0]), 1)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(np.array([1.0, 2.0, 3.0])[:, None, None], (2, 3, 4, 4)))


def test_float32_error_on_wide_layers_within_the_conv_tolerance():
    """F(2x2, 3x3) rounds a little more than im2col; on 128 -> 128 channels it stays within the
    float32 tolerance of the convolution tests (rtol 1e-4 relative to the largest value)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 128, 10, 10)).astype(np.float32)
    w = (rng.standard_normal((128, 128, 3, 3)) / np.sqrt(128 * 9)).astype(np.float32)
    gy = rng.standard_normal((2, 128, 10, 10)).astype(np.float32)
    xt, wt = (
        torch.tensor(x, dtype=torch.float64, requires_grad=True),
        torch.tensor(w, dtype=torch.float64, requires_grad=True),
    )
    yt = F.conv2d(xt, wt, padding=1)
    yt.backward(torch.tensor(gy, dtype=torch.float64))
    y = K.conv2d_forward(x, w, None, padding=1, algo="winograd")
    dx, dw, _ = K.conv2d_backward(gy, x, w, padding=1, algo="winograd")
    for ours, ref in ((y, yt), (dx, xt.grad), (dw, wt.grad)):
        ref = ref.detach().numpy()
        assert ours.dtype == np.float32
        assert np.abs(ours - ref).max() / np.abs(ref).max() < 1e-5


@pytest.mark.parametrize(
    "w_shape,settings,what",
    [
        ((4, 2, 5, 5), {}, "3x3"),
        ((4, 2, 3, 3), {"stride": 2}, "stride"),
        ((4, 2, 3, 3), {"dilation": 2}, "dilation"),
        ((4, 1, 3, 3), {"groups": 2}, "groups"),
        ((4, 2, 3, 1), {}, "3x3"),
    ],
)
def test_unsupported_settings_raise(w_shape, settings, what):
    x = mc.randn(1, 2, 8, 8)
    with pytest.raises(ValueError, match=f"winograd.*{what}"):
        mc.nn.functional.conv2d(x, mc.randn(w_shape), algo="winograd", **settings)


def test_layer_takes_the_algo():
    rng = np.random.default_rng(6)
    conv = mc.nn.Conv2d(3, 4, 3, padding=1, algo="winograd")
    ref = torch.nn.Conv2d(3, 4, 3, padding=1).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(conv.weight.numpy()))
        ref.bias.copy_(torch.tensor(conv.bias.numpy()))
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(
        conv(mc.tensor(x)).numpy(), ref(torch.tensor(x, dtype=torch.float64)).detach().numpy(), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("device", devices())
def test_on_every_device(device):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((2, 3, 7, 8)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)]
    compare_with_torch(
        lambda x, w, b: wino(x, w, b, 1),
        lambda x, w, b: F.conv2d(x, w, b, padding=1),
        arrays,
        dtype=np.float32,
        device=device,
    )


def test_auto_takes_winograd_only_for_wide_layers_on_large_maps():
    wide = ((4, 256, 32, 32), (256, 256, 3, 3))
    assert K.choose_algo(*wide) == "winograd"
    assert K.choose_algo(*wide, on_gpu=True) == "im2col"  # measured on the CPU only
    assert K.choose_algo(*wide, stride=2) == "im2col"
    assert K.choose_algo(*wide, dilation=2) == "im2col"
    assert K.choose_algo((4, 256, 32, 32), (256, 128, 3, 3), groups=2) == "im2col"
    assert K.choose_algo((4, 256, 32, 32), (256, 256, 5, 5)) == "im2col"
    assert K.choose_algo((32, 64, 56, 56), (64, 64, 3, 3)) == "winograd"  # VGG's 64 channels
    assert K.choose_algo((4, 64, 32, 32), (64, 64, 3, 3)) == "winograd"  # ResNet-18's layer1
    assert K.choose_algo((4, 64, 16, 16), (64, 64, 3, 3)) == "im2col"  # 64 channels want 32x32
    assert K.choose_algo((4, 32, 32, 32), (32, 32, 3, 3)) == "im2col"  # narrow: no gain
    assert K.choose_algo((4, 512, 8, 8), (512, 512, 3, 3)) == "im2col"  # tiny maps: slower
    assert K.choose_algo((4, 128, 16, 16), (128, 128, 3, 3)) == "winograd"  # ResNet-18's layer2
    assert K.choose_algo((4, 128, 14, 14), (128, 128, 3, 3)) == "im2col"  # 128 channels want 16x16
    assert K.choose_algo((4, 128, 32, 32), (128, 128, 3, 3)) == "winograd"
    assert K.choose_algo((16, 256, 14, 14), (256, 256, 3, 3)) == "winograd"
    assert K.choose_algo((128, 6, 14, 14), (16, 6, 5, 5)) == "im2col"  # LeNet
    assert K.choose_algo(*wide, itemsize=2) == "im2col"  # float16: the transforms' rounding is too coarse


def test_auto_keeps_float16_on_im2col_within_torchs_error():
    # float16 through Winograd's transforms: mean error ~4x torch's; auto keeps im2col, which matches torch's
    rng = np.random.default_rng(18)
    x, w = rng.standard_normal((2, 64, 32, 32)), rng.standard_normal((64, 64, 3, 3)) / 24
    exact = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()
    ours = mc.nn.functional.conv2d(mc.tensor(x, dtype=mc.float16), mc.tensor(w, dtype=mc.float16), padding=1)
    theirs = F.conv2d(torch.from_numpy(x).half(), torch.from_numpy(w).half(), padding=1).float().numpy()
    err, torch_err = np.abs(ours.numpy().astype(np.float64) - exact).mean(), np.abs(theirs - exact).mean()
    assert err <= 1.5 * torch_err


def test_auto_on_a_wide_layer_matches_torch():
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((1, 128, 32, 32)), rng.standard_normal((128, 128, 3, 3)) / 30
    assert K.choose_algo(x.shape, w.shape) == "winograd"
    compare_with_torch(  # float64: float32's error on this size is the test above's
        lambda x, w: mc.nn.functional.conv2d(x, w, padding=1), lambda x, w: F.conv2d(x, w, padding=1), [x, w]
    )
