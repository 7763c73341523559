"""Convolution: im2col/col2im, the direct, im2col and depthwise kernels, the conv2d op and
the Conv2d layer, against torch (the oracle) and against each other."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import compare_with_torch, devices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import conv as K
from minicnn.kernels import depthwise as D
from minicnn.kernels import im2col as im2col_module
from minicnn.kernels.conv_shapes import resolve_padding
from minicnn.kernels.im2col import col2im, im2col

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- helpers --------------------------------------------------------------------------------


@st.composite
def conv_settings(draw, depthwise: bool = False):
    """A random conv problem: shapes, settings, and an input big enough for the kernel."""
    groups_kind = "depthwise" if depthwise else draw(st.sampled_from(["one", "two", "depthwise", "one"]))
    if groups_kind == "one":
        c, groups = draw(st.integers(1, 4)), 1
        o = draw(st.integers(1, 5))
    elif groups_kind == "two":
        groups = 2
        c, o = 2 * draw(st.integers(1, 2)), 2 * draw(st.integers(1, 3))
    else:
        c = groups = draw(st.integers(1, 4))
        o = c * draw(st.integers(1, 3))  # channel multiplier
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = draw(st.sampled_from([1, 1, 2, (1, 2), (2, 1)]))
    pad_kind = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    stride = 1 if pad_kind == "same" else draw(st.sampled_from([1, 1, 2, 3, (1, 2), (2, 1)]))
    padding = {
        "int": draw(st.integers(0, 2)),
        "pair": (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
        "same": "same",
        "valid": "valid",
    }[pad_kind]
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    span = (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)
    h = draw(st.integers(span[0], span[0] + 6))
    w = draw(st.integers(span[1], span[1] + 6))
    n = draw(st.sampled_from([1, 1, 2, 3]))
    bias = draw(st.booleans())
    return dict(
        n=n,
        c=c,
        h=h,
        w=w,
        o=o,
        kernel=(kh, kw),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
    )


def make_arrays(cfg: dict, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cfg["n"], cfg["c"], cfg["h"], cfg["w"])).astype(dtype)
    w = rng.standard_normal((cfg["o"], cfg["c"] // cfg["groups"], *cfg["kernel"])).astype(dtype)
    b = rng.standard_normal(cfg["o"]).astype(dtype) if cfg["bias"] else None
    return x, w, b


def torch_conv(cfg: dict, x, w, b, gy=None, need_x: bool = True):
    """torch's output and (when gy is given) gradients, as numpy arrays."""
    xt = torch.tensor(x, requires_grad=need_x)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    y = F.conv2d(xt, wt, bt, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])
    if gy is None:
        return y.detach().numpy()
    y.backward(torch.tensor(gy))
    grads = [xt.grad.numpy() if need_x else None, wt.grad.numpy(), None if b is None else bt.grad.numpy()]
    return y.detach().numpy(), grads


def mc_conv(cfg: dict, x, w, b, gy=None, algo: str = "auto", need_x: bool = True):
    xm = mc.tensor(x, requires_grad=need_x)
    wm = mc.tensor(w, requires_grad=True)
    bm = None if b is None else mc.tensor(b, requires_grad=True)
    y = mc.nn.functional.conv2d(xm, wm, bm, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"], algo=algo)
    if gy is None:
        return y.numpy()
    y.backward(mc.tensor(gy))
    grads = [None if xm.grad is None else xm.grad.numpy(), wm.grad.numpy(), None if b is None else bm.grad.numpy()]
    return y.numpy(), grads


def algos_for(cfg: dict) -> list[str]:
    out = ["auto", "direct", "im2col"]
    if cfg["groups"] == cfg["c"] and cfg["o"] % cfg["c"] == 0:
        out.append("depthwise")
    return out


def close(a, b, rtol=1e-10, atol=1e-10):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.fixture(params=[False, True], ids=["image-major", "batch-last"])
def layout(request, monkeypatch):
    """Force the im2col column layout."""
    monkeypatch.setattr(K, "_batch_last_pays", lambda g: request.param)
    return request.param


# -- im2col / col2im -------------------------------------------------------------------------


def test_im2col_worked_example():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cols = im2col(x, 3)
    assert cols.shape == (1, 9, 4)
    np.testing.assert_array_equal(cols[0, :, 0], [0, 1, 2, 4, 5, 6, 8, 9, 10])  # window of output (0, 0)
    np.testing.assert_array_equal(cols[0, 0], [0, 1, 4, 5])  # tap (0, 0) for the four outputs
    np.testing.assert_array_equal(cols[0, 8], [10, 11, 14, 15])
    counts = col2im(np.ones_like(cols), x.shape, 3)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


@SETTINGS
@given(cfg=conv_settings(), batch_last=st.booleans())
def test_im2col_matches_torch_unfold_and_col2im_is_its_adjoint(cfg, batch_last):
    pads = resolve_padding(cfg["padding"], cfg["kernel"], cfg["stride"], cfg["dilation"])
    x, _, _ = make_arrays(cfg)
    cols = im2col(x, cfg["kernel"], cfg["stride"], pads, cfg["dilation"], batch_last=batch_last)
    # torch's unfold has our image-major layout: (N, C*kh*kw, L); it pads symmetrically
    xt = F.pad(torch.tensor(x), (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    ref = F.unfold(xt, cfg["kernel"], dilation=cfg["dilation"], stride=cfg["stride"]).numpy()
    image_major = cols.reshape(ref.shape[1], -1, x.shape[0]).transpose(2, 0, 1) if batch_last else cols
    np.testing.assert_array_equal(image_major.reshape(ref.shape), ref)
    # adjoint: <im2col(x), c> == <x, col2im(c)>
    c = np.random.default_rng(1).standard_normal(cols.shape)
    back = col2im(c, x.shape, cfg["kernel"], cfg["stride"], pads, cfg["dilation"], batch_last=batch_last)
    assert back.shape == x.shape
    assert math.isclose(float((cols * c).sum()), float((x * back).sum()), rel_tol=1e-10, abs_tol=1e-9)


def test_im2col_writes_into_a_given_buffer():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
    buf = np.zeros(10_000)
    cols = im2col(x, 3, 1, 1, out=buf)
    assert np.shares_memory(cols, buf)
    np.testing.assert_array_equal(cols, im2col(x, 3, 1, 1))


def test_col2im_rejects_a_non_contiguous_out():
    cols = np.zeros((1, 9, 4))
    with pytest.raises(ValueError, match="contiguous"):
        col2im(cols, (1, 1, 4, 4), 3, out=np.zeros((1, 1, 4, 8))[..., ::2])


def test_im2col_kernel_too_large_is_a_clear_error():
    with pytest.raises(ValueError, match="im2col"):
        im2col(np.zeros((1, 1, 3, 3)), 5)


# -- padding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kernel,dilation,expected",
    [(3, 1, ((1, 1), (1, 1))), (4, 1, ((1, 2), (1, 2))), ((2, 5), 1, ((0, 1), (2, 2))), (4, 2, ((3, 3), (3, 3)))],
)
def test_same_padding_is_torchs(kernel, dilation, expected):
    assert resolve_padding("same", kernel, 1, dilation) == expected
    assert resolve_padding("valid", kernel) == ((0, 0), (0, 0))
    assert resolve_padding((1, 2), kernel) == ((1, 1), (2, 2))


def test_same_padding_needs_stride_one():
    with pytest.raises(ValueError, match="strided"):
        resolve_padding("same", 3, 2)
    with pytest.raises(ValueError, match="padding"):
        resolve_padding("full", 3)


# -- conv2d against torch ------------------------------------------------------------------


@SETTINGS
@given(cfg=conv_settings(), need_x=st.booleans(), data=st.data())
def test_conv2d_forward_and_gradients_match_torch_float64(cfg, need_x, data):
    algo = data.draw(st.sampled_from(algos_for(cfg)))
    x, w, b = make_arrays(cfg)
    y_ref = torch_conv(cfg, x, w, b)
    gy = np.random.default_rng(2).standard_normal(y_ref.shape)
    y_ref, grads_ref = torch_conv(cfg, x, w, b, gy, need_x)
    y, grads = mc_conv(cfg, x, w, b, gy, algo, need_x)
    close(y, y_ref)
    for g, g_ref in zip(grads, grads_ref):
        if g_ref is None:
            assert g is None
        else:
            close(g, g_ref)


@settings(max_examples=20, deadline=None)
@given(cfg=conv_settings())
def test_conv2d_float32_matches_torch(cfg):
    x, w, b = make_arrays(cfg, np.float32)
    y_ref = torch_conv(cfg, x, w, b)
    gy = np.random.default_rng(2).standard_normal(y_ref.shape).astype(np.float32)
    y_ref, grads_ref = torch_conv(cfg, x, w, b, gy)
    y, grads = mc_conv(cfg, x, w, b, gy)
    assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in grads if g is not None)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    for g, g_ref in zip(grads, grads_ref):
        if g_ref is not None:
            np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-4)


@SETTINGS
@given(cfg=conv_settings())
def test_every_algorithm_and_layout_agrees_with_every_other(cfg):
    x, w, b = make_arrays(cfg)
    args = (cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])
    gy = np.random.default_rng(3).standard_normal(K.conv2d_forward(x, w, b, *args, algo="direct").shape)
    results = {}
    for algo in algos_for(cfg):
        results[algo] = (K.conv2d_forward(x, w, b, *args, algo=algo), *K.conv2d_backward(gy, x, w, *args, algo=algo))
    for batch_last in (False, True):
        results[f"im2col batch_last={batch_last}"] = (
            K.conv2d_im2col(x, w, b, *args, batch_last=batch_last),
            *K.conv2d_im2col_backward(gy, x, w, *args, batch_last=batch_last),
        )
    reference = results.pop("direct")
    for name, got in results.items():
        for a, r in zip(got, reference):
            np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10, err_msg=name)


@SETTINGS
@given(cfg=conv_settings(depthwise=True))
def test_depthwise_kernel_matches_torch(cfg):
    x, w, b = make_arrays(cfg)
    y_ref = torch_conv(cfg, x, w, b)
    gy = np.random.default_rng(2).standard_normal(y_ref.shape)
    y_ref, grads_ref = torch_conv(cfg, x, w, b, gy)
    y, grads = mc_conv(cfg, x, w, b, gy, "depthwise")
    close(y, y_ref)
    for g, g_ref in zip(grads, grads_ref):
        if g_ref is not None:
            close(g, g_ref)


@pytest.mark.parametrize("stride", [1, 2])
def test_cache_blocks_of_one_plane(monkeypatch, stride):
    """Force one plane per cache block (the small test shapes otherwise fit in one block)."""
    monkeypatch.setattr(im2col_module, "BLOCK_BYTES", 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 7, 9))
    for algo, w, groups in [
        ("depthwise", rng.standard_normal((8, 1, 3, 3)), 4),
        ("im2col", rng.standard_normal((6, 2, 3, 3)), 2),
    ]:
        cfg = dict(stride=stride, padding=1, dilation=1, groups=groups)
        gy = rng.standard_normal(torch_conv(cfg, x, w, None).shape)
        y_ref, grads_ref = torch_conv(cfg, x, w, None, gy)
        for batch_last in (False, True):
            monkeypatch.setattr(K, "_batch_last_pays", lambda g, bl=batch_last: bl)
            y, grads = mc_conv(cfg, x, w, None, gy, algo)
            close(y, y_ref)
            close(grads[0], grads_ref[0])
            close(grads[1], grads_ref[1])


def test_backward_computes_only_what_is_asked():
    cfg = dict(n=2, c=3, h=7, w=6, o=4, kernel=(3, 3), stride=1, padding=1, dilation=1, groups=1, bias=True)
    x, w, _ = make_arrays(cfg)
    gy = np.ones((2, 4, 7, 6))
    for algo in ("direct", "im2col"):
        dx, dw, db = K.conv2d_backward(gy, x, w, 1, 1, algo=algo, need_dx=False, need_dw=True, need_db=False)
        assert dx is None and db is None and dw.shape == w.shape
        dx, dw, db = K.conv2d_backward(gy, x, w, 1, 1, algo=algo, need_dx=True, need_dw=False, need_db=True)
        assert dw is None and dx.shape == x.shape and db.shape == (4,)
    dx, dw, db = D.conv2d_depthwise_backward(np.ones((2, 3, 7, 6)), x, w[:3, :1], 1, 1, 1, 3, False, False, True)
    assert dx is None and dw is None and db.shape == (3,)


def test_first_layer_gets_no_input_gradient():
    conv = mc.nn.Conv2d(1, 6, 5, padding=2)
    x = mc.randn(4, 1, 28, 28)
    conv(x).sum().backward()
    assert x.grad is None and conv.weight.grad is not None and conv.bias.grad is not None


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "algo,groups,c,o,stride,padding",
    [
        ("direct", 2, 4, 6, 2, 1),
        ("im2col", 1, 3, 5, 1, "same"),
        ("im2col", 2, 4, 4, (2, 1), 0),
        ("depthwise", 4, 4, 8, 1, 1),
    ],
)
def test_conv2d_on_every_device(device, dtype, algo, groups, c, o, stride, padding):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, c, 11, 12)), rng.standard_normal((o, c // groups, 3, 3)), rng.standard_normal(o)
    compare_with_torch(
        lambda x, w, b: mc.nn.functional.conv2d(x, w, b, stride, padding, 1, groups, algo=algo),
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, 1, groups),
        [x, w, b],
        dtype=dtype,
        device=device,
    )


# -- gradcheck, one per algorithm --------------------------------------------------------------


@pytest.mark.parametrize(
    "algo,groups,c,o,stride,padding,dilation",
    [
        ("direct", 1, 2, 3, 1, 1, 1),
        ("direct", 2, 2, 2, 2, (0, 1), 1),
        ("im2col", 1, 2, 3, (2, 1), 1, (1, 2)),
        ("im2col", 2, 4, 2, 1, "same", 1),
        ("depthwise", 2, 2, 4, 1, 1, 1),
        ("depthwise", 3, 3, 3, 2, 1, 2),
    ],
)
def test_gradcheck(algo, groups, c, o, stride, padding, dilation, layout):
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((2, c, 5, 6)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((o, c // groups, 3, 2)), requires_grad=True)
    b = mc.tensor(rng.standard_normal(o), requires_grad=True)

    def f(x, w, b):
        return mc.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups, algo=algo)

    assert mc.gradcheck(f, (x, w, b))


def test_gradcheck_pointwise(layout):
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((2, 4, 3, 5)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((4, 2, 1, 1)), requires_grad=True)
    assert mc.gradcheck(lambda x, w: mc.nn.functional.conv2d(x, w, groups=2, algo="im2col"), (x, w))


# -- chunks, the workspace, kept columns ---------------------------------------------------------


@pytest.fixture
def restore_budget():
    budget, cache, keep = K.get_im2col_budget(), K.CACHE_CHUNK_BYTES, K.KEEP_COLUMNS_BYTES
    yield
    K.set_im2col_budget(budget)
    K.CACHE_CHUNK_BYTES, K.KEEP_COLUMNS_BYTES = cache, keep


@pytest.mark.parametrize("pointwise", [False, True])
def test_chunked_im2col_equals_unchunked(restore_budget, layout, pointwise):
    rng = np.random.default_rng(0)
    k, pad = (1, 0) if pointwise else (3, 1)
    x = rng.standard_normal((7, 4, 9, 8))
    w = rng.standard_normal((6, 2, k, k))
    b = rng.standard_normal(6)
    gy = rng.standard_normal((7, 6, 9, 8))
    K.KEEP_COLUMNS_BYTES = 0
    K.set_im2col_budget(1 << 30)
    K.CACHE_CHUNK_BYTES = 1 << 30
    whole = (K.conv2d_im2col(x, w, b, 1, pad, 1, 2), *K.conv2d_im2col_backward(gy, x, w, 1, pad, 1, 2))
    for budget in (1, 3 * 2 * 36 * 72 * 8):  # one image per chunk; three images per chunk
        K.set_im2col_budget(budget)
        chunked = (K.conv2d_im2col(x, w, b, 1, pad, 1, 2), *K.conv2d_im2col_backward(gy, x, w, 1, pad, 1, 2))
        for a, r in zip(chunked, whole):
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def test_kept_columns_give_the_same_gradients(restore_budget, layout):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 2, 6, 6)), rng.standard_normal((4, 2, 3, 3))
    gy = rng.standard_normal((3, 4, 6, 6))
    results = []
    for keep in (0, 1 << 30):
        K.KEEP_COLUMNS_BYTES = keep
        ctx: dict = {}
        y = K.conv2d_im2col(x, w, None, 1, 1, ctx=ctx)
        assert ("columns" in ctx) == bool(keep)
        results.append((y, *K.conv2d_im2col_backward(gy, x, w, 1, 1, ctx=ctx)))
        # backward twice (retain_graph) must not be spoiled by the first one
        results.append((y, *K.conv2d_im2col_backward(gy, x, w, 1, 1, ctx=ctx)))
    for got in results[1:]:
        for a, r in zip(got, results[0]):
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_wide_kept_columns_built_in_chunks_match_torch(restore_budget, layout, stride):
    # O/g >= KEEP_WIDE_MIN_OUT: columns kept; image-major ones filled one image per chunk
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 2, 6, 5)), rng.standard_normal((K.KEEP_WIDE_MIN_OUT, 2, 3, 3))
    b = rng.standard_normal(K.KEEP_WIDE_MIN_OUT)
    K.CACHE_CHUNK_BYTES = 1
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = F.conv2d(tx, tw, tb, stride, 1)
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    ctx: dict = {}
    y = K.conv2d_im2col(x, w, b, stride, 1, ctx=ctx)
    assert "columns" in ctx
    for _ in range(2):  # backward twice (retain_graph) reads the same kept columns
        got = (y, *K.conv2d_im2col_backward(gy, x, w, stride, 1, ctx=ctx))
        for a, r in zip(got, (ty, tx.grad, tw.grad, tb.grad)):
            np.testing.assert_allclose(a, r.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_retain_graph_backward_twice_accumulates():
    x = mc.randn(2, 3, 6, 6, requires_grad=True)
    conv = mc.nn.Conv2d(3, 4, 3)
    y = conv(x).sum()
    y.backward(retain_graph=True)
    g1 = conv.weight.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(conv.weight.grad.numpy(), 2 * g1, rtol=1e-5)


def test_budget_setting(restore_budget):
    K.set_im2col_budget(1234)
    assert K.get_im2col_budget() == 1234
    assert mc.kernels.get_im2col_budget() == 1234
    with pytest.raises(ValueError, match="budget"):
        K.set_im2col_budget(0)


# -- the op: errors, unbatched input, non-contiguous input ---------------------------------------


def test_unbatched_input_like_torch():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 7, 7)), rng.standard_normal((2, 3, 3, 3))
    y = mc.nn.functional.conv2d(mc.tensor(x), mc.tensor(w), padding=1)
    ref = F.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    assert y.shape == ref.shape == (2, 7, 7)
    close(y.numpy(), ref)


def test_non_contiguous_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 8, 9)).transpose(0, 1, 3, 2)  # (3, 2, 9, 8), not contiguous
    w = rng.standard_normal((4, 2, 3, 3))
    ref = F.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    for algo in ("direct", "im2col"):
        close(K.conv2d_forward(x, w, None, 1, 1, algo=algo), ref)
    wd = rng.standard_normal((2, 1, 3, 3))
    ref = F.conv2d(torch.tensor(x), torch.tensor(wd), None, 1, 1, 1, 2).numpy()
    close(D.conv2d_depthwise(x, wd, None, 1, 1, 1, 2), ref)


@pytest.mark.parametrize(
    "x_shape,w_shape,kwargs,error,match",
    [
        ((2, 3, 8, 8), (4, 2, 3, 3), {}, ValueError, r"conv2d: expected input of shape \(N, 2, H, W\).*\(2, 3, 8, 8\)"),
        ((2, 4, 8, 8), (4, 3, 3, 3), {"groups": 2}, ValueError, r"\(N, 6, H, W\)"),
        ((2, 4, 8, 8), (3, 2, 3, 3), {"groups": 2}, ValueError, "divisible by groups"),
        ((8, 8), (4, 1, 3, 3), {}, ValueError, "4-d input"),
        ((2, 1, 8, 8), (4, 1, 3), {}, ValueError, "weight must be 4-d"),
        ((2, 1, 2, 2), (4, 1, 3, 3), {}, ValueError, "smaller than the 3x3 kernel"),
        ((2, 1, 8, 8), (4, 1, 3, 3), {"stride": 2, "padding": "same"}, ValueError, "strided"),
        ((2, 1, 8, 8), (4, 1, 3, 3), {"algo": "fft"}, ValueError, "algo"),
        ((2, 2, 8, 8), (4, 2, 3, 3), {"algo": "depthwise"}, ValueError, "depthwise"),
    ],
)
def test_conv2d_errors(x_shape, w_shape, kwargs, error, match):
    x, w = mc.zeros(x_shape), mc.zeros(w_shape)
    with pytest.raises(error, match=match):
        mc.nn.functional.conv2d(x, w, **kwargs)


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs",
    [
        ((1, 2, 5, 5), (2, 2, 3, 3), {"stride": 0}),
        ((1, 2, 5, 5), (2, 2, 3, 3), {"padding": -1}),
        ((1, 2, 5, 5), (2, 2, 3, 3), {"dilation": 0}),
        ((1, 2, 5, 5), (2, 2, 3, 3), {"padding": "foo"}),
        ((1, 2, 5, 5), (2, 2, 3, 3), {"padding": "same", "stride": 2}),
        ((1, 2, 5, 5), (2, 2, 3, 3), {"groups": 0}),
        ((1, 2, 5, 5), (2, 2, 3, 3), {"groups": 3}),
        ((1, 2, 5, 2), (2, 2, 3, 3), {}),
        ((1, 2, 5, 5), (2, 2, 3, 3), {"dilation": 3}),
        ((1, 2, 5, 5), (2, 1, 3, 3), {}),
        ((5, 5), (2, 2, 3, 3), {}),
        ((1, 2, 5, 5), (2, 2, 3), {}),
    ],
)
def test_conv2d_bad_settings_raise_torchs_runtime_error(x_shape, w_shape, kwargs):
    """Where torch raises RuntimeError, so does minicnn (a ShapeError, also a ValueError)."""
    with pytest.raises(RuntimeError):
        F.conv2d(torch.zeros(x_shape), torch.zeros(w_shape), **kwargs)
    with pytest.raises(RuntimeError, match="conv2d"):
        mc.nn.functional.conv2d(mc.zeros(x_shape), mc.zeros(w_shape), **kwargs)


def test_conv2d_bias_and_dtype_errors():
    x, w = mc.zeros(1, 2, 5, 5), mc.zeros(3, 2, 3, 3)
    with pytest.raises(RuntimeError):  # torch: "expected scalar type Double but found Float"
        F.conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(3, 2, 3, 3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="float64"):
        mc.nn.functional.conv2d(x, w.double())
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        mc.nn.functional.conv2d(x, w, mc.zeros(4))
    with pytest.raises(TypeError, match="float64"):
        mc.nn.functional.conv2d(x, w.double())


# -- the layer ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((1, 6, 5), {}),
        ((3, 8, 3), {"stride": 2, "padding": 1, "bias": False}),
        ((4, 8, (3, 5)), {"padding": "same", "dilation": 2, "groups": 2}),
        ((6, 6, 3), {"groups": 6, "padding": (1, 0)}),
        ((2, 4, 1), {"padding": "valid"}),
    ],
)
def test_layer_matches_torch(args, kwargs):
    ours, theirs = mc.nn.Conv2d(*args, **kwargs), torch.nn.Conv2d(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, p in theirs.state_dict().items():
        assert ours.state_dict()[name].shape == tuple(p.shape)
        getattr(ours, name).array[...] = p.numpy()
    x = np.random.default_rng(0).standard_normal((2, args[0], 9, 10)).astype(np.float32)
    y = ours(mc.tensor(x)).numpy()
    np.testing.assert_allclose(y, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_layer_default_init_like_torch():
    mc.manual_seed(0)
    conv = mc.nn.Conv2d(32, 64, 3, groups=2)
    fan_in = 16 * 3 * 3
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) and the bias share it
    w, b = conv.weight.numpy(), conv.bias.numpy()
    ref = torch.nn.Conv2d(32, 64, 3, groups=2).weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # fills the range
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.05)  # U(-a, a) has std a/sqrt(3)
    np.testing.assert_allclose(w.std(), ref.std(), rtol=0.05)
    assert abs(w.mean()) < 0.05 * bound
    assert conv.weight.dtype == np.float32


def test_layer_shape_error_names_the_layer():
    conv = mc.nn.Conv2d(1, 6, 5)
    with pytest.raises(ValueError) as info:
        conv(mc.zeros(8, 3, 28, 28))
    msg = str(info.value)
    assert "Conv2d(1, 6, kernel_size=(5, 5)" in msg and "(N, 1, H, W)" in msg and "(8, 3, 28, 28)" in msg
    with pytest.raises(ValueError, match=r"Conv2d\(1, 6.*\(1, H, W\)"):
        conv(mc.zeros(3, 28, 28))
    with pytest.raises(ValueError, match=r"Conv2d\(1, 6.*smaller"):
        conv(mc.zeros(1, 1, 4, 4))


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        mc.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        mc.nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        mc.nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="algo"):
        mc.nn.Conv2d(3, 4, 3, algo="fft")


@pytest.mark.parametrize("algo", ["direct", "im2col", "depthwise"])
def test_layer_algo_is_used_and_agrees(algo):
    mc.manual_seed(1)
    conv = mc.nn.Conv2d(4, 8, 3, padding=1, groups=4, algo=algo)
    assert f"algo={algo}" in repr(conv)
    x = mc.randn(2, 4, 6, 6)
    ref = mc.nn.Conv2d(4, 8, 3, padding=1, groups=4)
    ref.load_state_dict(conv.state_dict())
    np.testing.assert_allclose(conv(x).numpy(), ref(x).numpy(), rtol=1e-5, atol=1e-6)


def test_auto_algorithm_choice():
    assert K.choose_algo((2, 8, 5, 5), (8, 1, 3, 3), 8) == "depthwise"
    assert K.choose_algo((2, 8, 5, 5), (16, 1, 3, 3), 8) == "depthwise"
    assert K.choose_algo((2, 8, 5, 5), (8, 4, 3, 3), 2) == "im2col"
    assert K.choose_algo((2, 1, 5, 5), (6, 1, 5, 5), 1) == "im2col"


def _params(cls) -> list[tuple[str, object]]:
    import inspect

    return [(p.name, p.default) for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]


def test_conv2d_and_linear_signatures_are_torchs():
    """torch's positional order, factory kwargs included; Conv2d's own ``algo`` comes after,
    keyword-only."""
    for ours, theirs in ((mc.nn.Conv2d, torch.nn.Conv2d), (mc.nn.Linear, torch.nn.Linear)):
        mine, torchs = _params(ours), _params(theirs)
        assert mine[: len(torchs)] == torchs
    assert _params(mc.nn.Conv2d)[len(_params(torch.nn.Conv2d)) :] == [("algo", "auto")]
    with pytest.raises(TypeError):
        mc.nn.Conv2d(1, 2, 3, 1, 0, 1, 1, True, "zeros", None, None, "direct")  # algo is keyword-only


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [None, np.float64, "float64"])
def test_conv2d_and_linear_take_device_and_dtype(device, dtype):
    expected = np.float32 if dtype is None else np.float64
    conv = mc.nn.Conv2d(3, 4, 3, 1, 1, 1, 1, True, "zeros", device, dtype, algo="im2col")
    lin = mc.nn.Linear(5, 2, True, device, dtype)
    where = mc.zeros(1, device=device).device
    for layer in (conv, lin):
        for p in (layer.weight, layer.bias):
            assert p.dtype == expected and p.device == where
    assert conv.algo == "im2col"
    x = mc.randn(2, 3, 5, 5, device=device).to(expected)
    assert conv(x).shape == (2, 4, 5, 5) and conv(x).dtype == expected
    assert lin(mc.randn(2, 5, device=device).to(expected)).dtype == expected
    assert mc.nn.Conv2d(3, 4, 3, dtype=None).weight.dtype == np.float32


def test_convolutions_in_two_threads_use_their_own_workspaces():
    """The im2col workspace is per thread: NumPy releases the GIL in its copies and GEMMs, so
    two threads sharing one buffer would overwrite each other's columns (silently wrong)."""
    import threading

    from minicnn.kernels.conv import conv2d_forward
    from minicnn.kernels.vol2col import conv3d_forward

    rng = np.random.default_rng(0)
    for f, x_shape, w_shape in (
        (conv2d_forward, (4, 8, 24, 24), (8, 8, 3, 3)),
        (conv3d_forward, (2, 8, 10, 16, 16), (8, 8, 3, 3, 3)),
    ):
        xs, w = [rng.random(x_shape) for _ in range(2)], rng.random(w_shape)
        expected = [f(x, w, padding=1) for x in xs]
        wrong: list[bool] = []

        def run(i: int, f=f, xs=xs, w=w, expected=expected, wrong=wrong) -> None:
            for _ in range(10):
                wrong.append(not np.array_equal(f(xs[i], w, padding=1), expected[i]))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wrong) == 20 and not any(wrong), f.__name__
