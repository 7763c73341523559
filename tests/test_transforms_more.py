"""torchvision's other common transforms against torchvision itself.

Functional forms: minicnn's array in, torchvision's tensor in, same arguments, same result
(float32 within 1e-5; uint8 exactly, or within 1 where torchvision rounds a float32 result
that may lie on a half-integer). Random classes: the parameters a class draws, fed to
torchvision's functional form, give the class's output; ``apply_batch`` equals one-by-one
calls after the same seed; the draws have the documented distribution.

Nearest-neighbour rotate/affine: a source coordinate that lies (within float32 rounding) on
a half pixel is a tie, which torch's grid (a float32 batched product, maybe fused) and ours
(the same float32 terms, summed in numpy) may break differently. Such pixels are found from
the float64 coordinates and excluded from the exact comparison (:func:`_tie_pixels`); every
other pixel must match exactly.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torchvision.transforms as TV
import torchvision.transforms.functional as TVF
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms import InterpolationMode as TVMode

import minicnn as mc
from minicnn.backend import to_device, to_numpy
from minicnn.data import transforms as T
from minicnn.data import transforms_functional as F

FLOAT_TOL = 1e-5
SETTINGS = settings(max_examples=25, deadline=None)


def _image(seed: int, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape).astype(dtype)


def _torch(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def _assert_close(ours: np.ndarray, theirs: torch.Tensor, uint8_slack: int = 0) -> None:
    theirs_np = theirs.numpy()
    assert ours.shape == theirs_np.shape and ours.dtype == theirs_np.dtype
    if ours.dtype == np.uint8:
        diff = np.abs(ours.astype(np.int64) - theirs_np.astype(np.int64))
        assert diff.max(initial=0) <= uint8_slack, diff.max()
    else:
        np.testing.assert_allclose(ours, theirs_np, rtol=0, atol=FLOAT_TOL)


shapes = st.tuples(st.sampled_from([1, 3]), st.integers(2, 11), st.integers(2, 11))


# --- crops, flips, erase ------------------------------------------------------------------


@SETTINGS
@given(shapes, st.integers(1, 14), st.integers(1, 14), st.integers(-4, 8), st.integers(-4, 8), st.booleans())
def test_crops_and_flips_match_torchvision(shape, ch, cw, top, left, uint8) -> None:
    x = _image(ch * 31 + cw, shape, np.uint8 if uint8 else np.float32)
    t = _torch(x)
    np.testing.assert_array_equal(F.center_crop(x, (ch, cw)), TVF.center_crop(t, [ch, cw]).numpy())
    np.testing.assert_array_equal(F.center_crop(x, ch), TVF.center_crop(t, ch).numpy())
    np.testing.assert_array_equal(F.crop(x, top, left, ch, cw), TVF.crop(t, top, left, ch, cw).numpy())
    np.testing.assert_array_equal(F.hflip(x), TVF.hflip(t).numpy())
    np.testing.assert_array_equal(F.vflip(x[None]), TVF.vflip(t[None]).numpy())  # leading axes too


@settings(max_examples=10, deadline=None)
@given(shapes, st.integers(1, 11), st.integers(1, 11), st.booleans(), st.booleans())
def test_five_crop_ten_crop_and_pad_match_torchvision(shape, ch, cw, vertical, uint8) -> None:
    x = _image(ch * 13 + cw, shape, np.uint8 if uint8 else np.float32)
    t = _torch(x)
    for ours, theirs in ((F.five_crop, TVF.five_crop), (F.ten_crop, TVF.ten_crop)):
        args = (vertical,) if ours is F.ten_crop else ()
        if ch > shape[1] or cw > shape[2]:
            with pytest.raises(ValueError):
                theirs(t, (ch, cw), *args)
            with pytest.raises(ValueError, match=r"five_crop: requested crop size .* is bigger than input size"):
                ours(x, (ch, cw), *args)
            continue
        crops = ours(mc.tensor(x), (ch, cw), *args)
        expected = theirs(t, (ch, cw), *args)
        assert len(crops) == len(expected) and all(isinstance(c, mc.Tensor) for c in crops)
        for c, e in zip(crops, expected):
            np.testing.assert_array_equal(c.numpy(), e.numpy())
    for mode in ("constant", "edge", "reflect", "symmetric"):
        np.testing.assert_array_equal(F.pad(x, [1, 1], 3, mode), TVF.pad(t, [1, 1], 3, mode).numpy())


@SETTINGS
@given(shapes, st.integers(0, 10), st.integers(0, 10), st.integers(0, 6), st.integers(0, 6), st.booleans())
def test_erase_matches_torchvision(shape, i, j, h, w, per_channel) -> None:
    x = _image(i + 7 * j, shape)
    v = np.linspace(0.1, 0.9, shape[0], dtype=np.float32)[:, None, None] if per_channel else np.float32(0.5)
    ours = F.erase(x, i, j, h, w, v)
    np.testing.assert_array_equal(ours, TVF.erase(_torch(x), i, j, h, w, torch.as_tensor(v)).numpy())
    assert not np.shares_memory(ours, x)
    same = F.erase(x, i, j, h, w, v, inplace=True)
    assert same is x and np.array_equal(x, ours)


# --- resize -------------------------------------------------------------------------------

MODES = ["nearest", "nearest-exact", "bilinear", "bicubic"]


@SETTINGS
@given(shapes, st.sampled_from(MODES), st.integers(1, 17), st.integers(1, 17), st.booleans())
def test_resize_matches_torchvision(shape, mode, oh, ow, by_short_side) -> None:
    x = _image(oh * 17 + ow, shape)
    size = oh if by_short_side else (oh, ow)
    ours = F.resize(x, size, F.InterpolationMode(mode), antialias=False)
    _assert_close(ours, TVF.resize(_torch(x), size, TVMode(mode), antialias=False))
    # torchvision's modes, its Pillow constants and the strings all name the modes
    np.testing.assert_array_equal(F.resize(x, size, TVMode(mode), antialias=False), ours)
    # uint8 goes through float32 and back, rounded: within 1 where the float is near k + 1/2
    u = _image(oh, shape, np.uint8)
    slack = 0 if mode.startswith("nearest") else 1
    _assert_close(
        F.resize(u, size, mode, antialias=False), TVF.resize(_torch(u), size, TVMode(mode), antialias=False), slack
    )


def test_resize_short_side_max_size_and_same_size() -> None:
    x = _image(0, (3, 10, 6))
    for size, max_size in ((4, None), ([4], 5), (5, 8)):
        ours = F.resize(x, size, max_size=max_size, antialias=False)
        _assert_close(ours, TVF.resize(_torch(x), size, max_size=max_size, antialias=False))
    assert F.resize(x, (10, 6)) is x  # torchvision returns an image of the requested size as it is
    with pytest.raises(ValueError, match=r"resize: max_size = 4 must be strictly greater"):
        F.resize(x, 4, max_size=4)
    with pytest.raises(ValueError, match=r"resize: max_size should only be passed"):
        F.resize(x, (4, 4), max_size=9)
    with pytest.raises(ValueError, match=r"resize: interpolation must be one of"):
        F.resize(x, 4, "lanczos")
    with pytest.raises(ValueError, match=r"resize: size must hold positive ints"):
        F.resize(x, (0, 3))
    for size in (2.0, (2.0, 3), "ab"):  # as torchvision: TypeError for a size that is not ints
        with pytest.raises(TypeError):
            TVF.resize(_torch(x), size)
        with pytest.raises(TypeError, match=r"resize: size should"):
            F.resize(x, size)
    with pytest.raises(TypeError, match=r"Resize: size should be an int or a sequence"):
        T.Resize(2.0)
    _assert_close(F.resize(x, True), TVF.resize(_torch(x), True))  # a bool is an int to torchvision


def check_resize_antialias(seed: int, mode: str, dtype: type = np.float32) -> None:
    """F.resize(antialias=True) (minicnn's F.interpolate antialiasing) against torchvision, on
    sizes drawn from ``seed``, down- and up-scaling."""
    rng = np.random.default_rng(seed)
    shape = (3, int(rng.integers(2, 24)), int(rng.integers(2, 24)))
    x = _image(seed, shape, dtype)
    size = (int(rng.integers(1, 30)), int(rng.integers(2, 30)))  # width 1: torch's bug, see below
    ours = F.resize(x, size, mode, antialias=True)
    _assert_close(ours, TVF.resize(_torch(x), list(size), TVMode(mode), antialias=True), uint8_slack=1)
    ours = F.resized_crop(x, 1, 0, shape[1] - 1, shape[2], size[0], mode)  # antialias=True is the default
    _assert_close(ours, TVF.resized_crop(_torch(x), 1, 0, shape[1] - 1, shape[2], size[0], TVMode(mode)), 1)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("seed", range(6))
def test_resize_antialias_matches_torchvision(seed, mode, dtype) -> None:
    check_resize_antialias(seed, mode, dtype)


@SETTINGS
@given(st.sampled_from(MODES), st.booleans(), st.integers(0, 10**6))
def test_resized_crop_per_sample_matches_torchvision(mode, antialias, seed) -> None:
    """The per-sample resizer behind RandomResizedCrop, antialiasing included (its own taps)."""
    rng = np.random.default_rng(seed)
    n, height, width = 3, int(rng.integers(2, 20)), int(rng.integers(2, 20))
    x = _image(seed, (n, 3, height, width))
    h = rng.integers(1, height + 1, n)
    w = rng.integers(1, width + 1, n)
    top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
    size = (int(rng.integers(1, 25)), int(rng.integers(2, 25)))  # output width 1: the next test
    ours = F.resized_crop_per_sample(x, top, left, h, w, size, mode, antialias)
    for b in range(n):
        box = int(top[b]), int(left[b]), int(h[b]), int(w[b])
        theirs = TVF.resized_crop(_torch(x[b]), *box, list(size), TVMode(mode), antialias=antialias)
        _assert_close(ours[b], theirs)
        if not antialias:  # the functional form (F.interpolate) agrees
            _assert_close(F.resized_crop(x[b], *box, size, mode, antialias=False), theirs)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_resized_crop_per_sample_to_width_one(mode) -> None:
    """torch 2.14's antialiased CPU resize is wrong when the output width is 1 and the height
    changes (a (3, 1) column [0, 1, 0.5] resized to (5, 1) comes out as 5 equal values). Ours gives
    the separable result: checked against torchvision on the transposed image, whose output
    width is the height here."""
    x = _image(2, (2, 3, 7, 5))
    col = np.array([0.0, 1.0, 0.5], np.float32).reshape(1, 1, 3, 1)
    wrong = TVF.resize(_torch(col), [5, 1], TVMode(mode))  # torch's bug, for the record: 5 equal rows
    assert torch.equal(wrong, wrong[..., :1, :].expand(1, 1, 5, 1))
    top, left, h, w = np.array([0, 2]), np.array([1, 0]), np.array([7, 4]), np.array([3, 5])
    ours = F.resized_crop_per_sample(x, top, left, h, w, (6, 1), mode, True)
    for b in range(2):
        flipped = _torch(x[b].swapaxes(-1, -2))
        theirs = TVF.resized_crop(flipped, int(left[b]), int(top[b]), int(w[b]), int(h[b]), [1, 6], TVMode(mode))
        _assert_close(ours[b], theirs.transpose(-1, -2).contiguous())


# --- rotate and affine --------------------------------------------------------------------


def _tie_pixels(matrix: list[float], shape: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """(OH, OW) bool: output pixels whose float64 source coordinate lies within 1e-3 of a half
    pixel (a nearest-neighbour tie) along x or y."""
    (h, w), (oh, ow) = shape, out
    y, x = np.meshgrid(np.arange(oh) - oh / 2 + 0.5, np.arange(ow) - ow / 2 + 0.5, indexing="ij")
    sx = matrix[0] * x + matrix[1] * y + matrix[2] + w / 2 - 0.5
    sy = matrix[3] * x + matrix[4] * y + matrix[5] + h / 2 - 0.5
    return (np.abs(sx - np.floor(sx) - 0.5) < 1e-3) | (np.abs(sy - np.floor(sy) - 0.5) < 1e-3)


def _compare_grid_transform(ours, theirs, mode, matrix, uint8, in_shape=None) -> None:
    """Exact away from nearest-neighbour ties (:func:`_tie_pixels`) for nearest; bilinear within
    the float tolerance (within 1 for uint8, rounded from float32)."""
    theirs = theirs.numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    if mode == "nearest":
        ties = _tie_pixels(matrix, in_shape or ours.shape[-2:], ours.shape[-2:])
        assert np.array_equal(ours[..., ~ties], theirs[..., ~ties])
    elif uint8:
        assert np.abs(ours.astype(np.int64) - theirs).max(initial=0) <= 1
    else:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=FLOAT_TOL)


fills = st.sampled_from([None, 0, 0.5, [0.25], "per-channel"])


def _fill(fill, channels):
    return [0.1 * (c + 1) for c in range(channels)] if fill == "per-channel" else fill


@SETTINGS
@given(shapes, st.floats(-360, 360), st.sampled_from(["nearest", "bilinear"]), fills, st.booleans(), st.booleans())
def test_rotate_matches_torchvision(shape, angle, mode, fill, uint8, centred) -> None:
    x = _image(int(angle * 7) % 1000, shape, np.uint8 if uint8 else np.float32)
    fill = _fill(fill, shape[0])
    if uint8 and fill is not None:
        fill = [255 * f for f in fill] if isinstance(fill, list) else 255 * fill
    center = None if centred else [1, shape[1] - 2]
    ours = F.rotate(x, angle, mode, center=center, fill=fill)
    theirs = TVF.rotate(_torch(x), angle, TVMode(mode), center=center, fill=fill)
    h, w = shape[1:]
    offset = F._center_offset(center, h, w, "rotate")
    matrix = F.inverse_affine_matrix(offset, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    _compare_grid_transform(ours, theirs, mode, matrix, uint8)


@SETTINGS
@given(shapes, st.floats(-180, 180), st.sampled_from(["nearest", "bilinear"]), fills)
def test_rotate_expand_matches_torchvision(shape, angle, mode, fill) -> None:
    x = _image(3, shape)
    fill = _fill(fill, shape[0])
    ours = F.rotate(x, angle, mode, expand=True, fill=fill)
    theirs = TVF.rotate(_torch(x), angle, TVMode(mode), expand=True, fill=fill)
    matrix = F.inverse_affine_matrix([0.0, 0.0], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    _compare_grid_transform(ours, theirs, mode, matrix, False, in_shape=shape[1:])


@SETTINGS
@given(
    shapes,
    st.floats(-180, 180),
    st.tuples(st.integers(-4, 4), st.integers(-4, 4)),
    st.floats(0.5, 2.0),
    st.tuples(st.floats(-30, 30), st.floats(-30, 30)),
    st.sampled_from(["nearest", "bilinear"]),
    fills,
)
def test_affine_matches_torchvision(shape, angle, translate, scale, shear, mode, fill) -> None:
    x = _image(int(scale * 100), shape)
    fill = _fill(fill, shape[0])
    ours = F.affine(x, angle, list(translate), scale, list(shear), mode, fill=fill)
    theirs = TVF.affine(_torch(x), angle, list(translate), scale, list(shear), TVMode(mode), fill=fill)
    matrix = F.inverse_affine_matrix([0.0, 0.0], angle, [float(t) for t in translate], scale, list(shear))
    _compare_grid_transform(ours, theirs, mode, matrix, False)


def test_rotate_quarter_turns_match_torchvision_ties_included() -> None:
    """A square image turned by 90 degrees: pixel centres land on pixel centres. A (4, 5) image
    (H + W odd): every source coordinate is a half-pixel tie, broken by float32 rounding. The
    grid is torchvision's float32 terms summed in the same order, so torch's CPU build and ours
    break them alike (the hypothesis tests above still exclude ties: the order of a batched
    product is the BLAS's choice, which another build may make differently)."""
    x = _image(1, (2, 5, 5))
    np.testing.assert_array_equal(F.rotate(x, 90.0), np.rot90(x, 1, axes=(1, 2)))
    for shape in ((2, 5, 5), (1, 4, 5), (3, 7, 10)):
        x = _image(2, shape)
        for angle in (90.0, -90.0, 180.0, 270.0):
            matrix = F.inverse_affine_matrix([0.0, 0.0], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
            ties = _tie_pixels(matrix, shape[1:], shape[1:])
            assert ties.all() if sum(shape[1:]) % 2 and angle % 180 else not ties.any()
            for fill in (None, 0.5):
                ours, theirs = F.rotate(x, angle, fill=fill), TVF.rotate(_torch(x), angle, fill=fill)
                np.testing.assert_array_equal(ours, theirs.numpy())


def test_rotate_float64_and_large_canvases_break_ties_as_torchvision() -> None:
    """torchvision's grid is a bmm: torch's naive kernel below 400 multiply-adds (6 * OH * OW),
    a fused BLAS product above it, so ties on larger canvases (here float64) fall as that product
    rounds (a 45-degree turn of (6, 8) onto a 10 x 10 canvas; quarter turns of (17, 12))."""
    x = _image(3, (1, 6, 8), np.float64)
    np.testing.assert_array_equal(F.rotate(x, 45.0, expand=True), TVF.rotate(_torch(x), 45.0, expand=True).numpy())
    x = _image(4, (2, 17, 12), np.float64)
    for angle in (90.0, -90.0, 270.0):
        np.testing.assert_array_equal(F.rotate(x, angle), TVF.rotate(_torch(x), angle).numpy())


# --- colour and blur ----------------------------------------------------------------------

COLOUR = [
    ("adjust_brightness", st.floats(0, 2)),
    ("adjust_contrast", st.floats(0, 2)),
    ("adjust_saturation", st.floats(0, 2)),
    ("adjust_hue", st.floats(-0.5, 0.5)),
]


@pytest.mark.parametrize("name, factors", COLOUR, ids=[c[0] for c in COLOUR])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_colour_adjustments_match_torchvision(name, factors, data) -> None:
    shape = data.draw(shapes)
    factor = data.draw(factors)
    uint8 = data.draw(st.booleans())
    x = _image(shape[1] * 13 + shape[2], shape, np.uint8 if uint8 else np.float32)
    ours = getattr(F, name)(x, factor)
    theirs = getattr(TVF, name)(_torch(x), factor)
    # uint8: torchvision truncates a float32 blend; a float ~1 ulp from an integer may land either side
    _assert_close(ours, theirs, uint8_slack=1)


@SETTINGS
@given(shapes, st.sampled_from([1, 3]), st.booleans())
def test_rgb_to_grayscale_matches_torchvision(shape, out_channels, uint8) -> None:
    x = _image(shape[2], shape, np.uint8 if uint8 else np.float32)
    _assert_close(F.rgb_to_grayscale(x, out_channels), TVF.rgb_to_grayscale(_torch(x), out_channels), 1)


@SETTINGS
@given(
    st.tuples(st.sampled_from([1, 3]), st.integers(3, 12), st.integers(3, 12)),
    st.sampled_from([1, 3, 5]),
    st.sampled_from([1, 3, 5]),
    st.one_of(st.none(), st.floats(0.2, 3.0), st.tuples(st.floats(0.2, 3.0), st.floats(0.2, 3.0))),
    st.booleans(),
)
def test_gaussian_blur_matches_torchvision(shape, kx, ky, sigma, uint8) -> None:
    x = _image(kx * ky, shape, np.uint8 if uint8 else np.float32)
    if ky // 2 >= shape[1] or kx // 2 >= shape[2]:
        return
    sig = list(sigma) if isinstance(sigma, tuple) else sigma
    _assert_close(F.gaussian_blur(x, [kx, ky], sig), TVF.gaussian_blur(_torch(x), [kx, ky], sig), 1)


def test_functional_errors_name_the_function() -> None:
    x = _image(0, (3, 4, 4))
    with pytest.raises(ValueError, match=r"adjust_brightness: brightness_factor \(-1\) is not non-negative"):
        F.adjust_brightness(x, -1)
    with pytest.raises(ValueError, match=r"adjust_hue: hue_factor \(0.7\) is not in \[-0.5, 0.5\]"):
        F.adjust_hue(x, 0.7)
    with pytest.raises(TypeError, match=r"adjust_contrast: expected an image with 1 or 3 channels"):  # as torchvision
        F.adjust_contrast(_image(0, (2, 4, 4)), 0.5)
    with pytest.raises(ValueError, match=r"gaussian_blur: kernel_size should have odd and positive"):
        F.gaussian_blur(x, 4)
    with pytest.raises(ValueError, match=r"gaussian_blur: reflect padding of \(4, 4\) must be smaller"):
        F.gaussian_blur(x, 9)
    with pytest.raises(ValueError, match=r"rotate: interpolation must be one of \['nearest', 'bilinear'\]"):
        F.rotate(x, 10.0, "bicubic")
    with pytest.raises(ValueError, match=r"affine: the number of elements in 'fill'"):
        F.affine(x, 0.0, [0, 0], 1.0, 0.0, fill=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"affine: scale should be positive"):
        F.affine(x, 0.0, [0, 0], 0.0, 0.0)
    with pytest.raises(ValueError, match=r"center_crop: expected an image \(\.\.\., C, H, W\), got shape \(4, 4\)"):
        F.center_crop(x[0], 2)
    with pytest.raises(TypeError, match=r"hflip: got a Tensor that requires grad; .* not differentiable"):
        F.hflip(mc.tensor(x, requires_grad=True))  # a plain Tensor is taken, as torchvision's: test_transforms_tensor


# --- random classes: their parameters through torchvision's functional forms --------------


def _batch(seed: int, n: int = 4, shape: tuple[int, int, int] = (3, 9, 11)) -> np.ndarray:
    return _image(seed, (n, *shape))


@SETTINGS
@given(st.integers(0, 10**6), st.sampled_from(MODES), st.booleans())
def test_random_resized_crop_params_through_torchvision(seed, mode, antialias) -> None:
    tf = T.RandomResizedCrop((7, 6), scale=(0.2, 1.0), interpolation=mode, antialias=antialias)
    x = _batch(seed)
    mc.manual_seed(seed)
    top, left, h, w = tf.draw(x)
    mc.manual_seed(seed)
    out = tf.apply_batch(x)
    for b in range(len(x)):
        box = int(top[b]), int(left[b]), int(h[b]), int(w[b])
        theirs = TVF.resized_crop(_torch(x[b]), *box, [7, 6], TVMode(mode), antialias=antialias)
        _assert_close(out[b], theirs)


@SETTINGS
@given(st.integers(0, 10**6), st.sampled_from(["nearest", "bilinear"]), st.booleans())
def test_random_rotation_and_affine_params_through_torchvision(seed, mode, per_channel_fill) -> None:
    x = _batch(seed, n=3)
    fill = [0.2, 0.5, 0.8] if per_channel_fill else 0.3
    rotation = T.RandomRotation((-40, 60), interpolation=mode, center=(2, 3), fill=fill)
    mc.manual_seed(seed)
    angles = rotation.draw(x)
    mc.manual_seed(seed)
    out = rotation.apply_batch(x)
    for b in range(len(x)):
        theirs = TVF.rotate(_torch(x[b]), float(angles[b]), TVMode(mode), center=[2, 3], fill=fill)
        offset = F._center_offset([2, 3], 9, 11, "rotate")
        matrix = F.inverse_affine_matrix(offset, -float(angles[b]), [0.0, 0.0], 1.0, [0.0, 0.0])
        _compare_grid_transform(out[b], theirs, mode, matrix, False)
    affine = T.RandomAffine(30, translate=(0.2, 0.3), scale=(0.7, 1.3), shear=(-10, 10, -5, 5), interpolation=mode)
    mc.manual_seed(seed)
    angle, shift, scale, shear = affine.draw(x)
    mc.manual_seed(seed)
    out = affine.apply_batch(x)
    for b in range(len(x)):
        args = float(angle[b]), [int(shift[b, 0]), int(shift[b, 1])], float(scale[b]), [float(s) for s in shear[b]]
        theirs = TVF.affine(_torch(x[b]), *args, interpolation=TVMode(mode), fill=[0.0] * 3)
        matrix = F.inverse_affine_matrix([0.0, 0.0], args[0], [float(t) for t in args[1]], args[2], args[3])
        _compare_grid_transform(out[b], theirs, mode, matrix, False)


@SETTINGS
@given(st.integers(0, 10**6), st.sampled_from([0, 0.5, (0.1, 0.2, 0.3), "random"]))
def test_random_erasing_params_through_torchvision(seed, value) -> None:
    x = _batch(seed, n=5)
    tf = T.RandomErasing(p=0.8, scale=(0.05, 0.5), value=value)
    mc.manual_seed(seed)
    erase, top, left, h, w, found, noise = tf.draw(x)
    mc.manual_seed(seed)
    out = tf.apply_batch(x)
    for b in range(len(x)):
        if not (erase[b] and found[b]):
            np.testing.assert_array_equal(out[b], x[b])
            continue
        box = int(top[b]), int(left[b]), int(h[b]), int(w[b])
        if value == "random":
            v = torch.from_numpy(noise[b, :, : box[2], : box[3]].astype(np.float32))
        else:
            v = torch.tensor([float(value)] if np.isscalar(value) else list(value))[:, None, None]
        np.testing.assert_array_equal(out[b], TVF.erase(_torch(x[b]), *box, v).numpy())


@SETTINGS
@given(st.integers(0, 10**6))
def test_color_jitter_params_through_torchvision(seed) -> None:
    x = _batch(seed, n=4)
    tf = T.ColorJitter(brightness=0.5, contrast=(0.5, 1.5), saturation=0.7, hue=0.3)
    mc.manual_seed(seed)
    order, factors = tf.draw(x)
    mc.manual_seed(seed)
    out = tf.apply_batch(x)
    ops = (TVF.adjust_brightness, TVF.adjust_contrast, TVF.adjust_saturation, TVF.adjust_hue)
    for b in range(len(x)):
        img = _torch(x[b])
        for k in order[b]:
            img = ops[k](img, float(factors[k][b]))
        _assert_close(out[b], img)


@SETTINGS
@given(st.integers(0, 10**6), st.sampled_from([3, 5, (3, 5)]))
def test_gaussian_blur_and_grayscale_params_through_torchvision(seed, kernel) -> None:
    x = _batch(seed, n=3)
    tf = T.GaussianBlur(kernel, sigma=(0.3, 2.5))
    mc.manual_seed(seed)
    sigma = tf.draw(x)
    mc.manual_seed(seed)
    out = tf.apply_batch(x)
    ks = [kernel] * 2 if isinstance(kernel, int) else list(kernel)
    for b in range(len(x)):
        _assert_close(out[b], TVF.gaussian_blur(_torch(x[b]), ks, [float(sigma[b])] * 2))
    gray = T.RandomGrayscale(p=0.5)
    mc.manual_seed(seed)
    chosen = gray.draw(x)
    mc.manual_seed(seed)
    out = gray.apply_batch(x)
    for b in range(len(x)):
        theirs = TVF.rgb_to_grayscale(_torch(x[b]), 3) if chosen[b] else _torch(x[b])
        _assert_close(out[b], theirs)


def test_deterministic_classes_match_torchvision() -> None:
    x = _batch(0, n=2, shape=(3, 10, 7))
    t = _torch(x)
    cases = [
        (T.CenterCrop(5), TV.CenterCrop(5)),
        (T.CenterCrop((12, 4)), TV.CenterCrop((12, 4))),
        (T.Resize(5, antialias=False), TV.Resize(5, antialias=False)),
        (T.Resize((4, 9), "bicubic", antialias=False), TV.Resize((4, 9), TVMode.BICUBIC, antialias=False)),
        (T.Grayscale(), TV.Grayscale()),
        (T.Grayscale(3), TV.Grayscale(3)),
        (T.Lambda(lambda im: im[:, ::2]), TV.Lambda(lambda im: im[:, ::2])),
    ]
    for ours, theirs in cases:
        _assert_close(ours.apply_batch(x) if T.is_batched(ours) else ours(x), theirs(t))
        _assert_close(ours(x[1]), theirs(t[1]))


# --- apply_batch == one by one; distributions; errors -------------------------------------

RANDOM = [
    T.RandomVerticalFlip(),
    T.RandomResizedCrop(6),
    T.RandomResizedCrop((5, 8), scale=(0.5, 0.9), interpolation="bicubic", antialias=False),
    T.RandomRotation(45, interpolation="bilinear", fill=(0.1, 0.2, 0.3)),
    T.RandomAffine((-20, 20), translate=(0.3, 0.1), scale=(0.8, 1.2), shear=8),
    T.RandomErasing(p=0.9),
    T.RandomErasing(p=0.9, value="random"),
    T.ColorJitter(0.4, 0.4, 0.4, 0.1),
    T.RandomGrayscale(0.5),
    T.GaussianBlur(5, (0.5, 2.0)),
    T.RandomInvert(),
    T.RandomSolarize(0.6),
    T.RandomAdjustSharpness(2.0),
    T.RandomAutocontrast(),
    T.RandomPerspective(0.6, p=0.7, fill=(0.1, 0.2, 0.3)),
    T.RandomApply([T.Grayscale(3), T.CenterCrop((9, 11))], p=0.5),
]


@pytest.mark.parametrize("tf", RANDOM, ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_apply_batch_equals_one_by_one(tf, dtype) -> None:
    x = _image(5, (6, 3, 9, 11), dtype)
    assert T.is_batched(tf)
    mc.manual_seed(11)
    batch = tf.apply_batch(x)
    mc.manual_seed(11)
    singles = [tf(s) if dtype != np.uint8 else tf.apply_batch(s[None])[0] for s in x]
    np.testing.assert_array_equal(batch, np.stack(singles))
    if not isinstance(tf, T.RandomApply):  # which takes any input as one sample, as torchvision's
        mc.manual_seed(11)
        np.testing.assert_array_equal(tf(x), batch)  # a 4-D call is a batch, one draw per sample
    assert batch.dtype == x.dtype


def test_get_params_draw_as_one_sample() -> None:
    x = _image(0, (3, 9, 11))
    for seed in range(5):
        mc.manual_seed(seed)
        box = T.RandomResizedCrop.get_params(x, (0.08, 1.0), (3 / 4, 4 / 3))
        mc.manual_seed(seed)
        drawn = T.RandomResizedCrop(4).draw(x[None])
        assert box == tuple(int(v[0]) for v in drawn) and all(isinstance(v, int) for v in box)
        mc.manual_seed(seed)
        angle = T.RandomRotation.get_params([-10.0, 30.0])
        assert -10 <= angle < 30
        mc.manual_seed(seed)
        assert angle == float(T.RandomRotation((-10, 30)).draw(x[None])[0])
        angle, (dx, dy), scale, (sx, sy) = T.RandomAffine.get_params([-5, 5], [0.2, 0.2], [0.9, 1.1], [-3, 3], [11, 9])
        assert -5 <= angle < 5 and abs(dx) <= 2 and abs(dy) <= 2 and 0.9 <= scale < 1.1 and sy == 0.0
        assert isinstance(dx, int) and -3 <= sx < 3
        i, j, h, w, v = T.RandomErasing.get_params(x, (0.02, 0.33), (0.3, 3.3), None)
        assert v.shape == (3, h, w) or (h, w) == (9, 11)
        order, b, c, s, hue = T.ColorJitter.get_params((0.5, 1.5), None, (0.6, 1.4), (-0.1, 0.1))
        assert sorted(order.tolist()) == [0, 1, 2, 3] and c is None and 0.5 <= b < 1.5 and -0.1 <= hue < 0.1
        assert 0.1 <= T.GaussianBlur.get_params(0.1, 2.0) < 2.0


def test_distributions() -> None:
    x = np.zeros((4000, 1, 2, 3), np.float32)
    x[:, :, 0] = 1.0  # the top row is 1: flipped samples have it at the bottom
    mc.manual_seed(0)
    flipped = T.RandomVerticalFlip(p=0.3).apply_batch(x)[:, 0, 1, 0] == 1.0
    assert abs(flipped.mean() - 0.3) < 0.03
    assert T.RandomVerticalFlip(p=0.0).apply_batch(x)[:, 0, 0].min() == 1.0
    rgb = _image(0, (2000, 3, 4, 4))
    gray = T.RandomGrayscale(p=0.25).apply_batch(rgb)
    equal_channels = (gray[:, 0] == gray[:, 1]).all(axis=(1, 2))
    assert abs(equal_channels.mean() - 0.25) < 0.03
    erased = (T.RandomErasing(p=0.6, value=-1.0).apply_batch(rgb) == -1.0).any(axis=(1, 2, 3))
    assert 0.45 < erased.mean() < 0.6  # p times the chance that some try fits (nearly 1 here)
    chosen = (T.RandomApply([T.Grayscale(3)], p=0.7).apply_batch(rgb) != rgb).any(axis=(1, 2, 3))
    assert abs(chosen.mean() - 0.7) < 0.04
    angles = T.RandomRotation((10, 50)).draw(rgb)
    assert 10 <= angles.min() and angles.max() < 50 and abs(angles.mean() - 30) < 1
    top, left, h, w = T.RandomResizedCrop(4, scale=(0.3, 0.6), ratio=(0.5, 2.0)).draw(_image(0, (2000, 1, 40, 40)))
    area = h * w / 1600
    assert 0.27 < area.min() and area.max() < 0.64 and 0.4 < area.mean() < 0.5  # rounding of h, w: a little slack
    assert ((0.5 - 0.1 < w / h) & (w / h < 2.0 + 0.2)).all() and (top + h <= 40).all() and (left + w <= 40).all()
    assert top.min() == 0 and (top + h).max() == 40  # positions reach both edges
    mc.manual_seed(2)
    noise = T.RandomErasing(p=1.0, scale=(0.9, 0.99), ratio=(1, 1), value="random").draw(np.zeros((200, 3, 8, 8)))[-1]
    assert abs(noise.mean()) < 0.02 and abs(noise.std() - 1) < 0.02


def test_fallbacks_when_no_box_fits() -> None:
    """RandomResizedCrop: no box of 90-100% of a tall (20, 4) image has a width/height ratio in
    (0.5, 0.8) (it would be 6 to 8 wide): torchvision's fallback, the central box of ratio 0.5,
    (8, 4) at (6, 0). RandomErasing: no box is smaller than a 1-pixel image: nothing erased."""
    x = _image(0, (3, 3, 20, 4))
    top, left, h, w = T.RandomResizedCrop(2, scale=(0.9, 1.0), ratio=(0.5, 0.8)).draw(x)
    assert (h == 8).all() and (w == 4).all() and (top == 6).all() and (left == 0).all()
    out = T.RandomResizedCrop(2, scale=(0.9, 1.0), ratio=(0.5, 0.8)).apply_batch(x)
    _assert_close(out[0], TVF.resized_crop(_torch(x[0]), 6, 0, 8, 4, [2, 2]))
    tiny = _image(0, (3, 2, 1, 1))
    np.testing.assert_array_equal(T.RandomErasing(p=1.0, value=5.0).apply_batch(tiny), tiny)


def test_errors_name_the_transform() -> None:
    cases = [
        (lambda: T.RandomResizedCrop(0), ValueError, r"RandomResizedCrop size: expected a positive int"),
        (lambda: T.RandomResizedCrop(4, scale=(0.9, 0.1)), ValueError, r"RandomResizedCrop: scale and ratio"),
        (lambda: T.CenterCrop((1, 2, 3)), ValueError, r"CenterCrop size"),
        (lambda: T.Resize((1, 2, 3)), ValueError, r"Resize: if size is a sequence, it should have 1 or 2"),
        (lambda: T.Resize(4, "area"), ValueError, r"Resize: interpolation must be one of"),
        (lambda: T.RandomVerticalFlip(1.5), ValueError, r"RandomVerticalFlip: p must be in \[0, 1\]"),
        (lambda: T.RandomRotation(-3), ValueError, r"RandomRotation: if degrees is a single number, it must be"),
        (lambda: T.RandomRotation(3, "bicubic"), ValueError, r"RandomRotation: interpolation must be one of"),
        (lambda: T.RandomAffine(3, translate=(0.5, 2)), ValueError, r"RandomAffine: translation values"),
        (lambda: T.RandomAffine(3, scale=(0, 1)), ValueError, r"RandomAffine: scale values should be positive"),
        (lambda: T.RandomAffine(3, shear=(1, 2, 3)), ValueError, r"RandomAffine: shear should be a number or"),
        (lambda: T.RandomErasing(value="noise"), ValueError, r"RandomErasing: if value is str"),
        (lambda: T.RandomErasing(scale=(0.5, 1.5)), ValueError, r"RandomErasing: scale should be between 0 and 1"),
        (lambda: T.ColorJitter(hue=0.7), ValueError, r"ColorJitter: hue values should be between"),
        (lambda: T.ColorJitter(brightness=-1), ValueError, r"ColorJitter: if brightness is a single number"),
        (lambda: T.GaussianBlur(4), ValueError, r"GaussianBlur: kernel size values should be odd"),
        (lambda: T.GaussianBlur(3, sigma=(2, 1)), ValueError, r"GaussianBlur: sigma values should be positive"),
        (lambda: T.Grayscale(2), ValueError, r"Grayscale: num_output_channels should be either 1 or 3"),
        (lambda: T.Lambda(3), TypeError, r"Lambda: argument should be callable"),
        (lambda: T.RandomApply([], p=2), ValueError, r"RandomApply: p must be in \[0, 1\]"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make()
    x = _image(0, (2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"RandomResizedCrop.apply_batch: expected samples \(C, H, W\) stacked"):
        T.RandomResizedCrop(3).apply_batch(x[0])
    with pytest.raises(ValueError, match=r"RandomErasing: if value is a sequence, it should have either"):
        T.RandomErasing(value=(1, 2)).apply_batch(x)
    with pytest.raises(TypeError, match=r"ColorJitter: expected samples with 1 or 3 channels"):  # as torchvision
        T.ColorJitter(0.5).apply_batch(_image(0, (2, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"RandomRotation: fill has 2 values for an image of 3 channels"):
        T.RandomRotation(5, fill=(1, 2)).apply_batch(x)
    with pytest.raises(ValueError, match=r"RandomApply.apply_batch: the transforms change the sample shape"):
        T.RandomApply([T.CenterCrop(2)], p=1.0).apply_batch(x)
    with pytest.raises(TypeError, match=r"RandomApply.apply_batch: not every transform is batched"):
        T.RandomApply([T.Lambda(lambda s: s)]).apply_batch(x)
    expanding = T.RandomRotation(30, expand=True)
    assert not T.is_batched(expanding) and expanding(x[0]).shape[0] == 3
    with pytest.raises(ValueError, match=r"RandomRotation: with expand=True every sample has its own size"):
        expanding(x)


def test_signatures_match_torchvision() -> None:
    def described(fn):
        return [
            (p.name, p.kind, getattr(p.default, "value", p.default) if p.default is not p.empty else p.empty)
            for p in inspect.signature(fn).parameters.values()
        ]

    names = ["center_crop", "resize", "resized_crop", "vflip", "hflip", "rotate", "affine", "erase", "crop"]
    names += ["adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue", "rgb_to_grayscale"]
    names += ["gaussian_blur"]
    for name in names:
        assert described(getattr(T.functional, name)) == described(getattr(TVF, name)), name
    classes = ["CenterCrop", "Resize", "RandomResizedCrop", "RandomVerticalFlip", "RandomRotation", "RandomAffine"]
    classes += ["RandomErasing", "ColorJitter", "Grayscale", "RandomGrayscale", "GaussianBlur", "Lambda"]
    for name in [*classes, "RandomApply"]:
        assert described(getattr(T, name)) == described(getattr(TV, name)), name
        if hasattr(getattr(TV, name), "get_params"):
            ours, theirs = getattr(T, name).get_params, getattr(TV, name).get_params
            assert [p for p in inspect.signature(ours).parameters] == list(inspect.signature(theirs).parameters)


def _host(params):
    """Parameters drawn on a device, on the host: arrays, and tuples/lists of them (or None)."""
    if isinstance(params, (tuple, list)):
        return type(params)(_host(p) for p in params)
    return None if params is None else to_numpy(params)


@pytest.mark.parametrize("device", devices())
def test_random_transforms_batch_on_device(device) -> None:
    """Each batched random transform on the device computes what the CPU does with the same
    parameters (drawn from the device's generator)."""
    x = _batch(3, n=4)
    xd = to_device(x, device)
    for tf in [t for t in RANDOM if hasattr(t, "draw")]:
        mc.manual_seed(0)
        params = tf.draw(xd)
        out = tf.apply_params(xd, params)
        expected = tf.apply_params(x, _host(params))
        np.testing.assert_allclose(to_numpy(out), expected, rtol=0, atol=FLOAT_TOL, err_msg=repr(tf))
    for tf in (T.RandomVerticalFlip(), T.RandomApply([T.Grayscale(3)]), T.CenterCrop(4), T.Resize(5)):
        out = tf.apply_batch(xd)
        assert type(out) is type(xd) and out.shape[0] == 4


# --- review fixes (session 9) ---------------------------------------------------------------


def test_adjust_hue_on_int16_scales_as_torchvision_and_refuses_int32() -> None:
    x = np.random.default_rng(4).integers(0, 32768, (3, 5, 6)).astype(np.int16)
    ours = F.adjust_hue(x, 0.2)
    theirs = TVF.adjust_hue(_torch(x), 0.2).numpy()
    assert ours.dtype == np.int16
    assert np.abs(ours.astype(np.int64) - theirs.astype(np.int64)).max() <= 1
    with pytest.raises(TypeError, match="adjust_hue: cannot convert float32 back to int32"):
        F.adjust_hue(x.astype(np.int32), 0.2)


@pytest.mark.parametrize("cls", [T.RandomRotation, T.RandomAffine])
def test_fill_none_means_zero_as_torchvision(cls) -> None:
    x = _image(6, (3, 3, 7, 9))
    assert cls(40, fill=None).fill == getattr(TV, cls.__name__)(40, fill=None).fill == 0
    mc.manual_seed(2)
    with_none = cls(40, fill=None).apply_batch(x)
    mc.manual_seed(2)
    np.testing.assert_array_equal(with_none, cls(40, fill=0).apply_batch(x))


def test_sizes_given_as_floats_are_truncated_as_torchvision() -> None:
    x = _image(7, (3, 8, 10))
    np.testing.assert_array_equal(T.CenterCrop(3.7)(x), TV.CenterCrop(3.7)(_torch(x)).numpy())
    assert T.RandomResizedCrop(4.0).size == (4, 4) and T.RandomResizedCrop([5.0]).size == (5, 5)
    assert T.GaussianBlur(3.0).kernel_size == TV.GaussianBlur(3.0).kernel_size == (3, 3)


def test_affine_argument_errors_as_torchvision() -> None:
    """Not a sequence: TypeError (as torchvision's _check_sequence_input); a (min, max) range the
    wrong way round: ValueError at once (torchvision's uniform_ refuses it when drawing)."""
    cases = [
        (lambda m: m.RandomAffine(5, translate=0.1), TypeError, r"RandomAffine: translate should be a sequence"),
        (lambda m: m.RandomAffine(5, center=5), TypeError, r"RandomAffine: center should be a sequence"),
        (lambda m: m.RandomRotation(5, center=3), TypeError, r"RandomRotation: center should be a sequence"),
        (lambda m: m.RandomAffine(5, translate=(0.1,)), ValueError, r"RandomAffine: translate should be a sequence"),
        (lambda m: m.RandomAffine(5, shear=(1, 2, 3)), ValueError, r"RandomAffine: shear should be a number or"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make(T)
        with pytest.raises(error):
            make(TV)
    with pytest.raises(TypeError, match=r"RandomAffine: shear should be a number or"):
        T.RandomAffine(5, shear="ab")  # torchvision's ValueError comes from float("a")
    x = _torch(_image(0, (3, 5, 5)))
    for make, message in [
        (lambda m: m.RandomRotation((30, 10)), r"RandomRotation: degrees should hold \(min, max\) pairs"),
        (lambda m: m.RandomAffine(5, shear=(0, 5, 9, 2)), r"RandomAffine: shear should hold \(min, max\) pairs"),
        (lambda m: m.RandomAffine(5, scale=(1.2, 0.8)), r"RandomAffine: scale values should be positive and"),
    ]:
        with pytest.raises(ValueError, match=message):
            make(T)
        with pytest.raises(RuntimeError, match="uniform_ expects"):
            make(TV)(x)


def test_random_resized_crop_batch_memory() -> None:
    """Peak traced memory of a same-size RandomResizedCrop of a batch: the input's size for the
    column pass, one gathered tap and the output (in-place accumulation), not a temporary per step."""
    import tracemalloc

    x = _image(8, (16, 3, 96, 96))  # 1.7 MB: the fixed costs (taps, indices) are small beside it
    tf = T.RandomResizedCrop(96)
    mc.manual_seed(0)
    tracemalloc.start()
    try:
        tf.apply_batch(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 3.5 * x.nbytes, peak / x.nbytes


# --- photometric ops, FiveCrop / TenCrop, to_pil_image (session 19) -------------------------

PHOTOMETRIC = [
    ("invert", st.just(())),
    ("solarize", st.tuples(st.sampled_from([0.0, 0.3, 0.5, 1.0]))),
    ("adjust_gamma", st.tuples(st.sampled_from([0.0, 0.4, 1.0, 2.2]), st.sampled_from([1, 0.7, 1.3]))),
    ("adjust_sharpness", st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]))),
    ("autocontrast", st.just(())),
]


@pytest.mark.parametrize("name, arguments", PHOTOMETRIC, ids=[c[0] for c in PHOTOMETRIC])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_photometric_ops_match_torchvision(name, arguments, data) -> None:
    """uint8 exactly (solarize's threshold scaled to 255), float32/float64 within 1e-5, batches too,
    few-valued and constant images (autocontrast's degenerate channels) included."""
    shape = data.draw(st.sampled_from([(), (2,)])) + data.draw(shapes)
    dtype = data.draw(st.sampled_from([np.uint8, np.float32, np.float64]))
    args = data.draw(arguments)
    x = _image(int(np.prod(shape)), shape, dtype)
    kind = data.draw(st.sampled_from(["random", "few", "constant"]))
    if kind == "few":
        x = (x // 64 * 64).astype(dtype) if dtype == np.uint8 else np.round(x * 3).astype(dtype) / 3
    elif kind == "constant":
        x[..., :, :] = x[..., :1, :1]
    if name == "solarize" and dtype == np.uint8:
        args = (args[0] * 255,)
    ours = getattr(F, name)(mc.tensor(x.copy()) if data.draw(st.booleans()) else x.copy(), *args)
    ours = ours.numpy() if isinstance(ours, mc.Tensor) else ours
    _assert_close(ours, getattr(TVF, name)(_torch(x.copy()), *args))


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([(), (1,), (3,)]), shapes, st.integers(0, 8), st.sampled_from(["random", "few", "constant"]))
def test_posterize_and_equalize_match_torchvision(lead, shape, bits, kind) -> None:
    """uint8 exactly; equalize's kept channels (too few values below the top one) included."""
    x = _image(bits + shape[1], lead + shape, np.uint8)
    if kind == "few":
        x = x // 100 * 100 + (x % 7 == 0)
    elif kind == "constant":
        x[..., :, :] = x[..., :1, :1]
    _assert_close(F.posterize(x, bits), TVF.posterize(_torch(x), bits))
    _assert_close(F.equalize(x), TVF.equalize(_torch(x)))


def test_equalize_of_a_large_image_matches_torchvision() -> None:
    """Bins that need the floor divisions of torchvision's lookup table, per channel and image."""
    rng = np.random.default_rng(1)
    x = np.clip(rng.normal(90, 25, (2, 3, 40, 50)), 0, 255).astype(np.uint8)
    _assert_close(F.equalize(x), TVF.equalize(_torch(x)))


def test_photometric_errors_as_torchvision() -> None:
    u = np.zeros((3, 4, 4), np.uint8)
    cases = [
        ("invert", np.zeros((2, 4, 4), np.uint8), (), TypeError, r"invert: expected an image with 1 or 3 channels"),
        ("invert", np.zeros((4,), np.uint8), (), TypeError, r"invert: expected an image tensor with at least 3"),
        ("posterize", u.astype(np.float32), (3,), TypeError, r"posterize: only uint8 images are supported"),
        ("posterize", u, (9,), ValueError, r"posterize: the number of bits should be between 0 and 8, got 9"),
        ("solarize", u, (256,), TypeError, r"solarize: threshold \(256\) should be at most the bound"),
        ("solarize", u.astype(np.float32), (1.5,), TypeError, r"solarize: threshold"),
        ("adjust_gamma", u, (-1,), ValueError, r"adjust_gamma: gamma should be a non-negative real number"),
        ("adjust_gamma", u.astype(np.int32), (0.5,), RuntimeError, r"cannot be done safely"),
        ("adjust_sharpness", u, (-1,), ValueError, r"adjust_sharpness: sharpness_factor \(-1\) is not non-negative"),
        ("autocontrast", np.zeros((4, 4, 4), np.uint8), (), TypeError, r"autocontrast: expected an image with 1 or 3"),
        ("equalize", u.astype(np.float32), (), TypeError, r"equalize: only uint8 images are supported"),
        ("equalize", np.zeros((1, 1, 3, 4, 4), np.uint8), (), TypeError, r"equalize: expected an image \(C, H, W\)"),
    ]
    for name, x, args, error, message in cases:
        with pytest.raises(error, match=message):
            getattr(F, name)(x, *args)
        with pytest.raises(error):
            getattr(TVF, name)(_torch(x), *args)
    with pytest.raises(TypeError, match="apply ToTensor"):
        F.invert(TVF.to_pil_image(_torch(u)))


def test_adjust_sharpness_keeps_images_of_two_rows_or_columns() -> None:
    x = _image(3, (3, 2, 7))
    assert F.adjust_sharpness(x, 2.0) is x and TVF.adjust_sharpness(_torch(x), 2.0).shape == (3, 2, 7)


PHOTOMETRIC_CLASSES = [
    (lambda p: T.RandomInvert(p), lambda p: TV.RandomInvert(p)),
    (lambda p: T.RandomPosterize(3, p), lambda p: TV.RandomPosterize(3, p)),
    (lambda p: T.RandomSolarize(100, p), lambda p: TV.RandomSolarize(100, p)),
    (lambda p: T.RandomAdjustSharpness(2.5, p), lambda p: TV.RandomAdjustSharpness(2.5, p)),
    (lambda p: T.RandomAutocontrast(p), lambda p: TV.RandomAutocontrast(p)),
    (lambda p: T.RandomEqualize(p), lambda p: TV.RandomEqualize(p)),
]


@pytest.mark.parametrize("ours, theirs", PHOTOMETRIC_CLASSES, ids=[type(c[0](0)).__name__ for c in PHOTOMETRIC_CLASSES])
def test_random_photometric_classes_match_torchvision(ours, theirs) -> None:
    """p = 1: torchvision's class on every sample (a Tensor (C, H, W), a batch); p = 0: unchanged;
    apply_params with a per-sample choice: the op on the chosen samples only; one draw per sample."""
    x = _image(9, (5, 3, 6, 7), np.uint8)
    tf = ours(1.0)
    assert repr(tf) == repr(theirs(1.0))
    np.testing.assert_array_equal(tf(x), theirs(1.0)(_torch(x)).numpy())
    np.testing.assert_array_equal(tf(mc.tensor(x[1])).numpy(), theirs(1.0)(_torch(x[1])).numpy())
    np.testing.assert_array_equal(ours(0.0).apply_batch(x), x)
    chosen = np.array([True, False, True, True, False])
    expected = np.stack([theirs(1.0)(_torch(s)).numpy() if c else s for s, c in zip(x, chosen)])
    np.testing.assert_array_equal(tf.apply_params(x, chosen), expected)
    mc.manual_seed(3)
    batch = ours(0.5).apply_batch(x)
    mc.manual_seed(3)
    np.testing.assert_array_equal(batch, np.stack([ours(0.5).apply_batch(s[None])[0] for s in x]))
    mc.manual_seed(3)
    drawn = mc.random.generator(np).random((5, 1))[:, 0] < 0.5
    np.testing.assert_array_equal(batch, ours(1.0).apply_params(x, drawn))
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        ours(1.5)


def test_five_crop_and_ten_crop_classes_match_torchvision() -> None:
    x = _image(4, (2, 3, 7, 9), np.uint8)
    for ours, theirs in [(T.FiveCrop(3), TV.FiveCrop(3)), (T.TenCrop((2, 5), True), TV.TenCrop((2, 5), True))]:
        assert repr(ours) == repr(theirs)
        got, expected = ours.apply_batch(x), theirs(_torch(x))
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            _assert_close(a, b)
        for a, b in zip(ours(mc.tensor(x[0])), theirs(_torch(x[0]))):
            _assert_close(a.numpy(), b)
        pil = TVF.to_pil_image(_torch(x[0]))
        assert [c.tobytes() for c in ours(pil)] == [c.tobytes() for c in theirs(pil)]
    batch = T.TenCrop(3).apply_batch(x)
    singles = [T.TenCrop(3)(s) for s in x]
    for k in range(10):
        np.testing.assert_array_equal(batch[k], np.stack([s[k] for s in singles]))
    with pytest.raises(ValueError):
        T.FiveCrop((1, 2, 3))
    with pytest.raises(ValueError):
        TV.FiveCrop((1, 2, 3))
    with pytest.raises(ValueError, match="five_crop: requested crop size"):
        T.FiveCrop(8)(x)


TO_PIL = [
    (np.uint8, (4, 5), None), (np.uint8, (4, 5, 1), "L"), (np.uint8, (4, 5, 2), None), (np.uint8, (4, 5, 3), None),
    (np.uint8, (4, 5, 3), "YCbCr"), (np.uint8, (4, 5, 4), None), (np.uint8, (4, 5, 4), "CMYK"),
    (np.float32, (4, 5, 1), None), (np.float32, (4, 5, 1), "F"), (np.float32, (4, 5, 3), None),
    (np.float64, (4, 5), None), (np.int16, (4, 5), None), (np.int32, (4, 5, 1), None),
    (np.uint8, (4, 5, 3), "L"), (np.uint8, (4, 5, 1), "RGB"), (np.uint8, (4, 5, 6), None),
    (np.uint8, (2, 4, 5, 3), None),
    (np.float64, (4, 5, 1), "F"), (np.int32, (4, 5, 3), None), (np.uint8, (4, 5, 2), "RGBA"),
]  # fmt: skip


@pytest.mark.parametrize("dtype, shape, mode", TO_PIL)
def test_to_pil_image_matches_torchvision(dtype, shape, mode) -> None:
    """Arrays (H, W, C) and Tensors (C, H, W): the same PIL mode, size and bytes, or the same error type."""
    x = (_image(7, shape, np.float64) * (1.1 if np.dtype(dtype).kind == "f" else 255)).astype(dtype)
    chw = np.ascontiguousarray(np.moveaxis(x, -1, 0)) if x.ndim == 3 else x
    for ours_in, theirs_in in [(x, x), (mc.tensor(chw), _torch(chw))]:
        try:
            expected = TVF.to_pil_image(theirs_in, mode)
        except (TypeError, ValueError) as exc:
            with pytest.raises(type(exc), match="to_pil_image: "):
                F.to_pil_image(ours_in, mode)
            continue
        for got in (F.to_pil_image(ours_in, mode), T.ToPILImage(mode)(ours_in)):
            assert (got.mode, got.size, got.tobytes()) == (expected.mode, expected.size, expected.tobytes())
    with pytest.raises(TypeError, match="to_pil_image: pic should be Tensor or ndarray"):
        F.to_pil_image([[1, 2]])
    assert repr(T.ToPILImage()) == repr(TV.ToPILImage()) and not T.is_batched(T.ToPILImage())


def test_photometric_signatures_match_torchvision() -> None:
    def described(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    names = ["invert", "posterize", "solarize", "adjust_gamma", "adjust_sharpness", "autocontrast", "equalize"]
    for name in [*names, "to_pil_image"]:
        assert described(getattr(F, name)) == described(getattr(TVF, name)), name
    classes = ["RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast"]
    for name in [*classes, "RandomEqualize", "FiveCrop", "TenCrop", "ToPILImage"]:
        assert described(getattr(T, name)) == described(getattr(TV, name)), name
    assert [(p[0], p[1], getattr(p[2], "value", p[2])) for p in described(F.perspective)] == [
        (p[0], p[1], getattr(p[2], "value", p[2])) for p in described(TVF.perspective)
    ]
    ours, theirs = T.RandomPerspective, TV.RandomPerspective
    assert [(p[0], getattr(p[2], "value", p[2])) for p in described(ours)] == [
        (p[0], getattr(p[2], "value", p[2])) for p in described(theirs)
    ]
    assert described(ours.get_params) == described(theirs.get_params)


def _collinear_three(points) -> bool:
    p = np.asarray(points, np.int64)
    return any(
        (p[j, 0] - p[i, 0]) * (p[k, 1] - p[i, 1]) == (p[j, 1] - p[i, 1]) * (p[k, 0] - p[i, 0])
        for i, j, k in [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]
    )


@SETTINGS
@given(
    st.sampled_from([(), (2,)]),
    st.tuples(st.sampled_from([1, 3]), st.integers(2, 24), st.integers(2, 24)),
    st.floats(0.1, 1.0),
    st.sampled_from(["nearest", "bilinear"]),
    st.sampled_from([None, 0, 0.5, [0.25], "per channel"]),
    st.sampled_from([np.uint8, np.float32, np.float64]),
    st.integers(0, 2**16),
)
def test_perspective_matches_torchvision(lead, shape, distortion, mode, fill, dtype, seed) -> None:
    """Corners from torchvision's get_params; uint8 and nearest exactly (the grid is torchvision's
    float32 products, including canvases past its bmm's 400 multiply-adds), floats within 1e-5."""
    torch.manual_seed(seed)
    start, end = TV.RandomPerspective.get_params(shape[2], shape[1], distortion)
    if _collinear_three(end):
        return  # a degenerate transform: torch's gels answers rounding noise (tested below)
    if mode == "nearest" and any(0 < abs(c) < 1e-9 for c in TVF._get_perspective_coeffs(start, end)):
        return  # a coefficient 0 in exact arithmetic is the solver's rounding noise, which may break a tie
    fill = [0.1 * (c + 1) for c in range(shape[0])] if fill == "per channel" else fill
    if dtype == np.uint8 and fill is not None:
        fill = [7.0] * shape[0] if fill == 0.5 else fill
    x = _image(seed, lead + shape, dtype)
    ours = F.perspective(x, start, end, mode, fill)
    theirs = TVF.perspective(_torch(x), start, end, TVMode(mode), fill)
    _assert_close(ours, theirs)


def test_perspective_of_degenerate_corners_and_errors() -> None:
    """A row or column image (every corner on a line): RuntimeError, as torch's gels (LinAlgError)."""
    x = _image(1, (3, 1, 6))
    start, end = [[0, 0], [5, 0], [5, 0], [0, 0]], [[1, 0], [4, 0], [5, 0], [0, 0]]
    with pytest.raises(RuntimeError, match="perspective: the corners"):
        F.perspective(x, start, end)
    with pytest.raises(RuntimeError):
        TVF.perspective(_torch(x), start, end)
    with pytest.raises(ValueError, match="perspective: please provide exactly four corners"):
        F.perspective(_image(1, (3, 4, 4)), start[:3], end[:3])
    with pytest.raises(ValueError):
        TVF.perspective(_torch(_image(1, (3, 4, 4))), start[:3], end[:3])
    with pytest.raises(ValueError, match="perspective: interpolation must be one of"):
        F.perspective(_image(1, (3, 4, 4)), start, end, "bicubic")
    with pytest.raises(TypeError, match="RandomPerspective: fill should be a number or a sequence"):
        T.RandomPerspective(fill={1})
    with pytest.raises(TypeError):
        TV.RandomPerspective(fill={1})


def test_random_perspective_params_through_torchvision() -> None:
    """apply_params with torchvision's corners and a per-sample choice: torchvision's perspective on
    the chosen samples (its class's fill: a number repeated per channel); get_params' ranges."""
    x = _image(2, (6, 3, 9, 11), np.uint8)
    for mode, fill in [("bilinear", 0), ("nearest", 9), ("bilinear", (10, 20, 30))]:
        torch.manual_seed(0)
        params = [TV.RandomPerspective.get_params(11, 9, 0.6) for _ in range(6)]
        chosen = np.array([True, False, True, True, False, True])
        ours = T.RandomPerspective(0.6, 1.0, mode, fill).apply_params(x, (chosen, np.array([p[1] for p in params])))
        tv_fill = [float(fill)] * 3 if isinstance(fill, int) else list(fill)
        expected = [
            TVF.perspective(_torch(s), *p, TVMode(mode), tv_fill).numpy() if c else s
            for s, p, c in zip(x, params, chosen)
        ]
        np.testing.assert_array_equal(ours, np.stack(expected))
    mc.manual_seed(5)
    ours = np.array([T.RandomPerspective.get_params(11, 9, 0.6)[1] for _ in range(400)])
    theirs = np.array([TV.RandomPerspective.get_params(11, 9, 0.6)[1] for _ in range(400)])
    np.testing.assert_array_equal(ours.min(axis=0), theirs.min(axis=0))
    np.testing.assert_array_equal(ours.max(axis=0), theirs.max(axis=0))
    assert T.RandomPerspective.get_params(11, 9, 0.6)[0] == TV.RandomPerspective.get_params(11, 9, 0.6)[0]
    assert repr(T.RandomPerspective(p=0.3)) == repr(TV.RandomPerspective(p=0.3))
