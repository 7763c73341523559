"""Learning-rate schedulers against torch.optim.lr_scheduler: the lr of every group, every step."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import minicnn as mc
from minicnn.optim import SGD, lr_scheduler

STEPS = 30


def make_optimizers(lrs=(0.1, 0.03)):
    """One minicnn and one torch SGD, each with a group per lr."""
    mp = [mc.nn.Parameter(np.zeros(2)) for _ in lrs]
    tp = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
    mopt = SGD([{"params": [p], "lr": lr} for p, lr in zip(mp, lrs)], lr=1.0, momentum=0.9)
    topt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tp, lrs)], lr=1.0, momentum=0.9)
    return mopt, topt


def assert_same_lrs(ours: list[float], theirs: list[float], where: str) -> None:
    # the same float formulas in the same order: equal to the last bit
    assert list(ours) == list(theirs), where


class Scale:
    """A callable object (not a function), so LambdaLR's state_dict keeps its __dict__."""

    def __init__(self, base: float) -> None:
        self.base = base

    def __call__(self, epoch: int) -> float:
        return self.base**epoch


def _half_on_odd(epoch: int) -> float:
    return 0.5 if epoch % 2 else 1.0


SCHEDULERS = {
    "StepLR-3": ("StepLR", dict(step_size=3, gamma=0.5)),
    "StepLR-1": ("StepLR", dict(step_size=1)),
    "MultiStepLR": ("MultiStepLR", dict(milestones=[2, 5, 5, 11, 40], gamma=0.3)),
    "CosineAnnealingLR-7": ("CosineAnnealingLR", dict(T_max=7)),
    "CosineAnnealingLR-5-eta": ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    "CosineAnnealingLR-1": ("CosineAnnealingLR", dict(T_max=1, eta_min=0.001)),
    "ExponentialLR": ("ExponentialLR", dict(gamma=0.9)),
    "LinearLR": ("LinearLR", dict(start_factor=0.25, total_iters=6)),
    "LinearLR-down": ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=10)),
    "LambdaLR-object": ("LambdaLR", dict(lr_lambda=Scale(0.95))),
    "LambdaLR-list": ("LambdaLR", dict(lr_lambda=[_half_on_odd, Scale(0.9)])),
    "ConstantLR": ("ConstantLR", dict()),
    "ConstantLR-0.7-9": ("ConstantLR", dict(factor=0.7, total_iters=9)),
    "PolynomialLR": ("PolynomialLR", dict()),
    "PolynomialLR-2.5": ("PolynomialLR", dict(total_iters=12, power=2.5)),
    "WarmRestarts-5": ("CosineAnnealingWarmRestarts", dict(T_0=5)),
    "WarmRestarts-3x2-eta": ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
    "WarmRestarts-1x3": ("CosineAnnealingWarmRestarts", dict(T_0=1, T_mult=3)),
}


def build(name: str, opt, torch_opt):
    cls, kw = SCHEDULERS[name]
    return getattr(lr_scheduler, cls)(opt, **kw), getattr(torch.optim.lr_scheduler, cls)(torch_opt, **kw)


def assert_resumes_exactly(fresh, advance, total, cut, tmp_path):
    """``total`` steps straight equal ``cut`` steps, a save/load of optimiser and scheduler
    through mc.save, and the rest."""
    opt, sched = fresh()
    full = advance(opt, sched, total)
    opt, sched = fresh()
    advance(opt, sched, cut)
    mc.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt")
    ckpt = mc.load(tmp_path / "ckpt")
    opt2, sched2 = fresh()
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert advance(opt2, sched2, total - cut) == full[cut:]


def step_side_by_side(name, mopt, topt, ms, ts):
    """STEPS epochs of both schedulers; their lrs (reported and in the groups) must agree."""
    assert_same_lrs(ms.get_last_lr(), ts.get_last_lr(), "after construction")
    for t in range(STEPS):
        mopt.step()
        topt.step()
        ms.step()
        ts.step()
        assert ms.last_epoch == ts.last_epoch
        assert_same_lrs(ms.get_last_lr(), ts.get_last_lr(), f"{name} step {t}")
        assert_same_lrs([g["lr"] for g in mopt.param_groups], [g["lr"] for g in topt.param_groups], f"{name} {t}")


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    mopt, topt = make_optimizers()
    ms, ts = build(name, mopt, topt)
    step_side_by_side(name, mopt, topt, ms, ts)
    assert ms.last_epoch == STEPS
    assert [g["initial_lr"] for g in mopt.param_groups] == [0.1, 0.03]


def test_cosine_matches_closed_form_while_alone():
    mopt, _ = make_optimizers((0.2,))
    sched = lr_scheduler.CosineAnnealingLR(mopt, T_max=10, eta_min=0.02)
    for t in range(1, 2 * 10 + 5):
        mopt.step()
        sched.step()
        expected = 0.02 + (0.2 - 0.02) * (1 + np.cos(np.pi * t / 10)) / 2
        np.testing.assert_allclose(sched.get_last_lr()[0], expected, rtol=1e-12)


def test_two_schedulers_compose_like_torch():
    mopt, topt = make_optimizers()
    m1, t1 = build("StepLR-3", mopt, topt)
    m2, t2 = build("CosineAnnealingLR-7", mopt, topt)
    for t in range(STEPS):
        mopt.step()
        topt.step()
        for s in (m1, m2, t1, t2):
            s.step()
        assert_same_lrs([g["lr"] for g in mopt.param_groups], [g["lr"] for g in topt.param_groups], f"step {t}")


def test_cosine_resumed_with_last_epoch_matches_torch():
    """Built with last_epoch=k (groups already hold initial_lr): torch's closed-form first step."""
    mopt, topt = make_optimizers()
    for opt in (mopt, topt):
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
    ms = lr_scheduler.CosineAnnealingLR(mopt, T_max=8, eta_min=0.001, last_epoch=5)
    ts = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=8, eta_min=0.001, last_epoch=5)
    for t in range(STEPS):
        mopt.step()
        topt.step()
        ms.step()
        ts.step()
        assert_same_lrs(ms.get_last_lr(), ts.get_last_lr(), f"step {t}")


PLATEAU = {
    "default": dict(patience=2),
    "patience0": dict(patience=0, factor=0.5),
    "max-abs": dict(mode="max", threshold_mode="abs", threshold=0.05, patience=1, factor=0.3),
    "max-rel": dict(mode="max", patience=1),
    "min-abs-cooldown": dict(threshold_mode="abs", threshold=0.01, patience=1, cooldown=2, factor=0.5),
    "min_lr-list": dict(patience=0, factor=0.5, min_lr=[0.02, 0.001]),
    "min_lr-eps": dict(patience=0, factor=0.5, min_lr=0.01, eps=1e-3),
}
METRICS = [
    float(m)
    for m in "1.0 0.9 0.9 0.95 0.91 0.8 0.8 0.8 0.8 0.8 0.7999 0.85 0.6 0.61 0.62 0.63 0.64 0.7 "
    "0.5 0.5 0.49 0.55 0.56 0.57 0.3 0.31 0.32 0.33 0.34 0.35".split()
]


@pytest.mark.parametrize("metrics", [METRICS, [-m for m in METRICS]], ids=["falling", "rising"])
@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_on_plateau_matches_torch(name, metrics):
    mopt, topt = make_optimizers()
    ms = lr_scheduler.ReduceLROnPlateau(mopt, **PLATEAU[name])
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **PLATEAU[name])
    changes = 0
    for t, metric in enumerate(metrics):
        before = ms.get_last_lr()
        ms.step(mc.tensor(metric, dtype=mc.float64) if t % 2 else metric)  # a Python float or a one-element tensor
        ts.step(metric)
        changes += ms.get_last_lr() != before
        assert_same_lrs(ms.get_last_lr(), ts.get_last_lr(), f"{name} step {t}")
        assert (ms.num_bad_epochs, ms.cooldown_counter, ms.best) == (ts.num_bad_epochs, ts.cooldown_counter, ts.best)
    if metrics is METRICS:
        assert changes > 0  # the sequence exercises at least one reduction


@pytest.mark.parametrize("name", list(SCHEDULERS) + ["ReduceLROnPlateau"])
def test_state_dict_round_trip_resumes(name, tmp_path):
    """Save optimiser + scheduler after 10 steps, restore into fresh ones, continue: same lrs."""

    def fresh():
        mopt, topt = make_optimizers()
        if name == "ReduceLROnPlateau":
            return mopt, lr_scheduler.ReduceLROnPlateau(mopt, patience=1, cooldown=1, factor=0.5)
        return mopt, build(name, mopt, topt)[0]

    def advance(opt, sched, ts):
        out = []
        for t in ts:
            opt.step()
            sched.step(METRICS[t]) if name == "ReduceLROnPlateau" else sched.step()
            out.append(sched.get_last_lr())
        return out

    opt, sched = fresh()
    full = advance(opt, sched, range(STEPS))

    opt, sched = fresh()
    advance(opt, sched, range(10))
    mc.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = mc.load(tmp_path / "ckpt.npz")
    opt2, sched2 = fresh()
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert sched2.last_epoch == 10
    resumed = advance(opt2, sched2, range(10, STEPS))
    assert resumed == full[10:]


def test_state_dict_is_plain_data():
    mopt, topt = make_optimizers()
    sched = lr_scheduler.MultiStepLR(mopt, milestones=[3, 3, 7])
    sd = sched.state_dict()
    assert "optimizer" not in sd and type(sd["milestones"]) is dict and sd["milestones"] == {3: 2, 7: 1}
    lam = lr_scheduler.LambdaLR(mopt, lr_lambda=[_half_on_odd, Scale(0.9)]).state_dict()
    assert lam["lr_lambdas"] == [None, {"base": 0.9}]


def test_errors():
    mopt, _ = make_optimizers()
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.ReduceLROnPlateau(object())
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(mopt, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="factor"):
        lr_scheduler.ReduceLROnPlateau(mopt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        lr_scheduler.ReduceLROnPlateau(mopt, mode="up")
    with pytest.raises(ValueError, match="threshold_mode"):
        lr_scheduler.ReduceLROnPlateau(mopt, threshold_mode="pct")
    with pytest.raises(ValueError, match="min_lrs"):
        lr_scheduler.ReduceLROnPlateau(mopt, min_lr=[0.1])
    with pytest.raises(ValueError, match="lr_lambdas"):
        lr_scheduler.LambdaLR(mopt, lr_lambda=[_half_on_odd])
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(mopt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        lr_scheduler.CosineAnnealingLR(mopt, T_max=0)
    with pytest.raises(ValueError, match="start_factor"):
        lr_scheduler.LinearLR(mopt, start_factor=0)


def momenta(opt) -> list[float]:
    """Each group's momentum (SGD) or beta1 (Adam)."""
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


ONE_CYCLE = {
    "default": dict(max_lr=0.5, total_steps=40),
    "per-group": dict(max_lr=[0.5, 0.2], epochs=4, steps_per_epoch=9, pct_start=0.25, base_momentum=[0.8, 0.7]),
    "linear": dict(max_lr=1.0, total_steps=23, anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
    "three-phase": dict(max_lr=0.3, total_steps=31, three_phase=True, pct_start=0.4),
    "no-momentum": dict(max_lr=0.3, total_steps=10, cycle_momentum=False),
}


@pytest.mark.parametrize("adam", [False, True], ids=["SGD", "Adam"])
@pytest.mark.parametrize("name", list(ONE_CYCLE))
def test_one_cycle_lr_and_momentum_match_torch(name, adam):
    kw = ONE_CYCLE[name]
    if adam:
        mp, tp = (
            [mc.nn.Parameter(np.zeros(2)) for _ in range(2)],
            [torch.nn.Parameter(torch.zeros(2)) for _ in range(2)],
        )
        mopt = mc.optim.Adam([{"params": [p]} for p in mp], lr=1.0, betas=(0.9, 0.99))
        topt = torch.optim.Adam([{"params": [p]} for p in tp], lr=1.0, betas=(0.9, 0.99))
    else:
        mopt, topt = make_optimizers()
    ms, ts = lr_scheduler.OneCycleLR(mopt, **kw), torch.optim.lr_scheduler.OneCycleLR(topt, **kw)
    steps = ms.total_steps
    assert steps == ts.total_steps
    for t in range(steps):
        assert_same_lrs(ms.get_last_lr(), ts.get_last_lr(), f"{name} step {t}")
        assert momenta(mopt) == momenta(topt), f"{name} step {t}"
        for key in ("initial_lr", "max_lr", "min_lr"):
            assert [g[key] for g in mopt.param_groups] == [g[key] for g in topt.param_groups]
        mopt.step()
        topt.step()
        if t < steps - 1:
            ms.step()
            ts.step()
    ms.step()  # epoch == total_steps: torch allows it
    with pytest.raises(ValueError, match="total_steps"):
        ms.step()


def test_one_cycle_state_dict_round_trip(tmp_path):
    def fresh():
        mopt, _ = make_optimizers()
        return mopt, lr_scheduler.OneCycleLR(mopt, **ONE_CYCLE["three-phase"])

    def advance(opt, sched, n):
        out = []
        for _ in range(n):
            opt.step()
            sched.step()
            out.append((sched.get_last_lr(), momenta(opt)))
        return out

    assert_resumes_exactly(fresh, advance, 30, 12, tmp_path)


SEQUENTIAL = {
    "warmup-cosine": (
        [("LinearLR", dict(start_factor=0.1, total_iters=5)), ("CosineAnnealingLR", dict(T_max=20, eta_min=0.001))],
        [5],
    ),
    "three": (
        [
            ("ConstantLR", dict(factor=0.5, total_iters=3)),
            ("ExponentialLR", dict(gamma=0.9)),
            ("StepLR", dict(step_size=4)),
        ],
        [4, 11],
    ),
    "restarts-then-poly": (
        [("CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2)), ("PolynomialLR", dict(total_iters=10, power=2.0))],
        [9],
    ),
    "lambda-multistep": ([("LambdaLR", dict(lr_lambda=Scale(0.8))), ("MultiStepLR", dict(milestones=[0, 3, 6]))], [2]),
    "one": ([("StepLR", dict(step_size=2))], []),
}


def build_sequential(name, mopt, topt):
    parts, milestones = SEQUENTIAL[name]
    ours = [getattr(lr_scheduler, cls)(mopt, **kw) for cls, kw in parts]
    theirs = [getattr(torch.optim.lr_scheduler, cls)(topt, **kw) for cls, kw in parts]
    return (
        lr_scheduler.SequentialLR(mopt, ours, milestones),
        torch.optim.lr_scheduler.SequentialLR(topt, theirs, milestones),
    )


@pytest.mark.parametrize("name", list(SEQUENTIAL))
def test_sequential_lr_matches_torch(name):
    mopt, topt = make_optimizers()
    step_side_by_side(name, mopt, topt, *build_sequential(name, mopt, topt))


@pytest.mark.parametrize("name", ["warmup-cosine", "three", "restarts-then-poly"])
def test_sequential_lr_state_dict_round_trip(name, tmp_path):
    def fresh():
        mopt, topt = make_optimizers()
        return mopt, build_sequential(name, mopt, topt)[0]

    def advance(opt, sched, n):
        out = []
        for _ in range(n):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr())
        return out

    assert_resumes_exactly(fresh, advance, STEPS, 8, tmp_path)


def test_new_scheduler_errors():
    mopt, _ = make_optimizers()
    other, _ = make_optimizers()
    with pytest.raises(ValueError, match="T_0"):
        lr_scheduler.CosineAnnealingWarmRestarts(mopt, T_0=0)
    with pytest.raises(ValueError, match="T_mult"):
        lr_scheduler.CosineAnnealingWarmRestarts(mopt, T_0=2, T_mult=0)
    with pytest.raises(ValueError, match="factor"):
        lr_scheduler.ConstantLR(mopt, factor=1.5)
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(mopt, max_lr=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        lr_scheduler.OneCycleLR(mopt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        lr_scheduler.OneCycleLR(mopt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="one value per param group"):
        lr_scheduler.OneCycleLR(mopt, max_lr=[0.1], total_steps=10)
    step = lr_scheduler.StepLR(mopt, 2)
    with pytest.raises(ValueError, match="milestone"):
        lr_scheduler.SequentialLR(mopt, [step], [3])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(mopt, [step, lr_scheduler.StepLR(other, 2)], [3])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        lr_scheduler.SequentialLR(mopt, [step, lr_scheduler.ReduceLROnPlateau(mopt)], [3])


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_step_to_fractional_epoch(T_mult):
    """torch's per-batch form ``step(epoch + i / iters)``, interleaved with plain steps."""
    mopt, topt = make_optimizers()
    ours = lr_scheduler.CosineAnnealingWarmRestarts(mopt, T_0=3, T_mult=T_mult, eta_min=0.001)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=3, T_mult=T_mult, eta_min=0.001)
    for epoch in [0.3, 1.0, 2.75, None, None, 4.5, 9, 26, None, 0.1, None, 3]:
        ours.step(epoch)
        theirs.step(epoch)
        assert_same_lrs(ours.get_last_lr(), theirs.get_last_lr(), f"epoch {epoch}")
        assert ours.last_epoch == theirs.last_epoch
    with pytest.raises(ValueError, match="epoch"):
        ours.step(-1)
    with pytest.raises(ValueError):
        theirs.step(-1)


class Decay:
    """A callable object as CyclicLR's scale_fn: its __dict__ goes into the state dict."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, x: float) -> float:
        return self.rate**x


CYCLIC = {
    "triangular": dict(base_lr=0.01, max_lr=0.1, step_size_up=4),
    "triangular-asymmetric": dict(base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=7),
    "triangular2": dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=2, step_size_down=3, mode="triangular2"),
    "exp_range": dict(base_lr=0.001, max_lr=0.05, step_size_up=5, mode="exp_range", gamma=0.97),
    "scale_fn-cycle": dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=Decay(0.7)),
    "scale_fn-iterations": dict(
        base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=Decay(0.95), scale_mode="iterations"
    ),
    "momenta-per-group": dict(
        base_lr=0.01, max_lr=0.1, step_size_up=2, base_momentum=[0.7, 0.75], max_momentum=[0.95, 0.9]
    ),
    "no-momentum": dict(base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False),
}


def adam_pair():
    mp = [mc.nn.Parameter(np.zeros(2)) for _ in range(2)]
    tp = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)) for _ in range(2)]
    mopt = mc.optim.Adam([{"params": [p]} for p in mp], lr=1.0, betas=(0.9, 0.99))
    topt = torch.optim.Adam([{"params": [p]} for p in tp], lr=1.0, betas=(0.9, 0.99))
    return mopt, topt


@pytest.mark.parametrize("adam", [False, True], ids=["SGD", "Adam"])
@pytest.mark.parametrize("name", list(CYCLIC))
def test_cyclic_lr_and_momentum_match_torch(name, adam):
    """Every step: the same lrs (reported and in the groups) and momenta (SGD's momentum, Adam's
    beta1), to the last bit, over several cycles."""
    kw = CYCLIC[name]
    mopt, topt = adam_pair() if adam else make_optimizers()
    ms, ts = lr_scheduler.CyclicLR(mopt, **kw), torch.optim.lr_scheduler.CyclicLR(topt, **kw)
    for t in range(STEPS):
        where = f"{name} step {t}"
        assert_same_lrs(ms.get_last_lr(), ts.get_last_lr(), where)
        assert_same_lrs([g["lr"] for g in mopt.param_groups], [g["lr"] for g in topt.param_groups], where)
        assert momenta(mopt) == momenta(topt), where
        for key in ("max_momentum", "base_momentum"):
            assert [g.get(key) for g in mopt.param_groups] == [g.get(key) for g in topt.param_groups], where
        mopt.step()
        topt.step()
        ms.step()
        ts.step()
    assert ms.base_lrs == ts.base_lrs and ms.scale_mode == ts.scale_mode


def test_cyclic_lr_with_a_tensor_lr_writes_it_in_place_like_torch():
    mp, tp = mc.nn.Parameter(np.zeros(2)), torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    mlr, tlr = mc.tensor(np.array(1.0)), torch.tensor(1.0, dtype=torch.float64)
    mopt, topt = SGD([mp], lr=mlr, momentum=0.9), torch.optim.SGD([tp], lr=tlr, momentum=0.9)
    kw = CYCLIC["triangular2"] | dict(base_lr=0.01, max_lr=0.1)
    ms, ts = lr_scheduler.CyclicLR(mopt, **kw), torch.optim.lr_scheduler.CyclicLR(topt, **kw)
    for t in range(12):
        assert mopt.param_groups[0]["lr"] is mlr and topt.param_groups[0]["lr"] is tlr
        assert mlr.item() == tlr.item(), f"step {t}"
        assert momenta(mopt) == momenta(topt)
        mopt.step()
        topt.step()
        ms.step()
        ts.step()


def test_cyclic_lr_state_dict_round_trip(tmp_path):
    """Through mc.save: plain data (the scale_fn object as its __dict__), and the resumed run
    equals the straight one; the state dict has torch's keys."""

    def fresh():
        mopt, _ = make_optimizers()
        return mopt, lr_scheduler.CyclicLR(mopt, **CYCLIC["scale_fn-iterations"])

    def advance(opt, sched, n):
        out = []
        for _ in range(n):
            opt.step()
            sched.step()
            out.append((sched.get_last_lr(), momenta(opt)))
        return out

    assert_resumes_exactly(fresh, advance, total=17, cut=6, tmp_path=tmp_path)
    mopt, topt = make_optimizers()
    ours = lr_scheduler.CyclicLR(mopt, **CYCLIC["scale_fn-cycle"]).state_dict()
    theirs = torch.optim.lr_scheduler.CyclicLR(topt, **CYCLIC["scale_fn-cycle"]).state_dict()
    assert ours["_scale_fn_custom"] == theirs["_scale_fn_custom"] == {"rate": 0.7}
    shared = ("base_lrs", "max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode", "last_epoch")
    for key in shared:
        assert ours[key] == theirs[key], key
    mopt, topt = make_optimizers()
    fn = dict(base_lr=0.01, max_lr=0.1, scale_fn=lambda x: 1.0)
    assert lr_scheduler.CyclicLR(mopt, **fn).state_dict()["_scale_fn_custom"] is None
    assert torch.optim.lr_scheduler.CyclicLR(topt, **fn).state_dict()["_scale_fn_custom"] is None


def test_cyclic_lr_errors_like_torch():
    mopt, topt = make_optimizers()
    for lib, opt in ((lr_scheduler, mopt), (torch.optim.lr_scheduler, topt)):
        with pytest.raises(ValueError, match="mode"):
            lib.CyclicLR(opt, base_lr=0.01, max_lr=0.1, mode="sawtooth")
        with pytest.raises(ValueError, match="same length|one value per param group"):
            lib.CyclicLR(opt, base_lr=[0.01], max_lr=0.1)
    for opt in (mc.optim.Adagrad([mc.nn.Parameter(np.zeros(2))]), torch.optim.Adagrad([torch.zeros(2)])):
        lib = lr_scheduler if isinstance(opt, mc.optim.Optimizer) else torch.optim.lr_scheduler
        with pytest.raises(ValueError, match="momentum"):
            lib.CyclicLR(opt, base_lr=0.01, max_lr=0.1)
        lib.CyclicLR(opt, base_lr=0.01, max_lr=0.1, cycle_momentum=False)  # fine without


def test_warning_when_the_scheduler_steps_before_the_optimizer_like_torch():
    """torch's UserWarning at the first scheduler step when no optimizer.step() ran before it
    (a subclass's own step counts too); none once the optimiser has stepped."""

    class MySGD(mc.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    for make, step_first in ((SGD, False), (SGD, True), (MySGD, True)):
        opt = make([mc.nn.Parameter(np.zeros(2))], lr=0.1)
        sched = lr_scheduler.StepLR(opt, 2)
        if step_first:
            opt.step()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched.step()
            sched.step()
        assert len(caught) == (0 if step_first else 1), make
        if caught:
            assert caught[0].category is UserWarning and "before `optimizer.step()`" in str(caught[0].message)


def test_sequential_lr_undoes_the_steps_of_nested_schedulers_like_torch():
    """SequentialLR.recursive_undo: building it takes back the construction step of the
    schedulers inside a ChainedScheduler it holds (which has no epoch of its own), as torch's."""

    def build(lib, opt):
        sched = lib.optim.lr_scheduler
        chained = sched.ChainedScheduler([sched.StepLR(opt, 2, 0.5), sched.ExponentialLR(opt, 0.9)])
        seq = sched.SequentialLR(opt, [chained, sched.LinearLR(opt, 0.5, total_iters=3)], [4])
        return seq, [s.last_epoch for s in chained._schedulers]

    mopt, topt = make_optimizers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn alike about the chained schedulers' step order
        (ms, mepochs), (ts, tepochs) = build(mc, mopt), build(torch, topt)
        assert mepochs == tepochs
        step_side_by_side("chained-then-linear", mopt, topt, ms, ts)
    assert callable(ms.recursive_undo) and callable(ts.recursive_undo)
