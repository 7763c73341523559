"""mc.testing.assert_close and make_tensor against torch.testing's: the same pass/fail decisions,
error types and messages (dtype-based tolerances, "Mismatched elements: k / n", the greatest
differences and their indices, the item path inside containers), on hypothesis-drawn data."""

from __future__ import annotations

import math
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings

import minicnn as mc
from minicnn.testing import assert_close, make_tensor


def _outcome(fn: Any, *args: Any, **kwargs: Any) -> str:
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the outcome is compared as text
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def _as_torch_text(text: str) -> str:
    """minicnn's outcome written with torch's names (the only differences in the messages)."""
    for ours, theirs in (
        ("<class 'minicnn.autograd.Tensor'>", "<class 'torch.Tensor'>"),
        ("minicnn.Size", "torch.Size"),
    ):
        text = text.replace(ours, theirs)
    for name in ("float16", "float32", "float64", "int32", "int64", "bool"):
        text = text.replace(f": {name} != ", f": torch.{name} != ").replace(f" != {name}.", f" != torch.{name}.")
    return text


def _lib_value(value: Any, lib: Any) -> Any:
    """A torch value (tensor, container, anything else) as the same value for ``lib``."""
    if isinstance(value, torch.Tensor):
        return value if lib is torch else mc.tensor(value.numpy())
    if isinstance(value, (list, tuple)):
        return type(value)(_lib_value(v, lib) for v in value)
    if isinstance(value, dict):
        return {k: _lib_value(v, lib) for k, v in value.items()}
    return value


def _same_as_torch(actual: Any, expected: Any, **kwargs: Any) -> str:
    want = _outcome(torch.testing.assert_close, actual, expected, **kwargs)
    got = _outcome(assert_close, _lib_value(actual, mc), _lib_value(expected, mc), **kwargs)
    assert _as_torch_text(got) == want
    return got


T = torch.tensor
CASES = [
    (T([1.0, 2, 3]), T([1.0, 2.1, 3.5]), {}),
    (T([1.0, 2, 3]), np.array([1.0, 2, 3]), {}),
    (np.array([1.0, 2, 3]), np.array([1.0, 2, 3.1]), {}),
    (np.array([1.0, 2, 3], dtype=np.float32), np.array([1.0, 2, 3 + 1e-6], dtype=np.float32), {}),
    (1, 1.0, {}),
    (1.0, 1.1, {}),
    (1.0, 1.0 + 1e-7, {}),
    (np.float32(1.0), 1.0, {}),
    (True, False, {}),
    (None, None, {}),
    (None, 1, {}),
    ("a", "a", {}),
    (T(1.0), T(2.0), {}),
    (T(1.0), 1.0, {}),
    (T([1.0, 2]), T([1.0, 2], dtype=torch.float64), {}),
    (T([1.0, 2]), T([1.0, 2], dtype=torch.float64), {"check_dtype": False}),
    (T([1, 2], dtype=torch.int32), T([1, 2]), {}),
    (T([1.0, 2]), T([1.0, 2, 3]), {}),
    ([T([1.0, 2]), T(1.0)], [T([1.0, 2]), T(3.0)], {}),
    ({"a": T([1.0, 2])}, {"a": T([1.0, 2.5])}, {}),
    ({"a": T([1.0, 2])}, {"b": T([1.0, 2.5])}, {}),
    ({"b": [T([1.0]), {"c": T([2.0])}]}, {"b": [T([1.0]), {"c": T([2.5])}]}, {}),
    ([1, 2], [1, 2, 3], {}),
    ((1.0, 2.0), [1.0, 2.0], {}),
    (T([float("nan")]), T([float("nan")]), {}),
    (T([float("nan"), 1.0]), T([float("nan"), 1.0]), {"equal_nan": True}),
    (T([float("inf"), 1]), T([float("inf"), 1]), {}),
    (T([float("inf"), 1]), T([-float("inf"), 1]), {}),
    (T([1, 2]), T([1, 3]), {}),
    (T([True]), T([False]), {}),
    (T([1.0, 2]), T([1.0, 3]), {"rtol": 0, "atol": 0}),
    (T([1.0, 2]), T([1.0, 3]), {"rtol": 1e-3}),
    (T([1.0, 2]), T([1.0, 3]), {"rtol": 0.5, "atol": 0.0}),
    (T([1.0, 2]), T([1.0, 3]), {"msg": "custom"}),
    (T([1.0, 2]), [1.0, 2], {}),
    (T([[1.0, 0], [0, 5]]), T([[1.0, 1e-9], [0, 4]]), {}),
    (T([1.0], dtype=torch.float16), T([1.0009], dtype=torch.float16), {}),
    (T([1.0], dtype=torch.float16), T([1.002], dtype=torch.float16), {}),
    (T([0.0, 1]), T([1e-5, 1]), {}),
]


@pytest.mark.parametrize("actual, expected, kwargs", CASES)
def test_outcome_and_message_match_torch(actual, expected, kwargs):
    _same_as_torch(actual, expected, **kwargs)


def test_callable_msg_rewrites_the_message():
    got = _outcome(assert_close, mc.tensor(1.0), mc.tensor(2.0), msg=lambda m: "X" + m[:7])
    assert got == "AssertionError: XScalars"


@settings(max_examples=25)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int64]),
    noise=st.sampled_from([0.0, 1e-7, 1e-5, 1e-3, 1e-1]),
    seed=st.integers(0, 2**16),
)
def test_random_tensors_decide_and_report_as_torch(shape, dtype, noise, seed):
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(shape) * 4).astype(dtype)
    b = a + (rng.standard_normal(shape) * noise * (rng.random(shape) < 0.5)).astype(dtype)
    if np.dtype(dtype).kind == "i":
        b = a + (rng.random(shape) < noise * 5).astype(dtype)
    _same_as_torch(torch.tensor(a), torch.tensor(b))
    _same_as_torch(a, b)  # NumPy arrays, as torch takes them


@pytest.mark.parametrize("device", devices())
def test_device_check_and_its_switch(device):
    x = mc.tensor([1.0, 2.0], device=device)
    assert_close(x, mc.tensor([1.0, 2.0], device=device))
    if device == "cpu":
        return
    with pytest.raises(AssertionError, match="attribute 'device' do not match: cuda:0 != cpu"):
        assert_close(x, mc.tensor([1.0, 2.0]))
    assert_close(x, mc.tensor([1.0, 2.0]), check_device=False)


def test_subclasses_and_strides():
    p = mc.nn.Parameter(mc.tensor([1.0, 2.0]))
    assert_close(p, mc.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(p, mc.tensor([1.0, 2.0]), allow_subclasses=False)
    x = mc.tensor(np.arange(6.0).reshape(2, 3))
    t = torch.tensor(np.arange(6.0).reshape(2, 3))
    want = _outcome(torch.testing.assert_close, t.T, t.T.contiguous(), check_stride=True)
    got = _outcome(assert_close, x.T, x.T.contiguous(), check_stride=True)
    assert got == want
    assert_close(x.T, x.T.contiguous())


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "dtype, low, high, lo_want, hi_want",
    [
        (mc.float32, None, None, -9, 9),
        (mc.float64, -1, 1, -1, 1),
        (mc.float16, 0.5, 2, 0.5, 2),
        (mc.int64, None, None, -9, 9),
        (mc.uint8, None, None, 0, 9),
        (mc.uint8, -100, 3.2, 0, 3),
        (mc.int32, 2, 5, 2, 4),
        (mc.bool, None, None, 0, 1),
    ],
)
def test_make_tensor_range_dtype_and_shape(device, dtype, low, high, lo_want, hi_want):
    mc.manual_seed(0)
    t = make_tensor(50, 40, dtype=dtype, device=device, low=low, high=high)
    assert t.shape == (50, 40) and t.dtype == dtype and t.device.type == device
    a = t.numpy().astype(np.float64)
    assert a.min() >= lo_want and (
        a.max() < hi_want if a.dtype.kind == "f" and dtype.kind == "f" else a.max() <= hi_want
    )
    if dtype.kind != "f":
        assert a.min() == lo_want and a.max() == hi_want  # 2000 draws reach both ends
    mc.manual_seed(0)
    assert_close(make_tensor((50, 40), dtype=dtype, device=device, low=low, high=high), t)


def test_make_tensor_options_and_errors_as_torch():
    t = make_tensor(3, 4, dtype=mc.float32, device="cpu", noncontiguous=True, requires_grad=True)
    assert t.shape == (3, 4) and not t.is_contiguous() and t.requires_grad and t.is_leaf
    z = make_tensor(200, dtype=mc.int64, device="cpu", low=-1, high=2, exclude_zero=True)
    assert 0 not in z.numpy()
    f = make_tensor(200, dtype=mc.float16, device="cpu", low=0, high=1e-3, exclude_zero=True)
    assert (f.numpy() != 0).all()
    cases = [
        dict(dtype=torch.int64, requires_grad=True),
        dict(dtype=torch.float32, low=2, high=1),
        dict(dtype=torch.float32, low=math.nan),
        dict(dtype=torch.uint8, low=-10, high=-1),
        dict(dtype=torch.float32, noncontiguous=True, memory_format=torch.channels_last),
    ]
    for kwargs in cases:
        with pytest.raises(ValueError) as want:
            torch.testing.make_tensor(2, 2, 2, 2, device="cpu", **kwargs)
        ours = {k: (np.dtype(str(v).replace("torch.", "")) if k == "dtype" else v) for k, v in kwargs.items()}
        if "memory_format" in ours:
            ours["memory_format"] = "channels_last"
        with pytest.raises(ValueError) as got:
            make_tensor(2, 2, 2, 2, device="cpu", **ours)
        assert str(got.value).split(",")[0].split(" but ")[0] == str(want.value).split(",")[0].split(" but ")[0]


def test_reachable_as_mc_testing():
    assert mc.testing.assert_close is assert_close and mc.testing.make_tensor is make_tensor
