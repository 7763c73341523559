"""Module, Parameter and the containers, with PyTorch's registries and state-dict names.

A Module keeps three ordered registries, filled by plain attribute assignment:
``_parameters`` (Parameter), ``_buffers`` (arrays such as BatchNorm's running statistics,
saved in the state dict but not trained) and ``_modules`` (children). Dotted names like
``features.0.weight`` come from walking children in registration order, as in torch.
"""

from __future__ import annotations

import functools
import itertools
import operator
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import Tensor
from .backward_hooks import GLOBAL_BACKWARD_HOOKS, GLOBAL_BACKWARD_PRE_HOOKS, hooked_call

_global_forward_pre_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_forward_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_forward_hooks_with_kwargs: OrderedDict[int, bool] = OrderedDict()
_global_forward_hooks_always_called: OrderedDict[int, bool] = OrderedDict()
# register_module_{buffer,module,parameter}_registration_hook's: hook(module, name, value) -> None or a new value
_global_buffer_registration_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_module_registration_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
_global_parameter_registration_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()


def _registered(hooks: OrderedDict[int, Callable[..., Any]], module: Any, name: str, value: Any) -> Any:
    """``value`` after the registration hooks ``hooks`` (each may return a replacement)."""
    for hook in list(hooks.values()) if hooks else ():
        result = hook(module, name, value)
        if result is not None:
            value = result
    return value


class Parameter(Tensor):
    """A trainable leaf tensor (``requires_grad=True`` by default)."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:  # torch's empty parameter
            data = np.empty(0, dtype=np.float32)
        super().__init__(data.array if isinstance(data, Tensor) else data)
        if self.array.dtype.kind == "f":
            self.requires_grad = requires_grad

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        """torch's: a new parameter of the same class, device and dtype holding a copy of the
        data and the same ``requires_grad``; the gradient, hooks and other attributes stay behind."""
        if id(self) in memo:
            return memo[id(self)]
        with backend.array_scope(self.array):
            data = self.array.copy()
        result = type(self)(data, self.requires_grad)
        memo[id(self)] = result
        return result

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _BufferMeta(type):
    """``isinstance(t, Buffer)`` holds for the tensors Buffer made (torch's trick: they are Tensors)."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """torch.nn.Buffer: a tensor marked to become a buffer when assigned as a module attribute
    (``self.stats = nn.Buffer(mc.zeros(3))``, saved in the state dict unless
    ``persistent=False``). ``Buffer(data)`` returns a detached Tensor (sharing ``data``'s memory
    and ``requires_grad``) carrying that mark; ``Buffer()`` an empty float tensor, as torch."""

    def __new__(cls, data: Any = None, *, persistent: bool = True) -> Tensor:  # type: ignore[misc]
        if data is None:
            from ..creation import empty  # noqa: PLC0415 - (the default dtype and device, as torch.empty(0))

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer: expected a Tensor, got {type(data).__name__}")
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent, t._is_buffer = persistent, True
        return t


class _IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns, as torch: ``(missing_keys, unexpected_keys)``."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


class RemovableHandle:
    """Returned by every ``register_*_hook``: ``remove()`` unregisters the hook (also on
    leaving a ``with`` block)."""

    _ids = itertools.count()

    def __init__(
        self, hooks: OrderedDict[int, Any], extra_dict: dict[int, Any] | Iterable[dict[int, Any]] | None = None
    ) -> None:
        self.hooks = hooks
        # torch's: the per-hook flag tables (``with_kwargs``, ``always_call``), cleared with it
        extra = () if extra_dict is None else (extra_dict,) if isinstance(extra_dict, dict) else extra_dict
        self.extra_dicts: tuple[dict[int, Any], ...] = tuple(extra)
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
        for flags in self.extra_dicts:
            flags.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class _WrappedHook:
    """torch's wrapper of a private load-state-dict pre-hook: ``hook(module, *args)`` with the
    module held weakly when registered ``with_module``, else ``hook(*args)``."""

    def __init__(self, hook: Callable[..., Any], module: Module | None = None) -> None:
        self.hook = hook
        functools.update_wrapper(self, hook)
        self.with_module = module is not None
        if module is not None:
            self.module = weakref.ref(module)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.with_module:
            module = self.module()
            if module is None:
                raise RuntimeError("You are trying to call the hook of a dead Module!")
            return self.hook(module, *args, **kwargs)
        return self.hook(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        """For deepcopy and pickle: the module itself, so that a copy's hook holds the copy."""
        state: dict[str, Any] = {"hook": self.hook, "with_module": self.with_module}
        if self.with_module:
            state["module"] = self.module()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.hook = state["hook"]
        self.with_module = state["with_module"]
        if self.with_module:
            if state["module"] is None:
                raise RuntimeError("You are trying to revive the hook of a dead Module!")
            self.module = weakref.ref(state["module"])


_EXTRA_STATE_KEY = "_extra_state"


def _host_array(value: Any) -> np.ndarray:
    """A checkpoint value (Tensor, NumPy/CuPy array, or anything ``np.asarray`` takes) on the host."""
    return np.asarray(backend.to_numpy(value.array if isinstance(value, Tensor) else value))


def _is_uninitialized(value: Any) -> bool:
    """An UninitializedParameter / UninitializedBuffer (:mod:`minicnn.nn.parameter`, which imports this module)."""
    return getattr(value, "_uninitialized", False)


def _is_array(value: Any) -> bool:
    """A NumPy or CuPy array: minicnn takes these wherever torch takes a Tensor."""
    return isinstance(value, np.ndarray) or backend.is_cupy_array(value)


def _check_name(kind: str, name: Any) -> None:
    """torch's checks of a parameter / buffer / module name."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain "."' + (f", got: {name}" if kind == "module" else ""))
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


class Module:
    """Base class of every layer and model. Subclasses define ``forward``."""

    training: bool
    _version: int = 1
    """Recorded as ``version`` in a state dict's ``_metadata`` (torch's; a subclass that changes
    its state-dict layout raises it and converts older ones in ``_load_from_state_dict``)."""
    dump_patches: bool = False
    """torch's (unused there too since serialisation stopped pickling module source)."""
    call_super_init: bool = False
    """torch's flag for forwarding ``__init__``'s extra arguments to the next base class; minicnn's
    ``Module.__init__`` takes none, so it is kept for subclasses that read it."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks_with_kwargs", OrderedDict())
        object.__setattr__(self, "_forward_hooks_always_called", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_state_dict_pre_hooks", OrderedDict())
        object.__setattr__(self, "_state_dict_hooks", OrderedDict())
        object.__setattr__(self, "_load_state_dict_pre_hooks", OrderedDict())
        object.__setattr__(self, "_load_state_dict_post_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration by attribute assignment -----------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() has run")
        if isinstance(value, Parameter):
            self._forget(name, keep=self._parameters)
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._forget(name, keep=self._modules)
            self._modules[name] = _registered(_global_module_registration_hooks, self, name, value)
        elif getattr(value, "_is_buffer", False) and name not in self._parameters and name not in self._modules:
            # nn.Buffer: registered, as torch 2.5+ (KeyError over a plain attribute;
            # over a parameter or a module, the TypeError below)
            self.register_buffer(name, value, persistent=value.persistent)
        elif name in self._buffers:
            value = self._as_buffer(name, value)
            self._buffers[name] = _registered(_global_buffer_registration_hooks, self, name, value)
        elif name in self._parameters or name in self._modules:
            if value is not None:
                kind = "parameter" if name in self._parameters else "module"
                raise TypeError(f"cannot assign {type(value).__name__} as {kind} {name!r} (expected a {kind} or None)")
            if name in self._parameters:
                self._parameters[name] = None
            else:  # as torch: the module hooks see a child set to None (the parameter hooks do not)
                self._modules[name] = _registered(_global_module_registration_hooks, self, name, None)
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: dict[str, Any]) -> None:
        """Remove ``name`` from the instance dict and every registry but ``keep`` (where it is
        about to be set, keeping its position)."""
        for reg in (self.__dict__, self._parameters, self._buffers, self._modules):
            if reg is not keep:
                reg.pop(name, None)
        self._non_persistent.discard(name)

    @staticmethod
    def _as_buffer(name: str, value: Any) -> Tensor | None:
        """A buffer's value: None, a Tensor, or a NumPy/CuPy array (wrapped); else TypeError."""
        if value is None or isinstance(value, Tensor):
            return value
        if _is_array(value):
            return Tensor(value)
        raise TypeError(
            f"cannot assign {type(value).__name__!r} object to buffer {name!r} (Tensor, array or None required)"
        )

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg in d and name in d[reg]:
                return d[reg][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for reg in (self._parameters, self._buffers, self._modules):
            if name in reg:
                del reg[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def _check_new(self, kind: str, name: Any, registry: dict[str, Any]) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot register {kind} {name!r} before Module.__init__() has run")
        _check_name(kind, name)
        if name in self.__dict__ and self.__dict__[name] is None:
            # a plain ``self.bias = None`` before ``register_parameter("bias", None)``: torch would
            # refuse it, minicnn lets the registration replace a None placeholder
            del self.__dict__[name]
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a Parameter (or None: a declared, absent one such as ``bias=False``) named ``name``."""
        self._check_new("parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' (Parameter or None required)"
            )
        if param is not None:
            param = _registered(_global_parameter_registration_hooks, self, name, param)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """A named array saved in the state dict (unless ``persistent=False``) but not trained
        (e.g. running_mean). ``tensor`` is a Tensor, a NumPy/CuPy array or None."""
        self._check_new("buffer", name, self._buffers)
        tensor = self._as_buffer(name, tensor)
        self._buffers[name] = _registered(_global_buffer_registration_hooks, self, name, tensor)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def register_module(self, name: str, module: Module | None) -> None:
        """Add a child module (or None) named ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new("module", name, self._modules)
        self._modules[name] = _registered(_global_module_registration_hooks, self, name, module)

    add_module = register_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``""`` is self); AttributeError if none."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target`` (``"layer1.0.conv1"``), replacing what is
        there (which must be a module) or, unless ``strict``, adding it to the parent."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter at the dotted path ``target`` (``"features.0.weight"``); AttributeError if none."""
        mod, name = self._owner_of(target)
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (``"bn.running_mean"``); AttributeError if none."""
        mod, name = self._owner_of(target)
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    def _owner_of(self, target: str) -> tuple[Module, str]:
        """(the submodule holding the attribute at dotted path ``target``, its name)."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
        return mod, name

    # -- calling ---------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        own = self.__dict__
        if (
            own.get("_backward_hooks")
            or own.get("_backward_pre_hooks")
            or GLOBAL_BACKWARD_HOOKS
            or GLOBAL_BACKWARD_PRE_HOOKS
        ):
            return hooked_call(self, args, kwargs, self._call_with_forward_hooks)
        if not (self._forward_pre_hooks or self._forward_hooks or _global_forward_pre_hooks or _global_forward_hooks):
            return self.forward(*args, **kwargs)  # no hooks: straight to forward
        return self._call_with_forward_hooks(*args, **kwargs)

    def compile(self, *args: Any, **kwargs: Any) -> None:  # noqa: A003 - torch's name
        """torch's ``Module.compile``: compile this module's calls in place with :func:`minicnn.compile`,
        which accepts torch.compile's arguments and, having no compiler, keeps eager execution."""
        from ..compiler import compile as compile_  # noqa: PLC0415

        compile_(self, *args, **kwargs)

    def _call_with_forward_hooks(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or _global_forward_pre_hooks or _global_forward_hooks):
            return self.forward(*args, **kwargs)
        # the global hooks (register_module_forward_*hook) run first, as torch's
        output, called = None, set()
        try:
            for key, hook in [*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()]:
                if key in self._forward_pre_hooks_with_kwargs:
                    result = hook(self, args, kwargs)
                    if result is not None:
                        args, kwargs = result
                else:
                    result = hook(self, args)
                    if result is not None:
                        args = result if isinstance(result, tuple) else (result,)
            output = self.forward(*args, **kwargs)
            for key, hook in [*_global_forward_hooks.items(), *self._forward_hooks.items()]:
                if key in self._forward_hooks_always_called or key in _global_forward_hooks_always_called:
                    called.add(key)
                result = self._run_forward_hook(key, hook, args, kwargs, output)
                if result is not None:
                    output = result
        except Exception:
            # ``always_call`` hooks that have not run yet run now (output None if forward raised)
            for key, hook in [*_global_forward_hooks.items(), *self._forward_hooks.items()]:
                if key in called or not (
                    key in self._forward_hooks_always_called or key in _global_forward_hooks_always_called
                ):
                    continue
                try:
                    result = self._run_forward_hook(key, hook, args, kwargs, output)
                    if result is not None:
                        output = result
                except Exception as e:
                    warnings.warn(
                        "module forward hook with ``always_call=True`` raised an exception that was silenced as "
                        f"another error was raised in forward: {e}",
                        stacklevel=2,
                    )
            raise
        return output

    def _run_forward_hook(self, key: int, hook: Callable[..., Any], args: tuple, kwargs: dict, output: Any) -> Any:
        if key in self._forward_hooks_with_kwargs or key in _global_forward_hooks_with_kwargs:
            return hook(self, args, kwargs, output)
        return hook(self, args, output)

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each ``forward``; a non-None result replaces the
        positional arguments (a non-tuple is wrapped in one). ``with_kwargs``:
        ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``."""
        return self._add_hook(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs, hook, prepend, with_kwargs)

    def register_forward_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each ``forward``; a non-None result replaces
        the output. ``with_kwargs``: ``hook(module, args, kwargs, output)``. ``always_call``:
        also when the forward (or a hook) raises, with output None if forward did not return;
        the exception then propagates."""
        handle = self._add_hook(self._forward_hooks, self._forward_hooks_with_kwargs, hook, prepend, with_kwargs)
        handle.extra_dicts += (self._forward_hooks_always_called,)
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of this module's
        inputs are computed: grad_input has one entry per positional argument (None where it
        gets no gradient), grad_output one per output that requires grad. A returned tuple
        replaces grad_input. See :mod:`minicnn.nn.backward_hooks`."""
        return self._add_plain_hook(self.__dict__.setdefault("_backward_hooks", OrderedDict()), hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of this module's outputs are
        known, before they flow into it; a returned tuple replaces grad_output."""
        return self._add_plain_hook(self.__dict__.setdefault("_backward_pre_hooks", OrderedDict()), hook, prepend)

    def register_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """torch's deprecated non-full backward hook, which is not supported: NotImplementedError.

        torch calls it with the gradients of the inputs and outputs of the autograd node that
        made the module's output (``Linear``'s ``AddmmBackward0``: bias, input, weight.T), so what
        it sees depends on torch's own node layout, which minicnn's graph does not copy (and
        whose node hooks it does not have). :meth:`register_full_backward_hook` is the replacement
        torch recommends: its ``grad_input`` holds the module's inputs' gradients."""
        raise NotImplementedError(
            f"{type(self).__name__}.register_backward_hook: the deprecated non-full backward hook is not supported "
            "(its grad_input is that of torch's last autograd node); use register_full_backward_hook(hook), called "
            "as hook(module, grad_input, grad_output) with the gradients of the module's inputs"
        )

    @staticmethod
    def _add_hook(
        hooks: OrderedDict[int, Any],
        with_kwargs_ids: OrderedDict[int, bool],
        hook: Callable[..., Any],
        prepend: bool,
        with_kwargs: bool,
    ) -> RemovableHandle:
        """As torch: ``hooks[id] = hook`` (so ``module._forward_pre_hooks.values()`` are the hooks
        themselves) and ``with_kwargs_ids[id] = True`` for a hook that takes the kwargs."""
        handle = Module._add_plain_hook(hooks, hook, prepend, with_kwargs_ids)
        if with_kwargs:
            with_kwargs_ids[handle.id] = True
        return handle

    @staticmethod
    def _add_plain_hook(
        hooks: OrderedDict[int, Any],
        entry: Any,
        prepend: bool,
        extra_dict: dict[int, Any] | Iterable[dict[int, Any]] | None = None,
    ) -> RemovableHandle:
        handle = RemovableHandle(hooks, extra_dict)
        hooks[handle.id] = entry
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # -- traversal -------------------------------------------------------------------------
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) of self and every submodule, depth first in registration order.
        A module reachable under several names comes once, unless ``remove_duplicate=False``."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct children; a child registered under two names comes once."""
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, v in getattr(m, registry).items():
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter); a shared parameter comes once unless ``remove_duplicate=False``."""
        yield from self._named("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer), persistent or not; a shared buffer comes once unless ``remove_duplicate=False``."""
        yield from self._named("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes -------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode`` must be a bool, as in torch) on self and every submodule."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def share_memory(self) -> Module:
        """Move every parameter, gradient and buffer into shared memory (:meth:`Tensor.share_memory_`),
        so processes forked afterwards train one model (Hogwild); returns self, as torch's."""
        for p in self.parameters():
            p.share_memory_()
            if p.grad is not None:
                p.grad.share_memory_()
        for b in self.buffers():
            if b is not None:
                b.share_memory_()
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:  # a fresh array (the old one may be shared); a create_graph gradient loses its graph
                with backend.array_scope(p.grad.array):
                    zeros = p.grad.xp.zeros_like(p.grad.array)
                if p.grad.grad_fn is not None:
                    p.grad = Tensor(zeros)  # as torch's detach_()
                else:
                    p.grad.array = zeros

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and on self, like torch: once per
        child of each module (a child registered under two names of one parent once), so a
        module that two different parents hold is visited under each."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- devices and dtypes ---------------------------------------------------------------
    def _map_tensors(self, fn: Callable[[Any], Any], recurse: bool = True) -> Module:
        for m in self.modules() if recurse else (self,):
            for reg in (m._parameters, m._buffers):
                for t in reg.values():
                    if t is not None:
                        t.array = fn(t.__dict__["array"])  # not t.array: it raises on a lazy module's
                        if t.grad is not None:
                            t.grad.array = fn(t.grad.array)
        return self

    def to(self, device: Any = None, dtype: Any = None) -> Module:
        """Move parameters and buffers to ``device`` and/or cast floating ones to ``dtype``.
        ``device='meta'`` drops the data, keeping shapes and dtypes: the module then runs only
        through :func:`minicnn.func.functional_call` (torch's stateless base copy)."""
        if device is not None and not isinstance(device, str):
            device, dtype = None, device
        if device is not None and device.strip().lower() == "meta":  # shapes and dtypes only
            from ..func import meta_array  # noqa: PLC0415

            return self.to(dtype=dtype)._map_tensors(meta_array) if dtype is not None else self._map_tensors(meta_array)
        if device is not None:
            backend.parse_device(device)
            self._map_tensors(lambda a: backend.to_device(a, device))
        if dtype is not None:
            dt = np.dtype(dtype)
            self._map_tensors(lambda a: a.astype(dt) if a.dtype.kind == "f" else a)
        return self

    def to_empty(self, *, device: Any, recurse: bool = True) -> Module:
        """Replace every parameter's and buffer's data (and gradient's) by an uninitialised array
        of the same shape and dtype on ``device`` (None: each one's own device; ``'meta'``: no
        data), as torch's: the Parameter objects stay, with their ``requires_grad``. The way to
        materialise a module built on the meta device before initialising it. ``recurse=False``:
        this module's own tensors only. Returns self."""
        from ..func import _MetaArray, meta_array  # noqa: PLC0415

        if device is not None and str(device).strip().lower() == "meta":
            return self._map_tensors(meta_array, recurse)
        if device is not None:
            backend.parse_device(device)

        def empty(a: Any) -> Any:
            if device is None and isinstance(a, _MetaArray):
                return meta_array(a)
            target = backend.device_of(a) if device is None else device
            with backend.device_scope(target):
                return backend.xp_for_device(target).empty(a.shape, dtype=a.dtype)

        return self._map_tensors(empty, recurse)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device: int = 0) -> Module:
        return self.to(f"cuda:{device}")

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16 (torch's ``half``)."""
        return self.to(np.float16)

    def type(self, dst_type: Any) -> Module:
        """Cast every parameter and buffer, integer ones included, to ``dst_type`` (torch's ``Module.type``)."""
        dt = np.dtype(dst_type)
        return self._map_tensors(lambda a: a.astype(dt))

    def _get_name(self) -> str:
        """The class name, as ``repr`` prints it (torch's)."""
        return type(self).__name__

    # -- state dict -------------------------------------------------------------------------
    def _state_tensors(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) of every parameter and persistent buffer in torch's order:
        a module's parameters, its buffers, then its children. Unlike ``named_modules`` this
        does not skip a submodule registered under two names: torch saves it under both."""
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                yield prefix + name, b
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_tensors(f"{prefix}{name}.")

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        """Put this module's own parameters and persistent buffers (not its children's) into
        ``destination`` under ``prefix + name``: host NumPy copies, or with ``keep_vars`` the
        Parameters and buffer Tensors themselves. Subclasses may override it, as in torch."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else backend.to_numpy(p.array).copy()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                destination[prefix + name] = b if keep_vars else backend.to_numpy(b.array).copy()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY] = self.get_extra_state()

    def get_extra_state(self) -> Any:
        """Extra state (any picklable object) that ``state_dict`` saves under ``"_extra_state"``;
        a subclass that defines it must also define :meth:`set_extra_state`, which
        ``load_state_dict`` calls with it. The base versions raise RuntimeError, as torch's."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. Please file an issue."
        )

    def set_extra_state(self, state: Any) -> None:
        """Restore the extra state that :meth:`get_extra_state` returned (see there)."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. Please file an issue."
        )

    def state_dict(
        self, *, destination: dict[str, Any] | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Any]:
        """Ordered mapping of dotted names to host NumPy copies of parameters and buffers,
        per module: its parameters, then its buffers, then its children (torch's order).
        ``keep_vars=True`` maps to the Parameters and buffer Tensors themselves instead.
        ``destination``: a dict to fill (and return) instead of a new OrderedDict.

        As torch, a new OrderedDict carries ``_metadata``: {module prefix without the final
        dot: {"version": module._version}}; each module runs its state-dict pre-hooks
        ``hook(module, prefix, keep_vars)`` before saving itself, and its post-hooks
        ``hook(module, state_dict, prefix, local_metadata)`` after its children."""
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()  # type: ignore[attr-defined]
        local_metadata: dict[str, Any] = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, destination, prefix, local_metadata)
            if getattr(hook, "_from_public_api", False):
                if result is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif result is not None:  # the private form may replace it (seen at the root only)
                destination = result
        return destination  # type: ignore[return-value]

    def register_state_dict_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call ``hook(module, prefix, keep_vars)`` when ``state_dict`` reaches this module,
        before it saves anything (it may change the module; its result is ignored)."""
        return self._add_plain_hook(self._state_dict_pre_hooks, hook, False)

    def register_state_dict_post_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` once this module and its
        children are saved; it may edit ``state_dict`` and ``local_metadata`` in place and must
        return None (RuntimeError otherwise)."""
        hook._from_public_api = True  # type: ignore[attr-defined]
        return self._add_plain_hook(self._state_dict_hooks, hook, False)

    def _register_state_dict_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """torch's private post-hook: as ``register_state_dict_post_hook``, but a returned
        dict replaces the state dict (only the root module's result reaches the caller)."""
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError(
                "Cannot register the same function as the state dict post hook that was "
                "previously registered via register_state_dict_post_hook"
            )
        return self._add_plain_hook(self._state_dict_hooks, hook, False)

    def _register_load_state_dict_pre_hook(
        self, hook: Callable[..., Any], with_module: bool = False
    ) -> RemovableHandle:
        """As ``register_load_state_dict_pre_hook``, the module left out of the call unless
        ``with_module``: ``hook(state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)``."""
        return self._add_plain_hook(
            self._load_state_dict_pre_hooks, _WrappedHook(hook, self if with_module else None), False
        )

    def register_load_state_dict_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` when ``load_state_dict`` reaches this module, before it
        loads anything. ``state_dict`` is this module's share of a copy of the caller's dict
        (keys starting with ``prefix``, full dotted names): renaming or adding keys there
        changes what this module and its children load. ``strict`` is always True here (the
        lists are filled either way; ``load_state_dict(strict=...)`` decides what raises)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call ``hook(module, incompatible_keys)`` once this module and its children are
        loaded. ``incompatible_keys`` holds the lists ``missing_keys`` / ``unexpected_keys``
        gathered so far; editing them in place changes what ``load_state_dict`` returns and,
        with ``strict=True``, whether it raises. Must return None (AssertionError otherwise)."""
        return self._add_plain_hook(self._load_state_dict_post_hooks, hook, False)

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        """Run this module's load pre-hooks, then copy its own parameters and persistent
        buffers from ``state_dict`` (keys ``prefix + name``), appending to ``missing_keys``,
        ``unexpected_keys`` (those of its children are left to them) and ``error_msgs``
        (size mismatches). Subclasses may override it to convert older layouts, as in torch.
        ``local_metadata["assign_to_params_buffers"]`` (set by ``load_state_dict(assign=True)``):
        the tensors are put in place of the module's instead of copied into them. The key
        ``prefix + "_extra_state"`` goes to :meth:`set_extra_state` where a subclass defines it."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        assign = local_metadata.get("assign_to_params_buffers", False)
        local_state = {k: v for k, v in self._parameters.items() if v is not None}
        local_state.update((k, v) for k, v in self._buffers.items() if v is not None and k not in self._non_persistent)
        for name, t in local_state.items():
            key = prefix + name
            if key not in state_dict:
                # like torch, a BatchNorm checkpoint without num_batches_tracked (older format) loads
                if strict and name != "num_batches_tracked":
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if _is_uninitialized(t) or _is_uninitialized(value):  # a lazy module's (minicnn.nn.lazy)
                if not _is_uninitialized(t):
                    value.shape  # noqa: B018 -- raises torch's RuntimeError: no shape to load from
                if not _is_uninitialized(value):  # no lazy module's load hook materialised t: torch's error
                    error_msgs.append(
                        f'While copying the parameter named "{key}", whose dimensions in the model are (0,) and '
                        f"whose dimensions in the checkpoint are {_host_array(value).shape}: the parameter or "
                        "buffer is uninitialized (only a lazy module materializes it as it loads)."
                    )
                continue  # both uninitialised: nothing to copy, as torch
            if assign and (isinstance(value, Tensor) or _is_array(value)):
                shape = tuple(value.shape)  # the value itself is kept, on its device
            else:
                value = arr = _host_array(value)
                shape = arr.shape
            if shape != t.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {shape} from checkpoint, "
                    f"the shape in current model is {t.shape}."
                )
                continue
            if assign:  # torch's assign=True: the module takes the value itself (its dtype, its memory)
                if isinstance(t, Parameter):
                    new = value if isinstance(value, Parameter) else Parameter(value)
                    new.requires_grad = t.requires_grad
                else:
                    new = value if isinstance(value, Tensor) else Tensor(value)
                registry = self._parameters if name in self._parameters else self._buffers
                registry[name] = new
                continue
            t.array = backend.to_device(arr.astype(t.dtype, copy=True), t.device)
        extra_key = prefix + _EXTRA_STATE_KEY
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    head, dot, _ = key[len(prefix) :].partition(".")
                    if (head not in self._modules) if dot else (head not in local_state):
                        unexpected_keys.append(key)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy values (Tensors or anything ``np.asarray`` takes) into parameters and buffers by name.
        ``assign=True`` (torch's): instead of copying, each parameter and buffer becomes the value
        itself, with its dtype and memory (a NumPy/CuPy array is wrapped, a Tensor kept; parameters
        stay Parameters with their ``requires_grad``).

        Returns ``_IncompatibleKeys(missing_keys, unexpected_keys)``. Like torch, a RuntimeError
        ("Error(s) in loading state_dict for ...") lists missing and unexpected keys when
        ``strict``, and shape mismatches always. Unlike torch, every parameter and buffer gets
        its old value back when it raises. Module by module (parent first): load pre-hooks,
        its own tensors, its children, then its load post-hooks (which may edit the key lists
        before ``strict`` is judged); see ``register_load_state_dict_pre_hook``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)  # a copy the pre-hooks may edit
        if metadata is not None:
            state_dict._metadata = metadata  # type: ignore[attr-defined]
        # the arrays and classes (a lazy module's uninitialised ones materialise as they load)
        old_values = [(t, type(t), t.__dict__["array"]) for _, t in self._state_tensors()]
        old_entries = [(reg, dict(reg)) for m in self.modules() for reg in (m._parameters, m._buffers)]

        def load(module: Module, local_state_dict: dict[str, Any], prefix: str = "") -> None:
            local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
            if assign:
                local_metadata = {**local_metadata, "assign_to_params_buffers": True}
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True, missing, unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = f"{prefix}{name}."
                    load(child, {k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)}, child_prefix)
            incompatible_keys = _IncompatibleKeys(missing, unexpected)
            for hook in module._load_state_dict_post_hooks.values():
                if hook(module, incompatible_keys) is not None:
                    raise AssertionError(
                        "Hooks registered with ``register_load_state_dict_post_hook`` are not "
                        "expected to return new values, if incompatible_keys need to be modified, "
                        "it should be done inplace."
                    )

        load(self, state_dict)
        if strict and unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
        if strict and missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            for t, cls, arr in old_values:
                if type(t) is not cls:
                    t.__class__ = cls
                t.array = arr
            for reg, entries in old_entries:
                reg.update(entries)
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        """torch's layout: a one-line extra_repr without children inline, else one line per
        extra_repr line and per child, each child's repr indented."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        head = f"{type(self).__name__}("
        if len(extra_lines) == 1 and not child_lines:
            return head + extra_lines[0] + ")"
        if lines:
            return head + "\n  " + "\n  ".join(lines) + "\n)"
        return head + ")"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def _abs_index(idx: Any, size: int) -> int:
    """``idx`` (negative counts from the end) as a position in ``range(size)``; IndexError if outside."""
    idx = operator.index(idx)
    if not -size <= idx < size:
        raise IndexError(f"index {idx} is out of range")
    return idx % size


class _Indexed(Module):
    """What Sequential and ModuleList share: children reached by position, renumbered 0..n-1
    after a deletion or an insertion (torch's numbering)."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def _key(self, idx: int) -> str:
        return list(self._modules)[_abs_index(idx, len(self))]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._key(idx), module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._key(idx)]
        for key in keys:
            delattr(self, key)
        self._renumber(list(self._modules.values()))

    def _renumber(self, modules: list[Module]) -> None:
        self._modules.clear()
        self._modules.update((str(i), m) for i, m in enumerate(modules))

    def __dir__(self) -> list[str]:
        """torch's: the children's names ``0``, ``1``, ... are left out."""
        return [k for k in super().__dir__() if not k.isdigit()]

    def insert(self, index: int, module: Module) -> _Indexed:
        """Insert ``module`` before position ``index`` (``-len <= index <= len``, else IndexError
        as torch's Sequential). As torch, the children named ``index``..``len-1`` move one name up;
        where those names are not all there (torch: KeyError), all children are renumbered 0..n."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        modules = list(self._modules.values())
        index = operator.index(index)
        if not -len(modules) <= index <= len(modules):
            raise IndexError(f"{type(self).__name__}.insert: index {index} is out of range for length {len(modules)}")
        if index < 0:
            index += len(modules)
        if all(str(i) in self._modules for i in range(index, len(modules))):
            # torch's: the modules under the names index..n-1 move one name up; other names stay
            for i in range(len(modules), index, -1):
                self._modules[str(i)] = self._modules[str(i - 1)]
            self._modules[str(index)] = module
            return self
        modules.insert(index, module)  # (torch: KeyError)
        self._renumber(modules)
        return self

    def extend(self, modules: Iterable[Module]) -> _Indexed:
        for m in modules:
            self.append(m)
        return self

    def append(self, module: Module) -> _Indexed:
        self.add_module(str(len(self)), module)
        return self

    def pop(self, idx: int = -1) -> Module:
        """Remove and return the module at ``idx`` (renumbering the rest)."""
        module = self[idx]
        del self[idx]
        return module


class Sequential(_Indexed):
    """Modules applied in order; ``Sequential(a, b)`` or ``Sequential(OrderedDict(...))``.
    Deleting renumbers the children 0..n-1, names given by a dict included (torch); see ``insert``."""

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, input: Any) -> Any:
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        return mods[_abs_index(idx, len(mods))][1]

    @staticmethod
    def _addend(other: Any) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
        return other

    def __add__(self, other: Sequential) -> Sequential:
        """A new Sequential of this one's modules then ``other``'s (shared, not copied), numbered 0..n-1."""
        return Sequential(*self, *self._addend(other))

    def __iadd__(self, other: Sequential) -> Sequential:
        return self.extend(list(self._addend(other)))  # type: ignore[return-value]

    def _repeats(self, other: Any) -> int:
        if not isinstance(other, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")
        return other

    def __mul__(self, other: int) -> Sequential:
        """A new Sequential holding this one's modules ``other`` times over (the same module objects)."""
        return Sequential(*(list(self) * self._repeats(other)))

    __rmul__ = __mul__

    def __imul__(self, other: int) -> Sequential:
        return self.extend(list(self) * (self._repeats(other) - 1))  # type: ignore[return-value]


class ModuleList(_Indexed):
    """A list of modules, registered as children ``0``, ``1``, ..."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or ():
            self.append(m)

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(self._modules.values())
        return ModuleList(mods[idx]) if isinstance(idx, slice) else mods[_abs_index(idx, len(mods))]

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        """A new ModuleList of this one's modules then ``other``'s (shared, not copied)."""
        return ModuleList([*self, *other])

    def __repr__(self) -> str:
        """torch's: a run of children that print alike is one line, ``(0-5): 6 x Block(...)``."""
        runs: list[list[Any]] = []  # [first index, last index, repr]
        for i, m in enumerate(self._modules.values()):
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        if not runs:
            return f"{type(self).__name__}()"
        lines = [
            (f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + text.replace("\n", "\n  ") for a, b, text in runs
        ]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class Container(Module):
    """torch's deprecated ``nn.Container(**kwargs)``: a Module with each keyword argument added as a
    child (``add_module(name, module)``, in order); constructing one gives torch's FutureWarning."""

    def __init__(self, **kwargs: Any) -> None:
        warnings.warn(
            "`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
            "Subclass that instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)


class ModuleDict(Module):
    """An ordered dict of modules, each registered as a child under its key."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove and return the module under ``key``."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) modules from a mapping or from an iterable of (key, module) pairs."""
        if isinstance(modules, Mapping):
            pairs: Iterable[Any] = modules.items()
        elif isinstance(modules, Iterable):
            pairs = modules
        else:
            raise TypeError(
                "ModuleDict.update should be called with an iterable of key/value pairs, "
                f"but got {type(modules).__name__}"
            )
        for j, pair in enumerate(pairs):
            if not isinstance(pair, Iterable) or isinstance(pair, (str, bytes)):
                raise TypeError(f"ModuleDict update sequence element #{j} should be Iterable; is {type(pair).__name__}")
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element #{j} has length {len(pair)}; 2 is required")
            self[pair[0]] = pair[1]


def _as_parameter(value: Any) -> Any:
    """A Tensor (or a NumPy/CuPy array) that is not a Parameter yet becomes one sharing its
    memory, as torch's ParameterList/ParameterDict do; anything else is kept as it is."""
    if (isinstance(value, Tensor) or _is_array(value)) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _entry_repr(key: Any, value: Any) -> str:
    """One line of a ParameterList/ParameterDict repr, torch's layout (dtype names as minicnn prints them)."""
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(n) for n in value.shape)
        device = "" if value.device == "cpu" else f" ({value.device})"
        return f"  ({key}): {kind} containing: [{value.dtype} of size {size}{device}]"
    return f"  ({key}): Object of type: {type(value).__name__}"


class _ParameterContainer(Module):
    """What ParameterList and ParameterDict share: torch's repr of a multi-line extra_repr
    (one line per entry, then the submodules), and no ``forward``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{type(self).__name__} should not be called.")


class ParameterList(_ParameterContainer):
    """A list of parameters, registered under ``"0"``, ``"1"``, ... (state-dict keys, names in
    ``parameters()`` of a parent). A Tensor (or NumPy/CuPy array) put in becomes a Parameter
    sharing its memory; other values (None, a Module, any object) are kept as they are, as
    torch's. Supports indexing (int or slice), assignment to an existing position, ``append``,
    ``extend``, ``+=``, ``len`` and iteration; no deletion or insertion (torch has none)."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self += values

    def _key(self, idx: int) -> str:
        return str(_abs_index(idx, len(self)))

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            out = type(self)()
            for i in range(*idx.indices(len(self))):
                out.append(self[i])
            return out
        return getattr(self, self._key(idx))

    def __setitem__(self, idx: int, param: Any) -> None:
        setattr(self, self._key(idx), _as_parameter(param))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return iter([self[i] for i in range(len(self))])

    def __iadd__(self, parameters: Iterable[Any]) -> ParameterList:
        return self.extend(parameters)

    def __dir__(self) -> list[str]:
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` at the end (a Tensor becomes a Parameter)."""
        self._size += 1
        try:
            self[self._size - 1] = value
        except Exception:
            self._size -= 1
            raise
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append each value of an iterable (not of a Tensor, which is not unpacked)."""
        if not isinstance(values, Iterable) or isinstance(values, Tensor) or _is_array(values):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(k, p) for k, p in enumerate(self))


class ParameterDict(_ParameterContainer):
    """An ordered dict of parameters, each registered under its (string) key. A Tensor (or
    NumPy/CuPy array) put in becomes a Parameter sharing its memory; other values are kept as
    they are, as torch's. Built from, and updated with, an OrderedDict or ParameterDict (their
    order), another mapping (its keys sorted, as torch) or an iterable of (key, value) pairs.
    A missing key raises KeyError (torch: AttributeError)."""

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self._keys: dict[str, None] = {}
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _check_key(key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError(
                "Index given to ParameterDict cannot be used as a key as it is not a string "
                f"(type is '{type(key).__name__}')"
            )
        return key

    def __getitem__(self, key: str) -> Any:
        if self._check_key(key) not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, self._check_key(key), _as_parameter(value))
        self._keys[key] = None

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._keys)

    def __contains__(self, key: Any) -> bool:
        return key in self._keys

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same values (the Parameters are shared, not copied)."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key: str, default: Any | None = None) -> Any:
        """``self[key]``, after setting it to ``default`` if ``key`` is missing."""
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        for k in list(self._keys):
            del self[k]

    def pop(self, key: str) -> Any:
        """Remove ``key`` and return its value."""
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last inserted (key, value) pair."""
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def get(self, key: str, default: Any | None = None) -> Any:
        return self[key] if key in self else default

    def fromkeys(self, keys: Iterable[str], default: Any | None = None) -> ParameterDict:
        """A new ParameterDict with each of ``keys`` set to ``default``."""
        return ParameterDict((k, default) for k in keys)

    def keys(self) -> Iterable[str]:
        return self._keys.keys()

    def items(self) -> Iterable[tuple[str, Any]]:
        return ((k, self[k]) for k in self._keys)

    def values(self) -> Iterable[Any]:
        return (self[k] for k in self._keys)

    def update(self, parameters: Any) -> None:
        """Set the entries of ``parameters`` (see the class docstring for the order)."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            for key, value in parameters.items():
                self[key] = value
        elif isinstance(parameters, Mapping):
            for key, value in sorted(parameters.items()):
                self[key] = value
        elif isinstance(parameters, Iterable) and not isinstance(parameters, (str, bytes, Tensor)):
            for j, pair in enumerate(parameters):
                if not isinstance(pair, Iterable):
                    raise TypeError(
                        f"ParameterDict update sequence element #{j} should be Iterable; is {type(pair).__name__}"
                    )
                pair = tuple(pair)
                if len(pair) != 2:
                    raise ValueError(
                        f"ParameterDict update sequence element #{j} has length {len(pair)}; 2 is required"
                    )
                self[pair[0]] = pair[1]
        else:
            raise TypeError(
                "ParameterDict.update should be called with an iterable of key/value pairs, "
                f"but got {type(parameters).__name__}"
            )

    def __or__(self, other: ParameterDict) -> ParameterDict:
        out = self.copy()
        out.update(other)
        return out

    def __ror__(self, other: ParameterDict) -> ParameterDict:
        out = other.copy()
        out.update(self)
        return out

    def __ior__(self, other: ParameterDict) -> ParameterDict:
        self.update(other)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(k, p) for k, p in self.items())


# -- global hooks (torch.nn.modules.module's register_module_*) ------------------------------------
def register_module_forward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Call ``hook(module, args)`` before the ``forward`` of every module (before the module's
    own pre-hooks); a non-None result replaces the positional arguments. For debugging and
    profiling: while one is registered, every module call goes through the hook path."""
    return Module._add_plain_hook(_global_forward_pre_hooks, hook, False)


def register_module_forward_hook(
    hook: Callable[..., Any], *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """Call ``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs, output)``)
    after the ``forward`` of every module, before the module's own forward hooks; a non-None
    result replaces the output. ``always_call``: as ``Module.register_forward_hook``'s."""
    flags = (_global_forward_hooks_with_kwargs, _global_forward_hooks_always_called)
    handle = Module._add_plain_hook(_global_forward_hooks, hook, False, flags)
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """``Module.register_full_backward_pre_hook`` for every module (run before the module's own)."""
    return Module._add_plain_hook(GLOBAL_BACKWARD_PRE_HOOKS, hook, False)


def register_module_full_backward_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """``Module.register_full_backward_hook`` for every module (run before the module's own)."""
    return Module._add_plain_hook(GLOBAL_BACKWARD_HOOKS, hook, False)


def register_module_backward_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """torch's deprecated global non-full backward hook: NotImplementedError, as
    :meth:`Module.register_backward_hook`; use :func:`register_module_full_backward_hook`."""
    raise NotImplementedError(
        "register_module_backward_hook: the deprecated non-full backward hook is not supported (its grad_input is "
        "that of torch's last autograd node); use register_module_full_backward_hook(hook)"
    )


def register_module_buffer_registration_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Call ``hook(module, name, buffer)`` whenever any module registers or assigns a buffer
    (``register_buffer``, ``module.name = tensor`` for a buffer, ``nn.Buffer``); a non-None result
    is stored instead. Returns a handle whose ``remove()`` unregisters it."""
    return Module._add_plain_hook(_global_buffer_registration_hooks, hook, False)


def register_module_module_registration_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Call ``hook(module, name, submodule)`` whenever any module registers or assigns a child
    (``add_module``, attribute assignment, also of None); a non-None result is stored instead."""
    return Module._add_plain_hook(_global_module_registration_hooks, hook, False)


def register_module_parameter_registration_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Call ``hook(module, name, param)`` whenever any module registers a Parameter (not None:
    ``register_parameter`` or attribute assignment); a non-None result is stored instead."""
    return Module._add_plain_hook(_global_parameter_registration_hooks, hook, False)
