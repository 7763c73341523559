"""Special functions that NumPy lacks, elementwise: ``lgamma``, ``digamma``, ``zeta`` (Hurwitz)
and ``polygamma``, ``erfinv``/``ndtri``, ``log_ndtr``, the modified Bessel functions
``i0``, ``i0e``, ``i1``, ``i1e``, the scaled complementary error function ``erfcx`` and the
regularised incomplete gamma functions ``gammainc`` (P, and Q with ``upper=True``). (The other
Bessel functions and Airy's are in kernels/bessel.py, the orthogonal polynomials in
kernels/polynomials.py.)

Each kernel is plain array code on ``xp`` (NumPy or CuPy), computed in float64 and returned in
the input's dtype (float32 for integer or bool input), any shape. On NumPy the work goes in chunks
of 65536 elements (``_elementwise``), so that a kernel's dozens of passes run on cache-sized
temporaries (2-3x faster than whole-array passes); CuPy takes the whole array at once. A float32
or float16 result takes, where a kernel has one, a shorter approximation (``_elementwise``'s
``by_precision``: fewer terms, still in float64, ~1e-10 relative: within 1 ulp of the correctly
rounded float32; ndtri, i0 / i1 and scaled, polygamma, gammainc); erfinv's is computed in float32
itself (``float32_kernel``), its last step in float64, within 1 ulp too. The common
branch runs on every element; a branch that only some elements need (a reflection for x < 1/2,
an asymptotic expansion, a far tail) runs on those only, gathered and scattered by index
(``flatnonzero``: one device sync on a GPU). Every pass count is fixed: no loop runs a
data-dependent number of times, and loops run over series terms, never over elements.

Methods, cost in passes over the elements (n = all, m = those in the branch), accuracy (float64,
measured against mpmath / scipy.special in tests/test_math_extra.py):

* ``lgamma``: Lanczos' approximation (g = 7, 9 terms, Godfrey's coefficients) for x >= 0.5,
  log Gamma(x) = log(sqrt(2 pi)) + (z + 1/2)(log t - 1) - g + log A(z), z = x - 1,
  t = z + g + 1/2 (~30 passes on n); the reflection log(pi / |sin(pi x)|) - lgamma(1 - x) on
  the m elements below 0.5 (~45 on m; x reduced mod 2 and folded to s in [0, 1/2], both exact, so
  the poles 0, -1, ... give +inf exactly and the odd ones keep their accuracy; sin(pi s) from
  tan(pi s / 2), as NumPy's float64 sin is not vectorised). Relative error ~1e-15 for x > 0,
  absolute ~1e-15 near the zeros 1 and 2 (exact 0 there); for x < 0 the reflection's difference of
  two large logs costs up to ~4e-14.
* ``digamma``: psi(z) = psi(z + 10) - sum_{k<10} 1/(z + k) for every z >= 0.5 (a fixed shift,
  no stepping), psi(z + 10) by the asymptotic series log w - 1/(2w) - sum B_2k / (2k w^2k)
  (7 terms, error < 1e-18; ~45 passes on n); psi(x) = psi(1 - x) - pi cot(pi x) on the m
  elements below 0.5 (cot(pi x) with x reduced mod 1 and, past 1/4, as tan(pi (1/2 - |r|)):
  accurate next to the poles and the zeros of cot). psi(+-0) = -+inf (torch's), NaN at the
  negative integers. Error ~1e-15, relative or absolute below 1 (the root at 1.4616).
* ``zeta(s, q)`` for q > 0: the terms (q + k)^-s for k = 0..10 directly, then Cephes'
  Euler-Maclaurin tail at a = q + 10 (the integral a^(1-s)/(s-1), the half term, 12 Bernoulli
  corrections): a fixed ~60 passes, ~1e-15 relative. For an integer s (polygamma's) in place, the
  powers by repeated squaring (not pow) and the corrections by Horner in 1/a^2: ~75 passes for
  s = 2, half the time of the term-by-term sum. For q <= 0 and integer s = n + 1, the reflection
  zeta(s, q) = (-1)^n (zeta(s, 1 - q) + pi^s / n! P_n(cot pi q)), P_n the polynomial with
  d^n/du^n cot u = P_n(cot u) (its coefficients share one sign): fixed cost whatever |q|
  (the summation up to q + k > 9 took |q| passes before), ~1e-15 relative. NaN for other q <= 0.
  ``polygamma(n, x)`` = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1 (digamma for n = 0); for a float32
  result 4 direct terms and 6 corrections (<= 1e-10 relative up to s = 64, ~30 passes for s = 2).
* ``erfinv``: M. Giles' double-precision polynomials ("Approximating the erfinv function", GPU
  Computing Gems 2, 2011) in w = -log((1 - a)(1 + a)): degree 22 in w for w < 6.25 (~50 passes
  on n), degree 18 / 16 in sqrt(w) on the m elements beyond (1 - |y| < 0.002); relative error
  <= 1.3e-15 down to 1 - |y| = 1e-16, which covers every float below 1. Below that (only
  ``ndtri``'s lower tail reaches it) the fixed point of erfc's asymptotic form and three Halley
  steps on erfc(z) = 1 - a (each cubes the relative error). float32 / float16 results of ``erfinv``:
  computed in float32, y P(log((1 - y)(1 + y))) with P a degree-10 fit (6.8e-9 relative), its last
  Horner step and the product by y in float64 (~25 passes, twice as fast), Giles' first tail
  polynomial in float64 for 1 - |y| < 0.001 (a float32 below 1 has 1 - |y| >= 2^-24); ``ndtri``:
  degree 12 for w < 6.25 (a fit of Giles' polynomial, 5.7e-10 relative; ~30 passes), in float64.
  Every float32 result within 1 ulp of the correctly rounded one.
  ``ndtri(p)`` = sqrt(2) erfinv(2p - 1), through 1 - a = 2p for p < 0.5 (exact): accurate in the
  lower tail too (ndtri(1e-300)).
* ``log_ndtr``: log(Phi(x)) for -20 < x <= 0, log1p(-Phi(-x)) above, and the asymptotic series
  -x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8) below -20
  (all three computed everywhere: two erfc evaluations, ~100 passes).
* ``i0, i1`` (and the scaled ``i0e = exp(-|x|) i0``, ``i1e``): the power series
  sum (x/2)^(2k+nu) / (k! (k+nu)!) by Horner in (x/2)^2 (24 positive terms, ~55 passes on n)
  for |x| <= 8, and Cephes' Chebyshev series for e^-x sqrt(x) I_nu(x) in 32/x - 2 (25 terms,
  Clenshaw in place, ~80 passes) on the m elements above: 4.7e-16 relative against mpmath. float32 /
  float16 results: fitted polynomials of degree 10 in x^2 (~30 passes) and 7 in 8/x (~20), 2.9e-10
  relative, in float64: within 1 ulp of the correctly rounded float32.

* ``erfcx`` = exp(x^2) erfc(x): W. J. Cody's rational functions (kernels/erf.py's coefficients)
  give erfc(y) = exp(-y^2) R(y) for y > 0.46875, so erfcx(y) = R(y) with no exp (no overflow, no
  exp(x^2) rounding); exp(x^2) (1 - erf x) near 0; 2 exp(x^2) - erfcx(-x) below -0.46875 (exp(x^2)
  split as for erfc: s^2 exact). ~30 passes. Relative error <= 4.4e-16 against mpmath (scipy's and
  torch's lose up to 6e-14 for x < -5, from exp(x^2)).
* ``gammainc(a, x)``: Cephes' choice of method, each on its own elements: Q by its own series
  (Cephes' igamc_series, 25 terms, with log Gamma(1 + a) by its Taylor series for a <= 1/2) for
  x < 1.1 and small a; Q by the continued fraction (its approximant evaluated backward, 5 in-place
  passes a step) for x > max(a, 1); P by the power series
  elsewhere; the other as 1 - it; and for a > 200 with |x - a| < 0.3 a, Temme's uniform
  asymptotic expansion (DLMF 8.12.3-8.12.4: erfc plus 8 terms in 1/a, each a degree-24
  polynomial in eta; its coefficients computed exactly at first use). The series takes
  40 + 9 sqrt(min(max a, 200)) <= 167 steps (it converges like exp(-k^2 / 2a) next to x = a,
  which Temme's takes above a = 200); the fraction, element by element, the count of 16 .. 167
  steps that it needs (~100 for small a next to x = 1, where 40 left 6e-11; ~40 at x = a = 200; a
  few far out): no pass count grows with a. The prefactor x^a e^-x / Gamma(a)
  goes through Stirling's series for a >= 10 (a (log(x/a) - (x - a)/a) - log(2 pi a)/2 - ...,
  log1p next to x = a), which avoids the cancellation in a log x - x - lgamma(a). Measured against
  mpmath / scipy: ~1e-13 relative (at a ~ 350 in the far tails; ~1e-15 typical; 2e-14 out to
  a = 1e12), 2.5e-14 absolute; torch's own is accurate to ~2e-9 relative only, and gives
  Q(1e-300, 1) = 8e-301 for 2.2e-301. In 65536-element chunks on NumPy; ``single`` (a float32
  result): 20 + 6 sqrt(a) series terms and 0.4 of the fraction's steps for a >= 1 (2e-11 relative).

Time: benchmarks/README.md ("Special functions"; 1 thread, 10^6 float32 elements,
benchmarks/bench_special.py, against torch's own in the same run).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np

from ..backend import get_array_module, to_numpy

_LOG_PI = math.log(math.pi)
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
_PSI_SHIFT = 10  # psi(z) = psi(z + 10) - sum_{k<10} 1 / (z + k)

# Cephes' zeta: (2k)! / B_2k, k = 1..12
_ZETA_A = (
    12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
    -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15, 1.8152105401943546773e17,
    -7.1661652561756670113e18,
)  # fmt: skip
_ZETA_TERMS = 10  # terms (q + k)^-s summed directly, k = 0..10, before Euler-Maclaurin from q + 10 >= 10
_ZETA_SINGLE_TERMS, _ZETA_SINGLE_CORRECTIONS = 4, 6  # float32 results (integer s): <= 1e-10 relative

# M. Giles' erfinv in double precision ("Approximating the erfinv function", GPU Computing Gems 2,
# 2011; his published code, as in Apache Commons Math), highest degree first: erfinv(a) = a P(t) with
# t = w - 3.125 for w = -log(1 - a^2) < 6.25, sqrt(w) - 3.25 for w < 16, sqrt(w) - 5 above (fit to w ~ 37)
_GILES_CENTRAL = (
    -3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18, 1.115787767802518096e-17,
    -1.333171662854620906e-16, 2.0972767875968561637e-17, 6.6376381343583238325e-15, -4.0545662729752068639e-14,
    -8.1519341976054721522e-14, 2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
    1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08, 4.2347877827932403518e-07,
    -1.3654692000834678645e-06, -1.3882523362786468719e-05, 0.0001867342080340571352, -0.00074070253416626697512,
    -0.0060336708714301490533, 0.24015818242558961693, 1.6536545626831027356,
)  # fmt: skip
_GILES_TAIL = (
    2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07, 1.8239629214389227755e-08,
    1.5027403968909827627e-06, -4.013867526981545969e-06, 2.9234449089955446044e-06, 1.2475304481671778723e-05,
    -4.7318229009055733981e-05, 6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
    0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066, -0.0037512085075692412107,
    0.005370914553590063617, 1.0052589676941592334, 3.0838856104922207635,
)  # fmt: skip
_GILES_FAR = (
    -2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09, -3.7894654401267369937e-09,
    7.6157012080783393804e-09, -1.4960026627149240478e-08, 2.9147953450901080826e-08, -6.7711997758452339498e-08,
    2.2900482228026654717e-07, -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
    7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026, 1.0103004648645343977,
    4.8499064014085844221,
)  # fmt: skip
# float32 results: degree 12 in t = w - 3.125 for w < 6.25 (highest first), the Chebyshev least-squares fit
# (weights 1 / value: relative error) of _GILES_CENTRAL on 2000 Chebyshev nodes of [0, 6.25], converted to
# powers of t (numpy.polynomial.chebyshev chebfit(nodes, values, 12, w=1/values), cheb2poly, / 3.125^k):
# 5.7e-10 relative against scipy's erfinv on a dense grid (Giles' single-precision set, degree 8, has 1.2e-7:
# up to 2 float32 ulp)
_GILES_CENTRAL_SINGLE = (
    -1.330218057195625e-11, 5.371648582364325e-12, 1.0578814586387097e-09, -4.744234329546121e-09,
    -2.919599399779993e-08, 4.2690190388863763e-07, -1.3646157081617365e-06, -1.3891784996347305e-05,
    0.00018673188277670068, -0.000740691655219867, -0.006033668687351017, 0.24015817875232134, 1.6536545623611525,
)  # fmt: skip
# float32 results computed in float32 (_erfinv_float32): erfinv(y) = y P(l), l = log((1 - y)(1 + y)) in [-6.25, 0],
# P of degree 10 (highest first): the Chebyshev fit (weights 1 / value) of erfinv(a) / a in l, converted to powers of
# l, 6.8e-9 relative; all but the constant rounded to float32 (Horner in float32), the constant and the last step in
# float64: within 1 float32 ulp of the correctly rounded value (2 ulp with that step in float32 too)
_ERFINV_FLOAT32 = (
    6.582038247771038e-10, 2.51708840437459e-08, 3.940106694244605e-07, 2.9860038921469823e-06, 7.536181328759994e-06,
    -3.684502007672563e-05, -0.0001172960182884708, 0.002341995481401682, 0.011551604606211185, -0.23201337456703186,
    0.886226931440744,
)  # fmt: skip
_ERFINV_FLOAT32_EDGE = math.exp(-6.25)  # (1 - y)(1 + y) below this (1 - |y| < 0.001): Giles' tail polynomial
_GILES_END = 1e-16  # 1 - a below this (only ndtri's lower tail: a float a < 1 is <= 1 - 1.1e-16): Halley on erfc

_BESSEL_CUT = 8.0
# sum_k (x^2/4)^k / (k! (k + nu)!), k <= 23: the terms left out are < 1e-18 of the sum at |x| <= 8; as
# coefficients of x^2k, times 1/2 for nu = 1 (I_1 = x/2 sum ...): powers of 2, exact (the same results)
_BESSEL_SERIES = tuple(
    tuple(1 / (math.factorial(k) * math.factorial(k + nu)) / 4**k / 2**nu for k in range(23, -1, -1)) for nu in (0, 1)
)
# float32 results (highest first; float64 evaluation): for |x| <= 8 the Chebyshev fit (weights 1 / value) of
# I_nu(x) / x^nu in q = x^2 on [0, 64], degree 10, in powers of q (2.9e-10 relative, against 16 series terms); for
# x > 8 that of e^-x sqrt(x) I_nu(x) in s = 8 / x on (0, 1], degree 7 (1.2e-10): each float32 result within 1 ulp
_BESSEL_SERIES_SINGLE = (
    (
        1.3554930446560943e-19, 1.9944774333729337e-17, 1.0065984868717495e-14, 2.372358773172507e-12,
        4.717919404510827e-10, 6.780252189169468e-08, 6.781828567742864e-06, 0.00043402697596657737,
        0.015625002117881964, 0.2499999980137155, 1.0000000002732772,
    ),
    (
        5.9630092296297434e-21, 1.05406011979116e-18, 5.523875425741694e-16, 1.4872111832913275e-13,
        3.36818977188921e-11, 5.650626779411909e-09, 6.781769284677593e-07, 5.425341980420663e-05,
        0.0026041668239861876, 0.06249999982669839, 0.5000000000292569,
    ),
)  # fmt: skip
_BESSEL_FAR_SINGLE = (
    (
        4.046556329174938e-06, -7.207468708528692e-06, 1.0212962099539087e-05, 7.4097719820084966e-06,
        5.793336295731349e-05, 0.00043818920110288235, 0.006233477633098795, 0.39894228036918217,
    ),
    (
        -4.58281170844e-06, 8.184977580687002e-06, -1.1963311747113852e-05, -9.946635411789163e-06,
        -8.091833936109588e-05, -0.0007303628461336967, -0.018700424893786868, 0.39894228044165536,
    ),
)  # fmt: skip
# Cephes' i0.c / i1.c: Chebyshev coefficients (highest first) of e^-x sqrt(x) I_nu(x) in 32/x - 2, x > 8
_BESSEL_CHEB = (
    (
        -7.23318048787475395456e-18, -4.83050448594418207126e-18, 4.46562142029675999901e-17,
        3.46122286769746109310e-17, -2.82762398051658348494e-16, -3.42548561967721913462e-16,
        1.77256013305652638360e-15, 3.81168066935262242075e-15, -9.55484669882830764870e-15,
        -4.15056934728722208663e-14, 1.54008621752140982691e-14, 3.85277838274214270114e-13,
        7.18012445138366623367e-13, -1.79417853150680611778e-12, -1.32158118404477131188e-11,
        -3.14991652796324136454e-11, 1.18891471078464383424e-11, 4.94060238822496958910e-10,
        3.39623202570838634515e-9, 2.26666899049817806459e-8, 2.04891858946906374183e-7,
        2.89137052083475648297e-6, 6.88975834691682398426e-5, 3.36911647825569408990e-3,
        8.04490411014108831608e-1,
    ),
    (
        7.51729631084210481353e-18, 4.41434832307170791151e-18, -4.65030536848935832153e-17,
        -3.20952592199342395980e-17, 2.96262899764595013876e-16, 3.30820231092092828324e-16,
        -1.88035477551078244854e-15, -3.81440307243700780478e-15, 1.04202769841288027642e-14,
        4.27244001671195135429e-14, -2.10154184277266431302e-14, -4.08355111109219731823e-13,
        -7.19855177624590851209e-13, 2.03562854414708950722e-12, 1.41258074366137813316e-11,
        3.25260358301548823856e-11, -1.89749581235054123450e-11, -5.58974346219658380687e-10,
        -3.83538038596423702205e-9, -2.63146884688951950684e-8, -2.51223623787020892529e-7,
        -3.88256480887769039346e-6, -1.10588938762623716291e-4, -9.76109749136146840777e-3,
        7.78576235018280120474e-1,
    ),
)  # fmt: skip

# NumPy: elements per chunk, so that a kernel's dozens of passes run on cache-sized temporaries
# (CuPy: the whole array in one go).
_CHUNK = 1 << 16


def _elementwise(x: Any, kernel: Any, by_precision: bool = False, float32_kernel: Any = None) -> Any:
    """``kernel(xp, v)`` (a raveled float64 piece of x -> its float64 result) over all of x,
    returned in x's shape and dtype (float32 for integer or bool input). With ``by_precision`` the
    kernel is called as ``kernel(xp, v, single)``, ``single`` true for a float32 or float16 result:
    it may then use shorter approximations, accurate to ~1e-9 relative (a float32 ulp is 6e-8).
    ``float32_kernel(xp, v)``, where given, takes a float32 or float16 result instead, on the
    float32 piece: it computes (mostly) in float32, each float32 result within 1 ulp."""
    xp = get_array_module(x)
    flat = x.reshape(-1)
    out = xp.empty(flat.shape, dtype=x.dtype if x.dtype.kind == "f" else np.dtype(np.float32))
    step = _CHUNK if xp is np else max(flat.size, 1)
    extra = (out.dtype.itemsize < 8,) if by_precision else ()
    work = np.float64
    if float32_kernel is not None and out.dtype.itemsize < 8:
        kernel, extra, work = float32_kernel, (), np.float32
    with np.errstate(all="ignore"):
        for start in range(0, flat.size, step):
            out[start : start + step] = kernel(xp, flat[start : start + step].astype(work, copy=False), *extra)
    return out.reshape(x.shape)


def _horner(t: Any, coeffs: tuple[float, ...]) -> Any:
    """c0 t^k + ... + ck (highest degree first), in place on one new array."""
    acc = t * coeffs[0]
    acc += coeffs[1]
    for c in coeffs[2:]:
        acc *= t
        acc += c
    return acc


def _sincos(xp: Any, x: Any) -> tuple[Any, Any]:
    """(sin x, cos x) of a float array from one tangent, t = tan(x/2): sin x = 2t / (1 + t^2),
    cos x = (1 - t)(1 + t) / (1 + t^2) (1 - t exact next to t = 1). ~12 passes and one tan, a fifth
    of the time of NumPy's sin and cos, which are not vectorised for float64 (its tan is); absolute
    error <= 3.4e-16 (for the Bessel functions' oscillating forms, where absolute error is what
    counts; relative error grows next to the zeros). NaN at +-inf."""
    t = xp.tan(x * 0.5)
    inv = t * t
    inv += 1
    xp.reciprocal(inv, out=inv)
    sin = t * inv
    sin *= 2
    cos = 1 - t
    t += 1
    cos *= t
    cos *= inv
    return sin, cos


def _cotpi(xp: Any, x: Any) -> Any:
    """cot(pi x), accurate near its zeros too: x reduced mod 1 to r in [-1/2, 1/2] (exact), then
    1 / tan(pi r) for |r| <= 1/4 and +-tan(pi (1/2 - |r|)) above (1/2 - |r| exact: cot(pi/2) = 0, not
    pi/2's rounding); +inf at the integers."""
    r = x - xp.round(x)
    ar = xp.abs(r)
    return xp.where(ar <= 0.25, 1 / xp.tan(math.pi * r), xp.copysign(xp.tan(math.pi * (0.5 - ar)), r))


def _reflected(xp: Any, x: Any, left: Any) -> Any:
    """x with 1 - x at the indices ``left`` (a copy if there are any; x itself if not)."""
    if not left.size:
        return x
    z = x.copy()
    z[left] = 1 - x[left]
    return z


def _lgamma_right(xp: Any, x: Any) -> Any:
    """log Gamma(x) for x >= 0.5 (Lanczos; +inf at +inf): 9 divisions, 2 logs, ~30 passes."""
    z = x - 1
    t = z + 1
    a = _LANCZOS[1] / t
    a += _LANCZOS[0]
    for i, c in enumerate(_LANCZOS[2:], start=2):
        xp.add(z, i, out=t)
        xp.divide(c, t, out=t)
        a += t
    # (z + 1/2) log t - t, t = z + 1/2 + g, as (z + 1/2)(log t - 1) - g: no inf - inf at +inf
    xp.add(z, _LANCZOS_G + 0.5, out=t)
    xp.log(t, out=t)
    t -= 1
    z += 0.5
    t *= z
    xp.log(a, out=a)
    t += a
    t += _LOG_SQRT_2PI - _LANCZOS_G
    return t


def _log_abs_sinpi(xp: Any, x: Any) -> Any:
    """log |sin(pi x)| (-inf at the integers, NaN at +-inf): x reduced mod 2 and folded to s in [0, 1/2]
    (both exact), sin(pi s) = 2t / (1 + t^2) with t = tan(pi s / 2) (NumPy's float64 tan is vectorised, its
    sin is not: ~8x faster; relative error ~3e-16); log(pi s) for s < 1e-8 (no subnormal rounding). ~12 passes."""
    s = x * 0.5
    xp.round(s, out=s)
    s *= -2
    s += x
    xp.abs(s, out=s)
    xp.minimum(s, 1 - s, out=s)
    t = s * (math.pi / 2)
    xp.tan(t, out=t)
    sin = t * t
    sin += 1
    xp.divide(t, sin, out=sin)
    sin *= 2
    xp.log(sin, out=sin)
    tiny = xp.flatnonzero(s < 1e-8)
    if tiny.size:
        sin[tiny] = _LOG_PI + xp.log(s[tiny])
    return sin


def _lgamma(xp: Any, x: Any) -> Any:
    left = xp.flatnonzero(x < 0.5)
    y = _lgamma_right(xp, _reflected(xp, x, left))  # once on every element: lgamma(1 - x) below 0.5
    if left.size:  # the rest of the reflection, on those elements only
        xl = x[left]
        yl = _LOG_PI - _log_abs_sinpi(xp, xl)
        yl -= y[left]
        y[left] = xp.where(xp.isinf(xl), xp.inf, yl)
    y[(x == 1) | (x == 2)] = 0.0  # the zeros exactly (Lanczos leaves ~1e-15)
    return y


def lgamma(x: Any) -> Any:
    """log |Gamma(x)| elementwise; +inf at 0 and the negative integers (and at +-inf)."""
    return _elementwise(x, _lgamma)


def _psi_right(xp: Any, z: Any) -> Any:
    """psi(z) for z >= 0.5 (+inf at +inf): the asymptotic series at w = z + 10, less
    sum_{k<10} 1/(z + k). ~45 passes."""
    w = z + _PSI_SHIFT
    inv2 = w * w
    xp.divide(1.0, inv2, out=inv2)
    psi = _horner(inv2, _DIGAMMA_B[::-1])
    psi *= inv2
    xp.divide(0.5, w, out=inv2)
    psi += inv2
    xp.log(w, out=w)
    xp.subtract(w, psi, out=psi)
    for k in range(_PSI_SHIFT):
        xp.add(z, k, out=w)
        xp.divide(1.0, w, out=w)
        psi -= w
    return psi


def _digamma(xp: Any, x: Any) -> Any:
    left = xp.flatnonzero(x < 0.5)
    y = _psi_right(xp, _reflected(xp, x, left))  # (psi(1 - x) below 0.5: the reflection's)
    if left.size:  # psi(x) = psi(1 - x) - pi / tan(pi x), on those elements only
        xl = x[left]
        yl = y[left] - math.pi * _cotpi(xp, xl)
        pole = xl == xp.floor(xl)
        y[left] = xp.where(pole, xp.where(xl == 0, xp.where(xp.signbit(xl), xp.inf, -xp.inf), xp.nan), yl)
    return y


def digamma(x: Any) -> Any:
    """psi(x) = d/dx log Gamma(x) elementwise; -inf at 0, NaN at the negative integers (torch's)."""
    return _elementwise(x, _digamma)


def _neg_power(xp: Any, base: Any, s: Any) -> Any:
    """base ** -s; for a Python int s by repeated squaring of 1 / base (a few products, no pow)."""
    if not isinstance(s, int):
        return base ** (-s)
    r = 1 / base
    out = None
    while s:
        if s & 1:
            out = r if out is None else out * r
        s >>= 1
        if s:
            r = r * r
    return out


@functools.cache
def _zeta_tail_coefficients(s: int) -> tuple[float, ...]:
    """Euler-Maclaurin's corrections s (s+1) ... (s+2j) / c_j (c_j = (2j+2)! / B_(2j+2), j < 12) as
    a polynomial in 1/a^2, highest degree first."""
    fac, out = float(s), []
    for j, c in enumerate(_ZETA_A):
        if j:
            fac *= (s + 2 * j - 1) * (s + 2 * j)
        out.append(fac / c)
    return tuple(out[::-1])


def _inverse_power_inplace(xp: Any, r: Any, s: int, buf: Any) -> Any:
    """r ** s for an integer s >= 1 by repeated squaring, overwriting r (and buf): the result is r or
    buf (1 pass for s = 2, 3 for s = 3)."""
    while not s & 1:
        r *= r
        s >>= 1
    if s == 1:
        return r
    xp.copyto(buf, r)
    s >>= 1
    while s:
        r *= r
        if s & 1:
            buf *= r
        s >>= 1
    return buf


def _zeta_positive_int(xp: Any, s: int, q: Any, single: bool = False) -> Any:
    """_zeta_positive for a Python int s >= 2 (polygamma's), in place: the terms (q + k)^-s for
    k < 10 (4 passes each for s = 2), then at a = q + 10 the integral a^(1-s)/(s-1) (its own power:
    no underflow of a^-s first) and a^-s (1/2 + P(1/a^2) / a), P Euler-Maclaurin's 12 corrections
    by Horner (~25 passes, against ~70 as a sum of separate terms). ``single`` (float32 results):
    4 terms and 6 corrections, <= 1e-10 relative for s <= 64 (~30 passes for s = 2, from ~75)."""
    n_terms = _ZETA_SINGLE_TERMS if single else _ZETA_TERMS
    total = xp.zeros_like(q)
    r = xp.empty_like(q)
    buf = xp.empty_like(q)
    for k in range(n_terms):
        xp.add(q, k, out=r)
        xp.reciprocal(r, out=r)
        total += _inverse_power_inplace(xp, r, s, buf)
    inv = q + n_terms
    xp.reciprocal(inv, out=inv)  # 1 / a
    xp.copyto(r, inv)
    r1 = _inverse_power_inplace(xp, r, s - 1, buf)  # a^(1-s)
    b = r1 * inv  # a^-s
    r1 /= s - 1
    total += r1
    v = inv * inv
    corr = _horner(v, _zeta_tail_coefficients(s)[-_ZETA_SINGLE_CORRECTIONS:] if single else _zeta_tail_coefficients(s))
    corr *= inv
    corr += 0.5  # (a's own term, half of it: the sum above stops at k = n_terms - 1)
    corr *= b
    total += corr
    return total


def _zeta_positive(xp: Any, s: Any, q: Any, single: bool = False) -> Any:
    """sum_k (q + k)^-s for s > 1 and 0 < q <= 1e300 (arrays broadcast, or s a Python int), in
    float64, at a fixed cost: the terms k = 0..10 directly, then Cephes' Euler-Maclaurin tail at
    a = q + 10 >= 10 (the integral, the half term and 12 Bernoulli corrections). ``single``: fewer
    of both for an int s (float32 results; ``_zeta_positive_int``)."""
    if isinstance(s, int):
        return _zeta_positive_int(xp, s, q, single)
    total = _neg_power(xp, q, s)
    for k in range(1, _ZETA_TERMS + 1):
        total = total + _neg_power(xp, q + k, s)
    a = q + _ZETA_TERMS
    b = _neg_power(xp, a, s)
    total = total + _neg_power(xp, a, s - 1) / (s - 1) - 0.5 * b  # (a^(1-s), not a b: no underflow of b)
    fac = 1.0
    k = 0
    for c in _ZETA_A:
        fac = fac * (s + k)
        b = b / a
        # (a huge s: fac overflows while b underflows to 0; the term is 0, not inf * 0)
        total = total + (fac * b / c if isinstance(s, int) else xp.where(b == 0, 0.0, fac * b / c))
        k += 1
        fac = fac * (s + k)
        b = b / a
        k += 1
    return total


def _cot_derivative(n: int) -> tuple[float, ...]:
    """The coefficients (highest degree first) of P_n / n!, where d^n/du^n cot u = P_n(cot u):
    P_0 = c, P_(k+1)(c) = -(1 + c^2) P_k'(c) (exact fractions, then floats)."""
    p = [Fraction(0), Fraction(1)]  # lowest degree first
    for _ in range(n):
        d = [i * p[i] for i in range(1, len(p))] + [Fraction(0), Fraction(0)]
        p = [-(d[i] + (d[i - 2] if i >= 2 else 0)) for i in range(len(d))]
    while p and p[-1] == 0:
        p.pop()
    return tuple(float(c / math.factorial(n)) for c in reversed(p))


def _zeta_int(xp: Any, s: int, x: Any, single: bool = False) -> Any:
    """zeta(s, x) for an integer s >= 2 and any x, at a fixed cost: directly for x > 0, by the
    reflection zeta(s, x) = (-1)^n (zeta(s, 1 - x) + pi^s / n! P_n(cot pi x)), n = s - 1, for
    x <= 0 (from psi^(n)(1 - x) + (-1)^(n+1) psi^(n)(x) = (-1)^n pi d^n/dx^n cot(pi x));
    +inf at 0, -1, -2, ..., 0 at +inf, NaN at -inf. ``single``: float32 accuracy (``_zeta_positive_int``)."""
    pos = x > 0
    q = xp.minimum(xp.where(pos, x, 1 - x), 1e300)  # (+inf: 0, (1e300)^-s underflows)
    total = _zeta_positive(xp, s, q, single)
    neg = xp.flatnonzero(~pos)  # (and NaN)
    if neg.size:
        xl = x[neg]
        c = _cotpi(xp, xl)
        n = s - 1
        poly = _horner(c, _cot_derivative(n)) if n else c  # P_n / n!; the coefficients share one sign
        total[neg] = (-1) ** n * (total[neg] + math.pi**s * poly)
    return total


def _zeta_near_terms(xp: Any, s: Any, x: Any) -> Any:
    """zeta(s, x) for x < 0 not an integer and an integer s > _ZETA_REFLECT_MAX (or +inf): the
    terms whose base lies in (-2, 2), k = k0 - 1 .. k0 + 1 with x + k0 in (-1, 0), and the positive
    rest zeta(s, x + k0 + 2). The other terms have |x + k| >= 2, at most 2^-s each against one
    term of at least 2^s: below float64's resolution. Fixed cost however large s is."""
    k0 = xp.floor(-x)
    total = _zeta_positive(xp, s, x + k0 + 2)
    for k in (-1.0, 0.0, 1.0):
        base = x + k0 + k
        total = total + xp.where(k0 + k >= 0, xp.power(base, -s), 0.0)  # (k >= 0 only)
    return total


_ZETA_REFLECT_MAX = 64  # integer orders up to this by the reflection formula (its polynomial has s terms)


def zeta(s: Any, q: Any) -> Any:
    """The Hurwitz zeta function sum_k (q + k)^-s (s > 1), elementwise on broadcast s and q, in
    float64; torch's (Cephes') cases: +inf at s = 1 and at q = 0, -1, -2, ..., -inf; NaN for s < 1
    and for a non-integer s with q < 0. Where the first term alone is exact in float64 (s log(1 +
    1/q) > 37: a huge s) the result is q^-s, so s = +inf gives inf, 1 or 0 (Cephes: NaN for q > 1,
    from 0 / 0)."""
    xp = get_array_module(s, q)
    s, q = (a.copy() for a in xp.broadcast_arrays(xp.asarray(s, dtype=np.float64), xp.asarray(q, dtype=np.float64)))
    with np.errstate(all="ignore"):
        pos = q > 0
        pole = ~pos & (q == xp.floor(q))  # 0, -1, -2, ..., -inf
        total = _zeta_positive(xp, s, xp.minimum(xp.where(pos, q, 1.0), 1e300))
        first = xp.where(pos, q, 1.0) ** -s
        total = xp.where(s * xp.log1p(1 / xp.where(pos, q, 1.0)) > 37.0, first, total)  # the rest < eps * first
        total = xp.where(q == xp.inf, 0.0, total)
        negative = ~pos & ~pole & (s == xp.floor(s)) & (s > 1)
        far = negative & (s > _ZETA_REFLECT_MAX)
        if far.any():
            total[far] = _zeta_near_terms(xp, s[far], q[far])
        near = negative & ~far
        for order in np.unique(to_numpy(s[near])):  # (the distinct integer orders: few)
            idx = near & (s == order)
            total[idx] = _zeta_int(xp, int(order), q[idx])
        total = xp.where(~pos & ~negative, xp.nan, total)
        total = xp.where(pole, xp.inf, total)
        total = xp.where(s < 1, xp.nan, total)
        return xp.where(s == 1, xp.inf, total)


def polygamma(n: int, x: Any) -> Any:
    """The n-th derivative of digamma, elementwise (n >= 0 an integer):
    (-1)^(n+1) n! zeta(n + 1, x)."""
    if n == 0:
        return digamma(x)
    factor = (1.0 if n % 2 else -1.0) * (math.factorial(n) if n <= 170 else math.inf)  # (n! overflows above 170)
    return _elementwise(x, lambda xp, v, single: factor * _zeta_int(xp, n + 1, v, single), by_precision=True)


def _halley_erf(xp: Any, z: Any, a: Any, c: Any) -> Any:
    """One Halley step on erf(z) = a, i.e. on erfc(z) = c where a > 0.5 (c = 1 - a exact there:
    the tail keeps its accuracy); each step cubes the relative error."""
    from .erf import erf, erfc  # noqa: PLC0415  (a sibling kernel)

    low = xp.flatnonzero(a <= 0.5)
    high = xp.flatnonzero(~(a <= 0.5))  # (and NaN)
    f = xp.empty_like(z)
    f[low] = erf(z[low]) - a[low]
    f[high] = c[high] - erfc(z[high])
    d = z * z
    xp.negative(d, out=d)
    xp.exp(d, out=d)
    d *= 2 / math.sqrt(math.pi)  # f' = 2/sqrt(pi) exp(-z^2); z -= f / (f' + z f)
    d += z * f
    xp.divide(f, d, out=f)
    return z - f


def _erfinv_core(xp: Any, a: Any, c: Any, single: bool = False, signed: Any = None) -> Any:
    """z >= 0 with erf(z) = a, given a in [0, 1] and c = 1 - a computed exactly by the caller; with
    ``signed`` (y with |y| = a), erfinv(y) instead: the sign of y, -0.0 kept (no copysign pass over
    all elements: the central form is a product with y). ``single``: the degree-12 polynomial for
    w < 6.25 (float32 results), not Giles' degree 22."""
    w = -xp.log(c * (1 + a))
    z = _horner(w - 3.125, _GILES_CENTRAL_SINGLE if single else _GILES_CENTRAL)
    z *= a if signed is None else signed
    edge = xp.flatnonzero(~(w < 6.25))  # 1 - a < 0.001 (and NaN): Giles' tail polynomials, or beyond them
    if edge.size:
        we, ae, ce = w[edge], a[edge], c[edge]
        root = xp.sqrt(we)
        ze = xp.where(we < 16, _horner(root - 3.25, _GILES_TAIL), _horner(root - 5, _GILES_FAR)) * ae
        far = xp.flatnonzero((ce >= 0) & (ce < _GILES_END))  # (a > 1: NaN from the log)
        if far.size:
            # erfc(z) ~ exp(-z^2) (1 - 1/(2 z^2)) / (z sqrt(pi)) = c by fixed point (~1e-3), then three
            # Halley steps on erfc (1e-3 -> 1e-9 -> 1e-27)
            af, cf = ae[far], ce[far]
            log_c = xp.log(xp.maximum(cf, 1e-320))
            zf = xp.sqrt(xp.maximum(-log_c, 1.0))
            for _ in range(3):
                zf = xp.sqrt(-log_c - xp.log(zf * math.sqrt(math.pi)) + xp.log1p(-0.5 / (zf * zf)))
            for _ in range(3):
                zf = _halley_erf(xp, zf, af, cf)
            ze[far] = xp.where(cf == 0, xp.inf, zf)
        z[edge] = ze if signed is None else xp.copysign(ze, signed[edge])
    return z  # (NaN for a > 1: log of a negative)


def _erfinv(xp: Any, y: Any, single: bool = False) -> Any:
    a = xp.abs(y)
    return _erfinv_core(xp, a, 1 - a, single, signed=y)  # (erfinv(-0.0) = -0.0)


def _erfinv_float32(xp: Any, y: Any) -> Any:
    """erfinv of a float32 piece: y P(l), l = log((1 - y)(1 + y)) in float32 (no abs: accurate for
    either sign; -0.0 kept by the product), P's Horner steps in float32 but the last, which with the
    product by y is float64 (~25 passes, 3 of them float64); returns float64. The m elements with
    1 - |y| < 0.001 (+-1, |y| > 1) by Giles' tail polynomial in float64."""
    t = 1 - y
    t *= 1 + y
    edge = xp.flatnonzero(t < _ERFINV_FLOAT32_EDGE)  # (NaN stays NaN on the main path)
    xp.log(t, out=t)
    z = xp.multiply(_horner(t, _ERFINV_FLOAT32[:-1]), t, dtype=np.float64)
    z += _ERFINV_FLOAT32[-1]
    z *= y
    if edge.size:  # (1 - |y| >= 2^-24 in float32: w <= 15.95, Giles' first tail polynomial; +-inf at +-1)
        ye = y[edge].astype(np.float64)
        root = xp.sqrt(-xp.log((1 - ye) * (1 + ye)))
        z[edge] = _horner(root - 3.25, _GILES_TAIL) * ye
    return z


def erfinv(y: Any) -> Any:
    """The inverse of erf on [-1, 1] elementwise: +-inf at +-1, NaN outside."""
    return _elementwise(y, _erfinv, by_precision=True, float32_kernel=_erfinv_float32)


def _ndtri(xp: Any, p: Any, single: bool = False) -> Any:
    lower = p < 0.5
    c = xp.where(lower, 2 * p, 2 * (1 - p))  # 1 - |2p - 1|: exact (Sterbenz) where it matters
    z = _erfinv_core(xp, 1 - c, c, single)
    z = _SQRT2 * xp.where(lower, -z, z)
    return xp.where((p < 0) | (p > 1), xp.nan, z)


def ndtri(p: Any) -> Any:
    """The standard normal quantile Phi^-1(p) on [0, 1] elementwise (-inf at 0, inf at 1)."""
    return _elementwise(p, _ndtri, by_precision=True)


def _log_ndtr(xp: Any, x: Any) -> Any:
    from .erf import erfc  # noqa: PLC0415  (Phi(x) = erfc(-x / sqrt 2) / 2: tail-accurate on a GPU too)

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
    return xp.where(xp.isnan(x), xp.nan, y)


def log_ndtr(x: Any) -> Any:
    """log Phi(x) elementwise, accurate in both tails."""
    return _elementwise(x, _log_ndtr)


def _clenshaw(xp: Any, t: Any, coeffs: tuple[float, ...]) -> Any:
    """Cephes' chbevl: sum' c_k T_k(t/2) by Clenshaw's recurrence (coefficients highest first), in
    place on three arrays: 3 passes a coefficient."""
    b0 = xp.full_like(t, coeffs[0])
    b1 = xp.zeros_like(t)
    b2 = xp.empty_like(t)
    for c in coeffs[1:]:
        xp.multiply(t, b0, out=b2)  # (b2's old value is no longer needed)
        b2 -= b1
        b2 += c
        b0, b1, b2 = b2, b0, b1
    b0 -= b2
    b0 *= 0.5
    return b0


def _bessel_i_far(xp: Any, ax: Any, nu: int, scaled: bool, single: bool = False) -> Any:
    """I_nu(ax) (times exp(-ax) if ``scaled``) for ax > 8: Cephes' Chebyshev series for
    e^-x sqrt(x) I_nu(x) in 32/x - 2 (25 terms; with ``single`` a degree-7 polynomial in 8/x instead,
    1.2e-10 relative, 16 passes against 77), over sqrt(x)."""
    if single:
        y = _horner(8 / ax, _BESSEL_FAR_SINGLE[nu])
    else:
        t = 32 / ax
        t -= 2
        y = _clenshaw(xp, t, _BESSEL_CHEB[nu])
    y /= xp.sqrt(ax)
    if scaled:
        return y
    return y * xp.exp(ax)  # (inf above ~709.8; NaN at inf, 0 * inf, as torch's)


def _bessel_i(xp: Any, x: Any, nu: int, scaled: bool, single: bool = False) -> Any:
    """I_nu(|x|) for nu in {0, 1} in float64, times exp(-|x|) if ``scaled``: the power series in
    (x/2)^2 by Horner (24 positive terms) for |x| <= 8, Cephes' Chebyshev series above. ``single``
    (float32 results): fitted polynomials of degree 10 in x^2 and 7 in 8/x, 2.9e-10 relative (~30
    passes on n, ~20 on m, against ~55 and ~80)."""
    ax = xp.abs(x)
    small = xp.minimum(ax, _BESSEL_CUT)
    q = small * small
    y = _horner(q, _BESSEL_SERIES_SINGLE[nu] if single else _BESSEL_SERIES[nu])
    if nu:  # I_1 is odd: times x (= +-small where the series holds), -0 taken as +0 (as torch's: its test is x < 0)
        y *= x
        y += 0.0
    if scaled:
        xp.negative(small, out=small)
        y *= xp.exp(small)
    big = xp.flatnonzero(ax > _BESSEL_CUT)
    if big.size:
        far = _bessel_i_far(xp, ax[big], nu, scaled, single)
        y[big] = xp.copysign(far, x[big]) if nu else far
    return y


def i0(x: Any) -> Any:
    """The modified Bessel function of the first kind, order 0, elementwise."""
    return _elementwise(x, lambda xp, v, single: _bessel_i(xp, v, 0, False, single), by_precision=True)


def i0e(x: Any) -> Any:
    """exp(-|x|) i0(x) elementwise (no overflow)."""
    return _elementwise(x, lambda xp, v, single: _bessel_i(xp, v, 0, True, single), by_precision=True)


def i1(x: Any) -> Any:
    """The modified Bessel function of the first kind, order 1 (odd), elementwise."""
    return _elementwise(x, lambda xp, v, single: _bessel_i(xp, v, 1, False, single), by_precision=True)


def i1e(x: Any) -> Any:
    """exp(-|x|) i1(x) elementwise."""
    return _elementwise(x, lambda xp, v, single: _bessel_i(xp, v, 1, True, single), by_precision=True)


# --- erfcx and the regularised incomplete gamma functions ---


def _erfcx(xp: Any, x: Any) -> Any:
    """exp(x^2) erfc(x) in float64 from Cody's rational functions (kernels/erf.py's coefficients),
    which give erfc(y) as exp(-y^2) R(y) for y > 0.46875: erfcx(y) = R(y) directly, no exp, no
    overflow. Near 0, exp(x^2) (1 - erf x); for x < -0.46875, 2 exp(x^2) - erfcx(-x) (exp(x^2) by
    exp(s^2) exp((x - s)(x + s)), s = x rounded to a sixteenth: s^2 exact), +inf below -26.64."""
    from .erf import _A, _B, _C, _D, _INV_SQRT_PI, _P, _Q, _THRESH, _poly  # noqa: PLC0415

    y = xp.abs(x)
    mid = xp.minimum(y, 4.0)
    r = _poly(mid, _C) / _poly(mid, _D, monic=True)
    far = xp.flatnonzero(y > 4)
    if far.size:
        t = 1 / (y[far] * y[far])  # (0 at y = inf: erfcx(inf) = 0)
        r[far] = (_INV_SQRT_PI - t * _poly(t, _P) / _poly(t, _Q, monic=True)) / y[far]
    near = xp.flatnonzero(y <= _THRESH)
    if near.size:
        xn = x[near]
        q = xn * xn
        r[near] = xp.exp(q) * (1 - xn * _poly(q, _A) / _poly(q, _B, monic=True))
    left = xp.flatnonzero(x < -_THRESH)
    if left.size:
        yl = xp.minimum(y[left], 27.0)  # (exp(729) is inf: erfcx(-inf) = inf)
        s = xp.floor(yl * 16) / 16
        r[left] = 2 * xp.exp(s * s) * xp.exp((yl - s) * (yl + s)) - r[left]
    return r


def erfcx(x: Any) -> Any:
    """The scaled complementary error function exp(x^2) erfc(x), elementwise; +inf below about
    -26.6, ~1/(x sqrt(pi)) for large x."""
    return _elementwise(x, _erfcx)


# Stirling's series for lgamma(a + 1) - ((a + 1/2) log a - a + log(2 pi)/2): B_2k / (2k (2k - 1)) / a^(2k-1)
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400)
_ATANH_ODD = tuple(1 / (2 * k + 3) for k in range(10))  # atanh(u) = u + u^3 (1/3 + u^2/5 + ...); |u| < 0.053: 1e-27
_GAMMAINC_LARGE_A = 10.0  # the prefactor's Stirling form from here on
_TINY = 1e-300


def _log_gamma_prefactor(xp: Any, a: Any, x: Any) -> Any:
    """log(x^a e^-x / Gamma(a)) for a, x > 0 (flat arrays of one shape). For a >= 10 through
    Stirling's series, a (log1p(t) - t) - log(2 pi a)/2 - stirling(a) + log a with t = (x - a)/a, which
    keeps a log x - x - lgamma(a) from cancelling (an absolute ~1e-16 sqrt(a) error, not 1e-16 a);
    each form on its own elements only."""
    large = a >= _GAMMAINC_LARGE_A
    big = xp.flatnonzero(large)
    if big.size == a.size:
        return _log_gamma_prefactor_large(xp, a, x)
    out = a * xp.log(x)
    out -= x
    out -= _lgamma(xp, a)
    if big.size:
        out[big] = _log_gamma_prefactor_large(xp, a[big], x[big])
    return out


def _log_gamma_prefactor_large(xp: Any, a: Any, x: Any) -> Any:
    """_log_gamma_prefactor's Stirling form, for a >= 10."""
    t = (x - a) / a
    log_ratio = xp.where(xp.abs(t) < 0.5, xp.log1p(t), xp.log(x / a))  # log(x / a), accurate either way
    # log1p(t) - t near t = 0 without cancelling: -u t + 2 (u^3/3 + u^5/5 + ...), u = t / (2 + t)
    u = t / (2 + t)
    near = -u * t + 2 * u**3 * _horner(u * u, _ATANH_ODD[::-1])
    inv2 = 1 / (a * a)
    series = _horner(inv2, _STIRLING[::-1]) / a
    log_term = xp.where(xp.abs(t) < 0.1, near, log_ratio - t)
    return a * log_term - 0.5 * xp.log(2 * math.pi * a) - series + xp.log(a)


def _gamma_terms(a_max: float, single: bool = False) -> int:
    """Pass count of the series (the fraction's: _fraction_steps): it converges like exp(-k^2 / 2a) at worst
    (x near a), so 40 + 9 sqrt(a) steps reach 1e-17 (a from the elements in that branch). Above
    a = 200 they only see |x - a| >= 0.3 a (Temme's expansion takes the rest), where 167 do.
    ``single``: 20 + 6 sqrt(a), for 2e-11."""
    root = math.sqrt(min(max(a_max, 0.0), _TEMME_MIN_A))
    return int(20 + 6 * root if single else 40 + 9 * root)


# Temme's uniform expansion (DLMF 8.12.3-8.12.4) for a > 200 and |x - a| < 0.3 a: 8 terms in 1/a,
# each a degree-24 polynomial in eta (|eta| < 0.34 there)
_TEMME_MIN_A = 200.0
_TEMME_WINDOW = 0.3
_TEMME_ROWS, _TEMME_COLS = 8, 25


@functools.cache
def _temme_coefficients() -> tuple[tuple[float, ...], ...]:
    """The Taylor coefficients in eta of Temme's c_k(eta), k < 8 (DLMF 8.12.8-8.12.10), computed
    exactly in fractions: mu = lambda - 1 as a series in eta (from eta^2 / 2 = mu - log(1 + mu):
    mu mu' = eta (1 + mu)), c_0 = 1/mu - 1/eta, c_k = c_(k-1)' / eta + (-1)^k g_k / mu, where
    g_k are Stirling's coefficients of Gamma*(a) = Gamma(a) / (sqrt(2 pi) a^(a - 1/2) e^-a)."""
    m = _TEMME_COLS + 2 * _TEMME_ROWS
    mu = [Fraction(0), Fraction(1)] + [Fraction(0)] * m  # mu = sum mu_n eta^n
    for n in range(2, m + 2):
        mixed = sum(mu[i] * (n + 1 - i) * mu[n + 1 - i] for i in range(2, n))
        mu[n] = (mu[n - 1] - mixed) / (n + 1)
    inv = [Fraction(1)] + [Fraction(0)] * m  # eta / mu
    for n in range(1, m + 1):
        inv[n] = -sum(mu[i + 1] * inv[n - i] for i in range(1, n + 1))
    c0 = inv[1:]  # 1/mu - 1/eta
    # log Gamma*(a) = sum_j B_2j / (2j (2j - 1)) a^(1 - 2j); g = its exponential, a series in 1/a
    log_g = [Fraction(0)] * _TEMME_ROWS
    for j, b2j in enumerate((Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30)), start=1):
        if 2 * j - 1 < _TEMME_ROWS:
            log_g[2 * j - 1] = b2j / (2 * j * (2 * j - 1))
    g = [Fraction(1)] + [Fraction(0)] * (_TEMME_ROWS - 1)  # g' = (log g)' g, term by term
    for n in range(1, _TEMME_ROWS):
        g[n] = sum(k * log_g[k] * g[n - k] for k in range(1, n + 1)) / n
    rows, c = [c0], c0
    for k in range(1, _TEMME_ROWS):
        c = [(n + 2) * c[n + 2] + (-1) ** k * g[k] * c0[n] for n in range(len(c) - 2)]
        rows.append(c)
    return tuple(tuple(float(v) for v in row[:_TEMME_COLS][::-1]) for row in rows)  # highest degree first


# log(1 + t) - t = t^2 sum_(k>=2) (-1)^(k+1) t^(k-2) / k, for |t| <= 0.3 (36 terms: 0.3^34 / 36 < 1e-19)
_LOG1PMX = tuple((-1) ** (k + 1) / k for k in range(37, 1, -1))


def _gamma_temme(xp: Any, a: Any, x: Any, upper: bool) -> Any:
    """Q(a, x) (P if not ``upper``) = 1/2 erfc(+-eta sqrt(a/2)) +- exp(-a eta^2 / 2) / sqrt(2 pi a)
    sum_k c_k(eta) / a^k, eta = sign(x - a) sqrt(2 (s - log(1 + s))), s = (x - a) / a (Temme's
    uniform expansion; no pass count growing with a). For a > 200, |s| < 0.3."""
    from .erf import erfc  # noqa: PLC0415

    s = (x - a) / a
    log1pmx = s * s * _horner(s, _LOG1PMX)  # log(1 + s) - s, no cancellation
    eta = xp.sign(s) * xp.sqrt(-2 * log1pmx)
    total = xp.zeros_like(x)
    for row in _temme_coefficients()[::-1]:  # Horner in 1/a over the c_k(eta)
        total = total / a + _horner(eta, row)
    sign = 1.0 if upper else -1.0
    return 0.5 * erfc(sign * eta * xp.sqrt(a / 2)) + sign * xp.exp(a * log1pmx) * total / xp.sqrt(2 * math.pi * a)


def _gamma_series(xp: Any, a: Any, x: Any, single: bool = False) -> Any:
    """P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n)), for x <= max(a, 1).
    ``single`` (float32 results): 20 + 6 sqrt(a) terms (2e-11 relative; measured need <= 16 + 6 sqrt(a))."""
    term = xp.ones_like(x)
    total = xp.ones_like(x)
    den = a.copy()
    for _ in range(_gamma_terms(float(xp.max(a)) if a.size else 0.0, single)):
        den += 1
        term *= x
        term /= den
        total += term
    return xp.exp(_log_gamma_prefactor(xp, a, x)) * total / a


# the continued fraction's step counts (its elements grouped by the count they need)
_FRACTION_STEPS = (16, 24, 32, 48, 64, 96, 128, 167)
_FRACTION_SINGLE = 0.4  # float32 results: this fraction of the steps (a >= 1)


def _fraction_steps(xp: Any, a: Any, x: Any, single: bool = False) -> Any:
    """An upper bound on the steps the continued fraction needs for 1e-16 at each (a, x), x > max(a, 1):
    1.15 (16 + 120 / x + 9 sqrt(a) / r^2), r = x / max(a, 1), fit to the counts measured on 6800
    points over a = 1e-6 .. 200, r - 1 = 1e-10 .. 300 (the worst needs 98% of the bound without the
    1.15; ~100 steps for small a next to x = 1, ~40 at x = a = 200, fewer further out); 167 above a =
    200 (x >= 1.3 a there). ``single`` (float32 results): 0.4 times that for a >= 1 (2e-11 relative
    needs <= 0.32 times it, on 6000 points over the same ranges), where Q <= ~1/2 and so P = 1 - Q keeps that accuracy
    too; the full count below (Q -> 1 as a -> 0: P = 1 - Q needs Q to 1e-16)."""
    r = x / xp.maximum(a, 1.0)
    steps = 9 * xp.sqrt(xp.minimum(a, _TEMME_MIN_A)) / (r * r) + 120 / x
    steps += 16
    steps *= 1.15
    if single:
        steps *= xp.where(a >= 1, _FRACTION_SINGLE, 1.0)
    return xp.where(a > _TEMME_MIN_A, float(_FRACTION_STEPS[-1]), steps)


def _fraction_approximant(xp: Any, a: Any, x: Any, n: int) -> Any:
    """The n-th approximant of b_0 + a_1 / (b_1 + a_2 / (b_2 + ...)), b_i = x + 1 - a + 2 i,
    a_i = -i (i - a), evaluated backward from its last term: 5 in-place passes a step."""
    base = x + 1
    base -= a
    tail = base + 2 * n
    an = xp.empty_like(x)
    for i in range(n, 0, -1):
        xp.subtract(i, a, out=an)
        an *= -i
        xp.divide(an, tail, out=tail)
        tail += base
        if i > 1:
            tail += 2 * (i - 1)
    return tail


def _gamma_fraction(xp: Any, a: Any, x: Any, single: bool = False) -> Any:
    """Q(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...)) for
    x > max(a, 1): each element's approximant with the step count (of _FRACTION_STEPS) that it needs
    (_fraction_steps), the elements of each count on their own. Evaluated backward (Lentz's forward
    form gives the same approximant in 10 passes a step). The backward tails stay >= 1 for
    x > max(a, 1) (measured over a = 1e-6 .. 200, x / max(a, 1) - 1 = 1e-14 .. 1e4, and a up to 1e12
    at x >= 1.3 a, the only fractions above a = 200, with these step counts): no division by ~0.
    ``single``: fewer steps (float32 results; _fraction_steps)."""
    steps = _fraction_steps(xp, a, x, single)
    den = xp.empty_like(x)
    lower = 0.0
    for n in _FRACTION_STEPS:
        group = steps > lower if n == _FRACTION_STEPS[-1] else (steps > lower) & (steps <= n)
        idx = xp.flatnonzero(group)
        if idx.size == x.size:
            den = _fraction_approximant(xp, a, x, n)
        elif idx.size:
            den[idx] = _fraction_approximant(xp, a[idx], x[idx], n)
        lower = float(n)
    return xp.exp(_log_gamma_prefactor(xp, a, x)) / den


# log Gamma(1 + a) = -gamma a + sum_(k>=2) (-1)^k zeta(k) a^k / k for |a| < 1 (here a <= 1/2: 40 terms)
_LGAM1P = tuple((-1) ** k * float(zeta(np.float64(k), np.float64(1.0))) / k for k in range(40, 1, -1))
_EULER = 0.57721566490153286061


def _lgamma1p(xp: Any, a: Any) -> Any:
    """log Gamma(1 + a) for 0 < a, accurate for small a too (1 + a would round away its bits)."""
    small = a * (_horner(a, _LGAM1P) * a - _EULER)
    return xp.where(a <= 0.5, small, _lgamma(xp, 1 + a))


def _gamma_upper_series(xp: Any, a: Any, x: Any) -> Any:
    """Q(a, x) for x < 1.1 and small a (Cephes' igamc_series): 1 - x^a / Gamma(a + 1) + x^a / Gamma(a)
    sum_(n>=1) (-x)^n / (n! (a + n)), with 1 - x^a / Gamma(a + 1) as -expm1: no cancellation for
    tiny a (where Q = 1 - P would lose it). 25 terms (1.1^25 / 25! < 1e-24)."""
    fac = xp.ones_like(x)
    total = xp.zeros_like(x)
    for n in range(1, 26):
        fac *= -x / n
        total += fac / (a + n)
    log_power = a * xp.log(x) - _lgamma1p(xp, a)  # log(x^a / Gamma(a + 1))
    return -xp.expm1(log_power) - a * xp.exp(log_power) * total


def _gammainc(xp: Any, a: Any, x: Any, upper: bool, single: bool = False) -> Any:
    """P(a, x) (or Q = 1 - P if ``upper``) on flat float64 a, x of one shape; torch's edge values.
    The branches (Cephes' choice): Q by its own series for x < 1.1 and a small (below -0.4 / log x
    for x < 1/2, 0.75 x below 1.1), Q by the continued fraction for x > max(a, 1), P by the series
    elsewhere; the other one as the complement. ``single``: the series and the fraction sized for
    float32 results (2e-11 relative)."""
    inside = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x)
    with np.errstate(all="ignore"):
        small_a = xp.where(x < 0.5, a <= -0.4 / xp.log(x), a <= 0.75 * x)
    upper_series = inside & (x < 1.1) & small_a
    temme = inside & (a > _TEMME_MIN_A) & (xp.abs(x - a) < _TEMME_WINDOW * a)
    frac = inside & ~upper_series & ~temme & (x > 1) & (x > a)
    lower = inside & ~upper_series & ~temme & ~frac
    out = xp.empty_like(x)
    idx = xp.flatnonzero(temme)
    if idx.size:
        out[idx] = _gamma_temme(xp, a[idx], x[idx], upper)
    for idx, method in ((xp.flatnonzero(lower), 0), (xp.flatnonzero(frac), 1), (xp.flatnonzero(upper_series), 2)):
        if not idx.size:
            continue
        ai, xi = a[idx], x[idx]
        if method:
            q = _gamma_fraction(xp, ai, xi, single) if method == 1 else _gamma_upper_series(xp, ai, xi)
            out[idx] = q if upper else 1 - q
        else:
            p = _gamma_series(xp, ai, xi, single)
            out[idx] = 1 - p if upper else p
    # edges: torch's tests in its order (Q = 1 - P): NaN if x < 0 or a < 0; a = 0: P = 1 for x > 0
    # (else NaN); x = 0: P = 0; a = inf: NaN at x = inf, else P = 0; x = inf: P = 1; any other NaN
    # input: NaN. So P(nan, 0) = 0, P(nan, inf) = 1, P(inf, nan) = 0 (a NaN that is never read).
    nan = xp.nan
    p_edge = xp.where(
        xp.isinf(a), xp.where(xp.isinf(x), nan, 0.0), xp.where(xp.isinf(x), 1.0, nan)
    )  # (a or x infinite, or a NaN)
    p_edge = xp.where(a == 0, xp.where(x > 0, 1.0, nan), xp.where(x == 0, 0.0, p_edge))
    p_edge = xp.where((x < 0) | (a < 0), nan, p_edge)
    return xp.where(inside, out, 1 - p_edge if upper else p_edge)


def gammainc_density(a: Any, x: Any) -> Any:
    """dP/dx = x^(a-1) e^-x / Gamma(a) elementwise on broadcast a, x, in float64: torch's formula
    exp((a - 1) log x - x - lgamma(a)) (its edge values: x = 0, inf, NaN, a <= 0), except for
    a >= 10 and 0 < x < inf, where the exponent is _log_gamma_prefactor(a, x) - log x: torch's
    loses ~a eps (relative) there in the cancellation of a log x against x + lgamma(a)."""
    xp = get_array_module(a, x)
    a, x = xp.broadcast_arrays(xp.asarray(a, dtype=np.float64), xp.asarray(x, dtype=np.float64))
    with np.errstate(all="ignore"):
        torch_form = (a - 1) * xp.log(x) - x - _lgamma(xp, a.reshape(-1)).reshape(a.shape)
        large = (a >= _GAMMAINC_LARGE_A) & (x > 0) & (x < xp.inf)
        stable = _log_gamma_prefactor(xp, a.reshape(-1), x.reshape(-1)).reshape(a.shape) - xp.log(x)
        return xp.exp(xp.where(large, stable, torch_form))


def gammainc(a: Any, x: Any, upper: bool = False, single: bool = False) -> Any:
    """The regularised lower incomplete gamma function P(a, x) = gamma(a, x) / Gamma(a) (or the
    upper Q(a, x) = 1 - P if ``upper``), elementwise on broadcast a and x, in float64 (caller casts).
    The series for x <= max(a, 1), the continued fraction above, Temme's expansion for large a
    next to x = a: fixed pass counts, at most 167. ``single``: for a float32 result (the series and
    the fraction to 2e-11 relative, fewer steps; keep False where the result feeds a difference)."""
    xp = get_array_module(a, x)
    a, x = xp.broadcast_arrays(xp.asarray(a, dtype=np.float64), xp.asarray(x, dtype=np.float64))
    flat_a, flat_x = a.reshape(-1), x.reshape(-1)
    step = _CHUNK if xp is np else max(flat_a.size, 1)  # (NumPy: cache-sized pieces, as _elementwise's)
    out = xp.empty(flat_a.shape)
    with np.errstate(all="ignore"):
        for start in range(0, flat_a.size, step):
            piece = slice(start, start + step)
            out[piece] = _gammainc(xp, flat_a[piece], flat_x[piece], upper, single)
    return out.reshape(a.shape)
