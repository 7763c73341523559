"""torch.distributions.transforms' CatTransform, StackTransform, ReshapeTransform and
CumulativeDistributionTransform against torch: forward, inverse, log |det J| and their
gradients on hypothesis-drawn inputs, shapes, constraints, caching, errors, use inside a
TransformedDistribution, and float64 gradchecks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as TD
import torch.distributions.transforms as TT
from conftest import TOL, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.distributions as MD
import minicnn.distributions.transforms as MT

SETTINGS = settings(max_examples=8, deadline=None)
F64 = TOL[np.float64]


def _cat(T: Any, dim: int) -> Any:
    return T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, -2.0), T.TanhTransform()], dim, [2, 1, 2])


def _cat_event(T: Any, dim: int) -> Any:
    return T.CatTransform([T.IndependentTransform(T.SigmoidTransform(), 1), T.ExpTransform()], dim, [1, 2])


def _stack(T: Any, dim: int) -> Any:
    return T.StackTransform([T.SigmoidTransform(), T.ExpTransform(), T.AffineTransform(0.5, 3.0)], dim)


def _reshape(T: Any, dim: int) -> Any:
    return T.ReshapeTransform((3, 5), (5, 3, 1))


def _cdf(T: Any, dim: int, device: str = "cpu") -> Any:
    D = MD if T is MT else TD
    loc = (
        mc.tensor([0.5, -1.0, 0.0, 2.0, 1.0], dtype=mc.float64, device=device)
        if T is MT
        else torch.tensor([0.5, -1.0, 0.0, 2.0, 1.0], dtype=torch.float64)
    )
    return T.CumulativeDistributionTransform(D.Normal(loc, 2.0))


# (factory, dim, input shape): dims along which the pieces are cut, batch and event
CASES = {
    "cat_last": (_cat, -1, (3, 5)),
    "cat_mid": (_cat, 1, (2, 5, 3)),
    "cat_event": (_cat_event, 0, (3, 5)),
    "stack_first": (_stack, 0, (3, 4)),
    "stack_last": (_stack, -1, (2, 3)),
    "reshape": (_reshape, 0, (2, 3, 5)),
    "cdf": (_cdf, 0, (3, 5)),
}


def _run(T: Any, factory: Any, dim: int, x: Any) -> tuple[Any, Any, Any]:
    cdf_here = factory is _cdf and T is MT  # (its distribution on x's device)
    t = factory(T, dim, device=x.device) if cdf_here else factory(T, dim)
    y = t(x)
    return y, t.inv(y), t.log_abs_det_jacobian(x, y)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("case", sorted(CASES))
@SETTINGS
@given(seed=st.integers(0, 2**16), lead=st.sampled_from([(), (2,), (1, 2)]))
def test_transform_like_torch(device: str, case: str, seed: int, lead: tuple) -> None:
    """y, inv(y), log |det J| and the gradient of their sum w.r.t. x equal torch's."""
    factory, dim, shape = CASES[case]
    if dim < 0 or case in ("reshape", "cdf"):  # extra batch dims in front (a dim >= 0 would move)
        shape = lead + shape
    x = np.random.default_rng(seed).standard_normal(shape)
    xm = mc.tensor(x, requires_grad=True, device=device)
    xt = torch.tensor(x, requires_grad=True)
    outs_m = _run(MT, factory, dim, xm)
    outs_t = _run(TT, factory, dim, xt)
    for om, ot in zip(outs_m, outs_t):
        assert tuple(om.shape) == tuple(ot.shape) and om.dtype == mc.float64
        np.testing.assert_allclose(om.detach().cpu().numpy(), ot.detach().numpy(), **F64)
    sum(o.sum() for o in outs_m).backward()
    sum(o.sum() for o in outs_t).backward()
    np.testing.assert_allclose(xm.grad.cpu().numpy(), xt.grad.numpy(), **F64)


@pytest.mark.parametrize("case", sorted(CASES))
def test_transform_gradcheck(case: str) -> None:
    """float64 gradcheck of forward, inverse and log |det J| (through y = t(x))."""
    factory, dim, shape = CASES[case]
    t = factory(MT, dim)
    x = mc.tensor(np.random.default_rng(0).standard_normal(shape) * 0.5, requires_grad=True)
    assert mc.gradcheck(lambda x: t(x), (x,))
    assert mc.gradcheck(lambda x: t.inv(t(x)), (x,))
    if case == "reshape":  # log |det J| is a constant 0
        assert not t.log_abs_det_jacobian(x, t(x)).requires_grad
    else:
        assert mc.gradcheck(lambda x: t.log_abs_det_jacobian(x, t(x)), (x,))


@pytest.mark.parametrize("case", sorted(CASES))
def test_transform_properties_like_torch(case: str) -> None:
    """bijective, event_dim, domain/codomain (type, event_dim, check), shapes, with_cache, equality."""
    factory, dim, shape = CASES[case]
    tm, tt = factory(MT, dim), factory(TT, dim)
    assert tm.bijective == tt.bijective
    assert tm.domain.event_dim == tt.domain.event_dim and tm.codomain.event_dim == tt.codomain.event_dim
    assert type(tm.domain).__name__ == type(tt.domain).__name__
    assert type(tm.codomain).__name__ == type(tt.codomain).__name__
    if tt.domain.event_dim == tt.codomain.event_dim:
        assert tm.event_dim == tt.event_dim
    x = np.random.default_rng(1).standard_normal(shape)
    ym, yt = tm(mc.tensor(x)), tt(torch.tensor(x))
    for con_m, con_t, vm, vt in (
        (tm.codomain, tt.codomain, ym, yt),
        (tm.domain, tt.domain, mc.tensor(x), torch.tensor(x)),
    ):
        try:
            expected = con_t.check(vt).numpy()
        except RuntimeError:  # torch's cat constraint cannot join checks of mixed event dims; nor can ours
            with pytest.raises(RuntimeError):
                con_m.check(vm)
        else:
            np.testing.assert_array_equal(con_m.check(vm).numpy(), expected)
    assert tuple(tm.forward_shape(shape)) == tuple(tt.forward_shape(torch.Size(shape)))
    assert tuple(tm.inverse_shape(tuple(yt.shape))) == tuple(tt.inverse_shape(yt.shape))
    cached = tm.with_cache(1)
    assert tm.with_cache(0) is tm and type(cached) is type(tm) and cached._cache_size == 1
    xm = mc.tensor(x)
    ym = cached(xm)
    assert cached(xm) is ym and cached.inv(ym) is xm
    assert tm == tm and tm != factory(MT, dim) and tt != factory(TT, dim)  # torch: identity


@pytest.mark.parametrize("make", ["cat", "stack"])
def test_biject_to_cat_stack_like_torch(make: str) -> None:
    """biject_to / transform_to of constraints.cat / stack give Cat/StackTransform of the parts."""
    x = np.random.default_rng(2).standard_normal((3, 4))
    for T, C, R, arr in (
        (MT, MD.constraints, MD, mc.tensor(x)),
        (TT, TD.constraints, TD, torch.tensor(x)),
    ):
        parts = [C.positive, C.interval(-1.0, 2.0), C.real, C.unit_interval]
        con = C.cat(parts, 1, [1, 1, 1, 1]) if make == "cat" else C.stack(parts, 1)
        for registry in (R.biject_to, R.transform_to):
            t = registry(con)
            assert type(t).__name__ == ("CatTransform" if make == "cat" else "StackTransform")
            y = t(arr)
            assert bool(con.check(y).all())
            if T is MT:
                ym = y.numpy()
            else:
                np.testing.assert_allclose(ym, y.numpy(), **F64)


def test_transformed_distribution_log_prob_like_torch() -> None:
    """log_prob of a TransformedDistribution through Stack, Cat, Reshape and a CDF transform."""
    rng = np.random.default_rng(3)
    loc, value_x = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))

    def build(T: Any, D: Any, tensor: Any) -> tuple[Any, Any]:
        base = D.Normal(tensor(loc), 1.5)
        ts = [
            T.StackTransform([T.AffineTransform(1.0, 2.0), T.TanhTransform()], 0),
            T.CatTransform([T.ExpTransform(), T.AffineTransform(0.0, -3.0)], -1, [3, 2]),
            T.ReshapeTransform((2, 5), (10,)),
        ]
        d = D.TransformedDistribution(D.Independent(base, 1), ts)
        value = ts[2](ts[1](ts[0](tensor(value_x))))
        return d, value

    dm, vm = build(MT, MD, lambda a: mc.tensor(a, requires_grad=True))
    dt, vt = build(TT, TD, lambda a: torch.tensor(a, requires_grad=True))
    assert tuple(dm.batch_shape) == tuple(dt.batch_shape) and tuple(dm.event_shape) == tuple(dt.event_shape)
    lm, lt = dm.log_prob(vm.detach()), dt.log_prob(vt.detach())
    np.testing.assert_allclose(lm.detach().numpy(), lt.detach().numpy(), **F64)
    cm = MD.TransformedDistribution(
        MD.Normal(mc.tensor(loc), 1.0), [MT.CumulativeDistributionTransform(MD.Normal(0.0, 1.0))]
    )
    ct = TD.TransformedDistribution(
        TD.Normal(torch.tensor(loc), 1.0), [TT.CumulativeDistributionTransform(TD.Normal(0.0, 1.0))]
    )
    u = rng.uniform(0.05, 0.95, (3, 2, 5))
    np.testing.assert_allclose(cm.log_prob(mc.tensor(u)).numpy(), ct.log_prob(torch.tensor(u)).numpy(), **F64)


def test_transform_errors_like_torch() -> None:
    """Wrong sizes / dims raise torch's exception types."""
    x = np.zeros((3, 4))
    for T, arr in ((MT, mc.tensor(x)), (TT, torch.tensor(x))):
        with pytest.raises(ValueError):
            T.ReshapeTransform((2, 3), (5,))
        with pytest.raises(ValueError):
            T.ReshapeTransform((4,), (2, 2)).forward_shape((3, 5))
        with pytest.raises(ValueError):
            T.ReshapeTransform((4,), (2, 2)).inverse_shape((2,))
        with pytest.raises(AssertionError):
            T.CatTransform([T.ExpTransform()], 0, [2])(arr)
        with pytest.raises(AssertionError):
            T.CatTransform([T.ExpTransform()], 0, [1, 2])
        with pytest.raises(AssertionError):
            T.StackTransform([T.ExpTransform()] * 4, 2)(arr)
        with pytest.raises(AssertionError):
            T.StackTransform([T.ExpTransform()] * 3, 1).inv(arr)
        with pytest.raises(AssertionError):
            T.StackTransform([T.ExpTransform(), object()], 0)
