"""LU factorization and what is built on it (mc.linalg.lu, lu_factor, lu_factor_ex, lu_solve,
solve_ex, vander; mc.lu_unpack, mc.lu_solve, mc.triangular_solve, mc.lu / Tensor.lu) against
torch: values and pivots on drawn batched shapes (square, wide, tall, n = 1), gradients,
float64 gradcheck, second derivatives, errors, and the devices() cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import linalg as LA
from minicnn.kernels import lu as lu_kernels

SETTINGS = settings(max_examples=25, deadline=None)
F32 = dict(rtol=2e-3, atol=2e-4)

batches = st.sampled_from([(), (1,), (3,), (2, 2)])
sizes = st.integers(1, 5)
seeds = st.integers(0, 2**31 - 1)
dtypes = st.sampled_from([np.float32, np.float64])


def draw(seed, shape, dtype=np.float64):
    """A generic matrix: Gaussian plus a diagonal shift, so that U is well conditioned."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if len(shape) < 2:
        return a.astype(dtype)
    m, n = shape[-2:]
    a = a + 2.0 * np.eye(m, n) * rng.choice([-1, 1], size=(*shape[:-2], 1, 1))
    return a.astype(dtype)


def tt(a, grad=False):
    return torch.tensor(a, requires_grad=grad)


def torch_quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# -- values ----------------------------------------------------------------------------------


@SETTINGS
@given(batch=batches, m=sizes, n=sizes, dtype=dtypes, seed=seeds)
def test_lu_factor_and_lu_match_torch(batch, m, n, dtype, seed):
    a = np.random.default_rng(seed).standard_normal((*batch, m, n)).astype(dtype)
    lu, piv = LA.lu_factor(mc.tensor(a))
    t_lu, t_piv = torch.linalg.lu_factor(tt(a))
    tol = F32 if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert piv.dtype == np.int32 and lu.dtype == dtype
    np.testing.assert_array_equal(piv.numpy(), t_piv.numpy())
    np.testing.assert_allclose(lu.numpy(), t_lu.numpy(), **tol)
    lu2, piv2, info = LA.lu_factor_ex(mc.tensor(a))
    np.testing.assert_array_equal(info.numpy(), torch.linalg.lu_factor_ex(tt(a)).info.numpy())
    np.testing.assert_array_equal(piv2.numpy(), t_piv.numpy())
    for ours, theirs in zip(LA.lu(mc.tensor(a)), torch.linalg.lu(tt(a))):
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **tol)
    for ours, theirs in zip(mc.lu_unpack(lu, piv), torch.lu_unpack(t_lu, t_piv)):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **tol)


@SETTINGS
@given(batch=batches, m=sizes, n=sizes, seed=seeds, zero_col=st.integers(0, 4))
def test_kernel_matches_the_loop_reference_and_reports_zero_pivots(batch, m, n, seed, zero_col):
    a = np.random.default_rng(seed).standard_normal((*batch, m, n))
    if zero_col < n:  # a zero column: a zero pivot, as getrf reports it (info = first one)
        a.reshape(-1, m, n)[0, :, zero_col] = 0.0  # in the first matrix of the batch
    lu, piv, info = lu_kernels.lu_factor(a)
    flat = a.reshape(-1, m, n)
    for i, one in enumerate(flat):
        r_lu, r_piv, r_info = lu_kernels.lu_factor_reference(one)
        np.testing.assert_allclose(lu.reshape(-1, m, n)[i], r_lu, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(piv.reshape(-1, min(m, n))[i], r_piv)
        assert info.reshape(-1)[i] == r_info
    t = torch.linalg.lu_factor_ex(tt(a))
    np.testing.assert_array_equal(info, t.info.numpy())
    np.testing.assert_array_equal(piv, t.pivots.numpy())


def test_zero_pivots_in_later_panels_and_the_row_permutation_as_torch():
    """info is the first zero pivot wherever its panel is; ``permutation`` is the perm of torch's P."""
    a = draw(5, (4, 9, 8))
    a[1, :, 5] = 0.0  # a zero column: a zero pivot at step 5 (third panel of 2)
    a[2, :, 6] = a[2, :, 1] = 0.0  # two: info is the first
    lu, piv, info = lu_kernels.lu_factor(a, block=2)
    t = torch.linalg.lu_factor_ex(tt(a))
    np.testing.assert_array_equal(info, t.info.numpy())
    np.testing.assert_array_equal(info, [0, 6, 2, 0])
    np.testing.assert_array_equal(piv, t.pivots.numpy())
    p_torch = torch.lu_unpack(t.LU, t.pivots)[0].numpy()  # A = P L U, P[perm[i], i] = 1
    np.testing.assert_array_equal(lu_kernels.permutation(piv, 9), p_torch.argmax(axis=-2))
    assert lu_kernels.permutation(np.zeros((2, 0), dtype=np.int32), 3).tolist() == [[0, 1, 2]] * 2


@pytest.mark.parametrize("shape", [(2, 0, 0), (0, 3, 3), (3, 0, 4), (3, 4, 0)])
def test_lu_factor_gradient_of_empty_matrices_as_torch(shape):
    """The backward's row permutation on a batch of empty matrices (no -1 in its reshapes)."""
    x, t = mc.tensor(np.ones(shape), requires_grad=True), tt(np.ones(shape), grad=True)
    LA.lu_factor_ex(x)[0].sum().backward()
    torch.linalg.lu_factor_ex(t)[0].sum().backward()
    assert tuple(x.grad.shape) == tuple(t.grad.shape)


def test_lu_permutation_does_not_require_grad_as_torch():
    a = np.array([[1.0, 2.0, 0.5], [4.0, 1.0, 2.0]])
    ours, theirs = LA.lu(mc.tensor(a, requires_grad=True)), torch.linalg.lu(tt(a, grad=True))
    flags = [(o.requires_grad, o.grad_fn is None, o.is_leaf) for o in ours]
    assert flags == [(t.requires_grad, t.grad_fn is None, t.is_leaf) for t in theirs]
    assert flags[0] == (False, True, True)


def test_singular_matrix_as_torch():
    s = np.array([[1.0, 2, 3], [2, 4, 6], [1, 1, 1]])
    ours, theirs = LA.lu_factor_ex(mc.tensor(s)), torch.linalg.lu_factor_ex(tt(s))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), atol=1e-15)
    for o, t in zip(LA.lu(mc.tensor(s)), torch.linalg.lu(tt(s))):
        np.testing.assert_allclose(o.numpy(), t.numpy(), atol=1e-15)


def test_no_pivoting_factors_without_row_swaps():
    a = draw(3, (2, 4, 3))
    lu, piv, info = LA.lu_factor_ex(mc.tensor(a), pivot=False)
    np.testing.assert_array_equal(piv.numpy(), np.broadcast_to(np.arange(1, 4, dtype=np.int32), (2, 3)))
    p, low, up = LA.lu(mc.tensor(a), pivot=False)
    assert p.shape == (0,)
    np.testing.assert_allclose((low @ up).numpy(), a, atol=1e-12)
    np.testing.assert_allclose(np.tril(lu.numpy(), -1), np.tril(low.numpy(), -1))
    np.testing.assert_allclose(np.triu(lu.numpy())[..., :3, :], up.numpy())
    assert not info.numpy().any()


@SETTINGS
@given(batch=batches, m=st.integers(1, 9), n=st.integers(1, 9), block=st.integers(1, 3), seed=seeds)
def test_blocked_kernel_matches_the_reference_and_torch(batch, m, n, block, seed):
    """Panels narrower than k: the trailing matmul update and the U rows right of a panel."""
    a = np.random.default_rng(seed).standard_normal((*batch, m, n))
    lu, piv, info = lu_kernels.lu_factor(a, block=block)
    for i, one in enumerate(a.reshape(-1, m, n)):
        r_lu, r_piv, _ = lu_kernels.lu_factor_reference(one)
        np.testing.assert_allclose(lu.reshape(-1, m, n)[i], r_lu, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(piv.reshape(-1, min(m, n))[i], r_piv)
    t = torch.linalg.lu_factor_ex(tt(a))
    np.testing.assert_array_equal(piv, t.pivots.numpy())
    np.testing.assert_array_equal(info, t.info.numpy())
    np.testing.assert_allclose(lu, t.LU.numpy(), rtol=1e-10, atol=1e-12)


def test_blocked_kernel_on_ties_and_singular_matrices():
    """Permutation and repeated-row matrices: exact ties and exact zero pivots, as getrf's."""
    rng = np.random.default_rng(0)
    perms = np.stack([np.eye(7)[rng.permutation(7)] for _ in range(5)])
    reps = rng.integers(-2, 3, (5, 7, 7)).astype(np.float64)
    reps[:, 5] = reps[:, 1]  # a repeated row: an exact zero pivot, as getrf's
    # a repeated row across panels: rounding decides whether its pivot is exactly 0 (torch's too)
    for a, block in ((perms, 2), (np.zeros((2, 7, 5)), 2), (reps, 16)):
        lu, piv, info = lu_kernels.lu_factor(a, block=block)
        t = torch.linalg.lu_factor_ex(tt(a))
        np.testing.assert_array_equal(piv, t.pivots.numpy())
        np.testing.assert_array_equal(info, t.info.numpy())
        np.testing.assert_allclose(lu, t.LU.numpy(), atol=1e-12)


# -- gradients ------------------------------------------------------------------------------


def lu_parts(lib):
    """L and U of linalg.lu, flattened side by side (one output for compare_with_torch)."""
    if lib is torch:
        return lambda a: torch.cat([p.flatten(-2) for p in torch.linalg.lu(a)[1:]], -1)
    return lambda a: mc.cat([p.flatten(-2) for p in LA.lu(a)[1:]], -1)


@SETTINGS
@given(batch=batches, m=sizes, n=sizes, dtype=dtypes, seed=seeds)
def test_lu_and_lu_factor_gradients_match_torch(batch, m, n, dtype, seed):
    a = draw(seed, (*batch, m, n))
    tol = F32 if dtype == np.float32 else {}
    compare_with_torch(lu_parts(mc), lu_parts(torch), [a], dtype=dtype, **tol)
    compare_with_torch(
        lambda x: LA.lu_factor(x).LU, lambda x: torch.linalg.lu_factor(x).LU, [a], dtype=dtype, seed=1, **tol
    )


@SETTINGS
@given(
    batch=batches,
    b_batch=st.sampled_from([(), (1,), (3,), (2, 1)]),
    n=sizes,
    k=st.integers(1, 3),
    left=st.booleans(),
    adjoint=st.booleans(),
    seed=seeds,
)
def test_lu_solve_matches_torch_values_and_gradients(batch, b_batch, n, k, left, adjoint, seed):
    try:
        np.broadcast_shapes(batch, b_batch)
    except ValueError:
        return
    a = draw(seed, (*batch, n, n))
    t_lu, t_piv = torch.linalg.lu_factor(tt(a))
    b = np.random.default_rng(seed + 1).standard_normal((*b_batch, n, k) if left else (*b_batch, k, n))
    piv = mc.tensor(t_piv.numpy())
    compare_with_torch(
        lambda lu, y: LA.lu_solve(lu, piv, y, left=left, adjoint=adjoint),
        lambda lu, y: torch.linalg.lu_solve(lu, t_piv, y, left=left, adjoint=adjoint),
        [t_lu.numpy(), b],
    )
    compare_with_torch(  # through the factorization, end to end
        lambda x, y: LA.lu_solve(*LA.lu_factor(x), y, left=left, adjoint=adjoint),
        lambda x, y: torch.linalg.lu_solve(*torch.linalg.lu_factor(x), y, left=left, adjoint=adjoint),
        [a, b],
        dtype=np.float32,
        **F32,
    )


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (1, 1)])
def test_gradcheck_float64(shape):
    a = mc.tensor(draw(7, (2, *shape)), requires_grad=True)
    assert mc.gradcheck(lambda x: LA.lu(x)[1:], [a])
    assert mc.gradcheck(lambda x: LA.lu_factor(x).LU, [a])
    assert mc.gradgradcheck(lambda x: LA.lu_factor_ex(x).LU, [a])
    n = shape[0]
    sq = mc.tensor(draw(8, (2, n, n)), requires_grad=True)
    b = mc.tensor(draw(9, (n, 2)), requires_grad=True)
    lu, piv = (t.detach() for t in LA.lu_factor(sq))
    lu.requires_grad = True
    assert mc.gradcheck(lambda x, y: LA.lu_solve(x, piv, y, adjoint=True), [lu, b])
    assert mc.gradcheck(lambda x, y: mc.triangular_solve(y, x, upper=False, transpose=True)[0], [sq, b])
    assert mc.gradcheck(lambda x: LA.vander(x, N=4), [mc.tensor(draw(10, (2, 3)), requires_grad=True)])


def test_second_derivatives():
    a = draw(11, (2, 3, 3))
    double_backward_like_torch(lu_parts(mc), lu_parts(torch), [a])
    double_backward_like_torch(lambda x: LA.lu_factor(x).LU, lambda x: torch.linalg.lu_factor(x).LU, [draw(12, (3, 2))])
    b = draw(13, (3, 2))
    double_backward_like_torch(
        lambda x, y: LA.lu_solve(*LA.lu_factor(x), y),
        lambda x, y: torch.linalg.lu_solve(*torch.linalg.lu_factor(x), y),
        [a, b],
    )
    assert mc.gradgradcheck(lambda x: LA.lu(x)[1:], [mc.tensor(draw(14, (2, 3)), requires_grad=True)])


# -- solve_ex, vander, triangular_solve, the legacy forms --------------------------------------


@SETTINGS
@given(batch=batches, n=sizes, vector=st.booleans(), left=st.booleans(), seed=seeds)
def test_solve_ex_matches_torch(batch, n, vector, left, seed):
    a = draw(seed, (*batch, n, n))
    b = draw(seed + 1, (*batch, n) if vector and left else (*batch, n, 2) if left else (*batch, 2, n))
    compare_with_torch(
        lambda x, y: LA.solve_ex(x, y, left=left).result,
        lambda x, y: torch.linalg.solve_ex(x, y, left=left).result,
        [a, b],
    )
    info = LA.solve_ex(mc.tensor(a), mc.tensor(b), left=left).info
    assert info.dtype == np.int32 and info.shape == batch and not info.numpy().any()


def test_solve_ex_singular_batch_element():
    s = np.array([[1.0, 2, 3], [2, 4, 6], [1, 1, 1]])
    a = np.stack([draw(0, (3, 3)), s])
    b = draw(1, (3, 2))
    x, info = LA.solve_ex(mc.tensor(a), mc.tensor(b))
    t = torch.linalg.solve_ex(tt(a), tt(b))
    np.testing.assert_array_equal(info.numpy(), t.info.numpy())
    np.testing.assert_allclose(x.numpy()[0], t.result.numpy()[0], rtol=1e-10)
    assert np.isnan(x.numpy()[1]).all()  # torch: inf/NaN from the zero pivot
    with pytest.raises(LA.LinAlgError, match="linalg.solve"):
        LA.solve_ex(mc.tensor(a), mc.tensor(b), check_errors=True)


def test_solve_ex_info_is_getrfs_not_numpys():
    """A batch with a singular matrix: solve_ex must not raise without check_errors (NumPy's
    solver raises for the whole batch), and its info is getrf's (torch's). The singular one
    reaches its zero pivot exactly in any rounding order, so that every LAPACK agrees (whether a
    matrix singular only in exact arithmetic gets an exact zero pivot depends on the CPU's FMAs)."""
    exactly_singular = np.array([[2.0, 4.0, 6.0], [1.0, 3.0, 5.0], [1.5, 3.5, 5.5]])
    a, b = np.stack([draw(1, (3, 3)), exactly_singular, draw(2, (3, 3))]), draw(3, (3, 2))
    for check_errors in (False, True):
        if check_errors:
            with pytest.raises(LA.LinAlgError, match=r"linalg.solve_ex: \(Batch element 1\): The solver failed"):
                LA.solve_ex(mc.tensor(a), mc.tensor(b), check_errors=True)
            a = a[[0, 2]]
        x, info = LA.solve_ex(mc.tensor(a), mc.tensor(b), check_errors=check_errors)
        t = torch.linalg.solve_ex(tt(a), tt(b))
        np.testing.assert_array_equal(info.numpy(), t.info.numpy())
        ok = t.info.numpy() == 0
        tx = t.result.numpy()[ok]
        np.testing.assert_allclose(x.numpy()[ok] / np.abs(tx).max(), tx / np.abs(tx).max(), atol=1e-9)
        assert np.isnan(x.numpy()[~ok]).all()
    g = mc.tensor(a, requires_grad=True)
    LA.solve_ex(g, mc.tensor(b)).result.sum().backward()
    t = tt(a, grad=True)
    torch.linalg.solve_ex(t, tt(b)).result.sum().backward()
    scale = np.abs(t.grad.numpy()).max()
    np.testing.assert_allclose(g.grad.numpy() / scale, t.grad.numpy() / scale, atol=1e-8)


@SETTINGS
@given(shape=st.sampled_from([(1,), (4,), (2, 3), (2, 1, 2)]), N=st.sampled_from([None, 2, 5]), seed=seeds)
def test_vander_matches_torch(shape, N, seed):  # noqa: N803 - torch's name
    x = np.random.default_rng(seed).standard_normal(shape)
    if N is None and shape[-1] == 1:
        N = 3
    compare_with_torch(lambda t: LA.vander(t, N=N), lambda t: torch.linalg.vander(t, N=N), [x])
    ints = np.arange(1, 4)
    np.testing.assert_array_equal(LA.vander(mc.tensor(ints)).numpy(), torch.linalg.vander(torch.tensor(ints)).numpy())


@SETTINGS
@given(
    batch=batches,
    b_batch=st.sampled_from([(), (3,), (2, 1)]),
    n=sizes,
    upper=st.booleans(),
    transpose=st.booleans(),
    unit=st.booleans(),
    seed=seeds,
)
def test_triangular_solve_matches_torch(batch, b_batch, n, upper, transpose, unit, seed):
    try:
        np.broadcast_shapes(batch, b_batch)
    except ValueError:
        return
    a = draw(seed, (*batch, n, n))
    b = draw(seed + 1, (*b_batch, n, 2))

    def ours(y, x):
        sol, coef = mc.triangular_solve(y, x, upper, transpose, unit)
        return mc.cat([sol.flatten(-2), coef.flatten(-2) * 0.5], -1)

    def theirs(y, x):
        sol, coef = torch_quiet(torch.triangular_solve, y, x, upper, transpose, unit)
        return torch.cat([sol.flatten(-2), coef.flatten(-2) * 0.5], -1)

    compare_with_torch(ours, theirs, [b, a])


def test_legacy_forms_match_torch():
    a, b = draw(20, (2, 3, 3)), draw(21, (2, 3, 1))
    lu, piv = mc.lu(mc.tensor(a))
    t_lu, t_piv = torch_quiet(torch.lu, tt(a))
    np.testing.assert_allclose(lu.numpy(), t_lu.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(piv.numpy(), t_piv.numpy())
    *_, info = mc.tensor(a).lu(get_infos=True)
    assert info.shape == (2,) and not info.numpy().any()
    expected = torch_quiet(torch.lu_solve, tt(b), t_lu, t_piv).numpy()
    np.testing.assert_allclose(mc.lu_solve(mc.tensor(b), lu, piv).numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(mc.tensor(b).lu_solve(lu, piv).numpy(), expected, rtol=1e-10)
    sol, coef = mc.tensor(b).triangular_solve(mc.tensor(a))
    np.testing.assert_allclose(sol.numpy(), torch_quiet(tt(b).triangular_solve, tt(a)).solution.numpy(), rtol=1e-10)
    p, low, up = mc.lu_unpack(lu, piv, unpack_data=False)
    assert low.shape == up.shape == (0,) and p.shape == (2, 3, 3)


# -- errors ---------------------------------------------------------------------------------


def test_errors_name_the_op():
    singular = np.stack([draw(0, (3, 3)), np.zeros((3, 3))])
    with pytest.raises(LA.LinAlgError, match=r"lu_factor: \(Batch element 1\): U\[1,1\] is zero"):
        LA.lu_factor(mc.tensor(singular))
    with pytest.raises(LA.LinAlgError, match=r"lu_factor_ex: \(Batch element 1\): U\[1,1\] is zero"):
        LA.lu_factor_ex(mc.tensor(singular), check_errors=True)
    with pytest.raises(LA.LinAlgError, match="U\\[1,1\\] is zero"):
        mc.lu(mc.tensor(singular))
    assert LA.lu_factor_ex(mc.tensor(singular)).info.numpy().tolist() == [0, 1]
    with pytest.raises(ValueError, match="linalg.lu: The input tensor A must have at least 2 dimensions"):
        LA.lu(mc.tensor(np.ones(3)))
    with pytest.raises(TypeError, match="linalg.lu_factor"):
        LA.lu_factor(mc.tensor(np.ones((2, 2), dtype=np.int64)))
    lu, piv = LA.lu_factor(mc.tensor(draw(1, (3, 4))))
    with pytest.raises(ValueError, match="linalg.lu_solve: A must be batches of square matrices"):
        LA.lu_solve(lu, piv, mc.tensor(np.ones((3, 1))))
    lu, piv = LA.lu_factor(mc.tensor(draw(1, (3, 3))))
    with pytest.raises(ValueError, match="linalg.lu_solve: Incompatible shapes"):
        LA.lu_solve(lu, piv, mc.tensor(np.ones((2, 1))))
    with pytest.raises(TypeError, match="linalg.lu_solve: Expected pivots to be int32"):
        LA.lu_solve(lu, piv.to(np.int64), mc.tensor(np.ones((3, 1))))
    with pytest.raises(ValueError, match="linalg.solve_ex: A must be batches of square matrices"):
        LA.solve_ex(mc.tensor(np.ones((2, 3))), mc.tensor(np.ones((2, 1))))
    with pytest.raises(ValueError, match="linalg.vander: N must be greater than 1"):
        LA.vander(mc.tensor(np.ones(3)), N=1)
    with pytest.raises(ValueError, match="triangular_solve: A must be batches of square matrices"):
        mc.triangular_solve(mc.tensor(np.ones((2, 1))), mc.tensor(np.ones((2, 3))))
    with pytest.raises(TypeError, match="linalg.vander supports floating point and integer tensors, but got bool"):
        LA.vander(mc.tensor(np.array([True, False])))  # as torch


def test_bad_pivots_and_batches_raise_naming_the_op():
    lu, piv = LA.lu_factor(mc.tensor(draw(1, (2, 3, 3))))
    b = mc.tensor(np.ones((2, 3, 1)))
    for bad in ([[5, 2, 3], [1, 2, 3]], [[0, 2, 3], [1, 2, 3]]):  # torch: RuntimeError
        bad = mc.tensor(np.array(bad, dtype=np.int32))
        with pytest.raises(ValueError, match="linalg.lu_solve: pivots must be between 1 and LU.size"):
            LA.lu_solve(lu, bad, b)
        with pytest.raises(ValueError, match="lu_unpack: pivots must be between 1 and LU.size"):
            mc.lu_unpack(lu, bad)
    with pytest.raises(ValueError, match=r"linalg.lu_solve: the batch dims of LU \(2, 3, 3\) and B \(3, 3, 1\)"):
        LA.lu_solve(lu, piv, mc.tensor(np.ones((3, 3, 1))))


# -- devices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("device", devices())
def test_lu_family_on_device(device):
    a = draw(30, (2, 3, 3))
    compare_with_torch(lu_parts(mc), lu_parts(torch), [a], device=device)
    lu, piv = LA.lu_factor(mc.tensor(a, device=device))
    assert mc.backend.device_of(piv.array) == mc.backend.device_of(lu.array)
    np.testing.assert_array_equal(piv.numpy(), torch.linalg.lu_factor(tt(a)).pivots.numpy())
    a = draw(36, (2, 5, 6))  # panels of 2 columns: the trailing matmul on the device
    lu, piv, info = lu_kernels.lu_factor(mc.tensor(a, device=device).array, block=2)
    t = torch.linalg.lu_factor_ex(tt(a))
    np.testing.assert_array_equal(mc.backend.to_numpy(piv), t.pivots.numpy())
    np.testing.assert_allclose(mc.backend.to_numpy(lu), t.LU.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", devices())
def test_lu_solve_and_solve_ex_on_device(device):
    a, b = draw(31, (2, 3, 3)), draw(32, (3, 2))
    compare_with_torch(
        lambda x, y: LA.lu_solve(*LA.lu_factor(x), y),
        lambda x, y: torch.linalg.lu_solve(*torch.linalg.lu_factor(x), y),
        [a, b],
        device=device,
    )
    s = np.stack([a[0], np.zeros((3, 3))])
    x, info = LA.solve_ex(mc.tensor(s, device=device), mc.tensor(b, device=device))
    assert info.numpy().tolist() == [0, 1] and np.isnan(x.numpy()[1]).all()


@pytest.mark.parametrize("device", devices())
def test_vander_and_triangular_solve_on_device(device):
    compare_with_torch(
        lambda t: LA.vander(t, N=3), lambda t: torch.linalg.vander(t, N=3), [draw(33, (2, 3))], device=device
    )
    compare_with_torch(
        lambda y, x: mc.triangular_solve(y, x)[0],
        lambda y, x: torch_quiet(torch.triangular_solve, y, x)[0],
        [draw(34, (3, 2)), draw(35, (3, 3))],
        device=device,
    )


# -- LDL^T ----------------------------------------------------------------------------------


def symmetric(seed, shape, dtype=np.float64):
    """Symmetric indefinite; every other draw with rows of very different scales (2x2 blocks)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if seed % 2:
        a = a * rng.standard_normal((*shape[:-1], 1))
    return (a + np.swapaxes(a, -1, -2)).astype(dtype)


@SETTINGS
@given(batch=batches, n=st.integers(1, 6), dtype=dtypes, seed=seeds)
def test_ldl_factor_and_solve_match_torch(batch, n, dtype, seed):
    a = symmetric(seed, (*batch, n, n), dtype)
    ld, piv, info = LA.ldl_factor_ex(mc.tensor(a))
    t = torch.linalg.ldl_factor_ex(tt(a))
    tol = F32 if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_array_equal(piv.numpy(), t.pivots.numpy())
    np.testing.assert_array_equal(info.numpy(), t.info.numpy())
    scale = max(1.0, np.abs(t.LD.numpy()).max())
    np.testing.assert_allclose(ld.numpy() / scale, t.LD.numpy() / scale, **tol)
    for i, one in enumerate(a.reshape(-1, n, n)):  # the step-by-step sytf2 gives the same pivots
        np.testing.assert_array_equal(lu_kernels.ldl_factor_reference(one)[1], piv.numpy().reshape(-1, n)[i])
    b = np.random.default_rng(seed + 1).standard_normal((*batch, n, 2)).astype(dtype)
    x = LA.ldl_solve(ld, piv, mc.tensor(b))
    tx = torch.linalg.ldl_solve(t.LD, t.pivots, tt(b)).numpy()
    scale = max(1.0, np.abs(tx).max())
    np.testing.assert_allclose(x.numpy() / scale, tx / scale, **(F32 if dtype == np.float32 else {}))


def test_ldl_solve_broadcasts_and_has_no_derivative():
    a, b = symmetric(3, (2, 4, 4)), np.random.default_rng(4).standard_normal((3, 1, 4, 2))
    a_t = mc.tensor(a, requires_grad=True)
    ld, piv = LA.ldl_factor(a_t)
    x = LA.ldl_solve(ld.detach(), piv, mc.tensor(b))  # torch's ldl_solve crashes on this broadcast
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-9)
    with pytest.raises(RuntimeError, match="derivative for linalg.ldl_factor_ex is not implemented"):
        ld.sum().backward()
    b_t = mc.tensor(b[0, 0], requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for linalg.ldl_solve is not implemented"):
        LA.ldl_solve(ld.detach(), piv, b_t).sum().backward()
    singular = np.stack([np.eye(3), np.zeros((3, 3))])
    assert LA.ldl_factor_ex(mc.tensor(singular)).info.numpy().tolist() == [0, 1]
    with pytest.raises(LA.LinAlgError, match=r"linalg.ldl_factor: \(Batch element 1\).*singular"):
        LA.ldl_factor(mc.tensor(singular))
    with pytest.raises(ValueError, match="linalg.ldl_factor_ex: A must be batches of square matrices"):
        LA.ldl_factor(mc.tensor(np.ones((2, 3))))
    with pytest.raises(TypeError, match="linalg.ldl_solve: Expected pivots to be integers"):
        LA.ldl_solve(ld.detach(), piv.to(np.float64), mc.tensor(b[0, 0]))


def test_ldl_solve_takes_int64_pivots_as_torch():
    a, b = symmetric(7, (4, 4)), np.random.default_rng(8).standard_normal((4, 2))
    a[np.arange(4), np.arange(4)] = 0.0  # zero diagonal: 2x2 blocks
    ld, piv = LA.ldl_factor(mc.tensor(a))
    t = torch.linalg.ldl_factor(tt(a))
    assert (piv.numpy() < 0).any()
    x = LA.ldl_solve(ld, piv.to(np.int64), mc.tensor(b))
    tx = torch.linalg.ldl_solve(t.LD, t.pivots.long(), tt(b))
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", devices())
def test_ldl_on_device(device):
    a, b = symmetric(5, (3, 4, 4)), np.random.default_rng(6).standard_normal((3, 4, 2))
    ld, piv = LA.ldl_factor(mc.tensor(a, device=device))
    t = torch.linalg.ldl_factor(tt(a))
    np.testing.assert_array_equal(piv.numpy(), t.pivots.numpy())
    np.testing.assert_allclose(ld.numpy(), t.LD.numpy(), rtol=1e-10, atol=1e-12)
    x = LA.ldl_solve(ld, piv, mc.tensor(b, device=device))
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-9)


@pytest.mark.parametrize("device", devices())
def test_lu_factor_is_one_op_with_torchs_gradient(device):
    """lu_factor, lu_factor_ex and torch.lu are one node (torch's name), whose backward on arrays is
    torch's: square, wide, tall and unbatched, with row swaps; second derivatives by its graph form."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 4, 4))[:, ::-1].copy()  # rows whose largest entries come late: pivoting swaps
    assert (torch.linalg.lu_factor(tt(a)).pivots.numpy() != np.arange(1, 5)).any()
    lu = LA.lu_factor(mc.tensor(a, requires_grad=True, device=device)).LU
    assert lu.grad_fn.name() == torch.linalg.lu_factor(tt(a, grad=True)).LU.grad_fn.name()
    for x in (a, a[:, :3], a[:, :, :3], a[0]):
        compare_with_torch(
            lambda x: LA.lu_factor_ex(x).LU, lambda x: torch.linalg.lu_factor_ex(x).LU, [x], device=device
        )
    compare_with_torch(
        lambda x: LA.lu_factor(x).LU,
        lambda x: torch.linalg.lu_factor(x).LU,
        [a],
        dtype=np.float32,
        device=device,
        **F32,
    )
    double_backward_like_torch(lambda x: mc.lu(x)[0], lambda x: torch_quiet(torch.lu, x)[0], [a[:1]], device=device)
    double_backward_like_torch(
        lambda x: LA.lu_factor(x).LU, lambda x: torch.linalg.lu_factor(x).LU, [a[:2, :3]], device=device
    )


@pytest.mark.parametrize("shape", [(2, 4, 4), (2, 3, 5), (2, 5, 3)])
def test_lu_factor_without_pivoting_has_torchs_gradient_where_no_row_swaps(shape):
    """pivot=False (torch: CUDA only) against torch's pivoted factorization of a matrix on which
    partial pivoting swaps no rows: the same LU, so the same gradient."""
    rng = np.random.default_rng(2)
    a = rng.uniform(-1, 1, shape) + 8 * np.eye(*shape[-2:])
    t = torch.linalg.lu_factor_ex(tt(a))
    np.testing.assert_array_equal(t.pivots.numpy(), np.broadcast_to(np.arange(1, min(shape[-2:]) + 1), t.pivots.shape))
    compare_with_torch(lambda x: LA.lu_factor_ex(x, pivot=False).LU, lambda x: torch.linalg.lu_factor_ex(x).LU, [a])
    x = mc.tensor(a[..., :3, :3], requires_grad=True)
    assert mc.gradcheck(lambda x: LA.lu_factor_ex(x, pivot=False).LU, [x])
    assert mc.gradgradcheck(lambda x: LA.lu_factor_ex(x, pivot=False).LU, [x])


def test_lu_factor_backward_refuses_a_written_lu_as_torch():
    a = draw(3, (3, 3))
    for lib, x in ((torch, tt(a, grad=True)), (mc, mc.tensor(a, requires_grad=True))):
        lu = lib.linalg.lu_factor(x)[0]
        lu.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            lu.sum().backward()
