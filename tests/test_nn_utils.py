"""mc.nn.utils: clip_grad_norm_ / clip_grad_value_ / parameters_to_vector / vector_to_parameters
against torch.nn.utils, on hypothesis-generated gradient shapes, norm types and limits, and on
the fake CuPy (tests/fake_gpu) without a single host read."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from fake_gpu import cupy as fake_cupy
from hypothesis import given, settings

import minicnn as mc
from minicnn import backend
from minicnn.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

NORM_TYPES = [2.0, 1.0, math.inf, -math.inf, 0.0, 0.5, 3.0, "inf"]
shapes = st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple), min_size=1, max_size=4)


def twins(shapes, seed, dtype=np.float64, scale=1.0, no_grad=()):
    """minicnn and torch parameters with equal data and gradients (none where ``no_grad``)."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate(shapes):
        data = np.asarray(rng.standard_normal(shape), dtype=dtype)
        p, t = mc.nn.Parameter(data.copy()), torch.nn.Parameter(torch.from_numpy(data.copy()))
        if i not in no_grad:
            g = np.asarray(scale * rng.standard_normal(shape), dtype=dtype)
            p.grad, t.grad = mc.tensor(g), torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def assert_grads_equal(ours, theirs, rtol=1e-10):
    for p, t in zip(ours, theirs):
        if t.grad is None:
            assert p.grad is None
        else:
            assert p.grad.dtype == t.grad.numpy().dtype
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-12)


@settings(max_examples=60)
@given(
    shapes=shapes,
    norm_type=st.sampled_from(NORM_TYPES),
    max_norm=st.sampled_from([0.0, 0.1, 1.0, 5.0, 1e6]),
    scale=st.sampled_from([0.01, 1.0, 100.0]),
    seed=st.integers(0, 2**16),
    skip_first=st.booleans(),
)
def test_clip_grad_norm_matches_torch(shapes, norm_type, max_norm, scale, seed, skip_first):
    no_grad = (0,) if skip_first and len(shapes) > 1 else ()
    ours, theirs = twins(shapes, seed, scale=scale, no_grad=no_grad)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, mc.Tensor) and total.shape == () and total.dtype == np.float64
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=1e-10)
    assert_grads_equal(ours, theirs)


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
def test_clip_grad_norm_float32_single_tensor_and_generator(norm_type):
    ours, theirs = twins([(3, 4), (5,)], 1, dtype=np.float32, scale=10.0)
    total = clip_grad_norm_(ours[0], 1.0, norm_type)  # one tensor, not a list
    ttotal = torch.nn.utils.clip_grad_norm_(theirs[0], 1.0, norm_type)
    assert total.dtype == np.float32
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=1e-6)
    total = clip_grad_norm_((p for p in ours), 0.5, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_((p for p in theirs), 0.5, norm_type)
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=1e-6)
    assert_grads_equal(ours, theirs, rtol=1e-6)


def test_clip_grad_norm_mixed_dtypes_like_torch():
    ours32, theirs32 = twins([(4,)], 2, dtype=np.float32, scale=5.0)
    ours64, theirs64 = twins([(3,)], 3, dtype=np.float64, scale=5.0)
    total = clip_grad_norm_(ours32 + ours64, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs32 + theirs64, 1.0)
    assert total.dtype == ttotal.numpy().dtype
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=1e-6)
    assert_grads_equal(ours32 + ours64, theirs32 + theirs64, rtol=1e-6)


def test_clip_grad_norm_without_gradients_returns_zero_like_torch():
    ours, theirs = twins([(2,), (3,)], 0, no_grad=(0, 1))
    total, ttotal = clip_grad_norm_(ours, 1.0), torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.item() == ttotal.item() == 0.0 and total.dtype == ttotal.numpy().dtype == np.float32
    assert clip_grad_norm_([], 1.0).item() == 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_clip_grad_norm_non_finite(bad):
    for error in (False, True):
        ours, theirs = twins([(3,), (2,)], 4)
        ours[0].grad.array[1] = bad
        theirs[0].grad[1] = bad
        if error:
            with pytest.raises(RuntimeError, match="non-finite") as err:
                clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
            with pytest.raises(RuntimeError) as terr:
                torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
            assert str(err.value) == str(terr.value)
            assert_grads_equal(ours, theirs)  # raised before touching the gradients
        else:
            total = clip_grad_norm_(ours, 1.0, foreach=True)
            ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0, foreach=True)
            np.testing.assert_array_equal(total.numpy(), ttotal.numpy())
            np.testing.assert_array_equal(np.isnan(ours[1].grad.numpy()), np.isnan(theirs[1].grad.numpy()))


@settings(max_examples=40)
@given(shapes=shapes, clip=st.sampled_from([0.0, 0.3, 1.0, 2]), seed=st.integers(0, 2**16))
def test_clip_grad_value_matches_torch(shapes, clip, seed):
    ours, theirs = twins(shapes, seed, scale=2.0, no_grad=(0,) if len(shapes) > 1 else ())
    ours[-1].grad.array.reshape(-1)[:1] = np.nan
    theirs[-1].grad.reshape(-1)[:1] = np.nan
    assert clip_grad_value_(ours, clip) is None
    torch.nn.utils.clip_grad_value_(theirs, clip)
    assert_grads_equal(ours, theirs)
    p = mc.nn.Parameter(np.ones(2, np.float32))
    p.grad = mc.tensor(np.array([-5.0, 5.0], np.float32))
    clip_grad_value_(p, 1, foreach=False)  # a single tensor
    assert p.grad.dtype == np.float32 and p.grad.tolist() == [-1.0, 1.0]


def test_parameters_to_vector_and_back_like_torch():
    ours, theirs = twins([(2, 3), (4,), ()], 5, no_grad=(0, 1, 2))
    vec, tvec = parameters_to_vector(ours), torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vec.numpy(), tvec.detach().numpy())
    (vec * mc.tensor(np.arange(vec.shape[0], dtype=np.float64))).sum().backward()  # differentiable
    np.testing.assert_array_equal(ours[1].grad.numpy(), np.arange(6, 10))
    new = np.arange(11, dtype=np.float64) * 0.5
    v = mc.tensor(new)
    vector_to_parameters(v, ours)
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new.copy()), theirs)
    for p, t in zip(ours, theirs):
        assert p.shape == tuple(t.shape)
        np.testing.assert_array_equal(p.numpy(), t.detach().numpy())
    v.array[0] = 100.0  # the parameters are views of the vector, as torch's .data
    assert ours[0].numpy()[0, 0] == 100.0
    with pytest.raises(TypeError, match="expected Tensor"):
        vector_to_parameters(new, ours)
    with pytest.raises(RuntimeError, match="too few"):
        vector_to_parameters(mc.tensor(new[:5]), ours)


@pytest.fixture
def fake_gpu(monkeypatch):
    """The fake CuPy of tests/fake_gpu as minicnn's CuPy."""
    monkeypatch.setattr(backend, "_cupy", fake_cupy)
    fake_cupy.counts.clear()
    return fake_cupy


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 0.5])
def test_clipping_on_the_gpu_stays_there_without_host_reads(fake_gpu, norm_type):
    """Gradients on two (fake) GPUs: the result equals the CPU's and torch's, the total norm is
    a device tensor on the first gradient's GPU, and nothing is read back to the host."""
    ours, theirs = twins([(3, 2), (4,), (5,)], 6, dtype=np.float32, scale=3.0)
    for p, device in zip(ours, ["cuda:0", "cuda:1", "cuda:0"]):
        p.array = backend.to_device(p.array, device)
        p.grad = mc.Tensor(backend.to_device(p.grad.array, device))
    fake_gpu.counts.clear()
    total = clip_grad_norm_(ours, 1.0, norm_type, error_if_nonfinite=True)
    clip_grad_value_(ours, 0.2)
    assert fake_gpu.counts["host reads"] == 0
    assert total.device == "cuda:0" and [p.grad.device for p in ours] == ["cuda:0", "cuda:1", "cuda:0"]
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    torch.nn.utils.clip_grad_value_(theirs, 0.2)
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=1e-6)
    assert_grads_equal(ours, theirs, rtol=1e-6)


def test_non_finite_norm_on_the_gpu_raises_at_the_next_host_read(fake_gpu):
    p = mc.nn.Parameter(mc.tensor(np.ones(3, np.float32), device="cuda"))
    p.grad = mc.tensor(np.array([1.0, np.inf, 0.0], np.float32), device="cuda")
    total = clip_grad_norm_([p], 1.0, error_if_nonfinite=True)  # no sync here
    assert fake_gpu.counts["host reads"] == 0
    with pytest.raises(RuntimeError, match="non-finite"):
        total.item()


@pytest.mark.parametrize("clip", ["norm", "value"])
def test_clipped_gradient_of_a_0d_parameter_stays_a_writable_array(clip):
    """torch: p.grad stays a 0-d tensor that in-place ops can write (NumPy's 0-d products are scalars)."""
    p = mc.nn.Parameter(np.array(2.0))
    (p * mc.tensor(3.0)).backward()
    if clip == "norm":
        mc.nn.utils.clip_grad_norm_([p], 1.0)
    else:
        mc.nn.utils.clip_grad_value_([p], 1.0)
    p.grad.mul_(2)
    assert p.grad.shape == () and float(p.grad.item()) == pytest.approx(2.0)
