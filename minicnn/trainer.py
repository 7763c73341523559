"""The training loop behind ``python -m minicnn train``: data, model, optimiser, schedule,
per-epoch evaluation, checkpoints, metrics and plots.

Reproducibility: everything random (initialisation, shuffling, augmentation, dropout)
draws from the library generator, seeded by ``--seed``. Each epoch ends with a checkpoint
holding the model, the optimiser, the scheduler and the generator's state, so a run that
is killed mid-epoch and resumed from the newest checkpoint replays the lost epoch exactly
and ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, models, nn, optim, random
from .autograd import Tensor, no_grad
from .data import CIFAR10, CIFAR100, KMNIST, MNIST, DataLoader, FashionMNIST, Subset, transforms
from .nn import functional as F
from .parallel import DataParallel
from .serialization import CheckpointError, load, save


@dataclass(frozen=True)
class DatasetSpec:
    """What the trainer needs to know of a dataset: its class (whose ``mean`` and ``std``,
    one value per channel, normalise the images), the image shape (C, H, W) and the number
    of classes."""

    cls: Any
    shape: tuple[int, int, int]
    num_classes: int
    flips: bool = False  # whether --augment mirrors images left-right (not digits nor characters)

    @property
    def mean(self) -> tuple[float, ...]:
        return tuple(self.cls.mean)

    @property
    def std(self) -> tuple[float, ...]:
        return tuple(self.cls.std)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(MNIST, (1, 28, 28), 10),
    "fashion-mnist": DatasetSpec(FashionMNIST, (1, 28, 28), 10),
    "kmnist": DatasetSpec(KMNIST, (1, 28, 28), 10),
    "cifar10": DatasetSpec(CIFAR10, (3, 32, 32), 10, flips=True),
    "cifar100": DatasetSpec(CIFAR100, (3, 32, 32), 100, flips=True),
}
"""The datasets of ``--dataset``, by name."""


def dataset_spec(name: str) -> DatasetSpec:
    """``DATASETS[name]``, or a SystemExit listing the known names."""
    if name not in DATASETS:
        raise SystemExit(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


@dataclass
class TrainConfig:
    """Every setting of a run; saved in each checkpoint so ``eval`` can rebuild the model."""

    model: str = "lenet5"
    dataset: str = "mnist"
    epochs: int = 5
    batch_size: int = 32
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 5e-4
    optimizer: str = "sgd"
    schedule: str = "cosine"
    augment: bool = False
    device: str = "cpu"
    data_dir: str | None = None
    out: str | None = None
    seed: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    workers: int = 1
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ValueError for a setting no run can use (the command line's argparse types
        refuse them first): counts below 1, negative or non-finite rates, an unknown device."""
        counts = {"epochs": self.epochs, "batch_size": self.batch_size, "workers": self.workers}
        counts.update(
            {k: v for k, v in (("limit_train", self.limit_train), ("limit_test", self.limit_test)) if v is not None}
        )
        for name, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        for name in ("lr", "momentum", "weight_decay"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"TrainConfig.{name} must be a finite number >= 0, got {value!r}")
        backend.parse_device(self.device)


def build_model(name: str, num_classes: int | None) -> nn.Module:
    """``mc.models.<name>(num_classes=...)`` (the constructor's default when None), or a
    SystemExit listing the known names."""
    if not hasattr(models, name) or not name[0].islower():
        known = ", ".join(n for n in getattr(models, "__all__", []) if n[0].islower()) or "see mc.models"
        raise SystemExit(f"unknown model {name!r}; known models: {known}")
    ctor = getattr(models, name)
    return ctor() if num_classes is None else ctor(num_classes=num_classes)


# Models that take each channel count, for the error message: the 3-channel ones with
# adaptive pooling run on CIFAR's 32 x 32 too (alexnet's fixed pooling does not).
_FITTING_MODELS = {1: "lenet5", 3: "resnet18, resnet34, vgg11, vgg11_bn, mobilenet_v1, mobilenet_v2, googlenet"}


def _check_fit(model: nn.Module, cfg: TrainConfig) -> None:
    """SystemExit unless the model can take the dataset's images.

    A model whose native ``input_size`` is the dataset's shape fits (lenet5 on the MNIST-like
    sets). Other channel counts never fit. Same channels, other height and width (resnet18,
    vgg11, mobilenet_v2 ... on CIFAR's 32 x 32, thanks to their adaptive pooling): one
    image of zeros goes through the model in eval mode, without a graph; a layer refusing it
    is the error."""
    expected = getattr(model, "input_size", None)
    spec = dataset_spec(cfg.dataset)
    if expected is None or tuple(expected) == spec.shape:
        return
    if expected[0] != spec.shape[0]:
        raise SystemExit(
            f"model {cfg.model} takes {expected[0]}-channel images {tuple(expected)}, dataset {cfg.dataset} has "
            f"{spec.shape[0]}-channel images {spec.shape}; models for {spec.shape[0]}-channel images: "
            f"{_FITTING_MODELS.get(spec.shape[0], 'see mc.models')}"
        )
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            probe = next(iter(model.parameters()))
            model(Tensor(backend.to_device(np.zeros((1, *spec.shape), dtype=probe.dtype), cfg.device)))
    except ValueError as exc:
        raise SystemExit(
            f"model {cfg.model} cannot run on {cfg.dataset}'s images {spec.shape}: {' '.join(str(exc).split())}"
        ) from exc
    finally:
        model.train(was_training)


def make_loaders(cfg: TrainConfig) -> tuple[DataLoader, DataLoader]:
    spec = dataset_spec(cfg.dataset)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(spec.mean, spec.std)])
    train_tf = transforms.Compose([tf, *augmentation(spec)]) if cfg.augment else tf
    train_set = spec.cls(root=cfg.data_dir, train=True, download=True, transform=train_tf)
    test_set = spec.cls(root=cfg.data_dir, train=False, download=True, transform=tf)
    if cfg.limit_train is not None:
        train_set = Subset(train_set, np.arange(min(cfg.limit_train, len(train_set))))
    if cfg.limit_test is not None:
        test_set = Subset(test_set, np.arange(min(cfg.limit_test, len(test_set))))
    train = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, device=cfg.device)
    test = DataLoader(test_set, batch_size=1000, shuffle=False, device=cfg.device)
    return train, test


def augmentation(spec: DatasetSpec) -> list[Any]:
    """``--augment``: random shifts by up to an eighth of the side (zero padding, then a random
    crop back to the size: 4 pixels on CIFAR, 3 on 28x28), and left-right mirroring where it
    keeps the class (CIFAR's objects, not digits or characters)."""
    size = spec.shape[1:]
    steps: list[Any] = [transforms.RandomCrop(size, padding=size[0] // 8)]
    return steps + [transforms.RandomHorizontalFlip()] if spec.flips else steps


OPTIMIZERS: dict[str, Callable[..., optim.Optimizer]] = {
    "sgd": lambda p, c: optim.SGD(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "adam": lambda p, c: optim.Adam(p, lr=c.lr, weight_decay=c.weight_decay),
    "adamw": lambda p, c: optim.AdamW(p, lr=c.lr, weight_decay=c.weight_decay),
    "rmsprop": lambda p, c: optim.RMSprop(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
    "nadam": lambda p, c: optim.NAdam(p, lr=c.lr, weight_decay=c.weight_decay),
    "radam": lambda p, c: optim.RAdam(p, lr=c.lr, weight_decay=c.weight_decay),
    "adamax": lambda p, c: optim.Adamax(p, lr=c.lr, weight_decay=c.weight_decay),
    "adagrad": lambda p, c: optim.Adagrad(p, lr=c.lr, weight_decay=c.weight_decay),
    "adadelta": lambda p, c: optim.Adadelta(p, lr=c.lr, weight_decay=c.weight_decay),
}
"""``--optimizer``: each built from the run's lr and weight decay (and momentum where it has one)."""


def make_optimizer(cfg: TrainConfig, params: Any) -> optim.Optimizer:
    if cfg.optimizer not in OPTIMIZERS:
        raise SystemExit(f"unknown optimizer {cfg.optimizer!r}; choose {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[cfg.optimizer](params, cfg)


def make_scheduler(cfg: TrainConfig, opt: optim.Optimizer, steps_per_epoch: int) -> Any:
    """Stepped once per batch: cosine annealing over the whole run, or constant."""
    if cfg.schedule == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs * steps_per_epoch, 1))
    if cfg.schedule == "constant":
        return None
    raise SystemExit(f"unknown schedule {cfg.schedule!r}; choose cosine or constant")


def evaluate(model: nn.Module, loader: DataLoader, forward: Callable[[Any], Any] | None = None) -> tuple[float, float]:
    """(mean loss, accuracy) over the loader, in eval mode without a graph. ``forward``: what
    computes the logits (default ``model``; a DataParallel's ``forward`` splits the batches)."""
    was_training = model.training
    model.eval()
    totals = _Totals()
    with no_grad():
        for x, y in loader:
            logits = (forward or model)(x)
            totals.add(F.cross_entropy(logits, y).array, logits.array, y.array)
    model.train(was_training)
    total_loss, correct, n = totals.read()
    return total_loss / max(n, 1), correct / max(n, 1)


class _Totals:
    """Running sums of batch-mean losses (times batch sizes) and of correct predictions. The
    per-batch values stay where they were computed until :meth:`read`: reading each on the
    host would stop a GPU's queue at every step; a read every few steps costs one transfer."""

    def __init__(self) -> None:
        self.loss_sum, self.correct, self.seen = 0.0, 0, 0
        self._losses: list[Any] = []
        self._sizes: list[int] = []
        self._hits: list[Any] = []

    def add(self, mean_loss: Any, logits: Any, target: Any) -> None:
        self._losses.append(mean_loss)
        self._sizes.append(len(target))
        with backend.array_scope(logits):
            self._hits.append((logits.argmax(axis=1) == target).sum())

    def read(self) -> tuple[float, int, int]:
        """(loss sum, correct, seen) so far."""
        if self._sizes:
            xp = backend.get_array_module(*self._hits)
            with backend.array_scope(self._hits[0]):
                losses = backend.to_numpy(xp.stack([xp.asarray(v) for v in self._losses])).astype(np.float64)
                hits = backend.to_numpy(xp.stack(self._hits))
            for loss, size, hit in zip(losses.tolist(), self._sizes, hits.tolist()):
                self.loss_sum += loss * size
                self.correct += int(hit)
                self.seen += size
            self._losses, self._sizes, self._hits = [], [], []
        return self.loss_sum, self.correct, self.seen


CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "epoch", "rng", "history", "config")
"""What every checkpoint of :func:`train` holds."""


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint written by :func:`train`, or a :class:`CheckpointError` (one line, naming
    ``path``) if it is missing, unreadable, corrupt or some other file."""
    try:
        ckpt = load(path)
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {str(path)!r}: {exc.strerror or exc}") from exc
    missing = [k for k in CHECKPOINT_KEYS if k not in ckpt] if isinstance(ckpt, dict) else list(CHECKPOINT_KEYS)
    if missing or not isinstance(ckpt["config"], dict):
        lacks = ", ".join(missing) if missing else "a config dict"
        raise CheckpointError(f"{str(path)!r} is not a checkpoint of `python -m minicnn train` (it lacks {lacks})")
    return ckpt


def _restore(what: str, path: Any, restore: Callable[[], Any]) -> None:
    """Run ``restore()`` (a load_state_dict); a mismatch becomes a CheckpointError naming ``path``."""
    try:
        restore()
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        message = " ".join(message.split())  # one line
        raise CheckpointError(f"{str(path)!r}: its {what} does not fit: {message}") from exc


def newest_checkpoint(out: Path) -> Path | None:
    ckpts = sorted(out.glob("checkpoint-epoch*.npz"), key=lambda p: int(p.stem.rsplit("epoch", 1)[1]))
    return ckpts[-1] if ckpts else None


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _progress(iterable: Any, total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="batch", leave=True, dynamic_ncols=True)


def train(
    cfg: TrainConfig, resume: str | None = None, kill_at_step: int | None = None, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run (or resume) a training run; returns the final metrics record.

    Raises ValueError for an unusable ``cfg``, :class:`CheckpointError` for a checkpoint to
    resume from that cannot be used, and the data errors of :mod:`minicnn.data`.
    """
    cfg.validate()
    random.manual_seed(cfg.seed)
    out = Path(cfg.out or f"runs/{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    model = build_model(cfg.model, dataset_spec(cfg.dataset).num_classes).to(cfg.device)
    _check_fit(model, cfg)
    train_loader, test_loader = make_loaders(cfg)
    opt = make_optimizer(cfg, model.parameters())
    sched = make_scheduler(cfg, opt, len(train_loader))
    history: list[dict[str, Any]] = []
    start_epoch = 0

    if resume is not None:
        path = Path(resume)
        ckpt_path = newest_checkpoint(path) if path.is_dir() else path
        if ckpt_path is None or not ckpt_path.exists():
            log(f"no checkpoint found in {path}; starting from scratch")
        else:
            ckpt = read_checkpoint(ckpt_path)
            _restore(f"model (for {cfg.model})", ckpt_path, lambda: model.load_state_dict(ckpt["model"]))
            _restore("optimizer state", ckpt_path, lambda: opt.load_state_dict(ckpt["optimizer"]))
            if sched is not None and ckpt.get("scheduler") is not None:
                planned = getattr(sched, "T_max", None)
                _restore("scheduler state", ckpt_path, lambda: sched.load_state_dict(ckpt["scheduler"]))
                if getattr(sched, "T_max", None) != planned:  # torch's load_state_dict keeps the saved plan too
                    log(
                        f"note: the checkpoint's learning-rate schedule spans {sched.T_max} steps, these settings "
                        f"{planned}; the checkpoint's schedule goes on (start a new run for another length)"
                    )
            _restore("generator state", ckpt_path, lambda: random.set_rng_state(ckpt["rng"]))
            history = list(ckpt["history"])
            start_epoch = int(ckpt["epoch"])
            log(f"resumed from {ckpt_path} (epoch {start_epoch} done)")

    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    dp = DataParallel(model, F.cross_entropy, workers=cfg.workers) if cfg.workers > 1 else None
    try:
        return _epochs(
            cfg, out, model, opt, sched, train_loader, test_loader, history, start_epoch, dp, kill_at_step, log
        )
    finally:
        if dp is not None:
            dp.close()


def _epochs(
    cfg: TrainConfig,
    out: Path,
    model: nn.Module,
    opt: optim.Optimizer,
    sched: Any,
    train_loader: DataLoader,
    test_loader: DataLoader,
    history: list[dict[str, Any]],
    start_epoch: int,
    dp: DataParallel | None,
    kill_at_step: int | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The epochs of :func:`train` from ``start_epoch`` on; ``dp`` splits each batch among processes."""
    step = start_epoch * len(train_loader)
    for epoch in range(start_epoch, cfg.epochs):
        random.begin_epoch(epoch)  # GPU draws depend on (seed, epoch) only: resumable
        if dp is not None:
            dp.set_epoch(epoch)
        model.train()
        t0 = time.perf_counter()
        totals = _Totals()
        bar = _progress(train_loader, len(train_loader), f"epoch {epoch + 1}/{cfg.epochs}", cfg.progress)
        for x, y in bar:
            opt.zero_grad()
            if dp is None:
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                loss.backward()
                loss_value = loss.array
            else:
                loss_value, logits = dp.forward_backward(x, y)
            opt.step()
            if sched is not None:
                sched.step()
            step += 1
            totals.add(loss_value, logits.array, y.array)
            if cfg.progress and step % 10 == 0:
                loss_sum, correct, seen = totals.read()
                rate = seen / (time.perf_counter() - t0)
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}", img_s=f"{rate:.0f}")
            if kill_at_step is not None and step == kill_at_step:
                os.kill(os.getpid(), signal.SIGKILL)  # test hook: die like a killed process
        loss_sum, correct, seen = totals.read()
        train_seconds = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, test_loader, None if dp is None else dp.forward)
        record = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(seen, 1),
            "train_acc": correct / max(seen, 1),
            "test_loss": test_loss,
            "test_acc": test_acc,
            "seconds": train_seconds,
            "images_per_s": seen / train_seconds if train_seconds > 0 else math.nan,
            "lr": opt.param_groups[0]["lr"],
        }
        history.append(record)
        log(
            f"epoch {epoch + 1}: train loss {record['train_loss']:.4f} acc {record['train_acc']:.4f} | "
            f"test loss {test_loss:.4f} acc {test_acc:.4f} | {record['images_per_s']:.0f} img/s"
        )
        save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": None if sched is None else sched.state_dict(),
                "epoch": epoch + 1,
                "rng": random.get_rng_state(),
                "history": history,
                "config": asdict(cfg),
            },
            out / f"checkpoint-epoch{epoch + 1}.npz",
        )
        _atomic_write_text(out / "metrics.json", json.dumps(history, indent=2))

    write_plots(out, history, model, log)
    return history[-1] if history else {}


def write_plots(out: Path, history: list[dict[str, Any]], model: nn.Module, log: Callable[[str], None]) -> None:
    """``curves.png`` (loss and accuracy per epoch) and ``filters.png`` (first conv layer)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: skipped curves.png and filters.png (pip install minicnn[plot])")
        return
    if history:
        epochs = [h["epoch"] for h in history]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        a1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
        a1.plot(epochs, [h["test_loss"] for h in history], "o-", label="test")
        a1.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
        a1.legend()
        a2.plot(epochs, [100 * h["train_acc"] for h in history], "o-", label="train")
        a2.plot(epochs, [100 * h["test_acc"] for h in history], "o-", label="test")
        a2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
        a2.legend()
        fig.tight_layout()
        fig.savefig(out / "curves.png", dpi=100)
        plt.close(fig)
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is not None:
        w = conv.weight.numpy()
        k = w.shape[0]
        cols = min(k, 8)
        rows = math.ceil(k / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(1.5 * cols, 1.5 * rows), squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i < k:
                f = w[i].mean(axis=0) if w.shape[1] != 3 else np.moveaxis(w[i], 0, -1)
                f = (f - f.min()) / (f.max() - f.min() + 1e-12)
                ax.imshow(f, cmap="gray" if f.ndim == 2 else None, interpolation="nearest")
                ax.set_title(str(i), fontsize=8)
        fig.suptitle("first convolution's kernels")
        fig.tight_layout()
        fig.savefig(out / "filters.png", dpi=100)
        plt.close(fig)


def evaluate_checkpoint(
    path: str, data_dir: str | None = None, device: str = "cpu", log: Callable[[str], None] = print
) -> float:
    """Rebuild the model recorded in a checkpoint and report its test accuracy.

    Raises :class:`CheckpointError` for a missing, corrupt or foreign file."""
    ckpt = read_checkpoint(path)
    try:
        cfg = TrainConfig(**{k: v for k, v in ckpt["config"].items() if k in TrainConfig.__dataclass_fields__})
    except TypeError as exc:
        raise CheckpointError(f"{str(path)!r}: its config is not a TrainConfig: {exc}") from exc
    cfg.device = device
    if data_dir is not None:
        cfg.data_dir = data_dir
    for name in ("limit_train", "limit_test"):  # older versions wrote 0 for "no limit"
        if getattr(cfg, name) is not None and getattr(cfg, name) < 1:
            setattr(cfg, name, None)
    model = build_model(cfg.model, dataset_spec(cfg.dataset).num_classes).to(device)
    _restore(f"model (for {cfg.model})", path, lambda: model.load_state_dict(ckpt["model"]))
    _, test_loader = make_loaders(cfg)
    loss, acc = evaluate(model, test_loader)
    log(
        f"{path}: {cfg.model} on {cfg.dataset} test set ({len(test_loader.dataset)} images): "
        f"accuracy {100 * acc:.2f} %, loss {loss:.4f}"
    )
    return acc
