"""MNIST, Fashion-MNIST and Kuzushiji-MNIST, read from the four standard gzipped IDX files.

Where the files are looked for, in this order, each file on its own (``.gz`` or uncompressed):

1. ``root/MNIST/raw/`` (``root/FashionMNIST/raw/``, ``root/KMNIST/raw/``): torchvision's
   layout, and where downloads go;
2. ``root/`` itself: a flat directory holding the files, e.g. ``root="../shared/data/mnist"``;
3. for Fashion-MNIST also Debian's ``/usr/share/datasets/fashion-mnist/``
   (``apt-get install dataset-fashion-mnist``).

``root=None`` means ``$MINICNN_DATA`` or else ``~/.cache/minicnn``. Missing files are
downloaded (``download=True``, the default) from the mirrors, see
:mod:`minicnn.data.download`, into ``root/MNIST/raw/``: each ``.gz`` file and, as
torchvision does, its uncompressed content under the name without ``.gz``, so that
``torchvision.datasets.MNIST(root, download=False)`` reads the same folder. Every file's
decompressed content must have the SHA-256 listed below, whether it was downloaded or found,
or it is rejected with an error naming it. For KMNIST only the SHA-256 of the published
``.gz`` files is known, so its ``.gz`` files are the ones read and verified (an uncompressed
copy alone cannot be checked and is not used).

CIFAR-10 and CIFAR-100 live in :mod:`minicnn.data.cifar`; :class:`ImageArrayDataset` is the
in-memory base all these datasets share.

The whole split is held in memory as arrays, like torchvision: ``.data`` (N, 28, 28) uint8
and ``.targets`` (N,) int64. As in torchvision, ``transform`` is a per-sample transform:
``ds[i]`` is ``(transform(image), target_transform(label))`` for one image (28, 28) uint8 (a
copy) and one label (a Python int), or the raw pair without transforms.
:meth:`MNIST.get_batch` (the DataLoader's path) gives the same samples, stacked: it applies a
transform that declares ``batched = True`` (minicnn's own transforms and ``Compose`` of
them, see :mod:`minicnn.data.transforms`) to the whole batch (B, 28, 28) at once, and calls
any other callable once per sample. So ``transforms.ToTensor()`` makes ``ds[i][0]`` a float32
Tensor (1, 28, 28) in [0, 1] (as torchvision), batches a float32 (B, 1, 28, 28) array that the
DataLoader makes a Tensor, and ``lambda im: im.reshape(-1)`` makes each image (784,).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .download import check_file_sha256, download_verified, mirror_list
from .errors import DatasetNotFoundError, DownloadError
from .idx import read_images_and_labels
from .transforms import apply_per_sample

DATA_ENV = "MINICNN_DATA"
"""Environment variable naming the default data root."""
OFFLINE_ENV = "MINICNN_OFFLINE"
"""Set (to anything but 0) to never download, like ``download=False``."""


def default_root() -> Path:
    """``$MINICNN_DATA`` if set, else ``~/.cache/minicnn``."""
    env = os.environ.get(DATA_ENV, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "minicnn"


def not_found_message(
    dataset: Any, missing: str, download: bool, failure: str, *, fetches: str, where: str, serves: str
) -> str:
    """The error for data files neither found nor downloaded: what is missing, where minicnn
    looked, why nothing was downloaded, and the ways to point it at files one already has."""
    name = type(dataset).__name__
    looked = "\n".join(f"  {d}" for d in dataset.search_dirs())
    if download:
        why = "Downloading failed: " + failure.replace("\n", "\n  ")
    elif failure:
        why = f"{failure}, so nothing was downloaded."
    else:
        why = f"download=False, so nothing was downloaded (download=True fetches {fetches})."
    return (
        f"{name} ({dataset.split} split): missing {missing}.\n"
        f"Looked in:\n{looked}\n"
        f"{why}\n"
        f"To use the files you have, point minicnn at the directory DIR holding {where}:\n"
        f'  in Python:           {name}(root="DIR")\n'
        f"  on the command line: python -m minicnn train ... --data-dir DIR\n"
        f"  in the environment:  export {DATA_ENV}=DIR\n"
        f"To download from another site: export {dataset.mirror_env}=URL (a base URL serving {serves})."
    )


class ImageArrayDataset(Dataset):
    """A split held in memory as ``data`` (N, ...) uint8 and ``targets`` (N,) int64, indexed
    like torchvision's datasets: ``ds[i]`` is one ``(transform(image), target_transform(label))``.

    Subclasses set ``root``, ``train``, ``transform``, ``target_transform``, ``data`` and
    ``targets`` in their constructor.
    """

    root: Path
    train: bool
    transform: Callable[[np.ndarray], Any] | None
    target_transform: Callable[[int], Any] | None
    data: np.ndarray
    targets: np.ndarray

    @property
    def split(self) -> str:
        return "train" if self.train else "test"

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """``(image, label)``: one image of ``data`` (a copy) and an int, each through its transform if given."""
        index = operator.index(index)
        image, target = self.data[index].copy(), int(self.targets[index])  # a copy: transforms may write
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def get_batch(self, indices: np.ndarray) -> tuple[Any, Any]:
        """The samples at ``indices``, stacked: what ``ds[i]`` gives for each, collated.

        Images ``data[indices]`` ((B, 28, 28) or (B, 32, 32, 3)) and labels ``targets[indices]`` (B,) int64, each
        through its transform by :func:`~minicnn.data.transforms.apply_per_sample`: in one
        call for a batched transform, else sample by sample.
        """
        images, targets = self.data[indices], self.targets[indices]
        if self.transform is not None:
            images = apply_per_sample(self.transform, images)
        if self.target_transform is not None:
            targets = apply_per_sample(self.target_transform, targets, item=int)
        return images, targets

    def __repr__(self) -> str:
        lines = [
            f"Dataset {type(self).__name__}",
            f"    Number of datapoints: {len(self)}",
            f"    Root location: {self.root}",
            f"    Split: {self.split.capitalize()}",
        ]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


class MNIST(ImageArrayDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28 x 28.

    Args:
        root: the data directory (see the module docstring); None: ``$MINICNN_DATA`` or
            ``~/.cache/minicnn``.
        train: the training split, else the test split.
        download: fetch missing files (into ``root/MNIST/raw/``, ``.gz`` and uncompressed).
        transform: applied to each image (28, 28) uint8, as in torchvision, e.g.
            ``transforms.ToTensor()``; batches go through ``apply_batch`` when it declares
            ``batched = True``.
        target_transform: applied to each label (a Python int), the same way.
        mirrors: base URLs to download from instead of the class's ``mirrors``
            (``$MINICNN_MNIST_MIRROR`` still comes first).
        timeout: network timeout in seconds (default ``$MINICNN_DOWNLOAD_TIMEOUT`` or 15).
        progress: show a progress bar while downloading (on a terminal).

    Attributes: ``data`` (N, 28, 28) uint8, ``targets`` (N,) int64, ``classes``, ``files``
    (the two files read), ``mean`` and ``std`` (of the training pixels scaled to [0, 1], for
    ``transforms.Normalize``).

    Raises:
        DatasetNotFoundError: files missing and not downloadable; says what to do.
        ChecksumError, IDXError: a file is corrupt or not the expected one (named).
    """

    mirrors: tuple[str, ...] = (
        "http://yann.lecun.com/exdb/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    )
    mirror_env = "MINICNN_MNIST_MIRROR"
    system_dirs: tuple[str, ...] = ()
    install_hint = ""
    # (file name without .gz, SHA-256 of its decompressed content): images first, then labels.
    resources: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
        "train": (
            ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        ),
        "test": (
            ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        ),
    }
    classes: tuple[str, ...] = (
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    )  # fmt: skip
    mean: tuple[float, ...] = (0.1307,)
    std: tuple[float, ...] = (0.3081,)
    # True: ``resources`` holds the SHA-256 of each ``.gz`` file as published, not of its
    # decompressed content; then only the ``.gz`` files are used (KMNIST).
    gz_checksums: bool = False

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        *,
        mirrors: Sequence[str] | None = None,
        timeout: float | None = None,
        progress: bool = True,
    ) -> None:
        if callable(download):  # torchvision's order puts transform third: refuse, don't ignore it
            raise TypeError(
                f"{type(self).__name__}: the third argument is download (a bool), got a callable; minicnn's order "
                "is (root, train, download, transform, target_transform): pass transform= by keyword"
            )
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        self.files = self._locate(download, mirrors, timeout, progress)
        (_, images_sha), (_, labels_sha) = self.resources[self.split]
        if self.gz_checksums:
            for path, sha in zip(self.files, (images_sha, labels_sha)):
                check_file_sha256(path, sha)
            images_sha = labels_sha = None
        self.data, self.targets = read_images_and_labels(*self.files, sha256=(images_sha, labels_sha))

    @property
    def raw_folder(self) -> Path:
        """``root/<ClassName>/raw``: torchvision's place for the files, and where downloads go."""
        return self.root / type(self).__name__ / "raw"

    def search_dirs(self) -> list[Path]:
        """The directories searched for the files, in order."""
        dirs = [self.raw_folder, self.root, *map(Path, self.system_dirs)]
        return list(dict.fromkeys(dirs))

    def _find(self, stem: str) -> Path | None:
        """The first existing ``stem`` (uncompressed) or ``stem.gz`` in :meth:`search_dirs`
        (only ``stem.gz`` with ``gz_checksums``)."""
        names = (stem + ".gz",) if self.gz_checksums else (stem, stem + ".gz")
        for directory in self.search_dirs():
            for name in names:
                if (directory / name).is_file():
                    return directory / name
        return None

    def _locate(
        self, download: bool, mirrors: Sequence[str] | None, timeout: float | None, progress: bool
    ) -> tuple[Path, Path]:
        """The paths of this split's image and label files, downloading missing ones if allowed."""
        wanted = self.resources[self.split]
        found = {stem: self._find(stem) for stem, _ in wanted}
        failure = ""
        if download and os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
            download, failure = False, f"${OFFLINE_ENV} is set"
        if download:
            urls = mirror_list(self.mirrors, self.mirror_env, mirrors)
            for stem, sha in wanted:
                if found[stem] is None:
                    try:
                        found[stem] = download_verified(
                            stem + ".gz",
                            urls,
                            self.raw_folder,
                            None if self.gz_checksums else sha,
                            file_sha256=sha if self.gz_checksums else None,
                            timeout=timeout,
                            progress=progress,
                            uncompressed=True,  # torchvision reads only the uncompressed files
                        )
                    except DownloadError as exc:
                        failure = str(exc)
                        break  # the mirrors are unreachable or bad: the next file would fail alike
        missing = [stem for stem, path in found.items() if path is None]
        if missing:
            raise DatasetNotFoundError(self._not_found_message(missing, download, failure))
        images, labels = (found[stem] for stem, _ in wanted)
        return images, labels

    def _not_found_message(self, missing: list[str], download: bool, failure: str) -> str:
        alternative = (
            " (the .gz files: their published checksums are what verifies them)"
            if self.gz_checksums
            else " (or the same names without .gz, uncompressed)"
        )
        message = not_found_message(
            self,
            ", ".join(s + ".gz" for s in missing) + alternative,
            download,
            failure,
            fetches="them",
            where=f"them (directly, or in DIR/{type(self).__name__}/raw/)",
            serves="the .gz files",
        )
        return message + (f"\n{self.install_hint}" if self.install_hint else "")


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28 x 28 grey images of 10 kinds of clothing; MNIST's format.

    Same arguments and attributes as :class:`MNIST`; files go to ``root/FashionMNIST/raw/``,
    and Debian's ``/usr/share/datasets/fashion-mnist/`` is searched too. The mirror
    variable is ``$MINICNN_FASHION_MNIST_MIRROR``.
    """

    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    mirror_env = "MINICNN_FASHION_MNIST_MIRROR"
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    install_hint = "On Debian or Ubuntu, `apt-get install dataset-fashion-mnist` installs the files."
    # SHA-256 of the decompressed files, as published by several independent projects for the
    # archives whose gzip MD5s match Zalando's (8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...).
    resources = {
        "train": (
            ("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            ("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        ),
        "test": (
            ("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            ("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        ),
    }
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    mean = (0.2860,)
    std = (0.3530,)


class KMNIST(MNIST):
    """Kuzushiji-MNIST (Clanuwat et al. 2018): 28 x 28 grey images of 10 cursive Japanese
    (kuzushiji) hiragana, one per row of the syllabary; MNIST's format and split sizes.

    Same arguments and attributes as :class:`MNIST`; files go to ``root/KMNIST/raw/``
    (torchvision's layout), from CODH's site (torchvision's mirror) or
    ``$MINICNN_KMNIST_MIRROR``. The published checksums are of the ``.gz`` files, so those
    are what is read and verified (:attr:`gz_checksums`).
    """

    mirrors = ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",)
    mirror_env = "MINICNN_KMNIST_MIRROR"
    gz_checksums = True
    # SHA-256 of the .gz files as published, from pytorch/vision
    # torchvision/prototype/datasets/_builtin/mnist.py (class KMNIST, _CHECKSUMS) and, the same
    # values, ankane/torchvision-ruby lib/torchvision/datasets/kmnist.rb. (torchvision's
    # KMNIST lists MD5s of the same files: bdb82020..., e144d726..., 5c965bf0..., 7320c461....)
    resources = {
        "train": (
            ("train-images-idx3-ubyte", "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"),
            ("train-labels-idx1-ubyte", "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"),
        ),
        "test": (
            ("t10k-images-idx3-ubyte", "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"),
            ("t10k-labels-idx1-ubyte", "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"),
        ),
    }
    classes = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")  # torchvision's names
    # Of the training pixels in [0, 1], as most KMNIST code normalises (0.1904/0.3475 also circulates).
    mean = (0.1918,)
    std = (0.3483,)
