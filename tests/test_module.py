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


def test_load_state_dict_strict_lists_missing_and_unexpected():
    m = MiniNet(nn)
    sd = m.state_dict()
    del sd["body.0.weight"]
    sd["bogus.weight"] = np.zeros(1)
    with pytest.raises(KeyError) as err:
        m.load_state_dict(sd)
    assert "body.0.weight" in str(err.value) and "bogus.weight" in str(err.value)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["body.0.weight"] and unexpected == ["bogus.weight"]
    sd = m.state_dict()
    sd["body.0.weight"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match="size mismatch for body.0.weight"):
        m.load_state_dict(sd)


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
    ours = getattr(nn.init, name)(mc.zeros(*shape), **kwargs).numpy()
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
