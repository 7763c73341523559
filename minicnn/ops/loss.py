"""Losses: cross-entropy (fused log-softmax + NLL), NLL and mean squared error; then the
pointwise losses (binary cross-entropy with and without logits, L1, smooth L1, Huber, KL
divergence), which share one base class for weights, broadcasting and reductions.

Classification shapes: ``input`` (N, C) or (N, C, d1, ...) logits; ``target`` (N,) or
(N, d1, ...) integer class indices. Semantics equal ``torch.nn.functional`` including
``weight``, ``ignore_index``, ``label_smoothing``, the weighted-mean normalisation and the
deprecated ``size_average``/``reduce``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import autocast_state, backend
from ..autograd import Function, Tensor, is_grad_enabled, tie
from ..kernels import cross_entropy as ce
from .activation import LogSigmoid, Softmax, log_softmax
from .activation import _stable_log_sigmoid as _log_sigmoid
from .activation import _stable_sigmoid as _sigmoid
from .errors import DtypeError, ShapeError
from .math import clamp, log, log1p, require_float, unbroadcast, where

_REDUCTIONS = ("mean", "sum", "none")


def _check(op: str, x: Tensor, target: Tensor, weight: Tensor | None, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if x.ndim >= 2 and target.ndim >= 1 and target.shape[0] != x.shape[0]:  # torch checks this before the dtype
        raise ValueError(
            f"{op}: expected input batch_size ({x.shape[0]}) to match target batch_size ({target.shape[0]}): "
            f"input of shape {x.shape}, target of shape {target.shape}"
        )
    if target.dtype.kind not in "iu":
        raise DtypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}")
    if x.ndim < 1 or (x.ndim == 1 and target.ndim != 0):
        raise ShapeError(f"{op}: input of shape {x.shape} and target of shape {target.shape} do not match")
    expected = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    if target.shape != expected:
        raise ShapeError(
            f"{op}: input of shape {x.shape} needs a target of shape {expected}, got target of shape {target.shape}"
        )
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    if weight is not None and weight.shape != (c,):
        raise ShapeError(f"{op}: weight must have shape ({c},), got {weight.shape}")


def _flat_targets(op: str, x: Any, target: Any, maybe_weight: tuple, ignore_index: int) -> tuple[Any, ...]:
    """Logits as (rows, C), each row's class index (0 where ignored), weight w[y] (0 where
    ignored) and whether it is kept. A class outside [0, C) raises (on a GPU at the next host
    read: backend.raise_if)."""
    x2 = ce.classes_last(x)
    c = x2.shape[1]
    t, keep, bad = ce.class_indices(target, c, ignore_index)
    backend.raise_if(bad, IndexError, f"{op}: target holds a class index outside [0, {c})")
    wy = keep.astype(x.dtype) if not maybe_weight else maybe_weight[0][t] * keep
    return x2, t, wy, keep


def _reduce(loss: Any, reduction: str, denom: Any, shape: tuple, dtype: Any, smoothed: bool = False) -> Any:
    """Per-row losses -> 'none' (in the target's shape), 'sum', or the weighted 'mean'.

    A 'mean' over no weight (every row ignored, or all w[y] = 0) is 0/0 = nan, as in torch;
    with label smoothing torch adds the smoothing term's sum/0 to that nan, so the result is
    nan there too (not the inf that (nll + smoothing)/0 would give). Chosen with ``where``:
    no value is read on the host."""
    if reduction == "none":
        return loss.reshape(shape).astype(dtype, copy=False)
    total = loss.sum()
    if reduction == "sum":
        return total.astype(dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):  # torch does not warn either
        mean = total / denom
    if smoothed:
        xp = backend.get_array_module(mean)
        mean = xp.where(denom == 0, mean.dtype.type(np.nan), mean)
    return mean.astype(dtype, copy=False)


def _class_axis_constant(rows: Any, reduction: str, denom: Any, kept: Any, x_shape: tuple, extra: int = 0) -> Any:
    """A per-row array (R, *k) as a constant laid out like x (the class axis where the ``extra``
    trailing axes are, or size 1 there), with 1/denom folded in for 'mean' (0 for ignored
    rows, as :func:`_row_scale`); for the ``create_graph`` backward of the class losses."""
    xp = backend.get_array_module(rows)
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = xp.where(kept, 1 / denom, 0).astype(rows.dtype, copy=False)
        rows = rows * scale.reshape((-1,) + (1,) * extra)
    if extra:
        return ce.classes_back(rows, x_shape)
    axis = 0 if len(x_shape) == 1 else 1
    return xp.expand_dims(rows.reshape(x_shape[:axis] + x_shape[axis + 1 :]), axis)


def _per_row(gy: Tensor, reduction: str, x: Tensor) -> Tensor:
    """The gradient of the reduced loss for each row, shaped to broadcast against x: a 0-d gy,
    or the 'none' loss's gradient (the target's shape) with the class axis put back."""
    return gy.unsqueeze(0 if x.ndim == 1 else 1) if reduction == "none" else gy


def _row_scale(gy: Any, reduction: str, denom: Any, kept: Any) -> Any:
    """The gradient of the reduced loss with respect to each row's loss, shape (R,). It is 0
    for ignored rows whatever gy and 1/denom are, as in torch, which skips them: an all-ignored
    'mean' (1/0 = inf) still gives a zero gradient, while a kept row of weight 0 gets
    0 * inf = nan, as torch's does."""
    xp = backend.get_array_module(gy)
    if reduction == "none":
        scale = gy.reshape(-1)
    elif reduction == "mean":
        with np.errstate(divide="ignore"):
            scale = gy / denom
    else:
        scale = gy
    return xp.where(kept, scale, scale.dtype.type(0))


class CrossEntropy(Function):
    """loss_i = (1-eps) w[y_i] (-log p_i[y_i]) + eps/C sum_c w[c] (-log p_i[c])

    d loss_i / d x_i = (1-eps) w[y_i] (p_i - onehot(y_i)) + eps/C (sum(w) p_i - w).
    (kernels/cross_entropy.py; a fused CUDA kernel for CuPy arrays.)
    """

    def forward(self, x, target, *maybe_weight):
        weight = maybe_weight[0] if maybe_weight else None
        rows = ce.cross_entropy_forward(x, target, weight, self.ignore_index, self.label_smoothing)
        c = x.shape[0] if x.ndim == 1 else x.shape[1]
        backend.raise_if(rows.bad, IndexError, f"cross_entropy: target holds a class index outside [0, {c})")
        self.denom = rows.wy.sum() if self.reduction == "mean" else None
        if self.requires_grad:
            self.x, self.rows, self.weight = x, rows, weight
        return _reduce(rows.loss, self.reduction, self.denom, target.shape, x.dtype, self.label_smoothing > 0)

    def backward(self, gy):
        if self.reduction == "none":
            scale = gy.reshape(-1)
        elif self.reduction == "mean":  # 1/0 = inf when no row counts: the kernels give ignored rows 0
            with np.errstate(divide="ignore"):
                scale = gy / self.denom
        else:
            scale = gy
        g = ce.cross_entropy_backward(scale, self.x, self.rows, self.weight, self.label_smoothing)
        return g.astype(gy.dtype, copy=False), None, None

    def backward_graph(self, gy, x, target, *maybe_weight):
        # dx = s (p a - b), the kernel's formula with p = softmax(x) as an op and the rest constant:
        # a = (1-eps) w[y] + eps/C sum(w), b = (1-eps) w[y] onehot(y) + eps/C w (0 for ignored rows)
        xp = backend.get_array_module(x.array)
        rows, eps, dtype = self.rows, self.label_smoothing, x.dtype
        kept = rows.kept.astype(bool)
        r, c = kept.shape[0], (x.shape[0] if x.ndim == 1 else x.shape[1])
        w = xp.ones(c, dtype) if self.weight is None else self.weight
        t = xp.where(kept, rows.target, 0)
        smooth = kept * (eps / c)
        a = ((1 - eps) * rows.wy + smooth * w.sum()).astype(dtype, copy=False)
        b = (smooth[:, None] * w).astype(dtype, copy=False)
        if c:  # (no classes: every row is ignored)
            b[xp.arange(r), t] += (1 - eps) * rows.wy
        a = _class_axis_constant(a, self.reduction, self.denom, kept, x.shape)
        b = _class_axis_constant(b, self.reduction, self.denom, kept, x.shape, extra=1)
        p = Softmax.apply(x, axis=0 if x.ndim == 1 else 1)
        return _per_row(gy, self.reduction, x) * (p * Tensor(a) - Tensor(b)), None, None


class NLLLoss(Function):
    """loss_i = -w[y_i] x_i[y_i]; the gradient is -w[y_i] at (i, y_i), 0 elsewhere."""

    def forward(self, x, target, *maybe_weight):
        xp = backend.get_array_module(x)
        self.in_shape = x.shape
        x2, self.t, self.wy, self.kept = _flat_targets("nll_loss", x, target, maybe_weight, self.ignore_index)
        self.n, self.c = x2.shape
        if self.c == 0:  # no classes: every row is ignored (else _flat_targets raised); a column to index
            x2 = xp.zeros((self.n, 1), x.dtype)
        loss = -self.wy * x2[xp.arange(self.n), self.t]
        self.denom = self.wy.sum()
        return _reduce(loss, self.reduction, self.denom, target.shape, x.dtype)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        g = xp.zeros((self.n, max(self.c, 1)), dtype=gy.dtype)
        with np.errstate(invalid="ignore"):  # 0 * inf = nan for a kept row of weight 0 over a zero 'mean'
            g[xp.arange(self.n), self.t] = -self.wy * _row_scale(gy, self.reduction, self.denom, self.kept)
        return ce.classes_back(g[:, : self.c].astype(gy.dtype, copy=False), self.in_shape), None, None

    def backward_graph(self, gy, x, target, *maybe_weight):  # linear in x: a constant -w[y] onehot(y)
        xp = backend.get_array_module(x.array)
        coef = xp.zeros((self.n, max(self.c, 1)), dtype=x.dtype)
        coef[xp.arange(self.n), self.t] = -self.wy
        coef = coef[:, : self.c]
        coef = _class_axis_constant(coef, self.reduction, self.denom, self.kept, x.shape, extra=1)
        return tie(_per_row(gy, self.reduction, x) * Tensor(coef), x), None, None


def legacy_reduction(size_average: Any, reduce: Any, reduction: str, stacklevel: int = 3) -> str:
    """torch's deprecated ``size_average``/``reduce`` pair as a ``reduction``
    (torch.nn._reduction.legacy_get_string): both None keep ``reduction``; otherwise a None
    counts as True, reduce false gives 'none', else size_average false 'sum', else 'mean', with
    torch's deprecation warning (placed at the caller of the loss)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{result}' instead.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return result


def _reduction(reduction: str) -> str:
    """torch's deprecated alias 'elementwise_mean' of 'mean' (torch.nn._reduction.get_enum),
    with its warning; other values unchanged (checked by the loss)."""
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            UserWarning,
            stacklevel=3,
        )
        return "mean"
    return reduction


def _ce_inputs(op: str, x: Any, target: Any, weight: Any, reduction: str) -> tuple[Any, ...]:
    target = target if isinstance(target, Tensor) else Tensor(target)
    weight = None if weight is None else (weight if isinstance(weight, Tensor) else Tensor(weight, dtype=x.dtype))
    _check(op, x, target, weight, reduction)
    return (x, target) if weight is None else (x, target, weight)


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits against integer class targets, or against class probabilities
    (torch's two forms).

    input (N, C) or (N, C, d1, ...) or unbatched (C,); target (N,) or (N, d1, ...) or () of
    class indices, or a floating-point target of input's shape holding probabilities (see
    :func:`_cross_entropy_probabilities`); weight (C,). ``size_average``/``reduce``: torch's
    deprecated form of ``reduction``."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target, weight = autocast_state.widen(input, target, weight)
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    if not 0.0 <= label_smoothing <= 1.0:
        raise ShapeError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target_dtype = target.dtype if hasattr(target, "dtype") else np.asarray(target).dtype  # (no host read of a tensor)
    if np.dtype(target_dtype).kind == "f" and tuple(np.shape(target)) == tuple(input.shape):
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, float(label_smoothing))
    args = _ce_inputs("cross_entropy", input, target, weight, reduction)
    return CrossEntropy.apply(
        *args, ignore_index=ignore_index, reduction=reduction, label_smoothing=float(label_smoothing)
    )


def _cross_entropy_probabilities(
    x: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str, smoothing: float
) -> Tensor:
    """torch's second form: per sample, loss = -sum_c w_c t_c log softmax(x)_c, the target first
    smoothed to (1 - eps) t + eps / C. 'mean' divides by the number of samples (N times the
    extra dims), not by the weights. Written in ops, so its gradients (of any order, for x and
    for a target that requires grad) are theirs."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if ignore_index != -100:
        raise RuntimeError("cross_entropy: ignore_index is not supported for floating point target")
    _float_input("cross_entropy", x)
    target = target if isinstance(target, Tensor) else Tensor(target, dtype=x.dtype, device=x.device)
    axis = 0 if x.ndim == 1 else 1
    c = x.shape[axis]
    if smoothing:
        target = target * (1 - smoothing) + smoothing / c
    terms = target * log_softmax(x, axis)
    if weight is not None:
        weight = weight if isinstance(weight, Tensor) else Tensor(weight, dtype=x.dtype, device=x.device)
        if tuple(weight.shape) != (c,):
            raise ShapeError(f"cross_entropy: weight must have shape ({c},) for {c} classes, got {weight.shape}")
        terms = terms * weight.reshape((c,) + (1,) * (x.ndim - axis - 1))
    loss = -terms.sum(axis)
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities against integer class targets (shapes as
    :func:`cross_entropy`)."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target, weight = autocast_state.widen(input, target, weight)
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    args = _ce_inputs("nll_loss", input, target, weight, reduction)
    return NLLLoss.apply(*args, ignore_index=ignore_index, reduction=reduction)


def mse_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    """Mean squared error over the broadcast of ``input`` and ``target``.

    As torch: shapes that differ but broadcast give a UserWarning (it is usually a mistake,
    e.g. (N, 1) outputs against (N,) targets make an (N, N) loss) and are broadcast; the
    gradients of both are summed over the broadcast axes. Shapes that do not broadcast raise.

    ``weight`` (input's shape exactly, as torch 2.14 demands) scales each squared error
    (broadcast with it to the loss's shape); then 'mean' is sum(weight * (input - target)^2) /
    sum(weight) -- the sum of ``weight`` itself, not of its broadcast -- and 'sum', 'none' as
    usual. ``weight`` gets a gradient too when it requires one."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target, weight = autocast_state.widen(input, target, weight)
    target = _as_loss_tensor(target, input)
    _size_warning(input, target, "mse_loss")
    reduction = _weighted_reduction("mse_loss", legacy_reduction(size_average, reduce, reduction), weight)
    d = input - target
    sq = d * d
    if weight is not None:
        weight = _same_shape_weight("mse_loss", input, weight)
        sq = sq * weight
        if reduction == "mean":  # 0/0 = nan when every weight is 0, as in torch (which does not warn)
            with np.errstate(divide="ignore", invalid="ignore"):
                return sq.sum() / weight.sum()
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()


# -- pointwise losses: BCE, BCE with logits, L1, smooth L1, Huber, KL divergence --------------
#
# Each is an elementwise loss l(x, t) over the broadcast of input x and target t, optionally
# times a weight w, then reduced. One Function per loss: its ``pointwise`` gives l and the local
# derivatives dl/dx, dl/dt (same shapes, only those asked for); the shared base multiplies by w,
# reduces, and in backward scales, multiplies and sums each gradient back to its input's shape.
# Cost: a few elementwise passes over the broadcast shape, forward and backward alike.


def _as_loss_tensor(value: Any, like: Tensor) -> Tensor:
    """A target/weight given as an array or number becomes a Tensor of ``like``'s dtype and device."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value, dtype=like.dtype, device=like.device)


def _float_input(op: str, x: Any) -> None:
    require_float(x, op)


def _float_target(x: Tensor, t: Tensor) -> Tensor:
    """An integer or bool target counts as the input's dtype (torch promotes it so)."""
    return t if t.dtype.kind == "f" else Tensor(t.array, dtype=x.dtype)


def _size_warning(x: Tensor, t: Tensor, op: str, stacklevel: int = 3) -> None:
    """torch's warning for a target whose shape differs from the input's (then broadcast);
    shapes that do not broadcast raise."""
    if t.shape == x.shape:
        return
    try:
        np.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise ShapeError(f"{op}: input of shape {x.shape} and target of shape {t.shape} do not broadcast") from None
    warnings.warn(
        f"Using a target size {t.shape} that is different to the input size {x.shape}. "
        "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
        UserWarning,
        stacklevel=stacklevel,
    )


def _check_reduction(op: str, reduction: str, allowed: tuple[str, ...] = _REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (expected one of {allowed})")


def _not_differentiable(op: str, name: str, value: Tensor | None) -> None:
    """torch refuses a ``weight``/``pos_weight`` that requires grad in BCE (no derivative formula)."""
    if value is not None and value.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{op}: the function is not differentiable with respect to argument '{name}'. "
            "This input cannot have requires_grad True."
        )


class _PointwiseLoss(Function):
    """reduce(w * l(x, t)) for an elementwise l over the broadcast of x and t.

    Settings: ``reduction`` ('none', 'sum', 'mean'); ``divisor`` (the result is divided by
    it, default 1); ``dtype`` of the loss. Class attribute ``mean_by``: 'numel' (the mean over
    the loss's elements) or 'weight' (sum(w * l) / sum(w), the sum over w itself).
    Inputs: x, t and optionally w (broadcasting with l's shape). Gradients:
    dx = g w dl/dx, dt = g w dl/dt, dw = g l, each summed back over the broadcast axes; for
    the mean by weight g = gy / sum(w) and dw gets -g result more (sum(w) grows by 1 per element)."""

    mean_by = "numel"
    divisor = 1  # a further division of the reduced loss (kl_div's 'batchmean')

    def pointwise(self, x: Any, t: Any, need_x: bool, need_t: bool) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def graph(self, x: Tensor, t: Tensor) -> Tensor:
        """l(x, t) in differentiable ops, with pointwise's dl/dx and dl/dt as its derivatives
        (for ``create_graph=True``, through :meth:`composite`)."""
        raise NotImplementedError

    def forward(self, x, t, *maybe_w):
        need = self.needs_input_grad
        loss, self.dx, self.dt = self.pointwise(x, t, need[0], need[1])
        loss = loss.astype(self.dtype, copy=False)
        self.shapes = tuple(a.shape for a in (x, t, *maybe_w))
        self.w = maybe_w[0].astype(self.dtype, copy=False) if maybe_w else None
        wl = loss if self.w is None else loss * self.w
        self.out_shape = wl.shape
        if self.w is not None and self.requires_grad and need[2]:
            self.e = loss
        if self.reduction == "none":
            out = wl
        elif self.reduction == "sum":
            out = wl.sum()
        else:
            self.denom = self.w.sum() if self.mean_by == "weight" and self.w is not None else wl.size
            with np.errstate(divide="ignore", invalid="ignore"):  # an empty or all-zero-weight mean is nan
                out = self.result = wl.sum() / self.denom
        if self.divisor != 1:
            with np.errstate(divide="ignore", invalid="ignore"):  # kl_div's 'batchmean' of an empty batch: nan
                out = out / self.divisor
        return out.astype(self.dtype, copy=False)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        with np.errstate(divide="ignore", invalid="ignore"):  # (an all-zero-weight mean: nan, as torch)
            if self.divisor != 1:
                gy = gy / self.divisor
            if self.reduction == "mean":
                gy = gy / self.denom
            g = xp.broadcast_to(gy, self.out_shape)
            gl = g if self.w is None else g * self.w
        out = []
        with np.errstate(invalid="ignore"):
            for i, d in enumerate((self.dx, self.dt)):
                need = self.needs_input_grad[i]
                out.append(
                    unbroadcast(gl * d, self.shapes[i]).astype(self.inputs[i].dtype, copy=False) if need else None
                )
            if self.w is not None:
                gw = None
                if self.needs_input_grad[2]:
                    gw = unbroadcast(g * self.e, self.shapes[2])
                    if self.reduction == "mean" and self.mean_by == "weight":  # d sum(w) / dw = 1 per element of w
                        gw = gw - gy * self.result
                    gw = gw.astype(self.inputs[2].dtype, copy=False)
                out.append(gw)
        return tuple(out)

    def composite(self, x, t, *maybe_w):
        wl = self.graph(x, t).to(self.dtype)
        if maybe_w:
            wl = wl * maybe_w[0].to(self.dtype)
        if self.reduction == "none":
            out = wl
        elif self.reduction == "sum":
            out = wl.sum()
        else:
            by_weight = self.mean_by == "weight" and maybe_w
            out = wl.sum() / (maybe_w[0].to(self.dtype).sum() if by_weight else wl.numel())
        return out if self.divisor == 1 else out / self.divisor


_BCE_EPS = float(np.float32(1e-12))  # torch's bound is a C float: 9.99999996e-13


class BinaryCrossEntropy(_PointwiseLoss):
    """l = (t - 1) max(log(1 - x), -100) - t max(log x, -100)   (torch's clamp of the logs)

    dl/dx = (x - t) / max(x (1 - x), 1e-12);  dl/dt = log(1 - x) - log(x) (unclamped, as torch)."""

    def pointwise(self, x, t, need_x, need_t):
        xp = backend.get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_x, log_1mx = xp.log(x), xp.log1p(-x)
            loss = (t - 1) * xp.maximum(log_1mx, -100.0) - t * xp.maximum(log_x, -100.0)
            dx = (x - t) / xp.maximum((1 - x) * x, _BCE_EPS) if need_x else None
            dt = log_1mx - log_x if need_t else None
        return loss, dx, dt

    def backward_graph(self, gy, x, t, *maybe_w):  # the weight is a constant (torch refuses its gradient)
        g = gy if self.reduction != "mean" else gy / self.denom
        if maybe_w:
            g = g * Tensor(self.w)
        gx = g * (x - t) / clamp(x * (1 - x), min=_BCE_EPS) if self.needs_input_grad[0] else None
        gt = g * (log1p(-x) - log(x)) if self.needs_input_grad[1] else None
        return gx, gt, None


class BinaryCrossEntropyWithLogits(_PointwiseLoss):
    """With L = 1 + (p - 1) t (p = pos_weight, 1 when absent) and ls = log sigmoid:

    l = (1 - t) x - L ls(x);  dl/dx = L sigmoid(x) - p t;  dl/dt = ls(-x) - p ls(x)
    (= -x without pos_weight)."""

    def pointwise(self, x, t, need_x, need_t):
        ls = _log_sigmoid(x)
        p = self.pos_weight
        big_l = 1 if p is None else (p - 1) * t + 1
        loss = (1 - t) * x - big_l * ls
        dx = dt = None
        if need_x:
            dx = _sigmoid(x) - t if p is None else big_l * _sigmoid(x) - p * t
        if need_t:
            dt = -x if p is None else _log_sigmoid(-x) - p * ls
        return loss, dx, dt

    def graph(self, x, t):
        big_l = 1 if self.pos_weight is None else (Tensor(self.pos_weight) - 1) * t + 1
        return (1 - t) * x - big_l * LogSigmoid.apply(x)


class L1(_PointwiseLoss):
    """l = |x - t|;  dl/dx = sign(x - t) (0 at x = t), dl/dt = -dl/dx."""

    mean_by = "weight"  # used only when a weight is given: sum(w l) / sum(w), as torch

    def pointwise(self, x, t, need_x, need_t):
        d = x - t
        xp = backend.get_array_module(d)
        s = xp.sign(d) if need_x or need_t else None
        if s is not None and s.dtype.kind == "f":
            s = xp.where(s != s, 0, s)  # torch's sign(NaN) is 0 (as abs's backward)
        return abs(d), s, None if s is None else -s

    def graph(self, x, t):
        return (x - t).abs()


class SmoothL1(_PointwiseLoss):
    """l = 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - t);
    dl/dx = clip(d / beta, -1, 1), dl/dt = -dl/dx."""

    def pointwise(self, x, t, need_x, need_t):
        xp = backend.get_array_module(x)
        d = x - t
        z = xp.abs(d)
        loss = xp.where(z < self.beta, 0.5 * d * d / self.beta, z - 0.5 * self.beta)
        g = xp.clip(d / self.beta, -1, 1) if need_x or need_t else None
        return loss, g, None if g is None else -g

    def graph(self, x, t):
        d = x - t
        z = d.abs()
        return where(z.array < self.beta, 0.5 * d * d / self.beta, z - 0.5 * self.beta)


class Huber(_PointwiseLoss):
    """l = 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = x - t);
    dl/dx = clip(d, -delta, delta), dl/dt = -dl/dx. With a weight 'mean' is over the elements
    (torch's ``weighted_loss.mean()``, unlike l1_loss's sum(w l) / sum(w))."""

    def pointwise(self, x, t, need_x, need_t):
        xp = backend.get_array_module(x)
        d = x - t
        z = xp.abs(d)
        loss = xp.where(z < self.delta, 0.5 * d * d, self.delta * (z - 0.5 * self.delta))
        g = xp.clip(d, -self.delta, self.delta) if need_x or need_t else None
        return loss, g, None if g is None else -g

    def graph(self, x, t):
        d = x - t
        z = d.abs()
        return where(z.array < self.delta, 0.5 * d * d, self.delta * (z - 0.5 * self.delta))


class KLDiv(_PointwiseLoss):
    """log_target False: l = t log t - t x (0 where t = 0), dl/dx = -t, dl/dt = log t + 1 - x
    (nan at t = 0, as torch's xlogy gradient t/t gives);
    log_target True: l = e^t (t - x), dl/dx = -e^t, dl/dt = e^t (t - x + 1)."""

    def pointwise(self, x, t, need_x, need_t):
        xp = backend.get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.log_target:
                et = xp.exp(t)
                loss = et * (t - x)
                dx = -et if need_x else None
                dt = et * (t - x + 1) if need_t else None
            else:
                log_t = xp.log(t)
                loss = xp.where(t == 0, 0, t * log_t) - t * x
                dx = -t if need_x else None
                dt = log_t + t / t - x if need_t else None
        return loss, dx, dt

    def graph(self, x, t):
        if self.log_target:
            return t.exp() * (t - x)
        return where(t.array == 0, 0.0, t * t.log()) - t * x


def _same_shape_weight(op: str, x: Tensor, weight: Any) -> Tensor:
    weight = _as_loss_tensor(weight, x)
    if weight.shape != x.shape:
        raise ShapeError(
            f"{op}: weight of shape {weight.shape} must have the input's shape {x.shape} "
            "(torch: Weights and input must have the same size.)"
        )
    return weight


def _broadcast_to_input(op: str, name: str, x: Tensor, value: Tensor, *others: Tensor) -> None:
    """``value`` (with ``others``) must broadcast to exactly the input's shape (torch writes
    the loss in place into an input-shaped tensor)."""
    shapes = [x.shape, value.shape] + [o.shape for o in others]
    try:
        ok = np.broadcast_shapes(*shapes) == x.shape
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{op}: {name} of shape {value.shape} does not broadcast to the input's shape {x.shape}")


def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against ``target`` in [0, 1].

    input and target: any shape, the same (torch raises otherwise); weight broadcasts to it.
    loss = -w (t log x + (1 - t) log(1 - x)) with each log clamped at -100, as torch, so
    probabilities 0 and 1 give finite losses. An input or target outside [0, 1] (or nan) raises
    RuntimeError with torch's message. ``weight`` is not differentiable (torch refuses one that
    requires grad); ``target`` is."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target, weight = autocast_state.widen(input, target, weight)
    op = "binary_cross_entropy"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    _float_input(op, input)
    target = _as_loss_tensor(target, input)
    if target.shape != input.shape:
        raise ValueError(
            f"{op}: Using a target size {target.shape} that is different to the input size {input.shape} "
            "is deprecated. Please ensure they have the same size."
        )
    if target.dtype != input.dtype:
        raise DtypeError(f"{op}: target dtype {target.dtype} must equal the input's dtype {input.dtype}")
    args = [input, target]
    if weight is not None:
        weight = _as_loss_tensor(weight, input)
        _broadcast_to_input(op, "weight", input, weight, target)
        _not_differentiable(op, "weight", weight)
        args.append(weight)
    with backend.array_scope(input.array):  # the check runs on the input's GPU
        for name, a in (("input", input.array), ("target", target.array)):
            backend.raise_if(
                (~((a >= 0) & (a <= 1))).any(), RuntimeError, f"{op}: all elements of {name} should be between 0 and 1"
            )
    return BinaryCrossEntropy.apply(*args, reduction=reduction, dtype=input.dtype)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Binary cross-entropy of logits (sigmoid folded in, stable for any logit).

    input and target: the same shape (torch raises otherwise); weight and pos_weight (the
    weight of positive targets, typically (C,) for (N, C) input) broadcast to it.
    loss = w ((1 - t) x - (1 + (p - 1) t) log sigmoid(x)). The loss has the result dtype of
    input and target. Gradients for input and target; torch refuses a weight or pos_weight that
    requires grad, and so does this."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target, weight, pos_weight = autocast_state.widen(input, target, weight, pos_weight)
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    _float_input(op, input)
    target = _float_target(input, _as_loss_tensor(target, input))
    if target.shape != input.shape:
        raise ValueError(f"{op}: Target size {target.shape} must be the same as input size {input.shape}")
    dtype = np.result_type(input.dtype, target.dtype)
    args = [input, target]
    if weight is not None:
        weight = _as_loss_tensor(weight, input)
        _broadcast_to_input(op, "weight", input, weight)
        _not_differentiable(op, "weight", weight)
        args.append(weight)
    pw = None
    if pos_weight is not None:
        pos_weight = _as_loss_tensor(pos_weight, input)
        _broadcast_to_input(op, "pos_weight", input, pos_weight)
        _not_differentiable(op, "pos_weight", pos_weight)
        if pos_weight.device != input.device:  # (passed to the op as a raw array, so apply cannot check it)
            raise RuntimeError(
                f"{op}: expected all tensors on one device, got pos_weight on {pos_weight.device}, "
                f"input on {input.device}"
            )
        with backend.array_scope(input.array):
            pw = pos_weight.array.astype(dtype, copy=True)  # the node keeps it: later writes must not reach it
    return BinaryCrossEntropyWithLogits.apply(*args, reduction=reduction, dtype=dtype, pos_weight=pw)


def _regression_args(op: str, input: Tensor, target: Any) -> tuple[Tensor, Tensor]:
    _float_input(op, input)
    target = _float_target(input, _as_loss_tensor(target, input))
    _size_warning(input, target, op, stacklevel=4)
    return input, target


def _weighted_reduction(op: str, reduction: str, weight: Any) -> str:
    """Without a weight 'elementwise_mean' is torch's deprecated 'mean'; torch's weighted
    path refuses it."""
    if weight is None:
        reduction = _reduction(reduction)
    _check_reduction(op, reduction)
    return reduction


def l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    """Mean absolute error over the broadcast of ``input`` and ``target`` (torch warns when
    their shapes differ, as here). ``weight`` (the input's shape exactly) scales each error;
    'mean' is then sum(w |x - t|) / sum(w), as torch. Gradients for input, target and weight."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target, weight = autocast_state.widen(input, target, weight)
    op = "l1_loss"
    input, target = _regression_args(op, input, target)
    reduction = _weighted_reduction(op, legacy_reduction(size_average, reduce, reduction), weight)
    args = [input, target] + ([] if weight is None else [_same_shape_weight(op, input, weight)])
    dtype = np.result_type(input.dtype, target.dtype)
    return L1.apply(*args, reduction=reduction, dtype=dtype)


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Smooth L1 over the broadcast of ``input`` and ``target``: 0.5 d^2 / beta where
    |d| < beta, |d| - 0.5 beta elsewhere; beta = 0 is the L1 loss; beta < 0 raises."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target = autocast_state.widen(input, target)
    op = "smooth_l1_loss"
    input, target = _regression_args(op, input, target)
    reduction = _reduction(legacy_reduction(size_average, reduce, reduction))
    _check_reduction(op, reduction)
    if beta < 0:
        raise RuntimeError(f"{op} does not support negative values for beta, got beta={beta}.")
    dtype = np.result_type(input.dtype, target.dtype)
    if beta == 0.0:
        return L1.apply(input, target, reduction=reduction, dtype=dtype)
    return SmoothL1.apply(input, target, reduction=reduction, dtype=dtype, beta=float(beta))


def huber_loss(
    input: Tensor,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Any = None,
) -> Tensor:
    """Huber loss over the broadcast of ``input`` and ``target``: 0.5 d^2 where |d| < delta,
    delta (|d| - 0.5 delta) elsewhere; delta must be positive. The loss has the input's dtype
    (as torch's). ``weight`` (the input's shape exactly) scales each term; 'mean' is then the
    plain mean of w l over its elements (torch's choice, unlike :func:`l1_loss`)."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target = autocast_state.widen(input, target)
    op = "huber_loss"
    input, target = _regression_args(op, input, target)
    reduction = _weighted_reduction(op, reduction, weight)
    if delta <= 0:
        raise RuntimeError(f"{op} does not support non-positive values for delta, got delta={delta}.")
    args = [input, target] + ([] if weight is None else [_same_shape_weight(op, input, weight)])
    return Huber.apply(*args, reduction=reduction, dtype=input.dtype, delta=float(delta))


def kl_div(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence of log-probabilities ``input`` from ``target``
    (probabilities, or log-probabilities with ``log_target``), over their broadcast.

    Pointwise t (log t - x) (0 where t = 0), or e^t (t - x) with log_target. Reductions as
    torch: 'batchmean' is the sum over input.shape[0] (the KL divergence per sample; no division
    for a 0-d input); 'mean' (over every element) warns that it will become 'batchmean'. As
    torch, the division for 'batchmean' follows the ``reduction`` argument even when the legacy
    ``size_average``/``reduce`` pair set the reduction. Gradients for input and target."""
    if autocast_state.active:  # mc.autocast: torch's float32 list (minicnn/amp)
        input, target = autocast_state.widen(input, target)
    op = "kl_div"
    _float_input(op, input)
    target = _float_target(input, _as_loss_tensor(target, input))
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: input of shape {input.shape} and target of shape {target.shape} do not broadcast"
        ) from None
    if size_average is not None or reduce is not None:
        applied = legacy_reduction(size_average, reduce, reduction)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                UserWarning,
                stacklevel=2,
            )
        _check_reduction(op, reduction, _REDUCTIONS + ("batchmean", "elementwise_mean"))
        applied = "sum" if reduction == "batchmean" else _reduction(reduction)
    dtype = np.result_type(input.dtype, target.dtype)
    divisor = input.shape[0] if reduction == "batchmean" and input.ndim != 0 else 1
    return KLDiv.apply(input, target, reduction=applied, dtype=dtype, log_target=bool(log_target), divisor=divisor)
