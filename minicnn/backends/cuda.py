"""``mc.backends.cuda``: torch.backends.cuda's flags. minicnn has no TF32 or reduced-precision GEMM
switch (CuPy's GEMMs run in the tensors' dtype): the flags keep what a script sets.
``matmul.allow_tf32`` is :func:`minicnn.backends.get_float32_matmul_precision` != "highest",
as in torch, and setting it sets that precision ("high" or "highest")."""

from __future__ import annotations

from typing import Any


class _MatmulFlags:
    """``mc.backends.cuda.matmul``: ``allow_tf32``, ``allow_fp16_reduced_precision_reduction``,
    ``allow_bf16_reduced_precision_reduction`` (plain flags; see the module docstring)."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        from . import get_float32_matmul_precision  # noqa: PLC0415

        return get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        from . import set_float32_matmul_precision  # noqa: PLC0415

        set_float32_matmul_precision("high" if value else "highest")

    def __repr__(self) -> str:
        return f"<minicnn.backends.cuda.matmul allow_tf32={self.allow_tf32}>"


matmul = _MatmulFlags()

_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built() -> bool:
    """True when CuPy can be imported (minicnn's CUDA support is CuPy)."""
    from .. import backend  # noqa: PLC0415

    return backend._import_cupy() is not None


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def cudnn_sdp_enabled() -> bool:
    return _sdp["cudnn"]


def enable_flash_sdp(enabled: bool) -> None:
    """Recorded only: minicnn's scaled_dot_product_attention has one (math) implementation."""
    _sdp["flash"] = bool(enabled)


def enable_mem_efficient_sdp(enabled: bool) -> None:
    """Recorded only (see :func:`enable_flash_sdp`)."""
    _sdp["mem_efficient"] = bool(enabled)


def enable_math_sdp(enabled: bool) -> None:
    """Recorded only (see :func:`enable_flash_sdp`)."""
    _sdp["math"] = bool(enabled)


def enable_cudnn_sdp(enabled: bool) -> None:
    """Recorded only (see :func:`enable_flash_sdp`)."""
    _sdp["cudnn"] = bool(enabled)


def __getattr__(name: str) -> Any:
    raise AttributeError(f"module 'minicnn.backends.cuda' has no attribute {name!r}")
