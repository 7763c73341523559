"""Every elementwise function minicnn shares with torch (torch.*, torch.special, torch.nn.functional),
applied to special values in both frameworks: prints each function whose results differ.

    python benchmarks/edge_sweep.py [--arity 1 2] [--dtypes float32 float64] [--timeout 10]

Unary functions get 0, -0, +-1, +-0.5, tiny, denormal, huge, +-inf, NaN and the edges of exp's
range; binary ones every pair of 16 such values. Results are compared with the signs of zeros
and the places of NaN (rtol 1e-5 in float32, 1e-10 in float64). A call that runs past
``--timeout`` seconds is reported as a hang. Random functions and those whose result is not an
elementwise tensor of the input's shape are skipped. Not a test: several differences are torch's
artefacts (its float32 overflows, cancellations, 0/0), which the README lists.
"""

from __future__ import annotations

import argparse
import signal
import warnings

import numpy as np
import torch

import minicnn as mc

UNARY = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-30, -1e-30, 1e-40, 1e30, -1e30, 3.4e38, -3.4e38,
         np.inf, -np.inf, np.nan, 100.0, -100.0, 0.999, 1.001, 20.0, -20.0, 88.7, 89.0, -87.0, -104.0,
         7.5, -7.5, 1e-8, 0.1, 50.5]  # fmt: skip
BINARY = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-30, 1e30, np.inf, -np.inf, np.nan, 7.0, -7.0, 2.0, 100.0]
RANDOM = {"normal", "rand_like", "randn_like", "randint_like", "empty_like", "full_like", "dropout", "dropout1d",
          "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "rrelu", "gumbel_softmax",
          "binomial", "poisson", "bernoulli", "multinomial"}  # fmt: skip


class HangError(Exception):
    pass


def _alarm(*_: object) -> None:
    raise HangError


def shared_functions() -> list[tuple[str, object, object]]:
    """(name, torch function, minicnn function) for the callables both namespaces have."""
    out = []
    for prefix, theirs, ours in (("", torch, mc), ("special.", torch.special, mc.special),
                                 ("F.", torch.nn.functional, mc.nn.functional)):  # fmt: skip
        for name in sorted(dir(theirs)):
            if name.startswith("_") or name in RANDOM or not hasattr(ours, name):
                continue
            ft, fm = getattr(theirs, name), getattr(ours, name)
            if callable(ft) and callable(fm):
                out.append((prefix + name, ft, fm))
    return out


def differences(a: np.ndarray, b: np.ndarray, rtol: float) -> np.ndarray:
    """Positions where ``a`` (minicnn) and ``b`` (torch) differ: value, sign of zero, or NaN place."""
    if b.dtype == bool:
        return a != b
    a, b = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(all="ignore"):
        same = np.isclose(a, b, rtol=rtol, atol=0, equal_nan=True) | (a == b)
        same &= (np.signbit(a) == np.signbit(b)) | np.isnan(a) | np.isnan(b)
    return ~same


def sweep(arity: int, dtype: np.dtype, timeout: int) -> list[str]:
    if arity == 1:
        args = [np.array(UNARY)]
    else:
        args = [np.repeat(BINARY, len(BINARY)), np.tile(BINARY, len(BINARY))]
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    report = []
    for name, ft, fm in shared_functions():
        signal.alarm(timeout)
        try:
            want = ft(*[torch.tensor(a.astype(dtype)) for a in args])
        except Exception:  # not a function of these arguments in torch (or torch hangs: skipped too)
            continue
        finally:
            signal.alarm(0)
        if not isinstance(want, torch.Tensor) or tuple(want.shape) != args[0].shape:
            continue
        signal.alarm(timeout)
        try:
            got = np.asarray(fm(*[mc.tensor(a.astype(dtype)) for a in args]).numpy())
        except HangError:
            report.append(f"{name} {dtype.name}: no result after {timeout} s")
            continue
        except Exception as e:
            report.append(f"{name} {dtype.name}: raises {type(e).__name__}: {str(e)[:100]}")
            continue
        finally:
            signal.alarm(0)
        b = want.numpy()
        if got.shape != b.shape:
            report.append(f"{name} {dtype.name}: shape {got.shape}, torch {b.shape}")
            continue
        bad = np.flatnonzero(differences(got, b, rtol))
        if bad.size:
            where = "; ".join(f"({', '.join(str(a[i]) for a in args)}): {got[i]!r} vs {b[i]!r}" for i in bad[:3])
            report.append(f"{name} {dtype.name}: {bad.size} differ, e.g. {where}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arity", type=int, nargs="+", default=[1, 2], choices=[1, 2])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--timeout", type=int, default=10)
    opts = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    warnings.filterwarnings("ignore")
    total = 0
    for arity in opts.arity:
        for dtype in opts.dtypes:
            lines = sweep(arity, np.dtype(dtype), opts.timeout)
            total += len(lines)
            print(f"== {'unary' if arity == 1 else 'binary'} {dtype}: {len(lines)} functions differ")
            print("\n".join(lines))
    print(f"{total} differences (minicnn {mc.__version__}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
