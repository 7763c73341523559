"""The elementwise activations at their special points, against torch, bit for bit where torch's
formula is exact: kinks (0, +-3, 6, +-lambd, the bounds), NaN, +-inf, -0.0 (its sign kept
where torch keeps it), subnormals, and the gradient there. These guard the branch-free forms
of minicnn/ops/activation.py (max/min/clip, masks as multiplications, in-place passes).

The specials are tiled to a multiple of 64 elements so that every element of torch's result
comes from its vectorised CPU loop (the scalar tail can differ at NaN, see activation.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.ops import activation as A

_SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-42, -1e-42, 1e-310, -1e-310, 1e30, -1e30, 1.0, -1.0]


def _specials(dtype: np.dtype, kinks: list[float]) -> np.ndarray:
    vals = list(_SPECIALS)
    for k in kinks:
        k = float(np.asarray(k, dtype))
        vals += [k, -k, np.nextafter(k, np.inf, dtype=dtype), np.nextafter(k, -np.inf, dtype=dtype)]
    rng = np.random.default_rng(len(kinks))
    vals += list(rng.standard_normal(64) * 4)
    x = np.asarray(vals, dtype=dtype)
    return np.resize(x, (len(x) + 63) // 64 * 64 * 2)


def _same(ours: np.ndarray, theirs: np.ndarray, what: str, exact: bool, zero_sign: bool = True) -> None:
    assert ours.dtype == theirs.dtype, (what, ours.dtype, theirs.dtype)
    nan_o, nan_t = np.isnan(ours), np.isnan(theirs)
    assert np.array_equal(nan_o, nan_t), (what, "NaN places differ", np.flatnonzero(nan_o != nan_t))
    keep = ~nan_o
    o, t = ours[keep], theirs[keep]
    if exact:
        bad = o != t
    else:  # transcendental: a few ulps apart (torch's SLEEF against NumPy's libm), inf where torch's
        with np.errstate(invalid="ignore"):  # (inf - inf)
            close = np.abs(o.astype(np.float64) - t) <= 16 * np.finfo(o.dtype).eps * (np.abs(t.astype(np.float64)) + 1)
        bad = (np.isinf(o) != np.isinf(t)) | ~(close | (o == t))
    assert not bad.any(), (what, o[bad][:5], t[bad][:5])
    if zero_sign:
        z = t == 0
        assert np.array_equal(np.signbit(o[z]), np.signbit(t[z])), (what, "sign of zero", np.flatnonzero(z))


def _check(mc_fn, torch_fn, dtype, kinks, exact=True, grad_exact=True, nan_grad="vectorised", device="cpu") -> None:
    x = _specials(np.dtype(dtype), kinks)
    g = np.resize(np.asarray([1.0, -2.5, 0.5, np.inf, 3.0, -0.0, 7.0], dtype), x.shape)
    g[: len(_SPECIALS)] = 1.5  # the specials' gradients, with a finite upstream gradient
    xm = mc.tensor(x, requires_grad=True, device=device)
    xt = torch.tensor(x, requires_grad=True)
    ym, yt = mc_fn(xm), torch_fn(xt)
    _same(ym.numpy(), yt.detach().numpy(), "forward", exact)
    ym.backward(mc.tensor(g, device=device))
    yt.backward(torch.tensor(g))
    expected = xt.grad.numpy().copy()
    if nan_grad == "scalar":  # torch's formula (its scalar loop, and its GPU's) at NaN: one element at a time
        for i in np.flatnonzero(np.isnan(x)):
            xi = torch.tensor(x[i : i + 1], requires_grad=True)
            torch_fn(xi).backward(torch.tensor(g[i : i + 1]))
            expected[i] = xi.grad.numpy()[0]
    _same(xm.grad.numpy(), expected, "grad", grad_exact, zero_sign=False)


DTYPES = [np.float32, np.float64]

# name: (minicnn fn, torch fn, kinks, forward exact, gradient exact[, NaN's gradient]). At a NaN
# input torch's scalar and vectorised CPU loops disagree for some ops; minicnn follows the
# vectorised loop except for relu6 and the shrinks, which follow torch's formula ("scalar": the
# scalar loop's and the GPU's) -- the conventions activation.py documents and keeps.
PIECEWISE = {
    "leaky_relu": (lambda x: A.leaky_relu(x, 0.01), lambda x: TF.leaky_relu(x, 0.01), [0.0], True, True),
    "leaky_relu_0.3": (lambda x: A.leaky_relu(x, 0.3), lambda x: TF.leaky_relu(x, 0.3), [0.0], True, True),
    "leaky_relu_1": (lambda x: A.leaky_relu(x, 1.0), lambda x: TF.leaky_relu(x, 1.0), [0.0], True, True),
    "leaky_relu_0": (lambda x: A.leaky_relu(x, 0.0), lambda x: TF.leaky_relu(x, 0.0), [0.0], True, True),
    "leaky_relu_2": (lambda x: A.leaky_relu(x, 2.0), lambda x: TF.leaky_relu(x, 2.0), [0.0], True, True),
    "leaky_relu_neg": (lambda x: A.leaky_relu(x, -0.5), lambda x: TF.leaky_relu(x, -0.5), [0.0], True, True),
    "leaky_relu_tiny": (lambda x: A.leaky_relu(x, 1e-30), lambda x: TF.leaky_relu(x, 1e-30), [0.0], True, True),
    # a slope for which mask * (1 - slope) + slope does not round back to 1: the bitwise select
    "leaky_relu_odd": (lambda x: A.leaky_relu(x, -1.999), lambda x: TF.leaky_relu(x, -1.999), [0.0], True, True),
    "rrelu_eval": (lambda x: A.rrelu(x), lambda x: TF.rrelu(x), [0.0], True, True),
    "relu6": (A.relu6, TF.relu6, [0.0, 6.0], True, True, "scalar"),
    "hardtanh": (A.hardtanh, TF.hardtanh, [1.0], True, True),
    "hardtanh_kw": (
        lambda x: A.hardtanh(x, -0.5, 2.0),
        lambda x: TF.hardtanh(x, -0.5, 2.0),
        [0.5, 2.0],
        True,
        True,
    ),
    "hardsigmoid": (A.hardsigmoid, TF.hardsigmoid, [3.0], True, True),
    "hardswish": (A.hardswish, TF.hardswish, [3.0], True, True),
    "softshrink": (A.softshrink, TF.softshrink, [0.5], True, True, "scalar"),
    "softshrink_0": (lambda x: A.softshrink(x, 0.0), lambda x: TF.softshrink(x, 0.0), [0.0], True, True, "scalar"),
    "hardshrink": (A.hardshrink, TF.hardshrink, [0.5], True, True, "scalar"),
    "hardshrink_neg": (lambda x: A.hardshrink(x, -1.0), lambda x: TF.hardshrink(x, -1.0), [1.0], True, True, "scalar"),
    "hardshrink_inf": (
        lambda x: A.hardshrink(x, float("inf")),
        lambda x: TF.hardshrink(x, float("inf")),
        [2.0],
        True,
        True,
        "scalar",
    ),
    "threshold": (
        lambda x: A.threshold(x, 0.5, -2.0),
        lambda x: TF.threshold(x, 0.5, -2.0),
        [0.5],
        True,
        True,
    ),
    "threshold_0": (lambda x: A.threshold(x, 0.0, 0.0), lambda x: TF.threshold(x, 0.0, 0.0), [0.0], True, True),
    "elu": (A.elu, TF.elu, [0.0], False, False),
    "elu_0.5": (lambda x: A.elu(x, 0.5), lambda x: TF.elu(x, 0.5), [0.0], False, False),
    "selu": (A.selu, TF.selu, [0.0], False, False),
    "celu_2": (lambda x: A.celu(x, 2.0), lambda x: TF.celu(x, 2.0), [0.0], False, False),
    "celu_neg": (lambda x: A.celu(x, -1.5), lambda x: TF.celu(x, -1.5), [0.0], False, False),
    "softplus": (A.softplus, TF.softplus, [20.0], False, False),
    "softplus_beta": (lambda x: A.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0), [2.5], False, False),
    "mish": (A.mish, TF.mish, [0.0], False, False),
    "softplus_neg_threshold": (
        lambda x: A.softplus(x, 1.0, -1.0),
        lambda x: TF.softplus(x, 1.0, -1.0),
        [-1.0],
        False,
        False,
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(PIECEWISE))
def test_specials_like_torch(name, dtype):
    _check(*PIECEWISE[name][:2], dtype, *PIECEWISE[name][2:])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", ["leaky_relu", "leaky_relu_neg", "elu", "selu", "softplus", "hardswish", "softshrink"])
def test_specials_on_device(name, device):
    _check(*PIECEWISE[name][:2], np.float32, *PIECEWISE[name][2:], device=device)


def _prelu_check(w: np.ndarray, dtype) -> None:
    x = _specials(np.dtype(dtype), [0.0])[:192].reshape(4, 3, 16)
    g = np.resize(np.asarray([1.0, -2.5, 0.5, 3.0, -0.0, 7.0], dtype), x.shape)
    xm, wm = mc.tensor(x, requires_grad=True), mc.tensor(w.astype(dtype), requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w.astype(dtype), requires_grad=True)
    ym, yt = A.prelu(xm, wm), TF.prelu(xt, wt)
    _same(ym.numpy(), yt.detach().numpy(), "forward", exact=True)
    ym.backward(mc.tensor(g))
    yt.backward(torch.tensor(g))
    _same(xm.grad.numpy(), xt.grad.numpy(), "grad x", exact=True, zero_sign=False)
    # the slope's gradient sums over NaN and inf products: torch's order of summation differs
    np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "w", [np.array([0.25]), np.array([0.1, 1.0, 0.0]), np.array([-0.5, 2.0, 0.3]), np.array([1.5])], ids=str
)
def test_prelu_specials_like_torch(w, dtype):
    """The max(x, w x) form for slopes in (0, 1], the bitwise select otherwise (0, negative, > 1)."""
    _prelu_check(w, dtype)


def test_rrelu_training_slopes_at_specials():
    """Training: x where x > 0, else r x with r in [lower, upper]; gradient 1 or r, the same r."""
    x = _specials(np.dtype(np.float64), [0.0])
    mc.manual_seed(3)
    xm = mc.tensor(x, requires_grad=True)
    y = A.rrelu(xm, 0.1, 0.3, training=True)
    y.backward(mc.tensor(np.ones_like(x)))
    slope = xm.grad.numpy()
    pos = x > 0
    assert np.all(slope[pos] == 1)
    assert np.all((slope[~pos] >= 0.1) & (slope[~pos] <= 0.3))
    with np.errstate(invalid="ignore"):
        expected = x * slope
    _same(y.numpy(), expected, "forward", exact=True)


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: A.leaky_relu(t, 0.2),
        lambda t: A.leaky_relu(t, -0.2),
        lambda t: A.elu(t),
        lambda t: A.celu(t, -2.0),
        lambda t: A.selu(t),
        A.softplus,
        A.mish,
        A.hardswish,
        A.hardsigmoid,
        A.softshrink,
        A.hardshrink,
        lambda t: A.threshold(t, 0.1, 2.0),
        lambda t: A.prelu(t, mc.tensor(np.array([0.25]), requires_grad=True)),
    ],
)
@pytest.mark.parametrize("value", [-1.25, 0.0, 2.0])
def test_zero_dim_inputs(fn, value):
    """A 0-d input (whose ufunc results are scalars, not arrays) gives torch's 0-d result."""
    x = mc.tensor(np.float64(value), requires_grad=True)
    y = fn(x)
    y.backward()
    assert y.shape == () and x.grad.shape == ()
    assert np.isfinite(y.numpy()) and np.isfinite(x.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 7), (4, 70), (), (0, 4)])
@pytest.mark.parametrize("name", ["silu", "relu6", "relu", "hardsigmoid"])
def test_chains_in_blocks_match_torch(name, shape, dtype):
    """SiLU's and ReLU6's forward chains and the masked gradient (ReLU, ReLU6, Hardsigmoid) go
    block by block on large arrays (CHAIN_BLOCK): here with tiny blocks (an uneven last one), also
    on a transposed (non-contiguous) input, 0-d and empty, against torch."""
    f, tf = getattr(A, name), getattr(TF, name)
    x = np.random.default_rng(3).standard_normal(shape) * 6
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(A, "CHAIN_BLOCK", 16)
        mp.setattr(A, "CHAIN_BLOCKED_FROM", 1)
        compare_with_torch(f, tf, [x], dtype=dtype)
        if x.ndim >= 2:
            compare_with_torch(lambda t: f(t.transpose(0, 1)), lambda t: tf(t.transpose(0, 1)), [x], dtype=dtype)


_SOFTSHRINK = (lambda t: A.softshrink(t, 0.3), lambda t: TF.softshrink(t, 0.3))
_SETTINGS = st.sampled_from(
    [
        (lambda t: A.leaky_relu(t, 0.05), lambda t: TF.leaky_relu(t, 0.05)),
        (lambda t: A.leaky_relu(t, 3.0), lambda t: TF.leaky_relu(t, 3.0)),
        (lambda t: A.elu(t, 0.7), lambda t: TF.elu(t, 0.7)),
        (lambda t: A.celu(t, 1.5), lambda t: TF.celu(t, 1.5)),
        (A.selu, TF.selu),
        (lambda t: A.softplus(t, 0.5, 3.0), lambda t: TF.softplus(t, 0.5, 3.0)),
        (A.mish, TF.mish),
        (A.hardswish, TF.hardswish),
        (A.hardsigmoid, TF.hardsigmoid),
        _SOFTSHRINK,
        (lambda t: A.hardshrink(t, 0.3), lambda t: TF.hardshrink(t, 0.3)),
        (lambda t: A.threshold(t, -0.2, 5.0), lambda t: TF.threshold(t, -0.2, 5.0)),
    ]
)


@settings(max_examples=30, deadline=None)
@given(
    fns=_SETTINGS,
    shape=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_random_inputs_with_kinks_like_torch(fns, shape, dtype, seed):
    """Random arrays sprinkled with the kinks and zeros of both signs, not multiples of the
    vector width (so torch's scalar tail is in play; no NaN there)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    pick = rng.random(shape) < 0.3
    x[pick] = rng.choice(np.asarray([0.0, -0.0, 3.0, -3.0, 0.3, -0.3, -0.2], dtype), size=int(pick.sum()))
    g = rng.standard_normal(shape).astype(dtype)
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = fns[0](xm), fns[1](xt)
    ym.backward(mc.tensor(g))
    yt.backward(torch.tensor(g))
    tol = {"rtol": 2e-6, "atol": 2e-6} if dtype == np.float32 else {"rtol": 1e-13, "atol": 1e-13}
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **tol)
    zero = yt.detach().numpy() == 0
    if fns is not _SOFTSHRINK:  # in its band torch's scalar tail gives x * 0 (-0.0 for x < 0), its vector loop +0.0
        assert np.array_equal(np.signbit(ym.numpy()[zero]), np.signbit(yt.detach().numpy()[zero]))
