"""``mc.distributions``: torch.distributions' names, signatures and semantics.

Parameterisable probability distributions with ``sample`` / ``rsample`` (reparameterised,
differentiable), ``log_prob``, ``entropy``, ``cdf`` / ``icdf``, moments, ``expand``,
parameter and sample validation (on by default, as torch), and :func:`kl_divergence` with
:func:`register_kl`. Everything is written in minicnn's differentiable ops (gradients, also
with create_graph) and draws from minicnn's library generator (``mc.manual_seed``; on a GPU
from CuPy's generator). Layout: ``distribution.py`` (the base class), ``constraints.py``,
``transforms.py``, ``continuous.py``, ``discrete.py``, ``multivariate.py`` (MultivariateNormal,
Independent), ``transformed.py`` (TransformedDistribution and the distributions built on it),
``mixture.py``, ``more.py`` (ContinuousBernoulli, FisherSnedecor, Kumaraswamy, HalfCauchy,
Pareto, Weibull, InverseGamma, LogisticNormal, NegativeBinomial,
OneHotCategoricalStraightThrough), ``exp_family.py`` (ExponentialFamily: the base of Bernoulli,
Beta, ContinuousBernoulli, Dirichlet, Exponential, Gamma, Normal, Poisson and Wishart, as torch),
``von_mises.py``, ``generalized_pareto.py``, ``kl.py``, ``constraint_registry.py``
(biject_to, transform_to), ``utils.py``.

Gamma, Chi2, Beta, Dirichlet, StudentT and InverseGamma have ``rsample`` through implicit
reparameterisation, as torch: a Gamma draw's derivative w.r.t. its concentration is taken at
a fixed CDF value (``utils.standard_gamma_grad``; that gradient is a constant to create_graph: torch does
not implement its derivative). Dirichlet's ``rsample`` normalises Gamma draws (torch differentiates its Beta
marginals: the same expected gradients, other per-draw values).
"""

from __future__ import annotations

from . import constraints, transforms
from .constraint_registry import biject_to, transform_to
from .continuous import Beta, Cauchy, Chi2, Dirichlet, Exponential, Gamma, Gumbel, Laplace, Normal, StudentT, Uniform
from .discrete import Bernoulli, Binomial, Categorical, Geometric, Multinomial, OneHotCategorical, Poisson
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .generalized_pareto import GeneralizedPareto
from .kl import kl_divergence, register_kl
from .matrix import LKJCholesky, Wishart
from .mixture import MixtureSameFamily
from .more import (
    ContinuousBernoulli,
    FisherSnedecor,
    HalfCauchy,
    InverseGamma,
    Kumaraswamy,
    LogisticNormal,
    NegativeBinomial,
    OneHotCategoricalStraightThrough,
    Pareto,
    Weibull,
)
from .multivariate import Independent, LowRankMultivariateNormal, MultivariateNormal
from .transformed import (
    ExpRelaxedCategorical,
    HalfNormal,
    LogitRelaxedBernoulli,
    LogNormal,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
    TransformedDistribution,
)
from .transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .von_mises import VonMises

__all__ = [
    "ContinuousBernoulli",
    "FisherSnedecor",
    "Kumaraswamy",
    "HalfCauchy",
    "InverseGamma",
    "LogisticNormal",
    "NegativeBinomial",
    "OneHotCategoricalStraightThrough",
    "Pareto",
    "Weibull",
    "AbsTransform",
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Chi2",
    "ComposeTransform",
    "Dirichlet",
    "Distribution",
    "ExponentialFamily",
    "GeneralizedPareto",
    "VonMises",
    "ExpRelaxedCategorical",
    "ExpTransform",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "HalfNormal",
    "Independent",
    "IndependentTransform",
    "Laplace",
    "LogNormal",
    "LogitRelaxedBernoulli",
    "LowRankMultivariateNormal",
    "MixtureSameFamily",
    "Multinomial",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "PowerTransform",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "SigmoidTransform",
    "SoftmaxTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "LowerCholeskyTransform",
    "SoftplusTransform",
    "StickBreakingTransform",
    "CorrCholeskyTransform",
    "LKJCholesky",
    "PositiveDefiniteTransform",
    "Wishart",
    "CatTransform",
    "CumulativeDistributionTransform",
    "ReshapeTransform",
    "StackTransform",
    "biject_to",
    "constraints",
    "identity_transform",
    "kl_divergence",
    "register_kl",
    "transform_to",
    "transforms",
]


def _torch_module_paths() -> None:
    """torch's one-module-per-distribution import paths (``from torch.distributions.normal
    import Normal``) as aliases of the classes here: ``minicnn.distributions.normal`` etc."""
    import sys
    import types

    paths = {
        "bernoulli": ["Bernoulli"], "beta": ["Beta"], "binomial": ["Binomial"], "categorical": ["Categorical"],
        "cauchy": ["Cauchy"], "chi2": ["Chi2"], "continuous_bernoulli": ["ContinuousBernoulli"],
        "dirichlet": ["Dirichlet"], "exponential": ["Exponential"], "fishersnedecor": ["FisherSnedecor"],
        "gamma": ["Gamma"], "geometric": ["Geometric"], "gumbel": ["Gumbel"], "half_cauchy": ["HalfCauchy"],
        "half_normal": ["HalfNormal"], "independent": ["Independent"], "inverse_gamma": ["InverseGamma"],
        "kumaraswamy": ["Kumaraswamy"], "laplace": ["Laplace"], "log_normal": ["LogNormal"],
        "logistic_normal": ["LogisticNormal"], "lowrank_multivariate_normal": ["LowRankMultivariateNormal"],
        "mixture_same_family": ["MixtureSameFamily"], "multinomial": ["Multinomial"],
        "multivariate_normal": ["MultivariateNormal"], "negative_binomial": ["NegativeBinomial"], "normal": ["Normal"],
        "one_hot_categorical": ["OneHotCategorical", "OneHotCategoricalStraightThrough"], "pareto": ["Pareto"],
        "relaxed_bernoulli": ["LogitRelaxedBernoulli", "RelaxedBernoulli"],
        "relaxed_categorical": ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"], "studentT": ["StudentT"],
        "poisson": ["Poisson"], "uniform": ["Uniform"], "weibull": ["Weibull"],
        "wishart": ["Wishart"], "lkj_cholesky": ["LKJCholesky"],
        "transformed_distribution": ["TransformedDistribution"],
    }  # fmt: skip
    here = sys.modules[__name__]
    for path, names in paths.items():
        module = types.ModuleType(f"{__name__}.{path}", f"torch.distributions.{path}'s names (aliases).")
        for name in names:
            setattr(module, name, getattr(here, name))
        module.__all__ = list(names)
        sys.modules[module.__name__] = module
        setattr(here, path, module)


_torch_module_paths()
