"""Small building blocks shared by several model families.

``BasicConv2d`` is the conv -> batch norm -> ReLU unit of GoogLeNet (torchvision's form),
the Inception v3/v4 and Inception-ResNet networks; its state-dict keys are ``conv.weight``
and ``bn.*`` as in torchvision and timm, so their weights load as they are.
"""

from __future__ import annotations

from typing import Any

from .. import nn


class BasicConv2d(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d(eps) -> ReLU. (N, C_in, H, W) -> (N, C_out, H', W')."""

    def __init__(self, in_channels: int, out_channels: int, eps: float = 1e-3, **conv_kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=eps)
        self.relu = nn.ReLU()

    def forward(self, x: Any) -> Any:
        return self.relu(self.bn(self.conv(x)))


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor`` without going more than
    10 % below ``value`` (the rule of the TensorFlow MobileNet code, used by torchvision)."""
    min_value = divisor if min_value is None else min_value
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def init_torchvision_style(model: nn.Module, linear_std: float | None = 0.01) -> None:
    """Conv2d: kaiming normal (fan_out, ReLU gain), bias 0; BatchNorm: weight 1, bias 0;
    Linear: N(0, linear_std^2), bias 0 (or left at the default when ``linear_std`` is None).
    This is torchvision's initialisation of VGG, ResNet and MobileNet v2."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)


def init_truncated_normal(model: nn.Module, default_std: float) -> None:
    """Conv2d and Linear weights from N(0, std^2) truncated to [-2, 2] (std = the module's
    ``stddev`` attribute if it has one, else ``default_std``); BatchNorm weight 1, bias 0.
    This is torchvision's initialisation of GoogLeNet (std 0.01) and Inception v3 (std 0.1)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            std = float(getattr(m, "stddev", default_std))
            nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2.0, b=2.0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
