"""``mc.use_deterministic_algorithms`` and its companions against torch's: the switches, their
errors, and the ops that alert (CuPy's atomic float scatter-adds on a GPU) or that stay
deterministic (everything on the CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import devices

import minicnn as mc


@pytest.fixture(autouse=True)
def _restore():
    yield
    mc.use_deterministic_algorithms(False)
    torch.use_deterministic_algorithms(False)


def _state(lib):
    return (
        lib.get_deterministic_debug_mode(),
        lib.are_deterministic_algorithms_enabled(),
        lib.is_deterministic_algorithms_warn_only_enabled(),
    )


@pytest.mark.parametrize("mode", ["default", "warn", "error", 0, 1, 2, True, False])
def test_debug_mode_switch_like_torch(mode):
    mc.set_deterministic_debug_mode(mode)
    torch.set_deterministic_debug_mode(mode)
    assert _state(mc) == _state(torch)


@pytest.mark.parametrize("mode, warn_only", [(True, False), (True, True), (False, True), (False, False)])
def test_use_deterministic_algorithms_like_torch(mode, warn_only):
    mc.use_deterministic_algorithms(mode, warn_only=warn_only)
    torch.use_deterministic_algorithms(mode, warn_only=warn_only)
    assert _state(mc) == _state(torch)


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_mode_must_be_bool(bad):
    with pytest.raises(TypeError):
        torch.use_deterministic_algorithms(bad)
    with pytest.raises(TypeError, match="must be bool"):
        mc.use_deterministic_algorithms(bad)


@pytest.mark.parametrize("bad", ["x", 3, -1])
def test_bad_debug_mode(bad):
    with pytest.raises(RuntimeError) as want:
        torch.set_deterministic_debug_mode(bad)
    with pytest.raises(RuntimeError) as got:
        mc.set_deterministic_debug_mode(bad)
    assert str(got.value) == str(want.value)


def _index_backward(lib, x, idx):
    y = (x[idx] * lib.arange(1.0, 1.0 + idx.shape[0], device=x.device).reshape(-1, 1)).sum()
    return lib.autograd.grad(y, x)[0]


def _index_put_accumulate(lib, x, idx):
    return x.detach().clone().index_put_((idx,), x.detach()[idx] * 0 + 1, accumulate=True)


def _gather_backward(lib, x, idx):
    y = lib.gather(x, 0, idx.reshape(-1, 1).expand(-1, x.shape[1])).pow(2).sum()
    return lib.autograd.grad(y, x)[0]


SCATTER_ADDS = {  # float scatter-adds with repeated positions, and the op name an alert gives
    "index backward": _index_backward,
    "index_put_ with accumulate=True": _index_put_accumulate,
    "atomic scatter-add": _gather_backward,
}


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("warn_only", [False, True])
@pytest.mark.parametrize("name", list(SCATTER_ADDS))
def test_scatter_adds_alert_on_gpu_only(device, warn_only, name):
    """On the CPU the scatter-adds run in order (deterministic) and match torch; on a GPU they
    are CuPy's atomic ones, which alert as torch's non-deterministic ops do."""
    op = SCATTER_ADDS[name]
    rng = np.random.default_rng(0)
    xa, ia = rng.standard_normal((5, 3)).astype(np.float32), np.array([0, 2, 2, 4, 0, 2])
    want = op(torch, torch.tensor(xa, requires_grad=True), torch.tensor(ia))
    mc.use_deterministic_algorithms(True, warn_only=warn_only)
    mx, mi = mc.tensor(xa, requires_grad=True, device=device), mc.tensor(ia, device=device)
    if device == "cuda" and not warn_only:
        with pytest.raises(RuntimeError, match=f"{name} .* does not have a deterministic implementation"):
            op(mc, mx, mi)
        return
    with pytest.warns(UserWarning, match=name) if device == "cuda" else _no_warning():
        got = op(mc, mx, mi)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


class _no_warning:  # noqa: N801
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
