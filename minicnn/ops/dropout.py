"""Differentiable inverted dropout and channel dropout (kernels in kernels/dropout.py)."""

from __future__ import annotations

import warnings

from .. import backend
from ..autograd import Function, Tensor, _check_writable, _latest, is_grad_enabled
from ..kernels import dropout as K


class Dropout(Function):
    def forward(self, x):
        y, mask = K.dropout_forward(x, self.p, self.channelwise)
        if self.requires_grad:
            self.mask = mask  # backward reuses the forward mask
        return y

    def backward(self, gy):
        return K.dropout_backward(gy, self.mask)


def _dropout(x: Tensor, p: float, training: bool, inplace: bool, channelwise: bool, op: str) -> Tensor:
    p = K.check_probability(p, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got dtype {x.dtype}")
    if channelwise and x.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *), got shape {x.shape}")
    if not training or p == 0.0:
        return x  # identity, the same tensor (as torch)
    if inplace:  # written into x's memory, as torch; recorded like any in-place op when needed
        x = _latest(x)
        if is_grad_enabled() and x.requires_grad:
            return x._record_inplace(lambda old: Dropout.apply(old, p=p, channelwise=channelwise), f"{op}_")
        _check_writable(x.array, f"{op}_")
        with backend.array_scope(x.array):
            x.array *= K.dropout_mask(K.mask_shape(x.shape, channelwise), p, x.dtype, x.xp)
        x._version += 1  # an op that kept x for its backward notices
        return x
    return Dropout.apply(x, p=p, channelwise=channelwise)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p)
    in training; the identity otherwise."""
    return _dropout(input, p, training, inplace, False, "dropout")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout: zero whole (n, c) feature maps of input (N, C, H, W) with probability p.

    As torch 2.14, other ranks warn and still drop whole (n, c) slices: a 3-D input is taken
    as (N, C, L), a 2-D one as (N, C) (so elementwise), a 5-D one as (N, C, D, H, W)."""
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    elif input.ndim != 4:
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. Note "
            "that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial dimensions, a channel "
            "dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            UserWarning,
            stacklevel=2,
        )
    return _dropout(input, p, training, inplace, True, "dropout2d")
