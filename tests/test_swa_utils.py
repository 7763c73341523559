"""swa_utils against torch.optim.swa_utils: averaged parameters and buffers (SWA and EMA, every
averaging-function form), SWALR's learning rates, update_bn's running statistics, errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import swa_utils as tswa

import minicnn as mc
from minicnn.optim import SGD
from minicnn.optim import swa_utils as swa


def model_pair(dtype=torch.float64, seed=0):
    """The same Conv2d + BatchNorm2d + Linear model in torch and minicnn."""
    torch.manual_seed(seed)
    t = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Flatten(), torch.nn.Linear(12, 4)
    ).to(dtype)
    m = mc.nn.Sequential(mc.nn.Conv2d(2, 3, 3), mc.nn.BatchNorm2d(3), mc.nn.Flatten(), mc.nn.Linear(12, 4))
    m.to(dtype=np.float64 if dtype == torch.float64 else np.float32)
    copy_state(t, m)
    return t, m


def copy_state(t: torch.nn.Module, m: mc.nn.Module) -> None:
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})


def new_weights(t: torch.nn.Module, m: mc.nn.Module, rng: np.random.Generator) -> None:
    """Random new parameters, and a training-mode forward that moves the BatchNorm buffers."""
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.from_numpy(np.asarray(rng.standard_normal(tuple(p.shape)))))
        t.train()
        t(torch.from_numpy(rng.standard_normal((5, 2, 4, 4))).to(t[0].weight.dtype))
    copy_state(t, m)


def assert_models_equal(m: mc.nn.Module, t: torch.nn.Module, rtol: float) -> None:
    ours, theirs = m.state_dict(), t.state_dict()
    assert list(ours) == list(theirs)
    for k, v in theirs.items():
        got = mc.backend.to_numpy(ours[k].array if isinstance(ours[k], mc.Tensor) else ours[k])
        assert got.dtype == v.numpy().dtype, k
        scale = max(1.0, float(np.abs(v.numpy()).max(initial=0)))  # averages of differences cancel digits
        np.testing.assert_allclose(got, v.numpy(), rtol=rtol, atol=rtol * scale, err_msg=k)


AVG_FNS = {
    "swa-default": lambda lib: {},
    "swa-avg_fn": lambda lib: dict(avg_fn=lib.get_swa_avg_fn()),
    "swa-multi": lambda lib: dict(multi_avg_fn=lib.get_swa_multi_avg_fn()),
    "ema-avg_fn": lambda lib: dict(avg_fn=lib.get_ema_avg_fn(0.9)),
    "ema-multi": lambda lib: dict(multi_avg_fn=lib.get_ema_multi_avg_fn(0.75)),
    "ema-multi-default-decay": lambda lib: dict(multi_avg_fn=lib.get_ema_multi_avg_fn()),
}


# torch's SWA multi_avg_fn refuses an int64 buffer (num_batches_tracked: integer addcdiv), so that
# pair has no oracle; ours takes the truncated mean there (test_int_buffers_average_truncated)
KINDS = [(k, b) for k in AVG_FNS for b in (False, True) if (k, b) != ("swa-multi", True)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("kind, use_buffers", KINDS)
def test_averaged_model_matches_torch(kind, use_buffers, dtype):
    rng = np.random.default_rng(1)
    t, m = model_pair(dtype)
    tavg = tswa.AveragedModel(t, use_buffers=use_buffers, **AVG_FNS[kind](tswa))
    mavg = swa.AveragedModel(m, use_buffers=use_buffers, **AVG_FNS[kind](swa))
    rtol = 1e-12 if dtype == torch.float64 else 1e-6
    assert_models_equal(mavg, tavg, rtol)
    for _ in range(4):
        new_weights(t, m, rng)
        tavg.update_parameters(t)
        mavg.update_parameters(m)
        assert int(mavg.n_averaged.item()) == int(tavg.n_averaged)
        assert_models_equal(mavg, tavg, rtol)
    x = rng.standard_normal((3, 2, 4, 4))
    tavg.eval()
    mavg.eval()
    out_t = tavg(torch.from_numpy(x).to(dtype)).detach().numpy()
    out_m = mavg(mc.tensor(x.astype(out_t.dtype))).numpy()
    np.testing.assert_allclose(out_m, out_t, rtol=rtol * 100, atol=rtol)


def test_averaged_model_is_a_copy_and_averages_without_graph():
    t, m = model_pair()
    mavg = swa.AveragedModel(m)
    assert mavg.module is not m and mavg.module[0].weight is not m[0].weight
    m[0].weight.grad = None
    mavg.update_parameters(m)
    m[0].weight.array += 1.0
    mavg.update_parameters(m)
    np.testing.assert_allclose(mavg.module[0].weight.numpy(), m[0].weight.numpy() - 0.5, rtol=1e-12)
    assert mavg.module[0].weight.grad_fn is None and mavg.module[0].weight.requires_grad
    assert [n for n, _ in mavg.named_buffers()][0] == "n_averaged"
    assert list(mavg.state_dict()) == list(tswa.AveragedModel(t).state_dict())


def test_averaged_model_copy_has_no_gradients_like_torch():
    """torch's Parameter.__deepcopy__ copies data and requires_grad only: the averaged copy of a
    model that has gradients has none (nor do later updates give it any)."""
    t, m = model_pair()
    x = np.random.default_rng(8).standard_normal((2, 2, 4, 4))
    t(torch.from_numpy(x)).sum().backward()
    m(mc.tensor(x)).sum().backward()
    tavg, mavg = tswa.AveragedModel(t), swa.AveragedModel(m)
    mavg.update_parameters(m)
    assert all(p.grad is None for p in tavg.parameters())
    assert all(p.grad is None for p in mavg.parameters())
    assert all(p.grad is not None for p in m.parameters())  # the model keeps its own
    assert [p.requires_grad for p in mavg.parameters()] == [p.requires_grad for p in tavg.parameters()]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("kind", ["swa-default", "ema-avg_fn", "ema-multi"])
def test_averaged_model_on_a_device(device, kind):
    _, m = model_pair()
    rng = np.random.default_rng(2)
    cpu = swa.AveragedModel(m, use_buffers=True, **AVG_FNS[kind](swa))
    dev = swa.AveragedModel(m, device=device, use_buffers=True, **AVG_FNS[kind](swa))
    assert dev.module[0].weight.device == dev.n_averaged.device == mc.tensor(np.ones(1), device=device).device
    for _ in range(3):
        for p in m.parameters():
            p.array[...] = rng.standard_normal(p.shape)
        cpu.update_parameters(m)
        dev.update_parameters(m)
    for (k, a), b in zip(cpu.state_dict().items(), dev.state_dict().values()):
        np.testing.assert_allclose(mc.backend.to_numpy(b), mc.backend.to_numpy(a), rtol=1e-12, err_msg=k)


def test_int_buffers_average_truncated():
    """torch's SWA multi_avg_fn raises on int64 tensors; ours writes the float mean truncated, as
    torch's other forms (avg_fn, EMA) do."""
    with pytest.raises(RuntimeError):
        tswa.get_swa_multi_avg_fn()([torch.tensor(3)], [torch.tensor(8)], torch.tensor(1))
    avg = [mc.tensor(np.array(3, dtype=np.int64))]
    swa.get_swa_multi_avg_fn()(avg, [mc.tensor(np.array(8, dtype=np.int64))], mc.tensor(np.array(1)))
    assert avg[0].dtype == np.int64 and int(avg[0].item()) == 5  # 3 + (8 - 3) / 2 = 5.5
    ema = [mc.tensor(np.array(3, dtype=np.int64))]
    swa.get_ema_multi_avg_fn(0.5)(ema, [mc.tensor(np.array(8, dtype=np.int64))], None)
    theirs = [torch.tensor(3)]
    tswa.get_ema_multi_avg_fn(0.5)(theirs, [torch.tensor(8)], None)
    assert int(ema[0].item()) == int(theirs[0]) == 5


def test_averaging_functions_like_torch():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    n_t, n_m = torch.tensor(4), mc.tensor(np.array(4, dtype=np.int64))
    for name in ("get_ema_avg_fn", "get_swa_avg_fn"):
        ours = getattr(swa, name)()(mc.tensor(a), mc.tensor(b), n_m).numpy()
        theirs = getattr(tswa, name)()(torch.from_numpy(a), torch.from_numpy(b), n_t).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-14)
    for name in ("get_ema_multi_avg_fn", "get_swa_multi_avg_fn"):
        ours, theirs = [mc.tensor(a.copy())], [torch.from_numpy(a.copy())]
        getattr(swa, name)()(ours, [mc.tensor(b)], n_m)
        getattr(tswa, name)()(theirs, [torch.from_numpy(b)], n_t)
        np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy(), rtol=1e-14)


@pytest.mark.parametrize("make", ["get_ema_avg_fn", "get_ema_multi_avg_fn"])
@pytest.mark.parametrize("decay", [-0.1, 1.5])
def test_bad_decay_raises_value_error(make, decay):
    with pytest.raises(ValueError):
        getattr(tswa, make)(decay)
    with pytest.raises(ValueError, match="decay"):
        getattr(swa, make)(decay)


def test_averaged_model_refuses_both_functions():
    _, m = model_pair()
    with pytest.raises(AssertionError, match="Only one"):
        swa.AveragedModel(m, avg_fn=swa.get_swa_avg_fn(), multi_avg_fn=swa.get_swa_multi_avg_fn())


# -- SWALR ------------------------------------------------------------------------------------------


def sgd_pair(lrs):
    mp = [mc.nn.Parameter(np.ones(2)) for _ in lrs]
    tp = [torch.nn.Parameter(torch.ones(2)) for _ in lrs]
    mopt = SGD([{"params": [p], "lr": lr} for p, lr in zip(mp, lrs)], lr=0.1)
    topt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tp, lrs)], lr=0.1)
    return mopt, topt


@settings(max_examples=30, deadline=None)
@given(
    lrs=st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=2),
    swa_lr=st.floats(1e-4, 0.5),
    per_group=st.booleans(),
    anneal_epochs=st.integers(0, 6),
    strategy=st.sampled_from(["cos", "linear"]),
)
def test_swalr_matches_torch(lrs, swa_lr, per_group, anneal_epochs, strategy):
    mopt, topt = sgd_pair(lrs)
    target = [swa_lr * (i + 1) for i in range(len(lrs))] if per_group else swa_lr
    ms = swa.SWALR(mopt, target, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    ts = tswa.SWALR(topt, target, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    for _ in range(anneal_epochs + 3):
        np.testing.assert_allclose(ms.get_last_lr(), ts.get_last_lr(), rtol=1e-13)
        assert [g["lr"] for g in mopt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-13)
        mopt.step()
        topt.step()
        ms.step()
        ts.step()
    np.testing.assert_allclose(ms.get_last_lr(), ts.get_last_lr(), rtol=1e-13)


def test_swalr_state_dict_round_trip(tmp_path):
    """Save optimizer and scheduler after 2 steps, load both into fresh ones: the next lrs are the same."""
    mopt, _ = sgd_pair([0.1])
    sched = swa.SWALR(mopt, 0.01, anneal_epochs=5, anneal_strategy="linear")
    sched.step()
    sched.step()
    mc.save({"opt": mopt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt")
    lrs = []
    for _ in range(3):
        sched.step()
        lrs.append(sched.get_last_lr())
    mopt2, _ = sgd_pair([0.7])
    sched2 = swa.SWALR(mopt2, 0.5)
    ckpt = mc.load(tmp_path / "ckpt")
    mopt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    for lr in lrs:
        sched2.step()
        assert sched2.get_last_lr() == lr
    assert "anneal_func" not in sched.state_dict() and sched2.anneal_func(0.5) == 0.5


@pytest.mark.parametrize(
    "kw",
    [dict(swa_lr=0.1, anneal_strategy="exp"), dict(swa_lr=0.1, anneal_epochs=-1), dict(swa_lr=[0.1, 0.2])],
    ids=str,
)
def test_swalr_bad_settings_raise_value_error(kw):
    mopt, topt = sgd_pair([0.1])
    with pytest.raises(ValueError):
        tswa.SWALR(topt, **kw)
    with pytest.raises(ValueError, match="anneal|swa_lr"):
        swa.SWALR(mopt, **kw)


# -- update_bn -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pairs", [False, True])
@pytest.mark.parametrize("was_training", [False, True])
def test_update_bn_matches_torch(pairs, was_training):
    rng = np.random.default_rng(5)
    t, m = model_pair()
    t[1].momentum = m[1].momentum = 0.3
    new_weights(t, m, rng)  # running statistics that update_bn must throw away
    t.train(was_training)
    m.train(was_training)
    batches = [rng.standard_normal((n, 2, 4, 4)) for n in (4, 7, 2)]
    tloader = [(torch.from_numpy(x), 0) if pairs else torch.from_numpy(x) for x in batches]
    mloader = [(mc.tensor(x), 0) if pairs else mc.tensor(x) for x in batches]
    tswa.update_bn(tloader, t)
    swa.update_bn(mloader, m)
    assert_models_equal(m, t, 1e-12)
    assert int(m[1].num_batches_tracked.item()) == 3
    assert m.training == was_training and m[1].training == was_training
    assert m[1].momentum == 0.3
    # the cumulative average equals the statistics of all batches' samples weighted per batch
    means = [x.mean(axis=(0, 2, 3)) for x in [np.asarray(t[0](torch.from_numpy(b)).detach()) for b in batches]]
    np.testing.assert_allclose(m[1].running_mean.numpy(), np.mean(means, axis=0), rtol=1e-12)


@pytest.mark.parametrize("bn_kw", [dict(track_running_stats=False), dict(affine=False), dict(momentum=None)], ids=str)
def test_update_bn_batchnorm_settings_and_dict_batches_like_torch(bn_kw):
    """BatchNorms without running statistics or affine parameters, or already cumulative; a
    model that takes dict batches gets them as they are (torch only unpacks lists and tuples)."""

    class TorchNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = torch.nn.BatchNorm2d(3, **bn_kw).double()

        def forward(self, batch: dict) -> torch.Tensor:
            return self.bn(batch["x"])

    class McNet(mc.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = mc.nn.BatchNorm2d(3, **bn_kw).to(dtype=np.float64)

        def forward(self, batch: dict) -> mc.Tensor:
            return self.bn(batch["x"])

    t, m = TorchNet(), McNet()
    copy_state(t, m)
    xs = [np.random.default_rng(i).standard_normal((2, 3, 4, 4)) * (i + 1) for i in range(3)]
    tswa.update_bn([{"x": torch.from_numpy(x)} for x in xs], t)
    swa.update_bn([{"x": mc.tensor(x)} for x in xs], m)
    assert_models_equal(m, t, 1e-12)
    assert m.bn.momentum == t.bn.momentum and m.training == t.training


def test_update_bn_without_batchnorm_does_nothing():
    model = mc.nn.Linear(3, 2)
    calls = []
    swa.update_bn(iter(calls.append(1) or [] for _ in range(2)), model)
    assert calls == []  # the loader was not even read


@pytest.mark.parametrize("device", devices())
def test_update_bn_moves_batches_to_device(device):
    rng = np.random.default_rng(6)
    t, m = model_pair()
    m.to(device)
    batches = [rng.standard_normal((3, 2, 4, 4)) for _ in range(2)]
    tswa.update_bn([torch.from_numpy(x) for x in batches], t)
    swa.update_bn([mc.tensor(x) for x in batches], m, device=device)
    np.testing.assert_allclose(m[1].running_var.numpy(), t[1].running_var.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_ema_avg_fn"])
def test_signature_matches_torch(name):
    ours, theirs = getattr(swa, name), getattr(tswa, name)
    if inspect.isclass(ours):
        ours, theirs = ours.__init__, theirs.__init__
    strip = [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()] == strip
