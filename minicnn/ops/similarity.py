"""Similarity and normalisation along a dimension: ``cosine_similarity`` and ``normalize``
(``torch.nn.functional``'s semantics).

Shapes: cosine_similarity takes x1 and x2 that broadcast together, (..., D, ...) each, and
reduces ``dim`` of the broadcast: the result has that shape without ``dim``. normalize keeps
the input's shape. Cost: a few elementwise passes and two reductions over the input(s).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function, Tensor, is_grad_enabled, no_grad
from .dims import wrap_dim
from .errors import ShapeError
from .math import clip, require_float, unbroadcast
from .reduce import norm


class ClampKeepGrad(Function):
    """max(v, eps) with the identity as gradient: what torch's in-place clamp under no_grad
    leaves to autograd (cosine_similarity's norms, gaussian_nll_loss's variance), so a clamped
    entry passes the gradient on unchanged."""

    def forward(self, v):
        return backend.get_array_module(v).maximum(v, self.eps)

    def backward(self, gy):
        return gy

    def backward_graph(self, gy, v):
        return gy


class CosineSimilarity(Function):
    """y = sum(u1 u2, dim) with u_i = x_i / d_i, d_i = max(||x_i||_2, eps) along ``dim``.

    As torch, the clamp to eps is made without autograd, so the gradient flows through the
    norm even where it is clamped (a zero vector still gets the gradient x2 / (eps d2)).
    Backward, with g expanded along dim: gu1 = g u2, gx1 = gu1 / d1 + x1 / n1 * gd1 with
    gd1 = -sum(gu1 x1 / d1^2, dim) (x1 / n1 is 0 where n1 = 0); the same for x2."""

    def forward(self, x1, x2):
        xp = backend.get_array_module(x1, x2)
        self.shapes = x1.shape, x2.shape
        dtype = np.result_type(x1.dtype, x2.dtype)
        a, b = (xp.broadcast_to(v, self.shape).astype(dtype, copy=False) for v in (x1, x2))
        if a.ndim == 0:  # dim 0 of a 0-d tensor is valid in torch: one vector of length 1
            a, b = a.reshape(1), b.reshape(1)
        n1, n2 = (xp.sqrt((v * v).sum(axis=self.dim, keepdims=True)) for v in (a, b))
        d1, d2 = xp.maximum(n1, self.eps), xp.maximum(n2, self.eps)
        u1, u2 = a / d1, b / d2
        if self.requires_grad:
            self.saved = a, b, n1, n2, d1, d2, u1, u2
        return (u1 * u2).sum(axis=self.dim).reshape(self.out_shape)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        a, b, n1, n2, d1, d2, u1, u2 = self.saved
        g = xp.expand_dims(gy, self.dim)  # a 0-d result of 0-d inputs becomes (1,), as a is
        grads = []
        for i, (x, n, d, other) in enumerate(((a, n1, d1, u2), (b, n2, d2, u1))):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            gu = g * other
            gd = -(gu * x / (d * d)).sum(axis=self.dim, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                gn = xp.where(n == 0, 0, gd / n)
            gx = (gu / d + x * gn).reshape(self.shape)
            grads.append(unbroadcast(gx, self.shapes[i]).astype(self.inputs[i].dtype, copy=False))
        return tuple(grads)

    def composite(self, x1, x2):  # (for create_graph=True) the norm's gradient is 0 at a zero vector
        dtype = np.result_type(x1.dtype, x2.dtype)
        a, b = (v.to(dtype).expand(self.shape) for v in (x1, x2))
        if a.ndim == 0:
            a, b = a.reshape(1), b.reshape(1)
        d1, d2 = (ClampKeepGrad.apply(norm(v, 2, self.dim, keepdim=True), eps=self.eps) for v in (a, b))
        return ((a / d1) * (b / d2)).sum(axis=self.dim).reshape(self.out_shape)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine similarity of x1 and x2 along ``dim``: sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)),
    each vector divided by its own clamped norm first (torch's order, which keeps |y| <= 1).

    x1, x2: floating tensors that broadcast together (to shape S); the result has shape S
    without ``dim``. Gradients for both inputs."""
    op = "cosine_similarity"
    require_float(x1, op, "x1")
    require_float(x2, op, "x2")
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ShapeError(f"{op}: x1 of shape {x1.shape} and x2 of shape {x2.shape} do not broadcast") from None
    dim = wrap_dim(dim, len(shape), op)
    out_shape = shape[:dim] + shape[dim + 1 :]
    return CosineSimilarity.apply(x1, x2, dim=dim, eps=float(eps), shape=shape, out_shape=out_shape)


def normalize(input: Tensor, p: float = 2.0, dim: Any = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p, eps) along ``dim`` (an int or a tuple of ints), torch's
    composition: the clamp passes the gradient only where the norm exceeds eps, and the norm's
    gradient is torch's for every p (see ``ops.reduce.VectorNorm``).

    Shape: any, kept. ``out``: as torch, the result is written into it (same shape as input)
    and the op is then not differentiable (an input that requires grad raises RuntimeError)."""
    require_float(input, "normalize", "input")
    if out is None:
        return input / clip(norm(input, p, dim, keepdim=True), min=eps)
    if input.requires_grad and is_grad_enabled():
        raise RuntimeError(
            "normalize: functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    if out.shape != input.shape:
        raise ValueError(f"normalize: out has shape {out.shape}, expected the input's shape {input.shape}")
    with no_grad():
        out.copy_(input / clip(norm(input, p, dim, keepdim=True), min=eps))
    return out


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (broadcast), as torch: (*, D) and (*, D) -> (*)."""
    return norm(x1 - x2 + eps, p, -1, keepdim)
