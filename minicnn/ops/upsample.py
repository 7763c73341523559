"""Differentiable resizing: ``interpolate`` with modes nearest, nearest-exact, linear,
bilinear, bicubic, trilinear and area.

Argument handling follows ``torch.nn.functional.interpolate`` (its errors and their types
included); the arithmetic is in :mod:`minicnn.kernels.upsample` (one n-d code path: per-axis
taps), and "area" is the adaptive average pool to the output size, as in torch. Which mode
takes which input, as in torch:

=========================================  =====================================
nearest, nearest-exact, area                (N, C, L), (N, C, H, W), (N, C, D, H, W)
linear                                      (N, C, L)
bilinear, bicubic                           (N, C, H, W)
trilinear                                   (N, C, D, H, W)
=========================================  =====================================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Function, Tensor
from ..kernels import upsample as K
from .conv1d import adaptive_avg_pool1d
from .conv3d import adaptive_avg_pool3d
from .errors import ShapeError
from .pool import adaptive_avg_pool2d

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}  # the input rank a mode takes; the others 3, 4 or 5
_TORCH_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"


class Resize(Function):
    """x (N, C, *S) -> y (N, C, *O) through one (index, weight) taps pair per spatial axis
    (``taps``, see :func:`minicnn.kernels.upsample.resize`); backward: the transposed taps."""

    def forward(self, x):
        self.x_shape = x.shape
        return K.resize(x, self.taps)

    def backward(self, gy):
        return K.resize_backward(gy, self.taps, self.x_shape)


_LENGTH_ERROR = {  # torch's words when a per-axis size or scale factor has the wrong length
    "size": ("output", "output size of", "output size", "o"),
    "scale_factor": ("scale_factor", "scale_factor of shape", "scale_factor", "s"),
}


def _per_axis(value: Any, dim: int, what: str, in_sizes: list[int]) -> list[Any]:
    """``value`` ("size" or "scale_factor") for each of the ``dim`` spatial axes: a sequence
    of that length, or one value repeated."""
    if not isinstance(value, (list, tuple)):
        return [value] * dim
    if len(value) != dim:
        name, got, form, letter = _LENGTH_ERROR[what]
        raise ValueError(
            f"interpolate: Input and {name} must have the same number of spatial dimensions, but got input "
            f"with spatial dimensions of {in_sizes} and {got} {value}. Please provide input tensor in "
            f"(N, C, d1, d2, ...,dK) format and {form} in ({letter}1, {letter}2, ...,{letter}K) format."
        )
    return list(value)


def _check_rank(ndim: int, mode: str, align_corners: bool | None, antialias: bool) -> None:
    """torch's dispatch errors, in its words: lanczos' settings (ValueError), then
    NotImplementedError for what minicnn lacks (antialias, lanczos) and for a mode given an
    input of the wrong rank."""
    if mode == "lanczos" and ndim == 4:
        if align_corners:
            raise ValueError("interpolate: Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("interpolate: Lanczos mode requires antialias=True")
    if antialias or mode == "lanczos":
        raise NotImplementedError(f"interpolate: antialias=True (mode {mode!r}) is not implemented in minicnn")
    if mode in ("linear", "bilinear", "trilinear") and ndim in (3, 4, 5) and _RANK[mode] != ndim:
        raise NotImplementedError(f"interpolate: Got {ndim}D input, but {mode} mode needs {_RANK[mode]}D input")
    if ndim not in (3, 4, 5) or mode not in MODES or _RANK.get(mode, ndim) != ndim:
        raise NotImplementedError(
            f"interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) "
            f"for the modes: {_TORCH_MODES} (got {mode})"
        )


def _sizes_text(sizes: list[int]) -> str:
    """torch's "(D: 5, H: 4, W: 3)"."""
    return "(" + ", ".join(f"{axis}: {n}" for axis, n in zip("DHW"[-len(sizes) :], sizes)) + ")"


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """``torch.nn.functional.interpolate`` for (N, C, L), (N, C, H, W) and (N, C, D, H, W)
    input (which mode takes which: the module docstring). Exactly one of ``size`` (int or
    per-axis sizes) and ``scale_factor`` (float or per-axis floats; output size
    ``floor(in * scale_factor)``). ``align_corners`` only with "linear", "bilinear", "bicubic" and
    "trilinear" (default False). With a scale factor the source indices use 1/scale_factor, as
    torch, unless ``recompute_scale_factor=True`` (then in/out, as with ``size``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(input).__name__}")
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
    if size is not None:
        sizes = _per_axis(size, dim, "size", in_sizes)
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise TypeError(f"interpolate: size must be an int or a tuple of ints, got {size!r}")
        sizes = [int(s) for s in sizes]
        scales = [None] * dim
    else:
        scales = [float(s) for s in _per_axis(scale_factor, dim, "scale_factor", in_sizes)]
    if recompute_scale_factor and size is not None:
        raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size.")
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError(
            "interpolate: Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
            "and requires a 4-D tensor as input"
        )
    _check_rank(input.ndim, mode, align_corners, antialias)
    if input.dtype.kind != "f":
        raise NotImplementedError(f"interpolate: expected a floating point input, got {input.dtype}")
    if size is None:
        sizes = [math.floor(n * s) for n, s in zip(in_sizes, scales)]
        if recompute_scale_factor:
            scales = [None] * dim
    if min(sizes) < 1 or min(in_sizes) < 1:
        raise ShapeError(
            "interpolate: Input and output sizes should be greater than 0, but got input "
            f"{_sizes_text(in_sizes)}{' and' if dim == 1 else ''} output {_sizes_text(sizes)}"
        )
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1](input, sizes)
    per_axis = zip(in_sizes, sizes, scales)
    if mode == "bicubic":
        taps = [K.cubic_indices(n, m, s, align_corners, input.dtype) for n, m, s in per_axis]
    elif mode in ("linear", "bilinear", "trilinear"):
        taps = [K.linear_taps(n, m, s, align_corners, input.dtype) for n, m, s in per_axis]
    else:
        exact = mode == "nearest-exact"
        taps = [K.nearest_taps(n, m, s, exact, input.dtype, dim) for n, m, s in per_axis]
    return Resize.apply(input, taps=taps)
