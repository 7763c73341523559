"""RMSNorm with torch's signature, parameter (``weight``, ones) and repr."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from .. import backend
from ..autograd import Tensor, default_dtype
from ..ops.rmsnorm import rms_norm
from . import init
from .module import Module, Parameter


class RMSNorm(Module):
    """Normalise input (*, normalized_shape) by its root mean square over the last
    len(normalized_shape) dims, then scale by ``weight`` of shape normalized_shape (without
    ``elementwise_affine``: no weight). ``eps`` None: the machine epsilon of the input's dtype."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(d) for d in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            dt = default_dtype(dtype)
            with backend.device_scope(device):
                self.weight = Parameter(backend.xp_for_device(device).empty(self.normalized_shape, dtype=dt))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:  # torch names this one x
        return rms_norm(x, self.normalized_shape, self.weight, self.eps, _layer=f"RMSNorm({self.normalized_shape})")

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
