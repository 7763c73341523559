"""Inverted dropout: zero each element with probability p, scale the survivors by 1/(1-p).

Shapes: x (N, C, *) -> y (same). ``dropout`` draws one keep/drop decision per element;
``dropout2d`` one per (n, c) channel (a (N, C, 1, 1) mask broadcast over H, W), which suits
convolutional features whose neighbouring pixels are strongly correlated.

Scaling the kept activations during training ("inverted" dropout) keeps E[y] = x, so
evaluation needs no rescaling: dropout is then the identity. Backward multiplies the output
gradient by the same mask: dy/dx = mask.

Alpha dropout (Klambauer et al. 2017, for SELU networks) sets a dropped element to SELU's
negative saturation value instead of 0 and then corrects mean and variance with an affine
map, so that zero-mean unit-variance activations keep those moments:
``y = a (x m + alpha' (1 - m)) + b`` with ``alpha' = -1.7580993408473766`` (= -scale*alpha
of SELU), ``a = ((1 - p)(1 + p alpha'^2))^(-1/2)`` and ``b = -a alpha' p``. The gradient is
``a m``, so the backward is the same mask multiplication with mask values a and 0.

Draws come from ``minicnn.random.generator(xp)``, so ``mc.manual_seed`` makes masks
reproducible. Cost: one uniform draw per mask element and two elementwise passes; the mask
(x's dtype, or one value per channel for dropout2d) is kept for backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import random
from ..backend import get_array_module
from . import cuda


def check_probability(p: float, op: str = "dropout") -> float:
    """``p`` as a float after checking 0 <= p <= 1 (ValueError naming ``op`` otherwise, as torch)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def dropout_mask(shape: tuple[int, ...], p: float, dtype: Any = np.float32, xp: Any = np) -> Any:
    """Array of ``shape`` holding 0 (dropped, probability p) or 1/(1-p) (kept, probability 1-p).

    A uniform u in [0, 1) is kept when u >= p, so p = 0 keeps all and p = 1 drops all, and
    p = 1 never divides by zero.
    """
    if p >= 1.0:
        return xp.zeros(shape, dtype=dtype)
    u = random.generator(xp).random(shape, dtype=np.float32)
    mask = (u >= p).astype(dtype)
    mask *= 1.0 / (1.0 - p)
    return mask


def mask_shape(x_shape: tuple[int, ...], channelwise: bool = False) -> tuple[int, ...]:
    """x's shape, or (N, C, 1, ..., 1) for one decision per channel (dropout2d)."""
    return tuple(x_shape[:2]) + (1,) * (len(x_shape) - 2) if channelwise else tuple(x_shape)


def dropout_forward(x: Any, p: float, channelwise: bool = False) -> tuple[Any, Any]:
    """(y, mask), y like x, the mask shaped by :func:`mask_shape`. Cost: one uniform draw per mask
    element and two elementwise passes (the mask, then y = x * mask)."""
    if cuda.enabled_for(x):
        return cuda.dropout.dropout_forward(x, p, channelwise)
    mask = dropout_mask(mask_shape(x.shape, channelwise), p, x.dtype, get_array_module(x))
    return x * mask, mask


def dropout_backward(gy: Any, mask: Any) -> Any:
    """grad_x = grad_y * mask (the very mask of the forward pass), grad_y's shape; one multiply pass."""
    return gy * mask


SELU_SATURATION = -1.7580993408473766  # SELU's limit at -inf: -scale * alpha


def alpha_dropout_forward(x: Any, p: float, channelwise: bool = False) -> tuple[Any, Any]:
    """(y, grad_mask) for alpha dropout: y = x * grad_mask + shift, where grad_mask is a on
    kept elements and 0 on dropped ones (shaped by :func:`mask_shape`, broadcast over x).
    p = 1 drops everything to 0, as torch."""
    xp = get_array_module(x)
    shape = mask_shape(x.shape, channelwise)
    if p >= 1.0:
        mask = xp.zeros(shape, dtype=x.dtype)
        return x * mask, mask
    kept = random.generator(xp).random(shape, dtype=np.float32) >= p
    a = (1.0 / np.sqrt((1.0 - p) * (1.0 + p * SELU_SATURATION**2))).astype(x.dtype)
    grad_mask = kept * a
    shift = (1.0 - kept) * (a * SELU_SATURATION) - a * SELU_SATURATION * p
    return x * grad_mask + shift.astype(x.dtype, copy=False), grad_mask.astype(x.dtype, copy=False)
