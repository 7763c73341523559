"""1-d convolution, transposed convolution and pools: the 2-d ops on an (N, C, 1, L) view.

A sequence (N, C, L) is an image one row high; the kernel is (1, k), stride (1, s), padding
(0, p), dilation (1, d). Nothing is copied (reshapes are views) and the 2-d kernels do the
work, so shapes, gradients and costs are those of :mod:`minicnn.ops.conv` and
:mod:`minicnn.ops.pool` with H = 1. Unbatched (C, L) inputs work as in torch. Shape errors
are :class:`~minicnn.ops.conv_transpose.ShapeError` (a ValueError and torch's RuntimeError).
"""

from __future__ import annotations

from typing import Any

from .. import autocast_state
from ..autograd import Tensor
from . import pool as P
from .conv import conv2d
from .conv_transpose import conv_transpose2d
from .errors import ShapeError
from .shape import reshape


def _single(v: Any, name: str, op: str) -> int:
    """``3`` or ``(3,)`` -> 3; torch's error for anything longer."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ShapeError(f"{op}: {name} must be an int or a 1-tuple, got {v!r}")
        v = v[0]
    return int(v)


def _as_rows(x: Tensor, op: str) -> Tensor:
    """(N, C, L) -> (N, C, 1, L); unbatched (C, L) -> (C, 1, L)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected a 2-d (C, L) or 3-d (N, C, L) input, got shape {x.shape}")
    return reshape(x, (*x.shape[:-1], 1, x.shape[-1]))


def _as_sequence(y: Tensor) -> Tensor:
    """(N, C, 1, L) -> (N, C, L) (and (C, 1, L) -> (C, L))."""
    return reshape(y, (*y.shape[:-2], y.shape[-1]))


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    _layer: str = "conv1d",
) -> Tensor:
    """``torch.nn.functional.conv1d``: input (N, C, L) or (C, L), weight (O, C/groups, k),
    bias (O,) -> (N, O, OL), ``OL = floor((L + 2*padding - dilation*(k-1) - 1)/stride) + 1``.
    ``padding``: an int, a 1-tuple, ``"same"`` or ``"valid"``."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, weight, bias = autocast_state.lower(input, weight, bias)
    x = _as_rows(input, _layer)
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        got = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ShapeError(f"{_layer}: weight must be 3-d (out_channels, in_channels/groups, k), got {got}")
    pad = padding if isinstance(padding, str) else (0, _single(padding, "padding", _layer))
    s, d = (1, _single(stride, "stride", _layer)), (1, _single(dilation, "dilation", _layer))
    w = reshape(weight, (*weight.shape[:2], 1, weight.shape[2]))
    try:
        y = conv2d(x, w, bias, s, pad, d, groups, _layer=_layer)
    except ValueError as e:  # the 2-d op's message, as the error type torch raises
        raise ShapeError(str(e)) from None
    return _as_sequence(y)


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    _layer: str = "max_pool1d",
) -> Any:
    """``torch.nn.functional.max_pool1d``: (N, C, L) or (C, L) -> (N, C, OL); stride defaults to
    kernel_size; with ``return_indices`` also the int64 positions in L of the maxima."""
    x = _as_rows(input, _layer)
    k = (1, _single(kernel_size, "kernel_size", _layer))
    s = None if stride is None or stride == () else (1, _single(stride, "stride", _layer))
    p, d = (0, _single(padding, "padding", _layer)), (1, _single(dilation, "dilation", _layer))
    try:
        out = P.max_pool2d(x, k, s, p, d, ceil_mode, return_indices, _layer=_layer)
    except ValueError as e:
        raise ShapeError(str(e)) from None
    if return_indices:
        return _as_sequence(out[0]), _as_sequence(out[1])
    return _as_sequence(out)


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    _layer: str = "avg_pool1d",
) -> Tensor:
    """``torch.nn.functional.avg_pool1d``: (N, C, L) or (C, L) -> (N, C, OL); stride defaults
    to kernel_size."""
    x = _as_rows(input, _layer)
    k = (1, _single(kernel_size, "kernel_size", _layer))
    s = None if stride is None or stride == () else (1, _single(stride, "stride", _layer))
    p = (0, _single(padding, "padding", _layer))
    try:
        y = P.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, _layer=_layer)
    except ValueError as e:
        raise ShapeError(str(e)) from None
    return _as_sequence(y)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    _layer: str = "conv_transpose1d",
) -> Tensor:
    """``torch.nn.functional.conv_transpose1d``: input (N, C_in, L) or (C_in, L), weight
    (C_in, C_out/groups, k), bias (C_out,) -> (N, C_out, OL) with
    ``OL = (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, weight, bias = autocast_state.lower(input, weight, bias)
    x = _as_rows(input, _layer)
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        got = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ShapeError(f"{_layer}: weight must be 3-d (in_channels, out_channels/groups, k), got {got}")
    s, p = (1, _single(stride, "stride", _layer)), (0, _single(padding, "padding", _layer))
    op, d = (0, _single(output_padding, "output_padding", _layer)), (1, _single(dilation, "dilation", _layer))
    w = reshape(weight, (*weight.shape[:2], 1, weight.shape[2]))
    return _as_sequence(conv_transpose2d(x, w, bias, s, p, op, groups, d, _layer=_layer))


def adaptive_avg_pool1d(input: Tensor, output_size: Any, _layer: str = "adaptive_avg_pool1d") -> Tensor:
    """Average over torch's adaptive bins: (N, C, L) or (C, L) -> (N, C, output_size)."""
    x = _as_rows(input, _layer)
    n = _single(output_size, "output_size", _layer)
    try:
        return _as_sequence(P.adaptive_avg_pool2d(x, (1, n), _layer=_layer))
    except ValueError as e:  # the 2-d op's message, as the error type torch raises
        raise ShapeError(str(e)) from None


def adaptive_max_pool1d(
    input: Tensor, output_size: Any, return_indices: bool = False, _layer: str = "adaptive_max_pool1d"
) -> Any:
    """Max over torch's adaptive bins: (N, C, L) or (C, L) -> (N, C, output_size); with
    ``return_indices`` also the int64 positions in L of the maxima."""
    x = _as_rows(input, _layer)
    n = _single(output_size, "output_size", _layer)
    try:
        out = P.adaptive_max_pool2d(x, (1, n), return_indices, _layer=_layer)
    except ValueError as e:
        raise ShapeError(str(e)) from None
    if return_indices:
        return _as_sequence(out[0]), _as_sequence(out[1])
    return _as_sequence(out)
