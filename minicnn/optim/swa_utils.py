"""Stochastic weight averaging and exponential moving averages of a model (torch.optim.swa_utils).

- :class:`AveragedModel` keeps a deep copy of a model whose parameters (and, with
  ``use_buffers``, buffers) are a running average of the model's: ``update_parameters(model)``
  after each step or epoch. The default is the plain (SWA) mean of all updates,
  ``avg = avg + (p - avg) / (n + 1)``; ``get_ema_multi_avg_fn(decay)`` gives an EMA,
  ``avg = avg + (1 - decay) * (p - avg)``. The first update copies the model. Cost O(#parameters)
  per update.
- :class:`SWALR` anneals each group's lr from its current value to ``swa_lr`` over
  ``anneal_epochs`` steps (cosine or linear), then holds it.
- :func:`update_bn` recomputes the BatchNorm running statistics of a model (typically the
  averaged one) with one pass over a loader, as a cumulative average (``momentum=None``).

Averaging functions follow torch's contract: ``avg_fn(averaged, current, num_averaged)`` returns
the new average Tensor; ``multi_avg_fn(averaged_list, current_list, num_averaged)`` updates the
averaged Tensors of one device and dtype in place (the built-in ones write their ``.array``).
``num_averaged`` is the 0-d int64 Tensor ``n_averaged``. All updates run without a graph.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad
from ..creation import tensor as _tensor
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from .adam import lerp_
from .lr_scheduler import LRScheduler
from .optimizer import Optimizer

ParamList = Sequence[Tensor]


def _is_floating(t: Tensor) -> bool:
    return t.dtype.kind in "fc"


def _weight(num_averaged: Tensor | int) -> float:
    """torch's ``1 / (num_averaged + 1)``: float32 for a tensor count (torch's default dtype)."""
    if isinstance(num_averaged, Tensor):
        return float(np.float32(1.0 / (int(num_averaged.item()) + 1)))
    return 1.0 / (num_averaged + 1)


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[ParamList, ParamList, Any], None]:
    """An in-place EMA of lists of Tensors: ``ema = ema + (1 - decay) * (current - ema)`` (torch's lerp)."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_param_list: ParamList, current_param_list: ParamList, _: Any) -> None:
        floating = _is_floating(ema_param_list[0])  # one dtype per call, as torch groups them
        for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
            if floating:
                lerp_(p_ema.array, p_model.array, 1 - decay)
            else:  # integer buffers: the float mean, truncated back (torch's copy_)
                p_ema.array[...] = p_ema.array * decay + p_model.array * (1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable[[ParamList, ParamList, Any], None]:
    """An in-place running mean of lists of Tensors: ``avg = avg + (current - avg) / (n + 1)``."""

    def swa_update(averaged_param_list: ParamList, current_param_list: ParamList, num_averaged: Any) -> None:
        floating = _is_floating(averaged_param_list[0])
        # the count read once per call (a device count: one host read, not one per parameter)
        if floating:
            weight = _weight(num_averaged)
        else:
            n = int(num_averaged.item()) if isinstance(num_averaged, Tensor) else num_averaged
        for p_avg, p_model in zip(averaged_param_list, current_param_list, strict=True):
            if floating:
                lerp_(p_avg.array, p_model.array, weight)
            else:
                p_avg.array[...] = p_avg.array + (p_model.array - p_avg.array) / (n + 1)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """``avg_fn`` form of the EMA: returns ``decay * ema + (1 - decay) * current``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """``avg_fn`` form of the running mean: returns ``averaged + (current - averaged) / (n + 1)``."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """``AveragedModel(model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False)``:
    a deep copy of ``model`` (moved to ``device``; as in torch its parameters have no
    gradients) holding averaged parameters, and the int64
    buffer ``n_averaged``. Without ``use_buffers`` the buffers are copied from the model at
    every update (then run :func:`update_bn` for BatchNorm statistics that fit the average)."""

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable[[Tensor, Tensor, Any], Tensor] | None = None,
        multi_avg_fn: Callable[[ParamList, ParamList, Any], None] | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)  # Parameter.__deepcopy__ leaves the gradients behind, as torch's
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", _tensor(np.array(0, dtype=np.int64), device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers, with ``use_buffers``) into the average."""
        if self.use_buffers:
            self_param = itertools.chain(self.module.parameters(), self.module.buffers())
            model_param = itertools.chain(model.parameters(), model.buffers())
        else:
            self_param, model_param = self.parameters(), model.parameters()
        averaged: list[Tensor] = []
        current: list[Tensor] = []
        copy_param = int(self.n_averaged.item()) == 0
        for p_averaged, p_model in zip(self_param, model_param):
            p_model_ = Tensor(backend.to_device(p_model.array, p_averaged.device))
            averaged.append(p_averaged.detach())
            current.append(p_model_)
            if copy_param:
                p_averaged.array[...] = p_model_.array
                p_averaged._version += 1
        n_averaged = self.n_averaged
        with no_grad():
            if not copy_param and (self.multi_avg_fn is not None or self.avg_fn is None):
                groups: dict[tuple[str, np.dtype], tuple[list[Tensor], list[Tensor]]] = {}
                for a, c in zip(averaged, current):
                    pair = groups.setdefault((str(a.device), a.dtype), ([], []))
                    pair[0].append(a)
                    pair[1].append(c)
                for self_params, model_params in groups.values():
                    n = n_averaged.to(self_params[0].device)
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(self_params, model_params, n)
                    else:  # torch's default off foreach devices: the avg_fn form of the mean
                        avg_fn = get_swa_avg_fn()
                        for a, c in zip(self_params, model_params):
                            a.array[...] = avg_fn(a, c, n).array
            elif not copy_param:
                for a, c in zip(averaged, current):
                    a.array[...] = self.avg_fn(a, c, n_averaged.to(a.device)).array
        for a in averaged:
            a._version += 1
        if not self.use_buffers:
            for b_swa, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                b_swa.array[...] = backend.to_device(b_model.array, b_swa.device)
                b_swa._version += 1
        with backend.array_scope(self.n_averaged.array):
            self.n_averaged.array += 1


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every BatchNorm in ``model``: reset them, then run
    ``model`` in training mode over ``loader`` (batches, or (input, target, ...) pairs whose first
    item is the input) with ``momentum=None``, the cumulative average over all batches. The
    momenta and the train/eval mode are restored afterwards; no graph is recorded."""
    momenta: dict[Module, float | None] = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with no_grad():
            for input in loader:
                if isinstance(input, (list, tuple)):
                    input = input[0]
                if device is not None:
                    input = input.to(device)
                model(input)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """``SWALR(optimizer, swa_lr, anneal_epochs=10, anneal_strategy='cos', last_epoch=-1)``: each
    ``step()`` moves the lr of every group from its value at the start towards ``swa_lr`` (one
    value, or one per group), reaching it after ``anneal_epochs`` steps (torch's formula)."""

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | Sequence[float],
        anneal_epochs: int = 10,
        anneal_strategy: Literal["cos", "linear"] = "cos",
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if isinstance(swa_lr, (list, tuple)):
            if len(swa_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"swa_lr must have the same length as optimizer.param_groups. swa_lr has {len(swa_lr)} "
                    f"values, param_groups has {len(optimizer.param_groups)}."
                )
            swa_lrs = list(swa_lr)
        else:
            swa_lrs = [swa_lr] * len(optimizer.param_groups)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [
            self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha) for group in self.optimizer.param_groups
        ]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimiser and the anneal function (restored from its name)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._set_anneal_func(self._anneal_strategy)
