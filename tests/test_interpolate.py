"""interpolate on (N, C, D, H, W) input -- nearest, nearest-exact, trilinear, area -- against torch
(forward, gradients, errors, nn.Upsample, devices), and the per-axis index rules of torch's 1-d and
3-d nearest kernels, which differ from its 2-d one. Then, for every rank: inf and NaN in the input
and in the incoming gradient, torch's arithmetic to the last bit, "area" to an empty output, uint8
input, the scatter-add backward of large upsampling factors, and the errors of non-finite scale
factors and empty channels."""

from __future__ import annotations

import math
import warnings

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
from minicnn.ops.errors import ShapeError
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
def test_trilinear_does_not_resample_an_axis_that_keeps_its_size(align, dtype):
    """Like torch's 2-d kernel, its 3-d one reads an axis whose size a scale factor keeps
    (D: 3 * 1.2 -> 3, W: 5 * 1.1 -> 5) at o, with weights 1 and 0, instead of resampling it
    with 1/scale_factor."""
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
    with pytest.raises(NotImplementedError, match="lanczos"):  # as torch: lanczos takes 4-d input only
        interpolate(mc.zeros(1, 1, 4), size=3, mode="lanczos")


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


# -- inf and NaN, every mode and rank ---------------------------------------------------------

RANK_MODES = {
    1: ("nearest", "nearest-exact", "linear", "area"),
    2: ("nearest", "nearest-exact", "bilinear", "bicubic", "area"),
    3: ("nearest", "nearest-exact", "trilinear", "area"),
}
NON_FINITE = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from([np.inf, -np.inf, np.nan])), max_size=3)


@st.composite
def non_finite_cases(draw):
    """(shape, mode, kwargs, spots of x, spots of the gradient, dtype): any rank and mode, half
    the sized axes keeping their size (torch reads such an axis through two taps at o)."""
    dim = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(RANK_MODES[dim]))
    spatial = [draw(st.integers(1, 5)) for _ in range(dim)]
    how = draw(st.sampled_from(["size", "scale", "recompute"]))
    if how == "size":
        kw: dict = dict(size=tuple(n if draw(st.booleans()) else draw(st.integers(1, 8)) for n in spatial))
    else:
        f = tuple(draw(st.sampled_from([0.5, 0.75, 1.0, 1.2, 1.5, 2.0, 2.5, 1 / 3])) for _ in spatial)
        kw = dict(scale_factor=f, recompute_scale_factor=True if how == "recompute" else None)
        spatial = [max(n, math.ceil(1 / s)) for n, s in zip(spatial, f)]  # a non-empty output
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        kw["align_corners"] = draw(st.booleans())
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial)
    return shape, mode, kw, draw(NON_FINITE), draw(NON_FINITE), draw(st.sampled_from([np.float64, np.float32]))


def spoil(a: np.ndarray, spots) -> np.ndarray:
    """``a`` with the values of ``spots`` ((flat position mod size, value) pairs) written in."""
    a = a.copy()
    for p, v in spots:
        a.reshape(-1)[p % a.size] = v
    return a


def torch_gradient_is_the_adjoint(mode: str, kw: dict, in_shape, out_shape) -> bool:
    """False where torch's backward is not its forward's adjoint (see the kernel's docstring):
    nearest outside its small 2-d kernel, and bicubic with a scale factor other than 1 that no
    axis's size changes under."""
    if mode in ("nearest", "nearest-exact"):
        return len(in_shape) == 4 and sum(out_shape[2:]) <= 128
    scaled = kw.get("scale_factor") is not None and not kw.get("recompute_scale_factor")
    factors = kw.get("scale_factor") if isinstance(kw.get("scale_factor"), tuple) else (kw.get("scale_factor"),)
    return not (mode == "bicubic" and scaled and in_shape == out_shape and any(f != 1 for f in factors))


@CASES
@given(non_finite_cases())
def test_non_finite_input_and_gradient_match_torch(case):
    """inf and NaN spread through the forward and the backward exactly where torch's: an inf
    read with weight 0 is NaN, an input never read stays out, and no NumPy warning is raised."""
    shape, mode, kw, x_spots, g_spots, dtype = case
    rng = np.random.default_rng(len(x_spots) + 3 * len(g_spots))
    x = spoil(rng.standard_normal(shape), x_spots).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = TF.interpolate(xt, mode=mode, **kw)
    xm = mc.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch is silent; so must the forward be
        ym = interpolate(xm, mode=mode, **kw)
    tol = F32 if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **tol)  # (NaN where NaN, inf where inf)
    g = spoil(rng.standard_normal(tuple(yt.shape)), g_spots).astype(dtype)
    ym.backward(mc.tensor(g))
    if mode in ("nearest", "nearest-exact"):
        expected = adjoint_of_torch_forward(x, g, mode=mode, **kw)
    elif torch_gradient_is_the_adjoint(mode, kw, shape, tuple(yt.shape)):
        yt.backward(torch.tensor(g))
        expected = xt.grad.numpy()
    else:
        return
    np.testing.assert_allclose(xm.grad.numpy(), expected, **tol)


@pytest.mark.parametrize(("mode", "dim"), [("linear", 1), ("bilinear", 2), ("trilinear", 3)])
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("how", ["size", "scale_factor"])
def test_an_axis_that_keeps_its_size_reads_two_taps_at_o(mode, dim, align, how):
    """torch reads ``x[o]*1 + x[o]*0`` on such an axis (both taps at o), so an inf at o is NaN
    there and nowhere else, with a size or a scale factor; backward: g[o]*1 + g[o]*0 likewise.
    The first axis keeps its size (3), the others grow (2 -> 5), an inf at each position in turn."""
    in_shape, out_shape = (3,) + (2,) * (dim - 1), (3,) + (5,) * (dim - 1)
    kw = dict(size=out_shape) if how == "size" else dict(scale_factor=(1.0,) + (2.5,) * (dim - 1))
    for spot in range(math.prod(in_shape)):
        x = np.arange(math.prod(in_shape), dtype=np.float64).reshape(1, 1, *in_shape)
        x.reshape(-1)[spot] = np.inf
        g = np.ones((1, 1, *out_shape))
        g.reshape(-1)[(7 * spot) % g.size] = -np.inf
        compare_with_torch(
            lambda t: interpolate(t, mode=mode, align_corners=align, **kw),
            lambda t: TF.interpolate(t, mode=mode, align_corners=align, **kw),
            [x],
            grad_inputs=[False],
        )
        xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        interpolate(xm, mode=mode, align_corners=align, **kw).backward(mc.tensor(g))
        TF.interpolate(xt, mode=mode, align_corners=align, **kw).backward(torch.tensor(g))
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)  # (NaN where NaN)


def test_audit_examples_of_non_finite_values():
    """The auditor's cases: [0, 1, inf] kept at size 3 is [0, 1, nan] (not [0, nan, nan]); 1 -> 5
    linear, where torch's fused multiply-add leaves lam = 2.8e-17 (not 0) at o = 2: [nan, nan,
    inf, inf, inf]; an inf gradient at the last of 5 outputs of 3 inputs."""
    for x, kw in (([0.0, 1.0, np.inf], dict(size=3)), ([np.inf, 1.0, 2.0], dict(size=3)), ([np.inf], dict(size=5))):
        x = np.array(x).reshape(1, 1, -1)
        theirs = TF.interpolate(torch.tensor(x), mode="linear", **kw).numpy()
        np.testing.assert_array_equal(interpolate(mc.tensor(x), mode="linear", **kw).numpy(), theirs)
    np.testing.assert_array_equal(theirs.reshape(-1), [np.nan, np.nan, np.inf, np.inf, np.inf])
    for mode, kw in (("nearest", {}), ("linear", dict(align_corners=True)), ("linear", dict(align_corners=False))):
        g = np.zeros((1, 1, 5))
        g[..., -1] = np.inf
        xm, xt = mc.zeros(1, 1, 3, requires_grad=True), torch.zeros(1, 1, 3, dtype=torch.float64, requires_grad=True)
        interpolate(xm, size=5, mode=mode, **kw).backward(mc.tensor(g))
        TF.interpolate(xt, size=5, mode=mode, **kw).backward(torch.tensor(g))
        np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["linear", "bicubic"])
@pytest.mark.parametrize("align", [False, True])
def test_weights_are_torchs_to_the_last_bit(dtype, mode, align):
    """Each input position's one-hot image under torch's kernel, bit for bit: the source index
    ``scale*(o + 0.5) - 0.5`` and the cubic polynomials with torch's fused multiply-adds, floor
    in float32, lam clipped; sizes 1..10 -> 1..30 and some scale factors."""
    rng = np.random.default_rng(11)
    cases = [(n, dict(size=m)) for n in range(1, 11) for m in range(1, 31)]
    cases += [(n, dict(scale_factor=float(f))) for n in range(1, 11) for f in rng.uniform(0.3, 7.0, 4) if n * f >= 1]
    for n, kw in cases:
        x = np.eye(n, dtype=dtype).reshape(n, 1, n, 1)
        if mode == "linear":
            x = x[..., 0]
        else:  # the second axis keeps its size 1
            kw = {k: (v, 1) if k == "size" else (v, 1.0) for k, v in kw.items()}
        ours = interpolate(mc.tensor(x), mode=mode, align_corners=align, **kw).numpy()
        np.testing.assert_array_equal(
            ours, TF.interpolate(torch.tensor(x), mode=mode, align_corners=align, **kw).numpy()
        )


def test_bicubic_same_size_backward_copies_like_torch():
    """torch's bicubic backward copies the gradient when no axis changes size; with size (or a
    factor of 1) the forward's taps are the identity's, so that is the adjoint -- and an inf
    gradient stays inf instead of spreading as NaN through the (0, 1, 0, 0) weights."""
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    g = np.ones((1, 1, 3, 4))
    g[0, 0, 1, 2] = np.inf
    for kw in (dict(size=(3, 4)), dict(scale_factor=1.0), dict(size=(3, 4), align_corners=True)):
        xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        interpolate(xm, mode="bicubic", **kw).backward(mc.tensor(g))
        TF.interpolate(xt, mode="bicubic", **kw).backward(torch.tensor(g))
        np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())
    assert mc.gradcheck(lambda t: interpolate(t, size=(3, 4), mode="bicubic"), [mc.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_2d_large_output_uses_torchs_generic_rule(exact, dtype):
    """torch's 2-d nearest takes its small kernel (same/double-size shortcuts, float32) only while
    OH + OW <= 128; beyond, its generic kernel (no shortcuts, float64 for float64 input)."""
    mode = "nearest-exact" if exact else "nearest"
    for shape, factor in (((1, 2, 3, 130), (1.2, 1.001)), ((1, 1, 60, 70), (2.01, 1.3)), ((1, 1, 3, 40), (1.2, 1.001))):
        x = rand(np.random.default_rng(12), shape).astype(dtype)
        theirs = TF.interpolate(torch.tensor(x), scale_factor=factor, mode=mode).numpy()
        np.testing.assert_array_equal(interpolate(mc.tensor(x), scale_factor=factor, mode=mode).numpy(), theirs)
        xm = mc.tensor(x, requires_grad=True)
        y = interpolate(xm, scale_factor=factor, mode=mode)
        g = np.random.default_rng(13).standard_normal(y.shape).astype(dtype)
        y.backward(mc.tensor(g))
        np.testing.assert_allclose(
            xm.grad.numpy(), adjoint_of_torch_forward(x, g, scale_factor=factor, mode=mode), rtol=1e-5, atol=1e-6
        )


# -- area to an empty output ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "kw"),
    [
        ((1, 1, 4, 4), dict(size=(2, 0))),
        ((1, 1, 4, 4), dict(scale_factor=(2.0, 0.1))),
        ((1, 1, 4, 4), dict(scale_factor=0.0)),
        ((2, 3, 4), dict(size=0)),
        ((1, 2, 4, 4, 4), dict(scale_factor=(1.0, 0.1, 2.0))),
        ((0, 2, 4, 4), dict(size=0)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int64])
def test_area_to_an_empty_output_is_empty_like_torch(shape, kw, dtype):
    """torch skips its output size > 0 check for "area": an empty result of the input's dtype
    (any dtype, as the pool returns before dispatching on it). Its backward raises in torch; the
    gradient here is zeros (the sum over no outputs)."""
    x = rand(np.random.default_rng(14), shape).astype(dtype)
    if len(shape) == 5 and dtype in (np.uint8, np.int64):  # torch's 3-d pool checks the dtype first
        for call in (
            lambda: TF.interpolate(torch.tensor(x), mode="area", **kw),
            lambda: interpolate(mc.tensor(x), mode="area", **kw),
        ):
            with pytest.raises(NotImplementedError):
                call()
        return
    theirs = TF.interpolate(torch.tensor(x), mode="area", **kw)
    ours = interpolate(mc.tensor(x), mode="area", **kw)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == x.dtype and ours.numpy().size == 0
    if dtype in (np.float64, np.float32):
        xm = mc.tensor(x, requires_grad=True)
        interpolate(xm, mode="area", **kw).sum().backward()
        np.testing.assert_array_equal(xm.grad.numpy(), np.zeros(shape))


# -- uint8 ------------------------------------------------------------------------------------


@st.composite
def uint8_cases(draw):
    """(shape, mode, kwargs): nearest modes in every rank, bilinear and bicubic in 2-d."""
    dim = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["nearest", "nearest-exact"] + (["bilinear", "bicubic"] if dim == 2 else [])))
    spatial = [draw(st.integers(1, 12)) for _ in range(dim)]
    if draw(st.booleans()):
        kw: dict = dict(size=tuple(draw(st.integers(1, 30)) for _ in range(dim)))
    else:
        f = tuple(draw(st.sampled_from([0.5, 0.75, 0.9, 1.0, 1.3, 2.0, 2.5, 1 / 3, 4.7])) for _ in range(dim))
        kw = dict(scale_factor=f, recompute_scale_factor=draw(st.sampled_from([None, True])))
        spatial = [max(n, math.ceil(1 / s)) for n, s in zip(spatial, f)]
    if mode in ("bilinear", "bicubic"):
        kw["align_corners"] = draw(st.booleans())
    return (draw(st.integers(1, 2)), draw(st.sampled_from([1, 3, 4, 5])), *spatial), mode, kw


def torch_uint8_one_channel_at_a_time(x: np.ndarray, mode: str, kw: dict) -> np.ndarray:
    return np.concatenate(
        [TF.interpolate(torch.tensor(x[:, c : c + 1]), mode=mode, **kw).numpy() for c in range(x.shape[1])], 1
    )


@CASES
@given(uint8_cases(), st.booleans())
def test_uint8_matches_torch_exactly(case, extremes):
    """uint8 in, uint8 out, bit for bit: bilinear and bicubic by torch's fixed-point passes
    (bicubic over- and undershoots clip at 0 and 255: ``extremes`` draws only 0 and 255).
    Two bugs of torch 2.14 there: its kernel for C > 4 with an output width of 1 applies the
    first row's weights to every row, and its AVX kernel fails an internal assert for C = 3 to
    1 x 1: in those cases the reference is torch one channel at a time."""
    shape, mode, kw = case
    rng = np.random.default_rng(sum(shape))
    x = (rng.integers(0, 2, shape) * 255 if extremes else rng.integers(0, 256, shape)).astype(np.uint8)
    y = interpolate(mc.tensor(x), mode=mode, **kw)
    try:
        theirs = TF.interpolate(torch.tensor(x), mode=mode, **kw).numpy()
    except RuntimeError:
        assert mode in ("bilinear", "bicubic") and shape[1] == 3 and y.shape[2:] == (1, 1)
        theirs = torch_uint8_one_channel_at_a_time(x, mode, kw)
    if mode in ("bilinear", "bicubic") and shape[1] > 4 and theirs.shape[-1] == 1:
        theirs = torch_uint8_one_channel_at_a_time(x, mode, kw)
    assert y.dtype == np.uint8 and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), theirs)


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((1, 1, 4), "linear"), ((1, 1, 2, 2, 2), "trilinear"), ((1, 1, 4, 4), "area"), ((1, 1, 4), "area")],
)
def test_uint8_modes_torch_lacks_are_not_implemented(shape, mode):
    x = np.zeros(shape, np.uint8)
    with pytest.raises(NotImplementedError):
        TF.interpolate(torch.tensor(x), size=3, mode=mode)
    with pytest.raises(NotImplementedError):
        interpolate(mc.tensor(x), size=3, mode=mode)
    for dtype in (np.int8, np.int64, np.bool_):  # and only uint8 among the integers
        with pytest.raises(NotImplementedError):
            interpolate(mc.tensor(np.zeros((1, 1, 4, 4), dtype)), size=3)


# -- large upsampling factors: the scatter-add backward ----------------------------------------


@pytest.mark.parametrize(
    ("shape", "kw"),
    [
        ((1, 1, 1), dict(size=100000, mode="nearest")),
        ((1, 1, 1), dict(size=100000, mode="linear", align_corners=False)),
        ((2, 3, 2), dict(size=5000, mode="linear", align_corners=True)),
        ((1, 2, 1, 2), dict(size=(3000, 7), mode="bicubic", align_corners=False)),
        ((1, 1, 1, 1, 2), dict(size=(400, 3, 5), mode="trilinear", align_corners=False)),
        ((2, 1, 3, 1), dict(scale_factor=(300.0, 2.0), mode="nearest-exact")),
    ],
)
def test_large_fan_in_backward_matches_torch(shape, kw, monkeypatch):
    """Thousands of outputs read each input: the backward scatter-adds those axes (no Python
    loop over the readers); values against torch (nearest: the adjoint of torch's forward),
    with inf and NaN in the gradient."""
    scattered = []
    monkeypatch.setattr(K, "_scatter", lambda *a, real=K._scatter: scattered.append(a[1]) or real(*a))
    x = rand(np.random.default_rng(15), shape)
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = interpolate(xm, **kw), TF.interpolate(xt, **kw)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-12)
    spots = [(7, np.inf), (yt.numel() // 2, -np.inf), (13, np.nan)]
    for g in (np.random.default_rng(16).standard_normal(tuple(yt.shape)), spoil(np.ones(tuple(yt.shape)), spots)):
        xm.grad = None
        ym.backward(mc.tensor(g), retain_graph=True)
        if kw["mode"] in ("nearest", "nearest-exact"):
            expected = adjoint_of_torch_forward(x, g, **kw)
        else:
            xt.grad = None
            yt.backward(torch.tensor(g), retain_graph=True)
            expected = xt.grad.numpy()
        np.testing.assert_allclose(xm.grad.numpy(), expected, rtol=1e-9)
    assert scattered  # (the path this test is for)


@pytest.mark.parametrize("scatter", [False, True])
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_gather_and_scatter_backward_agree_with_torch(monkeypatch, scatter, mode):
    """The two backward paths, forced, on the same case with inf and NaN in the gradient."""
    monkeypatch.setattr(K, "SCATTER_FAN_IN", 0 if scatter else 10**9)
    monkeypatch.setattr(K, "SLOT_ELEMENTS", 10**9 if scatter else 0)
    x = rand(np.random.default_rng(16), (2, 2, 3, 5))
    kw = dict(size=(8, 4), mode=mode) | ({} if mode == "nearest" else dict(align_corners=False))
    g = spoil(np.ones((2, 2, 8, 4)), [(3, np.inf), (40, -np.inf), (77, np.nan), (90, np.inf)])
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    interpolate(xm, **kw).backward(mc.tensor(g))
    TF.interpolate(xt, **kw).backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


# -- errors: non-finite scale factors, empty channels --------------------------------------------


@pytest.mark.parametrize(
    ("shape", "kw"),
    [
        ((1, 1, 4, 4), dict(scale_factor=math.inf)),
        ((1, 1, 4, 4), dict(scale_factor=math.nan)),
        ((1, 1, 4, 4), dict(scale_factor=(1.0, -math.inf), mode="bilinear")),
        ((1, 1, 4), dict(scale_factor=1e300, mode="linear")),
        ((1, 1, 4, 4, 4), dict(scale_factor=math.inf, mode="trilinear")),
        ((1, 0, 4, 4), dict(scale_factor=math.inf, mode="bicubic")),
        ((1, 1, 4, 4), dict(scale_factor=math.inf, mode="area")),  # Python's errors, in torch too
        ((1, 1, 4, 4), dict(scale_factor=math.nan, mode="area")),
        ((1, 1, 4, 4), dict(scale_factor=math.inf, recompute_scale_factor=True)),
        ((1, 0, 4), dict(size=2)),
        ((1, 0, 4), dict(size=2, mode="linear")),
        ((0, 0, 4, 4), dict(size=2, mode="nearest-exact")),
        ((1, 0, 4, 4), dict(size=2, mode="bilinear")),
        ((1, 0, 4, 4), dict(size=2, mode="bicubic")),
        ((1, 0, 4, 4, 4), dict(size=2, mode="trilinear")),
        ((1, 0, 4, 4), dict(size=(0, 2), mode="bilinear")),  # the size check comes first
        ((1, 1, 4, 4), dict(size=-1, mode="area")),
        ((1, 1, 0, 4), dict(size=0, mode="area")),
        ((1, 0, 4, 4, 4), dict(size=0, mode="area")),
        ((1, 0, 4, 4, 4), dict(size=2, mode="area")),
    ],
)
def test_non_finite_scale_factors_and_empty_channels_raise_like_torch(shape, kw):
    """torch's error type for each (ours may be a subclass: ShapeError is a ValueError and the
    RuntimeError torch raises), and its words where they come from interpolate's own checks."""
    x = np.zeros(shape, np.float32)
    with pytest.raises(Exception) as theirs:
        TF.interpolate(torch.tensor(x), **kw)
    with pytest.raises(type(theirs.value)) as ours:
        interpolate(mc.tensor(x), **kw)
    if (
        isinstance(ours.value, ShapeError)
        and "non-zero size" not in str(theirs.value)
        and "output_size" not in str(theirs.value)
    ):
        assert str(ours.value) == f"interpolate: {theirs.value}"


def test_empty_batch_with_channels_is_not_an_empty_channel_error():
    """torch refuses only an input whose C or spatial size is 0: N = 0 with C > 0 is fine."""
    for mode, shape in (("linear", (0, 2, 4)), ("bicubic", (0, 2, 4, 4)), ("nearest", (0, 1, 2, 2, 2))):
        ours = interpolate(mc.zeros(shape), size=3, mode=mode)
        assert ours.shape == tuple(TF.interpolate(torch.zeros(shape), size=3, mode=mode).shape)


@pytest.mark.parametrize("device", devices())
def test_non_finite_uint8_and_scatter_on_device(device, monkeypatch):
    """The paths this file adds, on a device: NaN/inf forward and backward (absent taps), the
    scatter-add backward and uint8 bicubic."""
    x = spoil(rand(np.random.default_rng(17), (2, 2, 3, 4)), [(5, np.inf), (30, np.nan)])
    kw = dict(size=(3, 9), mode="bilinear", align_corners=False)
    for scatter in (False, True):
        monkeypatch.setattr(K, "SCATTER_FAN_IN", 0 if scatter else 10**9)
        monkeypatch.setattr(K, "SLOT_ELEMENTS", 10**9 if scatter else 0)
        g = spoil(np.ones((2, 2, 3, 9)), [(4, np.inf), (50, -np.inf)])
        xm, xt = mc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
        ym, yt = interpolate(xm, **kw), TF.interpolate(xt, **kw)
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy())
        ym.backward(mc.tensor(g, device=device))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy())
    u = np.random.default_rng(18).integers(0, 256, (1, 3, 5, 6)).astype(np.uint8)
    ours = interpolate(mc.tensor(u, device=device), size=(9, 4), mode="bicubic")
    np.testing.assert_array_equal(ours.numpy(), TF.interpolate(torch.tensor(u), size=(9, 4), mode="bicubic").numpy())
