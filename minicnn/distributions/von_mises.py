"""torch.distributions.VonMises: the circular von Mises distribution."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import autograd
from ..autograd import Tensor
from . import constraints
from .distribution import Distribution, _shape
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]


def _log_i0(x: Tensor) -> Tensor:
    """log I0(x) = log(i0e(x)) + |x| (exact to the dtype; torch uses a polynomial approximation
    good to about 2e-7 relative)."""
    from ..special import i0e  # noqa: PLC0415

    return i0e(x).log() + x.abs()


def _bessel_ratio(x: Tensor) -> Tensor:
    """I1(|x|) / I0(|x|) = i1e(|x|) / i0e(|x|) (torch's value also at an invalid x < 0)."""
    from ..special import i0e, i1e  # noqa: PLC0415

    x = x.abs()
    return i1e(x) / i0e(x)


def _rejection_sample(loc: Tensor, concentration: Tensor, proposal_r: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Best & Fisher (1979) rejection sampling of von Mises angles of ``shape`` (float64 parameters
    broadcastable to it), in rounds over all still-rejected draws (each round accepts a draw with
    probability >= 0.66, so about log(n) / 1.1 rounds for n draws). Returns angles in [-pi, pi)."""
    from ..creation import rand, zeros  # noqa: PLC0415
    from ..ops import where  # noqa: PLC0415

    x = zeros(shape, dtype=loc.dtype, device=loc.device)
    done = zeros(shape, dtype=np.dtype(np.bool_), device=loc.device)
    while not bool(done.all()):
        u = rand((3,) + tuple(shape), dtype=loc.dtype, device=loc.device)
        u1, u2, u3 = u.unbind()
        z = (math.pi * u1).cos()
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        if bool(accept.any()):
            x = where(accept, (u3 - 0.5).sign() * f.acos(), x)
            done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    """The circular von Mises distribution: density exp(concentration * cos(x - loc)) / (2 pi I0(concentration)).
    ``loc`` and the values may be any reals (angles modulo 2 pi); samples lie in [-pi, pi).
    ``mean`` and ``variance`` are the circular ones. Sampling: Best & Fisher rejection in float64,
    as torch (no ``rsample``)."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, (), validate_args=validate_args)

    def log_prob(self, value: Tensor) -> Tensor:
        """concentration * cos(value - loc) - log(2 pi) - log I0(concentration)."""
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * (value - self.loc).cos()
        return log_prob - math.log(2 * math.pi) - _log_i0(self.concentration)

    @lazy_property
    def _loc(self) -> Tensor:
        return self.loc.to(np.dtype(np.float64))

    @lazy_property
    def _concentration(self) -> Tensor:
        return self.concentration.to(np.dtype(np.float64))

    @lazy_property
    def _proposal_r(self) -> Tensor:
        from ..ops import where  # noqa: PLC0415

        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa**2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        proposal_r = (1 + rho**2) / (2 * rho)
        proposal_r_taylor = 1 / kappa + kappa  # (second order around kappa = 0)
        return where(kappa < 1e-5, proposal_r_taylor, proposal_r)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Angles in [-pi, pi) of shape ``sample_shape + batch_shape`` (not differentiable); drawn
        in float64 (in float32 the rejection loop stalls for concentrations below about 1e-4)."""
        shape = self._extended_shape(sample_shape)
        with autograd.no_grad():
            return _rejection_sample(self._loc, self._concentration, self._proposal_r, shape).to(self.loc.dtype)

    def expand(self, batch_shape: Any, _instance: Any = None) -> VonMises:
        batch_shape = _shape(batch_shape)
        validate_args = self.__dict__.get("_validate_args")
        loc = self.loc.expand(batch_shape)
        concentration = self.concentration.expand(batch_shape)
        return type(self)(loc, concentration, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """The circular mean, ``loc``."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:  # type: ignore[override]
        """The circular variance 1 - I1(concentration) / I0(concentration)."""
        return 1 - _bessel_ratio(self.concentration)
