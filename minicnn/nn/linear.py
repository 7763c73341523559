"""Linear, Flatten and Identity layers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import DEFAULT_DTYPE, Tensor
from ..ops.linear import linear
from ..ops.shape import flatten
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b; x: (*, in_features) -> (*, out_features).

    Init as torch: W ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a=sqrt(5)), b likewise.
    ``device`` and ``dtype`` are torch's factory arguments (None: the CPU, float32).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dt = DEFAULT_DTYPE if dtype is None else np.dtype(dtype)
        xp = backend.xp_for_device(device)
        with backend.device_scope(device):  # allocate (and draw the init) on that device, as torch
            self.weight = Parameter(xp.empty((out_features, in_features), dtype=dt))
            if bias:
                self.bias = Parameter(xp.empty(out_features, dtype=dt))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias, _layer=f"Linear({self.in_features}, {self.out_features})")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x
