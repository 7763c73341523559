"""Differential fuzzer (seeded, trimmed) of the autograd engine: one random program, built from a recipe,
run through torch and minicnn side by side at float64, every observable compared.

A program makes a few leaves (some requiring grad, 0-d and size-1 shapes among them) and applies random
operations: views (slicing with steps and negative bounds, ``select``, ``narrow``, ``view``/``reshape``,
``transpose``/``t``/``permute``, ``expand``, ``unsqueeze``/``squeeze``, ``diagonal``, ``unbind``/``split``/
``chunk``, ``unfold``, ``as_strided``, ``detach``, views of views); in-place writes on bases and views
(``add_``, ``mul_``, ``copy_``, ``zero_``, ``clamp_``, ``relu_``, ``sigmoid_``, setitem with scalars, tensors
and masks, ``masked_fill_``, ``index_add_``; on leaves that require grad, views of them, under ``no_grad``);
out-of-place ops that save tensors (``mul``, ``exp``, ``sigmoid``, ``tanh``, ``pow``, ``matmul``, ``sum``/
``mean`` over dims, ``cat``, ``stack``, ``where``, ``max(dim)``); ``retain_grad``, ``register_hook`` (None or a
replaced gradient), ``register_post_accumulate_grad_hook``, ``requires_grad_``, ``detach_``. Then one backward
form: ``backward()``, ``backward(gradient)``, twice with or without ``retain_graph``, ``inputs=``,
``autograd.grad`` (``grad_outputs``, ``allow_unused``, ``materialize_grads``, ``retain_graph``), or
``create_graph`` and a second-order backward. Compared after each step: values, shapes, dtypes,
``requires_grad``, ``is_leaf``, ``grad_fn is None``, exceptions (both raise, minicnn's of torch's type), and
after backward every leaf's ``.grad``, retained gradients, ``retains_grad`` and the hooks' calls (order,
gradients). Where minicnn differs from torch on purpose (README "Where minicnn differs from torch"), the
recipe avoids the case; a comment at each says which.

The full fuzzer ran 28,000 programs (8,000 of them of 6-16 operations); here a few dozen. A failure names the seed:
``run_program(seed)`` replays it and says what differs, with the program's trace.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import minicnn as mc

LIBS = (torch, mc)
SHAPES = [(3, 4), (2, 3, 4), (4,), (), (2, 2), (1, 3), (3, 1, 2)]


@dataclass(eq=False)
class Pair:
    t: Any
    m: Any
    gid: int
    is_view: bool = False
    no_write: bool = False
    name: str = ""


@dataclass
class Prog:
    r: random.Random
    rs: np.random.RandomState
    pool: list[Pair] = field(default_factory=list)
    leaves: list[Pair] = field(default_factory=list)
    logs: tuple[list, list] = field(default_factory=lambda: ([], []))
    inplace_saved: set[int] = field(default_factory=set)
    view_written: set[int] = field(default_factory=set)
    zero_d_written: bool = False
    hook_gid: dict[int, int] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)  # groups read by a recorded op
    ngroups: int = 0
    trace: list[str] = field(default_factory=list)

    def new_gid(self) -> int:
        self.ngroups += 1
        return self.ngroups


def as_np(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, mc.Tensor):
        return np.asarray(x.detach().numpy())
    return x


def tensor_diff(t: Any, m: Any, what: str) -> str | None:
    if isinstance(t, torch.Tensor) != isinstance(m, mc.Tensor):
        return f"{what}: type {type(t).__name__} vs {type(m).__name__}"
    if not isinstance(t, torch.Tensor):
        if isinstance(t, (tuple, list)) and isinstance(m, (tuple, list)):
            if len(t) != len(m):
                return f"{what}: len {len(t)} vs {len(m)}"
            for i, (a, b) in enumerate(zip(t, m)):
                d = tensor_diff(a, b, f"{what}[{i}]")
                if d:
                    return d
            return None
        return None if t == m else f"{what}: {t!r} vs {m!r}"
    if tuple(t.shape) != tuple(m.shape):
        return f"{what}: shape {tuple(t.shape)} vs {tuple(m.shape)}"
    if str(t.dtype).replace("torch.", "") != str(m.dtype):
        return f"{what}: dtype {t.dtype} vs {m.dtype}"
    if t.requires_grad != m.requires_grad:
        return f"{what}: requires_grad {t.requires_grad} vs {m.requires_grad}"
    if t.is_leaf != m.is_leaf:
        return f"{what}: is_leaf {t.is_leaf} vs {m.is_leaf}"
    if (t.grad_fn is None) != (m.grad_fn is None):
        return f"{what}: grad_fn {t.grad_fn} vs {m.grad_fn}"
    a, b = as_np(t), as_np(m)
    if not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
        return f"{what}: values {a} vs {b}"
    return None


def grad_diff(t: Any, m: Any, what: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tg, mg = t.grad, m.grad
    if (tg is None) != (mg is None):
        return f"{what}.grad: {tg} vs {mg}"
    if tg is None:
        return None
    a, b = as_np(tg), as_np(mg)
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12):
        return f"{what}.grad: {a} vs {b}"
    return None


class MismatchError(Exception):
    pass


class SkipProgramError(Exception):
    pass


def both(p: Prog, what: str, fn: Callable[[Any], Any]) -> tuple[Any, Any, bool]:
    """Run fn(torch) and fn(mc); raise MismatchError where one raises and the other not, or the types differ."""
    outs, excs = [], []
    for lib in LIBS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outs.append(fn(lib))
            excs.append(None)
        except Exception as e:  # noqa: BLE001
            outs.append(None)
            excs.append(e)
    p.trace.append(what)
    te, me = excs
    if p.zero_d_written and me is None and "modified by an inplace operation" in str(te):
        raise SkipProgramError
    if me is None and "detached in-place" in str(te):  # minicnn's node keeps the value saved before detach_
        raise SkipProgramError
    if (te is None) != (me is None) or (te is not None and not isinstance(me, type(te))):
        raise MismatchError(f"{what}: exception {te!r} vs {me!r}")
    return outs[0], outs[1], te is not None


def leaf(p: Prog, shape: tuple[int, ...], rg: bool) -> Pair:
    a = np.asarray(p.rs.randn(*shape))
    pr = Pair(
        torch.tensor(a, requires_grad=rg), mc.tensor(a.copy(), requires_grad=rg), p.new_gid(), name=f"leaf{shape}"
    )
    p.pool.append(pr)
    p.leaves.append(pr)
    p.trace.append(f"leaf {shape} rg={rg}")
    return pr


def const(p: Prog, shape: tuple[int, ...]) -> tuple[Any, Any]:
    a = np.asarray(p.rs.randn(*shape))
    return torch.tensor(a), mc.tensor(a.copy())


def pick(p: Prog, cond: Callable[[Pair], bool] = lambda x: True) -> Pair | None:
    c = [x for x in p.pool if cond(x)]
    return p.r.choice(c) if c else None


def pick_lib(lib: Any, pr: Pair) -> Any:
    """The pair's torch or minicnn tensor."""
    return pr.t if lib is torch else pr.m


# -------------------------------------------------------------------------------- views
def view_op(p: Prog) -> None:
    r = p.r
    x = pick(p)
    shape = tuple(x.t.shape)
    nd = len(shape)
    kinds = ["detach", "unsqueeze", "reshape", "view", "expand", "permute"]
    if nd:
        kinds += ["slice", "select", "narrow", "transpose", "unbind", "split", "chunk", "unfold", "squeeze"]
    if nd <= 2:
        kinds.append("t")
    if nd >= 2:
        kinds += ["diagonal"] * 2
    if not x.is_view and all(s > 0 for s in shape) and nd:
        kinds.append("as_strided")
    kind = r.choice(kinds)
    d = r.randrange(nd) if nd else 0
    n = shape[d] if nd else 0
    no_write = x.no_write
    if kind == "slice":
        a, b = r.randint(-n - 1, n), r.choice([None, r.randint(-n - 1, n + 1)])
        st = r.choice([1, 1, 2, 3])
        idx = (slice(None),) * d + (slice(a, b, st),)
        if r.random() < 0.3:
            idx = (Ellipsis, slice(a, b, st)) if d == nd - 1 else idx
        fn = lambda lib: pick_lib(lib, x)[idx]  # noqa: E731
    elif kind == "select":
        i = r.randint(-n, n - 1) if n and r.random() > 0.1 else r.choice([n, -n - 1])  # out of range: IndexError
        fn = lambda lib: pick_lib(lib, x).select(d, i)  # noqa: E731
    elif kind == "narrow":
        s = r.randint(-n, n)
        ln = r.randint(0, max(0, n - (s % n if n else 0)))
        fn = lambda lib: pick_lib(lib, x).narrow(d, s, ln)  # noqa: E731
    elif kind == "view":
        if not (x.t.is_contiguous() and x.m.is_contiguous()):  # strides are NumPy's (elementwise ops keep their
            return  # input's layout, unfold's too): whether view() can apply is not compared
        sh = r.choice([(-1,), tuple(reversed(shape)), (*shape, 1), (1, -1)])
        fn = lambda lib: pick_lib(lib, x).view(*sh)  # noqa: E731
    elif kind == "reshape":
        sh = r.choice([(-1,), tuple(reversed(shape)), (1, *shape), (-1, 1)])
        fn = lambda lib: pick_lib(lib, x).reshape(sh)  # noqa: E731
        no_write = True  # may copy or view: a write through it is a torch artefact either way (not compared)
    elif kind == "transpose":
        d2 = r.randrange(-nd, nd)
        fn = lambda lib: pick_lib(lib, x).transpose(d, d2)  # noqa: E731
    elif kind == "t":
        fn = lambda lib: pick_lib(lib, x).t()  # noqa: E731
    elif kind == "permute":
        perm = list(range(nd))
        r.shuffle(perm)
        fn = lambda lib: pick_lib(lib, x).permute(*perm)  # noqa: E731
    elif kind == "expand":
        sh = (2, *[(3 if s == 1 and r.random() < 0.5 else -1) for s in shape])
        fn = lambda lib: pick_lib(lib, x).expand(*sh)  # noqa: E731
        no_write = True  # README: a write into an expand()ed tensor is refused
    elif kind == "unsqueeze":
        dd = r.randint(-nd - 1, nd)
        fn = lambda lib: pick_lib(lib, x).unsqueeze(dd)  # noqa: E731
    elif kind == "squeeze":
        fn = (lambda lib: pick_lib(lib, x).squeeze(d)) if r.random() < 0.5 else (lambda lib: pick_lib(lib, x).squeeze())
    elif kind == "diagonal":
        off, d1, d2 = r.randint(-2, 2), r.randrange(nd), r.randrange(nd)
        fn = lambda lib: pick_lib(lib, x).diagonal(off, d1, d2)  # noqa: E731
    elif kind in ("unbind", "split", "chunk"):
        k = r.randint(0, 3)
        sz = r.randint(1, 3)
        call = {
            "unbind": lambda v: v.unbind(d),
            "split": lambda v: v.split(sz, d),
            "chunk": lambda v: v.chunk(sz, d),
        }[kind]
        both(p, f"{kind}(len) on {x.name}", lambda lib: len(call(pick_lib(lib, x))))

        def fn(lib: Any) -> Any:
            parts = call(pick_lib(lib, x))
            return parts[k]

        no_write = True  # README: in-place into split/chunk/unbind outputs computed as a plain view (torch refuses)
    elif kind == "unfold":
        sz, st = r.randint(1, 3), r.randint(1, 2)
        fn = lambda lib: pick_lib(lib, x).unfold(d, sz, st)  # noqa: E731
        no_write = True  # README: a write through unfold is not carried back to its base's history
    elif kind == "as_strided":
        total = int(np.prod(shape))
        sh, st = r.choice([((total,), (1,)), ((2, 2), (1, 1)), ((total - 1,), (1,)), ((1,), (0,))])
        if total < 3:
            sh, st = (total,), (1,)
        fn = lambda lib: pick_lib(lib, x).as_strided(sh, st)  # noqa: E731
        no_write = True  # README: a write through as_strided is not carried back
    else:  # detach
        fn = lambda lib: pick_lib(lib, x).detach()  # noqa: E731
    t, m, raised = both(p, f"{kind} of {x.name}", fn)
    if raised:
        return
    d_ = tensor_diff(t, m, f"{kind} of {x.name}")
    if d_:
        raise MismatchError(d_)
    p.pool.append(Pair(t, m, x.gid, True, no_write or kind in ("detach",), f"{kind}({x.name})"))


# -------------------------------------------------------------------------------- out of place
def func_op(p: Prog) -> None:
    r = p.r
    x = pick(p)
    shape = tuple(x.t.shape)
    nd = len(shape)
    kind = r.choice(
        ["mul", "mul_t", "exp", "sigmoid", "tanh", "pow", "matmul", "sum", "mean", "cat", "stack", "where", "max"]
    )
    same = pick(p, lambda y: tuple(y.t.shape) == shape) or x
    p.used.update((x.gid, same.gid))
    if kind == "mul":
        ct, cm = const(p, shape)
        fn = lambda lib: pick_lib(lib, x) * (ct if lib is torch else cm)  # noqa: E731
    elif kind == "mul_t":
        fn = lambda lib: pick_lib(lib, x) * pick_lib(lib, same)  # noqa: E731
    elif kind in ("exp", "sigmoid", "tanh"):
        fn = lambda lib: getattr(pick_lib(lib, x), kind)()  # noqa: E731
    elif kind == "pow":
        e = r.choice([2, 3, 0.5, -1])  # not 0: torch's create_graph gradient of x.pow(0) has no graph, minicnn's has
        if e in (0.5, -1):
            fn = lambda lib: (pick_lib(lib, x) * pick_lib(lib, x) + 1) ** e  # noqa: E731
        else:
            fn = lambda lib: pick_lib(lib, x).pow(e)  # noqa: E731
    elif kind == "matmul":
        k = shape[-1] if nd else 1
        ct, cm = const(p, (k, 2) if r.random() < 0.7 else (k,))
        fn = lambda lib: lib.matmul(pick_lib(lib, x), ct if lib is torch else cm)  # noqa: E731
    elif kind in ("sum", "mean"):
        if nd and r.random() < 0.7:
            dims = r.choice([r.randrange(-nd, nd), tuple(sorted(set(r.randrange(nd) for _ in range(2))))])
            kd = r.random() < 0.5
            fn = lambda lib: getattr(pick_lib(lib, x), kind)(dims, keepdim=kd)  # noqa: E731
        else:
            fn = lambda lib: getattr(pick_lib(lib, x), kind)()  # noqa: E731
    elif kind in ("cat", "stack"):
        dd = r.randint(-nd, max(nd - 1, 0)) if kind == "cat" else r.randint(-nd - 1, nd)
        fn = lambda lib: getattr(lib, kind)([pick_lib(lib, x), pick_lib(lib, same)], dd)  # noqa: E731
    elif kind == "where":
        c = p.rs.rand(*shape) < 0.5
        fn = lambda lib: lib.where(lib.tensor(c.copy()), pick_lib(lib, x), pick_lib(lib, same))  # noqa: E731
    else:  # max with dim
        if not nd or 0 in shape:
            return
        dd = r.randrange(-nd, nd)
        kd = r.random() < 0.5
        ti, mi, raised = both(p, f"max({x.name}, {dd})[1]", lambda lib: lib.max(pick_lib(lib, x), dd, keepdim=kd)[1])
        if not raised and tensor_diff(ti, mi, "max idx"):
            raise MismatchError(f"max indices {ti} vs {mi}")
        fn = lambda lib: lib.max(pick_lib(lib, x), dd, keepdim=kd)[0]  # noqa: E731
    t, m, raised = both(p, f"{kind} of {x.name},{same.name}", fn)
    if raised:
        return
    dd_ = tensor_diff(t, m, f"{kind} of {x.name}")
    if dd_:
        raise MismatchError(dd_)
    p.pool.append(Pair(t, m, p.new_gid(), name=f"{kind}({x.name})"))


# -------------------------------------------------------------------------------- in place
SAVING_INPLACE = {"mul_t", "clamp_", "relu_", "sigmoid_"}


def inplace_op(p: Prog) -> None:
    r = p.r
    x = pick(p, lambda y: not y.no_write and y.gid not in p.inplace_saved)
    if x is None:
        return
    shape = tuple(x.t.shape)
    nd = len(shape)
    kind = r.choice(
        [
            "add_",
            "add_t",
            "mul_",
            "mul_t",
            "copy_",
            "zero_",
            "clamp_",
            "relu_",
            "sigmoid_",
            "set_s",
            "set_t",
            "set_mask",
            "masked_fill_",
            "index_add_",
        ]
    )
    src = None
    if kind in ("add_t", "mul_t", "copy_"):
        src = pick(p, lambda y: tuple(y.t.shape) == shape and y.gid != x.gid)
        if src is None:
            src = leaf(p, shape, r.random() < 0.5)
        p.used.add(src.gid)
    if kind == "add_":
        v = r.choice([1.5, -2.0])
        fn = lambda lib: pick_lib(lib, x).add_(v)  # noqa: E731
    elif kind == "mul_":
        v = r.choice([2.0, -0.5])
        fn = lambda lib: pick_lib(lib, x).mul_(v)  # noqa: E731
    elif kind == "add_t":
        fn = lambda lib: pick_lib(lib, x).add_(pick_lib(lib, src), alpha=2.0)  # noqa: E731
    elif kind == "mul_t":
        fn = lambda lib: pick_lib(lib, x).mul_(pick_lib(lib, src))  # noqa: E731
    elif kind == "copy_":
        fn = lambda lib: pick_lib(lib, x).copy_(pick_lib(lib, src))  # noqa: E731
    elif kind == "zero_":
        fn = lambda lib: pick_lib(lib, x).zero_()  # noqa: E731
    elif kind == "clamp_":
        lo, hi = r.choice([(-0.5, 0.5), (None, 0.2), (0.1, None)])
        fn = lambda lib: pick_lib(lib, x).clamp_(lo, hi)  # noqa: E731
    elif kind in ("relu_", "sigmoid_"):
        fn = lambda lib: getattr(pick_lib(lib, x), kind)()  # noqa: E731
    elif kind in ("set_s", "set_t"):
        if not nd or 0 in shape:
            return
        d = r.randrange(nd)
        i = r.randrange(shape[d])
        idx = (slice(None),) * d + (i,)
        sub = shape[:d] + shape[d + 1 :]
        if kind == "set_s":
            vv = (2.5, 2.5)
        else:
            s2 = pick(p, lambda y: tuple(y.t.shape) == sub and y.gid != x.gid)
            p.used.add(0 if s2 is None else s2.gid)
            vv = (s2.t, s2.m) if s2 is not None else const(p, sub)

        def fn(lib: Any) -> Any:
            pick_lib(lib, x)[idx] = vv[0] if lib is torch else vv[1]
            return pick_lib(lib, x)

    elif kind in ("set_mask", "masked_fill_"):
        mask = p.rs.rand(*shape) < 0.5
        v = r.choice([0.0, 3.0])

        def fn(lib: Any) -> Any:
            mk = lib.tensor(mask.copy())
            if kind == "set_mask":
                pick_lib(lib, x)[mk] = v
                return pick_lib(lib, x)
            return pick_lib(lib, x).masked_fill_(mk, v)

    else:  # index_add_
        if not nd:
            return
        d = r.randrange(nd)
        idx = [r.randrange(shape[d]) for _ in range(r.randint(1, 3))] if shape[d] else []
        sshape = shape[:d] + (len(idx),) + shape[d + 1 :]
        s2 = leaf(p, sshape, r.random() < 0.5) if r.random() < 0.5 else None
        if s2 is not None:  # torch saves index_add_'s source only for its shape: a later write to it is an artefact
            p.inplace_saved.add(s2.gid)
            p.used.add(s2.gid)
        ct = const(p, sshape) if s2 is None else (s2.t, s2.m)

        def fn(lib: Any) -> Any:
            ii = lib.tensor(np.asarray(idx, dtype=np.int64))
            return pick_lib(lib, x).index_add_(d, ii, ct[0] if lib is torch else ct[1], alpha=1.5)

    ng = r.random() < 0.2
    rg_before = x.t.requires_grad or (src is not None and src.t.requires_grad)

    def run(lib: Any) -> Any:
        # a recorded in-place op returns minicnn's new Tensor object that the input aliases: identity not compared
        if ng:
            with lib.no_grad():
                return fn(lib)
        return fn(lib)

    t, m, raised = both(p, f"{kind} on {x.name} ng={ng}", run)
    if raised:
        return
    d_ = tensor_diff(t, m, f"{kind} on {x.name}")
    if d_:
        raise MismatchError(d_)
    d_ = tensor_diff(x.t, x.m, f"after {kind}: {x.name}")
    if d_:
        raise MismatchError(d_)
    # README: views taken before a recorded write are refused afterwards; after a write autograd does not record,
    # torch regenerates their history (dropping their hooks; refusing outputs of unbind/split/chunk): not compared
    recorded = rg_before and not ng
    p.pool = [y for y in p.pool if (y is x and recorded) or y.gid != x.gid or not y.is_view]
    if shape == () or 0 in shape:  # minicnn keeps a 0-d value an op saves as a copy, and an empty array shares
        # no memory: no version error at backward (torch's)
        p.zero_d_written = True
    if recorded:
        if x.is_view:  # README: minicnn records base = f(written view), torch view = f(rebuilt base): the
            p.view_written.add(x.gid)  # gradients of the group's tensors (grad inputs, retained, hooks) are not
            if x.gid in p.hook_gid.values():  # compared, and a hook there may change the gradient that flows on
                raise SkipProgramError
        if kind in SAVING_INPLACE:
            p.inplace_saved.add(x.gid)
    if not ng and x.t.requires_grad:
        p.inplace_saved.add(x.gid)  # README: an in-place op keeps a copy of what its backward needs


# -------------------------------------------------------------------------------- flags, hooks
def flag_op(p: Prog) -> None:
    r = p.r
    x = pick(p)
    kind = r.choice(["retain_grad", "hook", "hook", "post_hook", "requires_grad_", "detach_"])
    if kind == "hook" and x.gid in p.view_written:
        return
    if kind == "retain_grad":
        both(p, f"retain_grad {x.name}", lambda lib: pick_lib(lib, x).retain_grad())
    elif kind == "hook":
        mode = r.choice([None, "double", "none"])
        hid = len(p.trace)
        p.hook_gid[hid] = x.gid

        def mk(log: list) -> Callable:
            def h(g: Any) -> Any:
                log.append((hid, "hook", as_np(g).copy()))
                return g * 2 if mode == "double" else None

            return h

        both(
            p,
            f"hook{hid} {mode} on {x.name}",
            lambda lib: pick_lib(lib, x).register_hook(mk(p.logs[lib is mc])) and None,
        )
    elif kind == "post_hook":
        hid = len(p.trace)
        p.hook_gid[hid] = x.gid

        def mk(log: list) -> Callable:
            def h(tt: Any) -> None:
                log.append((hid, "post", as_np(tt.grad).copy()))

            return h

        both(
            p,
            f"post{hid} on {x.name}",
            lambda lib: pick_lib(lib, x).register_post_accumulate_grad_hook(mk(p.logs[lib is mc])) and None,
        )
    elif kind == "requires_grad_":
        f = r.random() < 0.6 or (x.t.is_leaf and x.t.requires_grad)  # switched off: as detach_ below
        if f and x.t.is_leaf and not x.t.requires_grad and x.gid in p.used:  # minicnn's nodes read their inputs'
            return  # requires_grad when backward runs: a graph recorded before would reach it (torch's would not)
        both(p, f"requires_grad_({f}) {x.name}", lambda lib: (pick_lib(lib, x).requires_grad_(f), None)[1])
        # torch's view of a base that requires grad requires grad too, even if taken before: not compared
        p.pool = [y for y in p.pool if y is x or y.gid != x.gid or not y.is_view]
        if x.t.is_leaf and x.t.requires_grad and x not in p.leaves:
            p.leaves.append(x)
    # not on a leaf that requires grad: torch's graphs recorded before still run its hooks (post-accumulate ones with
    # .grad None); not on a tensor that retains its gradient: torch's node still fills its .grad, minicnn's not
    elif not (x.t.is_leaf and x.t.requires_grad) and not x.t.retains_grad:
        both(p, f"detach_ {x.name}", lambda lib: (pick_lib(lib, x).detach_(), None)[1])
    d_ = tensor_diff(x.t, x.m, f"after {kind}: {x.name}")
    if d_:
        raise MismatchError(d_)


# -------------------------------------------------------------------------------- backward
def compare_state(p: Prog, when: str) -> None:
    for i, x in enumerate(p.pool):
        if (x.t.is_leaf or x.t.retains_grad) and x.gid not in p.view_written:
            d_ = grad_diff(x.t, x.m, f"{when}: {x.name}#{i}")
            if d_:
                raise MismatchError(d_)
        if x.t.retains_grad != x.m.retains_grad:
            raise MismatchError(f"{when}: retains_grad {x.name}")
    # the hooks on the tensors of a group written through a view: see view_written
    tl, ml = ([e for e in log if p.hook_gid[e[0]] not in p.view_written] for log in p.logs)
    if len(tl) != len(ml) or any(a[:2] != b[:2] or not np.allclose(a[2], b[2]) for a, b in zip(tl, ml)):
        raise MismatchError(f"{when}: hook log {[a[:2] for a in tl]} vs {[b[:2] for b in ml]}")


def backward_phase(p: Prog) -> None:
    r = p.r
    outs = [x for x in p.pool if x.t.requires_grad]
    r.shuffle(outs)
    outs = outs[: r.randint(1, 3)] if outs else [r.choice(p.pool)]
    ws = [const(p, tuple(x.t.shape)) for x in outs]

    def loss(lib: Any) -> Any:
        tot = 0
        for x, w in zip(outs, ws):
            tot = tot + (pick_lib(lib, x) * w[lib is mc]).sum()
        return tot

    tl, ml, raised = both(p, "loss", loss)
    if raised:
        return
    loss_pair = Pair(tl, ml, 0, name="loss")
    form = r.choice(["plain", "retain2", "twice", "inputs", "gradient", "grad", "grad", "create"])
    leaves = [x for x in p.pool if x.t.is_leaf]
    # a pass that raises on both sides is not compared further: torch may have accumulated part of it
    if form == "plain":
        if both(p, "backward", lambda lib: pick_lib(lib, loss_pair).backward())[2]:
            return
    elif form in ("retain2", "twice"):
        if both(p, "backward", lambda lib: pick_lib(lib, loss_pair).backward(retain_graph=form == "retain2"))[2]:
            return
        compare_state(p, "after first backward")
        if both(p, "backward again", lambda lib: pick_lib(lib, loss_pair).backward())[2]:
            return
    elif form == "inputs":
        sub = [x for x in leaves if r.random() < 0.6] or leaves[:1]
        if both(
            p,
            f"backward inputs={[x.name for x in sub]}",
            lambda lib: pick_lib(lib, loss_pair).backward(inputs=[pick_lib(lib, x) for x in sub]),
        )[2]:
            return
    elif form == "gradient":
        x = outs[0]
        g = const(p, tuple(x.t.shape))
        if both(p, f"backward(gradient) of {x.name}", lambda lib: pick_lib(lib, x).backward(g[lib is mc]))[2]:
            return
    else:
        sub = [x for x in p.pool if r.random() < 0.4 and x.gid not in p.view_written] or p.pool[:1]
        au, mg = r.choice([None, True, False]), r.random() < 0.3
        rg = r.random() < 0.3
        if form == "create":
            sub = [x for x in sub if x.t.requires_grad] or sub
        kw = dict(allow_unused=au, materialize_grads=mg, retain_graph=rg)
        if form == "create":  # README/engine: create_graph keeps the graph walked whatever retain_graph says
            kw["create_graph"], kw["retain_graph"] = True, r.choice([None, True])
        go = const(p, ()) if r.random() < 0.5 else None

        def g(lib: Any) -> Any:
            gof = None if go is None else go[lib is mc]
            return lib.autograd.grad(pick_lib(lib, loss_pair), [pick_lib(lib, x) for x in sub], grad_outputs=gof, **kw)

        tg, mg_, raised = both(p, f"grad {kw} of {[x.name for x in sub]}", g)
        if not raised:
            d_ = tensor_diff(tuple(tg), tuple(mg_), "grad result")
            if d_:
                raise MismatchError(d_)
            if form == "create":
                gp = [(a, b) for a, b in zip(tg, mg_) if a is not None]

                def second(lib: Any) -> Any:
                    s = 0
                    for a, b in gp:
                        v = a if lib is torch else b
                        s = s + (v * v).sum()
                    return s.backward()

                if gp and both(p, "second order backward", second)[2]:
                    return
    compare_state(p, f"after {form}")


def run_program(seed: int) -> str | None:
    r, rs = random.Random(seed), np.random.RandomState(seed)
    p = Prog(r, rs)
    try:
        for _ in range(r.randint(1, 3)):
            leaf(p, r.choice(SHAPES), r.random() < 0.8)
        for _ in range(r.randint(1, 8)):
            op = r.choices([view_op, func_op, inplace_op, flag_op], [4, 3, 3, 2])[0]
            op(p)
        backward_phase(p)
    except MismatchError as e:
        return f"{e}\n  trace: {p.trace}"
    except SkipProgramError:
        return None
    return None


def test_fuzz_autograd_like_torch():
    found = [194, 969, 2609, 2611, 2616, 4901]  # seeds that found bugs, fixed since
    failures = [(seed, run_program(seed)) for seed in [*range(60), *found]]
    assert [f for f in failures if f[1]] == []
