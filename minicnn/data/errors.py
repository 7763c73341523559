"""The errors of ``mc.data``: every one names the file or dataset it is about.

- :class:`IDXError` (a ``ValueError``): a file is not a well-formed IDX file (wrong magic
  number, truncated, header and size disagree, broken gzip stream).
- :class:`ChecksumError` (a ``ValueError``): a file's decompressed content does not have the
  expected SHA-256.
- :class:`DownloadError` (a ``RuntimeError``): no mirror delivered a file that verified.
- :class:`DatasetNotFoundError` (a ``RuntimeError``): a dataset's files are missing here and
  could not be downloaded; the message says where they were looked for and how to point
  minicnn at them.

Files that fail any check are never used.
"""

from __future__ import annotations


class IDXError(ValueError):
    """A malformed or corrupt IDX file."""


class ChecksumError(ValueError):
    """A file whose decompressed content has the wrong SHA-256."""


class DownloadError(RuntimeError):
    """Every mirror failed to deliver a verified copy of a file."""


class DatasetNotFoundError(RuntimeError):
    """A dataset's files are neither present nor downloadable."""
