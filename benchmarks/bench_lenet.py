"""One epoch of LeNet-5 training on MNIST in minicnn and in PyTorch, same run, same threads.

    python benchmarks/bench_lenet.py [--data-dir ../shared/data/mnist] [--threads 2 1] [--quick]

For each thread count a fresh child process (BLAS threads are fixed at import) trains both
frameworks for one epoch (batch 128, SGD lr 0.05 momentum 0.9, as the issue fixes), in
alternating segments of ~1/10 epoch so that machine noise hits both alike, then times
inference at batch 1000 over the test set, alternating again. It prints images/s of each,
the ratio minicnn/PyTorch (higher is better for minicnn), medians over segments, and test
accuracy after the epoch. Both start from the same weights (torch's initial draw), so their
accuracies agree up to float rounding. With more than one thread a third contender runs in the same
segments: minicnn with each batch split among that many processes, one BLAS thread each
(``mc.parallel.DataParallel``, what ``python -m minicnn train --workers N`` uses), printed as
the row "N procs". Further children run minicnn alone to report peak RSS (one process, and
the calling process plus the largest worker with DataParallel).
OPENBLAS_CORETYPE is left as the machine sets it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
BATCH, LR, MOMENTUM = 128, 0.05, 0.9


def _load(data_dir: str):
    import numpy as np

    from minicnn.data import MNIST

    tr, te = MNIST(root=data_dir, train=True, download=False), MNIST(root=data_dir, train=False, download=False)
    norm = lambda a: ((a.astype(np.float32) / 255.0 - 0.1307) / 0.3081)[:, None]  # noqa: E731
    return norm(tr.data), tr.targets, norm(te.data), te.targets


def _torch_lenet():
    import torch.nn as tnn

    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(400, 120),
        tnn.ReLU(),
        tnn.Linear(120, 84),
        tnn.ReLU(),
        tnn.Linear(84, 10),
    )


def _torch_device(device: str):
    """torch's device for ``--device``: the same, unless MINICNN_BENCH_TORCH_DEVICE overrides it
    (the GPU dry run on the fake CuPy, tests/test_gpu_dry_run.py, keeps torch on the CPU)."""
    import torch

    return torch.device(
        os.environ.get("MINICNN_BENCH_TORCH_DEVICE") or ("cuda" if device.startswith("cuda") else "cpu")
    )


def child(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    import minicnn as mc
    import minicnn.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = False  # float32 against float32 (minicnn has no TF32 path)
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = args.device
    tdev = _torch_device(dev)
    xtr, ytr, xte, yte = _load(args.data_dir)
    n_train = len(xtr) if not args.quick else 6400
    mc.manual_seed(0)
    torch.manual_seed(0)
    # one initial network for both: torch's draw, copied into minicnn (the two modules list their
    # parameters in the same order). Trained on the same batches, they then stay equal to float
    # rounding, and so do their test accuracies.
    theirs = _torch_lenet()
    ours = mc.models.lenet5()
    ours.load_state_dict({k: t.numpy() for k, t in zip(ours.state_dict(), theirs.state_dict().values())})
    ours.to(dev)
    theirs.to(tdev)
    opt_m = mc.optim.SGD(ours.parameters(), lr=LR, momentum=MOMENTUM)
    # minicnn with the batch split among `threads` processes (mc.parallel.DataParallel), same init
    use_dp = dev == "cpu" and args.threads > 1
    ours_dp = mc.models.lenet5()
    ours_dp.load_state_dict(ours.state_dict())
    opt_dp = mc.optim.SGD(ours_dp.parameters(), lr=LR, momentum=MOMENTUM)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=LR, momentum=MOMENTUM)
    order = np.random.default_rng(0).permutation(len(xtr))[:n_train]
    batches = [order[i : i + BATCH] for i in range(0, n_train, BATCH)]

    def step_m(idx):
        loss = F.cross_entropy(ours(mc.tensor(xtr[idx], device=dev)), mc.tensor(ytr[idx], device=dev))
        opt_m.zero_grad()
        loss.backward()
        opt_m.step()

    dp = mc.parallel.DataParallel(ours_dp, F.cross_entropy, workers=args.threads) if use_dp else None

    def run_dp(chunk):
        for idx in chunk:
            opt_dp.zero_grad()
            dp.forward_backward(xtr[idx], ytr[idx])
            opt_dp.step()

    def step_t(idx):
        x, y = torch.from_numpy(xtr[idx]).to(tdev), torch.from_numpy(ytr[idx]).to(tdev)
        loss = torch.nn.functional.cross_entropy(theirs(x), y)
        opt_t.zero_grad()
        loss.backward()
        opt_t.step()

    def sync():
        if dev != "cpu":
            mc.cuda.synchronize()
        if tdev.type == "cuda":
            torch.cuda.synchronize()

    # warm-up (allocators, BLAS threads) on a few batches, not counted
    for idx in batches[:3]:
        step_m(idx)
        step_t(idx)
    if use_dp:
        run_dp(batches[:3])
    segs = 10
    seg_len = max(1, len(batches) // segs)
    contenders = [
        ("minicnn", lambda chunk: [step_m(i) for i in chunk]),
        ("torch", lambda chunk: [step_t(i) for i in chunk]),
    ]
    if use_dp:
        contenders.append(("minicnn_dp", run_dp))
    rates = {name: [] for name, _ in contenders}
    total = {name: 0.0 for name, _ in contenders}
    for s in range(0, len(batches), seg_len):
        chunk = batches[s : s + seg_len]
        imgs = sum(len(b) for b in chunk)
        k = (s // seg_len) % len(contenders)
        for name, fn in contenders[k:] + contenders[:k]:  # rotate who goes first
            sync()
            t0 = time.perf_counter()
            fn(chunk)
            sync()
            dt = time.perf_counter() - t0
            total[name] += dt
            rates[name].append(imgs / dt)

    def acc_m():
        with mc.no_grad():
            ours.eval()
            pred = np.concatenate(
                [ours(mc.tensor(xte[i : i + 1000], device=dev)).numpy().argmax(1) for i in range(0, len(xte), 1000)]
            )
            ours.train()
        return float((pred == yte).mean())

    def acc_t():
        with torch.no_grad():
            pred = np.concatenate(
                [
                    theirs(torch.from_numpy(xte[i : i + 1000]).to(tdev)).cpu().numpy().argmax(1)
                    for i in range(0, len(xte), 1000)
                ]
            )
        return float((pred == yte).mean())

    def acc_dp():
        ours_dp.eval()
        pred = np.concatenate([dp.forward(xte[i : i + 1000]).numpy().argmax(1) for i in range(0, len(xte), 1000)])
        ours_dp.train()
        return float((pred == yte).mean())

    readers = [("minicnn", acc_m), ("torch", acc_t)] + ([("minicnn_dp", acc_dp)] if use_dp else [])
    infer = {name: [] for name, _ in readers}
    for r in range(3 if args.quick else 5):
        k = r % len(readers)
        for name, fn in readers[k:] + readers[:k]:
            t0 = time.perf_counter()
            acc = fn()
            infer[name].append(len(xte) / (time.perf_counter() - t0))
            infer[name + "_acc"] = acc
    if dp is not None:
        dp.close()
    return {
        "device": dev,
        "batch": BATCH,
        "threads": args.threads,
        "train_images": n_train,
        "train_img_s": {k: n_train / total[k] for k in total},
        "train_img_s_median_segment": {k: statistics.median(v) for k, v in rates.items()},
        "infer_img_s_median": {name: statistics.median(infer[name]) for name, _ in readers},
        "test_acc": {name: infer[name + "_acc"] for name, _ in readers},
    }


def rss_child(args: argparse.Namespace) -> dict:
    """minicnn alone, as ``python -m minicnn train`` feeds it (MNIST held as uint8, each batch
    converted and normalised by the DataLoader): one epoch (or the quick share), then peak RSS."""
    import minicnn as mc
    import minicnn.nn.functional as F
    from minicnn.data import MNIST, DataLoader, Subset, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MNIST.mean, MNIST.std)])
    data = MNIST(root=args.data_dir, train=True, download=False, transform=tf)
    if args.quick:
        data = Subset(data, range(6400))
    mc.manual_seed(0)
    model = mc.models.lenet5()
    opt = mc.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    workers = args.threads if args.child == "rss_dp" else 1
    with mc.parallel.DataParallel(model, F.cross_entropy, workers=workers) as dp:
        for x, y in DataLoader(data, batch_size=BATCH, shuffle=True):
            opt.zero_grad()
            dp.forward_backward(x, y)
            opt.step()
    return {
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "workers": workers,
        "worker_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if workers > 1 else 0.0,
    }


def _spawn(args: argparse.Namespace, threads: int, mode: str) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--threads",
        str(threads),
        "--data-dir",
        args.data_dir,
        "--device",
        args.device,
        "--batch-size",
        str(args.batch_size),
    ]
    if args.quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    global BATCH
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.environ.get("MINICNN_DATA", str(DEFAULT_DATA)))
    p.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    p.add_argument("--quick", action="store_true", help="6,400 training images instead of 60,000")
    p.add_argument("--device", default="cpu", help="cpu or cuda (both frameworks on that device)")
    p.add_argument("--batch-size", type=int, default=BATCH, help="training batch (the issue's figure: 128)")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    BATCH = args.batch_size
    if args.child:
        args.threads = args.threads[0]
        print(json.dumps(child(args) if args.child == "compare" else rss_child(args)))  # rss or rss_dp
        return
    results = [_spawn(args, t, "compare") for t in args.threads]
    rss = _spawn(args, args.threads[0], "rss") if args.device == "cpu" else {"peak_rss_mib": float("nan")}
    rss_dp = _spawn(args, max(args.threads), "rss_dp") if args.device == "cpu" and max(args.threads) > 1 else None
    print(
        f"LeNet-5, one MNIST epoch on {args.device}, batch {BATCH}, SGD lr {LR} momentum {MOMENTUM}"
        f"{' (quick: 6,400 images)' if args.quick else ''}"
    )
    print(
        f"{'threads':>7} | {'train img/s minicnn':>19} {'torch':>9} {'ratio':>6} | "
        f"{'infer img/s minicnn':>19} {'torch':>9} {'ratio':>6} | {'test acc minicnn':>16} {'torch':>7}"
    )
    for r in results:
        tr, inf, acc = r["train_img_s"], r["infer_img_s_median"], r["test_acc"]
        for name in [k for k in ("minicnn", "minicnn_dp") if k in tr]:
            label = f"{r['threads']}" if name == "minicnn" else f"{r['threads']} procs"
            print(
                f"{label:>7} | {tr[name]:>19.0f} {tr['torch']:>9.0f} {tr[name] / tr['torch']:>6.2f} | "
                f"{inf[name]:>19.0f} {inf['torch']:>9.0f} {inf[name] / inf['torch']:>6.2f} | "
                f"{100 * acc[name]:>15.2f}% {100 * acc['torch']:>6.2f}%"
            )
    if any("minicnn_dp" in r["train_img_s"] for r in results):
        print(
            "'N procs': minicnn's batch split among N processes with one BLAS thread each "
            "(mc.parallel.DataParallel), against torch with N threads"
        )
    print(f"peak RSS of a minicnn-only training run ({args.threads[0]} threads): {rss['peak_rss_mib']:.0f} MiB")
    if rss_dp is not None:
        print(
            f"peak RSS with {rss_dp['workers']} processes: {rss_dp['peak_rss_mib']:.0f} MiB (calling process) + "
            f"{rss_dp['worker_peak_rss_mib']:.0f} MiB (largest worker; pages shared through fork counted in both)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": results, "rss": rss, "rss_dp": rss_dp}, indent=2))


if __name__ == "__main__":
    main()
