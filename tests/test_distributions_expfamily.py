"""mc.distributions.ExponentialFamily (natural parameters, log normalizer, Bregman entropy and KL),
VonMises and GeneralizedPareto against torch.distributions (values and gradients on
hypothesis-drawn parameters) and scipy (float64 references), float64 gradchecks, sampling by
KS tests with fixed seeds, validation errors and the torch-style submodule imports."""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as ss
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc

D = mc.distributions
TD = torch.distributions
SETTINGS = settings(max_examples=6, deadline=None)


def _grads(mo: mc.Tensor, to: torch.Tensor, leaves: list[tuple[Any, Any]], seed: int, rtol: float, atol: float,
           what: str) -> None:  # fmt: skip
    """The gradients of sum(out * g) w.r.t. every leaf pair agree."""
    g = np.random.default_rng(seed).standard_normal(tuple(to.shape))
    tg = torch.autograd.grad((to * torch.tensor(g, dtype=to.dtype)).sum(), [t for _, t in leaves])
    mg = mc.autograd.grad((mo * mc.tensor(g, dtype=mo.dtype, device=mo.device)).sum(), [m for m, _ in leaves])
    for i, (a, b) in enumerate(zip(mg, tg)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol, err_msg=f"{what}: gradient {i}")


# ----------------------------------------------------------------------------------------------
# ExponentialFamily


def test_exponential_family_subclasses_match_torch() -> None:
    names = [n for n in D.__all__ if inspect.isclass(getattr(D, n)) and issubclass(getattr(D, n), D.Distribution)]
    for name in names:
        if hasattr(TD, name):
            mine = issubclass(getattr(D, name), D.ExponentialFamily)
            assert mine == issubclass(getattr(TD, name), TD.ExponentialFamily), name
    assert isinstance(D.Normal(0.0, 1.0), D.ExponentialFamily)
    assert not isinstance(D.Laplace(0.0, 1.0), D.ExponentialFamily)
    from minicnn.distributions.exp_family import ExponentialFamily
    from minicnn.distributions.generalized_pareto import GeneralizedPareto
    from minicnn.distributions.von_mises import VonMises

    assert (ExponentialFamily, GeneralizedPareto, VonMises) == (D.ExponentialFamily, D.GeneralizedPareto, D.VonMises)


# name: (parameter arrays from a rng and a shape, has _mean_carrier_measure)
EXPFAM = {
    "Normal": (lambda r, s: [r.normal(size=s), r.uniform(0.5, 2.0, s)], True),
    "Exponential": (lambda r, s: [r.uniform(0.5, 2.0, s)], True),
    "Gamma": (lambda r, s: [r.uniform(0.5, 3.0, s), r.uniform(0.5, 2.0, s)], True),
    "Chi2": (lambda r, s: [r.uniform(0.5, 4.0, s)], True),
    "Beta": (lambda r, s: [r.uniform(0.5, 3.0, s), r.uniform(0.5, 3.0, s)], False),
    "Dirichlet": (lambda r, s: [r.uniform(0.5, 3.0, s + (3,))], False),
    "Poisson": (lambda r, s: [r.uniform(0.5, 4.0, s)], False),
    "Bernoulli": (lambda r, s: [r.uniform(0.1, 0.9, s)], True),
    "ContinuousBernoulli": (lambda r, s: [r.choice([0.2, 0.4995, 0.7], s) + r.uniform(0, 2e-4, s)], True),
}


@pytest.mark.parametrize("name", list(EXPFAM))
@SETTINGS
@given(shape=st.sampled_from([(), (1,), (3,), (2, 2)]), seed=st.integers(0, 2**16))
def test_natural_params_log_normalizer_entropy_like_torch(name: str, shape: tuple, seed: int) -> None:
    build, has_carrier = EXPFAM[name]
    rng = np.random.default_rng(seed)
    arrays = build(rng, shape)
    mt = [mc.tensor(a, requires_grad=True) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    m, t = getattr(D, name)(*mt), getattr(TD, name)(*tt)
    mn, tn = m._natural_params, t._natural_params
    assert len(mn) == len(tn)
    for a, b in zip(mn, tn):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    mf, tf = m._log_normalizer(*mn), t._log_normalizer(*tn)
    np.testing.assert_allclose(mf.detach().numpy(), tf.detach().numpy(), rtol=1e-10, atol=1e-12)
    _grads(mf, tf, list(zip(mt, tt)), seed, 1e-8, 1e-10, f"{name}._log_normalizer")
    if has_carrier:
        me, te = D.ExponentialFamily.entropy(m), TD.ExponentialFamily.entropy(t)
        assert tuple(me.shape) == tuple(te.shape)
        np.testing.assert_allclose(me.detach().numpy(), te.detach().numpy(), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(me.detach().numpy(), t.entropy().detach().numpy(), rtol=1e-8, atol=1e-10)
    else:
        with pytest.raises(NotImplementedError):
            D.ExponentialFamily.entropy(m)


@pytest.mark.parametrize("name", list(EXPFAM))
def test_bregman_kl_like_torch(name: str) -> None:
    """torch's generic KL of one family (here called directly: every pair minicnn has also has a
    closed form, which the Bregman divergence must equal)."""
    build = EXPFAM[name][0]
    rng = np.random.default_rng(1)
    pa, qa = build(rng, (3,)), build(rng, (3,))
    mq = [mc.tensor(a, requires_grad=True) for a in qa]
    tq = [torch.tensor(a, requires_grad=True) for a in qa]
    p, q = getattr(D, name)(*[mc.tensor(a) for a in pa]), getattr(D, name)(*mq)
    tp, tqd = getattr(TD, name)(*[torch.tensor(a) for a in pa]), getattr(TD, name)(*tq)
    mk, tk = D.kl._kl_expfamily_expfamily(p, q), TD.kl._kl_expfamily_expfamily(tp, tqd)
    np.testing.assert_allclose(mk.detach().numpy(), tk.detach().numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mk.detach().numpy(), D.kl_divergence(p, q).detach().numpy(), rtol=1e-8, atol=1e-10)
    _grads(mk, tk, list(zip(mq, tq)), 0, 1e-8, 1e-10, f"KL({name})")


def _exp_family_class(lib: Any) -> Any:
    """A family with no closed-form KL registered: Exp(rate) with natural parameter -rate."""

    class Exp(lib.ExponentialFamily):
        arg_constraints: dict = {}

        def __init__(self, rate: Any) -> None:
            self.rate = rate
            super().__init__(tuple(rate.shape), validate_args=False)

        @property
        def _natural_params(self) -> tuple:
            return (-self.rate,)

        def _log_normalizer(self, x: Any) -> Any:
            return -(-x).log()

    return Exp


def test_kl_dispatches_to_the_bregman_divergence() -> None:
    my, th = _exp_family_class(D), _exp_family_class(TD)
    rate = np.array([0.5, 2.0, 3.0])
    q_rate = mc.tensor([1.5, 0.3, 3.0], dtype=mc.float64, requires_grad=True)
    tq_rate = torch.tensor([1.5, 0.3, 3.0], dtype=torch.float64, requires_grad=True)
    mk = D.kl_divergence(my(mc.tensor(rate)), my(q_rate))
    tk = TD.kl_divergence(th(torch.tensor(rate)), th(tq_rate))
    np.testing.assert_allclose(mk.detach().numpy(), tk.detach().numpy(), rtol=1e-10)
    _grads(mk, tk, [(q_rate, tq_rate)], 0, 1e-8, 1e-10, "KL(Exp)")
    with pytest.raises(NotImplementedError):  # two families: torch raises NotImplementedError too
        D.kl.__dict__["_kl_expfamily_expfamily"](D.Normal(0.0, 1.0), D.Exponential(1.0))


def test_wishart_kl_is_the_bregman_divergence() -> None:
    """torch has no closed-form Wishart KL: kl_divergence takes the generic one (matrix natural parameter)."""
    a, b = np.array([[2.0, 0.3], [0.3, 1.0]]), np.array([[1.0, -0.2], [-0.2, 0.5]])
    mdf = mc.tensor([3.0, 5.0], dtype=mc.float64, requires_grad=True)
    tdf = torch.tensor([3.0, 5.0], dtype=torch.float64, requires_grad=True)
    p, tp = (
        D.Wishart(mc.tensor(4.0, dtype=mc.float64), mc.tensor(a)),
        TD.Wishart(torch.tensor(4.0).double(), torch.tensor(a)),
    )
    mk = D.kl_divergence(p, D.Wishart(mdf, mc.tensor(b)))
    tk = TD.kl_divergence(tp, TD.Wishart(tdf, torch.tensor(b)))
    np.testing.assert_allclose(mk.detach().numpy(), tk.detach().numpy(), rtol=1e-10)
    _grads(mk, tk, [(mdf, tdf)], 0, 1e-8, 1e-10, "KL(Wishart)")


def test_expfamily_entropy_under_no_grad() -> None:
    m = D.Gamma(mc.tensor([2.0, 0.7]), mc.tensor([1.5, 3.0]))
    with mc.no_grad():
        e = D.ExponentialFamily.entropy(m)
    np.testing.assert_allclose(e.detach().numpy(), ss.gamma.entropy([2.0, 0.7], scale=[1 / 1.5, 1 / 3.0]), rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# VonMises


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=st.sampled_from([(), (1,), (3,), (2, 3)]), seed=st.integers(0, 2**16))
def test_von_mises_like_torch(device: str, shape: tuple, seed: int) -> None:
    """log_prob and variance against torch (whose log I0 is a polynomial fit good to ~2e-7, so
    the tolerance) and against scipy (exact, float64)."""
    rng = np.random.default_rng(seed)
    loc, conc = rng.uniform(-4, 4, shape), np.exp(rng.uniform(-4, 3.5, shape))
    value = rng.uniform(-7, 7, (2,) + shape)
    ml, mk, mv = (mc.tensor(a, requires_grad=True, device=device) for a in (loc, conc, value))
    tl, tk, tv = (torch.tensor(a, requires_grad=True) for a in (loc, conc, value))
    m, t = D.VonMises(ml, mk), TD.VonMises(tl, tk)
    assert m.batch_shape == tuple(t.batch_shape) and m.event_shape == () and not m.has_rsample
    mo, to = m.log_prob(mv), t.log_prob(tv)
    np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mo.detach().numpy(), ss.vonmises.logpdf(value, conc, loc=loc), rtol=1e-12, atol=1e-12)
    _grads(mo, to, [(ml, tl), (mk, tk), (mv, tv)], seed, 1e-5, 1e-6, "VonMises.log_prob")
    var = m.variance
    np.testing.assert_allclose(var.detach().numpy(), t.variance.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.detach().numpy(), 1 - sp.i1e(conc) / sp.i0e(conc), rtol=1e-12, atol=1e-14)
    assert m.mean is ml and m.mode is ml


def test_von_mises_gradcheck() -> None:
    loc = mc.tensor([0.3, -2.0], dtype=mc.float64, requires_grad=True)
    conc = mc.tensor([0.05, 12.0], dtype=mc.float64, requires_grad=True)
    value = mc.tensor([1.0, 4.0], dtype=mc.float64, requires_grad=True)
    assert mc.gradcheck(lambda a, b, v: D.VonMises(a, b).log_prob(v), (loc, conc, value))
    assert mc.gradgradcheck(lambda a, b, v: D.VonMises(a, b).log_prob(v), (loc, conc, value))
    assert mc.gradcheck(lambda b: D.VonMises(0.0, b).variance, (conc,))


@pytest.mark.parametrize("kappa", [1e-6, 0.7, 25.0])
def test_von_mises_samples(kappa: float) -> None:
    mc.manual_seed(0)
    m = D.VonMises(mc.tensor([2.5]), mc.tensor([kappa]))  # float32: drawn in float64 (no stall at tiny kappa)
    x = m.sample((4000,))
    assert tuple(x.shape) == (4000, 1) and x.dtype == mc.float32 and not x.requires_grad
    a = x.numpy()[:, 0].astype(np.float64)
    assert a.min() >= -math.pi and a.max() <= math.pi
    centred = (a - 2.5 + math.pi) % (2 * math.pi) - math.pi
    assert ss.kstest(centred, ss.vonmises(kappa).cdf).pvalue > 1e-3
    e = m.expand((2, 3))
    assert e.batch_shape == (2, 3) and tuple(e.sample((4,)).shape) == (4, 2, 3)


def test_von_mises_validation() -> None:
    with pytest.raises(ValueError, match="concentration"):
        D.VonMises(0.0, mc.tensor([1.0, 0.0]))
    with pytest.raises(ValueError):
        D.VonMises(0.0, 1.0).log_prob(mc.tensor(math.nan))
    m = D.VonMises(0.0, mc.tensor([-1.0, -2.5]), validate_args=False)  # (unchecked: torch's values)
    t = TD.VonMises(0.0, torch.tensor([-1.0, -2.5]), validate_args=False)
    np.testing.assert_allclose(m.log_prob(mc.tensor(0.5)).numpy(), t.log_prob(torch.tensor(0.5)).numpy(), rtol=1e-5)
    np.testing.assert_allclose(m.variance.numpy(), t.variance.numpy(), rtol=1e-5)
    with pytest.raises(NotImplementedError):
        D.VonMises(0.0, 1.0).rsample()


# ----------------------------------------------------------------------------------------------
# GeneralizedPareto


def _gpd_values(rng: np.random.Generator, loc: np.ndarray, scale: np.ndarray, conc: np.ndarray) -> np.ndarray:
    """Points inside the support (up to 90% of its length where it is bounded), broadcast."""
    upper = np.where(conc < 0, -scale / np.where(conc < 0, conc, -1.0), 8.0 * scale)
    return loc + rng.uniform(0.0, 0.9, (2,) + loc.shape) * upper


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=st.sampled_from([(), (1,), (4,), (2, 4)]), seed=st.integers(0, 2**16))
def test_generalized_pareto_like_torch(device: str, shape: tuple, seed: int) -> None:
    """Against torch in float32 (torch's log_prob / cdf fail on float64 parameters: it compares
    them with a float32 zero), concentrations < 0, 0 and > 0 mixed."""
    rng = np.random.default_rng(seed)
    loc, scale = rng.normal(size=shape), rng.uniform(0.5, 2.0, shape)
    conc = rng.choice([-0.7, -0.2, 0.0, 0.3, 0.8], shape) + rng.uniform(-0.05, 0.05, shape) * (rng.random(shape) < 0.5)
    value, q = _gpd_values(rng, loc, scale, conc), rng.uniform(0.05, 0.95, (2,) + shape)
    arrays = [a.astype(np.float32) for a in (loc, scale, conc, value, q)]
    ms = [mc.tensor(a, requires_grad=True, device=device) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tol = dict(rtol=2e-4, atol=2e-5)
    for what in ("log_prob", "cdf", "log_cdf", "log_survival_function", "icdf"):
        m, t = D.GeneralizedPareto(*ms[:3]), TD.GeneralizedPareto(*ts[:3])
        arg = 4 if what == "icdf" else 3
        mo, to = getattr(m, what)(ms[arg]), getattr(t, what)(ts[arg])
        assert tuple(mo.shape) == tuple(to.shape) and mo.dtype == mc.float32
        np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), err_msg=what, **tol)
        _grads(mo, to, list(zip(ms[:3] + [ms[arg]], ts[:3] + [ts[arg]])), seed, 1e-3, 1e-4, f"GPD.{what}")
    for what in ("mean", "variance", "stddev", "mode", "entropy"):
        m, t = D.GeneralizedPareto(*ms[:3]), TD.GeneralizedPareto(*ts[:3])
        mo = m.entropy() if what == "entropy" else getattr(m, what)
        to = t.entropy() if what == "entropy" else getattr(t, what)
        assert tuple(mo.shape) == tuple(to.shape), what
        np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), err_msg=what, **tol)
    m, t = D.GeneralizedPareto(*ms[:3]), TD.GeneralizedPareto(*ts[:3])
    edges = np.stack([loc, loc - 1e-3, np.where(conc < 0, loc - scale / np.where(conc < 0, conc, 1) + 1e-3, 1e6)])
    edges = edges.astype(np.float32)
    got = m.support.check(mc.tensor(edges, device=device)).numpy()
    np.testing.assert_array_equal(got, t.support.check(torch.tensor(edges)))


@pytest.mark.parametrize("conc", [-0.6, 0.0, 0.4])
def test_generalized_pareto_float64_against_scipy(conc: float) -> None:
    loc, scale = 0.3, 1.7
    m = D.GeneralizedPareto(mc.tensor(loc, dtype=mc.float64), scale, conc)
    x = np.linspace(0.31, 2.5, 7)
    ref = ss.genpareto(conc, loc=loc, scale=scale)
    np.testing.assert_allclose(m.log_prob(mc.tensor(x)).numpy(), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(m.cdf(mc.tensor(x)).numpy(), ref.cdf(x), rtol=1e-12)
    u = np.array([0.0, 0.1, 0.5, 0.9])
    np.testing.assert_allclose(m.icdf(mc.tensor(u)).numpy(), ref.ppf(u), rtol=1e-12)
    np.testing.assert_allclose(float(m.mean), ref.mean(), rtol=1e-12)
    np.testing.assert_allclose(float(m.variance), ref.var(), rtol=1e-12)
    np.testing.assert_allclose(float(m.entropy()), ref.entropy(), rtol=1e-12)
    assert m.batch_shape == () and m.has_rsample


def test_generalized_pareto_heavy_tails_and_edges() -> None:
    m = D.GeneralizedPareto(0.0, 1.0, mc.tensor([0.6, 1.2, -1.0]), validate_args=False)
    t = TD.GeneralizedPareto(0.0, 1.0, torch.tensor([0.6, 1.2, -1.0]), validate_args=False)
    for what in ("mean", "variance"):  # NaN where the moment does not exist (c >= 1, c >= 1/2)
        np.testing.assert_allclose(getattr(m, what).numpy(), getattr(t, what).numpy(), rtol=1e-6)
    np.testing.assert_allclose(m.icdf(mc.tensor([1.0])).numpy(), t.icdf(torch.tensor([1.0])).numpy())
    np.testing.assert_allclose(m.log_prob(mc.tensor(0.0)).numpy(), t.log_prob(torch.tensor(0.0)).numpy())
    with pytest.raises(ValueError, match="scale"):
        D.GeneralizedPareto(0.0, 0.0, 0.5)
    with pytest.raises(ValueError, match="support"):
        D.GeneralizedPareto(0.0, 1.0, -0.5).log_prob(mc.tensor(2.5))
    with pytest.raises(ValueError, match="support"):
        D.GeneralizedPareto(0.0, 1.0, 0.5).log_prob(mc.tensor(-0.1))
    e = D.GeneralizedPareto(mc.tensor([0.0]), 1.0, 0.2).expand((3, 1))
    assert e.batch_shape == (3, 1) and tuple(e.rsample((2,)).shape) == (2, 3, 1)


def test_generalized_pareto_rsample() -> None:
    args = tuple(mc.tensor(a, dtype=mc.float64, requires_grad=True) for a in ([0.1, -1.0], [2.0, 0.5], [0.3, -0.4]))

    def f(*xs: mc.Tensor) -> mc.Tensor:
        mc.manual_seed(5)
        return D.GeneralizedPareto(*xs).rsample((3,))

    assert mc.gradcheck(f, args)
    assert mc.gradgradcheck(f, args)
    mc.manual_seed(1)
    x = D.GeneralizedPareto(mc.tensor([0.1, -1.0]), mc.tensor([2.0, 0.5]), mc.tensor([0.3, -0.4])).sample((4000,))
    assert x.dtype == mc.float32 and not x.requires_grad
    for i, (loc, scale, c) in enumerate([(0.1, 2.0, 0.3), (-1.0, 0.5, -0.4)]):
        assert ss.kstest(x.numpy()[:, i], ss.genpareto(c, loc=loc, scale=scale).cdf).pvalue > 1e-3


def test_generalized_pareto_gradcheck() -> None:
    loc = mc.tensor([0.1, -1.0, 0.0], dtype=mc.float64, requires_grad=True)
    scale = mc.tensor([2.0, 0.5, 1.0], dtype=mc.float64, requires_grad=True)
    conc = mc.tensor([0.3, -0.4, 0.8], dtype=mc.float64, requires_grad=True)
    value = mc.tensor([0.9, -0.5, 2.0], dtype=mc.float64, requires_grad=True)
    for what in ("log_prob", "cdf", "icdf"):
        v = value if what != "icdf" else mc.tensor([0.2, 0.5, 0.9], dtype=mc.float64, requires_grad=True)
        fn = lambda a, b, c, x, what=what: getattr(D.GeneralizedPareto(a, b, c), what)(x)  # noqa: E731
        assert mc.gradcheck(fn, (loc, scale, conc, v)), what
        assert mc.gradgradcheck(fn, (loc, scale, conc, v)), what
