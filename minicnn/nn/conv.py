"""The Conv2d layer (PyTorch's signature, parameter names and initialisation)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import DEFAULT_DTYPE, Tensor
from ..kernels.conv import ALGOS
from ..kernels.conv_shapes import pair
from ..ops.conv import conv2d
from . import init
from .module import Module, Parameter


class Conv2d(Module):
    """2-d convolution over (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, OH, OW).

    ``weight``: (out_channels, in_channels/groups, kh, kw), ``bias``: (out_channels,).
    Init as torch: weight ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels/groups * kh * kw.
    ``device`` and ``dtype`` are torch's factory arguments (None: the CPU, float32).
    ``algo`` ("auto", "direct", "im2col", "depthwise"; keyword-only, minicnn's own) forces a
    kernel, see :mod:`minicnn.kernels.conv`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        algo: str = "auto",
    ) -> None:
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must be divisible by groups ({groups})"
            )
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode={padding_mode!r} (only 'zeros' is implemented)")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be 'same', 'valid', an int or a pair, got {padding!r}")
            if padding == "same" and pair(stride) != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
        else:
            padding = pair(padding, "padding")
        if algo not in ALGOS:
            raise ValueError(f"Conv2d: algo must be one of {ALGOS}, got {algo!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride, self.padding, self.dilation = pair(stride, "stride"), padding, pair(dilation, "dilation")
        self.groups, self.padding_mode, self.algo = groups, padding_mode, algo
        dt = DEFAULT_DTYPE if dtype is None else np.dtype(dtype)
        xp = backend.xp_for_device(device)
        with backend.device_scope(device):  # allocate (and draw the init) on that device, as torch
            self.weight = Parameter(xp.empty((out_channels, in_channels // groups, *self.kernel_size), dtype=dt))
            if bias:
                self.bias = Parameter(xp.empty(out_channels, dtype=dt))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            algo=self.algo,
            _layer=f"{type(self).__name__}({self.extra_repr()})",
        )

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        if self.algo != "auto":
            s += f", algo={self.algo}"
        return s
