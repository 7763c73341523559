"""``torch.func`` (functorch) as ``mc.func``: composable function transforms on minicnn's engine.

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``linearize``,
``vmap``, ``functional_call``, ``stack_module_state`` and ``functionalize``, with torch's
signatures, so that the functorch tutorials (per-sample gradients, model ensembling,
Jacobians/Hessians) run with ``import minicnn as torch``.

How they are built (torch has a level-tagged dispatcher with batching rules and a forward-mode
AD; minicnn has neither, so every transform reduces to its reverse-mode engine):

- **Reverse mode** (``grad``, ``grad_and_value``, ``vjp``, ``jacrev``): the differentiated inputs
  are replaced by fresh graph variables (a detached copy that requires grad, or an identity node
  on top of an input that already requires grad, so that an outer transform or ordinary
  autograd can still differentiate through it); ``func`` runs under ``enable_grad`` (torch's
  transforms ignore an outer ``no_grad`` too) and :func:`minicnn.autograd.grad` takes the
  gradient. It is taken with ``create_graph=True`` exactly when a caller can differentiate the
  result again: grad mode is on and an argument requires grad, or ``func``'s graph reaches a
  tensor that requires grad other than this transform's own variables (a closure over an outer
  transform's input, or a model parameter). Otherwise the results come back detached, as
  torch's do. ``jacrev`` is one backward pass per output element, seeded with a one-hot
  cotangent, over the one retained forward graph (``chunk_size`` is checked and otherwise has
  no effect: there is no batched backward to chunk).
- **Forward mode** (``jvp``, ``jacfwd``, ``linearize``): by the double-vjp trick. For a dummy
  cotangent ``u`` (zeros that require grad) the vjp ``g(u) = J^T u`` is built with
  ``create_graph=True``; it is linear in ``u``, so ``d<g(u), v>/du = J v``. A jvp therefore
  costs the forward pass plus **two** backward passes (the second through the graph of the
  first), against torch's one dual-number forward pass. ``jacfwd`` builds ``g`` once and runs the
  second backward once per input element; ``linearize`` keeps ``g`` and runs it once per call of
  the returned function. ``hessian`` is ``jacfwd(jacrev(f))`` as in torch: a third-order pass
  through the engine, which every op with a double backward supports.
- **vmap**: minicnn has no batching rules, so ``vmap`` runs ``func`` once per index of the
  mapped dimension (``Tensor.select`` on each mapped input) and stacks the results along
  ``out_dims`` -- the loop torch itself falls back to for ops without a batching rule. The
  results are the same; the speed is that of a Python loop over the batch (fine for the
  tutorials' sizes). ``in_dims``/``out_dims`` are ints, None or nested tuples/lists/dicts
  matching a prefix of the inputs/outputs (negative dims allowed); nested ``vmap`` nests the
  loops; ``chunk_size`` is checked and otherwise has no effect. An output with ``out_dims=None``
  is the first slice's; it raises, as torch's does, when the slices' values differ (a batched
  value). A mapped dimension of size 0 runs ``func`` once on zeros to learn the output shapes
  and returns empty results. Since ``func`` sees real slices, Python code that reads their
  values (``.item()``, ``if x.sum() > 0``) works, where torch's vmap refuses it.
  ``randomness``: every random draw in minicnn goes through :func:`minicnn.random.generator`
  (or a ``Generator`` argument), so ``'error'`` (torch's default) raises torch's error at the
  draw, ``'different'`` lets each slice draw its own numbers, and ``'same'`` rewinds the
  library streams before each slice, so every slice draws the same numbers (the values differ
  from torch's: another generator). A draw-free use of the generator inside ``'error'`` mode
  (``utils.checkpoint`` saving the RNG state) raises too.
- ``functional_call`` swaps the module's parameters and buffers (dotted names; tied weights
  follow ``tie_weights``; unknown names become temporary attributes, or an error with
  ``strict=True``) for the call and restores them afterwards, also when the call raises.
  ``stack_module_state`` stacks the models' parameters (as new leaves that require grad) and
  buffers. ``Module.to('meta')`` (the ensembling tutorial's stateless base copy) drops the
  module's data, keeping shapes and dtypes in memory-free placeholders that raise when
  computed with, so a meta module runs only through ``functional_call``.
- ``rearrange`` (:mod:`minicnn.einops`): einops' pattern-driven transpose/reshape/stack, as
  reshape + permute + reshape, so its gradient is theirs.
- ``functionalize`` returns ``func`` unchanged in behaviour: its contract is that the
  functionalized program computes the same results and applies the same input mutations, and
  in eager minicnn (no graph capture) there is nothing to rewrite.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from . import random as mc_random
from .autograd import Alias, Tensor, enable_grad, is_grad_enabled
from .einops import rearrange
from .engine import grad as _autograd_grad

__all__ = [
    "debug_unwrap",
    "functional_call",
    "functionalize",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "rearrange",
    "replace_all_batch_norm_modules_",
    "stack_module_state",
    "vjp",
    "vmap",
]


# -- pytrees: tuples, lists, dicts (and namedtuples) of leaves ---------------------------------
def _is_node(x: Any) -> bool:
    return isinstance(x, (tuple, list, dict))


def _flatten(tree: Any) -> tuple[list[Any], Any]:
    """(leaves in order, spec): spec is None for a leaf, else (type, keys or None, child specs)."""
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [_flatten(tree[k]) for k in keys]
        return [x for leaves, _ in parts for x in leaves], (dict, keys, [s for _, s in parts])
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(t) for t in tree]
        return [x for leaves, _ in parts for x in leaves], (type(tree), None, [s for _, s in parts])
    return [tree], None


def _unflatten(spec: Any, leaves: Sequence[Any]) -> Any:
    it = iter(leaves)

    def build(s: Any) -> Any:
        if s is None:
            return next(it)
        kind, keys, children = s
        items = [build(c) for c in children]
        if kind is dict:
            return dict(zip(keys, items, strict=True))
        if hasattr(kind, "_fields"):  # a namedtuple
            return kind(*items)
        return kind(items)

    return build(spec)


def _spec_str(spec: Any) -> str:
    if spec is None:
        return "*"
    kind, keys, children = spec
    inner = ", ".join(
        f"{k!r}: {_spec_str(c)}" if keys is not None else _spec_str(c)
        for k, c in zip(keys or [None] * len(children), children, strict=True)
    )
    return f"{kind.__name__}({inner})"


def _spec_pprint(spec: Any) -> str:
    """A spec as torch's error messages print a pytree: ``(*, [*], {'a': *})``, ``(*,)``."""
    if spec is None:
        return "*"
    kind, keys, children = spec
    if kind is dict:
        return "{" + ", ".join(f"{k!r}: {_spec_pprint(c)}" for k, c in zip(keys, children, strict=True)) + "}"
    inner = ", ".join(_spec_pprint(c) for c in children)
    if issubclass(kind, list):
        return f"[{inner}]"
    return f"({inner},)" if len(children) == 1 else f"({inner})"


def _broadcast_prefix(prefix: Any, tree: Any) -> list[Any] | None:
    """One entry of ``prefix`` per leaf of ``tree`` (a leaf of ``prefix`` covers the subtree
    below it), or None where ``prefix`` is not a prefix of ``tree``'s structure."""
    if not _is_node(prefix):
        return [prefix] * len(_flatten(tree)[0])
    if type(prefix) is not type(tree):
        return None
    if isinstance(prefix, dict):
        if set(prefix) != set(tree):
            return None
        pairs = [(prefix[k], tree[k]) for k in tree]
    else:
        if len(prefix) != len(tree):
            return None
        pairs = list(zip(prefix, tree, strict=True))
    out: list[Any] = []
    for p, t in pairs:
        part = _broadcast_prefix(p, t)
        if part is None:
            return None
        out.extend(part)
    return out


def _name(func: Any) -> str:
    return getattr(func, "__name__", type(func).__name__)


def _zeros(like: Tensor) -> Tensor:
    return Tensor(like.xp.zeros(like.shape, dtype=like.dtype))


# -- graph variables -----------------------------------------------------------------------------
def _variable(x: Any, outer_grad: bool) -> Tensor:
    """A fresh variable standing for ``x``: an identity node on ``x`` when ``x`` is already
    differentiable from outside (so the result stays differentiable in ``x``), else a
    detached copy that requires grad."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    if outer_grad and x.requires_grad:
        with enable_grad():
            return Alias.apply(x)
    return x.detach().requires_grad_()


def _reaches_other_leaf(outputs: Sequence[Any], own: set[int]) -> bool:
    """Whether the graph behind ``outputs`` reaches a tensor that requires grad and is not one
    of this transform's variables (``own``): a closure over something an outer caller may
    differentiate."""
    stack = [t for t in outputs if isinstance(t, Tensor) and t.requires_grad]
    seen: set[int] = set()
    while stack:
        t = stack.pop()
        if id(t) in seen or id(t) in own:
            continue
        seen.add(id(t))
        fn = t.grad_fn
        if fn is None:
            return True
        stack.extend(i for i in fn.inputs if isinstance(i, Tensor) and i.requires_grad)
    return False


def _argnums(argnums: Any, n: int, what: str) -> tuple[bool, tuple[int, ...]]:
    """(whether argnums is a tuple, the argument indices, made non-negative); torch's errors."""
    as_tuple = isinstance(argnums, tuple)
    if not as_tuple and (not isinstance(argnums, int) or isinstance(argnums, bool)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    nums = argnums if as_tuple else (argnums,)
    if as_tuple and not nums:
        raise RuntimeError("argnums must be non-empty")
    out = []
    for a in nums:
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"argnum must be int, got: {type(a)}")
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
        out.append(a % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return as_tuple, tuple(out)


class _Traced:
    """``func`` run once on fresh variables for the differentiated arguments: what the
    reverse- and forward-mode transforms share."""

    def __init__(self, func: Callable[..., Any], args: tuple, kwargs: dict, argnums: Any, has_aux: bool, what: str):
        self.what = what
        self.outer = is_grad_enabled()
        self.as_tuple, nums = _argnums(argnums, len(args), what)
        args = list(args)
        self.specs, self.vars, originals = [], [], []
        for a in nums:
            leaves, spec = _flatten(args[a])
            new = [_variable(x, self.outer) for x in leaves]
            originals += leaves
            self.specs.append((spec, len(new)))
            self.vars += new
            args[a] = _unflatten(spec, new)
        with enable_grad():
            out = func(*args, **kwargs)
        if has_aux:
            if not isinstance(out, tuple) or len(out) != 2:
                raise RuntimeError(
                    f"{what}(f)(*args): output of function f should be a tuple: (output, aux) if has_aux is True"
                )
            out, self.aux = out
        else:
            self.aux = None
        self.out = out
        self.out_leaves, self.out_spec = _flatten(out)
        own = {id(v) for v in self.vars}
        self.compose = self.outer and (
            any(x.requires_grad for x in originals) or _reaches_other_leaf(self.out_leaves, own)
        )

    def needs_graph(self, *extra: Any) -> bool:
        """create_graph for a pass whose result may depend on ``extra`` tensors too."""
        return self.compose or (self.outer and any(isinstance(t, Tensor) and t.requires_grad for t in extra))

    def grads(self, outs: Sequence[Tensor], seeds: Sequence[Any] | None, create_graph: bool) -> list[Tensor]:
        """d<outs, seeds>/d vars, zeros for a variable the outputs do not reach."""
        keep = [i for i, o in enumerate(outs) if o.requires_grad]
        gs: Sequence[Tensor | None] = [None] * len(self.vars)
        if keep:
            gs = _autograd_grad(
                [outs[i] for i in keep],
                self.vars,
                None if seeds is None else [seeds[i] for i in keep],
                retain_graph=True,
                create_graph=create_graph,
                allow_unused=True,
            )
        return [_zeros(v) if g is None else g for g, v in zip(gs, self.vars, strict=True)]

    def per_arg(self, flat: Sequence[Any]) -> Any:
        """Split a list with one entry per variable back into the differentiated arguments'
        structures (one argument's, or a tuple of them)."""
        parts, i = [], 0
        for spec, n in self.specs:
            parts.append(_unflatten(spec, flat[i : i + n]))
            i += n
        return tuple(parts) if self.as_tuple else parts[0]

    def result(self, x: Any) -> Any:
        """A value to hand back: detached unless a caller can differentiate it."""
        leaves, spec = _flatten(x)
        if self.compose:
            return x
        return _unflatten(spec, [t.detach() if isinstance(t, Tensor) else t for t in leaves])


def _check_tensor_outputs(traced: _Traced, what: str, floating: bool = False) -> None:
    """Outputs must be tensors; for reverse mode (``floating``) floating-point ones, as torch."""
    for o in traced.out_leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{what}(f, ...)(*args): Expected f(*args) to return only tensors, got {type(o)}")
        if floating and o.dtype.kind not in "fc":
            raise RuntimeError(
                f"vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got Tensor with dtype "
                f"{o.dtype}"
            )


# -- reverse mode --------------------------------------------------------------------------------
def grad_and_value(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """torch.func.grad_and_value: a function returning ``(gradient, value)`` of ``func``'s scalar
    output (``(gradient, (value, aux))`` with ``has_aux``). The gradient has the structure of the
    argument ``argnums`` names (a tuple of them for a tuple ``argnums``); one backward pass."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = _Traced(func, args, kwargs, argnums, has_aux, "grad_and_value")
        out = t.out
        if not isinstance(out, Tensor):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(out)}")
        if out.ndim != 0:
            raise RuntimeError(
                "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with "
                f"{out.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
            )
        grads = t.grads([out], None, t.compose)
        value = t.result(out)
        g = t.per_arg(grads if t.compose else [x.detach() for x in grads])
        return (g, (value, t.result(t.aux))) if has_aux else (g, value)

    return wrapper


def grad(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """torch.func.grad: a function returning the gradient of ``func``'s scalar output with respect
    to argument ``argnums`` (``(gradient, aux)`` with ``has_aux``); see :func:`grad_and_value`."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple:
    """torch.func.vjp: ``(func(*primals), vjp_fn)`` (``+ (aux,)`` with ``has_aux``). ``vjp_fn(cotangents)``
    (``cotangents`` shaped as the output) returns a tuple with one gradient per primal; it can be
    called many times (the forward graph is kept), one backward pass each."""
    t = _Traced(func, primals, {}, tuple(range(len(primals))), has_aux, "vjp")
    _check_tensor_outputs(t, "vjp", floating=True)

    def vjp_fn(cotangents: Any) -> tuple:
        leaves, spec = _flatten(cotangents)
        if spec != t.out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of outputs to the "
                f"function. cotangents: {_spec_pprint(spec)}, primal output: {_spec_pprint(t.out_spec)}"
            )
        for i, (c, o) in enumerate(zip(leaves, t.out_leaves, strict=True)):
            if not isinstance(c, Tensor) or c.shape != o.shape:
                got = c.shape if isinstance(c, Tensor) else type(c)
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {got} and output[{i}] has a shape of "
                    f"{o.shape}."
                )
        create = t.needs_graph(*leaves)
        with enable_grad() if create else contextlib.nullcontext():
            grads = t.grads(t.out_leaves, leaves, create)
        if not create:
            grads = [g.detach() for g in grads]
        return t.per_arg(grads)

    out = t.result(t.out)
    return (out, vjp_fn, t.result(t.aux)) if has_aux else (out, vjp_fn)


def _one_hot(like: Tensor, k: int) -> Tensor:
    e = like.xp.zeros(like.numel(), dtype=like.dtype)
    e[k] = 1
    return Tensor(e.reshape(like.shape))


def _check_chunk_size(chunk_size: Any, what: str) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"{what}: `chunk_size` should be greater than 0.")


def _jacobian_tree(t: _Traced, blocks: list[list[Tensor]]) -> Any:
    """blocks[i][j]: d out_i / d var_j, shaped out_i.shape + var_j.shape, arranged as torch's
    jacobians: the output's structure, each leaf holding the differentiated arguments' structure."""
    return _unflatten(t.out_spec, [t.per_arg(row) for row in blocks])


def jacrev(
    func: Callable[..., Any],
    argnums: int | tuple[int, ...] = 0,
    *,
    has_aux: bool = False,
    chunk_size: int | None = None,
    _preallocate_and_copy: bool = False,
) -> Callable:
    """torch.func.jacrev: a function returning the Jacobian of ``func`` with respect to argument
    ``argnums`` by reverse mode: one backward pass per output element. For an output of shape
    O and an input of shape I the block has shape O + I (``(jacobian, aux)`` with ``has_aux``)."""
    _check_chunk_size(chunk_size, "jacrev")
    from . import ops  # noqa: PLC0415  (ops load after this module's imports)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = _Traced(func, args, kwargs, argnums, has_aux, "jacrev")
        _check_tensor_outputs(t, "jacrev", floating=True)
        blocks = []
        with enable_grad() if t.compose else contextlib.nullcontext():
            for o in t.out_leaves:
                rows = [t.grads([o], [_one_hot(o, k)], t.compose) for k in range(o.numel())]
                blocks.append(
                    [
                        (ops.stack([r[j] for r in rows], 0) if rows else v.detach().new_zeros((0, *v.shape))).reshape(
                            (*o.shape, *v.shape)
                        )
                        for j, v in enumerate(t.vars)
                    ]
                )
        if not t.compose:
            blocks = [[b.detach() for b in row] for row in blocks]
        jac = _jacobian_tree(t, blocks)
        return (jac, t.result(t.aux)) if has_aux else jac

    return wrapper


# -- forward mode by the double-vjp trick ---------------------------------------------------------
class _Linearized:
    """g(u) = J^T u for dummy cotangents u, built once with a graph: d<g(u), v>/du = J v."""

    def __init__(self, t: _Traced) -> None:
        self.t = t
        # an integer output has a zero derivative (as torch's jvp gives): no dummy cotangent for it
        self.us = [_zeros(o).requires_grad_(o.dtype.kind == "f") for o in t.out_leaves]
        with enable_grad():
            self.g = t.grads(t.out_leaves, self.us, True)

    def push(self, seeds: Sequence[Tensor], create_graph: bool) -> list[Tensor]:
        """J v (one tensor per output) for v given as one tensor per variable."""
        keep = [i for i, g in enumerate(self.g) if g.requires_grad]
        wrt = [u for u in self.us if u.requires_grad]
        if not keep or not wrt:
            return [_zeros(u) for u in self.us]
        gs = iter(
            _autograd_grad(
                [self.g[i] for i in keep],
                wrt,
                [seeds[i] for i in keep],
                retain_graph=True,
                create_graph=create_graph,
                allow_unused=True,
            )
        )
        out = [next(gs) if u.requires_grad else None for u in self.us]
        return [_zeros(u) if g is None else g for g, u in zip(out, self.us, strict=True)]


def _flat_tangents(t: _Traced, tangents: tuple, primals: tuple, what: str) -> list[Tensor]:
    leaves, spec = _flatten(tangents)
    if spec != _flatten(primals)[1]:
        raise RuntimeError(
            f"{what}: Expected primals and tangents to have the same python structure. For example, if primals "
            f"is a tuple of 3 tensors, tangents also must be. Got primals with structure "
            f"{_spec_str(_flatten(primals)[1])} and tangents with structure {_spec_str(spec)}"
        )
    for tan, v in zip(leaves, t.vars, strict=True):
        if not isinstance(tan, Tensor) or tan.shape != v.shape:
            got = tan.shape if isinstance(tan, Tensor) else type(tan)
            raise RuntimeError(f"{what}: Expected primals and tangents to have the same shape, got {v.shape} and {got}")
    return leaves


def jvp(
    func: Callable[..., Any], primals: tuple, tangents: tuple, *, strict: bool = False, has_aux: bool = False
) -> tuple:
    """torch.func.jvp: ``(func(*primals), J @ tangents)`` (``+ (aux,)`` with ``has_aux``), the
    Jacobian-vector product. Computed as the vjp of a vjp: one forward and two backward passes."""
    for name, x in (("primals", primals), ("tangents", tangents)):
        if not isinstance(x, tuple):
            raise RuntimeError(
                f"jvp(f, primals, tangents): Expected {name} to be a tuple. "
                "E.g. it should be valid to call f(*primals)."
            )
    t = _Traced(func, primals, {}, tuple(range(len(primals))), has_aux, "jvp")
    _check_tensor_outputs(t, "jvp")
    seeds = _flat_tangents(t, tangents, primals, "jvp")
    create = t.needs_graph(*seeds)
    with enable_grad():
        jv = _Linearized(t).push(seeds, create)
    if not create:
        jv = [x.detach() for x in jv]
    out = t.result(t.out)
    tangent_out = _unflatten(t.out_spec, jv)
    return (out, tangent_out, t.result(t.aux)) if has_aux else (out, tangent_out)


def linearize(func: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """torch.func.linearize: ``(func(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` is the jvp at
    ``primals``. The vjp graph is built once; each call is one more backward pass."""
    t = _Traced(func, primals, {}, tuple(range(len(primals))), False, "linearize")
    _check_tensor_outputs(t, "linearize")
    lin = _Linearized(t)

    def jvp_fn(*tangents: Any) -> Any:
        seeds = _flat_tangents(t, tangents, primals, "linearize")
        create = t.needs_graph(*seeds)
        with enable_grad():
            jv = lin.push(seeds, create)
        return _unflatten(t.out_spec, jv if create else [x.detach() for x in jv])

    return t.result(t.out), jvp_fn


def jacfwd(
    func: Callable[..., Any],
    argnums: int | tuple[int, ...] = 0,
    has_aux: bool = False,
    *,
    randomness: str = "error",
) -> Callable:
    """torch.func.jacfwd: the Jacobian of ``func`` with respect to argument ``argnums`` column by
    column (one jvp per input element, each a backward pass through the vjp graph built once).
    Same shapes as :func:`jacrev` (``(jacobian, aux)`` with ``has_aux``)."""
    _check_randomness(randomness)
    from . import ops  # noqa: PLC0415

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = _Traced(func, args, kwargs, argnums, has_aux, "jacfwd")
        _check_tensor_outputs(t, "jacfwd")
        with enable_grad():
            lin = _Linearized(t)
            columns = []  # per variable: per input element, J e_k (one tensor per output)
            for j, v in enumerate(t.vars):
                zeros = [_zeros(w) for w in t.vars]
                cols = []
                for k in range(v.numel()):
                    seeds = list(zeros)
                    seeds[j] = _one_hot(v, k)
                    cols.append(lin.push(seeds, t.compose))
                columns.append(cols)
        blocks = [
            [
                (
                    ops.stack([c[i] for c in columns[j]], -1) if columns[j] else o.detach().new_zeros((*o.shape, 0))
                ).reshape((*o.shape, *v.shape))
                for j, v in enumerate(t.vars)
            ]
            for i, o in enumerate(t.out_leaves)
        ]
        if not t.compose:
            blocks = [[b.detach() for b in row] for row in blocks]
        jac = _jacobian_tree(t, blocks)
        return (jac, t.result(t.aux)) if has_aux else jac

    return wrapper


def hessian(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable:
    """torch.func.hessian: ``jacfwd(jacrev(func, argnums), argnums)``; for a scalar function of an
    input of shape I the Hessian has shape I + I."""
    return jacfwd(jacrev(func, argnums), argnums)


# -- vmap ----------------------------------------------------------------------------------------
def _check_randomness(randomness: Any) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")


def vmap(
    func: Callable[..., Any],
    in_dims: int | tuple | None = 0,
    out_dims: int | tuple | None = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """torch.func.vmap (also ``mc.vmap``): ``func`` mapped over dimension ``in_dims`` of its inputs,
    the results stacked along ``out_dims``. Runs ``func`` once per index of the mapped dimension
    (see the module docstring). ``in_dims``: an int, or a tuple with one entry per positional
    argument, each an int, None (not mapped) or a nested tuple/list/dict matching that argument;
    keyword arguments are passed unmapped. ``randomness``: 'error', 'different' or 'same'."""
    _check_randomness(randomness)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _vmap_call(func, in_dims, out_dims, randomness, args, kwargs)

    return wrapper


def _vmap_call(
    func: Callable[..., Any], in_dims: Any, out_dims: Any, randomness: str, args: tuple, kwargs: dict
) -> Any:
    name = _name(func)
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    if (not isinstance(in_dims, (int, tuple))) or isinstance(in_dims, bool):
        raise ValueError(
            f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the structure of "
            f"inputs, got: {type(in_dims)}."
        )
    if not args:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying to vmap "
            "over a function with no inputs. The latter is unsupported."
        )
    leaves, spec = _flatten(args)
    dims = _broadcast_prefix(in_dims, args)
    if dims is None:
        raise ValueError(
            f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has structure "
            f"{_spec_str(_flatten(in_dims)[1])} but inputs has structure {_spec_str(spec)}."
        )
    sizes = []
    for i, (x, d) in enumerate(zip(leaves, dims, strict=True)):
        if d is None:
            continue
        if not isinstance(d, int) or isinstance(d, bool):
            raise ValueError(f"{where}: in_dims must be int or None, got {d!r} for input {i}")
        if not isinstance(x, Tensor):
            raise ValueError(
                f"{where}: Got in_dim={d} for an input but the input is of type {type(x)}. We cannot vmap over "
                "non-Tensor arguments, please use None as the respective in_dim"
            )
        if not -x.ndim <= d < x.ndim:
            raise ValueError(
                f"{where}: Got in_dim={d} for some input, but that input is a Tensor of dimensionality {x.ndim} so "
                f"expected in_dim to satisfy -{x.ndim} <= in_dim < {x.ndim}."
            )
        dims[i] = d % x.ndim
        sizes.append(x.shape[dims[i]])
    if not sizes:
        raise ValueError(
            f"{where}: at least one input must be mapped over (got in_dims={in_dims}), "
            "as torch: use None only for the inputs that are not mapped"
        )
    if len(set(sizes)) > 1:
        raise ValueError(
            f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes {sizes} for the "
            "mapped dimension"
        )
    size = sizes[0]

    def call(i: int | None) -> Any:
        sliced = [
            x if d is None else (x.select(d, i) if i is not None else _zeros_without(x, d))
            for x, d in zip(leaves, dims, strict=True)
        ]
        return func(*_unflatten(spec, sliced), **kwargs)

    with mc_random.vmap_randomness(randomness) as rewind:
        if size == 0:
            with mc_random.fork_rng():
                results = [call(None)]
        else:
            results = []
            for i in range(size):
                rewind()
                results.append(call(i))
    return _stack_outputs(results, out_dims, name, size)


def _zeros_without(x: Tensor, d: int) -> Tensor:
    """A zero slice of ``x`` at dimension ``d`` (a size-0 mapped dimension has no slice to take)."""
    return Tensor(x.xp.zeros(x.shape[:d] + x.shape[d + 1 :], dtype=x.dtype))


def _stack_outputs(results: list[Any], out_dims: Any, name: str, size: int) -> Any:
    from . import ops  # noqa: PLC0415

    where = f"vmap({name}, ..., out_dims={out_dims})(<inputs>)"
    if (not isinstance(out_dims, (int, tuple)) and out_dims is not None) or isinstance(out_dims, bool):
        raise ValueError(
            f"{where}: expected `out_dims` to be int or a (potentially nested) tuple matching the structure of "
            f"outputs, got: {type(out_dims)}."
        )
    flats = [_flatten(r) for r in results]
    leaves, spec = flats[0]
    for _, s in flats[1:]:
        if s != spec:
            raise ValueError(
                f"vmap({name}, ...): `{name}` returned outputs of different structures for different slices"
            )
    dims = _broadcast_prefix(out_dims, results[0])
    if dims is None:
        raise ValueError(
            f"{where}: out_dims is not compatible with the structure of `outputs`. out_dims has structure "
            f"{_spec_str(_flatten(out_dims)[1])} but outputs has structure {_spec_str(spec)}."
        )
    stacked = []
    for j, (first, d) in enumerate(zip(leaves, dims, strict=True)):
        column = [f[0][j] for f in flats]
        if d is None:
            if (
                isinstance(first, Tensor)
                and size
                and any(
                    not isinstance(c, Tensor) or c.shape != first.shape or bool((c.array != first.array).any())
                    for c in column[1:]
                )
            ):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
            stacked.append(first)
            continue
        if not isinstance(first, Tensor):
            raise ValueError(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(first)}. Did you mean to set "
                "out_dims= to None for output?"
            )
        nd = first.ndim + 1
        if not -nd <= d < nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {d})")
        if size == 0:
            shape = list(first.shape)
            shape.insert(d % nd, 0)
            stacked.append(Tensor(first.xp.zeros(tuple(shape), dtype=first.dtype)))
        else:
            stacked.append(ops.stack(column, d % nd))
    return _unflatten(spec, stacked)


# -- functional_call and stack_module_state -----------------------------------------------------
def _merge_dicts(dicts: Any) -> dict[str, Any]:
    """The one dict of replacements: the dict itself (torch writes the module's reassignments back
    into it), or a new dict merging a tuple/list of dicts with distinct keys."""
    if isinstance(dicts, dict):
        return dicts
    if not isinstance(dicts, (tuple, list)):
        raise ValueError(
            f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got {type(dicts)}"
        )
    if not all(isinstance(d, dict) for d in dicts):
        raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
    counts: dict[str, int] = {}
    for d in dicts:
        for k in d:
            counts[k] = counts.get(k, 0) + 1
    repeated = [k for k, n in counts.items() if n > 1]
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
    return {k: v for d in dicts for k, v in d.items()}


def _untie(module: Any, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with every name tied to a given one (the same tensor under several names)
    mapped to the same value; two different values for one tied tensor raise."""
    everything = dict(module.named_parameters(remove_duplicate=False))
    everything.update(module.named_buffers(remove_duplicate=False))
    groups: dict[int, list[str]] = {}
    for name, t in everything.items():
        groups.setdefault(id(t), []).append(name)
    out = dict(given)
    for names in groups.values():
        if len(names) < 2:
            continue
        values = {id(given[n]): given[n] for n in names if n in given}
        if len(values) > 1:
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(n for n in names if n in given)}, which are "
                "tied. Consider using tie_weights=False"
            )
        if values:
            value = next(iter(values.values()))
            for n in names:
                out.setdefault(n, value)
    return out


def _swap(module: Any, dotted: str, value: Any) -> Callable[[], Any]:
    """Put ``value`` in the slot ``dotted`` names; returns a function that puts the old one back
    and returns what was in the slot by then (the module may have reassigned it)."""
    path, _, attr = dotted.rpartition(".")
    owner = module.get_submodule(path) if path else module
    for reg in (owner._parameters, owner._buffers):
        if attr in reg:
            old = reg[attr]
            reg[attr] = value

            def restore(reg: dict = reg, old: Any = old) -> Any:
                current, reg[attr] = reg[attr], old
                return current

            return restore
    d = owner.__dict__
    missing = object()
    old = d.get(attr, missing)
    d[attr] = value

    def restore_attr() -> Any:
        current = d.get(attr)
        if old is missing:
            d.pop(attr, None)
        else:
            d[attr] = old
        return current

    return restore_attr


@contextlib.contextmanager
def _reparametrized(module: Any, given: dict[str, Any], tie_weights: bool, strict: bool) -> Iterator[None]:
    """The module with ``given``'s tensors in place; afterwards its own again, and ``given``
    updated with what the module put in those slots meanwhile (a reassigned buffer), as torch."""
    tensors = _untie(module, given) if tie_weights else given
    if strict:
        names = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        names |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        errors = []
        unexpected = [k for k in tensors if k not in names]
        missing = sorted(names - set(tensors))
        if unexpected:
            errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if errors:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(errors))
    restores = []
    try:
        for name, value in tensors.items():
            restores.append((name, _swap(module, name, value)))
        yield
    finally:
        current = {name: restore() for name, restore in reversed(restores)}
        given.update({k: current[k] for k in given if k in current})


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """torch.func.functional_call: ``module(*args, **kwargs)`` with its parameters and buffers
    replaced, for this call only, by the tensors of ``parameter_and_buffer_dicts`` (one dict of
    dotted names, or a tuple of dicts with distinct keys). Names not given keep the module's
    own tensors (with ``strict=True`` every name must be given and no other). With
    ``tie_weights`` a tensor registered under several names is replaced under all of them. The
    module's own tensors are back in place afterwards, also when the call raises."""
    tensors = _merge_dicts(parameter_and_buffer_dicts)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrized(module, tensors, tie_weights, strict):
        return module(*args, **(kwargs or {}))


def stack_module_state(models: Sequence[Any]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """torch.func.stack_module_state: ``(params, buffers)``, each name's tensors of the ``models``
    (of one class and one train/eval mode) stacked along a new leading dimension of size
    len(models). The stacked parameters are new leaves (requiring grad as the originals);
    the stacked buffers do not require grad."""
    from . import ops  # noqa: PLC0415

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named: list[dict[str, Tensor]], leaves: bool) -> dict[str, Tensor]:
        out = {}
        for name in named[0]:
            ts = [n[name] for n in named]
            if leaves and len({t.requires_grad for t in ts}) > 1:
                raise RuntimeError(
                    f"Expected {name} from each model to have the same .requires_grad, got "
                    f"{[t.requires_grad for t in ts]}"
                )
            s = ops.stack([t.detach() for t in ts], 0)
            out[name] = s.requires_grad_(ts[0].requires_grad) if leaves else s
        return out

    params = stacked([dict(m.named_parameters()) for m in models], True)
    buffers = stacked([dict(m.named_buffers()) for m in models], False)
    return params, buffers


class _MetaArray(np.ndarray):
    """The data of a tensor on torch's 'meta' device: its shape and dtype, no memory (a
    zero-stride view of one element), and an error where anything computes with it."""

    is_meta_array = True  # (what Tensor's constructor looks for, to keep it one: see autograd._as_array)

    def __array_ufunc__(self, *args: Any, **kwargs: Any) -> Any:
        raise _meta_error()

    def __array_function__(self, *args: Any, **kwargs: Any) -> Any:
        raise _meta_error()


def _meta_error() -> RuntimeError:
    return RuntimeError(
        "Tensor on device meta has no data: a module moved with .to('meta') keeps only its parameters' and "
        "buffers' shapes and dtypes; call it through minicnn.func.functional_call with real tensors"
    )


def meta_array(a: Any) -> np.ndarray:
    """A 'meta' stand-in for array ``a`` (``Module.to('meta')``): same shape and dtype, no data."""
    return np.broadcast_to(np.zeros((), dtype=a.dtype), a.shape).view(_MetaArray)


def functionalize(func: Callable[..., Any], *, remove: str = "mutations") -> Callable:
    """torch.func.functionalize: in eager minicnn the same function (see the module docstring):
    the results and the mutations of the inputs are those of ``func``."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(
            f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. Valid options "
            "are:\n     remove='mutations': all inplace and out= operators will be removed from the program, and "
            "replaced with their out-of-place equivalents.\n     remove='mutations_and_views': In addition to the "
            "above, all aliasing operators {view} will be replaced with their non-aliasing counterparts, {view}_copy.\n"
        )

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def replace_all_batch_norm_modules_(root: Any) -> Any:
    """torch.func.replace_all_batch_norm_modules_: every BatchNorm in ``root`` (tracking running
    statistics) stops tracking them: running_mean, running_var and num_batches_tracked become
    None and track_running_stats False, so it normalises with the batch's statistics (what
    torch's vmap over a BatchNorm in training needs). In place; returns ``root``."""
    from .nn.normalization import _BatchNorm  # noqa: PLC0415  (nn loads after this module)

    for m in root.modules():
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root


def debug_unwrap(tensor: Tensor, *, recurse: bool = True) -> Tensor:
    """torch.func.debug_unwrap: the plain tensor under a transform's wrapper. minicnn's transforms
    wrap nothing (a vmapped function sees real slices), so this is ``tensor`` itself."""
    return tensor
