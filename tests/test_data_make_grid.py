"""``mc.data.make_grid`` against torchvision.utils.make_grid: layouts, normalisation, padding,
one-channel and single images, lists, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc


@pytest.mark.parametrize("device", devices())
@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from(
        [(5, 3, 4, 6), (1, 3, 4, 4), (3, 1, 5, 5), (4, 2, 3, 3), (9, 1, 2, 2), (3, 4, 4), (1, 4, 4), (4, 5)]
    ),
    nrow=st.integers(1, 9),
    padding=st.integers(0, 3),
    normalize=st.booleans(),
    value_range=st.sampled_from([None, (-0.5, 0.5), (0.0, 2.0)]),
    scale_each=st.booleans(),
    pad_value=st.sampled_from([0.0, 0.7, -1.0]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_make_grid_matches_torchvision(
    device, shape, nrow, padding, normalize, value_range, scale_each, pad_value, dtype, seed
):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    kw = dict(nrow=nrow, padding=padding, normalize=normalize, value_range=value_range, scale_each=scale_each)
    want = torchvision.utils.make_grid(torch.tensor(a), pad_value=pad_value, **kw)
    got = mc.data.make_grid(mc.tensor(a, device=device), pad_value=pad_value, **kw)
    assert got.shape == tuple(want.shape) and got.dtype == dtype and got.device.type == device
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", devices())
def test_make_grid_of_a_list_and_of_a_graph_output(device):
    images = [np.random.default_rng(i).standard_normal((3, 4, 5)).astype(np.float32) for i in range(3)]
    want = torchvision.utils.make_grid([torch.tensor(x) for x in images], nrow=2, normalize=True)
    x = mc.tensor(np.stack(images), requires_grad=True, device=device)
    got = mc.data.make_grid([t for t in x * 2], nrow=2, normalize=True)  # the DCGAN tutorial shows netG(noise)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)
    assert not got.requires_grad and not mc.data.make_grid(x).requires_grad


def test_make_grid_errors_like_torchvision():
    for bad in (np.zeros((2, 3, 4, 4)), [np.zeros((3, 4, 4))]):
        with pytest.raises(TypeError):
            torchvision.utils.make_grid(bad)
        with pytest.raises(TypeError, match="tensor or list of tensors expected"):
            mc.data.make_grid(bad)
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        torchvision.utils.make_grid(torch.zeros(2, 3, 4, 4), normalize=True, value_range=[0, 1])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        mc.data.make_grid(mc.zeros(2, 3, 4, 4), normalize=True, value_range=[0, 1])
    with pytest.raises(ValueError, match=r"make_grid: expected images .* got shape \(1, 2, 3, 4, 5\)"):
        mc.data.make_grid(mc.zeros(1, 2, 3, 4, 5))
