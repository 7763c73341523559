"""mc.distributions over matrices against torch.distributions: Wishart and LKJCholesky
(log_prob, entropy, moments, gradients, errors, expand, sampling statistics) and the transforms
CorrCholeskyTransform and PositiveDefiniteTransform (values, inverses, log |det J|, gradients,
shapes, biject_to / transform_to)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import scipy.stats as sst
import torch
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc

D = mc.distributions
TD = torch.distributions
SETTINGS = settings(max_examples=6, deadline=None)
PARAMS = ("covariance_matrix", "precision_matrix", "scale_tril")


def _spd(a: Any, p: int) -> Any:
    """A positive-definite matrix from any square ``a`` (both libraries): a a^T + p I."""
    eye = mc.eye(p, dtype=a.dtype, device=a.device) if isinstance(a, mc.Tensor) else torch.eye(p, dtype=a.dtype)
    return a @ a.mT + p * eye


def _wishart(lib: Any, kind: str, df: Any, a: Any, p: int) -> Any:
    s = _spd(a, p)
    if kind == "scale_tril":
        s = (mc.linalg if lib is D else torch.linalg).cholesky(s)
    return lib.Wishart(df**2 + (p - 0.5), **{kind: s})


@pytest.mark.filterwarnings("ignore:Low df")
@settings(max_examples=3, deadline=None)
@given(
    p=st.sampled_from([1, 2, 3]),
    batch=st.sampled_from([(), (2,), (2, 1)]),
    kind=st.sampled_from(PARAMS),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
@pytest.mark.parametrize("device", devices())
def test_wishart_like_torch(p: int, batch: tuple, kind: str, dtype: Any, seed: int, device: str) -> None:
    """log_prob, entropy, mean, variance and mode (NaN where df <= p + 1) with their gradients
    w.r.t. df, the scale and the value, for each way of giving the scale."""
    rng = np.random.default_rng(seed)
    df = rng.uniform(0.5, 2.5, batch)
    a = rng.standard_normal(batch + (p, p))
    x = rng.standard_normal((3,) + batch + (p, p))

    def run(lib: Any, method: str) -> Any:
        def fn(df: Any, a: Any, x: Any) -> Any:
            w = _wishart(lib, kind, df, a, p)
            if method == "log_prob":
                return w.log_prob(_spd(x, p))
            return w.entropy() if method == "entropy" else getattr(w, method)

        return fn

    for method in ("log_prob", "entropy", "mean", "variance", "mode"):
        compare_with_torch(run(D, method), run(TD, method), [df, a, x], dtype=dtype, device=device, seed=seed)


@pytest.mark.filterwarnings("ignore:Low df", "ignore:Singular sample")  # torch warns on every sample
def test_wishart_gradcheck_and_shapes() -> None:
    """float64 gradcheck of log_prob (df, scale, value) and entropy; df as a number; expand; repr."""
    rng = np.random.default_rng(0)
    df = mc.tensor([0.3], dtype=mc.float64, requires_grad=True)
    a = mc.tensor(rng.standard_normal((1, 2, 2)), requires_grad=True)
    x = mc.tensor(rng.standard_normal((1, 2, 2)), requires_grad=True)
    for kind in PARAMS:
        assert mc.gradcheck(lambda df, a, x, k=kind: _wishart(D, k, df, a, 2).log_prob(_spd(x, 2)), (df, a, x))
    assert mc.gradcheck(lambda df, a: _wishart(D, "covariance_matrix", df, a, 2).entropy(), (df, a))
    w = D.Wishart(4, covariance_matrix=mc.eye(2, dtype=mc.float64))
    tw = TD.Wishart(4, covariance_matrix=torch.eye(2, dtype=torch.float64))
    assert w.df.dtype == mc.float64 and w.batch_shape == () and w.event_shape == (2, 2)
    e = w.expand((3, 2))
    assert e.batch_shape == (3, 2) and tuple(e.sample((4,)).shape) == (4, 3, 2, 2, 2)
    v = tw.sample((5,)).numpy()
    np.testing.assert_allclose(e.log_prob(mc.tensor(v[:, None, None])).numpy()[:, 0, 0], tw.log_prob(torch.tensor(v)))
    assert repr(w) == repr(tw).replace("torch.", "minicnn.")


def test_wishart_errors() -> None:
    """torch's exception types: AssertionError unless exactly one scale; ValueError for df <= p - 1,
    a non-positive-definite scale, a vector scale; the low-df warning."""
    eye = mc.eye(2)
    with pytest.raises(AssertionError, match="Exactly one"):
        D.Wishart(3.0)
    with pytest.raises(AssertionError, match="Exactly one"):
        D.Wishart(3.0, covariance_matrix=eye, scale_tril=eye)
    with pytest.raises(ValueError, match="greater than ndim - 1"):
        D.Wishart(mc.tensor([3.0, 1.0]), covariance_matrix=eye)
    with pytest.raises(ValueError, match="covariance_matrix"):
        D.Wishart(3.0, covariance_matrix=-eye)
    with pytest.raises(ValueError, match="two-dimensional"):
        D.Wishart(3.0, covariance_matrix=mc.ones(2))
    with pytest.warns(UserWarning, match="Low df"):
        D.Wishart(1.5, covariance_matrix=eye)
    with pytest.raises(ValueError, match="support"):
        D.Wishart(3.0, covariance_matrix=eye).log_prob(-eye)


def test_wishart_sample_moments_and_rsample_gradient() -> None:
    """Sample mean df Sigma and variance (20000 draws, fixed seed, loose tolerance); the rsample
    gradient of the sample mean matches d(df Sigma) w.r.t. df and Sigma's factor; samples with
    p - 1 < df < p are positive definite (the singular ones redrawn, with torch's warning)."""
    mc.manual_seed(0)
    sigma = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 1.5]])
    df = mc.tensor(5.0, dtype=mc.float64, requires_grad=True)
    L = mc.tensor(np.linalg.cholesky(sigma), requires_grad=True)
    w = D.Wishart(df, scale_tril=L)
    s = w.rsample((20000,))
    np.testing.assert_allclose(s.detach().mean(0).numpy(), 5 * sigma, atol=0.06 * 5 * sigma.max())
    np.testing.assert_allclose(s.detach().var(0).numpy(), w.variance.detach().numpy(), rtol=0.1, atol=0.3)
    s.mean(0).sum().backward()
    np.testing.assert_allclose(df.grad.item(), sigma.sum(), rtol=0.05)  # d(df * sum Sigma)/d df
    expected = 2 * 5 * np.ones((3, 3)) @ np.linalg.cholesky(sigma)  # d(df * sum L L^T)/dL, lower part
    np.testing.assert_allclose(np.tril(L.grad.numpy()), np.tril(expected), rtol=0.05, atol=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        low = D.Wishart(2.05, covariance_matrix=mc.eye(3, dtype=mc.float64)).sample((500,))
    assert bool(D.constraints.positive_definite.check(low).all())


def _corr_chol_values(lib: Any, x: Any) -> Any:
    return lib.transforms.CorrCholeskyTransform()(x)


@SETTINGS
@given(
    dim=st.sampled_from([2, 3, 4]),
    batch=st.sampled_from([(), (2,), (2, 1)]),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
@pytest.mark.parametrize("device", devices())
def test_lkj_cholesky_log_prob_like_torch(dim: int, batch: tuple, dtype: Any, seed: int, device: str) -> None:
    """log_prob against torch with gradients w.r.t. the concentration and the value (through
    CorrCholeskyTransform of unconstrained reals)."""
    rng = np.random.default_rng(seed)
    conc = rng.uniform(0.2, 3.0, batch)
    x = rng.standard_normal((3,) + batch + (dim * (dim - 1) // 2,))

    def run(lib: Any) -> Any:
        return lambda c, x: lib.LKJCholesky(dim, c).log_prob(_corr_chol_values(lib, x))

    compare_with_torch(run(D), run(TD), [conc, x], dtype=dtype, device=device, seed=seed)


def test_lkj_cholesky_gradcheck_errors_shapes() -> None:
    """float64 gradcheck; torch's errors; a number as concentration; expand."""
    c = mc.tensor([0.5, 2.0], dtype=mc.float64, requires_grad=True)
    x = mc.tensor(np.random.default_rng(0).standard_normal((2, 6)), requires_grad=True)
    assert mc.gradcheck(lambda c, x: D.LKJCholesky(4, c).log_prob(_corr_chol_values(D, x)), (c, x))
    with pytest.raises(ValueError, match="dim"):
        D.LKJCholesky(1)
    with pytest.raises(ValueError, match="concentration"):
        D.LKJCholesky(3, -1.0)
    with pytest.raises(ValueError, match="support"):
        D.LKJCholesky(2).log_prob(2 * mc.eye(2))
    d = D.LKJCholesky(3, 1.5)
    assert d.batch_shape == () and d.event_shape == (3, 3) and d.sample().dtype == mc.float32
    e = d.expand((2, 3))
    assert e.batch_shape == (2, 3) and tuple(e.sample((4,)).shape) == (4, 2, 3, 3, 3)
    np.testing.assert_allclose(
        e.log_prob(mc.eye(3)).numpy(), TD.LKJCholesky(3, 1.5).log_prob(torch.eye(3)).expand(2, 3), rtol=1e-6
    )


@pytest.mark.parametrize("dim,eta", [(2, 0.5), (4, 1.0), (5, 2.5)])
def test_lkj_cholesky_sample_marginals(dim: int, eta: float) -> None:
    """Onion-method samples lie in corr_cholesky, and every off-diagonal correlation of L L^T has
    the LKJ marginal (r + 1)/2 ~ Beta(eta - 1 + dim/2, same) (KS test, fixed seed). torch's
    sampler fails this for dim >= 3 (its Beta's first concentration is k - 1/2 instead of k/2)."""
    mc.manual_seed(3)
    s = D.LKJCholesky(dim, mc.tensor([eta, eta], dtype=mc.float64)).sample((3000,))
    assert tuple(s.shape) == (3000, 2, dim, dim) and s.dtype == mc.float64
    assert bool(D.constraints.corr_cholesky.check(s).all())
    m = (s @ s.mT).numpy().reshape(-1, dim, dim)
    b = eta - 1 + dim / 2
    rows, cols = np.tril_indices(dim, -1)
    pvalues = [sst.kstest((m[:, i, j] + 1) / 2, sst.beta(b, b).cdf).pvalue for i, j in zip(rows, cols)]
    assert min(pvalues) > 1e-3, pvalues


@pytest.mark.parametrize("dim", [2, 3, 5])
@pytest.mark.parametrize("device", devices())
def test_corr_cholesky_transform_like_torch(dim: int, device: str) -> None:
    """Values, inverse, log |det J| and their gradients against torch; the codomain check; shapes."""
    rng = np.random.default_rng(dim)
    x = 2 * rng.standard_normal((4, dim * (dim - 1) // 2))

    def fwd(lib: Any) -> Any:
        return lambda x: lib.transforms.CorrCholeskyTransform()(x)

    def ldj(lib: Any) -> Any:
        def fn(x: Any) -> Any:
            t = lib.transforms.CorrCholeskyTransform()
            return t.log_abs_det_jacobian(x, t(x))

        return fn

    def inv(lib: Any) -> Any:
        return lambda x: lib.transforms.CorrCholeskyTransform().inv(_corr_chol_values(lib, x))

    for fn in (fwd, ldj, inv):
        compare_with_torch(fn(D), fn(TD), [x], device=device)
    t = D.transforms.CorrCholeskyTransform()
    y = t(mc.tensor(x, device=device))
    assert bool(D.constraints.corr_cholesky.check(y).all())
    np.testing.assert_allclose(t.inv(y).numpy(), x, atol=1e-9)
    assert t.bijective and t.domain.event_dim == 1 and t.codomain.event_dim == 2
    assert t.forward_shape((4, 6)) == (4, 4, 4) and t.inverse_shape((4, 4, 4)) == (4, 6)
    with pytest.raises(ValueError, match="lower-diagonal"):
        t.forward_shape((4, 5))
    with pytest.raises(ValueError, match="square"):
        t.inverse_shape((4, 3))


def test_matrix_transforms_gradcheck_and_registry() -> None:
    """float64 gradchecks of both transforms (forward, inverse, log |det J|); PositiveDefiniteTransform
    against torch; biject_to / transform_to as torch's."""
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((2, 6)), requires_grad=True)
    cct = D.transforms.CorrCholeskyTransform()
    assert mc.gradcheck(lambda x: cct(x), (x,))
    assert mc.gradcheck(lambda x: cct.log_abs_det_jacobian(x, cct(x)), (x,))
    assert mc.gradcheck(lambda x: cct.inv(cct(x)), (x,))
    a = rng.standard_normal((2, 3, 3))
    pdt = D.transforms.PositiveDefiniteTransform()
    compare_with_torch(lambda a: pdt(a), lambda a: TD.transforms.PositiveDefiniteTransform()(a), [a])
    compare_with_torch(lambda a: pdt.inv(_spd(a, 3)), lambda a: TD.PositiveDefiniteTransform().inv(_spd(a, 3)), [a])
    m = mc.tensor(a, requires_grad=True)
    assert mc.gradcheck(lambda m: pdt(m), (m,))
    assert mc.gradcheck(lambda m: pdt.inv(_spd(m, 3)), (m,))
    assert bool(D.constraints.positive_definite.check(pdt(m)).all()) and pdt == D.PositiveDefiniteTransform()
    C = D.constraints
    assert isinstance(D.biject_to(C.corr_cholesky), D.CorrCholeskyTransform)
    assert isinstance(D.transform_to(C.corr_cholesky), D.CorrCholeskyTransform)
    assert isinstance(D.transform_to(C.positive_definite), D.PositiveDefiniteTransform)
    assert isinstance(D.transform_to(C.positive_semidefinite), D.PositiveDefiniteTransform)
    with pytest.raises(NotImplementedError):
        D.biject_to(C.positive_definite)


def test_matrix_distribution_module_paths() -> None:
    """torch's import paths: torch.distributions.wishart / lkj_cholesky."""
    from minicnn.distributions.lkj_cholesky import LKJCholesky
    from minicnn.distributions.wishart import Wishart

    assert Wishart is D.Wishart and LKJCholesky is D.LKJCholesky
    assert D.transforms.CorrCholeskyTransform is D.CorrCholeskyTransform
    assert D.Wishart.has_rsample and not D.LKJCholesky.has_rsample
    assert issubclass(D.Wishart, D.ExponentialFamily) and not issubclass(D.LKJCholesky, D.ExponentialFamily)
    a, b = np.array([[2.0, 0.3], [0.3, 1.0]]), np.array([[1.0, -0.2], [-0.2, 0.5]])
    kl_m = D.kl_divergence(
        D.Wishart(mc.tensor([3.0, 4.0], dtype=mc.float64), covariance_matrix=mc.tensor(a)),
        D.Wishart(mc.tensor(5.0, dtype=mc.float64), covariance_matrix=mc.tensor(b)),
    )
    kl_t = TD.kl_divergence(
        TD.Wishart(torch.tensor([3.0, 4.0], dtype=torch.float64), covariance_matrix=torch.tensor(a)),
        TD.Wishart(torch.tensor(5.0, dtype=torch.float64), covariance_matrix=torch.tensor(b)),
    )  # torch's generic exponential-family KL (Bregman divergence of the log normalizer)
    np.testing.assert_allclose(kl_m.detach().numpy(), kl_t.detach().numpy(), rtol=1e-9)
    assert D.Wishart.support is D.constraints.positive_definite and D.LKJCholesky.support is D.constraints.corr_cholesky
