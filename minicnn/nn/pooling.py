"""(stub: filled in by the kernels work)"""
from .module import Module


class MaxPool2d(Module):
    pass


class AvgPool2d(Module):
    pass


class AdaptiveAvgPool2d(Module):
    pass


class AdaptiveMaxPool2d(Module):
    pass
