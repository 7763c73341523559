"""torch-style custom autograd Functions (minicnn/custom_function.py): each case is the same class
body run on torch and on minicnn (``lib`` is the module: ``torch`` or ``mc``), compared."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc

once_differentiable = mc.autograd.function.once_differentiable

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def make_legendre(lib):
    class LegendreP3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * 1.5 * (5 * x**2 - 1)

    return LegendreP3


def make_scaled_mul(lib):
    """Two tensors and a non-tensor argument; the gradient for ``b`` only where asked."""

    class ScaledMul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, gy):
            a, b = ctx.saved_tensors
            ga = gy * b * ctx.scale if ctx.needs_input_grad[0] else None
            gb = gy * a * ctx.scale if ctx.needs_input_grad[1] else None
            return ga, gb, None

    return ScaledMul


def make_sort_like(lib):
    """Several outputs: the sorted values, their indices (not differentiable) and the sum."""

    class SortAndSum(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, idx = lib.sort(x, dim=-1)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            ctx.shape = x.shape
            return values, idx, x.sum()

        @staticmethod
        def backward(ctx, g_values, g_idx, g_sum):
            (idx,) = ctx.saved_tensors
            gx = lib.zeros(ctx.shape, dtype=g_values.dtype, device=g_values.device).scatter(-1, idx, g_values)
            return gx + g_sum

    return SortAndSum


def both(x: np.ndarray, device: str = "cpu", requires_grad: bool = True):
    return mc.tensor(x, requires_grad=requires_grad, device=device), torch.tensor(x, requires_grad=requires_grad)


def check_close(m, t, **tol) -> None:
    np.testing.assert_allclose(m.numpy() if isinstance(m, mc.Tensor) else m, t.detach().numpy(), **tol)


@pytest.mark.parametrize("device", devices())
@settings(max_examples=10)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_one_output_matches_torch(device: str, shape: tuple[int, ...], seed: int) -> None:
    x = np.random.default_rng(seed).uniform(-1, 1, shape)
    mx, tx = both(x, device)
    my, ty = make_legendre(mc).apply(mx), make_legendre(torch).apply(tx)
    check_close(my, ty, rtol=1e-12)
    gy = np.random.default_rng(seed + 1).normal(size=shape)
    my.backward(mc.tensor(gy, device=device))
    ty.backward(torch.tensor(gy))
    check_close(mx.grad, tx.grad, rtol=1e-12)
    assert type(my.grad_fn).__name__ == type(ty.grad_fn).__name__ == "LegendreP3Backward"


@pytest.mark.parametrize("device", devices())
@settings(max_examples=10)
@given(shape=shapes, seed=st.integers(0, 2**16), which=st.sampled_from([(1, 1), (1, 0), (0, 1)]))
def test_non_tensor_argument_and_needs_input_grad(device: str, shape, seed: int, which) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=shape), rng.normal(size=shape)
    (ma, ta), (mb, tb) = both(a, device, bool(which[0])), both(b, device, bool(which[1]))
    my, ty = make_scaled_mul(mc).apply(ma, mb, 2.5), make_scaled_mul(torch).apply(ta, tb, 2.5)
    check_close(my, ty, rtol=1e-12)
    my.sum().backward()
    ty.sum().backward()
    for m, t in ((ma, ta), (mb, tb)):
        assert (m.grad is None) == (t.grad is None)
        if t.grad is not None:
            check_close(m.grad, t.grad, rtol=1e-12)


@pytest.mark.parametrize("device", devices())
@settings(max_examples=10)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_several_outputs_one_non_differentiable(device: str, shape, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    mx, tx = both(x, device)
    mv, mi, ms = make_sort_like(mc).apply(mx)
    tv, ti, ts = make_sort_like(torch).apply(tx)
    check_close(mv, tv, rtol=1e-12)
    np.testing.assert_array_equal(mi.numpy(), ti.numpy())
    assert not mi.requires_grad and mv.requires_grad and ms.requires_grad
    w = rng.normal(size=shape)
    (mv * mc.tensor(w, device=device)).sum().backward(retain_graph=True)  # the sum gets no gradient: zeros
    (tv * torch.tensor(w)).sum().backward(retain_graph=True)
    check_close(mx.grad, tx.grad, rtol=1e-12)
    mx.grad = None
    tx.grad = None
    (ms * 3 + mv.sum()).backward()
    (ts * 3 + tv.sum()).backward()
    check_close(mx.grad, tx.grad, rtol=1e-12)


def test_gradcheck_and_gradgradcheck_float64() -> None:
    x = mc.tensor(np.random.default_rng(0).uniform(-1, 1, (3, 4)), requires_grad=True)
    assert mc.gradcheck(make_legendre(mc).apply, (x,))
    assert mc.gradgradcheck(make_legendre(mc).apply, (x,))
    a = mc.tensor(np.random.default_rng(1).normal(size=(2, 3)), requires_grad=True)
    b = mc.tensor(np.random.default_rng(2).normal(size=(2, 3)), requires_grad=True)
    assert mc.gradcheck(lambda a, b: make_scaled_mul(mc).apply(a, b, -1.5), (a, b))
    assert mc.gradcheck(lambda x: make_sort_like(mc).apply(x)[0] * 2 + make_sort_like(mc).apply(x)[2], (a,))


def test_second_derivative_through_a_differentiable_backward() -> None:
    x = np.linspace(-1, 1, 7)
    mx, tx = both(x)
    (mg,) = mc.autograd.grad(make_legendre(mc).apply(mx).sum(), mx, create_graph=True)
    (tg,) = torch.autograd.grad(make_legendre(torch).apply(tx).sum(), tx, create_graph=True)
    check_close(mg, tg, rtol=1e-12)
    (mgg,) = mc.autograd.grad((mg**2).sum(), mx)
    (tgg,) = torch.autograd.grad((tg**2).sum(), tx)
    check_close(mgg, tgg, rtol=1e-12)


def make_setup_context(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(x, power=3):
            return x**power

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, power = inputs
            ctx.save_for_backward(x)
            ctx.power = power

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * ctx.power * x ** (ctx.power - 1), None

    return Cube


def test_setup_context_style() -> None:
    x = np.array([0.5, -2.0, 3.0])
    mx, tx = both(x)
    my, ty = make_setup_context(mc).apply(mx, 4), make_setup_context(torch).apply(tx, 4)
    check_close(my, ty)
    my.sum().backward()
    ty.sum().backward()
    check_close(mx.grad, tx.grad)


def make_once(lib, decorator):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @decorator
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return 2 * x * gy

    return Square


def test_once_differentiable_refuses_a_second_derivative() -> None:
    from torch.autograd.function import once_differentiable as torch_once

    x = np.array([1.0, 2.0])
    for lib, deco, t in ((mc, once_differentiable, mc.tensor(x, requires_grad=True)),
                         (torch, torch_once, torch.tensor(x, requires_grad=True))):  # fmt: skip
        # (times t: the gradient reaching the backward requires grad, so its result must too)
        (g,) = lib.autograd.grad((make_once(lib, deco).apply(t) * t).sum(), t, create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), 3 * x**2)  # the first derivative is fine
        with pytest.raises(RuntimeError, match="differentiate twice a function that was marked with @once_diff"):
            g.sum().backward()


def test_saved_tensor_written_in_place_raises() -> None:
    for lib in (mc, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 1
        y = make_legendre(lib).apply(h)
        with lib.no_grad():
            h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def make_double_in_place(lib):
    class DoubleInPlace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, gy):
            return gy * 2

    return DoubleInPlace


def test_mark_dirty() -> None:
    x = np.array([1.0, -2.0, 3.0])
    mx, tx = both(x)
    mh, th = mx * 1, tx * 1  # not leaves: may be written in place
    my, ty = make_double_in_place(mc).apply(mh), make_double_in_place(torch).apply(th)
    check_close(mh, th)  # the input itself holds the result
    check_close(my, ty)
    (my * mh).sum().backward()  # mh stands for the result now, as in torch
    (ty * th).sum().backward()
    check_close(mx.grad, tx.grad)
    for lib in (mc, torch):
        leaf = lib.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            make_double_in_place(lib).apply(leaf)


def make_broadcast_grad(lib, shape):
    class Expand(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.expand(*shape).clone()

        @staticmethod
        def backward(ctx, gy):
            return gy  # the output's shape: summed down to the input's, as torch does

    return Expand


def test_gradient_of_a_broadcast_shape_is_summed_and_others_raise() -> None:
    x = np.array([[1.0], [2.0]])
    mx, tx = both(x)
    make_broadcast_grad(mc, (3, 2, 4)).apply(mx).sum().backward()
    make_broadcast_grad(torch, (3, 2, 4)).apply(tx).sum().backward()
    check_close(mx.grad, tx.grad)

    wrong = times_two(mc, lambda ctx, gy: gy[:1])
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0 - got \[1, 1\] but expected shape compatible"):
        wrong.apply(mc.tensor(x, requires_grad=True)).sum().backward()


def times_two(lib, backward):
    """A custom Function of ``lib`` (minicnn or torch) computing 2 x, with the given backward."""

    class TimesTwo(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    TimesTwo.backward = staticmethod(backward)
    return TimesTwo


def test_wrong_number_of_gradients_raises_as_torch() -> None:
    for lib in (mc, torch):

        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a + b

            @staticmethod
            def backward(ctx, gy):
                return gy

        a = lib.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=r"returned an incorrect number of gradients \(expected 2, got 1\)"):
            Two.apply(a, lib.tensor([2.0])).backward()


def test_a_gradient_that_is_not_a_tensor_raises_as_torch() -> None:
    for lib in (mc, torch):
        a = lib.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="expected Variable or None"):
            times_two(lib, lambda ctx, gy: 2.0).apply(a).sum().backward()


def test_input_returned_unchanged_and_materialize_grads() -> None:
    seen = {}
    for lib in (mc, torch):

        class Identity(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x, (x > 0)

            @staticmethod
            def backward(ctx, gy, g_mask, name=lib.__name__):
                seen[name] = g_mask
                return gy * 3

        x = lib.tensor([1.0, -1.0], requires_grad=True)
        y, mask = Identity.apply(x)
        assert y is not x and y.requires_grad and not mask.requires_grad
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    assert seen["minicnn"] is None and seen["torch"] is None


def test_no_graph_without_grad_and_ctx_type() -> None:
    x = mc.tensor([0.5, 1.0], requires_grad=True)
    with mc.no_grad():
        y = make_legendre(mc).apply(x)
    assert y.grad_fn is None and not y.requires_grad
    y = make_legendre(mc).apply(mc.tensor([0.5]))
    assert y.grad_fn is None
    from minicnn.autograd.function import FunctionCtx  # torch's import path works too

    assert FunctionCtx is mc.autograd.function.FunctionCtx


def _second_backward_of_a_custom_function(lib, case: str):
    """torch's rule: a backward without retain_graph frees only what save_for_backward kept, so a
    custom Function's backward runs again (grads accumulate) unless it reads ctx.saved_tensors
    (then torch's error, even if nothing was saved); ctx's other attributes stay."""
    saves = {
        "nothing": lambda ctx, x: None,
        "empty": lambda ctx, x: ctx.save_for_backward(),
        "input": lambda ctx, x: ctx.save_for_backward(x),
        "none": lambda ctx, x: ctx.save_for_backward(None),
        "attribute": lambda ctx, x: setattr(ctx, "t", x * 2),
    }
    save, read = saves[case.split("/")[0]], case.endswith("/read")

    class Twice(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            save(ctx, x)
            ctx.scale = scale
            return x * scale, x.argmax()

        @staticmethod
        def backward(ctx, gy, gi):
            if read:
                ctx.saved_tensors  # noqa: B018
            return gy * (ctx.t if hasattr(ctx, "t") else ctx.scale), None

    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y, i = Twice.apply(x, 3.0)
    out = y.sum() + y[0]
    results = []
    for _ in range(2):
        try:
            out.backward()
            results.append(x.grad.tolist())
        except RuntimeError as exc:
            results.append(str(exc))
    return results, i.requires_grad


@pytest.mark.parametrize(
    "case", ["nothing", "nothing/read", "empty", "empty/read", "input", "input/read", "none/read", "attribute"]
)
def test_second_backward_runs_a_custom_function_again_unless_it_reads_freed_saved_tensors(case: str) -> None:
    assert _second_backward_of_a_custom_function(mc, case) == _second_backward_of_a_custom_function(torch, case)


def test_a_custom_function_run_again_keeps_no_input_values_as_torch() -> None:
    """Two outputs, a once_differentiable backward, a non-leaf input: the second backward runs
    the node again (its input a value-less stub) and stops at exp's freed result, as torch's."""
    import gc  # noqa: PLC0415
    import weakref  # noqa: PLC0415

    seen = []
    for lib in (mc, torch):

        class Double(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            @lib.autograd.function.once_differentiable
            def backward(ctx, ga, gb):
                return ga * 2 + gb * 3

        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        h = x + 1
        a, b = Double.apply(h)
        out = (a + b).sum()
        out.backward()
        if lib is mc:
            alive = weakref.ref(h.array)
            del h
            gc.collect()
            assert alive() is None  # the node runs again without h's values
        out.backward()
        grads = [x.grad.tolist()]
        a, b = Double.apply(x.exp())
        out = (a * b.detach()).sum()
        out.backward()
        try:
            out.backward()
        except RuntimeError as exc:
            grads.append(str(exc))  # exp saved its result: freed
        seen.append(grads)
    assert seen[0] == seen[1]


def make_scale(lib):
    """One tensor and one non-tensor argument; an attribute and a saved tensor on ctx."""

    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            ctx.save_for_backward(x)
            return x * k

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * ctx.k, None

    return Scale


def _grad_fn_is_the_ctx(lib):
    """torch's grad_fn of a custom Function's output is its ctx (a ``<Name>Backward``)."""
    seen = {}

    class Twice(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen["ctx"], seen["type"] = ctx, type(ctx).__name__
            seen["functionctx"] = isinstance(ctx, lib.autograd.function.FunctionCtx)
            seen["saved_in_forward"] = ctx.saved_tensors
            return x * 2

        @staticmethod
        def backward(ctx, gy):
            seen["backward_ctx"] = ctx
            return gy * 2

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = Twice.apply(x)
    out = [y.grad_fn is seen["ctx"], seen["type"], seen["functionctx"], seen["saved_in_forward"]]
    y.sum().backward()
    out.append(seen["backward_ctx"] is seen["ctx"])
    with lib.no_grad():
        Twice.apply(x)
    out.append(seen["type"])
    Scale = make_scale(lib)
    y = Scale.apply(x, 3.0)
    fn = y.grad_fn
    out += [type(fn).__name__, fn.name(), fn.k, fn.saved_tensors[0] is x, fn.needs_input_grad, fn.requires_grad]
    out += [fn._forward_cls is Scale, [(type(n).__name__, i) for n, i in fn.next_functions]]
    out.append(isinstance(fn, lib.autograd.function.BackwardCFunction))
    out.append(repr(fn).split(" object")[0].replace(lib.__name__, "LIB"))
    fn.metadata["tag"] = 1
    out.append(dict(fn.metadata))
    out.append([None if g is None else g.tolist() for g in fn.apply(lib.ones(2))])  # the user's backward on ctx
    for name in ("next_functions", "saved_tensors", "metadata", "requires_grad"):
        with pytest.raises(AttributeError):
            setattr(fn, name, 1)
    with pytest.raises(AttributeError):
        fn.materialize_grads  # noqa: B018  (write-only, as torch's)
    with pytest.raises(TypeError):
        fn.materialize_grads = 1
    y.sum().backward()
    out.append(fn.k)  # attributes stay after backward; saved tensors are freed
    with pytest.raises(RuntimeError, match="second time"):
        fn.saved_tensors  # noqa: B018
    with pytest.raises(RuntimeError, match="second time"):
        fn.apply(lib.ones(2))
    h = x * 1
    fn = Scale.apply(h, 3.0).grad_fn
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        fn.saved_tensors  # noqa: B018
    return out


def test_grad_fn_is_the_ctx_as_torch() -> None:
    assert _grad_fn_is_the_ctx(mc) == _grad_fn_is_the_ctx(torch)


def _node_hooks(lib):
    log = []
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = make_scale(lib).apply(x, 3.0)
    y.grad_fn.register_prehook(lambda go: log.append(("pre", [g.tolist() for g in go])) or (go[0] * 2,))
    y.grad_fn.register_hook(lambda gi, go: log.append(("post", [g.tolist() for g in gi], [g.tolist() for g in go])))
    y.grad_fn.register_hook(lambda gi, go: (gi[0] + 1,))
    y.grad_fn.register_prehook(lambda go: log.append("removed")).remove()
    y.sum().backward()
    log.append(x.grad.tolist())
    y = make_scale(lib).apply(x, 3.0)
    y.grad_fn.register_hook(lambda gi, go: (gi[0], None))
    with pytest.raises(RuntimeError, match="incorrect number of values"):
        y.sum().backward()
    return log


def test_grad_fn_register_hook_and_prehook_as_torch() -> None:
    assert _node_hooks(mc) == _node_hooks(torch)


def _several_outputs(lib):
    seen = []

    class Pair(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.tag = "t"
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append([None if g is None else g.tolist() for g in (ga, gb)])
            return (ga if ga is not None else 0) * 2 + (gb * 3 if gb is not None else 0)

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    a, b = Pair.apply(x)
    out = [type(a.grad_fn).__name__, a.grad_fn is b.grad_fn, a.grad_fn.tag, str(a)]
    out.append([(type(n).__name__, i, n is a.grad_fn) for n, i in (a + b).grad_fn.next_functions])
    a.sum().backward(retain_graph=True)  # b gets no gradient: None under set_materialize_grads(False)
    (a + b).sum().backward()
    a, b = Pair.apply(x)
    a.mul_(2)  # separate tensors, not views of one another: b stays usable
    (a + b).sum().backward()
    return out, seen, x.grad.tolist(), b._version


def _input_returned_as_is(lib):
    class Same(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Same.apply(h)
    with pytest.raises(RuntimeError, match="Output 0 of Same is a view and is being modified inplace"):
        y.add_(1)
    y.sum().backward()
    return [h.tolist(), h._version, x.grad.tolist()]


def test_input_returned_as_is_refuses_in_place_writes_as_torch() -> None:
    assert _input_returned_as_is(mc) == _input_returned_as_is(torch)


def test_several_outputs_share_one_grad_fn_and_unused_ones_get_none() -> None:
    assert _several_outputs(mc) == _several_outputs(torch)


def _torch_rules_of_apply(lib):
    out = []
    seen = []

    class Needs(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, c):
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, g, None

    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, 4.0], requires_grad=True)
    lib.autograd.grad(Needs.apply(a, b, 3).sum(), [a])  # asked for a only: still (True, True, False)
    with lib.no_grad():
        Needs.apply(a, lib.ones(2), 3)
    out.append(seen)

    class NotReturned(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="marked as dirty"):
        NotReturned.apply(a * 1)
    h = a * 1
    make_double_in_place(lib).apply(h)
    out.append(h._version)  # mul_ and mark_dirty: 2, as torch's

    class Rule(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.n = len(inputs)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Rule.apply(a)
    out.append(y.grad_fn.n)
    with pytest.raises(RuntimeError, match="does not have vmap support"):
        lib.vmap(Rule.apply)(lib.ones(3, 2))
    Rule.generate_vmap_rule = True
    out.append(lib.vmap(Rule.apply)(lib.ones(3, 2)).tolist())
    return out


def test_needs_input_grad_mark_dirty_and_vmap_as_torch() -> None:
    assert _torch_rules_of_apply(mc) == _torch_rules_of_apply(torch)


def _nested(lib):
    Inner = make_scale(lib)

    class Outer(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = Inner.apply(x, 2.0)
            ctx.inner_has_graph = y.grad_fn is not None
            ctx.save_for_backward(x)
            return y * 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            with lib.enable_grad():
                xx = x.detach().requires_grad_()
                (gi,) = lib.autograd.grad(Inner.apply(xx, 2.0), xx, g * 3)
            return gi

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = Outer.apply(x)
    y.sum().backward()
    return x.grad.tolist(), y.grad_fn.inner_has_graph, type(y.grad_fn).__name__


def test_nested_custom_functions_keep_their_ctx() -> None:
    assert _nested(mc) == _nested(torch)


def test_ctx_attribute_that_the_engine_keeps_is_refused() -> None:
    """minicnn's difference: ctx is the graph node, whose ``inputs`` (and a few more) the engine uses."""

    class Clash(mc.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.inputs = (x,)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(AttributeError, match="ctx.inputs"):
        Clash.apply(mc.ones(2, requires_grad=True))


def _mark_dirty_through_a_view(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x + 0
    y = make_double_in_place(lib).apply(h[:2])  # the base h is rebuilt around the node, as torch's CopySlices
    (y.sum() + h.sum()).backward()
    out = [x.grad.tolist(), h.tolist(), h._version]  # mul_ and mark_dirty through the view: 2, as torch's
    with lib.no_grad():
        g = x + 0
        make_double_in_place(lib).apply(g)
    return out + [g._version]


def test_mark_dirty_through_a_view_and_version_as_torch() -> None:
    assert _mark_dirty_through_a_view(mc) == _mark_dirty_through_a_view(torch)


def _backward_order(lib):
    """The user's backward runs are side effects: they come in torch's order (latest node first)."""
    log = []

    def make(name):
        class Step(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                log.append(name)
                return g * 2

        return Step

    A, B, C, D = (make(n) for n in "ABCD")
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    a, b = A.apply(x), B.apply(x * 3)
    ((C.apply(a + 1) * 2 + D.apply(b) + a).sum()).backward()
    a, b = A.apply(x), B.apply(x)
    (C.apply(b) + D.apply(a)).sum().backward()
    return log


def test_custom_backwards_run_in_torch_order() -> None:
    assert _backward_order(mc) == _backward_order(torch)
