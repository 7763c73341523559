"""torch's special functions as differentiable ops: erf, erfc, erfinv, lgamma, digamma,
polygamma, the Bessel functions i0/i0e/i1/i1e, ndtri, log_ndtr, sinc and the inverse
hyperbolic functions.

Forward values come from the kernels (minicnn/kernels/erf.py, special.py); each op's derivative
sits beside it, in arrays (``backward``) and in ops (``backward_graph``, for higher orders).
Integer and bool inputs give float32, as in torch. Shapes: any; the result has the input's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor
from ..kernels import erf as erf_kernels
from ..kernels import special as K
from .errors import ShapeError
from .math import _floating, abs, cos, exp, sin, sqrt, where

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2
_SQRT_2PI = math.sqrt(2 * math.pi)
_SERIES_BELOW = 0.1  # |x| (sinc: |pi x|) under which a derivative is taken from its Taylor series


def _i1_prime_series(x: Any) -> Any:
    """i1'(x) = i0(x) - i1(x)/x = sum_k (2k+1) (x/2)^(2k) / (2 k! (k+1)!), to x^8 (exact to
    rounding for |x| < 0.1), on arrays or tensors: no cancellation, so its derivative is right too."""
    x2 = x * x
    return 0.5 + x2 * (3 / 16 + x2 * (5 / 384 + x2 * (7 / 18432 + x2 * (9 / 1474560))))


def _sinc_prime_series(x: Any) -> Any:
    """sinc'(x) = pi f'(pi x), f(t) = sin(t)/t, to t^9 (exact to rounding for |t| < 0.1)."""
    t = math.pi * x
    t2 = t * t
    return (math.pi * t) * (-1 / 3 + t2 * (1 / 30 + t2 * (-1 / 840 + t2 * (1 / 45360 + t2 * (-1 / 3991680)))))


class Erf(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return erf_kernels.erf(x)

    def backward(self, gy):  # d erf = 2/sqrt(pi) exp(-x^2)
        return gy * (_TWO_OVER_SQRT_PI * backend.get_array_module(gy).exp(-self.x * self.x))

    def backward_graph(self, gy, x):
        return gy * (_TWO_OVER_SQRT_PI * exp(-x * x))


class Erfc(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return erf_kernels.erfc(x)

    def backward(self, gy):  # d erfc = -2/sqrt(pi) exp(-x^2)
        return gy * (-_TWO_OVER_SQRT_PI * backend.get_array_module(gy).exp(-self.x * self.x))

    def backward_graph(self, gy, x):
        return gy * (-_TWO_OVER_SQRT_PI * exp(-x * x))


class Erfinv(Function):
    def forward(self, x):
        y = K.erfinv(x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy):  # d erfinv = sqrt(pi)/2 exp(erfinv(x)^2)
        return gy * (_SQRT_PI_OVER_2 * backend.get_array_module(gy).exp(self.y * self.y))

    def backward_graph(self, gy, x):
        y = Erfinv.apply(x)
        return gy * (_SQRT_PI_OVER_2 * exp(y * y))


class Ndtri(Function):
    def forward(self, x):
        y = K.ndtri(x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy):  # d Phi^-1(p) = sqrt(2 pi) exp(z^2 / 2), z = Phi^-1(p)
        return gy * (_SQRT_2PI * backend.get_array_module(gy).exp(0.5 * self.y * self.y))

    def backward_graph(self, gy, x):
        y = Ndtri.apply(x)
        return gy * (_SQRT_2PI * exp(0.5 * y * y))


class LogNdtr(Function):
    def forward(self, x):
        y = K.log_ndtr(x)
        if self.requires_grad:
            self.x, self.y = x, y
        return y

    def backward(self, gy):  # d log Phi = phi / Phi = exp(-x^2/2 - log Phi) / sqrt(2 pi)
        xp = backend.get_array_module(gy)
        return gy * (xp.exp(-0.5 * self.x * self.x - self.y) / _SQRT_2PI)

    def backward_graph(self, gy, x):
        return gy * (exp(-0.5 * x * x - LogNdtr.apply(x)) / _SQRT_2PI)


class Polygamma(Function):
    """psi^(n)(x), the n-th derivative of digamma (n = 0: digamma); lgamma is ``n = -1``.
    d/dx psi^(n) = psi^(n+1)."""

    def forward(self, x):
        if self.requires_grad:
            self.x = x
        if self.n < 0:
            return K.lgamma(x)
        return K.polygamma(self.n, x)

    def backward(self, gy):
        return gy * K.polygamma(self.n + 1, self.x).astype(gy.dtype, copy=False)

    def backward_graph(self, gy, x):
        return gy * Polygamma.apply(x, n=self.n + 1)


class Bessel(Function):
    """i0, i0e, i1, i1e (``order`` 0/1, ``scaled``: times exp(-|x|)). Derivatives:
    i0' = i1, i1' = i0 - i1/x (1/2 at 0), and for the scaled ones minus sign(x) times the value."""

    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return (K.i1e if self.order else K.i0e)(x) if self.scaled else (K.i1 if self.order else K.i0)(x)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x = self.x
        f0 = (K.i0e if self.scaled else K.i0)(x)
        f1 = (K.i1e if self.scaled else K.i1)(x)
        if self.order == 0:
            d = f1
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                d = xp.where(x == 0, 0.5, f0 - f1 / xp.where(x == 0, 1, x))
        if self.scaled:
            d = d - xp.sign(x) * (f1 if self.order else f0)
        return gy * d.astype(gy.dtype, copy=False)

    def backward_graph(self, gy, x):
        f0 = Bessel.apply(x, order=0, scaled=self.scaled)
        f1 = Bessel.apply(x, order=1, scaled=self.scaled)
        if self.order == 0:
            d = f1
        else:  # i0 - i1/x loses the digits of its derivative near 0 (inf at tiny x): the series there
            small = backend.get_array_module(x.array).abs(x.array) < _SERIES_BELOW
            xs = where(small, x, 0.0)  # (the series of a huge x would overflow, and NaN its gradient)
            near = _i1_prime_series(xs) * exp(-abs(xs)) if self.scaled else _i1_prime_series(xs)
            d = where(small, near, f0 - f1 / where(small, 1.0, x))
        if self.scaled:
            d = d - Tensor(backend.get_array_module(x.array).sign(x.array)) * (f1 if self.order else f0)
        return gy * d


class Sinc(Function):
    """sin(pi x) / (pi x), 1 at 0; d/dx = (cos(pi x) - sinc(x)) / x, from its Taylor series for
    |pi x| < 0.1 (the formula cancels there): 0 at 0, and the second derivative -pi^2/3 there, where
    torch's is NaN."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.x = x
        with np.errstate(divide="ignore", invalid="ignore"):
            px = math.pi * x
            return xp.where(x == 0, 1.0, xp.sin(px) / xp.where(x == 0, 1.0, px)).astype(x.dtype, copy=False)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x = self.x
        small = xp.abs(x) < _SERIES_BELOW / math.pi
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = xp.where(small, 1.0, x)
            d = (xp.cos(math.pi * safe) - xp.sin(math.pi * safe) / (math.pi * safe)) / safe
        return gy * xp.where(small, _sinc_prime_series(xp.where(small, x, 0.0)), d).astype(gy.dtype, copy=False)

    def backward_graph(self, gy, x):
        small = backend.get_array_module(x.array).abs(x.array) < _SERIES_BELOW / math.pi
        safe = where(small, 1.0, x)
        d = (cos(math.pi * safe) - sin(math.pi * safe) / (math.pi * safe)) / safe
        return gy * where(small, _sinc_prime_series(where(small, x, 0.0)), d)


class InverseHyperbolic(Function):
    """asinh, acosh, atanh: d/dx = 1/sqrt(x^2 + 1), 1/sqrt(x^2 - 1), 1/(1 - x^2)."""

    def forward(self, x):
        if self.requires_grad:
            self.x = x
        with np.errstate(divide="ignore", invalid="ignore"):
            return getattr(backend.get_array_module(x), "arc" + self.op[1:])(x)

    def _derivative(self, x: Any, root: Any) -> Any:
        if self.op == "asinh":
            return 1 / root(x * x + 1)
        if self.op == "acosh":
            return 1 / root(x * x - 1)
        return 1 / (1 - x * x)

    def backward(self, gy):
        with np.errstate(divide="ignore", invalid="ignore"):
            return gy * self._derivative(self.x, backend.get_array_module(gy).sqrt)

    def backward_graph(self, gy, x):
        return gy * self._derivative(x, sqrt)


def erf(input: Tensor) -> Tensor:
    """The error function elementwise."""
    return Erf.apply(_floating(input))


def erfc(input: Tensor) -> Tensor:
    """1 - erf(input), accurate for large input."""
    return Erfc.apply(_floating(input))


def erfinv(input: Tensor) -> Tensor:
    """The inverse error function on [-1, 1] (+-inf at +-1, NaN outside)."""
    return Erfinv.apply(_floating(input))


def ndtri(input: Tensor) -> Tensor:
    """The standard normal quantile function (inverse of ndtr) on [0, 1]."""
    return Ndtri.apply(_floating(input))


def log_ndtr(input: Tensor) -> Tensor:
    """log of the standard normal CDF, accurate in both tails."""
    return LogNdtr.apply(_floating(input))


def lgamma(input: Tensor) -> Tensor:
    """log |Gamma(input)| elementwise (+inf at the poles 0, -1, -2, ...)."""
    return Polygamma.apply(_floating(input), n=-1)


def digamma(input: Tensor) -> Tensor:
    """psi(input) = d/dx lgamma elementwise (-inf at 0, NaN at negative integers, as torch)."""
    return Polygamma.apply(_floating(input), n=0)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma elementwise, n >= 0 (torch's argument order)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"polygamma(n, x) does not support negative n, got n = {n}")
    return Polygamma.apply(_floating(input), n=int(n))


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma: sum_{j<p} lgamma(input - j/2) + p(p-1)/4 log(pi). Its domain
    is input > (p - 1)/2; like torch 2.x, elements outside are not refused (lgamma's values
    there: inf at the poles)."""
    if p < 1:
        raise ShapeError(f"mvlgamma: p has to be greater than or equal to 1, got {p}")
    x = _floating(input)
    out = lgamma(x)
    for j in range(1, p):
        out = out + lgamma(x - j / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)


def _bessel(input: Tensor, order: int, scaled: bool) -> Tensor:
    return Bessel.apply(_floating(input), order=order, scaled=scaled)


def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind, order 0."""
    return _bessel(input, 0, False)


def i0e(input: Tensor) -> Tensor:
    """exp(-|input|) i0(input)."""
    return _bessel(input, 0, True)


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind, order 1."""
    return _bessel(input, 1, False)


def i1e(input: Tensor) -> Tensor:
    """exp(-|input|) i1(input)."""
    return _bessel(input, 1, True)


def sinc(input: Tensor) -> Tensor:
    """The normalized sinc: sin(pi x) / (pi x), 1 at 0."""
    return Sinc.apply(_floating(input))


def asinh(input: Tensor) -> Tensor:
    return InverseHyperbolic.apply(_floating(input), op="asinh")


def acosh(input: Tensor) -> Tensor:
    return InverseHyperbolic.apply(_floating(input), op="acosh")


def atanh(input: Tensor) -> Tensor:
    return InverseHyperbolic.apply(_floating(input), op="atanh")


arcsinh, arccosh, arctanh = asinh, acosh, atanh
