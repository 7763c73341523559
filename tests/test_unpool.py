"""max_unpool1d/2d and lp_pool1d/2d (functions and modules) against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import event, given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import unpool as N
from minicnn.ops import unpool as U
from minicnn.ops.pool import max_pool2d

SETTINGS = settings(max_examples=40, deadline=None)


def torch_outcome(fn):
    """(result, None) or (None, the exception torch raised)."""
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - any error of torch's is compared below
        return None, e


def assert_same_error(ours, theirs: Exception) -> None:
    """Our call raises where torch did, with an exception that is also torch's type."""
    with pytest.raises(type(theirs)):
        ours()


# -- max_unpool: max_pool(return_indices) -> max_unpool round trips --------------------------------
@st.composite
def unpool_cases(draw, ndim: int):
    """Pool settings, an input shape and an output_size choice for a round trip."""
    k = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    size = tuple(draw(st.integers(kk, kk + 6)) for kk in k)
    batched = draw(st.booleans())
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) if batched else (draw(st.integers(1, 3)),)
    default = tuple((((n + 2 * pp - kk) // ss) * ss) + kk - 2 * pp for n, kk, ss, pp in zip(size, k, s, p))
    kind = draw(st.sampled_from(["none", "input size", "with lead", "in range"]))
    if kind == "none":
        out = None
    elif kind == "input size":  # always valid: the pool's own input plane
        out = list(size)
    elif kind == "with lead":
        out = (*lead[-2:], *size) if batched else (0, 0, *size)
    else:  # anywhere torch accepts; indices may then fall outside (both must raise)
        out = tuple(draw(st.integers(max(d - ss + 1, 0), d + ss - 1)) for d, ss in zip(default, s))
    return k, s, p, lead + size, out, draw(st.integers(0, 2**16))


def _round_trip(case, pool_t, unpool_t, pool_m, unpool_m):
    """Forward of unpool(pool(x)) and the gradients wrt x and the pooled values."""
    k, s, p, shape, out, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    yt, it = pool_t(xt, k, s, p, return_indices=True)
    yt.retain_grad()
    zt, err = torch_outcome(lambda: unpool_t(yt, it, k, s, p, output_size=out))
    xm = mc.tensor(x, requires_grad=True)
    ym, im = pool_m(xm, k, s, p, return_indices=True)
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    event("torch raised" if err is not None else "output empty" if zt.numel() == 0 else "compared")
    if err is not None:
        assert_same_error(lambda: unpool_m(ym, im, k, s, p, output_size=out), err)
        return
    ym.retain_grad()
    zm = unpool_m(ym, im, k, s, p, output_size=out)
    assert zm.shape == tuple(zt.shape)
    np.testing.assert_array_equal(zm.numpy(), zt.detach().numpy())
    g = rng.standard_normal(zm.shape)
    if zm.array.size == 0:  # torch's backward then fails on the unchecked indices; ours is 0
        (zm * mc.tensor(g)).sum().backward()
        assert not np.any(xm.grad.numpy())
        return
    (zt * torch.tensor(g)).sum().backward()
    (zm * mc.tensor(g)).sum().backward()
    np.testing.assert_allclose(ym.grad.numpy(), yt.grad.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def _max_pool1d(x, k, s, p, return_indices):
    return mc.nn.functional.max_pool1d(x, k, s, p, return_indices=return_indices)


@SETTINGS
@given(unpool_cases(2))
def test_max_unpool2d_round_trip_matches_torch(case):
    _round_trip(case, TF.max_pool2d, TF.max_unpool2d, max_pool2d, U.max_unpool2d)


@SETTINGS
@given(unpool_cases(1))
def test_max_unpool1d_round_trip_matches_torch(case):
    _round_trip(case, TF.max_pool1d, TF.max_unpool1d, _max_pool1d, U.max_unpool1d)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_unpool2d_values_as_leaves(dtype):
    """compare_with_torch on (values, indices) directly: forward, dtype and the gather."""
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 5))
    _, it = TF.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    values = np.random.default_rng(2).standard_normal(it.shape)
    compare_with_torch(
        lambda y, i: U.max_unpool2d(y, i, 3, 2, 1, output_size=(7, 5)),
        lambda y, i: TF.max_unpool2d(y, i, 3, 2, 1, output_size=(7, 5)),
        [values, it.numpy()],
        grad_inputs=[True, False],
        dtype=dtype,
    )


def test_max_unpool_duplicate_indices_backward_gathers():
    """Two values recorded at one position: each gets the output gradient there, as in torch."""
    idx = np.array([[[[0, 0], [3, 0]]]])
    g = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    yt = torch.ones(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    (TF.max_unpool2d(yt, torch.tensor(idx), 2) * torch.tensor(g)).sum().backward()
    ym = mc.ones(1, 1, 2, 2, dtype=np.float64, requires_grad=True)
    (U.max_unpool2d(ym, mc.tensor(idx), 2) * mc.tensor(g)).sum().backward()
    np.testing.assert_array_equal(ym.grad.numpy(), yt.grad.numpy())
    np.testing.assert_array_equal(ym.grad.numpy()[0, 0], [[g[0, 0, 0, 0]] * 2, [g[0, 0, 0, 3], g[0, 0, 0, 0]]])


def test_max_unpool_empty_batch_matches_torch():
    for fn_m, fn_t, shape in (
        (U.max_unpool2d, TF.max_unpool2d, (0, 2, 2, 3)),
        (U.max_unpool1d, TF.max_unpool1d, (0, 2, 3)),
    ):
        out_m = fn_m(mc.zeros(shape, dtype=np.float64), mc.zeros(shape, dtype=np.int64), 2)
        out_t = fn_t(torch.zeros(shape, dtype=torch.float64), torch.zeros(shape, dtype=torch.long), 2)
        assert out_m.shape == tuple(out_t.shape)


def test_max_unpool_gradcheck():
    """Windows that do not overlap (distinct indices: the gather is the scatter's transpose)."""
    rng = np.random.default_rng(3)
    _, i2 = TF.max_pool2d(torch.tensor(rng.standard_normal((2, 2, 6, 5))), 2, 2, 1, return_indices=True)
    y2 = mc.tensor(rng.standard_normal(i2.shape), requires_grad=True)
    assert mc.gradcheck(lambda t: U.max_unpool2d(t, mc.tensor(i2.numpy()), 2, 2, 1, output_size=(6, 5)), [y2])
    _, i1 = TF.max_pool1d(torch.tensor(rng.standard_normal((2, 3, 10))), 3, 3, 1, return_indices=True)
    y1 = mc.tensor(rng.standard_normal(i1.shape), requires_grad=True)
    assert mc.gradcheck(lambda t: U.max_unpool1d(t, mc.tensor(i1.numpy()), 3, 3, 1, output_size=[10]), [y1])


# -- lp_pool -----------------------------------------------------------------------------------------
@st.composite
def lp_cases(draw, ndim: int):
    norm_type = draw(st.sampled_from([1, 2, 3, 1.5, 2.0]))
    k = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * ndim)))
    ceil_mode = draw(st.booleans())
    size = tuple(draw(st.integers(kk, kk + 5)) for kk in k)
    lead = draw(st.sampled_from([(2, 2), (3,), (1, 1)]))
    if ndim == 1:  # torch's lp_pool1d wants an int kernel_size
        k, stride = k[0], None if stride is None else stride[0]
    elif draw(st.booleans()) and k[0] == k[1]:
        k = k[0]
    return norm_type, k, stride, ceil_mode, lead + size, draw(st.integers(0, 2**16))


def _lp_check(case, fn_m, fn_t):
    norm_type, k, stride, ceil_mode, shape, seed = case
    rng = np.random.default_rng(seed)
    if norm_type in (1, 2):  # any sign (x^p is defined)
        x = rng.uniform(-2, 2, shape)
    else:  # odd and fractional powers: positive inputs, as x^p is NaN (or the sum may be) otherwise
        x = rng.uniform(0.1, 2, shape)
    compare_with_torch(
        lambda t: fn_m(t, norm_type, k, stride, ceil_mode),
        lambda t: fn_t(t, norm_type, k, stride, ceil_mode),
        [x],
        rtol=1e-9,
        atol=1e-10,
    )


@SETTINGS
@given(lp_cases(2))
def test_lp_pool2d_matches_torch(case):
    _lp_check(case, U.lp_pool2d, TF.lp_pool2d)


@SETTINGS
@given(lp_cases(1))
def test_lp_pool1d_matches_torch(case):
    _lp_check(case, U.lp_pool1d, TF.lp_pool1d)


@pytest.mark.parametrize("norm_type", [2, 3, 1.5, math.inf, -math.inf])
def test_lp_pool_zero_windows_and_infinite_norms_match_torch(norm_type):
    """A window of zeros has gradient 0 (torch's sign/relu composition), not NaN; inf and -inf
    are the max and min of |x|."""
    x = np.random.default_rng(4).uniform(0.2, 1.5, (2, 2, 6, 6)) * np.random.default_rng(5).choice(
        [-1, 1], (2, 2, 6, 6)
    )
    if norm_type in (3, 1.5):
        x = np.abs(x)
    x[:, :, :2, :2] = 0.0
    x[0, 1, 4:, 2:4] = 0.0
    compare_with_torch(lambda t: U.lp_pool2d(t, norm_type, 2), lambda t: TF.lp_pool2d(t, norm_type, 2), [x])
    x1 = x[:, :, 0, :]
    compare_with_torch(
        lambda t: U.lp_pool1d(t, norm_type, 2, 1, True), lambda t: TF.lp_pool1d(t, norm_type, 2, 1, True), [x1]
    )
    m = mc.tensor(x, requires_grad=True)
    U.lp_pool2d(m, norm_type, 2).sum().backward()
    assert np.isfinite(m.grad.numpy()).all()


def test_lp_pool_unbatched_and_float32_match_torch():
    x = np.random.default_rng(6).uniform(-2, 2, (3, 7, 6))
    compare_with_torch(
        lambda t: U.lp_pool2d(t, 2, (3, 2), 2, True),
        lambda t: TF.lp_pool2d(t, 2, (3, 2), 2, True),
        [x],
        dtype=np.float32,
    )
    compare_with_torch(lambda t: U.lp_pool1d(t, 1, 3), lambda t: TF.lp_pool1d(t, 1, 3), [x[0]], dtype=np.float32)


def test_lp_pool_gradcheck():
    rng = np.random.default_rng(7)
    x = mc.tensor(rng.uniform(0.2, 2, (2, 2, 5, 6)), requires_grad=True)
    assert mc.gradcheck(lambda t: U.lp_pool2d(t, 1.5, (2, 3), 2, ceil_mode=True), [x])
    assert mc.gradcheck(lambda t: U.lp_pool2d(t, 3, 2), [x])
    x1 = mc.tensor(rng.uniform(-2, 2, (2, 3, 8)), requires_grad=True)
    assert mc.gradcheck(lambda t: U.lp_pool1d(t, 2, 3, 2, ceil_mode=True), [x1])


# -- modules ------------------------------------------------------------------------------------------
MODULE_CASES = [
    ("MaxUnpool2d", (2,), {}),
    ("MaxUnpool2d", ((3, 2),), {"stride": 1, "padding": (1, 0)}),
    ("MaxUnpool2d", ([2, 3], [1, 2], 1), {}),
    ("MaxUnpool1d", (2,), {}),
    ("MaxUnpool1d", (3, 2, 1), {}),
    ("MaxUnpool1d", ((4,),), {"stride": (3,)}),
    ("LPPool2d", (2, 3), {}),
    ("LPPool2d", (1.5, (2, 3), (1, 2), True), {}),
    ("LPPool1d", (2.0, 3), {"stride": 2}),
    ("LPPool1d", (3, 2, None, True), {}),
]


@pytest.mark.parametrize("name, args, kwargs", MODULE_CASES)
def test_module_repr_and_attributes_match_torch(name, args, kwargs):
    ours, theirs = getattr(N, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for attr in ("kernel_size", "stride", "padding", "norm_type", "ceil_mode"):
        assert getattr(ours, attr, None) == getattr(theirs, attr, None), attr
    assert list(ours.parameters()) == [] and list(theirs.parameters()) == []


def test_modules_forward_match_torch():
    x = np.random.default_rng(8).uniform(0.1, 2, (2, 3, 9, 8))
    yt, it = TF.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    out_t = tnn.MaxUnpool2d(3, 2, 1)(yt, it, output_size=[2, 3, 9, 8])
    out_m = N.MaxUnpool2d(3, 2, 1)(mc.tensor(yt.numpy()), mc.tensor(it.numpy()), output_size=[2, 3, 9, 8])
    np.testing.assert_array_equal(out_m.numpy(), out_t.numpy())
    yt, it = TF.max_pool1d(torch.tensor(x[:, :, 0]), 2, return_indices=True)
    out_t = tnn.MaxUnpool1d(2)(yt, it)
    np.testing.assert_array_equal(N.MaxUnpool1d(2)(mc.tensor(yt.numpy()), mc.tensor(it.numpy())).numpy(), out_t.numpy())
    for ours, theirs, xin in (
        (N.LPPool2d(1.5, (2, 3), 1, True), tnn.LPPool2d(1.5, (2, 3), 1, True), x),
        (N.LPPool1d(2, 3, 2), tnn.LPPool1d(2, 3, 2), x[:, :, 0]),
    ):
        np.testing.assert_allclose(ours(mc.tensor(xin)).numpy(), theirs(torch.tensor(xin)).numpy(), rtol=1e-12)


# -- errors, compared with torch --------------------------------------------------------------------
def _unpool_inputs(shape=(2, 3, 2, 2), dtype=np.int64, max_index=4):
    idx = np.random.default_rng(0).integers(0, max_index, shape).astype(dtype)
    return np.ones(shape), idx


ERROR_CASES = {
    "indices int32": ("max_unpool2d", _unpool_inputs(dtype=np.int32), (2,), {}),
    "indices float": ("max_unpool2d", (np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2, 2))), (2,), {}),
    "indices shape": ("max_unpool2d", (np.ones((2, 3, 2, 2)), np.zeros((2, 2, 2, 2), np.int64)), (2,), {}),
    "2-d input": ("max_unpool2d", _unpool_inputs((2, 2)), (2,), {}),
    "5-d input": ("max_unpool2d", _unpool_inputs((1, 2, 3, 2, 2)), (2,), {}),
    "index too big": ("max_unpool2d", (np.ones((1, 1, 1, 2)), np.array([[[[0, 16]]]])), (2,), {}),
    "negative index": ("max_unpool2d", (np.ones((1, 1, 1, 2)), np.array([[[[-1, 3]]]])), (2,), {}),
    "index past output_size": (
        "max_unpool2d",
        (np.ones((1, 1, 1, 2)), np.array([[[[0, 11]]]])),
        (2,),
        {"output_size": (3, 3)},
    ),
    "output_size of 3": ("max_unpool2d", _unpool_inputs(), (2,), {"output_size": (3, 4, 4)}),
    "output_size too big": ("max_unpool2d", _unpool_inputs(), (2,), {"output_size": (6, 4)}),
    "output_size too small": ("max_unpool2d", _unpool_inputs(), (2,), {"output_size": [4, 2]}),
    "output_size an int": ("max_unpool2d", _unpool_inputs(), (2,), {"output_size": 4}),
    "negative size": ("max_unpool2d", _unpool_inputs(), (2, 2, 3), {}),
    "empty H": ("max_unpool2d", _unpool_inputs((2, 3, 0, 2)), (2,), {}),
    "empty C": ("max_unpool2d", _unpool_inputs((2, 0, 2, 2)), (2,), {}),
    "1d: 4-d input": ("max_unpool1d", _unpool_inputs((1, 2, 3, 2)), (2,), {}),
    "1d: 1-d input": ("max_unpool1d", _unpool_inputs((4,)), (2,), {}),
    "1d: empty L": ("max_unpool1d", _unpool_inputs((2, 3, 0)), (2,), {}),
    "1d: index too big": ("max_unpool1d", (np.ones((1, 1, 2)), np.array([[[0, 4]]])), (2,), {}),
    "1d: output_size": ("max_unpool1d", _unpool_inputs((1, 1, 2)), (2,), {"output_size": (1, 1, 6)}),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_max_unpool_errors_match_torch(case):
    name, (values, idx), args, kwargs = ERROR_CASES[case]
    _, err = torch_outcome(lambda: getattr(TF, name)(torch.tensor(values), torch.tensor(idx), *args, **kwargs))
    assert err is not None, "torch accepted the case"
    ours = lambda: getattr(U, name)(mc.tensor(values), mc.tensor(idx), *args, **kwargs)  # noqa: E731
    assert_same_error(ours, err)
    with pytest.raises(Exception, match=name):  # the message names the op
        ours()


LP_ERROR_CASES = {
    "norm_type 0": ("lp_pool2d", (2, 3, 6, 6), (0, 2), {}),
    "1d: norm_type 0": ("lp_pool1d", (2, 3, 6), (0.0, 2), {}),
    "kernel too big": ("lp_pool2d", (2, 3, 4, 4), (2, 5), {}),
    "1d: kernel too big": ("lp_pool1d", (2, 3, 4), (2, 5), {}),
    "1d: 1-d input": ("lp_pool1d", (8,), (2, 3), {}),
    "zero stride": ("lp_pool2d", (1, 1, 4, 4), (2, 2, 0), {}),
}


@pytest.mark.parametrize("case", list(LP_ERROR_CASES), ids=list(LP_ERROR_CASES))
def test_lp_pool_errors_match_torch(case):
    name, shape, args, kwargs = LP_ERROR_CASES[case]
    x = np.ones(shape)
    _, err = torch_outcome(lambda: getattr(TF, name)(torch.tensor(x), *args, **kwargs))
    assert err is not None, "torch accepted the case"
    assert_same_error(lambda: getattr(U, name)(mc.tensor(x), *args, **kwargs), err)


def test_module_errors():
    for name in ("LPPool1d", "LPPool2d"):
        with pytest.raises(ValueError, match="norm_type"):
            getattr(tnn, name)(0, 2)
        with pytest.raises(ValueError, match="norm_type"):
            getattr(N, name)(0, 2)
    with pytest.raises(ValueError, match=r"MaxUnpool2d\(kernel_size=\(2, 2\)"):  # names the layer
        N.MaxUnpool2d(2)(mc.ones(1, 1, 2, 2), mc.zeros((1, 1, 2, 2), dtype=np.int64), output_size=(9, 9))
    with pytest.raises(ValueError, match="lp_pool2d: expected a 3-d"):  # torch: an IndexError from inside
        U.lp_pool2d(mc.ones(4, 4), 2, 2)
    with pytest.raises(TypeError, match="floating point"):  # torch computes integer lp pools; we refuse
        U.lp_pool2d(mc.ones((1, 1, 2, 2), dtype=np.int64), 2, 2)


# -- devices ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
def test_unpool_and_lp_pool_on_device(device):
    x = np.random.default_rng(9).uniform(0.1, 2, (2, 3, 6, 5))
    yt, it = TF.max_pool2d(torch.tensor(x), 2, 1, return_indices=True)  # overlapping: repeated indices
    compare_with_torch(
        lambda y, i: U.max_unpool2d(y, i, 2, 1, output_size=(6, 5)),
        lambda y, i: TF.max_unpool2d(y, i, 2, 1, output_size=(6, 5)),
        [yt.numpy(), it.numpy()],
        grad_inputs=[True, False],
        device=device,
    )
    compare_with_torch(
        lambda t: U.lp_pool2d(t, 1.5, 2, 1, True), lambda t: TF.lp_pool2d(t, 1.5, 2, 1, True), [x], device=device
    )
    compare_with_torch(lambda t: U.lp_pool1d(t, 2, 3), lambda t: TF.lp_pool1d(t, 2, 3), [x[:, :, 0]], device=device)
    bad = mc.tensor(np.array([[[[0, 99]]]]), device=device)
    with pytest.raises(RuntimeError, match="invalid max index"):
        U.max_unpool2d(mc.ones(1, 1, 1, 2, device=device), bad, 2).numpy()
