"""Batch norm (1d, 2d; training, evaluation, running statistics) and local response norm
against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F

SETTINGS = settings(max_examples=30, deadline=None)
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}


# -- local response norm -----------------------------------------------------------------------
@SETTINGS
@given(
    size=st.integers(1, 7),
    shape=st.sampled_from([(2, 6, 5), (2, 7, 3, 4), (1, 3, 2, 2, 3), (2, 1, 3, 3)]),
    alpha=st.floats(1e-4, 1.0),
    beta=st.sampled_from([0.75, 0.5, 1.3]),
    k=st.floats(0.5, 3.0),
    seed=st.integers(0, 2**16),
)
def test_lrn_matches_torch(size, shape, alpha, beta, k, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 2
    compare_with_torch(
        lambda t: F.local_response_norm(t, size, alpha, beta, k),
        lambda t: TF.local_response_norm(t, size, alpha, beta, k),
        [x],
        seed=seed,
    )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("size", [2, 5])
def test_lrn_float32_alexnet_shape(device, size):
    x = np.random.default_rng(0).standard_normal((2, 96, 7, 7)) * 3
    compare_with_torch(
        lambda t: F.local_response_norm(t, size),
        lambda t: TF.local_response_norm(t, size),
        [x],
        dtype=np.float32,
        device=device,
        **TOL[np.float32],
    )


@pytest.mark.parametrize("size", [4, 5])
def test_lrn_gradcheck(size):
    x = mc.tensor(np.random.default_rng(1).standard_normal((2, 6, 3, 2)), requires_grad=True)
    assert mc.gradcheck(lambda t: F.local_response_norm(t, size, alpha=0.5, beta=0.75, k=1.5), [x])


def test_lrn_reproduces_alexnet_paper_constants():
    """AlexNet: b = a / (2 + 1e-4 * sum of a^2 over 5 channels)^0.75 equals torch's definition
    with alpha = 5 * 1e-4 (torch divides alpha by the window size)."""
    a = np.random.default_rng(2).standard_normal((2, 8, 3, 3)) * 30
    sq = np.pad(a * a, ((0, 0), (2, 2), (0, 0), (0, 0)))
    window = sum(sq[:, i : i + 8] for i in range(5))
    paper = a / (2.0 + 1e-4 * window) ** 0.75
    ours = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(mc.tensor(a)).numpy()
    np.testing.assert_allclose(ours, paper, rtol=1e-12)


def test_lrn_layer_repr_and_errors():
    assert repr(nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)) == repr(torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0))
    with pytest.raises(ValueError, match=r"LocalResponseNorm\(5.*3 or more dimensions.*\(4, 6\)"):
        nn.LocalResponseNorm(5)(mc.randn(4, 6))


# -- batch norm: functional --------------------------------------------------------------------
@SETTINGS
@given(
    shape=st.sampled_from([(4, 3), (3, 2, 5), (2, 3, 4, 5), (5, 1, 2, 2)]),
    affine=st.sampled_from(["both", "weight", "none"]),
    training=st.booleans(),
    momentum=st.floats(0.0, 1.0),
    eps=st.sampled_from([1e-5, 1e-3]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_batch_norm_functional_matches_torch(shape, affine, training, momentum, eps, dtype, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    w, b = rng.uniform(0.5, 2, C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm, rv = rng.standard_normal(C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)

    def run(lib, tensor):
        xs = tensor(x, requires_grad=True)
        ws = tensor(w, requires_grad=True) if affine != "none" else None
        bs = tensor(b, requires_grad=True) if affine == "both" else None
        rms, rvs = tensor(rm.copy()), tensor(rv.copy())
        y = lib.batch_norm(xs, rms, rvs, ws, bs, training=training, momentum=momentum, eps=eps)
        (y * tensor(g)).sum().backward()
        grads = [t.grad for t in (xs, ws, bs) if t is not None]
        return [np.asarray(a.detach().numpy() if hasattr(a, "detach") else a.numpy()) for a in [y, rms, rvs, *grads]]

    ours = run(F, mc.tensor)
    theirs = run(TF, torch.tensor)
    for name, o, t in zip(["y", "running_mean", "running_var", "dx", "dweight", "dbias"], ours, theirs):
        np.testing.assert_allclose(o, t, **TOL[dtype], err_msg=name)


def test_batch_norm_without_running_stats_uses_batch_statistics():
    x = np.random.default_rng(3).standard_normal((6, 3, 2, 2))
    compare_with_torch(
        lambda t: F.batch_norm(t, None, None, training=True), lambda t: TF.batch_norm(t, None, None, training=True), [x]
    )


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    rng = np.random.default_rng(4)
    x = mc.tensor(rng.standard_normal((3, 2, 2, 3)), requires_grad=True)
    w = mc.tensor(rng.uniform(0.5, 2, 2), requires_grad=True)
    b = mc.tensor(rng.standard_normal(2), requires_grad=True)
    rm, rv = mc.tensor(rng.standard_normal(2)), mc.tensor(rng.uniform(0.5, 2, 2))
    assert mc.gradcheck(lambda x_, w_, b_: F.batch_norm(x_, rm, rv, w_, b_, training=training), [x, w, b])


# -- batch norm: layers ------------------------------------------------------------------------
LAYER_CASES = [
    ("BatchNorm1d", (8, 4), dict()),
    ("BatchNorm1d", (4, 4, 3), dict(momentum=None)),
    ("BatchNorm2d", (4, 4, 3, 3), dict()),
    ("BatchNorm2d", (2, 4, 3, 5), dict(momentum=None)),
    ("BatchNorm2d", (3, 4, 2, 2), dict(affine=False, momentum=0.3)),
    ("BatchNorm2d", (3, 4, 2, 2), dict(track_running_stats=False)),
    ("BatchNorm2d", (3, 4, 2, 2), dict(bias=False, eps=1e-3)),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("kind,shape,kwargs", LAYER_CASES)
def test_batch_norm_layers_over_several_steps(kind, shape, kwargs, device):
    """Three training steps (outputs, parameter gradients, running statistics,
    num_batches_tracked), then evaluation, all as torch."""
    ours = getattr(nn, kind)(4, **kwargs).to(device)
    theirs = getattr(torch.nn, kind)(4, **kwargs).double()
    ours.double()
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(5)
    for step in range(4):
        if step == 3:
            ours.eval()
            theirs.eval()
        x = rng.standard_normal(shape) * (step + 1) + step
        g = rng.standard_normal(shape)
        xm, xt = mc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
        ym, yt = ours(xm), theirs(xt)
        (ym * mc.tensor(g, device=device)).sum().backward()
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **TOL[np.float64], err_msg=f"y, step {step}")
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL[np.float64], err_msg=f"dx, step {step}")
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **TOL[np.float64], err_msg=f"d{name}")
            p.grad = q.grad = None
        mine, ref = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(ref)
        for key in ref:
            np.testing.assert_allclose(mine[key], ref[key].numpy(), **TOL[np.float64], err_msg=f"{key}, step {step}")


def test_batch_norm_state_dict_and_loading_torch_weights():
    t = torch.nn.BatchNorm2d(5)
    t.train()
    t(torch.randn(4, 5, 3, 3) * 3 + 1)
    with torch.no_grad():
        t.weight.uniform_(0.5, 2)
        t.bias.normal_()
    ours = nn.BatchNorm2d(5)
    assert list(ours.state_dict()) == list(t.state_dict())
    assert ours.state_dict()["num_batches_tracked"].dtype == np.int64
    assert ours.state_dict()["num_batches_tracked"].shape == ()
    ours.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    ours.eval()
    t.eval()
    x = np.random.default_rng(6).standard_normal((2, 5, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(mc.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(), **TOL[np.float32])


def test_batch_norm_layer_defaults():
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(bn.weight.numpy(), np.ones(3, np.float32))
    np.testing.assert_array_equal(bn.bias.numpy(), np.zeros(3, np.float32))
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert bn.weight.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batch_norm_errors_name_the_layer():
    with pytest.raises(
        ValueError, match=r"BatchNorm2d\(16\): expected input of shape \(N, 16, H, W\), got \(2, 8, 5, 5\)"
    ):
        nn.BatchNorm2d(16)(mc.randn(2, 8, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\).*\(N, 4\) or \(N, 4, L\).*\(2, 4, 3, 3\)"):
        nn.BatchNorm1d(4)(mc.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\): expected more than 1 value per channel"):
        nn.BatchNorm1d(4)(mc.randn(1, 4))
    with pytest.raises(ValueError, match=r"batch_norm: running_mean of shape \(3,\).*\(4,\)"):
        F.batch_norm(mc.randn(2, 4), mc.zeros(3), mc.ones(3))
    with pytest.raises(ValueError, match="evaluation mode"):
        F.batch_norm(mc.randn(2, 4), None, None, training=False)


@pytest.mark.parametrize(
    "kind, shape", [("BatchNorm1d", (3, 2, 4)), ("BatchNorm2d", (3, 2, 2, 2)), ("BatchNorm3d", (3, 2, 1, 2, 2))]
)
def test_batch_norm_checks_num_features_only_where_used_like_torch(kind, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    expected = getattr(torch.nn, kind)(5, affine=False, track_running_stats=False)(torch.tensor(x)).numpy()
    out = getattr(nn, kind)(5, affine=False, track_running_stats=False)(mc.tensor(x))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    for kwargs in (dict(affine=False), dict(track_running_stats=False)):  # a weight or running stats: RuntimeError
        with pytest.raises(RuntimeError):
            getattr(torch.nn, kind)(5, **kwargs)(torch.tensor(x))
        with pytest.raises(RuntimeError, match=rf"{kind}\(5\): expected input of shape"):
            getattr(nn, kind)(5, **kwargs)(mc.tensor(x))


@pytest.mark.parametrize("training, eps", [(True, 0.0), (True, -1e-5), (False, -1e-5)])
def test_batch_norm_eps_checks_like_torch(training, eps):
    """F.batch_norm and the layers: eps > 0 in training, eps >= 0 in evaluation (ValueError in
    torch); torch.batch_norm, the unchecked low-level op, runs."""
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    rm, rv = np.zeros(2), np.ones(2)
    with pytest.raises(ValueError, match="eps"):
        TF.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv), training=training, eps=eps)
    with pytest.raises(ValueError, match=r"batch_norm: eps must be"):
        F.batch_norm(mc.tensor(x), mc.tensor(rm), mc.tensor(rv), training=training, eps=eps)
    if training:
        with pytest.raises(ValueError, match=r"BatchNorm1d\(2\): eps must be positive"):
            nn.BatchNorm1d(2, eps=eps).double()(mc.tensor(x))
    args = (None, None, mc.tensor(rm), mc.tensor(rv), training, 0.1, eps, False)
    targs = (None, None, torch.tensor(rm), torch.tensor(rv), training, 0.1, eps, False)
    ours, theirs = mc.batch_norm(mc.tensor(x), *args), torch.batch_norm(torch.tensor(x), *targs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-11)
    ours = mc.native_batch_norm(mc.tensor(x), *args[:-1])[0]
    theirs = torch.native_batch_norm(torch.tensor(x), *targs[:-1])[0]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-11)
