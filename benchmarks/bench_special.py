"""minicnn's special-function kernels (minicnn/kernels/special.py) against PyTorch (CPU), same
process, same float32 arrays, torch on ``--threads`` threads (NumPy's ufuncs use one).

Each case alternates minicnn and torch runs and prints the medians and the ratio
minicnn/torch (lower is better). ``--baseline FILE`` also times another version of
special.py (e.g. ``git show HEAD:minicnn/kernels/special.py > /tmp/old.py``) in the same
rounds, as the "old" column.

    python benchmarks/bench_special.py [--n 1000000] [--repeats 5] [--threads 1]
        [--only lgamma,erfinv] [--baseline FILE]
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

from minicnn.kernels import bessel as KB  # noqa: E402
from minicnn.kernels import polynomials as KP  # noqa: E402
from minicnn.kernels import special as K  # noqa: E402


def _load(path: str):
    """Another special.py, imported as a sibling of minicnn.kernels.special (same package)."""
    spec = importlib.util.spec_from_file_location("minicnn.kernels._bench_baseline_special", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases(n: int) -> dict:
    """name -> (kernel name in special.py or a kernel function, its extra leading args, torch fn, float32 input)."""
    rng = np.random.default_rng(0)
    positive = rng.uniform(0.01, 20, n).astype(np.float32)
    mixed = rng.uniform(-10, 20, n).astype(np.float32)
    unit = rng.uniform(-1, 1, n).astype(np.float32)
    normal = (5 * rng.standard_normal(n)).astype(np.float32)
    return {
        "lgamma": ("lgamma", (), torch.lgamma, positive),
        "lgamma(x<0 too)": ("lgamma", (), torch.lgamma, mixed),
        "digamma": ("digamma", (), torch.digamma, positive),
        "digamma(x<0 too)": ("digamma", (), torch.digamma, mixed),
        "polygamma(1)": ("polygamma", (1,), lambda t: torch.polygamma(1, t), positive),
        "polygamma(3,x<0 too)": ("polygamma", (3,), lambda t: torch.polygamma(3, t), mixed),
        "erfinv": ("erfinv", (), torch.erfinv, unit),
        "ndtri": ("ndtri", (), torch.special.ndtri, (0.5 * (unit + 1)).astype(np.float32)),
        "i0": ("i0", (), torch.i0, normal),
        "i1e": ("i1e", (), torch.special.i1e, normal),
        # (h12_special) kernels/special.py's erfcx, zeta, gammainc; kernels/bessel.py; kernels/polynomials.py
        "erfcx": ("erfcx", (), torch.special.erfcx, normal),
        "zeta(3,x)": (lambda x: K.zeta(3.0, x).astype(x.dtype), (), lambda t: torch.special.zeta(3.0, t), positive),
        "gammainc(2.5,x)": (
            lambda x: K.gammainc(np.float32(2.5), x, single=True).astype(x.dtype),  # (mc.special's float32 path)
            (),
            lambda t: torch.special.gammainc(torch.full_like(t, 2.5), t),
            positive,
        ),
        "bessel_j0": (KB.j0, (), torch.special.bessel_j0, normal),
        "bessel_y1": (KB.y1, (), torch.special.bessel_y1, positive),
        "scaled_k0": (KB.k0e, (), torch.special.scaled_modified_bessel_k0, positive),
        "airy_ai": (KB.airy_ai, (), torch.special.airy_ai, mixed),
        "chebyshev_t(n=20)": (
            lambda x: KP.chebyshev_t(x, 20),
            (),
            lambda t: torch.special.chebyshev_polynomial_t(t, 20),
            (1.2 * unit).astype(np.float32),
        ),
        "legendre_p(n=10)": (
            lambda x: KP.legendre_p(x, 10),
            (),
            lambda t: torch.special.legendre_polynomial_p(t, 10),
            unit,
        ),
    }


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="elements (float32)")
    p.add_argument("--repeats", type=int, default=5, help="alternating rounds per case (medians reported)")
    p.add_argument("--threads", type=int, default=1, help="torch's thread count")
    p.add_argument("--only", default=None, help="comma-separated case names (or their part before '(')")
    p.add_argument("--baseline", default=None, help="another special.py to time alongside (old column)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    old = _load(args.baseline) if args.baseline else None
    print(f"n = {args.n} float32, torch threads = {args.threads}, medians of {args.repeats} (ms)")
    print(f"{'case':22s} {'old':>9s} {'minicnn':>9s} {'torch':>9s} {'old/torch':>10s} {'new/torch':>10s}")
    only = set(args.only.split(",")) if args.only else None
    for name, (kernel, extra, theirs, x) in _cases(args.n).items():
        if only and name not in only and name.split("(")[0] not in only:  # ("zeta" picks "zeta(3,x)")
            continue
        t = torch.from_numpy(x)
        runs = {"old": [], "new": [], "torch": []}
        fn = getattr(K, kernel) if isinstance(kernel, str) else kernel
        fns = {"new": lambda k=fn, e=extra, x=x: k(*e, x), "torch": lambda f=theirs, t=t: f(t)}
        if old is not None and isinstance(kernel, str) and hasattr(old, kernel):
            fns["old"] = lambda k=kernel, e=extra, x=x: getattr(old, k)(*e, x)
        for _ in range(args.repeats):
            for key, fn in fns.items():
                runs[key].append(_time(fn))
        med = {k: 1e3 * statistics.median(v) if v else float("nan") for k, v in runs.items()}
        print(
            f"{name:22s} {med['old']:9.1f} {med['new']:9.1f} {med['torch']:9.1f} "
            f"{med['old'] / med['torch']:10.1f} {med['new'] / med['torch']:10.1f}"
        )


if __name__ == "__main__":
    main()
