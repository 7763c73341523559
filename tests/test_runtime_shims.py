"""The runtime surface torch training scripts touch: mc.Size (Tensor.shape / size()),
set/get_float32_matmul_precision and backends.cuda.matmul.allow_tf32, mc.compile, and
mc.cuda's seeding/device/memory functions -- without a GPU (torch's CPU-machine behaviour) and
on the fake CuPy of tests/fake_gpu (CuPy's pools, devices and generators)."""

from __future__ import annotations

import pickle

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from conftest import devices
from fake_gpu import cupy as fake_cupy
from hypothesis import given, settings

import minicnn as mc
from minicnn import backend
from minicnn import random as mc_random
from minicnn.size import Size

# -- mc.Size ----------------------------------------------------------------------------------


@settings(max_examples=30)
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=4), cut=st.integers(-5, 5))
def test_size_behaves_as_torch_size(shape, cut):
    ours, theirs = Size(shape), torch.Size(shape)
    assert ours == theirs and ours == tuple(shape) and hash(ours) == hash(theirs)
    assert ours.numel() == theirs.numel()
    assert repr(ours) == repr(theirs).replace("torch.", "minicnn.") and str(ours) == repr(ours)
    for got, want in (
        (ours[cut:], theirs[cut:]),
        (ours + (7,), theirs + (7,)),
        ((7,) + ours, (7,) + theirs),
        (ours * 2, theirs * 2),
    ):
        assert type(got) is Size and type(want) is torch.Size and got == want
    if shape:
        assert type(ours[0]) is int and ours[-1] == theirs[-1]
    assert pickle.loads(pickle.dumps(ours)) == ours and type(pickle.loads(pickle.dumps(ours))) is Size


def test_size_checks_its_items_as_torch():
    assert Size([np.int64(3), mc.tensor(2)]) == (3, 2)
    with pytest.raises(TypeError) as want:
        torch.Size([2.0])
    with pytest.raises(TypeError) as got:
        Size([2.0])
    assert str(got.value) == str(want.value).replace("torch.", "minicnn.")


@pytest.mark.parametrize("device", devices())
def test_tensor_shape_and_size_are_sizes(device):
    x = mc.zeros(2, 3, 4, device=device)
    t = torch.zeros(2, 3, 4)
    for ours, theirs in ((x.shape, t.shape), (x.size(), t.size())):
        assert type(ours) is Size and ours == theirs and ours.numel() == 24
        assert str(ours) == str(theirs).replace("torch.", "minicnn.")
    assert x.size(1) == 3 and type(x.size(-1)) is int
    assert (x.shape == [2, 3, 4]) == (t.shape == [2, 3, 4])
    assert mc.zeros(x.shape).shape == x.shape and mc.zeros(*x.size()).shape == x.shape
    assert f"{x.shape}" == "(2, 3, 4)"  # minicnn's messages format shapes as tuples


# -- precision flags and mc.compile -----------------------------------------------------------


@pytest.fixture
def restore_precision():
    before, before_torch = mc.get_float32_matmul_precision(), torch.get_float32_matmul_precision()
    yield
    mc.set_float32_matmul_precision(before)
    torch.set_float32_matmul_precision(before_torch)


@pytest.mark.parametrize("precision", ["highest", "high", "medium"])
def test_matmul_precision_and_allow_tf32_like_torch(restore_precision, precision):
    assert mc.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    mc.set_float32_matmul_precision(precision)
    torch.set_float32_matmul_precision(precision)
    assert mc.get_float32_matmul_precision() == precision
    assert mc.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    mc.backends.cuda.matmul.allow_tf32 = False
    assert mc.get_float32_matmul_precision() == "highest"
    with pytest.raises(RuntimeError, match="precision"):
        mc.set_float32_matmul_precision("fast")


def test_compile_returns_its_argument_in_every_form():
    model = mc.nn.Linear(3, 2)
    assert mc.compile(model) is model
    assert mc.compile(model, mode="max-autotune", fullgraph=True, dynamic=False) is model

    def f(x):
        return x * 2

    assert mc.compile(f) is f
    assert mc.compile(mode="reduce-overhead")(f) is f

    @mc.compile
    def g(x):
        return x + 1

    @mc.compile(backend="inductor")
    def h(x):
        return x - 1

    x = mc.tensor([1.0])
    assert g(x).item() == 2.0 and h(x).item() == 0.0
    assert mc.compiler.disable(f) is f and mc.compiler.is_compiling() is False
    with pytest.raises(RuntimeError, match="callable"):
        mc.compile(3)


# -- mc.cuda without a GPU ----------------------------------------------------------------------


@pytest.fixture
def no_gpu(monkeypatch):
    """minicnn as on a machine where CuPy cannot be imported."""
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", ImportError("No module named 'cupy'"))
    monkeypatch.setattr(backend, "cupy_if_loaded", lambda: None)


def test_cuda_functions_without_a_gpu_behave_as_torch_on_a_cpu_machine(no_gpu):
    cuda = mc.cuda
    assert cuda.is_available() is False and cuda.device_count() == 0 and cuda.is_initialized() is False
    assert cuda.memory_allocated() == cuda.max_memory_allocated() == cuda.memory_reserved() == 0
    assert torch.cuda.memory_allocated() == torch.cuda.max_memory_allocated() == 0  # torch's are 0 too
    state = mc.random.get_rng_state()
    for call in (
        lambda: cuda.manual_seed(3),
        lambda: cuda.manual_seed_all(3),
        cuda.seed,
        cuda.seed_all,
        cuda.empty_cache,
    ):
        assert call() is None
    assert mc.random.get_rng_state()["bit_generator"] == state["bit_generator"]  # the host stream is untouched
    assert cuda.is_bf16_supported() is False
    for call in (
        cuda.current_device,
        lambda: cuda.set_device(0),
        cuda.get_device_name,
        cuda.get_device_properties,
        cuda.get_device_capability,
        cuda.reset_peak_memory_stats,
        cuda.mem_get_info,
        cuda.init,
    ):
        with pytest.raises(RuntimeError, match="no CUDA GPU is available.*No module named 'cupy'"):
            call()
    with pytest.raises(TypeError):
        cuda.manual_seed("x")


def test_cpu_module_and_amp_namespaces():
    assert mc.cpu.is_available() and mc.cpu.device_count() == 1
    assert mc.cpu.amp.autocast is not None and mc.cuda.amp.GradScaler is not None
    assert mc.get_device_module("cpu") is mc.cpu


# -- mc.cuda on the fake CuPy -----------------------------------------------------------------


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", fake_cupy)
    monkeypatch.setattr(mc_random, "_cp_rngs", {})
    monkeypatch.setattr(backend.cuda, "_peak", {})
    pool = fake_cupy.get_default_memory_pool()
    monkeypatch.setattr(pool, "used", {})
    monkeypatch.setattr(pool, "total", {})
    fake_cupy._current[0] = 0
    yield fake_cupy
    fake_cupy._current[0] = 0


def test_devices_on_the_fake_gpu(fake_gpu):
    cuda = mc.cuda
    assert cuda.is_available() and cuda.device_count() == 2 and cuda.current_device() == 0
    cuda.set_device("cuda:1")
    assert cuda.current_device() == 1 and mc.zeros(2, device="cuda").device == "cuda:1"
    cuda.set_device(mc.device("cuda", 0))
    assert cuda.current_device() == 0
    with pytest.raises(RuntimeError, match="invalid device ordinal 5"):
        cuda.set_device(5)
    with pytest.raises(ValueError, match="Expected a cuda device"):
        cuda.set_device("cpu")
    props = cuda.get_device_properties(1)
    assert cuda.get_device_name() == props.name == "fake GPU (NumPy arrays, kernels through g++)"
    assert cuda.get_device_capability() == (9, 0) and props.total_memory == 2**30
    assert cuda.mem_get_info() == (2**29, 2**30)


def test_cuda_seeding_matches_manual_seed_on_the_fake_gpu(fake_gpu):
    mc.manual_seed(11)
    want = [mc.rand(5, device=f"cuda:{i}").numpy() for i in (0, 1)]
    mc.manual_seed(99)
    host = mc.rand(3).numpy()
    mc.manual_seed(99)
    mc.cuda.manual_seed_all(11)
    assert [mc.rand(5, device=f"cuda:{i}").numpy().tolist() for i in (0, 1)] == [w.tolist() for w in want]
    assert mc.rand(3).numpy().tolist() == host.tolist()  # cuda seeding leaves the host stream alone
    mc.cuda.set_device(1)
    mc.cuda.manual_seed(11)  # the current GPU only
    assert mc.rand(5, device="cuda:1").numpy().tolist() == want[1].tolist()


def test_memory_counters_read_cupys_pool(fake_gpu):
    pool = fake_gpu.get_default_memory_pool()
    cuda = mc.cuda
    pool.used.update({0: 1000, 1: 50})
    pool.total.update({0: 4096, 1: 512})
    assert cuda.memory_allocated() == 1000 and cuda.memory_allocated(1) == 50 and cuda.memory_reserved("cuda:1") == 512
    pool.used[0] = 3000
    assert cuda.max_memory_allocated() == 3000
    pool.used[0] = 200
    assert cuda.memory_allocated() == 200 and cuda.max_memory_allocated() == 3000
    cuda.reset_peak_memory_stats()
    assert cuda.max_memory_allocated() == 200
    freed = pool.freed, fake_gpu.get_default_pinned_memory_pool().freed
    cuda.empty_cache()
    assert (pool.freed, fake_gpu.get_default_pinned_memory_pool().freed) == (freed[0] + 1, freed[1] + 1)
    assert cuda.memory_reserved() == 200  # the cached blocks went back to the driver


def _params(fn) -> list[tuple[str, object]]:
    import inspect

    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values() if p.kind != p.VAR_KEYWORD]


@pytest.mark.parametrize(
    "ours, theirs, skip",
    [
        (mc.testing.assert_close, torch.testing.assert_close, ()),
        (mc.testing.make_tensor, torch.testing.make_tensor, ()),
        (mc.amp.autocast.__init__, torch.autocast.__init__, ()),
        (mc.amp.GradScaler.__init__, torch.amp.GradScaler.__init__, ()),
        (mc.cuda.amp.GradScaler.__init__, torch.cuda.amp.GradScaler.__init__, ()),
        (mc.amp.custom_fwd, torch.amp.custom_fwd, ()),
        # torch.compile's newer keywords (name, recompile_limit, ...) are taken by **kwargs
        (mc.compile, torch.compile, ("name", "recompile_limit", "isolate_recompiles", "dynamic_shapes")),
    ],
)
def test_signatures_are_torchs(ours, theirs, skip):
    """Parameter names, order and defaults as torch's (torch's dtype defaults map to NumPy's)."""

    def norm(params: list) -> list:
        out = []
        for name, default in params:
            if name in skip:
                continue
            if isinstance(default, torch.dtype):
                default = np.dtype(str(default).replace("torch.", ""))
            out.append((name, default))
        return out

    assert norm(_params(ours)) == norm(_params(theirs))
