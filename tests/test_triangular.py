"""The blocked triangular solve (minicnn/kernels/triangular.py) and the ops on it
(mc.linalg.solve_triangular, mc.triangular_solve, mc.linalg.lu_solve, mc.cholesky_solve) against
torch: values on drawn well-conditioned triangles, the inf/nan pattern of singular ones (no
error, as torch's trsm), gradients and the devices() case."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import linalg as LA
from minicnn.kernels import triangular as tri_kernel

SETTINGS = settings(max_examples=25, deadline=None)
batches = st.sampled_from([(), (1,), (3,), (2, 2)])
seeds = st.integers(0, 2**31 - 1)


def well_conditioned(rng, batch, n):
    """A matrix whose triangles are well conditioned: a diagonal of size ~ +-3 sqrt(n)."""
    a = rng.standard_normal((*batch, n, n))
    return a + 3.0 * np.sqrt(n) * np.eye(n) * rng.choice([-1.0, 1.0], size=(*batch, 1, n))


def singular(rng, batch, n):
    """Integer entries, a diagonal of zeros and powers of two: every finite step is exact,
    so the inf/nan pattern does not depend on the order of the sums."""
    a = rng.integers(-3, 4, size=(*batch, n, n)).astype(np.float64)
    diag = rng.choice([0.0, 0.0, 1.0, -1.0, 2.0, -2.0, 0.5], size=(*batch, n))
    return a * (1 - np.eye(n)) + diag[..., None] * np.eye(n)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@SETTINGS
@given(
    batch=batches,
    n=st.integers(0, 9),
    k=st.integers(1, 4),
    block=st.integers(1, 4),
    upper=st.booleans(),
    unit=st.booleans(),
    seed=seeds,
)
def test_kernel_matches_torch_and_the_reference(batch, n, k, block, upper, unit, seed):
    rng = np.random.default_rng(seed)
    a, b = well_conditioned(rng, batch, n), rng.standard_normal((*batch, n, k))
    ours = tri_kernel.solve_triangular(a, b, upper, unit, block=block)
    ref = tri_kernel.solve_triangular_reference(a, b, upper, unit)
    want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper, unitriangular=unit).numpy()
    np.testing.assert_allclose(ours, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref, want, rtol=1e-10, atol=1e-12)


def test_kernel_blocks_of_64_on_a_large_matrix():
    rng = np.random.default_rng(3)
    a, b = well_conditioned(rng, (2,), 150), rng.standard_normal((2, 150, 3))
    for upper in (True, False):
        want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper).numpy()
        np.testing.assert_allclose(tri_kernel.solve_triangular(a, b, upper), want, rtol=1e-10, atol=1e-12)


def test_kernel_on_transposed_operands_solves_into_contiguous_rows():
    """A right-hand side given as a transpose (what a right solve passes) is copied row-major,
    so that the substitution's row steps run on contiguous memory."""
    rng = np.random.default_rng(4)
    a, b = well_conditioned(rng, (3,), 40), rng.standard_normal((3, 5, 40))
    for upper in (True, False):
        a_t = np.swapaxes(np.swapaxes(a, -1, -2).copy(), -1, -2)  # same values, column-major
        x = tri_kernel.solve_triangular(a_t, np.swapaxes(b, -1, -2), upper)
        want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b).mT, upper=upper).numpy()
        assert x.flags.c_contiguous
        np.testing.assert_allclose(x, want, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(
    batch=batches,
    n=st.integers(1, 7),
    k=st.integers(1, 3),
    upper=st.booleans(),
    left=st.booleans(),
    unit=st.booleans(),
    seed=seeds,
)
def test_singular_triangles_give_infs_and_nans_like_torch(batch, n, k, upper, left, unit, seed):
    rng = np.random.default_rng(seed)
    a = singular(rng, batch, n)
    b = rng.integers(-3, 4, size=(*batch, n, k) if left else (*batch, k, n)).astype(np.float64)
    want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper, left=left, unitriangular=unit)
    ours = LA.solve_triangular(mc.tensor(a), mc.tensor(b), upper=upper, left=left, unitriangular=unit)
    np.testing.assert_array_equal(ours.numpy(), want.numpy())  # equal values, inf signs and nan places
    if left:
        for block in (1, 2):
            np.testing.assert_array_equal(tri_kernel.solve_triangular(a, b, upper, unit, block=block), want.numpy())
        t_old = quiet(torch.triangular_solve, torch.tensor(b), torch.tensor(a), upper, False, unit).solution
        np.testing.assert_array_equal(mc.triangular_solve(mc.tensor(b), mc.tensor(a), upper, False, unit)[0].numpy(),
                                      t_old.numpy())  # fmt: skip


def test_a_zero_diagonal_gives_inf_nan_in_the_solves_built_on_it():
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 4.0], [0.0, 0.0, 5.0]])
    b = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]])
    x = LA.solve_triangular(mc.tensor(a), mc.tensor(b), upper=True).numpy()
    np.testing.assert_allclose(
        x, torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=True), rtol=1e-12
    )
    low = a.T.copy()
    got = mc.cholesky_solve(mc.tensor(b), mc.tensor(low)).numpy()
    np.testing.assert_allclose(got, torch.cholesky_solve(torch.tensor(b), torch.tensor(low)).numpy(), rtol=1e-12)
    piv = np.array([1, 2, 3], dtype=np.int32)  # no row swaps: A = L U, L unit lower from below the diagonal
    lu = a + np.tril(np.ones((3, 3)), -1)
    got = LA.lu_solve(mc.tensor(lu), mc.tensor(piv), mc.tensor(b)).numpy()
    want = torch.linalg.lu_solve(torch.tensor(lu), torch.tensor(piv), torch.tensor(b)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)  # inf and nan in the same places


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_gradient_covers_the_whole_factor_like_torch(upper):
    rng = np.random.default_rng(5)
    low = np.tril(rng.standard_normal((2, 4, 4)), -1) + np.eye(4) * 3.0
    factor = np.swapaxes(low, -1, -2) if upper else low
    b = rng.standard_normal((3, 2, 4, 2))  # batch dims broadcast
    compare_with_torch(lambda x, f: mc.cholesky_solve(x, f, upper), lambda x, f: torch.cholesky_solve(x, f, upper),
                       [b, factor])  # fmt: skip


@pytest.mark.parametrize("device", devices())
def test_solve_triangular_on_device(device):
    rng = np.random.default_rng(1)
    a, b = well_conditioned(rng, (2,), 5), rng.standard_normal((2, 5, 3))
    compare_with_torch(
        lambda a, b: LA.solve_triangular(a, b, upper=False, left=True),
        lambda a, b: torch.linalg.solve_triangular(a, b, upper=False, left=True),
        [a, b],
        device=device,
    )
