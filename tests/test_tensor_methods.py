"""torch's Tensor methods that are other spellings of minicnn's ops, tests, masks and factories:
each against torch on hypothesis-generated shapes (forward, and backward where differentiable),
plus float64 gradchecks of the differentiable ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minicnn as mc

SETTINGS = settings(max_examples=30, deadline=None)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4)


def _values(rng, shape, specials=False):
    a = rng.uniform(-3, 3, shape)
    if specials and a.size:
        flat = a.reshape(-1)
        flat[rng.integers(0, a.size, max(1, a.size // 3))] = rng.choice([np.nan, np.inf, -np.inf, 0.0, 1.0])
    return a


@SETTINGS
@given(shapes=pairs, alpha=st.sampled_from([1, 2.5, -1]), seed=st.integers(0, 2**16))
def test_arithmetic_spellings_equal_torch(shapes, alpha, seed):
    rng = np.random.default_rng(seed)
    a, b = (_values(rng, s) for s in shapes.input_shapes)
    b = np.where(np.abs(b) < 0.2, 0.5, b)  # away from 0 for div
    for name, kwargs in (("add", {"alpha": alpha}), ("sub", {"alpha": alpha}), ("mul", {}), ("div", {})):
        compare_with_torch(
            lambda x, y, name=name, kw=kwargs: getattr(x, name)(y, **kw),
            lambda x, y, name=name, kw=kwargs: getattr(x, name)(y, **kw),
            [a, b],
        )
    for ours, theirs in (
        ("subtract", "subtract"),
        ("multiply", "multiply"),
        ("divide", "divide"),
        ("true_divide", "true_divide"),
    ):
        compare_with_torch(lambda x, y, n=ours: getattr(x, n)(y), lambda x, y, n=theirs: getattr(x, n)(y), [a, b])
    compare_with_torch(lambda x: x.neg(), lambda x: x.neg(), [a])
    compare_with_torch(lambda x: x.negative(), lambda x: x.negative(), [a])
    compare_with_torch(
        lambda x, y: x.div(y, rounding_mode="floor"),
        lambda x, y: x.div(y, rounding_mode="floor"),
        [a, b],
        [False, False],
    )
    compare_with_torch(lambda x, y: x.remainder(y), lambda x, y: x.remainder(y), [a, b])
    compare_with_torch(lambda x, y: x.floor_divide(y), lambda x, y: x.floor_divide(y), [a, b], [False, False])


@SETTINGS
@given(shape=shapes, lo=st.floats(-2, 0), hi=st.floats(0, 2), seed=st.integers(0, 2**16))
def test_clamp_min_and_max_equal_torch(shape, lo, hi, seed):
    a = _values(np.random.default_rng(seed), shape)
    compare_with_torch(lambda x: x.clamp_min(lo), lambda x: x.clamp_min(lo), [a])
    compare_with_torch(lambda x: x.clamp_max(hi), lambda x: x.clamp_max(hi), [a])


@SETTINGS
@given(shapes=pairs, value_kind=st.sampled_from(["float", "tensor", "inf"]), seed=st.integers(0, 2**16))
def test_masked_fill_equals_torch(shapes, value_kind, seed):
    rng = np.random.default_rng(seed)
    xs, ms = shapes.input_shapes
    a, mask = _values(rng, xs), rng.random(ms) < 0.5
    if value_kind == "tensor":
        v = np.array(rng.standard_normal())
        compare_with_torch(
            lambda x, m, val: x.masked_fill(m, val), lambda x, m, val: x.masked_fill(m, val), [a, mask, v]
        )
    else:
        val = -np.inf if value_kind == "inf" else 1.5
        with np.errstate(invalid="ignore"):  # the comparison's sum(out * g) meets inf - inf
            compare_with_torch(lambda x, m: x.masked_fill(m, val), lambda x, m: x.masked_fill(m, val), [a, mask])


def test_masked_fill_in_place_and_errors_as_torch():
    for lib in (mc, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.masked_fill_(y > 3, 0.0)
        y.sum().backward()
        assert np.array_equal(x.grad.numpy(), [2.0, 0.0, 0.0]) and np.array_equal(y.detach().numpy(), [2.0, 0.0, 0.0])
        with pytest.raises(RuntimeError, match="only supports boolean masks"):
            x.masked_fill(lib.tensor([1, 0, 1]), 0.0)
        with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
            x.masked_fill(x > 1, lib.tensor([1.0, 2.0]))
        wide = lib.tensor([[True], [False]])
        assert tuple(x.masked_fill(wide, 0.0).shape) == (2, 3)  # out of place: broadcast
        with pytest.raises(RuntimeError, match="shape"):
            x.detach().masked_fill_(wide, 0.0)  # in place: self's shape


def test_gradcheck_masked_fill_and_alpha():
    rng = np.random.default_rng(0)
    x = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    v = mc.tensor(rng.standard_normal(()), requires_grad=True)
    mask = mc.tensor(rng.random((1, 4)) < 0.5)
    assert mc.gradcheck(lambda a, b: a.masked_fill(mask, b), [x, v])
    y = mc.tensor(rng.standard_normal((4,)), requires_grad=True)
    assert mc.gradcheck(lambda a, b: a.add(b, alpha=-2.5).sub(b, alpha=0.5), [x, y])


@SETTINGS
@given(shapes=pairs, seed=st.integers(0, 2**16))
def test_comparisons_and_tests_equal_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    # a few values, so equal pairs are common; nan and inf among them
    a, b = (rng.choice([-1.0, 0.0, 1.0, 2.5, np.nan, np.inf, -np.inf], s) for s in shapes.input_shapes)
    ta, tb = torch.tensor(a), torch.tensor(b)
    ma, mb = mc.tensor(a), mc.tensor(b)
    for name in (
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "greater",
        "greater_equal",
        "less",
        "less_equal",
        "not_equal",
        "logical_and",
        "logical_or",
        "logical_xor",
    ):
        np.testing.assert_array_equal(getattr(ma, name)(mb).numpy(), getattr(ta, name)(tb).numpy(), err_msg=name)
    for name in ("isnan", "isinf", "isfinite", "logical_not"):
        np.testing.assert_array_equal(getattr(ma, name)().numpy(), getattr(ta, name)().numpy(), err_msg=name)
    for equal_nan in (False, True):
        np.testing.assert_array_equal(
            ma.isclose(mb, equal_nan=equal_nan).numpy(), ta.isclose(tb, equal_nan=equal_nan).numpy()
        )
    if a.shape == b.shape:
        assert ma.equal(mb) == torch.equal(ta, tb) and ma.equal(ma) == torch.equal(ta, ta)
        assert ma.allclose(mb) == ta.allclose(tb)
    np.testing.assert_array_equal(ma.nonzero().numpy(), ta.nonzero().numpy())
    for ours, theirs in zip(ma.nonzero(as_tuple=True), ta.nonzero(as_tuple=True)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ma.count_nonzero().item() == ta.count_nonzero().item()
    if a.ndim:
        np.testing.assert_array_equal(ma.count_nonzero(dim=0).numpy(), ta.count_nonzero(dim=0).numpy())


def test_all_any_count_nonzero_dims_and_dtypes_as_torch():
    a = np.array([[1, 0, 3], [0, 0, 2]], dtype=np.uint8)
    for arr in (a, a.astype(np.float64), np.array(2.5), np.zeros((2, 0, 3))):
        ma, ta = mc.tensor(arr), torch.tensor(arr)
        dims = [None, (), 0, -1, (0,), (-1, 0)] if arr.ndim else [None, (), 0, -1, (0,)]
        for dim in dims:
            kw = {} if dim is None else {"dim": dim}
            for name in ("all", "any"):
                ours, theirs = getattr(ma, name)(**kw), getattr(ta, name)(**kw)
                assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), (name, dim)  # uint8 stays
                np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=f"{name} {dim}")
            ours, theirs = ma.count_nonzero(dim), ta.count_nonzero(dim)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=f"count_nonzero {dim}")
            assert ours.shape == tuple(theirs.shape)
    for name in ("all", "any", "count_nonzero"):  # torch's errors, not NumPy's
        for arr, dim, error in ((a, (0, 0), RuntimeError), (a, (1, -1), RuntimeError), (a, 2, IndexError),
                                (np.array(2.5), (0, -1), RuntimeError), (np.array(2.5), 1, IndexError)):  # fmt: skip
            with pytest.raises(error):
                getattr(torch.tensor(arr), name)(dim)
            with pytest.raises(error):
                getattr(mc.tensor(arr), name)(dim)


def test_nonzero_of_0d_tensors_as_torch():
    for v in (0.0, 3.0):
        assert mc.tensor(v).nonzero().shape == tuple(torch.tensor(v).nonzero().shape)


@pytest.mark.parametrize("device", devices())
def test_new_factories_as_torch(device):
    x = mc.tensor([[1.0, 2.0]], dtype=mc.float64, device=device)
    t = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    cases = [
        (lambda z: z.new_zeros(2, 3), None),
        (lambda z: z.new_zeros((2, 3)), None),
        (lambda z: z.new_ones(2), None),
        (lambda z: z.new_full((2,), 3), None),
        (lambda z: z.new_tensor([1, 2]), None),
        (lambda z: z.new_tensor([1.5, 2]), None),
    ]
    for make, _ in cases:
        ours, theirs = make(x), make(t)
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        assert ours.device == x.device
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert x.new_empty(4).shape == (4,) and x.new_ones(2, dtype=mc.int64).dtype == np.int64
    w = x.new_zeros(3, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    src = mc.tensor([1.0, 2.0], requires_grad=True)
    copy = x.new_tensor(src)
    assert not copy.requires_grad and copy.dtype == np.float64
    copy.array[0] = 9.0
    assert src.numpy()[0] == 1.0  # a copy, as torch's new_tensor


def test_type_as_expand_as_reshape_as_mt_swapaxes_as_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4))
    compare_with_torch(lambda x: x.mT, lambda x: x.mT, [a])
    compare_with_torch(lambda x: x.swapaxes(0, 2), lambda x: x.swapaxes(0, 2), [a])
    compare_with_torch(lambda x: x.swapdims(-1, 1), lambda x: x.swapdims(-1, 1), [a])
    compare_with_torch(lambda x, y: x.reshape_as(y), lambda x, y: x.reshape_as(y), [a, np.zeros((4, 6))], [True, False])
    compare_with_torch(
        lambda x, y: x.expand_as(y), lambda x, y: x.expand_as(y), [a[:, :1], np.zeros((5, 2, 3, 4))], [True, False]
    )
    assert (
        mc.tensor([1.5]).type_as(mc.tensor([1])).dtype == torch.tensor([1.5]).type_as(torch.tensor([1])).numpy().dtype
    )
    with pytest.raises(RuntimeError, match="mT"):
        _ = mc.tensor([1.0]).mT


def test_random_fills_in_place_as_torch():
    mc.manual_seed(0)
    w = mc.zeros(1000)
    alias = w[:10]
    assert w.uniform_(-2.0, 3.0) is w
    assert w.numpy().min() >= -2.0 and w.numpy().max() < 3.0 and np.array_equal(alias.numpy(), w.numpy()[:10])
    assert abs(w.normal_(5.0, 0.1).numpy().mean() - 5.0) < 0.05
    p = mc.zeros(3, requires_grad=True)
    tp = torch.zeros(3, requires_grad=True)
    for t in (p, tp):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            t.normal_()
    with mc.no_grad():
        p.uniform_()
    assert p.numpy().any()
    with pytest.raises(RuntimeError, match="not recorded"):
        (p * 2).uniform_()


# -- torch's function forms: mc.sum(x, 1) is x.sum(1) -------------------------------------------


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seed=st.integers(0, 2**16))
def test_function_forms_equal_torchs(shape, seed):
    rng = np.random.default_rng(seed)
    a = rng.choice([-1.0, 0.0, 0.5, 2.0], shape)  # ties on purpose: max/min pick as torch does
    dim = int(rng.integers(0, len(shape)))
    cases = [
        ("sum", (dim,), {}),
        ("mean", (), {"dim": dim, "keepdim": True}),
        ("amax", (dim,), {}),
        ("amin", (), {}),
        ("var", (dim,), {"correction": 0}),  # (a dim of size 1 with correction 1: nan, tested elsewhere)
        ("std", (), {"dim": dim, "correction": 0}),  # ties: equal values give std 0, where torch's gradient is 0
        ("abs", (), {}),
        ("neg", (), {}),
        ("relu", (), {}),
        ("sigmoid", (), {}),
        ("tanh", (), {}),
        ("softmax", (dim,), {}),
        ("log_softmax", (dim,), {"dtype": torch.float64}),
        ("flatten", (), {}),
        ("unsqueeze", (dim,), {}),
        ("squeeze", (), {}),
        ("clone", (), {}),
        ("pow", (2.0,), {}),
        ("mul", (3.0,), {}),
        ("transpose", (0, -1), {}),
        ("reshape", ((-1,),), {}),
        ("permute", (tuple(reversed(range(len(shape)))),), {}),
    ]
    for name, args, kwargs in cases:
        mine_kwargs = {k: (mc.float64 if v is torch.float64 else v) for k, v in kwargs.items()}
        compare_with_torch(
            lambda x, n=name, a=args, k=mine_kwargs: getattr(mc, n)(x, *a, **k),
            lambda x, n=name, a=args, k=kwargs: getattr(torch, n)(x, *a, **k),
            [a],
        )
    for name in ("argmax", "argmin"):
        compare_with_torch(
            lambda x, n=name: getattr(mc, n)(x, dim=dim), lambda x, n=name: getattr(torch, n)(x, dim=dim), [a], [False]
        )
    for name in ("max", "min"):
        compare_with_torch(lambda x, n=name: getattr(mc, n)(x), lambda x, n=name: getattr(torch, n)(x), [a])
        compare_with_torch(  # torch's (values, indices) along a dim: values and their gradient
            lambda x, n=name: getattr(mc, n)(x, dim)[0], lambda x, n=name: getattr(torch, n)(x, dim)[0], [a]
        )
        ours, theirs = (
            getattr(mc, name)(mc.tensor(a), dim, keepdim=True),
            getattr(torch, name)(torch.tensor(a), dim, True),
        )
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        assert ours.values.shape == tuple(theirs.values.shape)
        b = rng.choice([-1.0, 0.5], shape)
        compare_with_torch(
            lambda x, y, n=name: getattr(mc, n)(x, y), lambda x, y, n=name: getattr(torch, n)(x, y), [a, b]
        )
    t = torch.tensor(a)
    for name in ("isnan", "isfinite", "nonzero", "count_nonzero", "numel"):
        ours, theirs = getattr(mc, name)(mc.tensor(a)), getattr(torch, name)(t)
        np.testing.assert_array_equal(
            np.asarray(ours.numpy() if isinstance(ours, mc.Tensor) else ours), np.asarray(theirs)
        )
    assert mc.equal(mc.tensor(a), mc.tensor(a)) and mc.allclose(mc.tensor(a), mc.tensor(a))


def test_torchs_other_names_and_helpers():
    assert (mc.float, mc.double, mc.half, mc.long, mc.int, mc.short) == (
        mc.float32,
        mc.float64,
        mc.float16,
        mc.int64,
        mc.int32,
        mc.int16,
    )
    for ours, theirs in ((mc.float, torch.float), (mc.long, torch.long), (mc.int, torch.int), (mc.half, torch.half)):
        assert str(ours) == str(theirs).removeprefix("torch.")
    assert mc.get_default_dtype() == np.float32 and str(torch.get_default_dtype()) == "torch.float32"
    assert mc.concat is mc.cat and mc.concatenate is mc.cat
    mc.manual_seed(3)
    p = mc.randperm(10)
    assert p.dtype == np.int64 and sorted(p.numpy().tolist()) == list(range(10))
    mc.manual_seed(3)
    assert np.array_equal(mc.randperm(10).numpy(), p.numpy())
    with pytest.raises(RuntimeError):
        mc.randperm(-1)
    x = mc.ones(2, requires_grad=True)
    with mc.inference_mode():
        assert not (x * 2).requires_grad
    with mc.inference_mode(False):
        assert (x * 2).requires_grad

    @mc.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and (x * 2).requires_grad


def test_indexing_and_rearranging_methods_and_functions_equal_torchs():
    """The Tensor methods and mc.<name> functions over minicnn/ops/index.py and ops/shape.py
    (tests/test_index_ops.py checks the ops themselves): torch's call forms, same results."""
    rng = np.random.default_rng(0)
    a = rng.permutation(24).astype(np.float64).reshape(2, 3, 4)  # distinct values: no ties
    idx = rng.integers(0, 3, (2, 3, 4))
    calls = [
        lambda lib, x: x.gather(1, lib.tensor(idx)),
        lambda lib, x: lib.gather(x, 1, lib.tensor(idx)),
        lambda lib, x: x.scatter(1, lib.tensor(idx[:, :1]), 7.0),
        lambda lib, x: x.scatter_add(2, lib.tensor(idx[..., :2]), x[..., :2]),
        lambda lib, x: x.index_select(2, lib.tensor([3, 0])),
        lambda lib, x: lib.take_along_dim(x, lib.tensor(idx), 1),
        lambda lib, x: x.topk(2)[0],
        lambda lib, x: lib.topk(x, 2, dim=1, largest=False).values,
        lambda lib, x: x.sort(descending=True)[0],
        lambda lib, x: lib.sort(x, 0).values,
        lambda lib, x: x.argsort(dim=1) * 1.0,
        lambda lib, x: x.flip(0, 2),
        lambda lib, x: lib.flip(x, (1,)),
        lambda lib, x: x.roll(1, 2),
        lambda lib, x: x.repeat(2, 1, 1),
        lambda lib, x: x.tile(2),
        lambda lib, x: lib.tile(x, (1, 2)),
        lambda lib, x: x.narrow(2, 1, 2),
        lambda lib, x: x.chunk(2, 2)[1],
        lambda lib, x: x.split(3, 2)[0],
        lambda lib, x: lib.split(x, [1, 3], 2)[1],
        lambda lib, x: x.unbind(1)[2],
        lambda lib, x: x.movedim(0, 2),
        lambda lib, x: lib.moveaxis(x, 2, 0),
        lambda lib, x: x[0].diag(),
        lambda lib, x: x.diagonal(0, 1, 2),
        lambda lib, x: x.tril(),
        lambda lib, x: lib.triu(x, 1),
    ]
    for call in calls:
        compare_with_torch(lambda x, c=call: c(mc, x), lambda x, c=call: c(torch, x), [a])
    ours, theirs = mc.tensor(a).topk(3, dim=2), torch.tensor(a).topk(3, dim=2)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_std_and_var_at_zero_spread_and_too_few_values_as_torch():
    for data in ([2.0], [1.0, 1.0], [1.0, 3.0, 4.0]):
        for call in (lambda x: x.var(), lambda x: x.std(), lambda x: x.std(correction=0), lambda x: x.std(0, True)):
            grads = []
            for lib in (mc, torch):
                x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    call(x).backward()
                grads.append((x.grad.numpy(), [str(w.message)[:22] for w in caught]))
            np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
            assert bool(grads[0][1]) == bool(grads[1][1])  # torch's degrees-of-freedom warning, or none


def test_math_methods_and_functions_equal_torchs():
    """Tensor methods and mc.<name> over ops/math.py, reduce.py, linalg.py (tests/test_math_ops.py
    checks the ops themselves): torch's call forms, same results and gradients."""
    rng = np.random.default_rng(1)
    a = rng.uniform(0.2, 0.9, (3, 4))
    m = rng.standard_normal((4, 2))
    unary = "sin cos tan asin acos atan arcsin arccos arctan sinh cosh reciprocal rsqrt square log2 log10 log1p expm1 "
    unary += "exp2 floor ceil trunc fix frac sign"
    for name in unary.split():
        compare_with_torch(lambda x, n=name: getattr(x, n)(), lambda x, n=name: getattr(x, n)(), [a])
        compare_with_torch(lambda x, n=name: getattr(mc, n)(x), lambda x, n=name: getattr(torch, n)(x), [a])
    calls = [
        lambda lib, x: x.round(decimals=1),
        lambda lib, x: lib.round(x),
        lambda lib, x: x.fmod(0.3),
        lambda lib, x: x.hypot(x * 2),
        lambda lib, x: x.atan2(x + 1),
        lambda lib, x: lib.arctan2(x, x + 1),
        lambda lib, x: x.lerp(x * 3, 0.25),
        lambda lib, x: x.prod(1, keepdim=True),
        lambda lib, x: lib.prod(x),
        lambda lib, x: x.cumsum(0),
        lambda lib, x: lib.cumprod(x, 1),
        lambda lib, x: x.logsumexp(1),
        lambda lib, x: x.norm(),
        lambda lib, x: lib.norm(x, 1, 0),
        lambda lib, x: x.dist(x * 2, 3),
        lambda lib, x: x.nansum(0),
        lambda lib, x: x.nanmean(),
        lambda lib, x: x.mm(lib.tensor(m)),
        lambda lib, x: x[None].bmm(lib.tensor(m)[None]),
        lambda lib, x: x.mv(lib.tensor(m[:, 0])),
        lambda lib, x: x[0].dot(x[1]),
        lambda lib, x: x[0].outer(x[1]),
        lambda lib, x: x[0].ger(x[1]),
        lambda lib, x: x[:, :2].addmm(x, lib.tensor(m), beta=0.5, alpha=2.0),
        lambda lib, x: x[:, :3].trace(),
        lambda lib, x: lib.einsum("ij,jk->ik", x, lib.tensor(m)),
    ]
    for call in calls:
        compare_with_torch(lambda x, c=call: c(mc, x), lambda x, c=call: c(torch, x), [a])


INPLACE_CALLS = {
    "clamp_min": (0.5,),
    "clamp_max": (0.5,),
    "fmod": (0.7,),
    "remainder": (0.7,),
    "lerp": ("end", 0.3),
    "cumsum": (0,),
    "cumprod": (1,),
    "floor_divide": (0.3,),
    "atan2": ("end",),
    "arctan2": ("end",),
    "hypot": ("end",),
    "addmm": ("m1", "m2"),
    "scatter": (0, "index", "src"),
    "scatter_add": (0, "index", "src"),
    "scatter_reduce": (0, "index", "src", "amax"),
    "index_add": (0, "rows_index", "rows"),
    "index_reduce": (0, "rows_index", "rows", "prod"),
    "index_copy": (0, "rows_index", "rows"),
    "index_fill": (1, "rows_index", -0.5),
    "index_put": ("index_tuple", "rows", True),
    "masked_scatter": ("mask", "end"),
    "put": ("flat_index", "two", True),
    "renorm": (2, 0, 0.9),
    "clip": (0.4, 0.8),
    "divide": ("end",),
    "multiply": ("end",),
    "subtract": ("end",),
    "true_divide": ("end",),
}


@pytest.mark.parametrize("name", mc.autograd.INPLACE)
def test_inplace_forms_equal_torchs(name):
    """x.<name>_(...) inside a graph (recorded: an alias sees the new values and the gradient
    flows through the write) and outside one (a view sees it), against torch."""
    rng = np.random.default_rng(0)
    a, end = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4))
    results = []
    for lib in (mc, torch):
        extra = {
            "end": lib.tensor(end),
            "m1": lib.tensor(end[:, :2]),
            "m2": lib.tensor(end[:2]),
            "index": lib.tensor([[2, 0, 1, 0]]),
            "src": lib.ones(1, 4, dtype=lib.float64),
            "rows_index": lib.tensor([2, 0]),
            "rows": lib.tensor(end[:2]),
            "index_tuple": (lib.tensor([2, 2]),),
            "mask": lib.tensor(a > 0.5),
            "flat_index": lib.tensor([0, 0, 11]),
            "two": lib.tensor(end[0, :3]),
        }
        args = [extra.get(v, v) if isinstance(v, str) else v for v in INPLACE_CALLS.get(name, ())]
        x = lib.tensor(a, requires_grad=True)
        y = x * 1.5
        alias = y
        getattr(y, f"{name}_")(*args)
        out = [alias.detach().numpy().copy()]
        if name != "floor_divide":  # no derivative, in both
            (alias * alias).sum().backward()
            out.append(x.grad.numpy())
        plain = lib.tensor(a)
        view = plain[1:]
        assert getattr(plain, f"{name}_")(*args) is not None
        out.append(view.numpy().copy())
        results.append(out)
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_inplace_forms_refuse_what_torch_refuses():
    for lib in (mc, torch):
        with pytest.raises(RuntimeError, match="can't be cast"):
            lib.tensor([1, 4]).sqrt_()
        with pytest.raises(RuntimeError, match="leaf"):
            lib.tensor([1.0, 4.0], requires_grad=True).exp_()
        with pytest.raises(RuntimeError):
            lib.tensor([1.0, 4.0]).lerp_(lib.ones(3, 2), 0.5)  # the result would not fit


@pytest.mark.parametrize("device", devices())
def test_new_ops_on_each_device(device):
    """GPU-specific paths of today's additions: CuPy's Generator has no permutation (randperm),
    its scatter-add takes no small ints or bools, a loaded Tensor must stay a leaf there, and
    integer fmod by zero is checked without a host sync."""
    mc.manual_seed(0)
    p = mc.randperm(50, device=device)
    assert p.device == mc.zeros(1, device=device).device and sorted(p.numpy().tolist()) == list(range(50))
    for dtype in (np.int8, np.uint8, np.int16, np.bool_, np.int32, np.float32):
        x = mc.zeros(2, 3, dtype=dtype, device=device)
        src = mc.ones(2, 3, dtype=dtype, device=device)
        idx = mc.tensor([[0, 0, 2], [1, 1, 1]], device=device)
        got = x.scatter_add(1, idx, src).numpy()
        want = torch.zeros(2, 3, dtype=getattr(torch, np.dtype(dtype).name if dtype is not np.bool_ else "bool"))
        want = want.scatter_add(1, torch.tensor([[0, 0, 2], [1, 1, 1]]), torch.ones_like(want)).numpy()
        np.testing.assert_array_equal(got, want)
    buf = __import__("io").BytesIO()
    mc.save({"w": mc.tensor([1.0, 2.0], requires_grad=True)}, buf)
    buf.seek(0)
    w = mc.load(buf, map_location=device)["w"]
    assert w.is_leaf and w.requires_grad
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
    a = mc.tensor([1.0, 2.0], requires_grad=True, device=device)
    b = mc.tensor([3.0], requires_grad=True, device=device)
    ga, gb = mc.autograd.grad((a * 2).sum(), [a, b], materialize_grads=True)
    assert ga.device == gb.device == a.device and np.array_equal(gb.numpy(), [0.0])
    n = a.new_tensor([5.0, 6.0])
    assert n.device == a.device and not n.requires_grad
    with pytest.raises(ZeroDivisionError):
        mc.tensor([3, 4], device=device).fmod(mc.tensor([1, 0], device=device)).numpy()


@SETTINGS
@given(shapes=pairs, mode=st.sampled_from(["floor", "trunc"]), ints=st.booleans(), seed=st.integers(0, 2**16))
def test_div_rounding_modes_equal_torch(shapes, mode, ints, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(-9, 9, s) for s in shapes.input_shapes)
    b = np.where(np.abs(b) < 0.5, 1.5, b)
    if ints:
        a, b = np.round(a).astype(np.int64), np.where(np.round(b) == 0, 3, np.round(b)).astype(np.int64)
    compare_with_torch(
        lambda x, y: x.div(y, rounding_mode=mode),
        lambda x, y: x.div(y, rounding_mode=mode),
        [a, b],
        None if ints else [True, True],  # a zero gradient, as torch's
    )
    compare_with_torch(
        lambda x, y: mc.div(x, y, rounding_mode=mode),
        lambda x, y: torch.div(x, y, rounding_mode=mode),
        [a, b],
        [False, False],
    )


def test_div_rounding_errors_and_in_place_as_torch():
    for lib in (mc, torch):
        with pytest.raises((ZeroDivisionError, RuntimeError)):
            lib.tensor([1, 2]).div(lib.tensor([1, 0]), rounding_mode="floor")
        with pytest.raises((ValueError, RuntimeError), match="rounding_mode"):
            lib.tensor([1.0]).div(2, rounding_mode="round")
        y = lib.tensor([7.0, -7.0])
        y.div_(2, rounding_mode="trunc")
        assert np.array_equal(y.numpy(), [3.0, -3.0])


def test_audit_findings_match_torch():
    """Differences an audit against torch found, each now equal to torch."""
    for d in ([1, 2], [True, False], np.array([3, 4], np.uint8)):  # float functions of ints: float32
        for name in ("sigmoid", "tanh"):
            ours, theirs = getattr(mc.tensor(d), name)(), getattr(torch.tensor(d), name)()
            assert ours.dtype == np.float32 and np.allclose(ours.numpy(), theirs.numpy())
    for d, v in (([0, 2, 0], 2.7), ([True, False, True], 1), ([1.0, 2.0, 3.0], -np.inf)):  # value cast to self's dtype
        m = [False, True, False]
        ours, theirs = mc.tensor(d).masked_fill(mc.tensor(m), v), torch.tensor(d).masked_fill(torch.tensor(m), v)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.") and np.array_equal(
            ours.numpy(), theirs.numpy()
        )
    for lib in (mc, torch):  # einsum with a 0-d operand differentiates
        s, v = lib.tensor(2.0, requires_grad=True), lib.ones(3, requires_grad=True)
        lib.einsum(",i->i", s, v).sum().backward()
        assert s.grad.item() == 3.0 and np.array_equal(v.grad.numpy(), [2.0, 2.0, 2.0])
    values, indices = mc.max(mc.zeros((0, 3)), 1)  # an empty tensor along a non-empty dim
    assert values.shape == indices.shape == (0,)
    with pytest.raises(IndexError, match="reduction dim 0"):  # torch's type
        mc.zeros((0, 3)).max(0)
    assert mc.tensor(np.array([200, 100], np.uint8)).sum().item() == 300  # ints add up in int64
    assert mc.tensor(np.array([200, 100], np.uint8)).sum().dtype == np.int64
    x, t = mc.ones(2, 3), torch.ones(2, 3)
    for call in (
        lambda z: z.flip(dims=(0,)),
        lambda z: z.tile(dims=(2,)),
        lambda z: z.repeat(repeats=(2, 1)),
        lambda z: z.new_zeros(size=(4,)),
        lambda z: z.transpose(dim0=0, dim1=1),
        lambda z: z.permute(dims=(1, 0)),
        lambda z: z.reshape(shape=(6,)),
        lambda z: z.view(size=(3, 2)),
        lambda z: z[:1].expand(size=(4, 3)),
        lambda z: z.maximum(z * 2),
        lambda z: z.mH,
        lambda z: z.H,
    ):
        assert call(x).shape == tuple(call(t).shape)
    assert mc.max(x, other=x * 3).numpy().max() == 3.0 and mc.clip(x, 0, 0.5).numpy().max() == 0.5
    for lib in (mc, torch):
        with pytest.raises(RuntimeError, match="can't be cast"):
            lib.tensor([1, 2]).clamp_(0.5)
    y = mc.tensor([-1.0, 2.0])
    assert mc.nn.functional.relu_(y) is not None and np.array_equal(y.numpy(), [0.0, 2.0])


def test_linear_with_a_vector_weight_as_torch():
    rng = np.random.default_rng(0)
    compare_with_torch(
        lambda x, w: mc.nn.functional.linear(x, w),
        lambda x, w: torch.nn.functional.linear(x, w),
        [rng.standard_normal((2, 4, 3)), rng.standard_normal(3)],
    )
    for lib in (mc, torch):  # with a bias, torch refuses a vector weight
        with pytest.raises((ValueError, RuntimeError)):
            lib.nn.functional.linear(lib.ones(4, 3), lib.ones(3), lib.ones(1))


@pytest.mark.parametrize("device", devices())
def test_mixed_devices_in_losses_and_norms_raise_clearly(device):
    """Arguments passed to an op as raw arrays (BCE's pos_weight, instance norm's running
    statistics) are checked like tensor inputs: on another device, a clear error (on a GPU the
    arithmetic would otherwise fail in CuPy, or half-update the running statistics)."""
    import minicnn.nn.functional as F

    other = "cpu" if device == "cuda" else "cuda"
    x = mc.randn(2, 3, 4, 4, device=device)
    if device == "cpu" and not mc.cuda.is_available():  # the other device is missing: same device, no error
        assert F.binary_cross_entropy_with_logits(x, x.sigmoid(), pos_weight=mc.ones(4)).shape == ()
        return
    with pytest.raises(RuntimeError, match="one device"):
        F.binary_cross_entropy_with_logits(x, x.sigmoid(), pos_weight=mc.ones(4, device=other))
    rm, rv = mc.zeros(3, device=other), mc.ones(3, device=other)
    with pytest.raises(RuntimeError, match="one device"):
        F.instance_norm(x, rm, rv)
    assert np.array_equal(rm.numpy(), np.zeros(3))  # untouched
    with pytest.raises(RuntimeError, match="num_classes"):
        F.one_hot(mc.tensor([0, 1], device=device), num_classes=-2)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("other_dtype", ["float64", "int64", "float32"])
def test_type_as_takes_the_other_tensors_device_kind_like_torch(device: str, other_dtype: str) -> None:
    """torch's ``x.type_as(y)`` is ``x.type(y.type())``: y's dtype and, from the type string, the
    GPU or the CPU (the translation tutorial's ``torch.ones(1, 1).type_as(src.data)`` on a GPU)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3))
    other = mc.zeros(1, dtype=getattr(np, other_dtype), device=device)
    out = mc.tensor(a).type_as(other)
    assert out.device == other.device
    back = mc.tensor(a, device=device).type_as(mc.zeros(1, dtype=getattr(np, other_dtype)))
    assert back.device == "cpu"
    want = torch.tensor(a).type_as(torch.zeros(1, dtype=getattr(torch, other_dtype)))
    np.testing.assert_array_equal(out.cpu().numpy(), want.numpy())
    np.testing.assert_array_equal(back.numpy(), want.numpy())
    if other_dtype.startswith("float"):
        compare_with_torch(
            lambda x: x.type_as(other) * 3, lambda x: x.type_as(torch.zeros(1, dtype=getattr(torch, other_dtype))) * 3,
            [a], dtype=np.float32, device=device,
        )  # fmt: skip
    if other_dtype == "float64":
        x = mc.tensor(a, requires_grad=True)
        assert mc.gradcheck(lambda t: t.type_as(other).sin(), [x])


_SIZE_METHODS = [
    "reshape", "view", "expand", "permute", "repeat", "tile", "flip", "new_zeros", "new_ones", "new_empty",
    "broadcast_to", "sum_to_size", "resize_", "repeat_interleave",
]  # fmt: skip


@pytest.mark.parametrize("name", _SIZE_METHODS)
@pytest.mark.parametrize("shape", [(2, 3), ()])
def test_size_taking_methods_called_with_no_sizes_raise_typeerror_as_torch(name: str, shape: tuple) -> None:
    """A missing size is torch's TypeError (not an empty shape); an empty tuple is a 0-d shape."""
    got = {}
    for lib in (torch, mc):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the type is what is compared
            getattr(lib.ones(shape), name)()
        got[lib.__name__] = caught.type
    assert got["minicnn"] is got["torch"] is TypeError
    if shape == () and name not in ("tile", "flip", "repeat_interleave", "resize_"):  # (those take no ())
        for lib in (torch, mc):
            assert getattr(lib.ones(()), name)(()).shape == ()


@pytest.mark.parametrize("shape", [(2, 3), ()])
@pytest.mark.parametrize("dims", [(), []])
def test_flip_with_an_empty_dims_keyword_flips_nothing_as_torch(shape: tuple, dims: tuple | list) -> None:
    """``x.flip(dims=())`` is an empty set of dims (a copy), not a missing argument."""
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    got, want = mc.tensor(a).flip(dims=dims), torch.tensor(a).flip(dims=dims)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("call", [
    lambda lib, x: lib.reshape(x, ()), lambda lib, x: lib.permute(x, ()), lambda lib, x: x.expand_as(x),
    lambda lib, x: x.reshape_as(x), lambda lib, x: x.view_as(x), lambda lib, x: lib.kron(x, x),
    lambda lib, x: x.clone().resize_as_(x), lambda lib, x: lib.expand_copy(x, ()),
    lambda lib, x: lib.permute_copy(x, ()), lambda lib, x: lib.view_copy(x, ()),
])  # fmt: skip
def test_zero_d_shapes_passed_on_inside_keep_working_as_torch(call) -> None:
    """Ops that hand a 0-d input's empty shape on to reshape/permute/expand still give 0-d."""
    out = {lib.__name__: call(lib, lib.tensor(2.5, dtype=lib.float64)) for lib in (torch, mc)}
    assert tuple(out["minicnn"].shape) == tuple(out["torch"].shape) == ()
    assert out["minicnn"].item() == out["torch"].item()
