"""vol2col and col2vol (3-d im2col and col2im), and the 3-d convolutions built on them.

A 3-d convolution slides a ``C x kd x kh x kw`` window over a (zero-padded) volume. ``vol2col``
copies every window into a column, so that all windows times all filters become one GEMM per
group, exactly as :mod:`minicnn.kernels.im2col` does for images; ``col2vol`` is its adjoint
(every column added back onto its window, overlaps summed).

Shapes (x (N, C, D, H, W), kernel (kd, kh, kw), K = kd*kh*kw, per axis a with stride s,
padding (before, after) and dilation d, torch's rule)::

    out_a = floor((in_a + before + after - d*(k_a - 1) - 1) / s) + 1       (OD, OH, OW), P = OD*OH*OW
    vol2col   (N, C, D, H, W) -> (N, C*K, P)
    col2vol   (N, C*K, P) -> (N, C, D, H, W)

Row ``c*K + (i*kh + j)*kw + l`` of an image's column matrix holds, for every output voxel
(od, oh, ow), the voxel ``xpad[c, od*s_d + i*d_d, oh*s_h + j*d_h, ow*s_w + l*d_w]``.

How: a loop over the K kernel offsets (never over images or voxels). Offset (i, j, l) of every
window at once is one strided view of the padded volume, ``xpad[:, :, i*d_d : ... : s_d, ...]``
of shape (N, C, OD, OH, OW); vol2col copies it into row block (i, j, l) of the columns, col2vol
adds row block (i, j, l) back into that view.

Cost (elements M = N*C*K*P, the column matrix: K/(s_d*s_h*s_w) times the input): vol2col writes
each once; col2vol reads each once with one read-add-write of the padded gradient per offset.
Extra memory: the columns and a zero-padded copy of the input when there is padding.

The convolutions (cross-correlation, ``torch.nn.functional.conv3d``)::

    x (N, C, D, H, W), w (O, C/groups, kd, kh, kw), b (O,) -> y (N, O, OD, OH, OW)
    y[n, o] = b[o] + sum_{c, i, j, l} w[o, c, i, j, l] * xpad[n, group(o)*C/groups + c, <offset (i, j, l)>]

:func:`conv3d_forward`: vol2col, then ``W (groups, O/g, C/g*K) @ cols (n, groups, C/g*K, P)`` --
one ``matmul`` whose (n, groups, O/g, P) result *is* the NCDHW output. Backward: ``dW = gy @
cols^T`` and ``dcols = W^T @ gy`` (GEMMs), ``dX = col2vol(dcols)``, ``db`` a sum. A 1x1x1
kernel with stride 1 and no padding needs no columns (the input is its own column matrix).
Cost ``2*N*O*(C/groups)*K*P`` flops forward, twice that backward. The columns live in the
workspace of :mod:`minicnn.kernels.conv`, bounded by its budget (``set_im2col_budget``): a batch
whose columns exceed it (or, on the CPU, the cache-sized chunk) runs in chunks of images; the
backward pass rebuilds the columns chunk by chunk instead of keeping them.

:func:`conv_transpose3d_forward` (``torch.nn.functional.conv_transpose3d``) is the convolution's
input gradient run forward: x (N, C_in, D, H, W), w (C_in, C_out/groups, kd, kh, kw) ->
(N, C_out, OD, OH, OW), ``out_a = (in_a - 1)*s - 2*p + d*(k_a - 1) + output_padding_a + 1``;
one GEMM ``W^T @ x`` per group, then col2vol. Its backward is the convolution's forward (vol2col
of gy, then GEMMs). Same cost as the convolution it transposes.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from typing import Any, NamedTuple

from .. import backend
from .conv import _chunks, _workspace
from .conv_shapes import conv_output_size, window_slice
from .conv_transpose import output_size

Triple = tuple[int, int, int]
Pads = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]  # (before, after) for D, H, W


def _int(v: Any, name: str, op: str) -> int:
    """An int from anything with ``__index__``; a float, a string or a bool is torch's TypeError."""
    if isinstance(v, bool):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {v!r}") from None


def triple(v: Any, name: str = "value", op: str = "conv3d") -> Triple:
    """``3 -> (3, 3, 3)``; a 1-sequence is broadcast and a 3-sequence kept (torch's rule); any
    other length is a ValueError naming ``op``, a non-integer a TypeError."""
    if isinstance(v, (tuple, list)):
        if len(v) not in (1, 3):
            raise ValueError(f"{op}: {name} must be an int or a tuple of 3 ints, got {v!r}")
        a, b, c = (v[0],) * 3 if len(v) == 1 else v
        return _int(a, name, op), _int(b, name, op), _int(c, name, op)
    n = _int(v, name, op)
    return n, n, n


def resolve_padding(padding: Any, kernel: Triple, stride: Triple, dilation: Triple, op: str = "conv3d") -> Pads:
    """Padding as ((before, after),) * 3 from an int, a triple, ``"valid"``, ``"same"`` or the
    explicit form. ``"same"`` (stride 1 only, like torch) pads ``d*(k-1)`` per axis, half before
    and the rest (the odd extra voxel) after."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
    if isinstance(padding, (tuple, list)) and len(padding) == 3 and isinstance(padding[0], (tuple, list)):
        pads = tuple((int(b), int(a)) for b, a in padding)
    else:
        pads = tuple((p, p) for p in triple(padding, "padding", op))
    if min(min(p) for p in pads) < 0:
        raise ValueError(f"{op}: negative padding is not supported, got {padding!r}")
    return pads  # type: ignore[return-value]


class Geometry3d(NamedTuple):
    """A 3-d convolution's sizes and settings, resolved: x (n, c, *size), weight
    (o, c/groups, *kernel), output (n, o, *out)."""

    n: int
    c: int
    o: int
    groups: int
    size: Triple
    kernel: Triple
    stride: Triple
    pads: Pads
    dilation: Triple
    out: Triple

    @property
    def k(self) -> int:
        """Kernel offsets kd*kh*kw."""
        return math.prod(self.kernel)

    @property
    def p(self) -> int:
        """Output voxels per image OD*OH*OW."""
        return math.prod(self.out)

    @property
    def ck(self) -> int:
        """Rows of one group's column matrix: (C/groups) * K."""
        return self.c // self.groups * self.k

    @property
    def padded(self) -> Triple:
        return tuple(s + b + a for s, (b, a) in zip(self.size, self.pads))  # type: ignore[return-value]

    @property
    def pointwise(self) -> bool:
        """1x1x1 kernel, stride 1, no padding: the input already is the column matrix."""
        return self.kernel == (1, 1, 1) and self.stride == (1, 1, 1) and self.pads == ((0, 0),) * 3

    def offsets(self) -> Iterator[tuple[Triple, tuple[slice, slice, slice]]]:
        """((i, j, l), slices) for every kernel offset in row-major order: ``xpad[..., *slices]``
        is the (..., OD, OH, OW) view that offset multiplies."""
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                for l in range(self.kernel[2]):
                    slices = tuple(
                        window_slice(t, self.stride[a], self.dilation[a], self.out[a]) for a, t in enumerate((i, j, l))
                    )
                    yield (i, j, l), slices  # type: ignore[misc]

    def crop(self) -> tuple[slice, slice, slice]:
        """The padded-volume positions that hold the unpadded input."""
        return tuple(slice(b, b + s) for s, (b, _) in zip(self.size, self.pads))  # type: ignore[return-value]


def geometry3d(
    x_shape: tuple,
    w_shape: tuple,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    op: str = "conv3d",
) -> Geometry3d:
    """Check that a weight of ``w_shape`` (O, C/groups, kd, kh, kw) fits an input of ``x_shape``
    (N, C, D, H, W) and resolve the settings; ValueErrors name ``op``."""
    n, c = x_shape[:2]
    o, cg = w_shape[:2]
    if groups < 1 or o % groups or cg * groups != c:
        raise ValueError(
            f"{op}: weight of shape {tuple(w_shape)} with groups={groups} does not fit an input of shape "
            f"{tuple(x_shape)} (expected weight (O, C/groups, kd, kh, kw) with O divisible by groups)"
        )
    kernel = tuple(int(k) for k in w_shape[2:])
    stride, dilation = triple(stride, "stride", op), triple(dilation, "dilation", op)
    if min(stride) < 1:
        raise ValueError(f"{op}: non-positive stride is not supported, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be positive, got {dilation}")
    pads = resolve_padding(padding, kernel, stride, dilation, op)  # type: ignore[arg-type]
    size = tuple(int(s) for s in x_shape[2:])
    out = tuple(conv_output_size(size[a], kernel[a], stride[a], pads[a], dilation[a]) for a in range(3))
    if min(out) < 1:
        padded = tuple(s + b + a for s, (b, a) in zip(size, pads))
        raise ValueError(
            f"{op}: padded input of size {padded} is smaller than the kernel {kernel} with dilation "
            f"{dilation}: the output would be {out}"
        )
    return Geometry3d(n, c, o, groups, size, kernel, stride, pads, dilation, out)  # type: ignore[arg-type]


def _window_geometry(x_shape: tuple, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> Geometry3d:
    """The sliding-window geometry of ``x_shape`` (as a convolution with one filter)."""
    return geometry3d(x_shape, (1, x_shape[1], *triple(kernel_size)), stride, padding, dilation, op="vol2col")


def pad3d(x: Any, pads: Pads) -> Any:
    """Zero-pad the three spatial axes of ``x`` (N, C, D, H, W); ``x`` itself without padding."""
    if pads == ((0, 0),) * 3:
        return x
    xp = backend.get_array_module(x)
    padded = tuple(s + b + a for s, (b, a) in zip(x.shape[2:], pads))
    out = xp.zeros((*x.shape[:2], *padded), dtype=x.dtype)
    out[(slice(None), slice(None), *(slice(b, b + s) for s, (b, _) in zip(x.shape[2:], pads)))] = x
    return out


def vol2col(x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, *, out: Any = None) -> Any:
    """Columns of all windows of ``x`` (N, C, D, H, W): (N, C*K, P). ``padding``: an int, a
    triple or ((before, after),) * 3. ``out``: optional buffer with at least that many elements
    (the workspace), written in place."""
    xp = backend.get_array_module(x)
    g = _window_geometry(x.shape, kernel_size, stride, padding, dilation)
    xpad = pad3d(x, g.pads)
    shape = (g.n, g.c, *g.kernel, *g.out)
    cols = xp.empty(shape, dtype=x.dtype) if out is None else out.reshape(-1)[: math.prod(shape)].reshape(shape)
    for (i, j, l), slices in g.offsets():
        cols[:, :, i, j, l] = xpad[(slice(None), slice(None), *slices)]
    return cols.reshape(g.n, g.c * g.k, g.p)


def col2vol(
    cols: Any,
    x_shape: tuple,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    *,
    out: Any = None,
) -> Any:
    """Adjoint of :func:`vol2col`: cols (N, C*K, P) -> an array of ``x_shape`` (N, C, D, H, W)
    (written into ``out`` if given) in which every voxel holds the sum of the column entries
    that came from it; entries from the padding are dropped."""
    xp = backend.get_array_module(cols)
    g = _window_geometry(x_shape, kernel_size, stride, padding, dilation)
    cols = cols.reshape(g.n, g.c, *g.kernel, *g.out)
    no_pad = g.pads == ((0, 0),) * 3
    if no_pad and out is not None:
        acc = out
        acc[...] = 0
    else:
        acc = xp.zeros((g.n, g.c, *g.padded), dtype=cols.dtype)
    for (i, j, l), slices in g.offsets():
        acc[(slice(None), slice(None), *slices)] += cols[:, :, i, j, l]
    if no_pad:
        return acc
    inner = acc[(slice(None), slice(None), *g.crop())]
    if out is None:
        return xp.ascontiguousarray(inner)
    out[...] = inner
    return out


# -- the convolution ---------------------------------------------------------------------


def _columns(x: Any, g: Geometry3d) -> Any:
    """Column matrices (n, groups, C/g*K, P) of a chunk of n images, in the workspace."""
    xp = backend.get_array_module(x)
    n = x.shape[0]
    if g.pointwise:
        return xp.ascontiguousarray(x).reshape(n, g.groups, g.ck, g.p)
    buf = _workspace(xp, n * g.groups * g.ck * g.p, x.dtype)
    cols = vol2col(x, g.kernel, g.stride, g.pads, g.dilation, out=buf)
    return cols.reshape(n, g.groups, g.ck, g.p)


def conv3d_forward(
    x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1
) -> Any:
    """y (N, O, OD, OH, OW) = conv3d(x (N, C, D, H, W), w (O, C/groups, kd, kh, kw)) + b (O,)."""
    xp = backend.get_array_module(x)
    g = geometry3d(x.shape, w.shape, stride, padding, dilation, groups)
    og = g.o // groups
    wg = w.reshape(groups, og, g.ck)
    y = xp.empty((g.n, g.o, g.p), dtype=x.dtype)
    col_bytes = 0 if g.pointwise else groups * g.ck * g.p * x.itemsize
    for n0, n1 in _chunks(xp, g.n, col_bytes):
        cols = _columns(x[n0:n1], g)  # (n, groups, C/g*K, P)
        xp.matmul(wg, cols, out=y[n0:n1].reshape(n1 - n0, groups, og, g.p))
    if b is not None:
        y += b[:, None]
    return y.reshape(g.n, g.o, *g.out)


def conv3d_backward(
    gy: Any,
    x: Any,
    w: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`conv3d_forward` for gy (N, O, OD, OH, OW); entries not asked for
    are None. Per chunk of images: the columns are rebuilt, ``dW += sum_n gy @ cols^T``, then
    ``dcols = W^T @ gy`` overwrites them in the workspace and col2vol folds dcols into dX."""
    xp = backend.get_array_module(gy)
    g = geometry3d(x.shape, w.shape, stride, padding, dilation, groups)
    og = g.o // groups
    gy = xp.ascontiguousarray(gy).reshape(g.n, g.o, g.p)
    gb = gy.sum(axis=(0, 2)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    gx = xp.empty(x.shape, dtype=gy.dtype) if need_dx else None
    gw = None  # (groups, C/g*K, O/g): dW^T per group, summed over the chunks
    wt = w.reshape(groups, og, g.ck).transpose(0, 2, 1)
    per_image = (0 if g.pointwise else groups * g.ck * g.p) + (g.ck * g.o if need_dw else 0)
    for n0, n1 in _chunks(xp, g.n, per_image * gy.itemsize):
        n = n1 - n0
        gyc = gy[n0:n1].reshape(n, groups, og, g.p)
        if need_dw:  # (n, groups, CK, P) @ (n, groups, P, O/g), summed over the images
            part = xp.matmul(_columns(x[n0:n1], g), gyc.transpose(0, 1, 3, 2)).sum(axis=0)
            gw = part if gw is None else gw + part
        if need_dx:
            if g.pointwise:  # W^T @ gy already is the input gradient
                xp.matmul(wt, gyc, out=gx[n0:n1].reshape(n, groups, g.ck, g.p))
            else:
                buf = _workspace(xp, n * groups * g.ck * g.p, gy.dtype).reshape(n, groups, g.ck, g.p)
                dcols = xp.matmul(wt, gyc, out=buf)
                col2vol(dcols, (n, g.c, *g.size), g.kernel, g.stride, g.pads, g.dilation, out=gx[n0:n1])
    if need_dw and gw is None:  # a batch of 0 images: dW is a sum of nothing
        gw = xp.zeros((groups, g.ck, og), dtype=gy.dtype)
    gw = gw.transpose(0, 2, 1).reshape(w.shape) if need_dw else None
    return gx, gw, gb


# -- the transposed convolution ----------------------------------------------------------


def _transposed_sizes(x_shape: tuple, w_shape: tuple, s: Triple, p: Triple, op_: Triple, d: Triple) -> tuple:
    """(out, full): the output size and the size the columns reach with the after-padding kept,
    ``(in - 1)*s - p + d*(k - 1) + 1`` per axis (the convolution of that size, padded (p, 0),
    gives back the input's size)."""
    k = w_shape[2:]
    out = tuple(output_size(x_shape[2 + a], k[a], s[a], p[a], d[a], op_[a]) for a in range(3))
    full = tuple((x_shape[2 + a] - 1) * s[a] - p[a] + d[a] * (k[a] - 1) + 1 for a in range(3))
    return out, full


def _fit(a: Any, shape: tuple) -> Any:
    """``a`` (N, C, d, h, w) cut or zero-extended at the end of each spatial axis to (N, C, *shape)."""
    if a.shape[2:] == tuple(shape):
        return a
    xp = backend.get_array_module(a)
    out = xp.zeros((*a.shape[:2], *shape), dtype=a.dtype)
    common = (slice(None), slice(None), *(slice(0, min(m, t)) for m, t in zip(a.shape[2:], shape)))
    out[common] = a[common]
    return out


def conv_transpose3d_forward(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Triple = (1, 1, 1),
    padding: Triple = (0, 0, 0),
    output_padding: Triple = (0, 0, 0),
    groups: int = 1,
    dilation: Triple = (1, 1, 1),
) -> Any:
    """y (N, C_out, OD, OH, OW) = conv_transpose3d(x (N, C_in, D, H, W), w (C_in, C_out/g, kd, kh, kw)) + b.

    Per chunk of images: ``cols = W^T (g, C_out/g*K, C_in/g) @ x (n, g, C_in/g, D*H*W)`` in the
    workspace, col2vol onto the full output (after-padding kept), then cut to size."""
    xp = backend.get_array_module(x)
    n, cin = x.shape[:2]
    og, kernel = w.shape[1], tuple(w.shape[2:])
    cout, k, v = og * groups, math.prod(kernel), math.prod(x.shape[2:])
    out, full = _transposed_sizes(x.shape, w.shape, stride, padding, output_padding, dilation)
    if min(full) < 1 or n == 0:  # every column lands in the padding (or no images): only the bias
        y = xp.zeros((n, cout, *out), dtype=x.dtype)
    else:
        x = xp.ascontiguousarray(x)
        wt = w.reshape(groups, cin // groups, og * k).transpose(0, 2, 1)  # (g, C_out/g*K, C_in/g)
        pads = tuple((p, 0) for p in padding)
        yfull = xp.empty((n, cout, *full), dtype=x.dtype)
        for n0, n1 in _chunks(xp, n, cout * k * v * x.itemsize):
            m = n1 - n0
            buf = _workspace(xp, m * cout * k * v, x.dtype).reshape(m, groups, og * k, v)
            cols = xp.matmul(wt, x[n0:n1].reshape(m, groups, cin // groups, v), out=buf)
            col2vol(cols, (m, cout, *full), kernel, stride, pads, dilation, out=yfull[n0:n1])
        y = _fit(yfull, out)
    if b is not None:
        y += b[:, None, None, None]
    return y


def conv_transpose3d_backward(
    gy: Any,
    x: Any,
    w: Any,
    stride: Triple = (1, 1, 1),
    padding: Triple = (0, 0, 0),
    output_padding: Triple = (0, 0, 0),
    groups: int = 1,
    dilation: Triple = (1, 1, 1),
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) for gy (N, C_out, OD, OH, OW): per chunk, ``cols = vol2col(gy)``,
    ``dX = W (g, C_in/g, C_out/g*K) @ cols``, ``dW += sum_n x @ cols^T``; ``db`` sums gy."""
    xp = backend.get_array_module(gy)
    n, cin = x.shape[:2]
    og, kernel = w.shape[1], tuple(w.shape[2:])
    cout, k, v = og * groups, math.prod(kernel), math.prod(x.shape[2:])
    _, full = _transposed_sizes(x.shape, w.shape, stride, padding, output_padding, dilation)
    gb = gy.sum(axis=(0, 2, 3, 4)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    if min(full) < 1 or n == 0:  # the output never saw x: zero gradients
        gx = xp.zeros(x.shape, dtype=gy.dtype) if need_dx else None
        return gx, (xp.zeros(w.shape, dtype=gy.dtype) if need_dw else None), gb
    gyf = xp.ascontiguousarray(_fit(gy, full))
    pads = tuple((p, 0) for p in padding)
    wg = w.reshape(groups, cin // groups, og * k)
    xg = xp.ascontiguousarray(x).reshape(n, groups, cin // groups, v)
    gx = xp.empty(x.shape, dtype=gy.dtype) if need_dx else None
    gw = None
    per_image = cout * k * v + (cin * og * k if need_dw else 0)
    for n0, n1 in _chunks(xp, n, per_image * gy.itemsize):
        m = n1 - n0
        buf = _workspace(xp, m * cout * k * v, gy.dtype)
        cols = vol2col(gyf[n0:n1], kernel, stride, pads, dilation, out=buf).reshape(m, groups, og * k, v)
        if need_dx:
            xp.matmul(wg, cols, out=gx[n0:n1].reshape(m, groups, cin // groups, v))
        if need_dw:  # (m, g, C_in/g, V) @ (m, g, V, C_out/g*K), summed over the images
            part = xp.matmul(xg[n0:n1], cols.transpose(0, 1, 3, 2)).sum(axis=0)
            gw = part if gw is None else gw + part
    gw = gw.reshape(w.shape) if need_dw else None
    return gx, gw, gb
