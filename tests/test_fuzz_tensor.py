"""Differential fuzzers (seeded, trimmed) for tensor ops: the same random call run through torch and
minicnn, every observable result compared -- values (NaN places, the sign of zeros), dtype, shape,
the exception type (both raise or neither, minicnn's an instance of torch's), and, where the result
is floating and an input requires grad, the gradients of ``(out * w).sum()`` for random weights.

- binary ops: ``+ - * / // % **``, comparisons, ``& | ^ << >>``, ``maximum``, ``fmod``, ``remainder``,
  ``atan2``, ``true_divide``..., with broadcasting, every dtype, Python numbers and 0-d tensors (which
  promote differently), in-place forms (``a += b`` whose result cannot be cast back raises) and ``out=``;
- reductions: ``sum/prod/mean/amax/.../sort/topk/kthvalue/median/mode/unique/count_nonzero`` with ``dim``
  (int, tuple, negative, None, out of range), ``keepdim``, ``dtype=``, on empty dims and integer input;
- indexing: getitem and setitem with ints, slices with steps, None, Ellipsis, full and partial bool
  masks, 0-d bool tensors, int tensors and lists (torch's layout of the array dims), 0-d int tensors;
- index ops: ``index_select``, ``gather``, ``scatter`` (value, src, reduce), ``scatter_add``,
  ``scatter_reduce``, ``index_add/copy/fill/reduce``, ``index_put`` (accumulate), ``take``,
  ``take_along_dim``, ``masked_select/fill/scatter``, ``nonzero`` (as_tuple), ``where``.

Shapes are up to 4-d with 0-d, size-0 and size-1 dims; floats carry NaN, +-inf and -0.0 where no
gradient is taken. The full fuzzers run thousands of cases; here a few dozen each, so the file takes
seconds. A failure names the seed: ``run_*(seed)`` replays it. What is left out is said where it is.
"""

from __future__ import annotations

import math
import operator
import random
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import minicnn as mc

DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]
FLOATS = ("float32", "float64")


# -- inputs -------------------------------------------------------------------------------------
def rand_shape(r: random.Random, max_dims: int = 4) -> tuple[int, ...]:
    sizes = [0, 1, 1, 2, 3, 4] if r.random() < 0.3 else [1, 2, 3, 4]
    return tuple(r.choice(sizes) for _ in range(r.randint(0, max_dims)))


def rand_array(r: random.Random, rs: np.random.RandomState, shape: tuple[int, ...], dtype: str, special: bool = True):
    """Random values of ``dtype``: small ints (ties are common), floats rounded or not, with NaN,
    +-inf and signed zeros sprinkled in if ``special``."""
    if dtype == "bool":
        return np.asarray(rs.rand(*shape) < 0.5)
    if dtype == "uint8":
        return rs.randint(0, 10, size=shape).astype(np.uint8)
    if dtype in ("int32", "int64"):
        return rs.randint(-6, 7, size=shape).astype(dtype)
    a = np.asarray(np.round(rs.randn(*shape) * 3, 1 if r.random() < 0.5 else 6)).astype(dtype)
    if special and a.size and r.random() < 0.25:
        for _ in range(r.randint(1, 2)):
            a.reshape(-1)[r.randrange(a.size)] = r.choice([np.nan, np.inf, -np.inf, -0.0, 0.0])
    return a


class Arg:
    """One input of a case: an array (a fresh tensor of each library, requiring grad if ``grad``)
    or a Python number."""

    def __init__(self, value: Any, grad: bool = False):
        self.value, self.grad = value, grad

    def make(self, lib: Any) -> Any:
        if not isinstance(self.value, np.ndarray):
            return self.value
        if lib is torch:
            return torch.from_numpy(self.value.copy()).requires_grad_(self.grad)
        return mc.tensor(self.value.copy(), requires_grad=self.grad)


def rand_arg(r, rs, shape=None, dtype=None, scalar_ok=True, grad_ok=True) -> Arg:
    if scalar_ok and r.random() < 0.15:
        return Arg(r.choice([r.randint(-4, 4), r.choice([0.5, -1.5, 2.0, 0.0, -0.0, 3.25]), r.random() < 0.5]))
    shape = rand_shape(r) if shape is None else shape
    dtype = r.choice(DTYPES) if dtype is None else dtype
    grad = grad_ok and dtype in FLOATS and r.random() < 0.6
    return Arg(rand_array(r, rs, shape, dtype, special=not grad), grad=grad)  # (no gradients at inf/NaN)


# -- comparison ---------------------------------------------------------------------------------
def observe(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return ("T", str(x.dtype).replace("torch.", ""), tuple(x.shape), x.detach().numpy())
    if isinstance(x, mc.Tensor):
        return ("T", str(x.dtype), tuple(x.shape), np.asarray(x.detach().numpy()))
    if isinstance(x, (tuple, list)):
        return tuple(observe(y) for y in x)
    return x


def array_diff(a: np.ndarray, b: np.ndarray, dtype: str, zeros: bool, loose: bool) -> str | None:
    if dtype not in FLOATS:
        return None if np.array_equal(a, b) else f"values {a} vs {b}"
    a, b = a.astype(np.float64), b.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return f"NaN places {a} vs {b}"
    loose = loose or dtype == "float32"
    ok = np.isclose(a, b, rtol=1e-5 if loose else 1e-10, atol=1e-6 if loose else 1e-12) | np.isnan(a)
    if not ok.all():
        return f"values {a} vs {b}"
    both = (a == 0) & (b == 0)
    if zeros and not np.array_equal(np.signbit(a[both]), np.signbit(b[both])):
        return f"signed zeros {a} vs {b}"
    return None


def diff(t: Any, m: Any, path: str = "out", zeros: bool = True, loose: bool = False) -> str | None:
    """Where the observed results differ (None if nowhere)."""
    if isinstance(t, tuple) and t and t[0] == "T":
        if not (isinstance(m, tuple) and m and m[0] == "T"):
            return f"{path}: tensor vs {m!r}"[:300]
        if t[1:3] != m[1:3]:
            return f"{path}: dtype, shape {t[1:3]} vs {m[1:3]}"
        d = array_diff(t[3], m[3], t[1], zeros, loose)
        return None if d is None else f"{path}: {d}"
    if isinstance(t, tuple):
        if not isinstance(m, tuple) or len(t) != len(m):
            return f"{path}: {len(t)}-tuple vs {m!r}"[:300]
        return next((d for i, (a, b) in enumerate(zip(t, m)) if (d := diff(a, b, f"{path}[{i}]", zeros, loose))), None)
    if type(t) is not type(m):
        return f"{path}: {t!r} vs {m!r}"
    if isinstance(t, float):
        return None if (math.isnan(t) and math.isnan(m)) or math.isclose(t, m, rel_tol=1e-6) else f"{path}: {t} vs {m}"
    return None if t == m else f"{path}: {t!r} vs {m!r}"


def float_outputs(out: Any) -> list[Any]:
    if isinstance(out, (torch.Tensor, mc.Tensor)):
        return [out] if out.requires_grad and str(out.dtype).replace("torch.", "") in FLOATS else []
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in float_outputs(x)]
    return []


def same_raise(te: BaseException, me: BaseException) -> bool:
    """minicnn raised what torch raised: an instance of torch's type. One allowance: torch's
    NotImplementedError for an unsupported dtype is minicnn's DtypeError (a TypeError and a
    RuntimeError, as NotImplementedError is)."""
    if isinstance(me, type(te)):
        return True
    return isinstance(te, NotImplementedError) and isinstance(me, RuntimeError)


def run_case(args: list[Arg], fn: Callable[..., Any], rs: np.random.RandomState, zeros: bool = True) -> str | None:
    """``fn(lib, *inputs)`` in torch and in minicnn; None if they agree, else what differs."""
    results = []
    for lib in (torch, mc):
        ins = [a.make(lib) for a in args]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = fn(lib, *ins)
                results.append((None, out, ins, observe(out)))
            except Exception as e:  # noqa: BLE001 - the type is compared
                results.append((e, None, ins, None))
    (te, tout, tins, tobs), (me, mout, mins, mobs) = results
    if te is not None and me is None and isinstance(te, TypeError) and "must be Tensor" in str(te):
        return None  # minicnn takes a Python number where torch's signature wants a tensor (atan2(x, 2.0))
    if te is not None or me is not None:
        if te is not None and me is not None:
            return None if same_raise(te, me) else f"raised {type(te).__name__} vs {type(me).__name__}: {me}"
        t_said, m_said = (f"{type(e).__name__} {e}" if e else "ok" for e in (te, me))
        return f"torch: {t_said}; minicnn: {m_said}"
    d = diff(tobs, mobs, zeros=zeros)
    if d:
        return d
    touts, mouts = float_outputs(tout), float_outputs(mout)
    if not touts:
        return None
    if len(touts) != len(mouts):
        try:
            sum(t.sum() for t in touts).backward()
        except RuntimeError:
            return None  # torch marks the output as requiring grad, with no derivative (unique)
        return f"{len(touts)} differentiable outputs vs {len(mouts)}"
    tl, ml = 0, 0
    for a, b in zip(touts, mouts):
        w = np.asarray(rs.randn(*a.shape))
        tl = tl + (a * torch.from_numpy(w).to(a.dtype)).sum()
        ml = ml + (b * mc.tensor(w.astype(str(b.dtype)))).sum()
    try:
        tl.backward()
    except RuntimeError:
        return None  # no derivative in torch (floor_divide), or its own failure (scatter with a larger src)
    ml.backward()
    loose = any(t.dtype == torch.float32 for t in touts) or any(
        isinstance(t, torch.Tensor) and t.dtype == torch.float32 for t in tins
    )
    for i, (ta, ma) in enumerate(zip(tins, mins)):
        if isinstance(ta, torch.Tensor) and ta.requires_grad and (ta.grad is not None or ma.grad is not None):
            tg = observe(torch.zeros_like(ta) if ta.grad is None else ta.grad)
            mg = observe(mc.zeros_like(ma) if ma.grad is None else ma.grad)
            d = diff(tg, mg, f"grad[{i}]", zeros=False, loose=loose)  # (gradients: the sign of a zero is free)
            if d:
                return d
    return None


def describe(args: list[Arg]) -> list[Any]:
    return [(a.value.dtype.name, a.value.shape, a.grad) if isinstance(a.value, np.ndarray) else a.value for a in args]


# -- binary ops ---------------------------------------------------------------------------------
OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "<": operator.lt, "<=": operator.le, "==": operator.eq,
    "!=": operator.ne, ">": operator.gt, "&": operator.and_, "|": operator.or_, "^": operator.xor,
    "<<": operator.lshift, ">>": operator.rshift,
}  # fmt: skip
COMPARISONS = ("<", "<=", "==", "!=", ">", "eq", "gt")
FUNCTIONS = [
    "maximum", "minimum", "fmod", "remainder", "atan2", "true_divide", "floor_divide", "pow", "eq", "gt",
    "logical_and", "logical_xor", "bitwise_and", "mul", "sub", "add", "div", "fmax", "hypot", "copysign",
]  # fmt: skip
INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "&=": operator.iand, "|=": operator.ior,
    "^=": operator.ixor, "<<=": operator.ilshift,
}  # fmt: skip


def broadcastable_shape(r: random.Random, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with ``shape`` (one time in ten any shape)."""
    if r.random() < 0.1:
        return rand_shape(r)
    s = [1 if r.random() < 0.3 else n for n in (shape[r.randint(0, len(shape)) :] if shape else ())]
    return tuple([r.choice([1, 2])] + s if r.random() < 0.2 else s)


def binary_case(seed: int) -> tuple[str, list[Arg], Callable[..., Any]]:
    r, rs = random.Random(seed), np.random.RandomState(seed)
    shape = rand_shape(r)
    a, b = rand_arg(r, rs, shape), rand_arg(r, rs, broadcastable_shape(r, shape))
    if not isinstance(a.value, np.ndarray) and not isinstance(b.value, np.ndarray):
        b = rand_arg(r, rs, broadcastable_shape(r, shape), scalar_ok=False)
    kind = r.random()
    if kind < 0.8:
        name = r.choice(list(OPERATORS)) if kind < 0.45 else r.choice(FUNCTIONS)
        if not isinstance(a.value, np.ndarray):
            a, b = (b, a) if name in FUNCTIONS else (a, b)
        if name == "atan2":  # torch's gradient negates a uint8 input in uint8 (-7 is 249 there)
            a, b = (Arg(v.value.astype(np.int32)) if getattr(v.value, "dtype", None) == np.uint8 else v for v in (a, b))
        for x, y in ((a, b), (b, a)):  # torch compares a uint8 tensor with -4 (a number or a 0-d int tensor)
            # as with 252, the -4 cast to uint8 first; minicnn compares the values (reported to the owner)
            if name in COMPARISONS and getattr(x.value, "dtype", None) == np.uint8:
                if type(y.value) is int:
                    y.value = abs(y.value)
                elif getattr(y.value, "ndim", 1) == 0 and y.value.dtype.kind == "i":
                    y.value = np.asarray(abs(y.value))
        if name in ("**", "pow") and type(a.value) in (int, bool, float) and a.value == 0:
            a.value = 2  # d(0 ** b)/db: 0 in minicnn (as torch's for a tensor base), NaN for torch's number base
        if name in ("**", "pow") and type(b.value) is bool:
            b.value = int(b.value)  # d(x ** False)/dx at 0: 0 in minicnn (as torch's x ** 0), NaN in torch
        if name in OPERATORS:
            return f"a {name} b", [a, b], lambda lib, x, y: OPERATORS[name](x, y)
        return f"{name}(a, b)", [a, b], lambda lib, x, y: getattr(lib, name)(x, y)
    if kind < 0.92:
        name = r.choice(list(INPLACE))
        a = rand_arg(r, rs, shape, scalar_ok=False, grad_ok=False)
        if name == "-=" and (type(b.value) is bool or getattr(b.value, "dtype", None) == np.bool_):
            b = Arg(1)  # x -= True computes (NumPy's in-place fast path, reported to its owner); torch refuses

        def inplace(lib, x, y):
            x = x.clone()
            before = x
            x = INPLACE[name](x, y)
            # a write recorded by autograd gives a new tensor object on x's memory (minicnn's design)
            return x, x is before or (isinstance(y, (mc.Tensor, torch.Tensor)) and y.requires_grad)

        return f"a {name} b", [a, b], inplace
    name = r.choice(["add", "mul", "sub", "div"])  # (maximum, atan2, ... take no out= yet)
    a = rand_arg(r, rs, shape, scalar_ok=False, grad_ok=False)
    odt = r.choice(["float32", "float64", "int64", "bool"])

    def with_out(lib, x, y):
        o = lib.empty((0,), dtype=getattr(lib, odt))
        return o, getattr(lib, name)(x, y, out=o) is o

    return f"{name}(a, b, out=<{odt}>)", [a, b], with_out


def run_binary(seed: int) -> str | None:
    desc, args, fn = binary_case(seed)
    d = run_case(args, fn, np.random.RandomState(seed))
    return d and f"seed {seed}: {desc} {describe(args)}: {d}"


# -- reductions ---------------------------------------------------------------------------------
REDUCTIONS = {  # name: (dim forms, keepdim, dtype=)
    "sum": ("none int tuple", True, True), "prod": ("none int", True, True), "mean": ("none int tuple", True, True),
    "amax": ("none int tuple", True, False), "amin": ("none int tuple", True, False),
    "max": ("none int", True, False), "min": ("none int", True, False), "argmax": ("none int", True, False),
    "argmin": ("none int", True, False), "all": ("none int tuple", True, False),
    "any": ("none int tuple", True, False), "std": ("none int tuple", True, False),
    "var": ("none int tuple", True, False), "logsumexp": ("int tuple", True, False),
    "norm": ("none int tuple", True, True), "cumsum": ("int", False, True), "cumprod": ("int", False, True),
    "cummax": ("int", False, False), "cummin": ("int", False, False), "sort": ("int", False, False),
    "argsort": ("int", False, False), "topk": ("int", False, False), "kthvalue": ("int", True, False),
    "median": ("none int", True, False), "mode": ("int", True, False), "unique": ("none int", False, False),
    "count_nonzero": ("none int tuple", False, False), "nansum": ("none int tuple", True, True),
    "nanmean": ("none int tuple", True, True), "aminmax": ("none int", True, False),
    "logcumsumexp": ("int", False, False),
}  # fmt: skip
# torch raises where minicnn computes (left as they are): argmax/argmin/topk of bool, norm/nanmean of integers
FLOAT_ONLY = ("norm", "nanmean", "logcumsumexp")
NO_BOOL = ("argmax", "argmin", "topk", "kthvalue", "median", "mode")
SELECTIONS = ("kthvalue", "topk", "median", "mode")  # which of equal elements they pick is the implementation's
ZERO_TIES = ("unique", "amax", "amin", "max", "min", "aminmax", "cummax", "cummin", "sort", *SELECTIONS)


def reduction_case(seed: int) -> tuple[str, list[Arg], Callable[..., Any], bool]:
    r, rs = random.Random(seed), np.random.RandomState(seed)
    name = r.choice(list(REDUCTIONS))
    dims, keep, has_dtype = REDUCTIONS[name]
    shape = rand_shape(r)
    nd = len(shape)
    dt = r.choice(FLOATS if name in FLOAT_ONLY else [d for d in DTYPES if d != "bool" or name not in NO_BOOL])
    grad = dt in FLOATS and r.random() < 0.6
    if grad and name in SELECTIONS:  # distinct values: the same element is picked, the same gradient results
        x = Arg(rs.permutation(max(1, int(np.prod(shape))))[: int(np.prod(shape))].reshape(shape).astype(dt), True)
    else:
        x = Arg(rand_array(r, rs, shape, dt, special=not grad), grad=grad)
    kw: dict[str, Any] = {}
    form = r.choice(dims.split())
    if form == "int":
        kw["dim"] = r.randint(-max(nd, 1), max(nd, 1) - 1) if r.random() < 0.95 else nd + 1
    elif form == "tuple":
        kw["dim"] = tuple(r.sample(range(-nd, 0) if r.random() < 0.5 else range(nd), r.randint(0, nd)))
        if kw["dim"] == () and name in ("logsumexp", "std", "var"):
            kw["dim"] = 0  # torch: logsumexp raises for dim=(), std/var give wrong gradients
        if kw["dim"] == () and name == "norm":
            del kw["dim"]
    if keep and form != "none" and r.random() < 0.5:
        kw["keepdim"] = r.random() < 0.5
    if has_dtype and r.random() < 0.3:
        # (an integer dtype= of an input that requires grad: torch refuses, minicnn computes)
        kw["dtype"] = r.choice(["float64"] if grad or name == "norm" else ["float64", "int64", "float32", "int32"])
    if name in ("std", "var") and r.random() < 0.5:
        kw["correction"] = r.choice([0, 1, 2])
    if name in ("sort", "argsort"):
        kw.update(descending=r.random() < 0.5, stable=True)
    if name == "unique":
        kw.update(sorted=True, return_inverse=r.random() < 0.5, return_counts=r.random() < 0.5)
    if name == "norm" and r.random() < 0.5:
        kw["p"] = r.choice([1, 2, 3, float("inf"), 0])
    k = (r.randint(0, 3),) if name == "topk" else (r.randint(1, 3),) if name == "kthvalue" else ()
    if name == "topk":
        kw["largest"] = r.random() < 0.5
    method = r.random() < 0.5 and name not in ("max", "min")  # x.max(dim): values only (README)

    def call(lib, t):
        kws = {key: getattr(lib, v) if key == "dtype" else v for key, v in kw.items()}
        out = getattr(t, name)(*k, **kws) if method else getattr(lib, name)(t, *k, **kws)
        if name in SELECTIONS and isinstance(out, tuple):  # the index must point at the value
            d, (v, i) = kws.get("dim", -1), out
            if not kws.get("keepdim", False) and name != "topk":
                i = i.unsqueeze(d)
            return v, lib.gather(t, d, i) if t.ndim else t
        return out

    # the sign of a running sum's leading -0.0: torch starts from +0.0, NumPy from the element (left)
    # (and which of 0.0 and -0.0 a selection keeps is the implementation's)
    zeros = name not in ("cumsum", "cumprod", "logcumsumexp", *ZERO_TIES)
    return f"{'x.' if method else 'mc.'}{name}({k}, {kw})", [x], call, zeros


def run_reduction(seed: int) -> str | None:
    desc, args, fn, zeros = reduction_case(seed)
    d = run_case(args, fn, np.random.RandomState(seed), zeros=zeros)
    return d and f"seed {seed}: {desc} {describe(args)}: {d}"


# -- indexing -----------------------------------------------------------------------------------
def index_part(r: random.Random, rs: np.random.RandomState, n: int) -> tuple[str, Any]:
    """One part of an index into a dim of size ``n`` (out of range now and then)."""
    k = r.random()
    if k < 0.25:
        return "int", r.randint(-n - (r.random() < 0.05), max(-n, n - 1 + (r.random() < 0.05)))
    if k < 0.5:
        start, stop = r.choice([None, 0, 1, -1, -n - 2, n + 1]), r.choice([None, 0, 2, -1, n, n + 3])
        return "slice", slice(start, stop, r.choice([None, None, 1, 2, 3]))
    if k < 0.55:
        return "none", None
    if k < 0.8:
        m = r.randint(0, 3) if n else 0
        values = np.array([r.randint(-n, n - 1 + (r.random() < 0.05)) for _ in range(m)], dtype=np.int64)
        if r.random() < 0.3:
            return "list", [int(v) for v in values]
        values = values.reshape(r.choice([(m,), (m,), (1, m)]))
        if m == 1 and r.random() < 0.3:
            values = values.reshape(())  # a 0-d int tensor: torch counts it as an int
        return "tensor", values.astype(r.choice([np.int64, np.int32]))
    if k < 0.9:
        return "tensor", np.array(r.random() < 0.5)  # a 0-d bool
    return "tensor", rs.rand(n) < 0.5


def random_index(r: random.Random, rs: np.random.RandomState, shape: tuple[int, ...]) -> list[tuple[str, Any]]:
    if shape and r.random() < 0.15:
        return [("tensor", rs.rand(*shape[: r.randint(1, len(shape))]) < 0.5)]  # a mask over leading dims
    parts, d = [], 0
    for _ in range(r.randint(1, len(shape) + 1)):
        if d >= len(shape):
            if r.random() < 0.5:
                parts.append(("none", None))
            break
        part = index_part(r, rs, shape[d])
        parts.append(part)
        d += part[0] != "none" and not (part[0] == "tensor" and part[1].ndim == 0 and part[1].dtype == np.bool_)
    if r.random() < 0.2:
        parts.insert(r.randint(0, len(parts)), ("ellipsis", Ellipsis))
    return parts


def build_index(lib: Any, parts: list[tuple[str, Any]], as_tuple: bool) -> Any:
    made = [lib.tensor(v.copy()) if kind == "tensor" else v for kind, v in parts]
    return tuple(made) if as_tuple or len(made) != 1 else made[0]


def index_case(seed: int) -> tuple[str, list[Arg], Callable[..., Any], bool, tuple[int, ...]]:
    r, rs = random.Random(seed), np.random.RandomState(seed)
    shape, dt = rand_shape(r), r.choice(DTYPES)
    grad = dt in FLOATS and r.random() < 0.6
    x = Arg(rand_array(r, rs, shape, dt, special=not grad), grad=grad)
    parts = random_index(r, rs, shape)
    as_tuple = len(parts) != 1 or r.random() < 0.5
    try:
        target = tuple(torch.from_numpy(x.value.copy())[build_index(torch, parts, as_tuple)].shape)
    except Exception:  # noqa: BLE001 - an index that torch refuses: any value will do
        target = (2,)
    if r.random() < 0.55:
        return f"x[{parts}]", [x], lambda lib, t: t[build_index(lib, parts, as_tuple)], False, target
    if r.random() < 0.3:  # (no negative number into uint8: torch wraps -2 to 254, minicnn raises OverflowError)
        value = Arg(r.choice([1, 2.5, True, 0] if dt == "uint8" else [1, -2.5, True, 0]))
    else:
        vshape = tuple(1 if r.random() < 0.3 else n for n in target[r.randint(0, len(target)) :])
        # another dtype than x's: torch refuses it with an array index, minicnn casts (left as it is)
        value = Arg(rand_array(r, rs, vshape, dt, special=False), grad=grad and r.random() < 0.5)

    def put(lib, t, v):
        y = t.clone() if t.requires_grad else t
        y[build_index(lib, parts, as_tuple)] = v
        return y

    # (which of two faults of one write is reported first differs: both must raise, of any type)
    return f"x[{parts}] = v", [x, value], put, True, target


def run_index(seed: int) -> str | None:
    desc, args, fn, both_raise, target = index_case(seed)
    d = run_case(args, fn, np.random.RandomState(seed))
    if d and both_raise and d.startswith("raised"):
        return None
    if d and d.startswith("torch: ok; minicnn: IndexError") and 0 in target:
        return None  # torch checks no index where the selection is empty (x[[5], 0:0]); NumPy and minicnn do
    if d and d.startswith("torch: IndexError") and d.endswith("minicnn: ok") and 0 in args[0].value.shape:
        return None  # NumPy checks no index (nor a mask's length) into an empty array; torch does
    return d and f"seed {seed}: {desc} {describe(args)}: {d}"


# -- index ops ----------------------------------------------------------------------------------
INDEX_OPS = [
    "index_select", "gather", "scatter", "scatter_value", "scatter_add", "scatter_reduce", "index_add",
    "index_copy", "index_fill", "index_put", "take", "take_along_dim", "masked_select", "masked_fill",
    "masked_scatter", "nonzero", "where", "index_reduce",
]  # fmt: skip


def indices(r: random.Random, rs: np.random.RandomState, shape: tuple[int, ...], n: int) -> np.ndarray:
    lo, hi = (-n if r.random() < 0.3 else 0), n + (r.random() < 0.03)
    return rs.randint(lo, hi, size=shape).astype(np.int64) if hi > lo else np.zeros(shape, dtype=np.int64)


def index_op_case(seed: int) -> tuple[str, list[Arg], Callable[..., Any]]:
    r, rs = random.Random(seed), np.random.RandomState(seed)
    op = r.choice(INDEX_OPS)
    shape = rand_shape(r, 3)
    nd = len(shape)
    dt = r.choice(DTYPES if op != "index_reduce" else DTYPES[1:])  # (torch: no index_reduce of bool)
    x = rand_arg(r, rs, shape, dt, scalar_ok=False)
    dim = r.randint(-max(nd, 1), max(nd, 1) - 1) if r.random() < 0.97 else nd
    n = shape[dim] if -nd <= dim < nd else 1

    def like_x(sh: tuple[int, ...]) -> Arg:
        return rand_arg(r, rs, sh, dt, scalar_ok=False, grad_ok=x.grad)

    if op == "index_select":
        i = Arg(indices(r, rs, (r.randint(0, 3),) if r.random() < 0.9 else (), n))
        return op, [x, i], lambda lib, a, i: lib.index_select(a, dim, i)
    if op in ("gather", "scatter", "scatter_value", "scatter_add", "scatter_reduce", "take_along_dim"):
        # (an index of more dims than x: torch checks it only if it has elements, minicnn always)
        ishape = tuple(r.randint(0, s) if r.random() < 0.7 else s for s in shape)
        i = Arg(indices(r, rs, ishape, n))
        if op == "take_along_dim":  # (out of range: torch wraps around, minicnn raises -- tests/test_index_ops.py)
            i.value = np.clip(i.value, -n, n - 1)
        if op == "gather":
            return op, [x, i], lambda lib, a, i: lib.gather(a, dim, i)
        if op == "take_along_dim":
            if r.random() < 0.3:
                i = Arg(np.clip(indices(r, rs, ishape, max(1, x.value.size)), -x.value.size, x.value.size - 1))
                return f"{op}(None)", [x, i], lambda lib, a, i: lib.take_along_dim(a, i)
            return op, [x, i], lambda lib, a, i: lib.take_along_dim(a, i, dim)
        src = like_x(tuple(s + r.randint(0, 1) for s in ishape))
        if op == "scatter":
            return op, [x, i, src], lambda lib, a, i, s: lib.scatter(a, dim, i, s)
        if op == "scatter_add":
            return op, [x, i, src], lambda lib, a, i, s: lib.scatter_add(a, dim, i, s)
        if op == "scatter_value":
            val = r.choice([1.5, 2, True, 0] if dt == "uint8" else [1.5, -2, True, 0])  # (uint8: as setitem)
            kw = r.choice([{}, {"reduce": "add"}, {"reduce": "multiply"}])
            return f"scatter({val}, {kw})", [x, i], lambda lib, a, i: lib.scatter(a, dim, i, val, **kw)
        red, inc = r.choice(["sum", "prod", "amax", "amin"] + ["mean"] * (dt != "bool")), r.random() < 0.5
        if red == "prod":  # torch's gradient reaches the elements of a larger src that are not scattered
            src = like_x(ishape)
        return (
            f"scatter_reduce({red}, include_self={inc})",
            [x, i, src],
            (lambda lib, a, i, s: lib.scatter_reduce(a, dim, i, s, red, include_self=inc)),
        )
    if op in ("index_add", "index_copy", "index_fill", "index_reduce"):
        m = r.randint(0, 3)
        values = indices(r, rs, (m,), n)
        if op == "index_copy" or r.random() < 0.5:  # distinct: which of two copies lands is the implementation's
            values = np.array(r.sample(range(n), min(m, n)), dtype=np.int64)
        i = Arg(values)
        if op == "index_fill":
            val = r.choice([1.5, -2, True] if dt != "uint8" else [1.5, 2, True])
            return f"index_fill({val})", [x, i], lambda lib, a, i: lib.index_fill(a, dim, i, val)
        sshape = tuple(values.size if k == dim % max(nd, 1) else s for k, s in enumerate(shape))
        src = like_x(sshape)
        if op == "index_add":
            alpha = r.choice([1, 2, 0.5])
            return (
                f"index_add(alpha={alpha})",
                [x, i, src],
                (lambda lib, a, i, s: lib.index_add(a, dim, i, s, alpha=alpha)),
            )
        if op == "index_copy":
            return op, [x, i, src], lambda lib, a, i, s: lib.index_copy(a, dim, i, s)
        red, inc = r.choice(["prod", "mean", "amax", "amin"]), r.random() < 0.5
        return (
            f"index_reduce({red}, {inc})",
            [x, i, src],
            (lambda lib, a, i, s: a.index_reduce(dim, i, s, red, include_self=inc)),
        )
    if op == "index_put":
        k = r.randint(1, max(1, nd))
        idx = [Arg(indices(r, rs, (r.randint(0, 3),), shape[j] if j < nd else 1)) for j in range(k)]
        acc = r.random() < 0.5
        vshape = (r.choice([1, idx[0].value.size]),) if r.random() < 0.7 else ()
        v = like_x(vshape + tuple(shape[k:]) if r.random() < 0.5 else vshape)
        return (
            f"index_put(accumulate={acc})",
            [x, v, *idx],
            (lambda lib, a, v, *ii: lib.index_put(a, tuple(ii), v, accumulate=acc)),
        )
    if op == "take":
        i = Arg(indices(r, rs, rand_shape(r, 2), max(1, x.value.size)))
        return op, [x, i], lambda lib, a, i: lib.take(a, i)
    mshape = shape[r.randint(0, nd) :] if nd else ()
    mask = Arg(np.asarray(rs.rand(*mshape) < 0.5))
    if op == "masked_select":
        return op, [x, mask], lambda lib, a, m: lib.masked_select(a, m)
    if op == "masked_fill":
        if r.random() < 0.3:
            return "masked_fill(0-d)", [x, mask, like_x(())], lambda lib, a, m, v: a.masked_fill(m, v)
        val = r.choice([1.5, -2, True, 0] if dt != "uint8" else [1.5, 2, True, 0])
        return f"masked_fill({val})", [x, mask], lambda lib, a, m: a.masked_fill(m, val)
    if op == "masked_scatter":
        src = like_x((r.randint(0, x.value.size + 1),))
        return op, [x, mask, src], lambda lib, a, m, s: a.masked_scatter(m, s)
    if op == "nonzero":
        as_tuple = r.random() < 0.5
        return f"nonzero(as_tuple={as_tuple})", [x], lambda lib, a: lib.nonzero(a, as_tuple=as_tuple)
    if r.random() < 0.2:
        return "where(cond)", [mask], lambda lib, c: lib.where(c)
    other = rand_arg(r, rs, shape[r.randint(0, nd) :] if nd else ()) if r.random() < 0.8 else Arg(r.choice([0.5, 2]))
    return "where", [mask, x, other], lambda lib, c, a, b: lib.where(c, a, b)


def run_index_op(seed: int) -> str | None:
    desc, args, fn = index_op_case(seed)
    d = run_case(args, fn, np.random.RandomState(seed))
    x = args[0].value
    if d and ("raised" in d or "torch: " in d) and (x.ndim == 0 or 0 in x.shape):
        return None  # on a 0-d or empty input torch's kernels raise an IndexError, a RuntimeError or nothing
    if d and d.startswith("raised") and desc.startswith("index_put"):
        return None  # which of two faults (an index out of range, a misshapen value) is reported first differs
    return d and f"seed {seed}: {desc} {describe(args)}: {d}"


# -- tests --------------------------------------------------------------------------------------
def test_fuzz_binary_ops_like_torch():
    assert [f for f in map(run_binary, range(80)) if f] == []


def test_fuzz_reductions_like_torch():
    assert [f for f in map(run_reduction, range(80)) if f] == []


def test_fuzz_indexing_like_torch():
    assert [f for f in map(run_index, range(80)) if f] == []


def test_fuzz_index_ops_like_torch():
    assert [f for f in map(run_index_op, range(80)) if f] == []
