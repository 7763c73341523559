"""Gradient checkpointing, as ``torch.utils.checkpoint`` (its non-reentrant variant).

``checkpoint(f, *args)`` returns ``f(*args)`` without keeping the activations computed inside
``f`` for the backward pass; backward runs ``f`` again with a graph and differentiates that.
A deep network split into k segments then holds only the segments' inputs plus one segment's
activations at a time: memory O(n/k + k) instead of O(n) activations, for one more forward
pass.

How it works here (the engine, :mod:`minicnn.autograd`, is untouched):

* forward: ``f`` runs once with a graph, on :class:`~minicnn.autograd.Alias` nodes of the tensor
  arguments. A walk of that graph from the outputs finds what gradients flow to: the arguments
  (the aliases stop the walk) and the leaves used inside (parameters). Then the graph is
  dropped, and with it every activation it kept. One :class:`_Checkpoint` node takes its place:
  its inputs are those arguments and leaves, its output a small hidden *token* (one number per
  output); each output that requires grad is a :class:`_CheckpointOutput` node on the token,
  whose backward hands its gradient over to the ``_Checkpoint`` node (which runs after them all)
  and gives the token a 1 in its own slot, so the node knows which outputs have a gradient in
  this pass. The token is never seen, so an output that was not differentiated gets no
  gradient (None, no hook call), and what only it depends on gets none either, as in torch.
* backward: the node restores the random state seen by the forward (so dropout draws the same
  masks), runs ``f`` again with a graph on fresh aliases, and takes the gradients of the
  recomputed outputs with respect to the aliases and the leaves (:func:`minicnn.autograd.grad`
  seeded with the output gradients; the aliases are cut from what precedes them meanwhile, so
  a weight also used before the arguments, e.g. in the previous checkpoint, gets only its
  gradient through ``f`` here). Same ops on the same values: the gradients equal those
  of the plain call exactly. Under ``create_graph=True`` that inner ``grad`` records a graph
  too, so second derivatives (a gradient penalty through a checkpointed block) work.

Side effects of ``f`` happen twice, as in torch: batch norm in training updates its running
statistics in the forward and again in the recomputation.

A tensor with a history that ``f`` reads from a closure instead of its arguments still gets
correct gradients (the walk goes on to its leaves, and the recomputation's backward goes
through its history again, keeping it), but passing it as an argument is cheaper.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import backend, random
from ..autograd import Alias, Function, Tensor, _base_id, enable_grad, is_grad_enabled
from ..engine import grad

__all__ = ["checkpoint", "checkpoint_sequential", "noop_context_fn"]


def noop_context_fn() -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
    """torch's default ``context_fn``: no context around the forward or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


# -- random state -----------------------------------------------------------------------------
class _RandomState:
    """The random state a checkpointed forward starts from, to replay it in the recomputation.

    The host generator's state is saved and put back (``replay`` then restores the state it
    found, so the recomputation leaves the stream where it was, as torch's ``fork_rng``). A CuPy
    generator's state cannot be saved; for each GPU of the arguments the forward and the replay
    both run on a generator seeded with one number drawn from the GPU's stream.
    """

    def __init__(self, tensors: list[Tensor]) -> None:
        self.host = random.generator(np).bit_generator.state
        self.gpu_seeds: dict[str, tuple[int, Any]] = {}  # device -> (seed, an empty array there)
        for t in tensors:
            if t.device != "cpu" and t.device not in self.gpu_seeds:
                with backend.array_scope(t.array):
                    seed = int(random.generator(t.xp).integers(0, 2**62))
                    self.gpu_seeds[t.device] = (seed, t.xp.empty(0, dtype=t.dtype))

    @contextlib.contextmanager
    def _gpu_streams(self) -> Iterator[None]:
        swapped = []
        for seed, like in self.gpu_seeds.values():
            xp = backend.get_array_module(like)
            with backend.array_scope(like):
                index = xp.cuda.runtime.getDevice()
                swapped.append((index, random._cp_rngs.get(index)))
                random._cp_rngs[index] = xp.random.default_rng(seed)
        try:
            yield
        finally:
            for index, rng in swapped:
                if rng is None:
                    random._cp_rngs.pop(index, None)
                else:
                    random._cp_rngs[index] = rng

    def forward(self) -> contextlib.AbstractContextManager:
        return self._gpu_streams() if self.gpu_seeds else contextlib.nullcontext()

    @contextlib.contextmanager
    def replay(self) -> Iterator[None]:
        gen = random.generator(np)
        now = gen.bit_generator.state
        gen.bit_generator.state = self.host
        try:
            with self.forward():
                yield
        finally:
            gen.bit_generator.state = now


# -- nested outputs ---------------------------------------------------------------------------
class _Slot:
    """Where output k of the checkpoint node goes in the returned structure."""

    def __init__(self, index: int) -> None:
        self.index = index


def _flatten(obj: Any) -> list[Any]:
    """The tensors in ``obj`` (a tensor, or tuples, lists and dicts of them and other things),
    depth first in order (and the :class:`_Slot` markers that stand for outputs)."""
    if isinstance(obj, (Tensor, _Slot)):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _flatten(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _flatten(item)]
    return []


def _rebuild(obj: Any, tensors: Iterator[Any]) -> Any:
    """``obj`` with its tensors (and markers) replaced, in :func:`_flatten`'s order, by ``tensors``."""
    if isinstance(obj, (Tensor, _Slot)):
        return next(tensors)
    if isinstance(obj, (tuple, list)):
        items = [_rebuild(item, tensors) for item in obj]
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
            return type(obj)(*items)
        return type(obj)(items)
    if isinstance(obj, dict):  # a copy keeps a subclass's own state (a defaultdict's factory)
        new = copy.copy(obj)
        for k, v in obj.items():
            new[k] = _rebuild(v, tensors)
        return new
    return obj


# -- the graph nodes --------------------------------------------------------------------------
class _Segment:
    """What the recomputation needs: the function, its non-tensor arguments, where the tensor
    arguments go, the random state, and the outputs' shapes and dtypes (for the determinism
    check). Holds no activation."""

    def __init__(self, function: Callable[..., Any], args: tuple, kwargs: dict, keys: list[Any]) -> None:
        self.function = function
        self.args = [None if i in keys else a for i, a in enumerate(args)]
        self.kwargs = {k: None if k in keys else v for k, v in kwargs.items()}
        self.keys = keys  # positions (int) and names (str) of the tensor arguments that require grad
        self.rng: _RandomState | None = None
        self.check = True  # determinism_check="default"
        self.outputs: list[tuple[int, tuple[int, ...], Any]] = []  # (flat index, shape, dtype)
        self.arrays: list[Any] = []  # the forward's output arrays, until the nodes take them
        self.grads: dict[int, Any] = {}  # output gradients handed over by _CheckpointOutput nodes
        self.keeps_history = False  # f reads a tensor with a history of its own (see the module doc)

    def call(self, tensors: list[Tensor]) -> Any:
        args, kwargs = list(self.args), dict(self.kwargs)
        for key, t in zip(self.keys, tensors):
            if isinstance(key, int):
                args[key] = t
            else:
                kwargs[key] = t
        return self.function(*args, **kwargs)

    def gradients(self, node: Function, xs: tuple[Tensor, ...], gy: Any, create_graph: bool) -> list[Any]:
        """The inputs' gradients (tensors; None where not needed or not reached): ``f`` run again
        on fresh aliases of the arguments, differentiated with the outputs' gradients."""
        for i, (x, v) in enumerate(zip(xs, node.versions)):
            if x._version != v:
                raise RuntimeError(
                    "checkpoint: one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: input {i} of the checkpointed function, of shape {x.shape}, is at version "
                    f"{x._version}; expected version {v} instead"
                )
        # gy is the token's gradient: 1 for each output whose gradient was handed over in this
        # pass (one from an earlier pass that stopped before this node, backward(inputs=[out]),
        # is not used)
        reached = backend.to_numpy(gy.array if isinstance(gy, Tensor) else gy)
        seeds = [self.grads.get(k) if reached[k] else None for k in range(len(self.outputs))]
        self.grads.clear()
        n = len(self.keys)
        rng = self.rng.replay() if self.rng is not None else contextlib.nullcontext()
        with enable_grad(), rng:
            aliases = [Alias.apply(x) for x in xs[:n]]
            flat = _flatten(self.call(aliases))
        outs = []
        for k, (i, shape, dtype) in enumerate(self.outputs):
            t = flat[i] if i < len(flat) else None
            if self.check and (t is None or t.shape != shape or t.dtype != dtype or not t.requires_grad):
                got = "nothing" if t is None else f"shape {t.shape}, dtype {t.dtype}, requires_grad={t.requires_grad}"
                raise RuntimeError(
                    f"checkpoint: the recomputation gave something else for output {k}: expected shape {shape}, "
                    f"dtype {dtype}, requiring grad; got {got} (the function must compute the same thing again)"
                )
            outs.append(t)
        pairs = [(o, g) for o, g in zip(outs, seeds) if g is not None and o is not None and o.requires_grad]
        wrt = [t for t, need in zip(aliases + list(xs[n:]), node.needs_input_grad) if need]
        result: list[Any] = [None] * len(xs)
        if not pairs or not wrt:
            return result
        # the aliases are cut from the graph before them while the gradients are taken: a leaf
        # used both inside f and before an argument (one weight in two checkpoints in a row) must
        # get only its gradient through f here, and the nodes before the arguments (another
        # checkpoint's) run in the outer pass, not in this one. (Their graph is put back so a
        # create_graph result stays a function of the arguments, for second derivatives.)
        cut = [(a, a._grad_fn) for a in aliases]
        for a, _ in cut:
            a._grad_fn = None
        try:
            found = grad(
                [o for o, _ in pairs],
                wrt,
                [g for _, g in pairs],
                retain_graph=self.keeps_history or create_graph,
                create_graph=create_graph,
                allow_unused=True,
            )
        finally:
            for a, fn in cut:
                a._grad_fn = fn
        found = iter(found)
        return [next(found) if need else None for need in node.needs_input_grad]


class _Checkpoint(Function):
    """(tensor arguments of f that require grad, leaves used inside f) -> a token: a host
    vector with one zero per output of f that requires grad; backward recomputes f (see the
    module docstring)."""

    def forward(self, *xs):
        return np.zeros(len(self.segment.outputs), dtype=np.float32)

    def backward(self, gy):
        grads = self.segment.gradients(self, self.inputs, gy, create_graph=False)
        return tuple(None if g is None else g.array for g in grads)

    def backward_graph(self, gy, *xs):
        return tuple(self.segment.gradients(self, xs, gy, create_graph=True))


class _CheckpointOutput(Function):
    """Output ``index`` of f, on the token; backward hands its gradient to the
    :class:`_Checkpoint` node and gives the token a 1 in slot ``index`` (so that the node runs,
    and knows this output has a gradient)."""

    def forward(self, token):
        return self.segment.arrays[self.index]

    def backward(self, gy):
        return self._hand_over(gy)

    def backward_graph(self, gy, token):
        return Tensor(self._hand_over(gy))

    def _hand_over(self, gy: Any) -> Any:
        self.segment.grads[self.index] = gy
        mark = np.zeros(len(self.segment.outputs), dtype=np.float32)
        mark[self.index] = 1.0
        return mark


def _boundary(outputs: list[Tensor], aliases: list[Tensor]) -> tuple[list[Tensor], list[Any]]:
    """The leaves that require grad reachable from ``outputs`` without crossing an alias, and
    weak references to the nodes passed on the way."""
    stop = {id(a) for a in aliases}
    seen: set[int] = set()
    leaves, nodes = [], []
    stack = list(reversed(outputs))
    while stack:
        t = stack.pop()
        if id(t) in seen or id(t) in stop:
            continue
        seen.add(id(t))
        fn = t._grad_fn
        if fn is None:
            leaves.append(t)
            continue
        nodes.append(weakref.ref(fn))
        stack.extend(x for x in reversed(fn.inputs) if x._requires_grad and id(x) not in seen)
    return leaves, nodes


def _check_settings(
    use_reentrant: bool | None,
    context_fn: Any,
    determinism_check: str,
    debug: bool,
    respect_saved_tensors_hooks: bool | None,
) -> None:
    if use_reentrant:
        raise NotImplementedError(
            "checkpoint: use_reentrant=True is not supported; minicnn implements the non-reentrant variant "
            "(use_reentrant=False, which torch recommends)"
        )
    if context_fn is not noop_context_fn:
        raise NotImplementedError("checkpoint: context_fn is not supported (only the default noop_context_fn)")
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"checkpoint: determinism_check should be one of ['default', 'none'], but got {determinism_check!r}"
        )
    if debug:
        raise NotImplementedError("checkpoint: debug=True is not supported")
    if respect_saved_tensors_hooks is not None:
        raise NotImplementedError(
            "checkpoint: respect_saved_tensors_hooks is not supported (minicnn has no such hooks)"
        )


def checkpoint(
    function: Callable[..., Any] | None = None,
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    context_fn: Callable[[], tuple[Any, Any]] = noop_context_fn,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    respect_saved_tensors_hooks: bool | None = None,
    **kwargs: Any,
) -> Any:
    """``function(*args, **kwargs)``, keeping none of the activations computed inside for
    backward: they are computed again when backward reaches the outputs (see the module
    docstring). Outputs: a tensor, or tuples, lists and dicts holding tensors (and other values).

    ``preserve_rng_state``: the recomputation draws the same random numbers as the forward
    (same dropout masks). ``determinism_check="default"`` raises if the recomputed outputs'
    shapes or dtypes differ, ``"none"`` skips that. Only the non-reentrant variant exists:
    ``use_reentrant=None`` (torch's default, which warns there and runs the reentrant one)
    runs it too; ``use_reentrant=True``, a ``context_fn``, ``debug=True`` and
    ``respect_saved_tensors_hooks`` raise NotImplementedError. ``early_stop`` has no effect (the
    recomputation always runs the whole function). ``checkpoint(**settings)`` with no function
    returns a wrapper maker: ``checkpoint(use_reentrant=False)(f)(x)``.
    """
    _check_settings(use_reentrant, context_fn, determinism_check, debug, respect_saved_tensors_hooks)
    settings = dict(
        use_reentrant=use_reentrant,
        preserve_rng_state=preserve_rng_state,
        determinism_check=determinism_check,
        early_stop=early_stop,
    )
    if function is None and not args:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        return lambda f: functools.wraps(f)(lambda *a, **kw: checkpoint(f, *a, **settings, **kw))
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if not is_grad_enabled():  # nothing would be kept anyway
        return function(*args, **kwargs)
    keyed = [(i, a) for i, a in enumerate(args)] + list(kwargs.items())
    tensors = [(k, a) for k, a in keyed if isinstance(a, Tensor)]
    needing = [(k, a) for k, a in tensors if a.requires_grad]
    seg = _Segment(function, args, kwargs, [k for k, _ in needing])
    seg.check = determinism_check == "default"
    if preserve_rng_state:
        seg.rng = _RandomState([a for _, a in tensors])
    template, leaves, nodes = _first_forward(seg, [a for _, a in needing])
    if not seg.outputs:  # no output has a graph: nothing to recompute
        return template
    # the forward's graph is gone now, with its activations, unless f's closure holds some of it
    seg.keeps_history = any(ref() is not None for ref in nodes)
    inputs = [a for _, a in needing] + leaves
    token = _Checkpoint.apply(*inputs, segment=seg)
    new = [_CheckpointOutput.apply(token, segment=seg, index=k) for k in range(len(seg.outputs))]
    seg.arrays = []
    _share_versions(new, inputs)
    return _rebuild(template, iter([new[s.index] if isinstance(s, _Slot) else s for s in _flatten(template)]))


def _share_versions(outputs: list[Tensor], inputs: list[Tensor]) -> None:
    """An output that is a view of an input (``f = lambda x: x.reshape(2, 2)``), or of an earlier
    output, shares its version counter, as :meth:`Function.apply` does for an op's views."""
    for k, out in enumerate(outputs):
        if getattr(out.array, "base", None) is None:
            continue
        base = _base_id(out.array)
        for t in inputs + outputs[:k]:
            if _base_id(t.array) == base:
                out._share_version(t)
                out._view_of = t
                out._graph_version = out._grad_fn.out_version = out._version
                break


def _first_forward(seg: _Segment, needing: list[Tensor]) -> tuple[Any, list[Tensor], list[Any]]:
    """Run f once with a graph; fill ``seg.outputs`` and ``seg.arrays`` with the outputs that
    have a graph. Returns f's result with those outputs replaced by :class:`_Slot` markers,
    the leaves reached, and weak references to the nodes passed (the graph itself dies when
    this returns)."""
    with seg.rng.forward() if seg.rng is not None else contextlib.nullcontext():
        aliases = [Alias.apply(a) for a in needing]
        ret = seg.call(aliases)
    flat = _flatten(ret)
    order: dict[int, int] = {}  # id of an output with a graph -> its index among them
    outs: list[Tensor] = []
    for i, t in enumerate(flat):
        if t.requires_grad and t._grad_fn is not None and id(t) not in order:
            order[id(t)] = len(outs)
            outs.append(t)
            seg.outputs.append((i, t.shape, t.dtype))
    if not outs:
        return ret, [], []
    seg.arrays = [t.array for t in outs]
    leaves, nodes = _boundary(outs, aliases)
    template = _rebuild(ret, iter([_Slot(order[id(t)]) if id(t) in order else t for t in flat]))
    return template, leaves, nodes


def checkpoint_sequential(functions: Any, segments: int, input: Tensor, use_reentrant: bool | None = None, **kwargs):
    """Run ``functions`` (a Sequential or a list of callables) one after another on ``input``,
    in ``segments`` chunks of ``len(functions) // segments``: every chunk but the last is
    checkpointed (the last one's activations are needed at once by backward anyway), as torch.
    ``preserve_rng_state`` is the only keyword argument."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children") and callable(functions.children):
        functions = list(functions.children())
    functions = list(functions)
    if not isinstance(segments, int) or not 1 <= segments <= len(functions):
        raise ValueError(
            f"checkpoint_sequential: segments must be an int from 1 to the number of functions "
            f"({len(functions)}), got {segments!r}"
        )

    def run(start: int, end: int) -> Callable[[Any], Any]:
        def forward(x: Any) -> Any:
            for f in functions[start : end + 1]:
                x = f(x)
            return x

        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
