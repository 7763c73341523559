"""The autograd engine: accumulation, deep graphs, no_grad, detach, memory release."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest
import torch

import minicnn as mc
import minicnn.nn.functional as F


def test_gradients_accumulate_across_backward_calls_like_torch():
    a = np.array([1.0, -2.0, 3.0])
    x, tx = mc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
        (tx * tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_shared_subexpression_and_diamond():
    a = np.array([0.5, 1.5])
    x, tx = mc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for t, lib in ((x, mc), (tx, torch)):
        h = lib.exp(t) * 2
        y = (h * h + h.sum() * t - lib.log(h)).sum()
        y.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_deep_chain_of_2000_layers_needs_no_recursion():
    x = mc.tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * 1.001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 1.001**2000), rtol=1e-10)


def test_no_grad_records_nothing_and_detach_cuts_the_graph():
    x = mc.randn(3, requires_grad=True)
    with mc.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).detach()
    assert z.is_leaf and not z.requires_grad
    w = x * 3
    assert w.requires_grad and not w.is_leaf

    @mc.no_grad()
    def f(t):
        return t * t

    assert not f(x).requires_grad
    assert mc.is_grad_enabled()


def test_requires_grad_only_propagates_from_inputs_that_require_it():
    a = mc.randn(2)
    b = mc.randn(2, requires_grad=True)
    assert not (a * 2).requires_grad
    assert (a * b).requires_grad
    (a * b).sum().backward()
    assert a.grad is None and b.grad is not None
    with pytest.raises(RuntimeError):
        mc.tensor([1, 2]).requires_grad = True


def test_second_backward_without_retain_graph_raises_and_retain_graph_allows_it():
    x = mc.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_non_scalar_backward_needs_grad_argument():
    x = mc.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(np.ones(3, dtype=np.float32))
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.0))


def test_retain_grad_on_intermediate():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0])


def test_leaf_grads_do_not_alias_each_other():
    a, b = mc.randn(3, requires_grad=True), mc.randn(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.array *= 5
    np.testing.assert_allclose(b.grad.numpy(), np.ones(3))


def test_leaf_grads_never_share_memory_even_through_views():
    a, c = mc.randn(2, 3, requires_grad=True), mc.randn(6, requires_grad=True)
    (a + c.reshape(2, 3)).sum().backward()
    assert not np.shares_memory(a.grad.array, c.grad.array)
    g = np.ones((2, 3), dtype=np.float32)
    a.grad = None
    a.backward(g)
    assert not np.shares_memory(a.grad.array, g)


def test_float32_stays_float32():
    x = mc.randn(4, 3, requires_grad=True)
    y = F.relu(x * 2.5 + 1) / 3
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_buffers_released_after_backward_and_memory_stays_flat():
    """A training loop's traced memory does not grow over 1,000 steps."""
    mc.manual_seed(0)
    model = mc.nn.Sequential(mc.nn.Linear(20, 32), mc.nn.ReLU(), mc.nn.Linear(32, 4))
    x, t = mc.randn(16, 20), mc.tensor(np.arange(16) % 4)

    def step():
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        with mc.no_grad():
            for p in model.parameters():
                p.array -= 0.01 * p.grad.array
                p.grad = None

    for _ in range(20):
        step()
    gc.collect()
    tracemalloc.start()
    step()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(1000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 64 * 1024, f"memory grew by {grown} bytes over 1000 steps"


def test_nodes_drop_saved_arrays_after_backward():
    x = mc.randn(100, 100, requires_grad=True)
    y = mc.exp(x)
    node = y.grad_fn
    assert hasattr(node, "y")
    y.sum().backward()
    # the freed node keeps only its edges, as torch's: the leaf itself (AccumulateGrad's), the op of another
    assert not hasattr(node, "y") and node.released and len(node.inputs) == 1 and node.inputs[0] is x
    z = mc.exp(x * 2)
    z.sum().backward()
    (edge,) = z.grad_fn.inputs
    assert not isinstance(edge, mc.Tensor) and [f.name() for f, _ in z.grad_fn.next_functions] == ["MulBackward0"]


def test_tensor_basics():
    t = mc.tensor([[1, 2], [3, 4]])
    assert t.dtype == np.int64 and t.shape == (2, 2) and t.ndim == 2 and len(t) == 2
    f = mc.tensor([1.0, 2.0])
    assert f.dtype == np.float32 and f.device == "cpu"
    assert mc.tensor(np.zeros(2)).dtype == np.float64
    assert mc.zeros(2, 3).shape == (2, 3) and mc.ones((2,)).numpy().tolist() == [1.0, 1.0]
    assert mc.arange(5).dtype == np.int64 and mc.arange(0, 1, 0.5).dtype == np.float32
    assert mc.tensor([3.5]).item() == 3.5
    assert (t > 2).numpy().tolist() == [[False, False], [True, True]]
    a = np.arange(3.0)
    s = mc.from_numpy(a)
    a[0] = 7
    assert s.numpy()[0] == 7
    c = mc.tensor(a)
    a[1] = 9
    assert c.numpy()[1] == 1
    n = c.numpy()
    n[2] = 100
    assert c.numpy()[2] == 2  # .numpy() is a host copy
    assert "requires_grad=True" in repr(mc.zeros(1, requires_grad=True))


def test_manual_seed_makes_draws_reproducible():
    mc.manual_seed(123)
    a = mc.randn(5).numpy(), mc.rand(3).numpy()
    mc.manual_seed(123)
    b = mc.randn(5).numpy(), mc.rand(3).numpy()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_in_place_operators_like_torch():
    lin = mc.nn.Linear(2, 1)
    before = lin.weight.numpy()
    lin(mc.ones((1, 2))).sum().backward()
    with mc.no_grad():
        for p in lin.parameters():
            p -= 0.1 * p.grad  # a hand-written SGD step updates the parameter itself
    np.testing.assert_allclose(lin.weight.numpy(), before - 0.1, rtol=1e-6)
    assert lin.weight.is_leaf and lin.weight.requires_grad
    w = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    h = w * 2
    h *= 3  # a non-leaf in a graph: recorded (out of place), gradients stay right
    h.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 6.0])
    c = mc.tensor([1.0, 2.0])
    c /= 2
    np.testing.assert_allclose(c.numpy(), [0.5, 1.0])


def test_type_promotion_follows_torch():
    x, i = mc.tensor([1.0, 2.0]), mc.tensor([1, 2])
    tx, ti = torch.tensor([1.0, 2.0]), torch.tensor([1, 2])
    cases = [
        (x * np.int64(3), tx * np.int64(3)),
        (x * 2.5, tx * 2.5),
        (i + x, ti + tx),
        (i / i, ti / ti),
        (i + 2.5, ti + 2.5),
        (x + mc.tensor(np.float64(2)), tx + torch.tensor(2.0, dtype=torch.float64)),
        (i + mc.tensor(np.float64(2)), ti + torch.tensor(2.0, dtype=torch.float64)),
        (x.double() + x, tx.double() + tx),
        (i * 3, ti * 3),
    ]
    for ours, theirs in cases:
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_reductions_of_a_0d_tensor_and_keepdim_alias():
    t = mc.tensor(3.0)
    assert t.sum(dim=0).item() == 3.0 and t.max(dim=-1).item() == 3.0 and t.mean(dim=0).item() == 3.0
    assert mc.randn(2, 3).sum(dim=0, keepdim=True).shape == (1, 3)
    assert mc.randn(2, 3).var(dim=1, keepdim=True).shape == (2, 1)


def test_pow_with_zero_exponent_has_zero_gradient_at_zero():
    x = mc.tensor([0.0, 1.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


# -- in-place writes to memory a backward needs: torch's version-counter check -------------------
def _inplace_scenarios():
    """(name, body) where body(lib, ones, randn, no_grad, sgd) builds a graph, writes in place,
    and returns (loss, the leaves whose gradients to compare)."""

    def mul_input(lib, ones, randn, no_grad, sgd):
        w, x = randn(3, True), randn(3, False)
        y = (w * x).sum()
        x += 1  # Mul keeps x for w's gradient
        return y, [w]

    def add_input(lib, ones, randn, no_grad, sgd):
        w, x = randn(3, True), randn(3, False)
        y = (w + x).sum()
        x += 1  # Add keeps nothing: fine
        return y, [w]

    def setitem_input(lib, ones, randn, no_grad, sgd):
        w, x = randn(3, True), randn(3, False)
        y = (w * x).sum()
        x[0] = 5.0
        return y, [w]

    def exp_output(lib, ones, randn, no_grad, sgd):
        a = randn(3, True)
        b = a.exp()  # exp keeps its output
        with no_grad():
            b += 1
        return b.sum(), [a]

    def view_of_input_written(lib, ones, randn, no_grad, sgd):
        w, x = randn(3, True), randn(3, False)
        y = (w * x).sum()
        v = x[:2]  # a view shares x's version counter
        v += 1
        return y, [w]

    def step_on_unsaved_leaf(lib, ones, randn, no_grad, sgd):
        w, b = randn(3, True), randn(3, True)
        y = (w * 2.0 + b).sum()  # b goes through Add only
        with no_grad():
            b -= 0.1
        return y, [w, b]

    return [mul_input, add_input, setitem_input, exp_output, view_of_input_written, step_on_unsaved_leaf]


@pytest.mark.parametrize("scenario", _inplace_scenarios(), ids=lambda f: f.__name__)
def test_inplace_modification_check_agrees_with_torch(scenario) -> None:
    import torch

    rng = np.random.default_rng(0)
    draws = [rng.standard_normal(3) for _ in range(4)]

    def run(lib: str):
        it = iter(draws)
        if lib == "torch":

            def randn(shape, grad):
                return torch.tensor(next(it), requires_grad=grad)

            no_grad = torch.no_grad
        else:

            def randn(shape, grad):
                return mc.tensor(next(it), requires_grad=grad)

            no_grad = mc.no_grad
        loss, leaves = scenario(lib, None, randn, no_grad, None)
        try:
            loss.backward()
        except RuntimeError as exc:
            assert "modified by an inplace operation" in str(exc)
            return None
        return [np.asarray(leaf.grad.numpy()) for leaf in leaves]

    ours, theirs = run("minicnn"), run("torch")
    assert (ours is None) == (theirs is None), f"torch {'raised' if theirs is None else 'did not raise'}"
    if ours is not None:
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_optimizer_step_before_a_second_backward_is_caught_like_torch() -> None:
    import torch

    w0 = np.random.default_rng(1).standard_normal((2, 3))
    x0 = np.random.default_rng(2).standard_normal((4, 3))
    for lib in ("minicnn", "torch"):
        if lib == "torch":
            w = torch.tensor(w0, requires_grad=True)
            y = (torch.tensor(x0, requires_grad=True) @ w.T).sum()
            opt = torch.optim.SGD([w], lr=0.1)
        else:
            w = mc.tensor(w0, requires_grad=True)
            y = (mc.tensor(x0, requires_grad=True) @ w.T).sum()
            opt = mc.optim.SGD([w], lr=0.1)
        y.backward(retain_graph=True)
        opt.step()
        # the matmul keeps w (through the view w.T, which shares w's version) for x's gradient
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_relu_output_written_in_place_keeps_a_correct_gradient() -> None:
    # torch's relu keeps its output and refuses here; minicnn's keeps a mask computed in
    # forward, so the write cannot corrupt the gradient and backward goes through.
    x = mc.tensor(np.array([-1.0, 2.0, 3.0]), requires_grad=True)
    y = mc.nn.functional.relu(x * 1.0)
    with mc.no_grad():
        y += 10.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0])


def test_backward_gives_inf_and_nan_gradients_quietly_as_torch():
    """sqrt'(0) = inf and 0 * inf = nan arise in the backward without NumPy's RuntimeWarnings."""
    import warnings

    for fn in (mc.sqrt, lambda t: mc.sqrt(t) * 0.0):
        x, tx = mc.tensor([0.0, 4.0], requires_grad=True), torch.tensor([0.0, 4.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fn(x).sum().backward()
        (torch.sqrt(tx) * (0.0 if fn is not mc.sqrt else 1.0)).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_forward_gives_inf_and_nan_quietly_as_torch():
    """inf - inf, 0 * inf, log(0), x / 0 in an op's forward give torch's values without NumPy's
    RuntimeWarnings (torch never warns about float arithmetic); NumPy's own settings outside
    minicnn are left alone."""
    import warnings

    a = np.array([[[[np.inf, -np.inf, 0.0, 1.0]]]], np.float32)
    cases = {
        "sum": lambda m, t: t.sum(),
        "log": lambda m, t: m.log(t * 0),
        "div": lambda m, t: t / (t * 0),
        "softmax": lambda m, t: m.softmax(t, -1),
        "avg_pool2d": lambda m, t: m.nn.functional.avg_pool2d(t, (1, 2)),
    }
    for name, f in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ours = f(mc, mc.tensor(a)).numpy()
        theirs = f(torch, torch.tensor(a)).numpy()
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
    with pytest.warns(RuntimeWarning):
        np.log(np.zeros(1))


def test_hooks_run_under_the_callers_numpy_error_settings():
    """The backward is quiet about inf/nan, but a user's hook keeps the caller's settings."""
    import warnings

    def hook(g):
        np.log(np.zeros(1))  # divide by zero: NumPy warns under the default settings
        return g

    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(hook)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mc.sqrt(mc.tensor([0.0], requires_grad=True)).sum().backward()
