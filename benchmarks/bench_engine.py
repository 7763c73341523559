"""The autograd engine's own cost per node, in minicnn and in PyTorch, same process, alternating:

  * chain: ``--length`` small elementwise ops (mul by a leaf, add of a constant, relu, in turn)
    on a tensor of 4 elements, then sum and backward; the forward alone too, so that the
    backward's share per node shows (us/node = (fwd+bwd - fwd) / nodes);
  * mlp: one training step of a 3-layer MLP (32-64-64-10, ReLU, cross-entropy, SGD) at batch 2;
  * the same two with ``retain_graph=True``: nothing is released after the pass, so the
    difference to the plain rows is what releasing the graph costs.

    python benchmarks/bench_engine.py [--threads 1] [--length 200] [--rounds 7]

Prints microseconds (median over rounds) and the ratio minicnn/PyTorch (lower is better for
minicnn). The arrays are tiny: what is timed is Python, dispatch and the engine's bookkeeping.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--length", type=int, default=200, help="ops in the chain")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy and torch load their BLAS

    import torch

    torch.set_num_threads(args.threads)
    cases = _cases(args.length)
    nodes = args.length + 1  # the chain's ops and the sum
    print(f"autograd engine, {args.threads} thread(s); median of {args.rounds} rounds; chain of {args.length} ops")
    print("case                     | minicnn us | torch us | ratio | minicnn us/node | torch us/node")
    results = {}
    for name, (f_m, f_t, reps) in cases.items():
        m, t = _measure(f_m, f_t, reps, args.rounds)
        results[name] = (m, t)
        per = ""
        if name.startswith("chain") and name != "chain forward":
            fm, ft = results["chain forward"]
            per = f" | {(m - fm) / nodes:15.2f} | {(t - ft) / nodes:13.2f}"
        print(f"{name:24s} | {m:10.0f} | {t:8.0f} | {m / t:5.2f}{per}")


def _cases(length: int) -> dict[str, tuple[Callable[[], Any], Callable[[], Any], int]]:
    """name -> (minicnn step, torch step, calls per timed block)."""
    import numpy as np
    import torch

    import minicnn as mc
    import minicnn.nn.functional as F

    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(4).astype(np.float32)
    w0 = np.full(4, 1.001, np.float32)
    c0 = np.full(4, 0.01, np.float32)
    xm, wm, cm = mc.tensor(x0, requires_grad=True), mc.tensor(w0, requires_grad=True), mc.tensor(c0)
    xt, wt, ct = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True), torch.tensor(c0)

    def chain(x: Any, w: Any, c: Any, relu: Any) -> Any:
        y = x
        for i in range(length):
            k = i % 3
            y = y * w if k == 0 else y + c if k == 1 else relu(y)
        return y.sum()

    def chain_m(retain: bool = False, backward: bool = True) -> None:
        loss = chain(xm, wm, cm, mc.relu)
        if backward:
            loss.backward(retain_graph=retain)

    def chain_t(retain: bool = False, backward: bool = True) -> None:
        loss = chain(xt, wt, ct, torch.relu)
        if backward:
            loss.backward(retain_graph=retain)

    xb = rng.standard_normal((2, 32)).astype(np.float32)
    yb = rng.integers(0, 10, 2)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
    )
    ours = mc.nn.Sequential(
        mc.nn.Linear(32, 64), mc.nn.ReLU(), mc.nn.Linear(64, 64), mc.nn.ReLU(), mc.nn.Linear(64, 10)
    )
    ours.load_state_dict({k: t.detach().numpy() for k, t in theirs.state_dict().items()})
    opt_m = mc.optim.SGD(ours.parameters(), lr=0.01, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.01, momentum=0.9)
    xbm, ybm, xbt, ybt = mc.tensor(xb), mc.tensor(yb), torch.from_numpy(xb), torch.from_numpy(yb)

    def mlp_m(retain: bool = False) -> None:
        loss = F.cross_entropy(ours(xbm), ybm)
        opt_m.zero_grad()
        loss.backward(retain_graph=retain)
        opt_m.step()

    def mlp_t(retain: bool = False) -> None:
        loss = torch.nn.functional.cross_entropy(theirs(xbt), ybt)
        opt_t.zero_grad()
        loss.backward(retain_graph=retain)
        opt_t.step()

    reps = max(5, 4000 // length)
    return {
        "chain forward": (lambda: chain_m(backward=False), lambda: chain_t(backward=False), reps),
        "chain fwd+bwd": (chain_m, chain_t, reps),
        "chain fwd+bwd retained": (lambda: chain_m(retain=True), lambda: chain_t(retain=True), reps),
        "mlp step, batch 2": (mlp_m, mlp_t, 500),
        "mlp step, retained": (lambda: mlp_m(retain=True), lambda: mlp_t(retain=True), 500),
    }


def _measure(f_m: Callable[[], Any], f_t: Callable[[], Any], reps: int, rounds: int) -> tuple[float, float]:
    """Median microseconds per call of (minicnn, torch), alternating blocks of ``reps`` calls."""
    for f in (f_m, f_t):  # warm-up
        for _ in range(max(1, reps // 5)):
            f()
    times: dict[str, list[float]] = {"minicnn": [], "torch": []}
    for _ in range(rounds):  # alternating, so machine noise hits both alike
        for name, f in (("minicnn", f_m), ("torch", f_t)):
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            times[name].append((time.perf_counter() - t0) / reps * 1e6)
    return statistics.median(times["minicnn"]), statistics.median(times["torch"])


if __name__ == "__main__":
    main()
