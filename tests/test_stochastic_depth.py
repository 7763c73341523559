"""F.stochastic_depth and nn.StochasticDepth against torchvision.ops' (the oracle where it is
deterministic: p = 0, p = 1, eval mode, errors, repr, signatures) and against their definition
where it draws: one factor per sample ("row") or per call ("batch"), 0 with probability p and
1/(1-p) otherwise, so the mean is kept; the gradient is the same mask."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn.dropout import StochasticDepth
from minicnn.ops.stochastic_depth import stochastic_depth


def factors(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y / x (x has no zeros)."""
    return y / x


def positive(shape: tuple[int, ...], seed: int = 0, dtype: Any = np.float64) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(dtype)


# --------------------------------------------------------------------------------------
# deterministic cases: equal torchvision's


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_identity_cases_return_the_input_as_torchvision(mode: str) -> None:
    """p = 0 in training, and any p out of training: the input tensor itself (no copy)."""
    x = mc.tensor(positive((3, 4)), requires_grad=True)
    t = torch.tensor(positive((3, 4)), requires_grad=True)
    assert torchvision.ops.stochastic_depth(t, 0.0, mode) is t
    assert torchvision.ops.stochastic_depth(t, 0.7, mode, training=False) is t
    assert stochastic_depth(x, 0.0, mode) is x
    assert stochastic_depth(x, 0.7, mode, training=False) is x
    assert stochastic_depth(x, 1.0, mode, False) is x
    layer = StochasticDepth(0.7, mode).eval()
    assert layer(x) is x
    assert StochasticDepth(0.0, mode)(x) is x  # training, p = 0


@pytest.mark.parametrize("mode", ["row", "batch"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_p_one_gives_zeros_as_torchvision(mode: str, dtype: Any) -> None:
    x = positive((3, 2, 5), dtype=dtype)
    ref = torchvision.ops.stochastic_depth(torch.from_numpy(x), 1.0, mode)
    xm = mc.tensor(x, requires_grad=True)
    y = stochastic_depth(xm, 1.0, mode)
    assert y.shape == tuple(ref.shape) and y.dtype == dtype
    assert np.array_equal(y.numpy(), ref.numpy()) and not y.numpy().any()
    y.sum().backward()
    assert xm.grad.shape == x.shape and not xm.grad.numpy().any()


def torchvision_error(fn: Any, *args: Any) -> str:
    with pytest.raises(ValueError) as info:
        fn(*args)
    return str(info.value)


@pytest.mark.parametrize(
    "p, mode",
    [(-0.1, "row"), (1.5, "row"), (-1e-9, "batch"), (2, "batch"), (0.5, "col"), (0.5, "Row"), (0.0, "")],
)
@pytest.mark.parametrize("training", [True, False])
def test_errors_as_torchvision(p: float, mode: str, training: bool) -> None:
    """The same ValueError and message, in and out of training (checked before anything)."""
    message = torchvision_error(torchvision.ops.stochastic_depth, torch.ones(2, 3), p, mode, training)
    assert message == torchvision_error(stochastic_depth, mc.ones(2, 3), p, mode, training)
    layer = StochasticDepth(p, mode)
    layer.train(training)
    assert message == torchvision_error(layer, mc.ones(2, 3))


@pytest.mark.parametrize("p, mode", [(0.2, "row"), (0.0, "batch"), (1, "row"), (0.125, "batch")])
def test_repr_as_torchvision(p: float, mode: str) -> None:
    assert repr(StochasticDepth(p, mode)) == repr(torchvision.ops.StochasticDepth(p, mode))


def test_signatures_as_torchvision() -> None:
    def params(fn: Any) -> list[tuple[str, Any, Any]]:
        return [(q.name, q.default, q.kind) for q in inspect.signature(fn).parameters.values()]

    assert params(stochastic_depth) == params(torchvision.ops.stochastic_depth)
    assert params(StochasticDepth) == params(torchvision.ops.StochasticDepth)


@pytest.mark.parametrize("dtype, torch_dtype", [(np.int64, torch.int64), (np.uint8, torch.uint8), (bool, torch.bool)])
def test_integer_inputs(dtype: Any, torch_dtype: Any) -> None:
    """0 < p < 1 cannot scale an integer tensor: a TypeError naming the op (torchvision: a
    RuntimeError from the in-place product) before any draw; p = 1 zeros it and p = 0 or eval
    return it, in its dtype, as torchvision."""
    x, t = mc.tensor(np.ones((3, 2), dtype=dtype)), torch.ones(3, 2, dtype=torch_dtype)
    with pytest.raises(RuntimeError):
        torchvision.ops.stochastic_depth(t, 0.5, "row")
    mc.manual_seed(0)
    with pytest.raises(TypeError, match=f"stochastic_depth: .*floating-point input, got dtype {np.dtype(dtype)}"):
        stochastic_depth(x, 0.5, "row")
    y = stochastic_depth(x, 1, "row")
    ref = torchvision.ops.stochastic_depth(t, 1, "row")
    assert y.dtype == dtype and np.array_equal(y.numpy(), ref.numpy())
    assert stochastic_depth(x, 0, "batch") is x and stochastic_depth(x, 0.5, "row", False) is x


@pytest.mark.parametrize(
    "shape, mode", [((), "batch"), ((5,), "row"), ((5,), "batch"), ((0, 3), "row"), ((0,), "batch")]
)
def test_small_ranks_and_empty_batches_as_torchvision(shape: tuple[int, ...], mode: str) -> None:
    """0-d ("batch"), 1-d (each entry a row) and empty inputs: torchvision's shape and dtype, a
    new tensor (the input untouched); a 0-d input in "row" mode has no rows: IndexError in both."""
    x_np = positive(shape, dtype=np.float32)
    ref = torchvision.ops.stochastic_depth(torch.from_numpy(x_np.copy()), 0.5, mode)
    x = mc.tensor(x_np)
    mc.manual_seed(2)
    y = stochastic_depth(x, 0.5, mode)
    assert y.shape == tuple(ref.shape) and y.dtype == np.float32
    assert y is not x and not np.shares_memory(y.array, x.array) and np.array_equal(x.numpy(), x_np)
    f = factors(x_np, y.numpy()).reshape(-1)
    assert set(np.round(f, 5)) <= {0.0, 2.0}
    with pytest.raises(IndexError):
        torchvision.ops.stochastic_depth(torch.tensor(1.0), 0.5, "row")
    with pytest.raises(IndexError):
        stochastic_depth(mc.tensor(np.float32(1.0)), 0.5, "row")


# --------------------------------------------------------------------------------------
# the draws


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=5).map(tuple),
    p=st.floats(0.05, 0.95),
    mode=st.sampled_from(["row", "batch"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**31 - 1),
)
def test_masks_and_gradient(shape: tuple[int, ...], p: float, mode: str, dtype: Any, seed: int) -> None:
    """The factor y/x is constant over all but the first axis ("row": one per sample) or over
    everything ("batch"), each 0 or 1/(1-p); the output has the input's shape and dtype; the
    gradient of sum(y * g) is g times the same factor."""
    mc.manual_seed(seed)
    x_np = positive(shape, seed % 1000, dtype)
    x = mc.tensor(x_np, requires_grad=True)
    y = stochastic_depth(x, p, mode)
    assert y.shape == shape and y.dtype == dtype
    f = factors(x_np.astype(np.float64), y.numpy().astype(np.float64))
    rows = f.reshape(shape[0], -1) if mode == "row" else f.reshape(1, -1)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(rows, np.broadcast_to(rows[:, :1], rows.shape), rtol=rtol)
    kept = rows[:, 0] != 0
    np.testing.assert_allclose(rows[kept, 0], 1 / (1 - p), rtol=rtol)
    g = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    (y * mc.tensor(g)).sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.numpy(), g * f.astype(dtype), rtol=rtol, atol=0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_row_statistics(p: float) -> None:
    """Over 40,000 rows: the kept fraction is 1-p and the mean of the output the input's,
    within 5 standard errors (binomial: sqrt(p(1-p)/n), the mean's: sqrt(p/(1-p)/n))."""
    n = 40_000
    mc.manual_seed(11)
    y = stochastic_depth(mc.ones(n, 2, 3), p, "row").numpy()
    per_row = y[:, 0, 0]
    assert np.all(y == per_row[:, None, None])
    kept = np.mean(per_row != 0)
    assert abs(kept - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)
    torch.manual_seed(0)
    ref = torchvision.ops.stochastic_depth(torch.ones(200, 1), p, "row").numpy()
    assert set(np.unique(per_row)) == set(np.unique(ref)) == {0.0, ref.max()}  # float32 1/(1-p), bit for bit


def test_batch_statistics() -> None:
    """ "batch": the whole tensor kept or dropped together; over 4,000 calls the kept fraction
    is 1-p within 5 standard errors."""
    p, n = 0.3, 4000
    mc.manual_seed(12)
    x = mc.ones(3, 2)
    outcomes = []
    for _ in range(n):
        y = stochastic_depth(x, p, "batch").numpy()
        assert np.all(y == y.flat[0])
        outcomes.append(y.flat[0] != 0)
    assert abs(np.mean(outcomes) - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)


def test_seeded_draws_repeat_and_layer_draws_in_training() -> None:
    x = mc.tensor(positive((64, 3)))
    mc.manual_seed(3)
    a = stochastic_depth(x, 0.5, "row").numpy()
    b = stochastic_depth(x, 0.5, "row").numpy()
    mc.manual_seed(3)
    layer = StochasticDepth(0.5, "row")
    assert layer.training
    c = layer(x).numpy()
    assert np.array_equal(a, c) and not np.array_equal(a, b)  # same seed, same mask; next call, another


# --------------------------------------------------------------------------------------
# gradcheck (the mask is redrawn at every call: each call re-seeds first)


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_gradcheck(mode: str) -> None:
    def fn(x: mc.Tensor) -> mc.Tensor:
        mc.manual_seed(1)
        return stochastic_depth(x, 0.5, mode)

    x = mc.tensor(np.random.default_rng(0).standard_normal((6, 2, 3)), requires_grad=True)
    f = factors(x.numpy(), fn(x).numpy())
    assert set(np.unique(f.round(12))) == ({0.0, 2.0} if mode == "row" else {2.0})  # dropped and kept seen
    assert mc.gradcheck(fn, [x])


def test_gradgradcheck() -> None:
    """Second derivatives through the mask (a product with a constant): y = sd(x) * x."""

    def fn(x: mc.Tensor) -> mc.Tensor:
        mc.manual_seed(1)
        return stochastic_depth(x, 0.5, "row") * x

    x = mc.tensor(np.random.default_rng(1).standard_normal((6, 3)), requires_grad=True)
    mc.manual_seed(1)
    assert set(stochastic_depth(mc.ones(6, 3), 0.5, "row").numpy()[:, 0]) == {0.0, 2.0}
    assert mc.gradgradcheck(fn, [x])


# --------------------------------------------------------------------------------------
# devices


@pytest.mark.parametrize("device", devices())
def test_on_device(device: str) -> None:
    """On each device: the row masks, the 1/(1-p) factors, the gradient the mask; the output
    stays on the input's device."""
    mc.manual_seed(0)
    x_np = positive((32, 3, 4), dtype=np.float32)
    x = mc.tensor(x_np, requires_grad=True, device=device)
    y = stochastic_depth(x, 0.25, "row")
    assert mc.backend.device_of(y.array) == mc.backend.device_of(x.array)
    f = factors(x_np, y.numpy())
    rows = f.reshape(32, -1)
    np.testing.assert_allclose(rows, np.broadcast_to(rows[:, :1], rows.shape), rtol=1e-6)
    assert set(np.unique(rows[:, 0].round(5))) == {0.0, np.float32(1 / 0.75).round(5)}
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), f, rtol=1e-6)
    layer = StochasticDepth(0.25, "row").eval()
    assert layer(x) is x
