"""CuPy compatibility of code that the fake CuPy (tests/fake_gpu) could run but real CuPy would
refuse: the fake now refuses what CuPy 13/14 lacks (ufunc ``where=``, reductions' ``initial=``,
``take``'s ``mode=``, ``einsum``'s ``out=``, ``choose`` with a list of choices), and the
transforms, optimisers and kernels added this session run on it with the CPU's results.
These tests install the fake themselves, so they run without a GPU and without PYTHONPATH."""

from __future__ import annotations

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
