"""One LeNet-5 training step (forward, cross-entropy, backward, SGD with momentum) in minicnn and
in PyTorch, same process, same data, alternating, at a tiny batch (where the time is the
framework's own per-op cost: Python, dispatch, autograd) and at batch 128.

    python benchmarks/bench_step.py [--threads 1] [--batches 2 128] [--rounds 7]

Prints microseconds per step (median over rounds) and the ratio minicnn/PyTorch (lower is
better for minicnn). The tiny-batch figure is the one that bounds a GPU step, where kernels
are cheap and launches and Python are not. OPENBLAS_CORETYPE is left as the machine sets it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, nargs="+", default=[2, 128])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy and torch load their BLAS

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    torch.set_num_threads(args.threads)
    print(f"LeNet-5 training step, {args.threads} thread(s); median of {args.rounds} rounds")
    print("batch | minicnn us/step | torch us/step | ratio")
    for batch in args.batches:
        m, t = measure(batch, args.rounds)
        print(f"{batch:5d} | {m:15.0f} | {t:13.0f} | {m / t:5.2f}")


def measure(batch: int, rounds: int) -> tuple[float, float]:
    """Median microseconds per step of (minicnn, torch), from the same initial weights."""
    import numpy as np
    import torch
    from bench_lenet import _torch_lenet

    import minicnn as mc
    import minicnn.nn.functional as F

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    theirs = _torch_lenet()
    ours = mc.models.lenet5()
    ours.load_state_dict({k: t.numpy() for k, t in zip(ours.state_dict(), theirs.state_dict().values())})
    opt_m = mc.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)

    def step_m() -> None:
        loss = F.cross_entropy(ours(mc.tensor(x)), mc.tensor(y))
        opt_m.zero_grad()
        loss.backward()
        opt_m.step()

    def step_t() -> None:
        loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y))
        opt_t.zero_grad()
        loss.backward()
        opt_t.step()

    steps = max(10, 5000 // batch)
    times: dict[str, list[float]] = {"minicnn": [], "torch": []}
    for f in (step_m, step_t):  # warm-up
        for _ in range(steps // 5):
            f()
    for _ in range(rounds):  # alternating, so machine noise hits both alike
        for name, f in (("minicnn", step_m), ("torch", step_t)):
            t0 = time.perf_counter()
            for _ in range(steps):
                f()
            times[name].append((time.perf_counter() - t0) / steps * 1e6)
    return statistics.median(times["minicnn"]), statistics.median(times["torch"])


if __name__ == "__main__":
    main()
