"""torchvision.utils.make_grid: a batch of images tiled into one image, for display.

The DCGAN and spatial-transformer tutorials show their images this way
(``plt.imshow(np.transpose(make_grid(fake, padding=2, normalize=True), (1, 2, 0)))``). The grid
is built in one pass: every image goes into a cell of (padding + H) x (padding + W) filled with
``pad_value``, the cells are reshaped into rows of ``nrow``, and a last ``padding`` closes the
bottom and the right edge, exactly torchvision's layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..autograd import Tensor
from ..backend import array_scope, get_array_module


def make_grid(
    tensor: Tensor | Sequence[Tensor],
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> Tensor:
    """Images (B, C, H, W) (or a list of (C, H, W), or one (C, H, W) / (H, W)) tiled as a grid
    (C', rows * (H + padding) + padding, cols * (W + padding) + padding), as torchvision's.

    ``nrow`` images per row (cols = min(nrow, B), rows = ceil(B / cols)); one-channel images are
    repeated to three channels (C' = 3); a single image comes back as it is (after those
    steps). ``normalize`` shifts and scales to [0, 1]: by ``value_range`` (min, max) (values
    clamped to it) or else by the min and max of all images, or of each image with
    ``scale_each``. Cells left over are ``pad_value``. The result is a new tensor on the input's
    device, not attached to any graph (a picture to show, as ``.detach()`` would give).
    """
    if isinstance(tensor, (list, tuple)):
        if not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError(f"make_grid: tensor or list of tensors expected, got {[type(t).__name__ for t in tensor]}")
        arrays = [t.array for t in tensor]
        xp = get_array_module(*arrays)
        with array_scope(arrays[0]):
            a = xp.stack(arrays)
    elif isinstance(tensor, Tensor):
        a = tensor.array
    else:
        raise TypeError(f"make_grid: tensor or list of tensors expected, got {type(tensor).__name__}")
    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")
    if a.ndim not in (2, 3, 4):
        raise ValueError(f"make_grid: expected images (B, C, H, W), (C, H, W) or (H, W), got shape {tuple(a.shape)}")
    xp = get_array_module(a)
    with array_scope(a):
        if a.ndim == 2:
            a = a[None]
        if a.ndim == 3:
            a = a[None]
        if a.shape[1] == 1:  # one channel: shown as gray RGB
            a = xp.concatenate([a, a, a], axis=1)
        if normalize:
            a = _normalized(a, value_range, scale_each, xp)
        if a.shape[0] == 1:
            return Tensor(xp.array(a[0], copy=True))
        n, c, h, w = a.shape
        cols = min(nrow, n)
        rows = math.ceil(n / cols)
        cells = xp.full((rows * cols, c, h + padding, w + padding), pad_value, dtype=a.dtype)
        cells[:n, :, padding:, padding:] = a
        grid = cells.reshape(rows, cols, c, h + padding, w + padding).transpose(2, 0, 3, 1, 4)
        grid = grid.reshape(c, rows * (h + padding), cols * (w + padding))
        out = xp.full((c, grid.shape[1] + padding, grid.shape[2] + padding), pad_value, dtype=a.dtype)
        out[:, : grid.shape[1], : grid.shape[2]] = grid
        return Tensor(out)


def _normalized(a: Any, value_range: tuple[float, float] | None, scale_each: bool, xp: Any) -> Any:
    """``a`` (B, C, H, W) clamped to (low, high) and mapped to [0, 1], as torchvision's norm_ip:
    (low, high) is ``value_range``, else the min and max of each image (``scale_each``) or of all."""
    if value_range is not None:
        low, high = (xp.asarray(v, dtype=a.dtype) for v in value_range)
    elif scale_each:
        low, high = a.min(axis=(1, 2, 3), keepdims=True), a.max(axis=(1, 2, 3), keepdims=True)
    else:
        low, high = a.min(), a.max()
    return (xp.clip(a, low, high) - low) / xp.maximum(high - low, a.dtype.type(1e-5))
