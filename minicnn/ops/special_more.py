"""The rest of torch.special as ops: erfcx, the Hurwitz zeta, the regularised incomplete gamma
functions (gammainc / gammaincc, torch.igamma / igammac), the Bessel functions (J0, J1, Y0, Y1,
I0, I1, K0, K1, the scaled K0 / K1, spherical j0), the Airy function Ai and the orthogonal
polynomials (Chebyshev T/U/V/W and shifted, Hermite H/He, Laguerre, Legendre).

Forward values come from minicnn/kernels/special.py, bessel.py and polynomials.py; each op's
derivative sits beside it, in arrays (``backward``) and in ops (``backward_graph``, higher orders).
Dtypes: integer and bool inputs give the default float dtype; two inputs promote as torch's.
Shapes: elementwise, broadcasting for the two-input functions.

Derivatives, where torch has them, as torch's: erfcx; gammainc / gammaincc with respect to
``other`` (x), exp(-x) x^(a-1) / Gamma(a) (torch's values; for a >= 10 computed in log space from
the prefactor of kernels/special.py, accurate where torch's formula loses ~a eps); zeta with
respect to ``other`` (q), -s zeta(s + 1, q) (with respect to ``input``: NotImplementedError,
torch's words). Beyond torch: the Bessel
functions' closed forms (torch's have no gradient): J0' = -J1, J1' = J0 - J1/x, Y0' = -Y1,
Y1' = Y0 - Y1/x, K0' = -K1, K1' = -K0 - K1/x, the scaled K0e' = K0e - K1e, K1e' = K1e - K0e - K1e/x,
j0' = (cos x - j0)/x. airy_ai and the polynomials give results without a gradient (constants), as
torch's do.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import bessel as KB
from ..kernels import polynomials as KP
from ..kernels import special as K
from .math import _floating, _promote, cos, log, unbroadcast, where
from .special_math import digamma, i0, i1

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
# J1'(x) = 1/2 - 3 x^2 / 16 + ... is 1/2 in float64 below this; J0 - J1/x is not among subnormals
# (J1(5e-324) rounds to 0: 1 for 1/2)
_J1_FLAT = 1e-150


class Erfcx(Function):
    """exp(x^2) erfc(x); d/dx = 2 x erfcx(x) - 2/sqrt(pi)."""

    def forward(self, x):
        y = K.erfcx(x)
        if self.requires_grad:
            self.x, self.y = x, y
        return y

    def backward(self, gy):
        return gy * (2 * self.x * self.y - _TWO_OVER_SQRT_PI)

    def backward_graph(self, gy, x):
        return gy * (2 * x * Erfcx.apply(x) - _TWO_OVER_SQRT_PI)


class Zeta(Function):
    """The Hurwitz zeta(s, q) on broadcast s, q; d/dq = -s zeta(s + 1, q), d/ds not implemented."""

    def forward(self, s, q):
        if self.requires_grad:
            self.s, self.q = s, q
        xp = backend.get_array_module(s, q)
        y = K.zeta(s, q)
        y = xp.where((q == xp.inf) & ~(s <= 1), xp.nan, y)  # (torch's, Cephes': its sum is 0/0 there; s <= 1 first)
        return y.astype(s.dtype, copy=False)

    def _refuse_s(self) -> None:
        if self.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")  # (torch's words)

    def backward(self, gy):
        self._refuse_s()
        d = -self.s * K.zeta(self.s + 1, self.q).astype(gy.dtype, copy=False)
        return None, unbroadcast(gy * d, self.q.shape)

    def backward_graph(self, gy, s, q):
        self._refuse_s()
        return None, unbroadcast(gy * (-s * Zeta.apply(s + 1, q)), q.shape)


class Gammainc(Function):
    """P(a, x) (``upper``: Q(a, x) = 1 - P); d/dx P = x^(a-1) e^-x / Gamma(a) = -d/dx Q
    (:class:`GammaincDensity`); d/da not implemented (torch's neither)."""

    def forward(self, a, x):
        if self.requires_grad:
            self.a, self.x = a, x
        single = a.dtype.itemsize < 8  # (a float32 result: the shorter series and fraction)
        return K.gammainc(a, x, upper=self.upper, single=single).astype(a.dtype, copy=False)

    def _refuse_a(self) -> None:
        if self.needs_input_grad[0]:
            raise NotImplementedError(  # (torch's words and type, a RuntimeError subclass)
                f"the derivative for '{'igammac' if self.upper else 'igamma'}: input' is not implemented."
            )

    def backward(self, gy):
        self._refuse_a()
        d = K.gammainc_density(self.a, self.x).astype(gy.dtype, copy=False)
        return None, unbroadcast(gy * (-d if self.upper else d), self.x.shape)

    def backward_graph(self, gy, a, x):
        self._refuse_a()
        d = GammaincDensity.apply(a, x)
        return None, unbroadcast(gy * (-d if self.upper else d), x.shape)


class GammaincDensity(Function):
    """d = x^(a-1) e^-x / Gamma(a) on broadcast a, x: torch's formula exp((a - 1) log x - x -
    lgamma(a)) and its values, but accurate for large a (K.gammainc_density); its derivatives
    are those of torch's formula: d/dx = d ((a - 1)/x - 1), d/da = d (log x - digamma(a))."""

    def forward(self, a, x):
        y = K.gammainc_density(a, x).astype(a.dtype, copy=False)
        if self.requires_grad:
            self.a, self.x, self.y = a, x, y
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        a, x, gd = self.a, self.x, gy * self.y
        with np.errstate(all="ignore"):
            ga = gd * (xp.log(x) - K.digamma(a)) if self.needs_input_grad[0] else None
            gx = gd * ((a - 1) / x - 1) if self.needs_input_grad[1] else None
        return (
            None if ga is None else unbroadcast(ga, a.shape),
            None if gx is None else unbroadcast(gx, x.shape),
        )

    def backward_graph(self, gy, a, x):
        gd = gy * GammaincDensity.apply(a, x)
        ga = unbroadcast(gd * (log(x) - digamma(a)), a.shape) if self.needs_input_grad[0] else None
        gx = unbroadcast(gd * ((a - 1) / x - 1), x.shape) if self.needs_input_grad[1] else None
        return ga, gx


_BESSEL_KERNELS = {
    "j0": KB.j0,
    "j1": KB.j1,
    "y0": KB.y0,
    "y1": KB.y1,
    "k0": KB.k0,
    "k1": KB.k1,
    "k0e": KB.k0e,
    "k1e": KB.k1e,
}


class Bessel(Function):
    """J0, J1, Y0, Y1, K0, K1, K0e, K1e (``kind``), with the closed-form derivatives of the module
    docstring (order 1 at x = 0: J1'(0) = 1/2; Y1, K1 are infinite there)."""

    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return _BESSEL_KERNELS[self.kind](x)

    def _derivative(self, x: Any, f: Any, over_x: Any) -> Any:
        """The derivative from the values f(kind) of the family (arrays or Tensors)."""
        k = self.kind
        if k in ("j0", "y0", "k0"):
            return -f(k[0] + "1")
        if k == "k0e":
            return f("k0e") - f("k1e")
        if k in ("j1", "y1"):
            return f(k[0] + "0") - over_x(f(k))
        if k == "k1":
            return -f("k0") - over_x(f("k1"))
        return f("k1e") - f("k0e") - over_x(f("k1e"))

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x = self.x

        with np.errstate(all="ignore"):
            d = self._derivative(x, lambda k: _BESSEL_KERNELS[k](x), lambda v: v / xp.where(x == 0, 1, x))
        if self.kind == "j1":
            d = xp.where(xp.abs(x) < _J1_FLAT, 0.5, d)  # J1'(0) = 1/2 (J0 - J1/x at the limit)
        return gy * d.astype(gy.dtype, copy=False)

    def backward_graph(self, gy, x):
        zero = x.array == 0

        def over_x(v):
            return v / where(zero, 1.0, x)

        d = self._derivative(x, lambda k: Bessel.apply(x, kind=k), over_x)
        if self.kind == "j1":
            d = where(backend.get_array_module(x.array).abs(x.array) < _J1_FLAT, 0.5, d)
        return gy * d


# d/dx sin(x)/x = sum_(k>=1) (-1)^k 2k x^(2k-1) / (2k+1)!, as x (c1 + c2 x^2 + ...), k <= 7
_DJ0_TAYLOR = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 8))


class SphericalJ0(Function):
    """sin(x)/x; d/dx = (cos x - j0(x)) / x, by its Taylor series for |x| < 1/2 (0 at 0)."""

    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return KB.spherical_j0(x)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x = self.x
        small = xp.abs(x) < 0.5
        safe = xp.where(small, 1.0, x)
        t = x * x
        series = 0.0
        for c in _DJ0_TAYLOR[::-1]:
            series = series * t + c
        with np.errstate(all="ignore"):
            d = xp.where(small, x * series, (xp.cos(safe) - KB.spherical_j0(safe)) / safe)
            d = xp.where(xp.isinf(x), 0.0, d)
        return gy * d.astype(gy.dtype, copy=False)

    def backward_graph(self, gy, x):
        small = backend.get_array_module(x.array).abs(x.array) < 0.5
        safe = where(small, 1.0, x)
        t = x * x
        series = _DJ0_TAYLOR[-1]
        for c in _DJ0_TAYLOR[-2::-1]:
            series = series * t + c
        d = where(small, x * series, (cos(safe) - SphericalJ0.apply(safe)) / safe)
        return gy * d


def _constant(array: Any) -> Tensor:
    """A result without a gradient (torch's airy_ai and polynomials have none)."""
    return Tensor(array)


def erfcx(input: Tensor) -> Tensor:
    """The scaled complementary error function exp(x^2) erfc(x), accurate for large x."""
    return Erfcx.apply(_floating(input))


def zeta(input: Any, other: Any) -> Tensor:
    """The Hurwitz zeta function sum_k (k + other)^-input, broadcasting (torch.special.zeta)."""
    s, q = _promote(input, other, floating=True)
    return Zeta.apply(s, q)


def gammainc(input: Any, other: Any) -> Tensor:
    """The regularised lower incomplete gamma function P(input, other) (a = input, x = other)."""
    a, x = _promote(input, other, floating=True)
    return Gammainc.apply(a, x, upper=False)


def gammaincc(input: Any, other: Any) -> Tensor:
    """The regularised upper incomplete gamma function Q(input, other) = 1 - P(input, other)."""
    a, x = _promote(input, other, floating=True)
    return Gammainc.apply(a, x, upper=True)


igamma, igammac = gammainc, gammaincc


def _bessel(input: Tensor, kind: str) -> Tensor:
    return Bessel.apply(_floating(input), kind=kind)


def bessel_j0(input: Tensor) -> Tensor:
    """The Bessel function of the first kind, order 0."""
    return _bessel(input, "j0")


def bessel_j1(input: Tensor) -> Tensor:
    """The Bessel function of the first kind, order 1."""
    return _bessel(input, "j1")


def bessel_y0(input: Tensor) -> Tensor:
    """The Bessel function of the second kind, order 0 (NaN for x < 0)."""
    return _bessel(input, "y0")


def bessel_y1(input: Tensor) -> Tensor:
    """The Bessel function of the second kind, order 1 (NaN for x < 0)."""
    return _bessel(input, "y1")


def modified_bessel_i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind, order 0 (torch.i0)."""
    return i0(input)


def modified_bessel_i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind, order 1 (torch.special.i1)."""
    return i1(input)


def modified_bessel_k0(input: Tensor) -> Tensor:
    """The modified Bessel function of the second kind, order 0 (NaN for x < 0)."""
    return _bessel(input, "k0")


def modified_bessel_k1(input: Tensor) -> Tensor:
    """The modified Bessel function of the second kind, order 1 (NaN for x < 0)."""
    return _bessel(input, "k1")


def scaled_modified_bessel_k0(input: Tensor) -> Tensor:
    """exp(x) K0(x)."""
    return _bessel(input, "k0e")


def scaled_modified_bessel_k1(input: Tensor) -> Tensor:
    """exp(x) K1(x)."""
    return _bessel(input, "k1e")


def spherical_bessel_j0(input: Tensor) -> Tensor:
    """The spherical Bessel function of the first kind, order 0: sin(x)/x."""
    return SphericalJ0.apply(_floating(input))


def airy_ai(input: Tensor) -> Tensor:
    """The Airy function Ai(x) (no gradient, as torch's)."""
    x = _floating(input)
    with np.errstate(all="ignore"), backend.array_scope(x.array):  # inf/nan arise quietly, as in torch
        return _constant(KB.airy_ai(x.array))


def _polynomial(kernel: Any, input: Any, n: Any) -> Tensor:
    x, deg = _promote(input, n, floating=True)
    with np.errstate(all="ignore"), backend.array_scope(x.array):  # (overflow to inf/nan at large n)
        return _constant(kernel(x.array, deg.array))


def chebyshev_polynomial_t(input: Any, n: Any) -> Tensor:
    """Chebyshev polynomials of the first kind T_n(input) (no gradient, as torch's)."""
    return _polynomial(KP.chebyshev_t, input, n)


def chebyshev_polynomial_u(input: Any, n: Any) -> Tensor:
    """Chebyshev polynomials of the second kind U_n(input)."""
    return _polynomial(KP.chebyshev_u, input, n)


def chebyshev_polynomial_v(input: Any, n: Any) -> Tensor:
    """Chebyshev polynomials of the third kind V_n(input)."""
    return _polynomial(KP.chebyshev_v, input, n)


def chebyshev_polynomial_w(input: Any, n: Any) -> Tensor:
    """Chebyshev polynomials of the fourth kind W_n(input)."""
    return _polynomial(KP.chebyshev_w, input, n)


def shifted_chebyshev_polynomial_t(input: Any, n: Any) -> Tensor:
    """T_n(2 input - 1)."""
    return _polynomial(KP.shifted_chebyshev_t, input, n)


def shifted_chebyshev_polynomial_u(input: Any, n: Any) -> Tensor:
    """U_n(2 input - 1)."""
    return _polynomial(KP.shifted_chebyshev_u, input, n)


def shifted_chebyshev_polynomial_v(input: Any, n: Any) -> Tensor:
    """V_n(2 input - 1)."""
    return _polynomial(KP.shifted_chebyshev_v, input, n)


def shifted_chebyshev_polynomial_w(input: Any, n: Any) -> Tensor:
    """W_n(2 input - 1)."""
    return _polynomial(KP.shifted_chebyshev_w, input, n)


def hermite_polynomial_h(input: Any, n: Any) -> Tensor:
    """Physicists' Hermite polynomials H_n(input)."""
    return _polynomial(KP.hermite_h, input, n)


def hermite_polynomial_he(input: Any, n: Any) -> Tensor:
    """Probabilists' Hermite polynomials He_n(input)."""
    return _polynomial(KP.hermite_he, input, n)


def laguerre_polynomial_l(input: Any, n: Any) -> Tensor:
    """Laguerre polynomials L_n(input)."""
    return _polynomial(KP.laguerre_l, input, n)


def legendre_polynomial_p(input: Any, n: Any) -> Tensor:
    """Legendre polynomials P_n(input)."""
    return _polynomial(KP.legendre_p, input, n)
