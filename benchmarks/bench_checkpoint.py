"""Gradient checkpointing: peak memory and time of one training step (forward, backward of a
mean-square loss) of a deep plain conv stack, Conv2d(C, C, 3, padding=1) + BatchNorm2d + ReLU
repeated ``--depth`` times, plain and with ``checkpoint_sequential`` in ``--segments`` chunks,
in minicnn and in PyTorch (CPU, float32, same weights).

    python benchmarks/bench_checkpoint.py [--depth 16] [--channels 16] [--size 32] [--batch 8]
                                          [--segments 4] [--rounds 3] [--threads 1]

Peak memory is what the step allocates above what was allocated before it (parameters and the
input excluded), measured
  * for minicnn with ``tracemalloc`` (NumPy reports its array buffers to it), in a separate,
    untimed run of the step (tracing slows it down);
  * for PyTorch with ``torch.profiler`` (``profile_memory=True``): the running sum of every
    op's own allocations and frees, in the order the ops started. An approximation (an
    allocation is counted at the start of the op that makes it), but the same one for both
    PyTorch rows.
Time: median milliseconds per step over ``--rounds`` (after one warm-up step).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy and torch load their BLAS

    import torch

    torch.set_num_threads(args.threads)
    activation_mib = args.batch * args.channels * args.size**2 * 4 / 2**20
    print(
        f"{args.depth} x (Conv2d({args.channels}, {args.channels}, 3) + BatchNorm2d + ReLU), input "
        f"({args.batch}, {args.channels}, {args.size}, {args.size}) float32 ({activation_mib:.2f} MiB per activation), "
        f"{args.threads} thread(s), median of {args.rounds} rounds"
    )
    print("library | step                         | peak MiB | ms/step")
    ours, theirs = _models(args.depth, args.channels)
    x = _input(args)
    for segments in (0, args.segments):
        label = "plain" if not segments else f"checkpoint_sequential({segments})"
        step_m, step_t = _steps(ours, theirs, x, segments)
        print(f"minicnn | {label:28s} | {_peak_tracemalloc(step_m):8.2f} | {_time(step_m, args.rounds):7.1f}")
        print(f"torch   | {label:28s} | {_peak_torch(step_t):8.2f} | {_time(step_t, args.rounds):7.1f}")


def _models(depth: int, channels: int):
    import torch

    import minicnn as mc

    def block(nn):
        return [nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]

    torch.manual_seed(0)
    theirs = torch.nn.Sequential(*[layer for _ in range(depth) for layer in block(torch.nn)])
    ours = mc.nn.Sequential(*[layer for _ in range(depth) for layer in block(mc.nn)])
    ours.load_state_dict({k: t.numpy() for k, t in zip(ours.state_dict(), theirs.state_dict().values())})
    return ours, theirs


def _input(args: argparse.Namespace):
    import numpy as np

    return np.random.default_rng(0).standard_normal((args.batch, args.channels, args.size, args.size)).astype("f4")


def _steps(ours, theirs, x, segments: int) -> tuple[Callable[[], None], Callable[[], None]]:
    """One training step in each library (gradients set to None first, as an optimiser's
    zero_grad does)."""
    import torch
    import torch.utils.checkpoint as tc

    import minicnn as mc
    from minicnn.utils.checkpoint import checkpoint_sequential

    xm, xt = mc.tensor(x), torch.tensor(x)

    def step_m() -> None:
        ours.zero_grad()
        y = checkpoint_sequential(ours, segments, xm, use_reentrant=False) if segments else ours(xm)
        (y * y).mean().backward()

    def step_t() -> None:
        theirs.zero_grad(set_to_none=True)
        y = tc.checkpoint_sequential(theirs, segments, xt, use_reentrant=False) if segments else theirs(xt)
        (y * y).mean().backward()

    return step_m, step_t


def _time(step: Callable[[], None], rounds: int) -> float:
    step()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _peak_tracemalloc(step: Callable[[], None]) -> float:
    step()  # warm-up: caches, lazily built things
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()


def _peak_torch(step: Callable[[], None]) -> float:
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    current = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak / 2**20


if __name__ == "__main__":
    main()
