"""Max, average and adaptive pooling (ops, kernels, layers) against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F
from minicnn.kernels.cuda import use_cuda_kernels as cuda_kernels_enabled

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def pool_settings(draw, dilation: bool = True):
    """Kernel, stride (None = kernel), padding (<= kernel//2 as torch demands), dilation, ceil_mode."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    return dict(kernel_size=(kh, kw), stride=stride, padding=padding, dilation=dil, ceil_mode=draw(st.booleans()))


def input_array(seed: int, shape: tuple[int, ...], ties: bool) -> np.ndarray:
    """Random input; with ``ties`` the values are small integers, so windows hold equal maxima."""
    rng = np.random.default_rng(seed)
    return rng.integers(-2, 3, size=shape).astype(np.float64) if ties else rng.standard_normal(shape)


def torch_valid(fn, xt) -> bool:
    """False where torch itself rejects the settings (output smaller than 1x1, ...)."""
    try:
        fn(xt)
    except RuntimeError:
        return False
    return True


# -- max pooling -------------------------------------------------------------------------------
@SETTINGS
@given(
    s=pool_settings(),
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    h=st.integers(1, 11),
    w=st.integers(1, 11),
    ties=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_max_pool2d_matches_torch(s, n, c, h, w, ties, seed):
    x = input_array(seed, (n, c, h, w), ties)
    xt = torch.tensor(x, requires_grad=True)
    if not torch_valid(lambda t: TF.max_pool2d(t, **s), xt):
        with pytest.raises(ValueError, match="max_pool2d"):
            F.max_pool2d(mc.tensor(x), **s)
        return
    yt, it = TF.max_pool2d(xt, **s, return_indices=True)
    # A window of padding only (possible with dilation) gives -inf; torch's backward then
    # writes out of bounds, so there is nothing to compare against.
    assume(bool(torch.isfinite(yt).all()))
    xm = mc.tensor(x, requires_grad=True)
    ym, im = F.max_pool2d(xm, **s, return_indices=True)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=0, atol=0)
    assert im.dtype == np.int64 and not im.requires_grad
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    g = np.random.default_rng(seed + 1).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    (ym * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_overlapping_alexnet_setting(device, dtype):
    x = np.random.default_rng(0).standard_normal((2, 4, 13, 13))
    compare_with_torch(
        lambda t: F.max_pool2d(t, 3, 2), lambda t: TF.max_pool2d(t, 3, 2), [x], dtype=dtype, device=device
    )


@pytest.mark.parametrize(
    "settings_",
    [
        dict(kernel_size=3, stride=2),
        dict(kernel_size=2, stride=1, padding=1),
        dict(kernel_size=3, stride=2, ceil_mode=True),
    ],
)
def test_max_pool2d_ties_route_gradient_like_torch(settings_):
    """Constant input: every window is one big tie; torch sends each gradient to the first
    element of its window (row-major), overlapping windows accumulate."""
    x = np.ones((1, 2, 7, 6))
    xt = torch.tensor(x, requires_grad=True)
    yt, it = TF.max_pool2d(xt, **settings_, return_indices=True)
    g = np.arange(yt.numel(), dtype=np.float64).reshape(yt.shape) + 1
    yt.backward(torch.tensor(g))
    xm = mc.tensor(x, requires_grad=True)
    ym, im = F.max_pool2d(xm, **settings_, return_indices=True)
    (ym * mc.tensor(g)).sum().backward()
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())


def test_max_pool2d_nan_propagates_like_torch():
    x = np.random.default_rng(1).standard_normal((1, 1, 6, 6))
    x[0, 0, 1, 2] = np.nan
    yt, it = TF.max_pool2d(torch.tensor(x), 3, 2, return_indices=True)
    ym, im = F.max_pool2d(mc.tensor(x), 3, 2, return_indices=True)
    np.testing.assert_array_equal(np.isnan(ym.numpy()), np.isnan(yt.numpy()))
    np.testing.assert_array_equal(im.numpy(), it.numpy())


@pytest.mark.parametrize("kernel,stride", [(2, 2), (3, 2), (2, 1)])
def test_max_pool2d_nan_and_ties_route_like_torch(kernel, stride):
    # several NaNs in one window (torch: the last one wins), zero ties (the first one wins);
    # (2, 2) on a 6x6 input takes the tiling backward path
    x = np.maximum(np.random.default_rng(3).standard_normal((2, 3, 6, 6)), 0)
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = x[1, 2, 2, 3] = x[1, 2, 3, 2] = np.nan
    xt = torch.tensor(x, requires_grad=True)
    yt, it = TF.max_pool2d(xt, kernel, stride, return_indices=True)
    g = np.arange(yt.numel(), dtype=np.float64).reshape(yt.shape) + 1
    yt.backward(torch.tensor(g))
    xm = mc.tensor(x, requires_grad=True)
    ym, im = F.max_pool2d(xm, kernel, stride, return_indices=True)
    (ym * mc.tensor(g)).sum().backward()
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())  # NaN == NaN here
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("cuda_kernels", [True, False])  # on a GPU: the CUDA kernel, or the array code
@pytest.mark.parametrize(
    "shape, kernel, stride",
    [
        ((3, 4, 8, 8), 2, 2),  # tiling windows (LeNet's 2x2/2): the write-once backward
        ((2, 3, 9, 6), 3, 3),
        ((2, 3, 9, 9), 3, 2),  # overlapping windows
        ((2, 3, 6, 6), 3, 1),
    ],
)
@pytest.mark.parametrize("special", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_backward_sends_an_inf_or_nan_gradient_only_to_the_argmax(
    device, cuda_kernels, shape, kernel, stride, special, dtype
):
    """torch routes each output gradient to its window's maximum alone; gy * (argmax == k) made
    0 * inf = NaN at the window's other pixels (the tiling path did)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = TF.max_pool2d(xt, kernel, stride)
    g = rng.standard_normal(yt.shape).astype(dtype)
    g[0, 0, 0, 0] = special
    g[-1, -1, -1, -1] = special
    g[1, 2, 1, 0] = np.inf
    yt.backward(torch.tensor(g))
    xm = mc.tensor(x, requires_grad=True, device=device)
    with cuda_kernels_enabled(cuda_kernels):
        F.max_pool2d(xm, kernel, stride).backward(mc.tensor(g, device=device))
    np.testing.assert_array_equal(np.isnan(xm.grad.numpy()), np.isnan(xt.grad.numpy()))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=0)


def test_max_pool2d_tiling_backward_audit_case():
    x = mc.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    g = np.ones((1, 1, 2, 2))
    g[0, 0, 0, 0] = np.inf
    F.max_pool2d(x, 2).backward(mc.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy()[0, 0, :2, :2], [[0, 0], [0, np.inf]])


def test_max_pool2d_all_neg_inf_windows_point_at_their_first_real_pixel():
    """The audit's reproducer: torch starts each window's scan at its first real pixel, so
    -inf windows never point into the padding, and their gradient is not lost."""
    x = np.full((1, 1, 4, 4), -np.inf)
    xt = torch.tensor(x, requires_grad=True)
    yt, it = TF.max_pool2d(xt, 2, padding=1, return_indices=True)
    assert it.numpy().ravel().tolist() == [0, 1, 3, 4, 5, 7, 12, 13, 15]
    xm = mc.tensor(x, requires_grad=True)
    ym, im = F.max_pool2d(xm, 2, padding=1, return_indices=True)
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    g = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    yt.backward(torch.tensor(g))
    (ym * mc.tensor(g)).sum().backward()
    np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())


@SETTINGS
@given(
    s=pool_settings(),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    p_neg_inf=st.sampled_from([0.3, 0.8, 1.0]),
    nan=st.booleans(),
    seed=st.integers(0, 2**16),
)
@pytest.mark.parametrize("device", devices())
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # sum(y * gy) meets inf - inf
def test_max_pool2d_neg_inf_windows_match_torch(device, s, h, w, p_neg_inf, nan, seed):
    """Inputs mostly -inf (and some NaN) with padding: values, indices and gradients as torch,
    on the array code and (device cuda) the CUDA kernel."""
    from minicnn.kernels import pool as K

    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, (2, 2, h, w)).astype(np.float64)
    x[rng.random(x.shape) < p_neg_inf] = -np.inf
    if nan:
        x[rng.random(x.shape) < 0.1] = np.nan
    xt = torch.tensor(x, requires_grad=True)
    if not torch_valid(lambda t: TF.max_pool2d(t, **s), xt):
        return
    g = K.pool_geometry(x.shape, s["kernel_size"], s["stride"], s["padding"], s["dilation"], s["ceil_mode"])
    i0, j0 = np.divmod(K._first_real_offsets(g, np.int64), g.kw)
    rows = (np.arange(g.oh) * g.sh - g.ph)[:, None] + i0 * g.dh
    cols = (np.arange(g.ow) * g.sw - g.pw)[None, :] + j0 * g.dw
    assume(bool(((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).all()))  # else torch's index is garbage
    yt, it = TF.max_pool2d(xt, **s, return_indices=True)
    xm = mc.tensor(x, requires_grad=True, device=device)
    ym, im = F.max_pool2d(xm, **s, return_indices=True)
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    gy = rng.standard_normal(yt.shape)
    yt.backward(torch.tensor(gy))
    (ym * mc.tensor(gy, device=device)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool2d_unbatched_and_float32():
    x = np.random.default_rng(2).standard_normal((3, 9, 8))
    compare_with_torch(
        lambda t: F.max_pool2d(t, 2, 2, 1, ceil_mode=True),
        lambda t: TF.max_pool2d(t, 2, 2, 1, ceil_mode=True),
        [x],
        dtype=np.float32,
    )


def test_max_pool2d_no_grad_path_equals_grad_path():
    x = mc.randn(2, 3, 11, 10)
    with mc.no_grad():
        a = F.max_pool2d(x, 3, 2, 1).numpy()
    b = F.max_pool2d(mc.tensor(x.numpy(), requires_grad=True), 3, 2, 1).numpy()
    np.testing.assert_array_equal(a, b)


def test_max_pool2d_gradcheck():
    x = mc.tensor(np.random.default_rng(3).standard_normal((1, 2, 7, 6)), requires_grad=True)
    assert mc.gradcheck(lambda t: F.max_pool2d(t, 3, 2, padding=1, dilation=(1, 2), ceil_mode=True), [x])


# -- average pooling ---------------------------------------------------------------------------
@SETTINGS
@given(
    s=pool_settings(dilation=False),
    count_include_pad=st.booleans(),
    divisor_override=st.one_of(st.none(), st.integers(1, 5)),
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    h=st.integers(1, 11),
    w=st.integers(1, 11),
    seed=st.integers(0, 2**16),
)
def test_avg_pool2d_matches_torch(s, count_include_pad, divisor_override, n, c, h, w, seed):
    s.pop("dilation")
    s.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    x = input_array(seed, (n, c, h, w), ties=False)
    if not torch_valid(lambda t: TF.avg_pool2d(t, **s), torch.tensor(x)):
        with pytest.raises(ValueError, match="avg_pool2d"):
            F.avg_pool2d(mc.tensor(x), **s)
        return
    compare_with_torch(lambda t: F.avg_pool2d(t, **s), lambda t: TF.avg_pool2d(t, **s), [x], seed=seed)


@pytest.mark.parametrize("device", devices())
def test_avg_pool2d_ceil_mode_clipped_divisor_float32(device):
    """ceil_mode windows hanging past the padded input divide by their clipped size."""
    x = np.random.default_rng(4).standard_normal((2, 3, 8, 7))
    for cip in (True, False):
        compare_with_torch(
            lambda t, c=cip: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=c),
            lambda t, c=cip: TF.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=c),
            [x],
            dtype=np.float32,
            device=device,
        )


def test_avg_pool2d_gradcheck():
    x = mc.tensor(np.random.default_rng(5).standard_normal((1, 2, 7, 6)), requires_grad=True)
    assert mc.gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])


# -- adaptive pooling --------------------------------------------------------------------------
ADAPTIVE_CASES = [
    ((7, 5), (3, 2)),
    ((10, 10), (3, 4)),
    ((5, 5), (5, 5)),
    ((4, 9), (7, 3)),
    ((1, 1), (2, 2)),
    ((6, 6), (1, 1)),
    ((13, 13), (6, 6)),
    ((8, 5), (None, 3)),
    ((9, 7), 4),
]


@pytest.mark.parametrize("hw,out", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d_matches_torch(hw, out):
    x = np.random.default_rng(6).standard_normal((2, 3) + hw)
    compare_with_torch(lambda t: F.adaptive_avg_pool2d(t, out), lambda t: TF.adaptive_avg_pool2d(t, out), [x])
    compare_with_torch(
        lambda t: F.adaptive_avg_pool2d(t, out), lambda t: TF.adaptive_avg_pool2d(t, out), [x], dtype=np.float32
    )


@pytest.mark.parametrize("hw,out", ADAPTIVE_CASES)
@pytest.mark.parametrize("ties", [False, True])
def test_adaptive_max_pool2d_matches_torch(hw, out, ties):
    x = input_array(7, (2, 3) + hw, ties)
    xt = torch.tensor(x, requires_grad=True)
    yt, it = TF.adaptive_max_pool2d(xt, out, return_indices=True)
    xm = mc.tensor(x, requires_grad=True)
    ym, im = F.adaptive_max_pool2d(xm, out, return_indices=True)
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    g = np.random.default_rng(8).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    (ym * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    oh=st.integers(1, 14),
    ow=st.integers(1, 14),
    special=st.sampled_from([None, np.inf, -np.inf, np.nan]),
    grad_inf=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
@pytest.mark.parametrize("device", devices())
def test_adaptive_avg_pool2d_keeps_non_finite_values_in_their_bins(
    device, h, w, oh, ow, special, grad_inf, dtype, seed
):
    """Any sizes (tiling, out > in, overlapping bins), with an inf or NaN pixel: it spoils only
    the outputs of the bins holding it, and an inf in gy only the gradients of its bin's
    pixels, as in torch (the old dense A_h @ x @ A_w^T made 0 * inf = NaN elsewhere)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, h, w)).astype(dtype)
    if special is not None:
        x[1, 0, rng.integers(h), rng.integers(w)] = special
    xt = torch.tensor(x, requires_grad=True)
    yt = TF.adaptive_avg_pool2d(xt, (oh, ow))
    xm = mc.tensor(x, requires_grad=True, device=device)
    ym = F.adaptive_avg_pool2d(xm, (oh, ow))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert ym.dtype == dtype
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **tol)
    # a pixel's gradient sums about (oh/h + 1)(ow/w + 1) bins' shares: float32 rounding grows with it
    overlap = (oh / h + 1) * (ow / w + 1)
    tol = dict(rtol=1e-5, atol=1e-6 * overlap) if dtype == np.float32 else tol
    g = rng.standard_normal(yt.shape).astype(dtype)
    if grad_inf:
        g[0, 1, rng.integers(oh), rng.integers(ow)] = np.inf
    yt.backward(torch.tensor(g))
    ym.backward(mc.tensor(g, device=device))
    assert xm.grad.dtype == dtype
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **tol)


def test_adaptive_avg_pool2d_inf_pixel_audit_case():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 0] = np.inf
    np.testing.assert_array_equal(F.adaptive_avg_pool2d(mc.tensor(x), 2).numpy().ravel(), [np.inf, 4.5, 10.5, 12.5])
    y = F.adaptive_avg_pool2d(mc.tensor(x), 3).numpy()  # overlapping bins: only those holding (0, 0)
    np.testing.assert_array_equal(y, TF.adaptive_avg_pool2d(torch.tensor(x), 3).numpy())


@SETTINGS
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    oh=st.integers(1, 10),
    ow=st.integers(1, 10),
    p_nan=st.sampled_from([0.1, 0.4]),
    neg_inf=st.booleans(),
    seed=st.integers(0, 2**16),
)
@pytest.mark.parametrize("device", devices())
def test_adaptive_max_pool2d_nan_takes_the_last_nan_like_torch(device, h, w, oh, ow, p_nan, neg_inf, seed):
    """torch scans each bin with ``val > max || isnan(val)``: the last NaN wins (argmax took the
    first), ties go to the first maximum, a bin of -inf to its first pixel."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, (2, 2, h, w)).astype(np.float64)
    if neg_inf:
        x[rng.random(x.shape) < 0.6] = -np.inf
    x[rng.random(x.shape) < p_nan] = np.nan
    xt = torch.tensor(x, requires_grad=True)
    yt, it = TF.adaptive_max_pool2d(xt, (oh, ow), return_indices=True)
    xm = mc.tensor(x, requires_grad=True, device=device)
    ym, im = F.adaptive_max_pool2d(xm, (oh, ow), return_indices=True)
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    g = rng.standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    ym.backward(mc.tensor(g, device=device))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_adaptive_pools_reject_a_bare_none_output_size():
    x = mc.randn(1, 2, 5, 5)
    for fn, tfn in ((F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d), (F.adaptive_max_pool2d, TF.adaptive_max_pool2d)):
        with pytest.raises(TypeError):
            tfn(torch.randn(1, 2, 5, 5), None)
        with pytest.raises(TypeError, match="output_size"):
            fn(x, None)
        assert fn(x, (None, 2)).shape == (1, 2, 5, 2)  # None inside a pair keeps that axis
    with pytest.raises(TypeError, match="output_size"):
        nn.AdaptiveAvgPool2d(None)(x)


@pytest.mark.parametrize("device", devices())
def test_adaptive_pools_on_device(device):
    x = np.random.default_rng(9).standard_normal((2, 3, 7, 9))
    compare_with_torch(
        lambda t: F.adaptive_max_pool2d(t, (3, 4)),
        lambda t: TF.adaptive_max_pool2d(t, (3, 4)),
        [x],
        dtype=np.float32,
        device=device,
    )
    compare_with_torch(
        lambda t: F.adaptive_avg_pool2d(t, (3, 4)),
        lambda t: TF.adaptive_avg_pool2d(t, (3, 4)),
        [x],
        dtype=np.float32,
        device=device,
    )


def test_adaptive_pools_gradcheck():
    x = mc.tensor(np.random.default_rng(10).standard_normal((1, 2, 7, 5)), requires_grad=True)
    assert mc.gradcheck(lambda t: F.adaptive_avg_pool2d(t, (3, 2)), [x])
    assert mc.gradcheck(lambda t: F.adaptive_max_pool2d(t, (3, 2)), [x])
    # tiling bins, out > in, and one axis of each kind (the kernels' separate paths)
    for out in [(7, 1), (1, 5), (14, 3), (2, 9), (None, 10)]:
        assert mc.gradcheck(lambda t, out=out: F.adaptive_avg_pool2d(t, out), [x])


# -- layers and errors -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.MaxPool2d(3, 2),
        lambda m: m.MaxPool2d((3, 2), (1, 2), 1, 2, ceil_mode=True),
        lambda m: m.AvgPool2d(3),
        lambda m: m.AvgPool2d(2, 1, 1, ceil_mode=True, count_include_pad=False),
        lambda m: m.AdaptiveAvgPool2d((6, None)),
        lambda m: m.AdaptiveMaxPool2d(2),
    ],
)
def test_pool_layers_match_torch_layers(make):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(11).standard_normal((2, 3, 9, 8))
    compare_with_torch(ours, theirs, [x], dtype=np.float32)


def test_max_pool_layer_return_indices():
    ym, im = nn.MaxPool2d(2, return_indices=True)(mc.randn(1, 2, 4, 4))
    assert ym.shape == im.shape == (1, 2, 2, 2)


def test_pool_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=3.*\(N, C, H, W\).*got shape \(5, 5\)"):
        nn.MaxPool2d(3, 2)(mc.randn(5, 5))
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d.*got shape \(2, 3, 4, 4, 4\)"):
        nn.AdaptiveAvgPool2d(1)(mc.randn(2, 3, 4, 4, 4))
    with pytest.raises(ValueError, match=r"AvgPool2d.*\(1, 1, 2, 2\) is too small"):
        nn.AvgPool2d(3)(mc.randn(1, 1, 2, 2))
    with pytest.raises(ValueError, match="padding"):
        F.max_pool2d(mc.randn(1, 1, 8, 8), 3, padding=2)
    with pytest.raises(ValueError, match="positive"):
        F.max_pool2d(mc.randn(1, 1, 8, 8), 3, stride=0)
    with pytest.raises(TypeError, match="floating point"):
        F.max_pool2d(mc.tensor(np.ones((1, 1, 4, 4), dtype=np.int64)), 2)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize(
    "shape, args",
    [
        ((1, 1, 8, 8), (3, 1, 2)),  # padding above half the kernel
        ((1, 1, 8, 8), ((2, 3), 1, (0, 2))),
        ((1, 1, 8, 8), (3, 0)),  # stride 0
        ((1, 1, 6, 1), ((1, 3), (3, 2))),  # kernel wider than the input: an empty output
        ((1, 1, 1, 5, 5), (2,)),  # rank
    ],
)
def test_pool2d_bad_settings_raise_torchs_runtime_error(name, shape, args):
    """torch raises RuntimeError for these; minicnn's ShapeError is one (and a ValueError)."""
    with pytest.raises(RuntimeError):
        getattr(TF, name)(torch.zeros(shape), *args)
    with pytest.raises(RuntimeError, match=name):
        getattr(F, name)(mc.zeros(shape), *args)


def test_avg_pool2d_zero_divisor_override_is_torchs_runtime_error():
    with pytest.raises(RuntimeError):
        TF.avg_pool2d(torch.zeros(1, 1, 4, 4), 2, divisor_override=0)
    with pytest.raises(RuntimeError, match="divisor_override"):
        F.avg_pool2d(mc.zeros(1, 1, 4, 4), 2, divisor_override=0)
