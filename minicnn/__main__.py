"""Command line: ``python -m minicnn train|eval|summary``.

python -m minicnn train lenet5 --data-dir ../shared/data/mnist
python -m minicnn train resnet18 --dataset cifar10
python -m minicnn eval runs/lenet5-.../checkpoint-epoch5.npz
python -m minicnn summary lenet5
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence

DATA_HELP = (
    "directory holding the dataset's files (MNIST, Fashion-MNIST, KMNIST: torchvision's <dir>/MNIST/raw/ "
    "layout or the four .gz files directly; CIFAR: <dir>/cifar-10-batches-bin/ or <dir>/cifar-100-binary/, "
    "or the binary .tar.gz archive in <dir>); default $MINICNN_DATA or ~/.cache/minicnn, where missing files "
    "are downloaded"
)
DATASET_NAMES = ("mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100")
"""The choices of ``train --dataset`` (the keys of :data:`minicnn.trainer.DATASETS`)."""
OPTIMIZER_NAMES = ("sgd", "adam", "adamw", "rmsprop", "nadam", "radam", "adamax", "adagrad", "adadelta")
"""The choices of ``train --optimizer`` (the keys of :data:`minicnn.trainer.OPTIMIZERS`)."""


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an int >= ``minimum``, else argparse's usage error (exit status 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "positive int" if minimum == 1 else f"int >= {minimum}"
    return parse


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)


def non_negative_float(text: str) -> float:
    """An argparse type: a finite float >= 0 (torch's optimisers refuse negative values)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def device_name(text: str) -> str:
    """An argparse type: ``cpu``, ``cuda`` or ``cuda:N`` (whether CuPy is there is checked later)."""
    from .backend import parse_device

    try:
        parse_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    return _parsers()[0]


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line's parser and its subcommands' parsers by name."""
    p = argparse.ArgumentParser(prog="python -m minicnn", description="minicnn: train, evaluate and inspect CNNs.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model (default: LeNet-5 on MNIST)")
    t.add_argument("model", nargs="?", default="lenet5", help="model name from mc.models (default lenet5)")
    t.add_argument(
        "--dataset",
        default="mnist",
        choices=DATASET_NAMES,
        help="mnist (default), fashion-mnist and kmnist: 1x28x28; cifar10, cifar100: 3x32x32 colour images "
        "(for models such as resnet18, vgg11, mobilenet_v2)",
    )
    t.add_argument("--epochs", type=positive_int, default=5, help="epochs to train (default 5)")
    t.add_argument("--batch-size", type=positive_int, default=32, help="training batch size (default 32)")
    t.add_argument(
        "--lr", type=non_negative_float, default=0.02, help="peak learning rate, >= 0 (cosine-annealed per batch)"
    )
    t.add_argument("--momentum", type=non_negative_float, default=0.9, help="for sgd and rmsprop, >= 0")
    t.add_argument("--weight-decay", type=non_negative_float, default=5e-4, help=">= 0")
    t.add_argument("--optimizer", default="sgd", choices=OPTIMIZER_NAMES)
    t.add_argument("--schedule", default="cosine", choices=["cosine", "constant"])
    t.add_argument(
        "--augment",
        action="store_true",
        help="random shifts by up to 1/8 of the side, and left-right flips on CIFAR (default: none)",
    )
    t.add_argument("--device", type=device_name, default="cpu", help="cpu, cuda or cuda:N (cuda needs CuPy)")
    t.add_argument("--data-dir", default=None, help=DATA_HELP)
    t.add_argument("--out", default=None, help="output directory (default runs/<model>-<time>/)")
    t.add_argument("--seed", type=non_negative_int, default=0)
    t.add_argument(
        "--resume",
        nargs="?",
        const="",
        default=None,
        metavar="CHECKPOINT",
        help="continue from a checkpoint file, or from the newest one in --out",
    )
    t.add_argument(
        "--limit-train", type=positive_int, default=None, metavar="N", help="use only the first N training images"
    )
    t.add_argument(
        "--limit-test", type=positive_int, default=None, metavar="N", help="use only the first N test images"
    )
    t.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="CPU: split each batch among this many processes (mc.parallel.DataParallel), e.g. the number of cores",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--kill-at-step", type=positive_int, default=None, help=argparse.SUPPRESS)  # test hook

    e = sub.add_parser("eval", help="report the test accuracy of a checkpoint")
    e.add_argument("checkpoint", help="a checkpoint-epochN.npz written by train")
    e.add_argument("--data-dir", default=None, help=DATA_HELP)
    e.add_argument("--device", type=device_name, default="cpu", help="cpu, cuda or cuda:N (cuda needs CuPy)")

    s = sub.add_parser("summary", help="print a model's layer table")
    s.add_argument("model")
    s.add_argument(
        "--input-size",
        type=positive_int,
        nargs=3,
        metavar=("C", "H", "W"),
        default=None,
        help="input shape (default: the model's native size)",
    )
    s.add_argument("--num-classes", type=positive_int, default=None)
    return p, {"train": t, "eval": e, "summary": s}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status.

    Bad arguments end in argparse's usage message (status 2). Expected failures end in one
    ``error: ...`` message on stderr, without a traceback: data missing (status 2, the message
    says where it was looked for and how to point minicnn at it), a corrupt dataset file, a
    missing or unusable checkpoint, no CuPy for ``--device cuda`` (status 1).
    """
    parser, commands = _parsers()
    args = parser.parse_args(argv)
    if args.command == "train":
        if args.resume == "" and args.out is None:
            commands["train"].error("--resume without a checkpoint path needs --out (the run directory to continue)")
        if args.workers > 1 and args.device != "cpu":
            commands["train"].error(
                f"--workers {args.workers} splits batches among CPU processes; on --device {args.device} "
                "leave it at 1 (one process already uses the whole GPU)"
            )
    from .data import ChecksumError, CIFARError, DatasetNotFoundError, DownloadError, IDXError
    from .serialization import CheckpointError

    try:
        _check_device(getattr(args, "device", "cpu"))
        _run(args)
    except DatasetNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (CheckpointError, ChecksumError, IDXError, CIFARError, DownloadError, _CommandError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


class _CommandError(RuntimeError):
    """An expected failure of a command (no CuPy, a model refusing the input shape): one line, status 1."""


def _check_device(device: str) -> None:
    """Raise :class:`_CommandError` if ``device`` is a GPU and CuPy cannot be imported."""
    from .backend import parse_device, require_cupy

    if parse_device(device)[0] == "cuda":
        try:
            require_cupy()
        except RuntimeError as exc:
            raise _CommandError(f"--device {device}: {exc}") from exc


def _run(args: argparse.Namespace) -> None:
    """The command ``args.command`` with its parsed arguments."""
    if args.command == "train":
        from .trainer import TrainConfig, train

        cfg = TrainConfig(
            model=args.model,
            dataset=args.dataset,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            momentum=args.momentum,
            weight_decay=args.weight_decay,
            optimizer=args.optimizer,
            schedule=args.schedule,
            augment=args.augment,
            device=args.device,
            data_dir=args.data_dir,
            out=args.out,
            seed=args.seed,
            limit_train=args.limit_train,
            limit_test=args.limit_test,
            workers=args.workers,
            progress=not args.no_progress,
        )
        resume = None if args.resume is None else (args.resume or args.out)
        train(cfg, resume=resume, kill_at_step=args.kill_at_step)
    elif args.command == "eval":
        from .trainer import evaluate_checkpoint

        evaluate_checkpoint(args.checkpoint, data_dir=args.data_dir, device=args.device)
    elif args.command == "summary":
        from .summarize import summary
        from .trainer import build_model

        model = build_model(args.model, args.num_classes)
        size = tuple(args.input_size) if args.input_size else getattr(model, "input_size", (3, 224, 224))
        try:
            summary(model, size)
        except ValueError as exc:  # the layers refuse an input of this shape
            raise _CommandError(f"{args.model} cannot run on an input of shape {size}: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
