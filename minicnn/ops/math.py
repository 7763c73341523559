"""Elementwise arithmetic, matmul and pointwise math, each with its local derivative.

Binary ops broadcast like NumPy; :func:`unbroadcast` sums a gradient back to the shape of
the input that was broadcast.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autocast_state, backend
from .. import autograd as _ag
from ..autograd import Adjoint, Function, Tensor, _wrap, is_grad_enabled, no_grad, scalar_like
from .errors import DtypeError, IntegerDivisionError, ShapeError


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added or stretched to reach ``g.shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


class Add(Function):
    linear = True

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):  # d(a+b)/da = 1, d(a+b)/db = 1
        sa, sb = self.shapes
        return unbroadcast(gy, sa), unbroadcast(gy, sb)


class Sub(Function):
    linear = True

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):  # d/da = 1, d/db = -1
        sa, sb = self.shapes
        return unbroadcast(gy, sa), unbroadcast(-gy, sb) if self.needs_input_grad[1] else None


class Mul(Function):
    graph_reads_crossed = True  # create_graph reads a only for b's gradient, and b only for a's

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        if self.requires_grad:  # each gradient needs the other input: keep only what is needed
            self.a = a if self.needs_input_grad[1] else None
            self.b = b if self.needs_input_grad[0] else None
        return a * b

    def backward(self, gy):  # d(ab)/da = b, d(ab)/db = a
        sa, sb = self.shapes
        ga = unbroadcast(gy * self.b, sa) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * self.a, sb) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        ga = unbroadcast(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        if self.requires_grad:  # da needs b; db needs a and b
            self.a = a if self.needs_input_grad[1] else None
            self.b = b
        return a / b

    def backward(self, gy):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2, formed (a/b)/b as torch (b^2 may underflow)
        (sa, sb), a, b = self.shapes, self.a, self.b
        ga = unbroadcast(gy / b, sa) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * (a / b / b), sb) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        ga = unbroadcast(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * (a / b / b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        xp = backend.get_array_module(a, b)
        if b.dtype.kind == "i":  # torch's integer rule for a negative exponent: 1 / a truncated (1, -1 or 0)
            neg = b < 0
            y = xp.power(a, xp.where(neg, 0, b))
            y = xp.where(neg, xp.where(abs(a) == 1, xp.where(b % 2 == 0, 1, a), 0), y).astype(y.dtype, copy=False)
        else:
            y = xp.power(a, b)
            if a.dtype.kind == "b":  # NumPy's int8
                y = y.astype(bool)
        if self.requires_grad:  # y only for d/db (so y += 1 afterwards is fine when b is a constant)
            self.a, self.b, self.y = a, b, (y if self.needs_input_grad[1] else None)
        return y

    def backward(self, gy):  # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log a
        xp = backend.get_array_module(gy)
        a, b, y = self.a, self.b, self.y
        ga = gb = None
        # torch's rules: d/da is 0 where the exponent is 0, whatever gy (avoids 0 * inf at a = 0);
        # d/db is 0 at a = 0, b >= 0, and gy multiplies afterwards (a NaN gy stays NaN there)
        if self.needs_input_grad[0]:
            ga = unbroadcast(xp.where(b == 0, 0, gy * b * xp.power(a, b - 1)).astype(gy.dtype), a.shape)
        if self.needs_input_grad[1]:
            loga = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), xp.where(a == 0, -xp.inf, xp.nan))
            gb = unbroadcast((gy * xp.where((a == 0) & (b >= 0), 0, y * loga)).astype(gy.dtype), b.shape)
        return ga, gb

    def backward_graph(self, gy, a, b):  # the same rules, as torch forms them
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(where(b.array == 0, 0.0, gy * (b * pow(a, b - 1))), a.shape)
        if self.needs_input_grad[1]:
            at_zero = (a.array == 0) & (b.array >= 0)
            gb = unbroadcast(gy * where(at_zero, 0.0, pow(a, b) * log(a)), b.shape)
        return ga, gb


class Neg(Function):
    linear = True

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class MatMul(Function):
    """``a @ b`` with NumPy's rules: 1-d operands are promoted, leading dims broadcast."""

    graph_reads_crossed = True  # create_graph reads a only for b's gradient, and b only for a's

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError("matmul: both operands need at least one dimension")
        ka = a.shape[-1]
        kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if ka != kb:
            raise ShapeError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not match (inner dimensions {ka} != {kb})"
            )
        if self.requires_grad:  # each gradient needs the other operand: keep only what is needed
            self.a_shape, self.b_shape = a.shape, b.shape
            self.a = a if self.needs_input_grad[1] else None
            self.b = b if self.needs_input_grad[0] else None
        return a @ b

    def backward(self, gy):  # dA = gY B^T, dB = A^T gY (with 1-d promotion undone)
        xp = backend.get_array_module(gy)
        sa, sb = self.a_shape, self.b_shape
        sa2 = (1, *sa) if len(sa) == 1 else sa  # the promoted shapes
        sb2 = (*sb, 1) if len(sb) == 1 else sb
        g2 = gy
        if len(sb) == 1:
            g2 = g2[..., None]
        if len(sa) == 1:
            g2 = g2[..., None, :]
        ga = gb = None
        if self.needs_input_grad[0]:
            b2 = self.b.reshape(sb2)
            ga = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), sa2).reshape(sa)
        if self.needs_input_grad[1]:
            a2 = self.a.reshape(sa2)
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, sb2).reshape(sb)
        return ga, gb

    def backward_graph(self, gy, a, b):
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(1) if b.ndim == 1 else b
        g2 = gy.unsqueeze(-1) if b.ndim == 1 else gy
        g2 = g2.unsqueeze(-2) if a.ndim == 1 else g2
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(matmul(g2, b2.transpose(-1, -2)), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(matmul(a2.transpose(-1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


class Exp(Function):
    graph_reads, graph_output = (), True  # the derivative is the output: torch saves only it

    def forward(self, x):
        y = backend.get_array_module(x).exp(x)
        self.y = y
        return y

    def backward(self, gy):  # d exp(x) = exp(x)
        return gy * self.y

    def backward_graph(self, gy, x, out):
        return gy * out


class Log(Function):
    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).log(x)

    def backward(self, gy):  # d log(x) = 1/x
        return gy / self.x

    def backward_graph(self, gy, x):
        return gy / x


class Sqrt(Function):
    def forward(self, x):
        y = backend.get_array_module(x).sqrt(x)
        self.y = y
        return y

    def backward(self, gy):  # d sqrt(x) = 1 / (2 sqrt(x))
        return gy / (2 * self.y)

    def backward_graph(self, gy, x):
        return gy / (2 * sqrt(x))


class Abs(Function):
    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).abs(x)

    def backward(self, gy):  # d|x| = sign(x), 0 at 0 and at NaN (torch's choice: its sign(NaN) is 0)
        xp = backend.get_array_module(gy)
        s = xp.sign(self.x)
        return gy * (xp.where(s != s, 0, s) if s.dtype.kind == "f" else s)

    def backward_graph(self, gy, x):
        return gy * sign(x)


class Clip(Function):
    def forward(self, x):
        self.pass_mask = self._inside(x)
        return backend.get_array_module(x).clip(x, self.lo, self.hi)

    def _inside(self, x):
        mask = backend.get_array_module(x).ones(x.shape, dtype=bool)
        if self.lo is not None:
            mask &= x > self.lo
        if self.hi is not None:
            mask &= x < self.hi
        return mask

    def backward(self, gy):  # 1 strictly inside (lo, hi), 0 elsewhere (torch's subgradient)
        return gy * self.pass_mask

    def backward_graph(self, gy, x):
        return gy * Tensor(self._inside(x.array))


class Where(Function):
    linear = True  # in (a, b); the condition is a setting

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return backend.get_array_module(a).where(self.cond, a, b)

    def backward(self, gy):
        zero = gy.dtype.type(0)
        xp = backend.get_array_module(gy)
        ga = unbroadcast(xp.where(self.cond, gy, zero), self.shapes[0]) if self.needs_input_grad[0] else None
        gb = unbroadcast(xp.where(self.cond, zero, gy), self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


class MaximumMinimum(Function):
    """Elementwise ``maximum``/``minimum`` of two tensors (torch.maximum): the gradient goes to
    the larger (smaller) input, in halves where they tie; where either is NaN (the result is
    NaN) both get all of it, as in torch."""

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.shapes = a.shape, b.shape
        if self.requires_grad:
            self.share_a, self.share_b = self._shares(a, b)
        return getattr(xp, self.op)(b, a)  # NumPy returns its second operand at a tie: a, as torch (0.0 vs -0.0)

    def _shares(self, a, b):
        """The parts of the gradient that go to a and to b (1, 0 or 1/2 each)."""
        xp = backend.get_array_module(a)
        a_loses, b_loses = (a < b, a > b) if self.op == "maximum" else (a > b, a < b)
        tie = a == b
        share_a = xp.where(tie, 0.5, xp.where(a_loses, 0.0, 1.0)).astype(a.dtype)
        share_b = xp.where(tie, 0.5, xp.where(b_loses, 0.0, 1.0)).astype(a.dtype)
        return share_a, share_b

    def backward(self, gy):
        ga = unbroadcast(gy * self.share_a, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * self.share_b, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        share_a, share_b = (Tensor(s) for s in self._shares(a.array, b.array))
        ga = unbroadcast(gy * share_a, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * share_b, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class IndexPut(Function):
    """``x[index] = v`` out of place (what a recorded ``x[index] = v`` computes): the gradient
    of x is ``gy`` with the written places zeroed, v's is ``gy[index]`` summed to v's shape.
    A boolean mask with one value (torch's masked_fill) is a ``where`` instead: selecting with
    a mask needs the count of its true elements, which on a GPU waits for the device."""

    linear = True  # in (x, v); the index is a setting

    def forward(self, x, v):
        self.v_shape = v.shape
        xp = backend.get_array_module(x)
        if self.mask is not None:
            return xp.where(self.mask, v, x)
        y = x.copy()
        write_index(y, self.index, v)
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        zero = gy.dtype.type(0)
        gx = gv = None
        if self.mask is not None:
            if self.needs_input_grad[0]:
                gx = xp.where(self.mask, zero, gy)
            if self.needs_input_grad[1]:
                gv = xp.where(self.mask, gy, zero).sum().reshape(self.v_shape)
            return gx, gv
        if self.needs_input_grad[0]:
            gx = xp.array(gy)  # a copy, also of a 0-d gy that arrives as a NumPy scalar
            gx[self.index] = 0
        if self.needs_input_grad[1]:
            picked = gy[self.index]
            extra = len(self.v_shape) - picked.ndim  # v's leading size-1 dims, which the write drops
            gv = unbroadcast(picked, self.v_shape[max(extra, 0) :]).reshape(self.v_shape)
        return gx, gv

    def backward_graph(self, gy, x, v):
        # x's part is linear with no repeats (an Adjoint); v's is a gather gy[index], whose
        # adjoint is a scatter-add that counts a repeated index twice, where the forward's
        # write counts it once: so not this op again, but GetItem's own adjoint
        gx = Adjoint.apply(gy, node=self, index=0) if self.needs_input_grad[0] else None
        gv = None
        if self.needs_input_grad[1]:
            from .shape import GetItem  # noqa: PLC0415  (shape imports this module)

            picked = where(self.mask, gy, 0.0).sum() if self.mask is not None else GetItem.apply(gy, index=self.index)
            gv = unbroadcast(picked, v.shape[max(v.ndim - picked.ndim, 0) :]).reshape(v.shape)
        return gx, gv


def torch_index(index: Any, x: Any) -> Any:
    """``index`` (of the array ``x``, tensors already made arrays) as NumPy (or CuPy) must see it to select
    what torch's indexing selects. They differ where array indices stand beside ints (0-d integer
    tensors count as ints in torch) or an Ellipsis: torch applies the ints first, as basic indexing that
    drops their dims, and an Ellipsis of no dims separates nothing, where NumPy counts the ints among
    the array indices and lets any Ellipsis separate them. So ``x[0, :, [1, 2]]`` of shape (m, n, k) is
    (n, 2) in torch, (2, n) in NumPy. Only such an index is rewritten (:func:`_torch_layout`); any
    other is returned as it is, after one scan of a tuple index."""
    if type(index) is not tuple or len(index) < 2:
        return index
    ints = arrays = False
    for p in index:
        t = type(p)
        if t is slice or p is None:
            continue
        if t is int or p is Ellipsis or isinstance(p, np.integer):
            ints = True
        elif t is not bool and getattr(p, "ndim", 1) == 0 and p.dtype.kind in "iu":
            ints = True
        else:
            arrays = True
    return _torch_layout(index, x) if ints and arrays else index


def _torch_layout(index: tuple[Any, ...], x: Any) -> tuple[Any, ...]:
    """``index`` (array indices beside ints or an Ellipsis) as array indices alone, one per dim of x,
    broadcast into torch's layout: the ints dropped, then the array indices' broadcast dims in place if
    they are adjacent (ints between them do not separate them), else first; a slice becomes an arange
    on its own output dim, a None a size-1 dim. Where NumPy places the dims as torch does, and for what
    this does not cover (a misshapen mask, float indices), ``index`` itself, whose errors NumPy raises
    (a Python bool is a 0-d mask). Cost: small index arrays, made only for such an index."""
    xp, shape = backend.get_array_module(x), x.shape
    parts = [
        (xp.asarray(p) if p else xp.zeros(0, dtype=np.int64)) if isinstance(p, list)
        else xp.asarray(p) if type(p) is bool  # (a 0-d mask, as torch takes it)
        else p
        for p in index
    ]  # fmt: skip
    if any(hasattr(p, "dtype") and p.dtype.kind not in "biu" for p in parts):
        return index
    consumed = sum(
        p.ndim if getattr(p, "dtype", None) == np.bool_ else p is not None and p is not Ellipsis for p in parts
    )
    n_ellipsis = sum(p is Ellipsis for p in parts)
    if n_ellipsis > 1 or consumed > len(shape):
        return index
    fill = [slice(None)] * (len(shape) - consumed)
    at = next((i for i, p in enumerate(parts) if p is Ellipsis), len(parts))
    parts = parts[:at] + fill + parts[at + n_ellipsis :]
    layout: list[Any] = []  # per output entry: an arange (a slice's dim), None (a new dim) or "adv"
    fixed: list[tuple[str, Any]] = []  # per dim of x: ("int", i), ("slice", its layout entry) or ("adv", array)
    adv_at: list[int] = []
    block_shapes = []
    for p in parts:
        if p is None:
            layout.append(None)
        elif isinstance(p, slice):
            fixed.append(("slice", len(layout)))
            layout.append(xp.arange(*p.indices(shape[len(fixed) - 1])))
        elif not hasattr(p, "dtype") or (p.ndim == 0 and p.dtype.kind in "iu"):
            n = shape[len(fixed)]
            if not backend.is_cupy_array(p) and not -n <= int(p) < n:  # (torch's select: also when nothing is selected)
                raise IndexError(f"index {int(p)} is out of bounds for dimension {len(fixed)} with size {n}")
            fixed.append(("int", p))
        else:
            if p.dtype == np.bool_:
                d = len(fixed)
                if tuple(p.shape) != tuple(shape[d : d + p.ndim]):
                    return index
                if p.ndim == 0:  # a dim of size 1 (True) or 0 (False), indexing no dim of x
                    block_shapes.append((int(p),))
                else:
                    fixed.extend(("adv", a) for a in p.nonzero())
            else:
                fixed.append(("adv", p))
            adv_at.append(len(layout))
            layout.append("adv")
    if adv_at != list(range(adv_at[0], adv_at[0] + len(adv_at))) or adv_at[0] == 0:
        return index  # the array dims first, where NumPy also places them
    try:
        block = np.broadcast_shapes(*block_shapes, *(a.shape for kind, a in fixed if kind == "adv"))
    except ValueError:
        return index
    if 0 not in block:  # (NumPy checks no index of an empty result, torch any into a dim of size 0)
        for d, (kind, _) in enumerate(fixed):
            if kind == "adv" and shape[d] == 0:
                raise IndexError(f"index is out of bounds for dimension {d} with size 0")
    first = adv_at[0]
    layout = [*layout[:first], "adv", *layout[adv_at[-1] + 1 :]]
    axis_of, axis = [], 0  # each layout entry's first output axis
    for e in layout:
        axis_of.append(axis)
        axis += len(block) if isinstance(e, str) else 1
    out_ndim = axis
    b1 = axis_of[first] + len(block)  # where the block ends
    result = []
    for kind, f in fixed:
        if kind == "int":
            result.append(f)
        elif kind == "slice":
            entry = f if f < first else f - len(adv_at) + 1  # (the entries after the block move up)
            ax = axis_of[entry]
            result.append(layout[entry].reshape((1,) * ax + (-1,) + (1,) * (out_ndim - ax - 1)))
        else:
            result.append(f.reshape((1,) * (b1 - f.ndim) + tuple(f.shape) + (1,) * (out_ndim - b1)))
    if block_shapes:  # a 0-d bool's dim, which no index array has: one of them spans the whole output
        out_shape = [n for e in layout for n in (block if isinstance(e, str) else (1 if e is None else len(e),))]
        result[0] = xp.broadcast_to(xp.asarray(result[0]), out_shape)
    return tuple(result)


def write_index(y: Any, index: Any, v: Any) -> None:
    """``y[index] = v`` in place, with torch's broadcasting: a value with leading size-1 dims is
    also taken for a single element (NumPy refuses ``y[()] = ones(1)``); a value that does not
    fit raises torch's RuntimeError (a ShapeError), not NumPy's ValueError."""
    index = torch_index(index, y)
    try:
        y[index] = v
    except ValueError as e:
        shape = np.shape(v)
        lead = next((k for k, n in enumerate(shape) if n != 1), len(shape))
        if lead and hasattr(v, "reshape"):
            try:
                y[index] = v.reshape(shape[lead:])
                return
            except ValueError:
                pass
        raise ShapeError(f"setitem: {e}") from None


def fill_mask(index: Any, x_shape: tuple[int, ...], value_shape: tuple[int, ...]) -> Any:
    """``index`` reshaped to broadcast against x when it is one boolean mask over x's leading
    dims and the value is a single number (``x[mask] = 0``), else None."""
    if value_shape != () or not hasattr(index, "dtype") or index.dtype != np.bool_:
        return None
    if index.ndim > len(x_shape) or tuple(index.shape) != tuple(x_shape[: index.ndim]):
        return None
    return index.reshape(tuple(index.shape) + (1,) * (len(x_shape) - index.ndim))


class FloorDivide(Function):
    """``a // b`` rounded toward -inf (Python's and torch's). Not differentiable, as in torch:
    its backward raises."""

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        if a.dtype.kind in "iu" and a.size:  # NumPy's 0 would hide it (on a GPU checked later, see backend.raise_if)
            backend.raise_if((b == 0).any(), IntegerDivisionError, "floor_divide: integer division by zero")
        return xp.floor_divide(a, b)

    def backward(self, gy):
        raise RuntimeError("the derivative for 'floor_divide' is not implemented")

    def backward_graph(self, gy, a, b):
        raise RuntimeError("the derivative for 'floor_divide' is not implemented")


class Remainder(Function):
    """``a % b`` with the sign of b (Python's and torch's remainder): a - floor(a/b) * b.
    d/da = 1, d/db = -floor(a/b)."""

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.shapes = a.shape, b.shape
        if a.dtype.kind in "iu" and a.size:  # (an empty a: an empty result, no division)
            backend.raise_if((b == 0).any(), IntegerDivisionError, "remainder: integer division by zero")
        if self.requires_grad and self.needs_input_grad[1]:
            self.quotient = xp.floor_divide(a, b)
        if a.dtype.kind != "f":
            return xp.remainder(a, b)
        # torch's: fmod, moved into b's sign where it is not; so a zero keeps a's sign (-4 % 2 is
        # -0.0; NumPy's remainder gives a zero b's sign)
        r = xp.fmod(a, b)
        return xp.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)

    def backward(self, gy):
        ga = unbroadcast(gy, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * self.quotient, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        ga = unbroadcast(gy, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * DivRounded.apply(a, b, mode="floor"), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Clone(Function):
    linear = True

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


class AsType(Function):
    linear = True  # (only float results are differentiated)

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.in_dtype)


class ToDevice(Function):
    linear = True

    def forward(self, x):
        self.src = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, gy):
        return backend.to_device(gy, self.src)


def _category(dt: np.dtype) -> int:
    return 0 if dt.kind == "b" else (1 if dt.kind in "iu" else 2)


def _default_float() -> np.dtype:
    """The dtype Python floats and integer-to-float results take: float32 unless
    ``mc.set_default_dtype`` changed it, as torch's default dtype."""
    return _ag.default_dtype()


def _scalar_default(category: int) -> np.dtype:
    return np.dtype(bool) if category == 0 else np.dtype(np.int64) if category == 1 else _default_float()


def result_dtype(*operands: Any) -> np.dtype:
    """torch's type promotion. Operands with dimensions decide the dtype; a 0-d tensor or a
    Python/NumPy scalar only counts when its category (bool < integer < float) is higher:
    then a 0-d tensor brings its own dtype and a scalar the default one (the default float
    dtype, float32 unless changed; int64).
    So ``float32 tensor * 2.0`` and ``* np.float64(2)`` stay float32, ``int tensor + 0.5`` is
    float32."""
    tiers: list[list[np.dtype]] = [[], [], []]
    for o in operands:
        arr = o.array if isinstance(o, Tensor) else o
        if hasattr(arr, "dtype") and getattr(arr, "ndim", 0) > 0:
            tiers[0].append(np.dtype(arr.dtype))
        elif isinstance(o, Tensor) or (hasattr(arr, "dtype") and not isinstance(arr, np.generic)):
            tiers[1].append(np.dtype(arr.dtype))
        else:  # a Python number or a NumPy scalar
            tiers[2].append(_scalar_default(_category(np.asarray(arr).dtype)))
    result: np.dtype | None = None
    for i, tier in enumerate(tiers):
        if not tier:
            continue
        top = max(_category(d) for d in tier)  # across categories the higher one wins as it is
        dt = np.result_type(*[d for d in tier if _category(d) == top])
        if result is None or _category(dt) > _category(result):
            result = dt if result is None or i < 2 else _scalar_default(_category(dt))
    return result if result is not None else _default_float()


_PY_NUMBERS = (int, float)  # (not bool, a subclass of int)


def _promote(a: Any, b: Any, floating: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of :func:`result_dtype` (float32 if ``floating`` and the
    result would be an integer or bool: true division, powers with a negative exponent)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a.array.dtype == b.array.dtype and (a.array.dtype.kind == "f" or not floating):
                return a, b  # the common case: nothing to promote
        elif type(b) in _PY_NUMBERS and a.array.dtype.kind == "f":  # x * 2, x + 0.5: the float tensor's dtype
            return a, _wrap(scalar_like(b, a.array.dtype, a.array))  # (result_dtype's answer, without its cost)
    elif type(a) in _PY_NUMBERS and isinstance(b, Tensor) and b.array.dtype.kind == "f":  # 1 - x, as above
        return _wrap(scalar_like(a, b.array.dtype, b.array)), b
    dt = result_dtype(a, b)
    if floating and dt.kind != "f":
        dt = _default_float()
    ref = a if isinstance(a, Tensor) else b
    out = []
    for x in (a, b):
        if isinstance(x, Tensor):
            out.append(x if x.dtype == dt else astype(x, dt))
        else:
            if isinstance(ref, Tensor):
                out.append(Tensor(scalar_like(x, dt, ref.array)))
            else:
                out.append(Tensor(x, dtype=dt))
    return out[0], out[1]


def add(a: Any, b: Any) -> Tensor:
    return Add.apply(*_promote(a, b))


def _is_bool(x: Any) -> bool:
    return x.array.dtype.kind == "b" if isinstance(x, Tensor) else x.__class__ is bool


class BoolSubtractionError(DtypeError, NotImplementedError):
    """A bool operand of a subtraction: torch 2.14 raises NotImplementedError (a RuntimeError)."""


def sub(a: Any, b: Any) -> Tensor:
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype and a.dtype.kind == "f":
        return Sub.apply(a, b)  # the common case: nothing to promote or refuse
    if _is_bool(a) or _is_bool(b):  # refused by torch, a tensor or a Python bool
        raise BoolSubtractionError(
            "sub: subtraction, the `-` operator, with a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Sub.apply(*_promote(a, b))


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(*_promote(a, b))


def div(a: Any, b: Any) -> Tensor:
    """True division; integer operands give float32 like torch."""
    return Div.apply(*_promote(a, b, floating=True))


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001
    """``a ** b``; an integer or bool tensor to a negative Python integer raises RuntimeError as
    in torch (a negative integer tensor exponent gives 1 / a truncated)."""
    if isinstance(b, (int, np.integer)) and b < 0 and isinstance(a, Tensor) and a.dtype.kind in "biu":
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    pa, pb = _promote(a, b)
    if pa.dtype.kind == "b" and isinstance(b, Tensor):
        raise DtypeError("\"pow\" not implemented for 'Bool'")
    return Pow.apply(pa, pb)


def _bool_refused(op: str, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    if a.dtype.kind == "b":
        raise DtypeError(f"\"{op}\" not implemented for 'Bool'")
    return a, b


def floor_divide(a: Any, b: Any) -> Tensor:
    return FloorDivide.apply(*_bool_refused("floor_divide", *_promote(a, b)))


class DivRounded(Function):
    """``a / b`` rounded toward -inf (``mode="floor"``, Python's ``//``) or toward 0
    (``"trunc"``), in the operands' promoted dtype. Piecewise constant: the gradient is zero
    for both inputs, as torch's ``div(..., rounding_mode=...)``. Integer division by zero
    raises ZeroDivisionError (on a GPU at the next host read, see backend.raise_if)."""

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.shapes = a.shape, b.shape
        if a.dtype.kind in "iub":
            if a.size:  # (an empty a: an empty result, no division)
                backend.raise_if((b == 0).any(), IntegerDivisionError, "div: integer division by zero")
            b = xp.where(b == 0, 1, b)  # (the values are discarded by the error)
            q = xp.floor_divide(a, b)
            if self.mode == "trunc":  # floor rounded toward 0 where the quotient is negative and inexact
                q = q + ((q < 0) & (q * b != a))
            return q
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.floor_divide(a, b) if self.mode == "floor" else xp.trunc(a / b)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return xp.zeros(self.shapes[0], gy.dtype), xp.zeros(self.shapes[1], gy.dtype)

    def backward_graph(self, gy, a, b):  # zeros with no graph, as torch's
        return tuple(Tensor(g) for g in self.backward(gy.array))


def div_rounded(a: Any, b: Any, rounding_mode: str) -> Tensor:
    """torch.div with ``rounding_mode`` "floor" or "trunc" (see :class:`DivRounded`)."""
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'"
        )
    return DivRounded.apply(*_promote(a, b), mode=rounding_mode)


def remainder(a: Any, b: Any) -> Tensor:
    return Remainder.apply(*_bool_refused("remainder", *_promote(a, b)))


def neg(x: Tensor) -> Tensor:
    if x.dtype.kind == "b":
        raise DtypeError(
            "neg: negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return Neg.apply(x)


def matmul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with NumPy's/torch's rules: 1-d operands are promoted, leading dims broadcast.
    ``out``: the result is written into it (see :func:`write_out`)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, other = autocast_state.lower(input, other)
    if isinstance(input, Tensor) and isinstance(other, Tensor) and input.dtype != other.dtype:
        raise DtypeError(f"matmul: expected m1 and m2 to have the same dtype, but got: {input.dtype} != {other.dtype}")
    if out is not None:
        return write_out("matmul", out, lambda: MatMul.apply(input, other), input, other)
    return MatMul.apply(input, other)


def write_out(op: str, out: Tensor, compute: Callable[[], Tensor], *inputs: Any) -> Tensor:
    """torch's ``out=`` argument: ``compute()`` written into ``out``, which is returned.

    As in torch the op is then not differentiable (an input that requires grad while grad mode
    is on raises RuntimeError), the result must cast to ``out``'s dtype (same kind or safer),
    and an ``out`` of another shape is resized (with torch's UserWarning when it held elements).
    """
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if is_grad_enabled() and any(isinstance(x, Tensor) and x.requires_grad for x in (*inputs, out)):
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    with no_grad():
        result = compute()
    if not isinstance(result, Tensor):
        raise TypeError(f"{op}(): out= is supported for ops returning one Tensor")
    if not _ag.can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"{op}(): result type {result.dtype} can't be cast to the desired output type {out.dtype}")
    if out.shape == result.shape:
        out.copy_(result)
        return out
    if out.numel() > 0:
        warnings.warn(
            f"{op}(): an output with one or more elements was resized since it had shape {out.shape}, "
            f"which does not match the required output shape {result.shape}.",
            UserWarning,
            stacklevel=3,
        )
    out.data = result.to(out.dtype) if result.dtype != out.dtype else result.detach().clone()
    return out


def require_float(x: Any, op: str, name: str = "input") -> Tensor:
    """``x`` itself if it is a floating-point Tensor; else TypeError naming the op (the ops that
    torch runs on floating inputs only: activations, norms, losses, norm/nanmean...)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: expected a floating point {name}, got dtype {x.dtype}")
    return x


def _floating(x: Tensor) -> Tensor:
    """Integer and bool inputs of float functions (exp, log, sqrt) become float32, as in torch."""
    return x if x.dtype.kind == "f" else astype(x, _default_float())


def exp(input: Tensor) -> Tensor:
    return Exp.apply(_floating(input))


def log(input: Tensor) -> Tensor:
    return Log.apply(_floating(input))


def sqrt(input: Tensor) -> Tensor:
    return Sqrt.apply(_floating(input))


def abs(x: Tensor) -> Tensor:  # noqa: A001
    return Abs.apply(x)


def clip(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Clamp to [min, max]; with number bounds the gradient passes where min < input < max (as in
    torch). Tensor bounds are differentiable too: then this is ``minimum(maximum(input, min), max)``
    (ties share the gradient, as in torch; where input is NaN, torch's clamp with both tensor bounds
    gives the bounds no gradient, this gives them maximum's and minimum's).)"""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input if min is None else maximum(input, min)
        return out if max is None else minimum(out, max)
    if input.dtype.kind != "f" and any(isinstance(b, float) for b in (min, max)):
        input = astype(input, _default_float())  # an integer tensor clamped to a float bound is float32, as in torch
    return Clip.apply(input, lo=min, hi=max)


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise maximum (torch.maximum); NaN propagates."""
    return MaximumMinimum.apply(*_promote(input, other), op="maximum")


def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise minimum (torch.minimum); NaN propagates."""
    return MaximumMinimum.apply(*_promote(input, other), op="minimum")


def index_put(x: Tensor, index: Any, value: Any) -> Tensor:
    """``x`` with ``x[index]`` replaced by ``value`` (broadcast to the indexed shape), a new tensor."""
    v = value if isinstance(value, Tensor) else Tensor(value, dtype=x.dtype, device=x.device)
    if v.dtype != x.dtype:
        v = astype(v, x.dtype)
    index = torch_index(index, x.array)
    return IndexPut.apply(x, v, index=index, mask=fill_mask(index, x.shape, v.shape))


clamp = clip


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` is true, else ``other`` (all three broadcast together).
    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``, as torch's."""
    if input is None and other is None:
        return (condition if isinstance(condition, Tensor) else Tensor(condition)).nonzero(as_tuple=True)
    cond = condition.array if isinstance(condition, Tensor) else condition
    a, b = _promote(input, other)
    if is_grad_enabled() and (a.requires_grad or b.requires_grad) and hasattr(cond, "copy"):
        cond = cond.copy()  # the node keeps it: a later write to the mask must not change the gradient
    return Where.apply(a, b, cond=cond)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


def astype(x: Tensor, dtype: Any) -> Tensor:
    return AsType.apply(x, dtype=np.dtype(dtype))


def to_device(x: Tensor, device: Any) -> Tensor:
    return ToDevice.apply(x, device=device)


# -- pointwise math (torch.sin ... torch.lerp) -------------------------------------------
# Each op: forward on the raw array, its derivative in backward. Integer and bool inputs of
# the float functions are float32 (``_floating``), as in torch. Constants are Python floats,
# which keep an array's dtype (a NumPy float64 scalar would make float32 arrays float64).

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


class Sin(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return backend.get_array_module(x).sin(x)

    def backward(self, gy):  # d sin x = cos x
        return gy * backend.get_array_module(gy).cos(self.x)

    def backward_graph(self, gy, x):
        return gy * cos(x)


class Cos(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return backend.get_array_module(x).cos(x)

    def backward(self, gy):  # d cos x = -sin x
        return -gy * backend.get_array_module(gy).sin(self.x)

    def backward_graph(self, gy, x):
        return -gy * sin(x)


class Tan(Function):
    def forward(self, x):
        y = backend.get_array_module(x).tan(x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy):  # d tan x = 1 + tan^2 x
        return gy * (1 + self.y * self.y)

    def backward_graph(self, gy, x):
        return gy * (1 + square(tan(x)))


class Asin(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        with np.errstate(invalid="ignore"):  # NaN outside [-1, 1]
            return backend.get_array_module(x).arcsin(x)

    def backward(self, gy):  # d asin x = 1 / sqrt(1 - x^2)
        xp = backend.get_array_module(gy)
        with np.errstate(divide="ignore", invalid="ignore"):
            return gy / xp.sqrt(1 - self.x * self.x)

    def backward_graph(self, gy, x):
        return gy / sqrt(1 - x * x)


class Acos(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        with np.errstate(invalid="ignore"):  # NaN outside [-1, 1]
            return backend.get_array_module(x).arccos(x)

    def backward(self, gy):  # d acos x = -1 / sqrt(1 - x^2)
        xp = backend.get_array_module(gy)
        with np.errstate(divide="ignore", invalid="ignore"):
            return -gy / xp.sqrt(1 - self.x * self.x)

    def backward_graph(self, gy, x):
        return -gy / sqrt(1 - x * x)


class Atan(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return backend.get_array_module(x).arctan(x)

    def backward(self, gy):  # d atan x = 1 / (1 + x^2)
        return gy / (1 + self.x * self.x)

    def backward_graph(self, gy, x):
        return gy / (1 + x * x)


class Sinh(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return backend.get_array_module(x).sinh(x)

    def backward(self, gy):  # d sinh x = cosh x
        return gy * backend.get_array_module(gy).cosh(self.x)

    def backward_graph(self, gy, x):
        return gy * cosh(x)


class Cosh(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return backend.get_array_module(x).cosh(x)

    def backward(self, gy):  # d cosh x = sinh x
        return gy * backend.get_array_module(gy).sinh(self.x)

    def backward_graph(self, gy, x):
        return gy * sinh(x)


class Reciprocal(Function):
    def forward(self, x):
        with np.errstate(divide="ignore"):
            y = 1 / x
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy):  # d (1/x) = -1/x^2 = -y^2
        return -gy * self.y * self.y

    def backward_graph(self, gy, x):
        return -gy * square(reciprocal(x))


class Rsqrt(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = 1 / xp.sqrt(x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy):  # d x^(-1/2) = -x^(-3/2) / 2 = -y^3 / 2
        return -0.5 * gy * self.y * self.y * self.y

    def backward_graph(self, gy, x):
        y = rsqrt(x)
        return -0.5 * gy * y * y * y


class Square(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return x * x

    def backward(self, gy):  # d x^2 = 2x
        return 2 * gy * self.x

    def backward_graph(self, gy, x):
        return 2 * gy * x


class Log2(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        with np.errstate(divide="ignore", invalid="ignore"):
            return backend.get_array_module(x).log2(x)

    def backward(self, gy):  # d log2 x = 1 / (x ln 2)
        return gy / (self.x * _LN2)

    def backward_graph(self, gy, x):
        return gy / (x * _LN2)


class Log10(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        with np.errstate(divide="ignore", invalid="ignore"):
            return backend.get_array_module(x).log10(x)

    def backward(self, gy):  # d log10 x = 1 / (x ln 10)
        return gy / (self.x * _LN10)

    def backward_graph(self, gy, x):
        return gy / (x * _LN10)


class Log1p(Function):
    def forward(self, x):
        if self.requires_grad:
            self.x = x
        with np.errstate(divide="ignore", invalid="ignore"):
            return backend.get_array_module(x).log1p(x)

    def backward(self, gy):  # d log(1 + x) = 1 / (1 + x)
        return gy / (self.x + 1)

    def backward_graph(self, gy, x):
        return gy / (x + 1)


class Expm1(Function):
    def forward(self, x):
        y = backend.get_array_module(x).expm1(x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy):  # d (e^x - 1) = e^x = y + 1
        return gy * (self.y + 1)

    def backward_graph(self, gy, x):
        return gy * (expm1(x) + 1)


class Exp2(Function):
    def forward(self, x):
        y = backend.get_array_module(x).exp2(x)
        if self.requires_grad:
            self.y = y
        return y

    def backward(self, gy):  # d 2^x = 2^x ln 2
        return gy * self.y * _LN2

    def backward_graph(self, gy, x):
        return gy * exp2(x) * _LN2


class Frac(Function):
    def forward(self, x):
        with np.errstate(invalid="ignore"):  # frac(inf) is NaN
            return x - backend.get_array_module(x).trunc(x)

    def backward(self, gy):  # d (x - trunc x) = 1 (trunc is piecewise constant)
        return gy

    def backward_graph(self, gy, x):
        return gy


class Rounding(Function):
    """floor, ceil, trunc, round (half to even, at ``decimals`` places) and sign: piecewise
    constant, so their gradient is zero, as in torch (not an error)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.op == "round" and self.decimals:  # torch's: scale, round half to even, unscale
            scale = 10.0 ** builtins.abs(self.decimals)
            if self.decimals > 0:
                return xp.rint(x * scale) / scale
            return xp.rint(x / scale) * scale
        if self.op == "sign" and x.dtype.kind == "f":  # torch's sign(NaN) is 0
            return xp.where(xp.isnan(x), x.dtype.type(0), xp.sign(x))
        return getattr(xp, {"round": "rint"}.get(self.op, self.op))(x)

    def backward(self, gy):
        return backend.get_array_module(gy).zeros_like(gy)

    def backward_graph(self, gy, x):
        return Tensor(self.backward(gy.array))  # zeros with no graph, as torch's


class Fmod(Function):
    """``fmod(a, b) = a - trunc(a / b) * b``, the C remainder (sign of a).
    d/da = 1, d/db = -trunc(a / b), as in torch."""

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.shapes = a.shape, b.shape
        if a.dtype.kind in "iu" and a.size:  # (on a GPU checked later: no host sync, see backend.raise_if)
            backend.raise_if((b == 0).any(), IntegerDivisionError, "fmod: integer division by zero")
        if self.requires_grad and self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                self.quotient = xp.trunc(a / b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.fmod(a, b)

    def backward(self, gy):
        ga = unbroadcast(gy, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * self.quotient, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        ga = unbroadcast(gy, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * DivRounded.apply(a, b, mode="trunc"), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Hypot(Function):
    def forward(self, a, b):
        y = backend.get_array_module(a).hypot(a, b)
        if self.requires_grad:
            self.a, self.b, self.y = a, b, y
        return y

    def backward(self, gy):  # d/da = a / y, d/db = b / y (NaN at a = b = 0, as in torch)
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = unbroadcast(gy * self.a / self.y, self.a.shape) if self.needs_input_grad[0] else None
            gb = unbroadcast(gy * self.b / self.y, self.b.shape) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        y = hypot(a, b)
        ga = unbroadcast(gy * a / y, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * b / y, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Atan2(Function):
    def forward(self, a, b):
        if self.requires_grad:
            self.a, self.b = a, b
        return backend.get_array_module(a).arctan2(a, b)

    def backward(self, gy):  # d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2); 0 at a = b = 0 (torch)
        xp = backend.get_array_module(gy)
        a, b = self.a, self.b
        r2 = a * a + b * b
        with np.errstate(divide="ignore"):
            inv = xp.where(r2 == 0, r2.dtype.type(0), 1 / r2)
        ga = unbroadcast(gy * b * inv, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * a * inv, b.shape) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        r2 = a * a + b * b
        origin = r2.array == 0
        inv = where(origin, 0.0, 1 / where(origin, 1.0, r2))  # (1 / 0 kept out of the graph)
        ga = unbroadcast(gy * b * inv, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * a * inv, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Lerp(Function):
    """``start + weight * (end - start)``, computed as torch does (from ``end`` when
    weight >= 0.5, so weight = 1 gives ``end`` exactly). d/dstart = 1 - w, d/dend = w,
    d/dweight = end - start."""

    def forward(self, start, end, weight):
        xp = backend.get_array_module(start)
        self.shapes = start.shape, end.shape, weight.shape
        diff = end - start
        if self.requires_grad:
            self.weight = weight
            self.diff = diff if self.needs_input_grad[2] else None
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))

    def backward(self, gy):
        w = self.weight
        g0 = unbroadcast(gy * (1 - w), self.shapes[0]) if self.needs_input_grad[0] else None
        g1 = unbroadcast(gy * w, self.shapes[1]) if self.needs_input_grad[1] else None
        g2 = unbroadcast(gy * self.diff, self.shapes[2]) if self.needs_input_grad[2] else None
        return g0, g1, g2

    def backward_graph(self, gy, start, end, weight):
        g0 = unbroadcast(gy * (1 - weight), start.shape) if self.needs_input_grad[0] else None
        g1 = unbroadcast(gy * weight, end.shape) if self.needs_input_grad[1] else None
        g2 = unbroadcast(gy * (end - start), weight.shape) if self.needs_input_grad[2] else None
        return g0, g1, g2


def sin(input: Tensor) -> Tensor:
    """Elementwise sine (any shape; integer inputs give float32)."""
    return Sin.apply(_floating(input))


def cos(input: Tensor) -> Tensor:
    return Cos.apply(_floating(input))


def tan(input: Tensor) -> Tensor:
    return Tan.apply(_floating(input))


def asin(input: Tensor) -> Tensor:
    return Asin.apply(_floating(input))


def acos(input: Tensor) -> Tensor:
    return Acos.apply(_floating(input))


def atan(input: Tensor) -> Tensor:
    return Atan.apply(_floating(input))


arcsin, arccos, arctan = asin, acos, atan


def sinh(input: Tensor) -> Tensor:
    return Sinh.apply(_floating(input))


def cosh(input: Tensor) -> Tensor:
    return Cosh.apply(_floating(input))


def reciprocal(input: Tensor) -> Tensor:
    """1 / input elementwise (integer inputs give float32)."""
    return Reciprocal.apply(_floating(input))


def rsqrt(input: Tensor) -> Tensor:
    """1 / sqrt(input) elementwise."""
    return Rsqrt.apply(_floating(input))


def square(input: Tensor) -> Tensor:
    """input * input; keeps integer dtypes (bool becomes int64), as torch's."""
    if input.dtype == np.bool_:
        input = astype(input, np.int64)
    return Square.apply(input)


def log2(input: Tensor) -> Tensor:
    return Log2.apply(_floating(input))


def log10(input: Tensor) -> Tensor:
    return Log10.apply(_floating(input))


def log1p(input: Tensor) -> Tensor:
    """log(1 + input), accurate for small input."""
    return Log1p.apply(_floating(input))


def expm1(input: Tensor) -> Tensor:
    """exp(input) - 1, accurate for small input."""
    return Expm1.apply(_floating(input))


def exp2(input: Tensor) -> Tensor:
    return Exp2.apply(_floating(input))


def _not_bool(input: Tensor, op: str, integers: bool = True) -> None:
    """torch implements the rounding functions for numbers but not for bool (and frac and
    round with decimals not for integers either)."""
    if input.dtype == np.bool_ or (not integers and input.dtype.kind != "f"):
        raise DtypeError(f"{op}: not implemented for dtype {input.dtype}")


def floor(input: Tensor) -> Tensor:
    """Round down elementwise; integer inputs are returned as they are (a copy). Zero gradient."""
    _not_bool(input, "floor")
    return Rounding.apply(input, op="floor") if input.dtype.kind == "f" else clone(input)


def ceil(input: Tensor) -> Tensor:
    """Round up elementwise. Zero gradient."""
    _not_bool(input, "ceil")
    return Rounding.apply(input, op="ceil") if input.dtype.kind == "f" else clone(input)


def trunc(input: Tensor) -> Tensor:
    """Round toward zero elementwise. Zero gradient."""
    _not_bool(input, "trunc")
    return Rounding.apply(input, op="trunc") if input.dtype.kind == "f" else clone(input)


fix = trunc


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even (torch's and NumPy's rint), at ``decimals`` places after the point
    (negative: before it) as torch does: rint(x * 10^d) / 10^d. Zero gradient."""
    _not_bool(input, "round", integers=decimals == 0)
    if input.dtype.kind != "f":
        return clone(input)
    return Rounding.apply(input, op="round", decimals=int(decimals))


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 elementwise (0 for NaN, as torch's); keeps the dtype. Zero gradient."""
    if input.dtype == np.bool_:
        return clone(input)
    return Rounding.apply(input, op="sign")


def frac(input: Tensor) -> Tensor:
    """input - trunc(input) (sign of input); floating inputs only, as in torch. Gradient 1."""
    _not_bool(input, "frac", integers=False)
    return Frac.apply(input)


def fmod(input: Any, other: Any) -> Tensor:
    """The C remainder ``input - trunc(input / other) * other`` (sign of input; ``remainder``
    has the sign of other), broadcasting; integer division by zero raises, as in torch (and bool
    operands, which NumPy would compute as int8)."""
    return Fmod.apply(*_bool_refused("fmod", *_promote(input, other)))


def hypot(input: Any, other: Any) -> Tensor:
    """sqrt(input^2 + other^2) elementwise, broadcasting; floating inputs only, as in torch."""
    a, b = _promote(input, other)
    if a.dtype.kind != "f":
        raise DtypeError(f"hypot: not implemented for dtype {a.dtype}")
    return Hypot.apply(a, b)


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input), in (-pi, pi], broadcasting; integers give float32."""
    return Atan2.apply(*_promote(input, other, floating=True))


arctan2 = atan2


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``, all three broadcast together. ``input`` and ``end``
    are floating tensors of one dtype; ``weight`` a number or a tensor of that dtype (a 0-d
    tensor of another float dtype is converted), as torch requires."""
    if not isinstance(input, Tensor) or not isinstance(end, Tensor):
        raise TypeError("lerp: input and end must be tensors")
    if input.dtype.kind != "f":
        raise DtypeError(f"lerp: not implemented for dtype {input.dtype}")
    if end.dtype != input.dtype:
        raise DtypeError(f"lerp: expected dtype {input.dtype} for `end` but got dtype {end.dtype}")
    if isinstance(weight, Tensor):
        if weight.dtype != input.dtype:
            if weight.ndim > 0 or weight.dtype.kind != "f":
                raise TypeError(f"lerp: expected dtype {input.dtype} for `weight` but got dtype {weight.dtype}")
            weight = astype(weight, input.dtype)
    else:
        weight = Tensor(scalar_like(weight, input.dtype, input.array))
    return Lerp.apply(input, end, weight)
