"""mc.parallel.DataParallel: the batch split among processes gives the whole batch's gradient."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import functional as F
from minicnn.parallel import DataParallel

# a dependency of minicnn, installed wherever minicnn is (CI); a bare GPU machine may lack it
pytest.importorskip("threadpoolctl", reason="DataParallel's workers limit BLAS threads through threadpoolctl")


def _model(seed: int = 0) -> mc.nn.Module:
    mc.manual_seed(seed)
    return mc.nn.Sequential(
        mc.nn.Conv2d(1, 4, 3, padding=1),
        mc.nn.ReLU(),
        mc.nn.MaxPool2d(2),
        mc.nn.Flatten(),
        mc.nn.Linear(4 * 4 * 4, 5),
    )


def _torch_twin(m: mc.nn.Module) -> torch.nn.Module:
    t = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 5),
    ).double()
    t.load_state_dict({k: torch.from_numpy(v.astype(np.float64)) for k, v in m.state_dict().items()})
    return t


def _batch(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 8, 8)), rng.integers(0, 5, n)


@settings(max_examples=6, deadline=None)
@given(n=st.integers(3, 23), workers=st.integers(2, 3))
def test_gradient_of_the_whole_batch(n: int, workers: int) -> None:
    m = _model()
    for p in m.parameters():
        p.array = p.array.astype(np.float64)
    x, y = _batch(n)
    with DataParallel(m, F.cross_entropy, workers=workers) as dp:
        loss, out = dp.forward_backward(x, y)
    t = _torch_twin(m)
    tx = torch.from_numpy(x)
    tout = t(tx)
    tloss = torch.nn.functional.cross_entropy(tout, torch.from_numpy(y))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    for (name, p), tp in zip(m.named_parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_accumulates_like_backward_and_forward_splits() -> None:
    m = _model()
    x, y = _batch(10)
    x = x.astype(np.float32)
    ref = _model()
    loss = F.cross_entropy(ref(mc.tensor(x)), mc.tensor(y))
    loss.backward()
    loss = F.cross_entropy(ref(mc.tensor(x)), mc.tensor(y))
    loss.backward()  # two backward passes accumulate
    with DataParallel(m, F.cross_entropy, workers=2) as dp:
        dp.forward_backward(x, y)
        dp.forward_backward(x, y)
        m.eval()
        out = dp.forward(x)
    for p, q in zip(m.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)
    ref.eval()
    with mc.no_grad():
        np.testing.assert_allclose(out.numpy(), ref(mc.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


def test_training_steps_are_reproducible_and_follow_the_parameters() -> None:
    def run() -> list[np.ndarray]:
        m = _model()
        opt = mc.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        with DataParallel(m, F.cross_entropy, workers=2) as dp:
            for step in range(5):
                x, y = _batch(16, seed=step)
                opt.zero_grad()
                dp.forward_backward(x.astype(np.float32), y)
                opt.step()
        return [p.numpy() for p in m.parameters()]

    def single() -> list[np.ndarray]:
        m = _model()
        opt = mc.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        for step in range(5):
            x, y = _batch(16, seed=step)
            opt.zero_grad()
            F.cross_entropy(m(mc.tensor(x.astype(np.float32))), mc.tensor(y)).backward()
            opt.step()
        return [p.numpy() for p in m.parameters()]

    a, b, c = run(), run(), single()
    for pa, pb, pc in zip(a, b, c):
        np.testing.assert_array_equal(pa, pb)  # same seed, same workers: bit-identical
        np.testing.assert_allclose(pa, pc, rtol=1e-4, atol=1e-5)  # the parameters reached the workers


def test_errors_in_a_share_and_a_dead_worker_are_reported() -> None:
    parent = os.getpid()

    def fails_in_workers(out: mc.Tensor, target: mc.Tensor) -> mc.Tensor:
        if os.getpid() != parent:
            raise ValueError("boom in a worker")
        return F.cross_entropy(out, target)

    x, y = _batch(8)
    x = x.astype(np.float32)
    dp = DataParallel(_model(), fails_in_workers, workers=2)
    with pytest.raises(RuntimeError, match="worker 1 failed:(.|\n)*boom in a worker"):
        dp.forward_backward(x, y)
    bad = np.zeros((8, 1, 10, 10), np.float32)  # wrong size for the Linear layer: every share fails
    with pytest.raises(ValueError, match="Linear"):
        dp.forward_backward(bad, y)
    dp.close()

    dp = DataParallel(_model(), F.cross_entropy, workers=2)
    with pytest.raises(ValueError, match="Linear"):
        dp.forward_backward(bad, y)
    dp.forward_backward(x, y)  # the replies of the failed step were drained: still in step
    dp._procs[0].kill()
    dp._procs[0].join()
    with pytest.raises(RuntimeError, match="worker 1 died"):
        dp.forward_backward(x, y)
    with pytest.raises(RuntimeError, match="closed"):
        dp.forward_backward(x, y)


def test_close_stops_workers_and_blas_threads_are_limited_only_inside_calls() -> None:
    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    seen: list[list[int]] = []

    def recording_loss(out: mc.Tensor, target: mc.Tensor) -> mc.Tensor:
        seen.append(blas_threads())
        return F.cross_entropy(out, target)

    dp = DataParallel(_model(), recording_loss, workers=3)
    procs = list(dp._procs)
    assert all(p.is_alive() for p in procs)
    assert blas_threads() == before
    x, y = _batch(9)
    dp.forward_backward(x.astype(np.float32), y)
    assert seen and all(n == 1 for n in seen[0])
    assert blas_threads() == before
    dp.close()
    dp.close()  # idempotent
    assert not any(p.is_alive() for p in procs)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="workers must be >= 1"):
        DataParallel(_model(), F.cross_entropy, workers=0)
    one = DataParallel(_model(), F.cross_entropy, workers=1)  # one worker: plain in-process
    x, y = _batch(4)
    loss, out = one.forward_backward(x.astype(np.float32), y)
    assert out.shape == (4, 5) and np.isfinite(loss)


def test_workers_exit_when_the_calling_process_is_killed() -> None:
    script = (
        "import os, signal, sys, minicnn as mc\n"
        "from minicnn.nn import functional as F\n"
        "dp = mc.parallel.DataParallel(mc.nn.Linear(3, 2), F.cross_entropy, workers=3)\n"
        "print(' '.join(str(p.pid) for p in dp._procs), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == -9, r.stderr
    pids = [int(p) for p in r.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), "a worker outlived the killed calling process"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_batchnorm_statistics_come_from_the_first_share_and_reach_the_workers() -> None:
    """BatchNorm in a DataParallel step: each share is normalised with its own statistics (as
    in DistributedDataParallel without SyncBatchNorm); running statistics are worker 0's and
    are broadcast, so every worker normalises eval batches with the same ones."""

    def model() -> mc.nn.Module:
        mc.manual_seed(0)
        return mc.nn.Sequential(mc.nn.Conv2d(1, 3, 3), mc.nn.BatchNorm2d(3), mc.nn.Flatten(), mc.nn.Linear(3 * 36, 5))

    x, y = _batch(12)
    x = x.astype(np.float32)
    dp_model, ref = model(), model()
    with DataParallel(dp_model, F.cross_entropy, workers=2) as dp:
        loss, out = dp.forward_backward(x, y)
        F.cross_entropy(ref(mc.tensor(x[:6])), mc.tensor(y[:6])).backward()  # worker 0's share alone
        bn, bn_ref = dp_model[1], ref[1]
        np.testing.assert_allclose(bn.running_mean.numpy(), bn_ref.running_mean.numpy(), rtol=1e-6)
        np.testing.assert_allclose(bn.running_var.numpy(), bn_ref.running_var.numpy(), rtol=1e-6)
        assert int(bn.num_batches_tracked.numpy()) == 1
        second = model()(mc.tensor(x[6:]))  # the worker's share, normalised by its own statistics
        np.testing.assert_allclose(out.numpy()[6:], second.numpy(), rtol=1e-5, atol=1e-6)
        dp_model.eval()
        ref.eval()
        with mc.no_grad():
            np.testing.assert_allclose(dp.forward(x).numpy(), ref(mc.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_set_epoch_makes_worker_dropout_depend_only_on_seed_and_epoch() -> None:
    """With set_epoch (the training command calls it every epoch) the workers' dropout masks
    in epoch e do not depend on what they drew before: a resumed run draws the same."""

    def run(epochs: list[int]) -> np.ndarray:
        mc.manual_seed(0)
        m = mc.nn.Sequential(mc.nn.Flatten(), mc.nn.Dropout(0.5), mc.nn.Linear(64, 5))
        x, y = _batch(8)
        with DataParallel(m, F.cross_entropy, workers=2) as dp:
            for e in epochs:
                dp.set_epoch(e)
                _, out = dp.forward_backward(x.astype(np.float32), y)
        return out.numpy()[4:]  # the worker's share

    straight, resumed, other = run([0, 1, 2]), run([2]), run([0, 1, 3])
    np.testing.assert_array_equal(straight, resumed)
    assert not np.array_equal(straight, other)


def test_manual_seed_and_a_repeated_set_epoch_repeat_the_workers_draws() -> None:
    """mc.manual_seed reaches workers that are already running (they re-seed at their next
    share), and set_epoch(e) called again repeats epoch e's draws, as torch's sampler does."""
    mc.manual_seed(0)
    m = mc.nn.Sequential(mc.nn.Flatten(), mc.nn.Dropout(0.5), mc.nn.Linear(64, 5))
    x, y = _batch(8)

    def worker_share(dp) -> np.ndarray:
        return dp.forward_backward(x.astype(np.float32), y)[1].numpy()[4:]

    with DataParallel(m, F.cross_entropy, workers=2) as dp:
        mc.manual_seed(3)
        a, a_next = worker_share(dp), worker_share(dp)
        mc.manual_seed(3)
        np.testing.assert_array_equal(worker_share(dp), a)
        assert not np.array_equal(a, a_next)
        dp.set_epoch(1)
        b = worker_share(dp)
        worker_share(dp)
        dp.set_epoch(1)
        np.testing.assert_array_equal(worker_share(dp), b)


def test_any_integer_seeds_like_torch() -> None:
    for seed in (-5, 2**63, 2**64 - 1):
        mc.manual_seed(seed)
        a = mc.randn(3).numpy()
        mc.manual_seed(seed)
        np.testing.assert_array_equal(mc.randn(3).numpy(), a)
        torch.manual_seed(seed)  # torch takes the same seeds


def test_a_module_changed_under_the_workers_is_refused() -> None:
    m = _model()
    x, y = _batch(6)
    with DataParallel(m, F.cross_entropy, workers=2) as dp:
        m.double()  # the workers' replicas are still float32
        with pytest.raises(RuntimeError, match="changed shape, dtype or device"):
            dp.forward_backward(x, y)


def test_workers_run_with_the_callers_grad_mode_not_the_one_at_fork() -> None:
    """Started inside no_grad (the forked workers inherit it), the workers still record when the
    caller does, as torch's parallel_apply sets each replica's thread to the caller's mode."""
    m, ref = _model(), _model()
    x, y = _batch(6)
    F.cross_entropy(ref(mc.tensor(x.astype(np.float32))), mc.tensor(y)).backward()
    with mc.no_grad():
        dp = DataParallel(m, F.cross_entropy, workers=2)
    with dp:
        dp.forward_backward(x.astype(np.float32), y)
    for p, q in zip(m.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_data_parallel_refuses_a_lazy_module_with_torchs_message():
    net = mc.nn.Sequential(mc.nn.LazyLinear(3))
    with pytest.raises(RuntimeError, match="uninitialized parameters can't be used with `DataParallel`"):
        mc.parallel.DataParallel(net, F.cross_entropy, workers=1)
    net(mc.tensor(np.ones((2, 4), np.float32)))  # initialised: accepted
    mc.parallel.DataParallel(net, F.cross_entropy, workers=1)
