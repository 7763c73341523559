"""Layers an audit against torch found lacking or different, each now checked against torch:
the shrink activations, pairwise distance and its module, InstanceNorm1d, elu's accuracy near
0, an empty batch through interpolate's backward, mixed dtypes in the normalisations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import compare_with_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
import minicnn.nn.functional as F

SETTINGS = settings(max_examples=20, deadline=None)
TF = torch.nn.functional


@SETTINGS
@given(
    shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4),
    lambd=st.sampled_from([0.5, 0.3, 1.0]),
    seed=st.integers(0, 999),
)
def test_shrink_activations_equal_torch(shape, lambd, seed):
    rng = np.random.default_rng(seed)
    a = rng.choice([-1.0, -0.5, -0.3, 0.0, 0.3, 0.5, 1.0], shape) + rng.uniform(-0.2, 0.2, shape) * (
        rng.random(shape) < 0.5
    )  # exactly at +-lambd as well as around it
    compare_with_torch(F.tanhshrink, TF.tanhshrink, [a])
    compare_with_torch(lambda x: F.softshrink(x, lambd), lambda x: TF.softshrink(x, lambd), [a])
    compare_with_torch(lambda x: F.hardshrink(x, lambd), lambda x: TF.hardshrink(x, lambd), [a])
    for name, mod in (("Tanhshrink", {}), ("Softshrink", {"lambd": lambd}), ("Hardshrink", {"lambd": lambd})):
        assert str(getattr(mc.nn, name)(**mod)) == str(getattr(torch.nn, name)(**mod))


def test_shrink_gradcheck_and_refusals():
    x = mc.tensor(np.array([-1.3, -0.2, 0.1, 0.8]), requires_grad=True)
    assert mc.gradcheck(lambda t: F.softshrink(t, 0.5) + F.hardshrink(t, 0.5) + F.tanhshrink(t), [x])
    with pytest.raises(TypeError):
        F.softshrink(mc.tensor([1, 2]))


@SETTINGS
@given(
    n=st.integers(1, 4),
    d=st.integers(1, 5),
    p=st.sampled_from([2.0, 1.0, 3.0]),
    keepdim=st.booleans(),
    seed=st.integers(0, 999),
)
def test_pairwise_distance_and_modules_equal_torch(n, d, p, keepdim, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    compare_with_torch(
        lambda x, y: F.pairwise_distance(x, y, p, 1e-6, keepdim),
        lambda x, y: TF.pairwise_distance(x, y, p, 1e-6, keepdim),
        [a, b],
    )
    compare_with_torch(
        lambda x, y: mc.nn.PairwiseDistance(p)(x, y), lambda x, y: torch.nn.PairwiseDistance(p)(x, y), [a, b]
    )
    compare_with_torch(
        lambda x, y: mc.nn.CosineSimilarity(dim=1)(x, y), lambda x, y: torch.nn.CosineSimilarity(dim=1)(x, y), [a, b]
    )
    assert str(mc.nn.PairwiseDistance()) == str(torch.nn.PairwiseDistance())
    assert str(mc.nn.CosineSimilarity()) == str(torch.nn.CosineSimilarity())


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("batched", [False, True])
def test_instance_norm_1d_equals_torch(affine, batched):
    rng = np.random.default_rng(0)
    shape = (2, 3, 7) if batched else (3, 7)
    ours, theirs = mc.nn.InstanceNorm1d(3, affine=affine).double(), torch.nn.InstanceNorm1d(3, affine=affine).double()
    assert str(ours) == str(theirs)
    if affine:
        theirs.weight.data.uniform_(0.5, 1.5)
        theirs.bias.data.uniform_(-1, 1)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    compare_with_torch(ours, theirs, [rng.standard_normal(shape)])
    with pytest.raises(ValueError, match="InstanceNorm1d"):
        ours(mc.zeros(2, 3, 4, 4))


def test_elu_family_is_accurate_near_zero_as_torch():
    x = np.array([-1e-8, -3e-7, -1e-12, 1e-9])
    for dtype in (np.float32, np.float64):
        for name in ("elu", "selu", "celu"):
            ours = getattr(F, name)(mc.tensor(x.astype(dtype))).numpy()
            theirs = getattr(TF, name)(torch.tensor(x.astype(dtype))).numpy()
            np.testing.assert_allclose(ours, theirs, rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear"])
def test_interpolate_backward_of_an_empty_batch(mode):
    x, t = mc.zeros(0, 2, 3, 3, requires_grad=True), torch.zeros(0, 2, 3, 3, requires_grad=True)
    F.interpolate(x, scale_factor=2, mode=mode).sum().backward()
    TF.interpolate(t, scale_factor=2, mode=mode).sum().backward()
    assert x.grad.shape == tuple(t.grad.shape)


def test_normalisations_refuse_mixed_dtypes_as_torch():
    x, w = mc.randn(2, 4, 3, 3), mc.ones(4, dtype=mc.float64)
    tx, tw = torch.randn(2, 4, 3, 3), torch.ones(4, dtype=torch.float64)
    for ours, theirs in (
        (lambda: F.group_norm(x, 2, w), lambda: TF.group_norm(tx, 2, tw)),
        (
            lambda: F.layer_norm(x, (3, 3), mc.ones(3, 3, dtype=mc.float64)),
            lambda: TF.layer_norm(tx, (3, 3), torch.ones(3, 3, dtype=torch.float64)),
        ),
        (lambda: F.instance_norm(x, weight=w), lambda: TF.instance_norm(tx, weight=tw)),
    ):
        with pytest.raises(RuntimeError):
            theirs()
        with pytest.raises(TypeError, match="float32 but the weight is float64"):
            ours()
