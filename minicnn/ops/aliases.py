"""torch's top-level forms of ``nn.functional`` ops and torch's in-place function forms.

``torch.conv2d``, ``torch.dropout``, ``torch.batch_norm``, ``torch.kl_div`` ... are the ATen ops
behind ``F.*``: same computation, but often another signature (``torch.dropout(input, p, train)``
has no defaults, ``torch.batch_norm`` takes weight and bias before the running statistics and a
``cudnn_enabled`` flag, the losses take ``reduction`` as an int: 0 none, 1 mean, 2 sum, and
default to 0 -- ``torch.kl_div(x, y)`` is unreduced, though ATen's schema writes Mean --,
``torch.embedding(weight, indices)`` swaps F's operands). Each function here has torch's
top-level signature and only delegates to minicnn's F op (no kernels of its own), so its
gradients are that op's.

``mc.exp_(x)``, ``mc.clamp_(x, 0, 1)``, ... (:data:`INPLACE_FUNCTIONS`) are ``x.exp_()``,
``x.clamp_(0, 1)``: torch's function forms of in-place Tensor methods.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ..autograd import Tensor
from .activation import celu as _celu
from .activation import celu_ as _celu_
from .activation import hardshrink, prelu
from .activation import rrelu as _rrelu
from .activation import rrelu_ as _rrelu_
from .activation import selu as _selu
from .activation import selu_ as _selu_
from .activation import threshold as _threshold
from .activation import threshold_ as _threshold_
from .bilinear import bilinear
from .conv import conv2d
from .conv1d import adaptive_avg_pool1d, avg_pool1d, conv1d, conv_transpose1d
from .conv1d import adaptive_max_pool1d as _adaptive_max_pool1d
from .conv1d import max_pool1d as _max_pool1d
from .conv3d import conv3d, conv_transpose3d
from .conv3d import max_pool3d as _max_pool3d
from .conv_transpose import conv_transpose2d
from .ctc import torch_ctc_loss as ctc_loss  # noqa: F401  (torch.ctc_loss: reduction as an int)
from .dropout import alpha_dropout as _alpha_dropout
from .dropout import dropout as _dropout_f
from .dropout import feature_alpha_dropout as _feature_alpha_dropout
from .embedding import embedding as _embedding
from .grid_sample import affine_grid as _affine_grid
from .grid_sample import grid_sample as _grid_sample
from .groupnorm import group_norm as _group_norm
from .groupnorm import instance_norm as _instance_norm
from .groupnorm import layer_norm as _layer_norm
from .loss import binary_cross_entropy_with_logits as _bce_with_logits
from .loss import kl_div as _kl_div
from .loss_margin import cosine_embedding_loss as _cosine_embedding_loss
from .loss_margin import hinge_embedding_loss as _hinge_embedding_loss
from .loss_margin import margin_ranking_loss as _margin_ranking_loss
from .loss_margin import poisson_nll_loss as _poisson_nll_loss
from .loss_margin import triplet_margin_loss as _triplet_margin_loss
from .norm import batch_norm as _batch_norm
from .ops_extra import embedding_bag  # noqa: F401  (torch.embedding_bag: weight first, a 4-tuple)
from .pad import pad as _pad
from .pdist import pdist
from .pixel import channel_shuffle, pixel_shuffle, pixel_unshuffle
from .pool import max_pool2d as _max_pool2d
from .rmsnorm import rms_norm
from .similarity import cosine_similarity, pairwise_distance

_REDUCTIONS = ("none", "mean", "sum")  # ATen's int reduction: 0, 1, 2 (torch.nn._reduction)


def _reduction(reduction: int | str, op: str) -> str:
    if isinstance(reduction, str) and reduction in _REDUCTIONS:
        return reduction
    if isinstance(reduction, int) and not isinstance(reduction, bool) and 0 <= reduction < 3:
        return _REDUCTIONS[reduction]
    raise ValueError(f"{op}: reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")


# --- convolutions and pools: torch's top-level forms are F's -------------------------------
# (conv1d/2d/3d, conv_transpose1d/2d/3d, avg_pool1d, adaptive_avg_pool1d, pixel_shuffle,
# pixel_unshuffle, channel_shuffle, cosine_similarity, pairwise_distance, pdist, bilinear,
# rms_norm are F's functions themselves, imported above.)


def _pool_stride(stride: Any) -> Any:
    return None if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else stride


def max_pool1d(
    input: Tensor,  # noqa: A002 - torch's names
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """torch.max_pool1d: F.max_pool1d without indices (``stride=()``: the kernel size)."""
    return _max_pool1d(input, kernel_size, _pool_stride(stride), padding, dilation, ceil_mode)


def max_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """torch.max_pool2d: F.max_pool2d without indices (``stride=()``: the kernel size)."""
    return _max_pool2d(input, kernel_size, _pool_stride(stride), padding, dilation, ceil_mode)


def max_pool3d(
    input: Tensor,  # noqa: A002
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """torch.max_pool3d: F.max_pool3d without indices (``stride=()``: the kernel size)."""
    return _max_pool3d(input, kernel_size, _pool_stride(stride), padding, dilation, ceil_mode)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple[Tensor, Tensor]:  # noqa: A002
    """torch.adaptive_max_pool1d: always the pair ``(values, indices)``."""
    return _adaptive_max_pool1d(input, output_size, return_indices=True)


# --- dropout: (input, p, train), all required ----------------------------------------------


def dropout(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """torch.dropout(input, p, train): F.dropout(input, p, training=train)."""
    return _dropout("dropout", input, p, train, False)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    return _dropout("alpha_dropout", input, p, train, False)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    return _dropout("feature_alpha_dropout", input, p, train, False)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    """torch.dropout_: :func:`dropout` written into ``input``."""
    return _dropout("dropout", input, p, train, True)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    return _dropout("alpha_dropout", input, p, train, True)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    return _dropout("feature_alpha_dropout", input, p, train, True)


def _dropout(name: str, input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:  # noqa: A002
    f = {"dropout": _dropout_f, "alpha_dropout": _alpha_dropout, "feature_alpha_dropout": _feature_alpha_dropout}[name]
    return f(input, p, training=bool(train), inplace=inplace)


# --- normalisations: ATen's argument order --------------------------------------------------


def batch_norm(
    input: Tensor,  # noqa: A002
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """torch.batch_norm: F.batch_norm with weight and bias first (``cudnn_enabled`` is ignored)."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, _check_eps=False)


def instance_norm(
    input: Tensor,  # noqa: A002
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> Tensor:
    """torch.instance_norm: F.instance_norm with weight and bias first (``cudnn_enabled`` is ignored)."""
    return _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: Sequence[int] | int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-05,
    cudnn_enable: bool = True,
) -> Tensor:
    """torch.layer_norm: F.layer_norm (``cudnn_enable`` is ignored)."""
    return _layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(
    input: Tensor,  # noqa: A002
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-05,
    cudnn_enabled: bool = True,
) -> Tensor:
    """torch.group_norm: F.group_norm (``cudnn_enabled`` is ignored)."""
    return _group_norm(input, num_groups, weight, bias, eps)


def embedding(
    weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False
) -> Tensor:
    """torch.embedding(weight, indices): F.embedding(indices, weight); ``padding_idx=-1`` is none
    (F passes a negative index already turned into ``num_embeddings + padding_idx``)."""
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    return _embedding(indices, weight, pad, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


# --- activations -----------------------------------------------------------------------------


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return _celu(input, alpha)


def selu(input: Tensor) -> Tensor:  # noqa: A002
    return _selu(input)


def rrelu(input: Tensor, lower: float = 0.125, upper: float = 1.0 / 3.0, training: bool = False) -> Tensor:  # noqa: A002
    """torch.rrelu (no ``generator``: draws come from the library generator, ``mc.manual_seed``)."""
    return _rrelu(input, lower, upper, training)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    return _threshold(input, threshold, value)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return _celu_(input, alpha)


def selu_(input: Tensor) -> Tensor:  # noqa: A002
    return _selu_(input)


def rrelu_(input: Tensor, lower: float = 0.125, upper: float = 1.0 / 3.0, training: bool = False) -> Tensor:  # noqa: A002
    return _rrelu_(input, lower, upper, training)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    return _threshold_(input, threshold, value)


# --- losses: reduction as an int (0 none, 1 mean, 2 sum) -------------------------------------


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *, log_target: bool = False) -> Tensor:  # noqa: A002
    """torch.kl_div: ATen's "mean" (1) is the plain mean over all elements, as F.kl_div's."""
    return _kl_div(input, target, reduction=_reduction(reduction, "kl_div"), log_target=log_target)


def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    reduction: int = 0,
) -> Tensor:
    red = _reduction(reduction, "binary_cross_entropy_with_logits")
    return _bce_with_logits(input, target, weight, reduction=red, pos_weight=pos_weight)


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: int = 0
) -> Tensor:
    red = _reduction(reduction, "cosine_embedding_loss")
    return _cosine_embedding_loss(input1, input2, target, margin, reduction=red)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 0) -> Tensor:  # noqa: A002
    red = _reduction(reduction, "hinge_embedding_loss")
    return _hinge_embedding_loss(input, target, margin, reduction=red)


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: int = 0
) -> Tensor:
    red = _reduction(reduction, "margin_ranking_loss")
    return _margin_ranking_loss(input1, input2, target, margin, reduction=red)


def poisson_nll_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    log_input: bool,
    full: bool,
    eps: float,
    reduction: int,
) -> Tensor:
    """torch.poisson_nll_loss: every argument required, as ATen's."""
    red = _reduction(reduction, "poisson_nll_loss")
    return _poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=red)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-06,
    swap: bool = False,
    reduction: int = 0,
) -> Tensor:
    red = _reduction(reduction, "triplet_margin_loss")
    return _triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=red)


# --- padding and sampling --------------------------------------------------------------------


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:  # noqa: A002
    """torch.constant_pad_nd: F.pad(input, pad, "constant", value) (negative pads crop)."""
    return _pad(input, pad, "constant", value)


_INTERPOLATION = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


def grid_sampler(
    input: Tensor,  # noqa: A002
    grid: Tensor,
    interpolation_mode: int,
    padding_mode: int,
    align_corners: bool,
) -> Tensor:
    """torch.grid_sampler: F.grid_sample with ATen's int modes (interpolation 0 bilinear,
    1 nearest, 2 bicubic; padding 0 zeros, 1 border, 2 reflection)."""
    if interpolation_mode not in (0, 1, 2) or padding_mode not in (0, 1, 2):
        raise ValueError(
            f"grid_sampler: interpolation_mode and padding_mode must be 0, 1 or 2, "
            f"got {interpolation_mode!r} and {padding_mode!r}"
        )
    mode, pmode = _INTERPOLATION[interpolation_mode], _PADDING[padding_mode]
    return _grid_sample(input, grid, mode, pmode, bool(align_corners))


def affine_grid_generator(theta: Tensor, size: Sequence[int], align_corners: bool) -> Tensor:
    """torch.affine_grid_generator: F.affine_grid with ``align_corners`` required."""
    return _affine_grid(theta, size, bool(align_corners))


# --- in-place function forms of Tensor methods: mc.exp_(x) is x.exp_() ------------------------

INPLACE_FUNCTIONS = (
    "abs", "acos", "acosh", "addmv", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "asin", "asinh",
    "atan", "atanh", "ceil", "clamp", "clamp_max", "clamp_min", "clip", "cos", "cosh", "deg2rad", "detach", "erf",
    "erfc", "exp2", "exp", "expm1", "fill", "fix", "floor", "frac", "gcd", "i0", "index_put", "lcm", "ldexp",
    "log10", "log1p", "log2", "log", "logit", "nan_to_num", "neg", "negative", "rad2deg", "reciprocal", "relu",
    "round", "resize_as", "rsqrt", "sigmoid", "sin", "sinc", "sinh", "sqrt", "square", "tan", "tanh", "trunc",
    "xlogy", "zero",
)  # fmt: skip


def _inplace_function(name: str) -> Callable[..., Any]:
    """``mc.<name>_(input, ...)``: ``input.<name>_(...)``; its signature is the out-of-place
    method's (``self`` named ``input``), as torch's documentation gives it."""
    method_name = f"{name}_"
    template = getattr(Tensor, name, None)
    if template is None or name in ("fill", "zero", "detach", "resize_as"):
        template = getattr(Tensor, method_name)

    def function(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{method_name}(): argument 'input' must be Tensor, not {type(input).__name__}")
        return getattr(input, method_name)(*args, **kwargs)

    params = list(inspect.signature(template).parameters.values())
    function.__signature__ = inspect.Signature([params[0].replace(name="input"), *params[1:]])  # type: ignore[attr-defined]
    function.__name__ = function.__qualname__ = method_name
    function.__doc__ = f"``mc.{method_name}(input, ...)`` is ``input.{method_name}(...)`` (torch's function form)."
    return function


for _name in INPLACE_FUNCTIONS:
    globals()[f"{_name}_"] = _inplace_function(_name)

__all__ = [
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "affine_grid_generator", "alpha_dropout", "alpha_dropout_",
    "avg_pool1d", "batch_norm", "bilinear", "binary_cross_entropy_with_logits", "celu", "celu_", "channel_shuffle",
    "constant_pad_nd", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "cosine_embedding_loss", "cosine_similarity", "dropout", "dropout_", "embedding", "feature_alpha_dropout",
    "feature_alpha_dropout_", "grid_sampler", "group_norm", "hardshrink", "hinge_embedding_loss", "instance_norm",
    "kl_div", "layer_norm", "margin_ranking_loss", "max_pool1d", "max_pool2d", "max_pool3d", "pairwise_distance",
    "pdist", "pixel_shuffle", "pixel_unshuffle", "poisson_nll_loss", "prelu", "rms_norm", "rrelu", "rrelu_", "selu",
    "selu_", "threshold", "threshold_", "triplet_margin_loss",
    *(f"{n}_" for n in INPLACE_FUNCTIONS),
]  # fmt: skip
