"""The names of torch's submodules that minicnn lacked (benchmarks/api_coverage.py --missing),
compared with torch: signatures, values, warnings and errors."""

from __future__ import annotations

import collections
import inspect
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minicnn as mc
from tests.conftest import TOL, devices


def params(f):
    """A signature's parameters as (name, kind, default): what must match torch's."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]


def caught(f, *args, **kwargs):
    """(result or None, [(category, message)], (exception type, message) or None)."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            out, err = f(*args, **kwargs), None
        except Exception as e:  # noqa: BLE001 - compared with torch's
            out, err = None, (type(e), str(e))
    return out, [(x.category, str(x.message)) for x in w], err


# -- mc.autograd -------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("requires_grad", [False, True])
def test_variable_is_a_detached_alias_like_torch(device, requires_grad):
    a = np.arange(3.0, dtype=np.float32)
    for lib, t in ((torch, torch.tensor(a)), (mc, mc.tensor(a, device=device))):
        src = t.clone().requires_grad_() * 2  # a non-leaf
        v = lib.autograd.Variable(src, requires_grad=requires_grad)
        assert isinstance(src, lib.autograd.Variable) and v.is_leaf and v.requires_grad == requires_grad
        assert not src.is_leaf
        with lib.no_grad():
            v[0] = 7.0  # the same memory
        assert float(src[0].detach()) == 7.0
    assert not isinstance(np.zeros(2), mc.autograd.Variable)
    assert tuple(mc.autograd.Variable().shape) == tuple(torch.autograd.Variable().shape)


def test_variable_errors_and_volatile_like_torch():
    for data, kwargs in (([1.0], {}), (None, dict(requires_grad=True, volatile=True)), (None, dict(volatile=True))):
        outs = []
        for lib in (torch, mc):
            arg = lib.ones(2) if data is None else data
            _, warns, err = caught(lib.autograd.Variable, arg, **kwargs)
            outs.append((warns, err))
        assert outs[0] == outs[1]
    assert caught(mc.autograd.variable, 1)[2] == caught(torch.autograd.variable, 1)[2]


def test_gradcheck_signatures_and_raise_exception_like_torch():
    assert params(mc.autograd.gradcheck) == params(torch.autograd.gradcheck)
    assert params(mc.autograd.gradgradcheck) == params(torch.autograd.gradgradcheck)
    for lib in (torch, mc):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradcheck(lambda t, lib=lib: lib.tanh(t) * t, x)
        assert lib.autograd.gradgradcheck(lambda t, lib=lib: lib.tanh(t) * t, x)
        bad = lambda t: t.detach() * 2 + t  # noqa: E731 - a wrong gradient
        assert lib.autograd.gradcheck(bad, x, raise_exception=False) is False
        with pytest.raises(RuntimeError, match="(?i)numerical|mismatch"):  # torch's GradcheckError is one
            lib.autograd.gradcheck(bad, x)


def test_grad_mode_module_and_set_multithreading_enabled():
    import minicnn.autograd.grad_mode as gm

    for name in ("no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "set_multithreading_enabled"):
        assert hasattr(torch.autograd.grad_mode, name) and hasattr(gm, name)
    assert gm.no_grad is mc.no_grad and gm.inference_mode is mc.inference_mode
    assert mc.autograd.set_multithreading_enabled is gm.set_multithreading_enabled
    assert params(gm.set_multithreading_enabled) == params(torch.autograd.set_multithreading_enabled)
    x = mc.ones(2, requires_grad=True)
    with mc.autograd.set_multithreading_enabled(False):  # changes nothing: backward still works
        (x * 3).sum().backward()
    assert gm._multithreading is True
    gm.set_multithreading_enabled(False)
    assert gm._multithreading is False
    gm.set_multithreading_enabled(True)
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


# -- mc.nn.init's deprecated spellings ------------------------------------------------------------
DEPRECATED_INIT = {
    "normal": (), "uniform": (), "constant": (0.5,), "xavier_normal": (), "xavier_uniform": (),
    "kaiming_normal": (), "kaiming_uniform": (), "orthogonal": (), "eye": (), "dirac": (),
}  # fmt: skip


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(DEPRECATED_INIT))
def test_deprecated_init_warns_like_torch_and_delegates(device, name):
    shape = (3, 2, 3) if name == "dirac" else (4, 3)
    args = DEPRECATED_INIT[name]
    t = torch.empty(shape)
    m = mc.empty(shape, device=device)
    t_out, t_warn, _ = caught(getattr(torch.nn.init, name), t, *args)
    m_out, m_warn, _ = caught(getattr(mc.nn.init, name), m, *args)
    assert m_warn == t_warn and t_warn[0][0] is FutureWarning and m_out is m
    assert params(getattr(mc.nn.init, name)) == params(getattr(torch.nn.init, name))  # (*args, **kwargs)
    if name in ("constant", "eye", "dirac"):  # deterministic: the same values
        np.testing.assert_array_equal(m.numpy(), t.numpy())
    mc.manual_seed(0)
    expected = getattr(mc.nn.init, name + "_")(mc.empty(shape, device=device), *args).numpy()
    mc.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        np.testing.assert_array_equal(
            getattr(mc.nn.init, name)(mc.empty(shape, device=device), *args).numpy(), expected
        )


# -- mc.nn.utils -------------------------------------------------------------------------------------
def test_nn_utils_signatures_like_torch():
    for name in ("clip_grad_norm", "clip_grad_norm_", "get_total_norm", "clip_grads_with_norm_", "skip_init"):
        assert params(getattr(mc.nn.utils, name)) == params(getattr(torch.nn.utils, name)), name


norm_types = st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0])


@pytest.mark.parametrize("device", devices())
@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 5), min_size=0, max_size=3),
    norm_type=norm_types,
    max_norm=st.floats(0.01, 10.0),
    seed=st.integers(0, 2**16),
)
@example(sizes=[0, 3], norm_type=math.inf, max_norm=1.0, seed=0)
def test_get_total_norm_and_clip_grads_with_norm_like_torch(device, sizes, norm_type, max_norm, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    if abs(norm_type) == math.inf and any(n == 0 for n in sizes):  # max/min of nothing: both raise
        for lib in (torch, mc):
            with pytest.raises(RuntimeError, match="norm on an empty tensor|norm of an empty tensor"):
                lib.nn.utils.get_total_norm([lib.tensor(a) for a in arrays], norm_type)
        arrays = [a for a in arrays if a.size]
    ref = torch.nn.utils.get_total_norm([torch.tensor(a) for a in arrays], norm_type)
    got = mc.nn.utils.get_total_norm([mc.tensor(a, device=device) for a in arrays], norm_type)
    assert got.dtype == mc.float32 and got.shape == ()
    np.testing.assert_allclose(got.numpy(), ref.numpy(), **TOL[np.float32])

    tp = [torch.zeros(len(a), requires_grad=True) for a in arrays]
    mp = [mc.zeros(len(a), device=device, requires_grad=True) for a in arrays]
    for t, m, a in zip(tp, mp, arrays):
        t.grad, m.grad = torch.tensor(a), mc.tensor(a, device=device)
    torch.nn.utils.clip_grads_with_norm_(tp, max_norm, ref)
    mc.nn.utils.clip_grads_with_norm_(mp, max_norm, got)
    for t, m in zip(tp, mp):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), **TOL[np.float32])


def test_get_total_norm_nonfinite_and_clip_grad_norm_deprecated_like_torch():
    for lib in (torch, mc):
        x = lib.tensor([1.0, float("nan")])
        _, _, err = caught(lib.nn.utils.get_total_norm, [x], error_if_nonfinite=True)
        assert err[0] is RuntimeError and "non-finite" in err[1]
    outs = []
    for lib in (torch, mc):
        p = lib.zeros(2, requires_grad=True)
        p.grad = lib.tensor([3.0, 4.0])
        total, warns, _ = caught(lib.nn.utils.clip_grad_norm, p, 1.0)
        outs.append((float(total), p.grad.numpy().tolist(), [(c, m.replace("torch.", "")) for c, m in warns]))
    np.testing.assert_allclose(outs[1][1], outs[0][1], **TOL[np.float32])
    assert outs[0][0] == outs[1][0] and outs[0][2] == outs[1][2]


def test_skip_init_like_torch():
    lin = mc.nn.utils.skip_init(mc.nn.Linear, 3, 4, bias=False)
    ref = torch.nn.utils.skip_init(torch.nn.Linear, 3, 4, bias=False)
    assert type(lin) is mc.nn.Linear and tuple(lin.weight.shape) == tuple(ref.weight.shape) and lin.bias is None

    class NoDevice(mc.nn.Module):
        def __init__(self) -> None:
            super().__init__()

    class TNoDevice(torch.nn.Module):
        pass

    assert caught(mc.nn.utils.skip_init, NoDevice)[2] == caught(torch.nn.utils.skip_init, TNoDevice)[2]
    assert caught(mc.nn.utils.skip_init, int)[2] == caught(torch.nn.utils.skip_init, int)[2]


# -- mc.utils.data ---------------------------------------------------------------------------------
def test_stack_dataset_like_torch():
    from minicnn.utils.data import StackDataset
    from torch.utils.data import StackDataset as TStack

    a, b = list(range(5)), [x * 10 for x in range(5)]
    for args, kwargs in (((a, b), {}), ((), dict(x=a, y=b))):
        ours, ref = StackDataset(*args, **kwargs), TStack(*args, **kwargs)
        assert len(ours) == len(ref) and [ours[i] for i in range(5)] == [ref[i] for i in range(5)]
        assert ours.__getitems__([4, 0]) == ref.__getitems__([4, 0])
    for args, kwargs in (((a, b[:3]), {}), ((), dict(x=a, y=b[:2])), ((), {}), ((a,), dict(y=b))):
        assert caught(StackDataset, *args, **kwargs)[2] == caught(TStack, *args, **kwargs)[2]
    loader = mc.utils.data.DataLoader(StackDataset(x=np.ones((4, 2), np.float32), y=np.arange(4)), batch_size=2)
    batch = next(iter(loader))
    assert tuple(batch["x"].shape) == (2, 2) and batch["y"].tolist() == [0, 1]


def test_default_convert_like_torch():
    from minicnn.utils.data import default_convert
    from torch.utils.data import default_convert as tconv

    Point = collections.namedtuple("Point", "x y")
    data = {
        "a": np.arange(3, dtype=np.float32), "n": np.int64(4), "s": np.array(["u"]),
        "t": (np.ones(2), 1.5), "p": Point(np.zeros(1), "k"), "l": [np.float64(2.0), "z"],
    }  # fmt: skip
    ours, ref = default_convert(data), tconv(data)

    def plain(x):
        if isinstance(x, (torch.Tensor, mc.Tensor)):
            return ("tensor", str(x.dtype).replace("torch.", ""), x.numpy().tolist())
        if isinstance(x, np.ndarray):
            return ("ndarray", x.tolist())
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return (type(x).__name__, [plain(v) for v in x])
        return x

    assert plain(ours) == plain(ref)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 23), replicas=st.integers(1, 6), drop_last=st.booleans(), seed=st.integers(0, 99))
def test_distributed_sampler_like_torch(n, replicas, drop_last, seed):
    from minicnn.utils.data import DistributedSampler
    from torch.utils.data.distributed import DistributedSampler as TSampler

    data = range(n)
    for shuffle in (False, True):
        ours = [list(DistributedSampler(data, replicas, r, shuffle, seed, drop_last)) for r in range(replicas)]
        ref = [list(TSampler(data, replicas, r, shuffle, seed, drop_last)) for r in range(replicas)]
        assert [len(o) for o in ours] == [len(t) for t in ref]
        assert [len(DistributedSampler(data, replicas, r, shuffle, seed, drop_last)) for r in range(replicas)] == [
            len(t) for t in ref
        ]
        if not shuffle:
            assert ours == ref
        else:  # another generator: the same partition property (each index as often as in torch's)
            flat = sorted(i for o in ours for i in o)
            counts, ref_counts = np.bincount(flat, minlength=n), np.bincount(sorted(sum(ref, [])), minlength=n)
            assert sorted(counts.tolist()) == sorted(ref_counts.tolist())
            if drop_last or n % replicas == 0:
                assert len(set(flat)) == len(flat)  # no repeats: disjoint shares
            else:
                assert set(flat) == set(range(n))


def test_distributed_sampler_epochs_and_errors():
    from minicnn.utils.data import DistributedSampler
    from torch.utils.data.distributed import DistributedSampler as TSampler

    s = DistributedSampler(range(10), 2, 0, seed=3)
    first = list(s)
    assert list(s) == first  # the same epoch: the same order
    s.set_epoch(1)
    assert s.epoch == 1 and list(s) != first  # a new order (for this seed)
    other = DistributedSampler(range(10), 2, 1, seed=3)
    other.set_epoch(1)
    assert sorted(list(s) + list(other)) == list(range(10))
    with pytest.raises(RuntimeError, match="num_replicas and rank"):
        DistributedSampler(range(4))
    for rank in (2, -1):
        assert caught(DistributedSampler, range(4), 2, rank)[2] == caught(TSampler, range(4), 2, rank)[2]
    assert params(DistributedSampler.__init__) == params(TSampler.__init__)


# -- mc.accelerator ------------------------------------------------------------------------------------
MEMORY = [
    "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved", "memory_stats",
    "reset_peak_memory_stats", "reset_accumulated_memory_stats", "get_memory_info", "get_device_capability",
]  # fmt: skip


def test_accelerator_signatures_like_torch():
    for name in [*MEMORY, "empty_cache", "empty_host_cache"]:
        assert params(getattr(mc.accelerator, name)) == params(getattr(torch.accelerator, name)), name


@pytest.mark.skipif(mc.cuda.is_available(), reason="the CPU-only behaviour")
def test_accelerator_memory_without_gpu_like_torch_cpu_only():
    if torch.accelerator.is_available():
        pytest.skip("torch sees an accelerator: its CPU-only behaviour cannot be compared here")
    for name in MEMORY:
        _, _, t_err = caught(getattr(torch.accelerator, name))
        out, _, m_err = caught(getattr(mc.accelerator, name))
        assert (t_err is None) == (m_err is None), name
        if t_err is None:
            assert out == getattr(torch.accelerator, name)(), name
        else:
            assert t_err[0] is m_err[0] is RuntimeError
    assert mc.accelerator.empty_cache() is None and mc.accelerator.empty_host_cache() is None


@pytest.mark.cuda
@pytest.mark.skipif(not mc.cuda.is_available(), reason="CUDA: no GPU/CuPy (mc.cuda.is_available() is False)")
def test_accelerator_memory_on_gpu():
    """mc.accelerator's figures are mc.cuda's (CuPy's pool; the fake CuPy's pool counts nothing)."""
    x = mc.ones(1 << 20, device="cuda")
    assert mc.accelerator.memory_allocated(0) == mc.cuda.memory_allocated(0)
    assert mc.accelerator.memory_reserved("cuda:0") == mc.cuda.memory_reserved(0)
    stats = mc.accelerator.memory_stats()
    assert list(stats) == sorted(stats) and stats["allocated_bytes.all.peak"] >= stats["allocated_bytes.all.current"]
    assert mc.accelerator.max_memory_reserved() >= mc.accelerator.memory_reserved()
    assert mc.accelerator.get_memory_info("cuda:0") == mc.cuda.mem_get_info(0)
    assert np.dtype(np.float32) in mc.accelerator.get_device_capability()["supported_dtypes"]
    del x
    mc.accelerator.empty_cache()
    mc.accelerator.reset_peak_memory_stats()
    assert mc.accelerator.max_memory_allocated() == mc.accelerator.memory_allocated()
    with pytest.raises(ValueError, match="out of range"):
        mc.accelerator.memory_stats(99)
