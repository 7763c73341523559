"""Distributions over matrices: Wishart (positive-definite matrices) and LKJCholesky (Cholesky
factors of correlation matrices), torch's ``torch.distributions.wishart`` / ``lkj_cholesky``."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..autograd import Tensor
from . import constraints
from .continuous import Beta, Chi2, standard_normal
from .distribution import Distribution, _shape
from .exp_family import ExponentialFamily
from .multivariate import _scale_tril_of
from .utils import broadcast_all, lazy_property, vec_to_tril_matrix

__all__ = ["LKJCholesky", "Wishart"]

_log_2 = math.log(2)


def _arange(n: int, like: Tensor) -> Tensor:
    """0, 1, ..., n - 1 with ``like``'s dtype and device."""
    return like.new_ones(n).cumsum(-1) - 1


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma sum_{i<p} digamma(x - i/2) (x: any shape; needs x > (p - 1)/2)."""
    if not bool(x.gt((p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    return (x.unsqueeze(-1) - _arange(p, x) / 2).digamma().sum(-1)


def _batch_shape_of(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*shapes))


def _chi2_dfs(df: Tensor, p: int) -> Tensor:
    """The Bartlett decomposition's chi-square degrees of freedom df - i, i < p: df (...,) -> (..., p)."""
    return df.unsqueeze(-1) - _arange(p, df)


class Wishart(ExponentialFamily):
    """Wishart(df, Sigma) over p x p positive-definite matrices, Sigma given as exactly one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (its lower Cholesky factor L);
    ``df`` > p - 1 (a number or a tensor of the batch shape). Mean df Sigma.

    Samples by the Bartlett decomposition X = (L A)(L A)^T, A lower triangular with
    sqrt(chi2(df - i)) on its diagonal and N(0, 1) below it (``rsample``: differentiable in df
    and Sigma). Samples that are numerically singular (possible for p - 1 < df < p) are redrawn,
    the singular ones only, up to ``max_try_correction`` times (default 10), with a warning.
    """

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:  # type: ignore[override]
        return {
            "covariance_matrix": constraints.positive_definite,
            "precision_matrix": constraints.positive_definite,
            "scale_tril": constraints.lower_cholesky,
            "df": constraints.greater_than(self.event_shape[-1] - 1),
        }

    def __init__(
        self,
        df: Tensor | float,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        param = next(p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None)
        if param.ndim < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if param.shape[-1] != param.shape[-2]:
            raise ValueError(f"Wishart: expected square matrices, got shape {tuple(param.shape)}")
        if isinstance(df, Tensor):
            batch_shape = _batch_shape_of(tuple(param.shape[:-2]), tuple(df.shape))
            self.df = df.expand(batch_shape)
        else:
            batch_shape = tuple(param.shape[:-2])
            self.df = param.new_tensor(float(df))
        event_shape = tuple(param.shape[-2:])
        p = event_shape[-1]
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        mat_shape = tuple(batch_shape) + event_shape
        if scale_tril is not None:
            self.scale_tril = param.expand(mat_shape)
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(mat_shape)
        else:
            self.precision_matrix = param.expand(mat_shape)
        if bool(self.df.lt(p).any()):
            warnings.warn(
                "Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.",
                stacklevel=2,
            )
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._unbroadcasted_scale_tril = _scale_tril_of(covariance_matrix, precision_matrix, scale_tril)
        self._dist_chi2 = Chi2(_chi2_dfs(self.df.expand(self._batch_shape), p), validate_args=False)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Wishart:
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = _shape(batch_shape)
        cov_shape = batch_shape + self.event_shape
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(cov_shape))
        new._dist_chi2 = Chi2(_chi2_dfs(new.df, self.event_shape[-1]), validate_args=False)
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self) -> Tensor:
        from ..creation import eye  # noqa: PLC0415
        from ..functions import cholesky_solve  # noqa: PLC0415

        L = self._unbroadcasted_scale_tril
        Id = eye(self._event_shape[-1], dtype=L.dtype, device=L.device)
        return cholesky_solve(Id.expand(tuple(L.shape)), L).expand(self._batch_shape + self._event_shape)

    def _df_matrix(self, value: Tensor) -> Tensor:
        return value.reshape(self._batch_shape + (1, 1))

    @property
    def mean(self) -> Tensor:
        return self._df_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """(df - p - 1) Sigma; NaN where df <= p + 1 (no mode), as torch."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = factor.masked_fill(factor <= 0, math.nan)
        return self._df_matrix(factor) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        V = self.covariance_matrix
        diag_V = V.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix(self.df) * (V.pow(2) + diag_V.unsqueeze(-1) * diag_V.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape: tuple[int, ...]) -> Tensor:
        """L A (L A)^T of shape sample_shape + batch_shape + (p, p): A's diagonal sqrt(chi2(df - i))
        (at least eps), N(0, 1) below it. Cost O(p^3) per sample."""
        from ..runtime import finfo  # noqa: PLC0415

        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=finfo(L.dtype).eps)
        noise = diag.diag_embed()
        if p > 1:
            below = standard_normal(_shape(sample_shape) + self._batch_shape + (p * (p - 1) // 2,), L)
            noise = noise + vec_to_tril_matrix(below, diag=-1)
        chol = L @ noise
        return chol @ chol.mT

    def rsample(self, sample_shape: Any = (), max_try_correction: int | None = None) -> Tensor:
        """A differentiable sample (Bartlett decomposition); numerically singular draws are redrawn
        up to ``max_try_correction`` times (default 10) and may remain singular after that
        (log_prob -inf there): torch's warning applies."""
        from ..ops import where  # noqa: PLC0415

        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = _shape(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        is_singular = ~self.support.check(sample.detach())
        if bool(is_singular.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                sample = where(is_singular[..., None, None], self._bartlett_sampling(sample_shape), sample)
                is_singular = ~self.support.check(sample.detach())
                if not bool(is_singular.any()):
                    break
        return sample

    def log_prob(self, value: Tensor) -> Tensor:
        from .. import linalg  # noqa: PLC0415
        from ..functions import cholesky_solve, mvlgamma  # noqa: PLC0415

        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        batch = _batch_shape_of(tuple(value.shape[:-2]), tuple(L.shape[:-2]))
        trace = cholesky_solve(value.expand(batch + (p, p)), L.expand(batch + (p, p)))
        trace = trace.diagonal(dim1=-2, dim2=-1).sum(-1)
        return (
            -nu * (p * _log_2 / 2 + half_log_det)
            - mvlgamma(nu / 2, p=p)
            + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet
            - trace / 2
        )

    def entropy(self) -> Tensor:
        from ..functions import mvlgamma  # noqa: PLC0415

        nu = self.df
        p = self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return (
            (p + 1) * (p * _log_2 / 2 + half_log_det)
            + mvlgamma(nu / 2, p=p)
            - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p=p)
            + nu * p / 2
        )

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        from .. import linalg  # noqa: PLC0415
        from ..functions import mvlgamma  # noqa: PLC0415

        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-linalg.slogdet(-2 * x).logabsdet + _log_2 * p) + mvlgamma(y + (p + 1) / 2, p=p)


class LKJCholesky(Distribution):
    """The LKJ distribution over lower Cholesky factors L of dim x dim correlation matrices, with
    density of L L^T proportional to det(L L^T)^(concentration - 1) (concentration 1: uniform
    over correlation matrices). Samples by the onion method (Lewandowski, Kurowicka, Joe 2009,
    sec. 3.2), vectorised over rows: each row below the first is sqrt(y) u (u uniform on the
    sphere of the row's strictly-lower part, y ~ Beta) with the diagonal completing unit norm.
    ``sample_method`` takes only 'onion' (the one torch has)."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(
        self,
        dim: int,
        concentration: Tensor | float = 1.0,
        validate_args: bool | None = None,
        sample_method: str = "onion",
    ) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        if sample_method != "onion":
            raise ValueError(f"LKJCholesky: sample_method must be 'onion', got {sample_method!r}")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = tuple(self.concentration.shape)
        marginal_conc = self.concentration + 0.5 * (dim - 2)
        offset = _arange(dim - 1, self.concentration)
        offset = _cat0(offset)
        # row k >= 1 takes y ~ Beta(k / 2, eta + (dim - 1 - k) / 2) (torch has offset + 0.5 for the
        # first concentration, k - 1/2, which gives rows k >= 2 the wrong law)
        beta_conc1 = 0.5 * offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0, validate_args=False)
        super().__init__(batch_shape, (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = _shape(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Onion-method draws of shape sample_shape + batch_shape + (dim, dim); not differentiable.
        Cost O(dim^2) per draw."""
        from .. import autograd  # noqa: PLC0415
        from ..runtime import finfo  # noqa: PLC0415

        with autograd.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = standard_normal(self._extended_shape(sample_shape), y).tril(-1)
            norm = u_normal.norm(dim=-1, keepdim=True)
            # the first row is all zeros (0/0): it gets no off-diagonal part
            u_hypersphere = u_normal / norm.masked_fill(norm == 0, 1.0)
            w = y.sqrt() * u_hypersphere
            diag_elems = (1 - w.pow(2).sum(-1)).clamp(min=finfo(w.dtype).tiny).sqrt()
            return w + diag_elems.diag_embed()

    def log_prob(self, value: Tensor) -> Tensor:
        """log p(L) = sum_i (2 (eta - 1) + dim - i) log L_ii (i = 2..dim) minus the log normaliser."""
        from ..functions import mvlgamma  # noqa: PLC0415

        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = _arange(self.dim - 1, self.concentration) + 2
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = alpha.lgamma() * dm1
        numerator = mvlgamma(alpha - 0.5, p=dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        return unnormalized_log_pdf - (pi_constant + numerator - denominator)


def _cat0(offset: Tensor) -> Tensor:
    """[0] followed by ``offset`` (1-d)."""
    from ..ops import cat  # noqa: PLC0415

    return cat([offset.new_zeros(1), offset])
