"""``mc.accelerator`` against ``torch.accelerator``'s contract: the device selection of PyTorch's
current examples (``torch.accelerator.is_available()`` / ``current_accelerator()``), on the CPU
and, in the ``cuda`` cases, on a GPU (or the fake CuPy of tests/fake_gpu)."""

from __future__ import annotations

import pytest
import torch
from conftest import devices

import minicnn as mc
from minicnn import backend


@pytest.mark.parametrize("device", devices())
def test_examples_device_selection(device):
    """pytorch/examples' mnist/main.py: ``use_accel`` decides the device the model trains on."""
    use_accel = mc.accelerator.is_available()
    assert use_accel == (device == "cuda") == mc.cuda.is_available()
    dev = mc.accelerator.current_accelerator() if use_accel else mc.device("cpu")
    assert dev == device and repr(dev) == repr(torch.device(device))
    x = mc.ones(3, device=dev)
    assert x.device.type == device
    assert mc.accelerator.device_count() == mc.cuda.device_count()


@pytest.mark.parametrize("device", devices())
def test_current_accelerator_check_available(device):
    if backend._import_cupy() is None:  # minicnn cannot use a GPU here: as a CPU-only torch build
        assert mc.accelerator.current_accelerator() is None
    else:
        assert repr(mc.accelerator.current_accelerator()) == repr(torch.device("cuda"))
    expected = torch.device("cuda") if mc.accelerator.is_available() else None
    assert repr(mc.accelerator.current_accelerator(check_available=True)) == repr(expected)


def test_without_gpu_the_gpu_functions_raise():
    if mc.accelerator.is_available():
        pytest.skip("a GPU is present: the error cases need a machine without one")
    for call in (
        mc.accelerator.current_device_index,
        lambda: mc.accelerator.set_device_index(0),
        mc.accelerator.synchronize,
    ):
        with pytest.raises(RuntimeError, match="no accelerator is available"):
            call()
    with mc.accelerator.device_index(None):  # changes nothing, needs no GPU (as torch's)
        pass


@pytest.mark.parametrize("device", [p for p in devices() if p != "cpu"])
def test_device_index_switches_and_restores(device):
    count = mc.accelerator.device_count()
    assert mc.accelerator.current_device_index() == 0
    last = count - 1
    with mc.accelerator.device_index(last):
        assert mc.accelerator.current_device_index() == last
        mc.accelerator.synchronize()
        mc.accelerator.synchronize(f"cuda:{last}")
    assert mc.accelerator.current_device_index() == 0
    mc.accelerator.set_device_idx(mc.device("cuda", last))
    assert mc.accelerator.current_device_idx() == last
    mc.accelerator.set_device_index(0)
    with pytest.raises(ValueError, match="out of range"):
        mc.accelerator.set_device_index(count)
    with pytest.raises(ValueError, match="not the current accelerator"):
        mc.accelerator.set_device_index("cpu")
