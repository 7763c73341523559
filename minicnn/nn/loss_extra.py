"""More loss layers with torch's signatures: ``CTCLoss``, the deprecated ``NLLLoss2d`` (an alias
class of ``NLLLoss``), ``AdaptiveLogSoftmaxWithLoss`` (Grave et al.'s adaptive softmax: a
head over the frequent classes plus one entry per cluster of rare classes, each cluster a
low-rank projection; torch's parameter names and shapes) and ``LinearCrossEntropyLoss`` (a
Linear layer fused with cross-entropy, in chunks of the batch)."""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..ops.activation import log_softmax
from ..ops.ctc import ctc_loss
from ..ops.linear_cross_entropy import LinearCrossEntropyOptions, linear_cross_entropy
from ..ops.shape import cat
from .linear import Linear
from .loss import NLLLoss, _Loss, _WeightedLoss
from .module import Module, ModuleList, Sequential


class CTCLoss(_Loss):
    """The connectionist temporal classification loss (see :func:`minicnn.ops.ctc.ctc_loss`):
    log_probs (T, N, C) or (T, C), targets (N, S) or (sum(target_lengths),), lengths (N,)."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        return ctc_loss(
            log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction, self.zero_infinity
        )


class NLLLoss2d(NLLLoss):
    """torch's deprecated alias class of :class:`NLLLoss` (same signature and behaviour), with
    torch's FutureWarning when built."""

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        warnings.warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
            "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax. Classes [0, cutoffs[0]) are the shortlist, scored by ``head`` (a Linear
    to cutoffs[0] + n_clusters outputs: the shortlist and one logit per cluster); cluster i holds
    classes [cutoffs[i], cutoffs[i+1]) and is scored by ``tail[i]`` = Sequential(Linear(in,
    in // div_value**(i+1), bias=False), Linear(that, cluster size, bias=False)). The
    log-probability of a rare class is its cluster's head log-probability plus its own within
    the cluster.

    forward(input (N, in_features) or (in_features,), target (N,) or ()) -> (output, loss):
    output the target's log-probability per sample, loss the mean of -output. ``log_prob``
    gives all classes (N, n_classes), ``predict`` the most likely class (N,).
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        div_value: float = 4.0,
        head_bias: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of length larger than 0")
        if (
            cutoffs != sorted(cutoffs)
            or min(cutoffs) <= 0
            or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs)
            or any(int(c) != c for c in cutoffs)
        ):
            raise ValueError(
                "AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive integers sorted in "
                f"an increasing order, where each value is between 1 and n_classes-1, got {cutoffs}"
            )
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                    Linear(hidden, size, bias=False, device=device, dtype=dtype),
                )
            )

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_: Tensor, target_: Any) -> _ASMoutput:  # (torch's parameter names)
        input, target = input_, target_  # noqa: A001
        name = type(self).__name__
        target = target if isinstance(target, Tensor) else Tensor(np.asarray(target), device=input.device)
        if target.ndim == 1:
            if input.shape[0] != target.shape[0]:
                raise ValueError(
                    f"{name}: input and target should have the same size in the batch dimension, "
                    f"got input {input.shape} and target {target.shape}"
                )
            if input.ndim != 2:
                raise ValueError(f"{name}: 1D target tensor expects 2D input tensors, but found input {input.shape}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise ValueError(f"{name}: 0D target tensor expects 1D input tensors, but found input {input.shape}")
        else:
            raise ValueError(f"{name}: 0D or 1D target tensor expected, multi-target not supported, got {target.shape}")
        if target.dtype.kind not in "iu":
            raise TypeError(f"{name}: target must hold integer class indices, got dtype {target.dtype}")
        batched = target.ndim > 0
        x = input if batched else input.unsqueeze(0)
        labels = backend.to_numpy(target.array).reshape(-1).astype(np.int64)  # rows per cluster: host indices
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise IndexError(
                f"{name}: target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{labels.min()}, {labels.max()}] were found"
            )
        xp = backend.get_array_module(x.array)
        output = x.new_zeros(labels.shape[0])
        head_index = labels.copy()
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            rows = np.flatnonzero((labels >= low) & (labels < high))
            if rows.size == 0:
                continue
            head_index[rows] = self.shortlist_size + i
            rows_t = Tensor(xp.asarray(rows))
            cluster_logprob = log_softmax(self.tail[i](x.index_select(0, rows_t)), 1)
            relative = Tensor(xp.asarray(labels[rows] - low)[:, None])
            output = output.index_copy(0, rows_t, cluster_logprob.gather(1, relative).squeeze(1))
        head_logprob = log_softmax(self.head(x), 1)
        output = output + head_logprob.gather(1, Tensor(xp.asarray(head_index)[:, None])).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """log-probabilities of every class (N, n_classes) from the head's output."""
        head_logprob = log_softmax(head_output, 1)
        parts = [head_logprob[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = log_softmax(self.tail[i](input), 1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, 1)

    def _check_batched(self, input: Tensor, method: str) -> None:
        if input.ndim != 2 or input.shape[1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__}.{method}: expected input of shape (N, {self.in_features}), got {input.shape}"
            )

    def log_prob(self, input: Tensor) -> Tensor:
        """log-probabilities of all n_classes: input (N, in_features) -> (N, n_classes)."""
        self._check_batched(input, "log_prob")
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each sample (N,): the head's argmax when it is a shortlist
        class, else the argmax of the full distribution (torch's shortcut, same result)."""
        self._check_batched(input, "predict")
        head_output = self.head(input)
        output = head_output.argmax(1)
        rare = backend.to_numpy((output >= self.shortlist_size).array)
        if not rare.any():
            return output
        xp = backend.get_array_module(output.array)
        rows = Tensor(xp.asarray(np.flatnonzero(rare)))
        full = self._get_full_log_prob(input.index_select(0, rows), head_output.index_select(0, rows))
        best = output.array.copy()
        best[rows.array] = full.argmax(1).array
        return Tensor(best)


class LinearCrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of ``self.linear(input)`` (a bias-free Linear by default) against the
    targets, through :func:`minicnn.ops.linear_cross_entropy.linear_cross_entropy` (the logits
    are made a chunk of rows at a time). ``out_features`` (d1, ..., dK) gives a K-dimensional
    loss; the Linear's weight is stored flat, (C * d1 * ... * dK, in_features), as torch's."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        out_features: tuple[int, ...] = (),
        bias: bool = False,
        device: Any = None,
        dtype: Any = None,
        reduction: str = "mean",
        weight: Any = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        options: LinearCrossEntropyOptions | None = None,
    ) -> None:
        name = type(self).__name__
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise ValueError(f"{name}: expected weight shape to be {(num_classes,)}, got {tuple(weight.shape)}")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"{name}: expected label_smoothing to be in range [0, 1], got {label_smoothing}")
        super().__init__(weight=weight, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(
            in_features, math.prod(out_features, start=num_classes), bias=bias, device=device, dtype=dtype
        )
        self.options = options

    def forward(self, input: Tensor, target: Any) -> Tensor:
        shape = (self.num_classes, *self.out_features)
        bias = None if self.linear.bias is None else self.linear.bias.reshape(shape)
        return linear_cross_entropy(
            input,
            self.linear.weight.reshape((*shape, self.linear.in_features)),
            target,
            linear_bias=bias,
            weight=self.weight,
            reduction=self.reduction,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            options=self.options,
        )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
            f"out_features={self.out_features}, bias={self.linear.bias is not None}, reduction={self.reduction}, "
            f"ignore_index={self.ignore_index}, label_smoothing={self.label_smoothing}, options={self.options}"
        )
