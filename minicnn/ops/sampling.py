"""``gumbel_softmax``: a differentiable sample from a categorical distribution
(``torch.nn.functional.gumbel_softmax``).

Shapes: logits of any shape (..., C, ...); the result has the same shape, a probability
vector along ``dim`` (soft), or a one-hot vector there whose gradient is the soft sample's
(hard, the straight-through estimator). Cost: one Gumbel draw and one softmax.

The op is a composition of differentiable ops (softmax, arithmetic), so its gradients of any
order come from theirs. The noise draw is a separate function, :func:`sample_gumbel`, so that
a test can hand :func:`gumbel_softmax_from_noise` a known draw.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import backend
from ..autograd import Tensor
from ..random import generator
from .activation import softmax
from .dims import wrap_dim
from .math import require_float


def sample_gumbel(shape: tuple[int, ...], dtype: Any, device: Any = "cpu") -> Tensor:
    """Standard Gumbel noise -log(E), E ~ Exponential(1), drawn from minicnn's generator (as
    torch's ``-empty_like(logits).exponential_().log()``): a constant Tensor of ``shape``."""
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        e = generator(xp).standard_exponential(size=shape)
        return Tensor(-xp.log(e).astype(dtype, copy=False))


def gumbel_softmax_from_noise(
    logits: Tensor, gumbels: Tensor, tau: float = 1.0, hard: bool = False, dim: int = -1
) -> Tensor:
    """:func:`gumbel_softmax` with the standard Gumbel noise ``gumbels`` (logits' shape) given."""
    if tuple(gumbels.shape) != tuple(logits.shape):
        raise ValueError(f"gumbel_softmax: noise of shape {gumbels.shape}, expected the logits' shape {logits.shape}")
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    xp = y_soft.xp
    if y_soft.ndim == 0:  # a single category: the one-hot sample is 1
        return (Tensor(xp.ones((), dtype=y_soft.dtype)) - y_soft.detach()) + y_soft
    if y_soft.shape[dim] == 0:
        raise IndexError(f"gumbel_softmax: hard=True needs a non-empty dim {dim}, got logits of shape {logits.shape}")
    with backend.array_scope(y_soft.array):
        index = xp.expand_dims(xp.argmax(y_soft.array, axis=dim), dim)
        # one-hot by comparison with the positions along dim (CuPy 13 has no put_along_axis)
        axis = dim % y_soft.ndim
        positions = xp.arange(y_soft.shape[axis]).reshape([-1 if d == axis else 1 for d in range(y_soft.ndim)])
        y_hard = (positions == index).astype(y_soft.dtype)
    return (Tensor(y_hard) - y_soft.detach()) + y_soft


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A sample from the Gumbel-softmax distribution: softmax((logits + G) / tau) along ``dim``,
    G standard Gumbel noise. ``hard=True``: the one-hot vector of the sample's argmax in the
    forward pass, with the soft sample's gradient (``y_hard - y_soft.detach() + y_soft``).
    ``eps`` is unused (deprecated in torch, which warns when it is set). Shape: kept."""
    require_float(logits, "gumbel_softmax", "logits")
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    dim = wrap_dim(dim, max(logits.ndim, 1), "gumbel_softmax")
    gumbels = sample_gumbel(tuple(logits.shape), logits.dtype, logits.device)
    return gumbel_softmax_from_noise(logits, gumbels, tau, hard, dim)
