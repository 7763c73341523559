"""Weight initialisation (``mc.nn.init``), PyTorch's formulas, drawing from the library RNG.

Each function fills a tensor in place and returns it. ``fan_in`` of a weight of shape
(out, in, *kernel) is ``in * prod(kernel)``; ``fan_out`` is ``out * prod(kernel)``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import backend, random
from ..autograd import Tensor, _check_inference_write


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """torch's recommended gain for a nonlinearity (``param``: leaky_relu's negative slope)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity in ("sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dimensions, got shape {tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor: Tensor, draw: Any) -> Tensor:
    """Write ``draw(generator)`` into the memory of ``tensor`` (same shape, dtype, device), in place
    like torch: views of it (``w.data``, ``w[0]``) see it, and its version counter tells
    a backward that kept the old values."""
    if tensor.dtype.kind != "f":
        raise TypeError(f"random initialisation needs a floating point tensor, got {tensor.dtype}")
    _check_inference_write(tensor)
    with backend.array_scope(tensor.array):  # draws and allocates on the tensor's GPU
        tensor.array[...] = tensor.xp.asarray(draw(random.generator(tensor.xp)), dtype=tensor.dtype)
    tensor._version += 1
    return tensor


def _draw_dtype(tensor: Tensor) -> Any:
    """Draw float32 tensors in float32 (half the time and memory of a float64 draw)."""
    return np.float32 if tensor.dtype == np.float32 else np.float64


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    dt = _draw_dtype(tensor)
    return _fill(tensor, lambda g: g.random(tensor.shape, dtype=dt) * dt(b - a) + dt(a))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    dt = _draw_dtype(tensor)
    return _fill(tensor, lambda g: g.standard_normal(tensor.shape, dtype=dt) * dt(std) + dt(mean))


def constant_(tensor: Tensor, val: float) -> Tensor:
    _check_inference_write(tensor)
    with backend.array_scope(tensor.array):  # written on the tensor's GPU
        tensor.array[...] = val
    tensor._version += 1
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan = _calculate_fan_in_and_fan_out(tensor)[0 if mode == "fan_in" else 1]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _empty_noop(tensor: Tensor) -> bool:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al. 2015)."""
    if _empty_noop(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if _empty_noop(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def orthogonal_(tensor: Tensor, gain: float = 1) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013), as torch: the tensor is seen as
    rows = shape[0] by cols = numel / rows; A ~ N(0, 1) of that shape (transposed when rows < cols)
    is factored A = QR and W = gain * Q * sign(diag(R)) (the sign fix makes Q Haar-uniform), transposed
    back. So W W^T = gain^2 I when rows <= cols, W^T W = gain^2 I otherwise. A zero-element tensor is
    left as it is."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    dt, xp = _draw_dtype(tensor), tensor.xp

    def draw(g: Any) -> Any:
        a = g.standard_normal((rows, cols), dtype=dt)
        if rows < cols:
            a = a.T
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(xp.diagonal(r))
        if rows < cols:
            q = q.T
        return (q * dt(gain)).reshape(tensor.shape)

    return _fill(tensor, draw)


def eye_(tensor: Tensor) -> Tensor:
    """The identity of a 2-D tensor: W[i, j] = 1 if i == j else 0 (also when it is not square)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    _check_inference_write(tensor)
    with backend.array_scope(tensor.array):
        tensor.array[...] = tensor.xp.eye(*tensor.shape, dtype=tensor.dtype)
    tensor._version += 1
    return tensor


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The Dirac delta of a 3-, 4- or 5-D convolution weight (out, in, *kernel), as torch: zeros but
    W[g * out_g + d, d, *centre] = 1 for each group g < groups and d < min(out_g, in), where
    out_g = out / groups and centre = kernel // 2, so the convolution copies its inputs, group by group."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    out = tensor.shape[0]
    if out % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_g = out // groups
    _check_inference_write(tensor)
    xp = tensor.xp
    with backend.array_scope(tensor.array):
        tensor.array[...] = 0
        d = xp.arange(max(min(out_g, tensor.shape[1]), 0))
        g = xp.arange(max(groups, 0))
        rows, cols = (g[:, None] * out_g + d).ravel(), xp.tile(d, g.size)
        tensor.array[(rows, cols) + tuple(k // 2 for k in tensor.shape[2:])] = 1
    tensor._version += 1
    return tensor


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01) -> Tensor:
    """A sparse 2-D matrix (Martens 2010), as torch: W ~ N(0, std^2), then in each column the rows
    perm[:ceil(sparsity * rows)] of a fresh random permutation of the rows are zeroed. The
    permutations are argsorts of uniform draws (CuPy's generator has no ``permutation``)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    dt, xp = _draw_dtype(tensor), tensor.xp

    def draw(g: Any) -> Any:
        w = g.standard_normal((rows, cols), dtype=dt) * dt(std)
        perms = xp.argsort(g.random((rows, cols)), axis=0)  # column j: a random permutation of the rows
        w[perms[:num_zeros], xp.arange(cols)] = 0
        return w

    return _fill(tensor, draw)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """N(mean, std^2) restricted to [a, b] (absolute bounds, as in torch), by rejection
    sampling of the standard normal restricted to [lo, hi] = [(a-mean)/std, (b-mean)/std]."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    lo, hi = (a - mean) / std, (b - mean) / std
    return _fill(tensor, lambda g: mean + std * truncated_standard_normal(g, tensor.shape, lo, hi, tensor.xp))


def _phi_between(lo: float, hi: float) -> float:
    """P(lo <= Z <= hi) for a standard normal Z, accurate in either tail."""
    if lo >= 0:
        return 0.5 * (math.erfc(lo / math.sqrt(2)) - math.erfc(hi / math.sqrt(2)))
    if hi <= 0:
        return _phi_between(-hi, -lo)
    return 0.5 * (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2)))


def truncated_standard_normal(g: Any, shape: tuple[int, ...], lo: float, hi: float, xp: Any = np) -> Any:
    """Samples of N(0, 1) restricted to [lo, hi], shape ``shape``, from generator ``g`` of array
    module ``xp`` (NumPy's or CuPy's: only ``random`` and ``standard_normal`` are used).

    Rejection sampling with the proposal that accepts most often (Robert 1995): the normal
    itself (accepts P(lo <= Z <= hi); the default [-2, 2] keeps 95 %); a uniform on [lo, hi]
    accepted with probability exp((m^2 - z^2)/2), m the point of [lo, hi] nearest 0 (narrow
    windows); or, in a tail, lo + an exponential of rate lam = (lo + sqrt(lo^2 + 4))/2 accepted
    with exp(-(z - lam)^2 / 2). Each round draws about n / acceptance candidates at once; the
    expected number of rounds is small (a window 6 standard deviations out takes ~2)."""
    n = int(np.prod(shape))
    flip = hi <= 0  # a left tail: sample the right one and negate
    if flip:
        lo, hi = -hi, -lo
    nearest = 0.0 if lo < 0 < hi else lo
    lam = (lo + math.sqrt(lo * lo + 4)) / 2
    if lo < 8:
        mass = _phi_between(lo, hi)
        accept = {
            "normal": mass,
            "uniform": math.sqrt(2 * math.pi) * math.exp(nearest * nearest / 2) * mass / (hi - lo),
            "exponential": lam * math.sqrt(2 * math.pi) * math.exp(lam * lo - lam * lam / 2) * mass if lo >= 0 else 0,
        }
    else:  # far out (the mass underflows): the exponential accepts > 60 % of a window wider than 1/lo,
        accept = {"uniform": 0.3, "exponential": 0.6 if hi - lo > 1 / lo else 0.0}  # the uniform > 30 % otherwise
    proposal = max(accept, key=accept.get)
    if n == 0:  # an empty tensor (e.g. Linear(4, 0)): nothing to draw
        return xp.zeros(shape)
    parts, have = [], 0
    while have < n:
        m = int((n - have) / max(accept[proposal], 1e-3) * 1.1) + 16
        if proposal == "normal":
            z = g.standard_normal(m)
            keep = (z >= lo) & (z <= hi)
        elif proposal == "uniform":
            z = lo + (hi - lo) * g.random(m)
            keep = g.random(m) < xp.exp((nearest * nearest - z * z) / 2)
        else:
            z = lo - xp.log1p(-g.random(m)) / lam
            keep = (z <= hi) & (g.random(m) < xp.exp(-((z - lam) ** 2) / 2))
        z = z[keep]
        parts.append(z)
        have += int(z.size)
    out = xp.concatenate(parts)[:n].reshape(shape)
    return -out if flip else out


def _deprecated(meth: Any) -> Any:
    """torch's deprecated non-underscore alias of the initialiser ``meth``: a FutureWarning, then ``meth``."""
    old_name, new_name = meth.__name__[:-1], meth.__name__

    def deprecated_init(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning, stacklevel=2
        )
        return meth(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"""
    {old_name}(...)

    Deprecated (a FutureWarning, as torch) in favor of :func:`{new_name}`, which it calls."""
    return deprecated_init


# torch's deprecated spellings
normal = _deprecated(normal_)
uniform = _deprecated(uniform_)
constant = _deprecated(constant_)
xavier_normal = _deprecated(xavier_normal_)
xavier_uniform = _deprecated(xavier_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
orthogonal = _deprecated(orthogonal_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
