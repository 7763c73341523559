"""interpolate(..., antialias=True), modes bilinear, bicubic and lanczos, against torch: forward and
gradients (float64, float32), second derivatives, uint8, inf/NaN, errors, devices (lanczos also
against Pillow's Image.LANCZOS and the Lanczos-3 formula) -- and the two
places where torch 2.14's CPU kernels are not reproduced (see minicnn/kernels/resample_aa.py):
its gradient of an axis that keeps its size under a scale factor other than 1 (not the adjoint
of its forward), and its forward to an output width of 1 (every output row gets the first
row's weights). There the oracle is torch on an equivalent call (scale factor 1 on that axis;
the transposed input)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, double_backward_like_torch, rand
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import resample_aa as AA
from minicnn.ops.errors import ShapeError
from minicnn.ops.upsample import interpolate

MODES = ("bilinear", "bicubic")
AA_MODES = (*MODES, "lanczos")  # (lanczos: antialias only, align_corners False only)


@st.composite
def aa_cases(draw, max_side: int = 9):
    """(shape (N, C, H, W), kwargs for interpolate): down- and upscaling, non-integer factors,
    size or scale_factor (one or per axis, recompute_scale_factor None/False/True), both
    align_corners (but for lanczos), a non-empty output."""
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 3)),
        draw(st.integers(1, max_side)),
        draw(st.integers(1, max_side)),
    )
    mode = draw(st.sampled_from(AA_MODES))
    kw: dict = dict(mode=mode, align_corners=mode != "lanczos" and draw(st.booleans()), antialias=True)
    how = draw(st.sampled_from(["size", "size_int", "scale", "scale_pair"]))
    if how == "size":
        kw["size"] = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    elif how == "size_int":
        kw["size"] = draw(st.integers(1, 12))
    else:
        factor = st.floats(0.15, 2.6, allow_nan=False) | st.sampled_from([0.5, 1 / 3, 1.0, 1.5, 2.0, 0.25])
        f = (draw(factor), draw(factor)) if how == "scale_pair" else draw(factor)
        kw["scale_factor"] = f
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
        fs = f if isinstance(f, tuple) else (f, f)
        assume(all(math.floor(n * s) >= 1 for n, s in zip(shape[2:], fs)))
    return shape, kw


def torch_oracle(x: torch.Tensor, **kw) -> torch.Tensor:
    """torch's F.interpolate on an equivalent call that avoids its two non-reproduced behaviours:
    scale factor 1 for an axis whose size the given factor keeps (the same forward, a copy; then
    torch's backward is the adjoint), and the transposed input for an output width of 1."""
    kw = dict(kw)
    n_in = x.shape[2:]
    if kw.get("scale_factor") is not None and not kw.get("recompute_scale_factor"):
        f = kw["scale_factor"]
        fs = list(f) if isinstance(f, tuple) else [f, f]
        kw["scale_factor"] = tuple(1.0 if math.floor(n * s) == n else s for n, s in zip(n_in, fs))
    out_h, out_w = TF.interpolate(x.detach(), **kw).shape[2:]
    if out_w == 1 and out_h != n_in[0]:
        for key in ("size", "scale_factor"):
            if isinstance(kw.get(key), tuple):
                kw[key] = kw[key][::-1]
        return TF.interpolate(x.transpose(-1, -2), **kw).transpose(-1, -2)
    return TF.interpolate(x, **kw)


@settings(max_examples=40, deadline=None)
@given(aa_cases(), st.integers(0, 2**16))
def test_forward_and_gradient_match_torch_float64(case, seed):
    shape, kw = case
    x = rand(np.random.default_rng(seed), shape)
    compare_with_torch(lambda t: interpolate(t, **kw), lambda t: torch_oracle(t, **kw), [x], seed=seed)


@settings(max_examples=20, deadline=None)
@given(aa_cases(max_side=14), st.integers(0, 2**16))
def test_forward_and_gradient_match_torch_float32(case, seed):
    shape, kw = case
    x = rand(np.random.default_rng(seed), shape)
    compare_with_torch(
        lambda t: interpolate(t, **kw), lambda t: torch_oracle(t, **kw), [x], dtype=np.float32, rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    ("mode", "align_corners"),
    [("bilinear", False), ("bilinear", True), ("bicubic", False), ("bicubic", True), ("lanczos", False)],
)
def test_float32_weights_are_torchs(mode, align_corners):
    """float32 weights computed in float32 as torch's kernels do: a large downscaling (wide
    supports, many truncations of center +- support) agrees to float32 rounding (lanczos: its
    sines in float64, torch's sinf can differ in the last bit)."""
    x = rand(np.random.default_rng(3), (1, 2, 97, 61))
    for size in [(13, 7), (31, 60), (96, 17)]:
        kw = dict(size=size, mode=mode, align_corners=align_corners, antialias=True)
        compare_with_torch(
            lambda t, kw=kw: interpolate(t, **kw),
            lambda t, kw=kw: TF.interpolate(t, **kw),
            [x],
            dtype=np.float32,
            rtol=1e-5,
            atol=1e-5,
        )


@pytest.mark.parametrize(
    "kw",
    [
        dict(size=(3, 2), mode="bilinear"),
        dict(size=(7, 4), mode="bicubic", align_corners=True),
        dict(scale_factor=(0.4, 1.3), mode="bicubic"),
        dict(scale_factor=1.2, mode="bilinear"),  # H: floor(4 * 1.2) == 4, kept (copied)
        dict(size=(2, 1), mode="bilinear"),
        dict(size=(3, 2), mode="lanczos"),
        dict(scale_factor=(0.3, 2.2), mode="lanczos"),
        dict(size=(4, 11), mode="lanczos"),  # H kept (copied), W upscaled
    ],
)
def test_gradcheck(kw):
    x = mc.tensor(rand(np.random.default_rng(4), (1, 2, 4, 5)), requires_grad=True)
    assert mc.gradcheck(lambda t: interpolate(t, antialias=True, **kw), [x])


@settings(max_examples=12, deadline=None)
@given(aa_cases(max_side=6), st.integers(0, 2**16))
def test_double_backward_like_torch(case, seed):
    shape, kw = case
    x = rand(np.random.default_rng(seed), shape)
    double_backward_like_torch(lambda t: interpolate(t, **kw), lambda t: torch_oracle(t, **kw), [x], seed=seed)


@pytest.mark.parametrize(
    "kw",
    [
        dict(size=(2, 3), mode="bicubic"),
        dict(scale_factor=1.7, mode="bilinear", align_corners=True),
        dict(size=(2, 6), mode="lanczos"),
    ],
)
def test_gradgradcheck(kw):
    x = mc.tensor(rand(np.random.default_rng(5), (1, 1, 3, 4)), requires_grad=True)
    assert mc.gradgradcheck(lambda t: interpolate(t, antialias=True, **kw), [x])


def test_kept_axis_under_a_scale_factor_torch_gradient_is_not_the_adjoint():
    """H = 3 and scale 1.2 keep H (floor(3.6) == 3): both copy it forward; torch's backward
    applies H weights for scale 1/1.2 anyway, minicnn's is the adjoint (torch with factor 1 there)."""
    x = rand(np.random.default_rng(6), (1, 2, 3, 5))
    g = rand(np.random.default_rng(7), (1, 2, 3, 6))
    kw = dict(scale_factor=1.2, mode="bilinear", antialias=True)
    xm = mc.tensor(x, requires_grad=True)
    (interpolate(xm, **kw) * mc.tensor(g)).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    yt = TF.interpolate(xt, **kw)
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(interpolate(mc.tensor(x), **kw).numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    adjoint = torch.tensor(x, requires_grad=True)
    (
        TF.interpolate(adjoint, scale_factor=(1.0, 1.2), mode="bilinear", antialias=True) * torch.tensor(g)
    ).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), adjoint.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert np.abs(xt.grad.numpy() - adjoint.grad.numpy()).max() > 0.1  # torch's (documented) difference


@pytest.mark.parametrize("mode", AA_MODES)
def test_output_width_one_each_row_its_own_weights(mode):
    """torch's float forward to OW == 1 gives every output row the first one's weights; minicnn
    equals torch on the transposed input (where the rows are columns)."""
    x = rand(np.random.default_rng(8), (2, 3, 7, 5))
    y = interpolate(mc.tensor(x), size=(3, 1), mode=mode, antialias=True).numpy()
    xt = torch.tensor(x)
    ref = TF.interpolate(xt.transpose(-1, -2), size=(1, 3), mode=mode, antialias=True).transpose(-1, -2).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    assert np.abs(TF.interpolate(xt, size=(3, 1), mode=mode, antialias=True).numpy() - ref).max() > 0.01


@pytest.mark.parametrize("align_corners", [False, True])
def test_upsampling_against_the_plain_modes(align_corners):
    """What torch does when scaling up, mirrored: antialiased bilinear without align_corners is
    plain bilinear (a triangle of support 1 is linear interpolation, the edge renormalisation
    equals the clamp), with align_corners it is not (center = scale * (o + 0.5) all the same);
    antialiased bicubic (a = -0.5, support truncated at the edges) is never plain bicubic."""
    x = rand(np.random.default_rng(9), (1, 2, 4, 5))
    for mode in MODES:
        kw = dict(size=(7, 9), mode=mode, align_corners=align_corners)
        ours = interpolate(mc.tensor(x), antialias=True, **kw).numpy()
        np.testing.assert_allclose(ours, TF.interpolate(torch.tensor(x), antialias=True, **kw).numpy(), atol=1e-12)
        same = np.allclose(ours, interpolate(mc.tensor(x), **kw).numpy(), atol=1e-12)
        assert same == (mode == "bilinear" and not align_corners)


@settings(max_examples=25, deadline=None)
@given(aa_cases(max_side=12), st.integers(0, 2**16))
def test_uint8_matches_torch(case, seed):
    """torch's fixed-point path to the last bit (C in 1, 2, 4: away from torch's uint8 bugs of
    C > 4 with OW == 1 and C == 3 to 1 x 1, see minicnn/kernels/upsample.py)."""
    shape, kw = case
    shape = (shape[0], (1, 2, 4)[shape[1] - 1], *shape[2:])
    x = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    want = TF.interpolate(torch.tensor(x), **kw)
    got = interpolate(mc.tensor(x), **kw)
    assert got.dtype == np.uint8 and not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("mode", AA_MODES)
def test_inf_and_nan_spread_as_in_torch(mode):
    """Only the outputs whose support reads an inf or NaN are non-finite (the dense matrices
    would spread 0 * inf over whole rows); likewise an inf in the incoming gradient."""
    x = rand(np.random.default_rng(10), (1, 2, 9, 11))
    x[0, 0, 2, 3], x[0, 1, 7, 1] = np.inf, np.nan
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    kw = dict(size=(4, 5), mode=mode, antialias=True)
    ym, yt = interpolate(xm, **kw), TF.interpolate(xt, **kw)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)  # (equal_nan)
    g = rand(np.random.default_rng(11), (1, 2, 4, 5))
    g[0, 0, 1, 2] = -np.inf
    (ym * mc.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    for a in (ym.numpy(), xm.grad.numpy()):
        assert not np.isfinite(a).all() and np.isfinite(a).any()


@pytest.mark.parametrize(
    ("shape", "kw"),
    [
        ((1, 2, 4), dict(size=3, mode="linear")),
        ((1, 2, 4, 4), dict(size=3, mode="nearest")),
        ((1, 2, 4, 4), dict(size=3, mode="area")),
        ((1, 2, 4, 4), dict(size=3, mode="nearest-exact")),
        ((1, 2, 4, 4, 4), dict(size=3, mode="trilinear")),
        ((1, 2, 4, 4, 4), dict(size=3, mode="bilinear")),
        ((1, 2, 4), dict(size=3, mode="bicubic")),
        ((1, 2, 4, 4), dict(size=(0, 2), mode="bilinear")),
        ((1, 0, 4, 4), dict(size=2, mode="bicubic")),
        ((1, 2, 4, 4), dict(scale_factor=0.2, mode="bicubic")),
        ((1, 2, 4, 4), dict(size=2, mode="lanczos", align_corners=True)),
        ((1, 2, 4), dict(size=3, mode="lanczos")),
        ((1, 2, 4, 4, 4), dict(size=3, mode="lanczos")),
        ((1, 2, 4, 4), dict(size=(3, 0), mode="lanczos")),
        ((1, 0, 4, 4), dict(size=2, mode="lanczos")),
        ((1, 2, 4, 4), dict(scale_factor=0.2, mode="lanczos")),
    ],
)
def test_errors_match_torch(shape, kw):
    x = np.zeros(shape)
    with pytest.raises(Exception) as theirs:
        TF.interpolate(torch.tensor(x), antialias=True, **kw)
    with pytest.raises(type(theirs.value)) as ours:
        interpolate(mc.tensor(x), antialias=True, **kw)
    assert str(ours.value) == f"interpolate: {theirs.value}"


@pytest.mark.parametrize(
    ("shape", "kw"),
    [
        ((1, 2, 4, 4), dict(size=2, mode="lanczos")),  # ValueError: antialias required
        ((1, 2, 4, 4), dict(size=2, mode="lanczos", antialias=False, align_corners=True)),  # align_corners first
        ((1, 2, 4), dict(size=2, mode="lanczos")),  # NotImplementedError: 4-d only
        ((1, 2, 4, 4, 4), dict(size=2, mode="lanczos", align_corners=False)),
        ((2, 4), dict(size=2, mode="lanczos")),
    ],
)
def test_lanczos_without_antialias_errors_match_torch(shape, kw):
    x = np.zeros(shape)
    with pytest.raises(Exception) as theirs:
        TF.interpolate(torch.tensor(x), **kw)
    with pytest.raises(type(theirs.value)) as ours:
        interpolate(mc.tensor(x), **kw)
    assert str(ours.value) == f"interpolate: {theirs.value}"


@pytest.mark.parametrize("mode", AA_MODES)
@pytest.mark.parametrize("dtype", [np.float16, np.int64, np.int32])
def test_dtypes_torch_refuses(dtype, mode):
    x = np.ones((1, 1, 4, 4), dtype=dtype)
    with pytest.raises(NotImplementedError) as theirs:
        TF.interpolate(torch.tensor(x), size=2, mode=mode, antialias=True)
    with pytest.raises(NotImplementedError) as ours:
        interpolate(mc.tensor(x), size=2, mode=mode, antialias=True)
    assert str(ours.value) == f"interpolate: {theirs.value}"


def test_empty_batch_and_unchanged_size():
    for shape, size in [((0, 2, 5, 4), (3, 2)), ((2, 3, 5, 4), (5, 4))]:
        x = rand(np.random.default_rng(12), shape)
        kw = dict(size=size, mode="bicubic", antialias=True)
        compare_with_torch(lambda t, kw=kw: interpolate(t, **kw), lambda t, kw=kw: TF.interpolate(t, **kw), [x])


def test_weights_are_normalised_with_a_widened_support():
    """Rows sum to 1; downscaling by 4 reads 2 * 4 (bilinear), 4 * 4 (bicubic) or 6 * 4
    (lanczos) input positions per output away from the edges, and the bicubic (torch's
    a = -0.5) and lanczos weights have negative lobes."""
    for mode, reads in (("bilinear", 8), ("bicubic", 16), ("lanczos", 24)):
        a, (index, _), _ = AA.aa_axis(40, 10, None, False, mode, np.float64)
        np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-14)
        assert (np.count_nonzero(a[3:-3], axis=1) == reads).all()
        assert (a < 0).any() if mode != "bilinear" else (a >= 0).all()
        assert (index >= 0).sum() >= np.count_nonzero(a)


@pytest.mark.parametrize("device", devices())
def test_devices(device):
    x = rand(np.random.default_rng(13), (2, 3, 9, 7))
    for kw in (
        dict(size=(4, 3), mode="bicubic"),
        dict(scale_factor=(0.6, 1.4), mode="bilinear", align_corners=True),
        dict(size=(3, 11), mode="lanczos"),
    ):
        compare_with_torch(
            lambda t, kw=kw: interpolate(t, antialias=True, **kw),
            lambda t, kw=kw: TF.interpolate(t, antialias=True, **kw),
            [x],
            device=device,
        )
    y = interpolate(mc.tensor(x, device=device), size=(4, 3), mode="bilinear", antialias=True)
    assert y.device == mc.tensor(x, device=device).device
    with pytest.raises(ShapeError):
        interpolate(mc.tensor(x, device=device), size=(0, 3), mode="bilinear", antialias=True)


def test_a_large_axis_gets_only_its_taps():
    """An axis whose dense matrix would exceed DENSE_MAX elements is built as taps alone
    (a 4000 -> 3999 axis: 128 MB of float64, ~99.9% zeros; was built in full, with a bool
    copy); a small one gets both, and the taps of A and A^T hold exactly A's entries."""
    import tracemalloc

    tracemalloc.start()
    try:
        big, (index, weight), (gindex, _) = AA.aa_axis(4000, 3999, None, False, "bicubic", np.float64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert big is None and peak < 8e6  # (the taps: ~4000 * 4 slots * 16 bytes, twice)
    assert index.shape[0] == 3999 and index.shape[1] <= 5 and gindex.shape[0] == 4000
    for n, m, mode in ((40, 10, "bicubic"), (7, 23, "bilinear"), (1, 5, "bilinear"), (9, 1, "bicubic")):
        a, taps, grad_taps = AA.aa_axis(n, m, None, False, mode, np.float32)
        for mat, (ix, w) in ((a, taps), (a.T, grad_taps)):
            rebuilt = np.zeros_like(mat)
            rows = np.nonzero(ix >= 0)[0]
            rebuilt[rows, ix[ix >= 0]] = w[ix >= 0]
            np.testing.assert_array_equal(rebuilt, mat)
            assert w.dtype == np.float32


@pytest.mark.parametrize("mode", AA_MODES)
def test_an_axis_too_large_for_a_dense_matrix_like_torch(mode):
    """1100 -> 1000 rows (1.1e6 > DENSE_MAX): the banded path, forward and gradient, float64
    and float32 (its sums in another order than torch's: a few float32 ulps)."""
    x = rand(np.random.default_rng(14), (1, 1, 1100, 4))
    kw = dict(size=(1000, 3), mode=mode, align_corners=mode == "bicubic", antialias=True)
    # (lanczos: 1100 -> 1000 reads ~7 rows, banded too)
    compare_with_torch(lambda t: interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), [x])
    compare_with_torch(
        lambda t: interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), [x], dtype=np.float32, rtol=1e-5, atol=1e-5
    )
    assert interpolate(mc.tensor(x, requires_grad=True), **kw).grad_fn.banded
    double_backward_like_torch(lambda t: interpolate(t, **kw) ** 2, lambda t: TF.interpolate(t, **kw) ** 2, [x], seed=3)


def test_lanczos3_filter_is_the_formula():
    """The filter against numpy's sinc: sinc(t) sinc(t/3) inside |t| < 3, 1 at 0, 0 at the
    other integers (to rounding) and beyond 3 (float64 to rounding; float32 to a few ulps)."""
    t = np.concatenate([np.linspace(-4, 4, 801), [-3, -2, -1, 0, 1, 2, 3, 2.999999, 1e-9]])
    want = np.where(np.abs(t) < 3, np.sinc(t) * np.sinc(t / 3), 0.0)
    np.testing.assert_allclose(AA.aa_filter(t, "lanczos"), want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(AA.aa_filter(t.astype(np.float32), "lanczos"), want, rtol=1e-6, atol=1e-7)
    assert AA.aa_filter(t.astype(np.float32), "lanczos").dtype == np.float32
    assert AA.aa_filter(np.array([0.0]), "lanczos")[0] == 1.0
    assert np.all(AA.aa_filter(np.array([3.0, 3.5, -7.0]), "lanczos") == 0.0)
    assert np.abs(AA.aa_filter(np.array([1.0, 2.0, -2.0]), "lanczos")).max() < 1e-15  # (sin(pi k) as computed)


@pytest.mark.parametrize(
    ("shape", "size"), [((9, 7), (4, 5)), ((23, 17), (13, 30)), ((40, 40), (7, 9)), ((5, 6), (17, 3))]
)
def test_lanczos_is_pillows(shape, size):
    """The second oracle torch's docs name: Pillow's Image.LANCZOS on a float ("F") image, up
    and down, to its float32 storage."""
    image = pytest.importorskip("PIL.Image")
    x = np.random.default_rng(15).random(shape).astype(np.float32)
    pil = np.asarray(image.fromarray(x, mode="F").resize(size[::-1], image.LANCZOS))
    ours = interpolate(mc.tensor(x[None, None].astype(np.float64)), size=size, mode="lanczos", antialias=True)
    np.testing.assert_allclose(ours.numpy()[0, 0], pil, rtol=0, atol=5e-7)
