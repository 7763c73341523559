"""Differentiable ops: small Function classes that call array code or kernels.

``mc.nn.functional`` re-exports these with torch's signatures. ``mc.ops`` also holds
torchvision.ops' forms: ``deform_conv2d`` / ``DeformConv2d``, ``stochastic_depth`` /
``StochasticDepth``, the box functions and ``nms``, ``roi_align`` / ``RoIAlign``, ``roi_pool``,
``drop_block2d`` / ``DropBlock2d``, ``FrozenBatchNorm2d`` (the module classes load on first use,
from ``mc.nn``).
"""

from .activation import (
    celu,
    elu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    leaky_relu_,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softsign,
    tanh,
    threshold,
)
from .boxes import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    complete_box_iou,
    complete_box_iou_loss,
    distance_box_iou,
    distance_box_iou_loss,
    generalized_box_iou,
    generalized_box_iou_loss,
    masks_to_boxes,
    nms,
    remove_small_boxes,
    sigmoid_focal_loss,
)
from .conv import conv2d
from .deform_conv import deform_conv2d
from .drop_block import drop_block2d, drop_block3d
from .dropout import dropout, dropout2d
from .index import (
    SortResult,
    TopKResult,
    argsort,
    gather,
    index_select,
    scatter,
    scatter_add,
    scatter_reduce,
    sort,
    take_along_dim,
    topk,
)
from .linalg import addmm, bmm, dot, einsum, ger, mm, mv, outer, trace
from .linear import linear
from .loss import cross_entropy, mse_loss, nll_loss
from .math import (
    abs,
    acos,
    add,
    arccos,
    arcsin,
    arctan,
    arctan2,
    asin,
    astype,
    atan,
    atan2,
    ceil,
    clamp,
    clip,
    clone,
    cos,
    cosh,
    div,
    exp,
    exp2,
    expm1,
    fill_mask,
    fix,
    floor,
    floor_divide,
    fmod,
    frac,
    hypot,
    index_put,
    lerp,
    log,
    log1p,
    log2,
    log10,
    matmul,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    reciprocal,
    remainder,
    round,
    rsqrt,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    sub,
    tan,
    to_device,
    trunc,
    unbroadcast,
    where,
    write_index,
)
from .norm import batch_norm, local_response_norm
from .pad import pad
from .pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d
from .reduce import (
    amax,
    amin,
    cumprod,
    cumsum,
    dist,
    logsumexp,
    max,
    mean,
    min,
    nanmean,
    nansum,
    norm,
    prod,
    std,
    sum,
    var,
)
from .roi import roi_align, roi_pool
from .shape import (
    cat,
    chunk,
    diag,
    diagonal,
    expand,
    flatten,
    flip,
    getitem,
    movedim,
    narrow,
    narrow_copy,
    permute,
    plain_index,
    repeat,
    reshape,
    roll,
    split,
    squeeze,
    stack,
    tile,
    transpose,
    tril,
    triu,
    unbind,
    unsqueeze,
)
from .stochastic_depth import stochastic_depth

__all__ = [
    "abs",
    "acos",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "add",
    "addmm",
    "amax",
    "amin",
    "arccos",
    "arcsin",
    "arctan",
    "arctan2",
    "argsort",
    "asin",
    "astype",
    "atan",
    "atan2",
    "avg_pool2d",
    "batch_norm",
    "bmm",
    "cat",
    "ceil",
    "celu",
    "chunk",
    "clamp",
    "clip",
    "clone",
    "conv2d",
    "cos",
    "cosh",
    "cross_entropy",
    "cumprod",
    "cumsum",
    "diag",
    "diagonal",
    "dist",
    "div",
    "dot",
    "dropout",
    "dropout2d",
    "einsum",
    "elu",
    "exp",
    "exp2",
    "expand",
    "expm1",
    "fill_mask",
    "fix",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "fmod",
    "frac",
    "gather",
    "gelu",
    "ger",
    "getitem",
    "glu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hypot",
    "index_put",
    "index_select",
    "leaky_relu",
    "leaky_relu_",
    "lerp",
    "linear",
    "local_response_norm",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logsigmoid",
    "logsumexp",
    "matmul",
    "max",
    "max_pool2d",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mish",
    "mm",
    "movedim",
    "mse_loss",
    "mul",
    "mv",
    "nanmean",
    "nansum",
    "narrow",
    "narrow_copy",
    "neg",
    "nll_loss",
    "norm",
    "outer",
    "pad",
    "permute",
    "plain_index",
    "pow",
    "prelu",
    "prod",
    "reciprocal",
    "relu",
    "relu6",
    "remainder",
    "repeat",
    "reshape",
    "roll",
    "round",
    "rsqrt",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "selu",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "sinh",
    "softmax",
    "softmin",
    "softplus",
    "softsign",
    "sort",
    "SortResult",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "take_along_dim",
    "tan",
    "tanh",
    "threshold",
    "tile",
    "to_device",
    "topk",
    "TopKResult",
    "trace",
    "transpose",
    "tril",
    "triu",
    "trunc",
    "unbind",
    "unbroadcast",
    "unsqueeze",
    "var",
    "where",
    "write_index",
    "deform_conv2d",
    "stochastic_depth",
    "DeformConv2d",
    "StochasticDepth",
    "box_area",
    "box_iou",
    "generalized_box_iou",
    "distance_box_iou",
    "complete_box_iou",
    "box_convert",
    "clip_boxes_to_image",
    "remove_small_boxes",
    "nms",
    "batched_nms",
    "masks_to_boxes",
    "generalized_box_iou_loss",
    "distance_box_iou_loss",
    "complete_box_iou_loss",
    "sigmoid_focal_loss",
    "roi_align",
    "roi_pool",
    "drop_block2d",
    "drop_block3d",
    "RoIAlign",
    "RoIPool",
    "DropBlock2d",
    "DropBlock3d",
    "FrozenBatchNorm2d",
]

_MODULES = {  # torchvision.ops' layers, defined with the other layers in mc.nn
    "DeformConv2d": "deform_conv",
    "StochasticDepth": "dropout",
    "RoIAlign": "vision_layers",
    "RoIPool": "vision_layers",
    "DropBlock2d": "vision_layers",
    "DropBlock3d": "vision_layers",
    "FrozenBatchNorm2d": "vision_layers",
}


def __getattr__(name: str) -> object:
    if name in _MODULES:
        import importlib

        return getattr(importlib.import_module(f"..nn.{_MODULES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- elementwise math and special functions (ops/math_extra.py, ops/special_math.py) --
from .math_extra import (  # noqa: E402, I001
    addbmm, addcdiv, addcmul, addmv, addr, baddbmm, bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or,
    bitwise_right_shift, bitwise_xor, copysign, deg2rad, entr, float_power, fmax, fmin, gcd, heaviside, inner,
    isneginf, isposinf, isreal, kron, lcm, ldexp, logaddexp, logaddexp2, logit, nan_to_num, nextafter, positive,
    rad2deg, sgn, signbit, vdot, xlog1py, xlogy,
)  # fmt: skip
from .special_math import (  # noqa: E402
    acosh, arccosh, arcsinh, arctanh, asinh, atanh, digamma, erf, erfc, erfinv, i0, i0e, i1, i1e, lgamma, log_ndtr,
    mvlgamma, ndtri, polygamma, sinc,
)  # fmt: skip

__all__ += [
    "addbmm", "addcdiv", "addcmul", "addmv", "addr", "baddbmm", "bitwise_and", "bitwise_left_shift", "bitwise_not",
    "bitwise_or", "bitwise_right_shift", "bitwise_xor", "copysign", "deg2rad", "entr", "float_power", "fmax", "fmin",
    "gcd", "heaviside", "inner", "isneginf", "isposinf", "isreal", "kron", "lcm", "ldexp", "logaddexp", "logaddexp2",
    "logit", "nan_to_num", "nextafter", "positive", "rad2deg", "sgn", "signbit", "vdot", "xlog1py", "xlogy",
    "acosh", "arccosh", "arcsinh", "arctanh", "asinh", "atanh", "digamma", "erf", "erfc", "erfinv", "i0", "i0e", "i1",
    "i1e", "lgamma", "log_ndtr", "mvlgamma", "ndtri", "polygamma", "sinc",
]  # fmt: skip

# -- shape, indexing and metadata (ops/shape_extra.py, ops/index_extra.py) --
from .index_extra import (  # noqa: E402  (index_put with torch's signature is mc.index_put; ops.index_put is x[i] = v)
    argwhere,
    index_add,
    index_copy,
    index_fill,
    masked_scatter,
    masked_select,
    put,
    repeat_interleave,
    sum_to_size,
    take,
    tril_indices,
    triu_indices,
    unravel_index,
)
from .shape_extra import (  # noqa: E402
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cartesian_prod,
    column_stack,
    combinations,
    diag_embed,
    diagflat,
    diagonal_scatter,
    dsplit,
    dstack,
    fliplr,
    flipud,
    hsplit,
    hstack,
    meshgrid,
    ravel,
    rot90,
    row_stack,
    select,
    select_scatter,
    slice_scatter,
    split_with_sizes,
    tensor_split,
    tensordot,
    unflatten,
    vander,
    vsplit,
    vstack,
)

__all__ += [  # noqa: PLE0605
    "argwhere", "index_add", "index_copy", "index_fill", "masked_scatter", "masked_select", "put",
    "repeat_interleave", "sum_to_size", "take", "tril_indices", "triu_indices", "unravel_index", "atleast_1d",
    "atleast_2d", "atleast_3d", "block_diag", "broadcast_shapes", "broadcast_tensors", "broadcast_to",
    "cartesian_prod", "column_stack", "combinations", "diag_embed", "diagflat", "diagonal_scatter", "dsplit",
    "dstack", "fliplr", "flipud", "hsplit", "hstack", "meshgrid", "ravel", "rot90", "row_stack", "select",
    "select_scatter", "slice_scatter", "split_with_sizes", "tensor_split", "tensordot", "unflatten", "vander",
    "vsplit", "vstack",
]  # fmt: skip

# -- statistics, sorting and searching (ops/stats.py, ops/search.py, ops/cdist.py) --
from .cdist import cdist  # noqa: E402
from .search import (  # noqa: E402
    bincount,
    bucketize,
    histc,
    histogram,
    isin,
    searchsorted,
    unique,
    unique_consecutive,
)
from .stats import (  # noqa: E402
    aminmax,
    corrcoef,
    cov,
    cummax,
    cummin,
    cumulative_trapezoid,
    diff,
    kthvalue,
    logcumsumexp,
    median,
    mode,
    msort,
    nanmedian,
    nanquantile,
    quantile,
    renorm,
    std_mean,
    trapezoid,
    trapz,
    var_mean,
)

__all__ += [
    "aminmax", "bincount", "bucketize", "cdist", "corrcoef", "cov", "cummax", "cummin", "cumulative_trapezoid",
    "diff", "histc", "histogram", "isin", "kthvalue", "logcumsumexp", "median", "mode", "msort", "nanmedian",
    "nanquantile", "quantile", "renorm", "searchsorted", "std_mean", "trapezoid", "trapz", "unique",
    "unique_consecutive", "var_mean",
]  # fmt: skip

# -- linear algebra (ops/decompositions.py, ops/matrix_functions.py) --
from .decompositions import cholesky_inverse, cholesky_solve  # noqa: E402
from .matrix_functions import matrix_exp  # noqa: E402

__all__ += ["cholesky_inverse", "cholesky_solve", "matrix_exp"]

# -- Householder QR and randomized low-rank SVD (ops/householder.py, ops/lowrank.py) --
from .householder import geqrf, orgqr, ormqr  # noqa: E402
from .lowrank import pca_lowrank, svd_lowrank  # noqa: E402

__all__ += ["geqrf", "orgqr", "ormqr", "pca_lowrank", "svd_lowrank"]

# -- random sampling and runtime (ops/sampling_random.py, random.py, runtime.py) --
from .sampling_random import bernoulli, multinomial, normal, poisson  # noqa: E402

__all__ += ["bernoulli", "multinomial", "normal", "poisson"]

# -- torch's top-level forms and Tensor leftovers (ops/aliases.py, ops/aliases_tensor.py) --
from .aliases import (  # noqa: E402, I001  (torch's top-level forms, mc.<name>; where ops has F's op or a module of
    # that name -- batch_norm, dropout, conv1d, embedding... -- it stays: see functions.py)
    adaptive_avg_pool1d, adaptive_max_pool1d, affine_grid_generator, alpha_dropout, alpha_dropout_, avg_pool1d,
    binary_cross_entropy_with_logits, celu_, channel_shuffle, constant_pad_nd, conv_transpose1d,
    conv_transpose2d, conv_transpose3d, cosine_embedding_loss, cosine_similarity, dropout_,
    feature_alpha_dropout, feature_alpha_dropout_, grid_sampler, group_norm, hardshrink, hinge_embedding_loss,
    instance_norm, kl_div, layer_norm, margin_ranking_loss, max_pool1d, max_pool3d, pairwise_distance,
    pixel_shuffle, pixel_unshuffle, poisson_nll_loss, rms_norm, rrelu, rrelu_, selu_, threshold_,
    triplet_margin_loss, abs_, acos_, acosh_, addmv_, arccos_, arccosh_, arcsin_, arcsinh_, arctan_, arctanh_,
    asin_, asinh_, atan_, atanh_, ceil_, clamp_, clamp_max_, clamp_min_, clip_, cos_, cosh_, deg2rad_, detach_,
    erf_, erfc_, exp2_, exp_, expm1_, fill_, fix_, floor_, frac_, gcd_, i0_, index_put_, lcm_, ldexp_, log10_,
    log1p_, log2_, log_, logit_, nan_to_num_, neg_, negative_, rad2deg_, reciprocal_, relu_, resize_as_, round_, rsqrt_,
    sigmoid_, sin_, sinc_, sinh_, sqrt_, square_, tan_, tanh_, trunc_, xlogy_, zero_,
)  # fmt: skip
from .aliases_tensor import (  # noqa: E402
    adjoint, as_strided, asarray, can_cast, chain_matmul, detach, fill, frobenius_norm, from_dlpack, frombuffer,
    get_device, logspace, nuclear_norm, promote_types, range, result_type, rsub, scalar_tensor, to_dlpack,
)  # fmt: skip

__all__ += [
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "affine_grid_generator", "alpha_dropout", "alpha_dropout_",
    "avg_pool1d", "binary_cross_entropy_with_logits", "celu_", "channel_shuffle", "constant_pad_nd",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cosine_embedding_loss", "cosine_similarity",
    "dropout_", "feature_alpha_dropout", "feature_alpha_dropout_", "grid_sampler", "group_norm", "hardshrink",
    "hinge_embedding_loss", "instance_norm", "kl_div", "layer_norm", "margin_ranking_loss", "max_pool1d",
    "max_pool3d", "pairwise_distance", "pixel_shuffle", "pixel_unshuffle", "poisson_nll_loss", "rms_norm",
    "rrelu", "rrelu_", "selu_", "threshold_", "triplet_margin_loss", "abs_", "acos_", "acosh_", "addmv_",
    "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_",
    "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_",
    "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_", "index_put_", "lcm_",
    "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_",
    "reciprocal_", "relu_", "resize_as_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_",
    "tan_", "tanh_", "trunc_", "xlogy_", "zero_", "adjoint", "as_strided", "asarray", "can_cast",
    "chain_matmul", "detach", "fill", "frobenius_norm", "from_dlpack", "frombuffer", "logspace", "nuclear_norm",
    "promote_types", "range", "result_type", "rsub", "scalar_tensor", "get_device", "to_dlpack",
]  # fmt: skip

# -- ops/special_more.py (igamma, igammac) --
from .special_more import igamma, igammac  # noqa: E402

__all__ += ["igamma", "igammac"]
# -- ops/lu.py (LU family, triangular_solve) --
from .lu import lu, lu_solve, lu_unpack, triangular_solve  # noqa: E402

__all__ += ["lu", "lu_solve", "lu_unpack", "triangular_solve"]
# -- ops/ops_extra.py, ops/native.py, ops/segment.py (torch's remaining top-level ops) --
from .native import (  # noqa: E402
    native_batch_norm,
    native_channel_shuffle,
    native_dropout,
    native_group_norm,
    native_layer_norm,
    native_norm,
    norm_except_dim,
)  # fmt: skip
from .ops_extra import (  # noqa: E402
    as_strided_,
    as_strided_scatter,
    binomial,
    conv_tbc,
    convolution,
    embedding_renorm_,
    feature_dropout,
    feature_dropout_,
    frexp,
    gradient,
    grid_sampler_2d,
    grid_sampler_3d,
    histogramdd,
    index_reduce,
)  # fmt: skip
from .segment import segment_reduce  # noqa: E402

__all__ += [
    "native_batch_norm", "native_channel_shuffle", "native_dropout", "native_group_norm", "native_layer_norm",
    "native_norm", "norm_except_dim", "as_strided_", "as_strided_scatter", "binomial", "conv_tbc", "convolution",
    "embedding_renorm_", "feature_dropout", "feature_dropout_", "frexp", "gradient", "grid_sampler_2d",
    "grid_sampler_3d", "histogramdd", "index_reduce", "segment_reduce",
]  # fmt: skip
# -- ops/ctc.py, ops/linear_cross_entropy.py --
from .ctc import ctc_loss, torch_ctc_loss  # noqa: E402
from .linear_cross_entropy import linear_cross_entropy  # noqa: E402

__all__ += ["ctc_loss", "torch_ctc_loss", "linear_cross_entropy"]
# -- ops/copies.py (torch's *_copy variants of view ops, unsafe_ splits, nonzero_static, ...) --
from .copies import (  # noqa: E402
    alias_copy,
    as_strided_copy,
    detach_copy,
    diagonal_copy,
    expand_copy,
    max_pool1d_with_indices,
    nonzero_static,
    permute_copy,
    select_copy,
    slice_copy,
    slice_inverse,
    split_copy,
    split_with_sizes_copy,
    squeeze_copy,
    t_copy,
    transpose_copy,
    unbind_copy,
    unfold_copy,
    unsafe_chunk,
    unsafe_split,
    unsafe_split_with_sizes,
    unsqueeze_copy,
    view_copy,
)

__all__ += [
    "alias_copy", "as_strided_copy", "detach_copy", "diagonal_copy", "expand_copy", "max_pool1d_with_indices",
    "nonzero_static", "permute_copy", "select_copy", "slice_copy", "slice_inverse", "split_copy",
    "split_with_sizes_copy", "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy", "unfold_copy", "unsafe_chunk",
    "unsafe_split", "unsafe_split_with_sizes", "unsqueeze_copy", "view_copy",
]  # fmt: skip
# -- ops/rnn_functional.py (torch.lstm_cell, torch.lstm, ...) --
from .rnn_functional import (  # noqa: E402
    gru,
    gru_cell,
    lstm,
    lstm_cell,
    rnn_relu,
    rnn_relu_cell,
    rnn_tanh,
    rnn_tanh_cell,
)

__all__ += ["gru", "gru_cell", "lstm", "lstm_cell", "rnn_relu", "rnn_relu_cell", "rnn_tanh", "rnn_tanh_cell"]
