"""minicnn's CNN kernels against PyTorch (CPU), same process, same arrays, same threads.

For every case it times forward (no graph) and forward+backward, alternating minicnn and
PyTorch runs and taking medians, and prints the ratio minicnn/PyTorch (lower is better).
Convolutions also get the GEMM ceiling: the GFLOP/s of plain ``numpy.matmul`` at the im2col
GEMM's shape (the better of the batched per-image product minicnn runs and one large 2-d
product per group), and minicnn's forward+backward share of it. Finally the peak memory of one
convolution forward+backward at the VGG case (RSS high-water mark of a fresh subprocess).

    python benchmarks/bench_kernels.py [--threads N] [--quick] [--repeats R] [--json out.json]

LeNet conv1 is the first layer of its network: its input needs no gradient, in both libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

_REEXEC_FLAG = "MINICNN_BENCH_THREADS"


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None, help="threads for BLAS and PyTorch (default: libraries' own)")
    p.add_argument("--quick", action="store_true", help="smoke run: one timed repeat per case")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats per case (median is reported)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--only", default=None, help="comma-separated case names to run")
    p.add_argument("--device", default="cpu", help="cpu, or cuda: both libraries on the GPU (no GEMM ceiling, no RSS)")
    p.add_argument(
        "--array-code",
        action="store_true",
        help="cuda: time minicnn's array code on CuPy instead of its CUDA kernels (use_cuda_kernels(False))",
    )
    p.add_argument("--peak", default=None, help=argparse.SUPPRESS)  # internal: "minicnn" or "torch"
    return p.parse_args()


ARGS = _parse()


def _limit_threads(n: int) -> str:
    """Limit BLAS/OpenMP threads to n. Returns how. Without threadpoolctl the thread count of
    OpenBLAS is fixed when NumPy is imported, so the script re-executes itself with the
    environment variables set (before any import of numpy)."""
    try:
        import threadpoolctl  # noqa: PLC0415

        threadpoolctl.threadpool_limits(n)
        return "threadpoolctl"
    except ImportError:
        pass
    if os.environ.get(_REEXEC_FLAG) != str(n):
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n))
        env[_REEXEC_FLAG] = str(n)
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    return "environment (OMP/OPENBLAS/MKL_NUM_THREADS)"


THREAD_METHOD = _limit_threads(ARGS.threads) if ARGS.threads else "library defaults"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import minicnn as mc  # noqa: E402
from minicnn.kernels import conv as conv_kernels  # noqa: E402

if ARGS.threads:
    torch.set_num_threads(ARGS.threads)
    if THREAD_METHOD == "threadpoolctl":  # again, now that NumPy's BLAS is loaded (the first call found none)
        _limit_threads(ARGS.threads)
DEVICE = ARGS.device
# MINICNN_BENCH_TORCH_DEVICE: the GPU dry run on the fake CuPy (tests/test_gpu_dry_run.py) keeps torch on the CPU
TORCH_DEVICE = torch.device(
    os.environ.get("MINICNN_BENCH_TORCH_DEVICE") or ("cuda" if DEVICE.startswith("cuda") else "cpu")
)
ON_GPU = DEVICE != "cpu"
# minicnn computes in float32 (cuBLAS SGEMM); torch's cuDNN convolutions default to TF32, a
# 10-bit-mantissa tensor-core format several times faster. Compare float32 with float32:
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False


def _sync() -> None:
    """Wait for queued GPU work, so that a timer measures it (no-op on the CPU)."""
    if ON_GPU:
        mc.cuda.synchronize()
    if TORCH_DEVICE.type == "cuda":
        torch.cuda.synchronize()


def _mc(a: np.ndarray, requires_grad: bool = False):
    return mc.tensor(a, requires_grad=requires_grad, device=DEVICE)


def _torch(a: np.ndarray, requires_grad: bool = False):
    return torch.tensor(a, requires_grad=requires_grad, device=TORCH_DEVICE)


# name: (N, C_in, H, W, C_out, k, stride, pad, groups)
CONV_CASES = {
    "LeNet conv1": (128, 1, 28, 28, 6, 5, 1, 2, 1),
    "LeNet conv2": (128, 6, 14, 14, 16, 5, 1, 0, 1),
    "VGG 3x3": (32, 64, 56, 56, 64, 3, 1, 1, 1),
    "VGG 3x3 256": (4, 256, 32, 32, 256, 3, 1, 1, 1),  # auto: Winograd F(2x2, 3x3) on the CPU
    "ResNet 3x3/2": (32, 128, 28, 28, 256, 3, 2, 1, 1),
    "AlexNet conv1": (16, 3, 227, 227, 96, 11, 4, 0, 1),
    "AlexNet conv2 g2": (16, 96, 27, 27, 256, 5, 1, 2, 2),
    "MobileNet dw": (32, 128, 56, 56, 128, 3, 1, 1, 128),
    "MobileNet dw/2": (32, 128, 56, 56, 128, 3, 2, 1, 128),  # the plane path's stride phases
    "pointwise 1x1": (32, 128, 56, 56, 128, 1, 1, 0, 1),
}
OTHER_CASES = {"max_pool2d 3x3/2": (32, 96, 55, 55), "LRN(5)": (32, 96, 55, 55)}
TARGETS = {"LeNet conv1": 1.5, "LeNet conv2": 1.5, "MobileNet dw": 1.0, "max_pool2d 3x3/2": 1.5, "LRN(5)": 1.0}
VGG = "VGG 3x3"


PAUSE_S = 0.15  # idle gap before each sample, see _timed


def _timed(run) -> float:
    """Seconds of one call, measured fairly for two libraries in one process.

    BLAS and OpenMP worker threads keep spinning for up to ~0.1 s after their last job
    (OpenBLAS's default thread timeout): without a pause, the library timed second would share
    the cores with the first one's spinning threads. After a pause, though, the first call is
    slow (threads asleep, caches cold), so one untimed call comes before the timed one.
    """
    time.sleep(PAUSE_S)
    run()
    _sync()
    t = time.perf_counter()
    run()
    _sync()
    return time.perf_counter() - t


def _median_pair(run_mc, run_torch, repeats: int) -> tuple[float, float]:
    """Median seconds of each callable, runs alternating (after one warm-up each)."""
    run_mc()
    run_torch()
    t_mc, t_torch = [], []
    for _ in range(repeats):
        t_mc.append(_timed(run_mc))
        t_torch.append(_timed(run_torch))
    return float(np.median(t_mc)), float(np.median(t_torch))


def _pair_of_runs(make_mc, make_torch, x_np: np.ndarray, needs_dx: bool, params_mc=(), params_torch=()):
    """Forward and forward+backward closures for both libraries on the same data. Before each
    backward the gradients are reset to None, as ``optimizer.zero_grad()`` does in training
    (otherwise each run would also time the accumulation into the previous run's ``.grad``)."""
    xm = _mc(x_np, needs_dx)
    xt = _torch(x_np, needs_dx)
    fm, ft = make_mc, make_torch
    with torch.no_grad():
        gy = np.random.default_rng(1).standard_normal(tuple(ft(xt).shape)).astype(np.float32)
    gym, gyt = _mc(gy), _torch(gy)

    def mc_fwd():
        with mc.no_grad():
            fm(xm)

    def torch_fwd():
        with torch.no_grad():
            ft(xt)

    def mc_fb():
        for t in (xm, *params_mc):
            t.grad = None
        fm(xm).backward(gym)

    def torch_fb():
        for t in (xt, *params_torch):
            t.grad = None
        ft(xt).backward(gyt)

    return mc_fwd, torch_fwd, mc_fb, torch_fb


def _conv_flops(case: tuple) -> int:
    n, c, h, w, o, k, s, p, g = case
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return 2 * n * o * (c // g) * k * k * oh * ow


def _gemm_ceiling(case: tuple, repeats: int) -> float:
    """GFLOP/s of numpy.matmul at this conv's im2col GEMM shape (best of two forms)."""
    n, c, h, w, o, k, s, p, g = case
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    ck, og, pix = c // g * k * k, o // g, oh * ow
    rng = np.random.default_rng(0)
    wg = rng.standard_normal((g, og, ck), dtype=np.float32)
    per_image = rng.standard_normal((n, g, ck, pix), dtype=np.float32)
    y_img = np.empty((n, g, og, pix), dtype=np.float32)
    whole = per_image.reshape(g, ck, n * pix)  # the same amount of data as one wide matrix per group
    y_whole = np.empty((g, og, n * pix), dtype=np.float32)
    best = float("inf")
    for run in (lambda: np.matmul(wg, per_image, out=y_img), lambda: np.matmul(wg, whole, out=y_whole)):
        run()
        for _ in range(max(3, repeats)):
            t = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t)
    return 2 * n * og * ck * pix * g / best / 1e9


def bench_conv(name: str, case: tuple, repeats: int) -> dict:
    n, c, h, w, o, k, s, p, g = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt_np = (rng.standard_normal((o, c // g, k, k)) / np.sqrt(c // g * k * k)).astype(np.float32)
    b_np = rng.standard_normal(o).astype(np.float32)
    wm, bm = _mc(wt_np, True), _mc(b_np, True)
    wt, bt = _torch(wt_np, True), _torch(b_np, True)
    needs_dx = name != "LeNet conv1"
    runs = _pair_of_runs(
        lambda xm: mc.nn.functional.conv2d(xm, wm, bm, s, p, 1, g),
        lambda xt: F.conv2d(xt, wt, bt, s, p, 1, g),
        x,
        needs_dx,
        (wm, bm),
        (wt, bt),
    )
    fwd = _median_pair(runs[0], runs[1], repeats)
    fb = _median_pair(runs[2], runs[3], repeats)
    algo = conv_kernels.choose_algo(x.shape, wt_np.shape, g, s, on_gpu=ON_GPU)
    flops = _conv_flops(case) * (3 if needs_dx else 2)
    row = {"case": name, "shape": case, "algo": algo, "fwd": fwd, "fwd_bwd": fb, "gflops_fwd_bwd": flops / fb[0] / 1e9}
    if algo == "im2col" and not ON_GPU:
        row["gemm_ceiling_gflops"] = _gemm_ceiling(case, repeats)
        row["share_of_ceiling"] = row["gflops_fwd_bwd"] / row["gemm_ceiling_gflops"]
    return row


def bench_other(name: str, shape: tuple, repeats: int) -> dict:
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    if name.startswith("max_pool2d"):
        fm, ft = (lambda t: mc.nn.functional.max_pool2d(t, 3, 2)), (lambda t: F.max_pool2d(t, 3, 2))
    else:
        fm, ft = (lambda t: mc.nn.functional.local_response_norm(t, 5)), (lambda t: F.local_response_norm(t, 5))
    try:
        runs = _pair_of_runs(fm, ft, x, True)
        runs[2]()
    except NotImplementedError:
        return {"case": name, "shape": shape, "algo": "n/a", "fwd": None, "fwd_bwd": None}
    fwd = _median_pair(runs[0], runs[1], repeats)
    fb = _median_pair(runs[2], runs[3], repeats)
    return {"case": name, "shape": shape, "algo": "", "fwd": fwd, "fwd_bwd": fb}


def _rss_high_water() -> int:
    """Peak resident memory of this process in bytes: VmHWM from /proc (Linux; ru_maxrss is
    no good in a subprocess, it inherits the parent's high-water mark), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource  # noqa: PLC0415

    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def peak_memory(lib: str) -> int:
    """Bytes of RSS high-water mark added by one conv forward+backward at the VGG case
    (run in this process; call it in a fresh subprocess)."""
    n, c, h, w, o, k, s, p, g = CONV_CASES[VGG]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((o, c // g, k, k), dtype=np.float32)
    gy = rng.standard_normal((n, o, h, w), dtype=np.float32)
    if lib == "torch":
        xt, wtt, gyt = torch.tensor(x, requires_grad=True), torch.tensor(wt, requires_grad=True), torch.tensor(gy)
        before = _rss_high_water()
        F.conv2d(xt, wtt, None, s, p).backward(gyt)
    else:
        xm, wm, gym = mc.tensor(x, requires_grad=True), mc.tensor(wt, requires_grad=True), mc.tensor(gy)
        before = _rss_high_water()
        mc.nn.functional.conv2d(xm, wm, None, s, p).backward(gym)
    return _rss_high_water() - before


def _peak_in_subprocess(lib: str) -> int | None:
    out = subprocess.run([sys.executable, __file__, "--peak", lib], capture_output=True, text=True, env=os.environ)
    try:
        return int(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _table_row(row: dict) -> str:
    fwd, fb, ceiling = row["fwd"], row["fwd_bwd"], row.get("gemm_ceiling_gflops")
    cells = [row["case"], row["algo"]]
    for pair in (fwd, fb):
        if pair is None:
            cells += ["n/a"] * 3
        else:
            cells += [f"{pair[0] * 1e3:.2f}", f"{pair[1] * 1e3:.2f}", f"{pair[0] / pair[1]:.2f}"]
    cells.append(f"<= {TARGETS.get(row['case'], 2.0)}")
    if ceiling is None:
        cells += ["", f"{row['gflops_fwd_bwd']:.0f}" if "gflops_fwd_bwd" in row else "", ""]
    else:
        cells += [f"{ceiling:.0f}", f"{row['gflops_fwd_bwd']:.0f}", f"{row['share_of_ceiling']:.0%}"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    if ARGS.peak:
        print(peak_memory(ARGS.peak))
        return
    repeats = 1 if ARGS.quick else ARGS.repeats
    only = set(ARGS.only.split(",")) if ARGS.only else None
    try:
        import threadpoolctl  # noqa: PLC0415

        blas_threads = max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    except Exception:
        blas_threads = os.environ.get("OPENBLAS_NUM_THREADS", f"default ({os.cpu_count()} cpus)")
    if ARGS.array_code:
        from minicnn.kernels.cuda import use_cuda_kernels  # noqa: PLC0415

        use_cuda_kernels(False).__enter__()  # for the whole run
    print(f"# minicnn {mc.__version__} vs torch {torch.__version__}, numpy {np.__version__}, device {DEVICE}")
    if DEVICE != "cpu":
        print(f"# minicnn kernels on the GPU: {'array code (CuPy)' if ARGS.array_code else 'CUDA kernels'}")
        print("# both in float32: torch's TF32 (cudnn.allow_tf32, cuda.matmul.allow_tf32) switched off")
    print(
        f"# threads: torch {torch.get_num_threads()}, numpy BLAS {blas_threads} (set by {THREAD_METHOD}); "
        f"repeats {repeats}, medians of alternating runs"
    )
    print()
    print(
        "| case | algo | fwd mc ms | fwd torch ms | fwd ratio | f+b mc ms | f+b torch ms | f+b ratio | target "
        "| GEMM ceiling GFLOP/s | mc GFLOP/s | share |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    cases = [(k, v, bench_conv) for k, v in CONV_CASES.items()] + [(k, v, bench_other) for k, v in OTHER_CASES.items()]
    for name, shape, fn in cases:
        if only and name not in only:
            continue
        row = fn(name, shape, repeats)
        rows.append(row)
        print(_table_row(row), flush=True)
    peaks = {}
    if not ON_GPU and (not only or VGG in only):
        peaks = {lib: _peak_in_subprocess(lib) for lib in ("minicnn", "torch")}
        n, c, h, w, o, k, s, p, g = CONV_CASES[VGG]
        act = n * c * h * w * 4 / 2**20
        print()
        print(
            f"Peak memory of one conv forward+backward at the VGG case (input {act:.0f} MiB, "
            f"im2col budget {conv_kernels.get_im2col_budget() / 2**20:.0f} MiB), RSS high-water mark increase: "
            + ", ".join(f"{lib} {('n/a' if v is None else f'{v / 2**20:.0f} MiB')}" for lib, v in peaks.items())
        )
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(
                {
                    "device": DEVICE,
                    "threads": torch.get_num_threads(),
                    "repeats": repeats,
                    "rows": rows,
                    "peak_bytes": peaks,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
