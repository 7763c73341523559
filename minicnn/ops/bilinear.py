"""Bilinear map ``y = x1^T A x2 + b`` (torch's F.bilinear) as one op.

Shapes: input1 (*, I), input2 (*, J) with the same leading dims ``*`` (none at all is fine),
weight (O, I, J), bias (O,) -> (*, O), with ``y[n, o] = sum_ij x1[n, i] A[o, i, j] x2[n, j] + b[o]``.

With the leading dims flattened to N rows, the forward is one GEMM and one batched
matrix-vector product through the intermediate ``t[n, o, j] = sum_i x1[n, i] A[o, i, j]``
(N, O, J), kept for backward. Backward, with ``u[n, o, j] = gy[n, o] x2[n, j]``::

    dx2[n, j]    = sum_o gy[n, o] t[n, o, j]
    dx1[n, i]    = sum_oj u[n, o, j] A[o, i, j]          (one GEMM)
    dA[o, i, j]  = sum_n x1[n, i] u[n, o, j]             (one GEMM)
    db[o]        = sum_n gy[n, o]

Cost: about 2*N*I*O*J flops forward (the GEMM) and 4*N*I*O*J backward; extra memory N*O*J.
"""

from __future__ import annotations

from .. import backend
from ..autograd import Function, Tensor
from .linear import Linear, _rows
from .shape import permute, reshape


class Bilinear(Function):
    """Inputs: x1 (*, I), x2 (*, J), weight (O, I, J) and optionally bias (O,) -> (*, O)."""

    def forward(self, x1, x2, w, *maybe_b):
        O, I, J = w.shape
        N = _rows(x1.shape)
        a = x1.reshape(N, I)
        c = x2.reshape(N, J)
        t = (a @ w.transpose(1, 0, 2).reshape(I, O * J)).reshape(N, O, J)
        y = (t @ c[:, :, None])[:, :, 0]
        if maybe_b:
            y = y + maybe_b[0]
        if self.requires_grad:
            self.a, self.c, self.w, self.t = a, c, w, t
            self.shapes = (x1.shape, x2.shape)
        return y.reshape(x1.shape[:-1] + (O,))

    def backward(self, gy):
        O, I, J = self.w.shape
        N = self.a.shape[0]
        g = gy.reshape(N, O)
        need = self.needs_input_grad
        gx1 = gx2 = gw = gb = None
        if need[1]:
            gx2 = (g[:, None, :] @ self.t)[:, 0, :].reshape(self.shapes[1])
        if need[0] or need[2]:
            u = (g[:, :, None] * self.c[:, None, :]).reshape(N, O * J)
            if need[0]:
                gx1 = (u @ self.w.transpose(0, 2, 1).reshape(O * J, I)).reshape(self.shapes[0])
            if need[2]:
                gw = backend.get_array_module(u).ascontiguousarray((self.a.T @ u).reshape(I, O, J).transpose(1, 0, 2))
        if len(need) > 3 and need[3]:
            gb = g.sum(axis=0)
        return gx1, gx2, gw, gb

    def backward_graph(self, gy, x1, x2, w, *maybe_b):
        # dx1, dx2: bilinear maps of (gy, the other input) with the weight's axes permuted;
        # dA = sum over rows of gy (x) x1 (x) x2: one Linear of gy^T and the rows' outer products x1 x2^T
        O, I, J = w.shape
        N = _rows(x1.shape)
        need = self.needs_input_grad
        gx1 = Bilinear.apply(gy, x2, permute(w, (1, 0, 2))) if need[0] else None
        gx2 = Bilinear.apply(gy, x1, permute(w, (2, 0, 1))) if need[1] else None
        gw = gb = None
        g2 = reshape(gy, (N, O))
        if need[2]:
            outer = reshape(reshape(x1, (N, I, 1)) * reshape(x2, (N, 1, J)), (N, I * J))
            gw = reshape(Linear.apply(g2.T, outer.T), (O, I, J))
        if len(need) > 3 and need[3]:
            gb = g2.sum(axis=0)
        return gx1, gx2, gw, gb


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]``: input1
    (*, I), input2 (*, J) with equal leading dims, weight (O, I, J), bias (O,) -> (*, O)."""
    op = "bilinear"
    for t, name in ((input1, "input1"), (input2, "input2"), (weight, "weight")):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
    if weight.ndim != 3:
        raise ValueError(f"{op}: expected a 3-d weight (out, in1, in2), got shape {weight.shape}")
    O, I, J = weight.shape
    if input1.ndim < 1 or input1.ndim != input2.ndim or input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(
            f"{op}: expected input1 (*, in1) and input2 (*, in2) with the same leading dims, "
            f"got shapes {input1.shape} and {input2.shape}"
        )
    if input1.shape[-1] != I or input2.shape[-1] != J:
        raise ValueError(
            f"{op}: inputs of shapes {input1.shape} and {input2.shape} do not fit weight of shape {weight.shape} "
            f"(expected (*, {I}) and (*, {J}))"
        )
    if bias is not None and bias.shape != (O,):
        raise ValueError(f"{op}: expected bias of shape ({O},) for weight of shape {weight.shape}, got {bias.shape}")
    dtypes = [t.dtype for t in (input1, input2, weight, bias) if t is not None]
    if any(d != dtypes[0] for d in dtypes):
        raise TypeError(
            f"{op}: expected input1, input2, weight (and bias) of one dtype, got {', '.join(map(str, dtypes))}"
        )
    args = (input1, input2, weight) if bias is None else (input1, input2, weight, bias)
    return Bilinear.apply(*args)
