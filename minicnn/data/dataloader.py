"""DataLoader: an epoch of shuffled, batched, transformed samples as Tensors.

One epoch (one ``for batch in loader``) works like this:

1. the order: ``arange(N)``, or with ``shuffle=True`` a fresh permutation drawn from
   ``minicnn.random.generator()`` when iteration starts (so ``mc.manual_seed`` fixes every
   epoch's order, and successive epochs differ);
2. each batch of ``batch_size`` consecutive entries of the order is gathered with
   ``dataset.get_batch(indices)`` (one fancy-indexing op per array for MNIST and
   TensorDataset), or by collating ``dataset[i]`` one by one for other datasets;
3. ``transform`` (if any) is applied to the batch's first field, the inputs;
4. every field becomes a :class:`~minicnn.Tensor`, moved to ``device`` if one is given.

Every sample appears exactly once per epoch; with ``drop_last=True`` the last, short batch
is skipped. ``len(loader)`` is the number of batches, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..random import generator
from .dataset import fetch_batch


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``; ``get_batch(indices)`` is used
            when present.
        batch_size: samples per batch (the last batch may be smaller unless ``drop_last``).
        shuffle: draw a new random order for every epoch.
        drop_last: skip the last batch if it is smaller than ``batch_size``.
        transform: called on the batch's inputs (its first field) after the dataset's own
            transform, e.g. ``transforms.Compose([transforms.ToTensor(), transforms.Normalize(...)])``.
        device: where the Tensors go (``"cpu"``, ``"cuda"``, ``"cuda:1"``); None keeps host arrays'
            device (CPU).

    Yields: a tuple of Tensors, one per field of the dataset's samples (``(images, labels)`` for
    MNIST and a two-array TensorDataset), or a single Tensor when samples have one field.
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
            yield self._to_tensors(fetch_batch(self.dataset, order[b * self.batch_size : (b + 1) * self.batch_size]))

    def _to_tensors(self, batch: Any) -> Any:
        fields = list(batch) if isinstance(batch, (tuple, list)) else [batch]
        if self.transform is not None:
            fields[0] = self.transform(fields[0])
        arrays = [f.array if isinstance(f, Tensor) else f for f in fields]
        if self.device is not None:
            arrays = [backend.to_device(a, self.device) for a in arrays]
        tensors = tuple(Tensor(a) for a in arrays)
        return tensors if isinstance(batch, (tuple, list)) else tensors[0]

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
