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
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xc, inv_std, weight)
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


def test_non_contiguous_input_and_no_affine():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6, 3, 4)).transpose(0, 1, 3, 2)  # (5, 6, 4, 3), not contiguous
    gy = rng.standard_normal(x.shape)
    y, _, _, xc, inv_std = BN.batch_norm_train_forward(x, None, None)
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xc, inv_std, None)
    y_ref, dx_ref, dg_ref, db_ref = torch_train(x, np.ones(6), np.zeros(6), gy)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dgamma, dg_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dbeta, db_ref, rtol=1e-10, atol=1e-10)


def test_backward_without_dx_gives_the_parameter_gradients():
    rng = np.random.default_rng(2)
    x, gy = rng.standard_normal((3, 4, 5, 5)), rng.standard_normal((3, 4, 5, 5))
    weight = rng.standard_normal(4)
    _, _, _, xc, inv_std = BN.batch_norm_train_forward(x, weight, None)
    full = BN.batch_norm_train_backward(gy, xc, inv_std, weight)
    dx, dgamma, dbeta = BN.batch_norm_train_backward(gy, xc, inv_std, weight, need_x_grad=False)
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
