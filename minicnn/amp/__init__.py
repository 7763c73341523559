"""``mc.amp``: automatic mixed precision, torch.amp's ``autocast`` and ``GradScaler``.

Inside ``with mc.autocast(device_type):`` the ops of torch's "lower precision" list cast their
float32 inputs to float16 and compute in float16: matmul (``@``), mm, bmm, addmm, baddbmm,
addbmm, linear, conv1d/2d/3d, conv_transpose1d/2d/3d, prelu and
scaled_dot_product_attention, on both device types (and what is built on them: the layers,
multi_dot, chain_matmul, and einsum where torch's reaches bmm: its last pairwise contraction
sums a label of size other than 1 in both operands); on "cuda" also mv, addmv and addr (torch's
CPU list keeps these in float32). The ops of torch's "float32" list run in float32 when given float16 inputs: the
losses (cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1_loss, huber_loss,
binary_cross_entropy(_with_logits), kl_div) on both device types, and on "cuda" also softmax,
log_softmax, layer_norm and group_norm. On "cpu", layer_norm, group_norm and batch_norm take a
float16 input with float32 weights (a float16 activation into a float32 layer), compute in
float32 and return float16, as torch's mixed-type kernels. Every other op runs in the dtype of
its inputs, with the usual type promotion (float16 + float32 -> float32). float64 and integer
inputs are never cast. The casts are differentiable: each input's gradient comes back in that
input's dtype, so float32 parameters get float32 gradients.

minicnn's choices where torch's differ:

* minicnn has no bfloat16 (NumPy and CuPy have no such dtype): the default autocast dtype is
  float16 on both device types (torch's CPU default is bfloat16), and ``dtype=`` another dtype
  than float16 disables autocast with torch's warning. float16 matmul on NumPy is emulated
  (slower than float32): on the CPU autocast is for checking a mixed-precision script, not for speed.
* torch's "float32" list also has elementwise ops (exp, log, pow, sum, cumsum, norm, ...) on
  "cuda"; minicnn does not cast those (they run in their inputs' dtype), which keeps autocast's
  cost off the elementwise hot path.

With autocast off, each op of the lists pays one flag test. ``GradScaler`` scales the loss so
that float16 gradients do not underflow, unscales the gradients before the step, skips the step
when a gradient is inf/NaN, and adapts the scale (torch's growth/backoff rule, step for step).
"""

from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import autocast_state, backend
from ..autograd import Tensor, no_grad

__all__ = [
    "GradScaler",
    "autocast",
    "custom_bwd",
    "custom_fwd",
    "get_autocast_dtype",
    "is_autocast_available",
    "is_autocast_enabled",
]

_FLOAT16 = np.dtype(np.float16)


def _check_device_type(device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if device_type not in ("cpu", "cuda"):
        raise RuntimeError(
            f"autocast: unsupported device_type {device_type!r}: minicnn's device types are 'cpu' and 'cuda'"
        )
    return device_type


def is_autocast_available(device_type: str) -> bool:
    """True for the device types autocast knows ("cpu", "cuda")."""
    return device_type in ("cpu", "cuda")


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether autocast is on for ``device_type`` in this thread (torch's no-argument form means "cuda")."""
    return autocast_state.is_enabled(_check_device_type(device_type))


def get_autocast_dtype(device_type: str) -> np.dtype:
    """The dtype autocast casts to on ``device_type`` (float16 unless set otherwise)."""
    return autocast_state.get_dtype(_check_device_type(device_type))


class autocast:  # noqa: N801 - torch's name
    """torch.autocast: a region (``with``) or a function (decorator) of mixed precision.

    ``device_type``: "cpu" or "cuda"; ``dtype``: float16 (the default; see the module docstring
    about bfloat16); ``enabled=False`` switches autocast off inside the region (nesting works);
    ``cache_enabled`` (default True): reuse, within the outermost region, the float16 copy of each
    parameter instead of casting it at every use. "cuda" without a GPU, or an unsupported dtype,
    disables autocast with torch's UserWarning.
    """

    def __init__(
        self, device_type: str, dtype: Any = None, enabled: bool = True, cache_enabled: bool | None = None
    ) -> None:
        self.device_type = _check_device_type(device_type)
        self.fast_dtype = autocast_state.get_dtype(self.device_type) if dtype is None else _as_dtype(dtype)
        self._enabled = bool(enabled)
        self._cache_enabled = True if cache_enabled is None else bool(cache_enabled)
        if self._enabled and self.device_type == "cuda" and not backend.cuda.is_available():
            warnings.warn("CUDA is not available. Disabling autocast.", UserWarning, stacklevel=2)
            self._enabled = False
        if self._enabled and self.fast_dtype != _FLOAT16:
            kind = "CPU" if self.device_type == "cpu" else "CUDA"
            warnings.warn(
                f"In {kind} autocast, but the target dtype is not supported. Disabling autocast.\n"
                f"{kind} Autocast only supports dtype of minicnn.float16 currently (minicnn has no bfloat16).",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        self._saved: list[tuple] = []

    def __enter__(self) -> autocast:
        self._saved.append(
            autocast_state.set_state(self.device_type, self._enabled, self.fast_dtype, self._cache_enabled)
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        autocast_state.restore(self._saved.pop())

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return run


def _as_dtype(dtype: Any) -> np.dtype:
    name = getattr(dtype, "name", None) or str(dtype)
    if "bfloat16" in str(name):
        raise TypeError("autocast: minicnn has no bfloat16 (NumPy and CuPy have no such dtype); use dtype=mc.float16")
    return np.dtype(dtype)


def _cast_floating(value: Any, dtype: np.dtype) -> Any:
    if isinstance(value, Tensor) and value.dtype.kind == "f" and value.dtype != dtype:
        return value.to(dtype)
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floating(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_floating(v, dtype) for k, v in value.items()}
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None) -> Callable:
    """torch.amp.custom_fwd, for the ``forward`` of a custom ``mc.autograd.Function``: with
    ``cast_inputs`` (a dtype), inside an autocast region its floating Tensor arguments are cast to
    it and the forward runs with autocast off; :func:`custom_bwd` then runs the backward in the
    autocast state the forward saw."""
    _check_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def forward(*args: Any, **kwargs: Any) -> Any:
        ctx = args[0]
        enabled = is_autocast_enabled(device_type)
        ctx._dtype = get_autocast_dtype(device_type)
        ctx._fwd_used_autocast = enabled and cast_inputs is None  # a cast forward ran without autocast
        if cast_inputs is None or not enabled:
            return fwd(*args, **kwargs)
        dtype = np.dtype(cast_inputs)
        with autocast(device_type, enabled=False):
            return fwd(ctx, *_cast_floating(args[1:], dtype), **_cast_floating(kwargs, dtype))

    return forward


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """torch.amp.custom_bwd: run a custom Function's ``backward`` in the autocast state of its forward."""
    _check_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def backward(ctx: Any, *grads: Any) -> Any:
        enabled = getattr(ctx, "_fwd_used_autocast", False)
        with autocast(device_type, enabled=enabled, dtype=getattr(ctx, "_dtype", None) if enabled else None):
            return bwd(ctx, *grads)

    return backward


_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


def _fresh_state() -> dict[str, Any]:
    return {"stage": _READY, "found_inf_per_device": {}}


class GradScaler:
    """torch.amp.GradScaler: loss scaling for float16 training.

    ``scaler.scale(loss).backward()`` multiplies the loss (or a list/tuple of outputs) by the
    scale; ``scaler.step(optimizer)`` unscales the gradients (unless :meth:`unscale_` did) and
    steps only when all of them are finite; ``scaler.update()`` then halves the scale
    (``backoff_factor``) after a step with inf/NaN gradients, or multiplies it by
    ``growth_factor`` after ``growth_interval`` finite steps in a row. ``enabled=False`` makes
    every method a pass-through (``scale`` returns its argument, ``step`` calls
    ``optimizer.step()``). ``device="cuda"`` without a GPU disables it with torch's warning.
    The scale is a float32 number on the host; the inf/NaN flags of GPU gradients are read once
    per step (as torch's ``.item()`` in ``step``).
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = str(device)
        self._enabled = bool(enabled)
        if self._device == "cuda" and self._enabled and not backend.cuda.is_available():
            warnings.warn(
                "minicnn.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.", stacklevel=2
            )
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale = float(init_scale)
        self._scale: np.float32 | None = None
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._init_growth_tracker = 0
        self._growth_tracker: int | None = None
        self._per_optimizer_states: defaultdict[int, dict[str, Any]] = defaultdict(_fresh_state)

    def _check_scale_growth_tracker(self, funcname: str) -> None:
        if self._scale is None:
            raise AssertionError(
                f"Attempted {funcname} but _scale is None.  "
                "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
            )

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a Tensor, or an iterable of them) multiplied by the scale factor, each in its own dtype."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = np.float32(self._init_scale)
            self._growth_tracker = self._init_growth_tracker
        factor = float(self._scale)

        def apply(value: Any) -> Any:
            if isinstance(value, Tensor):
                return value * factor
            if isinstance(value, Iterable):
                scaled = map(apply, value)
                return type(value)(scaled) if isinstance(value, (list, tuple)) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply(outputs)

    def unscale_(self, optimizer: Any) -> None:
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place, and note
        whether any is inf/NaN. Once per optimizer between :meth:`update` calls, before :meth:`step`."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = np.float32(1.0 / np.float64(self._scale))
        found: dict[str, Any] = {}
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if grad.dtype == _FLOAT16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    a = grad.array
                    xp = backend.get_array_module(a)
                    with backend.array_scope(a):
                        bad = ~xp.isfinite(a).all()
                        a *= a.dtype.type(inv_scale)
                    device = str(backend.device_of(a))
                    found[device] = bad if device not in found else (found[device] | bad)
        state["found_inf_per_device"] = found
        state["stage"] = _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (if not done) and call ``optimizer.step(*args, **kwargs)`` unless a gradient is
        inf/NaN; returns what the step returned, or None when it was skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        retval = None
        if not any(bool(flag) for flag in state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return retval

    def update(self, new_scale: Any = None) -> None:
        """Adapt the scale (see the class docstring), or set it to ``new_scale`` (a float or a
        1-element Tensor); then forget this iteration's unscale/step records."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError("new_scale should be a float or a 1-element Tensor with requires_grad=False.")
                new_scale = new_scale.item()
            self._scale = np.float32(new_scale)
        else:
            flags = [f for s in self._per_optimizer_states.values() for f in s["found_inf_per_device"].values()]
            if not flags:
                raise AssertionError("No inf checks were recorded prior to update.")
            if any(bool(f) for f in flags):
                self._scale = np.float32(np.float64(self._scale) * self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = np.float32(np.float64(self._scale) * self._growth_factor)
                    if np.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = successful
        self._per_optimizer_states = defaultdict(_fresh_state)

    def get_scale(self) -> float:
        """The current scale (``init_scale`` before the first :meth:`scale`; 1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """``{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"}``
        (plain numbers, as torch's); empty when disabled."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._get_growth_tracker(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s numbers (RuntimeError for the empty dict of a disabled scaler)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler."
            )
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = np.float32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker
