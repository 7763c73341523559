"""``mc.nn.utils.fusion``: fold an eval-mode BatchNorm into the convolution or linear layer
before it, as ``torch.nn.utils.fusion``.

In eval mode BatchNorm is the per-channel affine map
``y = (x - mean) / sqrt(var + eps) * gamma + beta`` with fixed running statistics, so a
convolution followed by it is one convolution with

    W' = W * s[c_out]        (s = gamma / sqrt(var + eps), along the output-channel dim)
    b' = (b - mean) * s + beta

(the output-channel dim is 0 of a conv weight (C_out, C_in/groups, k...), 1 of a transposed
conv weight (C_in, C_out/groups, k...): ``transpose=True``). The same for Linear (out, in)
with s along its rows. The fused layer costs nothing extra at inference. Only valid in eval
mode: in training BatchNorm uses the batch's statistics.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from .. import backend
from ..autograd import Tensor, no_grad
from .module import Module, Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]

ConvT = TypeVar("ConvT", bound=Module)
LinearT = TypeVar("LinearT", bound=Module)


def _filled_like(t: Tensor, value: float) -> Tensor:
    with backend.array_scope(t.array):
        return Tensor(t.xp.full_like(t.array, value))


def fuse_conv_bn_eval(conv: ConvT, bn: Module, transpose: bool = False) -> ConvT:
    """A copy of ``conv`` (a Conv or, with ``transpose=True``, a ConvTranspose layer) that
    computes ``bn(conv(x))``; both must be in eval mode (AssertionError otherwise, as torch)
    and ``bn`` must track running statistics."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused_conv = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_conv.weight, fused_conv.bias = fuse_conv_bn_weights(
        fused_conv.weight, fused_conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias, transpose
    )
    return fused_conv


def fuse_conv_bn_weights(
    conv_w: Tensor,
    conv_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor | None,
    bn_b: Tensor | None,
    transpose: bool = False,
) -> tuple[Parameter, Parameter]:
    """(fused weight, fused bias) as new Parameters: ``conv_w`` (C_out, ...) — (C_in, C_out, ...)
    with ``transpose`` — scaled per output channel by ``bn_w / sqrt(bn_rv + bn_eps)``, and
    the bias ``(conv_b - bn_rm) * scale + bn_b``; a missing conv bias counts as 0, a missing
    bn_w as 1 and bn_b as 0. Each keeps its input's dtype; the bias requires grad only when
    ``conv_b`` was given and requires grad (torch's rule)."""
    conv_weight_dtype = conv_w.dtype
    conv_bias_dtype = conv_b.dtype if conv_b is not None else conv_weight_dtype
    conv_b = _filled_like(bn_rm, 0) if conv_b is None else conv_b
    bn_w = _filled_like(bn_rm, 1) if bn_w is None else bn_w
    bn_b = _filled_like(bn_rm, 0) if bn_b is None else bn_b
    shape: list[Any] = ([1, -1] if transpose else [-1, 1]) + [1] * (conv_w.ndim - 2)
    with no_grad():
        bn_var_rsqrt = (bn_rv + bn_eps).rsqrt()
        fused_w = (conv_w * (bn_w * bn_var_rsqrt).reshape(shape)).to(dtype=conv_weight_dtype)
        fused_b = ((conv_b - bn_rm) * bn_var_rsqrt * bn_w + bn_b).to(dtype=conv_bias_dtype)
    return Parameter(fused_w, conv_w.requires_grad), Parameter(fused_b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear: LinearT, bn: Module) -> LinearT:
    """A copy of ``linear`` that computes ``bn(linear(x))`` (BatchNorm1d over the linear
    outputs); both in eval mode and ``bn.num_features`` equal to ``linear.out_features``
    or 1 (AssertionError otherwise, as torch; with a bias-free ``linear`` and a BatchNorm1d(1)
    the fused bias has torch's shape (1,), which linear broadcasts)."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused_linear = copy.deepcopy(linear)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, "
            f"got linear.out_features={linear.out_features} and bn.num_features={bn.num_features}"
        )
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_w, fused_b = fuse_linear_bn_weights(
        fused_linear.weight, fused_linear.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    fused_linear.weight, fused_linear.bias = fused_w, fused_b
    return fused_linear


def fuse_linear_bn_weights(
    linear_w: Tensor,
    linear_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor,
    bn_b: Tensor,
) -> tuple[Parameter, Parameter]:
    """(fused weight, fused bias) as new Parameters: the rows of ``linear_w`` (out, in)
    scaled by ``bn_w / sqrt(bn_rv + bn_eps)`` and the bias ``(linear_b - bn_rm) * scale +
    bn_b`` (a missing linear bias counts as 0; unlike the conv form bn_w and bn_b are needed,
    as torch)."""
    linear_weight_dtype = linear_w.dtype
    linear_bias_dtype = linear_b.dtype if linear_b is not None else linear_weight_dtype
    linear_b = _filled_like(bn_rm, 0) if linear_b is None else linear_b
    with no_grad():
        bn_scale = bn_w * (bn_rv + bn_eps).rsqrt()
        fused_w = linear_w * bn_scale.unsqueeze(-1).to(dtype=linear_weight_dtype)
        fused_b = ((linear_b - bn_rm) * bn_scale + bn_b).to(dtype=linear_bias_dtype)
    return Parameter(fused_w, linear_w.requires_grad), Parameter(fused_b, linear_b.requires_grad)
