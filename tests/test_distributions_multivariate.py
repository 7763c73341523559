"""mc.distributions' multivariate and composite distributions against torch.distributions:
Categorical / OneHotCategorical / Multinomial / Binomial (probs and logits), Dirichlet,
MultivariateNormal (covariance / precision / scale_tril, broadcast batches), Independent,
MixtureSameFamily, the relaxed distributions, TransformedDistribution and the transforms:
values and gradients on hypothesis-drawn shapes, and float64 gradchecks."""

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
SETTINGS = settings(max_examples=8, deadline=None)
batch_shapes = st.sampled_from([(), (2,), (3, 1), (2, 3)])


def _leaves(arrays: list[np.ndarray], device: str) -> tuple[list[mc.Tensor], list[torch.Tensor]]:
    return (
        [mc.tensor(a, requires_grad=a.dtype.kind == "f", device=device) for a in arrays],
        [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays],
    )


def _check(mo: mc.Tensor, to: torch.Tensor, mt: list, tt: list, seed: int, what: str, rtol: float = 1e-8) -> None:
    assert tuple(mo.shape) == tuple(to.shape), f"{what}: shape {mo.shape} vs torch {tuple(to.shape)}"
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), rtol=rtol, atol=1e-10, err_msg=what)
    pairs = [(m, t) for m, t in zip(mt, tt) if t.requires_grad]
    if not to.requires_grad or not pairs:
        return
    g = np.random.default_rng(seed).standard_normal(to.shape)
    tg = torch.autograd.grad((to * torch.tensor(g)).sum(), [t for _, t in pairs], allow_unused=True)
    mg = mc.autograd.grad((mo * mc.tensor(g, device=mo.device)).sum(), [m for m, _ in pairs], allow_unused=True)
    for i, (a, b, (_, t)) in enumerate(zip(mg, tg, pairs)):
        b = np.zeros(t.shape) if b is None else b.numpy()
        a = np.zeros(t.shape) if a is None else a.numpy()
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-9, err_msg=f"{what}: gradient {i}")


def _run(build: Any, arrays: list[np.ndarray], value: np.ndarray, device: str, seed: int, name: str,
         methods: tuple[str, ...] = ("log_prob", "entropy", "mean", "variance"),
         rtol: float = 1e-8) -> None:  # fmt: skip
    """Each method of ``build(module, *params)`` on fresh leaves, minicnn against torch."""
    for method in methods:
        mt, tt = _leaves(arrays + [value], device)
        m, t = build(D, *mt[:-1]), build(TD, *tt[:-1])
        assert m.batch_shape == tuple(t.batch_shape) and m.event_shape == tuple(t.event_shape), name
        if method == "log_prob":
            mo, to = m.log_prob(mt[-1]), t.log_prob(tt[-1])
        elif method in ("entropy",):
            mo, to = m.entropy(), t.entropy()
        else:
            mo, to = getattr(m, method), getattr(t, method)
        _check(mo, to, mt, tt, seed, f"{name}.{method}", rtol)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("form", ["probs", "logits"])
@SETTINGS
@given(batch=batch_shapes, k=st.integers(2, 4), sample=st.sampled_from([(), (2,)]), seed=st.integers(0, 2**16))
def test_categorical_family_like_torch(device: str, form: str, batch: tuple, k: int, sample: tuple, seed: int):
    rng = np.random.default_rng(seed)
    param = rng.uniform(0.1, 1.0, size=batch + (k,)) if form == "probs" else rng.normal(size=batch + (k,))
    idx = rng.integers(0, k, size=sample + batch)
    cat = lambda mod, p: mod.Categorical(**{form: p})  # noqa: E731
    _run(cat, [param], idx, device, seed, "Categorical", ("log_prob", "entropy"))
    mt, tt = _leaves([param], device)
    assert cat(D, *mt).mode.dtype == mc.int64
    np.testing.assert_array_equal(cat(D, *mt).mode.numpy(), cat(TD, *tt).mode.numpy())
    onehot = np.eye(k)[idx]
    ohc = lambda mod, p: mod.OneHotCategorical(**{form: p})  # noqa: E731
    _run(ohc, [param], onehot, device, seed, "OneHotCategorical", ("log_prob", "entropy", "mean", "variance", "mode"))
    counts = rng.integers(0, 4, size=sample + batch + (k,)).astype(np.float64)
    total = int(counts.sum(-1).max()) if counts.size else 0
    counts[..., 0] += total - counts.sum(-1)  # every row sums to total_count
    mult = lambda mod, p: mod.Multinomial(total, **{form: p})  # noqa: E731
    _run(mult, [param], counts, device, seed, "Multinomial", ("log_prob", "mean", "variance"))
    if total <= 6:
        # (torch computes lgamma(total_count + 1) of an int64 tensor: in float32)
        _run(mult, [param], counts, device, seed, "Multinomial", ("entropy",), rtol=1e-6)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("form", ["probs", "logits"])
@SETTINGS
@given(batch=batch_shapes, seed=st.integers(0, 2**16))
def test_binomial_like_torch(device: str, form: str, batch: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    param = rng.uniform(0.1, 0.9, size=batch) if form == "probs" else rng.normal(size=batch)
    value = rng.integers(0, 6, size=batch).astype(np.float64)
    binom = lambda mod, p: mod.Binomial(5, **{form: p})  # noqa: E731
    _run(binom, [param], value, device, seed, "Binomial", ("log_prob", "entropy", "mean", "variance", "mode"))
    bern = lambda mod, p: mod.Bernoulli(**{form: p})  # noqa: E731
    _run(bern, [param], (value > 2).astype(np.float64), device, seed, "Bernoulli", ("log_prob", "entropy", "mean"))


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(batch=batch_shapes, k=st.integers(2, 4), seed=st.integers(0, 2**16))
def test_dirichlet_like_torch(device: str, batch: tuple, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    conc = rng.uniform(0.5, 3.0, size=batch + (k,))
    value = rng.dirichlet(np.ones(k), size=batch or None)
    _run(lambda mod, c: mod.Dirichlet(c), [conc], value, device, seed, "Dirichlet",
         ("log_prob", "entropy", "mean", "variance", "mode"))  # fmt: skip


def _spd(rng: np.random.Generator, batch: tuple, n: int) -> np.ndarray:
    a = rng.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("form", ["covariance_matrix", "precision_matrix", "scale_tril"])
@SETTINGS
@given(
    loc_batch=st.sampled_from([(), (2,), (3, 1)]),
    cov_batch=st.sampled_from([(), (2,), (1, 2)]),
    n=st.integers(1, 3),
    sample=st.sampled_from([(), (2,)]),
    seed=st.integers(0, 2**16),
)
def test_multivariate_normal_like_torch(device, form, loc_batch, cov_batch, n, sample, seed) -> None:
    rng = np.random.default_rng(seed)
    loc = rng.normal(size=loc_batch + (n,))
    cov = _spd(rng, cov_batch, n)
    mat = np.linalg.cholesky(cov) if form == "scale_tril" else cov
    batch = np.broadcast_shapes(loc_batch, cov_batch)
    value = rng.normal(size=sample + batch + (n,))
    mvn = lambda mod, mu, m: mod.MultivariateNormal(mu, **{form: m})  # noqa: E731
    _run(mvn, [loc, mat], value, device, seed, "MultivariateNormal", ("log_prob", "entropy", "mean", "variance"))
    mt, tt = _leaves([loc, mat], device)
    m, t = mvn(D, *mt), mvn(TD, *tt)
    for attr in ("covariance_matrix", "precision_matrix", "scale_tril"):
        np.testing.assert_allclose(getattr(m, attr).numpy(), getattr(t, attr).detach().numpy(), rtol=1e-8, atol=1e-10)
    mt, tt = _leaves([loc, mat], device)
    with mc.random.fork_rng():
        mc.manual_seed(seed)
        eps = mc.randn(sample + batch + (n,), dtype=mc.float64)
        mc.manual_seed(seed)
        s = mvn(D, *mt).rsample(sample)
    ts = mvn(TD, *tt)
    expected = ts.loc + (ts._unbroadcasted_scale_tril @ torch.tensor(eps.numpy()).unsqueeze(-1)).squeeze(-1)
    _check(s, expected, mt, tt, seed, "MultivariateNormal.rsample")


def test_multivariate_normal_gradcheck_and_errors() -> None:
    rng = np.random.default_rng(0)
    loc = mc.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    a = mc.tensor(np.linalg.cholesky(_spd(rng, (), 3)), requires_grad=True)
    x = mc.tensor(rng.normal(size=(2, 3)), requires_grad=True)

    def f(mu: mc.Tensor, L: mc.Tensor, v: mc.Tensor) -> mc.Tensor:
        cov = L.tril() @ L.tril().mT
        return D.MultivariateNormal(mu, covariance_matrix=cov).log_prob(v)

    assert mc.gradcheck(f, (loc, a, x))
    assert mc.gradgradcheck(f, (loc, a, x))
    for kwargs in ({}, {"covariance_matrix": mc.eye(2), "scale_tril": mc.eye(2)}):
        with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
            D.MultivariateNormal(mc.zeros(2), **kwargs)
    with pytest.raises(ValueError, match="loc must be at least one-dimensional."):
        D.MultivariateNormal(mc.tensor(0.0), mc.eye(1))
    with pytest.raises(ValueError, match="scale_tril matrix must be at least two-dimensional"):
        D.MultivariateNormal(mc.zeros(2), scale_tril=mc.ones(2))


@pytest.mark.parametrize("device", devices())
def test_independent_and_mixture_like_torch(device: str) -> None:
    rng = np.random.default_rng(0)
    loc, scale = rng.normal(size=(4, 3, 2)), rng.uniform(0.5, 2, size=(4, 3, 2))
    value = rng.normal(size=(5, 4, 3, 2))
    ind = lambda mod, mu, s: mod.Independent(mod.Normal(mu, s), 1)  # noqa: E731
    _run(ind, [loc, scale], value, device, 0, "Independent", ("log_prob", "entropy", "mean", "variance"))
    ind2 = lambda mod, mu, s: mod.Independent(mod.Normal(mu, s), 2)  # noqa: E731
    _run(ind2, [loc, scale], value, device, 1, "Independent2", ("log_prob", "entropy"))
    logits = rng.normal(size=(4, 3))

    def gmm(mod: Any, lg: Any, mu: Any, s: Any) -> Any:  # a batch of 4 mixtures of 3 diagonal Gaussians in 2-D
        return mod.MixtureSameFamily(mod.Categorical(logits=lg), mod.Independent(mod.Normal(mu, s), 1))

    _run(gmm, [logits, loc, scale], value[:, :, 0], device, 2, "MixtureSameFamily", ("log_prob", "mean", "variance"))

    def gmm1(mod: Any, lg: Any, mu: Any, s: Any) -> Any:  # univariate components: cdf too
        return mod.MixtureSameFamily(mod.Categorical(logits=lg), mod.Normal(mu, s))

    mt, tt = _leaves([logits, loc[..., 0], scale[..., 0], value[:, :, 0, 0]], device)
    _check(gmm1(D, *mt[:3]).cdf(mt[3]), gmm1(TD, *tt[:3]).cdf(tt[3]), mt, tt, 3, "MixtureSameFamily.cdf")
    mt, tt = _leaves([logits, loc, scale], device)
    m = gmm(D, *mt)
    assert m.sample((6,)).shape == (6, 4, 2) and m.batch_shape == (4,) and m.event_shape == (2,)
    with pytest.raises(ValueError, match="does not equal"):
        D.MixtureSameFamily(D.Categorical(logits=mc.zeros(2)), D.Normal(mc.zeros(3), mc.ones(3)))
    with pytest.raises(ValueError, match="Expected reinterpreted_batch_ndims <= len"):
        D.Independent(D.Normal(mc.zeros(3), mc.ones(3)), 2)


@pytest.mark.parametrize("device", devices())
def test_relaxed_like_torch(device: str) -> None:
    rng = np.random.default_rng(0)
    temp, logits = np.array([0.7]), rng.normal(size=(2, 3))
    probs_value = rng.dirichlet(np.ones(3), size=2)
    rohc = lambda mod, tmp, lg: mod.RelaxedOneHotCategorical(tmp, logits=lg)  # noqa: E731
    _run(rohc, [temp, logits], probs_value, device, 0, "RelaxedOneHotCategorical", ("log_prob",))
    rb = lambda mod, tmp, lg: mod.RelaxedBernoulli(tmp, logits=lg)  # noqa: E731
    _run(rb, [temp, logits], rng.uniform(0.05, 0.95, size=(2, 3)), device, 1, "RelaxedBernoulli", ("log_prob",))
    mt, tt = _leaves([temp, logits], device)
    s = rohc(D, *mt).rsample((5,))
    assert s.shape == (5, 2, 3) and np.allclose(s.numpy().sum(-1), 1.0) and s.requires_grad
    s.sum().backward()  # differentiable w.r.t. the temperature and the logits
    assert mt[0].grad is not None and mt[1].grad is not None
    s = rb(D, *_leaves([temp, logits], device)[0]).rsample((5,))
    assert s.shape == (5, 2, 3) and ((s.numpy() > 0) & (s.numpy() < 1)).all()


TRANSFORMS = {
    "exp": lambda mod: [mod.ExpTransform()],
    "affine": lambda mod: [mod.AffineTransform(0.5, -2.0)],
    "sigmoid": lambda mod: [mod.SigmoidTransform()],
    "tanh": lambda mod: [mod.TanhTransform()],
    "compose": lambda mod: [mod.ComposeTransform([mod.AffineTransform(0.3, 1.5), mod.TanhTransform()])],
    "chain": lambda mod: [mod.ExpTransform(), mod.AffineTransform(1.0, 3.0), mod.ExpTransform().inv],
    "power": lambda mod: [mod.ExpTransform(), mod.PowerTransform(2.0)],
    "softplus": lambda mod: [mod.SoftplusTransform(), mod.AffineTransform(-1.0, 0.5)],
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("kind", list(TRANSFORMS))
def test_transformed_distribution_like_torch(device: str, kind: str) -> None:
    """log_prob (through inverses and log |det J|), cdf / icdf (sign-monotonised), and each
    transform's forward, inverse and log_abs_det_jacobian, against torch."""
    rng = np.random.default_rng(0)
    loc, scale = rng.normal(size=(3,)) * 0.3, rng.uniform(0.3, 0.8, size=(3,))
    x = rng.normal(size=(2, 3)) * 0.5
    for mt_, tt_ in zip(TRANSFORMS[kind](D), TRANSFORMS[kind](TD)):
        mx, tx = mc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
        my, ty = mt_(mx), tt_(tx)
        _check(my, ty, [mx], [tx], 0, f"{kind} forward")
        _check(mt_.inv(my.detach()), tt_.inv(ty.detach()), [], [], 0, f"{kind} inverse")
        mx, tx = mc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
        _check(mt_.log_abs_det_jacobian(mx, mt_(mx)), tt_.log_abs_det_jacobian(tx, tt_(tx)), [mx], [tx], 0,
               f"{kind} log_abs_det_jacobian")  # fmt: skip
        assert mt_.bijective == tt_.bijective
        x = my.detach().numpy()
    td = lambda mod, mu, s: mod.TransformedDistribution(mod.Normal(mu, s), TRANSFORMS[kind](mod))  # noqa: E731
    mt, tt = _leaves([loc, scale], device)
    value = td(TD, *tt).sample((4,)).numpy()
    _run(td, [loc, scale], value, device, 0, f"TransformedDistribution[{kind}]", ("log_prob",))
    if kind != "power":
        mt, tt = _leaves([loc, scale, value], device)
        _check(td(D, *mt[:2]).cdf(mt[2]), td(TD, *tt[:2]).cdf(tt[2]), mt, tt, 0, f"{kind} cdf")
        q = rng.uniform(0.1, 0.9, size=(4, 3))
        mt, tt = _leaves([loc, scale, q], device)
        _check(td(D, *mt[:2]).icdf(mt[2]), td(TD, *tt[:2]).icdf(tt[2]), mt, tt, 0, f"{kind} icdf")
    m = td(D, *_leaves([loc, scale], device)[0])
    assert repr(m.support) == repr(td(TD, *tt[:2]).support)


def test_softmax_and_identity_transforms() -> None:
    x = np.random.default_rng(0).normal(size=(2, 4))
    mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    _check(D.SoftmaxTransform()(mx), TD.SoftmaxTransform()(tx), [mx], [tx], 0, "softmax")
    assert not D.SoftmaxTransform().bijective
    assert D.transforms.identity_transform(mx) is mx
    assert D.ExpTransform() == D.ExpTransform() and D.ExpTransform().inv.inv == D.ExpTransform()
    assert D.AffineTransform(0.0, 2.0) == D.AffineTransform(0.0, 2.0) != D.AffineTransform(0.0, 3.0)


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(
    loc_batch=st.sampled_from([(), (2,), (3, 1)]),
    factor_batch=st.sampled_from([(), (2,)]),
    rank=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_lowrank_multivariate_normal_like_torch(device, loc_batch, factor_batch, rank, seed) -> None:
    rng = np.random.default_rng(seed)
    n = 3
    loc, W, diag = rng.normal(size=loc_batch + (n,)), rng.normal(size=factor_batch + (n, rank)), _pos3(rng)
    batch = np.broadcast_shapes(loc_batch, factor_batch)
    value = rng.normal(size=(2,) + batch + (n,))
    lr = lambda mod, mu, w, d: mod.LowRankMultivariateNormal(mu, w, d)  # noqa: E731
    _run(lr, [loc, W, diag], value, device, seed, "LowRankMultivariateNormal")
    mt, tt = _leaves([loc, W, diag], device)
    m, t = lr(D, *mt), lr(TD, *tt)
    for attr in ("covariance_matrix", "precision_matrix", "scale_tril"):
        np.testing.assert_allclose(getattr(m, attr).numpy(), getattr(t, attr).detach().numpy(), rtol=1e-8, atol=1e-10)
    assert m.rsample((4,)).shape == (4,) + tuple(batch) + (n,)
    with pytest.raises(ValueError, match="cov_factor must be a batch of matrices with shape 3 x m"):
        D.LowRankMultivariateNormal(mc.zeros(3), mc.ones(2, 1), mc.ones(3))


def _pos3(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.5, 2.0, size=(3,))


def test_stick_breaking_lower_cholesky_and_registries_like_torch() -> None:
    """StickBreakingTransform (R^(K-1) -> K-simplex) inside a TransformedDistribution,
    LowerCholeskyTransform, and biject_to / transform_to of each constraint, against torch."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3))
    mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sb_m, sb_t = D.StickBreakingTransform(), TD.StickBreakingTransform()
    my, ty = sb_m(mx), sb_t(tx)
    _check(my, ty, [mx], [tx], 0, "stick breaking")
    _check(sb_m.inv(my.detach()), sb_t.inv(ty.detach()), [], [], 0, "stick breaking inverse")
    mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    _check(sb_m.log_abs_det_jacobian(mx, sb_m(mx)), sb_t.log_abs_det_jacobian(tx, sb_t(tx)), [mx], [tx], 0, "sb ladj")
    loc, scale = rng.normal(size=3) * 0.3, rng.uniform(0.5, 1.0, size=3)
    value = rng.dirichlet(np.ones(4), size=2)
    ln = lambda mod, mu, s: mod.TransformedDistribution(mod.Normal(mu, s), mod.StickBreakingTransform())  # noqa: E731
    _run(ln, [loc, scale], value, "cpu", 0, "logistic-normal", ("log_prob",))
    lgn = lambda mod, mu, s: mod.LogisticNormal(mu, s)  # noqa: E731
    _run(lgn, [loc, scale], value, "cpu", 0, "LogisticNormal", ("log_prob",))
    m = rng.normal(size=(2, 3, 3))
    mm, tm = mc.tensor(m, requires_grad=True), torch.tensor(m, requires_grad=True)
    _check(D.LowerCholeskyTransform()(mm), TD.LowerCholeskyTransform()(tm), [mm], [tm], 0, "lower cholesky")
    C, TC = D.constraints, TD.constraints
    pairs = [
        (C.real, TC.real), (C.positive, TC.positive), (C.unit_interval, TC.unit_interval),
        (C.greater_than(1.5), TC.greater_than(1.5)), (C.less_than(-0.5), TC.less_than(-0.5)),
        (C.interval(-2.0, 3.0), TC.interval(-2.0, 3.0)), (C.simplex, TC.simplex),
        (C.independent(C.positive, 1), TC.independent(TC.positive, 1)),
    ]  # fmt: skip
    for mcon, tcon in pairs:
        for mreg, treg in ((D.biject_to, TD.biject_to), (D.transform_to, TD.transform_to)):
            mtr, ttr = mreg(mcon), treg(tcon)
            assert type(mtr).__name__ == type(ttr).__name__
            mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            my, ty = mtr(mx), ttr(tx)
            _check(my, ty, [mx], [tx], 0, f"{mreg} {mcon}")
            assert bool(mcon.check(my).all())
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        D.biject_to(C.boolean)
