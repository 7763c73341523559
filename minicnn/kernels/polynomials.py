"""The classical orthogonal polynomials of torch.special, elementwise in x with a per-element
degree n (broadcast): Chebyshev T, U, V, W and their shifted forms (x -> 2x - 1), probabilists'
and physicists' Hermite He, H, Laguerre L and Legendre P.

Each is its three-term recurrence p_(k+1) = a_k(x) p_k - b_k p_(k-1), vectorised over the
elements: one loop over the degree k = 1 .. max(n) - 1 (a loop over degree, not over elements),
every element stepping until its own n (``where(k < n, next, current)``; no ``where`` when n is one
value for all); cost ~5 passes per degree on the elements that step (for Chebyshev only those
neither at the ends nor in the trigonometric branch below: a huge n at |x| < 1 costs nothing),
stopping early once all of them have overflowed to NaN (checked every 64 degrees). Hermite,
Laguerre and Legendre have no closed form in torch either: n = 1e6 with finite values costs 1e6
passes (torch: n steps per element). Computed in float64 (or the input's float dtype: float32
stays float32, as torch's), shape = broadcast(x, n).

torch's special cases, kept here: n < 0 gives 0; n is truncated to an integer; at |x| = 1 (or x in
{0, 1} for the shifted forms) the closed values (+-1, +-(n + 1), +-(2n + 1)); for |x| < 1 and n
above a threshold (T: n > 6; U, V, W: n > 8; shifted T, U, V: n > 6, shifted W: n > 4) the
trigonometric forms cos(n theta), sin((n + 1) theta) / sin(theta), cos((n + 1/2) theta) /
cos(theta / 2), sin((n + 1/2) theta) / sin(theta / 2) with theta = acos(x) (exact at any degree,
where the recurrence gathers rounding). Laguerre L_n(0) = 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module, to_numpy

# (kind -> trig-branch threshold on n, for |x| < 1): torch's
_TRIG = {"t": 6, "u": 8, "v": 8, "w": 8}
_SHIFTED_TRIG = {"t": 6, "u": 6, "v": 6, "w": 4}


def _broadcast(x: Any, n: Any) -> tuple[Any, Any, Any]:
    xp = get_array_module(x, n)
    x, n = xp.broadcast_arrays(xp.asarray(x), xp.asarray(n))
    if n.dtype.kind == "f":  # truncated, as torch's cast; NaN, +-inf and |n| >= 2^63 as n < 0 (x86: INT64_MIN)
        n = xp.where(xp.isfinite(n) & (xp.abs(n) < 2.0**63), xp.clip(xp.trunc(n), -1.0, float(2**62)), -1.0)
    return xp, x.copy(), n.astype(np.int64)


def _max_degree(n: Any) -> int:
    return int(to_numpy(n.max())) if n.size else 0


def _recurrence(xp: Any, x: Any, n: Any, p1: Any, step: Any) -> Any:
    """p_n(x) elementwise from p_0 = 1, p_1 = ``p1`` and p_(k+1) = step(k, p_k, p_(k-1)), each
    element stopping at its own n (0 for n < 0). One degree for all (a scalar n): no ``where``s,
    ~5 passes a step instead of ~8."""
    p = xp.ones_like(x)
    q = p1
    uniform = n.size > 0 and bool((n == n.reshape(-1)[0]).all())
    with np.errstate(over="ignore", invalid="ignore"):  # (overflow to inf, then NaN, as torch's)
        for k in range(1, _max_degree(n)):
            r = step(k, q, p)
            if uniform:  # (every element steps to the same n)
                p, q = q, r
            else:
                live = k < n
                p = xp.where(live, q, p)
                q = xp.where(live, r, q)
            if k % 64 == 0 and not ((k < n) & ~(xp.isnan(p) & xp.isnan(q))).any():
                break  # every stepping element is NaN in p and q (overflowed: inf - inf): it stays NaN
    out = xp.where(n == 0, 1.0, q)
    return xp.where(n < 0, 0.0, out).astype(x.dtype, copy=False)


def _chebyshev_trig(xp: Any, y: Any, n: Any, kind: str) -> Any:
    """The trigonometric forms for |y| < 1 (theta = acos y): exact at any degree."""
    theta = xp.arccos(y)
    nf = n.astype(y.dtype)
    if kind == "t":
        return xp.cos(nf * theta)
    if kind == "u":
        s = xp.sin(theta)
        with np.errstate(all="ignore"):
            return xp.where(s != 0, xp.sin((nf + 1) * theta) / s, (nf + 1) * xp.cos((nf + 1) * theta) / y)
    if kind == "v":
        return xp.cos((nf + 0.5) * theta) / xp.cos(theta / 2)
    return xp.sin((nf + 0.5) * theta) / xp.sin(theta / 2)


def _chebyshev(x: Any, n: Any, kind: str, shifted: bool) -> Any:
    xp, x, n = _broadcast(x, n)
    y = 2 * x - 1 if shifted else x  # (the shifted polynomials: the same recurrence in 2x - 1)
    threshold = (_SHIFTED_TRIG if shifted else _TRIG)[kind]
    trig = (n > threshold) & (xp.abs(y) < 1)
    out = xp.empty_like(y)
    # the recurrence only where neither the trigonometric form nor the ends apply: its max(n)
    # passes cost nothing for |y| < 1 however large n is (|y| > 1 or NaN still loops, as torch's)
    idx = xp.flatnonzero((~trig & (xp.abs(y) != 1)).reshape(-1))
    if idx.size:
        yr, nr = y.reshape(-1)[idx], n.reshape(-1)[idx]
        first = {"t": yr, "u": 2 * yr, "v": 2 * yr - 1, "w": 2 * yr + 1}[kind]
        out.reshape(-1)[idx] = _recurrence(xp, yr, nr, first, lambda k, q, p: 2 * yr * q - p)
    idx = xp.flatnonzero(trig.reshape(-1))
    if idx.size:
        out.reshape(-1)[idx] = _chebyshev_trig(xp, y.reshape(-1)[idx], n.reshape(-1)[idx], kind)
    # the ends: y = 1 and y = -1 (x = 1, x = 0 for the shifted forms)
    odd = (n % 2) == 1
    plus = {"t": 1.0, "u": n + 1, "v": 1.0, "w": 2 * n + 1}[kind]
    minus = {"t": 1.0, "u": n + 1, "v": 2 * n + 1, "w": 1.0}[kind]
    minus = xp.where(odd, -xp.asarray(minus, dtype=x.dtype), xp.asarray(minus, dtype=x.dtype))
    out = xp.where(y == 1, xp.asarray(plus, dtype=x.dtype), xp.where(y == -1, minus, out))
    return xp.where(n < 0, 0.0, out).astype(x.dtype, copy=False)


def chebyshev_t(x: Any, n: Any) -> Any:
    """Chebyshev polynomials of the first kind, T_n(x), elementwise (x and n broadcast together)."""
    return _chebyshev(x, n, "t", False)


def chebyshev_u(x: Any, n: Any) -> Any:
    """Chebyshev polynomials of the second kind, U_n(x), elementwise (x and n broadcast together)."""
    return _chebyshev(x, n, "u", False)


def chebyshev_v(x: Any, n: Any) -> Any:
    """Chebyshev polynomials of the third kind, V_n(x), elementwise (x and n broadcast together)."""
    return _chebyshev(x, n, "v", False)


def chebyshev_w(x: Any, n: Any) -> Any:
    """Chebyshev polynomials of the fourth kind, W_n(x), elementwise (x and n broadcast together)."""
    return _chebyshev(x, n, "w", False)


def shifted_chebyshev_t(x: Any, n: Any) -> Any:
    """T_n(2x - 1), the shifted form, elementwise (x and n broadcast together)."""
    return _chebyshev(x, n, "t", True)


def shifted_chebyshev_u(x: Any, n: Any) -> Any:
    """U_n(2x - 1), the shifted form, elementwise (x and n broadcast together)."""
    return _chebyshev(x, n, "u", True)


def shifted_chebyshev_v(x: Any, n: Any) -> Any:
    """V_n(2x - 1), the shifted form, elementwise (x and n broadcast together)."""
    return _chebyshev(x, n, "v", True)


def shifted_chebyshev_w(x: Any, n: Any) -> Any:
    """W_n(2x - 1), the shifted form, elementwise (x and n broadcast together)."""
    return _chebyshev(x, n, "w", True)


def hermite_h(x: Any, n: Any) -> Any:
    """Physicists' Hermite polynomials: H_(k+1) = 2x H_k - 2k H_(k-1)."""
    xp, x, n = _broadcast(x, n)
    return _recurrence(xp, x, n, 2 * x, lambda k, q, p: 2 * x * q - 2 * k * p)


def hermite_he(x: Any, n: Any) -> Any:
    """Probabilists' Hermite polynomials: He_(k+1) = x He_k - k He_(k-1)."""
    xp, x, n = _broadcast(x, n)
    return _recurrence(xp, x, n, x.copy(), lambda k, q, p: x * q - k * p)


def laguerre_l(x: Any, n: Any) -> Any:
    """Laguerre polynomials: (k + 1) L_(k+1) = (2k + 1 - x) L_k - k L_(k-1); L_n(0) = 1."""
    xp, x, n = _broadcast(x, n)
    out = _recurrence(xp, x, n, 1 - x, lambda k, q, p: ((2 * k + 1 - x) * q - k * p) / (k + 1))
    return xp.where((x == 0) & (n >= 0), 1.0, out).astype(x.dtype, copy=False)


def legendre_p(x: Any, n: Any) -> Any:
    """Legendre polynomials: (k + 1) P_(k+1) = (2k + 1) x P_k - k P_(k-1); P_n(+-1) = (+-1)^n."""
    xp, x, n = _broadcast(x, n)
    out = _recurrence(xp, x, n, x.copy(), lambda k, q, p: ((2 * k + 1) * x * q - k * p) / (k + 1))
    ends = xp.where((x == -1) & (n % 2 == 1), -1.0, 1.0)
    return xp.where((xp.abs(x) == 1) & (n >= 0), ends, out).astype(x.dtype, copy=False)
