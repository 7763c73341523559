"""KMNIST, CIFAR-10 and CIFAR-100 on small synthetic files in the exact formats.

No real dataset is used: each test writes a few records (IDX .gz files, CIFAR binary
records in a .tar.gz) into tmp_path, serves them from an ``http.server`` on 127.0.0.1 where
a download is tested, and overrides the published checksums with the synthetic files' own,
as tests/test_data_download.py does for Fashion-MNIST. torchvision is the oracle where it can
read the same data: KMNIST's folder directly, CIFAR through its pickled "python version"
written here from the same arrays (torchvision cannot read the binary version).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.data import transforms
from minicnn.data.cifar import CIFAR10, CIFAR100, CIFARError, read_cifar_binary
from minicnn.data.datasets import KMNIST, MNIST
from minicnn.data.download import download_verified
from minicnn.data.errors import ChecksumError, DatasetNotFoundError
from minicnn.data.idx import write_idx


@pytest.fixture(autouse=True)
def no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "MINICNN_KMNIST_MIRROR", "MINICNN_CIFAR10_MIRROR", "MINICNN_CIFAR100_MIRROR",
        "MINICNN_DOWNLOAD_TIMEOUT", "MINICNN_DATA", "MINICNN_OFFLINE",
    ):  # fmt: skip
        monkeypatch.delenv(var, raising=False)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- loopback server ----------------------------------------------------------------------


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""

    def make(*args: object, **kwargs: object) -> Quiet:
        return Quiet(*args, directory=str(directory), **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), make)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- synthetic CIFAR ----------------------------------------------------------------------


def records(images: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR binary records: the label byte(s), then the R, G and B planes (32 x 32, rows first).

    ``images`` (N, 32, 32, 3) uint8, ``labels`` (N, label_bytes).
    """
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return np.concatenate([labels.astype(np.uint8), planes], axis=1).tobytes()


def make_tar(path: Path, members: dict[str, bytes], folder: str | None = None) -> bytes:
    """A .tar.gz holding ``members`` (name -> content), after a directory entry ``folder``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        if folder is not None:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


class Synthetic:
    """A small CIFAR-10 or CIFAR-100: arrays, binary files, archive, and the class patched to them."""

    def __init__(self, cls: type[CIFAR10], counts: dict[str, list[int]], seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.cls = cls
        self.files: dict[str, bytes] = {}
        self.images: dict[str, np.ndarray] = {}
        self.labels: dict[str, np.ndarray] = {}
        resources = {}
        for split, names in cls.resources.items():
            entries, xs, ys = [], [], []
            for (name, _, _), n in zip(names, counts[split]):
                x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
                y = np.stack([rng.integers(0, k, n) for k in cls.num_classes], axis=1)
                self.files[name] = records(x, y)
                entries.append((name, sha256(self.files[name]), n))
                xs.append(x)
                ys.append(y)
            resources[split] = tuple(entries)
            self.images[split], self.labels[split] = np.concatenate(xs), np.concatenate(ys)
        self.resources = resources
        self.members = {f"{cls.base_folder}/{n}": c for n, c in self.files.items()}
        self.members.update({f"{cls.base_folder}/{n}": b"names\n" for n in cls.other_members})

    def write_archive(self, site: Path, members: dict[str, bytes] | None = None) -> str:
        site.mkdir(parents=True, exist_ok=True)
        content = make_tar(site / self.cls.archive, members or self.members, folder=self.cls.base_folder)
        return sha256(content)

    def patch(self, monkeypatch: pytest.MonkeyPatch, archive_sha256: str) -> None:
        monkeypatch.setattr(self.cls, "resources", self.resources)
        monkeypatch.setattr(self.cls, "archive_sha256", archive_sha256)


COUNTS10 = {"train": [3, 2, 4, 1, 2], "test": [5]}
COUNTS100 = {"train": [6], "test": [4]}


def test_cifar10_downloads_verifies_extracts_and_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syn = Synthetic(CIFAR10, COUNTS10)
    syn.patch(monkeypatch, syn.write_archive(tmp_path / "site"))
    root = tmp_path / "root"
    with serve(tmp_path / "site") as url:
        train = CIFAR10(root, train=True, mirrors=[url], progress=False)
    folder = root / "cifar-10-batches-bin"
    assert (root / "cifar-10-binary.tar.gz").read_bytes() == (tmp_path / "site" / "cifar-10-binary.tar.gz").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted([*syn.files, *CIFAR10.other_members])
    assert train.files == tuple(folder / f"data_batch_{i}.bin" for i in range(1, 6))
    assert train.data.shape == (12, 32, 32, 3) and train.data.dtype == np.uint8 and train.data.flags.c_contiguous
    assert train.targets.shape == (12,) and train.targets.dtype == np.int64
    np.testing.assert_array_equal(train.data, syn.images["train"])  # the batches, in order
    np.testing.assert_array_equal(train.targets, syn.labels["train"][:, 0])
    # present now: no server needed, for either split
    test = CIFAR10(root, train=False, download=False)
    np.testing.assert_array_equal(test.data, syn.images["test"])
    np.testing.assert_array_equal(test.targets, syn.labels["test"][:, 0])
    assert len(test) == 5 and "Split: Test" in repr(test)
    assert not [p for p in root.rglob(".*")]  # no temporary files left


def test_cifar100_fine_targets_coarse_attribute_and_local_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syn = Synthetic(CIFAR100, COUNTS100, seed=1)
    syn.patch(monkeypatch, syn.write_archive(tmp_path))  # the archive already in root: extracted, no download
    ds = CIFAR100(tmp_path, train=True, download=False)
    assert ds.files == (tmp_path / "cifar-100-binary" / "train.bin",)
    np.testing.assert_array_equal(ds.data, syn.images["train"])
    np.testing.assert_array_equal(ds.targets, syn.labels["train"][:, 1])  # fine
    np.testing.assert_array_equal(ds.coarse_targets, syn.labels["train"][:, 0])
    assert ds.targets.dtype == ds.coarse_targets.dtype == np.int64
    assert len(CIFAR100.classes) == len(set(CIFAR100.classes)) == 100 and list(CIFAR100.classes) == sorted(
        CIFAR100.classes
    )
    assert len(CIFAR100.coarse_classes) == 20 and len(CIFAR10.classes) == 10
    # the extracted folder alone suffices, as root or inside root
    (tmp_path / "cifar-100-binary.tar.gz").unlink()
    flat = CIFAR100(tmp_path / "cifar-100-binary", train=False, download=False)
    np.testing.assert_array_equal(flat.targets, syn.labels["test"][:, 1])


def write_python_version(syn: Synthetic, root: Path) -> type:
    """The same arrays as torchvision's pickled CIFAR, and a torchvision class that reads them."""
    import torchvision

    tv_base = torchvision.datasets.CIFAR100 if syn.cls is CIFAR100 else torchvision.datasets.CIFAR10
    folder = root / tv_base.base_folder
    folder.mkdir(parents=True)

    def dump(name: str, obj: dict) -> list[str]:
        content = pickle.dumps(obj)
        (folder / name).write_bytes(content)
        return [name, hashlib.md5(content).hexdigest()]

    lists: dict[str, list] = {"train": [], "test": []}
    for split, (name, _, _) in ((s, e) for s in ("train", "test") for e in syn.resources[s]):
        planes = np.frombuffer(syn.files[name], np.uint8).reshape(-1, 3072 + len(syn.cls.num_classes))
        labels = planes[:, : len(syn.cls.num_classes)].astype(int)
        entry = {"data": planes[:, len(syn.cls.num_classes) :].copy()}
        if syn.cls is CIFAR100:
            entry.update(fine_labels=labels[:, 1].tolist(), coarse_labels=labels[:, 0].tolist())
        else:
            entry["labels"] = labels[:, 0].tolist()
        tv_name = {"test_batch.bin": "test_batch", "train.bin": "train", "test.bin": "test"}.get(name, name[:-4])
        lists[split].append(dump(tv_name, entry))
    key = tv_base.meta["key"]
    meta = dump(tv_base.meta["filename"], {key: list(syn.cls.classes)})
    return type(
        "TV",
        (tv_base,),
        {"train_list": lists["train"], "test_list": lists["test"], "meta": {**tv_base.meta, "md5": meta[1]}},
    )


@pytest.mark.parametrize("cls", [CIFAR10, CIFAR100])
def test_data_targets_items_and_transforms_like_torchvision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cls: type[CIFAR10]
) -> None:
    import torch
    import torchvision.transforms as T

    syn = Synthetic(cls, COUNTS100 if cls is CIFAR100 else COUNTS10, seed=2)
    syn.patch(monkeypatch, syn.write_archive(tmp_path / "ours"))
    tv_cls = write_python_version(syn, tmp_path / "theirs")
    for train in (True, False):
        ours = cls(tmp_path / "ours", train=train, download=False)
        theirs = tv_cls(str(tmp_path / "theirs"), train=train)
        np.testing.assert_array_equal(ours.data, theirs.data)
        assert ours.data.shape == theirs.data.shape and ours.data.dtype == theirs.data.dtype
        assert ours.targets.tolist() == theirs.targets and len(ours) == len(theirs)
        assert list(ours.classes) == theirs.classes
    # ds[i] with transforms: torchvision's on its PIL image, ours on the array
    mean, std = cls.mean, cls.std
    ours = cls(
        tmp_path / "ours",
        train=True,
        download=False,
        transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)]),
        target_transform=lambda y: y + 1000,
    )
    theirs = tv_cls(
        str(tmp_path / "theirs"),
        train=True,
        transform=T.Compose([T.ToTensor(), T.Normalize(mean, std)]),
        target_transform=lambda y: y + 1000,
    )
    for i in (0, len(ours) - 1, -1):
        (x, y), (tx, ty) = ours[i], theirs[i]
        assert x.shape == (3, 32, 32) and x.dtype == np.float32
        np.testing.assert_allclose(x, tx.numpy(), rtol=1e-6, atol=1e-6)
        assert y == ty and isinstance(y, int)
    # the batched path (DataLoader) gives the same samples, stacked
    batch, labels = ours.get_batch(np.array([2, 0, 1]))
    np.testing.assert_allclose(batch, torch.stack([theirs[i][0] for i in (2, 0, 1)]).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(labels, [theirs[i][1] for i in (2, 0, 1)])
    with pytest.raises(IndexError):
        ours[len(ours)]
    raw = cls(tmp_path / "ours", train=True, download=False)
    image, _ = raw[0]
    image[:] = 0  # a copy
    assert raw.data[0].any()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), label_bytes=st.sampled_from([1, 2]), seed=st.integers(0, 2**32 - 1))
def test_read_cifar_binary_matches_a_record_by_record_parse(n: int, label_bytes: int, seed: int) -> None:
    import tempfile

    rng = np.random.default_rng(seed)
    limits = (10,) if label_bytes == 1 else (20, 100)
    content = bytearray(rng.integers(0, 256, n * (label_bytes + 3072), dtype=np.uint8).tobytes())
    for r in range(n):  # valid labels
        for j, k in enumerate(limits):
            content[r * (label_bytes + 3072) + j] %= k
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.bin"
        path.write_bytes(bytes(content))
        images, labels = read_cifar_binary(path, label_bytes=label_bytes, num_classes=limits, records=n)
    size = label_bytes + 3072
    for r in range(n):  # pixel (row, col, channel) sits at channel * 1024 + row * 32 + col
        rec = content[r * size : (r + 1) * size]
        assert labels[r].tolist() == list(rec[:label_bytes])
        for row, col, ch in ((0, 0, 0), (31, 31, 2), (5, 17, 1), (rng.integers(32), rng.integers(32), rng.integers(3))):
            assert images[r, row, col, ch] == rec[label_bytes + ch * 1024 + row * 32 + col]


# --- corrupt files and archives -------------------------------------------------------------


def local_cifar10(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Synthetic, Path]:
    """A synthetic CIFAR-10 extracted in tmp_path/cifar-10-batches-bin, checksums patched."""
    syn = Synthetic(CIFAR10, COUNTS10, seed=3)
    syn.patch(monkeypatch, syn.write_archive(tmp_path))
    CIFAR10(tmp_path, train=False, download=False)
    (tmp_path / CIFAR10.archive).unlink()
    return syn, tmp_path / "cifar-10-batches-bin"


def test_truncated_file_bad_label_wrong_count_wrong_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syn, folder = local_cifar10(tmp_path, monkeypatch)
    path = folder / "test_batch.bin"
    good = syn.files["test_batch.bin"]
    path.write_bytes(good[:-1])  # the last record one byte short
    with pytest.raises(CIFARError, match=rf"{path}: 15364 bytes is not a whole, non-zero number of 3073-byte"):
        CIFAR10(tmp_path, train=False, download=False)
    path.write_bytes(good[: 3 * 3073])  # whole records, but fewer than this file has
    with pytest.raises(CIFARError, match=rf"{path}: holds 3 records of 3073 bytes, this file has 5"):
        CIFAR10(tmp_path, train=False, download=False)
    path.write_bytes(b"")
    with pytest.raises(CIFARError, match="0 bytes is not a whole, non-zero number"):
        CIFAR10(tmp_path, train=False, download=False)
    bad = bytearray(good)
    bad[2 * 3073] = 10  # record 2's label
    path.write_bytes(bytes(bad))
    with pytest.raises(CIFARError, match=rf"{path}: record 2: label is 10, not a class index below 10"):
        CIFAR10(tmp_path, train=False, download=False)
    bad = bytearray(good)
    bad[100] ^= 1  # one pixel: well-formed, wrong content
    path.write_bytes(bytes(bad))
    with pytest.raises(ChecksumError, match=rf"{path}: SHA-256 of the file is"):
        CIFAR10(tmp_path, train=False, download=False)
    assert issubclass(CIFARError, ValueError)


def test_a_huge_wrong_file_is_refused_by_its_size_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data file of the wrong size (here 1 GiB, sparse) is refused from its size on disk:
    its bytes are never loaded into memory."""
    _, folder = local_cifar10(tmp_path, monkeypatch)
    path = folder / "test_batch.bin"
    with open(path, "r+b") as f:
        f.truncate(2**30)
    reads: list[Path] = []
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        reads.append(self)
        if self == path:
            raise AssertionError(f"{path} was read")
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(CIFARError, match=rf"{path}: 1073741824 bytes is not a whole, non-zero number of 3073-byte"):
        CIFAR10(tmp_path, train=False, download=False)
    with open(path, "r+b") as f:
        f.truncate(3073 * 10**6)  # whole records, far more than the split has
    with pytest.raises(CIFARError, match=rf"{path}: holds 1000000 records of 3073 bytes, this file has 5"):
        CIFAR10(tmp_path, train=False, download=False)
    assert path not in reads


def test_cifar100_label_bytes_are_checked_separately(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syn = Synthetic(CIFAR100, COUNTS100, seed=4)
    syn.patch(monkeypatch, syn.write_archive(tmp_path))
    CIFAR100(tmp_path, train=False, download=False)
    path = tmp_path / "cifar-100-binary" / "test.bin"
    cases = (
        (0, 20, "record 0: label byte 1 of 2 is 20, not a class index below 20"),
        (3074 + 1, 100, "record 1: label byte 2 of 2 is 100, not a class index below 100"),
    )
    for offset, value, message in cases:
        bad = bytearray(syn.files["test.bin"])
        bad[offset] = value
        path.write_bytes(bytes(bad))
        with pytest.raises(CIFARError, match=message):
            CIFAR100(tmp_path, train=False, download=False)


def test_wrong_archive_checksum_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syn = Synthetic(CIFAR10, COUNTS10, seed=5)
    syn.write_archive(tmp_path / "site")
    syn.patch(monkeypatch, "0" * 64)
    root = tmp_path / "root"
    with serve(tmp_path / "site") as url, pytest.raises(DatasetNotFoundError) as info:
        CIFAR10(root, train=True, mirrors=[url], progress=False)
    message = str(info.value)
    assert f"{url}cifar-10-binary.tar.gz: corrupt download (SHA-256 of the file is" in message
    assert "missing data_batch_1.bin" in message and "MINICNN_CIFAR10_MIRROR=URL" in message
    assert not root.exists() or list(root.rglob("*")) == []  # no archive, no temporary file, no extraction
    # a local archive with the wrong checksum is refused, naming it
    syn.write_archive(root)
    with pytest.raises(ChecksumError, match=rf"{root / 'cifar-10-binary.tar.gz'}: SHA-256 of the file is"):
        CIFAR10(root, train=True, download=False)
    assert not (root / "cifar-10-batches-bin").exists()


@pytest.mark.parametrize(
    "name",
    [
        "cifar-10-batches-bin/data_batch_6.bin",  # an unexpected name in the folder
        "cifar-10-batches-bin/../evil.bin",  # leaves the folder
        "../evil.bin",
        "/tmp/evil.bin",
        "other/data_batch_1.bin",
    ],
)
def test_archive_with_an_unexpected_member_is_rejected_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    syn = Synthetic(CIFAR10, COUNTS10, seed=6)
    root = tmp_path / "a" / "root"
    syn.patch(monkeypatch, syn.write_archive(root, {**syn.members, name: b"x" * 10}))
    with pytest.raises(CIFARError, match=rf"cifar-10-binary.tar.gz: unexpected archive member {name!r} \(file\)"):
        CIFAR10(root, train=True, download=False)
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-binary.tar.gz"]  # nothing extracted
    assert not (tmp_path / "a" / "evil.bin").exists()


def test_archive_with_a_link_or_broken_gzip_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syn = Synthetic(CIFAR10, COUNTS10, seed=7)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        link = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    (tmp_path / CIFAR10.archive).write_bytes(buf.getvalue())
    syn.patch(monkeypatch, sha256(buf.getvalue()))
    with pytest.raises(CIFARError, match=r"unexpected archive member 'cifar-10-batches-bin/data_batch_1.bin' \(link"):
        CIFAR10(tmp_path, train=True, download=False)
    assert not (tmp_path / "cifar-10-batches-bin").exists()
    broken = gzip.compress(b"not a tar file at all" * 100)
    (tmp_path / CIFAR10.archive).write_bytes(broken)
    syn.patch(monkeypatch, sha256(broken))
    with pytest.raises(CIFARError, match=rf"{tmp_path / CIFAR10.archive}: corrupt archive"):
        CIFAR10(tmp_path, train=True, download=False)


def test_missing_cifar_says_where_and_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        CIFAR100(tmp_path, train=True, download=False)
    message = str(info.value)
    assert "CIFAR100 (train split): missing train.bin, and no cifar-100-binary.tar.gz in" in message
    assert f"  {tmp_path / 'cifar-100-binary'}\n  {tmp_path}\n" in message and "--data-dir DIR" in message
    monkeypatch.setenv("MINICNN_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match=r"\$MINICNN_OFFLINE is set, so nothing was downloaded"):
        CIFAR10(tmp_path, train=False)


def test_published_constants() -> None:
    assert CIFAR10.mirrors == CIFAR100.mirrors == ("https://www.cs.toronto.edu/~kriz/",)
    assert (CIFAR10.archive, CIFAR100.archive) == ("cifar-10-binary.tar.gz", "cifar-100-binary.tar.gz")
    assert [len(v) for v in CIFAR10.resources.values()] == [5, 1]
    assert sum(n for split in CIFAR10.resources.values() for _, _, n in split) == 60000
    assert [n for split in CIFAR100.resources.values() for _, _, n in split] == [50000, 10000]
    for cls in (CIFAR10, CIFAR100):
        assert len(cls.mean) == len(cls.std) == 3
        for _, sha, _ in (e for split in cls.resources.values() for e in split):
            assert len(sha) == 64 and int(sha, 16) >= 0
    # torchvision's KMNIST: its mirror, classes and layout
    import torchvision

    assert list(KMNIST.mirrors) == torchvision.datasets.KMNIST.mirrors
    assert list(KMNIST.classes) == torchvision.datasets.KMNIST.classes
    assert [r[0] + ".gz" for s in ("train", "test") for r in KMNIST.resources[s]] == [
        name for name, _ in torchvision.datasets.KMNIST.resources
    ]


# --- KMNIST -------------------------------------------------------------------------------


def kmnist_site(site: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    """Four small KMNIST-format .gz files in ``site``; KMNIST's checksums patched to theirs."""
    rng = np.random.default_rng(8)
    site.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 7).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3).astype(np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(site / f"{stem}.gz", array)
    resources = {
        split: tuple((stem, sha256((site / f"{stem}.gz").read_bytes())) for stem, _ in KMNIST.resources[split])
        for split in ("train", "test")
    }
    monkeypatch.setattr(KMNIST, "resources", resources)
    return arrays


def test_kmnist_download_verifies_the_gz_files_and_torchvision_reads_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision

    arrays = kmnist_site(tmp_path / "site", monkeypatch)
    root = tmp_path / "root"
    with serve(tmp_path / "site") as url:
        train = KMNIST(root, train=True, mirrors=[url], progress=False)
        test = KMNIST(root, train=False, mirrors=[url], progress=False)
    raw = root / "KMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted([*arrays, *(f"{s}.gz" for s in arrays)])
    assert train.files == (raw / "train-images-idx3-ubyte.gz", raw / "train-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(train.data, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(test.targets, arrays["t10k-labels-idx1-ubyte"])
    assert train.targets.dtype == np.int64 and KMNIST.mean == (0.1918,) and len(KMNIST.std) == 1
    for split, ours in ((True, train), (False, test)):
        theirs = torchvision.datasets.KMNIST(str(root), train=split, download=False)
        np.testing.assert_array_equal(theirs.data.numpy(), ours.data)
        np.testing.assert_array_equal(theirs.targets.numpy(), ours.targets)
    # a .gz file changed after download is refused by its checksum (the published one is of the .gz bytes)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(arrays["t10k-labels-idx1-ubyte"].tobytes()))
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 of the file is"):
        KMNIST(root, train=False, download=False)


def test_kmnist_mirror_sending_other_bytes_is_refused_and_uncompressed_files_alone_are_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = kmnist_site(tmp_path / "site", monkeypatch)
    # same content, recompressed: other .gz bytes, so not the published file
    bad = tmp_path / "bad"
    bad.mkdir()
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (bad / f"{stem}.gz").write_bytes(
            gzip.compress(gzip.decompress((tmp_path / "site" / f"{stem}.gz").read_bytes()))
        )
    root = tmp_path / "root"
    with serve(bad) as url, pytest.raises(DatasetNotFoundError) as info:
        KMNIST(root, train=False, mirrors=[url], progress=False)
    assert "corrupt download (SHA-256 of the file is" in str(info.value)
    assert not (root / "KMNIST" / "raw").exists() or list((root / "KMNIST" / "raw").iterdir()) == []
    # the uncompressed files alone: not verifiable, so not used
    flat = tmp_path / "flat"
    flat.mkdir()
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        write_idx(flat / stem, arrays[stem])
    with pytest.raises(DatasetNotFoundError, match="the .gz files: their published checksums"):
        KMNIST(flat, train=False, download=False)
    assert len(MNIST.resources) == 2 and not MNIST.gz_checksums  # MNIST unchanged: content checksums


def test_download_verified_needs_a_checksum_and_checks_file_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="give sha256 or file_sha256"):
        download_verified("x.gz", ["http://127.0.0.1:9/"], tmp_path, None)
    site = tmp_path / "site"
    site.mkdir()
    content = gzip.compress(b"hello", mtime=0)
    (site / "x.gz").write_bytes(content)
    with serve(site) as url:
        path = download_verified(
            "x.gz", [url], tmp_path / "out", sha256(b"hello"), file_sha256=sha256(content), progress=False
        )
        assert path.read_bytes() == content
        with pytest.raises(Exception, match="SHA-256 of the file is"):
            download_verified("x.gz", [url], tmp_path / "out2", None, file_sha256="1" * 64, progress=False)
    assert not (tmp_path / "out2" / "x.gz").exists()


# --- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize(("dataset", "cls", "classes"), [("cifar10", CIFAR10, 10), ("cifar100", CIFAR100, 100)])
def test_cli_trains_resnet18_on_cifar_for_one_step(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    dataset: str,
    cls: type[CIFAR10],
    classes: int,
) -> None:
    import minicnn as mc
    from minicnn import trainer
    from minicnn.__main__ import main

    syn = Synthetic(cls, COUNTS100 if cls is CIFAR100 else COUNTS10, seed=9)
    syn.patch(monkeypatch, syn.write_archive(tmp_path / "data"))
    monkeypatch.setenv("MINICNN_OFFLINE", "1")
    plotted = []  # the plots (tests/test_train.py checks them) cost more than the step: recorded instead
    monkeypatch.setattr(trainer, "write_plots", lambda out, history, model, log: plotted.append(len(history)))
    out = tmp_path / "run"
    args = ["train", "resnet18", "--dataset", dataset, "--data-dir", str(tmp_path / "data"), "--out", str(out)]
    small = ["--limit-train", "4", "--limit-test", "2", "--batch-size", "4", "--epochs", "1", "--no-progress"]
    assert main(args + small) == 0
    ckpt = mc.load(out / "checkpoint-epoch1.npz")
    assert ckpt["config"]["dataset"] == dataset and ckpt["optimizer"]["state"]  # one step taken
    assert ckpt["model"]["fc.weight"].shape == (classes, 512)
    assert plotted == [1]
    # eval rebuilds the model with the dataset's class count
    assert main(["eval", str(out / "checkpoint-epoch1.npz"), "--data-dir", str(tmp_path / "data")]) == 0
    assert f"resnet18 on {dataset} test set (2 images)" in capsys.readouterr().out


def test_cli_refuses_lenet5_on_cifar_and_accepts_the_new_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from minicnn.__main__ import _parser, main

    monkeypatch.setenv("MINICNN_OFFLINE", "1")
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "empty"))
    for name in ("mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100"):
        assert _parser().parse_args(["train", "--dataset", name]).dataset == name
    with pytest.raises(SystemExit) as info:
        main(["train", "lenet5", "--dataset", "cifar10", "--out", str(tmp_path / "run"), "--no-progress"])
    message = str(info.value.code)
    assert "lenet5 takes 1-channel images (1, 28, 28), dataset cifar10 has 3-channel images (3, 32, 32)" in message
    assert "resnet18" in message and "mobilenet_v2" in message
    # kmnist has MNIST's shape: lenet5 fits, and the missing data is the error
    assert main(["train", "lenet5", "--dataset", "kmnist", "--out", str(tmp_path / "run2"), "--no-progress"]) == 2
    assert "KMNIST (train split): missing train-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_a_transform_in_torchvisions_third_place_is_refused(tmp_path) -> None:
    """torchvision's MNIST family takes (root, train, transform, ...); minicnn's contract puts
    download third, so a callable there is an error, not a silently ignored transform."""
    with pytest.raises(TypeError, match="KMNIST: the third argument is download"):
        KMNIST(tmp_path, True, lambda im: im)
