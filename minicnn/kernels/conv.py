"""2-d convolution (cross-correlation, like ``torch.nn.functional.conv2d``), three ways.

Shapes: x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) -> y (N, O, OH, OW) with
``OH = floor((H + pad_top + pad_bottom - dilation_h*(kh-1) - 1) / stride_h) + 1`` (OW alike).
Output channel o of group g = o // (O/groups) sees input channels g*C/groups ... (g+1)*C/groups - 1:

    y[n, o, oh, ow] = b[o] + sum_{c, i, j} w[o, c, i, j] * xpad[n, g*C/groups + c,
                                            oh*stride_h + i*dilation_h, ow*stride_w + j*dilation_w]

Cost: ``2 * N * O * (C/groups) * kh * kw * OH * OW`` flops forward; backward twice that
(one product for the input gradient dX, one for the weight gradient dW; db is a sum).

Algorithms (``algo=``), all computing the same numbers:

* ``"direct"`` -- :func:`conv2d_direct`: the formula above, looping over output channels and
  kernel offsets; each step is one array expression over the batch and the image. The
  reference to read first; slow (O*kh*kw small steps).
* ``"im2col"`` -- :func:`conv2d_im2col`: copy every window into a column (``im2col``), then
  one GEMM per group does all the multiply-adds: ``y = W (O/g, C/g*kh*kw) @ cols``. Backward
  is two more GEMMs, ``dW = gy @ cols^T`` and ``dcols = W^T @ gy``, and ``col2im`` folds
  dcols back onto the input. The column matrix is kh*kw/stride^2 times larger than the input,
  so it lives in one reused *workspace* whose size is capped by a budget
  (:func:`set_im2col_budget`, default 256 MiB); a larger batch is processed in chunks. The
  columns are rebuilt in backward instead of being kept, so a deep network does not hold one
  column matrix per layer. A 1x1 convolution with stride 1 and no padding needs no im2col at
  all: the input, viewed as (N, C, H*W), already is the column matrix.
* ``"depthwise"`` -- :mod:`minicnn.kernels.depthwise` for groups == C (MobileNet): each
  channel has its own kh x kw filter, so there is nothing to gain from a GEMM; a loop over the
  kernel offsets multiplies shifted slices by per-channel weights.

``algo="auto"`` (:func:`choose_algo`) takes depthwise when groups == C > 1, else im2col.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .conv_shapes import Geometry, geometry
from .depthwise import conv2d_depthwise, conv2d_depthwise_backward
from .im2col import col2im, im2col, pad2d

ALGOS = ("auto", "direct", "im2col", "depthwise")

# -- the im2col workspace and its budget ---------------------------------------------------

_budget = 256 * 2**20
_workspaces: dict[Any, Any] = {}


def set_im2col_budget(nbytes: int) -> None:
    """Cap the im2col column buffer at ``nbytes`` (default 256 MiB). Larger batches are
    processed in chunks of images (always at least one image per chunk)."""
    global _budget
    if int(nbytes) < 1:
        raise ValueError(f"im2col budget must be a positive number of bytes, got {nbytes}")
    _budget = int(nbytes)
    clear_workspace()


def get_im2col_budget() -> int:
    """The current im2col budget in bytes."""
    return _budget


def clear_workspace() -> None:
    """Free the cached im2col workspace (it is re-created on the next convolution)."""
    _workspaces.clear()


def _workspace(xp: Any, size: int, dtype: Any) -> Any:
    """A 1-d scratch array of ``size`` elements, reused by every im2col convolution.

    Why cache it: the operating system hands out fresh memory as untouched pages and
    zero-fills each one on first write, which for a 200 MB column matrix costs several times
    more than the im2col copy itself. CuPy's memory pool already recycles device memory.
    """
    if xp is not np:
        return xp.empty(size, dtype=dtype)
    key = np.dtype(dtype)
    buf = _workspaces.get(key)
    if buf is None or buf.size < size:
        _workspaces.pop(key, None)  # drop the old buffer before allocating the larger one
        buf = _workspaces[key] = np.empty(size, dtype=dtype)
    return buf[:size]


def _chunks(n: int, bytes_per_image: int):
    """(start, stop) ranges covering the batch, each within the budget."""
    step = max(1, min(n, _budget // max(1, bytes_per_image)))
    for n0 in range(0, n, step):
        yield n0, min(n, n0 + step)


# -- direct: the reference ----------------------------------------------------------------


def conv2d_direct(
    x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1
) -> Any:
    """The convolution formula, looping over output channels o and kernel offsets (i, j).

    Each step multiplies the input slice under offset (i, j) -- all images, all pixels, the
    C/groups channels of o's group -- by the weights w[o, :, i, j] and sums over channels.
    O*kh*kw steps of N*(C/groups)*OH*OW multiply-adds. Extra memory: a padded input copy.
    """
    xp = backend.get_array_module(x)
    g = geometry(x.shape, w.shape, stride, padding, dilation, groups)
    cg, og = g.c // groups, g.o // groups
    xpad = pad2d(x, g.pads)
    y = xp.zeros((g.n, g.o, g.oh, g.ow), dtype=x.dtype)
    for o in range(g.o):
        group = xpad[:, (o // og) * cg : (o // og + 1) * cg]  # (N, C/groups, Hp, Wp)
        for i in range(g.kh):
            for j in range(g.kw):
                rows, cols = g.offset(i, j)
                y[:, o] += xp.einsum("c,nchw->nhw", w[o, :, i, j], group[:, :, rows, cols])
    if b is not None:
        y += b[:, None, None]
    return y


def conv2d_direct_backward(
    gy: Any, x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
    need_dx: bool = True, need_dw: bool = True, need_db: bool = True,
) -> tuple[Any, Any, Any]:
    """Gradients of :func:`conv2d_direct`, step for step:

    ``dW[o, :, i, j] = sum_{n,oh,ow} gy[n, o] * xslice_ij`` and the input slice under offset
    (i, j) receives ``w[o, :, i, j] * gy[n, o]``; ``db[o] = sum gy[:, o]``.
    """
    xp = backend.get_array_module(x)
    g = geometry(x.shape, w.shape, stride, padding, dilation, groups)
    cg, og = g.c // groups, g.o // groups
    xpad = pad2d(x, g.pads)
    gxpad = xp.zeros(xpad.shape, dtype=x.dtype) if need_dx else None
    gw = xp.zeros(w.shape, dtype=w.dtype) if need_dw else None
    for o in range(g.o):
        chans = slice((o // og) * cg, (o // og + 1) * cg)
        for i in range(g.kh):
            for j in range(g.kw):
                rows, cols = g.offset(i, j)
                if need_dw:
                    gw[o, :, i, j] = xp.einsum("nhw,nchw->c", gy[:, o], xpad[:, chans, rows, cols])
                if need_dx:
                    gxpad[:, chans, rows, cols] += xp.einsum("c,nhw->nchw", w[o, :, i, j], gy[:, o])
    gx = xp.ascontiguousarray(gxpad[(slice(None), slice(None), *g.crop())]) if need_dx else None
    gb = gy.sum(axis=(0, 2, 3)) if need_db else None
    return gx, gw, gb


# -- im2col + GEMM -----------------------------------------------------------------------


def _batch_last_pays(g: Geometry) -> bool:
    """Use the (C*kh*kw, OH*OW*N) column layout for small output maps: NumPy's per-row cost
    dominates rows of OW < 16 elements, and the transposes it needs are cheap there."""
    return g.ow < 16 and g.stride[1] == 1 and not g.pointwise


def _columns(x: Any, g: Geometry, xp: Any) -> Any:
    """Column matrices of a chunk of images, (n, groups, C/groups*kh*kw, OH*OW)."""
    n = x.shape[0]
    if g.pointwise:
        return x.reshape(n, g.groups, g.ck, g.h * g.w)  # no copy
    buf = _workspace(xp, n * g.groups * g.ck * g.oh * g.ow, x.dtype)
    cols = im2col(x, g.kernel, g.stride, g.pads, g.dilation, out=buf)
    return cols.reshape(n, g.groups, g.ck, g.oh * g.ow)


def conv2d_im2col(
    x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
    *, batch_last: bool | None = None,
) -> Any:
    """Convolution as im2col + one GEMM per group (all groups and images in one ``matmul``).

    Image-major layout: cols (n, groups, C/g*kh*kw, OH*OW), weights (groups, O/g, C/g*kh*kw);
    ``matmul`` broadcasts the weights over the images and writes (n, groups, O/g, OH*OW),
    which *is* the NCHW output -- no transpose. ``batch_last`` (default: chosen by
    :func:`_batch_last_pays`) uses (C*kh*kw, OH*OW*N) columns instead.
    Extra memory: the workspace (at most the budget, at least one image's columns).
    """
    xp = backend.get_array_module(x)
    g = geometry(x.shape, w.shape, stride, padding, dilation, groups)
    if batch_last is None:
        batch_last = _batch_last_pays(g)
    if g.pointwise:
        x = xp.ascontiguousarray(x)
    wg = w.reshape(groups, g.o // groups, g.ck)
    p = g.oh * g.ow
    y = xp.empty((g.n, g.o, p), dtype=x.dtype)
    col_bytes = 0 if g.pointwise else groups * g.ck * p * x.itemsize
    for n0, n1 in _chunks(g.n, col_bytes):
        n = n1 - n0
        if batch_last:
            buf = _workspace(xp, n * groups * g.ck * p, x.dtype)
            cols = im2col(x[n0:n1], g.kernel, g.stride, g.pads, g.dilation, batch_last=True, out=buf)
            yt = xp.matmul(wg, cols.reshape(groups, g.ck, p * n))  # (groups, O/g, OH*OW*n)
            y[n0:n1] = yt.reshape(g.o, p, n).transpose(2, 0, 1)
        else:
            xp.matmul(wg, _columns(x[n0:n1], g, xp), out=y[n0:n1].reshape(n, groups, g.o // groups, p))
    if b is not None:
        y += b[:, None]
    return y.reshape(g.n, g.o, g.oh, g.ow)


def conv2d_im2col_backward(
    gy: Any, x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
    need_dx: bool = True, need_dw: bool = True, need_db: bool = True, *, batch_last: bool | None = None,
) -> tuple[Any, Any, Any]:
    """Gradients of :func:`conv2d_im2col`; only those asked for are computed.

    Per chunk of images: rebuild the columns, ``dW += sum_n gy[n] @ cols[n]^T`` (GEMM),
    ``dcols = W^T @ gy`` (GEMM, written over the columns in the workspace), and
    ``dX = col2im(dcols)``. ``db = sum of gy over images and pixels``.
    ``x`` is only read when dW is needed, ``w`` only when dX is.
    """
    xp = backend.get_array_module(gy)
    g = geometry(x.shape, w.shape, stride, padding, dilation, groups)
    if batch_last is None:
        batch_last = _batch_last_pays(g)
    og, p = g.o // groups, g.oh * g.ow
    gy = xp.ascontiguousarray(gy)
    if g.pointwise and need_dw:
        x = xp.ascontiguousarray(x)
    gx = xp.empty(x.shape, dtype=gy.dtype) if need_dx else None
    gw = xp.zeros((groups, og, g.ck), dtype=gy.dtype) if need_dw else None
    wt = w.reshape(groups, og, g.ck).transpose(0, 2, 1)  # (groups, C/g*kh*kw, O/g)
    per_image = (0 if g.pointwise else groups * g.ck * p) + (og * groups * g.ck if need_dw else 0)
    for n0, n1 in _chunks(g.n, per_image * gy.itemsize) if (need_dx or need_dw) else ():
        n = n1 - n0
        if batch_last:
            gyt = xp.ascontiguousarray(gy[n0:n1].reshape(n, g.o, p).transpose(1, 2, 0))  # (O, OH*OW, n)
            gyt = gyt.reshape(groups, og, p * n)
            buf = _workspace(xp, n * groups * g.ck * p, gy.dtype)
            if need_dw:
                cols = im2col(x[n0:n1], g.kernel, g.stride, g.pads, g.dilation, batch_last=True, out=buf)
                gw += xp.matmul(gyt, cols.reshape(groups, g.ck, p * n).transpose(0, 2, 1))
            if need_dx:
                dcols = xp.matmul(wt, gyt, out=buf.reshape(groups, g.ck, p * n))
                col2im(dcols, (n, g.c, g.h, g.w), g.kernel, g.stride, g.pads, g.dilation, batch_last=True,
                       out=gx[n0:n1])
            continue
        gyc = gy[n0:n1].reshape(n, groups, og, p)
        if need_dw:
            cols = _columns(x[n0:n1], g, xp)
            gw += xp.matmul(gyc, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        if need_dx:
            if g.pointwise:  # dX = W^T @ gy is already the input gradient
                xp.matmul(wt, gyc, out=gx[n0:n1].reshape(n, groups, g.ck, p))
            else:
                buf = _workspace(xp, n * groups * g.ck * p, gy.dtype)
                dcols = xp.matmul(wt, gyc, out=buf.reshape(n, groups, g.ck, p))
                col2im(dcols, (n, g.c, g.h, g.w), g.kernel, g.stride, g.pads, g.dilation, out=gx[n0:n1])
    gb = gy.sum(axis=(0, 2, 3)) if need_db else None
    return gx, (gw.reshape(w.shape) if need_dw else None), gb


# -- choosing and dispatching ------------------------------------------------------------


def choose_algo(x_shape: tuple, w_shape: tuple, groups: int = 1) -> str:
    """``"depthwise"`` when every input channel is its own group (groups == C > 1), else
    ``"im2col"``. (``"direct"`` is never the fastest; it is there to be read and compared.)"""
    c, o = x_shape[1], w_shape[0]
    if groups == c > 1 and o % c == 0:
        return "depthwise"
    return "im2col"


def _resolve_algo(algo: str, x_shape: tuple, w_shape: tuple, groups: int) -> str:
    if algo not in ALGOS:
        raise ValueError(f"conv2d: algo must be one of {ALGOS}, got {algo!r}")
    if algo == "auto":
        return choose_algo(x_shape, w_shape, groups)
    if algo == "depthwise" and not (groups == x_shape[1] and w_shape[0] % groups == 0):
        raise ValueError(
            f"conv2d: algo='depthwise' needs groups == input channels ({x_shape[1]}), got groups={groups}"
        )
    return algo


def conv2d_forward(
    x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
    algo: str = "auto",
) -> Any:
    """y = conv2d(x, w) + b with the chosen algorithm; see the module docstring."""
    algo = _resolve_algo(algo, x.shape, w.shape, groups)
    kernel = {"direct": conv2d_direct, "im2col": conv2d_im2col, "depthwise": conv2d_depthwise}[algo]
    return kernel(x, w, b, stride, padding, dilation, groups)


def conv2d_backward(
    gy: Any, x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1,
    algo: str = "auto", need_dx: bool = True, need_dw: bool = True, need_db: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) for ``gy`` = dL/dy; entries not asked for are None."""
    algo = _resolve_algo(algo, x.shape, w.shape, groups)
    kernel = {
        "direct": conv2d_direct_backward,
        "im2col": conv2d_im2col_backward,
        "depthwise": conv2d_depthwise_backward,
    }[algo]
    return kernel(gy, x, w, stride, padding, dilation, groups, need_dx, need_dw, need_db)
