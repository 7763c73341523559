"""Module hooks as torch stores and runs them: ``_forward_pre_hooks`` / ``_forward_hooks``
holding the hooks themselves (``with_kwargs`` in a side table), the global hooks of
``mc.nn.modules.module`` (``register_module_forward_pre_hook`` and the rest) run for every
module before its own, in torch's order and with torch's values, ``always_call`` hooks when
forward raises, ``set_submodule``, and ``mc.nn.modules``."""

from __future__ import annotations

import minicnn.nn.modules.module as MM
import numpy as np
import pytest
import torch
import torchvision
from conftest import TOL, devices

import minicnn as mc


def net(nn):
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 4), nn.Tanh())


def twins(seed: int = 0, device: str = "cpu"):
    torch.manual_seed(seed)
    theirs = net(torch.nn).double()
    ours = net(mc.nn).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours.to(device), theirs


def test_hook_tables_hold_the_hooks_like_torch():
    for nn in (torch.nn, mc.nn):
        m = nn.Linear(2, 3)

        def pre(mod, args):
            return None

        def fwd(mod, args, kwargs, out):
            return None

        h1 = m.register_forward_pre_hook(pre)
        h2 = m.register_forward_hook(fwd, with_kwargs=True)
        assert list(m._forward_pre_hooks.values()) == [pre]
        assert list(m._forward_hooks.values()) == [fwd]
        assert dict(m._forward_hooks_with_kwargs) == {h2.id: True} and not m._forward_pre_hooks_with_kwargs
        h2.remove()
        h1.remove()
        assert not m._forward_hooks and not m._forward_hooks_with_kwargs and not m._forward_pre_hooks


@pytest.mark.parametrize("device", devices())
def test_global_forward_hooks_like_torch(device):
    """Global pre-hooks and hooks run first, for every module (containers too), may replace
    the arguments and the output, and stop after ``remove``."""
    ours, theirs = twins(device=device)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4))
    runs = {}
    for lib, model, X in ((MM, ours, mc.tensor(x, device=device)), (torch.nn.modules.module, theirs, torch.tensor(x))):
        log = []

        def global_pre(m, args, log=log):
            log.append(("global_pre", type(m).__name__))
            return (args[0] * 2,) if type(m).__name__ == "Linear" else None

        def global_fwd(m, args, kwargs, out, log=log):
            log.append(("global_fwd", type(m).__name__, kwargs))
            return out + 1 if type(m).__name__ == "ReLU" else None

        def own(m, args, out, log=log):
            log.append(("own", type(m).__name__))
            return out * 3

        handles = [
            lib.register_module_forward_pre_hook(global_pre),
            lib.register_module_forward_hook(global_fwd, with_kwargs=True),
            model[3].register_forward_hook(own),
        ]
        out = model(X)
        for h in handles:
            h.remove()
        runs[lib] = (log, out, model(X))
    (log_m, out_m, plain_m), (log_t, out_t, plain_t) = runs.values()
    assert log_m == log_t
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), **TOL[np.float64])
    np.testing.assert_allclose(plain_m.numpy(), plain_t.detach().numpy(), **TOL[np.float64])


def test_global_full_backward_hooks_like_torch():
    ours, theirs = twins(1)
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    runs = []
    for lib, model, X in ((MM, ours, mc.tensor(x, requires_grad=True)), (torch.nn.modules.module, theirs, None)):
        X = torch.tensor(x, requires_grad=True) if X is None else X
        log = []

        def pre(m, gout, log=log):
            log.append(("pre", type(m).__name__, gout[0].numpy().copy()))

        def full(m, gin, gout, log=log):
            log.append(("full", type(m).__name__, None if gin[0] is None else gin[0].numpy().copy()))
            return (gin[0] * 0.5,) if type(m).__name__ == "Tanh" else None

        handles = [lib.register_module_full_backward_pre_hook(pre), lib.register_module_full_backward_hook(full)]
        model(X).sum().backward()
        for h in handles:
            h.remove()
        runs.append((log, X.grad.numpy().copy()))
    (log_m, grad_m), (log_t, grad_t) = runs
    assert [e[:2] for e in log_m] == [e[:2] for e in log_t]
    for a, b in zip(log_m, log_t):
        if b[2] is not None:
            np.testing.assert_allclose(a[2], b[2], **TOL[np.float64])
    np.testing.assert_allclose(grad_m, grad_t, **TOL[np.float64])


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_resnet_calls_its_modules_in_torchvision_order(arch):
    """A global hook traces the same module sequence (the shortcut after the residual branch)."""
    traces = []
    for lib, model, x in (
        (MM, getattr(mc.models, arch)(num_classes=3), mc.zeros(1, 3, 32, 32)),
        (torch.nn.modules.module, getattr(torchvision.models, arch)(num_classes=3), torch.zeros(1, 3, 32, 32)),
    ):
        names = {id(m): n for n, m in model.named_modules()}
        trace = []
        with lib.register_module_forward_hook(lambda m, i, o, trace=trace, names=names: trace.append(names[id(m)])):
            model.eval()(x)
        traces.append(trace)
    assert traces[0] == traces[1]


def test_nn_modules_names_like_torch():
    from minicnn.nn.modules.conv import Conv2d

    assert Conv2d is mc.nn.Conv2d and mc.nn.modules.Linear is mc.nn.Linear
    assert mc.nn.modules.module.Module is mc.nn.Module
    for kind in ("forward_pre", "forward", "full_backward_pre", "full_backward"):
        assert callable(getattr(torch.nn.modules.module, f"register_module_{kind}_hook"))
        assert callable(getattr(MM, f"register_module_{kind}_hook"))
    with pytest.raises(AttributeError, match="no attribute 'NotALayer'"):
        mc.nn.modules.NotALayer  # noqa: B018


@pytest.mark.parametrize("use_global", [False, True])
def test_always_call_hooks_run_when_forward_raises_like_torch(use_global):
    logs = []
    for lib in (torch, mc):

        class Bad(lib.nn.Module):
            def forward(self, x):
                raise RuntimeError("boom")

        m, log = Bad(), []
        register = lib.nn.modules.module.register_module_forward_hook if use_global else m.register_forward_hook
        handles = [
            register(lambda mod, a, o, log=log: log.append(("plain", o))),
            register(lambda mod, a, o, log=log: log.append(("always", o)), always_call=True),
            register(lambda mod, a, o: 1 / 0, always_call=True),
        ]
        with pytest.warns(UserWarning, match="always_call=True.*silenced.*division by zero"):
            with pytest.raises(RuntimeError, match="boom"):
                m(lib.ones(2))
        for h in handles:
            h.remove()
        logs.append(log)
        assert not m._forward_hooks and not m._forward_hooks_always_called
    assert logs[0] == logs[1] == [("always", None)]


def test_set_submodule_like_torch():
    results = []
    for nn in (torch.nn, mc.nn):
        s = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
        s.set_submodule("1.0", nn.Tanh())
        s.set_submodule("1.extra", nn.Sigmoid())
        errors = []
        for args in [("", nn.Tanh()), ("1.0", 3), ("1.zz", nn.Tanh(), True), ("0.weight", nn.Tanh())]:
            with pytest.raises((ValueError, AttributeError)) as e:
                s.set_submodule(*args)
            errors.append((type(e.value), str(e.value)))
        results.append((repr(s), errors))
    assert results[0] == results[1]


def _registration_hook_calls(lib):
    """Every registration path (layers' constructors, containers, attribute assignment, the
    register_* methods, None values) as the three global registration hooks see it, and a
    hook's replacement value stored instead."""
    import importlib  # noqa: PLC0415

    mod = importlib.import_module(f"{lib.__name__}.nn.modules.module")
    calls = []

    def rec(kind):
        def hook(m, name, v):
            calls.append((kind, type(m).__name__, name, None if v is None else type(v).__name__))

        return hook

    handles = [
        mod.register_module_buffer_registration_hook(rec("buffer")),
        mod.register_module_module_registration_hook(rec("module")),
        mod.register_module_parameter_registration_hook(rec("param")),
    ]
    lib.nn.Linear(2, 3, bias=False)
    bn = lib.nn.BatchNorm1d(2)
    bn.running_mean = lib.zeros(2)
    seq = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
    seq[0] = lib.nn.ReLU()
    ml = lib.nn.ModuleList([lib.nn.ReLU()])
    ml.append(lib.nn.ReLU())
    ml.insert(0, lib.nn.ReLU())  # torch's insert writes _modules directly: no call
    md = lib.nn.ModuleDict({"a": lib.nn.ReLU()})
    md["b"] = lib.nn.ReLU()
    lib.nn.ParameterList([lib.nn.Parameter(lib.ones(1))]).append(lib.nn.Parameter(lib.ones(1)))
    m = lib.nn.Module()
    m.a = lib.nn.ReLU()
    m.a = None
    m.register_parameter("p", None)  # no call for a None parameter
    m.p = lib.nn.Parameter(lib.ones(1))
    m.register_buffer("b", None)
    m.b = lib.ones(1)
    m.c = lib.nn.Buffer(lib.ones(1))
    m.add_module("d", None)
    for h in handles:
        h.remove()
    lib.nn.Linear(1, 1)  # removed: no calls
    swap = mod.register_module_parameter_registration_hook(lambda m, n, p: lib.nn.Parameter(p.detach() * 2))
    shift = mod.register_module_buffer_registration_hook(lambda m, n, b: b + 1)
    m2 = lib.nn.Module()
    m2.w = lib.nn.Parameter(lib.ones(2))
    m2.register_buffer("r", lib.zeros(1))
    swap.remove()
    shift.remove()
    return calls, m2.w.tolist(), m2.r.tolist(), type(m2.w).__name__


def test_registration_hooks_like_torch():
    """register_module_{buffer,module,parameter}_registration_hook against torch's: which
    registrations call them, with what, and that a returned value replaces the registered one."""
    assert _registration_hook_calls(mc) == _registration_hook_calls(torch)
