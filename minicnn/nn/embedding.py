"""Embedding (a lookup table of learned vectors) and Bilinear, with torch's signatures.

``Embedding(V, D)`` holds ``weight`` (V, D) drawn from N(0, 1), its ``padding_idx`` row
zeroed; ``Bilinear(I, J, O)`` holds ``weight`` (O, I, J) and ``bias`` (O,), both drawn from
U(-1/sqrt(I), 1/sqrt(I)). Their state-dict keys and reprs equal torch's.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd import Tensor, default_dtype
from ..ops.bilinear import bilinear
from ..ops.embedding import embedding, embedding_bag, normalize_padding_idx
from . import init
from .module import Module, Parameter


def _no_sparse(layer: str, sparse: bool) -> None:
    if sparse:
        raise NotImplementedError(
            f"{layer}: sparse=True (sparse gradients of the weight) is not supported by minicnn; use sparse=False"
        )


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``: input (*) of integer
    indices -> (*, embedding_dim). See :func:`minicnn.ops.embedding.embedding` for
    ``padding_idx`` (normalised to [0, V) here, as torch), ``max_norm``, ``norm_type`` and
    ``scale_grad_by_freq``. ``_weight``: an existing (V, D) tensor to use as the weight (shared,
    not copied); ``_freeze``: the weight does not require grad. ``sparse=True`` is not supported
    (NotImplementedError)."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _no_sparse("Embedding", sparse)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = normalize_padding_idx(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        if _weight is None:
            dt = default_dtype(dtype)
            xp = backend.xp_for_device(device)
            with backend.device_scope(device):
                self.weight = Parameter(xp.empty((num_embeddings, embedding_dim), dtype=dt), requires_grad=not _freeze)
                self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                # torch raises AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
                raise ValueError(
                    f"Embedding: expected _weight of shape ({num_embeddings}, {embedding_dim}) "
                    f"(num_embeddings, embedding_dim), got {tuple(_weight.shape)}"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        self.sparse = False

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with backend.array_scope(self.weight.array):  # a plain write: outside autograd, as torch's no_grad
                self.weight.array[self.padding_idx] = 0
            self.weight._version += 1

    def forward(self, input: Tensor) -> Tensor:
        return embedding(
            input, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (V, D) itself (shared, not copied);
        ``freeze``: the weight does not require grad."""
        if len(embeddings.shape) != 2:
            # torch raises AssertionError("Embeddings parameter is expected to be 2-dimensional")
            raise ValueError(f"Embedding.from_pretrained: expected 2-d embeddings, got shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            _freeze=freeze,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
        )


class Bilinear(Module):
    """y = x1^T A x2 + b: input1 (*, in1_features), input2 (*, in2_features) -> (*, out_features);
    weight A (out, in1, in2), bias b (out,)."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        dt = default_dtype(dtype)
        xp = backend.xp_for_device(device)
        with backend.device_scope(device):  # allocate and draw the init on that device, as torch
            self.weight = Parameter(xp.empty((out_features, in1_features, in2_features), dtype=dt))
            self.register_parameter("bias", Parameter(xp.empty(out_features, dtype=dt)) if bias else None)
            self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.in1_features <= 0:
            raise ValueError(f"Bilinear: in1_features must be > 0, but got (in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings, without forming the (L, D) lookups as an
    output: forward(input, offsets=None, per_sample_weights=None) -> (B, embedding_dim). See
    :func:`minicnn.ops.embedding.embedding_bag` for the bag layout, ``padding_idx`` (normalised
    to [0, V) here, as torch), ``max_norm``, ``per_sample_weights`` and ``include_last_offset``.
    ``weight`` (V, D) is drawn from N(0, 1), its ``padding_idx`` row zeroed. ``sparse=True`` is
    not supported (NotImplementedError)."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Any = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _no_sparse("EmbeddingBag", sparse)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.padding_idx = normalize_padding_idx(padding_idx, num_embeddings, "EmbeddingBag")
        if _weight is None:
            dt = default_dtype(dtype)
            xp = backend.xp_for_device(device)
            with backend.device_scope(device):
                self.weight = Parameter(xp.empty((num_embeddings, embedding_dim), dtype=dt))
                self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"EmbeddingBag: expected _weight of shape ({num_embeddings}, {embedding_dim}) "
                    f"(num_embeddings, embedding_dim), got {tuple(_weight.shape)}"
                )
            self.weight = Parameter(_weight)
        self.mode, self.sparse, self.include_last_offset = mode, False, include_last_offset

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with backend.array_scope(self.weight.array):
                self.weight.array[self.padding_idx] = 0
            self.weight._version += 1

    def forward(self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode='{self.mode}'"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag whose weight is ``embeddings`` (V, D) itself (shared, not copied);
        ``freeze``: the weight does not require grad."""
        if len(embeddings.shape) != 2:
            raise ValueError(
                f"EmbeddingBag.from_pretrained: expected 2-d embeddings, got shape {tuple(embeddings.shape)}"
            )
        rows, cols = embeddings.shape
        bag = cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag
