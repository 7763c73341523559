"""The erf kernels (minicnn/kernels/erf.py: Cody's rational approximations) against math.erf /
math.erfc (correctly rounded to within an ulp), the slow Chebyshev reference and torch; and
GELU built on them (forward + backward against torch, the kept Phi, the far negative tail)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minicnn as mc
from minicnn.kernels import erf as E
from minicnn.ops import activation as A

SQRT1_2 = math.sqrt(0.5)
TINY = {np.float64: np.finfo(np.float64).tiny, np.float32: np.finfo(np.float32).tiny}
# relative error bounds where the true value is a normal number: a few ulp
REL = {np.float64: 1.5e-15, np.float32: 1.5e-6}

# 0, +-tiny, the cut-over points (0.46875 and 4) and their neighbours, +-6, +-27, +-inf, nan
HARD = [0.0, 5e-324, 1e-300, 1e-17, 1e-8, 0.46875, 0.5, 1.0, 2.0, 3.999, 4.0, 4.001, 4.5, 6.0, 9.0, 10.0, 12.0,
        20.0, 26.0, 26.5, 27.0, 27.3, 28.0, 1e10, 1e300, math.inf]  # fmt: skip
HARD = HARD + [float(np.nextafter(0.46875, 1)), float(np.nextafter(0.46875, 0)), float(np.nextafter(4.0, 5))]
HARD = np.array(HARD + [-v for v in HARD])


def _oracle(fn, x: np.ndarray) -> np.ndarray:
    """math's function on each value (as float64)."""
    return np.array([fn(float(v)) for v in np.ravel(x)]).reshape(np.shape(x))


def _ndtr_oracle(x: np.ndarray) -> np.ndarray:
    """0.5 erfc(-x / sqrt 2), with -x / sqrt 2 rounded in x's dtype as the kernel does (that
    rounding is the argument's, not the kernel's error)."""
    z = x * x.dtype.type(-SQRT1_2)
    return 0.5 * _oracle(math.erfc, z)


def assert_rel(got: np.ndarray, want: np.ndarray, dtype) -> None:
    """Relative error <= REL where want is normal in dtype, absolute <= tiny where it is not;
    NaN exactly where want is NaN."""
    got = np.asarray(got, dtype=np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    got, want = got[ok], want[ok]
    normal = np.abs(want) >= TINY[dtype]
    rel = np.abs(got[normal] - want[normal]) / np.abs(want[normal])
    assert rel.max(initial=0) <= REL[dtype], f"relative error {rel.max()} at {want[normal][rel.argmax()]}"
    assert np.all(np.abs(got[~normal] - want[~normal]) <= TINY[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hard_points_against_math(dtype) -> None:
    with np.errstate(over="ignore"):  # 1e300 -> inf in float32
        x = HARD.astype(dtype)
    for fast, exact in [(E.erf, math.erf), (E.erfc, math.erfc)]:
        got = fast(x)
        assert got.dtype == dtype
        assert_rel(got, _oracle(exact, x), dtype)
    assert_rel(E.ndtr(x), _ndtr_oracle(x), dtype)
    nan = np.array([np.nan], dtype=dtype)
    for fn in (E.erf, E.erfc, E.ndtr):
        assert np.isnan(fn(nan)).all()
    assert E.erf(np.array([math.inf, -math.inf])).tolist() == [1.0, -1.0]
    assert E.erfc(np.array([math.inf, -math.inf])).tolist() == [0.0, 2.0]
    assert E.ndtr(np.array([math.inf, -math.inf])).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_grid_against_math_and_reference(dtype) -> None:
    # every branch densely, incl. both sides of each cut-over; the far tail where erfc is tiny
    x = np.concatenate([np.linspace(-30, 30, 6001), np.linspace(-0.5, 0.5, 1001), np.linspace(3.9, 4.1, 201)])
    x = x.astype(dtype)
    assert_rel(E.erf(x), _oracle(math.erf, x), dtype)
    assert_rel(E.erfc(x), _oracle(math.erfc, x), dtype)
    assert_rel(E.ndtr(x), _ndtr_oracle(x), dtype)
    # the slow reference (absolute error ~2e-14) and the fast kernel agree to its accuracy
    np.testing.assert_allclose(E.erf(x.astype(np.float64)), E.erf_reference(x), rtol=0, atol=5e-14)


def test_reference_against_math() -> None:
    x = np.concatenate([np.linspace(-8, 8, 2001), [0.0, -0.0, 1e-300, 5.999, 6.0, np.inf, -np.inf]])
    np.testing.assert_allclose(E.erf_reference(x), _oracle(math.erf, x), rtol=0, atol=5e-14)
    assert np.isnan(E.erf_reference(np.array([np.nan]))).all()


def test_shapes_dtypes_and_signed_zero() -> None:
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    for fn in (E.erf, E.erfc, E.ndtr):
        assert fn(x).shape == (2, 3, 4)
        np.testing.assert_array_equal(fn(x[:, ::2, 1:].T), fn(x)[:, ::2, 1:].T)  # a strided view
        assert fn(np.zeros((0, 3))).shape == (0, 3)
        assert fn(np.float64(0.3)).shape == ()
        assert fn(x.astype(np.float16)).dtype == np.float16
    assert E.erf(np.arange(3)).dtype == np.float32  # integers: as float32
    np.testing.assert_allclose(E.erf(x.astype(np.float16)), _oracle(math.erf, x), rtol=1e-3, atol=1e-3)
    assert math.copysign(1, E.erf(np.array([-0.0]))[0]) == -1  # erf(-0) = -0, as math.erf
    assert E.erfc(np.array([-0.0]))[0] == 1.0


FLOATS = st.floats(-40, 40, allow_nan=False, width=32)


@settings(max_examples=30, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=6), elements=FLOATS))
def test_against_torch_float64(x) -> None:
    t = torch.from_numpy(x)
    np.testing.assert_allclose(E.erf(x), torch.erf(t).numpy(), rtol=2e-15, atol=0)
    assert_rel(E.erfc(x), torch.erfc(t).numpy(), np.float64)  # glibc's erfc: relatively accurate
    # torch's ndtr is 1 + erf: absolutely accurate only (0 where Phi < 1e-17)
    np.testing.assert_allclose(E.ndtr(x), torch.special.ndtr(t).numpy(), rtol=2e-15, atol=2e-16)


@settings(max_examples=30, deadline=None)
@given(x=hnp.arrays(np.float32, hnp.array_shapes(max_dims=3, max_side=6), elements=FLOATS))
def test_against_torch_float32(x) -> None:
    t = torch.from_numpy(x)
    np.testing.assert_allclose(E.erf(x), torch.erf(t).numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(E.erfc(x), torch.erfc(t).numpy(), rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(E.ndtr(x), torch.special.ndtr(t).numpy(), rtol=1e-6, atol=1e-7)
    assert_rel(E.erf(x), _oracle(math.erf, x), np.float32)
    assert_rel(E.erfc(x), _oracle(math.erfc, x), np.float32)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=25, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=4, max_side=5), elements=st.floats(-12, 12)))
def test_gelu_against_torch(device, dtype, x) -> None:
    # float32: torch's 1 + erf is absolutely, not relatively, accurate in the negative tail
    compare_with_torch(A.gelu, TF.gelu, [x], dtype=dtype, device=device, atol=1e-6 if dtype == np.float32 else 1e-15)


def test_gelu_far_negative_tail_is_relatively_accurate() -> None:
    # x Phi(x) for x in [-13, -5] (Phi(-13) ~ 6e-39: still normal in float32): float32 keeps
    # relative accuracy (the x^2-ulp error of rounding x / sqrt 2 in float32 allows ~1e-5);
    # float64 to ~1e-15 (within its exactly rounded argument) down to x = -37
    for dtype, lo, rtol in [(np.float32, -13.0, 2e-5), (np.float64, -37.0, 1e-13)]:
        x = np.linspace(lo, -5, 400).astype(dtype)
        want = x.astype(np.float64) * 0.5 * _oracle(math.erfc, -x.astype(np.float64) * SQRT1_2)
        got = A.gelu(mc.tensor(x)).numpy()
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0)


def test_gelu_keeps_phi_and_backward_uses_it() -> None:
    x = np.linspace(-6, 6, 101)
    t = mc.tensor(x, requires_grad=True)
    y = A.gelu(t)
    fn = y.grad_fn
    assert fn.cdf.dtype == np.float64 and fn.cdf.shape == x.shape
    cdf = fn.cdf
    np.testing.assert_allclose(cdf, 0.5 * _oracle(math.erfc, -x * SQRT1_2), rtol=1e-15)
    y.sum().backward()
    phi = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(t.grad.numpy(), cdf + x * phi, rtol=1e-15)
    with mc.no_grad():  # nothing kept without a graph
        assert A.gelu(mc.tensor(x)).grad_fn is None
    x16 = np.linspace(-4, 4, 33).astype(np.float16)
    t16 = mc.tensor(x16, requires_grad=True)
    y16 = A.gelu(t16)
    assert y16.dtype == np.float16
    np.testing.assert_allclose(y16.numpy(), TF.gelu(torch.from_numpy(x16).float()).numpy(), rtol=1e-3, atol=1e-3)
    y16.sum().backward()
    assert t16.grad.dtype == np.float16


def test_gelu_gradcheck() -> None:
    x = np.linspace(-5, 5, 12).reshape(3, 4)
    assert mc.gradcheck(A.gelu, [mc.tensor(x, requires_grad=True)])
    assert mc.gradcheck(A.NormalCdf.apply, [mc.tensor(x, requires_grad=True)])


def test_large_arrays_take_little_extra_memory() -> None:
    # the branches' index lists and temporaries are per chunk: the output is the only big array
    import tracemalloc

    x = np.random.default_rng(0).standard_normal(1 << 21).astype(np.float32)
    for fn in (E.erf, E.erfc, E.ndtr):
        tracemalloc.start()
        try:
            y = fn(x)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2 * x.nbytes, f"{fn.__name__}: peak {peak / x.nbytes:.1f} x the input"
        np.testing.assert_array_equal(y[-1000:], fn(x[-1000:]))  # the chunks join seamlessly


def test_gelu_tanh_float16_is_computed_in_float32_as_torch() -> None:
    # in float16, 1 + tanh(...) cancels to 0 for x below about -3.5: torch widens to float32
    x16 = np.linspace(-6, 6, 49).astype(np.float16)
    t16 = mc.tensor(x16, requires_grad=True)
    y16 = A.gelu(t16, approximate="tanh")
    tt = torch.from_numpy(x16).requires_grad_()
    ty = TF.gelu(tt, approximate="tanh")
    assert y16.dtype == np.float16
    np.testing.assert_allclose(y16.numpy(), ty.detach().numpy(), rtol=2e-3, atol=3e-7)  # float32 rounding
    y16.sum().backward()
    ty.sum().backward()
    assert t16.grad.dtype == np.float16
    np.testing.assert_allclose(t16.grad.numpy(), tt.grad.numpy(), rtol=2e-3, atol=2e-6)


@pytest.mark.parametrize("device", devices())
def test_erf_keeps_the_input_dtype_on_device(device) -> None:
    # CuPy's erf has float32 and float64 loops only: float16 would come back float32 (the fake
    # CuPy: float64), integers float64 -- the kernel casts to the CPU path's dtypes
    x = np.array([-2, -0.5, 0, 1, 3])
    for dtype, want in [(np.float16, np.float16), (np.float32, np.float32), (np.int64, np.float32)]:
        a = mc.tensor(x.astype(dtype), device=device).array
        y = E.erf(a)
        assert y.dtype == want
        np.testing.assert_allclose(mc.backend.to_numpy(y), _oracle(math.erf, x.astype(dtype)), rtol=1e-3, atol=1e-3)
