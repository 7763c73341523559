"""Differentiable resizing: ``interpolate`` with modes nearest, nearest-exact, linear,
bilinear, bicubic, trilinear, lanczos and area.

Argument handling follows ``torch.nn.functional.interpolate`` (its errors and their types
included); the arithmetic is in :mod:`minicnn.kernels.upsample` (one n-d code path: per-axis
taps), and "area" is the adaptive average pool to the output size, as in torch. Which mode
takes which input, as in torch:

=========================================  =====================================
nearest, nearest-exact, area                (N, C, L), (N, C, H, W), (N, C, D, H, W)
linear                                      (N, C, L)
bilinear, bicubic, lanczos                  (N, C, H, W)
trilinear                                   (N, C, D, H, W)
=========================================  =====================================

``antialias=True`` (bilinear, bicubic and lanczos, (N, C, H, W) only, as torch): Pillow's
resampling with a filter widened by the downscaling factor, in :mod:`minicnn.kernels.resample_aa`
(a dense weight matrix per axis, two matrix products); float32, float64 and uint8 input, as
torch's CPU kernels. "lanczos" (Lanczos-3, 6 taps) exists only this way: as torch, it requires
``antialias=True`` and refuses ``align_corners=True`` (ValueErrors).

uint8 input, as torch's CPU kernels: nearest and nearest-exact (any rank), bilinear and bicubic
(torch's fixed-point arithmetic, with or without antialias) and lanczos; no gradient. "area" to an output
with an empty axis returns an empty result, as torch (which checks output sizes > 0 for every
mode but area). As torch, a scale factor whose output size is no int64 (inf, NaN) and an input
with C == 0 are RuntimeErrors (:class:`~minicnn.ops.errors.ShapeError`) for every mode but "area", where the
first is Python's OverflowError or ValueError and the pools decide the second.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Function, Tensor
from ..kernels import resample_aa as AA
from ..kernels import upsample as K
from .conv1d import adaptive_avg_pool1d
from .conv3d import adaptive_avg_pool3d
from .errors import ShapeError
from .pool import adaptive_avg_pool2d

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "area")
_RANK = {
    "linear": 3,
    "bilinear": 4,
    "bicubic": 4,
    "trilinear": 5,
    "lanczos": 4,
}  # the input rank a mode takes; the others 3, 4 or 5
_TORCH_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"


class Resize(Function):
    """x (N, C, *S) -> y (N, C, *O) through one (index, weight) taps pair per spatial axis
    (``taps``, see :func:`minicnn.kernels.upsample.resize`); backward: the transposed taps."""

    linear = True

    def forward(self, x):
        self.x_shape = x.shape
        return K.resize(x, self.taps)

    def backward(self, gy):
        if getattr(self, "copy_backward", False):  # torch's bicubic backward when no axis changes
            return gy.copy()
        return K.resize_backward(gy, self.taps, self.x_shape)


class ResizeUint8(Function):
    """Bilinear or bicubic resizing of uint8 (N, C, H, W) by torch's fixed-point passes
    (``taps``: :func:`minicnn.kernels.upsample.uint8_taps` of H and W); no gradient."""

    def forward(self, x):
        return K.resize_uint8(x, self.taps)


class ResizeAA(Function):
    """Anti-aliased bilinear/bicubic/lanczos resizing, x (N, C, H, W) -> y (N, C, OH, OW) = A_h x A_w^T
    (:mod:`minicnn.kernels.resample_aa`); ``weights``: (A_h, A_w), None for an axis that keeps
    its size (copied); ``taps``, ``grad_taps``: the banded forms of A and A^T (for inf/NaN, and
    with ``banded`` for all input: an axis too large for a dense matrix).
    Backward: gx = A_h^T gy A_w."""

    linear = True

    def forward(self, x):
        return AA.resample(x, *self.weights, self.taps, banded=self.banded)

    def backward(self, gy):
        return AA.resample_backward(gy, *self.weights, self.grad_taps, banded=self.banded)


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
    NotImplementedError for an unknown mode and for a mode given an input of the wrong rank."""
    if mode == "lanczos" and ndim == 4:
        if align_corners:
            raise ValueError("interpolate: Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("interpolate: Lanczos mode requires antialias=True")
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
    torch, unless ``recompute_scale_factor=True`` (then in/out, as with ``size``).
    ``antialias=True`` (bilinear, bicubic, lanczos; 4-d input): the anti-aliased resampler of
    :mod:`minicnn.kernels.resample_aa`; "lanczos" needs it (and align_corners False)."""
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
    if size is None:
        sizes = _output_sizes(in_sizes, scales, mode == "area" or bool(recompute_scale_factor))
        if recompute_scale_factor:
            scales = [None] * dim
    if mode == "area":
        return _area(input, in_sizes, sizes)
    if min(sizes) < 1 or min(in_sizes) < 1:
        raise ShapeError(
            "interpolate: Input and output sizes should be greater than 0, but got input "
            f"{_sizes_text(in_sizes)}{' and' if dim == 1 else ''} output {_sizes_text(sizes)}"
        )
    if input.array.size == 0 and math.prod(input.shape[1:]) == 0:
        raise ShapeError(
            f"interpolate: Non-empty {input.ndim}D data tensor expected but got a tensor with sizes {list(input.shape)}"
        )
    if antialias:
        return _resize_aa(input, mode, list(zip(in_sizes, sizes, scales)), align_corners)
    return _resize(input, mode, list(zip(in_sizes, sizes, scales)), align_corners)


def _resize(input: Tensor, mode: str, per_axis: list[tuple[int, int, Any]], align_corners: bool) -> Tensor:
    """Every mode but "area", once the sizes are checked: ``per_axis`` holds (in size, out
    size, scale factor or None) of each spatial axis."""
    dim = len(per_axis)
    uint8_ok = mode in ("nearest", "nearest-exact") or (mode in ("bilinear", "bicubic") and dim == 2)
    if input.dtype.kind != "f" and not (input.dtype == np.uint8 and uint8_ok):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented for {input.dtype} input")
    if input.dtype == np.uint8 and mode in ("bilinear", "bicubic"):
        taps = [K.uint8_taps(n, m, s, align_corners, mode == "bicubic") for n, m, s in per_axis]
        return ResizeUint8.apply(input, taps=taps)
    if mode == "bicubic":
        taps = [K.cubic_indices(n, m, s, align_corners, input.dtype) for n, m, s in per_axis]
        # torch's backward copies the gradient when no axis changes size; where the forward's
        # taps are exactly the identity's too (no scale factor other than 1) that is the adjoint,
        # but for an inf gradient: (0, 1, 0, 0) weights would make NaN of it, torch's copy does not
        identity = all(np.array_equal(w, np.tile([0, 1, 0, 0], (len(w), 1))) for _, w in taps)
        same = all(n == m for n, m, _ in per_axis)
        return Resize.apply(input, taps=taps, copy_backward=identity and same)
    if mode in ("linear", "bilinear", "trilinear"):
        taps = [K.linear_taps(n, m, s, align_corners, input.dtype) for n, m, s in per_axis]
    else:  # torch's small 2-d nearest kernel when OH + OW <= 128, else its generic one
        kernel = 1 if dim == 2 and sum(m for _, m, _ in per_axis) > 128 else dim
        exact = mode == "nearest-exact"
        taps = [K.nearest_taps(n, m, s, exact, input.dtype, kernel) for n, m, s in per_axis]
    return Resize.apply(input, taps=taps)


_TORCH_DTYPE = {"float16": "Half", "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "bool": "Bool"}


def _resize_aa(input: Tensor, mode: str, per_axis: list[tuple[int, int, Any]], align_corners: bool) -> Tensor:
    """antialias=True ("bilinear", "bicubic" or "lanczos", 4-d input, sizes checked): float32, float64 and
    uint8, as torch's CPU kernels. As torch, an axis whose size does not change is copied."""
    if input.dtype not in (np.float32, np.float64, np.uint8):
        name = _TORCH_DTYPE.get(input.dtype.name, input.dtype.name)
        raise NotImplementedError(f"interpolate: \"compute_index_ranges_weights\" not implemented for '{name}'")
    if input.dtype == np.uint8:
        return ResizeUint8.apply(input, taps=[AA.uint8_axis_taps(n, m, s, align_corners, mode) for n, m, s in per_axis])
    axes = [
        None if n == m else AA.axis_weights(n, m, s, align_corners, mode, input.dtype, input.array)
        for n, m, s in per_axis
    ]
    copy = [AA.copy_taps(n) for n, _, _ in per_axis]
    return ResizeAA.apply(
        input,
        weights=[None if a is None else a[0] for a in axes],
        banded=any(a is not None and a[0] is None for a in axes),  # (no dense matrix: too large)
        taps=[c if a is None else a[1] for c, a in zip(copy, axes)],
        grad_taps=[c if a is None else a[2] for c, a in zip(copy, axes)],
    )


def _output_sizes(in_sizes: list[int], scales: list[float], in_python: bool) -> list[int]:
    """``floor(in * scale_factor)`` per axis. torch computes it in Python for "area" and with
    recompute_scale_factor (an inf or NaN: OverflowError or ValueError there), else in C++,
    which refuses a size beyond int64 with a RuntimeError."""
    if in_python:
        return [math.floor(n * s) for n, s in zip(in_sizes, scales)]
    sizes = [n * s for n, s in zip(in_sizes, scales)]
    if not all(-(2.0**63) <= v < 2.0**63 for v in sizes):  # (NaN fails both)
        raise ShapeError("interpolate: value cannot be converted to type int64_t without overflow")
    return [math.floor(v) for v in sizes]


def _area(input: Tensor, in_sizes: list[int], sizes: list[int]) -> Tensor:
    """Mode "area": the adaptive average pool to ``sizes``, or, when one of them is 0, the empty
    result (torch skips the > 0 check of the other modes here; its 1-d and 2-d pools return it
    for any dtype, its 3-d pool checks the dtype and C > 0 first)."""
    dim = len(sizes)
    if min(in_sizes) < 1 or (dim == 3 and input.shape[1] == 0):
        raise ShapeError(
            f"interpolate: area mode (adaptive_avg_pool{dim}d) expects an input of non-zero size in every "
            f"non-batch dimension, got sizes {list(input.shape)}"
        )
    if min(sizes) < 0:
        raise ShapeError(f"interpolate: area mode needs output sizes >= 0, got {_sizes_text(sizes)}")
    if input.dtype.kind != "f" and (dim == 3 or min(sizes) > 0):
        raise NotImplementedError(f"interpolate: mode 'area' is not implemented for {input.dtype} input")
    if min(sizes) == 0:  # an empty output: any gather of the right shape gives it (and a zero gradient)
        return Resize.apply(input, taps=[(np.zeros((m, 1), np.int64), None) for m in sizes])
    with np.errstate(invalid="ignore", over="ignore"):  # an inf or NaN pixel spreads quietly, as in torch
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1](input, sizes)
