"""The runnable examples of README.md and docs/studying.md run as written (each file's
``python`` blocks in order, in a fresh process, as a reader would paste them). A block whose
comment announces an error must raise it. Code excerpts quoted from the kernels in
docs/kernels.md and docs/gpu.md are not programs and are not run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"


def _blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def _program(blocks: list[str]) -> str:
    """The blocks in order; one that announces an error (``# SomeError: ...``) must raise it."""
    parts = []
    for i, block in enumerate(blocks):
        expected = re.search(r"#\s*(\w+Error)\b", block)
        if expected:
            body = textwrap.indent(block, "    ")
            parts.append(
                f"try:\n{body}\nexcept {expected.group(1)}:\n    pass\n"
                f"else:\n    raise AssertionError('block {i + 1} should raise {expected.group(1)}')\n"
            )
        else:
            parts.append(block)
    return "\n".join(parts)


def _run(program: str, tmp_path: Path) -> None:
    env = dict(os.environ, MINICNN_DATA=str(MNIST), MINICNN_OFFLINE="1", MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.mark.slow
def test_the_readme_example_trains_lenet5_on_mnist(tmp_path):
    if not MNIST.is_dir():
        pytest.fail(f"the MNIST files are expected in {MNIST} (../shared beside the repository)")
    (block,) = _blocks(REPO / "README.md")
    _run(block + "\nassert loss.item() < 0.5, loss.item()\n", tmp_path)


@pytest.mark.slow
def test_the_studying_guide_runs_as_written(tmp_path):
    blocks = _blocks(REPO / "docs" / "studying.md")
    assert len(blocks) >= 10
    _run(_program(blocks), tmp_path)


def test_a_block_that_announces_an_error_must_raise_it(tmp_path):
    with pytest.raises(AssertionError, match="should raise RuntimeError"):
        _run(_program(["x = 1  # RuntimeError: never raised"]), tmp_path)
