"""``format(tensor, spec)`` / f-strings as torch: a 0-d tensor formats as its Python number
(the tutorials' ``f"Loss: {loss:.4f}"``), other tensors and Parameters only with an empty spec."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings

import minicnn as mc

SPECS = ["", ".4f", "4f", ".2e", "8.3g", "+.1f", ">10.2f", "%", ".0%", "d", "x", "b", "05d", ",", "_"]


def formatted(value, spec):
    try:
        return format(value, spec)
    except (TypeError, ValueError) as e:
        return type(e)


@pytest.mark.parametrize("device", devices())
@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from(["float32", "float64", "int64", "int32", "bool"]),
    value=st.floats(-1e6, 1e6, allow_nan=False),
    spec=st.sampled_from(SPECS),
)
def test_zero_dim_tensor_formats_like_torch(device, dtype, value, spec):
    array = np.asarray(value).astype(dtype)
    assert formatted(mc.tensor(array, device=device), spec) == formatted(torch.tensor(array), spec)


@pytest.mark.parametrize("spec", [".4f", "d", ""])
def test_non_scalar_tensors_and_parameters_like_torch(spec):
    for ours, theirs in [
        (mc.tensor([1.5, 2.0]), torch.tensor([1.5, 2.0])),
        (mc.nn.Parameter(mc.tensor(0.5)), torch.nn.Parameter(torch.tensor(0.5))),
    ]:
        mine, ref = formatted(ours, spec), formatted(theirs, spec)
        if spec:
            assert mine is ref is TypeError
        else:
            assert mine == str(ours)


def test_training_log_line_like_torch():
    """transfer learning tutorial: ``running_corrects.double() / n`` printed with ``:.4f``."""
    lines = []
    for lib in (torch, mc):
        preds, labels = lib.tensor([1, 0, 1, 1]), lib.tensor([1, 1, 1, 0])
        acc = lib.sum(preds == labels).double() / 4
        loss = lib.tensor(0.693147, requires_grad=True) * 1
        lines.append(f"train Loss: {loss:.4f} Acc: {acc:.4f} Best: {acc:4f}")
    assert lines[0] == lines[1] == "train Loss: 0.6931 Acc: 0.5000 Best: 0.500000"
