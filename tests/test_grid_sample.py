"""affine_grid and grid_sample (2-D spatial transformers) against torch, with gradchecks; the 3-D
forms are in test_grid_sample_3d.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.ops.grid_sample import affine_grid, grid_sample

MODES = ("bilinear", "nearest", "bicubic")
PADDINGS = ("zeros", "border", "reflection")
DTYPES = (np.float32, np.float64)
# float32: torch's CPU kernel unnormalises with another formula, so pixel coordinates may differ by an ulp
TOLS = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-9, atol=1e-10)}


def _unnormalize(g, size: int, align_corners: bool):
    return (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2


def away_from_kinks(rng: np.random.Generator, shape: tuple, size: int, align_corners: bool, reach: float):
    """Normalised coordinates in about [-reach, reach] whose pixel coordinates keep >= 0.05 from
    every integer and half-integer: there floor, rint, clipping and reflection switch, and the
    grid gradient jumps."""
    if align_corners and size == 1:  # every point is pixel 0; the gradient is 0 there
        return rng.uniform(-reach, reach, shape)
    lo, hi = _unnormalize(-reach, size, align_corners), _unnormalize(reach, size, align_corners)
    half = rng.integers(math.floor(2 * lo), math.ceil(2 * hi), shape)  # a half-pixel cell
    c = half / 2 + 0.25 + rng.uniform(-0.2, 0.2, shape)
    return 2 * c / (size - 1) - 1 if align_corners else (2 * c + 1) / size - 1


def make_grid(rng, n: int, ho: int, wo: int, h: int, w: int, align_corners: bool, reach: float = 1.5):
    gx = away_from_kinks(rng, (n, ho, wo), w, align_corners, reach)
    gy = away_from_kinks(rng, (n, ho, wo), h, align_corners, reach)
    return np.stack([gx, gy], axis=-1)


# -- affine_grid ----------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    c=st.integers(1, 3),
    align_corners=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_affine_grid_matches_torch(n, h, w, c, align_corners, dtype, seed):
    theta = np.random.default_rng(seed).uniform(-2, 2, (n, 2, 3))
    size = (n, c, h, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit-size grids with align_corners=True warn (both)
        compare_with_torch(
            lambda t: affine_grid(t, size, align_corners),
            lambda t: TF.affine_grid(t, size, align_corners),
            [theta],
            dtype=dtype,
            **TOLS[dtype],
        )


def test_affine_grid_gradcheck():
    theta = mc.tensor(np.random.default_rng(0).standard_normal((2, 2, 3)), requires_grad=True)
    for align_corners in (True, False):
        assert mc.gradcheck(lambda t, a=align_corners: affine_grid(t, (2, 1, 3, 4), a), (theta,))


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("mode", MODES)
def test_identity_transform_returns_the_input(mode, align_corners):
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 4))
    theta = np.tile(np.eye(2, 3), (2, 1, 1))
    grid = affine_grid(mc.tensor(theta), x.shape, align_corners=align_corners)
    y = grid_sample(mc.tensor(x), grid, mode=mode, align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), x, rtol=1e-12, atol=1e-12)


# -- grid_sample against torch ----------------------------------------------------------------
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=15, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 5), st.integers(1, 5)),
    out_hw=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    reach=st.sampled_from([1.0, 1.5, 3.0]),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_grid_sample_matches_torch(mode, padding_mode, align_corners, shape, out_hw, reach, dtype, seed):
    """Forward and the gradients of input and grid (points inside and outside [-1, 1])."""
    rng = np.random.default_rng(seed)
    n, _, h, w = shape
    x = rng.standard_normal(shape)
    grid = make_grid(rng, n, *out_hw, h, w, align_corners, reach)
    compare_with_torch(
        lambda a, g: grid_sample(a, g, mode, padding_mode, align_corners),
        lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align_corners),
        [x, grid],
        dtype=dtype,
        seed=seed,
        **TOLS[dtype],
    )


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
def test_grid_sample_on_pixel_centres_and_edges(mode, padding_mode, align_corners):
    """The kinks themselves, every normalised coordinate k/8 in [-2, 2] (exact in float64 under
    both unnormalising formulas): the forward and the one-sided gradients torch takes there
    (floor picks the right-hand cell; clipping and reflection bounds count as outside)."""
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 4))
    g = np.arange(-16, 17) / 8
    grid = np.stack(np.meshgrid(g, g[::-1]), axis=-1)[None]
    compare_with_torch(
        lambda a, b: grid_sample(a, b, mode, padding_mode, align_corners),
        lambda a, b: TF.grid_sample(a, b, mode, padding_mode, align_corners),
        [x, grid],
        rtol=1e-9,
        atol=1e-12,
    )


@pytest.mark.parametrize("mode", MODES)
def test_non_finite_grid_matches_torch(mode):
    """NaN and +-inf coordinates: outside for zeros (NaN weights -> NaN), clipped otherwise."""
    x = np.arange(1.0, 13.0, dtype=np.float32).reshape(1, 1, 3, 4)
    values = [[np.nan, 0.0], [np.inf, 0.0], [-np.inf, 0.5], [1e20, 0.0], [0.2, -np.inf], [0.3, 0.2]]
    grid = np.array(values, np.float32).reshape(1, 1, -1, 2)
    for padding_mode in PADDINGS:
        for align_corners in (True, False):
            y = grid_sample(mc.tensor(x), mc.tensor(grid), mode, padding_mode, align_corners)
            t = TF.grid_sample(torch.tensor(x), torch.tensor(grid), mode, padding_mode, align_corners)
            np.testing.assert_allclose(y.numpy(), t.numpy(), rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("mode", MODES)
def test_non_finite_input_stays_in_its_pixels(mode):
    """A NaN or inf pixel reaches only the points whose taps read it: taps outside the image read
    0 with zeros padding, whatever the input holds (forward and input gradient)."""
    x = np.random.default_rng(7).standard_normal((1, 2, 4, 5))
    x[0, 0, 0, 0], x[0, 1, 3, 4] = np.nan, np.inf
    g = np.linspace(-2.5, 2.5, 7)
    grid = np.stack(np.meshgrid(g, g[::-1]), axis=-1)[None]
    for align_corners in (True, False):
        xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y = grid_sample(xm, mc.tensor(grid), mode, "zeros", align_corners)
        t = TF.grid_sample(xt, torch.tensor(grid), mode, "zeros", align_corners)
        np.testing.assert_allclose(y.numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)
        assert np.isfinite(y.numpy()).sum() > y.numpy().size // 2
        y.sum().backward()
        t.sum().backward()
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_empty_batch_channels_and_grid():
    for x_shape, g_shape in [((0, 2, 3, 3), (0, 2, 2, 2)), ((2, 0, 3, 3), (2, 2, 2, 2)), ((2, 2, 3, 3), (2, 0, 2, 2))]:
        x, g = np.ones(x_shape), np.zeros(g_shape)
        compare_with_torch(
            lambda a, b: grid_sample(a, b, align_corners=False),
            lambda a, b: TF.grid_sample(a, b, align_corners=False),
            [x, g],
        )


def test_float16_forward():
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((2, 3, 4, 5)), make_grid(rng, 2, 3, 3, 4, 5, False)
    x, g = x.astype(np.float16), g.astype(np.float16)
    y = grid_sample(mc.tensor(x), mc.tensor(g), align_corners=False)
    assert y.dtype == np.float16
    t = TF.grid_sample(torch.tensor(x), torch.tensor(g), align_corners=False)
    np.testing.assert_allclose(y.numpy().astype(np.float64), t.numpy().astype(np.float64), atol=2e-2)


# -- gradchecks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize(
    "mode, padding_mode", [("bilinear", p) for p in PADDINGS] + [("bicubic", "zeros"), ("bicubic", "reflection")]
)
def test_grid_sample_gradcheck(mode, padding_mode, align_corners):
    rng = np.random.default_rng(4)
    x = mc.tensor(rng.standard_normal((2, 2, 3, 4)), requires_grad=True)
    grid = mc.tensor(make_grid(rng, 2, 2, 3, 3, 4, align_corners, reach=2.5), requires_grad=True)
    assert mc.gradcheck(lambda a, g: grid_sample(a, g, mode, padding_mode, align_corners), (x, grid))


# -- warnings and errors ------------------------------------------------------------------------
def _messages(record) -> list[str]:
    return [str(w.message) for w in record]


def test_align_corners_none_warns_and_means_false():
    rng = np.random.default_rng(5)
    theta, x = rng.standard_normal((1, 2, 3)), rng.standard_normal((1, 2, 3, 4))
    with pytest.warns(UserWarning) as ours:
        grid = affine_grid(mc.tensor(theta), (1, 2, 3, 4))
        y = grid_sample(mc.tensor(x), grid)
    with pytest.warns(UserWarning) as theirs:
        tgrid = TF.affine_grid(torch.tensor(theta), (1, 2, 3, 4))
        t = TF.grid_sample(torch.tensor(x), tgrid)
    assert _messages(ours) == _messages(theirs)
    assert all(w.filename == __file__ for w in ours)  # placed at the caller, as torch's
    np.testing.assert_allclose(grid.numpy(), tgrid.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


def test_affine_grid_unit_size_warning():
    theta = np.zeros((1, 2, 3))
    with pytest.warns(UserWarning) as ours:
        affine_grid(mc.tensor(theta), (1, 1, 1, 3), align_corners=True)
    with pytest.warns(UserWarning) as theirs:
        TF.affine_grid(torch.tensor(theta), (1, 1, 1, 3), align_corners=True)
    assert _messages(ours) == _messages(theirs)


_X, _G, _TH = np.zeros((2, 3, 4, 5)), np.zeros((2, 6, 7, 2)), np.zeros((2, 2, 3))
ERROR_CASES = {
    "mode": ("gs", _X, _G, dict(mode="area")),
    "padding_mode": ("gs", _X, _G, dict(padding_mode="constant")),
    "batch": ("gs", _X, _G[:1], {}),
    "grid last dim": ("gs", _X, _G[..., :1], {}),
    "3-d grid": ("gs", _X, _G[0], {}),
    "3-d input and grid": ("gs", _X[0], _G[0], {}),
    "empty H_in": ("gs", _X[:, :, :0], _G, {}),
    "empty W_in": ("gs", _X[..., :0], _G, {}),
    "grid dtype": ("gs", _X, _G.astype(np.float32), {}),
    "integer input": ("gs", _X.astype(np.int64), _G.astype(np.int64), {}),
    "integer theta": ("ag", _TH.astype(np.int64), (2, 1, 4, 5), {}),
    "theta 2-d": ("ag", _TH[0], (2, 1, 4, 5), {}),
    "theta 2x2": ("ag", _TH[..., :2], (2, 1, 4, 5), {}),
    "size 3-d": ("ag", _TH, (2, 1, 4), {}),
    "size 0": ("ag", _TH, (2, 1, 0, 5), {}),
    "size 0 channels": ("ag", _TH, (2, 0, 4, 5), {}),
    "size batch": ("ag", _TH, (3, 1, 4, 5), {}),
    "size batch, unit grid": ("ag", _TH, (0, 1, 1, 5), dict(align_corners=True)),
    "float size": ("ag", _TH, (2.0, 1, 4, 5), {}),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_match_torch(case):
    """Both raise, ours with an exception that is also torch's type (and names the op)."""
    op, a, b, kw = ERROR_CASES[case]
    kw = {"align_corners": False, **kw}
    if op == "gs":
        ours, theirs = (
            (lambda: grid_sample(mc.tensor(a), mc.tensor(b), **kw)),
            (lambda: TF.grid_sample(torch.tensor(a), torch.tensor(b), **kw)),
        )
    else:
        ours, theirs = (lambda: affine_grid(mc.tensor(a), b, **kw)), (lambda: TF.affine_grid(torch.tensor(a), b, **kw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as t_err:
            theirs()
        with pytest.raises(type(t_err.value)) as m_err:
            ours()
    assert "grid" in str(m_err.value)


# -- devices ------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_on_device(device):
    rng = np.random.default_rng(6)
    theta = rng.uniform(-1, 1, (2, 2, 3))
    compare_with_torch(
        lambda t: affine_grid(t, (2, 3, 4, 5), False),
        lambda t: TF.affine_grid(t, (2, 3, 4, 5), False),
        [theta],
        device=device,
    )
    x, grid = rng.standard_normal((2, 3, 4, 5)), make_grid(rng, 2, 3, 2, 4, 5, True)
    for mode, padding_mode in [("bilinear", "reflection"), ("nearest", "zeros"), ("bicubic", "border")]:
        compare_with_torch(
            lambda a, g, m=mode, p=padding_mode: grid_sample(a, g, m, p, True),
            lambda a, g, m=mode, p=padding_mode: TF.grid_sample(a, g, m, p, True),
            [x, grid],
            device=device,
            rtol=1e-9,
            atol=1e-10,
        )
