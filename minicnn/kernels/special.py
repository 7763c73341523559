"""Special functions that NumPy lacks, elementwise: ``lgamma``, ``digamma``, ``zeta`` (Hurwitz)
and ``polygamma``, ``erfinv``/``ndtri``, ``log_ndtr``, and the modified Bessel functions
``i0``, ``i0e``, ``i1``, ``i1e``.

Each kernel is plain array code on ``xp`` (NumPy or CuPy), computed in float64 and returned in
the input's dtype (float32 for integer or bool input). Branches are computed everywhere and
chosen with ``where`` (a few times the work of one branch; no boolean-mask compaction, which on
a GPU waits for the device). Loops run over series terms or recurrence steps, never over elements.

Methods and accuracy (float64, relative unless said; measured against scipy.special and torch in
tests/test_math_extra.py):

* ``lgamma``: Lanczos' approximation (g = 7, 9 terms, Godfrey's coefficients) for x >= 0.5,
  log Gamma(x) = log(sqrt(2 pi)) + (x - 1/2) log t - t + log A(x), t = x + g - 1/2; the
  reflection log(pi / |sin(pi x)|) - lgamma(1 - x) below 0.5 (sin(pi x) with x reduced mod 2,
  so poles at 0, -1, -2, ... give +inf exactly). Absolute error ~1e-15 near the zeros at 1 and 2
  (exact 0 there), relative ~1e-15 for x > 0; for x < 0 the reflection's difference of two large
  logs costs up to ~1e-13 (relative or absolute, whichever is larger) at x ~ -30.
* ``digamma``: the recurrence psi(x) = psi(x + 1) - 1/x lifts x to >= 10 (10 steps), then the
  asymptotic series log x - 1/(2x) - sum B_2k / (2k x^2k) (7 terms, error < 1e-18);
  psi(x) = psi(1 - x) - pi / tan(pi x) for x < 0.5. psi(+-0) = -+inf (torch's), NaN at negative
  integers. Absolute error ~1e-15 (relative, except near the root at x = 1.4616).
* ``zeta(s, q)``: Cephes' Euler-Maclaurin summation: the first terms (q + k)^-s for k < 10 (and
  until q + k > 9), then the integral tail and 12 Bernoulli corrections. ~1e-15 relative.
  ``polygamma(n, x)`` = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1 (digamma for n = 0).
* ``erfinv``: M. Giles' single-precision polynomial ("Approximating the erfinv function", GPU
  Computing Gems, 2011) as a start, beyond its fit (1 - |y| < 1e-7) the fixed point of erfc's asymptotic
  form, then three Halley steps on erf(z) = y (on erfc(z) = 1 - y
  where |y| > 0.5, 1 - |y| being exact there, so the tail keeps its accuracy): each step cubes
  the relative error (1e-7 -> 1e-21; the tail's start, ~1e-3, needs the third),
  so the result is within a few ulp of float64.
  ``ndtri(p)`` = sqrt(2) erfinv(2p - 1), through erfcinv(2p) for p < 0.5 (2p exact): accurate
  in the lower tail too (ndtri(1e-300)).
* ``log_ndtr``: log(Phi(x)) for -20 < x <= 0, log1p(-Phi(-x)) above, and the asymptotic series
  -x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8) below -20.
* ``i0, i1`` (and the scaled ``i0e = exp(-|x|) i0``, ``i1e``): the power series
  sum (x/2)^(2k+nu) / (k! (k+nu)!) (positive terms, 60 of them) for |x| <= 20, and the
  asymptotic expansion e^x / sqrt(2 pi x) sum_k (-1)^k a_k(nu) / x^k (25 terms, error ~e^-2x)
  above: ~2e-16 relative.

Cost: lgamma ~40 passes over the elements, digamma ~60, zeta ~100, erfinv ~200 (three erf and
erfc evaluations), the Bessel functions ~250 (60 series terms): slow next to exp, fine for the
occasional use these functions have in networks (losses, priors).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import get_array_module

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT2 = math.sqrt(2.0)
_SQRT1_2 = math.sqrt(0.5)

# Lanczos, g = 7, n = 9 (Godfrey's coefficients, as in Numerical Recipes' and Boost's gamma)
_LANCZOS_G = 7.0
_LANCZOS = (
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
)  # fmt: skip

# B_2k / (2k) for the digamma series, k = 1..7
_DIGAMMA_B = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)

# Cephes' zeta: (2k)! / B_2k, k = 1..12
_ZETA_A = (
    12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
    -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15, 1.8152105401943546773e17,
    -7.1661652561756670113e18,
)  # fmt: skip

# Giles' erfinv polynomials (float32 accuracy), highest degree first
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)  # fmt: skip
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
               -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)  # fmt: skip


def _work(x: Any) -> tuple[Any, Any, np.dtype]:
    """(xp, x as float64, the result dtype: x's if floating, else float32)."""
    xp = get_array_module(x)
    out = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    return xp, x.astype(np.float64), np.dtype(out)


def _horner(t: Any, coeffs: tuple[float, ...]) -> Any:
    acc = t * 0 + coeffs[0]
    for c in coeffs[1:]:
        acc = acc * t + c
    return acc


def _sinpi(xp: Any, x: Any) -> Any:
    """sin(pi x), exactly 0 at the integers: x is reduced mod 2 first (exact)."""
    r = x - 2 * xp.round(x / 2)
    return xp.where(r == xp.floor(r), 0.0, xp.sin(math.pi * r))


def _lgamma_right(xp: Any, x: Any) -> Any:
    """log Gamma(x) for x >= 0.5 (Lanczos)."""
    z = x - 1
    a = z * 0 + _LANCZOS[0]
    for i, c in enumerate(_LANCZOS[1:], start=1):
        a = a + c / (z + i)
    t = z + _LANCZOS_G + 0.5
    return _LOG_SQRT_2PI + (z + 0.5) * xp.log(t) - t + xp.log(a)


def lgamma(x: Any) -> Any:
    """log |Gamma(x)| elementwise; +inf at 0 and the negative integers (and at +-inf)."""
    xp, x, dt = _work(x)
    with np.errstate(all="ignore"):
        left = x < 0.5
        right = _lgamma_right(xp, xp.where(left, 1 - x, x))  # lgamma(1 - x) where x < 0.5
        reflected = math.log(math.pi) - xp.log(xp.abs(_sinpi(xp, x))) - right  # (no overflow at tiny x)
        y = xp.where(left, reflected, right)
        y = xp.where(xp.isinf(x), xp.inf, y)
        y = xp.where((x == 1) | (x == 2), 0.0, y)  # the zeros exactly (Lanczos leaves ~1e-15)
    return y.astype(dt)


def _digamma_f64(xp: Any, x: Any) -> Any:
    left = x < 0.5
    z = xp.where(left, 1 - x, x)
    acc = z * 0
    for _ in range(10):  # psi(z) = psi(z + 1) - 1/z until z >= 10
        small = z < 10
        acc = acc - xp.where(small, 1 / z, 0.0)
        z = xp.where(small, z + 1, z)
    inv2 = 1 / (z * z)
    series = _horner(inv2, _DIGAMMA_B[::-1]) * inv2
    psi = acc + xp.log(z) - 0.5 / z - series
    reflected = psi - math.pi / xp.tan(math.pi * (x - xp.trunc(x)))  # (x reduced mod 1: exact, tan's period)
    at_pole = left & (x == xp.floor(x))
    y = xp.where(left, reflected, psi)
    y = xp.where(at_pole, xp.where(x == 0, xp.where(xp.signbit(x), xp.inf, -xp.inf), xp.nan), y)  # torch's
    return xp.where(x == xp.inf, xp.inf, y)


def digamma(x: Any) -> Any:
    """psi(x) = d/dx log Gamma(x) elementwise; -inf at 0, NaN at the negative integers (torch's)."""
    xp, x, dt = _work(x)
    with np.errstate(all="ignore"):
        y = _digamma_f64(xp, x)
    return y.astype(dt)


def zeta(s: Any, q: Any) -> Any:
    """The Hurwitz zeta function sum_k (q + k)^-s (s > 1), elementwise on broadcast s and q,
    in float64 (Cephes' method); +inf at q = 0, -1, -2, ...; NaN for s < 1 or non-integer q <= 0."""
    xp = get_array_module(s, q)
    s = xp.asarray(s, dtype=np.float64)
    q = xp.asarray(q, dtype=np.float64)
    with np.errstate(all="ignore"):
        total = q ** (-s)
        a = q
        steps = 0
        active = xp.isfinite(q)
        while bool(xp.any(active)):  # at least 9 steps, and on until q + k > 9 (negative q: more)
            a = xp.where(active, a + 1, a)
            total = total + xp.where(active, a ** (-s), 0.0)
            steps += 1
            active = ((steps < 9) | (a <= 9)) & xp.isfinite(q)
        b = a ** (-s)
        total = total + a * b / (s - 1) - 0.5 * b
        fac = 1.0
        k = 0.0
        for c in _ZETA_A:
            fac = fac * (s + k)
            b = b / a
            total = total + fac * b / c
            k += 1
            fac = fac * (s + k)
            b = b / a
            k += 1
        total = xp.where(xp.isinf(q), 0.0, total)
        total = xp.where((q <= 0) & (q == xp.floor(q)), xp.inf, total)
        total = xp.where(q == -xp.inf, xp.nan, total)
        total = xp.where((s < 1) | ((q <= 0) & (s != xp.floor(s))), xp.nan, total)
        return xp.where(s == 1, xp.inf, total)


def polygamma(n: int, x: Any) -> Any:
    """The n-th derivative of digamma, elementwise (n >= 0 an integer)."""
    if n == 0:
        return digamma(x)
    xp, x64, dt = _work(x)
    sign = 1.0 if n % 2 else -1.0
    factorial = math.exp(math.lgamma(n + 1)) if n <= 170 else math.inf  # (n! overflows float64 above 170)
    y = sign * factorial * zeta(xp.asarray(float(n + 1)), x64)
    return y.astype(dt)


def _erfinv_core(xp: Any, a: Any, c: Any) -> Any:
    """z >= 0 with erf(z) = a, given a in [0, 1] and c = 1 - a computed exactly by the caller."""
    from .erf import erf, erfc  # noqa: PLC0415  (a sibling kernel)

    w = -xp.log(c * (1 + a))
    central = _horner(w - 2.5, _GILES_CENTRAL)
    tail = _horner(xp.sqrt(w) - 3, _GILES_TAIL)
    # far tail (1 - a < 1e-7, past Giles' fit): erfc(z) ~ exp(-z^2) (1 - 1/(2 z^2)) / (z sqrt(pi)) = c, by fixed point
    log_c = xp.log(xp.maximum(c, 1e-320))
    far = xp.sqrt(xp.maximum(-log_c, 1.0))
    for _ in range(3):
        far = xp.sqrt(-log_c - xp.log(far * math.sqrt(math.pi)) + xp.log1p(-0.5 / (far * far)))
    z = xp.where(w < 5, central * a, xp.where(w < 16, tail * a, far))
    use_erfc = a > 0.5
    for _ in range(3):  # Halley on f = erf(z) - a (= c - erfc(z)); f' = 2/sqrt(pi) exp(-z^2)
        zz = xp.where(xp.isfinite(z), z, 0.0)
        f = xp.where(use_erfc, c - erfc(zz), erf(zz) - a)
        d = (2 / math.sqrt(math.pi)) * xp.exp(-zz * zz)
        z = zz - f / (d + zz * f)
    z = xp.where(c == 0, xp.inf, z)
    return xp.where((a > 1) | xp.isnan(a), xp.nan, z)


def erfinv(y: Any) -> Any:
    """The inverse of erf on [-1, 1] elementwise: +-inf at +-1, NaN outside."""
    xp, y, dt = _work(y)
    with np.errstate(all="ignore"):
        a = xp.abs(y)
        z = _erfinv_core(xp, a, 1 - a)
        z = xp.where(xp.signbit(y), -z, z)  # (erfinv(-0.0) = -0.0)
    return z.astype(dt)


def ndtri(p: Any) -> Any:
    """The standard normal quantile Phi^-1(p) on [0, 1] elementwise (-inf at 0, inf at 1)."""
    xp, p, dt = _work(p)
    with np.errstate(all="ignore"):
        lower = p < 0.5
        c = xp.where(lower, 2 * p, 2 * (1 - p))  # 1 - |2p - 1|: exact (Sterbenz) where it matters
        z = _erfinv_core(xp, 1 - c, c)
        z = _SQRT2 * xp.where(lower, -z, z)
        z = xp.where((p < 0) | (p > 1), xp.nan, z)
    return z.astype(dt)


def log_ndtr(x: Any) -> Any:
    """log Phi(x) elementwise, accurate in both tails."""
    from .erf import erfc  # noqa: PLC0415  (Phi(x) = erfc(-x / sqrt 2) / 2: tail-accurate on a GPU too)

    xp, x, dt = _work(x)
    with np.errstate(all="ignore"):
        middle = xp.log(0.5 * erfc(xp.clip(x, -20, 0) * -_SQRT1_2))
        upper = xp.log1p(-0.5 * erfc(xp.maximum(x, 0) * _SQRT1_2))
        t = 1 / (xp.minimum(x, -20) ** 2)
        lower = (
            -0.5 * xp.minimum(x, -20) ** 2
            - xp.log(-xp.minimum(x, -20))
            - _LOG_SQRT_2PI
            + xp.log1p(t * (-1 + t * (3 + t * (-15 + t * (105 - 945 * t)))))
        )
        y = xp.where(x < -20, lower, xp.where(x > 0, upper, middle))
        y = xp.where(xp.isnan(x), xp.nan, y)
    return y.astype(dt)


_BESSEL_CUT = 20.0


def _bessel_i(xp: Any, x: Any, nu: int, scaled: bool) -> Any:
    """I_nu(|x|) for nu in {0, 1} in float64, times exp(-|x|) if ``scaled``."""
    ax = xp.abs(x)
    small = xp.minimum(ax, _BESSEL_CUT)
    q = 0.25 * small * small
    term = (0.5 * small) ** nu  # (x/2)^nu / nu!, nu <= 1
    series = term
    for k in range(1, 60):
        term = term * q / (k * (k + nu))
        series = series + term
    if scaled:
        series = series * xp.exp(-small)
    big = xp.maximum(ax, _BESSEL_CUT)
    mu = 4.0 * nu * nu
    term = big * 0 + 1
    asym = term
    for j in range(1, 26):
        term = term * (-(mu - (2 * j - 1) ** 2)) / (8 * j * big)
        asym = asym + term
    asym = asym / xp.sqrt(2 * math.pi * big)
    if not scaled:
        asym = asym * xp.exp(big)  # (inf above ~713, as I_nu)
    if scaled:
        asym = xp.where(ax == xp.inf, 0.0, asym)  # (inf / inf in the series above)
    return xp.where(ax <= _BESSEL_CUT, series, asym)


def _bessel(x: Any, nu: int, scaled: bool) -> Any:
    xp, x, dt = _work(x)
    with np.errstate(all="ignore"):
        y = _bessel_i(xp, x, nu, scaled)
        if nu == 1:
            y = xp.where(x < 0, -y, y)  # I_1 is odd
        y = xp.where(xp.isnan(x), xp.nan, y)
    return y.astype(dt)


def i0(x: Any) -> Any:
    """The modified Bessel function of the first kind, order 0, elementwise."""
    return _bessel(x, 0, False)


def i0e(x: Any) -> Any:
    """exp(-|x|) i0(x) elementwise (no overflow)."""
    return _bessel(x, 0, True)


def i1(x: Any) -> Any:
    """The modified Bessel function of the first kind, order 1 (odd), elementwise."""
    return _bessel(x, 1, False)


def i1e(x: Any) -> Any:
    """exp(-|x|) i1(x) elementwise."""
    return _bessel(x, 1, True)
