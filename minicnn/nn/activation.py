"""Activation layers: thin Modules over ``mc.nn.functional``.

``inplace=True`` (ReLU, ReLU6, LeakyReLU) is accepted and printed, as torch's, but the layers
compute out of place: the values and gradients are the same, and in minicnn a recorded
in-place write costs a copy of the old value rather than saving one (the torchvision-style
models pass ``inplace=True`` everywhere). ``F.relu(x, inplace=True)`` does write into ``x``.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import backend
from ..autograd import Tensor, default_dtype
from ..ops import activation as A
from . import init
from .module import Module, Parameter


class ReLU(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return A.relu(input)  # never in place: ``inplace`` is accepted (and printed) for torch's API

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU6(ReLU):
    def forward(self, input: Tensor) -> Tensor:
        return A.relu6(input)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return A.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return A.sigmoid(input)


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return A.tanh(input)


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return A.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels of every pixel: (N, C, H, W) or (C, H, W), along dim -3."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return A.softmax(input, -3)


class RReLU(Module):
    """Randomised leaky ReLU (F.rrelu): per-element slopes from U(lower, upper) in training,
    the mean slope (lower+upper)/2 in eval mode."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return A.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class LogSoftmax(Softmax):
    def forward(self, input: Tensor) -> Tensor:
        return A.log_softmax(input, self.dim)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold`` (F.softplus)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return A.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


def _inplace_repr(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class GELU(Module):
    """x Phi(x), or its tanh approximation (F.gelu)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return A.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x sigmoid(x) (F.silu); ``inplace`` accepted and printed, computed out of place."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return A.silu(input)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class SELU(SiLU):
    """SELU's scaled elu (F.selu)."""

    def forward(self, input: Tensor) -> Tensor:
        return A.selu(input)


class Mish(SiLU):
    """x tanh(softplus(x)) (F.mish)."""

    def forward(self, input: Tensor) -> Tensor:
        return A.mish(input)


class Hardswish(Module):
    """x relu6(x + 3) / 6 (F.hardswish); ``inplace`` accepted but not printed, as torch's."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return A.hardswish(input)


class Hardsigmoid(Hardswish):
    """relu6(x + 3) / 6 (F.hardsigmoid)."""

    def forward(self, input: Tensor) -> Tensor:
        return A.hardsigmoid(input)


class ELU(Module):
    """x for x > 0, alpha (exp(x) - 1) otherwise (F.elu)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return A.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)) (F.celu)."""

    def forward(self, input: Tensor) -> Tensor:
        return A.celu(input, self.alpha)


class Hardtanh(Module):
    """clip(x, min_val, max_val) (F.hardtanh). ``min_value``/``max_value``: torch's deprecated names."""

    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> None:
        super().__init__()
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and rename to `min_val`", FutureWarning, 2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and rename to `max_val`", FutureWarning, 2)
            max_val = max_value
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val, self.max_val = min_val, max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return A.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class LogSigmoid(Module):
    """log(sigmoid(x)) (F.logsigmoid)."""

    def forward(self, input: Tensor) -> Tensor:
        return A.logsigmoid(input)


class Softsign(Module):
    """x / (1 + |x|) (F.softsign)."""

    def forward(self, input: Tensor) -> Tensor:
        return A.softsign(input)


class Threshold(Module):
    """x where x > threshold, else value (F.threshold)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value = threshold, value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return A.threshold(input, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class Softmin(Softmax):
    """softmax(-x) along ``dim`` (F.softmin)."""

    def forward(self, input: Tensor) -> Tensor:
        return A.softmin(input, self.dim, _stacklevel=5)


class GLU(Module):
    """a sigmoid(b) for the two halves of x along ``dim`` (F.glu): (*, 2n, *) -> (*, n, *)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return A.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """x where x > 0, else weight * x with a learnt ``weight`` of shape (num_parameters,): one slope
    for all channels, or one per channel (axis 1 of the input). Init: every slope ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        dt = default_dtype(dtype)
        xp = backend.xp_for_device(device)
        with backend.device_scope(device):
            self.weight = Parameter(xp.empty(num_parameters, dtype=dt))
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return A.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Tanhshrink(Module):
    def forward(self, input: Tensor) -> Tensor:
        return A.tanhshrink(input)


class Softshrink(Module):
    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return A.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Softshrink):
    def forward(self, input: Tensor) -> Tensor:
        return A.hardshrink(input, self.lambd)
