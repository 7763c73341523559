"""Local response normalisation (LRN) across channels, forward and closed-form backward.

Shapes: a (N, C, *) -> b (N, C, *), e.g. (N, C, H, W); the kernels view it as (N, C, M).
For every position, channel c is divided by a power of the energy of its n neighbouring
channels (torch's definition)::

    s_c = k + alpha/n * sum_{c' in window(c)} a_{c'}^2          window(c) = [c - n//2, c + (n-1)//2]
    b_c = a_c * s_c^(-beta)

Channels outside [0, C) count as zero (torch zero-pads n//2 channels before and (n-1)//2 after,
then averages n of them).

AlexNet (Krizhevsky et al., 2012, section 3.3) used n=5, k=2, alpha=1e-4, beta=0.75, with the
sum multiplied by alpha itself. PyTorch (and so minicnn) multiplies by alpha/n instead: to
reproduce the paper pass ``alpha=1e-4 * 5 = 5e-4``, i.e.
``local_response_norm(x, size=5, alpha=5e-4, beta=0.75, k=2.0)``.

The window sum is n shifted slices of a zero-padded channel axis added together (n-1 adds of
whole arrays), not a loop over channels. Backward (derivation in docs/kernels.md)::

    grad_a_j = g_j * s_j^(-beta) - (2*alpha*beta/n) * a_j * sum_{c : j in window(c)} g_c * b_c / s_c

The last sum is the adjoint window: c runs over [j - (n-1)//2, j + n//2], the window mirrored,
which is the same window when n is odd.

Cost (P = N*C*M elements): forward about n + 6 elementwise passes over P, backward about
n + 6. Extra memory: one padded (N, C + n - 1, M) buffer; s and s^(-beta) are kept for backward.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from . import cuda


def ncm_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(N, C, M) of the kernels' view of an (N, C, *) array, M the product of the trailing
    dims -- spelled out because a reshape cannot infer M (-1) when N or C is 0."""
    m = 1
    for d in shape[2:]:
        m *= int(d)
    return int(shape[0]), int(shape[1]), m


def _channel_padded(shape: tuple[int, int, int], before: int, after: int, xp: Any, dtype: Any) -> tuple[Any, Any]:
    """An (N, before + C + after, M) buffer with zeroed margins, and its (N, C, M) interior view."""
    N, C, M = shape
    buf = xp.empty((N, before + C + after, M), dtype=dtype)
    buf[:, :before] = 0
    buf[:, before + C :] = 0
    return buf, buf[:, before : before + C]


def _sliding_channel_sum(buf: Any, C: int, n: int) -> Any:
    """(N, C, M) with out[:, c] = buf[:, c] + buf[:, c+1] + ... + buf[:, c+n-1]."""
    xp = get_array_module(buf)
    out = buf[:, 0:C].copy() if n == 1 else xp.add(buf[:, 0:C], buf[:, 1 : C + 1])
    for o in range(2, n):
        out += buf[:, o : o + C]
    return out


def _negative_power(s: Any, beta: float) -> Any:
    """s ** -beta. For AlexNet's beta = 0.75, s^0.75 = sqrt(s) * sqrt(sqrt(s)): two square roots
    are several times cheaper than the exp/log behind a general power."""
    xp = get_array_module(s)
    if beta == 0.75:
        r = xp.sqrt(s)
        r *= xp.sqrt(r)
        return xp.reciprocal(r, out=r)
    return xp.power(s, -beta)


def lrn_forward(a: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> tuple[Any, Any, Any]:
    """b (shape of a), and the scale s and s^(-beta) (both (N, C, M)) that backward reuses.
    Cost: about n + 6 elementwise passes over N*C*M, one padded (N, C + n - 1, M) buffer."""
    if cuda.enabled_for(a):
        return cuda.lrn.lrn_forward(a, size, alpha, beta, k)
    xp = get_array_module(a)
    N, C, M = ncm_shape(a.shape)
    a3 = a.reshape(N, C, M)
    buf, inner = _channel_padded(a3.shape, size // 2, (size - 1) // 2, xp, a.dtype)
    xp.multiply(a3, a3, out=inner)
    s = _sliding_channel_sum(buf, C, size)  # sum of squares over each channel's window
    s *= alpha / size
    s += k
    s_pow = _negative_power(s, beta)
    return (a3 * s_pow).reshape(a.shape), s, s_pow


def lrn_backward(
    gb: Any, a: Any, b: Any, s: Any, s_pow: Any, size: int, alpha: float = 1e-4, beta: float = 0.75
) -> Any:
    """grad_a (shape of a) from grad_b, the input a, the output b, and s, s^(-beta) of forward.
    Cost: about n + 6 elementwise passes over N*C*M (the adjoint window sum, then the formula)."""
    if cuda.enabled_for(gb, a, b, s, s_pow):
        return cuda.lrn.lrn_backward(gb, a, b, s, s_pow, size, alpha, beta)
    xp = get_array_module(gb)
    shape3 = ncm_shape(a.shape)
    C = shape3[1]
    g3, a3, b3 = gb.reshape(shape3), a.reshape(shape3), b.reshape(shape3)
    # adjoint window: pad (n-1)//2 before and n//2 after, the mirror of the forward padding
    buf, inner = _channel_padded(a3.shape, (size - 1) // 2, size // 2, xp, gb.dtype)
    xp.multiply(g3, b3, out=inner)
    inner /= s  # g_c * b_c / s_c
    back = _sliding_channel_sum(buf, C, size)
    back *= a3
    back *= 2.0 * alpha * beta / size
    ga = g3 * s_pow
    ga -= back
    return ga.reshape(a.shape)
