"""Dropout layers: active in training mode, the identity after ``.eval()``."""

from __future__ import annotations

from ..autograd import Tensor
from ..kernels.dropout import check_probability
from ..ops.dropout import alpha_dropout, dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout
from ..ops.errors import ShapeError
from ..ops.stochastic_depth import stochastic_depth
from .module import Module


class Dropout(Module):
    """Inverted dropout: zero elements with probability p, scale the rest by 1/(1-p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        check_probability(p, type(self).__name__)
        self.p = p  # as given (torch's repr shows p=0, not p=0.0)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Channel dropout: zero whole feature maps of (N, C, H, W) with probability p.

    Other ranks of at least 2 warn and run, as in torch 2.14 (see ``F.dropout2d``); a 1-D input is
    an error only where torch's feature dropout would draw a mask (training, 0 < p < 1, not empty)."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2 and self.training and 0.0 < self.p < 1.0 and input.numel():
            raise ShapeError(f"Dropout2d(p={self.p}): expected an input of shape (N, C, *), got shape {input.shape}")
        return dropout2d(input, self.p, self.training, self.inplace)


class Dropout1d(Dropout):
    """Channel dropout for sequences: zero whole rows of (N, C, L) or (C, L)."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout1d(input, self.p, self.training, self.inplace)


class Dropout3d(Dropout):
    """Channel dropout for volumes: zero whole maps of (N, C, D, H, W) or (C, D, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(Dropout):
    """Alpha dropout for SELU networks: keeps zero mean and unit variance (see F.alpha_dropout)."""

    def forward(self, input: Tensor) -> Tensor:
        return alpha_dropout(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels of (N, C, *)."""

    def forward(self, input: Tensor) -> Tensor:
        return feature_alpha_dropout(input, self.p, self.training, self.inplace)


class StochasticDepth(Module):
    """torchvision.ops.StochasticDepth: drop whole residual branches in training (see
    ``F.stochastic_depth``); the identity after ``.eval()``."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input: Tensor) -> Tensor:
        return stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"
