"""The error function and the normal CDF, elementwise: ``erf``, ``erfc``, ``ndtr`` (NumPy lacks them).

Fast kernel: W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximation
for the error function", Math. Comp. 23 (1969) 631-637; the coefficients of his SPECFUN
CALERF, as in Netlib's ``specfun/erf``), on y = |x|::

    y <= 0.46875        erf(x)  = x A(y^2) / B(y^2)                     degree 4 / 4
    0.46875 < y <= 4    erfc(y) = exp(-y^2) C(y) / D(y)                  degree 8 / 8
    y > 4               erfc(y) = exp(-y^2) (1/sqrt(pi) - t P(t) / Q(t)) / y,  t = 1 / y^2   (5 / 5)

then erf(x) = sign(x) (1 - erfc(y)), erfc(x) = 1 - erf(x) near 0 and 2 - erfc(y) for x < 0.
exp(-y^2) is Cody's exp(-s^2) exp(-(y - s)(y + s)), s = y rounded down to a sixteenth: s^2 is
exact, so the rounding of y^2 (a relative error of y^2 ulp in exp(-y^2), 7e-14 at y = 26) does
not reach erfc's tail. Each branch runs on its subset only (take / put by index lists, not
boolean masks), the last one only when some |x| > 4. The work goes in chunks of 65536
elements, so that the branches' temporaries (index lists, the passes of the rational functions:
some 40 bytes an element) take a few MiB and not ten times the input.

``ndtr(x)`` = Phi(x) = erfc(-x / sqrt 2) / 2, the standard normal CDF (gelu's factor): through
erfc, not 1 + erf, so it keeps its relative accuracy in the negative tail (Phi(-10) ~ 7.6e-24,
where 1 + erf(-7.07) is 0 in float64).

Dtypes: float64 is computed in float64, float32 in float32 (the approximations are exact to far
below float32's rounding, and s^2 stays exact), float16 (and integers, as float32) through
float32. Accuracy against math.erf / math.erfc (tests/test_erf.py), relative, wherever the
result is a normal number: float64 erf <= 7e-16, erfc <= 1.1e-15 (down to erfc(26.5) ~ 1e-307);
float32 <= 6e-7 (a few ulp). ndtr adds the rounding of x / sqrt 2, which costs a relative x^2
ulp of Phi in the far tail, as for any ndtr written on erfc. Subnormal results lose relative
precision (absolute error < the smallest normal). NaN stays NaN; erf(+-inf) = +-1.

Cost on n elements: some 8 full passes (|x|, the comparison, two index lists, take and put by
index) plus about 20 passes over the elements with |x| <= 0.46875 and 40 over the others (two
rational functions of degree 8, two exps): 35-45 passes in all, against about 170 for the
Chebyshev reference below. Measured (1 thread, 10^6 standard normal values, shared machine):
reference 65-72 ms; erf 17.7 ms and ndtr 16.9 ms in float64, 9.4 ms in float32. The reference
(``erf_reference``: a degree-40 Chebyshev interpolant of math.erf on [0, 6] in Clenshaw's
recurrence, float64, absolute error ~2e-14) stays as a slow, plain check.

On a GPU (CuPy arrays), ``erf`` and ``erfc`` are cupyx.scipy.special's (one kernel each), and
``ndtr`` is 0.5 (1 + erf(x / sqrt 2)) in float64, cast back: one erf kernel where the NumPy
branches would be some 60 launches.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import get_array_module

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_PI = 5.6418958354775628695e-1  # 1 / sqrt(pi)
_THRESH = 0.46875

# Cody's coefficients, highest degree first, each list ready for Horner's rule. The
# denominators are monic (leading 1, not stored).
_A = (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03)  # fmt: skip
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03,
      1.23033935479799725e03)  # fmt: skip
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
      3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_P = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4)  # fmt: skip
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)  # fmt: skip


def _poly(t: Any, coeffs: tuple[float, ...], monic: bool = False) -> Any:
    """Horner's rule, in place on one new array: c0 t^k + ... + ck, or t^(k+1) + c0 t^k + ... if monic."""
    acc = t + coeffs[0] if monic else t * coeffs[0] + coeffs[1]
    for c in coeffs[1:] if monic else coeffs[2:]:
        acc *= t
        acc += c
    return acc


def _exp_minus_square(y: Any) -> Any:
    """exp(-y^2) with s = floor(16 y) / 16: exp(-s^2) exp(-(y - s)(y + s)), s^2 exact. y >= 0;
    y is clipped at 27 (exp(-729) is 0 in float64), so that y = inf gives 0, not inf - inf."""
    y = np.minimum(y, 27.0)
    s = np.floor(y * 16) / 16
    return np.exp(-(s * s)) * np.exp(-((y - s) * (y + s)))


def _erfc_large(y: Any) -> Any:
    """erfc(y) for y > 0.46875 (NaN passes): Cody's second and third intervals, relative accuracy."""
    r = _poly(y, _C) / _poly(y, _D, monic=True)  # (degree 8: finite for any y < 1e38)
    far = np.flatnonzero(y > 4)
    if far.size:
        yf = y[far]
        t = 1 / (yf * yf)
        r[far] = (_INV_SQRT_PI - t * _poly(t, _P) / _poly(t, _Q, monic=True)) / yf
    r *= _exp_minus_square(y)
    return r


def _split(x: Any) -> tuple[Any, Any, Any, Any]:
    """(small, erf_small, rest, erfc_rest) for x of dtype float32/float64 (raveled): the flat
    indices of |x| <= 0.46875 and erf(x) there; the other indices (NaN's included) and erfc(|x|)
    there. Indices, not boolean masks: NumPy's mask compress and scatter cost some 8 ns an element
    on a random mask, take and put by index about 0.4."""
    y = np.abs(x)
    le = y <= _THRESH
    small = np.flatnonzero(le)
    rest = np.flatnonzero(~le)
    xs = x[small]
    t = xs * xs
    erf_small = xs * _poly(t, _A) / _poly(t, _B, monic=True)
    return small, erf_small, rest, _erfc_large(y[rest])


# Elements per chunk: the branches' temporaries (index lists, the rational functions' passes:
# some 40 bytes an element) stay a few MiB however large x is, and in cache.
_CHUNK = 1 << 16


def _result_dtype(x: Any) -> np.dtype:
    """x's dtype if floating, else float32 (integers, bools)."""
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)


def _chunked(x: Any, kernel: Any) -> Any:
    """``kernel`` (a raveled chunk in the working dtype -- float64 for float64, else float32 --
    to its result) applied chunk by chunk into one output of x's shape, in x's dtype (float32
    for integers or bools). Extra memory: the output and one chunk's temporaries."""
    x = np.asarray(x)
    out_dtype = _result_dtype(x)
    work = np.float64 if x.dtype == np.float64 else np.float32
    flat = x.reshape(-1)  # a view when x is contiguous
    out = np.empty(flat.shape, dtype=out_dtype)
    with np.errstate(all="ignore"):
        for start in range(0, flat.size, _CHUNK):
            part = flat[start : start + _CHUNK].astype(work, copy=False)
            out[start : start + _CHUNK] = kernel(part)
    return out.reshape(x.shape)


def _erf_chunk(xf: Any) -> Any:
    out = np.empty_like(xf)
    small, erf_small, rest, erfc_rest = _split(xf)
    out[small] = erf_small
    out[rest] = np.copysign(1 - erfc_rest, xf[rest])
    return out


def _erfc_chunk(xf: Any) -> Any:
    out = np.empty_like(xf)
    small, erf_small, rest, erfc_rest = _split(xf)
    out[small] = 1 - erf_small
    negative = xf[rest] < 0  # there erfc(x) = 2 - erfc(|x|): a blend, not np.where (a branch per element)
    out[rest] = erfc_rest + negative * (2 - 2 * erfc_rest)
    return out


def _ndtr_chunk(xf: Any) -> Any:
    out = np.empty_like(xf)
    z = xf * -_SQRT1_2
    small, erf_small, rest, erfc_rest = _split(z)
    out[small] = 0.5 - 0.5 * erf_small
    half = 0.5 * erfc_rest  # Phi where x < 0; 1 - half where x > 0 (blended, as in erfc)
    out[rest] = half + (xf[rest] > 0) * (1 - 2 * half)
    return out


def erf(x: Any) -> Any:
    """erf(x) elementwise, in x's dtype (float32 for integer or bool x)."""
    if get_array_module(x) is not np:
        from cupyx.scipy.special import erf as cupy_erf  # noqa: PLC0415  (only reached with CuPy arrays)

        return cupy_erf(x).astype(_result_dtype(x), copy=False)  # (CuPy's loops: f->f, d->d only)
    return _chunked(x, _erf_chunk)


def erfc(x: Any) -> Any:
    """erfc(x) = 1 - erf(x) elementwise, relatively accurate for large x, in x's dtype."""
    if get_array_module(x) is not np:
        from cupyx.scipy.special import erfc as cupy_erfc  # noqa: PLC0415  (only reached with CuPy arrays)

        return cupy_erfc(x).astype(_result_dtype(x), copy=False)
    return _chunked(x, _erfc_chunk)


def ndtr(x: Any) -> Any:
    """Phi(x) = erfc(-x / sqrt 2) / 2, the standard normal CDF, elementwise, in x's (float) dtype;
    relatively accurate in the negative tail."""
    if get_array_module(x) is not np:
        from cupyx.scipy.special import erf as cupy_erf  # noqa: PLC0415  (only reached with CuPy arrays)

        return (0.5 * (1 + cupy_erf(x.astype(np.float64) * _SQRT1_2))).astype(_result_dtype(x), copy=False)
    return _chunked(x, _ndtr_chunk)


# The slow reference: a degree-40 Chebyshev interpolant of math.erf on [0, 6] (from 41 values
# of math.erf), odd-extended; |erf(x)| rounds to 1 beyond 6 (erfc(6) ~ 2e-17). Absolute error
# ~2e-14 (so no relative accuracy in erfc's tail); about 170 passes (Clenshaw's recurrence).
_REF_CUT = 6.0
_REF_CHEB = [
    float(c)
    for c in np.polynomial.chebyshev.chebinterpolate(np.vectorize(lambda t: math.erf((t + 1) * _REF_CUT / 2)), 40)
]


def erf_reference(x: Any) -> Any:
    """erf elementwise in float64 (NumPy), by the Chebyshev interpolant: slow, plain, a check."""
    x = np.asarray(x, dtype=np.float64)
    t = np.minimum(np.abs(x), _REF_CUT) * (2 / _REF_CUT) - 1  # [0, 6] -> [-1, 1]
    b1 = np.zeros_like(t)
    b2 = np.zeros_like(t)
    for c in reversed(_REF_CHEB[1:]):
        b1, b2 = 2 * t * b1 - b2 + c, b1
    return np.where(np.abs(x) >= _REF_CUT, np.sign(x), np.sign(x) * (t * b1 - b2 + _REF_CHEB[0]))
