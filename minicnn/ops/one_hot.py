"""one_hot: class indices to one-hot int64 rows, as torch.nn.functional.one_hot (not
differentiable: the result is integer)."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Tensor


def one_hot(tensor: Tensor | None = None, num_classes: int = -1, *, input: Tensor | None = None) -> Tensor:
    """int64 indices of shape (*) -> int64 (*, num_classes), 1 at each index and 0 elsewhere.

    torch documents the first parameter as ``tensor`` but its builtin takes it by keyword only
    as ``input``; both names are accepted here, so a keyword call written either way works.

    ``num_classes=-1`` takes 1 + the largest index (which reads it to the host, as torch
    does); it cannot be inferred from an empty tensor. Errors are torch's: RuntimeError for a
    non-int64 input, a negative index, or one not smaller than num_classes (on a GPU that last
    check is deferred to the next host read, see backend.raise_if). Cost: one comparison per
    output element (size * num_classes)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot(): argument 'num_classes' must be int, not {type(num_classes).__name__}")
    if (tensor is None) == (input is None):
        raise TypeError("one_hot() takes the index tensor once: positionally, as tensor= or as input=")
    tensor = input if tensor is None else tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot(): argument 'tensor' must be a Tensor, not {type(tensor).__name__}")
    if tensor.dtype != np.int64:
        raise RuntimeError(
            f"one_hot is only applicable to index tensor of type LongTensor (int64), got dtype {tensor.dtype}"
        )
    idx, xp = tensor.array, tensor.xp
    with backend.array_scope(idx):
        if num_classes == -1:
            if idx.size == 0:
                raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor.")
            num_classes = int(idx.max()) + 1
        if num_classes < 0:  # (checked on the host: no deferred GPU check needed)
            raise RuntimeError(f"one_hot: num_classes must be non-negative or -1, got {num_classes}")
        if idx.size:
            backend.raise_if(idx.min() < 0, RuntimeError, "one_hot: Class values must be non-negative.")
            backend.raise_if(
                idx.max() >= num_classes,
                RuntimeError,
                f"one_hot: Class values must be smaller than num_classes ({num_classes}).",
            )
        classes = xp.arange(int(num_classes), dtype=np.int64)
        return Tensor((idx[..., None] == classes).astype(np.int64))
