"""Second derivatives (``create_graph=True``) left over from the audits, against torch:

* a linear op with several float inputs (cat, stack, add...) runs its raw backward once per
  gradient under create_graph, not once per input (every input's Adjoint shares the result);
* hardshrink and softshrink tie their constant first gradient to the input, as torch's, so
  differentiating it again gives zeros instead of an error;
* sum, mean, var and std of empty tensors, and var without degrees of freedom (n <= correction),
  first and second order (torch's inf, NaN and unclamped 2 / (n - correction));
* the nuclear norm's second derivative, through the polar factor U V^T (a Function with the
  closed-form derivative), also batched, tall, wide and at repeated singular values;
* the in-place check under create_graph looks only at what an op's graph form reads: an input
  written after the forward is fine for ops whose graph form reads their output (tanh,
  sigmoid, softmax... as torch) or only a mask made in forward (relu, leaky_relu, shrink...).

Where torch is not the oracle: at repeated singular values torch's second derivative of the
nuclear norm is NaN (it differentiates through the SVD's U and V, whose derivative divides by
s_i^2 - s_j^2), while the polar factor's derivative is finite there; that case is checked by
``mc.gradgradcheck`` (and torch's NaN asserted, so a change in torch shows). The shrinks'
gradient at NaN follows torch's formula (and GPU), not its vectorised CPU loop. Mask-reading
ops whose input torch saves (leaky_relu, hardtanh...) are compared with torch without the write.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF  # noqa: N812
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.autograd import Function
from minicnn.ops import activation as A
from minicnn.ops import reduce as R
from minicnn.ops import shape as S
from minicnn.ops.linalg import PolarFactor

SETTINGS = settings(max_examples=12, deadline=None)
seeds = st.integers(0, 2**16)


def square(f):
    """``f(xs) * f(xs)``: a linear f, made to have a second derivative in its inputs."""

    def g(*xs):
        y = f(*xs)
        return y * y

    return g


def gg(fn, *arrays, device="cpu"):
    """``mc.gradgradcheck`` of fn on float64 tensors that all require grad."""
    assert mc.gradgradcheck(fn, [mc.tensor(a, requires_grad=True, device=device) for a in arrays])


# -- 1. one raw backward per gradient for a linear op with many inputs -----------------------


def counting(monkeypatch, cls):
    """Patch ``cls.backward`` to count its calls; returns the list of calls."""
    calls = []
    raw = cls.backward

    def backward(self, gy):
        calls.append(gy.shape)
        return raw(self, gy)

    monkeypatch.setattr(cls, "backward", backward)
    return calls


@pytest.mark.parametrize("op", ["cat", "stack"])
def test_cat_and_stack_run_their_backward_once_under_create_graph(monkeypatch, op):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3)) for _ in range(4)]
    calls = counting(monkeypatch, S.Concat if op == "cat" else S.Stack)
    xs = [mc.tensor(a, requires_grad=True) for a in arrays]
    y = getattr(mc, op)(xs, 1)
    v = mc.tensor(rng.standard_normal(y.shape), requires_grad=True)
    grads = mc.autograd.grad(y, xs, v, create_graph=True)
    assert len(calls) == 1  # was one per input (4)
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    vt = torch.tensor(v.numpy(), requires_grad=True)
    tgrads = torch.autograd.grad(getattr(torch, op)(xt, 1), xt, vt, create_graph=True)
    for m, t in zip(grads, tgrads):
        np.testing.assert_array_equal(m.numpy(), t.detach().numpy())
    # the gradients' own derivative (the op applied again) is unchanged
    w = [rng.standard_normal(a.shape) for a in arrays]
    (gv,) = mc.autograd.grad(sum((g * mc.tensor(c)).sum() for g, c in zip(grads, w)), [v])
    (gvt,) = torch.autograd.grad(sum((g * torch.tensor(c)).sum() for g, c in zip(tgrads, w)), [vt])
    np.testing.assert_allclose(gv.numpy(), gvt.numpy(), rtol=1e-12)


def test_add_and_where_run_their_backward_once_under_create_graph(monkeypatch):
    from minicnn.ops import math as M  # noqa: PLC0415

    calls = counting(monkeypatch, M.Add)
    a, b = mc.tensor([1.0, 2.0], requires_grad=True), mc.tensor([[3.0], [4.0]], requires_grad=True)
    ga, gb = mc.autograd.grad((a + b).sum(), [a, b], create_graph=True)
    assert len(calls) == 1
    np.testing.assert_array_equal(ga.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(gb.numpy(), [[2.0], [2.0]])


def test_shared_backward_gives_each_input_its_own_array():
    """A linear op whose backward returns one array for two inputs: each input's gradient is
    still a separate array (as when each ran the backward itself)."""

    class Both(Function):
        linear = True

        def forward(self, a, b):
            return a + b

        def backward(self, gy):
            g = gy * 1.0
            return g, g

    seen = []
    a, b = mc.tensor([1.0, 2.0], requires_grad=True), mc.tensor([3.0, 4.0], requires_grad=True)
    c = a * 1.0
    d = b * 1.0
    c.register_hook(lambda g: seen.append(g.array))
    d.register_hook(lambda g: seen.append(g.array))
    Both.apply(c, d).sum().backward(create_graph=True)
    assert len(seen) == 2 and not np.shares_memory(seen[0], seen[1])
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


@SETTINGS
@given(
    k=st.integers(1, 4),
    ndim=st.integers(1, 3),
    data=st.data(),
    stack=st.booleans(),
    seed=seeds,
)
def test_cat_and_stack_double_backward_like_torch(k, ndim, data, stack, seed):
    rng = np.random.default_rng(seed)
    base = [int(rng.integers(1, 4)) for _ in range(ndim)]
    dim = data.draw(st.integers(-ndim - stack, ndim - 1 + stack))
    arrays = []
    for _ in range(k):
        shape = list(base)
        if not stack:
            # empty pieces too, but not 1-d ones: torch's cat gives those a gradient without a graph
            shape[dim] = int(rng.integers(0 if ndim > 1 else 1, 3))
        arrays.append(rng.standard_normal(shape))
    grad_inputs = [bool(g) for g in data.draw(st.lists(st.booleans(), min_size=k, max_size=k))]
    if not any(grad_inputs):
        grad_inputs[0] = True
    mc_op, torch_op = (mc.stack, torch.stack) if stack else (mc.cat, torch.cat)
    double_backward_like_torch(
        square(lambda *xs: mc_op(xs, dim)), square(lambda *xs: torch_op(xs, dim)), arrays, grad_inputs, seed=seed
    )


@pytest.mark.parametrize("device", devices())
def test_cat_and_stack_double_backward_small(device):
    rng = np.random.default_rng(1)
    a, b, c = rng.standard_normal((2, 2)), rng.standard_normal((1, 2)), rng.standard_normal((2, 2))
    double_backward_like_torch(
        square(lambda *xs: mc.cat(xs, 0)), square(lambda *xs: torch.cat(xs, 0)), [a, b, c], device=device
    )
    double_backward_like_torch(
        square(lambda x, y: mc.stack([x, y], 1)), square(lambda x, y: torch.stack([x, y], 1)), [a, c], device=device
    )
    gg(square(lambda x, y: mc.cat([x, y], 0)), a, b, device=device)
    gg(square(lambda x, y: mc.stack([x, y], -1)), a, c, device=device)


# -- 2. hardshrink and softshrink --------------------------------------------------------------

SHRINKS = {"hardshrink": (A.hardshrink, TF.hardshrink), "softshrink": (A.softshrink, TF.softshrink)}


def shrink_data(rng: np.random.Generator, shape, lambd: float) -> np.ndarray:
    """Values at least 0.1 away from +-lambd (the kinks), on both sides of them and of 0."""
    x = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    return x + np.sign(x) * lambd * rng.choice([0.0, 1.0], shape)


@pytest.mark.parametrize("name", SHRINKS)
def test_shrink_gradient_is_tied_to_the_input_as_torch(name):
    """With a constant seed the first gradient (1 or 0 per element) is a constant, but torch
    ties it to the input: differentiating it again gives zeros, not an error."""
    mf, tf = SHRINKS[name]
    x = np.array([-1.5, -0.2, 0.3, 0.9, 0.1])
    m, t = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (gm,) = mc.autograd.grad(mf(m, 0.5).sum(), m, create_graph=True)
    (gt,) = torch.autograd.grad(tf(t, 0.5).sum(), t, create_graph=True)
    np.testing.assert_array_equal(gm.numpy(), gt.detach().numpy())
    assert gm.requires_grad == gt.requires_grad is True
    (ggm,) = mc.autograd.grad((gm * mc.tensor(x)).sum(), m, retain_graph=True)  # was: "does not require grad"
    (ggt,) = torch.autograd.grad((gt * torch.tensor(x)).sum(), t, retain_graph=True)
    np.testing.assert_array_equal(ggm.numpy(), ggt.numpy())
    np.testing.assert_array_equal(ggm.numpy(), np.zeros_like(x))
    (hm,) = mc.autograd.grad((gm * gm).sum(), m, create_graph=True)  # was: "not used in the graph"
    (ht,) = torch.autograd.grad((gt * gt).sum(), t, create_graph=True)
    np.testing.assert_array_equal(hm.numpy(), ht.detach().numpy())
    assert hm.requires_grad == ht.requires_grad


@pytest.mark.parametrize("name", SHRINKS)
def test_shrink_at_the_kinks_nan_and_inf_like_torch(name):
    mf, tf = SHRINKS[name]
    x = np.array([-0.5, 0.5, 0.0, -0.0, float("nan"), float("inf"), -float("inf"), 0.5000001, -2.0])
    finite = ~np.isnan(x)  # (torch's CPU gradient at NaN depends on the position: below)
    for dtype in (np.float32, np.float64):
        compare_with_torch(lambda a: mf(a, 0.5), lambda a: tf(a, 0.5), [x[finite]], dtype=dtype)
        out = mf(mc.tensor(x.astype(dtype)), 0.5).numpy()
        np.testing.assert_array_equal(out, tf(torch.tensor(x.astype(dtype)), 0.5).numpy())
        assert out.dtype == dtype
    m, t = mc.tensor(x[finite], requires_grad=True), torch.tensor(x[finite], requires_grad=True)
    seed = np.array([1.0, 2.0, float("nan"), float("inf"), 4.0, 5.0, 6.0, 7.0])
    (gm,) = mc.autograd.grad(mf(m, 0.5), m, mc.tensor(seed))
    (gt,) = torch.autograd.grad(tf(t, 0.5), t, torch.tensor(seed))
    np.testing.assert_array_equal(gm.numpy(), gt.numpy())  # 0 where masked, even for a NaN/inf seed


@pytest.mark.parametrize("name", SHRINKS)
def test_shrink_passes_the_gradient_at_nan_as_torchs_formula(name):
    """torch's shrink backward is ``-lambd <= x <= lambd ? 0 : g`` (so NaN passes g), which its
    scalar loop and GPU kernel follow; its vectorised CPU loop gives 0. A one-element tensor
    takes the scalar loop."""
    mf, tf = SHRINKS[name]
    m, t = mc.tensor([float("nan")], requires_grad=True), torch.tensor([float("nan")], requires_grad=True)
    (gm,) = mc.autograd.grad(mf(m, 0.5), m, mc.tensor([3.0]))
    (gt,) = torch.autograd.grad(tf(t, 0.5), t, torch.tensor([3.0]))
    np.testing.assert_array_equal(gm.numpy(), gt.numpy())
    np.testing.assert_array_equal(gm.numpy(), [3.0])
    np.testing.assert_array_equal(mf(mc.tensor([float("nan")] * 9), 0.5).numpy(), [float("nan")] * 9)


@SETTINGS
@given(
    name=st.sampled_from(sorted(SHRINKS)),
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    lambd=st.sampled_from([0.0, 0.25, 0.5, 1.5]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=seeds,
)
def test_shrink_forward_backward_and_double_backward_like_torch(name, shape, lambd, dtype, seed):
    mf, tf = SHRINKS[name]
    x = shrink_data(np.random.default_rng(seed), shape, lambd)
    compare_with_torch(lambda a: mf(a, lambd), lambda a: tf(a, lambd), [x], dtype=dtype, seed=seed)
    double_backward_like_torch(lambda a: mf(a, lambd) * a, lambda a: tf(a, lambd) * a, [x], dtype=dtype, seed=seed)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", SHRINKS)
def test_shrink_gradcheck_and_gradgradcheck(name, device):
    mf, tf = SHRINKS[name]
    x = shrink_data(np.random.default_rng(3), (2, 3), 0.5)
    double_backward_like_torch(lambda a: mf(a, 0.5) ** 2, lambda a: tf(a, 0.5) ** 2, [x], device=device)
    t = mc.tensor(x, requires_grad=True, device=device)
    assert mc.gradcheck(lambda a: mf(a, 0.5), [t])
    gg(lambda a: mf(a, 0.5) ** 3, x, device=device)


# -- 3. empty reductions, and var without degrees of freedom ---------------------------------


def reductions(dim, correction):
    return [
        (lambda x: x.sum(dim), lambda x: x.sum(dim) if dim is not None else x.sum()),
        (lambda x: R.mean(x, dim), lambda x: x.mean(dim) if dim is not None else x.mean()),
        (lambda x: R.mean(x, dim, True), lambda x: torch.mean(x, dim, keepdim=True)),
        (lambda x: x.var(dim, correction=correction), lambda x: x.var(dim, correction=correction)),
        (lambda x: x.std(dim, correction=correction), lambda x: x.std(dim, correction=correction)),
        (lambda x: R.nansum(x, dim), lambda x: torch.nansum(x, dim) if dim is not None else torch.nansum(x)),
        (lambda x: R.nanmean(x, dim), lambda x: torch.nanmean(x, dim)),
    ]


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 3)])
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("correction", [0, 1])
def test_reductions_of_empty_tensors_like_torch(shape, dim, correction):
    """The second derivative w.r.t. the seed of an empty reduction is 0 (mean's was NaN: the
    mean of nothing), or NaN where torch's is (var, correction 0: (2 / 0) * 0)."""
    x = np.zeros(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # var's "degrees of freedom is <= 0", torch's and ours
        for mf, tf in reductions(dim, correction):
            double_backward_like_torch(mf, tf, [x])


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
def test_second_derivative_of_the_mean_of_nothing_is_zero():
    x = mc.tensor(np.zeros((0, 2)), requires_grad=True)
    v = mc.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mc.autograd.grad(R.mean(x, 0), x, v, create_graph=True)
    assert g.shape == (0, 2)
    (gv,) = mc.autograd.grad(g.sum(), v)
    np.testing.assert_array_equal(gv.numpy(), [0.0, 0.0])  # was [nan, nan]


@pytest.mark.parametrize("shape", [(1, 3), (2, 3), (3, 1)])
@pytest.mark.parametrize("correction", [0, 1, 2, 3])
@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("fn", ["var", "std"])
def test_var_and_std_without_degrees_of_freedom_like_torch(shape, correction, dim, fn):
    """n <= correction: the forward is squares / 0 (inf, or NaN for 0 / 0); the gradient uses
    torch's unclamped 2 / (n - correction) (finite when n < correction, inf when equal), or over
    all elements torch's inf (NaN where x equals the mean)."""
    x = np.random.default_rng(correction).standard_normal(shape)
    if fn == "std" and correction == 0 and (dim is not None and shape[dim] == 1):
        return  # std of one value: 0, where torch's second derivative is NaN (test_double_backward_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        double_backward_like_torch(
            lambda a: getattr(a, fn)(dim, correction=correction),
            lambda a: getattr(a, fn)(dim, correction=correction),
            [x],
        )


# -- 4. the nuclear norm's second derivative (the polar factor) ------------------------------


def well_conditioned(rng: np.random.Generator, batch, m: int, n: int) -> np.ndarray:
    """Matrices (*batch, m, n) with singular values 1, 1.4, 1.8, ... (distinct, full rank) in
    random orthogonal bases."""
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal((*batch, m, m)))[0][..., :k]
    v = np.linalg.qr(rng.standard_normal((*batch, n, n)))[0][..., :k]
    s = 1.0 + 0.4 * np.stack([rng.permutation(k) for _ in range(int(np.prod(batch, dtype=int)))]).reshape(*batch, k)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def torch_polar(a):
    u, _, vh = torch.linalg.svd(a, full_matrices=False)
    return u @ vh


@SETTINGS
@given(
    m=st.integers(1, 4),
    n=st.integers(1, 4),
    batch=st.lists(st.integers(1, 2), min_size=0, max_size=2),
    data=st.data(),
    keepdim=st.booleans(),
    seed=seeds,
)
def test_nuclear_norm_double_backward_like_torch(m, n, batch, data, keepdim, seed):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, m, n)
    ndim = a.ndim
    dims = (ndim - 2, ndim - 1)
    if batch:  # the matrix dims moved anywhere (and given in either order)
        order = rng.permutation(ndim)
        a = np.transpose(a, order)
        where = [int(np.flatnonzero(order == d)[0]) for d in dims]
        dims = tuple(where) if data.draw(st.booleans()) else tuple(where[::-1])
    double_backward_like_torch(
        lambda x: R.norm(x, "nuc", dims if batch else None, keepdim),
        lambda x: torch.norm(x, "nuc", dims if batch else None, keepdim),
        [a],
        rtol=1e-7,
        atol=1e-9,
        seed=seed,
    )


@SETTINGS
@given(m=st.integers(1, 4), n=st.integers(1, 4), batch=st.lists(st.integers(1, 2), max_size=1), seed=seeds)
def test_polar_factor_like_torch(m, n, batch, seed):
    a = well_conditioned(np.random.default_rng(seed), batch, m, n)
    compare_with_torch(PolarFactor.apply, torch_polar, [a], rtol=1e-7, atol=1e-9, seed=seed)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape", [(2, 2), (3, 2), (2, 3), (2, 2, 3)])
def test_nuclear_norm_gradgradcheck(shape, device):
    a = well_conditioned(np.random.default_rng(5), shape[:-2], *shape[-2:])
    gg(lambda x: R.norm(x, "nuc", (-2, -1)), a, device=device)
    assert mc.gradcheck(PolarFactor.apply, [mc.tensor(a, requires_grad=True, device=device)])
    double_backward_like_torch(
        lambda x: R.norm(x, "nuc", (-2, -1)) ** 2,
        lambda x: torch.linalg.matrix_norm(x, "nuc") ** 2,
        [a],
        device=device,
        rtol=1e-7,
        atol=1e-9,
    )


@pytest.mark.parametrize("shape", [(3, 3), (3, 2), (2, 3)])
def test_nuclear_norm_second_derivative_at_repeated_singular_values(shape):
    """Isometries (all singular values 1): the polar factor's derivative is finite there and
    gradgradcheck confirms ours; torch's, through the SVD's U and V, is NaN where the singular
    values are exactly equal."""
    rng = np.random.default_rng(2)
    k = max(shape)
    rotated = np.linalg.qr(rng.standard_normal((k, k)))[0][: shape[0], : shape[1]]
    exact = -np.eye(k)[rng.permutation(k)][: shape[0], : shape[1]]  # a signed permutation
    for a in (rotated, exact):
        gg(lambda x: R.norm(x, "nuc"), a)
    t = torch.tensor(exact, requires_grad=True)
    (g,) = torch.autograd.grad(torch.linalg.matrix_norm(t, "nuc"), t, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), t)
    assert np.isnan(h.numpy()).all()


def test_nuclear_norm_second_derivative_at_a_square_matrix_of_rank_n_minus_1_like_torch():
    rng = np.random.default_rng(4)
    q1, q2 = np.linalg.qr(rng.standard_normal((3, 3)))[0], np.linalg.qr(rng.standard_normal((3, 3)))[0]
    a = q1 @ np.diag([2.0, 1.0, 0.0]) @ q2
    double_backward_like_torch(lambda x: R.norm(x, "nuc"), lambda x: torch.norm(x, "nuc"), [a], rtol=1e-6, atol=1e-8)


def test_nuclear_norm_third_derivative_raises_clearly():
    x = mc.tensor(well_conditioned(np.random.default_rng(0), (), 2, 2), requires_grad=True)
    (g,) = mc.autograd.grad(R.norm(x, "nuc"), x, create_graph=True)
    (h,) = mc.autograd.grad((g * g).sum(), x, retain_graph=True)  # second order: fine
    assert np.isfinite(h.numpy()).all()
    with pytest.raises(NotImplementedError, match="PolarFactor: create_graph=True"):
        mc.autograd.grad((g * g).sum(), x, create_graph=True)  # its graph: for third derivatives


# -- 5. the in-place check under create_graph looks only at what the graph form reads ---------

FROM_OUTPUT = {  # torch saves the output of these (not the input), as their graph forms read it
    "tanh": (A.tanh, torch.tanh),
    "sigmoid": (A.sigmoid, torch.sigmoid),
    "softmax": (lambda x: A.softmax(x, 1), lambda x: torch.softmax(x, 1)),
    "log_softmax": (lambda x: A.log_softmax(x, 1), lambda x: torch.log_softmax(x, 1)),
    "softmin": (lambda x: A.softmin(x, 1), lambda x: TF.softmin(x, 1)),
    "relu": (A.relu, torch.relu),
}
FROM_MASK = {  # torch saves the input of these (and refuses); their graph forms read a mask made in forward
    "leaky_relu": (lambda x: A.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    "hardtanh": (A.hardtanh, TF.hardtanh),
    "threshold": (lambda x: A.threshold(x, 0.2, -1.0), lambda x: TF.threshold(x, 0.2, -1.0)),
    "hardshrink": (A.hardshrink, TF.hardshrink),
    "softshrink": (A.softshrink, TF.softshrink),
}
X5 = np.array([[-1.3, 0.7, 2.2], [0.4, -0.6, 3.1]])


def second_order_after_input_write(f, lib, x_array, write):
    """The first gradient of sum(f(x) * f(x) * v) w.r.t. a leaf a (x = a * 1.5, written in place
    after f ran when ``write``), then its derivatives w.r.t. a and v."""
    a = lib.tensor(x_array, requires_grad=True)
    v = lib.tensor(np.linspace(-1.0, 1.0, x_array.size).reshape(x_array.shape), requires_grad=True)
    x = a * 1.5
    y = f(x)
    if write:
        x.add_(10.0)
    (g,) = lib.autograd.grad((y * y * v).sum(), a, create_graph=True)
    w = lib.tensor(np.cos(np.arange(x_array.size)).reshape(x_array.shape))
    return [t.detach().numpy() for t in (g, *lib.autograd.grad((g * w).sum(), [a, v]))]


@pytest.mark.parametrize("name", FROM_OUTPUT)
def test_create_graph_after_an_input_is_written_like_torch_where_only_the_output_is_read(name):
    mf, tf = FROM_OUTPUT[name]
    mine = second_order_after_input_write(mf, mc, X5, write=True)  # was: refused (input 0 modified)
    for m, t in zip(mine, second_order_after_input_write(tf, torch, X5, write=True)):
        np.testing.assert_allclose(m, t, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", FROM_MASK)
def test_create_graph_after_an_input_is_written_where_only_a_mask_is_read(name):
    """torch refuses these (it saved the input); minicnn's graph forms read only the mask made
    in forward, so the values are those of the unwritten input, as in first-order backward."""
    mf, tf = FROM_MASK[name]
    mine = second_order_after_input_write(mf, mc, X5, write=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        second_order_after_input_write(tf, torch, X5, write=True)
    for m, t in zip(mine, second_order_after_input_write(tf, torch, X5, write=False)):
        np.testing.assert_allclose(m, t, rtol=1e-12, atol=1e-14)


def test_create_graph_still_refuses_a_written_input_that_is_read_or_a_written_output():
    for lib in (mc, torch):  # sin reads its input; tanh its output
        a = lib.tensor(X5, requires_grad=True)
        x = a * 1.5
        y = x.sin()
        x.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            lib.autograd.grad(y.sum(), a, create_graph=True)
        z = a.tanh()
        z.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            lib.autograd.grad(z.sum(), a, create_graph=True)


class ExpOfOutput(Function):
    """exp, keeping only a copy of x: its graph form reads the output, which nothing saved."""

    graph_reads, graph_output = (), True

    def forward(self, x):
        self.x = x.copy()
        return np.exp(x)

    def backward(self, gy):
        return gy * np.exp(self.x)

    def backward_graph(self, gy, x, out):
        return gy * out


def test_a_graph_form_that_reads_the_output_gets_it_and_its_version_is_checked():
    a = mc.tensor(X5, requires_grad=True)
    x = a * 1.0
    y = ExpOfOutput.apply(x)
    x.add_(5.0)  # not read
    (g,) = mc.autograd.grad(y.sum(), a, create_graph=True)
    (h,) = mc.autograd.grad(g.sum(), a)
    np.testing.assert_allclose(g.numpy(), np.exp(X5), rtol=1e-14)
    np.testing.assert_allclose(h.numpy(), np.exp(X5), rtol=1e-14)
    y = ExpOfOutput.apply(a * 1.0)
    y.add_(1.0)  # read: refused, as torch refuses a written saved output
    with pytest.raises(RuntimeError, match="the output of ExpOfOutput, of shape \\(2, 3\\), is at version 1"):
        mc.autograd.grad(y.sum(), a, create_graph=True)
    (g,) = mc.autograd.grad(y.sum(), a)  # first order reads neither (its own copy of x)
    np.testing.assert_allclose(g.numpy(), np.exp(X5), rtol=1e-14)


# -- 6. review fixes: relu tied to its output, softshrink's lambd range ----------------------


def relu_after_base_write(lib, relu):
    """relu of a view x of ``base``, ``base`` written after the forward (torch's relu saves
    only its output): the create_graph gradient and its derivative w.r.t. the leaf."""
    a = lib.tensor(X5, requires_grad=True)
    base = a * 1.5
    y = relu(base[0])
    base.add_(1.0)
    (g,) = lib.autograd.grad((y * y).sum(), a, create_graph=True)
    (h,) = lib.autograd.grad((g * lib.tensor(X5)).sum(), a)
    return g.detach().numpy(), h.numpy()


def test_relu_create_graph_after_a_write_to_its_inputs_base_like_torch():
    # was: "ScaleWhere: a tensor ... was computed before an in-place write" (tied to the stale view)
    for m, t in zip(relu_after_base_write(mc, A.relu), relu_after_base_write(torch, torch.relu)):
        np.testing.assert_array_equal(m, t)


def test_relu_third_derivative_like_torch():
    """torch's relu gradient is tied to its output, so the zero second derivative flows back
    through relu and stays differentiable: a third derivative of zeros, not an error."""
    out = []
    for lib, relu in ((mc, A.relu), (torch, torch.relu)):
        a = lib.tensor(X5, requires_grad=True)
        w = lib.tensor(np.cos(np.arange(X5.size)).reshape(X5.shape))
        y = relu(a * 1.0)
        (g1,) = lib.autograd.grad((y * w).sum(), a, create_graph=True)
        (g2,) = lib.autograd.grad((g1 * g1 * w).sum(), a, create_graph=True)
        assert g2.requires_grad  # was False in minicnn: "does not require grad" below
        (g3,) = lib.autograd.grad((g2 * w).sum() + (g2 * g2).sum(), a)
        out.append([t.detach().numpy() for t in (g1, g2, g3)])
    for m, t in zip(*out):
        np.testing.assert_array_equal(m, t)
    np.testing.assert_array_equal(out[0][2], np.zeros_like(X5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shrink_lambd_range_as_torch(dtype):
    x = np.array([0.1, -2.0, 5.0, -0.4], dtype)
    beyond = 1e39 if dtype == np.float32 else None  # more than the dtype holds
    for lambd in [-0.5, float("nan"), float("inf")] + ([beyond] if beyond else []):
        with pytest.raises(RuntimeError, match="lambda must be in range"):
            TF.softshrink(torch.tensor(x), lambd)
        with pytest.raises(ValueError, match="softshrink: lambda must be in range"):  # was: x shifted outward
            A.softshrink(mc.tensor(x), lambd)
    for lambd in [-0.5, float("nan"), float("inf"), 0.0]:  # torch's hardshrink takes these
        m, t = A.hardshrink(mc.tensor(x), lambd).numpy(), TF.hardshrink(torch.tensor(x), lambd).numpy()
        np.testing.assert_array_equal(m, t)
    if beyond:
        with pytest.raises(RuntimeError, match="without overflow"):
            TF.hardshrink(torch.tensor(x), beyond)
        with pytest.raises(ValueError, match="hardshrink: lambd 1e\\+39 cannot be converted"):  # was: all 0
            A.hardshrink(mc.tensor(x), beyond)
