"""Stochastic depth (Huang et al. 2016), as ``torchvision.ops.stochastic_depth``: in training,
drop a residual branch's output with probability p, per sample ("row") or for the whole batch
("batch"), and scale what is kept by 1/(1-p). The mask goes through an ordinary product, so
the gradient is the same mask and higher derivatives come for free."""

from __future__ import annotations

import numpy as np

from .. import backend, random
from ..autograd import Tensor


def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    """input (N, ...) -> input * noise, noise (N, 1, ..., 1) for "row", (1, ..., 1) for "batch",
    each entry 0 with probability p and 1/(1-p) otherwise (0 everywhere when p = 1).
    Cost: one uniform draw per sample (or one) and one broadcast product."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    shape = (input.shape[0],) + (1,) * (input.ndim - 1) if mode == "row" else (1,) * input.ndim
    survival = 1.0 - p
    if survival > 0.0 and input.dtype.kind not in "fc":  # p = 1 zeros any dtype, as torchvision
        raise TypeError(
            f"stochastic_depth: scaling the kept rows by 1/(1-p) needs a floating-point input, got dtype {input.dtype}"
        )
    xp = input.xp
    with backend.array_scope(input.array):  # drawn on the input's GPU, whichever is current
        u = random.generator(xp).random(shape, dtype=np.float32)
        noise = (u < survival).astype(input.dtype)
        if survival > 0.0:
            noise /= survival
    return input * Tensor(noise)
