"""affine_grid and grid_sample (2-D spatial transformers) against torch, with gradchecks; the 3-D
forms are in test_grid_sample_3d.py."""

from __future__ import annotations

import math
import tracemalloc
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import grid_sample as K
from minicnn.kernels.rounding import fma
from minicnn.ops.grid_sample import affine_grid, grid_sample

MODES = ("bilinear", "nearest", "bicubic")
PADDINGS = ("zeros", "border", "reflection")
DTYPES = (np.float32, np.float64)
# float32: the weights and their sums round in another order than in torch's kernels
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


# -- bit for bit with torch: the base grid, nearest's ties ----------------------------------------
def torch_picks_at_the_audit_tie(dims: int) -> float:
    """torch's nearest sample at x = -1/3 of a row of 3 pixels (float64; pixel coordinate 0.5
    up to an ulp): 1.0 where it unnormalises with a fused multiply-add, 0.0 where it rounds twice."""
    x = torch.arange(3.0, dtype=torch.float64).reshape((1,) * (dims + 1) + (3,))
    grid = torch.zeros((1,) * (dims + 1) + (dims,), dtype=torch.float64)
    grid[..., 0] = -1 / 3
    return TF.grid_sample(x, grid, "nearest", align_corners=False).item()


def torch_sums_affine_grid_in_order(size: tuple[int, ...] = (1, 1, 5, 7)) -> bool:
    """Whether torch's affine_grid computes ``x*a + y*b (+ z*c) + d`` product by product and sum
    by sum, in this order, on a probe grid of ``size`` (not fused, nor reordered as BLAS kernels
    may do: torch hands larger grids, 400 multiply-adds and up, to its BLAS, whose rounding
    depends on the CPU; small ones it sums in order everywhere)."""
    k = len(size) - 2
    theta = np.random.default_rng(0).uniform(-2, 2, (size[0], k, k + 1)).astype(np.float32)
    eye = np.tile(np.eye(k, k + 1, dtype=np.float32)[None], (size[0], 1, 1))
    grid = TF.affine_grid(torch.tensor(theta), size, align_corners=False).numpy()
    base = TF.affine_grid(torch.tensor(eye), size, align_corners=False).numpy()
    for n in range(size[0]):
        for i in range(k):
            acc = base[n, ..., 0] * theta[n, i, 0]
            for j in range(1, k):
                acc = acc + base[n, ..., j] * theta[n, i, j]
            if not np.array_equal(grid[n, ..., i], acc + theta[n, i, k]):
                return False
    return True


# minicnn rounds as torch's x86 CPU kernels built for AVX2 and AVX-512 do: linspace and the 2-D
# grid_sample with fused multiply-adds, the scalar 3-D grid_sample step by step, affine_grid's
# sums in order. torch's baseline build (ATEN_CPU_CAPABILITY=default) rounds otherwise in all
# four, so grids differ by an ulp and ties go elsewhere.
TORCH_ROUNDS_AS_ITS_FMA_BUILDS = (
    torch.linspace(-1, 1, 7, dtype=torch.float32)[3].item() != 0  # -3e-8 when fused
    and torch_picks_at_the_audit_tie(2) == 1.0
    and torch_picks_at_the_audit_tie(3) == 0.0
    and torch_sums_affine_grid_in_order()
)
bit_for_bit = pytest.mark.skipif(
    not TORCH_ROUNDS_AS_ITS_FMA_BUILDS,
    reason=f"torch's CPU kernels here ({torch.backends.cpu.get_cpu_capability()}) round otherwise than its "
    "AVX2/AVX-512 builds, which minicnn follows bit for bit",
)
# torch's affine_grid on grids large enough for its BLAS (see torch_sums_affine_grid_in_order):
# in order on some CPUs, fused multiply-adds on others (MKL's AVX-512 kernels); where fused,
# minicnn's in-order grid is compared within the rounding of the sum, and the nearest-sampling
# tests sample torch's own grid on both sides
AFFINE_GRID_IN_ORDER = all(torch_sums_affine_grid_in_order(size) for size in ((2, 1, 9, 31), (2, 1, 5, 6, 9)))


def assert_affine_grid_like_torch(ours: np.ndarray, theirs: np.ndarray, theta: np.ndarray) -> None:
    """Bit for bit where torch sums in order here; else within the rounding of the sum."""
    if AFFINE_GRID_IN_ORDER:
        np.testing.assert_array_equal(ours, theirs)
    else:
        bound = 4 * np.finfo(theta.dtype).eps * np.abs(theta).sum(-1).max()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=bound)


LINSPACE_SIZES = [*range(1, 41), 63, 64, 100, 255, 1000, 4097, 10000]


@bit_for_bit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_affine_grid_base_is_torchs_bit_for_bit(align_corners, dtype):
    """The identity's grid equals torch's exactly, for each size along x and along y: torch's
    linspace (two halves from -1 and from +1, one rounding each), then ``* (W-1) / W``.
    (np.linspace's ``-1 + i*step`` was an ulp off from 7 points on, and a fused ``step*i - 1``
    computed in longdouble is off for float64 from about 3600 points.)"""
    theta = np.eye(2, 3, dtype=dtype)[None]
    for w in LINSPACE_SIZES:
        for size in [(1, 1, 2, w), (1, 1, w, 3)]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unit-size grids with align_corners=True warn (both)
                ours = affine_grid(mc.tensor(theta), size, align_corners).numpy()
                theirs = TF.affine_grid(torch.tensor(theta), size, align_corners).numpy()
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs, err_msg=f"size {size}")


@bit_for_bit
@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 3),
    h=st.integers(1, 70),
    w=st.integers(1, 70),
    align_corners=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_affine_grid_is_torchs_bit_for_bit(n, h, w, align_corners, dtype, seed):
    """Any theta: ``x*a + y*b + c`` summed in this order, every step rounded, as torch's batched
    product (NumPy's matmul was an ulp off in most settings)."""
    theta = np.random.default_rng(seed).uniform(-3, 3, (n, 2, 3)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = affine_grid(mc.tensor(theta), (n, 1, h, w), align_corners).numpy()
        theirs = TF.affine_grid(torch.tensor(theta), (n, 1, h, w), align_corners).numpy()
    assert_affine_grid_like_torch(ours, theirs, theta)


@bit_for_bit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_identity_warp_to_half_size_picks_torchs_pixels(align_corners, dtype):
    """affine_grid of the identity at half the size, then nearest sampling: the points fall on
    pixel edges, ties that an ulp of the grid decides (28 -> 14 pixels: 52 of 196 differed
    with np.linspace's grid). Every output pixel must be the one torch picks."""
    theta = np.eye(2, 3, dtype=dtype)[None]
    for s in range(2, 41):
        x = np.arange(s * (s + 3), dtype=dtype).reshape(1, 1, s, s + 3)
        out = (1, 1, s // 2, (s + 3) // 2) if not align_corners else (1, 1, (s + 1) // 2, (s + 4) // 2)
        nearest_pipeline_like_torch(theta, x, out, align_corners)


def nearest_pipeline_like_torch(theta, x, out, align_corners) -> None:
    """affine_grid(theta, out) then grid_sample(x, mode="nearest") equals torch's bit for bit
    with every padding mode. (Also used by the 3-D tests.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit-size grids with align_corners=True warn (both)
        grid = affine_grid(mc.tensor(theta), out, align_corners)
        tgrid = TF.affine_grid(torch.tensor(theta), out, align_corners)
    assert_affine_grid_like_torch(grid.numpy(), tgrid.numpy(), theta)
    if not AFFINE_GRID_IN_ORDER:  # an ulp apart: ties may go elsewhere; sample torch's grid on both sides
        grid = mc.tensor(tgrid.numpy())
    for padding_mode in PADDINGS:
        ours = grid_sample(mc.tensor(x), grid, "nearest", padding_mode, align_corners).numpy()
        theirs = TF.grid_sample(torch.tensor(x), tgrid, "nearest", padding_mode, align_corners).numpy()
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{x.shape} -> {out}, {padding_mode}")


@bit_for_bit
@settings(max_examples=30, deadline=None)
@given(
    size=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    out=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    quarters=st.booleans(),
    align_corners=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_affine_warp_then_nearest_picks_torchs_pixels(size, out, quarters, align_corners, dtype, seed):
    """Any affine warp (with ``quarters``, its entries multiples of 1/4: many points on pixel
    edges), then nearest sampling with each padding: torch's pixels."""
    rng = np.random.default_rng(seed)
    theta = np.eye(2, 3) + rng.uniform(-0.6, 0.6, (2, 2, 3))
    theta = (np.round(4 * theta) / 4 if quarters else theta).astype(dtype)
    x = rng.standard_normal((2, 2, *size)).astype(dtype)
    nearest_pipeline_like_torch(theta, x, (2, 2, *out), align_corners)


def tie_points(width: int, align_corners: bool, dtype) -> np.ndarray:
    """Normalised coordinates of every quarter pixel from 1 pixel before to 1 after an axis of
    ``width`` pixels (the ties at half pixels among them), and their neighbours an ulp below
    and above."""
    c = np.arange(-4 * width - 4, 4 * width + 5) / 4  # pixel coordinates
    if align_corners:
        g = 2 * c / (width - 1) - 1 if width > 1 else 0 * c
    else:
        g = (2 * c + 1) / width - 1
    g = g.astype(dtype)
    return np.concatenate([np.nextafter(g, dtype(-9)), g, np.nextafter(g, dtype(9))])


@bit_for_bit
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_nearest_ties_pick_torchs_pixels(align_corners, dtype):
    """At and around every half pixel, along x and y at once, each padding: the pixel torch's
    2-D kernel picks. It unnormalises without align_corners as ``(g+1) * (W/2) - 0.5`` in one
    fused multiply-add (one rounding); ``((g+1)*W - 1)/2`` rounds twice and moves some ties."""
    for width in [1, 2, 3, 4, 5, 7, 8, 13, 16, 31, 64, 100, 257]:
        g = tie_points(width, align_corners, dtype)
        x = np.arange(width * width, dtype=dtype).reshape(1, 1, width, width)
        grid = np.stack([g, g[::-1]], axis=-1).reshape(1, 1, -1, 2)
        for padding_mode in PADDINGS:
            ours = grid_sample(mc.tensor(x), mc.tensor(grid), "nearest", padding_mode, align_corners).numpy()
            theirs = TF.grid_sample(torch.tensor(x), torch.tensor(grid), "nearest", padding_mode, align_corners).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"width {width}, {padding_mode}")


@bit_for_bit
def test_float64_tie_of_the_audit():
    """x = -1/3 on a row of 3 pixels lies at pixel coordinate 0.5 up to an ulp: torch's fused
    unnormalising lands above the tie (pixel 1), ``((g+1)*3 - 1)/2`` on it (rint: pixel 0)."""
    x = np.arange(3.0).reshape(1, 1, 1, 3)
    grid = np.array([-1 / 3, 0.0]).reshape(1, 1, 1, 2)
    ours = grid_sample(mc.tensor(x), mc.tensor(grid), "nearest", align_corners=False).item()
    assert ours == TF.grid_sample(torch.tensor(x), torch.tensor(grid), "nearest", align_corners=False).item() == 1.0


def test_fma_rounds_once():
    """kernels.rounding.fma against exact rational arithmetic: float64 products that (nearly)
    cancel c, and sums a bit beside a tie, where ``a*b + c`` rounded twice is often off; float32
    with the operands of unnormalising (every tie point of several widths); inf and NaN."""
    rng = np.random.default_rng(0)
    m = 3000

    def exact(a, b, c) -> np.ndarray:
        return np.array([float(Fraction(p) * Fraction(q) + Fraction(r)) for p, q, r in zip(a, b, c)])

    a = rng.standard_normal(m) * 2.0 ** rng.integers(-30, 30, m)
    b = rng.standard_normal(m) * 2.0 ** rng.integers(-30, 30, m)
    c = -a * b * (1 + rng.standard_normal(m) * 2.0 ** rng.integers(-60, 0, m))
    c[::3] = rng.standard_normal(m)[::3]
    np.testing.assert_array_equal(fma(a, b, c), exact(a, b, c))
    a, b, c = 1 + rng.integers(0, 2**20, m) * 2.0**-52, np.full(m, 1 + 2.0**-30), rng.choice([-1.0, -0.5, 1.0], m)
    np.testing.assert_array_equal(fma(a, b, c), exact(a, b, c))
    assert (a * b + c != exact(a, b, c)).sum() > m // 4  # the case is not vacuous
    for width in [3, 7, 100, 1001]:
        g1 = tie_points(width, False, np.float32) + np.float32(1)
        half = np.float32(width / 2)
        exact = [Fraction(float(v)) * Fraction(width, 2) - Fraction(1, 2) for v in g1]
        ours = fma(g1, half, np.float32(-0.5))
        assert ours.dtype == np.float32
        # the exact value lies within half an ulp of ours (ties: ours is even)
        ulp = np.spacing(np.abs(ours)).astype(np.float64)
        err = np.array([abs(float(e - Fraction(float(o)))) for e, o in zip(exact, ours)])
        assert (err <= ulp / 2).all()
    special = np.array([np.inf, -np.inf, np.nan, 1e300, 1e308])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(fma(special, 3.0, -0.5), special * 3.0 - 0.5)


@pytest.mark.parametrize("mode", MODES)
def test_backward_keeps_only_the_per_axis_taps(mode):
    """What the forward keeps for the backward (tracemalloc, output alive, input and grid not
    counted): per axis and point, T tap offsets (int32), weights and weight derivatives -- no
    array over the K = T^2 taps (bicubic kept 40 times the grid, now 12)."""
    rng = np.random.default_rng(8)
    n, h, w = 2, 64, 64
    x = mc.tensor(rng.standard_normal((n, 3, 40, 50)).astype(np.float32), requires_grad=True)
    for grid_grad in (True, False):
        grid = mc.tensor(rng.uniform(-1.2, 1.2, (n, h, w, 2)).astype(np.float32), requires_grad=grid_grad)
        grid_sample(x, grid, mode, "zeros", False)  # warm: nothing allocated on a first call counts
        tracemalloc.start()
        y = grid_sample(x, grid, mode, "zeros", False)
        kept = tracemalloc.get_traced_memory()[0] - y.numpy().nbytes
        tracemalloc.stop()
        t = {"nearest": 1, "bilinear": 2, "bicubic": 4}[mode]
        per_tap = 4 + (0 if mode == "nearest" else 4 * (1 + grid_grad))  # offset, weight, dweight
        assert kept <= 2 * t * per_tap * n * h * w + 32 * 1024, (grid_grad, kept)
        y.sum().backward()  # and the backward still runs from what was kept


def test_int64_offsets(monkeypatch):
    """Inputs of more rows than int32 offsets address take int64 ones (here forced): same result."""
    monkeypatch.setattr(K, "MAX_INT32_ROWS", 0)
    rng = np.random.default_rng(9)
    x, grid = rng.standard_normal((2, 3, 4, 5)), make_grid(rng, 2, 3, 2, 4, 5, False)
    assert K.sample_taps(grid, (4, 5), "bilinear", "zeros", False, True)[0].offset.dtype == np.int64
    compare_with_torch(
        lambda a, g: grid_sample(a, g, "bicubic", "zeros", False),
        lambda a, g: TF.grid_sample(a, g, "bicubic", "zeros", False),
        [x, grid],
        rtol=1e-9,
        atol=1e-10,
    )


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
    raises_like_torch(*ERROR_CASES[case])


def raises_like_torch(op, a, b, kw) -> None:
    """Both raise, ours with an exception that is also torch's type (and names the op);
    ``op`` "gs" is grid_sample(a, b), else affine_grid(a, size b). (Also used by the 3-D tests.)"""
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
    x = rng.standard_normal((2, 3, 4, 5))
    for align_corners in (True, False):  # without: the fused unnormalising, float64 and float32
        grid = make_grid(rng, 2, 3, 2, 4, 5, align_corners)
        for mode, padding_mode in [("bilinear", "reflection"), ("nearest", "zeros"), ("bicubic", "border")]:
            compare_with_torch(
                lambda a, g, m=mode, p=padding_mode, ac=align_corners: grid_sample(a, g, m, p, ac),
                lambda a, g, m=mode, p=padding_mode, ac=align_corners: TF.grid_sample(a, g, m, p, ac),
                [x, grid],
                device=device,
                rtol=1e-9,
                atol=1e-10,
            )
        compare_with_torch(
            lambda a, g, ac=align_corners: grid_sample(a, g, "bilinear", "zeros", ac),
            lambda a, g, ac=align_corners: TF.grid_sample(a, g, "bilinear", "zeros", ac),
            [x, grid],
            dtype=np.float32,
            device=device,
            **TOLS[np.float32],
        )
