"""``mc.nn.functional``: the differentiable ops with torch.nn.functional's signatures."""

import warnings
from typing import Any

from ..ops import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    batch_norm,
    conv2d,
    cross_entropy,
    dropout,
    dropout2d,
    leaky_relu,
    linear,
    local_response_norm,
    log_softmax,
    max_pool2d,
    mse_loss,
    nll_loss,
    pad,
    relu,
    relu6,
    sigmoid,
    softmax,
    tanh,
)
from ..ops import (
    flatten as _flatten,
)
from ..ops.activation import (
    celu,
    celu_,
    elu,
    elu_,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu_,
    logsigmoid,
    mish,
    prelu,
    rrelu,
    rrelu_,
    selu,
    selu_,
    silu,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
    threshold_,
)
from ..ops.attention import multi_head_attention_forward, scaled_dot_product_attention
from ..ops.bilinear import bilinear
from ..ops.conv1d import (
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    avg_pool1d,
    conv1d,
    conv_transpose1d,
    max_pool1d,
)
from ..ops.conv3d import (
    adaptive_avg_pool3d,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool3d,
    conv3d,
    conv_transpose3d,
    max_pool3d,
    max_pool3d_with_indices,
)
from ..ops.conv_transpose import conv_transpose2d, fold, unfold
from ..ops.ctc import ctc_loss
from ..ops.dropout import alpha_dropout, dropout1d, dropout3d, feature_alpha_dropout
from ..ops.embedding import embedding, embedding_bag
from ..ops.fractional_pool import fractional_max_pool2d, fractional_max_pool3d
from ..ops.grid_sample import affine_grid, grid_sample
from ..ops.groupnorm import group_norm, instance_norm, layer_norm
from ..ops.linear_cross_entropy import linear_cross_entropy
from ..ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    smooth_l1_loss,
)
from ..ops.loss_margin import (
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from ..ops.native import native_channel_shuffle
from ..ops.one_hot import one_hot
from ..ops.ops_extra import conv_tbc
from ..ops.pdist import pdist
from ..ops.pixel import channel_shuffle, pixel_shuffle, pixel_unshuffle
from ..ops.rmsnorm import rms_norm
from ..ops.sampling import gumbel_softmax
from ..ops.similarity import cosine_similarity, normalize, pairwise_distance
from ..ops.stochastic_depth import stochastic_depth
from ..ops.unpool import lp_pool1d, lp_pool2d, lp_pool3d, max_unpool1d, max_unpool2d, max_unpool3d
from ..ops.upsample import interpolate


def relu_(input: Any) -> Any:
    """torch.nn.functional.relu_: ``relu(input, inplace=True)``."""
    return relu(input, inplace=True)


def upsample(
    input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest", align_corners: Any = None
) -> Any:
    """Deprecated in torch in favour of :func:`interpolate`, which it calls (with torch's warning)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Any, size: Any = None, scale_factor: Any = None) -> Any:
    """Deprecated in torch: ``interpolate(..., mode="nearest")`` (with torch's warning)."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Any, size: Any = None, scale_factor: Any = None) -> Any:
    """Deprecated in torch: ``interpolate(..., mode="bilinear", align_corners=True)`` (with torch's warning)."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def max_pool1d_with_indices(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """torch's ``max_pool1d_with_indices``: always (output, indices), whatever ``return_indices``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """torch's ``max_pool2d_with_indices``: always (output, indices), whatever ``return_indices``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch's ``adaptive_max_pool1d_with_indices``: always (output, indices)."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """torch's ``adaptive_max_pool2d_with_indices``: always (output, indices)."""
    return adaptive_max_pool2d(input, output_size, True)


def flatten(input: Any, start_dim: int = 1, end_dim: int = -1) -> Any:
    """torch.flatten with the functional API's default ``start_dim=1`` (keeps the batch axis)."""
    return _flatten(input, start_dim, end_dim)


__all__ = [
    "native_channel_shuffle",
    "conv_tbc",
    "ctc_loss",
    "linear_cross_entropy",
    "multi_head_attention_forward",
    "scaled_dot_product_attention",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "affine_grid",
    "alpha_dropout",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "batch_norm",
    "bilinear",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "channel_shuffle",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "elu_",
    "embedding",
    "embedding_bag",
    "feature_alpha_dropout",
    "flatten",
    "fold",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "gaussian_nll_loss",
    "gelu",
    "glu",
    "grid_sample",
    "group_norm",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "hinge_embedding_loss",
    "huber_loss",
    "instance_norm",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "leaky_relu_",
    "linear",
    "local_response_norm",
    "log_softmax",
    "logsigmoid",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "mish",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "pairwise_distance",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rms_norm",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "stochastic_depth",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "unfold",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]
