"""Adafactor, Muon, MultiplicativeLR and ChainedScheduler against torch 2.14: parameters and
state after every step, state-dict layouts, resuming, Tensor lr, errors and signatures."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.optim import SGD, lr_scheduler
from minicnn.optim import muon as muon_module
from minicnn.optim.adafactor import Adafactor
from minicnn.optim.muon import Muon, to_bfloat16, zeropower_via_newtonschulz

TOL = dict(rtol=1e-10, atol=1e-12)


def assert_state_equal(ours: dict, theirs: dict, where: str, tol: Any = None) -> None:
    """Same keys in the same order; buffers equal; torch's 0-d float ``step`` equals our int."""
    assert list(ours) == list(theirs), where
    for name, tval in theirs.items():
        expected = tval.numpy() if isinstance(tval, torch.Tensor) else np.asarray(tval)
        got = np.asarray(ours[name])
        assert got.shape == expected.shape, f"{where} {name}"
        np.testing.assert_allclose(got, expected, **(tol or TOL), err_msg=f"{where} {name}")


def run_against_torch(
    cls: Any, tcls: Any, kwargs: dict, shapes: list[tuple[int, ...]], steps: int = 6, seed: int = 0, tol: Any = None
) -> tuple[Any, Any, list, list]:
    """Same initial float64 params and gradients (0.5 p + noise, with some exact zeros) in
    both; every parameter and state buffer compared after every step."""
    tol = tol or TOL
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in shapes]
    mp = [mc.nn.Parameter(a.copy()) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt, topt = cls(mp, **kwargs), tcls(tp, **kwargs)
    for t in range(steps):
        for m, p in zip(mp, tp):
            g = np.asarray(0.5 * m.numpy() + rng.standard_normal(m.shape))
            if t == 2:
                g = np.where(np.abs(g) < 0.3, 0.0, g)
            m.grad = mc.Tensor(g.copy())
            p.grad = torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        where = f"{cls.__name__}({kwargs}) step {t}"
        for i, (m, p) in enumerate(zip(mp, tp)):
            np.testing.assert_allclose(m.numpy(), p.detach().numpy(), **tol, err_msg=f"{where} param {i}")
            assert_state_equal(mopt.state[m], topt.state[p], f"{where} state {i}", tol)
    return mopt, topt, mp, tp


# --------------------------------------------------------------------------------------
# Adafactor

ADAFACTOR_SHAPES = [(), (5,), (3, 4), (2, 3, 4), (1, 6)]


@settings(max_examples=25, deadline=None)
@given(
    lr=st.sampled_from([1e-2, 0.3, 2.0]),
    beta2_decay=st.sampled_from([-0.8, -0.5, 0.0]),
    eps1=st.sampled_from([None, 1e-3, 0.0]),
    eps2=st.sampled_from([1e-3, 0.5]),
    d=st.sampled_from([1.0, 1.5, 100.0]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    maximize=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_adafactor_matches_torch(lr, beta2_decay, eps1, eps2, d, weight_decay, maximize, seed) -> None:
    kwargs = dict(lr=lr, beta2_decay=beta2_decay, eps=(eps1, eps2), d=d, weight_decay=weight_decay, maximize=maximize)
    run_against_torch(Adafactor, torch.optim.Adafactor, kwargs, ADAFACTOR_SHAPES, steps=5, seed=seed)


@pytest.mark.parametrize("device", devices())
def test_adafactor_float32_tensor_lr_and_device(device: str) -> None:
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (3,)]]
    mp = [mc.nn.Parameter(mc.tensor(a, device=device)) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mlr, tlr = mc.tensor([0.05]), torch.tensor([0.05])
    mopt, topt = Adafactor(mp, lr=mlr, weight_decay=0.1), torch.optim.Adafactor(tp, lr=tlr, weight_decay=0.1)
    for t in range(4):
        for m, p in zip(mp, tp):
            g = rng.standard_normal(m.shape).astype(np.float32)
            m.grad = mc.tensor(g, device=device)
            p.grad = torch.from_numpy(g)
        mopt.step()
        topt.step()
        mlr.array[...] = tlr.fill_(0.05 / (t + 2)).item()  # a changed Tensor lr is read every step
        for m, p in zip(mp, tp):
            assert m.dtype == np.float32
            np.testing.assert_allclose(m.numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_adafactor_state_dict_layout_and_resume() -> None:
    shapes = [(3, 4), (5,)]
    mopt, topt, mp, tp = run_against_torch(Adafactor, torch.optim.Adafactor, dict(lr=0.1), shapes, steps=3)
    ours, theirs = mopt.state_dict(), topt.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    assert list(ours["state"]) == list(theirs["state"])
    for k in theirs["state"]:
        assert_state_equal(ours["state"][k], theirs["state"][k], f"state {k}")
        assert ours["state"][k]["step"] == 3
    # a fresh optimiser that loads the state dict continues as the original
    mp2 = [mc.nn.Parameter(p.numpy().copy()) for p in mp]
    fresh = Adafactor(mp2, lr=0.5)
    fresh.load_state_dict(ours)
    rng = np.random.default_rng(9)
    for _ in range(2):
        for a, b in zip(mp, mp2):
            g = rng.standard_normal(a.shape)
            a.grad, b.grad = mc.Tensor(g.copy()), mc.Tensor(g.copy())
        mopt.step()
        fresh.step()
    for a, b in zip(mp, mp2):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_adafactor_eps1_none_takes_the_first_parameters_dtype_for_the_group() -> None:
    """torch sets eps1 = finfo(dtype).eps once per group from its first parameter with a
    gradient: a float64 parameter after a float32 one is clamped at float32's eps."""
    init = [np.full(3, 0.5, dtype=np.float32), np.full(3, 0.5), np.full((2, 2), 0.5)]
    mp = [mc.nn.Parameter(mc.tensor(a.copy())) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt = Adafactor([{"params": mp[:2]}, {"params": mp[2:]}])
    topt = torch.optim.Adafactor([{"params": tp[:2]}, {"params": tp[2:]}])
    for _ in range(3):
        for m, p in zip(mp, tp):
            g = np.full(m.shape, 1e-9, dtype=m.dtype)  # v below eps1^2 for float32's eps, above for float64's
            m.grad, p.grad = mc.tensor(g), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        for m, p in zip(mp, tp):
            np.testing.assert_allclose(m.numpy(), p.detach().numpy(), rtol=1e-6)


def test_adafactor_eps1_zero_and_a_zero_gradient_give_nan_silently_as_torch() -> None:
    shapes = [(2, 3), (3,)]
    mp = [mc.nn.Parameter(np.ones(s)) for s in shapes]
    tp = [torch.nn.Parameter(torch.ones(s, dtype=torch.float64)) for s in shapes]
    mopt, topt = Adafactor(mp, eps=(0.0, 1e-3)), torch.optim.Adafactor(tp, eps=(0.0, 1e-3))
    for m, p in zip(mp, tp):
        m.grad, p.grad = mc.tensor(np.zeros(m.shape)), torch.zeros(p.shape, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (NumPy's divide/invalid RuntimeWarnings)
        mopt.step()
    topt.step()
    for m, p in zip(mp, tp):
        np.testing.assert_array_equal(m.numpy(), p.detach().numpy())  # NaN where torch has NaN


def test_adafactor_errors_and_signature() -> None:
    p = [mc.nn.Parameter(np.zeros(3))]
    for kwargs, msg in [
        (dict(lr=-1.0), "learning rate"),
        (dict(beta2_decay=0.5), "beta2_decay"),
        (dict(eps=(-1.0, 1e-3)), "epsilon1"),
        (dict(eps=(None, -1.0)), "epsilon2"),
        (dict(d=0.5), "clipping threshold"),
        (dict(weight_decay=-0.1), "weight_decay"),
    ]:
        with pytest.raises(ValueError, match=msg):
            Adafactor(p, **kwargs)
    assert_same_signature(Adafactor, torch.optim.Adafactor)


def assert_same_signature(ours: Any, theirs: Any) -> None:
    a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
    assert [(q.name, q.default, q.kind) for q in a.values()] == [(q.name, q.default, q.kind) for q in b.values()]


# --------------------------------------------------------------------------------------
# Muon (its Newton-Schulz iteration runs in bfloat16, as torch's)


def test_to_bfloat16_matches_torch() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(2000) * 10.0 ** rng.integers(-8, 8, 2000), [0.0, -0.0, 1 + 2**-8]])
    x = np.concatenate([x, [1 + 2**-8 + 2**-40]])  # double rounding through float32, as torch
    np.testing.assert_array_equal(to_bfloat16(x), torch.tensor(x).bfloat16().float().numpy())


def test_newton_schulz_matches_torch_to_bfloat16_rounding() -> None:
    """torch's own iteration on the same matrices: equal, except where torch's float32 sums in
    another order round to the neighbouring bfloat16 (rare); then a few bfloat16 units apart."""
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns

    rng = np.random.default_rng(0)
    exact = total = 0
    for shape in [(3, 5), (5, 3), (8, 5), (4, 4), (1, 6), (7, 2)]:
        for steps in [0, 1, 5]:
            for _ in range(6):
                u = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 3)
                theirs = torch_ns(torch.tensor(u), (3.4445, -4.7750, 2.0315), steps, 1e-7).float().numpy()
                ours = zeropower_via_newtonschulz(u, (3.4445, -4.7750, 2.0315), steps, 1e-7)
                assert ours.dtype == np.float32 and ours.shape == shape
                np.testing.assert_allclose(ours, theirs, rtol=0.05, atol=0.02)
                exact += int(np.array_equal(ours, theirs))
                total += 1
    assert exact >= 0.9 * total, f"{exact} of {total} bit-equal"


class TorchNewtonSchulz:
    """Within the block, minicnn's Muon orthogonalises with torch's own function, so the rest of
    the step (momentum, Nesterov, lr adjustment, weight decay, state) can be compared at 1e-10."""

    def __enter__(self) -> None:
        from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns

        self.original = muon_module.zeropower_via_newtonschulz

        def ns(u: np.ndarray, coefficients: Any, steps: int, eps: float) -> np.ndarray:
            return torch_ns(torch.from_numpy(np.asarray(u)), coefficients, steps, eps).float().numpy()

        muon_module.zeropower_via_newtonschulz = ns

    def __exit__(self, *exc: Any) -> None:
        muon_module.zeropower_via_newtonschulz = self.original


@settings(max_examples=20, deadline=None)
@given(
    shape=st.sampled_from([(3, 5), (6, 2), (4, 4), (1, 3), (8, 5)]),
    lr=st.sampled_from([1e-3, 0.02, 0.3]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    momentum=st.sampled_from([0.0, 0.5, 0.95]),
    nesterov=st.booleans(),
    ns_steps=st.sampled_from([0, 1, 5]),
    adjust_lr_fn=st.sampled_from([None, "original", "match_rms_adamw", "spectral_unclamped"]),
    seed=st.integers(0, 2**16),
)
def test_muon_matches_torch(shape, lr, weight_decay, momentum, nesterov, ns_steps, adjust_lr_fn, seed) -> None:
    kwargs = dict(
        lr=lr,
        weight_decay=weight_decay,
        momentum=momentum,
        nesterov=nesterov,
        ns_steps=ns_steps,
        adjust_lr_fn=adjust_lr_fn,
    )
    with TorchNewtonSchulz():
        run_against_torch(Muon, torch.optim.Muon, kwargs, [shape, (2, 3)], steps=4, seed=seed)
    # end to end with minicnn's own bfloat16 iteration: within a few bfloat16 units of the step
    unit = 0.05 * lr * max(1.0, 0.2 * max(shape), (shape[0] / shape[1]) ** 0.5)
    run_against_torch(Muon, torch.optim.Muon, kwargs, [shape, (2, 3)], steps=4, seed=seed, tol=dict(rtol=0, atol=unit))


def test_muon_custom_coefficients_eps_and_zero_gradient() -> None:
    kwargs = dict(lr=0.1, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3, ns_steps=3)
    run_against_torch(Muon, torch.optim.Muon, kwargs, [(4, 6), (7, 3)], steps=3)
    p, tp = mc.nn.Parameter(np.ones((2, 3))), torch.nn.Parameter(torch.ones(2, 3, dtype=torch.float64))
    mopt, topt = Muon([p], lr=0.1), torch.optim.Muon([tp], lr=0.1)
    p.grad, tp.grad = mc.Tensor(np.zeros((2, 3))), torch.zeros(2, 3, dtype=torch.float64)
    mopt.step()
    topt.step()
    np.testing.assert_array_equal(p.numpy(), tp.detach().numpy())


@pytest.mark.parametrize("device", devices())
def test_muon_float32_tensor_lr_device_and_state_dict(device: str) -> None:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((5, 3)).astype(np.float32)
    p = mc.nn.Parameter(mc.tensor(a, device=device))
    tp = torch.nn.Parameter(torch.from_numpy(a.copy()))
    mopt, topt = Muon([p], lr=mc.tensor([0.05])), torch.optim.Muon([tp], lr=torch.tensor([0.05]))
    for _ in range(3):
        g = rng.standard_normal((5, 3)).astype(np.float32)
        p.grad, tp.grad = mc.tensor(g, device=device), torch.from_numpy(g)
        mopt.step()
        topt.step()
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)
    ours, theirs = mopt.state_dict(), topt.state_dict()
    assert [k for k in ours["param_groups"][0] if k != "lr"] == [k for k in theirs["param_groups"][0] if k != "lr"]
    assert list(ours["state"][0]) == list(theirs["state"][0]) == ["momentum_buffer"]
    np.testing.assert_allclose(ours["state"][0]["momentum_buffer"], theirs["state"][0]["momentum_buffer"], rtol=1e-6)


def test_muon_errors_and_signature() -> None:
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters .*\(3,\)"):
        Muon([mc.nn.Parameter(np.zeros(3))])
    p = [mc.nn.Parameter(np.zeros((2, 2)))]
    for kwargs, msg in [
        (dict(lr=-1.0), "learning rate"),
        (dict(momentum=-0.1), "momentum"),
        (dict(weight_decay=-0.1), "weight decay"),
        (dict(adjust_lr_fn="bogus"), "bogus"),
    ]:
        with pytest.raises(ValueError, match=msg):
            Muon(p, **kwargs)
    for kwargs, msg in [(dict(ns_steps=100), "less than 100"), (dict(ns_coefficients=(1.0, 2.0)), "3 values")]:
        opt = Muon(p, **kwargs)
        p[0].grad = mc.Tensor(np.ones((2, 2)))
        with pytest.raises(ValueError, match=msg):
            opt.step()
    assert_same_signature(Muon, torch.optim.Muon)


# --------------------------------------------------------------------------------------
# MultiplicativeLR, ChainedScheduler


def make_optimizers(lrs=(0.1, 0.03)):
    mp = [mc.nn.Parameter(np.zeros(2)) for _ in lrs]
    tp = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
    mopt = SGD([{"params": [p], "lr": lr} for p, lr in zip(mp, lrs)], lr=1.0)
    topt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tp, lrs)], lr=1.0)
    return mopt, topt


class Factor:
    """A callable object: its __dict__ goes into the state dict."""

    def __init__(self, base: float) -> None:
        self.base = base

    def __call__(self, epoch: int) -> float:
        return self.base if epoch % 3 else 1.05


def _halve_on_odd(epoch: int) -> float:
    return 0.5 if epoch % 2 else 1.0


def test_multiplicative_lr_step_for_step() -> None:
    for lam in [Factor(0.9), [_halve_on_odd, Factor(0.8)], lambda e: 0.95]:
        mopt, topt = make_optimizers()
        ms = lr_scheduler.MultiplicativeLR(mopt, lam)
        ts = torch.optim.lr_scheduler.MultiplicativeLR(topt, lam)
        for _ in range(12):
            assert ms.get_last_lr() == ts.get_last_lr()
            assert [g["lr"] for g in mopt.param_groups] == [g["lr"] for g in topt.param_groups]
            mopt.step()
            topt.step()
            ms.step()
            ts.step()
        ours, theirs = ms.state_dict(), ts.state_dict()
        # (torch's private _get_lr_called_within_step flag is not kept by minicnn's schedulers)
        assert set(ours) == set(theirs) - {"_get_lr_called_within_step"}
        assert ours["lr_lambdas"] == theirs["lr_lambdas"]
        assert ours["last_epoch"] == theirs["last_epoch"] and ours["_last_lr"] == theirs["_last_lr"]


def test_multiplicative_lr_resume_and_errors() -> None:
    mopt, _ = make_optimizers()
    fn = Factor(0.7)
    sched = lr_scheduler.MultiplicativeLR(mopt, fn)
    for _ in range(4):
        sched.step()
    state = sched.state_dict()
    fn.base = 0.1  # restored from the state dict below
    mopt2, _ = make_optimizers()
    sched2 = lr_scheduler.MultiplicativeLR(mopt2, fn)
    sched2.load_state_dict(state)
    assert fn.base == 0.7 and sched2.last_epoch == 4
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        lr_scheduler.MultiplicativeLR(mopt, [fn])
    with pytest.raises(TypeError, match="lr_lambda should be a function"):
        lr_scheduler.MultiplicativeLR(mopt, 0.5)
    assert_same_signature(lr_scheduler.MultiplicativeLR, torch.optim.lr_scheduler.MultiplicativeLR)


def test_multiplicative_lr_with_a_tensor_lr() -> None:
    p, tp = mc.nn.Parameter(np.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    mlr, tlr = mc.tensor(0.1), torch.tensor(0.1)
    mopt, topt = SGD([p], lr=mlr), torch.optim.SGD([tp], lr=tlr)
    ms = lr_scheduler.MultiplicativeLR(mopt, lambda e: 0.9)
    ts = torch.optim.lr_scheduler.MultiplicativeLR(topt, lambda e: 0.9)
    for _ in range(5):
        ms.step()
        ts.step()
    assert mopt.param_groups[0]["lr"] is mlr
    np.testing.assert_allclose(mlr.item(), tlr.item(), rtol=1e-7)


def chained(opt: Any, module: Any, with_optimizer: bool) -> Any:
    s = [
        module.ConstantLR(opt, factor=0.1, total_iters=3),
        module.ExponentialLR(opt, gamma=0.9),
        module.MultiplicativeLR(opt, Factor(0.95)),
    ]
    return module.ChainedScheduler(s, opt) if with_optimizer else module.ChainedScheduler(s)


@pytest.mark.parametrize("with_optimizer", [False, True])
def test_chained_scheduler_step_for_step_and_state_dict(with_optimizer: bool) -> None:
    mopt, topt = make_optimizers()
    ms = chained(mopt, lr_scheduler, with_optimizer)
    ts = chained(topt, torch.optim.lr_scheduler, with_optimizer)
    assert ms.optimizer is mopt
    for _ in range(10):
        assert ms.get_last_lr() == ts.get_last_lr()
        mopt.step()
        topt.step()
        ms.step()
        ts.step()
    assert [g["lr"] for g in mopt.param_groups] == [g["lr"] for g in topt.param_groups]
    ours, theirs = ms.state_dict(), ts.state_dict()
    assert ours.keys() == theirs.keys()
    assert ours["_last_lr"] == theirs["_last_lr"]
    for a, b in zip(ours["_schedulers"], theirs["_schedulers"]):
        assert a["last_epoch"] == b["last_epoch"] and a["_last_lr"] == b["_last_lr"]
    # resuming (build, then load the optimiser's and the chain's state) continues as the original
    mopt2, _ = make_optimizers()
    ms2 = chained(mopt2, lr_scheduler, with_optimizer)
    mopt2.load_state_dict(mopt.state_dict())
    ms2.load_state_dict(ours)
    for _ in range(4):
        ms.step()
        ms2.step()
        assert ms.get_last_lr() == ms2.get_last_lr()


def test_chained_scheduler_errors_and_signature() -> None:
    mopt, _ = make_optimizers()
    other, _ = make_optimizers()
    with pytest.raises(ValueError, match="at least one scheduler"):
        lr_scheduler.ChainedScheduler([])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(mopt, 2), lr_scheduler.StepLR(other, 2)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(mopt)])
    with pytest.raises(TypeError, match="`optimizer`"):
        lr_scheduler.ChainedScheduler([object()], mopt)
    assert_same_signature(lr_scheduler.ChainedScheduler, torch.optim.lr_scheduler.ChainedScheduler)


def test_muon_refuses_a_later_non_2d_parameter_before_updating_it():
    """torch 2.14: a 1-d parameter added by add_param_group is refused at step(), before its update."""
    w = mc.nn.Parameter(np.ones((2, 2)))
    b = mc.nn.Parameter(np.ones(3))
    opt = mc.optim.Muon([w])
    opt.add_param_group({"params": [b]})
    w.grad = mc.tensor(np.ones((2, 2)))
    b.grad = mc.tensor(np.ones(3))
    with pytest.raises(ValueError, match="Param gradient must be a 2D matrix"):
        opt.step()
    np.testing.assert_array_equal(b.numpy(), np.ones(3))
    tb = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    topt = torch.optim.Muon([torch.nn.Parameter(torch.ones(2, 2, dtype=torch.float64))])
    topt.add_param_group({"params": [tb]})
    topt.param_groups[0]["params"][0].grad = torch.ones(2, 2, dtype=torch.float64)
    tb.grad = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="Param gradient must be a 2D matrix"):
        topt.step()
