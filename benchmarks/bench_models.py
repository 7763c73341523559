"""The classic architectures end to end: one training step (forward, cross-entropy, backward)
of each minicnn model and of the torchvision model of the same name, same process, same
weights (torchvision's draw, loaded into minicnn through the shared state-dict keys), same
batch, alternating, medians. Before timing, one eval-mode forward of both checks that the
logits agree.

    python benchmarks/bench_models.py [--threads 1] [--batch 4] [--size 128] [--rounds 3]
                                      [--only resnet18 ...] [--profile mobilenet_v2]

Prints milliseconds per step (median over rounds), the ratio minicnn/PyTorch (lower is better
for minicnn) and the largest logit difference relative to the logits' scale. float32, train
mode (batch statistics in BatchNorm, dropout on). Needs torchvision. Models without a
torchvision twin (LeNet-5, Inception v4, Inception-ResNet, MobileNet v1) are left out.
``--profile NAME`` instead prints where one minicnn training step of that model spends its
time (cProfile, the functions with the most own time).
OPENBLAS_CORETYPE is left as the machine sets it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

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
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy and torch load their BLAS
    if args.profile:
        profile(args.profile, args.batch, args.size)
        return

    import torch

    torch.set_num_threads(args.threads)
    print(
        f"training step (forward + cross-entropy + backward), batch {args.batch}, {args.size}x{args.size}, "
        f"{args.threads} thread(s); median of {args.rounds} rounds"
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

    ours_kw, theirs_kw = MODELS[name]
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
            t0 = time.perf_counter()
            f()
            times[label].append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times["minicnn"]), statistics.median(times["torch"]), diff


def profile(name: str, batch: int, size: int) -> None:
    """Print the 15 functions with the most own time in one minicnn training step of ``name``."""
    import cProfile
    import pstats

    import numpy as np

    import minicnn as mc
    import minicnn.nn.functional as F

    model = getattr(mc.models, name)(**MODELS[name][0])
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
