"""unfold / fold, conv_transpose2d, interpolate and the 1-d conv/pools against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, rand
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn.conv import Conv1d, ConvTranspose1d, ConvTranspose2d, Fold, Unfold
from minicnn.nn.pooling import AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, MaxPool1d
from minicnn.nn.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from minicnn.ops.conv1d import (
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    avg_pool1d,
    conv1d,
    conv_transpose1d,
    max_pool1d,
)
from minicnn.ops.conv_transpose import conv_transpose2d, fold, unfold
from minicnn.ops.upsample import interpolate

FAST = settings(max_examples=20, deadline=None)


def same_error(mc_call, torch_call) -> None:
    """torch raises; minicnn raises an exception of the same type (or a subclass of it)."""
    with pytest.raises(Exception) as torch_err:
        torch_call()
    with pytest.raises(type(torch_err.value)):
        mc_call()


# -- unfold / fold -------------------------------------------------------------------------


@st.composite
def window_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    h = draw(st.integers(max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]), 8))
    w = draw(st.integers(max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1]), 8))
    return draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w, k, d, p, s


@FAST
@given(window_cases(), st.booleans())
def test_unfold_matches_torch(case, as_int):
    n, c, h, w, k, d, p, s = case
    if as_int:  # torch's int forms
        k, d, p, s = k[0], d[0], p[0], s[0]
        h, w = max(h, d * (k - 1) + 1 - 2 * p), max(w, d * (k - 1) + 1 - 2 * p)
    x = rand(np.random.default_rng(0), (n, c, h, w))
    compare_with_torch(
        lambda t: unfold(t, k, dilation=d, padding=p, stride=s),
        lambda t: TF.unfold(t, k, dilation=d, padding=p, stride=s),
        [x],
    )


@FAST
@given(window_cases())
def test_fold_matches_torch(case):
    n, c, h, w, k, d, p, s = case
    blocks = [(size + 2 * pad - dil * (kk - 1) - 1) // st_ + 1 for size, kk, dil, pad, st_ in zip((h, w), k, d, p, s)]
    cols = rand(np.random.default_rng(1), (n, c * k[0] * k[1], blocks[0] * blocks[1]))
    compare_with_torch(
        lambda t: fold(t, (h, w), k, dilation=d, padding=p, stride=s),
        lambda t: TF.fold(t, (h, w), k, dilation=d, padding=p, stride=s),
        [cols],
    )


def test_unfold_fold_unbatched_and_modules():
    x = rand(np.random.default_rng(2), (3, 5, 6))
    compare_with_torch(lambda t: unfold(t, (2, 3), padding=1), lambda t: TF.unfold(t, (2, 3), padding=1), [x])
    cols = rand(np.random.default_rng(3), (12, 20))
    compare_with_torch(lambda t: fold(t, (5, 6), 2), lambda t: TF.fold(t, (5, 6), 2), [cols])
    compare_with_torch(Unfold((2, 3), dilation=2, padding=1, stride=2), torch.nn.Unfold((2, 3), 2, 1, 2), [x[None]])
    compare_with_torch(
        Fold(output_size=(5, 6), kernel_size=2), torch.nn.Fold(output_size=(5, 6), kernel_size=2), [cols]
    )
    for ours, theirs in (
        (Unfold(3), torch.nn.Unfold(3)),
        (Unfold((2, 3), dilation=2, padding=1, stride=2), torch.nn.Unfold((2, 3), dilation=2, padding=1, stride=2)),
        (Fold((5, 5), 3), torch.nn.Fold((5, 5), 3)),
        (Fold(5, (2, 3), stride=2), torch.nn.Fold(5, (2, 3), stride=2)),
    ):
        assert repr(ours) == repr(theirs)
        assert ours.state_dict() == {} and len(theirs.state_dict()) == 0


def test_fold_is_the_adjoint_of_unfold():
    rng = np.random.default_rng(4)
    x, cols = rand(rng, (2, 3, 7, 6)), rand(rng, (2, 3 * 6, 3 * 2))
    args = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(3, 2))
    u = unfold(mc.tensor(x), **args).numpy()
    f = fold(mc.tensor(cols), (7, 6), **args).numpy()
    assert np.isclose((u * cols).sum(), (x * f).sum(), rtol=1e-12)


def test_unfold_fold_gradcheck():
    rng = np.random.default_rng(5)
    x = mc.tensor(rand(rng, (2, 2, 5, 4)), requires_grad=True)
    assert mc.gradcheck(lambda t: unfold(t, (2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2)), [x])
    cols = mc.tensor(rand(rng, (2, 2 * 6, 9)), requires_grad=True)
    assert mc.gradcheck(lambda t: fold(t, (4, 5), (2, 3), padding=1, stride=2), [cols])


@pytest.mark.parametrize("device", devices())
def test_unfold_fold_devices(device):
    x = rand(np.random.default_rng(6), (2, 3, 6, 5))
    compare_with_torch(
        lambda t: unfold(t, 3, padding=1, stride=2), lambda t: TF.unfold(t, 3, padding=1, stride=2), [x], device=device
    )
    cols = rand(np.random.default_rng(7), (2, 3 * 4, 42))
    compare_with_torch(
        lambda t: fold(t, (6, 5), 2, padding=1), lambda t: TF.fold(t, (6, 5), 2, padding=1), [cols], device=device
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda F, x, c: F.unfold(x, 7),
        lambda F, x, c: F.unfold(x, 3, stride=0),
        lambda F, x, c: F.unfold(x, (3, 3, 3)),
        lambda F, x, c: F.unfold(x, 2, padding=-1),
        lambda F, x, c: F.unfold(x[None], 2),
        lambda F, x, c: F.fold(c, (5, 5), 3, stride=2),
        lambda F, x, c: F.fold(c[:, :35], (5, 5), 3),
        lambda F, x, c: F.fold(c[None], (5, 5), 3),
        lambda F, x, c: F.fold(c, (5, 5), 3, padding=-1),
    ],
)
def test_unfold_fold_errors_match_torch(call):
    x, c = rand(np.random.default_rng(8), (2, 4, 5, 5)), rand(np.random.default_rng(9), (2, 36, 9))
    mc_f = type("F", (), {"unfold": staticmethod(unfold), "fold": staticmethod(fold)})
    same_error(lambda: call(mc_f, mc.tensor(x), mc.tensor(c)), lambda: call(TF, torch.tensor(x), torch.tensor(c)))


# -- conv_transpose2d ------------------------------------------------------------------------


@st.composite
def transpose_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(2))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    # padding up to what keeps the output non-empty
    p = tuple(
        draw(st.integers(0, max(0, min(2, ((size - 1) * s[a] + d[a] * (k[a] - 1) + op[a]) // 2))))
        for a, size in enumerate((h, w))
    )
    return draw(st.integers(1, 2)), cin, cout, h, w, k, s, p, op, d, groups, draw(st.booleans())


@FAST
@given(transpose_cases())
def test_conv_transpose2d_matches_torch(case):
    n, cin, cout, h, w, k, s, p, op, d, groups, with_bias = case
    rng = np.random.default_rng(10)
    arrays = [rand(rng, (n, cin, h, w)), rand(rng, (cin, cout // groups, *k))] + ([rand(rng, (cout,))] * with_bias)

    def call(F):
        return lambda *t: F.conv_transpose2d(*t, stride=s, padding=p, output_padding=op, groups=groups, dilation=d)

    compare_with_torch(call(mc.ops.conv_transpose), call(TF), arrays)


def test_conv_transpose2d_keywords_unbatched_and_edges():
    rng = np.random.default_rng(11)
    x, wt, b = rand(rng, (3, 4, 5)), rand(rng, (3, 2, 2, 3)), rand(rng, (2,))
    kw = dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=1, dilation=(1, 2))
    compare_with_torch(
        lambda x, w, b: conv_transpose2d(input=x, weight=w, bias=b, **kw),
        lambda x, w, b: TF.conv_transpose2d(input=x, weight=w, bias=b, **kw),
        [x, wt, b],
    )
    # every column lands in the padding (output = bias only), and an empty batch
    edge = dict(stride=3, padding=1, output_padding=2)
    compare_with_torch(
        lambda *t: conv_transpose2d(*t, **edge),
        lambda *t: TF.conv_transpose2d(*t, **edge),
        [rand(rng, (1, 2, 1, 1)), rand(rng, (2, 2, 1, 1)), rand(rng, (2,))],
    )
    compare_with_torch(conv_transpose2d, TF.conv_transpose2d, [rand(rng, (0, 2, 3, 3)), rand(rng, (2, 3, 2, 2))])


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(12)
    x, w, gy = rand(rng, (2, 4, 8, 6)), rand(rng, (6, 2, 3, 2)), rand(rng, (2, 6, 4, 4))
    xt = mc.tensor(x, requires_grad=True)
    (mc.nn.functional.conv2d(xt, mc.tensor(w), stride=2, padding=1, groups=2) * mc.tensor(gy)).sum().backward()
    y = conv_transpose2d(mc.tensor(gy), mc.tensor(w), stride=2, padding=1, output_padding=(1, 0), groups=2)
    np.testing.assert_allclose(y.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_gradcheck():
    rng = np.random.default_rng(13)
    x = mc.tensor(rand(rng, (2, 4, 3, 4)), requires_grad=True)
    w = mc.tensor(rand(rng, (4, 3, 2, 3)), requires_grad=True)
    b = mc.tensor(rand(rng, (6,)), requires_grad=True)
    kw = dict(stride=(2, 3), padding=1, output_padding=(1, 0), groups=2, dilation=(1, 2))
    assert mc.gradcheck(lambda x, w, b: conv_transpose2d(x, w, b, **kw), [x, w, b])


@pytest.mark.parametrize("device", devices())
def test_conv_transpose2d_devices(device):
    rng = np.random.default_rng(14)
    arrays = [rand(rng, (2, 4, 5, 4)), rand(rng, (4, 3, 3, 3)), rand(rng, (6,))]
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)
    compare_with_torch(
        lambda *t: conv_transpose2d(*t, **kw), lambda *t: TF.conv_transpose2d(*t, **kw), arrays, device=device
    )
    layer = ConvTranspose2d(4, 6, 3, stride=2, device=device)
    assert layer.weight.device.startswith(device)
    assert layer(mc.randn(1, 4, 3, 3, device=device)).shape == (1, 6, 7, 7)


@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (3, 2, 3, 3))),
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (4, 2, 3, 3)), output_padding=1),
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (4, 2, 3, 3)), groups=3),
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (4, 2, 3, 3)), torch_or_mc(F, (3,))),
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (4, 2, 3, 3)), padding=9),
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (4, 2, 3, 3)), stride=0),
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (4, 2, 3, 3)), padding=-1),
        lambda F, x: F.conv_transpose2d(x[0, 0], torch_or_mc(F, (4, 2, 3, 3))),
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (4, 2, 3))),
        lambda F, x: F.conv_transpose2d(x, torch_or_mc(F, (4, 2, 3, 3), np.float32)),
    ],
)
def test_conv_transpose2d_errors_match_torch(call):
    x = rand(np.random.default_rng(15), (2, 4, 5, 5))
    same_error(lambda: call(mc.ops.conv_transpose, mc.tensor(x)), lambda: call(TF, torch.tensor(x)))


def torch_or_mc(F, shape, dtype=np.float64):
    a = np.ones(shape, dtype=dtype)
    return torch.tensor(a) if F is TF else mc.tensor(a)


@pytest.mark.parametrize(
    "args",
    [
        (4, 6, 3),
        dict(
            in_channels=4,
            out_channels=6,
            kernel_size=(3, 2),
            stride=2,
            padding=1,
            output_padding=1,
            groups=2,
            bias=False,
            dilation=2,
        ),
        (2, 3, (1, 4), (1, 2), 0, (0, 1)),
    ],
)
def test_conv_transpose2d_module_matches_torch(args):
    ours = ConvTranspose2d(**args) if isinstance(args, dict) else ConvTranspose2d(*args)
    theirs = torch.nn.ConvTranspose2d(**args) if isinstance(args, dict) else torch.nn.ConvTranspose2d(*args)
    assert repr(ours) == repr(theirs)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    assert all(tuple(ours_sd[k].shape) == tuple(theirs_sd[k].shape) for k in ours_sd)
    assert ours.weight.dtype == np.float32
    ours.load_state_dict({k: mc.tensor(v.numpy()) for k, v in theirs_sd.items()})
    x = rand(np.random.default_rng(16), (2, ours.in_channels, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours(mc.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5
    )


def test_conv_transpose2d_default_init_statistics():
    mc.manual_seed(0)
    layer = ConvTranspose2d(8, 64, (3, 5), groups=4)  # torch's fan_in: (64/4) * 3 * 5 = 240
    bound = 1 / math.sqrt(240)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.9 * bound
        assert abs(p.std() - bound / math.sqrt(3)) < 0.1 * bound
    t = torch.nn.ConvTranspose2d(8, 64, (3, 5), groups=4)
    assert abs(t.weight.detach().abs().max().item() - layer.weight.numpy().__abs__().max()) < 0.1 * bound


def test_conv_transpose2d_module_output_size_and_errors():
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    ours = ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=np.float64)
    ours.load_state_dict({k: mc.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = rand(np.random.default_rng(17), (1, 3, 4, 5))
    for size in ([8, 9], (1, 2, 7, 10), None):
        np.testing.assert_allclose(
            ours(mc.tensor(x), output_size=size).numpy(),
            theirs(torch.tensor(x), output_size=size).detach().numpy(),
            rtol=1e-12,
            atol=1e-12,
        )
    same_error(lambda: ours(mc.tensor(x), output_size=[20, 20]), lambda: theirs(torch.tensor(x), output_size=[20, 20]))
    for kwargs in (dict(groups=4), dict(padding_mode="reflect")):
        same_error(
            lambda kw=kwargs: ConvTranspose2d(4, 6, 3, **kw), lambda kw=kwargs: torch.nn.ConvTranspose2d(4, 6, 3, **kw)
        )


# -- interpolate / Upsample -------------------------------------------------------------------


@st.composite
def resize_cases(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic", "area"]))
    align = draw(st.booleans()) if mode in ("bilinear", "bicubic") else None
    how = draw(st.sampled_from(["size", "scale", "scale_pair", "recompute"]))
    if how == "size":
        kw = dict(size=(draw(st.integers(1, 12)), draw(st.integers(1, 12))))
    else:
        factors = st.sampled_from([0.5, 0.75, 1.0, 1.1, 1.5, 2.0, 2.5, 3.0, 1 / 3])
        f = (draw(factors), draw(factors)) if how == "scale_pair" else draw(factors)
        kw = dict(scale_factor=f, recompute_scale_factor=True if how == "recompute" else None)
        pairs = f if isinstance(f, tuple) else (f, f)
        h, w = max(h, math.ceil(1 / pairs[0])), max(w, math.ceil(1 / pairs[1]))  # a non-empty output
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), mode, align, kw


@FAST
@given(resize_cases(), st.sampled_from([np.float64, np.float32]))
def test_interpolate_matches_torch(case, dtype):
    shape, mode, align, kw = case
    x = rand(np.random.default_rng(20), shape)
    factor = kw.get("scale_factor")
    factors = factor if isinstance(factor, tuple) else (factor, factor)
    # bicubic with a scale factor resamples axes that keep their size, but when both do torch's
    # backward copies the gradient (test_interpolate_sizes_that_keep_or_double): compare the
    # forward only there
    torch_grad_wrong = (
        mode == "bicubic"
        and factor is not None
        and not kw.get("recompute_scale_factor")
        and all(math.floor(n * f) == n for n, f in zip(shape[2:], factors))
        and any(f != 1.0 for f in factors)
    )
    compare_with_torch(
        lambda t: interpolate(t, mode=mode, align_corners=align, **kw),
        lambda t: TF.interpolate(t, mode=mode, align_corners=align, **kw),
        [x],
        grad_inputs=[not torch_grad_wrong],
        dtype=dtype,
    )


@FAST
@given(
    mode=st.sampled_from(["nearest", "nearest-exact", "linear", "area"]),
    length=st.integers(1, 9),
    how=st.sampled_from([dict(size=1), dict(size=7), dict(size=(12,)), dict(scale_factor=1.5), dict(scale_factor=2.5)])
    | st.sampled_from([dict(scale_factor=(0.75,), recompute_scale_factor=True), dict(scale_factor=3.0)]),
    align=st.booleans(),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_interpolate_1d_matches_torch(mode, length, how, align, dtype):
    """(N, C, L) input: nearest, nearest-exact, linear (with both corner rules) and area."""
    factor = how.get("scale_factor")
    if factor is not None:  # a non-empty output
        assume(math.floor(length * (factor[0] if isinstance(factor, tuple) else factor)) >= 1)
    kw = dict(how, align_corners=align if mode == "linear" else None)
    compare_with_torch(
        lambda t: interpolate(t, mode=mode, **kw),
        lambda t: TF.interpolate(t, mode=mode, **kw),
        [rand(np.random.default_rng(length), (2, 3, length))],
        dtype=dtype,
    )


@pytest.mark.parametrize("mode", ["linear", "area"])
def test_interpolate_linear_and_area_gradcheck(mode):
    x = mc.tensor(rand(np.random.default_rng(29), (2, 2, 5)), requires_grad=True)
    for kw in (dict(size=8), dict(scale_factor=0.6)):
        assert mc.gradcheck(lambda t, kw=kw: interpolate(t, mode=mode, **kw), [x])
    if mode == "area":
        x4 = mc.tensor(rand(np.random.default_rng(30), (1, 2, 5, 4)), requires_grad=True)
        assert mc.gradcheck(lambda t: interpolate(t, size=(3, 6), mode="area"), [x4])


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_3d_nearest_and_positional_call(mode):
    x = rand(np.random.default_rng(21), (2, 3, 7))
    for kw in (dict(size=5), dict(scale_factor=1.7), dict(scale_factor=(2.0,))):
        compare_with_torch(
            lambda t, kw=kw: interpolate(t, mode=mode, **kw), lambda t, kw=kw: TF.interpolate(t, mode=mode, **kw), [x]
        )
    x4 = rand(np.random.default_rng(22), (1, 2, 4, 5))
    compare_with_torch(
        lambda t: interpolate(t, (6, 3), None, mode), lambda t: TF.interpolate(t, (6, 3), None, mode), [x4]
    )


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align", [False, True])
def test_interpolate_bilinear_and_bicubic_gradcheck(mode, align):
    x = mc.tensor(rand(np.random.default_rng(23), (2, 2, 4, 5)), requires_grad=True)
    assert mc.gradcheck(lambda t: interpolate(t, size=(7, 3), mode=mode, align_corners=align), [x])
    assert mc.gradcheck(lambda t: interpolate(t, scale_factor=1.5, mode=mode, align_corners=align), [x])


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_nearest_gradcheck(mode):
    x = mc.tensor(rand(np.random.default_rng(24), (2, 2, 5, 4)), requires_grad=True)
    assert mc.gradcheck(lambda t: interpolate(t, scale_factor=(0.6, 2.5), mode=mode), [x])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic", "area"])
def test_interpolate_devices(device, mode):
    x = rand(np.random.default_rng(25), (2, 3, 5, 6))
    compare_with_torch(
        lambda t: interpolate(t, scale_factor=1.5, mode=mode),
        lambda t: TF.interpolate(t, scale_factor=1.5, mode=mode),
        [x],
        device=device,
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(size=3, scale_factor=2),
        dict(size=3, mode="bicubicx"),
        dict(size=3, mode="nearest", align_corners=True),
        dict(size=(3, 4, 5)),
        dict(scale_factor=(2, 3, 4)),
        dict(size=0),
        dict(scale_factor=0.1),
        dict(size=3, recompute_scale_factor=True),
        dict(size=(3.0, 2)),
        dict(size=3, mode="linear"),
        dict(size=3, mode="area", align_corners=False),
    ],
)
def test_interpolate_errors_match_torch(kw):
    x = rand(np.random.default_rng(26), (2, 3, 5, 4))
    same_error(lambda: interpolate(mc.tensor(x), **kw), lambda: TF.interpolate(torch.tensor(x), **kw))


def test_interpolate_unsupported_is_not_implemented():
    x = mc.tensor(rand(np.random.default_rng(27), (2, 3, 5, 4)))
    for kw in (dict(mode="trilinear"), dict(mode="linear")):
        with pytest.raises(NotImplementedError):
            interpolate(x, size=3, **kw)
    same_error(
        lambda: interpolate(x[0], size=3, mode="bilinear"),
        lambda: TF.interpolate(torch.zeros(3, 5, 4), size=3, mode="bilinear"),
    )
    same_error(
        lambda: interpolate(mc.tensor(np.ones((1, 1, 2, 2), dtype=np.int64)), size=3),
        lambda: TF.interpolate(torch.ones(1, 1, 2, 2, dtype=torch.int64), size=3),
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Upsample(scale_factor=2),
        lambda nn: nn.Upsample(size=(7, 3), mode="bilinear", align_corners=True),
        lambda nn: nn.Upsample(scale_factor=(2, 1.5), mode="nearest-exact"),
        lambda nn: nn.Upsample(size=4, mode="bilinear"),
        lambda nn: nn.Upsample(scale_factor=1.5, mode="bilinear", recompute_scale_factor=True),
        lambda nn: nn.UpsamplingNearest2d(scale_factor=2),
        lambda nn: nn.UpsamplingBilinear2d(size=5),
        lambda nn: nn.UpsamplingBilinear2d(scale_factor=2.5),
    ],
)
def test_upsample_modules_match_torch(make):
    ns = type(
        "nn",
        (),
        dict(Upsample=Upsample, UpsamplingNearest2d=UpsamplingNearest2d, UpsamplingBilinear2d=UpsamplingBilinear2d),
    )
    ours, theirs = make(ns), make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict() == {} and len(theirs.state_dict()) == 0
    compare_with_torch(ours, theirs, [rand(np.random.default_rng(28), (2, 3, 4, 5))])


# -- conv1d, max_pool1d, avg_pool1d ---------------------------------------------------------------


@st.composite
def conv1d_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    p = draw(st.sampled_from([0, 1, 2, "same", "valid"])) if s == 1 else draw(st.integers(0, 2))
    pad = 0 if isinstance(p, str) else p
    length = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * pad), 10))
    return draw(st.integers(1, 2)), c, o, length, k, s, p, d, groups, draw(st.booleans())


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@FAST
@given(conv1d_cases())
def test_conv1d_matches_torch(case):
    n, c, o, length, k, s, p, d, groups, with_bias = case
    rng = np.random.default_rng(30)
    arrays = [rand(rng, (n, c, length)), rand(rng, (o, c // groups, k))] + [rand(rng, (o,))] * with_bias
    kw = dict(stride=s, padding=p, dilation=d, groups=groups)
    compare_with_torch(lambda *t: conv1d(*t, **kw), lambda *t: TF.conv1d(*t, **kw), arrays)


@st.composite
def pool1d_cases(draw):
    k, s = draw(st.integers(1, 4)), draw(st.sampled_from([None, 1, 2, 3]))
    p, d = draw(st.integers(0, k // 2)), draw(st.integers(1, 2))
    length = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 11))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), length), k, s, p, d, draw(st.booleans())


@FAST
@given(pool1d_cases(), st.booleans())
def test_pools1d_match_torch(case, count_include_pad):
    shape, k, s, p, d, ceil = case
    x = rand(np.random.default_rng(31), shape)
    mkw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    # a max-pool window made of padding only: torch's index points outside the row and its
    # backward writes into the next channel (test_max_pool1d_window_of_padding_only); compared apart
    out_len = TF.max_pool1d(torch.zeros(shape), **mkw).shape[-1]
    step = k if s is None else s
    assume(all(any(0 <= o * step - p + j * d < shape[-1] for j in range(k)) for o in range(out_len)))
    compare_with_torch(lambda t: max_pool1d(t, **mkw), lambda t: TF.max_pool1d(t, **mkw), [x])
    akw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=count_include_pad)
    compare_with_torch(lambda t: avg_pool1d(t, **akw), lambda t: TF.avg_pool1d(t, **akw), [x])


def test_max_pool1d_window_of_padding_only():
    """(1, 2, 1) input, kernel 2, padding 1, dilation 2: the one window is all padding. The output
    is -inf in both; torch's index is 1, outside the row of length 1, so its backward puts channel
    0's gradient into channel 1. minicnn sends that gradient nowhere."""
    x = np.array([0.3, 0.7]).reshape(1, 2, 1)
    _, idx = TF.max_pool1d(torch.tensor(x), 2, None, 1, 2, return_indices=True)
    assert idx.max().item() >= x.shape[-1]  # torch's out-of-row index
    t = mc.tensor(x, requires_grad=True)
    y = max_pool1d(t, 2, None, 1, 2)
    assert np.all(np.isneginf(y.numpy()))
    y.backward(mc.ones(1, 2, 1, dtype=mc.float64))
    assert np.array_equal(t.grad.numpy(), np.zeros((1, 2, 1)))


def test_1d_ops_unbatched_indices_and_gradcheck():
    rng = np.random.default_rng(32)
    x, w = rand(rng, (3, 9)), rand(rng, (4, 3, 3))
    compare_with_torch(lambda a, b: conv1d(a, b, padding=1), lambda a, b: TF.conv1d(a, b, padding=1), [x, w])
    compare_with_torch(lambda a: max_pool1d(a, 2), lambda a: TF.max_pool1d(a, 2), [x])
    compare_with_torch(lambda a: avg_pool1d(a, (3,), (2,)), lambda a: TF.avg_pool1d(a, (3,), (2,)), [x])
    y, i = max_pool1d(mc.tensor(x[None]), 3, 2, 1, return_indices=True)
    ty, ti = TF.max_pool1d(torch.tensor(x[None]), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    xt, wt = mc.tensor(x[None], requires_grad=True), mc.tensor(w, requires_grad=True)
    bt = mc.tensor(rand(rng, (4,)), requires_grad=True)
    assert mc.gradcheck(lambda a, b, c: conv1d(a, b, c, stride=2, padding=2, dilation=2), [xt, wt, bt])
    assert mc.gradcheck(lambda a: avg_pool1d(a, 3, 2, 1, count_include_pad=False), [xt])


@pytest.mark.parametrize("device", devices())
def test_1d_ops_devices(device):
    rng = np.random.default_rng(33)
    arrays = [rand(rng, (2, 4, 11)), rand(rng, (6, 2, 3)), rand(rng, (6,))]
    kw = dict(stride=2, padding=1, groups=2)
    compare_with_torch(lambda *t: conv1d(*t, **kw), lambda *t: TF.conv1d(*t, **kw), arrays, device=device)
    compare_with_torch(lambda t: max_pool1d(t, 3, 2, 1), lambda t: TF.max_pool1d(t, 3, 2, 1), arrays[:1], device=device)


@pytest.mark.parametrize(
    "call",
    [
        lambda F, x, w: F.conv1d(x, w[:, :2]),
        lambda F, x, w: F.conv1d(x, w, padding=(1, 1)),
        lambda F, x, w: F.conv1d(x[None], w),
        lambda F, x, w: F.conv1d(x[..., :2], w),
        lambda F, x, w: F.max_pool1d(x, 30),
        lambda F, x, w: F.max_pool1d(x[None], 3),
        lambda F, x, w: F.avg_pool1d(x, 3, padding=2),
        lambda F, x, w: F.avg_pool1d(x, (3, 3)),
    ],
)
def test_1d_errors_match_torch(call):
    x, w = rand(np.random.default_rng(34), (2, 4, 9)), rand(np.random.default_rng(35), (3, 4, 3))
    mc_f = type(
        "F",
        (),
        dict(conv1d=staticmethod(conv1d), max_pool1d=staticmethod(max_pool1d), avg_pool1d=staticmethod(avg_pool1d)),
    )
    same_error(lambda: call(mc_f, mc.tensor(x), mc.tensor(w)), lambda: call(TF, torch.tensor(x), torch.tensor(w)))


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Conv1d(3, 4, 3),
        lambda nn: nn.Conv1d(4, 6, (2,), stride=2, padding=1, dilation=2, groups=2, bias=False),
        lambda nn: nn.Conv1d(3, 3, 3, padding="same"),
        lambda nn: nn.MaxPool1d(3),
        lambda nn: nn.MaxPool1d(3, 2, 1, 2, False, True),
        lambda nn: nn.AvgPool1d(3),
        lambda nn: nn.AvgPool1d(3, 2, 1, True, False),
        lambda nn: nn.ConvTranspose1d(3, 4, 3),
        lambda nn: nn.ConvTranspose1d(4, 6, (2,), stride=2, padding=1, output_padding=1, groups=2, bias=False),
        lambda nn: nn.ConvTranspose1d(3, 2, 2, stride=3, dilation=2),
        lambda nn: nn.AdaptiveAvgPool1d(4),
        lambda nn: nn.AdaptiveMaxPool1d((3,)),
    ],
)
def test_1d_modules_match_torch(make):
    ns = type(
        "nn",
        (),
        dict(
            Conv1d=Conv1d,
            MaxPool1d=MaxPool1d,
            AvgPool1d=AvgPool1d,
            ConvTranspose1d=ConvTranspose1d,
            AdaptiveAvgPool1d=AdaptiveAvgPool1d,
            AdaptiveMaxPool1d=AdaptiveMaxPool1d,
        ),
    )
    ours, theirs = make(ns), make(torch.nn)
    assert repr(ours) == repr(theirs)
    theirs_sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_sd)
    assert all(tuple(ours.state_dict()[k].shape) == tuple(v.shape) for k, v in theirs_sd.items())
    ours.load_state_dict({k: mc.tensor(v.numpy()) for k, v in theirs_sd.items()})
    x = rand(np.random.default_rng(36), (2, getattr(ours, "in_channels", 3), 9)).astype(np.float32)
    compare_with_torch(ours, theirs, [x], dtype=np.float32, grad_inputs=[True])


@st.composite
def conv_transpose1d_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    p = draw(st.integers(0, 2))
    op = draw(st.integers(0, max(s, d) - 1))
    length = draw(st.integers(1, 7))
    assume((length - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1)
    return draw(st.sampled_from([(), (2,)])), c, o, length, k, s, p, op, d, groups, draw(st.booleans())


@FAST
@given(conv_transpose1d_cases(), st.sampled_from([np.float32, np.float64]))
def test_conv_transpose1d_matches_torch(case, dtype):
    batch, c, o, length, k, s, p, op, d, groups, with_bias = case
    rng = np.random.default_rng(37)
    arrays = [rand(rng, (*batch, c, length)), rand(rng, (c, o // groups, k))] + [rand(rng, (o,))] * with_bias
    kw = dict(stride=s, padding=p, output_padding=op, groups=groups, dilation=d)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}
    compare_with_torch(
        lambda *t: conv_transpose1d(*t, **kw), lambda *t: TF.conv_transpose1d(*t, **kw), arrays, dtype=dtype, **tol
    )


@FAST
@given(
    batch=st.sampled_from([(), (1,), (2,)]),
    length=st.integers(1, 12),
    out=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)
def test_adaptive_pools1d_match_torch(batch, length, out, seed):
    shape = (*batch, 3, length)
    x = np.random.default_rng(seed).permutation(math.prod(shape)).reshape(shape) / 7.0  # distinct: no max ties
    compare_with_torch(lambda t: adaptive_avg_pool1d(t, out), lambda t: TF.adaptive_avg_pool1d(t, out), [x])
    compare_with_torch(lambda t: adaptive_max_pool1d(t, out), lambda t: TF.adaptive_max_pool1d(t, out), [x])
    _, ours = adaptive_max_pool1d(mc.tensor(x), (out,), return_indices=True)
    _, theirs = TF.adaptive_max_pool1d(torch.tensor(x), (out,), return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == np.int64


def test_1d_transposed_and_adaptive_gradcheck():
    rng = np.random.default_rng(38)
    x = mc.tensor(rand(rng, (2, 4, 5)), requires_grad=True)
    w, b = mc.tensor(rand(rng, (4, 3, 3)), requires_grad=True), mc.tensor(rand(rng, (6,)), requires_grad=True)
    assert mc.gradcheck(lambda a, u, v: conv_transpose1d(a, u, v, 2, 1, 1, 2, 1), [x, w, b])
    assert mc.gradcheck(lambda a: adaptive_avg_pool1d(a, 3), [x])
    distinct = mc.tensor(rng.permutation(40).reshape(2, 4, 5).astype(np.float64), requires_grad=True)
    assert mc.gradcheck(lambda a: adaptive_max_pool1d(a, 3), [distinct])


@pytest.mark.parametrize("device", devices())
def test_1d_transposed_and_adaptive_on_device(device):
    rng = np.random.default_rng(39)
    arrays = [rand(rng, (2, 4, 7)), rand(rng, (4, 3, 3)), rand(rng, (6,))]
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)
    compare_with_torch(
        lambda *t: conv_transpose1d(*t, **kw), lambda *t: TF.conv_transpose1d(*t, **kw), arrays, device=device
    )
    compare_with_torch(
        lambda t: adaptive_avg_pool1d(t, 3), lambda t: TF.adaptive_avg_pool1d(t, 3), arrays[:1], device=device
    )
    compare_with_torch(
        lambda t: adaptive_max_pool1d(t, 4), lambda t: TF.adaptive_max_pool1d(t, 4), arrays[:1], device=device
    )


def test_conv_transpose1d_output_size_and_errors_as_torch():
    ours, theirs = ConvTranspose1d(3, 2, 3, stride=3), torch.nn.ConvTranspose1d(3, 2, 3, stride=3)
    ours.load_state_dict({k: mc.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = rand(np.random.default_rng(40), (1, 3, 4))
    for size in ([13], (1, 2, 14), None):
        np.testing.assert_allclose(
            ours(mc.tensor(x, dtype=mc.float32), output_size=size).numpy(),
            theirs(torch.tensor(x, dtype=torch.float32), output_size=size).detach().numpy(),
            rtol=1e-5,
            atol=1e-6,
        )
    same_error(lambda: ours(mc.tensor(x), output_size=[20]), lambda: theirs(torch.tensor(x), output_size=[20]))
    for kwargs in (dict(groups=2), dict(padding_mode="reflect")):
        same_error(
            lambda kw=kwargs: ConvTranspose1d(3, 6, 3, **kw), lambda kw=kwargs: torch.nn.ConvTranspose1d(3, 6, 3, **kw)
        )
    w = mc.tensor(rand(np.random.default_rng(41), (3, 2, 3)))
    same_error(
        lambda: conv_transpose1d(mc.tensor(x), w[:2]),
        lambda: TF.conv_transpose1d(torch.tensor(x), torch.tensor(w.numpy()[:2])),
    )
    same_error(
        lambda: adaptive_avg_pool1d(mc.tensor(x), (2, 3)), lambda: TF.adaptive_avg_pool1d(torch.tensor(x), (2, 3))
    )


def test_conv1d_default_init_statistics():
    mc.manual_seed(0)
    layer = Conv1d(16, 128, 5, groups=2)  # fan_in = 16/2 * 5 = 40
    bound = 1 / math.sqrt(40)
    for p in (layer.weight.numpy(), layer.bias.numpy()):
        assert bound * 0.9 < np.abs(p).max() <= bound
        assert abs(p.std() - bound / math.sqrt(3)) < 0.1 * bound


@pytest.mark.parametrize(
    ("shape", "mode", "factor"),
    [
        ((1, 2, 3, 3), "bicubic", 1.2),  # an axis that keeps its size is still resampled by bicubic
        ((1, 2, 4, 5), "bicubic", 1.1),
        ((1, 2, 3), "nearest", 1.02),  # torch's 1-d kernel takes no same-size shortcut
        ((1, 2, 2), "nearest", 2.16),  # ... nor a double-size one
        ((1, 2, 5), "nearest", 1.05),
        ((1, 2, 3, 3), "nearest", 1.2),  # its 2-d kernel does: the axis is copied
        ((1, 2, 3, 3), "bilinear", 1.2),
    ],
)
def test_interpolate_sizes_that_keep_or_double(shape, mode, factor):
    """The forward against torch; the gradient by gradcheck. In the resampled cases torch's own
    backward takes the shortcut its forward does not (torch's gradcheck fails there), so its
    gradient is not the reference: minicnn's is the forward's exact adjoint."""
    x = rand(np.random.default_rng(31), shape)
    ours = interpolate(mc.tensor(x), scale_factor=factor, mode=mode).numpy()
    np.testing.assert_allclose(
        ours, TF.interpolate(torch.tensor(x), scale_factor=factor, mode=mode).numpy(), rtol=1e-12
    )
    assert mc.gradcheck(lambda t: interpolate(t, scale_factor=factor, mode=mode), [mc.tensor(x, requires_grad=True)])
    resampled = mode == "bicubic" or len(shape) == 3
    theirs_ok = torch.autograd.gradcheck(
        lambda t: TF.interpolate(t, scale_factor=factor, mode=mode),
        (torch.tensor(x, requires_grad=True),),
        raise_exception=False,
    )
    assert theirs_ok != resampled  # torch 2.14's inconsistency, documented here


def test_numpy_integer_sizes_and_1d_layers_refuse_longer_tuples():
    x = rand(np.random.default_rng(32), (1, 2, 4, 4))
    for size in (np.int64(3), (np.int32(3), 5)):
        compare_with_torch(
            lambda t, s=size: interpolate(t, size=s, mode="bilinear"),
            lambda t, s=size: TF.interpolate(t, size=s, mode="bilinear"),
            [x],
        )
    with pytest.raises(TypeError):
        interpolate(mc.tensor(x), size=True)
    for make in (lambda nn: nn.Conv1d(4, 2, (3, 5)), lambda nn: nn.ConvTranspose1d(4, 2, 3, stride=(2, 7))):
        with pytest.raises(RuntimeError):
            make(mc.nn)
