"""nn.Module: registries, state_dict names and order against torch twins, strict loading,
modes, apply, repr, init statistics."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import minicnn as mc
import minicnn.nn as nn
import minicnn.nn.functional as F


class MiniNet(nn.Module):
    def __init__(self, lib):
        super().__init__()
        self.body = lib.Sequential(lib.Linear(4, 8), lib.ReLU(), lib.Linear(8, 8))
        self.heads = lib.ModuleList([lib.Linear(8, 2), lib.Linear(8, 3, bias=False)])
        self.extra = lib.ModuleDict({"b": lib.Linear(2, 2), "a": lib.Identity()})
        self.scale = (nn.Parameter if lib is nn else torch.nn.Parameter)(
            mc.ones(1).array if lib is nn else torch.ones(1)
        )
        self.register_buffer("steps", np.zeros(1) if lib is nn else torch.zeros(1))

    def forward(self, x):
        h = self.body(x)
        return [head(h) * self.scale for head in self.heads]


class TorchMiniNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        lib = torch.nn
        self.body = lib.Sequential(lib.Linear(4, 8), lib.ReLU(), lib.Linear(8, 8))
        self.heads = lib.ModuleList([lib.Linear(8, 2), lib.Linear(8, 3, bias=False)])
        self.extra = lib.ModuleDict({"b": lib.Linear(2, 2), "a": lib.Identity()})
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.register_buffer("steps", torch.zeros(1))


def test_state_dict_keys_and_order_equal_torch_twin():
    ours, theirs = MiniNet(nn), TorchMiniNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert a.shape == tuple(b.shape), k


def test_load_torch_weights_and_forward_equal():
    ours, theirs = MiniNet(nn), TorchMiniNet()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    with mc.no_grad():
        out = ours(mc.tensor(x))
    with torch.no_grad():
        h = theirs.body(torch.tensor(x))
        ref = [head(h) * theirs.scale for head in theirs.heads]
    for a, b in zip(out, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def _error(fn):
    """(type, message) of the exception ``fn()`` raises."""
    with pytest.raises(Exception) as err:
        fn()
    return type(err.value), str(err.value)


def test_load_state_dict_errors_are_runtime_errors_worded_like_torch():
    ours, theirs = nn.Linear(3, 4), torch.nn.Linear(3, 4)
    for edit in (
        lambda sd: sd.pop("bias"),
        lambda sd: sd.update(junk=np.zeros(1, np.float32)),
        lambda sd: (sd.pop("bias"), sd.update(junk=np.zeros(1, np.float32))),
        lambda sd: sd.update(weight=np.zeros((4, 4), np.float32)),
        lambda sd: (sd.pop("bias"), sd.update(junk=np.zeros(1, np.float32), weight=np.zeros((4, 4), np.float32))),
    ):
        sd = ours.state_dict()
        edit(sd)
        before = ours.state_dict()
        for strict in (True, False):
            if not strict and "weight" in sd and sd["weight"].shape == (4, 3):
                continue  # no error without strict
            tsd = {k: torch.from_numpy(v) for k, v in sd.items()}
            kind, msg = _error(lambda sd=sd, strict=strict: ours.load_state_dict(sd, strict=strict))
            tkind, tmsg = _error(lambda tsd=tsd, strict=strict: theirs.load_state_dict(tsd, strict))
            assert kind is tkind is RuntimeError
            assert msg == tmsg.replace("torch.Size([", "(").replace("])", ")")
            # unlike torch, a failed load leaves the model as it was
            assert all(np.array_equal(a, b) for a, b in zip(ours.state_dict().values(), before.values()))


def test_load_state_dict_returns_incompatible_keys_like_torch():
    m, t = MiniNet(nn), TorchMiniNet()
    sd = m.state_dict()
    del sd["body.0.weight"]
    sd["bogus.weight"] = np.zeros(1)
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(sd)
    assert '"body.0.weight"' in str(err.value) and '"bogus.weight"' in str(err.value)
    result = m.load_state_dict(sd, strict=False)
    tresult = t.load_state_dict({k: torch.as_tensor(v) for k, v in sd.items()}, strict=False)
    missing, unexpected = result
    assert missing == ["body.0.weight"] and unexpected == ["bogus.weight"]
    assert result.missing_keys == tresult.missing_keys and result.unexpected_keys == tresult.unexpected_keys
    assert repr(result) == repr(tresult) and result._fields == tresult._fields
    ok, tok = m.load_state_dict(m.state_dict()), t.load_state_dict(t.state_dict())
    assert ok == ([], []) and repr(ok) == repr(tok) == "<All keys matched successfully>"
    sd = m.state_dict()
    sd["body.0.weight"] = np.zeros((3, 3))
    with pytest.raises(RuntimeError, match="size mismatch for body.0.weight"):
        m.load_state_dict(sd, strict=False)


def test_state_dict_is_a_copy_and_loading_copies():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    sd["weight"][...] = 5
    assert not np.all(m.weight.numpy() == 5)
    src = OrderedDict(weight=np.ones((2, 2)), bias=np.zeros(2))
    m.load_state_dict(src)
    src["weight"][...] = 3
    assert np.all(m.weight.numpy() == 1) and m.weight.dtype == np.float32


def test_train_eval_apply_zero_grad_and_repr():
    m = MiniNet(nn)
    assert all(x.training for x in m.modules())
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "MiniNet" and seen.count("Linear") == 5
    out = m(mc.randn(2, 4))
    (out[0].sum() + out[1].sum()).backward()
    assert m.body[0].weight.grad is not None
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    r = repr(m)
    assert "(body): Sequential(" in r and "(0): Linear(in_features=4, out_features=8, bias=True)" in r
    assert len(list(m.parameters())) == len(list(TorchMiniNet().parameters()))


def test_to_dtype_and_device_strings():
    m = nn.Linear(3, 2).to(np.float64)
    assert m.weight.dtype == np.float64
    m.to("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        m.to("tpu")


def test_default_init_bounds_like_torch():
    mc.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = lin.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(lin.bias.numpy()).max() <= bound


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("kaiming_uniform_", dict(a=0.0, nonlinearity="relu")),
        ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu")),
        ("xavier_uniform_", dict(gain=2.0)),
        ("normal_", dict(mean=0.5, std=0.2)),
        ("trunc_normal_", dict(std=1.0, a=-0.5, b=1.0)),
    ],
)
def test_init_distributions_match_torch(name, kwargs):
    """Moments of a large draw agree with torch's draw of the same init."""
    shape = (256, 128, 3, 3)
    mc.manual_seed(1)
    ours = getattr(nn.init, name)(mc.zeros(shape), **kwargs).numpy()
    torch.manual_seed(1)
    theirs = getattr(torch.nn.init, name)(torch.zeros(shape), **kwargs).numpy()
    stats = [np.mean, np.std, lambda a: np.quantile(a, 0.01), lambda a: np.quantile(a, 0.99)]
    if "uniform" in name or "trunc" in name:  # bounded: the extremes are the bounds
        stats += [np.min, np.max]
    for stat in stats:
        np.testing.assert_allclose(stat(ours), stat(theirs), atol=0.02 * theirs.std() + 1e-3)


def test_constant_inits():
    t = mc.zeros(2, 3)
    assert np.all(nn.init.ones_(t).numpy() == 1)
    assert np.all(nn.init.constant_(t, 0.25).numpy() == 0.25)
    assert np.all(nn.init.zeros_(t).numpy() == 0)


def test_assigning_non_parameter_to_parameter_slot_raises():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError):
        m.weight = mc.zeros(2, 2)
    m.bias = None
    assert "bias" not in m.state_dict()


def test_missing_num_batches_tracked_is_accepted_like_torch():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    sd = m.state_dict()
    del sd["1.num_batches_tracked"]
    assert m.load_state_dict(sd) == ([], [])


def test_shared_submodule_is_saved_under_both_names_like_torch():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = self.b = nn.Linear(2, 2)

    class TorchTwice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = self.b = torch.nn.Linear(2, 2)

    ours, theirs = Twice(), TorchTwice()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert len(list(ours.parameters())) == 2


def test_functional_flatten_keeps_the_batch_axis_by_default() -> None:
    import torch

    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    assert F.flatten(mc.tensor(x)).shape == tuple(torch.flatten(torch.tensor(x), 1).shape) == (2, 48)
    assert F.flatten(mc.tensor(x), 0).shape == (96,)


def test_loss_class_weights_are_buffers_like_torch() -> None:
    import torch

    w = np.array([1.0, 2.0, 3.0], np.float32)
    for ours, theirs in (
        (mc.nn.CrossEntropyLoss(weight=mc.tensor(w)), torch.nn.CrossEntropyLoss(weight=torch.tensor(w))),
        (mc.nn.NLLLoss(weight=mc.tensor(w)), torch.nn.NLLLoss(weight=torch.tensor(w))),
    ):
        assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
        ours.load_state_dict({k: v.numpy() * 2 for k, v in theirs.state_dict().items()})
        np.testing.assert_array_equal(ours.weight.numpy(), 2 * w)
    assert list(mc.nn.CrossEntropyLoss().state_dict()) == list(torch.nn.CrossEntropyLoss().state_dict()) == []


# -- registration rules, as torch ----------------------------------------------------------
LIBS = {"mc": (nn, mc.zeros), "torch": (torch.nn, torch.zeros)}


def both(fn):
    """``fn(lib, zeros)`` on minicnn and on torch: each result, or (exception type, message)."""
    out = []
    for lib, zeros in LIBS.values():
        try:
            out.append(fn(lib, zeros))
        except Exception as exc:  # noqa: BLE001 - the exception is the result compared
            out.append((type(exc), str(exc).replace("torch.nn.Parameter", "Parameter")))
    return out


def test_buffer_persistence_follows_the_latest_registration():
    def reregister(lib, zeros):
        m = lib.Linear(2, 2)
        m.register_buffer("b", zeros(2), persistent=False)
        m.register_buffer("b", zeros(2))
        return list(m.state_dict())

    def delete_and_reregister(lib, zeros):
        m = lib.Linear(2, 2)
        m.register_buffer("b", zeros(2), persistent=False)
        del m.b
        m.register_buffer("b", zeros(2))
        return list(m.state_dict())

    def replaced_by_parameter(lib, zeros):
        m = lib.Linear(2, 2)
        m.register_buffer("b", zeros(2), persistent=False)
        m.b = lib.Parameter(zeros(2))
        del m.b
        m.register_buffer("b", zeros(2))
        return list(m.state_dict()), [n for n, _ in m.named_buffers()]

    for fn in (reregister, delete_and_reregister, replaced_by_parameter):
        ours, theirs = both(fn)
        assert ours == theirs
    assert both(reregister)[0] == ["weight", "bias", "b"]


@pytest.mark.parametrize(
    "case",
    [
        lambda lib, z: lib.Linear(2, 2).register_buffer("weight", z(2)),
        lambda lib, z: lib.Linear(2, 2).register_buffer("forward", z(2)),
        lambda lib, z: lib.Linear(2, 2).register_buffer("a.b", z(2)),
        lambda lib, z: lib.Linear(2, 2).register_buffer("", z(2)),
        lambda lib, z: lib.Linear(2, 2).register_buffer(3, z(2)),
        lambda lib, z: lib.Linear(2, 2).register_buffer("b", [1, 2]),
        lambda lib, z: lib.Linear(2, 2).register_buffer("b", 1.5),
        lambda lib, z: lib.Linear(2, 2).register_parameter("w2", z(2)),
        lambda lib, z: lib.Linear(2, 2).register_parameter("a.b", None),
        lambda lib, z: lib.Linear(2, 2).register_parameter("", None),
        lambda lib, z: lib.Linear(2, 2).register_parameter(1, None),
        lambda lib, z: lib.Linear(2, 2).register_parameter("training", None),
        lambda lib, z: lib.Linear(2, 2).add_module("weight", lib.ReLU()),
        lambda lib, z: lib.Linear(2, 2).add_module("a.b", lib.ReLU()),
        lambda lib, z: lib.Linear(2, 2).add_module("", lib.ReLU()),
        lambda lib, z: lib.Linear(2, 2).add_module("x", 3),
        lambda lib, z: lib.Linear(2, 2).train("yes"),
        lambda lib, z: lib.Linear(2, 2).train(1),
    ],
)
def test_bad_registrations_raise_like_torch(case):
    ours, theirs = both(case)
    assert ours[0] is theirs[0] and ours[0] in (KeyError, TypeError, ValueError)
    if ours[0] is not TypeError:  # TypeErrors name the types: Tensor vs torch.FloatTensor
        assert ours[1] == theirs[1]


def test_registration_that_torch_accepts():
    def fn(lib, zeros):
        m = lib.Linear(2, 2)
        m.register_buffer("b", zeros(2))
        m.register_buffer("b", None)  # re-registering a buffer
        m.register_parameter("bias", None)  # a parameter slot
        m.register_parameter("w2", lib.Parameter(zeros(1)))
        m.add_module("child", lib.ReLU())
        m.add_module("child", None)
        m.b = zeros(3)
        return list(m.state_dict()), [n for n, _ in m.named_parameters()], [n for n, _ in m.named_modules()]

    ours, theirs = both(fn)
    assert ours == theirs == (["weight", "w2", "b"], ["weight", "w2"], [""])
    m = nn.Linear(2, 2)
    m.register_buffer("arr", np.ones(2))  # NumPy arrays are minicnn's tensors too
    assert isinstance(m.arr, mc.Tensor) and list(m.state_dict()) == ["weight", "bias", "arr"]
    with pytest.raises(TypeError):
        m.arr = [1.0, 2.0]


def _shared_init(self, lib):
    """a under two names, and again inside seq: torch's dedup is per parent."""
    type(self).__mro__[1].__init__(self)
    self.a = lib.Linear(1, 1)
    self.b = self.a
    self.seq = lib.Sequential(lib.ReLU(), self.a)


class Shared(torch.nn.Module):
    __init__ = _shared_init


MiniShared = type("Shared", (nn.Module,), {"__init__": _shared_init})  # torch's class name, for messages


def test_shared_children_visited_like_torch():
    ours, theirs = MiniShared(nn), Shared(torch.nn)
    for fn in (
        lambda m: [n for n, _ in m.named_children()],
        lambda m: [type(c).__name__ for c in m.children()],
        lambda m: [type(c).__name__ for c in m.modules()],
        lambda m: [n for n, _ in m.named_modules()],
        lambda m: [n for n, _ in m.named_modules(remove_duplicate=False)],
        lambda m: [n for n, _ in m.named_modules(prefix="p")],
        lambda m: [n for n, _ in m.named_parameters()],
        lambda m: [n for n, _ in m.named_parameters(remove_duplicate=False)],
        lambda m: [n for n, _ in m.named_parameters(prefix="p", recurse=False)],
        lambda m: [n for n, _ in m.named_buffers(remove_duplicate=False)],
        lambda m: list(m.state_dict()),
        lambda m: list(m.state_dict(prefix="pre.")),
    ):
        assert fn(ours) == fn(theirs)
    seen, tseen = [], []
    ours.apply(lambda m: seen.append(type(m).__name__))
    theirs.apply(lambda m: tseen.append(type(m).__name__))
    assert seen[:-1] == tseen[:-1] == ["Linear", "ReLU", "Linear", "Sequential"]
    assert seen.count("Linear") == 2  # once under a/b, once inside seq, as torch


def test_state_dict_keep_vars_and_destination():
    m = nn.Linear(2, 3)
    sd = m.state_dict(keep_vars=True)
    assert sd["weight"] is m.weight and sd["bias"] is m.bias
    dest = {"x": 1}
    assert m.state_dict(destination=dest, prefix="l.") is dest and list(dest) == ["x", "l.weight", "l.bias"]


def _result(fn):
    """``fn()``, or (exception type, message with torch's class name for minicnn's)."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the exception is the result compared
        return (type(exc), str(exc).replace("MiniShared", "Shared"))


def test_get_submodule_and_get_parameter_like_torch():
    ours, theirs = MiniShared(nn), Shared(torch.nn)
    for target in ("seq.1", "", "seq", "seq.5", "a.weight", "zz.a"):
        o = _result(lambda t=target: type(ours.get_submodule(t)).__name__)
        assert o == _result(lambda t=target: type(theirs.get_submodule(t)).__name__)
    for target in ("seq.1.weight", "seq.1", "seq.1.zz", "x", "seq.1.training", "a.bias"):
        o = _result(lambda t=target: ours.get_parameter(t).shape)
        assert o == _result(lambda t=target: tuple(theirs.get_parameter(t).shape))
    assert MiniNet(nn).get_buffer("steps") is not None
    with pytest.raises(AttributeError, match="not a buffer"):
        MiniNet(nn).get_buffer("scale")


def _layout(m):
    """The children of a container as (name, type name) pairs."""
    return [(name, type(c).__name__) for name, c in m._modules.items()]


@pytest.mark.parametrize("kind", ["Sequential", "ModuleList"])
@pytest.mark.parametrize(
    "edit",
    [
        lambda c, lib: c.__delitem__(1),
        lambda c, lib: c.__delitem__(-1),
        lambda c, lib: c.__delitem__(slice(0, 2)),
        lambda c, lib: c.__delitem__(slice(None, None, 2)),
        lambda c, lib: c.__setitem__(0, lib.Sigmoid()),
        lambda c, lib: c.__setitem__(-2, lib.Sigmoid()),
        lambda c, lib: c.__setitem__(3, lib.Sigmoid()),
        lambda c, lib: c.__delitem__(3),
        lambda c, lib: c.__setitem__(0, 3),
        lambda c, lib: c.insert(0, lib.Sigmoid()),
        lambda c, lib: c.insert(1, lib.Sigmoid()),
        lambda c, lib: c.insert(3, lib.Sigmoid()),
        lambda c, lib: c.append(lib.Sigmoid()).extend([lib.Tanh()]),
        lambda c, lib: type(c.pop(1)).__name__,
        lambda c, lib: type(c[-3]).__name__,
        lambda c, lib: c[3],
    ],
)
def test_indexed_containers_edit_like_torch(kind, edit):
    def fn(lib, zeros):
        c = getattr(lib, kind)(lib.ReLU(), lib.Tanh(), lib.Identity()) if kind == "Sequential" else None
        if c is None:
            c = lib.ModuleList([lib.ReLU(), lib.Tanh(), lib.Identity()])
        r = edit(c, lib)
        return (r if isinstance(r, str) else None), _layout(c)

    ours, theirs = both(fn)
    if isinstance(theirs, tuple) and isinstance(theirs[0], type):
        assert ours[0] is theirs[0]
    else:
        assert ours == theirs


def test_sequential_deletion_renumbers_named_children_like_torch():
    def fn(lib, zeros):
        s = lib.Sequential(OrderedDict(a=lib.ReLU(), b=lib.Tanh(), c=lib.Identity()))
        del s[1]
        s.insert(0, lib.Sigmoid())
        return _layout(s), list(s(zeros(2)).shape)

    ours, theirs = both(fn)
    assert ours[0] == theirs[0]


def test_module_dict_methods_like_torch():
    def fn(lib, zeros):
        d = lib.ModuleDict({"a": lib.ReLU()})
        d.update([("b", lib.Tanh())])
        d.update(OrderedDict(c=lib.Identity(), a=lib.Sigmoid()))
        popped = type(d.pop("b")).__name__
        del d["c"]
        return popped, list(d.keys()), [type(v).__name__ for v in d.values()], [k for k, _ in d.items()], "a" in d

    ours, theirs = both(fn)
    assert ours == theirs
    for bad in (3, [("a",)], [3]):
        o, t = both(lambda lib, zeros, bad=bad: lib.ModuleDict().update(bad))
        assert o[0] is t[0]
        if bad != [3]:
            assert o[1] == t[1]
    d = nn.ModuleDict({"x": nn.ReLU()})
    d.clear()
    assert len(d) == 0


def test_forward_hooks_like_torch():
    def fn(lib, zeros):
        calls = []
        m = lib.Linear(2, 2)
        h1 = m.register_forward_pre_hook(lambda mod, args: calls.append(("pre", len(args))))
        h2 = m.register_forward_pre_hook(lambda mod, args: args[0] * 0, prepend=True)  # not a tuple: wrapped
        h3 = m.register_forward_hook(lambda mod, args, out: calls.append(("post", tuple(out.shape))))
        h4 = m.register_forward_hook(lambda mod, args, out: out + 1)
        h5 = m.register_forward_hook(lambda mod, a, kw, out: calls.append(("kw", sorted(kw))), with_kwargs=True)
        y = m(zeros(3, 2) + 1)  # the pre-hook zeroes the input, the hook adds 1
        for h in (h1, h2, h3, h4, h5):
            h.remove()
        h1.remove()  # removing twice is harmless
        z = m(zeros(3, 2))
        return calls, np.round(y.detach().numpy() - m.bias.detach().numpy(), 5).tolist(), tuple(z.shape)

    ours, theirs = both(fn)
    assert ours == theirs
    m = nn.Identity()
    with m.register_forward_hook(lambda mod, args, out: out * 2):
        assert m(mc.ones(1)).item() == 2
    assert m(mc.ones(1)).item() == 1


def test_repr_layout_is_torchs_for_extra_repr_with_children():
    """A one-line extra_repr is inline only without children; several lines, one per line."""

    def make(nn_module, linear):
        class Block(nn_module):
            def __init__(self, extra, children):
                super().__init__()
                self.extra = extra
                for i in range(children):
                    setattr(self, f"l{i}", linear(2, 3))

            def extra_repr(self):
                return self.extra

        return Block

    ours, theirs = make(mc.nn.Module, mc.nn.Linear), make(torch.nn.Module, torch.nn.Linear)
    for extra in ("", "k=1", "k=1\nj=2"):
        for children in (0, 1, 2):
            assert repr(ours(extra, children)) == repr(theirs(extra, children)), (extra, children)


def test_sequential_and_modulelist_operators_dir_and_insert_like_torch():
    """Sequential +, +=, *, *=, rmul and ModuleList + (modules shared, not copied); dir leaves
    the digit names out; Sequential.insert: IndexError outside [-n, n], at n the names stay."""

    def run(lib):
        a = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
        b = lib.nn.Sequential(lib.nn.Identity())
        out = [repr(a + b), repr(a * 2), repr(2 * a), (a * 2)[2] is a[0]]
        c = lib.nn.Sequential(lib.nn.ReLU())
        c += b
        c *= 2
        out.append([type(m).__name__ for m in c])
        errs = []
        bads = (lambda: a + lib.nn.ModuleList(), lambda: a * 0, lambda: a * 1.5, lambda: a.insert(5, lib.nn.ReLU()))
        for bad in bads:
            try:
                bad()
                errs.append(None)
            except Exception as e:  # noqa: BLE001 - the type is compared
                errs.append(type(e).__name__)
        out.append(errs)
        ml = lib.nn.ModuleList([lib.nn.ReLU()]) + [lib.nn.Tanh()]
        out += [type(ml).__name__, repr(ml), [k for k in dir(a) if k.isdigit()], [k for k in dir(ml) if k.isdigit()]]
        named = lib.nn.Sequential(OrderedDict(x=lib.nn.ReLU(), y=lib.nn.Tanh()))
        named.insert(2, lib.nn.Identity())
        named.insert(-1, lib.nn.Sigmoid())
        out.append([(k, type(m).__name__) for k, m in named._modules.items()])
        seq = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
        seq.insert(-2, lib.nn.Identity())
        seq.insert(-1, lib.nn.Sigmoid())
        out.append([(k, type(m).__name__) for k, m in seq._modules.items()])
        return out

    ours, theirs = run(mc), run(torch)
    assert ours == theirs


def test_load_state_dict_assign_takes_the_values_like_torch():
    """assign=True: parameters become the given tensors (their dtype and memory, Parameters
    keeping requires_grad), buffers too; missing keys and errors as without it."""

    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
        m[0].bias.requires_grad_(False)
        src = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3)).double()
        sd = src.state_dict(keep_vars=False)
        sd = {k: (torch.as_tensor(np.asarray(v)) if lib is torch else mc.tensor(np.asarray(v))) for k, v in sd.items()}
        res = m.load_state_dict(sd, assign=True)
        w = m[0].weight
        out = [repr(res), type(w).__name__, str(w.dtype).replace("torch.", "")]
        out += [w.requires_grad, m[0].bias.requires_grad]
        out.append(str(m[1].running_mean.dtype).replace("torch.", ""))
        sd["0.weight"][0, 0] = 5.0  # the module holds the given tensor itself
        out.append(float(m[0].weight.detach()[0, 0]))
        del sd["1.bias"]
        out.append(repr(m.load_state_dict(sd, strict=False, assign=True)))
        sd["1.weight"] = sd["0.bias"][:2]
        try:
            m.load_state_dict(sd, strict=False, assign=True)
        except RuntimeError as e:
            out.append("size mismatch for 1.weight" in str(e))
        return out

    ours, theirs = run(mc), run(torch)
    assert ours == theirs


def test_extra_state_is_saved_and_loaded_like_torch():
    """get_extra_state / set_extra_state: the ``_extra_state`` key, after the buffers; missing
    and unexpected when only one side has it."""

    def make(lib):
        class WithState(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(1, 1)
                self.register_buffer("b", lib.zeros(1))
                self.counter = 0

            def get_extra_state(self):
                return {"counter": self.counter}

            def set_extra_state(self, state):
                self.counter = state["counter"]

        return WithState

    def run(lib):
        cls = make(lib)
        src, dst = cls(), cls()
        src.counter = 7
        sd = src.state_dict()
        out = [list(sd), sd["_extra_state"]]
        dst.load_state_dict(sd)
        out.append(dst.counter)
        plain = lib.nn.Sequential(lib.nn.Linear(1, 1))
        keys = {"0.weight": sd["lin.weight"], "0.bias": sd["lin.bias"], "0._extra_state": 1}
        out.append(repr(plain.load_state_dict(keys, strict=False)))
        wrapped = lib.nn.Sequential(cls())
        keys = {"0.lin.weight": sd["lin.weight"], "0.lin.bias": sd["lin.bias"], "0.b": sd["b"]}
        out.append(repr(wrapped.load_state_dict(keys, strict=False)))
        for name in ("get_extra_state", "set_extra_state"):
            try:
                getattr(lib.nn.Module(), name)(*([] if name == "get_extra_state" else [1]))
            except RuntimeError:
                out.append("RuntimeError")
        return out

    ours, theirs = run(mc), run(torch)
    assert ours == theirs


def test_half_and_type_cast_like_torch():
    """half(): floating parameters and buffers to float16 (integer buffers stay); type(dtype): all of them."""

    def run(lib):
        m = lib.nn.BatchNorm1d(2).half()
        out = [str(t.dtype).replace("torch.", "") for t in [*m.parameters(), *m.buffers()]]
        m.type(lib.float64)
        return out + [str(t.dtype).replace("torch.", "") for t in [*m.parameters(), *m.buffers()]] + [m._get_name()]

    assert run(mc) == run(torch)


def test_to_empty_like_torch():
    """to_empty(device=...): the same Parameter and gradient objects (requires_grad kept) with new
    data of the same shapes and dtypes; keyword-only device; recurse=False leaves the children."""

    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3)).double()
        w, bias = m[0].weight, m[0].bias
        w.grad = lib.ones(3, 2, dtype=lib.float64)
        grad = w.grad
        bias.requires_grad_(False)
        out = [m.to_empty(device="cpu") is m, m[0].weight is w, w.grad is grad, bias.requires_grad]
        tensors = [*m.named_parameters(), *m.named_buffers()]
        out += [(k, type(t).__name__, tuple(t.shape), str(t.dtype).replace("torch.", "")) for k, t in tensors]
        for call in (lambda: m.to_empty("cpu"), lambda: m.to_empty()):
            with pytest.raises(TypeError):
                call()
        return out

    assert run(mc) == run(torch)


def test_to_empty_materialises_a_meta_module():
    """The meta-device recipe: build on 'meta', to_empty(device='cpu'), initialise, run; with
    recurse=False only the module's own tensors get data; device=None keeps each one's device."""
    from minicnn.func import _MetaArray  # noqa: PLC0415

    def is_meta(t):
        return isinstance(t.__dict__["array"], _MetaArray)

    model = nn.Sequential(nn.Linear(2, 3)).to("meta")
    model.to_empty(device="cpu", recurse=False)
    assert is_meta(model[0].weight)  # a child: untouched
    model.to_empty(device=None)
    assert is_meta(model[0].weight)
    model.to_empty(device="cpu")
    assert not is_meta(model[0].weight) and model[0].weight.device == "cpu"
    model[0].reset_parameters()
    x = mc.ones(4, 2)
    expected = x.detach().numpy() @ model[0].weight.detach().numpy().T + model[0].bias.detach().numpy()
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="device"):
        model.to_empty(device="nowhere")
    assert is_meta(model.to_empty(device="meta")[0].weight)


def test_register_backward_hook_refused_with_the_full_hook_named():
    """torch's deprecated non-full backward hook sees its last autograd node's gradients, which
    minicnn's graph does not reproduce: NotImplementedError pointing at the full hook."""
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        nn.Linear(2, 2).register_backward_hook(lambda module, gin, gout: None)
    with pytest.raises(NotImplementedError, match="register_module_full_backward_hook"):
        mc.nn.modules.module.register_module_backward_hook(lambda module, gin, gout: None)
    assert callable(torch.nn.Linear(2, 2).register_backward_hook)  # torch has both names
    assert callable(torch.nn.modules.module.register_module_backward_hook)


def test_module_compile_and_class_flags_like_torch():
    """Module.compile() returns None and the module still runs (eagerly); call_super_init and
    dump_patches are False, as torch's."""
    assert torch.nn.Module.call_super_init is False and torch.nn.Module.dump_patches is False
    assert nn.Module.call_super_init is False and nn.Module.dump_patches is False
    m = nn.Linear(2, 2)
    before = m(mc.ones(1, 2)).detach().numpy()
    assert m.compile() is None and m.compile(mode="max-autotune", fullgraph=True) is None
    np.testing.assert_array_equal(m(mc.ones(1, 2)).detach().numpy(), before)
