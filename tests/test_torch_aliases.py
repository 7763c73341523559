"""torch's top-level forms of F ops, in-place function forms, and the Tensor leftovers
(minicnn/ops/aliases.py, minicnn/ops/aliases_tensor.py, h11_alias in tensor_methods.py),
against torch: values, dtypes, gradients, errors and signatures."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.ops import aliases as A
from minicnn.ops import aliases_tensor as B

SETTINGS = settings(max_examples=25, deadline=None)
RNG = np.random.default_rng(0)


def r(*shape: int, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    return RNG.uniform(low, high, shape)


# ---------------------------------------------------------------------------------------------
# Top-level forms of F ops: (name, arrays, extra positional args); each called as
# mc's and torch's ``<name>(*tensors, *args)``. Gradients of every float input are compared.

X4, W4 = r(2, 4, 5, 5), r(3, 4, 3, 3)
LOGP = np.log(np.random.default_rng(1).dirichlet(np.ones(5), size=3))
F_CASES = [
    ("conv1d", [r(2, 4, 7), r(3, 4, 3), r(3)], (2, 1, 1, 1)),
    ("conv2d", [X4, W4, r(3)], (1, 1, 1, 1)),
    ("conv3d", [r(1, 2, 4, 4, 4), r(3, 2, 2, 2, 2)], (None, 1, 0, 1, 1)),
    ("conv_transpose1d", [r(2, 3, 5), r(3, 2, 3)], (None, 2, 1, 1)),
    ("conv_transpose2d", [r(2, 3, 4, 4), r(3, 2, 3, 3), r(2)], (2, 1, 1)),
    ("conv_transpose3d", [r(1, 2, 3, 3, 3), r(2, 2, 2, 2, 2)], ()),
    ("max_pool1d", [r(2, 3, 9)], (3, 2, 1)),
    ("max_pool2d", [X4], (2,)),
    ("max_pool3d", [r(1, 2, 4, 4, 4)], (2, (), 0, 1, True)),
    ("avg_pool1d", [r(2, 3, 9)], (3, 2, 1, False, False)),
    ("adaptive_avg_pool1d", [r(2, 3, 9)], (4,)),
    ("layer_norm", [X4, r(5, 5), r(5, 5)], lambda f, x, w, b: f(x, (5, 5), w, b, 1e-4)),
    ("group_norm", [X4, r(4), r(4)], lambda f, x, w, b: f(x, 2, w, b)),
    ("rms_norm", [X4, r(5)], lambda f, x, w: f(x, (5,), w, 1e-3)),
    ("pixel_shuffle", [r(1, 8, 2, 3)], (2,)),
    ("pixel_unshuffle", [r(1, 2, 4, 6)], (2,)),
    ("channel_shuffle", [r(1, 6, 2, 2)], (3,)),
    ("cosine_similarity", [r(3, 5), r(3, 5)], (1,)),
    ("pairwise_distance", [r(3, 5), r(3, 5)], (3.0,)),
    ("pdist", [r(4, 3)], (2,)),
    ("celu", [r(3, 4)], (0.7,)),
    ("selu", [r(3, 4)], ()),
    ("rrelu", [r(3, 4)], (0.1, 0.3, False)),
    ("prelu", [r(2, 3, 4), r(3)], ()),
    ("threshold", [r(3, 4)], (0.1, -2.0)),
    ("hardshrink", [r(3, 4)], (0.4,)),
    ("bilinear", [r(3, 4), r(3, 5), r(2, 4, 5), r(2)], ()),
    ("kl_div", [LOGP, np.exp(LOGP[::-1].copy())], (0,)),
    ("kl_div", [LOGP, LOGP[::-1].copy()], (2,)),
    ("binary_cross_entropy_with_logits", [r(3, 4), r(3, 4, low=0), r(3, 4, low=0), r(4, low=0)], (0,)),
    ("binary_cross_entropy_with_logits", [r(3, 4), r(3, 4, low=0)], ()),
    ("cosine_embedding_loss", [r(3, 5), r(3, 5), np.array([1.0, -1.0, 1.0])], (0.2, 2)),
    ("hinge_embedding_loss", [r(3, 5), np.sign(r(3, 5))], (0.5, 0)),
    ("margin_ranking_loss", [r(6), r(6), np.sign(r(6))], (0.1,)),
    ("poisson_nll_loss", [r(3, 4), r(3, 4, low=0, high=3)], (True, False, 1e-8, 1)),
    ("poisson_nll_loss", [r(3, 4, low=0.5, high=2), r(3, 4, low=0, high=3)], (False, True, 1e-8, 2)),
    ("triplet_margin_loss", [r(4, 5), r(4, 5), r(4, 5)], (0.5, 2.0, 1e-6, True, 1)),
    ("constant_pad_nd", [r(2, 3, 4)], ((1, -1, 2, 0), 0.5)),
]


def _call(lib, name, tensors, args):
    f = getattr(A, name) if lib is mc else getattr(torch, name)
    return args(f, *tensors) if callable(args) else f(*tensors, *args)


@pytest.mark.parametrize(("name", "arrays", "args"), F_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(F_CASES)])
def test_top_level_forms_equal_torchs(name, arrays, args):
    grads = [True] + [False] * (len(arrays) - 1) if name == "binary_cross_entropy_with_logits" else None  # weights
    compare_with_torch(
        lambda *t: _call(mc, name, t, args),
        lambda *t: _call(torch, name, t, args),
        arrays,
        rtol=1e-7,
        atol=1e-9,
        grad_inputs=grads,
    )
    assert hasattr(mc.ops, name) or name in UNEXPORTED_IN_OPS, name


# names where minicnn.ops keeps F's op or a submodule (functions.py must take them from ops.aliases)
UNEXPORTED_IN_OPS = {"batch_norm", "bilinear", "celu", "conv1d", "conv3d", "dropout", "embedding", "max_pool2d"}
UNEXPORTED_IN_OPS |= {"pdist", "selu", "threshold"}


def test_norms_and_embedding_take_atens_argument_order():
    x, w, b = r(4, 3, 5), r(3), r(3)
    for training in (True, False):
        outs, stats = [], []
        for lib, f in ((mc, A.batch_norm), (torch, torch.batch_norm)):
            rm, rv = lib.tensor(r(3) * 0), lib.tensor(np.ones(3))
            xt = lib.tensor(x, requires_grad=True)
            out = f(xt, lib.tensor(w), lib.tensor(b), rm, rv, training, 0.3, 1e-5, False)
            out.sum().backward() if training else None
            outs.append(out.detach().numpy())
            stats.append((rm.numpy(), rv.numpy()))
        np.testing.assert_allclose(outs[0], outs[1], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(stats[0], stats[1], rtol=1e-9, atol=1e-9)
        ours = A.instance_norm(mc.tensor(x), mc.tensor(w), mc.tensor(b), None, None, True, 0.1, 1e-5, False)
        theirs = torch.instance_norm(
            torch.tensor(x), torch.tensor(w), torch.tensor(b), None, None, True, 0.1, 1e-5, False
        )
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-9)
    weight, idx = r(6, 3), np.array([[0, 2, 5], [2, 2, 1]])
    for pad in (-1, 2):
        compare_with_torch(
            lambda w, i, p=pad: A.embedding(w, i, p),
            lambda w, i, p=pad: torch.embedding(w, i, p),
            [weight, idx],
            rtol=1e-12,
        )
    values, indices = A.adaptive_max_pool1d(mc.tensor(r(2, 3, 9)), 4)
    assert values.shape == (2, 3, 4) and indices.dtype == np.int64


def test_dropout_forms_follow_torchs_positional_train():
    x = mc.ones(200, 50, dtype=mc.float64)
    for f in (A.dropout, A.alpha_dropout, A.feature_alpha_dropout):
        assert (f(x, 0.5, False).numpy() == 1).all()
        with pytest.raises(TypeError):
            f(x, 0.5)  # torch's train has no default
    mc.manual_seed(0)
    y = A.dropout(x, 0.25, True).numpy()
    assert set(np.unique(y)) <= {0.0, 1 / 0.75} and abs((y == 0).mean() - 0.25) < 0.02
    z = mc.ones(4, 3)
    assert A.dropout_(z, 1.0, True) is not None and (z.numpy() == 0).all()
    v = mc.full((3,), -1.0)
    A.celu_(v, 2.0), A.threshold_(mc.ones(2), 0.5, 0.0), A.rrelu_(mc.ones(2))
    np.testing.assert_allclose(v.numpy(), torch.celu(torch.full((3,), -1.0), 2.0).numpy(), rtol=1e-6)
    assert (A.selu_(mc.zeros(2)).numpy() == 0).all()


def test_int_reduction_and_sampler_modes():
    with pytest.raises(ValueError, match="reduction"):
        A.kl_div(mc.zeros(2), mc.zeros(2), 3)
    x, theta = r(1, 2, 4, 5), r(1, 2, 3)
    grid = torch.nn.functional.affine_grid(torch.tensor(theta), (1, 2, 3, 3), align_corners=False).numpy()
    for interp in (0, 1, 2):
        for pad in (0, 1, 2):
            compare_with_torch(
                lambda a, g, i=interp, p=pad: A.grid_sampler(a, g, i, p, False),
                lambda a, g, i=interp, p=pad: torch.grid_sampler(a, g, i, p, False),
                [x, grid],
                grad_inputs=[True, interp != 1],
            )
    with pytest.raises(ValueError, match="grid_sampler"):
        A.grid_sampler(mc.tensor(x), mc.tensor(grid), 3, 0, False)
    for align in (True, False):
        compare_with_torch(
            lambda t, a=align: A.affine_grid_generator(t, (1, 2, 3, 4), a),
            lambda t, a=align: torch.affine_grid_generator(t, (1, 2, 3, 4), a),
            [theta],
        )


# ---------------------------------------------------------------------------------------------
# In-place function forms: mc.<name>_(x, ...) is x.<name>_(...)

INPLACE_ARGS = {
    "clamp": (0.2, 0.6), "clip": (0.2, None), "clamp_max": (0.5,), "clamp_min": (0.5,), "fill": (2.5,),
    "addmv": ("m", "v"), "xlogy": (0.5,), "ldexp": ("i",), "index_put": (("idx",), "vals"), "logit": (1e-3,),
    "resize_as": ("tmpl",),
}  # fmt: skip


@pytest.mark.parametrize("name", A.INPLACE_FUNCTIONS)
def test_inplace_function_forms_equal_torchs(name):
    ints = name in ("gcd", "lcm")
    a = np.array([[2, 4, 6], [3, 9, 5]]) if ints else RNG.uniform(0.1, 0.9, (2,) if name == "addmv" else (2, 3))
    results = []
    for lib in (mc, torch):
        extra = {
            "m": lib.ones(2, 4, dtype=lib.float64), "v": lib.ones(4, dtype=lib.float64),
            "i": lib.tensor([[1, 2, 0], [0, 1, 2]]), "tmpl": lib.zeros(3, 2), "idx": lib.tensor([1, 0]),
            "vals": lib.tensor([5.0, 6.0, 7.0], dtype=lib.float64),
        }  # fmt: skip
        args = [extra.get(v, v) if isinstance(v, str) else v for v in INPLACE_ARGS.get(name, ())]
        args = [tuple(extra[i] for i in v) if isinstance(v, tuple) and name == "index_put" else v for v in args]
        if ints:
            args = [lib.tensor([[4, 6, 4], [6, 3, 10]])]
        x = lib.tensor(a)
        fn = getattr(A if lib is mc else torch, f"{name}_")
        out = fn(x, *args)
        assert out is x or name == "detach"
        results.append(x.numpy().copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_inplace_function_forms_refuse_as_torch():
    for lib, mod in ((mc, A), (torch, torch)):
        with pytest.raises(RuntimeError, match="leaf"):
            mod.exp_(lib.tensor([1.0, 2.0], requires_grad=True))
        with pytest.raises(RuntimeError, match="can't be cast"):
            mod.sqrt_(lib.tensor([1, 4]))
        with pytest.raises(TypeError):
            mod.exp_([1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# Tensor in-place leftovers

COMPARE = ("eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less", "less_equal", "greater", "greater_equal")
LOGICAL = ("logical_and", "logical_or", "logical_xor", "logical_not")
ARITH = {"clip": (0.4, 0.8), "divide": ("end",), "multiply": ("end",), "subtract": ("end",),
         "true_divide": ("end",), "negative": ()}  # fmt: skip


@pytest.mark.parametrize("name", COMPARE + LOGICAL + tuple(ARITH))
def test_tensor_inplace_leftovers_equal_torchs(name):
    """As tests/test_tensor_methods.py's in-place check: in a graph (aliases see the values,
    gradients as torch's: zero through a comparison, untouched by the logical ops) and outside
    one (a view sees the write); on float, integer and bool tensors."""
    rng = np.random.default_rng(1)
    a, end = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0.1, 0.9, (3, 4))
    a[0, :2] = end[0, :2]  # ties for eq/ne/le/ge
    results = []
    for lib in (mc, torch):
        args = [
            lib.tensor(end) if v == "end" else v for v in ARITH.get(name, ("end",) if name != "logical_not" else ())
        ]
        x = lib.tensor(a, requires_grad=True)
        y = x * 1.5
        alias = y
        getattr(y, f"{name}_")(*args)
        out = [alias.detach().numpy().copy()]
        (alias * alias).sum().backward()
        out.append(x.grad.numpy())
        plain = lib.tensor(a)
        view = plain[1:]
        getattr(plain, f"{name}_")(*args)
        out.append(view.numpy().copy())
        if name in COMPARE + LOGICAL:
            for dt, b in ((lib.int64, [[1, 2, 3]]), (lib.bool, [[True, False, True]])):
                t = lib.tensor(b, dtype=dt)
                other = () if name == "logical_not" else (lib.tensor([[2, 0, 3]], dtype=dt),)
                getattr(t, f"{name}_")(*other)
                out.append(t.numpy().copy())
        results.append(out)
    for ours, theirs in zip(*results):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_tensor_inplace_leftovers_errors_as_torchs():
    for lib in (mc, torch):
        with pytest.raises(RuntimeError, match="float_power_"):
            lib.tensor([1.0, 2.0]).float_power_(2)
        with pytest.raises(RuntimeError, match="leaf"):
            lib.tensor([1.0, 2.0], requires_grad=True).ge_(1.0)
        with pytest.raises(RuntimeError):
            lib.tensor([1.0, 2.0]).lt_(lib.ones(3, 2))
        with pytest.raises(RuntimeError):
            lib.tensor([1.0, 2.0]).logical_and_(lib.ones(3, 2))
        lib.tensor([1.0, 2.0], requires_grad=True).logical_not_()  # torch's autograd does not see it
        x = lib.tensor([1.0, 4.0], dtype=lib.float64)
        x.float_power_(0.5)
        np.testing.assert_allclose(x.numpy(), [1.0, 2.0])


def test_tensor_leftovers_equal_torchs():
    cond = RNG.uniform(size=(3, 4)) > 0.5
    x, y = r(3, 4), r(4)
    compare_with_torch(lambda a, b: a.where(mc.tensor(cond), b), lambda a, b: a.where(torch.tensor(cond), b), [x, y])
    compare_with_torch(lambda a, w: a.prelu(w), lambda a, w: a.prelu(w), [r(2, 3, 4), r(3)])
    compare_with_torch(lambda a: a.adjoint(), lambda a: a.adjoint(), [r(2, 3, 4)])
    compare_with_torch(lambda a: B.adjoint(a), torch.adjoint, [r(3, 4)])
    with pytest.raises(RuntimeError, match="adjoint"):
        mc.ones(3).adjoint()
    v = np.array([-3.7, 0.2, 130.0, 300.0])
    for m in ("byte", "char", "short"):
        ours, theirs = getattr(mc.tensor(v), m)(), getattr(torch.tensor(v), m)()
        assert ours.dtype == np.dtype(str(theirs.dtype)[6:])
        np.testing.assert_array_equal(ours.numpy()[:3], theirs.numpy()[:3])  # (300 overflows: undefined)


def test_resize_as_torch():
    for lib in (mc, torch):
        t = lib.arange(6.0)
        before = t.array if lib is mc else t.clone()  # (torch refuses to grow memory .numpy() has seen)
        t.resize_(2, 2)
        assert tuple(t.shape) == (2, 2) and t.tolist() == [[0.0, 1.0], [2.0, 3.0]]
        t[0, 0] = 9.0
        assert before[0] == (9.0 if lib is mc else 0.0)  # shrinking keeps the memory
        t.resize_((3, 3))
        assert tuple(t.shape) == (3, 3) and t.reshape(-1)[:4].tolist() == [9.0, 1.0, 2.0, 3.0]
        t.resize_as_(lib.zeros(4))
        assert tuple(t.shape) == (4,)
        with pytest.raises(RuntimeError, match="resize"):
            lib.ones(2, requires_grad=True).resize_(2)


def test_resize_keeps_the_memory_order_of_a_transposed_tensor():
    for size in ((6,), (2, 2), (7,)):
        ours, theirs = mc.tensor(np.arange(6.0)).reshape(2, 3).t(), torch.arange(6.0).reshape(2, 3).t()
        ours.resize_(*size)
        theirs.resize_(*size)
        n = min(6, int(np.prod(size)))  # growing leaves the new elements uninitialised
        assert ours.reshape(-1)[:n].tolist() == theirs.reshape(-1)[:n].tolist()
    with pytest.raises(RuntimeError, match="one block of memory"):
        mc.tensor(np.arange(6.0)).reshape(2, 3)[:, ::2].resize_(4)


# ---------------------------------------------------------------------------------------------
# as_strided


@st.composite
def strided_cases(draw):
    ndim = draw(st.integers(1, 3))
    size = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    stride = tuple(draw(st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim)))
    offset = draw(st.integers(0, 3))
    span = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    extra = draw(st.integers(0, 3))
    numel = offset + span + extra
    shape = draw(st.sampled_from([(numel,), (1, numel)]))
    return shape, size, stride, offset


@SETTINGS
@given(strided_cases())
def test_as_strided_equals_torch_overlapping_windows_included(case):
    shape, size, stride, offset = case
    x = np.random.default_rng(len(size)).standard_normal(shape)
    compare_with_torch(
        lambda t: mc.Tensor.as_strided(t, size, stride, offset),
        lambda t: torch.as_strided(t, size, stride, offset),
        [x],
    )


def test_as_strided_view_gradcheck_and_errors():
    x = mc.arange(12.0)
    y = B.as_strided(x, (3, 3), (3, 1))
    x[4] = 40.0
    assert y[1, 1].item() == 40.0  # a view of x's memory
    z = B.as_strided(x.reshape(3, 4), (2, 2), (1, 2), 1)
    np.testing.assert_array_equal(z.numpy(), torch.as_strided(torch.tensor(x.numpy()), (2, 2), (1, 2), 1).numpy())
    a = mc.tensor(RNG.standard_normal(8), requires_grad=True)
    assert mc.gradcheck(lambda t: B.as_strided(t, (3, 3), (2, 1), 1), (a,))
    assert mc.gradgradcheck(lambda t: B.as_strided(t, (3, 3), (2, 1), 1) ** 2, (a,))
    double_backward_like_torch(
        lambda t: B.as_strided(t, (2, 4), (1, 1)) ** 3, lambda t: torch.as_strided(t, (2, 4), (1, 1)) ** 3, [r(6)]
    )
    for args, match in (((3, 3), (2, 2)), "out of bounds"), (((2,), (1, 1)), "mismatch"), (((2,), (-1,)), "negative"):
        with pytest.raises(RuntimeError, match=match):
            B.as_strided(mc.zeros(6), *args)
    with pytest.raises(RuntimeError):
        torch.as_strided(torch.zeros(6), (3, 3), (2, 2))


@pytest.mark.parametrize(
    "view",
    [
        lambda t: t.t(),  # transposed: torch reads the storage in memory order, not the C order of t.t()
        lambda t: t.reshape(2, 2, 3).permute(2, 0, 1),
        lambda t: t.t() * 2.0,  # an elementwise result keeps its input's layout, in torch as in NumPy
        lambda t: t[1:],  # a contiguous slice: torch's default storage offset is its own (4)
    ],
)
def test_as_strided_reads_memory_order_of_permuted_and_sliced_inputs(view):
    def fn(lib):
        return lambda t: lib.as_strided(view(t), (2, 3), (1, 2)) * t.new_tensor(np.arange(6.0).reshape(2, 3))

    compare_with_torch(fn(B), fn(torch), [r(3, 4)])
    for lib in (mc, torch):  # torch's identity: x.as_strided(x.size(), x.stride(), x.storage_offset()) is x
        x = view(lib.tensor(np.arange(12.0).reshape(3, 4)))
        y = x.as_strided(x.size(), x.stride(), x.storage_offset())
        assert y.tolist() == x.tolist()


def test_as_strided_refuses_inputs_whose_storage_minicnn_cannot_see():
    x = mc.tensor(np.arange(12.0).reshape(3, 4))
    for bad in (x[:, ::2], mc.zeros(3).expand(2, 3)):  # gaps / shared memory: torch reads the base's storage
        with pytest.raises(RuntimeError, match="one block of memory"):
            B.as_strided(bad, (2,), (1,))
    with pytest.raises(RuntimeError, match="before the input's first element"):
        B.as_strided(x[1:], (2,), (1,), 0)
    np.testing.assert_array_equal(B.as_strided(x[1:], (2,), (1,), 5).numpy(), [5.0, 6.0])


@pytest.mark.parametrize("device", devices())
def test_aliases_on_each_device(device):
    x = mc.tensor(np.arange(8.0), requires_grad=True, device=device)
    y = B.as_strided(x, (3, 3), (2, 1))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 2, 1, 2, 1, 1, 0])
    x.grad = None
    y = B.as_strided(x.reshape(2, 4).t(), (3,), (2,), 1)  # memory order: elements 1, 3, 5 of x
    np.testing.assert_array_equal(y.numpy(), [1.0, 3.0, 5.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 0, 1, 0, 1, 0, 0])
    t = mc.tensor([[0.5, 2.0]], device=device)
    t.ge_(1.0)
    np.testing.assert_array_equal(t.numpy(), [[0.0, 1.0]])
    assert A.max_pool2d(mc.ones(1, 1, 4, 4, device=device), 2).shape == (1, 1, 2, 2)
    assert A.exp_(mc.zeros(2, device=device)).numpy().tolist() == [1.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert B.range(0, 2, device=device).device == t.device
    assert B.logspace(0, 1, 2, device=device).device == t.device
    assert B.scalar_tensor(2, device=device).device == t.device
    assert B.asarray(t) is t


# ---------------------------------------------------------------------------------------------
# Small functions: makers, dtype rules, one-line forms


def test_makers_equal_torchs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args, kw in (((1, 4), {}), ((0, 1, 0.3), {}), ((-1, 2.5, 0.5), {}), ((1, 4), {"dtype": "int64"})):
            ours = B.range(*args, **{k: np.dtype(v) for k, v in kw.items()})
            theirs = torch.range(*args, **{k: getattr(torch, v) for k, v in kw.items()})
            assert ours.dtype == np.dtype(str(theirs.dtype)[6:])
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7)
    with pytest.warns(UserWarning, match="deprecated"):
        B.range(0, 1)
    for args in ((0, 2, 3), (-1, 1, 5, 2.0), (1, 0, 4, 3)):
        np.testing.assert_allclose(B.logspace(*args).numpy(), torch.logspace(*args).numpy(), rtol=1e-6)
    assert B.logspace(0, 2, 3, dtype=mc.int64).numpy().tolist() == torch.logspace(0, 2, 3, dtype=torch.int64).tolist()
    for s in (3, 2.5, True):
        ours, theirs = B.scalar_tensor(s), torch.scalar_tensor(s)
        assert ours.shape == () and ours.dtype == np.float32 and ours.item() == theirs.item()
    assert B.scalar_tensor(3, dtype=mc.int64).dtype == np.int64
    buf = bytearray(np.arange(5, dtype=np.int32).tobytes())
    for kw in ({}, {"count": 2, "offset": 4}, {"offset": 8}):
        ours, theirs = B.frombuffer(buf, dtype=mc.int32, **kw), torch.frombuffer(buf, dtype=torch.int32, **kw)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = B.frombuffer(buf, dtype=mc.int32)
    ours[0] = 7
    assert np.frombuffer(buf, np.int32)[0] == 7  # shares the buffer
    with pytest.raises(ValueError):
        B.frombuffer(buf, dtype=mc.int32, count=6)
    t = mc.arange(3.0)
    back = torch.from_dlpack(B.to_dlpack(t))
    back[0] = 7.0
    assert t.tolist() == [7.0, 1.0, 2.0] and B.get_device(t) == torch.get_device(back) == -1
    for src in (np.arange(3.0), torch.arange(4)):
        t = B.from_dlpack(src)
        np.testing.assert_array_equal(t.numpy(), np.asarray(src))
        t[0] = 9
        assert np.asarray(src)[0] == 9  # shared memory


@pytest.mark.parametrize("start", [0, 0.5, -1.5, 2, 3.7])
def test_integer_logspace_and_range_truncate_as_torch(start):
    """torch counts in int64 for an integer dtype: truncated ends (and step), truncated powers."""
    for end, steps, base in ((1, 5, 10.0), (2, 4, 2.5), (-2.5, 3, 2.0), (2.9, 1, 10.0), (0, 7, 0.5)):
        ours = B.logspace(start, end, steps, base, dtype=mc.int64)
        assert ours.tolist() == torch.logspace(start, end, steps, base, dtype=torch.int64).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for end, step in ((5.9, 1), (5.9, 1.5), (-2.5, -1), (-2.5, -2.7)):
            ours = B.range(start, end, step, dtype=mc.int64)
            assert ours.tolist() == torch.range(start, end, step, dtype=torch.int64).tolist()
    for lib, f in ((mc, B.logspace), (torch, torch.logspace)):
        with pytest.raises((TypeError, NotImplementedError)):
            f(0, 1, 3, dtype=lib.bool)


def test_buffers_and_dlpack_capsules_as_torch():
    import array

    for obj in (bytearray(8), array.array("i", [1, 2]), memoryview(np.array([1.0, 2.0]))):
        ours, theirs = B.asarray(obj), torch.asarray(obj)  # torch: the raw bytes as the default float dtype
        assert ours.dtype == np.float32 and ours.tolist() == theirs.tolist()
    buf = bytearray(8)
    B.asarray(buf, dtype=mc.int32)[1] = 7
    assert np.frombuffer(buf, np.int32).tolist() == [0, 7]  # shares the buffer
    B.asarray(buf, dtype=mc.int32, copy=True)[0] = 5
    assert np.frombuffer(buf, np.int32).tolist() == [0, 7]
    for lib, f in ((mc, B.frombuffer), (torch, torch.frombuffer)):
        with pytest.raises(ValueError, match="must not be 0"):
            f(bytearray(0), dtype=lib.int32)
        with pytest.warns(UserWarning, match="not writable"):
            assert f(b"\x01\x00\x00\x00", dtype=lib.int32).tolist() == [1]
    for lib, f in ((mc, B.asarray), (torch, torch.asarray)):
        assert tuple(f([lib.tensor([1.0]), lib.tensor([2.0])]).shape) == (2,)  # one-element tensors are scalars
        with pytest.raises(ValueError, match="one element"):
            f([lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])])
    for capsule in (torch.to_dlpack(torch.arange(3.0)), B.to_dlpack(mc.arange(3.0))):
        assert B.from_dlpack(capsule).tolist() == [0.0, 1.0, 2.0]


def test_norms_chain_matmul_and_rsub_refuse_and_accept_as_torch():
    y = r(2, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args in ((), (True,)):  # the default dims are the last two, for any batch
            np.testing.assert_allclose(
                B.nuclear_norm(mc.tensor(y), *args).numpy(), torch.nuclear_norm(torch.tensor(y), *args).numpy()
            )
        m, v = r(2, 2), r(2)
        for lib, f in ((mc, B.chain_matmul), (torch, torch.chain_matmul)):
            with pytest.raises(RuntimeError, match="expected 2"):
                f(lib.tensor(m), lib.tensor(v))
    for lib, f in ((mc, B.rsub), (torch, torch.rsub)):
        with pytest.raises(RuntimeError, match="(?i)alpha must not be a floating point"):
            f(lib.tensor([1, 2]), 2, alpha=0.5)


def test_asarray_follows_torchs_copy_rules():
    n = np.ones(3)
    for lib in (mc, torch):
        a = lib.asarray(n) if lib is torch else B.asarray(n)
        assert a.dtype == (np.float64 if lib is mc else torch.float64)
    a = B.asarray(n)
    a[0] = 5.0
    assert n[0] == 5.0  # shares NumPy's memory
    assert B.asarray(n, copy=True).numpy() is not n and not np.shares_memory(B.asarray(n, copy=True).numpy(), n)
    assert B.asarray(n, dtype=mc.float32).dtype == np.float32
    for lib, f in ((mc, B.asarray), (torch, torch.asarray)):
        with pytest.raises(ValueError, match="alias"):
            f(n, dtype=lib.float32, copy=False)
        with pytest.raises(ValueError, match="alias"):
            f(lib.tensor(n), dtype=lib.float32, copy=False)
    for obj in ([1, 2], [1.0, 2], 3.0, True, [[True, False]]):
        assert B.asarray(obj).dtype == np.dtype(str(torch.asarray(obj).dtype)[6:])
    x = mc.ones(2, requires_grad=True)
    y = x * 2
    assert B.asarray(y) is y and B.asarray(x) is x
    c = B.asarray(y, copy=True)
    assert c is not y and c.requires_grad  # a clone in the graph, as torch's
    assert B.asarray(mc.ones(2), requires_grad=True).requires_grad


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_dtype_rules_equal_torchs():
    for a in DTYPES:
        for b in DTYPES:
            ta, tb = getattr(torch, a), getattr(torch, b)
            assert B.promote_types(np.dtype(a), np.dtype(b)) == np.dtype(str(torch.promote_types(ta, tb))[6:]), (a, b)
            assert B.can_cast(np.dtype(a), np.dtype(b)) == torch.can_cast(ta, tb), (a, b)
    operands = [
        (np.array([1, 2]), 1.0), (np.array([1.0], np.float32), np.array(1.0)), (np.array([1], np.uint8), 300),
        (np.array([True]), np.array([1], np.int8)), (np.array([1], np.int32), np.array(2.5)),
    ]  # fmt: skip
    for a, b in operands:
        ours = B.result_type(mc.tensor(a), mc.tensor(b) if isinstance(b, np.ndarray) else b)
        theirs = torch.result_type(torch.tensor(a), torch.tensor(b) if isinstance(b, np.ndarray) else b)
        assert ours == np.dtype(str(theirs)[6:]), (a, b)


def test_one_line_forms_equal_torchs():
    compare_with_torch(lambda a: B.rsub(a, 5.0, alpha=2), lambda a: torch.rsub(a, 5.0, alpha=2), [r(3)])
    compare_with_torch(lambda a, b: B.rsub(a, b), lambda a, b: torch.rsub(a, b), [r(3), r(2, 3)])
    compare_with_torch(lambda a: B.fill(a, 2.5) * a, lambda a: torch.fill(a, 2.5) * a, [r(3)])
    compare_with_torch(lambda a, v: B.fill(a, v), lambda a, v: torch.fill(a, v), [r(2, 3), np.array(1.5)])
    with pytest.raises(RuntimeError, match="0-dimension"):
        B.fill(mc.zeros(2), mc.ones(2))
    x = mc.ones(2, requires_grad=True)
    d = B.detach(x)
    assert not d.requires_grad and np.shares_memory(d.array, x.array)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_with_torch(B.chain_matmul, torch.chain_matmul, [r(2, 3), r(3, 4), r(4, 2)])
        compare_with_torch(B.chain_matmul, torch.chain_matmul, [r(2, 3)])
    warnings.filterwarnings("ignore", "at::.*is deprecated", UserWarning)  # torch's, for frobenius/nuclear_norm
    compare_with_torch(lambda a: B.frobenius_norm(a, (1, 2)), lambda a: torch.frobenius_norm(a, (1, 2)), [r(2, 3, 4)])
    compare_with_torch(lambda a: B.frobenius_norm(a, 0, True), lambda a: torch.frobenius_norm(a, 0, True), [r(3, 4)])
    compare_with_torch(B.nuclear_norm, torch.nuclear_norm, [r(3, 4)], rtol=1e-8)
    compare_with_torch(
        lambda a: B.nuclear_norm(a, (0, 2), True),
        lambda a: torch.nuclear_norm(a, (0, 2), True),
        [r(3, 2, 4)],
        rtol=1e-8,
    )
    compare_with_torch(lambda a: B.nuclear_norm(a, True), lambda a: torch.nuclear_norm(a, True), [r(3, 3)], rtol=1e-8)


# ---------------------------------------------------------------------------------------------
# Signatures: tests/test_signatures.py compares every top-level name with torch's (the doc lines
# of torch's builtins without a docstring are in its UNDOCUMENTED_TORCH).


def test_in_place_function_forms_take_the_methods_signatures():
    assert set(inspect.signature(A.exp_).parameters) == {"input"}
    assert list(inspect.signature(A.clamp_).parameters) == ["input", "min", "max"]
