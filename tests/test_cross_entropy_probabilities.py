"""F.cross_entropy with class probabilities as the target (torch's second form: soft labels,
mixup), against torch: values, gradients for the logits and the target, second derivatives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn.functional as F

SHAPES = [(5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)]


def soft_targets(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    axis = 0 if len(shape) == 1 else 1
    t = rng.uniform(0.05, 1.0, shape)
    return t / t.sum(axis=axis, keepdims=True)


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from(SHAPES),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    weighted=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.1, 0.5]),
    seed=st.integers(0, 2**16),
)
def test_probability_targets_match_torch(shape, reduction, weighted, smoothing, seed):
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal(shape), soft_targets(rng, shape)
    c = shape[0] if len(shape) == 1 else shape[1]
    w = rng.uniform(0.2, 2.0, c) if weighted else None

    def ours(a, b):
        return F.cross_entropy(
            a, b, weight=None if w is None else mc.tensor(w), reduction=reduction, label_smoothing=smoothing
        )

    def theirs(a, b):
        return TF.cross_entropy(
            a, b, weight=None if w is None else torch.tensor(w), reduction=reduction, label_smoothing=smoothing
        )

    compare_with_torch(ours, theirs, [x, t])  # gradients for the logits and the target
    compare_with_torch(ours, theirs, [x.astype(np.float32), t.astype(np.float32)], dtype=np.float32)
    double_backward_like_torch(ours, theirs, [x, t])


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    t = mc.tensor(soft_targets(rng, (3, 4)), requires_grad=True)

    def fn(a, b):
        return F.cross_entropy(a, b, label_smoothing=0.1)

    assert mc.gradcheck(fn, [x, t])
    assert mc.gradgradcheck(fn, [x, t])


def test_module_and_errors_as_torch():
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((3, 4)), soft_targets(rng, (3, 4))
    ours = mc.nn.CrossEntropyLoss()(mc.tensor(x), mc.tensor(t))
    np.testing.assert_allclose(ours.item(), TF.cross_entropy(torch.tensor(x), torch.tensor(t)).item(), rtol=1e-12)
    for lib, F_ in ((mc, F), (torch, TF)):
        with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
            F_.cross_entropy(lib.tensor(x), lib.tensor(t), ignore_index=1)
        with pytest.raises(ValueError):  # the reduction is checked first, with probabilities too
            F_.cross_entropy(lib.tensor(x), lib.tensor(t), reduction="bogus", ignore_index=1)


@pytest.mark.parametrize("device", devices())
def test_probability_targets_on_device(device):
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((2, 3, 2)), soft_targets(rng, (2, 3, 2))
    compare_with_torch(
        lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2),
        lambda a, b: TF.cross_entropy(a, b, label_smoothing=0.2),
        [x, t],
        device=device,
    )
