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

Thread mapping: one launch updates up to ``SLOTS`` tensors (:func:`sgd_step_many`: the
optimiser hands it all GPU parameters of a group, so LeNet-5's ten take two launches instead of
ten, torch's "foreach" SGD does the same); one thread per element of the tensors laid end to
end (grid-stride loop); each thread reads and writes only its own element of p and b.

Cost: per element one read of g, a read and write of p, and (with momentum) of b.
"""

from __future__ import annotations

from typing import Any

from ... import backend
from .launch import Kernel, check_float_dtype

SLOTS = 8
"""Tensors per launch: the kernel takes SLOTS (param, grad, buffer, size) groups of arguments."""


def _source(slots: int) -> str:
    """The kernel for ``slots`` tensors. Thread idx indexes their concatenation; the chain of
    comparisons finds its tensor k and the index j inside it (slots is small, and every thread
    of a warp usually takes the same branch)."""
    params = ",\n    ".join(
        f"T* __restrict__ p{k}, const T* __restrict__ g{k}, T* __restrict__ b{k}, IDX n{k}" for k in range(slots)
    )
    pick = "\n        else ".join(
        f"if ((j -= n{k - 1}) < n{k}) {{ p = p{k}; g = g{k}; b = b{k}; }}"
        if k
        else "if (j < n0) { p = p0; g = g0; b = b0; }"
        for k in range(slots)
    )
    return f"""
// one thread per element of the {slots} tensors, laid end to end: the whole SGD step in one pass
extern "C" __global__ void sgd_step_kernel(
    T lr, T momentum, T one_minus_dampening, T weight_decay, IDX nesterov, IDX maximize, IDX first, IDX total,
    {params})
{{
    for (IDX idx = (IDX)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (IDX)blockDim.x * gridDim.x) {{
        IDX j = idx;
        T* p = p0;
        const T* g = g0;
        T* b = b0;
        {pick}
        T d = maximize ? -g[j] : g[j];
        if (weight_decay != (T)0) d = d + weight_decay * p[j];
        if (momentum != (T)0) {{
            const T m = first ? d : momentum * b[j] + one_minus_dampening * d;
            b[j] = m;
            d = nesterov ? d + momentum * m : m;
        }}
        p[j] = p[j] - lr * d;
    }}
}}
"""


SOURCE = _source(SLOTS)
KERNEL = Kernel(SOURCE)


def sgd_step_many(
    params: list[Any],
    grads: list[Any],
    bufs: list[Any],
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
) -> list[Any]:
    """Update every parameter in place (one float dtype, one GPU, C-contiguous); returns the
    momentum buffers (updated, new at the first step, or None without momentum).

    One launch per SLOTS tensors that share the ``first`` flag (momentum buffer still to create).
    """
    if not params:
        return []
    xp = backend.get_array_module(params[0])
    dtype = check_float_dtype("sgd", *params, *grads, *bufs)
    for param in params:
        if not param.flags.c_contiguous:
            raise ValueError("sgd (CUDA kernel): the parameter must be C-contiguous (it is updated in place)")
    out = list(bufs)
    batches: dict[bool, list[int]] = {}
    for i, (param, buf) in enumerate(zip(params, bufs)):
        first = momentum != 0 and buf is None
        if first:
            out[i] = xp.empty(param.shape, dtype=dtype)
        batches.setdefault(first, []).append(i)
    unused = xp.empty(1, dtype=dtype)  # fills empty slots; never touched (size 0, or no momentum)
    one_minus_dampening = dtype.type(1 - dampening)
    for first, members in batches.items():
        for start in range(0, len(members), SLOTS):
            slots: list[Any] = []
            for i in members[start : start + SLOTS]:
                buf = out[i] if momentum != 0 else unused
                slots += [params[i], xp.ascontiguousarray(grads[i]), buf, params[i].size]
            total = sum(slots[3::4])
            slots += [unused, unused, unused, 0] * (SLOTS - len(slots) // 4)
            KERNEL.run(
                "sgd_step_kernel",
                total,
                lr,
                momentum,
                one_minus_dampening,
                weight_decay,
                int(nesterov),
                int(maximize),
                int(first),
                total,
                *slots,
            )
    return out if momentum != 0 else [None] * len(params)


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
    """Update ``param`` in place; the momentum buffer (updated, new at the first step, or None).
    param, grad and buf share the parameter's shape (any); one launch of :func:`sgd_step_many`,
    one thread per element: a read of g, a read and write of p (and of b with momentum)."""
    return sgd_step_many([param], [grad], [buf], lr, momentum, dampening, weight_decay, nesterov, maximize)[0]
