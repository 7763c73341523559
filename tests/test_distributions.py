"""mc.distributions against torch.distributions: log_prob, cdf, icdf, entropy and the moments
of the univariate distributions (values and gradients w.r.t. the parameters and the value) on
hypothesis-drawn broadcasting parameter shapes, float64 gradchecks (also create_graph),
validation errors (torch's types and messages), repr, expand and enumerate_support."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import broadcastable_shapes

import minicnn as mc

D = mc.distributions
TD = torch.distributions
SETTINGS = settings(max_examples=8, deadline=None)


def _real(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.normal(size=shape)


def _pos(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.5, 3.0, size=shape)


def _prob(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.1, 0.9, size=shape)


def _count(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 6, size=shape).astype(np.float64)


def _lo(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(-3.0, -1.5, size=shape)


def _hi(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(1.5, 3.0, size=shape)


# name: (parameter generators, value generator, has cdf/icdf, (mean, variance, mode) checked)
UNIVARIATE: dict[str, tuple[list[Callable[..., np.ndarray]], Callable[..., np.ndarray], bool]] = {
    "Normal": ([_real, _pos], _real, True),
    "Uniform": ([_lo, _hi], lambda r, s: r.uniform(-1.0, 1.0, size=s), True),
    "Exponential": ([_pos], _pos, True),
    "Laplace": ([_real, _pos], _real, True),
    "Cauchy": ([_real, _pos], _real, True),
    "Gumbel": ([_real, _pos], _real, True),
    "Gamma": ([_pos, _pos], _pos, False),
    "Chi2": ([_pos], _pos, False),
    "StudentT": ([_pos, _real, _pos], _real, False),
    "Beta": ([_pos, _pos], _prob, False),
    "LogNormal": ([_real, _pos], _pos, True),
    "HalfNormal": ([_pos], _pos, True),
    "Poisson": ([_pos], _count, False),
    "Geometric": ([_prob], _count, False),
    "Bernoulli": ([_prob], lambda r, s: r.integers(0, 2, size=s).astype(np.float64), False),
    "HalfCauchy": ([_pos], _pos, True),
    "Pareto": ([_pos, _pos], lambda r, s: r.uniform(3.1, 6.0, size=s), False),
    "Weibull": ([_pos, _pos], _pos, False),
    "InverseGamma": ([lambda r, s: r.uniform(2.5, 4.0, size=s), _pos], _pos, False),
    "NegativeBinomial": ([_pos, _prob], _count, False),
    "ContinuousBernoulli": (
        [lambda r, s: r.choice([0.2, 0.4995, 0.7], size=s) + r.uniform(0, 2e-4, size=s)],
        _prob,
        True,
    ),
    "Kumaraswamy": ([_pos, _pos], _prob, False),
    "FisherSnedecor": ([_pos, lambda r, s: r.uniform(4.5, 8.0, size=s)], _pos, False),
}
NO_ENTROPY = ("Poisson", "NegativeBinomial", "FisherSnedecor")  # (torch has none)
MOMENTS = ("mean", "variance", "stddev", "mode")


def _pair(name: str, arrays: list[np.ndarray], device: str, grad: bool = True) -> tuple[Any, Any, list, list]:
    mt = [mc.tensor(a, requires_grad=grad, device=device) for a in arrays]
    tt = [torch.tensor(a, requires_grad=grad) for a in arrays]
    return getattr(D, name)(*mt), getattr(TD, name)(*tt), mt, tt


def _compare(mo: mc.Tensor, to: torch.Tensor, leaves: list[tuple[Any, Any]], seed: int, what: str) -> None:
    """Values equal; and the gradients of sum(out * g) w.r.t. every leaf pair."""
    assert tuple(mo.shape) == tuple(to.shape), f"{what}: shape {mo.shape} vs torch {tuple(to.shape)}"
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), rtol=1e-9, atol=1e-11, err_msg=what)
    if not to.requires_grad:
        return
    g = np.random.default_rng(seed).standard_normal(to.shape)
    ts = [t for _, t in leaves]
    tg = torch.autograd.grad((to * torch.tensor(g)).sum(), ts, allow_unused=True)
    mg = mc.autograd.grad((mo * mc.tensor(g, device=mo.device)).sum(), [m for m, _ in leaves], allow_unused=True)
    for i, (a, b) in enumerate(zip(mg, tg)):
        b = np.zeros(ts[i].shape) if b is None else b.numpy()
        a = np.zeros(ts[i].shape) if a is None else a.numpy()
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9, err_msg=f"{what}: gradient of input {i}")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", list(UNIVARIATE))
@SETTINGS
@given(
    shapes=broadcastable_shapes(shape=(3, 2), min_dims=0, max_dims=2, min_side=1, max_side=3),
    sample=st.sampled_from([(), (2,), (2, 1)]),
    seed=st.integers(0, 2**16),
)
@example(shapes=(1, 2), sample=(), seed=7555)  # Gumbel.cdf underflows to 0 for one value
def test_univariate_like_torch(name: str, device: str, shapes: tuple, sample: tuple, seed: int) -> None:
    gens, value_gen, has_cdf = UNIVARIATE[name]
    rng = np.random.default_rng(seed)
    arrays = [gen(rng, shapes) if i == 0 else gen(rng, (3, 2)[-len(shapes) :] if shapes else ()) for i, gen in
              enumerate(gens)]  # fmt: skip
    mt = [mc.tensor(a, requires_grad=True, device=device) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]

    def both() -> tuple[Any, Any]:
        # a fresh pair for each quantity: minicnn frees every node of a graph after a backward,
        # also the parameters' broadcast (torch keeps nodes that saved nothing; see the report)
        return getattr(D, name)(*mt), getattr(TD, name)(*tt)

    m, t = both()
    assert m.batch_shape == tuple(t.batch_shape) and m.event_shape == tuple(t.event_shape)
    assert m.has_rsample == t.has_rsample
    value = value_gen(rng, sample + tuple(m.batch_shape))
    mv = mc.tensor(value, requires_grad=True, device=device)
    tv = torch.tensor(value, requires_grad=True)
    discrete = name in ("Poisson", "Geometric", "Bernoulli", "NegativeBinomial")
    params = list(zip(mt, tt))
    leaves = params + ([] if discrete else [(mv, tv)])
    m, t = both()
    _compare(m.log_prob(mv), t.log_prob(tv), leaves, seed, f"{name}.log_prob")
    if name not in NO_ENTROPY:
        m, t = both()
        _compare(m.entropy(), t.entropy(), params, seed, f"{name}.entropy")
    for what in MOMENTS:
        m, t = both()
        try:
            b = getattr(t, what)
        except NotImplementedError:  # (torch has no ContinuousBernoulli.mode): neither has minicnn
            with pytest.raises(NotImplementedError):
                getattr(m, what)
            continue
        a = getattr(m, what)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-11, err_msg=f"{name}.{what}")
        if b.requires_grad and bool(torch.isfinite(b).all()):
            _compare(a, b, params, seed, f"{name}.{what}")
    if has_cdf:
        m, t = both()
        # torch validates its transforms' intermediates: a Gumbel cdf that underflows to 0 (value far
        # below loc) fails its Uniform(tiny, 1) support check and raises; the value 0 is right
        t = getattr(TD, name)(*tt, validate_args=False)
        _compare(m.cdf(mv), t.cdf(tv), leaves, seed, f"{name}.cdf")
        q = rng.uniform(0.05, 0.95, size=sample + tuple(m.batch_shape))
        mq, tq = mc.tensor(q, requires_grad=True, device=device), torch.tensor(q, requires_grad=True)
        m, t = both()
        _compare(m.icdf(mq), t.icdf(tq), params + [(mq, tq)], seed, f"{name}.icdf")


@pytest.mark.parametrize("name", ["Gamma", "Chi2"])
def test_gamma_cdf_like_torch(name: str) -> None:
    """Gamma.cdf: the regularised incomplete gamma (torch's gradient is w.r.t. the value only)."""
    rng = np.random.default_rng(3)
    arrays = [_pos(rng, (4,)) for _ in UNIVARIATE[name][0]]
    m, t, _, _ = _pair(name, arrays, "cpu", grad=False)
    x = _pos(rng, (2, 4))
    mv, tv = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    _compare(m.cdf(mv), t.cdf(tv), [(mv, tv)], 0, f"{name}.cdf")


def test_float32_parameters_keep_their_dtype() -> None:
    m = D.Normal(mc.zeros(3), mc.ones(3))
    assert m.log_prob(mc.zeros(3)).dtype == mc.float32 and m.sample((2,)).dtype == mc.float32
    assert m.entropy().dtype == mc.float32
    m = D.Normal(0.0, 1.0)  # numbers: the default dtype, batch shape ()
    assert m.batch_shape == () and m.loc.dtype == mc.get_default_dtype()
    assert tuple(D.Normal(mc.zeros(2, dtype=mc.float64), 1.0).scale.shape) == (2,)


@pytest.mark.parametrize(
    "name, args",
    [
        ("Normal", (0.0, 1.0)),
        ("Exponential", (1.5,)),
        ("Laplace", (0.5, 2.0)),
        ("Gamma", (2.0, 3.0)),
        ("StudentT", (3.0, 0.5, 2.0)),
        ("Beta", (2.0, 3.0)),
        ("LogNormal", (0.3, 0.7)),
        ("Gumbel", (0.3, 0.7)),
        ("Cauchy", (0.3, 0.7)),
        ("Uniform", (-1.0, 2.0)),
    ],
)
def test_gradcheck_log_prob(name: str, args: tuple) -> None:
    """float64 gradcheck and gradgradcheck of log_prob w.r.t. the parameters and the value."""
    params = [mc.tensor([a, a * 1.1 + 0.2], dtype=mc.float64, requires_grad=True) for a in args]
    hi = {"Beta": 0.4, "Uniform": 0.5}.get(name, 1.2)
    value = mc.tensor([hi, hi * 0.8], dtype=mc.float64, requires_grad=name != "Uniform")

    def f(*xs: mc.Tensor) -> mc.Tensor:
        return getattr(D, name)(*xs[:-1]).log_prob(xs[-1])

    assert mc.gradcheck(f, (*params, value))
    assert mc.gradgradcheck(f, (*params, value))


def test_validation_errors_like_torch() -> None:
    """torch's ValueError (naming the parameter, the constraint, the distribution) and its
    support check of log_prob's value; validate_args=False and the global switch turn it off."""
    with pytest.raises(ValueError) as me:
        D.Normal(mc.zeros(2), -mc.ones(2))
    with pytest.raises(ValueError) as te:
        TD.Normal(torch.zeros(2), -torch.ones(2))
    assert str(me.value).split("to satisfy")[1].split(",")[0] == str(te.value).split("to satisfy")[1].split(",")[0]
    assert "Expected parameter scale (Tensor of shape (2,)) of distribution Normal(" in str(me.value)
    cases = [
        (lambda m, T: m.Bernoulli(T([1.5]))),
        (lambda m, T: m.Exponential(T([0.0]))),
        (lambda m, T: m.Gamma(T([1.0]), T([-1.0]))),
        (lambda m, T: m.Beta(T([-1.0]), T([1.0]))),
        (lambda m, T: m.Uniform(T([1.0]), T([0.0]))),
        (lambda m, T: m.Poisson(T([-1.0]))),
        (lambda m, T: m.Geometric(T([0.0]))),
        (lambda m, T: m.Categorical(T([[0.5, -0.5]]))),
        (lambda m, T: m.Dirichlet(T([[0.5, -0.5]]))),
        (lambda m, T: m.MultivariateNormal(T([0.0, 0.0]), T([[1.0, 2.0], [2.0, 1.0]]))),
        (lambda m, T: m.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 1.0], [0.0, 1.0]]))),
        (lambda m, T: m.Normal(T([0.0]), T([1.0])).log_prob(T([float("nan")]))),
        (lambda m, T: m.Exponential(T([1.0])).log_prob(T([-1.0]))),
        (lambda m, T: m.Bernoulli(T([0.3])).log_prob(T([0.5]))),
        (lambda m, T: m.Categorical(T([0.3, 0.7])).log_prob(T([2.0]))),
        (lambda m, T: m.Beta(T([1.0]), T([1.0])).log_prob(T([1.5]))),
        (lambda m, T: m.Normal(T([0.0, 0.0]), T([1.0, 1.0])).log_prob(T([[0.0, 0.0, 0.0]]))),
        (lambda m, T: m.Normal(T([0.0]), T([1.0])).log_prob(0.0)),
        (lambda m, T: m.Normal(T([0.0, 0.0]), T([1.0, 1.0])).log_prob(T([0.0, 0.0, 0.0]))),
        (lambda m, T: m.Dirichlet(T([[1.0, 1.0]])).log_prob(T([[0.5, 0.2, 0.3]]))),
        (lambda m, T: m.Normal(T([0.0]), T([1.0]), validate_args=True).expand((3,)).log_prob(T([float("nan")] * 3))),
    ]
    for case in cases:
        with pytest.raises(Exception) as te:
            case(TD, lambda v: torch.tensor(v, dtype=torch.float64))
        with pytest.raises(Exception) as me:
            case(D, lambda v: mc.tensor(v, dtype=mc.float64))
        assert me.type is te.type, (me.value, te.value)
        tm, mm = str(te.value), str(me.value)
        if "satisfy the constraint" in tm or "within the support" in tm:
            key = "satisfy the constraint" if "satisfy the constraint" in tm else "within the support"
            assert mm.split(key)[1].split(" of the distribution")[0].split(", but")[0] == tm.split(key)[1].split(
                " of the distribution"
            )[0].split(", but")[0].replace("torch.", "")
        if "right-most size" in tm or "must be a Tensor" in tm or "not broadcastable" in tm:
            assert mm == tm.replace("torch.", "minicnn."), (mm, tm)
    # off: no error
    assert D.Normal(mc.zeros(1), -mc.ones(1), validate_args=False).loc.shape == (1,)
    D.Distribution.set_default_validate_args(False)
    try:
        assert np.isnan(D.Exponential(mc.ones(1)).log_prob(-mc.ones(1)).numpy()).sum() == 0
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Exponential(mc.ones(1)).log_prob(-mc.ones(1))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Bernoulli(mc.ones(1) / 2, mc.zeros(1))


def test_repr_like_torch() -> None:
    """torch's format, with minicnn's shape and tensor reprs (minicnn.Size([2]) for torch.Size([2]))."""
    pairs = [
        (D.Normal(mc.zeros(2), mc.ones(2)), TD.Normal(torch.zeros(2), torch.ones(2))),
        (D.Categorical(logits=mc.zeros(2, 3)), TD.Categorical(logits=torch.zeros(2, 3))),
        (D.Beta(2.0, 3.0), TD.Beta(2.0, 3.0)),
        (D.MultivariateNormal(mc.zeros(2), mc.eye(2)), TD.MultivariateNormal(torch.zeros(2), torch.eye(2))),
        (D.Independent(D.Normal(mc.zeros(2, 3), mc.ones(2, 3)), 1),
         TD.Independent(TD.Normal(torch.zeros(2, 3), torch.ones(2, 3)), 1)),
    ]  # fmt: skip
    for m, t in pairs:
        assert repr(m) == repr(t).replace("torch.", "minicnn."), (repr(m), repr(t))
        assert m.batch_shape == t.batch_shape and repr(m.batch_shape) == repr(t.batch_shape).replace(
            "torch.", "minicnn."
        )
    assert repr(D.Normal(0.0, 1.0)) == f"Normal(loc: {mc.tensor(0.0)}, scale: {mc.tensor(1.0)})"
    for name in ("positive", "simplex", "real_vector", "unit_interval", "boolean", "lower_cholesky"):
        assert repr(getattr(D.constraints, name)) == repr(getattr(TD.constraints, name))
    assert repr(D.constraints.integer_interval(0, 3)) == repr(TD.constraints.integer_interval(0, 3))


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta", "Bernoulli", "Poisson", "StudentT", "LogNormal"])
def test_expand_like_torch(name: str) -> None:
    gens, value_gen, _ = UNIVARIATE[name]
    rng = np.random.default_rng(1)
    arrays = [gen(rng, (3,)) for gen in gens]
    m, t, _, _ = _pair(name, arrays, "cpu", grad=False)
    me, te = m.expand((2, 3)), t.expand((2, 3))
    assert type(me) is type(m) and me.batch_shape == tuple(te.batch_shape) == (2, 3)
    value = value_gen(rng, (2, 3))
    np.testing.assert_allclose(me.log_prob(mc.tensor(value)).numpy(), te.log_prob(torch.tensor(value)).numpy())
    assert me.sample((4,)).shape == (4, 2, 3)


def test_enumerate_support_like_torch() -> None:
    p = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    for name in ("Categorical", "OneHotCategorical"):
        m, t = getattr(D, name)(mc.tensor(p)), getattr(TD, name)(torch.tensor(p))
        for expand in (True, False):
            a, b = m.enumerate_support(expand), t.enumerate_support(expand)
            assert a.shape == tuple(b.shape) and a.dtype == np.dtype(str(b.dtype).replace("torch.", ""))
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            np.testing.assert_allclose(m.log_prob(a).numpy(), t.log_prob(b).numpy())
    pb = np.array([0.2, 0.7])
    for m, t in ((D.Bernoulli(mc.tensor(pb)), TD.Bernoulli(torch.tensor(pb))),
                 (D.Binomial(3, mc.tensor(pb)), TD.Binomial(3, torch.tensor(pb)))):  # fmt: skip
        a, b = m.enumerate_support(), t.enumerate_support()
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert m.has_enumerate_support and not D.Normal(0.0, 1.0).has_enumerate_support
    assert not D.Independent(D.Bernoulli(mc.tensor([[0.5]])), 1).has_enumerate_support


def _twin_linear(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[Any, Any]:
    """A minicnn Linear and a torch Linear with the same float64 weights."""
    m, t = mc.nn.Linear(n_in, n_out).double(), torch.nn.Linear(n_in, n_out).double()
    w, b = rng.normal(size=(n_out, n_in)) * 0.5, rng.normal(size=n_out) * 0.1
    m.load_state_dict({"weight": mc.tensor(w), "bias": mc.tensor(b)})
    t.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)})
    return m, t


def test_vae_and_reinforce_losses_like_torch() -> None:
    """The two uses a PyTorch user writes most: a VAE's negative ELBO (rsample with given noise,
    Independent Normal log_prob, kl_divergence to the prior) and REINFORCE's score-function loss
    (Categorical log_prob of given actions): same losses and weight gradients as torch."""
    rng = np.random.default_rng(0)
    (me, te), (md, td) = _twin_linear(rng, 6, 4), _twin_linear(rng, 2, 6)
    x, eps = rng.uniform(size=(5, 6)), rng.normal(size=(5, 2))

    def elbo(mod: Any, lib: Any, enc: Any, dec: Any, tensor: Any) -> Any:
        mu, log_sigma = enc(tensor(x)).chunk(2, dim=-1)
        q = mod.Independent(mod.Normal(mu, log_sigma.exp()), 1)
        z = mu + log_sigma.exp() * tensor(eps)  # rsample with the given noise
        prior = mod.Independent(mod.Normal(lib.zeros(5, 2, dtype=lib.float64), lib.ones(5, 2, dtype=lib.float64)), 1)
        recon = mod.Independent(mod.Normal(dec(z), 1.0), 1).log_prob(tensor(x))
        return (mod.kl_divergence(q, prior) - recon + q.log_prob(z) - prior.log_prob(z)).mean()

    lm, lt = elbo(D, mc, me, md, mc.tensor), elbo(TD, torch, te, td, torch.tensor)
    lm.backward()
    lt.backward()
    np.testing.assert_allclose(lm.item(), lt.item(), rtol=1e-10)
    for a, b in ((me, te), (md, td)):
        np.testing.assert_allclose(a.weight.grad.numpy(), b.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    (mp, tp) = _twin_linear(rng, 4, 3)
    s, actions, returns = rng.normal(size=(7, 4)), rng.integers(0, 3, size=7), rng.normal(size=7)
    pm = D.Categorical(logits=mp(mc.tensor(s)))
    pt = TD.Categorical(logits=tp(torch.tensor(s)))
    lm = -(pm.log_prob(mc.tensor(actions)) * mc.tensor(returns)).mean() - 0.01 * pm.entropy().mean()
    lt = -(pt.log_prob(torch.tensor(actions)) * torch.tensor(returns)).mean() - 0.01 * pt.entropy().mean()
    lm.backward()
    lt.backward()
    np.testing.assert_allclose(lm.item(), lt.item(), rtol=1e-10)
    np.testing.assert_allclose(mp.weight.grad.numpy(), tp.weight.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_loaded_lazily_and_names_like_torch() -> None:
    """mc.distributions is imported on first use (as mc.linalg); it has torch's public names
    but for the few listed."""
    import subprocess
    import sys

    code = "import sys, minicnn as mc; assert 'minicnn.distributions' not in sys.modules; mc.distributions.Normal"
    subprocess.run([sys.executable, "-c", code], check=True)
    from minicnn.distributions.multivariate_normal import MultivariateNormal  # torch's module paths
    from minicnn.distributions.normal import Normal

    assert Normal is D.Normal and MultivariateNormal is D.MultivariateNormal
    assert D.kl.kl_divergence is D.kl_divergence and D.one_hot_categorical.OneHotCategorical is D.OneHotCategorical
    missing = set(TD.__all__) - set(D.__all__)
    assert not missing, missing
