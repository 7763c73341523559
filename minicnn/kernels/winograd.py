"""3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2015).

What it computes: the same ``y[n, o] = b[o] + sum_c w[o, c] * x[n, c]`` (cross-correlation, 3x3
kernel, stride 1, dilation 1, groups 1, any zero padding) as :mod:`minicnn.kernels.conv`, with
fewer multiplications.

The method. One output tile of 2x2 pixels needs a 4x4 input tile ``d`` (the 2x2 outputs' 3x3
windows overlap). For one (input channel, output channel) pair, direct correlation spends
2*2*9 = 36 multiplies on it; Winograd spends 16::

    Y (2x2) = A^T [ (G g G^T) * (B^T d B) ] A         (* elementwise, over a 4x4 tile)

    B^T = [[1,  0, -1,  0],     G = [[1,    0,   0],     A^T = [[1, 1,  1,  0],
           [0,  1,  1,  0],          [1/2, 1/2, 1/2],           [0, 1, -1, -1]]
           [0, -1,  1,  0],          [1/2,-1/2, 1/2],
           [0,  1,  0, -1]]          [0,    0,   1]]

``U = G g G^T`` (filter transform, once per weight: (O, C, 3, 3) -> 16 x (O, C)), ``V = B^T d B``
(input transform: additions only), and since the 4x4 product is elementwise, the sum over input
channels is 16 independent GEMMs, one per tile position (a, b):
``M[a, b] = U[a, b] (O, C) @ V[a, b] (C, tiles)``; the output transform ``A^T M A`` (additions
only) turns each 4x4 of M into a 2x2 output tile.

Tile layout: the input is padded once (with one more zero row / column at the bottom / right
when OH or OW is odd); tile (i, j) starts at padded pixel (2i, 2j), so the tiles overlap by two
rows and columns: ``TH = ceil(OH / 2)``, ``TW = ceil(OW / 2)``. The padded input is first split
by row and column parity (:func:`split_phases`), so that every tile offset is a plain shift of
contiguous rows. The split input is phase-major and flat: per phase, the (channel, image) planes
of (TH + 1) x (TW + 1) one after another, so a tile offset is a shift of the whole chunk and each
transform line is ONE elementwise pass over all channels and images; every plane's last tile
row and column are garbage (they read the next row or plane), never written out. V is
(4, 4, C, n, S), ``S = (TH + 1)*(TW + 1)``, the GEMMs are (O, C) @ (C, n*S), one per tile
position, M is (4, 4, O, n, S), and the output transform is one product (4, 16) @ (16, O*n*S)
(on the CPU in column blocks small enough for OpenBLAS's unpacked kernel, :data:`BLOCK_COLUMNS`)
followed by four strided copies into y (an odd map's last tile drops its extra row / column there).

Backward. dX is the full correlation of gy with the 180-degree-rotated, channel-transposed
filter ``w'[c, o] = w[o, c, ::-1, ::-1]``, with padding ``2 - p`` per side (a cropped gy where
p > 2): the same Winograd forward. dW is the gradient of the Winograd formula itself:
``dM = A gy A^T`` per tile (zero where the odd tile's extra row / column lies, and in the
garbage tiles), ``dU[a, b] = dM[a, b] (O, tiles) @ V[a, b]^T (tiles, C)`` (V as kept, no copy) -- 16 GEMMs over the
chunk's tiles, summed over the chunks -- and ``dW = G^T dU G``. V of a small layer is kept from
the forward (:data:`KEEP_BYTES`), saving dW the input transform. db sums gy.

Cost against im2col (per output pixel, per (O, C) pair): im2col's GEMM does 9 multiply-adds,
Winograd's 16 / 4 = 4 (times S / (TH*TW) for the garbage tiles), so about 2x fewer GEMM flops
in forward, dX and dW. The transforms add 20 elementwise passes of ``n*C*S`` (input) and a
(4, 16) product over M (output) per chunk -- independent of O resp. C -- and the filter
transform a (16, 9) @ (9, O*C) product per call: negligible for wide layers on large maps,
dominant for narrow layers and tiny maps (those stay on im2col, see
:func:`minicnn.kernels.conv.choose_algo`). Memory: V holds 16 values per 4 output pixels per
channel, 4x the input (im2col's columns are 9x), M 4x the output; both live in one workspace per
chunk of images (:data:`CHUNK_BYTES` on CPU, the im2col budget on a GPU, at least one image).

Rounding: the transforms mix up to 16 values (weights +-1, 1/2, 1/4) around the products, so the
float32 error is a small factor above im2col's. Measured, max abs error / max abs value against
float64, float32 inputs, 3x3 with padding 1 (im2col in brackets): (2, 256, 16, 16) -> 256:
y 6.7e-7 (5.7e-7), dX 8.6e-7 (5.9e-7), dW 7.7e-7 (4.7e-7); (1, 512, 8, 8) -> 512: 5.2e-7
(4.4e-7), 7.5e-7 (3.5e-7), 3.1e-7 (3.1e-7). Elementwise, dW entries that nearly cancel show
the difference most: against torch's float32 result with the test tolerance (rtol 1e-4,
atol 1e-5), (2, 256, 16, 16) -> 256 has 296 of 590k dW entries outside (im2col 28, torch's own
float32 against float64 44); y and dX none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .conv_shapes import padding_pairs, pair

# CPU: the images of one chunk have V and M (and the row pass) in this many bytes; a chunk of the
# VGG case (64 channels, 56x56) then holds a few images (GEMMs of some 1000s of tiles).
CHUNK_BYTES = 16 * 2**20
# V of at most this many bytes is kept from the forward for dW (on a GPU: the larger limit), as
# conv.py keeps small column matrices: its input transform is about a third of dW's work.
KEEP_BYTES = 16 * 2**20
GPU_KEEP_BYTES = 32 * 2**20
# CPU: the (4, 16) and (16, 4) products of the output transform and of dW run on column blocks of this
# many values, which these memory-bound products run about twice as fast as one call: float32, 1 thread,
# medians of 31, on the (4, 64, 32, 32) layer's 74k columns 0.65 / 0.52 -> 0.30 / 0.32 ms; 557k columns
# 6.9 / 7.7 -> 4.4 / 5.4. Blocks of 15000 were alike, of 16000 as slow as one call: the step lies at
# M*N*K = 100^3, where OpenBLAS (0.3.31, SkylakeX here) stops using its small-matrix kernel, which does
# not pack the operands. (The input transform's additions, blocked alike, were slower: 32 more NumPy
# calls per block.)
BLOCK_COLUMNS = 8192

_BT = ((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1))
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))
_AT = ((1, 1, 1, 0), (0, 1, -1, -1))


def supports(w_shape: tuple, stride: Any, dilation: Any, groups: int) -> str | None:
    """None where Winograd F(2x2, 3x3) applies (3x3 kernel, stride 1, dilation 1, groups 1), else
    what does not fit (for an error message)."""
    if groups != 1:
        return f"groups=1, got groups={groups}"
    if tuple(w_shape[2:]) != (3, 3):
        return f"a 3x3 kernel, got {tuple(w_shape[2:])}"
    if pair(stride) != (1, 1):
        return f"stride 1, got stride={stride}"
    if pair(dilation) != (1, 1):
        return f"dilation 1, got dilation={dilation}"
    return None


# -- the three transforms (additions only; each line is one pass over long contiguous rows) -------


def _bt(d: list, out: list, xp: Any) -> None:
    """out = B^T d for four rows d0..d3: (d0 - d2, d1 + d2, d2 - d1, d1 - d3)."""
    d0, d1, d2, d3 = d
    xp.subtract(d0, d2, out=out[0])
    xp.add(d1, d2, out=out[1])
    xp.subtract(d2, d1, out=out[2])
    xp.subtract(d1, d3, out=out[3])


def _at(m: list, out: list, xp: Any) -> None:
    """out = A^T m for four rows m0..m3: (m0 + m1 + m2, m1 - m2 - m3)."""
    m0, m1, m2, m3 = m
    xp.add(m0, m1, out=out[0])
    out[0] += m2
    xp.subtract(m1, m2, out=out[1])
    out[1] -= m3


def _kron_g(xp: Any, dtype: Any) -> Any:
    """K (16, 9) with ``K[a*4 + b, i*3 + j] = G[a, i] * G[b, j]``: ``vec(G g G^T) = K vec(g)``."""
    g = np.asarray(_G)
    return xp.asarray(np.einsum("ai,bj->abij", g, g).reshape(16, 9), dtype=dtype)


def filter_transform(w: Any) -> Any:
    """U = G g G^T for every (o, c): w (O, C, 3, 3) -> (16, O, C) (tile position a*4 + b first),
    as one GEMM (16, 9) @ (9, O*C)."""
    xp = backend.get_array_module(w)
    o, c = w.shape[:2]
    return xp.matmul(_kron_g(xp, w.dtype), w.reshape(o * c, 9).T).reshape(16, o, c)


# Tiles are stored in "wide rows": TH + 1 rows of TW + 1 tiles per (channel, image) plane, the last
# tile of each row and the last row garbage (they mix a row's end with the next row's start, a
# plane's end with the next plane's). Every tile offset is then a plain shift of one flat array of
# n*C*(TH + 1)*(TW + 1) values, so each transform line is one long contiguous pass (NumPy's inner
# loops over rows only TW long were 2-3x slower; over one plane's TH*(TW + 1), as before, the
# input transform of (4, 64, 32, 32) took 1.24 ms, flat 0.79). The garbage tiles cost
# S / (TH*TW) - 1 more GEMM work and are never written to y (in dW their dM is zero).


def split_phases(x: Any, pads: tuple, th: int, tw: int, out: Any) -> None:
    """The zero-padded input, split by row and column parity: x (n, C, H, W), pads
    ((top, bottom), (left, right)) non-negative with H + top + bottom = 2*TH + 2 (W alike) ->
    out (2, 2, n*C*(TH + 1)*(TW + 1) + TW + 2), phase-major and flat,
    ``out[p, q, ((c*n + i)*(TH + 1) + k)*(TW + 1) + l] = xpad[i, c, 2k + p, 2l + q]`` (channel-major planes), zero
    past the planes."""
    (pt, _), (pl, _) = pads
    n, c, h, w = x.shape
    out[...] = 0
    grid = out[:, :, : n * c * (th + 1) * (tw + 1)].reshape(2, 2, c, n, th + 1, tw + 1)
    for p in range(2):
        r0 = (p - pt) % 2  # the first input row of row parity p
        kr, nr = (r0 + pt) // 2, len(range(r0, h, 2))
        for q in range(2):
            c0 = (q - pl) % 2
            kc, nc = (c0 + pl) // 2, len(range(c0, w, 2))
            grid[p, q, :, :, kr : kr + nr, kc : kc + nc] = x[:, :, r0::2, c0::2].transpose(1, 0, 2, 3)


def input_transform(d: Any, th: int, tw: int, v: Any, t: Any) -> None:
    """V = B^T d B for every 4x4 tile: d (2, 2, F + TW + 2) from :func:`split_phases`, F = n*C*(TH + 1)*(TW + 1)
    -> v (4, 4, F) (the planes' tiles in wide rows, one garbage row and column per plane); t (4, 2, F + 1)
    is scratch for the row pass. Tile row i reads padded row 2k + i: phase i % 2, shifted by i // 2
    rows; every line is one pass over the whole chunk (rows of F values)."""
    xp = backend.get_array_module(d)
    w1 = tw + 1
    f = v.shape[-1]
    _bt([d[i % 2, :, (i // 2) * w1 : (i // 2) * w1 + f + 1] for i in range(4)], list(t), xp)
    for a in range(4):  # tile column j: phase j % 2, shifted by j // 2 columns
        _bt([t[a][j % 2, j // 2 : j // 2 + f] for j in range(4)], list(v[a]), xp)


def _matmul_blocks(k: Any, a: Any, out: Any, xp: Any) -> None:
    """out = k @ a for a small constant k (r, q) and a (q, L), out (r, L): on the CPU in column blocks
    of :data:`BLOCK_COLUMNS`, which OpenBLAS runs about twice as fast as one (r, q) @ (q, L) call
    (a GPU: one call)."""
    size = a.shape[1]
    step = size if xp is not np else BLOCK_COLUMNS
    for s in range(0, size, max(1, step)):
        xp.matmul(k, a[:, s : s + step], out=out[:, s : s + step])


def _kron_a(xp: Any, dtype: Any) -> Any:
    """K (4, 16) with ``K[r*2 + s, a*4 + b] = A[a, r] * A[b, s]``: ``vec(A^T m A) = K vec(m)``."""
    at = np.asarray(_AT)
    return xp.asarray(np.einsum("ra,sb->rsab", at, at).reshape(4, 16), dtype=dtype)


def _output_transform(m: Any, y: Any, scratch: Any, th: int, tw: int, xp: Any) -> None:
    """y (n, O, OH, OW) = A^T M A per tile, M (4, 4, O, n, (TH + 1)*(TW + 1)) in wide rows; the
    garbage tiles, and the extra row / column of an odd output's last tile, are not written.
    ``scratch``: at least 4*O*n*(TH + 1)*(TW + 1) free elements.

    All 16 -> 4 combinations at once as one product (4, 16) @ (16, O*n*(TH + 1)*(TW + 1)): a single
    read of M (memory-bound), against some 24 elementwise passes."""
    o, n, size = m.shape[2:]
    oh, ow = y.shape[2:]
    outs = scratch[: 4 * o * n * size].reshape(4, o * n * size)
    _matmul_blocks(_kron_a(xp, m.dtype), m.reshape(16, -1), outs, xp)
    outs = outs.reshape(2, 2, o, n, th + 1, tw + 1)
    for r in range(2):
        rr = (oh - r + 1) // 2  # output rows r, r + 2, ...: an odd map's last tile has no second row
        for s in range(2):
            cc = (ow - s + 1) // 2
            if rr and cc:
                y[:, :, r::2, s::2] = outs[r, s, :, :, :rr, :cc].transpose(1, 0, 2, 3)


# -- workspace and chunks ---------------------------------------------------------------------


def _tiles(oh: int, ow: int) -> tuple[int, int]:
    return (oh + 1) // 2, (ow + 1) // 2


def _layout(c: int, o: int, th: int, tw: int) -> tuple[int, int]:
    """Workspace elements per image: (front, back). The front holds V (16*C*S, S = (TH + 1)*(TW + 1)),
    the split input (4*(C*S + TW + 2)) and the row pass (8*(C*S + 1)) -- the tails of one
    chunk counted once per image -- later the output transform's scratch (4*O*S); the back holds
    M (16*O*S)."""
    size = (th + 1) * (tw + 1)
    return max(16 * c * size + 4 * (c * size + tw + 2) + 8 * (c * size + 1), 4 * o * size), 16 * o * size


def _budget() -> int:
    """The im2col budget (:func:`minicnn.kernels.conv.set_im2col_budget`), which caps this kernel's
    workspace too."""
    from .conv import get_im2col_budget

    return get_im2col_budget()


def _chunks(xp: Any, n: int, bytes_per_image: int):
    """(start, stop) ranges of images whose workspace fits CHUNK_BYTES (CPU) or the im2col budget
    (:func:`minicnn.kernels.conv._chunks`)."""
    from .conv import _chunks as conv_chunks

    return conv_chunks(xp, n, bytes_per_image, CHUNK_BYTES)


def _workspace(xp: Any, size: int, dtype: Any) -> Any:
    """The im2col convolution's per-thread scratch (:func:`minicnn.kernels.conv._workspace`)."""
    from .conv import _workspace as conv_workspace

    return conv_workspace(xp, size, dtype)


def _transformed_input(x: Any, pads: tuple, th: int, tw: int, front: Any, v: Any = None) -> Any:
    """V (4, 4, C, n, (TH + 1)*(TW + 1)) of x (n, C, H, W) padded by ``pads`` (negative amounts crop),
    in ``v`` if given, else at the start of ``front`` (followed there by the split input and the
    row pass)."""
    (pt, pb), (pl, pr) = pads
    x = x[:, :, max(0, -pt) : x.shape[2] - max(0, -pb), max(0, -pl) : x.shape[3] - max(0, -pr)]
    n, c = x.shape[:2]
    f = n * c * (th + 1) * (tw + 1)
    sizes = (16 * f, 4 * (f + tw + 2), 8 * (f + 1))
    if v is None:
        v = front[: sizes[0]].reshape(4, 4, c, n, (th + 1) * (tw + 1))
    d = front[sizes[0] : sizes[0] + sizes[1]].reshape(2, 2, f + tw + 2)
    t = front[sizes[0] + sizes[1] : sum(sizes)].reshape(4, 2, f + 1)
    split_phases(x, ((max(0, pt), max(0, pb)), (max(0, pl), max(0, pr))), th, tw, d)
    input_transform(d, th, tw, v.reshape(4, 4, f), t)
    return v


# -- forward and backward ---------------------------------------------------------------------


def conv2d_winograd(x: Any, w: Any, b: Any = None, padding: Any = 0, ctx: dict | None = None) -> Any:
    """y = conv2d(x, w, b, stride=1, padding) by F(2x2, 3x3): x (N, C, H, W), w (O, C, 3, 3),
    b (O,) or None, padding as :func:`minicnn.kernels.conv_shapes.padding_pairs` takes it (an int,
    a pair, or ((top, bottom), (left, right)); negative amounts crop) -> y (N, O, OH, OW).

    Per chunk of images: split the padded input by parity, input transform into V, 16 GEMMs
    (O, C) @ (C, n*(TH + 1)*(TW + 1)), output transform into y. Flops: 2*N*O*C*16*(TH + 1)*(TW + 1) in
    the GEMMs (about 4/9 of im2col's, times the garbage tiles' share) plus the transforms (O(N*(C + O)*H*W)).
    ``ctx``: a dict for :func:`conv2d_winograd_backward`; a V of at most ``KEEP_BYTES``
    (``GPU_KEEP_BYTES``) is kept there (one chunk, a fresh array), saving dW its input transform.
    """
    xp = backend.get_array_module(x)
    (pt, pb), (pl, pr) = padding_pairs(padding)
    n_img, c, h, wd = x.shape
    o = w.shape[0]
    oh, ow = h + pt + pb - 2, wd + pl + pr - 2
    y = xp.empty((n_img, o, max(oh, 0), max(ow, 0)), dtype=x.dtype)
    if y.size == 0:
        return y
    if c == 0:
        y[...] = 0 if b is None else b[:, None, None]
        return y
    th, tw = _tiles(oh, ow)
    pads = ((pt, pb + 2 * th - oh), (pl, pr + 2 * tw - ow))  # one more zero row / column for an odd output
    u = filter_transform(w)
    front, back = _layout(c, o, th, tw)
    size = (th + 1) * (tw + 1)
    keep = ctx is not None and 16 * c * n_img * size * x.itemsize <= (KEEP_BYTES if xp is np else GPU_KEEP_BYTES)
    keep = keep and n_img * (front + back) * x.itemsize <= _budget()  # kept: one chunk, its workspace bounded too
    for n0, n1 in [(0, n_img)] if keep else _chunks(xp, n_img, (front + back) * x.itemsize):
        n = n1 - n0
        buf = _workspace(xp, n * (front + back), x.dtype)
        kept = xp.empty((4, 4, c, n, size), dtype=x.dtype) if keep else None
        v = _transformed_input(x[n0:n1], pads, th, tw, buf[: n * front], kept)
        if keep:
            ctx["winograd_v"] = v
        m = buf[n * front :].reshape(16, o, n * size)
        xp.matmul(u, v.reshape(16, c, n * size), out=m)
        _output_transform(m.reshape(4, 4, o, n, size), y[n0:n1], buf[: n * front], th, tw, xp)
        if b is not None:
            y[n0:n1] += b[:, None, None]
    return y


def conv2d_winograd_backward(
    gy: Any,
    x: Any,
    w: Any,
    padding: Any = 0,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
    ctx: dict | None = None,
) -> tuple[Any, Any, Any]:
    """Gradients of :func:`conv2d_winograd`: gy (N, O, OH, OW), x (N, C, H, W), w (O, C, 3, 3)
    -> (dx, dw, db), None where not asked for.

    dx: :func:`conv2d_winograd` of gy with w' = w transposed (C, O) and rotated 180 degrees,
    padding 2 - p per side. dw: per chunk, V of x again, dM = A gy A^T per tile, dU += dM @ V^T
    (16 GEMMs over the chunk's tiles), then dW = G^T dU G. Flops: each of dx and dw about 4/9 of
    im2col's GEMM. ``ctx``: the forward's (its kept V, if any, is used for dw).
    """
    xp = backend.get_array_module(gy)
    (pt, pb), (pl, pr) = padding_pairs(padding)
    gb = gy.sum(axis=(0, 2, 3)) if need_db else None
    dx = dw = None
    if need_dx:
        wf = xp.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
        dx = conv2d_winograd(gy, wf, None, ((2 - pt, 2 - pb), (2 - pl, 2 - pr)))
    if need_dw:
        dw = _weight_grad(gy, x, w.shape, ((pt, pb), (pl, pr)), xp, (ctx or {}).get("winograd_v"))
    return dx, dw, gb


def _weight_grad(gy: Any, x: Any, w_shape: tuple, pads: tuple, xp: Any, kept: Any = None) -> Any:
    """dW (O, C, 3, 3) = G^T (sum over tiles of (A gy A^T) * V) G; ``kept``: the forward's V of
    all images, if it kept it."""
    (pt, pb), (pl, pr) = pads
    n_img, o, oh, ow = gy.shape
    c = x.shape[1]
    if n_img == 0 or c == 0 or oh <= 0 or ow <= 0:
        return xp.zeros(w_shape, dtype=gy.dtype)
    th, tw = _tiles(oh, ow)
    xpads = ((pt, pb + 2 * th - oh), (pl, pr + 2 * tw - ow))
    du = None
    front, back = _layout(c, o, th, tw)
    size = (th + 1) * (tw + 1)
    per_image = front + back + 4 * o * size
    for n0, n1 in [(0, n_img)] if kept is not None else _chunks(xp, n_img, per_image * gy.itemsize):
        n = n1 - n0
        buf = _workspace(xp, n * per_image, gy.dtype)
        v = kept if kept is not None else _transformed_input(x[n0:n1], xpads, th, tw, buf[: n * front])
        dm = buf[n * front : n * (front + back)].reshape(16, o, n * size)
        # gy split by parity into wide rows (zero in the garbage tiles, the planes' extra row and an odd map's
        # extra row / column), channel-major like V
        g = buf[n * (front + back) : n * (front + back + 4 * o * size)].reshape(2, 2, o, n, th + 1, tw + 1)
        g[...] = 0
        for r in range(2):
            for s in range(2):
                phase = gy[n0:n1, :, r::2, s::2]
                g[r, s, :, :, : phase.shape[2], : phase.shape[3]] = phase.transpose(1, 0, 2, 3)
        # dM = A g A^T per tile: vec(dM) = K_A^T vec(g), one product (16, 4) @ (4, O*n*L)
        _matmul_blocks(_kron_a(xp, gy.dtype).T, g.reshape(4, -1), dm.reshape(16, -1), xp)  # (16, O, n*L)
        # one product per tile position over all the chunk's tiles: (O, n*L) @ (n*L, C)
        part = xp.matmul(dm, v.reshape(16, c, n * size).transpose(0, 2, 1))
        du = part if du is None else xp.add(du, part, out=du)
    # dW = G^T dU G per (o, c), i.e. K^T vec(dU): one GEMM (O*C, 16) @ (16, 9)
    return xp.matmul(du.reshape(16, o * c).T, _kron_g(xp, gy.dtype)).reshape(w_shape)
