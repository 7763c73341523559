"""``mc.nn.modules``, as ``torch.nn.modules``: the package's spelling of the layer classes.

Every name of ``mc.nn`` (``mc.nn.modules.Conv2d``) and the submodules whose torch names
minicnn's files share: ``module`` (:class:`Module` and the global hooks
``register_module_forward_pre_hook``, ``register_module_forward_hook``,
``register_module_full_backward_pre_hook``, ``register_module_full_backward_hook``),
``conv``, ``linear``, ``activation``, ``pooling``, ``loss``, ``dropout``, ``padding``, ``rnn``,
``transformer``, ``upsampling`` and ``distance``; ``import minicnn.nn.modules.module`` works
as torch's ``import torch.nn.modules.module``.
"""

from __future__ import annotations

import sys
from typing import Any

from . import (
    activation,
    conv,
    distance,
    dropout,
    linear,
    loss,
    module,
    padding,
    pooling,
    rnn,
    transformer,
    upsampling,
)

for _sub in (activation, conv, distance, dropout, linear, loss, module, padding, pooling, rnn, transformer, upsampling):
    sys.modules[f"{__name__}.{_sub.__name__.rpartition('.')[2]}"] = _sub


def __getattr__(name: str) -> Any:
    """The layer classes: ``mc.nn``'s names (looked up there on first use: no import cycle)."""
    from .. import nn

    if name.startswith("__") or not hasattr(nn, name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(nn, name)
