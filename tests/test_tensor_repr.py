"""``repr(tensor)`` equals torch's (minicnn/tensor_str.py): element formatting (fixed, integer
and scientific modes, widths, nan/inf), line wrapping, summarising, the dtype / requires_grad /
grad_fn suffixes, print options, and the ``grad_fn`` names of the common ops. The only
intended difference is the dtype's name: NumPy's (``float64``) for torch's ``torch.float64``."""

from __future__ import annotations

import re

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import runtime

SUFFIX = r"(?:device|dtype|grad_fn|requires_grad|size)="


def _body(text: str) -> str:
    """The values of a repr, without the suffixes (whose line breaks depend on the device's)."""
    return re.split(r",\s*" + SUFFIX, text)[0].rstrip(")")


def _one_line_suffixes(text: str) -> str:
    # torch breaks the line before a suffix that would pass linewidth: its dtype names are longer
    # ("torch.int32" for "int32"), so the break can fall elsewhere; the rule is the same
    return re.sub(r",\n\s+(?=" + SUFFIX + ")", ", ", text)


def theirs(t: torch.Tensor, device: str = "cpu") -> str:
    text = _one_line_suffixes(repr(t).replace("torch.", ""))
    return text if device == "cpu" else _body(text)


def ours(a: np.ndarray, device: str = "cpu", **kw) -> str:
    text = _one_line_suffixes(repr(mc.tensor(a, device=device, **kw)))
    if device == "cpu":
        return text
    assert "device='cuda:0'" in text
    return _body(text)


DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.uint8, np.bool_]


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7))
    if dtype == np.bool_:
        elements = st.booleans()
    elif np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -(10**6)), min(info.max, 10**6))
    else:
        scale = draw(
            st.sampled_from([1e-9, 1e-5, 1e-2, 1.0, 1e3, 1e9] if dtype != np.float16 else [1e-5, 1e-2, 1.0, 10.0])
        )
        whole = draw(st.booleans())
        base = st.integers(-1000, 1000).map(float) if whole else st.floats(-10, 10, width=32)
        elements = base.map(lambda v: v * scale) | st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf])
    return draw(hnp.arrays(dtype, shape, elements=elements))


@pytest.mark.parametrize("device", devices())
@given(a=arrays())
def test_repr_equals_torch(device, a):
    assert ours(a, device) == theirs(torch.tensor(a), device)


@pytest.mark.parametrize("device", devices())
@given(a=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40)), grad=st.booleans())
def test_large_and_grad_tensors_equal_torch(device, a, grad):
    a = np.nan_to_num(a, nan=1.0, posinf=2.0, neginf=-3.0)
    assert ours(a, device, requires_grad=grad) == theirs(torch.tensor(a, requires_grad=grad), device)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "options",
    [
        dict(precision=2),
        dict(sci_mode=True),
        dict(sci_mode=False),
        dict(threshold=10, edgeitems=2),
        dict(threshold=10, edgeitems=0),
        dict(linewidth=40),
        dict(profile="short"),
        dict(profile="full"),
    ],
)
def test_print_options_as_torch(device, options):
    rng = np.random.default_rng(0)
    # float32: no dtype suffix, whose length (float64 vs torch.float64) can move torch's line break
    cases = [rng.standard_normal((5, 30)).astype(np.float32) * 100, np.arange(1200, dtype=np.float32),
             np.array([1e-8, 1e8], np.float32), np.arange(24).reshape(2, 3, 4)]  # fmt: skip
    saved = dict(runtime._print)
    try:
        mc.set_printoptions(**options)
        torch.set_printoptions(**options)
        for a in cases:
            assert ours(a, device) == theirs(torch.tensor(a), device), options
    finally:
        torch.set_printoptions(profile="default", sci_mode=None)
        runtime._print.clear()
        runtime._print.update(saved)


def test_dtype_suffix_follows_the_default_dtype():
    try:
        mc.set_default_dtype(mc.float64)
        torch.set_default_dtype(torch.float64)
        for a in (np.array([1.5, 2.0]), np.array([1.5, 2.0], np.float32), np.zeros(0), np.zeros((0, 2), np.int64)):
            assert ours(a) == theirs(torch.tensor(a))
    finally:
        mc.set_default_dtype(mc.float32)
        torch.set_default_dtype(torch.float32)


def _grad_fn_cases(L):
    F = L.nn.functional
    x = L.ones(2, 3, requires_grad=True)
    m = L.ones(3, 3, requires_grad=True)
    v = L.ones(3, requires_grad=True)
    img = L.ones(1, 1, 4, 4, requires_grad=True)
    target = L.tensor([0, 1])
    return [
        x + 1, x - 1, x * 2, x / 2, -x, x**2, x**x, x.exp(), x.log(), x.sum(), x.sum(1), x.mean(), x.mean(0),
        x @ m, m @ v, v @ v, x[0], x[:, 1], x[0:1], x[[0, 1]], x.t(), x.view(3, 2),
        x.max(), x.relu(), x.sigmoid(), x.tanh(), F.softmax(x, 1), F.log_softmax(x, 1), F.cross_entropy(x, target),
        F.nll_loss(x, target), F.linear(x, m, v), F.linear(x, m), F.conv2d(img, L.ones(1, 1, 3, 3)),
        F.max_pool2d(img, 2), F.avg_pool2d(img, 2), L.cat([x, x]), L.stack([x, x]), x.clone(), x.clamp(0, 1),
        x[:, :1].expand(2, 3), F.binary_cross_entropy_with_logits(x, L.zeros(2, 3)), F.leaky_relu(x),
    ]  # fmt: skip


def test_grad_fn_names_are_torchs():
    # (a 2-d x.transpose(0, 1), x.t() and x.T record one node here; it is named TBackward0, as x.t()'s)
    for a, b in zip(_grad_fn_cases(mc), _grad_fn_cases(torch)):
        name = type(b.grad_fn).__name__
        assert f"grad_fn=<{name}>" in repr(a), (repr(a), name)


def test_grad_fn_name_of_a_user_function_and_after_backward():
    from minicnn.tensor_str import grad_fn_name  # noqa: PLC0415

    class MyExp(mc.Function):
        def forward(self, x):
            return np.exp(x)

        def backward(self, gy):
            return gy

    assert grad_fn_name(MyExp()) == "MyExpBackward"  # torch: a custom Function's node is <Name>Backward
    y = mc.ones(2, 3, requires_grad=True) @ mc.ones(3, 3)
    y.sum().backward()  # the node is released: its name no longer depends on what it kept
    assert grad_fn_name(y.grad_fn) == "MmBackward0"


def test_grad_fn_of_a_torch_style_function_is_named_as_torchs():
    def make(L):
        class Exp(L.autograd.Function):
            @staticmethod
            def forward(ctx, i):
                result = i.exp()
                ctx.save_for_backward(result)
                return result

            @staticmethod
            def backward(ctx, grad_output):
                (result,) = ctx.saved_tensors
                return grad_output * result

        return Exp.apply(L.ones(2, requires_grad=True))

    assert repr(make(mc)) == repr(make(torch)) == "tensor([2.7183, 2.7183], grad_fn=<ExpBackward>)"
