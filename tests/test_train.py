"""The training command end to end on the real MNIST (../shared/data/mnist)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED

import minicnn as mc

MNIST_DIR = SHARED / "data" / "mnist"
REPO = Path(__file__).resolve().parents[1]


def _require_mnist() -> None:
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"the real MNIST is expected in {MNIST_DIR} (set MINICNN_SHARED to the shared/ folder)")


def _cli(*args: str, env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "minicnn", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=full_env,
    )


def _final_weights(run: Path) -> dict[str, np.ndarray]:
    ckpts = sorted(run.glob("checkpoint-epoch*.npz"))
    return mc.load(ckpts[-1])["model"]


@pytest.mark.slow
def test_one_epoch_of_lenet5_reaches_98_percent(tmp_path):
    _require_mnist()
    out = tmp_path / "run"
    r = _cli("train", "lenet5", "--epochs", "1", "--data-dir", str(MNIST_DIR), "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics) == 1 and metrics[0]["test_acc"] >= 0.98, metrics
    assert (out / "checkpoint-epoch1.npz").exists()
    try:  # the plots need matplotlib (the [plot] extra, installed by CI); without it they are skipped
        import matplotlib  # noqa: F401, PLC0415

        assert (out / "curves.png").exists() and (out / "filters.png").exists()
    except ImportError:
        assert "matplotlib is not installed" in r.stdout + r.stderr
    r = _cli("eval", str(out / "checkpoint-epoch1.npz"), "--data-dir", str(MNIST_DIR))
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{100 * metrics[0]['test_acc']:.2f} %" in r.stdout


SMALL = ("--limit-train", "640", "--limit-test", "200", "--epochs", "2", "--batch-size", "64", "--no-progress")


def test_kill_mid_epoch_and_resume_gives_the_same_weights(tmp_path):
    _require_mnist()
    data = ("--data-dir", str(MNIST_DIR))
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    r = _cli("train", "lenet5", *SMALL, *data, "--out", str(straight))
    assert r.returncode == 0, r.stderr[-3000:]
    # 10 steps per epoch: step 15 is in the middle of epoch 2
    r = _cli("train", "lenet5", *SMALL, *data, "--out", str(killed), "--kill-at-step", "15")
    assert r.returncode == -9, (r.returncode, r.stderr[-3000:])
    assert (killed / "checkpoint-epoch1.npz").exists() and not (killed / "checkpoint-epoch2.npz").exists()
    assert not [p for p in killed.iterdir() if ".tmp" in p.name]
    r = _cli("train", "lenet5", *SMALL, *data, "--out", str(killed), "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resumed from" in r.stdout
    a, b = _final_weights(straight), _final_weights(killed)
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    hist_a = json.loads((straight / "metrics.json").read_text())
    hist_b = json.loads((killed / "metrics.json").read_text())
    assert [h["test_acc"] for h in hist_a] == [h["test_acc"] for h in hist_b]


def test_resuming_with_more_epochs_says_the_saved_schedule_goes_on(tmp_path):
    _require_mnist()
    small = ("--limit-train", "640", "--limit-test", "200", "--batch-size", "64", "--no-progress")
    run = ("--data-dir", str(MNIST_DIR), "--out", str(tmp_path / "run"), *small)
    r = _cli("train", "lenet5", *run, "--epochs", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    r = _cli("train", "lenet5", *run, "--epochs", "2", "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "the checkpoint's learning-rate schedule spans 10 steps, these settings 20" in r.stdout


def test_workers_split_the_batch_and_follow_the_single_process_run(tmp_path):
    """--workers 2 (mc.parallel.DataParallel) computes the same gradients up to float rounding,
    so after 20 steps the weights agree closely with a one-process run; kill + resume works too."""
    pytest.importorskip("threadpoolctl", reason="DataParallel's workers limit BLAS threads through threadpoolctl")
    _require_mnist()
    data = ("--data-dir", str(MNIST_DIR))
    one, two, killed = tmp_path / "one", tmp_path / "two", tmp_path / "killed"
    for out, extra in ((one, ()), (two, ("--workers", "2"))):
        r = _cli("train", "lenet5", *SMALL, *data, "--out", str(out), *extra)
        assert r.returncode == 0, r.stderr[-3000:]
    a, b = _final_weights(one), _final_weights(two)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-3, atol=1e-4, err_msg=k)
    r = _cli("train", "lenet5", *SMALL, *data, "--out", str(killed), "--workers", "2", "--kill-at-step", "15")
    assert r.returncode == -9, (r.returncode, r.stderr[-3000:])
    r = _cli("train", "lenet5", *SMALL, *data, "--out", str(killed), "--workers", "2", "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    c = _final_weights(killed)
    for k in b:
        np.testing.assert_array_equal(b[k], c[k], err_msg=k)


def test_same_seed_gives_bit_identical_weights_and_other_seed_differs(tmp_path):
    _require_mnist()
    args = (
        "--limit-train",
        "256",
        "--limit-test",
        "100",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--no-progress",
        "--data-dir",
        str(MNIST_DIR),
    )
    runs = []
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        r = _cli("train", "lenet5", *args, "--seed", seed, "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr[-3000:]
        runs.append(_final_weights(tmp_path / name))
    for k in runs[0]:
        np.testing.assert_array_equal(runs[0][k], runs[1][k], err_msg=k)
    assert not np.array_equal(runs[0]["features.0.weight"], runs[2]["features.0.weight"])


def test_without_data_or_network_the_error_says_what_to_do(tmp_path):
    # MINICNN_OFFLINE=1: no download is tried (tests never reach outside this machine)
    r = _cli(
        "train",
        "lenet5",
        "--epochs",
        "1",
        "--no-progress",
        "--out",
        str(tmp_path / "run"),
        env={"MINICNN_DATA": str(tmp_path / "empty"), "MINICNN_OFFLINE": "1"},
        timeout=300,
    )
    assert r.returncode == 2, r.stderr[-3000:]
    assert "train-images-idx3-ubyte" in r.stderr
    assert "--data-dir" in r.stderr and "MINICNN_DATA" in r.stderr
    assert "Traceback" not in r.stderr


def test_summary_command_prints_the_table():
    r = _cli("summary", "lenet5")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "61,706" in r.stdout or "61706" in r.stdout


def test_workers_option_is_checked_before_anything_runs():
    r = _cli("train", "lenet5", "--workers", "0")
    assert r.returncode == 2 and "argument --workers: must be at least 1" in r.stderr
    r = _cli("train", "lenet5", "--workers", "2", "--device", "cuda")
    assert r.returncode != 0 and "CPU processes" in r.stderr


# --- arguments and expected errors: a usage message or one line, never a traceback ---------


@pytest.mark.parametrize(
    "args, message",
    [
        (("train", "--limit-train", "0"), "argument --limit-train: must be at least 1, got 0"),
        (("train", "--limit-train", "-5"), "argument --limit-train: must be at least 1, got -5"),
        (("train", "--limit-test", "0"), "argument --limit-test: must be at least 1"),
        (("train", "--epochs", "0"), "argument --epochs: must be at least 1, got 0"),
        (("train", "--epochs", "-1"), "argument --epochs: must be at least 1, got -1"),
        (("train", "--epochs", "two"), "argument --epochs: invalid int value: 'two'"),
        (("train", "--batch-size", "0"), "argument --batch-size: must be at least 1"),
        (("train", "--lr", "-1"), "argument --lr: must be a finite number >= 0, got -1"),
        (("train", "--lr", "nan"), "argument --lr: must be a finite number >= 0"),
        (("train", "--momentum", "-0.1"), "argument --momentum: must be a finite number >= 0"),
        (("train", "--weight-decay", "-0.001"), "argument --weight-decay: must be a finite number >= 0"),
        (("train", "--seed", "-1"), "argument --seed: must be at least 0"),
        (("train", "--device", "tpu"), "argument --device: unknown device 'tpu'"),
        (("train", "--resume"), "--resume without a checkpoint path needs --out"),
        (("eval", "x.npz", "--device", "gpu:0"), "argument --device: unknown device"),
        (("summary", "lenet5", "--input-size", "28"), "argument --input-size: expected 3 arguments"),
        (("summary", "lenet5", "--input-size", "1", "0", "28"), "argument --input-size: must be at least 1"),
        (("summary", "lenet5", "--num-classes", "0"), "argument --num-classes: must be at least 1"),
    ],
)
def test_bad_arguments_end_in_a_usage_error(args: tuple, message: str, capsys: pytest.CaptureFixture) -> None:
    from minicnn.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(list(args))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage:" in err


def test_zero_lr_is_allowed_as_in_torch() -> None:
    from minicnn.__main__ import _parser

    args = _parser().parse_args(["train", "--lr", "0", "--momentum", "0", "--weight-decay", "0"])
    assert (args.lr, args.momentum, args.weight_decay) == (0.0, 0.0, 0.0)


def test_train_config_is_validated_for_api_callers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from minicnn.trainer import TrainConfig, train

    monkeypatch.setenv("MINICNN_OFFLINE", "1")  # whatever happens, no download
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "empty"))
    for bad in ({"limit_train": 0}, {"epochs": 0}, {"batch_size": -1}, {"lr": -0.1}, {"device": "tpu"}):
        with pytest.raises(ValueError):
            train(TrainConfig(out=str(tmp_path / "run"), **bad))
    assert not (tmp_path / "run").exists()


def _one_line_error(r: subprocess.CompletedProcess, status: int, *fragments: str) -> None:
    assert r.returncode == status, (r.returncode, r.stderr[-3000:])
    assert "Traceback" not in r.stderr and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    for fragment in fragments:
        assert fragment in r.stderr, r.stderr


OFFLINE = {"MINICNN_OFFLINE": "1"}  # the commands below must fail before any data; never download


def test_eval_of_a_missing_or_corrupt_or_foreign_checkpoint(tmp_path: Path) -> None:
    r = _cli("eval", str(tmp_path / "missing.npz"), env=OFFLINE)
    _one_line_error(r, 1, "missing.npz", "No such file")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip archive")
    _one_line_error(_cli("eval", str(corrupt), env=OFFLINE), 1, "corrupt.npz")
    (tmp_path / "text.npz").write_text("hello")
    _one_line_error(_cli("eval", str(tmp_path / "text.npz"), env=OFFLINE), 1, "text.npz", "not a minicnn checkpoint")
    weights_only = tmp_path / "weights.npz"
    mc.save(mc.models.lenet5().state_dict(), weights_only)
    _one_line_error(
        _cli("eval", str(weights_only), env=OFFLINE), 1, "weights.npz", "not a checkpoint of `python -m minicnn train`"
    )


def test_checkpoint_that_does_not_fit_the_model_and_a_corrupt_one_to_resume(tmp_path: Path) -> None:
    _require_mnist()
    data = ("--data-dir", str(MNIST_DIR))
    out = tmp_path / "run"
    small = ("--limit-train", "64", "--limit-test", "10", "--epochs", "1", "--no-progress")
    r = _cli("train", "lenet5", *small, *data, "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = mc.load(out / "checkpoint-epoch1.npz")
    del ckpt["model"]["features.0.weight"]
    mc.save(ckpt, tmp_path / "broken.npz")
    _one_line_error(
        _cli("eval", str(tmp_path / "broken.npz"), *data), 1, "broken.npz", "model (for lenet5) does not fit"
    )
    (out / "checkpoint-epoch1.npz").write_bytes((out / "checkpoint-epoch1.npz").read_bytes()[:300])
    r = _cli("train", "lenet5", *small, "--epochs", "2", *data, "--out", str(out), "--resume")
    _one_line_error(r, 1, "checkpoint-epoch1.npz")


def test_limit_train_counts_images(tmp_path: Path) -> None:
    _require_mnist()
    out = tmp_path / "run"
    r = _cli(
        "train", "lenet5", "--limit-train", "5", "--limit-test", "3", "--batch-size", "2", "--epochs", "1",
        "--no-progress", "--data-dir", str(MNIST_DIR), "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert mc.load(out / "checkpoint-epoch1.npz")["optimizer"]["state"]  # it trained
    (record,) = json.loads((out / "metrics.json").read_text())
    assert record["train_acc"] * 5 == pytest.approx(round(record["train_acc"] * 5))  # a fraction of 5 images
    assert record["test_acc"] * 3 == pytest.approx(round(record["test_acc"] * 3))


def test_cuda_without_cupy_is_one_line(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is importable here: --device cuda would run")
    r = _cli("train", "lenet5", "--device", "cuda", "--no-progress", "--out", str(tmp_path / "run"), env=OFFLINE)
    _one_line_error(r, 1, "--device cuda", "CuPy")
    assert not (tmp_path / "run").exists()
    _one_line_error(_cli("eval", str(tmp_path / "x.npz"), "--device", "cuda:1", env=OFFLINE), 1, "CuPy")
    r = _cli("summary", "lenet5", "--input-size", "3", "28", "28")
    _one_line_error(r, 1, "lenet5 cannot run on an input of shape (3, 28, 28)")


def test_option_names_of_the_command_line_are_the_trainers() -> None:
    """__main__ keeps the choices as literals (so `-h` needs no import of the trainer)."""
    from minicnn import __main__ as cli
    from minicnn import trainer

    assert cli.DATASET_NAMES == tuple(trainer.DATASETS)
    assert cli.OPTIMIZER_NAMES == tuple(trainer.OPTIMIZERS)


def test_augment_shifts_and_flips_only_where_the_class_allows() -> None:
    from minicnn import trainer
    from minicnn.data import transforms as T

    mnist = trainer.augmentation(trainer.DATASETS["mnist"])
    cifar = trainer.augmentation(trainer.DATASETS["cifar10"])
    assert [type(t) for t in mnist] == [T.RandomCrop]
    assert [type(t) for t in cifar] == [T.RandomCrop, T.RandomHorizontalFlip]
    assert (mnist[0].size, mnist[0].padding, cifar[0].size, cifar[0].padding) == ((28, 28), 3, (32, 32), 4)
    mc.manual_seed(0)
    batch = np.arange(2 * 3 * 32 * 32, dtype=np.float32).reshape(2, 3, 32, 32)
    out = T.Compose(cifar)(batch)
    assert out.shape == batch.shape and not np.array_equal(out, batch)  # shifted (and maybe mirrored)


@pytest.mark.parametrize("optimizer", ["nadam", "adagrad"])
def test_augmented_run_with_another_optimizer(tmp_path: Path, optimizer: str) -> None:
    _require_mnist()
    out = tmp_path / "run"
    r = _cli(
        "train", "lenet5", "--augment", "--optimizer", optimizer, "--lr", "0.001", "--limit-train", "64",
        "--limit-test", "16", "--batch-size", "16", "--epochs", "1", "--no-progress", "--data-dir", str(MNIST_DIR),
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    config = json.loads((out / "metrics.json").read_text())[0]
    ckpt = mc.load(out / "checkpoint-epoch1.npz")
    assert ckpt["optimizer"]["state"] and config["train_acc"] >= 0
