"""Connectionist temporal classification (CTC): the forward (alpha) and backward (beta)
recursions in log space, vectorised over the batch and the label positions.

Shapes: ``log_probs`` (T, N, C) log-probabilities (log_softmax outputs); ``targets`` (N, S)
padded integer labels; ``input_lengths`` and ``target_lengths`` (N,) integers, on the same
device as ``log_probs``. The extended label sequence of sample n is
``l' = (blank, l_1, blank, l_2, ..., l_S, blank)``, L = 2S+1 positions; position s of l' may be
reached at time t from s (stay), s-1 (advance) and s-2 when l'_s is a label that differs from
l'_{s-2} (skip a blank between two different labels).

    log alpha_t(s) = log p_t(l'_s) + logsumexp(log alpha_{t-1}(s), log alpha_{t-1}(s-1), [log alpha_{t-1}(s-2)])
    log beta_t(s)  = log p_t(l'_s) + logsumexp(log beta_{t+1}(s), log beta_{t+1}(s+1), [log beta_{t+1}(s+2)])
    nll = -logsumexp(log alpha_{T_n-1}(2 S_n), log alpha_{T_n-1}(2 S_n - 1))

Both alpha and beta include the emission at t (as torch's), so alpha_t(s) beta_t(s) / p_t(l'_s)
is the probability of all paths through (t, s). The gradient is torch's, which assumes the
log_probs are log_softmax outputs (it is the gradient with respect to the logits):

    grad[t, n, c] = exp(log_probs[t, n, c]) - sum_{s: l'_s = c} exp(log alpha_t(s) + log beta_t(s) + nll - log p_t(c))

for t < T_n, 0 afterwards; an infeasible sample (nll = inf) gets NaN, as in torch. A blank
inside the targets (invalid in torch's documentation) gets the same loss as torch's and the
exact derivative of it; torch's CPU kernel there drops a term at the last step.

Cost: O(T N S) time and memory for alpha and beta (T N (2S+1) each), O(T N C) for the
gradient (the result and one more (T, N, C) array); a Python loop over the T time steps
(inherent to the recursion), none over the batch. The recursions keep alpha and beta with two
-inf columns on one side, so s-1 and s-2 (s+1, s+2) are plain slices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from .scatter import add_at


def extended_labels(targets: Any, target_lengths: Any, blank: int) -> tuple[Any, Any, Any]:
    """The extended labels l' (N, 2S+1), which positions each sample uses (s < 2 S_n + 1), and
    where the skip from s-2 is allowed (l'_s a label other than l'_{s-2}), both (N, 2S+1) bool."""
    xp = backend.get_array_module(targets)
    n, s = targets.shape
    ext = xp.full((n, 2 * s + 1), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    valid = xp.arange(2 * s + 1)[None, :] < (2 * target_lengths + 1)[:, None]
    skip = xp.zeros((n, 2 * s + 1), dtype=bool)
    skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    return ext, valid, skip


def _emissions(log_probs: Any, ext: Any) -> Any:
    """log p_t(l'_s) (T, N, 2S+1)."""
    xp = backend.get_array_module(log_probs)
    t_max, n, length = log_probs.shape[0], *ext.shape
    return xp.take_along_axis(log_probs, xp.broadcast_to(ext[None], (t_max, n, length)), axis=2)


def ctc_forward(log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any, blank: int) -> tuple[Any, Any]:
    """Per-sample negative log-likelihoods (N,) and log alpha (T, N, 2S+1). Cost: O(T N S) time
    and the (T, N, 2S+1) alpha; a Python loop over the T steps, vectorised over batch and states."""
    xp = backend.get_array_module(log_probs)
    t_max, n, _ = log_probs.shape
    ext, valid, skip = extended_labels(targets, target_lengths, blank)
    length = ext.shape[1]
    neg_inf = log_probs.dtype.type(-np.inf)
    emit = xp.where(valid, _emissions(log_probs, ext), neg_inf)  # -inf at the positions a sample does not use
    skip_bias = xp.where(skip, log_probs.dtype.type(0), neg_inf)  # adds -inf where the skip is not allowed
    # two -inf columns in front: padded[..., 2:] is s, [..., 1:-1] is s-1, [..., :-2] is s-2
    padded = xp.full((t_max, n, length + 2), neg_inf, dtype=log_probs.dtype)
    padded[0, :, 2:4] = emit[0, :, :2]
    for t in range(1, t_max):
        prev = padded[t - 1]
        reach = xp.logaddexp(prev[:, 2:], prev[:, 1:-1])
        xp.logaddexp(reach, prev[:, :-2] + skip_bias, out=reach)
        xp.add(reach, emit[t], out=padded[t, :, 2:])
    log_alpha = padded[..., 2:]
    last = xp.maximum(input_lengths - 1, 0)
    rows = xp.arange(n)
    end = log_alpha[last, rows, 2 * target_lengths]
    before = log_alpha[last, rows, xp.maximum(2 * target_lengths - 1, 0)]
    log_likelihood = xp.logaddexp(end, xp.where(target_lengths > 0, before, neg_inf))
    empty = xp.where(target_lengths == 0, log_probs.dtype.type(0), neg_inf)  # no time steps at all
    log_likelihood = xp.where(input_lengths == 0, empty, log_likelihood)
    return -log_likelihood, log_alpha


def ctc_backward(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int,
    nll: Any,
    log_alpha: Any,
    scale: Any,
    zero_infinity: bool,
) -> Any:
    """torch's gradient with respect to log_probs (T, N, C) of sum_n scale[n] nll[n]. Memory:
    the result and one more (T, N, C) array, besides (T, N, 2S+1) ones."""
    xp = backend.get_array_module(log_probs)
    t_max, n, c = log_probs.shape
    ext, valid, skip = extended_labels(targets, target_lengths, blank)
    length = ext.shape[1]
    neg_inf = log_probs.dtype.type(-np.inf)
    lpe = _emissions(log_probs, ext)
    emit = xp.where(valid, lpe, neg_inf)
    last = (input_lengths - 1)[:, None]
    positions = xp.arange(length)[None, :]
    ends = valid & ((positions == 2 * target_lengths[:, None]) | (positions == 2 * target_lengths[:, None] - 1))
    skip_bias = xp.zeros((n, length), dtype=log_probs.dtype)
    skip_bias[:, :-2] = xp.where(skip[:, 2:], log_probs.dtype.type(0), neg_inf)  # the skip from s into s+2
    # two -inf columns behind: padded[..., :-2] is s, [..., 1:-1] is s+1, [..., 2:] is s+2
    padded = xp.full((t_max + 1, n, length + 2), neg_inf, dtype=log_probs.dtype)  # row t_max: nothing after
    for t in range(t_max - 1, -1, -1):
        nxt = padded[t + 1]
        reach = xp.logaddexp(nxt[:, :-2], nxt[:, 1:-1])
        xp.logaddexp(reach, nxt[:, 2:] + skip_bias, out=reach)
        reach += emit[t]
        padded[t, :, :-2] = xp.where(t < last, reach, xp.where((t == last) & ends, emit[t], neg_inf))
    log_beta = padded[:t_max, :, :-2]
    # posterior occupancy of (t, s); NaN for an infeasible sample (-inf + inf), as torch's
    occupancy = xp.exp(log_alpha + log_beta + nll[None, :, None] - lpe)
    del emit, lpe
    grid = (xp.arange(t_max)[:, None, None], xp.arange(n)[None, :, None], ext[None])
    grad = xp.exp(log_probs)
    add_at(grad, grid, -occupancy)
    del occupancy
    fill = log_probs.dtype.type(0 if zero_infinity else np.nan)
    grad *= scale[None, :, None]
    active = xp.arange(t_max)[:, None, None] < input_lengths[None, :, None]
    infeasible = xp.isinf(nll)[None, :, None]
    return xp.where(active & ~infeasible, grad, xp.where(active, fill, log_probs.dtype.type(0))).astype(
        log_probs.dtype, copy=False
    )


def ctc_reference(
    log_probs: np.ndarray, targets: np.ndarray, input_lengths: Any, target_lengths: Any, blank: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Slow reference (tests only): plain loops over samples, times and positions, in float64
    and in probability ratios summed by ``math``. Returns (nll (N,), torch's gradient of
    sum(nll) with respect to log_probs (T, N, C))."""
    lp = np.asarray(log_probs, dtype=np.float64)
    t_max, n, c = lp.shape
    nll = np.zeros(n)
    grad = np.zeros_like(lp)
    for b in range(n):
        steps, tl = int(input_lengths[b]), int(target_lengths[b])
        ext = [blank]
        for label in targets[b][:tl]:
            ext += [int(label), blank]
        length = len(ext)

        def lse(values: list[float]) -> float:
            values = [v for v in values if v != -math.inf]
            if not values:
                return -math.inf
            top = max(values)
            return top + math.log(sum(math.exp(v - top) for v in values))

        alpha = [[-math.inf] * length for _ in range(steps)]
        beta = [[-math.inf] * length for _ in range(steps)]
        for t in range(steps):
            for s in range(length):
                emit = lp[t, b, ext[s]]
                if t == 0:
                    alpha[t][s] = emit if s < 2 else -math.inf
                    continue
                prev = [alpha[t - 1][s]] + ([alpha[t - 1][s - 1]] if s >= 1 else [])
                if s >= 2 and ext[s] != ext[s - 2]:
                    prev.append(alpha[t - 1][s - 2])
                alpha[t][s] = lse(prev) + emit
        for t in reversed(range(steps)):
            for s in range(length):
                emit = lp[t, b, ext[s]]
                if t == steps - 1:
                    beta[t][s] = emit if s >= length - 2 else -math.inf
                    continue
                nxt = [beta[t + 1][s]] + ([beta[t + 1][s + 1]] if s + 1 < length else [])
                if s + 2 < length and ext[s + 2] != ext[s]:
                    nxt.append(beta[t + 1][s + 2])
                beta[t][s] = lse(nxt) + emit
        if steps == 0:
            nll[b] = 0.0 if tl == 0 else math.inf
            continue
        nll[b] = -lse(alpha[steps - 1][length - 2 :])
        for t in range(steps):
            for k in range(c):
                grad[t, b, k] = math.exp(lp[t, b, k])
            for s in range(length):
                if nll[b] == math.inf:
                    grad[t, b, :] = math.nan
                elif alpha[t][s] != -math.inf and beta[t][s] != -math.inf:
                    grad[t, b, ext[s]] -= math.exp(alpha[t][s] + beta[t][s] + nll[b] - lp[t, b, ext[s]])
    return nll, grad
