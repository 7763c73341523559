"""torch's ``out=`` argument (``torch.matmul(a, b, out=c)``, ``torch.mul(a, b, out=c)``, every
function form of a Tensor method): the result lands in ``out``, which is returned; ``out`` of
another shape is resized; the result must cast to ``out``'s dtype; and the call is refused
when an argument requires grad (minicnn/ops/math.py ``write_out``)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc

CASES = [
    ("matmul", lambda L, a, b: (a, b.transpose(0, 1))),
    ("mul", lambda L, a, b: (a, b)),
    ("add", lambda L, a, b: (a, b)),
    ("sub", lambda L, a, b: (a, 2.0)),
    ("div", lambda L, a, b: (a, b.abs() + 1)),
    ("pow", lambda L, a, b: (a.abs(), 2)),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name, args", CASES, ids=[c[0] for c in CASES])
@given(rows=st.integers(1, 4), cols=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_out_holds_the_result_like_torch(device, name, args, rows, cols, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((2, rows, cols)).astype(np.float32)
    ours_out = mc.tensor(rng.standard_normal((rows, rows if name == "matmul" else cols)), dtype=mc.float32)
    ours_out = ours_out.to(device)
    theirs_out = torch.tensor(ours_out.numpy())
    got = getattr(mc, name)(*args(mc, mc.tensor(a, device=device), mc.tensor(b, device=device)), out=ours_out)
    want = getattr(torch, name)(*args(torch, torch.tensor(a), torch.tensor(b)), out=theirs_out)
    assert got is ours_out and want is theirs_out
    np.testing.assert_allclose(ours_out.numpy(), theirs_out.numpy(), rtol=1e-6, atol=1e-6)


def test_out_keeps_its_memory_when_the_shape_fits():
    host = np.zeros((2, 2), np.float32)
    out = mc.from_numpy(host)
    mc.matmul(mc.ones(2, 3), mc.ones(3, 2), out=out)
    assert host.tolist() == [[3.0, 3.0], [3.0, 3.0]]


@pytest.mark.parametrize("device", devices())
def test_out_of_another_shape_is_resized_with_torchs_warning(device):
    for lib in (mc, torch):
        kw = dict(device=device) if lib is mc else {}
        empty = lib.zeros(0, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.add(lib.ones(2, 3, **kw), 1, out=empty)  # an empty out is resized silently
        assert tuple(empty.shape) == (2, 3) and empty.sum().item() == 12
        full = lib.zeros(5, **kw)
        with pytest.warns(UserWarning, match="resized"):
            lib.mul(lib.ones(2, **kw), 3, out=full)
        assert full.tolist() == [3.0, 3.0]


def test_out_refuses_what_torch_refuses():
    for lib in (mc, torch):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.mul(x, 2, out=lib.zeros(2))
        with lib.no_grad():
            lib.mul(x, 2, out=(out := lib.zeros(2)))  # no graph recorded: allowed
        assert out.tolist() == [2.0, 2.0] and not out.requires_grad
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            lib.mul(lib.ones(2), 2.5, out=lib.zeros(2, dtype=lib.int64))
        widened = lib.zeros(2, dtype=lib.float64)
        lib.mul(lib.ones(2), 3, out=widened)  # float32 into float64: a safe cast
        assert widened.dtype == (np.float64 if lib is mc else torch.float64) and widened.tolist() == [3.0, 3.0]
    with pytest.raises(TypeError, match="'out' must be Tensor"):
        mc.matmul(mc.ones(2, 2), mc.ones(2, 2), out=np.zeros((2, 2)))


def test_out_is_in_the_signatures():
    for fn in (mc.matmul, mc.mul, mc.sum, mc.add):
        assert inspect.signature(fn).parameters["out"].kind == inspect.Parameter.KEYWORD_ONLY
