"""Transforms on Tensors and PIL images, as torchvision's: ``ToTensor`` gives a Tensor, and the
transforms (and ``transforms.functional``) take Tensors and PIL images, with torchvision's results."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torchvision.transforms as tvt
import torchvision.transforms.functional as tvf
from PIL import Image
from torch.utils.data import DataLoader as TorchLoader

import minicnn as mc
from minicnn.data import DataLoader, Dataset, TensorDataset
from minicnn.data import transforms as T
from minicnn.data.transforms import functional as F
from tests.conftest import devices

BILINEAR, BICUBIC, NEAREST = T.InterpolationMode.BILINEAR, T.InterpolationMode.BICUBIC, T.InterpolationMode.NEAREST
TV_MODES = {BILINEAR: tvt.InterpolationMode.BILINEAR, BICUBIC: tvt.InterpolationMode.BICUBIC,
            NEAREST: tvt.InterpolationMode.NEAREST}  # fmt: skip


def _image(seed: int, shape: tuple[int, ...] = (13, 17, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _pil(seed: int, mode: str = "RGB", size: tuple[int, int] = (13, 17)) -> Image.Image:
    return Image.fromarray(_image(seed, (*size, 3))).convert(mode)


def _np(x: object) -> np.ndarray:
    """A minicnn Tensor's values on the host, or a torch tensor's, or a PIL image's."""
    if isinstance(x, mc.Tensor):
        return mc.backend.to_numpy(x.array)
    if isinstance(x, torch.Tensor):
        return x.numpy()
    return np.asarray(x)


# --- ToTensor and PILToTensor ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "1", "I", "F", "LA", "CMYK"])
def test_to_tensor_of_a_pil_image_is_torchvisions(mode: str) -> None:
    image = _pil(0, mode)
    for ours, theirs in ((T.ToTensor(), tvt.ToTensor()), (T.PILToTensor(), tvt.PILToTensor())):
        out, expected = ours(image), theirs(image)
        assert isinstance(out, mc.Tensor) and not out.requires_grad
        assert out.shape == tuple(expected.shape) and str(out.dtype) == str(expected.dtype).replace("torch.", "")
        np.testing.assert_array_equal(_np(out), expected.numpy())
    np.testing.assert_array_equal(_np(F.to_tensor(image)), tvf.to_tensor(image).numpy())
    np.testing.assert_array_equal(_np(F.pil_to_tensor(image)), tvf.pil_to_tensor(image).numpy())


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (5, 7, 3)])
def test_to_tensor_of_an_array_is_a_tensor_as_torchvision(device: str, shape: tuple[int, ...]) -> None:
    image = _image(1, shape)
    expected = tvt.ToTensor()(image)
    out = T.ToTensor()(mc.backend.to_device(image, device))
    assert isinstance(out, mc.Tensor) and out.device.type == device and out.dtype == mc.float32
    np.testing.assert_array_equal(_np(out), expected.numpy())
    assert _np(out.to("cpu")).flags["C_CONTIGUOUS"]
    # the batched path stays on arrays (the DataLoader wraps the batch): the same values
    batch = T.ToTensor().apply_batch(mc.backend.to_device(np.stack([image, image]), device))
    assert not isinstance(batch, mc.Tensor)
    np.testing.assert_array_equal(mc.backend.to_numpy(batch), np.stack([expected.numpy()] * 2))
    pil_like = T.PILToTensor()(image)  # minicnn's datasets give arrays where torchvision's give PIL images
    np.testing.assert_array_equal(_np(pil_like), tvt.PILToTensor()(Image.fromarray(image.squeeze())).numpy())


def test_to_tensor_refuses_a_tensor_as_torchvision() -> None:
    with pytest.raises(TypeError, match="ToTensor: pic should be PIL Image or ndarray"):
        T.ToTensor()(mc.zeros(2, 3))
    with pytest.raises(TypeError):
        tvt.ToTensor()(torch.zeros(2, 3))


def test_quickstart_sample_is_a_tensor_that_moves() -> None:
    """The quickstart's ``x, y = test_data[0]; x.to(device)`` on a dataset with ToTensor()."""

    class Images(Dataset):
        def __init__(self) -> None:
            self.images = _image(2, (6, 28, 28))

        def __len__(self) -> int:
            return len(self.images)

        def __getitem__(self, i: int) -> tuple:
            return T.ToTensor()(self.images[i]), i % 3

    x, y = Images()[0]
    x = x.to("cpu")
    assert isinstance(x, mc.Tensor) and x.shape == (1, 28, 28) and y == 0
    np.testing.assert_array_equal(_np(x), tvt.ToTensor()(Images().images[0]).numpy())


# --- transforms on Tensors: torchvision's results ----------------------------------------------


DETERMINISTIC = [
    (lambda m: m.Normalize((0.5, 0.4, 0.3), (0.2, 0.3, 0.4)), 0.0),
    (lambda m: m.Resize((7, 9)), 1e-6),
    (lambda m: m.Resize(8, antialias=False), 1e-6),
    (lambda m: m.Resize(20, interpolation=m.InterpolationMode.BICUBIC), 1e-5),
    (lambda m: m.CenterCrop(8), 0.0),
    (lambda m: m.CenterCrop((16, 20)), 0.0),
    (lambda m: m.Pad((1, 2, 3, 4), padding_mode="reflect"), 0.0),
    (lambda m: m.Grayscale(3), 1e-6),
    (lambda m: m.RandomHorizontalFlip(1.0), 0.0),
    (lambda m: m.RandomVerticalFlip(1.0), 0.0),
    (lambda m: m.RandomHorizontalFlip(0.0), 0.0),
    (lambda m: m.GaussianBlur(3, sigma=0.8), 1e-6),
    (lambda m: m.Lambda(lambda x: x * 2 - 1), 0.0),
    (lambda m: m.Compose([m.Resize(10), m.CenterCrop(9), m.Normalize(0.5, 0.25)]), 1e-5),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("make, atol", DETERMINISTIC)
def test_transforms_of_a_tensor_match_torchvision(device: str, make, atol: float) -> None:
    image = _image(3)
    x = tvt.ToTensor()(image)
    ours = make(T)(T.ToTensor()(mc.backend.to_device(image, device)))
    expected = make(tvt)(x)
    assert isinstance(ours, mc.Tensor) and ours.device.type == device and ours.shape == tuple(expected.shape)
    np.testing.assert_allclose(_np(ours), expected.numpy(), rtol=0, atol=atol)
    batch = make(T)(mc.tensor(np.stack([x.numpy(), x.numpy()]), device=device))  # (B, C, H, W) as torchvision
    np.testing.assert_allclose(_np(batch), make(tvt)(torch.stack([x, x])).numpy(), rtol=0, atol=atol)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "make",
    [
        lambda: T.RandomCrop(9, padding=2),
        lambda: T.RandomHorizontalFlip(),
        lambda: T.RandomResizedCrop(8),
        lambda: T.RandomRotation(30),
        lambda: T.ColorJitter(0.4, 0.4, 0.4, 0.1),
        lambda: T.RandomErasing(1.0),
        lambda: T.Compose([T.RandomCrop(11, padding=1), T.RandomHorizontalFlip(), T.Normalize(0.5, 0.5)]),
    ],
)
def test_random_transforms_of_a_tensor_equal_those_of_its_array(device: str, make) -> None:
    """The same draws from the same seed: a Tensor gives the Tensor of the array's result."""
    x = T.ToTensor()(mc.backend.to_device(_image(4), device))
    transform = make()
    mc.manual_seed(5)
    expected = transform(x.array)
    mc.manual_seed(5)
    out = transform(x)
    assert isinstance(out, mc.Tensor) and not isinstance(expected, mc.Tensor)
    np.testing.assert_array_equal(_np(out), mc.backend.to_numpy(expected))


@pytest.mark.parametrize("device", devices())
def test_functional_forms_take_tensors_as_torchvision(device: str) -> None:
    image = _image(6)
    x = tvt.ToTensor()(image)
    ours = mc.tensor(x.numpy(), device=device)
    cases = [
        (lambda f: f.resize(ours if f is F else x, [6, 8]), 1e-6),
        (lambda f: f.center_crop(ours if f is F else x, [5, 5]), 0.0),
        (lambda f: f.crop(ours if f is F else x, 2, 3, 4, 5), 0.0),
        (lambda f: f.hflip(ours if f is F else x), 0.0),
        (lambda f: f.vflip(ours if f is F else x), 0.0),
        (lambda f: f.rotate(ours if f is F else x, 90.0), 0.0),
        (lambda f: f.adjust_brightness(ours if f is F else x, 1.3), 1e-6),
        (lambda f: f.rgb_to_grayscale(ours if f is F else x), 1e-6),
        (lambda f: f.normalize(ours if f is F else x, [0.5, 0.5, 0.5], [0.2, 0.3, 0.4]), 0.0),
    ]
    for case, atol in cases:
        out, expected = case(F), case(tvf)
        assert isinstance(out, mc.Tensor) and out.device.type == device
        np.testing.assert_allclose(_np(out), expected.numpy(), rtol=0, atol=atol)


def test_inplace_forms_return_the_same_tensor_as_torchvision() -> None:
    x = T.ToTensor()(_image(7))
    tx = tvt.ToTensor()(_image(7))
    out = T.Normalize(0.5, 0.5, inplace=True)(x)
    assert out is x and tvt.Normalize(0.5, 0.5, inplace=True)(tx) is tx
    np.testing.assert_array_equal(_np(x), tx.numpy())
    assert F.erase(x, 1, 2, 3, 4, 0.0, inplace=True) is x
    np.testing.assert_array_equal(_np(x), tvf.erase(tx, 1, 2, 3, 4, torch.tensor(0.0), inplace=True).numpy())


def test_a_tensor_that_requires_grad() -> None:
    """Normalize, RandomCrop and the flips stay differentiable; the others say they are not."""
    x = mc.tensor(T.ToTensor()(_image(8)).numpy(), requires_grad=True)
    out = T.Normalize(0.5, 0.25)(x)
    out.sum().backward()
    np.testing.assert_allclose(_np(x.grad), np.full(x.shape, 4.0, np.float32))
    with pytest.raises(TypeError, match=r"resize: got a Tensor that requires grad; .* \(pass x.detach\(\)\)"):
        T.Resize(5)(x)
    assert isinstance(T.Resize(5)(x.detach()), mc.Tensor)


# --- PIL images: torchvision's PIL paths ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.Resize((7, 9)),
        lambda m: m.Resize(8),
        lambda m: m.Resize(20, interpolation=m.InterpolationMode.BICUBIC),
        lambda m: m.Resize(6, interpolation=m.InterpolationMode.NEAREST, max_size=8),
        lambda m: m.Resize((13, 17)),
        lambda m: m.CenterCrop(8),
        lambda m: m.CenterCrop((16, 20)),
        lambda m: m.CenterCrop((10, 20)),
        lambda m: m.RandomHorizontalFlip(1.0),
        lambda m: m.RandomVerticalFlip(1.0),
        lambda m: m.RandomHorizontalFlip(0.0),
        lambda m: m.RandomResizedCrop((9, 7), scale=(1.0, 1.0), ratio=(17 / 13, 17 / 13)),
        lambda m: m.Pad((1, 2, 3, 4), fill=7),
        lambda m: m.Pad(2, padding_mode="symmetric"),
        lambda m: m.Grayscale(3),
        lambda m: m.Compose([m.Resize(10), m.CenterCrop(9), m.ToTensor(), m.Normalize(0.5, 0.25)]),
    ],
)
def test_transforms_of_a_pil_image_match_torchvision(make, mode: str) -> None:
    image = _pil(9, mode)
    out, expected = make(T)(image), make(tvt)(image)
    assert type(out) is (mc.Tensor if isinstance(expected, torch.Tensor) else type(expected))
    if isinstance(expected, Image.Image):
        assert out.mode == expected.mode and out.size == expected.size
    np.testing.assert_allclose(_np(out), _np(expected), rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", ["L", "RGB", "F"])
def test_pad_of_a_pil_image_crops_first_and_reflects_beyond_its_size_as_torchvision(mode: str) -> None:
    """torchvision's PIL path crops the negative sides, then np.pad, whose reflect / symmetric
    modes reflect again where a side is longer than the image."""
    image = _pil(12, mode, (2, 3))
    for padding, padding_mode in [(2, "symmetric"), ((1, 3), "reflect"), ((4, -1, 0, 2), "reflect"), (5, "edge")]:
        out = T.Pad(padding, padding_mode=padding_mode)(image)
        expected = tvt.Pad(padding, padding_mode=padding_mode)(image)
        assert (out.mode, out.size) == (expected.mode, expected.size)
        np.testing.assert_array_equal(np.asarray(out), np.asarray(expected))


def test_random_transforms_of_a_pil_image() -> None:
    """RandomResizedCrop on a PIL image: the box drawn as for its array, cropped and resized by PIL
    (torchvision's resized_crop); RandomCrop: the array's crop."""
    image = _pil(10)
    array = T.PILToTensor()(image).array
    mc.manual_seed(3)
    top, left, h, w = T.RandomResizedCrop.get_params(array, (0.08, 1.0), (3 / 4, 4 / 3))
    mc.manual_seed(3)
    out = T.RandomResizedCrop(8)(image)
    expected = tvf.resized_crop(image, top, left, h, w, [8, 8])
    assert isinstance(out, Image.Image)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(expected))
    crop = T.RandomCrop(9, padding=2)
    mc.manual_seed(4)
    out = crop(image)
    mc.manual_seed(4)
    np.testing.assert_array_equal(_np(T.PILToTensor()(out)), _np(crop(T.PILToTensor()(image))))


def test_pil_errors_as_torchvision() -> None:
    image = _pil(11)
    with pytest.raises(TypeError):
        tvt.Normalize(0.5, 0.5)(image)
    with pytest.raises(TypeError, match=r"Normalize: .* got a PIL image; apply ToTensor\(\) first"):
        T.Normalize(0.5, 0.5)(image)
    with pytest.raises(TypeError, match=r"adjust_hue: .* got a PIL image; apply ToTensor\(\) first"):
        F.adjust_hue(image, 0.1)
    with pytest.warns(UserWarning, match="Anti-alias option is always applied for PIL Image"):
        F.resize(image, [5, 5], antialias=False)


# --- collation: samples that are Tensors stack fast ------------------------------------------------


class _Samples(Dataset):
    """Images (H, W) uint8 through a per-sample transform, as a user's Dataset."""

    def __init__(self, n: int, transform) -> None:
        self.images, self.labels = _image(12, (n, 16, 16)), np.arange(n) % 10
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple:
        return self.transform(self.images[i]), int(self.labels[i])


def test_dataloader_collates_tensor_samples_as_torch() -> None:
    ours = DataLoader(_Samples(10, T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5)])), batch_size=4)
    theirs = TorchLoader(_Samples(10, tvt.Compose([tvt.ToTensor(), tvt.Normalize(0.5, 0.5)])), batch_size=4)
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        assert isinstance(x, mc.Tensor) and x.shape == tuple(tx.shape) and x.dtype == mc.float32
        np.testing.assert_array_equal(_np(x), tx.numpy())
        np.testing.assert_array_equal(_np(y), ty.numpy())


def test_batched_path_and_per_sample_collation_stay_fast() -> None:
    """The batched path (the training command's) still makes one array op per batch, and collating
    per-sample Tensors costs about what collating per-sample arrays does (stacking their arrays)."""
    images = _image(13, (512, 28, 28))
    tf = T.Compose([T.ToTensor(), T.Normalize(0.1307, 0.3081)])
    assert not isinstance(tf.apply_batch(images), mc.Tensor)
    samples = [T.ToTensor()(im) for im in images]
    arrays = [s.array for s in samples]
    from minicnn.data import default_collate

    def best(f) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return min(times)

    np.testing.assert_array_equal(default_collate(samples), np.stack(arrays))
    assert best(lambda: default_collate(samples)) < 3 * best(lambda: default_collate(arrays)) + 1e-3


def test_tensor_dataset_of_tensors_with_a_transform() -> None:
    """A DataLoader transform sees the batch's arrays (batched) or each sample (per sample)."""
    data = TensorDataset(mc.tensor(np.random.default_rng(0).random((6, 3, 8, 8), dtype=np.float32)), np.arange(6))
    x, _ = next(iter(DataLoader(data, batch_size=6, transform=T.Compose([T.CenterCrop(4), T.Normalize(0.5, 0.5)]))))
    expected = tvt.Compose([tvt.CenterCrop(4), tvt.Normalize(0.5, 0.5)])(torch.from_numpy(data.arrays[0]))
    np.testing.assert_array_equal(_np(x), expected.numpy())


DTYPES = {np.uint8: torch.uint8, np.int8: torch.int8, np.int16: torch.int16, np.int32: torch.int32,
          np.int64: torch.int64, np.float32: torch.float32, np.float64: torch.float64}  # fmt: skip


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("source", list(DTYPES))
def test_convert_image_dtype_is_torchvisions(device: str, source: type) -> None:
    rng = np.random.default_rng(14)
    if np.dtype(source).kind == "f":
        x = rng.random((3, 4, 5)).astype(source)
    else:
        x = rng.integers(0, np.iinfo(source).max, (3, 4, 5), dtype=source, endpoint=True)
    for target, torch_target in DTYPES.items():
        try:
            expected = tvt.ConvertImageDtype(torch_target)(torch.from_numpy(x)).numpy()
        except RuntimeError:
            with pytest.raises(RuntimeError, match="cannot be done safely"):
                T.ConvertImageDtype(target)(mc.tensor(x, device=device))
            continue
        out = T.ConvertImageDtype(target)(mc.tensor(x, device=device))
        assert isinstance(out, mc.Tensor) and out.dtype == np.dtype(target)
        np.testing.assert_array_equal(_np(out), expected)
        np.testing.assert_array_equal(mc.backend.to_numpy(F.convert_image_dtype(x, target)), expected)
