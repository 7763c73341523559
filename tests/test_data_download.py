"""Getting MNIST: finding the files locally, verifying them, downloading them from loopback mirrors.

The real MNIST files come from ../shared/data/mnist (or $MINICNN_TEST_MNIST). Downloads are
served by an ``http.server`` on 127.0.0.1 in a thread; nothing here touches any other address.
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn.data import (
    MNIST,
    ChecksumError,
    DataLoader,
    DatasetNotFoundError,
    DownloadError,
    FashionMNIST,
    IDXError,
    default_root,
    download_verified,
    transforms,
)
from minicnn.data.download import download_timeout, mirror_list

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Class counts of the digit 1, a well-known property of MNIST (LeCun et al.).
ONES_TRAIN, ONES_TEST = 6742, 1135


@pytest.fixture(scope="module")
def mnist_dir() -> Path:
    """The directory with the four real MNIST .gz files; a clear failure if it is absent."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    path = Path(os.environ.get("MINICNN_TEST_MNIST", default))
    missing = [f for f in FILES if not (path / f"{f}.gz").is_file()]
    if missing:
        pytest.fail(f"the real MNIST files are needed in {path} (or set MINICNN_TEST_MNIST); missing: {missing}")
    return path


@pytest.fixture(autouse=True)
def no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not see the user's mirror, timeout or data root."""
    for var in ("MINICNN_MNIST_MIRROR", "MINICNN_FASHION_MNIST_MIRROR", "MINICNN_DOWNLOAD_TIMEOUT", "MINICNN_DATA"):
        monkeypatch.delenv(var, raising=False)


def labels_of(path: Path) -> np.ndarray:
    """Labels parsed by hand: an IDX label file is 8 header bytes, then one byte per label."""
    return np.frombuffer(gzip.decompress(path.read_bytes()), np.uint8, offset=8)


def leftovers(directory: Path) -> list[str]:
    """Hidden temporary files left in ``directory``."""
    return sorted(p.name for p in directory.glob(".*")) if directory.exists() else []


# --- loopback servers ---------------------------------------------------------------------


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler], directory: Path | None = None) -> Iterator[str]:
    """Run an HTTP server on 127.0.0.1 (a free port) in a thread; yield its base URL."""

    def make(*args: object, **kwargs: object) -> BaseHTTPRequestHandler:
        if directory is not None:
            kwargs["directory"] = str(directory)
        return handler(*args, **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), make)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mnist/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class MirrorTree(QuietFiles):
    """Serves ``directory`` under /mnist/."""

    def translate_path(self, path: str) -> str:
        return super().translate_path(path.removeprefix("/mnist"))


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


# --- downloading --------------------------------------------------------------------------


def test_download_verifies_and_loads(tmp_path: Path, mnist_dir: Path) -> None:
    with serve(MirrorTree, mnist_dir) as url:
        train = MNIST(tmp_path, train=True, mirrors=[url], progress=False)
        test = MNIST(tmp_path, train=False, mirrors=[url], progress=False)
    raw = tmp_path / "MNIST" / "raw"
    # the .gz files and, as torchvision's download leaves them, the uncompressed ones
    assert sorted(p.name for p in raw.iterdir()) == sorted([f"{f}.gz" for f in FILES] + list(FILES))
    for f in FILES:  # byte-identical copies
        gz = (mnist_dir / f"{f}.gz").read_bytes()
        assert (raw / f"{f}.gz").read_bytes() == gz
        assert (raw / f).read_bytes() == gzip.decompress(gz)
    assert train.data.shape == (60000, 28, 28) and train.data.dtype == np.uint8
    assert train.targets.shape == (60000,) and train.targets.dtype == np.int64
    assert test.data.shape == (10000, 28, 28) and len(test) == 10000
    for ds, name, ones in ((train, "train", ONES_TRAIN), (test, "t10k", ONES_TEST)):
        expected = np.bincount(labels_of(mnist_dir / f"{name}-labels-idx1-ubyte.gz"), minlength=10)
        np.testing.assert_array_equal(np.bincount(ds.targets, minlength=10), expected)
        assert expected[1] == ones
    # Now present: loading again needs no server.
    again = MNIST(tmp_path, train=False, download=False)
    np.testing.assert_array_equal(again.targets, test.targets)


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_torchvision_reads_the_folder_minicnn_downloaded(
    tmp_path: Path, mnist_dir: Path, cls: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``torchvision.datasets.MNIST(root, download=False)`` on the root minicnn downloaded into."""
    import torchvision

    if cls is FashionMNIST:  # the loopback server has MNIST's files: let them verify as Fashion-MNIST's
        monkeypatch.setattr(FashionMNIST, "resources", MNIST.resources)
    with serve(MirrorTree, mnist_dir) as url:
        ours = {train: cls(tmp_path, train=train, mirrors=[url], progress=False) for train in (True, False)}
    assert not leftovers(tmp_path / cls.__name__ / "raw")
    for train in (True, False):
        theirs = getattr(torchvision.datasets, cls.__name__)(str(tmp_path), train=train, download=False)
        np.testing.assert_array_equal(theirs.data.numpy(), ours[train].data)
        np.testing.assert_array_equal(theirs.targets.numpy(), ours[train].targets)
    # minicnn reads the folder again, verified, without a server
    assert len(cls(tmp_path, train=False, download=False)) == 10000


def test_checksum_mismatch_keeps_nothing(tmp_path: Path, mnist_dir: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(mnist_dir / "t10k-images-idx3-ubyte.gz", site)
    content = bytearray(gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    content[100] = (content[100] + 1) % 10  # one label changed: still a well-formed IDX file
    (site / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(content)))
    root = tmp_path / "root"
    with serve(MirrorTree, site) as url, pytest.raises(DatasetNotFoundError) as info:
        MNIST(root, train=False, mirrors=[url], progress=False)
    message = str(info.value)
    assert "missing t10k-labels-idx1-ubyte.gz" in message
    assert f"{url}t10k-labels-idx1-ubyte.gz: corrupt download (SHA-256" in message
    raw = root / "MNIST" / "raw"
    assert not (raw / "t10k-labels-idx1-ubyte.gz").exists()
    assert leftovers(raw) == []
    assert (raw / "t10k-images-idx3-ubyte.gz").is_file()  # the good file was kept


def test_next_mirror_after_a_bad_one(tmp_path: Path, mnist_dir: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>moved</html>")  # a captive portal's page
    sha = MNIST.resources["test"][1][1]
    with serve(MirrorTree, bad) as bad_url, serve(MirrorTree, mnist_dir) as good_url:
        path = download_verified(
            "t10k-labels-idx1-ubyte.gz", [bad_url, good_url], tmp_path / "out", sha, progress=False
        )
    assert path == tmp_path / "out" / "t10k-labels-idx1-ubyte.gz"
    assert path.read_bytes() == (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    assert leftovers(tmp_path / "out") == []


def test_server_down_lists_missing_files_and_remedies(tmp_path: Path) -> None:
    url = closed_port_url()
    start = time.monotonic()
    with pytest.raises(DatasetNotFoundError) as info:
        MNIST(tmp_path, train=True, mirrors=[url], timeout=5, progress=False)
    assert time.monotonic() - start < 5
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz" in message
    assert f"  {tmp_path / 'MNIST' / 'raw'}\n  {tmp_path}\n" in message  # where it looked
    assert f"{url}train-images-idx3-ubyte.gz: cannot connect" in message
    for remedy in ("MINICNN_DATA=DIR", "--data-dir DIR", 'MNIST(root="DIR")', "MINICNN_MNIST_MIRROR=URL"):
        assert remedy in message
    raw = tmp_path / "MNIST" / "raw"
    assert not raw.exists() or list(raw.iterdir()) == []


class Truncating(BaseHTTPRequestHandler):
    """Announces 5000 bytes more than it sends, then closes the connection."""

    directory: Path

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = (self.directory / Path(self.path).name).read_bytes()[:3000]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + 5000))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def test_interrupted_transfer_leaves_nothing(tmp_path: Path, mnist_dir: Path) -> None:
    handler = type("T", (Truncating,), {"directory": mnist_dir})
    with serve(handler) as url, pytest.raises(DatasetNotFoundError) as info:
        MNIST(tmp_path, train=False, mirrors=[url], progress=False)
    assert "incomplete transfer: received 3000 of 8000 bytes" in str(info.value)
    raw = tmp_path / "MNIST" / "raw"
    assert list(raw.iterdir()) == []  # neither the file nor a temporary one


def test_timeout_is_short_and_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        monkeypatch.setenv("MINICNN_DOWNLOAD_TIMEOUT", "0.3")
        assert download_timeout() == 0.3 and download_timeout(2) == 2.0
        start = time.monotonic()
        with pytest.raises(DownloadError, match="timed out"):
            download_verified("x.gz", [url], tmp_path, "0" * 64, progress=False)
        assert time.monotonic() - start < 3
    assert list(tmp_path.iterdir()) == []


def test_mirror_env_goes_first(tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert mirror_list(["a/", "b/"]) == ["a/", "b/"]
    monkeypatch.setenv("MINICNN_MNIST_MIRROR", "x/, y/")
    assert mirror_list(["a/", "x/"], "MINICNN_MNIST_MIRROR") == ["x/", "y/", "a/"]
    assert mirror_list(["a/"], "MINICNN_MNIST_MIRROR", mirrors=["m/"]) == ["x/", "y/", "m/"]
    with serve(MirrorTree, mnist_dir) as url:
        monkeypatch.setenv("MINICNN_MNIST_MIRROR", url)
        ds = MNIST(tmp_path, train=False, mirrors=[closed_port_url()], progress=False)
    assert len(ds) == 10000


def test_default_mirrors_are_the_canonical_ones() -> None:
    assert MNIST.mirrors == ("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/")
    assert FashionMNIST.mirrors == ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)


# --- finding and checking local files ------------------------------------------------------


def test_flat_directory(mnist_dir: Path) -> None:
    ds = MNIST(mnist_dir, train=False, download=False)
    assert ds.files == (mnist_dir / "t10k-images-idx3-ubyte.gz", mnist_dir / "t10k-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(ds.targets, labels_of(mnist_dir / "t10k-labels-idx1-ubyte.gz"))


def test_torchvision_layout_and_uncompressed_files(tmp_path: Path, mnist_dir: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(
        gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    )
    (raw / "t10k-labels-idx1-ubyte.gz").symlink_to(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    ds = MNIST(tmp_path, train=False, download=False)
    assert ds.files == (raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte.gz")
    reference = MNIST(mnist_dir, train=False, download=False)
    np.testing.assert_array_equal(ds.data, reference.data)


def test_root_none_uses_minicnn_data_then_cache(mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/nonexistent-home")
    assert default_root() == Path("/nonexistent-home/.cache/minicnn")
    monkeypatch.setenv("MINICNN_DATA", str(mnist_dir))
    assert default_root() == mnist_dir
    assert len(MNIST(train=False, download=False)) == 10000


def test_missing_without_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="download=False, so nothing was downloaded"):
        MNIST(tmp_path, train=False, download=False)


def test_corrupt_local_file_is_rejected(tmp_path: Path, mnist_dir: Path) -> None:
    shutil.copy(mnist_dir / "t10k-images-idx3-ubyte.gz", tmp_path)
    content = bytearray(gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    content[-1] = (content[-1] + 1) % 10
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(ChecksumError, match=rf"{tmp_path / 't10k-labels-idx1-ubyte.gz'}: SHA-256"):
        MNIST(tmp_path, train=False)
    # A truncated copy is caught before any checksum.
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()[:-100])
    with pytest.raises(IDXError, match=rf"{tmp_path / 't10k-labels-idx1-ubyte.gz'}: corrupt gzip file"):
        MNIST(tmp_path, train=False)


def test_fashion_mnist_layout_and_debian_dir(tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "/usr/share/datasets/fashion-mnist" in FashionMNIST.system_dirs
    # MNIST's files are not Fashion-MNIST's: found, then rejected by checksum.
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte.gz: SHA-256"):
        FashionMNIST(mnist_dir, train=False, download=False)
    debian = tmp_path / "debian"
    debian.mkdir()
    for f in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(mnist_dir / f"{f}.gz", debian)
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(debian),))
    root = tmp_path / "root"
    with pytest.raises(ChecksumError, match=rf"{debian / 't10k-images-idx3-ubyte.gz'}: SHA-256"):
        FashionMNIST(root, train=False, download=False)
    with pytest.raises(DatasetNotFoundError) as info:
        FashionMNIST(root, train=True, download=False)
    message = str(info.value)
    assert f"  {root / 'FashionMNIST' / 'raw'}\n  {root}\n  {debian}\n" in message
    assert "apt-get install dataset-fashion-mnist" in message and "MINICNN_FASHION_MNIST_MIRROR" in message


# --- from files to batches ----------------------------------------------------------------


def test_items_and_batches(mnist_dir: Path) -> None:
    raw = MNIST(mnist_dir, train=False, download=False)
    image, label = raw[7]
    assert image.shape == (28, 28) and image.dtype == np.uint8 and isinstance(label, int)
    np.testing.assert_array_equal(image, raw.data[7])
    assert label == raw.targets[7]
    with pytest.raises(IndexError):
        raw[10000]

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(0.5, 0.25)])
    ds = MNIST(mnist_dir, train=False, download=False, transform=tf)
    image, label = ds[-1]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    np.testing.assert_allclose(image[0], (raw.data[-1] / 255 - 0.5) / 0.25, rtol=1e-6, atol=1e-6)

    loader = DataLoader(ds, batch_size=1000, shuffle=True)
    mc.manual_seed(0)
    seen = []
    for images, labels in loader:
        assert isinstance(images, mc.Tensor) and isinstance(labels, mc.Tensor)
        assert images.shape == (1000, 1, 28, 28) and images.dtype == np.float32
        assert labels.shape == (1000,) and labels.dtype == np.int64
        seen.append(labels.numpy())
    assert len(seen) == 10 == len(loader)
    np.testing.assert_array_equal(np.bincount(np.concatenate(seen)), np.bincount(raw.targets))


class CountingToTensor(transforms.ToTensor):
    """ToTensor that counts its per-sample and batched calls."""

    def __init__(self) -> None:
        self.samples = self.batches = 0

    def __call__(self, pic: np.ndarray) -> np.ndarray:
        self.samples += 1
        return super().__call__(pic)

    def apply_batch(self, images: np.ndarray) -> np.ndarray:
        self.batches += 1
        return super().apply_batch(images)


def test_transforms_are_per_sample_as_in_torchvision(mnist_dir: Path) -> None:
    """``transform`` gets one image (28, 28) and ``target_transform`` one int, as torchvision's."""
    images_seen, labels_seen = [], []

    def flatten(image: np.ndarray) -> np.ndarray:
        images_seen.append((image.shape, image.dtype))
        return image.reshape(-1).astype(np.float32) / 255

    def one_hot(label: int) -> np.ndarray:
        labels_seen.append(type(label))
        return np.eye(10, dtype=np.float32)[label]

    raw = MNIST(mnist_dir, train=False, download=False)
    ds = MNIST(mnist_dir, train=False, download=False, transform=flatten, target_transform=one_hot)
    image, label = ds[3]
    assert image.shape == (784,) and label.shape == (10,) and label[raw.targets[3]] == 1
    images, labels = next(iter(DataLoader(ds, batch_size=4)))
    assert images.shape == (4, 784) and labels.shape == (4, 10)
    np.testing.assert_array_equal(images.numpy(), raw.data[:4].reshape(4, -1) / np.float32(255))
    assert set(images_seen) == {((28, 28), np.dtype(np.uint8))} and set(labels_seen) == {int}
    # A batched transform runs once per batch, with the same result as one image at a time.
    counting = CountingToTensor()
    ds = MNIST(mnist_dir, train=False, download=False, transform=counting)
    batch, _ = ds.get_batch(np.arange(10))
    assert (counting.batches, counting.samples) == (1, 0) and batch.shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(batch, np.stack([ds[i][0] for i in range(10)]))
    # A random transform draws per image, in order: batch and one-by-one agree from one seed.
    crop = transforms.Compose([transforms.ToTensor(), transforms.RandomCrop(28, padding=3)])
    ds = MNIST(mnist_dir, train=False, download=False, transform=crop)
    mc.manual_seed(5)
    batch, _ = ds.get_batch(np.arange(50))
    mc.manual_seed(5)
    np.testing.assert_array_equal(batch, np.stack([ds[i][0] for i in range(50)]))
    # ds[i] hands out a copy: writing into it leaves the dataset alone.
    image, _ = raw[0]
    image[:] = 7
    assert not (raw.data[0] == 7).all()
