"""Normalise groups of values, then a per-element affine map: layer, group and instance norm.

The three differ only in which values share a mean and a variance. x (any shape, contiguous)
is seen two ways, both plain reshapes:

* as ``(R, M)`` for the statistics: each of the R rows is normalised over its M values;
* as ``(A, P, B)`` for the affine map: element (a, p, b) is scaled by ``weight[p]`` and
  shifted by ``bias[p]`` (weight and bias have P values, or are None).

================  ==========================  ===================  ====================
x                 R, M                        A, P, B              weight, bias
================  ==========================  ===================  ====================
layer norm        R = prod(leading dims),     A = R, P = M, B = 1  normalized_shape
(*, D1..Dk)       M = D1*...*Dk                                    (flattened to P)
group norm        R = N*G, M = (C/G)*S        A = N, P = C, B = S  (C,)
(N, C, *), S      (G groups of C/G channels)
instance norm     R = N*C, M = S              A = N, P = C, B = S  (C,)
(N, C, *)
================  ==========================  ===================  ====================

(S = the product of the trailing dims ``*``, 1 if there are none.) Per row::

    mean = sum(x) / M        var = sum((x - mean)^2) / M        (biased, as torch)
    xhat = (x - mean) * inv_std,  inv_std = 1 / sqrt(var + eps)
    y = weight * xhat + bias

Backward (the batch-norm derivation, with the sums taken over a row instead of a channel).
With dxhat = g * weight::

    dx = inv_std * (dxhat - mean_row(dxhat) - xhat * mean_row(dxhat * xhat))
    dweight[p] = sum over a, b of g * xhat        dbias[p] = sum over a, b of g

Cost (E = elements of x): forward about 6 elementwise passes over E and two row reductions;
backward about 8 passes and four reductions (two per row, two per parameter). Extra memory:
xhat (E) is kept for backward, plus the (R,) vector inv_std.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module


def row_stats(x: Any, rows: tuple[int, int], eps: float) -> tuple[Any, Any, Any, Any]:
    """(xhat shaped like x, mean (R,), biased var (R,), inv_std (R,)) for x seen as rows (R, M).
    Empty rows (M = 0) get mean = var = 0, not NaN."""
    xp = get_array_module(x)
    R, M = rows
    x2 = x.reshape(R, M)
    mean = x2.sum(axis=1) / max(M, 1)
    xc = x2 - mean[:, None]
    var = (xc * xc).sum(axis=1) / max(M, 1)
    inv_std = 1.0 / xp.sqrt(var + eps)
    xc *= inv_std[:, None]
    return xc.reshape(x.shape), mean, var, inv_std


def affine(xhat: Any, weight: Any | None, bias: Any | None, layout: tuple[int, int, int]) -> Any:
    """y = weight[p] * xhat + bias[p] on xhat seen as (A, P, B), weight and bias (P,) or None; xhat
    itself (no copy) when both are None. Cost: one elementwise pass over xhat per parameter given."""
    if weight is None and bias is None:
        return xhat
    A, P, B = layout
    y = xhat.reshape(A, P, B)
    if weight is not None:
        y = y * weight.reshape(1, P, 1)
    if bias is not None:
        y = y + bias.reshape(1, P, 1)
    return y.reshape(xhat.shape)


def norm_forward(
    x: Any,
    rows: tuple[int, int],
    layout: tuple[int, int, int],
    weight: Any | None = None,
    bias: Any | None = None,
    eps: float = 1e-5,
) -> tuple[Any, Any, Any, Any, Any]:
    """(y, xhat, mean, var, inv_std): normalise each row of x (R, M), then the affine map; y and
    xhat shaped like x, the statistics (R,). Cost: about 6 elementwise passes over x and two row
    reductions; xhat is kept for backward."""
    xhat, mean, var, inv_std = row_stats(x, rows, eps)
    return affine(xhat, weight, bias, layout), xhat, mean, var, inv_std


def norm_backward(
    gy: Any,
    xhat: Any,
    inv_std: Any,
    weight: Any | None,
    rows: tuple[int, int],
    layout: tuple[int, int, int],
    need_x_grad: bool = True,
    need_param_grads: bool = True,
) -> tuple[Any, Any, Any]:
    """(dx, dweight, dbias), each None when not asked for; dx like x, dweight and dbias (P,).
    Cost: about 8 elementwise passes and four reductions (two per row, two per parameter)."""
    A, P, B = layout
    R, M = rows
    dx = dweight = dbias = None
    if need_param_grads:
        g3 = gy.reshape(A, P, B)
        dbias = g3.sum(axis=2).sum(axis=0)  # the contiguous axis first: faster and more accurate
        dweight = (g3 * xhat.reshape(A, P, B)).sum(axis=2).sum(axis=0)
    if need_x_grad:
        dxhat = gy if weight is None else (gy.reshape(A, P, B) * weight.reshape(1, P, 1)).reshape(gy.shape)
        d2, xh2 = dxhat.reshape(R, M), xhat.reshape(R, M)
        m = max(M, 1)
        dx = d2 - d2.sum(axis=1, keepdims=True) / m
        dx -= xh2 * ((d2 * xh2).sum(axis=1, keepdims=True) / m)
        dx *= inv_std[:, None]
        dx = dx.reshape(gy.shape)
    return dx, dweight, dbias


def update_running_stats(
    running_mean: Any, running_var: Any, mean: Any, var: Any, M: int, momentum: float, N: int
) -> None:
    """Instance norm's running statistics, in place, as torch: the (N*C,) per-instance mean and
    unbiased variance averaged over the batch, then the moving average with ``momentum``."""
    C = running_mean.shape[0]
    unbiased = var * (M / (M - 1))
    running_mean *= 1.0 - momentum
    running_mean += momentum * mean.reshape(N, C).mean(axis=0)
    running_var *= 1.0 - momentum
    running_var += momentum * unbiased.reshape(N, C).mean(axis=0)
