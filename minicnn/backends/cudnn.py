"""``mc.backends.cudnn``: torch.backends.cudnn's flags. minicnn does not use cuDNN: the flags
keep what a script sets and change nothing (``import minicnn.backends.cudnn as cudnn`` works)."""

from __future__ import annotations

enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: minicnn does not use cuDNN (its GPU convolutions are its own kernels and CuPy GEMMs)."""
    return False


def version() -> None:
    """None, as torch without cuDNN."""
    return None


def is_acceptable(tensor: object) -> bool:
    """False: no tensor goes to cuDNN."""
    return False
