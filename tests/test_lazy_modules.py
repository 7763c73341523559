"""Lazy modules (minicnn.nn.lazy, minicnn.nn.parameter) against torch's."""

from __future__ import annotations

import copy
import inspect
import pickle
import warnings

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import lazy
from minicnn.nn.conv import Conv2d
from minicnn.nn.lazy import LazyModuleMixin
from minicnn.nn.linear import Linear
from minicnn.nn.module import Module
from minicnn.nn.parameter import Parameter, UninitializedBuffer, UninitializedParameter, is_lazy
from minicnn.ops.errors import ShapeError

NAMES = [
    "LazyLinear",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
]

# name -> (positional args, keyword args, input shape): one case per layer
CASES = {
    "LazyLinear": ((5,), {}, (3, 4)),
    "LazyConv1d": ((4, 3), {"padding": 1}, (2, 6, 7)),
    "LazyConv2d": ((4, 3), {"groups": 2, "stride": 2}, (2, 6, 7, 6)),
    "LazyConv3d": ((2, 2), {}, (1, 3, 4, 3, 4)),
    "LazyConvTranspose1d": ((4, 3), {"stride": 2}, (2, 6, 5)),
    "LazyConvTranspose2d": ((4, 3), {"groups": 2, "output_padding": 1, "stride": 2}, (2, 6, 3, 4)),
    "LazyConvTranspose3d": ((2, 2), {}, (1, 3, 3, 2, 3)),
    "LazyBatchNorm1d": ((), {}, (4, 3, 5)),
    "LazyBatchNorm2d": ((), {"momentum": None}, (3, 2, 4, 4)),
    "LazyBatchNorm3d": ((), {"affine": False}, (2, 3, 2, 3, 2)),
    "LazyInstanceNorm1d": ((), {}, (2, 3, 6)),
    "LazyInstanceNorm2d": ((), {"bias": False}, (2, 3, 4, 5)),
    "LazyInstanceNorm3d": ((), {"track_running_stats": False}, (2, 2, 3, 3, 3)),
}


def _pair(name: str, dtype=None):
    """(minicnn's layer, torch's, the input shape) of ``CASES[name]``; ``dtype``: float64 or None."""
    args, kwargs, shape = CASES[name]
    t = getattr(torch.nn, name)(*args, **kwargs, dtype=None if dtype is None else torch.float64)
    return getattr(lazy, name)(*args, **kwargs, dtype=dtype), t, shape


def _input(shape, dtype=np.float32, seed=0, device="cpu"):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return mc.tensor(a, device=device), torch.tensor(a)


def _load_into_torch(tm: torch.nn.Module, mm: Module) -> None:
    tm.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in mm.state_dict().items()})


def _params(tm: torch.nn.Module) -> list:
    return [(k, tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in tm.state_dict().items()]


def _mc_params(mm: Module) -> list:
    return [(k, tuple(v.shape), str(v.dtype)) for k, v in mm.state_dict().items()]


# -- signatures and what an uninitialised module looks like ---------------------------------------


def _signature(obj) -> list:
    return [
        (p.name, p.kind, p.default)
        for p in inspect.signature(obj).parameters.values()
        if not (p.name == "algo" and p.kind is p.KEYWORD_ONLY)  # minicnn's Conv2d kernel choice
    ]


@pytest.mark.parametrize("name", NAMES)
def test_signature_repr_and_state_dict_before_the_first_forward(name):
    assert _signature(getattr(lazy, name)) == _signature(getattr(torch.nn, name))
    m, t, _ = _pair(name)
    assert repr(m) == repr(t)
    assert m.has_uninitialized_params() == t.has_uninitialized_params()
    ms, ts = m.state_dict(), t.state_dict()
    assert list(ms) == list(ts)
    for k in ts:
        assert is_lazy(ms[k]) == torch.nn.parameter.is_lazy(ts[k])
        if is_lazy(ms[k]):
            assert repr(ms[k]) == repr(ts[k])
        else:
            np.testing.assert_array_equal(ms[k], ts[k].numpy())
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert [type(p).__name__ for p in m.parameters()] == [type(p).__name__ for p in t.parameters()]


def test_uninitialized_tensor_signatures_and_reprs():
    P, B, TP, TB = (
        UninitializedParameter,
        UninitializedBuffer,
        torch.nn.UninitializedParameter,
        torch.nn.UninitializedBuffer,
    )
    assert _signature(P) == _signature(TP)
    assert _signature(B) == _signature(TB)
    assert _signature(P.materialize) == _signature(TP.materialize)
    for ours, theirs in ((P(), TP()), (B(), TB())):
        assert repr(ours) == repr(theirs)
        assert ours.requires_grad == theirs.requires_grad
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert ours.size() == tuple(theirs.size())
    assert isinstance(P(), Parameter) and is_lazy(P()) and is_lazy(B()) and not is_lazy(Parameter(np.ones(2)))
    assert P(dtype=np.float64).dtype == np.float64 and not P(requires_grad=False).requires_grad
    assert B(persistent=False).persistent is False


def test_materialize_becomes_the_plain_class_in_place():
    p, b = UninitializedParameter(dtype=np.float64), UninitializedBuffer()
    p.materialize((2, 3))
    b.materialize(4, dtype=np.float16)
    assert type(p) is Parameter and p.shape == (2, 3) and p.dtype == np.float64 and p.requires_grad
    assert type(b) is mc.Tensor and b.shape == (4,) and b.dtype == np.float16 and not b.requires_grad
    tp = torch.nn.UninitializedParameter(dtype=torch.float64)
    tp.materialize((2, 3))
    assert type(tp) is torch.nn.Parameter and tp.dtype == torch.float64


# -- inference, the eager class, the same draws ---------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_first_forward_infers_shapes_and_matches_torch(name):
    m, t, shape = _pair(name)
    x, tx = _input(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither warns
        m(x)
        t(tx)
    assert type(m).__name__ == type(t).__name__ == name[4:]
    assert type(m) is getattr(lazy, name).cls_to_become
    assert repr(m) == repr(t)
    assert _mc_params(m) == _params(t)
    assert not m._forward_pre_hooks and not m._load_state_dict_pre_hooks
    assert not hasattr(m, "_initialize_hook") and not hasattr(t, "_initialize_hook")
    assert all(type(p) is Parameter for p in m.parameters())
    assert all(type(b) is mc.Tensor for b in m.buffers())


# LazyX(...) then forward, vs X(inferred, ...), both after the same seed: torch's property
SEEDED = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d"]


@pytest.mark.parametrize("name", SEEDED)
def test_same_weights_as_the_eager_layer_after_seeding(name):
    args, kwargs, shape = CASES[name]
    in_size = shape[-1] if name == "LazyLinear" else shape[1]
    x, tx = _input(shape)
    results = []
    for seed_fn, lazy_nn, eager_nn, inp in (
        (mc.manual_seed, lazy, mc.nn, x),
        (torch.manual_seed, torch.nn, torch.nn, tx),
    ):
        seed_fn(3)
        lazy_layer = getattr(lazy_nn, name)(*args, **kwargs)
        lazy_layer(inp)
        seed_fn(3)
        results.append((lazy_layer, getattr(eager_nn, name[4:])(in_size, *args, **kwargs)))
    for lazy_layer, eager in results:
        for (k, a), (_, b) in zip(lazy_layer.state_dict().items(), eager.state_dict().items()):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=k)


@settings(max_examples=25, deadline=None)
@given(
    in_features=st.integers(1, 6),
    out_features=st.integers(1, 5),
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_lazy_linear_outputs_and_gradients_equal_torch(in_features, out_features, lead, bias, seed):
    m = lazy.LazyLinear(out_features, bias=bias, dtype=np.float64)
    x, tx = _input((*lead, in_features), np.float64, seed)
    x.requires_grad, tx.requires_grad = True, True
    y = m(x)
    t = torch.nn.Linear(in_features, out_features, bias=bias, dtype=torch.float64)
    _load_into_torch(t, m)
    ty = t(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(seed + 1).standard_normal(ty.shape)
    (y * mc.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    for (k, p), tp in zip(m.named_parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=k)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(["LazyConv1d", "LazyConv2d", "LazyConvTranspose1d", "LazyConvTranspose2d"]),
    groups=st.sampled_from([1, 2]),
    c_in=st.sampled_from([2, 4]),
    k=st.integers(1, 3),
    stride=st.integers(1, 2),
    batched=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_lazy_convolutions_equal_torch(name, groups, c_in, k, stride, batched, seed):
    m = getattr(lazy, name)(4, k, stride=stride, groups=groups, dtype=np.float64)
    dims = 1 if name.endswith("1d") else 2
    shape = (c_in, *(5,) * dims) if not batched else (2, c_in, *(5,) * dims)
    x, tx = _input(shape, np.float64, seed)
    x.requires_grad, tx.requires_grad = True, True
    y = m(x)
    t = getattr(torch.nn, name[4:])(c_in, 4, k, stride=stride, groups=groups, dtype=torch.float64)
    _load_into_torch(t, m)
    assert repr(m) == repr(t)
    ty = t(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(seed + 1).standard_normal(ty.shape)
    (y * mc.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (key, p), tp in zip(m.named_parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-11, err_msg=key)


@pytest.mark.parametrize("name", [n for n in NAMES if "Norm" in n])
def test_lazy_norms_train_and_eval_like_torch(name):
    m, t, shape = _pair(name, dtype=np.float64)
    for step in range(2):
        x, tx = _input(shape, np.float64, seed=step)
        x.requires_grad, tx.requires_grad = True, True
        y, ty = m(x), t(tx)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-10)
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-9)
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(np.asarray(m.state_dict()[k]), v.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
    m.eval(), t.eval()
    x, tx = _input(shape, np.float64, seed=9)
    np.testing.assert_allclose(m(x).numpy(), t(tx).detach().numpy(), rtol=1e-9, atol=1e-10)


def test_lazy_conv_gradcheck_after_initialisation():
    m = lazy.LazyConv2d(2, 2, padding=1, dtype=np.float64)
    x = mc.tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 3)), requires_grad=True)
    m(x)
    assert mc.gradcheck(lambda x, w, b: mc.nn.functional.conv2d(x, w, b, padding=1), [x, m.weight, m.bias])


# -- dtype and device before the first forward ----------------------------------------------------


def test_to_dtype_before_initialisation_like_torch():
    m, t = lazy.LazyLinear(3), torch.nn.LazyLinear(3)
    assert m.double() is m
    t.double()
    assert is_lazy(m.weight) and m.weight.dtype == np.float64
    m(mc.tensor(np.ones((2, 4))))
    t(torch.ones(2, 4, dtype=torch.float64))
    assert _mc_params(m) == _params(t)
    b = lazy.LazyBatchNorm2d(dtype=np.float64).float()
    assert b.running_mean.dtype == np.float32 and b.num_batches_tracked.dtype == np.int64
    b(mc.tensor(np.ones((2, 3, 2, 2), np.float32)))
    assert b.running_var.dtype == np.float32 and b.weight.dtype == np.float32


@pytest.mark.parametrize("device", devices())
def test_lazy_layers_on_a_device(device):
    x = mc.tensor(np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32))
    mc.manual_seed(5)
    on_cpu = mc.nn.Sequential(lazy.LazyConv2d(4, 3), lazy.LazyBatchNorm2d())
    y_cpu = on_cpu(x)
    mc.manual_seed(5)
    moved = mc.nn.Sequential(lazy.LazyConv2d(4, 3), lazy.LazyBatchNorm2d()).to(device)
    built = mc.nn.Sequential(lazy.LazyConv2d(4, 3, device=device), lazy.LazyBatchNorm2d(device=device))
    assert moved[0].weight.device == built[1].running_mean.device == mc.backend.device_str(device)
    y = moved(x.to(device))
    built(x.to(device))
    assert y.device == moved[0].weight.device == moved[1].running_var.device == mc.backend.device_str(device)
    assert built[0].bias.device == built[1].num_batches_tracked.device == mc.backend.device_str(device)
    np.testing.assert_allclose(mc.backend.to_numpy(y.array), y_cpu.numpy(), rtol=1e-4, atol=1e-5)
    for (k, a), (_, b) in zip(moved.state_dict().items(), on_cpu.state_dict().items()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=k)


# -- state dicts ----------------------------------------------------------------------------------


def test_state_dict_round_trips():
    # uninitialised -> uninitialised: stays lazy, as torch
    a, b = lazy.LazyConv2d(3, 2), lazy.LazyConv2d(3, 2)
    ta, tb = torch.nn.LazyConv2d(3, 2), torch.nn.LazyConv2d(3, 2)
    assert repr(b.load_state_dict(a.state_dict())) == repr(tb.load_state_dict(ta.state_dict()))
    assert b.has_uninitialized_params() and tb.has_uninitialized_params()
    assert list(a.state_dict(keep_vars=True).values())[0] is a.weight
    # initialised -> uninitialised: materialised with the checkpoint's shapes and values
    eager = Conv2d(4, 3, 2)
    keys = b.load_state_dict(eager.state_dict())
    assert not keys.missing_keys and not keys.unexpected_keys and type(b).__name__ == "LazyConv2d"
    assert [type(p) for p in b.parameters()] == [Parameter, Parameter]
    x, tx = _input((1, 4, 5, 5))
    np.testing.assert_allclose(b(x).numpy(), eager(x).numpy(), rtol=1e-6, atol=1e-6)
    te = torch.nn.Conv2d(4, 3, 2)
    _load_into_torch(te, eager)
    np.testing.assert_allclose(b(x).numpy(), te(tx).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert type(b) is Conv2d and b.in_channels == 4  # torch leaves in_channels at 0 here
    # initialised lazy -> a new lazy one, then a plain one
    n = lazy.LazyBatchNorm1d()
    n(mc.tensor(np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)))
    n2 = lazy.LazyBatchNorm1d()
    n2.load_state_dict(n.state_dict())
    n2(mc.tensor(np.ones((2, 3), np.float32)))
    assert n2.num_features == 3
    m = copy.deepcopy(n)
    assert m.load_state_dict(n2.state_dict())


def test_state_dict_loading_errors_like_torch():
    lin = lazy.LazyLinear(3)
    lin.load_state_dict(Linear(4, 3).state_dict())
    with pytest.raises(ShapeError, match="in_features"):  # torch: an AssertionError
        lin(mc.tensor(np.ones((2, 5), np.float32)))
    assert type(lin) is lazy.LazyLinear
    msg = "Can't access the shape of an uninitialized parameter"
    with pytest.raises(RuntimeError, match=msg):
        Linear(4, 3).load_state_dict(lazy.LazyLinear(3).state_dict())
    with pytest.raises(RuntimeError, match=msg):
        torch.nn.Linear(4, 3).load_state_dict(torch.nn.LazyLinear(3).state_dict())
    # a failed load (missing key) leaves the lazy module as it was (torch does not roll back)
    m = lazy.LazyLinear(3)
    with pytest.raises(RuntimeError, match="Missing key"):
        m.load_state_dict({"weight": np.ones((3, 4), np.float32)})
    assert m.has_uninitialized_params() and is_lazy(m.weight) and is_lazy(m.bias)
    keys = m.load_state_dict({"weight": np.ones((3, 4), np.float32)}, strict=False)
    tm = torch.nn.LazyLinear(3)
    tkeys = tm.load_state_dict({"weight": torch.ones(3, 4)}, strict=False)
    assert keys.missing_keys == tkeys.missing_keys == ["bias"]
    assert type(m.weight) is Parameter and is_lazy(m.bias)


@pytest.mark.parametrize("strict", [True, False])
def test_a_value_for_an_uninitialized_tensor_outside_a_lazy_module_is_an_error_like_torch(strict):
    """Only a lazy module's load hook materialises an uninitialised tensor; one held by a plain
    module cannot take a checkpoint's value, and the load says so instead of skipping it."""
    for lib, mod, param, buf in (
        (mc, Module(), UninitializedParameter(), UninitializedBuffer()),
        (torch, torch.nn.Module(), torch.nn.UninitializedParameter(), torch.nn.UninitializedBuffer()),
    ):
        mod.w = param
        mod.register_buffer("b", buf)
        with pytest.raises(RuntimeError, match='While copying the parameter named "w"'):
            mod.load_state_dict({"w": np.ones(3, np.float32) if lib is mc else torch.ones(3), "b": buf}, strict)
        with pytest.raises(RuntimeError, match='While copying the parameter named "b"'):
            mod.load_state_dict({"w": param, "b": np.ones(2, np.float32) if lib is mc else torch.ones(2)}, strict)
        assert is_lazy(mod.w) if lib is mc else isinstance(mod.w, torch.nn.UninitializedParameter)
        mod.load_state_dict({"w": param, "b": buf}, strict)  # both uninitialised: nothing to copy


# -- errors, copies, optimisers -------------------------------------------------------------------


def test_using_an_uninitialized_parameter_raises_a_clear_error():
    m = lazy.LazyLinear(3)
    x = mc.tensor(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="uninitialized parameter.*forward"):
        mc.nn.functional.linear(x, m.weight)
    with pytest.raises(ValueError, match="uninitialized parameter"):
        m.weight * 2
    with pytest.raises(ValueError, match="uninitialized parameter"):
        torch.nn.LazyLinear(3).weight * 2
    with pytest.raises(RuntimeError, match="shape of an uninitialized"):
        m.weight.shape  # noqa: B018
    with pytest.raises(ValueError, match="uninitialized parameter"):
        m.weight.numel()
    assert m.weight.double().dtype == np.float64 and is_lazy(m.weight.double())


def test_bad_first_inputs():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"):
        lazy.LazyConv2d(4, 3)(mc.tensor(np.ones((3, 5), np.float32)))
    with pytest.raises(ValueError, match="must be divisible by groups"):
        lazy.LazyConv2d(4, 3, groups=2)(mc.tensor(np.ones((1, 3, 5, 5), np.float32)))
    with pytest.raises(ValueError, match="must be divisible by groups"):
        torch.nn.LazyConv2d(4, 3, groups=2)(torch.ones(1, 3, 5, 5))
    with pytest.raises(ValueError):
        lazy.LazyBatchNorm2d()(mc.tensor(np.ones((2, 3, 5), np.float32)))
    with pytest.raises(ValueError):
        torch.nn.LazyBatchNorm2d()(torch.ones(2, 3, 5))
    with pytest.raises(TypeError, match="LazyLinear"):
        lazy.LazyLinear(3)(np.ones((2, 3)))


def test_lazy_instance_norm_infers_the_channels_of_an_unbatched_input():
    # torch reads input.shape[1] (here L = 6) and then refuses its own input; minicnn takes C
    m = lazy.LazyInstanceNorm1d()
    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    y = m(mc.tensor(x))
    assert m.num_features == 3 and m.weight.shape == (3,)
    t = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    np.testing.assert_allclose(y.numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_a_mixin_without_initialize_parameters_or_that_leaves_some_uninitialised():
    class Half(LazyModuleMixin, Module):
        def __init__(self):
            super().__init__()
            self.w = UninitializedParameter()

        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented for Half"):
        Half()(mc.tensor(np.ones(2)))

    class Lazier(Half):
        def initialize_parameters(self, x):
            pass

    with pytest.raises(RuntimeError, match="module Lazier has not been fully initialized"):
        Lazier()(mc.tensor(np.ones(2)))


def test_deepcopy_and_pickle_of_an_uninitialised_module():
    m = mc.nn.Sequential(lazy.LazyLinear(4).double(), mc.nn.ReLU(), lazy.LazyLinear(2))
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert is_lazy(c[0].weight) and c[0].weight is not m[0].weight and c[0].weight.dtype == np.float64
        c[2].double()
        c(mc.tensor(np.ones((3, 5))))
        assert type(c[0]) is Linear and c[2].weight.shape == (2, 4)
        assert is_lazy(m[0].weight)


def test_an_optimiser_built_before_the_first_forward():
    x, tx = _input((4, 3), np.float64)
    m, t = lazy.LazyLinear(2, dtype=np.float64), torch.nn.LazyLinear(2, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch 2.14 does not warn
        opts = [
            mc.optim.SGD(m.parameters(), lr=0.5, momentum=0.9),
            torch.optim.SGD(t.parameters(), lr=0.5, momentum=0.9),
        ]
        for opt in opts:
            opt.step()  # no gradients yet: nothing happens
    m(x), t(tx)
    _load_into_torch(t, m)
    start = m.weight.numpy()
    for _ in range(2):
        for model, opt, inp in ((m, opts[0], x), (t, opts[1], tx)):
            opt.zero_grad()
            (model(inp) ** 2).sum().backward()
            opt.step()
    for (k, a), b in zip(m.state_dict().items(), t.state_dict().values()):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-12, err_msg=k)
    assert not np.allclose(m.weight.numpy(), start)  # the optimiser moved the (same) parameter


@pytest.mark.parametrize("name", ["LazyBatchNorm1d", "LazyInstanceNorm1d"])
def test_a_norm_with_nothing_to_infer_still_records_num_features(name):
    # torch leaves num_features at 0 (its InstanceNorm1d then warns on every call); minicnn
    # records the input's channels, which its BatchNorm checks against the input
    m = getattr(lazy, name)(affine=False, track_running_stats=False)
    assert not m.has_uninitialized_params()
    x = np.random.default_rng(0).standard_normal((4, 3, 5)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = m(mc.tensor(x))
    assert m.num_features == 3 and type(m).__name__ == name[4:]
    t = getattr(torch.nn, name[4:])(3, affine=False, track_running_stats=False)
    np.testing.assert_allclose(y.numpy(), t(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-5)
