"""Differentiable ops: small Function classes that call array code or kernels.

``mc.nn.functional`` re-exports these with torch's signatures.
"""

from .activation import leaky_relu, log_softmax, relu, relu6, sigmoid, softmax, tanh
from .conv import conv2d
from .dropout import dropout, dropout2d
from .linear import linear
from .loss import cross_entropy, mse_loss, nll_loss
from .math import (
    abs,
    add,
    astype,
    clamp,
    clip,
    clone,
    div,
    exp,
    log,
    matmul,
    mul,
    neg,
    pow,
    sqrt,
    sub,
    to_device,
    unbroadcast,
    where,
)
from .norm import batch_norm, local_response_norm
from .pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d
from .reduce import max, mean, min, sum, var
from .shape import (
    cat,
    expand,
    flatten,
    getitem,
    pad,
    permute,
    plain_index,
    reshape,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)

__all__ = [
    "abs", "adaptive_avg_pool2d", "adaptive_max_pool2d", "add", "astype", "avg_pool2d",
    "batch_norm", "cat", "clamp", "clip", "clone", "conv2d", "cross_entropy", "div", "dropout",
    "dropout2d", "exp", "expand", "flatten", "getitem", "leaky_relu", "linear",
    "local_response_norm", "log", "log_softmax", "matmul", "max", "max_pool2d", "mean", "min",
    "mse_loss", "mul", "neg", "nll_loss", "pad", "permute", "plain_index", "pow", "relu",
    "relu6", "reshape", "sigmoid", "softmax", "sqrt", "squeeze", "stack", "sub", "sum", "tanh",
    "to_device", "transpose", "unbroadcast", "unsqueeze", "var", "where",
]
