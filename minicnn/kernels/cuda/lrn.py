"""CUDA local response normalisation across channels, twin of :func:`minicnn.kernels.lrn.lrn_forward`
and :func:`~minicnn.kernels.lrn.lrn_backward`.

Shapes: a (N, C, *) viewed as (N, C, M), M the product of the trailing dims; b like a;
s and s_pow = s^(-beta) (N, C, M), kept for backward. With n = ``size``::

    s_c  = k + alpha/n * sum_{c' = c - n//2}^{c + (n-1)//2} a_{c'}^2        (channels outside [0, C) are 0)
    b_c  = a_c * s_c^(-beta)
    ga_c = g_c * s_c^(-beta) - (2*alpha*beta/n) * a_c * sum_{c' = c - (n-1)//2}^{c + n//2} g_{c'} * b_{c'} / s_{c'}

Thread mapping: one thread per element (n, c, m), forward and backward alike. A thread
walks its channel window (stride M in memory) and writes its own outputs; neighbouring
threads hold neighbouring m, so every load of the window walk is coalesced. Each thread
recomputes the n-term window sum of its neighbours' values instead of sharing partial sums
(n is 5 in AlexNet: cheaper than a shared-memory scan, and no synchronisation).

Why no atomics: every output is a gather over a fixed window and is written by its own
thread. The float operations are those of the array code in the same order (sum from the
lowest channel up, then scale, add k; beta = 0.75 through two square roots), so the CPU
run of this source matches the twin to the last bit or nearly.

Cost (P = N*C*M elements): forward reads n values and writes 3 per element; backward reads
3n + 3 and writes 1 per element. No extra memory besides the outputs.
"""

from __future__ import annotations

from typing import Any

from ... import backend
from ..lrn import ncm_shape
from .launch import Kernel, check_float_dtype

SOURCE = r"""
// one thread per element (n, c, m): sum of squares over its channel window, then the scale
extern "C" __global__ void lrn_forward_kernel(
    const T* __restrict__ a, T* __restrict__ b, T* __restrict__ s, T* __restrict__ s_pow,
    IDX C, IDX M, IDX before, IDX after,
    T alpha_over_size, T k, T beta, IDX beta_is_three_quarters, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX c = (idx / M) % C;
        const IDX lo = c - before > 0 ? c - before : 0;
        const IDX hi = c + after < C - 1 ? c + after : C - 1;
        const T* column = a + idx - c * M;              // channel 0 at this (n, m)
        T sum = 0;
        for (IDX cc = lo; cc <= hi; ++cc) {
            const T v = column[cc * M];
            sum += v * v;
        }
        const T scale = sum * alpha_over_size + k;
        T p;
        if (beta_is_three_quarters) {                   // s^-0.75 = 1 / (sqrt(s) * sqrt(sqrt(s)))
            const T r = sqrt(scale);
            p = (T)1 / (r * sqrt(r));
        } else {
            p = pow(scale, -beta);
        }
        s[idx] = scale;
        s_pow[idx] = p;
        b[idx] = a[idx] * p;
    }
}

// one thread per element (n, c, m): the adjoint window sum of g * b / s, then the gradient
extern "C" __global__ void lrn_backward_kernel(
    const T* __restrict__ g, const T* __restrict__ a, const T* __restrict__ b,
    const T* __restrict__ s, const T* __restrict__ s_pow, T* __restrict__ ga,
    IDX C, IDX M, IDX before, IDX after, T coef, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        const IDX c = (idx / M) % C;
        const IDX lo = c - before > 0 ? c - before : 0;
        const IDX hi = c + after < C - 1 ? c + after : C - 1;
        const IDX base = idx - c * M;             // channel 0 at this (n, m)
        T sum = 0;
        for (IDX cc = lo; cc <= hi; ++cc) {
            const IDX o = base + cc * M;
            sum += g[o] * b[o] / s[o];
        }
        T back = sum * a[idx];
        back = back * coef;
        ga[idx] = g[idx] * s_pow[idx] - back;
    }
}
"""

KERNEL = Kernel(SOURCE)


def lrn_forward(a: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> tuple[Any, Any, Any]:
    """b (shape of a), and s and s^(-beta), both (N, C, M). One launch, one thread per element:
    n reads, 3 writes."""
    xp = backend.get_array_module(a)
    dtype = check_float_dtype("local_response_norm", a)
    C = a.shape[1]
    a3 = xp.ascontiguousarray(a).reshape(ncm_shape(a.shape))  # (N, C, M), spelled out: N or C may be 0
    b, s, s_pow = (xp.empty(a3.shape, dtype=dtype) for _ in range(3))
    KERNEL.run(
        "lrn_forward_kernel",
        a3.size,
        a3,
        b,
        s,
        s_pow,
        C,
        a3.shape[2],
        size // 2,
        (size - 1) // 2,
        alpha / size,
        k,
        beta,
        int(beta == 0.75),
        a3.size,
    )
    return b.reshape(a.shape), s, s_pow


def lrn_backward(
    gb: Any, a: Any, b: Any, s: Any, s_pow: Any, size: int, alpha: float = 1e-4, beta: float = 0.75
) -> Any:
    """grad_a (shape of a) from grad_b, a, b, and s, s^(-beta) of the forward pass. One launch,
    one thread per element: 3n + 3 reads, 1 write."""
    xp = backend.get_array_module(gb)
    check_float_dtype("local_response_norm backward", gb, a, b, s, s_pow)
    shape3 = ncm_shape(a.shape)  # (N, C, M), spelled out: N or C may be 0
    C = shape3[1]
    g3, a3, b3, s3, p3 = (xp.ascontiguousarray(v).reshape(shape3) for v in (gb, a, b, s, s_pow))
    ga = xp.empty(a3.shape, dtype=a3.dtype)
    KERNEL.run(
        "lrn_backward_kernel",
        ga.size,
        g3,
        a3,
        b3,
        s3,
        p3,
        ga,
        C,
        a3.shape[2],
        (size - 1) // 2,
        size // 2,
        2.0 * alpha * beta / size,
        ga.size,
    )
    return ga.reshape(a.shape)
