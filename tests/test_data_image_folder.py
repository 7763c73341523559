"""ImageFolder and DatasetFolder against torchvision's, on a temporary folder of small PNG and JPEG files."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
import torchvision.transforms as tvt
from PIL import Image
from torch.utils.data import DataLoader as TorchLoader

import minicnn as mc
from minicnn.data import (
    IMG_EXTENSIONS,
    DataLoader,
    DatasetFolder,
    ImageFolder,
    default_loader,
    find_classes,
    has_file_allowed_extension,
    is_image_file,
    make_dataset,
    pil_loader,
)
from minicnn.data import transforms as T


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """root/{bird,cat,dog}/...: PNG and JPEG images of different sizes and modes, a nested folder,
    an upper-case extension, and files that are not images."""
    rng = np.random.default_rng(0)
    files = {
        "dog": ["b.png", "a.jpg", "nested/c.PNG", "notes.txt"],
        "cat": ["z.jpeg", "y.png", "x.bmp"],
        "bird": ["only.png"],
    }
    for index, (name, names) in enumerate(files.items()):
        for k, file in enumerate(names):
            path = tmp_path / name / file
            path.parent.mkdir(parents=True, exist_ok=True)
            if file.endswith(".txt"):
                path.write_text("not an image")
                continue
            height, width = 10 + k + index, 12 + 2 * k
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            image = Image.fromarray(pixels).convert("L" if k == 1 else "RGB")
            image.save(path, format="JPEG" if file.endswith((".jpg", ".jpeg")) else None)
    (tmp_path / "empty_file_at_root.png").write_bytes(b"")  # not in a class folder: ignored
    return tmp_path


def test_class_discovery_and_samples_are_torchvisions(folder: Path) -> None:
    ours, theirs = ImageFolder(str(folder)), tvd.ImageFolder(str(folder))
    assert ours.classes == theirs.classes == ["bird", "cat", "dog"]
    assert ours.class_to_idx == theirs.class_to_idx
    assert ours.samples == theirs.samples and ours.imgs == theirs.imgs and ours.targets == theirs.targets
    assert len(ours) == len(theirs) == 7 and ours.root == theirs.root
    assert find_classes(folder) == tvd.folder.find_classes(folder)
    assert make_dataset(folder, extensions=IMG_EXTENSIONS) == tvd.folder.make_dataset(folder, extensions=IMG_EXTENSIONS)
    assert IMG_EXTENSIONS == tvd.folder.IMG_EXTENSIONS
    assert is_image_file("a/B.JPG") and not is_image_file("a.txt") and has_file_allowed_extension("x.NPY", ".npy")
    assert repr(ours).splitlines()[:3] == repr(theirs).splitlines()[:3]


def test_samples_and_a_batch_equal_torchvisions(folder: Path) -> None:
    """A typical pipeline on PIL images: resize, crop, ToTensor, Normalize; samples and DataLoader batches."""
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    ours = ImageFolder(
        folder, transform=T.Compose([T.Resize(9), T.CenterCrop(8), T.ToTensor(), T.Normalize(mean, std)])
    )
    theirs = tvd.ImageFolder(
        folder, transform=tvt.Compose([tvt.Resize(9), tvt.CenterCrop(8), tvt.ToTensor(), tvt.Normalize(mean, std)])
    )
    for i in range(len(ours)):
        (x, y), (tx, ty) = ours[i], theirs[i]
        assert isinstance(x, mc.Tensor) and x.shape == (3, 8, 8) and y == ty
        np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=0, atol=1e-6)
    batches = zip(DataLoader(ours, batch_size=3), TorchLoader(theirs, batch_size=3), strict=True)
    for (x, y), (tx, ty) in batches:
        assert isinstance(x, mc.Tensor) and x.shape == tuple(tx.shape) and x.dtype == mc.float32
        np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=0, atol=1e-6)
        assert y.dtype == mc.int64 and y.numpy().tolist() == ty.tolist()


def test_loaders_give_rgb_pil_images(folder: Path) -> None:
    path = ImageFolder(folder).samples[2][0]  # a grey JPEG, converted to RGB
    for ours, theirs in ((pil_loader, tvd.folder.pil_loader), (default_loader, tvd.folder.default_loader)):
        image, expected = ours(path), theirs(path)
        assert isinstance(image, Image.Image) and image.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(image), np.asarray(expected))
    sample, target = ImageFolder(folder)[0]
    assert isinstance(sample, Image.Image) and target == 0


def test_is_valid_file_target_transform_and_loader(folder: Path) -> None:
    def only_png(path: str) -> bool:
        return path.lower().endswith(".png")

    def size_loader(path: str) -> tuple[int, int]:
        return Image.open(path).size

    kwargs = dict(is_valid_file=only_png, target_transform=lambda y: y * 10, loader=size_loader)
    ours, theirs = ImageFolder(folder, **kwargs), tvd.ImageFolder(folder, **kwargs)
    assert ours.samples == theirs.samples and len(ours) == 4
    assert [ours[i] for i in range(len(ours))] == [theirs[i] for i in range(len(theirs))]
    generic = DatasetFolder(folder, loader=size_loader, extensions=(".jpg", ".jpeg"), allow_empty=True)
    expected = tvd.DatasetFolder(folder, loader=size_loader, extensions=(".jpg", ".jpeg"), allow_empty=True)
    assert generic.samples == expected.samples and generic.extensions == (".jpg", ".jpeg")
    assert generic.classes == ["bird", "cat", "dog"]  # bird has no JPEG: kept with allow_empty


def test_errors_are_torchvisions(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    def message(make, *args, **kwargs) -> tuple[type, str]:
        with pytest.raises(Exception) as info:
            make(*args, **kwargs)
        return type(info.value), str(info.value)

    (folder / "zebra").mkdir()  # an empty class folder
    assert message(ImageFolder, folder) == message(tvd.ImageFolder, folder)
    assert message(ImageFolder, folder)[0] is FileNotFoundError
    assert ImageFolder(folder, allow_empty=True).classes[-1] == "zebra"
    empty_root = tmp_path_factory.mktemp("no_classes")
    assert message(ImageFolder, empty_root) == message(tvd.ImageFolder, empty_root)
    both = dict(loader=pil_loader, extensions=(".png",), is_valid_file=lambda p: True)
    assert message(DatasetFolder, folder, **both) == message(tvd.DatasetFolder, folder, **both)
    assert message(DatasetFolder, folder, loader=pil_loader) == message(tvd.DatasetFolder, folder, loader=pil_loader)


def test_random_pil_augmentation_pipeline(folder: Path) -> None:
    """RandomResizedCrop and RandomHorizontalFlip on the PIL images, seeded by mc.manual_seed."""
    tf = T.Compose([T.RandomResizedCrop(6), T.RandomHorizontalFlip(), T.ToTensor()])
    ds = ImageFolder(folder, transform=tf)
    mc.manual_seed(0)
    first = DataLoader(ds, batch_size=7, shuffle=True)
    x, y = next(iter(first))
    assert x.shape == (7, 3, 6, 6) and sorted(y.numpy().tolist()) == sorted(ds.targets)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    mc.manual_seed(0)
    again, _ = next(iter(DataLoader(ds, batch_size=7, shuffle=True)))
    np.testing.assert_array_equal(again.numpy(), x.numpy())


def test_missing_pillow_names_the_extra(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.path.join(folder, "bird", "only.png")
    real_import = builtins.__import__

    def no_pil(name: str, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r"pip install minicnn\[images\]"):
        pil_loader(path)
    with pytest.raises(ImportError, match=r"pip install minicnn\[images\]"):
        ImageFolder(folder)[0]


def test_labels_are_ints_and_pil_to_tensor_is_torchvisions(folder: Path) -> None:
    """Labels are Python ints per sample (as torchvision), int64 in a batch."""
    ds = ImageFolder(folder, transform=T.Compose([T.Resize((4, 4)), T.PILToTensor()]))
    x, y = ds[3]
    assert isinstance(y, int) and x.dtype == mc.uint8 and x.shape == (3, 4, 4)
    expected = tvd.ImageFolder(folder, transform=tvt.Compose([tvt.Resize((4, 4)), tvt.PILToTensor()]))[3][0]
    np.testing.assert_array_equal(x.numpy(), expected.numpy())
    assert torch.equal(torch.from_numpy(x.numpy()), expected)
