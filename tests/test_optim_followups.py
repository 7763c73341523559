"""Follow-ups to the optimisers, against torch: a one-element Tensor lr in SGD, Adam, AdamW and
RMSprop; schedulers writing a Tensor lr in place; Parameter.__deepcopy__."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from conftest import devices
from torch.optim import swa_utils as tswa

import minicnn as mc
from minicnn.nn.module import Parameter
from minicnn.optim import adam_variants, lr_scheduler, optimizer, swa_utils
from minicnn.optim.adam import Adam, AdamW
from minicnn.optim.rmsprop import RMSprop
from minicnn.optim.sgd import SGD

TORCH = {SGD: torch.optim.SGD, Adam: torch.optim.Adam, AdamW: torch.optim.AdamW, RMSprop: torch.optim.RMSprop}
# settings that switch most branches on; each lr is replaced by a Tensor holding it
CASES = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.1, nesterov=True)),
    (SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True)),
    (Adam, dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    (Adam, dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (AdamW, dict(lr=0.05, betas=(0.8, 0.9))),
    (RMSprop, dict(lr=0.01)),
    (RMSprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CASES)]
TOL = dict(rtol=1e-10, atol=1e-12)


def state_close(ours: dict, theirs: dict, where: str, **tol) -> None:
    assert sorted(ours) == sorted(theirs), where
    for name, tval in theirs.items():
        expected = tval.numpy() if isinstance(tval, torch.Tensor) else np.asarray(tval)
        np.testing.assert_allclose(np.asarray(ours[name]), expected, **tol, err_msg=f"{where} {name}")


def tensor_lr_run(cls, kw, lr_shape, lr_dtype, param_dtype, device="cpu", tol=TOL, steps=6) -> None:
    """The same steps as torch's with ``lr`` a Tensor, also after it is changed in place."""
    rng = np.random.default_rng(3)
    shapes = [(3, 4), (5,)]
    init = [rng.standard_normal(s).astype(param_dtype) for s in shapes]
    mp = [mc.nn.Parameter(mc.tensor(a.copy(), device=device)) for a in init]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    lr0 = np.full(lr_shape, kw["lr"], dtype=lr_dtype)
    mlr, tlr = mc.tensor(lr0.copy()), torch.from_numpy(lr0.copy())
    mopt, topt = cls(mp, **{**kw, "lr": mlr}), TORCH[cls](tp, **{**kw, "lr": tlr})
    assert mopt.param_groups[0]["lr"] is mlr
    for t in range(steps):
        if t == 3:  # the next steps read the new value
            mlr.array[...] = kw["lr"] / 4
            tlr.fill_(kw["lr"] / 4)
        for m, p in zip(mp, tp):
            g = (0.5 * p.detach().numpy() + rng.standard_normal(p.shape)).astype(param_dtype)
            m.grad, p.grad = mc.tensor(g.copy(), device=device), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        for i, (m, p) in enumerate(zip(mp, tp)):
            where = f"{cls.__name__}({kw}) step {t} param {i}"
            assert m.dtype == param_dtype
            np.testing.assert_allclose(m.numpy(), p.detach().numpy(), **tol, err_msg=where)
            state_close(
                {k: mc.backend.to_numpy(v) if hasattr(v, "shape") else v for k, v in mopt.state[m].items()},
                topt.state[p],
                where,
                **tol,
            )
    for m, a in zip(mp, init):
        assert np.abs(m.numpy() - a).max() > 1e-3  # it moved (a Tensor lr was once a silent no-op)


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_tensor_lr_matches_torch(cls, kw):
    tensor_lr_run(cls, kw, lr_shape=(), lr_dtype=np.float64, param_dtype=np.float64)


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_float32_tensor_lr_of_shape_1x1_matches_torch(cls, kw):
    """A float32 lr is read at float32 precision (its .item()); torch's Adam even divides it by the
    bias correction in float32, hence rtol 1e-6 rather than float64's agreement to the last bits."""
    tensor_lr_run(cls, kw, lr_shape=(1, 1), lr_dtype=np.float32, param_dtype=np.float64, tol=dict(rtol=1e-6, atol=1e-9))


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_float32_params_with_a_tensor_lr_match_torch(cls, kw):
    tensor_lr_run(cls, kw, lr_shape=(1,), lr_dtype=np.float32, param_dtype=np.float32, tol=dict(rtol=1e-5, atol=1e-5))


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(("cls", "kw"), CASES[:3], ids=IDS[:3])
def test_sgd_tensor_lr_on_device_matches_torch(cls, kw, device):
    """On a GPU, SGD's multi-tensor CUDA kernel gets the lr as a float."""
    tensor_lr_run(
        cls,
        kw,
        lr_shape=(1,),
        lr_dtype=np.float64,
        param_dtype=np.float32,
        device=device,
        tol=dict(rtol=1e-5, atol=1e-6),
    )


def test_sgd_hands_its_kernels_a_float_lr():
    """sgd_step and the multi-tensor CUDA kernel take their settings from SGD._settings: the lr
    there is the float the Tensor holds now (the CUDA case above runs the kernel itself)."""
    lr = mc.tensor(np.array([[0.25]]))
    opt = SGD([mc.nn.Parameter(np.ones(3))], lr=lr, momentum=0.5)
    settings = opt._settings(opt.param_groups[0])
    assert type(settings[0]) is float and settings[0] == 0.25
    lr.array[...] = 0.125
    assert opt._settings(opt.param_groups[0])[:2] == (0.125, 0.5)


@pytest.mark.parametrize("cls", list(TORCH), ids=lambda c: c.__name__)
def test_tensor_lr_errors_like_torch(cls):
    for bad, match in ((np.array([0.1, 0.2]), "1-element"), (np.array(-0.1), "learning rate")):
        with pytest.raises(ValueError):
            TORCH[cls]([torch.nn.Parameter(torch.ones(2))], lr=torch.from_numpy(bad))
        with pytest.raises(ValueError, match=match):
            cls([mc.nn.Parameter(np.ones(2))], lr=mc.tensor(bad))


@pytest.mark.parametrize("cls", [Adam, AdamW], ids=lambda c: c.__name__)
def test_adam_tensor_lr_with_foreach_true_raises_like_torch(cls):
    with pytest.raises(ValueError, match="foreach=True"):
        TORCH[cls]([torch.nn.Parameter(torch.ones(2))], lr=torch.tensor(0.1), foreach=True)
    with pytest.raises(ValueError, match="foreach=True"):
        cls([mc.nn.Parameter(np.ones(2))], lr=mc.tensor(np.array(0.1)), foreach=True)
    cls([mc.nn.Parameter(np.ones(2))], lr=mc.tensor(np.array(0.1)), foreach=False)  # as torch: fine


def test_lr_helpers_live_in_the_optimizer_module():
    assert adam_variants.hyper_value is optimizer.hyper_value
    assert adam_variants.check_lr is optimizer.check_lr
    assert optimizer.hyper_value(mc.tensor(np.array([[0.5]]))) == 0.5
    assert optimizer.hyper_value(0.5) == 0.5


# -- schedulers with a Tensor lr -----------------------------------------------------------------

SCHEDULERS = {
    "StepLR": lambda lib, o: lib.StepLR(o, step_size=2, gamma=0.5),
    "MultiStepLR": lambda lib, o: lib.MultiStepLR(o, milestones=[1, 4], gamma=0.3),
    "ExponentialLR": lambda lib, o: lib.ExponentialLR(o, gamma=0.9),
    "LinearLR": lambda lib, o: lib.LinearLR(o, start_factor=0.25, total_iters=4),
    "CosineAnnealingLR": lambda lib, o: lib.CosineAnnealingLR(o, T_max=4, eta_min=0.001),
    "ConstantLR": lambda lib, o: lib.ConstantLR(o, factor=0.5, total_iters=3),
    "PolynomialLR": lambda lib, o: lib.PolynomialLR(o, total_iters=5, power=2.0),
    "LambdaLR": lambda lib, o: lib.LambdaLR(o, lr_lambda=lambda e: 0.9**e),
    "WarmRestarts": lambda lib, o: lib.CosineAnnealingWarmRestarts(o, T_0=3, eta_min=0.001),
    "OneCycleLR": lambda lib, o: lib.OneCycleLR(o, max_lr=0.5, total_steps=10),
    "ReduceLROnPlateau": lambda lib, o: lib.ReduceLROnPlateau(o, patience=0, factor=0.5),
    "SequentialLR": lambda lib, o: lib.SequentialLR(
        o, [lib.LinearLR(o, start_factor=0.5, total_iters=2), lib.ExponentialLR(o, gamma=0.8)], milestones=[3]
    ),
    "SWALR": lambda lib, o: (swa_utils if lib is lr_scheduler else tswa).SWALR(o, 0.01, anneal_epochs=3),
}


@pytest.mark.parametrize("lr_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_schedulers_write_a_tensor_lr_in_place_like_torch(name, lr_dtype):
    """As torch's: group['lr'] stays the user's Tensor, which gets every new value (fill_);
    initial_lr, base_lrs and get_last_lr() are copies; the optimiser follows the values."""
    rng = np.random.default_rng(11)
    init = rng.standard_normal(4)
    mp, tp = mc.nn.Parameter(init.copy()), torch.nn.Parameter(torch.from_numpy(init.copy()))
    lr0 = np.array(0.1, dtype=lr_dtype)
    mlr, tlr = mc.tensor(lr0.copy()), torch.from_numpy(lr0.copy())
    mopt, topt = SGD([mp], lr=mlr, momentum=0.9), torch.optim.SGD([tp], lr=tlr, momentum=0.9)
    ms, ts = SCHEDULERS[name](lr_scheduler, mopt), SCHEDULERS[name](torch.optim.lr_scheduler, topt)
    group = mopt.param_groups[0]
    for t in range(8):
        g = rng.standard_normal(4)
        mp.grad, tp.grad = mc.Tensor(g.copy()), torch.from_numpy(g.copy())
        mopt.step()
        topt.step()
        if name == "ReduceLROnPlateau":
            ms.step(1.0)
            ts.step(1.0)
        else:
            ms.step()
            ts.step()
        where = f"{name} step {t}"
        assert group["lr"] is mlr and topt.param_groups[0]["lr"] is tlr, where
        assert mlr.dtype == lr_dtype and mlr.shape == (), where
        assert mlr.item() == tlr.item(), where
        np.testing.assert_allclose(mp.numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=where)
        if name != "ReduceLROnPlateau":
            (mlast,), (tlast,) = ms.get_last_lr(), ts.get_last_lr()
            assert isinstance(mlast, mc.Tensor) and mlast is not mlr, where
            assert mlast.item() == tlast.item(), where
    if "initial_lr" in group and name != "OneCycleLR":  # OneCycleLR sets its own float, as torch
        assert isinstance(group["initial_lr"], mc.Tensor) and group["initial_lr"] is not mlr
        assert group["initial_lr"].item() == topt.param_groups[0]["initial_lr"].item() == lr0.item()


def test_a_scheduler_writing_the_tensor_lr_bumps_its_version():
    lr = mc.tensor(np.array(0.1))
    opt = SGD([mc.nn.Parameter(np.ones(2))], lr=lr)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    before = lr._version
    sched.step()
    assert lr._version == before + 1 and lr.item() == 0.05


# -- deepcopy ------------------------------------------------------------------------------------


class MyParameter(mc.nn.Parameter):
    pass


class TorchMyParameter(torch.nn.Parameter):
    pass


@pytest.mark.parametrize("requires_grad", [True, False])
@pytest.mark.parametrize("subclass", [False, True])
def test_parameter_deepcopy_like_torch(requires_grad, subclass):
    """torch's Parameter.__deepcopy__: data and requires_grad only (no .grad, no other attributes),
    the same class; the memo keeps a parameter shared."""
    data = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    mcls, tcls = (MyParameter, TorchMyParameter) if subclass else (mc.nn.Parameter, torch.nn.Parameter)
    m, t = mcls(data.copy(), requires_grad=requires_grad), tcls(torch.from_numpy(data.copy()), requires_grad)
    m.grad, t.grad = mc.Tensor(np.ones((2, 3), np.float32)), torch.ones(2, 3)
    m.note, t.note = "x", "x"
    mc_copy, t_copy = copy.deepcopy([m, m]), copy.deepcopy([t, t])
    for ours, theirs in ((mc_copy[0], t_copy[0]),):
        assert type(ours) is mcls and type(theirs) is tcls
        assert (ours.grad is None) == (theirs.grad is None) == True  # noqa: E712
        assert ours.requires_grad == theirs.requires_grad == requires_grad
        assert hasattr(ours, "note") == hasattr(theirs, "note") == False  # noqa: E712
        assert ours.dtype == np.float32 and ours.is_leaf
        np.testing.assert_array_equal(ours.numpy(), data)
    assert mc_copy[0] is mc_copy[1] and t_copy[0] is t_copy[1]
    m.array[...] = 0  # the copy owns its data
    np.testing.assert_array_equal(mc_copy[0].numpy(), data)


@pytest.mark.parametrize("device", devices())
def test_parameter_deepcopy_stays_on_its_device(device):
    p = mc.nn.Parameter(mc.tensor(np.ones(3), device=device))
    q = copy.deepcopy(p)
    assert q.device == p.device and q.array is not p.array


def test_plain_tensor_deepcopy_keeps_a_copy_of_its_gradient_like_torch():
    """Unlike a Parameter, torch deep-copies a plain leaf Tensor's .grad (a copy, not the same one)."""
    m = mc.tensor(np.ones(2), requires_grad=True)
    t = torch.ones(2, dtype=torch.float64, requires_grad=True)
    m.grad, t.grad = mc.Tensor(np.full(2, 5.0)), torch.full((2,), 5.0, dtype=torch.float64)
    mcopy, tcopy = copy.deepcopy(m), copy.deepcopy(t)
    assert tcopy.grad is not None and tcopy.grad is not t.grad
    assert mcopy.grad is not None and mcopy.grad is not m.grad
    np.testing.assert_array_equal(mcopy.grad.numpy(), tcopy.grad.numpy())
    assert mcopy.requires_grad == tcopy.requires_grad


def test_module_deepcopy_drops_parameter_gradients_and_keeps_tied_weights():
    lin = mc.nn.Linear(3, 3)
    model = mc.nn.Sequential(lin, mc.nn.ReLU(), lin)
    model(mc.tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert lin.weight.grad is not None
    clone = copy.deepcopy(model)
    assert all(p.grad is None for p in clone.parameters())
    assert clone[0].weight is clone[2].weight and clone[0].weight is not lin.weight
    assert lin.weight.grad is not None  # the original keeps its own


def test_averaged_model_needs_no_gradient_workaround():
    """AveragedModel deep-copies the model; Parameter.__deepcopy__ alone leaves the gradients behind."""
    model = mc.nn.Linear(2, 2)
    model(mc.tensor(np.ones((1, 2), np.float32))).sum().backward()
    avg = swa_utils.AveragedModel(model)
    assert all(p.grad is None for p in avg.module.parameters())
    assert isinstance(avg.module.weight, Parameter)


def test_deepcopy_of_a_tensor_with_a_history_raises_like_torch():
    """torch refuses to deep-copy a non-leaf (it would copy the graph behind it); a leaf's copy
    gets its own version counter: writing the copy leaves the original alone."""
    x = mc.tensor(np.array([1.0, 2.0]), requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(tx * 2)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)
    y = copy.deepcopy(x)
    with mc.no_grad():
        y.add_(1.0)
    assert x._version == 0 and y._version == 1 and y.is_leaf and y.requires_grad
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
