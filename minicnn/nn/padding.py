"""Padding layers, torch's names, arguments and reprs: ConstantPad{1,2,3}d, ZeroPad{1,2,3}d,
ReflectionPad{1,2,3}d, ReplicationPad{1,2,3}d and CircularPad{1,2,3}d, each ``F.pad`` of the
last 1, 2 or 3 dims (see ``ops/pad.py`` and ``kernels/pad.py``).

``padding``: an int pads every side; a sequence of 2k ints is (left, right[, top, bottom[,
front, back]]), read pairwise from the last dim as F.pad reads it. Negative widths crop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Tensor
from ..ops.pad import pad
from .module import Module


def _widths(padding: int | Sequence[int], k: int) -> tuple[int, ...]:
    """torch's rule: an int pads all 2k sides; a sequence is kept as given."""
    if isinstance(padding, (int, np.integer)):
        return (int(padding),) * (2 * k)
    return tuple(int(p) for p in padding)


class _PadNd(Module):
    """F.pad(input, padding, mode) over the last ``k`` dims; the mode and k come from the class."""

    mode = "constant"
    k = 2

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _widths(padding, self.k)

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: padding (left, right) or an int for both."""

    k = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``: padding (left, right, top, bottom) or an int for all."""

    k = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``: (left, right, top, bottom, front, back) or an int."""

    k = 3


class ZeroPad1d(ConstantPad1d):
    """ConstantPad1d with value 0."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """ConstantPad2d with value 0."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """ConstantPad3d with value 0."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Mirror the last dim without repeating the edge, (C, W) or (N, C, W); widths < W."""

    mode, k = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirror the last two dims, (C, H, W) or (N, C, H, W); widths below the sizes."""

    mode, k = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirror the last three dims, (C, D, H, W) or (N, C, D, H, W)."""

    mode, k = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeat the edge value of the last dim, (C, W) or (N, C, W)."""

    mode, k = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeat the edge values of the last two dims, (C, H, W) or (N, C, H, W)."""

    mode, k = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeat the edge values of the last three dims, (C, D, H, W) or (N, C, D, H, W)."""

    mode, k = "replicate", 3


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (self.k + 1, self.k + 2):  # torch checks this here, before F.pad
            raise ValueError(
                f"{type(self).__name__}: expected {self.k + 1}D or {self.k + 2}D input (got {input.ndim}D input)"
            )
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """Wrap the last dim around, (C, W) or (N, C, W); widths at most W."""

    k = 1


class CircularPad2d(_CircularPadNd):
    """Wrap the last two dims around, (C, H, W) or (N, C, H, W)."""

    k = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last three dims around, (C, D, H, W) or (N, C, D, H, W)."""

    k = 3
