"""Sampling of mc.distributions: shapes, dtypes, support, reproducibility under mc.manual_seed,
moments and quantiles of many draws against the distribution's own mean / variance / icdf
(six standard errors: a wrong sampler fails), reparameterised gradients (float64 gradcheck
with a fixed seed; Gamma's implicit gradient against torch's _standard_gamma_grad and an exact
reference; the expected gradients of Gamma / Beta / Dirichlet / StudentT draws against the
analytic derivatives of their moments), and draws on the fake CuPy of tests/fake_gpu."""

from __future__ import annotations

import importlib
import math
import sys
from typing import Any

import numpy as np
import pytest
import scipy.special as ss
import torch
from fake_gpu import cupy as fake_cupy
from fake_gpu import cupyx as fake_cupyx

import minicnn as mc
from minicnn import backend
from minicnn import random as mc_random
from minicnn.distributions.utils import standard_gamma_grad

D = mc.distributions
N = 40_000


def t(a: Any) -> mc.Tensor:
    return mc.tensor(np.asarray(a, dtype=np.float64))


# (distribution, whether its variance has a finite standard error (finite 4th moment))
SAMPLED = {
    "Normal": (lambda: D.Normal(t([0.5, -1.0]), t([1.0, 2.0])), True),
    "Uniform": (lambda: D.Uniform(t([0.0, -2.0]), t([1.0, 3.0])), True),
    "Exponential": (lambda: D.Exponential(t([0.5, 2.0])), True),
    "Laplace": (lambda: D.Laplace(t([0.5, -1.0]), t([1.0, 0.3])), True),
    "Gumbel": (lambda: D.Gumbel(t([0.5, -1.0]), t([1.0, 0.3])), True),
    "Gamma": (lambda: D.Gamma(t([0.3, 4.0]), t([1.0, 2.0])), True),
    "Chi2": (lambda: D.Chi2(t([1.0, 5.0])), True),
    "Beta": (lambda: D.Beta(t([0.5, 3.0]), t([2.0, 0.7])), True),
    "Dirichlet": (lambda: D.Dirichlet(t([[0.5, 1.0, 3.0], [2.0, 2.0, 2.0]])), True),
    "StudentT": (lambda: D.StudentT(t([9.0, 12.0]), t([0.5, 0.0]), t([1.0, 2.0])), True),
    "LogNormal": (lambda: D.LogNormal(t([0.0, 0.5]), t([0.25, 0.2])), True),
    "HalfNormal": (lambda: D.HalfNormal(t([1.0, 2.0])), True),
    "Poisson": (lambda: D.Poisson(t([0.5, 7.0])), True),
    "Geometric": (lambda: D.Geometric(t([0.3, 0.8])), True),
    "Bernoulli": (lambda: D.Bernoulli(t([0.3, 0.8])), True),
    "Binomial": (lambda: D.Binomial(t([5.0, 20.0]), t([0.3, 0.8])), True),
    "Categorical": (lambda: D.Categorical(t([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])), False),
    "OneHotCategorical": (lambda: D.OneHotCategorical(t([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])), True),
    "Multinomial": (lambda: D.Multinomial(4, t([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])), True),
    "MultivariateNormal": (lambda: D.MultivariateNormal(t([1.0, -1.0]), t([[2.0, 0.6], [0.6, 1.0]])), True),
    "Independent": (lambda: D.Independent(D.Normal(t([[0.0, 1.0]]), t([[1.0, 3.0]])), 1), True),
    "MixtureSameFamily": (
        lambda: D.MixtureSameFamily(D.Categorical(t([0.3, 0.7])), D.Normal(t([-2.0, 1.0]), t([0.5, 1.0]))),
        True,
    ),
    "RelaxedBernoulli": (lambda: D.RelaxedBernoulli(t(0.5), t([0.3, 0.8])), True),
    "ContinuousBernoulli": (lambda: D.ContinuousBernoulli(t([0.2, 0.4999, 0.9])), True),
    "Kumaraswamy": (lambda: D.Kumaraswamy(t([0.7, 3.0]), t([2.0, 0.8])), True),
    "FisherSnedecor": (lambda: D.FisherSnedecor(t([3.0, 10.0]), t([20.0, 25.0])), True),
    "Pareto": (lambda: D.Pareto(t([1.0, 2.0]), t([9.0, 12.0])), True),
    "Weibull": (lambda: D.Weibull(t([1.0, 2.0]), t([0.8, 3.0])), True),
    "InverseGamma": (lambda: D.InverseGamma(t([9.0, 12.0]), t([1.0, 2.0])), True),
    "NegativeBinomial": (lambda: D.NegativeBinomial(t([3.0, 0.7]), t([0.4, 0.2])), True),
    "LowRankMultivariateNormal": (
        lambda: D.LowRankMultivariateNormal(t([1.0, -1.0]), t([[1.0], [0.5]]), t([0.5, 2.0])),
        True,
    ),
}


@pytest.mark.parametrize("name", list(SAMPLED))
def test_samples_shape_support_and_moments(name: str) -> None:
    """Shape sample_shape + batch + event, the parameters' dtype (int64 for Categorical), inside
    the support, mean within 6 standard errors of ``mean`` and the sample variance within 6 of
    ``variance``; the same draws again after the same mc.manual_seed, not a requires_grad result."""
    build, var_ok = SAMPLED[name]
    d = build()
    mc.manual_seed(1)
    x = d.sample((N,))
    assert x.shape == (N,) + d.batch_shape + d.event_shape
    assert x.dtype == (mc.int64 if name == "Categorical" else mc.float64) and not x.requires_grad
    assert bool(d.support.check(x).all()), f"{name}: a sample outside the support"
    assert d.sample().shape == d.batch_shape + d.event_shape
    assert d.sample((2, 3)).shape == (2, 3) + d.batch_shape + d.event_shape
    mc.manual_seed(1)
    np.testing.assert_array_equal(d.sample((N,)).numpy(), x.numpy())
    if name == "Categorical":  # frequencies against probs
        freq = np.stack([(x.numpy() == k).mean(0) for k in range(3)], -1)
        p = d.probs.numpy()
        assert (np.abs(freq - p) <= 6 * np.sqrt(p * (1 - p) / N)).all()
        return
    if name == "RelaxedBernoulli":  # no closed-form moments: P(X > 1/2) = p (temperature-free)
        frac = (x.numpy() > 0.5).mean(0)
        p = d.probs.numpy()
        assert (np.abs(frac - p) <= 6 * np.sqrt(p * (1 - p) / N)).all()
        return
    xs = x.numpy()
    mean, var = d.mean.numpy(), d.variance.numpy()
    se_mean = np.sqrt(var / N)
    assert (np.abs(xs.mean(0) - mean) <= 6 * se_mean + 1e-12).all(), (name, xs.mean(0), mean)
    if var_ok:
        dev2 = (xs - xs.mean(0)) ** 2
        se_var = dev2.std(0) / math.sqrt(N)
        assert (np.abs(dev2.mean(0) - var) <= 6 * se_var + 1e-12).all(), (name, dev2.mean(0), var)
    if name == "MultivariateNormal":  # the covariance too
        c = np.cov(xs.T)
        cov = d.covariance_matrix.numpy()
        assert np.abs(c - cov).max() <= 6 * np.sqrt((cov[0, 0] * cov[1, 1] + cov[0, 1] ** 2) / N)


@pytest.mark.parametrize(
    "name", ["Normal", "Cauchy", "HalfCauchy", "Laplace", "Gumbel", "Exponential", "Uniform", "LogNormal"]
)
def test_samples_quantiles(name: str) -> None:
    """P(X <= icdf(q)) = q for q in (0.1, 0.5, 0.9), within 6 standard errors (Cauchy: no moments)."""
    no_moments = {
        "Cauchy": lambda: D.Cauchy(t([0.5, -1.0]), t([1.0, 0.3])),
        "HalfCauchy": lambda: D.HalfCauchy(t([1.0, 0.3])),
    }
    d = no_moments.get(name, SAMPLED.get(name, (None,))[0])()
    mc.manual_seed(2)
    x = d.sample((N,)).numpy()
    for q in (0.1, 0.5, 0.9):
        edge = d.icdf(t(np.full(d.batch_shape, q))).numpy()
        assert (np.abs((x <= edge).mean(0) - q) <= 6 * math.sqrt(q * (1 - q) / N)).all(), (name, q)


RSAMPLED = {
    "Normal": (lambda a, b: D.Normal(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "Uniform": (lambda a, b: D.Uniform(a, a + b), [[0.5, -1.0], [1.0, 2.0]]),
    "Exponential": (lambda a: D.Exponential(a), [[0.5, 2.0]]),
    "Laplace": (lambda a, b: D.Laplace(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "Cauchy": (lambda a, b: D.Cauchy(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "Gumbel": (lambda a, b: D.Gumbel(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "LogNormal": (lambda a, b: D.LogNormal(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "MultivariateNormal": (
        lambda a, L: D.MultivariateNormal(a, scale_tril=L.tril() + 2 * mc.eye(2, dtype=L.dtype)),
        [[0.5, -1.0], [[0.3, 0.0], [0.5, 0.2]]],
    ),
    "RelaxedBernoulli": (lambda a, b: D.RelaxedBernoulli(a, logits=b), [[0.7], [0.3, -1.0]]),
    "RelaxedOneHotCategorical": (lambda a, b: D.RelaxedOneHotCategorical(a, logits=b), [[0.7], [0.3, -1.0, 0.2]]),
    "StudentT(loc, scale)": (lambda a, b: D.StudentT(t([3.0, 5.0]), a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "ContinuousBernoulli": (lambda p: D.ContinuousBernoulli(p), [[0.2, 0.7]]),
    "Kumaraswamy": (lambda a, b: D.Kumaraswamy(a, b), [[0.7, 3.0], [2.0, 0.8]]),
    "TransformedDistribution": (
        lambda a, b: D.TransformedDistribution(D.Normal(a, b), [D.TanhTransform()]),
        [[0.5, -1.0], [1.0, 2.0]],
    ),
}


@pytest.mark.parametrize("name", list(RSAMPLED))
def test_rsample_gradcheck(name: str) -> None:
    """float64 gradcheck / gradgradcheck of rsample w.r.t. the parameters, the draws fixed by a
    seed inside the function (pathwise reparameterisation)."""
    build, params = RSAMPLED[name]
    args = tuple(mc.tensor(p, dtype=mc.float64, requires_grad=True) for p in params)
    assert build(*args).has_rsample

    def f(*xs: mc.Tensor) -> mc.Tensor:
        mc.manual_seed(5)
        return build(*xs).rsample((3,))

    assert mc.gradcheck(f, args)
    assert mc.gradgradcheck(f, args)
    assert not build(*args).sample((2,)).requires_grad


def test_straight_through_like_torch() -> None:
    """OneHotCategoricalStraightThrough.rsample: a one-hot draw whose gradient is the
    probabilities' (torch's estimator): the same gradient w.r.t. the logits as torch's."""
    logits = np.array([[0.3, -1.0, 0.2], [1.0, 0.0, 2.0]])
    g = np.random.default_rng(0).normal(size=(5, 2, 3))
    ml, tl = mc.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    ms = D.OneHotCategoricalStraightThrough(logits=ml).rsample((5,))
    ts = torch.distributions.OneHotCategoricalStraightThrough(logits=tl).rsample((5,))
    assert ms.shape == tuple(ts.shape) and set(np.unique(ms.detach().numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(ms.detach().numpy().sum(-1), 1.0)
    (ms * mc.tensor(g)).sum().backward()
    (ts * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ml.grad.numpy(), tl.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_standard_gamma_grad_against_torch_and_exact() -> None:
    """The implicit gradient dx/dalpha = -(dP/dalpha)/(dP/dx) at fixed CDF: within 1e-3 of
    torch's _standard_gamma_grad (an approximation) and 1e-6 of a scipy finite difference."""
    rng = np.random.default_rng(0)
    alpha = np.repeat(np.array([0.05, 0.3, 1.0, 2.5, 10.0, 80.0, 600.0]), 5)
    x = rng.gamma(alpha)
    x = np.maximum(x, 1e-300)
    ours = standard_gamma_grad(alpha, x)
    theirs = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-3)
    h = 1e-6 * alpha
    dens = np.exp((alpha - 1) * np.log(x) - x - ss.gammaln(alpha))
    exact = -(ss.gammainc(alpha + h, x) - ss.gammainc(alpha - h, x)) / (2 * h) / dens
    np.testing.assert_allclose(ours, exact, rtol=1e-6)


def test_gamma_rsample_gradient_is_the_implicit_one() -> None:
    """d(sample)/d(concentration) of Gamma.rsample is standard_gamma_grad at that sample / rate;
    d/d(rate) = -sample / rate."""
    a = mc.tensor([0.5, 3.0], dtype=mc.float64, requires_grad=True)
    b = mc.tensor([2.0, 0.5], dtype=mc.float64, requires_grad=True)
    mc.manual_seed(0)
    x = D.Gamma(a, b).rsample((4,))
    x.sum().backward()
    z = x.detach().numpy() * b.detach().numpy()  # the standard gamma draws
    expected_a = (standard_gamma_grad(np.broadcast_to(a.detach().numpy(), z.shape), z) / b.detach().numpy()).sum(0)
    np.testing.assert_allclose(a.grad.numpy(), expected_a, rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), (-x.detach().numpy() / b.detach().numpy()).sum(0), rtol=1e-10)


@pytest.mark.parametrize(
    "name, build, params, moment, analytic",
    [
        # Gamma(a, b): E[X^2] = a (a + 1) / b^2
        ("Gamma", lambda a, b: D.Gamma(a, b), [[0.4, 3.0], [1.5, 0.7]], lambda x: x**2,
         lambda a, b: [(2 * a + 1) / b**2, -2 * a * (a + 1) / b**3]),
        # Beta(a, b): E[X] = a / (a + b)
        ("Beta", lambda a, b: D.Beta(a, b), [[0.6, 3.0], [2.0, 0.8]], lambda x: x,
         lambda a, b: [b / (a + b) ** 2, -a / (a + b) ** 2]),
        # StudentT(df, 0, 1): E[X^2] = df / (df - 2)
        ("StudentT", lambda df: D.StudentT(df), [[6.0, 9.0]], lambda x: x**2, lambda df: [-2 / (df - 2) ** 2]),
    ],
)  # fmt: skip
def test_implicit_reparameterisation_expected_gradient(name, build, params, moment, analytic) -> None:
    """The mean over many draws of d moment(rsample)/d theta equals d E[moment]/d theta within
    6 standard errors (of the per-draw gradients: each draw gets its own copy of the
    parameters): the gradients are unbiased, as reparameterisation must give."""
    n = 20_000
    args = [mc.tensor(np.broadcast_to(p, (n, len(p))).copy(), dtype=mc.float64, requires_grad=True) for p in params]
    mc.manual_seed(3)
    x = build(*args).rsample()
    grads = mc.autograd.grad(moment(x).sum(), args)
    expected = analytic(*[np.asarray(p) for p in params])
    for i, g in enumerate(grads):
        per_draw = g.numpy()
        assert np.isfinite(per_draw).all()
        se = per_draw.std(0) / math.sqrt(n)
        assert (np.abs(per_draw.mean(0) - expected[i]) <= 6 * se).all(), (name, i, per_draw.mean(0), expected[i], se)


def test_dirichlet_expected_gradient() -> None:
    """E[X_0] = c_0 / sum(c): the mean of the per-draw d X_0 / d c is its derivative (6 standard errors)."""
    n = 20_000
    cs = np.array([0.7, 2.0, 1.5])
    c = mc.tensor(np.broadcast_to(cs, (n, 3)).copy(), requires_grad=True)
    mc.manual_seed(4)
    x = D.Dirichlet(c).rsample()
    assert np.allclose(x.detach().numpy().sum(-1), 1.0)
    (g,) = mc.autograd.grad(x[:, 0].sum(), [c])
    s = cs.sum()
    expected = np.array([(s - cs[0]) / s**2, -cs[0] / s**2, -cs[0] / s**2])
    per_draw = g.numpy()
    assert (np.abs(per_draw.mean(0) - expected) <= 6 * per_draw.std(0) / math.sqrt(n)).all()


@pytest.fixture
def fake_gpu(monkeypatch):
    """The fake CuPy as minicnn's CuPy, with fresh GPU generators."""
    monkeypatch.setattr(backend, "_cupy", fake_cupy)
    monkeypatch.setitem(sys.modules, "cupyx", fake_cupyx)
    for name in ("scipy", "scipy.special"):
        monkeypatch.setitem(sys.modules, f"cupyx.{name}", importlib.import_module(f"fake_gpu.cupyx.{name}"))
    monkeypatch.setattr(mc_random, "_cp_rngs", {})
    return fake_cupy


def test_distributions_on_the_fake_gpu(fake_gpu) -> None:
    """Draws, log_prob, rsample gradients and KL on device arrays (xp-agnostic code): the
    results stay on the GPU, and log_prob / KL equal the CPU's."""

    def g(a: Any) -> mc.Tensor:
        return mc.tensor(np.asarray(a, dtype=np.float64), device="cuda", requires_grad=True)

    dists = [
        lambda T: D.Normal(T([0.5, -1.0]), T([1.0, 2.0])),
        lambda T: D.Gamma(T([0.5, 3.0]), T([1.0, 2.0])),
        lambda T: D.Beta(T([0.5, 3.0]), T([1.0, 2.0])),
        lambda T: D.Categorical(logits=T([[0.1, 0.2, 0.3], [1.0, 0.0, -1.0]])),
        lambda T: D.Bernoulli(T([0.3, 0.6])),
        lambda T: D.Poisson(T([0.3, 6.0])),
        lambda T: D.MultivariateNormal(T([0.0, 1.0]), T([[2.0, 0.5], [0.5, 1.0]])),
        lambda T: D.Exponential(T([0.3, 6.0])),
        lambda T: D.Dirichlet(T([0.3, 6.0])),
        lambda T: D.VonMises(T([0.3, -2.0]), T([0.5, 8.0])),
        lambda T: D.GeneralizedPareto(T([0.3, -2.0]), T([0.5, 2.0]), T([0.4, -0.3])),
    ]
    for build in dists:
        d = build(g)
        s = d.sample((5,))
        assert isinstance(s.array, fake_cupy.FakeGpuArray), type(d).__name__
        lp = d.log_prob(s)
        assert isinstance(lp.array, fake_cupy.FakeGpuArray)
        cpu = build(lambda a: mc.tensor(np.asarray(a, dtype=np.float64)))
        np.testing.assert_allclose(lp.numpy(), cpu.log_prob(mc.tensor(s.numpy())).numpy(), rtol=1e-10)
        if d.has_rsample:
            r = d.rsample((3,))
            r.sum().backward()
            assert isinstance(r.array, fake_cupy.FakeGpuArray)
    kl = D.kl_divergence(D.Normal(g([0.0]), g([1.0])), D.Normal(g([1.0]), g([2.0])))
    assert isinstance(kl.array, fake_cupy.FakeGpuArray)
    bregman = D.kl.__dict__["_kl_expfamily_expfamily"](D.Gamma(g([0.5]), g([1.0])), D.Gamma(g([2.0]), g([3.0])))
    assert isinstance(bregman.array, fake_cupy.FakeGpuArray)
    assert isinstance(D.ExponentialFamily.entropy(D.Gamma(g([0.5]), g([1.0]))).array, fake_cupy.FakeGpuArray)
