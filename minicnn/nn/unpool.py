"""Max unpooling and power-average pooling layers: thin Modules over :mod:`minicnn.ops.unpool`,
with torch's signatures, attributes and reprs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..autograd import Tensor
from ..ops import unpool as U
from .module import Module


def _ntuple(v: Any, n: int) -> tuple:
    """torch's ``_single`` / ``_pair``: an iterable as a tuple, anything else repeated n times."""
    return tuple(v) if isinstance(v, Iterable) else (v,) * n


class _Layer(Module):
    def _name(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class MaxUnpool2d(_Layer):
    """The partial inverse of MaxPool2d: (N, C, H, W) values and their int64 indices ->
    (N, C, OH, OW), OH = (H-1)*stride - 2*padding + kernel_size unless ``output_size`` is
    given to forward. Stride defaults to kernel_size."""

    _n = 2
    _unpool = staticmethod(U.max_unpool2d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, self._n)
        self.stride = _ntuple(stride if stride is not None else kernel_size, self._n)
        self.padding = _ntuple(padding, self._n)

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return self._unpool(
            input, indices, self.kernel_size, self.stride, self.padding, output_size, _layer=self._name()
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(MaxUnpool2d):
    """The partial inverse of MaxPool1d: (N, C, L) values and their int64 indices -> (N, C, OL),
    OL = (L-1)*stride - 2*padding + kernel_size unless ``output_size`` is given to forward."""

    _n = 1
    _unpool = staticmethod(U.max_unpool1d)


class LPPool2d(_Layer):
    """Power-average pooling: each output (sum over its window of x^p)^(1/p), p = ``norm_type``
    (inf: the max of |x|). (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size."""

    _pool = staticmethod(U.lp_pool2d)

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> None:
        super().__init__()
        if norm_type == 0:
            raise ValueError(f"{type(self).__name__}: norm_type must be a non-zero value, but got {norm_type}")
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return self._pool(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode, _layer=self._name()
        )

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(LPPool2d):
    """Power-average pooling along L: (N, C, L) -> (N, C, OL), each output (sum over its window
    of x^p)^(1/p)."""

    _pool = staticmethod(U.lp_pool1d)


class MaxUnpool3d(MaxUnpool2d):
    """The partial inverse of MaxPool3d: (N, C, D, H, W) values and their int64 indices ->
    (N, C, OD, OH, OW), OD = (D-1)*stride - 2*padding + kernel_size (OH, OW alike) unless
    ``output_size`` is given to forward. Stride defaults to kernel_size."""

    _n = 3
    _unpool = staticmethod(U.max_unpool3d)


class LPPool3d(LPPool2d):
    """Power-average pooling over D, H, W: (N, C, D, H, W) -> (N, C, OD, OH, OW), each output
    (sum over its window of x^p)^(1/p); stride defaults to kernel_size."""

    _pool = staticmethod(U.lp_pool3d)
