"""CuPy compatibility of code that the fake CuPy (tests/fake_gpu) could run but real CuPy would
refuse: the fake now refuses what CuPy 13/14 lacks (ufunc ``where=``, reductions' ``initial=``,
``take``'s ``mode=``, ``einsum``'s ``out=``, ``choose`` with a list of choices), and the
transforms, optimisers and kernels added this session run on it with the CPU's results.
These tests install the fake themselves, so they run without a GPU and without PYTHONPATH."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fake_gpu import cupy as fake_cupy
from fake_gpu import cupyx as fake_cupyx

import minicnn as mc
import minicnn.data.transforms as T
import minicnn.data.transforms_functional as TF
import minicnn.nn as nn
import minicnn.nn.functional as F
import minicnn.optim as optim
from minicnn import backend
from minicnn import random as mc_random
from minicnn.optim import swa_utils


@pytest.fixture
def fake_gpu(monkeypatch):
    """The fake CuPy as minicnn's CuPy, with fresh GPU generators."""
    monkeypatch.setattr(backend, "_cupy", fake_cupy)
    monkeypatch.setitem(sys.modules, "cupyx", fake_cupyx)
    for name in ("scipy", "scipy.special"):  # cupyx.scipy.special.erf (kernels/erf.py)
        monkeypatch.setitem(sys.modules, f"cupyx.{name}", importlib.import_module(f"fake_gpu.cupyx.{name}"))
    monkeypatch.setattr(mc_random, "_cp_rngs", {})
    fake_cupy.counts.clear()
    return fake_cupy


def _dev(a: Any) -> Any:
    return np.ascontiguousarray(a).view(fake_cupy.FakeGpuArray)


# -- the fake itself: refuses what CuPy lacks, accepts what NumPy's own methods pass ----------
REFUSED: dict[str, Callable[[Any], Any]] = {
    "take mode=": lambda a: np.take(a, _dev(np.array([0])), axis=0, mode="clip"),
    "ndarray.take mode (positional)": lambda a: a.take(_dev(np.array([0])), 0, None, "clip"),
    "ufunc where=": lambda a: np.add(a, a, where=a > 1),
    "ufunc.reduce initial=": lambda a: np.maximum.reduce(a, axis=0, initial=0.0),
    "max initial=": lambda a: a.max(initial=0.0),
    "sum where=": lambda a: np.sum(a, where=a > 0),
    "einsum out=": lambda a: fake_cupy.einsum("ij->i", a, out=fake_cupy.empty(2)),
    "np.einsum out=": lambda a: np.einsum("ij->i", a, out=fake_cupy.empty(2)),
    "choose with a list": lambda a: fake_cupy.choose(_dev(np.array([0, 1, 0])), [a[0], a[1]]),
    "asarray copy=": lambda a: fake_cupy.asarray(a, dtype=np.float32, copy=False),  # (CuPy 14 only)
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_fake_cupy_refuses_what_cupy_lacks(case):
    a = _dev(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="fake CuPy"):
        REFUSED[case](a)


@pytest.mark.parametrize("call", [lambda a: np.argsort(a, kind="quicksort"), lambda a: a.argsort(-1, "mergesort")])
def test_fake_cupy_sorts_only_stably(call):
    """CuPy's sorts take kind=None or "stable" (ValueError for another), as NumPy's stable sort."""
    a = _dev(np.array([3.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="kind"):
        call(a)
    np.testing.assert_array_equal(np.argsort(a, kind="stable").view(np.ndarray), [1, 2, 0])
    np.testing.assert_array_equal(a.argsort().view(np.ndarray), [1, 2, 0])


def test_fake_cupy_accepts_what_cupy_takes():
    """NumPy's methods pass where=True, initial=<no value>, subok=False to their ufuncs: CuPy's
    behaviour, so the fake takes them; CuPy's own keywords pass."""
    x = np.arange(6.0).reshape(2, 3)
    a = _dev(x)
    got = [a.mean(), np.std(a), a.var(axis=0), np.max(a, axis=1, keepdims=True), a.sum(0, None, None, True)]
    want = [x.mean(), np.std(x), x.var(axis=0), np.max(x, axis=1, keepdims=True), x.sum(0, keepdims=True)]
    for g, w in zip(got, want):
        assert isinstance(g, fake_cupy.FakeGpuArray)
        np.testing.assert_array_equal(g.view(np.ndarray), w)
    out = fake_cupy.empty(3)
    np.add(a[0], a[1], out=out, dtype=np.float64, casting="same_kind")
    np.testing.assert_array_equal(out.view(np.ndarray), x[0] + x[1])
    np.testing.assert_array_equal(np.take(a, _dev(np.array([1])), axis=1).view(np.ndarray), x[:, [1]])
    chosen = fake_cupy.choose(_dev(np.array([0, 1, 0])), fake_cupy.stack([a[0], a[1]]), mode="clip")
    np.testing.assert_array_equal(chosen.view(np.ndarray), [0.0, 4.0, 2.0])
    np.testing.assert_array_equal(fake_cupy.einsum("ij->i", a, optimize=True).view(np.ndarray), x.sum(1))


# -- adjust_hue: choose took a list of arrays (CuPy reads choices.shape) --------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_adjust_hue_on_the_gpu_equals_the_cpu(fake_gpu, dtype):
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 5, 7))
    x = (x * 255).astype(np.uint8) if dtype == np.uint8 else x.astype(dtype)
    x[0, :, 0, 0] = x[0, 0, 0, 0]  # a gray pixel: hue 0, saturation 0
    for factor in (-0.5, -0.2, 0.0, 0.3, 0.5):
        cpu = TF.adjust_hue(x, factor)
        gpu = TF.adjust_hue(_dev(x), factor)
        assert isinstance(gpu, fake_cupy.FakeGpuArray)
        np.testing.assert_array_equal(gpu.view(np.ndarray), cpu)


# -- AveragedModel: one host read of the count per update, not one per parameter ------------
@pytest.mark.parametrize("layers", [1, 4])
@pytest.mark.parametrize("multi", [False, True])
def test_swa_update_reads_the_count_once(fake_gpu, layers, multi):
    """The default mean (device arithmetic) reads only "is it the first update?"; the
    multi-tensor mean also reads 1 / (n + 1), once per update whatever the parameters."""
    model = nn.Sequential(*[nn.Linear(3, 3) for _ in range(layers)]).to("cuda")
    multi_avg_fn = swa_utils.get_swa_multi_avg_fn() if multi else None
    avg = swa_utils.AveragedModel(model, device="cuda", multi_avg_fn=multi_avg_fn)
    avg.update_parameters(model)
    fake_gpu.counts.clear()
    avg.update_parameters(model)
    assert fake_gpu.counts["host reads"] == (2 if multi else 1)
    for p in model.parameters():
        p.array += 1
    avg.update_parameters(model)
    for q, p in zip(avg.module.parameters(), model.parameters()):
        np.testing.assert_allclose(
            backend.to_numpy(q.array), backend.to_numpy(p.array) - 2 / 3, rtol=1e-5, atol=1e-6
        )  # (P + P + P+1) / 3


# -- this session's code on the (strict) fake GPU: the CPU's results --------------------------
def _same_on_both(run: Callable[[str], list[Any]], rtol: float = 1e-6, atol: float = 1e-7) -> None:
    results = []
    for device in ("cpu", "cuda"):
        mc.manual_seed(0)
        results.append([backend.to_numpy(a) for a in run(device)])
    for c, g in zip(*results):
        assert c.shape == g.shape and c.dtype == g.dtype
        np.testing.assert_allclose(g, c, rtol=rtol, atol=atol)


TRANSFORMS: dict[str, Callable[[], Any]] = {
    "Pad reflect": lambda: T.Pad(2, padding_mode="reflect"),
    "Pad symmetric": lambda: T.Pad(2, padding_mode="symmetric"),
    "RandomCrop": lambda: T.RandomCrop(8, padding=2),
    "RandomHorizontalFlip": lambda: T.RandomHorizontalFlip(),
    "Resize antialias": lambda: T.Resize(7, antialias=True),
    "RandomResizedCrop": lambda: T.RandomResizedCrop(8),
    "RandomRotation": lambda: T.RandomRotation(30),
    "RandomAffine": lambda: T.RandomAffine(20, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10),
    "RandomErasing": lambda: T.RandomErasing(p=1.0, value="random"),
    "ColorJitter": lambda: T.ColorJitter(0.4, 0.4, 0.4, 0.1),
    "RandomGrayscale": lambda: T.RandomGrayscale(1.0),
    "GaussianBlur": lambda: T.GaussianBlur(3, (0.1, 2.0)),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_batch_transforms_on_the_gpu_equal_the_cpu(fake_gpu, name, dtype):
    rng = np.random.default_rng(1)
    x = rng.random((4, 3, 12, 14))
    x = (x * 255).astype(np.uint8) if dtype == np.uint8 else x.astype(dtype)
    transform = TRANSFORMS[name]()
    _same_on_both(lambda device: [transform(x if device == "cpu" else _dev(x))], rtol=1e-5, atol=1e-6)


OPTIMIZERS: dict[str, Callable[[Any], Any]] = {
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1),
    "Adadelta": lambda p: optim.Adadelta(p),
    "Adamax": lambda p: optim.Adamax(p, weight_decay=0.1),
    "NAdam": lambda p: optim.NAdam(p, weight_decay=0.1, decoupled_weight_decay=True),
    "RAdam": lambda p: optim.RAdam(p, weight_decay=0.1),
    "ASGD": lambda p: optim.ASGD(p, t0=2),
    "Rprop": lambda p: optim.Rprop(p),
    "LBFGS": lambda p: optim.LBFGS(p, max_iter=4),
    "LBFGS strong_wolfe": lambda p: optim.LBFGS(p, max_iter=4, line_search_fn="strong_wolfe"),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizers_on_the_gpu_equal_the_cpu(fake_gpu, name):
    x = np.random.default_rng(2).standard_normal((8, 4)).astype(np.float32)

    def run(device: str) -> list[Any]:
        model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
        opt = OPTIMIZERS[name](model.parameters())
        inputs = mc.tensor(x, device=device)

        def closure() -> Any:
            opt.zero_grad()
            loss = (model(inputs) ** 2).mean()
            loss.backward()
            return loss

        for step in range(4):
            if step == 2:  # through a state dict (host copies) and back
                opt.load_state_dict(opt.state_dict())
            opt.step(closure)
        return [p.array for p in model.parameters()]

    _same_on_both(run, rtol=1e-5, atol=1e-6)


def test_new_kernels_on_the_gpu_equal_the_cpu(fake_gpu):
    """Anti-aliased resizing (dense and, for input with inf, banded), grid_sample, depthwise
    convolution and batch norm: forward and backward."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 9, 10)).astype(np.float32)
    x_inf = x.copy()
    x_inf[0, 0, 0, 0] = np.inf
    grid = rng.uniform(-1.1, 1.1, (2, 5, 6, 2)).astype(np.float32)
    w = rng.standard_normal((6, 1, 3, 3)).astype(np.float32)
    cases = [
        (lambda a: F.interpolate(a, size=(4, 5), mode="bicubic", antialias=True), [x]),
        (lambda a: F.interpolate(a, size=(4, 5), mode="bilinear", antialias=True), [x_inf]),
        (lambda a, g: F.grid_sample(a, g, mode="bicubic", padding_mode="reflection", align_corners=False), [x, grid]),
        (lambda a, k: F.conv2d(a, k, stride=2, padding=1, groups=3), [x, w]),
        (lambda a: F.batch_norm(a, None, None, training=True), [x]),
    ]
    for fn, arrays in cases:

        def run(device: str, fn=fn, arrays=arrays) -> list[Any]:
            ts = [mc.tensor(a, device=device, requires_grad=True) for a in arrays]
            y = fn(*ts)
            (y * y).sum().backward()
            return [y.array] + [t.grad.array for t in ts]

        _same_on_both(run, rtol=1e-5, atol=1e-5)


# -- session 10: NumPy-only functions, and the new code that used one or read the host --------
def test_fake_cupy_lacks_the_numpy_functions_cupy_13_lacks():
    """``cupy.put_along_axis`` (CuPy 14 only), ``vecdot``... do not exist; NumPy's versions on
    a device array find no implementation (TypeError), as CuPy's dispatch finds none."""
    a = _dev(np.arange(6.0).reshape(2, 3))
    for name in ("put_along_axis", "vecdot", "unstack", "cumulative_sum", "astype", "trapezoid"):
        assert name in fake_cupy.NUMPY_ONLY
        assert not hasattr(fake_cupy, name)
    index = _dev(np.array([[0], [1]]))
    calls = [
        lambda: np.put_along_axis(a, index, 1.0, axis=1),
        lambda: np.vecdot(a, a),  # a ufunc: through __array_ufunc__
        lambda: np.unstack(a),
        lambda: np.cumulative_sum(a, axis=0),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="fake CuPy"):
            call()
    both = np.concat([a, a])  # (an alias: CuPy dispatches it by its name, concatenate, which it has)
    np.testing.assert_array_equal(both.view(np.ndarray), np.tile(np.arange(6.0).reshape(2, 3), (2, 1)))


@pytest.mark.parametrize("shape,dim", [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1), ((3,), 0)])
def test_hard_gumbel_softmax_on_the_gpu_equals_the_cpu(fake_gpu, shape, dim):
    """The one-hot sample was written with put_along_axis, which CuPy 13 lacks."""
    from minicnn.ops.sampling import gumbel_softmax, gumbel_softmax_from_noise

    rng = np.random.default_rng(4)
    logits, noise = rng.standard_normal(shape), rng.standard_normal(shape)
    logits.flat[0] = np.nan  # argmax's first NaN wins, on both

    def run(device: str) -> list[Any]:
        x = mc.tensor(logits, device=device, requires_grad=True)
        y = gumbel_softmax_from_noise(x, mc.tensor(noise, device=device), 0.7, True, dim)
        (y * mc.tensor(noise, device=device)).sum().backward()
        return [y.array, x.grad.array]

    _same_on_both(run)
    y = gumbel_softmax(mc.tensor(noise, device="cuda"), hard=True, dim=dim)  # (a GPU draw: not the CPU's)
    hot = backend.to_numpy(y.array)
    assert set(np.unique(hot)) <= {0.0, 1.0} and np.all(hot.sum(axis=dim) == 1)


def test_ndtr_on_the_gpu_has_the_cpus_dtype(fake_gpu):
    from minicnn.kernels.erf import erf, erfc, ndtr

    for x in (np.arange(-3, 4), np.linspace(-3, 3, 7).astype(np.float16), np.array([True, False])):
        for fn in (erf, erfc, ndtr):
            cpu, gpu = fn(x), fn(_dev(x))
            assert gpu.dtype == cpu.dtype
            np.testing.assert_allclose(gpu.view(np.ndarray), cpu, rtol=2e-3, atol=1e-6)


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_mean_reads_nothing_on_the_host(fake_gpu, padding_idx):
    """The bag sizes were counted from a masked compress sized by a host read of keep.sum()."""
    from minicnn.ops.embedding import embedding_bag

    w = np.random.default_rng(5).standard_normal((10, 4)).astype(np.float32)
    idx = np.array([[1, 2, 3], [4, 5, 1], [2, 2, 2]])

    def run(device: str) -> list[Any]:
        weight = mc.tensor(w, device=device, requires_grad=True)
        fake_gpu.counts.clear()
        y = embedding_bag(mc.tensor(idx, device=device), weight, mode="mean", padding_idx=padding_idx)
        if device == "cuda":
            assert fake_gpu.counts["host reads"] == 0
        y.sum().backward()
        return [y.array, weight.grad.array]

    _same_on_both(run)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adafactor_steps_read_nothing_on_the_host(fake_gpu, dtype):
    """rms(p) and rms(update) were read to the host for every parameter and step; on a GPU
    they stay 0-d device arrays now, with the CPU's results."""
    x = np.random.default_rng(6).standard_normal((8, 4)).astype(dtype)

    def run(device: str) -> list[Any]:
        model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).to(device=device, dtype=dtype)
        opt = optim.Adafactor(model.parameters(), lr=0.05, weight_decay=0.1)
        inputs = mc.tensor(x, device=device)
        for _ in range(3):
            opt.zero_grad()
            (model(inputs) ** 2).mean().backward()
            fake_gpu.counts.clear()
            opt.step()
            if device == "cuda":
                assert fake_gpu.counts["host reads"] == 0
        return [p.array for p in model.parameters()]

    _same_on_both(run, rtol=1e-5, atol=1e-6)


def _on_gpu_1(make: Callable[[str], list[Any]], deterministic: bool = True) -> None:
    """``make(device)`` on "cuda:1" while GPU 0 is current (the fake refuses a kernel on another
    GPU's arrays, as CuPy without peer access): results on GPU 1, equal to the CPU's."""
    mc.manual_seed(0)
    gpu = make("cuda:1")
    for a in gpu:
        assert isinstance(a, fake_cupy.FakeGpuArray) and a.device.id == 1
    if deterministic:
        cpu = make("cpu")
        for c, g in zip(cpu, gpu):
            np.testing.assert_allclose(g.view(np.ndarray), c, rtol=1e-6, atol=1e-7)


def _grads(y: Any, *inputs: Any) -> list[Any]:
    (y * y).sum().backward()
    return [y.array] + [t.grad.array for t in inputs]


_rng = np.random.default_rng(7)
_x = _rng.random((2, 3, 8, 8)).astype(np.float32)
_boxes = [np.array([[0, 0, 4, 4], [1, 1, 6, 7]], np.float32), np.array([[2, 2, 5, 5]], np.float32)]


def _roi_align_list(device: str) -> list[Any]:
    from minicnn.ops.roi import roi_align

    x = mc.tensor(_x, device=device, requires_grad=True)
    return _grads(roi_align(x, [mc.tensor(b, device=device) for b in _boxes], 3), x)


def _embedding_bag(device: str) -> list[Any]:
    from minicnn.ops.embedding import embedding_bag

    w = mc.tensor(_x.reshape(-1, 4)[:10], device=device, requires_grad=True)
    idx, offsets = mc.tensor(np.array([1, 2, 3, 4, 2]), device=device), mc.tensor(np.array([0, 2]), device=device)
    return _grads(embedding_bag(idx, w, offsets, mode="mean", padding_idx=2), w)


def _fractional_pool(device: str) -> list[Any]:
    from minicnn.ops.fractional_pool import fractional_max_pool2d

    x = mc.tensor(_x, device=device, requires_grad=True)
    return _grads(fractional_max_pool2d(x, 2, output_size=4), x)


def _drop_block_and_stochastic_depth(device: str) -> list[Any]:
    from minicnn.ops.drop_block import drop_block2d
    from minicnn.ops.stochastic_depth import stochastic_depth

    x = mc.tensor(_x, device=device, requires_grad=True)
    return _grads(drop_block2d(x, 0.3, 3) + stochastic_depth(x, 0.3, "row"), x)


def _boxes_ops(device: str) -> list[Any]:
    from minicnn.ops.boxes import masks_to_boxes, remove_small_boxes

    masks = mc.tensor(_x[0] > 0.5, device=device)
    return [remove_small_boxes(mc.tensor(_boxes[0], device=device), 4.5).array, masks_to_boxes(masks).array]


def _orthogonal_assign(device: str) -> list[Any]:
    from minicnn.nn.parametrizations import orthogonal

    out = []
    for kind, trivial in (("householder", False), ("cayley", True)):
        lin = orthogonal(nn.Linear(4, 3).to(device), orthogonal_map=kind, use_trivialization=trivial)
        lin.weight = mc.tensor(np.linalg.qr(_x[0, 0, :4, :3])[0].T.copy(), device=device)  # right_inverse
        out.append(lin.weight.array)
    return out


ON_GPU_1: dict[str, tuple[Callable[[str], list[Any]], bool]] = {
    "roi_align boxes list": (_roi_align_list, True),
    "embedding_bag mean": (_embedding_bag, True),
    "fractional_max_pool2d": (_fractional_pool, False),
    "drop_block2d, stochastic_depth": (_drop_block_and_stochastic_depth, False),
    "remove_small_boxes, masks_to_boxes": (_boxes_ops, True),
    "orthogonal right_inverse": (_orthogonal_assign, True),
}


@pytest.mark.parametrize("name", list(ON_GPU_1))
def test_new_ops_run_on_a_gpu_that_is_not_the_current_one(fake_gpu, name):
    """Arrays (random draws, ids, counts) were made on the current GPU, not the input's."""
    make, deterministic = ON_GPU_1[name]
    _on_gpu_1(make, deterministic)


def test_summary_of_a_model_on_a_gpu_that_is_not_the_current_one(fake_gpu):
    """summary's probe input was made on the current GPU, not the model's."""
    from minicnn.summarize import summary

    def make(device: str) -> Any:
        mc.manual_seed(0)
        return summary(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2)).to(device), input_size=(3, 8, 8))

    gpu, cpu = make("cuda:1"), make("cpu")
    assert list(gpu) == list(cpu) and gpu.totals == cpu.totals
