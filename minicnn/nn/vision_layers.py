"""torchvision.ops' layers: RoIAlign, RoIPool, DropBlock2d/3d and FrozenBatchNorm2d.

Signatures, attributes and reprs follow torchvision 0.29 (``mc.nn`` has no such layers of its own).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor, default_dtype
from ..ops.drop_block import drop_block2d, drop_block3d
from ..ops.roi import roi_align, roi_pool
from .module import Module


class RoIAlign(Module):
    """See :func:`minicnn.ops.roi.roi_align`: (input (N, C, H, W), rois) -> (K, C, PH, PW)."""

    def __init__(
        self, output_size: int | tuple[int, int], spatial_scale: float, sampling_ratio: int, aligned: bool = False
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: Tensor, rois: Tensor | list[Tensor]) -> Tensor:
        return roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned})"
        )


class RoIPool(Module):
    """See :func:`minicnn.ops.roi.roi_pool`: (input (N, C, H, W), rois) -> (K, C, PH, PW)."""

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: Tensor, rois: Tensor | list[Tensor]) -> Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale})"


class DropBlock2d(Module):
    """DropBlock on (N, C, H, W) in training mode, the identity after ``.eval()`` (see drop_block2d)."""

    def __init__(self, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06) -> None:
        super().__init__()
        self.p = p
        self.block_size = block_size
        self.inplace = inplace
        self.eps = eps

    def forward(self, input: Tensor) -> Tensor:
        return drop_block2d(input, self.p, self.block_size, self.inplace, self.eps, self.training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, block_size={self.block_size}, inplace={self.inplace})"


class DropBlock3d(DropBlock2d):
    """DropBlock on (N, C, D, H, W) in training mode, the identity after ``.eval()`` (see drop_block3d)."""

    def forward(self, input: Tensor) -> Tensor:
        return drop_block3d(input, self.p, self.block_size, self.inplace, self.eps, self.training)


class FrozenBatchNorm2d(Module):
    """BatchNorm2d with fixed statistics and affine terms, all buffers (never trained):
    y = x * scale + (bias - running_mean * scale), scale = weight * rsqrt(running_var + eps),
    per channel of (N, C, H, W). Loading a BatchNorm2d state dict drops its num_batches_tracked."""

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", Tensor(np.ones(num_features, dtype=default_dtype())))
        self.register_buffer("bias", Tensor(np.zeros(num_features, dtype=default_dtype())))
        self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=default_dtype())))
        self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=default_dtype())))

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.weight.shape[0]:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.weight.shape[0]}, H, W), got shape {x.shape}"
            )
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        bias = b - rm * scale
        return x * scale + bias

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.weight.shape[0]}, eps={self.eps})"
