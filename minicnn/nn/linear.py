"""Linear, Flatten and Identity layers."""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd import Tensor, default_dtype
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
        register_weight_and_bias(self, (out_features, in_features), out_features, bias, dtype, device)

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self)

    def forward(self, input: Tensor) -> Tensor:
        return linear(input, self.weight, self.bias, _layer=f"Linear({self.in_features}, {self.out_features})")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


def register_weight_and_bias(
    module: Module, weight_shape: tuple[int, ...], out_features: int, bias: bool, dtype: Any, device: Any
) -> None:
    """The parameters weight (``weight_shape``) and bias (``(out_features,)``, or None without
    ``bias``) of Linear and the convolutions, allocated on ``device`` (``dtype`` None: float32)
    and drawn there by ``module.reset_parameters()``, as torch."""
    dt = default_dtype(dtype)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):  # allocate (and draw the init) on that device, as torch
        module.register_parameter("weight", Parameter(xp.empty(weight_shape, dtype=dt)))
        module.register_parameter("bias", Parameter(xp.empty(out_features, dtype=dt)) if bias else None)
        module.reset_parameters()


def reset_weight_and_bias(module: Module) -> None:
    """torch's default init of Linear and the convolutions: weight kaiming_uniform_(a=sqrt(5)),
    bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in (in/groups * kernel size;
    for a transposed convolution out/groups * kernel size, from its (in, out/groups, k...) layout)."""
    init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(module.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(module.bias, -bound, bound)
