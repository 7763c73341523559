"""minicnn.memory: freed large arrays are reused instead of page-faulted in afresh each step."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import resource
import numpy as np
import minicnn
print(minicnn.memory.keep_freed_memory() if {check} else "", end=" ")
def step():  # the pattern of a training step: temporaries of 10, 8, 6 and 4 MB, written, freed
    arrays = [np.ones(mb * 2**20 // 4, np.float32) for mb in (10, 8, 6, 4)]
    del arrays
for _ in range(3):  # warm up
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(keep: str, check: bool = False) -> tuple[str, int]:
    env = {**os.environ, "MINICNN_KEEP_FREED_MEMORY": keep}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(check=check)], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return (out[0] if len(out) > 1 else ""), int(out[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_freed_memory_is_reused_without_page_faults() -> None:
    _, tuned = _faults("1")
    _, plain = _faults("0")
    pages = 20 * 28 * 2**20 // 4096  # what twenty steps of fresh arrays would fault in
    assert plain > pages // 10, f"expected the untuned malloc to fault in fresh pages, got {plain} faults"
    assert tuned < min(plain, pages) // 20, f"freed blocks were not reused: {tuned} page faults for {pages} pages"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_opt_out_then_explicit_call() -> None:
    applied, faults = _faults("0", check=True)
    assert applied == "True"
    assert faults < 20 * 28 * 2**20 // 4096 // 20
