"""Window functions: torch.signal.windows' ``bartlett``, ``blackman``, ``cosine``, ``exponential``,
``gaussian``, ``general_cosine``, ``general_hamming``, ``hamming``, ``hann``, ``kaiser``, ``nuttall``
(``sym=True``: symmetric; ``sym=False``: periodic, for spectral analysis) and torch's top-level
``hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``, ``kaiser_window``
(``periodic=True`` is ``sym=False``).

Each is a 1-d tensor of M values (M = 0: empty, M = 1: ``[1.]`` except exponential/gaussian/cosine,
which follow their formulas), computed in float64 with the array module of ``device`` and rounded
once to ``dtype``: O(M) time and memory (O(M * len(a)) for general_cosine)."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import autograd, backend
from ..autograd import Tensor
from ..kernels.special import i0e

__all__ = [
    "bartlett",
    "blackman",
    "cosine",
    "exponential",
    "gaussian",
    "general_cosine",
    "general_hamming",
    "hamming",
    "hann",
    "kaiser",
    "nuttall",
]

_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)
_BLACKMAN = (0.42, 0.5, 0.08)


# --- array kernels: float64 arrays of M values (M >= 0) ---


def _cosine_sum(xp: Any, M: int, a: tuple[float, ...], sym: bool) -> Any:
    """sum_k (-1)^k a_k cos(2 pi k n / D), n = 0..M-1, D = M-1 (sym) or M: shape (M,), O(M len(a))."""
    if M <= 1:
        return xp.ones(M, dtype=np.float64)
    phase = xp.arange(M, dtype=np.float64) * (2.0 * math.pi / (M - 1 if sym else M))
    out = xp.zeros(M, dtype=np.float64)
    for k, coeff in enumerate(a):  # over the few coefficients, not over the samples
        out += (-1.0) ** k * coeff * xp.cos(k * phase)
    return out


def _bartlett(xp: Any, M: int, sym: bool) -> Any:
    """1 - |2n/D - 1|, D = M-1 (sym) or M: shape (M,), O(M)."""
    if M <= 1:
        return xp.ones(M, dtype=np.float64)
    return 1.0 - xp.abs(xp.arange(M, dtype=np.float64) * (2.0 / (M - 1 if sym else M)) - 1.0)


def _kaiser(xp: Any, M: int, beta: float, sym: bool) -> Any:
    """I0(beta sqrt(1 - t^2)) / I0(beta), t = 2n/D - 1 (D = M-1 or M), as a ratio of exponentially
    scaled I0e so a large beta does not overflow: shape (M,), O(M)."""
    if M <= 1:
        return xp.ones(M, dtype=np.float64)
    t = xp.clip(xp.arange(M, dtype=np.float64) * (2.0 / (M - 1 if sym else M)) - 1.0, -1.0, 1.0)
    x = beta * xp.sqrt(1.0 - t * t)
    return i0e(x) / i0e(xp.asarray(beta, dtype=np.float64)) * xp.exp(xp.abs(x) - abs(beta))


def _exponential(xp: Any, M: int, center: float, tau: float) -> Any:
    """exp(-|n - center| / tau): shape (M,), O(M)."""
    return xp.exp(-xp.abs(xp.arange(M, dtype=np.float64) - center) / tau)


def _gaussian(xp: Any, M: int, std: float, sym: bool) -> Any:
    """exp(-(n - c)^2 / (2 std^2)), c = D/2 with D = M-1 (sym or M = 1) or M: shape (M,), O(M)."""
    c = (M if not sym and M > 1 else M - 1) / 2.0
    k = (xp.arange(M, dtype=np.float64) - c) / (std * math.sqrt(2.0))
    return xp.exp(-(k * k))


def _cosine(xp: Any, M: int, sym: bool) -> Any:
    """sin(pi (n + 1/2) / D), D = M (sym or M = 1) or M + 1: shape (M,), O(M)."""
    return xp.sin((xp.arange(M, dtype=np.float64) + 0.5) * (math.pi / (M + 1 if not sym and M > 1 else max(M, 1))))


# --- argument checks and the tensor ---


def _length(name: str, M: Any, error: type[Exception], arg: str) -> int:
    """M as an int, or torch's exception for a negative one (TypeError for a non-integer)."""
    try:
        if isinstance(M, bool):
            raise TypeError
        n = operator.index(M)
    except TypeError:
        raise TypeError(f"{name}: {arg} must be an integer, got {type(M).__name__}") from None
    if n < 0:
        if arg == "M":
            raise error(f"{name} requires non-negative window length, got M={n}")
        raise error(f"{name} requires non-negative window_length, got window_length={n}")
    return n


def _signal_dtype(name: str, dtype: Any) -> np.dtype:
    """float32 / float64 (the default dtype when None), else ValueError as torch.signal.windows."""
    dt = autograd.default_dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dt}")
    return dt


def _window_dtype(name: str, dtype: Any) -> np.dtype:
    """Any floating dtype (the default dtype when None), else RuntimeError as torch.*_window."""
    dt = autograd.default_dtype(dtype)
    if dt.kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    return dt


def _make(kernel: Any, dtype: np.dtype, device: Any, requires_grad: bool) -> Tensor:
    """The tensor of ``kernel(xp)`` (a float64 array) rounded to ``dtype`` on ``device``."""
    device = backend.DEFAULT_DEVICE if device is None else device
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(kernel(xp).astype(dtype, copy=False), requires_grad=requires_grad)


# --- torch.signal.windows ---


def general_cosine(
    M: int,
    *,
    a: Iterable[float],
    sym: bool = True,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The generalised cosine window sum_k (-1)^k a_k cos(2 pi k n / D) (D = M-1 if ``sym`` else M)."""
    dt = _signal_dtype("general_cosine", dtype)
    M = _length("general_cosine", M, ValueError, "M")
    if M > 1:
        if not isinstance(a, Iterable):
            raise TypeError("general_cosine: coefficients a must be a list/tuple")
        a = tuple(float(c) for c in a)
        if not a:
            raise ValueError("general_cosine: coefficients a cannot be empty")
    return _make(lambda xp: _cosine_sum(xp, M, a, sym), dt, device, requires_grad)


def general_hamming(
    M: int,
    *,
    alpha: float = 0.54,
    sym: bool = True,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """alpha - (1 - alpha) cos(2 pi n / D) (D = M-1 if ``sym`` else M)."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Hamming window: general_hamming with alpha = 0.54."""
    return general_hamming(M, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Hann window: general_hamming with alpha = 0.5."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Blackman window: general_cosine with a = (0.42, 0.5, 0.08)."""
    _signal_dtype("blackman", dtype)
    _length("blackman", M, ValueError, "M")
    return general_cosine(M, a=_BLACKMAN, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The minimum 4-term Blackman-Harris window of Nuttall."""
    return general_cosine(M, a=_NUTTALL, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular, zero at both ends) window 1 - |2n/D - 1| (D = M-1 if ``sym`` else M)."""
    dt = _signal_dtype("bartlett", dtype)
    M = _length("bartlett", M, ValueError, "M")
    return _make(lambda xp: _bartlett(xp, M, sym), dt, device, requires_grad)


def kaiser(
    M: int,
    *,
    beta: float = 12.0,
    sym: bool = True,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Kaiser window I0(beta sqrt(1 - (2n/D - 1)^2)) / I0(beta) (D = M-1 if ``sym`` else M)."""
    dt = _signal_dtype("kaiser", dtype)
    M = _length("kaiser", M, ValueError, "M")
    if beta < 0:
        raise ValueError(f"kaiser: beta must be non-negative, got: {beta} instead.")
    return _make(lambda xp: _kaiser(xp, M, float(beta), sym), dt, device, requires_grad)


def exponential(
    M: int,
    *,
    center: float | None = None,
    tau: float = 1.0,
    sym: bool = True,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """exp(-|n - center| / tau); ``center`` defaults to the middle (D/2, D = M-1 if ``sym`` else M)
    and must be None for a symmetric window."""
    dt = _signal_dtype("exponential", dtype)
    M = _length("exponential", M, ValueError, "M")
    if tau <= 0:
        raise ValueError(f"exponential: tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("exponential: center must be None for symmetric windows")
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    return _make(lambda xp: _exponential(xp, M, float(center), float(tau)), dt, device, requires_grad)


def gaussian(
    M: int,
    *,
    std: float = 1.0,
    sym: bool = True,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """exp(-(n - D/2)^2 / (2 std^2)) (D = M-1 if ``sym`` else M)."""
    dt = _signal_dtype("gaussian", dtype)
    M = _length("gaussian", M, ValueError, "M")
    if std <= 0:
        raise ValueError(f"gaussian: standard deviation must be positive, got: {std} instead.")
    return _make(lambda xp: _gaussian(xp, M, float(std), sym), dt, device, requires_grad)


def cosine(M: int, *, sym: bool = True, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The cosine (sine) window sin(pi (n + 1/2) / D) (D = M if ``sym`` else M + 1)."""
    dt = _signal_dtype("cosine", dtype)
    M = _length("cosine", M, ValueError, "M")
    return _make(lambda xp: _cosine(xp, M, sym), dt, device, requires_grad)


# --- torch's top-level *_window (exported as mc.hann_window etc.) ---


def hann_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """The Hann window 0.5 - 0.5 cos(2 pi n / D) (D = N if ``periodic`` else N-1), as torch.hann_window."""
    dt = _window_dtype("hann_window", dtype)
    n = _length("hann_window", window_length, RuntimeError, "window_length")
    return _make(lambda xp: _cosine_sum(xp, n, (0.5, 0.5), not periodic), dt, device, requires_grad)


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """alpha - beta cos(2 pi n / D) (D = N if ``periodic`` else N-1), as torch.hamming_window."""
    dt = _window_dtype("hamming_window", dtype)
    n = _length("hamming_window", window_length, RuntimeError, "window_length")
    return _make(lambda xp: _cosine_sum(xp, n, (float(alpha), float(beta)), not periodic), dt, device, requires_grad)


def blackman_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """0.42 - 0.5 cos(2 pi n / D) + 0.08 cos(4 pi n / D) (D = N if ``periodic`` else N-1)."""
    dt = _window_dtype("blackman_window", dtype)
    n = _length("blackman_window", window_length, RuntimeError, "window_length")
    return _make(lambda xp: _cosine_sum(xp, n, _BLACKMAN, not periodic), dt, device, requires_grad)


def bartlett_window(
    window_length: int, periodic: bool = True, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """The triangular window 1 - |2n/D - 1| (D = N if ``periodic`` else N-1), as torch.bartlett_window."""
    dt = _window_dtype("bartlett_window", dtype)
    n = _length("bartlett_window", window_length, RuntimeError, "window_length")
    return _make(lambda xp: _bartlett(xp, n, not periodic), dt, device, requires_grad)


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """I0(beta sqrt(1 - (2n/D - 1)^2)) / I0(beta) (D = N if ``periodic`` else N-1), as torch.kaiser_window."""
    dt = _window_dtype("kaiser_window", dtype)
    n = _length("kaiser_window", window_length, RuntimeError, "window_length")
    return _make(lambda xp: _kaiser(xp, n, float(beta), not periodic), dt, device, requires_grad)
