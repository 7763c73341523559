"""``mc.nn.utils.rnn`` as torch's: batches of sequences of different lengths, padded or packed.

A padded batch is (T, B, *) (``batch_first``: (B, T, *)) with every sequence written from
time 0 (``padding_side="left"``: ending at T - 1) and ``padding_value`` after it.

A :class:`PackedSequence` stores only the real steps, time-major: the sequences are sorted by
decreasing length (``sorted_indices[i]`` = the batch index of the i-th longest), and
``data`` (sum(lengths), *) holds step 0 of every sequence, then step 1 of those at least 2
long, ...; ``batch_sizes[t]`` (a CPU int64 tensor) = how many sequences have a step t.
``unsorted_indices`` is the inverse permutation. The recurrent layers of
:mod:`minicnn.nn.rnn` take a PackedSequence and run step t on the first batch_sizes[t] rows
only, so that padding never enters a hidden state.

Packing and unpacking are each one gather (an index op), so they are differentiable: the
gradient flows from the packed data back to the padded input and the other way round.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..autograd import Tensor
from ..creation import full, tensor
from ..ops.errors import ShapeError
from ..ops.shape import cat, stack, unbind


class PackedSequence_(NamedTuple):  # noqa: N801 - torch's name
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """(data, batch_sizes, sorted_indices, unsorted_indices): see the module docstring. Built by
    :func:`pack_padded_sequence` / :func:`pack_sequence`, not by hand (as torch)."""

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # torch's positional form PackedSequence((data, batch_sizes))
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)``; the indices follow data's device, batch_sizes stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, device: int | str = 0) -> PackedSequence:
        return self.to(f"cuda:{device}" if isinstance(device, int) else device)

    def double(self) -> PackedSequence:
        return self.to(np.float64)

    def float(self) -> PackedSequence:
        return self.to(np.float32)

    @property
    def is_cuda(self) -> bool:
        return self.data.device.startswith("cuda")


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse permutation (``out[permutation[i]] = i``); None for None."""
    if permutation is None:
        return None
    xp = permutation.xp
    out = xp.empty_like(permutation.array)
    out[permutation.array] = xp.arange(permutation.shape[0], dtype=out.dtype)
    return Tensor(out)


def _lengths(lengths: Any) -> np.ndarray:
    values = lengths.tolist() if isinstance(lengths, Tensor) else lengths
    return np.asarray(values, dtype=np.int64).reshape(-1)


def pack_padded_sequence(
    input: Tensor, lengths: Tensor | list[int], batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) ((B, T, *) with ``batch_first``) of sequences of the given
    ``lengths`` (B,). ``enforce_sorted``: lengths must be decreasing (no sorted_indices);
    otherwise the batch is sorted here and the permutation kept in the result."""
    n = _lengths(lengths)
    if input.numel() == 0:
        raise ShapeError(f"pack_padded_sequence: Cannot pack empty tensors. (input of shape {input.shape})")
    batch = input.shape[0 if batch_first else 1] if input.ndim >= 2 else None
    if input.ndim < 2 or len(n) != batch:
        raise ShapeError(
            "pack_padded_sequence: Expected `len(lengths)` to be equal to batch_size, "
            f"but got {len(n)} (batch_size={batch})"
        )
    if enforce_sorted:
        if np.any(n[1:] > n[:-1]):
            raise ShapeError(
                "pack_padded_sequence: `lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep "
                "this requirement if you do not need ONNX exportability."
            )
        order, sorted_indices = np.arange(len(n)), None
    else:
        order = np.argsort(-n, kind="stable")  # torch's order for equal lengths too
        sorted_indices = tensor(order, device=input.device)
    n = n[order]
    steps = input.shape[1 if batch_first else 0]
    if len(n) and n[-1] <= 0:
        raise ShapeError(
            "pack_padded_sequence: Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0"
        )
    if len(n) and n[0] > steps:
        raise ShapeError(f"pack_padded_sequence: a length ({n[0]}) is longer than the padded sequences ({steps} steps)")
    batch_sizes = np.array([(n > t).sum() for t in range(n[0] if len(n) else 0)], dtype=np.int64)
    t_idx = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    b_idx = order[np.concatenate([np.arange(bs) for bs in batch_sizes]) if len(batch_sizes) else t_idx]
    xp = input.xp
    index = (xp.asarray(b_idx), xp.asarray(t_idx)) if batch_first else (xp.asarray(t_idx), xp.asarray(b_idx))
    return PackedSequence(input[index], tensor(batch_sizes, device="cpu"), sorted_indices)  # (torch: on the CPU)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length: int | None = None
) -> tuple[Tensor, Tensor]:
    """The padded batch (T, B, *) ((B, T, *) with ``batch_first``) of a PackedSequence, in the
    original batch order, and the lengths (B,) as a CPU int64 tensor. ``total_length`` pads to
    that many steps (at least the longest sequence)."""
    data = sequence.data
    batch_sizes = np.asarray(sequence.batch_sizes.tolist(), dtype=np.int64)
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total_length} and max sequence length being {steps}"
            )
        steps = total_length
    batch = int(batch_sizes[0])
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
    # index[t, b]: the row of data holding step t of sequence b, or the padding row after data
    index = np.full((steps, batch), data.shape[0], dtype=np.int64)
    for t, bs in enumerate(batch_sizes):
        index[t, :bs] = offsets[t] + np.arange(bs)
    if sequence.unsorted_indices is not None:
        unsorted = np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)
        index, lengths = index[:, unsorted], lengths[unsorted]
    if batch_first:
        index = index.T
    pad = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = cat([data, pad])[data.xp.asarray(index)]
    return padded, tensor(lengths, device="cpu")


def pad_sequence(
    sequences: Tensor | list[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences (L_i, *) into (max L_i, B, *) ((B, max L_i, *) with ``batch_first``),
    filling with ``padding_value`` after each one (``padding_side="left"``: before it)."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    seqs = unbind(sequences, 0) if isinstance(sequences, Tensor) else list(sequences)
    if not seqs:
        raise ValueError("pad_sequence: received an empty list of sequences")
    trailing = tuple(seqs[0].shape[1:])
    for i, s in enumerate(seqs):
        if s.ndim < 1 or tuple(s.shape[1:]) != trailing:
            raise ShapeError(
                f"pad_sequence: every sequence must have the shape (L, {', '.join(map(str, trailing))}) as the "
                f"first, got {tuple(s.shape)} at index {i}"
            )
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        if s.shape[0] == longest:
            padded.append(s)
            continue
        pad = full((longest - s.shape[0], *trailing), padding_value, dtype=s.dtype, device=s.device)
        padded.append(cat([s, pad] if padding_side == "right" else [pad, s]))
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: list[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *) (decreasing lengths unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False) -> list[Tensor]:
    """The sequences of a padded batch: [padded[:lengths[b], b] for each b] (for the default
    ``padding_side="right"``)."""
    batch = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [batch[b, :length] for b, length in enumerate(_lengths(lengths).tolist())]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a PackedSequence holds, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "pack_sequence",
    "unpad_sequence",
    "unpack_sequence",
]
