"""RoIAlign and RoIPool (``torchvision.ops.roi_align`` / ``roi_pool``): crop each region of
interest of a feature map to a fixed PH x PW grid. The kernels are in :mod:`minicnn.kernels.roi`.

boxes: a Tensor (K, 5) of rows (batch index, x1, y1, x2, y2), or a list with one Tensor (L_i, 4)
of xyxy boxes per image (the batch index is the list position). They are settings, not inputs:
no gradient reaches them (torchvision's neither).
Higher derivatives: roi_align is linear in its input (``linear = True``); roi_pool's gradient
is a scatter to the saved argmax positions, a linear map of gy whose own adjoint is a gather
(:class:`RoIPoolGrad`), so both close under differentiation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import roi as K


def _pair(op: str, output_size: Any) -> tuple[int, int]:
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
        raise ValueError(f"{op}: output_size must be a positive int or a pair of them, got {output_size!r}")
    return int(size[0]), int(size[1])


def _rois(op: str, input: Tensor, boxes: Any) -> Any:
    """The (K, 5) rois array of ``boxes`` (Tensor (K, 5) or list of Tensor (L, 4)), checked."""
    if not isinstance(input, Tensor) or input.ndim != 4:
        shape = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"{op}: expected input of shape (N, C, H, W), got {shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.dtype}")
    if isinstance(boxes, (list, tuple)):
        parts = []
        for i, b in enumerate(boxes):
            if not isinstance(b, Tensor) or b.ndim != 2 or b.shape[1] != 4:
                shape = b.shape if isinstance(b, Tensor) else type(b).__name__
                raise ValueError(f"{op}: boxes as a list must hold Tensor[L, 4] per image, got {shape} at {i}")
            with backend.array_scope(b.array):  # on b's GPU, whichever is current
                ids = b.xp.full((b.shape[0], 1), i, dtype=b.dtype)
                parts.append(b.xp.concatenate([ids, b.array], axis=1))
        with backend.array_scope(input.array):
            rois = input.xp.concatenate(parts, axis=0) if parts else input.xp.zeros((0, 5), dtype=input.dtype)
        dtype = boxes[0].dtype if boxes else input.dtype
    elif isinstance(boxes, Tensor):
        if boxes.ndim != 2 or boxes.shape[1] != 5:
            raise ValueError(f"{op}: boxes as a Tensor must have shape (K, 5), got {boxes.shape}")
        rois, dtype = boxes.array, boxes.dtype
    else:
        raise TypeError(f"{op}: boxes must be a Tensor[K, 5] or a list of Tensor[L, 4], got {type(boxes).__name__}")
    if dtype != input.dtype:
        raise TypeError(f"{op}: boxes should have the dtype of input ({input.dtype}), got {dtype}")
    if backend.device_of(rois) != input.device:
        raise RuntimeError(f"{op}: boxes are on {backend.device_of(rois)}, input on {input.device}")
    if rois.shape[0]:
        idx = backend.to_numpy(rois[:, 0])
        if not (np.all(idx >= 0) and np.all(idx < input.shape[0])):
            raise ValueError(f"{op}: batch indices in boxes must lie in [0, {input.shape[0] - 1}], got {idx.tolist()}")
    return rois


class RoIAlignOp(Function):
    """x (N, C, H, W) -> (K, C, PH, PW); settings rois, pooled, spatial_scale, sampling_ratio, aligned."""

    linear = True

    def forward(self, x):
        self.x_shape = x.shape
        return K.roi_align_forward(x, self.rois, self.pooled, self.spatial_scale, self.sampling_ratio, self.aligned)

    def backward(self, gy):
        args = (self.pooled, self.spatial_scale, self.sampling_ratio, self.aligned)
        return K.roi_align_backward(gy, self.rois, self.x_shape, *args)


class RoIPoolOp(Function):
    """x (N, C, H, W) -> (K, C, PH, PW) bin maxima; settings rois, pooled, spatial_scale."""

    def forward(self, x):
        y, argmax = K.roi_pool_forward(x, self.rois, self.pooled, self.spatial_scale)
        if self.requires_grad:
            self.argmax, self.batch, self.x_shape = argmax, self.rois[:, 0].astype(np.int64), x.shape
        return y

    def backward(self, gy):
        return K.roi_pool_backward(gy, self.argmax, self.batch, self.x_shape)

    def backward_graph(self, gy: Tensor, x: Tensor) -> Tensor:  # a scatter of gy to the (constant) argmax
        return RoIPoolGrad.apply(gy, argmax=self.argmax, batch=self.batch, x_shape=self.x_shape)


class RoIPoolGrad(Function):
    """gy (K, C, PH, PW) -> gx (N, C, H, W), gy scattered to argmax; its adjoint is the gather."""

    linear = True

    def forward(self, gy):
        return K.roi_pool_backward(gy, self.argmax, self.batch, self.x_shape)

    def backward(self, g):
        return K.roi_pool_gather(g, self.argmax, self.batch)


def roi_align(
    input: Tensor,
    boxes: Tensor | list[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """RoIAlign (Mask R-CNN): input (N, C, H, W), boxes (K, 5) or [Tensor (L_i, 4)] ->
    (K, C, PH, PW), each bin the mean of bilinear samples (sampling_ratio per axis, or
    ceil(roi size / bins) when <= 0). ``aligned`` shifts boxes by -0.5 pixel."""
    op = "roi_align"
    rois = _rois(op, input, boxes)
    pooled = _pair(op, output_size)
    return RoIAlignOp.apply(
        input,
        rois=rois,
        pooled=pooled,
        spatial_scale=float(spatial_scale),
        sampling_ratio=int(sampling_ratio),
        aligned=bool(aligned),
    )


def roi_pool(
    input: Tensor, boxes: Tensor | list[Tensor], output_size: int | tuple[int, int], spatial_scale: float = 1.0
) -> Tensor:
    """RoIPool (Fast R-CNN): input (N, C, H, W), boxes (K, 5) or [Tensor (L_i, 4)] ->
    (K, C, PH, PW), each bin the maximum over its integer-aligned cells (0 for an empty bin)."""
    op = "roi_pool"
    rois = _rois(op, input, boxes)
    return RoIPoolOp.apply(input, rois=rois, pooled=_pair(op, output_size), spatial_scale=float(spatial_scale))
