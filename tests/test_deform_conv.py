"""Deformable convolution (torchvision.ops.deform_conv2d / DeformConv2d) against torchvision, with
gradchecks, second derivatives against a gather-based torch implementation, and the loop reference."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
import torchvision
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import conv as conv_kernels
from minicnn.kernels import deform_conv as K
from minicnn.nn.deform_conv import DeformConv2d
from minicnn.ops.conv import conv2d
from minicnn.ops.deform_conv import deform_conv2d

TV = torchvision.ops.deform_conv2d


@st.composite
def cases(draw, offsets=("uniform", "integer", "mixed"), max_size: int = 6):
    """Shapes and settings of one deformable convolution, and its arrays (float64):
    (arrays [x, offset, weight, bias?, mask?], has_bias, has_mask, stride, padding, dilation)."""
    groups, offset_groups = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    c = math.lcm(groups, offset_groups) * draw(st.integers(1, 2))
    o = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    h = max(1, span[0] - 2 * padding[0] + draw(st.integers(0, max_size - 3)))
    w = max(1, span[1] - 2 * padding[1] + draw(st.integers(0, max_size - 3)))
    n = draw(st.integers(1, 2))
    oh = K.output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = K.output_size(w, kw, stride[1], padding[1], dilation[1])
    has_bias, has_mask = draw(st.booleans()), draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(offsets))
    reach = draw(st.sampled_from([0.8, 2.5, max(h, w) + 2.0]))  # the last pushes taps far outside
    off = rng.uniform(-reach, reach, (n, 2 * offset_groups * kh * kw, oh, ow))
    if kind == "integer":  # every tap on a pixel (or on an integer position outside the image)
        off = np.round(off)
    elif kind == "mixed":  # some coordinates integer, some not
        off = np.where(rng.random(off.shape) < 0.5, np.round(off), off)
    arrays = [rng.standard_normal((n, c, h, w)), off, rng.standard_normal((o, c // groups, kh, kw))]
    if has_bias:
        arrays.append(rng.standard_normal(o))
    if has_mask:
        arrays.append(rng.uniform(-1, 2, (n, offset_groups * kh * kw, oh, ow)))
    return arrays, has_bias, has_mask, stride, padding, dilation


def split(ts, has_bias, has_mask):
    """(x, offset, weight, bias, mask) from the list of tensors of :func:`cases`."""
    x, off, w = ts[:3]
    return x, off, w, ts[3] if has_bias else None, ts[-1] if has_mask else None


def both(has_bias, has_mask, stride, padding, dilation):
    """The minicnn and torchvision functions of the case's tensors."""

    def mc_fn(*ts):
        x, off, w, b, m = split(ts, has_bias, has_mask)
        return deform_conv2d(x, off, w, b, stride, padding, dilation, m)

    def tv_fn(*ts):
        x, off, w, b, m = split(ts, has_bias, has_mask)
        return TV(x, off, w, b, stride, padding, dilation, m)

    return mc_fn, tv_fn


def away_from_integers(rng, shape, reach):
    """Offsets whose fractional part keeps >= 0.1 from 0 and 1 (where the gradient jumps)."""
    return rng.integers(-reach, reach, shape) + rng.uniform(0.1, 0.9, shape)


def torch_composite(x, off, w, b, m, stride, padding, dilation):
    """Deformable convolution in plain torch ops (floor, gather, matmul), twice differentiable
    by torch's autograd: the oracle for second derivatives (torchvision's op has none)."""
    n, c, h, wd = x.shape
    o, cw, kh, kw = w.shape
    oh, ow = off.shape[2:]
    g = off.shape[1] // (2 * kh * kw)
    xr = TF.pad(x, (1, 1, 1, 1)).reshape(n, g, c // g, -1)
    offr = off.reshape(n, g, kh * kw, 2, oh * ow)
    cols = []
    for i in range(kh):
        for j in range(kw):
            k = i * kw + j
            by = (torch.arange(oh, dtype=x.dtype) * stride[0] - padding[0] + i * dilation[0]).repeat_interleave(ow)
            bx = (torch.arange(ow, dtype=x.dtype) * stride[1] - padding[1] + j * dilation[1]).repeat(oh)
            py, px = offr[:, :, k, 0] + by, offr[:, :, k, 1] + bx
            y0, x0 = torch.floor(py).detach(), torch.floor(px).detach()
            ty, tx = py - y0, px - x0
            col = 0
            for dy, wy in ((0, 1 - ty), (1, ty)):
                for dx, wx in ((0, 1 - tx), (1, tx)):
                    rows = (y0 + dy).clamp(-1, h).long() + 1
                    cols_ = (x0 + dx).clamp(-1, wd).long() + 1
                    idx = (rows * (wd + 2) + cols_)[:, :, None, :].expand(n, g, c // g, oh * ow)
                    weight = wy * wx * (1 if m is None else m.reshape(n, g, kh * kw, oh * ow)[:, :, k])
                    col = col + weight[:, :, None] * torch.gather(xr, 3, idx)
            cols.append(col)
    groups = c // cw
    colm = torch.stack(cols, 3).reshape(n, groups, cw * kh * kw, oh * ow)
    y = (w.reshape(groups, o // groups, -1) @ colm).reshape(n, o, oh, ow)
    return y if b is None else y + b[:, None, None]


# -- forward and first derivatives against torchvision --------------------------------------
@settings(max_examples=40, deadline=None)
@given(case=cases())
def test_forward_and_all_gradients_like_torchvision(case):
    arrays, has_bias, has_mask, stride, padding, dilation = case
    mc_fn, tv_fn = both(has_bias, has_mask, stride, padding, dilation)
    compare_with_torch(mc_fn, tv_fn, arrays, rtol=1e-9, atol=1e-10)


@settings(max_examples=12, deadline=None)
@given(case=cases(max_size=5))
def test_fast_kernel_equals_the_loop_reference(case):
    arrays, has_bias, has_mask, stride, padding, dilation = case
    x, off, w, b, m = split(arrays, has_bias, has_mask)
    fast = K.deform_conv2d_forward(x, off, w, b, m, stride, padding, dilation)
    slow = K.deform_conv2d_reference(x, off, w, b, m, stride, padding, dilation)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_taps_on_the_image_edges_and_outside():
    """Exact integer positions on and around the border (-2, -1, 0, H-1, H, H+1): the values
    and the one-sided offset gradients torchvision takes there."""
    rng = np.random.default_rng(3)
    h = w = 4
    x, wt = rng.standard_normal((1, 2, h, w)), rng.standard_normal((3, 2, 1, 1))
    edges = np.array([-2.0, -1.0, -0.5, 0.0, 2.0, 3.0, 3.5, 4.0, 5.0])
    py, px = np.meshgrid(edges, edges, indexing="ij")  # a 1x1 kernel at output (oh, ow) = input (oh, ow)
    base = np.arange(h)[:, None]
    off = np.zeros((1, 2, h, w))
    off[0, 0] = py[:h, :w] - base
    off[0, 1] = px[:h, :w] - np.arange(w)
    off2 = np.zeros((1, 2, h, w))
    off2[0, 0] = py[-h:, -w:] - base
    off2[0, 1] = px[-h:, -w:] - np.arange(w)
    for o in (off, off2):
        compare_with_torch(
            lambda a, b, c: deform_conv2d(a, b, c), lambda a, b, c: TV(a, b, c), [x, o, wt], rtol=1e-12, atol=1e-12
        )


def test_zero_offsets_are_an_ordinary_convolution():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    settings_ = dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))
    oh = K.output_size(7, 3, 2, 1, 2)
    ow = K.output_size(6, 2, 1, 2, 1)
    off = np.zeros((2, 2 * 2 * 6, oh, ow))  # two offset groups
    y = deform_conv2d(mc.tensor(x), mc.tensor(off), mc.tensor(w), mc.tensor(b), **settings_)
    ref = conv2d(mc.tensor(x), mc.tensor(w), mc.tensor(b), groups=2, **settings_)
    tref = TF.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), groups=2, **settings_)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), tref.numpy(), rtol=1e-12, atol=1e-12)
    # a mask of ones is v1
    ones = mc.tensor(np.ones((2, 2 * 6, oh, ow)))
    y2 = deform_conv2d(mc.tensor(x), mc.tensor(off), mc.tensor(w), mc.tensor(b), mask=ones, **settings_)
    np.testing.assert_allclose(y2.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)


def test_chunks_of_images_give_the_same_numbers():
    """A batch whose columns exceed the im2col budget is done in chunks: the same bits."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((5, 3, 5, 5)), rng.uniform(-2, 2, (5, 18, 3, 3)), rng.standard_normal((4, 3, 3, 3))]
    mask = rng.uniform(size=(5, 9, 3, 3))
    gy = rng.standard_normal((5, 4, 3, 3))
    args = ((1, 1), (0, 0), (1, 1))
    whole = K.deform_conv2d_forward(*arrays, None, mask, *args)
    grads = K.deform_conv2d_backward(gy, *arrays, mask, *args)
    budget = conv_kernels.get_im2col_budget()
    try:
        conv_kernels.set_im2col_budget(3 * 27 * 9 * 8 * 2)  # two images a chunk
        chunked = K.deform_conv2d_forward(*arrays, None, mask, *args)
        grads2 = K.deform_conv2d_backward(gy, *arrays, mask, *args)
    finally:
        conv_kernels.set_im2col_budget(budget)
    np.testing.assert_array_equal(whole, chunked)
    for a, b in zip(grads, grads2):
        np.testing.assert_array_equal(a, b)


def test_input_gradient_memory_stays_near_the_columns_size():
    """dX scatters each corner's share on its own: the temporaries are n*C*P values and flat
    positions, not four corners' worth (which made the peak 3.5 times the columns)."""
    import tracemalloc

    rng = np.random.default_rng(3)
    n, c, h, w, k = 2, 16, 16, 16, 3
    x, w_ = rng.standard_normal((n, c, h, w)).astype(np.float32), rng.standard_normal((c, c, k, k)).astype(np.float32)
    off = rng.uniform(-2, 2, (n, 2 * k * k, h, w)).astype(np.float32)
    gy = rng.standard_normal((n, c, h, w)).astype(np.float32)
    cols = n * c * k * k * h * w * 4  # bytes of the column matrix
    tracemalloc.start()
    try:
        dx = K.deform_conv2d_backward(
            gy, x, off, w_, None, (1, 1), (1, 1), (1, 1), need=(True, False, False, False, False)
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * cols, f"peak {peak / cols:.2f} x the columns"
    np.testing.assert_allclose(dx[0], K.deform_conv2d_backward(gy, x, off, w_, None, (1, 1), (1, 1), (1, 1))[0])


def test_only_the_needed_gradients_are_computed():
    rng = np.random.default_rng(2)
    x, off, w = rng.standard_normal((1, 2, 4, 4)), rng.uniform(-1, 1, (1, 8, 3, 3)), rng.standard_normal((2, 2, 2, 2))
    mask, gy = rng.uniform(size=(1, 4, 3, 3)), rng.standard_normal((1, 2, 3, 3))
    full = K.deform_conv2d_backward(gy, x, off, w, mask, (1, 1), (0, 0), (1, 1))
    for i in range(5):
        need = tuple(j == i for j in range(5))
        part = K.deform_conv2d_backward(gy, x, off, w, mask, (1, 1), (0, 0), (1, 1), need=need)
        assert all((p is None) == (j != i) for j, p in enumerate(part))
        np.testing.assert_allclose(part[i], full[i], rtol=1e-13, atol=1e-13)


# -- numerical gradients and second derivatives ----------------------------------------------
@pytest.mark.parametrize("with_mask", [False, True])
def test_gradcheck(with_mask):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 2, 4, 5)), away_from_integers(rng, (2, 16, 3, 3), 3)]
    arrays += [rng.standard_normal((2, 1, 2, 2)), rng.standard_normal(2)]  # groups 2, offset groups 2
    if with_mask:
        arrays.append(rng.uniform(0.2, 1.5, (2, 8, 3, 3)))
    ts = [mc.tensor(a, requires_grad=True) for a in arrays]

    def fn(*t):
        return deform_conv2d(t[0], t[1], t[2], t[3], (1, 2), (0, 1), (1, 1), t[4] if with_mask else None)

    assert mc.gradcheck(fn, ts)


def test_gradgradcheck():
    rng = np.random.default_rng(5)
    arrays = [
        rng.standard_normal((1, 2, 3, 4)),
        away_from_integers(rng, (1, 8, 2, 3), 2),
        rng.standard_normal((2, 2, 2, 2)),
        rng.uniform(0.2, 1.5, (1, 4, 2, 3)),
    ]
    ts = [mc.tensor(a, requires_grad=True) for a in arrays]
    assert mc.gradgradcheck(lambda x, o, w, m: deform_conv2d(x, o, w, mask=m), ts)


@settings(max_examples=10, deadline=None)
@given(case=cases(offsets=("uniform",), max_size=5))
def test_second_derivatives_like_a_torch_composite(case):
    arrays, has_bias, has_mask, stride, padding, dilation = case
    rng = np.random.default_rng(int(abs(arrays[1]).sum() * 1e6) % 2**32)
    arrays[1] = away_from_integers(rng, arrays[1].shape, 4)
    mc_fn, tv_fn = both(has_bias, has_mask, stride, padding, dilation)

    def torch_fn(*ts):
        return torch_composite(*split(ts, has_bias, has_mask), stride, padding, dilation)

    tensors = [torch.tensor(a) for a in arrays]  # the oracle is torchvision's op
    np.testing.assert_allclose(torch_fn(*tensors).numpy(), tv_fn(*tensors).numpy(), rtol=1e-10, atol=1e-12)
    double_backward_like_torch(mc_fn, torch_fn, arrays, rtol=1e-9, atol=1e-10)


def test_create_graph_through_the_layer():
    """A gradient penalty on the offsets trains the layer: its gradient reaches the weight."""
    mc.manual_seed(0)
    layer = DeformConv2d(2, 3, 3, padding=1).double()
    rng = np.random.default_rng(6)
    x = mc.tensor(rng.standard_normal((1, 2, 4, 4)))
    off = mc.tensor(away_from_integers(rng, (1, 18, 4, 4), 1), requires_grad=True)
    (g,) = mc.autograd.grad(layer(x, off).sum(), [off], create_graph=True)
    (g * g).sum().backward()
    assert layer.weight.grad is not None and float(abs(layer.weight.grad.numpy()).sum()) > 0


# -- the layer -----------------------------------------------------------------------------------
def test_layer_matches_torchvision():
    mc.manual_seed(0)
    layer = DeformConv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2).double()
    tl = torchvision.ops.DeformConv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2).double()
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(layer.weight.numpy()))
        tl.bias.copy_(torch.tensor(layer.bias.numpy()))
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 6, 5))
    oh, ow = K.output_size(6, 3, 2, 1, 1), K.output_size(5, 2, 1, 1, 2)
    off, mask = rng.uniform(-2, 2, (2, 12, oh, ow)), rng.uniform(size=(2, 6, oh, ow))
    for m in (None, mask):
        y = layer(mc.tensor(x), mc.tensor(off), None if m is None else mc.tensor(m))
        ty = tl(torch.tensor(x), torch.tensor(off), None if m is None else torch.tensor(m))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.sum().backward()
    assert layer.weight.grad.shape == layer.weight.shape and layer.bias.grad.shape == (6,)


def test_layer_init_repr_and_signatures():
    mc.manual_seed(0)
    layer = DeformConv2d(4, 8, 3, groups=2)
    assert layer.weight.shape == (8, 2, 3, 3) and layer.weight.dtype == np.float32 and layer.bias.shape == (8,)
    bound = 1 / math.sqrt(2 * 9)  # kaiming_uniform(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = layer.weight.numpy()
    assert np.all(abs(w) <= bound) and w.std() > bound / 3
    assert np.all(abs(layer.bias.numpy()) <= bound)
    for args, kwargs in [
        ((4, 8, 3), {}),
        ((4, 6, (3, 2)), dict(stride=2, padding=(1, 0), dilation=2, groups=2, bias=False)),
    ]:
        assert repr(DeformConv2d(*args, **kwargs)) == repr(torchvision.ops.DeformConv2d(*args, **kwargs))
    for ours, theirs in [
        (deform_conv2d, torchvision.ops.deform_conv2d),
        (DeformConv2d.__init__, torchvision.ops.DeformConv2d.__init__),
        (DeformConv2d.forward, torchvision.ops.DeformConv2d.forward),
    ]:
        mine = [(p.name, p.default, p.kind) for p in inspect.signature(ours).parameters.values()]
        tv = [(p.name, p.default, p.kind) for p in inspect.signature(theirs).parameters.values()]
        assert mine == tv
    with pytest.raises(ValueError, match="DeformConv2d: in_channels"):
        DeformConv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="DeformConv2d: out_channels"):
        DeformConv2d(4, 3, 3, groups=2)


# -- bad input -------------------------------------------------------------------------------------
def test_errors_name_the_op_and_the_shapes():
    x, w = mc.zeros((1, 4, 5, 5)), mc.zeros((6, 2, 3, 3))
    off = mc.zeros((1, 18, 3, 3))
    with pytest.raises(ValueError, match=r"deform_conv2d: expected offset of shape \(1, 18, 3, 3\).*\(1, 18, 4, 4\)"):
        deform_conv2d(x, mc.zeros((1, 18, 4, 4)), w)
    with pytest.raises(ValueError, match=r"deform_conv2d: offset.shape\[1\] must be.*multiple of 18"):
        deform_conv2d(x, mc.zeros((1, 20, 3, 3)), w)
    with pytest.raises(ValueError, match=r"offset_groups divide the 4 input channels"):
        deform_conv2d(x, mc.zeros((1, 54, 3, 3)), w)
    with pytest.raises(ValueError, match=r"deform_conv2d: expected offset of shape \(1, 18, 3, 3\)"):
        deform_conv2d(x, mc.zeros((2, 18, 3, 3)), w)
    with pytest.raises(ValueError, match=r"deform_conv2d: expected mask of shape \(1, 9, 3, 3\).*\(1, 18, 3, 3\)"):
        deform_conv2d(x, off, w, mask=mc.zeros((1, 18, 3, 3)))
    with pytest.raises(ValueError, match=r"deform_conv2d: expected bias of shape \(6,\)"):
        deform_conv2d(x, off, w, mc.zeros(5))
    with pytest.raises(ValueError, match=r"deform_conv2d: weight \(6, 3, 3, 3\) does not fit input \(1, 4, 5, 5\)"):
        deform_conv2d(x, off, mc.zeros((6, 3, 3, 3)))
    with pytest.raises(ValueError, match="deform_conv2d: input must be 4-d"):
        deform_conv2d(mc.zeros((4, 5, 5)), off, w)
    with pytest.raises(ValueError, match="deform_conv2d: the output would be"):
        deform_conv2d(mc.zeros((1, 4, 2, 2)), off, w)
    with pytest.raises(ValueError, match="deform_conv2d: stride and dilation must be positive"):
        deform_conv2d(x, off, w, stride=0)
    with pytest.raises(ValueError, match="deform_conv2d: padding must be an int or a pair"):
        deform_conv2d(x, off, w, padding=(1, 1, 1))
    with pytest.raises(TypeError, match="deform_conv2d: input is float32 but offset is float64"):
        deform_conv2d(x, mc.zeros((1, 18, 3, 3), dtype=np.float64), w)
    with pytest.raises(TypeError, match="deform_conv2d: offset must be a Tensor"):
        deform_conv2d(x, np.zeros((1, 18, 3, 3)), w)


# -- devices ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_on_device(device):
    rng = np.random.default_rng(8)
    arrays = [
        rng.standard_normal((2, 4, 5, 5)),
        rng.uniform(-3, 3, (2, 2 * 2 * 9, 3, 3)),
        rng.standard_normal((4, 2, 3, 3)),
        rng.standard_normal(4),
        rng.uniform(size=(2, 2 * 9, 3, 3)),
    ]
    arrays[1][:, ::2] = np.round(arrays[1][:, ::2])
    mc_fn, tv_fn = both(True, True, (1, 1), (0, 0), (1, 1))
    compare_with_torch(mc_fn, tv_fn, arrays, device=device, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("device", devices())
def test_second_derivatives_on_device(device):
    rng = np.random.default_rng(9)
    arrays = [
        rng.standard_normal((1, 2, 4, 4)),
        away_from_integers(rng, (1, 8, 3, 3), 2),
        rng.standard_normal((2, 2, 2, 2)),
        rng.uniform(size=(1, 4, 3, 3)),
    ]
    results = []
    for dev in ("cpu", device):
        ts = [mc.tensor(a, requires_grad=True, device=dev) for a in arrays]
        grads = mc.autograd.grad(deform_conv2d(ts[0], ts[1], ts[2], mask=ts[3]).sum(), ts, create_graph=True)
        second = mc.autograd.grad(sum((g * g).sum() for g in grads), ts)
        results.append([g.numpy() for g in (*grads, *second)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
