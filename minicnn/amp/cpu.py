"""``mc.cpu.amp``: torch.cpu.amp's ``autocast`` and ``GradScaler`` (deprecated in torch in
favour of ``mc.amp.autocast("cpu")`` / ``mc.amp.GradScaler("cpu")``, which these are). The
default dtype is float16 (torch's is bfloat16, which minicnn lacks)."""

from __future__ import annotations

from .device_forms import device_forms

autocast, GradScaler = device_forms("cpu", __name__)

__all__ = ["GradScaler", "autocast"]
