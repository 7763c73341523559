"""Differentiable pooling (stub: filled in by the kernels work)."""


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    raise NotImplementedError


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    raise NotImplementedError


def adaptive_avg_pool2d(x, output_size):
    raise NotImplementedError


def adaptive_max_pool2d(x, output_size, return_indices=False):
    raise NotImplementedError
