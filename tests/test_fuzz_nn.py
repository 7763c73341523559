"""Differential fuzzer (seeded, trimmed) of nn layers and losses against torch.

Each case draws a layer family and a random configuration, valid or not: convolutions and transposed
convolutions (padding strings and modes, dilation, groups, output_padding, ``output_size=``), pooling
(max / avg / LP / adaptive / unpool / fractional with given samples), normalisation layers (running
statistics, momentum None, eval mode, affine flags), resampling and padding (``F.interpolate`` in every
mode, ``F.pad`` with negative pads, pixel (un)shuffle, fold / unfold), losses and embeddings. The layer
is built in both libraries with the same parameters (torch's state dict copied into minicnn's), run
forward and backward at float64 on a random input (batched or unbatched), and compared: output values,
shapes and dtypes, input and parameter gradients, the state dict after the step (running statistics,
``num_batches_tracked``, an embedding weight renormalised by ``max_norm``), and exceptions (type; both
raise or neither) at construction, forward and backward.

The full fuzzer runs thousands of cases; here a few dozen per family, so the file takes seconds.
A failure names the seed: ``run_nn(seed)`` replays it.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from conftest import as_numpy, attempt, error_names, finite_scale, same_builtin_error, tensors_differ

import minicnn as mc


@dataclass
class Case:
    """One drawn program: modules ``(name, args, kwargs)`` built in each library, then ``call(lib, modules,
    inputs)`` (default: the first module on the inputs); ``grads[i]``: input i requires grad."""

    family: str
    modules: list[tuple[str, tuple[Any, ...], dict[str, Any]]]
    inputs: list[np.ndarray]
    grads: list[bool]
    call: Callable[[Any, list[Any], list[Any]], Any] | None = None
    train: bool = True
    passes: int = 1
    dtype: str = "float64"
    strided: bool = False
    note: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inputs = [np.asarray(a) for a in self.inputs]


def flip(r: random.Random, p: float = 0.5) -> bool:
    return r.random() < p


def per_dim(r: random.Random, d: int, lo: int, hi: int) -> Any:
    """An int, or a d-tuple of ints, in [lo, hi]."""
    return r.randint(lo, hi) if flip(r) else tuple(r.randint(lo, hi) for _ in range(d))


def spatial_input(r: random.Random, rs: np.random.RandomState, c: int, d: int, lo: int = 1, hi: int = 6) -> np.ndarray:
    """(N, C, *S) or, sometimes, unbatched (C, *S)."""
    shape = [r.randint(lo, hi) for _ in range(d)]
    lead = [c] if flip(r, 0.25) else [r.randint(1, 2), c]
    return rs.randn(*lead, *shape)


# -- convolutions -------------------------------------------------------------------------------------
def draw_conv(r: random.Random, rs: np.random.RandomState) -> Case:
    d, transpose = r.randint(1, 3), flip(r, 0.4)
    groups = r.choice([1, 1, 2, 3]) if flip(r, 0.97) else 0
    g = max(groups, 1)
    cin, cout = g * r.randint(1, 2), g * r.randint(1, 2) + (1 if flip(r, 0.05) else 0)
    kw: dict[str, Any] = dict(stride=per_dim(r, d, 1, 2), dilation=per_dim(r, d, 1, 2), groups=groups, bias=flip(r))
    k = per_dim(r, d, 1, 3)
    call = None
    if transpose:
        kw["padding"] = per_dim(r, d, 0, 2)
        kw["output_padding"] = per_dim(r, d, 0, 1)
        if flip(r, 0.1):
            kw["padding_mode"] = r.choice(["reflect", "zeros"])
        if flip(r, 0.3):
            extra = r.choice([0, 0, 1, 2])

            def call(lib: Any, mods: list[Any], xs: list[Any]) -> Any:
                x, m = xs[0], mods[0]
                size = [
                    (x.shape[-d + i] - 1) * m.stride[i] - 2 * m.padding[i] + m.dilation[i] * (m.kernel_size[i] - 1) + 1
                    for i in range(d)
                ]
                return m(x, output_size=[s + extra for s in size])
    else:
        kw["padding"] = r.choice([per_dim(r, d, 0, 2), per_dim(r, d, 0, 1), "same", "valid"])
        if kw["padding"] == "same" and flip(r, 0.8):
            kw["stride"] = 1
        kw["padding_mode"] = r.choice(["zeros", "zeros", "reflect", "replicate", "circular"])
    name = f"Conv{'Transpose' if transpose else ''}{d}d"
    x = spatial_input(r, rs, cin, d, 1, 6)
    return Case(name, [(name, (cin, cout, k), kw)], [x], [True], call)


# -- pooling ------------------------------------------------------------------------------------------
def draw_pool(r: random.Random, rs: np.random.RandomState) -> Case:
    d = r.randint(1, 3)
    kind = r.choice(["Max", "Max", "Avg", "Avg", "LP", "AdaptiveAvg", "AdaptiveMax", "Unpool", "Fractional"])
    c = r.randint(1, 3)
    x = spatial_input(r, rs, c, d, 1, 7)
    k = per_dim(r, d, 1, 3)
    stride = None if flip(r, 0.3) else per_dim(r, d, 1, 3)
    pad = per_dim(r, d, 0, 1) if flip(r, 0.5) else 0
    if kind == "Max":
        kw = dict(stride=stride, padding=pad, dilation=per_dim(r, d, 1, 2), return_indices=flip(r), ceil_mode=flip(r))
        return Case(f"MaxPool{d}d", [(f"MaxPool{d}d", (k,), kw)], [x], [True])
    if kind == "Avg":
        kw = dict(stride=stride, padding=pad, ceil_mode=flip(r), count_include_pad=flip(r))
        if d > 1 and flip(r, 0.3):
            kw["divisor_override"] = r.choice([1, 3, 0])
        return Case(f"AvgPool{d}d", [(f"AvgPool{d}d", (k,), kw)], [x], [True])
    if kind == "LP":
        x = np.abs(x) + 0.1 if flip(r, 0.7) else x
        if d == 1:  # torch's LPPool1d multiplies by kernel_size: a tuple raises TypeError there
            k, stride = r.randint(1, 3), None if stride is None else r.randint(1, 3)
        norm = r.choice([1, 2, 3, 1.5])
        return Case(f"LPPool{d}d", [(f"LPPool{d}d", (norm, k, stride), dict(ceil_mode=flip(r)))], [x], [True])
    if kind.startswith("Adaptive"):
        out = tuple(None if flip(r, 0.2) else r.randint(1, 4) for _ in range(d))
        size = out if d > 1 else out[0]
        kw = dict(return_indices=flip(r)) if kind == "AdaptiveMax" else {}
        if d == 1 and size is None:
            size = 2
        return Case(f"{kind}Pool{d}d", [(f"{kind}Pool{d}d", (size,), kw)], [x], [True])
    if kind == "Unpool":
        pool_kw = dict(stride=stride, padding=pad, return_indices=True)
        give_size = flip(r, 0.3)

        def call(lib: Any, mods: list[Any], xs: list[Any]) -> Any:
            out, idx = mods[0](xs[0])
            size = list(xs[0].shape[-d:]) if give_size else None
            return mods[1](out, idx, output_size=size)

        return Case(f"MaxUnpool{d}d", [(f"MaxPool{d}d", (k,), pool_kw), (f"MaxUnpool{d}d", (k, stride, pad), {})], [x],
                    [True], call)  # fmt: skip
    d = r.randint(2, 3)
    x = spatial_input(r, rs, c, d, 2, 7)
    n = x.shape[0] if x.ndim == d + 2 else 1
    samples = rs.rand(n, c, d)
    kw = dict(return_indices=flip(r), _random_samples=torch.tensor(samples))
    kw["output_size" if flip(r) else "output_ratio"] = per_dim(r, d, 1, 2) if flip(r) else r.choice([0.5, 0.7])
    if "output_ratio" in kw and isinstance(kw["output_ratio"], int):
        kw["output_ratio"] = 0.5
    return Case(f"FractionalMaxPool{d}d", [(f"FractionalMaxPool{d}d", (per_dim(r, d, 1, 2),), kw)], [x], [True])


# -- normalisation ------------------------------------------------------------------------------------
def draw_norm(r: random.Random, rs: np.random.RandomState) -> Case:
    kind = r.choice(["BatchNorm", "BatchNorm", "InstanceNorm", "GroupNorm", "LayerNorm", "LocalResponseNorm"])
    c = r.randint(1, 4)
    train = flip(r, 0.7)
    if kind in ("BatchNorm", "InstanceNorm"):
        d = r.randint(1, 3)
        kw = dict(eps=r.choice([1e-5, 0.1]), momentum=r.choice([0.1, None, 0.5]), affine=flip(r),
                  track_running_stats=flip(r))  # fmt: skip
        if kind == "BatchNorm" and d == 1 and flip(r, 0.4):
            x = rs.randn(r.randint(1, 4), c)
        elif kind == "InstanceNorm" and flip(r, 0.3):
            x = rs.randn(c, *[r.randint(1, 4) for _ in range(d)])
        else:
            x = rs.randn(r.randint(1, 3), c, *[r.randint(1, 4) for _ in range(d)])
        return Case(f"{kind}{d}d", [(f"{kind}{d}d", (c,), kw)], [x], [True], train=train, passes=r.randint(1, 2))
    if kind == "GroupNorm":
        g = r.choice([1, 2, 3])
        c = g * r.randint(1, 2) + (1 if flip(r, 0.1) else 0)
        x = rs.randn(r.randint(1, 3), c, *[r.randint(1, 3) for _ in range(r.randint(0, 2))])
        return Case(kind, [(kind, (g, c), dict(eps=r.choice([1e-5, 0.1]), affine=flip(r)))], [x], [True])
    if kind == "LayerNorm":
        shape = [r.randint(1, 3) for _ in range(r.randint(1, 4))]
        k = r.randint(1, len(shape))
        ns = shape[-k:] if flip(r, 0.9) else [s + 1 for s in shape[-k:]]
        ns_arg = ns[0] if len(ns) == 1 and flip(r) else tuple(ns)
        kw = dict(elementwise_affine=flip(r, 0.7), bias=flip(r, 0.7), eps=r.choice([1e-5, 0.1]))
        return Case(kind, [(kind, (ns_arg,), kw)], [rs.randn(*shape)], [True])
    x = rs.randn(r.randint(1, 2), c, *[r.randint(1, 3) for _ in range(r.randint(1, 3))])
    kw = dict(alpha=r.choice([1e-4, 0.5]), beta=r.choice([0.75, 1.5]), k=r.choice([1.0, 2.0]))
    return Case(kind, [(kind, (r.randint(1, 4),), kw)], [x], [True])


# -- resampling, padding, pixel and fold layers --------------------------------------------------------
MODES = ["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"]
MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def draw_resample(r: random.Random, rs: np.random.RandomState) -> Case:
    kind = r.choice(["interpolate", "interpolate", "Upsample", "pad", "pad", "PixelShuffle", "PixelUnshuffle", "fold"])
    if kind in ("interpolate", "Upsample"):
        mode = r.choice(MODES)
        d = MODE_DIMS.get(mode, r.randint(1, 3)) if flip(r, 0.9) else r.randint(1, 3)
        x = rs.randn(r.randint(1, 2), r.randint(1, 2), *[r.randint(1, 5) for _ in range(d)])
        kw: dict[str, Any] = dict(mode=mode)
        if flip(r):
            kw["size"] = per_dim(r, d, 1, 7)
        else:
            kw["scale_factor"] = r.choice([2, 0.5, 1.7, 3.0, (1.5,) * d, 0.3])
        if mode in ("linear", "bilinear", "bicubic", "trilinear") or flip(r, 0.1):
            kw["align_corners"] = r.choice([None, True, False])
        if kind == "interpolate":
            if "scale_factor" in kw and flip(r):
                kw["recompute_scale_factor"] = flip(r)
            if flip(r, 0.5 if mode in ("bilinear", "bicubic") else 0.05):
                kw["antialias"] = True
            return Case(
                kind,
                [],
                [x],
                [True],
                lambda lib, mods, xs: lib.nn.functional.interpolate(xs[0], **kw),
                note=dict(antialias=kw.get("antialias", False)),
            )
        return Case(kind, [(kind, (), kw)], [x], [True])
    if kind == "pad":
        mode = r.choice(["constant", "constant", "reflect", "replicate", "circular"])
        d = r.randint(1, 3)
        x = rs.randn(*[r.randint(1, 2) for _ in range(r.randint(0, 2))], *[r.randint(1, 4) for _ in range(d)])
        pads = tuple(r.randint(-2 if mode == "constant" or flip(r, 0.1) else 0, 3) for _ in range(2 * r.randint(1, d)))
        if mode == "circular" and min(pads) < 0:  # torch 2.14 reads uninitialised memory when a pad wraps past
            sizes = x.shape[::-1]  # the cropped size; minicnn raises there (ShapeError)
            pads = tuple(min(p, sizes[i // 2] - max(-pads[i - i % 2], 0) - max(-pads[i - i % 2 + 1], 0))
                         for i, p in enumerate(pads))  # fmt: skip
        value = r.choice([0.0, 1.5]) if mode == "constant" else None
        return Case(kind, [], [x], [True], lambda lib, mods, xs: lib.nn.functional.pad(xs[0], pads, mode, value))
    if kind in ("PixelShuffle", "PixelUnshuffle"):
        f = r.randint(1, 3)
        h, w = r.randint(1, 3) * (f if kind == "PixelUnshuffle" else 1), r.randint(1, 3) * (
            f if kind == "PixelUnshuffle" else 1)  # fmt: skip
        c = r.randint(1, 2) * (f * f if kind == "PixelShuffle" else 1) + (1 if flip(r, 0.1) else 0)
        x = rs.randn(*[r.randint(1, 2) for _ in range(r.randint(0, 2))], c, h, w)
        return Case(kind, [(kind, (f,), {})], [x], [True])
    k, dil, pad, st = per_dim(r, 2, 1, 3), per_dim(r, 2, 1, 2), per_dim(r, 2, 0, 1), per_dim(r, 2, 1, 2)
    kw = dict(dilation=dil, padding=pad, stride=st)
    x = rs.randn(*[r.randint(1, 2) for _ in range(r.randint(0, 1))], r.randint(1, 2), r.randint(1, 5), r.randint(1, 5))
    if flip(r):
        return Case("Unfold", [("Unfold", (k,), kw)], [x], [True])
    size = (r.randint(2, 6), r.randint(2, 6))

    def blocks(i: int) -> int:
        kk, dd, pp, ss = (v if isinstance(v, int) else v[i] for v in (k, dil, pad, st))
        return max((size[i] + 2 * pp - dd * (kk - 1) - 1) // ss + 1, 0)

    kk = (k, k) if isinstance(k, int) else k
    n_blocks = blocks(0) * blocks(1) + (1 if flip(r, 0.1) else 0)
    x = rs.randn(*[r.randint(1, 2) for _ in range(r.randint(0, 1))], r.randint(1, 2) * kk[0] * kk[1], n_blocks)
    return Case("Fold", [("Fold", (size, k), kw)], [x], [True])


# -- losses -------------------------------------------------------------------------------------------
def draw_loss(r: random.Random, rs: np.random.RandomState) -> Case:
    kind = r.choice(["CrossEntropy", "CrossEntropy", "NLL", "BCE", "BCEWithLogits", "MSE", "L1", "SmoothL1", "Huber",
                     "KLDiv", "MarginRanking", "TripletMargin"])  # fmt: skip
    red = r.choice(["mean", "sum", "none"]) if flip(r, 0.97) else "bogus"
    kw: dict[str, Any] = dict(reduction=red)
    if kind in ("CrossEntropy", "NLL"):
        c = r.randint(1, 4)
        lead = [r.randint(0, 3)] if flip(r, 0.85) else []
        extra = [r.randint(1, 3) for _ in range(r.randint(0, 2))] if lead else []
        x = rs.randn(*lead, c, *extra)
        probs = kind == "CrossEntropy" and flip(r, 0.3)
        if probs:
            t = rs.rand(*x.shape)
            t = t / t.sum(axis=1 if lead else 0, keepdims=True)
        else:
            t = rs.randint(0, c, size=[*lead, *extra]).astype(np.int64)
        if flip(r, 0.4):
            kw["weight"] = torch.tensor(rs.rand(c) + 0.1)
        if not probs and flip(r, 0.3):
            kw["ignore_index"] = r.choice([0, -100, 1])
            if t.size:
                t.reshape(-1)[0] = kw["ignore_index"] if kw["ignore_index"] >= 0 else -100
        if kind == "CrossEntropy" and flip(r, 0.4):
            kw["label_smoothing"] = r.choice([0.1, 0.5])
        if not probs and t.size and flip(r, 0.05):
            t.reshape(-1)[-1] = r.choice([c, -1])  # a class out of range
        if kind == "NLL":
            x = x - np.log(np.exp(x).sum(axis=1 if lead else 0, keepdims=True))
        return Case(f"{kind}Loss", [(f"{kind}Loss", (), kw)], [x, t], [True, probs])
    if kind == "MarginRanking":
        shape = [r.randint(0, 3) for _ in range(r.randint(0, 2))]
        y = np.sign(rs.randn(*shape)) if shape else np.float64(r.choice([1.0, -1.0]))
        kw["margin"] = r.choice([0.0, 0.5])
        return Case(f"{kind}Loss", [(f"{kind}Loss", (), kw)], [rs.randn(*shape), rs.randn(*shape), np.asarray(y)],
                    [True, True, False])  # fmt: skip
    if kind == "TripletMargin":
        shape = [r.randint(1, 3), r.randint(1, 4)] if flip(r, 0.8) else [r.randint(1, 4)]
        kw.update(margin=r.choice([1.0, 0.3]), p=r.choice([1.0, 2.0, 3.0]), swap=flip(r), eps=r.choice([1e-6, 0.1]))
        return Case(f"{kind}Loss", [(f"{kind}Loss", (), kw)], [rs.randn(*shape) for _ in range(3)], [True, True, True])
    shape = [r.randint(0, 3) for _ in range(r.randint(0, 3))]
    x, t = rs.randn(*shape), rs.randn(*shape)
    tgrad = flip(r)
    if kind == "BCE":
        x, t = 1 / (1 + np.exp(-x)), rs.rand(*shape)
        if flip(r, 0.3):
            kw["weight"] = torch.tensor(rs.rand(*shape[-1:]) if shape else rs.rand())
    if kind == "BCEWithLogits":
        t = rs.rand(*shape)
        if flip(r, 0.4) and shape:
            kw["pos_weight"] = torch.tensor(rs.rand(shape[-1]) + 0.5)
        if flip(r, 0.3):
            kw["weight"] = torch.tensor(rs.rand(*shape[-1:]) if shape else rs.rand())
    if kind == "SmoothL1":
        kw["beta"] = r.choice([1.0, 0.5, 0.0])
    if kind == "Huber":
        kw["delta"] = r.choice([1.0, 0.5, 2.0])
    if kind == "KLDiv":
        kw["log_target"] = flip(r)
        kw["reduction"] = r.choice(["mean", "sum", "none", "batchmean"])
        x = x - 1
        t = t if kw["log_target"] else np.abs(t)
    if flip(r, 0.05) and shape:
        t = rs.randn(*shape[:-1], shape[-1] + 1)  # mismatched shapes
    return Case(f"{kind}Loss", [(f"{kind}Loss", (), kw)], [x, t], [True, tgrad])


# -- embeddings ---------------------------------------------------------------------------------------
def draw_embedding(r: random.Random, rs: np.random.RandomState) -> Case:
    n, dim = r.randint(1, 6), r.randint(1, 4)
    kw: dict[str, Any] = dict(padding_idx=r.choice([None, None, 0, -1, n - 1, n]))
    if flip(r, 0.3):
        kw.update(max_norm=r.choice([0.5, 1.0]), norm_type=r.choice([2.0, 1.0, 3.0]))
    if flip(r, 0.6):
        idx = rs.randint(0, n, size=[r.randint(0, 3) for _ in range(r.randint(0, 2))]).astype(np.int64)
        if flip(r, 0.05):
            idx = np.asarray(n, dtype=np.int64)  # out of range
        return Case("Embedding", [("Embedding", (n, dim), kw)], [idx], [False])
    mode = r.choice(["mean", "sum", "max"])
    kw.update(mode=mode, include_last_offset=flip(r, 0.3))
    if flip(r, 0.5):
        idx = rs.randint(0, n, size=(r.randint(1, 3), r.randint(1, 3))).astype(np.int64)
        inputs, grads = [idx], [False]
    else:
        idx = rs.randint(0, n, size=r.randint(0, 6)).astype(np.int64)
        offsets = np.sort(rs.randint(0, len(idx) + 1, size=r.randint(1, 3)))
        offsets[0] = 0
        if kw["include_last_offset"] and len(offsets) < 2:
            offsets = np.array([0, len(idx)])  # torch 2.14 crashes (heap corruption) on a single offset there
        inputs, grads = [idx, offsets.astype(np.int64)], [False, False]
    if mode == "sum" and flip(r, 0.4) or flip(r, 0.05):  # per_sample_weights: mode "sum" only
        inputs.append(rs.randn(*idx.shape))
        grads.append(True)

    def call(lib: Any, mods: list[Any], xs: list[Any]) -> Any:
        if len(xs) == 3:
            return mods[0](xs[0], xs[1], per_sample_weights=xs[2])
        if len(xs) == 2 and xs[1].dtype.is_floating_point if lib is torch else len(xs) == 2 and xs[1].dtype.kind == "f":
            return mods[0](xs[0], per_sample_weights=xs[1])
        return mods[0](*xs)

    return Case("EmbeddingBag", [("EmbeddingBag", (n, dim), kw)], inputs, grads, call)


FAMILIES = [draw_conv, draw_pool, draw_norm, draw_resample, draw_loss, draw_embedding]


# -- runner -------------------------------------------------------------------------------------------
def to_lib(lib: Any, v: Any, dtype: str) -> Any:
    """A constructor argument for ``lib``: torch tensors (floats cast to ``dtype``) become minicnn tensors."""
    if isinstance(v, torch.Tensor):
        v = v.to(getattr(torch, dtype)) if v.is_floating_point() else v
        return mc.tensor(v.numpy().copy()) if lib is mc else v
    return v


def build(lib: Any, case: Case) -> list[Any]:
    mods = []
    for name, args, kw in case.modules:
        args = tuple(to_lib(lib, a, case.dtype) for a in args)
        m = getattr(lib.nn, name)(*args, **{k: to_lib(lib, v, case.dtype) for k, v in kw.items()})
        mods.append(getattr(m, "double" if case.dtype == "float64" else "float")().train(case.train))
    return mods


def leaves(lib: Any, case: Case) -> tuple[list[Any], list[Any]]:
    """The input leaves of ``lib`` and what the layer gets: the same, or a transposed (non-contiguous) view
    of a leaf holding the transposed values when ``case.strided``."""
    made, used = [], []
    for a, g in zip(case.inputs, case.grads):
        a = a.astype(case.dtype) if a.dtype.kind == "f" else a
        flip_last = case.strided and a.ndim >= 2 and a.dtype.kind == "f"
        a = np.ascontiguousarray(a.swapaxes(-1, -2)) if flip_last else np.array(a)
        t = torch.tensor(a, requires_grad=g) if lib is torch else mc.tensor(a, requires_grad=g)
        made.append(t)
        used.append(t.transpose(-1, -2) if flip_last else t)
    return made, used


def outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def differ(a: Any, b: Any, rtol: float = 1e-7) -> str | None:
    """:func:`tensors_differ`; float32 with an absolute tolerance scaled by the largest finite value
    (cancellation in the norms' gradients), other dtypes with rtol / 1000."""
    return tensors_differ(a, b, rtol, lambda x: rtol * finite_scale(x) if x.dtype == np.float32 else rtol * 1e-3)


def draw(seed: int) -> Case:
    r, rs = random.Random(seed), np.random.RandomState(seed % 2**32)
    case = FAMILIES[seed % len(FAMILIES)](r, rs)
    case.dtype = "float32" if flip(r, 0.15) else "float64"
    case.strided = flip(r, 0.2)
    x = case.inputs[0]
    # not into convolutions (minicnn's depthwise weight grad is nan where an inf lies outside every window, torch's
    # 0) nor into losses with an ignore_index (an ignored row's nan/inf logit: nan in minicnn, 0 in torch)
    # nor into LocalResponseNorm (torch's backward spreads an inf's nan to more neighbours than minicnn's)
    special = not case.family.startswith(("Conv", "LocalResponseNorm"))
    special = special and not any("ignore_index" in kw for _, _, kw in case.modules)
    if special and x.dtype.kind == "f" and x.size and flip(r, 0.06):  # a special value
        x.reshape(-1)[r.randrange(x.size)] = r.choice([np.nan, np.inf, -np.inf])
    if (
        flip(r, 0.06) and x.ndim and x.shape[0]
    ):  # a misshapen input: one more channel, one more or one fewer leading dim
        how = r.randint(0, 2)
        wider = x.ndim >= 2 and how == 0
        case.inputs[0] = np.concatenate([x, x[:, :1]], 1) if wider else x[None] if how == 1 else x[0]
    return case


def run_nn(seed: int) -> str | None:
    """One random layer program; None if torch and minicnn agree, else what differs."""
    case = draw(seed)
    where = f"seed {seed} {case.family} {case.modules} inputs {[a.shape for a in case.inputs]} {case.dtype}"
    where += " strided" if case.strided else ""
    tol = 1e-7 if case.dtype == "float64" else 2e-3
    tmods, terr = attempt(lambda: build(torch, case))
    mmods, merr = attempt(lambda: build(mc, case))
    if terr or merr:
        return None if same_builtin_error(terr, merr) else f"{where}: construction {error_names(terr, merr)}"
    for tm, mm in zip(tmods, mmods):
        state = OrderedDict((k, mc.tensor(v.detach().numpy().copy())) for k, v in tm.state_dict().items())
        mm.load_state_dict(state, strict=False)
    call = case.call or (lambda lib, mods, xs: mods[0](*xs))
    rs = np.random.RandomState(seed % 2**32 + 1)
    for step in range(case.passes):
        (tx, tin), (mx, min_) = leaves(torch, case), leaves(mc, case)
        tout, terr = attempt(lambda: outputs(call(torch, tmods, tin)))  # noqa: B023
        mout, merr = attempt(lambda: outputs(call(mc, mmods, min_)))  # noqa: B023
        if isinstance(terr, IndexError) and "Dimension out of range" in str(terr) and isinstance(merr, ValueError):
            return None  # too few dims for a pooling layer: torch's IndexError comes from inside, minicnn checks first
        if case.strided and merr is None and ("view size" in str(terr) or "must be contiguous" in str(terr)):
            return None  # torch 2.14's LocalResponseNorm (5-d) and NLLLoss (K-dim) refuse a non-contiguous input
        if case.dtype == "float32" and terr is None and case.family.startswith("ConvTranspose") and merr:
            return None  # torch's float32 (mkldnn) path returns an empty output where its float64 one raises
        if terr or merr:
            return None if same_builtin_error(terr, merr) else f"{where}: forward {error_names(terr, merr)}"
        if case.note.get("antialias") and tout[0].ndim == 4 and tout[0].shape[-1] == 1 and tout[0].shape[-2] > 1:
            return None  # torch 2.14's antialias kernel repeats row 0 when the output is one column wide (H, 1)
        if len(tout) != len(mout):
            return f"{where}: {len(tout)} outputs vs {len(mout)}"
        for i, (a, b) in enumerate(zip(tout, mout)):
            if differ(a, b, tol):
                return f"{where}: output {i} {differ(a, b, tol)}"
        if any(n.startswith("MaxPool") for n, _, _ in case.modules) and not torch.isfinite(tout[0]).all():
            return (
                None  # a window all in padding: -inf, and torch 2.14's backward writes out of bounds (heap corruption)
            )
        if tout[0].requires_grad:
            w = np.asarray(rs.randn(*tout[0].shape)).astype(as_numpy(tout[0]).dtype)
            _, terr = attempt(lambda: tout[0].backward(torch.tensor(w)))  # noqa: B023
            _, merr = attempt(lambda: mout[0].backward(mc.tensor(w.copy())))  # noqa: B023
            # torch's adaptive pooling and unpooling backward refuse an empty grad_output: minicnn's gives zeros
            if terr is not None and merr is None and tout[0].numel() == 0:
                return None
            if case.strided and merr is None and "must be contiguous" in str(terr):
                return None
            if not same_builtin_error(terr, merr):
                return f"{where}: backward {error_names(terr, merr)}"
            for i, (a, b) in enumerate(zip(tx, mx)):
                if a.requires_grad and differ(a.grad, b.grad, tol):
                    return f"{where}: input {i} grad {differ(a.grad, b.grad, tol)}"
            for tm, mm in zip(tmods, mmods):
                mp = dict(mm.named_parameters())
                for n, p in tm.named_parameters():
                    if differ(p.grad, mp[n].grad, tol):
                        return f"{where}: {n}.grad {differ(p.grad, mp[n].grad, tol)}"
        for tm, mm in zip(tmods, mmods):
            ts, ms = tm.state_dict(), mm.state_dict()
            if list(ts) != list(ms):
                return f"{where}: state dict keys {list(ts)} vs {list(ms)}"
            for k in ts:
                if differ(ts[k], ms[k], tol):
                    return f"{where}: after pass {step} {k} {differ(ts[k], ms[k], tol)}"
    return None


def test_fuzz_nn_layers_like_torch():
    failures = [(seed, run_nn(seed)) for seed in range(150)]
    assert [f for f in failures if f[1]] == []
