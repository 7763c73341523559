"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a header followed by one C-ordered array, everything big-endian::

    byte 0-1   0x00 0x00
    byte 2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
               0x0D float32, 0x0E float64
    byte 3     number of dimensions d
    4 x d      the dimensions, uint32 each
    ...        prod(dims) elements

So the magic number (the first four bytes as one uint32) of MNIST's images is 0x00000803
(uint8, 3 dims: N x 28 x 28) and of its labels 0x00000801 (uint8, 1 dim: N).

Files whose name ends in ``.gz`` are gunzipped first; any other file is read as it is.
Every defect (bad gzip stream or CRC, wrong magic, truncation, trailing bytes) raises
:class:`~minicnn.data.errors.IDXError` naming the file. Parsing is one ``np.frombuffer``:
no per-element Python work, no pickle.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import ChecksumError, IDXError

IMAGES_MAGIC = 0x00000803
"""Magic number of an MNIST image file: uint8, 3 dimensions."""
LABELS_MAGIC = 0x00000801
"""Magic number of an MNIST label file: uint8, 1 dimension."""

# IDX element type code -> big-endian NumPy dtype.
_TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx_bytes(path: str | os.PathLike, *, gzipped: bool | None = None) -> bytes:
    """The content of an IDX file: gunzipped if ``gzipped`` (default: if ``path`` ends in ``.gz``).

    Raises IDXError for a broken gzip stream (bad header, corrupt data, CRC or length
    mismatch, truncation) and FileNotFoundError for a missing file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if not (path.suffix == ".gz" if gzipped is None else gzipped):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        reason = f"{type(exc).__name__}: {exc}"
        raise IDXError(f"{path}: corrupt gzip file ({reason}); delete it and fetch it again") from exc


def parse_idx(buf: bytes, *, source: str = "<bytes>", magic: int | None = None) -> np.ndarray:
    """Parse the bytes of an uncompressed IDX file into a native-endian, writable array.

    ``source`` names the file in error messages; ``magic``, if given, is the magic number the
    file must have (e.g. :data:`IMAGES_MAGIC`).
    """
    if len(buf) < 4:
        raise IDXError(f"{source}: truncated IDX file: {len(buf)} bytes, the header alone needs 4")
    (found_magic,) = struct.unpack(">I", buf[:4])
    type_code, ndim = buf[2], buf[3]
    if buf[:2] != b"\x00\x00" or type_code not in _TYPE_CODES:
        raise IDXError(f"{source}: not an IDX file (magic number 0x{found_magic:08x})")
    if magic is not None and found_magic != magic:
        raise IDXError(f"{source}: wrong magic number 0x{found_magic:08x}, expected 0x{magic:08x}")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise IDXError(f"{source}: truncated IDX header: {len(buf)} bytes, {ndim} dimensions need {header}")
    shape = struct.unpack(f">{ndim}I", buf[4:header])
    dtype = _TYPE_CODES[type_code]
    count = math.prod(shape)
    expected, actual = count * dtype.itemsize, len(buf) - header
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes in"
        raise IDXError(
            f"{source}: {what} IDX file: the header promises shape {shape} of {dtype.name} "
            f"({expected} data bytes) but {actual} data bytes follow"
        )
    array = np.frombuffer(buf, dtype=dtype, count=count, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a copy: native byte order, writable


def read_idx(path: str | os.PathLike, *, magic: int | None = None, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or uncompressed) into an array.

    ``magic``: the magic number the file must have. ``sha256``: the hex SHA-256 its
    decompressed content must have (ChecksumError otherwise).
    """
    buf = read_idx_bytes(path)
    if sha256 is not None:
        check_sha256(buf, sha256, source=str(path))
    return parse_idx(buf, source=str(path), magic=magic)


def check_digest(actual: str, expected: str, *, source: str, what: str) -> None:
    """Raise ChecksumError unless the hex SHA-256 ``actual`` (of ``what``: the file, or its
    decompressed content) equals ``expected``."""
    if actual != expected.lower():
        raise ChecksumError(
            f"{source}: SHA-256 of {what} is {actual}, expected {expected}; "
            "the file is corrupt or a different file: delete it and fetch it again"
        )


def check_sha256(content: bytes, expected: str, *, source: str) -> None:
    """Raise ChecksumError unless ``content`` hashes to ``expected`` (hex SHA-256)."""
    check_digest(hashlib.sha256(content).hexdigest(), expected, source=source, what="the decompressed content")


def read_images_and_labels(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    *,
    sha256: tuple[str | None, str | None] = (None, None),
    num_classes: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """An MNIST-style pair: images (N, H, W) uint8 and labels (N,) int64.

    Checks both magic numbers, the optional SHA-256 of each file's decompressed content, that
    both files hold the same number of items, and that every label is a class index below
    ``num_classes`` (10 for MNIST and Fashion-MNIST), with or without a SHA-256.
    """
    images = read_idx(images_path, magic=IMAGES_MAGIC, sha256=sha256[0])
    labels = read_idx(labels_path, magic=LABELS_MAGIC, sha256=sha256[1])
    if len(images) != len(labels):
        raise IDXError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels")
    bad = np.flatnonzero(labels >= num_classes)  # uint8: never negative
    if bad.size:
        raise IDXError(
            f"{labels_path}: label {int(labels[bad[0]])} at index {int(bad[0])} is not a class index below "
            f"{num_classes} ({bad.size} such labels); the file is corrupt or not a label file of this dataset"
        )
    return images, labels.astype(np.int64)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped if ``path`` ends in ``.gz``.

    The dtype must be one IDX has: uint8, int8, int16, int32, float32 or float64.
    """
    array = np.asarray(array)
    by_kind = {(dt.kind, dt.itemsize): code for code, dt in _TYPE_CODES.items()}
    code = by_kind.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(f"write_idx: IDX has no element type for dtype {array.dtype}")
    if array.ndim > 255:
        raise ValueError(f"write_idx: IDX holds at most 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + np.ascontiguousarray(array, dtype=_TYPE_CODES[code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        content = gzip.compress(content, mtime=0)
    path.write_bytes(content)
