"""Rearrangements of pixels and channels: pixel_shuffle, pixel_unshuffle, channel_shuffle, and
unflatten (one dim split into several).

Each but channel_shuffle is a composition of reshape and permute from ops/shape.py, so the
gradient is those ops' backward (reshape back, inverse permutation). channel_shuffle, one copy
in a training step's every ShuffleNet block, is one Function (:class:`ChannelShuffle`) instead
of three nodes. Errors follow torch's types (RuntimeError for a shape that does not fit,
TypeError for a non-int factor).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from .dims import wrap_dim
from .shape import permute, reshape


def _factor(value: int, name: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    if value <= 0:
        raise RuntimeError(f"{op} expects a positive {name}, but got {value}")
    return int(value)


def _at_least_3d(input: Tensor, op: str) -> None:
    if input.ndim < 3:
        raise RuntimeError(
            f"{op} expects input to have at least 3 dimensions, but got input with {input.ndim} dimension(s) "
            f"(shape {input.shape})"
        )


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r^2, H, W) -> (*, C, H*r, W*r) with r = upscale_factor: output pixel
    (c, h*r + i, w*r + j) is input (c*r^2 + i*r + j, h, w). Pure data movement (two reshapes
    and a permute, one copy of the input)."""
    r = _factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    _at_least_3d(input, "pixel_shuffle")
    *batch, C, H, W = input.shape
    if C % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={C} is not divisible by {r * r} (input shape {input.shape})"
        )
    nb, Co = len(batch), C // (r * r)
    x = reshape(input, (*batch, Co, r, r, H, W))
    x = permute(x, (*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2))  # (*, Co, H, r, W, r)
    return reshape(x, (*batch, Co, H * r, W * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r^2, H, W) with r = downscale_factor: the inverse of
    pixel_shuffle."""
    r = _factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    _at_least_3d(input, "pixel_unshuffle")
    *batch, C, Hr, Wr = input.shape
    for size, name, dim in ((Hr, "height", -2), (Wr, "width", -1)):
        if size % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but input.size({dim})={size} "
                f"is not divisible by {r} (input shape {input.shape})"
            )
    nb, H, W = len(batch), Hr // r, Wr // r
    x = reshape(input, (*batch, C, H, r, W, r))
    x = permute(x, (*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3))  # (*, C, r, r, H, W)
    return reshape(x, (*batch, C * r * r, H, W))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) -> (N, C, *) with the channels seen as (groups, C/groups) transposed to
    (C/groups, groups): output channel k*groups + g is input channel g*(C/groups) + k
    (ShuffleNet's shuffle)."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"channel_shuffle(): argument 'groups' must be int, not {type(groups).__name__}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(input.shape)}")
    C = input.shape[1]
    if C % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {C} channels and {groups} groups.")
    return ChannelShuffle.apply(input, groups=int(groups))


def shuffle_channels(x: Any, groups: int) -> Any:
    """A new array: x (N, C, *) with its channels seen as (groups, C/groups) transposed, i.e.
    ``out[:, k*groups + g] = x[:, g*(C/groups) + k]``. One copy of x (always a new array, as
    torch's, even where the shuffle is the identity)."""
    N, C, *rest = x.shape
    xp = backend.get_array_module(x)
    out = xp.empty_like(x)
    out.reshape(N, C // groups, groups, *rest)[...] = x.reshape(N, groups, C // groups, *rest).swapaxes(1, 2)
    return out


class ChannelShuffle(Function):
    """channel_shuffle as one node (torch's ChannelShuffleBackward0): the gradient is gy
    shuffled back, which is the shuffle with C/groups groups."""

    linear = True

    def forward(self, x):
        self.channels = x.shape[1]
        return shuffle_channels(x, self.groups)

    def backward(self, gy):
        # (no channels: an empty gradient, where torch's backward raises for its 0 groups)
        return shuffle_channels(gy, max(self.channels // self.groups, 1))


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` of input into ``sizes`` (one entry may be -1, inferred), as torch's
    ``Tensor.unflatten``: (*, prod(sizes), **) -> (*, *sizes, **)."""
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    d = wrap_dim(dim, input.ndim, "unflatten")
    n = input.shape[d] if input.ndim else 1
    if sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred, got sizes {list(sizes)}")
    known = 1
    for s in sizes:
        if s != -1:
            known *= s
    if -1 in sizes:
        if known == 0 or n % known:
            raise RuntimeError(
                f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({n}) "
                "in the input tensor"
            )
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    elif known != n:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({n}) "
            "in the input tensor"
        )
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1 :])
