"""Depthwise convolution (groups == C): every channel is filtered on its own.

Shapes: x (N, C, H, W), weight (C*m, 1, kh, kw) with channel multiplier m (usually 1),
bias (C*m,) -> y (N, C*m, OH, OW); output channel c*m + k is input channel c filtered by
weight[c*m + k]. OH and OW as for any convolution (see :mod:`minicnn.kernels.conv_shapes`).

Each output sums only kh*kw products, so an im2col GEMM would have an inner dimension of
kh*kw (9): too short for BLAS, and its column matrix would be kh*kw times the input. This
kernel never builds columns. It loops over the kernel taps (i, j) and, for all images,
channels and pixels at once::

    forward   y          += x_ij * w[:, i, j]                 (per channel)
    dW        dw[:, i, j] = sum over images and pixels of gy * x_ij
    dX        dx_ij      += gy * w[:, i, j]

where ``x_ij`` is the part of the padded input that tap (i, j) multiplies -- one input pixel
per output pixel, a shifted (and, for stride > 1, strided) slice. Cost: N*C*m*OH*OW*kh*kw
multiply-adds each way, 1/(C/groups) of a dense convolution's. Extra memory: cache-sized
scratch blocks only.

Tricks that make the NumPy loops fast (the plane path):

* Cache blocking: images x channels form one stack of 2-d planes, processed in blocks of
  about ``BLOCK_BYTES / BLOCK_SHRINK`` = 1 MiB (:func:`minicnn.kernels.im2col.plane_blocks`).
  A block is padded into a small reused buffer and all kh*kw taps pass over it while it sits
  in the CPU cache (a loop over memory blocks, not over images or pixels; a GPU gets one
  block). The block, its kh*kw-tap stack and its output must stay in L2: with im2col's 4 MiB
  they did not (MobileNet v2's plane layers, 1 thread, CPU time, medians of 7 alternating
  rounds under load, forward / dX / dW ms, 4 -> 1 MiB: (4, 144, 32, 32) 4.8 / 3.9 / 2.7 ->
  2.8 / 2.8 / 2.2; (4, 32, 64, 64) 3.8 / 3.3 / 2.3 -> 2.2 / 2.2 / 1.7; (4, 96, 64, 64)
  stride 2 5.2 / 9.0 / 3.9 -> 3.5 / 8.6 / 3.4; 2 and 0.5 MiB were slower than 1).
* Flat planes: NumPy pays per row, and a 56-wide row is short. Stored as one long row of
  Hp*Wp values, a padded plane turns every stride-1 tap into ONE contiguous run: output
  (oh, ow) sits at flat position oh*Wp + ow, and tap (i, j) reads the run that starts at
  i*dilation_h*Wp + j*dilation_w. The price: each output row is computed Wp wide, and its
  last Wp-OW values (which wrap around into the next row) are garbage and dropped -- about
  (kw-1)/OW extra work. In backward the garbage columns of gy are set to zero, so they add
  nothing.
* Stride phases (stride > 1): a strided tap would read every sh-th row and sw-th column, a
  2-d strided slice that NumPy walks row by row without SIMD. The padded plane is instead
  stored as its sh*sw phases xpad[a::sh, b::sw] (:class:`_Planes`), each flat as above, and
  every tap reads one contiguous run of one phase. The split is one strided copy per phase
  when the block is filled (dX: the inverse copy at the end), in place of the padding copy.
* dX as a forward (stride 1, m = 1): dX is then gy, padded by d*(k-1) - pad, correlated with
  the flipped kernel -- the forward loop, which adds into an aligned accumulator, instead of
  adding each tap's product into a shifted run of dx (the scatter form, kept for m > 1).
  Other m = 1 cases (stride > 1, padding beyond d*(k-1)) gather per stride phase: the taps'
  runs stacked and summed by one matmul, each phase of dx written once
  (:func:`_dx_planes_gather`; (4, 96, 64, 64) stride 2: 8.1 -> 6.0 ms; see shared offsets below).
* Taps stacked, one matmul (forward, and so dX as a forward): the kh*kw tap runs of a block
  are copied into a (planes, kh*kw, OH*Wq) stack and one batched product with the
  (planes, m, kh*kw) weights sums them -- instead of a multiply and an add through a
  temporary per tap (:func:`_conv2d_planes`; (4, 144, 32, 32) forward 2.8 -> 1.6 ms). MobileNet
  v2's 17 depthwise layers at batch 4, 128x128, forward + dX + dW (1 thread, CPU time, best of 9,
  old and new alternating): 49.4 -> 42.7 ms, torch 23.4. (A scatter dX with all taps'
  products made by one broadcast multiply or one matmul measured no faster, and slower.)
* dW by dot products: each tap's dW is a dot product per plane of gy and the tap's run,
  ``vecdot`` (BLAS, NumPy 2) or one ``einsum``: the products are never written out.
* Kernel rows (stride 1, outputs at least ``ROWS_MIN_WIDTH`` = 56 wide, so also dX as a
  forward): a tap's run starts at a row offset plus a column offset, so only the kw
  column-shifted runs are copied, one matmul gives each kernel row's partial sums and kh - 1
  shifted adds finish (:func:`_conv2d_planes_rows`; (4, 32, 64, 64) forward and dX 2.0 -> 1.7 ms).
* In the stride-phase dX, a phase that only one tap reads (3x3, stride 2: phase (1, 1)) is a
  product, not a one-term matmul, which NumPy runs several times slower ((4, 96, 64, 64)/2 dX
  5.0 -> 4.4 ms, (4, 144, 32, 32)/2 2.0 -> 1.7). Superseded by:
* Shared offsets (stride > 1, m = 1). Tap (i, j) reads its phase from offset ri*Wq + cj, and
  the taps of different phases share offsets (3x3/2: 4 offsets for 9 taps, 5x5/2: 9 for 25).
  Strided dX stacks each offset's gy run once, and one batched matmul with (planes, phases,
  offsets) weights (0 where no tap) writes every phase of the padded dx: one product per
  block in place of one per phase, 4 runs copied in place of 8 (:func:`_dx_planes_gather`).
  The forward, where offsets are few (5x5/2), takes the phases as a (phases, phase_size) matrix
  as they lie (no copy), one matmul gives per offset the weighted sum of the phases, and the
  offsets' runs of that are summed (:func:`_conv2d_planes_shared`). Measured (1 thread, CPU
  time, min of 21 alternating, under load; ms, before -> after, torch): dX (4, 96, 64, 64)/2
  3.58 -> 2.26, 1.77; (4, 144, 32, 32)/2 1.75 -> 1.20, 0.66; (4, 144, 32, 32) 5x5/2
  3.29 -> 1.58, 0.78; forward of the 5x5/2 2.23 -> 1.94, 0.69 (3x3/2: even, so not taken).
* Column pairs for dW (column stride 2). The phase split is one strided copy per phase, and
  NumPy pays per row of it: 2*sh half rows per input row, not SIMD. dW instead fills row
  phases with whole rows (:class:`_Pairs`) and reads two adjacent columns as one complex
  number: tap (i, j) is the real or imaginary part of a run of pairs, and one complex dot
  product per run of gy (imaginary part 0) gives both taps that share it (3x3: 6 dots for 9
  taps; :func:`_dw_pairs`). dW (4, 96, 64, 64)/2 1.98 -> 1.70 ms (torch 1.24), (4, 144, 32, 32)/2
  1.12 -> 0.93 (0.59). (The same layout for the forward, a complex matmul over the pair runs,
  and for dX, complex gather and whole-row crop, measured slower: the stacks are twice the
  values and complex products with a few terms run slowly in BLAS.)

Measured under load (2 cores shared with 6 other jobs; 1 BLAS thread, float32, medians of
15-21 alternating rounds in one process; ms forward / dX / dW, before -> after phases,
dX-as-forward and dot products):

    (4, 32, 64, 64)   s1   1.27 / 1.44 / 1.40  ->  1.27 / 1.25 / 0.82
    (4, 96, 64, 64)   s2   3.49 / 4.77 / 2.72  ->  2.78 / 3.42 / 1.46
    (4, 144, 32, 32)  s1   2.75 / 3.65 / 1.64  ->  2.81 / 2.68 / 1.05
    (4, 144, 32, 32)  s2   1.52 / 1.89 / 1.20  ->  1.12 / 1.43 / 0.71
    (4, 192, 16, 16)  s1   1.08 / 1.39 / 0.60  ->  1.07 / 1.12 / 0.47
    (32, 128, 56, 56) s1   fwd+bwd 247 -> 177 (the kernel benchmark case: about 40 cache blocks)

Small maps: the channels-last path
----------------------------------

The plane path's tricks pay per plane: on an 8x8 or 4x4 map a plane is a few dozen values, and NumPy's
per-row and per-plane overhead, not arithmetic, is the cost (MobileNet v2, batch 4, 128x128:
its 17 depthwise layers took 65 ms of a 158 ms training step, 2.8x torch's 22 ms). For small
outputs the kernel therefore moves the channels to the last axis instead
(:func:`_conv2d_channels_last`, :func:`_backward_channels_last`): x is copied once into a
zero-padded (N, Hp, Wp, C) buffer, gy into (N, OH, OW, C*m), and the same three tap loops run
with one channel per element of the innermost axis, so every NumPy inner loop is C long
(96..960 in MobileNet) whatever the map size::

    forward   y[n, oh, ow, c, k]  += xpad[n, tap, c] * w[c, k]        (tap = shifted pixels)
    dW        dw[c, k, tap]        = sum over n, oh, ow of xpad[n, tap, c] * gy[n, oh, ow, c, k]
    dX        dxpad[n, tap, c]    += sum over k of gy[n, oh, ow, c, k] * w[c, k]

(dX for stride 1 and m = 1: the forward of gy with the flipped kernel, as on planes; for
ConvNeXt's 7x7 on (2, 192, 8, 8) 0.88 -> 0.58 ms, on (2, 384, 4, 4) 0.50 -> 0.36 ms.)
Same multiply-adds (the forward: one ``einsum`` over a window view of the padded input, see
:func:`_conv2d_channels_last`; dW: one over the same view, no product array written); extra
cost: the transposing copies of x, gy and the result (one pass each), and memory: a padded
channels-last copy of x (or dx).
It has no cache blocking, so it is only taken while the input fits in L2. Its padded x is kept
in the ``ctx`` dict that conv.py passes (forward to backward) for dW ((4, 192, 16, 16)/2 forward +
backward 1.59 -> 1.32 ms; see ``KEEP_PADDED_BYTES``).

Which path (:func:`uses_channels_last`): channels-last when the output has at most
``SMALL_OUTPUT_PIXELS`` = 64 pixels per plane (8x8; ``WIDE_KERNEL_FACTOR`` = 4 times that, 16x16,
for kernels of ``WIDE_KERNEL_TAPS`` = 25 taps (5x5) and more), there are at least ``MIN_CHANNELS`` =
64 input channels and the input is at most ``SMALL_INPUT_BYTES`` = 1 MiB; the plane path
otherwise. (A 5x5 kernel's 25-tap stacks make the plane path dearer: 1 thread, min of 9, forward /
backward ms, plane -> channels-last: EfficientNet-B0's (4, 240, 16, 16) 4.2 / 6.8 -> 2.7 / 5.1,
(4, 96, 16, 16) 1.7 / 2.9 -> 1.5 / 2.6, (4, 64, 16, 16) 1.2 / 2.0 -> 1.3 / 2.2; 3x3 on
(4, 192, 16, 16) 0.9 / 1.6 -> 1.0 / 1.6 and 5x5 on 32x32 maps stay on planes.)
Measured when the path was added, before the stride phases, dX-as-forward and dot
products of the plane path (1 thread, float32, ms forward / dX / dW, plane -> channels-last; torch):

    (4, 960, 4, 4)    s1   0.80 / 1.03 / 0.49  ->  0.32 / 0.31 / 0.32    torch 0.19 / 0.23 / 0.16
    (4, 576, 8, 8)    s2   0.89 / 0.96 / 0.68  ->  0.29 / 0.34 / 0.31    torch 0.20 / 0.25 / 0.17
    (4, 384, 8, 8)    s1   0.76 / 0.98 / 0.41  ->  0.47 / 0.43 / 0.50    torch 0.20 / 0.23 / 0.17
    (4, 192, 16, 16)  s2   0.77 / 0.82 / 0.56  ->  0.43 / 0.49 / 0.46    torch 0.25 / 0.28 / 0.18
    (4, 192, 16, 16)  s1   1.12 / 1.40 / 0.57  ->  1.08 / 0.93 / 1.17    (256 pixels: plane path)
    (4, 144, 32, 32)  s2   1.66 / 1.91 / 1.22  ->  2.56 / 1.63 / 2.63    (256 pixels: plane path)
    (32, 256, 16, 16) s1   fwd+bwd 30 -> 63 (8 MiB input: plane path, cache blocking wins)
    (4, 32, 16, 16)   s1   fwd+bwd 0.56 -> 0.71 (few channels: short inner loops, plane path)

MobileNet v2's 17 depthwise layers (batch 4, 128x128, forward + dX + dW): 67 -> 54 ms (torch 22-25);
the training step 1.77x -> 1.70x torch. The (32, 128, 56, 56) benchmark case keeps the plane path (0.5x torch).
Then stride phases, dX as a forward and dW by dot products (plane path) and one einsum per tap
for the channels-last dW: the 17 layers (sum of per-layer medians, old and new alternating in
one process, measured under load) 79 -> 62 ms; with the batch-norm changes
(:mod:`minicnn.kernels.batchnorm`) the training step went 1.68x -> 1.45x torch.
Then kernel rows, one-tap phases as products and the kept channels-last x: the 17 layers (forward
+ backward, medians of 21 alternating rounds, under load) 62.4 -> 58.7 ms, torch 34.5; the training
step (kernel rows and keeping toggled in one process, medians of 15) 206 -> 197 ms, torch 154.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from . import cuda
from .conv_shapes import Geometry, geometry
from .im2col import phase_part as _phase_part
from .im2col import plane_blocks

SMALL_OUTPUT_PIXELS = 64  # OH*OW at most this (8x8) ...
WIDE_KERNEL_TAPS, WIDE_KERNEL_FACTOR = 25, 4  # ... or this many times that for kh*kw >= 25 taps (5x5) ...
MIN_CHANNELS = 64  # ... at least this many input channels ...
SMALL_INPUT_BYTES = 1 << 20  # ... and an input that fits in L2: the channels-last path (measured)
BLOCK_SHRINK = 4  # the plane path's cache blocks: im2col's BLOCK_BYTES / this (1 MiB, in L2; measured)
ROWS_MIN_WIDTH = 56  # stride 1 on planes: tap rows summed by one matmul from output rows this wide (measured)
TRANSPOSE_BLOCK_BYTES = 32 << 10  # channels-last copies: blocks of channels this large (L1; measured)
# The channels-last forward's padded x is kept in ``ctx`` for dW up to this size (about 1.3-2.3 times
# the input's; the path takes inputs up to SMALL_INPUT_BYTES), as conv.py keeps im2col columns. The
# plane path's padded stride phases are not: writing them to fresh memory in the forward cost what
# dW saves (forward + backward, 1 thread, medians of 61: (4, 96, 64, 64)/2 11.8 -> 11.7 ms,
# (4, 144, 32, 32)/2 4.19 -> 4.17), while the kept channels-last x saves its transposing copy
# ((4, 192, 16, 16)/2 1.59 -> 1.32 ms, (4, 576, 8, 8) 1.62 -> 1.45).
KEEP_PADDED_BYTES = 16 << 20


class _Planes:
    """How a block of padded planes is stored (flat, split into stride phases) and where each
    kernel tap reads it.

    Phase (a, b) of a padded plane holds the pixels xpad[a::sh, b::sw], Hq x Wq of them
    (Hq = ceil(Hp/sh), Wq = ceil(Wp/sw)), plus one zero row; the sh*sw phases are stored one
    after another as one flat row. Tap (i, j) reads xpad[oh*sh + i*dh, ow*sw + j*dw], which is
    pixel (oh + ri, ow + cj) of phase (a, b) with (ri, a) = divmod(i*dh, sh) and
    (cj, b) = divmod(j*dw, sw): the run of OH*Wq values from flat position ri*Wq + cj of that
    phase (output (oh, ow) at oh*Wq + ow; columns OW..Wq-1 of each output row are garbage).
    For stride 1 there is a single phase, the padded plane itself."""

    def __init__(self, g: Geometry, m: int) -> None:
        self.g, self.m = g, m
        (sh, sw), (dh, dw) = g.stride, g.dilation
        self.hp, self.wp = g.h + sum(g.pads[0]), g.w + sum(g.pads[1])
        self.hq, self.wq = -(-self.hp // sh), -(-self.wp // sw)
        # one extra zero row: the runs of the last taps reach cj < Wq values past the last row
        self.phase_size = (self.hq + 1) * self.wq
        self.grid = (sh * sw * self.phase_size,)
        n = g.oh * self.wq
        self.out = (n,)
        self.taps = []
        for i in range(g.kh):
            for j in range(g.kw):
                (ri, a), (cj, b) = divmod(i * dh, sh), divmod(j * dw, sw)
                start = (a * sw + b) * self.phase_size + ri * self.wq + cj
                self.taps.append(slice(start, start + n))
        # per phase: (a, b, its rows and columns that hold x, the rows and columns of x they hold)
        (pt, _), (pl, _) = g.pads
        self.phases = [
            (a, b, *_phase_part(pt, g.h, sh, a), *_phase_part(pl, g.w, sw, b)) for a in range(sh) for b in range(sw)
        ]

    def shared_runs(self, w: Any = None) -> tuple[list[int], Any]:
        """The distinct offsets at which taps read their phase (sorted), and, given per-plane
        weights w (planes, kh*kw), the (planes, offsets, phases) matrix of the weight of the tap
        that reads phase ph at offset u (0 where none does)."""
        phases, offsets = zip(*(divmod(tap.start, self.phase_size) for tap in self.taps))
        runs = sorted(set(offsets))
        if w is None:
            return runs, None
        xp = backend.get_array_module(w)
        (sh, sw) = self.g.stride
        wt = xp.zeros((w.shape[0], len(runs), sh * sw), dtype=w.dtype)
        wt[:, [runs.index(off) for off in offsets], list(phases)] = w
        return runs, wt

    def buffer(self, xp: Any, planes: int, dtype: Any) -> Any:
        """A zeroed (planes, 1, sh*sw*(Hq+1)*Wq) buffer; ``fill`` later writes only where x goes."""
        return xp.zeros((planes, 1, *self.grid), dtype=dtype)

    def _phase_grid(self, buf: Any) -> Any:
        """(b, 1, flat) buffer -> a (b, sh, sw, Hq+1, Wq) view of its phases."""
        sh, sw = self.g.stride
        return buf.reshape(buf.shape[0], sh, sw, self.hq + 1, self.wq)

    def fill(self, buf: Any, x_block: Any) -> Any:
        """Copy x planes (b, H, W) into their places in ``buf`` (one strided copy per phase);
        return the tap-able (b, 1, flat) view."""
        b = x_block.shape[0]
        grid = self._phase_grid(buf[:b])
        for a, bb, rows, xrows, cols, xcols in self.phases:
            grid[:, a, bb, rows, cols] = x_block[:, xrows, xcols]
        return buf[:b]

    def crop(self, buf: Any, out: Any) -> None:
        """The inverse of ``fill``: copy the x positions of ``buf`` (b, 1, flat) into out (b, H, W)."""
        grid = self._phase_grid(buf[: out.shape[0]])
        for a, bb, rows, xrows, cols, xcols in self.phases:
            out[:, xrows, xcols] = grid[:, a, bb, rows, cols]

    def valid(self, out_block: Any) -> Any:
        """(b, m, OH*Wq) -> the (b, m, OH, OW) view without the garbage columns."""
        return out_block.reshape(out_block.shape[0], self.m, self.g.oh, self.wq)[..., : self.g.ow]

    def per_plane(self, v: Any) -> Any:
        """A (b, m) array of per-plane values (a tap's weights, the bias) shaped to broadcast
        against a block's outputs: (b, m, 1)."""
        return v.reshape(v.shape[0], self.m, 1)


_PAIR_DTYPES = {"float32": "complex64", "float64": "complex128"}


class _Pairs:
    """Column stride 2 (any row stride): padded planes split into row phases only, each row
    kept whole, and read as pairs of columns -- one complex number per two values.

    Row phase a holds the padded rows xpad[a::sh], Hq of them (plus one zero row), each
    ``pitch`` = ceil(Wp/2) pairs wide: pair c of a row is columns (2c, 2c+1). Tap (i, j)
    reads xpad[oh*sh + i*dh, 2*ow + j*dw], which is component e of pair (oh + ri, ow + c) of
    row phase a, with (ri, a) = divmod(i*dh, sh) and (c, e) = divmod(j*dw, 2): of the run of
    OH*pitch pairs from flat pair position ri*pitch + c of that phase (output (oh, ow) at
    oh*pitch + ow; pairs OW..pitch-1 of each output row are garbage). Taps j = 2c and 2c + 1
    (dilation 1) share a run, one as its real part, one as its imaginary part. Filling the
    buffer copies whole rows (as the stride-1 padding does), where :class:`_Planes` splits
    every row into sw strided phases, a NumPy loop per half row without SIMD."""

    def __init__(self, g: Geometry, m: int) -> None:
        self.g, self.m = g, m
        (sh, _), (dh, dw) = g.stride, g.dilation
        hp, wp = g.h + sum(g.pads[0]), g.w + sum(g.pads[1])
        self.hq, self.pitch = -(-hp // sh), -(-wp // 2)
        self.phase_size = (self.hq + 1) * self.pitch  # pairs; one extra zero row, as in _Planes
        self.n = g.oh * self.pitch
        starts: dict[int, int] = {}
        self.taps = []  # per tap (in weight order): (its run, its component: 0 real, 1 imaginary)
        for i in range(g.kh):
            for j in range(g.kw):
                (ri, a), (c, e) = divmod(i * dh, sh), divmod(j * dw, 2)
                start = a * self.phase_size + ri * self.pitch + c
                self.taps.append((starts.setdefault(start, len(starts)), e))
        self.runs = [slice(s, s + self.n) for s in starts]
        (pt, _), (self.pl, _) = g.pads
        self.rows = [(a, *_phase_part(pt, g.h, sh, a)) for a in range(sh)]

    def buffer(self, xp: Any, planes: int, dtype: Any) -> Any:
        """A zeroed real (planes, 2 * sh*(Hq+1)*pitch) buffer; ``fill`` writes only where x goes."""
        return xp.zeros((planes, 2 * self.g.stride[0] * self.phase_size), dtype=dtype)

    def fill(self, buf: Any, x_block: Any) -> Any:
        """Copy x planes (b, H, W) into ``buf`` (whole rows, one copy per row phase); return
        the (b, pairs) complex view."""
        b, sh = x_block.shape[0], self.g.stride[0]
        grid = buf[:b].reshape(b, sh, self.hq + 1, 2 * self.pitch)
        for a, rows, xrows in self.rows:
            grid[:, a, rows, self.pl : self.pl + self.g.w] = x_block[:, xrows]
        return buf[:b].view(_PAIR_DTYPES[buf.dtype.name])


def _uses_pairs(g: Geometry, dtype: Any) -> bool:
    """Whether the plane path reads column pairs (:class:`_Pairs`): column stride 2, a real
    dtype with a complex twin."""
    return g.stride[1] == 2 and getattr(dtype, "name", str(dtype)) in _PAIR_DTYPES


def _dw_pairs(gy: Any, x: Any, w: Any, g: Geometry, m: int) -> Any:
    """dW for column stride 2 on blocks of row phases read as column pairs (:class:`_Pairs`):
    per block and run one complex dot product per plane of gy (as a complex array with zero
    imaginary part; its garbage pairs zero) and the run gives both taps of the run, the real
    part the one of component 0, the imaginary part the other. 6 dots per plane for 3x3
    instead of 9 and whole-row copies of x instead of the strided phase split."""
    xp = backend.get_array_module(gy)
    lay = _Pairs(g, m)
    planes, runs, cdt = g.n * g.c, len(lay.runs), _PAIR_DTYPES[gy.dtype.name]
    gys = gy.reshape(planes, m, g.oh, g.ow)
    xs = x.reshape(planes, g.h, g.w)
    dots = xp.empty((planes, m, runs), dtype=cdt)
    plane_bytes = (2 * g.stride[0] * lay.phase_size + 2 * m * lay.n) * gy.itemsize
    pad = None
    for p0, p1 in plane_blocks(xp, planes, plane_bytes * BLOCK_SHRINK):
        n = p1 - p0
        if pad is None:  # scratch for the first (largest) block, reused by the others
            pad = lay.buffer(xp, n, gy.dtype)
            gc = xp.zeros((n, m, lay.n), dtype=cdt)  # imaginary parts and garbage pairs stay zero
            gc_real = gc.view(gy.dtype).reshape(n, m, g.oh, lay.pitch, 2)[..., : g.ow, 0]
        gc_real[:n] = gys[p0:p1]
        xb = lay.fill(pad, xs[p0:p1])
        for r, run in enumerate(lay.runs):
            dots[p0:p1, :, r] = _last_axis_dots(gc[:n], xb[:, None, run])
    runs_of, comps = (list(v) for v in zip(*lay.taps))
    dw_planes = dots.view(gy.dtype).reshape(planes, m, runs, 2)[:, :, runs_of, comps]
    return dw_planes.reshape(g.n, g.o, g.kh * g.kw).sum(axis=0).reshape(w.shape)


def _last_axis_dots(a: Any, b: Any) -> Any:
    """Dot products along the last axis, the others broadcast: ``vecdot`` (BLAS dots, NumPy 2)
    where the array module has it, else one ``einsum``. Neither writes the products out."""
    xp = backend.get_array_module(a)
    if hasattr(xp, "vecdot"):
        return xp.vecdot(a, b)
    return xp.einsum("...q,...q->...", a, b)


def _check(g: Geometry) -> int:
    """The channel multiplier m = O / C, after checking that this is a depthwise conv."""
    if g.groups != g.c or g.o % g.c:
        raise ValueError(
            f"conv2d (depthwise): needs groups == input channels and output channels a multiple "
            f"of them, got groups={g.groups}, {g.c} input and {g.o} output channels"
        )
    return g.o // g.c


def _per_plane(v: Any, g: Geometry, m: int) -> Any:
    """Per-channel values (weights (C*m, 1, kh, kw) or bias (C*m,)) repeated for every plane of
    the (N*C) stack: (N*C, m, rest) (small: no pixels)."""
    xp = backend.get_array_module(v)
    per_channel = v.reshape(1, g.c, m, v.size // (g.c * m))  # sizes spelled out: N may be 0
    return xp.ascontiguousarray(xp.broadcast_to(per_channel, (g.n, *per_channel.shape[1:]))).reshape(
        g.n * g.c, *per_channel.shape[2:]
    )


def uses_channels_last(
    x_shape: tuple, w_shape: tuple, stride: Any = 1, padding: Any = 0, dilation: Any = 1, itemsize: int = 4
) -> bool:
    """Whether :func:`conv2d_depthwise` (and its backward) take the channels-last path for an
    input of ``x_shape`` (N, C, H, W) and a weight of ``w_shape``: small output planes, many
    channels, an input that fits in L2 (see the module docstring)."""
    g = geometry(x_shape, w_shape, stride, padding, dilation, x_shape[1])
    return _small(g, itemsize)


def _small(g: Geometry, itemsize: int) -> bool:
    pixels = SMALL_OUTPUT_PIXELS * (WIDE_KERNEL_FACTOR if g.kh * g.kw >= WIDE_KERNEL_TAPS else 1)
    return g.oh * g.ow <= pixels and g.c >= MIN_CHANNELS and g.n * g.c * g.h * g.w * itemsize <= SMALL_INPUT_BYTES


def _to_channels_last(x: Any, out: Any) -> None:
    """Copy x (N, C, H, W) into out (N, H, W, C) (a view: the inside of a padded buffer, say).

    On the CPU in blocks of about ``TRANSPOSE_BLOCK_BYTES`` of channels: a copy that writes
    along the channels reads one value from every H*W-long input row, and while a block's rows
    stay in L1 it reads each cache line once. (1 thread, medians: zero-padded (4, 384, 8, 8)
    0.165 -> 0.083 ms, (4, 672, 8, 8) 0.33 -> 0.19, (4, 192, 16, 16) 0.36 -> 0.21, (4, 960, 4, 4)
    0.067 -> 0.054; 16 KiB about as fast, 64 KiB slower.) A GPU copies all channels at once."""
    c, src = x.shape[1], x.transpose(0, 2, 3, 1)
    row_bytes = max(1, x.shape[2] * x.shape[3] * x.itemsize)
    step = c if backend.is_cupy_array(x) else max(1, TRANSPOSE_BLOCK_BYTES // row_bytes)
    for c0 in range(0, c, step):  # a loop over memory blocks (one when the channels fit)
        out[..., c0 : c0 + step] = src[..., c0 : c0 + step]


def _padded_channels_last(x: Any, g: Geometry, x_last: Any = None) -> Any:
    """x (N, C, H, W) -> zero-padded (N, Hp, Wp, C): one transposing copy (a plain copy where
    ``x_last``, x already as (N, H, W, C), is given)."""
    xp = backend.get_array_module(x)
    hp, wp = g.h + sum(g.pads[0]), g.w + sum(g.pads[1])
    out = xp.zeros((g.n, hp, wp, g.c), dtype=x.dtype)
    rows, cols = g.crop()
    if x_last is not None:
        out[:, rows, cols, :] = x_last
    else:
        _to_channels_last(x, out[:, rows, cols, :])
    return out


def _taps_channels_last(w: Any, g: Geometry, m: int) -> Any:
    """Weights (C*m, 1, kh, kw) -> (kh*kw, C, m): one (C, m) slice per tap."""
    xp = backend.get_array_module(w)
    return xp.ascontiguousarray(w.reshape(g.c, m, g.kh * g.kw).transpose(2, 0, 1))


def _windows_channels_last(xpad: Any, g: Geometry) -> Any:
    """A view (no copy) of the padded channels-last input (N, Hp, Wp, C, ...) as
    (N, OH, OW, C, kh, kw): element [n, oh, ow, c, i, j] is the pixel that tap (i, j) of output
    (oh, ow) multiplies -- every tap's shifted, strided slice of the same buffer."""
    xp = backend.get_array_module(xpad)
    (sh, sw), (dh, dw) = g.stride, g.dilation
    sn, sy, sx, sc = xpad.strides[:4]
    return xp.lib.stride_tricks.as_strided(
        xpad, (g.n, g.oh, g.ow, g.c, g.kh, g.kw), (sn, sy * sh, sx * sw, sc, sy * dh, sx * dw)
    )


def _conv2d_channels_last(
    x: Any, w: Any, b: Any, g: Geometry, m: int, x_last: Any = None, keep: dict | None = None
) -> Any:
    """The forward with channels on the last axis; y (N, C*m, OH, OW). ``x_last``: x already
    as (N, H, W, C), if the caller has it (then it is not transposed again). ``keep``: a dict
    that receives the padded channels-last x (``"padded_last"``) for dW.

    One ``einsum`` over a window view of the padded input (:func:`_windows_channels_last`)
    sums the kh*kw taps: its inner loops run along the channels (contiguous in the input, the
    weights and the output) and add every product straight into the output, one pass over the
    output per tap -- no temporary. (The first version: a multiply into a temporary and an add
    per tap. (4, 576, 8, 8), 3x3, 1 thread: the tap sums 1.0 -> 0.3 ms.)"""
    xp = backend.get_array_module(x)
    xpad = _padded_channels_last(x, g, x_last)  # (N, Hp, Wp, C)
    if keep is not None and xpad.nbytes <= KEEP_PADDED_BYTES:
        keep["padded_last"] = xpad
    wk = _taps_channels_last(w, g, m).reshape(g.kh, g.kw, g.c, m)
    if m == 1:
        acc = xp.einsum("nhwcij,ijc->nhwc", _windows_channels_last(xpad, g), wk[..., 0])
    else:
        acc = xp.einsum("nhwcij,ijcm->nhwcm", _windows_channels_last(xpad, g), wk)
    acc = acc.reshape(g.n, g.oh, g.ow, g.o)
    if b is not None:
        acc += b
    return xp.ascontiguousarray(acc.transpose(0, 3, 1, 2))


def _backward_channels_last(
    gy: Any, x: Any, w: Any, g: Geometry, m: int, need_dx: bool, need_dw: bool, kept: Any = None
) -> tuple[Any, Any]:
    """(dx, dw) with channels on the last axis; None where not asked for. dX as in the plane
    path: for stride 1 and m = 1 the forward of gy with the flipped kernel (an aligned
    accumulator; measured (2, 192, 8, 8), 7x7: 0.88 -> 0.60 ms), else the scatter form. dW: one
    ``einsum`` over the window view of the padded x, as the forward's, straight into w's layout
    (one per tap before: 1 thread, medians, (4, 384, 8, 8) 0.27 -> 0.17 ms, (4, 672, 8, 8) 5x5
    0.96 -> 0.75, (4, 960, 4, 4) 0.14 -> 0.10). ``kept``: the forward's padded channels-last x, if kept."""
    xp = backend.get_array_module(gy)
    dx = dw = None
    gt = _dx_as_convolution(g, m) if need_dx else None
    gyt = None
    if need_dw or (need_dx and gt is None):  # gy as (N, OH, OW, C, m); dX as a forward reuses it
        gyt = xp.empty((g.n, g.oh, g.ow, g.o), dtype=gy.dtype)
        _to_channels_last(gy, gyt)
        gyt = gyt.reshape(g.n, g.oh, g.ow, g.c, m)
    if need_dw:  # no product array written; the result is (C, m, kh, kw), w's layout
        xpad = _padded_channels_last(x, g) if kept is None else kept
        windows = _windows_channels_last(xpad, g)  # (N, OH, OW, C, kh, kw)
        if m == 1:
            dw = xp.einsum("nhwcij,nhwc->cij", windows, gyt[..., 0]).reshape(w.shape)
        else:
            dw = xp.einsum("nhwcij,nhwcm->cmij", windows, gyt).reshape(w.shape)
    if gt is not None:  # stride 1, m = 1: dX is the forward of gy with the flipped kernel
        dx = _conv2d_channels_last(gy, w[:, :, ::-1, ::-1], None, gt, 1, None if gyt is None else gyt[..., 0])
    elif need_dx:
        wk = _taps_channels_last(w, g, m)
        tmp = xp.empty_like(gyt)
        dxpad = xp.zeros((g.n, g.h + sum(g.pads[0]), g.w + sum(g.pads[1]), g.c), dtype=gy.dtype)
        for k, (rows, cols) in enumerate(g.offsets()):
            target = dxpad[:, rows, cols]  # a view: += adds in place
            if m == 1:
                xp.multiply(gyt, wk[k], out=tmp)
                target += tmp[..., 0]
            else:  # sum the m output channels that read this input channel
                target += xp.einsum("nhwcm,cm->nhwc", gyt, wk[k])
        rows, cols = g.crop()
        dx = xp.ascontiguousarray(dxpad[:, rows, cols].transpose(0, 3, 1, 2))
    return dx, dw


def conv2d_depthwise(
    x: Any,
    w: Any,
    b: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int | None = None,
    ctx: dict | None = None,
) -> Any:
    """Depthwise convolution forward: a sum over kernel taps of shifted slices times
    per-channel weights, on planes or (small maps, :func:`uses_channels_last`) channels-last.
    ``groups`` defaults to (and must equal) the number of channels. ``ctx``: a dict to pass on
    to :func:`conv2d_depthwise_backward` (given where dW will be needed); the channels-last
    path keeps its padded x in it, up to ``KEEP_PADDED_BYTES``, so that dW does not rebuild it."""
    if cuda.enabled_for(x, w, b):
        return cuda.depthwise.conv2d_depthwise(x, w, b, stride, padding, dilation, groups)
    g = geometry(x.shape, w.shape, stride, padding, dilation, x.shape[1] if groups is None else groups)
    m = _check(g)
    if _small(g, x.itemsize):
        return _conv2d_channels_last(x, w, b, g, m, keep=ctx)
    return _conv2d_planes(x, w, b, g, m)


def _conv2d_planes(x: Any, w: Any, b: Any, g: Geometry, m: int) -> Any:
    """The forward on blocks of flat planes; y (N, C*m, OH, OW).

    Per block: the kh*kw tap runs of every plane are copied into a (planes, kh*kw, OH*Wq)
    stack, and one batched ``matmul`` (planes, m, kh*kw) @ (planes, kh*kw, OH*Wq) sums the taps:
    kh*kw copies and one product in place of kh*kw multiplies and kh*kw - 1 adds through a
    temporary (two passes per tap). Measured (1 thread, CPU time, min of 9; taps -> stack,
    torch): (4, 144, 32, 32) 2.83 -> 1.60 ms, 1.01; (4, 192, 16, 16) 1.14 -> 0.96, 0.46;
    (4, 96, 64, 64) stride 2 2.73 -> 2.10, 1.18; (4, 32, 64, 64) and (4, 144, 32, 32)/2 even.
    Stride 1 on wide maps: :func:`_conv2d_planes_rows`; strided, m = 1, with few offsets shared
    by the taps of different phases (5x5/2): :func:`_conv2d_planes_shared`.
    """
    if g.stride == (1, 1) and g.ow >= ROWS_MIN_WIDTH:
        return _conv2d_planes_rows(x, w, b, g, m)
    xp = backend.get_array_module(x)
    lay = _Planes(g, m)
    planes, taps = g.n * g.c, g.kh * g.kw
    if m == 1 and g.stride != (1, 1) and 5 * len(lay.shared_runs()[0]) < 2 * taps:  # 5x5/2: 9 offsets, 25 taps
        return _conv2d_planes_shared(x, w, b, g, lay)
    xs = x.reshape(planes, g.h, g.w)
    wp = _per_plane(w, g, m)  # (N*C, m, kh*kw)
    bp = None if b is None else _per_plane(b, g, m)[:, :, 0]
    y = xp.empty((planes, m, g.oh, g.ow), dtype=x.dtype)
    plane_bytes = (lay.grid[0] + (taps + m) * lay.out[0]) * x.itemsize
    pad = stack = acc = None
    for p0, p1 in plane_blocks(xp, planes, plane_bytes * BLOCK_SHRINK):
        if pad is None:  # scratch for the first (largest) block, reused by the others
            pad = lay.buffer(xp, p1 - p0, x.dtype)
            stack = xp.empty((p1 - p0, taps, *lay.out), dtype=x.dtype)
            acc = xp.empty((p1 - p0, m, *lay.out), dtype=x.dtype)
        xb = lay.fill(pad, xs[p0:p1])[:, 0]
        st = stack[: p1 - p0]
        for k, tap in enumerate(lay.taps):
            st[:, k] = xb[:, tap]
        a = xp.matmul(wp[p0:p1], st, out=acc[: p1 - p0])
        if bp is not None:
            a += lay.per_plane(bp[p0:p1])  # while the block is in the cache
        y[p0:p1] = lay.valid(a)
    return y.reshape(g.n, g.o, g.oh, g.ow)


def _conv2d_planes_shared(x: Any, w: Any, b: Any, g: Geometry, lay: _Planes) -> Any:
    """The strided forward (m = 1) on blocks of stride phases, with the taps grouped by their
    offset within their phase (:meth:`_Planes.shared_runs`); y (N, C, OH, OW).

    Tap k reads phase ph_k from offset off_k, and the taps of different phases share offsets
    (3x3/2: 4 offsets for 9 taps, 5x5/2: 9 for 25). The phases of a padded plane lie one after
    another, so as a (phases, phase_size) matrix they need no copy: one batched ``matmul`` of
    the (planes, offsets, phases) weights (0 where no tap) gives, per offset, the weighted sum
    of all phases, Z; then y = sum over offsets u of Z[u] read from off_u: U run copies and a
    product with ones. U copies and two products for kh*kw copies and one. Measured (1 thread,
    CPU time, min of 21, in the kernel's blocks, taps only): (4, 144, 32, 32) 5x5/2 1.70 ->
    1.06 ms; (4, 96, 64, 64) 3x3/2 1.13 -> 1.12."""
    xp = backend.get_array_module(x)
    planes, phases, size, n_out = g.n * g.c, g.stride[0] * g.stride[1], lay.phase_size, lay.out[0]
    runs, wt = lay.shared_runs(_per_plane(w, g, 1)[:, 0])  # wt: (N*C, offsets, phases)
    xs = x.reshape(planes, g.h, g.w)
    bp = None if b is None else _per_plane(b, g, 1)[:, :, 0]
    y = xp.empty((planes, 1, g.oh, g.ow), dtype=x.dtype)
    plane_bytes = (lay.grid[0] + len(runs) * (size + n_out) + n_out) * x.itemsize
    pad = None
    for p0, p1 in plane_blocks(xp, planes, plane_bytes * BLOCK_SHRINK):
        n = p1 - p0
        if pad is None:  # scratch for the first (largest) block, reused by the others
            pad = lay.buffer(xp, n, x.dtype)
            z = xp.empty((n, len(runs), size), dtype=x.dtype)
            stack = xp.empty((n, len(runs), n_out), dtype=x.dtype)
            acc = xp.empty((n, 1, n_out), dtype=x.dtype)
            ones = xp.ones((n, 1, len(runs)), dtype=x.dtype)
        xb = lay.fill(pad, xs[p0:p1])
        zb = xp.matmul(wt[p0:p1], xb.reshape(n, phases, size), out=z[:n])
        if len(runs) == 1:  # no sum (and no 1-term matmul, which NumPy runs several times slower)
            a = zb[:, :, runs[0] : runs[0] + n_out]
        else:
            st = stack[:n]
            for u, off in enumerate(runs):
                st[:, u] = zb[:, u, off : off + n_out]
            a = xp.matmul(ones[:n], st, out=acc[:n])
        yb = y[p0:p1]
        yb[...] = lay.valid(a)
        if bp is not None:
            yb += bp[p0:p1, :, None, None]
    return y.reshape(g.n, g.o, g.oh, g.ow)


def _conv2d_planes_rows(x: Any, w: Any, b: Any, g: Geometry, m: int) -> Any:
    """The stride-1 forward on blocks of flat planes, the taps split into kernel rows and columns.

    On a stride-1 flat plane tap (i, j) reads the run that starts at i*dh*Wq + j*dw: a row
    offset plus a column offset. So the kw column-shifted runs S_j (of OH*Wq + (kh-1)*dh*Wq
    values, the output run plus the rows the lower taps reach) are copied once, one batched
    ``matmul`` (planes, m*kh, kw) @ (planes, kw, ...) gives every kernel row's partial sums
    h_i = sum_j w_ij S_j, and y = sum_i h_i shifted by i*dh*Wq: kw copies, a product writing
    kh runs and kh - 1 adds, against :func:`_conv2d_planes`' kh*kw copies and a product
    reading kh*kw runs. Same multiply-adds plus (kh-1)*dh/OH of them for the extra rows.
    Measured (1 thread, CPU time, medians of 31-41 alternating under load; stack -> rows, 3x3):
    (4, 32, 64, 64) 2.03 -> 1.69 ms, (32, 128, 56, 56) 77 -> 72; even on (4, 96, 48, 48),
    (4, 144, 32, 32) (forward + backward 7.5 -> 7.8 in one run), (4, 192, 24, 24); slower on
    16x16 maps ((4, 192, 16, 16) 0.84 -> 0.95: a matmul per plane for fewer pixels), hence
    ``ROWS_MIN_WIDTH``.
    """
    xp = backend.get_array_module(x)
    lay = _Planes(g, m)
    planes, (dh, dw) = g.n * g.c, g.dilation
    xs = x.reshape(planes, g.h, g.w)
    wp = _per_plane(w, g, m).reshape(planes, m * g.kh, g.kw)  # rows (k, i), columns j
    bp = None if b is None else _per_plane(b, g, m)[:, :, 0]
    n_out, row = lay.out[0], dh * lay.wq
    n_rows = n_out + (g.kh - 1) * row  # ends at most (kw-1)*dw < Wq past the padded plane: in its zero row
    y = xp.empty((planes, m, g.oh, g.ow), dtype=x.dtype)
    plane_bytes = (lay.grid[0] + (g.kw + m * g.kh) * n_rows + m * n_out) * x.itemsize
    pad = None
    for p0, p1 in plane_blocks(xp, planes, plane_bytes * BLOCK_SHRINK):
        n = p1 - p0
        if pad is None:  # scratch for the first (largest) block, reused by the others
            pad = lay.buffer(xp, n, x.dtype)
            cols = xp.empty((n, g.kw, n_rows), dtype=x.dtype)
            rows = xp.empty((n, m * g.kh, n_rows), dtype=x.dtype)
            acc = xp.empty((n, m, n_out), dtype=x.dtype)
        xb = lay.fill(pad, xs[p0:p1])[:, 0]
        s = cols[:n]
        for j in range(g.kw):
            s[:, j] = xb[:, j * dw : j * dw + n_rows]
        h = xp.matmul(wp[p0:p1], s, out=rows[:n]).reshape(n, m, g.kh, n_rows)
        a = acc[:n]
        if g.kh == 1:
            a[...] = h[:, :, 0, :n_out]
        else:
            xp.add(h[:, :, 0, :n_out], h[:, :, 1, row : row + n_out], out=a)
            for i in range(2, g.kh):
                a += h[:, :, i, i * row : i * row + n_out]
        if bp is not None:
            a += lay.per_plane(bp[p0:p1])
        y[p0:p1] = lay.valid(a)
    return y.reshape(g.n, g.o, g.oh, g.ow)


def _dx_as_convolution(g: Geometry, m: int) -> Geometry | None:
    """For stride 1 and m = 1, dX is itself a stride-1 depthwise convolution: of gy, padded by
    d*(k-1) - pad on each side, with the kernel flipped (a "full" correlation). Its geometry,
    or None where that does not hold (stride > 1, m > 1, or padding beyond d*(k-1))."""
    if g.stride != (1, 1) or m != 1:
        return None
    (pt, pb), (pl, pr) = g.pads
    (dh, dw) = g.dilation
    eh, ew = dh * (g.kh - 1), dw * (g.kw - 1)
    pads = ((eh - pt, eh - pb), (ew - pl, ew - pr))
    if min(min(p) for p in pads) < 0:
        return None
    return g._replace(h=g.oh, w=g.ow, pads=pads, oh=g.h, ow=g.w)


def conv2d_depthwise_backward(
    gy: Any,
    x: Any,
    w: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int | None = None,
    need_dx: bool = True,
    need_dw: bool = True,
    need_db: bool = True,
    ctx: dict | None = None,
) -> tuple[Any, Any, Any]:
    """(dx, dw, db) of :func:`conv2d_depthwise`; entries not asked for are None. Small maps
    take the channels-last path (:func:`uses_channels_last`), as in the forward. ``ctx``: the
    dict given to the forward; channels-last dW reads the padded x kept there (read only:
    backward may run twice).

    On planes, per block of planes and per tap: dW sums gy * x_ij over pixels (one ``einsum``;
    the images are summed at the end). dX, for stride 1 and m = 1, is the forward again: gy
    correlated with the flipped kernel (:func:`_dx_as_convolution`: each output read-adds
    into an aligned accumulator). Other m = 1 cases gather per stride phase
    (:func:`_dx_planes_gather`). For m > 1 it scatters: it adds gy * w_ij onto the tap's run
    of a zeroed padded block, which is then cropped into dx.
    """
    if cuda.enabled_for(gy, x, w):
        return cuda.depthwise.conv2d_depthwise_backward(
            gy, x, w, stride, padding, dilation, groups, need_dx, need_dw, need_db
        )
    g = geometry(x.shape, w.shape, stride, padding, dilation, x.shape[1] if groups is None else groups)
    m = _check(g)
    gb = gy.sum(axis=(0, 2, 3)) if need_db else None
    if not (need_dx or need_dw):
        return None, None, gb
    if _small(g, gy.itemsize):
        kept = None if ctx is None else ctx.get("padded_last")
        return (*_backward_channels_last(gy, x, w, g, m, need_dx, need_dw, kept), gb)
    gt = _dx_as_convolution(g, m) if need_dx else None
    if gt is not None:
        dx = _conv2d_planes(gy, w[:, :, ::-1, ::-1], None, gt, 1)
        _, dw = _backward_planes(gy, x, w, g, m, False, need_dw) if need_dw else (None, None)
        return dx, dw, gb
    if _uses_pairs(g, gy.dtype):  # column stride 2: dW on column pairs, dX as below
        dw = _dw_pairs(gy, x, w, g, m) if need_dw else None
        if not need_dx:
            return None, dw, gb
        dx = _dx_planes_gather(gy, w, g) if m == 1 else _backward_planes(gy, x, w, g, m, True, False)[0]
        return dx, dw, gb
    if need_dx and m == 1:  # strided: dX gathered per stride phase
        dx = _dx_planes_gather(gy, w, g)
        _, dw = _backward_planes(gy, x, w, g, m, False, need_dw) if need_dw else (None, None)
        return dx, dw, gb
    return (*_backward_planes(gy, x, w, g, m, need_dx, need_dw), gb)


def _dx_planes_gather(gy: Any, w: Any, g: Geometry) -> Any:
    """dX (m = 1, any stride) on blocks of flat planes in the gather form: each stride phase
    of the padded dx is written once, as a sum over the taps that fall in that phase.

    The scatter form adds gy * w_k onto the run of phase position off_k + q (q: gy's flat wide
    position) for every tap k; so phase position r receives sum_k w_k * gy[r - off_k]. With gy
    copied behind F = max(off_k) zeros (``gext``), tap k's terms for all r are the contiguous
    run gext[F - off_k :][: phase_size]. Taps of different phases that read from the same
    offset share that run (:meth:`_Planes.shared_runs`), so each distinct offset's run is
    stacked once and one batched ``matmul`` with the (planes, phases, offsets) weights (0 where
    no tap) writes all phases of the block -- no zeroed dx, no multiply-and-add through a
    temporary per tap, one product per block. Measured (1 thread, CPU time, medians of alternating
    rounds under load): (4, 96, 64, 64) stride 2, 3x3, dX 8.1 -> 6.0 ms; (4, 144, 32, 32) 3.3 -> 2.6;
    (32, 128, 56, 56) 74 -> 53 (both forms with 1 MiB blocks); then a product per phase -> one per
    block over the shared runs (min of 21): 3.58 -> 2.26, 1.75 -> 1.20, 5x5/2 on (4, 144, 32, 32)
    3.29 -> 1.58."""
    xp = backend.get_array_module(gy)
    lay = _Planes(g, 1)
    planes, size, (sh, sw) = g.n * g.c, lay.phase_size, g.stride
    gys = gy.reshape(planes, g.oh, g.ow)
    runs, wt = lay.shared_runs(_per_plane(w, g, 1)[:, 0])
    wg = xp.ascontiguousarray(wt.transpose(0, 2, 1))  # (N*C, phases, offsets)
    front = runs[-1]
    dx = xp.empty((planes, g.h, g.w), dtype=gy.dtype)
    plane_bytes = (2 * lay.grid[0] + front + size + len(runs) * size) * gy.itemsize
    gext = pad = stack = None
    for p0, p1 in plane_blocks(xp, planes, plane_bytes * BLOCK_SHRINK):
        n = p1 - p0
        if gext is None:  # scratch for the first (largest) block, reused by the others; zeros stay zero
            gext = xp.zeros((n, front + size), dtype=gy.dtype)
            pad = lay.buffer(xp, n, gy.dtype)
            stack = xp.empty((n, len(runs), size), dtype=gy.dtype)
        gext[:n, front : front + lay.out[0]].reshape(n, g.oh, lay.wq)[:, :, : g.ow] = gys[p0:p1]
        acc = pad[:n]
        out = acc.reshape(n, sh * sw, size)  # every phase, one after another
        if len(runs) == 1:  # a product, not a 1-term matmul (NumPy's is several times slower)
            xp.multiply(gext[:n, None, front - runs[0] :], wg[p0:p1], out=out)
        else:
            st = stack[:n]
            for t, off in enumerate(runs):
                st[:, t] = gext[:n, front - off : front - off + size]
            xp.matmul(wg[p0:p1], st, out=out)
        lay.crop(acc, dx[p0:p1])
    return dx.reshape(g.n, g.c, g.h, g.w)


def _backward_planes(gy: Any, x: Any, w: Any, g: Geometry, m: int, need_dx: bool, need_dw: bool) -> tuple[Any, Any]:
    """(dx, dw) on blocks of flat planes, dx by scattering; None where not asked for."""
    xp = backend.get_array_module(gy)
    lay = _Planes(g, m)
    planes = g.n * g.c
    gys = gy.reshape(planes, m, g.oh, g.ow)
    xs = x.reshape(planes, g.h, g.w)
    wp = _per_plane(w, g, m) if need_dx else None
    dw_planes = xp.empty((planes, m, g.kh * g.kw), dtype=gy.dtype) if need_dw else None
    dx = xp.empty((planes, g.h, g.w), dtype=gy.dtype) if need_dx else None
    plane_bytes = (2 * lay.grid[0] + 2 * m * lay.out[0]) * gy.itemsize
    first = True
    for p0, p1 in plane_blocks(xp, planes, plane_bytes * BLOCK_SHRINK):
        n = p1 - p0
        if first:  # scratch for the first (largest) block, reused by the others
            first = False
            gwide = xp.zeros((n, m, g.oh, lay.wq), dtype=gy.dtype)  # its garbage columns stay zero
            xpad = lay.buffer(xp, n, gy.dtype) if need_dw else None
            dxpad = lay.buffer(xp, n, gy.dtype) if need_dx else None
            tmp = xp.empty((n, 1, *lay.out), dtype=gy.dtype) if need_dx else None
        gwide[:n, :, :, : g.ow] = gys[p0:p1]
        gyb = gwide[:n].reshape(n, m, -1)
        if need_dw:
            xb = lay.fill(xpad, xs[p0:p1])[:, 0]
        if need_dx:
            acc = dxpad[:n]
            acc[...] = 0
            t, wb = tmp[:n], wp[p0:p1]
        for k, tap in enumerate(lay.taps):
            if need_dw:
                dw_planes[p0:p1, :, k] = _last_axis_dots(gyb, xb[:, None, tap])
            if need_dx:
                if m == 1:
                    xp.multiply(gyb, lay.per_plane(wb[:, :, k]), out=t)
                else:  # sum the m output channels that read this input channel
                    t[:, 0] = xp.einsum("pmq,pm->pq", gyb, wb[:, :, k])
                target = acc[..., tap]  # a view: += adds in place
                target += t
        if need_dx:
            lay.crop(acc, dx[p0:p1])
    dx = dx.reshape(x.shape) if need_dx else None
    dw = dw_planes.reshape(g.n, g.o, g.kh * g.kw).sum(axis=0).reshape(w.shape) if need_dw else None
    return dx, dw
