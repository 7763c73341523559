"""torch's copy variants of its view ops (``torch.permute_copy``, ``torch.split_copy``, ...), the
``unsafe_`` splits, and a few other top-level ops that are a view op or a search plus a copy.

Each ``*_copy`` is the view op of its name followed by a copy (:func:`_fresh`): the result has the
view's shape and values, its own C-ordered memory (never a view of ``input``), and the view op's
gradients (a copy passes the gradient through unchanged). Cost: the view op plus one pass over
the result. The ``unsafe_`` splits are torch's splits without its view bookkeeping; here they
return copies too, so writing into one piece never reaches ``input``.

* :func:`slice_inverse` -- the tensor that a slice was cut from, rebuilt from the piece ``input``
  and the base ``src``: ``src`` with its slice replaced by ``input`` (torch views ``input``'s
  storage with ``src``'s shape; on a piece cut from ``src`` both give ``src``'s values and gradients).
* :func:`nonzero_static` -- :meth:`Tensor.nonzero` cut or padded with ``fill_value`` to ``size`` rows.
* :func:`max_pool1d_with_indices` -- ``F.max_pool1d(..., return_indices=True)``.
* :func:`view_dtype` -- ``Tensor.view(dtype)``: the memory read as another dtype, a view outside
  autograd (``view_copy(input, dtype)`` copies it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import autograd, backend
from ..autograd import Tensor
from ..tensor_methods import number_outputs
from .aliases import _pool_stride
from .aliases_tensor import as_strided
from .conv1d import max_pool1d
from .dims import wrap_dim
from .math import clone
from .shape import _slice_along, getitem, split
from .shape_extra import slice_scatter, split_with_sizes, unfold


def _fresh(out: Any) -> Any:
    """``out`` (a tensor or a tuple of tensors) copied into new memory; the gradient passes through."""
    return number_outputs(tuple(clone(t) for t in out)) if isinstance(out, (tuple, list)) else clone(out)


def _slice(input: Tensor, dim: int, start: int | None, end: int | None, step: int, name: str) -> Tensor:  # noqa: A002
    """The view ``input[..., start:end:step, ...]`` along ``dim`` (torch.slice's clamping rules)."""
    if input.ndim == 0:
        raise IndexError(f"{name}(): cannot be applied to a 0-dim tensor.")
    if int(step) <= 0:
        raise RuntimeError(f"{name}(): slice step must be positive, got {step}")
    d = wrap_dim(dim, input.ndim, name)
    bounds = (None if start is None else int(start), None if end is None else int(end), int(step))
    return getitem(input, _slice_along(d, slice(*bounds)))


def alias_copy(input: Tensor) -> Tensor:  # noqa: A002 - torch's names
    """torch.alias_copy: a copy of ``input`` (torch.alias is a view with the same shape)."""
    return clone(input)


def as_strided_copy(
    input: Tensor,  # noqa: A002
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """torch.as_strided_copy: :func:`as_strided` as a new tensor."""
    return _fresh(as_strided(input, size, stride, storage_offset))


def detach_copy(input: Tensor) -> Tensor:  # noqa: A002
    """torch.detach_copy: a copy of ``input`` outside the graph (requires_grad False)."""
    return _fresh(input.detach())


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """torch.diagonal_copy: ``input.diagonal(offset, dim1, dim2)`` as a new tensor."""
    return _fresh(input.diagonal(offset, dim1, dim2))


def expand_copy(input: Tensor, size: Sequence[int], *, implicit: bool = False) -> Tensor:  # noqa: A002
    """torch.expand_copy: ``input.expand(size)`` as a new tensor (each repeated element stored;
    ``implicit`` is accepted and ignored, as torch does)."""
    return _fresh(input.expand(tuple(size) if isinstance(size, (tuple, list)) else size))


def permute_copy(input: Tensor, dims: Sequence[int]) -> Tensor:  # noqa: A002
    """torch.permute_copy: ``input.permute(dims)`` as a new tensor."""
    return _fresh(input.permute(tuple(dims)))


def select_copy(input: Tensor, dim: int, index: int) -> Tensor:  # noqa: A002
    """torch.select_copy: ``input.select(dim, index)`` as a new tensor."""
    return _fresh(input.select(dim, index))


def slice_copy(
    input: Tensor,  # noqa: A002
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
) -> Tensor:
    """torch.slice_copy: ``input[..., start:end:step, ...]`` along ``dim`` as a new tensor
    (out-of-range bounds clamp, a negative one counts from the end; ``step`` must be positive)."""
    return _fresh(_slice(input, dim, start, end, step, "slice_copy"))


def slice_inverse(
    input: Tensor,  # noqa: A002
    src: Tensor,
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
) -> Tensor:
    """torch.slice_inverse: the base ``src`` with its slice ``[start:end:step]`` along ``dim``
    replaced by ``input``, as a new tensor; gradients as :func:`slice_scatter`'s (for a piece cut
    from ``src``, ``src`` gets the whole gradient, as in torch)."""
    _slice(src, dim, start, end, step, "slice_inverse")  # (checks dim and step)
    return slice_scatter(src, input, dim, start, end, step)


def _split_size(split_size: Any, name: str) -> int:
    """``split_size`` as an int; TypeError for a list of sizes, as torch (those are ``*split_with_sizes*``)."""
    if not isinstance(split_size, (int, np.integer)) or isinstance(split_size, bool):
        raise TypeError(f"{name}(): argument 'split_size' (position 2) must be int, not {type(split_size).__name__}")
    return int(split_size)


def split_copy(input: Tensor, split_size: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """torch.split_copy: the pieces of ``input.split(split_size, dim)`` (an int size), each a new tensor."""
    return _fresh(split(input, _split_size(split_size, "split_copy"), dim))


def split_with_sizes_copy(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """torch.split_with_sizes_copy: the pieces of :func:`split_with_sizes`, each a new tensor."""
    return _fresh(split_with_sizes(input, split_sizes, dim))


def squeeze_copy(input: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """torch.squeeze_copy: ``input.squeeze(dim)`` (an int, a tuple of ints or None) as a new tensor."""
    return _fresh(input.squeeze() if dim is None else input.squeeze(dim))


def t_copy(input: Tensor) -> Tensor:  # noqa: A002
    """torch.t_copy: ``input.t()`` as a new tensor."""
    return _fresh(input.t())


def transpose_copy(input: Tensor, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """torch.transpose_copy: ``input.transpose(dim0, dim1)`` as a new tensor."""
    return _fresh(input.transpose(dim0, dim1))


def unbind_copy(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """torch.unbind_copy: the tensors of ``input.unbind(dim)``, each a new tensor."""
    return _fresh(input.unbind(dim))


def unfold_copy(input: Tensor, dimension: int, size: int, step: int) -> Tensor:  # noqa: A002
    """torch.unfold_copy: ``input.unfold(dimension, size, step)`` as a new tensor."""
    return _fresh(unfold(input, dimension, size, step))


def unsqueeze_copy(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    """torch.unsqueeze_copy: ``input.unsqueeze(dim)`` as a new tensor."""
    return _fresh(input.unsqueeze(dim))


def view_copy(input: Tensor, size: Any = None, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.view_copy: ``input.view(size)`` (a shape, one of whose sizes may be -1) or
    ``input.view(dtype)`` (its bits read as ``dtype``: see :func:`view_dtype`) as a new tensor."""
    if dtype is not None or is_dtype(size):
        if dtype is not None and size is not None:
            raise TypeError("view_copy(): give either a size or a dtype, not both")
        return clone(view_dtype(input, size if dtype is None else dtype))
    return _fresh(input.view(tuple(size) if isinstance(size, (tuple, list)) else size))


def is_dtype(value: Any) -> bool:
    """Whether ``value`` names a dtype (a NumPy dtype or scalar type, as ``mc.float32`` / ``np.int8``)."""
    return isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic))


def view_dtype(input: Tensor, dtype: Any) -> Tensor:  # noqa: A002
    """torch's ``Tensor.view(dtype)``: the memory of ``input`` read as ``dtype``, with no copy.

    Same element size: the same shape and strides. A different one: the last dim (which must
    have stride 1, a size divisible by the ratio when the new elements are larger, and the other
    strides and the offset in memory must fit whole new elements) is scaled by the size ratio;
    a 0-d tensor cannot change element size. torch's RuntimeErrors otherwise. The result shares
    ``input``'s memory and version counter, and is outside autograd (requires_grad False, as
    torch's view(dtype)). Cost O(1).
    """
    t = autograd._latest(input)
    a, new = t.array, np.dtype(dtype)
    old_size, new_size = a.dtype.itemsize, new.itemsize
    if old_size != new_size:
        what = f"to view {a.dtype} as {new} (different element sizes)"
        if a.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        strides = t.stride()  # torch's (also for an empty tensor, where NumPy's may be zeros)
        # a size-1 dim's stride means nothing: NumPy's, unlike torch's, may be any number
        if a.shape[-1] != 1 and strides[-1] != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
        if new_size > old_size:
            ratio = new_size // old_size
            if a.shape[-1] % ratio:
                raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {what}, but got {a.shape[-1]}")
            offset = t.storage_offset() if a.size else 0
            if offset % ratio:
                raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {what}, but got {offset}")
            for d in range(a.ndim - 1):  # (torch checks a size-1 dim too: its stride is torch's when empty)
                if (a.shape[d] != 1 or not a.size) and strides[d] % ratio:
                    raise RuntimeError(f"self.stride({d}) must be divisible by {ratio} {what}, but got {strides[d]}")
    with backend.array_scope(a):
        view = a.view(new)
    out = Tensor(view)
    out._share_version(t)
    out._inference = t._inference
    return out


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """torch.unsafe_chunk: the pieces of ``input.chunk(chunks, dim)``, each a new tensor."""
    return _fresh(input.chunk(chunks, dim))


def unsafe_split(tensor: Tensor, split_size: int, dim: int = 0) -> tuple[Tensor, ...]:
    """torch.unsafe_split: the pieces of ``split(tensor, split_size, dim)`` (an int size), each a new tensor."""
    return _fresh(split(tensor, _split_size(split_size, "unsafe_split"), dim))


def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """torch.unsafe_split_with_sizes: the pieces of :func:`split_with_sizes`, each a new tensor."""
    return _fresh(split_with_sizes(input, split_sizes, dim))


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:  # noqa: A002
    """torch.nonzero_static: the (size, input.ndim) int64 indices of the first ``size`` nonzero
    elements in row-major order (those of ``input.nonzero()``), rows past the last one filled
    with ``fill_value``. Not differentiable. Cost O(numel)."""
    size = int(size)
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    found = input.nonzero().array
    xp = backend.get_array_module(found)
    with backend.array_scope(found):
        out = xp.full((size, input.ndim), int(fill_value), dtype=np.int64)
        n = min(size, found.shape[0])
        out[:n] = found[:n]
    return Tensor(out)


def max_pool1d_with_indices(
    input: Tensor,  # noqa: A002
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[Tensor, Tensor]:
    """torch.max_pool1d_with_indices: ``F.max_pool1d(..., return_indices=True)``, the pair
    (values, int64 positions in L of the maxima) of (N, C, L) or (C, L) input (``stride=()``:
    the kernel size)."""
    values, indices = max_pool1d(input, kernel_size, _pool_stride(stride), padding, dilation, ceil_mode, True)
    return values, indices
