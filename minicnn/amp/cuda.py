"""``mc.cuda.amp``: torch.cuda.amp's ``autocast`` and ``GradScaler`` (deprecated in torch in
favour of ``mc.amp.autocast("cuda")`` / ``mc.amp.GradScaler("cuda")``, which these are), and
``custom_fwd`` / ``custom_bwd``."""

from __future__ import annotations

from . import custom_bwd, custom_fwd
from .device_forms import device_forms

autocast, GradScaler = device_forms("cuda", __name__)

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]
