"""Module backward hooks (torch's ``register_full_backward_hook`` and
``register_full_backward_pre_hook``), built from two identity nodes around a module call.

A hooked call becomes ``inputs -> Joint -> forward -> Joint -> outputs``. A :class:`Joint`
node is the identity on a group of tensors, and its backward sees all of the group's
gradients at once. The output Joint runs first: it calls the pre-hooks, which may replace
grad_output, and it remembers grad_output. The input Joint runs when the gradients of all
the module's inputs are known: it calls the hooks with (grad_input, grad_output), and they may
replace grad_input. If no input requires grad, the output Joint calls the hooks with
grad_input all None, as torch does.

Several tensors in a group pass through one node as one flat concatenation (they must then
share a dtype), so that one backward call sees every gradient. The hooks run on first-order
passes; with ``create_graph=True`` a hooked module raises (Joint has no graph form).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .. import backend
from ..autograd import Function, Tensor

GLOBAL_BACKWARD_HOOKS: OrderedDict[int, Callable[..., Any]] = OrderedDict()
"""``register_module_full_backward_hook``'s hooks: run for every module, before its own."""
GLOBAL_BACKWARD_PRE_HOOKS: OrderedDict[int, Callable[..., Any]] = OrderedDict()
"""``register_module_full_backward_pre_hook``'s hooks: run for every module, before its own."""


class Joint(Function):
    """xs (k tensors) -> their concatenation, flattened (or x itself, viewed, for k = 1);
    backward: ``on_grads([g_1 .. g_k])`` may replace the k gradients. Only the unchanged
    array passes through, so the cost is one copy of the group when k > 1."""

    calls_user_code = True  # the engine then runs the nodes in torch's order (hooks see it)

    def forward(self, *xs):
        self.shapes = [x.shape for x in xs]
        if len(xs) == 1:
            return xs[0].view()
        return backend.get_array_module(*xs).concatenate([x.reshape(-1) for x in xs])

    def backward(self, g):
        if len(self.shapes) == 1:
            grads = [g]
        else:
            grads, start = [], 0
            for shape in self.shapes:
                n = 1
                for d in shape:
                    n *= d
                grads.append(g[start : start + n].reshape(shape))
                start += n
        out = self.on_grads(grads)
        return tuple(gi.astype(g.dtype, copy=False) if gi is not None else None for gi in out)


def _through_joint(tensors: list[Tensor], on_grads: Callable[[list[Any]], list[Any]]) -> list[Tensor]:
    """``tensors`` again, as views of one :class:`Joint` node's output (see there)."""
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(
            "backward hooks: the tensors of a module's inputs (or outputs) that require grad must share a dtype, "
            f"got {sorted(str(t.dtype) for t in tensors)}"
        )
    joint = Joint.apply(*tensors, on_grads=on_grads)
    if len(tensors) == 1:
        return [joint]
    out, start = [], 0
    for t in tensors:
        out.append(joint[start : start + t.numel()].reshape(t.shape))
        start += t.numel()
    return out


def _wrap(tensors: list[Tensor]) -> list[Tensor | None]:
    return [None if g is None else Tensor(g) for g in tensors]


def _unwrap(values: Any, like: list[Any], what: str) -> list[Any]:
    """A hook's replacement tuple as arrays, checked against the gradients it replaces."""
    values = list(values) if isinstance(values, (tuple, list)) else [values]
    if len(values) != len(like):
        raise RuntimeError(f"backward hook returned {len(values)} {what}, expected {len(like)}")
    out = []
    for v, g in zip(values, like):
        a = v.array if isinstance(v, Tensor) else v
        if a is not None and g is not None and tuple(a.shape) != tuple(g.shape):
            raise RuntimeError(f"backward hook returned a {what[:-1]} of shape {tuple(a.shape)}, expected {g.shape}")
        out.append(a)
    return out


def hooked_call(module: Any, args: tuple, kwargs: dict, run: Callable[..., Any]) -> Any:
    """``run(*args, **kwargs)`` (the module's forward, with its forward hooks) with the
    module's backward hooks and pre-hooks attached to its inputs and outputs."""
    own = module.__dict__
    hooks = [*GLOBAL_BACKWARD_HOOKS.values(), *own.get("_backward_hooks", {}).values()]
    pre_hooks = [*GLOBAL_BACKWARD_PRE_HOOKS.values(), *own.get("_backward_pre_hooks", {}).values()]
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    state: dict[str, Any] = {}

    def call_hooks(grad_input: list[Any]) -> list[Any]:
        for hook in hooks:
            result = hook(module, tuple(_wrap(grad_input)), tuple(_wrap(state["grad_output"])))
            if result is not None:
                grad_input = _unwrap(result, grad_input, "grad_inputs")
        return grad_input

    def on_input_grads(grads: list[Any]) -> list[Any]:
        full = [None] * len(args)
        for i, g in zip(positions, grads):
            full[i] = g
        full = call_hooks(full)
        return [full[i] for i in positions]

    def on_output_grads(grads: list[Any]) -> list[Any]:
        for hook in pre_hooks:
            result = hook(module, tuple(_wrap(grads)))
            if result is not None:
                grads = _unwrap(result, grads, "grad_outputs")
        state["grad_output"] = grads
        if not positions:  # nothing flows on to the inputs: the hooks run now, with no grad_input
            call_hooks([None] * len(args))
        return grads

    if positions:
        wrapped = _through_joint([args[i] for i in positions], on_input_grads)
        args = list(args)
        for i, t in zip(positions, wrapped):
            args[i] = t
        args = tuple(args)
    output = run(*args, **kwargs)
    outs = [output] if isinstance(output, Tensor) else list(output) if isinstance(output, (tuple, list)) else []
    needing = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not needing:
        return output
    wrapped = _through_joint([outs[i] for i in needing], on_output_grads)
    for i, t in zip(needing, wrapped):
        outs[i] = t
    return outs[0] if isinstance(output, Tensor) else type(output)(outs)
