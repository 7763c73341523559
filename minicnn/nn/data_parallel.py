"""torch.nn.DataParallel's interface on one device.

``DataParallel(module, device_ids=None, output_device=None, dim=0)`` wraps ``module`` (kept as
``.module``, so state-dict keys gain torch's ``module.`` prefix). Without a GPU it calls the
module, as torch on a CPU (``device_ids == []``). With GPUs, ``device_ids`` defaults to all of
them and the module must live on ``device_ids[0]`` (moved there when only one device is
given, as torch); the inputs (tensors inside tuples, lists and dicts too) are moved there.
torch would then split the batch along ``dim`` across the devices and gather the outputs on
``output_device``; minicnn runs the whole batch on ``device_ids[0]`` (the same values; each
BatchNorm sees the whole batch, as on one device) and moves the outputs to ``output_device``.
For several processes, see :class:`minicnn.parallel.DataParallel`.
"""

from __future__ import annotations

import itertools
from typing import Any

from .. import backend
from ..autograd import Tensor
from .module import Module

__all__ = ["DataParallel"]


def _device_index(d: Any) -> int:
    """A GPU index from an int or a device string ("cuda:1"; "cuda" is 0)."""
    if isinstance(d, int):
        return d
    kind, idx = backend.parse_device(d)
    if kind != "cuda":
        raise ValueError(f"DataParallel: expected a GPU index or 'cuda:N' device, got {d!r}")
    return idx


def _moved(obj: Any, device: str) -> Any:
    """``obj`` with every tensor in it (tuples, lists, dicts) on ``device``."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_moved(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _moved(v, device) for k, v in obj.items()}
    return obj


class DataParallel(Module):
    """torch.nn.DataParallel on one device (see the module docstring)."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        if not backend.cuda.is_available():  # torch's CPU case: a plain wrapper
            self.module = module
            self.device_ids: list[int] = []
            return
        if device_ids is None:
            device_ids = list(range(backend.cuda.device_count()))
        if not device_ids:
            raise RuntimeError("no available devices were found")
        if output_device is None:
            output_device = device_ids[0]
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(d) for d in device_ids]
        self.output_device = _device_index(output_device)
        self.src_device = f"cuda:{self.device_ids[0]}"
        if len(self.device_ids) == 1:
            self.module.to(self.src_device)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in itertools.chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device:
                raise RuntimeError(
                    f"module must have its parameters and buffers on device {self.src_device} (device_ids[0]) but "
                    f"found one of them on device: {t.device}"
                )
        out = self.module(*_moved(inputs, self.src_device), **_moved(kwargs, self.src_device))
        return out if len(self.device_ids) == 1 else _moved(out, f"cuda:{self.output_device}")
