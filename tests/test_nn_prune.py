"""mc.nn.utils.prune against torch.nn.utils.prune: the masks the deterministic methods choose
(l1 / ln-structured / global, alone and chained), the pruned forward and the gradients reaching
``weight_orig``, parameter / buffer / state-dict names, ``remove``, custom methods, the random
methods' counts and structure, errors, devices and gradcheck."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.utils.prune as TP
from conftest import TOL, devices
from hypothesis import example, given, settings

import minicnn as mc
from minicnn.nn.utils import prune as P


def twins(kind: str, shape: tuple[int, ...], seed: int, device: str = "cpu") -> tuple[mc.nn.Module, torch.nn.Module]:
    """A Linear (shape (out, in)) or Conv2d (shape (out, in, k, k)) in both, same float64 weights."""
    torch.manual_seed(seed)
    if kind == "linear":
        theirs, ours = torch.nn.Linear(shape[1], shape[0]), mc.nn.Linear(shape[1], shape[0])
    else:
        theirs, ours = torch.nn.Conv2d(shape[1], shape[0], shape[2]), mc.nn.Conv2d(shape[1], shape[0], shape[2])
    theirs = theirs.double()
    ours.double().load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours.to(device), theirs


def assert_pruned_like_torch(ours: mc.nn.Module, theirs: torch.nn.Module, x: np.ndarray, device: str = "cpu") -> None:
    """Same names, masks, pruned weights, forward output and gradients of the ``_orig`` tensors."""
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, buf in theirs.named_buffers():
        np.testing.assert_array_equal(ours.get_buffer(name).numpy(), buf.numpy(), err_msg=name)
    mo, to = ours(mc.tensor(x, device=device)), theirs(torch.tensor(x))
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), **TOL[np.float64])
    mo.sum().backward()
    to.sum().backward()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours.get_parameter(name).grad.numpy(), p.grad.numpy(), **TOL[np.float64])


def prune_both(call) -> bool:
    """``call(prune_module, module)`` on torch's twin, then on ours; where torch raises (an integer
    amount above the number of units), ours must raise the same error. True when both pruned."""
    try:
        call(TP, "theirs")
    except ValueError as ref:
        with pytest.raises(ValueError) as err:
            call(P, "ours")
        assert str(err.value) == str(ref)
        return False
    call(P, "ours")
    return True


def sample_input(kind: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((2, shape[1]) if kind == "linear" else (2, shape[1], shape[2] + 2, shape[2] + 2))


layer = st.one_of(
    st.tuples(st.just("linear"), st.tuples(st.integers(2, 6), st.integers(1, 6))),
    st.tuples(st.just("conv"), st.tuples(st.integers(2, 5), st.integers(1, 3), st.integers(1, 3))),
)
amount = st.one_of(st.floats(0.0, 1.0), st.integers(0, 2))


# -- deterministic methods: exactly torch's entries ---------------------------------------------
@settings(max_examples=25, deadline=None)
@given(layer=layer, amount=amount, name=st.sampled_from(["weight", "bias"]), seed=st.integers(0, 2**16))
def test_l1_unstructured_like_torch(layer, amount, name, seed):
    kind, shape = layer
    ours, theirs = twins(kind, shape, seed)
    P.l1_unstructured(ours, name, amount=amount)
    TP.l1_unstructured(theirs, name, amount=amount)
    assert_pruned_like_torch(ours, theirs, sample_input(kind, shape, seed))


@settings(max_examples=25, deadline=None)
@given(
    layer=layer,
    amount=amount,
    n=st.sampled_from([1, 2, 3, math.inf, -math.inf]),
    dim=st.integers(-2, 1),
    seed=st.integers(0, 2**16),
)
@example(layer=("linear", (2, 1)), amount=2, n=1, dim=1, seed=0)
def test_ln_structured_like_torch(layer, amount, n, dim, seed):
    kind, shape = layer
    twin = dict(zip(("ours", "theirs"), twins(kind, shape, seed)))
    if not prune_both(lambda p, m: p.ln_structured(twin[m], "weight", amount=amount, n=n, dim=dim)):
        return
    ours, theirs = twin["ours"], twin["theirs"]
    assert_pruned_like_torch(ours, theirs, sample_input(kind, shape, seed))


@settings(max_examples=20, deadline=None)
@given(
    kind=st.sampled_from(["linear", "conv"]),
    steps=st.lists(
        st.tuples(st.sampled_from(["l1", "ln", "mask"]), st.floats(0.0, 0.6), st.integers(0, 1)), min_size=2, max_size=4
    ),
    seed=st.integers(0, 2**16),
)
def test_iterative_pruning_combines_masks_like_torch(kind, steps, seed):
    """Chained methods in a PruningContainer prune only what the earlier ones kept."""
    shape = (6, 4) if kind == "linear" else (4, 3, 2)
    ours, theirs = twins(kind, shape, seed)
    rng = np.random.default_rng(seed)
    for method, frac, dim in steps:
        if method == "l1":
            P.l1_unstructured(ours, "weight", amount=frac)
            TP.l1_unstructured(theirs, "weight", amount=frac)
        elif method == "ln":
            P.ln_structured(ours, "weight", amount=frac, n=2, dim=dim)
            TP.ln_structured(theirs, "weight", amount=frac, n=2, dim=dim)
        else:
            mask = (rng.random(theirs.weight.shape) > frac).astype(np.float64)
            P.custom_from_mask(ours, "weight", mc.tensor(mask))
            TP.custom_from_mask(theirs, "weight", torch.tensor(mask))
    (hook,) = ours._forward_pre_hooks.values()
    (ref,) = theirs._forward_pre_hooks.values()
    assert type(hook).__name__ == type(ref).__name__ == "PruningContainer"
    assert [type(m).__name__ for m in hook] == [type(m).__name__ for m in ref]
    assert_pruned_like_torch(ours, theirs, sample_input(kind, shape, seed))


@settings(max_examples=20, deadline=None)
@given(amount=amount, prune_first=st.booleans(), seed=st.integers(0, 2**16))
def test_global_unstructured_like_torch(amount, prune_first, seed):
    """The smallest |w| over several tensors together; tensors pruned before keep their zeros."""

    def net(nn):
        return nn.Sequential(nn.Conv2d(2, 3, 2), nn.Flatten(), nn.Linear(12, 5), nn.Linear(5, 3))

    torch.manual_seed(seed)
    theirs, ours = net(torch.nn).double(), net(mc.nn).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    if prune_first:
        P.l1_unstructured(ours[2], "weight", amount=0.5)
        TP.l1_unstructured(theirs[2], "weight", amount=0.5)
    P.global_unstructured(
        [(ours[0], "weight"), (ours[2], "weight"), (ours[3], "bias")], pruning_method=P.L1Unstructured, amount=amount
    )
    TP.global_unstructured(
        [(theirs[0], "weight"), (theirs[2], "weight"), (theirs[3], "bias")],
        pruning_method=TP.L1Unstructured,
        amount=amount,
    )
    x = np.random.default_rng(seed).standard_normal((2, 2, 3, 3))
    assert_pruned_like_torch(ours, theirs, x)


def test_importance_scores_and_prune_on_a_plain_tensor():
    ours, theirs = twins("linear", (4, 5), 0)
    scores = np.random.default_rng(1).random((4, 5))
    P.l1_unstructured(ours, "weight", amount=7, importance_scores=mc.tensor(scores))
    TP.l1_unstructured(theirs, "weight", amount=7, importance_scores=torch.tensor(scores))
    assert_pruned_like_torch(ours, theirs, sample_input("linear", (4, 5), 0))
    P.ln_structured(ours, "weight", amount=1, n=1, dim=1, importance_scores=mc.tensor(scores))
    TP.ln_structured(theirs, "weight", amount=1, n=1, dim=1, importance_scores=torch.tensor(scores))
    np.testing.assert_array_equal(ours.weight_mask.numpy(), theirs.weight_mask.numpy())
    t = np.random.default_rng(2).standard_normal((3, 4))
    np.testing.assert_array_equal(
        P.L1Unstructured(amount=0.5).prune(mc.tensor(t)).numpy(), TP.L1Unstructured(amount=0.5).prune(torch.tensor(t))
    )


# -- layout, remove, state dict, custom methods --------------------------------------------------
def test_remove_makes_pruning_permanent_like_torch():
    ours, theirs = twins("conv", (4, 2, 3), 3)
    for mod, prune in ((ours, P), (theirs, TP)):
        prune.l1_unstructured(mod, "weight", amount=0.4)
        prune.l1_unstructured(mod, "bias", amount=1)
        assert prune.is_pruned(mod)
        prune.remove(mod, "weight")
    assert isinstance(ours.weight, mc.nn.Parameter)
    assert (
        [n for n, _ in ours.named_parameters()]
        == [n for n, _ in theirs.named_parameters()]
        == [
            "bias_orig",
            "weight",
        ]
    )
    np.testing.assert_array_equal(ours.weight.numpy(), theirs.weight.detach().numpy())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    P.remove(ours, "bias")
    assert not P.is_pruned(ours) and not ours._forward_pre_hooks
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        P.remove(ours, "weight")


def test_pruned_state_dict_loads_from_torch_and_trains_like_it():
    """A pruned torch model's state dict (weight_orig, weight_mask) loads into the same pruned
    minicnn model; SGD then updates only the kept weights, step by step as torch."""
    ours, theirs = twins("linear", (5, 6), 4)
    P.random_unstructured(ours, "weight", amount=0.5)  # a different random mask, replaced below
    TP.random_unstructured(theirs, "weight", amount=0.5)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = sample_input("linear", (5, 6), 4)
    opt_m = mc.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        for model, opt, X in ((ours, opt_m, mc.tensor(x)), (theirs, opt_t, torch.tensor(x))):
            opt.zero_grad()
            model(X).pow(2).mean().backward()
            opt.step()
    np.testing.assert_allclose(ours.weight_orig.numpy(), theirs.weight_orig.detach().numpy(), **TOL[np.float64])
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), **TOL[np.float64])


def test_custom_pruning_method_like_torch():
    """The tutorial's FooBarPruningMethod: every other entry, by subclassing BasePruningMethod."""

    def foobar(base):
        class FooBar(base):
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        return FooBar

    ours, theirs = twins("linear", (3, 4), 5)
    for mod, prune in ((ours, P), (theirs, TP)):
        prune.l1_unstructured(mod, "weight", amount=3)
        foobar(prune.BasePruningMethod).apply(mod, "weight")
        foobar(prune.BasePruningMethod).apply(mod, "bias")
    assert_pruned_like_torch(ours, theirs, sample_input("linear", (3, 4), 5))


@pytest.mark.parametrize("method", ["random_unstructured", "random_structured"])
def test_random_methods_prune_the_right_count(method):
    """The random methods draw from minicnn's generator: other entries than torch's, but the
    same counts, whole channels for the structured one, earlier zeros kept, reproducible."""
    masks = []
    for seed in (7, 7, 8):
        mc.manual_seed(seed)
        ours, _ = twins("conv", (6, 4, 3), 0)
        kwargs = {"dim": 0} if method == "random_structured" else {}
        P.l1_unstructured(ours, "weight", amount=0.25)
        first = ours.weight_mask.numpy().copy()
        getattr(P, method)(ours, "weight", amount=0.5, **kwargs)
        mask = ours.weight_mask.numpy()
        assert np.all(mask[first == 0] == 0)
        if method == "random_unstructured":  # half of what was kept
            assert (first - mask).sum() == round(0.5 * first.sum())
        else:  # 3 of the 6 output channels, all zero
            assert (mask.reshape(6, -1).sum(1) == 0).sum() >= 3
            kept = mask.reshape(6, -1).sum(1) != 0
            np.testing.assert_array_equal(mask[kept], first[kept])
        masks.append(mask.copy())
    np.testing.assert_array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0], masks[2])


def test_hook_is_the_method_in_forward_pre_hooks():
    ours, theirs = twins("linear", (3, 4), 6)
    P.random_unstructured(ours, "weight", amount=0.3)
    TP.random_unstructured(theirs, "weight", amount=0.3)
    (hook,) = ours._forward_pre_hooks.values()
    assert isinstance(hook, P.RandomUnstructured) and hook._tensor_name == "weight" and hook.amount == 0.3
    assert type(theirs._forward_pre_hooks[next(iter(theirs._forward_pre_hooks))]).__name__ == "RandomUnstructured"
    assert not isinstance(ours.weight, mc.nn.Parameter) and ours.weight.requires_grad


# -- errors, as torch's ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda p, m: p.l1_unstructured(m, "weight", amount=-1),
        lambda p, m: p.l1_unstructured(m, "weight", amount=1.5),
        lambda p, m: p.l1_unstructured(m, "weight", amount="0.3"),
        lambda p, m: p.l1_unstructured(m, "weight", amount=13),
        lambda p, m: p.ln_structured(m, "bias", amount=1, n=2, dim=0),
        lambda p, m: p.ln_structured(m, "weight", amount=1, n=2, dim=2),
        lambda p, m: p.remove(m, "weight"),
        lambda p, m: p.global_unstructured([(m, "weight")], pruning_method=p.LnStructured, amount=1, n=2, dim=0),
    ],
)
def test_errors_like_torch(call):
    ours, theirs = twins("linear", (4, 3), 0)
    with pytest.raises(Exception) as ref:
        call(TP, theirs)
    with pytest.raises(type(ref.value)) as err:
        call(P, ours)
    assert str(err.value).split(" ")[0] == str(ref.value).split(" ")[0]
    # a failed pruning leaves the parameters as torch does
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


# -- devices, gradcheck ----------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_pruning_on_device(device):
    ours, theirs = twins("conv", (4, 3, 2), 9, device=device)
    P.l1_unstructured(ours, "weight", amount=0.3)
    P.ln_structured(ours, "weight", amount=1, n=2, dim=0)
    P.global_unstructured([(ours, "weight"), (ours, "bias")], pruning_method=P.L1Unstructured, amount=0.2)
    for prune in (TP,):
        prune.l1_unstructured(theirs, "weight", amount=0.3)
        prune.ln_structured(theirs, "weight", amount=1, n=2, dim=0)
        prune.global_unstructured([(theirs, "weight"), (theirs, "bias")], pruning_method=TP.L1Unstructured, amount=0.2)
    assert ours.weight_mask.device == ours.weight_orig.device == ours.weight.device
    assert_pruned_like_torch(ours, theirs, sample_input("conv", (4, 3, 2), 9), device=device)


def test_gradcheck_through_the_mask():
    rng = np.random.default_rng(0)
    mask = mc.tensor((rng.random((3, 4)) > 0.5).astype(np.float64))
    method = P.CustomFromMask(mask)
    x = mc.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert mc.gradcheck(lambda x, w: mc.nn.functional.linear(x, method.prune(w)), (x, w))


def test_pruning_on_the_fake_gpu(monkeypatch):
    """On tests/fake_gpu's CuPy: the masks are computed and kept on the GPU, the same as torch's."""
    from fake_gpu import cupy as fake_cupy

    from minicnn import backend

    monkeypatch.setattr(backend, "_cupy", fake_cupy)
    ours, theirs = twins("conv", (4, 3, 2), 10)
    ours.to("cuda")
    for prune, mod in ((P, ours), (TP, theirs)):
        prune.l1_unstructured(mod, "weight", amount=0.3)
        prune.ln_structured(mod, "weight", amount=1, n=2, dim=0)
        prune.global_unstructured([(mod, "weight"), (mod, "bias")], pruning_method=prune.L1Unstructured, amount=0.2)
    P.random_unstructured(ours, "bias", amount=1)
    TP.random_unstructured(theirs, "bias", amount=1)
    assert all(isinstance(b.array, fake_cupy.ndarray) for b in ours.buffers())
    x = sample_input("conv", (4, 3, 2), 10)
    out = ours(mc.tensor(x, device="cuda"))
    assert isinstance(out.array, fake_cupy.ndarray) and isinstance(ours.weight.array, fake_cupy.ndarray)
    np.testing.assert_array_equal(ours.weight_mask.cpu().numpy(), theirs.weight_mask.numpy())
    assert int((ours.bias_mask.cpu().numpy() == 0).sum()) == int((theirs.bias_mask == 0).sum())
