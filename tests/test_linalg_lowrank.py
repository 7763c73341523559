"""Householder QR in LAPACK's compact form (geqrf, orgqr, ormqr) and the randomized low-rank
SVD / PCA (svd_lowrank, pca_lowrank) against torch: values, gradients, dtypes, shapes, errors.
The low-rank results depend on a random draw, so they are checked by what does not: the
reconstruction of a rank-q matrix, its singular values (torch.linalg.svdvals), orthonormality."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc

FEW = settings(max_examples=10, deadline=None)
MATRIX = st.tuples(st.sampled_from([(), (2,)]), st.integers(1, 5), st.integers(1, 5))


# -- geqrf, orgqr, ormqr ------------------------------------------------------------------------
@FEW
@given(shape=MATRIX, seed=st.integers(0, 99), dtype=st.sampled_from([np.float32, np.float64]))
def test_geqrf_like_torch(shape, seed, dtype):
    batch, m, n = shape
    a = np.random.default_rng(seed).standard_normal((*batch, m, n)).astype(dtype)
    ours, theirs = mc.geqrf(mc.tensor(a)), torch.geqrf(torch.tensor(a))
    assert ours._fields == ("a", "tau")
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape) and o.dtype == dtype
        np.testing.assert_allclose(o.numpy(), t.numpy(), **tol)
    if m < n:  # orgqr (householder_product) needs input.shape[-2] >= input.shape[-1], in both
        with pytest.raises(RuntimeError):
            torch.orgqr(*theirs)
        with pytest.raises(RuntimeError):
            mc.orgqr(*ours)
        return
    q = mc.orgqr(*ours)
    np.testing.assert_allclose(q.numpy(), torch.orgqr(*theirs).numpy(), **tol)


def test_geqrf_edges_and_errors():
    for shape in [(0, 3), (3, 0), (2, 0, 3), (1, 1)]:
        a = np.ones(shape)
        ours, theirs = mc.geqrf(mc.tensor(a)), torch.geqrf(torch.tensor(a))
        for o, t in zip(ours, theirs):
            assert o.shape == tuple(t.shape)
            np.testing.assert_allclose(o.numpy(), t.numpy())
    zero_col = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])  # a zero column: tau 0, H = I
    for o, t in zip(mc.geqrf(mc.tensor(zero_col)), torch.geqrf(torch.tensor(zero_col))):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(RuntimeError):
        mc.geqrf(mc.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError):
        mc.geqrf(mc.tensor([[1, 2], [3, 4]]))
    x = mc.tensor(np.eye(3), requires_grad=True)
    out = mc.geqrf(x).a
    assert out.requires_grad
    with pytest.raises(NotImplementedError, match="geqrf"):
        out.sum().backward()


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [True, False])
@pytest.mark.parametrize("shape", [((), 4, 3), ((2,), 3, 5), ((), 3, 3)])
def test_ormqr_like_torch(left, transpose, shape):
    batch, m, n = shape
    rng = np.random.default_rng(1)
    h, tau = (t.numpy() for t in torch.geqrf(torch.tensor(rng.standard_normal((*batch, m, n)))))
    other = rng.standard_normal((*batch, m, 2) if left else (*batch, 2, m))
    compare_with_torch(
        lambda a, t, c: mc.ormqr(a, t, c, left, transpose),
        lambda a, t, c: torch.ormqr(a, t, c, left, transpose),
        [h, tau, other],
    )
    assert mc.ormqr(mc.tensor(h), mc.tensor(tau), mc.tensor(other), left=left).dtype == np.float64


def test_ormqr_second_derivatives_gradcheck_and_method():
    rng = np.random.default_rng(2)
    h, tau = (t.numpy() for t in torch.geqrf(torch.tensor(rng.standard_normal((4, 3)))))
    c = rng.standard_normal((4, 2))
    double_backward_like_torch(
        lambda a, t, x: mc.ormqr(a, t, x, transpose=True), lambda a, t, x: torch.ormqr(a, t, x, transpose=True),
        [h, tau, c], rtol=1e-7, atol=1e-9,
    )  # fmt: skip
    args = [mc.tensor(v, requires_grad=True) for v in (h, tau, c)]
    assert mc.gradcheck(lambda a, t, x: mc.ormqr(a, t, x, left=False, transpose=True), [args[0], args[1], args[2].mT])
    np.testing.assert_allclose(
        mc.tensor(h).ormqr(mc.tensor(tau), mc.tensor(c)).numpy(),
        torch.tensor(h).ormqr(torch.tensor(tau), torch.tensor(c)).numpy(),
        rtol=1e-12,
    )


def test_ormqr_errors_like_torch():
    h, tau = mc.geqrf(mc.tensor(np.random.default_rng(3).standard_normal((4, 3))))
    c = mc.tensor(np.ones((4, 2)))
    bad = [
        (h, tau, c.float()),  # dtype
        (h, tau[:2], c),  # tau length
        (h, tau, mc.tensor(np.ones((3, 2)))),  # rows of other
        (h.unsqueeze(0).expand(2, 4, 3), tau, c.unsqueeze(0).expand(2, 4, 2)),  # tau's batch dims
        (h[0], tau, c),  # 1-d input
    ]
    for args in bad:
        with pytest.raises(RuntimeError):
            mc.ormqr(*args)
        with pytest.raises(RuntimeError):
            torch.ormqr(*(torch.tensor(a.numpy()) for a in args))


@pytest.mark.parametrize("device", devices())
def test_householder_on_device(device):
    a = np.random.default_rng(4).standard_normal((2, 4, 3))
    h, tau = mc.geqrf(mc.tensor(a, device=device))
    th, ttau = torch.geqrf(torch.tensor(a))
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-10, atol=1e-12)
    c = np.ones((2, 4, 2))
    out = mc.ormqr(h, tau, mc.tensor(c, device=device), transpose=True)
    np.testing.assert_allclose(out.numpy(), torch.ormqr(th, ttau, torch.tensor(c), transpose=True).numpy(), rtol=1e-10)


# -- svd_lowrank, pca_lowrank ----------------------------------------------------------------------
def _low_rank(rng, batch, m, n, r):
    return rng.standard_normal((*batch, m, r)) @ rng.standard_normal((*batch, r, n))


@pytest.mark.parametrize("shape", [((), 8, 5), ((2,), 5, 9)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_svd_lowrank_recovers_a_low_rank_matrix(shape, dtype):
    batch, m, n = shape
    a = _low_rank(np.random.default_rng(5), batch, m, n, 3).astype(dtype)
    mc.manual_seed(0)
    u, s, v = mc.svd_lowrank(mc.tensor(a), q=4)
    tu, ts, tv = torch.svd_lowrank(torch.tensor(a), q=4)
    for o, t in ((u, tu), (s, ts), (v, tv)):
        assert o.shape == tuple(t.shape) and o.dtype == dtype
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    recon = (u * s.unsqueeze(-2)) @ v.mT
    np.testing.assert_allclose(recon.numpy(), a, **tol)
    np.testing.assert_allclose(s.numpy()[..., :3], torch.linalg.svdvals(torch.tensor(a)).numpy()[..., :3], **tol)
    np.testing.assert_allclose((u.mT @ u).numpy(), np.broadcast_to(np.eye(4), (*batch, 4, 4)), **tol)
    np.testing.assert_allclose((v.mT @ v).numpy(), np.broadcast_to(np.eye(4), (*batch, 4, 4)), **tol)


def test_svd_lowrank_with_m_and_q_above_the_rank():
    rng = np.random.default_rng(6)
    mean_row = rng.standard_normal((1, 6))
    a = _low_rank(rng, (), 7, 6, 2) + mean_row
    mc.manual_seed(1)
    u, s, v = mc.svd_lowrank(mc.tensor(a), q=3, M=mc.tensor(mean_row))  # M broadcast to A's shape
    np.testing.assert_allclose(((u * s) @ v.mT).numpy(), a - mean_row, atol=1e-9)
    assert mc.svd_lowrank(mc.tensor(a), q=8)[1].shape == tuple(torch.svd_lowrank(torch.tensor(a), q=8)[1].shape)


def test_pca_lowrank_like_torch():
    rng = np.random.default_rng(7)
    a = _low_rank(rng, (), 9, 5, 2) + rng.standard_normal(5)
    mc.manual_seed(2)
    u, s, v = mc.pca_lowrank(mc.tensor(a), q=3)
    _, ts, _ = torch.pca_lowrank(torch.tensor(a), q=3)
    np.testing.assert_allclose(s.numpy(), ts.numpy(), rtol=1e-9, atol=1e-9)  # centred rank 2: exact
    np.testing.assert_allclose(((u * s) @ v.mT).numpy(), a - a.mean(0), atol=1e-9)
    default = mc.pca_lowrank(mc.tensor(a), center=False)
    assert [t.shape for t in default] == [tuple(t.shape) for t in torch.pca_lowrank(torch.tensor(a), center=False)]
    for q in (6, -1):
        with pytest.raises(ValueError, match="q"):
            mc.pca_lowrank(mc.tensor(a), q=q)
        with pytest.raises(ValueError, match="q"):
            torch.pca_lowrank(torch.tensor(a), q=q)
    with pytest.raises(ValueError, match="niter"):
        mc.svd_lowrank(mc.tensor(a), niter=-1)
    with pytest.raises(RuntimeError):
        mc.svd_lowrank(mc.tensor(np.ones((3, 3), dtype=np.int64)))


def test_svd_lowrank_gradients():
    """A fixed draw (the seed set inside the function): a smooth function of A, checked
    numerically; the singular values' gradient matches torch's svdvals' (exact low rank)."""
    rng = np.random.default_rng(8)
    a = _low_rank(rng, (), 5, 4, 2)

    def top(x):
        mc.manual_seed(3)
        return mc.svd_lowrank(x, q=2, niter=1)[1]

    assert mc.gradcheck(top, [mc.tensor(a, requires_grad=True)])
    x, t = mc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    top(x).sum().backward()
    torch.linalg.svdvals(t)[:2].sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)
