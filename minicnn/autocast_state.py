"""The state of automatic mixed precision (``mc.autocast``), read by the ops it changes.

Kept apart from :mod:`minicnn.amp` so that ops can import it at no cost: with autocast off, an
op pays one test of :data:`active`. :mod:`minicnn.amp` documents the policy; this module applies it:

* :func:`lower` -- the ops of torch's "lower precision" list (matmul, linear, conv, bmm, addmm,
  ...) cast their float32 inputs to the autocast dtype (float16). float64 inputs and
  non-floating ones are left as they are, as in torch.
* :func:`widen` -- the ops of torch's "float32" list (losses; on "cuda" also softmax,
  log_softmax) cast float16 inputs to float32; :func:`norm` does the same for layer_norm and
  group_norm on "cuda", and on "cpu" computes a float16 input with float32 weights in float32.

The casts are differentiable (``Tensor.to``): each input's gradient comes back in its own dtype.
Casts of leaf tensors that require grad (the parameters) are cached for the outermost autocast
region (``cache_enabled``), as torch caches its weight casts.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

active = False
"""True while autocast is enabled for some device type in some thread (the state itself is per thread)."""
_enabled_threads = 0

_local = threading.local()
_DEFAULT_DTYPE = np.dtype(np.float16)
_FLOAT32 = np.dtype(np.float32)
_FLOAT16 = np.dtype(np.float16)


def _state() -> Any:
    state = getattr(_local, "state", None)
    if state is None:
        state = _local.state = {
            "cpu": [False, _DEFAULT_DTYPE],
            "cuda": [False, _DEFAULT_DTYPE],
            "cache_enabled": True,
            "depth": 0,
            "cache": {},
        }
    return state


def is_enabled(device_type: str) -> bool:
    return bool(_state()[device_type][0])


def get_dtype(device_type: str) -> np.dtype:
    return _state()[device_type][1]


def _device_type(tensors: tuple) -> str | None:
    """ "cpu" or "cuda": the device type of the first tensor that autocast is enabled for."""
    from .autograd import Tensor  # noqa: PLC0415

    state = _state()
    for t in tensors:
        if isinstance(t, Tensor):
            kind = "cpu" if t.device == "cpu" else "cuda"
            return kind if state[kind][0] else None
    return None


def _cast(t: Any, dtype: np.dtype, eligible: np.dtype) -> Any:
    from .autograd import Tensor  # noqa: PLC0415

    if not isinstance(t, Tensor) or t.dtype != eligible:
        return t
    state = _state()
    if state["cache_enabled"] and t.requires_grad and t.is_leaf:
        hit = state["cache"].get(id(t))
        if hit is not None and hit[0] is t:
            return hit[1]
        cast = t.to(dtype)
        state["cache"][id(t)] = (t, cast)  # the tensor itself is kept: its id is not reused meanwhile
        return cast
    return t.to(dtype)


def lower(*tensors: Any, cuda_only: bool = False) -> tuple:
    """``tensors`` with each float32 Tensor cast to the autocast dtype, where autocast is on for
    their device type (with ``cuda_only``, only on "cuda": torch's CPU list leaves that op in
    float32); the others unchanged (None passes through)."""
    kind = _device_type(tensors)
    if kind is None or (cuda_only and kind != "cuda"):
        return tensors
    dtype = _state()[kind][1]
    return tuple(_cast(t, dtype, _FLOAT32) for t in tensors)


def widen(*tensors: Any, cuda_only: bool = False) -> tuple:
    """``tensors`` with each float16 Tensor cast to float32, where autocast is on for their device
    type (with ``cuda_only``, only on "cuda": torch's CPU list leaves that op in float16)."""
    kind = _device_type(tensors)
    if kind is None or (cuda_only and kind != "cuda"):
        return tensors
    return tuple(_cast(t, _FLOAT32, _FLOAT16) for t in tensors)


_lock = threading.Lock()


def norm(fn: Any, input: Any, weight: Any, bias: Any, widen_on_cuda: bool = True) -> Any:
    """layer_norm/group_norm under autocast: ``fn(input, weight, bias)`` in float32 where the
    plain call would not do what torch does, else None (the caller goes on as usual).

    On "cuda" they are in torch's float32 list: float16 inputs are widened (result float32). On
    "cpu" (and for batch_norm, ``widen_on_cuda=False``, on both) torch runs them in the input's
    dtype, and a float16 input with float32 weight/bias (a float16 activation into a float32
    layer) is computed in float32 and returned in float16, as torch's mixed-type kernels do."""
    kind = _device_type((input, weight, bias))
    if kind is None:
        return None
    if kind == "cuda" and widen_on_cuda:
        widened = widen(input, weight, bias)
        changed = any(a is not b for a, b in zip(widened, (input, weight, bias), strict=True))
        return fn(*widened) if changed else None
    params = [p for p in (weight, bias) if p is not None]
    if getattr(input, "dtype", None) == _FLOAT16 and any(p.dtype == _FLOAT32 for p in params):
        return fn(input.to(_FLOAT32), weight, bias).to(_FLOAT16)
    return None


def set_state(device_type: str, enabled: bool, dtype: np.dtype, cache_enabled: bool) -> tuple:
    """Switch autocast for ``device_type``; returns what :func:`restore` needs to undo it."""
    state = _state()
    saved = (device_type, list(state[device_type]), state["cache_enabled"])
    was = _any_enabled(state)
    state[device_type][:] = [enabled, dtype]
    state["cache_enabled"] = cache_enabled
    state["depth"] += 1
    _count(was, _any_enabled(state))
    return saved


def restore(saved: tuple) -> None:
    device_type, before, cache_enabled = saved
    state = _state()
    was = _any_enabled(state)
    state[device_type][:] = before
    state["cache_enabled"] = cache_enabled
    state["depth"] -= 1
    if state["depth"] == 0:
        state["cache"].clear()
    _count(was, _any_enabled(state))


def _any_enabled(state: dict) -> bool:
    return bool(state["cpu"][0] or state["cuda"][0])


def _count(was: bool, now: bool) -> None:
    """Keep :data:`active` true while any thread has autocast on."""
    global active, _enabled_threads
    if was != now:
        with _lock:
            _enabled_threads += 1 if now else -1
            active = _enabled_threads > 0


# -- torch's low-level state functions (mc.set_autocast_enabled, ...: minicnn/amp/state.py) -----------
def set_enabled(device_type: str, enabled: bool) -> None:
    """Switch autocast on or off for ``device_type`` in this thread, outside any region (the dtype
    and the nesting depth stay as they are)."""
    state = _state()
    was = _any_enabled(state)
    state[device_type][0] = enabled
    _count(was, _any_enabled(state))


def set_dtype(device_type: str, dtype: np.dtype) -> None:
    """The dtype that autocast casts to on ``device_type`` in this thread from now on."""
    _state()[device_type][1] = dtype


def is_cache_enabled() -> bool:
    return bool(_state()["cache_enabled"])


def set_cache_enabled(enabled: bool) -> None:
    _state()["cache_enabled"] = enabled


def clear_cache() -> None:
    """Forget the cached casts of parameters (an autocast region's exit does this at depth 0)."""
    _state()["cache"].clear()


def change_nesting(step: int) -> int:
    """Add ``step`` to this thread's autocast nesting depth; the new depth (may go below 0, as torch's)."""
    state = _state()
    state["depth"] += step
    return state["depth"]
