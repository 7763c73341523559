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
  wrote an input in place and returns it), ``set_materialize_grads``, and any attribute.
* ``backward(ctx, *grads)`` gets one gradient per output (zeros for an output that got none,
  or None after ``set_materialize_grads(False)`` where minicnn can tell) and returns one per
  ``forward`` argument (None for non-tensors); more trailing Nones are allowed. A gradient of a
  broadcast shape is summed down to its input's shape; other shapes raise.
* The backward's own ops are recorded under ``create_graph=True``, so a backward written in
  differentiable ops gives higher derivatives, unless decorated with :func:`once_differentiable`
  (then differentiating it again raises).

One graph node stands for the whole call. With several differentiable outputs they are views
of one packed buffer (one copy in the forward), so that the engine, which gives each node one
output, hands the node all output gradients at once.
"""

from __future__ import annotations

import functools
import math
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from . import autograd as ag
from .autograd import Function, Tensor

_FLOAT = "fc"


class FunctionCtx:
    """The ``ctx`` of a torch-style Function: what ``forward`` leaves for ``backward``."""

    needs_input_grad: tuple[bool, ...] = ()

    def __init__(self) -> None:
        self._saved: tuple[tuple[Any, int], ...] = ()
        self._dirty: tuple[Tensor, ...] = ()
        self._non_differentiable: tuple[Tensor, ...] = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep ``tensors`` (or None) for ``backward``; their versions are checked when read."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument is of type {type(t).__name__}"
                )
        self._saved = tuple((t, 0 if t is None else t._version) for t in tensors)

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """What ``save_for_backward`` kept, as torch refusing a tensor written in place since."""
        if self._saved is None:  # freed by a backward without retain_graph (saved or not): torch's error
            raise ag._second_time()
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
        self.materialize_grads = bool(value)


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


def _node_class(cls: type) -> type:
    """The graph node class of a torch-style Function: ``<Name>Backward``, as torch's grad_fn."""
    node = _NODE_CLASSES.get(cls)
    if node is None:
        node = _NODE_CLASSES[cls] = type(f"{cls.__name__}Backward", (_CustomNode,), {"function": cls})
    return node


def apply(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``cls.apply(*args, **kwargs)`` for a torch-style Function ``cls`` (see the module docstring)."""
    args = tuple(ag._latest(a) if isinstance(a, Tensor) else a for a in args)
    ctx = FunctionCtx()
    record = ag.is_grad_enabled() and any(isinstance(a, Tensor) and a._requires_grad for a in args)
    ctx.needs_input_grad = tuple(record and isinstance(a, Tensor) and a._requires_grad for a in args)
    versions = {id(a): a._version for a in args if isinstance(a, Tensor)}
    with ag.no_grad():
        if getattr(cls, "setup_context", None) is not None:
            output = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(output, tuple)
    outs = list((output,) if single else output)
    dirty = {id(t) for t in ctx._dirty}
    for a in args:
        if isinstance(a, Tensor) and id(a) not in dirty and a._version != versions[id(a)]:
            raise RuntimeError(
                f"{cls.__name__}.forward wrote its input of shape {a.shape} in place without ctx.mark_dirty(...)"
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
    if record and diff:
        if rebase and len(diff) > 1:
            raise NotImplementedError(
                f"{cls.__name__}: ctx.mark_dirty with more than one differentiable output is not supported by minicnn"
            )
        _record(cls, ctx, args, outs, diff)
        for k, x in rebase.items():
            _rebase_dirty(x, outs[k])
    elif record:
        ctx._saved = None  # nothing will ever read them
    return outs[0] if single else tuple(outs)


def _alias(x: Tensor, view: bool) -> Tensor:
    """A new tensor object on ``x``'s memory (a view of x sharing its version counter)."""
    out = ag._wrap(x.array)
    if view:
        out._share_version(x)
        out._view_of = x
    return out


def _record(cls: type, ctx: FunctionCtx, args: tuple[Any, ...], outs: list[Any], diff: list[int]) -> None:
    """Make one graph node for the call and make the differentiable outputs its results."""
    tensors = tuple(a for a in args if isinstance(a, Tensor))
    node = _node_class(cls)()
    node.ctx, node.args, node.outs = ctx, args, [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outs]
    node.diff = diff
    node.requires_grad = True
    node.needs_input_grad = tuple(t._requires_grad for t in tensors)
    versions = []
    for t in tensors:
        vc = t._vc
        if vc is not None and vc[1] > t._graph_version:
            raise ag._stale(cls.__name__, t)
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
    if len(diff) > 1:
        start = 0
        for k in diff:
            o = outs[k]
            stop = start + o.numel()
            view = _Unpack.apply(packed, start=start, stop=stop, shape=o.shape, dtype=o.dtype)
            o.array, o._grad_fn, o._requires_grad = view.array, view._grad_fn, True
            o._vc, o._graph_version, o._view_of = view._vc, view._graph_version, packed
            start = stop


def _attach(out: Tensor, node: _CustomNode) -> None:
    out._grad_fn, out._requires_grad = node, True
    out._graph_version = node.out_version = out._version


def _rebase_dirty(x: Tensor, out: Tensor) -> None:
    """``x`` was written in place by the forward (``ctx.mark_dirty``) and ``out``, the node's
    result on x's memory, now stands for it: the node's input is x with its old history, and
    ops given x afterwards use ``out`` (minicnn's in-place writes, ``Tensor._record_inplace``)."""
    base = x
    while base is not None:
        if base._grad_fn is None and base._requires_grad:
            kind = "a leaf Variable" if base is x else "a view of a leaf Variable"
            raise RuntimeError(f"{kind} that requires grad has been used in an in-place operation.")
        base = base._view_of
    if x._view_of is not None:
        raise NotImplementedError("ctx.mark_dirty on a view of another tensor is not supported by minicnn")
    x._version = x._version  # (make sure it has a counter)
    x._vc[1] = x._vc[0]  # views of this memory made before now are stale
    out._share_version(x)
    out._graph_version = out._grad_fn.out_version = out._version
    out._retain_grad, x._retain_grad = x._retain_grad, False
    x._superseded_by = out


class _Unpack(Function):
    """One output of a multi-output custom Function: a view of the packed buffer."""

    def forward(self, p):
        return p[self.start : self.stop].reshape(self.shape).astype(self.dtype, copy=False)

    def backward_part(self, gy):
        return slice(self.start, self.stop), gy.reshape(-1)

    def backward(self, gy):
        xp = ag.backend.get_array_module(gy)
        g = xp.zeros(self.inputs[0].shape, dtype=self.inputs[0].dtype)
        g[self.start : self.stop] = gy.reshape(-1)
        return g

    linear = True


class _CustomNode(Function):
    """The graph node of one call of a torch-style Function: runs the user's ``backward``."""

    function: type = Function
    graph_reads = ()  # backward_graph reads the saved tensors (checked by saved_tensors), not the inputs

    def _grads_of_outputs(self, gy: Any, as_tensor: bool) -> list[Any]:
        """The output gradients for the user's backward, one per output of the forward."""
        diff = self.diff
        pieces: dict[int, Any] = {}
        if len(diff) == 1:
            pieces[diff[0]] = gy
        else:
            start = 0
            for k in diff:
                shape, dtype = self.outs[k]
                n = math.prod(shape)
                piece = gy[start : start + n].reshape(shape)
                pieces[k] = piece.to(dtype) if as_tensor else piece.astype(dtype, copy=False)
                start += n
        grads = []
        xp = ag.backend.get_array_module(gy.array if as_tensor else gy)
        for k, meta in enumerate(self.outs):
            if k in pieces:
                g = pieces[k]
                grads.append(g if as_tensor else ag._wrap(g))
            elif meta is None or not self.ctx.materialize_grads:
                grads.append(None)
            else:
                grads.append(ag._wrap(xp.zeros(meta[0], dtype=meta[1])))
        return grads

    def _input_grads(self, result: Any) -> list[Any]:
        """The user's backward result checked and matched to the node's tensor inputs."""
        name = type(self).__name__
        result = result if isinstance(result, tuple) else (result,)
        n = len(self.args)
        if len(result) < n or any(g is not None for g in result[n:]):
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients (expected {n}, got {len(result)})"
            )
        out = []
        for i, (a, g) in enumerate(zip(self.args, result)):
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
        return out

    def backward(self, gy: Any) -> tuple[Any, ...]:
        grads = self._grads_of_outputs(gy, as_tensor=False)
        with ag.no_grad():
            result = self.function.backward(self.ctx, *grads)
        return tuple(None if g is None else g.array for g in self._input_grads(result))

    def backward_graph(self, gy: Tensor, *xs: Tensor) -> tuple[Any, ...]:
        grads = self._grads_of_outputs(gy, as_tensor=True)
        result = self.function.backward(self.ctx, *grads)
        return tuple(self._input_grads(result))

    def release(self) -> None:
        """torch's rule for a custom Function after a backward without retain_graph: only what
        ``save_for_backward`` kept is freed (``ctx.saved_tensors`` raises from then on, even if
        nothing was saved); ``ctx`` and its other attributes stay, and so does the node, whose
        backward runs again in a later pass (its inputs become stubs: :meth:`Function.keep_edges`)."""
        self.ctx._saved = None
        self.args = tuple([ag._stub(a) if isinstance(a, Tensor) else a for a in self.args])
        self.keep_edges()


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
