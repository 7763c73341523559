"""mc.linalg against torch.linalg: solve, inv, det, slogdet, matrix_exp, cholesky,
householder_product (forward, backward, float64 gradcheck, second derivatives) and the norms."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.linalg as LA
from minicnn.ops import matrix_functions as MF

SETTINGS = settings(max_examples=20, deadline=None)
DTYPES = st.sampled_from([np.float32, np.float64])
F32 = dict(rtol=2e-4, atol=2e-5)


def tol(dtype, f64=None):
    return F32 if dtype == np.float32 else (f64 or {})


@st.composite
def batches(draw, max_n=4, min_n=1):
    """(batch shape, n, seed): 0 to 2 batch dims of size 1..3, n x n matrices."""
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return batch, draw(st.integers(min_n, max_n)), draw(st.integers(0, 2**16))


def well_conditioned(rng, shape):
    """Diagonally dominant: |off-diagonal row sums| < n - 1 < n = the diagonal shift."""
    n = shape[-1]
    return rng.uniform(-1, 1, shape) + n * np.eye(n) * rng.choice([-1.0, 1.0], shape[:-1])[..., None]


def spd(rng, shape):
    m = rng.standard_normal(shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])


def leaf(a, dtype=np.float64, device="cpu"):
    return mc.tensor(np.asarray(a, dtype=dtype), requires_grad=True, device=device)


# -- forward and backward against torch --------------------------------------------------


@SETTINGS
@given(b=batches(), dtype=DTYPES)
def test_inv_like_torch(b, dtype):
    batch, n, seed = b
    a = well_conditioned(np.random.default_rng(seed), (*batch, n, n))
    compare_with_torch(LA.inv, torch.linalg.inv, [a], dtype=dtype, **tol(dtype))


@SETTINGS
@given(
    b=batches(),
    k=st.integers(1, 3),
    form=st.sampled_from(["matrix", "vector", "batched vector", "broadcast A", "broadcast B"]),
    left=st.booleans(),
    dtype=DTYPES,
)
def test_solve_like_torch(b, k, form, left, dtype):
    batch, n, seed = b
    rng = np.random.default_rng(seed)
    a_shape, b_batch = (*batch, n, n), batch
    if form == "broadcast A":
        a_shape = (n, n)
    if form == "broadcast B":
        b_batch = batch[1:]
    b_shape = {
        "vector": (n,),
        "batched vector": (*batch, n),
    }.get(form, (*b_batch, n, k) if left else (*b_batch, k, n))
    a = well_conditioned(rng, a_shape)
    rhs = rng.standard_normal(b_shape)
    if rhs.ndim == 1 or (rhs.ndim == a.ndim - 1 and rhs.shape == a.shape[:-1]):
        left = True  # a batch of vectors: torch refuses left=False (tested below)
    compare_with_torch(
        lambda x, y: LA.solve(x, y, left=left),
        lambda x, y: torch.linalg.solve(x, y, left=left),
        [a, rhs],
        dtype=dtype,
        **tol(dtype),
    )


@SETTINGS
@given(b=batches(), dtype=DTYPES)
def test_det_and_slogdet_like_torch(b, dtype):
    batch, n, seed = b
    a = well_conditioned(np.random.default_rng(seed), (*batch, n, n))
    f64 = dict(rtol=1e-9, atol=1e-9)
    compare_with_torch(LA.det, torch.linalg.det, [a], dtype=dtype, **tol(dtype, f64))
    compare_with_torch(
        lambda x: LA.slogdet(x).logabsdet, lambda x: torch.linalg.slogdet(x).logabsdet, [a], dtype=dtype, **tol(dtype)
    )
    sign = LA.slogdet(mc.tensor(a.astype(dtype), requires_grad=True)).sign
    tsign = torch.linalg.slogdet(torch.tensor(a, requires_grad=True)).sign
    assert sign.requires_grad == tsign.requires_grad  # True for real input: a zero gradient, as torch's
    np.testing.assert_array_equal(sign.numpy(), tsign.detach().numpy())


def test_slogdet_sign_requires_grad_without_a_gradient_as_torch():
    a = np.array([[2.0, 1.0], [1.0, -3.0]])
    x, t = mc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    sign, tsign = LA.slogdet(x).sign, torch.linalg.slogdet(t).sign
    assert (sign.requires_grad, sign.grad_fn is None, sign.is_leaf) == (True, False, False)
    assert (tsign.requires_grad, tsign.grad_fn is None, tsign.is_leaf) == (True, False, False)
    # no gradient from the sign alone (undefined, not zeros), as torch's
    ours = mc.autograd.grad(sign.sum(), [x], allow_unused=True)
    assert ours == torch.autograd.grad(tsign.sum(), [t], allow_unused=True) == (None,)
    with pytest.raises(RuntimeError, match="not have been used"):
        mc.autograd.grad(LA.slogdet(x).sign.sum(), [x])
    with mc.no_grad(), torch.no_grad():
        assert LA.slogdet(x).sign.requires_grad == torch.linalg.slogdet(t).sign.requires_grad
    assert LA.slogdet(x.detach()).sign.requires_grad == torch.linalg.slogdet(t.detach()).sign.requires_grad


def _cofactors(a):
    """C_ij = (-1)^(i+j) det(a without row i and column j): the gradient of det, by minors."""
    n = a.shape[-1]
    c = np.ones_like(a)
    if n > 1:
        for i in range(n):
            for j in range(n):
                minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
                c[..., i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return c


@pytest.mark.parametrize("n", [1, 2, 4])
def test_det_gradient_of_a_singular_matrix_is_the_cofactor_matrix(n):
    """Deliberately not torch's: torch 2.14 returns a zero gradient at an exactly singular
    matrix; det is a polynomial, its gradient there is the cofactor matrix (adj(A)^T)."""
    rng = np.random.default_rng(n)
    a = rng.standard_normal((3, n, n))
    a[..., -1] = a[..., 0] * 2.0  # rank n - 1 (0 for n = 1: the adjugate of [0] is [1])
    if n == 1:
        a[...] = 0.0
    x = leaf(a)
    y = LA.det(x)
    np.testing.assert_allclose(y.numpy(), 0.0, atol=1e-14)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), _cofactors(a), rtol=1e-10, atol=1e-12)
    assert mc.gradcheck(LA.det, [leaf(a[0])])
    a[..., 0, :] = 0.0  # exactly singular for any LU: slogdet gives (0, -inf), as torch
    sign, logabsdet = LA.slogdet(mc.tensor(a))
    assert np.all(sign.numpy() == 0) and np.all(logabsdet.numpy() == -np.inf)


@settings(max_examples=25, deadline=None)
@given(b=batches(), scale=st.sampled_from([0.01, 0.5, 2.0, 8.0, 30.0]), dtype=DTYPES)
def test_matrix_exp_like_torch(b, scale, dtype):
    """Scales from 0.01 to 30 make 0 to about 6 squarings, per matrix."""
    batch, n, seed = b
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((*batch, n, n)) * scale / n
    big = float(torch.matrix_exp(torch.tensor(a)).abs().max())
    f64 = dict(rtol=1e-9, atol=1e-12 * big)
    f32 = dict(rtol=3e-4, atol=3e-5 * big)
    compare_with_torch(
        LA.matrix_exp, torch.linalg.matrix_exp, [a], dtype=dtype, **(f32 if dtype == np.float32 else f64)
    )


def test_matrix_exp_scales_each_matrix_of_a_batch_by_itself():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3, 3)) * np.array([1e-3, 1.0, 20.0])[:, None, None]
    compare_with_torch(LA.matrix_exp, torch.linalg.matrix_exp, [a], rtol=1e-10, atol=1e-10)
    skew = a - np.swapaxes(a, -1, -2)
    q = LA.matrix_exp(mc.tensor(skew)).numpy()  # exp of a skew-symmetric matrix is orthogonal
    np.testing.assert_allclose(q @ np.swapaxes(q, -1, -2), np.broadcast_to(np.eye(3), q.shape), atol=1e-12)


@SETTINGS
@given(b=batches(), upper=st.booleans(), dtype=DTYPES)
def test_cholesky_like_torch(b, upper, dtype):
    batch, n, seed = b
    a = spd(np.random.default_rng(seed), (*batch, n, n))
    compare_with_torch(
        lambda x: LA.cholesky(x, upper=upper),
        lambda x: torch.linalg.cholesky(x, upper=upper),
        [a],
        dtype=dtype,
        **tol(dtype),
    )


@SETTINGS
@given(
    batch=st.lists(st.integers(1, 3), max_size=2),
    mnk=st.tuples(st.integers(1, 5), st.integers(0, 5), st.integers(0, 5)),
    seed=st.integers(0, 2**16),
    dtype=DTYPES,
)
def test_householder_product_like_torch(batch, mnk, seed, dtype):
    m, n, k = sorted(mnk, reverse=True)
    n = max(n, 1)
    m = max(m, n)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((*batch, m, n))
    tau = rng.uniform(0, 2, (*batch, k))

    # float32: torch in float64 on the same float32 values, rounded once (torch's own float32
    # backward loses up to 2e-4: batch [3], 3x3, seed 9054, d tau 2.0e-4 off, ours 8e-8)
    def theirs(a_, t_):
        if dtype != np.float32:
            return torch.linalg.householder_product(a_, t_)
        return torch.linalg.householder_product(a_.double(), t_.double()).float()

    compare_with_torch(LA.householder_product, theirs, [a, tau], dtype=dtype, **tol(dtype))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("changed", ["upper", "lower"])
def test_cholesky_reads_the_triangle_it_returns_like_torch(upper, changed):
    """torch reads A's upper triangle for upper=True and the lower one otherwise; the
    other triangle may hold anything (here: a non-symmetric A, made indefinite by it)."""
    a = spd(np.random.default_rng(11), (2, 3, 3))
    if changed == "upper":
        a[..., 0, 2] += 30.0
    else:
        a[..., 2, 0] += 30.0
    fn, torch_fn = (lambda x: LA.cholesky(x, upper=upper)), (lambda x: torch.linalg.cholesky(x, upper=upper))
    if (changed == "upper") == upper:  # the triangle read is not positive-definite
        with pytest.raises(torch.linalg.LinAlgError):
            torch_fn(torch.tensor(a))
        with pytest.raises(LA.LinAlgError, match="not positive-definite"):
            fn(mc.tensor(a))
    else:
        a[..., 0, 2] -= 29.5 if changed == "upper" else 0.0  # still not symmetric, but mildly so
        a[..., 2, 0] -= 29.5 if changed == "lower" else 0.0
        compare_with_torch(fn, torch_fn, [a], rtol=1e-9, atol=1e-11)
        double_backward_like_torch(fn, torch_fn, [a], rtol=1e-8, atol=1e-10)


def test_det_first_derivative_with_create_graph_at_a_singular_matrix_like_torch():
    """Under create_graph torch's det gradient at a singular matrix is the cofactor matrix
    (as our plain backward's); our second derivative needs every matrix of the batch
    nonsingular (it is written with A^-1): LinAlgError, where torch's goes through the SVD."""
    a = np.stack([A3[0], np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])])
    x, tx = leaf(a), torch.tensor(a, requires_grad=True)
    (g,) = mc.autograd.grad(LA.det(x).sum(), [x], create_graph=True)
    (tg,) = torch.autograd.grad(torch.linalg.det(tx).sum(), [tx], create_graph=True)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.numpy(), _cofactors(a), rtol=1e-10, atol=1e-12)
    assert g.requires_grad
    with pytest.raises(LA.LinAlgError, match="linalg.det: .*singular"):
        mc.autograd.grad((g * g).sum(), [x])


@pytest.mark.parametrize("device", devices())
def test_matrix_functions_on_device(device):
    rng = np.random.default_rng(1)
    a = well_conditioned(rng, (2, 3, 3))
    rhs = rng.standard_normal((2, 3, 2))
    for mc_fn, torch_fn, arrays in [
        (LA.inv, torch.linalg.inv, [a]),
        (LA.solve, torch.linalg.solve, [a, rhs]),
        (LA.det, torch.linalg.det, [a]),
        (lambda x: LA.slogdet(x)[1], lambda x: torch.linalg.slogdet(x)[1], [a]),
        (LA.matrix_exp, torch.linalg.matrix_exp, [a / 3]),
        (LA.cholesky, torch.linalg.cholesky, [spd(rng, (2, 3, 3))]),
        (LA.householder_product, torch.linalg.householder_product, [rhs, a[:, 0, :2]]),
    ]:
        compare_with_torch(mc_fn, torch_fn, arrays, device=device, rtol=1e-8, atol=1e-10)


# -- numerical gradients and second derivatives -------------------------------------------

A3 = well_conditioned(np.random.default_rng(7), (2, 3, 3))
S3 = spd(np.random.default_rng(8), (2, 3, 3))
B32 = np.random.default_rng(9).standard_normal((2, 3, 2))
H42, T2 = np.random.default_rng(10).standard_normal((4, 2)), np.array([1.3, 0.4])
CASES = {
    "inv": (LA.inv, torch.linalg.inv, [A3]),
    "solve": (LA.solve, torch.linalg.solve, [A3, B32]),
    "solve_right": (
        lambda a, b: LA.solve(a, b, left=False),
        lambda a, b: torch.linalg.solve(a, b, left=False),
        [A3, B32.swapaxes(1, 2)],
    ),
    "det": (LA.det, torch.linalg.det, [A3]),
    "logabsdet": (lambda a: LA.slogdet(a)[1], lambda a: torch.linalg.slogdet(a)[1], [A3]),
    "matrix_exp": (LA.matrix_exp, torch.linalg.matrix_exp, [A3 / 2]),
    # symmetrised: cholesky reads one triangle, so the numerical gradient of the other is 0
    "cholesky": (
        lambda x: LA.cholesky((x + x.mT) / 2, upper=True),
        lambda x: torch.linalg.cholesky((x + x.mT) / 2, upper=True),
        [S3],
    ),
    "cholesky_of_gram": (
        lambda x: LA.cholesky(x @ x.mT),
        lambda x: torch.linalg.cholesky(x @ x.mT),
        [A3],
    ),
    "householder_product": (LA.householder_product, torch.linalg.householder_product, [H42, T2]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, _, arrays = CASES[name]
    inputs = [leaf(a[0] if a.ndim == 3 else a) for a in arrays]  # one matrix: the checks are O(numel^2)
    assert mc.gradcheck(fn, inputs)
    assert mc.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivatives_like_torch(name):
    fn, torch_fn, arrays = CASES[name]
    double_backward_like_torch(fn, torch_fn, arrays, rtol=1e-8, atol=1e-10)


@settings(max_examples=10, deadline=None)
@given(b=batches(max_n=3), op=st.sampled_from(["inv", "solve", "det", "matrix_exp", "cholesky"]))
def test_second_derivatives_like_torch_drawn(b, op):
    batch, n, seed = b
    rng = np.random.default_rng(seed)
    a = spd(rng, (*batch, n, n)) if op == "cholesky" else well_conditioned(rng, (*batch, n, n))
    fn, torch_fn, arrays = CASES[op]
    arrays = [a / n if op == "matrix_exp" else a, *([rng.standard_normal((*batch, n, 2))] if op == "solve" else [])]
    double_backward_like_torch(fn, torch_fn, arrays, rtol=1e-7, atol=1e-9)


def test_third_derivative_of_matrix_exp_like_torch():
    a = A3[0] / 3
    x, tx = leaf(a), torch.tensor(a, requires_grad=True)
    outs = []
    for lib, t, f in ((mc, x, LA.matrix_exp), (torch, tx, torch.linalg.matrix_exp)):
        (g,) = lib.autograd.grad((f(t) ** 2).sum(), [t], create_graph=True)
        (gg,) = lib.autograd.grad((g**2).sum(), [t], create_graph=True)
        (ggg,) = lib.autograd.grad(gg.sum(), [t])
        outs.append(ggg.detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-8, atol=1e-10)


# -- errors ---------------------------------------------------------------------------------


def test_singular_and_not_positive_definite_inputs_raise_linalg_error():
    sing = mc.tensor(np.array([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(LA.LinAlgError, match="linalg.inv: .*singular"):
        LA.inv(sing)
    with pytest.raises(ValueError, match="linalg.solve: .*singular"):
        LA.solve(sing, mc.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="linalg.cholesky: .*not positive-definite"):
        LA.cholesky(mc.tensor(np.array([[1.0, 2.0], [2.0, 1.0]])))
    assert issubclass(LA.LinAlgError, ValueError)
    np.testing.assert_array_equal(LA.det(sing).numpy(), 0.0)


def test_bad_shapes_and_dtypes_are_refused_naming_the_op():
    with pytest.raises(ValueError, match=r"linalg.inv: A must be batches of square matrices, but they are 2 by 3"):
        LA.inv(mc.zeros(2, 3))
    with pytest.raises(ValueError, match=r"linalg.det: The input tensor A must have at least 2 dimensions"):
        LA.det(mc.zeros(3))
    with pytest.raises(TypeError, match=r"linalg.matrix_exp: Expected a floating point tensor"):
        LA.matrix_exp(mc.tensor(np.eye(2, dtype=np.int64)))
    with pytest.raises(ValueError, match=r"linalg.solve: Incompatible shapes"):
        LA.solve(mc.tensor(np.eye(3)), mc.zeros(2, 1, dtype=np.float64))
    with pytest.raises(ValueError, match=r"linalg.solve: the batch dims"):
        LA.solve(mc.tensor(np.ones((2, 3, 3))), mc.zeros(4, 3, 1, dtype=np.float64))
    with pytest.raises(ValueError, match=r"linalg.solve: Vector broadcasting .* not supported for left=False"):
        LA.solve(mc.tensor(np.eye(3)), mc.zeros(3, dtype=np.float64), left=False)
    with pytest.raises(TypeError, match=r"linalg.solve: Expected A and B to have the same dtype"):
        LA.solve(mc.tensor(np.eye(3)), mc.zeros(3, 1))
    with pytest.raises(ValueError, match=r"householder_product: input.shape\[-2\] must be greater"):
        LA.householder_product(mc.zeros(2, 3), mc.zeros(2))
    with pytest.raises(ValueError, match=r"householder_product: input.shape\[-1\] must be greater"):
        LA.householder_product(mc.zeros(4, 2), mc.zeros(3))
    with pytest.raises(ValueError, match=r"householder_product: Expected batch dimensions of tau"):
        LA.householder_product(mc.zeros(2, 4, 2), mc.zeros(3, 2))


def test_errors_are_torchs_runtime_error_types():
    """torch raises RuntimeError (its LinAlgError is one) for bad shapes, dtypes and singular
    input across the matmul family and linalg; minicnn's errors are those too."""
    sing, eye = np.array([[1.0, 2.0], [2.0, 4.0]]), np.eye(2)
    cases = [
        (lambda m, a, b: m.matmul(a, b), np.ones(()), np.ones(3)),
        (lambda m, a, b: m.matmul(a, b), np.ones((2, 3)), np.ones((4, 2))),
        (lambda m, a, b: m.matmul(a, b), np.ones((2, 3)), np.ones((3, 2), np.float32)),
        (lambda m, a, b: m.matmul(a, b), np.ones((2, 3), np.int64), np.ones((3, 2))),
        (lambda m, a, b: m.linalg.cross(a, b), np.ones(3), np.ones(3, np.float32)),
        (lambda m, a, b: m.mm(a, b), np.ones(3), np.ones((3, 2))),
        (lambda m, a, b: m.mm(a, b), eye, eye.astype(np.float32)),
        (lambda m, a, b: m.bmm(a, b), np.ones((2, 2, 3)), np.ones((3, 3, 4))),
        (lambda m, a, b: m.mv(a, b), np.ones((3, 2)), np.ones(3)),
        (lambda m, a, b: m.dot(a, b), np.ones(2), np.ones(3)),
        (lambda m, a, b: m.outer(a, b), eye, np.ones(3)),
        (lambda m, a, b: m.einsum("ij,jk->ik", a, b), np.ones((2, 3)), np.ones((4, 2))),
        (lambda m, a, b: m.linalg.solve(a, b), eye, np.ones((2, 1), np.float32)),
        (lambda m, a, b: m.linalg.solve(a, b), sing, np.ones((2, 1))),
        (lambda m, a: m.linalg.inv(a), sing, None),
        (lambda m, a: m.linalg.det(a), np.ones((2, 3)), None),
        (lambda m, a: m.linalg.det(a), np.eye(2, dtype=np.int64), None),
        (lambda m, a: m.linalg.cholesky(a), -eye, None),
    ]
    for f, a, b in cases:
        args = [a] if b is None else [a, b]
        with pytest.raises(RuntimeError):
            f(torch, *[torch.tensor(x) for x in args])
        with pytest.raises(RuntimeError):
            f(mc, *[mc.tensor(x) for x in args])


def test_inner_of_empty_vectors_like_torch():
    a, b = np.zeros((2, 0)), np.zeros((4, 0))
    compare_with_torch(mc.inner, torch.inner, [a, b])
    compare_with_torch(mc.inner, torch.inner, [np.zeros((0, 3)), np.ones((2, 3))])


def test_logabsdet_gradient_at_a_singular_matrix_is_infinite_like_torch():
    """torch's gradient of log|det| at a singular matrix is +-inf (NaN where the cofactor is 0);
    the backward used to raise LinAlgError. The nonsingular matrix of the batch is unaffected."""
    a = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[2.0, 1.0], [1.0, 3.0]])])
    grads = []
    for lib in (mc, torch):
        x = lib.tensor(a, requires_grad=True)
        lib.linalg.slogdet(x)[1].sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(np.isinf(grads[0]), np.isinf(grads[1]))
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)
    z = mc.zeros(2, 2, dtype=mc.float64, requires_grad=True)
    LA.slogdet(z)[1].backward()
    assert not np.isfinite(z.grad.numpy()).any()


def test_det_gradient_of_a_matrix_with_nan_is_nan_like_torch():
    """NumPy's SVD (behind det's gradient) refuses non-finite input; torch's gradient is NaN."""
    a = np.stack([np.array([[1.0, np.nan], [0.0, 1.0]]), np.array([[2.0, 1.0], [1.0, 3.0]])])
    grads = []
    for lib in (mc, torch):
        x = lib.tensor(a, requires_grad=True)
        lib.linalg.det(x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
    assert np.isnan(grads[0][0]).all()


def test_every_new_function_has_a_graph_form():
    for cls in (MF.Inv, MF.Solve, MF.Det, MF.AdjugateT, MF.LogAbsDet, MF.MatrixExp, MF.Cholesky):
        assert hasattr(cls, "composite") or cls.backward_graph is not mc.Function.backward_graph, cls


# -- the namespace: norms, matmul, diagonal ------------------------------------------------


@SETTINGS
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    ord=st.sampled_from([2, 1, 3.5, 0.5, math.inf, -math.inf]),
    keepdim=st.booleans(),
    data=st.data(),
)
def test_vector_norm_like_torch(shape, ord, keepdim, data):
    dim = data.draw(st.sampled_from([None, -1, 0, tuple(range(len(shape)))]))
    rng = np.random.default_rng(len(shape))
    x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)  # away from 0, the kink of |x|
    compare_with_torch(
        lambda t: LA.vector_norm(t, ord, dim, keepdim),
        lambda t: torch.linalg.vector_norm(t, ord, dim, keepdim),
        [x],
    )


@SETTINGS
@given(
    batch=st.lists(st.integers(1, 3), max_size=1),
    mn=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    ord=st.sampled_from(["fro", "nuc", 1, -1, math.inf, -math.inf]),
    dim=st.sampled_from([(-2, -1), (-1, -2)]),
    keepdim=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_matrix_norm_like_torch(batch, mn, ord, dim, keepdim, seed):
    x = np.random.default_rng(seed).standard_normal((*batch, *mn))
    compare_with_torch(
        lambda t: LA.matrix_norm(t, ord, dim, keepdim),
        lambda t: torch.linalg.matrix_norm(t, ord, dim, keepdim),
        [x],
        rtol=1e-8,
        atol=1e-10,
    )


@pytest.mark.parametrize(
    "ord, dim, shape",
    [(None, None, (2, 3, 4)), (None, 1, (2, 3)), (3.0, None, (5,)), ("fro", None, (3, 4)), (1, (0, 2), (2, 3, 4)),
     (math.inf, None, (3, 4)), ("nuc", (1, 2), (2, 3, 3)), (None, (0, 1), (3, 4))],
)  # fmt: skip
def test_norm_chooses_vector_or_matrix_norm_like_torch(ord, dim, shape):
    x = np.random.default_rng(3).standard_normal(shape)
    compare_with_torch(lambda t: LA.norm(t, ord, dim), lambda t: torch.linalg.norm(t, ord, dim), [x])


def test_norm_errors_and_unsupported_orders():
    with pytest.raises(ValueError, match="the input must be 1D or 2D. Got 3D"):
        LA.norm(mc.zeros(2, 2, 2), 2)
    with pytest.raises(ValueError, match="Order 3 not supported"):
        LA.matrix_norm(mc.zeros(2, 2), 3)
    with pytest.raises(TypeError):
        LA.vector_norm(mc.tensor(np.ones(3, dtype=np.int64)))
    # torch's exception types (minicnn's size errors are ValueErrors that are also RuntimeErrors)
    cases = [
        (RuntimeError, "norm", (np.ones(3), "fro")),
        (RuntimeError, "norm", (np.ones(3), "nuc")),
        (RuntimeError, "norm", (np.ones((2, 2, 2)), 1)),
        (RuntimeError, "matrix_norm", (np.ones(3),)),
        (RuntimeError, "matrix_norm", (np.ones((2, 2)), 3)),
        (TypeError, "vector_norm", (np.ones(3), "fro")),
    ]
    for error, name, (a, *args) in cases:
        with pytest.raises(error):
            getattr(torch.linalg, name)(torch.tensor(a), *args)
        with pytest.raises(error):
            getattr(LA, name)(mc.tensor(a), *args)
    with pytest.raises(RuntimeError):
        LA.norm(mc.ones(2, 3), dim=(0, 1, 1))
    for lib in (torch, mc):  # torch's RuntimeError; minicnn's DtypeError is a TypeError too
        with pytest.raises(RuntimeError):
            lib.dist(lib.tensor([1, 2]), lib.tensor([3, 4]))


@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (0, 0), (2, 3, 0)])
@pytest.mark.parametrize("ord", [1, math.inf, "fro", "nuc"])
def test_matrix_norm_of_empty_matrices_like_torch(shape, ord):
    """torch: 0 (the max of no column or row sums too)."""
    for keepdim in (False, True):
        ours = LA.matrix_norm(mc.zeros(shape, dtype=np.float64), ord, keepdim=keepdim).numpy()
        theirs = torch.linalg.matrix_norm(torch.zeros(shape, dtype=torch.float64), ord, keepdim=keepdim).numpy()
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)


def test_matmul_and_diagonal_like_torch():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2))
    compare_with_torch(LA.matmul, torch.linalg.matmul, [a, b])
    compare_with_torch(lambda t: LA.diagonal(t), lambda t: torch.linalg.diagonal(t), [a])
    compare_with_torch(
        lambda t: LA.diagonal(t, offset=1, dim1=0, dim2=2),
        lambda t: torch.linalg.diagonal(t, offset=1, dim1=0, dim2=2),
        [a],
    )


def _torch_params(fn):
    """(name, default) of torch.linalg's documented signature (its docstring's first line),
    without ``out``."""
    line = fn.__doc__.strip().splitlines()[0]
    args = line[line.index("(") + 1 :].split(" -> ")[0].strip()[:-1]  # (the return part may hold parentheses)
    out = []
    for part in args.replace("(-2, -1)", "(-2|-1)").split(","):
        part = part.strip()
        if part in ("*", "") or part.startswith("out"):
            continue
        name, _, default = part.partition("=")
        name = name.split()[-1]  # (some lines give a type: "bool pivot=True")
        out.append((name, default.replace("(-2|-1)", "(-2, -1)") or None))
    return out


@pytest.mark.parametrize("name", [n for n in LA.__all__ if n.islower()])
def test_signatures_match_torch_linalg(name):
    ours = [
        (p.name, None if p.default is inspect.Parameter.empty else repr(p.default))
        for p in inspect.signature(getattr(LA, name)).parameters.values()
    ]
    theirs = _torch_params(getattr(torch.linalg, name))
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    assert [d for _, d in ours] == [d for _, d in theirs]
