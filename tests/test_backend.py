"""Device logic that needs no GPU, import cost, and mc.gradcheck itself."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import devices

import minicnn as mc
from minicnn import backend


@pytest.mark.parametrize(
    "s,expected",
    [("cpu", ("cpu", 0)), ("cuda", ("cuda", 0)), ("cuda:1", ("cuda", 1)), ("CUDA:0", ("cuda", 0)), (None, ("cpu", 0))],
)
def test_parse_device(s, expected):
    assert backend.parse_device(s) == expected


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "cuda:", "gpu:0"])
def test_parse_device_rejects_garbage(bad):
    with pytest.raises(ValueError, match="unknown device"):
        backend.parse_device(bad)


def test_numpy_arrays_are_cpu_and_numpy():
    a = np.zeros(3)
    assert backend.get_array_module(a) is np and backend.device_of(a) == "cpu"
    assert mc.zeros(2).device == "cpu"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


BLOCK_CUPY = "import sys; sys.modules['cupy'] = None\n"  # makes `import cupy` raise ImportError


def test_cuda_request_without_cupy_gives_a_clear_error():
    r = _run(
        BLOCK_CUPY
        + """
import minicnn as mc
assert mc.cuda.is_available() is False
try:
    mc.zeros(2).to('cuda')
except RuntimeError as e:
    assert 'CuPy' in str(e) and 'minicnn[cuda12]' in str(e), e
    print('ok')
"""
    )
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


def test_import_is_fast_and_does_not_import_cupy_or_torch():
    r = _run(
        BLOCK_CUPY
        + """
import time
t = time.perf_counter()
import minicnn
dt = time.perf_counter() - t
import sys
assert 'torch' not in sys.modules and 'tqdm' not in sys.modules and 'matplotlib' not in sys.modules
print(dt)
"""
    )
    assert r.returncode == 0, r.stderr
    # generous bound for a loaded CI box; measured ~0.15 s on an idle one
    assert float(r.stdout.strip()) < 1.0


@pytest.mark.parametrize("device", devices())
def test_state_dict_is_host_numpy(device):
    m = mc.nn.Linear(3, 2).to(device)
    assert m.weight.device.startswith(device)
    assert all(type(v) is np.ndarray for v in m.state_dict().values())


def test_mixing_devices_names_both():
    class FakeTensor(mc.Tensor):
        @property
        def device(self):
            return "cuda:0"

    a = mc.zeros(2)
    b = FakeTensor(np.zeros(2, dtype=np.float32))
    with pytest.raises(RuntimeError, match="cpu.*cuda:0|cuda:0.*cpu"):
        a + b


class _BadSquare(mc.Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return gy * 3 * self.x  # wrong: should be 2x


def test_gradcheck_catches_a_wrong_backward():
    x = mc.tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
    with pytest.raises(mc.GradcheckError, match=r"input 0 .*index \(2,\)") as err:
        mc.gradcheck(lambda t: _BadSquare.apply(t), [x])
    import re

    analytic, numeric = (float(v) for v in re.findall(r"(?:analytic|numerical) (-?[\d.e+-]+)", str(err.value)))
    assert analytic / numeric == pytest.approx(1.5, rel=1e-6)  # 3x vs the true 2x
    assert mc.gradcheck(lambda t: t * t, [x])


def test_gradcheck_warns_about_float32_like_torch():
    with pytest.warns(UserWarning, match="float64"):
        mc.gradcheck(lambda t: t * 2, [mc.randn(3, requires_grad=True)], atol=1e-2, eps=1e-2)


def test_gradcheck_checks_outputs_however_nested():
    x = mc.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    for wrap in (lambda y: (x.tanh(), (y,)), lambda y: {"a": x.tanh(), "b": [y]}):
        with pytest.raises(mc.GradcheckError, match="input 0"):
            mc.gradcheck(lambda t, wrap=wrap: wrap(_BadSquare.apply(t)), [x])
        assert mc.gradcheck(lambda t, wrap=wrap: wrap(t * t), [x])


def test_gradcheck_leaves_its_inputs_alone_and_takes_non_leaves():
    base = np.random.default_rng(1).standard_normal((4, 3))
    x = mc.from_numpy(base.T).requires_grad_()  # non-contiguous memory of the caller
    x.grad = mc.full((3, 4), 7.0, dtype=mc.float64)
    assert mc.gradcheck(lambda t: (t * t).tanh(), [x])
    np.testing.assert_array_equal(x.grad.numpy(), 7.0)  # untouched, as torch's gradcheck
    assert np.shares_memory(x.array, base) and not x.array.flags.c_contiguous
    non_leaf = mc.tensor(base, requires_grad=True) * 2.0
    assert mc.gradcheck(lambda t: t.tanh(), [non_leaf])
    with pytest.raises(mc.GradcheckError):
        mc.gradcheck(lambda t: _BadSquare.apply(t), [non_leaf])


@pytest.mark.parametrize("device", devices())
def test_zeros_like_and_ones_like_take_a_device(device) -> None:
    t = mc.ones(2, 3)
    for fn, value in ((mc.zeros_like, 0.0), (mc.ones_like, 1.0)):
        out = fn(t, device=device)
        assert out.device.startswith(device) and out.shape == (2, 3) and out.dtype == t.dtype
        np.testing.assert_array_equal(out.numpy(), np.full((2, 3), value, np.float32))


@pytest.mark.parametrize(
    "args, kwargs",
    [(("cpu",), {}), (("cuda",), {}), (("cuda:1",), {}), (("cuda", 2), {}), ((3,), {}),
     ((), {"type": "cuda", "index": 0}), (("cpu", 0), {}), (("cpu:0",), {})],
)  # fmt: skip
def test_device_is_torchs(args, kwargs) -> None:
    """mc.device has torch.device's forms, str, repr, type and index, and is its own string."""
    import torch

    ours, theirs = mc.device(*args, **kwargs), torch.device(*args, **kwargs)
    assert (str(ours), repr(ours), ours.type, ours.index) == (str(theirs), repr(theirs), theirs.type, theirs.index)
    assert ours == str(theirs) and mc.device(ours) is ours and isinstance(ours, str)


@pytest.mark.parametrize(
    "args, match",
    [(("tpu",), "Expected one of cpu, cuda device type"), (("cuda:0", 1), "must not include an index"),
     (("cuda:x",), "Expected one of cpu, cuda device type")],
)  # fmt: skip
def test_device_refuses_what_torch_refuses(args, match) -> None:
    import torch

    with pytest.raises(RuntimeError):
        torch.device(*args)
    with pytest.raises(RuntimeError, match=match):
        mc.device(*args)


def test_tensor_device_is_a_device_and_the_default_device_context() -> None:
    import torch

    x = mc.zeros(2)
    assert x.device == "cpu" and x.device.type == "cpu" and x.device.index is None
    assert isinstance(x.device, mc.device) and mc.get_default_device() == str(torch.get_default_device()) == "cpu"
    assert mc.zeros(1, device=mc.device("cpu")).device == "cpu" and x.to(mc.device("cpu")).device == "cpu"
    with mc.device("cpu"), mc.device("cpu"):
        assert mc.get_default_device() == "cpu"
    assert mc.get_default_device() == "cpu"
    if not mc.cuda.is_available():
        with pytest.raises(RuntimeError, match="needs CuPy"), mc.device("cuda"):
            pass
        assert mc.get_default_device() == "cpu"


@pytest.mark.parametrize("device", devices())
def test_a_cpu_scalar_tensor_joins_an_op_on_the_gpu_as_in_torch(device) -> None:
    """torch lets a 0-d CPU tensor (``torch.tensor(2.0)``) take part in a CUDA op; a CPU tensor
    with elements still raises, naming both devices. The scalar's gradient comes back to it."""
    x = mc.ones(3, device=device, requires_grad=True)
    s = mc.tensor(2.0, requires_grad=True)
    y = (x * s).sum()
    assert y.device == x.device
    y.backward()
    assert s.grad.device == "cpu" and s.grad.item() == 3.0 and x.grad.device == x.device
    if device != "cpu":
        with pytest.raises(RuntimeError, match="expected all tensors on one device, got cpu, cuda:0"):
            x * mc.ones(3)
