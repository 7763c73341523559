"""affine_grid and grid_sample in 3-D (5-D sizes, inputs and grids) against torch, with gradchecks."""

from __future__ import annotations

import math
import tracemalloc
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from test_grid_sample import (
    LINSPACE_SIZES,
    TOLS,
    assert_affine_grid_like_torch,
    away_from_kinks,
    bit_for_bit,
    nearest_pipeline_like_torch,
    raises_like_torch,
    tie_points,
)

import minicnn as mc
from minicnn.ops.grid_sample import affine_grid, grid_sample

MODES = ("bilinear", "nearest")  # torch has no bicubic in 3-D
PADDINGS = ("zeros", "border", "reflection")
DTYPES = (np.float32, np.float64)


def make_grid(rng, n: int, out: tuple, size: tuple, align_corners: bool, reach: float = 1.5):
    """(N, *out, 3) of (x, y, z) away from the kinks of an input of spatial ``size`` (D, H, W)."""
    d, h, w = size
    return np.stack([away_from_kinks(rng, (n, *out), s, align_corners, reach) for s in (w, h, d)], axis=-1)


# -- affine_grid ----------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 3),
    size=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
    c=st.integers(1, 3),
    align_corners=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_affine_grid_matches_torch(n, size, c, align_corners, dtype, seed):
    theta = np.random.default_rng(seed).uniform(-2, 2, (n, 3, 4))
    size = (n, c, *size)
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
    theta = mc.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), requires_grad=True)
    for align_corners in (True, False):
        assert mc.gradcheck(lambda t, a=align_corners: affine_grid(t, (2, 1, 2, 3, 4), a), (theta,))


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("mode", MODES)
def test_identity_transform_returns_the_input(mode, align_corners):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5, 3))
    theta = np.tile(np.eye(3, 4), (2, 1, 1))
    grid = affine_grid(mc.tensor(theta), x.shape, align_corners=align_corners)
    y = grid_sample(mc.tensor(x), grid, mode=mode, align_corners=align_corners)
    np.testing.assert_allclose(y.numpy(), x, rtol=1e-12, atol=1e-12)


# -- bit for bit with torch: the base grid, nearest's ties ----------------------------------------
@bit_for_bit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_affine_grid_base_is_torchs_bit_for_bit(align_corners, dtype):
    """The identity's grid equals torch's exactly along x, y and z (torch's linspace)."""
    theta = np.eye(3, 4, dtype=dtype)[None]
    for s in LINSPACE_SIZES:
        for size in [(1, 1, 2, 1, s), (1, 1, 1, s, 2), (1, 1, s, 2, 1)]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unit-size grids with align_corners=True warn (both)
                ours = affine_grid(mc.tensor(theta), size, align_corners).numpy()
                theirs = TF.affine_grid(torch.tensor(theta), size, align_corners).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"size {size}")


@bit_for_bit
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    size=st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 12)),
    align_corners=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_affine_grid_is_torchs_bit_for_bit(n, size, align_corners, dtype, seed):
    """Any theta: ``x*a + y*b + z*c + d`` summed in this order, every step rounded, as torch."""
    theta = np.random.default_rng(seed).uniform(-3, 3, (n, 3, 4)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = affine_grid(mc.tensor(theta), (n, 1, *size), align_corners).numpy()
        theirs = TF.affine_grid(torch.tensor(theta), (n, 1, *size), align_corners).numpy()
    assert_affine_grid_like_torch(ours, theirs, theta)


@bit_for_bit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_identity_warp_to_half_size_picks_torchs_pixels(align_corners, dtype):
    """affine_grid of the identity at half the size, then nearest sampling: torch's voxels."""
    theta = np.eye(3, 4, dtype=dtype)[None]
    for s in range(2, 17):
        shape = (s, s + 1, s + 3)
        x = np.arange(math.prod(shape), dtype=dtype).reshape(1, 1, *shape)
        out = (1, 1, *(d // 2 if not align_corners else (d + 1) // 2 for d in shape))
        nearest_pipeline_like_torch(theta, x, out, align_corners)


@bit_for_bit
@settings(max_examples=25, deadline=None)
@given(
    size=st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7)),
    out=st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7)),
    quarters=st.booleans(),
    align_corners=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_affine_warp_then_nearest_picks_torchs_pixels(size, out, quarters, align_corners, dtype, seed):
    """Any affine warp (with ``quarters``, entries multiples of 1/4), then nearest: torch's voxels."""
    rng = np.random.default_rng(seed)
    theta = np.eye(3, 4) + rng.uniform(-0.6, 0.6, (2, 3, 4))
    theta = (np.round(4 * theta) / 4 if quarters else theta).astype(dtype)
    x = rng.standard_normal((2, 2, *size)).astype(dtype)
    nearest_pipeline_like_torch(theta, x, (2, 2, *out), align_corners)


@bit_for_bit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_nearest_ties_pick_torchs_pixels(align_corners, dtype):
    """At and around every half voxel, along x, y and z at once, each padding: the voxel torch's
    3-D kernel picks. Unlike its 2-D kernel it unnormalises as ``((g+1)*W - 1)/2``, rounded
    step by step (a fused multiply-add here picks other voxels)."""
    for width in [1, 2, 3, 4, 5, 7, 8, 13, 16, 31]:
        g = tie_points(width, align_corners, dtype)
        x = np.arange(width**3, dtype=dtype).reshape(1, 1, width, width, width)
        grid = np.stack([g, g[::-1], np.roll(g, 5)], axis=-1).reshape(1, 1, 1, -1, 3)
        for padding_mode in PADDINGS:
            ours = grid_sample(mc.tensor(x), mc.tensor(grid), "nearest", padding_mode, align_corners).numpy()
            theirs = TF.grid_sample(torch.tensor(x), torch.tensor(grid), "nearest", padding_mode, align_corners).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"width {width}, {padding_mode}")


@pytest.mark.parametrize("mode", MODES)
def test_backward_keeps_only_the_per_axis_taps(mode):
    """What the forward keeps for the backward: per axis and point T tap offsets (int32),
    weights and weight derivatives -- no array over the K = T^3 taps (trilinear kept 16 times
    the grid, now 6)."""
    rng = np.random.default_rng(8)
    n, out = 2, (16, 16, 16)
    x = mc.tensor(rng.standard_normal((n, 3, 10, 12, 14)).astype(np.float32), requires_grad=True)
    for grid_grad in (True, False):
        grid = mc.tensor(rng.uniform(-1.2, 1.2, (n, *out, 3)).astype(np.float32), requires_grad=grid_grad)
        grid_sample(x, grid, mode, "zeros", False)  # warm: nothing allocated on a first call counts
        tracemalloc.start()
        y = grid_sample(x, grid, mode, "zeros", False)
        kept = tracemalloc.get_traced_memory()[0] - y.numpy().nbytes
        tracemalloc.stop()
        t = {"nearest": 1, "bilinear": 2}[mode]
        per_tap = 4 + (0 if mode == "nearest" else 4 * (1 + grid_grad))  # offset, weight, dweight
        assert kept <= 3 * t * per_tap * n * math.prod(out) + 32 * 1024, (grid_grad, kept)
        y.sum().backward()


# -- grid_sample against torch ----------------------------------------------------------------
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=15, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    out=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    reach=st.sampled_from([1.0, 1.5, 3.0]),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_grid_sample_matches_torch(mode, padding_mode, align_corners, shape, out, reach, dtype, seed):
    """Forward and the gradients of input and grid (points inside and outside [-1, 1])."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    grid = make_grid(rng, shape[0], out, shape[2:], align_corners, reach)
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
    """The kinks themselves, every normalised coordinate k/4 in [-2, 2] along each axis (exact in
    float64): the forward and the one-sided gradients torch takes there."""
    x = np.random.default_rng(2).standard_normal((1, 2, 2, 3, 4))
    g = np.arange(-8, 9) / 4
    grid = np.stack(np.meshgrid(g, g[::-1], g, indexing="ij")[::-1], axis=-1)[None]  # (1, 17, 17, 17, 3)
    compare_with_torch(
        lambda a, b: grid_sample(a, b, mode, padding_mode, align_corners),
        lambda a, b: TF.grid_sample(a, b, mode, padding_mode, align_corners),
        [x, grid],
        rtol=1e-9,
        atol=1e-12,
    )


@pytest.mark.parametrize("mode", MODES)
def test_non_finite_grid_as_in_2d(mode):
    """NaN and +-inf coordinates behave as in 2-D (the documented rule): a volume that is one
    pixel wide (W = 1, x = 0) sampled at (0, y, z) gives torch's 2-D result for the (D, H) image
    at (y, z). (torch's own 3-D CPU kernel differs here: it returns 0 for non-finite points with
    zeros padding, and clips NaN to size-1 rather than 0.)"""
    x = np.arange(1.0, 13.0, dtype=np.float32).reshape(1, 1, 3, 4, 1)
    values = [[np.nan, 0.0], [np.inf, 0.0], [-np.inf, 0.5], [1e20, 0.0], [0.2, -np.inf], [0.3, 0.2], [0.1, np.nan]]
    yz = np.array(values, np.float32).reshape(1, 1, -1, 2)
    grid = np.concatenate([np.zeros_like(yz[..., :1]), yz], axis=-1)[:, None]  # (1, 1, 1, 7, 3)
    for padding_mode in PADDINGS:
        for align_corners in (True, False):
            y = grid_sample(mc.tensor(x), mc.tensor(grid), mode, padding_mode, align_corners)
            t = TF.grid_sample(torch.tensor(x[..., 0]), torch.tensor(yz), mode, padding_mode, align_corners)
            np.testing.assert_allclose(y.numpy()[:, :, 0], t.numpy(), rtol=1e-5, equal_nan=True)


def test_empty_batch_channels_and_grid():
    cases = [
        ((0, 2, 2, 3, 3), (0, 2, 2, 2, 3)),
        ((2, 0, 2, 3, 3), (2, 2, 2, 2, 3)),
        ((2, 2, 2, 3, 3), (2, 0, 2, 2, 3)),
        ((2, 2, 2, 3, 3), (2, 2, 2, 0, 3)),
    ]
    for x_shape, g_shape in cases:
        compare_with_torch(
            lambda a, b: grid_sample(a, b, align_corners=False),
            lambda a, b: TF.grid_sample(a, b, align_corners=False),
            [np.ones(x_shape), np.zeros(g_shape)],
        )


# -- gradchecks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_grid_sample_gradcheck(padding_mode, align_corners):
    rng = np.random.default_rng(4)
    x = mc.tensor(rng.standard_normal((2, 2, 2, 3, 4)), requires_grad=True)
    grid = mc.tensor(make_grid(rng, 2, (2, 1, 3), (2, 3, 4), align_corners, reach=2.5), requires_grad=True)
    assert mc.gradcheck(lambda a, g: grid_sample(a, g, "bilinear", padding_mode, align_corners), (x, grid))


def test_affine_grid_then_grid_sample_gradcheck():
    """theta -> grid -> trilinear sample: the gradient reaches theta through both ops."""
    rng = np.random.default_rng(5)
    x = mc.tensor(rng.standard_normal((2, 2, 3, 3, 4)))
    theta = mc.tensor(np.eye(3, 4) + rng.uniform(-0.2, 0.2, (2, 3, 4)), requires_grad=True)
    assert mc.gradcheck(lambda t: grid_sample(x, affine_grid(t, (2, 2, 2, 3, 2), False), align_corners=False), (theta,))


# -- errors ---------------------------------------------------------------------------------------
_X, _G, _TH = np.zeros((2, 3, 4, 5, 6)), np.zeros((2, 2, 3, 4, 3)), np.zeros((2, 3, 4))
ERROR_CASES = {
    "bicubic": ("gs", _X, _G, dict(mode="bicubic")),
    "bicubic, integer input": ("gs", _X.astype(np.int64), _G.astype(np.int64), dict(mode="bicubic")),
    "batch": ("gs", _X[:1], _G, {}),
    "grid last dim 2": ("gs", _X, _G[..., :2], {}),
    "4-d grid": ("gs", _X, _G[:, 0], {}),
    "4-d input, 5-d grid": ("gs", _X[:, :, 0], _G, {}),
    "6-d input and grid": ("gs", _X[None], _G[None], {}),
    "empty D_in": ("gs", _X[:, :, :0], _G, {}),
    "empty W_in": ("gs", _X[..., :0], _G, {}),
    "grid dtype": ("gs", _X, _G.astype(np.float32), {}),
    "integer input": ("gs", _X.astype(np.int64), _G.astype(np.int64), {}),
    "integer theta": ("ag", _TH.astype(np.int64), (2, 1, 3, 4, 5), {}),
    "theta 3x3": ("ag", _TH[..., :3], (2, 1, 3, 4, 5), {}),
    "theta 2x3 for a 5-d size": ("ag", _TH[:, :2, :3], (2, 1, 3, 4, 5), {}),
    "theta 3x4 for a 4-d size": ("ag", _TH, (2, 1, 4, 5), {}),
    "size 6-d": ("ag", _TH, (2, 1, 3, 4, 5, 6), {}),
    "size 0": ("ag", _TH, (2, 1, 0, 4, 5), {}),
    "size batch": ("ag", _TH, (3, 1, 3, 4, 5), {}),
    "size batch, unit grid": ("ag", _TH, (0, 1, 1, 4, 5), dict(align_corners=True)),
    "float size": ("ag", _TH, (2.0, 1, 3, 4, 5), {}),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_match_torch(case):
    raises_like_torch(*ERROR_CASES[case])


def test_bicubic_message_names_the_rule():
    with pytest.raises(ValueError, match="bicubic interpolation only supports 4-D input"):
        grid_sample(mc.tensor(_X), mc.tensor(_G), mode="bicubic", align_corners=False)


def test_unit_size_warning():
    theta = np.zeros((1, 3, 4))
    with pytest.warns(UserWarning) as ours:
        affine_grid(mc.tensor(theta), (1, 1, 2, 1, 3), align_corners=True)
    with pytest.warns(UserWarning) as theirs:
        TF.affine_grid(torch.tensor(theta), (1, 1, 2, 1, 3), align_corners=True)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]


# -- devices ------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_affine_grid_on_device(device):
    theta = np.random.default_rng(6).uniform(-1, 1, (2, 3, 4))
    compare_with_torch(
        lambda t: affine_grid(t, (2, 3, 2, 4, 5), False),
        lambda t: TF.affine_grid(t, (2, 3, 2, 4, 5), False),
        [theta],
        device=device,
    )


@pytest.mark.parametrize("device", devices())
def test_grid_sample_on_device(device):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 3, 4, 5))
    grid = make_grid(rng, 2, (2, 3, 2), (3, 4, 5), True)
    for mode, padding_mode in [("bilinear", "reflection"), ("nearest", "zeros"), ("bilinear", "border")]:
        compare_with_torch(
            lambda a, g, m=mode, p=padding_mode: grid_sample(a, g, m, p, True),
            lambda a, g, m=mode, p=padding_mode: TF.grid_sample(a, g, m, p, True),
            [x, grid],
            device=device,
            rtol=1e-9,
            atol=1e-10,
        )
