"""kl_divergence against torch.distributions.kl_divergence for every registered pair (values
and gradients w.r.t. both distributions' parameters, broadcasting batches), float64
gradchecks, the registry (register_kl, most specific match) and NotImplementedError."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc

D = mc.distributions
TD = torch.distributions


def _pos(r: np.random.Generator, s: tuple) -> np.ndarray:
    return r.uniform(0.5, 3.0, size=s)


def _real(r: np.random.Generator, s: tuple) -> np.ndarray:
    return r.normal(size=s)


def _prob(r: np.random.Generator, s: tuple) -> np.ndarray:
    return r.uniform(0.1, 0.9, size=s)


def _spd_tril(r: np.random.Generator, s: tuple) -> np.ndarray:
    a = r.normal(size=s + (3, 3))
    return np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3))


def _simplex_logits(r: np.random.Generator, s: tuple) -> np.ndarray:
    return r.normal(size=s + (3,))


def _pos_vec(r: np.random.Generator, s: tuple) -> np.ndarray:
    return r.uniform(0.5, 3.0, size=s + (3,))


def _vec(r: np.random.Generator, s: tuple) -> np.ndarray:
    return r.normal(size=s + (3,))


def _factor(r: np.random.Generator, s: tuple) -> np.ndarray:
    return r.normal(size=s + (3, 2))


# (p builder, p parameter generators, q builder, q parameter generators)
PAIRS: dict[str, tuple[Any, list, Any, list]] = {
    "Normal-Normal": (lambda m, a, b: m.Normal(a, b), [_real, _pos], None, None),
    "Bernoulli-Bernoulli": (lambda m, p: m.Bernoulli(p), [_prob], None, None),
    "Categorical-Categorical": (lambda m, lg: m.Categorical(logits=lg), [_simplex_logits], None, None),
    "OneHotCategorical-OneHotCategorical": (
        lambda m, lg: m.OneHotCategorical(logits=lg),
        [_simplex_logits],
        None,
        None,
    ),
    "MVN-MVN": (lambda m, mu, L: m.MultivariateNormal(mu, scale_tril=L), [_vec, _spd_tril], None, None),
    "Independent-Independent": (lambda m, a, b: m.Independent(m.Normal(a, b), 1), [_vec, _pos_vec], None, None),
    "Uniform-Uniform": (lambda m, a, b: m.Uniform(a - 3, b + 3), [_real, _pos], None, None),
    "Beta-Beta": (lambda m, a, b: m.Beta(a, b), [_pos, _pos], None, None),
    "Gamma-Gamma": (lambda m, a, b: m.Gamma(a, b), [_pos, _pos], None, None),
    "Dirichlet-Dirichlet": (lambda m, c: m.Dirichlet(c), [_pos_vec], None, None),
    "Exponential-Exponential": (lambda m, r: m.Exponential(r), [_pos], None, None),
    "Laplace-Laplace": (lambda m, a, b: m.Laplace(a, b), [_real, _pos], None, None),
    "Poisson-Poisson": (lambda m, r: m.Poisson(r), [_pos], None, None),
    "Geometric-Geometric": (lambda m, p: m.Geometric(p), [_prob], None, None),
    "Gumbel-Gumbel": (lambda m, a, b: m.Gumbel(a, b), [_real, _pos], None, None),
    "Cauchy-Cauchy": (lambda m, a, b: m.Cauchy(a, b), [_real, _pos], None, None),
    "HalfNormal-HalfNormal": (lambda m, s: m.HalfNormal(s), [_pos], None, None),
    "LogNormal-LogNormal": (lambda m, a, b: m.LogNormal(a, b), [_real, _pos], None, None),
    "Binomial-Binomial": (lambda m, p: m.Binomial(4, p), [_prob], None, None),
    "Uniform-Normal": (
        lambda m, a, b: m.Uniform(a, a + b),
        [_real, _pos],
        lambda m, a, b: m.Normal(a, b),
        [_real, _pos],
    ),
    "Exponential-Gamma": (lambda m, r: m.Exponential(r), [_pos], lambda m, a, b: m.Gamma(a, b), [_pos, _pos]),
    "Gamma-Exponential": (lambda m, a, b: m.Gamma(a, b), [_pos, _pos], lambda m, r: m.Exponential(r), [_pos]),
    "LowRankMVN-LowRankMVN": (
        lambda m, mu, w, d: m.LowRankMultivariateNormal(mu, w, d),
        [_vec, _factor, _pos_vec],
        None,
        None,
    ),
    "MVN-LowRankMVN": (
        lambda m, mu, L: m.MultivariateNormal(mu, scale_tril=L),
        [_vec, _spd_tril],
        lambda m, mu, w, d: m.LowRankMultivariateNormal(mu, w, d),
        [_vec, _factor, _pos_vec],
    ),
    "LowRankMVN-MVN": (
        lambda m, mu, w, d: m.LowRankMultivariateNormal(mu, w, d),
        [_vec, _factor, _pos_vec],
        lambda m, mu, L: m.MultivariateNormal(mu, scale_tril=L),
        [_vec, _spd_tril],
    ),
    "ContinuousBernoulli-ContinuousBernoulli": (lambda m, p: m.ContinuousBernoulli(p), [_prob], None, None),
    "Bernoulli-Poisson": (lambda m, p: m.Bernoulli(p), [_prob], lambda m, r: m.Poisson(r), [_pos]),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("pair", list(PAIRS))
@settings(max_examples=5, deadline=None)
@given(
    p_batch=st.sampled_from([(), (2,), (3, 1)]), q_batch=st.sampled_from([(), (2,), (1, 2)]), seed=st.integers(0, 2**16)
)
def test_kl_like_torch(device: str, pair: str, p_batch: tuple, q_batch: tuple, seed: int) -> None:
    p_build, p_gens, q_build, q_gens = PAIRS[pair]
    q_build, q_gens = (p_build, p_gens) if q_build is None else (q_build, q_gens)
    rng = np.random.default_rng(seed)
    arrays = [g(rng, p_batch) for g in p_gens] + [g(rng, q_batch) for g in q_gens]
    mt = [mc.tensor(a, requires_grad=True, device=device) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    k = len(p_gens)
    mo = D.kl_divergence(p_build(D, *mt[:k]), q_build(D, *mt[k:]))
    tp, tq = p_build(TD, *tt[:k]), q_build(TD, *tt[k:])
    try:
        to = TD.kl_divergence(tp, tq)
    except IndexError:  # torch's `t[mask] = inf` needs p's and q's batches equal: expand them first
        batch = tuple(torch.broadcast_shapes(tp.batch_shape, tq.batch_shape))
        to = TD.kl_divergence(tp.expand(batch), tq.expand(batch))
    assert tuple(mo.shape) == tuple(to.shape), (mo.shape, to.shape)
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), rtol=1e-8, atol=1e-10)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(to.shape))
    tg = torch.autograd.grad((to * torch.tensor(g)).sum(), tt, allow_unused=True)
    mg = mc.autograd.grad((mo * mc.tensor(g, device=device)).sum(), mt, allow_unused=True)
    for i, (a, b) in enumerate(zip(mg, tg)):
        b = np.zeros(arrays[i].shape) if b is None else b.numpy()
        a = np.zeros(arrays[i].shape) if a is None else a.numpy()
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9, err_msg=f"{pair}: gradient {i}")


def test_kl_infinite_where_torch_is() -> None:
    """Supports that do not nest give inf, as torch (Uniform, Bernoulli at 0 / 1, Categorical)."""
    cases = [
        lambda m, T: m.kl_divergence(m.Uniform(T([0.0, 0.0]), T([2.0, 1.0])), m.Uniform(T([0.5, -1.0]), T([3.0, 3.0]))),
        lambda m, T: m.kl_divergence(m.Bernoulli(T([0.3, 0.0, 1.0])), m.Bernoulli(T([0.0, 0.5, 1.0]))),
        lambda m, T: m.kl_divergence(m.Categorical(T([0.5, 0.5, 0.0])), m.Categorical(T([0.5, 0.0, 0.5]))),
        lambda m, T: m.kl_divergence(m.Categorical(T([0.5, 0.0, 0.5])), m.Categorical(T([0.5, 0.5, 0.0]))),
        lambda m, T: m.kl_divergence(m.Beta(T([2.0]), T([3.0])), m.Uniform(T([0.2]), T([1.0]))),
    ]
    for case in cases:
        a = case(D, lambda v: mc.tensor(v, dtype=mc.float64)).numpy()
        b = case(TD, lambda v: torch.tensor(v, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_kl_gradcheck() -> None:
    """float64 gradcheck / gradgradcheck of the closed forms (create_graph)."""
    rng = np.random.default_rng(0)

    def t(a: np.ndarray) -> mc.Tensor:
        return mc.tensor(a, requires_grad=True)

    checks = [
        (lambda a, b, c, d: D.kl_divergence(D.Normal(a, b), D.Normal(c, d)), [_real, _pos, _real, _pos]),
        (lambda a, b, c, d: D.kl_divergence(D.Beta(a, b), D.Beta(c, d)), [_pos] * 4),
        (lambda a, b, c, d: D.kl_divergence(D.Gamma(a, b), D.Gamma(c, d)), [_pos] * 4),
        (lambda a, b: D.kl_divergence(D.Categorical(logits=a), D.Categorical(logits=b)), [_vec, _vec]),
        (lambda a, b: D.kl_divergence(D.Dirichlet(a), D.Dirichlet(b)), [_pos_vec, _pos_vec]),
        (lambda a, b: D.kl_divergence(D.Bernoulli(logits=a), D.Bernoulli(logits=b)), [_real, _real]),
        (
            lambda a, b, c, d: D.kl_divergence(
                D.MultivariateNormal(a, scale_tril=b.tril() + 3 * mc.eye(3, dtype=b.dtype)),
                D.MultivariateNormal(c, scale_tril=d.tril() + 3 * mc.eye(3, dtype=d.dtype)),
            ),
            [_vec, lambda r, s: r.uniform(0, 1, size=s + (3, 3)), _vec, lambda r, s: r.uniform(0, 1, size=s + (3, 3))],
        ),
    ]
    for f, gens in checks:
        args = tuple(t(g(rng, (2,))) for g in gens)
        assert mc.gradcheck(f, args)
        assert mc.gradgradcheck(f, args)


def test_register_kl_and_missing_pairs() -> None:
    with pytest.raises(NotImplementedError) as me:
        D.kl_divergence(D.Normal(0.0, 1.0), D.Cauchy(0.0, 1.0))
    with pytest.raises(NotImplementedError) as te:
        TD.kl_divergence(TD.Normal(0.0, 1.0), TD.Cauchy(0.0, 1.0))
    assert str(me.value) == str(te.value)
    with pytest.raises(NotImplementedError):  # different reinterpreted dims, as torch
        D.kl_divergence(D.Independent(D.Normal(mc.zeros(2, 2), mc.ones(2, 2)), 1),
                        D.Independent(D.Normal(mc.zeros(2, 2), mc.ones(2, 2)), 2))  # fmt: skip

    class MyNormal(D.Normal):
        pass

    # a subclass falls back on its base class's closed form ...
    kl = D.kl_divergence(MyNormal(mc.tensor(0.0), mc.tensor(1.0)), D.Normal(mc.tensor(1.0), mc.tensor(2.0)))
    expected = TD.kl_divergence(TD.Normal(0.0, 1.0), TD.Normal(1.0, 2.0))
    np.testing.assert_allclose(kl.numpy(), expected.numpy(), rtol=1e-6)

    # ... until a more specific one is registered
    @D.register_kl(MyNormal, D.Normal)
    def _kl_my(p: Any, q: Any) -> mc.Tensor:
        return p.loc * 0 + 42.0

    assert float(D.kl_divergence(MyNormal(mc.tensor(0.0), mc.tensor(1.0)), D.Normal(0.0, 1.0))) == 42.0
    assert float(D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(0.0, 1.0))) == 0.0
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)
