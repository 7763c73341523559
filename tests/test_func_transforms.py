"""mc.func (torch.func) against torch.func: every transform on hypothesis-drawn shapes, composed
transforms, vmap's dims/errors/randomness, functional_call, stack_module_state, 'meta' modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.func as tfunc
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import func as mfunc
from tests.conftest import devices

TOL = dict(rtol=1e-9, atol=1e-11)
SETTINGS = settings(max_examples=8)
shapes = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)


def to_m(tree: Any, device: str = "cpu") -> Any:
    if isinstance(tree, np.ndarray):
        return mc.tensor(tree, device=device)
    if isinstance(tree, dict):
        return {k: to_m(v, device) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(to_m(v, device) for v in tree)
    return tree


def to_t(tree: Any) -> Any:
    if isinstance(tree, np.ndarray):
        return torch.tensor(tree)
    if isinstance(tree, dict):
        return {k: to_t(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(to_t(v) for v in tree)
    return tree


def assert_tree_close(m: Any, t: Any, what: str = "", **tol: Any) -> None:
    tol = tol or TOL
    if isinstance(t, torch.Tensor):
        assert isinstance(m, mc.Tensor), f"{what}: {type(m).__name__}, torch has a Tensor"
        assert tuple(m.shape) == tuple(t.shape), f"{what}: shape {m.shape} vs torch {tuple(t.shape)}"
        np.testing.assert_allclose(m.detach().cpu().numpy(), t.detach().numpy(), **tol, err_msg=what)
    elif isinstance(t, dict):
        assert isinstance(m, dict) and list(m) == list(t), what
        for k in t:
            assert_tree_close(m[k], t[k], f"{what}[{k!r}]", **tol)
    elif isinstance(t, (tuple, list)):
        assert type(m) is type(t) and len(m) == len(t), f"{what}: {type(m).__name__} vs torch {type(t).__name__}"
        for i, (a, b) in enumerate(zip(m, t, strict=True)):
            assert_tree_close(a, b, f"{what}[{i}]", **tol)
    else:
        assert m == t, what


def fn_pair(kind: int) -> tuple[Any, Any]:
    """(minicnn f, torch f) of (x, w): a few differentiable functions with tensor outputs."""
    if kind == 0:
        return (lambda x, w: (x.sin() * w).tanh()), (lambda x, w: (x.sin() * w).tanh())
    if kind == 1:
        return (lambda x, w: (x * w).exp().sum(0) + x.pow(2).sum()), (
            lambda x, w: (x * w).exp().sum(0) + x.pow(2).sum()
        )
    return (lambda x, w: (x.cos() * w, (x * x).sum())), (lambda x, w: (x.cos() * w, (x * x).sum()))


def scalar_pair() -> tuple[Any, Any]:
    return (lambda x, w: (x.sin() * w).tanh().pow(2).sum()), (lambda x, w: (x.sin() * w).tanh().pow(2).sum())


def arrays(shape: tuple[int, ...], seed: int, n: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(n)]


# -- reverse mode ----------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 99), argnums=st.sampled_from([0, 1, -1, (0, 1), (1,)]))
def test_grad_and_value_like_torch(device: str, shape: tuple[int, ...], seed: int, argnums: Any) -> None:
    x, w = arrays(shape, seed)
    fm, ft = scalar_pair()
    assert_tree_close(mfunc.grad(fm, argnums)(*to_m((x, w), device)), tfunc.grad(ft, argnums)(*to_t((x, w))))
    assert_tree_close(
        mfunc.grad_and_value(fm, argnums)(*to_m((x, w), device)), tfunc.grad_and_value(ft, argnums)(*to_t((x, w)))
    )
    aux_m = mfunc.grad(lambda x, w: (fm(x, w), {"a": x.cos()}), argnums, has_aux=True)(*to_m((x, w), device))
    aux_t = tfunc.grad(lambda x, w: (ft(x, w), {"a": x.cos()}), argnums, has_aux=True)(*to_t((x, w)))
    assert_tree_close(aux_m, aux_t)


@pytest.mark.parametrize("device", devices())
def test_grad_pytree_argument_and_kwargs(device: str) -> None:
    x, w = arrays((2, 3), 0)

    def f(lib: Any, p: dict, scale: float = 1.0) -> Any:
        return ((p["a"] * p["b"][0]).sin().sum() + p["b"][1].pow(3).sum()) * scale

    got = mfunc.grad(lambda p, scale=1.0: f(mc, p, scale))({"a": to_m(x, device), "b": to_m([w, x], device)}, scale=2.0)
    want = tfunc.grad(lambda p, scale=1.0: f(torch, p, scale))({"a": to_t(x), "b": to_t([w, x])}, scale=2.0)
    assert_tree_close(got, want)


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 99), kind=st.integers(0, 2))
def test_vjp_like_torch(device: str, shape: tuple[int, ...], seed: int, kind: int) -> None:
    x, w = arrays(shape, seed)
    fm, ft = fn_pair(kind)
    out_m, fn_m = mfunc.vjp(fm, *to_m((x, w), device))
    out_t, fn_t = tfunc.vjp(ft, *to_t((x, w)))
    assert_tree_close(out_m, out_t)
    rng = np.random.default_rng(seed + 1)
    for _ in range(2):  # vjp_fn can be called again
        cot = tuple(rng.standard_normal(tuple(o.shape)) for o in (out_t if isinstance(out_t, tuple) else (out_t,)))
        cot = cot if isinstance(out_t, tuple) else cot[0]
        assert_tree_close(fn_m(to_m(cot, device)), fn_t(to_t(cot)))


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 99), kind=st.integers(0, 2), argnums=st.sampled_from([0, 1, (0, 1)]))
def test_jacrev_jacfwd_like_torch(device: str, shape: tuple[int, ...], seed: int, kind: int, argnums: Any) -> None:
    x, w = arrays(shape, seed)
    fm, ft = fn_pair(kind)
    want = tfunc.jacrev(ft, argnums)(*to_t((x, w)))
    assert_tree_close(mfunc.jacrev(fm, argnums)(*to_m((x, w), device)), want)
    assert_tree_close(mfunc.jacfwd(fm, argnums)(*to_m((x, w), device)), tfunc.jacfwd(ft, argnums)(*to_t((x, w))))
    assert_tree_close(mfunc.jacrev(fm, argnums, chunk_size=1)(*to_m((x, w), device)), want)


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 99), argnums=st.sampled_from([0, (0, 1)]))
def test_hessian_and_composed_jacobians_like_torch(
    device: str, shape: tuple[int, ...], seed: int, argnums: Any
) -> None:
    x, w = arrays(shape, seed)
    fm, ft = scalar_pair()
    xm, xt = to_m((x, w), device), to_t((x, w))
    want = tfunc.hessian(ft, argnums)(*xt)
    assert_tree_close(mfunc.hessian(fm, argnums)(*xm), want)
    assert_tree_close(mfunc.jacrev(mfunc.jacrev(fm, argnums), argnums)(*xm), want)
    assert_tree_close(mfunc.jacfwd(mfunc.jacfwd(fm, argnums), argnums)(*xm), want)
    assert_tree_close(mfunc.jacrev(mfunc.grad(fm, argnums), argnums)(*xm), want)


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 99), kind=st.integers(0, 2))
def test_jvp_and_linearize_like_torch(device: str, shape: tuple[int, ...], seed: int, kind: int) -> None:
    x, w, v, u = arrays(shape, seed, 4)
    fm, ft = fn_pair(kind)
    got = mfunc.jvp(fm, to_m((x, w), device), to_m((v, u), device))
    assert_tree_close(got, tfunc.jvp(ft, to_t((x, w)), to_t((v, u))))
    out_m, lin_m = mfunc.linearize(fm, *to_m((x, w), device))
    out_t, lin_t = tfunc.linearize(ft, *to_t((x, w)))
    assert_tree_close(out_m, out_t)
    assert_tree_close(lin_m(*to_m((v, u), device)), lin_t(*to_t((v, u))))
    assert_tree_close(lin_m(*to_m((u, v), device)), lin_t(*to_t((u, v))))
    aux_m = mfunc.jvp(lambda x: (x.sin(), x.sum()), (to_m(x, device),), (to_m(v, device),), has_aux=True)
    aux_t = tfunc.jvp(lambda x: (x.sin(), x.sum()), (to_t(x),), (to_t(v),), has_aux=True)
    assert_tree_close(aux_m, aux_t)


@pytest.mark.parametrize("device", devices())
def test_hvp_vhp_forms_like_torch(device: str) -> None:
    x, v = arrays((3, 2), 5)
    fm, ft = scalar_pair()

    def hvp_fwd_rev(func: Any, grad: Any, jvp: Any, x: Any, v: Any) -> Any:
        return jvp(grad(lambda x: func(x, x)), (x,), (v,))[1]

    def hvp_rev_rev(func: Any, grad: Any, vjp: Any, x: Any, v: Any) -> Any:
        return vjp(grad(lambda x: func(x, x)), x)[1](v)[0]

    want = hvp_fwd_rev(ft, tfunc.grad, tfunc.jvp, *to_t((x, v)))
    assert_tree_close(hvp_fwd_rev(fm, mfunc.grad, mfunc.jvp, *to_m((x, v), device)), want)
    assert_tree_close(hvp_rev_rev(fm, mfunc.grad, mfunc.vjp, *to_m((x, v), device)), want)


def test_jacfwd_jacrev_float64_match_finite_differences() -> None:
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal((2, 3))

    def f(x: Any) -> Any:
        return (x.sin() * x.sum()).exp()[..., :2] * x[0, 0]

    rev = mfunc.jacrev(f)(mc.tensor(x0)).numpy()
    fwd = mfunc.jacfwd(f)(mc.tensor(x0)).numpy()
    eps = 1e-6
    fd = np.zeros(rev.shape)
    for idx in np.ndindex(*x0.shape):
        dx = np.zeros_like(x0)
        dx[idx] = eps
        fd[(..., *idx)] = (f(mc.tensor(x0 + dx)).numpy() - f(mc.tensor(x0 - dx)).numpy()) / (2 * eps)
    np.testing.assert_allclose(rev, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-13)


def test_transform_results_differentiate_with_ordinary_autograd() -> None:
    """x that requires grad: grad(f)(x), jacrev, jvp results carry a graph back to x (torch's
    transforms compose with autograd), checked with gradcheck and against torch."""
    x0 = np.random.default_rng(8).standard_normal((2, 2))
    fm, ft = scalar_pair()
    x = mc.tensor(x0, requires_grad=True)
    assert mc.gradcheck(lambda x: mfunc.grad(lambda y: fm(y, y))(x), (x,))
    assert mc.gradcheck(lambda x: mfunc.jvp(lambda y: y.sin() * y, (x,), (mc.ones(2, 2, dtype=mc.float64),))[1], (x,))
    assert mc.gradcheck(lambda x: mfunc.vmap(lambda r: r.sin().sum())(x), (x,))
    xt = torch.tensor(x0, requires_grad=True)
    tfunc.jacrev(lambda y: y.sin() * y.sum())(xt).pow(2).sum().backward()
    mfunc.jacrev(lambda y: y.sin() * y.sum())(x).pow(2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), **TOL)
    # a closure over a parameter that requires grad: the gradient stays differentiable in it
    wt, wm = torch.tensor(x0[0], requires_grad=True), mc.tensor(x0[0], requires_grad=True)
    tfunc.grad(lambda y: (y * wt).sin().sum())(torch.tensor(x0)).sum().backward()
    mfunc.grad(lambda y: (y * wm).sin().sum())(mc.tensor(x0)).sum().backward()
    np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy(), **TOL)


def test_nested_grad_with_closure_over_the_outer_input() -> None:
    x0, y0 = np.array([0.3, -1.2]), np.array([0.7, 2.0])

    def outer(lib: Any, grad: Any) -> Any:
        y = lib.tensor(y0)
        return grad(lambda x: grad(lambda y: (x.sin() * y.pow(2)).sum())(y).pow(2).sum())(lib.tensor(x0))

    assert_tree_close(outer(mc, mfunc.grad), outer(torch, tfunc.grad))
    # grad ignores an outer no_grad, as torch's
    with mc.no_grad():
        g = mfunc.grad(lambda x: x.pow(2).sum())(mc.tensor(x0))
    np.testing.assert_allclose(g.numpy(), 2 * x0)


def test_transform_errors_like_torch() -> None:
    x = np.ones((2, 3))
    cases = [
        lambda lib, fn: fn.grad(lambda a: a)(lib.tensor(x)),
        lambda lib, fn: fn.grad(lambda a: a.sum(), argnums=2)(lib.tensor(x)),
        lambda lib, fn: fn.grad(lambda a: (a.sum(), 1))(lib.tensor(x)),
        lambda lib, fn: fn.grad(lambda a: a.sum(), has_aux=True)(lib.tensor(x)),
        lambda lib, fn: fn.grad(lambda a: a.sum())(1.0),
        lambda lib, fn: fn.jvp(lambda a: a, [lib.tensor(x)], (lib.tensor(x),)),
        lambda lib, fn: fn.functionalize(lambda a: a, remove="nothing"),
        lambda lib, fn: fn.grad(lambda a: a.sum(), argnums=(0, 0))(lib.tensor(x)),
        lambda lib, fn: fn.grad(lambda a: a.sum(), argnums=())(lib.tensor(x)),
        lambda lib, fn: fn.grad(lambda a: a.sum(), argnums=1.5)(lib.tensor(x)),
        lambda lib, fn: fn.grad(lambda a: a.sum(), argnums=(0, "a"))(lib.tensor(x)),
        lambda lib, fn: fn.jacrev(lambda a: a.argmax())(lib.tensor(x)),
        lambda lib, fn: fn.vjp(lambda a: a * 2, lib.tensor(x))[1]((lib.tensor(x),)),  # cotangent (t,) for t
        lambda lib, fn: fn.vjp(lambda a: a * 2, lib.tensor(x))[1]([lib.tensor(x)]),
    ]
    for case in cases:
        with pytest.raises(Exception) as want:
            case(torch, tfunc)
        with pytest.raises(type(want.value)) as got:
            case(mc, mfunc)
        assert str(got.value) == str(want.value).replace("torch.int64", "int64")
    # forward mode gives an integer output a zero derivative instead
    assert_tree_close(
        mfunc.jacfwd(lambda a: (a.argmax(), a.sin()))(mc.tensor(x)),
        tfunc.jacfwd(lambda a: (a.argmax(), a.sin()))(torch.tensor(x)),
    )


# -- vmap --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 99), data=st.data())
def test_vmap_dims_like_torch(device: str, shape: tuple[int, ...], seed: int, data: Any) -> None:
    nd = len(shape)
    d_x = data.draw(st.integers(-nd, nd - 1))
    d_out = data.draw(st.integers(-nd, nd - 1))  # the output has nd - 1 + 1 dims
    x, _ = arrays(shape, seed)
    size = shape[d_x]
    y = np.random.default_rng(seed).standard_normal((size, 2))

    def f(lib: Any) -> Any:
        def g(a: Any, b: Any, c: Any) -> Any:
            return a.sin() * c + b.sum(), {"s": b * c}

        return g

    in_dims = (d_x, 0, None)
    got = mfunc.vmap(f(mc), in_dims, (d_out, 0))(*to_m((x, y, 3.0), device))
    want = tfunc.vmap(f(torch), in_dims, (d_out, 0))(*to_t((x, y, 3.0)))
    assert_tree_close(got, want)


@pytest.mark.parametrize("device", devices())
def test_vmap_nested_pytrees_chunks_kwargs_like_torch(device: str) -> None:
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((4, 3)), rng.standard_normal((2, 4, 5))

    def f(p: dict, q: list, scale: float = 1.0) -> Any:
        return (p["a"].sum() * p["b"] + q[0].mean(), q[1] * scale)

    args_m, args_t = to_m(({"a": a, "b": b}, [c, a]), device), to_t(({"a": a, "b": b}, [c, a]))
    in_dims = ({"a": 1, "b": 0}, [1, 1])
    for kw in ({}, {"chunk_size": 1}, {"chunk_size": 3}):
        got = mfunc.vmap(f, in_dims, **kw)(*args_m, scale=2.0)
        assert_tree_close(got, tfunc.vmap(f, in_dims, **kw)(*args_t, scale=2.0))
    # nested vmap: an outer product, then a batched matrix-vector product
    got = mc.vmap(mc.vmap(lambda u, v: u * v, (None, 0)), (0, None))(*to_m((a[:, 0], b[0]), device))
    assert_tree_close(got, torch.vmap(torch.vmap(lambda u, v: u * v, (None, 0)), (0, None))(*to_t((a[:, 0], b[0]))))
    got = mc.vmap(mc.vmap(lambda m, v: (m * v).sum(), (0, None)), (0, 0))(*to_m((c, c[:, 0]), device))
    assert got.shape == (2, 4)
    want = torch.vmap(torch.vmap(lambda m, v: (m * v).sum(), (0, None)), (0, 0))(*to_t((c, c[:, 0])))
    assert_tree_close(got, want)
    # out_dims=None for an unbatched output; a size-0 mapped dimension
    assert_tree_close(
        mc.vmap(lambda u: (u * 2, mc.ones(2)), out_dims=(0, None))(to_m(a, device)),
        torch.vmap(lambda u: (u * 2, torch.ones(2, dtype=torch.float64)), out_dims=(0, None))(to_t(a)),
    )
    assert_tree_close(
        mc.vmap(lambda u: u.sum(0), in_dims=1)(to_m(np.zeros((3, 0, 2)), device)),
        torch.vmap(lambda u: u.sum(0), in_dims=1)(to_t(np.zeros((3, 0, 2)))),
    )


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 99))
def test_vmap_of_transforms_like_torch(device: str, shape: tuple[int, ...], seed: int) -> None:
    """Per-example transforms: vmap(grad), vmap(jacrev), vmap(jvp), vmap(hessian)."""
    x, w = arrays((2, *shape), seed)
    fm, ft = scalar_pair()
    xm, xt = to_m((x, w), device), to_t((x, w))
    assert_tree_close(mfunc.vmap(mfunc.grad(fm, (0, 1)))(*xm), tfunc.vmap(tfunc.grad(ft, (0, 1)))(*xt))
    gm, gt = fn_pair(0)
    assert_tree_close(mfunc.vmap(mfunc.jacrev(gm))(*xm), tfunc.vmap(tfunc.jacrev(gt))(*xt))
    assert_tree_close(
        mfunc.vmap(lambda a, b: mfunc.jvp(lambda t: gm(t, b), (a,), (b,)))(*xm),
        tfunc.vmap(lambda a, b: tfunc.jvp(lambda t: gt(t, b), (a,), (b,)))(*xt),
    )
    assert_tree_close(
        mfunc.vmap(mfunc.hessian(fm), (0, None))(xm[0], xm[1][0]),
        tfunc.vmap(tfunc.hessian(ft), (0, None))(xt[0], xt[1][0]),
    )
    assert_tree_close(
        mfunc.grad(lambda a: mfunc.vmap(mc.sin)(a).sum())(xm[0]),
        tfunc.grad(lambda a: torch.vmap(torch.sin)(a).sum())(xt[0]),
    )


def test_vmap_errors_like_torch() -> None:
    x, y = np.arange(6.0).reshape(3, 2), np.ones((4, 2))

    def add(a: Any, b: Any) -> Any:
        return a + b

    def sin(a: Any) -> Any:
        return a.sin()

    def one(a: Any) -> Any:
        return 1.0

    def summed(a: Any) -> Any:
        return a.sum()

    cases = [
        lambda lib, fn: fn.vmap(add)(lib.tensor(x), lib.tensor(y)),
        lambda lib, fn: fn.vmap(sin, in_dims=2)(lib.tensor(x)),
        lambda lib, fn: fn.vmap(add, in_dims=None)(lib.tensor(x), lib.tensor(x)),
        lambda lib, fn: fn.vmap(add, in_dims=[0, 0])(lib.tensor(x), lib.tensor(x)),
        lambda lib, fn: fn.vmap(add, in_dims=(0, 0))(lib.tensor(x), 2.0),
        lambda lib, fn: fn.vmap(one)(lib.tensor(x)),
        lambda lib, fn: fn.vmap(summed, out_dims=None)(lib.tensor(x)),
        lambda lib, fn: fn.vmap(sin, randomness="bad")(lib.tensor(x)),
        lambda lib, fn: fn.vmap(sin, chunk_size=0)(lib.tensor(x)),
        lambda lib, fn: fn.vmap(sin, out_dims=3)(lib.tensor(x)),
        lambda lib, fn: fn.vmap(lambda a: lib.rand(2))(lib.tensor(x)),
        lambda lib, fn: fn.vmap(lambda a: lib.nn.functional.dropout(a, 0.5))(lib.tensor(x)),
        lambda lib, fn: fn.vmap(summed)(lib.tensor(1.0)),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(Exception) as want:
            case(torch, tfunc)
        with pytest.raises(type(want.value)) as got:
            case(mc, mfunc)
        assert str(got.value) == str(want.value), i
    for case in (
        lambda lib, fn: fn.vmap(add, in_dims=(0,))(lib.tensor(x), lib.tensor(x)),
        lambda lib, fn: fn.vmap(lambda a: (a, a), out_dims=(0,))(lib.tensor(x)),
    ):  # the structures are printed differently (torch's TreeSpec)
        with pytest.raises(ValueError, match="is not compatible with the structure"):
            case(torch, tfunc)
        with pytest.raises(ValueError, match="is not compatible with the structure"):
            case(mc, mfunc)


@pytest.mark.parametrize("device", devices())
def test_vmap_randomness_modes(device: str) -> None:
    x = mc.ones(4, 3, device=device)

    def draw(a: Any) -> Any:
        return mc.nn.functional.dropout(a, 0.5) + mc.rand(3, device=device)

    mc.manual_seed(0)
    same = mc.vmap(draw, randomness="same")(x).cpu().numpy()
    assert all(np.array_equal(same[0], r) for r in same)
    after_same = mc.rand(2).numpy()
    different = mc.vmap(draw, randomness="different")(x).cpu().numpy()
    assert len({tuple(r) for r in different}) == 4
    # 'same' leaves the host stream where one slice's draws leave it
    mc.manual_seed(0)
    draw(x[0])
    np.testing.assert_array_equal(mc.rand(2).numpy(), after_same)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        mc.vmap(lambda a: a * mc.randn(3, device=device))(x)
    assert mc.rand(2).shape == (2,)  # usable after the error
    assert mc.vmap(lambda a: a * 2)(x).shape == (4, 3)  # no random op: 'error' does not get in the way


# -- functional_call, stack_module_state, meta ---------------------------------------------------
class Tied(mc.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = mc.nn.Linear(2, 2, bias=False)
        self.b = mc.nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight
        self.register_buffer("offset", mc.zeros(2))

    def forward(self, x: Any) -> Any:
        return self.b(self.a(x)) + self.offset


class TiedT(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(2, 2, bias=False)
        self.b = torch.nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight
        self.register_buffer("offset", torch.zeros(2, dtype=torch.float64))

    def forward(self, x: Any) -> Any:
        return self.b(self.a(x)) + self.offset


@pytest.mark.parametrize("device", devices())
def test_functional_call_like_torch(device: str) -> None:
    rng = np.random.default_rng(4)
    w, w2, x = rng.standard_normal((2, 2)), rng.standard_normal((2, 2)), rng.standard_normal((3, 2))
    mm, tm = Tied().double().to(device), TiedT().double()
    mm.load_state_dict({k: mc.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()})
    own = mm.a.weight
    for kw in ({}, {"tie_weights": False}):
        for params in ({"a.weight": w}, {"b.weight": w}, {"a.weight": w, "offset": np.ones(2)}):
            got = mfunc.functional_call(mm, to_m(params, device), to_m(x, device), **kw)
            assert_tree_close(got, tfunc.functional_call(tm, to_t(params), to_t(x), **kw))
    assert mm.a.weight is own and mm.b.weight is own  # put back
    # a tuple of dicts, kwargs, strict; errors as torch's
    assert_tree_close(
        mfunc.functional_call(
            mm, ({"a.weight": to_m(w, device)}, {"offset": to_m(w[0], device)}), (), {"x": to_m(x, device)}
        ),
        tfunc.functional_call(tm, ({"a.weight": to_t(w)}, {"offset": to_t(w[0])}), (), {"x": to_t(x)}),
    )
    errors = [
        ({"a.weight": w, "b.weight": w2}, {}),
        ({"a.weight": w}, {"strict": True}),
        ({"a.weight": w, "b.weight": w, "offset": w[0], "c": w}, {"strict": True}),
        (({"a.weight": w}, {"a.weight": w}), {}),
    ]
    for params, kw in errors:
        with pytest.raises(Exception) as want:
            tfunc.functional_call(tm, to_t(params), to_t(x), **kw)
        with pytest.raises(type(want.value)) as got:
            mfunc.functional_call(mm, to_m(params, device), to_m(x, device), **kw)
        assert str(got.value) == str(want.value).replace("TiedT", "Tied")
    assert mm.a.weight is own


def test_functional_call_restores_on_error_and_writes_back() -> None:
    class Counter(mc.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("count", mc.zeros(()))
            self.lin = mc.nn.Linear(2, 2)

        def forward(self, x: Any, fail: bool = False) -> Any:
            self.count = self.count + 1
            if fail:
                raise ValueError("boom")
            return self.lin(x)

    m = Counter()
    params = {"lin.weight": mc.zeros(2, 2), "count": mc.zeros(())}
    assert np.array_equal(mfunc.functional_call(m, params, mc.ones(1, 2)).numpy(), m.lin.bias.numpy()[None])
    assert float(params["count"].numpy()) == 1.0 and float(m.count.numpy()) == 0.0  # torch: the dict gets the update
    own = m.lin.weight
    with pytest.raises(ValueError, match="boom"):
        mfunc.functional_call(m, {"lin.weight": mc.ones(2, 2)}, (mc.ones(1, 2),), {"fail": True})
    assert m.lin.weight is own and float(m.count.numpy()) == 1.0  # count was not replaced: torch updates it too
    mfunc.functional_call(m, {"extra": mc.ones(1)}, mc.ones(1, 2))  # an unknown name: a temporary attribute
    assert not hasattr(m, "extra")
    with pytest.warns(FutureWarning, match="torch.func.functional_call"):
        mc.nn.utils.stateless.functional_call(m, {"lin.bias": mc.zeros(2)}, (mc.ones(1, 2),))


def test_functional_call_with_batchnorm_buffers_like_torch() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 3))
    tm = torch.nn.BatchNorm1d(3).double()
    mm = mc.nn.BatchNorm1d(3).double()
    bufs = {"running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}
    tb, mb = to_t(bufs), to_m(bufs)
    for model, b, lib_x in ((tm, tb, to_t(x)), (mm, mb, to_m(x))):
        model.eval()
        out_eval = (tfunc if model is tm else mfunc).functional_call(model, b, lib_x)
        model.train()
        (tfunc if model is tm else mfunc).functional_call(model, b, lib_x)
        b["out_eval"] = out_eval
    for k in ("running_mean", "running_var", "out_eval"):
        assert_tree_close(mb[k], tb[k], k)
    assert_tree_close(mm.running_mean, tm.running_mean)


def test_stack_module_state_and_meta_like_torch() -> None:
    ms = [mc.nn.BatchNorm1d(3) for _ in range(2)]
    ts = [torch.nn.BatchNorm1d(3) for _ in range(2)]
    for m, t in zip(ms, ts, strict=True):
        t.weight.data.normal_()
        m.load_state_dict({k: mc.tensor(v.numpy()) for k, v in t.state_dict().items()})
    (pm, bm), (pt, bt) = mfunc.stack_module_state(ms), tfunc.stack_module_state(ts)
    assert_tree_close(pm, pt, rtol=0, atol=0)
    assert_tree_close(bm, bt, rtol=0, atol=0)
    assert all(p.requires_grad and p.is_leaf for p in pm.values()) and not any(b.requires_grad for b in bm.values())
    bad_pairs = [
        ([], []),
        ([ms[0], mc.nn.Linear(2, 2)], [ts[0], torch.nn.Linear(2, 2)]),
        ([ms[0], mc.nn.BatchNorm1d(3).eval()], [ts[0], torch.nn.BatchNorm1d(3).eval()]),
    ]
    for bad_m, bad_t in bad_pairs:
        with pytest.raises(RuntimeError) as want:
            tfunc.stack_module_state(bad_t)
        with pytest.raises(RuntimeError) as got:
            mfunc.stack_module_state(bad_m)
        assert str(got.value) == str(want.value)
    meta = mc.nn.Linear(3, 2).to("meta")
    assert meta.weight.shape == (2, 3) and meta.weight.array.strides == (0, 0)  # no memory held
    with pytest.raises(RuntimeError, match="meta"):
        meta(mc.ones(1, 3))
    out = mfunc.functional_call(meta, {"weight": mc.ones(2, 3), "bias": mc.zeros(2)}, mc.ones(1, 3))
    np.testing.assert_array_equal(out.numpy(), [[3.0, 3.0]])
    assert mc.nn.Linear(3, 2).to("meta", mc.float64).weight.dtype == np.float64


def test_signatures_like_torch_func() -> None:
    """Every torch.func name, with torch's parameter names, kinds and defaults; the deprecated
    stateless.functional_call too."""
    import inspect

    def params(f: Any) -> list[tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    names = list(tfunc.__all__)
    assert sorted(names) == sorted(mfunc.__all__)
    for name in names:
        assert params(getattr(mfunc, name)) == params(getattr(tfunc, name)), name
    sf = torch.nn.utils.stateless.functional_call
    assert params(mc.nn.utils.stateless.functional_call) == params(sf)
    assert params(mc.vmap) == params(torch.vmap)


def test_replace_all_batch_norm_modules_like_torch() -> None:
    x = np.random.default_rng(9).standard_normal((4, 3))
    mm = mc.nn.Sequential(mc.nn.Linear(3, 3), mc.nn.BatchNorm1d(3)).double()
    tm = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3)).double()
    mm.load_state_dict({k: mc.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    assert mfunc.replace_all_batch_norm_modules_(mm) is mm
    tfunc.replace_all_batch_norm_modules_(tm)
    assert mm[1].running_mean is None and not mm[1].track_running_stats and not dict(mm.named_buffers())
    mm.eval(), tm.eval()  # no running statistics: batch statistics even in eval, as torch
    assert_tree_close(mfunc.vmap(mm, in_dims=1, out_dims=1)(to_m(x[:, None])), torch.vmap(tm, 1, 1)(to_t(x[:, None])))
    assert_tree_close(mm(to_m(x)), tm(to_t(x)))
    assert mfunc.debug_unwrap(to_m(x)) is not None
