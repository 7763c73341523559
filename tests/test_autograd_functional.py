"""mc.autograd.functional against torch.autograd.functional: jacobian, hessian, vjp, jvp, vhp,
hvp, with one tensor or a tuple of tensors in and out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn as mc

AF, TAF = mc.autograd.functional, torch.autograd.functional
rng = np.random.default_rng(0)
A, B = rng.uniform(0.5, 1.5, (2, 3)), rng.uniform(0.5, 1.5, (3,))


def one_in_one_out(x):  # (2, 3) -> (3,)
    return (x * x).exp().sum(0) / (x[0] + 2.0)


def two_in_two_out(x, y):
    return (x * y).log() + y * y, (x.sum() * y).sum()


def scalar(x, y):
    return (x * x * y).sum() + (y * y * y).sum()


def assert_same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
        return
    assert isinstance(ours, mc.Tensor) and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def args(*arrays):
    return tuple(mc.tensor(a) for a in arrays), tuple(torch.tensor(a) for a in arrays)


@pytest.mark.parametrize("create_graph", [False, True])
def test_jacobian(create_graph):
    (x, y), (xt, yt) = args(A, B)
    assert_same(AF.jacobian(one_in_one_out, x, create_graph), TAF.jacobian(one_in_one_out, xt, create_graph))
    assert_same(AF.jacobian(two_in_two_out, (x, y)), TAF.jacobian(two_in_two_out, (xt, yt)))


def test_hessian():
    (x, y), (xt, yt) = args(A, B)
    assert_same(AF.hessian(scalar, (x, y)), TAF.hessian(scalar, (xt, yt)))
    assert_same(AF.hessian(lambda t: (t * t * t).sum(), y), TAF.hessian(lambda t: (t * t * t).sum(), yt))


def test_vector_products():
    (x, y, v), (xt, yt, vt) = args(A, B, rng.standard_normal(3))
    (u, w), (ut, wt) = args(rng.standard_normal((2, 3)), rng.standard_normal(3))
    assert_same(AF.vjp(one_in_one_out, x, v), TAF.vjp(one_in_one_out, xt, vt))
    assert_same(AF.jvp(one_in_one_out, x, u), TAF.jvp(one_in_one_out, xt, ut))
    assert_same(AF.vhp(scalar, (x, y), (u, w)), TAF.vhp(scalar, (xt, yt), (ut, wt)))
    assert_same(AF.hvp(scalar, (x, y), (u, w)), TAF.hvp(scalar, (xt, yt), (ut, wt)))


def test_results_are_detached_unless_create_graph():
    x = mc.tensor(B, requires_grad=True)
    out, g = AF.vjp(lambda t: (t * t).sum(), x)
    assert not out.requires_grad and not g.requires_grad
    out, g = AF.vjp(lambda t: (t * t).sum(), x, create_graph=True)
    assert g.requires_grad
    (gg,) = mc.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), np.full(3, 2.0))


def test_unused_input_gives_zeros_or_raises_when_strict():
    (x, y), (xt, yt) = args(A, B)
    assert_same(AF.jacobian(lambda a, b: a * 2.0, (x, y)), TAF.jacobian(lambda a, b: a * 2.0, (xt, yt)))
    with pytest.raises(RuntimeError, match="strict"):
        AF.jacobian(lambda a, b: a * 2.0, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="v"):
        AF.vjp(one_in_one_out, x)  # a 3-element output needs v


def test_constant_outputs_and_ops_without_a_graph_form():
    def with_constant(lib):
        return lambda x: (lib.ones(2, dtype=lib.float64), x.exp())

    (x,), (xt,) = args(B[:2])
    (u,), (ut,) = args(np.ones(2))
    assert_same(AF.vjp(with_constant(mc), x, (u, u)), TAF.vjp(with_constant(torch), xt, (ut, ut)))
    assert_same(AF.jvp(with_constant(mc), x, u), TAF.jvp(with_constant(torch), xt, ut))

    class Square(mc.autograd.Function):  # first order only: enough for vjp and jacobian
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, gy):
            return 2 * gy * self.a

    (x,), (xt,) = args(B)
    assert_same(AF.jacobian(Square.apply, x), TAF.jacobian(lambda t: t * t, xt))
    assert_same(AF.vjp(Square.apply, x, x), TAF.vjp(lambda t: t * t, xt, xt))


@pytest.mark.parametrize(
    "call",
    [
        lambda af, lib: af.jacobian(
            lambda x: (x * 2).sum(), lib.ones(2, dtype=lib.float64), create_graph=True, strict=True
        ),
        lambda af, lib: af.vhp(
            lambda x: (x * 2).sum(), lib.ones(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64), strict=True
        ),
        lambda af, lib: af.vjp(
            lambda x: lib.ones(2, dtype=lib.float64),
            lib.ones(2, dtype=lib.float64),
            lib.ones(2, dtype=lib.float64),
            strict=True,
        ),
        lambda af, lib: af.jvp(  # linear func: J v independent of the input
            lambda x: x.sum(),
            lib.ones(2, dtype=lib.float64),
            lib.ones(2, dtype=lib.float64),
            create_graph=True,
            strict=True,
        ),
    ],
)
def test_strict_refuses_what_torch_refuses(call):
    with pytest.raises(RuntimeError):
        call(TAF, torch)
    with pytest.raises(RuntimeError, match="strict=True"):
        call(AF, mc)


@pytest.mark.parametrize("f", [lambda x: x.relu().sum(), lambda x: x.abs().sum(), lambda x: (x * x.sign()).sum()])
def test_hvp_strict_refuses_a_hessian_zero_by_construction_like_torch(f):
    # torch's hvp (double-backward trick) finds H v independent of its dummy seed and raises
    x, v = np.array([1.0, -2.0]), np.array([1.0, 3.0])
    for cg in (False, True):
        with pytest.raises(RuntimeError):
            TAF.hvp(f, torch.tensor(x), torch.tensor(v), create_graph=cg, strict=True)
        with pytest.raises(RuntimeError, match="hvp.*strict=True"):
            AF.hvp(f, mc.tensor(x), mc.tensor(v), create_graph=cg, strict=True)
    assert_same(AF.hvp(f, mc.tensor(x), mc.tensor(v)), TAF.hvp(f, torch.tensor(x), torch.tensor(v)))
    (a, b), (at, bt) = args(A, B)  # strict with a Hessian that is not zero: the values, tuple in and out
    g = lambda x, y: (x * x).sum() * (y * y * y).sum()  # noqa: E731
    assert_same(
        AF.hvp(g, (a, b), (b.sum() * a, a.sum() * b), strict=True),
        TAF.hvp(g, (at, bt), (bt.sum() * at, at.sum() * bt), strict=True),
    )


def test_forward_mode_jacobian_and_hessian_like_torch():
    """strategy="forward-mode" (torch: with vectorize=True): the same Jacobians, column by column."""
    (x, y), (xt, yt) = args(A, B)
    kw = dict(vectorize=True, strategy="forward-mode")
    assert_same(AF.jacobian(one_in_one_out, x, **kw), TAF.jacobian(one_in_one_out, xt, **kw))
    assert_same(AF.jacobian(two_in_two_out, (x, y), **kw), TAF.jacobian(two_in_two_out, (xt, yt), **kw))
    kw = dict(vectorize=True, outer_jacobian_strategy="forward-mode")
    assert_same(AF.hessian(scalar, (x, y), **kw), TAF.hessian(scalar, (xt, yt), **kw))
    assert_same(AF.hessian(lambda t: (t * t * t).sum(), y, **kw), TAF.hessian(lambda t: (t * t * t).sum(), yt, **kw))


@pytest.mark.parametrize(
    "call",
    [
        lambda F, x: F.jacobian(torch.sin if F is TAF else mc.sin, x, strategy="forward-mode"),
        lambda F, x: F.jacobian(
            torch.sin if F is TAF else mc.sin, x, vectorize=True, strict=True, strategy="forward-mode"
        ),
        lambda F, x: F.jacobian(torch.sin if F is TAF else mc.sin, x, strategy="sideways"),
        lambda F, x: F.jacobian(torch.sin if F is TAF else mc.sin, x, True, vectorize=True, strategy="forward-mode"),
        lambda F, x: F.hessian(lambda t: t.sin().sum(), x, outer_jacobian_strategy="forward-mode"),
        lambda F, x: F.hessian(lambda t: t.sin().sum(), x, vectorize=True, outer_jacobian_strategy="sideways"),
        lambda F, x: F.jacobian(torch.sin if F is TAF else mc.sin, x, vectorize=True, strict=True),
        lambda F, x: F.hessian(lambda t: t.sin().sum(), x, vectorize=True, strict=True),
    ],
)
def test_jacobian_strategy_errors_like_torch(call):
    (x,), (xt,) = args(B)
    with pytest.raises(Exception) as want:
        call(TAF, xt)
    with pytest.raises(type(want.value)) as got:
        call(AF, x)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("name", ["jacobian", "vjp", "jvp", "hessian"])
def test_a_list_of_inputs_is_refused_like_torch(name):
    """Only a tuple stands for several inputs (torch raises TypeError for a list)."""

    def call(af, lib):
        ins = [lib.ones(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64)]
        func = (lambda x, y: (x * y).sum()) if name == "hessian" else (lambda x, y: x * y)
        return getattr(af, name)(func, ins, *([tuple(ins)] if name == "jvp" else []))

    with pytest.raises(TypeError):
        call(TAF, torch)
    with pytest.raises(TypeError, match="tuple"):
        call(AF, mc)


@pytest.mark.parametrize("name", ["jvp", "vhp", "hvp"])
def test_a_missing_v_is_refused_before_func_runs_like_torch(name):
    """v=None needs one single-element input; torch checks it before calling func."""
    calls = []

    def call(af, lib):
        return getattr(af, name)(lambda x: calls.append(1) or x.sum(), lib.ones(3, dtype=lib.float64))

    with pytest.raises(RuntimeError):
        call(TAF, torch)
    with pytest.raises(RuntimeError, match="v can be omitted"):
        call(AF, mc)
    assert not calls
