"""Shapes of a sliding-window operation: settings, padding, output size, kernel offsets.

Shared by im2col, the convolution kernels and the depthwise kernel. Conventions:

* ``pair(3) == (3, 3)``; kernel size, stride and dilation are (height, width) pairs;
* padding is resolved to ``((top, bottom), (left, right))``;
* ``out = floor((in + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1``
  (with symmetric padding the familiar ``floor((in + 2*pad - dilation*(k-1) - 1)/stride) + 1``);
* kernel offset i (0 <= i < k) of output pixel o reads padded input pixel
  ``o*stride + i*dilation``, so for all outputs at once it reads the strided slice
  :func:`window_slice` ``(i*dilation : ... : stride)``.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))


def pair(v: Any, name: str = "value") -> Pair:
    """``3 -> (3, 3)``; ``(2, 3) -> (2, 3)``."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def padding_pairs(padding: Any) -> Padding:
    """``p -> ((p, p), (p, p))``, ``(ph, pw) -> ((ph, ph), (pw, pw))``; explicit
    ``((top, bottom), (left, right))`` is returned as is."""
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and isinstance(padding[0], (tuple, list)):
        (t, b), (le, r) = padding
        return (int(t), int(b)), (int(le), int(r))
    ph, pw = pair(padding, "padding")
    return (ph, ph), (pw, pw)


def resolve_padding(padding: Any, kernel_size: Any, stride: Any = 1, dilation: Any = 1) -> Padding:
    """Padding as ``((top, bottom), (left, right))`` from an int, a pair, ``"valid"`` or ``"same"``.

    ``"same"`` (stride 1 only, like torch) pads ``dilation*(k-1)`` in total per axis: half
    before, the rest after -- so when the total is odd the extra row/column goes to the
    bottom/right, as in torch -- and the output has the input's size.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if pair(stride) != (1, 1):
                raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for k, d in zip(pair(kernel_size), pair(dilation))]
            return (total[0] // 2, total[0] - total[0] // 2), (total[1] // 2, total[1] - total[1] // 2)
        raise ValueError(f"conv2d: padding must be 'same', 'valid', an int or a pair of ints, got {padding!r}")
    pads = padding_pairs(padding)
    if min(pads[0] + pads[1]) < 0:
        raise ValueError(f"conv2d: padding must be non-negative, got {padding!r}")
    return pads


def conv_output_size(size: int, kernel: int, stride: int, pad: Pair, dilation: int) -> int:
    """``floor((size + pad_before + pad_after - dilation*(kernel-1) - 1) / stride) + 1``."""
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def window_slice(offset: int, stride: int, dilation: int, out_size: int) -> slice:
    """The padded-input positions that kernel offset ``offset`` reads, one per output."""
    start = offset * dilation
    return slice(start, start + stride * (out_size - 1) + 1, stride)


class Geometry(NamedTuple):
    """A convolution's sizes and settings, resolved: x (n, c, h, w), weight (o, c/groups, kh, kw),
    output (n, o, oh, ow)."""

    n: int
    c: int
    h: int
    w: int
    o: int
    kh: int
    kw: int
    stride: Pair
    pads: Padding
    dilation: Pair
    groups: int
    oh: int
    ow: int

    @property
    def kernel(self) -> Pair:
        return self.kh, self.kw

    @property
    def ck(self) -> int:
        """Rows of one group's column matrix: (C/groups) * kh * kw."""
        return self.c // self.groups * self.kh * self.kw

    @property
    def pointwise(self) -> bool:
        """1x1 kernel, stride 1, no padding: the input already is the column matrix."""
        return self.kernel == (1, 1) and self.stride == (1, 1) and self.pads == ((0, 0), (0, 0))

    def offset(self, i: int, j: int) -> tuple[slice, slice]:
        """Rows and columns of the padded input that kernel offset (i, j) multiplies:
        ``xpad[..., rows, cols]`` has shape (..., OH, OW)."""
        return (
            window_slice(i, self.stride[0], self.dilation[0], self.oh),
            window_slice(j, self.stride[1], self.dilation[1], self.ow),
        )

    def offsets(self) -> tuple[tuple[slice, slice], ...]:
        """:meth:`offset` of every tap, in the order k = i*kw + j (remembered per geometry: the
        tap loops of the kernels ask for them on every call)."""
        return _tap_offsets(self)

    def crop(self) -> tuple[slice, slice]:
        """Rows and columns of the padded input that hold the unpadded input."""
        (pt, _), (pl, _) = self.pads
        return slice(pt, pt + self.h), slice(pl, pl + self.w)


def geometry(
    x_shape: tuple,
    w_shape: tuple,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    op: str = "conv2d",
) -> Geometry:
    """Check that a weight of ``w_shape`` fits an input of ``x_shape`` and resolve the settings
    (``op`` names the caller in error messages).

    Remembered: a network asks for the same few geometries every step (a conv's forward and
    backward, for every layer), and resolving the settings costs more than a small layer's
    bookkeeping should. Settings that cannot be hashed (lists) are resolved every time.
    """
    key = (tuple(x_shape), tuple(w_shape), stride, padding, dilation, groups)  # (op only names errors)
    try:
        return _GEOMETRIES[key]
    except KeyError:
        pass
    except TypeError:
        return _resolve_geometry(*key, op)
    if len(_GEOMETRIES) >= 4096:
        _GEOMETRIES.clear()
    g = _GEOMETRIES[key] = _resolve_geometry(*key, op)  # (an error raises: nothing is kept)
    return g


def _resolve_geometry(
    x_shape: tuple, w_shape: tuple, stride: Any, padding: Any, dilation: Any, groups: int, op: str
) -> Geometry:
    """:func:`geometry`, uncached."""
    n, c, h, w = x_shape
    o, cg, kh, kw = w_shape
    if groups < 1 or c % groups or o % groups or cg * groups != c:
        raise ValueError(
            f"{op}: weight of shape {tuple(w_shape)} with groups={groups} does not fit an input "
            f"with {c} channels (expected weight (O, C/groups, kh, kw) with C and O divisible by groups)"
        )
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: stride and dilation must be positive, got {stride} and {dilation}")
    pads = resolve_padding(padding, (kh, kw), stride, dilation)
    oh = conv_output_size(h, kh, stride[0], pads[0], dilation[0])
    ow = conv_output_size(w, kw, stride[1], pads[1], dilation[1])
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{op}: input of size {h}x{w} padded by {pads} is smaller than the {kh}x{kw} kernel "
            f"with dilation {dilation}: the output would be {oh}x{ow}"
        )
    return Geometry(n, c, h, w, o, kh, kw, stride, pads, dilation, groups, oh, ow)


_GEOMETRIES: dict[tuple, Geometry] = {}  # geometry's memory, by the settings


@functools.lru_cache(maxsize=4096)
def _tap_offsets(g: Geometry) -> tuple[tuple[slice, slice], ...]:
    return tuple(g.offset(i, j) for i in range(g.kh) for j in range(g.kw))
