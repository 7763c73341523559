"""The optimiser base class: parameter groups, per-parameter state, state dicts.

Like ``torch.optim.Optimizer``: ``param_groups`` is a list of dicts, each holding ``'params'``
(a list of Parameters) and that group's hyper-parameters; ``state`` maps a parameter to a dict
of its buffers (momentum, moving averages, step count). Subclasses implement ``_update`` for
one parameter; the base class walks the groups, skips parameters without a gradient and hands
raw arrays over, so updates run on NumPy/CuPy arrays in place and record no graph.

``state_dict()`` has torch's layout, with parameters replaced by their position counted
through all groups in order::

    {'state': {0: {'step': 3, 'exp_avg': ndarray, ...}, ...},
     'param_groups': [{'lr': 0.001, ..., 'params': [0, 1, 2]}, ...]}

``state`` is a ``defaultdict(dict)`` as in torch: ``opt.state[p]`` of a parameter without
buffers is ``{}`` (and, as in torch, from then on an empty entry in ``state_dict()``).

The constructors accept torch's implementation flags: ``foreach`` (a hint, ignored: minicnn has
one implementation per optimiser; on a GPU, SGD batches parameters into a multi-tensor kernel
on its own) and ``fused`` / ``differentiable`` / ``capturable``, which must stay off: minicnn has
no fused kernels for them, updates raw arrays outside autograd and has no CUDA graphs, so
asking for them raises NotImplementedError rather than silently doing something else. They
are kept in ``defaults`` and every param group, so state dicts have torch's keys.

``lr`` may be a one-element Tensor in every optimiser, as in torch: each update reads its current
value (:func:`hyper_value`), so the user or a scheduler may change it in place between steps.

Arrays in a state dict are host NumPy copies (like ``Module.state_dict``), so it can be saved
with ``mc.save`` and is not changed by later steps; ``load_state_dict`` moves them back onto
each parameter's device and dtype.
"""

from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, enable_grad

_global_step_pre_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_step_post_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()


def _hooked_step(step: Callable[..., Any]) -> Callable[..., Any]:
    """``step`` with torch's step hooks around it: ``hook(optimizer, args, kwargs)``, ``args``
    starting with the optimiser; a pre-hook may return ``(new_args, new_kwargs)``. It also
    records that a step ran (``_opt_called``, read by the schedulers' warning). A step called
    from inside another (a subclass's ``super().step()``) runs the hooks once, not twice."""

    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        self = args[0]
        self._opt_called = True
        own = self.__dict__
        pre, post = own.get("_optimizer_step_pre_hooks"), own.get("_optimizer_step_post_hooks")
        if own.get("_in_hooked_step") or not (pre or post or _global_step_pre_hooks or _global_step_post_hooks):
            return step(*args, **kwargs)
        self._in_hooked_step = True
        try:
            for hook in [*_global_step_pre_hooks.values(), *(pre or {}).values()]:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            f"{step} must return None or a tuple of (new_args, new_kwargs), but got {result}."
                        )
                    args, kwargs = result
            out = step(*args, **kwargs)
            for hook in [*(post or {}).values(), *_global_step_post_hooks.values()]:
                hook(self, args, kwargs)
            return out
        finally:
            self._in_hooked_step = False

    wrapper._hooked_step = True  # type: ignore[attr-defined]
    return wrapper


def _register(hooks: OrderedDict[int, Callable[..., Any]], hook: Callable[..., Any], prepend: bool = False) -> Any:
    """Add ``hook`` to ``hooks`` (first if ``prepend``) as the modules' hooks are; returns its removable handle."""
    from ..nn.module import Module  # noqa: PLC0415 - (nn imports optim's users)

    return Module._add_plain_hook(hooks, hook, prepend)


def register_optimizer_step_pre_hook(hook: Callable[..., Any]) -> Any:
    """torch's: call ``hook(optimizer, args, kwargs)`` before the step of every optimiser (before
    its own pre-hooks); returns a handle whose ``remove()`` unregisters it."""
    return _register(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable[..., Any]) -> Any:
    """torch's: call ``hook(optimizer, args, kwargs)`` after the step of every optimiser (after its own post-hooks)."""
    return _register(_global_step_post_hooks, hook)


class Optimizer:
    """Base class of all optimisers.

    Args:
        params: an iterable of Parameters (Tensors), of (name, Parameter) pairs (such as
            ``model.named_parameters()``: each group then also holds ``'param_names'``, as in
            torch), or of dicts with a ``'params'`` entry and per-group hyper-parameters that
            override ``defaults``.
        defaults: the hyper-parameters of groups that do not set them.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, got a single Tensor"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: params must be an ordered collection (list, generator), not a set")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's own ``step`` runs the step hooks too (see :func:`_hooked_step`)."""
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked_step", False):
            cls.step = _hooked_step(step)  # type: ignore[method-assign]

    def register_step_pre_hook(self, hook: Callable[..., Any]) -> Any:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step`` (``args`` starts with the
        optimiser); a non-None result must be ``(new_args, new_kwargs)``. Returns a handle
        whose ``remove()`` unregisters it."""
        return self._add_hook("step_pre", hook, False)

    def register_step_post_hook(self, hook: Callable[..., Any]) -> Any:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``; returns a removable handle."""
        return self._add_hook("step_post", hook, False)

    # torch's names for the step hooks' types, and its step wrapper (here: the hooks, no profiler)
    OptimizerPreHook = Callable[..., Any]
    OptimizerPostHook = Callable[..., Any]
    profile_hook_step = staticmethod(_hooked_step)

    def _add_hook(self, kind: str, hook: Callable[..., Any], prepend: bool) -> Any:
        """Register ``hook`` in ``self._optimizer_<kind>_hooks`` (first if ``prepend``); returns its handle."""
        return _register(self.__dict__.setdefault(f"_optimizer_{kind}_hooks", OrderedDict()), hook, prepend)

    def _state_hooks(self, kind: str) -> list[Callable[..., Any]]:
        hooks = self.__dict__.get(f"_optimizer_{kind}_hooks")
        return list(hooks.values()) if hooks else []

    def register_state_dict_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> Any:
        """Call ``hook(optimizer)`` at the start of each :meth:`state_dict` (before the hooks
        already registered if ``prepend``); returns a handle whose ``remove()`` unregisters it."""
        return self._add_hook("state_dict_pre", hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable[..., Any], prepend: bool = False) -> Any:
        """Call ``hook(optimizer, state_dict)`` on the dict :meth:`state_dict` made; it may change
        it in place or return a new one, which is passed on and returned instead."""
        return self._add_hook("state_dict_post", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> Any:
        """Call ``hook(optimizer, state_dict)`` at the start of each :meth:`load_state_dict`, with a
        shallow copy of the dict given; a non-None result is loaded instead."""
        return self._add_hook("load_state_dict_pre", hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable[..., Any], prepend: bool = False) -> Any:
        """Call ``hook(optimizer)`` after each :meth:`load_state_dict` has loaded the state."""
        return self._add_hook("load_state_dict_post", hook, prepend)

    def __getstate__(self) -> dict[str, Any]:
        """As torch's, a pickled or copied optimiser leaves its hooks behind."""
        return {k: v for k, v in self.__dict__.items() if not (k.startswith("_optimizer_") or k == "_in_hooked_step")}

    # -- groups ------------------------------------------------------------------------
    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Append a group: ``{'params': [...], 'lr': ..., ...}``; missing settings take the defaults."""
        if not isinstance(param_group, Mapping):
            raise TypeError(f"{type(self).__name__}: a param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{type(self).__name__}: a param group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: params must be an ordered collection (list, generator), not a set")
        params = list(params)
        if any(isinstance(p, tuple) for p in params):  # torch 2.6+: (name, parameter) pairs, e.g. named_parameters()
            names = [p[0] for p in params if isinstance(p, tuple)]
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            params = [p[1] for p in params]
            group["param_names"] = names
        if self.param_groups and ("param_names" in group) != ("param_names" in self.param_groups[0]):
            raise ValueError(
                "all optimizer param groups should be with/without names. cannot add param group "
                f"{'with' if 'param_names' in group else 'without'} names to the optimizer"
            )
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):  # as torch: a retained non-leaf gradient is one to follow
                raise ValueError(f"{type(self).__name__} can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{type(self).__name__}: a parameter group contains the same parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.param_groups.append(group)

    # -- the update ----------------------------------------------------------------------
    @_hooked_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if one is given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        states = self.state
        for group in self.param_groups:
            todo, items = [], []
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if g.array.shape != p.array.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: a parameter of shape {p.shape} has a gradient of shape {g.shape}"
                    )
                state = states.get(p, {})
                todo.append((p, state))
                items.append((p.array, g.array, state))
            self._update_group(items, group)
            for p, state in todo:
                if p._vc is None:  # an in-place write, as torch counts it (p._version += 1)
                    p._vc = [1, 0]
                else:
                    p._vc[0] += 1
                if state:  # like torch, parameters that need no buffers (plain SGD) get no entry
                    states[p] = state
        return loss

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update the array ``param`` in place from ``grad`` (never written to)."""
        raise NotImplementedError

    def _update_group(self, items: list[tuple[Any, Any, dict[str, Any]]], group: dict[str, Any]) -> None:
        """Update the (param, grad, state) items of one group: one :meth:`_update` each, unless
        an optimiser does several at once (SGD's multi-tensor GPU kernel)."""
        for param, grad, state in items:
            with backend.array_scope(param):  # buffers are created and updated on param's GPU
                self._update(param, grad, state, group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop the gradients (``set_to_none``) or replace them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None and p._superseded_by is None:  # (p.grad is None, read quickly)
                    continue
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:  # a fresh array (the old one may be shared); a create_graph gradient loses its graph
                    with backend.array_scope(p.grad.array):
                        zeros = p.grad.xp.zeros_like(p.grad.array)
                    if p.grad.grad_fn is not None:
                        p.grad = Tensor(zeros)  # as torch's detach_()
                    else:
                        p.grad.array = zeros

    # -- state dicts ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` (host copies),
        with the state-dict hooks run around it (see :meth:`register_state_dict_post_hook`)."""
        for hook in self._state_hooks("state_dict_pre"):
            hook(self)
        state_dict = self._pack_state()
        for hook in self._state_hooks("state_dict_post"):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def _pack_state(self) -> dict[str, Any]:
        """The state dict itself, without the hooks (an optimiser with more state extends this)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: _host_copy(v) for k, v in s.items()} for p, s in self.state.items() if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyper-parameters and buffers saved by :meth:`state_dict`.

        The optimiser must have been built with the same number of groups and group sizes.
        Buffers are copied onto each parameter's device; floating ones take its dtype. The
        load-state-dict hooks run around it (see :meth:`register_load_state_dict_pre_hook`).
        """
        if isinstance(state_dict, Mapping):
            state_dict = dict(state_dict)  # torch's shallow copy: a pre-hook may change it in place
        for hook in self._state_hooks("load_state_dict_pre"):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        self._unpack_state(state_dict)
        for hook in self._state_hooks("load_state_dict_post"):
            hook(self)

    def _unpack_state(self, state_dict: Mapping[str, Any]) -> None:
        """:meth:`load_state_dict` without the hooks (an optimiser with more state extends this)."""
        name = type(self).__name__
        if not isinstance(state_dict, Mapping) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: loaded state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} parameters in the "
                    f"loaded state dict, {len(group['params'])} in the optimizer"
                )
            by_index.update(zip(saved["params"], group["params"]))
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, buffers in state_dict["state"].items():
            if key not in by_index:
                raise ValueError(f"{name}.load_state_dict: state for parameter {key!r}, which no group lists")
            p = by_index[key]
            state[p] = {k: _onto_param(v, p, k) for k, v in buffers.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: v for k, v in saved.items() if k != "params"}
            for k, v in self.defaults.items():  # settings newer than the state dict
                new.setdefault(k, v)
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:  # torch's: saved names win
                new["param_names"] = group["param_names"]
            new_groups.append(new)
        self.param_groups = new_groups
        self.state = state
        # as torch's __setstate__: an optimiser without the flag (Adafactor) has it from now on, in later groups too
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            if i:
                lines.append("")  # torch's blank line between groups
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def check_torch_flags(
    name: str, *, fused: bool | None = None, differentiable: bool = False, capturable: bool = False
) -> None:
    """Refuse torch's implementation switches that minicnn cannot honour (see the module docstring)."""
    why = {
        "fused": "minicnn has no fused optimiser kernels (on a GPU, SGD already updates many parameters per launch)",
        "differentiable": "minicnn's updates run on raw arrays outside autograd",
        "capturable": "minicnn has no CUDA graphs to capture the step in",
    }
    for flag, value in (("fused", fused), ("differentiable", differentiable), ("capturable", capturable)):
        if value:
            raise NotImplementedError(f"{name}: {flag}=True is not supported: {why[flag]}")


def hyper_value(value: Any) -> Any:
    """A hyper-parameter as a Python number: a one-element Tensor (torch allows ``lr`` to be one)
    gives its current value, anything else is returned as it is."""
    return value.item() if isinstance(value, Tensor) else value


def check_lr(name: str, lr: Any) -> None:
    """torch's ValueErrors for ``lr``: a number or a one-element Tensor, not negative."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError(f"{name}: Tensor lr must be 1-element, got shape {lr.shape}")
    if hyper_value(lr) < 0.0:
        raise ValueError(f"{name}: invalid learning rate {hyper_value(lr)}")


def _host_copy(value: Any) -> Any:
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, np.ndarray) or backend.is_cupy_array(value):
        return np.array(backend.to_numpy(value), copy=True)
    return value


def _onto_param(value: Any, p: Tensor, key: str) -> Any:
    """A saved buffer as a fresh array on ``p``'s device (floating ones in ``p``'s dtype)."""
    if isinstance(value, Tensor):
        value = value.array
    is_array = isinstance(value, np.ndarray) or backend.is_cupy_array(value)
    if key == "step":
        # an int here; a torch-converted state dict may carry it as a 0-d float array
        return int(value.item()) if is_array else int(value)
    if not is_array:
        return value
    dtype = p.dtype if value.dtype.kind == "f" else value.dtype
    arr = backend.to_device(value, p.device)
    return backend.get_array_module(arr).array(arr, dtype=dtype, copy=True)
