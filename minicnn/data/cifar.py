"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009), read from their *binary* versions: no pickle.

The archives ``cifar-10-binary.tar.gz`` and ``cifar-100-binary.tar.gz`` from
https://www.cs.toronto.edu/~kriz/ hold fixed-size records, one per image::

    CIFAR-10   1 byte label (0-9)                                   + 3072 pixel bytes
    CIFAR-100  1 byte coarse label (0-19), 1 byte fine label (0-99) + 3072 pixel bytes

The 3072 pixel bytes are the red, green and blue planes, 32 x 32 each, rows first. So a file
of N records is N x 3073 (3074) bytes and parses with one ``np.frombuffer``; ``data`` is
(N, 32, 32, 3) uint8 (channels last, torchvision's layout) and ``targets`` (N,) int64.

Files: ``root/cifar-10-batches-bin/`` (``root/cifar-100-binary/``), the folder the archive
holds, or ``root`` itself. Missing files are extracted from ``root/<archive>`` if it is
there, else downloaded (``download=True``) into ``root/`` first. The archive must have its
published SHA-256 before anything is taken from it, and extraction writes only the member
names listed in the class (regular files inside the one expected folder); any other member
(another name, a path that leaves the folder, a link, a device) rejects the archive with an
error naming it and the member, before anything is written.

Every data file is checked whether it was extracted or found: its size must be a whole
number of records, the number this split has; every label must be a class index; and its
bytes must have the published SHA-256. Each failure is a :class:`CIFARError` or a
:class:`~minicnn.data.errors.ChecksumError` naming the file: never a silently wrong dataset.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import OFFLINE_ENV, ImageArrayDataset, default_root, not_found_message
from .download import check_file_sha256, download_verified, mirror_list, write_atomic
from .errors import DatasetNotFoundError, DownloadError
from .idx import check_digest

PIXELS = 3 * 32 * 32
"""Pixel bytes per record: three 32 x 32 planes."""


class CIFARError(ValueError):
    """A malformed CIFAR binary file (size, labels) or an archive with unexpected members."""


def read_cifar_binary(
    path: str | os.PathLike,
    *,
    label_bytes: int,
    num_classes: Sequence[int],
    records: int | None = None,
    sha256: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse one CIFAR binary file: images (N, 32, 32, 3) uint8, labels (N, label_bytes) int64.

    ``num_classes[j]`` bounds the j-th label byte of each record (CIFAR-10: ``(10,)``,
    CIFAR-100: ``(20, 100)``, coarse then fine). ``records``: the number of records the file
    must hold. ``sha256``: the hex SHA-256 its bytes must have. Raises :class:`CIFARError`
    for a size that is not ``records`` whole records or a label out of range, and
    :class:`ChecksumError` for a wrong checksum, each naming ``path``.
    """
    if len(num_classes) != label_bytes:
        raise ValueError(f"read_cifar_binary: {label_bytes} label bytes need {label_bytes} class counts")
    size = label_bytes + PIXELS
    # the size on disk is checked before anything is read: a huge wrong file is never loaded
    n, rest = divmod(Path(path).stat().st_size, size)
    _check_records(path, n, rest, size, label_bytes, records)
    buf = Path(path).read_bytes()
    n, rest = divmod(len(buf), size)  # (again: the file may have changed since)
    _check_records(path, n, rest, size, label_bytes, records)
    rows = np.frombuffer(buf, dtype=np.uint8).reshape(n, size)
    labels = rows[:, :label_bytes]
    for j, limit in enumerate(num_classes):
        bad = np.flatnonzero(labels[:, j] >= limit)
        if bad.size:
            which = f"label byte {j + 1} of {label_bytes}" if label_bytes > 1 else "label"
            raise CIFARError(
                f"{path}: record {int(bad[0])}: {which} is {int(labels[bad[0], j])}, not a class index below "
                f"{limit} ({bad.size} such records); the file is corrupt or not this dataset's file"
            )
    if sha256 is not None:
        check_digest(hashlib.sha256(buf).hexdigest(), sha256, source=str(path), what="the file")
    # planes (N, 3, 32, 32) -> channels last (N, 32, 32, 3), contiguous
    images = np.ascontiguousarray(rows[:, label_bytes:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels.astype(np.int64)


def _check_records(path: Any, n: int, rest: int, size: int, label_bytes: int, records: int | None) -> None:
    """CIFARError unless a file of ``n`` records of ``size`` bytes plus ``rest`` bytes is whole,
    non-empty and (if given) ``records`` long."""
    if rest or n == 0:
        raise CIFARError(
            f"{path}: {n * size + rest} bytes is not a whole, non-zero number of {size}-byte records "
            f"({label_bytes} label byte(s) + {PIXELS} pixel bytes): truncated, or not this dataset's file"
        )
    if records is not None and n != records:
        raise CIFARError(f"{path}: holds {n} records of {size} bytes, this file has {records}")


def extract_members(archive: str | os.PathLike, dest: str | os.PathLike, folder: str, names: Sequence[str]) -> None:
    """Extract ``folder/<name>`` for each of ``names`` present in the tar ``archive`` into ``dest``.

    Every member must be the directory ``folder`` or a regular file ``folder/<name>`` with
    ``name`` in ``names``; the first that is not (another name, ``..``, an absolute path, a
    link, a device) raises :class:`CIFARError` naming the archive and the member, before
    anything is written. Each file is written atomically (never a partial file under its name).
    """
    allowed = {f"{folder}/{name}" for name in names}
    archive = Path(archive)
    with _reading(archive):
        tar = tarfile.open(archive, "r:*")
    with tar:
        with _reading(archive):
            members = tar.getmembers()
        for m in members:
            if m.isdir() and m.name.rstrip("/") == folder:
                continue
            if not (m.isfile() and m.name in allowed):
                kind = "file" if m.isfile() else "directory" if m.isdir() else "link or special file"
                raise CIFARError(
                    f"{archive}: unexpected archive member {m.name!r} ({kind}); only the regular files "
                    f"{folder}/{{{', '.join(names)}}} are extracted: the archive is not the published one"
                )
        out = Path(dest) / folder
        out.mkdir(parents=True, exist_ok=True)
        for m in members:
            if m.isfile():
                with _reading(archive):
                    source = tar.extractfile(m)
                    content = source.read() if source is not None else b""
                write_atomic(out / m.name.rsplit("/", 1)[1], content)


@contextmanager
def _reading(archive: Path) -> Iterator[None]:
    """Turn the errors of reading a broken archive into one CIFARError naming it."""
    try:
        yield
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise CIFARError(
            f"{archive}: corrupt archive ({type(exc).__name__}: {exc}); delete it and fetch it again"
        ) from exc


class CIFAR10(ImageArrayDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32 x 32, in 10 classes.

    Args (torchvision's, in its order; minicnn downloads by default, as its MNIST):
        root: the data directory: files in ``root/cifar-10-batches-bin/`` or ``root/``, the
            archive in ``root/``; None: ``$MINICNN_DATA`` or ``~/.cache/minicnn``.
        train: the training split (``data_batch_1.bin`` ... ``data_batch_5.bin``), else the
            test split (``test_batch.bin``).
        transform: applied to each image (32, 32, 3) uint8, e.g. ``transforms.ToTensor()``
            (which makes it (3, 32, 32) float32 in [0, 1]); a transform that declares
            ``batched = True`` runs once per batch in :meth:`get_batch`.
        target_transform: applied to each label (a Python int).
        download: fetch the archive if files are missing (``$MINICNN_OFFLINE`` forbids it).
        mirrors: base URLs serving the archive instead of ``mirrors``
            (``$MINICNN_CIFAR10_MIRROR`` still comes first).
        timeout: network timeout in seconds (default ``$MINICNN_DOWNLOAD_TIMEOUT`` or 15).
        progress: show a progress bar while downloading (on a terminal).

    Attributes: ``data`` (N, 32, 32, 3) uint8, ``targets`` (N,) int64 (torchvision has a
    list of ints; the values are the same), ``classes``, ``files`` (the files read),
    ``mean``, ``std`` (per channel, of the training pixels scaled to [0, 1]).

    Raises:
        DatasetNotFoundError: files missing and not obtainable; says what to do.
        CIFARError, ChecksumError: a file or the archive is corrupt or not the expected one.
    """

    base_folder = "cifar-10-batches-bin"
    archive = "cifar-10-binary.tar.gz"
    # SHA-256 of cifar-10-binary.tar.gz: ankane/torchvision-ruby lib/torchvision/datasets/cifar10.rb
    # (tgz_sha256); the same in gomlx/gomlx examples/cifar/cifar.go (DownloadCifar10).
    archive_sha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
    mirrors: tuple[str, ...] = ("https://www.cs.toronto.edu/~kriz/",)
    mirror_env = "MINICNN_CIFAR10_MIRROR"
    # (file, SHA-256 of the file, records): from ankane/torchvision-ruby
    # lib/torchvision/datasets/cifar10.rb (train_list, test_list), which reads these files.
    resources: dict[str, tuple[tuple[str, str, int], ...]] = {
        "train": (
            ("data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5", 10000),
            ("data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed", 10000),
            ("data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67", 10000),
            ("data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48", 10000),
            ("data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add", 10000),
        ),
        "test": (("test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b", 10000),),
    }
    other_members: tuple[str, ...] = ("batches.meta.txt", "readme.html")
    """Members of the archive besides the data files, extracted too (never read)."""
    label_bytes = 1
    num_classes: tuple[int, ...] = (10,)
    classes: tuple[str, ...] = (
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    )  # fmt: skip
    # Per channel (R, G, B), of the training pixels in [0, 1]; the widely used values
    # (125.3, 123.0, 113.9) / 255 and (63.0, 62.1, 66.7) / 255 to one more digit.
    mean: tuple[float, ...] = (0.4914, 0.4822, 0.4465)
    std: tuple[float, ...] = (0.2470, 0.2435, 0.2616)

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        download: bool = True,
        *,
        mirrors: Sequence[str] | None = None,
        timeout: float | None = None,
        progress: bool = True,
    ) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        self.files = self._locate(download, mirrors, timeout, progress)
        images, labels = [], []
        for path, (_, sha, records) in zip(self.files, self.resources[self.split]):
            x, y = read_cifar_binary(
                path, label_bytes=self.label_bytes, num_classes=self.num_classes, records=records, sha256=sha
            )
            images.append(x)
            labels.append(y)
        self.data = np.concatenate(images) if len(images) > 1 else images[0]
        self._set_targets(np.concatenate(labels) if len(labels) > 1 else labels[0])

    def _set_targets(self, labels: np.ndarray) -> None:
        """``labels`` (N, label_bytes) -> the attributes (CIFAR-10: ``targets``)."""
        self.targets = np.ascontiguousarray(labels[:, -1])

    def search_dirs(self) -> list[Path]:
        """The directories searched for the data files, in order."""
        return list(dict.fromkeys([self.root / self.base_folder, self.root]))

    def _find(self, name: str) -> Path | None:
        for directory in self.search_dirs():
            if (directory / name).is_file():
                return directory / name
        return None

    def _locate(
        self, download: bool, mirrors: Sequence[str] | None, timeout: float | None, progress: bool
    ) -> tuple[Path, ...]:
        """The split's data files; extracting them from the archive, downloaded if need be."""
        names = [name for name, _, _ in self.resources[self.split]]
        found = [self._find(name) for name in names]
        if all(path is not None for path in found):
            return tuple(found)  # type: ignore[arg-type]
        archive = self.root / self.archive
        failure = ""
        if not archive.is_file():
            if download and os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
                download, failure = False, f"${OFFLINE_ENV} is set"
            if download:
                urls = mirror_list(self.mirrors, self.mirror_env, mirrors)
                try:
                    download_verified(
                        self.archive,
                        urls,
                        self.root,
                        None,
                        file_sha256=self.archive_sha256,
                        timeout=timeout,
                        progress=progress,
                    )
                except DownloadError as exc:
                    failure = str(exc)
            if not archive.is_file():
                missing = [n for n, p in zip(names, found) if p is None]
                raise DatasetNotFoundError(self._not_found_message(missing, download, failure))
        else:
            check_file_sha256(archive, self.archive_sha256)
        members = [name for split in self.resources.values() for name, _, _ in split] + list(self.other_members)
        extract_members(archive, self.root, self.base_folder, members)
        return tuple(self.root / self.base_folder / name for name in names)

    def _not_found_message(self, missing: list[str], download: bool, failure: str) -> str:
        return not_found_message(
            self,
            f"{', '.join(missing)}, and no {self.archive} in {self.root}",
            download,
            failure,
            fetches="the archive",
            where=f"{self.archive} or the folder {self.base_folder}/ it holds",
            serves=self.archive,
        )


class CIFAR100(CIFAR10):
    """CIFAR-100: as CIFAR-10 but 100 fine classes, grouped into 20 coarse superclasses.

    Same arguments as :class:`CIFAR10`; files in ``root/cifar-100-binary/`` (``train.bin``,
    ``test.bin``), the archive ``cifar-100-binary.tar.gz``, mirror variable
    ``$MINICNN_CIFAR100_MIRROR``. ``targets`` are the fine labels (0-99, as torchvision's);
    ``coarse_targets`` (N,) int64 the superclasses (0-19), named by ``coarse_classes``.
    """

    base_folder = "cifar-100-binary"
    archive = "cifar-100-binary.tar.gz"
    # SHA-256 of cifar-100-binary.tar.gz: ankane/torchvision-ruby lib/torchvision/datasets/cifar100.rb
    # (tgz_sha256); the same in gomlx/gomlx examples/cifar/cifar.go (DownloadCifar100).
    archive_sha256 = "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"
    mirror_env = "MINICNN_CIFAR100_MIRROR"
    # From ankane/torchvision-ruby lib/torchvision/datasets/cifar100.rb (train_list, test_list).
    resources = {
        "train": (("train.bin", "f31298fc616915fa142368359df1c4ca2ae984d6915ca468b998a5ec6aeebf29", 50000),),
        "test": (("test.bin", "d8b1e6b7b3bee4020055f0699b111f60b1af1e262aeb93a0b659061746f8224a", 10000),),
    }
    other_members = ("coarse_label_names.txt", "fine_label_names.txt")
    label_bytes = 2
    num_classes = (20, 100)
    classes = (
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger",
        "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    )  # fmt: skip
    coarse_classes: tuple[str, ...] = (
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
        "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
        "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
        "vehicles_1", "vehicles_2",
    )  # fmt: skip
    mean = (0.5071, 0.4865, 0.4409)
    std = (0.2673, 0.2564, 0.2762)

    def _set_targets(self, labels: np.ndarray) -> None:
        self.coarse_targets = np.ascontiguousarray(labels[:, 0])
        self.targets = np.ascontiguousarray(labels[:, 1])
