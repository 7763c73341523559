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
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor


def _host_array(x: Any) -> np.ndarray:
    """A NumPy array from an array, a Tensor, or a Python/NumPy number."""
    if isinstance(x, Tensor):
        x = x.array
    return backend.to_numpy(x)


_BAD_KINDS = "SaUO"  # NumPy dtype kinds of strings and Python objects: no Tensor holds them


def _collate_error(found: Any) -> TypeError:
    return TypeError(
        f"default_collate: batch must contain arrays, Tensors, numbers, str, dicts, tuples or lists; found {found}"
    )


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, as torch's ``default_collate``.

    By the type of the first sample:

    - array or Tensor: stacked along a new first axis (all must have one shape);
    - NumPy scalar: an array of its dtype; Python float: float64 (as torch); Python int:
      int64; Python bool: bool; Python ints and floats mixed: float32 (torch's default float);
    - str or bytes: the list of them (torch does the same);
    - dict: a dict of the collated values of each key (all samples need the same keys);
    - tuple or list: a tuple with one collated batch per field (a namedtuple stays one);
      nested ones recursively.

    Arrays of strings or Python objects are refused (TypeError), as torch does: no Tensor
    can hold them.
    """
    if len(samples) == 0:
        raise ValueError("default_collate: cannot collate an empty list of samples")
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)) or backend.is_cupy_array(first):
        return _stack(samples)
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, np.generic):
        batch = np.asarray(samples)
        if batch.dtype.kind in _BAD_KINDS:
            raise _collate_error(f"a mix of {type(first).__name__} and other types (dtype {batch.dtype})")
        return batch
    if isinstance(first, (bool, int, float)):
        return _collate_python_numbers(samples)
    if isinstance(first, Mapping):
        keys = list(first)
        for s in samples:
            if not isinstance(s, Mapping) or set(s) != set(keys):
                got = sorted(map(str, s)) if isinstance(s, Mapping) else type(s).__name__
                expected = sorted(map(str, keys))
                raise ValueError(f"default_collate: dict samples need the same keys: {expected} and {got}")
        return {key: default_collate([s[key] for s in samples]) for key in keys}
    if isinstance(first, (tuple, list)):
        if any(not isinstance(s, (tuple, list)) or len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        fields = [default_collate(field) for field in zip(*samples)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*fields)
        return tuple(fields)
    raise _collate_error(type(first))


def _stack(samples: Sequence[Any]) -> np.ndarray:
    """Arrays or Tensors stacked on the host along a new first axis."""
    arrays = [_host_array(s) for s in samples]
    for a in arrays:
        if a.dtype.kind in _BAD_KINDS:
            raise _collate_error(f"an array of dtype {a.dtype}")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: samples of different shapes cannot be stacked: {sorted(shapes)}")
    return np.stack(arrays)


def _collate_python_numbers(samples: Sequence[Any]) -> np.ndarray:
    """Python bools, ints and floats -> one array, with the dtype torch's collate gives."""
    if not all(isinstance(s, (Real, np.bool_)) for s in samples):
        bad = next(type(s) for s in samples if not isinstance(s, (Real, np.bool_)))
        raise _collate_error(f"{bad} among numbers")
    if isinstance(samples[0], float):
        dtype: Any = np.float64  # torch: collate_float_fn uses float64
    elif all(isinstance(s, (bool, np.bool_)) for s in samples):
        dtype = np.bool_
    elif all(isinstance(s, (int, np.integer, np.bool_)) for s in samples):
        dtype = np.int64
    else:
        dtype = np.float32  # torch.tensor([1, 2.5]): the default float dtype
    return np.asarray(samples, dtype=dtype)


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
