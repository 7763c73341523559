"""torch.distributions.GeneralizedPareto."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Tensor
from . import constraints
from .continuous import expand_params, uniform
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """The generalized Pareto distribution GPD(loc, scale, concentration): survival function
    (1 + concentration * z)^(-1 / concentration) of z = (x - loc) / scale (exp(-z) at
    concentration 0) on [loc, loc - scale / concentration] for concentration < 0, else [loc, inf).
    Exponential (loc 0, concentration 0), Pareto (concentration > 0, loc = scale / concentration)
    and Uniform (concentration -1) are special cases. ``rsample`` by the inverse CDF, as torch
    (whose implementation follows TensorFlow Probability); a concentration within 1e-8 of 0 is
    treated as 0."""

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "concentration": constraints.real,
    }
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> GeneralizedPareto:
        return expand_params(self, GeneralizedPareto, ("loc", "scale", "concentration"), batch_shape, _instance)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.icdf(uniform(self._extended_shape(sample_shape), self.loc))

    def _safe_concentration(self) -> tuple[Tensor, Tensor]:
        """(concentration is 0 (torch.isclose to 0: |c| <= 1e-8), the concentration with 1 there)."""
        from ..ops import where  # noqa: PLC0415

        eq_zero = self.concentration.abs() <= 1e-8
        return eq_zero, where(eq_zero, 1.0, self.concentration)

    def _z(self, x: Tensor) -> Tensor:
        return (x - self.loc) / self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        """-log(scale) - (1 / c + 1) log1p(c z) (- z at c = 0)."""
        from ..ops import where  # noqa: PLC0415

        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        y = 1 / safe_conc + 1
        where_nonzero = where(y == 0, y, y * (safe_conc * z).log1p())
        return -self.scale.log() - where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value: Tensor) -> Tensor:
        """log(1 - cdf(value)) = -log1p(c z) / c (-z at c = 0)."""
        from ..ops import where  # noqa: PLC0415

        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        return where(eq_zero, -z, -(safe_conc * z).log1p() / safe_conc)

    def log_cdf(self, value: Tensor) -> Tensor:
        """log(cdf(value)) = log1p(-exp(log_survival_function(value)))."""
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        return self.log_cdf(value).exp()

    def icdf(self, value: Tensor) -> Tensor:
        """loc + scale / c * expm1(-c log1p(-value)) (loc - scale log1p(-value) at c = 0)."""
        from ..ops import where  # noqa: PLC0415

        eq_zero, safe_conc = self._safe_concentration()
        logu = (-value).log1p()
        where_nonzero = self.loc + self.scale / safe_conc * (-safe_conc * logu).expm1()
        where_zero = self.loc - self.scale * logu
        return where(eq_zero, where_zero, where_nonzero)

    @property
    def mean(self) -> Tensor:
        """loc + scale / (1 - c) for c < 1, else NaN."""
        from ..ops import where  # noqa: PLC0415

        valid = self.concentration < 1
        safe_conc = where(valid, self.concentration, 0.5)
        return where(valid, self.loc + self.scale / (1 - safe_conc), math.nan)

    @property
    def variance(self) -> Tensor:
        """scale^2 / ((1 - c)^2 (1 - 2c)) for c < 1/2, else NaN."""
        from ..ops import where  # noqa: PLC0415

        valid = self.concentration < 0.5
        safe_conc = where(valid, self.concentration, 0.25)
        return where(valid, self.scale**2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc)), math.nan)

    def entropy(self) -> Tensor:
        return (self.scale.log() + self.concentration + 1).broadcast_to(self._batch_shape)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        """[loc, loc - scale / concentration] for concentration < 0, else [loc, inf)."""
        from ..ops import where  # noqa: PLC0415

        lower = self.loc
        upper = where(self.concentration < 0, lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
