"""Transforms against results known by construction (small arrays, hand-computed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn as mc
from minicnn.data.transforms import (
    Compose,
    Normalize,
    Pad,
    RandomCrop,
    RandomHorizontalFlip,
    ToTensor,
    crop_per_sample,
)

# --- ToTensor -----------------------------------------------------------------------------


def test_to_tensor_scales_uint8_batch() -> None:
    images = np.array([[[0, 51, 102]], [[153, 204, 255]]], np.uint8)  # (B=2, H=1, W=3)
    out = ToTensor().apply_batch(images)
    assert out.shape == (2, 1, 1, 3) and out.dtype == np.float32
    expected = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], np.float32)  # k * 51 / 255 = k / 5
    np.testing.assert_array_equal(out.reshape(-1), expected)


def test_to_tensor_layouts() -> None:
    single = np.array([[0, 255], [255, 0]], np.uint8)  # (H, W)
    np.testing.assert_array_equal(ToTensor()(single), [[[0, 1], [1, 0]]])
    # one (H, W, C) image, as torchvision: channel 0 all 0, channel 1 all 255
    hwc = np.zeros((2, 3, 2), np.uint8)
    hwc[..., 1] = 255
    out = ToTensor()(hwc)
    assert out.shape == (2, 2, 3) and (out[0] == 0).all() and (out[1] == 1).all()
    # a batch (B, H, W, C) through apply_batch
    out = ToTensor().apply_batch(np.stack([hwc, hwc]))
    assert out.shape == (2, 2, 2, 3)
    assert (out[:, 0] == 0).all() and (out[:, 1] == 1).all()
    with pytest.raises(ValueError, match=r"ToTensor: expected an image .* got shape \(3,\)"):
        ToTensor()(np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=r"apply_batch"):
        ToTensor()(np.zeros((2, 2, 3, 2), np.uint8))


# --- Normalize ----------------------------------------------------------------------------


def test_normalize_per_channel() -> None:
    x = np.array([[[[1.5]], [[3.0]]]], np.float32)  # (B=1, C=2, 1, 1)
    out = Normalize((0.5, 1.0), (0.5, 2.0))(x)
    np.testing.assert_array_equal(out, [[[[2.0]], [[1.0]]]])  # (1.5-0.5)/0.5, (3-1)/2
    assert x[0, 0, 0, 0] == 1.5  # input untouched
    single = np.array([[[1.0, 3.0]]], np.float32)  # (C=1, H=1, W=2), one mean for all channels
    np.testing.assert_array_equal(Normalize(1.0, 2.0)(single), [[[0.0, 1.0]]])
    same = Normalize(1.0, 2.0, inplace=True)(single)
    assert same is single and single.tolist() == [[[0.0, 1.0]]]


def test_normalize_errors() -> None:
    with pytest.raises(TypeError, match="apply ToTensor"):
        Normalize(0.5, 0.5)(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="2 mean values for 3 channels"):
        Normalize((0, 0), (1, 1))(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="std must not be zero"):
        Normalize(0, 0)


def test_compose_runs_in_order() -> None:
    tf = Compose([ToTensor(), Normalize(0.5, 0.5)])
    out = tf(np.array([[0, 255]], np.uint8))
    np.testing.assert_array_equal(out, [[[-1.0, 1.0]]])
    np.testing.assert_array_equal(tf.apply_batch(np.array([[[0, 255]]], np.uint8)), [[[[-1.0, 1.0]]]])
    assert "ToTensor()" in repr(tf)


# --- Pad ----------------------------------------------------------------------------------

X = np.array([[1, 2], [3, 4]], np.float32)


def test_pad_constant_forms() -> None:
    out = Pad(1)(X[None, None])
    assert out.shape == (1, 1, 4, 4)
    np.testing.assert_array_equal(out[0, 0], [[0, 0, 0, 0], [0, 1, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]])
    # (left/right, top/bottom)
    np.testing.assert_array_equal(Pad((1, 0), fill=9)(X), [[9, 1, 2, 9], [9, 3, 4, 9]])
    # (left, top, right, bottom)
    np.testing.assert_array_equal(Pad((0, 1, 2, 0))(X), [[0, 0, 0, 0], [1, 2, 0, 0], [3, 4, 0, 0]])


def test_pad_modes() -> None:
    row = np.array([[1, 2, 3]], np.float32)  # (H=1, W=3)
    np.testing.assert_array_equal(Pad((2, 0), padding_mode="edge")(row), [[1, 1, 1, 2, 3, 3, 3]])
    np.testing.assert_array_equal(Pad((2, 0), padding_mode="reflect")(row), [[3, 2, 1, 2, 3, 2, 1]])
    np.testing.assert_array_equal(Pad((2, 0), padding_mode="symmetric")(row), [[2, 1, 1, 2, 3, 3, 2]])
    # torch.nn.functional.pad as a second oracle (reflect, replicate) on a batch
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4)).astype(np.float32)
    for mode, torch_mode in (("reflect", "reflect"), ("edge", "replicate")):
        expected = torch.nn.functional.pad(torch.from_numpy(x), (1, 2, 3, 1), mode=torch_mode).numpy()
        np.testing.assert_array_equal(Pad((1, 3, 2, 1), padding_mode=mode)(x), expected)


def test_pad_errors() -> None:
    with pytest.raises(ValueError, match="padding must be"):
        Pad((1, 2, 3))
    with pytest.raises(ValueError, match="padding_mode"):
        Pad(1, padding_mode="wrap")


# --- RandomCrop ---------------------------------------------------------------------------


def test_crop_per_sample_matches_slicing() -> None:
    x = np.arange(3 * 2 * 5 * 6).reshape(3, 2, 5, 6)
    top, left = np.array([0, 2, 1]), np.array([3, 0, 1])
    out = crop_per_sample(x, top, left, 3, 3)
    assert out.shape == (3, 2, 3, 3)
    for b in range(3):
        np.testing.assert_array_equal(out[b], x[b, :, top[b] : top[b] + 3, left[b] : left[b] + 3])


def window_offsets(out: np.ndarray, padded: np.ndarray) -> list[tuple[int, int]]:
    """For each sample, the offsets (t, l) with padded[b, :, t:t+h, l:l+w] == out[b]."""
    h, w = out.shape[-2:]
    found = []
    for b in range(len(out)):
        hits = [
            (t, l)
            for t in range(padded.shape[-2] - h + 1)
            for l in range(padded.shape[-1] - w + 1)
            if np.array_equal(padded[b, :, t : t + h, l : l + w], out[b])
        ]
        assert len(hits) == 1, f"sample {b} is not exactly one window of its input"
        found.append(hits[0])
    return found


def test_random_crop_takes_one_window_per_sample() -> None:
    mc.manual_seed(0)
    x = (np.arange(200 * 2 * 4 * 4).reshape(200, 2, 4, 4) + 1).astype(np.float32)  # all distinct, no zeros
    out = RandomCrop(4, padding=1)(x)
    assert out.shape == (200, 2, 4, 4) and out.dtype == np.float32
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = window_offsets(out, padded)
    assert set(offsets) == {(t, l) for t in range(3) for l in range(3)}  # every shift occurs
    mc.manual_seed(0)
    np.testing.assert_array_equal(RandomCrop(4, padding=1)(x), out)  # reproducible


def test_random_crop_single_sample_and_errors() -> None:
    x = np.arange(2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5)  # (C, H, W)
    out = RandomCrop((2, 3))(x)
    assert out.shape == (2, 2, 3)
    window_offsets(out[None], x[None])
    with pytest.raises(ValueError, match="larger than the"):
        RandomCrop(6)(x)
    with pytest.raises(ValueError, match=r"apply ToTensor\(\) first"):
        RandomCrop(2)(np.zeros((8, 5, 5), np.uint8))
    with pytest.raises(ValueError, match="expected a batch"):
        RandomCrop(2)(np.zeros((5, 5), np.float32))


# --- RandomHorizontalFlip -----------------------------------------------------------------


def test_flip_all_or_none() -> None:
    x = np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3)
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x)[0, 0], [[2, 1, 0], [5, 4, 3]])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x), x)


def test_flip_random_subset() -> None:
    mc.manual_seed(3)
    x = np.tile(np.array([1, 2, 3], np.float32), (300, 1, 2, 1))  # (300, 1, 2, 3)
    out = RandomHorizontalFlip()(x)
    flipped = (out[:, 0, :, 0] == 3).all(axis=1)
    kept = (out == x).all(axis=(1, 2, 3))
    assert (flipped ^ kept).all()  # each sample wholly flipped or wholly kept
    assert 0.35 < flipped.mean() < 0.65
    mc.manual_seed(3)
    np.testing.assert_array_equal(RandomHorizontalFlip()(x), out)
    single = RandomHorizontalFlip(1.0)(x[0])
    assert single.shape == (1, 2, 3) and single[0, 0].tolist() == [3, 2, 1]


def test_random_crop_pad_if_needed_pads_both_sides_by_the_shortfall_like_torchvision() -> None:
    import torchvision.transforms as tvt

    img = np.arange(5 * 6, dtype=np.float32).reshape(1, 1, 5, 6) + 1
    mc.manual_seed(0)
    out = RandomCrop(8, pad_if_needed=True)(img)
    padded = np.pad(img[0, 0], ((3, 3), (2, 2)))  # torchvision: shortfall 3 rows, 2 columns, on each side
    assert out.shape == (1, 1, 8, 8)
    windows = [padded[i : i + 8, j : j + 8] for i in range(padded.shape[0] - 7) for j in range(padded.shape[1] - 7)]
    assert any(np.array_equal(out[0, 0], w) for w in windows)
    theirs = tvt.RandomCrop(8, pad_if_needed=True)(torch.from_numpy(img[0]))
    assert tuple(theirs.shape[-2:]) == out.shape[-2:]


# --- per-sample semantics and the batched fast path -----------------------------------------


@pytest.mark.parametrize(
    "dtype, scale",
    [(np.float64, 1 / 255), (np.float32, 1.0), (np.int32, 1), (np.int64, 1), (np.bool_, 1), (np.uint8, 1)],
)
def test_to_tensor_dtypes_like_torchvision(dtype: type, scale: float) -> None:
    """torchvision 0.29's ToTensor scales uint8 only; every other dtype is kept, values unchanged."""
    import torchvision.transforms as tvt

    raw = np.arange(35, dtype=np.uint8).reshape(5, 7) % 3
    for image in (raw.astype(dtype) * scale, np.stack([raw, raw + 1, raw + 2], axis=-1).astype(dtype) * scale):
        image = image.astype(dtype)
        expected = tvt.ToTensor()(image)
        out = ToTensor()(image)
        assert out.dtype == expected.numpy().dtype and out.shape == tuple(expected.shape)
        np.testing.assert_array_equal(out, expected.numpy())
        assert not np.shares_memory(out, image)
        batch = ToTensor().apply_batch(np.stack([image, image]))
        assert batch.dtype == out.dtype
        np.testing.assert_array_equal(batch, np.stack([out, out]))


def sample_by_sample(transform, batch: np.ndarray, seed: int) -> np.ndarray:
    mc.manual_seed(seed)
    return np.stack([transform(sample) for sample in batch])


@pytest.mark.parametrize(
    "make, raw",
    [
        (lambda: ToTensor(), True),
        (lambda: Normalize((0.5, 0.2), (0.25, 2.0)), False),
        (lambda: Pad((1, 2, 0, 3), padding_mode="reflect"), False),
        (lambda: Pad(-1), False),
        (lambda: RandomCrop(4, padding=2), False),
        (lambda: RandomCrop((3, 5), pad_if_needed=True, padding_mode="edge"), False),
        (lambda: RandomHorizontalFlip(), False),
        (lambda: Compose([ToTensor(), Normalize(0.5, 0.5), RandomCrop(5, padding=1)]), True),
    ],
)
def test_apply_batch_equals_the_transform_of_each_sample(make, raw: bool) -> None:
    """A batched transform's apply_batch is the per-sample transform, stacked; random ones draw
    per sample in sample order, so they give the very same images from the same seed."""
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (40, 5, 6), np.uint8) if raw else rng.standard_normal((40, 2, 5, 6), np.float32)
    transform = make()
    assert transform.batched is True
    expected = sample_by_sample(transform, batch, seed=7)
    mc.manual_seed(7)
    out = transform.apply_batch(batch)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)


def test_random_transforms_draw_independently_per_sample_in_batch_mode() -> None:
    batch = np.broadcast_to(np.arange(30, dtype=np.float32).reshape(1, 1, 5, 6), (400, 1, 5, 6))
    mc.manual_seed(0)
    tf = Compose([RandomCrop(4, padding=1), RandomHorizontalFlip()])
    out = tf.apply_batch(batch)
    distinct = {o.tobytes() for o in out}
    assert len(distinct) > 30  # 9 offsets x 2 flips = 18 and more distinct images seen, not one for all
    mc.manual_seed(0)
    np.testing.assert_array_equal(tf.apply_batch(batch), out)


def test_compose_with_a_user_callable_is_not_batched() -> None:
    from minicnn.data.transforms import apply_per_sample, is_batched

    calls = []

    def flatten(x: np.ndarray) -> np.ndarray:
        calls.append(x.shape)
        return x.reshape(-1)

    tf = Compose([ToTensor(), flatten])
    assert not is_batched(tf) and is_batched(Compose([ToTensor()])) and not is_batched(flatten)
    out = apply_per_sample(tf, np.zeros((3, 4, 5), np.uint8))
    assert out.shape == (3, 20) and calls == [(1, 4, 5)] * 3
    with pytest.raises(TypeError, match="not every transform is batched"):
        tf.apply_batch(np.zeros((3, 4, 5), np.uint8))


def test_apply_batch_rejects_stacks_of_the_wrong_rank() -> None:
    with pytest.raises(ValueError, match="Normalize.apply_batch"):
        Normalize(0.5, 0.5).apply_batch(np.zeros((3, 4, 5), np.float32))  # B would be read as C
    with pytest.raises(ValueError, match=r"RandomCrop.apply_batch.*apply ToTensor\(\) first"):
        RandomCrop(2).apply_batch(np.zeros((3, 4, 5), np.uint8))
    with pytest.raises(ValueError, match="RandomHorizontalFlip.apply_batch"):
        RandomHorizontalFlip().apply_batch(np.zeros((3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="Pad.apply_batch"):
        Pad(1).apply_batch(np.zeros((3, 4), np.float32))


def test_flip_of_a_tensor_is_a_tensor_with_gradients() -> None:
    x = mc.tensor(np.arange(12, dtype=np.float32).reshape(2, 1, 2, 3), requires_grad=True)
    out = RandomHorizontalFlip(1.0)(x)
    assert isinstance(out, mc.Tensor)
    np.testing.assert_array_equal(out.numpy(), x.numpy()[..., ::-1])
    (out * mc.tensor(np.arange(12, dtype=np.float32).reshape(2, 1, 2, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(12, dtype=np.float32).reshape(2, 1, 2, 3)[..., ::-1])
    single = RandomHorizontalFlip(0.0)(x[0])
    assert isinstance(single, mc.Tensor) and single.shape == (1, 2, 3)
    assert isinstance(Normalize(0.5, 0.5)(x), mc.Tensor)


# --- Pad against torchvision --------------------------------------------------------------


PAD_AMOUNTS = (-4, -1, 0, 1, 4, 5, 6)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_matches_torchvision_including_negative_and_too_large(mode: str) -> None:
    """Every (left, top, right, bottom) from PAD_AMOUNTS that leaves an image: the same array
    as torchvision.transforms.v2.functional.pad, or an error where torchvision raises."""
    import itertools

    import torchvision.transforms.v2.functional as tvf

    x = np.random.default_rng(0).standard_normal((2, 5, 6)).astype(np.float32)  # (C, H=5, W=6)
    checked = raised = 0
    for pad in itertools.product(PAD_AMOUNTS, repeat=4):
        left, top, right, bottom = pad
        if max(-left, 0) + max(-right, 0) >= 6 or max(-top, 0) + max(-bottom, 0) >= 5:
            continue  # cropped to nothing: minicnn raises; torchvision's slicing gives nonsense shapes
        try:
            expected = tvf.pad(torch.from_numpy(x), list(pad), fill=0.5, padding_mode=mode).numpy()
        except (RuntimeError, IndexError):
            with pytest.raises(ValueError, match="padding"):
                Pad(pad, fill=0.5, padding_mode=mode)(x)
            raised += 1
            continue
        np.testing.assert_array_equal(Pad(pad, fill=0.5, padding_mode=mode)(x), expected, err_msg=str(pad))
        checked += 1
    assert checked > 500
    assert (raised > 0) == (mode in ("reflect", "symmetric"))


def test_pad_forms_and_limits() -> None:
    x = np.arange(30, dtype=np.float32).reshape(1, 5, 6)
    np.testing.assert_array_equal(Pad((3,))(x), Pad(3)(x))  # one-element sequence, as torchvision
    np.testing.assert_array_equal(Pad(-1)(x), x[:, 1:-1, 1:-1])  # negative padding crops
    np.testing.assert_array_equal(Pad((-1, 2))(x), np.pad(x[:, :, 1:-1], ((0, 0), (2, 2), (0, 0))))
    Pad(4, padding_mode="reflect")(x)  # 4 < 5 and 4 < 6
    with pytest.raises(ValueError, match="reflect padding of 5 along H must be smaller than"):
        Pad(5, padding_mode="reflect")(x)
    Pad(5, padding_mode="symmetric")(x)  # at most the size: fine
    with pytest.raises(ValueError, match="symmetric padding of 7 along W must be at most"):
        Pad((7, 0), padding_mode="symmetric")(x)
    with pytest.raises(ValueError, match="crops the image"):
        Pad((-3, 0))(x)
    for bad in ((1, 2, 3), (), 1.5, (1.5, 2), True, "2"):
        with pytest.raises(ValueError, match="padding must be"):
            Pad(bad)
