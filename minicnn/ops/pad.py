"""torch's ``F.pad``: constant padding of any dims, and reflect / replicate / circular
padding of the last 1-3 dims (the gathers of ``kernels/pad.py``); a negative width crops.

Shapes: (*, n_1, ..., n_k) -> (*, n_1 + b_1 + a_1, ..., n_k + b_k + a_k) for the (before,
after) widths b_i, a_i of the padded dims. Cost: one pass over the output forward, one over
it backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels.pad import MODES, AxisPad, axis_plan, pad_axis, pad_axis_backward
from .errors import ShapeError
from .math import clone


class Pad(Function):
    """Constant padding; ``widths`` is NumPy's per-axis ((before, after), ...)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.in_shape = x.shape
        if any(b < 0 or a < 0 for b, a in self.widths):
            # negative padding crops, as in torch
            sl = tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(self.widths, x.shape))
            x = x[sl]
            widths = [(max(b, 0), max(a, 0)) for b, a in self.widths]
        else:
            widths = self.widths
        self.pos = widths
        return xp.pad(x, widths, mode="constant", constant_values=self.value)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        sl = tuple(slice(b, gy.shape[i] - a) for i, (b, a) in enumerate(self.pos))
        g = gy[sl]
        if g.shape != self.in_shape:  # undo a negative-pad crop with zeros
            widths = [(max(-b, 0), max(-a, 0)) for b, a in self.widths]
            g = xp.pad(g, widths)
        return g

    def backward_graph(self, gy, x):  # (not linear: a nonzero ``value`` is a constant term)
        g = gy[tuple(slice(b, gy.shape[i] - a) for i, (b, a) in enumerate(self.pos))]
        if g.shape != x.shape:
            g = Pad.apply(g, widths=[(max(-b, 0), max(-a, 0)) for b, a in self.widths], value=g.dtype.type(0))
        return g


class GatherPad(Function):
    """Reflect, replicate or circular padding: ``plans`` is ((axis, AxisPad), ...); forward
    gathers along each axis in turn, backward adds the gradient back in the reverse order."""

    linear = True

    def forward(self, x):
        for axis, plan in self.plans:
            x = pad_axis(x, plan, axis)
        return x

    def backward(self, gy):
        for axis, plan in reversed(self.plans):
            gy = pad_axis_backward(gy, plan, axis)
        return gy


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """torch's ``F.pad``: ``pad`` lists (before, after) pairs starting from the LAST dim; a
    negative width crops. ``mode``: "constant" (any number of dims; ``value`` fills the new
    places, None meaning 0) or "reflect", "replicate", "circular" for the last 1, 2 or 3 dims
    of a (k+1)- or (k+2)-d input (an unbatched or batched (C, *spatial)), with torch's limits:
    reflect widths below the size, circular ones at most the size left after the crops.
    API.md's shorter form ``pad(x, pad, value)`` also works: a number in ``mode``'s place is
    the constant (torch refuses it, so no torch call changes meaning)."""
    if isinstance(mode, (int, float, np.number)) and not isinstance(mode, bool) and value is None:
        mode, value = "constant", mode
    if mode not in ("constant", *MODES):
        raise NotImplementedError(f"pad: mode {mode!r} (expected 'constant', 'reflect', 'replicate' or 'circular')")
    for i, w in enumerate(pad):
        if isinstance(w, (bool, np.bool_)) or not isinstance(w, (int, np.integer)):
            raise TypeError(f"pad(): pad must be a tuple of ints, got {type(w).__name__} at position {i}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(f"pad: padding {tuple(pad)} needs pairs for at most {input.ndim} dimensions")
    k = len(pad) // 2
    if k == 0:
        return clone(input)
    pairs = {input.ndim - 1 - i: (int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(k)}
    if mode in ("constant", "circular"):  # these crop first, then pad
        for d, (before, after) in pairs.items():
            if max(-before, 0) + max(-after, 0) > input.shape[d]:
                raise ShapeError(
                    f"pad: negative padding ({before}, {after}) of dim {d} crops more than its size "
                    f"{input.shape[d]} (input shape {input.shape}, pad {tuple(pad)})"
                )
    if mode == "constant":
        widths = [pairs.get(d, (0, 0)) for d in range(input.ndim)]
        return Pad.apply(input, widths=widths, value=_fill_value(input.dtype, 0 if value is None else value))
    if value is not None and value != 0:
        raise ValueError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: {mode} padding of the last {k} dim(s) takes a {k + 1}-d or {k + 2}-d input "
            f"(unbatched or batched), got shape {input.shape}"
        )
    if mode != "circular" and 0 in input.shape[input.ndim - k - 1 :]:
        raise ShapeError(
            f"pad: {mode} padding takes a tensor with nonzero sizes (except a batch size), got shape {input.shape}"
        )
    plans = tuple((d, _plan(input.shape, d, *pairs[d], mode)) for d in sorted(pairs))
    return GatherPad.apply(input, plans=plans, tied=mode != "circular")  # torch ties reflect/replicate


def _fill_value(dtype: np.dtype, value: Any) -> Any:
    """``value`` in ``dtype``: torch truncates a float for an integer tensor and refuses a
    value that does not fit (uint8 and -1, ...) instead of wrapping it."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min <= value <= info.max:
            raise RuntimeError(f"pad: value {value} cannot be converted to type {dtype} without overflow")
        return dtype.type(int(value))
    return dtype.type(value)


def _plan(shape: tuple[int, ...], d: int, before: int, after: int, mode: str) -> AxisPad:
    """The gather plan of dim ``d``, after torch's checks for ``mode``."""
    n = shape[d]
    where = f"pad: {mode} padding ({before}, {after}) of dim {d} of input {shape}"
    if mode == "circular":
        left = n - max(-before, 0) - max(-after, 0)
        if max(before, after) > left:
            raise ShapeError(f"{where}: wraps around more than once (at most {left}, the size after the crops)")
        return axis_plan(n, before, after, mode)
    if mode == "reflect" and max(before, after) >= n:
        raise ShapeError(f"{where}: reflect widths must be smaller than the size {n}")
    if n + before + after < 1:
        raise ShapeError(f"{where}: the output size {n + before + after} must be at least 1")
    return axis_plan(n, before, after, mode)
