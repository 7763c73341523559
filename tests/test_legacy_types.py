"""torch's legacy typed tensor classes (mc.LongTensor(...), isinstance(x, mc.FloatTensor)) and
Tensor.type(), each form compared with torch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc

NAMES = [
    "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
    "ByteTensor", "BoolTensor",
]  # fmt: skip


def _same(m: mc.Tensor, t: torch.Tensor) -> None:
    assert m.dtype == np.dtype(str(t.dtype).replace("torch.", "")), (m.dtype, t.dtype)
    assert tuple(m.shape) == tuple(t.shape)
    np.testing.assert_array_equal(m.numpy(), t.numpy())


def _construct_like_torch(name: str, data: object) -> None:
    """The same tensor as torch's constructor, or the same overflow error."""
    try:
        want = getattr(torch, name)(data)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="overflow"):
            getattr(mc, name)(data)
        return
    _same(getattr(mc, name)(data), want)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "data",
    [
        [1, 2, 3],
        [[1.7, 1e-3], [0.0, 2.5]],
        [[-1.7, 3.1]],
        [-1, 300],
        [True, False],
        [],
        np.array([1.5, 7.0]),
        np.arange(6).reshape(2, 3),
    ],
)
def test_constructor_from_data_like_torch(name: str, data: object) -> None:
    _construct_like_torch(name, data)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sizes", [(), (3,), (2, 3), (2, 0, 4)])
def test_constructor_from_sizes_gives_torch_shape_and_dtype(name: str, sizes: tuple[int, ...]) -> None:
    m, t = getattr(mc, name)(*sizes), getattr(torch, name)(*sizes)
    assert tuple(m.shape) == tuple(t.shape)
    assert m.dtype == np.dtype(str(t.dtype).replace("torch.", ""))
    assert not m.requires_grad


def test_constructor_of_a_tensor_is_that_tensor_or_an_error_like_torch() -> None:
    ids = mc.tensor([3, 4])
    assert mc.LongTensor(ids) is ids
    with pytest.raises(TypeError):
        torch.FloatTensor(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="FloatTensor.*int64"):
        mc.FloatTensor(ids)


@pytest.mark.parametrize("bad", [2.5, np.float64(2.0), True])
def test_constructor_refuses_a_scalar_like_torch(bad: object) -> None:
    with pytest.raises(TypeError):
        torch.LongTensor(bad)
    with pytest.raises(TypeError, match="LongTensor.*sequence"):
        mc.LongTensor(bad)


def test_constructor_refuses_negative_sizes_and_mixed_args_like_torch() -> None:
    with pytest.raises(RuntimeError):
        torch.LongTensor(-1)
    with pytest.raises(RuntimeError, match="negative dimension"):
        mc.LongTensor(-1)
    with pytest.raises(TypeError, match="sizes"):
        mc.FloatTensor([1], 2)


def test_word_language_model_export_idiom() -> None:
    """``torch.LongTensor(seq_len * batch_size).zero_().view(-1, batch_size)`` (examples' main.py)."""
    m, t = mc.LongTensor(6).zero_().view(-1, 2), torch.LongTensor(6).zero_().view(-1, 2)
    _same(m, t)


@pytest.mark.parametrize("cls", NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_isinstance_matches_torch(cls: str, dtype: str) -> None:
    m, t = mc.zeros(2, dtype=getattr(np, dtype)), torch.zeros(2, dtype=getattr(torch, dtype))
    assert isinstance(m, getattr(mc, cls)) == isinstance(t, getattr(torch, cls))


def test_isinstance_of_a_parameter_and_of_non_tensors() -> None:
    assert isinstance(mc.nn.Parameter(mc.zeros(2)), mc.FloatTensor)
    assert isinstance(torch.nn.Parameter(torch.zeros(2)), torch.FloatTensor)
    assert not isinstance(np.zeros(2, np.float32), mc.FloatTensor)
    assert mc.LongTensor.dtype == mc.int64 and mc.FloatTensor.__name__ == "FloatTensor"


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_type_string_matches_torch(device: str, dtype: str) -> None:
    t = torch.zeros(2, dtype=getattr(torch, dtype))
    want = t.type() if device == "cpu" else t.type().replace("torch.", "torch.cuda.")
    assert mc.zeros(2, dtype=getattr(np, dtype), device=device).type() == want


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "target",
    ["torch.IntTensor", "torch.DoubleTensor", "torch.LongTensor", "torch.BoolTensor", "int64", "float64", "LongTensor"],
)
def test_type_conversions_match_torch(device: str, target: str) -> None:
    data = np.array([[1.7, -2.5], [0.0, 3.0]], np.float32)
    m, t = mc.tensor(data, device=device), torch.tensor(data)
    if target.startswith("torch."):
        mo, to = m.type(target), t.type(target)
        assert mo.device == "cpu"  # torch.<Name> is a CPU type: it moves a GPU tensor to the CPU
    elif target.endswith("Tensor"):
        mo, to = m.type(getattr(mc, target)), t.type(getattr(torch, target))
        assert mo.device == "cpu"
    else:
        mo, to = m.type(getattr(mc, target)), t.type(getattr(torch, target))
        assert mo.device == m.device
    _same(mo.cpu(), to)


def test_type_returns_the_same_tensor_when_nothing_changes_and_refuses_bad_strings() -> None:
    x = mc.zeros(2)
    assert x.type(mc.float32) is x and x.type("torch.FloatTensor") is x and x.type(mc.FloatTensor) is x
    for bad in ["IntTensor", "torch.NoSuchTensor", "minicnn.cuda.x.FloatTensor"]:
        with pytest.raises(ValueError):
            torch.zeros(2).type(bad)
        with pytest.raises(ValueError, match="invalid type"):
            x.type(bad)


def test_type_conversion_is_differentiable_like_torch() -> None:
    data = np.array([0.5, -1.5, 2.0], np.float32)
    m, t = mc.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    mo, to = m.type(mc.DoubleTensor), t.type(torch.DoubleTensor)
    assert mo.requires_grad and to.requires_grad
    (mo * mo).sum().backward()
    (to * to).sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy())
    assert m.grad.dtype == np.float32


def test_set_default_tensor_type_takes_the_classes() -> None:
    before = mc.get_default_dtype()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mc.set_default_tensor_type(mc.DoubleTensor)
        assert mc.get_default_dtype() == np.float64
        assert mc.zeros(1).dtype == np.float64
    finally:
        mc.set_default_dtype(before)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("ByteTensor", [-1.0]),
        ("ByteTensor", [-0.5]),
        ("ByteTensor", [255.9]),
        ("ByteTensor", [256.0]),
        ("ByteTensor", [-255]),
        ("ByteTensor", [-256]),
        ("CharTensor", [127.9]),
        ("CharTensor", [-128.5]),
        ("CharTensor", [128]),
        ("CharTensor", [-128]),
        ("LongTensor", [1e30]),
        ("IntTensor", [2**31 - 1, -(2**31)]),
    ],
)
def test_overflow_check_of_python_numbers_like_torch(name: str, data: list) -> None:
    _construct_like_torch(name, data)


@pytest.mark.parametrize("device", devices())
@settings(max_examples=15, deadline=None)
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 2**16))
def test_type_conversion_forward_and_backward_match_torch(device: str, shape: tuple[int, ...], seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(shape)
    for target in ("torch.DoubleTensor", "DoubleTensor", "float64"):
        if target == "DoubleTensor":
            mc_fn, torch_fn = (lambda a: a.type(mc.DoubleTensor) * 2), (lambda a: a.type(torch.DoubleTensor) * 2)
        elif target == "float64":
            mc_fn, torch_fn = (lambda a: a.type(mc.float64) * 2), (lambda a: a.type(torch.float64) * 2)
        else:
            mc_fn = torch_fn = lambda a, t=target: a.type(t) * 2  # noqa: E731
        compare_with_torch(mc_fn, torch_fn, [x], dtype=np.float32, device=device if target == "float64" else "cpu")


def test_type_conversion_gradcheck() -> None:
    x = mc.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    assert mc.gradcheck(lambda a: a.type("torch.DoubleTensor") * a.type(mc.DoubleTensor).sin(), [x])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("data", [[0], [[1, 2], [3, 4]], [True, False], [1.5, 2], (), (3, 4.25), [[0.1, 1e-9]]])
def test_tensor_of_a_python_sequence_is_the_default_float_dtype_like_torch(device: str, data: object) -> None:
    """``torch.Tensor([0])`` is ``tensor([0.])`` (the generating-names tutorial's loss accumulator)."""
    m, t = mc.Tensor(data, device=device), torch.Tensor(data)
    _same(m.cpu(), t)
    acc = mc.Tensor([0], device=device)
    acc += mc.tensor(1.5, device=device)
    assert acc.item() == 1.5


def test_tensor_of_a_sequence_holding_tensors_and_under_another_default_dtype() -> None:
    _same(mc.Tensor([[mc.tensor(3)]]), torch.Tensor([[torch.tensor(3)]]))
    before = mc.get_default_dtype()
    try:
        mc.set_default_dtype(mc.float64)
        torch.set_default_dtype(torch.float64)
        _same(mc.Tensor([1, 2]), torch.Tensor([1, 2]))
    finally:
        mc.set_default_dtype(before)
        torch.set_default_dtype(torch.float32)


def test_the_inferring_factories_keep_torchs_dtype_for_sequences() -> None:
    for data in ([1, 2], [True], [1.5], [np.float64(1.0), 2]):
        for mine, theirs in ((mc.tensor, torch.tensor), (mc.as_tensor, torch.as_tensor), (mc.asarray, torch.asarray)):
            _same(mine(data), theirs(data))
