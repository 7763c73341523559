"""mc.nn.utils.parametrize / parametrizations / fusion and the hook-based weight_norm and
spectral_norm, against torch.nn.utils: forward values, gradients reaching the originals,
state-dict keys and values, right_inverse on assignment, removal, caching, optimiser steps
(spectral norm's power iteration evolving as torch's from copied u, v), fused conv/linear +
BatchNorm equal to the unfused pair and to torch's fusion, devices and gradcheck."""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import warnings

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings

import minicnn as mc
from minicnn.nn import fusion, norm_hooks, parametrizations
from minicnn.nn.utils import parametrize as P

TP = torch.nn.utils.parametrize
TPS = torch.nn.utils.parametrizations


# -- helpers -----------------------------------------------------------------------------------
def copy_from_torch(ours: mc.nn.Module, theirs: torch.nn.Module) -> None:
    """Load torch's state dict into ours (strict: the keys must be torch's)."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def assert_state_equal(ours: mc.nn.Module, theirs: torch.nn.Module, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(ref)
    for k in ref:
        np.testing.assert_allclose(mine[k], ref[k].detach().numpy(), rtol=rtol, atol=atol, err_msg=k)


def assert_grads_equal(ours: mc.nn.Module, theirs: torch.nn.Module, rtol: float = 1e-9, atol: float = 1e-11) -> None:
    mine, ref = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(mine) == list(ref)
    for k, t in ref.items():
        np.testing.assert_allclose(mine[k].grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol, err_msg=k)


def run_both(ours, theirs, x: np.ndarray, g_seed: int = 0):
    """Forward both on ``x``, backward sum(out * g); return the outputs as arrays."""
    mo, to = ours(mc.tensor(x)), theirs(torch.from_numpy(x))
    g = np.random.default_rng(g_seed).standard_normal(to.shape)
    (mo * mc.tensor(g)).sum().backward()
    (to * torch.from_numpy(g)).sum().backward()
    return mo.numpy(), to.detach().numpy()


class Symmetric(mc.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).T

    def right_inverse(self, a):
        return a.triu()


class TSymmetric(torch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).T

    def right_inverse(self, a):
        return a.triu()


class Scale(mc.nn.Module):
    def forward(self, x):
        return x * 3.0


class TScale(torch.nn.Module):
    def forward(self, x):
        return x * 3.0


def linear_pair(n_in: int, n_out: int, seed: int, bias: bool = True):
    torch.manual_seed(seed)
    theirs = torch.nn.Linear(n_in, n_out, bias=bias).double()
    ours = mc.nn.Linear(n_in, n_out, bias=bias).double()
    copy_from_torch(ours, theirs)
    return ours, theirs


# -- parametrize -------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), batch=st.integers(1, 4), chain=st.booleans(), seed=st.integers(0, 2**16))
def test_parametrization_forward_backward_state_dict_like_torch(n, batch, chain, seed):
    ours, theirs = linear_pair(n, n, seed)
    P.register_parametrization(ours, "weight", Symmetric())
    TP.register_parametrization(theirs, "weight", TSymmetric())
    if chain:
        P.register_parametrization(ours, "weight", Scale())
        TP.register_parametrization(theirs, "weight", TScale())
    assert type(ours).__name__ == type(theirs).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(ours) is mc.nn.Linear
    assert P.is_parametrized(ours) and P.is_parametrized(ours, "weight") and not P.is_parametrized(ours, "bias")
    assert_state_equal(ours, theirs)  # the original became right_inverse(weight) = triu, as torch's
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    x = np.random.default_rng(seed).standard_normal((batch, n))
    out, ref = run_both(ours, theirs, x)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
    assert_grads_equal(ours, theirs)  # the gradient reached parametrizations.weight.original
    assert "parametrizations.weight.original" in dict(ours.named_parameters())


def test_assignment_goes_through_right_inverse_and_keeps_the_original():
    ours, theirs = linear_pair(3, 3, 1)
    P.register_parametrization(ours, "weight", Symmetric())
    TP.register_parametrization(theirs, "weight", TSymmetric())
    original = ours.parametrizations.weight.original
    a = np.random.default_rng(0).standard_normal((3, 3))
    ours.weight = mc.tensor(a)
    with torch.no_grad():
        theirs.weight = torch.from_numpy(a.copy())
    assert ours.parametrizations.weight.original is original
    assert_state_equal(ours, theirs)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy())
    ours.weight = a  # an array is taken where torch takes a tensor
    np.testing.assert_allclose(ours.parametrizations.weight.original.numpy(), np.triu(a))
    with pytest.raises(KeyError, match="already exists"):
        ours.weight = mc.nn.Parameter(a)  # torch: a Parameter cannot replace the property


def test_no_right_inverse_raises_on_assignment():
    ours = mc.nn.Linear(2, 2)
    P.register_parametrization(ours, "weight", Scale())
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        ours.weight = mc.zeros(2, 2)


@pytest.mark.parametrize("leave", [True, False])
@pytest.mark.parametrize("kind", ["parameter", "buffer"])
def test_remove_parametrizations_like_torch(leave, kind):
    ours, theirs = linear_pair(4, 4, 3)
    if kind == "buffer":
        mask = np.random.default_rng(0).standard_normal((4, 4))
        ours.register_buffer("mask", mc.tensor(mask))
        theirs.register_buffer("mask", torch.from_numpy(mask.copy()))
    name = "weight" if kind == "parameter" else "mask"
    P.register_parametrization(ours, name, Symmetric())
    TP.register_parametrization(theirs, name, TSymmetric())
    P.register_parametrization(ours, "bias", Scale())
    TP.register_parametrization(theirs, "bias", TScale())
    original = getattr(ours.parametrizations, name).original
    P.remove_parametrizations(ours, name, leave_parametrized=leave)
    TP.remove_parametrizations(theirs, name, leave_parametrized=leave)
    assert type(ours).__name__ == "ParametrizedLinear"  # bias is still parametrized
    assert getattr(ours, name) is original  # the same tensor object, as torch's set_()
    assert isinstance(getattr(ours, name), mc.nn.Parameter) == (kind == "parameter")
    assert_state_equal(ours, theirs)
    P.remove_parametrizations(ours, "bias", leave_parametrized=leave)
    TP.remove_parametrizations(theirs, "bias", leave_parametrized=leave)
    assert type(ours) is mc.nn.Linear and not P.is_parametrized(ours)
    assert not hasattr(ours, "parametrizations")
    assert_state_equal(ours, theirs)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(ours, "weight")


def test_cached_computes_once_and_errors():
    calls = []

    class Count(mc.nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 1.0

    m = mc.nn.Linear(2, 2)
    P.register_parametrization(m, "weight", Count())
    calls.clear()
    with P.cached():
        a, b = m.weight, m.weight
        with P.cached():
            assert m.weight is a
    assert a is b and len(calls) == 1
    m.weight, m.weight  # noqa: B018
    assert len(calls) == 3  # computed at every access outside cached()
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(mc.nn.Linear(2, 3), "weight", _Transpose())
    P.register_parametrization(t := mc.nn.Linear(2, 3), "weight", _Transpose(), unsafe=True)
    assert t.weight.shape == (2, 3)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(mc.nn.Linear(2, 2), "nope", Scale())
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(m)
    twin = copy.deepcopy(m)
    assert type(twin) is type(m) and twin.parametrizations.weight.original is not m.parametrizations.weight.original
    np.testing.assert_array_equal(twin.weight.numpy(), m.weight.numpy())


class _Transpose(mc.nn.Module):
    def forward(self, x):
        return x.T


def test_transfer_parametrizations_and_params():
    a, b = mc.nn.Linear(3, 3), mc.nn.Linear(3, 3)
    P.register_parametrization(a, "weight", Symmetric())
    P.transfer_parametrizations_and_params(a, b)
    assert b.parametrizations.weight.original is a.parametrizations.weight.original
    np.testing.assert_array_equal(b.weight.numpy(), a.weight.numpy())


# -- weight_norm -------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(
    layer=st.sampled_from(["linear", "conv"]),
    dim=st.sampled_from([0, 1, None, -1, -2]),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_weight_norm_like_torch(layer, dim, c_in, c_out, seed):
    torch.manual_seed(seed)
    if layer == "linear":
        theirs, ours = torch.nn.Linear(c_in, c_out).double(), mc.nn.Linear(c_in, c_out).double()
        x = np.random.default_rng(seed).standard_normal((2, c_in))
    else:
        theirs, ours = torch.nn.Conv2d(c_in, c_out, 2).double(), mc.nn.Conv2d(c_in, c_out, 2).double()
        x = np.random.default_rng(seed).standard_normal((2, c_in, 3, 3))
    copy_from_torch(ours, theirs)
    TPS.weight_norm(theirs, dim=dim)
    parametrizations.weight_norm(ours, dim=dim)
    assert_state_equal(ours, theirs)  # original0 = g, original1 = v, with torch's shapes
    out, ref = run_both(ours, theirs, x, seed)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
    assert_grads_equal(ours, theirs)
    # assigning a weight stores (its norm, itself)
    w = np.random.default_rng(seed + 1).standard_normal(tuple(theirs.weight.shape))
    ours.weight = mc.tensor(w)
    with torch.no_grad():
        theirs.weight = torch.from_numpy(w.copy())
    assert_state_equal(ours, theirs)
    P.remove_parametrizations(ours, "weight")
    TP.remove_parametrizations(theirs, "weight")
    assert_state_equal(ours, theirs)
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(parametrizations.weight_norm(mc.nn.Linear(2, 2)), "weight", False)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data(), seed=st.integers(0, 2**16))
def test_norm_except_dim_and_weight_norm_functions_like_torch(shape, data, seed):
    ndim = len(shape)
    dim = data.draw(st.sampled_from([-1, *range(-ndim, ndim)]))
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape)
    compare_with_torch(
        lambda t: parametrizations._norm_except_dim(t, 2, dim), lambda t: torch.norm_except_dim(t, 2, dim), [v]
    )
    g = rng.uniform(0.5, 2, torch.norm_except_dim(torch.from_numpy(v), 2, dim).shape)
    compare_with_torch(
        lambda gg, vv: parametrizations._WeightNorm(dim)(gg, vv), lambda gg, vv: torch._weight_norm(vv, gg, dim), [g, v]
    )
    # torch's fused kernel (dim 0 or last) has second derivatives that fail torch's own
    # gradgradcheck (they hold the norms constant): compare with its unfused composition
    double_backward_like_torch(
        lambda gg, vv: parametrizations._WeightNorm(dim)(gg, vv),
        lambda gg, vv: vv * (gg / torch.norm_except_dim(vv, 2, dim)),
        [g, v],
        rtol=1e-8,
        atol=1e-10,
    )


# -- spectral_norm -----------------------------------------------------------------------------
def spectral_pair(layer: str, shape: tuple[int, ...], seed: int, **kw):
    torch.manual_seed(seed)
    make = {
        "linear": lambda lib: lib.nn.Linear(shape[0], shape[1]),
        "conv": lambda lib: lib.nn.Conv2d(shape[0], shape[1], 2),
        "convT": lambda lib: lib.nn.ConvTranspose2d(shape[0], shape[1], 2),
    }[layer]
    theirs, ours = make(torch).double(), make(mc).double()
    copy_from_torch(ours, theirs)
    TPS.spectral_norm(theirs, **kw)
    parametrizations.spectral_norm(ours, **kw)
    copy_from_torch(ours, theirs)  # torch's initial u, v (drawn by torch, then 15 iterations)
    return ours, theirs


@settings(max_examples=15, deadline=None)
@given(
    layer=st.sampled_from(["linear", "conv", "convT"]),
    c_in=st.integers(1, 4),
    c_out=st.integers(1, 4),
    n_iter=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_spectral_norm_training_steps_like_torch(layer, c_in, c_out, n_iter, seed):
    ours, theirs = spectral_pair(layer, (c_in, c_out), seed, n_power_iterations=n_iter)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, c_in) if layer == "linear" else (2, c_in, 3, 3))
    opt = mc.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    for step in range(3):  # each forward runs the power iteration, each step changes W
        opt.zero_grad()
        topt.zero_grad()
        out, ref = run_both(ours, theirs, x, step)
        np.testing.assert_allclose(out, ref, rtol=1e-8, atol=1e-10)
        assert_grads_equal(ours, theirs, rtol=1e-7, atol=1e-9)
        assert_state_equal(ours, theirs, rtol=1e-8, atol=1e-10)  # the buffers _u, _v too
        opt.step()
        topt.step()
    ours.eval()
    theirs.eval()
    u = ours.parametrizations.weight[0]._u.numpy()
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(ours.parametrizations.weight[0]._u.numpy(), u)  # eval: no iteration


def test_spectral_norm_details():
    ours, theirs = spectral_pair("linear", (3, 2), 0, dim=1, eps=1e-6)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-9)
    assert ours.parametrizations.weight[0].dim == 1
    # a 1-d tensor is normalised exactly
    b = parametrizations.spectral_norm(mc.nn.Linear(2, 3).double(), "bias")
    np.testing.assert_allclose(np.linalg.norm(b.bias.numpy()), 1.0)
    # the initial vectors come from mc.random and are then iterated to the top singular pair
    mc.manual_seed(0)
    m = parametrizations.spectral_norm(mc.nn.Linear(6, 5).double())
    sigma = np.linalg.svd(m.parametrizations.weight.original.numpy(), compute_uv=False)[0]
    assert abs(np.linalg.svd(m.weight.numpy(), compute_uv=False)[0] - 1) < 0.05 * sigma
    with pytest.raises(ValueError, match="n_power_iterations"):
        parametrizations.spectral_norm(mc.nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        parametrizations.spectral_norm(mc.nn.Linear(2, 2), dim=2)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'nope'"):
        parametrizations.spectral_norm(mc.nn.Linear(2, 2), "nope")


# -- the hook-based forms ------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, None])
def test_hook_weight_norm_like_torch(dim):
    ours, theirs = linear_pair(3, 4, 5)
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        norm_hooks.weight_norm(ours, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(theirs, dim=dim)
    assert_state_equal(ours, theirs)  # bias, weight_g, weight_v
    x = np.random.default_rng(0).standard_normal((2, 3))
    opt, topt = mc.optim.SGD(ours.parameters(), lr=0.5), torch.optim.SGD(theirs.parameters(), lr=0.5)
    for step in range(2):
        opt.zero_grad()
        topt.zero_grad()
        out, ref = run_both(ours, theirs, x, step)
        np.testing.assert_allclose(out, ref, rtol=1e-10)
        assert_grads_equal(ours, theirs)
        opt.step()
        topt.step()
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"), pytest.warns(FutureWarning):
        norm_hooks.weight_norm(ours, dim=dim)
    norm_hooks.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    assert_state_equal(ours, theirs)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        norm_hooks.remove_weight_norm(ours)


@pytest.mark.parametrize("layer", ["linear", "convT"])
def test_hook_spectral_norm_like_torch(layer):
    torch.manual_seed(0)
    if layer == "linear":
        theirs, ours = torch.nn.Linear(3, 4).double(), mc.nn.Linear(3, 4).double()
        x = np.random.default_rng(0).standard_normal((2, 3))
    else:
        theirs, ours = torch.nn.ConvTranspose2d(3, 2, 2).double(), mc.nn.ConvTranspose2d(3, 2, 2).double()
        x = np.random.default_rng(0).standard_normal((2, 3, 3, 3))
    copy_from_torch(ours, theirs)
    torch.nn.utils.spectral_norm(theirs, n_power_iterations=2)
    norm_hooks.spectral_norm(ours, n_power_iterations=2)
    copy_from_torch(ours, theirs)  # bias, weight_orig, weight_u, weight_v: torch's u, v
    opt, topt = mc.optim.SGD(ours.parameters(), lr=0.2), torch.optim.SGD(theirs.parameters(), lr=0.2)
    for step in range(3):
        opt.zero_grad()
        topt.zero_grad()
        out, ref = run_both(ours, theirs, x, step)
        np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-11)
        assert_grads_equal(ours, theirs, rtol=1e-8, atol=1e-10)
        assert_state_equal(ours, theirs, rtol=1e-9, atol=1e-11)
        opt.step()
        topt.step()
    ours.eval()
    theirs.eval()
    out, ref = run_both(ours, theirs, x)
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-11)
    norm_hooks.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(theirs)
    assert_state_equal(ours, theirs, rtol=1e-9, atol=1e-11)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        norm_hooks.remove_spectral_norm(ours)


# -- fusion --------------------------------------------------------------------------------------
def _bn_stats(bn_pair, seed):
    rng = np.random.default_rng(seed)
    n = bn_pair[1].num_features
    state = {
        "weight": rng.uniform(0.5, 2, n),
        "bias": rng.standard_normal(n),
        "running_mean": rng.standard_normal(n),
        "running_var": rng.uniform(0.2, 3, n),
    }
    for k, v in state.items():
        getattr(bn_pair[0], k).array[...] = v
        getattr(bn_pair[1], k).data.copy_(torch.from_numpy(v))


@settings(max_examples=12, deadline=None)
@given(
    kind=st.sampled_from(["conv", "convT", "linear"]),
    bias=st.booleans(),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_fusion_like_torch(kind, bias, c_in, c_out, seed):
    torch.manual_seed(seed)
    if kind == "conv":
        lt, lm = (
            torch.nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias),
            mc.nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias),
        )
        bt, bm = torch.nn.BatchNorm2d(c_out), mc.nn.BatchNorm2d(c_out)
        x = np.random.default_rng(seed).standard_normal((2, c_in, 4, 4))
    elif kind == "convT":
        lt, lm = torch.nn.ConvTranspose2d(c_in, c_out, 2, bias=bias), mc.nn.ConvTranspose2d(c_in, c_out, 2, bias=bias)
        bt, bm = torch.nn.BatchNorm2d(c_out), mc.nn.BatchNorm2d(c_out)
        x = np.random.default_rng(seed).standard_normal((2, c_in, 3, 3))
    else:
        lt, lm = torch.nn.Linear(c_in, c_out, bias=bias), mc.nn.Linear(c_in, c_out, bias=bias)
        bt, bm = torch.nn.BatchNorm1d(c_out), mc.nn.BatchNorm1d(c_out)
        x = np.random.default_rng(seed).standard_normal((5, c_in))
    for m in (lt, lm, bt, bm):
        m.double().eval()
    copy_from_torch(lm, lt)
    _bn_stats((bm, bt), seed)
    if kind == "linear":
        fm, ft = fusion.fuse_linear_bn_eval(lm, bm), torch.nn.utils.fuse_linear_bn_eval(lt, bt)
    else:
        fm = fusion.fuse_conv_bn_eval(lm, bm, transpose=kind == "convT")
        ft = torch.nn.utils.fuse_conv_bn_eval(lt, bt, transpose=kind == "convT")
    assert fm is not lm and lm.bias is (None if not bias else lm.bias)  # the input is left alone
    assert_state_equal(fm, ft, rtol=1e-12)
    assert [p.requires_grad for p in fm.parameters()] == [p.requires_grad for p in ft.parameters()]
    xm = mc.tensor(x)
    np.testing.assert_allclose(fm(xm).numpy(), bm(lm(xm)).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fm(xm).numpy(), ft(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


class _Block(mc.nn.Module):
    """A ResNet basic block: conv-bn-relu-conv-bn + x, relu."""

    def __init__(self, lib, c):
        super().__init__()
        self.conv1, self.bn1 = lib.nn.Conv2d(c, c, 3, padding=1, bias=False), lib.nn.BatchNorm2d(c)
        self.conv2, self.bn2 = lib.nn.Conv2d(c, c, 3, padding=1, bias=False), lib.nn.BatchNorm2d(c)

    def forward(self, x):
        return mc.nn.functional.relu(self.bn2(self.conv2(mc.nn.functional.relu(self.bn1(self.conv1(x))))) + x)


def test_fused_resnet_block_equals_unfused_after_training():
    torch.manual_seed(0)
    block = _Block(mc, 3).double()
    opt = mc.optim.SGD(block.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(3):  # non-trivial running statistics and affine parameters
        opt.zero_grad()
        block(mc.tensor(rng.standard_normal((4, 3, 5, 5)))).square().mean().backward()
        opt.step()
    block.eval()
    fused = mc.nn.Sequential(
        fusion.fuse_conv_bn_eval(block.conv1, block.bn1),
        mc.nn.ReLU(),
        fusion.fuse_conv_bn_eval(block.conv2, block.bn2),
    )
    x = mc.tensor(rng.standard_normal((2, 3, 5, 5)))
    np.testing.assert_allclose(mc.nn.functional.relu(fused(x) + x).numpy(), block(x).numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        fusion.fuse_conv_bn_eval(mc.nn.Conv2d(1, 1, 1), mc.nn.BatchNorm2d(1))
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        fusion.fuse_linear_bn_eval(mc.nn.Linear(2, 3).eval(), mc.nn.BatchNorm1d(2).eval())


# -- devices, gradcheck, signatures -----------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_parametrizations_on_device(device):
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(2, 3, 2).double()
    ours = mc.nn.Conv2d(2, 3, 2).double()
    copy_from_torch(ours, theirs)
    TPS.spectral_norm(theirs)
    parametrizations.spectral_norm(ours)
    copy_from_torch(ours, theirs)
    TPS.weight_norm(theirs, "bias")
    parametrizations.weight_norm(ours, "bias")
    ours.to(device)
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 3))
    mo, to = ours(mc.tensor(x, device=device)), theirs(torch.from_numpy(x))
    assert mo.device == ours.weight.device == ours.parametrizations.weight[0]._u.device
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), rtol=1e-9, atol=1e-11)
    mo.sum().backward()
    to.sum().backward()
    for k, t in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[k].grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_gradcheck_through_parametrizations():
    mc.manual_seed(0)
    m = parametrizations.spectral_norm(mc.nn.Linear(3, 4).double()).eval()
    parametrizations.weight_norm(m, "bias", dim=None)
    x = mc.tensor(np.random.default_rng(0).standard_normal((2, 3)))
    pl = m.parametrizations

    def f(w, g, v):  # the originals replaced by gradcheck's inputs, as torch.func.functional_call
        pl.weight._parameters["original"] = w
        pl.bias._parameters.update(original0=g, original1=v)
        return m(x)

    params = [pl.weight.original, pl.bias.original0, pl.bias.original1]
    inputs = [mc.tensor(p.numpy(), requires_grad=True) for p in params]
    assert mc.gradcheck(f, inputs)
    assert mc.gradgradcheck(f, inputs)
    rng = np.random.default_rng(1)
    gv = [mc.tensor(rng.uniform(0.5, 2, (3, 1, 1)), requires_grad=True), mc.tensor(rng.standard_normal((3, 2, 2)))]
    gv[1].requires_grad = True
    assert mc.gradcheck(parametrizations._WeightNorm(0), gv)
    assert mc.gradgradcheck(parametrizations._WeightNorm(0), gv)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (P.register_parametrization, TP.register_parametrization),
        (P.remove_parametrizations, TP.remove_parametrizations),
        (P.is_parametrized, TP.is_parametrized),
        (P.type_before_parametrizations, TP.type_before_parametrizations),
        (P.transfer_parametrizations_and_params, TP.transfer_parametrizations_and_params),
        (P.ParametrizationList.__init__, TP.ParametrizationList.__init__),
        (parametrizations.weight_norm, TPS.weight_norm),
        (parametrizations.spectral_norm, TPS.spectral_norm),
        (mc.nn.utils.weight_norm, torch.nn.utils.weight_norm),
        (mc.nn.utils.remove_weight_norm, torch.nn.utils.remove_weight_norm),
        (mc.nn.utils.spectral_norm, torch.nn.utils.spectral_norm),
        (mc.nn.utils.remove_spectral_norm, torch.nn.utils.remove_spectral_norm),
        (mc.nn.utils.fuse_conv_bn_eval, torch.nn.utils.fuse_conv_bn_eval),
        (mc.nn.utils.fuse_conv_bn_weights, torch.nn.utils.fuse_conv_bn_weights),
        (mc.nn.utils.fuse_linear_bn_eval, torch.nn.utils.fuse_linear_bn_eval),
        (mc.nn.utils.fuse_linear_bn_weights, torch.nn.utils.fuse_linear_bn_weights),
    ],
)
def test_signatures_match_torch(ours, theirs):
    def shape(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert shape(ours) == shape(theirs)


def test_namespace_like_torch():
    assert importlib.import_module("minicnn.nn.utils.parametrize") is mc.nn.utils.parametrize is P
    assert mc.nn.utils.parametrizations is parametrizations and mc.nn.utils.fusion is fusion
    assert set(P.__all__) == set(TP.__all__)
    assert set(parametrizations.__all__) == set(TPS.__all__)
    assert set(fusion.__all__) == set(torch.nn.utils.fusion.__all__)


# -- session 9 review: the corners ------------------------------------------------------------
def _pair(layer: str, dtype=torch.float64, seed: int = 0):
    torch.manual_seed(seed)
    make = {
        "linear": lambda lib: lib.nn.Linear(3, 4),
        "conv": lambda lib: lib.nn.Conv2d(3, 4, 2),
        "convT": lambda lib: lib.nn.ConvTranspose2d(3, 4, 2),
    }[layer]
    theirs, ours = make(torch).to(dtype), make(mc).to(np.float64 if dtype == torch.float64 else np.float32)
    copy_from_torch(ours, theirs)
    x = np.random.default_rng(seed).standard_normal((2, 3) if layer == "linear" else (2, 3, 3, 3))
    return ours, theirs, x.astype(ours.bias.dtype)


_FORMS = {
    "spectral": (parametrizations.spectral_norm, TPS.spectral_norm),
    "weight": (parametrizations.weight_norm, TPS.weight_norm),
    "weight_all": (lambda m: parametrizations.weight_norm(m, dim=None), lambda m: TPS.weight_norm(m, dim=None)),
    "hook_spectral": (norm_hooks.spectral_norm, torch.nn.utils.spectral_norm),
    "hook_weight": (norm_hooks.weight_norm, torch.nn.utils.weight_norm),
}


def _apply_form(form: str, ours, theirs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        _FORMS[form][0](ours)
        _FORMS[form][1](theirs)
    copy_from_torch(ours, theirs)  # torch's u, v where there are some


@pytest.mark.parametrize("form", list(_FORMS))
@pytest.mark.parametrize("layer", ["conv", "convT"])
def test_float32_forms_keep_the_dtype_and_match_torch(form, layer):
    ours, theirs, x = _pair(layer, torch.float32)
    _apply_form(form, ours, theirs)
    out, ref = run_both(ours, theirs, x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    for k, t in theirs.named_parameters():
        p = dict(ours.named_parameters())[k]
        assert p.dtype == p.grad.dtype == np.float32, k
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=k)
    assert all(v.dtype == np.float32 for v in ours.state_dict().values())
    assert_state_equal(ours, theirs, rtol=1e-5, atol=1e-6)  # after one power iteration in float32


@pytest.mark.parametrize("form", ["spectral", "hook_spectral", "weight", "hook_weight"])
def test_module_called_twice_per_forward_then_eval_like_torch(form):
    """Training: each call (each access of the parametrized weight) runs the power
    iteration; eval: u, v stay as they are."""
    ours, theirs = linear_pair(3, 3, 3)
    x = np.random.default_rng(3).standard_normal((2, 3))
    _apply_form(form, ours, theirs)
    opt, topt = mc.optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    for step in range(3):
        if step == 2:
            ours.eval()
            theirs.eval()
            frozen = ours.state_dict()
        opt.zero_grad()
        topt.zero_grad()
        mo, to = ours(ours(mc.tensor(x))), theirs(theirs(torch.from_numpy(x)))
        (mo * mo).sum().backward()
        (to * to).sum().backward()
        np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), rtol=1e-9, atol=1e-11)
        assert_grads_equal(ours, theirs, rtol=1e-8, atol=1e-10)
        assert_state_equal(ours, theirs, rtol=1e-9, atol=1e-11)
        opt.step()
        topt.step()
    if form.endswith("spectral"):
        for k, v in frozen.items():
            if k.endswith(("_u", "_v")):
                np.testing.assert_array_equal(ours.state_dict()[k], v, err_msg=k)


@pytest.mark.parametrize("lib", ["mc", "torch"])
def test_backward_after_a_later_training_forward_as_torch(lib):
    """The parametrization clones u, v: an eval output still backpropagates after a training
    forward rewrote them; the hook form keeps the buffers themselves and raises, as torch's."""
    L, PSx, H = (mc, parametrizations, norm_hooks) if lib == "mc" else (torch, TPS, torch.nn.utils)
    for form, raises in ((PSx.spectral_norm, False), (H.spectral_norm, True)):
        m = form(L.nn.Linear(3, 4)).eval()
        y = m(L.ones(2, 3))
        m.train()
        m(L.ones(2, 3))
        if raises:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                y.sum().backward()
        else:
            y.sum().backward()


@pytest.mark.parametrize("form", ["spectral", "hook_spectral", "weight_all"])
@pytest.mark.parametrize("layer", ["linear", "convT"])
def test_double_backward_through_the_forms_like_torch(form, layer):
    """Second derivatives in training mode (the power iteration inside the graph's forward)
    w.r.t. the input and the unconstrained tensors; torch's fused weight norm (dim 0) has
    wrong second derivatives, so dim=None only here (dim 0 is checked against torch's
    composition in test_norm_except_dim_and_weight_norm_functions_like_torch)."""
    ours, theirs, x = _pair(layer, seed=1)
    _apply_form(form, ours, theirs)
    names = [k for k, _ in theirs.named_parameters()]
    arrays = [x] + [dict(theirs.named_parameters())[k].detach().numpy().copy() for k in names]

    def functional(module):
        def call(inp, *params):
            for k, p in zip(names, params):
                *path, leaf = k.split(".")
                owner = module
                for part in path:
                    owner = getattr(owner, part)
                owner._parameters[leaf] = p
            return module(inp)

        return call

    double_backward_like_torch(functional(ours), functional(theirs), arrays, rtol=1e-7, atol=1e-9)


def test_several_parametrizations_on_tuple_originals_and_unsafe_like_torch():
    """A first parametrization with a two-tensor right_inverse, two more after it, one on
    another tensor, an unsafe reshaping one appended; assignment, state dicts, removal."""

    def kinds(lib):
        class Split(lib.nn.Module):
            def forward(self, a, b):
                return a + b

            def right_inverse(self, w):
                return w * 0.25, w * 0.75

        class Flat(lib.nn.Module):
            def forward(self, x):
                return x.reshape(-1)

            def right_inverse(self, w):
                return w.reshape(3, 3)

        class Double(lib.nn.Module):
            def forward(self, x):
                return x * 2

            def right_inverse(self, w):
                return w / 2

        return Split, Flat, Double

    ours, theirs = linear_pair(3, 3, 7)
    for m, PP, (Split, _, Double), Sym in ((ours, P, kinds(mc), Symmetric), (theirs, TP, kinds(torch), TSymmetric)):
        for p in (Split(), Sym(), Double()):
            PP.register_parametrization(m, "weight", p)
        PP.register_parametrization(m, "bias", Double())
    assert_state_equal(ours, theirs)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    w = np.arange(9.0).reshape(3, 3)
    ours.weight = mc.tensor(w)
    with torch.no_grad():
        theirs.weight = torch.from_numpy(w.copy())
    assert_state_equal(ours, theirs)  # the right inverses in reverse order, split in two
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy())
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(ours, "weight", kinds(mc)[1]())
    P.register_parametrization(ours, "weight", kinds(mc)[1](), unsafe=True)
    TP.register_parametrization(theirs, "weight", kinds(torch)[1](), unsafe=True)
    assert ours.weight.shape == tuple(theirs.weight.shape) == (9,) and ours.parametrizations.weight.unsafe
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(ours, "weight", leave_parametrized=False)
    P.remove_parametrizations(ours, "weight")
    TP.remove_parametrizations(theirs, "weight")
    P.remove_parametrizations(ours, "bias", leave_parametrized=False)
    TP.remove_parametrizations(theirs, "bias", leave_parametrized=False)
    assert type(ours) is mc.nn.Linear
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()] == ["weight", "bias"]
    assert_state_equal(ours, theirs)


def test_weight_norm_on_a_buffer_and_on_a_frozen_parameter_like_torch():
    """A buffer's originals stay buffers; a frozen parameter's stay frozen parameters and,
    removed, come back as a buffer (torch's rule: a tensor not requiring grad)."""
    ours, theirs = linear_pair(3, 4, 2)
    mask = np.random.default_rng(2).standard_normal((4, 3))
    ours.register_buffer("mask", mc.tensor(mask))
    theirs.register_buffer("mask", torch.from_numpy(mask.copy()))
    ours.weight.requires_grad_(False)
    theirs.weight.requires_grad_(False)
    for name in ("mask", "weight"):
        parametrizations.weight_norm(ours, name)
        TPS.weight_norm(theirs, name)
    assert [(k, p.requires_grad) for k, p in ours.named_parameters()] == [
        (k, p.requires_grad) for k, p in theirs.named_parameters()
    ]
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    assert_state_equal(ours, theirs)
    for name in ("mask", "weight"):
        P.remove_parametrizations(ours, name)
        TP.remove_parametrizations(theirs, name)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()] == ["bias"]
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()] == ["mask", "weight"]
    assert_state_equal(ours, theirs)


def test_optimiser_before_registration_deepcopy_and_casts():
    """One-tensor parametrizations keep the parameter object (an optimiser made before keeps
    working, through registration and removal, as torch's); copies and casts carry them."""
    ours, theirs = linear_pair(3, 3, 4)
    opt, topt = mc.optim.Adam(ours.parameters(), lr=0.1), torch.optim.Adam(theirs.parameters(), lr=0.1)
    P.register_parametrization(ours, "weight", Symmetric())
    TP.register_parametrization(theirs, "weight", TSymmetric())
    x = np.random.default_rng(4).standard_normal((5, 3))
    for step in range(3):
        opt.zero_grad()
        topt.zero_grad()
        run_both(ours, theirs, x, step)
        opt.step()
        topt.step()
        if step == 1:
            P.remove_parametrizations(ours, "weight")
            TP.remove_parametrizations(theirs, "weight")
    assert_state_equal(ours, theirs)
    m = parametrizations.spectral_norm(mc.nn.Linear(3, 4))
    twin = copy.deepcopy(m).double()
    assert type(twin) is type(m) and twin.parametrizations.weight[0]._u.dtype == np.float64
    assert m.weight.dtype == np.float32 and twin.weight.dtype == np.float64
    with P.cached():  # cached per module object: the copy has its own entry
        assert m.weight is m.weight and twin.weight is not m.weight


@pytest.mark.parametrize("kind", ["conv", "convT", "conv_groups", "linear_bn1"])
@pytest.mark.parametrize("bias", [True, False])
def test_fusion_bn_without_affine_grouped_conv_and_single_feature_bn_like_torch(kind, bias):
    torch.manual_seed(1)
    if kind == "linear_bn1":  # a BatchNorm1d(1) broadcast over the linear outputs
        lt, lm = torch.nn.Linear(3, 4, bias=bias), mc.nn.Linear(3, 4, bias=bias)
        bt, bm = torch.nn.BatchNorm1d(1), mc.nn.BatchNorm1d(1)
        shape = (5, 3)
    else:
        conv = "ConvTranspose2d" if kind == "convT" else "Conv2d"
        groups = 2 if kind == "conv_groups" else 1
        lt = getattr(torch.nn, conv)(4, 6, 2, bias=bias, groups=groups)
        lm = getattr(mc.nn, conv)(4, 6, 2, bias=bias, groups=groups)
        bt, bm = torch.nn.BatchNorm2d(6, affine=False), mc.nn.BatchNorm2d(6, affine=False)
        shape = (2, 4, 3, 3)
    for m in (lt, lm, bt, bm):
        m.double().eval()
    copy_from_torch(lm, lt)
    rng = np.random.default_rng(1)
    for k, v in (
        ("running_mean", rng.standard_normal(bt.num_features)),
        ("running_var", rng.uniform(0.2, 3, bt.num_features)),
    ):
        getattr(bm, k).array[...] = v
        getattr(bt, k).data.copy_(torch.from_numpy(v))
    if kind == "linear_bn1":
        fm, ft = fusion.fuse_linear_bn_eval(lm, bm), torch.nn.utils.fuse_linear_bn_eval(lt, bt)
    else:
        fm = fusion.fuse_conv_bn_eval(lm, bm, transpose=kind == "convT")
        ft = torch.nn.utils.fuse_conv_bn_eval(lt, bt, transpose=kind == "convT")
    assert_state_equal(fm, ft, rtol=1e-12)
    assert [p.requires_grad for p in fm.parameters()] == [p.requires_grad for p in ft.parameters()]
    x = rng.standard_normal(shape)
    out = fm(mc.tensor(x)).numpy()
    np.testing.assert_allclose(out, ft(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    if kind != "linear_bn1":  # (torch's own BatchNorm1d(1) refuses 4 features)
        np.testing.assert_allclose(out, bt(lt(torch.from_numpy(x))).detach().numpy(), rtol=1e-10, atol=1e-12)


# -- orthogonal ----------------------------------------------------------------------------

ORTH_SHAPES = [(4, 4), (5, 3), (3, 5), (2, 4, 3), (2, 3, 3)]


def _orth_pair(w, orthogonal_map, use_trivialization):
    tm = torch.nn.Module()
    tm.weight = torch.nn.Parameter(torch.tensor(w))
    m = mc.nn.Module()
    m.weight = mc.nn.Parameter(mc.tensor(w))
    torch.nn.utils.parametrizations.orthogonal(tm, "weight", orthogonal_map, use_trivialization=use_trivialization)
    parametrizations.orthogonal(m, "weight", orthogonal_map, use_trivialization=use_trivialization)
    return m, tm


def _householder_original(rng, shape):
    """Reflectors below the diagonal, +-1.5 on it: the householder map reads its integer part,
    +-1 (1.5, not 1: numerical derivatives must not cross the jump of int() at 1)."""
    x = rng.standard_normal(shape) * 0.5
    k = min(shape[-2:])
    x[..., range(k), range(k)] = rng.choice([-1.5, 1.5], (*shape[:-2], k))
    return x


@settings(max_examples=25, deadline=None)
@given(
    shape=st.sampled_from(ORTH_SHAPES),
    orthogonal_map=st.sampled_from([None, "matrix_exp", "cayley", "householder"]),
    use_trivialization=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_orthogonal_like_torch(shape, orthogonal_map, use_trivialization, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape)
    m, tm = _orth_pair(w, orthogonal_map, use_trivialization)
    sd, tsd = m.state_dict(), tm.state_dict()
    assert list(sd) == list(tsd)
    n, k = shape[-2:]
    q = m.weight.numpy()
    if n == k or not use_trivialization:  # the initial weight is deterministic (else: random completion)
        np.testing.assert_allclose(q, tm.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
        for key in sd:
            np.testing.assert_allclose(np.asarray(sd[key]), tsd[key].numpy(), rtol=1e-10, atol=1e-12, err_msg=key)
    if use_trivialization or (orthogonal_map or ("matrix_exp" if n == k else "householder")) == "householder":
        gram = q @ q.swapaxes(-1, -2) if n < k else q.swapaxes(-1, -2) @ q
        np.testing.assert_allclose(gram, np.broadcast_to(np.eye(min(n, k)), gram.shape), atol=1e-12)
    # the same original (and base) in both: equal weights and gradients
    omap = orthogonal_map or ("matrix_exp" if n == k else "householder")
    x = _householder_original(rng, shape) if omap == "householder" else rng.standard_normal(shape) * 0.5
    with torch.no_grad():
        tm.parametrizations.weight.original.copy_(torch.tensor(x))
    m.parametrizations.weight.original.array[...] = x
    if use_trivialization:
        m.parametrizations.weight[0].base.array[...] = tm.parametrizations.weight[0].base.numpy()
    np.testing.assert_allclose(m.weight.numpy(), tm.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(shape)
    (m.weight * mc.tensor(g)).sum().backward()
    (tm.weight * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(
        m.parametrizations.weight.original.grad.numpy(),
        tm.parametrizations.weight.original.grad.numpy(),
        rtol=1e-9,
        atol=1e-11,
    )


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_maps_second_derivatives_like_torch(orthogonal_map):
    from torch.nn.utils.parametrizations import _OrthMaps as TorchOrthMaps
    from torch.nn.utils.parametrizations import _Orthogonal as TorchOrthogonal

    shape = (4, 3)
    rng = np.random.default_rng(5)
    x = _householder_original(rng, shape) if orthogonal_map == "householder" else rng.standard_normal(shape)
    ours = parametrizations._Orthogonal(
        mc.zeros(shape), parametrizations._OrthMaps[orthogonal_map], use_trivialization=False
    )
    theirs = TorchOrthogonal(torch.zeros(shape), TorchOrthMaps[orthogonal_map], use_trivialization=False)
    double_backward_like_torch(ours, theirs, [x], rtol=1e-8, atol=1e-10)
    assert mc.gradgradcheck(ours, [mc.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("device", devices())
def test_orthogonal_on_device(device):
    w = np.random.default_rng(2).standard_normal((3, 3))
    m = mc.nn.Linear(3, 3).to(device)
    with mc.no_grad():
        m.weight.copy_(mc.tensor(w, dtype=np.float32, device=device))
    parametrizations.orthogonal(m)
    tm = torch.nn.Linear(3, 3)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
    torch.nn.utils.parametrizations.orthogonal(tm)
    np.testing.assert_allclose(m.weight.numpy(), tm.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_orthogonal_assignment_and_errors_like_torch():
    q = np.linalg.qr(np.random.default_rng(3).standard_normal((4, 4)))[0]
    m, tm = _orth_pair(np.eye(4), None, True)
    m.weight = mc.tensor(q)  # an orthogonal matrix is kept as it is
    tm.weight = torch.tensor(q)
    np.testing.assert_allclose(m.weight.numpy(), q, atol=1e-12)
    np.testing.assert_allclose(m.weight.numpy(), tm.weight.detach().numpy(), atol=1e-12)
    m, _ = _orth_pair(np.eye(4), "cayley", False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = mc.tensor(q)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a tensor of 1 dimensions"):
        parametrizations.orthogonal(mc.nn.Linear(3, 3), "bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder"'):
        parametrizations.orthogonal(mc.nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'kernel'"):
        parametrizations.orthogonal(mc.nn.Linear(3, 3), "kernel")
    ours, theirs = (
        inspect.signature(f).parameters.values()
        for f in (parametrizations.orthogonal, torch.nn.utils.parametrizations.orthogonal)
    )
    assert [(p.name, p.default, p.kind) for p in ours] == [(p.name, p.default, p.kind) for p in theirs]
