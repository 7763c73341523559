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
  dcols back onto the input. A 1x1 convolution with stride 1 and no padding needs no im2col
  at all: the input, viewed as (N, C, H*W), already is the column matrix -- except on tiny
  maps (squeeze-and-excitation's 1x1), where the batch is folded into one GEMM instead of N
  thin ones (:func:`_batch_last_pays`; SE backward ~10x faster). Strided convolutions with
  tiny outputs and large weights (ResNet's 3x3/2 and 1x1/2 into 4x4) fold the batch alike;
  the other strided ones keep image-major columns for the forward and dW, but on CPU their
  dX takes the batch-last GEMM and col2im (:func:`_dx_batch_last`), whose strided scatter
  runs on stride phases in long rows (RegNet's grouped 3x3/2 backward ~20 % faster).
  On CPU, dX of a stride-1 convolution (kernel > 1x1) skips col2im: it is the forward
  convolution of gy, padded by dilation*(k-1) - pad, with the flipped kernel, w^T per group
  (:func:`_dx_as_forward`): one im2col copy of gy and a GEMM with the forward's inner
  dimension O/g*kh*kw, instead of ``W^T @ gy`` (inner dimension only O/g) and col2im's kh*kw
  strided read-add-writes (measured, 1 thread, CPU time, backward: ResNet-18's 3x3 on
  (4, 64, 32, 32) 11.0 -> 9.6 ms, torch 6.9; RegNet's grouped 3x3 on (4, 400, 4, 4) 0.84 ->
  0.65 ms, torch 0.43). Not where the flipped weight, a copy, outweighs col2im (large weights
  on tiny maps, :func:`_dx_as_forward_pays`).
  Memory: the column matrix is kh*kw/stride^2 times larger than the input, so it lives in one
  reused *workspace* capped by a budget (:func:`set_im2col_budget`, default 256 MiB); a batch
  whose columns exceed it is processed in chunks of images (on CPU the chunks are also kept
  cache-sized, ``CACHE_CHUNK_BYTES``, which is faster). Backward rebuilds the columns instead
  of keeping them, so a deep network does not hold one column matrix per layer -- except small
  ones (up to ``KEEP_COLUMNS_BYTES``, ``GPU_KEEP_COLUMNS_BYTES`` on a GPU; on CPU up to
  ``KEEP_WIDE_COLUMNS_BYTES`` where O/groups >= ``KEEP_WIDE_MIN_OUT``, whose GEMM is compute-bound),
  which are kept to save the second im2col.
* ``"depthwise"`` -- :mod:`minicnn.kernels.depthwise` for groups == C (MobileNet): each
  channel has its own kh x kw filter, so there is nothing to gain from a GEMM; a loop over the
  kernel offsets multiplies shifted slices by per-channel weights (never building columns).

* ``"winograd"`` -- :mod:`minicnn.kernels.winograd` for 3x3, stride 1, dilation 1, groups 1
  (any padding): Winograd's F(2x2, 3x3), 16 multiplies per 2x2 output tile and channel pair
  instead of 36, in 16 GEMMs between additions-only transforms; dX is the same forward on gy,
  dW the gradient of the transform chain. Fewer flops, more elementwise passes: it pays for layers
  of 64+ channels on large maps only.

``algo="auto"`` (:func:`choose_algo`) takes depthwise when groups == C > 1; on the CPU winograd
for 3x3 stride-1 layers with at least 256 input and output channels on maps of at least 14x14,
128 on 16x16 or 64 on 32x32 (:func:`_winograd_pays`); else im2col.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .. import backend
from .conv_shapes import Geometry, geometry
from .depthwise import conv2d_depthwise, conv2d_depthwise_backward
from .im2col import col2im, im2col, pad2d
from .winograd import conv2d_winograd, conv2d_winograd_backward, supports

ALGOS = ("auto", "direct", "im2col", "depthwise", "winograd")

# -- the im2col workspace, its budget and the chunks of images ----------------------------

_budget = 256 * 2**20
# CPU: a chunk's columns should stay in a core's cache while its GEMM reads them (4 MiB
# measured best for LeNet-5 training, where the layers' data evicts one another between
# forward and backward); column matrices up to KEEP_COLUMNS_BYTES are kept for backward,
# larger ones are rebuilt chunk by chunk there: rebuilding in cache beat re-reading from
# memory (LeNet-5 step at batch 128: -8 % at 1 thread, -4 % at 2 threads, against 16 MiB kept).
# Columns that fit one cache-sized chunk are kept: rebuilding them has no cache to win and costs
# a second im2col (LeNet-5 at batch 32, the training command's default, keeps both layers' 2.5 and
# 1.9 MB: step -3 to -5 % CPU time at 1 thread against 1 MiB; at batch 128 neither is kept).
CACHE_CHUNK_BYTES = 4 * 2**20
KEEP_COLUMNS_BYTES = 4 * 2**20
# Where the GEMM reuses every column entry for many output channels (O/g >= KEEP_WIDE_MIN_OUT), it
# is compute-bound and reads kept columns from memory at no cost: up to KEEP_WIDE_COLUMNS_BYTES are
# kept, saving backward's im2col (ResNet-18's 3x3 on (4, 64, 32, 32), 9.4 MB of columns, forward +
# backward 13.4 -> 12.0 ms; its 7x7/2 stem 11.2 -> 9.3 ms; 1 thread, min of 15). The forward still
# builds them in cache-sized chunks (image-major), into the kept array.
KEEP_WIDE_MIN_OUT = 32
KEEP_WIDE_COLUMNS_BYTES = 16 * 2**20
# GPU: no cache to block for, and launches cost more than memory: keep up to 32 MiB of columns
# per layer (LeNet-5 at batch 128: both layers), one im2col launch fewer per layer and step.
GPU_KEEP_COLUMNS_BYTES = 32 * 2**20
_local = threading.local()  # one workspace per thread: NumPy releases the GIL in its copies and GEMMs


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


def _workspaces() -> dict[Any, Any]:
    """This thread's workspaces, one per dtype."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    return buffers


def clear_workspace() -> None:
    """Free this thread's cached im2col workspace (it is re-created by the next convolution)."""
    _workspaces().clear()


def _workspace(xp: Any, size: int, dtype: Any) -> Any:
    """A 1-d scratch array of ``size`` elements, reused by every im2col convolution of the
    calling thread (two threads convolving at once each get their own).

    Why cache it: the operating system hands out fresh memory as untouched pages and
    zero-fills each one on first write, which for a large column matrix costs several times
    more than the im2col copy itself. (CuPy's memory pool already recycles device memory.)
    """
    if xp is not np:
        return xp.empty(size, dtype=dtype)
    key, buffers = np.dtype(dtype), _workspaces()
    buf = buffers.get(key)
    if buf is None or buf.size < size:
        buffers.pop(key, None)  # drop the old buffer before allocating the larger one
        buf = buffers[key] = np.empty(size, dtype=dtype)
    return buf[:size]


def _accumulate(total: Any, part: Any) -> Any:
    """``total + part``, in place; the first part is the total (no zero fill, no add)."""
    if total is None:
        return part
    total += part
    return total


def _chunks(xp: Any, n: int, bytes_per_image: int, cpu_bytes: int | None = None):
    """(start, stop) ranges of images whose scratch fits the budget -- and, on CPU, the cache
    (``CACHE_CHUNK_BYTES``, or ``cpu_bytes`` for another kernel's scratch: Winograd's).

    The CPU limit is cache blocking: the columns of a small chunk are still in the cache when
    the GEMM reads them (and when col2im reads the GEMM's output), which makes a VGG-sized
    layer about 15 % faster than one pass over a 200 MB column matrix.
    """
    cpu = CACHE_CHUNK_BYTES if cpu_bytes is None else cpu_bytes
    limit = _budget if xp is not np else min(_budget, cpu)
    step = max(1, min(n, limit // max(1, bytes_per_image)))
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
    """Gradients of :func:`conv2d_direct`, step for step:

    ``dW[o, :, i, j] = sum_{n,oh,ow} gy[n, o] * xslice_ij`` and the input slice under offset
    (i, j) receives ``w[o, :, i, j] * gy[n, o]``; ``db[o] = sum gy[:, o]``.
    Shapes as the forward: gy (N, O, OH, OW), x (N, C, H, W), w (O, C/groups, kh, kw) -> (dx, dw,
    db), each None where not needed. Cost: twice the forward's O*kh*kw steps of
    N*(C/groups)*OH*OW multiply-adds; extra memory a padded input and its padded gradient.
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
    """Whether to use (C*kh*kw, OH*OW*N) columns: for small output maps (width <= 16, stride 1;
    pointwise and strided convolutions by the rule below).
    NumPy pays per row it copies, and image-major rows are only OW long; the transposes that
    the batch-last layout needs instead are cheap for small maps (measured break-even: OW ~ 28).

    A strided convolution follows the pointwise rule below (its batch-last columns are built
    image-major and then transposed, see :func:`_columns`): on a tiny output its image-major dW is
    N products with an inner dimension of only OH*OW, summed, and its forward and dX are N thin
    products (measured, 1 thread, best of 11: ResNet-18's (4, 256, 8, 8) -> 512 3x3/2, backward
    10.5 -> 5.1 ms, forward 3.0 -> 2.3, torch 5.8 / 2.2; RegNet's grouped ones, with small
    weights, stay image-major: there batch-last measured no faster).

    A pointwise convolution needs no im2col image-major, but per image its GEMM is
    (O/g, C/g) @ (C/g, OH*OW): for a tiny map (the 1x1 maps of squeeze-and-excitation, a head
    on 2x2) that re-reads the weight once per image, and dW sums N weight-sized products. With
    the batch folded into the columns it is one GEMM; the price, transposing the input and the
    output, is smaller while ``2 * OH*OW * (C/g + O/g) < C/g * O/g`` (pixels times the two widths
    against the weight's size; measured: a 2x margin, (4, 160, 8, 8) -> 160 lost 30 % forward).
    """
    if g.pointwise or g.stride != (1, 1):
        p, og = g.oh * g.ow, g.o // g.groups
        return g.n > 1 and 2 * p * (g.ck + og) < g.ck * og
    return g.ow <= 16


def _columns(x: Any, g: Geometry, xp: Any, batch_last: bool, keep: bool = False, out: Any = None) -> Any:
    """Column matrices of a chunk of n images, in the workspace (a fresh array if ``keep``; in
    ``out``, C-contiguous, if given: image-major and not pointwise only):
    image-major (n, groups, C/groups*kh*kw, OH*OW), batch-last (groups, C/groups*kh*kw, OH*OW*n).
    Strided batch-last columns are built image-major and transposed: im2col's batch-last view of
    a strided window cannot merge OW with N, so its rows would be only N long."""
    n = x.shape[0]
    if g.pointwise:  # the input itself (image-major: no copy), or its transpose
        if not batch_last:
            return x.reshape(n, g.groups, g.ck, g.h * g.w)
        cols = xp.empty((g.c, g.h * g.w, n), dtype=x.dtype) if keep else _workspace(xp, x.size, x.dtype)
        cols = cols.reshape(g.c, g.h * g.w, n)
        cols[...] = x.reshape(n, g.c, g.h * g.w).transpose(1, 2, 0)
        return cols.reshape(g.groups, g.ck, g.h * g.w * n)
    buf = out
    if buf is None and not keep:
        buf = _workspace(xp, n * g.groups * g.ck * g.oh * g.ow, x.dtype)
    p = g.oh * g.ow  # explicit sizes, not -1: a reshape cannot infer them when C (so g.ck) is 0
    if batch_last and g.stride != (1, 1):  # image-major im2col (long rows), then batch last
        cols = im2col(x, g.kernel, g.stride, g.pads, g.dilation)  # (n, C*kh*kw, OH*OW), fresh
        out = xp.empty((g.c * g.kh * g.kw, p, n), dtype=x.dtype) if buf is None else buf.reshape(-1, p, n)
        out[...] = cols.transpose(1, 2, 0)
        return out.reshape(g.groups, g.ck, p * n)
    cols = im2col(x, g.kernel, g.stride, g.pads, g.dilation, batch_last=batch_last, out=buf)
    return cols.reshape(g.groups, g.ck, p * n) if batch_last else cols.reshape(n, g.groups, g.ck, p)


def conv2d_im2col(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    *,
    batch_last: bool | None = None,
    ctx: dict | None = None,
) -> Any:
    """Convolution as im2col + one GEMM per group (all groups and images in one ``matmul``).

    Image-major: cols (n, groups, C/g*kh*kw, OH*OW) and weights (groups, O/g, C/g*kh*kw);
    ``matmul`` broadcasts the weights over the images and writes (n, groups, O/g, OH*OW),
    which *is* the NCHW output -- no transpose. Batch-last (``batch_last``, default: chosen by
    :func:`_batch_last_pays`): one (O/g, OH*OW*n) product per group, transposed to NCHW.
    ``ctx``: a dict to pass on to the backward; small column matrices (up to
    ``KEEP_COLUMNS_BYTES``) are kept in it, larger ones are rebuilt in backward.
    Extra memory: the workspace (at most the budget, at least one image's columns).
    """
    xp = backend.get_array_module(x)
    g = geometry(x.shape, w.shape, stride, padding, dilation, groups)
    if batch_last is None:
        batch_last = xp is np and _batch_last_pays(g)  # the CUDA im2col is image-major
    if g.pointwise and not batch_last:
        x = xp.ascontiguousarray(x)
    og, p = g.o // groups, g.oh * g.ow
    wg = w.reshape(groups, og, g.ck)
    y = xp.empty((g.n, g.o, p), dtype=x.dtype)
    col_bytes = 0 if g.pointwise and not batch_last else groups * g.ck * p * x.itemsize
    keep_limit = GPU_KEEP_COLUMNS_BYTES
    if xp is np:
        keep_limit = KEEP_WIDE_COLUMNS_BYTES if og >= KEEP_WIDE_MIN_OUT else KEEP_COLUMNS_BYTES
    keep = ctx is not None and 0 < g.n * col_bytes <= keep_limit
    # image-major kept columns: one array, filled chunk by chunk (cache-sized, as when not kept)
    kept = xp.empty((g.n, groups, g.ck, p), dtype=x.dtype) if keep and not batch_last else None
    for n0, n1 in [(0, g.n)] if keep and kept is None else _chunks(xp, g.n, col_bytes):
        n = n1 - n0
        cols = _columns(x[n0:n1], g, xp, batch_last, keep, None if kept is None else kept[n0:n1])
        # the bias is added chunk by chunk, while the chunk's output is still in the cache (batch-last:
        # by the transposing copy itself), not in one more pass over the whole output at the end
        if batch_last:
            yt = xp.matmul(wg, cols).reshape(g.o, p, n).transpose(2, 0, 1)  # (groups, O/g, OH*OW*n) -> NCHW
            if b is None:
                y[n0:n1] = yt
            else:
                xp.add(yt, b[:, None], out=y[n0:n1])
        else:
            xp.matmul(wg, cols, out=y[n0:n1].reshape(n, groups, og, p))
            if b is not None:
                y[n0:n1] += b[:, None]
        if keep:
            ctx["columns"] = cols if kept is None else kept
    return y.reshape(g.n, g.o, g.oh, g.ow)


def conv2d_im2col_backward(
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
    *,
    batch_last: bool | None = None,
    ctx: dict | None = None,
) -> tuple[Any, Any, Any]:
    """Gradients of :func:`conv2d_im2col`; only those asked for are computed.

    Per chunk of images: the columns (kept in ``ctx`` by the forward pass, or rebuilt),
    ``dW += sum over images of gy @ cols^T`` (GEMM), ``dcols = W^T @ gy`` (GEMM, into the
    workspace) and ``dX = col2im(dcols)``. ``db`` sums gy over images and pixels.
    ``x`` is only read for dW, ``w`` only for dX.
    """
    xp = backend.get_array_module(gy)
    g = geometry(x.shape, w.shape, stride, padding, dilation, groups)
    if batch_last is None:
        batch_last = xp is np and _batch_last_pays(g)  # the CUDA im2col is image-major
    og, p = g.o // groups, g.oh * g.ow
    gy = xp.ascontiguousarray(gy).reshape(g.n, g.o, p)
    gb = gy.sum(axis=(0, 2)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    strided_image_major = not batch_last and g.stride != (1, 1) and g.n * groups * g.ck * p * gy.itemsize <= _budget
    if need_dx and xp is np and (_dx_as_forward_pays(g) or strided_image_major):
        if strided_image_major:
            gx = _dx_batch_last(gy, w, g)
        else:
            gx = _dx_as_forward(gy.reshape(g.n, g.o, g.oh, g.ow), w, g)
        if need_dw:
            _, gw, _ = conv2d_im2col_backward(
                gy, x, w, stride, padding, dilation, groups, False, True, False, batch_last=batch_last, ctx=ctx
            )
        return gx, gw if need_dw else None, gb
    if g.pointwise and not batch_last:
        x = xp.ascontiguousarray(x)
    kept = (ctx or {}).get("columns")
    gx = xp.empty(x.shape, dtype=gy.dtype) if need_dx else None
    gw = None  # dW^T per group (groups, C/g*kh*kw, O/g), summed over the chunks
    wt = w.reshape(groups, og, g.ck).transpose(0, 2, 1)  # (groups, C/g*kh*kw, O/g)
    columns_per_image = 0 if g.pointwise and not batch_last else groups * g.ck * p
    per_image = columns_per_image + (g.ck * g.o if need_dw and not batch_last else 0)
    for n0, n1 in [(0, g.n)] if kept is not None else _chunks(xp, g.n, per_image * gy.itemsize):
        n = n1 - n0
        cols = (kept if kept is not None else _columns(x[n0:n1], g, xp, batch_last)) if need_dw else None
        if batch_last:
            gyc = xp.ascontiguousarray(gy[n0:n1].transpose(1, 2, 0)).reshape(groups, og, p * n)
            if need_dw:  # (groups, CK, OH*OW*n) @ (groups, OH*OW*n, O/g)
                gw = _accumulate(gw, xp.matmul(cols, gyc.transpose(0, 2, 1)))
            if need_dx:
                buf = _workspace(xp, groups * g.ck * p * n, gy.dtype).reshape(groups, g.ck, p * n)
                dcols = xp.matmul(wt, gyc, out=buf)
                if g.pointwise:  # W^T @ gy is the input gradient, batch last
                    gx[n0:n1] = dcols.reshape(g.c, p, n).transpose(2, 0, 1).reshape(n, g.c, g.h, g.w)
                    continue
                col2im(
                    dcols, (n, g.c, g.h, g.w), g.kernel, g.stride, g.pads, g.dilation, batch_last=True, out=gx[n0:n1]
                )
            continue
        gyc = gy[n0:n1].reshape(n, groups, og, p)
        if need_dw:  # (n, groups, CK, OH*OW) @ (n, groups, OH*OW, O/g), summed over the images
            gw = _accumulate(gw, xp.matmul(cols, gyc.transpose(0, 1, 3, 2)).sum(axis=0))
        if need_dx:
            if g.pointwise:  # W^T @ gy already is the input gradient
                xp.matmul(wt, gyc, out=gx[n0:n1].reshape(n, groups, g.ck, p))
            else:
                buf = _workspace(xp, n * groups * g.ck * p, gy.dtype).reshape(n, groups, g.ck, p)
                dcols = xp.matmul(wt, gyc, out=buf)
                col2im(dcols, (n, g.c, g.h, g.w), g.kernel, g.stride, g.pads, g.dilation, out=gx[n0:n1])
    if need_dw and gw is None:  # no chunk at all (a batch of 0 images): dW is a sum of nothing
        gw = xp.zeros((groups, g.ck, og), dtype=gy.dtype)
    gw = gw.transpose(0, 2, 1).reshape(w.shape) if need_dw else None
    return gx, gw, gb


def _dx_as_forward_pays(g: Geometry) -> bool:
    """Whether dX is computed as the forward convolution of gy (:func:`_dx_as_forward`): for
    stride 1, a kernel larger than 1x1, padding of at most dilation*(k-1) on every side, and a
    weight no larger than half the column matrix (O/g <= N*OH*OW / 2): the flipped weight is a
    copy, which on a tiny map with a large weight costs more than col2im saves (measured, 1
    thread, CPU time: (4, 512, 4, 4) 3x3 backward 9.4 -> 11.4 ms; (4, 256, 8, 8) even), and
    gy's column matrix (O/g*kh*kw per input pixel) at most twice col2im's (C/g*kh*kw per output
    pixel): LeNet-5's conv2 (6 -> 16 channels, 5x5, 14x14 -> 10x10) would copy 5x more than
    col2im adds, and its training step at batch 128 took 12.0 -> 14.9 ms that way."""
    if g.stride != (1, 1) or g.kernel == (1, 1) or 0 in (g.n, g.c, g.o, g.oh, g.ow):
        return False
    if 2 * (g.o // g.groups) > g.n * g.oh * g.ow:
        return False
    if g.o * g.h * g.w > 2 * g.c * g.oh * g.ow:  # gy's columns (O*k^2 per input pixel) outgrow dcols (C*k^2 per output)
        return False
    (pt, pb), (pl, pr) = g.pads
    full_h, full_w = g.dilation[0] * (g.kh - 1), g.dilation[1] * (g.kw - 1)
    return max(pt, pb) <= full_h and max(pl, pr) <= full_w


def _dx_as_forward(gy: Any, w: Any, g: Geometry) -> Any:
    """dX of a stride-1 convolution as a forward convolution (im2col + GEMM, no col2im):
    gy (N, O, OH, OW), padded by dilation*(k-1) - pad on each side, correlated with the
    flipped, transposed kernel w' (C, O/groups, kh, kw), ``w'[g*C/g + c, o, i, j] =
    w[g*O/g + o, c, kh-1-i, kw-1-j]``, same groups and dilation -> (N, C, H, W).

    Same multiply-adds as ``W^T @ gy`` + col2im; col2im's kh*kw strided read-add-writes of
    the padded input gradient (the larger part of dX on CPU) become one im2col copy of gy.
    """
    xp = backend.get_array_module(gy)
    cg, og = g.c // g.groups, g.o // g.groups
    wf = w.reshape(g.groups, og, cg, g.kh, g.kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    wf = xp.ascontiguousarray(wf).reshape(g.c, og, g.kh, g.kw)
    (pt, pb), (pl, pr) = g.pads
    full_h, full_w = g.dilation[0] * (g.kh - 1), g.dilation[1] * (g.kw - 1)
    pads = ((full_h - pt, full_h - pb), (full_w - pl, full_w - pr))
    return conv2d_im2col(gy, wf, None, 1, pads, g.dilation, g.groups)


def _dx_batch_last(gy: Any, w: Any, g: Geometry) -> Any:
    """dX of a strided convolution whose forward and dW are image-major: gy (N, O, OH*OW)
    transposed batch-last (a copy 1/(kh*kw) the size of the columns), ``dcols = W^T @ gy`` per
    group into the workspace, and the batch-last col2im, which accumulates on stride phases
    in long rows (:func:`minicnn.kernels.im2col.col2im`). Measured (1 thread, CPU time), col2im
    alone, image-major -> batch-last: (4, 32, 64, 64) 3x3/2 1.65 -> 1.21 ms, (4, 400, 8, 8)
    0.84 -> 0.45 ms (RegNet's grouped ones)."""
    xp = backend.get_array_module(gy)
    og, p = g.o // g.groups, g.oh * g.ow
    gyt = xp.ascontiguousarray(gy.transpose(1, 2, 0)).reshape(g.groups, og, p * g.n)
    wt = w.reshape(g.groups, og, g.ck).transpose(0, 2, 1)  # (groups, C/g*kh*kw, O/g)
    buf = _workspace(xp, g.groups * g.ck * p * g.n, gy.dtype).reshape(g.groups, g.ck, p * g.n)
    dcols = xp.matmul(wt, gyt, out=buf)
    return col2im(dcols, (g.n, g.c, g.h, g.w), g.kernel, g.stride, g.pads, g.dilation, batch_last=True)


# -- choosing and dispatching ------------------------------------------------------------


def choose_algo(
    x_shape: tuple,
    w_shape: tuple,
    groups: int = 1,
    stride: Any = 1,
    dilation: Any = 1,
    on_gpu: bool = False,
    itemsize: int = 4,
) -> str:
    """``"depthwise"`` when every input channel is its own group (groups == C > 1); on the CPU
    ``"winograd"`` for wide 3x3 stride-1 layers on large maps (:func:`_winograd_pays`) in float32
    or float64 (``itemsize`` >= 4: float16's error through the transforms is several times
    im2col's); else ``"im2col"``. (``"direct"`` is never the fastest; it is there to be read and
    compared.)"""
    c, o = x_shape[1], w_shape[0]
    if groups == c > 1 and o % c == 0:
        return "depthwise"
    if (
        not on_gpu
        and itemsize >= 4
        and _winograd_pays(x_shape, w_shape)
        and supports(w_shape, stride, dilation, groups) is None
    ):
        return "winograd"
    return "im2col"


def _winograd_pays(x_shape: tuple, w_shape: tuple) -> bool:
    """Whether F(2x2, 3x3) beats im2col (CPU, 1 thread, forward + backward, CPU time): at least 256
    input and output channels on maps of at least 14x14, 128 on maps of at least 16x16, or 64 on
    maps of at least 32x32. Its GEMMs do 4/9 of im2col's flops, but its transforms cost O(C + O)
    elementwise passes per pixel and its filter transform O*C*16 per call. Measured (Winograd /
    im2col, medians of 5 alternating runs): (4, 64, 32, 32) -> 64 0.83-0.89 (ResNet-18's layer1),
    (4, 64, 64, 64) -> 128 0.90, (32, 64, 56, 56) -> 64 0.94 (VGG), (4, 128, 16, 16) -> 128 0.87-0.90,
    (16, 128, 28, 28) -> 128 0.90, (4, 128, 32, 32) -> 256 0.82, (16, 256, 14, 14) -> 256 0.87,
    (4, 512, 16, 16) -> 512 0.81; not taken: (4, 64, 16, 16) 0.99-1.05, (16, 64, 28, 28) 1.09,
    (4, 128, 14, 14) 1.00, (4, 128, 12, 12) 1.05, (4, 32, 32, 32) 0.96 (too close to call), 8x8 maps
    ((4, 256, 8, 8) 1.4-1.7)."""
    channels, side = min(x_shape[1], w_shape[0]), min(x_shape[2:])
    return (channels >= 256 and side >= 14) or (channels >= 128 and side >= 16) or (channels >= 64 and side >= 32)


def _resolve_algo(
    algo: str,
    x_shape: tuple,
    w_shape: tuple,
    groups: int,
    stride: Any = 1,
    dilation: Any = 1,
    on_gpu: bool = False,
    itemsize: int = 4,
) -> str:
    if algo not in ALGOS:
        raise ValueError(f"conv2d: algo must be one of {ALGOS}, got {algo!r}")
    if algo == "auto":
        return choose_algo(x_shape, w_shape, groups, stride, dilation, on_gpu, itemsize)
    if algo == "depthwise" and not (groups == x_shape[1] and w_shape[0] % groups == 0):
        raise ValueError(f"conv2d: algo='depthwise' needs groups == input channels ({x_shape[1]}), got groups={groups}")
    if algo == "winograd" and (unfit := supports(w_shape, stride, dilation, groups)) is not None:
        raise ValueError(f"conv2d: algo='winograd' (F(2x2, 3x3)) needs {unfit}")
    return algo


def conv2d_forward(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    algo: str = "auto",
    ctx: dict | None = None,
) -> Any:
    """y = conv2d(x, w) + b with the chosen algorithm; see the module docstring. ``ctx``: a dict
    in which a kernel may leave intermediates for :func:`conv2d_backward` (pass the same one)."""
    algo = _resolve_algo(algo, x.shape, w.shape, groups, stride, dilation, backend.is_cupy_array(x), x.itemsize)
    if algo == "im2col":
        return conv2d_im2col(x, w, b, stride, padding, dilation, groups, ctx=ctx)
    if algo == "winograd":
        return conv2d_winograd(x, w, b, geometry(x.shape, w.shape, stride, padding, dilation, groups).pads, ctx)
    if algo == "depthwise":
        return conv2d_depthwise(x, w, b, stride, padding, dilation, groups, ctx)
    return conv2d_direct(x, w, b, stride, padding, dilation, groups)


def conv2d_backward(
    gy: Any,
    x: Any,
    w: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    algo: str = "auto",
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
    ctx: dict | None = None,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) for ``gy`` = dL/dy; entries not asked for are None."""
    algo = _resolve_algo(algo, x.shape, w.shape, groups, stride, dilation, backend.is_cupy_array(x), x.itemsize)
    if algo == "im2col":
        return conv2d_im2col_backward(gy, x, w, stride, padding, dilation, groups, need_dx, need_dw, need_db, ctx=ctx)
    if algo == "winograd":
        pads = geometry(x.shape, w.shape, stride, padding, dilation, groups).pads
        return conv2d_winograd_backward(gy, x, w, pads, need_dx, need_dw, need_db, ctx)
    if algo == "depthwise":
        return conv2d_depthwise_backward(gy, x, w, stride, padding, dilation, groups, need_dx, need_dw, need_db, ctx)
    return conv2d_direct_backward(gy, x, w, stride, padding, dilation, groups, need_dx, need_dw, need_db)
