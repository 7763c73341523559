"""Optimisers against torch.optim: parameters after every step, state dicts, resuming, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.optim import SGD, Adam, AdamW, RMSprop

SHAPES = [(3, 4), (5,), (), (0, 3), (2, 1, 3)]
TOL = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=1e-6, atol=1e-6)}
TORCH = {SGD: torch.optim.SGD, Adam: torch.optim.Adam, AdamW: torch.optim.AdamW, RMSprop: torch.optim.RMSprop}

CASES = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.5)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.1, weight_decay=0.1)),
    (SGD, dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True)),
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)),
    (SGD, dict(lr=0.1, momentum=0.7, dampening=0.3, weight_decay=0.01, maximize=True)),
    (Adam, dict(lr=0.05)),
    (Adam, dict(lr=0.05, weight_decay=0.1)),
    (Adam, dict(lr=0.05, amsgrad=True)),
    (Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True)),
    (Adam, dict(lr=0.05, betas=(0.3, 0.9), eps=1e-6)),  # beta1 < 0.5: torch's other lerp branch
    (Adam, dict(lr=0.05, maximize=True)),
    (AdamW, dict(lr=0.05)),
    (AdamW, dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    (AdamW, dict(lr=0.05, betas=(0.8, 0.95), maximize=True)),
    (RMSprop, dict(lr=0.01)),
    (RMSprop, dict(lr=0.01, centered=True)),
    (RMSprop, dict(lr=0.01, momentum=0.9)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-4, maximize=True)),
]


def case_id(case: tuple) -> str:
    cls, kw = case
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def grad_sequence(params: list[np.ndarray], steps: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[np.asarray(rng.standard_normal(p.shape), dtype=p.dtype) for p in params] for _ in range(steps)]


def run_against_torch(cls, kwargs, dtype=np.float64, steps=10, seed=0, shapes=SHAPES) -> None:
    """Same initial params and gradients in both; compare every parameter after every step.
    The gradient is 0.5 * p + noise, a quadratic loss with a noisy minimum."""
    rng = np.random.default_rng(seed)
    init = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shapes]
    noise = grad_sequence(init, steps, seed + 1)
    mp = [mc.nn.Parameter(a.copy()) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt, topt = cls(mp, **kwargs), TORCH[cls](tp, **kwargs)
    for t in range(steps):
        for m, p, n in zip(mp, tp, noise[t]):
            g = np.asarray(0.5 * m.numpy() + n, dtype=dtype)
            m.grad = mc.Tensor(g.copy())
            p.grad = torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        for i, (m, p) in enumerate(zip(mp, tp)):
            assert m.dtype == np.dtype(dtype)
            np.testing.assert_allclose(
                m.numpy(), p.detach().numpy(), **TOL[dtype], err_msg=f"{case_id((cls, kwargs))} step {t} param {i}"
            )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_steps_match_torch(case, dtype):
    run_against_torch(*case, dtype=dtype)


@settings(max_examples=25, deadline=None)
@given(
    lr=st.floats(1e-3, 0.5),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    dampening=st.sampled_from([0.0, 0.1, 0.9]),
    weight_decay=st.sampled_from([0.0, 1e-3, 0.2]),
    nesterov=st.booleans(),
    maximize=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sgd_random_settings(lr, momentum, dampening, weight_decay, nesterov, maximize, seed):
    if nesterov and (momentum == 0 or dampening != 0):
        dampening, momentum = 0.0, momentum or 0.9
    kw = dict(
        lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov, maximize=maximize
    )
    run_against_torch(SGD, kw, seed=seed, shapes=[(4, 3), (2,)])


@settings(max_examples=25, deadline=None)
@given(
    cls=st.sampled_from([Adam, AdamW]),
    lr=st.floats(1e-4, 0.2),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999),
    eps=st.sampled_from([1e-8, 1e-6, 1e-3]),
    weight_decay=st.sampled_from([0.0, 1e-2, 0.3]),
    amsgrad=st.booleans(),
    maximize=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_adam_random_settings(cls, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, seed):
    kw = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
    run_against_torch(cls, kw, seed=seed, shapes=[(4, 3), (2,)])


@settings(max_examples=25, deadline=None)
@given(
    lr=st.floats(1e-4, 0.1),
    alpha=st.floats(0.5, 0.999),
    eps=st.sampled_from([1e-8, 1e-4]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    centered=st.booleans(),
    maximize=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_rmsprop_random_settings(lr, alpha, eps, weight_decay, momentum, centered, maximize, seed):
    kw = dict(
        lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered, maximize=maximize
    )
    run_against_torch(RMSprop, kw, seed=seed, shapes=[(4, 3), (2,)])


def test_training_loop_with_autograd_matches_torch():
    """A real loop: Linear + MSE, backward, momentum SGD with weight decay, 10 steps."""
    mc.manual_seed(0)
    model = mc.nn.Linear(4, 3).double()
    tmodel = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        tmodel.weight.copy_(torch.from_numpy(model.weight.numpy()))
        tmodel.bias.copy_(torch.from_numpy(model.bias.numpy()))
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True)
    rng = np.random.default_rng(1)
    for _ in range(10):
        x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
        opt.zero_grad()
        mc.nn.functional.mse_loss(model(mc.tensor(x)), mc.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.mse_loss(tmodel(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        topt.step()
    np.testing.assert_allclose(model.weight.numpy(), tmodel.weight.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.bias.numpy(), tmodel.bias.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_param_groups_match_torch():
    """Two groups with their own settings, and a third added later with add_param_group."""
    rng = np.random.default_rng(3)
    init = [rng.standard_normal((3, 2)) for _ in range(3)]
    mp = [mc.nn.Parameter(a.copy()) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt = SGD([{"params": [mp[0]]}, {"params": mp[1], "lr": 0.01, "momentum": 0.5}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [tp[0]]}, {"params": tp[1], "lr": 0.01, "momentum": 0.5}], lr=0.1, momentum=0.9)
    for t in range(6):
        if t == 3:
            mopt.add_param_group({"params": [mp[2]], "nesterov": True})
            topt.add_param_group({"params": [tp[2]], "nesterov": True})
        for m, p in zip(mp, tp):
            g = rng.standard_normal(m.shape)
            m.grad, p.grad = mc.Tensor(g), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        for m, p in zip(mp, tp):
            np.testing.assert_allclose(m.numpy(), p.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert [g["lr"] for g in mopt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert [g["nesterov"] for g in mopt.param_groups] == [False, False, True]


@pytest.mark.parametrize("case", [CASES[1], CASES[11], CASES[15], CASES[20], CASES[0]], ids=case_id)
def test_state_dict_layout_matches_torch(case):
    cls, kw = case
    rng = np.random.default_rng(0)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    mp = [mc.nn.Parameter(a.copy()) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    mopt = cls([{"params": [mp[0]]}, {"params": [mp[1]], "lr": 0.003}], **kw)
    topt = TORCH[cls]([{"params": [tp[0]]}, {"params": [tp[1]], "lr": 0.003}], **kw)
    for _ in range(3):
        for m, p in zip(mp, tp):
            g = rng.standard_normal(m.shape)
            m.grad, p.grad = mc.Tensor(g), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
    ours, theirs = mopt.state_dict(), topt.state_dict()
    assert list(ours) == ["state", "param_groups"]
    assert list(ours["state"]) == list(theirs["state"])
    for i, tstate in theirs["state"].items():
        assert list(ours["state"][i]) == list(tstate)
        for name, tval in tstate.items():
            np.testing.assert_allclose(np.asarray(ours["state"][i][name]), tval.numpy(), rtol=1e-12, atol=1e-14)
    for og, tg in zip(ours["param_groups"], theirs["param_groups"]):
        assert list(og) == list(tg)  # torch's settings, flags included, in torch's order
        assert all(og[k] == tg[k] for k in og)


@pytest.mark.parametrize("case", [CASES[3], CASES[11], CASES[16], CASES[20]], ids=case_id)
def test_state_dict_round_trip_resumes_exactly(case, tmp_path):
    """10 steps in one go equal 5 steps, save model+optimizer, load into fresh objects, 5 more."""
    cls, kw = case
    rng = np.random.default_rng(5)
    init = [rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(4).astype(np.float32)]
    grads = grad_sequence(init, 10, 6)

    def run(params, opt, steps):
        for gs in steps:
            for p, g in zip(params, gs):
                p.grad = mc.Tensor(g)
            opt.step()

    full = [mc.nn.Parameter(a.copy()) for a in init]
    run(full, cls(full, **kw), grads)

    first = [mc.nn.Parameter(a.copy()) for a in init]
    opt = cls(first, **kw)
    run(first, opt, grads[:5])
    mc.save({"params": [p.numpy() for p in first], "optimizer": opt.state_dict()}, tmp_path / "ckpt")
    ckpt = mc.load(tmp_path / "ckpt")
    second = [mc.nn.Parameter(a) for a in ckpt["params"]]
    opt2 = cls(second, lr=123.0)  # hyper-parameters come from the state dict
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    run(second, opt2, grads[5:])
    for a, b in zip(full, second):
        assert b.dtype == np.float32
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for s in opt2.state.values():
        assert all(v.dtype == np.float32 for v in s.values() if isinstance(v, np.ndarray))


def test_state_dict_is_a_snapshot_and_load_copies():
    p = mc.nn.Parameter(np.ones(3))
    opt = Adam([p], lr=0.1)
    p.grad = mc.Tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    before = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)
    assert sd["state"][0]["step"] == 1
    opt.load_state_dict(sd)
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)


def test_updates_in_place_without_touching_grads():
    """p.array keeps its identity; grads (shared here by two params) are never written."""
    rng = np.random.default_rng(0)
    for cls, kw in CASES:
        ps = [mc.nn.Parameter(rng.standard_normal(4).astype(np.float32)) for _ in range(2)]
        opt = cls(ps, **kw)
        shared = mc.Tensor(rng.standard_normal(4).astype(np.float32))
        saved = shared.numpy()
        arrays = [p.array for p in ps]
        for _ in range(3):
            ps[0].grad = ps[1].grad = shared
            opt.step()
        np.testing.assert_array_equal(shared.array, saved, err_msg=case_id((cls, kw)))
        assert all(p.array is a for p, a in zip(ps, arrays))
        assert all(p.dtype == np.float32 and p.grad_fn is None and p.requires_grad for p in ps)
        for state in opt.state.values():
            for v in state.values():
                if isinstance(v, np.ndarray):
                    assert v.dtype == np.float32 and v.shape == (4,)


def test_params_without_grad_are_skipped():
    a, b = mc.nn.Parameter(np.ones(2)), mc.nn.Parameter(np.ones(2))
    opt = Adam([a, b], lr=0.1)
    a.grad = mc.Tensor(np.ones(2))
    opt.step()
    np.testing.assert_array_equal(b.numpy(), np.ones(2))
    assert b not in opt.state and opt.state[a]["step"] == 1
    assert list(opt.state_dict()["state"]) == [0]


def test_gradient_of_wrong_shape_raises():
    p = mc.nn.Parameter(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="assign a gradient of size"):  # torch's check on assignment
        p.grad = mc.Tensor(np.ones(3))
    p._grad = mc.Tensor(np.ones(3))  # past that check, step has its own
    with pytest.raises(ValueError, match=r"SGD.step: a parameter of shape \(2, 3\) has a gradient of shape \(3,\)"):
        SGD([p], lr=0.1).step()


def test_plain_sgd_keeps_no_state():
    p = mc.nn.Parameter(np.ones(2))
    opt = SGD([p], lr=0.5)
    p.grad = mc.Tensor(np.full(2, 2.0))
    opt.step()
    np.testing.assert_array_equal(p.numpy(), np.zeros(2))
    assert opt.state_dict()["state"] == {}


def test_zero_grad():
    p = mc.nn.Parameter(np.ones(2))
    opt = SGD([p], lr=0.1)
    old = mc.Tensor(np.ones(2))
    p.grad = old
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(2))
    np.testing.assert_array_equal(old.numpy(), np.zeros(2))  # same Tensor, new zero array
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_loss():
    p = mc.nn.Parameter(np.array([2.0]))
    opt = SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 4.0
    np.testing.assert_array_equal(p.numpy(), [1.0])


def test_repr_lists_groups():
    text = repr(Adam([mc.nn.Parameter(np.ones(1))], lr=0.5))
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.5" in text


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: SGD([], lr=0.1), "empty parameter list"),
        (lambda p: SGD([p, p], lr=0.1), "same parameter twice"),
        (lambda p: SGD([{"params": [p]}, {"params": [p]}], lr=0.1), "more than one parameter group"),
        (lambda p: SGD([p], lr=-1.0), "learning rate"),
        (lambda p: SGD([p], lr=0.1, momentum=-0.5), "momentum"),
        (lambda p: SGD([p], lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda p: Adam([p], betas=(1.0, 0.9)), "beta parameter at index 0"),
        (lambda p: Adam([p], eps=-1.0), "epsilon"),
        (lambda p: AdamW([p], weight_decay=-1.0), "weight_decay"),
        (lambda p: RMSprop([p], alpha=-0.1), "alpha"),
        (lambda p: SGD([p * 2], lr=0.1), "non-leaf"),
    ],
)
def test_bad_construction_raises_value_error(make, match):
    p = mc.nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match=match):
        make(p)


def test_non_leaf_that_retains_grad_is_accepted_as_torch():
    """torch optimises a non-leaf whose gradient is retained (and refuses one that is not)."""
    values = {}
    for lib in (mc, torch):
        leaf = lib.tensor([1.0, -2.0], requires_grad=True)
        mid = leaf * 3
        mid.retain_grad()
        opt = lib.optim.SGD([mid], lr=0.1, momentum=0.5)
        for _ in range(2):
            (mid * mid).sum().backward(retain_graph=True)
            opt.step()
        values[lib.__name__] = np.array(mid.detach().tolist())
    np.testing.assert_allclose(values["minicnn"], values["torch"], rtol=1e-6)


@pytest.mark.parametrize("params", [lambda p: p, lambda p: {p}, lambda p: [np.ones(2)]])
def test_bad_param_types_raise_type_error(params):
    with pytest.raises(TypeError):
        SGD(params(mc.nn.Parameter(np.ones(2))), lr=0.1)


def test_load_state_dict_mismatch_raises():
    ps = [mc.nn.Parameter(np.ones(2)) for _ in range(3)]
    sd = SGD([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="2 parameter groups"):
        SGD(ps, lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 2 parameters"):
        SGD([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1).load_state_dict(sd)
    sd["state"] = {7: {"momentum_buffer": np.ones(2)}}
    with pytest.raises(ValueError, match="state for parameter 7"):
        SGD([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        SGD(ps, lr=0.1).load_state_dict({"state": {}})


def test_load_state_dict_from_torch_converted_state():
    """A torch state dict with tensors turned into arrays loads (step as a 0-d float array)."""
    rng = np.random.default_rng(2)
    init, g = rng.standard_normal(3), rng.standard_normal(3)
    tp = torch.nn.Parameter(torch.from_numpy(init.copy()))
    topt = torch.optim.Adam([tp], lr=0.1)
    tp.grad = torch.from_numpy(g.copy())
    topt.step()
    tsd = topt.state_dict()
    converted = {
        "state": {k: {n: v.numpy() for n, v in s.items()} for k, s in tsd["state"].items()},
        "param_groups": tsd["param_groups"],
    }
    p = mc.nn.Parameter(tp.detach().numpy().copy())
    opt = Adam([p])
    opt.load_state_dict(converted)
    assert opt.state[p]["step"] == 1
    p.grad = mc.Tensor(g)
    tp.grad = torch.from_numpy(g.copy())
    opt.step()
    topt.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("case", [CASES[7], CASES[11], CASES[20]], ids=case_id)
def test_state_lives_on_param_device(case, device):
    """On any device the update equals the CPU one, and the buffers sit beside the parameter."""
    cls, kw = case
    rng = np.random.default_rng(4)
    init = rng.standard_normal(5).astype(np.float32)
    grads = [rng.standard_normal(5).astype(np.float32) for _ in range(4)]
    cpu, dev = mc.nn.Parameter(init.copy()), mc.nn.Parameter(mc.tensor(init.copy(), device=device))
    opt_cpu, opt_dev = cls([cpu], **kw), cls([dev], **kw)
    for g in grads:
        cpu.grad, dev.grad = mc.Tensor(g), mc.tensor(g, device=device)
        opt_cpu.step()
        opt_dev.step()
    assert dev.device == mc.tensor(init, device=device).device
    for v in opt_dev.state[dev].values():
        if not isinstance(v, int):
            assert mc.backend.device_of(v) == dev.device and v.dtype == np.float32
    np.testing.assert_allclose(dev.numpy(), cpu.numpy(), rtol=1e-5, atol=1e-6)
    sd = opt_dev.state_dict()
    assert all(isinstance(v, (int, np.ndarray)) for v in sd["state"][0].values())


FLAGS = {
    SGD: dict(foreach=None, differentiable=False, fused=None),
    Adam: dict(foreach=None, capturable=False, differentiable=False, fused=None),
    AdamW: dict(foreach=None, capturable=False, differentiable=False, fused=None),
    RMSprop: dict(capturable=False, foreach=None, differentiable=False),
}


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
def test_torch_flags_accepted_and_stored_like_torch(cls):
    """foreach (any value), fused=False/None, differentiable=False, capturable=False, maximize:
    accepted; defaults and param groups hold them in torch's order."""
    mp, tp = [mc.nn.Parameter(np.ones(2))], [torch.nn.Parameter(torch.ones(2))]
    for kw in ({}, dict(foreach=True), dict(foreach=False, maximize=True), {**FLAGS[cls], "maximize": False}):
        ours, theirs = cls(mp, lr=0.1, **kw), TORCH[cls](tp, lr=0.1, **kw)
        assert list(ours.defaults.items()) == list(theirs.defaults.items())
        assert [k for k in ours.param_groups[0]] == [k for k in theirs.param_groups[0]]


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
@pytest.mark.parametrize("flag", ["fused", "differentiable", "capturable"])
def test_unsupported_torch_flags_raise_not_implemented(cls, flag):
    p = mc.nn.Parameter(np.ones(2))
    if flag not in FLAGS[cls]:  # torch has no such argument for this optimiser either
        with pytest.raises(TypeError):
            cls([p], lr=0.1, **{flag: False})
        return
    with pytest.raises(NotImplementedError, match=f"{flag}=True"):
        cls([p], lr=0.1, **{flag: True})


def test_state_is_a_defaultdict_like_torch():
    mp = [mc.nn.Parameter(np.ones(2)) for _ in range(2)]
    tp = [torch.nn.Parameter(torch.ones(2, dtype=torch.float64)) for _ in range(2)]
    ours, theirs = Adam(mp, lr=0.1), torch.optim.Adam(tp, lr=0.1)
    assert ours.state[mp[0]] == theirs.state[tp[0]] == {}
    assert len(ours.state) == len(theirs.state) == 1
    assert ours.state_dict()["state"] == {k: v for k, v in theirs.state_dict()["state"].items()} == {0: {}}
    for m, t in zip(mp, tp):
        m.grad, t.grad = mc.tensor(np.full(2, 0.5)), torch.full((2,), 0.5, dtype=torch.float64)
    ours.step()
    theirs.step()
    assert list(ours.state_dict()["state"]) == list(theirs.state_dict()["state"]) == [0, 1]
    assert list(ours.state[mp[0]]) == list(theirs.state[tp[0]])
    ours.load_state_dict(ours.state_dict())
    assert ours.state[mc.nn.Parameter(np.ones(1))] == {}  # still a defaultdict after loading
    assert list(ours.state_dict()["state"]) == [0, 1]  # the stranger is in no group


def test_old_state_dict_without_torch_flags_loads():
    """A state dict saved before the flags existed gets them from the defaults, as torch's __setstate__."""
    p = mc.nn.Parameter(np.ones(2))
    opt = Adam([p], lr=0.1)
    sd = opt.state_dict()
    for key in ("foreach", "capturable", "differentiable", "fused", "decoupled_weight_decay"):
        del sd["param_groups"][0][key]
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is False and opt.param_groups[0]["fused"] is None
    p.grad = mc.tensor(np.ones(2))
    opt.step()


def test_named_parameters_and_repr_like_torch():
    """torch 2.6+: (name, parameter) pairs give each group 'param_names' (in the state dict too;
    saved names win on loading, else the optimiser's stay); mixing named and unnamed raises
    ValueError; repr separates the groups by a blank line."""

    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 1))
        opt = lib.optim.Adam(m[0].named_parameters(prefix="0"), lr=0.1)
        for bad in (
            lambda: opt.add_param_group({"params": list(m[1].parameters())}),
            lambda: lib.optim.SGD([("a", m[0].weight), m[0].bias], lr=0.1),
        ):
            with pytest.raises(ValueError):
                bad()
        opt.add_param_group({"params": list(m[1].named_parameters()), "lr": 0.5})
        for p in m.parameters():
            p.grad = lib.ones(p.shape)
        opt.step()
        sd = opt.state_dict()
        plain = lib.optim.Adam([{"params": list(m[0].parameters())}, {"params": list(m[1].parameters())}])
        plain.load_state_dict(sd)
        saved = plain.state_dict()
        for g in saved["param_groups"]:
            del g["param_names"]
        named = lib.optim.Adam([{"params": list(c.named_parameters(prefix="x"))} for c in m])
        named.load_state_dict(saved)
        return [
            sd["param_groups"],
            sorted(sd["state"]),
            [g.get("param_names") for g in plain.param_groups],
            [g.get("param_names") for g in named.param_groups],
            repr(named),
        ]

    assert run(mc) == run(torch)


def test_step_hooks_like_torch():
    """register_step_pre_hook / register_step_post_hook and the global
    register_optimizer_step_*_hook: call order, ``args`` (starting with the optimiser) and
    ``kwargs``, a pre-hook's (args, kwargs) replacement, removal, RuntimeError on a bad result."""
    import importlib  # noqa: PLC0415

    def run(lib):
        module = importlib.import_module(f"{lib.__name__}.optim.optimizer")
        calls = []
        p = lib.nn.Parameter(lib.ones(2))
        out = []
        for cls in (lib.optim.SGD, lib.optim.LBFGS):
            opt = cls([p], lr=0.1)

            def closure():
                opt.zero_grad()  # noqa: B023
                loss = (p * p).sum()
                loss.backward()
                return loss

            handles = [
                module.register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("gpre", len(a), sorted(k)))),
                opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", a[0] is o))),
                opt.register_step_post_hook(lambda o, a, k: calls.append(("post", len(a), sorted(k)))),
                module.register_optimizer_step_post_hook(lambda o, a, k: calls.append("gpost")),
                opt.register_step_pre_hook(lambda o, a, k: (a, {"closure": closure}) if not k else None),  # noqa: B023
            ]
            p.grad = lib.ones(2)
            out.append(opt.step() is None)
            for h in handles:
                h.remove()
            p.grad = lib.ones(2)
            opt.step(closure)
            out.append(list(calls))
            calls.clear()
            opt.register_step_pre_hook(lambda o, a, k: 5)
            with pytest.raises(RuntimeError):
                opt.step(closure)
        return out

    assert run(mc) == run(torch)


def test_step_hooks_run_once_for_a_subclass_calling_super_step():
    """A subclass's step that calls ``super().step()`` runs the hooks once (torch: twice once an
    instance of the parent class has been built, since it then wraps both steps)."""
    calls = []

    class MyAdam(mc.optim.Adam):
        def step(self, closure=None):
            calls.append("own")
            return super().step(closure)

    p = mc.nn.Parameter(mc.ones(2))
    mc.optim.Adam([mc.nn.Parameter(mc.ones(1))])  # the parent class used too
    opt = MyAdam([p], lr=0.1)
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    p.grad = mc.ones(2)
    opt.step()
    assert calls == ["pre", "own", "post"]


def test_adafactor_groups_added_after_loading_have_torchs_keys():
    """torch's load_state_dict gives an optimiser without a 'differentiable' default (Adafactor)
    one, so groups added afterwards carry the key."""

    def run(lib):
        p, q = lib.nn.Parameter(lib.ones(2, 2)), lib.nn.Parameter(lib.ones(2, 2))
        opt = lib.optim.Adafactor([p])
        opt.load_state_dict(opt.state_dict())
        opt.add_param_group({"params": [q]})
        return [sorted(g) for g in opt.param_groups], sorted(opt.defaults)

    assert run(mc) == run(torch)


def _state_dict_hook_calls(lib, cls):
    """State-dict and load-state-dict hooks on ``cls``: what each receives, in which order
    (``prepend``), what their results replace, removal; the calls and the loaded lrs."""
    p = lib.nn.Parameter(lib.tensor([1.0, 2.0, 3.0]))
    opt = cls([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    opt.step(closure)
    calls = []
    first = opt.register_state_dict_pre_hook(lambda o: calls.append(("pre", o is opt)))
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre-first"), prepend=True)

    def post(o, sd):
        calls.append(("post", sorted(sd)))
        sd["mark"] = 1  # in place

    def replace(o, sd):
        calls.append(("replace", sd.get("mark")))
        return {"state": sd["state"], "param_groups": sd["param_groups"], "new": True}

    opt.register_state_dict_post_hook(post)
    opt.register_state_dict_post_hook(replace)
    sd = opt.state_dict()
    calls.append(sorted(sd))
    first.remove()
    opt.state_dict()
    given = {"state": sd["state"], "param_groups": sd["param_groups"]}

    def load_pre(o, d):  # a shallow copy of the dict given, changed in place
        calls.append(("load-pre", d is given, sorted(d)))
        d["param_groups"] = [dict(g, lr=0.5) for g in d["param_groups"]]

    def load_replace(o, d):
        calls.append(("load-replace", d["param_groups"][0]["lr"]))
        return {"state": d["state"], "param_groups": [dict(g, lr=0.25) for g in d["param_groups"]]}

    opt.register_load_state_dict_pre_hook(load_pre)
    opt.register_load_state_dict_pre_hook(load_replace)
    opt.register_load_state_dict_post_hook(lambda o: calls.append(("load-post", o.param_groups[0]["lr"])))
    handle = opt.register_load_state_dict_post_hook(lambda o: calls.append("load-post-first"), prepend=True)
    opt.load_state_dict(given)
    handle.remove()
    opt.load_state_dict(given)
    calls.append(("given lr", given["param_groups"][0]["lr"]))
    calls.append(sorted(copy.deepcopy(opt).state_dict()))  # a copy leaves the hooks behind
    return calls


@pytest.mark.parametrize("name", ["Adam", "LBFGS"])
def test_state_dict_hooks_like_torch(name):
    """register_(load_)state_dict_pre/post_hook against torch's: arguments, order, prepend,
    results that replace the dict, removal; LBFGS (which extends the state dict) the same."""
    assert _state_dict_hook_calls(mc, getattr(mc.optim, name)) == _state_dict_hook_calls(
        torch, getattr(torch.optim, name)
    )


def test_state_dict_post_hook_result_is_what_state_dict_returns_and_loads_back():
    """A post hook's new dict is returned; a load pre-hook's converts it back, and the buffers load."""
    p = mc.nn.Parameter(mc.tensor([1.0, -2.0]))
    opt = mc.optim.Adam([p], lr=0.1)
    p.grad = mc.tensor([0.5, 0.25])
    opt.step()
    opt.register_state_dict_post_hook(lambda o, sd: {"wrapped": sd})
    saved = opt.state_dict()
    assert list(saved) == ["wrapped"]
    fresh = mc.optim.Adam([p], lr=0.1)
    fresh.register_load_state_dict_pre_hook(lambda o, d: d["wrapped"])
    fresh.load_state_dict(saved)
    np.testing.assert_array_equal(fresh.state[p]["exp_avg"], opt.state[p]["exp_avg"])
    assert fresh.state[p]["step"] == 1


def test_optimizer_hook_type_names_and_profile_hook_step_like_torch():
    """torch's class-level names: OptimizerPreHook / OptimizerPostHook, and profile_hook_step
    (a step wrapper that runs the step hooks)."""
    for name in ("OptimizerPreHook", "OptimizerPostHook", "profile_hook_step"):
        assert hasattr(mc.optim.Optimizer, name) and hasattr(torch.optim.Optimizer, name)
    calls = []

    class Plain(mc.optim.Optimizer):
        def _update(self, param, grad, state, group):
            param -= group["lr"] * grad

    p = mc.nn.Parameter(mc.ones(2))
    opt = Plain([p], {"lr": 0.5})
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    stepped = mc.optim.Optimizer.profile_hook_step(lambda self: calls.append("step"))
    stepped(opt)
    assert calls == ["pre", "step"]


def test_adagrad_share_memory_like_torch():
    """Adagrad.share_memory: every ``sum`` accumulator in shared memory, values kept, and the
    step still updates it in place (returns None, as torch's)."""
    p, tp = mc.nn.Parameter(mc.tensor([1.0, 2.0])), torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = mc.optim.Adagrad([p], initial_accumulator_value=0.5)
    topt = torch.optim.Adagrad([tp], initial_accumulator_value=0.5)
    assert opt.share_memory() is None and topt.share_memory() is None
    assert mc.Tensor(opt.state[p]["sum"]).is_shared() and topt.state[tp]["sum"].is_shared()
    shared = opt.state[p]["sum"]
    p.grad, tp.grad = mc.tensor([1.0, -1.0]), torch.tensor([1.0, -1.0])
    opt.step()
    topt.step()
    assert opt.state[p]["sum"] is shared
    np.testing.assert_allclose(shared, topt.state[tp]["sum"].numpy(), rtol=1e-6)
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6)
