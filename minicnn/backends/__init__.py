"""``mc.backends``: torch.backends' switches, and torch's float32 matmul precision setting.

Training scripts written for PyTorch set these before they start::

    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.set_float32_matmul_precision("high")

minicnn has no cuDNN, no TF32 path and no kernel autotuner: its GEMMs are NumPy's/CuPy's in the
tensors' own dtype, its convolutions its own (docs/gpu.md). So these are plain flags that keep
the value set and change nothing: ``mc.backends.cudnn`` (``enabled``, ``benchmark``,
``deterministic``, ``allow_tf32``, ``is_available()`` False), ``mc.backends.cuda``
(``matmul.allow_tf32``, ``is_built()``: whether CuPy can be imported), ``mc.backends.mps``
(``is_available()`` / ``is_built()`` False) and ``mc.backends.cpu`` (``get_cpu_capability()``).

``mc.set_float32_matmul_precision`` / ``mc.get_float32_matmul_precision`` live here too (a
recorded setting, linked with ``cuda.matmul.allow_tf32`` as in torch). torch's determinism switch,
``mc.use_deterministic_algorithms``, is in :mod:`minicnn.runtime`.
"""

from __future__ import annotations

from typing import Any

from . import cpu, cuda, cudnn, mps

__all__ = [
    "cpu",
    "cuda",
    "cudnn",
    "get_float32_matmul_precision",
    "mps",
    "set_float32_matmul_precision",
]

_PRECISIONS = ("highest", "high", "medium")

_matmul_precision = "highest"


def set_float32_matmul_precision(precision: str) -> None:
    """Record "highest", "high" or "medium" (torch's TF32 switch; minicnn's float32 GEMMs are always
    full float32). ``mc.backends.cuda.matmul.allow_tf32`` reads it ("high"/"medium" -> True)."""
    global _matmul_precision
    if precision not in _PRECISIONS:
        raise RuntimeError(f"Invalid precision {precision!r}: expected one of {', '.join(_PRECISIONS)}")
    _matmul_precision = precision


def get_float32_matmul_precision() -> str:
    """The value of :func:`set_float32_matmul_precision` ("highest" until set)."""
    return _matmul_precision


def __getattr__(name: str) -> Any:
    raise AttributeError(f"module 'minicnn.backends' has no attribute {name!r}")
