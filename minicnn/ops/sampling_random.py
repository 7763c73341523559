"""Random sampling: torch's ``normal``, ``bernoulli``, ``multinomial``, ``poisson`` and the
in-place samplers behind ``x.exponential_()``, ``x.geometric_()``, ``x.random_()``...

Every draw comes from ``generator=`` (a :class:`minicnn.random.Generator`: drawn on the host
from its stream, then copied to the input's device) or, when it is None, from the library
generator of the input's array module (``minicnn.random.generator(xp)``, on the device). The
distributions are built from the draws CuPy's generator also has (``random``,
``standard_normal``, ``standard_exponential``, ``geometric``, ``poisson``, ``integers``).

The results are not differentiable: they are new tensors that do not require grad (torch
records them with zero gradients, which carries no information either). Costs are O(numel)
draws, except :func:`multinomial`: O(rows * categories) keys (without replacement: one sort
per row; with replacement: one ``searchsorted`` over all rows).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import autograd, backend, random
from ..autograd import Tensor


def _drawn(generator: Any, xp: Any, what: str, draw: Any) -> Any:
    """``draw(rng)`` as an array of ``xp`` (see :func:`minicnn.random.host_rng`)."""
    rng, rxp = random.host_rng(generator, xp, what)
    a = draw(rng)
    return a if rxp is xp else xp.asarray(a)


def _float_tensor(x: Any, what: str) -> Tensor:
    t = x if isinstance(x, Tensor) else Tensor(x)
    if t.dtype.kind != "f":
        raise TypeError(f"{what}: expected a floating point tensor, got dtype {t.dtype}")
    return t


def normal(
    mean: Any,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Samples of N(mean, std**2), torch's four forms: ``normal(mean_tensor, std_tensor)``
    (broadcast together), ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)`` and
    ``normal(mean, std, size)`` with Python numbers (then ``dtype``/``device``/``requires_grad``
    apply, the dtype defaulting to ``mc.get_default_dtype()``). A tensor's dtype (floating
    point) and device decide the result's otherwise. RuntimeError for a negative std."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with a float mean and std, a size is needed: normal(mean, std, size)")
        from ..creation import _dtype, _shape  # noqa: PLC0415 - creation imports the ops

        if float(std) < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        xp = backend.xp_for_device(device)
        shape, dt = _shape((size,)), _dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"normal: needs a floating point dtype, got {dt}")
        with backend.device_scope(device):
            z = _drawn(generator, xp, "normal", lambda g: g.standard_normal(shape, dtype=np.float64))
            return Tensor((z * float(std) + float(mean)).astype(dt), requires_grad=requires_grad)
    if size is not None:
        raise TypeError("normal: size is only taken with a float mean and std")
    for t in tensors:
        _float_tensor(t, "normal")
    m = mean.array if isinstance(mean, Tensor) else mean
    s = std.array if isinstance(std, Tensor) else std
    like = tensors[0].array
    xp = backend.get_array_module(like)
    with backend.array_scope(like):
        if isinstance(std, Tensor):
            backend.raise_if(xp.any(s < 0), RuntimeError, "normal expects all elements of std >= 0.0")
        elif float(std) < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
        dt = tensors[0].dtype  # torch: mean's dtype when mean is a tensor, else std's
        z = _drawn(generator, xp, "normal", lambda g: g.standard_normal(shape, dtype=np.float64))
        return Tensor((m + s * z.astype(dt)).astype(dt, copy=False))


def bernoulli(input: Tensor, p: float | None = None, *, generator: Any = None) -> Tensor:  # noqa: A002
    """0/1 samples (``input``'s float dtype) with probability ``input`` elementwise, or ``p``
    for every element when given. RuntimeError for a probability outside [0, 1]."""
    x = _float_tensor(input, "bernoulli")
    xp = x.xp
    with backend.array_scope(x.array):
        if p is None:
            prob = x.array
            bad = xp.any((prob < 0) | (prob > 1) | xp.isnan(prob))
            backend.raise_if(bad, RuntimeError, "bernoulli: Expected p_in >= 0 && p_in <= 1 to be true, but got false")
        else:
            prob = _check_p(p, "bernoulli_")
        u = _drawn(generator, xp, "bernoulli", lambda g: g.random(x.shape, dtype=np.float64))
        return Tensor((u < prob).astype(x.dtype))


def _check_p(p: Any, what: str) -> Any:
    """A probability: a float in [0, 1] (RuntimeError otherwise, as torch), or a Tensor's array."""
    if isinstance(p, Tensor):
        xp = p.xp
        with backend.array_scope(p.array):
            bad = xp.any((p.array < 0) | (p.array > 1) | xp.isnan(p.array))
            backend.raise_if(bad, RuntimeError, f"{what}: Expected p_in >= 0 && p_in <= 1 to be true, but got false")
        return p.array
    if not 0 <= float(p) <= 1:
        raise RuntimeError(f"{what} expects p to be in [0, 1], but got p={p}")
    return float(p)


def multinomial(
    input: Tensor,  # noqa: A002
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Any = None,
) -> Tensor:
    """Category indices drawn from the rows of ``input``, non-negative weights of shape (C,)
    or (N, C) (normalised per row): int64 of shape (num_samples,) or (N, num_samples).

    With replacement: inverse-CDF, one ``searchsorted`` over all rows (each row's CDF offset by
    its row number). Without: the ``num_samples`` smallest keys log(E/w) (E ~ Exp(1); the
    exponential-race form of Gumbel-top-k), i.e. successive draws renormalised over the
    categories left; zero-weight categories come last, as torch's. torch's RuntimeErrors for
    a bad rank or dtype, num_samples <= 0 or > C without replacement, negative/inf/nan weights,
    and a row summing to 0.
    """
    if not isinstance(input, Tensor):
        input = Tensor(input)  # noqa: A001
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if input.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype}")
    k, c = int(num_samples), input.shape[-1]
    if k <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and k > c:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    xp = input.xp
    with backend.array_scope(input.array):
        w = input.array.reshape(-1, c).astype(np.float64)
        n = w.shape[0]
        if n == 0:
            return Tensor(xp.zeros(input.shape[:-1] + (k,), dtype=np.int64))
        backend.raise_if(
            xp.any(~xp.isfinite(w) | (w < 0)),
            RuntimeError,
            "probability tensor contains either `inf`, `nan` or element < 0",
        )
        peak = w.max(axis=1, keepdims=True)  # the weights are >= 0: a row sums to 0 iff its max is 0
        backend.raise_if(
            xp.any(peak <= 0), RuntimeError, "invalid multinomial distribution (sum of probabilities <= 0)"
        )
        if replacement:
            w = w / peak  # scaled to max 1: a row's sum cannot overflow (nor its weights be subnormal)
            total = w.sum(axis=1, keepdims=True)
            u = _drawn(generator, xp, "multinomial", lambda g: g.random((n, k), dtype=np.float64))
            rows = xp.arange(n, dtype=np.float64)[:, None]
            cdf = xp.cumsum(w, axis=1) / total
            idx = xp.searchsorted((cdf + rows).reshape(-1), (u + rows).reshape(-1), side="right").reshape(n, k)
            idx = idx - (rows * c).astype(idx.dtype)
            # u at or above a CDF that rounded below 1: the last category of positive weight
            last = c - 1 - xp.argmax(w[:, ::-1] > 0, axis=1)
            idx = xp.minimum(idx, last[:, None])
        else:
            e = _drawn(generator, xp, "multinomial", lambda g: g.standard_exponential((n, c), dtype=np.float64))
            # log(E / w): E / w overflows to inf for a subnormal weight, tying it with the zero weights
            keys = xp.where(w > 0, xp.log(e) - xp.log(xp.where(w > 0, w, 1.0)), xp.inf)
            idx = xp.argsort(keys, axis=1)[:, :k]
        return Tensor(idx.astype(np.int64).reshape(input.shape[:-1] + (k,)))


def poisson(input: Tensor, generator: Any = None) -> Tensor:  # noqa: A002
    """Poisson samples with rates ``input`` (non-negative, floating point), input's dtype."""
    x = _float_tensor(input, "poisson")
    xp = x.xp
    with backend.array_scope(x.array):
        backend.raise_if(
            xp.any(~(x.array >= 0)), RuntimeError, "invalid Poisson rate, expected rate to be non-negative"
        )
        lam = x.array.astype(np.float64)
        rng, rxp = random.host_rng(generator, xp, "poisson")
        k = rng.poisson(backend.to_numpy(lam) if rxp is np else lam)
        return Tensor(xp.asarray(k).astype(x.dtype))


# -- in-place samplers (Tensor.exponential_, ...) -----------------------------------------------
def fill_(t: Tensor, what: str, draw: Any, generator: Any, float_only: bool = True, post: Any = None) -> Tensor:
    """Write ``draw(rng)`` (an array of t's shape, of rng's array module; then ``post`` of it
    on t's device) into ``t`` in place, as nn.init does: refused for a tensor requiring grad
    while grad mode is on (torch's error)."""
    t = t._fillable(what)
    if float_only and t.dtype.kind != "f":
        raise TypeError(f"{what}: a continuous distribution needs a floating point tensor, got dtype {t.dtype}")
    autograd._check_writable(t.array, what)
    with backend.array_scope(t.array):
        a = _drawn(generator, t.xp, what, draw)
        t.array[...] = (a if post is None else post(a)).astype(t.dtype)
    t._version += 1
    return t


def _positive(value: float, name: str, what: str, label: str | None = None) -> float:
    if not float(value) > 0:
        raise RuntimeError(f"{what} expects {name} > 0.0, but found {label or name}={value}")
    return float(value)


def uniform_(t: Tensor, from_: float = 0.0, to: float = 1.0, generator: Any = None) -> Tensor:
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_} > to={to}")
    dt = np.float32 if t.dtype == np.float32 else np.float64
    return fill_(t, "uniform_", lambda g: g.random(t.shape, dtype=dt) * dt(to - from_) + dt(from_), generator)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    dt = np.float32 if t.dtype == np.float32 else np.float64
    return fill_(t, "normal_", lambda g: g.standard_normal(t.shape, dtype=dt) * dt(std) + dt(mean), generator)


def bernoulli_(t: Tensor, p: Any = 0.5, generator: Any = None) -> Tensor:
    prob = _check_p(p, "bernoulli_")
    return fill_(t, "bernoulli_", lambda g: g.random(t.shape), generator, False, post=lambda u: u < prob)


def exponential_(t: Tensor, lambd: float = 1.0, generator: Any = None) -> Tensor:
    rate = _positive(lambd, "lambda", "exponential_")
    return fill_(t, "exponential_", lambda g: g.standard_exponential(t.shape) / rate, generator)


def geometric_(t: Tensor, p: float, generator: Any = None) -> Tensor:
    """Trials until the first success: values 1, 2, ... with P(k) = (1-p)**(k-1) p."""
    if not 0 < float(p) < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    if t.dtype.kind == "b":
        raise TypeError("geometric_: not implemented for bool tensors (as torch)")
    return fill_(t, "geometric_", lambda g: g.geometric(float(p), t.shape), generator, float_only=False)


def log_normal_(t: Tensor, mean: float = 1.0, std: float = 2.0, generator: Any = None) -> Tensor:
    """exp(N(mean, std**2)): ``mean`` and ``std`` are those of the underlying normal."""
    s = _positive(std, "std", "log_normal_")
    return fill_(t, "log_normal_", lambda g: g.standard_normal(t.shape) * s + float(mean), generator, post=_exp)


def cauchy_(t: Tensor, median: float = 0.0, sigma: float = 1.0, generator: Any = None) -> Tensor:
    """median + sigma * tan(pi * (u - 1/2)), u ~ U[0, 1)."""
    s = _positive(sigma, "sigma", "cauchy_")

    def tan(u: Any) -> Any:
        return float(median) + s * backend.get_array_module(u).tan(math.pi * (u - 0.5))

    return fill_(t, "cauchy_", lambda g: g.random(t.shape), generator, post=tan)


def _exp(a: Any) -> Any:
    return backend.get_array_module(a).exp(a)


_UNSET = object()
_C_NAMES = {"uint8": "unsigned char", "int8": "signed char", "int16": "short", "int32": "int", "int64": "long"}


def random_bounds(dtype: np.dtype, from_: int, to: Any) -> tuple[int, int]:
    """[low, high) of ``x.random_(from_, to)`` for ``dtype``, as torch: ``to`` unset/None means
    the dtype's range (for floats the integers exactly representable, [0, 2**digits])."""
    if dtype.kind == "b":
        top = 1
    elif dtype.kind == "f":
        top = 2 ** (np.finfo(dtype).nmant + 1)
    else:
        top = int(np.iinfo(dtype).max)
    low, high = int(from_), top + 1 if to is None else int(to)
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dtype.kind in "iub":
        lo = 0 if dtype.kind == "b" else int(np.iinfo(dtype).min)
        name = _C_NAMES.get(dtype.name, dtype.name)  # torch names the C type
        if low < lo:
            raise RuntimeError(f"from is out of bounds for {name}")
        if high - 1 > top:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")
    return low, high


def random_(t: Tensor, from_: Any = _UNSET, to: Any = _UNSET, generator: Any = None) -> Tensor:
    """Integers uniform in [from, to - 1]; ``random_(to)`` means [0, to) (so ``random_(0)``
    is an empty range: RuntimeError, as torch); ``random_()`` or ``to=None`` the dtype's range
    (see :func:`random_bounds`)."""
    if to is _UNSET:
        from_, to = (0, None) if from_ is _UNSET else (0, from_)
    elif from_ is _UNSET:
        from_ = 0
    low, high = random_bounds(np.dtype(t.dtype), from_, to)
    return fill_(t, "random_", lambda g: g.integers(low, high, size=t.shape, dtype=np.int64), generator, False)
