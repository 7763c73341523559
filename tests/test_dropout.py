"""Dropout and Dropout2d: statistics, scaling, mask reuse in backward, modes and seeding.

Dropout draws from minicnn's own generator, so masks cannot equal torch's; the tests check
the distribution and the exact algebra instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import devices

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F


def keep_fraction_tolerance(p: float, n: int) -> float:
    """Six standard deviations of the observed keep fraction of n Bernoulli(1-p) draws."""
    return 6 * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keep_rate_and_scaling(p, device):
    mc.manual_seed(0)
    x = mc.ones(100, 1000, device=device) * 3.0
    y = F.dropout(x, p).numpy()
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < keep_fraction_tolerance(p, y.size)
    np.testing.assert_allclose(y[kept], 3.0 / (1 - p), rtol=1e-6)  # inverted: survivors scaled by 1/(1-p)
    assert abs(y.mean() - 3.0) < 3.0 * 6 * np.sqrt(p / (1 - p) / y.size)  # E[y] = x


@pytest.mark.parametrize("fn", [F.dropout, F.dropout2d])
def test_backward_reuses_the_forward_mask(fn):
    mc.manual_seed(1)
    x = mc.tensor(np.random.default_rng(0).uniform(1, 2, (4, 8, 5, 5)), requires_grad=True)
    y = fn(x, 0.4)
    g = np.random.default_rng(1).standard_normal(y.shape)
    (y * mc.tensor(g)).sum().backward()
    mask = y.numpy() / x.numpy()  # 0 or 1/(1-p) per element
    assert set(np.unique(np.round(mask, 12))) <= {0.0, round(1 / 0.6, 12)}
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-12)


def test_dropout2d_zeroes_whole_channels():
    mc.manual_seed(2)
    x = mc.tensor(np.random.default_rng(0).uniform(1, 2, (64, 32, 4, 3)))
    y = F.dropout2d(x, 0.3).numpy()
    zero_maps = (y == 0).all(axis=(2, 3))
    kept_maps = (y != 0).all(axis=(2, 3))
    assert (zero_maps | kept_maps).all()  # every (n, c) map is dropped or kept whole
    assert abs(kept_maps.mean() - 0.7) < keep_fraction_tolerance(0.3, zero_maps.size)
    np.testing.assert_allclose(y[kept_maps], x.numpy()[kept_maps] / 0.7, rtol=1e-6)


@pytest.mark.parametrize("fn", [F.dropout, F.dropout2d])
def test_p_zero_and_eval_are_identity(fn):
    x = mc.randn(2, 3, 4, 4, requires_grad=True)
    assert fn(x, 0.0) is x
    assert fn(x, 0.7, training=False) is x


@pytest.mark.parametrize("fn", [F.dropout, F.dropout2d])
def test_p_one_gives_zeros_without_division_by_zero(fn):
    x = mc.randn(2, 3, 4, 4, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero RuntimeWarning
        y = fn(x, 1.0)
        y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), 0.0)
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_manual_seed_makes_masks_reproducible():
    x = mc.ones(50, 50)
    mc.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    mc.manual_seed(7)
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_dropout_gradcheck():
    x = mc.tensor(np.random.default_rng(3).standard_normal((3, 4, 2, 2)), requires_grad=True)

    def seeded(fn):  # gradcheck calls fn many times: reseed so every call draws the same mask
        def run(t):
            mc.manual_seed(11)
            return fn(t, 0.3)

        return run

    assert mc.gradcheck(seeded(F.dropout), [x])
    assert mc.gradcheck(seeded(F.dropout2d), [x])


def test_inplace_without_graph_overwrites_input():
    mc.manual_seed(4)
    x = mc.ones(10, 10)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    # in a graph, as torch: a leaf that requires grad refuses; a non-leaf is written in place
    # (aliases see it) and the write is recorded, so gradients flow through the mask
    x = mc.ones(10, 10, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.dropout(x, 0.5, inplace=True)
    h = x * 1.0
    alias = h
    y = F.dropout(h, 0.5, inplace=True)
    y.sum().backward()
    np.testing.assert_array_equal(alias.numpy(), y.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())
    # without a graph, an op that kept the input notices the write (its version moved)
    w = mc.ones(4, requires_grad=True)
    c = mc.ones(4)
    s = (w * c).sum()
    F.dropout(c, 0.5, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.backward()


def test_layers_follow_training_mode():
    mc.manual_seed(5)
    for ours, theirs in [(nn.Dropout(0.25), torch.nn.Dropout(0.25)), (nn.Dropout2d(), torch.nn.Dropout2d())]:
        assert repr(ours) == repr(theirs)
        x = mc.ones(8, 16, 4, 4)
        assert (ours(x).numpy() == 0).any()
        ours.eval()
        assert ours(x) is x
        ours.train()
        assert (ours(x).numpy() == 0).any()


def test_invalid_probability_and_shapes():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="dropout: .*between 0 and 1"):
        F.dropout(mc.randn(3), -0.1)
    with pytest.raises(ValueError, match=r"Dropout2d\(p=0.5\).*got shape \(3,\)"):
        nn.Dropout2d()(mc.randn(3))
    with pytest.raises(TypeError, match="floating point"):
        F.dropout(mc.tensor(np.ones(4, dtype=np.int64)), 0.5)


@pytest.mark.parametrize("shape", [(3,), (0,)])
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("layer", [True, False])
def test_dropout2d_of_a_1d_input_like_torch(shape, p, layer):
    """torch's feature dropout refuses a 1-D input (RuntimeError) only when it would draw a mask:
    p = 0 is the identity, p = 1 zeros, an empty input passes."""
    fn = nn.Dropout2d(p) if layer else (lambda t: F.dropout2d(t, p))
    tfn = torch.nn.Dropout2d(p) if layer else (lambda t: TF.dropout2d(t, p))
    x = np.arange(1.0, 1.0 + shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the rank warning of dropout2d
        try:
            expected = tfn(torch.tensor(x)).numpy()
        except RuntimeError:
            with pytest.raises(RuntimeError, match=r"(?i)dropout2d"):
                fn(mc.tensor(x))
            return
        np.testing.assert_array_equal(fn(mc.tensor(x)).numpy(), expected)


@pytest.mark.parametrize("shape", [(6, 40), (4, 6, 3, 2, 2), (8, 16, 10)])
@pytest.mark.parametrize("layer", [True, False])
def test_dropout2d_other_ranks_warn_and_drop_whole_channels_like_torch(shape, layer):
    """torch 2.14 warns for 2-D, 3-D and 5-D inputs and drops whole (n, c) slices (for 2-D,
    single elements); it used to be a ValueError in the layer."""
    fn = nn.Dropout2d(0.5) if layer else (lambda t: F.dropout2d(t, 0.5))
    tfn = torch.nn.Dropout2d(0.5) if layer else (lambda t: TF.dropout2d(t, 0.5))
    with pytest.warns(UserWarning, match="dropout2d: Received a") as ours:
        y = fn(mc.ones(shape)).numpy()
    with pytest.warns(UserWarning, match="dropout2d: Received a") as theirs:
        tfn(torch.ones(shape))
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    per_channel = y.reshape(shape[0], shape[1], -1)
    assert (per_channel == per_channel[..., :1]).all() and set(np.unique(y)) == {0.0, 2.0}
