"""``Tensor.share_memory_`` / ``is_shared`` and ``Module.share_memory`` against torch's: the flags,
the values kept, and processes forked afterwards writing into one model (Hogwild)."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch
from conftest import devices

import minicnn as mc

needs_fork = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="sharing with child processes needs fork"
)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("shape, dtype", [((2, 3), np.float32), ((0, 4), np.float64), ((), np.int64), ((5,), np.bool_)])
def test_share_memory_keeps_the_tensor_and_sets_is_shared(device, shape, dtype):
    a = (np.arange(int(np.prod(shape))).reshape(shape) % 3).astype(dtype)
    t, m = torch.tensor(a), mc.tensor(a, device=device)
    assert m.is_shared() == (device == "cuda")  # always True on CUDA, as torch
    assert t.is_shared() is False
    assert m.share_memory_() is m and t.share_memory_() is t
    assert m.is_shared() and t.is_shared()
    assert m.shape == tuple(t.shape) and m.dtype == dtype
    np.testing.assert_array_equal(m.numpy(), t.numpy())
    before = m.array
    m.share_memory_()  # a second call keeps the shared array
    assert m.array is before


def test_module_share_memory_like_torch():
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    mm = mc.nn.Sequential(mc.nn.Conv2d(1, 2, 3), mc.nn.BatchNorm2d(2))
    mm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    assert tm.share_memory() is tm and mm.share_memory() is mm
    shared_t = {k: v.is_shared() for k, v in tm.state_dict(keep_vars=True).items()}
    shared_m = {k: v.is_shared() for k, v in mm.state_dict(keep_vars=True).items()}
    assert shared_m == shared_t and all(shared_m.values())
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(np.asarray(mm.state_dict()[k]), v.numpy())


def _train(lib, model, x, y):
    """One Hogwild worker: two SGD steps with momentum on the shared model."""
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for _ in range(2):
        optimizer.zero_grad()
        lib.nn.functional.nll_loss(model(lib.tensor(x)).log_softmax(1), lib.tensor(y)).backward()
        optimizer.step()


@needs_fork
def test_forked_processes_train_the_shared_model_like_torch():
    """Two workers, one after the other (a deterministic order): the parent sees both's updates."""
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    y = np.arange(8) % 3
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 3))
    initial = {k: v.numpy().copy() for k, v in tm.state_dict().items()}
    mm = mc.nn.Sequential(mc.nn.Linear(4, 5), mc.nn.BatchNorm1d(5), mc.nn.Linear(5, 3))
    mm.load_state_dict(initial)
    ctx = multiprocessing.get_context("fork")
    for lib, model in ((torch, tm), (mc, mm)):
        model.share_memory()
        for _ in range(2):
            p = ctx.Process(target=_train, args=(lib, model, x, y))
            p.start()
            p.join()
            assert p.exitcode == 0
    want = {k: v.numpy() for k, v in tm.state_dict().items()}
    got = {k: np.asarray(v) for k, v in mm.state_dict().items()}
    assert not np.allclose(want["0.weight"], initial["0.weight"])  # the workers' steps reached the parent
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6, err_msg=k)


@needs_fork
def test_without_share_memory_a_forked_worker_trains_its_own_copy():
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    model = mc.nn.Linear(4, 3)
    before = model.weight.numpy().copy()
    p = multiprocessing.get_context("fork").Process(target=_train, args=(mc, model, x, np.arange(8) % 3))
    p.start()
    p.join()
    assert p.exitcode == 0 and not model.weight.is_shared()
    np.testing.assert_array_equal(model.weight.numpy(), before)
