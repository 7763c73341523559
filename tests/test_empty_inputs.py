"""Empty inputs (a batch of 0 images, 0 channels, 0 features) against torch: no crash, torch's
shapes, zero (not missing, not NaN) parameter gradients, running statistics left alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F


def _grad(t: mc.Tensor) -> np.ndarray:
    assert t.grad is not None, "the gradient of a parameter is missing"
    return t.grad.numpy()


# -- convolution ------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("algo", ["auto", "im2col", "direct"])
@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs",
    [
        ((0, 3, 8, 8), (5, 3, 3, 3), dict(padding=1)),  # batch-last columns (output width <= 16)
        ((0, 3, 20, 20), (5, 3, 3, 3), dict(stride=1)),  # image-major columns
        ((0, 4, 9, 9), (6, 2, 3, 3), dict(stride=2, groups=2)),
        ((0, 3, 8, 8), (5, 3, 1, 1), {}),  # pointwise: the input is the column matrix
    ],
)
def test_conv2d_batch_of_zero_images(device, algo, x_shape, w_shape, kwargs):
    """Empty output and dx, zero dW and db (the im2col backward had no chunk and no dW)."""
    rng = np.random.default_rng(0)
    arrays = [np.zeros(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])]
    compare_with_torch(
        lambda x, w, b: F.conv2d(x, w, b, algo=algo, **kwargs),
        lambda x, w, b: TF.conv2d(x, w, b, **kwargs),
        arrays,
        device=device,
    )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("algo", ["auto", "depthwise"])
@pytest.mark.parametrize("stride, multiplier", [(1, 1), (2, 1), (1, 2)])
def test_depthwise_conv2d_batch_of_zero_images(device, algo, stride, multiplier):
    rng = np.random.default_rng(0)
    arrays = [
        np.zeros((0, 3, 8, 8)),
        rng.standard_normal((3 * multiplier, 1, 3, 3)),
        rng.standard_normal(3 * multiplier),
    ]
    compare_with_torch(
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=1, groups=3, algo=algo),
        lambda x, w, b: TF.conv2d(x, w, b, stride=stride, padding=1, groups=3),
        arrays,
        device=device,
    )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("algo", ["auto", "im2col", "direct"])
@pytest.mark.parametrize("size, kernel, stride, padding", [(8, 3, 1, 1), (20, 3, 1, 1), (8, 3, 2, 0), (8, 1, 1, 0)])
def test_conv2d_with_zero_input_channels_is_the_bias(device, algo, size, kernel, stride, padding):
    """x (2, 0, H, W), w (5, 0, k, k): every output is an empty sum plus the bias, shape (2, 5, OH, OW).
    torch 2.14 returns shape (2, 0, OH, OW) here -- not the 5 output channels its weight has, and its
    backward still gives db 5 zeros -- so minicnn does not copy it: the oracle is torch's convolution
    of one all-zero input channel with all-zero weights, the same sum plus one zero term."""
    rng = np.random.default_rng(0)
    b = rng.standard_normal(5)
    kw = dict(stride=stride, padding=padding)
    x = mc.zeros(2, 0, size, size, dtype=mc.float64, requires_grad=True, device=device)
    w = mc.zeros(5, 0, kernel, kernel, dtype=mc.float64, requires_grad=True, device=device)
    bm = mc.tensor(b, requires_grad=True, device=device)
    y = F.conv2d(x, w, bm, algo=algo, **kw)
    xt = torch.zeros(2, 1, size, size, dtype=torch.float64)
    wt = torch.zeros(5, 1, kernel, kernel, dtype=torch.float64)
    bt = torch.tensor(b, requires_grad=True)
    yt = TF.conv2d(xt, wt, bt, **kw)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(mc.tensor(g, device=device))
    yt.backward(torch.tensor(g))
    assert _grad(x).shape == x.shape and _grad(w).shape == w.shape
    np.testing.assert_allclose(_grad(bm), bt.grad.numpy(), rtol=1e-12)


def test_conv2d_module_batch_of_zero_images():
    conv = nn.Conv2d(3, 4, 3)
    y = conv(mc.zeros(0, 3, 8, 8))
    y.sum().backward()
    assert y.shape == (0, 4, 6, 6)
    np.testing.assert_array_equal(_grad(conv.weight), np.zeros((4, 3, 3, 3), np.float32))
    np.testing.assert_array_equal(_grad(conv.bias), np.zeros(4, np.float32))


# -- pooling and LRN --------------------------------------------------------------------------------
POOLS = {
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, 2), lambda x: TF.adaptive_max_pool2d(x, 2)),
    "adaptive_max_pool2d overlapping": (lambda x: F.adaptive_max_pool2d(x, 4), lambda x: TF.adaptive_max_pool2d(x, 4)),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, 4), lambda x: TF.adaptive_avg_pool2d(x, 4)),
    "max_pool2d 2x2": (lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    "max_pool2d 3x3/2": (lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1)),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: TF.avg_pool2d(x, 3, 2, 1)),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", POOLS)
def test_pooling_batch_of_zero_images(device, name):
    mc_fn, torch_fn = POOLS[name]
    compare_with_torch(mc_fn, torch_fn, [np.zeros((0, 4, 6, 6))], device=device)


@pytest.mark.parametrize("device", devices())
def test_adaptive_max_pool2d_batch_of_zero_images_indices(device):
    y, idx = F.adaptive_max_pool2d(mc.zeros(0, 4, 6, 6, device=device), 2, return_indices=True)
    assert y.shape == idx.shape == (0, 4, 2, 2)


ADAPTIVE_EMPTY = {
    "avg1d": (lambda m, x: m.adaptive_avg_pool1d(x[0, :, 0], 0), (2, 4, 0)),
    "max1d": (lambda m, x: m.adaptive_max_pool1d(x[0, :, 0], 0, return_indices=True), (2, 4, 0)),
    "avg2d": (lambda m, x: m.adaptive_avg_pool2d(x[0], (0, 2)), (2, 4, 0, 2)),
    "max2d": (lambda m, x: m.adaptive_max_pool2d(x[0], (2, 0), return_indices=True), (2, 4, 2, 0)),
    "avg3d": (lambda m, x: m.adaptive_avg_pool3d(x, 0), (1, 2, 0, 0, 0)),
    "max3d": (lambda m, x: m.adaptive_max_pool3d(x, (0, 1, 1), return_indices=True), (1, 2, 0, 1, 1)),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", ADAPTIVE_EMPTY)
def test_adaptive_pools_with_an_output_size_of_zero_give_empty_results(device, name):
    """torch returns empty outputs (and indices) for an output size of 0; its backward then
    refuses ("Expected grad_output to have non-zero size"), where minicnn gives the exact
    gradient of an empty result: zeros."""
    fn, shape = ADAPTIVE_EMPTY[name]
    xt = torch.randn(1, 2, 4, 4, 4, requires_grad=True)
    xm = mc.tensor(xt.detach().numpy(), requires_grad=True, device=device)
    outs_t, outs_m = fn(TF, xt), fn(F, xm)
    outs_t, outs_m = (outs_t, outs_m) if isinstance(outs_t, tuple) else ((outs_t,), (outs_m,))
    for t, m in zip(outs_t, outs_m, strict=True):
        assert tuple(m.shape) == tuple(t.shape) == shape
        assert str(m.dtype).removeprefix("torch.") == str(t.dtype).removeprefix("torch.")
    with pytest.raises(RuntimeError, match="non-zero size"):
        outs_t[0].sum().backward()
    outs_m[0].sum().backward()
    assert xm.grad.shape == (1, 2, 4, 4, 4) and not xm.grad.numpy().any()
    with pytest.raises(RuntimeError):
        TF.adaptive_avg_pool2d(xt[0], -1)
    with pytest.raises(RuntimeError, match=">= 0"):
        F.adaptive_avg_pool2d(xm[0], -1)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", [(0, 4, 6, 6), (2, 0, 6, 6), (0, 0, 5), (0, 3, 2, 2, 2)])
@pytest.mark.parametrize("size", [1, 3])
def test_local_response_norm_empty(device, shape, size):
    compare_with_torch(
        lambda x: F.local_response_norm(x, size),
        lambda x: TF.local_response_norm(x, size),
        [np.zeros(shape)],
        device=device,
    )


# -- batch norm -------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", [(0, 4), (0, 4, 5), (0, 4, 6, 6), (2, 0), (2, 0, 6, 6), (3, 4, 0, 0)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_functional_empty(device, shape, training, affine):
    """torch refuses exactly one value per channel, not none: an empty output, zero parameter
    gradients, and the running statistics untouched (never NaN)."""
    c = shape[1]
    rng = np.random.default_rng(0)
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    rm, rv = mc.tensor(mean, device=device), mc.tensor(var, device=device)
    trm, trv = torch.tensor(mean), torch.tensor(var)
    arrays = [np.zeros(shape)] + ([rng.standard_normal(c), rng.standard_normal(c)] if affine else [])
    if c == 0 and affine:  # torch 2.14 fails here (IndexError in select()); minicnn returns the empty result
        x, w, b = (mc.tensor(a, requires_grad=True, device=device) for a in arrays)
        y = F.batch_norm(x, rm, rv, w, b, training=training)
        y.sum().backward()
        assert y.shape == shape and _grad(x).shape == shape and _grad(w).shape == _grad(b).shape == (0,)
        return
    compare_with_torch(
        lambda x, *p: F.batch_norm(x, rm, rv, *p, training=training),
        lambda x, *p: TF.batch_norm(x, trm, trv, *p, training=training),
        arrays,
        device=device,
    )
    np.testing.assert_array_equal(rm.numpy(), trm.numpy())
    np.testing.assert_array_equal(rv.numpy(), trv.numpy())
    np.testing.assert_array_equal(rm.numpy(), mean)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "kind, shape", [("BatchNorm1d", (0, 4)), ("BatchNorm1d", (0, 4, 3)), ("BatchNorm2d", (0, 4, 5, 5))]
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_layer_empty_batch_counts_it_but_keeps_the_statistics(device, kind, shape, momentum):
    """As torch: num_batches_tracked counts the empty batch (so momentum=None's next average
    weighs it), the running statistics stay as they were."""
    rng = np.random.default_rng(0)
    first = rng.standard_normal((3, *shape[1:])).astype(np.float32)
    after = rng.standard_normal((3, *shape[1:])).astype(np.float32)
    mine = getattr(nn, kind)(4, momentum=momentum).to(device)
    ref = getattr(torch.nn, kind)(4, momentum=momentum)
    for batch in (first, np.zeros(shape, np.float32), after):
        y = mine(mc.tensor(batch, device=device))
        yt = ref(torch.tensor(batch))
        assert y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            np.testing.assert_allclose(getattr(mine, name).numpy(), getattr(ref, name).numpy(), rtol=1e-5, err_msg=name)
    assert int(mine.num_batches_tracked.numpy()) == 3


def test_batch_norm_still_refuses_one_value_per_channel():
    with pytest.raises(ValueError, match="expected more than 1 value per channel"):
        F.batch_norm(mc.randn(1, 4, 1, 1), mc.zeros(4), mc.ones(4), training=True)
    with pytest.raises(ValueError, match="(?i)expected more than 1 value per channel"):
        TF.batch_norm(torch.randn(1, 4, 1, 1), torch.zeros(4), torch.ones(4), training=True)


# -- softmax and linear -----------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape, dim", [((3, 0), 1), ((3, 0), -1), ((0, 3), 0), ((0, 3), 1), ((2, 0, 4), 1), ((0,), 0)])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_over_an_empty_tensor(device, shape, dim, op):
    compare_with_torch(
        lambda x: getattr(F, op)(x, dim), lambda x: getattr(TF, op)(x, dim), [np.zeros(shape)], device=device
    )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "x_shape, w_shape",
    [
        ((3, 0), (4, 0)),  # in_features = 0: the bias, broadcast
        ((2, 3, 0), (4, 0)),
        ((0,), (4, 0)),
        ((3, 5), (0, 5)),  # out_features = 0: x.grad is zero
        ((5,), (0, 5)),
        ((0, 5), (4, 5)),  # no rows
        ((0, 0), (0, 0)),
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_with_zero_features(device, x_shape, w_shape, bias):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    compare_with_torch(F.linear, TF.linear, arrays, device=device)
    x = mc.tensor(arrays[0], requires_grad=True, device=device)
    F.linear(x, *(mc.tensor(a, device=device) for a in arrays[1:])).sum().backward()
    assert _grad(x).shape == x_shape


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(("shape", "dim"), [((0, 3), 0), ((0, 3), None), ((2, 0), 1), ((2, 0), (0, 1))])
def test_mean_of_nothing_is_nan_quietly_as_torch(device, shape, dim):
    import warnings

    x, t = mc.zeros(shape, device=device, requires_grad=True), torch.zeros(shape, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's "Mean of empty slice" warning must not reach the user
        ours = x.mean() if dim is None else x.mean(dim)
        ours.sum().backward()
    theirs = t.mean() if dim is None else t.mean(dim)
    theirs.sum().backward()
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(mc.backend.to_numpy(ours.array), theirs.detach().numpy())
    assert x.grad.shape == tuple(t.grad.shape)
