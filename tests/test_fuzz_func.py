"""Differential fuzzer of minicnn.func and minicnn.autograd.functional against torch.

Seeded random programs (a few ops from a pool, on 0-d, size-1, empty and ordinary float32/float64
inputs) are run through the same transform in both libraries; values, shapes, dtypes and exception
types must agree. The only accepted difference: on an empty input torch's transform may raise
where minicnn runs the function (module docstring of minicnn.func, size-0 vmap).
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.func as tfunc

import minicnn as mc
from minicnn import func as mfunc

UNARY: list[Callable[[Any, Any], Any]] = [
    lambda L, x: L.sin(x),
    lambda L, x: L.exp(L.tanh(x)),
    lambda L, x: x * x,
    lambda L, x: x.sum(),
    lambda L, x: x.sum(-1) if x.ndim else x,
    lambda L, x: x.mean(0) if x.ndim and x.shape[0] else x,
    lambda L, x: L.softmax(x, -1) if x.ndim else x,
    lambda L, x: x.reshape(-1),
    lambda L, x: x.permute(*reversed(range(x.ndim))) if x.ndim else x,
    lambda L, x: L.where(x > 0, x, x * 2),
    lambda L, x: L.cat([x.reshape(-1), x.reshape(-1) * 2]),
    lambda L, x: L.stack([x, x + 1]),
    lambda L, x: x[..., :1] if x.ndim else x,
    lambda L, x: x @ x.transpose(-1, -2) if x.ndim == 2 else x,
    lambda L, x: x.amax(-1) if x.ndim and x.shape[-1] else x,
    lambda L, x: x.sigmoid(),
]
BINARY: list[Callable[[Any, Any, Any], Any]] = [
    lambda L, x, y: x + y.sum(),
    lambda L, x, y: x * y.mean() if y.numel() else x,
    lambda L, x, y: L.sin(x) * y.sum(),
]
SHAPES = [(), (1,), (3,), (2, 3), (0,), (2, 0), (3, 1)]


def _program(rng: random.Random, nargs: int) -> Callable[..., Any]:
    ops = [rng.randrange(len(UNARY)) for _ in range(rng.randint(1, 3))]
    bins = [rng.randrange(len(BINARY)) for _ in range(nargs - 1)]
    reduce = rng.random() < 0.7

    def f(L: Any, *xs: Any) -> Any:
        x = xs[0]
        for b, y in zip(bins, xs[1:], strict=False):
            x = BINARY[b](L, x, y)
        for o in ops:
            x = UNARY[o](L, x)
        return x.sum() if reduce else x

    return f


def _run(fn: Callable[[], Any]) -> tuple:
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001  (the exception type is what is compared)
        return ("err", type(e).__name__, str(e))


def _leaves(r: Any) -> list[Any]:
    if isinstance(r, (tuple, list)):
        return [x for item in r for x in _leaves(item)]
    if isinstance(r, dict):
        return [x for k in sorted(r) for x in _leaves(r[k])]
    return [r]


def _assert_same(got: tuple, want: tuple, dtype: str, empty: bool, what: str) -> None:
    if empty and want[0] == "err":
        return  # torch's transforms fail on some empty inputs (size-0 vmap, reshape(-1)); minicnn runs them
    assert got[0] == want[0], f"{what}: minicnn {got[:3]} torch {want[:3]}"
    if got[0] == "err":
        assert got[1] == want[1], f"{what}: minicnn {got[1:]} torch {want[1:]}"
        return
    gl, wl = _leaves(got[1]), _leaves(want[1])
    assert len(gl) == len(wl), what
    tol = 1e-4 if dtype == "float32" else 1e-9
    for g, w in zip(gl, wl, strict=True):
        assert isinstance(g, mc.Tensor), what
        assert tuple(g.shape) == tuple(w.shape), f"{what}: {g.shape} vs {tuple(w.shape)}"
        assert str(g.dtype) == str(w.dtype).removeprefix("torch."), f"{what}: {g.dtype} vs {w.dtype}"
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(force=True), rtol=tol, atol=tol, err_msg=what)


FUNC_KINDS = [
    "grad", "grad_argnums", "grad_aux", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian",
    "grad_grad", "jacrev_jacfwd", "vmap", "vmap_grad", "vmap_vmap", "vmap_out_dims",
]  # fmt: skip


def _draw(seed: int) -> tuple[random.Random, Any, list[np.ndarray], str]:
    """A case's random program, its input arrays and dtype; the generator goes on drawing the rest."""
    rng = random.Random(seed)
    nargs = rng.randint(1, 3)
    f = _program(rng, nargs)
    gen = np.random.default_rng(seed)
    arrays = [gen.standard_normal(rng.choice(SHAPES)) for _ in range(nargs)]
    return rng, f, arrays, rng.choice(["float32", "float64"])


def _func_case(seed: int) -> None:
    rng, f, arrays, dtype = _draw(seed)
    nargs = len(arrays)
    kind = rng.choice(FUNC_KINDS)
    choices = random.Random(seed + 1)
    an = choices.choice([0, nargs - 1, tuple(range(nargs))])
    in_dims = tuple(choices.choice([0, None, -1]) for _ in range(nargs))
    in_dims2 = tuple(choices.choice([0, 1, None]) for _ in range(nargs))
    out_dims = choices.choice([(0, 1), (0, -1), 1])
    chunk = choices.choice([None, 1, 2])

    def build(L: Any, F: Any) -> Callable[[], Any]:
        xs = [L.tensor(a, dtype=getattr(L, dtype)) for a in arrays]

        def g(*a: Any) -> Any:
            return f(L, *a)

        calls = {
            "grad": lambda: F.grad(g)(*xs),
            "grad_argnums": lambda: F.grad(g, argnums=an)(*xs),
            "grad_aux": lambda: F.grad(lambda *a: (g(*a), {"a": a[0] * 2, "b": [a[0].sum()]}), has_aux=True)(*xs),
            "grad_and_value": lambda: F.grad_and_value(g, argnums=tuple(range(nargs)))(*xs),
            "vjp": lambda: (lambda out, fn: (out, fn(L.ones_like(out))))(*F.vjp(g, *xs)),
            "jvp": lambda: F.jvp(g, tuple(xs), tuple(L.ones_like(x) for x in xs)),
            "jacrev": lambda: F.jacrev(g, argnums=tuple(range(nargs)))(*xs),
            "jacfwd": lambda: F.jacfwd(g)(*xs),
            "hessian": lambda: F.hessian(g)(*xs),
            "grad_grad": lambda: F.grad(lambda *a: F.grad(g)(*a).sum())(*xs),
            "jacrev_jacfwd": lambda: F.jacrev(F.jacfwd(g))(*xs),
            "vmap": lambda: F.vmap(g, in_dims=in_dims, chunk_size=chunk)(*xs),
            "vmap_grad": lambda: F.vmap(F.grad(g), in_dims=in_dims)(*xs),
            "vmap_vmap": lambda: F.vmap(F.vmap(g, in_dims=in_dims), in_dims=in_dims2)(*xs),
            "vmap_out_dims": lambda: F.vmap(lambda *a: (g(*a), g(*a) * 2), in_dims=in_dims, out_dims=out_dims)(*xs),
        }
        return calls[kind]

    got, want = _run(build(mc, mfunc)), _run(build(torch, tfunc))
    empty = any(a.size == 0 for a in arrays)
    _assert_same(got, want, dtype, empty, f"seed {seed} {kind} {[a.shape for a in arrays]} {dtype}")


def _functional_case(seed: int) -> None:
    rng, f, arrays, dtype = _draw(seed)
    nargs = len(arrays)
    kind = rng.choice(["jacobian", "hessian", "vjp", "jvp", "vhp"])
    strict, vectorize, create_graph = rng.random() < 0.3, rng.random() < 0.3, rng.random() < 0.3
    single = nargs == 1 and rng.random() < 0.5

    def build(L: Any) -> Callable[[], Any]:
        af = L.autograd.functional
        xs = [L.tensor(a, dtype=getattr(L, dtype)) for a in arrays]
        inputs = xs[0] if single else tuple(xs)
        v = L.ones_like(xs[0]) if single else tuple(L.ones_like(x) for x in xs)

        def g(*a: Any) -> Any:
            return f(L, *a)

        opts = {"create_graph": create_graph, "strict": strict}
        calls = {
            "jacobian": lambda: af.jacobian(g, inputs, vectorize=vectorize, **opts),
            "hessian": lambda: af.hessian(g, inputs, vectorize=vectorize, **opts),
            "vjp": lambda: af.vjp(g, inputs, L.ones_like(g(*xs)), **opts),
            "jvp": lambda: af.jvp(g, inputs, v, **opts),
            "vhp": lambda: af.vhp(g, inputs, v, **opts),
        }
        return calls[kind]

    got, want = _run(build(mc)), _run(build(torch))
    empty = any(a.size == 0 for a in arrays)
    _assert_same(got, want, dtype, empty, f"seed {seed} {kind} {[a.shape for a in arrays]} {dtype}")


@pytest.mark.parametrize("block", range(4))
def test_func_transforms_fuzz_like_torch(block: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(block * 40, block * 40 + 40):
            _func_case(seed)


@pytest.mark.parametrize("block", range(2))
def test_autograd_functional_fuzz_like_torch(block: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(block * 40, block * 40 + 40):
            _functional_case(seed)
