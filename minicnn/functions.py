"""torch's function forms of Tensor methods: ``mc.sum(x, 1)`` is ``x.sum(1)``, ``mc.argmax(x,
dim=1)`` is ``x.argmax(dim=1)``, and so on for every name in :data:`METHODS`.

Each function takes the tensor as its first argument, named ``input`` as in torch, and passes
the rest on to the method of that name; its signature (what ``help`` and ``inspect`` show) is
the method's with ``self`` renamed. A first argument that is not a Tensor (a list, a NumPy
array) is converted with ``mc.tensor`` first, as torch's functions accept Python numbers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from . import ops
from .autograd import Tensor

# Tensor methods that torch also offers as ``torch.<name>(input, ...)``
METHODS = (
    "abs", "add", "all", "allclose", "amax", "amin", "any", "argmax", "argmin", "clone", "count_nonzero",
    "div", "divide", "eq", "equal", "flatten", "floor_divide", "ge", "greater", "greater_equal", "gt",
    "isclose", "isfinite", "isinf", "isnan", "le", "less", "less_equal", "log_softmax", "logical_and",
    "logical_not", "logical_or", "logical_xor", "lt", "masked_fill", "mean", "mul", "multiply", "ne", "neg",
    "negative", "nonzero", "not_equal", "numel", "pow", "relu", "remainder", "sigmoid",
    "softmax", "squeeze", "std", "sub", "subtract", "sum", "swapaxes", "swapdims", "t", "tanh", "unsqueeze", "var",
    # ops/math_extra.py, ops/special_math.py
    "erf", "erfc", "erfinv", "lgamma", "digamma", "mvlgamma", "i0", "sinc", "logit", "sgn", "signbit", "deg2rad",
    "rad2deg", "asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "absolute", "positive", "nan_to_num",
    "isneginf", "isposinf", "isreal", "is_floating_point", "is_complex", "is_signed", "xlogy", "logaddexp",
    "logaddexp2", "copysign", "float_power", "fmax", "fmin", "heaviside", "nextafter", "ldexp", "gcd", "lcm",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "addcmul",
    "addcdiv", "addmv", "addr", "baddbmm", "addbmm", "inner", "kron", "vdot", "clamp_min", "clamp_max",
    # ops/shape_extra.py, ops/index_extra.py
    "index_put", "is_nonzero", "is_same_size",
    # ops/stats.py, ops/search.py, ops/cdist.py
    "aminmax", "bincount", "corrcoef", "cov", "cummax", "cummin", "diff", "histc", "histogram", "kthvalue",
    "logcumsumexp", "median", "mode", "msort", "nanmedian", "nanquantile", "quantile", "renorm", "unique",
    "unique_consecutive",
    # ops/decompositions.py
    "det", "logdet", "slogdet", "inverse", "cholesky", "qr", "svd", "matrix_power", "pinverse", "cross",
)  # fmt: skip


def _function_form(name: str) -> Callable[..., Any]:
    method = getattr(Tensor, name)

    params = list(inspect.signature(method).parameters.values())
    takes_out = "out" in {p.name for p in params}  # (not any(): METHODS rebinds it in this module)

    def function(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - torch's name
        x = input if isinstance(input, Tensor) else Tensor(input)
        if not kwargs:  # (the usual call, mc.relu(x): nothing to unpack)
            return getattr(x, name)(*args)
        out = None if takes_out else kwargs.pop("out", None)
        if out is None:
            return getattr(x, name)(*args, **kwargs)
        return ops.math.write_out(name, out, lambda: getattr(x, name)(*args, **kwargs), x, *args, *kwargs.values())

    if not takes_out:  # torch's out= (ops.math.write_out), shown in the signature as torch's
        out_param = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
        at = next((i for i, p in enumerate(params) if p.kind == p.VAR_KEYWORD), len(params))
        params.insert(at, out_param)
    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [params[0].replace(name="input"), *params[1:]]
    )
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``mc.{name}(input, ...)`` is ``input.{name}(...)`` (torch's function form)."
    return function


for _name in METHODS:
    globals()[_name] = _function_form(_name)


def reshape(input: Any, shape: Any) -> Tensor:  # noqa: A002 - torch's names
    """torch.reshape(input, shape): ``input.reshape(*shape)``."""
    return _tensor(input).reshape(tuple(shape) if isinstance(shape, (tuple, list)) else shape)


def permute(input: Any, dims: Any) -> Tensor:  # noqa: A002
    """torch.permute(input, dims): ``input.permute(*dims)``."""
    return _tensor(input).permute(tuple(dims))


def transpose(input: Any, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """torch.transpose(input, dim0, dim1): the two dims swapped."""
    return _tensor(input).transpose(dim0, dim1)


def true_divide(dividend: Any, divisor: Any) -> Tensor:
    """torch.true_divide: ``dividend / divisor``."""
    return _tensor(dividend) / divisor


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class MaxMin(NamedTuple):
    """``mc.max(x, dim)`` / ``mc.min(x, dim)``: torch's ``(values, indices)`` pair."""

    values: Tensor
    indices: Tensor


def max(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A001, A002
    """torch.max: ``max(x)`` the largest value (0-d); ``max(x, dim, keepdim=False)`` the pair
    ``(values, indices)`` along ``dim`` (``_, predicted = mc.max(logits, 1)``); ``max(x, other)``
    with a tensor ``other`` is :func:`maximum`. (``Tensor.max(dim)`` gives the values only,
    as minicnn's API fixes; ``x.argmax(dim)`` gives the indices.)"""
    return _extreme(input, dim if other is None else other, keepdim, "max")


def min(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A001, A002
    """torch.min: as :func:`max`, for the smallest values (``min(x, other)`` is :func:`minimum`)."""
    return _extreme(input, dim if other is None else other, keepdim, "min")


def _extreme(input: Any, dim: Any, keepdim: bool, kind: str) -> Any:  # noqa: A002
    x = input if isinstance(input, Tensor) else Tensor(input)
    if isinstance(dim, Tensor):
        return (ops.maximum if kind == "max" else ops.minimum)(x, dim)
    if dim is None:
        return getattr(x, kind)()
    values = getattr(x, kind)(dim=dim, keepdim=keepdim)
    indices = (x.argmax if kind == "max" else x.argmin)(dim=dim, keepdim=keepdim)
    return MaxMin(values, indices)


# ops that are torch functions as they stand (minicnn/ops/index.py, ops/shape.py)
OPS = (
    "argsort", "chunk", "diag", "diagonal", "flip", "gather", "index_select", "moveaxis", "movedim", "narrow",
    "narrow_copy", "roll", "scatter", "scatter_add", "scatter_reduce", "sort", "split", "take_along_dim", "tile",
    "topk", "tril", "triu", "unbind",
    # ops/math.py, reduce.py, linalg.py
    "acos", "arccos", "arcsin", "arctan", "arctan2", "asin", "atan", "atan2", "ceil", "cos", "cosh", "exp2",
    "expm1", "fix", "floor", "fmod", "frac", "hypot", "lerp", "log1p", "log2", "log10", "reciprocal", "round",
    "rsqrt", "sign", "sin", "sinh", "square", "tan", "trunc", "cumprod", "cumsum", "dist", "logsumexp",
    "nanmean", "nansum", "norm", "prod", "addmm", "bmm", "dot", "einsum", "ger", "mm", "mv", "outer", "trace",
    # ops/math_extra.py, ops/special_math.py
    "polygamma",
    # ops/shape_extra.py, ops/index_extra.py
    "broadcast_to", "broadcast_tensors", "broadcast_shapes", "atleast_1d", "atleast_2d", "atleast_3d", "hstack",
    "vstack", "row_stack", "dstack", "column_stack", "hsplit", "vsplit", "dsplit", "tensor_split",
    "split_with_sizes", "unflatten", "ravel", "select", "rot90", "fliplr", "flipud", "diag_embed", "diagflat",
    "diagonal_scatter", "select_scatter", "slice_scatter", "index_add", "index_copy", "index_fill",
    "masked_select", "masked_scatter", "take", "put", "repeat_interleave", "block_diag", "cartesian_prod",
    "combinations", "tril_indices", "triu_indices", "meshgrid", "tensordot", "argwhere", "unravel_index", "vander",
    # ops/stats.py, ops/search.py, ops/cdist.py
    "std_mean", "var_mean", "trapezoid", "trapz", "cumulative_trapezoid", "cdist", "bucketize", "searchsorted", "isin",
    # ops/decompositions.py, ops/householder.py, ops/lowrank.py
    "cholesky_solve", "cholesky_inverse", "matrix_exp", "geqrf", "orgqr", "ormqr", "pca_lowrank", "svd_lowrank",
    # ops/aliases.py, ops/aliases_tensor.py
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "affine_grid_generator", "alpha_dropout", "alpha_dropout_",
    "avg_pool1d", "binary_cross_entropy_with_logits", "celu_", "channel_shuffle", "constant_pad_nd",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cosine_embedding_loss", "cosine_similarity",
    "dropout_", "feature_alpha_dropout", "feature_alpha_dropout_", "grid_sampler", "group_norm", "hardshrink",
    "hinge_embedding_loss", "instance_norm", "kl_div", "layer_norm", "margin_ranking_loss", "max_pool1d",
    "max_pool3d", "pairwise_distance", "pixel_shuffle", "pixel_unshuffle", "poisson_nll_loss", "rms_norm", "rrelu",
    "rrelu_", "selu_", "threshold_", "triplet_margin_loss", "abs_", "acos_", "acosh_", "addmv_", "arccos_",
    "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_",
    "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_", "erfc_", "exp2_",
    "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_", "index_put_", "lcm_", "ldexp_", "log10_",
    "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_",
    "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_",
    "xlogy_", "zero_", "adjoint", "as_strided", "asarray", "can_cast", "chain_matmul", "detach", "fill",
    "frobenius_norm", "from_dlpack", "frombuffer", "logspace", "nuclear_norm", "promote_types", "range",
    "result_type", "rsub", "scalar_tensor", "conv2d", "prelu", "resize_as_", "get_device", "to_dlpack",
    # ops/sampling_random.py
    "bernoulli", "multinomial", "normal", "poisson",
    # ops/special_more.py (igamma, igammac)
    "igamma", "igammac",
    # ops/lu.py (LU family, triangular_solve)
    "lu", "lu_unpack", "lu_solve", "triangular_solve",
    # ops/ops_extra.py, ops/native.py, ops/segment.py (torch's remaining top-level ops)
    "native_batch_norm", "native_channel_shuffle", "native_dropout", "native_group_norm", "native_layer_norm",
    "native_norm", "norm_except_dim", "as_strided_", "as_strided_scatter", "binomial", "conv_tbc", "convolution",
    "embedding_renorm_", "feature_dropout", "feature_dropout_", "frexp", "gradient", "grid_sampler_2d",
    "grid_sampler_3d", "histogramdd", "index_reduce", "segment_reduce",
    # ops/copies.py (view ops' copy variants, unsafe_ splits)
    "alias_copy", "as_strided_copy", "detach_copy", "diagonal_copy", "expand_copy", "max_pool1d_with_indices",
    "nonzero_static", "permute_copy", "select_copy", "slice_copy", "slice_inverse", "split_copy",
    "split_with_sizes_copy", "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy", "unfold_copy", "unsafe_chunk",
    "unsafe_split", "unsafe_split_with_sizes", "unsqueeze_copy", "view_copy",
    # ops/rnn_functional.py
    "gru", "gru_cell", "lstm", "lstm_cell", "rnn_relu", "rnn_relu_cell", "rnn_tanh", "rnn_tanh_cell",
)  # fmt: skip

for _name in OPS:
    globals()[_name] = getattr(ops, "movedim" if _name == "moveaxis" else _name)

# torch's top-level forms whose names mc.ops gives to the nn.functional op (or a module):
# torch.dropout(input, p, train), torch.batch_norm in ATen's order, ... (minicnn/ops/aliases.py)
TORCH_FORMS = (
    "batch_norm", "bilinear", "celu", "conv1d", "conv3d", "dropout", "embedding", "max_pool2d", "pdist", "selu",
    "threshold", "ctc_loss", "embedding_bag",
)  # fmt: skip
for _name in TORCH_FORMS:
    globals()[_name] = getattr(ops.aliases, _name)

__all__ = [*METHODS, *OPS, *TORCH_FORMS, "max", "min", "MaxMin", "permute", "reshape", "transpose", "true_divide"]
