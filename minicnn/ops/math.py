"""Elementwise arithmetic, matmul and pointwise math, each with its local derivative.

Binary ops broadcast like NumPy; :func:`unbroadcast` sums a gradient back to the shape of
the input that was broadcast.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import DEFAULT_DTYPE, Function, Tensor, scalar_like


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
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):  # d(a+b)/da = 1, d(a+b)/db = 1
        sa, sb = self.shapes
        return unbroadcast(gy, sa), unbroadcast(gy, sb)


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):  # d/da = 1, d/db = -1
        sa, sb = self.shapes
        return unbroadcast(gy, sa), unbroadcast(-gy, sb) if self.needs_input_grad[1] else None


class Mul(Function):
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


class Div(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        if self.requires_grad:  # da needs b; db needs a and b
            self.a = a if self.needs_input_grad[1] else None
            self.b = b
        return a / b

    def backward(self, gy):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        (sa, sb), a, b = self.shapes, self.a, self.b
        ga = unbroadcast(gy / b, sa) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * a / (b * b), sb) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        xp = backend.get_array_module(a, b)
        y = xp.power(a, b)
        if self.requires_grad:
            self.a, self.b, self.y = a, b, y
        return y

    def backward(self, gy):  # d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log a
        xp = backend.get_array_module(gy)
        a, b, y = self.a, self.b, self.y
        ga = gb = None
        if self.needs_input_grad[0]:  # 0 where the exponent is 0 (torch's rule; avoids 0 * inf at a = 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                ga = xp.where(b == 0, 0, gy * b * xp.power(a, b - 1)).astype(y.dtype)
            ga = unbroadcast(ga, a.shape)
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                loga = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), xp.where(a == 0, -xp.inf, xp.nan))
            gb = unbroadcast(xp.where((a == 0) & (b >= 0), 0, gy * y * loga).astype(y.dtype), b.shape)
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class MatMul(Function):
    """``a @ b`` with NumPy's rules: 1-d operands are promoted, leading dims broadcast."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: both operands need at least one dimension")
        ka = a.shape[-1]
        kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if ka != kb:
            raise ValueError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not match (inner dimensions {ka} != {kb})"
            )
        if self.requires_grad:
            self.a, self.b = a, b
        return a @ b

    def backward(self, gy):  # dA = gY B^T, dB = A^T gY (with 1-d promotion undone)
        xp = backend.get_array_module(gy)
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = gy
        if b.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = g2[..., None, :]
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape if a.ndim > 1 else (1, a.shape[0]))
            ga = ga.reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = xp.swapaxes(a2, -1, -2) @ g2
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Exp(Function):
    def forward(self, x):
        y = backend.get_array_module(x).exp(x)
        self.y = y
        return y

    def backward(self, gy):  # d exp(x) = exp(x)
        return gy * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).log(x)

    def backward(self, gy):  # d log(x) = 1/x
        return gy / self.x


class Sqrt(Function):
    def forward(self, x):
        y = backend.get_array_module(x).sqrt(x)
        self.y = y
        return y

    def backward(self, gy):  # d sqrt(x) = 1 / (2 sqrt(x))
        return gy / (2 * self.y)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).abs(x)

    def backward(self, gy):  # d|x| = sign(x), 0 at 0 (torch's choice)
        return gy * backend.get_array_module(gy).sign(self.x)


class Clip(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        self.pass_mask = xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            self.pass_mask &= x > self.lo
        if self.hi is not None:
            self.pass_mask &= x < self.hi
        return xp.clip(x, self.lo, self.hi)

    def backward(self, gy):  # 1 strictly inside (lo, hi), 0 elsewhere (torch's subgradient)
        return gy * self.pass_mask


class Where(Function):
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
            a_loses, b_loses = (a < b, a > b) if self.op == "maximum" else (a > b, a < b)
            tie = a == b
            self.share_a = xp.where(tie, 0.5, xp.where(a_loses, 0.0, 1.0)).astype(a.dtype)
            self.share_b = xp.where(tie, 0.5, xp.where(b_loses, 0.0, 1.0)).astype(a.dtype)
        return getattr(xp, self.op)(a, b)

    def backward(self, gy):
        ga = unbroadcast(gy * self.share_a, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * self.share_b, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


class IndexPut(Function):
    """``x[index] = v`` out of place (what a recorded ``x[index] = v`` computes): the gradient
    of x is ``gy`` with the written places zeroed, v's is ``gy[index]`` summed to v's shape.
    A boolean mask with one value (torch's masked_fill) is a ``where`` instead: selecting with
    a mask needs the count of its true elements, which on a GPU waits for the device."""

    def forward(self, x, v):
        self.v_shape = v.shape
        xp = backend.get_array_module(x)
        if self.mask is not None:
            return xp.where(self.mask, v, x)
        y = x.copy()
        y[self.index] = v
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
            gx = gy.copy()
            gx[self.index] = 0
        gv = unbroadcast(gy[self.index], self.v_shape) if self.needs_input_grad[1] else None
        return gx, gv


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
        return backend.get_array_module(a).floor_divide(a, b)

    def backward(self, gy):
        raise RuntimeError("the derivative for 'floor_divide' is not implemented")


class Remainder(Function):
    """``a % b`` with the sign of b (Python's and torch's remainder): a - floor(a/b) * b.
    d/da = 1, d/db = -floor(a/b)."""

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.shapes = a.shape, b.shape
        if self.requires_grad and self.needs_input_grad[1]:
            self.quotient = xp.floor_divide(a, b)
        return xp.remainder(a, b)

    def backward(self, gy):
        ga = unbroadcast(gy, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gy * self.quotient, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


class AsType(Function):
    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.in_dtype)


class ToDevice(Function):
    def forward(self, x):
        self.src = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, gy):
        return backend.to_device(gy, self.src)


def _category(dt: np.dtype) -> int:
    return 0 if dt.kind == "b" else (1 if dt.kind in "iu" else 2)


_SCALAR_DEFAULT = {0: np.dtype(bool), 1: np.dtype(np.int64), 2: np.dtype(np.float32)}


def result_dtype(*operands: Any) -> np.dtype:
    """torch's type promotion. Operands with dimensions decide the dtype; a 0-d tensor or a
    Python/NumPy scalar only counts when its category (bool < integer < float) is higher:
    then a 0-d tensor brings its own dtype and a scalar the default one (float32, int64).
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
            tiers[2].append(_SCALAR_DEFAULT[_category(np.asarray(arr).dtype)])
    result: np.dtype | None = None
    for i, tier in enumerate(tiers):
        if not tier:
            continue
        top = max(_category(d) for d in tier)  # across categories the higher one wins as it is
        dt = np.result_type(*[d for d in tier if _category(d) == top])
        if result is None or _category(dt) > _category(result):
            result = dt if result is None or i < 2 else _SCALAR_DEFAULT[_category(dt)]
    return result if result is not None else np.dtype(np.float32)


def _promote(a: Any, b: Any, floating: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of :func:`result_dtype` (float32 if ``floating`` and the
    result would be an integer or bool: true division, powers with a negative exponent)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype and (a.dtype.kind == "f" or not floating):
        return a, b  # the common case: nothing to promote
    dt = result_dtype(a, b)
    if floating and dt.kind != "f":
        dt = np.dtype(np.float32)
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


def sub(a: Any, b: Any) -> Tensor:
    return Sub.apply(*_promote(a, b))


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(*_promote(a, b))


def div(a: Any, b: Any) -> Tensor:
    """True division; integer operands give float32 like torch."""
    return Div.apply(*_promote(a, b, floating=True))


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001
    return Pow.apply(*_promote(a, b))


def floor_divide(a: Any, b: Any) -> Tensor:
    return FloorDivide.apply(*_promote(a, b))


def remainder(a: Any, b: Any) -> Tensor:
    return Remainder.apply(*_promote(a, b))


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def matmul(input: Any, other: Any) -> Tensor:
    """Matrix product with NumPy's/torch's rules: 1-d operands are promoted, leading dims broadcast."""
    return MatMul.apply(input, other)


def _floating(x: Tensor) -> Tensor:
    """Integer and bool inputs of float functions (exp, log, sqrt) become float32, as in torch."""
    return x if x.dtype.kind == "f" else astype(x, DEFAULT_DTYPE)


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
        input = astype(input, DEFAULT_DTYPE)  # an integer tensor clamped to a float bound is float32, as in torch
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
    return IndexPut.apply(x, v, index=index, mask=fill_mask(index, x.shape, v.shape))


clamp = clip


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (all three broadcast together)."""
    cond = condition.array if isinstance(condition, Tensor) else condition
    return Where.apply(*_promote(input, other), cond=cond)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


def astype(x: Tensor, dtype: Any) -> Tensor:
    return AsType.apply(x, dtype=np.dtype(dtype))


def to_device(x: Tensor, device: Any) -> Tensor:
    return ToDevice.apply(x, device=device)
