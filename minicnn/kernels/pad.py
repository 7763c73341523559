"""Reflect, replicate and circular padding, one axis at a time, as a gather.

torch's rules for an axis of length n padded by (before, after) (a negative width crops):

- ``reflect``:   mirror without repeating the edge: ``[2 1 | 0 1 2 3 | 2 1]``; widths < n.
- ``replicate``: repeat the edge value:           ``[0 0 | 0 1 2 3 | 3 3]``.
- ``circular``:  wrap around:                     ``[2 3 | 0 1 2 3 | 0 1]``; the crops are
  made first and the wrap is over what is left (m values), so positive widths are <= m.

Every output position o reads one input position ``index[o]`` (a gather), and the backward
pass adds each output gradient back to the position it was read from. The output is three
runs: the left pad, a *middle* that reads a contiguous stretch of the input one-to-one, and
the right pad. The middle is copied (forward) or added back (backward) as one slice; the pad
positions, a few per side like the offsets of a kernel, one slice each, which also sums the
repeated reads of ``replicate`` in the backward.

Shapes: any array; ``pad_axis`` changes only ``axis`` (n -> n + before + after). Cost: one
pass over the output forward; backward one copy of the middle plus one slice-add per pad
position, each of the size of the array without ``axis``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend

MODES = ("reflect", "replicate", "circular")


class AxisPad(NamedTuple):
    """Where each output position of one padded axis reads from."""

    n: int  # the input's length along the axis
    index: np.ndarray  # (n + before + after,) int64: the input position output o reads
    middle: slice  # the output positions that read ``index[middle]`` = a contiguous run
    start: int  # index[middle.start]: where that run begins in the input


def axis_plan(n: int, before: int, after: int, mode: str) -> AxisPad:
    """The gather plan of one axis of size n padded by ``before`` / ``after`` (negative: cropped):
    the int64 source index (n + before + after,) of every output position, and the slice of
    outputs that read one contiguous run of the input (see AxisPad). Host (NumPy) arrays of the
    output's length, built once per call; validated by the caller against torch's limits."""
    if mode == "circular":
        lo, hi = max(-before, 0), n - max(-after, 0)  # the crops, made first
        left = max(before, 0)
        j = np.arange(-left, hi - lo + max(after, 0))
        index = lo + j % max(hi - lo, 1)
        return AxisPad(n, index.astype(np.int64), slice(left, left + hi - lo), lo)
    j = np.arange(-before, n + after)  # the input coordinate before folding back
    if mode == "reflect":
        j = np.abs(j)
        index = np.where(j > n - 1, 2 * (n - 1) - j, j)
    elif mode == "replicate":
        index = np.clip(j, 0, n - 1)
    else:
        raise ValueError(f"pad: mode {mode!r} is not one of {MODES}")
    o0 = min(max(before, 0), j.size)
    o1 = max(o0, min(before + n, j.size))
    return AxisPad(n, index.astype(np.int64), slice(o0, o1), o0 - before)


def _at(axis: int, i: Any) -> tuple[Any, ...]:
    """An index of position(s) ``i`` along ``axis`` (all of every other axis)."""
    return (slice(None),) * axis + (i,)


def _pad_positions(plan: AxisPad) -> tuple[int, ...]:
    """The output positions outside the middle run: the left and the right pad."""
    return (*range(plan.middle.start), *range(plan.middle.stop, plan.index.size))


def pad_axis(x: Any, plan: AxisPad, axis: int) -> Any:
    """x padded along ``axis`` by ``plan``: (..., n, ...) -> (..., len(plan.index), ...). The
    middle run is one slice copy, each pad position one more (slices keep the memory order,
    where a gather along the last axis would not)."""
    xp = backend.get_array_module(x)
    y = xp.empty(x.shape[:axis] + (plan.index.size,) + x.shape[axis + 1 :], dtype=x.dtype)
    run = plan.middle.stop - plan.middle.start
    y[_at(axis, plan.middle)] = x[_at(axis, slice(plan.start, plan.start + run))]
    for o in _pad_positions(plan):
        y[_at(axis, o)] = x[_at(axis, int(plan.index[o]))]
    return y


def pad_axis_backward(gy: Any, plan: AxisPad, axis: int) -> Any:
    """The gradient of ``pad_axis``: each output gradient added to the input position it read.
    (..., len(plan.index), ...) -> (..., n, ...); the middle in one slice, the pad positions
    one slice-add each (which also sums replicate's repeated reads of the edge)."""
    xp = backend.get_array_module(gy)
    gx = xp.zeros(gy.shape[:axis] + (plan.n,) + gy.shape[axis + 1 :], dtype=gy.dtype)
    run = plan.middle.stop - plan.middle.start
    gx[_at(axis, slice(plan.start, plan.start + run))] = gy[_at(axis, plan.middle)]
    for o in _pad_positions(plan):
        gx[_at(axis, int(plan.index[o]))] += gy[_at(axis, o)]
    return gx


def pad_reference(x: np.ndarray, widths: list[tuple[int, int]], mode: str) -> np.ndarray:
    """The slow, obvious version for tests: each output element computed from the rules
    above, position by position (NumPy only)."""
    out_shape = tuple(n + b + a for n, (b, a) in zip(x.shape, widths))
    out = np.empty(out_shape, dtype=x.dtype)
    for pos in np.ndindex(*out_shape):
        src = []
        for o, n, (b, a) in zip(pos, x.shape, widths):
            if mode == "circular":
                lo, hi = max(-b, 0), n - max(-a, 0)
                src.append(lo + (o - max(b, 0)) % (hi - lo))
                continue
            j = o - b
            if mode == "replicate":
                src.append(min(max(j, 0), n - 1))
            else:
                while not 0 <= j < n:
                    j = -j if j < 0 else 2 * (n - 1) - j
                src.append(j)
        out[pos] = x[tuple(src)]
    return out
