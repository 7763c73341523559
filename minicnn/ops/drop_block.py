"""DropBlock (Ghiasi et al. 2018), as ``torchvision.ops.drop_block2d`` / ``drop_block3d``: in
training, zero contiguous block_size^d cubes of each feature map instead of single elements,
then rescale by numel / (eps + number kept).

Block centres are drawn with probability gamma = p * prod(S) / (bs^d * prod(S - bs + 1)) on the
(S - bs + 1) positions where a whole block fits; the mask is their dilation by a bs^d window
(torchvision's pad + stride-1 max pool), computed separably as a running maximum along each
axis (bs shifted slices per axis). The mask is a constant of an ordinary product, so the
gradient is the same scaled mask and higher derivatives come for free.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, random
from ..autograd import Tensor


def block_mask(seeds: Any, block_size: int) -> Any:
    """seeds (N, C, *(S - bs + 1)) of 0/1 -> drop mask (N, C, *S): 1 within a bs-wide cube
    centred on a seed placed at offset bs//2 (torchvision's zero pad + max pool). Cost: 2 bs
    (3 bs in 3-d) passes over the map."""
    xp = backend.get_array_module(seeds)
    half = block_size // 2
    spatial = range(2, seeds.ndim)
    # pad by bs-1 on both sides of each axis: the pooled window [i - half, i + half] of the
    # half-padded map is the window [i, i + bs - 1] of this one
    out = xp.pad(seeds, [(0, 0), (0, 0)] + [(2 * half, 2 * half)] * len(spatial))
    for axis in spatial:
        size = out.shape[axis] - (block_size - 1)
        acc = None
        for k in range(block_size):
            part = out[(slice(None),) * axis + (slice(k, k + size),)]
            acc = part if acc is None else xp.maximum(acc, part)
        out = acc
    return out


def _drop_block(op: str, input: Tensor, p: float, block_size: int, inplace: bool, eps: float, training: bool, d: int):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{op}: drop probability has to be between 0 and 1, but got {p}.")
    if input.ndim != d + 2:
        raise ValueError(f"{op}: input should be {d + 2} dimensional. Got {input.ndim} dimensions.")
    if not training or p == 0.0:
        return input
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.dtype}")
    n, c, *sizes = input.shape
    block_size = min(block_size, *sizes)
    if block_size % 2 == 0:
        raise ValueError(f"{op}: block size should be odd. Got {block_size} which is even.")
    if block_size < 1:
        raise ValueError(f"{op}: block size should be a positive odd number, got {block_size}")
    valid = [s - block_size + 1 for s in sizes]
    gamma = (p * float(np.prod(sizes))) / ((block_size**d) * float(np.prod(valid)))
    xp = input.xp
    with backend.array_scope(input.array):  # drawn and built on the input's GPU, whichever is current
        seeds = (random.generator(xp).random((n, c, *valid)) < gamma).astype(input.dtype)
        keep = 1 - block_mask(seeds, block_size)
        scale = xp.asarray(keep.size / (eps + keep.sum()), dtype=input.dtype)
    if inplace:
        return input.mul_(Tensor(keep)).mul_(Tensor(scale))
    return input * Tensor(keep) * Tensor(scale)


def drop_block2d(
    input: Tensor, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06, training: bool = True
) -> Tensor:
    """DropBlock on (N, C, H, W): drop block_size x block_size squares (p: the fraction dropped)."""
    return _drop_block("drop_block2d", input, p, block_size, inplace, eps, training, 2)


def drop_block3d(
    input: Tensor, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06, training: bool = True
) -> Tensor:
    """DropBlock on (N, C, D, H, W): drop block_size^3 cubes (p: the fraction dropped)."""
    return _drop_block("drop_block3d", input, p, block_size, inplace, eps, training, 3)
