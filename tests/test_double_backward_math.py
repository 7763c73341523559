"""Second and third derivatives (``create_graph=True``) of the elementwise math and linear
algebra ops (minicnn.ops.math, minicnn.ops.linalg) against torch.

Every op: a hypothesis test of forward, first gradients with a graph and second derivatives
(w.r.t. every input and the seed) against torch (``double_backward_like_torch``), and a float64
``mc.gradgradcheck`` on a tiny case. Data stay away from kinks and jumps (abs at 0, clamp
bounds, max ties, the jumps of remainder/fmod/floor), where derivatives are one-sided choices.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minicnn as mc
from minicnn.ops import linalg as L
from minicnn.ops import math as M

SETTINGS = settings(max_examples=20, deadline=None)
seeds = st.integers(0, 2**16)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3)
triples = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)


def uniform(lo: float, hi: float):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def away_from_zero(lo: float, hi: float):
    return lambda rng, shape: rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def off_jumps(rng, shape):
    """Values at least 0.1 from every integer and half-integer (the jumps of floor, round...)."""
    return rng.integers(-4, 4, shape) + rng.choice([0.25, 0.75], shape) + rng.uniform(-0.15, 0.15, shape)


def off_bounds(rng, shape):
    """Values at least 0.3 from the clamp bounds -0.7 and 0.7, on both sides of each."""
    return rng.choice([-1.5, 0.0, 1.5], shape) + rng.uniform(-0.4, 0.4, shape)


def tensors(arrays, device="cpu"):
    return [mc.tensor(a, requires_grad=True, device=device) for a in arrays]


# name: (minicnn function, torch function, sampler of its input)
UNARY = {
    "exp": (M.exp, torch.exp, uniform(-2, 2)),
    "log": (M.log, torch.log, uniform(0.3, 3)),
    "neg": (M.neg, torch.neg, uniform(-2, 2)),
    "sqrt": (M.sqrt, torch.sqrt, uniform(0.3, 3)),
    "abs": (M.abs, torch.abs, away_from_zero(0.2, 2)),
    "sin": (M.sin, torch.sin, uniform(-3, 3)),
    "cos": (M.cos, torch.cos, uniform(-3, 3)),
    "tan": (M.tan, torch.tan, uniform(-1.2, 1.2)),
    "asin": (M.asin, torch.asin, uniform(-0.9, 0.9)),
    "acos": (M.acos, torch.acos, uniform(-0.9, 0.9)),
    "atan": (M.atan, torch.atan, uniform(-3, 3)),
    "sinh": (M.sinh, torch.sinh, uniform(-2, 2)),
    "cosh": (M.cosh, torch.cosh, uniform(-2, 2)),
    "reciprocal": (M.reciprocal, torch.reciprocal, away_from_zero(0.4, 2)),
    "rsqrt": (M.rsqrt, torch.rsqrt, uniform(0.3, 3)),
    "square": (M.square, torch.square, uniform(-2, 2)),
    "log2": (M.log2, torch.log2, uniform(0.3, 3)),
    "log10": (M.log10, torch.log10, uniform(0.3, 3)),
    "log1p": (M.log1p, torch.log1p, uniform(-0.7, 3)),
    "expm1": (M.expm1, torch.expm1, uniform(-2, 2)),
    "exp2": (M.exp2, torch.exp2, uniform(-2, 2)),
    "frac": (M.frac, torch.frac, off_jumps),
    "clamp": (lambda x: M.clip(x, -0.7, 0.7), lambda x: torch.clamp(x, -0.7, 0.7), off_bounds),
    "clamp_min": (lambda x: M.clip(x, -0.7), lambda x: torch.clamp(x, min=-0.7), off_bounds),
    "clamp_max": (lambda x: M.clip(x, None, 0.7), lambda x: torch.clamp(x, max=0.7), off_bounds),
    "clone": (M.clone, torch.clone, uniform(-2, 2)),
}
# piecewise constant: a zero first gradient without a graph, as torch's
ZERO_GRAD = {
    "floor": (M.floor, torch.floor),
    "ceil": (M.ceil, torch.ceil),
    "trunc": (M.trunc, torch.trunc),
    "round": (M.round, torch.round),
    "round_decimals": (lambda x: M.round(x, decimals=1), lambda x: torch.round(x, decimals=1)),
    "sign": (M.sign, torch.sign),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_unary_double_backward_like_torch(name, shape, seed):
    mc_fn, torch_fn, sample = UNARY[name]
    x = sample(np.random.default_rng(seed), shape)
    double_backward_like_torch(mc_fn, torch_fn, [x], seed=seed)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradgradcheck(name):
    mc_fn, _, sample = UNARY[name]
    assert mc.gradgradcheck(mc_fn, tensors([sample(np.random.default_rng(1), (2, 3))]))


@pytest.mark.parametrize("name", sorted(ZERO_GRAD))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_zero_gradient_ops_like_torch(name, shape, seed):
    mc_fn, torch_fn = ZERO_GRAD[name]
    x = off_jumps(np.random.default_rng(seed), shape)
    double_backward_like_torch(mc_fn, torch_fn, [x], seed=seed)
    xt = mc.tensor(x, requires_grad=True)
    (g,) = mc.autograd.grad(mc_fn(xt), [xt], mc.tensor(np.ones(x.shape), requires_grad=True), create_graph=True)
    assert not g.requires_grad and not g.numpy().any()


# -- binary ops ----------------------------------------------------------------------------


def eighths_and_powers_of_two(rng, sa, sb):
    """a = (2j + 1) / 8, b = +-0.5, 1 or 2: a / b is at least 1/16 from every integer, so
    remainder and fmod are away from their jumps (and every value is exact)."""
    return (2 * rng.integers(-12, 12, sa) + 1) / 8, rng.choice([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], sb)


def untied(rng, sa, sb):
    """a and b at least 0.1 apart wherever they meet (no ties for maximum/minimum)."""
    a = rng.integers(-2, 3, sa) + rng.choice([-0.5, 0.5], sa) + rng.uniform(-0.1, 0.1, sa)
    return a, rng.integers(-2, 3, sb) + rng.uniform(-0.3, 0.3, sb)


def both(sample_a, sample_b):
    return lambda rng, sa, sb: (sample_a(rng, sa), sample_b(rng, sb))


BINARY = {
    "add": (M.add, torch.add, both(uniform(-2, 2), uniform(-2, 2))),
    "sub": (M.sub, torch.sub, both(uniform(-2, 2), uniform(-2, 2))),
    "mul": (M.mul, torch.mul, both(uniform(-2, 2), uniform(-2, 2))),
    "div": (M.div, torch.div, both(uniform(-2, 2), away_from_zero(0.4, 2))),
    "pow": (M.pow, torch.pow, both(uniform(0.3, 2), uniform(-2, 2))),
    "maximum": (M.maximum, torch.maximum, untied),
    "minimum": (M.minimum, torch.minimum, untied),
    "remainder": (M.remainder, torch.remainder, eighths_and_powers_of_two),
    "fmod": (M.fmod, torch.fmod, eighths_and_powers_of_two),
    "hypot": (M.hypot, torch.hypot, both(away_from_zero(0.3, 2), uniform(-2, 2))),
    "atan2": (M.atan2, torch.atan2, both(away_from_zero(0.3, 2), uniform(-2, 2))),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shapes=pairs, seed=seeds)
def test_binary_double_backward_like_torch(name, shapes, seed):
    mc_fn, torch_fn, sample = BINARY[name]
    a, b = sample(np.random.default_rng(seed), *shapes.input_shapes)
    double_backward_like_torch(mc_fn, torch_fn, [a, b], seed=seed)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradgradcheck(name):
    mc_fn, _, sample = BINARY[name]
    a, b = sample(np.random.default_rng(2), (2, 3), (3,))
    assert mc.gradgradcheck(mc_fn, tensors([a, b]))


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, -1.5, 2.5])
def test_pow_scalar_exponent_like_torch(exponent):
    x = np.random.default_rng(3).uniform(0.3, 2, (2, 3))
    double_backward_like_torch(lambda t: t**exponent, lambda t: t**exponent, [x])
    assert mc.gradgradcheck(lambda t: t**exponent, tensors([x]))


def test_pow_integer_exponent_of_negative_base_and_scalar_base():
    x = np.random.default_rng(4).uniform(-2, 2, (3, 2))
    double_backward_like_torch(lambda t: t**3, lambda t: t**3, [x])
    double_backward_like_torch(lambda t: 2.0**t, lambda t: 2.0**t, [x])
    assert mc.gradgradcheck(lambda t: 2.0**t, tensors([x]))


def test_pow_first_derivatives_at_base_and_exponent_zero_like_torch():
    """torch's rules (0 where the exponent is 0; d/db 0 where the base is 0 and the exponent
    >= 0) hold for the first gradients taken with a graph; the second derivatives match torch's
    away from those points (at them both form 0 * inf; minicnn's first-order backward masks a
    NaN incoming gradient where torch's multiplies it)."""
    a = np.array([0.0, 0.0, 0.0, 1.5, 2.0, 0.7, 0.0, 0.4])
    b = np.array([0.0, 1.0, 2.0, 0.0, 0.0, 2.5, 0.5, -1.0])
    ma, mb = tensors([a, b])
    ta, tb = (torch.tensor(t, requires_grad=True) for t in (a, b))
    v = np.linspace(1, 2, 8)
    mg = mc.autograd.grad(M.pow(ma, mb), [ma, mb], mc.tensor(v, requires_grad=True), create_graph=True)
    tg = torch.autograd.grad(ta**tb, [ta, tb], torch.tensor(v, requires_grad=True), create_graph=True)
    for m, t in zip(mg, tg):
        np.testing.assert_array_equal(m.numpy(), t.detach().numpy())
    away = np.r_[3:6, 7]
    mgg = mc.autograd.grad((mg[0] + mg[1]).sum(), [ma, mb])
    tgg = torch.autograd.grad((tg[0] + tg[1]).sum(), [ta, tb])
    for m, t in zip(mgg, tgg):
        np.testing.assert_allclose(m.numpy()[away], t.numpy()[away], rtol=1e-12)


@SETTINGS
@given(shapes=triples, seed=seeds, scalar_weight=st.booleans())
def test_lerp_double_backward_like_torch(shapes, seed, scalar_weight):
    rng = np.random.default_rng(seed)
    start, end, weight = (rng.uniform(-2, 2, s) for s in shapes.input_shapes)
    if scalar_weight:
        w = float(weight.reshape(-1)[0])
        double_backward_like_torch(lambda a, b: M.lerp(a, b, w), lambda a, b: torch.lerp(a, b, w), [start, end])
    else:
        double_backward_like_torch(M.lerp, torch.lerp, [start, end, weight], seed=seed)


def test_lerp_gradgradcheck():
    rng = np.random.default_rng(5)
    assert mc.gradgradcheck(M.lerp, tensors([rng.uniform(-2, 2, s) for s in [(2, 3), (3,), (2, 1)]]))


@SETTINGS
@given(shapes=triples, seed=seeds)
def test_where_double_backward_like_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    sc, sa, sb = shapes.input_shapes
    cond = rng.random(sc) < 0.5
    a, b = rng.uniform(-2, 2, sa), rng.uniform(-2, 2, sb)
    double_backward_like_torch(
        lambda x, y: M.where(cond, x, y) * x, lambda x, y: torch.where(torch.tensor(cond), x, y) * x, [a, b], seed=seed
    )


def test_where_gradgradcheck():
    rng = np.random.default_rng(6)
    cond = np.array([[True, False, True], [False, False, True]])
    assert mc.gradgradcheck(lambda x, y: M.where(cond, x, y), tensors([rng.uniform(-2, 2, (2, 3)), rng.normal(size=3)]))


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_div_rounded_gives_zero_gradients_without_a_graph_like_torch(mode):
    a, b = eighths_and_powers_of_two(np.random.default_rng(7), (2, 3), (3,))
    double_backward_like_torch(
        lambda x, y: M.div_rounded(x, y, mode), lambda x, y: torch.div(x, y, rounding_mode=mode), [a, b]
    )


def test_floor_divide_has_no_derivative_with_create_graph_either():
    a, b = tensors([np.array([1.5, -2.5]), np.array([0.5, 2.0])])
    with pytest.raises(RuntimeError, match="floor_divide"):
        mc.autograd.grad(M.floor_divide(a, b).sum(), [a, b], create_graph=True)


# -- index_put, conversions ----------------------------------------------------------------

INDEXES = {
    "slice": ((slice(1, 3),), (2, 4)),
    "slice_broadcast_value": ((slice(None), 1), (1,)),
    "integer_array": ((np.array([0, 2]),), (2, 4)),
    "mask_with_one_value": (np.array([[True, False, True, False]] * 3), ()),
    # a repeated row written with one broadcast value: the write counts it once, v's gradient twice
    "repeated_index": ((np.array([0, 0, 2]),), (4,)),
    "value_with_leading_size_1_dims": ((1,), (1, 1, 4)),
}


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_index_put_double_backward_like_torch(name):
    index, v_shape = INDEXES[name]
    rng = np.random.default_rng(8)
    x, v = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, v_shape)
    t_index = (
        tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)
        if isinstance(index, tuple)
        else torch.tensor(index)
    )

    def torch_fn(a, b):
        y = a.clone()
        y[t_index] = b
        return y * a

    double_backward_like_torch(lambda a, b: M.index_put(a, index, b) * a, torch_fn, [x, v])
    assert mc.gradgradcheck(lambda a, b: M.index_put(a, index, b), tensors([x, v]))


def test_conversions_double_backward_like_torch():
    """clone, astype (to float32 and back: float32's rounding) and to_device are linear."""
    x = np.random.default_rng(9).uniform(-2, 2, (2, 3))
    double_backward_like_torch(
        lambda t: M.astype(M.astype(M.clone(t), np.float32), np.float64) * t,
        lambda t: t.clone().float().double() * t,
        [x],
        rtol=1e-6,
        atol=1e-6,
    )
    double_backward_like_torch(lambda t: M.to_device(t, "cpu") * t, lambda t: t.to("cpu") * t, [x])
    assert mc.gradgradcheck(lambda t: M.astype(t, np.float64) * M.clone(t), tensors([x]))


# -- matrix products -----------------------------------------------------------------------


@st.composite
def matmul_shapes(draw):
    """Operand shapes for matmul: 1-d on either side, or batched with broadcast batch dims."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=1, max_side=3))
    ba, bb = batch.input_shapes
    a = (k,) if draw(st.booleans()) else (*ba, n, k)
    b = (k,) if draw(st.booleans()) else (*bb, k, m)
    return a, b


@SETTINGS
@given(shapes=matmul_shapes(), seed=seeds)
def test_matmul_double_backward_like_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(-2, 2, s) for s in shapes)
    double_backward_like_torch(M.matmul, torch.matmul, [a, b], seed=seed)


PRODUCTS = {
    "mm": (L.mm, torch.mm, [(2, 3), (3, 2)]),
    "bmm": (L.bmm, torch.bmm, [(2, 2, 3), (2, 3, 1)]),
    "mv": (L.mv, torch.mv, [(2, 3), (3,)]),
    "dot": (L.dot, torch.dot, [(3,), (3,)]),
    "outer": (L.outer, torch.outer, [(2,), (3,)]),
    "trace": (L.trace, torch.trace, [(3, 2)]),
    "matmul_1d_2d": (M.matmul, torch.matmul, [(3,), (2, 3, 2)]),
    "matmul_2d_1d": (M.matmul, torch.matmul, [(2, 1, 3), (3,)]),
    "addmm": (L.addmm, torch.addmm, [(1, 2), (2, 3), (3, 2)]),
    "addmm_scaled": (
        lambda c, a, b: L.addmm(c, a, b, beta=0.5, alpha=-2.0),
        lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=-2.0),
        [(2,), (2, 3), (3, 2)],
    ),
    "addmm_beta_0": (
        lambda c, a, b: L.addmm(c, a, b, beta=0),
        lambda c, a, b: torch.addmm(c, a, b, beta=0),
        [(2, 2), (2, 3), (3, 2)],
    ),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products_double_backward_like_torch(name):
    mc_fn, torch_fn, in_shapes = PRODUCTS[name]
    arrays = [np.random.default_rng(10).uniform(-2, 2, s) for s in in_shapes]
    double_backward_like_torch(mc_fn, torch_fn, arrays)
    assert mc.gradgradcheck(mc_fn, tensors(arrays))


@SETTINGS
@given(n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3), seed=seeds, beta=st.sampled_from([0, 1, 0.5]))
def test_outer_and_addmm_double_backward_like_torch(n, k, m, seed, beta):
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(-2, 2, (n, k)), rng.uniform(-2, 2, (k, m)), rng.uniform(-2, 2, (n, 1))
    double_backward_like_torch(
        lambda x, y, z: L.addmm(z, x, y, beta=beta, alpha=1.5),
        lambda x, y, z: torch.addmm(z, x, y, beta=beta, alpha=1.5),
        [a, b, c],
        seed=seed,
    )
    double_backward_like_torch(L.outer, torch.outer, [a[:, 0], b[0]], seed=seed)


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 2)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 1)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij,jk", [(2, 3), (3, 2)]),
    ("...ij,...jk->...ik", [(1, 2, 3), (2, 3, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),  # a label of size 1 broadcasts
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("bi,bj->", [(2, 3), (2, 2)]),
    ("ii->i", [(3, 3)]),  # a repeated label reads a diagonal (shape.diagonal)
    ("bii,bi->b", [(2, 3, 3), (2, 3)]),
]


@pytest.mark.parametrize("equation,in_shapes", EINSUMS)
def test_einsum_double_backward_like_torch(equation, in_shapes):
    arrays = [np.random.default_rng(11).uniform(-2, 2, s) for s in in_shapes]
    double_backward_like_torch(lambda *ts: L.einsum(equation, *ts), lambda *ts: torch.einsum(equation, *ts), arrays)
    assert mc.gradgradcheck(lambda *ts: L.einsum(equation, *ts), tensors(arrays))


@SETTINGS
@given(shapes=matmul_shapes(), seed=seeds)
def test_einsum_as_matmul_double_backward_like_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(-2, 2, s) for s in shapes)
    ea = "...ij" if len(shapes[0]) > 1 else "j"
    eb = "...jk" if len(shapes[1]) > 1 else "j"
    out = "..." + ("i" if len(shapes[0]) > 1 else "") + ("k" if len(shapes[1]) > 1 else "")
    eq = f"{ea},{eb}->{out}"
    double_backward_like_torch(lambda x, y: L.einsum(eq, x, y), lambda x, y: torch.einsum(eq, x, y), [a, b], seed=seed)


# -- third order, devices ------------------------------------------------------------------

THIRD = {
    "sin": (lambda x, y: M.sin(x) * y, lambda x, y: torch.sin(x) * y, [(2, 3), (3,)]),
    "pow": (M.pow, torch.pow, [(2, 3), (3,)]),
    "matmul": (M.matmul, torch.matmul, [(2, 3), (3, 2)]),
    "atan2": (M.atan2, torch.atan2, [(2, 3), (2, 1)]),
    "hypot": (M.hypot, torch.hypot, [(2, 3), (3,)]),
    "einsum": (
        lambda x, y: L.einsum("ij,jk->ik", x, y),
        lambda x, y: torch.einsum("ij,jk->ik", x, y),
        [(2, 3), (3, 2)],
    ),
    "rsqrt_tan": (lambda x, y: M.rsqrt(x) * M.tan(y), lambda x, y: torch.rsqrt(x) * torch.tan(y), [(2, 3), (2, 3)]),
}


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivatives_like_torch(name):
    """d/d(inputs, v) of sum(u * d/d(inputs, v) of sum(w * d<f(inputs), v>/d inputs))."""
    mc_fn, torch_fn, in_shapes = THIRD[name]
    rng = np.random.default_rng(12)
    arrays = [rng.uniform(0.4, 1.2, s) for s in in_shapes]
    ms, ts = tensors(arrays), [torch.tensor(a, requires_grad=True) for a in arrays]
    mo, to = mc_fn(*ms), torch_fn(*ts)
    v = rng.standard_normal(to.shape)
    mv, tv = mc.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    mg = mc.autograd.grad(mo, ms, mv, create_graph=True)
    tg = torch.autograd.grad(to, ts, tv, create_graph=True)
    m_grads, t_grads = [*mg], [*tg]
    for order in (2, 3):
        weights = [rng.standard_normal(g.shape) for g in t_grads]
        m_terms = [(g * mc.tensor(w)).sum() for g, w in zip(m_grads, weights) if g.requires_grad]
        t_terms = [(g * torch.tensor(w)).sum() for g, w in zip(t_grads, weights) if g.requires_grad]
        assert len(m_terms) == len(t_terms), f"which derivatives of order {order - 1} carry a graph differs from torch"
        more = dict(allow_unused=True, materialize_grads=True, create_graph=order == 2)
        m_grads = mc.autograd.grad(sum(m_terms), [*ms, mv], **more)
        t_grads = torch.autograd.grad(sum(t_terms), [*ts, tv], **more)
        for m, t in zip(m_grads, t_grads):
            np.testing.assert_allclose(m.numpy(), t.detach().numpy(force=True), rtol=1e-9, atol=1e-11)


DEVICE_CASES = {
    "pointwise": (
        lambda x, y: M.sin(x) * M.exp2(y) + M.log1p(x * x) / M.hypot(x, y) - M.clip(y, -0.5, 0.5),
        lambda x, y: torch.sin(x) * torch.exp2(y) + torch.log1p(x * x) / torch.hypot(x, y) - torch.clamp(y, -0.5, 0.5),
        [(2, 3), (3,)],
    ),
    "binary": (
        lambda x, y: M.pow(x * x + 0.5, y) + M.atan2(x, y) * M.maximum(x, y + 0.25),
        lambda x, y: torch.pow(x * x + 0.5, y) + torch.atan2(x, y) * torch.maximum(x, y + 0.25),
        [(2, 3), (3,)],
    ),
    "products": (
        lambda x, y: L.einsum("ij,jk->ik", M.matmul(x, y.T), y) + L.outer(x[:, 0], y[0]),
        lambda x, y: torch.einsum("ij,jk->ik", torch.matmul(x, y.T), y) + torch.outer(x[:, 0], y[0]),
        [(2, 3), (2, 3)],
    ),
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(DEVICE_CASES))
def test_double_backward_on_device(name, device):
    mc_fn, torch_fn, in_shapes = DEVICE_CASES[name]
    rng = np.random.default_rng(13)
    arrays = [rng.uniform(-2, 2, s) for s in in_shapes]
    double_backward_like_torch(mc_fn, torch_fn, arrays, device=device)
    double_backward_like_torch(
        lambda x, y: M.where(mc.tensor([True, False, True], device=device), x, M.to_device(y.cpu(), device)) * x,
        lambda x, y: torch.where(torch.tensor([True, False, True]), x, y) * x,
        arrays,
        device=device,
    )


@pytest.mark.parametrize("create_graph", [False, True])
def test_pow_non_finite_incoming_gradient_at_zero_exponent_and_base_like_torch(create_graph):
    """torch's pow backward: d/da is 0 where b == 0 whatever gy is (even NaN or inf), while
    d/db multiplies gy last, so a NaN gy stays NaN at a == 0, b >= 0; both backward paths agree."""
    for a_, b_ in (([0.0, 2.0, -1.0], [0.0, -1.0, 0.0]), ([0.0, 0.0, 3.0], [2.0, 0.5, 0.0])):
        g = np.array([np.nan, 1.0, np.inf])
        at, bt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a_, b_))
        expected = torch.autograd.grad(at**bt, [at, bt], torch.tensor(g))
        a, b = (mc.tensor(v, dtype=mc.float64, requires_grad=True) for v in (a_, b_))
        got = mc.autograd.grad(a**b, [a, b], mc.tensor(g), create_graph=create_graph)
        for m, t in zip(got, expected):
            np.testing.assert_equal(m.numpy(), t.numpy())
