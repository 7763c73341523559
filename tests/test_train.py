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
    assert r.returncode != 0 and "--workers must be at least 1" in r.stderr
    r = _cli("train", "lenet5", "--workers", "2", "--device", "cuda")
    assert r.returncode != 0 and "CPU processes" in r.stderr
