"""Datasets: indexable collections of samples, and how a batch of them is gathered.

A dataset has ``__len__`` and ``__getitem__(i) -> sample``. It may also have
``get_batch(indices) -> batch``, which the :class:`~minicnn.data.DataLoader` calls with a
1-D integer array of indices. Array-backed datasets (:class:`TensorDataset`, MNIST) implement
it with one fancy-indexing operation per array, so batching costs no Python work per sample;
the :class:`Dataset` default falls back to ``default_collate([self[i] for i in indices])``.

Batches are host arrays (NumPy): the DataLoader wraps them into :class:`~minicnn.Tensor` at the
very end, on the device asked for. Samples may be Tensors (``transforms.ToTensor()`` gives one,
as torchvision's); :func:`default_collate` stacks their arrays.

Also here, as in ``torch.utils.data``: :class:`ConcatDataset` (``ds1 + ds2``),
:func:`random_split`, and :class:`IterableDataset` / :class:`ChainDataset` for streams of
samples that have no index.
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from numbers import Real
from typing import Any, Generic, TypeVar

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..ops.aliases_tensor import promote_types
from ..ops.errors import ShapeError
from .sampler import _check_generator, _rng

T_co = TypeVar("T_co", covariant=True)


def _host_array(x: Any) -> np.ndarray:
    """A NumPy array from an array, a Tensor, or a Python/NumPy number."""
    if isinstance(x, Tensor):
        x = x.array
    return backend.to_numpy(x)


_BAD_KINDS = "SaUO"  # NumPy dtype kinds of strings and Python objects: no Tensor holds them


class _KeyMismatchError(KeyError, ValueError):
    """Dict samples with different keys: the KeyError torch raises for a missing one, and a
    ValueError (minicnn's rule for mismatched samples)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _EmptyBatchError(IndexError, ValueError):
    """No samples to collate: the IndexError torch raises, and a ValueError (minicnn's rule)."""


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

    A str in place of the list (one unbatched sample) is returned as it is, as torch's.
    Arrays of strings or Python objects are refused (TypeError), as torch does: no Tensor
    can hold them. Mismatched samples raise what torch raises: arrays of different shapes or
    sequences of different lengths a ``ShapeError`` (a ValueError that is also torch's
    RuntimeError), dicts with different keys a KeyError (also a ValueError; torch ignores a
    later sample's extra keys, minicnn refuses them), a sample of another kind a TypeError.
    """
    if isinstance(samples, str):  # one str sample (batch_size=None): torch returns it as it is
        return samples
    if isinstance(samples, bytes):
        raise TypeError("default_collate: samples must be a sequence of samples, got bytes")
    if len(samples) == 0:
        raise _EmptyBatchError("default_collate: cannot collate an empty list of samples")
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)) or backend.is_cupy_array(first):
        return _stack(samples)
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, np.generic):
        batch = np.asarray(samples, dtype=_scalars_dtype(samples))
        if batch.dtype.kind in _BAD_KINDS:
            raise _collate_error(f"a mix of {type(first).__name__} and other types (dtype {batch.dtype})")
        return batch
    if isinstance(first, (bool, int, float)):
        return _collate_python_numbers(samples)
    if isinstance(first, Mapping):
        keys = list(first)
        for s in samples:
            if not isinstance(s, Mapping):
                raise _collate_error(f"{type(s).__name__} among dicts")
            if set(s) != set(keys):
                expected, got = sorted(map(str, keys)), sorted(map(str, s))
                raise _KeyMismatchError(f"default_collate: dict samples need the same keys: {expected} and {got}")
        return {key: default_collate([s[key] for s in samples]) for key in keys}
    if isinstance(first, (tuple, list)):
        if any(not isinstance(s, (tuple, list)) for s in samples):
            bad = next(type(s).__name__ for s in samples if not isinstance(s, (tuple, list)))
            raise _collate_error(f"{bad} among tuples or lists")
        if any(len(s) != len(first) for s in samples):
            raise ShapeError("default_collate: samples have different numbers of fields")
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
        raise ShapeError(f"default_collate: samples of different shapes cannot be stacked: {sorted(shapes)}")
    return np.stack(arrays)


def _scalars_dtype(samples: Sequence[Any]) -> Any:
    """The dtype ``torch.as_tensor(samples)`` gives NumPy scalars mixed with Python numbers
    (torch's promotion: int with float is float32, not NumPy's float64; Python ints make
    integers int64); None (NumPy's inference) if all share one dtype. TypeError (as torch) if
    anything but numbers is among them."""
    dtype = samples[0].dtype
    if all(isinstance(s, np.generic) and s.dtype == dtype for s in samples):
        return None
    if not all(isinstance(s, (np.integer, np.floating, np.bool_, int, float)) for s in samples):
        bad = next(s for s in samples if not isinstance(s, (np.integer, np.floating, np.bool_, int, float)))
        raise _collate_error(f"{type(bad).__name__} among NumPy scalars")
    for s in samples:
        if isinstance(s, np.generic):
            dtype = promote_types(dtype, s.dtype)
    if dtype.kind in "biu" and any(isinstance(s, float) for s in samples):
        return np.float32  # torch's default float
    if dtype.kind in "biu" and any(isinstance(s, int) and not isinstance(s, bool) for s in samples):
        return np.int64  # torch infers int64 for Python ints, whatever NumPy integers are with them
    return dtype


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


class Dataset(ABC, Generic[T_co]):
    """Base class of map-style datasets: ``len(ds)`` samples, ``ds[i]`` the i-th.

    Subclasses implement ``__len__`` and ``__getitem__``; array-backed ones should also
    override :meth:`get_batch` with a vectorised version. ``ds1 + ds2`` is their
    :class:`ConcatDataset`.
    """

    @abstractmethod
    def __getitem__(self, index: int) -> T_co: ...

    @abstractmethod
    def __len__(self) -> int: ...

    def get_batch(self, indices: np.ndarray) -> Any:
        """The samples at ``indices`` (1-D int array), collated into a batch."""
        return _collate_items(self, indices)

    def __add__(self, other: Dataset[Any]) -> ConcatDataset:
        return ConcatDataset([self, other])


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


def samples_at(dataset: Any, keys: Sequence[Any]) -> list[Any]:
    """``[dataset[k] for k in keys]``, or ``dataset.__getitems__(keys)`` if it has one (torch's
    protocol for fetching a batch of samples at once)."""
    getitems = getattr(dataset, "__getitems__", None)
    return list(getitems(list(keys))) if getitems else [dataset[k] for k in keys]


def _collate_items(dataset: Any, indices: np.ndarray) -> Any:
    """The per-sample path: ``dataset[i]`` for each index, then :func:`default_collate`."""
    return default_collate(samples_at(dataset, np.asarray(indices).tolist()))


class ConcatDataset(Dataset):
    """The samples of ``datasets`` one after the other (torch's ConcatDataset).

    ``ds[i]`` finds its dataset by bisecting ``cumulative_sizes``; negative indices count
    from the end (ValueError beyond ``-len(ds)``, IndexError beyond ``len(ds) - 1``).
    :meth:`get_batch` groups the indices by dataset, fetches each group with that dataset's
    vectorised ``get_batch`` (or sample by sample), and puts the samples back in order.

    Raises ValueError for an empty list of datasets and TypeError for an IterableDataset in
    it (torch raises AssertionError for both).
    """

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (see ChainDataset)")
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list[int]:
        """The running totals of the datasets' lengths."""
        return list(itertools.accumulate(len(d) for d in sequence))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            index += n
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]

    def get_batch(self, indices: np.ndarray) -> Any:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if indices.size and indices.min() < -n:
            raise ValueError("absolute value of index should not exceed dataset length")
        if indices.size and indices.max() >= n:
            raise IndexError(f"ConcatDataset: index {int(indices.max())} is out of range for {n} samples")
        indices = np.where(indices < 0, indices + n, indices)
        ends = np.asarray(self.cumulative_sizes)
        which = np.searchsorted(ends, indices, side="right")  # the dataset of each index
        local = indices - (ends - [len(d) for d in self.datasets])[which]
        parts = np.unique(which)
        if len(parts) <= 1:  # one dataset (or no index at all)
            return fetch_batch(self.datasets[parts[0] if len(parts) else 0], local)
        positions = [np.flatnonzero(which == k) for k in parts]
        pieces = [fetch_batch(self.datasets[k], local[p]) for k, p in zip(parts, positions)]
        return _concat_batches(pieces, np.argsort(np.concatenate(positions)))


def _concat_batches(pieces: list[Any], order: np.ndarray) -> Any:
    """Batches of the same structure joined along the sample axis, then samples taken in ``order``."""
    first = pieces[0]
    if isinstance(first, Mapping):
        if any(not isinstance(p, Mapping) or set(p) != set(first) for p in pieces):
            raise ValueError("ConcatDataset: the datasets give batches of different structures (dict keys)")
        return {key: _concat_batches([p[key] for p in pieces], order) for key in first}
    if isinstance(first, tuple):
        if any(not isinstance(p, tuple) or len(p) != len(first) for p in pieces):
            raise ShapeError("ConcatDataset: the datasets give batches with different numbers of fields")
        fields = [_concat_batches(list(f), order) for f in zip(*pieces)]
        return type(first)(*fields) if hasattr(first, "_fields") else tuple(fields)
    if isinstance(first, list):  # of str or bytes
        joined = [item for p in pieces for item in p]
        return [joined[i] for i in order.tolist()]
    arrays = [_host_array(p) for p in pieces]
    if len({a.shape[1:] for a in arrays}) > 1:
        shapes = sorted({a.shape[1:] for a in arrays})
        raise ShapeError(f"ConcatDataset: the datasets give samples of different shapes: {shapes}")
    return np.concatenate(arrays)[order]


def random_split(dataset: Any, lengths: Sequence[int | float], generator: Any = None) -> list[Subset]:
    """``dataset`` split at random into non-overlapping :class:`Subset` s of the given lengths.

    ``lengths``: integers summing to ``len(dataset)``, or fractions summing to 1, which become
    ``floor(frac * len(dataset))`` with the remainder handed out one by one from the first
    split on (torch's rounding; a split of length 0 warns). One permutation of
    ``range(len(dataset))`` is drawn from ``generator`` (a :class:`minicnn.Generator` or a
    :class:`numpy.random.Generator`) or minicnn's. Raises ValueError for a fraction outside
    [0, 1], negative or non-integer lengths, or lengths whose sum is not ``len(dataset)``.
    """
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.", stacklevel=2
                )
        lengths = sizes
    if any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 for k in lengths):
        raise ValueError(
            f"random_split: lengths must be non-negative integers or fractions summing to 1, got {lengths}"
        )
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    _check_generator(generator, "random_split")
    order = _rng(generator).permutation(n)
    ends = list(itertools.accumulate(int(k) for k in lengths))
    return [Subset(dataset, order[end - int(k) : end]) for end, k in zip(ends, lengths)]


class IterableDataset(Dataset[T_co]):
    """Base class of datasets that are streams: ``iter(ds)`` yields the samples.

    Subclasses implement ``__iter__`` (and ``__len__`` if they know their length; otherwise
    ``len(ds)`` raises TypeError, as torch). They have no index: ``ds[i]`` raises
    NotImplementedError. A :class:`~minicnn.data.DataLoader` over one batches consecutive
    samples and refuses ``shuffle``, ``sampler`` and ``batch_sampler``. ``ds1 + ds2`` is their
    :class:`ChainDataset`.
    """

    @abstractmethod
    def __iter__(self) -> Iterator[T_co]: ...

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(
            f"{type(self).__name__} is an IterableDataset: its samples come from iter(), not by index"
        )

    def __len__(self) -> int:
        # TypeError, as for an object without __len__ (list(ds) then falls back to iteration).
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __add__(self, other: Any) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """IterableDatasets one after the other (lazily, as torch's ChainDataset)."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = datasets

    def _checked(self) -> Iterator[Any]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            yield d

    def __iter__(self) -> Iterator[Any]:
        for d in self._checked():
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self._checked())


class StackDataset(Dataset):
    """torch.utils.data.StackDataset: equally long datasets zipped sample by sample.

    ``StackDataset(a, b)[i] == (a[i], b[i])``; ``StackDataset(x=a, y=b)[i] == {"x": a[i], "y": b[i]}``.
    ValueError (torch's messages) if both forms, no dataset, or different lengths are given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError(
                "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like input/output, "
                "but both types are given."
            )
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args) if args else list(kwargs.values())
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets: tuple[Any, ...] | dict[str, Any] = args if args else kwargs

    def __getitem__(self, index: int) -> tuple[Any, ...] | dict[str, Any]:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list[int]) -> list[Any]:
        """The samples at ``indices`` (each part through its own ``__getitems__`` if it has one)."""
        named = self.datasets if isinstance(self.datasets, dict) else dict(enumerate(self.datasets))
        columns = {}
        for k, d in named.items():
            items = samples_at(d, indices)
            if len(items) != len(indices):
                raise ValueError(f"Nested dataset's output size mismatch. Expected {len(indices)}, got {len(items)}")
            columns[k] = items
        rows = [{k: col[j] for k, col in columns.items()} for j in range(len(indices))]
        return rows if isinstance(self.datasets, dict) else [tuple(r.values()) for r in rows]

    def __len__(self) -> int:
        return self._length


def default_convert(data: Any) -> Any:
    """torch.utils.data.default_convert (the DataLoader's ``collate_fn`` when batching is off):
    NumPy arrays and scalars become Tensors (arrays of strings or objects stay), recursively
    through mappings, namedtuples, tuples (which become lists, as torch) and other sequences;
    Tensors and anything else are returned as they are."""
    if isinstance(data, Tensor):
        return data
    if type(data).__module__ == "numpy" and type(data).__name__ not in ("str_", "bytes_", "string_"):
        if isinstance(data, np.ndarray) and data.dtype.kind in "OSUV":
            return data
        from ..creation import as_tensor  # noqa: PLC0415

        return as_tensor(data)
    if isinstance(data, Mapping):
        try:
            return type(data)({k: default_convert(v) for k, v in data.items()})
        except TypeError:
            return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
