"""``mc.nn.functional``: the differentiable ops with torch.nn.functional's signatures."""

from ..ops import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    batch_norm,
    conv2d,
    cross_entropy,
    dropout,
    dropout2d,
    flatten,
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

__all__ = [
    "adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool2d", "batch_norm", "conv2d",
    "cross_entropy", "dropout", "dropout2d", "flatten", "leaky_relu", "linear",
    "local_response_norm", "log_softmax", "max_pool2d", "mse_loss", "nll_loss", "pad", "relu",
    "relu6", "sigmoid", "softmax", "tanh",
]
