"""Custom autograd Functions written as in torch: ``forward(ctx, ...)`` and ``backward(ctx, ...)``
as static methods on tensors, applied with ``MyFunction.apply(...)``.

    class Exp(mc.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, gy):
            (y,) = ctx.saved_tensors
            return gy * y

minicnn's own ops subclass the same :class:`minicnn.autograd.Function` with instance methods on
raw arrays (``forward(self, *xs)``); a subclass whose ``forward`` is a ``staticmethod`` is a
torch-style Function and is applied by :func:`apply` here instead. What it gives, as torch:

* ``forward`` runs with grad mode off, on the tensors and other arguments as passed (keyword
  arguments too); with ``setup_context(ctx, inputs, output)`` defined, ``forward`` takes no ctx.
* ``ctx``: ``save_for_backward`` / ``saved_tensors`` (refused if a saved tensor was written in
  place since), ``needs_input_grad``, ``mark_non_differentiable``, ``mark_dirty`` (the forward
  wrote an input in place and returns it), ``set_materialize_grads``, and any attribute but the
  few the engine keeps on its nodes (``inputs``, ``seq``, ...: refused with an AttributeError).
* ``ctx`` is the call's graph node, an instance of ``<Name>Backward``: the outputs' ``grad_fn``
  (its attributes, ``saved_tensors``, ``_forward_cls``, ``next_functions``, ``metadata``,
  ``register_hook``/``register_prehook``, ``apply(*grads)``, as torch's ``BackwardCFunction``).
* Under ``vmap`` a Function needs ``generate_vmap_rule = True`` or a ``vmap`` staticmethod
  (torch's error otherwise); minicnn then maps it slice by slice.
* ``backward(ctx, *grads)`` gets one gradient per output (zeros for an output that got none,
  or None after ``set_materialize_grads(False)``) and returns one per
  ``forward`` argument (None for non-tensors); more trailing Nones are allowed. A gradient of a
  broadcast shape is summed down to its input's shape; other shapes raise.
* The backward's own ops are recorded under ``create_graph=True``, so a backward written in
  differentiable ops gives higher derivatives, unless decorated with :func:`once_differentiable`
  (then differentiating it again raises).

One graph node stands for the whole call. With several differentiable outputs they are views
of one packed buffer (one copy in the forward), so that the engine, which gives each node one
output, hands the node all output gradients at once; those views' nodes show the custom node
as their ``grad_fn`` (``Function.shown_as``), as torch's outputs share one.
"""

from __future__ import annotations

import functools
import math
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from . import autograd as ag
from . import engine
from . import random as _random
from .autograd import Function, Tensor

_FLOAT = "fc"


class FunctionCtx:
    """The ``ctx`` of a torch-style Function: what ``forward`` leaves for ``backward``. As in
    torch, each call's ctx is an instance of its graph node class ``<Name>Backward`` (a
    subclass of this one): the output's ``grad_fn`` is the ctx itself."""

    def __init__(self) -> None:
        self._to_save: tuple[Tensor | None, ...] = ()
        self._saved: tuple[tuple[Any, int], ...] | None = ()  # set from _to_save when the forward ends
        self._dirty: tuple[Tensor, ...] = ()
        self._non_differentiable: tuple[Tensor, ...] = ()
        self._materialize_grads = True

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep ``tensors`` (or None) for ``backward``; their versions are checked when read."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument is of type {type(t).__name__}"
                )
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """What ``save_for_backward`` kept (empty until the forward has returned, as torch's),
        refusing a tensor written in place since."""
        if self._saved is None:  # freed by a backward without retain_graph (saved or not): torch's error
            raise engine._second_time()
        for i, (t, version) in enumerate(self._saved):
            if t is not None and t._version != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: saved tensor {i} of shape {t.shape} is at version {t._version}; expected "
                    f"version {version} instead"
                )
        return tuple(t for t, _ in self._saved)

    saved_variables = saved_tensors  # torch's deprecated name

    def mark_dirty(self, *tensors: Tensor) -> None:
        """The forward wrote these inputs in place (and returns them)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """These outputs get no gradient (indices, masks): they do not require grad."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """False: ``backward`` gets None, not zeros, for outputs without a gradient."""
        self._materialize_grads = bool(value)

    def _set_materialize(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"materialize_grads must be a bool, got {type(value).__name__}")
        self._materialize_grads = value

    # torch's: settable (a bool), not readable
    materialize_grads = property(None, _set_materialize, doc="Same as :meth:`set_materialize_grads` (write-only).")


def once_differentiable(backward: Callable[..., Any]) -> Callable[..., Any]:
    """torch's decorator for a ``backward`` that is not differentiable itself: it runs with grad
    mode off, and differentiating its result again (``create_graph=True`` and a second pass)
    raises instead of giving a silently wrong zero."""

    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        with ag.no_grad():
            out = backward(ctx, *grads)
        if not ag.is_grad_enabled() or not any(isinstance(g, Tensor) and g.requires_grad for g in grads):
            return out
        single = not isinstance(out, tuple)
        wrapped = tuple(
            _DifferentiatedTwice.apply(g, *[x for x in grads if isinstance(x, Tensor)]) if isinstance(g, Tensor) else g
            for g in ((out,) if single else out)
        )
        return wrapped[0] if single else wrapped

    wrapper._once_differentiable = True
    return wrapper


class _DifferentiatedTwice(Function):
    """The result of a ``once_differentiable`` backward under create_graph: its value, and a
    backward that raises (torch's ``DelayedError``)."""

    def forward(self, g, *grads):
        return g

    def backward(self, gy):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")

    def backward_graph(self, gy, *xs):  # (under create_graph too)
        return self.backward(gy)


_NODE_CLASSES: dict[type, type] = {}

# what the engine keeps on a graph node under these names (Function.apply's bookkeeping): a ctx
# attribute of the same name would be overwritten, so forward may not set them
_ENGINE_NAMES = frozenset(("inputs", "versions", "seq", "out_version", "released", "stubbed", "forward_stack"))


def _node_class(cls: type) -> type:
    """The graph node class of a torch-style Function: ``<Name>Backward``, as torch's grad_fn."""
    node = _NODE_CLASSES.get(cls)
    if node is None:
        node = _NODE_CLASSES[cls] = type(
            f"{cls.__name__}Backward", (_CustomNode,), {"_forward_cls": cls, "__module__": "minicnn.autograd.function"}
        )
    return node


def apply(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``cls.apply(*args, **kwargs)`` for a torch-style Function ``cls`` (see the module docstring)."""
    args = tuple(ag._latest(a) if isinstance(a, Tensor) else a for a in args)
    if _random._vmap_levels and not getattr(cls, "generate_vmap_rule", False) and not _has_vmap_rule(cls):
        raise RuntimeError(
            f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please override and "
            "implement the vmap staticmethod or set generate_vmap_rule=True."
        )
    ctx = _node_class(cls)()
    record = ag.is_grad_enabled() and any(isinstance(a, Tensor) and a._requires_grad for a in args)
    ctx._needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
    versions = {id(a): a._version for a in args if isinstance(a, Tensor)}
    with ag.no_grad():
        if getattr(cls, "setup_context", None) is not None:
            output = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args, **kwargs)
    clash = _ENGINE_NAMES.intersection(ctx.__dict__)
    if clash:
        raise AttributeError(
            f"{cls.__name__}.forward set ctx.{min(clash)}: minicnn's graph node (the ctx, as torch's grad_fn) "
            f"keeps its own {sorted(_ENGINE_NAMES)} there; use another attribute name"
        )
    ctx._saved = tuple((t, 0 if t is None else t._version) for t in ctx._to_save)
    single = not isinstance(output, tuple)
    outs = list((output,) if single else output)
    dirty = {id(t) for t in ctx._dirty}
    for a in args:
        if isinstance(a, Tensor) and id(a) not in dirty and a._version != versions[id(a)]:
            raise RuntimeError(
                f"{cls.__name__}.forward wrote its input of shape {a.shape} in place without ctx.mark_dirty(...)"
            )
    if dirty - {id(o) for o in outs}:
        raise RuntimeError(
            "Some elements marked as dirty during the forward method were not returned as output. The inputs "
            "that are modified inplace must all be outputs of the Function."
        )
    non_diff = {id(t) for t in ctx._non_differentiable}
    inputs = {id(a) for a in args if isinstance(a, Tensor)}
    rebase: dict[int, Tensor] = {}  # output index -> the input that the forward wrote and returns
    for k, o in enumerate(outs):  # an input returned: a new tensor on its memory, as torch's view
        if isinstance(o, Tensor) and id(o) in inputs:
            if id(o) in dirty:
                if not record:  # no graph to change: the input itself, as torch
                    continue
                rebase[k] = o
            outs[k] = _alias(o, view=id(o) not in dirty)
            if id(o) in non_diff:
                non_diff.add(id(outs[k]))
    diff = [k for k, o in enumerate(outs) if isinstance(o, Tensor) and o.dtype.kind in _FLOAT and id(o) not in non_diff]
    if record:
        for k in diff:
            if outs[k]._view_of is not None:  # an input returned as is
                outs[k]._no_inplace = (
                    f"Output {k} of {cls.__name__} is a view and is being modified inplace. This view was created "
                    "inside a custom Function (or because an input was returned as-is) and the autograd logic to "
                    "handle view+inplace would override the custom backward associated with the custom Function, "
                    "leading to incorrect gradients. This behavior is forbidden. You can fix this by cloning the "
                    "output of the custom Function."
                )
    if record and diff:
        if rebase and len(diff) > 1:
            raise NotImplementedError(
                f"{cls.__name__}: ctx.mark_dirty with more than one differentiable output is not supported by minicnn"
            )
        _record(ctx, args, outs, diff)
        for k, x in rebase.items():
            _rebase_dirty(x, outs[k])
        rebased = {id(x) for x in rebase.values()}
    else:
        rebased = set()
        if record:
            ctx._saved = None  # nothing will ever read them
    for t in ctx._dirty:  # torch's mark_dirty counts as a write of its own (_rebase_dirty's one for those)
        if id(t) not in rebased:
            t._version += 1
    return outs[0] if single else tuple(outs)


def _has_vmap_rule(cls: type) -> bool:
    """Whether ``cls`` (or a base below :class:`Function`) defines torch's ``vmap`` staticmethod."""
    return any("vmap" in vars(k) for k in cls.__mro__ if k is not Function and issubclass(k, Function))


def _alias(x: Tensor, view: bool) -> Tensor:
    """A new tensor object on ``x``'s memory (a view of x sharing its version counter)."""
    out = ag._wrap(x.array)
    if view:
        out._share_version(x)
        out._view_of = x
    return out


def _record(node: _CustomNode, args: tuple[Any, ...], outs: list[Any], diff: list[int]) -> None:
    """Make ``node`` (the call's ctx) the graph node of the call and the differentiable outputs its results."""
    tensors = tuple(a for a in args if isinstance(a, Tensor))
    node._args, node._outs = args, [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outs]
    node._diff = diff
    versions = []
    for t in tensors:
        vc = t._vc
        if vc is not None and vc[1] > t._graph_version:
            raise ag._stale(node._forward_cls.__name__, t)
        versions.append(0 if vc is None else vc[0])
    node.versions = tuple(versions)
    node.seq = next(ag._sequence)
    node.inputs = tensors
    if ag._anomaly_enabled:
        node.forward_stack = traceback.extract_stack()[:-2]
    if len(diff) == 1:
        packed = outs[diff[0]]
    else:  # several outputs: views of one buffer that the node produces
        xp = outs[diff[0]].xp
        dtype = xp.result_type(*[outs[k].dtype for k in diff])
        packed = Tensor(xp.concatenate([outs[k].array.astype(dtype, copy=False).reshape(-1) for k in diff]))
    _attach(packed, node)
    if len(diff) == 1:
        packed._output_of = (node.seq, diff[0])  # its place among the outputs (Tensor.output_nr)
    if len(diff) > 1:
        start = 0
        for k in diff:
            o = outs[k]
            stop = start + o.numel()
            view = _Unpack.apply(packed, start=start, stop=stop, shape=o.shape, dtype=o.dtype, k=k)
            o.array, o._grad_fn, o._requires_grad = view.array, view._grad_fn, True
            o._output_of = (o._grad_fn.seq, k)  # (Tensor.output_nr)
            # (torch's outputs are separate tensors, not views: each keeps a version counter of its own,
            # so writing one in place leaves the others usable; the buffer's values are never read)
            o._vc, o._graph_version, o._view_of = None, 0, None
            start = stop


def _attach(out: Tensor, node: _CustomNode) -> None:
    out._grad_fn, out._requires_grad = node, True
    out._graph_version = node.out_version = out._version


def _rebase_dirty(x: Tensor, out: Tensor) -> None:
    """``x`` was written in place by the forward (``ctx.mark_dirty``) and ``out``, the node's
    result on x's memory, now stands for it, as after one of minicnn's recorded in-place writes
    (``Tensor._record_inplace``, which also rebuilds the base of a view and refuses a leaf): the
    node's input is x with its old history, and ops given x afterwards use ``out``. (Its copy of
    x's old value is not needed here, but it keeps one code path for in-place writes.)"""
    base = x
    while base is not None:  # (checked here for torch's message)
        if base._grad_fn is None and base._requires_grad:
            kind = "a leaf Variable" if base is x else "a view of a leaf Variable"
            raise RuntimeError(f"{kind} that requires grad has been used in an in-place operation.")
        base = base._view_of
    x._record_inplace(lambda old: out, "mark_dirty", written=True)


class _Unpack(Function):
    """One output of a multi-output custom Function: a view of the packed buffer."""

    def forward(self, p):
        return p[self.start : self.stop].reshape(self.shape).astype(self.dtype, copy=False)

    @property
    def shown_as(self) -> tuple[Any, int]:  # type: ignore[override]
        """As torch's: an output's ``grad_fn`` is the custom node itself (``next_functions``: ``(node, k)``)."""
        return self.inputs[0]._grad_fn, self.k

    def name(self) -> str:
        return self.inputs[0]._grad_fn.name()

    def _reached(self) -> None:
        """Tell the custom node that output ``k`` got a gradient in this pass (torch passes None
        for one that did not, under ``set_materialize_grads(False)``)."""
        node = self.inputs[0]._grad_fn
        node.__dict__.setdefault("_reached", set()).add(self.k)

    def backward_part(self, gy):
        self._reached()
        return slice(self.start, self.stop), gy.reshape(-1)

    def backward(self, gy):
        self._reached()
        xp = ag.backend.get_array_module(gy)
        g = xp.zeros(self.inputs[0].shape, dtype=self.inputs[0].dtype)
        g[self.start : self.stop] = gy.reshape(-1)
        return g

    linear = True


class _CustomNode(FunctionCtx, Function):
    """The graph node of one call of a torch-style Function, and that call's ``ctx`` (torch's
    ``BackwardCFunction``): ``y.grad_fn`` is the ctx, with the attributes forward set on it,
    ``saved_tensors``, ``needs_input_grad``, ``_forward_cls``, ``next_functions``, ``name()``,
    ``metadata``, ``register_hook`` / ``register_prehook`` and ``apply(*grads)`` (the user's
    backward on this ctx). Its backward runs the user's ``backward``."""

    _forward_cls: type = Function
    calls_user_code = True  # the user's backward sees the engine's order: torch's (engine._in_torch_order)
    graph_reads = ()  # backward_graph reads the saved tensors (checked by saved_tensors), not the inputs

    def __init__(self) -> None:
        FunctionCtx.__init__(self)
        self._needs: tuple[bool, ...] = ()

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """torch's: per forward argument, whether it is a tensor that requires grad (fixed at the
        forward; the engine's narrowing of one pass to the inputs asked for is not shown)."""
        return self._needs

    @needs_input_grad.setter
    def needs_input_grad(self, value: tuple[bool, ...]) -> None:  # (the engine's narrowing: see engine._narrowed)
        pass

    @property
    def requires_grad(self) -> bool:
        """True, as torch's ``ctx.requires_grad`` reads (not settable)."""
        return True

    @property
    def metadata(self) -> dict[Any, Any]:
        """A dict of the user's own, kept with the node (torch's ``grad_fn.metadata``)."""
        return self.__dict__.setdefault("_metadata", {})

    def register_hook(self, hook: Callable[..., Any]) -> Any:
        """``hook(grad_inputs, grad_outputs)`` after the node's backward (one gradient per tensor
        input, None where none); a returned tuple of as many replaces ``grad_inputs``."""
        return ag._add_hook(self.__dict__.setdefault("_post", {}), hook)

    def register_prehook(self, hook: Callable[..., Any]) -> Any:
        """``hook(grad_outputs)`` before the node's backward (one per output); a returned tuple of
        as many replaces them."""
        return ag._add_hook(self.__dict__.setdefault("_pre", {}), hook)

    def apply(self, *grads: Any) -> Any:  # type: ignore[override]
        """The user's ``backward`` on this ctx with ``grads`` (torch's ``grad_fn.apply``)."""
        return self._forward_cls.backward(self, *grads)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__} object at {hex(id(self))}>"

    def _grads_of_outputs(self, gy: Any, as_tensor: bool) -> list[Any]:
        """The output gradients for the user's backward, one per output of the forward (None
        for one that got none in this pass, turned into zeros unless set_materialize_grads(False)),
        after the pre-hooks."""
        diff = self._diff
        pieces: dict[int, Any] = {}
        if len(diff) == 1:
            pieces[diff[0]] = gy
        else:
            reached = self.__dict__.pop("_reached", ())
            start = 0
            for k in diff:
                shape, dtype = self._outs[k]
                n = math.prod(shape)
                piece = gy[start : start + n].reshape(shape)
                if k in reached:
                    pieces[k] = piece.to(dtype) if as_tensor else piece.astype(dtype, copy=False)
                start += n
        grads = [pieces.get(k) for k in range(len(self._outs))]
        if not as_tensor:
            grads = [None if g is None else ag._wrap(g) for g in grads]
        if self.__dict__.get("_pre"):
            grads = _run_hooks(self._pre, (tuple(grads),), len(grads))
        if self._materialize_grads:
            xp = ag.backend.get_array_module(gy.array if as_tensor else gy)
            grads = [
                ag._wrap(xp.zeros(meta[0], dtype=meta[1])) if g is None and meta is not None else g
                for g, meta in zip(grads, self._outs)
            ]
        return grads

    def _input_grads(self, result: Any, grads: list[Any]) -> list[Any]:
        """The user's backward result checked and matched to the node's tensor inputs (then the hooks)."""
        name = type(self).__name__
        result = result if isinstance(result, tuple) else (result,)
        n = len(self._args)
        if len(result) < n or any(g is not None for g in result[n:]):
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients (expected {n}, got {len(result)})"
            )
        out = []
        for i, (a, g) in enumerate(zip(self._args, result)):
            if not isinstance(a, Tensor):
                if g is not None:
                    raise RuntimeError(
                        f"function {name} returned a gradient different than None at position {i + 1}, but the "
                        "corresponding forward input was not a Variable"
                    )
                continue
            if g is not None:
                if not isinstance(g, Tensor):  # torch: a RuntimeError
                    raise RuntimeError(
                        f"function {name} returned a gradient of type {type(g).__name__} at position {i + 1}: "
                        "expected Variable or None"
                    )
                if g.shape != a.shape:
                    g = _sum_to(g, a.shape, name, i)
                if g.dtype != a.dtype:
                    g = g.to(a.dtype)
            out.append(g)
        if self.__dict__.get("_post"):
            out = _run_hooks(self._post, (tuple(out), tuple(grads)), len(out))
        return out

    def backward(self, gy: Any) -> tuple[Any, ...]:
        grads = self._grads_of_outputs(gy, as_tensor=False)
        with ag.no_grad():
            result = self._forward_cls.backward(self, *grads)
        return tuple(None if g is None else g.array for g in self._input_grads(result, grads))

    def backward_graph(self, gy: Tensor, *xs: Tensor) -> tuple[Any, ...]:
        grads = self._grads_of_outputs(gy, as_tensor=True)
        result = self._forward_cls.backward(self, *grads)
        return tuple(self._input_grads(result, grads))

    def release(self) -> None:
        """torch's rule for a custom Function after a backward without retain_graph: only what
        ``save_for_backward`` kept is freed (``ctx.saved_tensors`` raises from then on, even if
        nothing was saved); ``ctx`` and its other attributes stay, and so does the node, whose
        backward runs again in a later pass (its inputs become stubs: :meth:`Function.keep_edges`)."""
        self._saved = None
        self._args = tuple([ag._stub(a) if isinstance(a, Tensor) else a for a in self._args])
        self.keep_edges()


BackwardCFunction = _CustomNode  # torch's name of the base of every custom Function's node (ctx)


def _run_hooks(hooks: dict[int, Any], args: tuple[Any, ...], n: int) -> list[Any]:
    """Call each of a node's ``hooks`` on ``args``; a returned tuple (of ``n``) replaces ``args[0]``."""
    values = args[0]
    for hook in list(hooks.values()):
        out = hook(values, *args[1:])
        if out is None:
            continue
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        if len(out) != n:
            name = getattr(hook, "__name__", type(hook).__name__)
            raise RuntimeError(
                f"hook '{name}' has returned an incorrect number of values (got {len(out)}, but expected {n})"
            )
        values = out
    return list(values)


def _sum_to(g: Tensor, shape: tuple[int, ...], name: str, i: int) -> Tensor:
    """``g`` summed down to ``shape`` where ``shape`` broadcasts to g's shape (torch's sum_to)."""
    try:
        ok = np.broadcast_shapes(shape, g.shape) == g.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(
            f"Function {name} returned an invalid gradient at index {i} - got {list(g.shape)} but expected shape "
            f"compatible with {list(shape)}"
        )
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + j for j, s in enumerate(shape) if s == 1 and g.shape[lead + j] != 1)
    return g.sum(dim=axes, keepdim=True).reshape(shape) if axes else g.reshape(shape)
