"""torch.nn.SyncBatchNorm: batch norm over (N, C, *) inputs whose batch statistics torch
averages across the processes of a distributed group in training.

minicnn has no process groups, which is torch's case without an initialised
``torch.distributed``: there SyncBatchNorm computes exactly what BatchNorm1d/2d/3d do (batch
statistics per channel over N and every spatial position in training, updating the running
statistics; the running statistics in evaluation), for any input of 2 or more dims, as here.
``process_group`` is accepted and kept. ``SyncBatchNorm.convert_sync_batchnorm(module)``
swaps every BatchNorm*d inside ``module`` for a SyncBatchNorm sharing its parameters and
buffers, as torch's.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from .module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) inputs; in this single-process library, BatchNorm's values."""

    _expected = "(N, {C}, *)"

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input(self, x: Tensor) -> None:
        if x.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {x.ndim}D input)")
        if x.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every BatchNorm*d layer in it replaced by a SyncBatchNorm holding the
        same parameters and buffers (the same objects) and training flag; a BatchNorm*d
        ``module`` itself gives a new SyncBatchNorm, as torch."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(
                module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                process_group, bias=module.bias is not None,
            )  # fmt: skip
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return out
