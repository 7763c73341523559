"""The depthwise kernel's plane path (minicnn.kernels.depthwise): planes split into stride
phases, dX of stride-1 convolutions as a correlation with the flipped kernel, and dW by dot
products, against torch (F.conv2d with groups=C), across several cache blocks, and float64
gradcheck through the conv2d op."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from conftest import torch_depthwise_grads
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import depthwise as D
from minicnn.kernels import im2col as I
from minicnn.kernels.conv_shapes import geometry
from minicnn.ops.conv import conv2d


@contextlib.contextmanager
def plane_path(block_bytes: int | None = None):
    """Never take the channels-last path; optionally shrink the cache blocks (several blocks,
    the last one partial, reuse the scratch of the first)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "SMALL_OUTPUT_PIXELS", 0)
        if block_bytes is not None:
            mp.setattr(I, "BLOCK_BYTES", block_bytes)
        yield


@st.composite
def plane_cases(draw):
    """x shape, weight shape, stride, padding, dilation of a depthwise conv with a valid output;
    strides up to 3, odd and even sizes (phases of unequal size), asymmetric 'same' padding."""
    n, c, m = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.sampled_from([1, 2, 3, (1, 2), (2, 1), (3, 2)]))
    dilation = draw(st.sampled_from([1, 2, (1, 3)]))
    if stride == 1 and draw(st.booleans()):
        padding = "same"
    else:
        padding = draw(st.sampled_from([0, 1, 2, 3, (1, 0), (0, 3)]))
    h, w = draw(st.integers(1, 13)), draw(st.integers(1, 13))
    try:
        geometry((n, c, h, w), (c * m, 1, kh, kw), stride, padding, dilation, c)
    except ValueError:  # the output would be empty
        assume(False)
    return (n, c, h, w), (c * m, 1, kh, kw), stride, padding, dilation


def check_against_torch(x, w, b, stride, padding, dilation, rtol, atol, seed=0):
    c = x.shape[1]
    y = D.conv2d_depthwise(x, w, b, stride, padding, dilation, c)
    gy = np.random.default_rng(seed).standard_normal(y.shape).astype(x.dtype)
    refs = torch_depthwise_grads(x, w, b, gy, stride, padding, dilation)
    got = (y, *D.conv2d_depthwise_backward(gy, x, w, stride, padding, dilation, c, True, True, b is not None))
    for name, g, r in zip(("forward", "dX", "dW", "db"), got, refs):
        if r is None:
            assert g is None
            continue
        assert g.dtype == x.dtype and g.shape == r.shape, name
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol, err_msg=name)
    assert y.flags.c_contiguous and got[1].flags.c_contiguous


TOLS = {np.float32: (2e-4, 2e-4), np.float64: (1e-9, 1e-10)}


@settings(max_examples=40, deadline=None)
@given(
    case=plane_cases(),
    dtype=st.sampled_from([np.float32, np.float64]),
    bias=st.booleans(),
    blocks=st.sampled_from([None, 1, 600]),
    seed=st.integers(0, 9),
)
def test_plane_path_matches_torch(case, dtype, bias, blocks, seed):
    """blocks: the default cache blocks, one plane per block, or a few planes per block."""
    x_shape, w_shape, stride, padding, dilation = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    with plane_path(blocks):
        assert not D.uses_channels_last(x_shape, w_shape, stride, padding, dilation)
        check_against_torch(x, w, b, stride, padding, dilation, *TOLS[dtype], seed=seed)


@settings(max_examples=25, deadline=None)
@given(case=plane_cases(), need=st.sampled_from([(True, False), (False, True), (True, True)]))
def test_partial_gradients_equal_full_ones(case, need):
    """dX alone and dW alone (separate code: the gather form of dX skips the dW loop) equal the
    gradients computed together; what is not asked for is None."""
    x_shape, w_shape, stride, padding, dilation = case
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    c = x_shape[1]
    with plane_path():
        gy = rng.standard_normal(D.conv2d_depthwise(x, w, None, stride, padding, dilation, c).shape)
        full = D.conv2d_depthwise_backward(gy, x, w, stride, padding, dilation, c)
        got = D.conv2d_depthwise_backward(gy, x, w, stride, padding, dilation, c, *need, False)
    for wanted, g, r in zip(need, got, full):
        if wanted:
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)
        else:
            assert g is None
    assert got[2] is None


@pytest.mark.parametrize(
    "x_shape,k,stride,padding,dilation,m,gather",
    [
        ((2, 3, 9, 8), 3, 1, 1, 1, 1, True),  # the MobileNet case
        ((2, 3, 9, 8), 3, 1, 2, 1, 1, True),  # padding d*(k-1): a zero-padding dX correlation
        ((2, 3, 9, 8), 3, 1, 3, 1, 1, False),  # padding beyond d*(k-1): scatter
        ((2, 3, 9, 8), 3, 1, 4, 2, 1, True),  # dilation 2: d*(k-1) = 4
        ((2, 3, 9, 8), 3, 1, (0, 3), 1, 1, False),  # one side beyond
        ((2, 3, 9, 8), 3, 1, 1, 1, 2, False),  # channel multiplier 2: scatter
        ((2, 3, 9, 8), 3, 2, 1, 1, 1, False),  # stride 2: gathered per phase (_dx_planes_gather)
        ((2, 3, 9, 8), 2, 1, "same", 1, 1, True),  # even kernel: asymmetric padding
    ],
)
def test_dx_as_convolution_where_it_holds(x_shape, k, stride, padding, dilation, m, gather):
    c = x_shape[1]
    g = geometry(x_shape, (c * m, 1, k, k), stride, padding, dilation, c)
    assert (D._dx_as_convolution(g, m) is not None) is gather
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((c * m, 1, k, k))
    with plane_path():
        check_against_torch(x, w, None, stride, padding, dilation, *TOLS[np.float64])


@pytest.mark.parametrize(
    "x_shape,stride",
    [((4, 32, 64, 64), 1), ((4, 96, 64, 64), 2), ((4, 144, 32, 32), 1), ((4, 144, 32, 32), 2), ((4, 192, 16, 16), 1)],
)
def test_mobilenet_v2_plane_layers_match_torch(x_shape, stride):
    """MobileNet v2's plane-path layers (batch 4, 128x128), float32, default blocks."""
    c = x_shape[1]
    assert not D.uses_channels_last(x_shape, (c, 1, 3, 3), stride, 1, 1)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    check_against_torch(x, w, None, stride, 1, 1, rtol=1e-4, atol=2e-3)


@pytest.mark.parametrize(
    "x_shape,k,stride,padding,dilation,blocks",
    [
        ((2, 3, 9, 8), 1, 2, 0, 1, None),  # 1x1 kernel, stride 2: phases no tap reads are zero
        ((2, 3, 10, 7), 2, 3, (1, 0), 1, 1),  # kernel smaller than the stride, one plane per block
        ((2, 3, 9, 8), 3, 2, 2, 2, 600),  # dilation 2 on stride 2: taps of one phase only
        ((2, 3, 9, 8), 3, 1, 3, 1, None),  # stride 1, padding beyond d*(k-1): gathered too
        ((1, 2, 8, 8), 4, (2, 3), (3, 1), 1, None),
        ((2, 3, 11, 10), 5, 2, 2, 1, 700),  # 5x5/2: 9 runs shared by the 4 phases (one matmul), blocks
    ],
)
def test_strided_dx_gather_matches_torch(x_shape, k, stride, padding, dilation, blocks):
    """dX by phases (m = 1, no dX-as-forward), float64 against torch, with zero phases, several
    blocks and uneven strides."""
    c = x_shape[1]
    g = geometry(x_shape, (c, 1, k, k), stride, padding, dilation, c)
    assert D._dx_as_convolution(g, 1) is None
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(x_shape), rng.standard_normal((c, 1, k, k))
    with plane_path(blocks):
        check_against_torch(x, w, rng.standard_normal(c), stride, padding, dilation, *TOLS[np.float64])


def test_phase_parts_cover_the_input_once():
    """The phases of a padded axis hold every input index exactly once, at the right place."""
    for size, pad, stride in [(7, 1, 2), (8, 0, 3), (5, 4, 2), (1, 2, 3), (9, 2, 1)]:
        seen = []
        for a in range(stride):
            rows, xrows = D._phase_part(pad, size, stride, a)
            us, xs = list(range(size + 2 * pad)[rows]), list(range(size)[xrows])
            assert len(us) == len(xs)
            assert all(a + stride * u - pad == i for u, i in zip(us, xs))
            seen += xs
        assert sorted(seen) == list(range(size))


@pytest.mark.parametrize(
    "stride,padding,dilation,m", [(2, 1, 1, 1), (3, (1, 2), 1, 2), (1, 1, 2, 1), (1, 3, 1, 1), ((3, 2), 1, 1, 1)]
)
def test_plane_path_gradcheck(stride, padding, dilation, m):
    rng = np.random.default_rng(4)
    x = mc.tensor(rng.standard_normal((2, 3, 7, 6)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((3 * m, 1, 3, 3)), requires_grad=True)
    b = mc.tensor(rng.standard_normal(3 * m), requires_grad=True)
    with plane_path():
        assert mc.gradcheck(
            lambda x, w, b: conv2d(x, w, b, stride, padding, dilation, groups=3, algo="depthwise"), (x, w, b)
        )


@pytest.mark.parametrize(
    "x_shape,k,stride,padding,dilation,m,small",
    [
        ((2, 3, 9, 8), 3, 2, 1, 1, 1, False),  # planes, stride 2: dX gathered
        ((2, 3, 9, 8), 3, 1, 1, 1, 1, False),  # planes, stride 1: dX as a forward
        ((2, 3, 10, 7), 3, (2, 3), (1, 0), 2, 2, False),  # m = 2 (scatter), dilation, asymmetric padding
        ((2, 8, 5, 6), 3, 2, (0, 2), (1, 2), 2, True),  # channels-last: kept padded (N, Hp, Wp, C)
        ((2, 8, 5, 6), 2, 1, "same", 1, 1, True),
    ],
)
@pytest.mark.parametrize("limit", [0, 1 << 20])  # both sides of KEEP_PADDED_BYTES
def test_padded_x_kept_for_dw(x_shape, k, stride, padding, dilation, m, small, limit):
    """The channels-last forward keeps its padded x in ctx (up to KEEP_PADDED_BYTES) for dW:
    gradients equal torch's, kept or not (and with a ctx on the plane path), on a non-contiguous
    input, across several blocks, and a second backward (retain_graph) reads the kept x unchanged."""
    c = x_shape[1]
    rng = np.random.default_rng(5)
    x = rng.standard_normal((*x_shape[:3], 2 * x_shape[3]))[..., ::2]  # non-contiguous
    w = rng.standard_normal((c * m, 1, k, k))
    ctx: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "KEEP_PADDED_BYTES", limit)
        mp.setattr(D, "SMALL_OUTPUT_PIXELS", 100 if small else 0)
        mp.setattr(D, "MIN_CHANNELS", 1)
        mp.setattr(I, "BLOCK_BYTES", 600)
        assert D.uses_channels_last(x.shape, w.shape, stride, padding, dilation, 8) is small
        y = D.conv2d_depthwise(x, w, None, stride, padding, dilation, c, ctx)
        assert (len(ctx) == 1) is (limit > 0 and small)  # the plane path keeps nothing
        gy = rng.standard_normal(y.shape)
        refs = torch_depthwise_grads(x, w, None, gy, stride, padding, dilation)
        for _ in range(2):
            got = (y, *D.conv2d_depthwise_backward(gy, x, w, stride, padding, dilation, c, True, True, False, ctx)[:2])
            for name, g, r in zip(("forward", "dX", "dW"), got, refs):
                np.testing.assert_allclose(g, r, *TOLS[np.float64], err_msg=name)


@pytest.mark.parametrize(
    "x_shape,kh,kw,padding,dilation,m,bias",
    [
        ((2, 3, 9, 8), 3, 3, 1, 1, 1, True),  # the MobileNet case (also dX as a forward)
        ((2, 3, 9, 8), 3, 2, "same", (2, 1), 2, True),  # m = 2, asymmetric padding, dilation
        ((1, 2, 7, 9), 1, 3, (0, 2), (1, 3), 1, False),  # one kernel row
        ((2, 3, 6, 5), 4, 1, (3, 0), 1, 3, False),  # one kernel column, m = 3
    ],
)
@pytest.mark.parametrize("min_width", [1, 100])  # both sides of ROWS_MIN_WIDTH
def test_stride1_rows_form_matches_torch(x_shape, kh, kw, padding, dilation, m, bias, min_width):
    """Stride 1 with the taps split into kernel rows (_conv2d_planes_rows) or stacked, forward
    and gradients (dX as the same forward where it holds) against torch, several blocks, on a
    non-contiguous input."""
    c = x_shape[1]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((*x_shape[:3], 2 * x_shape[3]))[..., ::2]
    w, b = rng.standard_normal((c * m, 1, kh, kw)), rng.standard_normal(c * m) if bias else None
    with plane_path(600), pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "ROWS_MIN_WIDTH", min_width)
        calls = []
        mp.setattr(D, "_conv2d_planes_rows", lambda *a, f=D._conv2d_planes_rows: calls.append(1) or f(*a))
        check_against_torch(x, w, b, 1, padding, dilation, *TOLS[np.float64])
    assert bool(calls) is (min_width == 1)


def test_stride1_rows_form_gradcheck():
    rng = np.random.default_rng(6)
    x = mc.tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((6, 1, 3, 2)), requires_grad=True)
    with plane_path(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(D, "ROWS_MIN_WIDTH", 1)
        assert mc.gradcheck(lambda x, w: conv2d(x, w, None, 1, (1, 0), (1, 2), groups=3, algo="depthwise"), (x, w))


@pytest.mark.parametrize(
    "x_shape,k,stride,padding,dilation,m,shared",
    [
        ((2, 3, 9, 8), 3, 2, 1, 1, 1, False),  # MobileNet's 3x3/2: dW on column pairs, taps stacked
        ((2, 3, 11, 10), 5, 2, 2, 1, 1, True),  # EfficientNet's 5x5/2: forward by shared offsets
        ((2, 3, 10, 9), 3, 3, (1, 2), 1, 1, True),  # stride 3: one offset for all taps (no sum)
        ((1, 2, 9, 11), 3, (3, 2), 1, (2, 1), 2, False),  # m = 2, three row phases, dilation
        ((2, 2, 8, 12), 4, (1, 2), (2, 1), (1, 3), 1, False),  # column dilation 3: one tap per pair run
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strided_pairs_and_shared_offsets_match_torch(x_shape, k, stride, padding, dilation, m, shared, dtype):
    """Column stride 2: dW from row phases read as column pairs (_dw_pairs); strided m = 1
    forwards with few shared offsets (_conv2d_planes_shared): against torch, several blocks,
    with bias, both paths checked to be taken."""
    c = x_shape[1]
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    w, b = rng.standard_normal((c * m, 1, k, k)).astype(dtype), rng.standard_normal(c * m).astype(dtype)
    calls = {"pairs": 0, "shared": 0}
    with plane_path(700), pytest.MonkeyPatch.context() as mp:
        for name, f in (("pairs", D._dw_pairs), ("shared", D._conv2d_planes_shared)):
            mp.setattr(D, f.__name__, lambda *a, f=f, name=name: calls.__setitem__(name, calls[name] + 1) or f(*a))
        check_against_torch(x, w, b, stride, padding, dilation, *TOLS[dtype])
    sw = stride if isinstance(stride, int) else stride[1]
    assert calls == {"pairs": int(sw == 2), "shared": int(shared)}
