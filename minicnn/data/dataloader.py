"""DataLoader: an epoch of shuffled, batched, transformed samples as Tensors.

One epoch (one ``for batch in loader``) works like this:

1. the order: ``arange(N)``, or with ``shuffle=True`` a fresh permutation drawn from
   ``minicnn.random.generator()`` when iteration starts (so ``mc.manual_seed`` fixes every
   epoch's order, and successive epochs differ);
2. each batch of ``batch_size`` consecutive entries of the order is gathered with
   ``dataset.get_batch(indices)`` (one fancy-indexing op per array for MNIST and
   TensorDataset), or by collating ``dataset[i]`` one by one for other datasets;
3. ``transform`` (if any) is applied to each sample's inputs (the batch's first field), as
   the datasets apply theirs: once on the whole field if it declares ``batched = True``
   (minicnn's transforms), else sample by sample (:func:`~.transforms.apply_per_sample`);
4. every field must hold one entry per sample (its first dimension is the batch size), or a
   ValueError says which one does not;
5. every array field becomes a :class:`~minicnn.Tensor`, moved to ``device`` if one is
   given; tuples, namedtuples and dicts of fields keep their structure, lists of str stay.

Every sample appears exactly once per epoch; with ``drop_last=True`` the last, short batch
is skipped. ``len(loader)`` is the number of batches, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..random import generator
from .dataset import fetch_batch
from .transforms import apply_per_sample


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``; ``get_batch(indices)`` is used
            when present.
        batch_size: samples per batch (the last batch may be smaller unless ``drop_last``).
        shuffle: draw a new random order for every epoch.
        drop_last: skip the last batch if it is smaller than ``batch_size``.
        transform: a per-sample transform of each sample's inputs (the first field), applied
            after the dataset's own, e.g. ``transforms.Compose([transforms.ToTensor(),
            transforms.Normalize(...)])``; vectorised over the batch when it is batched.
        device: where the Tensors go (``"cpu"``, ``"cuda"``, ``"cuda:1"``); None keeps host arrays'
            device (CPU).

    Yields: a tuple of Tensors, one per field of the dataset's samples (``(images, labels)`` for
    MNIST and a two-array TensorDataset), or a single Tensor when samples have one field
    (dict samples give a dict of Tensors, str fields a list of str, as torch's DataLoader).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        transform: Callable[[Any], Any] | None = None,
        device: Any = None,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        # num_workers / pin_memory: torch's keywords, accepted so torch code runs unchanged.
        # Batches are one fancy-indexing copy in this process (no per-sample loop to spread
        # over workers), and NumPy has no pinned memory: neither changes what is loaded.
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}")
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if device is not None:
            backend.parse_device(device)  # fail now, not at the first batch
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.device = device

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, not lazily at the first next(), so that iter(loader)
        # alone fixes the epoch.
        n = len(self.dataset)
        order = generator().permutation(n) if self.shuffle else np.arange(n)
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        for b in range(len(self)):
            indices = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield self._to_tensors(fetch_batch(self.dataset, indices), len(indices))

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

    def _wrap(self, batch: Any) -> Any:
        """Arrays -> Tensors (on ``device``), through tuples and dicts; lists of str stay as they are."""
        if isinstance(batch, Mapping):
            return {key: self._wrap(value) for key, value in batch.items()}
        if _is_fields(batch):
            wrapped = [self._wrap(field) for field in batch]
            return type(batch)(*wrapped) if _is_namedtuple(batch) else tuple(wrapped)
        if isinstance(batch, list):  # of str or bytes (default_collate's batch of them)
            return batch
        array = batch.array if isinstance(batch, Tensor) else batch
        if self.device is not None:
            array = backend.to_device(array, self.device)
        return Tensor(array)

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


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
