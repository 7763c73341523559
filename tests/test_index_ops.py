"""Indexing ops (gather, scatter, scatter_add, index_select, take_along_dim, sort, argsort,
topk) and the shape ops flip, roll, repeat, tile, narrow, chunk, split, unbind, movedim,
diag, diagonal, tril, triu: forward and backward against torch on hypothesis-drawn shapes,
dims and indices, float64 gradchecks, torch's errors, and views that in-place writes reach.

Ties: torch's CPU ``topk`` picks and orders equal elements in no documented order, and its
``sort(stable=False)`` is not stable for slices longer than 16; minicnn always sorts stably
(lower index first among equals). So the tests compare indices with torch only where the
answer is unique (distinct values, or ``sort(stable=True)``), and with ties check the values
against torch and the indices against minicnn's documented rule.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc

SETTINGS = settings(max_examples=25, deadline=None)
ops = mc.ops


class TorchOps:
    """torch's functions under the names of minicnn.ops (Tensor.repeat is a method only)."""

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def repeat(x, *sizes):
        return x.repeat(*sizes)


tops = TorchOps()


class TorchSingleViews(TorchOps):
    """chunk, split and unbind as the same views made one at a time (narrow, select): torch
    refuses in-place writes, in a graph, into outputs of a function that returns several
    views; minicnn records them like writes through any other view, and must then give what
    torch gives for those views taken one by one."""

    @staticmethod
    def _narrows(x, pieces, dim):
        starts = np.cumsum([0] + [p.shape[dim] for p in pieces])
        return tuple(x.narrow(dim, int(a), int(b - a)) for a, b in zip(starts, starts[1:]))

    def chunk(self, x, chunks, dim=0):
        return self._narrows(x, torch.chunk(x.detach(), chunks, dim), dim)

    def split(self, x, sizes, dim=0):
        return self._narrows(x, torch.split(x.detach(), sizes, dim), dim)

    @staticmethod
    def unbind(x, dim=0):
        return tuple(x.select(dim, i) for i in range(x.shape[dim]))


# -- helpers --------------------------------------------------------------------------------
def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check(mc_fn, torch_fn, arrays, grads=None, device="cpu", seed=0, rtol=1e-12):
    """Run both on the same arrays (float ones require grad unless ``grads`` says otherwise);
    compare every output (shape, dtype, values) and the gradients of sum(out_i * g_i)."""
    arrays = [np.asarray(a) for a in arrays]
    grads = [a.dtype.kind == "f" for a in arrays] if grads is None else grads
    grads = [bool(g) for g in grads]
    mt = [mc.tensor(a, requires_grad=g, device=device) for a, g in zip(arrays, grads)]
    tt = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    mo, to = _outputs(mc_fn(*mt)), _outputs(torch_fn(*tt))
    assert len(mo) == len(to), f"{len(mo)} outputs vs torch {len(to)}"
    for i, (m, t) in enumerate(zip(mo, to)):
        assert m.shape == tuple(t.shape), f"output {i}: shape {m.shape} vs torch {tuple(t.shape)}"
        assert m.dtype == np.dtype(str(t.dtype).replace("torch.", "")), f"output {i}: {m.dtype} vs torch {t.dtype}"
        np.testing.assert_allclose(m.numpy(), t.detach().numpy(), rtol=rtol, atol=0, err_msg=f"output {i}")
        assert m.requires_grad == t.requires_grad, f"output {i}: requires_grad"
    pairs = [(m, t) for m, t in zip(mo, to) if t.requires_grad]
    if not pairs:
        return
    rng = np.random.default_rng(seed)
    gs = [rng.standard_normal(t.shape) for _, t in pairs]
    sum((m * mc.tensor(g, device=device)).sum() for (m, _), g in zip(pairs, gs)).backward()
    sum((t * torch.tensor(g)).sum() for (_, t), g in zip(pairs, gs)).backward()
    for i, (m, t) in enumerate(zip(mt, tt)):
        if grads[i]:
            tg = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            mg = np.zeros(m.shape) if m.grad is None else m.grad.numpy()
            np.testing.assert_allclose(mg, tg, rtol=rtol, atol=1e-14, err_msg=f"gradient of input {i}")


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def _values(rng, shape, dtype=np.float64):
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-2, 2, shape).astype(dtype)
    return rng.integers(-9, 10, shape).astype(dtype)


def _distinct(rng, shape):
    """Float64 values that are all different (no ties), in random order."""
    n = int(np.prod(shape))
    return (rng.permutation(n) + rng.uniform(0, 0.5, n)).reshape(shape) - n / 2


def _shape(data, min_dims=1, max_dims=4, min_side=0, max_side=4):
    return data.draw(array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side))


def _dim(data, ndim):
    return data.draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1), label="dim")


dtypes = st.sampled_from([np.float64, np.int64])


# -- gather, scatter, scatter_add, index_select, take_along_dim -------------------------------
def _index_shape(data, shape, d, along=4):
    """An index shape for gather/scatter: no larger than ``shape`` apart from dim d."""
    return tuple(
        data.draw(st.integers(0, along if shape[d] else 0)) if k == d else data.draw(st.integers(0, n))
        for k, n in enumerate(shape)
    )


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_gather(data, dtype):
    shape = _shape(data)
    dim = _dim(data, len(shape))
    d = dim % len(shape)
    rng = _rng(data)
    index = rng.integers(0, max(shape[d], 1), _index_shape(data, shape, d))
    check(lambda x, i: ops.gather(x, dim, i), lambda x, i: torch.gather(x, dim, i), [_values(rng, shape, dtype), index])


def _unique_index(rng, data, shape, d, src_extra=True):
    """An index that names every place of x at most once (scatter's writes then do not
    collide: torch leaves the winner of a collision unspecified) and a src no smaller."""
    ishape = list(_index_shape(data, shape, d, along=shape[d]))
    full = list(ishape)
    full[d] = shape[d]
    order = rng.random(full).argsort(axis=d)
    index = np.take(order, np.arange(ishape[d]), axis=d)
    sshape = [n + (data.draw(st.integers(0, 2)) if src_extra else 0) for n in ishape]
    return index, sshape


def _cropped(src, index):
    """src cut to index's shape: all that scatter reads of it. torch's backward refuses a src
    larger than index (\"ScatterBackward0 returned an invalid gradient\"); on the cropped src it
    gives the gradient minicnn gives the whole src (zeros beyond index's shape)."""
    return src[tuple(slice(0, n) for n in index.shape)]


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_scatter_tensor_src(data, dtype):
    shape = _shape(data)
    dim = _dim(data, len(shape))
    rng = _rng(data)
    index, sshape = _unique_index(rng, data, shape, dim % len(shape))
    arrays = [_values(rng, shape, dtype), index, _values(rng, sshape, dtype)]
    check(lambda x, i, s: ops.scatter(x, dim, i, s), lambda x, i, s: torch.scatter(x, dim, i, s), arrays, [0, 0, 0])
    check(lambda x, i, s: ops.scatter(x, dim, i, s), lambda x, i, s: torch.scatter(x, dim, i, _cropped(s, i)), arrays)


@SETTINGS
@given(data=st.data(), dtype=dtypes, value=st.sampled_from([2.5, -3, 0]))
def test_scatter_number(data, dtype, value):
    shape = _shape(data)
    dim = _dim(data, len(shape))
    d = dim % len(shape)
    rng = _rng(data)
    index = rng.integers(0, max(shape[d], 1), _index_shape(data, shape, d))  # repeats write the same number
    check(
        lambda x, i: ops.scatter(x, dim, i, value),
        lambda x, i: torch.scatter(x, dim, i, value),
        [_values(rng, shape, dtype), index],
    )


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_scatter_add(data, dtype):
    shape = _shape(data)
    dim = _dim(data, len(shape))
    d = dim % len(shape)
    rng = _rng(data)
    ishape = _index_shape(data, shape, d, along=6)  # more entries than places: repeats accumulate
    index = rng.integers(0, max(shape[d], 1), ishape)
    sshape = [n + data.draw(st.integers(0, 2)) for n in ishape]
    arrays = [_values(rng, shape, dtype), index, _values(rng, sshape, dtype)]
    mc_fn = lambda x, i, s: ops.scatter_add(x, dim, i, s)  # noqa: E731
    check(mc_fn, lambda x, i, s: torch.scatter_add(x, dim, i, s), arrays, [0, 0, 0], rtol=1e-13)
    check(mc_fn, lambda x, i, s: torch.scatter_add(x, dim, i, _cropped(s, i)), arrays, rtol=1e-13)


def _reduce_values(rng, shape, reduce, dtype):
    """Values that exercise each reduction's hard cases: ties for amax/amin (small integers),
    zeros (single and repeated) for prod."""
    if reduce in ("amax", "amin") or np.dtype(dtype).kind != "f":
        return rng.integers(-2, 3, shape).astype(dtype)
    v = rng.uniform(-2, 2, shape)
    if reduce == "prod":
        v[rng.random(shape) < 0.2] = 0.0
    return v.astype(dtype)


@SETTINGS
@given(
    data=st.data(),
    reduce=st.sampled_from(["sum", "prod", "mean", "amax", "amin"]),
    include_self=st.booleans(),
    dtype=dtypes,
)
def test_scatter_reduce(data, reduce, include_self, dtype):
    """Every reduction, with and without the input's own values, repeated places, ties and
    zeros: forward and the gradients of input and src (torch's rules) against torch."""
    shape = _shape(data)
    dim = _dim(data, len(shape))
    d = dim % len(shape)
    rng = _rng(data)
    ishape = _index_shape(data, shape, d, along=6)  # more entries than places: repeats reduce
    index = rng.integers(0, max(shape[d], 1), ishape)
    arrays = [_reduce_values(rng, shape, reduce, dtype), index, _reduce_values(rng, ishape, reduce, dtype)]
    kw = dict(include_self=include_self)
    check(
        lambda x, i, s: ops.scatter_reduce(x, dim, i, s, reduce, **kw),
        lambda x, i, s: torch.scatter_reduce(x, dim, i, s, reduce, **kw),
        arrays,
        rtol=1e-12,
    )


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@SETTINGS
@given(data=st.data(), reduce=st.sampled_from(["add", "multiply"]), dtype=dtypes, number=st.booleans())
def test_scatter_with_reduce(data, reduce, dtype, number):
    """torch's older ``scatter(..., reduce=)``: the forward, and no derivative in either."""
    shape = _shape(data)
    dim = _dim(data, len(shape))
    d = dim % len(shape)
    rng = _rng(data)
    ishape = _index_shape(data, shape, d, along=6)
    index = rng.integers(0, max(shape[d], 1), ishape)
    x, src = _values(rng, shape, dtype), _values(rng, ishape, dtype)
    if number:
        src = 1.5 if np.dtype(dtype).kind == "f" else 3
        check(
            lambda a, i: ops.scatter(a, dim, i, src, reduce=reduce),
            lambda a, i: torch.scatter(a, dim, i, src, reduce=reduce),
            [x, index],
            [0, 0],
        )
    else:
        check(
            lambda a, i, s: ops.scatter(a, dim, i, s, reduce=reduce),
            lambda a, i, s: torch.scatter(a, dim, i, s, reduce=reduce),
            [x, index, src],
            [0, 0, 0],
        )


def test_scatter_reduce_refusals_and_the_missing_derivative_of_scatter_with_reduce():
    x, i = mc.tensor(np.zeros((2, 3)), requires_grad=True), mc.tensor([[0, 1]])
    with pytest.raises(RuntimeError, match="reduce argument must be one of"):
        ops.scatter_reduce(x, 1, i, mc.ones(1, 2, dtype=mc.float64), "max")
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        ops.scatter(x, 1, i, 1.0, reduce="sum")
    with pytest.raises(RuntimeError, match="dtype"):
        ops.scatter_reduce(x, 1, i, mc.ones(1, 2), "sum")
    with pytest.warns(UserWarning, match="reduce argument of torch.scatter with Tensor src is deprecated"):
        y = ops.scatter(x * 1, 1, i, mc.ones(1, 2, dtype=mc.float64), reduce="add")
    with pytest.raises(RuntimeError, match="derivative"):
        y.sum().backward()
    t = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative"):
        torch.scatter(t * 1, 1, torch.tensor([[0, 1]]), 1.0, reduce="add").sum().backward()


@SETTINGS
@given(data=st.data(), dtype=dtypes, index_dtype=st.sampled_from([np.int64, np.int32]))
def test_index_select(data, dtype, index_dtype):
    shape = _shape(data, min_dims=0)
    dim = _dim(data, len(shape))
    rng = _rng(data)
    n = shape[dim % len(shape)] if shape else 1
    if shape and data.draw(st.booleans(), label="0-d index") and n:
        index = np.asarray(rng.integers(0, n), dtype=index_dtype)
    elif not shape:
        index = np.zeros(data.draw(st.sampled_from([(), (1,)])), index_dtype)
    else:
        index = rng.integers(0, max(n, 1), data.draw(st.integers(0, 6) if n else st.just(0))).astype(index_dtype)
    check(
        lambda x, i: ops.index_select(x, dim, i),
        lambda x, i: torch.index_select(x, dim, i),
        [_values(rng, shape, dtype), index],
    )


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_take_along_dim_broadcasts(data, dtype):
    nd = data.draw(st.integers(1, 4))
    dim = _dim(data, nd)
    d = dim % nd
    xs, ishape = [], []
    for k in range(nd):
        if k == d:
            xs.append(data.draw(st.integers(1, 4)))
            ishape.append(data.draw(st.integers(0, 4)))
        else:
            n = data.draw(st.integers(0, 3))
            a, b = data.draw(st.sampled_from([(n, n), (1, n), (n, 1)]))
            xs.append(a)
            ishape.append(b)
    rng = _rng(data)
    index = rng.integers(-xs[d], xs[d], ishape)  # negative indices count from the end along a dim
    check(
        lambda x, i: ops.take_along_dim(x, i, dim),
        lambda x, i: torch.take_along_dim(x, i, dim),
        [_values(rng, xs, dtype), index],
    )


@SETTINGS
@given(data=st.data())
def test_take_along_dim_flattened(data):
    shape = _shape(data, min_dims=0, min_side=1)
    rng = _rng(data)
    size = int(np.prod(shape))
    index = rng.integers(0, size, _shape(data, min_dims=0, max_dims=3))
    check(lambda x, i: ops.take_along_dim(x, i), lambda x, i: torch.take_along_dim(x, i), [_values(rng, shape), index])


def test_gather_and_scatter_on_0d_tensors():
    check(lambda x, i: ops.gather(x, 0, i), lambda x, i: torch.gather(x, 0, i), [np.float64(5), np.zeros(3, np.int64)])
    check(lambda x, i: ops.gather(x, 0, i), lambda x, i: torch.gather(x, 0, i), [np.arange(3.0), np.int64(2)])
    check(
        lambda x, i, s: ops.scatter(x, 0, i, s),
        lambda x, i, s: torch.scatter(x, 0, i, s),
        [np.float64(1), np.int64(0), np.float64(3)],
    )
    check(
        lambda x, i, s: ops.scatter_add(x, 0, i, s),
        lambda x, i, s: torch.scatter_add(x, 0, i, s),
        [np.float64(1), np.zeros(2, np.int64), np.arange(2.0) + 1],
    )


# -- sort, argsort, topk ----------------------------------------------------------------------
@SETTINGS
@given(data=st.data(), descending=st.booleans(), dtype=dtypes)
def test_stable_sort_with_ties_matches_torch_exactly(data, descending, dtype):
    shape = _shape(data, min_dims=0, max_dims=2, max_side=20)
    dim = _dim(data, len(shape))
    x = _rng(data).integers(0, 3, shape).astype(dtype)  # many ties
    check(
        lambda t: ops.sort(t, dim, descending, stable=True),
        lambda t: torch.sort(t, stable=True, dim=dim, descending=descending),
        [x],
    )
    check(
        lambda t: ops.argsort(t, dim, descending, stable=True),
        lambda t: torch.argsort(t, dim=dim, descending=descending, stable=True),
        [x],
    )


@SETTINGS
@given(data=st.data(), descending=st.booleans())
def test_sort_puts_nan_where_torch_does(data, descending):
    shape = _shape(data, min_dims=1, min_side=1, max_side=6)
    rng = _rng(data)
    x = rng.integers(0, 3, shape).astype(np.float64)
    x[rng.random(shape) < 0.3] = np.nan
    check(
        lambda t: ops.sort(t, -1, descending, stable=True),
        lambda t: torch.sort(t, stable=True, dim=-1, descending=descending),
        [x],
        grads=[False],  # the projected gradient of NaN is NaN: compared below without NaN
    )
    for largest in (True, False):
        mv, mi = ops.topk(mc.tensor(x), 1, largest=largest)
        tv, _ = torch.topk(torch.tensor(x), 1, largest=largest)
        np.testing.assert_array_equal(mv.numpy(), tv.numpy())  # NaN counts as the largest, as in torch
        np.testing.assert_array_equal(np.take_along_axis(x, mi.numpy(), -1), tv.numpy())


@SETTINGS
@given(data=st.data(), descending=st.booleans())
def test_unstable_sort_of_distinct_values(data, descending):
    shape = _shape(data, min_dims=0, max_dims=2, max_side=20)
    dim = _dim(data, len(shape))
    x = _distinct(_rng(data), shape)
    check(lambda t: ops.sort(t, dim, descending), lambda t: torch.sort(t, dim=dim, descending=descending), [x])
    check(lambda t: ops.argsort(t, dim, descending), lambda t: torch.argsort(t, dim=dim, descending=descending), [x])


@SETTINGS
@given(data=st.data(), largest=st.booleans())
def test_topk_of_distinct_values(data, largest):
    shape = _shape(data, min_dims=0, max_side=6)
    dim = _dim(data, len(shape))
    n = shape[dim % len(shape)] if shape else 1
    k = data.draw(st.integers(0, n), label="k")
    x = _distinct(_rng(data), shape)
    check(lambda t: ops.topk(t, k, dim, largest), lambda t: torch.topk(t, k, dim, largest), [x])


@SETTINGS
@given(data=st.data(), largest=st.booleans())
def test_topk_unsorted_picks_the_same_set(data, largest):
    # sorted=False leaves the order to the implementation: compare sorted values and index sets
    shape = _shape(data, min_dims=1, max_side=6)
    dim = _dim(data, len(shape))
    k = data.draw(st.integers(0, shape[dim]), label="k")
    x = _distinct(_rng(data), shape)
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (mv, mi), (tv, ti) = ops.topk(xm, k, dim, largest, sorted=False), torch.topk(xt, k, dim, largest, sorted=False)
    np.testing.assert_array_equal(np.sort(mv.numpy(), dim), np.sort(tv.detach().numpy(), dim))
    np.testing.assert_array_equal(np.sort(mi.numpy(), dim), np.sort(ti.numpy(), dim))
    mv.sum().backward()
    tv.sum().backward()
    np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())


@SETTINGS
@given(data=st.data(), largest=st.booleans())
def test_topk_with_ties(data, largest):
    # the values agree with torch; the indices are the first k of minicnn's stable order
    shape = _shape(data, min_dims=1, max_dims=2, max_side=20)
    dim = _dim(data, len(shape))
    k = data.draw(st.integers(0, shape[dim]), label="k")
    x = _rng(data).integers(0, 3, shape).astype(np.float64)
    mv, mi = ops.topk(mc.tensor(x), k, dim, largest)
    tv, ti = torch.topk(torch.tensor(x), k, dim, largest)
    np.testing.assert_array_equal(mv.numpy(), tv.numpy())
    np.testing.assert_array_equal(np.take_along_axis(x, ti.numpy(), dim), tv.numpy())  # torch's are valid too
    key = -x if largest else x
    stable = np.argsort(key, axis=dim, kind="stable")
    np.testing.assert_array_equal(mi.numpy(), np.take(stable, np.arange(k), axis=dim))
    assert mi.dtype == np.int64


def test_topk_and_sort_return_torch_named_tuples():
    x = mc.tensor([[3.0, 1.0, 2.0]])
    res = ops.topk(x, 2)
    theirs = torch.topk(torch.zeros(1), 1)
    assert res._fields == ("values", "indices") and theirs.values is theirs[0] and theirs.indices is theirs[1]
    assert res.values.tolist() == [[3.0, 2.0]] and res.indices.tolist() == [[0, 2]]
    values, indices = ops.sort(x, descending=True)
    assert ops.sort(x)._fields == ("values", "indices")
    assert values.tolist() == [[3.0, 2.0, 1.0]] and indices.tolist() == [[0, 2, 1]]
    assert ops.argsort(x).dtype == np.int64


# -- shape ops -------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_flip(data, dtype):
    shape = _shape(data, min_dims=0)
    nd = max(len(shape), 1)
    dims = data.draw(st.lists(st.integers(0, nd - 1), max_size=nd, unique=True))
    dims = tuple(d - nd if data.draw(st.booleans()) else d for d in dims)
    x = _values(_rng(data), shape, dtype)
    check(lambda t: ops.flip(t, dims), lambda t: torch.flip(t, dims), [x])
    if dims:  # Tensor.flip's varargs
        check(lambda t: ops.flip(t, *dims), lambda t: t.flip(*dims), [x])


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_roll(data, dtype):
    shape = _shape(data)
    nd = len(shape)
    x = _values(_rng(data), shape, dtype)
    if data.draw(st.booleans(), label="flattened"):
        shift = data.draw(st.integers(-7, 7))
        check(lambda t: ops.roll(t, shift), lambda t: torch.roll(t, shift), [x])
        return
    dims = tuple(data.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=3)))  # repeats add up
    shifts = tuple(data.draw(st.lists(st.integers(-7, 7), min_size=len(dims), max_size=len(dims))))
    check(lambda t: ops.roll(t, shifts, dims), lambda t: torch.roll(t, shifts, dims), [x])


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_repeat_and_tile(data, dtype):
    shape = _shape(data, min_dims=0, max_dims=3)
    x = _values(_rng(data), shape, dtype)
    nd = len(shape)
    sizes = tuple(data.draw(st.lists(st.integers(0, 3), min_size=nd, max_size=nd + 2)))
    if sizes:  # torch's Tensor.repeat() takes no empty varargs
        check(lambda t: ops.repeat(t, *sizes), lambda t: t.repeat(*sizes), [x])
    check(lambda t: ops.repeat(t, sizes), lambda t: t.repeat(sizes), [x])
    dims = tuple(data.draw(st.lists(st.integers(0, 3), max_size=nd + 1)))
    check(lambda t: ops.tile(t, dims), lambda t: torch.tile(t, dims), [x])


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_narrow(data, dtype):
    shape = _shape(data)
    dim = _dim(data, len(shape))
    n = shape[dim]
    start = data.draw(st.integers(-n, n), label="start")
    length = data.draw(st.integers(0, n - (start + n if start < 0 else start)), label="length")
    check(
        lambda t: ops.narrow(t, dim, start, length),
        lambda t: torch.narrow(t, dim, start, length),
        [_values(_rng(data), shape, dtype)],
    )


@SETTINGS
@given(data=st.data(), dtype=dtypes, chunks=st.integers(1, 6))
def test_chunk(data, dtype, chunks):
    shape = _shape(data, max_side=7)
    dim = _dim(data, len(shape))
    x = _values(_rng(data), shape, dtype)
    check(lambda t: ops.chunk(t, chunks, dim), lambda t: torch.chunk(t, chunks, dim), [x])


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_split(data, dtype):
    shape = _shape(data, max_side=7)
    dim = _dim(data, len(shape))
    n = shape[dim]
    x = _values(_rng(data), shape, dtype)
    if data.draw(st.booleans(), label="sections"):
        cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
        sections = [b - a for a, b in zip([0, *cuts], [*cuts, n])]
        check(lambda t: ops.split(t, sections, dim), lambda t: torch.split(t, sections, dim), [x])
    else:
        size = data.draw(st.integers(1 if n else 0, n + 2))
        check(lambda t: ops.split(t, size, dim), lambda t: torch.split(t, size, dim), [x])


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_unbind(data, dtype):
    shape = _shape(data)
    dim = _dim(data, len(shape))
    check(lambda t: ops.unbind(t, dim), lambda t: torch.unbind(t, dim), [_values(_rng(data), shape, dtype)])


@SETTINGS
@given(data=st.data(), dtype=dtypes)
def test_movedim(data, dtype):
    shape = _shape(data, min_dims=0, max_dims=5)
    nd = max(len(shape), 1)
    count = data.draw(st.integers(0, nd))
    src = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=count, max_size=count, unique_by=lambda d: d % nd))
    dst = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=count, max_size=count, unique_by=lambda d: d % nd))
    if count == 1 and data.draw(st.booleans(), label="ints"):
        src, dst = src[0], dst[0]
    check(
        lambda t: ops.movedim(t, src, dst),
        lambda t: torch.movedim(t, src, dst),
        [_values(_rng(data), shape, dtype)],
    )


@SETTINGS
@given(data=st.data(), dtype=dtypes, offset=st.integers(-4, 4))
def test_diag(data, dtype, offset):
    shape = _shape(data, min_dims=1, max_dims=2)
    check(lambda t: ops.diag(t, offset), lambda t: torch.diag(t, offset), [_values(_rng(data), shape, dtype)])


@SETTINGS
@given(data=st.data(), dtype=dtypes, offset=st.integers(-4, 4))
def test_diagonal(data, dtype, offset):
    shape = _shape(data, min_dims=2, max_dims=4)
    nd = len(shape)
    dim1, dim2 = data.draw(st.lists(st.integers(0, nd - 1), min_size=2, max_size=2, unique=True))
    dim2 -= nd * data.draw(st.integers(0, 1))
    check(
        lambda t: ops.diagonal(t, offset, dim1, dim2),
        lambda t: torch.diagonal(t, offset, dim1, dim2),
        [_values(_rng(data), shape, dtype)],
    )


@pytest.mark.parametrize("op", ["tril", "triu"])
@SETTINGS
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.int64, np.bool_]), diagonal=st.integers(-5, 5))
def test_tril_triu(op, data, dtype, diagonal):
    shape = _shape(data, min_dims=2, max_dims=4)
    rng = _rng(data)
    x = rng.random(shape) < 0.5 if dtype is np.bool_ else _values(rng, shape, dtype)
    check(lambda t: getattr(ops, op)(t, diagonal), lambda t: getattr(torch, op)(t, diagonal), [x])


def test_tril_zeroes_nan_and_inf_above_the_diagonal():
    x = np.array([[1.0, np.nan], [np.inf, 2.0]])
    check(ops.tril, torch.tril, [x], grads=[False])
    check(ops.triu, torch.triu, [x], grads=[False])


# -- torch's keyword names ------------------------------------------------------------------------
_X = np.arange(12.0).reshape(3, 4) / 7
_IDX = np.array([[0, 3], [2, 2], [1, 0]])
KEYWORD_CALLS = {
    "gather": dict(input=_X, dim=1, index=_IDX),
    "scatter": dict(input=_X, dim=1, index=_IDX[:, :1], src=-_X),
    "scatter_add": dict(input=_X, dim=1, index=_IDX, src=-_X),
    "index_select": dict(input=_X, dim=1, index=_IDX[0]),
    "take_along_dim": dict(input=_X, indices=_IDX, dim=1),
    "topk": dict(input=_X, k=2, dim=0, largest=False, sorted=True),
    "sort": dict(input=_X, dim=0, descending=True, stable=True),
    "argsort": dict(input=_X, dim=0, descending=True, stable=True),
    "flip": dict(input=_X, dims=(0, 1)),
    "roll": dict(input=_X, shifts=(1, 2), dims=(1, 0)),
    "tile": dict(input=_X, dims=(2, 1, 1)),
    "narrow": dict(input=_X, dim=1, start=1, length=2),
    "chunk": dict(input=_X, chunks=2, dim=1),
    "split": dict(tensor=_X, split_size_or_sections=[1, 3], dim=1),
    "unbind": dict(input=_X, dim=1),
    "movedim": dict(input=_X, source=0, destination=1),
    "diag": dict(input=_X, diagonal=1),
    "diagonal": dict(input=_X, offset=-1, dim1=1, dim2=0),
    "tril": dict(input=_X, diagonal=1),
    "triu": dict(input=_X, diagonal=-1),
}


@pytest.mark.parametrize("name", sorted(KEYWORD_CALLS))
def test_keyword_calls_match_torch(name):
    kw = KEYWORD_CALLS[name]
    ours = _outputs(getattr(ops, name)(**{k: mc.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}))
    theirs = _outputs(
        getattr(torch, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    )
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_scatter_value_keyword():
    x, i = np.zeros((2, 3)), np.array([[2], [0]])
    ours = ops.scatter(mc.tensor(x), 1, mc.tensor(i), value=1.5)
    np.testing.assert_array_equal(ours.numpy(), torch.scatter(torch.tensor(x), 1, torch.tensor(i), value=1.5).numpy())


# -- gradcheck ---------------------------------------------------------------------------------
_I = np.array([[0, 2, 1], [1, 1, 0]])  # for a (2, 3) input along dim 1 / (3, 3) along dim 0
GRADCHECK = {
    "gather": (lambda x: ops.gather(x, 1, _I), [(2, 3)]),
    "scatter": (lambda x, s: ops.scatter(x, 1, np.array([[2, 0], [1, 2]]), s), [(2, 3), (2, 3)]),
    "scatter_value": (lambda x: ops.scatter(x, 0, _I, 1.5), [(3, 3)]),
    "scatter_add": (lambda x, s: ops.scatter_add(x, 0, _I, s), [(3, 3), (2, 4)]),
    "scatter_reduce_sum": (lambda x, s: ops.scatter_reduce(x, 0, _I, s, "sum", include_self=False), [(3, 3), (2, 4)]),
    "scatter_reduce_prod": (lambda x, s: ops.scatter_reduce(x, 0, _I, s, "prod"), [(3, 3), (2, 4)]),
    "scatter_reduce_mean": (lambda x, s: ops.scatter_reduce(x, 1, _I, s, "mean"), [(2, 3), (2, 3)]),
    "scatter_reduce_amax": (lambda x, s: ops.scatter_reduce(x, 1, _I, s, "amax"), [(2, 3), (2, 3)]),
    "scatter_reduce_amin": (lambda x, s: ops.scatter_reduce(x, 0, _I, s, "amin", include_self=False), [(3, 3), (2, 3)]),
    "index_select": (lambda x: ops.index_select(x, 1, np.array([2, 0, 2, 1])), [(2, 3)]),
    "take_along_dim": (lambda x: ops.take_along_dim(x, np.array([[[-1], [0]]]), 2), [(3, 1, 4)]),
    "take_along_dim_flat": (lambda x: ops.take_along_dim(x, np.array([5, 0, 5])), [(2, 3)]),
    "sort": (lambda x: ops.sort(x, 0, descending=True).values, [(4, 3)]),
    "topk": (lambda x: ops.topk(x, 2, 1, largest=False).values, [(3, 4)]),
    "flip": (lambda x: ops.flip(x, (0, 2)), [(2, 3, 2)]),
    "roll": (lambda x: ops.roll(x, (1, -2), (1, 0)), [(3, 4)]),
    "roll_flat": (lambda x: ops.roll(x, 5), [(3, 4)]),
    "repeat": (lambda x: ops.repeat(x, 2, 1, 3), [(2, 2)]),
    "tile": (lambda x: ops.tile(x, (2,)), [(2, 3)]),
    "narrow": (lambda x: ops.narrow(x, 1, -3, 2), [(2, 4)]),
    "chunk": (lambda x: ops.chunk(x, 2, 1)[1] * 2, [(2, 5)]),
    "split": (lambda x: ops.split(x, [1, 2], 0), [(3, 2)]),
    "unbind": (lambda x: ops.unbind(x, 1), [(2, 3)]),
    "movedim": (lambda x: ops.movedim(x, (0, 2), (1, 0)), [(2, 3, 4)]),
    "diag_embed": (lambda x: ops.diag(x, -1), [(3,)]),
    "diag_take": (lambda x: ops.diag(x, 1), [(3, 4)]),
    "diagonal": (lambda x: ops.diagonal(x, -1, 2, 0), [(4, 2, 3)]),
    "tril": (lambda x: ops.tril(x, -1), [(2, 3, 3)]),
    "triu": (lambda x: ops.triu(x, 1), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_float64(name):
    fn, shapes = GRADCHECK[name]
    rng = np.random.default_rng(0)
    # distinct values: sort/topk are piecewise linear, and ties would make the numerical gradient jump
    inputs = [mc.tensor(_distinct(rng, s) / 7, requires_grad=True) for s in shapes]
    assert mc.gradcheck(fn, inputs)


# -- the same ops on every device -------------------------------------------------------------
REPRESENTATIVE = {
    "gather": (lambda o, x, i: o.gather(x, 1, i), "gather"),
    "scatter": (lambda o, x, i: o.scatter(x, 1, i[:, :1], x[:, 2:3] * 3), "scatter"),
    "scatter_add": (lambda o, x, i: o.scatter_add(x, 1, i, x * 2), "scatter_add"),
    "scatter_reduce": (
        lambda o, x, i: [
            o.scatter_reduce(x, 1, i, x * 2, r, include_self=r != "mean") for r in ("prod", "mean", "amax")
        ],
        "scatter_reduce",
    ),
    "index_select": (lambda o, x, i: o.index_select(x, 0, i[0] % 3), "index_select"),
    "take_along_dim": (lambda o, x, i: o.take_along_dim(x, i - 4, 1), "take_along_dim"),
    "topk": (lambda o, x, i: o.topk(x, 2, 1), "topk"),
    "sort": (lambda o, x, i: o.sort(x, dim=0, descending=True, stable=True), "sort"),
    "flip_roll_repeat": (lambda o, x, i: o.repeat(o.roll(o.flip(x, (1,)), 1, 0), 2, 1), "flip"),
    "chunk": (lambda o, x, i: o.chunk(x, 3, 1), "chunk"),
    "diagonal_tril": (lambda o, x, i: (o.diagonal(x, 1), o.tril(x, 0), o.diag(x[0])), "diagonal"),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(REPRESENTATIVE))
def test_representative_ops_on_each_device(device, name):
    fn, _ = REPRESENTATIVE[name]
    rng = np.random.default_rng(1)
    x = _distinct(rng, (3, 4))
    index = rng.integers(0, 4, (3, 4))
    check(lambda a, i: fn(ops, a, i), lambda a, i: fn(tops, a, i), [x, index], device=device)


@pytest.mark.parametrize("device", devices())
def test_index_out_of_bounds_raises_on_each_device(device):
    x = mc.zeros(2, 3, device=device)
    bad = mc.tensor([[0, 3]], device=device)
    with pytest.raises(RuntimeError, match="out of bounds"):  # on a GPU: raised at the next host read
        ops.gather(x, 1, bad).numpy()
    with pytest.raises(RuntimeError, match="out of bounds"):
        ops.scatter_add(x, 1, bad, x).numpy()


@pytest.mark.parametrize("device", devices())
def test_write_through_a_diagonal_view_on_each_device(device):
    x = mc.zeros(3, 3, device=device)
    ops.diagonal(x).fill_(2.0)
    ops.narrow(x, 0, 2, 1).add_(1.0)
    expected = torch.zeros(3, 3)
    torch.diagonal(expected).fill_(2.0)
    torch.narrow(expected, 0, 2, 1).add_(1.0)
    np.testing.assert_array_equal(x.numpy(), expected.numpy())


# -- errors: torch's exception types ------------------------------------------------------------
def _x(lib):
    return lib.tensor(np.arange(12.0).reshape(3, 4))


def _i(lib, value, dtype=np.int64):
    return lib.tensor(np.asarray(value, dtype=dtype))


ERRORS = {
    "gather index out of bounds": (lambda o, t: o.gather(_x(t), 1, _i(t, [[0], [4]])), "out of bounds"),
    "gather negative index": (lambda o, t: o.gather(_x(t), 1, _i(t, [[-1]])), "out of bounds"),
    "gather dim out of range": (lambda o, t: o.gather(_x(t), 2, _i(t, [[0]])), "out of range"),
    "gather index ndim": (lambda o, t: o.gather(_x(t), 1, _i(t, [0])), "same number of dimensions"),
    "gather index too large": (lambda o, t: o.gather(_x(t), 1, _i(t, np.zeros((4, 1)))), "no larger than"),
    "gather float index": (lambda o, t: o.gather(_x(t), 1, _i(t, [[0]], np.float64)), "dtype"),
    "scatter src too small": (lambda o, t: o.scatter(_x(t), 1, _i(t, [[0, 1]]), _x(t)[:1, :1]), "no larger"),
    "scatter src dtype": (lambda o, t: o.scatter(_x(t), 1, _i(t, [[0]]), _i(t, [[1]])), "dtype"),
    "scatter src ndim": (lambda o, t: o.scatter(_x(t), 1, _i(t, [[0]]), _x(t)[None]), "same number of dimensions"),
    "scatter out of bounds": (lambda o, t: o.scatter(_x(t), 0, _i(t, [[3]]), 1.0), "out of bounds"),
    "scatter_add number": (lambda o, t: o.scatter_add(_x(t), 1, _i(t, [[0]]), 1.0), "must be Tensor"),
    "scatter_add out of bounds": (lambda o, t: o.scatter_add(_x(t), 1, _i(t, [[5]]), _x(t)), "out of bounds"),
    "index_select 2-d index": (lambda o, t: o.index_select(_x(t), 1, _i(t, [[0]])), "vector"),
    "index_select bool index": (lambda o, t: o.index_select(_x(t), 1, _i(t, [True], bool)), "dtype"),
    "index_select out of range": (
        lambda o, t: o.index_select(_x(t), 1, _i(t, [4])),
        "out of (range|bounds|data bounds)",
    ),
    "index_select dim 0 out of range": (  # torch: IndexError along dim 0, RuntimeError along dim 1
        lambda o, t: o.index_select(_x(t), 0, _i(t, [-1])),
        "out of (range|bounds)",
    ),
    "index_select scalar": (lambda o, t: o.index_select(_x(t)[0, 0], 0, _i(t, [0, 0])), "only 1 value"),
    "index_select scalar out of range": (lambda o, t: o.index_select(_x(t)[0, 0], 0, _i(t, [1])), "out of"),
    "index_select last of 3 dims out of range": (  # torch: IndexError (RuntimeError only along dim 1)
        lambda o, t: o.index_select(_x(t)[None], 2, _i(t, [9])),
        "out of (range|bounds)",
    ),
    "index_add middle dim out of range": (  # torch: IndexError, RuntimeError along the first or last of 2+ dims
        lambda o, t: t.index_add(_x(t)[None], 1, _i(t, [7]), _x(t)[None, :1]),
        "out of (range|bounds)",
    ),
    "index_add last dim out of range": (
        lambda o, t: t.index_add(_x(t)[None], 2, _i(t, [-1]), _x(t)[None, :, :1]),
        "out of (range|bounds)",
    ),
    "index_add alpha 2 out of range": (  # torch: IndexError with an alpha other than 1
        lambda o, t: t.index_add(_x(t), 0, _i(t, [7]), _x(t)[:1], alpha=2),
        "out of (range|bounds)",
    ),
    "take_along_dim int32": (lambda o, t: o.take_along_dim(_x(t), _i(t, [[0]], np.int32), 1), "dtype"),
    "take_along_dim ndim": (lambda o, t: o.take_along_dim(_x(t), _i(t, [0]), 1), "same number of dimensions"),
    "take_along_dim broadcast": (lambda o, t: o.take_along_dim(_x(t), _i(t, [[0], [1]]), 1), "must match"),
    "take_along_dim flat bounds": (lambda o, t: o.take_along_dim(_x(t), _i(t, [12])), "out of bounds"),
    "topk k too large": (lambda o, t: o.topk(_x(t), 5), "k out of range"),
    "topk negative k": (lambda o, t: o.topk(_x(t), -1), "k out of range"),
    "sort dim": (lambda o, t: o.sort(_x(t), 2), "out of range"),
    "flip repeated dim": (lambda o, t: o.flip(_x(t), (0, -2)), "multiple times"),
    "flip dim": (lambda o, t: o.flip(_x(t), (2,)), "out of range"),
    "roll misaligned": (lambda o, t: o.roll(_x(t), (1, 2), (0,)), "must align"),
    "roll two shifts no dims": (lambda o, t: o.roll(_x(t), (1, 2)), "must align"),
    "repeat too few": (lambda o, t: o.repeat(_x(t), 2), "can not be smaller"),
    "repeat negative": (lambda o, t: o.repeat(_x(t), -1, 2), "negative dimension"),
    "narrow start": (lambda o, t: o.narrow(_x(t), 1, 5, 0), "start out of range"),
    "narrow too long": (lambda o, t: o.narrow(_x(t), 1, 3, 2), "exceeds dimension size"),
    "narrow negative length": (lambda o, t: o.narrow(_x(t), 1, 0, -1), "non-negative"),
    "narrow 0-d": (lambda o, t: o.narrow(_x(t)[0, 0], 0, 0, 1), "0-dim"),
    "chunk zero": (lambda o, t: o.chunk(_x(t), 0), "greater than 0"),
    "split zero": (lambda o, t: o.split(_x(t), 0), "can only be 0"),
    "split sections": (lambda o, t: o.split(_x(t), [1, 1]), "sum exactly"),
    "split negative section": (lambda o, t: o.split(_x(t), [4, -1]), "non-negative"),
    "unbind 0-d": (lambda o, t: o.unbind(_x(t)[0, 0]), "no dimensions"),
    "unbind dim": (lambda o, t: o.unbind(_x(t), 2), "out of range"),
    "movedim lengths": (lambda o, t: o.movedim(_x(t), (0, 1), (1,)), "same number of dims"),
    "movedim repeated": (lambda o, t: o.movedim(_x(t), (0, -2), (1, 0)), "repeated dim"),
    "diag 3-d": (lambda o, t: o.diag(_x(t)[None]), "1D or 2D"),
    "diagonal same dims": (lambda o, t: o.diagonal(_x(t), 0, 1, -1), "cannot be identical"),
    "tril 1-d": (lambda o, t: o.tril(_x(t)[0]), "at least 2 dimensions"),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_like_torch(name):
    call, gist = ERRORS[name]
    with pytest.raises(Exception, match=f"(?i){gist}") as theirs:
        call(tops, torch)
    with pytest.raises(Exception, match=f"(?i){gist}") as ours:
        call(ops, mc)
    assert ours.type is theirs.type, f"minicnn raised {ours.type.__name__}, torch {theirs.type.__name__}"


def test_take_along_dim_out_of_range_raises_where_torch_wraps_around():
    # a documented difference: torch 2.x takes index 4 of a size-4 dim as 0; minicnn refuses
    x = np.arange(12.0).reshape(3, 4)
    assert torch.take_along_dim(torch.tensor(x), torch.tensor([[4]]), 1).flatten().tolist() == [0.0, 4.0, 8.0]
    with pytest.raises(RuntimeError, match="out of bounds"):
        ops.take_along_dim(mc.tensor(x), mc.tensor([[4]]), 1)


# -- views: memory shared with the input, in-place writes recorded like torch's -----------------
def _view_cases():
    def diagonal_of_a_non_leaf(o, x):
        y = x * 2
        d = o.diagonal(y, 1, 2, 0)
        d.mul_(3)
        (y * y).sum().backward()
        return [y, d]

    def write_into_a_chunk(o, x):
        y = x * 1
        a, b = o.chunk(y, 2, 1)
        b.add_(a[:, : b.shape[1]] * 2)
        (y * y).sum().backward()
        return [y, a, b]

    def write_into_a_split_piece_and_an_unbound_row(o, x):
        y = x + 0
        first, _ = o.split(y, [1, 1], 0)
        first.pow_(2)
        o.unbind(y, 2)[1].mul_(-1)
        (y * y.exp()).sum().backward()
        return [y]

    def narrow_then_assign(o, x):
        y = x * 3
        v = o.narrow(y, 2, 1, 2)
        v[0] = x[1, :, :2]
        (y * x).sum().backward()
        return [y, v]

    def writing_into_a_view_of_a_leaf_is_refused(o, x):
        o.diagonal(x).add_(1)
        return [x]

    return [v for _, v in sorted(locals().items())]


@pytest.mark.parametrize("case", _view_cases(), ids=lambda f: f.__name__)
def test_in_place_writes_through_views_agree_with_torch(case):
    data = np.random.default_rng(3).uniform(0.5, 2, (2, 3, 3))

    def outcome(o, lib):
        x = lib.tensor(data, requires_grad=True)
        try:
            outs = case(o, x)
        except RuntimeError as exc:
            return "raises", str(exc)
        return [np.asarray(t.detach().numpy()) for t in outs], x.grad.numpy()

    ours, theirs = outcome(ops, mc), outcome(TorchSingleViews(), torch)
    assert (ours[0] == "raises") == (theirs[0] == "raises"), f"minicnn {ours} vs torch {theirs}"
    if ours[0] != "raises":
        for a, b in zip([*ours[0], ours[1]], [*theirs[0], theirs[1]]):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_torch_refuses_what_minicnn_records_through_chunk_views():
    # the difference TorchSingleViews bridges: torch raises, minicnn computes (checked above)
    y = torch.ones(4, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="returns multiple views"):
        torch.chunk(y, 2)[0].add_(1)
    z = mc.ones(4, requires_grad=True) * 1
    ops.chunk(z, 2)[0].add_(1)
    assert z.tolist() == [2.0, 2.0, 1.0, 1.0]


def test_views_share_memory_and_copies_do_not():
    x = mc.tensor(np.arange(12.0).reshape(3, 4))
    views = [ops.narrow(x, 1, 1, 2), *ops.chunk(x, 2, 0), *ops.split(x, 3, 1), *ops.unbind(x, 1), ops.diagonal(x)]
    copies = [
        ops.flip(x, (0,)),
        ops.roll(x, 1),
        ops.repeat(x, 1, 1),
        ops.diag(x),
        ops.tril(x),
        ops.gather(x, 0, mc.zeros(1, 4, dtype=mc.int64)),
    ]
    for v in views:
        assert np.shares_memory(v.array, x.array)
    for c in copies:
        assert not np.shares_memory(c.array, x.array)
    ops.unbind(x, 1)[3].fill_(-1.0)
    assert x.numpy()[:, 3].tolist() == [-1.0, -1.0, -1.0]
    assert x._version == 1 and all(v._version == 1 for v in views)  # one version counter, as in torch
    assert views[-1].tolist() == [0.0, 5.0, 10.0] and views[4].numpy().ravel().tolist() == [-1.0] * 3


def test_scatter_reduce_bool_empty_index_and_float16_sums_as_torch():
    for reduce in ("sum", "prod", "amax", "amin", "mean"):
        for include_self in (True, False):
            args = (0, [0, 0], [False, True], reduce)
            try:
                expected = torch.tensor([True, False]).scatter_reduce(
                    args[0], torch.tensor(args[1]), torch.tensor(args[2]), reduce, include_self=include_self
                )
            except NotImplementedError:
                with pytest.raises(NotImplementedError):
                    mc.tensor([True, False]).scatter_reduce(
                        0, mc.tensor(args[1]), mc.tensor(args[2]), reduce, include_self=include_self
                    )
                continue
            ours = mc.tensor([True, False]).scatter_reduce(
                0, mc.tensor(args[1]), mc.tensor(args[2]), reduce, include_self=include_self
            )
            assert ours.dtype == np.bool_ and ours.numpy().tolist() == expected.tolist()
    empty = np.array([], dtype=np.int64)  # no shape checks when nothing is scattered, as torch
    out = mc.ones(2, 3).scatter_reduce(1, mc.tensor(empty), mc.ones(2, 3), "sum")
    assert (
        out.numpy().tolist()
        == torch.ones(2, 3).scatter_reduce(1, torch.tensor(empty), torch.ones(2, 3), "sum").tolist()
    )
    many = np.zeros(3000, dtype=np.int64)  # a float16 running sum would stall at 2048
    for lib in (mc, torch):
        got = lib.zeros(1, dtype=lib.float16).scatter_reduce(
            0, lib.tensor(many), lib.ones(3000, dtype=lib.float16), "sum"
        )
        assert float(got[0]) == 3000.0
