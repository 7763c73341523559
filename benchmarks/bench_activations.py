"""minicnn's elementwise activations against PyTorch (CPU), same process, same arrays, same threads.

For every activation and dtype it times the forward (input requiring grad, so what backward
needs is saved) and forward+backward (``y.backward(g)``), alternating minicnn and PyTorch
runs, and prints the medians and the ratios minicnn/PyTorch (lower is better). NumPy's
elementwise loops are single-threaded, torch's are not: ``--threads`` sets torch's count (run
1 and 2). ``--baseline FILE`` also times another version of minicnn/ops/activation.py (e.g.
the previous commit's, ``git show HEAD:minicnn/ops/activation.py > /tmp/old.py``), in the same
rounds, as the "old" columns.

    python benchmarks/bench_activations.py [--threads N] [--shape 4 64 56 56] [--repeats R]
        [--dtypes float32 float64] [--only leaky_relu,elu] [--baseline FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import minicnn as mc  # noqa: E402
from minicnn.ops import activation as A  # noqa: E402


def _load(path: str):
    """Another activation.py, imported as a sibling of minicnn.ops.activation (same package)."""
    spec = importlib.util.spec_from_file_location("minicnn.ops._bench_baseline_activation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases(A) -> dict:
    """name -> (minicnn fn(x, w), torch fn(x, w)); w is PReLU's per-channel slope, else unused."""
    return {
        "leaky_relu": (lambda x, w: A.leaky_relu(x, 0.01), lambda x, w: TF.leaky_relu(x, 0.01)),
        "leaky_relu(2.0)": (lambda x, w: A.leaky_relu(x, 2.0), lambda x, w: TF.leaky_relu(x, 2.0)),
        "relu6": (lambda x, w: A.relu6(x), lambda x, w: TF.relu6(x)),
        "hardtanh": (lambda x, w: A.hardtanh(x), lambda x, w: TF.hardtanh(x)),
        "elu": (lambda x, w: A.elu(x), lambda x, w: TF.elu(x)),
        "selu": (lambda x, w: A.selu(x), lambda x, w: TF.selu(x)),
        "celu(0.5)": (lambda x, w: A.celu(x, 0.5), lambda x, w: TF.celu(x, 0.5)),
        "prelu(C)": (lambda x, w: A.prelu(x, w), lambda x, w: TF.prelu(x, w)),
        "softplus": (lambda x, w: A.softplus(x), lambda x, w: TF.softplus(x)),
        "hardswish": (lambda x, w: A.hardswish(x), lambda x, w: TF.hardswish(x)),
        "hardsigmoid": (lambda x, w: A.hardsigmoid(x), lambda x, w: TF.hardsigmoid(x)),
        "mish": (lambda x, w: A.mish(x), lambda x, w: TF.mish(x)),
        "softshrink": (lambda x, w: A.softshrink(x), lambda x, w: TF.softshrink(x)),
        "hardshrink": (lambda x, w: A.hardshrink(x), lambda x, w: TF.hardshrink(x)),
        "threshold": (lambda x, w: A.threshold(x, 0.1, -1.0), lambda x, w: TF.threshold(x, 0.1, -1.0)),
        "rrelu(train)": (lambda x, w: A.rrelu(x, training=True), lambda x, w: TF.rrelu(x, training=True)),
    }


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch's thread count (NumPy's ufuncs use one)")
    p.add_argument("--shape", type=int, nargs="+", default=[4, 64, 56, 56])
    p.add_argument("--repeats", type=int, default=7, help="alternating rounds per case (medians reported)")
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    p.add_argument("--only", default=None, help="comma-separated case names")
    p.add_argument("--baseline", default=None, help="another activation.py to time alongside (old columns)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cases = _cases(A)
    old_cases = _cases(_load(args.baseline)) if args.baseline else None
    names = args.only.split(",") if args.only else list(cases)
    rng = np.random.default_rng(0)
    print(f"shape {tuple(args.shape)}, torch threads {args.threads}, medians of {args.repeats} alternating rounds (ms)")
    old_head = f" {'old':>6} {'/torch':>6}" if old_cases else ""
    print(f"{'op':<16} {'dtype':<8} | fwd: {'new':>6} {'torch':>6} {'/torch':>6}{old_head} | fwd+bwd: ", end="")
    print(f"{'new':>6} {'torch':>6} {'/torch':>6}{old_head}")
    for dt in args.dtypes:
        base = (rng.standard_normal(args.shape) * 3).astype(dt)
        g = rng.standard_normal(args.shape).astype(dt)
        w = rng.uniform(0.05, 0.3, args.shape[1]).astype(dt)
        for name in names:
            runners = {"new": cases[name][0], "torch": cases[name][1]}
            if old_cases:
                runners["old"] = old_cases[name][0]
            fwd, fb = {}, {}
            for key, fn in runners.items():
                lib = torch if key == "torch" else mc
                x, gg = lib.tensor(base, requires_grad=True), lib.tensor(g)
                ww = lib.tensor(w, requires_grad=name.startswith("prelu"))

                def run_fwd(fn=fn, x=x, ww=ww):
                    fn(x, ww)

                def run_fb(fn=fn, x=x, ww=ww, gg=gg):
                    x.grad = ww.grad = None
                    fn(x, ww).backward(gg)

                fwd[key], fb[key] = run_fwd, run_fb
                run_fb()  # warm up
            tf = {k: [] for k in runners}
            tb = {k: [] for k in runners}
            for _ in range(args.repeats):
                for k in runners:
                    tf[k] += _time(fwd[k], 1)
                    tb[k] += _time(fb[k], 1)
            mf = {k: statistics.median(v) * 1e3 for k, v in tf.items()}
            mb = {k: statistics.median(v) * 1e3 for k, v in tb.items()}

            def cols(m):
                text = f"{m['new']:6.2f} {m['torch']:6.2f} {m['new'] / m['torch']:6.2f}"
                return text + (f" {m['old']:6.2f} {m['old'] / m['torch']:6.2f}" if old_cases else "")

            print(f"{name:<16} {dt:<8} |      {cols(mf)} |          {cols(mb)}")


if __name__ == "__main__":
    main()
