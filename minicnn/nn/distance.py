"""Distance layers: thin Modules over ``minicnn.ops.similarity``."""

from __future__ import annotations

from ..autograd import Tensor
from ..ops import similarity as S
from .module import Module


class CosineSimilarity(Module):
    """Cosine similarity of x1 and x2 along ``dim`` (torch's)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return S.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """p-norm distance of x1 and x2 over the last dim (torch's)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return S.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
