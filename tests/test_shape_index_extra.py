"""torch's extra shape / indexing functions and tensor metadata (ops/shape_extra.py,
ops/index_extra.py, the h11_shape Tensor methods) against torch: forward and gradients on
drawn shapes, float64 gradcheck, second derivatives, views vs copies, in-place twins,
metadata, errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc

SETTINGS = settings(max_examples=20, deadline=None)


def _flat(pieces: Any) -> Any:
    """A tuple of tensors as one 1-d tensor (both libraries), so one comparison covers all."""
    lib = mc if isinstance(pieces[0], mc.Tensor) else torch
    return lib.cat([p.reshape(-1) for p in pieces])


def _lib(t: Any) -> Any:
    return mc if isinstance(t, mc.Tensor) else torch


def _ix(t: Any, a: np.ndarray) -> Any:
    """An integer index array as the tensor type of ``t``."""
    return mc.tensor(a, device=t.device) if isinstance(t, mc.Tensor) else torch.tensor(a)


# Each case: draw(data, rng) -> (fn(lib tensors...) usable for both libraries, arrays)
def _shape(data: Any, min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> tuple:
    n = data.draw(st.integers(min_dims, max_dims))
    return tuple(data.draw(st.integers(min_side, max_side)) for _ in range(n))


def case_tensor_split(data, rng):
    shape = _shape(data)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    if data.draw(st.booleans()):
        arg = data.draw(st.integers(1, 5))
    else:
        arg = data.draw(st.lists(st.integers(-5, 6), max_size=3))
    as_tensor = data.draw(st.booleans()) and not isinstance(arg, int)
    return (lambda x: _flat(_lib(x).tensor_split(x, _ix(x, np.array(arg, np.int64)) if as_tensor else arg, dim))), [
        rng.standard_normal(shape)
    ]


def case_hvd_split(data, rng):
    kind = data.draw(st.sampled_from(["hsplit", "vsplit", "dsplit"]))
    shape = _shape(data, min_dims=3, max_dims=3, max_side=6)
    d = {"hsplit": 1, "vsplit": 0, "dsplit": 2}[kind]
    k = data.draw(st.sampled_from([s for s in range(1, shape[d] + 1) if shape[d] % s == 0]))
    arg = k if data.draw(st.booleans()) else [1, 3]
    return (lambda x: _flat(getattr(_lib(x), kind)(x, arg))), [rng.standard_normal(shape)]


def case_split_with_sizes(data, rng):
    shape = _shape(data, max_side=5)
    dim = data.draw(st.integers(0, len(shape) - 1))
    n, cut = shape[dim], data.draw(st.integers(0, shape[dim]))
    sizes = [cut, n - cut]
    return (lambda x: _flat(_lib(x).split_with_sizes(x, sizes, dim))), [rng.standard_normal(shape)]


def case_unflatten_ravel_select(data, rng):
    shape = (*_shape(data, max_dims=2), 6)
    dim = data.draw(st.integers(0, len(shape) - 2))
    index = data.draw(st.integers(-shape[dim], shape[dim] - 1))
    sizes = data.draw(st.sampled_from([(2, 3), (-1, 2), (6,), (1, 6, 1)]))
    return (lambda x: _lib(x).cat([x.unflatten(-1, sizes).ravel(), _lib(x).select(x, dim, index).ravel()])), [
        rng.standard_normal(shape)
    ]


def case_broadcast(data, rng):
    shape = _shape(data)
    target = tuple(s if data.draw(st.booleans()) or s != 1 else 3 for s in shape)
    target = (2, *target) if data.draw(st.booleans()) else target
    return (lambda x, y: _flat(_lib(x).broadcast_tensors(_lib(x).broadcast_to(x, target), y))), [
        rng.standard_normal(shape),
        rng.standard_normal(target[-1:]),
    ]


def case_atleast_and_stacks(data, rng):
    kind = data.draw(st.sampled_from(["hstack", "vstack", "row_stack", "dstack", "column_stack"]))
    nd = data.draw(st.integers(0, 3))
    side = (2, 3, 2)[:nd]
    shapes = [side, side]
    if kind in ("hstack", "column_stack") and nd == 2:
        shapes = [(2, 1), (2, 2)]
    if kind == "column_stack" and nd > 2:
        shapes = [side, side]

    def fn(a, b):
        lib = _lib(a)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.row_stack is deprecated
            return lib.cat([getattr(lib, kind)([a, b]).reshape(-1), *[t.reshape(-1) for t in lib.atleast_3d(a, b)]])

    return fn, [rng.standard_normal(s) for s in shapes]


def case_rot_flip(data, rng):
    shape = _shape(data, min_dims=2)
    k = data.draw(st.integers(-5, 5))
    dims = data.draw(st.permutations(range(len(shape))))[:2]

    def fn(x):
        return _lib(x).cat([_lib(x).rot90(x, k, dims).reshape(-1), x.fliplr().reshape(-1), x.flipud().reshape(-1)])

    return fn, [rng.standard_normal(shape)]


def case_diag(data, rng):
    shape = _shape(data, max_dims=2)
    offset = data.draw(st.integers(-2, 2))
    nd = len(shape) + 1
    d1, d2 = data.draw(st.permutations(range(-nd, 0)))[:2]

    def fn(x):
        lib = _lib(x)
        return lib.cat([lib.diag_embed(x, offset, d1, d2).reshape(-1), lib.diagflat(x, offset).reshape(-1)])

    return fn, [rng.standard_normal(shape)]


def case_scatters(data, rng):
    shape = _shape(data, min_dims=2, max_side=4)
    offset = data.draw(st.integers(-1, 1))
    d1, d2 = data.draw(st.permutations(range(len(shape))))[:2]
    diag_len = max(min(shape[d1] + min(offset, 0), shape[d2] - max(offset, 0)), 0)
    rest = tuple(n for k, n in enumerate(shape) if k not in (d1, d2))
    dim = data.draw(st.integers(0, len(shape) - 1))
    index = data.draw(st.integers(-shape[dim], shape[dim] - 1))
    start, step = data.draw(st.integers(0, shape[dim])), data.draw(st.integers(1, 3))
    sl = len(range(start, shape[dim], step))
    sel = tuple(n for k, n in enumerate(shape) if k != dim)
    slc = tuple(sl if k == dim else n for k, n in enumerate(shape))

    def fn(x, a, b, c):
        lib = _lib(x)
        return lib.cat(
            [
                lib.diagonal_scatter(x, a, offset, d1, d2).reshape(-1),
                lib.select_scatter(x, b, dim, index).reshape(-1),
                lib.slice_scatter(x, c, dim, start, None, step).reshape(-1),
            ]
        )

    return fn, [rng.standard_normal(s) for s in (shape, (*rest, diag_len), sel, slc)]


def case_unfold(data, rng):
    shape = _shape(data, max_side=6)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = data.draw(st.integers(0, shape[dim]))
    step = data.draw(st.integers(1, 3))
    return (lambda x: x.unfold(dim, size, step) * 1.0), [rng.standard_normal(shape)]


def case_narrow_copy(data, rng):
    shape = _shape(data, max_side=5)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    start = data.draw(st.integers(0, n))  # torch's backward takes a negative start as is (wrong gradient)
    length = data.draw(st.integers(0, n - start))
    method = data.draw(st.booleans())

    def fn(x):
        y = x.narrow_copy(dim, start, length) if method else _lib(x).narrow_copy(x, dim, start, length)
        x.detach().mul_(0.0)  # a copy: the write does not reach y
        return y

    return fn, [rng.standard_normal(shape)]


def case_products(data, rng):
    kind = data.draw(st.sampled_from(["block_diag", "cartesian_prod", "combinations", "meshgrid", "vander"]))
    a, b = rng.standard_normal(data.draw(st.integers(1, 4))), rng.standard_normal((2, 3))
    r, repl = data.draw(st.integers(0, 3)), data.draw(st.booleans())
    n = data.draw(st.one_of(st.none(), st.integers(0, 4)))
    inc = data.draw(st.booleans())

    def fn(x, y):
        lib = _lib(x)
        if kind == "block_diag":
            return lib.block_diag(x, y, x[0], y)
        if kind == "cartesian_prod":
            return lib.cartesian_prod(x, y[0], y[1])
        if kind == "combinations":
            return lib.combinations(x, r, repl)
        if kind == "meshgrid":
            return _flat(lib.meshgrid(x, y[0], indexing="xy" if repl else "ij"))
        return lib.vander(x, n, inc)

    fn.torch_grad_fails = kind == "vander"  # torch's vander backward trips on its own in-place op
    fn.constant = kind == "combinations" and r == 0  # an empty result without a graph, as torch's
    return fn, [a, b]


def case_tensordot(data, rng):
    a_shape = _shape(data, min_dims=0, max_dims=3)
    k = data.draw(st.integers(0, len(a_shape)))
    b_shape = a_shape[len(a_shape) - k :] + _shape(data, min_dims=0, max_dims=2)
    form = data.draw(st.sampled_from(["int", "lists", "tensor"]))
    da, db = list(range(len(a_shape) - k, len(a_shape))), list(range(k))

    def fn(a, b):
        if form == "int":
            dims = k
        elif form == "lists":
            dims = (da, db)
        else:  # (torch's tensor form takes no empty (2, 0) tensor)
            dims = _ix(a, np.array([da, db], np.int64).reshape(2, k)) if k else 0
        return _lib(a).tensordot(a, b, dims)

    return fn, [rng.standard_normal(a_shape), rng.standard_normal(b_shape)]


def case_index_ops(data, rng):
    shape = _shape(data, max_side=4)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    k = data.draw(st.integers(0, 5))
    repeated = rng.integers(0, n, size=k)
    unique = rng.permutation(n)[: data.draw(st.integers(0, n))]
    fill_at = rng.integers(0, n, size=k)  # (torch's backward of index_fill fails for negative indices)
    src_shape = tuple(k if j == dim % len(shape) else s for j, s in enumerate(shape))
    uni_shape = tuple(len(unique) if j == dim % len(shape) else s for j, s in enumerate(shape))
    alpha = data.draw(st.sampled_from([1, -2.5]))

    def fn(x, s, u, v):
        lib = _lib(x)
        return lib.cat(
            [
                lib.index_add(x, dim, _ix(x, repeated), s, alpha=alpha).reshape(-1),
                lib.index_copy(x, dim, _ix(x, unique), u).reshape(-1),
                lib.index_fill(x, dim, _ix(x, fill_at), v).reshape(-1),
                x.index_fill(dim, _ix(x, fill_at), -1.5).reshape(-1),
            ]
        )

    return fn, [rng.standard_normal(s) for s in (shape, src_shape, uni_shape, ())]


def case_index_put(data, rng):
    shape = _shape(data, min_dims=2, max_side=4)
    acc = data.draw(st.booleans())
    k = data.draw(st.integers(0, 6))
    rows = rng.integers(-shape[0], shape[0], size=k) if acc else rng.permutation(shape[0])[: min(k, shape[0])]
    cols = rng.integers(0, shape[1], size=rows.shape)
    v_shape = data.draw(st.sampled_from([(), (1,), rows.shape + shape[2:]]))
    mask = rng.random(shape[:1]) < 0.5

    def fn(x, v, w):
        lib = _lib(x)
        parts = [lib.index_put(x, (_ix(x, rows), _ix(x, cols)), v, accumulate=acc).reshape(-1)]
        parts.append(x.index_put((_ix(x, mask),), w, acc).reshape(-1))
        return lib.cat(parts)

    return fn, [rng.standard_normal(shape), rng.standard_normal(v_shape), rng.standard_normal(())]


def case_masked(data, rng):
    shape = _shape(data, max_side=4)
    mask_shape = shape[data.draw(st.integers(0, len(shape))) :]
    mask = rng.random(mask_shape) < 0.5
    count = int(np.broadcast_to(mask, shape).sum())
    extra = data.draw(st.integers(0, 3))

    def fn(x, s):
        lib = _lib(x)
        m = _ix(x, mask)
        return lib.cat([lib.masked_select(x, m), lib.masked_scatter(x, m, s).reshape(-1)])

    return fn, [rng.standard_normal(shape), rng.standard_normal(count + extra)]


def case_take_put(data, rng):
    shape = _shape(data, min_dims=0, max_side=4)
    n = int(np.prod(shape))
    acc = data.draw(st.booleans())
    index = rng.integers(-n, n, size=_shape(data, min_dims=0, max_dims=2, min_side=0))
    put_index = rng.integers(-n, n, size=4) if acc else rng.permutation(n)[: min(n, 3)]

    def fn(x, s):
        lib = _lib(x)
        return lib.cat([lib.take(x, _ix(x, index)).reshape(-1), lib.put(x, _ix(x, put_index), s, acc).reshape(-1)])

    return fn, [rng.standard_normal(shape), rng.standard_normal(put_index.shape)]


def case_repeat_interleave(data, rng):
    shape = _shape(data, max_side=4)
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    n = int(np.prod(shape)) if dim is None else shape[dim]
    form = data.draw(st.sampled_from(["int", "tensor", "one"]))
    counts = rng.integers(0, 3, size=n) if form == "tensor" else np.array([2]) if form == "one" else 3
    size = data.draw(st.booleans())

    def fn(x):
        reps = counts if form == "int" else _ix(x, counts)
        total = int(np.sum(np.broadcast_to(counts, (n,))))
        return x.repeat_interleave(reps, dim, output_size=total if size else None)

    return fn, [rng.standard_normal(shape)]


def case_sum_to_size(data, rng):
    shape = _shape(data)
    target = tuple(s if data.draw(st.booleans()) else 1 for s in shape)[data.draw(st.integers(0, len(shape))) :]
    varargs = bool(target) and data.draw(st.booleans())
    return (lambda x: (x.sum_to_size(*target) if varargs else x.sum_to_size(target)) * 1.0), [
        rng.standard_normal(shape)
    ]


CASES: dict[str, Callable[..., Any]] = {
    name[5:]: fn for name, fn in globals().items() if name.startswith("case_")
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_forward_and_backward_like_torch(name, data, seed):
    fn, arrays = CASES[name](data, np.random.default_rng(seed))
    grad = not getattr(fn, "torch_grad_fails", False)  # (then gradcheck covers the gradient)
    compare_with_torch(fn, fn, arrays, grad_inputs=[grad] * len(arrays))


# second derivatives: the new Functions (Unfold, IndexPutAccumulate) and a representative set
# of compositions (each op they use has its own graph form)
DOUBLE = ["unfold", "index_put", "tensordot", "index_ops", "masked", "scatters", "products", "repeat_interleave"]


@pytest.mark.parametrize("name", DOUBLE)
@settings(max_examples=8, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_double_backward_like_torch(name, data, seed):
    fn, arrays = CASES[name](data, np.random.default_rng(seed))
    if getattr(fn, "torch_grad_fails", False):
        return
    if getattr(fn, "constant", False):
        assert not fn(*(mc.tensor(a, requires_grad=True) for a in arrays)).requires_grad
        return

    def squared(*xs):  # a nonlinear use of the output, so that the second derivative is not all zero
        y = fn(*xs)
        return y * y

    double_backward_like_torch(squared, squared, arrays)


def test_gradcheck_float64():
    rng = np.random.default_rng(0)

    def t(*shape):
        return mc.tensor(rng.standard_normal(shape), requires_grad=True)

    idx = mc.tensor([2, 0, 2])
    checks = [
        (lambda x: x.unfold(1, 2, 1), [t(2, 4)]),
        (lambda x, v: mc.index_put(x, (idx,), v, accumulate=True), [t(3, 2), t(2)]),
        (lambda x, s: mc.index_add(x, 0, idx, s, alpha=2.0), [t(3, 2), t(3, 2)]),
        (lambda x, s: mc.index_copy(x, 1, mc.tensor([1, 0]), s), [t(2, 3), t(2, 2)]),
        (lambda x, v: mc.index_fill(x, 0, idx, v), [t(3, 2), t()]),
        (lambda x, s: mc.masked_scatter(x, mc.tensor([True, False, True]), s), [t(2, 3), t(5)]),
        (lambda x: mc.masked_select(x, mc.tensor([[True], [False]])), [t(2, 3)]),
        (lambda x, s: mc.put(x, mc.tensor([0, 0, -1]), s, accumulate=True), [t(2, 2), t(3)]),
        (lambda x: mc.take(x, mc.tensor([[0, 3], [3, -1]])), [t(2, 2)]),
        (lambda x: mc.repeat_interleave(x, mc.tensor([2, 0, 1]), 0), [t(3, 2)]),
        (lambda x, s: mc.diagonal_scatter(x, s, 1), [t(3, 3), t(2)]),
        (lambda x, s: mc.slice_scatter(x, s, 1, 0, None, 2), [t(2, 3), t(2, 2)]),
        (lambda x, s: mc.select_scatter(x, s, 0, -1), [t(2, 3), t(3)]),
        (lambda x: mc.diag_embed(x, -1), [t(2, 2)]),
        (lambda a, b: mc.tensordot(a, b, ([1, 0], [0, 2])), [t(2, 3), t(3, 2, 2)]),
        (lambda a, b: mc.block_diag(a, b), [t(2), t(2, 2)]),
        (lambda x: mc.combinations(x, 2, True), [t(3)]),
        (lambda x: mc.vander(x, 4), [t(3)]),
        (lambda x: mc.rot90(x, 3, (1, 0)), [t(2, 3)]),
        (lambda x: mc.narrow_copy(x, -1, -2, 2) ** 2, [t(2, 3)]),
        (lambda x: x.sum_to_size(1, 3), [t(2, 3)]),
        (lambda a, b: mc.column_stack([a, b]), [t(2), t(2, 2)]),
    ]
    for fn, inputs in checks:
        assert mc.gradcheck(fn, inputs), fn
    assert mc.gradgradcheck(lambda x: x.unfold(0, 2, 1) ** 2, [t(4)])
    assert mc.gradgradcheck(lambda x, v: mc.index_put(x, (idx,), v, accumulate=True) ** 2, [t(3), t(3)])


# -- views and copies -------------------------------------------------------------------------
def test_views_share_memory_and_copies_do_not():
    x = mc.arange(24.0).reshape(2, 3, 4)
    views = {
        "unfold": x.unfold(2, 2, 1),
        "select": x.select(1, 1),
        "tensor_split": mc.tensor_split(x, 2, 2)[1],
        "hsplit": mc.hsplit(x, [1])[1],
        "unflatten": x.unflatten(2, (2, 2)),
        "ravel": x.ravel(),
        "broadcast_to": mc.broadcast_to(x, (2, 2, 3, 4)),
        "atleast_3d": mc.atleast_3d(x[0, 0]),
        "meshgrid": mc.meshgrid(x[0, 0], x[0, :, 0], indexing="ij")[0],
    }
    copies = {
        "rot90": mc.rot90(x, 1, (1, 2)),
        "fliplr": mc.fliplr(x),
        "hstack": mc.hstack([x, x]),
        "diag_embed": mc.diag_embed(x),
        "select_scatter": mc.select_scatter(x, x[:, 0], 1, 0),
        "take": mc.take(x, mc.tensor([1, 2])),
        "repeat_interleave": x.repeat_interleave(1),
    }
    for name, v in views.items():
        assert np.shares_memory(v.array, x.array), name
        assert v._vc is x._vc, f"{name}: a view shares its base's version counter"
    for name, c in copies.items():
        assert not np.shares_memory(c.array, x.array), name
    w = x.unfold(2, 2, 2)
    w[0, 0, 1, 0] += 100.0  # a write through the window view reaches x, as torch's
    t = torch.arange(24.0).reshape(2, 3, 4)
    t.unfold(2, 2, 2)[0, 0, 1, 0] += 100.0
    assert x[0, 0, 2].item() == 102.0
    assert x._version == t._version


def test_unfold_view_write_is_refused_later_in_a_graph():
    x = mc.randn(5, requires_grad=True)
    y = x * 2
    w = y.unfold(0, 2, 1)
    w[0, 0] = 0.0  # recorded on w; y's memory changed behind its graph
    with pytest.raises(RuntimeError):
        (y * 1).sum().backward()


# -- in-place twins -------------------------------------------------------------------------
def test_inplace_twins_match_torch_and_record_gradients():
    rng = np.random.default_rng(1)
    a, s = rng.standard_normal((3, 2)), rng.standard_normal((2, 2))
    for lib in (mc, torch):
        x0 = lib.tensor(a, requires_grad=True)
        src = lib.tensor(s, requires_grad=True)
        idx = _ix(x0, np.array([2, 0]))
        m = _ix(x0, np.array([[True, False], [False, False], [True, True]]))
        y = x0 * 1.0
        y.index_add_(0, idx, src, alpha=2).index_copy_(0, idx[:1], src[:1] * 3).index_fill_(1, idx[1:], 0.5)
        y.index_put_((idx,), src[0], accumulate=True).masked_scatter_(m, src * 2).put_(idx, src[1], True)
        (y * y).sum().backward()
        out = (y.detach().numpy(), x0.grad.numpy(), src.grad.numpy())
        if lib is mc:
            ours = out
    for o, t in zip(ours, out):
        np.testing.assert_allclose(o, t, rtol=1e-12)


def test_fill_diagonal_like_torch():
    for shape, wrap in [((7, 3), True), ((7, 3), False), ((3, 5), True), ((3, 3, 3), False), ((2, 0), False)]:
        m, t = mc.zeros(shape), torch.zeros(shape)
        m.fill_diagonal_(2.5, wrap=wrap)
        t.fill_diagonal_(2.5, wrap=wrap)
        np.testing.assert_array_equal(m.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="equal length"):
        mc.zeros(2, 3, 3).fill_diagonal_(1)
    x = mc.ones(2, 2, requires_grad=True)
    y = x * 3
    y.fill_diagonal_(0.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 3], [3, 0]])


def test_inplace_metadata_changes():
    for lib in (mc, torch):
        x = lib.zeros(2, 3)
        v = x._version
        shapes = [
            tuple(x.unsqueeze_(1).shape),
            tuple(x.squeeze_().shape),
            tuple(x.t_().shape),
            tuple(x.transpose_(0, -1).shape),
            tuple(x.swapaxes_(0, 1).shape),
            tuple(x.swapdims_(1, 0).shape),
            tuple(x.t_().stride()),
        ]
        out = shapes, x._version - v, x.is_contiguous()
        if lib is mc:
            ours = out
    assert ours == out
    leaf = mc.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.unsqueeze_(0)
    with mc.no_grad():
        leaf.unsqueeze_(0)  # as torch: allowed outside grad mode
    assert leaf.shape == (1, 3)
    with pytest.raises(RuntimeError, match="history"):
        (mc.zeros(3, requires_grad=True) * 2).unsqueeze_(0)
    with pytest.raises(RuntimeError, match="t_\\(\\) expects"):
        mc.zeros(2, 2, 2).t_()


# -- metadata -------------------------------------------------------------------------------
def test_metadata_like_torch():
    a = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)

    def meta(x):
        lib_views = [x, x[:, 1:, ::2], x.transpose(0, 2), x[1], x[0:1].expand(3, 3, 4), x.unfold(2, 2, 1)]
        return [
            (v.stride(), v.stride(-1), v.storage_offset(), v.is_contiguous(), v.element_size(), v.nelement())
            for v in lib_views
        ] + [(x.itemsize, x.nbytes, x.ndimension(), x.is_cuda, x.is_cpu, x.get_device())]

    assert meta(mc.tensor(a)) == meta(torch.tensor(a))
    assert mc.is_same_size(mc.zeros(2, 3), mc.ones(2, 3)) and not mc.zeros(2).is_same_size(mc.zeros(3))
    assert mc.is_nonzero(mc.tensor([1.5])) and not mc.tensor(0).is_nonzero()
    for bad in (mc.zeros(2), mc.zeros(0)):
        with pytest.raises(RuntimeError, match="ambiguous"):
            bad.is_nonzero()


# -- integer results -------------------------------------------------------------------------
def test_integer_functions_like_torch():
    for row, col, off in [(3, 3, 0), (4, 2, -1), (2, 5, 2), (0, 3, 0), (3, 4, -5)]:
        for name in ("tril_indices", "triu_indices"):
            m, t = getattr(mc, name)(row, col, off), getattr(torch, name)(row, col, off)
            assert m.dtype == np.int64
            np.testing.assert_array_equal(m.numpy(), t.numpy())
    idx = np.array([[4, -1], [7, 0]])
    for shape in [(2, 3), 6, (3, 1, 2)]:
        ours = mc.unravel_index(mc.tensor(idx), shape)
        theirs = torch.unravel_index(torch.tensor(idx), shape)
        assert len(ours) == len(theirs)
        for m, t in zip(ours, theirs):
            np.testing.assert_array_equal(m.numpy(), t.numpy())
    x = np.arange(12.0).reshape(3, 4)
    for dim, index in [(0, [-1, 0]), (1, [-4, 3, 3])]:
        np.testing.assert_array_equal(
            mc.index_fill(mc.tensor(x), dim, mc.tensor(index), -2.0).numpy(),
            torch.index_fill(torch.tensor(x), dim, torch.tensor(index), -2.0).numpy(),
        )
    for dtype, alpha in [(np.int64, -1.7), (np.int64, 2.5), (np.bool_, 0.5)]:  # alpha in the input's dtype
        x, s = np.array([1, 0, 3], dtype=dtype), np.array([5, 1], dtype=dtype)
        ours = mc.index_add(mc.tensor(x), 0, mc.tensor([0, 1]), mc.tensor(s), alpha=alpha)
        theirs = torch.index_add(torch.tensor(x), 0, torch.tensor([0, 1]), torch.tensor(s), alpha=alpha)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    a = np.array([[0, 1.5], [2, 0]])
    np.testing.assert_array_equal(mc.argwhere(mc.tensor(a)).numpy(), torch.argwhere(torch.tensor(a)).numpy())
    r = np.array([2, 0, 3])
    np.testing.assert_array_equal(
        mc.repeat_interleave(mc.tensor(r)).numpy(), torch.repeat_interleave(torch.tensor(r)).numpy()
    )
    assert mc.broadcast_shapes((2, 1), (3,), 1) == tuple(torch.broadcast_shapes((2, 1), (3,), 1))
    ints = mc.combinations(mc.tensor([3, 1, 2]), 2)
    np.testing.assert_array_equal(ints.numpy(), torch.combinations(torch.tensor([3, 1, 2]), 2).numpy())
    np.testing.assert_array_equal(
        mc.vander(mc.tensor([1, 2, 3])).numpy(), torch.vander(torch.tensor([1, 2, 3])).numpy()
    )


def test_meshgrid_warns_like_torch_only_without_indexing():
    a, b = mc.arange(3), mc.arange(2)
    with pytest.warns(UserWarning, match="indexing argument"):
        ij = mc.meshgrid(a, b)
    assert ij[0].shape == (3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mc.meshgrid([a, b], indexing="xy")[0].shape == (2, 3)


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: mc.index_add(x, 0, mc.tensor([5]), mc.ones(1, 4)), RuntimeError, r"index_add\(\).*5.*size 3"),
        (lambda x: mc.index_copy(x, 1, mc.tensor([4]), mc.ones(3, 1)), IndexError, r"index_copy\(\).*4.*size 4"),
        (lambda x: mc.index_fill(x, 0, mc.tensor([-4]), 1.0), IndexError, r"index_fill\(\).*-4.*size 3"),
        (lambda x: mc.index_add(x, 0, mc.tensor([0]), mc.ones(2, 4)), RuntimeError, r"index_add\(\).*source"),
        (lambda x: mc.index_add(x, 2, mc.tensor([0]), mc.ones(1, 4)), IndexError, "index_add.*range"),
        (lambda x: mc.take(x, mc.tensor([12])), IndexError, r"take\(\).*12.*12 elements"),
        (lambda x: mc.put(x, mc.tensor([-13]), mc.ones(1)), IndexError, r"put_\(\).*-13"),
        (lambda x: mc.put(x, mc.tensor([0, 1]), mc.ones(1)), IndexError, "same number of elements"),
        (lambda x: x.select(0, 3), IndexError, r"select\(\): index 3 out of range for tensor of size \[3, 4\]"),
        (lambda x: x.unfold(1, 5, 1), RuntimeError, "maximum size for tensor at dimension 1 is 4 but size is 5"),
        (lambda x: x.unfold(1, 2, 0), RuntimeError, "step is 0"),
        (lambda x: mc.hsplit(x, 3), RuntimeError, "not divisible by the split_size 3"),
        (lambda x: mc.vsplit(x[0], 1), RuntimeError, "at least 2 dimension"),
        (lambda x: x.unflatten(1, (3, 2)), RuntimeError, "don't multiply up"),
        (lambda x: mc.rot90(x, 1, (0, 0)), RuntimeError, "rotation dims to be different"),
        (lambda x: mc.tensordot(x, x, 1), RuntimeError, "contracted dimensions need to match"),
        (lambda x: mc.masked_select(x, mc.ones(3, 4)), RuntimeError, "BoolTensor"),
        (lambda x: mc.masked_scatter(x, x > -10, mc.ones(3)), RuntimeError, "source < number of ones"),
        (lambda x: mc.index_put(x, (mc.tensor([3]),), mc.tensor(1.0), accumulate=True), IndexError, "out of bounds"),
        (lambda x: mc.select_scatter(x, mc.ones(3), 0, 0), RuntimeError, "size equal to the slice"),
        (lambda x: x.sum_to_size(2, 4), RuntimeError, r"size \{\[2, 4\]\} is not expandable to size \{\[3, 4\]\}"),
        (lambda x: mc.broadcast_shapes((2,), (3,)), RuntimeError, "cannot be broadcast"),
        (lambda x: x.repeat_interleave(mc.tensor([1, 2])), RuntimeError, "same size as input"),
        (lambda x: mc.combinations(x), RuntimeError, "Expect a 1D vector"),
        # torch's error types: index_add of a 1-d tensor IndexError (>= 2-d: RuntimeError, above)
        (lambda x: mc.index_add(x[0], 0, mc.tensor([-1]), mc.ones(1)), IndexError, r"index_add\(\).*-1.*size 4"),
        (lambda x: mc.index_put(x, (mc.tensor([0]),), mc.tensor(1.0, dtype=mc.float64)), RuntimeError, "dtypes match"),
        (lambda x: mc.index_put(x, (mc.tensor([0]),), mc.tensor(1), True), RuntimeError, "dtypes match"),
        (lambda x: mc.tril_indices(3, -1), RuntimeError, "col must be non-negative"),
        (lambda x: mc.triu_indices(-2, 3), RuntimeError, "row must be non-negative"),
        (lambda x: mc.repeat_interleave(mc.tensor(2)), RuntimeError, "1-dim integer tensor"),
        (lambda x: mc.cartesian_prod(x[0, 0], x[0]), RuntimeError, "Expect a 1D vector"),
        (lambda x: mc.meshgrid(indexing="ij"), RuntimeError, "non-empty TensorList"),
        (lambda x: mc.unravel_index(mc.tensor([1]), (0, 2)), ValueError, "cannot have zero dimensions"),
    ],
)
def test_errors_name_the_op_and_sizes(call, error, match):
    with pytest.raises(error, match=match):
        call(mc.zeros(3, 4))


def test_review_edge_cases_like_torch():
    # strides of an empty tensor: torch's row-major ones (NumPy 2 gives zeros)
    for shape in [(2, 0, 3), (0,), (3, 0)]:
        assert mc.zeros(shape).stride() == torch.zeros(shape).stride()
    # narrow_copy's negative start counts from the end (forward only: torch's backward ignores the wrap)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(
        mc.narrow_copy(mc.tensor(x), 1, -2, 2).numpy(), torch.narrow_copy(torch.tensor(x), 1, -2, 2).numpy()
    )
    # unfold of a 0-d tensor: (size,), a view
    for size in (0, 1):
        x, xt = mc.tensor(5.0), torch.tensor(5.0)
        assert x.unfold(0, size, 1).shape == tuple(xt.unfold(0, size, 1).shape)
    # broadcast_to the same shape: a writable view, writes reach the input and its gradient
    grads = []
    for lib in (mc, torch):
        w = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
        y = w * 1.0
        lib.broadcast_to(y, (2, -1)).mul_(3.0)
        (y * y).sum().backward()
        grads.append(np.asarray(w.grad.array if lib is mc else w.grad))
    np.testing.assert_allclose(grads[0], grads[1])
    # the method takes the sizes spread out or by keyword too (torch's function takes one size only)
    shapes = [
        [tuple(f(lib.ones(3)).shape) for f in (lambda x: x.broadcast_to(2, 3), lambda x: x.broadcast_to(size=[2, -1]))]
        for lib in (mc, torch)
    ]
    assert shapes[0] == shapes[1] == [(2, 3), (2, 3)]


# -- devices -----------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_on_device(device):
    rng = np.random.default_rng(3)
    fns = [
        lambda x, s: x.unfold(1, 2, 1).sum((1, 2)).unsqueeze(1)
        + mc.index_add(x, 1, mc.tensor([0, 0, 2], device=x.device), s),
        lambda x, s: mc.index_put(x, (mc.tensor([1, 1], device=x.device),), s[0, :3], accumulate=True),
        lambda x, s: mc.masked_scatter(x, x > 0, s).sum(0) + mc.take(x, mc.tensor([0, -1], device=x.device)).sum(),
        lambda x, s: x.repeat_interleave(mc.tensor([1, 0, 2], device=x.device), 1).sum(1)
        + mc.tensordot(x, s.T, 1).sum(1),
        lambda x, s: mc.diag_embed(x).sum((1, 2)) + mc.block_diag(x, s).sum() + mc.combinations(x[0], 2).sum(),
        lambda x, s: mc.index_fill(x, 1, mc.tensor([2], device=x.device), 0.5).sum(1)
        + mc.put(x, mc.tensor([3], device=x.device), s[0, :1]).sum(),
    ]  # fmt: skip
    torch_fns = [
        lambda x, s: x.unfold(1, 2, 1).sum((1, 2)).unsqueeze(1) + torch.index_add(x, 1, torch.tensor([0, 0, 2]), s),
        lambda x, s: torch.index_put(x, (torch.tensor([1, 1]),), s[0, :3], accumulate=True),
        lambda x, s: torch.masked_scatter(x, x > 0, s).sum(0) + torch.take(x, torch.tensor([0, -1])).sum(),
        lambda x, s: x.repeat_interleave(torch.tensor([1, 0, 2]), 1).sum(1) + torch.tensordot(x, s.T, 1).sum(1),
        lambda x, s: torch.diag_embed(x).sum((1, 2)) + torch.block_diag(x, s).sum() + torch.combinations(x[0], 2).sum(),
        lambda x, s: torch.index_fill(x, 1, torch.tensor([2]), 0.5).sum(1)
        + torch.put(x, torch.tensor([3]), s[0, :1]).sum(),
    ]  # fmt: skip
    for m, t in zip(fns, torch_fns):
        compare_with_torch(m, t, [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))], device=device)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.bool_, np.int32])
def test_accumulate_on_small_integer_and_bool_dtypes(device, dtype):
    # CuPy's add.at (cupyx.scatter_add) refuses bool and 8/16-bit integers; torch accumulates them
    x = np.array([250, 0, 1, 0]).astype(dtype)
    src = np.array([3, 4, 1, 0]).astype(dtype)
    index = np.array([0, 0, 2, 3])
    got = mc.put(mc.tensor(x, device=device), mc.tensor(index, device=device), mc.tensor(src, device=device), True)
    want = torch.put(torch.tensor(x), torch.tensor(index), torch.tensor(src), True)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    got = mc.index_put(
        mc.tensor(x, device=device), (mc.tensor(index, device=device),), mc.tensor(src, device=device), True
    )
    want = torch.index_put(torch.tensor(x), (torch.tensor(index),), torch.tensor(src), True)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_expand_without_stretching_is_a_writable_view_like_torch():
    """x.expand(shape) that stretches nothing (same sizes, or new size-1 dims) is a writable
    view: a write through it reaches the input and its gradient; a stretched expand stays
    read-only (torch refuses writes to it: several elements share one memory location)."""
    grads = []
    for lib in (mc, torch):
        for shape in ((3,), (1, 3), (1, 1, 3)):
            x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
            y = x * 1
            y.expand(*shape).mul_(2)
            (y * y).sum().backward()
            grads.append(x.grad.tolist())
        with pytest.raises((RuntimeError, ValueError)):
            lib.ones(1, 3).expand(2, 3).mul_(2)
    assert grads[:3] == grads[3:] == [[8.0, 16.0, 24.0]] * 3


def test_contiguous_copies_only_what_is_not_contiguous_like_torch():
    for lib in (mc, torch):
        x = lib.arange(12.0).reshape(3, 4)
        assert x.contiguous() is x
        t = x.t()
        c = t.contiguous()
        assert not t.is_contiguous() and c.is_contiguous() and c.stride() == (3, 1)
        assert c.tolist() == t.tolist()
    w = mc.arange(6.0, requires_grad=True)
    y = w.reshape(2, 3).t().contiguous()
    (y * mc.arange(6.0).reshape(3, 2)).sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]


# -- h12_loose: strides of empty tensors, storage offsets of as_strided views ---------------------

EMPTY_STRIDE_CASES: dict[str, Callable[[Any], Any]] = {
    "empty(0, 3)": lambda lib: lib.empty(0, 3),
    "empty(2, 0, 4)": lambda lib: lib.empty(2, 0, 4),
    "empty(0)": lambda lib: lib.empty(0),
    "empty_strided((0, 3), (5, 1))": lambda lib: lib.empty_strided((0, 3), (5, 1)),
    "empty_strided((2, 0), (1, 7))": lambda lib: lib.empty_strided((2, 0), (1, 7)),
    "x[:, :0] of a (2, 3)": lambda lib: lib.zeros(2, 3)[:, :0],
    "x[:0] of a (2, 3)": lambda lib: lib.zeros(2, 3)[:0],
    "x[::2, :0] of a (4, 3)": lambda lib: lib.zeros(4, 3)[::2, :0],
    "x.t()[:0] of a (2, 3)": lambda lib: lib.zeros(2, 3).t()[:0],
    "x[:, :0].permute(1, 0) of a (2, 3)": lambda lib: lib.zeros(2, 3)[:, :0].permute(1, 0),
    "empty(2, 0, 4).reshape(0, 8)": lambda lib: lib.empty(2, 0, 4).reshape(0, 8),
    "empty(0, 3).unsqueeze(1)": lambda lib: lib.empty(0, 3).unsqueeze(1),
}


@pytest.mark.parametrize("name", list(EMPTY_STRIDE_CASES))
def test_strides_of_tensors_with_a_size_0_dim_like_torch(name):
    ours, want = EMPTY_STRIDE_CASES[name](mc), EMPTY_STRIDE_CASES[name](torch)
    assert tuple(ours.shape) == tuple(want.shape)
    assert ours.stride() == want.stride()
    assert [ours.stride(d) for d in range(-ours.ndim, ours.ndim)] == [
        want.stride(d) for d in range(-want.ndim, want.ndim)
    ]


AS_STRIDED_OFFSET_CASES: dict[str, Callable[[Any], Any]] = {
    "b.as_strided(.., 3)": lambda lib: lib.arange(10.0)[2:8].as_strided((2,), (1,), 3),
    "b.as_strided(..) (default offset)": lambda lib: lib.arange(10.0)[2:8].as_strided((2,), (1,)),
    "as_strided(b, (2, 2), (1, 2), 4)": lambda lib: lib.as_strided(lib.arange(10.0)[2:8], (2, 2), (1, 2), 4),
    "as_strided(x, ..., 1)": lambda lib: lib.as_strided(lib.arange(6.0), (2,), (2,), 1),
    "as_strided of an as_strided": lambda lib: (
        lib.arange(12.0)[1:].as_strided((2, 3), (3, 1), 3).as_strided((2,), (1,), 5)
    ),
    "a slice of an as_strided": lambda lib: lib.arange(12.0).as_strided((3, 3), (3, 1), 2)[1:, 1:],
}


@pytest.mark.parametrize("name", list(AS_STRIDED_OFFSET_CASES))
def test_storage_offset_of_as_strided_views_counts_from_the_base_like_torch(name):
    ours, want = AS_STRIDED_OFFSET_CASES[name](mc), AS_STRIDED_OFFSET_CASES[name](torch)
    assert ours.tolist() == want.tolist()
    assert ours.storage_offset() == want.storage_offset()
    assert ours.stride() == want.stride()


def test_storage_offset_after_as_strided_in_place_like_torch():
    offsets = []
    for lib in (mc, torch):
        b = lib.arange(10.0)[2:8]
        c = b.clone()
        c.as_strided_((2,), (1,), 1)
        b.as_strided_((2,), (2,))
        offsets.append((c.storage_offset(), c.tolist(), b.storage_offset(), b.tolist()))
    assert offsets[0] == offsets[1] == (1, [3.0, 4.0], 2, [2.0, 4.0])
