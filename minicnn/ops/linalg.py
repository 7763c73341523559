"""Matrix and tensor products with torch's strict shape rules: mm, bmm, mv, dot, outer, addmm,
trace and einsum.

Shapes (torch's): ``mm`` (n, k) @ (k, m) -> (n, m); ``bmm`` (b, n, k) @ (b, k, m) -> (b, n, m),
no broadcasting; ``mv`` (n, k) @ (k,) -> (n,); ``dot`` (k,) . (k,) -> (); ``outer`` (n,), (m,)
-> (n, m); ``addmm`` beta * input + alpha * (n, k) @ (k, m), input broadcast to (n, m);
``trace`` (n, m) -> (). Unlike ``matmul`` these refuse other ranks, and mm/bmm/mv/dot/addmm
refuse operands of different dtypes, as torch does. Cost: one GEMM forward, two backward.

``einsum`` runs ``xp.einsum`` forward; the gradient of each operand is one more einsum of the
output gradient with the other operands. A label of size 1 in one operand and n in another
broadcasts (as in torch); operands are expanded to the full sizes (views) before each einsum,
and the gradient is summed back over the expanded axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autocast_state, backend
from ..autograd import Function, Tensor
from .errors import DtypeError, ShapeError
from .math import MatMul, _promote, unbroadcast
from .shape import diagonal

# -- matrix products ---------------------------------------------------------------------


def _same_dtype(op: str, *tensors: Tensor) -> None:
    dtypes = [t.dtype for t in tensors]
    if any(d != dtypes[0] for d in dtypes):
        raise DtypeError(f"{op}: expected operands of one dtype, got {', '.join(str(d) for d in dtypes)}")


def _need_ndim(op: str, name: str, t: Any, ndim: int) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        what = {1: "a 1-d vector", 2: "a 2-d matrix", 3: "a 3-d batch of matrices"}[ndim]
        raise ShapeError(f"{op}: {name} must be {what}, got shape {t.shape}")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """(n, k) @ (k, m) -> (n, m); both 2-d and of one dtype."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, mat2 = autocast_state.lower(input, mat2)
    _need_ndim("mm", "input", input, 2)
    _need_ndim("mm", "mat2", mat2, 2)
    if input.shape[1] != mat2.shape[0]:
        raise ShapeError(f"mm: shapes {input.shape} and {mat2.shape} cannot be multiplied")
    _same_dtype("mm", input, mat2)
    return MatMul.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """(b, n, k) @ (b, k, m) -> (b, n, m); both 3-d with equal batch sizes (no broadcasting)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, mat2 = autocast_state.lower(input, mat2)
    _need_ndim("bmm", "input", input, 3)
    _need_ndim("bmm", "mat2", mat2, 3)
    b, _, k = input.shape
    if mat2.shape[:2] != (b, k):
        raise ShapeError(
            f"bmm: expected mat2 of shape ({b}, {k}, m) for input of shape {input.shape}, got {mat2.shape}"
        )
    _same_dtype("bmm", input, mat2)
    return MatMul.apply(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """(n, k) @ (k,) -> (n,)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, vec = autocast_state.lower(input, vec, cuda_only=True)
    _need_ndim("mv", "input", input, 2)
    _need_ndim("mv", "vec", vec, 1)
    if input.shape[1] != vec.shape[0]:
        raise ShapeError(f"mv: size mismatch, matrix {input.shape} and vector {vec.shape}")
    _same_dtype("mv", input, vec)
    return MatMul.apply(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-d tensors of one length and dtype -> 0-d."""
    _need_ndim("dot", "input", input, 1)
    _need_ndim("dot", "tensor", tensor, 1)
    if input.shape != tensor.shape:
        raise ShapeError(f"dot: vectors of different lengths, {input.shape[0]} and {tensor.shape[0]}")
    _same_dtype("dot", input, tensor)
    return MatMul.apply(input, tensor)


class Outer(Function):
    def forward(self, a, b):
        if self.requires_grad:
            self.a = a if self.needs_input_grad[1] else None
            self.b = b if self.needs_input_grad[0] else None
        return a[:, None] * b[None, :]

    def backward(self, gy):  # y_ij = a_i b_j: da = gy @ b, db = gy^T @ a
        ga = gy @ self.b if self.needs_input_grad[0] else None
        gb = self.a @ gy if self.needs_input_grad[1] else None
        return ga, gb

    def backward_graph(self, gy, a, b):
        ga = MatMul.apply(gy, b) if self.needs_input_grad[0] else None
        gb = MatMul.apply(a, gy) if self.needs_input_grad[1] else None
        return ga, gb


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """(n,), (m,) -> (n, m) with y_ij = input_i vec2_j; dtypes promote as for ``*``."""
    _need_ndim("outer", "input", input, 1)
    _need_ndim("outer", "vec2", vec2, 1)
    return Outer.apply(*_promote(input, vec2))


ger = outer


class Addmm(Function):
    def forward(self, c, a, b):
        self.c_shape = c.shape
        if self.requires_grad:
            self.a = a if self.needs_input_grad[2] else None
            self.b = b if self.needs_input_grad[1] else None
        y = a @ b
        if self.alpha != 1:
            y = y * self.alpha
        if self.beta != 0:  # beta = 0: input is ignored, its NaN and inf do not propagate (torch)
            y = y + (c if self.beta == 1 else c * self.beta)
        return y.astype(a.dtype, copy=False)  # integer operands stay integers, as in torch

    def backward(self, gy):  # dc = beta gy (summed to c's shape), da = alpha gy b^T, db = alpha a^T gy
        xp = backend.get_array_module(gy)
        g = gy if self.alpha == 1 else gy * self.alpha
        gc = ga = gb = None
        if self.needs_input_grad[0]:
            gc = unbroadcast(gy if self.beta == 1 else gy * self.beta, self.c_shape)
        if self.needs_input_grad[1]:
            ga = g @ self.b.T
        if self.needs_input_grad[2]:
            gb = self.a.T @ g
        return tuple(None if x is None else xp.asarray(x, dtype=gy.dtype) for x in (gc, ga, gb))

    def backward_graph(self, gy, c, a, b):
        g = gy if self.alpha == 1 else gy * self.alpha
        gc = ga = gb = None
        if self.needs_input_grad[0]:
            gc = unbroadcast(gy if self.beta == 1 else gy * self.beta, c.shape)
        if self.needs_input_grad[1]:
            ga = MatMul.apply(g, b.T)
        if self.needs_input_grad[2]:
            gb = MatMul.apply(a.T, g)
        return gc, ga, gb


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``: mat1 (n, k), mat2 (k, m), input broadcastable
    to (n, m); all of one dtype. With beta = 0 input is ignored (its NaNs do not propagate)."""
    if autocast_state.active:  # mc.autocast: torch's lower precision list (minicnn/amp)
        input, mat1, mat2 = autocast_state.lower(input, mat1, mat2)
    if not isinstance(input, Tensor):
        raise TypeError(f"addmm: input must be a Tensor, got {type(input).__name__}")
    _need_ndim("addmm", "mat1", mat1, 2)
    _need_ndim("addmm", "mat2", mat2, 2)
    if mat1.shape[1] != mat2.shape[0]:
        raise ShapeError(f"addmm: mat1 {mat1.shape} and mat2 {mat2.shape} cannot be multiplied")
    out = (mat1.shape[0], mat2.shape[1])
    if input.ndim > 2 or any(n not in (1, m) for n, m in zip(input.shape[::-1], out[::-1])):
        raise ShapeError(f"addmm: input of shape {input.shape} does not broadcast to the product's shape {out}")
    _same_dtype("addmm", input, mat1, mat2)
    return Addmm.apply(input, mat1, mat2, beta=beta, alpha=alpha)


class Trace(Function):
    linear = True

    def forward(self, x):
        self.shape = x.shape
        dtype = np.int64 if x.dtype.kind in "biu" else None  # as torch: integer sums are int64
        return backend.get_array_module(x).trace(x, dtype=dtype)

    def backward(self, gy):  # d trace / dx_ij = 1 if i == j else 0
        xp = backend.get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        i = xp.arange(min(self.shape))
        gx[i, i] = gy
        return gx


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-d tensor (rectangular too) -> 0-d; integers give int64."""
    _need_ndim("trace", "input", input, 2)
    return Trace.apply(input)


# -- the polar factor (the nuclear norm's gradient) ----------------------------------------


class PolarFactor(Function):
    """Q = U V^T for the reduced SVD A = U diag(s) V^T of each matrix over the last two dims,
    (..., m, n) -> (..., m, n): the orthogonal factor of A's polar decomposition, and the
    gradient of the nuclear norm sum(s) (:class:`minicnn.ops.reduce.NuclearNorm`).

    Its derivative is the nuclear norm's Hessian, a symmetric map, so backward applies the
    same formula to gy. For a tall or square A (m >= n), with H = U^T G V:
        dA = U ((H - H^T) o F) V^T + (G V - U H) diag(1/s) V^T,  F_ij = 1 / (s_i + s_j), F_ii = 0,
    the second term zero for a square A; a wide A goes through its transpose (Q(A^T) = Q(A)^T).
    Defined wherever A has full rank, also at repeated singular values (torch, which
    differentiates through the SVD's U and V, gives NaN there), and at a square A with one zero
    singular value (finite, as torch); at lower rank it is inf or NaN, as torch's.
    Cost: one batched SVD forward; backward four batched products of (m, n) by (n, n).
    No graph form of its own: third derivatives of the nuclear norm are not supported."""

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.wide = a.shape[-2] < a.shape[-1]
        t = xp.swapaxes(a, -1, -2) if self.wide else a  # tall: m >= n
        u, s, vh = xp.linalg.svd(t, full_matrices=False)
        if self.requires_grad:
            self.u, self.s, self.vh = u, s, vh
        q = u @ vh
        return xp.swapaxes(q, -1, -2) if self.wide else q

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        u, s, vh = self.u, self.s, self.vh
        g = xp.swapaxes(gy, -1, -2) if self.wide else gy
        v = xp.swapaxes(vh, -1, -2)
        h = xp.swapaxes(u, -1, -2) @ g @ v
        f = 1 / (s[..., :, None] + s[..., None, :])
        k = s.shape[-1]
        f[..., xp.arange(k), xp.arange(k)] = 0  # (H - H^T) has a zero diagonal; s_i + s_i may be 0
        ga = u @ ((h - xp.swapaxes(h, -1, -2)) * f) @ vh
        if u.shape[-2] > k:  # tall: the part of dU outside span(U)
            ga = ga + ((g @ v - u @ h) / s[..., None, :]) @ vh
        ga = ga.astype(gy.dtype, copy=False)
        return xp.swapaxes(ga, -1, -2) if self.wide else ga


# -- einsum ------------------------------------------------------------------------------

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _parse_einsum(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """The equation with ``...`` replaced by fresh letters (right-aligned, as broadcasting
    aligns them) and the output made explicit: (one label string per operand, output labels).
    Raises torch's errors for malformed equations."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        more = "more" if len(shapes) > len(terms) else "fewer"
        raise ShapeError(f"einsum(): {more} operands were provided than specified in the equation {equation!r}")
    for part in [*terms, rhs]:
        for c in part.replace("...", ""):
            if c not in _LETTERS:
                raise ShapeError(f"einsum(): invalid subscript {c!r} in {equation!r}: subscripts must be in [a-zA-Z]")
    unused = [c for c in _LETTERS if c not in eq]
    ell_ndim = 0
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if term.count("...") > 1:
            raise ShapeError(f"einsum(): more than one '...' in operand term {term!r}")
        if "..." in term:
            if named > len(shape):
                raise ShapeError(f"einsum(): operand term {term!r} names more dimensions than the {len(shape)} it has")
            ell_ndim = max(ell_ndim, len(shape) - named)
        elif named != len(shape):
            raise ShapeError(
                f"einsum(): the number of subscripts in {term!r} ({named}) does not match the number of "
                f"dimensions ({len(shape)}) of its operand and no ellipsis was given"
            )
    ell = "".join(unused[:ell_ndim])
    labels = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            k = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ell[ell_ndim - k :])
        labels.append(term)
    if arrow:
        if rhs.count("...") > 1:
            raise ShapeError(f"einsum(): more than one '...' in the output of {equation!r}")
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise ShapeError(f"einsum(): output subscript {c} appears more than once in the output")
            if not any(c in t for t in labels):
                raise ShapeError(f"einsum(): output subscript {c} does not appear in the equation for any input")
    else:  # implicit: broadcast dims first, then the labels seen once, in alphabetical (ASCII) order
        once = sorted(c for c in set(lhs) if c in _LETTERS and lhs.count(c) == 1)
        out = ell + "".join(once)
    return labels, out


def _label_sizes(labels: list[str], shapes: list[tuple[int, ...]]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for i, (term, shape) in enumerate(zip(labels, shapes)):
        for c, n in zip(term, shape):
            seen = sizes.get(c, 1)
            if n != 1 and seen != 1 and n != seen:
                raise ShapeError(
                    f"einsum(): subscript {c} has size {n} for operand {i} which does not broadcast with "
                    f"previously seen size {seen}"
                )
            sizes[c] = n if seen == 1 else seen
    return sizes


def _einsum(xp: Any, equation: str, *arrays: Any) -> Any:
    """xp.einsum with optimize=True: pairwise contractions in a greedy order, through BLAS or
    cuBLAS (CuPy's default order, right to left, can build a huge outer product first)."""
    return xp.einsum(equation, *arrays, optimize=True)


class Einsum(Function):
    """``labels`` (one string per operand) -> ``out``, every operand expanded to ``sizes``.

    y = einsum(x_1, ..., x_n). dL/dx_k = einsum(gy, x_j for j != k -> labels_k): each
    element of x_k meets, in every term of the sum, the product of the others times gy. A
    label only x_k has (summed over in the forward) is missing from that einsum's inputs; the
    gradient is constant along it (broadcast), and summed over where x_k was broadcast."""

    def forward(self, *xs):
        xp = backend.get_array_module(xs[0])
        full = [xp.broadcast_to(x, tuple(self.sizes[c] for c in t)) for x, t in zip(xs, self.labels)]
        if self.requires_grad:
            self.full = full
            self.in_shapes = [x.shape for x in xs]
        y = _einsum(xp, ",".join(self.labels) + "->" + self.out, *full)
        return y.copy() if getattr(y, "base", None) is not None else y  # never a view of an input

    def _grad_plan(self, k: int, shape: tuple[int, ...]) -> tuple[list[str], str, list[int], tuple, tuple]:
        """How operand k's gradient is formed: the einsum of gy with the other operands
        (``others`` -> ``kept``, the labels of k that appear elsewhere), reshaped to ``partial``
        (1 for the other labels of k), broadcast to ``full``, then summed over ``axes`` (where
        the operand itself was broadcast) to ``shape``."""
        term = self.labels[k]
        others = [t for j, t in enumerate(self.labels) if j != k]
        seen = set(self.out).union(*others)
        kept = "".join(c for c in term if c in seen)
        partial = [self.sizes[c] if c in seen else 1 for c in term]
        full = tuple(self.sizes[c] for c in term)
        axes = tuple(i for i, (n, m) in enumerate(zip(shape, full)) if n != m)
        return others, kept, partial, full, axes

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        grads = []
        for k, shape in enumerate(self.in_shapes):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others, kept, partial, full, axes = self._grad_plan(k, shape)
            spec = ",".join([self.out, *others]) + "->" + kept
            g = _einsum(xp, spec, gy, *(a for j, a in enumerate(self.full) if j != k))
            g = xp.broadcast_to(g.reshape(partial), full)
            g = g.sum(axis=axes, keepdims=True) if axes else g
            grads.append(xp.ascontiguousarray(g, dtype=gy.dtype).reshape(shape))  # (ascontiguousarray: >= 1-d)
        return tuple(grads)

    def backward_graph(self, gy, *xs):  # backward's einsums, as Einsum ops (multilinear again)
        grads = []
        for k, x in enumerate(xs):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            others, kept, partial, full, axes = self._grad_plan(k, x.shape)
            operands = [gy, *(a for j, a in enumerate(xs) if j != k)]
            g = Einsum.apply(*operands, labels=[self.out, *others], out=kept, sizes=self.sizes)
            g = g.reshape(partial).expand(full)
            grads.append((g.sum(axis=axes, keepdims=True) if axes else g).reshape(x.shape))
        return tuple(grads)


def einsum(*args: Any) -> Tensor:
    """torch.einsum: ``einsum(equation, *operands)`` (or the operands as one list, or the
    sublist form ``einsum(op1, [0, 1], op2, [1, 2], [0, 2])``). Labels are letters; ``...``
    stands for broadcast dimensions; without ``->`` the output is the labels seen once, in
    alphabetical order, after the broadcast dims. A label repeated inside one operand reads
    that operand's diagonal (``'ii->i'``, ``'ii'`` is the trace). Operands must share a dtype."""
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand")
    if isinstance(args[0], Tensor):
        equation, operands = _sublist_equation(args)
    else:
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the equation must be a string, got {type(equation).__name__}")
    if not operands:
        raise ShapeError("einsum(): must provide at least one operand")
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operand {i} must be a Tensor, got {type(t).__name__}")
    labels, out = _parse_einsum(equation, [t.shape for t in operands])
    for k in range(len(operands)):
        operands[k], labels[k] = _diagonals(operands[k], labels[k], k)
    shapes = [t.shape for t in operands]
    if autocast_state.active and (
        _ends_in_bmm(labels, out, shapes) or len({t.dtype for t in operands}) > 1
    ):  # mc.autocast: float16 where torch's einsum reaches its (lower precision list) bmm
        operands = list(autocast_state.lower(*operands))
    _same_dtype("einsum", *operands)
    sizes = _label_sizes(labels, shapes)
    return Einsum.apply(*operands, labels=labels, out=out, sizes=sizes)


def _ends_in_bmm(labels: list[str], out: str, shapes: list[tuple[int, ...]]) -> bool:
    """Whether torch's einsum (left to right, no opt_einsum) makes its last pairwise contraction
    a bmm, so that autocast computes it, and the result, in float16: some label of the last
    operand is summed away (not in ``out``) and is of size other than 1 both there and in an
    earlier operand. Otherwise torch multiplies and sums (one operand: sums only) in float32."""
    if len(labels) < 2:
        return False
    *earlier, (term, shape) = zip(labels, shapes)
    return any(
        c not in out and n != 1 and any(c in t and s[t.index(c)] != 1 for t, s in earlier) for c, n in zip(term, shape)
    )


def _diagonals(x: Tensor, term: str, k: int) -> tuple[Tensor, str]:
    """A subscript repeated inside one operand ("ii", "bii") reads its diagonal: the two dims
    become one, taken by the differentiable ``diagonal`` (which moves it last), until every
    subscript of the term is distinct."""
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        i, j = term.index(c), term.index(c, term.index(c) + 1)
        if x.shape[i] != x.shape[j]:
            raise ShapeError(
                f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't match, "
                f"{x.shape[i]} != {x.shape[j]}"
            )
        x, term = diagonal(x, 0, i, j), term[:i] + term[i + 1 : j] + term[j + 1 :] + c
    return x, term


def _sublist_equation(args: tuple[Any, ...]) -> tuple[str, list[Tensor]]:
    """torch's sublist form: (op, sublist, op, sublist, ..., [output sublist]) -> equation."""
    pairs = list(args)
    out_list = pairs.pop() if len(pairs) % 2 == 1 else None

    def term(sub: Any) -> str:
        parts = []
        for s in sub:
            if s is Ellipsis:
                parts.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(_LETTERS):
                parts.append(_LETTERS[s])
            else:
                raise ShapeError(f"einsum(): subscript in a sublist must be in [0, {len(_LETTERS)}), got {s!r}")
        return "".join(parts)

    operands = pairs[0::2]
    equation = ",".join(term(s) for s in pairs[1::2])
    if out_list is not None:
        equation += "->" + term(out_list)
    return equation, operands
