"""Samplers: which keys (indices) an epoch visits and in what order, as ``torch.utils.data``'s.

A sampler is an iterable of dataset keys; ``iter(sampler)`` starts one epoch. The
:class:`~minicnn.data.DataLoader` turns one into batches with :class:`BatchSampler`.

- :class:`SequentialSampler`: ``0, 1, ..., N-1``.
- :class:`RandomSampler`: a permutation of ``range(N)`` per epoch (or ``num_samples`` draws,
  with or without replacement).
- :class:`SubsetRandomSampler`: a permutation of the given indices.
- :class:`WeightedRandomSampler`: ``num_samples`` draws of ``range(len(weights))`` with
  probabilities proportional to ``weights``.
- :class:`BatchSampler`: a sampler's keys grouped into lists of ``batch_size``.

Randomness: every draw comes from ``minicnn.random.generator()`` (seeded by
``mc.manual_seed``), or from the ``generator`` argument, which is a :class:`minicnn.Generator`
(``mc.Generator().manual_seed(0)``, as torch's) or a :class:`numpy.random.Generator` (e.g.
``np.random.default_rng(0)``): a ``torch.Generator`` cannot drive NumPy draws and is refused
with a TypeError. A generator passed in keeps its
state across epochs, as torch's does, so successive epochs differ and the sequence of
epochs is reproducible. The epoch is drawn when ``iter(sampler)`` is called (not at the
first ``next``), in one vectorised call: ``permutation``, ``integers`` or ``choice``.

minicnn's samplers draw the whole epoch as one int64 array (:func:`epoch_keys`); the
DataLoader slices it into batches without a Python loop over indices. A subclass that
overrides ``__iter__`` is iterated like any other iterable.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from ..autograd import Tensor
from ..random import Generator
from ..random import generator as library_generator

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]

T_co = TypeVar("T_co", covariant=True)


def _is_int(x: Any) -> bool:
    """A Python or NumPy integer (bools included, as torch's ``isinstance(x, int)``)."""
    return isinstance(x, (int, np.integer))


def _check_generator(generator: Any, owner: str) -> None:
    if generator is not None and not isinstance(generator, (Generator, np.random.Generator)):
        raise TypeError(
            f"{owner}: generator must be a minicnn.Generator, a numpy.random.Generator (e.g. "
            f"numpy.random.default_rng(0)) or None, got {type(generator).__module__}.{type(generator).__name__} "
            "(a torch.Generator cannot drive NumPy draws)"
        )


def _rng(generator: Generator | np.random.Generator | None) -> np.random.Generator:
    # The library generator is looked up at every draw: mc.manual_seed replaces it (and a
    # Generator's stream, which manual_seed / set_state replace too).
    if generator is None:
        return library_generator()
    return generator.numpy() if isinstance(generator, Generator) else generator


class Sampler(Generic[T_co]):
    """Base class of samplers: ``__iter__`` yields keys (or lists of keys, for batch samplers).

    ``__len__`` is optional, as in torch; ``len(DataLoader)`` needs it. Subclass as
    ``class MySampler(Sampler[int])``.
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class _ArraySampler(Sampler[int]):
    """A sampler whose epoch is drawn at once by :meth:`_epoch` (an int64 array, or a list)."""

    def _epoch(self) -> Any:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        keys = self._epoch()  # drawn now, not at the first next()
        return iter(keys.tolist() if isinstance(keys, np.ndarray) else keys)


def epoch_keys(sampler: Any) -> Any:
    """One epoch of ``sampler``, drawn now, as an int64 array (or a list of non-integer keys),
    if it is one of minicnn's samplers and its ``__iter__`` is not overridden; else None."""
    if isinstance(sampler, _ArraySampler) and type(sampler).__iter__ is _ArraySampler.__iter__:
        return sampler._epoch()
    return None


def as_index_array(keys: Any) -> np.ndarray | None:
    """``keys`` as a 1-D int64 array if they are all integers (not bools), else None."""
    if isinstance(keys, np.ndarray):
        array = keys
    else:
        keys = list(keys)
        if not keys:
            return np.empty(0, np.int64)
        if not all(_is_int(k) and not isinstance(k, (bool, np.bool_)) for k in keys):
            return None
        array = np.asarray(keys)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        return None
    return array.astype(np.int64, copy=False)


class SequentialSampler(_ArraySampler):
    """``0, 1, ..., len(data_source) - 1``, every epoch."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _epoch(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(_ArraySampler):
    """Random indices of ``data_source``, a new draw each epoch.

    Without replacement: a permutation of ``range(N)`` (``generator.permutation(N)``); if
    ``num_samples`` differs from N, successive permutations are concatenated and cut to
    ``num_samples``, as torch does. With replacement: ``num_samples`` independent uniform
    draws of ``range(N)``. ``num_samples`` defaults to N, read at every epoch (the dataset
    may grow). ``generator``: a :class:`minicnn.Generator` or :class:`numpy.random.Generator`, or None for minicnn's.

    Raises: TypeError if ``replacement`` is not a bool, ValueError if ``num_samples`` is not
    a positive integer (also for an empty ``data_source`` without ``num_samples``), TypeError
    for a generator that is not a NumPy one (torch's errors).
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | np.random.Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not _is_int(self.num_samples) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")
        _check_generator(generator, "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _epoch(self) -> np.ndarray:
        n, k, rng = len(self.data_source), int(self.num_samples), _rng(self.generator)
        if n == 0 and k > 0:
            raise ValueError(f"RandomSampler: cannot draw {k} samples from an empty data_source")
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64)
        if k == n:  # the common case: exactly one permutation (what DataLoader(shuffle=True) draws)
            return rng.permutation(n)
        permutations = [rng.permutation(n) for _ in range(-(-k // n))]
        return np.concatenate(permutations)[:k]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_ArraySampler):
    """The given ``indices`` in a random order (one permutation per epoch), without replacement."""

    def __init__(self, indices: Sequence[Any], generator: Generator | np.random.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator
        _check_generator(generator, "SubsetRandomSampler")

    def _epoch(self) -> Any:
        order = _rng(self.generator).permutation(len(self.indices))
        array = as_index_array(self.indices)
        if array is not None:
            return array[order]
        return [self.indices[i] for i in order.tolist()]  # keys that are not integers: kept as given

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(_ArraySampler):
    """``num_samples`` draws of ``range(len(weights))``, index i with probability
    ``weights[i] / sum(weights)``.

    With ``replacement=False`` an index is drawn at most once, each draw proportional to the
    weights of those left (torch's ``multinomial``: an exponential race, ``argsort(-w / E)``
    with E ~ Exp(1), one vectorised draw); zero-weight indices come last, as in torch.
    ``weights``: a 1-D sequence, array or Tensor (kept as a float64 NumPy array).

    Raises (as torch): ValueError for a bad ``num_samples``, ``replacement`` or a weights
    array that is not 1-D (at construction); RuntimeError at iteration for weights that are
    negative, not finite or sum to zero, or ``num_samples > len(weights)`` without replacement.
    """

    def __init__(
        self,
        weights: Sequence[float] | np.ndarray | Tensor,
        num_samples: int,
        replacement: bool = True,
        generator: Generator | np.random.Generator | None = None,
    ) -> None:
        if not _is_int(num_samples) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        array = np.asarray(weights.array if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {array.shape}")
        _check_generator(generator, "WeightedRandomSampler")
        self.weights = array
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def _epoch(self) -> np.ndarray:
        w, k = self.weights, self.num_samples
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError(
                "WeightedRandomSampler: weights must be a non-empty array of finite, non-negative numbers"
            )
        total = w.sum()
        if total <= 0:
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution (sum of weights <= 0)")
        rng = _rng(self.generator)
        if self.replacement:
            return rng.choice(w.size, size=k, replace=True, p=w / total).astype(np.int64, copy=False)
        if k > w.size:
            raise RuntimeError(
                f"WeightedRandomSampler: cannot draw {k} samples without replacement from {w.size} weights"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = w / rng.exponential(size=w.size)
        return np.argsort(-keys, kind="stable")[:k].astype(np.int64, copy=False)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[Any]]):
    """The keys of ``sampler`` (any iterable) in lists of ``batch_size``; with ``drop_last``
    the last, short list is dropped. ``len`` = number of lists (needs ``len(sampler)``).

    Raises ValueError if ``batch_size`` is not a positive integer or ``drop_last`` not a
    bool, as torch.
    """

    def __init__(self, sampler: Sampler[Any] | Iterable[Any], batch_size: int, drop_last: bool) -> None:
        if not _is_int(batch_size) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def index_batches(self) -> Iterator[Any]:
        """The epoch's batches, drawn now: int64 arrays sliced from one array when the sampler
        is one of minicnn's, else lists of the keys the sampler yields."""
        keys = epoch_keys(self.sampler)
        if keys is None:
            return self._grouped(iter(self.sampler))
        size, step = len(keys), self.batch_size
        stop = size - size % step if self.drop_last else size
        return (keys[start : start + step] for start in range(0, stop, step))

    def _grouped(self, keys: Iterator[Any]) -> Iterator[list[Any]]:
        while batch := list(itertools.islice(keys, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __iter__(self) -> Iterator[list[Any]]:
        return (b.tolist() if isinstance(b, np.ndarray) else b for b in self.index_batches())

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class _InfiniteConstantSampler(Sampler[None]):
    """The sampler of a DataLoader over an IterableDataset (as torch's): None forever."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)
