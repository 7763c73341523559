"""Layers that only move data: PixelShuffle, PixelUnshuffle, ChannelShuffle, Unflatten,
ZeroPad2d and ConstantPad2d, with torch's constructor arguments, attributes and reprs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Tensor
from ..ops.pixel import channel_shuffle, pixel_shuffle, pixel_unshuffle, unflatten
from ..ops.shape import pad
from .module import Module


class PixelShuffle(Module):
    """(*, C*r^2, H, W) -> (*, C, H*r, W*r), r = upscale_factor (sub-pixel convolution's output)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H*r, W*r) -> (*, C*r^2, H, W), r = downscale_factor (PixelShuffle's inverse)."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """(N, C, *) -> (N, C, *), channels interleaved across ``groups`` (ShuffleNet)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (a tuple or list of ints, one may be -1)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                f"unflattened_size must be a tuple of ints, but found type {type(unflattened_size).__name__}"
            )
        for i, s in enumerate(unflattened_size):
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
                raise TypeError(
                    f"unflattened_size must be tuple of ints, but found element of type {type(s).__name__} at pos {i}"
                )
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _quadruple(padding: int | Sequence[int]) -> tuple[int, ...]:
    """torch's rule: an int pads all four sides; a sequence is kept as given (left, right, top,
    bottom), and F.pad reads it pairwise from the last dim."""
    if isinstance(padding, (int, np.integer)):
        return (int(padding),) * 4
    return tuple(padding)


class ConstantPad2d(Module):
    """Pad the last two dims with ``value``: padding (left, right, top, bottom), or an int for all
    four; negative widths crop, as F.pad."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__()
        self.padding, self.value = _quadruple(padding), value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """ConstantPad2d with value 0."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"
