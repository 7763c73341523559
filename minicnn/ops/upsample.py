"""Differentiable resizing: ``interpolate`` with modes nearest, nearest-exact, linear,
bilinear, bicubic and area.

Argument handling follows ``torch.nn.functional.interpolate`` (its errors and their types
included); the arithmetic is in :mod:`minicnn.kernels.upsample`, and "area" is the adaptive
average pool to the output size, as in torch. Inputs: (N, C, H, W) for nearest, bilinear,
bicubic and area; (N, C, L) for nearest, linear and area (resized as (N, C, 1, L)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Function, Tensor
from ..kernels import upsample as K
from .conv1d import adaptive_avg_pool1d
from .errors import ShapeError
from .pool import adaptive_avg_pool2d
from .shape import reshape

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area")
_NEEDS = {"linear": 3, "bilinear": 4, "bicubic": 4}  # the input rank a mode takes; the others take 3 or 4
_TORCH_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")


class UpsampleNearest2d(Function):
    """x (N, C, H, W) -> x[:, :, hi, wi] (N, C, OH, OW); backward scatter-adds."""

    def forward(self, x):
        self.x_shape = x.shape
        return K.upsample_nearest2d(x, self.hi, self.wi)

    def backward(self, gy):
        return K.upsample_nearest2d_backward(gy, self.x_shape, self.hi, self.wi)


class UpsampleTaps2d(Function):
    """x (N, C, H, W) -> weighted taps (N, C, OH, OW) (bilinear, bicubic); backward scatter-adds
    with the weights."""

    def forward(self, x):
        self.x_shape = x.shape
        return K.upsample_taps2d(x, self.h_taps, self.w_taps)

    def backward(self, gy):
        return K.upsample_taps2d_backward(gy, self.x_shape, self.h_taps, self.w_taps)


def _per_axis(value: Any, dim: int, what: str, in_sizes: list[int]) -> list[Any]:
    if isinstance(value, (list, tuple)):
        if len(value) != dim:
            raise ValueError(
                f"interpolate: input and {what} must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {in_sizes} and {what} of {tuple(value)}"
            )
        return list(value)
    return [value] * dim


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """``torch.nn.functional.interpolate`` for (N, C, H, W) and (N, C, L) input (which mode
    takes which: the module docstring). Exactly one of ``size`` (int or per-axis sizes) and
    ``scale_factor`` (float or per-axis floats; output size ``floor(in * scale_factor)``).
    ``align_corners`` only with "linear", "bilinear" and "bicubic" (default False). With a scale factor
    the source indices use 1/scale_factor, as torch, unless ``recompute_scale_factor=True``
    (then in/out, as with ``size``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(input).__name__}")
    if mode not in _TORCH_MODES:
        raise NotImplementedError(f"interpolate: mode must be one of {MODES}, got {mode!r}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "interpolate: align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    in_sizes = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size.")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented in minicnn")
    if mode not in MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented in minicnn (only {MODES})")
    if input.ndim not in (3, 4) or _NEEDS.get(mode, input.ndim) != input.ndim:
        needs = {3: "(N, C, L)", 4: "(N, C, H, W)"}
        raise NotImplementedError(
            f"interpolate: got {input.ndim}-d input {input.shape}, but mode {mode!r} needs "
            + (needs[_NEEDS[mode]] if mode in _NEEDS else "(N, C, L) or (N, C, H, W)")
        )
    if input.dtype.kind != "f":
        raise NotImplementedError(f"interpolate: expected a floating point input, got {input.dtype}")
    if size is not None:
        sizes = _per_axis(size, dim, "output size", in_sizes)
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise TypeError(f"interpolate: size must be an int or a tuple of ints, got {size!r}")
        sizes = [int(s) for s in sizes]
        scales = [None] * dim
    else:
        scales = [float(s) for s in _per_axis(scale_factor, dim, "scale_factor", in_sizes)]
        sizes = [math.floor(n * s) for n, s in zip(in_sizes, scales)]
        if recompute_scale_factor:
            scales = [None] * dim
    if min(sizes, default=1) < 1 or min(in_sizes, default=1) < 1:
        raise ShapeError(
            f"interpolate: input and output sizes should be greater than 0, got input {in_sizes} and output {sizes}"
        )
    if mode == "area":
        return adaptive_avg_pool2d(input, sizes) if dim == 2 else adaptive_avg_pool1d(input, sizes)
    x = input
    if dim == 1:  # (N, C, L) as (N, C, 1, L)
        x = reshape(x, (*x.shape[:2], 1, x.shape[2]))
        in_sizes, sizes, scales = [1, *in_sizes], [1, *sizes], [None, *scales]
    (h, w), (oh, ow), (sh, sw) = in_sizes, sizes, scales
    if mode in ("linear", "bilinear", "bicubic"):
        taps = K.cubic_indices if mode == "bicubic" else K.linear_taps
        h_taps, w_taps = taps(h, oh, sh, align_corners, x.dtype), taps(w, ow, sw, align_corners, x.dtype)
        y = UpsampleTaps2d.apply(x, h_taps=h_taps, w_taps=w_taps)
    else:
        exact = mode == "nearest-exact"
        cut = dim == 2  # torch's 1-d kernel takes no same-size/double-size shortcut
        hi, wi = K.nearest_indices(h, oh, sh, exact, cut), K.nearest_indices(w, ow, sw, exact, cut)
        y = UpsampleNearest2d.apply(x, hi=hi, wi=wi)
    return reshape(y, (*y.shape[:2], y.shape[3])) if dim == 1 else y
