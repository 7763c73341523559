"""The last torch names minicnn gained (session 16): ``func.rearrange`` (einops), ``Tensor.output_nr``,
``Tensor.as_subclass``, ``nn.Container`` and ``autograd.enforce_grad_layout_policy``, each against torch."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import rearrange as torch_rearrange

import minicnn as mc
from minicnn.func import rearrange
from tests.conftest import compare_with_torch

SETTINGS = settings(max_examples=15, deadline=None)


# -- rearrange -------------------------------------------------------------------------------


@st.composite
def patterns(draw: Any) -> tuple[tuple[int, ...], str, dict[str, int]]:
    """(input shape, pattern, axes_lengths): elementary axes of sizes 1-3 grouped at random on each
    side (a right group may be empty: ``()``), with the lengths a left group cannot infer given."""
    n = draw(st.integers(1, 5))
    names = [f"a{i}" for i in range(n)]
    sizes = {name: draw(st.integers(1, 3)) for name in names}

    def grouping(order: list[str], allow_empty: bool) -> list[list[str]]:
        groups: list[list[str]] = [[]]
        for name in order:
            if groups[-1] and draw(st.booleans()):
                groups.append([])
            groups[-1].append(name)
        if allow_empty and draw(st.booleans()):
            groups.insert(draw(st.integers(0, len(groups))), [])
        return groups

    left = grouping(draw(st.permutations(names)), False)
    right = grouping(draw(st.permutations(names)), True)

    def text(groups: list[list[str]]) -> str:
        return " ".join(g[0] if len(g) == 1 else "(" + " ".join(g) + ")" for g in groups)

    lengths = {name: sizes[name] for g in left if len(g) > 1 for name in g[1:]}
    shape = tuple(int(np.prod([sizes[name] for name in g])) for g in left)
    return shape, f"{text(left)} -> {text(right)}", lengths


@SETTINGS
@given(case=patterns(), seed=st.integers(0, 99))
def test_rearrange_random_patterns_match_torch(case: tuple, seed: int) -> None:
    shape, pattern, lengths = case
    x = np.random.default_rng(seed).standard_normal(shape)
    left, right = pattern.split("->")
    if len(shape) == 1 and "(" in left:
        # torch 2.14 fails on a 1-d input whose one dim is a group (functorch.dim reads ``t[(d0, d1)]``
        # as two indices): its answer with a trailing axis z9 of size 1 carried through is the same one
        # (named, not a literal 1: torch's 1 on the left fails whenever the right side has a ())
        def theirs(t: torch.Tensor) -> torch.Tensor:
            return torch_rearrange(t[..., None], f"{left} z9 -> {right} z9", **lengths)[..., 0]
    else:

        def theirs(t: torch.Tensor) -> torch.Tensor:
            return torch_rearrange(t, pattern, **lengths)

    compare_with_torch(lambda t: rearrange(t, pattern, **lengths), theirs, [x])


@pytest.mark.parametrize(
    ("shape", "pattern", "lengths"),
    [
        ((2, 3, 4), "b h w -> b h w", {}),
        ((2, 3, 4), "a b c -> c (a b)", {}),
        ((2, 3, 4), "a b c -> a 1 b () c", {}),
        ((2, 1, 3), "a 1 b -> b a", {}),
        ((2, 1, 3), "a () b -> (b a)", {}),
        ((2, 3, 4, 5), "... c -> c ...", {}),
        ((2, 3, 4, 5), "a ... c -> (c ...) a", {}),
        ((2, 3, 4, 5), "a ... -> ... a", {}),
        ((2, 3), "a ... b -> b ... a", {}),  # an ellipsis of no dims
        ((2, 3), "a ... b -> (...) b a", {}),
        ((6, 4), "(a b) c -> a b c", {"a": 2}),
        ((6, 4), "(a b) c -> c (b a)", {"a": 2, "b": 3}),
        ((4, 6, 8, 3), "b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2}),
        ((4, 6, 8, 3), "b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}),
        ((0, 3), "a b -> b a", {}),
        ((0, 3), "(a b) c -> a b c", {"a": 2}),
        ((), "->", {}),
        ((), "... -> ...", {}),
        ((1,), "1 ->", {}),
    ],
)
def test_rearrange_patterns_match_torch(shape: tuple, pattern: str, lengths: dict) -> None:
    x = np.random.default_rng(0).standard_normal(shape)
    compare_with_torch(
        lambda t: rearrange(t, pattern, **lengths), lambda t: torch_rearrange(t, pattern, **lengths), [x]
    )
    for dtype in (np.float32, np.int64):  # the dtype is kept
        y = rearrange(mc.tensor(x.astype(dtype)), pattern, **lengths)
        assert y.dtype == dtype


def test_rearrange_is_a_view_and_a_list_is_stacked() -> None:
    x = mc.arange(24.0).reshape(2, 3, 4)
    y = rearrange(x, "a b c -> (a b) c")
    x.add_(1)  # a view: the change shows through, as torch's
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(6, 4))
    assert rearrange(x, "a b c -> a b c") is not x
    s = mc.tensor(2.0)
    assert rearrange(s, "->") is s  # a 0-d identity is the tensor itself (torch's too)
    parts = [np.random.default_rng(i).standard_normal((3, 4)) for i in range(3)]
    ours = [mc.tensor(p, requires_grad=True) for p in parts]
    theirs = [torch.tensor(p, requires_grad=True) for p in parts]
    g = np.random.default_rng(9).standard_normal((4, 9))
    out = rearrange(ours, "n h w -> w (n h)")
    ref = torch_rearrange(theirs, "n h w -> w (n h)")
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy())
    (out * mc.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for m, t in zip(ours, theirs):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy())
    tup = rearrange(tuple(ours), "n h w -> n w h")
    assert tup.shape == (3, 4, 3)


def test_rearrange_gradcheck() -> None:
    x = mc.tensor(np.random.default_rng(1).standard_normal((4, 6, 2)), requires_grad=True)
    assert mc.gradcheck(lambda t: rearrange(t, "b (h h1) c -> h (c b) h1", h1=3), (x,))
    assert mc.gradcheck(lambda t: rearrange(t, "b ... c -> c 1 (...) b"), (x,))


@pytest.mark.parametrize(
    ("shape", "pattern", "lengths"),
    [
        ((2, 3, 4), "a b c -> a b", {}),  # ValueError: an axis on one side only
        ((2, 3, 4), "a b c -> a b c d", {}),
        ((2, 3, 4), "a b -> a b", {}),  # ValueError: the number of dims
        ((2, 3), "a b c ... -> a b c ...", {}),
        ((2, 3, 4), "a b c -> a a b c", {}),  # ValueError: duplicates
        ((2, 3, 4), "a a c -> a c", {}),
        ((2, 3, 4), "a b c", {}),  # ValueError: no arrow
        ((2, 3, 4), "a b c -> b -> c", {}),
        ((2, 3, 4), "a b c -> (a (b c))", {}),  # ValueError: nested, unbalanced brackets
        ((2, 3, 4), "a b c -> a (b c", {}),
        ((2, 3, 4), "a b c -> a b c)", {}),
        ((2, 3, 4), "a b c. -> a b c", {}),  # ValueError: dots, ellipsis misuse
        ((2, 3, 4), "a b ...... -> a b", {}),
        ((2, 3, 4), "a b c -> a b c ...", {}),
        ((2, 3, 4), "(a ...) -> a ...", {}),
        ((2, 3, 4), "a 2 c -> a c", {}),  # ValueError: anonymous axes other than 1
        ((2, 3, 4), "a b c -> a 0 b c", {}),
        ((2, 3, 4), "a b c -> a b c_", {}),  # ValueError: names
        ((2, 3, 4), "a b c -> a b c$", {}),
        ((2, 3, 4), "a b c -> a b c", {"q": 2}),  # ValueError: an unknown length
        ((2, 3, 4), "a b c -> a b c", {"a": 2.0}),  # TypeError: lengths are ints
        ((2, 3, 4), "a b c -> a b c", {"a": True}),
        ((6, 3), "(a b) c -> a b c", {"a": 4}),  # DimensionBindError: does not divide
        ((6, 3), "(a b) c -> a b c", {"a": 2, "b": 4}),  # the lengths do not multiply to the dim
        ((2, 3, 4), "a b c -> a b c", {"a": 5}),
        ((2, 3, 4), "a b c -> c b a", {"a": -2}),
        ((6, 3), "(a b) c -> a b c", {}),  # two unknowns in a group
        ((6, 3), "(a b) c -> a b c", {"a": 0}),  # ZeroDivisionError (torch's)
        ((6, 3), "(a b) c -> a b c", {"a": -2}),  # RuntimeError: a negative length
    ],
)
def test_rearrange_errors_like_torch(shape: tuple, pattern: str, lengths: dict) -> None:
    x = np.zeros(shape)
    with pytest.raises(Exception) as theirs:
        torch_rearrange(torch.tensor(x), pattern, **lengths)
    with pytest.raises(Exception) as ours:
        rearrange(mc.tensor(x), pattern, **lengths)
    assert type(ours.value).__name__ == type(theirs.value).__name__, (ours.value, theirs.value)
    if isinstance(theirs.value, (ValueError, TypeError)):  # the parser's messages are torch's
        assert str(ours.value) == str(theirs.value) or "{" in str(theirs.value)


def test_rearrange_anonymous_one_over_a_longer_dim_raises() -> None:
    # einops refuses this; torch 2.14's functorch version sums the dimension away instead (a bug)
    with pytest.raises(mc.func.rearrange.__globals__["DimensionBindError"]):
        rearrange(mc.ones(2, 3), "1 b -> b")
    with pytest.raises(RuntimeError):
        rearrange([], "a -> a")
    # a 0-d input gets the right side's 1s (einops); torch 2.14 returns it unchanged: torch's answer
    # for the same pattern with an axis of size 1 named on both sides
    x = torch.tensor(2.0)
    assert rearrange(mc.tensor(2.0), "-> 1 ()").shape == torch_rearrange(x[None], "a -> a ()").shape


# -- Tensor.output_nr ------------------------------------------------------------------------

_OUTPUT_NR_CASES = {
    "leaf": lambda lib, x, a: (x, lib.ones(2)),
    "single-output ops and views": lambda lib, x, a: (x * 2, (x * 2)[1], x.view(16), x.split(2)[1].view(8)),
    "split": lambda lib, x, a: x.split(2),
    "split sizes": lambda lib, x, a: x.split([1, 3], 1),
    "chunk": lambda lib, x, a: x.chunk(3),
    "unbind": lambda lib, x, a: x.unbind(1),
    "tensor_split (slices)": lambda lib, x, a: x.tensor_split(3),
    "unsafe_split": lambda lib, x, a: lib.unsafe_split(x, 2),
    "unbind_copy": lambda lib, x, a: lib.unbind_copy(x),
    "eigh": lambda lib, x, a: lib.linalg.eigh(a),
    "eigvalsh": lambda lib, x, a: (lib.linalg.eigvalsh(a),),
    "qr": lambda lib, x, a: lib.linalg.qr(a),
    "qr mode r": lambda lib, x, a: lib.linalg.qr(a, mode="r"),
    "lstsq": lambda lib, x, a: lib.linalg.lstsq(a, x),
    "lstsq tall gelsd": lambda lib, x, a: lib.linalg.lstsq(lib.cat([a, x]), lib.cat([x, a]), driver="gelsd"),
    "linalg.svd": lambda lib, x, a: lib.linalg.svd(a),
    "svd (V transposed)": lambda lib, x, a: lib.svd(a),
    "svdvals": lambda lib, x, a: (lib.linalg.svdvals(a),),
    "slogdet": lambda lib, x, a: lib.linalg.slogdet(a),
    "lu": lambda lib, x, a: lib.linalg.lu(a)[1:],
    "lu_unpack": lambda lib, x, a: lib.lu_unpack(*lib.linalg.lu_factor(a))[1:],
    "lu_factor": lambda lib, x, a: lib.linalg.lu_factor(a),
    "geqrf": lambda lib, x, a: lib.geqrf(a),
    "aminmax": lambda lib, x, a: lib.aminmax(x, dim=0),
    "var_mean": lambda lib, x, a: lib.var_mean(x, 0),
    "std_mean": lambda lib, x, a: lib.std_mean(x),
    "max(dim)": lambda lib, x, a: lib.max(x, 0),
    "sort": lambda lib, x, a: lib.sort(x),
    "no grad": lambda lib, x, a: x.detach().split(2),
    "written in place": lambda lib, x, a: [t.mul_(2) for t in lib.unsafe_split(x * 1, 2)],
}


@pytest.mark.parametrize("case", sorted(_OUTPUT_NR_CASES))
def test_output_nr_like_torch(case: str) -> None:
    x0 = np.random.default_rng(0).standard_normal((4, 4))
    got = []
    for lib in (torch, mc):
        x = lib.tensor(x0, requires_grad=True)
        a = x @ x.T + lib.eye(4, dtype=x.dtype)
        got.append([t.output_nr for t in _OUTPUT_NR_CASES[case](lib, x, a)])
    assert got[1] == got[0]


def test_output_nr_of_a_custom_function_like_torch() -> None:
    got = []
    for lib in (torch, mc):

        class Three(lib.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                return x * 2, x * 3, x * 4

            @staticmethod
            def backward(ctx: Any, a: Any, b: Any, c: Any) -> Any:
                return 2 * a + 3 * b + 4 * c

        class Second(lib.autograd.Function):  # the first output is not differentiable
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                flag = (x > 0).long()
                ctx.mark_non_differentiable(flag)
                return flag, x * 3

            @staticmethod
            def backward(ctx: Any, a: Any, b: Any) -> Any:
                return 3 * b

        x = lib.ones(2, requires_grad=True)
        got.append([t.output_nr for t in (*Three.apply(x), *Second.apply(x))])
    assert got[1] == got[0]


# -- Tensor.as_subclass ----------------------------------------------------------------------


class _MyTensor(mc.Tensor):
    pass


class _TorchTensor(torch.Tensor):
    pass


@pytest.mark.parametrize("requires_grad", [False, True])
def test_as_subclass_like_torch(requires_grad: bool) -> None:
    x0 = np.arange(3.0)
    ours, theirs = mc.tensor(x0, requires_grad=requires_grad), torch.tensor(x0, requires_grad=requires_grad)
    for src, cls, out in ((ours, _MyTensor, None), (theirs, _TorchTensor, None)):
        out = src.as_subclass(cls)
        assert type(out) is cls
        assert out.requires_grad == requires_grad
        assert out.is_leaf == (not requires_grad)
        assert (out.grad_fn is None) == (not requires_grad)
        if requires_grad:
            assert out.grad_fn.name() == "AliasBackward0"
            (out * out).sum().backward()
            np.testing.assert_allclose(src.grad.numpy(), 2 * x0)
        else:
            src.add_(1)  # the same memory and version counter
            np.testing.assert_allclose(out.numpy(), x0 + 1)
            assert out._version == src._version == 1
    assert type(mc.ones(2).as_subclass(mc.Tensor)) is mc.Tensor
    for lib, bad in ((torch, int), (mc, int), (mc, torch.Tensor)):
        with pytest.raises(TypeError):
            lib.ones(2).as_subclass(bad)


# -- nn.Container, autograd.enforce_grad_layout_policy ---------------------------------------


def test_container_adds_its_kwargs_with_torch_warning() -> None:
    for nn in (torch.nn, mc.nn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            c = nn.Container(first=nn.Linear(2, 3), second=nn.ReLU())
        assert [w.category for w in caught] == [FutureWarning]
        assert "`nn.Container` is deprecated" in str(caught[0].message)
        assert isinstance(c, nn.Module)
        assert [name for name, _ in c.named_children()] == ["first", "second"]
        assert [name for name, _ in c.named_parameters()] == ["first.weight", "first.bias"]


def test_enforce_grad_layout_policy_switch_like_torch() -> None:
    def states(lib: Any, get: Any) -> list[bool]:
        policy = lib.autograd.enforce_grad_layout_policy
        seen = [get()]
        with policy(False):
            seen.append(get())
        seen.append(get())
        policy(False)
        seen.append(get())
        policy(True)

        @policy(False)
        def f() -> bool:
            return get()

        seen += [get(), f(), get(), policy(False).clone().mode]
        policy(True)
        return seen

    ours = states(mc, mc.grad_mode.is_grad_layout_enforced)
    assert ours == states(torch, torch._C._is_grad_layout_enforcement_enabled)
    # the policy changes no gradient value
    p = mc.tensor(np.arange(24.0).reshape(2, 3, 4)).permute(2, 0, 1).requires_grad_()
    with mc.autograd.enforce_grad_layout_policy(False):
        (p * 2).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((4, 2, 3), 2.0))
