"""interpolate on (N, C, D, H, W) input -- nearest, nearest-exact, trilinear, area -- against torch
(forward, gradients, errors, nn.Upsample, devices), and the per-axis index rules of torch's 1-d and
3-d nearest kernels, which differ from its 2-d one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, rand
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import upsample as K
from minicnn.nn.upsampling import Upsample
from minicnn.ops.upsample import interpolate

CASES = settings(max_examples=40, deadline=None)
FACTORS = [0.5, 0.75, 1.0, 1.1, 1.2, 1.5, 2.0, 2.16, 2.5, 1 / 3]
F32 = dict(rtol=1e-4, atol=1e-4)  # float32: sums of up to ~100 weighted gradients per input


@st.composite
def resize_5d_cases(draw, modes=("nearest", "nearest-exact", "trilinear", "area")):
    """(shape, mode, kwargs for interpolate) with a non-empty output."""
    spatial = [draw(st.integers(1, 6)) for _ in range(3)]
    mode = draw(st.sampled_from(modes))
    how = draw(st.sampled_from(["size", "size_int", "scale", "scale_triple", "recompute"]))
    if how == "size":
        kw: dict = dict(size=tuple(draw(st.integers(1, 8)) for _ in range(3)))
    elif how == "size_int":
        kw = dict(size=draw(st.integers(1, 8)))
    else:
        f = tuple(draw(st.sampled_from(FACTORS)) for _ in range(3)) if how == "scale_triple" else None
        f = f or draw(st.sampled_from(FACTORS))
        kw = dict(scale_factor=f, recompute_scale_factor=True if how == "recompute" else None)
        factors = f if isinstance(f, tuple) else (f,) * 3
        spatial = [max(n, math.ceil(1 / s)) for n, s in zip(spatial, factors)]  # a non-empty output
    if mode == "trilinear":
        kw["align_corners"] = draw(st.booleans())
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial), mode, kw


def adjoint_of_torch_forward(x: np.ndarray, g: np.ndarray, **kw) -> np.ndarray:
    """The gradient of sum(interpolate(x) * g) for a nearest mode, from torch's *forward*: the
    output read from flat input position p gets the value p, so the gradient is g summed by p.
    (torch's own 1-d/3-d nearest backward uses its 2-d index rule, which its forward does not.)"""
    positions = torch.tensor(np.arange(x.size, dtype=x.dtype).reshape(x.shape))
    read = TF.interpolate(positions, **kw).numpy().astype(np.int64)
    return np.bincount(read.reshape(-1), weights=g.reshape(-1), minlength=x.size).reshape(x.shape)


@CASES
@given(resize_5d_cases(), st.sampled_from([np.float64, np.float32]))
def test_interpolate_5d_matches_torch(case, dtype):
    shape, mode, kw = case
    x = rand(np.random.default_rng(sum(shape)), shape).astype(dtype)
    tol = F32 if dtype == np.float32 else {}
    if mode in ("trilinear", "area"):
        compare_with_torch(
            lambda t: interpolate(t, mode=mode, **kw),
            lambda t: TF.interpolate(t, mode=mode, **kw),
            [x],
            dtype=dtype,
            **tol,
        )
        return
    compare_with_torch(  # forward only: torch's backward is not its forward's adjoint here
        lambda t: interpolate(t, mode=mode, **kw),
        lambda t: TF.interpolate(t, mode=mode, **kw),
        [x],
        grad_inputs=[False],
        dtype=dtype,
    )
    xt = mc.tensor(x, requires_grad=True)
    y = interpolate(xt, mode=mode, **kw)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    (y * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(
        xt.grad.numpy(), adjoint_of_torch_forward(x, g, mode=mode, **kw), **(tol or dict(rtol=1e-12, atol=1e-12))
    )


@pytest.mark.parametrize("align", [False, True])
def test_trilinear_gradcheck(align):
    x = mc.tensor(rand(np.random.default_rng(1), (2, 2, 3, 4, 2)), requires_grad=True)
    for kw in (dict(size=(5, 3, 4)), dict(scale_factor=(1.5, 0.75, 2.0)), dict(scale_factor=1.2)):
        assert mc.gradcheck(lambda t, kw=kw: interpolate(t, mode="trilinear", align_corners=align, **kw), [x])


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trilinear_copies_an_axis_that_keeps_its_size(align, dtype):
    """Like torch's 2-d kernel, its 3-d one copies an axis whose size a scale factor keeps
    (D: 3 * 1.2 -> 3, W: 5 * 1.1 -> 5) instead of resampling it with 1/scale_factor."""
    kw = dict(scale_factor=(1.2, 2.0, 1.1), mode="trilinear", align_corners=align)
    compare_with_torch(
        lambda t: interpolate(t, **kw),
        lambda t: TF.interpolate(t, **kw),
        [rand(np.random.default_rng(9), (2, 2, 3, 4, 5))],
        dtype=dtype,
        **(F32 if dtype == np.float32 else {}),
    )


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_5d_gradcheck(mode):
    x = mc.tensor(rand(np.random.default_rng(2), (2, 2, 4, 3, 5)), requires_grad=True)
    for kw in (dict(size=(7, 2, 5)), dict(scale_factor=(0.6, 2.5, 1.2)), dict(scale_factor=2.16)):
        assert mc.gradcheck(lambda t, kw=kw: interpolate(t, mode=mode, **kw), [x])


def test_area_5d_gradcheck():
    x = mc.tensor(rand(np.random.default_rng(3), (1, 2, 5, 4, 3)), requires_grad=True)
    for kw in (dict(size=(3, 6, 2)), dict(scale_factor=0.7)):
        assert mc.gradcheck(lambda t, kw=kw: interpolate(t, mode="area", **kw), [x])


@pytest.mark.parametrize(("mode", "factor"), [("nearest", 1.2), ("nearest", 2.16), ("nearest-exact", 1.2)])
def test_nearest_5d_keeps_no_shortcut(mode, factor):
    """torch's 3-d nearest forward resamples an axis that keeps (or doubles) its size under a
    scale factor, unlike its 2-d kernel; its backward takes the 2-d shortcut, so torch's
    gradcheck fails there while minicnn's gradient is the forward's adjoint."""
    x = rand(np.random.default_rng(4), (1, 2, 3, 2, 3))
    ours = interpolate(mc.tensor(x), scale_factor=factor, mode=mode).numpy()
    theirs = TF.interpolate(torch.tensor(x), scale_factor=factor, mode=mode).numpy()
    np.testing.assert_array_equal(ours, theirs)
    x_2d = x[:, :, 0]  # the 2-d kernel copies (or halves) such an axis: a different picture
    assert (mode == "nearest") != np.array_equal(
        TF.interpolate(torch.tensor(x_2d), scale_factor=factor, mode=mode).numpy(), theirs[:, :, 0]
    )
    assert mc.gradcheck(lambda t: interpolate(t, scale_factor=factor, mode=mode), [mc.tensor(x, requires_grad=True)])
    theirs_ok = torch.autograd.gradcheck(
        lambda t: TF.interpolate(t, scale_factor=factor, mode=mode),
        (torch.tensor(x, requires_grad=True),),
        raise_exception=False,
    )
    assert theirs_ok == (mode == "nearest-exact")  # torch 2.14's inconsistency, documented here


@pytest.mark.parametrize("dims", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_index_rule_of_1d_and_3d_kernels(dims, dtype, mode):
    """Every (in, out) size pair up to (24, 60), one axis at a time: torch's 1-d and 3-d kernels
    compute float64 input's indices in float64 (and nearest-exact with a fused multiply-add),
    which picks another pixel than the 2-d rule for some pairs."""
    rng = np.random.default_rng(5)
    pairs = [(n, m) for n in range(1, 25) for m in range(1, 61)]
    pairs += [(n, math.floor(n * f)) for n in range(1, 25) for f in rng.uniform(0.2, 4.0, 4)]
    for n, m in pairs:
        if m < 1:
            continue
        x = np.arange(n, dtype=dtype).reshape((1, 1, n) + (1,) * (dims - 1))
        kw = dict(size=(m,) + (1,) * (dims - 1))
        theirs = TF.interpolate(torch.tensor(x), mode=mode, **kw).numpy().reshape(-1)
        np.testing.assert_array_equal(K.nearest_indices(n, m, None, mode == "nearest-exact", dtype, dims), theirs)
        np.testing.assert_array_equal(interpolate(mc.tensor(x), mode=mode, **kw).numpy().reshape(-1), theirs)


@pytest.mark.parametrize(
    ("shape", "kw", "check_message"),
    [
        ((1, 2, 4, 5), dict(size=3, mode="trilinear"), True),
        ((1, 2, 4), dict(size=3, mode="trilinear"), True),
        ((1, 2, 3, 4, 5), dict(size=3, mode="bilinear"), True),
        ((1, 2, 3, 4, 5), dict(size=3, mode="linear"), True),
        ((1, 2, 3, 4, 5), dict(size=3, mode="bicubic"), True),
        ((1, 2, 3, 4, 5, 2), dict(size=3), True),
        ((2, 3), dict(size=3), True),
        ((1, 2, 3, 4, 5), dict(size=3, mode="nearest", align_corners=False), True),
        ((1, 2, 3, 4, 5), dict(size=3, mode="trilinear", antialias=True), True),
        ((1, 2, 3, 4, 5), dict(size=(3, 4)), True),
        ((1, 2, 3, 4, 5), dict(scale_factor=(2.0, 3.0)), True),
        ((1, 2, 3, 4, 5), dict(size=(3, 0, 2)), True),
        ((1, 2, 3, 4, 5), dict(scale_factor=0.1, mode="trilinear"), True),
        ((1, 2, 5), dict(scale_factor=0.1), True),
        ((1, 2, 3, 4, 5), dict(size=3, scale_factor=2.0), False),
        ((1, 2, 3, 4, 5), dict(), False),
        ((1, 2, 3, 4, 5), dict(size=3, recompute_scale_factor=True), False),
        ((1, 2, 3, 4, 5), dict(size=(3, 2.0, 4)), False),
        ((1, 2, 3, 4, 5), dict(size=3, mode="trilinearx"), False),
        ((1, 2, 3, 4), dict(size=3, mode="lanczos"), True),
        ((1, 2, 3, 4), dict(size=3, mode="lanczos", align_corners=True, antialias=True), True),
    ],
)
def test_errors_match_torch(shape, kw, check_message):
    """torch's error type for each, and its message (after minicnn's "interpolate: ") where it
    names ranks, modes and sizes."""
    x = rand(np.random.default_rng(6), shape)
    with pytest.raises(Exception) as theirs:
        TF.interpolate(torch.tensor(x), **kw)
    with pytest.raises(type(theirs.value)) as ours:
        interpolate(mc.tensor(x), **kw)
    if check_message:
        assert str(ours.value) == f"interpolate: {theirs.value}"


def test_integer_input_and_unsupported_settings():
    x = mc.tensor(np.ones((1, 1, 2, 2, 2), dtype=np.int64))
    for mode in ("nearest", "trilinear", "area"):
        with pytest.raises(
            type(_torch_error(lambda m=mode: TF.interpolate(torch.ones(1, 1, 2, 2, 2).long(), 3, None, m)))
        ):
            interpolate(x, size=3, mode=mode)
    with pytest.raises(NotImplementedError, match="antialias"):  # torch's, which minicnn lacks
        interpolate(mc.zeros(1, 1, 4, 4), size=3, mode="bilinear", antialias=True)


def _torch_error(call) -> BaseException:
    with pytest.raises(Exception) as err:
        call()
    return err.value


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Upsample(scale_factor=2, mode="trilinear"),
        lambda nn: nn.Upsample(size=(3, 4, 2), mode="trilinear", align_corners=True),
        lambda nn: nn.Upsample(scale_factor=(2, 1.5, 0.5), mode="nearest-exact"),
        lambda nn: nn.Upsample(size=4),
        lambda nn: nn.Upsample(scale_factor=1.5, mode="trilinear", recompute_scale_factor=True),
        lambda nn: nn.Upsample(size=(2, 3, 2), mode="area"),
    ],
)
def test_upsample_module_on_5d_input(make):
    ours, theirs = make(type("nn", (), dict(Upsample=Upsample))), make(torch.nn)
    assert repr(ours) == repr(theirs)
    compare_with_torch(ours, theirs, [rand(np.random.default_rng(7), (2, 3, 4, 5, 3))])


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "trilinear", "area"])
def test_empty_batch(mode):
    x, t = mc.zeros(0, 2, 3, 2, 3, requires_grad=True), torch.zeros(0, 2, 3, 2, 3, requires_grad=True)
    y, ty = interpolate(x, size=(4, 3, 2), mode=mode), TF.interpolate(t, size=(4, 3, 2), mode=mode)
    assert y.shape == tuple(ty.shape)
    y.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "trilinear", "area"])
def test_interpolate_5d_on_device(device, mode):
    x = rand(np.random.default_rng(8), (2, 3, 4, 3, 5))
    kw = dict(size=(6, 2, 7)) if mode != "trilinear" else dict(scale_factor=(1.5, 0.75, 2.0), align_corners=False)
    compare_with_torch(
        lambda t: interpolate(t, mode=mode, **kw), lambda t: TF.interpolate(t, mode=mode, **kw), [x], device=device
    )
