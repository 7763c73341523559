"""Dropout layers: active in training mode, the identity after ``.eval()``."""

from __future__ import annotations

from ..autograd import Tensor
from ..kernels.dropout import check_probability
from ..ops.dropout import dropout, dropout2d
from .module import Module


class Dropout(Module):
    """Inverted dropout: zero elements with probability p, scale the rest by 1/(1-p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = check_probability(p, type(self).__name__)
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Channel dropout: zero whole feature maps of (N, C, H, W) with probability p.

    Other ranks of at least 2 warn and run, as in torch 2.14 (see ``F.dropout2d``)."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2:
            raise ValueError(f"Dropout2d(p={self.p}): expected an input of shape (N, C, *), got shape {x.shape}")
        return dropout2d(x, self.p, self.training, self.inplace)
