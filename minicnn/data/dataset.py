"""Datasets: indexable collections of samples, and how a batch of them is gathered.

A dataset has ``__len__`` and ``__getitem__(i) -> sample``. It may also have
``get_batch(indices) -> batch``, which the :class:`~minicnn.data.DataLoader` calls with a
1-D integer array of indices. Array-backed datasets (:class:`TensorDataset`, MNIST) implement
it with one fancy-indexing operation per array, so batching costs no Python work per sample;
the :class:`Dataset` default falls back to ``default_collate([self[i] for i in indices])``.

Samples and batches are host arrays (NumPy), never Tensors: the DataLoader wraps batches into
:class:`~minicnn.Tensor` at the very end, on the device asked for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from numbers import Number
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor


def _host_array(x: Any) -> np.ndarray:
    """A NumPy array from an array, a Tensor, or a Python/NumPy number."""
    if isinstance(x, Tensor):
        x = x.array
    return backend.to_numpy(x)


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch.

    A sample is an array-like (array, Tensor, number) or a tuple/list of them; the batch is
    one array with a new leading axis, or a tuple with one array per field. Python ints
    become int64 and Python floats float32 (minicnn's default float).
    """
    if len(samples) == 0:
        raise ValueError("default_collate: cannot collate an empty list of samples")
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        return tuple(default_collate(field) for field in zip(*samples))
    if isinstance(first, bool):
        return np.asarray(samples, dtype=np.bool_)
    if isinstance(first, int):
        return np.asarray(samples, dtype=np.int64)
    if isinstance(first, float):
        return np.asarray(samples, dtype=np.float32)
    if isinstance(first, Number) or np.isscalar(first):
        return np.asarray(samples)
    return np.stack([_host_array(s) for s in samples])


class Dataset(ABC):
    """Base class of map-style datasets: ``len(ds)`` samples, ``ds[i]`` the i-th.

    Subclasses implement ``__len__`` and ``__getitem__``; array-backed ones should also
    override :meth:`get_batch` with a vectorised version.
    """

    @abstractmethod
    def __getitem__(self, index: int) -> Any: ...

    @abstractmethod
    def __len__(self) -> int: ...

    def get_batch(self, indices: np.ndarray) -> Any:
        """The samples at ``indices`` (1-D int array), collated into a batch."""
        return _collate_items(self, indices)


class TensorDataset(Dataset):
    """Samples are slices of equally long arrays along their first axis.

    ``TensorDataset(images, labels)``: ``ds[i] == (images[i], labels[i])``, and
    ``ds.get_batch(idx) == (images[idx], labels[idx])``. Accepts Tensors or array-likes; keeps
    them as arrays (``.arrays``) without copying NumPy input.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(t.array if isinstance(t, Tensor) else np.asarray(t) for t in tensors)
        if any(a.ndim == 0 for a in self.arrays):
            raise ValueError("TensorDataset: every array needs a first (sample) axis, got a 0-d array")
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: arrays differ in their first dimension: {lengths}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple[Any, ...]:
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (vectorised if the base is)."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> Any:
        return fetch_batch(self.dataset, self.indices[indices])


def fetch_batch(dataset: Any, indices: np.ndarray) -> Any:
    """``dataset.get_batch(indices)`` if it has one, else the collated samples."""
    get_batch = getattr(dataset, "get_batch", None)
    return get_batch(indices) if get_batch is not None else _collate_items(dataset, indices)


def _collate_items(dataset: Any, indices: np.ndarray) -> Any:
    """The per-sample path: ``dataset[i]`` for each index, then :func:`default_collate`."""
    return default_collate([dataset[int(i)] for i in indices])
