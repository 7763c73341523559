"""The backward pass: reverse-mode differentiation over the graph that ops record.

A *node* is the :class:`~minicnn.autograd.Function` that made a tensor (``t._grad_fn``): it
keeps the op's input tensors (``fn.inputs``, its edges) and whatever its ``backward`` needs. A
leaf has no node; it only holds ``.grad``. The graph is therefore a graph of tensors: from a
tensor, its node leads to the tensors the op read. (Tensors, nodes, grad modes and the
bookkeeping of in-place writes live in :mod:`minicnn.autograd`; this module only reads them.)

:func:`run_backward` seeds the roots (``loss.backward()`` seeds a one-element loss with 1) and
orders the tensors that need a gradient topologically (:func:`_topological_order`, an
iterative depth-first search, so a 2,000-layer chain does not hit Python's recursion limit).
It then walks them in reverse: when a tensor is reached, every op that used it has already
run, so its gradient is complete; ``_backward_step`` asks its node's ``backward`` for the
gradients of the inputs. Gradients flowing to the same tensor are summed (:class:`_Grads`: a
sum of two terms is a new array the pass owns, and later terms are added into it in place; a
slice hands over only its block, :class:`_Part`, written into one zero array when a second
term arrives, or beside a second block that does not overlap it: :func:`_disjoint_sum`). A
leaf's finished gradient is added to ``.grad`` (:func:`_accumulate`), as torch accumulates.
Where hooks could tell the difference, the order is torch's own (:func:`_in_torch_order`
replays torch's ready queue: newest node first, a leaf as soon as its gradient is complete).

Before a node runs, :func:`_check_saved` compares the version counters of the tensors it kept
with the versions it saw in the forward (torch's "modified by an inplace operation" error).
After it runs, and unless ``retain_graph=True``, the node is released (``Function.release``):
its saved arrays are dropped, so activations are freed as soon as their gradient is known,
and a second pass through it raises torch's "backward through the graph a second time".

With ``create_graph=True`` the gradients are tensors and each node runs its
``backward_graph`` (ops on tensors) with grad mode on (:func:`_graph_step`), so the gradients
carry a graph of their own and can be differentiated again; the graph walked is then kept.

Hooks: a tensor's ``register_hook`` functions see (and may replace) its gradient before it
flows on (:func:`_run_hooks`); a leaf's post-accumulate-grad hooks run once its ``.grad``
holds the pass's gradient. :func:`backward` and :func:`grad` (torch.autograd's) check their
arguments and call :func:`run_backward`; ``grad`` captures the gradients of its inputs
instead of writing ``.grad``. The engine knows nothing about any op.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import autograd as ag
from . import backend
from .autograd import (
    _FLOAT_KINDS,
    Function,
    Tensor,
    _as_array,
    _base_id,
    _latest,
    _root_array,
    _stale,
    _StubTensor,
    _wrap,
    _writable,
)


def _topological_order(
    roots: Sequence[Tensor],
    released: list[Tensor] | None = None,
    swapped: list[tuple[Function, tuple[Tensor, ...]]] | None = None,
) -> list[Tensor]:
    """Tensors reachable from ``roots`` that need a gradient, each after all of its inputs
    (iterative post-order depth-first search, so graph depth is not limited by Python's
    stack). A tensor's "done" marker (``_DONE`` above the tensor, no tuple per entry) sits below
    its inputs on the stack, so it is emitted only once every input's subgraph has been. A node
    freed by an earlier pass raises, or, given the list ``released``, is listed there and walked
    on through its edges (a pass with ``inputs`` may not need it). Given ``swapped``, a released
    node's stub inputs whose tensors still live are replaced by them for the pass (the node and
    its old inputs listed there), so that a tensor reached both through a released node and a
    live one is one vertex."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[Any] = list(reversed(roots))  # tensors to visit; _DONE above a tensor whose inputs are pushed
    push, pop, emit, visit, done = stack.append, stack.pop, order.append, visited.add, _DONE
    while stack:
        t = pop()
        if t is done:
            emit(pop())
            continue
        key = id(t)
        if key in visited:
            continue
        visit(key)
        fn = t._grad_fn
        if fn is None:
            emit(t)
            continue
        push(t)
        push(done)
        if fn.released:
            if released is None:
                raise _second_time()
            released.append(t)
        inputs = fn.inputs if swapped is None or not fn.stubbed else _originals(fn, swapped)
        for inp in inputs:
            if inp._requires_grad and id(inp) not in visited:
                push(inp)
    return order


_DONE = object()  # _topological_order's marker: the tensor below it on the stack is complete


def _originals(fn: Function, swapped: list[tuple[Function, tuple[Tensor, ...]]]) -> tuple[Tensor, ...]:
    """``fn.inputs`` with each stub whose tensor still lives and is still that node's result put
    back (``fn`` and its stubs are listed in ``swapped``, for :func:`run_backward` to restore)."""
    edges = fn.inputs
    new = list(edges)
    for k, s in enumerate(edges):
        if type(s) is _StubTensor:
            t = s._ref()
            if t is not None and t._grad_fn is s._grad_fn:
                new[k] = t
    if any(a is not b for a, b in zip(new, edges)):
        swapped.append((fn, edges))
        fn.inputs = tuple(new)
    return fn.inputs


def _in_torch_order(
    roots: Sequence[Tensor], order: list[Tensor], needed: set[int] | None, stops: set[int]
) -> list[Tensor]:
    """The tensors of ``order`` that run, rearranged into the order torch's engine runs them
    (reversed, as ``order``: the first to run last). Only hooks can tell the difference, so
    :func:`run_backward` asks for this only when some are set.

    torch keeps the nodes whose gradients are complete in a priority queue (a
    ``std::priority_queue``, that is a binary max-heap) and runs the most recently created
    one first (``Function.seq``, torch's sequence_nr); a leaf's node (AccumulateGrad) has the
    highest priority, so a leaf's gradient is accumulated as soon as it is complete. Ties (the
    leaves one op completes at once) come out in the heap's order, so the heap below does
    exactly what libstdc++'s ``push_heap``/``pop_heap`` do.
    """
    inf = float("inf")
    ids = {id(t) for t in order if needed is None or id(t) in needed}
    deps: dict[int, int] = dict.fromkeys(ids, 0)
    for t in order:
        fn = t._grad_fn
        if id(t) in ids and fn is not None and not fn.released and id(t) not in stops:
            for inp in fn.inputs:
                if id(inp) in ids:
                    deps[id(inp)] += 1

    def key(t: Tensor) -> float:
        return t._grad_fn.seq if t._grad_fn is not None else inf

    heap: list[Tensor] = []

    def push(t: Tensor) -> None:  # std::push_heap: sift the new last element up
        heap.append(t)
        hole, k = len(heap) - 1, key(t)
        while hole > 0 and key(heap[(hole - 1) // 2]) < k:
            heap[hole] = heap[(hole - 1) // 2]
            hole = (hole - 1) // 2
        heap[hole] = t

    def pop() -> Tensor:  # std::pop_heap: the top out, the last element sifted down from the top
        top, value = heap[0], heap.pop()
        n = len(heap)
        if n == 0:
            return top
        hole = child = 0
        while child < (n - 1) // 2:
            child = 2 * (child + 1)
            if key(heap[child]) < key(heap[child - 1]):
                child -= 1
            heap[hole] = heap[child]
            hole = child
        if n % 2 == 0 and child == (n - 2) // 2:
            child = 2 * (child + 1)
            heap[hole] = heap[child - 1]
            hole = child - 1
        k = key(value)
        while hole > 0 and key(heap[(hole - 1) // 2]) < k:
            heap[hole] = heap[(hole - 1) // 2]
            hole = (hole - 1) // 2
        heap[hole] = value
        return top

    seen: set[int] = set()
    for root in roots:
        if id(root) in ids and deps[id(root)] == 0 and id(root) not in seen:
            seen.add(id(root))
            push(root)
    ran: list[Tensor] = []
    while heap:
        t = pop()
        ran.append(t)
        fn = t._grad_fn
        if fn is None or fn.released or id(t) in stops:
            continue
        for inp in fn.inputs:
            if id(inp) in deps:
                deps[id(inp)] -= 1
                if deps[id(inp)] == 0:
                    push(inp)
    ran.reverse()
    return ran


def _second_time() -> RuntimeError:
    return RuntimeError(  # torch's words
        "Trying to backward through the graph a second time (or directly access saved tensors after they have "
        "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
        "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if "
        "you need to access saved tensors after calling backward."
    )


def _holds(fn: Function, array: Any) -> bool:
    """Whether ``fn`` kept (in an attribute, or a tuple/list/dict attribute) an array whose
    memory may overlap ``array``'s."""
    xp = backend.get_array_module(array)
    for v in fn.__dict__.values():
        items = v.values() if isinstance(v, dict) else v if isinstance(v, (tuple, list)) else (v,)
        for a in items:
            if not (isinstance(a, np.ndarray) or backend.is_cupy_array(a)):
                continue
            if xp.may_share_memory(a, array):
                return True
    return False


def _check_saved(fn: Function, out: Tensor) -> None:
    """torch's in-place check: an input (or the output) of ``fn`` that was written in place
    after ``fn`` ran, while ``fn`` keeps that very memory for its backward, would make the
    gradient silently wrong; raise instead. Writes to memory ``fn`` did not keep are fine
    (``y = x + 1; x += 1`` still differentiates, as in torch)."""
    for t, v in zip(fn.inputs, fn.versions):
        if (0 if t._vc is None else t._vc[0]) != v:
            break
    else:
        if (0 if out._vc is None else out._vc[0]) == fn.out_version:
            return  # nothing written since the forward
    changed = [(i, t) for i, (t, v) in enumerate(zip(fn.inputs, fn.versions)) if t._version != v]
    if out._version != fn.out_version:
        changed.append(("output", out))
    for which, t in changed:
        if _holds(fn, t.array):
            expected = fn.out_version if which == "output" else fn.versions[which]
            what = "its output" if which == "output" else f"input {which}"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: {what} of {type(fn).__name__}, of shape {t.shape}, is at version {t._version}; "
                f"expected version {expected} instead"
            )


def run_backward(
    roots: Sequence[Tensor],
    grads_in: Sequence[Any],
    retain_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
    capture: bool = False,
    create_graph: bool = False,
) -> dict[int, Any]:
    """Walk the graph from ``roots`` (seeded with ``grads_in``) backwards, summing gradients
    per tensor.

    Without ``inputs``, every leaf that requires grad gets its gradient added to ``.grad``
    (``Tensor.backward``). With ``inputs``, only those tensors get it (non-leaves too) and
    only the ops on paths to them run (and are freed; hooks elsewhere are not called), as in
    torch: ``backward(inputs=...)`` runs a non-leaf input's own op too, ``capture``
    (``minicnn.autograd.grad``) only where it leads to another input. With ``capture`` no
    leaf's ``.grad`` is touched: the gradients of ``inputs`` are returned, keyed by ``id``
    (taken after the tensor's hooks, or before them where its op runs, as torch's).
    ``retain_grad()`` tensors that are reached keep theirs in all three cases, as in torch.
    An op freed by an earlier pass raises where it would run (always without ``inputs``; with
    them, where it lies on the way to one, or is a ``backward(inputs=)`` input's own op), as torch's.

    Backward functions never modify their incoming gradient, but may pass it on unchanged
    or as a view (``Add`` hands ``gy`` to both inputs). Leaves store their gradient without
    a copy unless its memory already backs another leaf's ``.grad`` from this pass, so no
    two ``.grad`` arrays ever share memory.

    With ``create_graph`` the gradients are tensors instead of arrays, computed by each op's
    ``backward_graph`` with grad mode on, so they carry a graph of their own (and the graph
    walked is kept, whatever ``retain_graph`` says).

    A node that went through :meth:`Function.release` holds stubs of its inputs; where such an
    input still lives (and is still that node of the graph), the pass uses it instead, so that
    its gradient is summed once (see :func:`_topological_order`).
    """
    swapped: list[tuple[Function, tuple[Tensor, ...]]] = []
    try:
        return _run_backward(roots, grads_in, retain_graph, inputs, capture, create_graph, swapped)
    finally:
        for fn, edges in swapped:  # the stubs back: the node must not keep its inputs' values
            fn.inputs = edges


def _run_backward(
    roots: Sequence[Tensor],
    grads_in: Sequence[Any],
    retain_graph: bool,
    inputs: Sequence[Tensor] | None,
    capture: bool,
    create_graph: bool,
    swapped: list[tuple[Function, tuple[Tensor, ...]]],
) -> dict[int, Any]:
    """:func:`run_backward`'s pass (``swapped``: see :func:`_topological_order`)."""
    if create_graph:
        grads_in = [g if isinstance(g, Tensor) else Tensor(g) for g in grads_in]
    grads = _Grads()
    for root, g in zip(roots, grads_in):
        with backend.array_scope(g.array if isinstance(g, Tensor) else g):
            grads.add(id(root), g)
    released: list[Tensor] | None = None if inputs is None else []
    order = _topological_order(roots, released, swapped)
    wanted = None if inputs is None else {id(t) for t in inputs}
    if wanted is not None:  # a released graph that saved nothing reaches an input through its stub
        wanted.update(id(t._stub) for t in inputs if t._stub is not None)
    needed = None  # with inputs: the tensors whose gradient flows on to one of them
    stops: set[int] = set()  # grad(): the inputs whose own op does not run (it leads to no other)
    if wanted is not None:
        needed = set()
        for t in order:  # inputs before the ops that use them
            fn = t._grad_fn
            if fn is not None and any(id(i) in needed for i in fn.inputs):
                needed.add(id(t))
            elif id(t) in wanted:
                needed.add(id(t))
                if capture:  # (backward(inputs=) runs an input's op, as torch's: it frees it)
                    stops.add(id(t))
        # a freed node fails only where it would run, as torch's: on the way to an input (or an input
        # of backward(inputs=), whose own op runs)
        if any(id(r) in needed and id(r) not in stops for r in released):
            raise _second_time()
    user_code = _user_code_in(order)
    if user_code:  # hooks see the order: make it torch's
        order = _in_torch_order(roots, order, needed, stops)
    store = None if wanted is None else set() if capture else wanted  # whose .grad may be written
    captured: dict[int, Any] = {}
    leaf_bases: set[int] = set()  # memory given to leaves in this pass (kept alive by them)
    callers = np.geterr()
    step = _graph_step if create_graph else _backward_step
    if needed is not None and not create_graph:
        # (a recorded backward keeps every input's asked-for flag: a formula for one input may read
        # another as a constant where that other one needs no gradient, which a graph must not do)
        step = _narrowed(step, needed)
    run_hooks, run_post_hooks = _run_hooks, _run_post_hooks
    if ag._anomaly_enabled:  # each node's errors and NaN gradients reported with its forward traceback
        from .anomaly import checked_hooks, checked_step  # noqa: PLC0415

        step = checked_step(step)
        run_hooks, run_post_hooks = checked_hooks(_run_hooks), checked_hooks(_run_post_hooks)
    plain = not capture and backend.cupy_if_loaded() is None  # no capture, no GPU scope to enter
    grad_mode = ag.is_grad_enabled()
    ag._set_grad(bool(create_graph))
    try:
        with np.errstate(all="ignore"):  # inf/nan arise quietly, as in torch
            for t in reversed(order):
                g = grads.take(id(t))
                if g is None or (needed is not None and id(t) not in needed) or t._no_inplace is ag.NO_GRAD_VIEW:
                    continue  # (a view taken under no_grad: torch gives it no grad accumulator, so nothing is
                    # accumulated into it, captured by grad() or shown to its hooks)
                if plain and not t._hooks and not t._post_hooks:
                    step(t, g, grads, leaf_bases, retain_graph, store)
                    continue
                with backend.array_scope(g.array if create_graph else g):  # this step's GPU (backend.array_scope)
                    stop = id(t) in stops
                    if capture and not stop and id(t) in wanted:  # torch's: an op that runs is captured
                        captured[id(t)] = g  # before its tensor's hooks (they change what flows on)
                    if t._hooks:
                        with np.errstate(**callers):  # the user's hooks run under the user's settings
                            g = run_hooks(t, g)
                    if stop:  # captured after the hooks; the op neither runs nor is freed
                        captured[id(t)] = g
                        if t._retain_grad and t._grad_fn is not None:
                            _retain(t, g)
                        continue
                    step(t, g, grads, leaf_bases, retain_graph, store)
                    if t._post_hooks and t._grad_fn is None and not capture and (store is None or id(t) in store):
                        with np.errstate(**callers):
                            run_post_hooks(t)
    finally:
        ag._set_grad(grad_mode)
    return captured


def _user_code_in(order: list[Tensor]) -> bool:
    """Whether a tensor of ``order`` has hooks or a node calls the user's code (module backward
    hooks, custom Functions): then the order of the pass can be seen, and must be torch's."""
    for t in order:
        if t._hooks or t._post_hooks:
            return True
        fn = t._grad_fn
        if fn is not None and fn.calls_user_code:
            return True
    return False


def _narrowed(step: Any, needed: set[int]) -> Any:
    """``step`` with each node asked only for the gradients that reach a requested tensor
    (``needs_input_grad`` narrowed to the inputs in ``needed`` while it runs), as torch's engine
    asks: nothing is computed in vain, and an op whose derivative for another input is not
    implemented (gammainc's for ``a``) still gives the gradient that was asked for. First-order
    passes only (see run_backward)."""

    def run(t: Tensor, g: Any, *rest: Any) -> None:
        fn = t._grad_fn
        if fn is None:
            return step(t, g, *rest)
        old = fn.needs_input_grad
        new = tuple([need and id(x) in needed for need, x in zip(old, fn.inputs)])
        if new == old:
            return step(t, g, *rest)
        fn.needs_input_grad = new
        try:
            return step(t, g, *rest)
        finally:
            if not fn.released:
                fn.needs_input_grad = old

    return run


class _Part:
    """A gradient that is ``block`` at ``index`` (a basic index) and zero elsewhere."""

    __slots__ = ("shape", "dtype", "index", "block")

    def __init__(self, shape: tuple[int, ...], dtype: Any, index: Any, block: Any) -> None:
        self.shape, self.dtype, self.index, self.block = shape, dtype, index, block

    def dense(self) -> Any:
        with backend.array_scope(self.block):  # on the block's GPU, whichever is current
            out = backend.get_array_module(self.block).zeros(self.shape, dtype=self.dtype)
            out[self.index] = self.block
        return out


def _span(i: Any, n: int) -> tuple[int, int] | None:
    """The half-open range that index entry ``i`` (an int or a slice of step 1) takes of an
    axis of length ``n``; None for any other entry."""
    if type(i) is slice:
        start, stop, step = i.indices(n)
        return (start, max(start, stop)) if step == 1 else None
    if type(i) is int:
        k = i + n if i < 0 else i
        return k, k + 1
    return None


def _disjoint_sum(p: _Part, q: _Part) -> Any:
    """The sum of two parts of one tensor's gradient as a new array, where their blocks do not
    overlap: each block is written, not added, and where together they cover the whole array
    (a tensor's two chunks) nothing is zero-filled. None where either index is not ints and
    slices of step 1, or the blocks overlap (the caller then adds)."""
    shape, full = p.shape, slice(None)
    a = p.index if type(p.index) is tuple else (p.index,)
    b = q.index if type(q.index) is tuple else (q.index,)
    if len(a) > len(shape) or len(b) > len(shape):
        return None
    apart, size_a, size_b = False, 1, 1
    for k in range(max(len(a), len(b))):  # (the axes after both indices are whole in both blocks)
        sa = _span(a[k] if k < len(a) else full, shape[k])
        sb = _span(b[k] if k < len(b) else full, shape[k])
        if sa is None or sb is None:
            return None
        apart = apart or sa[0] >= sb[1] or sb[0] >= sa[1]
        size_a *= sa[1] - sa[0]
        size_b *= sb[1] - sb[0]
    if not apart:
        return None
    covered = size_a + size_b == math.prod(shape[: max(len(a), len(b))])
    with backend.array_scope(p.block):  # on the blocks' GPU, whichever is current
        xp = backend.get_array_module(p.block)
        out = (xp.empty if covered else xp.zeros)(shape, dtype=p.dtype)
        out[p.index] = p.block
        out[q.index] = q.block
    return out


class _Grads(dict):
    """The gradients flowing to tensors not reached yet in a backward pass, by ``id``. A sum of
    two gradient arrays is a new array that this pass owns (``owned``): later terms are added
    into it in place. A :class:`_Part` waits as it is until a second term arrives (then it is
    written into a zero array; a second part that does not overlap it is written beside it, into
    an array left unfilled where the two cover it: :func:`_disjoint_sum`) or its tensor is
    reached (:meth:`take`)."""

    def __init__(self) -> None:
        super().__init__()
        self.owned: set[int] = set()

    def add(self, key: int, g: Any) -> None:
        have = self.get(key)
        if have is None:
            self[key] = g
        elif isinstance(g, Tensor) or isinstance(have, Tensor):  # create_graph: out of place, in the graph
            self[key] = have + g
        elif id(have) in self.owned:
            self._add_into(have, g)
        else:
            if isinstance(have, _Part):
                buf = _disjoint_sum(have, g) if isinstance(g, _Part) else None
                if buf is None:
                    buf = have.dense()
                else:
                    g = None
            elif isinstance(g, _Part):
                buf = np.array(have) if isinstance(have, np.generic) else have.copy()  # (0-d: an array)
            else:
                buf = have + g
                if isinstance(buf, np.generic):  # 0-d NumPy arithmetic gives a scalar: not owned
                    self[key] = buf
                    return
                g = None
            if g is not None:
                self._add_into(buf, g)
            self[key] = buf
            self.owned.add(id(buf))

    @staticmethod
    def _add_into(buf: Any, g: Any) -> None:
        if isinstance(g, _Part):
            buf[g.index] += g.block
        else:
            buf += g

    def take(self, key: int) -> Any:
        """The whole gradient of tensor ``key`` (None if none came), which leaves the pass's care."""
        g = self.pop(key, None)
        if g is None:
            return None
        self.owned.discard(id(g))
        return g.dense() if isinstance(g, _Part) else g


def _accumulate(t: Tensor, g: Any, leaf_bases: set[int]) -> None:
    """``t.grad += g``; a first gradient is kept without a copy unless its memory already
    backs another ``.grad`` from this pass (``leaf_bases``), or it is a strided cut of a larger
    array (cat's backward hands out such views: the copy is contiguous, as torch's ``.grad``, and
    does not keep the rest alive). A whole array seen transposed (im2col's dW, ``t()``) is kept as
    it is: copying conv weights' dW into their layout took 16 ms a step on ResNet-18's widest layer."""
    if t._grad is None:
        root = _root_array(g)
        base = id(root)
        if base in leaf_bases or (root.size > g.size and not g.flags.c_contiguous):
            g = g.copy()  # (a strided cut of a larger array, cat's backward: torch's layout, and the rest freed)
            base = id(g)
        leaf_bases.add(base)
        t._grad = _wrap(g)
    elif _writable(t._grad.array):
        t._grad.array += g  # this tensor owns the memory (see above): accumulate in place
        if t._grad._grad_fn is not None:  # a create_graph gradient: its graph sees the write, as torch's
            t._grad._version += 1
    else:
        t._grad.array = t._grad.array + g


def _retain(t: Tensor, g: Any) -> None:
    """A ``retain_grad()`` tensor's ``.grad += g``, out of place (``g`` is an array, or a
    tensor under ``create_graph``; either may be the caller's or be passed on, so it is copied). Of a
    tensor that ``detach_`` made a leaf, it is the leaf's ``.grad`` (as torch's, which it reads)."""
    t = _latest(t)
    if isinstance(g, Tensor):
        t._grad = g.clone() if t._grad is None else t._grad + g
    else:
        t._grad = Tensor(g.copy()) if t._grad is None else Tensor(t._grad.array + g)


def _run_post_hooks(t: Tensor) -> None:
    """A leaf's post-accumulate-grad hooks, in registration order, once ``t.grad`` holds this
    pass's gradient: ``hook(t)`` (what it returns is ignored, as torch's)."""
    for hook in list(t._post_hooks.values()):
        hook(t)


def _run_hooks(t: Tensor, g: Any) -> Any:
    """``g`` after ``t``'s hooks, in registration order; each may return a replacement. (``g``
    is an array, or a tensor with a graph under ``create_graph``: then so is what is returned.)"""
    for hook in list(t._hooks.values()):
        if isinstance(g, Tensor):
            out = _hook_result(hook, g)
            if out is not None:
                out = out if isinstance(out, Tensor) else Tensor(backend.to_device(np.asarray(out), t.device))
                if out.shape != g.shape:
                    raise RuntimeError(f"hook returned a gradient of shape {out.shape}, expected {g.shape}")
                _check_hook_dtype(hook, out, g.dtype)
                g = out if out.dtype == g.dtype else out.to(g.dtype)
            continue
        out = _hook_result(hook, Tensor(g))
        if out is not None:
            new = out.array if isinstance(out, Tensor) else backend.to_device(np.asarray(out), t.device)
            if new.shape != g.shape:
                raise RuntimeError(f"hook returned a gradient of shape {tuple(new.shape)}, expected {tuple(g.shape)}")
            _check_hook_dtype(hook, out, g.dtype)
            g = new.astype(g.dtype, copy=False)
    return g


def _hook_result(hook: Any, g: Tensor) -> Any:
    """``hook(g)``: None, a tensor, or an array or list that is converted; a number raises
    torch's TypeError."""
    out = hook(g)
    if isinstance(out, (bool, int, float, complex)):
        raise TypeError(f"expected Tensor, but hook returned '{type(out).__name__}'")
    return out


def _check_hook_dtype(hook: Any, out: Any, dtype: Any) -> None:
    """torch's rule: a hook may not return a tensor of another dtype (an array or a list is
    converted to the gradient's dtype)."""
    if isinstance(out, Tensor) and out.dtype != dtype:
        name = getattr(hook, "__name__", type(hook).__name__)
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {np.dtype(dtype)} got {out.dtype})")


_NO_PARTS = Function.backward_part  # a node whose class keeps this passes its gradient on whole


def _backward_step(
    t: Tensor, g: Any, grads: _Grads, leaf_bases: set[int], retain_graph: bool, store: set[int] | None
) -> None:
    """Add ``g`` = dL/dt to ``t.grad`` where it belongs there (a leaf, when ``store`` is None;
    else ``t`` in ``store``; or a ``retain_grad()`` tensor), and pass it through ``t``'s op to
    its inputs."""
    fn = t._grad_fn
    if (fn is None and store is None) or (store is not None and id(t) in store):
        _accumulate(t, g, leaf_bases)
    elif fn is not None and t._retain_grad:
        _retain(t, g)
    if fn is None:
        return
    if not fn.stubbed:  # (a stubbed node keeps no arrays that a write could have changed)
        _check_saved(fn, t)
    inputs = fn.inputs
    part = fn.backward_part(g) if len(inputs) == 1 and type(fn).backward_part is not _NO_PARTS else None
    if part is not None:
        inp = inputs[0]
        if inp._requires_grad:
            a = inp.array
            block = part[1] if part[1].dtype == a.dtype else part[1].astype(a.dtype)
            grads.add(id(inp), _Part(a.shape, a.dtype, part[0], block))
        if not retain_graph:
            fn.release()
        return
    in_grads = fn.backward(g)
    if not isinstance(in_grads, tuple):
        in_grads = (in_grads,)
    for inp, gi in zip(inputs, in_grads):
        if gi is None or not inp._requires_grad:
            continue
        a = inp.array
        if gi.shape != a.shape:
            raise RuntimeError(
                f"{type(fn).__name__}.backward returned a gradient of shape {tuple(gi.shape)} "
                f"for an input of shape {inp.shape}"
            )
        if gi.dtype is not a.dtype and gi.dtype != a.dtype:  # (identity first: the common case, cheaply)
            gi = gi.astype(a.dtype)
        key = id(inp)
        if key in grads:
            grads.add(key, gi)
        else:  # (the first gradient to reach it: what add does, without the call)
            grads[key] = gi
    if not retain_graph:
        fn.release()


def _graph_step(
    t: Tensor, g: Tensor, grads: _Grads, leaf_bases: set[int], retain_graph: bool, store: set[int] | None
) -> None:
    """:func:`_backward_step` with a graph (``create_graph=True``): ``g`` is a tensor, ``.grad``
    becomes ``.grad + g`` out of place (so it keeps the graph, as in torch), and ``t``'s op
    passes ``g`` on through its ``backward_graph``. Ops other than linear ones read their
    inputs' values there, so none of those may have been written in place since."""
    fn = t._grad_fn
    if (fn is None and store is None) or (store is not None and id(t) in store):
        t._grad = g.clone() if t._grad is None else t._grad + g  # a copy, as torch's: g may be the caller's seed
    elif fn is not None and t._retain_grad:
        _retain(t, g)
    if fn is None:
        return
    _check_saved(fn, t)
    cls = type(fn)
    reads = range(len(fn.inputs)) if fn.graph_reads is None else fn.graph_reads  # (a node may set its own)
    if cls.graph_reads_crossed:
        reads = [i for i in (0, 1) if fn.needs_input_grad[1 - i]]
    for i in reads:
        x, v = fn.inputs[i], fn.versions[i]
        if cls.linear and x.dtype.kind in _FLOAT_KINDS:  # a linear op reads only its indices
            continue
        if x._version != v:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: input {i} of {cls.__name__}, of shape {x.shape}, is at version {x._version}; "
                f"expected version {v} instead (create_graph=True reads this input)"
            )
    if cls.graph_output and t._version != fn.out_version:
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: the output of {cls.__name__}, of shape {t.shape}, is at version {t._version}; "
            f"expected version {fn.out_version} instead (create_graph=True reads this output)"
        )
    in_grads = fn.backward_graph(g, *fn.inputs, out=t) if cls.graph_output else fn.backward_graph(g, *fn.inputs)
    if not isinstance(in_grads, tuple):
        in_grads = (in_grads,)
    for inp, gi in zip(fn.inputs, in_grads):
        if gi is None or not inp._requires_grad:
            continue
        if gi.shape != inp.shape:
            raise RuntimeError(
                f"{type(fn).__name__}.backward_graph returned a gradient of shape {gi.shape} "
                f"for an input of shape {inp.shape}"
            )
        if gi.dtype != inp.dtype:
            gi = gi.to(inp.dtype)
        grads.add(id(inp), gi)


def _shape_mismatch(i: int, got: Any, expected: Any) -> RuntimeError:
    return RuntimeError(
        f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(got)} "
        f"and output[{i}] has a shape of {tuple(expected)}."
    )


def _seeds(outputs: Any, grads: Any, what: str, create_graph: bool = False) -> tuple[list[Tensor], list[Any]]:
    """The latest tensors of ``outputs`` (one or a sequence) and their seed gradients (ones
    for a one-element output given no gradient)."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grads is None or isinstance(grads, Tensor) or not isinstance(grads, (tuple, list)):
        grads = [grads] * len(outs) if grads is None else [grads]
    if len(grads) != len(outs):
        raise RuntimeError(f"{what}: got {len(grads)} gradients for {len(outs)} outputs")
    roots, seeds = [], []
    for i, (out, g) in enumerate(zip(outs, grads)):
        if not isinstance(out, Tensor):
            raise TypeError(f"{what}: outputs must be tensors, got {type(out).__name__}")
        out = _latest(out)
        if out._vc is not None and out._vc[1] > out._graph_version:
            raise _stale(what, out)
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        with backend.array_scope(out.array):
            if g is None:
                if out.array.size != 1:
                    raise RuntimeError(f"grad can be implicitly created only for scalar outputs, got shape {out.shape}")
                seed = out.xp.ones_like(out.array)
            elif create_graph and isinstance(g, Tensor):  # kept as it is: its graph is part of the result
                seed = _latest(g)
                if seed.shape != out.shape:
                    raise _shape_mismatch(i, seed.shape, out.shape)
                if seed.dtype != out.dtype or seed.device != out.device:
                    seed = seed.to(out.device, out.dtype)
            else:
                seed = out.xp.array(_as_array(g, dtype=out.dtype), copy=True)
                if seed.shape != out.array.shape:
                    raise _shape_mismatch(i, seed.shape, out.shape)
        roots.append(out)
        seeds.append(seed)
    return roots, seeds


def _input_tensors(inputs: Any) -> list[Tensor]:
    """The latest tensors of ``inputs`` (one tensor or a sequence) of backward / grad."""
    ts = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for t in ts:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"all inputs have to be Tensors, but got {type(t).__name__}")
    return [_latest(t) for t in ts]


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """torch.autograd.backward: the sum of ``tensors``' gradients (each seeded with its entry of
    ``grad_tensors``; ones for one-element tensors) accumulated into every leaf's ``.grad``, or
    with ``inputs`` (a tensor or a sequence) only into those tensors'. ``grad_variables`` is
    torch's deprecated name of ``grad_tensors``.

    ``create_graph=True`` records the backward pass itself as a graph: ``.grad`` then has a
    ``grad_fn`` and can be differentiated again. The graph walked is then always kept (the new
    one refers to its nodes), where torch frees it if ``retain_graph=False`` is passed."""
    if grad_variables is not None:
        if grad_tensors is not None:
            raise RuntimeError("backward: pass grad_tensors or grad_variables (its deprecated name), not both")
        grad_tensors = grad_variables
    roots, seeds = _seeds(tensors, grad_tensors, "backward", create_graph)
    if inputs is not None:
        inputs = _input_tensors(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        for t in inputs:
            if not t.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            if t._grad_fn is not None:
                t._retain_grad = True  # as torch: a non-leaf in inputs keeps its .grad from now on
    run_backward(roots, seeds, bool(retain_graph), inputs, create_graph=create_graph)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """torch.autograd.grad: the gradients of the sum of ``outputs`` (seeded by ``grad_outputs``)
    with respect to each of ``inputs``, returned as a tuple; no leaf's ``.grad`` changes.
    An input the outputs do not depend on raises, or gives None with ``allow_unused=True``
    (zeros with ``materialize_grads=True``). With ``create_graph=True`` the gradients carry a
    graph (see :func:`backward`), so they can be differentiated again. ``is_grads_batched=True``:
    the first dimension of each grad_output is a batch of seeds, the gradients come stacked."""
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, but got: allow_unused=False."
        )
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    if is_grads_batched:
        return _grads_batched(
            outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads
        )
    roots, seeds = _seeds(outputs, grad_outputs, "grad", create_graph)
    wrt = _input_tensors(inputs)
    if not wrt:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    for t in wrt:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    captured = run_backward(roots, seeds, bool(retain_graph), wrt, capture=True, create_graph=create_graph)
    result: list[Tensor | None] = []
    for i, t in enumerate(wrt):
        g = captured.get(id(t))
        if g is None and t._stub is not None:  # reached through a released graph (Function.release)
            g = captured.get(id(t._stub))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        with backend.array_scope(t.array):  # on t's GPU
            if g is None and materialize_grads:  # torch: zeros that require grad under create_graph
                g = Tensor(t.xp.zeros_like(t.array), requires_grad=create_graph)
            if isinstance(g, Tensor):  # create_graph: the gradient as it is, with its graph
                result.append(g.clone() if _shares(g, captured, id(t)) else g)
            else:
                result.append(None if g is None else Tensor(g.copy() if _shares(g, captured, id(t)) else g))
    return tuple(result)


def _grads_batched(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any,
    retain_graph: bool | None,
    create_graph: bool,
    allow_unused: bool,
    materialize_grads: bool,
) -> tuple[Tensor | None, ...]:
    """grad(is_grads_batched=True): the first dimension of every grad_output is a batch of seeds;
    one backward pass per seed (torch vmaps them), the gradients stacked along a new first
    dimension. As torch's, an unused input's materialized gradient is zeros of its own shape."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    gos = [grad_outputs] * len(outs) if grad_outputs is None else _as_list(grad_outputs)
    if len(gos) != len(outs):
        raise RuntimeError(f"grad: got {len(gos)} gradients for {len(outs)} outputs")
    sizes = []
    for i, (o, g) in enumerate(zip(outs, gos)):
        if g is None:
            raise RuntimeError(f"grad: is_grads_batched=True needs a batch of grad_outputs for output {i}")
        if not isinstance(g, Tensor) or g.ndim == 0 or tuple(g.shape[1:]) != tuple(o.shape):
            raise RuntimeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each grad_output as the batch "
                f"dimension. grad_output[{i}] has a shape of {tuple(getattr(g, 'shape', ()))} and output[{i}] "
                f"has a shape of {tuple(o.shape)}."
            )
        sizes.append(g.shape[0])
    if len(set(sizes)) > 1:
        raise ValueError(f"grad: expected all grad_outputs to have the same batch size, got sizes {sizes}")
    if sizes[0] == 0:
        raise IndexError("grad: is_grads_batched=True with a batch of no grad_outputs")
    n = sizes[0]
    per = [
        grad(outs, inputs, [g[b] for g in gos], retain_graph if b == n - 1 else True, create_graph, True, allow_unused)
        for b in range(n)
    ]
    wrt = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    result: list[Tensor | None] = []
    for j, t in enumerate(wrt):
        if per[0][j] is not None:
            result.append(ag._ops.stack([p[j] for p in per], 0))
        elif materialize_grads:
            with backend.array_scope(t.array):
                result.append(Tensor(t.xp.zeros_like(t.array), requires_grad=create_graph))
        else:
            result.append(None)
    return tuple(result)


def _as_list(x: Any) -> list[Any]:
    return [x] if isinstance(x, Tensor) or not isinstance(x, (tuple, list)) else list(x)


def _shares(g: Any, captured: dict[int, Any], key: int) -> bool:
    """Whether ``g`` has memory in common with another captured gradient (then it is copied,
    so that no two returned gradients alias)."""

    def arr(a: Any) -> Any:
        return a.array if isinstance(a, Tensor) else a

    base = _base_id(arr(g))
    return any(k != key and _base_id(arr(other)) == base for k, other in captured.items())
