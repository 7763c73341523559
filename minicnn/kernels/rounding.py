"""torch's rounding where it matters for bit-equal results: ``a * b + c`` rounded once.

torch's vectorised CPU kernels (AVX2/AVX-512 builds) compute some index arithmetic as fused
multiply-adds -- ``linspace``, the unnormalising of grid coordinates, the source index of
interpolate -- and a nearest-neighbour pick at an exact tie, or a weight that should be 0,
depends on that one rounding. NumPy has no fused multiply-add, so :func:`fma` builds it from
error-free transformations: float32 (and float16) through float64, where the product is exact;
float64 from Dekker's exact product and Knuth's exact sum, with the last addition rounded to
odd (Boldo and Melquiond) so that the result is correctly rounded.

Cost: a handful of elementwise passes per call; used on small host index arrays and on grid
coordinates (N*P values).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend


def _two_sum(x: Any, y: Any) -> tuple[Any, Any]:
    """(s, e) with s = x + y rounded and s + e == x + y exactly (Knuth)."""
    s = x + y
    virtual_y = s - x
    return s, (x - (s - virtual_y)) + (y - virtual_y)


def _two_product(a: Any, b: Any) -> tuple[Any, Any]:
    """(p, e) with p = a * b rounded and p + e == a * b exactly, float64 (Dekker: each factor
    split into two halves of 26 bits, whose products are exact)."""

    def split(x: Any) -> tuple[Any, Any]:
        t = x * 134217729.0  # 2**27 + 1
        high = t - (t - x)
        return high, x - high

    (ah, al), (bh, bl) = split(a), split(b)
    p = a * b
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _sum_rounded_to_odd(x: Any, y: Any) -> Any:
    """x + y (float64) rounded to odd: exact sums stay, the others take the neighbour whose last
    bit is 1. Added to a term whose last bit lies above the sum's (as in :func:`fma`), one more
    rounding gives the correctly rounded total: no double rounding (Boldo and Melquiond, 2008)."""
    xp = backend.get_array_module(x, y)
    s, e = _two_sum(x, y)
    bits = s.view(np.int64)  # a finite float's neighbours are its bit pattern +-1
    inexact_even = (e != 0) & ((bits & 1) == 0) & xp.isfinite(s)
    away_from_zero = (e > 0) == (s > 0)
    return (bits + xp.where(inexact_even, xp.where(away_from_zero, 1, -1), 0)).view(np.float64)


def fma(a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` rounded once -- a fused multiply-add, as torch's compiled kernels compute
    it -- for arrays (or scalars) of one float type, broadcast.

    float64: Dekker's exact product ``p + e``, ``c + p`` exactly as ``high + low``, then
    ``high + (low + e)`` with the inner sum rounded to odd: correctly rounded for any finite
    operands (where that is not finite -- an inf or NaN operand, factors above ~1e300 -- the
    plain ``a * b + c``). float16 and float32: in float64 and rounded to the type once, exact
    whenever ``a * b + c`` fits in float64's 53 bits, as it does for the uses here: ``a * b`` has
    at most 48, and ``c`` (+-1, -0.5) lies within 53 bits of it -- ``step * i`` of a linspace of
    fewer than 2**28 points, ``(g+1) * (size/2)`` of a grid coordinate (``g+1`` a multiple of
    2**-24) below 2**53 pixels."""
    xp = backend.get_array_module(a, b, c)
    dtype = xp.result_type(a, b, c)
    if dtype != np.float64:
        wide = [xp.asarray(v, dtype=np.float64) for v in (a, b, c)]
        return (wide[0] * wide[1] + wide[2]).astype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        p, e = _two_product(a, b)
        high, low = _two_sum(c, p)
        fused = high + _sum_rounded_to_odd(low, e)
        return xp.where(xp.isfinite(fused), fused, a * b + c)
