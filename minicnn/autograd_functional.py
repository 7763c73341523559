"""``torch.autograd.functional`` (reached as ``mc.autograd.functional``): Jacobians, Hessians and
their products with vectors, built on :func:`minicnn.autograd.grad`.

Every function takes ``func`` (tensors in, a tensor or a tuple of tensors out) and ``inputs``
(a tensor or a tuple of tensors), and answers in the same structure: a tensor where a tensor
was given, a tuple where a tuple was. Results are detached unless ``create_graph=True``.

Cost: ``vjp`` is one backward pass. ``jvp`` and ``hvp`` are two: ``jvp`` by the double-vjp
trick (J v = d/du <J^T u, v>, u a dummy), ``hvp`` as the vjp of the gradient. ``jacobian``
takes one backward pass per output element (``strategy="forward-mode"``: one jvp per input
element), and ``hessian`` one per input element. Each is a
Python loop, fine for the small functions they are meant to study.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from .autograd import Tensor, enable_grad
from .engine import grad


def _tuple(x: Any, what: str) -> tuple[bool, tuple[Tensor, ...]]:
    is_tuple = isinstance(x, tuple)
    if isinstance(x, list):  # torch's: a list is refused, only a tuple stands for several tensors
        raise TypeError(f"{what}: expected a Tensor or a tuple of Tensors, got a list")
    items = x if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: expected a Tensor or a tuple of Tensors, got {type(t).__name__} at index {i}")
    return is_tuple, items


def _zeros(like: Tensor, shape: tuple[int, ...] | None = None) -> Tensor:
    return Tensor(like.xp.zeros(like.shape if shape is None else shape, dtype=like.dtype), device=like.device)


def _untuple(is_tuple: bool, items: tuple[Any, ...]) -> Any:
    return items if is_tuple else items[0]


def _leaves(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """Inputs that require grad: themselves with ``create_graph`` (the result may then depend
    on them), else detached copies that require grad."""
    return tuple(t if create_graph and t.requires_grad else t.detach().requires_grad_() for t in inputs)


def _grads(outs: Any, ins: tuple[Tensor, ...], seeds: Any, create_graph: bool, strict: bool, what: str) -> tuple:
    """d<outs, seeds>/d ins, zeros where an input is not used. ``strict``, as torch's: an output
    or an input gradient independent of the inputs raises (with ``create_graph``, also a
    gradient without a graph)."""
    keep = [i for i, o in enumerate(outs) if o.requires_grad]
    if strict and len(keep) < len(outs):
        raise RuntimeError(f"{what}: an output of func is independent of the inputs (not allowed with strict=True)")
    if not keep:
        return tuple(_zeros(t) for t in ins)
    seeds = None if seeds is None else [seeds[i] for i in keep]
    gs = grad([outs[i] for i in keep], ins, seeds, retain_graph=True, create_graph=create_graph, allow_unused=True)
    for i, g in enumerate(gs):
        if strict and (g is None or (create_graph and not g.requires_grad)):
            raise RuntimeError(
                f"{what}: the result is independent of input {i} (not allowed with strict=True"
                f"{' and create_graph=True' if g is not None else ''})"
            )
    return tuple(_zeros(t) if g is None else g for g, t in zip(gs, ins, strict=True))


def _seed(v: Any, like: tuple[Tensor, ...], what: str) -> list[Tensor]:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"{what}: v can be omitted only when there is one single-element tensor")
        return [Tensor(like[0].xp.ones_like(like[0].array))]
    _, vs = _tuple(v, what)
    if len(vs) != len(like) or any(a.shape != b.shape for a, b in zip(vs, like)):
        raise RuntimeError(
            f"{what}: v has shapes {[a.shape for a in vs]}, expected {[b.shape for b in like]} to match the tensors"
        )
    return list(vs)


def _call(func: Callable[..., Any], ins: tuple[Tensor, ...], what: str) -> tuple[bool, tuple[Tensor, ...]]:
    with enable_grad():
        return _tuple(func(*ins), f"{what} (the output of func)")


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> Any:
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass."""
    in_tuple, ins = _tuple(inputs, "vjp")
    ins = _leaves(ins, create_graph)
    out_tuple, outs = _call(func, ins, "vjp")
    seeds = _seed(v, outs, "vjp")
    result = _grads(outs, ins, seeds, create_graph, strict, "vjp")
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return _untuple(out_tuple, outs), _untuple(in_tuple, result)


def jvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> Any:
    """(func(inputs), J v): the Jacobian-vector product, by differentiating the vjp with respect
    to its (dummy) seed u: J v = d<J^T u, v>/du."""
    in_tuple, ins = _tuple(inputs, "jvp")
    ins = _leaves(ins, create_graph)
    vs = _seed(v, ins, "jvp")
    out_tuple, outs = _call(func, ins, "jvp")
    us = [(_zeros(o)).requires_grad_() for o in outs]
    with enable_grad():
        vjps = _grads(outs, ins, us, True, strict, "jvp")
        dot = sum((g * w).sum() for g, w in zip(vjps, vs) if g.requires_grad)
    if not isinstance(dot, Tensor):
        result = tuple(_zeros(o) for o in outs)
    else:
        result = _grads([dot], tuple(us), None, create_graph, strict, "jvp")
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return _untuple(out_tuple, outs), _untuple(out_tuple, result)


def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """d func / d inputs: for output i and input j a tensor of shape out_i.shape + in_j.shape
    (a tensor for one of each, a tuple for a tuple of inputs, a tuple of tuples for both).
    ``strategy="reverse-mode"``: one backward pass per output element (``vectorize`` is accepted
    and changes nothing). ``"forward-mode"`` (torch requires ``vectorize=True`` with it): one
    :func:`jvp` per input element, i.e. column by column, each by the double-vjp trick."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function has more '
            'outputs than inputs, "forward-mode" tends to be more performant. Otherwise, prefer to use "reverse-mode".'
        )
    if strategy == "forward-mode":
        return _jacobian_by_columns(func, inputs, create_graph, strict, vectorize)
    if strict and vectorize:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not supported together. "
            "Please either set `strict=False` or `vectorize=False`."
        )
    in_tuple, ins = _tuple(inputs, "jacobian")
    ins = _leaves(ins, create_graph)
    out_tuple, outs = _call(func, ins, "jacobian")
    from . import ops  # noqa: PLC0415  (ops load after autograd)

    rows = []
    for o in outs:
        per_input: list[list[Tensor]] = [[] for _ in ins]
        flat = o.reshape(-1)
        for k in range(flat.shape[0]):
            gs = _grads([flat[k]], ins, None, create_graph, strict, "jacobian")
            for j, g in enumerate(gs):
                per_input[j].append(g)
        rows.append(
            tuple(
                (ops.stack(p, 0) if p else _zeros(t, (0, *t.shape))).reshape((*o.shape, *t.shape))
                for p, t in zip(per_input, ins)
            )
        )
    rows = [_untuple(in_tuple, r) for r in rows]
    return _untuple(out_tuple, tuple(rows))


def _jacobian_by_columns(
    func: Callable[..., Any], inputs: Any, create_graph: bool, strict: bool, vectorize: bool
) -> Any:
    """jacobian(strategy="forward-mode"): column k of input j is J e_k, one jvp each."""
    if not vectorize:
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian isonly implemented for "
            "`vectorize=True`."
        )
    if create_graph:  # as torch, which refuses it
        raise NotImplementedError(
            'torch.autograd.functional.jacobian: `create_graph=True` and `strategy="forward-mode"` are not supported '
            'together (yet). Please either set `create_graph=False` or `strategy="reverse-mode"`.'
        )
    if strict:
        raise RuntimeError(
            'torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not supported '
            'together (yet). Please either set `strict=False` or `strategy="reverse-mode"`.'
        )
    from . import ops  # noqa: PLC0415  (ops load after autograd)

    in_tuple, ins = _tuple(inputs, "jacobian")
    columns: list[list[tuple[Tensor, ...]]] = []  # per input j, per element k: J e_k for every output
    out_tuple, outs = False, ()
    for j, t in enumerate(ins):
        cols = []
        for k in range(t.numel()):
            v = [_zeros(u) for u in ins]
            v[j] = Tensor(t.xp.eye(1, t.numel(), k, dtype=t.dtype).reshape(t.shape))
            result = jvp(func, ins if in_tuple else ins[0], tuple(v) if in_tuple else v[0])
            out_tuple = isinstance(result[0], tuple)
            outs = result[0] if out_tuple else (result[0],)
            cols.append(result[1] if out_tuple else (result[1],))
        columns.append(cols)
    if not any(t.numel() for t in ins):  # no column to learn the outputs from: one plain call
        out_tuple, outs = _call(func, ins, "jacobian")
    rows = []
    for i, o in enumerate(outs):
        blocks = []
        for cols, t in zip(columns, ins, strict=True):
            block = ops.stack([c[i] for c in cols], -1) if cols else _zeros(o, (*o.shape, 0))
            blocks.append(block.reshape((*o.shape, *t.shape)))
        rows.append(_untuple(in_tuple, tuple(blocks)))
    return _untuple(out_tuple, tuple(rows))


def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a function with one single-element output: for inputs i, j a tensor of
    shape in_i.shape + in_j.shape (a tensor for one input, a tuple of tuples for several): the
    Jacobian of the gradient, by ``outer_jacobian_strategy`` (see :func:`jacobian`)."""
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    in_tuple, ins = _tuple(inputs, "hessian")

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        out_tuple, outs = _call(func, xs, "hessian")
        if out_tuple or outs[0].numel() != 1:
            raise RuntimeError("hessian: func must return a single-element Tensor")
        return _grads(outs, xs, None, True, strict, "hessian")

    if in_tuple:
        return jacobian(gradient, ins, create_graph, strict, vectorize, outer_jacobian_strategy)
    return jacobian(lambda x: gradient(x)[0], ins[0], create_graph, strict, vectorize, outer_jacobian_strategy)


def _scalar_call(func: Callable[..., Any], inputs: Any, v: Any, create_graph: bool, op: str) -> tuple:
    """vhp's and hvp's common start: (whether inputs was a tuple, the input leaves, the seeds v, func's
    outputs), func's one output checked to be a single element."""
    in_tuple, ins = _tuple(inputs, op)
    ins = _leaves(ins, create_graph)
    vs = _seed(v, ins, op)
    out_tuple, outs = _call(func, ins, op)
    if out_tuple or outs[0].numel() != 1:
        raise RuntimeError(f"{op}: func must return a single-element Tensor")
    return in_tuple, ins, vs, outs


def vhp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> Any:
    """(func(inputs), v^T H) for a function with one single-element output."""
    in_tuple, ins, vs, outs = _scalar_call(func, inputs, v, create_graph, "vhp")
    with enable_grad():
        gs = _grads(outs, ins, None, True, strict, "vhp")
        dot = sum((g * w).sum() for g, w in zip(gs, vs) if g.requires_grad)
    if not isinstance(dot, Tensor):  # every gradient is a constant: H = 0
        if strict:
            raise RuntimeError("vhp: the gradient of func is independent of the inputs (not allowed with strict=True)")
        result = tuple(_zeros(t) for t in ins)
    else:
        result = _grads([dot], ins, None, create_graph, strict, "vhp")
    out = outs[0] if create_graph else outs[0].detach()
    return out, _untuple(in_tuple, result)


def hvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> Any:
    """(func(inputs), H v); the Hessian is symmetric, so this is :func:`vhp`. With ``strict``,
    torch's double-backward trick (H v = d<d<g, u>/dx, v>/du, g the gradient, u a dummy), whose
    checks decide: a product that is structurally independent of u (relu, abs: a Hessian that is
    zero by construction) raises, where vhp returns zeros."""
    if not strict:
        return vhp(func, inputs, v, create_graph, strict)
    in_tuple, ins, vs, outs = _scalar_call(func, inputs, v, create_graph, "hvp")
    with enable_grad():
        jac = _grads(outs, ins, None, True, True, "hvp")
        us = [_zeros(t).requires_grad_() for t in ins]
        back = grad(list(jac), ins, us, retain_graph=True, create_graph=True, allow_unused=True)
        keep = [i for i, b in enumerate(back) if b is not None and b.requires_grad]
    with enable_grad() if create_graph else contextlib.nullcontext():
        gs = (None,) * len(ins)
        if keep:
            seeds = [vs[i] for i in keep]
            gs = grad([back[i] for i in keep], us, seeds, create_graph=create_graph, allow_unused=True)
    for i, g in enumerate(gs):
        if g is None or (create_graph and not g.requires_grad):
            raise RuntimeError(
                f"hvp: the Hessian of func is independent of input {i} (not allowed with strict=True"
                f"{' and create_graph=True' if g is not None else ''})"
            )
    out = outs[0] if create_graph else outs[0].detach()
    return out, _untuple(in_tuple, tuple(gs))
