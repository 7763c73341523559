"""torch.distributions.ExponentialFamily: the base class of the exponential-family distributions."""

from __future__ import annotations

from typing import Any

from .. import autograd
from ..autograd import Tensor
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    r"""A distribution of an exponential family: density / mass

    .. math:: p_F(x; \theta) = \exp(\langle t(x), \theta \rangle - F(\theta) + k(x))

    with natural parameters :math:`\theta` (:attr:`_natural_params`), sufficient statistic
    :math:`t(x)`, log normalizer :math:`F` (:meth:`_log_normalizer`) and carrier measure
    :math:`k(x)` (whose expectation is :attr:`_mean_carrier_measure`). :meth:`entropy` and the
    generic KL of two members of one family follow from :math:`F` and its gradient (the Bregman
    divergence, Nielsen & Nock), taken by autograd, as torch.
    """

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        """The natural parameters :math:`\\theta`, a tuple of tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        """The log normalizer :math:`F(\\theta)` of the given natural parameters (batch shape)."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> float:
        """:math:`E[k(x)]`, the expected carrier measure (needed by :meth:`entropy`)."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        r"""The entropy :math:`F(\theta) - \langle \theta, \nabla F(\theta) \rangle - E[k(x)]`, with
        :math:`\nabla F` by autograd (as torch: the natural parameters are detached, so the result
        carries no gradient to the distribution's parameters)."""
        result: Any = -self._mean_carrier_measure
        with autograd.enable_grad():
            nparams = [p.detach().requires_grad_() for p in self._natural_params]
            lg_normal = self._log_normalizer(*nparams)
            gradients = autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for nparam, g in zip(nparams, gradients):
            result = result - (nparam * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
