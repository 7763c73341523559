"""``mc.backends.mps``: Apple's Metal backend, which minicnn does not have."""

from __future__ import annotations


def is_available() -> bool:
    """False: minicnn runs on NumPy (CPU) and CuPy (CUDA) only."""
    return False


def is_built() -> bool:
    """False: minicnn has no MPS backend."""
    return False


def is_macos_or_newer(major: int, minor: int) -> bool:
    """False, as torch without MPS."""
    return False
