"""Dropout1d/3d, AlphaDropout, FeatureAlphaDropout, RReLU (random draws: minicnn's own
generator, so the tests check the exact algebra and the statistics, and compare with torch
wherever the result is deterministic), Softmax2d and the in-place functional forms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F

SETTINGS = settings(max_examples=25, deadline=None)
ALPHA = 1.7580993408473766  # -(SELU's saturation value)


def alpha_constants(p: float) -> tuple[float, float, float]:
    """(a, kept shift, dropped value) of alpha dropout: kept -> a x + a ALPHA p, dropped -> a ALPHA (p - 1)."""
    a = 1.0 / np.sqrt((1 - p) * (1 + p * ALPHA**2))
    return a, a * ALPHA * p, a * ALPHA * (p - 1)


# -- alpha dropout --------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("p", [0.1, 0.3, 0.7])
@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_algebra_and_gradient(device, p, feature):
    mc.manual_seed(1)
    x_np = np.random.default_rng(0).standard_normal((50, 40, 6))
    x = mc.tensor(x_np, requires_grad=True, device=device)
    y = (F.feature_alpha_dropout if feature else F.alpha_dropout)(x, p, training=True)
    y.backward(mc.ones(y.shape, dtype=mc.float64, device=device))
    a, shift, dropped = alpha_constants(p)
    got, grad = y.numpy(), x.grad.numpy()
    kept = grad != 0
    np.testing.assert_allclose(grad[kept], a, rtol=1e-12)
    np.testing.assert_allclose(got[kept], a * x_np[kept] + shift, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[~kept], dropped, rtol=1e-12)
    if feature:  # one decision per (n, c)
        assert np.all(kept == kept[..., :1])
    n = kept[..., 0].size if feature else kept.size
    assert abs(kept.mean() - (1 - p)) < 6 * np.sqrt(p * (1 - p) / n)


def test_alpha_dropout_constants_are_torchs():
    """torch's two output values for an all-ones input, and its gradient, are ours."""
    torch.manual_seed(0)
    for p in (0.2, 0.5):
        xt = torch.ones(20000, dtype=torch.float64, requires_grad=True)
        yt = TF.alpha_dropout(xt, p, True)
        yt.sum().backward()
        a, shift, dropped = alpha_constants(p)
        np.testing.assert_allclose(np.unique(yt.detach().numpy()), [dropped, a + shift], rtol=1e-12)
        np.testing.assert_allclose(np.unique(xt.grad.numpy()), [0.0, a], rtol=1e-12)


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    mc.manual_seed(2)
    x = mc.randn(400_000, dtype=mc.float64)
    y = F.alpha_dropout(x, 0.4, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01


@pytest.mark.parametrize("fn", [F.alpha_dropout, F.feature_alpha_dropout])
def test_alpha_dropout_edges_as_torch(fn):
    x = mc.randn(3, 4, 5)
    assert fn(x, 0.5, training=False) is x and fn(x, 0.0, training=True) is x
    assert np.array_equal(fn(x, 1.0, training=True).numpy(), np.zeros((3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="between 0 and 1"):
        fn(x, 1.5, training=True)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.feature_alpha_dropout(mc.randn(5), 0.5, training=True)


def test_alpha_dropout_gradcheck():
    x = mc.tensor(np.random.default_rng(3).standard_normal((4, 5, 3)), requires_grad=True)
    for fn in (F.alpha_dropout, F.feature_alpha_dropout):

        def seeded(a, fn=fn):  # the same mask on every evaluation
            mc.manual_seed(7)
            return fn(a, 0.4, training=True)

        assert mc.gradcheck(seeded, [x])


def test_alpha_dropout_inplace():
    mc.manual_seed(4)
    x = mc.randn(30, 20, dtype=mc.float64)
    before = x.numpy().copy()
    y = F.alpha_dropout(x, 0.3, training=True, inplace=True)
    assert y is x
    a, shift, dropped = alpha_constants(0.3)
    got = x.numpy()
    kept = ~np.isclose(got, dropped, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[kept], a * before[kept] + shift, rtol=1e-12)
    leaf = mc.randn(5, 6, requires_grad=True, dtype=mc.float64)
    z = leaf * 1.0
    F.alpha_dropout(z, 0.5, training=True, inplace=True).sum().backward()
    assert set(np.unique(leaf.grad.numpy()).round(12)) <= {0.0, round(alpha_constants(0.5)[0], 12)}


# -- dropout1d / dropout3d -------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    ("fn", "shape"),
    [(F.dropout1d, (6, 8, 5)), (F.dropout1d, (8, 5)), (F.dropout3d, (3, 4, 2, 3, 2)), (F.dropout3d, (4, 2, 3, 2))],
)
def test_channel_dropout_zeroes_whole_channels(device, fn, shape):
    mc.manual_seed(5)
    x = mc.tensor(np.random.default_rng(5).uniform(1, 2, shape), requires_grad=True, device=device)
    y = fn(x, 0.5)
    y.backward(mc.ones(shape, dtype=mc.float64, device=device))
    batched = len(shape) in (3, 5)
    spatial = tuple(range(2 if batched else 1, len(shape)))
    zero = (y.numpy() == 0).all(axis=spatial)
    assert np.array_equal(zero, (y.numpy() == 0).any(axis=spatial))  # whole channels, or none
    assert zero.any() and not zero.all()
    np.testing.assert_allclose(y.numpy()[~zero], x.numpy()[~zero] * 2.0)
    np.testing.assert_allclose(x.grad.numpy()[~zero], 2.0)
    assert np.all(x.grad.numpy()[zero] == 0)


def test_channel_dropout_ranks_as_torch():
    for shape in ((5,), (2, 3, 4, 5)):
        with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
            F.dropout1d(mc.zeros(shape))
        with pytest.raises(RuntimeError, match="Expected 2D or 3D input"):
            TF.dropout1d(torch.zeros(shape))
    for shape in ((2, 3), (2, 3, 4)):
        with pytest.warns(UserWarning, match="Received a .*-D input to dropout3d"):
            y = F.dropout3d(mc.ones(shape), 0.5)
        assert y.shape == shape
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.dropout3d(mc.ones(2, 3, 4, 5), 0.5)
    x = mc.randn(2, 3, 4)
    assert F.dropout1d(x, 0.5, training=False) is x


def test_channel_dropout_inplace_unbatched():
    mc.manual_seed(6)
    leaf = mc.tensor(np.ones((8, 5)), requires_grad=True)
    z = leaf * 1.0
    y = F.dropout1d(z, 0.5, inplace=True)
    np.testing.assert_array_equal(z.numpy(), y.numpy())  # written into z
    y.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), y.numpy())  # d/dx of x * mask is the mask


@pytest.mark.parametrize("name", ["Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"])
def test_dropout_layers_like_torch(name):
    for args in ((), (0.2,), (0.3, True)):
        assert repr(getattr(nn, name)(*args)) == repr(getattr(tnn, name)(*args))
    layer = getattr(nn, name)(0.5).eval()
    x = mc.randn(2, 3, 4, 5, 6) if name == "Dropout3d" else mc.randn(2, 3, 4)
    assert layer(x) is x
    layer.train()
    mc.manual_seed(0)
    assert not np.array_equal(layer(x).numpy(), x.numpy())


# -- rrelu ------------------------------------------------------------------------------------------
@SETTINGS
@given(
    shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=5),
    bounds=st.sampled_from([(1 / 8, 1 / 3), (0.0, 0.5), (0.2, 0.2), (0.3, 0.9)]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_rrelu_eval_matches_torch(shape, bounds, dtype, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    lo, hi = bounds
    compare_with_torch(
        lambda t: F.rrelu(t, lo, hi, training=False), lambda t: TF.rrelu(t, lo, hi, training=False), [x], dtype=dtype
    )


@pytest.mark.parametrize("device", devices())
def test_rrelu_training_draws_one_slope_per_negative_element(device):
    mc.manual_seed(8)
    x_np = np.random.default_rng(8).standard_normal((200, 300))
    x = mc.tensor(x_np, requires_grad=True, device=device)
    y = F.rrelu(x, 0.1, 0.4, training=True)
    y.backward(mc.ones(200, 300, dtype=mc.float64, device=device))
    neg = x_np <= 0
    slope = y.numpy()[neg] / x_np[neg]
    assert slope.min() >= 0.1 and slope.max() <= 0.4 and abs(slope.mean() - 0.25) < 0.005
    np.testing.assert_allclose(x.grad.numpy()[neg], slope, rtol=1e-12)
    np.testing.assert_array_equal(y.numpy()[~neg], x_np[~neg])
    np.testing.assert_array_equal(x.grad.numpy()[~neg], 1.0)


def test_rrelu_gradcheck_and_inplace():
    x = mc.tensor(np.random.default_rng(9).standard_normal((4, 5)), requires_grad=True)

    def seeded(a):
        mc.manual_seed(3)
        return F.rrelu(a, 0.1, 0.5, training=True)

    assert mc.gradcheck(seeded, [x])
    assert mc.gradcheck(lambda a: F.rrelu(a, 0.1, 0.5), [x])
    z = mc.tensor([-2.0, 3.0])
    assert F.rrelu_(z) is z
    np.testing.assert_allclose(z.numpy(), [-2.0 * (1 / 8 + 1 / 3) / 2, 3.0], rtol=1e-6)


def test_rrelu_layer():
    for args in ((), (0.2, 0.4), (0.1, 0.3, True)):
        assert repr(nn.RReLU(*args)) == repr(tnn.RReLU(*args))
    layer, x = nn.RReLU(0.1, 0.3).eval(), np.random.default_rng(10).standard_normal((3, 4))
    compare_with_torch(layer, tnn.RReLU(0.1, 0.3).eval(), [x])


# -- Softmax2d and the in-place functional forms ------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4, 5)])
def test_softmax2d_matches_torch(shape):
    compare_with_torch(nn.Softmax2d(), tnn.Softmax2d(), [np.random.default_rng(11).standard_normal(shape)])
    with pytest.raises(ValueError, match="expected input to be 3D or 4D, got 2D instead"):
        nn.Softmax2d()(mc.zeros(2, 3))
    assert repr(nn.Softmax2d()) == repr(tnn.Softmax2d())


INPLACE = [
    ("elu_", dict(alpha=0.7)),
    ("celu_", dict(alpha=1.5)),
    ("selu_", {}),
    ("hardtanh_", dict(min_val=-0.4, max_val=0.6)),
    ("threshold_", dict(threshold=0.2, value=-1.0)),
    ("leaky_relu_", dict(negative_slope=0.3)),
    ("rrelu_", dict(lower=0.2, upper=0.4)),
]


@pytest.mark.parametrize(("name", "kw"), INPLACE)
def test_inplace_functional_forms_match_torch(name, kw):
    x = np.random.default_rng(12).standard_normal((3, 4)) + 0.05  # no element on a kink

    def ours(t):  # written into u's memory; the result carries the graph of the write
        u = t * 1.0
        y = getattr(F, name)(u, **kw)
        np.testing.assert_array_equal(u.numpy(), y.numpy())
        return y

    def theirs(t):
        u = t * 1.0
        assert getattr(TF, name)(u, **kw) is u
        return u

    compare_with_torch(ours, theirs, [x])


def test_inplace_ops_on_empty_tensors_as_torch():
    """An empty tensor has nothing to write: in-place ops return it (NumPy gives it zero strides,
    which must not read as an expand()ed view)."""
    for fn in (lambda t: F.dropout(t, 0.5, True, True), F.elu_, F.relu_, lambda t: t.zero_(), lambda t: t.add_(1)):
        x = mc.zeros(0, 4)
        assert fn(x).shape == (0, 4)


@pytest.mark.filterwarnings("ignore:.*Received a 0-D input to dropout3d")
def test_probability_and_rank_checks_in_torchs_order():
    """p is checked first; in eval mode or with p = 0 any rank is returned as is, and with p = 1
    feature alpha dropout zeros a 1-d input, as torch; rrelu refuses lower > upper."""
    for lib, functional in ((mc, F), (torch, TF)):
        x = lib.ones(5)
        assert functional.feature_alpha_dropout(x, 0.5, training=False) is x
        assert functional.feature_alpha_dropout(x, 1.0, training=True).shape == (5,)
        assert tuple(functional.dropout3d(lib.tensor(1.0), 0.5, training=False).shape) == ()
        with pytest.raises(ValueError, match="between 0 and 1"):
            functional.feature_alpha_dropout(x, 1.5, training=True)
        with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
            functional.rrelu(lib.tensor([-1.0]), 0.3, 0.1)
    assert repr(nn.Dropout1d(0)) == repr(tnn.Dropout1d(0)) == "Dropout1d(p=0, inplace=False)"
