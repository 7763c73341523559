"""The batch-norm kernels (minicnn.kernels.batchnorm) directly: the training forward keeps the
centred input xc and sums with einsum; float32 on MobileNet-sized maps (accuracy of the float32
sums, no float64 upcast), non-contiguous inputs, and the backward without dx, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from minicnn.kernels import batchnorm as BN


def torch_train(x, weight, bias, gy, eps=1e-5):
    """y, dx, dgamma, dbeta of torch's batch norm in training mode, in float64."""
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(weight, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    y = TF.batch_norm(tx, None, None, tw, tb, training=True, eps=eps)
    y.backward(torch.tensor(gy, dtype=torch.float64))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


@pytest.mark.parametrize("shape", [(4, 96, 64, 64), (4, 960, 4, 4), (3, 5, 7), (6, 4)])
def test_float32_training_matches_torch(shape):
    """Values with a large mean (the variance is a small difference) stay accurate in float32."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 2 + 5).astype(np.float32)
    c = shape[1]
    weight = rng.standard_normal(c).astype(np.float32)
    bias = rng.standard_normal(c).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    y, mean, var, xc, inv_std = BN.batch_norm_train_forward(x, weight, bias)
    assert xc is x or x.shape == (6, 4)  # |mean| ~ 2.5 std: the raw sums (6 values: by chance either)
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xc, inv_std, weight, True, mean if xc is x else None)
    for a in (y, mean, var, xc, inv_std, dx, dgamma, dbeta):
        assert a.dtype == np.float32
    y_ref, dx_ref, dg_ref, db_ref = torch_train(x, weight, bias, gy)
    axes = (0, *range(2, x.ndim))
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=axes), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=axes), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-3, atol=1e-4)
    scale = np.sqrt(x[:, 0].size)  # sums over m values: compare relative to their typical size
    np.testing.assert_allclose(dgamma, dg_ref, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(dbeta, db_ref, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "offset,raw",
    [(0.0, True), (3.5, True), (4.5, False), (1e4, False)],  # mean(x^2)/var = 1 + offset^2 against 16
)
def test_raw_sums_and_two_pass_statistics_match_torch(dtype, offset, raw):
    """Where every channel's mean is within ~3.9 standard deviations the statistics come from
    the raw sums (one array written; backward from x and the mean), else from the centred x;
    both against torch. One channel beyond the threshold takes the whole batch to two passes."""
    rng = np.random.default_rng(5)
    shape = (4, 6, 16, 16)
    x = rng.standard_normal(shape)
    x = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / x.std(axis=(0, 2, 3), keepdims=True)  # exactly standard
    x[:, 0] += offset  # channel 0 decides the path; the others stay centred
    x = x.astype(dtype)
    weight, bias = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    y, mean, var, xs, inv_std = BN.batch_norm_train_forward(x, weight, bias)
    assert (xs is x) is raw
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xs, inv_std, weight, True, mean if raw else None)
    y_ref, dx_ref, dg_ref, db_ref = torch_train(x, weight, bias, gy)
    tol = 2e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(y, y_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, dx_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(dgamma, dg_ref, rtol=tol, atol=tol * 32)
    np.testing.assert_allclose(dbeta, db_ref, rtol=tol, atol=tol * 32)
    assert y.dtype == dx.dtype == mean.dtype == var.dtype == dtype


def test_non_finite_input_takes_the_two_pass_statistics():
    x = np.random.default_rng(6).standard_normal((2, 3, 4, 4)).astype(np.float32)
    x[0, 1, 2, 2] = np.nan
    y, mean, var, xs, _ = BN.batch_norm_train_forward(x, None, None)
    assert xs is not x
    ref = TF.batch_norm(torch.tensor(x), None, None, training=True).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)  # NaN in channel 1 only, as torch


@pytest.mark.parametrize("shape,offset", [((2, 3, 16, 16), 1e4), ((4, 3, 4, 4), 1e6)])
def test_float32_large_mean_is_recentred_to_float64_accuracy(shape, offset):
    """A mean of 1e4..1e6 against a spread of 1 (the two-pass route): float32 sums per image
    put the mean off by many ulps of it (before: y off by 7e-4 and 2.8e-2, dgamma by 7e-3 and
    0.35); the residual mean of xc takes it back. Against torch in float64 on the same input."""
    rng = np.random.default_rng(9)
    x = (rng.standard_normal(shape) + offset).astype(np.float32)
    weight, bias = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    y, mean, var, xs, inv_std = BN.batch_norm_train_forward(x, weight, bias)
    assert xs is not x
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xs, inv_std, weight)
    y_ref, dx_ref, dg_ref, db_ref = torch_train(x, weight, bias, gy)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2, 3)), rtol=1e-5)
    ulp = np.spacing(np.float32(offset))
    assert np.all(np.abs(mean - x64.mean(axis=(0, 2, 3))) <= ulp)  # the float32 rounding of the mean only
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dgamma, dg_ref, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(dbeta, db_ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("spread,offset", [(30.0, 0.0), (1.0, 200.0)])
def test_float16_statistics_do_not_overflow(spread, offset):
    """float16: x*x and its sums pass 65504 at |x| ~ 30 on 16x16 maps (before: var inf, y all
    zero); the statistics in float32 as torch's CPU kernel. Against torch in float64 on the same
    float16 values, within float16 rounding; dtypes stay float16."""
    import minicnn as mc
    from minicnn.nn import functional as F

    rng = np.random.default_rng(11)
    a = (rng.standard_normal((2, 3, 16, 16)) * spread + offset).astype(np.float16)
    g, w, b = rng.standard_normal(a.shape).astype(np.float16), *rng.standard_normal((2, 3)).astype(np.float16)
    x, tw, tb = (mc.tensor(v, requires_grad=True) for v in (a, w, b))
    y = F.batch_norm(x, None, None, tw, tb, training=True)
    y.backward(mc.tensor(g))
    assert y.dtype == x.grad.dtype == tw.grad.dtype == tb.grad.dtype == mc.float16
    y_ref, dx_ref, dg_ref, db_ref = torch_train(a, w, b, g)
    np.testing.assert_allclose(y.numpy(), y_ref, rtol=2e-3, atol=5e-3)
    np.testing.assert_allclose(x.grad.numpy(), dx_ref, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(tw.grad.numpy(), dg_ref, rtol=2e-3, atol=2e-2)
    np.testing.assert_allclose(tb.grad.numpy(), db_ref, rtol=2e-3, atol=2e-2)


def test_infinite_value_gives_an_infinite_channel_mean_as_torch():
    x = np.random.default_rng(10).standard_normal((2, 3, 4, 4)).astype(np.float32)
    x[1, 1, 2, 2] = np.inf
    with np.errstate(invalid="ignore"):  # inf - inf in channel 1
        y, mean, var, xs, _ = BN.batch_norm_train_forward(x, None, None)
    rm, rv = torch.zeros(3), torch.ones(3)
    ref = TF.batch_norm(torch.tensor(x), rm, rv, training=True, momentum=1.0).numpy()
    np.testing.assert_allclose(mean, rm.numpy(), rtol=1e-5, atol=1e-6)  # inf in channel 1, not NaN
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_non_contiguous_input_and_no_affine():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6, 3, 4)).transpose(0, 1, 3, 2)  # (5, 6, 4, 3), not contiguous
    gy = rng.standard_normal(x.shape)
    y, mean, _, xc, inv_std = BN.batch_norm_train_forward(x, None, None)
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xc, inv_std, None, True, mean if xc is x else None)
    y_ref, dx_ref, dg_ref, db_ref = torch_train(x, np.ones(6), np.zeros(6), gy)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dgamma, dg_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dbeta, db_ref, rtol=1e-10, atol=1e-10)


def test_backward_without_dx_gives_the_parameter_gradients():
    rng = np.random.default_rng(2)
    x, gy = rng.standard_normal((3, 4, 5, 5)), rng.standard_normal((3, 4, 5, 5))
    weight = rng.standard_normal(4)
    _, mean, _, xc, inv_std = BN.batch_norm_train_forward(x, weight, None)
    mean = mean if xc is x else None
    full = BN.batch_norm_train_backward(gy, xc, inv_std, weight, mean=mean)
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xc, inv_std, weight, need_x_grad=False, mean=mean)
    assert dx is None
    np.testing.assert_array_equal(dgamma, full[1])
    np.testing.assert_array_equal(dbeta, full[2])
    _, _, dg_ref, db_ref = torch_train(x, weight, np.zeros(4), gy)
    np.testing.assert_allclose(dgamma, dg_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dbeta, db_ref, rtol=1e-10, atol=1e-10)


def test_channel_sums_of_empty_batches_are_zero():
    x = np.zeros((0, 3, 4, 4), np.float32)
    np.testing.assert_array_equal(BN.channel_sum(x), np.zeros(3, np.float32))
    np.testing.assert_array_equal(BN.channel_dot(x, x), np.zeros(3, np.float32))
    assert BN.channel_sum(np.zeros((2, 0, 3))).shape == (0,)


def test_raw_path_gradcheck_and_in_place_write_refused():
    """Through F.batch_norm in training on the raw-sum path (it keeps x itself): a float64
    gradcheck, and, as torch, an error when that input is written in place before backward."""
    import minicnn as mc
    from minicnn.nn import functional as F

    rng = np.random.default_rng(8)
    a = rng.standard_normal((3, 2, 4, 4)) + 1.0
    assert BN.batch_norm_train_forward(a, None, None)[3] is a
    x = mc.tensor(a, requires_grad=True)
    w, b = mc.tensor(rng.standard_normal(2), requires_grad=True), mc.tensor(rng.standard_normal(2), requires_grad=True)
    assert mc.gradcheck(lambda x_, w_, b_: F.batch_norm(x_, None, None, w_, b_, training=True), [x, w, b])
    h = x * 1.0
    y = F.batch_norm(h, None, None, w, b, training=True)
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        y.sum().backward()
    th = torch.tensor(a, requires_grad=True) * 1.0
    ty = TF.batch_norm(th, None, None, training=True)
    th.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        ty.sum().backward()


@pytest.mark.parametrize(
    "shape,flat",
    [((3, 5, 4, 4), True), ((2, 3, 7), True), ((1, 5, 4, 4), False), ((2, 1, 2**17 + 1), False), ((4, 6), False)],
)
@pytest.mark.parametrize("gy_contiguous", [True, False])
def test_flat_and_broadcast_layouts_match_torch(shape, flat, gy_contiguous):
    """The per-channel passes on the (N, C*L) view with repeated vectors (several images, small
    maps, C-contiguous operands) and in the (1, C, 1, ...) broadcast form (one image, more than
    FLAT_MAX_IMAGE values an image, a gy of other strides, 2-d input) give torch's training and
    evaluation results."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape)
    c = shape[1]
    weight, bias, gy = rng.standard_normal(c), rng.standard_normal(c), rng.standard_normal(shape)
    if not gy_contiguous:
        gy = np.asfortranarray(gy)
    views, _ = BN.channel_views((x, gy), weight)
    assert (views[0].ndim == 2 and x.ndim > 2) is (flat and gy_contiguous)
    y, mean, _, xs, inv_std = BN.batch_norm_train_forward(x, weight, bias)
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xs, inv_std, weight, True, mean if xs is x else None)
    y_ref, dx_ref, dg_ref, db_ref = torch_train(x, weight, bias, gy)
    for a, ref in ((y, y_ref), (dx, dx_ref), (dgamma, dg_ref), (dbeta, db_ref)):
        assert a.shape == ref.shape
        np.testing.assert_allclose(a, ref, rtol=1e-10, atol=1e-10)
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
    y_eval, _ = BN.batch_norm_eval_forward(x, rm, rv, weight, bias)
    ref = TF.batch_norm(*(torch.tensor(v) for v in (x, rm, rv, weight, bias)), training=False)
    np.testing.assert_allclose(y_eval, ref.numpy(), rtol=1e-12, atol=1e-12)
