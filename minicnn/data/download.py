"""Verified downloads: try each mirror in turn, keep a file only once its checksum holds.

:func:`download_verified` streams ``<mirror>/<filename>`` into a hidden temporary file in
the destination directory (with a tqdm progress bar), checks that the server sent every byte
it announced, decompresses it and compares the SHA-256 of the *decompressed* content (so a
mirror that recompressed the file still verifies), and only then renames it into place,
which is atomic. Where only the checksum of the file as published is known (KMNIST's
``.gz`` files, the CIFAR archives), ``file_sha256=`` checks the downloaded bytes themselves
instead (or as well). With ``uncompressed=True`` (the datasets' downloads) the verified
decompressed content is also written beside it, atomically too, under the name without
``.gz``: the layout torchvision's ``MNIST(root, download=False)`` reads. Whatever goes wrong
(refused connection, timeout, short transfer, bad gzip, wrong checksum), the temporary file
is removed and the next mirror is tried; nothing is ever left under the real name unless it
verified.

Settings from the environment:

- ``MINICNN_DOWNLOAD_TIMEOUT``: seconds to wait for a connection or for the next bytes
  (default 15).
- A dataset's mirror variable (``MINICNN_MNIST_MIRROR`` for MNIST): one or more base URLs,
  separated by commas or spaces, tried before the dataset's own mirrors.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .errors import ChecksumError, DownloadError, IDXError
from .idx import check_digest, check_sha256, read_idx_bytes

DEFAULT_TIMEOUT = 15.0
"""Seconds to wait for a connection or for the next chunk of data."""
TIMEOUT_ENV = "MINICNN_DOWNLOAD_TIMEOUT"
_CHUNK = 1 << 16


def download_timeout(timeout: float | None = None) -> float:
    """``timeout`` if given, else ``$MINICNN_DOWNLOAD_TIMEOUT``, else :data:`DEFAULT_TIMEOUT`."""
    if timeout is None:
        env = os.environ.get(TIMEOUT_ENV, "").strip()
        timeout = float(env) if env else DEFAULT_TIMEOUT
    if timeout <= 0:
        raise ValueError(f"download timeout must be positive, got {timeout}")
    return float(timeout)


def mirror_list(defaults: Sequence[str], env_var: str | None = None, mirrors: Sequence[str] | None = None) -> list[str]:
    """The base URLs to try, in order.

    ``mirrors``, if given, replaces ``defaults``. The sites in ``$env_var`` (comma- or
    space-separated) come first either way. Duplicates are dropped.
    """
    env = os.environ.get(env_var, "") if env_var else ""
    ordered = env.replace(",", " ").split() + list(defaults if mirrors is None else mirrors)
    return list(dict.fromkeys(ordered))


def _fetch(url: str, dest: Path, *, desc: str, timeout: float, progress: bool) -> None:
    """Stream ``url`` into ``dest``; raise if the server sent fewer bytes than it announced."""
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        received = 0
        # disable=None: a bar on a terminal, silence in logs and tests.
        disable = None if progress else True
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=disable) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise DownloadError(f"incomplete transfer: received {received} of {total} bytes")


def download_verified(
    filename: str,
    mirrors: Sequence[str],
    dest_dir: str | os.PathLike,
    sha256: str | None,
    *,
    file_sha256: str | None = None,
    timeout: float | None = None,
    progress: bool = True,
    uncompressed: bool = False,
) -> Path:
    """Download ``filename`` from the first mirror that delivers a verified copy.

    Each URL is ``mirror.rstrip('/') + '/' + filename``. ``sha256`` is the hex SHA-256 of the
    decompressed content (of the file itself if it is not ``.gz``); ``file_sha256`` the hex
    SHA-256 of the file exactly as downloaded (for a published checksum of a ``.gz`` or
    ``.tar.gz`` file). At least one must be given; every one given must hold. Returns
    ``dest_dir / filename``. Raises :class:`DownloadError` listing why each mirror failed.

    ``uncompressed=True`` (for a ``.gz`` file) also writes the verified decompressed content
    next to it under the name without ``.gz``, atomically, as torchvision's download does
    (torchvision reads only those): ``MNIST/raw/train-images-idx3-ubyte`` beside
    ``train-images-idx3-ubyte.gz``.
    """
    if sha256 is None and file_sha256 is None:
        raise ValueError(f"download_verified({filename!r}): give sha256 or file_sha256, the checksum to verify")
    if not mirrors:
        raise DownloadError(f"cannot download {filename}: no mirror given")
    timeout = download_timeout(timeout)
    dest_dir = Path(dest_dir)
    target = dest_dir / filename
    failures: list[str] = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{filename}"
        tmp: Path | None = None
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
            os.close(fd)
            tmp = Path(name)
            _fetch(url, tmp, desc=filename, timeout=timeout, progress=progress)
            if file_sha256 is not None:
                check_file_sha256(tmp, file_sha256, source=url)
            want_content = uncompressed and filename.endswith(".gz")
            if sha256 is not None or want_content:
                content = read_idx_bytes(tmp, gzipped=filename.endswith(".gz"))
                if sha256 is not None:
                    check_sha256(content, sha256, source=url)
                if want_content:
                    write_atomic(dest_dir / filename.removesuffix(".gz"), content)
            os.chmod(tmp, 0o644)  # mkstemp made it private; a data file is for everyone to read
            os.replace(tmp, target)
            tmp = None
            return target
        except (OSError, http.client.HTTPException, ValueError, DownloadError) as exc:
            failures.append(f"{url}: {_describe(exc)}")
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    raise DownloadError(f"could not download {filename}:\n  " + "\n  ".join(failures))


def file_sha256_of(path: str | os.PathLike) -> str:
    """The hex SHA-256 of the file's bytes as stored (read in chunks: any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_file_sha256(path: str | os.PathLike, expected: str, *, source: str | None = None) -> None:
    """Raise ChecksumError unless the file's bytes as stored hash to ``expected`` (hex SHA-256).

    ``source`` names the file in the message (default: ``path``).
    """
    check_digest(file_sha256_of(path), expected, source=str(source or path), what="the file")


def write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a hidden temporary file renamed into place.

    Readers see the old file or the whole new one, never a part; on any error the temporary
    file is removed and nothing is left under ``path``'s name that was not there before.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _describe(exc: BaseException) -> str:
    """A one-line reason for a failed attempt."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect ({exc.reason})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, (ChecksumError, IDXError)):
        return f"corrupt download ({str(exc).split(': ', 1)[-1]})"  # without the "<file>: " prefix
    return f"{type(exc).__name__}: {exc}"
