"""Differentiable dropout (kernels in kernels/dropout.py): inverted dropout, channel dropout
over 1, 2 or 3 spatial dims, and alpha dropout (elementwise and per channel)."""

from __future__ import annotations

import warnings

from .. import backend
from ..autograd import Function, Tensor, _check_inference_write, _check_writable, _latest, is_grad_enabled
from ..kernels import dropout as K
from .errors import ShapeError
from .shape import squeeze, unsqueeze


class Dropout(Function):
    """y = x * mask (+ a constant shift for alpha dropout); dy/dx = mask."""

    def forward(self, x):
        forward = K.alpha_dropout_forward if self.alpha else K.dropout_forward
        y, mask = forward(x, self.p, self.channelwise)
        if self.requires_grad:
            self.mask = mask  # backward reuses the forward mask
        return y

    def backward(self, gy):
        return K.dropout_backward(gy, self.mask)

    def backward_graph(self, gy, x):  # the same mask again: not a new draw
        return gy * Tensor(self.mask)


def _dropout(
    x: Tensor, p: float, training: bool, inplace: bool, channelwise: bool, op: str, alpha: bool = False
) -> Tensor:
    p = K.check_probability(p, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got dtype {x.dtype}")
    if not training or p == 0.0:
        return x  # identity, the same tensor (as torch), whatever the rank
    if channelwise and x.ndim < 2 and p < 1.0 and x.numel():  # torch passes p=1 and empty inputs
        raise ShapeError(f"{op}: expected an input of shape (N, C, *), got shape {x.shape}")
    settings = dict(p=p, channelwise=channelwise, alpha=alpha)
    if inplace:  # written into x's memory, as torch; recorded like any in-place op when needed
        x = _latest(x)
        if is_grad_enabled() and x.requires_grad:
            return x._record_inplace(lambda old: Dropout.apply(old, **settings), f"{op}_")
        _check_inference_write(x)
        _check_writable(x.array, f"{op}_")
        with backend.array_scope(x.array):
            if alpha:
                x.array[...] = K.alpha_dropout_forward(x.array, p, channelwise)[0]
            else:
                x.array *= K.dropout_mask(K.mask_shape(x.shape, channelwise), p, x.dtype, x.xp)
        x._version += 1  # an op that kept x for its backward notices
        return x
    return Dropout.apply(x, **settings)


def _unbatched_channels(x: Tensor, batched: bool, p: float, training: bool, inplace: bool, op: str) -> Tensor:
    """Channel dropout of x; an unbatched x (C, *) is run as (1, C, *), as torch."""
    if batched:
        return _dropout(x, p, training, inplace, True, op)
    return squeeze(_dropout(unsqueeze(x, 0), p, training, inplace, True, op), 0)


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


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for sequences: zero whole (n, c) rows of (N, C, L) (or c rows of an
    unbatched (C, L)) with probability p, scale the rest by 1/(1-p)."""
    K.check_probability(p, "dropout1d")
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that dropout1d exists to "
            "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an optional "
            "batch dimension (i.e. 2D or 3D inputs)."
        )
    return _unbatched_channels(input, input.ndim == 3, p, training, inplace, "dropout1d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for volumes: zero whole (n, c) maps of (N, C, D, H, W) (or of an
    unbatched (C, D, H, W)); other ranks warn and are taken as unbatched, as torch."""
    K.check_probability(p, "dropout3d")
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout instead. "
            "Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial dimensions, a "
            "channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            UserWarning,
            stacklevel=2,
        )
    return _unbatched_channels(input, input.ndim == 5, p, training, inplace, "dropout3d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout (for SELU networks): each element dropped with probability p is set to
    SELU's saturation value and the result is mapped affinely so that zero mean and unit
    variance are kept (formula in kernels/dropout.py). The identity when not training."""
    return _dropout(input, p, training, inplace, False, "alpha_dropout", alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole (n, c) channels of (N, C, *)."""
    K.check_probability(p, "feature_alpha_dropout")
    if input.ndim < 2 and training and 0.0 < p < 1.0:  # torch checks the rank only when it drops
        raise RuntimeError("feature_alpha_dropout: Feature dropout requires at least 2 dimensions in the input")
    return _dropout(input, p, training, inplace, input.ndim >= 2, "feature_alpha_dropout", alpha=True)
