"""More of torch's elementwise math: logit, xlogy, logaddexp, copysign, float_power, fmax/fmin,
ldexp, nan_to_num, addcmul/addcdiv, addmv/addr/baddbmm/addbmm, inner, kron, vdot; and the
integer ops that have no gradient (gcd, lcm, bitwise_*, signbit...). Most are written with
existing ops (so their gradients, of any order, come from those ops); xlogy/xlog1py (torch's
masked derivatives), logaddexp (smooth second derivative at ties), heaviside (backward raises,
as torch's), nextafter (input's gradient passes where input != other, as torch's), logit and entr
(torch's derivatives outside the domain) are small Functions.

Binary ops broadcast and promote dtypes as torch (``result_dtype`` of ops/math.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import autocast_state, backend
from ..autograd import Function, Tensor, _broadcast_error, scalar_like, tie
from .errors import DtypeError, ShapeError
from .linalg import _same_dtype, bmm, dot, mv, outer
from .math import (
    _floating,
    _promote,
    abs,
    astype,
    clone,
    exp2,
    log,
    maximum,
    minimum,
    mul,
    pow,
    result_dtype,
    unbroadcast,
    where,
)

_LN2 = math.log(2.0)


def _tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return Tensor(scalar_like(x, like.dtype, like.array))
    return Tensor(x)


class Logit(Function):
    """log(p) - log1p(-p), p = x clamped to [eps, 1 - eps] when ``eps`` is given (+-inf at 0 and
    1). torch's derivative: dy / (x (1 - x)); without eps NaN outside [0, 1], with eps 0 outside
    the closed [eps, 1 - eps] (the clamped places) and at NaN, as clamp's gradient (torch's
    vectorized kernel, on 16 elements or more; its scalar one gives NaN there)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.x = x
        if self.eps is not None:  # (not clip: for eps > 0.5 torch takes eps below eps, 1 - eps above 1 - eps)
            lo, hi = self._bounds(x)
            x = xp.where(x < lo, lo, xp.where(x > hi, hi, x))
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.log(x) - xp.log1p(-x)

    def _bounds(self, x: Any) -> tuple[Any, Any]:
        lo = x.dtype.type(self.eps)
        return lo, x.dtype.type(1) - lo

    def _fixed(self, x: Any) -> tuple[Any, float]:
        """Where the derivative is not dy / (x (1 - x)), and its value there."""
        if self.eps is None:
            return (x < 0) | (x > 1), math.nan
        lo, hi = self._bounds(x)
        return ~((x >= lo) & (x <= hi)), 0.0

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        fixed, value = self._fixed(self.x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return xp.where(fixed, value, gy / (self.x * (1 - self.x))).astype(gy.dtype, copy=False)

    def backward_graph(self, gy, x):
        fixed, value = self._fixed(x.array)
        return where(Tensor(fixed), value, gy / (x * (1 - x)))


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)), with p = input clamped to [eps, 1 - eps] when eps is given (the
    gradient is then 0 outside the closed interval, as torch's); +-inf at 0 and 1 with an
    infinite gradient, NaN gradient outside [0, 1] without eps (see :class:`Logit`)."""
    return Logit.apply(_floating(input), eps=eps)


class Xlogy(Function):
    """x * log(y), with 0 where x is 0 (NaN where y is NaN), broadcasting; torch's xlogy:
    d/dx = log(y), 0 where x = 0 and y <= 0 (the masked -inf or NaN); d/dy = x / y. The subclass
    :class:`SpecialXlog1Py` is the same with log1p(y) (mask y <= -1, d/dy = x / (1 + y))."""

    shift = 0.0  # log(y + shift) in the derivative: x / (y + shift); the mask is y <= -shift

    @staticmethod
    def log(xp: Any, y: Any) -> Any:
        return xp.log(y)

    def forward(self, x, y):
        xp = backend.get_array_module(x, y)
        if self.requires_grad:
            self.x, self.y = x, y
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return xp.where((x == 0) & ~xp.isnan(y), 0.0, x * self.log(xp, y)).astype(x.dtype, copy=False)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x, y = self.x, self.y
        gx = gyy = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.needs_input_grad[0]:  # xlogy(gy, y) with the mask
                g = xp.where((gy == 0) & ~xp.isnan(y), 0.0, gy * self.log(xp, y))
                gx = unbroadcast(xp.where((x == 0) & (y <= -self.shift), 0.0, g).astype(gy.dtype, copy=False), x.shape)
            if self.needs_input_grad[1]:
                gyy = unbroadcast(gy * x / (y + self.shift), y.shape)
        return gx, gyy

    def backward_graph(self, gy, x, y):
        gx = gyy = None
        if self.needs_input_grad[0]:  # the same op on (gy, y): its own derivatives again
            zero = Tensor((x.array == 0) & (y.array <= -self.shift))
            gx = unbroadcast(where(zero, 0.0, type(self).apply(gy, y)), x.shape)
        if self.needs_input_grad[1]:
            gyy = unbroadcast(gy * x / (y + self.shift), y.shape)
        return gx, gyy


class SpecialXlog1Py(Xlogy):
    """x * log1p(y), 0 where x is 0 (torch.special.xlog1py); see :class:`Xlogy`."""

    shift = 1.0

    @staticmethod
    def log(xp: Any, y: Any) -> Any:
        return xp.log1p(y)


def xlogy(input: Any, other: Any) -> Tensor:
    """input * log(other), 0 where input is 0 (unless other is NaN), broadcasting."""
    return Xlogy.apply(*_promote(input, other, floating=True))


def xlog1py(input: Any, other: Any) -> Tensor:
    """input * log1p(other), 0 where input is 0 (unless other is NaN), broadcasting."""
    return SpecialXlog1Py.apply(*_promote(input, other, floating=True))


class SpecialEntr(Function):
    """-x log x for x > 0, 0 at 0, -inf for x < 0; torch's derivative everywhere:
    -(1 + log x) (+inf at 0, NaN for x < 0), and -1/x the second."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.x = x
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = -x * xp.log(xp.where(x > 0, x, 1))
        return xp.where(x > 0, inside, xp.where(x == 0, 0.0, xp.where(x < 0, -xp.inf, x))).astype(x.dtype, copy=False)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        with np.errstate(divide="ignore", invalid="ignore"):
            return gy * -(1 + xp.log(self.x))

    def backward_graph(self, gy, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return gy * -(1 + log(x))


def entr(input: Tensor) -> Tensor:
    """-x log x for x > 0, 0 at 0, -inf for x < 0 (torch.special.entr)."""
    return SpecialEntr.apply(_floating(input))


class LogAddExp(Function):
    """log(exp(a) + exp(b)) = max + log1p(exp(-|a - b|)) (a itself where both are the same
    infinity, torch's); d/da = sigmoid(a - b), smooth at a = b (the second derivative too)."""

    def forward(self, a, b):
        xp = backend.get_array_module(a, b)
        if self.requires_grad:
            self.a, self.b = a, b
        with np.errstate(invalid="ignore", over="ignore"):
            y = xp.maximum(a, b) + xp.log1p(xp.exp(-xp.abs(a - b)))
            return xp.where(xp.isinf(a) & (a == b), a, y)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        with np.errstate(invalid="ignore", over="ignore"):
            sa = 1 / (1 + xp.exp(self.b - self.a))  # sigmoid(a - b): 1 at (inf, 1), NaN at (-inf, -inf) as torch
            ga = unbroadcast(gy * sa, self.a.shape) if self.needs_input_grad[0] else None
            gb = unbroadcast(gy * (1 - sa), self.b.shape) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        from .activation import sigmoid  # noqa: PLC0415  (activation imports ops that import this module)

        ga = unbroadcast(gy * sigmoid(a - b), a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * sigmoid(b - a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def logaddexp(input: Tensor, other: Any) -> Tensor:
    """log(exp(input) + exp(other)) without overflow, broadcasting."""
    return LogAddExp.apply(*_promote(input, other, floating=True))


def logaddexp2(input: Tensor, other: Any) -> Tensor:
    """log2(2^input + 2^other) without overflow."""
    a, b = _promote(input, other, floating=True)
    return logaddexp(a * _LN2, b * _LN2) / _LN2


def copysign(input: Any, other: Any) -> Tensor:
    """|input| with the sign (bit) of other, broadcasting; float result. Gradient to input only
    (other's is zero, as in torch)."""
    a, b = _promote(input, other, floating=True)
    xp = backend.get_array_module(b.array)
    sign = Tensor(xp.where(xp.signbit(b.array), -1.0, 1.0).astype(a.dtype))
    out = abs(a) * sign
    return tie(out, b) if b.requires_grad else out


def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent computed in float64 (torch.float_power)."""
    a = astype(input, np.float64) if isinstance(input, Tensor) else Tensor(np.float64(input))
    if isinstance(exponent, Tensor):
        b: Any = astype(exponent, np.float64)
        if not isinstance(input, Tensor):
            a = Tensor(scalar_like(input, np.float64, b.array))
    else:
        b = float(exponent)
    return pow(a, b)


def _nan_ignoring(a: Tensor, b: Tensor, pick: Any) -> Tensor:
    """pick(a, b) (maximum or minimum: a tie shares the gradient, as torch's) where neither is
    NaN, else the other operand."""
    if a.dtype.kind != "f":
        return pick(a, b)
    xp = backend.get_array_module(a.array)
    return where(xp.isnan(b.array), a, where(xp.isnan(a.array), b, pick(a, b)))


def fmax(input: Tensor, other: Any) -> Tensor:
    """Elementwise maximum that ignores NaN (NaN only where both are)."""
    return _nan_ignoring(*_promote(input, other), maximum)


def fmin(input: Tensor, other: Any) -> Tensor:
    """Elementwise minimum that ignores NaN (NaN only where both are)."""
    return _nan_ignoring(*_promote(input, other), minimum)


def ldexp(input: Tensor, other: Any) -> Tensor:
    """input * 2 ** other (floating result: torch's promotion of the two, float32 for integers)."""
    b = _tensor(other, input)
    dt = result_dtype(input, b)
    dt = dt if dt.kind == "f" else np.dtype(np.float32)
    return mul(astype(input, dt), exp2(astype(b, dt)))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the
    largest and the lowest finite value of the dtype); integer tensors are copied. The gradient
    passes where input is finite."""
    if input.dtype.kind != "f":
        return clone(input)
    info = np.finfo(input.dtype)
    xp = backend.get_array_module(input.array)
    a = input.array
    fill = xp.where(xp.isnan(a), nan, xp.where(a > 0, info.max if posinf is None else posinf, 0.0))
    with np.errstate(over="ignore"):  # (a replacement beyond the dtype's range: inf, as torch's)
        fill = xp.where(a == -xp.inf, info.min if neginf is None else neginf, fill).astype(input.dtype)
    return where(xp.isfinite(a), input, Tensor(fill))


def deg2rad(input: Tensor) -> Tensor:
    return _floating(input) * (math.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    return _floating(input) * (180 / math.pi)


def positive(input: Tensor) -> Tensor:
    """input itself (torch.positive); refused for bool, as torch's."""
    if input.dtype == np.bool_:
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return input


def sgn(input: Tensor) -> Tensor:
    """sign for real tensors."""
    return input.sign()


# -- no gradient: tests and integer ops ------------------------------------------------------


def _raw(x: Any, fn: Any, name: str = "op") -> Tensor:
    with backend.array_scope(x):
        try:
            return Tensor(fn(backend.get_array_module(x)))
        except ValueError as e:  # (NumPy's broadcast failure: torch's RuntimeError)
            raise _broadcast_error(name, [x], e) from e


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (-0.0 and NaN with the bit included)."""
    return _raw(input.array, lambda xp: xp.signbit(input.array) if input.dtype.kind == "f" else input.array < 0)


def isposinf(input: Tensor) -> Tensor:
    return _raw(input.array, lambda xp: input.array == xp.inf)


def isneginf(input: Tensor) -> Tensor:
    return _raw(input.array, lambda xp: input.array == -xp.inf)


def isreal(input: Tensor) -> Tensor:
    """All True for real tensors (minicnn has no complex dtype)."""
    return _raw(input.array, lambda xp: xp.ones(input.shape, dtype=bool))


def _integer_pair(op: str, input: Any, other: Any, bools: bool = True) -> tuple[Any, Any, np.dtype]:
    dt = result_dtype(input, other)
    if dt.kind == "f" or (dt.kind == "b" and not bools):  # as torch, the promoted dtype decides: bool << int8 is fine
        name = {"float16": "Half", "float32": "Float", "float64": "Double", "bool": "Bool"}.get(dt.name, str(dt))
        kinds = "integer or bool" if bools else "integer"
        raise DtypeError(f"\"{op}\" not implemented for '{name}' ({kinds} tensors only)")
    ref = input if isinstance(input, Tensor) else other
    arrays = [
        (t.array if isinstance(t, Tensor) else scalar_like(t, dt, ref.array)).astype(dt, copy=False)
        for t in (input, other)
    ]
    return arrays[0], arrays[1], dt


def _integer_op(op: str, name: str, input: Any, other: Any, bools: bool = True) -> Tensor:
    a, b, _ = _integer_pair(op, input, other, bools)
    return _raw(a, lambda xp: getattr(xp, name)(a, b), op)


def gcd(input: Tensor, other: Any) -> Tensor:
    """The greatest common divisor (non-negative), integer tensors only."""
    return _integer_op("gcd", "gcd", input, other, bools=False)


def lcm(input: Tensor, other: Any) -> Tensor:
    """The least common multiple (non-negative), integer tensors only."""
    return _integer_op("lcm", "lcm", input, other, bools=False)


def bitwise_and(input: Tensor, other: Any) -> Tensor:
    return _integer_op("bitwise_and", "bitwise_and", input, other)


def bitwise_or(input: Tensor, other: Any) -> Tensor:
    return _integer_op("bitwise_or", "bitwise_or", input, other)


def bitwise_xor(input: Tensor, other: Any) -> Tensor:
    return _integer_op("bitwise_xor", "bitwise_xor", input, other)


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """input << other (integer tensors)."""
    return _integer_op("lshift", "left_shift", input, other, bools=False)


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """input >> other, arithmetic for signed integers (integer tensors)."""
    return _integer_op("rshift", "right_shift", input, other, bools=False)


def bitwise_not(input: Tensor) -> Tensor:
    if input.dtype.kind not in "biu":
        raise DtypeError(f"\"bitwise_not\" not implemented for '{input.dtype}' (integer or bool tensors only)")
    return _raw(input.array, lambda xp: xp.invert(input.array))


class Heaviside(Function):
    """The step function; torch's has no derivative: backward raises, as torch's does."""

    def forward(self, a, b):
        xp = backend.get_array_module(a, b)
        return xp.where(a == 0, b, (a > 0).astype(a.dtype)).astype(a.dtype)

    def backward(self, gy):
        raise RuntimeError("the derivative for 'heaviside' is not implemented")

    def backward_graph(self, gy, a, b):
        raise RuntimeError("the derivative for 'heaviside' is not implemented")


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """0 where input < 0 (and NaN, as torch), ``values`` where input == 0, 1 where input > 0. No
    derivative (backward raises, as torch's). input and values must have one dtype, as in torch."""
    v = _tensor(values, input)
    if v.dtype != input.dtype:
        raise DtypeError(
            f"heaviside is not yet implemented for tensors with different dtypes ({input.dtype}, {v.dtype})"
        )
    return Heaviside.apply(input, v)


class NextAfter(Function):
    """The next float after a toward b; torch's gradient: gy to a, except 0 where a == b (the
    result is b there, even for a NaN gy), zeros to b."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        if self.needs_input_grad[0]:
            self.same = a == b
        return backend.get_array_module(a, b).nextafter(a, b)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        ga = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(xp.where(self.same, 0, gy).astype(gy.dtype, copy=False), self.shapes[0])
        gb = xp.zeros(self.shapes[1], gy.dtype) if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        ga = unbroadcast(where(Tensor(a.array == b.array), 0.0, gy), a.shape) if self.needs_input_grad[0] else None
        return ga, (tie(Tensor(backend.get_array_module(gy.array).zeros(b.shape, gy.dtype)), gy)
                    if self.needs_input_grad[1] else None)  # fmt: skip


def nextafter(input: Tensor, other: Any) -> Tensor:
    """The next floating-point value after input toward other (gradient: input's passes)."""
    a, b = _promote(input, other)
    if a.dtype.kind != "f":
        raise DtypeError(f"nextafter: not implemented for dtype {a.dtype} (floating tensors only)")
    return NextAfter.apply(a, b)


# -- fused multiply-adds and products --------------------------------------------------------


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 * tensor2, all broadcast together."""
    return input + value * (tensor1 * tensor2) if value != 1 else input + tensor1 * tensor2


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """input + value * tensor1 / tensor2 (integer tensor1 and tensor2 are refused, as torch)."""
    if tensor1.dtype.kind != "f" and tensor2.dtype.kind != "f":
        raise DtypeError(
            "Integer division with addcdiv is no longer supported, and in a future release addcdiv will perform "
            "a true division of tensor1 and tensor2."
        )
    return input + value * (tensor1 / tensor2) if value != 1 else input + tensor1 / tensor2


def _beta_alpha(op: str, input: Tensor, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """beta * input + alpha * product, input broadcast to product's shape; beta = 0 ignores
    input's values (NaN included) and gives it a zero gradient, as torch."""
    try:
        fits = np.broadcast_shapes(input.shape, product.shape) == product.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{op}: input of shape {input.shape} does not broadcast to the result's shape {product.shape}")
    product = product if alpha == 1 else alpha * product
    if beta == 0:
        return tie(product, input) if input.requires_grad else product
    return (input if beta == 1 else beta * input) + product


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * (mat @ vec); mat (n, m), vec (m,), input broadcast to (n,)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, mat, vec = autocast_state.lower(input, mat, vec, cuda_only=True)
    _same_dtype("addmv", input, mat, vec)  # (torch refuses mixed dtypes, a 0-d input's too)
    return _beta_alpha("addmv", input, mv(mat, vec), beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2); input broadcast to (n, m)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, vec1, vec2 = autocast_state.lower(input, vec1, vec2, cuda_only=True)
    return _beta_alpha("addr", input, outer(vec1, vec2), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2); batch1 (b, n, m), batch2 (b, m, p)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, batch1, batch2 = autocast_state.lower(input, batch1, batch2)
    _same_dtype("baddbmm", input, batch1, batch2)  # (torch refuses mixed dtypes, a 0-d input's too)
    return _beta_alpha("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * input + alpha * sum_b batch1[b] @ batch2[b]; input broadcast to (n, p)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, batch1, batch2 = autocast_state.lower(input, batch1, batch2)
    _same_dtype("addbmm", input, batch1, batch2)  # (torch refuses mixed dtypes, a 0-d input's too)
    return _beta_alpha("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dims of both: shape input.shape[:-1] + other.shape[:-1] (a 0-d operand
    multiplies)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(
            f"inner() the last dimension must match on both input tensors but got shapes {input.shape} and "
            f"{other.shape}"
        )
    k = input.shape[-1]
    out = input.reshape(math.prod(input.shape[:-1]), k) @ other.reshape(math.prod(other.shape[:-1]), k).T
    return out.reshape((*input.shape[:-1], *other.shape[:-1]))


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: result[i * other.shape + j] = input[i] * other[j] (ranks aligned
    from the right)."""
    n = max(input.ndim, other.ndim)
    a = input.reshape((*(1,) * (n - input.ndim), *input.shape))
    b = other.reshape((*(1,) * (n - other.ndim), *other.shape))
    a2 = a.reshape([s for d in a.shape for s in (d, 1)])
    b2 = b.reshape([s for d in b.shape for s in (1, d)])
    return (a2 * b2).reshape([p * q for p, q in zip(a.shape, b.shape, strict=True)])


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-d tensors (no conjugation: minicnn's tensors are real)."""
    return dot(input, other)


__all__ = [
    "addbmm", "addcdiv", "addcmul", "addmv", "addr", "baddbmm", "bitwise_and", "bitwise_left_shift", "bitwise_not",
    "bitwise_or", "bitwise_right_shift", "bitwise_xor", "copysign", "deg2rad", "entr", "float_power",
    "fmax", "fmin", "gcd", "heaviside", "inner", "isneginf", "isposinf", "isreal", "kron", "lcm", "ldexp", "logaddexp",
    "logaddexp2", "logit", "nan_to_num", "nextafter", "positive", "rad2deg", "sgn", "signbit", "vdot", "xlog1py",
    "xlogy",
]  # fmt: skip
