"""Anomaly detection, the default device, strided factories, legacy Tensor methods, nn.Buffer,
nn.DataParallel and nn.SyncBatchNorm, against torch (h12_runtime)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import backend
from minicnn.autograd import Function
from minicnn.nn.data_parallel import DataParallel
from minicnn.nn.module import Buffer
from minicnn.nn.syncbn import SyncBatchNorm

SETTINGS = settings(max_examples=25, deadline=None)


@pytest.fixture(autouse=True)
def _restore_runtime_state():
    yield
    mc.set_anomaly_enabled(False)
    mc.set_default_device(None)
    mc.set_default_dtype(mc.float32)


def _recorded(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            fn()
            err = None
        except Exception as e:  # noqa: BLE001 - the test compares it
            err = e
    return err, [str(x.message) for x in w]


# -- anomaly detection -------------------------------------------------------------------------
class NanFn(Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy * np.nan


def _torch_nan_backward(ctx, gy):
    return gy * float("nan")


# torch names the node after the class (NanFnBackward): the same class name as minicnn's
NanFnTorch = type(
    "NanFn",
    (torch.autograd.Function,),
    {"forward": staticmethod(lambda ctx, x: x * 2), "backward": staticmethod(_torch_nan_backward)},
)


def _nan_run(lib: str):
    if lib == "mc":
        x = mc.ones(3, requires_grad=True)
        y = NanFn.apply(x)  # FORWARD-LINE-MC
    else:
        x = torch.ones(3, requires_grad=True)
        y = NanFnTorch.apply(x)
    y.sum().backward()
    return x


def _line_of(marker: str) -> int:
    lines, start = inspect.getsourcelines(_nan_run)
    return start + next(i for i, text in enumerate(lines) if marker in text)


def test_nan_in_a_backward_raises_torchs_error_with_the_forward_traceback():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mc.autograd.detect_anomaly(), torch.autograd.detect_anomaly():
            err_mc, warned_mc = _recorded(lambda: _nan_run("mc"))
            err_t, warned_t = _recorded(lambda: _nan_run("torch"))
    assert type(err_mc) is type(err_t) is RuntimeError
    assert str(err_mc) == str(err_t) == "Function 'NanFnBackward' returned nan values in its 0th output."
    ours = [m for m in warned_mc if m.startswith("Error detected in")]
    theirs = [m for m in warned_t if m.startswith("Error detected in")]
    assert len(ours) == len(theirs) == 1
    head = "Error detected in NanFnBackward. Traceback of forward call that caused the error:\n"
    assert ours[0].startswith(head) and theirs[0].startswith(head)
    assert f'File "{__file__}", line {_line_of("FORWARD-LINE-MC")}, in _nan_run' in ours[0]
    assert "y = NanFn.apply(x)  # FORWARD-LINE-MC" in ours[0]


def test_anomaly_off_costs_nothing_and_changes_nothing():
    x = mc.ones(3, requires_grad=True)
    y = NanFn.apply(x)
    assert not hasattr(y.grad_fn, "forward_stack")
    err, warned = _recorded(lambda: y.sum().backward())
    assert err is None and warned == []
    assert np.isnan(x.grad.numpy()).all()
    with mc.autograd.set_detect_anomaly(True, check_nan=False):  # on, without the NaN check
        x = mc.ones(3, requires_grad=True)
        err, _ = _recorded(lambda: NanFn.apply(x).sum().backward())
    assert err is None and np.isnan(x.grad.numpy()).all()


def test_builtin_op_nan_and_an_error_raised_in_backward_warn_like_torch():
    for lib, m in (("mc", mc), ("torch", torch)):
        x = m.tensor([-1.0, 4.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with m.autograd.detect_anomaly():
                err, warned = _recorded(lambda: m.sqrt(x).sum().backward())  # noqa: B023
        assert isinstance(err, RuntimeError) and "returned nan values in its 0th output." in str(err), lib
        assert any(w.startswith("Error detected in Sqrt") for w in warned), lib

    class Boom(Function):
        def forward(self, x):
            return x + 1

        def backward(self, gy):
            raise ValueError("boom")

    with mc.autograd.set_detect_anomaly(True):
        x = mc.ones(2, requires_grad=True)
        y = Boom.apply(x)
    err, warned = _recorded(lambda: y.sum().backward())  # backward with the mode off: no warning
    assert isinstance(err, ValueError) and warned == []
    with mc.autograd.set_detect_anomaly(True):
        y = Boom.apply(x)
        err, warned = _recorded(lambda: y.sum().backward())
    assert isinstance(err, ValueError) and str(err) == "boom"
    assert len(warned) == 1 and warned[0].startswith("Error detected in BoomBackward. Traceback of forward call")
    with mc.autograd.set_detect_anomaly(True):  # forward without the mode: torch's note instead of a traceback
        y = Boom.apply(mc.ones(2, requires_grad=True))
        y.grad_fn.__dict__.pop("forward_stack")
        err, warned = _recorded(lambda: y.sum().backward())
    assert warned == [
        "Error detected in BoomBackward. No forward pass information available. Enable detect anomaly during "
        "forward pass for more information."
    ]


def test_anomaly_checks_double_backward_too():
    x = mc.tensor([-1.0, 4.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mc.autograd.detect_anomaly():
            err, _ = _recorded(lambda: mc.autograd.grad(mc.sqrt(x).sum(), x, create_graph=True))
    assert isinstance(err, RuntimeError) and "returned nan values" in str(err)
    g = mc.autograd.grad((x * x).sum(), x, create_graph=True)[0]  # fine values pass with the mode on
    with mc.autograd.set_detect_anomaly(True):
        (gg,) = mc.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), [2.0, 2.0])


def test_anomaly_switches_nest_and_restore_like_torch():
    states = []
    for m in (mc, torch):
        seen = [(m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled())]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with m.autograd.detect_anomaly(check_nan=False):
                seen.append((m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()))
                with m.autograd.set_detect_anomaly(False):
                    seen.append((m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()))
                seen.append((m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()))
        seen.append((m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()))
        m.autograd.set_detect_anomaly(True, check_nan=False)  # a plain call switches it, as torch
        seen.append((m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()))
        m.set_anomaly_enabled(False)
        seen.append((m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()))
        states.append(seen)
    assert states[0] == states[1]
    err, warned = _recorded(mc.autograd.detect_anomaly)
    assert warned == [
        "Anomaly Detection has been enabled. This mode will increase the runtime and should only be enabled for "
        "debugging."
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        @mc.autograd.detect_anomaly()
        def inside():
            return mc.is_anomaly_enabled()

    assert inside() and not mc.is_anomaly_enabled()


# -- default device and tensor type --------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_default_device_round_trip_through_the_factories(device):
    want = "cpu" if device == "cpu" else "cuda:0"
    assert mc.get_default_device() == "cpu"
    mc.set_default_device(device)
    assert mc.get_default_device() == want
    made = [
        mc.zeros(2), mc.ones(2, 2), mc.empty(3), mc.full((2,), 1.5), mc.rand(2), mc.randn(2), mc.randint(0, 5, (3,)),
        mc.randperm(4), mc.arange(3), mc.linspace(0, 1, 5), mc.eye(2), mc.tensor([1.0, 2.0]), mc.as_tensor([1, 2]),
        mc.empty_strided((2, 3), (1, 2)), mc.empty_permuted((2, 3), (1, 0)),
    ]  # fmt: skip
    assert [t.device for t in made] == [want] * len(made)
    host = mc.from_numpy(np.ones(2, dtype=np.float32))
    assert host.device == "cpu" and mc.zeros_like(host).device == "cpu"  # *_like follow their input, as torch
    assert mc.zeros(2, device="cpu").device == "cpu"
    mc.set_default_device(None)
    assert mc.get_default_device() == "cpu" and mc.zeros(1).device == "cpu"


def test_default_device_cuda_without_cupy_raises_minicnns_error(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", ImportError("No module named 'cupy'"))
    with pytest.raises(RuntimeError, match="device 'cuda' needs CuPy"):
        mc.set_default_device("cuda")
    assert mc.get_default_device() == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        mc.set_default_device("tpu")


def test_set_default_tensor_type_like_torch():
    for name, want in (("torch.DoubleTensor", mc.float64), ("torch.FloatTensor", mc.float32)):
        _, warned = _recorded(lambda: mc.set_default_tensor_type(name))  # noqa: B023
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.set_default_tensor_type(name)
        assert warned == [  # torch's text (it warns once per process, so it is written out here)
            "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use torch.set_default_dtype() "
            "and torch.set_default_device() as alternatives."
        ]
        assert mc.get_default_dtype() == want and str(torch.get_default_dtype()) == f"torch.{want}"
        assert mc.tensor([1.5]).dtype == want
    for bad in ("torch.LongTensor", 3):
        with pytest.raises(TypeError, match="only floating-point types"), pytest.warns(UserWarning, match="deprecated"):
            mc.set_default_tensor_type(bad)


def test_runtime_leftovers():
    assert mc.set_flush_denormal(True) is False and mc.set_flush_denormal(False) is False
    assert mc.init_num_threads() is None
    cpu = mc.get_device_module("cpu")
    assert (cpu.is_available(), cpu.device_count(), cpu.current_device()) == (True, 1, "cpu")
    assert cpu.device_count() == torch.get_device_module("cpu").device_count()
    assert mc.get_device_module("cuda") is mc.cuda is mc.get_device_module("cuda:1")
    assert mc.get_device_module() is (mc.cuda if mc.cuda.is_available() else cpu)


# -- strided factories, legacy Tensor methods ----------------------------------------------------
@SETTINGS
@given(
    sizes=st.lists(st.integers(0, 4), min_size=0, max_size=4),
    data=st.data(),
)
def test_empty_strided_and_permuted_strides_match_torch(sizes, data):
    strides = data.draw(st.lists(st.integers(0, 13), min_size=len(sizes), max_size=len(sizes)))
    ours = mc.empty_strided(tuple(sizes), tuple(strides), dtype=mc.float64)
    theirs = torch.empty_strided(tuple(sizes), tuple(strides), dtype=torch.float64)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == mc.float64
    if 0 not in sizes:  # (an empty tensor's strides are row-major here whatever was asked)
        assert ours.stride() == theirs.stride()
    perm = data.draw(st.permutations(range(len(sizes))))
    ours, theirs = mc.empty_permuted(tuple(sizes), tuple(perm)), torch.empty_permuted(tuple(sizes), tuple(perm))
    assert ours.shape == tuple(theirs.shape) and ours.dtype == mc.float32
    if 0 not in sizes:
        assert ours.stride() == theirs.stride()
    x = mc.zeros(2, dtype=mc.float64)
    y = x.new_empty_strided(tuple(sizes), tuple(strides))
    assert y.dtype == mc.float64 and y.shape == tuple(sizes)


def test_strided_factory_errors_like_torch():
    for args in (((2, 3), (1,)), ((2,), (-1,))):
        with pytest.raises(RuntimeError):
            torch.empty_strided(*args)
        with pytest.raises(RuntimeError):
            mc.empty_strided(*args)
    with pytest.raises(RuntimeError, match="Duplicate dim not allowed"):
        mc.empty_permuted((2, 3), (0, 0))
    z = mc.empty_strided((3, 2), (0, 1), requires_grad=True)
    assert z.requires_grad and z.stride() == (0, 1)


def test_new_like_torch():
    x, tx = mc.arange(6.0), torch.arange(6.0)
    for args in ((), (2, 3), ([1, 2],), ((2, 3),), (np.array([1.5, 2.5]),)):
        ours, theirs = x.new(*args), tx.new(*args)
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).split(".")[-1]
        if len(args) == 1:
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    alias = x.new(x)
    alias[0] = 7.0
    assert x[0].item() == 7.0 and not alias.requires_grad
    assert mc.arange(3).new([1.5, 2.7]).dtype == mc.int64
    with pytest.raises(TypeError):
        x.new(2, 3.0)
    with pytest.raises(TypeError):
        x.new(mc.arange(2))


def test_resize_like_torch():
    for lib, m in (("mc", mc), ("torch", torch)):
        x = m.arange(6.0, requires_grad=True)
        _, warned = _recorded(lambda: x.resize(2, 3))  # noqa: B023
        assert warned == ["non-inplace resize is deprecated"], lib
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = x.resize(3, 2)
            (r * m.arange(6.0).reshape(3, 2)).sum().backward()
            err, _ = _recorded(lambda: x.resize(4))  # noqa: B023
            assert isinstance(err, RuntimeError) and "requested resize to 4 (4 elements in total)" in str(err), lib
            _, warned = _recorded(lambda: x.resize_as(m.zeros(2, 3)))  # noqa: B023
            assert warned == ["non-inplace resize_as is deprecated"]
            assert tuple(x.resize_as(m.zeros(1, 6)).shape) == (1, 6)
        assert tuple(r.shape) == (3, 2)
        np.testing.assert_array_equal(np.asarray(x.grad.detach().numpy()), np.arange(6.0))


@pytest.mark.parametrize("device", devices())
def test_apply_map_map2_like_torch(device):
    a, ta = mc.arange(4.0), torch.arange(4.0)
    b, tb = mc.tensor([10.0]), torch.tensor([10.0])
    for ours, theirs in (
        (a.apply_(lambda v: v * 2), ta.apply_(lambda v: v * 2)),
        (a.map_(b, lambda u, v: u + v), ta.map_(tb, lambda u, v: u + v)),
        (a.map2_(a, b, lambda u, v, w: u * v - w), ta.map2_(ta, tb, lambda u, v, w: u * v - w)),
        (mc.arange(3).apply_(lambda v: v * 1.7), torch.arange(3).apply_(lambda v: v * 1.7)),
    ):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(a.numpy(), ta.numpy())  # in place
    for m in (mc, torch):
        with pytest.raises(RuntimeError, match="Can't call apply_"):
            m.ones(2, requires_grad=True).apply_(lambda v: v)
        with pytest.raises(TypeError, match="expected"):
            m.ones(2).map_(m.ones(2, dtype=m.int64), lambda u, v: u)
        with pytest.raises(RuntimeError):
            m.ones(4).map_(m.ones(2, 4), lambda u, v: u)
        with pytest.raises(TypeError, match="must be real number, not str"):
            m.ones(2).apply_(lambda v: "x")
    if device != "cpu":
        g = mc.ones(2, device=device)
        with pytest.raises(TypeError, match="apply_ is only implemented on CPU tensors"):
            g.apply_(lambda v: v)
        with pytest.raises(TypeError, match="map_ is only implemented on CPU tensors"):
            mc.ones(2).map_(g, lambda u, v: u)


def test_from_file_like_torch(tmp_path):
    path = tmp_path / "raw.bin"
    np.arange(5, dtype=np.float32).tofile(path)
    for kwargs in (dict(size=5), dict(size=3), dict(size=0), {}, dict(size=2, dtype=mc.float64)):
        tkw = {k: (torch.float64 if v is mc.float64 else v) for k, v in kwargs.items()}
        ours, theirs = mc.from_file(str(path), **kwargs), torch.from_file(str(path), **tkw)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert str(ours.dtype) == str(theirs.dtype).split(".")[-1]
    for f in (mc.from_file, torch.from_file):
        with pytest.raises(RuntimeError, match="size <20> is smaller than the required mapping size <24>"):
            f(str(path), size=6, dtype=mc.float32 if f is mc.from_file else torch.float32)
        with pytest.raises(RuntimeError, match="unable to open file"):
            f(str(tmp_path / "absent.bin"), size=1)
    shared = mc.from_file(str(path), shared=True, size=6)
    shared[0] = 42.0
    del shared
    np.testing.assert_array_equal(np.fromfile(path, dtype=np.float32), [42, 1, 2, 3, 4, 0])


# -- nn.Buffer, nn.DataParallel, nn.SyncBatchNorm ------------------------------------------------
def _state_keys(m):
    return list(m.state_dict().keys())


def _copy_state(ours, theirs):
    ours.load_state_dict({k: mc.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def test_buffer_registers_like_torch():
    def build(nn, m):
        class Stats(nn.Module):
            def __init__(self):
                super().__init__()
                self.count = nn.Buffer(m.zeros(3))
                self.scratch = nn.Buffer(m.ones(2), persistent=False)
                self.lin = nn.Linear(2, 2)

        return Stats()

    ours, theirs = (
        build(type("nn", (), {"Module": mc.nn.Module, "Buffer": Buffer, "Linear": mc.nn.Linear}), mc),
        build(torch.nn, torch),
    )
    assert _state_keys(ours) == _state_keys(theirs) == ["count", "lin.weight", "lin.bias"]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()] == ["count", "scratch"]
    assert isinstance(ours.count, Buffer) and not isinstance(mc.zeros(1), Buffer)
    assert isinstance(ours.count, mc.Tensor) and not ours.count.requires_grad
    assert Buffer().shape == tuple(torch.nn.Buffer().shape) == (0,)
    with pytest.raises(TypeError):
        Buffer([1.0])


def test_data_parallel_on_cpu_like_torch():
    theirs = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)))
    ours = DataParallel(mc.nn.Sequential(mc.nn.Linear(3, 4), mc.nn.BatchNorm1d(4)))
    assert _state_keys(ours) == _state_keys(theirs)
    assert _state_keys(ours)[0] == "module.0.weight"
    _copy_state(ours, theirs)
    if mc.cuda.is_available():  # (the fake CuPy) all GPUs are used: the module must sit on the first
        ours.module.to("cuda:0")
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours(mc.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), 1e-5, 1e-5
    )
    if not mc.cuda.is_available():
        assert ours.device_ids == theirs.device_ids == []
    assert isinstance(ours.module, mc.nn.Sequential)
    assert [n for n, _ in inspect.signature(DataParallel).parameters.items()] == [
        n for n, _ in inspect.signature(torch.nn.DataParallel).parameters.items()
    ]


@pytest.mark.cuda
@pytest.mark.skipif(not mc.cuda.is_available(), reason="CUDA: no GPU/CuPy (mc.cuda.is_available() is False)")
def test_data_parallel_on_gpus():
    one = DataParallel(mc.nn.Linear(3, 2), device_ids=[0])  # one device: the module moves there, as torch
    assert one.device_ids == [0] and one.module.weight.device == "cuda:0"
    out = one(mc.ones(4, 3))
    assert out.device == "cuda:0" and out.shape == (4, 2)
    every = DataParallel(mc.nn.Linear(3, 2))  # all GPUs: the module must already be on device_ids[0]
    with pytest.raises(RuntimeError, match="module must have its parameters and buffers on device cuda:0"):
        every(mc.ones(4, 3))
    every.module.to("cuda:0")
    ref = every.module(mc.ones(4, 3, device="cuda:0"))
    out = every(mc.ones(4, 3))
    assert out.device == f"cuda:{every.output_device}"
    np.testing.assert_allclose(out.numpy(), ref.numpy())


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 2)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_sync_batchnorm_matches_torch_in_train_and_eval(shape, momentum):
    theirs = torch.nn.SyncBatchNorm(3, momentum=momentum).double()
    ours = SyncBatchNorm(3, momentum=momentum, dtype=mc.float64)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    _copy_state(ours, theirs)
    rng = np.random.default_rng(len(shape))
    for training in (True, True, False):
        ours.train(training), theirs.train(training)
        x = rng.standard_normal(shape)
        mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        mo, to = ours(mx), theirs(tx)
        np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), rtol=1e-9, atol=1e-10)
        g = rng.standard_normal(shape)
        (mo * mc.tensor(g)).sum().backward()
        (to * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-9)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-9)
    assert _state_keys(ours) == _state_keys(theirs)
    assert repr(ours) == repr(theirs)


def test_sync_batchnorm_errors_and_convert_like_torch():
    for m in (torch.nn.SyncBatchNorm(3), SyncBatchNorm(3)):
        lib = torch if isinstance(m, torch.nn.Module) else mc
        with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
            m(lib.ones(4))
        with pytest.raises(ValueError, match="SyncBatchNorm number of input channels should be non-zero"):
            SyncBatchNorm(0)(mc.ones(2, 0)) if lib is mc else torch.nn.SyncBatchNorm(0)(torch.ones(2, 0))

    def net(nn):
        return nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(3, affine=False)))

    tnet = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net(torch.nn))
    mnet = mc.nn.Sequential(
        mc.nn.Conv2d(1, 2, 1), mc.nn.BatchNorm2d(2), mc.nn.Sequential(mc.nn.BatchNorm1d(3, affine=False))
    )
    bn, inner = mnet[1], mnet[2][0]
    bn.eval()
    converted = SyncBatchNorm.convert_sync_batchnorm(mnet, process_group="group")
    assert converted is mnet and _state_keys(converted) == _state_keys(tnet)
    assert [type(m).__name__ for m in converted.modules()] == [type(m).__name__ for m in tnet.modules()]
    new = converted[1]
    assert new.weight is bn.weight and new.running_mean is bn.running_mean and not new.training
    assert new.process_group == "group" and converted[2][0].weight is None and converted[2][0] is not inner
    single = SyncBatchNorm.convert_sync_batchnorm(mc.nn.BatchNorm1d(4))
    assert type(single) is SyncBatchNorm and single.num_features == 4


@pytest.mark.parametrize("device", devices())
def test_default_device_reaches_layer_parameters(device: str) -> None:
    want = "cpu" if device == "cpu" else "cuda:0"
    mc.set_default_device(device)
    try:
        layers = [
            mc.nn.Linear(2, 3), mc.nn.Conv2d(1, 2, 3), mc.nn.BatchNorm2d(2), mc.nn.Embedding(4, 2), mc.nn.LayerNorm(3),
            mc.nn.LSTM(2, 3), mc.nn.PReLU(), mc.nn.MultiheadAttention(4, 2), SyncBatchNorm(3), mc.nn.GroupNorm(1, 2),
        ]  # fmt: skip
        assert {t.device for m in layers for t in (*m.parameters(), *m.buffers())} == {want}
        assert mc.nn.Linear(2, 3, device="cpu").weight.device == "cpu"
    finally:
        mc.set_default_device(None)
    assert mc.nn.Linear(2, 3).weight.device == "cpu"


# -- review fixes (h12_review_runtime) -----------------------------------------------------------
def _error_warnings(m, run):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with m.autograd.detect_anomaly():
            err, warned = _recorded(run)
    return err, [w.split(".")[0] for w in warned if w.startswith("Error detected in")]


def _raise_boom(g):
    raise ValueError("boom")


def test_anomaly_warns_for_an_error_raised_in_a_tensor_hook_like_torch():
    for m, mul, leaf in (
        (mc, "MulBackward", "AccumulateGrad"),
        (torch, "MulBackward0", "torch::autograd::AccumulateGrad"),
    ):
        x = m.ones(2, requires_grad=True)

        def non_leaf(m=m, x=x):
            with m.autograd.detect_anomaly():
                y = x * 2
            y.register_hook(_raise_boom)
            (y + 1).sum().backward()

        err, warned = _error_warnings(m, non_leaf)
        assert isinstance(err, ValueError) and warned == [f"Error detected in {mul}"], m.__name__
        z = m.ones(2, requires_grad=True)
        z.register_hook(_raise_boom)
        err, warned = _error_warnings(m, lambda z=z: (z * 2).sum().backward())
        assert isinstance(err, ValueError) and warned == [f"Error detected in {leaf}"], m.__name__
        w = m.ones(2, requires_grad=True)
        w.register_post_accumulate_grad_hook(_raise_boom)
        err, warned = _error_warnings(m, lambda w=w: (w * 2).sum().backward())
        assert isinstance(err, ValueError) and warned == [f"Error detected in {leaf}"], m.__name__


def test_anomaly_checks_a_slice_gradient_passed_on_as_a_block():
    # a slice's backward hands on (index, block) (Function.backward_part): its block is checked too
    for m in (mc, torch):
        x = m.zeros(3, requires_grad=True)
        err, warned = _error_warnings(m, lambda x=x, m=m: x[1:].backward(m.tensor([float("nan"), 1.0])))
        assert isinstance(err, RuntimeError) and "returned nan values in its 0th output." in str(err), m.__name__
        assert len(warned) == 1
    x = mc.zeros(3, requires_grad=True)
    err, _ = _error_warnings(mc, lambda: x[1:].backward(mc.tensor([float("inf"), 1.0])))  # inf is not NaN
    assert err is None and x.grad.tolist() == [0.0, float("inf"), 1.0]


def test_buffer_assigned_over_a_parameter_module_or_attribute_raises_like_torch():
    for m, buffer in ((mc, Buffer), (torch, torch.nn.Buffer)):
        mod = m.nn.Module()
        mod.p = m.nn.Parameter(m.ones(1))
        mod.sub = m.nn.Linear(1, 1)
        mod.plain = 5
        with pytest.raises(TypeError, match="as parameter 'p'"):
            mod.p = buffer(m.ones(1))
        with pytest.raises(TypeError, match="module 'sub'"):
            mod.sub = buffer(m.ones(1))
        with pytest.raises(KeyError, match="attribute 'plain' already exists"):
            mod.plain = buffer(m.ones(1))
        assert [n for n, _ in mod.named_parameters()] == ["p", "sub.weight", "sub.bias"], m.__name__
        assert [n for n, _ in mod.named_buffers()] == [] and mod.plain == 5
        mod.register_buffer("b", m.zeros(1), persistent=False)
        mod.b = buffer(m.ones(2))  # a Buffer over a buffer: its persistence is the Buffer's
        assert list(mod.state_dict()) == ["p", "b", "sub.weight", "sub.bias"], m.__name__


@pytest.mark.parametrize("device", devices())
def test_default_device_as_tensor_of_a_tensor_and_from_file(device, tmp_path):
    want = "cpu" if device == "cpu" else "cuda:0"
    path = tmp_path / "raw.bin"
    path.write_bytes(np.arange(3, dtype=np.float32).tobytes())
    host = mc.ones(2)
    mc.set_default_device(device)
    # torch.as_tensor is one of the factories the default device applies to, for a tensor too
    assert mc.as_tensor(host).device == want
    assert (mc.as_tensor(host) is host) == (device == "cpu")
    # torch.from_file is not: its tensor is on the CPU unless device= says otherwise
    assert mc.from_file(str(path), size=3, dtype=mc.float32).device == "cpu"
    assert mc.from_file(str(path), size=3, dtype=mc.float32, device=device).device == want


def test_empty_permuted_errors_like_torch():
    for perm in ((0, 2), (-1, 0), (0, 0), (0, 0, 5), (5, 0, 0)):
        size = (2, 3, 4)[: len(perm)]
        with pytest.raises(RuntimeError) as theirs:
            torch.empty_permuted(size, perm)
        with pytest.raises(RuntimeError) as ours:
            mc.empty_permuted(size, perm)
        assert str(ours.value) == str(theirs.value), perm


def test_new_and_apply_edge_cases_like_torch() -> None:
    x, t = mc.zeros(2, dtype=mc.int8), torch.zeros(2, dtype=torch.int8)
    for v in (x, t):
        with pytest.raises(RuntimeError, match="without overflow"):
            v.apply_(lambda _: 300)
    assert mc.zeros(2).new(size=(2, 3)).shape == tuple(torch.zeros(2).new(size=(2, 3)).shape)
    for lib in (mc, torch):
        with pytest.raises(TypeError, match="must be a sequence"):
            lib.zeros(2).new(2.5)
    assert mc.Generator(device=None).device == "cpu"


@pytest.mark.parametrize("device", devices())
def test_default_device_for_asarray_but_not_packing_lengths(device: str) -> None:
    want = "cpu" if device == "cpu" else "cuda:0"
    mc.set_default_device(device)
    try:
        assert mc.asarray([1.0, 2.0]).device == want
        assert mc.asarray(mc.tensor([1.0], device="cpu")).device == want  # torch moves a tensor too
        packed = mc.nn.utils.rnn.pack_padded_sequence(mc.ones(3, 2, 1), [3, 2])
        assert packed.batch_sizes.device == "cpu"  # torch keeps batch_sizes and lengths on the CPU
        _, lengths = mc.nn.utils.rnn.pad_packed_sequence(packed)
        assert lengths.device == "cpu"
    finally:
        mc.set_default_device(None)
