"""The connectionist temporal classification loss (``F.ctc_loss``, torch's top-level
``torch.ctc_loss`` form, whose ``reduction`` is an int). The recursions are in
:mod:`minicnn.kernels.ctc`; here are the input forms, the checks and the reductions.

Shapes: ``log_probs`` (T, N, C) or unbatched (T, C), log-probabilities over C classes (blank
included) at T time steps; ``targets`` padded (N, S) or concatenated (sum(target_lengths),),
or (1, S) unbatched; ``input_lengths`` and ``target_lengths`` (N,) (() unbatched) as tensors,
sequences or ints. The loss per sample is -log p(target | input) over all alignments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import ctc as kernel
from .errors import DtypeError, ShapeError
from .loss import _check_reduction, _reduction

_ENUM_REDUCTIONS = ("none", "mean", "sum")  # torch.nn._reduction.get_enum's order


class CTC(Function):
    """Per-sample negative log-likelihoods (N,) of the padded targets; an infinite one is 0
    with ``zero_infinity`` (and so is its gradient). The gradient is torch's (kernels/ctc.py),
    which assumes log_softmax inputs."""

    def forward(self, log_probs):
        xp = backend.get_array_module(log_probs)
        nll, log_alpha = kernel.ctc_forward(
            log_probs, self.targets, self.input_lengths, self.target_lengths, self.blank
        )
        if self.requires_grad:
            self.log_probs, self.nll, self.log_alpha = log_probs, nll, log_alpha
        if self.zero_infinity:
            nll = xp.where(xp.isinf(nll), nll.dtype.type(0), nll)
        return nll

    def backward(self, gy):
        return kernel.ctc_backward(
            self.log_probs,
            self.targets,
            self.input_lengths,
            self.target_lengths,
            self.blank,
            self.nll,
            self.log_alpha,
            gy,
            self.zero_infinity,
        )

    def backward_graph(self, gy, log_probs):
        raise NotImplementedError(
            "ctc_loss: create_graph=True is not supported: the derivative of ctc_loss's backward is not "
            "implemented (as in torch, where it raises 'derivative for aten::_ctc_loss_backward is not implemented')"
        )


def _lengths(name: str, value: Any, n: int) -> np.ndarray:
    """Lengths as a host int64 array (N,) (torch reads them on the host too)."""
    raw = backend.to_numpy(value.array) if isinstance(value, Tensor) else np.asarray(value)
    if raw.dtype.kind not in "iu" and raw.size:
        raise DtypeError(f"ctc_loss: {name} must hold integers, got dtype {raw.dtype}")
    lengths = raw.astype(np.int64).reshape(-1)
    if lengths.shape != (n,):
        raise ShapeError(f"ctc_loss: {name} must be of size batch_size ({n}), got {lengths.shape[0]} values")
    if lengths.size and lengths.min() < 0:
        raise ShapeError(f"ctc_loss: expected {name} to have value at least 0, but got value {lengths.min()}")
    return lengths


def _padded_targets(targets: Any, target_lengths: np.ndarray, padded: bool) -> Any:
    """(N, max length) labels from the padded (N, S) or concatenated form, 0 past each length."""
    xp = backend.get_array_module(targets)
    width = int(target_lengths.max(initial=0))
    if padded:
        out = targets[:, :width]
    else:
        starts = np.cumsum(target_lengths) - target_lengths
        index = starts[:, None] + np.arange(width)[None, :]
        inside = np.arange(width)[None, :] < target_lengths[:, None]
        index = xp.asarray(np.where(inside, index, 0))
        out = targets[index] if targets.size else xp.zeros(index.shape, dtype=targets.dtype)
    inside = xp.asarray(np.arange(width)[None, :] < target_lengths[:, None])
    return xp.where(inside, out, 0).astype(np.int64)


def ctc_loss(
    log_probs: Tensor,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """The CTC loss of log-probabilities (T, N, C) (or (T, C)) against targets (see the module
    docstring for the forms). 'mean' divides each sample's loss by its target length (at least
    1) and averages over the batch; 'sum' adds; 'none' gives (N,) (() unbatched).
    ``zero_infinity`` turns the infinite losses of infeasible alignments (and their gradients)
    into 0. Cost O(T N S) (plus O(T N C) for the gradient)."""
    op = "ctc_loss"
    reduction = _reduction(reduction)  # torch's deprecated 'elementwise_mean', with its warning
    _check_reduction(op, reduction)
    if not isinstance(log_probs, Tensor) or log_probs.dtype.kind != "f":
        raise DtypeError(
            f"{op}: log_probs must be a floating-point tensor, got {getattr(log_probs, 'dtype', log_probs)}"
        )
    targets = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets), device=log_probs.device)
    if targets.dtype.kind not in "iuf":
        raise DtypeError(f"{op}: targets must hold integer labels, got dtype {targets.dtype}")
    unbatched = log_probs.ndim == 2
    if log_probs.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected log_probs of shape (T, N, C) or (T, C), got {log_probs.shape}")
    if log_probs.array.size == 0:
        raise ShapeError(f"{op}: log_probs tensor must not be empty, got shape {log_probs.shape}")
    t_max, c = log_probs.shape[0], log_probs.shape[-1]
    n = 1 if unbatched else log_probs.shape[1]
    if not 0 <= blank < c:
        raise ShapeError(f"{op}: blank must be in label range [0, {c}), got {blank}")
    tgt = targets.array
    if tgt.ndim not in (1, 2):  # unbatched: (S,) is the concatenated form of one sample, as in torch
        raise ShapeError(f"{op}: expected targets of shape (N, S) or (sum(target_lengths),), got {targets.shape}")
    il = _lengths("input_lengths", input_lengths, n)
    tl = _lengths("target_lengths", target_lengths, n)
    if il.size and il.max() > t_max:
        raise ShapeError(f"{op}: expected input_lengths to have value at most {t_max}, but got value {il.max()}")
    padded = tgt.ndim == 2
    if padded and tl.size and tl.max() > tgt.shape[1]:
        raise ShapeError(
            f"{op}: expected targets to have size at least {tl.max()} at dimension 1 "
            f"(the longest target_length), but got size {tgt.shape[1]}"
        )
    if not padded and tgt.shape[0] != tl.sum():
        raise ShapeError(
            f"{op}: concatenated targets must have size {tl.sum()} (the sum of target_lengths), got {tgt.shape[0]}"
        )
    labels = _padded_targets(tgt.astype(np.int64), tl, padded)
    xp = backend.get_array_module(labels)
    backend.raise_if(((labels < 0) | (labels >= c)).any(), IndexError, f"{op}: targets hold a label outside [0, {c})")
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    il_dev, tl_dev = xp.asarray(il), xp.asarray(tl)
    nll = CTC.apply(
        lp,
        targets=labels,
        input_lengths=il_dev,
        target_lengths=tl_dev,
        blank=int(blank),
        zero_infinity=bool(zero_infinity),
    )
    if reduction == "none":
        return nll.reshape(()) if unbatched else nll
    if reduction == "sum":
        return nll.sum()
    return (nll / Tensor(xp.maximum(tl_dev, 1).astype(nll.dtype))).mean()


def torch_ctc_loss(
    log_probs: Tensor,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: int = 1,
    zero_infinity: bool = False,
) -> Tensor:
    """torch's top-level ``torch.ctc_loss``: :func:`ctc_loss` with ``reduction`` as torch's
    enum (0 'none', 1 'mean', 2 'sum')."""
    if reduction not in (0, 1, 2) or isinstance(reduction, bool):
        raise ValueError(f"ctc_loss: reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")
    return ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank, _ENUM_REDUCTIONS[reduction], zero_infinity
    )
