"""Max unpooling and power-average (Lp) pooling with torch.nn.functional's signatures.

* ``max_unpool2d(input, indices, ...)``: the partial inverse of ``max_pool2d(...,
  return_indices=True)``: input and indices (N, C, H, W) or unbatched (C, H, W) -> (N, C, OH,
  OW), each value at its recorded flat position row*OW + col, zeros elsewhere (kernel:
  :mod:`minicnn.kernels.unpool`). OH = (H-1)*stride - 2*padding + kernel_size unless
  ``output_size`` says otherwise (within a stride of that, as torch checks).
* ``lp_pool2d(input, norm_type, kernel_size, ...)``: (sum over each window of x^p)^(1/p),
  composed of differentiable ops exactly as torch composes it, so that values and gradients
  (0 where a window's sum is 0) are torch's.
* the 1-d versions work on the (N, C, 1, L) view of (N, C, L), as :mod:`minicnn.ops.conv1d`;
  ``max_unpool3d`` on the (N, C, 1, D*H*W) view of (N, C, D, H, W) (a volume's flat indices
  are those of one long row), ``lp_pool3d`` composes the 3-d pools as lp_pool2d the 2-d ones.

Errors: :class:`~minicnn.ops.conv_transpose.ShapeError` (a ValueError and torch's
RuntimeError) for shapes, settings and out-of-range indices, ``DtypeError`` (a TypeError and a
RuntimeError) for dtypes; ``output_size`` is checked with torch's ValueError and TypeError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import unpool as K
from ..kernels.pool import pair, pool_geometry
from ..kernels.pool3d import pool3d_geometry
from ..kernels.vol2col import triple
from . import conv1d as P1
from . import conv3d as P3
from . import pool as P2
from .activation import relu
from .errors import DtypeError, ShapeError
from .math import abs as abs_
from .math import mul, neg, pow, sign
from .shape import reshape


class MaxUnpool2d(Function):
    """Values (..., H, W) and int64 indices of the same shape -> (..., *output_hw)."""

    def forward(self, x, indices):
        if self.requires_grad:
            self.indices = indices
        return K.max_unpool_forward(x, indices, self.output_hw)

    def backward(self, gy):
        return K.max_unpool_backward(gy, self.indices), None

    def backward_graph(self, gy, x, indices):  # gy read at the indices: linear in gy
        return P2.GatherPlanes.apply(gy, indices=indices.array, shape=gy.shape, dims=2), None


def _ints(v: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    """An int, or a sequence of ``n`` ints (a 1-sequence counts for all) -> n-tuple of ints."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = v[0]
        elif len(v) == n:
            return tuple(int(a) for a in v)
        else:
            raise ShapeError(f"{op}: {name} must be an int or {n} ints, got {v!r}")
    return (int(v),) * n


def unpool_output_size(
    input_size: Sequence[int],
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_size: Any,
    op: str,
) -> tuple[int, ...]:
    """torch's ``_unpool_output_size``: the spatial output size of a max unpool.

    Per axis the default is (in - 1)*stride - 2*padding + kernel. ``output_size`` may hold
    the spatial sizes or (N, C, *spatial); each must lie strictly within a stride of the
    default (ValueError otherwise, as torch)."""
    n = len(kernel_size)
    default = tuple((input_size[d] - 1) * stride[d] + kernel_size[d] - 2 * padding[d] for d in range(n))
    if output_size is None:
        out = default
    else:
        if not isinstance(output_size, Sequence) or isinstance(output_size, str):
            raise TypeError(
                f"{op}: output_size must be a sequence of {n} or {n + 2} ints, got {type(output_size).__name__}"
            )
        sizes = list(output_size)
        if len(sizes) == n + 2:
            sizes = sizes[2:]
        if len(sizes) != n:
            raise ValueError(
                f"{op}: output_size should be a sequence containing {n} or {n + 2} elements, "
                f"but it has a length of '{len(sizes)}'"
            )
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise TypeError(f"{op}: output_size must hold ints, got {output_size!r}")
        out = tuple(int(s) for s in sizes)
        for d in range(n):
            lo, hi = default[d] - stride[d], default[d] + stride[d]
            if not lo < out[d] < hi:
                raise ValueError(f'{op}: invalid output_size "{output_size}" (dim {d} must be between {lo} and {hi})')
    for d in range(n):
        if out[d] < 0:
            raise ValueError(
                f"{op}: output_size must contain non-negative spatial dimensions, but got output_size[{d}]={out[d]}"
            )
    return out


def _check_input(input: Any, ndims: tuple[int, int], layout: str, op: str) -> None:
    """A floating point tensor of ``ndims[0]`` (unbatched) or ``ndims[1]`` dims."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in ndims:
        raise ShapeError(
            f"{op}: expected a {ndims[0]}-d {layout.replace('N, ', '')} or {ndims[1]}-d {layout} input, "
            f"got shape {input.shape}"
        )
    if input.dtype.kind != "f":
        raise DtypeError(f"{op}: expected a floating point input, got dtype {input.dtype}")


def _check_unpool_inputs(input: Any, indices: Any, ndims: tuple[int, int], layout: str, op: str) -> None:
    """Types, dtypes, shapes and devices of max unpooling's two tensors (before any reshape)."""
    _check_input(input, ndims, layout, op)
    if not isinstance(indices, Tensor):
        raise TypeError(f"{op}: indices must be a Tensor, got {type(indices).__name__}")
    if indices.dtype != np.int64:
        raise DtypeError(f"{op}: indices must be int64 (as max pooling returns them), got dtype {indices.dtype}")
    if indices.shape != input.shape:
        raise ShapeError(
            f"{op}: indices must have the input's shape {input.shape}, got indices of shape {indices.shape}"
        )
    if input.device != indices.device:
        raise TypeError(f"{op}: input is on {input.device} but indices on {indices.device}")
    first = 1 if input.ndim == ndims[1] else 0  # the batch axis may be empty, no other
    if 0 in input.shape[first:]:
        raise ShapeError(f"{op}: expected non-empty channel and spatial axes, got input of shape {input.shape}")


def _unpool(
    x: Tensor, indices: Tensor, output_hw: tuple[int, int], op: str, shown: tuple[int, ...] | None = None
) -> Tensor:
    """Check the indices against the (OH, OW) planes, then scatter. x, indices: (..., H, W).
    An empty output plane (OH or OW 0) receives nothing and its indices are not checked, as in
    torch's forward. ``shown``: the output's sizes as errors name them (the 3-d op's volume)."""
    size = output_hw[0] * output_hw[1]
    kind, shown_sizes = "volumes" if shown else "planes", "x".join(str(n) for n in (shown or output_hw))
    with backend.array_scope(indices.array):  # the indices' GPU, whichever is current
        flag = K.invalid_index(indices.array, size) if size else False
        deferred = backend.is_cupy_array(flag)
        if deferred:  # read at the next host read, as torch's device-side assert
            backend.raise_if(flag, ShapeError, f"{op}: found an invalid max index (output {kind} are {shown_sizes})")
            # until then the result is discarded anyway: scatter in-range indices meanwhile
            indices = Tensor(indices.xp.clip(indices.array, 0, size - 1))
    if not deferred and flag:
        a = indices.array.ravel()
        bad = int(a[np.argmax((a < 0) | (a >= size))])
        raise ShapeError(
            f"{op}: found an invalid max index: {bad} (output {kind} are of size "
            f"{shown_sizes}, indices must lie in [0, {size}))"
        )
    return MaxUnpool2d.apply(x, indices, output_hw=tuple(output_hw))


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    _layer: str = "max_unpool2d",
) -> Tensor:
    """``torch.nn.functional.max_unpool2d``: input and int64 indices (N, C, H, W) or (C, H, W)
    -> (N, C, OH, OW), zeros except each value at its flat index row*OW + col.
    OH = (H-1)*stride - 2*padding + kernel_size (and OW alike) unless ``output_size`` gives
    (OH, OW) or (N, C, OH, OW). Stride defaults to kernel_size."""
    op = _layer  # errors name the op or the layer calling it
    _check_unpool_inputs(input, indices, (3, 4), "(N, C, H, W)", op)
    k = _ints(kernel_size, 2, "kernel_size", op)
    s = k if stride is None else _ints(stride, 2, "stride", op)
    p = _ints(padding, 2, "padding", op)
    if min(k) < 1 or min(s) < 1:
        raise ShapeError(f"{op}: kernel_size and stride must be positive, got kernel_size={k}, stride={s}")
    out = unpool_output_size(input.shape[-2:], k, s, p, output_size, op)
    return _unpool(input, indices, out, op)  # type: ignore[arg-type]


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    _layer: str = "max_unpool1d",
) -> Tensor:
    """``torch.nn.functional.max_unpool1d``: input and int64 indices (N, C, L) or (C, L) ->
    (N, C, OL), zeros except each value at its index; OL = (L-1)*stride - 2*padding +
    kernel_size unless ``output_size`` gives (OL,) or (N, C, OL). Stride defaults to kernel_size."""
    op = _layer  # errors name the op or the layer calling it
    _check_unpool_inputs(input, indices, (2, 3), "(N, C, L)", op)
    k = (P1._single(kernel_size, "kernel_size", op),)
    s = k if stride is None else (P1._single(stride, "stride", op),)
    p = (P1._single(padding, "padding", op),)
    if k[0] < 1 or s[0] < 1:
        raise ShapeError(f"{op}: kernel_size and stride must be positive, got kernel_size={k}, stride={s}")
    (ol,) = unpool_output_size(input.shape[-1:], k, s, p, output_size, op)
    rows = (*input.shape[:-1], 1, input.shape[-1])
    y = _unpool(reshape(input, rows), reshape(indices, rows), (1, ol), op)
    return P1._as_sequence(y)


def _norm_type(norm_type: Any, op: str) -> float:
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: norm_type must be a number, got {type(norm_type).__name__}")
    if norm_type == 0:
        raise ValueError(f"{op}: norm_type must be a non-zero value, but got {norm_type}")
    return norm_type


def _lp_from_mean(mean: Tensor, norm_type: float, window: int) -> Tensor:
    """torch's tail of lp_pool: (sign(m) * relu(|m|)) * window, to the power 1/p. The sign and
    relu make the gradient 0 where a window's mean of x^p is 0 (pow(1/p)'s infinite slope
    meets relu's zero slope there, not a multiplication by 0)."""
    return pow(mul(mul(sign(mean), relu(abs_(mean))), window), 1.0 / norm_type)


def lp_pool2d(
    input: Tensor,
    norm_type: int | float,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
    _layer: str = "lp_pool2d",
) -> Tensor:
    """``torch.nn.functional.lp_pool2d``: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW), each
    output (sum over its window of x^p)^(1/p), computed as torch: avg_pool2d(x^p) * kh*kw,
    then ^(1/p) (so a ceil_mode window cut short by the border is scaled up to the full
    window, as torch). ``norm_type`` inf / -inf: max / min of |x| over each window."""
    op = _layer  # errors name the op or the layer calling it
    _check_input(input, (3, 4), "(N, C, H, W)", op)
    p = _norm_type(norm_type, op)
    try:
        kh, kw = pair(kernel_size, "kernel_size", op)
        pool_geometry(input.shape, kernel_size, stride, 0, 1, ceil_mode, op)
    except ValueError as e:  # the pool's message, as the error type torch raises
        raise ShapeError(str(e)) from None
    if p == math.inf:
        return P2.max_pool2d(abs_(input), kernel_size, stride, 0, 1, ceil_mode, _layer=op)
    if p == -math.inf:
        return neg(P2.max_pool2d(neg(abs_(input)), kernel_size, stride, 0, 1, ceil_mode, _layer=op))
    mean = P2.avg_pool2d(pow(input, p), kernel_size, stride, 0, ceil_mode, _layer=op)
    return _lp_from_mean(mean, p, kh * kw)


def lp_pool1d(
    input: Tensor,
    norm_type: int | float,
    kernel_size: int,
    stride: Any = None,
    ceil_mode: bool = False,
    _layer: str = "lp_pool1d",
) -> Tensor:
    """``torch.nn.functional.lp_pool1d``: (N, C, L) or (C, L) -> (N, C, OL), each output
    (sum over its window of x^p)^(1/p), computed as torch: avg_pool1d(x^p) * k, then ^(1/p).
    ``norm_type`` inf / -inf: max / min of |x| over each window."""
    op = _layer  # errors name the op or the layer calling it
    _check_input(input, (2, 3), "(N, C, L)", op)
    p = _norm_type(norm_type, op)
    k = P1._single(kernel_size, "kernel_size", op)
    if p == math.inf:
        return P1.max_pool1d(abs_(input), k, stride, 0, 1, ceil_mode, _layer=op)
    if p == -math.inf:
        return neg(P1.max_pool1d(neg(abs_(input)), k, stride, 0, 1, ceil_mode, _layer=op))
    mean = P1.avg_pool1d(pow(input, p), k, stride, 0, ceil_mode, _layer=op)
    return _lp_from_mean(mean, p, k)


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    _layer: str = "max_unpool3d",
) -> Tensor:
    """``torch.nn.functional.max_unpool3d``: input and int64 indices (N, C, D, H, W) or
    (C, D, H, W) -> (N, C, OD, OH, OW), zeros except each value at its flat index
    (d*OH + h)*OW + w (as ``max_pool3d(..., return_indices=True)`` records them).
    OD = (D-1)*stride - 2*padding + kernel_size (and OH, OW alike) unless ``output_size`` gives
    (OD, OH, OW) or (N, C, OD, OH, OW). Stride defaults to kernel_size. Works on the
    (..., 1, D*H*W) view: the volumes are planes of one row."""
    op = _layer  # errors name the op or the layer calling it
    _check_unpool_inputs(input, indices, (4, 5), "(N, C, D, H, W)", op)
    k = _ints(kernel_size, 3, "kernel_size", op)
    s = k if stride is None else _ints(stride, 3, "stride", op)
    p = _ints(padding, 3, "padding", op)
    if min(k) < 1 or min(s) < 1:
        raise ShapeError(f"{op}: kernel_size and stride must be positive, got kernel_size={k}, stride={s}")
    out = unpool_output_size(input.shape[-3:], k, s, p, output_size, op)
    rows = (*input.shape[:-3], 1, math.prod(input.shape[-3:]))
    y = _unpool(reshape(input, rows), reshape(indices, rows), (1, math.prod(out)), op, shown=out)
    return reshape(y, (*input.shape[:-3], *out))


def lp_pool3d(
    input: Tensor,
    norm_type: int | float,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
    _layer: str = "lp_pool3d",
) -> Tensor:
    """``torch.nn.functional.lp_pool3d``: (N, C, D, H, W) or (C, D, H, W) -> (N, C, OD, OH, OW),
    each output (sum over its window of x^p)^(1/p), computed as torch: avg_pool3d(x^p) *
    kd*kh*kw, then ^(1/p). ``norm_type`` inf / -inf: max / min of |x| over each window."""
    op = _layer  # errors name the op or the layer calling it
    _check_input(input, (4, 5), "(N, C, D, H, W)", op)
    p = _norm_type(norm_type, op)
    try:
        k = triple(kernel_size, "kernel_size", op)
        pool3d_geometry(input.shape, kernel_size, stride, 0, 1, ceil_mode, op)
    except ValueError as e:  # the pool's message, as the error type torch raises
        raise ShapeError(str(e)) from None
    if p == math.inf:
        return P3.max_pool3d(abs_(input), kernel_size, stride, 0, 1, ceil_mode, _layer=op)
    if p == -math.inf:
        return neg(P3.max_pool3d(neg(abs_(input)), kernel_size, stride, 0, 1, ceil_mode, _layer=op))
    mean = P3.avg_pool3d(pow(input, p), kernel_size, stride, 0, ceil_mode, _layer=op)
    return _lp_from_mean(mean, p, math.prod(k))
