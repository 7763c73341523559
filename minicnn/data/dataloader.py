"""DataLoader: an epoch of shuffled, batched, transformed samples as Tensors.

``torch.utils.data.DataLoader``'s parameters and semantics, loading in this process. One
epoch (one ``for batch in loader``) of a map-style dataset works like this:

1. the keys: ``sampler`` (default :class:`~.sampler.SequentialSampler`, or with
   ``shuffle=True`` a :class:`~.sampler.RandomSampler` drawing ``permutation(N)`` from
   ``generator`` or ``minicnn.random.generator()``), grouped by ``batch_sampler`` (default
   :class:`~.sampler.BatchSampler` of ``batch_size``, ``drop_last``). The epoch is drawn
   when iteration starts (``iter(loader)``), so ``mc.manual_seed`` fixes every epoch's
   order, and successive epochs differ;
2. without ``collate_fn``, each batch of integer indices is gathered with
   ``dataset.get_batch(indices)`` (one fancy-indexing op per array for MNIST, TensorDataset,
   Subset and ConcatDataset of them), or by collating ``dataset[i]`` one by one for other
   datasets; with a ``collate_fn``, the samples are fetched one by one (``dataset[i]``, or
   ``dataset.__getitems__(keys)`` if defined) and ``collate_fn(samples)`` makes the batch;
3. ``transform`` (if any) is applied to each sample's inputs (its first field, or the whole
   sample if it has one). Without ``collate_fn`` it runs on the gathered batch, as the
   datasets apply theirs: once on the whole field if it declares ``batched = True``
   (minicnn's transforms), else sample by sample (:func:`~.transforms.apply_per_sample`).
   With a ``collate_fn`` it runs on each sample before ``collate_fn`` sees it (the same
   result as without, when ``collate_fn`` is :func:`~.dataset.default_collate`);
4. without ``collate_fn``, every field must hold one entry per sample (its first dimension
   is the batch size), or a ValueError says which one does not;
5. every array field becomes a :class:`~minicnn.Tensor`, moved to ``device`` if one is
   given; tuples, namedtuples and dicts of fields keep their structure, lists of str stay.
   A ``collate_fn``'s result is converted the same way: NumPy/CuPy arrays (not of strings or
   objects), NumPy scalars and Tensors become Tensors on ``device``; dicts, tuples and lists
   are converted inside; anything else (Python numbers, str, other objects) passes through.

Every sample appears exactly once per epoch with the default samplers; with
``drop_last=True`` the last, short batch is skipped. ``len(loader)`` is the number of
batches, as in PyTorch. ``batch_size=None`` turns batching off: each sample is yielded on
its own (arrays as Tensors, through ``collate_fn`` if given), as torch's.

An :class:`~.dataset.IterableDataset` is read in order: consecutive samples make a batch
(the last one short unless ``drop_last``); ``shuffle``, ``sampler`` and ``batch_sampler``
raise ValueError, and ``len(loader)`` needs ``len(dataset)`` (else TypeError), as in torch.

Accepted for torch code, without effect since loading happens in this process (NumPy
fancy indexing leaves no per-sample work to spread over workers, and has no pinned memory):
``num_workers``, ``pin_memory``, ``worker_init_fn`` (never called, as in torch with
``num_workers=0``), ``timeout``, ``persistent_workers``, ``prefetch_factor``,
``multiprocessing_context``, ``pin_memory_device``, ``in_order``. They are validated as torch
does: ``prefetch_factor``, ``persistent_workers=True`` and ``multiprocessing_context`` need
``num_workers > 0``. With ``num_workers > 0`` an IterableDataset is still read once (torch
would replicate it in every worker), and :func:`get_worker_info` is None.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.context
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from .dataset import IterableDataset, default_collate, fetch_batch, samples_at
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    _check_generator,
    _InfiniteConstantSampler,
    as_index_array,
    epoch_keys,
)
from .transforms import apply_per_sample

# Attributes that iteration reads through the samplers built in __init__: setting one later
# would silently change nothing, so it raises, as in torch (``shuffle`` is minicnn's own).
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers", "shuffle")


def get_worker_info() -> None:
    """torch's ``get_worker_info()``: None, since minicnn loads in the main process."""
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches (``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style dataset (``__len__`` and ``__getitem__``; ``get_batch(indices)``
            is used when present), or an :class:`~.dataset.IterableDataset`.
        batch_size: samples per batch (the last batch may be smaller unless ``drop_last``);
            None: no batching, one sample at a time.
        shuffle: draw a new random order for every epoch (None is False, as torch).
        drop_last: skip the last batch if it is smaller than ``batch_size``.
        transform: a per-sample transform of each sample's inputs (the first field), applied
            after the dataset's own, e.g. ``transforms.Compose([transforms.ToTensor(),
            transforms.Normalize(...)])``; vectorised over the batch when it is batched.
        device: where the Tensors go (``"cpu"``, ``"cuda"``, ``"cuda:1"``); None keeps host arrays'
            device (CPU).
        num_workers, pin_memory: torch's; validated, no effect (see the module docstring).
        sampler: an iterable of keys (a :class:`~.sampler.Sampler`); excludes ``shuffle``.
        batch_sampler: an iterable of lists of keys; excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        collate_fn: ``collate_fn(list_of_samples) -> batch`` (with ``batch_size=None``:
            ``collate_fn(sample)``); None: the vectorised path with default collation.
        generator: a :class:`minicnn.Generator` or :class:`numpy.random.Generator` for the default shuffle's
            RandomSampler (a ``torch.Generator`` is refused with TypeError); None: minicnn's.
        worker_init_fn, timeout, persistent_workers, prefetch_factor, multiprocessing_context,
            pin_memory_device, in_order: torch's; validated, no effect.

    Yields: a tuple of Tensors, one per field of the dataset's samples (``(images, labels)`` for
    MNIST and a two-array TensorDataset), or a single Tensor when samples have one field
    (dict samples give a dict of Tensors, str fields a list of str, as torch's DataLoader).

    Raises ValueError for the combinations torch refuses (e.g. ``sampler`` with
    ``shuffle=True``, ``batch_sampler`` with ``batch_size``, ``shuffle`` with an
    IterableDataset, ``prefetch_factor`` with ``num_workers=0``) and when setting
    ``batch_size``, ``sampler``, ``batch_sampler``, ``drop_last``, ``dataset``,
    ``persistent_workers`` or ``shuffle`` after construction.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = False,
        drop_last: bool = False,
        transform: Callable[[Any], Any] | None = None,
        device: Any = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        *,
        sampler: Sampler[Any] | Iterable[Any] | None = None,
        batch_sampler: Sampler[Any] | Iterable[Any] | None = None,
        collate_fn: Callable[[Any], Any] | None = None,
        generator: Any = None,
        worker_init_fn: Callable[[int], None] | None = None,
        timeout: float = 0,
        persistent_workers: bool = False,
        prefetch_factor: int | None = None,
        multiprocessing_context: Any = None,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing; "
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if device is not None:
            backend.parse_device(device)  # fail now, not at the first batch

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in {False, None}:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                    f"but got batch_sampler={batch_sampler}"
                )
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
                )
        elif isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        _check_generator(generator, "DataLoader")

        if sampler is None:
            if iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = _shuffle_sampler(dataset, generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))

        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.device = device
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.generator = generator
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        self.worker_init_fn = worker_init_fn
        self.timeout = timeout
        self.persistent_workers = persistent_workers
        self.prefetch_factor = prefetch_factor
        self.multiprocessing_context = _checked_context(multiprocessing_context, self.num_workers)
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self._iterable = iterable
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_initialized") and name in _FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError if the stream has no length, as torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        # The epoch is drawn here, not lazily at the first next(), so that iter(loader)
        # alone fixes it (minicnn's samplers draw in iter()).
        if self._iterable:
            return self._stream(iter(self.dataset))
        if self.batch_sampler is None:  # batch_size=None: one sample per step
            keys = epoch_keys(self.sampler)
            keys = iter(self.sampler) if keys is None else iter(keys.tolist() if isinstance(keys, np.ndarray) else keys)
            return (self._one(self.dataset[key]) for key in keys)
        batch_sampler = self.batch_sampler
        if isinstance(batch_sampler, BatchSampler) and type(batch_sampler).__iter__ is BatchSampler.__iter__:
            batches = batch_sampler.index_batches()  # int64 arrays sliced from one epoch array
        else:
            batches = iter(batch_sampler)
        return (self._load(keys) for keys in batches)

    def _load(self, keys: Any) -> Any:
        """The batch of the samples at ``keys`` (an int64 array or a list of keys)."""
        indices = as_index_array(keys)
        if indices is not None and self.collate_fn is None:
            return self._to_tensors(fetch_batch(self.dataset, indices), len(indices))
        keys = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
        return self._collate(samples_at(self.dataset, keys))

    def _stream(self, samples: Iterator[Any]) -> Iterator[Any]:
        """An IterableDataset's samples, in batches of consecutive ones."""
        if self.batch_size is None:
            for sample in samples:
                yield self._one(sample)
            return
        while batch := list(itertools.islice(samples, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self._collate(batch)
            if len(batch) < self.batch_size:  # the stream ended
                return

    def _collate(self, samples: list[Any]) -> Any:
        """A list of samples -> the batch: default collation, or ``collate_fn``."""
        if self.collate_fn is None:
            return self._to_tensors(default_collate(samples), len(samples))
        if self.transform is not None:
            samples = [self._transform_sample(s) for s in samples]
        return self._convert(self.collate_fn(samples))

    def _one(self, sample: Any) -> Any:
        """One sample without batching (``batch_size=None``), as torch's ``default_convert``."""
        if self.transform is not None:
            sample = self._transform_sample(sample)
        if self.collate_fn is not None:
            sample = self.collate_fn(sample)
        return self._convert(sample)

    def _to_tensors(self, batch: Any, size: int) -> Any:
        """The batch of ``size`` samples with its inputs transformed and every array field a Tensor."""
        if self.transform is not None:
            batch = self._transform_inputs(batch)
        for where, length in _first_dims(batch, "batch"):
            if length != size:
                raise ValueError(
                    f"DataLoader: a batch of {size} samples, but {where} has first dimension {length}; "
                    "every field must hold one entry per sample (does a transform or get_batch treat the "
                    "whole batch as one sample?)"
                )
        return self._wrap(batch)

    def _transform_inputs(self, batch: Any) -> Any:
        """``transform`` applied to each sample's inputs: the first field, or the batch if it has one field."""
        if isinstance(batch, Mapping):
            raise TypeError("DataLoader: transform= needs tuple or array batches; this dataset gives dicts")
        if not _is_fields(batch):
            return apply_per_sample(self.transform, batch)
        inputs = apply_per_sample(self.transform, batch[0])
        rest = list(batch[1:])
        return type(batch)(inputs, *rest) if _is_namedtuple(batch) else (inputs, *rest)

    def _transform_sample(self, sample: Any) -> Any:
        """``transform`` applied to one sample's inputs: its first field, or the sample itself."""
        if isinstance(sample, Mapping):
            raise TypeError("DataLoader: transform= needs tuple or array samples; this dataset gives dicts")
        if not _is_fields(sample):
            return self.transform(sample)  # type: ignore[misc]
        inputs, rest = self.transform(sample[0]), list(sample[1:])  # type: ignore[misc]
        if _is_namedtuple(sample):
            return type(sample)(inputs, *rest)
        return (inputs, *rest) if isinstance(sample, tuple) else [inputs, *rest]

    def _wrap(self, batch: Any) -> Any:
        """Arrays -> Tensors (on ``device``), through tuples and dicts; lists of str stay as they are."""
        if isinstance(batch, Mapping):
            return {key: self._wrap(value) for key, value in batch.items()}
        if _is_fields(batch):
            wrapped = [self._wrap(field) for field in batch]
            return type(batch)(*wrapped) if _is_namedtuple(batch) else tuple(wrapped)
        if isinstance(batch, list):  # of str or bytes (default_collate's batch of them)
            return batch
        return self._tensor(batch)

    def _convert(self, x: Any) -> Any:
        """A collate_fn's result or an unbatched sample: arrays, NumPy scalars and Tensors become
        Tensors (on ``device``) inside dicts, tuples and lists; anything else is left as it is."""
        if isinstance(x, (Tensor, np.ndarray, np.generic)) or backend.is_cupy_array(x):
            return x if x.dtype.kind in "SUOV" else self._tensor(x)  # strings, objects: as torch's default_convert
        if isinstance(x, Mapping):
            return {key: self._convert(value) for key, value in x.items()}
        if _is_namedtuple(x):
            return type(x)(*(self._convert(field) for field in x))
        if isinstance(x, (tuple, list)):
            return type(x)(self._convert(field) for field in x)
        return x

    def _tensor(self, x: Any) -> Tensor:
        array = x.array if isinstance(x, Tensor) else x
        if isinstance(array, np.generic):
            array = np.asarray(array)
        if self.device is not None:
            array = backend.to_device(array, self.device)
        return Tensor(array)

    def __repr__(self) -> str:
        try:
            size = f" of {len(self.dataset)}"
        except TypeError:  # a stream without a length
            size = ""
        return (
            f"DataLoader(dataset={type(self.dataset).__name__}{size}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _shuffle_sampler(dataset: Any, generator: Any) -> RandomSampler:
    """The default shuffle's ``RandomSampler(dataset, generator=generator)``. For an empty
    dataset it gives empty epochs, where torch's RandomSampler raises ValueError."""
    if len(dataset) > 0:
        return RandomSampler(dataset, generator=generator)
    sampler = RandomSampler(range(1), generator=generator)  # built on a stand-in to pass the check
    sampler.data_source = dataset  # num_samples follows len(data_source) at every epoch
    return sampler


def _checked_context(context: Any, num_workers: int) -> Any:
    """torch's checks of ``multiprocessing_context`` (a start method's name or a context)."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError(
            "multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
            f"but got num_workers={num_workers}"
        )
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(
                f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                f"but got multiprocessing_context={context!r}"
            )
        context = multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(
            "multiprocessing_context option should be a valid context object or a string specifying the "
            f"start method, but got multiprocessing_context={context}"
        )
    return context


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _is_fields(batch: Any) -> bool:
    """Whether ``batch`` is a tuple or list of fields (not a list of str, which is one field)."""
    if isinstance(batch, tuple):
        return True
    return isinstance(batch, list) and not all(isinstance(item, (str, bytes)) for item in batch)


def _first_dims(batch: Any, where: str) -> Iterator[tuple[str, int | None]]:
    """(where, first dimension) of every field of ``batch``, recursively; None for a 0-d one."""
    if isinstance(batch, Mapping):
        for key, value in batch.items():
            yield from _first_dims(value, f"{where}[{key!r}]")
    elif _is_fields(batch):
        for i, field in enumerate(batch):
            yield from _first_dims(field, f"{where}[{i}]")
    elif isinstance(batch, list):
        yield where, len(batch)
    else:
        shape = tuple(getattr(batch, "shape", np.shape(batch)))
        yield f"{where} (shape {shape})", shape[0] if shape else None
