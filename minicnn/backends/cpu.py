"""``mc.backends.cpu``: torch.backends.cpu."""

from __future__ import annotations


def get_cpu_capability() -> str:
    """ "DEFAULT": minicnn has no CPU kernels of its own to pick per instruction set (NumPy's are NumPy's)."""
    return "DEFAULT"
