"""The classic architectures end to end: one training step (forward, cross-entropy, backward)
of each minicnn model and of the torchvision model of the same name, same process, same
weights (torchvision's draw, loaded into minicnn through the shared state-dict keys), same
batch, alternating, medians. Before timing, one eval-mode forward of both checks that the
logits agree.

    python benchmarks/bench_models.py [--threads 1] [--batch 4] [--size 128] [--rounds 3]
                                      [--only resnet18 ...] [--profile mobilenet_v2]
                                      [--cpu-time] [--layers resnet18]

Prints milliseconds per step (median over rounds), the ratio minicnn/PyTorch (lower is better
for minicnn) and the largest logit difference relative to the logits' scale. float32, train
mode (batch statistics in BatchNorm, dropout on). Needs torchvision. Models without a
torchvision twin (LeNet-5, Inception v4, Inception-ResNet, MobileNet v1) are left out.
``--profile NAME`` instead prints where one minicnn training step of that model spends its
time (cProfile, the functions with the most own time).
``--cpu-time`` times with the process's CPU time instead of the wall clock: on a machine
shared with other jobs a step that is preempted then does not count the time it waited
(use it with ``--threads 1``; with more threads CPU time adds up the threads).
``--layers NAME`` instead times every leaf module of that model on its own, forward +
backward (of sum(out * 1)) on the input it receives in a training step, minicnn and torch
alternating, and prints the totals per module type and the 25 layers where minicnn's time
exceeds torch's most (minimum over rounds: the least disturbed run of each).
OPENBLAS_CORETYPE is left as the machine sets it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

MODELS = {  # name -> (minicnn keyword arguments, torchvision keyword arguments)
    "alexnet": ({}, {}),
    "vgg11": ({}, {}),
    "vgg11_bn": ({}, {}),
    "googlenet": ({"aux_logits": False}, {"aux_logits": False, "init_weights": True}),
    "inception_v3": ({"aux_logits": False}, {"aux_logits": False, "init_weights": True}),
    "resnet18": ({}, {}),
    "resnet50": ({}, {}),
    "mobilenet_v2": ({}, {}),
    "resnext50_32x4d": ({}, {}),
    "resnext101_32x8d": ({}, {}),
    "resnext101_64x4d": ({}, {}),
    "wide_resnet50_2": ({}, {}),
    "wide_resnet101_2": ({}, {}),
    "squeezenet1_0": ({}, {}),
    "squeezenet1_1": ({}, {}),
    "densenet121": ({}, {}),
    "densenet161": ({}, {}),
    "densenet169": ({}, {}),
    "densenet201": ({}, {}),
    "shufflenet_v2_x0_5": ({}, {}),
    "shufflenet_v2_x1_0": ({}, {}),
    "shufflenet_v2_x1_5": ({}, {}),
    "shufflenet_v2_x2_0": ({}, {}),
    "mobilenet_v3_large": ({}, {}),
    "mobilenet_v3_small": ({}, {}),
    "convnext_tiny": ({}, {}),
    "convnext_small": ({}, {}),
    "convnext_base": ({}, {}),
    "convnext_large": ({}, {}),
    "mnasnet0_5": ({}, {}),
    "mnasnet0_75": ({}, {}),
    "mnasnet1_0": ({}, {}),
    "mnasnet1_3": ({}, {}),
    "regnet_x_400mf": ({}, {}),
    "regnet_x_800mf": ({}, {}),
    "regnet_x_1_6gf": ({}, {}),
    "regnet_x_3_2gf": ({}, {}),
    "regnet_x_8gf": ({}, {}),
    "regnet_x_16gf": ({}, {}),
    "regnet_x_32gf": ({}, {}),
    "regnet_y_400mf": ({}, {}),
    "regnet_y_800mf": ({}, {}),
    "regnet_y_1_6gf": ({}, {}),
    "regnet_y_3_2gf": ({}, {}),
    "regnet_y_8gf": ({}, {}),
    "regnet_y_16gf": ({}, {}),
    "regnet_y_32gf": ({}, {}),
    "regnet_y_128gf": ({}, {}),
    "vit_b_16": ({"image_size": "size"}, {"image_size": "size"}),  # "size": the --size given (a multiple of 16)
    "vit_b_32": ({"image_size": "size"}, {"image_size": "size"}),
    "swin_t": ({}, {}),
    "swin_v2_t": ({}, {}),
    "efficientnet_b0": ({}, {}),
    "efficientnet_b1": ({}, {}),
    "efficientnet_b2": ({}, {}),
    "efficientnet_b3": ({}, {}),
    "efficientnet_b4": ({}, {}),
    "efficientnet_b5": ({}, {}),
    "efficientnet_b6": ({}, {}),
    "efficientnet_b7": ({}, {}),
    "efficientnet_v2_s": ({}, {}),
    "efficientnet_v2_m": ({}, {}),
    "efficientnet_v2_l": ({}, {}),
}


def _sized(kwargs: dict[str, Any], size: int) -> dict[str, Any]:
    """A model's keyword arguments with the placeholder "size" replaced by the input size."""
    return {k: size if v == "size" else v for k, v in kwargs.items()}


_clock = time.perf_counter  # --cpu-time: time.process_time

# run when --only is not given: the original eight and the cheap new ones
DEFAULT = ["alexnet", "vgg11", "vgg11_bn", "googlenet", "inception_v3", "resnet18", "resnet50", "mobilenet_v2",
           "squeezenet1_1", "shufflenet_v2_x1_0", "mobilenet_v3_small"]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--size", type=int, default=128, help="input height and width (inception_v3: at least 75)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", nargs="+", default=DEFAULT, choices=list(MODELS), help="default: " + " ".join(DEFAULT))
    ap.add_argument("--profile", choices=list(MODELS), help="profile one minicnn step of this model instead")
    ap.add_argument("--cpu-time", action="store_true", help="time with process CPU time, not the wall clock")
    ap.add_argument("--layers", choices=list(MODELS), help="time each leaf layer of this model instead")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy and torch load their BLAS
    global _clock
    _clock = time.process_time if args.cpu_time else time.perf_counter
    if args.profile:
        profile(args.profile, args.batch, args.size)
        return
    if args.layers:
        import torch

        torch.set_num_threads(args.threads)
        layers(args.layers, args.batch, args.size, args.rounds)
        return

    import torch

    torch.set_num_threads(args.threads)
    clock = ", CPU time" if args.cpu_time else ""
    print(
        f"training step (forward + cross-entropy + backward), batch {args.batch}, {args.size}x{args.size}, "
        f"{args.threads} thread(s); median of {args.rounds} rounds{clock}"
    )
    print(f"{'model':18s} | minicnn ms | torch ms | ratio | logits rel. diff")
    for name in args.only:
        m, t, diff = measure(name, args.batch, args.size, args.rounds)
        print(f"{name:18s} | {m:10.0f} | {t:8.0f} | {m / t:5.2f} | {diff:.1e}")


def measure(name: str, batch: int, size: int, rounds: int) -> tuple[float, float, float]:
    """Median milliseconds per training step of (minicnn, torch), and the largest difference of
    their eval-mode logits divided by the largest logit."""
    import numpy as np
    import torch
    import torchvision

    import minicnn as mc
    import minicnn.nn.functional as F

    ours_kw, theirs_kw = (_sized(kw, size) for kw in MODELS[name])
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(weights=None, **theirs_kw)
    ours = getattr(mc.models, name)(**ours_kw)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, size, size)).astype(np.float32)
    y = rng.integers(0, 1000, batch)
    ours.eval()
    theirs.eval()
    with mc.no_grad(), torch.no_grad():
        a, b = ours(mc.tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy()
    diff = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
    ours.train()
    theirs.train()

    def step_m() -> None:
        ours.zero_grad()
        F.cross_entropy(ours(mc.tensor(x)), mc.tensor(y)).backward()

    def step_t() -> None:
        theirs.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y)).backward()

    for f in (step_m, step_t):  # warm-up: workspaces, allocator, BLAS threads
        f()
    times: dict[str, list[float]] = {"minicnn": [], "torch": []}
    for _ in range(rounds):  # alternating, so machine noise hits both alike
        for label, f in (("minicnn", step_m), ("torch", step_t)):
            t0 = _clock()
            f()
            times[label].append((_clock() - t0) * 1e3)
    return statistics.median(times["minicnn"]), statistics.median(times["torch"]), diff


def layers(name: str, batch: int, size: int, rounds: int) -> None:
    """Time every leaf module of ``name`` on its own (see the module docstring)."""
    import numpy as np
    import torch
    import torchvision

    import minicnn as mc

    ours_kw, theirs_kw = (_sized(kw, size) for kw in MODELS[name])
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(weights=None, **theirs_kw)
    ours = getattr(mc.models, name)(**ours_kw)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    theirs.train()
    ours.train()
    calls: list[tuple[str, Any, Any]] = []  # (name, torch module, its input), once per call
    leaves = [(n, m) for n, m in theirs.named_modules() if not list(m.children())]
    hooks = [
        m.register_forward_hook(lambda mod, args, out, n=n: calls.append((n, mod, args[0].detach().numpy().copy())))
        for n, m in leaves
    ]
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
    theirs(torch.from_numpy(x))
    for h in hooks:
        h.remove()
    ours_by_name = dict(ours.named_modules())
    rows = []
    for i, (n, tm, a) in enumerate(calls):
        om, needs_grad = ours_by_name[n], i > 0  # the image needs no gradient
        for m in (tm, om):  # an in-place layer (ReLU, Dropout) cannot take a leaf tensor
            if getattr(m, "inplace", False):
                m.inplace = False

        def step_t(tm: Any = tm, a: Any = a, needs_grad: bool = needs_grad) -> None:
            y = tm(torch.tensor(a, requires_grad=needs_grad))
            y.backward(torch.ones_like(y))

        def step_m(om: Any = om, a: Any = a, needs_grad: bool = needs_grad) -> None:
            y = om(mc.tensor(a, requires_grad=needs_grad))
            y.backward(mc.ones_like(y))

        step_m(), step_t()  # warm-up
        times: dict[str, list[float]] = {"minicnn": [], "torch": []}
        for _ in range(rounds):
            for label, f in (("minicnn", step_m), ("torch", step_t)):
                t0 = _clock()
                f()
                times[label].append((_clock() - t0) * 1e3)
        m, t = min(times["minicnn"]), min(times["torch"])
        rows.append((m - t, m, t, n, type(tm).__name__, a.shape))
    print(f"{name}: each leaf layer forward + backward, batch {batch}, {size}x{size}; minimum of {rounds} rounds")
    print(f"all layers: minicnn {sum(r[1] for r in rows):.1f} ms, torch {sum(r[2] for r in rows):.1f} ms")
    by_type: dict[str, list[float]] = {}
    for r in rows:
        d = by_type.setdefault(r[4], [0.0, 0.0, 0])
        d[0], d[1], d[2] = d[0] + r[1], d[1] + r[2], d[2] + 1
    print(f"{'module type':20s} | count | minicnn ms | torch ms | gap ms")
    for kind, (m, t, c) in sorted(by_type.items(), key=lambda kv: kv[1][1] - kv[1][0]):
        print(f"{kind:20s} | {c:5d} | {m:10.1f} | {t:8.1f} | {m - t:6.1f}")
    print(f"{'layer':34s} | {'type':12s} | {'input shape':20s} | minicnn ms | torch ms | gap ms")
    for gap, m, t, n, kind, shape in sorted(rows, reverse=True)[:25]:
        print(f"{n:34s} | {kind:12s} | {str(shape):20s} | {m:10.2f} | {t:8.2f} | {gap:6.2f}")


def profile(name: str, batch: int, size: int) -> None:
    """Print the 15 functions with the most own time in one minicnn training step of ``name``."""
    import cProfile
    import pstats

    import numpy as np

    import minicnn as mc
    import minicnn.nn.functional as F

    model = getattr(mc.models, name)(**_sized(MODELS[name][0], size))
    rng = np.random.default_rng(0)
    x, y = mc.tensor(rng.standard_normal((batch, 3, size, size)).astype(np.float32)), mc.tensor(np.arange(batch))

    def step() -> None:
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()

    step()  # warm-up
    with cProfile.Profile() as prof:
        step()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
