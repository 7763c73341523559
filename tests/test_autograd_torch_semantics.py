"""Tensor semantics that torch users rely on: in-place writes inside a graph, assignment of
values that require grad, version sharing of detach(), non-differentiable integer results,
reductions' corner cases and the smaller Tensor methods -- each against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, basic_indices, mutually_broadcastable_shapes

import minicnn as mc

SETTINGS = settings(max_examples=40, deadline=None)


def _outcome(lib, body):
    """body(lib, t) -> (tensors to compare, leaves whose .grad to compare); or the error."""
    rng = np.random.default_rng(0)

    def t(shape, grad=False, dtype=np.float64):
        a = rng.uniform(0.5, 2.0, shape).astype(dtype)
        return lib.tensor(a, requires_grad=grad)

    try:
        outs, leaves = body(lib, t)
    except RuntimeError as exc:
        return "raises", str(exc)
    return [np.asarray(o.detach().numpy() if lib is torch else o.numpy()) for o in outs], [
        np.asarray(leaf.grad.numpy()) for leaf in leaves
    ]


def _graph_inplace_cases():
    def alias_sees_the_write(lib, t):
        x = t(3, True)
        y = x * 2
        z = y
        y += 1
        (z * z).sum().backward()
        return [y, z], [x]

    def view_of_a_non_leaf_written(lib, t):
        x = t(3, True)
        y = x * 2
        v = y[0:2]
        v += 1
        v.sum().backward()
        return [y, v], [x]

    def view_of_a_leaf_refused(lib, t):
        x = t(3, True)
        v = x[0:2]
        v += 1
        return [x], []

    def constant_times_a_tensor_that_requires_grad(lib, t):
        x, w = lib.ones(3, dtype=lib.float64), t(3, True)
        alias = x
        x *= w
        x.sum().backward()
        return [alias, x], [w]

    def result_of_another_shape_refused(lib, t):
        y = t(3, True) * 2
        y += lib.ones(2, 3, dtype=lib.float64)
        return [y], []

    def product_with_its_own_input(lib, t):
        x = t(3, True)
        y = x * 2
        y *= x
        y.sum().backward()
        return [y], [x]

    def output_kept_by_exp_refused_at_backward(lib, t):
        x = t(3, True)
        y = x.exp()
        y += 1
        y.sum().backward()
        return [y], [x]

    def power_after_a_use(lib, t):
        x = t(3, True)
        y = x * 2
        a = y * 1
        y **= 2
        (a + y).sum().backward()
        return [a, y], [x]

    def augmented_assignment_through_an_index(lib, t):
        x = t((2, 2), True)
        y = x * 1
        y[:, 0] += x[:, 1]
        (y * y).sum().backward()
        return [y], [x]

    def assignment_of_a_value_that_requires_grad(lib, t):
        x = t(3, True)
        b = lib.zeros(3, dtype=lib.float64)
        b[0] = x[1] * 2
        (b * x).sum().backward()
        return [b], [x]

    def assignment_into_a_non_leaf(lib, t):
        x = t(3, True)
        y = x * 2
        y[0] = 0
        (y * y).sum().backward()
        return [y], [x]

    def assignment_into_a_leaf_refused(lib, t):
        x = t(3, True)
        x[0] = 1.0
        return [x], []

    def float_into_int_refused(lib, t):
        y = lib.zeros(3, dtype=lib.int64)
        y += t(3, True)
        return [y], []

    def in_place_methods(lib, t):
        x, w = t(3, True), t(3, True)
        y = x * 1
        y.mul_(w).add_(x, alpha=3).clamp_(0.0, 8.0)
        z = x * 1
        z.zero_()
        z.copy_(w * w)
        (y * z).sum().backward()
        return [y, z], [x, w]

    def detach_shares_the_version_counter(lib, t):
        x = t(2, True)
        y = x.exp()
        y.detach().add_(1)
        y.sum().backward()
        return [y], [x]

    def write_through_a_view_of_a_constant(lib, t):
        w = t(3, True)
        y = lib.zeros(3, dtype=lib.float64)
        y[0:2].copy_(w[0:2] * 1)
        (y * w).sum().backward()
        return [y], [w]

    def rows_updated_one_by_one(lib, t):
        w = t(3, True)
        y = lib.zeros(2, 3, dtype=lib.float64)
        for r in range(2):
            y[r].add_(w * (r + 1))
        z = lib.zeros(2, 3, dtype=lib.float64)
        for r in range(2):
            z[r] += w * (r + 2)
        (y * z).sum().backward()
        return [y, z], [w]

    def writes_through_nested_views(lib, t):
        x = t((2, 2), True)
        y = x * 1
        y[0][0:1] += x[1, 0:1]
        v = y[1]
        v.mul_(3)
        v.add_(1)
        (y * y).sum().backward()
        return [y, v], [x]

    def element_updates_and_0d_results(lib, t):
        c = lib.zeros(5, dtype=lib.int64)
        c[1] += 1
        c[0] += 2
        s = lib.ones(2, dtype=lib.float64).sum()
        s += 1
        x = t((), True)
        y = x * 2
        y += x
        y.backward()
        return [c, s, y], [x]

    def an_element_view_sees_later_writes(lib, t):
        y = t(3)
        v = y[1]
        y[1] = 9.0
        return [v], []

    def retained_grad_read_through_the_old_name(lib, t):
        x = t(3, True)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        (y * y).sum().backward()
        return [y.grad], [x]

    def detach_after_an_assignment(lib, t):
        x = t(3, True)
        y = x * 2
        y[0] = x[1]
        y.detach_()
        (y * x).sum().backward()
        return [y], [x]

    def in_place_dropout_after_a_use(lib, t):
        w, c = t(4, True), lib.ones(4, dtype=lib.float64)
        s = (w * c).sum()
        (mc.nn.functional if lib is mc else torch.nn.functional).dropout(c, 0.5, True, inplace=True)
        s.backward()
        return [], [w]

    def view_that_would_copy_refused(lib, t):
        return [t((2, 2)).T.view(-1)], []

    return [v for k, v in sorted(locals().items())]


@pytest.mark.parametrize("case", _graph_inplace_cases(), ids=lambda f: f.__name__)
def test_in_place_writes_inside_a_graph_agree_with_torch(case):
    ours, theirs = _outcome(mc, case), _outcome(torch, case)
    assert (ours[0] == "raises") == (theirs[0] == "raises"), f"minicnn {ours} vs torch {theirs}"
    if ours[0] == "raises":
        return
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_view_used_after_its_base_was_rewritten_in_place_is_refused_not_wrong():
    # torch regenerates such a view's history; minicnn names the problem instead of
    # returning the gradient of the old value
    x = mc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    v = y[1:]
    y *= 3
    with pytest.raises(RuntimeError, match="take the view again after the write"):
        v * 1


def _no_negative_steps(index) -> bool:  # torch has none
    parts = index if isinstance(index, tuple) else (index,)
    return all(not isinstance(p, slice) or (p.step or 1) > 0 for p in parts)


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_assignment_of_values_that_require_grad_against_torch(device, data, dtype):
    shape = data.draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    index = data.draw(basic_indices(shape, allow_newaxis=False, allow_ellipsis=True).filter(_no_negative_steps))
    target_shape = np.empty(shape)[index].shape
    value_shape = data.draw(
        st.sampled_from(
            [
                target_shape,
                target_shape[1:] if target_shape else (),
                (1,) * len(target_shape),
                (1, *target_shape),  # leading size-1 dims, which the write drops
                (1, 1, *target_shape),
            ]
        )
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x, v = rng.standard_normal(shape), rng.standard_normal(value_shape)

    def assign(lib):
        def f(x, v):
            y = x * 1.5
            y[index] = v * 2
            return y * x

        return f

    compare_with_torch(assign(mc), assign(torch), [x, v], dtype=dtype, device=device)


def test_gradcheck_of_index_put_and_maximum():
    rng = np.random.default_rng(3)
    x = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    v = mc.tensor(rng.standard_normal(4), requires_grad=True)
    assert mc.gradcheck(lambda x, v: mc.ops.index_put(x, (1,), v) * x, [x, v])
    a = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = mc.tensor(rng.standard_normal((1, 4)), requires_grad=True)
    assert mc.gradcheck(lambda a, b: mc.maximum(a, b) * mc.minimum(a, b), [a, b])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", ["maximum", "minimum"])
@SETTINGS
@given(shp=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 99))
def test_maximum_minimum_against_torch(device, name, shp, seed):
    rng = np.random.default_rng(seed)
    # few distinct values, so ties (where the gradient is shared) are common
    a, b = (rng.integers(-2, 3, s).astype(np.float64) for s in shp.input_shapes)
    a[a == 2] = np.nan
    compare_with_torch(getattr(mc, name), getattr(torch, name), [a, b], device=device)


def test_clamp_with_tensor_bounds_against_torch():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan])
    lo, hi = np.zeros(6), np.ones(6)
    compare_with_torch(lambda x, lo, hi: x.clamp(lo, hi), lambda x, lo, hi: x.clamp(lo, hi), [x[:5], lo[:5], hi[:5]])
    compare_with_torch(lambda x, lo: x.clamp(min=lo), lambda x, lo: x.clamp(min=lo), [x, lo])
    compare_with_torch(lambda x, hi: x.clamp(max=hi), lambda x, hi: x.clamp(max=hi), [x, hi])


def test_integer_results_do_not_require_grad():
    x = mc.tensor([1.5, 2.5], requires_grad=True)
    assert not x.long().requires_grad and not x.to(mc.int64).requires_grad
    (x * x.long()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])  # torch: the cast is a constant


def test_stack_and_cat_take_any_iterable():
    gen = (mc.full((2,), float(i)) for i in range(3))
    np.testing.assert_array_equal(mc.stack(gen).numpy(), [[0, 0], [1, 1], [2, 2]])
    np.testing.assert_array_equal(mc.cat(mc.ones(1) for _ in range(3)).numpy(), [1, 1, 1])


@SETTINGS
@given(
    start=st.floats(-100, 100),
    length=st.integers(1, 300),
    step=st.floats(0.01, 3).map(lambda s: round(s, 3)).filter(lambda s: s > 0),
    sign=st.sampled_from([1, -1]),
)
def test_float_arange_does_not_drift_like_torch(start, length, step, sign):
    step = sign * step
    end = start + step * (length - 0.5)
    ours, theirs = mc.arange(start, end, step), torch.arange(start, end, step)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


def test_arange_and_full_dtypes_and_errors():
    with pytest.raises(ValueError, match="sign of step"):
        mc.arange(0, 10, -1)
    with pytest.raises(ValueError, match="nonzero"):
        mc.arange(0, 10, 0)
    for value in (3, True, 1.5):
        assert str(mc.full((2,), value).dtype) == str(torch.full((2,), value).dtype).replace("torch.", "")


def test_reduction_corner_cases_like_torch():
    x = np.random.default_rng(0).standard_normal((4, 1, 3))
    for dims in [(), (0, 2), -1]:
        compare_with_torch(lambda t, d=dims: t.sum(dim=d), lambda t, d=dims: t.sum(dim=d), [x])
    with pytest.raises(RuntimeError, match="multiple times"):
        mc.tensor(x).sum(dim=(0, 0))
    compare_with_torch(lambda t: t.var(0, False), lambda t: t.var(0, False), [x])  # (dim, unbiased)
    compare_with_torch(lambda t: t.std(2, True, True), lambda t: t.std(2, True, True), [x])
    compare_with_torch(lambda t: t.amax(1), lambda t: t.amax(1), [np.array([[3.0, 1.0, 3.0]])])
    compare_with_torch(lambda t: t.amin((0, 1)), lambda t: t.amin((0, 1)), [np.array([[1.0, 1.0], [2.0, 1.0]])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn: no degrees of freedom
        compare_with_torch(lambda t: t.var(dim=1), lambda t: t.var(dim=1), [x], rtol=0, atol=0)
        compare_with_torch(lambda t: t.max(), lambda t: t.max(), [np.array([1.0, np.nan, 3.0])])


def test_float_functions_of_integer_tensors_are_float32():
    i = np.array([1, 2, 3])
    for name in ("exp", "log", "sqrt"):
        ours, theirs = getattr(mc.tensor(i), name)(), getattr(torch.tensor(i), name)()
        assert ours.dtype == np.float32 and theirs.dtype == torch.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_small_tensor_protocols_like_torch():
    m = mc.tensor([True, False, True])
    np.testing.assert_array_equal((~m).numpy(), [False, True, False])
    np.testing.assert_array_equal((m & ~m).numpy(), [False] * 3)
    np.testing.assert_array_equal((m | ~m).numpy(), [True] * 3)
    np.testing.assert_array_equal(mc.arange(3)[~m].numpy(), [1])
    with pytest.raises(TypeError):
        ~mc.ones(2)
    assert list(range(mc.tensor(3))) == [0, 1, 2]
    with pytest.raises(TypeError, match="0-d"):
        iter(mc.tensor(1.0))
    assert [t.item() for t in mc.tensor([4, 5])] == [4, 5]
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        mc.ones(2).retain_grad()
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(gradient=mc.ones(2))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert mc.randn(2, 3).t().shape == (3, 2)
    assert bool(mc.tensor([1, 0]).any()) and not bool(mc.tensor([1, 0]).all())


def test_no_grad_decorates_with_or_without_parentheses():
    @mc.no_grad
    def bare(x):
        return x * 2

    @mc.no_grad()
    def called(x):
        return x * 2

    x = mc.ones(2, requires_grad=True)
    assert not bare(x).requires_grad and not called(x).requires_grad and (x * 2).requires_grad


@pytest.mark.parametrize("data", [np.array(["a", "b"]), [{"a": 1}], np.array([object()])])
def test_tensors_hold_numbers_only(data):
    with pytest.raises(TypeError, match="numbers or bools"):
        mc.tensor(data)


def test_cat_stack_and_clamp_promote_like_torch():
    for ours, theirs in [
        (mc.cat([mc.ones(2), mc.tensor([1, 2])]), torch.cat([torch.ones(2), torch.tensor([1, 2])])),
        (
            mc.stack([mc.ones(2, dtype=mc.float64), mc.ones(2)]),
            torch.stack([torch.ones(2, dtype=torch.float64), torch.ones(2)]),
        ),
        (mc.tensor([1, 5]).clamp(min=1.5), torch.tensor([1, 5]).clamp(min=1.5)),
        (mc.tensor([1, 5]).clamp(max=2), torch.tensor([1, 5]).clamp(max=2)),
    ]:
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = mc.ones(2, requires_grad=True)
    mc.cat([x, mc.tensor([1, 2])]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shp=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 99))
def test_remainder_and_floor_divide_against_torch(device, shp, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-10, 10, shp.input_shapes[0])
    b = rng.uniform(0.5, 3, shp.input_shapes[1]) * rng.choice([-1, 1], shp.input_shapes[1])
    compare_with_torch(lambda x, y: x % y, lambda x, y: x % y, [a, b], device=device)
    compare_with_torch(lambda x, y: x // y, lambda x, y: x // y, [a, b], grad_inputs=[False, False], device=device)
    ints = [rng.integers(-9, 10, s) for s in shp.input_shapes]
    ints[1][ints[1] == 0] = 3
    for f in (lambda x, y: x % y, lambda x, y: x // y, lambda x, y: 7 % y, lambda x, y: x // 2):
        compare_with_torch(f, f, ints, device=device)


def test_remainder_gradcheck_and_floor_divide_has_no_derivative():
    rng = np.random.default_rng(0)
    a = mc.tensor(rng.uniform(0.3, 0.7, (3, 4)) + rng.integers(-3, 3, (3, 4)), requires_grad=True)
    b = mc.tensor(np.full((1, 4), 1.0) + rng.uniform(0.01, 0.02, (1, 4)), requires_grad=True)
    assert mc.gradcheck(lambda a, b: a % b, [a, b])
    with pytest.raises(RuntimeError, match="floor_divide"):
        (a // 2).sum().backward()


def test_register_hook_like_torch():
    for lib in (mc, torch):
        x = lib.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
        handle = x.register_hook(lambda g: g * 2)  # a leaf: before accumulation
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [4.0, -8.0, 12.0])
        handle.remove()
        x.grad = None
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0, 6.0])
        y = x * 3
        seen = []
        y.register_hook(lambda g, seen=seen: seen.append(g.numpy().copy()))  # observes, returns None
        y.register_hook(lambda g: g * 0)  # replaces: nothing reaches x
        x.grad = None
        (y * y).sum().backward()
        np.testing.assert_array_equal(seen[0], [6.0, -12.0, 18.0])
        np.testing.assert_array_equal(x.grad.numpy(), 0.0)
        with pytest.raises(RuntimeError):
            lib.ones(2).register_hook(lambda g: g)


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_without_dim_takes_torchs_deprecated_choice(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    pairs = ((mc.nn.functional.softmax, torch.nn.functional.softmax), (mc.nn.Softmax(), torch.nn.Softmax()))
    for ours, theirs in pairs:
        with pytest.warns(UserWarning, match="Implicit dimension"):
            got = ours(mc.tensor(x))
        with pytest.warns(UserWarning, match="Implicit dimension"):
            want = theirs(torch.tensor(x))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


# -- backward(inputs=...), autograd.backward and autograd.grad ----------------------------------


def _graph(lib, arrays):
    """x, w, b leaves; y = relu(x @ w) * 2 (retains grad); out1 = (y * b).sum(); out2 = (y ** 2).mean()."""
    x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
    y = (x @ w).relu() * 2
    y.retain_grad()
    return (x, w, b), y, (y * b).sum(), (y**2).mean()


@SETTINGS
@given(
    n=st.integers(1, 4),
    k=st.integers(1, 4),
    m=st.integers(1, 4),
    which=st.lists(st.sampled_from(["x", "w", "b", "y"]), min_size=1, max_size=3, unique=True),
    seed=st.integers(0, 2**16),
)
def test_backward_with_inputs_fills_only_those_grads(n, k, m, which, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in ((n, k), (k, m), (n, m))]
    got = {}
    for lib in (mc, torch):
        leaves, y, out1, _ = _graph(lib, arrays)
        named = dict(zip("xwb", leaves), y=y)
        out1.backward(inputs=[named[w] for w in which])
        got[lib] = {name: None if t.grad is None else np.asarray(t.grad.numpy()) for name, t in named.items()}
    for name in "xwby":
        ours, theirs = got[mc][name], got[torch][name]
        assert (ours is None) == (theirs is None), name
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(
    n=st.integers(1, 4),
    k=st.integers(1, 4),
    m=st.integers(1, 4),
    which=st.lists(st.sampled_from(["x", "w", "b", "y"]), min_size=1, max_size=4, unique=True),
    two_outputs=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_autograd_grad_equals_torch_and_leaves_grad_alone(n, k, m, which, two_outputs, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in ((n, k), (k, m), (n, m))]
    seeds = [rng.standard_normal(()), rng.standard_normal(())]
    results = {}
    for lib in (mc, torch):
        leaves, y, out1, out2 = _graph(lib, arrays)
        named = dict(zip("xwb", leaves), y=y)
        outputs = [out1, out2] if two_outputs else out1
        grad_outputs = [lib.tensor(s) for s in seeds] if two_outputs else None
        grads = lib.autograd.grad(outputs, [named[w] for w in which], grad_outputs, allow_unused=True)
        assert all(t.grad is None for t in leaves)  # no leaf's .grad is written
        results[lib] = (
            [None if g is None else np.asarray(g.numpy()) for g in grads],
            None if y.grad is None else np.asarray(y.grad.numpy()),
        )
    (ours, ours_y), (theirs, theirs_y) = results[mc], results[torch]
    for g_m, g_t in zip(ours, theirs):
        assert (g_m is None) == (g_t is None)
        if g_m is not None:
            np.testing.assert_allclose(g_m, g_t, rtol=1e-12, atol=1e-12)
    assert (ours_y is None) == (theirs_y is None)  # retain_grad() still holds, where y is on the way
    if ours_y is not None:
        np.testing.assert_allclose(ours_y, theirs_y, rtol=1e-12, atol=1e-12)


def test_autograd_grad_unused_inputs_hooks_and_errors_as_torch():
    for lib in (mc, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        out = (x * x).sum()
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad(out, [a], retain_graph=True)
        ga, gx = lib.autograd.grad(out, [a, x], allow_unused=True, retain_graph=True)
        assert ga is None and np.allclose(gx.numpy(), [2, 4, 6])
        ga, _ = lib.autograd.grad(out, [a, x], materialize_grads=True, retain_graph=True)
        assert np.array_equal(ga.numpy(), [0.0, 0.0])
        with pytest.raises(ValueError, match="allow_unused"):
            lib.autograd.grad(out, [x], allow_unused=False, materialize_grads=True)
        handle = x.register_hook(lambda g: g * 10)  # an input's hook runs before its gradient is returned
        (gx,) = lib.autograd.grad(out, x, retain_graph=True)
        assert np.allclose(gx.numpy(), [20, 40, 60])
        handle.remove()
        with pytest.raises(RuntimeError, match="only for scalar outputs"):
            lib.autograd.grad(x * 3, x)
        (gx,) = lib.autograd.grad(x * 3, x, grad_outputs=lib.ones(3, dtype=x.dtype))
        assert np.allclose(gx.numpy(), 3)
        with pytest.raises(RuntimeError, match="does not require grad"):
            lib.autograd.grad(lib.ones(2).sum(), [x])
        with pytest.raises(RuntimeError, match="cannot be empty"):
            (x * 3).sum().backward(inputs=[])
        assert x.grad is None


def test_backward_with_inputs_skips_the_rest_of_the_graph():
    """Only the ops between the output and ``inputs`` run: a hook on a tensor off that path
    is not called, as in torch."""
    for lib in (mc, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        calls = []
        h = (w * 2).relu()
        h.register_hook(lambda g, calls=calls: calls.append("h"))
        (x * h).sum().backward(inputs=[x])
        assert calls == [] and w.grad is None and np.allclose(x.grad.numpy(), [6, 8])


def test_autograd_grad_results_do_not_alias():
    """``a + b`` hands one gradient array to both inputs; the two returned gradients must not
    share memory (writing one would change the other)."""
    a = mc.tensor([1.0, 2.0], requires_grad=True)
    b = mc.tensor([3.0, 4.0], requires_grad=True)
    ga, gb = mc.autograd.grad((a + b) * 1.0, [a, b], grad_outputs=mc.ones(2))
    ga.array += 1
    assert np.array_equal(gb.numpy(), [1.0, 1.0])


def test_autograd_backward_sums_several_outputs_as_torch():
    grads = {}
    for lib in (mc, torch):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y1, y2 = x * 3, (x * x).sum()
        lib.autograd.backward([y1, y2], [lib.tensor([1.0, 2.0, 3.0], dtype=x.dtype), None])
        grads[lib] = x.grad.numpy()
    np.testing.assert_allclose(grads[mc], grads[torch])


@pytest.mark.parametrize(
    "data",
    [
        [np.float64(1.0), np.float64(2.0)],
        [np.float32(1.0), 2.0],
        [1, np.float64(2.0)],
        [[np.float64(1.0)], [2.0]],
        [(1.0,), (np.float64(2.0),)],
        [np.int32(1), 2.0],
        [np.int32(1), 2],
        [np.float16(1.0), 2],
        [np.float16(1.0), 2.0],
        [np.float16(1.0), np.float32(2.0)],
        [True, np.int8(3)],
        [np.uint8(1), 2.5],
        [1.5, 2],
        [[1.5], [2.5]],
    ],
)
def test_tensor_from_a_list_with_numpy_scalars_takes_torchs_dtype(data):
    """A NumPy scalar in a list keeps its dtype, a Python float counts as float32: torch's rule."""
    expected = torch.tensor(data).dtype
    got = mc.tensor(data)
    assert str(got.dtype) == str(expected).removeprefix("torch.")
    np.testing.assert_array_equal(got.numpy(), torch.tensor(data).numpy())


def test_reductions_take_torchs_dtype_and_requires_grad_keyword():
    x = mc.tensor([1.0, 2.0, 4.0], requires_grad=True)
    for name in ("sum", "mean"):
        y = getattr(x, name)(dtype=mc.float64)
        t = getattr(torch.tensor([1.0, 2.0, 4.0]), name)(dtype=torch.float64)
        assert y.dtype == np.float64 and y.item() == t.item()
        y.backward()
        assert x.grad.dtype == np.float32
        x.grad = None
    w = mc.zeros(2).requires_grad_(requires_grad=True)
    assert w.requires_grad


def test_grad_fn_through_an_old_name_is_the_results():
    """torch has one tensor object, so ``z = y; y += 1`` leaves ``z.grad_fn`` the addition's;
    minicnn's old object reports its result's node too."""
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y
    mul = y.grad_fn
    y += 1
    assert z.grad_fn is y.grad_fn and z.grad_fn is not mul
    assert "Add" in repr(z) and not z.is_leaf
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = tx * 2
    tz = ty
    ty += 1
    assert tz.grad_fn is ty.grad_fn and type(tz.grad_fn).__name__.startswith("Add")


def test_enable_grad_and_no_grad_as_bare_decorators_like_torch():
    @mc.enable_grad
    def inner(x):
        return x * 2

    @torch.enable_grad
    def inner_t(x):
        return x * 2

    x, tx = mc.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
    with mc.no_grad(), torch.no_grad():
        assert inner(x).requires_grad and inner_t(tx).requires_grad
        assert not (x * 2).requires_grad
    assert mc.enable_grad(orig_func=None) is not None and mc.no_grad(orig_func=None) is not None
    p, tp = mc.nn.Parameter(), torch.nn.Parameter()
    assert p.shape == tuple(tp.shape) == (0,) and p.requires_grad and str(p.dtype) == "float32"


@pytest.mark.parametrize(
    "write",
    [
        lambda c: c.t().mul_(2),
        lambda c: c.transpose(0, 1).add_(1),
        lambda c: c.reshape(12).mul_(3),
        lambda c: c.view(2, 6)[0].mul_(5),
        lambda c: c.unsqueeze(0).sub_(1),
        lambda c: c.flatten().exp_(),
        lambda c: c.mT.relu_(),
        lambda c: c.t()[1].mul_(4),
        lambda c: c.permute(1, 0).reshape(12).mul_(2),
        lambda c: c.movedim(0, 1)[2:].zero_(),
        lambda c: c.reshape(2, 6).t().add_(c.reshape(6, 2).detach().clone()),
    ],
)
def test_write_through_a_reshape_or_transpose_view_is_recorded_on_the_base(write):
    """torch regenerates the base's history after a write through any view; minicnn records
    a view of all of its input (reshape, transpose, permute, movedim...) as base = inverse(view),
    as it records base[index] = view for indexing: the base goes on, with torch's gradients."""
    a_np = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for lib in (mc, torch):
        a = lib.tensor(a_np, requires_grad=True)
        c = a * 1.0
        write(c)
        (c * c).sum().backward()
        results.append((c.detach().numpy(), a.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def _views_of(lib, c):
    a = c[1:]
    b = a[1:]
    return [a, b, b.view(-1)[:3]]


@pytest.mark.parametrize(
    "write",
    [
        lambda lib, c: [c[:2].mul_(2)],
        lambda lib, c: [c[0].zero_()],
        lambda lib, c: [c.view(12).add_(1)],
        lambda lib, c: [c.T.mul_(2)],
        lambda lib, c: [c.permute(1, 0)[0].mul_(2), c[1:].clamp_(0.0, 0.5)],
        lambda lib, c: [v.__setitem__(0, 5.0) or v for v in [c[1]]],
        lambda lib, c: [v for v in _views_of(lib, c)] + [_views_of(lib, c)[2].add_(1)],
        lambda lib, c: [c[1:].copy_(lib.ones(2, 4, dtype=lib.float64)), c[:1].fill_(3.0), c[0].relu_()],
        lambda lib, c: [c.__setitem__(slice(1, 3), c[1:3] + 1) or c],  # c[1:3] = ... on the base: one write
        lambda lib, c: [c.__setitem__(slice(1, 3), c[1:3].__iadd__(1)) or c],  # Python's c[1:3] += 1: two
    ],
)
def test_version_counter_of_writes_through_views_as_torch(write):
    """torch counts one write through a view of a recorded tensor once, on the counter the view
    shares with its base (minicnn re-describes the base too, which must not count again)."""
    a_np = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for lib in (mc, torch):
        a = lib.tensor(a_np, requires_grad=True)
        c = a * 1.0
        versions = [c._version]
        for v in write(lib, c):
            versions += [c._version, v._version]
        (c * c).sum().backward()
        results.append((versions, c.detach().numpy(), a.grad.numpy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-12)


def test_version_counter_of_plain_writes_through_views_as_torch():
    """Without a graph to record (no grad, or under no_grad), each write also counts once."""
    out = []
    for lib in (mc, torch):
        x = lib.ones(4, requires_grad=True)
        h = lib.ones(2, 3)
        with lib.no_grad():
            x[:2].mul_(2)
            x.view(2, 2)[1].add_(1)
        h[0].zero_()
        h.t().mul_(2)
        h[1, :2] = 4.0
        out.append([x._version, h._version])
    assert out[0] == out[1]


def test_index_tensor_written_after_indexing_does_not_change_the_gradient():
    """x[i] keeps i as it was: a later in-place write to i cannot redirect the gradient (torch
    raises there; minicnn gives the gradient of what was computed)."""
    x = mc.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    i = mc.tensor([0, 2])
    y = x[i]
    z = x * 1.0
    z[i] = mc.tensor([5.0, 6.0])  # recorded: the written places get no gradient
    with mc.no_grad():
        i[0] = 3
    (y * mc.tensor([1.0, 10.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 10.0, 0.0])
    x.grad = None
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0, 1.0])


def test_ops_keep_only_what_their_gradients_need_as_torch():
    """An in-place write to memory an op did not need to keep is fine (torch's rule): the
    output of a pow by a constant, the constant operand of a matmul or of F.linear."""
    for lib in (mc, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x**2
        y += 1
        np.testing.assert_allclose(lib.autograd.grad((y * y).sum(), x)[0].numpy(), [8.0, 40.0, 120.0])
        x = lib.tensor([[1.0, 2.0]], requires_grad=True)
        y = x * 1
        z = y @ lib.ones(2, 2)
        h = lib.nn.functional.linear(y, lib.ones(3, 2))
        y.add_(1)
        np.testing.assert_allclose(lib.autograd.grad(z.sum(), x, retain_graph=True)[0].numpy(), [[2.0, 2.0]])
        np.testing.assert_allclose(lib.autograd.grad(h.sum(), x)[0].numpy(), [[3.0, 3.0]])


def test_mask_and_pos_weight_written_after_the_forward_do_not_change_gradients():
    x = mc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = mc.tensor([True, False, True])
    y = mc.where(m, x * x, -x)
    z = (x * x).masked_fill(m, 0.0)
    logits = mc.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    pw = mc.tensor([1.0, 2.0, 3.0])
    loss = mc.nn.functional.binary_cross_entropy_with_logits(logits, mc.tensor(np.full((1, 3), 0.3)), pos_weight=pw)
    (g_plain,) = mc.autograd.grad(loss, logits, retain_graph=True)
    m[0] = False
    pw[0] = 5.0
    np.testing.assert_allclose(mc.autograd.grad(y.sum(), x)[0].numpy(), [2.0, -1.0, 6.0])
    np.testing.assert_allclose(mc.autograd.grad(z.sum(), x)[0].numpy(), [0.0, 4.0, 0.0])
    np.testing.assert_allclose(mc.autograd.grad(loss, logits, create_graph=True)[0].numpy(), g_plain.numpy(), rtol=1e-6)


def test_backward_inputs_non_leaf_retains_its_grad_as_torch():
    for lib in (mc, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        (y**2).sum().backward(inputs=[y], retain_graph=True)
        (y**2).sum().backward()
        assert y.retains_grad
        np.testing.assert_allclose(y.grad.numpy(), [8.0, 16.0])


def test_hook_changing_the_dtype_is_refused_as_torch():
    for lib in (mc, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: g.float())
        with pytest.raises(RuntimeError, match="changed the type of value"):
            y.sum().backward()


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_plain_backward_adds_in_place_to_a_grad_with_a_graph_as_torch():
    out = []
    for lib in (mc, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (x**3).sum().backward(create_graph=True)
        g0 = x.grad
        (x * 1).sum().backward()
        out.append((x.grad is g0, x.grad.requires_grad, g0.detach().numpy().tolist()))
    assert out[0] == out[1] == (True, True, [4.0, 13.0])


def test_detach_in_place_refuses_views_like_torch():
    for lib in (mc, torch):
        x = lib.ones(3, requires_grad=True)
        for view in ((x * 2)[:2], lib.ones(3)[1:], (x * 2).reshape(3, 1)):
            with pytest.raises(RuntimeError, match="Can't detach views in-place"):
                view.detach_()
        y = x * 2
        assert y.detach_() is y and not y.requires_grad and y.grad_fn is None


class _OnlySecondDerivable(mc.autograd.Function):
    """y = a * b whose derivative for ``a`` is "not implemented": asked for it, backward raises."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        if self.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'a' is not implemented")
        return None, gy * self.a

    def backward_graph(self, gy, a, b):
        if self.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'a' is not implemented")
        return None, gy * a


def test_a_node_is_asked_only_for_the_gradients_that_lead_to_the_inputs():
    """torch's engine asks each node only for the gradients that reach a requested tensor:
    grad(y, b) works though a also requires grad and y's derivative for a is not implemented.
    (First-order passes: with create_graph=True every input that requires grad is asked for, so
    that the recorded formulas never treat one of them as a constant.)"""
    a, b = mc.tensor([2.0, 3.0], requires_grad=True), mc.tensor([5.0, 7.0], requires_grad=True)
    y = (_OnlySecondDerivable.apply(a, b) * 2).sum()
    (gb,) = mc.autograd.grad(y, b, retain_graph=True)
    np.testing.assert_allclose(gb.numpy(), [4.0, 6.0])
    y.backward(inputs=[b], retain_graph=True)
    np.testing.assert_allclose(b.grad.numpy(), [4.0, 6.0])
    assert a.grad is None
    with pytest.raises(NotImplementedError, match="not implemented"):
        y.backward()
    ta, tx = torch.tensor([2.0, 3.0], requires_grad=True), torch.tensor([1.0, 4.0], requires_grad=True)
    ma, mx = mc.tensor([2.0, 3.0], requires_grad=True), mc.tensor([1.0, 4.0], requires_grad=True)
    (theirs,) = torch.autograd.grad(torch.special.gammainc(ta, tx).sum(), tx)
    (ours,) = mc.autograd.grad(mc.special.gammainc(ma, mx).sum(), mx)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)


def _walk(fn, depth: int = 0) -> list:
    """A graph as nested (name, children) from grad_fn through next_functions."""
    if fn is None:
        return [None]
    return [fn.name(), [_walk(f, depth + 1) for f, _ in fn.next_functions]]


def test_grad_fn_names_and_next_functions_as_torch() -> None:
    """The Blitz's ``loss.grad_fn.next_functions[0][0]`` walk: the same nodes, names and edges
    (AccumulateGrad at leaves that require grad, None at constants) as torch's graph."""
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=3)
    graphs = []
    for lib, F in ((mc, mc.nn.functional), (torch, torch.nn.functional)):
        tw, tb = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = F.relu(lib.tensor(x) @ tw.t() + tb[:2])
        loss = ((out * out).sum() + tw.exp().mean()).sqrt()
        graphs.append(_walk(loss.grad_fn))
        leaf = loss.grad_fn.next_functions[0][0].next_functions[1][0].next_functions[0][0].next_functions[0][0]
        assert leaf.variable is tw and repr(leaf).startswith("<AccumulateGrad object at 0x")
        assert repr(loss.grad_fn).startswith("<SqrtBackward0 object at 0x")
    assert graphs[0] == graphs[1]


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: x.max(),
        lambda lib, x: x.min(),
        lambda lib, x: x.amax(1),
        lambda lib, x: x.amin(()),
        lambda lib, x: lib.max(x, 1, True)[0],
        lambda lib, x: lib.min(x, 0)[0],
        lambda lib, x: x.sum(),
        lambda lib, x: x.sum(1),
        lambda lib, x: x.mean(),
    ],
)
def test_reduction_node_names_as_torch(call) -> None:
    names = []
    for lib in (mc, torch):
        x = lib.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        out = call(lib, x)
        names.append(out.grad_fn.name())
    assert names[0] == names[1]


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.zeros(0).max(),
        lambda lib: lib.zeros(0, 3).amin(),
        lambda lib: lib.zeros(0).amax(0),
        lambda lib: lib.zeros(2, 0).max(1),
        lambda lib: lib.zeros(2, 0).min(-1),
        lambda lib: lib.zeros(0).argmax(),
        lambda lib: lib.zeros(2, 0).argmin(1),
        lambda lib: lib.zeros(0, 3).amax((0, 1)),
    ],
)
def test_empty_max_min_raise_as_torch(call) -> None:
    """max/min/argmax have no identity: an empty reduction raises torch's error type and words."""
    with pytest.raises(Exception) as ref:
        call(torch)
    with pytest.raises(type(ref.value)) as err:
        call(mc)
    assert str(err.value).split(" to ")[0] == str(ref.value).split(" to ")[0]


def _f64(lib, data, grad=True):
    return lib.tensor(data, dtype=lib.float64, requires_grad=grad)


def _hook_returns_a_number(lib):
    x = _f64(lib, [1.0, 2.0])
    x.register_hook(lambda g: 5.0)
    (x * 2).sum().backward()


def _unused_input(lib):
    x, z = _f64(lib, [1.0, 2.0]), _f64(lib, [1.0])
    return lib.autograd.grad((x * 2).sum(), [x, z])


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: (_f64(lib, [1.0, 2.0]) * 2).backward(lib.ones(3, dtype=lib.float64)),
        lambda lib: lib.autograd.grad(_f64(lib, [1.0, 2.0]) * 2, [], lib.ones(2, dtype=lib.float64)),
        lambda lib: lib.autograd.grad(_f64(lib, [1.0, 2.0]).sum(), [3.0]),
        lambda lib: setattr(_f64(lib, [1.0, 2.0]), "grad", lib.zeros(2, dtype=lib.float32)),
        lambda lib: setattr(_f64(lib, [1.0, 2.0]), "grad", lib.zeros(3, dtype=lib.float64)),
        lambda lib: setattr(_f64(lib, [1.0, 2.0]), "grad", [1.0, 2.0]),
        _unused_input,
        _hook_returns_a_number,
    ],
)
def test_backward_and_grad_argument_errors_as_torch(call) -> None:
    """A seed of the wrong shape, no inputs, a non-tensor input, a hand-set .grad of another
    dtype, shape or type, a hook returning a number: torch's exception types (its words for the
    shape mismatch)."""
    with pytest.raises(Exception) as ref:
        call(torch)
    with pytest.raises(type(ref.value)) as err:
        call(mc)
    if "Mismatch in shape" in str(ref.value):
        assert str(err.value).replace("torch.Size([", "(").replace("])", ",)") == str(ref.value).replace(
            "torch.Size([", "("
        ).replace("])", ",)")


def test_hand_set_grad_of_the_right_kind_accumulates_as_torch() -> None:
    grads = []
    for lib in (mc, torch):
        x = _f64(lib, [1.0, 2.0])
        x.grad = lib.ones(2, dtype=lib.float64)
        (x * x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(*grads)


@pytest.mark.parametrize("materialize", [False, True])
@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_is_grads_batched_as_torch(materialize, create_graph) -> None:
    """is_grads_batched: every grad_output's first dim is a batch of seeds, the gradients come
    stacked; an unused input gives None (or torch's unbatched zeros with materialize_grads)."""
    go = np.random.default_rng(1).standard_normal((3, 2))
    res = []
    for lib in (mc, torch):
        x, w, z = _f64(lib, [1.0, 2.0]), _f64(lib, [[1.0, 2.0], [3.0, 4.0]]), _f64(lib, [1.0])
        seeds = lib.tensor(go, dtype=lib.float64)
        gs = lib.autograd.grad(
            [w @ x, x**3], [x, w, z], [seeds, seeds * 2], create_graph=create_graph, allow_unused=True,
            is_grads_batched=True, materialize_grads=materialize,
        )  # fmt: skip
        second = lib.autograd.grad(gs[0].sum(), x)[0].detach().numpy() if create_graph else None
        res.append(([None if g is None else g.detach().numpy() for g in gs], second))
    for a, b in zip(res[0][0], res[1][0]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12)
    if create_graph:
        np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


@pytest.mark.parametrize(
    "go", [lambda lib: lib.ones(2, dtype=lib.float64), lambda lib: lib.ones(3, 3, dtype=lib.float64)]
)
def test_grad_is_grads_batched_refuses_seeds_without_a_batch_as_torch(go) -> None:
    for lib in (torch, mc):
        x = _f64(lib, [1.0, 2.0])
        with pytest.raises(RuntimeError, match="is_grads_batched=True"):
            lib.autograd.grad(x * x, x, go(lib), is_grads_batched=True)


@pytest.mark.parametrize("mode", ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode"])
def test_grad_mode_decorated_generators_switch_at_each_resumption_as_torch(mode) -> None:
    """A decorated generator runs its body in the mode, and the caller's mode holds between
    its yields (torch wraps generator functions so)."""
    seen = []
    for lib, outside in ((torch, True), (torch, False), (mc, True), (mc, False)):
        deco = getattr(lib, mode)(mode == "enable_grad") if mode == "set_grad_enabled" else getattr(lib, mode)()

        @deco
        def gen(lib=lib):
            yield lib.is_grad_enabled()
            yield lib.is_grad_enabled()
            return "done"

        with lib.set_grad_enabled(outside):
            it = gen()
            got = [next(it), lib.is_grad_enabled(), next(it)]
            with pytest.raises(StopIteration) as stop:
                next(it)
            seen.append((got, stop.value.value, lib.is_grad_enabled()))
    assert seen[2:] == seen[:2]


def test_inference_mode_is_seen_and_decorates_bare_as_torch() -> None:
    seen = []
    for lib in (torch, mc):

        @lib.inference_mode
        def f(x, lib=lib):
            return (x * 2).requires_grad, lib.is_inference_mode_enabled(), lib.is_grad_enabled()

        x = _f64(lib, [1.0])
        with lib.inference_mode():
            inside = lib.is_inference_mode_enabled()
            with lib.inference_mode(False):
                off = lib.is_inference_mode_enabled(), lib.is_grad_enabled()
        seen.append((f(x), inside, off, lib.is_inference_mode_enabled()))
    assert seen[0] == seen[1]


@pytest.mark.parametrize("mode", [1, None, np.True_])
def test_set_grad_enabled_takes_only_a_bool_as_torch(mode) -> None:
    for lib in (torch, mc):
        with pytest.raises(TypeError, match="must be bool"):
            lib.set_grad_enabled(mode)
        assert lib.is_grad_enabled()


def test_reading_grad_of_a_non_leaf_warns_as_torch() -> None:
    """A non-leaf's .grad is None and reading it warns, unless it retains its gradient."""
    seen = []
    for lib in (torch, mc):
        x = _f64(lib, [1.0, 2.0])
        h, k = x * 2, x * 3
        k.retain_grad()
        (h * k).sum().backward()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grads = h.grad, k.grad.numpy().tolist(), x.grad.numpy().tolist()
        seen.append((grads, [(w.category, "not a leaf" in str(w.message)) for w in caught]))
    assert seen[0] == seen[1]


_SECOND_BACKWARD_GRAPHS = {  # torch frees only saved tensors: ops that saved none run backward again
    "add": lambda lib, x, y: (x + y).sum(),
    "sub_neg": lambda lib, x, y: (-(x - y)).sum(),
    "add_scalar": lambda lib, x, y: (x + 1).sum(),
    "mul_scalar": lambda lib, x, y: (x * 2).sum(),
    "expand_slice": lambda lib, x, y: x[:, :1].expand(2, 5).sum() + x[1:, ::2].sum(),
    "views": lambda lib, x, y: x.reshape(6).view(3, 2).t().permute(1, 0).unsqueeze(0).flatten().mean(),
    "cat_stack": lambda lib, x, y: lib.cat([x, y]).sum() + lib.stack([x, y]).sum(1).sum(),
    "int_index_clone_cast": lambda lib, x, y: x[1].clone().double().sum(),
    "array_index": lambda lib, x, y: x[[0, 1, 1]].sum(),
    "mul": lambda lib, x, y: (x * y).sum(),
    "exp": lambda lib, x, y: x.exp().sum(),
    "matmul": lambda lib, x, y: (x @ y.t()).sum(),
    "linear_after_saved": lambda lib, x, y: ((x + y) * 3).sum(),
}


@pytest.mark.parametrize("name", sorted(_SECOND_BACKWARD_GRAPHS))
def test_second_backward_raises_only_where_saved_tensors_were_freed_as_torch(name) -> None:
    """A second backward without retain_graph: fine (grads accumulate) through ops that saved no
    tensor, else torch's RuntimeError; the same for autograd.grad twice."""
    graph, seen = _SECOND_BACKWARD_GRAPHS[name], []
    for lib in (torch, mc):
        x, y = (lib.tensor(np.arange(1.0, 7.0).reshape(2, 3) * k, requires_grad=True) for k in (1, 2))
        out = graph(lib, x, y)
        out.backward()
        try:
            out.backward()
            second = "ok"
        except RuntimeError as exc:
            second = str(exc)
        out = graph(lib, x, y)
        try:
            twice = [lib.autograd.grad(out, [x, y], allow_unused=True) for _ in range(2)][1]
            twice = [None if g is None else g.detach().numpy().tolist() for g in twice]
        except RuntimeError as exc:
            twice = str(exc)
        seen.append((second, x.grad.numpy().tolist(), y.grad is None, twice))
    assert seen[0] == seen[1]


def test_second_backward_frees_values_and_keeps_hooks_and_retained_grads() -> None:
    """A node kept for a second backward holds none of its inputs' values; the tensors' hooks
    and retain_grad still act on the second pass, as torch's."""
    import gc  # noqa: PLC0415
    import weakref  # noqa: PLC0415

    x = mc.randn(50, 50, requires_grad=True)
    h, d = x.exp(), mc.randn(50, 50)
    alive = weakref.ref(h.array), weakref.ref(d.array)
    out = (h + d).reshape(-1)[::2].sum()
    out.backward()
    del h, d
    gc.collect()
    assert [r() for r in alive] == [None, None]
    seen = []
    for lib in (torch, mc):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = x + 0.5
        b.retain_grad()
        calls = []
        b.register_hook(lambda g, calls=calls: calls.append(g.tolist()))
        c = b.reshape(3, 1).expand(3, 2).sum()
        for _ in range(3):
            c.backward()
        seen.append((x.grad.tolist(), b.grad.tolist(), calls, lib.autograd.grad(c, [b])[0].tolist()))
    assert seen[0] == seen[1]


def _inference_scenarios(lib):
    """What torch allows an inference tensor (made inside inference_mode) and what it refuses."""

    def outcome(f):
        try:
            out = f()
        except RuntimeError as exc:
            return str(exc)
        return out.is_inference() if isinstance(out, lib.Tensor) else out

    with lib.inference_mode():
        x, y = lib.ones(2), lib.tensor([1.0, 2.0]) * 2
        view = x[0:1]
        inside = [outcome(lambda: x.add_(1)), outcome(lambda: x.requires_grad_(False))]
    with lib.inference_mode(False):
        made_off = lib.ones(1).is_inference()
    with lib.no_grad():
        made_no_grad = lib.ones(1).is_inference()
    w = lib.ones(2, requires_grad=True)
    flags = [t.is_inference() for t in (x, y, view, x[0], x + 1, x.clone(), w)] + [lib.is_inference(x)]
    refused = [
        outcome(lambda: x.requires_grad_()),
        outcome(lambda: x * w),  # saves x for w's gradient
        outcome(lambda: x @ w),
        outcome(lambda: x + w),  # saves nothing: allowed
        outcome(lambda: lib.cat([x, w])),
        outcome(lambda: x.clone() * w),
    ]
    writes = [outcome(f) for f in (lambda: x.add_(1), lambda: x.__setitem__(0, 2.0), lambda: x.zero_())]
    writes += [outcome(lambda: x.exp_()), outcome(lambda: x.copy_(lib.zeros(2)))]
    return inside, made_off, made_no_grad, flags, refused, writes, x


def test_inference_tensors_as_torch() -> None:
    """is_inference, and the RuntimeErrors (torch's words) for requires_grad_, saving for
    backward and in-place writes outside inference mode; inference_mode(False) and no_grad make
    normal tensors. A refused write leaves the tensor as it was (torch's zero_ and exp_ write
    before they raise; minicnn checks first)."""
    ours, theirs = _inference_scenarios(mc), _inference_scenarios(torch)
    assert ours[:-1] == theirs[:-1]
    assert ours[-1].tolist() == [2.0, 2.0]


# the writers that write a tensor's array directly (not through x[...] = v or x += v)
_DIRECT_WRITERS = {
    "uniform_": lambda lib, t: t.uniform_(),
    "normal_": lambda lib, t: t.normal_(),
    "bernoulli_": lambda lib, t: t.bernoulli_(0.5),
    "exponential_": lambda lib, t: t.exponential_(),
    "random_": lambda lib, t: t.random_(0, 5),
    "cauchy_": lambda lib, t: t.cauchy_(),
    "init.uniform_": lambda lib, t: lib.nn.init.uniform_(t),
    "init.kaiming_normal_": lambda lib, t: lib.nn.init.kaiming_normal_(t),
    "init.constant_": lambda lib, t: lib.nn.init.constant_(t, 2.0),
    "init.zeros_": lambda lib, t: lib.nn.init.zeros_(t),
    "init.eye_": lambda lib, t: lib.nn.init.eye_(t),
    "init.dirac_": lambda lib, t: lib.nn.init.dirac_(t.unsqueeze(-1)),
    "unsqueeze_": lambda lib, t: t.unsqueeze_(0),
    "t_": lambda lib, t: t.t_(),
    "resize_": lambda lib, t: t.resize_(2),
    "dropout(inplace)": lambda lib, t: lib.nn.functional.dropout(t, 0.5, True, True),
}


@pytest.mark.parametrize("name", sorted(_DIRECT_WRITERS))
def test_direct_writers_refuse_inference_tensors_as_torch(name: str) -> None:
    """nn.init, the random fills, in-place dropout and in-place shape changes refuse an inference
    tensor outside inference mode with torch's RuntimeError (and leave it as it was), and write
    it inside inference mode, as torch's."""
    for lib in (torch, mc):
        with lib.inference_mode():
            t = lib.ones(3, 3)
        with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
            _DIRECT_WRITERS[name](lib, t)
        if lib is mc:
            assert t.shape == (3, 3) and t.tolist() == [[1.0] * 3] * 3 and t._version == 0
        with lib.inference_mode():
            _DIRECT_WRITERS[name](lib, t)
    _DIRECT_WRITERS[name](mc, mc.ones(3, 3))  # a normal tensor is written as before


def _partly_freed(lib, case: str):
    """A graph whose first part an earlier backward freed (exp saves its result, mul its inputs),
    then a pass with inputs through it: torch keeps a freed node's edges and fails only where
    that node would run."""
    x = lib.tensor([0.5, 1.5], requires_grad=True)
    w = lib.tensor([3.0, 4.0], requires_grad=True)
    k = lib.tensor([1.0, -2.0], requires_grad=True)
    h, q = x.exp(), x * w + 1
    h.sum().backward()
    q.sum().backward()
    hw = (h * w).sum()
    h.retain_grad()
    runs = {
        "exp_other_input": lambda: hw.backward(inputs=[w]),  # the freed exp is not on the way to w
        "exp_to_leaf": lambda: hw.backward(inputs=[x]),
        "exp_input_own_op": lambda: hw.backward(inputs=[h]),  # backward(inputs=) runs h's own op
        "grad_stops_at_freed": lambda: lib.autograd.grad(hw, [w, h]),
        "grad_through_freed": lambda: lib.autograd.grad(hw, [w, x]),
        "mul_behind_add": lambda: (q * k).sum().backward(inputs=[k]),
        "mul_behind_add_to_w": lambda: (q * 2).sum().backward(inputs=[w]),
        "linear_again": lambda: (q * k).sum().backward(inputs=[k, q]),
    }
    try:
        out = runs[case]()
    except RuntimeError as exc:
        return str(exc)
    if out is not None:
        return [g.tolist() for g in out]
    return [None if t.grad is None else t.grad.tolist() for t in (x, w, k, h)]


@pytest.mark.parametrize(
    "case",
    ["exp_other_input", "exp_to_leaf", "exp_input_own_op", "grad_stops_at_freed", "grad_through_freed"]
    + ["mul_behind_add", "mul_behind_add_to_w", "linear_again"],
)
def test_a_pass_with_inputs_walks_past_freed_nodes_as_torch(case) -> None:
    assert _partly_freed(mc, case) == _partly_freed(torch, case)


def test_a_tensor_reached_through_a_released_node_and_a_live_one_is_one_vertex() -> None:
    """grad() stops at p and frees only the sum behind it (p's mul not run); a later backward
    reaching p both through that sum and a new op runs p's mul once, with the summed gradient."""
    seen = []
    for lib in (torch, mc):
        x, w = lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([3.0, 4.0], requires_grad=True)
        p = x * w
        q = p.sum()
        lib.autograd.grad(q, p)
        (q + (p * 3).sum()).backward()
        seen.append((x.grad.tolist(), w.grad.tolist(), [f is None for f, _ in q.grad_fn.next_functions]))
    assert seen[0] == seen[1]


def test_a_freed_node_keeps_its_edges_and_no_values_as_torch() -> None:
    import gc  # noqa: PLC0415
    import weakref  # noqa: PLC0415

    names = []
    for lib in (torch, mc):
        x, w = lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([3.0, 4.0], requires_grad=True)
        p = x * w
        y = (p.exp() + 1).sum()
        y.backward()
        fn, chain = y.grad_fn, []
        while fn is not None and fn.next_functions:
            chain.append(type(fn).__name__ if lib is torch else fn.name())
            fn = fn.next_functions[0][0]
        names.append(chain)
        if lib is mc:
            alive = weakref.ref(p.array)
            del p
            gc.collect()
            assert alive() is None
    assert names[0] == names[1]


def _raises(f, *args) -> str | None:
    """The type of the exception f(*args) raises, or None."""
    try:
        f(*args)
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__
    return None


def test_views_taken_under_no_grad_like_torch() -> None:
    seen = []
    for lib in (torch, mc):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        with lib.no_grad():
            v = x[1:]
        facts = [v.requires_grad, v.is_leaf, v.grad_fn is None, v._base is x, v._is_view()]
        y = (v * 2).sum()  # in the graph, but no gradient reaches v or x
        y.backward()
        facts += [y.requires_grad, v.grad is None, x.grad is None, [f is None for f, _ in y.grad_fn.next_functions]]
        w = v.view(3)  # a view of it in grad mode has a grad_fn and refuses the write too
        facts += [w.requires_grad, w.grad_fn is None, _raises(w.mul_, 2), _raises(v.mul_, 2)]
        with lib.no_grad():
            v.mul_(2)  # inside no_grad the write is fine
        facts += [x.tolist(), v._version]
        p = lib.tensor([1.0, 2.0, 3.0])
        with lib.no_grad():
            q = p[1:]
        q.add_(1.0)  # not recorded: fine; with a source that requires grad it would be: refused, as torch
        s = lib.tensor(1.0, requires_grad=True)
        facts += [q.requires_grad, _raises(q.add_, s), p.tolist()]
        with lib.inference_mode():
            u = x[1:]  # a view of a normal tensor: a normal tensor, as under no_grad
        facts += [u.requires_grad, u.is_inference(), _raises(u.add_, 1.0)]
        seen.append(facts)
    assert seen[0] == seen[1]
    assert seen[1][:5] == [True, True, True, True, True]


def test_a_view_taken_under_no_grad_is_not_captured_by_grad_nor_shown_to_its_hooks() -> None:
    """torch gives such a view no grad accumulator: grad() with it as an input finds it unused,
    and a hook registered on it never runs (the gradient is lost, not passed to the hook)."""
    seen = []
    for lib in (torch, mc):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with lib.no_grad():
            v = x[1:]
        calls = []
        v.register_hook(lambda g, calls=calls: calls.append(g))
        u = v * 2
        gu, gv = lib.autograd.grad((u * u).sum(), [u, v], allow_unused=True)
        refused = _raises(lib.autograd.grad, (v * 3).sum(), v)
        seen.append((gu.tolist(), gv, refused, len(calls), x.grad))
    assert seen[0] == seen[1]
    assert seen[0][1:] == (None, "RuntimeError", 0, None)


@pytest.mark.parametrize(
    ("take", "alone", "torch_refuses"),
    [
        (lambda x: x.split(2)[0], lambda x: x.narrow(0, 0, 2), True),
        (lambda x: x.chunk(1)[0], lambda x: x.narrow(0, 0, 4), True),
        (lambda x: x.unbind()[1], lambda x: x.select(0, 1), True),
        (lambda x: x.split(2)[1][1:], lambda x: x.narrow(0, 2, 2)[1:], True),
        (lambda x: x.unbind()[0].view(1), lambda x: x.select(0, 0).view(1), True),
        (lambda x: x.tensor_split(2)[0], lambda x: x.narrow(0, 0, 2), False),  # plain slices in torch
        (lambda x: x.hsplit(2)[1], lambda x: x.narrow(0, 2, 2), False),
    ],
)
def test_in_place_writes_into_the_outputs_of_split_and_unbind(take, alone, torch_refuses) -> None:
    """torch refuses an in-place write that autograd records into an output of a function that
    returns several views (split, chunk, unbind); minicnn records it as a write through the same
    view taken alone (narrow, select), and must give what torch gives for that view."""

    def run(lib, take):
        w = lib.tensor([1.0, 2.0, 3.0, 4.0])
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        y = x * 2
        take(y).mul_(2)  # a recorded write into a view of a non-leaf
        (y * w).sum().backward()
        p, s = lib.tensor([1.0, 2.0, 3.0, 4.0]), lib.tensor(5.0, requires_grad=True)
        take(p).copy_(s)  # a source that requires grad puts the plain base into the graph
        (p * w).sum().backward()
        return y.tolist(), x.grad.tolist(), p.tolist(), s.grad.item()

    if torch_refuses:
        with pytest.raises(RuntimeError, match="returns multiple views"):
            run(torch, take)
    assert run(mc, take) == run(torch, alone)
    plain = [lib.tensor([1.0, 2.0, 3.0, 4.0]) for lib in (torch, mc)]
    for q in plain:
        take(q).mul_(2)  # no graph to record: written, in torch too
    assert plain[0].tolist() == plain[1].tolist() != [1.0, 2.0, 3.0, 4.0]


def test_a_view_that_a_recorded_write_put_in_the_graph_is_refused_not_cut_from_it() -> None:
    # torch regenerates v's history (v * 2 requires grad and reaches s); minicnn used to compute
    # v * 2 as a constant, silently losing s's gradient; now it refuses, as for a view of a
    # tensor that required grad already
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    v = x.view(2, 2)
    s = torch.tensor(5.0, requires_grad=True)
    x[3] = s
    assert (v * 2).requires_grad
    x = mc.tensor([1.0, 2.0, 3.0, 4.0])
    v, d = x.view(2, 2), x.detach()[1:]
    s = mc.tensor(5.0, requires_grad=True)
    x[3] = s
    with pytest.raises(RuntimeError, match="take the view again after the write"):
        v * 2
    assert not (d * 2).requires_grad  # a view of a detached alias is no view of x: as torch, not in the graph
    (x.view(2, 2)[1, 1] * 2).backward()
    assert s.grad.item() == 2.0


@pytest.mark.parametrize("take", [lambda b: b.as_strided((2,), (5,), 0), lambda b: b.unfold(1, 2, 2)])
def test_a_base_written_through_an_as_strided_or_unfold_view_is_refused_not_cut_from_the_graph(take) -> None:
    # torch records the write on the base (s.grad 9 for as_strided: 2 * 1 from v * 2, 0 + 5 from
    # b * w); minicnn cannot rebuild the base's history there, and used to leave the base out of
    # the graph (s.grad 4, silently); now its use is refused
    w = np.arange(16.0).reshape(4, 4)
    grads = []
    for lib in (torch, mc):
        b = lib.ones(4, 4, dtype=lib.float64)
        s = lib.tensor(3.0, dtype=lib.float64, requires_grad=True)
        v = take(b)
        v.mul_(s)
        if lib is torch:
            assert (b * lib.tensor(w)).requires_grad
        else:
            with pytest.raises(RuntimeError, match="take the view again after the write"):
                b * lib.tensor(w)
        (v * 2).sum().backward()  # the view itself is in the graph
        grads.append(s.grad.item())
    assert grads[0] == grads[1]


@pytest.mark.parametrize("dim", [0, 1])
def test_a_leafs_first_gradient_cut_from_a_larger_one_is_contiguous_as_torch(dim):
    # cat's backward hands out views of gy: along dim 1 a strided one, copied so that .grad is contiguous
    grads = []
    for lib in (mc, torch):
        w = lib.ones(2, 3, requires_grad=True)
        (lib.cat([w, lib.zeros(2, 3)], dim) * 2).sum().backward()
        assert w.grad.is_contiguous()
        grads.append(w.grad.view(-1).numpy())
    np.testing.assert_array_equal(*grads)


# -- found by the differential fuzzer (tests/test_fuzz_autograd.py) ----------------------------------------


def test_detach_in_place_keeps_the_history_of_graphs_recorded_before_as_torch() -> None:
    # torch's nodes keep their edges: a view or an op taken from y before y.detach_() still reaches x
    seen = {}
    for lib in (torch, mc):
        x = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = lib.stack([x, x * 2])
        y.retain_grad()
        v, e = y.view(-1), y.exp()
        assert y.detach_() is y and y.is_leaf and not y.requires_grad and y.grad_fn is None and y.retains_grad
        (v.sum() + e.sum()).backward()
        y.requires_grad_()  # on the leaf detach_ left
        seen[lib] = x.grad.numpy().copy(), y.requires_grad, y.is_leaf, v.requires_grad
    (theirs, *flags), (ours, *ours_flags) = seen[torch], seen[mc]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours_flags == flags


def test_leaf_that_detach_made_of_a_non_leaf_takes_grad_requires_grad_and_data_writes_as_torch() -> None:
    # the alias the user holds is the leaf: .grad = None (zero_grad), requires_grad = True and .data = reach it,
    # and the retained gradient its old node computes lands in its .grad
    seen = {}
    for lib in (torch, mc):
        a = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = a * 2
        y.retain_grad()
        z = y * 3
        y.detach_()
        z.sum().backward()
        retained = y.grad.numpy().copy()
        w = a * 2
        w.detach_()
        w.requires_grad = True
        opt = lib.optim.SGD([w], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        w.data = lib.zeros(2, dtype=lib.float64)
        w.data.add_(1.0)
        seen[lib] = retained, w.detach().numpy().copy(), w.grad.numpy().copy(), w.requires_grad, w.is_leaf
    for ours, theirs in zip(seen[mc], seen[torch]):
        np.testing.assert_array_equal(ours, theirs)


def test_in_place_on_a_view_of_a_leaf_that_stopped_requiring_grad_raises_as_torch() -> None:
    # torch's test is the view's requires_grad and its base being a leaf
    for lib in (torch, mc):
        x = lib.ones(3, 4, dtype=lib.float64, requires_grad=True)
        v = x.unsqueeze(0)
        x.requires_grad_(False)
        with pytest.raises(RuntimeError, match="view of a leaf"):
            v.mul_(2.0)


def test_retains_grad_of_a_leaf_and_of_a_tensor_an_in_place_op_put_in_the_graph_as_torch() -> None:
    seen = {}
    for lib in (torch, mc):
        a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        a.retain_grad()  # a no-op on a leaf
        x = lib.zeros(4, dtype=lib.float64)
        x.index_add_(0, lib.tensor([0, 2]), a)  # x is a leaf no more
        x.retain_grad()
        flags = a.retains_grad, x.retains_grad, x.is_leaf
        (x * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
        seen[lib] = flags, x.grad.numpy().copy(), a.grad.numpy().copy()
    assert seen[mc][0] == seen[torch][0]
    for ours, theirs in zip(seen[mc][1:], seen[torch][1:]):
        np.testing.assert_array_equal(ours, theirs)


def test_create_graph_refuses_only_a_written_input_its_formula_reads_as_torch() -> None:
    # b * c (c constant) keeps c alone, max(b, dim) its indices alone: a later write to b does not matter;
    # y * y keeps y, so a write to y is refused
    seen = {}
    for lib in (torch, mc):
        a = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        b = a * 1.0
        m, top = b * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64), lib.max(b, 0)[0]
        mm = b @ lib.tensor([[1.0], [2.0], [3.0]], dtype=lib.float64)
        with lib.no_grad():
            b.mul_(3.0)
        (g,) = lib.autograd.grad(m.sum() + top + mm.sum(), a, create_graph=True)
        seen[lib] = g.detach().numpy().copy()
        y = a * 1.0
        z = y * y
        with lib.no_grad():
            y.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            lib.autograd.grad(z.sum(), a, create_graph=True)
    np.testing.assert_allclose(seen[mc], seen[torch], rtol=1e-12)
