"""IDX reading and writing, and every way a file can be broken (small generated files)."""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from minicnn.data import ChecksumError, IDXError, read_idx, read_images_and_labels, write_idx
from minicnn.data.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx


def idx_bytes(type_code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    """An IDX file assembled by hand from the format's definition."""
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


@pytest.fixture
def images() -> np.ndarray:
    return np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)


def test_parse_hand_made_file(images: np.ndarray) -> None:
    buf = idx_bytes(0x08, (3, 4, 5), bytes(range(60)))
    out = parse_idx(buf, magic=IMAGES_MAGIC)
    assert out.dtype == np.uint8 and out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, images)
    out[0, 0, 0] = 7  # writable, not a view of the bytes


def test_parse_big_endian_types() -> None:
    # int32 1 and -2, big-endian; float32 1.5 is 0x3FC00000.
    ints = parse_idx(idx_bytes(0x0C, (2,), b"\x00\x00\x00\x01\xff\xff\xff\xfe"))
    assert ints.dtype == np.int32 and ints.tolist() == [1, -2]
    floats = parse_idx(idx_bytes(0x0D, (1, 1), b"\x3f\xc0\x00\x00"))
    assert floats.dtype == np.float32 and floats.tolist() == [[1.5]]
    assert floats.dtype.isnative


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_write_read_roundtrip(tmp_path: Path, suffix: str, dtype: type) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    raw = path.read_bytes()
    assert raw[:2] == (b"\x1f\x8b" if suffix else b"\x00\x00")  # gzip magic / IDX zero bytes
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, array)


def test_write_rejects_dtype_idx_lacks(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))


def test_images_and_labels_pair(tmp_path: Path, images: np.ndarray) -> None:
    write_idx(tmp_path / "img.gz", images)
    write_idx(tmp_path / "lbl.gz", np.array([3, 1, 4], np.uint8))
    x, y = read_images_and_labels(tmp_path / "img.gz", tmp_path / "lbl.gz")
    assert x.dtype == np.uint8 and x.shape == (3, 4, 5)
    assert y.dtype == np.int64 and y.tolist() == [3, 1, 4]


# --- every error path names the file ----------------------------------------------------


def write(path: Path, content: bytes, gz: bool = True) -> Path:
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


def test_wrong_magic_labels_as_images(tmp_path: Path) -> None:
    labels = write(tmp_path / "labels.gz", idx_bytes(0x08, (3,), b"\x01\x02\x03"))
    with pytest.raises(IDXError, match=r"labels\.gz.*wrong magic number 0x00000801, expected 0x00000803"):
        read_idx(labels, magic=IMAGES_MAGIC)


def test_not_an_idx_file(tmp_path: Path) -> None:
    path = write(tmp_path / "page.html.gz", b"<html>not found</html>")
    with pytest.raises(IDXError, match=r"page\.html\.gz: not an IDX file \(magic number 0x3c68746d\)"):
        read_idx(path)
    path = write(tmp_path / "badtype", idx_bytes(0x07, (1,), b"\x00"), gz=False)  # no type 0x07
    with pytest.raises(IDXError, match="badtype: not an IDX file"):
        read_idx(path)


def test_truncated_header(tmp_path: Path) -> None:
    with pytest.raises(IDXError, match=r"tiny\.gz: truncated IDX file: 2 bytes"):
        read_idx(write(tmp_path / "tiny.gz", b"\x00\x00"))
    # 3 dimensions need 16 header bytes; give 10
    with pytest.raises(IDXError, match=r"hdr\.gz: truncated IDX header: 10 bytes, 3 dimensions need 16"):
        read_idx(write(tmp_path / "hdr.gz", idx_bytes(0x08, (2, 2, 2), b"")[:10]))


def test_truncated_data(tmp_path: Path) -> None:
    path = write(tmp_path / "short.gz", idx_bytes(0x08, (2, 3, 3), bytes(17)))
    with pytest.raises(IDXError, match=r"short\.gz: truncated IDX file: .*\(2, 3, 3\).*18 data bytes.* 17 data bytes"):
        read_idx(path, magic=IMAGES_MAGIC)


def test_header_size_mismatch_trailing_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "long", idx_bytes(0x08, (4,), bytes(6)), gz=False)
    with pytest.raises(IDXError, match=r"long: trailing bytes in IDX file: .*\(4,\).*4 data bytes.* 6 data bytes"):
        read_idx(path, magic=LABELS_MAGIC)


def test_truncated_gzip(tmp_path: Path, images: np.ndarray) -> None:
    write_idx(tmp_path / "ok.gz", images)
    cut = tmp_path / "cut.gz"
    cut.write_bytes((tmp_path / "ok.gz").read_bytes()[:-12])
    with pytest.raises(IDXError, match=r"cut\.gz: corrupt gzip file"):
        read_idx(cut)


def test_gzip_crc_mismatch(tmp_path: Path) -> None:
    raw = bytearray(gzip.compress(idx_bytes(0x08, (3,), b"\x01\x02\x03")))
    raw[-8] ^= 0xFF  # the CRC-32 is the trailer's first 4 bytes
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(IDXError, match=r"crc\.gz: corrupt gzip file .*CRC"):
        read_idx(path)


def test_corrupt_deflate_stream(tmp_path: Path) -> None:
    # A stored block whose length and its complement disagree: invalid deflate data.
    body = b"\x01\x05\x00\x00\x00" + b"hello"
    raw = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255]) + body + struct.pack("<II", zlib.crc32(b"hello"), 5)
    path = tmp_path / "deflate.gz"
    path.write_bytes(raw)
    with pytest.raises(IDXError, match=r"deflate\.gz: corrupt gzip file"):
        read_idx(path)


def test_uncompressed_content_under_gz_name(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.gz", idx_bytes(0x08, (1,), b"\x05"), gz=False)
    with pytest.raises(IDXError, match=r"plain\.gz: corrupt gzip file .*Not a gzipped file"):
        read_idx(path)


def test_count_mismatch_between_images_and_labels(tmp_path: Path, images: np.ndarray) -> None:
    write_idx(tmp_path / "img.gz", images)
    write_idx(tmp_path / "lbl.gz", np.zeros(4, np.uint8))
    with pytest.raises(IDXError, match=r"img\.gz holds 3 images but .*lbl\.gz holds 4 labels"):
        read_images_and_labels(tmp_path / "img.gz", tmp_path / "lbl.gz")


def test_pair_checks_magic_of_each(tmp_path: Path, images: np.ndarray) -> None:
    write_idx(tmp_path / "img.gz", images)
    with pytest.raises(IDXError, match=r"img\.gz: wrong magic number 0x00000803, expected 0x00000801"):
        read_images_and_labels(tmp_path / "img.gz", tmp_path / "img.gz")


def test_sha256_checked_on_decompressed_content(tmp_path: Path) -> None:
    content = idx_bytes(0x08, (3,), b"\x01\x02\x03")
    path = write(tmp_path / "l.gz", content)
    good = hashlib.sha256(content).hexdigest()
    assert read_idx(path, sha256=good).tolist() == [1, 2, 3]
    with pytest.raises(ChecksumError, match=rf"l\.gz: SHA-256 of the decompressed content is {good}, expected 0+1"):
        read_idx(path, sha256="0" * 63 + "1")


def test_labels_must_be_class_indices_without_a_checksum(tmp_path: Path, images: np.ndarray) -> None:
    write_idx(tmp_path / "img.gz", images)
    write_idx(tmp_path / "lbl.gz", np.array([3, 12, 9], np.uint8))
    with pytest.raises(IDXError, match=r"lbl.gz: label 12 at index 1 is not a class index below 10 \(1 such"):
        read_images_and_labels(tmp_path / "img.gz", tmp_path / "lbl.gz")
    x, y = read_images_and_labels(tmp_path / "img.gz", tmp_path / "lbl.gz", num_classes=13)
    assert y.tolist() == [3, 12, 9]
