"""mc.linalg's decompositions and what is built on them (qr, eigh, svd, pinv, lstsq,
solve_triangular, ...) and torch's older Tensor forms (x.svd, x.qr, x.logdet, ...) against
torch: forward and backward on drawn batched shapes, float64 gradcheck, second derivatives.

Eigenvectors and singular vectors are compared through sign-invariant functions (squares,
projectors, U diag(S) Vh), with well-separated eigenvalues / singular values, since only
those have a well-defined gradient."""

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

F32 = dict(rtol=2e-3, atol=2e-4)


# -- inputs: well-conditioned, with separated spectra ---------------------------------------


def orthogonal(rng, batch, n):
    q, r = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def general(rng, batch, m, n):
    """U diag(s) V^T with singular values 1, 1.8, 2.6, ... (shuffled): well separated."""
    k = min(m, n)
    s = 1 + 0.8 * rng.permutation(k)
    return (orthogonal(rng, batch, m)[..., :k] * s) @ np.swapaxes(orthogonal(rng, batch, n)[..., :k], -1, -2)


def symmetric(rng, batch, n):
    """V diag(l) V^T with eigenvalues -2, -1.2, ... (shuffled): well separated."""
    v = orthogonal(rng, batch, n)
    return (v * (-2 + 0.8 * rng.permutation(n))) @ np.swapaxes(v, -1, -2)


def triangular_ok(rng, batch, n):
    return rng.uniform(-1, 1, (*batch, n, n)) + (2 + n) * np.eye(n)


def lower_factor(rng, batch, n):
    return np.tril(rng.uniform(-0.5, 0.5, (*batch, n, n))) + 2 * np.eye(n)


# -- the table: name -> (minicnn fn, torch fn, inputs(rng, batch, m, n)) ----------------------


def _sym_loss(lib):
    """eigenvalue-weighted squared eigenvectors: invariant to each eigenvector's sign."""

    def f(a):
        lam, v = lib(a)
        return v * v * lam.unsqueeze(-2)

    return f


def _svd_loss(svd_fn, k_of):
    def f(a):
        u, s, vh = svd_fn(a)
        k = k_of(a)
        u, vh = u[..., :, :k], vh[..., :k, :]
        return (u * u * s.unsqueeze(-2)) @ (vh * vh) + u @ (s.unsqueeze(-1) * vh)

    return f


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args)


def _k(a):
    return min(a.shape[-2:])


def _projector(lib):
    def f(a):
        _, v = lib(a)
        w = np.linspace(0.5, 2.0, a.shape[-1])
        wt = mc.tensor(w, dtype=a.dtype) if isinstance(a, mc.Tensor) else torch.tensor(w, dtype=a.dtype)
        return (v * wt) @ v.mT

    return f


CASES = {
    "qr Q": (lambda a: LA.qr(a).Q, lambda a: torch.linalg.qr(a).Q, lambda r, b, m, n: [general(r, b, m, n)]),
    "qr R": (lambda a: LA.qr(a).R, lambda a: torch.linalg.qr(a).R, lambda r, b, m, n: [general(r, b, m, n)]),
    "qr complete": (
        lambda a: (lambda q, r: q @ r[..., :, :1] + r.sum(-2, keepdim=True))(*LA.qr(a, "complete")),
        lambda a: (lambda q, r: q @ r[..., :, :1] + r.sum(-2, keepdim=True))(*torch.linalg.qr(a, "complete")),
        lambda r, b, m, n: [general(r, b, min(m, n), max(m, n))],  # differentiable: m <= n
    ),
    "eigh": (
        _sym_loss(LA.eigh),
        _sym_loss(torch.linalg.eigh),
        lambda r, b, m, n: [symmetric(r, b, n)],
    ),
    "eigh projector upper": (
        _projector(lambda a: LA.eigh(a, "U")),
        _projector(lambda a: torch.linalg.eigh(a, "U")),
        lambda r, b, m, n: [symmetric(r, b, n)],
    ),
    "eigh values": (
        lambda a: LA.eigh(a).eigenvalues,
        lambda a: torch.linalg.eigh(a).eigenvalues,
        lambda r, b, m, n: [symmetric(r, b, n)],
    ),  # fmt: skip
    "eigvalsh": (LA.eigvalsh, torch.linalg.eigvalsh, lambda r, b, m, n: [symmetric(r, b, n)]),
    "svd": (
        _svd_loss(lambda a: LA.svd(a, full_matrices=False), _k),
        _svd_loss(lambda a: torch.linalg.svd(a, full_matrices=False), _k),
        lambda r, b, m, n: [general(r, b, m, n)],
    ),
    "svd full": (_svd_loss(LA.svd, _k), _svd_loss(torch.linalg.svd, _k), lambda r, b, m, n: [general(r, b, m, n)]),
    "svd S": (lambda a: LA.svd(a).S, lambda a: torch.linalg.svd(a).S, lambda r, b, m, n: [general(r, b, m, n)]),
    "svdvals": (LA.svdvals, torch.linalg.svdvals, lambda r, b, m, n: [general(r, b, m, n)]),
    "x.svd (V)": (
        lambda a: (lambda u, s, v: u @ (s.unsqueeze(-1) * v.mT) + (v * v * s.unsqueeze(-2)).sum(-1).unsqueeze(-2))(
            *a.svd()
        ),
        lambda a: (lambda u, s, v: u @ (s.unsqueeze(-1) * v.mT) + (v * v * s.unsqueeze(-2)).sum(-1).unsqueeze(-2))(
            *a.svd()
        ),
        lambda r, b, m, n: [general(r, b, m, n)],
    ),
    "pinv": (LA.pinv, torch.linalg.pinv, lambda r, b, m, n: [general(r, b, m, n)]),
    "pinv hermitian": (
        lambda a: LA.pinv(a, hermitian=True),
        lambda a: torch.linalg.pinv(a, hermitian=True),
        lambda r, b, m, n: [symmetric(r, b, n)],
    ),
    "x.pinverse": (lambda a: a.pinverse(), lambda a: a.pinverse(), lambda r, b, m, n: [general(r, b, m, n)]),
    "lstsq": (
        lambda a, b: LA.lstsq(a, b).solution,
        lambda a, b: torch.linalg.lstsq(a, b).solution,
        lambda r, b, m, n: [general(r, b, m, n), r.standard_normal((*b, m, 2))],
    ),
    "solve_triangular": (
        lambda a, b: LA.solve_triangular(a, b, upper=True),
        lambda a, b: torch.linalg.solve_triangular(a, b, upper=True),
        lambda r, b, m, n: [triangular_ok(r, b, n), r.standard_normal((*b, n, m))],
    ),
    "solve_triangular right unit lower": (
        lambda a, b: LA.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
        lambda a, b: torch.linalg.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
        lambda r, b, m, n: [triangular_ok(r, b, n), r.standard_normal((*b, m, n))],
    ),
    "solve_triangular broadcast": (
        lambda a, b: LA.solve_triangular(a, b, upper=False, unitriangular=False),
        lambda a, b: torch.linalg.solve_triangular(a, b, upper=False, unitriangular=False),
        lambda r, b, m, n: [triangular_ok(r, (), n), r.standard_normal((*b, n, m))],
    ),
    "matrix_power 3": (
        lambda a: LA.matrix_power(a, 3),
        lambda a: torch.linalg.matrix_power(a, 3),
        lambda r, b, m, n: [general(r, b, n, n) / 2],
    ),  # fmt: skip
    "matrix_power -2": (
        lambda a: a.matrix_power(-2),
        lambda a: a.matrix_power(-2),
        lambda r, b, m, n: [general(r, b, n, n)],
    ),  # fmt: skip
    "matrix_power 0": (
        lambda a: LA.matrix_power(a, 0),
        lambda a: torch.linalg.matrix_power(a, 0),
        lambda r, b, m, n: [general(r, b, n, n)],
    ),  # fmt: skip
    "multi_dot": (
        lambda a, b, c: LA.multi_dot([a, b, c]),
        lambda a, b, c: torch.linalg.multi_dot([a, b, c]),
        lambda r, b, m, n: [r.standard_normal(m), r.standard_normal((m, n)), r.standard_normal((n, 2))],
    ),
    "vecdot": (
        lambda x, y: LA.vecdot(x, y, dim=-2),
        lambda x, y: torch.linalg.vecdot(x, y, dim=-2),
        lambda r, b, m, n: [r.standard_normal((*b, m, n)), r.standard_normal((m, 1))],
    ),
    "cross": (
        lambda x, y: LA.cross(x, y, dim=-2),
        lambda x, y: torch.linalg.cross(x, y, dim=-2),
        lambda r, b, m, n: [r.standard_normal((*b, 3, n)), r.standard_normal((*[1] * len(b), 3, n))],
    ),
    "x.cross": (
        lambda x, y: x.cross(y),
        lambda x, y: _quiet(x.cross, y),  # dim=None: the first dim of size 3 (deprecated in torch)
        lambda r, b, m, n: [r.standard_normal((*b, 3, n)), r.standard_normal((*b, 3, n))],
    ),
    "tensorinv": (
        lambda a: LA.tensorinv(a, 1),
        lambda a: torch.linalg.tensorinv(a, 1),
        lambda r, b, m, n: [general(r, (), 2 * n, 2 * n).reshape(2 * n, 2, n)],
    ),
    "tensorsolve": (
        lambda a, b: LA.tensorsolve(a, b, dims=(0,)),
        lambda a, b: torch.linalg.tensorsolve(a, b, dims=(0,)),
        lambda r, b, m, n: [general(r, (), 2 * n, 2 * n).reshape(2 * n, 2, n), r.standard_normal((2, n))],
    ),
    "cond": (LA.cond, torch.linalg.cond, lambda r, b, m, n: [general(r, b, m, n)]),
    "cond -2": (lambda a: LA.cond(a, -2), lambda a: torch.linalg.cond(a, -2), lambda r, b, m, n: [general(r, b, m, n)]),
    "matrix_norm 2": (
        lambda a: LA.matrix_norm(a, 2, dim=(0, -1), keepdim=True),
        lambda a: torch.linalg.matrix_norm(a, 2, dim=(0, -1), keepdim=True),
        lambda r, b, m, n: [general(r, b, m, n)],
    ),
    "matrix_norm -2": (
        lambda a: LA.matrix_norm(a, -2),
        lambda a: torch.linalg.matrix_norm(a, -2),
        lambda r, b, m, n: [general(r, b, m, n)],
    ),  # fmt: skip
    "cholesky_solve": (
        mc.cholesky_solve,
        torch.cholesky_solve,
        lambda r, b, m, n: [r.standard_normal((*b, n, m)), lower_factor(r, b, n)],
    ),
    "cholesky_solve upper": (
        lambda b, u: b.cholesky_solve(u, True),
        lambda b, u: b.cholesky_solve(u, True),
        lambda r, b, m, n: [r.standard_normal((*b, n, m)), np.swapaxes(lower_factor(r, b, n), -1, -2)],
    ),
    "cholesky_inverse": (mc.cholesky_inverse, torch.cholesky_inverse, lambda r, b, m, n: [lower_factor(r, b, n)]),
    "logdet": (mc.logdet, torch.logdet, lambda r, b, m, n: [general(r, b, n, n)]),
    "x.det x.inverse x.slogdet": (
        lambda a: a.det().unsqueeze(-1).unsqueeze(-1) * a.inverse() + a.slogdet()[1].unsqueeze(-1).unsqueeze(-1),
        lambda a: a.det().unsqueeze(-1).unsqueeze(-1) * a.inverse() + a.slogdet()[1].unsqueeze(-1).unsqueeze(-1),
        lambda r, b, m, n: [general(r, b, n, n)],
    ),
    "x.matrix_exp": (
        lambda a: mc.matrix_exp(a / 4) + a.matrix_exp(),
        lambda a: torch.matrix_exp(a / 4) + a.matrix_exp(),
        lambda r, b, m, n: [general(r, b, n, n) / 3],
    ),  # fmt: skip
}

SECOND_ORDER = ["qr Q", "qr R", "qr complete", "eigh", "eigvalsh", "svd", "svdvals", "pinv", "lstsq",
                "solve_triangular", "solve_triangular right unit lower", "cholesky_solve", "logdet"]  # fmt: skip


def _arrays(name, seed, batch, m, n):
    return CASES[name][2](np.random.default_rng(seed), batch, m, n)


def _square(name):
    return not name.startswith(("qr", "svd", "pinv", "lstsq", "vecdot", "cond", "matrix_norm", "x.svd"))


def _numerically_checkable(name):
    """The op; on a symmetric matrix, applied to (A + A^T) / 2: eigh reads one triangle, so a
    finite difference in the other is 0 while the gradient (torch's) is symmetric. Likewise
    the Cholesky factor's triangle for cholesky_solve / cholesky_inverse."""
    fn = CASES[name][0]
    if name.startswith("eig") or name == "pinv hermitian":
        return lambda a: fn((a + a.mT) / 2)
    if name.startswith("cholesky"):  # the factor's other triangle is ignored, its gradient not (torch's)
        tri = (lambda f: f.triu()) if name.endswith("upper") else (lambda f: f.tril())
        return (lambda f: fn(tri(f))) if name == "cholesky_inverse" else (lambda b, f: fn(b, tri(f)))
    return fn


# -- forward and backward ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=6, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), max_size=2).map(tuple),
    m=st.integers(1, 4),
    n=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_like_torch(name, batch, m, n, seed, dtype):
    mc_fn, torch_fn, _ = CASES[name]
    if name.startswith("cond") or name.startswith("matrix_norm"):
        batch = batch or (2,)
    if name in ("x.svd (V)",) and m == n == 1:
        n = 2
    arrays = _arrays(name, seed, batch, m, n)
    compare_with_torch(mc_fn, torch_fn, arrays, dtype=dtype, **(F32 if dtype == np.float32 else {}))


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    arrays = _arrays(name, 0, (2,), 3, 2)
    inputs = [mc.tensor(a, requires_grad=True) for a in arrays]
    assert mc.gradcheck(_numerically_checkable(name), inputs)


@pytest.mark.parametrize("name", SECOND_ORDER)
@pytest.mark.parametrize("shape", [((), 3, 2), ((2,), 2, 3)])
def test_second_derivatives_like_torch(name, shape):
    mc_fn, torch_fn, _ = CASES[name]
    double_backward_like_torch(mc_fn, torch_fn, _arrays(name, 1, *shape), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["qr Q", "eigh", "svd", "pinv", "solve_triangular"])
def test_gradgradcheck(name):
    arrays = _arrays(name, 2, (), 3, 2)
    assert mc.gradgradcheck(_numerically_checkable(name), [mc.tensor(a, requires_grad=True) for a in arrays])


@pytest.mark.parametrize("device", devices())
def test_decompositions_on_device(device):
    rng = np.random.default_rng(3)
    for name, shape in (("qr Q", (2, 4, 3)), ("eigh", (2, 3, 3)), ("svd", (2, 3, 4)), ("pinv", (2, 4, 3)),
                        ("solve_triangular", (2, 3, 3)), ("eigvalsh", (2, 3, 3)), ("svdvals", (2, 3, 2))):  # fmt: skip
        arrays = _arrays(name, int(rng.integers(1000)), shape[:1], *shape[1:])
        compare_with_torch(CASES[name][0], CASES[name][1], arrays, device=device)
    a = general(rng, (2,), 4, 3)
    for d in ("gelsd", "gels"):
        ours = LA.lstsq(mc.tensor(a, device=device), mc.tensor(a @ np.ones((3, 1)), device=device), driver=d)
        np.testing.assert_allclose(ours.solution.numpy(), np.ones((2, 3, 1)), rtol=1e-10)
    assert LA.matrix_rank(mc.tensor(a, device=device)).numpy().tolist() == [3, 3]


# -- the other outputs, non-differentiable functions, conventions ----------------------------


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_lstsq_outputs_like_torch(driver, shape):
    rng = np.random.default_rng(4)
    a, b = general(rng, (2,), *shape), rng.standard_normal((2, shape[0], 2))
    ours = LA.lstsq(mc.tensor(a), mc.tensor(b), driver=driver)
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    assert type(ours).__name__ == "LstsqResult" and ours._fields == ("solution", "residuals", "rank", "singular_values")
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape) and o.dtype == np.dtype(str(t.dtype)[6:])
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)
    vector = LA.lstsq(mc.tensor(a[0]), mc.tensor(b[0, :, 0])).solution
    np.testing.assert_allclose(
        vector.numpy(), torch.linalg.lstsq(torch.tensor(a[0]), torch.tensor(b[0])).solution[:, 0]
    )


@pytest.mark.parametrize("driver", ["gelsy", "gelsd", "gelss", "gels"])
@pytest.mark.parametrize("rcond", [None, 0.0, 1e-6, 0.01, 0.3, 2.0, -1.0])
def test_lstsq_rcond_like_torch(driver, rcond):
    """rcond as each LAPACK driver reads it: gelsy truncates its pivoted QR (not the SVD), gelsd
    takes rcond <= 0 or >= 1 as eps, gelss rcond < 0 as eps, gels ignores it. A batch of an
    ill-conditioned full-rank A, a rank-2 A (not for gels and rcond <= 0: LAPACK solves the
    singular system then) and a well-conditioned one."""
    rng = np.random.default_rng(6)
    u, v = orthogonal(rng, (3,), 6)[..., :4], orthogonal(rng, (3,), 4)
    s = np.array([[3.0, 1.0, 0.05, 1e-4], [3.0, 1.0, 0.0, 0.0], [2.0, 1.8, 1.4, 1.0]])
    a, b = (u * s[:, None, :]) @ np.swapaxes(v, -1, -2), rng.standard_normal((3, 6, 2))
    if driver == "gels" or rcond is not None and rcond <= 0:
        a, b = a[[0, 2]], b[[0, 2]]
    ours = LA.lstsq(mc.tensor(a), mc.tensor(b), rcond, driver=driver)
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), rcond, driver=driver)
    for name, o, t in zip(ours._fields, ours, theirs):
        assert o.shape == tuple(t.shape), name
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("shapes", [((0, 3), (0, 2)), ((2, 0, 3, 2), (2, 0, 3, 1)), ((2, 4, 3), (2, 4, 0))])
def test_lstsq_gelsy_empty_like_torch(shapes):
    a, b = np.ones(shapes[0]), np.ones(shapes[1])  # no right-hand side: LAPACK's quick return, rank 0
    ours, theirs = LA.lstsq(mc.tensor(a), mc.tensor(b)), torch.linalg.lstsq(torch.tensor(a), torch.tensor(b))
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape)
        np.testing.assert_array_equal(o.numpy(), t.numpy())


@pytest.mark.parametrize("driver", ["gelsy", "gelss"])
def test_lstsq_gradient_ignores_rcond_as_torch(driver):
    """torch's lstsq backward is pinv(A) B's with pinv's default cutoff, whatever rcond truncated."""
    rng = np.random.default_rng(7)
    a, b = general(rng, (), 5, 3) @ np.diag([1.0, 1.0, 0.1]), rng.standard_normal((5, 2))
    compare_with_torch(
        lambda x, y: LA.lstsq(x, y, 0.5, driver=driver).solution,
        lambda x, y: torch.linalg.lstsq(x, y, 0.5, driver=driver).solution,
        [a, b],
    )


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 99), driver=st.sampled_from(["gelsd", "gelss", "gels"]), m=st.integers(4, 6))
def test_lstsq_residuals_gradient_like_torch(seed, driver, m):
    rng = np.random.default_rng(seed)
    a, b = general(rng, (2,), m, 3), rng.standard_normal((2, m, 2))
    compare_with_torch(
        lambda x, y: LA.lstsq(x, y, driver=driver).residuals,
        lambda x, y: torch.linalg.lstsq(x, y, driver=driver).residuals,
        [a, b],
    )


def test_lstsq_residuals_require_grad_as_torch():
    rng = np.random.default_rng(3)
    a, b = general(rng, (), 5, 3), rng.standard_normal((5, 2))
    x, y = mc.tensor(a, requires_grad=True), mc.tensor(b, requires_grad=True)
    assert mc.gradcheck(lambda p, q: LA.lstsq(p, q, driver="gelsd").residuals, [x, y])
    for driver in ("gelsy", "gelsd"):  # empty residuals (gelsy) require grad too
        for grads in ((True, True), (False, True), (False, False)):
            ours = LA.lstsq(mc.tensor(a, requires_grad=grads[0]), mc.tensor(b, requires_grad=grads[1]), driver=driver)
            theirs = torch.linalg.lstsq(
                torch.tensor(a, requires_grad=grads[0]), torch.tensor(b, requires_grad=grads[1]), driver=driver
            )
            flags = [(o.requires_grad, o.grad_fn is None, o.is_leaf) for o in ours]
            assert flags == [(t.requires_grad, t.grad_fn is None, t.is_leaf) for t in theirs], (driver, grads)
    with mc.no_grad():
        assert not LA.lstsq(x, y, driver="gelsd").residuals.requires_grad


def test_matrix_power_one_is_a_new_tensor_as_torch():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    x, t = mc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = LA.matrix_power(x, 1), torch.linalg.matrix_power(t, 1)
    assert (y is x, y.grad_fn is None, y.is_leaf) == (ty is t, ty.grad_fn is None, ty.is_leaf) == (False, False, False)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_matrix_rank_like_torch():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 4, 5))
    a[1, :, 2] = a[1, :, 0] + a[1, :, 1]
    a[2] = 0
    h = a[..., :4] + np.swapaxes(a[..., :4], -1, -2)
    for kw in ({}, {"atol": 0.5}, {"rtol": 0.2}, {"atol": 0.1, "rtol": 0.3}):
        for x, herm in ((a, False), (h, True)):
            ours = LA.matrix_rank(mc.tensor(x), hermitian=herm, **kw)
            theirs = torch.linalg.matrix_rank(torch.tensor(x), hermitian=herm, **kw)
            assert ours.dtype == np.int64 and ours.numpy().tolist() == theirs.tolist()


def test_qr_modes_and_signs_like_torch():
    rng = np.random.default_rng(6)
    for shape in ((2, 5, 3), (3, 3), (2, 3, 5)):
        a = rng.standard_normal(shape)
        for mode in ("reduced", "complete"):
            ours, theirs = LA.qr(mc.tensor(a), mode), torch.linalg.qr(torch.tensor(a), mode)
            for o, t in zip(ours, theirs):  # LAPACK's Householder QR in both: the same signs
                np.testing.assert_allclose(o.numpy(), t.numpy(), atol=1e-12)
        r = LA.qr(mc.tensor(a), "r")
        assert r.Q.shape == (0,)
        np.testing.assert_allclose(r.R.numpy(), torch.linalg.qr(torch.tensor(a), "r").R.numpy(), atol=1e-12)


def test_svd_eigh_forward_conventions():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((2, 4, 3))
    u, s, vh = LA.svd(mc.tensor(a))
    assert (u.shape, s.shape, vh.shape) == ((2, 4, 4), (2, 3), (2, 3, 3))
    np.testing.assert_allclose((u[..., :3] * s.unsqueeze(-2) @ vh).numpy(), a, atol=1e-12)
    lu, ls, lv = mc.tensor(a).svd(some=False)
    assert (lu.shape, lv.shape) == ((2, 4, 4), (2, 3, 3))
    np.testing.assert_allclose(lv.numpy(), np.swapaxes(vh.numpy(), -1, -2))
    zu, zs, zv = mc.svd(mc.tensor(a), compute_uv=False)
    tu, ts, tv = torch.svd(torch.tensor(a), compute_uv=False)
    assert (zu.shape, zv.shape) == (tuple(tu.shape), tuple(tv.shape)) and not zu.numpy().any()
    np.testing.assert_allclose(zs.numpy(), ts.numpy())
    h = symmetric(rng, (2,), 3)
    low = np.tril(h) + 5 * np.triu(np.ones((3, 3)), 1)  # eigh reads one triangle only
    for uplo, x in (("L", low), ("U", np.swapaxes(low, -1, -2))):
        lam, v = LA.eigh(mc.tensor(x), uplo)
        np.testing.assert_allclose(lam.numpy(), np.linalg.eigvalsh(h), atol=1e-12)
        np.testing.assert_allclose((v * lam.unsqueeze(-2) @ v.mT).numpy(), h, atol=1e-12)
    assert LA.eigh(mc.tensor(h))._fields == ("eigenvalues", "eigenvectors")
    assert LA.svd(mc.tensor(a))._fields == ("U", "S", "Vh")


def test_eigenvalues_alone_stay_finite_at_repeated_values():
    eye = mc.tensor(np.eye(3), requires_grad=True)
    LA.eigh(eye).eigenvalues.sum().backward()
    np.testing.assert_allclose(eye.grad.numpy(), np.eye(3), atol=1e-12)
    eye.grad = None
    LA.svd(eye).S.sum().backward()
    np.testing.assert_allclose(eye.grad.numpy(), np.eye(3), atol=1e-12)


# singular, and LU with partial pivoting reaches the zero pivot exactly whatever the order of
# rounding (multipliers 1/2, 3/4, 1/2; every product and difference exact): info is 3 for any LAPACK
EXACTLY_SINGULAR = np.array([[2.0, 4.0, 6.0], [1.0, 3.0, 5.0], [1.5, 3.5, 5.5]])


def test_cholesky_of_a_matrix_with_nan_fails_like_torch():
    """LAPACK's potrf (torch's) stops at a NaN pivot: cholesky raises, cholesky_ex reports the
    order; NumPy's cholesky returned NaN silently."""
    nan = np.nan
    a = np.stack([np.eye(3), np.diag([4.0, 1, 1]), np.eye(3)])
    a[0, 1, 1] = a[2, 1, 0] = nan  # a NaN pivot; a NaN below the diagonal (read: spreads to the next pivot)
    with pytest.raises(RuntimeError):
        torch.linalg.cholesky(torch.tensor(a[0]))
    with pytest.raises(LA.LinAlgError, match="not positive-definite"):
        LA.cholesky(mc.tensor(a[0]))
    ours, theirs = LA.cholesky_ex(mc.tensor(a)), torch.linalg.cholesky_ex(torch.tensor(a))
    assert ours.info.numpy().tolist() == theirs.info.tolist() == [2, 0, 2]
    np.testing.assert_allclose(ours.L.numpy()[1], theirs.L.numpy()[1], atol=1e-12)


NON_CONVERGING = {
    "svd": lambda L, a, b: L.linalg.svd(a),
    "svdvals": lambda L, a, b: L.linalg.svdvals(a),
    "torch.svd": lambda L, a, b: L.svd(a),
    "eigh": lambda L, a, b: L.linalg.eigh(a),
    "eigvalsh": lambda L, a, b: L.linalg.eigvalsh(a),
    "pinv": lambda L, a, b: L.linalg.pinv(a),
    "pinv hermitian": lambda L, a, b: L.linalg.pinv(a, hermitian=True),
    "matrix_rank": lambda L, a, b: L.linalg.matrix_rank(a),
    "cond": lambda L, a, b: L.linalg.cond(a),
    "lstsq gelsy": lambda L, a, b: L.linalg.lstsq(a, b),
    "lstsq gelsd": lambda L, a, b: L.linalg.lstsq(a, b, driver="gelsd"),
    "matrix_norm nuc": lambda L, a, b: L.linalg.matrix_norm(a, "nuc"),
}


@pytest.mark.parametrize("name", sorted(NON_CONVERGING))
def test_svd_and_eigh_of_a_matrix_with_nan_raise_linalg_error_like_torch(name):
    """NumPy's SVD / eigensolver refuse a NaN with numpy.linalg.LinAlgError (a ValueError only);
    torch raises its LinAlgError (a RuntimeError; lstsq: a RuntimeError), so minicnn raises its own."""
    a = np.array([[4.0, 1.0, 0.5], [1.0, np.nan, 1.0], [0.5, 1.0, 3.0]])
    f = NON_CONVERGING[name]
    with pytest.raises(RuntimeError):
        f(torch, torch.tensor(a), torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(LA.LinAlgError, match="failed to converge"):
        f(mc, mc.tensor(a), mc.ones(3, 2, dtype=mc.float64))


def test_cholesky_ex_of_a_matrix_singular_to_rounding():
    """A rank-2 3x3 B B^T whose eigenvalues all come out positive (the smallest ~1e-16) but
    that potrf refuses: cholesky_ex reports it (torch: info 3) next to a good matrix, not raise."""
    b = np.random.default_rng(3).standard_normal((3, 2))
    a = np.stack([b @ b.T, np.eye(3)])
    assert np.linalg.eigvalsh(a[0]).min() > 0
    ours, theirs = LA.cholesky_ex(mc.tensor(a)), torch.linalg.cholesky_ex(torch.tensor(a))
    assert ours.info.numpy().tolist() == theirs.info.tolist() == [3, 0]
    np.testing.assert_allclose(ours.L.numpy()[1], np.eye(3))


def test_ex_forms_give_info():
    rng = np.random.default_rng(8)
    m = rng.standard_normal((3, 4, 4))
    spd = m @ np.swapaxes(m, -1, -2) + np.eye(4)
    spd[1, 2, 2] = -10.0
    ours, theirs = LA.cholesky_ex(mc.tensor(spd)), torch.linalg.cholesky_ex(torch.tensor(spd))
    assert ours.info.dtype == np.int32 and ours.info.numpy().tolist() == theirs.info.tolist() == [0, 3, 0]
    np.testing.assert_allclose(ours.L.numpy()[[0, 2]], theirs.L.numpy()[[0, 2]], atol=1e-12)
    assert np.isnan(ours.L.numpy()[1]).all()
    upper = LA.cholesky_ex(mc.tensor(spd), upper=True)
    assert upper.info.numpy().tolist() == torch.linalg.cholesky_ex(torch.tensor(spd), upper=True).info.tolist()
    with pytest.raises(LA.LinAlgError, match="cholesky"):
        LA.cholesky_ex(mc.tensor(spd), check_errors=True)
    sing = rng.standard_normal((2, 3, 3))
    sing[1] = EXACTLY_SINGULAR  # a zero pivot in any rounding order (a duplicated column is not, with FMAs)
    ours, theirs = LA.inv_ex(mc.tensor(sing)), torch.linalg.inv_ex(torch.tensor(sing))
    assert ours.info.dtype == np.int32 and (ours.info.numpy() > 0).tolist() == (theirs.info.numpy() > 0).tolist()
    np.testing.assert_allclose(ours.inverse.numpy()[0], theirs.inverse.numpy()[0], rtol=1e-10)
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.inv_ex(mc.tensor(sing), check_errors=True)
    ok = LA.inv_ex(mc.tensor(sing[:1], requires_grad=True))
    assert ok.info.numpy().tolist() == [0] and ok.inverse.requires_grad


def test_removed_torch_forms_raise_like_torch():
    x = mc.tensor(np.eye(2))
    for ours, theirs in (
        (lambda: x.qr(some=False), lambda: torch.eye(2).qr(some=False)),
        (x.cholesky, torch.eye(2).cholesky),
    ):
        with pytest.raises(RuntimeError) as ours_error:
            ours()
        with pytest.raises(RuntimeError) as torch_error:
            theirs()
        assert str(ours_error.value) == str(torch_error.value)


def test_logdet_signs_like_torch():
    a = np.stack([np.diag([1.0, 2.0]), np.diag([-1.0, 2.0]), np.zeros((2, 2))])
    np.testing.assert_array_equal(mc.tensor(a).logdet().numpy(), torch.logdet(torch.tensor(a)).numpy())


def test_errors_name_the_op():
    a = mc.tensor(np.random.default_rng(9).standard_normal((4, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        LA.qr(a, "r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        LA.qr(a, "complete").Q.sum().backward()
    with pytest.raises(ValueError, match="unrecognized mode"):
        LA.qr(a, "full")
    with pytest.raises(ValueError, match="linalg.eigh: A must be batches of square matrices"):
        LA.eigh(a)
    with pytest.raises(ValueError, match="UPLO"):
        LA.eigvalsh(mc.tensor(np.eye(2)), "X")
    with pytest.raises(TypeError, match="linalg.svd: Expected a floating point"):
        LA.svd(mc.tensor(np.ones((2, 2), dtype=np.int64)))
    with pytest.raises(ValueError, match="linalg.svdvals: The input tensor A must have at least 2 dimensions"):
        LA.svdvals(mc.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="linalg.solve_triangular: Incompatible shapes"):
        LA.solve_triangular(mc.tensor(np.eye(3)), mc.tensor(np.ones((2, 1))), upper=True)
    with pytest.raises(ValueError, match="driver"):
        LA.lstsq(a, a, driver="gelsx")
    with pytest.raises(ValueError, match="linalg.cross: inputs dimension -1 must have length 3"):
        LA.cross(a.mT, a.mT)
    with pytest.raises(ValueError, match="multi_dot\\(\\): tensor 1 must be 2D"):
        LA.multi_dot([a, mc.tensor(np.ones(3)), a])
    with pytest.raises(TypeError, match="matrix_power: n must be an integer"):
        LA.matrix_power(mc.tensor(np.eye(2)), 1.5)
    with pytest.raises(ValueError, match="linalg.cond got an invalid norm type"):
        LA.cond(a, 3)


# -- review (h11_review_linalg): edge cases against torch ------------------------------------


def _both(fn_mc, fn_torch, *arrays):
    ours = fn_mc(*[mc.tensor(a) for a in arrays])
    theirs = fn_torch(*[torch.tensor(a) for a in arrays])
    return ours, theirs


def _assert_same(ours, theirs, **tol):
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.dtype(str(theirs.dtype)[6:])
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), **tol)


@pytest.mark.parametrize("shape", [(0, 2, 3), (0, 3, 3), (2, 0, 3, 2)])
def test_a_batch_of_no_matrices_like_torch(shape):
    a = np.zeros(shape)
    cases = [
        (LA.qr, torch.linalg.qr),
        (lambda x: LA.qr(x, "complete"), lambda x: torch.linalg.qr(x, "complete")),
        (LA.svd, torch.linalg.svd),
        (lambda x: LA.svd(x, False), lambda x: torch.linalg.svd(x, False)),
    ]
    if shape[-1] == shape[-2]:
        cases.append((LA.eigh, torch.linalg.eigh))
    for i, (fn_mc, fn_torch) in enumerate(cases):
        x = mc.tensor(a, requires_grad=True)
        parts = fn_mc(x)
        for o, t in zip(parts, fn_torch(torch.tensor(a))):
            assert o.shape == tuple(t.shape)
        if i == 1 and shape[-2] > shape[-1]:
            continue  # QR mode='complete' of tall matrices: not differentiable (torch)
        sum(p.sum() for p in parts).backward()
        assert x.grad.shape == shape


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
def test_cond_of_singular_and_empty_matrices_like_torch(p):
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    batch = np.stack([sing, np.zeros((2, 2)), np.array([[2.0, 1.0], [0.5, 3.0]])])
    ours, theirs = _both(lambda a: LA.cond(a, p), lambda a: torch.linalg.cond(a, p), batch)
    if p in (None, 2, -2, "nuc"):  # s_min of a singular matrix is rounding noise: compare its size only
        assert (ours.numpy()[0] > 1e15 and theirs[0] > 1e15) if p != -2 else (ours.numpy()[0] < 1e-15 > theirs[0])
        ours, theirs = ours[1:], theirs[1:]
    _assert_same(ours, theirs, rtol=1e-12)  # inf where torch's inverse fails, nan for nuc of 0
    for shape in ((0, 0), (2, 0, 0), (0, 3, 3)) + (((0, 3), (3, 0)) if p not in ("fro", "nuc") else ()):
        _assert_same(*_both(lambda a: LA.cond(a, p), lambda a: torch.linalg.cond(a, p), np.zeros(shape)))
    if p in ("fro", "nuc", 1, -np.inf):
        with pytest.raises(ValueError, match=f"linalg.cond\\(ord={p}\\): A must be batches of square"):
            LA.cond(mc.tensor(np.ones((2, 3))), p)


def test_matrix_norm_2_of_empty_matrices_like_torch():
    for shape, dim in (((0, 3), (-2, -1)), ((2, 0, 3), (-2, -1)), ((3, 2, 0), (0, 2))):
        for keepdim in (False, True):
            ours = LA.matrix_norm(mc.tensor(np.zeros(shape)), 2, dim, keepdim)
            _assert_same(ours, torch.linalg.matrix_norm(torch.zeros(shape, dtype=torch.float64), 2, dim, keepdim))


def test_default_rtol_is_zero_only_where_atol_is_positive_like_torch():
    a = np.stack([np.diag([1.0, 1e-17, 0.5])] * 3)
    for atol in (np.array([0.0, 0.6, -1.0]), -1.0, 0.0):
        t_atol = torch.tensor(atol) if isinstance(atol, np.ndarray) else atol
        m_atol = mc.tensor(atol) if isinstance(atol, np.ndarray) else atol
        ours = LA.matrix_rank(mc.tensor(a), atol=m_atol)
        assert ours.numpy().tolist() == torch.linalg.matrix_rank(torch.tensor(a), atol=t_atol).tolist()
        _assert_same(LA.pinv(mc.tensor(a), atol=m_atol), torch.linalg.pinv(torch.tensor(a), atol=t_atol))


def test_matrix_power_of_integers_like_torch():
    a = np.array([[[1, 2], [3, 4]], [[0, 1], [1, 1]]], dtype=np.int64)
    for n in (0, 1, 3):
        _assert_same(LA.matrix_power(mc.tensor(a), n), torch.linalg.matrix_power(torch.tensor(a), n))
    with pytest.raises(TypeError, match="floating point"):  # the inverse needs floats (torch: RuntimeError)
        LA.matrix_power(mc.tensor(a), -1)


def test_vecdot_dtypes_like_torch():
    with pytest.raises(TypeError, match="linalg.vecdot"):
        LA.vecdot(mc.tensor(np.ones(3, dtype=np.int64)), mc.tensor(np.ones(3, dtype=np.int64)))
    with pytest.raises(TypeError, match="linalg.vecdot: Expected x and y to have the same dtype"):
        LA.vecdot(mc.tensor(np.ones(3, dtype=np.float32)), mc.tensor(np.ones(3)))


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_and_inverse_read_one_triangle_like_torch(upper):
    rng = np.random.default_rng(10)
    low = lower_factor(rng, (2,), 3)
    factor = np.swapaxes(low, -1, -2) if upper else low
    noisy = factor + (np.tril(np.ones((3, 3)), -1) if upper else np.triu(np.ones((3, 3)), 1))  # the ignored triangle
    b = rng.standard_normal((2, 3, 2))
    _assert_same(*_both(lambda x, f: mc.cholesky_solve(x, f, upper), lambda x, f: torch.cholesky_solve(x, f, upper),
                        b, noisy), rtol=1e-10)  # fmt: skip
    _assert_same(*_both(lambda f: mc.cholesky_inverse(f, upper), lambda f: torch.cholesky_inverse(f, upper), noisy),
                 rtol=1e-10)  # fmt: skip
    compare_with_torch(lambda x, f: x.cholesky_solve(f, upper), lambda x, f: x.cholesky_solve(f, upper), [b, factor])


@pytest.mark.parametrize("device", devices())
def test_cond_and_fake_cupy_linalg_on_device(device):
    a = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[2.0, 1.0], [0.5, 3.0]])])
    for p in ("fro", 1, "nuc"):
        ours = LA.cond(mc.tensor(a, device=device), p).numpy()
        np.testing.assert_allclose(ours[1:], torch.linalg.cond(torch.tensor(a), p).numpy()[1:], rtol=1e-12)
    if device != "cpu":  # CuPy 13's svd has no hermitian=, its cholesky no upper= (NumPy 2's have)
        x = mc.tensor(np.eye(2), device=device)
        with pytest.raises(TypeError, match="hermitian"):
            x.xp.linalg.svd(x.array, hermitian=True)
        with pytest.raises(TypeError, match="upper"):
            x.xp.linalg.cholesky(x.array, upper=True)


def test_inv_ex_of_a_matrix_does_not_depend_on_its_batch_mates():
    near = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-15]])  # LU succeeds (torch: info 0, a finite inverse)
    a = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), near])
    ours, theirs = _both(LA.inv_ex, torch.linalg.inv_ex, a)
    assert (ours.info.numpy() > 0).tolist() == (theirs.info.numpy() > 0).tolist() == [True, False]
    np.testing.assert_allclose(ours.inverse.numpy()[1], theirs.inverse.numpy()[1], rtol=1e-6)
    cond = LA.cond(mc.tensor(a), 1).numpy()
    np.testing.assert_allclose(cond, torch.linalg.cond(torch.tensor(a), 1).numpy(), rtol=1e-6)


def test_inv_ex_info_is_the_first_zero_pivot_like_torch():
    """A zero column j (exactly singular: LU's pivot j is exactly 0) gives info j + 1, as torch's
    getrf; minicnn used to give the rank + 1 (3 for each of these)."""
    a = np.random.RandomState(0).randn(4, 3, 3) + 3 * np.eye(3)
    a[0, :, 2] = a[1, :, 0] = a[2, :, 1] = 0
    ours, theirs = _both(LA.inv_ex, torch.linalg.inv_ex, a)
    assert ours.info.numpy().tolist() == theirs.info.tolist() == [3, 1, 2, 0]
    assert ours.info.dtype == np.int32
    assert np.isnan(ours.inverse.numpy()[:3]).all()
    np.testing.assert_allclose(ours.inverse.numpy()[3], theirs.inverse.numpy()[3], rtol=1e-10)


# -- matrix_sqrth ---------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), max_size=2), st.integers(1, 5), st.booleans(), st.integers(0, 2**16))
def test_matrix_sqrth_like_torch(batch, n, repeated, seed):
    """X X = A and the gradient (symmetric, as torch's) on SPD matrices, also with repeated
    eigenvalues (there an eigh-based composite would divide by zero), float64 and float32."""
    rng = np.random.default_rng(seed)
    q = orthogonal(rng, batch, n)
    lam = np.full(n, 2.0) if repeated else 0.5 + rng.permutation(n)
    a = (q * lam) @ np.swapaxes(q, -1, -2)
    compare_with_torch(LA.matrix_sqrth, torch.linalg.matrix_sqrth, [a])
    compare_with_torch(LA.matrix_sqrth, torch.linalg.matrix_sqrth, [a], dtype=np.float32, **F32)
    x = LA.matrix_sqrth(mc.tensor(a)).numpy()
    np.testing.assert_allclose(x @ x, a, rtol=1e-10, atol=1e-12)


def test_matrix_sqrth_gradcheck_second_derivatives_and_semidefinite_input():
    rng = np.random.default_rng(4)
    a = general(rng, (2,), 3, 3)
    spd = a @ np.swapaxes(a, -1, -2)
    t = mc.tensor(rng.standard_normal((2, 3, 3)) * 0.1, requires_grad=True)
    assert mc.gradcheck(lambda t: LA.matrix_sqrth(mc.tensor(spd) + t + t.mT), [t])  # symmetric perturbations
    double_backward_like_torch(LA.matrix_sqrth, torch.linalg.matrix_sqrth, [spd], rtol=1e-7, atol=1e-9)
    semidefinite = np.diag([4.0, 0.0, -1e-17])  # torch clamps eigenvalues below 0 to 0
    np.testing.assert_allclose(
        LA.matrix_sqrth(mc.tensor(semidefinite)).numpy(), torch.linalg.matrix_sqrth(torch.tensor(semidefinite)).numpy()
    )
    with pytest.raises(ValueError, match="matrix_sqrth"):
        LA.matrix_sqrth(mc.ones(2, 3))


@pytest.mark.parametrize("device", devices())
def test_matrix_sqrth_on_each_device(device):
    a = np.array([[4.0, 1.0], [1.0, 3.0]], dtype=np.float32)
    compare_with_torch(LA.matrix_sqrth, torch.linalg.matrix_sqrth, [a], dtype=np.float32, device=device, **F32)


# -- polar ---------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 3), max_size=2), st.integers(1, 4), st.integers(0, 2), st.integers(0, 2**16))
def test_polar_like_torch(batch, n, extra_rows, seed):
    """U and H (values and gradients of each) against torch.linalg.polar on full-rank tall and
    square matrices, float64 and float32; U^T U = I and U H = A."""
    a = general(np.random.default_rng(seed), tuple(batch), n + extra_rows, n)
    for part in (0, 1):
        ours, theirs = (lambda x, p=part: LA.polar(x)[p]), (lambda x, p=part: torch.linalg.polar(x)[p])
        compare_with_torch(ours, theirs, [a])
        compare_with_torch(ours, theirs, [a], dtype=np.float32, **F32)
    u, h = LA.polar(mc.tensor(a))
    np.testing.assert_allclose((u.mT @ u).numpy(), np.broadcast_to(np.eye(n), (*batch, n, n)), atol=1e-12)
    np.testing.assert_allclose((u @ h).numpy(), a, atol=1e-12)


def test_polar_gradcheck_names_empty_and_errors_like_torch():
    a = general(np.random.default_rng(1), (2,), 4, 3)
    assert mc.gradcheck(lambda t: LA.polar(t).U, [mc.tensor(a, requires_grad=True)])
    assert mc.gradcheck(lambda t: LA.polar(t).H, [mc.tensor(a, requires_grad=True)])
    assert LA.polar(mc.tensor(a))._fields == type(torch.linalg.polar(torch.tensor(a))).__match_args__
    for shape in [(3, 0), (0, 0), (2, 0, 0)]:
        ours, theirs = LA.polar(mc.zeros(*shape)), torch.linalg.polar(torch.zeros(*shape))
        assert [tuple(t.shape) for t in ours] == [tuple(t.shape) for t in theirs]
    wide, vector, integer = mc.ones(2, 3), mc.ones(3), mc.ones(3, 3, dtype=mc.int64)
    for bad, error in [(wide, ValueError), (vector, ValueError), (integer, TypeError)]:
        with pytest.raises(RuntimeError):
            torch.linalg.polar(torch.tensor(bad.numpy()))
        with pytest.raises(error, match="linalg.polar"):
            LA.polar(bad)
    with pytest.raises(LA.LinAlgError, match="failed to converge"):
        LA.polar(mc.tensor([[1.0, np.nan], [0.0, 1.0]]))
