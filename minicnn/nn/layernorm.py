"""LayerNorm, GroupNorm and InstanceNorm2d, with torch's signatures, parameters and buffers.

The affine parameters are ``weight`` (ones) and ``bias`` (zeros), shaped normalized_shape
(LayerNorm) or (C,) (GroupNorm, InstanceNorm2d); ``bias=False`` drops the shift. An
InstanceNorm2d with ``track_running_stats=True`` also has the buffers ``running_mean``
(zeros), ``running_var`` (ones) and ``num_batches_tracked`` (int64 0, which torch's instance
norm keeps but never counts), so state-dict keys and their order equal torch's.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

from ..autograd import Tensor, default_dtype
from ..ops.errors import ShapeError
from ..ops.groupnorm import group_norm, instance_norm, layer_norm
from ..ops.shape import squeeze, unsqueeze
from .module import Module
from .normalization import register_affine, register_running_stats, reset_affine, reset_running_stats


class LayerNorm(Module):
    """Normalise input (*, normalized_shape) over its last len(normalized_shape) dims, then an
    elementwise affine map with weight and bias of shape normalized_shape."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(d) for d in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        register_affine(self, self.normalized_shape, elementwise_affine, bias, dtype, device)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(
            input, self.normalized_shape, self.weight, self.bias, self.eps, _layer=f"LayerNorm({self.normalized_shape})"
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group norm of input (N, num_channels, *): each sample's channels in ``num_groups``
    groups, each group normalised over its channels and ``*``; weight and bias are (C,)."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by a positive num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        register_affine(self, (num_channels,), affine, bias, dtype, device)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        name = f"GroupNorm({self.num_groups}, {self.num_channels})"
        if input.ndim < 2 or (input.shape[1] != self.num_channels and self.weight is not None):  # torch: unused
            raise ShapeError(f"{name}: expected input of shape (N, {self.num_channels}, *), got {input.shape}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps, _layer=name)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class InstanceNorm2d(Module):
    """Normalise each channel of each sample of (N, C, H, W) or (C, H, W) over H and W.

    With ``track_running_stats`` training updates the running statistics (batch averages of
    the per-sample statistics) and evaluation normalises with them; without, the input's own
    statistics are used in both modes, as torch does. ``momentum=None`` means 0 here, as in
    torch's instance norm (no cumulative average)."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        register_affine(self, (num_features,), affine, bias, dtype, device)
        dt = default_dtype(dtype)
        register_running_stats(self, num_features, track_running_stats, dt, device)

    def reset_running_stats(self) -> None:
        reset_running_stats(self)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        reset_affine(self)

    _spatial = 2  # H, W (InstanceNorm1d: L)

    def forward(self, input: Tensor) -> Tensor:
        name = f"{type(self).__name__}({self.num_features})"
        full = 2 + self._spatial
        if input.ndim not in (full - 1, full):
            dims = ("H, W", "L")[self._spatial == 1]
            raise ValueError(f"{name}: expected input of shape (N, C, {dims}) or (C, {dims}), got {input.shape}")
        feature_dim = input.ndim - 1 - self._spatial
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"{name}: expected input's size at dim={feature_dim} to match num_features "
                    f"({self.num_features}), got input of shape {input.shape}"
                )
            warnings.warn(
                f"{name}: input's size at dim={feature_dim} does not match num_features (unused, as affine=False)",
                stacklevel=2,
            )
        x = unsqueeze(input, 0) if input.ndim == full - 1 else input
        y = instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
            _layer=name,
        )
        return squeeze(y, 0) if input.ndim == full - 1 else y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(InstanceNorm2d):
    """:class:`InstanceNorm2d` for (N, C, L) or (C, L): each channel of each sample normalised
    over L."""

    _spatial = 1
