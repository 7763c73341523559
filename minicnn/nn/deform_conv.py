"""DeformConv2d: torchvision's deformable convolution layer (v1, or v2 when given a mask)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..ops.deform_conv import _pair, deform_conv2d
from .linear import register_weight_and_bias, reset_weight_and_bias
from .module import Module


class DeformConv2d(Module):
    """``torchvision.ops.DeformConv2d``: weight (out_channels, in_channels/groups, kh, kw) and
    bias (out_channels,), initialised as torch's convolutions (kaiming_uniform with a=sqrt(5),
    bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))). ``forward(input, offset, mask=None)``: input
    (N, in_channels, H, W), offset (N, 2*offset_groups*kh*kw, OH, OW) and mask
    (N, offset_groups*kh*kw, OH, OW), usually predicted by an ordinary convolution of the input
    (offset_groups is read from the offset's shape) -> (N, out_channels, OH, OW)."""

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
    ) -> None:
        super().__init__()
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"DeformConv2d: groups must be a positive int, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"DeformConv2d: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"DeformConv2d: out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding = _pair(stride, "stride"), _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        weight_shape = (out_channels, in_channels // groups, *self.kernel_size)
        register_weight_and_bias(self, weight_shape, out_channels, bias, None, None)

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self)

    def forward(self, input: Tensor, offset: Tensor, mask: Tensor | None = None) -> Tensor:
        return deform_conv2d(
            input, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask=mask
        )  # fmt: skip

    def __repr__(self) -> str:  # torchvision's, which omits the defaults
        s = f"{type(self).__name__}({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        s += f", padding={self.padding}" if self.padding != (0, 0) else ""
        s += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        s += f", groups={self.groups}" if self.groups != 1 else ""
        s += ", bias=False" if self.bias is None else ""
        return s + ")"
