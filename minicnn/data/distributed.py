"""``torch.utils.data.distributed.DistributedSampler``: each of ``num_replicas`` processes reads
its own share of the dataset.

minicnn has no process groups, so ``num_replicas`` and ``rank`` must be given (torch reads them
from the initialised distributed package and raises RuntimeError when it cannot). Padding,
``drop_last`` and the rank's stride are torch's exactly. With ``shuffle`` the epoch's order is a
permutation drawn from ``numpy.random.default_rng(seed + epoch)``: deterministic per (seed,
epoch) and the same on every rank, so the ranks still partition the (padded) dataset, but not
torch's order (torch draws it from a ``torch.Generator``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """The indices of ``dataset`` for process ``rank`` of ``num_replicas``: every
    ``num_replicas``-th index starting at ``rank``, of the (shuffled) index list padded by
    repeating its start to a multiple of ``num_replicas`` (or, with ``drop_last``, cut to one).
    Call :meth:`set_epoch` before each epoch for a new shuffle."""

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            raise RuntimeError(
                "DistributedSampler: minicnn has no distributed process group; pass num_replicas and rank explicitly"
            )
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch: with ``shuffle``, each epoch gets its own order (the same on all ranks)."""
        self.epoch = epoch
