"""Adagrad, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD, LBFGS against torch.optim: parameters and
state after every step, state dicts (layout and resuming), devices, flags and errors."""

from __future__ import annotations

import functools
import inspect

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import swa_utils as tswa

import minicnn as mc
from minicnn.optim import lr_scheduler, swa_utils
from minicnn.optim.adagrad import Adadelta, Adagrad
from minicnn.optim.adam_variants import Adamax, NAdam, RAdam
from minicnn.optim.asgd import ASGD
from minicnn.optim.lbfgs import LBFGS
from minicnn.optim.rprop import Rprop

TORCH = {
    Adagrad: torch.optim.Adagrad,
    Adadelta: torch.optim.Adadelta,
    Adamax: torch.optim.Adamax,
    NAdam: torch.optim.NAdam,
    RAdam: torch.optim.RAdam,
    Rprop: torch.optim.Rprop,
    ASGD: torch.optim.ASGD,
    LBFGS: torch.optim.LBFGS,
}
STEPPED = [Adagrad, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD]
SHAPES = [(), (3, 4), (5,)]
TOL = dict(rtol=1e-10, atol=1e-12)

# one setting per optimiser that switches most of its branches on
CASES = {
    Adagrad: dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.2, maximize=True),
    Adadelta: dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1),
    Adamax: dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, maximize=True),
    NAdam: dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01, decoupled_weight_decay=True),
    RAdam: dict(lr=0.05, betas=(0.9, 0.5), weight_decay=0.1),
    Rprop: dict(lr=0.05, etas=(0.4, 1.5), step_sizes=(1e-3, 0.2)),
    ASGD: dict(lr=0.05, lambd=0.01, alpha=0.6, t0=2, weight_decay=0.1),
}


def assert_state_equal(ours: dict, theirs: dict, where: str) -> None:
    assert list(ours) == list(theirs), where
    for name, tval in theirs.items():
        expected = tval.numpy() if isinstance(tval, torch.Tensor) else np.asarray(tval)
        got = np.asarray(ours[name])
        assert got.shape == expected.shape, f"{where} {name}"
        np.testing.assert_allclose(got, expected, **TOL, err_msg=f"{where} {name}")


def run_against_torch(cls, kwargs, steps=8, seed=0, compare_state=True) -> None:
    """Same initial params (one 0-d, a matrix, a vector) and float64 gradients in both; compare
    every parameter and every state buffer after every step. The gradient is 0.5 * p + noise."""
    rng = np.random.default_rng(seed)
    init = [np.asarray(rng.standard_normal(s)) for s in SHAPES]
    mp = [mc.nn.Parameter(a.copy()) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt, topt = cls(mp, **kwargs), TORCH[cls](tp, **kwargs)
    for t in range(steps):
        for m, p in zip(mp, tp):
            g = np.asarray(0.5 * m.numpy() + rng.standard_normal(m.shape))
            if t == 3:  # a repeated gradient sign and zeros exercise Rprop's branches
                g = np.asarray(np.where(np.abs(g) < 0.3, 0.0, g))
            m.grad = mc.Tensor(g.copy())
            p.grad = torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        where = f"{cls.__name__}({kwargs}) step {t}"
        for i, (m, p) in enumerate(zip(mp, tp)):
            assert m.dtype == np.float64 and m.shape == tuple(p.shape)
            np.testing.assert_allclose(m.numpy(), p.detach().numpy(), **TOL, err_msg=f"{where} param {i}")
            if compare_state:
                assert_state_equal(mopt.state[m], topt.state[p], f"{where} param {i}")


@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_fixed_settings_match_torch(cls):
    run_against_torch(cls, CASES[cls], steps=10)
    run_against_torch(cls, {}, steps=5, seed=1)  # torch's defaults


lrs = st.floats(1e-3, 0.5)
wds = st.sampled_from([0.0, 0.0, 1e-3, 0.1])
betas = st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.999))
flags = dict(maximize=st.booleans(), seed=st.integers(0, 2**16))


@settings(max_examples=20, deadline=None)
@given(
    lr=lrs,
    lr_decay=st.sampled_from([0.0, 0.01, 0.5]),
    wd=wds,
    acc=st.sampled_from([0.0, 0.1, 1.0]),
    eps=st.sampled_from([1e-10, 1e-6, 1e-2]),
    **flags,
)
def test_adagrad_random_settings(lr, lr_decay, wd, acc, eps, maximize, seed):
    kw = dict(lr=lr, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=acc, eps=eps, maximize=maximize)
    run_against_torch(Adagrad, kw, seed=seed)


@settings(max_examples=20, deadline=None)
@given(lr=st.floats(1e-3, 2.0), rho=st.floats(0.0, 1.0), eps=st.sampled_from([1e-6, 1e-3]), wd=wds, **flags)
def test_adadelta_random_settings(lr, rho, eps, wd, maximize, seed):
    run_against_torch(Adadelta, dict(lr=lr, rho=rho, eps=eps, weight_decay=wd, maximize=maximize), seed=seed)


@settings(max_examples=20, deadline=None)
@given(lr=lrs, betas=betas, eps=st.sampled_from([1e-8, 1e-3]), wd=wds, **flags)
def test_adamax_random_settings(lr, betas, eps, wd, maximize, seed):
    run_against_torch(Adamax, dict(lr=lr, betas=betas, eps=eps, weight_decay=wd, maximize=maximize), seed=seed)


@settings(max_examples=25, deadline=None)
@given(
    lr=lrs,
    betas=betas,
    wd=wds,
    momentum_decay=st.sampled_from([0.0, 4e-3, 0.1, 1.0]),
    decoupled=st.booleans(),
    **flags,
)
def test_nadam_random_settings(lr, betas, wd, momentum_decay, decoupled, maximize, seed):
    kw = dict(
        lr=lr,
        betas=betas,
        weight_decay=wd,
        momentum_decay=momentum_decay,
        decoupled_weight_decay=decoupled,
        maximize=maximize,
    )
    run_against_torch(NAdam, kw, seed=seed)


@settings(max_examples=25, deadline=None)
@given(lr=lrs, betas=betas, wd=wds, decoupled=st.booleans(), **flags)
def test_radam_random_settings(lr, betas, wd, decoupled, maximize, seed):
    # beta2 <= 0.6 reaches rho_t > 5 (the rectified branch) within the steps, larger ones stay below
    kw = dict(lr=lr, betas=betas, weight_decay=wd, decoupled_weight_decay=decoupled, maximize=maximize)
    run_against_torch(RAdam, kw, seed=seed)


@settings(max_examples=20, deadline=None)
@given(
    lr=lrs,
    etas=st.tuples(st.floats(0.1, 0.9), st.floats(1.1, 2.0)),
    sizes=st.tuples(st.sampled_from([1e-6, 1e-3, 0.02]), st.sampled_from([0.05, 1.0, 50.0])),
    **flags,
)
def test_rprop_random_settings(lr, etas, sizes, maximize, seed):
    run_against_torch(Rprop, dict(lr=lr, etas=etas, step_sizes=sizes, maximize=maximize), seed=seed)


@settings(max_examples=20, deadline=None)
@given(
    lr=lrs,
    lambd=st.sampled_from([0.0, 1e-4, 0.05]),
    alpha=st.floats(0.1, 1.0),
    t0=st.sampled_from([0.0, 2.0, 3.5, 1e6]),
    wd=wds,
    **flags,
)
def test_asgd_random_settings(lr, lambd, alpha, t0, wd, maximize, seed):
    kw = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=wd, maximize=maximize)
    run_against_torch(ASGD, kw, seed=seed)


@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_float32_params_match_torch(cls):
    rng = np.random.default_rng(3)
    init = [np.asarray(rng.standard_normal(s), dtype=np.float32) for s in SHAPES]
    mp = [mc.nn.Parameter(a.copy()) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt, topt = cls(mp, **CASES[cls]), TORCH[cls](tp, **CASES[cls])
    for _ in range(6):
        for m, p in zip(mp, tp):
            g = np.asarray(rng.standard_normal(m.shape), dtype=np.float32)
            m.grad, p.grad = mc.Tensor(g.copy()), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
    for m, p in zip(mp, tp):
        assert m.dtype == np.float32
        np.testing.assert_allclose(m.numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)
    for s in mopt.state.values():
        assert all(v.dtype == np.float32 for v in s.values() if isinstance(v, np.ndarray))


def two_groups(make, cls, params):
    kw = CASES[cls]
    return make([{"params": params[:1]}, {"params": params[1:], "lr": 0.003}], **kw)


@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_state_dict_layout_matches_torch(cls):
    """Same keys, same order, same values as torch's state dict, param groups included; a third
    parameter never gets a gradient (Adagrad, like torch's, still has state for it)."""
    rng = np.random.default_rng(0)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(4), rng.standard_normal(2)]
    mp = [mc.nn.Parameter(a.copy()) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt, topt = two_groups(cls, cls, mp), two_groups(TORCH[cls], cls, tp)
    for _ in range(3):
        for m, p in zip(mp[:2], tp[:2]):
            g = rng.standard_normal(m.shape)
            m.grad, p.grad = mc.Tensor(g), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
    ours, theirs = mopt.state_dict(), topt.state_dict()
    assert list(ours) == ["state", "param_groups"]
    assert list(ours["state"]) == list(theirs["state"])
    for i, tstate in theirs["state"].items():
        assert_state_equal(ours["state"][i], tstate, f"state {i}")
        assert isinstance(ours["state"][i]["step"], int)
    for og, tg in zip(ours["param_groups"], theirs["param_groups"]):
        assert list(og) == list(tg)
        assert all(og[k] == tg[k] for k in og), (og, tg)


@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_state_dict_round_trip_resumes_exactly(cls, tmp_path):
    """6 steps in one go equal 3 steps, mc.save/mc.load of params and optimizer, 3 more steps."""
    rng = np.random.default_rng(5)
    init = [np.asarray(rng.standard_normal(s)) for s in SHAPES]
    grads = [[np.asarray(rng.standard_normal(s)) for s in SHAPES] for _ in range(6)]

    def run(params, opt, steps):
        for gs in steps:
            for p, g in zip(params, gs):
                p.grad = mc.Tensor(g)
            opt.step()

    full = [mc.nn.Parameter(a.copy()) for a in init]
    run(full, cls(full, **CASES[cls]), grads)

    first = [mc.nn.Parameter(a.copy()) for a in init]
    opt = cls(first, **CASES[cls])
    run(first, opt, grads[:3])
    mc.save({"params": [p.numpy() for p in first], "optimizer": opt.state_dict()}, tmp_path / "ckpt")
    ckpt = mc.load(tmp_path / "ckpt")
    second = [mc.nn.Parameter(a) for a in ckpt["params"]]
    opt2 = cls(second, lr=123.0)  # hyper-parameters come from the state dict
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["lr"] == CASES[cls]["lr"]
    run(second, opt2, grads[3:])
    for a, b in zip(full, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def torch_to_numpy(x):
    """A torch state dict with every Tensor replaced by a NumPy copy (0-d ones included)."""
    if isinstance(x, torch.Tensor):
        return x.detach().numpy().copy()
    if isinstance(x, dict):
        return {k: torch_to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(torch_to_numpy(v) for v in x)
    return x


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_resumes_from_a_torch_state_dict(cls, dtype):
    """torch's state dict (float32 0-d 'step', 'eta', 'mu', 'mu_product') as NumPy, loaded into a
    fresh optimiser over the same parameter: the next steps equal torch's."""
    rng = np.random.default_rng(6)
    tp = torch.nn.Parameter(torch.from_numpy(rng.standard_normal((3, 4))).to(dtype))
    topt = TORCH[cls]([tp], **CASES[cls])
    for _ in range(4):
        tp.grad = torch.from_numpy(rng.standard_normal((3, 4))).to(dtype)
        topt.step()
    mp = mc.nn.Parameter(tp.detach().numpy().copy())
    mopt = cls([mp], lr=1.0)
    mopt.load_state_dict(torch_to_numpy(topt.state_dict()))
    assert mopt.state[mp]["step"] == 4 and mopt.param_groups[0]["lr"] == CASES[cls]["lr"]
    for _ in range(4):
        tp.grad = torch.from_numpy(rng.standard_normal((3, 4))).to(dtype)
        mp.grad = mc.Tensor(tp.grad.numpy().copy())
        topt.step()
        mopt.step()
    tol = TOL if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mp.numpy(), tp.detach().numpy(), **tol)
    assert mp.dtype == tp.detach().numpy().dtype


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_state_lives_on_param_device(cls, device):
    """On any device the update equals the CPU one, and the buffers sit beside the parameter."""
    rng = np.random.default_rng(4)
    init = rng.standard_normal(5).astype(np.float32)
    grads = [rng.standard_normal(5).astype(np.float32) for _ in range(4)]
    cpu, dev = mc.nn.Parameter(init.copy()), mc.nn.Parameter(mc.tensor(init.copy(), device=device))
    opt_cpu, opt_dev = cls([cpu], **CASES[cls]), cls([dev], **CASES[cls])
    for g in grads:
        cpu.grad, dev.grad = mc.Tensor(g), mc.tensor(g, device=device)
        opt_cpu.step()
        opt_dev.step()
    assert dev.device == mc.tensor(init, device=device).device
    for v in opt_dev.state[dev].values():
        if not isinstance(v, (int, float)):
            assert mc.backend.device_of(v) == dev.device and v.dtype == np.float32
    np.testing.assert_allclose(dev.numpy(), cpu.numpy(), rtol=1e-5, atol=1e-6)
    sd = opt_dev.state_dict()
    assert all(isinstance(v, (int, float, np.ndarray)) for v in sd["state"][0].values())


def test_adagrad_param_added_later_uses_default_accumulator():
    """torch initialises Adagrad's state on construction; an added group's parameter gets it lazily
    from the defaults' initial_accumulator_value."""
    a, b = np.ones(2), np.full(3, 2.0)
    ma, mb = mc.nn.Parameter(a.copy()), mc.nn.Parameter(b.copy())
    ta, tb = torch.nn.Parameter(torch.from_numpy(a.copy())), torch.nn.Parameter(torch.from_numpy(b.copy()))
    mopt = Adagrad([ma], lr=0.1, initial_accumulator_value=0.5)
    topt = torch.optim.Adagrad([ta], lr=0.1, initial_accumulator_value=0.5)
    mopt.add_param_group({"params": [mb], "initial_accumulator_value": 3.0})
    topt.add_param_group({"params": [tb], "initial_accumulator_value": 3.0})
    for _ in range(2):
        for m, t in ((ma, ta), (mb, tb)):
            m.grad, t.grad = mc.Tensor(np.full(m.shape, 0.7)), torch.full(tuple(t.shape), 0.7, dtype=torch.float64)
        mopt.step()
        topt.step()
    for m, t in ((ma, ta), (mb, tb)):
        np.testing.assert_allclose(m.numpy(), t.detach().numpy(), **TOL)
        assert_state_equal(mopt.state[m], topt.state[t], "added group")


@pytest.mark.parametrize("cls", list(TORCH), ids=lambda c: c.__name__)
def test_signature_matches_torch(cls):
    ours = list(inspect.signature(cls.__init__).parameters.values())
    theirs = list(inspect.signature(TORCH[cls].__init__).parameters.values())
    assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in theirs]


FLAGS = {
    Adagrad: ("differentiable", "fused"),
    Adadelta: ("capturable", "differentiable"),
    Adamax: ("differentiable", "capturable"),
    NAdam: ("capturable", "differentiable"),
    RAdam: ("capturable", "differentiable"),
    Rprop: ("capturable", "differentiable"),
    ASGD: ("differentiable", "capturable"),
}


@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_torch_flags_accepted_and_stored_like_torch(cls):
    mp, tp = [mc.nn.Parameter(np.ones(2))], [torch.nn.Parameter(torch.ones(2))]
    off = {flag: False for flag in FLAGS[cls]}
    for kw in ({}, dict(foreach=True), dict(foreach=False, maximize=True), off):
        ours, theirs = cls(mp, lr=0.1, **kw), TORCH[cls](tp, lr=0.1, **kw)
        assert list(ours.defaults.items()) == list(theirs.defaults.items())
        assert list(ours.param_groups[0]) == list(theirs.param_groups[0])
    for flag in FLAGS[cls]:
        with pytest.raises(NotImplementedError, match=f"{flag}=True"):
            cls(mp, lr=0.1, **{flag: True})


BAD = [
    (Adagrad, dict(lr=-0.1), "learning rate"),
    (Adagrad, dict(lr_decay=-0.1), "lr_decay"),
    (Adagrad, dict(weight_decay=-0.1), "weight_decay"),
    (Adagrad, dict(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (Adagrad, dict(eps=-0.1), "epsilon"),
    (Adadelta, dict(lr=-0.1), "learning rate"),
    (Adadelta, dict(rho=1.5), "rho"),
    (Adadelta, dict(eps=-0.1), "epsilon"),
    (Adadelta, dict(weight_decay=-0.1), "weight_decay"),
    (Adamax, dict(betas=(1.0, 0.9)), "beta parameter at index 0"),
    (Adamax, dict(betas=(0.9, -0.1)), "beta parameter at index 1"),
    (Adamax, dict(eps=-1.0), "epsilon"),
    (NAdam, dict(lr=-1.0), "learning rate"),
    (NAdam, dict(momentum_decay=-1.0), "momentum_decay"),
    (NAdam, dict(weight_decay=-1.0), "weight_decay"),
    (RAdam, dict(betas=(0.9, 1.0)), "beta parameter at index 1"),
    (RAdam, dict(lr=-1.0), "learning rate"),
    (Rprop, dict(lr=-1.0), "learning rate"),
    (Rprop, dict(etas=(1.2, 0.5)), "eta values"),
    (Rprop, dict(etas=(0.0, 1.2)), "eta values"),
    (ASGD, dict(lr=-1.0), "learning rate"),
    (ASGD, dict(weight_decay=-1.0), "weight_decay"),
    (LBFGS, dict(lr=-1.0), "learning rate"),
]


@pytest.mark.parametrize("cls, kw, match", BAD, ids=lambda x: getattr(x, "__name__", None))
def test_bad_settings_raise_value_error_like_torch(cls, kw, match):
    with pytest.raises(ValueError):
        TORCH[cls]([torch.nn.Parameter(torch.ones(2))], **kw)
    with pytest.raises(ValueError, match=match):
        cls([mc.nn.Parameter(np.ones(2))], **kw)


@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_tensor_lr_matches_torch(cls):
    """lr as a one-element Tensor (torch allows it): the same steps as torch's, also after the
    Tensor is changed in place between steps (decoupled weight decay reads it too)."""
    kw = dict(CASES[cls])
    if cls in (NAdam, RAdam):
        kw.update(weight_decay=0.1, decoupled_weight_decay=True)
    rng = np.random.default_rng(7)
    init = rng.standard_normal((3, 4))
    mp, tp = mc.nn.Parameter(init.copy()), torch.nn.Parameter(torch.from_numpy(init.copy()))
    mlr, tlr = mc.tensor(np.array([kw["lr"]])), torch.tensor([kw["lr"]], dtype=torch.float64)
    mopt, topt = cls([mp], **{**kw, "lr": mlr}), TORCH[cls]([tp], **{**kw, "lr": tlr})
    for t in range(6):
        if t == 3:
            mlr.array[...] = kw["lr"] / 3
            tlr.fill_(kw["lr"] / 3)
        g = rng.standard_normal((3, 4))
        mp.grad, tp.grad = mc.Tensor(g.copy()), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        np.testing.assert_allclose(mp.numpy(), tp.detach().numpy(), **TOL, err_msg=f"step {t}")
        assert_state_equal(mopt.state[mp], topt.state[tp], f"step {t}")
    assert np.abs(mp.numpy() - init).max() > 1e-3  # it moved


@pytest.mark.parametrize("cls", STEPPED, ids=lambda c: c.__name__)
def test_schedulers_drive_the_optimisers_like_torch(cls):
    """StepLR, then ReduceLROnPlateau, then SWALR on the same optimiser (a Tensor lr, which the
    schedulers write in place): the same lrs, parameters and state as torch's."""
    rng = np.random.default_rng(9)
    init = rng.standard_normal(6)
    mp, tp = mc.nn.Parameter(init.copy()), torch.nn.Parameter(torch.from_numpy(init.copy()))
    lr = CASES[cls]["lr"]
    mopt = cls([mp], **{**CASES[cls], "lr": mc.tensor(np.array(lr))})
    topt = TORCH[cls]([tp], **{**CASES[cls], "lr": torch.tensor(lr, dtype=torch.float64)})
    scheds = [
        (lr_scheduler.StepLR(mopt, step_size=2, gamma=0.5), torch.optim.lr_scheduler.StepLR(topt, 2, gamma=0.5)),
        (
            lr_scheduler.ReduceLROnPlateau(mopt, patience=0),
            torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=0),
        ),
        (swa_utils.SWALR(mopt, lr / 10, anneal_epochs=2), tswa.SWALR(topt, lr / 10, anneal_epochs=2)),
    ]
    for t in range(12):
        g = rng.standard_normal(6)
        mp.grad, tp.grad = mc.Tensor(g.copy()), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        ms, ts = scheds[t // 4]
        if isinstance(ms, lr_scheduler.ReduceLROnPlateau):
            ms.step(1.0)
            ts.step(1.0)
        else:
            ms.step()
            ts.step()
        assert float(mopt.param_groups[0]["lr"]) == pytest.approx(float(topt.param_groups[0]["lr"]), rel=1e-12)
        np.testing.assert_allclose(mp.numpy(), tp.detach().numpy(), **TOL, err_msg=f"step {t}")
        assert_state_equal(mopt.state[mp], topt.state[tp], f"step {t}")


@pytest.mark.parametrize("cls", list(TORCH), ids=lambda c: c.__name__)
def test_tensor_lr_must_have_one_element(cls):
    with pytest.raises(ValueError, match="1-element"):
        TORCH[cls]([torch.nn.Parameter(torch.ones(2))], lr=torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="1-element"):
        cls([mc.nn.Parameter(np.ones(2))], lr=mc.tensor(np.array([0.1, 0.2])))
    with pytest.raises(ValueError, match="learning rate"):
        cls([mc.nn.Parameter(np.ones(2))], lr=mc.tensor(np.array(-0.1)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rprop_nan_gradients_like_torch(dtype):
    """torch's sign(NaN) is 0: a NaN gradient (or a NaN remembered in prev) leaves the step size
    alone and moves nothing; NumPy's sign would give NaN and poison the parameter."""
    rng = np.random.default_rng(3)
    init = rng.standard_normal(12).astype(dtype)
    mp, tp = mc.nn.Parameter(init.copy()), torch.nn.Parameter(torch.from_numpy(init.copy()))
    kw = dict(lr=0.03, etas=(0.3, 1.7), step_sizes=(1e-3, 0.1))
    mopt, topt = Rprop([mp], **kw), torch.optim.Rprop([tp], **kw)
    for t in range(8):
        g = rng.standard_normal(12).astype(dtype)
        if t in (2, 3):
            g[t : t + 4] = np.nan
        mp.grad, tp.grad = mc.Tensor(g.copy()), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        np.testing.assert_array_equal(mp.numpy(), tp.detach().numpy(), err_msg=f"step {t}")
        for name in ("prev", "step_size"):
            np.testing.assert_array_equal(mopt.state[mp][name], topt.state[tp][name].numpy(), err_msg=name)
    assert np.isfinite(mp.numpy()).all()


# -- LBFGS ---------------------------------------------------------------------------------------------------


def lbfgs_loss(lib, x, w, s):
    """Rosenbrock in x (4,), a coupled quadratic in the matrix w (2, 3) and the 0-d s."""
    rosen = (100 * (x[1:] - x[:-1] * x[:-1]) ** 2 + (1 - x[:-1]) ** 2).sum()
    m = lib.reshape(lib.arange(6.0, dtype=lib.float64), (2, 3)) / 6
    quad = ((w * m).sum() - 1) ** 2 + 0.1 * (w * w).sum()
    return rosen + quad + (s - 0.5) ** 2 * (1 + (x * x).sum())


def lbfgs_pair(kw, seed=0):
    rng = np.random.default_rng(seed)
    init = [np.asarray(rng.uniform(-1.5, 1.5, shape)) for shape in [(4,), (2, 3), ()]]
    mp = [mc.nn.Parameter(a.copy()) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt, topt = LBFGS(mp, **kw), torch.optim.LBFGS(tp, **kw)
    sign = -1.0 if kw.get("maximize") else 1.0

    def mclosure():
        mopt.zero_grad()
        loss = lbfgs_loss(mc, *mp) * sign
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = lbfgs_loss(torch, *tp) * sign
        loss.backward()
        return loss

    return mp, tp, mopt, topt, mclosure, tclosure


def lbfgs_close(a, b, err_msg: str) -> None:
    """Differences of gradients (y = g - g_prev) cancel digits, so the tolerance scales with the vector."""
    b = np.asarray(b)
    np.testing.assert_allclose(np.asarray(a), b, rtol=1e-7, atol=1e-8 * max(1.0, np.abs(b).max()), err_msg=err_msg)


def assert_lbfgs_state_equal(ours: dict, theirs: dict, where: str) -> None:
    assert list(ours) == list(theirs), where
    for name, tval in theirs.items():
        if isinstance(tval, list):
            assert len(ours[name]) == len(tval), f"{where} {name}"
            for a, b in zip(ours[name], tval):
                if b is None:
                    assert a is None
                else:
                    lbfgs_close(a, b.numpy(), f"{where} {name}")
        else:
            lbfgs_close(ours[name], tval.numpy() if isinstance(tval, torch.Tensor) else tval, f"{where} {name}")


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(line_search_fn="strong_wolfe"),
        dict(lr=0.5, max_iter=4, history_size=3),
        dict(max_iter=6, history_size=2, line_search_fn="strong_wolfe", maximize=True),
        dict(lr=0.8, max_iter=5, max_eval=6, tolerance_change=1e-5, line_search_fn="strong_wolfe"),
    ],
    ids=str,
)
def test_lbfgs_iterates_match_torch(kw):
    """Several step(closure) calls minimise the same function; the parameters, losses and the
    whole state (history included) agree with torch's after every call."""
    mp, tp, mopt, topt, mclosure, tclosure = lbfgs_pair(kw)
    losses = []
    for call in range(4):
        ml, tl = mopt.step(mclosure), topt.step(tclosure)
        losses.append(float(ml))
        np.testing.assert_allclose(float(ml), float(tl.detach()), rtol=1e-9)
        for m, p in zip(mp, tp):
            lbfgs_close(m.numpy(), p.detach().numpy(), f"call {call}")
        assert_lbfgs_state_equal(mopt.state[mp[0]], topt.state[tp[0]], f"call {call}")
    final = float(mclosure())
    assert (final > losses[0]) if kw.get("maximize") else (final < losses[0])  # it does optimise


@settings(max_examples=10, deadline=None)
@given(
    lr=st.floats(0.1, 1.0),
    max_iter=st.integers(1, 8),
    history_size=st.integers(1, 5),
    wolfe=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_lbfgs_random_settings(lr, max_iter, history_size, wolfe, seed):
    kw = dict(lr=lr, max_iter=max_iter, history_size=history_size, line_search_fn="strong_wolfe" if wolfe else None)
    mp, tp, mopt, topt, mclosure, tclosure = lbfgs_pair(kw, seed)
    for _ in range(3):
        mopt.step(mclosure)
        topt.step(tclosure)
        for m, p in zip(mp, tp):
            lbfgs_close(m.numpy(), p.detach().numpy(), "params")
    assert mopt.state[mp[0]]["func_evals"] == topt.state[tp[0]]["func_evals"]
    assert mopt.state[mp[0]]["n_iter"] == topt.state[tp[0]]["n_iter"]


def test_lbfgs_state_dict_layout_and_round_trip(tmp_path):
    kw = dict(max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    mp, tp, mopt, topt, mclosure, tclosure = lbfgs_pair(kw, seed=3)
    for _ in range(2):
        mopt.step(mclosure)
        topt.step(tclosure)
    ours, theirs = mopt.state_dict(), topt.state_dict()
    assert list(ours["state"]) == list(theirs["state"]) == [0]
    assert_lbfgs_state_equal(ours["state"][0], theirs["state"][0], "state dict")
    assert [list(g) for g in ours["param_groups"]] == [list(g) for g in theirs["param_groups"]]
    assert all(og[k] == tg[k] for og, tg in zip(ours["param_groups"], theirs["param_groups"]) for k in og)

    mc.save({"params": [p.numpy() for p in mp], "optimizer": ours}, tmp_path / "ckpt")
    mopt.step(mclosure)  # the uninterrupted run
    mopt.step(mclosure)
    ckpt = mc.load(tmp_path / "ckpt")
    fresh = [mc.nn.Parameter(a) for a in ckpt["params"]]
    opt2 = LBFGS(fresh, lr=5.0)
    opt2.load_state_dict(ckpt["optimizer"])

    def closure2():
        opt2.zero_grad()
        loss = lbfgs_loss(mc, *fresh)
        loss.backward()
        return loss

    opt2.step(closure2)
    opt2.step(closure2)
    for a, b in zip(mp, fresh):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_lbfgs_checks_like_torch():
    a, b = mc.nn.Parameter(np.ones(2)), mc.nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="parameter groups"):
        LBFGS([{"params": [a]}, {"params": [b]}])
    opt = LBFGS([a], line_search_fn="backtracking")  # torch, too, only refuses it in step
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        opt.step(lambda: (a * a).sum())
    assert (
        LBFGS([a], max_iter=8).defaults["max_eval"]
        == torch.optim.LBFGS([torch.ones(2)], max_iter=8).defaults["max_eval"]
    )


def test_lbfgs_tensor_lr_matches_torch():
    kw = dict(lr=0.7, max_iter=4, history_size=3, line_search_fn="strong_wolfe")
    mp, tp, _, _, _, _ = lbfgs_pair(kw, seed=2)
    mopt = LBFGS(mp, **{**kw, "lr": mc.tensor(np.array(0.7))})
    topt = torch.optim.LBFGS(tp, **{**kw, "lr": torch.tensor(0.7, dtype=torch.float64)})
    for wolfe in ("strong_wolfe", None):
        mopt.param_groups[0]["line_search_fn"] = topt.param_groups[0]["line_search_fn"] = wolfe
        for _ in range(2):
            mopt.step(lambda: lbfgs_step_loss(mc, mopt, mp))
            topt.step(lambda: lbfgs_step_loss(torch, topt, tp))
            for m, p in zip(mp, tp):
                lbfgs_close(m.numpy(), p.detach().numpy(), f"params, line search {wolfe}")


def lbfgs_step_loss(lib, opt, params):
    opt.zero_grad()
    loss = lbfgs_loss(lib, *params)
    loss.backward()
    return loss


@pytest.mark.parametrize("wolfe", [None, "strong_wolfe"])
def test_lbfgs_float_closure_and_a_parameter_without_gradient(wolfe):
    """A closure returning a Python float works as one returning a Tensor (step returns it as it
    is); a parameter the loss never uses keeps a None gradient, counts as zeros and stays put."""
    kw = dict(max_iter=5, history_size=3, line_search_fn=wolfe)
    mp, tp, _, _, _, _ = lbfgs_pair(kw, seed=4)
    mp.append(mc.nn.Parameter(np.ones((2, 2))))
    tp.append(torch.nn.Parameter(torch.ones(2, 2, dtype=torch.float64)))
    mopt, topt = LBFGS(mp, **kw), torch.optim.LBFGS(tp, **kw)
    for _ in range(2):
        ml = mopt.step(lambda: float(lbfgs_step_loss(mc, mopt, mp[:3]).item()))
        tl = topt.step(lambda: float(lbfgs_step_loss(torch, topt, tp[:3]).item()))
        assert type(ml) is float and ml == pytest.approx(tl, rel=1e-12)
        for m, p in zip(mp, tp):
            lbfgs_close(m.numpy(), p.detach().numpy(), "params")
    assert mp[3].grad is None and np.array_equal(mp[3].numpy(), np.ones((2, 2)))
    assert mopt.state[mp[0]]["func_evals"] == topt.state[tp[0]]["func_evals"]


def test_lbfgs_without_parameters_returns_the_loss():
    """torch skips the step of an empty group but still calls the closure for the loss."""
    calls = []

    def closure():
        calls.append(1)
        return 3.0

    assert torch.optim.LBFGS([{"params": []}]).step(closure) == 3.0
    assert LBFGS([{"params": []}]).step(closure) == 3.0
    assert len(calls) == 2


def test_lbfgs_resumes_from_a_torch_state_dict():
    kw = dict(max_iter=3, history_size=2, line_search_fn="strong_wolfe")
    mp, tp, _, topt, _, tclosure = lbfgs_pair(kw, seed=5)
    topt.step(tclosure)
    topt.step(tclosure)
    for m, p in zip(mp, tp):
        m.array[...] = p.detach().numpy()
    mopt = LBFGS(mp, lr=3.0)
    mopt.load_state_dict(torch_to_numpy(topt.state_dict()))
    for _ in range(2):
        mopt.step(lambda: lbfgs_step_loss(mc, mopt, mp))
        topt.step(tclosure)
        for m, p in zip(mp, tp):
            lbfgs_close(m.numpy(), p.detach().numpy(), "params")
    assert_lbfgs_state_equal(mopt.state[mp[0]], topt.state[tp[0]], "state")


def lbfgs_on(device: str, target: np.ndarray) -> tuple[mc.nn.Parameter, LBFGS]:
    p = mc.nn.Parameter(mc.tensor(np.zeros(5, dtype=np.float32), device=device))
    t = mc.tensor(target, device=device)
    opt = LBFGS([p], history_size=3, max_iter=5, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((p - t) ** 4).sum() + ((p - t) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(2):
        opt.step(closure)
    return p, opt


@pytest.mark.parametrize("device", devices())
def test_lbfgs_state_lives_on_param_device(device):
    target = np.random.default_rng(4).standard_normal(5).astype(np.float32)
    cpu, _ = lbfgs_on("cpu", target)
    p, opt = lbfgs_on(device, target)
    for v in opt.state[p]["old_dirs"] + [opt.state[p]["d"], opt.state[p]["prev_flat_grad"]]:
        assert mc.backend.device_of(v) == p.device and v.dtype == np.float32
    np.testing.assert_allclose(p.numpy(), cpu.numpy(), rtol=1e-4, atol=1e-5)
    sd = opt.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd["state"][0]["old_dirs"])


def _swap_setup(lib, opt_cls, w0: np.ndarray, b0: np.ndarray, x: np.ndarray):
    """A linear layer (float64 w0, b0) and ``opt_cls`` of ``lib`` after one step on ``x``."""
    w, b = lib.tensor(w0, requires_grad=True), lib.tensor(b0, requires_grad=True)
    opt = opt_cls([{"params": [w]}, {"params": [b], "lr": 0.05}], lr=0.1)
    ((lib.tensor(x) @ w.T + b) ** 2).sum().backward()
    opt.step()
    return w, b, opt


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_swap_in_optimizer_params_and_state_matches_torch(name: str) -> None:
    rng = np.random.default_rng(3)
    w0, b0, x = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal((4, 2))
    kw = {"momentum": 0.9} if name == "SGD" else {}
    results = {}
    for lib in (torch, mc):
        w, b, opt = _swap_setup(lib, functools.partial(getattr(lib.optim, name), **kw), w0, b0, x)
        saved = opt.state_dict()  # torch's holds the live tensors: the swap-in state gets copies
        osd = {
            "state": {
                k: {n: v.clone() if lib is torch else v for n, v in s.items()} for k, s in saved["state"].items()
            },
            "param_groups": [dict(g) for g in saved["param_groups"]],
        }
        osd["param_groups"][0]["lr"] = 0.5
        params = {"w": lib.tensor(w0 + 1, requires_grad=True), "b": lib.tensor(b0 - 1, requires_grad=True)}
        for p in params.values():
            p.grad = lib.ones_like(p)
        live_groups, live_w = [g["params"] for g in opt.param_groups], w.detach().numpy().copy()
        with lib.optim.swap_in_optimizer_params_and_state(opt, params, osd):
            assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["params"][0] is params["w"]
            opt.step()
        assert opt.param_groups[0]["lr"] == 0.1 and [g["params"] for g in opt.param_groups] == live_groups
        assert all(p in opt.state for p in (w, b)) and len(opt.state) == 2
        np.testing.assert_array_equal(w.detach().numpy(), live_w)  # the live parameters are untouched
        results[lib] = (params, osd)
    (tp, tosd), (mp, mosd) = results[torch], results[mc]
    for n in tp:
        np.testing.assert_allclose(mp[n].detach().numpy(), tp[n].detach().numpy(), rtol=1e-12, atol=1e-12)
    for k, state in tosd["state"].items():  # the step's edits reached the given state, as torch's
        assert state.keys() == mosd["state"][k].keys()
        for n, v in state.items():
            np.testing.assert_allclose(np.asarray(mosd["state"][k][n]), v.numpy(), rtol=1e-12, atol=1e-12)


def test_swap_in_optimizer_params_and_state_errors_as_torch() -> None:
    rng = np.random.default_rng(4)
    w0, b0, x = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal((4, 2))
    for lib in (torch, mc):
        fresh = lib.optim.Adam([lib.zeros(2, requires_grad=True)])
        with pytest.raises(RuntimeError, match="requires initialized optimizer state"):
            with lib.optim.swap_in_optimizer_params_and_state(fresh, {}, {"state": {}, "param_groups": []}):
                pass
        w, b, opt = _swap_setup(lib, lib.optim.Adam, w0, b0, x)
        params = {"w": w.detach().clone(), "b": b.detach().clone()}
        good = opt.state_dict()
        bad_cases = [
            ("not a dict", "DCP-style"),
            ({"state": [], "param_groups": good["param_groups"]}, "be a dict mapping"),
            ({"state": good["state"], "param_groups": good["param_groups"][:1]}, "different number of parameter"),
            ({"state": {**good["state"], 7: {}}, "param_groups": good["param_groups"]}, "extra keys"),
            ({"state": good["state"], "param_groups": [{**good["param_groups"][0], "x": 1}, good["param_groups"][1]]},
             "Keys only in swap-in"),
        ]  # fmt: skip
        for osd, match in bad_cases:
            with pytest.raises(RuntimeError, match=match):
                with lib.optim.swap_in_optimizer_params_and_state(opt, params, osd):
                    pass
        with pytest.raises(RuntimeError, match="match optimizer.param_groups ordering"):
            with lib.optim.swap_in_optimizer_params_and_state(opt, {"w": params["w"]}, good):
                pass
