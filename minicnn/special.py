"""``mc.special``: torch.special's names, mapped onto minicnn's ops (same signatures)."""

from __future__ import annotations

from typing import Any

from .autograd import Tensor
from .ops import activation
from .ops.activation import NormalCdf, sigmoid
from .ops.math import _floating, exp2, expm1, log1p
from .ops.math import round as _round
from .ops.math_extra import entr, logit, xlog1py, xlogy
from .ops.reduce import logsumexp
from .ops.special_math import (
    digamma,
    erf,
    erfc,
    erfinv,
    i0,
    i0e,
    i1,
    i1e,
    log_ndtr,
    mvlgamma,
    ndtri,
    polygamma,
    sinc,
)
from .ops.special_math import lgamma as gammaln
from .ops.special_more import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    erfcx,
    gammainc,
    gammaincc,
    hermite_polynomial_h,
    hermite_polynomial_he,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
    spherical_bessel_j0,
    zeta,
)

psi = digamma
expit = sigmoid


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function (torch.mvlgamma)."""
    return mvlgamma(input, p)


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF Phi(input)."""
    return NormalCdf.apply(_floating(input))


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """softmax along ``dim`` (computed in ``dtype`` if given)."""
    return activation.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """log_softmax along ``dim`` (computed in ``dtype`` if given)."""
    return activation.log_softmax(input, dim, dtype=dtype)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even (torch.special.round is torch.round)."""
    return _round(input, decimals=decimals)


__all__ = [
    "digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "i0e", "i1", "i1e",
    "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi",
    "round", "sinc", "softmax", "xlog1py", "xlogy",
    # the Bessel and Airy functions, erfcx, zeta, the incomplete gamma functions, the polynomials
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
    "chebyshev_polynomial_v", "chebyshev_polynomial_w", "erfcx", "gammainc", "gammaincc", "hermite_polynomial_h",
    "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p", "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "spherical_bessel_j0", "zeta",
]  # fmt: skip
