"""Pooling layers: thin Modules over ``mc.nn.functional``'s pools, torch's signatures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd import Tensor
from ..ops import fractional_pool as FP
from ..ops import pool as P
from ..ops.conv1d import adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, max_pool1d
from .module import Module


class _Pool(Module):
    def _name(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class MaxPool2d(_Pool):
    """Max over k x k windows; stride defaults to kernel_size. (N, C, H, W) -> (N, C, OH, OW)."""

    def __init__(
        self,
        kernel_size: P.IntPair,
        stride: P.IntPair | None = None,
        padding: P.IntPair = 0,
        dilation: P.IntPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    _pool = staticmethod(P.max_pool2d)

    def forward(self, input: Tensor) -> Any:
        return self._pool(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
            _layer=self._name(),
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(_Pool):
    """Mean over k x k windows; stride defaults to kernel_size. (N, C, H, W) -> (N, C, OH, OW)."""

    def __init__(
        self,
        kernel_size: P.IntPair,
        stride: P.IntPair | None = None,
        padding: P.IntPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return P.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
            _layer=self._name(),
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(_Pool):
    """Average over torch's adaptive bins to a fixed output size (None keeps that axis)."""

    _pool = staticmethod(P.adaptive_avg_pool2d)

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return self._pool(input, self.output_size, _layer=self._name())

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(_Pool):
    """Max over torch's adaptive bins to a fixed output size (None keeps that axis)."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    _pool = staticmethod(P.adaptive_max_pool2d)

    def forward(self, input: Tensor) -> Any:
        return self._pool(input, self.output_size, self.return_indices, _layer=self._name())

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average over torch's adaptive bins along L: (N, C, L) -> (N, C, output_size)."""

    _pool = staticmethod(adaptive_avg_pool1d)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Max over torch's adaptive bins along L: (N, C, L) -> (N, C, output_size)."""

    _pool = staticmethod(adaptive_max_pool1d)


class MaxPool1d(MaxPool2d):
    """Max over windows of k along L; stride defaults to kernel_size. (N, C, L) -> (N, C, OL)
    (MaxPool2d's settings and repr, over one dimension)."""

    _pool = staticmethod(max_pool1d)


class AvgPool1d(_Pool):
    """Mean over windows of k along L; stride defaults to kernel_size. (N, C, L) -> (N, C, OL)."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()

        def single(v: Any) -> tuple[int]:
            return (int(v[0]),) if isinstance(v, (tuple, list)) else (int(v),)

        self.kernel_size = single(kernel_size)
        self.stride = single(stride if stride is not None else kernel_size)
        self.padding = single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            _layer=self._name(),
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class FractionalMaxPool2d(_Pool):
    """Max over kernel-sized windows at torch's pseudo-random starts, to ``output_size`` (or
    ``output_ratio`` times the input size): (N, C, H, W) -> (N, C, OH, OW). New samples are drawn
    at every call unless ``_random_samples`` (N, C, 2), a buffer, fixes them."""

    _n = 2
    _pool = staticmethod(FP.fractional_max_pool2d)

    def __init__(
        self,
        kernel_size: Any,
        output_size: Any = None,
        output_ratio: Any = None,
        return_indices: bool = False,
        _random_samples: Any = None,
    ) -> None:
        super().__init__()
        name, n = type(self).__name__, self._n
        self.kernel_size = _ntuple(kernel_size, n)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _ntuple(output_size, n) if output_size is not None else None
        self.output_ratio = _ntuple(output_ratio, n) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"{name}: output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor) -> Any:
        return self._pool(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
            _layer=type(self).__name__,
        )

    def extra_repr(self) -> str:
        return ""  # torch's repr: FractionalMaxPool2d()


class FractionalMaxPool3d(FractionalMaxPool2d):
    """3-d fractional max pooling: (N, C, T, H, W) -> (N, C, OT, OH, OW); samples (N, C, 3)."""

    _n = 3
    _pool = staticmethod(FP.fractional_max_pool3d)


def _ntuple(v: Any, n: int) -> tuple:
    """torch's ``_pair`` / ``_triple``: an iterable as a tuple, anything else repeated n times."""
    return tuple(v) if isinstance(v, Iterable) else (v,) * n
