"""Learning-rate schedulers against torch.optim.lr_scheduler: the lr of every group, every step."""

from __future__ import annotations

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
}


def build(name: str, opt, torch_opt):
    cls, kw = SCHEDULERS[name]
    return getattr(lr_scheduler, cls)(opt, **kw), getattr(torch.optim.lr_scheduler, cls)(torch_opt, **kw)


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    mopt, topt = make_optimizers()
    ms, ts = build(name, mopt, topt)
    assert_same_lrs(ms.get_last_lr(), ts.get_last_lr(), "after construction")
    for t in range(STEPS):
        mopt.step()
        topt.step()
        ms.step()
        ts.step()
        assert ms.last_epoch == ts.last_epoch == t + 1
        assert_same_lrs(ms.get_last_lr(), ts.get_last_lr(), f"{name} step {t}")
        assert_same_lrs([g["lr"] for g in mopt.param_groups], [g["lr"] for g in topt.param_groups], f"{name} {t}")
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
