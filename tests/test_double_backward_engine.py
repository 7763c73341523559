"""The engine side of ``create_graph=True``: gradients that carry a graph, as in torch.

The ops' own double backward is tested family by family (test_double_backward_*.py);
here: what ``.grad`` becomes, accumulation, hooks, aliasing of repeated inputs, the
three ways an op can give its backward in ops, the errors, and ``mc.gradgradcheck``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn as mc
from minicnn.autograd import Function

X = np.array([0.5, -1.25, 2.0])


def both(values=X):
    return mc.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_create_graph_gives_grad_with_a_graph_and_accumulates_as_torch():
    (x, xt) = both()
    (x * x * x).sum().backward(create_graph=True)
    (xt * xt * xt).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.detach().numpy())
    x.grad.sum().backward()  # d/dx sum(3x^2) = 6x, added to the 3x^2 already there
    xt.grad.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.detach().numpy())


def test_third_derivative_of_a_polynomial():
    x, xt = both()
    mg = mc.autograd.grad((x * x * x * x).sum(), x, create_graph=True)[0]
    mg = mc.autograd.grad(mg.sum(), x, create_graph=True)[0]
    mg = mc.autograd.grad(mg.sum(), x)[0]
    np.testing.assert_allclose(mg.numpy(), 24 * X)  # d^3 x^4 = 24 x


def test_graph_is_kept_after_create_graph():
    x, _ = both()
    y = (x * x).sum()
    y.backward(create_graph=True)
    y.backward()  # torch: retain_graph defaults to create_graph
    np.testing.assert_allclose(x.grad.numpy(), 4 * X)


def test_grad_outputs_with_a_graph_are_differentiated_too():
    x, xt = both()
    v, vt = both(np.array([1.0, 2.0, -3.0]))
    g = mc.autograd.grad(x * x, x, v, create_graph=True)[0]
    gt = torch.autograd.grad(xt * xt, xt, vt, create_graph=True)[0]
    gv = mc.autograd.grad((g * g).sum(), [x, v])
    gvt = torch.autograd.grad((gt * gt).sum(), [xt, vt])
    for m, t in zip(gv, gvt):
        np.testing.assert_allclose(m.numpy(), t.numpy())


def test_hooks_see_and_may_replace_a_gradient_with_a_graph():
    x, xt = both()
    seen, firsts, seconds = [], [], []
    for t, grad in ((x, mc.autograd.grad), (xt, torch.autograd.grad)):
        y = t * t
        y.register_hook(lambda g: seen.append(g.requires_grad) or g * g)  # the replacement joins the graph
        (g,) = grad((y * y).sum(), t, create_graph=True)
        firsts.append(g.detach().numpy())
        seconds.append(grad(g.sum(), t)[0].numpy())
    assert seen == [True, False, True, False]  # each pass through y calls its hook; the second has no graph
    np.testing.assert_allclose(firsts[0], firsts[1])
    np.testing.assert_allclose(seconds[0], seconds[1])


def test_repeated_inputs_get_partial_derivatives_each():
    """``Pair(x, x)`` with a composite: each argument's derivative is its partial one."""

    class Pair(Function):  # a * b^2, given only as a composite
        def forward(self, a, b):
            return a * b * b

        def backward(self, gy):
            raise AssertionError("not used: create_graph calls backward_graph")

        def composite(self, a, b):
            return a * b * b

    x, xt = both()
    g = mc.autograd.grad(Pair.apply(x, x).sum(), x, create_graph=True)[0]
    gt = torch.autograd.grad((xt * xt * xt).sum(), xt, create_graph=True)[0]
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy())
    np.testing.assert_allclose(mc.autograd.grad(g.sum(), x)[0].numpy(), 6 * X)


def test_linear_op_with_an_integer_input_takes_the_adjoint():
    """``linear = True``: the second derivative with respect to the seed is the op again, with
    the integer input (the indices) kept and the other float inputs zero."""

    class TakeAdd(Function):  # y = a[idx] + b
        linear = True

        def forward(self, a, idx, b):
            self.n, self.idx = a.shape[0], idx
            return a[idx] + b

        def backward(self, gy):
            ga = np.zeros(self.n)
            np.add.at(ga, self.idx, gy)
            return ga, None, gy

    x, _ = both()
    b = mc.tensor([1.0, 1.0], requires_grad=True)
    idx = mc.tensor(np.array([2, 2]))
    v = mc.tensor([3.0, 5.0], requires_grad=True)
    ga, gb = mc.autograd.grad(TakeAdd.apply(x, idx, b), [x, b], v, create_graph=True)
    np.testing.assert_allclose(ga.numpy(), [0, 0, 8.0])
    w = mc.tensor([0.0, 0.0, 1.0])
    (gv,) = mc.autograd.grad((ga * w).sum() + gb.sum(), v)
    np.testing.assert_allclose(gv.numpy(), [2.0, 2.0])  # d/dv (v0 + v1) + (v0 + v1)


def test_op_without_a_graph_form_raises_naming_it():
    class Opaque(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy * 2

    x, _ = both()
    y = Opaque.apply(x).sum()
    y.backward()  # first order works
    with pytest.raises(NotImplementedError, match="Opaque: create_graph=True"):
        mc.autograd.grad(Opaque.apply(x).sum(), x, create_graph=True)


def test_in_place_write_to_an_input_is_refused_with_create_graph():
    x, _ = both()
    a = x * 1.0
    y = (a * a).sum()
    with mc.no_grad():
        a.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        mc.autograd.grad(y, x, create_graph=True)


def test_gradgradcheck_passes_and_catches_a_wrong_second_derivative():
    class Cube(Function):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, gy):
            return 3 * gy * self.x**2

        def backward_graph(self, gy, x):
            return 3 * gy * x * x * 1.01  # 1 % off: gradgradcheck must see it

    x = mc.tensor(X, requires_grad=True)
    assert mc.gradgradcheck(lambda t: t * t * t, [x])
    with pytest.raises(mc.GradcheckError):
        mc.gradgradcheck(Cube.apply, [x])


def test_every_op_has_a_graph_form_but_the_listed_ones():
    """Every Function in minicnn has a backward_graph, a composite or the linear flag, so
    create_graph=True works through it; the exceptions are listed with their reason."""
    import importlib
    import pkgutil

    import minicnn.nn  # noqa: F401  (defines Joint)
    import minicnn.ops

    for info in pkgutil.iter_modules(minicnn.ops.__path__):
        importlib.import_module(f"minicnn.ops.{info.name}")
    without = {
        "PolarFactor": "the nuclear norm's Hessian (its backward) has no third derivative",
        "ResizeUint8": "uint8 resizing has no gradient at all",
        "Joint": "module backward hooks (nn/backward_hooks.py) work on first-order passes only",
    }

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ops = {c for c in subclasses(Function) if c.__module__.startswith("minicnn.")}
    assert len(ops) > 100
    missing = {
        c.__name__
        for c in ops
        if not (c.linear or hasattr(c, "composite") or c.backward_graph is not Function.backward_graph)
    }
    assert missing == set(without)


def test_grad_stored_under_create_graph_is_a_copy_as_torch():
    """The first ``.grad`` of a create_graph pass is a copy: the caller's seed and a retain_grad
    tensor's gradient never alias what is later accumulated or zeroed."""
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    v = mc.tensor([5.0, 7.0])
    x.backward(v, create_graph=True)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(v.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 10.0])
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    m = x * x
    m.retain_grad()
    (m**3).sum().backward(create_graph=True)
    with mc.no_grad():
        m.grad.zero_()
    np.testing.assert_allclose(mc.autograd.grad(x.grad.sum(), x)[0].numpy(), [30.0, 480.0])  # torch's


def test_in_place_write_to_indices_is_refused_with_create_graph():
    x = mc.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    i = mc.tensor([0, 2])
    y = mc.take_along_dim(x, i, 0)
    with mc.no_grad():
        i[0] = 3
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        mc.autograd.grad(y, x, mc.ones(2, requires_grad=True), create_graph=True)


@pytest.mark.parametrize("owner", ["optimizer", "module"])
def test_zero_grad_without_none_drops_a_create_graph_gradients_graph(owner):
    """zero_grad(set_to_none=False) after a create_graph pass: the old graph must not leak into
    the next penalty (torch detaches the gradient)."""
    for lib in (mc, torch):
        model = lib.nn.Linear(2, 1, bias=False)
        with lib.no_grad():
            model.weight.copy_(lib.tensor([[1.0, 2.0]]))
        p = model.weight
        opt = lib.optim.SGD([p], lr=0.1)
        zero = opt.zero_grad if owner == "optimizer" else model.zero_grad
        (p**3).sum().backward(create_graph=True)
        zero(set_to_none=False)
        (p**2).sum().backward(create_graph=True)
        penalty = (p.grad**2).sum()
        zero()
        penalty.backward()
        if lib is mc:
            ours = p.grad.numpy()
        else:
            np.testing.assert_allclose(ours, p.grad.numpy())  # [8, 16]


def test_gradgradcheck_of_a_linear_function_with_constant_seeds():
    x = mc.tensor([1.0, 2.0], dtype=mc.float64, requires_grad=True)
    v = mc.tensor([1.0, -1.0], dtype=mc.float64)
    assert mc.gradgradcheck(lambda t: t * 2, (x,), grad_outputs=(v,))
