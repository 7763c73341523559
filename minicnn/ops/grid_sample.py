"""Spatial transformers: ``affine_grid`` and ``grid_sample``, 2-D and 3-D (volumetric),
differentiable in theta, input and grid.

Argument handling follows ``torch.nn.functional`` (its errors, their types and its
``align_corners=None`` warning); the arithmetic is in :mod:`minicnn.kernels.grid_sample`.
Shapes: theta (N, 2, 3) and size (N, C, H, W) -> grid (N, H, W, 2), theta (N, 3, 4) and size
(N, C, D, H, W) -> grid (N, D, H, W, 3); input (N, C, H_in, W_in) and grid (N, H_out, W_out, 2)
-> (N, C, H_out, W_out), input (N, C, D_in, H_in, W_in) and grid (N, D_out, H_out, W_out, 3) ->
(N, C, D_out, H_out, W_out). As in torch, bicubic sampling is 2-D only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..autograd import Function, Tensor, tie
from ..kernels import grid_sample as K
from .conv_grad import stand_in
from .errors import DtypeError, ShapeError

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please specify "
    "align_corners=True if the old behavior is desired. See the documentation of grid_sample for details."
)


class ThetaDtypeError(TypeError, ValueError):
    """A theta that is not floating point: a TypeError (minicnn's rule) that is also torch's ValueError."""


class InputDtypeError(DtypeError, NotImplementedError):
    """An input that is not floating point: a TypeError that is also torch's NotImplementedError."""


class AffineGrid(Function):
    """theta (N, k, k+1) -> grid (N, *size, k) (k = 2 or 3); backward gy -> (N, k, k+1)."""

    linear = True

    def forward(self, theta):
        self.base = K.affine_base_grid(self.size, self.align_corners, theta.dtype, theta)
        return K.affine_grid(theta, self.base)

    def backward(self, gy):
        return K.affine_grid_backward(gy, self.base)


class GridSample(Function):
    """x (N, C, *in), grid (N, *out, k) -> (N, C, *out) (k = 2 or 3 spatial axes); backward to both."""

    def forward(self, x, grid):
        if not self.requires_grad:  # no taps kept: built and used block by block of points
            return K.grid_sample_no_grad(x, grid, self.mode, self.padding_mode, self.align_corners)
        need_grid = self.needs_input_grad[1]
        taps = K.sample_taps(grid, x.shape[2:], self.mode, self.padding_mode, self.align_corners, need_grid)
        # the per-axis taps (T, N*P) each are kept: the K = T^k taps are re-formed from them
        self.x, self.grid_shape, self.taps = x, grid.shape, taps
        return K.grid_sample(x, taps, grid.shape[1:-1])

    def backward(self, gy):
        need_x, need_grid = self.needs_input_grad
        return K.grid_sample_backward(gy, self.x, self.grid_shape, self.taps, need_x, need_grid)

    def backward_graph(self, gy, x, grid):
        if self.needs_input_grad[1]:
            raise NotImplementedError(
                "grid_sample: create_graph=True (higher-order gradients) is supported for the input only; "
                "here the grid requires grad too (detach it, or leave create_graph off)"
            )
        gx = GridSampleTranspose.apply(gy, taps=self.taps, x_shape=x.shape, grid_shape=self.grid_shape)
        return tie(gx, x), None  # tied to x, as torch's


class GridSampleTranspose(Function):
    """gy (N, C, *out) -> gx (N, C, *in) (``x_shape``): grid_sample's input gradient for a fixed
    grid (its ``taps``), as a linear op of gy; its adjoint is the sampling again."""

    linear = True

    def forward(self, gy):
        return K.grid_sample_backward(gy, stand_in(gy, self.x_shape), self.grid_shape, self.taps, True, False)[0]

    def backward(self, v):
        return K.grid_sample(v, self.taps, self.grid_shape[1:-1])


def _align_corners(align_corners: bool | None) -> bool:
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, UserWarning, stacklevel=3)  # at the caller of the F function
        return False
    return bool(align_corners)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """``torch.nn.functional.affine_grid``: theta (N, 2, 3) and size (N, C, H, W) -> grid
    (N, H, W, 2) of normalised (x, y) sampling points, ``grid[n, h, w] = theta[n] @ (x_w, y_h,
    1)``; in 3-D theta (N, 3, 4) and size (N, C, D, H, W) -> grid (N, D, H, W, 3) of (x, y, z),
    ``grid[n, d, h, w] = theta[n] @ (x_w, y_h, z_d, 1)``. ``align_corners=None`` means False,
    with torch's warning."""
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid: theta must be a Tensor, got {type(theta).__name__}")
    align_corners = _align_corners(align_corners)
    if theta.dtype.kind != "f":
        raise ThetaDtypeError(f"affine_grid: expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(size)
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
        raise TypeError(f"affine_grid: size must be a tuple of ints, got {size!r}")
    if len(size) not in (4, 5):
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. "
            f"Got size {size}."
        )
    k = len(size) - 2
    if theta.ndim != 3 or theta.shape[1:] != (k, k + 1):
        raise ShapeError(
            f"affine_grid: expected a batch of {k}D affine matrices of shape Nx{k}x{k + 1} for size {size}. "
            f"Got {theta.shape}."
        )
    if align_corners and min(size[2:]) == 1:  # torch's order: this case skips the size check below
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when align_corners=True. "
            "This is not an intended use case of affine_grid. See the documentation of affine_grid for details.",
            UserWarning,
            stacklevel=2,
        )
    elif min(size) <= 0:
        raise ShapeError(f"affine_grid: expected non-zero, positive output size. Got {size}")
    if size[0] != theta.shape[0]:
        raise ShapeError(
            f"affine_grid: theta holds {theta.shape[0]} matrices (shape {theta.shape}) but size asks for a batch of "
            f"{size[0]} (size {size})"
        )
    return AffineGrid.apply(theta, size=tuple(int(s) for s in size[2:]), align_corners=align_corners)


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """``torch.nn.functional.grid_sample``: input (N, C, H_in, W_in) read at the points of grid
    (N, H_out, W_out, 2) (normalised (x, y), [-1, 1] spans the image) -> (N, C, H_out, W_out);
    in 3-D input (N, C, D_in, H_in, W_in) and grid (N, D_out, H_out, W_out, 3) of (x, y, z) ->
    (N, C, D_out, H_out, W_out). ``mode``: "bilinear" (trilinear in 3-D), "nearest" or
    "bicubic" (2-D only); ``padding_mode`` (points outside): "zeros", "border" or "reflection";
    ``align_corners=None`` means False, with torch's warning."""
    if mode not in K.MODES:
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: '{mode}'"
        )
    if padding_mode not in K.PADDING_MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', "
            f"but got: '{padding_mode}'"
        )
    align_corners = _align_corners(align_corners)
    for name, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"grid_sample: {name} must be a Tensor, got {type(t).__name__}")
    shapes = f"input with sizes {tuple(input.shape)} and grid with sizes {tuple(grid.shape)}"
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise ShapeError(
            "grid_sample: expected a 4-D input (N, C, H_in, W_in) and a 4-D grid (N, H_out, W_out, 2), or a 5-D "
            f"input (N, C, D_in, H_in, W_in) and a 5-D grid (N, D_out, H_out, W_out, 3), got {shapes}"
        )
    k = input.ndim - 2
    if input.shape[0] != grid.shape[0]:
        raise ShapeError(f"grid_sample: expected grid and input to have same batch size, but got {shapes}")
    if grid.shape[-1] != k:
        raise ShapeError(f"grid_sample: expected grid to have size {k} in last dimension, but got {shapes}")
    if min(input.shape[2:]) == 0:
        raise ShapeError(f"grid_sample: expected input to have non-empty spatial dimensions, but got {shapes}")
    if mode == "bicubic" and k == 3:
        raise ShapeError(f"grid_sample: bicubic interpolation only supports 4-D input, got {shapes}")
    if input.dtype.kind != "f":
        raise InputDtypeError(f"grid_sample: expected a floating point input, got {input.dtype}")
    if grid.dtype != input.dtype:
        raise DtypeError(
            f"grid_sample: expected input and grid to have same dtype, but input has {input.dtype} and grid has "
            f"{grid.dtype}"
        )
    return GridSample.apply(input, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
