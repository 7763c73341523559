"""Reductions, shape ops, indexing, cat/stack/pad against torch, plus float64 gradchecks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
import minicnn.nn.functional as F

SETTINGS = settings(max_examples=30, deadline=None)
dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def shape_and_axis(draw, min_dims=1):
    shape = draw(array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4))
    nd = len(shape)
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-nd, nd - 1),
            st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple),
        )
    )
    return shape, axis


def _torch_dim(axis, nd):
    return tuple(range(nd)) if axis is None else axis


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("op", ["sum", "mean"])
@SETTINGS
@given(sa=shape_and_axis(), keep=st.booleans(), dtype=dtypes, seed=st.integers(0, 999))
def test_sum_mean(device, op, sa, keep, dtype, seed):
    shape, axis = sa
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(
        lambda t: getattr(t, op)(axis=axis, keepdims=keep),
        lambda t: getattr(t, op)(dim=_torch_dim(axis, len(shape)), keepdim=keep),
        [x],
        dtype=dtype,
        device=device,
    )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("op", ["max", "min"])
@SETTINGS
@given(sa=shape_and_axis(), keep=st.booleans(), dtype=dtypes, seed=st.integers(0, 999))
def test_max_min(device, op, sa, keep, dtype, seed):
    shape, axis = sa
    x = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape).astype(float)  # no ties

    def tfn(t):
        if axis is None:
            return getattr(t, op)() if not keep else getattr(t, "a" + op)(dim=tuple(range(t.ndim)), keepdim=True)
        return getattr(t, "a" + op)(dim=axis, keepdim=keep)

    compare_with_torch(lambda t: getattr(t, op)(axis=axis, keepdims=keep), tfn, [x], dtype=dtype, device=device)


@pytest.mark.parametrize("op", ["max", "min"])
@SETTINGS
@given(sa=shape_and_axis(), keep=st.booleans(), seed=st.integers(0, 999))
def test_max_min_with_ties_route_gradients_like_torch(op, sa, keep, seed):
    """Few distinct values, so ties are common: over one int dim the gradient goes to the first
    extremum (torch's max(dim) index), over several dims or all it is split (torch's amax/max())."""
    shape, axis = sa
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(float)

    def tfn(t):
        if isinstance(axis, int):
            return getattr(t, op)(dim=axis, keepdim=keep).values
        if axis is None:
            return getattr(t, op)() if not keep else getattr(t, "a" + op)(dim=tuple(range(t.ndim)), keepdim=True)
        return getattr(t, "a" + op)(dim=axis, keepdim=keep)

    compare_with_torch(lambda t: getattr(t, op)(axis=axis, keepdims=keep), tfn, [x], dtype=np.float64)


def test_max_full_reduction_splits_ties_like_torch():
    x = np.array([[1.0, 3.0], [3.0, 0.0]])
    compare_with_torch(lambda t: t.max(), lambda t: t.max(), [x])


@SETTINGS
@given(sa=shape_and_axis(), keep=st.booleans(), unbiased=st.booleans(), seed=st.integers(0, 999))
def test_var(sa, keep, unbiased, seed):
    shape, axis = sa
    n = int(np.prod([shape[a] for a in ((axis,) if isinstance(axis, int) else axis or range(len(shape)))]))
    assume(n > int(unbiased))
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(
        lambda t: t.var(axis=axis, keepdims=keep, unbiased=unbiased),
        lambda t: t.var(dim=_torch_dim(axis, len(shape)), keepdim=keep, unbiased=unbiased),
        [x],
    )


def test_dim_alias_and_empty_batch():
    x = np.zeros((0, 3))
    compare_with_torch(lambda t: t.sum(dim=1), lambda t: t.sum(dim=1), [x])
    compare_with_torch(lambda t: (t * 2).mean(dim=0), lambda t: (t * 2).mean(dim=0), [np.ones((2, 3))])


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), seed=st.integers(0, 999), dtype=dtypes)
def test_reshape_flatten_transpose(device, shape, seed, dtype):
    x = np.random.default_rng(seed).standard_normal(shape)
    nd = len(shape)
    perm = tuple(np.random.default_rng(seed).permutation(nd).tolist())
    compare_with_torch(lambda t: t.reshape(-1), lambda t: t.reshape(-1), [x], dtype=dtype, device=device)
    compare_with_torch(lambda t: t.permute(*perm), lambda t: t.permute(*perm), [x], dtype=dtype, device=device)
    compare_with_torch(lambda t: t.flatten(), lambda t: t.flatten(), [x], dtype=dtype, device=device)
    if nd >= 2:
        compare_with_torch(lambda t: t.transpose(0, -1), lambda t: t.transpose(0, -1), [x], dtype=dtype, device=device)
        compare_with_torch(lambda t: F.flatten(t, 1), lambda t: torch.flatten(t, 1), [x], dtype=dtype, device=device)
        compare_with_torch(
            lambda t: t.view(shape[0], -1), lambda t: t.reshape(shape[0], -1), [x], dtype=dtype, device=device
        )
        compare_with_torch(lambda t: t.T, lambda t: t.permute(*reversed(range(nd))), [x], dtype=dtype, device=device)
    compare_with_torch(lambda t: t.squeeze(), lambda t: t.squeeze(), [x], dtype=dtype, device=device)
    compare_with_torch(lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(-1), [x], dtype=dtype, device=device)
    compare_with_torch(
        lambda t: t.unsqueeze(0).squeeze(0), lambda t: t.unsqueeze(0).squeeze(0), [x], dtype=dtype, device=device
    )
    compare_with_torch(lambda t: t.expand(2, *shape), lambda t: t.expand(2, *shape), [x], dtype=dtype, device=device)


INDEXES = [
    (slice(None),),
    (0,),
    (-1,),
    (slice(1, None, 2),),
    (Ellipsis, 0),
    (None, 0),
    (slice(None), [0, 2, 0]),
    ([1, 1, 0],),
    ([[0, 1], [1, 1]],),
    (np.array([True, False, True]),),
    ([0, 2], [1, 1]),
    (slice(None, 2), 1),
    # torch applies the ints first (basic indexing), so the array dims stay in place; NumPy puts them first
    (0, slice(None), [1, 0]),
    (slice(None), [0, 2], Ellipsis, [1, 0]),  # an Ellipsis of no dims separates nothing in torch
    (1, slice(None), np.array(True)),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("index", INDEXES, ids=[str(i) for i in range(len(INDEXES))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_indexing_with_scatter_add_backward(device, index, dtype):
    x = np.random.default_rng(3).standard_normal((3, 3, 2))
    idx = index if len(index) > 1 else index[0]
    torch_idx = tuple(torch.tensor(i) if isinstance(i, (list, np.ndarray)) else i for i in index)
    torch_idx = torch_idx if len(torch_idx) > 1 else torch_idx[0]
    compare_with_torch(lambda t: t[idx], lambda t: t[torch_idx], [x], dtype=dtype, device=device)


def test_indexing_with_tensor_index():
    x = np.arange(12.0).reshape(4, 3)
    compare_with_torch(lambda t: t[mc.tensor([3, 0, 3])], lambda t: t[torch.tensor([3, 0, 3])], [x])


def test_ints_beside_array_indices_select_and_write_as_torch():
    """torch drops the ints' dims first and counts a 0-d integer tensor as an int: ``x[0, :, [1, 2]]``
    of a (2, 3, 4) tensor is (3, 2) there, (2, 3) in NumPy; the same places are written by setitem."""
    x = np.arange(24.0).reshape(2, 3, 4)
    cases = [
        lambda L: (0, slice(None), [1, 2]),
        lambda L: (L.tensor(1), slice(None), L.tensor([[3], [0]])),
        lambda L: (slice(1, None), L.tensor([2, 0]), -1),  # (adjacent: the same in NumPy)
        lambda L: (None, 1, Ellipsis, L.tensor([True, False, True, True])),
        lambda L: (0, slice(None), L.tensor(True), 2, None),
        lambda L: (0, slice(None), []),
        lambda L: (0, slice(None), True),  # a Python bool is a 0-d mask, an array index, also without arrays
        lambda L: (0, slice(None), True, L.tensor([1, 2])),
        lambda L: (0, slice(None), False),
        lambda L: (1, Ellipsis, True),
    ]
    for make in cases:
        compare_with_torch(lambda t, f=make: t[f(mc)], lambda t, f=make: t[f(torch)], [x])
        written = []
        for L in (mc, torch):
            t, w = L.tensor(x), L.tensor(x, requires_grad=True)
            y = w * 1
            shape = tuple(t[make(L)].shape)
            t[make(L)] = L.arange(float(np.prod(shape)), dtype=L.float64).reshape(shape) + 100
            y[make(L)] = L.tensor(-1.0, dtype=L.float64)
            (y * L.tensor(x)).sum().backward()
            written.append((t.tolist(), y.tolist(), w.grad.tolist()))
        assert written[0] == written[1]
    with pytest.raises(IndexError):  # the int is checked also where the array index selects nothing
        mc.tensor(x)[0, :, mc.tensor(False), 5]
    # torch refuses an index into a dim of size 0 also where another dim leaves the result empty (NumPy checks
    # no index of an empty result), unless the broadcast index itself is empty
    e = np.zeros((1, 3, 0, 2))
    for make in (lambda L: (slice(0, 0), 0, L.tensor([0, 0])), lambda L: (slice(0, 0), 0, L.tensor([0]), False)):
        outcome = []
        for L in (torch, mc):
            try:
                outcome.append(tuple(L.tensor(e)[make(L)].shape))
            except IndexError:
                outcome.append("IndexError")
        assert outcome[0] == outcome[1]


@pytest.mark.parametrize(
    "index", [np.s_[::-1], np.s_[::0], np.s_[:, ::-2], np.s_[..., ::0], np.s_[1:0:-1]], ids=lambda i: str(i)
)
def test_slice_step_not_positive_raises_like_torch(index):
    """torch has no reversing or zero-step slices: getitem and setitem raise ValueError."""
    for lib in (torch, mc):
        t = lib.zeros(3, 4, requires_grad=True)
        messages = []
        for target, write in ((t, False), (t.detach(), True), (t, True)):
            with pytest.raises(ValueError) as info:
                if write:
                    target[index] = 1.0
                else:
                    target[index]  # noqa: B018
            messages.append(str(info.value))
        if lib is torch:
            expected = messages
    assert messages == expected


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    n=st.integers(1, 3),
    seed=st.integers(0, 999),
    data=st.data(),
)
@pytest.mark.parametrize("device", devices())
def test_cat_stack(device, shape, n, seed, data):
    nd = len(shape)
    axis = data.draw(st.integers(-nd, nd - 1))
    rng = np.random.default_rng(seed)
    sizes = [data.draw(st.integers(0, 3)) for _ in range(n)]
    parts = []
    for s in sizes:
        sh = list(shape)
        sh[axis] = s
        parts.append(rng.standard_normal(sh))
    compare_with_torch(lambda *ts: mc.cat(ts, axis), lambda *ts: torch.cat(ts, axis), parts, device=device)
    same = [rng.standard_normal(shape) for _ in range(n)]
    ax = data.draw(st.integers(-nd - 1, nd))
    compare_with_torch(lambda *ts: mc.stack(ts, dim=ax), lambda *ts: torch.stack(ts, ax), same, device=device)


def test_cat_backward_gives_each_input_its_own_gradient():
    # cat's backward hands each input its slice of the output's gradient: the leaves' .grad must
    # still be independent tensors, accumulate over two backward passes, and equal torch's
    x = np.random.default_rng(0).standard_normal((2, 5))
    g = np.random.default_rng(1).standard_normal((2, 8))
    a, b = mc.tensor(x[:, :2], requires_grad=True), mc.tensor(x, requires_grad=True)
    ta, tb = torch.tensor(x[:, :2], requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = mc.cat([a, b, a[:, :1]], dim=1), torch.cat([ta, tb, ta[:, :1]], dim=1)
    for _ in range(2):
        out.backward(mc.tensor(g), retain_graph=True)
        tout.backward(torch.tensor(g), retain_graph=True)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)
    a.grad.array[...] = 0.0
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(g, np.random.default_rng(1).standard_normal((2, 8)))  # the seed was not written


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=2, max_side=4), data=st.data(), seed=st.integers(0, 99))
def test_pad(device, shape, data, seed):
    k = data.draw(st.integers(1, len(shape)))
    pads = data.draw(st.lists(st.integers(-1, 2), min_size=2 * k, max_size=2 * k))
    value = data.draw(st.sampled_from([0.0, 1.5]))
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(
        lambda t: F.pad(t, pads, value=value), lambda t: TF.pad(t, pads, value=value), [x], device=device
    )


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), data=st.data())
def test_pad_raises_like_torch_when_negative_pads_crop_too_much(shape, data):
    """torch crops by the negative pads first: more than the axis holds is an error (minicnn
    used to return a wrong shape); anything else matches torch."""
    k = data.draw(st.integers(1, len(shape)))
    pads = data.draw(st.lists(st.integers(-6, 3), min_size=2 * k, max_size=2 * k))
    x = np.random.default_rng(0).standard_normal(shape)
    try:
        expected = TF.pad(torch.tensor(x), pads)
    except RuntimeError:
        with pytest.raises(ValueError, match=r"pad: negative padding .* of dim \d+ crops more than its size \d+"):
            F.pad(mc.tensor(x), pads)
        return
    np.testing.assert_array_equal(F.pad(mc.tensor(x), pads).numpy(), expected.numpy())


def test_pad_error_names_the_dim_size_and_pads():
    with pytest.raises(ValueError, match=r"\(1, -5\) of dim 1 crops more than its size 4.*\(3, 4\).*\(1, -5\)"):
        F.pad(mc.randn(3, 4), (1, -5))
    assert F.pad(mc.randn(3, 4), (3, -4)).shape == (3, 3)  # crops all 4, then pads 3: allowed, as torch


@pytest.mark.parametrize("start,end", [(1, 0), (2, 1), (-1, 0), (2, -2), (-1, -3)])
def test_flatten_start_after_end_raises_like_torch(start, end):
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        torch.flatten(torch.ones(2, 3, 4), start, end)
    x = mc.ones(2, 3, 4)
    for fn in (lambda: F.flatten(x, start, end), lambda: x.flatten(start, end), lambda: mc.nn.Flatten(start, end)(x)):
        with pytest.raises(ValueError, match="start_dim cannot come after end_dim"):
            fn()
    assert x.flatten(0, -2).shape == tuple(torch.ones(2, 3, 4).flatten(0, -2).shape)


@pytest.mark.parametrize("shape,start,end", [((4,), 0, -1), ((3, 4), 1, -1), ((2, 3, 4), 1, 1), ((), 0, -1)])
def test_flatten_of_no_dims_is_the_input_itself_as_torch(shape, start, end):
    x, t = mc.ones(shape, requires_grad=True), torch.ones(shape, requires_grad=True)
    y, ty = x.flatten(start, end), t.flatten(start, end)
    assert (y is x, y.shape, y.grad_fn is None) == (ty is t, tuple(ty.shape), ty.grad_fn is None)
    assert (mc.flatten(x, start, end) is x) == (torch.flatten(t, start, end) is t)


def test_shape_errors():
    x = mc.randn(2, 3)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="cat"):
        mc.cat([mc.randn(2, 3), mc.randn(3, 2)], axis=0)
    with pytest.raises(IndexError):
        x.sum(axis=2)


GRADCHECK = {
    "sum": (lambda x: x.sum(axis=(0, 2), keepdims=True), (2, 3, 2)),
    "mean": (lambda x: x.mean(axis=1), (2, 3, 2)),
    "max": (lambda x: x.max(axis=1), (2, 3, 2)),
    "min": (lambda x: x.min(), (2, 3, 2)),
    "var": (lambda x: x.var(axis=0), (3, 4)),
    "reshape": (lambda x: x.reshape(3, 4) * mc.arange(12.0).reshape(3, 4).double(), (2, 6)),
    "permute": (lambda x: x.permute(2, 0, 1), (2, 3, 2)),
    "transpose": (lambda x: x.transpose(0, 1), (2, 3)),
    "flatten": (lambda x: F.flatten(x, 1), (2, 3, 2)),
    "squeeze": (lambda x: x.unsqueeze(1).squeeze(), (2, 3)),
    "expand": (lambda x: x.expand(4, 2, 3), (2, 3)),
    "getitem_basic": (lambda x: x[1:, ::2], (3, 4)),
    "getitem_advanced": (lambda x: x[[0, 0, 2], 1:], (3, 4)),
    "cat": (lambda x: mc.cat([x, x * x], axis=1), (2, 3)),
    "stack": (lambda x: mc.stack([x, x.exp()], axis=2), (2, 3)),
    "pad": (lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_float64(name):
    fn, shape = GRADCHECK[name]
    x = mc.tensor(
        np.random.default_rng(11).permutation(int(np.prod(shape))).reshape(shape) / 7.0 + 0.3, requires_grad=True
    )
    assert mc.gradcheck(fn, [x])


ZERO_D_DIM_CALLS = {
    "transpose(0, -1)": lambda m, x: m.transpose(x, 0, -1),
    "flatten(0, -1)": lambda m, x: m.flatten(x, 0, -1),
    "squeeze(-1)": lambda m, x: m.squeeze(x, -1),
    "squeeze(1)": lambda m, x: m.squeeze(x, 1),
    "unsqueeze(-1)": lambda m, x: m.unsqueeze(x, -1),
    "unsqueeze(-2)": lambda m, x: m.unsqueeze(x, -2),
    "stack(-1)": lambda m, x: m.stack([x, x], -1),
    "stack(1)": lambda m, x: m.stack([x, x], 1),
    "sum(-1)": lambda m, x: m.sum(x, -1),
    "sum((0, -1))": lambda m, x: m.sum(x, (0, -1)),
    "softmax(-1)": lambda m, x: m.softmax(x, -1),
    "softmax(1)": lambda m, x: m.softmax(x, 1),
    "prod(0)": lambda m, x: m.prod(x, 0),
    "cumsum(-1)": lambda m, x: m.cumsum(x, -1),
    "flip(0)": lambda m, x: m.flip(x, (0,)),
    "movedim(0, -1)": lambda m, x: m.movedim(x, 0, -1),
    "argmax(-1)": lambda m, x: m.argmax(x, -1),
}


@pytest.mark.parametrize("name", list(ZERO_D_DIM_CALLS))
def test_dims_of_a_0d_tensor_as_torch(name):
    """One dim rule (ops/dims.py): a 0-d tensor takes dims 0 and -1 as if it were 1-d."""
    call = ZERO_D_DIM_CALLS[name]
    try:
        expected = tuple(call(torch, torch.tensor(2.0)).shape)
    except (IndexError, RuntimeError):
        with pytest.raises((IndexError, RuntimeError)):
            call(mc, mc.tensor(2.0))
        return
    assert tuple(call(mc, mc.tensor(2.0)).shape) == expected


DIM_ARGUMENT_CALLS = {
    "permute(3, 0)": lambda m, x: x.permute(3, 0),
    "permute(-3, 0)": lambda m, x: x.permute(-3, 0),
    "permute(True, 0)": lambda m, x: x.permute(True, 0),
    "permute(1.0, 0)": lambda m, x: x.permute(1.0, 0),
    "permute(0, 0)": lambda m, x: x.permute(0, 0),
    "permute(1)": lambda m, x: x.permute(1),
    "permute([1, 0])": lambda m, x: x.permute([1, 0]),
    "flip(False)": lambda m, x: x.flip(False),
    "roll(1, False)": lambda m, x: x.roll(1, False),
    "movedim(True, 0)": lambda m, x: m.movedim(x, True, 0),
    "transpose(1.0, 0)": lambda m, x: x.transpose(1.0, 0),
    "flatten of 0-d (5)": lambda m, x: m.flatten(m.tensor(1.0), 5),
    "cat of 0-d": lambda m, x: m.cat([m.tensor(1.0), m.tensor(2.0)]),
    "sum(0-d int tensor)": lambda m, x: x.sum(m.tensor(1)),
    "sum(np.int64)": lambda m, x: x.sum(np.int64(1)),
}


@pytest.mark.parametrize("name", list(DIM_ARGUMENT_CALLS))
def test_dim_arguments_as_torch(name):
    """Out-of-range, repeated, bool and float dims raise torch's error types; anything with
    ``__index__`` is a dim (ops/dims.py)."""
    call = DIM_ARGUMENT_CALLS[name]
    try:
        expected = tuple(call(torch, torch.ones(2, 3)).shape)
    except (IndexError, RuntimeError, TypeError) as e:
        with pytest.raises(type(e)):
            call(mc, mc.ones(2, 3))
        return
    assert tuple(call(mc, mc.ones(2, 3)).shape) == expected


@pytest.mark.parametrize(
    "f",
    [
        lambda L: L.arange(6.0).reshape(-2, 3),
        lambda L: L.arange(6.0).view(7),
        lambda L: L.arange(6.0).reshape(-1, -1),
        lambda L: L.ones(1, 3).expand(-1, -1, 3),
        lambda L: L.ones(1, 3).expand(2, 1, 0),
        lambda L: L.cat([L.ones(2, 3), L.ones(2, 4)]),
        lambda L: L.stack([L.ones(2), L.ones(3)]),
        lambda L: L.ones(2, 3).gather(1, L.tensor([[0, 3]])),
        lambda L: L.ones(2, 3).__setitem__(0, L.ones(2)),
        lambda L: (L.ones(2, 3, requires_grad=True) * 1).__setitem__(0, L.ones(2)),  # a recorded write
        lambda L: L.index_put(L.ones(2, 3), (L.tensor([0, 1]),), L.ones(3, 3)),
    ],
)
def test_bad_shapes_and_indices_raise_torchs_error_types(f):
    with pytest.raises(RuntimeError) as theirs:
        f(torch)
    with pytest.raises(type(theirs.value)):
        f(mc)


def test_uint8_index_is_a_mask_like_torch():
    x = np.arange(24.0).reshape(2, 3, 4)
    mask = np.array([1, 0, 1], dtype=np.uint8)
    grads = []
    for lib in (mc, torch):
        t = lib.tensor(x, requires_grad=True)
        with pytest.warns(UserWarning, match="uint8"):
            picked = t[:, lib.tensor(mask)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns again in backward
            (picked * picked).sum().backward()
        grads.append((np.asarray(picked.detach().numpy()), np.asarray(t.grad.numpy())))
    for ours, theirs in zip(*grads):
        np.testing.assert_array_equal(ours, theirs)


def test_cat_skips_legacy_empty_1d_tensors_and_promotes_as_torch():
    for f in (
        lambda L: L.cat([L.tensor([]), L.arange(6).reshape(2, 3)]),
        lambda L: L.cat([L.arange(6).reshape(2, 3), L.tensor([])], dim=1),
        lambda L: L.cat([L.tensor([]), L.tensor([])]),
    ):
        ours, theirs = f(mc), f(torch)
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).split(".")[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_where_with_only_a_condition_is_nonzero_as_tuple():
    c = np.array([[0.0, 1.5], [2.0, 0.0]])
    ours, theirs = mc.where(mc.tensor(c)), torch.where(torch.tensor(c))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("take", [lambda t: t.expand(2, 3), lambda t: t.expand(3, 3).t()[:2]])
@pytest.mark.parametrize("op", ["cat", "stack"])
def test_cat_and_stack_of_strided_inputs_are_contiguous_as_torch(take, op):
    # found by tests/test_fuzz_autograd.py: NumPy's result kept its inputs' layout, so as_strided read elsewhere
    a = np.array([[0.5, 1.5, -2.0]])
    ours, theirs = (getattr(lib, op)([take(lib.tensor(a))] * 2, 1) for lib in (mc, torch))
    assert ours.is_contiguous() and theirs.is_contiguous() and ours.stride() == theirs.stride()
    np.testing.assert_array_equal(ours.as_strided((5,), (1,)).numpy(), theirs.as_strided((5,), (1,)).numpy())
    np.testing.assert_array_equal(ours.view(-1).numpy(), theirs.view(-1).numpy())
