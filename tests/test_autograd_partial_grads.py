"""The backward pass sums gradients in buffers it owns, and a slice's gradient (x[index] with a
basic index) waits as a block instead of a zero array of x's size (Function.backward_part):
cutting x into k pieces costs O(x.size), not O(k * x.size). Gradients equal torch's on drawn
cuts, with hooks, retain_grad, gradients passed to several inputs, create_graph and on CuPy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from conftest import devices, engine_writes
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc


@st.composite
def _cuts(draw: Any) -> tuple[tuple[int, ...], list[Any]]:
    """A shape and a few basic indices into it (slices with positive steps, as torch allows; ints, None, Ellipsis)."""
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    cuts = []
    for _ in range(draw(st.integers(1, 5))):
        parts: list[Any] = []
        for n in shape:
            kind = draw(st.sampled_from(["slice", "int", "all"]))
            if kind == "int":
                parts.append(draw(st.integers(-n, n - 1)))
            elif kind == "slice":
                start, stop = draw(st.integers(-n, n)), draw(st.integers(-n, n))
                parts.append(slice(start, stop, draw(st.sampled_from([1, 2, 3, None]))))
            else:
                parts.append(slice(None))
        if draw(st.booleans()):
            parts.insert(draw(st.integers(0, len(parts))), None)
        if draw(st.booleans()) and isinstance(parts[-1], slice) and parts[-1] == slice(None):
            parts[-1] = Ellipsis
        cuts.append(tuple(parts))
    return shape, cuts


def _loss(x: Any, cuts: list[Any], weights: list[np.ndarray], lib: Any, dense: bool) -> Any:
    total = (x * x).sum() if dense else 0
    for cut, w in zip(cuts, weights):
        piece = x[cut]
        total = total + (piece * lib(w)).sum()
    return total


@settings(max_examples=40, deadline=None)
@given(_cuts(), st.booleans(), st.integers(0, 2**16))
def test_drawn_cuts_give_torchs_gradient(case: Any, dense: bool, seed: int) -> None:
    shape, cuts = case
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(shape)
    weights = [rng.standard_normal(np.empty(shape)[c].shape) for c in cuts]
    x, t = mc.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    _loss(x, cuts, weights, mc.tensor, dense).backward()
    _loss(t, cuts, weights, torch.tensor, dense).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cut", ["unbind", "split", "chunk", "index"])
def test_cutting_into_k_pieces_allocates_one_gradient_of_the_whole(cut: str) -> None:
    """The summing allocates about x.size elements whatever k is (it was k * x.size)."""

    def work(k: int) -> tuple[int, np.ndarray]:
        x = mc.tensor(np.arange(24 * 16.0).reshape(24 * 16 // 16, 16) / 7, requires_grad=True)
        y = x * 2  # a non-leaf: its gradient is summed by the pass, then flows on
        pieces = {
            "unbind": lambda: y[: 24 // (24 // k) * (24 // k)].unbind(0)[:k],
            "split": lambda: mc.split(y, 24 // k),
            "chunk": lambda: mc.chunk(y, k),
            "index": lambda: [y[i * (24 // k) : (i + 1) * (24 // k)] for i in range(k)],
        }[cut]()
        with engine_writes() as sizes:
            sum((p * (i + 1)).sum() for i, p in enumerate(pieces)).backward()
        return sum(sizes), x.grad.numpy()

    few, g_few = work(2)
    many, g_many = work(24)
    assert many <= few + 16 * 24 // 2  # at most one more piece-sized term, not 12x the whole
    assert few >= 24 * 16  # (the whole gradient is written once)
    assert g_many.shape == g_few.shape == (24, 16)
    t = torch.tensor(np.arange(24 * 16.0).reshape(24, 16) / 7, requires_grad=True)
    y = t * 2
    sum((p * (i + 1)).sum() for i, p in enumerate(torch.chunk(y, 24))).backward()
    if cut != "unbind":
        np.testing.assert_allclose(g_many, t.grad.numpy(), rtol=1e-12)


def test_a_gradient_passed_to_two_inputs_is_never_written_in_place() -> None:
    """Add hands gy to both of its inputs: summing more into one of them must copy first."""
    x0 = np.arange(6.0).reshape(2, 3)
    x, t = mc.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    for v in (x, t):
        a, b = v * 3, v.exp()
        s = a + b  # s's gradient goes to a and b as one array
        loss = (s * s).sum() + a[0].sum() * 5 + b[:, 1:].sum() + a.sum() + b[1, 2]
        loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_hooks_and_retain_grad_see_the_summed_gradient() -> None:
    x0 = np.linspace(-1, 1, 12).reshape(3, 4)
    seen: dict[str, list[np.ndarray]] = {"mc": [], "torch": []}
    grads = {}
    for name, lib in (("mc", mc), ("torch", torch)):
        x = lib.tensor(x0, requires_grad=True)
        y = x.sin()
        y.retain_grad()
        y.register_hook(lambda g, name=name: seen[name].append(np.array(g.detach().numpy())))
        loss = sum((p * (i + 2)).sum() for i, p in enumerate(y.unbind(1))) + y[1:, ::2].sum()
        loss.backward()
        grads[name] = (x.grad.numpy(), y.grad.numpy())
    assert len(seen["mc"]) == len(seen["torch"]) == 1
    np.testing.assert_allclose(seen["mc"][0], seen["torch"][0], rtol=1e-12)
    for a, b in zip(grads["mc"], grads["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_zero_dim_pieces_and_float32() -> None:
    x0 = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    x, t = mc.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    for v in (x, t):
        (v[1, 2] * 3 + v[0, 0] * v[0, 0] + v[-1, -1] + v[0].sum()).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_second_derivatives_through_cuts() -> None:
    x0 = np.linspace(0.1, 1.2, 12).reshape(4, 3)
    out = {}
    for name, lib in (("mc", mc), ("torch", torch)):
        x = lib.tensor(x0, requires_grad=True)
        loss = sum((p**3).sum() * (i + 1) for i, p in enumerate(lib.chunk(x, 4))) + (x[1:3] ** 2).sum()
        (g,) = (mc.autograd.grad if lib is mc else torch.autograd.grad)(loss, [x], create_graph=True)
        (g * g).sum().backward()
        out[name] = (g.detach().numpy(), x.grad.numpy())
    for a, b in zip(out["mc"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_retained_graph_runs_twice_with_the_same_result() -> None:
    x = mc.tensor(np.arange(8.0), requires_grad=True)
    loss = sum((p * p).sum() for p in mc.split(x, 3))
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


@pytest.mark.parametrize("device", devices())
def test_cuts_on_each_device(device: str) -> None:
    x0 = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    x = mc.tensor(x0, device=device, requires_grad=True)
    t = torch.tensor(x0, requires_grad=True)
    for v, lib in ((x, mc), (t, torch)):
        y = v.tanh()
        (sum((p * (i + 1)).sum() for i, p in enumerate(lib.unbind(y, 0))) + y[::2, 1:].sum()).backward()
    assert x.grad.device == x.device
    np.testing.assert_allclose(mc.backend.to_numpy(x.grad.array), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: (x * x) + x[None].sum() + x[...] * 3,
        lambda x: x[None].sum() + (x * x),
        lambda x: x[...] + x[None][0] * 2 + x * x,
    ],
)
def test_cuts_of_a_zero_dim_tensor(fn: Any) -> None:
    """A 0-d gradient can arrive as a NumPy scalar (0-d arithmetic): a slice's block added to it
    must still give torch's gradient."""
    x, t = mc.tensor(2.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)
    fn(x).backward()
    fn(t).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize(
    "a, b",
    [
        ((slice(None), slice(0, 3)), (slice(None), slice(3, None))),  # two chunks: they cover x
        ((slice(None), slice(None, 2)), (slice(None), slice(4, None))),  # apart, a gap between them
        ((slice(None), slice(None, 4)), (slice(None), slice(2, None))),  # overlapping
        (0, 1),  # ints: covering
        ((0, 1), (1, -1)),  # ints: apart, most of x left out
        ((slice(None), slice(None, None, 2)), (slice(None), slice(1, None, 2))),  # steps: added, not written
        ((-1,), (slice(None), slice(3, 3))),  # an empty block
        ((Ellipsis, 0), (Ellipsis, slice(1, None))),  # (Ellipsis: added)
    ],
)
def test_two_blocks_of_one_gradient_meet(a: Any, b: Any) -> None:
    """Two slices' blocks of one tensor's gradient meet (engine._disjoint_sum): blocks apart are
    written side by side, left unfilled only where they cover the tensor. NumPy hands the freed
    garbage arrays below back to the pass, so a gap left unzeroed would show."""
    x0 = np.random.default_rng(1).standard_normal((2, 6, 3))
    w = {k: np.random.default_rng(k).standard_normal(np.empty(x0.shape)[i].shape) for k, i in ((0, a), (1, b))}
    grads = []
    for lib in (mc, torch):
        x = lib.tensor(x0, requires_grad=True)
        y = x * 1.5  # a non-leaf: its two parts meet in the pass
        loss = (y[a] * lib.tensor(w[0])).sum() + (y[b] * lib.tensor(w[1])).sum()
        garbage = [np.full(x0.shape, np.nan) for _ in range(4)]
        del garbage
        loss.backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=0)
