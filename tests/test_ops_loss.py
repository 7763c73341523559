"""Losses against torch: cross_entropy (weights, label smoothing, ignore_index, reductions,
spatial targets), nll_loss, mse_loss; errors for bad shapes and dtypes; gradchecks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minicnn as mc
import minicnn.nn.functional as F

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(
    n=st.integers(1, 6),
    c=st.integers(1, 5),
    spatial=st.sampled_from([(), (3,), (2, 3)]),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    smoothing=st.sampled_from([0.0, 0.1, 0.5]),
    weighted=st.booleans(),
    ignore=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_cross_entropy(device, n, c, spatial, reduction, smoothing, weighted, ignore, dtype, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c) + spatial) * 3
    target = rng.integers(0, c, (n,) + spatial)
    if ignore:
        target.reshape(-1)[0] = -100
        if target.size == 1:
            target.reshape(-1)[0] = 0  # an all-ignored mean is nan in torch too; keep one
    weight = rng.uniform(0.2, 2.0, c) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)

    def mc_fn(x, t, *w):
        return F.cross_entropy(x, t, weight=w[0] if w else None, **kw)

    def torch_fn(x, t, *w):
        return TF.cross_entropy(x, t, weight=w[0] if w else None, **kw)

    arrays = [logits, target] + ([weight] if weighted else [])
    compare_with_torch(mc_fn, torch_fn, arrays, grad_inputs=[True, False, False], dtype=dtype, device=device)


@SETTINGS
@given(
    n=st.integers(1, 6),
    c=st.integers(1, 5),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    weighted=st.booleans(),
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_nll_loss(device, n, c, reduction, weighted, seed):
    rng = np.random.default_rng(seed)
    logp = np.log(rng.dirichlet(np.ones(c), n))
    target = rng.integers(0, c, n)
    weight = rng.uniform(0.2, 2.0, c) if weighted else None

    def mc_fn(x, t, *w):
        return F.nll_loss(x, t, weight=w[0] if w else None, reduction=reduction)

    def torch_fn(x, t, *w):
        return TF.nll_loss(x, t, weight=w[0] if w else None, reduction=reduction)

    compare_with_torch(
        mc_fn,
        torch_fn,
        [logp, target] + ([weight] if weighted else []),
        grad_inputs=[True, False, False],
        device=device,
    )


@SETTINGS
@given(
    n=st.integers(1, 5),
    c=st.integers(1, 5),
    spatial=st.sampled_from([(), (2,)]),
    reduction=st.sampled_from(["mean", "mean", "sum", "none"]),
    smoothing=st.sampled_from([0.0, 0.1]),
    case=st.sampled_from(["all ignored", "zero weights", "all weights zero", "mixed"]),
    nll=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_losses_over_no_weight_match_torch(device, n, c, spatial, reduction, smoothing, case, nll, dtype, seed):
    """A 'mean' over no weight is 0/0: the loss is nan (also with label smoothing, where
    (nll + smoothing)/0 would be inf) and, as in torch, ignored rows get a zero gradient
    (not 0 * inf = nan), while kept rows of weight 0 get nan."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + spatial) * 2
    target = rng.integers(0, c, (n,) + spatial)
    weight = rng.uniform(0.2, 2.0, c)
    if case == "all ignored":
        target[...] = -100
    elif case == "zero weights":
        weight[target.reshape(-1)] = 0.0
    elif case == "all weights zero":
        weight[:] = 0.0
    else:  # some ignored, the rest of weight 0
        target.reshape(-1)[::2] = -100
        weight[target[target >= 0]] = 0.0
    weighted = case != "all ignored" or bool(seed % 2)
    kw = dict(reduction=reduction)
    if nll:
        mc_loss, torch_loss = F.nll_loss, TF.nll_loss
    else:
        mc_loss, torch_loss = F.cross_entropy, TF.cross_entropy
        kw["label_smoothing"] = smoothing

    def mc_fn(a, t, *w):
        return mc_loss(a, t, weight=w[0] if w else None, **kw)

    def torch_fn(a, t, *w):
        return torch_loss(a, t, weight=w[0] if w else None, **kw)

    arrays = [x, target] + ([weight] if weighted else [])
    compare_with_torch(mc_fn, torch_fn, arrays, grad_inputs=[True, False, False], dtype=dtype, device=device)


def test_all_ignored_mean_has_a_zero_gradient():
    """The reproducer of the audit: minicnn's gradient was 0 * inf = nan everywhere."""
    for loss_fn in (F.cross_entropy, F.nll_loss):
        x = mc.randn(3, 4, requires_grad=True)
        loss = loss_fn(x, mc.tensor(np.full(3, -100)))
        loss.backward()
        assert np.isnan(loss.item())
        np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    x = mc.randn(3, 4, requires_grad=True)
    w = mc.tensor(np.array([0.0, 0.0, 1.0, 2.0], np.float32))
    loss = F.cross_entropy(x, mc.tensor([0, 1, 0]), weight=w, label_smoothing=0.1)
    assert np.isnan(loss.item())  # was inf


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    compare_with_torch(
        lambda x, y: F.mse_loss(x, y, reduction=reduction), lambda x, y: TF.mse_loss(x, y, reduction=reduction), [a, b]
    )


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_mse_loss_broadcasts_with_a_warning_like_torch(device, shapes, reduction, dtype, seed):
    """torch broadcasts differing shapes with a UserWarning; both gradients are summed over
    the broadcast axes."""
    a_shape, b_shape = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    differ = a_shape != b_shape
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_with_torch(
            lambda x, y: F.mse_loss(x, y, reduction=reduction),
            lambda x, y: TF.mse_loss(x, y, reduction=reduction),
            [a, b],
            dtype=dtype,
            device=device,
        )
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    ours = [m for m in messages if "different to the input size" in m]
    assert len(ours) == (2 if differ else 0), messages  # one from torch, one from minicnn


def test_mse_loss_broadcast_warning_and_error():
    x = mc.randn(4, 1, requires_grad=True)
    with pytest.warns(UserWarning, match=r"target size \(4,\) that is different to the input size \(4, 1\)"):
        loss = F.mse_loss(x, mc.randn(4), reduction="none")
    assert loss.shape == (4, 4)
    with pytest.warns(UserWarning, match="different to the input size"):
        mc.nn.MSELoss()(x, mc.randn(1, 4))
    with pytest.raises(ValueError, match=r"mse_loss.*\(4, 3\).*\(4,\).*do not broadcast"):
        F.mse_loss(mc.randn(4, 3), mc.randn(4))


def test_loss_modules_match_functional():
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    w = rng.uniform(0.5, 1.5, 4)
    compare_with_torch(
        lambda a, b: mc.nn.CrossEntropyLoss(weight=mc.tensor(w), label_smoothing=0.2)(a, b),
        lambda a, b: torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.2)(a, b),
        [x, t],
        grad_inputs=[True, False],
    )
    compare_with_torch(lambda a, b: mc.nn.MSELoss()(a, b), lambda a, b: torch.nn.MSELoss()(a, b), [x, x[::-1].copy()])


def test_cross_entropy_errors():
    x = mc.randn(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy.*\(4, 3\).*\(5,\)"):
        F.cross_entropy(x, mc.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(TypeError, match="cross_entropy.*integer"):
        F.cross_entropy(x, mc.tensor([0.0, 1.0, 2.0, 0.0]))
    for lib in (torch, mc):  # a float target of another batch size: torch's batch-size ValueError comes first
        with pytest.raises(ValueError, match="batch_size"):
            lib.nn.functional.cross_entropy(lib.zeros(1, 3, 1), lib.zeros(2, 3, 1))
    with pytest.raises(IndexError):
        F.cross_entropy(x, mc.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="mse_loss"):
        F.mse_loss(x, mc.randn(4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    ("shape", "target"), [((0, 0), []), ((3, 0), [-100, -100, -100]), ((0, 0, 2), np.zeros((0, 2)))]
)
def test_class_losses_with_no_classes_match_torch(shape, target, reduction):
    """C = 0: NumPy's reshape(-1, 0) and the maximum over no class leaked out; every row is
    ignored here (nan 'mean', 0 'sum')."""
    target = np.array(target, np.int64)
    for f, tf in [(F.cross_entropy, TF.cross_entropy), (F.nll_loss, TF.nll_loss)]:
        compare_with_torch(
            lambda x, f=f: f(x, mc.tensor(target), reduction=reduction),
            lambda x, tf=tf: tf(x, torch.tensor(target), reduction=reduction),
            [np.zeros(shape)],
        )


@pytest.mark.parametrize(
    ("f", "tf", "args"),
    [
        (F.cross_entropy, TF.cross_entropy, [np.ones((3, 0)), np.array([0, 1, 0])]),  # IndexError
        (F.cross_entropy, TF.cross_entropy, [np.ones((4, 3)), np.array([0, 1, 2])]),
        (F.cross_entropy, TF.cross_entropy, [np.ones((4, 3)), np.ones((4, 2))]),
        (F.cross_entropy, TF.cross_entropy, [np.ones(()), np.array(0)]),
        (
            lambda x, t: F.cross_entropy(x, t, weight=mc.ones(2)),
            lambda x, t: TF.cross_entropy(x, t, weight=torch.ones(2)),
            [np.ones((4, 3)), np.array([0, 1, 2, 0])],
        ),
        (
            lambda x, t: F.cross_entropy(x, t, label_smoothing=1.5),
            lambda x, t: TF.cross_entropy(x, t, label_smoothing=1.5),
            [np.ones((4, 3)), np.array([0, 1, 2, 0])],
        ),
        (F.nll_loss, TF.nll_loss, [np.ones((4, 3)), np.array([0, 1, 2])]),
        (F.mse_loss, TF.mse_loss, [np.ones((4, 3)), np.ones((4, 2))]),
        (F.l1_loss, TF.l1_loss, [np.ones((4, 3)), np.ones((4, 2))]),
        (F.kl_div, TF.kl_div, [np.ones((4, 3)), np.ones((4, 2))]),
        (F.binary_cross_entropy, TF.binary_cross_entropy, [np.ones(3) / 2, np.ones(3, np.float32)]),
        (F.cosine_similarity, TF.cosine_similarity, [np.ones((4, 3)), np.ones((4, 2))]),
    ],
)
def test_loss_errors_are_torchs(f, tf, args):
    """Where torch raises (mostly RuntimeError), minicnn raises that type (its ValueError or
    TypeError being a RuntimeError too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(Exception) as theirs:
            tf(*[torch.tensor(a) for a in args])
        with pytest.raises(type(theirs.value)):
            f(*[mc.tensor(a) for a in args])


def test_cross_entropy_is_stable_for_huge_logits():
    x = mc.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, mc.tensor([1]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_cross_entropy(smoothing, reduction):
    rng = np.random.default_rng(2)
    x = mc.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    t = mc.tensor(np.array([[0, 3], [1, -100], [2, 2]]))
    w = mc.tensor(rng.uniform(0.5, 2, 4))
    assert mc.gradcheck(lambda a: F.cross_entropy(a, t, weight=w, reduction=reduction, label_smoothing=smoothing), [x])


def test_gradcheck_nll_and_mse():
    rng = np.random.default_rng(3)
    x = mc.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = mc.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = mc.tensor(np.array([0, 2, 1, 1]))
    assert mc.gradcheck(lambda a: F.nll_loss(a, t), [x])
    assert mc.gradcheck(lambda a, b: F.mse_loss(a, b), [x, y])
    # broadcast: (4, 3) against (3,) and (4, 1) against (1, 3): both gradients summed over the broadcast
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert mc.gradcheck(lambda a, b: F.mse_loss(a, b), [x, mc.tensor(rng.standard_normal(3), requires_grad=True)])
        col, row = (mc.tensor(rng.standard_normal(s), requires_grad=True) for s in ((4, 1), (1, 3)))
        assert mc.gradcheck(lambda a, b: F.mse_loss(a, b, reduction="sum"), [col, row])
