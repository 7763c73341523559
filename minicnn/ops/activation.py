"""Activations and (log-)softmax, each with its local derivative."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autocast_state, backend, random
from ..autograd import Function, Tensor, _latest, is_grad_enabled, tie, tie_if_constant
from ..kernels.erf import ndtr
from .dims import wrap_dim
from .errors import DtypeError, ShapeError
from .math import _floating, astype, where
from .math import require_float as _float_only


class ReLU(Function):
    # its graph form reads the mask made in forward and is tied to the output, as torch's
    # threshold_backward(grad, result): x may change afterwards, and what comes before the output
    # gets a zero gradient that goes on through relu (a third derivative of zeros, not none)
    graph_reads, graph_output = (), True

    def forward(self, x):
        xp = backend.get_array_module(x)
        y = xp.maximum(x, 0)
        if self.requires_grad:
            # torch's threshold_backward: 0 where y <= 0, else gy -- so a NaN input (y NaN)
            # passes its gradient; y is never negative, so that is y != 0 (-0.0 included)
            self.mask = y != 0
        return y

    def backward(self, gy):  # 1 where x > 0 or x is NaN, else 0 (0 at 0, like torch)
        return _masked(gy, self.mask)

    def backward_graph(self, gy, x, out):
        return scale_where(gy, out, self.mask)


class ReLU6(Function):
    graph_reads = ()  # its graph form reads the mask made in forward, not x's values

    def forward(self, x):
        xp = backend.get_array_module(x)
        if not self.requires_grad:  # (so x is floating below)
            return xp.clip(x, 0, 6)
        # torch's hardtanh_backward: 0 where x <= 0 or x >= 6, so NaN passes; by blocks (see CHAIN_BLOCK)
        y, self.mask = xp.empty(x.shape, x.dtype), xp.empty(x.shape, bool)
        for xb, yb, mb in _chain_blocks(x, y, self.mask):
            xp.clip(xb, 0, 6, out=yb)
            xp.not_equal(yb, 0, out=mb)
            mb &= yb != 6
        return y

    def backward(self, gy):  # 1 on the open interval (0, 6) and at NaN
        return _masked(gy, self.mask)

    def backward_graph(self, gy, x):
        return scale_where(gy, x, self.mask)


def _masked(gy: Any, mask: Any) -> Any:
    """gy where mask, else +0 -- also where gy is inf or NaN (``gy * mask`` would give 0 * inf =
    NaN there; torch gives 0). On the CPU ``where`` over a random mask branches and takes ~10x a
    multiply, so a float gy of the mask's shape keeps its bits where the mask is set: each mask
    byte widened to an all-ones or all-zeros integer of gy's width (``-mask``), ANDed with gy's
    bits -- two branch-free passes (by blocks on a large array, see CHAIN_BLOCK), no finiteness
    check; a GPU takes ``where``."""
    xp = backend.get_array_module(gy)
    if (
        xp is np
        and isinstance(gy, np.ndarray)
        and gy.dtype in (np.float16, np.float32, np.float64)
        and isinstance(mask, np.ndarray)
        and mask.dtype == np.bool_
        and gy.shape == mask.shape
        and gy.ndim > 0  # (ufuncs turn 0-d results into scalars, which out= refuses)
    ):
        bits = np.dtype(f"i{gy.dtype.itemsize}")
        if gy.size < CHAIN_BLOCKED_FROM:  # (ReLU's backward: not even a generator's cost)
            out = np.negative(mask.view(np.int8), dtype=bits)  # True -> -1: all bits set
            np.bitwise_and(gy.view(bits), out, out=out)
            return out.view(gy.dtype)
        out = np.empty(gy.shape, bits)
        for gb, mb, ob in _chain_blocks(gy.view(bits), mask.view(np.int8), out):
            np.negative(mb, dtype=bits, out=ob)
            np.bitwise_and(gb, ob, out=ob)
        return out.view(gy.dtype)
    return xp.where(mask, gy, gy.dtype.type(0))


def _select(mask: Any, a: Any, b: Any) -> Any:
    """``where(mask, a, b)`` for a bool ``mask`` and ``a``, ``b`` of one dtype (arrays that
    broadcast to mask's shape, or numbers), bit for bit: NaN, inf and -0.0 are kept. On the CPU
    ``where`` over a random mask branches (~10x a multiply), so there it is done on the bits:
    ``b ^ ((a ^ b) & -mask)``, with each mask byte widened to an all-ones or all-zeros integer
    of the dtype's width -- four branch-free passes. A GPU (or anything else) takes ``where``."""
    xp = backend.get_array_module(mask)
    dtype = next(v.dtype for v in (a, b) if hasattr(v, "dtype"))
    if (
        xp is np
        and isinstance(mask, np.ndarray)
        and mask.dtype == np.bool_
        and mask.ndim > 0
        and dtype.kind in "fiu"
        and dtype.itemsize in (1, 2, 4, 8)
        and np.broadcast_shapes(np.shape(a), np.shape(b), mask.shape) == mask.shape
    ):
        bits = np.dtype(f"i{dtype.itemsize}")
        ai, bi = np.asarray(a, dtype).view(bits), np.asarray(b, dtype).view(bits)
        out = np.negative(mask.view(np.int8), dtype=bits)  # True -> -1: all bits set
        np.bitwise_and(out, np.bitwise_xor(ai, bi), out=out)
        np.bitwise_xor(out, bi, out=out)
        return out.view(dtype)
    return xp.where(mask, dtype.type(a) if np.ndim(a) == 0 else a, dtype.type(b) if np.ndim(b) == 0 else b)


def _two_valued(mask: Any, inside: float, outside: float, dtype: Any) -> Any:
    """A fresh array of mask's shape: ``inside`` where mask, ``outside`` elsewhere (both rounded
    to ``dtype``), as ``mask * (inside - outside) + outside`` -- two branch-free passes -- when
    that sum rounds back to ``inside`` exactly (it does for the slopes met in practice), else by
    :func:`_select`."""
    xp = backend.get_array_module(mask)
    dt = np.dtype(dtype).type
    a, b = dt(inside), dt(outside)
    with np.errstate(invalid="ignore", over="ignore"):
        step = dt(a - b)
        exact = bool(np.isfinite(step) and dt(step + b) == a and not np.signbit(b))  # (+0.0 + -0.0 is +0.0)
    if not exact:
        return _select(mask, a, b)
    d = xp.asarray(xp.multiply(mask, step, dtype=dtype))
    d += b
    return d


class ScaleWhere(Function):
    """(gy, x) -> gy * (inside where mask, else outside), for a fixed bool ``mask`` (gy's shape)
    and numbers ``inside``, ``outside``: the backward of a piecewise-linear activation of x, in
    ops for ``create_graph=True``. Linear in gy and diagonal, hence its own adjoint; x's
    gradient is 0 (it only ties the result to x's graph, as torch's threshold_backward is
    tied to its input: what comes before x then gets a zero gradient, not none). With
    outside = 0 the masked-out places are 0 even where gy is inf or NaN (as torch's)."""

    linear = True

    def forward(self, gy, x):
        self.x_shape = x.shape
        return self._scale(gy)

    def _scale(self, g):
        inside = g if self.inside == 1 else g * g.dtype.type(self.inside)
        if self.outside == 0:
            return _masked(inside, self.mask)
        if self.inside == 1:  # g (1 or outside): no branch (LeakyReLU's)
            d = _two_valued(self.mask, 1, self.outside, g.dtype)
            d *= g
            return d
        return backend.get_array_module(g).where(self.mask, inside, g * g.dtype.type(self.outside))

    def backward(self, gv):
        gx = backend.get_array_module(gv).zeros(self.x_shape, gv.dtype) if self.needs_input_grad[1] else None
        return self._scale(gv), gx

    def backward_graph(self, gv, gy, x):  # its own adjoint, still tied to x (third derivatives)
        gx = None
        if self.needs_input_grad[1]:  # x's: zeros, a constant (torch's zeros_like), as backward's
            with backend.array_scope(gv.array):
                gx = Tensor(gv.xp.zeros(self.x_shape, gv.dtype))
        return scale_where(gv, x, self.mask, self.inside, self.outside), gx


def scale_where(gy: Tensor, x: Tensor, mask: Any, inside: float = 1.0, outside: float = 0.0) -> Tensor:
    """gy * (inside where mask, else outside), differentiable, tied to x (see :class:`ScaleWhere`)."""
    return ScaleWhere.apply(gy, x, mask=mask, inside=float(inside), outside=float(outside))


class LeakyReLU(Function):
    graph_reads = ()  # its graph form reads the mask made in forward, not x's values

    def forward(self, x):
        xp = backend.get_array_module(x)
        slope = x.dtype.type(self.slope)
        pos = x > 0 if self.requires_grad or not slope > 0 else None
        if self.requires_grad:
            self.pos = pos
        # torch's x > 0 ? x : slope x is the larger of the two for 0 < slope <= 1, the smaller
        # for slope >= 1 (NaN stays NaN, -0.0 gives -0.0, ties are equal bits); a slope <= 0
        # (NaN) would tie +0.0 with -0.0 or lose inf (+inf * 0 = NaN): x (1 or slope) there
        if 0 < slope:
            y = xp.asarray(x * slope)  # (0-d: a scalar, which out= refuses)
            return xp.maximum(x, y, out=y) if slope <= 1 else xp.minimum(x, y, out=y)
        d = _two_valued(pos, 1, slope, x.dtype)
        d *= x
        return d

    def backward(self, gy):  # 1 for x > 0, slope otherwise (at NaN too): gy (1 or slope)
        d = _two_valued(self.pos, 1, self.slope, gy.dtype)
        d *= gy
        return d

    def backward_graph(self, gy, x):
        return scale_where(gy, x, self.pos, 1.0, self.slope)


class Sigmoid(Function):
    graph_reads, graph_output = (), True  # its graph form reads only the output, as torch's

    def forward(self, x):
        self.y = _stable_sigmoid(x)
        return self.y

    def backward(self, gy):  # s (1 - s)
        d = 1 - self.y
        d *= self.y
        return gy * d

    def backward_graph(self, gy, x, out):
        return gy * out * (1 - out)


class Tanh(Function):
    graph_reads, graph_output = (), True

    def forward(self, x):
        y = backend.get_array_module(x).tanh(x)
        self.y = y
        return y

    def backward(self, gy):  # 1 - tanh^2
        return gy * (1 - self.y * self.y)

    def backward_graph(self, gy, x, out):
        return gy * (1 - out * out)


class Softmax(Function):
    graph_reads, graph_output = (), True  # its graph form reads only the output, as torch's

    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.size == 0:  # e.g. a dimension of length 0: max() has no identity; torch returns the empty shape
            self.y = xp.empty_like(x)
            return self.y
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        y = e / e.sum(axis=self.axis, keepdims=True)
        self.y = y
        return y

    def backward(self, gy):  # J^T g = y * (g - sum(g * y))
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))

    def backward_graph(self, gy, x, out):
        return out * (gy - (gy * out).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    graph_reads, graph_output = (), True

    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.size == 0:  # as in Softmax: nothing to normalise, the empty shape
            self.y = xp.empty_like(x)
            return self.y
        shifted = x - x.max(axis=self.axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.y = y
        return y

    def backward(self, gy):  # g - softmax * sum(g)
        xp = backend.get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)

    def backward_graph(self, gy, x, out):
        return gy - out.exp() * gy.sum(axis=self.axis, keepdims=True)


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold`` (torch's
    switch to the linear asymptote). Computed as ``max(z, 0) + log1p(exp(-|z|))`` with z = beta x,
    which never exponentiates a large positive number. d/dx = sigmoid(beta x), 1 past the threshold."""

    def forward(self, x):
        z = x * self.beta
        linear = z > self.threshold
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            soft = _stable_softplus(z)
            soft /= self.beta
        if self.requires_grad:
            self.z, self.asymptote = z, linear
        return _select(linear, x, soft.astype(x.dtype, copy=False))

    def backward(self, gy):  # gy sigmoid(z), gy past the threshold
        xp = backend.get_array_module(gy)
        d = xp.asarray(_stable_sigmoid(self.z).astype(gy.dtype, copy=False))
        if self.threshold >= 0:  # there sigmoid(z) >= 1/2, so 1 - s is exact and s + (1 - s) is 1
            t = xp.subtract(1, d)
            t *= self.asymptote
            d += t
        else:
            d = _select(self.asymptote, gy.dtype.type(1), d)
        d *= gy
        return d

    def backward_graph(self, gy, x):
        return where(self.asymptote, gy, gy * Sigmoid.apply(x * self.beta))


def _dim(x: Tensor, dim: Any, op: str, stacklevel: int) -> int:
    if dim is None:  # torch's deprecated implicit choice, with its warning (at torch's stack level)
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an argument.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return wrap_dim(dim, x.ndim, op)


def _maybe_inplace(input: Tensor, inplace: bool, fn: Callable[[Tensor], Tensor], op: str) -> Tensor:
    """``fn(input)``; with ``inplace`` written into input's memory and returned as torch's
    ``relu_`` does: a plain write when no graph is recorded, else an in-place op that autograd
    records (refused, as in torch, for a leaf that requires grad)."""
    if not inplace:
        return fn(input)
    t = _latest(input)
    if not (is_grad_enabled() and t.requires_grad):
        return t.copy_(fn(t.detach()))
    return t._record_inplace(fn, f"{op}_")


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise, any shape; ``inplace=True`` overwrites input (torch's relu_)."""
    return _maybe_inplace(input, inplace, ReLU.apply, "relu")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6) elementwise; ``inplace=True`` overwrites input."""
    return _maybe_inplace(input, inplace, ReLU6.apply, "relu6")


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input where input > 0, else negative_slope * input; ``inplace=True`` overwrites input."""
    return _maybe_inplace(input, inplace, lambda t: LeakyReLU.apply(t, slope=negative_slope), "leaky_relu")


def sigmoid(input: Tensor) -> Tensor:
    return Sigmoid.apply(_as_float(input))


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(_as_float(input))


def _as_float(input: Any) -> Any:
    """Integer and bool inputs become float32 (torch's rule for float functions)."""
    return _floating(input) if isinstance(input, Tensor) else input


def _cast(input: Tensor, dtype: Any) -> Tensor:
    """torch's ``dtype=`` of softmax: the input is cast before the op (the gradient flows back
    through the cast to the input's dtype)."""
    return input if dtype is None or np.dtype(dtype) == input.dtype else astype(input, dtype)


def softmax(input: Tensor, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(input) / sum(exp(input)) along ``dim`` (computed stably), any shape. ``dtype``: cast
    the input to it first. ``_stacklevel`` places the implicit-dim warning, as in torch."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        (input,) = autocast_state.widen(input, cuda_only=True)
    return Softmax.apply(_as_float(_cast(input, dtype)), axis=_dim(input, dim, "softmax", _stacklevel))


def log_softmax(input: Tensor, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """input - logsumexp(input) along ``dim``, any shape; ``dtype`` and ``_stacklevel`` as softmax."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        (input,) = autocast_state.widen(input, cuda_only=True)
    return LogSoftmax.apply(_as_float(_cast(input, dtype)), axis=_dim(input, dim, "log_softmax", _stacklevel))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * input)) / beta`` elementwise, any shape, reverting to ``input`` where
    ``beta * input > threshold`` (torch.nn.functional.softplus); floating inputs only, as in torch."""
    return Softplus.apply(_float_only(input, "softplus"), beta=beta, threshold=threshold)


# -- more of torch.nn.functional's activations ------------------------------------------
# Elementwise unless stated: input (*) -> output (*), one pass forward, one backward, O(numel).
# At a kink each backward takes torch's subgradient. At a NaN input torch's scalar loop and its
# vectorised loop disagree for some ops (hardtanh, hardswish, elu): the gradients here are the
# vectorised loop's, which is what all but the tail of a tensor gets. Floating inputs only (torch raises for integers),
# except hardtanh and threshold, which torch also runs on integers.


def _no_bool(input: Tensor, op: str) -> Tensor:
    if input.dtype.kind not in "fiu":
        raise TypeError(f"{op}: expected a floating point or integer input, got dtype {input.dtype}")
    return input


def _stable_sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x)), torch's formula, in x's (floating) dtype; float16 is computed in float32.

    No case split is needed: where exp(-x) overflows to inf (x < -88.7 in float32) the result
    is 1/inf = 0, sigmoid's value rounded, and elsewhere every step has a relative error of an
    ulp or two. Four in-place passes over one fresh array: no ``where``, whose branch on a
    random sign mask costs ~10x a multiply on the CPU (EfficientNet's SiLU and SE gates).
    """
    xp = backend.get_array_module(x)
    floating = x.dtype.kind == "f"
    wide = x.dtype if floating and x.dtype.itemsize >= 4 else np.dtype(np.float32)
    if floating:  # -x into a fresh array in one pass (not a copy, then a negation)
        s = xp.asarray(xp.negative(x, dtype=wide))  # (0-d: a scalar, which out= refuses)
    else:  # bool and integers: as float32
        s = xp.asarray(x).astype(wide)
        xp.negative(s, out=s)
    _sigmoid_of_negated(s)
    return s.astype(x.dtype, copy=False) if floating else s


def _sigmoid_of_negated(s: Any) -> None:
    """s = -x (a float array) -> sigmoid(x) = 1 / (1 + exp(-x)), in place: three passes."""
    xp = backend.get_array_module(s)
    with np.errstate(over="ignore"):
        xp.exp(s, out=s)
    s += 1
    xp.divide(1, s, out=s)


# Elementwise chains of several passes over one large CPU array go block by block (a loop over
# memory blocks, not elements), so that every pass after the first finds the block in L2 and no
# temporary is as large as the array. SiLU, float32, 1 thread, min of 15, forward / backward ms:
# (4, 96, 64, 64) 3.2 / 2.6 -> 2.7 / 1.7, (4, 144, 32, 32) 1.13 / 0.95 -> 0.94 / 0.60; on 250K
# elements and less nothing gained (16K-element blocks slower, 128K and 256K no better).
CHAIN_BLOCK = 1 << 16  # elements per block
CHAIN_BLOCKED_FROM = 1 << 19  # arrays with at least this many elements (on the CPU)


def _chain_blocks(*arrays: Any) -> Any:
    """Equal-shape arrays, block by block for an elementwise chain: for a large CPU array flat
    views of ``CHAIN_BLOCK`` elements (outputs must be C-contiguous, so that theirs are views; an
    input that is not is flattened by a copy), else the arrays themselves, as one block."""
    n = arrays[0].size
    if n < CHAIN_BLOCKED_FROM or backend.is_cupy_array(arrays[0]):
        yield arrays
        return
    flats = [a.reshape(-1) for a in arrays]
    for i in range(0, n, CHAIN_BLOCK):
        yield [f[i : i + CHAIN_BLOCK] for f in flats]


def _stable_softplus(x: Any) -> Any:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); no overflow. In place on one fresh array."""
    xp = backend.get_array_module(x)
    t = xp.asarray(xp.abs(x))  # (a 0-d result is a scalar: as an array, so that out= takes it)
    xp.negative(t, out=t)
    xp.exp(t, out=t)
    xp.log1p(t, out=t)
    t += xp.maximum(x, 0)
    return t


def _stable_log_sigmoid(x: Any) -> Any:
    """log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)); no overflow."""
    xp = backend.get_array_module(x)
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_K = math.sqrt(2 / math.pi)  # torch's kBeta
_GELU_C = 0.044715  # torch's kKappa


class NormalCdf(Function):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF, elementwise (gelu's
    derivative, as an op); d/dx = phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""

    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return ndtr(x)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return gy * (_INV_SQRT_2PI * xp.exp(-0.5 * self.x * self.x))

    def backward_graph(self, gy, x):
        return gy * (_INV_SQRT_2PI * (-0.5 * x * x).exp())


class GELU(Function):
    """'none': x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 (torch's formula);
    'tanh': x (1 + tanh(k (x + c x^3))) / 2, k = sqrt(2/pi), c = 0.044715."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.x = x
        wide = x if x.dtype.itemsize >= 4 else x.astype(np.float32)  # float16: in float32, one rounding
        if self.approximate == "tanh":  # (in float16, 1 + tanh cancels to 0 below x ~ -3.5)
            y = 0.5 * wide * (1 + xp.tanh(_GELU_K * (wide + _GELU_C * wide * wide * wide)))
            return y.astype(x.dtype, copy=False)
        cdf = ndtr(wide)
        if self.requires_grad:  # kept for backward (one array like x): no second erf there
            self.cdf = cdf
        return (wide * cdf).astype(x.dtype, copy=False)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x = self.x
        if self.approximate == "tanh":  # d/dx: (1 + th) / 2 + x/2 (1 - th^2) k (1 + 3c x^2)
            x = x if x.dtype.itemsize >= 4 else x.astype(np.float32)  # float16 in float32, as forward
            th = xp.tanh(_GELU_K * (x + _GELU_C * x * x * x))
            d = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * _GELU_K * (1 + 3 * _GELU_C * x * x)
            return gy * d.astype(gy.dtype, copy=False)
        x = x.astype(self.cdf.dtype, copy=False)  # Phi(x) + x phi(x)
        d = x * xp.exp(-0.5 * x * x)
        d *= _INV_SQRT_2PI
        d += self.cdf
        return gy * d.astype(gy.dtype, copy=False)

    def backward_graph(self, gy, x):
        if self.approximate == "tanh":
            th = Tanh.apply(_GELU_K * (x + _GELU_C * x * x * x))
            return gy * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * _GELU_K * (1 + 3 * _GELU_C * x * x))
        return gy * (NormalCdf.apply(x) + x * _INV_SQRT_2PI * (-0.5 * x * x).exp())


class SiLU(Function):
    """x sigmoid(x); d/dx = s (1 + x (1 - s))."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        if x.dtype not in (np.float32, np.float64):  # (float16: the sigmoid in float32)
            s = _stable_sigmoid(x)
            y = x * s
        else:  # -x, sigmoid, x s: block by block on a large array (see CHAIN_BLOCK)
            s, y = xp.empty(x.shape, x.dtype), xp.empty(x.shape, x.dtype)
            for xb, sb, yb in _chain_blocks(x, s, y):
                xp.negative(xb, out=sb)
                _sigmoid_of_negated(sb)
                xp.multiply(xb, sb, out=yb)
        if self.requires_grad:
            self.x, self.s = x, s
        return y

    def backward(self, gy):  # in place on one array: (((1 - s) x + 1) s) gy, by blocks (see CHAIN_BLOCK)
        xp = backend.get_array_module(gy)
        if gy.shape != self.s.shape or gy.dtype != self.s.dtype:
            d = 1 - self.s
            d *= self.x
            d += 1
            d *= self.s
            return gy * d
        d = xp.empty(gy.shape, gy.dtype)
        for sb, xb, gb, db in _chain_blocks(self.s, self.x, gy, d):
            xp.subtract(1, sb, out=db)
            db *= xb
            db += 1
            db *= sb
            db *= gb
        return d

    def backward_graph(self, gy, x):
        s = Sigmoid.apply(x)
        return gy * (s * (1 + x * (1 - s)))


class ELU(Function):
    """torch's elu kernel: x <= 0 ? neg * expm1(x * ipt) : pos * x with neg = alpha * scale,
    pos = scale, ipt = input_scale (ELU: scale = ipt = 1; SELU: its constants; CELU: ipt =
    1/alpha). d/dx = ipt * neg * exp(x * ipt) for x <= 0 (so at 0) and NaN at NaN, pos for x > 0."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.x = x
        if not (self.neg > 0 and self.ipt > 0 and self.pos > 0):  # (a negative alpha: the rare case)
            with np.errstate(over="ignore", invalid="ignore"):  # exp of a large x is discarded by where
                em1 = xp.expm1(x * self.ipt)  # exp(z) - 1 without cancellation near 0, as torch
            return xp.where(~(x > 0), self.neg * em1, self.pos * x)
        # neg expm1(min(x, 0) ipt) + pos max(x, 0): each side is 0 on the other one (NaN stays
        # NaN). Then the sign of x, which torch's result has, fixes the zeros' (-0.0 + 0.0 = 0.0)
        dt = x.dtype.type
        y = xp.asarray(xp.minimum(x, 0))  # (0-d: a scalar, which out= refuses)
        if self.ipt != 1:
            y *= dt(self.ipt)
        xp.expm1(y, out=y)  # exp(z) - 1 without cancellation near 0, as torch
        y *= dt(self.neg)
        p = xp.maximum(x, 0)
        if self.pos != 1:
            p *= dt(self.pos)
        y += p
        return xp.copysign(y, x, out=y)

    def backward(self, gy):  # ipt neg exp(x ipt) for x <= 0 (and NaN), pos for x > 0
        xp = backend.get_array_module(gy)
        x, dt = self.x, gy.dtype.type
        d = xp.asarray(xp.minimum(x, 0))
        if self.ipt != 1:
            d *= dt(self.ipt)
        with np.errstate(over="ignore"):  # (a negative alpha: exp of a positive number)
            xp.exp(d, out=d)  # 1 where x > 0
        c, pos = dt(self.ipt * self.neg), dt(self.pos)
        d *= c  # c where x > 0: add pos - c there, if that lands on pos exactly
        if c != pos:  # (ELU with alpha 1 and CELU have c = pos)
            step = dt(pos - c)
            if step + c == pos:
                d += xp.multiply(x > 0, step, dtype=d.dtype)
            else:
                d = _select(x > 0, pos, d)
        d *= gy
        return d

    def backward_graph(self, gy, x):
        # exp(x * ipt) where x < 0 (or NaN), the constant 1 at 0: the first derivative takes the
        # negative side's value at 0, its derivative the positive side's (0), as torch's. exp of
        # 0 elsewhere: an overflow there would make the second derivative 0 * inf = NaN
        curved = ~(x.array >= 0)
        e = where(curved, (where(curved, x, 0.0) * self.ipt).exp(), 1.0)
        return where(~(x.array > 0), gy * (self.ipt * self.neg) * e, gy * self.pos)


class Mish(Function):
    """x tanh(softplus(x)); d/dx = tsp + x sigmoid(x) (1 - tsp^2), tsp = tanh(softplus(x))."""

    def forward(self, x):
        tsp = _stable_softplus(x)
        backend.get_array_module(x).tanh(tsp, out=tsp)
        if self.requires_grad:
            self.x, self.tsp = x, tsp
        return x * tsp

    def backward(self, gy):  # in place, in torch's order: gy (tsp + (x s) (1 - tsp^2))
        xp = backend.get_array_module(gy)
        x, tsp = self.x, self.tsp
        d = _stable_sigmoid(x)
        d *= x
        t = xp.asarray(tsp * tsp)
        xp.subtract(1, t, out=t)
        d *= t
        d += tsp
        d *= gy
        return d

    def backward_graph(self, gy, x):
        tsp = Tanh.apply(Softplus.apply(x, beta=1.0, threshold=math.inf))
        return gy * (tsp + x * Sigmoid.apply(x) * (1 - tsp * tsp))


class Hardswish(Function):
    """x relu6(x + 3) / 6; d/dx = 0 for x <= -3, x/3 + 1/2 for -3 < x < 3 (NaN at NaN), 1 for x >= 3."""

    def forward(self, x):  # in place on one temporary, in torch's order: (x relu6(x + 3)) / 6
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.x = x
        y = xp.asarray(x + 3)  # (0-d: a scalar, which out= refuses)
        xp.clip(y, 0, 6, out=y)
        y *= x
        y /= 6
        return y

    def backward(self, gy):  # no mask on ordinary input: the two ends come from trunc(clip(x, -3, 3) / 3)
        xp = backend.get_array_module(gy)
        x = self.x
        d = xp.asarray(xp.clip(x, -3, 3))  # (0-d: as an array, for out=)
        d /= 3  # x/3 in [-1, 1]; +-1 only from +-3 on (for |x| < 3, x/3 rounds to |x/3| < 1)
        t = xp.trunc(d)  # -1 up to -3, 1 from 3 on, +-0 inside
        d += 0.5
        t *= 0.5
        d -= t  # x/3 + 1/2 inside (bit for bit: t is +-0 there), 0 up to -3, 1 from 3 on
        with np.errstate(invalid="ignore", over="ignore"):
            d *= gy
            finite = xp is np and np.isfinite(d.sum())  # one read, no mask, on ordinary input
        if not finite:  # 0 up to -3 even where gy is inf or NaN (as torch)
            d = _masked(d, ~(x <= -3))
        return d

    def backward_graph(self, gy, x):
        return where(x.array <= -3, 0.0, where(x.array >= 3, gy, gy * (x / 3 + 0.5)))


class Hardsigmoid(Function):
    """relu6(x + 3) / 6; d/dx = 1/6 on the open interval (-3, 3), else 0 (at NaN too)."""

    graph_reads = ()  # its graph form reads the mask made in forward, not x's values

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.mask = xp.abs(x) < 3
        y = xp.asarray(x + 3)
        xp.clip(y, 0, 6, out=y)
        y /= 6
        return y

    def backward(self, gy):  # torch multiplies by 1/6 rounded to float32, for float64 too
        return _masked(gy * gy.dtype.type(np.float32(1 / 6)), self.mask)

    def backward_graph(self, gy, x):
        return scale_where(gy / 6, x, self.mask)


class Hardtanh(Function):
    """clip(x, lo, hi); d/dx = 1 on the open interval (lo, hi), else 0 (0 at NaN)."""

    graph_reads = ()  # its graph form reads the mask made in forward, not x's values

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.requires_grad:
            self.mask = (x > self.lo) & (x < self.hi)
        return xp.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, gy):
        return _masked(gy, self.mask)

    def backward_graph(self, gy, x):
        return scale_where(gy, x, self.mask)


class LogSigmoid(Function):
    """log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)); d/dx = sigmoid(-x)."""

    def forward(self, x):
        if self.requires_grad:
            self.x = x
        return _stable_log_sigmoid(x)

    def backward(self, gy):
        return gy * _stable_sigmoid(-self.x)

    def backward_graph(self, gy, x):
        return gy * Sigmoid.apply(-x)


class Softsign(Function):
    """x / (1 + |x|); d/dx = 1 / (1 + |x|)^2."""

    def forward(self, x):
        d = 1 + backend.get_array_module(x).abs(x)
        if self.requires_grad:
            self.d = d
        return x / d

    def backward(self, gy):
        return gy / (self.d * self.d)

    def backward_graph(self, gy, x):
        d = 1 + x.abs()
        return gy / (d * d)


class Threshold(Function):
    """x <= threshold ? value : x; d/dx = 0 where x <= threshold, else 1 (so 1 at NaN)."""

    graph_reads = ()  # its graph form reads the mask made in forward, not x's values

    def forward(self, x):
        keep = ~(x <= self.threshold)  # (NaN is kept)
        if self.requires_grad:
            self.mask = keep
        return _select(keep, x, x.dtype.type(self.value))

    def backward(self, gy):
        return _masked(gy, self.mask)

    def backward_graph(self, gy, x):
        return scale_where(gy, x, self.mask)


class Softmin(Softmax):
    """softmax(-x) along ``axis``; backward: -(softmax's backward)."""

    def forward(self, x):
        return super().forward(-x)

    def backward(self, gy):
        return -super().backward(gy)

    def backward_graph(self, gy, x, out):
        return -(out * (gy - (gy * out).sum(axis=self.axis, keepdims=True)))


class GLU(Function):
    """Gated linear unit along ``axis`` (even length 2n): a, b = the two halves, y = a sigmoid(b),
    (..., 2n, ...) -> (..., n, ...). da = gy s, db = gy a s (1 - s)."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        a, b = xp.split(x, 2, axis=self.axis)
        s = _stable_sigmoid(b)
        if self.requires_grad:
            self.a, self.s = a, s
        return a * s

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        a, s = self.a, self.s
        gs = gy * s
        return xp.concatenate([gs, gs * a * (1 - s)], axis=self.axis)

    def composite(self, x):
        a, b = x.chunk(2, self.axis)
        return a * Sigmoid.apply(b)


class PReLU(Function):
    """x > 0 ? x : w x with a learnt slope w: one for all, or one per channel (axis 1; a 1-d input
    has one channel). x (N, C, *) and w (C,) or (1,) or (); dx = x > 0 ? gy : w gy,
    dw = sum of (x > 0 ? 0 : x gy) over all but the channel axis."""

    def forward(self, x, w):
        xp = backend.get_array_module(x)
        wb = self._broadcastable(w, x.ndim)
        pos = x > 0
        if self.requires_grad:
            self.x, self.w, self.pos = x, w, pos
        y = xp.asarray(wb * x)
        # the larger one for slopes in (0, 1], as LeakyReLU's (checked on the host only: no GPU sync)
        if xp is np and x.size and bool(((w > 0) & (w <= 1)).all()):
            return xp.maximum(x, y, out=y)
        return _select(pos, x, y)

    @staticmethod
    def _broadcastable(w: Any, ndim: int) -> Any:
        if w.size == 1:
            return w.reshape(())
        return w.reshape((-1,) + (1,) * (ndim - 2))  # (C, 1, ..., 1) against (N, C, ...)

    def backward(self, gy):
        x, w, pos = self.x, self.w, self.pos
        gx = _select(pos, gy, self._broadcastable(w, x.ndim) * gy) if self.needs_input_grad[0] else None
        gw = None
        if self.needs_input_grad[1]:
            gwx = _masked(x * gy, ~pos)  # 0 where x > 0, even where x * gy is inf or NaN
            if w.size == 1:
                gw = gwx.sum().reshape(w.shape)
            else:
                gw = gwx.sum(axis=tuple(i for i in range(x.ndim) if i != 1)).reshape(w.shape)
        return gx, gw

    def backward_graph(self, gy, x, w):
        pos = x.array > 0
        gx = gw = None
        if self.needs_input_grad[0]:
            wb = w.reshape(()) if w.numel() == 1 else w.reshape((-1,) + (1,) * (x.ndim - 2))
            gx = tie_if_constant(where(pos, gy, wb * gy), x)  # tied to x even with a constant slope
        if self.needs_input_grad[1]:
            gwx = where(pos, 0.0, x * gy)
            gw = gwx.sum() if w.numel() == 1 else gwx.sum(axis=tuple(i for i in range(x.ndim) if i != 1))
            gw = gw.reshape(w.shape)
        return gx, gw


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) (Phi: the standard normal CDF), or its tanh approximation with ``approximate='tanh'``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float_only(input, "gelu"), approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (swish); ``inplace=True`` overwrites input."""
    return _maybe_inplace(_float_only(input, "silu"), inplace, SiLU.apply, "silu")


def _elu(input: Tensor, inplace: bool, op: str, alpha: float, scale: float, input_scale: float) -> Tensor:
    fn = ELU.apply  # the coefficients as torch's kernel forms them
    return _maybe_inplace(
        _float_only(input, op),
        inplace,
        lambda t: fn(t, neg=alpha * scale, pos=scale, ipt=input_scale),
        op,
    )


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise; ``inplace=True`` overwrites input."""
    return _elu(input, inplace, "elu", float(alpha), 1.0, 1.0)


# torch's (and Klambauer et al.'s) constants
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with SELU's alpha ~ 1.6733 and scale ~ 1.0507."""
    return _elu(input, inplace, "selu", SELU_ALPHA, SELU_SCALE, 1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)); alpha must not be 0."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (it divides the input)")
    return _elu(input, inplace, "celu", float(alpha), 1.0, 1.0 / alpha)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)); ``inplace=True`` overwrites input."""
    return _maybe_inplace(_float_only(input, "mish"), inplace, Mish.apply, "mish")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6; ``inplace=True`` overwrites input."""
    return _maybe_inplace(_float_only(input, "hardswish"), inplace, Hardswish.apply, "hardswish")


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6; ``inplace=True`` overwrites input."""
    return _maybe_inplace(_float_only(input, "hardsigmoid"), inplace, Hardsigmoid.apply, "hardsigmoid")


def _int_bound(input: Tensor, v: float) -> Any:
    """A bound for an integer input: truncated to an integer, as torch converts the scalar."""
    return int(v) if input.dtype.kind in "iu" else v


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """clip(input, min_val, max_val); also on integer inputs (bounds truncated), as torch."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got {min_val} > {max_val}")
    _no_bool(input, "hardtanh")
    lo, hi = _int_bound(input, min_val), _int_bound(input, max_val)
    return _maybe_inplace(input, inplace, lambda t: Hardtanh.apply(t, lo=lo, hi=hi), "hardtanh")


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(input)), computed as -softplus(-input)."""
    return LogSigmoid.apply(_float_only(input, "logsigmoid"))


def softsign(input: Tensor) -> Tensor:
    """input / (1 + |input|); integer inputs give float32, as torch's."""
    if input.dtype.kind == "b":
        raise TypeError("softsign: expected a floating point or integer input, got dtype bool")
    return Softsign.apply(_as_float(input))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """input where input > threshold, else value; also on integer inputs (both truncated), as torch."""
    _no_bool(input, "threshold")
    th, v = _int_bound(input, threshold), _int_bound(input, value)
    return _maybe_inplace(input, inplace, lambda t: Threshold.apply(t, threshold=th, value=v), "threshold")


_threshold = threshold  # for threshold_, whose argument ``threshold`` (torch's name) hides the function


def softmin(input: Tensor, dim: Any = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-input) along ``dim``; ``dtype`` casts the input first, ``_stacklevel`` as softmax."""
    axis = _dim(input, dim, "softmin", _stacklevel)
    return Softmin.apply(_float_only(_cast(input, dtype), "softmin"), axis=axis)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the halves a, b of input along ``dim``; that dimension's size halves."""
    _float_only(input, "glu")
    if input.ndim == 0:
        raise ShapeError("glu: does not support scalars because halving size must be even")
    axis = wrap_dim(dim, input.ndim, "glu")
    if input.shape[axis] % 2:
        raise ShapeError(
            f"glu: halving dimension must be even, but dimension {axis} is size {input.shape[axis]} "
            f"(input shape {tuple(input.shape)})"
        )
    return GLU.apply(input, axis=axis)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input where input > 0, else weight * input; weight: one slope (numel 1, at most 1-d) or
    one per channel, shape (C,) for input (N, C, *)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, weight = autocast_state.lower(input, weight)
    _float_only(input, "prelu")
    if weight.dtype != input.dtype:
        raise DtypeError(f"prelu: type promoting not supported, got input {input.dtype} and weight {weight.dtype}")
    if weight.ndim > 1:
        raise ShapeError(f"prelu: expected weight to be a scalar or 1-d tensor, got shape {tuple(weight.shape)}")
    if weight.numel() != 1:
        if input.ndim == 0:
            raise ShapeError(f"prelu: a 0-d input takes a single slope, got weight of shape {tuple(weight.shape)}")
        channels = input.shape[1] if input.ndim > 1 else 1
        if weight.numel() != channels:
            raise ShapeError(
                f"prelu: weight has {weight.numel()} slopes but the input (shape {tuple(input.shape)}) "
                f"has {channels} channels"
            )
    return PReLU.apply(input, weight)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """torch.nn.functional.leaky_relu_: ``leaky_relu(input, negative_slope, inplace=True)``."""
    return leaky_relu(_float_only(input, "leaky_relu_"), negative_slope, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """torch.nn.functional.elu_: ``elu(input, alpha, inplace=True)``."""
    return elu(input, alpha, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """torch.nn.functional.celu_: ``celu(input, alpha, inplace=True)``."""
    return celu(input, alpha, inplace=True)


def selu_(input: Tensor) -> Tensor:
    """torch.nn.functional.selu_: ``selu(input, inplace=True)``."""
    return selu(input, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """torch.nn.functional.hardtanh_: ``hardtanh(input, min_val, max_val, inplace=True)``."""
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """torch.nn.functional.threshold_: ``threshold(input, threshold, value, inplace=True)``."""
    return _threshold(input, threshold, value, inplace=True)


class RReLU(Function):
    """Randomised leaky ReLU in training: y = x for x > 0, r x otherwise with one slope
    r ~ U(lower, upper) drawn per element; dy/dx = 1 or r (the drawn slopes, kept)."""

    graph_reads = ()  # its graph form reads the slopes drawn in forward, not x's values

    def forward(self, x):
        xp = backend.get_array_module(x)
        r = random.generator(xp).uniform(self.lower, self.upper, x.shape).astype(x.dtype, copy=False)
        slope = _select(x > 0, x.dtype.type(1), r)
        if self.requires_grad:
            self.slope = slope
        return x * slope

    def backward(self, gy):
        return gy * self.slope

    def backward_graph(self, gy, x):
        return tie(gy * Tensor(self.slope), x)


def rrelu(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False
) -> Tensor:
    """Randomised leaky ReLU (Xu et al. 2015): in training each negative element gets its own
    slope drawn from U(lower, upper); otherwise leaky_relu with the mean slope (lower+upper)/2.
    ``inplace=True`` overwrites input."""
    _float_only(input, "rrelu")
    if lower > upper:
        raise RuntimeError(f"rrelu: Lower bound should be less than or equal to the upper bound, got {lower} > {upper}")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    return _maybe_inplace(input, inplace, lambda t: RReLU.apply(t, lower=lower, upper=upper), "rrelu")


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """torch.nn.functional.rrelu_: ``rrelu(..., inplace=True)``."""
    return rrelu(input, lower, upper, training, inplace=True)


# -- shrinkage -------------------------------------------------------------------------------


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x); d/dx = tanh(x)^2."""
    return input - tanh(input)


class Shrink(Function):
    """hardshrink (``soft`` False): x where x > lambd or x < -lambd, else 0 (NaN stays NaN);
    softshrink: x - lambd above lambd, x + lambd below -lambd, else 0 (NaN stays NaN).
    d/dx is 0 on [-lambd, lambd] and 1 elsewhere, NaN included (torch's formula, and its GPU's;
    its vectorised CPU loop gives 0 at NaN). Under create_graph the gradient stays tied to x
    (:class:`ScaleWhere`), as torch's, so differentiating it again gives zeros."""

    graph_reads = ()  # its graph form reads the mask made in forward, not x's values

    def forward(self, x):
        xp = backend.get_array_module(x)
        lambd = x.dtype.type(self.lambd)
        if not self.soft:  # |x| <= lambd is x in [-lambd, lambd] (none for lambd < 0 or NaN; NaN passes)
            keep = ~(xp.abs(x) <= lambd)
            if self.requires_grad:
                self.mask = keep
            return _masked(x, keep)  # +0.0 in the band, as torch
        if lambd == 0:  # x, with -0.0 made +0.0, as torch's x - 0
            y = x + lambd
        else:  # x - lambd above, x + lambd below, x - x = +0.0 in the band (NaN stays NaN)
            y = x - xp.clip(x, -lambd, lambd)
        if self.requires_grad:
            self.mask = y != 0  # outside the band (x - lambd != 0 for x != lambd), and NaN
        return y

    def backward(self, gy):
        return _masked(gy, self.mask)

    def backward_graph(self, gy, x):
        return scale_where(gy, x, self.mask)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between (and at +-lambd): d/dx is 1
    outside [-lambd, lambd], 0 inside, as torch."""
    _float_only(input, "softshrink")
    lambd, top = float(lambd), float(np.finfo(input.dtype).max)
    if not 0.0 <= lambd <= top:  # (NaN fails too) torch's check; a negative lambd would shift x outward
        raise ValueError(
            f"softshrink: lambda must be in range [0, {top:g}] for input dtype {input.dtype}, but found {lambd}"
        )
    return Shrink.apply(input, lambd=lambd, soft=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0: d/dx is 1 where it passes, 0 elsewhere, as torch (which
    takes any lambd its input's dtype can hold, negative, inf and NaN included)."""
    _float_only(input, "hardshrink")
    lambd = float(lambd)
    if math.isfinite(lambd) and abs(lambd) > float(np.finfo(input.dtype).max):
        raise ValueError(f"hardshrink: lambd {lambd} cannot be converted to {input.dtype} without overflow")
    return Shrink.apply(input, lambd=lambd, soft=False)
