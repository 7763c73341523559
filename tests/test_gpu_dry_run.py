"""minicnn's GPU code paths on a machine without a GPU, through the fake CuPy of tests/fake_gpu.

* Every CUDA case of the test suite (the ``cuda`` marker: device-parametrised op, module,
  model and kernel tests) runs in a subprocess whose ``import cupy`` finds the fake. There
  the "GPU" arrays are NumPy arrays of their own type, host arrays mixed into device
  operations raise as in CuPy, and the CUDA kernels run through the host runner.
* ``benchmarks/gpu_check.sh`` runs in its dry-run mode: the benchmarks' GPU code paths (data
  and models moved to the device, synchronisation, accuracy on the device, the JSON summary)
  run end to end, so the script works the first time a GPU machine is lent.

Both need g++ (the fake compiles the kernels with the host runner).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED

REPO = Path(__file__).resolve().parents[1]
FAKE = REPO / "tests" / "fake_gpu"

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="the fake CuPy's kernels need g++")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(FAKE), str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def test_every_cuda_case_passes_on_the_fake_cupy():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "cuda",
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore",
            str(REPO / "tests"),
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in last and "skipped" not in last and "failed" not in last, last
    assert int(last.split(" passed")[0].split()[-1]) >= 100, last  # the device cases did run


def test_gpu_check_dry_run(tmp_path):
    mnist = SHARED / "data" / "mnist"
    if not (mnist / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"the real MNIST is expected in {mnist}")
    r = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh")],
        cwd=REPO,
        env=_env(GPU_CHECK_DRY_RUN="1", OUT=str(tmp_path), MINICNN_SHARED=str(SHARED)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["gpu_check"].startswith("dry run") and "missing" not in summary, summary
    for name in ("kernels", "kernels_array_code"):
        assert set(summary[name]) == {"LeNet conv2", "MobileNet dw", "max_pool2d 3x3/2", "LRN(5)"}, summary[name]
        assert all(v > 0 for row in summary[name].values() for v in row), summary[name]
    for name in ("lenet128", "lenet1024"):
        assert summary[name]["train_img_s"]["minicnn"] > 0 and summary[name]["train_img_s"]["torch"] > 0
        # one initial network, the same batches: minicnn on the (fake) GPU learns what torch learns
        assert summary["targets"][f"{name} accuracy = torch's (within 1 %)"], summary[name]
        assert abs(summary[name]["test_acc"]["minicnn"] - summary[name]["test_acc"]["torch"]) < 0.002
    assert summary["lenet128"]["test_acc"]["minicnn"] > 0.8, summary["lenet128"]
    assert "kernels on the GPU" in r.stdout and "LeNet-5, one MNIST epoch on cuda" in r.stdout
