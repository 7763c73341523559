"""mc.backends: torch.backends' switches exist with torch's names and defaults, keep what a
script sets, and the availability checks are truthful for minicnn."""

from __future__ import annotations

import importlib
import importlib.util

import pytest
import torch

import minicnn as mc


@pytest.mark.parametrize("name", ["enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit"])
def test_cudnn_flags_have_torchs_defaults_and_keep_what_is_set(name: str) -> None:
    ours = mc.backends.cudnn
    assert getattr(ours, name) == getattr(torch.backends.cudnn, name)
    before = getattr(ours, name)
    try:
        setattr(ours, name, 3 if name == "benchmark_limit" else not before)
        assert getattr(importlib.import_module("minicnn.backends.cudnn"), name) != before
    finally:
        setattr(ours, name, before)


def test_matmul_flags_have_torchs_defaults() -> None:
    for name in ("allow_tf32", "allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction"):
        assert getattr(mc.backends.cuda.matmul, name) == getattr(torch.backends.cuda.matmul, name)


def test_availability_is_truthful() -> None:
    assert mc.backends.cudnn.is_available() is False and mc.backends.cudnn.version() is None
    assert mc.backends.mps.is_available() is False and mc.backends.mps.is_built() is False
    assert mc.backends.cuda.is_built() == (importlib.util.find_spec("cupy") is not None)
    assert isinstance(mc.backends.cpu.get_cpu_capability(), str)


def test_word_language_model_device_selection_runs() -> None:
    """pytorch/examples word_language_model/main.py (2023): cuda, then mps, else the CPU."""
    torch_like = mc
    use_mps = torch_like.backends.mps.is_available()
    device = "cuda" if torch_like.cuda.is_available() else "mps" if use_mps else "cpu"
    assert device in ("cuda", "cpu")
    assert mc.zeros(2, device=device).device.startswith(device)
