"""Command line: ``python -m minicnn train|eval|summary``.

python -m minicnn train lenet5 --data-dir ../shared/data/mnist
python -m minicnn eval runs/lenet5-.../checkpoint-epoch5.npz
python -m minicnn summary lenet5
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

DATA_HELP = (
    "directory holding the MNIST files (torchvision's <dir>/MNIST/raw/ layout or the four .gz files "
    "directly); default $MINICNN_DATA or ~/.cache/minicnn, where missing files are downloaded"
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m minicnn", description="minicnn: train, evaluate and inspect CNNs.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model (default: LeNet-5 on MNIST)")
    t.add_argument("model", nargs="?", default="lenet5", help="model name from mc.models (default lenet5)")
    t.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=0.02, help="peak learning rate (cosine-annealed per batch)")
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--weight-decay", type=float, default=5e-4)
    t.add_argument("--optimizer", default="sgd", choices=["sgd", "adam", "adamw", "rmsprop"])
    t.add_argument("--schedule", default="cosine", choices=["cosine", "constant"])
    t.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    t.add_argument("--data-dir", default=None, help=DATA_HELP)
    t.add_argument("--out", default=None, help="output directory (default runs/<model>-<time>/)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--resume",
        nargs="?",
        const="",
        default=None,
        metavar="CHECKPOINT",
        help="continue from a checkpoint file, or from the newest one in --out",
    )
    t.add_argument("--limit-train", type=int, default=None, help="use only the first N training images")
    t.add_argument("--limit-test", type=int, default=None, help="use only the first N test images")
    t.add_argument(
        "--workers",
        type=int,
        default=1,
        help="CPU: split each batch among this many processes (mc.parallel.DataParallel), e.g. the number of cores",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--kill-at-step", type=int, default=None, help=argparse.SUPPRESS)  # test hook

    e = sub.add_parser("eval", help="report the test accuracy of a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--data-dir", default=None, help=DATA_HELP)
    e.add_argument("--device", default="cpu")

    s = sub.add_parser("summary", help="print a model's layer table")
    s.add_argument("model")
    s.add_argument("--input-size", type=int, nargs="+", default=None, help="C H W (default: the model's native size)")
    s.add_argument("--num-classes", type=int, default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .data import DatasetNotFoundError

    try:
        if args.command == "train":
            from .trainer import TrainConfig, train

            if args.resume == "" and args.out is None:
                raise SystemExit("--resume without a checkpoint path needs --out (the run directory to continue)")
            if args.workers < 1:
                raise SystemExit(f"--workers must be at least 1, got {args.workers}")
            if args.workers > 1 and args.device != "cpu":
                raise SystemExit(
                    f"--workers {args.workers} splits batches among CPU processes; on --device {args.device} "
                    "leave it at 1 (one process already uses the whole GPU)"
                )
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
            summary(model, size)
    except DatasetNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
