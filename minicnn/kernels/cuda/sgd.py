"""CUDA SGD step (all of it in one pass), twin of :func:`minicnn.optim.sgd.sgd_step`.

Shapes: param, grad and the momentum buffer all have the parameter's shape; the update is
elementwise. The array code takes up to seven passes per parameter (negate, weight decay,
scale the buffer, add to it, Nesterov, scale by lr, subtract), each a separate kernel launch
on a GPU: for a small network like LeNet-5 the launches, not the arithmetic, are the cost of
the optimiser step. This kernel does the same arithmetic, in the same order, per element:

    d = maximize ? -g : g
    d = d + weight_decay * p                      if weight_decay != 0
    b = first ? d : momentum * b + (1 - dampening) * d    if momentum != 0 (b is kept)
    d = nesterov ? d + momentum * b : b           if momentum != 0
    p = p - lr * d

``1 - dampening`` is rounded to the parameter's dtype on the host, as NumPy rounds the Python
float it multiplies a float32 array with. On a GPU the compiler may fuse a multiply and an
add into one FMA (one rounding instead of two), so results agree with the array code to
float tolerance, not bit for bit.

Thread mapping: one thread per element (grid-stride loop); each thread reads and writes only
its own element of p and b.

Cost: per element one read of g, a read and write of p, and (with momentum) of b.
"""

from __future__ import annotations

from typing import Any

from ... import backend
from .launch import Kernel, check_float_dtype

SOURCE = r"""
// one thread per element: the whole SGD step (weight decay, momentum, Nesterov, lr) in one pass
extern "C" __global__ void sgd_step_kernel(
    T* __restrict__ p, const T* __restrict__ g, T* __restrict__ buf,
    T lr, T momentum, T one_minus_dampening, T weight_decay,
    IDX nesterov, IDX maximize, IDX first, IDX total)
{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {
        T d = maximize ? -g[idx] : g[idx];
        if (weight_decay != (T)0) d = d + weight_decay * p[idx];
        if (momentum != (T)0) {
            const T b = first ? d : momentum * buf[idx] + one_minus_dampening * d;
            buf[idx] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[idx] = p[idx] - lr * d;
    }
}
"""

KERNEL = Kernel(SOURCE)


def sgd_step(
    param: Any,
    grad: Any,
    buf: Any,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
) -> Any:
    """Update ``param`` in place; the momentum buffer (updated, new at the first step, or None)."""
    xp = backend.get_array_module(param)
    dtype = check_float_dtype("sgd", param, grad, buf)
    if not param.flags.c_contiguous:
        raise ValueError("sgd (CUDA kernel): the parameter must be C-contiguous (it is updated in place)")
    first = momentum != 0 and buf is None
    if momentum != 0 and buf is None:
        buf = xp.empty(param.shape, dtype=dtype)
    scratch = buf if buf is not None else xp.empty(1, dtype=dtype)  # never touched without momentum
    one_minus_dampening = dtype.type(1 - dampening)
    KERNEL.run(
        "sgd_step_kernel",
        param.size,
        param,
        xp.ascontiguousarray(grad),
        scratch,
        lr,
        momentum,
        one_minus_dampening,
        weight_decay,
        int(nesterov),
        int(maximize),
        int(first),
        param.size,
    )
    return buf if momentum != 0 else None
