"""Normalisation layers: BatchNorm1d, BatchNorm2d, LocalResponseNorm and CrossMapLRN2d, torch's signatures.

BatchNorm registers ``weight`` and ``bias`` (ones and zeros; ``bias=False`` drops the shift,
as in recent torch), then the buffers
``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (int64 0), so its
state-dict keys and their order equal torch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, default_dtype
from ..ops.errors import ShapeError
from ..ops.norm import batch_norm, local_response_norm
from ..ops.pool import avg_pool2d
from . import init
from .module import Module, Parameter


class _BatchNorm(Module):
    _expected = ""  # the accepted input layout, for error messages

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = default_dtype(dtype)
        register_affine(self, (num_features,), affine, bias, dt, device)
        register_running_stats(self, num_features, track_running_stats, dt, device)

    def reset_running_stats(self) -> None:
        reset_running_stats(self)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        reset_affine(self)

    def _check_input(self, x: Tensor) -> None:
        raise NotImplementedError

    def _shape_error(self, x: Tensor) -> ValueError:
        # torch: ValueError for the number of dims, RuntimeError for the channels; ShapeError is both
        return ShapeError(
            f"{self._name()}: expected input of shape {self._expected.format(C=self.num_features)}, got {x.shape}"
        )

    def _name(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def _misfit(self, x: Tensor) -> bool:
        """The input's channels differ from num_features where something uses it (torch checks only there)."""
        return x.shape[1] != self.num_features and (self.weight is not None or self.running_mean is not None)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with backend.array_scope(self.num_batches_tracked.array):  # on its GPU
                self.num_batches_tracked.array += 1
                if self.momentum is None:  # cumulative moving average of all batches so far
                    # a 0-d array of the statistics' dtype: no host read on a GPU
                    momentum = (1.0 / self.num_batches_tracked.array).astype(input.dtype)
        # Batch statistics in training, and also in evaluation when no running stats exist.
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep_running = not self.training or self.track_running_stats
        return batch_norm(
            input,
            self.running_mean if keep_running else None,
            self.running_var if keep_running else None,
            self.weight,
            self.bias,
            use_batch_stats,
            momentum,
            self.eps,
            _layer=self._name(),
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs, statistics per channel."""

    _expected = "(N, {C}) or (N, {C}, L)"

    def _check_input(self, x: Tensor) -> None:
        if x.ndim not in (2, 3) or self._misfit(x):
            raise self._shape_error(x)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs, statistics per channel over N, H and W."""

    _expected = "(N, {C}, H, W)"

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 4 or self._misfit(x):
            raise self._shape_error(x)


class LocalResponseNorm(Module):
    """b_c = a_c / (k + alpha/size * sum of a_c'^2 over `size` neighbouring channels)^beta.

    AlexNet's paper used size=5, k=2, alpha=1e-4, beta=0.75 with alpha *not* divided by size;
    with torch's (and this) definition that is ``LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)``.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(
            input, self.size, self.alpha, self.beta, self.k, _layer=f"LocalResponseNorm({self.extra_repr()})"
        )

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def register_running_stats(module: Module, num_features: int, track: bool, dtype: Any, device: Any) -> None:
    """The buffers running_mean (zeros), running_var (ones) and num_batches_tracked (0), or
    None for each when not tracked: torch's names and initial values (batch and instance norm)."""
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):  # allocate on that GPU
        module.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype) if track else None)
        module.register_buffer("running_var", xp.ones(num_features, dtype=dtype) if track else None)
        module.register_buffer("num_batches_tracked", xp.zeros((), dtype=np.int64) if track else None)


def reset_running_stats(module: Module) -> None:
    """Back to the initial running statistics, in place, on the buffers' GPU."""
    if module.running_mean is not None:
        with backend.array_scope(module.running_mean.array):
            module.running_mean.array[...] = 0
            module.running_var.array[...] = 1
            module.num_batches_tracked.array[...] = 0


def register_affine(module: Module, shape: tuple[int, ...], affine: bool, bias: bool, dtype: Any, device: Any) -> None:
    """The parameters weight (ones) and bias (zeros) of ``shape``, or None in their place
    (without ``affine``; bias alone without ``bias``): batch, layer, group and instance norm.
    ``dtype`` None: float32."""
    dtype = default_dtype(dtype)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):  # allocate on that GPU
        module.register_parameter("weight", Parameter(xp.ones(shape, dtype=dtype)) if affine else None)
        module.register_parameter("bias", Parameter(xp.zeros(shape, dtype=dtype)) if affine and bias else None)


def reset_affine(module: Module) -> None:
    """weight back to ones and bias to zeros, in place, where they exist."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class CrossMapLRN2d(Module):
    """torch's legacy cross-channel LRN (Lua torch's SpatialCrossMapLRN, as torch ports it), on
    (N, C, H, W) only. With P = (size - 1)//2 + 1, per position::

        s_c = k + alpha/size * (sum of a_j^2 over j in [c-P+1, c+P-1] ∩ [0, C)  +  [c >= P] * a_0^2)
        b_c = a_c * s_c^(-beta)

    It differs from :class:`LocalResponseNorm` in three ways, all torch's: the window has
    2P - 1 channels (``size`` when odd, ``size - 1`` when even) while alpha is still divided by
    ``size``; and torch's running-sum loop never removes channel 0, so a_0^2 stays in the sum of
    every channel c >= P. The gradient is the exact derivative of this forward (composed of
    differentiable ops, so ``create_graph=True`` works); torch's hand-written backward is not
    (its adjoint window is shifted by one channel and ignores the a_0 term: torch's own gradcheck
    fails for C > 1), so gradients differ from torch's wherever C > 1.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        name = f"CrossMapLRN2d({self.extra_repr()})"
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        if input.ndim != 4:
            raise ValueError(f"{name}: expected a 4-D (N, C, H, W) input, got shape {input.shape}")
        if input.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating point input, got dtype {input.dtype}")
        if int(self.size) < 1:
            raise ValueError(f"{name}: size must be at least 1, got {self.size}")
        N, C, H, W = input.shape
        if 0 in input.shape:  # nothing to normalise (the pool below refuses empty planes)
            return input * 1.0
        P = (int(self.size) - 1) // 2 + 1
        sq = input * input
        # the window sums: a zero-padded sliding sum along C (avg_pool2d over (N, 1, C, H*W), divisor 1)
        window = avg_pool2d(
            sq.reshape(N, 1, C, H * W), (2 * P - 1, 1), 1, (P - 1, 0), divisor_override=1, _layer=name
        ).reshape(N, C, H, W)
        if C > P:  # torch keeps a_0^2 in the sums of channels P..C-1
            keeps_first = np.arange(C) >= P
            with backend.array_scope(input.array):
                mask = Tensor(input.xp.asarray(keeps_first.astype(input.dtype)).reshape(1, C, 1, 1))
            window = window + sq[:, 0:1] * mask
        scale = window * (self.alpha / self.size) + self.k
        return input * scale ** (-self.beta)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
