"""Second derivatives in practice: one WGAN-GP critic step on LeNet-5 (critic loss plus the
gradient penalty, whose backward differentiates the critic's input gradient: create_graph=True)
in minicnn and in PyTorch, same process, same weights and data, alternating. The plain
first-order step of the same critic is timed alongside, so the cost of the penalty can be read
on both sides.

    python benchmarks/bench_double_backward.py [--threads 1] [--batch 64] [--rounds 5]

Prints milliseconds per step (median over rounds) and the ratio minicnn/PyTorch (lower is
better for minicnn). float32. OPENBLAS_CORETYPE is left as the machine sets it.
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
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy and torch load their BLAS

    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(f"LeNet-5 critic, batch {args.batch}, {args.threads} thread(s); median of {args.rounds} rounds")
    print("step                    | minicnn ms | torch ms | ratio")
    for penalty in (False, True):
        m, t = measure(args.batch, args.rounds, penalty)
        name = "with gradient penalty" if penalty else "critic loss only"
        print(f"{name:23s} | {m:10.2f} | {t:8.2f} | {m / t:5.2f}")


def measure(batch: int, rounds: int, penalty: bool) -> tuple[float, float]:
    """Median milliseconds per step of (minicnn, torch), from the same weights."""
    import numpy as np
    import torch
    from bench_lenet import _torch_lenet

    import minicnn as mc

    rng = np.random.default_rng(0)
    real = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    fake = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    eps = rng.uniform(size=(batch, 1, 1, 1)).astype(np.float32)
    theirs = _torch_lenet()
    ours = mc.models.lenet5()
    ours.load_state_dict({k: t.numpy() for k, t in zip(ours.state_dict(), theirs.state_dict().values())})
    opt_m = mc.optim.SGD(ours.parameters(), lr=1e-3)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=1e-3)

    def step(net, opt, tensor, grad) -> None:
        loss = net(tensor(fake))[:, 0].mean() - net(tensor(real))[:, 0].mean()
        if penalty:
            mixed = tensor(eps * real + (1 - eps) * fake).requires_grad_()
            (g,) = grad(net(mixed)[:, 0].sum(), mixed, create_graph=True)
            norm = ((g * g).reshape(batch, -1).sum(1) + 1e-12) ** 0.5
            loss = loss + 10 * ((norm - 1) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def step_m() -> None:
        step(ours, opt_m, mc.tensor, mc.autograd.grad)

    def step_t() -> None:
        step(theirs, opt_t, torch.from_numpy, torch.autograd.grad)

    steps = max(3, 640 // batch)
    times: dict[str, list[float]] = {"minicnn": [], "torch": []}
    for f in (step_m, step_t):  # warm-up
        f()
    for _ in range(rounds):  # alternating, so machine noise hits both alike
        for name, f in (("minicnn", step_m), ("torch", step_t)):
            t0 = time.perf_counter()
            for _ in range(steps):
                f()
            times[name].append((time.perf_counter() - t0) / steps * 1e3)
    return statistics.median(times["minicnn"]), statistics.median(times["torch"])


if __name__ == "__main__":
    main()
