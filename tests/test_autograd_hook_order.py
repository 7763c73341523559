"""The order backward calls hooks in, against torch's engine, and post-accumulate-grad hooks.

torch runs, among the nodes whose gradient is complete, the most recently created one first,
and accumulates a leaf's gradient (calling its hooks) as soon as that gradient is complete.
Random graphs over a few leaves, with a hook on every tensor, must log the same sequence.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import torchvision_twin
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc

UNARY = ("exp", "sin", "tanh", "double")
BINARY = ("add", "mul", "sub")


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[tuple], list[int]]:
    """(number of leaves, ops as (kind, input indices), indices of the tensors summed into the loss)."""
    leaves = draw(st.integers(1, 4))
    ops = []
    for i in range(draw(st.integers(1, 12))):
        count = leaves + i
        if draw(st.booleans()):
            ops.append((draw(st.sampled_from(UNARY)), (draw(st.integers(0, count - 1)),)))
        else:
            pair = (draw(st.integers(0, count - 1)), draw(st.integers(0, count - 1)))
            ops.append((draw(st.sampled_from(BINARY)), pair))
    total = leaves + len(ops)
    extra = draw(st.lists(st.integers(leaves, total - 1), max_size=3, unique=True))
    return leaves, ops, sorted({total - 1, *extra})


def _apply(kind: str, args: list) -> object:
    if kind == "double":
        return args[0] * 2
    if kind in UNARY:
        return getattr(args[0], kind)()
    return {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b}[kind](*args)


def _run(lib: object, leaves: int, ops: list[tuple], summed: list[int], mode: str) -> list:
    log: list = []
    rng = np.random.default_rng(0)
    tensors = []
    for i in range(leaves):
        values = rng.uniform(0.5, 1.0, 3)
        t = torch.tensor(values, requires_grad=True) if lib is torch else mc.tensor(values, requires_grad=True)
        t.register_hook(lambda g, i=i: log.append(("hook", i)))
        t.register_post_accumulate_grad_hook(lambda t, i=i: log.append(("post", i, round(float(t.grad.sum()), 9))))
        tensors.append(t)
    for kind, which in ops:
        t = _apply(kind, [tensors[j] for j in which])
        i = len(tensors)
        t.register_hook(lambda g, i=i: log.append(("hook", i)))
        tensors.append(t)
    loss = sum(tensors[j].sum() for j in summed)
    if mode == "backward":
        loss.backward()
    elif mode == "inputs":  # only the first leaf's gradient: hooks off its paths are not called
        loss.backward(inputs=[tensors[0]])
    else:  # autograd.grad: no .grad is written, so no post-accumulate hook runs
        (torch.autograd.grad if lib is torch else mc.autograd.grad)(loss, tensors[:leaves], allow_unused=True)
    return log


@settings(max_examples=150, deadline=None)
@given(graphs(), st.sampled_from(["backward", "inputs", "grad"]))
def test_hooks_run_in_torchs_order(graph: tuple, mode: str) -> None:
    leaves, ops, summed = graph
    assert _run(mc, leaves, ops, summed, mode) == _run(torch, leaves, ops, summed, mode)


def test_independent_branches_newest_first() -> None:
    """The example of the engine's docs: two branches from one leaf, hooks on all."""
    logs: list[list[str]] = []
    for lib in (torch, mc):
        log: list[str] = []
        x = lib.ones(3, requires_grad=True)
        a, b = x * 2, x * 3
        c, d = a.exp(), b.sin()
        for name, t in zip("xabcd", (x, a, b, c, d)):
            t.register_hook(lambda g, name=name, log=log: log.append(name))
        (c.sum() + d.sum()).backward()
        logs.append(log)
    assert logs[0] == logs[1] == ["d", "c", "b", "a", "x"]


def test_post_accumulate_grad_hook_sees_the_accumulated_grad_and_can_step() -> None:
    """torch's optimizer-in-backward pattern: the hook reads .grad (summed over both uses, plus
    what was there), updates the leaf under no_grad and clears .grad."""
    results = []
    for lib in (torch, mc):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        w.grad = lib.tensor([0.5, 0.5])
        seen = []

        def step(t, lib=lib, seen=seen):
            seen.append(t.grad.clone())
            with lib.no_grad():
                t -= 0.1 * t.grad
            t.grad = None

        handle = w.register_post_accumulate_grad_hook(step)
        (w * w).sum().backward()
        results.append((np.asarray(seen[0].detach()), np.asarray(w.detach()), w.grad))
        handle.remove()
        (w * 3).sum().backward()
        assert len(seen) == 1  # removed
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1])
    assert results[0][2] is None and results[1][2] is None


def test_post_accumulate_grad_hook_refusals_match_torch() -> None:
    for lib in (torch, mc):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_post_accumulate_grad_hook(lambda t: None)
        with pytest.raises(RuntimeError, match="non-leaf"):
            (lib.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_grad_hook_under_create_graph() -> None:
    """create_graph=True: the hook runs once .grad (a tensor with a graph) is set."""
    grads = []
    for lib in (torch, mc):
        w = lib.tensor([1.0, 3.0], requires_grad=True)
        seen = []
        w.register_post_accumulate_grad_hook(lambda t, seen=seen: seen.append(t.grad.requires_grad))
        (w**3).sum().backward(create_graph=True)
        grads.append((seen, np.asarray(w.grad.detach())))
        w.grad = None
    assert grads[0][0] == grads[1][0] == [True]
    np.testing.assert_allclose(grads[0][1], grads[1][1])


@pytest.mark.parametrize("kind", ["full", "pre"])
def test_module_backward_hooks_run_in_torchs_order_through_inception_branches(kind: str) -> None:
    """GoogLeNet's Inception blocks run four branches side by side: the module backward hooks
    of every BasicConv2d fire in torchvision's order."""
    tvm = pytest.importorskip("torchvision.models")
    ours, tv = torchvision_twin(
        lambda: mc.models.googlenet(num_classes=10, aux_logits=False, init_weights=False),
        lambda: tvm.googlenet(weights=None, num_classes=10, aux_logits=False, init_weights=False),
    )
    logs = []
    for model, lib in ((ours, mc), (tv, torch)):
        log: list[str] = []
        for name, module in model.named_modules():
            if type(module).__name__ == "BasicConv2d":
                if kind == "full":
                    module.register_full_backward_hook(lambda m, gi, go, name=name, log=log: log.append(name))
                else:
                    module.register_full_backward_pre_hook(lambda m, go, name=name, log=log: log.append(name))
        x = np.random.default_rng(0).standard_normal((2, 3, 40, 40))
        model(lib.tensor(x, requires_grad=True)).sum().backward()
        logs.append(log)
    assert len(logs[0]) == 57
    assert logs[0] == logs[1]
