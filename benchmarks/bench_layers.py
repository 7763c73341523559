"""The layers added after the classic CNN set -- 3-d convolution and pooling, grid sampling
(2-d and 3-d), bicubic and trilinear resizing, reflect padding, transposed 1-d convolution,
the multi-label margin loss, scaled dot-product attention, a batched triangular solve and LU
factorization, LSTM and GRU layers -- forward + backward in minicnn and in PyTorch, same
process, same arrays, alternating, medians.

    python benchmarks/bench_layers.py [--threads 1] [--rounds 7] [--only NAME ...]

Prints milliseconds per forward+backward (median over rounds) and the ratio minicnn/PyTorch
(lower is better for minicnn). float32 throughout. OPENBLAS_CORETYPE is left as the machine
sets it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def cases(np: Any) -> dict[str, tuple[list[Any], Callable[[Any, Any], Any]]]:
    """name -> (input arrays, fn(F, *tensors) written against torch.nn.functional's API)."""
    rng = np.random.default_rng(0)

    def a(*shape: int) -> Any:
        return rng.standard_normal(shape).astype(np.float32)

    return {
        "conv3d (4,16,16,24,24)->32, 3x3x3 p1": (
            [a(4, 16, 16, 24, 24), a(32, 16, 3, 3, 3) * 0.1],
            lambda F, x, w: F.conv3d(x, w, padding=1),
        ),
        "max_pool3d 2x2x2 (4,32,16,24,24)": ([a(4, 32, 16, 24, 24)], lambda F, x: F.max_pool3d(x, 2)),
        "avg_pool3d 3x3x3/2 p1 (4,32,16,24,24)": (
            [a(4, 32, 16, 24, 24)],
            lambda F, x: F.avg_pool3d(x, 3, 2, 1),
        ),
        "grid_sample bilinear (8,16,32,32)": (
            [a(8, 16, 32, 32), rng.uniform(-1.1, 1.1, (8, 32, 32, 2)).astype(np.float32)],
            lambda F, x, g: F.grid_sample(x, g, align_corners=False),
        ),
        "interpolate bicubic x2 (8,16,32,32)": (
            [a(8, 16, 32, 32)],
            lambda F, x: F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False),
        ),
        "interpolate trilinear x2 (4,8,16,16,16)": (
            [a(4, 8, 16, 16, 16)],
            lambda F, x: F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False),
        ),
        "grid_sample 3-d bilinear (4,8,16,16,16)": (
            [a(4, 8, 16, 16, 16), rng.uniform(-1.1, 1.1, (4, 16, 16, 16, 3)).astype(np.float32)],
            lambda F, x, g: F.grid_sample(x, g, align_corners=False),
        ),
        "pad reflect 3 (16,32,56,56)": ([a(16, 32, 56, 56)], lambda F, x: F.pad(x, (3, 3, 3, 3), mode="reflect")),
        "multilabel_margin_loss (16,1000), 5 targets": (
            [rng.random((16, 1000)).astype(np.float32)],
            lambda F, x: F.multilabel_margin_loss(x, _targets(x, 5)),
        ),
        "conv_transpose1d (16,64,256)->32, k4 s2": (
            [a(16, 64, 256), a(64, 32, 4) * 0.1],
            lambda F, x, w: F.conv_transpose1d(x, w, stride=2, padding=1),
        ),
        "scaled_dot_product_attention (4,8,256,64), causal": (
            [a(4, 8, 256, 64), a(4, 8, 256, 64), a(4, 8, 256, 64)],
            lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        ),
        "solve_triangular (64,256,256), upper": (
            [np.triu(a(64, 256, 256)) + 16 * np.eye(256, dtype=np.float32), a(64, 256, 256)],
            lambda F, t, b: _linalg(F).solve_triangular(t, b, upper=True),
        ),
        "lu_factor (100,64,64)": ([a(100, 64, 64)], lambda F, x: _linalg(F).lu_factor(x)[0]),
        "LSTM 2 layers, T=64, (32, 128)->256": ([a(64, 32, 128)], _recurrent("LSTM", 128, 256, num_layers=2)),
        "GRU bidirectional, T=64, (32, 128)->128": (
            [a(64, 32, 128)],
            _recurrent("GRU", 128, 128, bidirectional=True),
        ),
    }


def _linalg(F: Any) -> Any:
    """torch.linalg or mc.linalg, for F's library."""
    if F.__name__.startswith("torch"):
        import torch

        return torch.linalg
    import minicnn as mc

    return mc.linalg


def _recurrent(kind: str, input_size: int, hidden_size: int, **kwargs: Any) -> Callable[..., Any]:
    """fn(F, x) running one nn.<kind> layer of F's library on x (T, N, input_size): the two
    libraries' layers are made once, minicnn's with torch's initial weights."""
    layers: dict[str, Any] = {}

    def run(F: Any, x: Any) -> Any:
        lib = "torch" if F.__name__.startswith("torch") else "minicnn"
        if not layers:
            import torch

            import minicnn as mc

            torch.manual_seed(0)
            layers["torch"] = getattr(torch.nn, kind)(input_size, hidden_size, **kwargs)
            layers["minicnn"] = getattr(mc.nn, kind)(input_size, hidden_size, **kwargs)
            state = {k: mc.tensor(v.detach().numpy()) for k, v in layers["torch"].state_dict().items()}
            layers["minicnn"].load_state_dict(state)
        return layers[lib](x)[0]

    return run


def _targets(x: Any, k: int) -> Any:
    """multilabel_margin_loss's target for x (N, C) in x's library: classes 0..k-1, then -1."""
    import numpy as np

    t = np.full(tuple(x.shape), -1, dtype=np.int64)
    t[:, :k] = np.arange(k)
    if type(x).__module__.startswith("torch"):
        import torch

        return torch.from_numpy(t)
    import minicnn as mc

    return mc.tensor(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--only", nargs="*", default=None, help="substrings of the case names to run")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy and torch load their BLAS

    import numpy as np
    import torch
    import torch.nn.functional as TF

    import minicnn as mc
    import minicnn.nn.functional as F

    torch.set_num_threads(args.threads)
    print(f"forward + backward, float32, {args.threads} thread(s); median of {args.rounds} rounds")
    print(f"{'case':42s} | minicnn ms | torch ms | ratio")
    for name, (arrays, fn) in cases(np).items():
        if args.only and not any(s in name for s in args.only):
            continue

        ours = _step(mc, F, lambda x: mc.tensor(x, requires_grad=True), arrays, fn)
        theirs = _step(torch, TF, lambda x: torch.tensor(x, requires_grad=True), arrays, fn)
        times: dict[str, list[float]] = {"minicnn": [], "torch": []}
        ours(), theirs()  # warm-up
        for _ in range(args.rounds):  # alternating, so machine noise hits both alike
            for key, f in (("minicnn", ours), ("torch", theirs)):
                t0 = time.perf_counter()
                f()
                times[key].append((time.perf_counter() - t0) * 1e3)
        m, t = statistics.median(times["minicnn"]), statistics.median(times["torch"])
        print(f"{name:42s} | {m:10.1f} | {t:8.1f} | {m / t:5.2f}")


def _step(
    lib: Any, F: Any, make: Callable[[Any], Any], arrays: list[Any], fn: Callable[..., Any]
) -> Callable[[], None]:
    """One forward + backward of ``fn`` in ``lib`` (its functional module ``F``) on fresh tensors."""

    def step() -> None:
        y = fn(F, *(make(x) for x in arrays))
        y.backward(lib.ones_like(y))

    return step


if __name__ == "__main__":
    main()
