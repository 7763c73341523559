"""fractional_max_pool2d/3d, lp_pool3d, max_unpool3d (functions and modules) and CrossMapLRN2d
against torch: values, indices, gradients, second derivatives, errors, signatures, reprs."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels.fractional_pool import fractional_max_pool_reference
from minicnn.nn import normalization as NN
from minicnn.nn import pooling as NP
from minicnn.nn import unpool as NU
from minicnn.ops import fractional_pool as FP
from minicnn.ops import unpool as U
from minicnn.ops.conv3d import max_pool3d

SETTINGS = settings(max_examples=20, deadline=None)

FRACTIONAL = {
    2: (FP.fractional_max_pool2d, TF.fractional_max_pool2d),
    3: (FP.fractional_max_pool3d, TF.fractional_max_pool3d),
}


def torch_outcome(fn):
    """(result, None) or (None, the exception torch raised)."""
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - any error of torch's is compared below
        return None, e


# -- fractional max pooling ------------------------------------------------------------------------
@st.composite
def fractional_cases(draw, d: int):
    """(input shape, kernel, output size, seed): sizes torch accepts (out + k - 1 <= in in 2-d,
    < in in 3-d), batched or not."""
    strict = d == 3
    kernel, size, out = [], [], []
    for _ in range(d):
        k = draw(st.integers(1, 3))
        n = draw(st.integers(k + strict, k + strict + 9))
        o = draw(st.integers(1, n - k + 1 - strict))
        kernel.append(k), size.append(n), out.append(o)
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) if draw(st.booleans()) else (draw(st.integers(1, 3)),)
    return (*lead, *size), tuple(kernel), tuple(out), draw(st.integers(0, 2**16))


def fractional_data(shape, d, seed, dtype=np.float64, ties=False):
    """Input x and samples (N, C, d) in [0, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if ties:
        x = np.round(x)
    lead = shape[:-d]
    batch, channels = (lead[0], lead[1]) if len(lead) == 2 else (1, lead[0])
    return x.astype(dtype), rng.random((batch, channels, d)).astype(dtype)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(data=st.data())
def test_fractional_max_pool_values_and_indices_equal_torch(d, dtype, data):
    shape, k, out, seed = data.draw(fractional_cases(d))
    x, u = fractional_data(shape, d, seed, dtype, ties=data.draw(st.booleans()))
    ours, theirs = FRACTIONAL[d]
    y, i = ours(mc.tensor(x), k, out, return_indices=True, _random_samples=mc.tensor(u))
    ty, ti = theirs(torch.tensor(x), k, out, return_indices=True, _random_samples=torch.tensor(u))
    assert y.dtype == x.dtype and i.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    # the slow reference (torch's loops) agrees too
    planes = math.prod(shape[:-d])
    _, ri = fractional_max_pool_reference(x.reshape(planes, *shape[-d:]), u.reshape(planes, d), k, out)
    np.testing.assert_array_equal(ri.reshape(i.shape), i.numpy())


@pytest.mark.parametrize("d", [2, 3])
@SETTINGS
@given(data=st.data())
def test_fractional_max_pool_gradient_like_torch(d, data):
    shape, k, out, seed = data.draw(fractional_cases(d))
    x, u = fractional_data(shape, d, seed)
    ours, theirs = FRACTIONAL[d]
    compare_with_torch(
        lambda t: ours(t, k, out, _random_samples=mc.tensor(u)),
        lambda t: theirs(t, k, out, _random_samples=torch.tensor(u)),
        [x],
    )


@pytest.mark.parametrize("d", [2, 3])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_fractional_max_pool_double_backward_like_torch(d, data):
    shape, k, out, seed = data.draw(fractional_cases(d))
    x, u = fractional_data(shape, d, seed)
    ours, theirs = FRACTIONAL[d]
    double_backward_like_torch(
        lambda t: ours(t, k, out, _random_samples=mc.tensor(u)),
        lambda t: theirs(t, k, out, _random_samples=torch.tensor(u)),
        [x],
    )


@pytest.mark.parametrize("d", [2, 3])
def test_fractional_max_pool_gradcheck_and_gradgradcheck(d):
    shape = (1, 2, 5, 6) if d == 2 else (2, 4, 4, 5)
    x, u = fractional_data(shape, d, 3)
    x = x + np.arange(x.size).reshape(shape) * 0.01  # no ties near the maxima
    f = FRACTIONAL[d][0]
    out = 3 if d == 2 else (2, 2, 3)
    fn = lambda t: f(t, 2, out, _random_samples=mc.tensor(u))  # noqa: E731
    assert mc.gradcheck(fn, [mc.tensor(x, requires_grad=True)])
    assert mc.gradgradcheck(fn, [mc.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("device", devices())
def test_fractional_max_pool_on_device(device):
    x, u = fractional_data((2, 3, 9, 7), 2, 5)
    compare_with_torch(
        lambda t: FP.fractional_max_pool2d(t, (3, 2), output_ratio=0.5, _random_samples=mc.tensor(u, device=device)),
        lambda t: TF.fractional_max_pool2d(t, (3, 2), output_ratio=(0.5, 0.5), _random_samples=torch.tensor(u)),
        [x],
        device=device,
    )
    x3, u3 = fractional_data((2, 5, 6, 7), 3, 6, np.float32)
    y, i = FP.fractional_max_pool3d(
        mc.tensor(x3, device=device), 2, (2, 3, 4), None, True, mc.tensor(u3, device=device)
    )
    ty, ti = TF.fractional_max_pool3d(torch.tensor(x3), 2, (2, 3, 4), None, True, torch.tensor(u3))
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    drawn = FP.fractional_max_pool3d(mc.tensor(x3, device=device), 2, output_ratio=0.5)  # samples drawn there
    assert drawn.shape == (2, 2, 3, 3) and drawn.device == mc.tensor(x3, device=device).device


def test_fractional_max_pool_large_alpha_in_float32_follows_torchs_rounding():
    # torch computes the starts in the input's dtype: long float32 sequences must round alike
    x, u = fractional_data((4, 8, 200, 3), 2, 11, np.float32)
    ty, ti = TF.fractional_max_pool2d(
        torch.tensor(x), (2, 1), (67, 3), return_indices=True, _random_samples=torch.tensor(u)
    )
    y, i = FP.fractional_max_pool2d(mc.tensor(x), (2, 1), (67, 3), return_indices=True, _random_samples=mc.tensor(u))
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(y.numpy(), ty.numpy())


def test_fractional_max_pool_nan_and_inf_as_torch():
    x, u = fractional_data((2, 2, 7, 7), 2, 1)
    x[0, 0, 1:4, 1:4] = -np.inf
    x[0, 1, 2, 2] = np.nan
    x[1, 0, 0:3, 0:5] = np.nan
    x[1, 1] = -np.inf
    y, i = FP.fractional_max_pool2d(mc.tensor(x), 3, 3, return_indices=True, _random_samples=mc.tensor(u))
    ty, ti = TF.fractional_max_pool2d(torch.tensor(x), 3, 3, return_indices=True, _random_samples=torch.tensor(u))
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())


def test_fractional_max_pool_draws_samples_from_the_library_generator():
    x = mc.tensor(np.random.default_rng(0).standard_normal((3, 4, 20, 20)))
    mc.manual_seed(7)
    a, ia = FP.fractional_max_pool2d(x, 2, 8, return_indices=True)
    b, ib = FP.fractional_max_pool2d(x, 2, 8, return_indices=True)
    mc.manual_seed(7)
    c, ic = FP.fractional_max_pool2d(x, 2, 8, return_indices=True)
    np.testing.assert_array_equal(ia.numpy(), ic.numpy())
    np.testing.assert_array_equal(a.numpy(), c.numpy())
    assert not np.array_equal(ia.numpy(), ib.numpy())  # fresh samples at each call
    # each output is a maximum of a kernel window inside the input: its value sits at its index
    flat = x.numpy().reshape(3, 4, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, ib.numpy().reshape(3, 4, -1), 2).reshape(b.shape), b.numpy())


@pytest.mark.parametrize("d", [2, 3])
def test_fractional_max_pool_float16_draws_its_own_samples(d):
    # NumPy's Generator.random draws float32/float64 only: float16 samples are drawn in float32
    shape = (2, 3, 6, 7) if d == 2 else (2, 3, 5, 6, 7)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float16)
    t = mc.tensor(x, requires_grad=True)
    y, i = FRACTIONAL[d][0](t, 2, 3, return_indices=True)
    assert y.dtype == np.float16 and y.shape == (2, 3) + (3,) * d
    flat = x.reshape(2, 3, -1)  # each output is the input's value at its index
    np.testing.assert_array_equal(np.take_along_axis(flat, i.numpy().reshape(2, 3, -1), 2).reshape(y.shape), y.numpy())
    y.sum().backward()
    assert t.grad.dtype == np.float16 and t.grad.numpy().sum() == y.numel()


@pytest.mark.parametrize(
    "d, shape, kwargs, samples",
    [
        (2, (1, 1, 7, 9), dict(kernel_size=3, output_size=(6, 4)), (1, 1, 2)),  # pool too large for H
        (2, (1, 1, 7, 9), dict(kernel_size=3, output_size=(4, 8)), (1, 1, 2)),
        (2, (1, 1, 7, 9), dict(kernel_size=0, output_size=(3, 4)), (1, 1, 2)),
        (2, (1, 1, 7, 9), dict(kernel_size=3, output_size=(3, 4)), (1, 2, 2)),  # samples: wrong C
        (2, (1, 1, 7, 9), dict(kernel_size=3, output_size=(3, 4)), (1, 1, 3)),  # samples: wrong d
        (2, (1, 1, 7, 9), dict(kernel_size=3, output_size=(3, 4)), (1, 2)),
        (2, (2, 0, 7, 9), dict(kernel_size=3, output_size=(3, 4)), (2, 0, 2)),  # empty channels
        (2, (7, 9), dict(kernel_size=3, output_size=(3, 4)), None),  # 2-d input
        (2, (1, 1, 7, 9), dict(kernel_size=3), None),  # neither output_size nor output_ratio
        (2, (1, 1, 7, 9), dict(kernel_size=3, output_ratio=(0.5, 0.5, 0.5)), None),
        (3, (1, 1, 3, 5, 5), dict(kernel_size=2, output_size=(1, 4, 2)), (1, 1, 3)),  # 3-d: out + k - 1 < in
        (3, (1, 1, 1, 5, 5), dict(kernel_size=(1, 2, 2), output_size=(1, 2, 2)), (1, 1, 3)),
        (3, (1, 1, 3, 5, 5), dict(kernel_size=2, output_size=(1, 3, 3)), (1, 1, 2)),
        (3, (3, 5, 5), dict(kernel_size=2, output_size=(1, 3, 3)), None),
        (2, (1, 1, 7, 9), dict(kernel_size=3, output_size=0.5), None),  # a float size: TypeError, not size 0
        (2, (1, 1, 7, 9), dict(kernel_size=2.0, output_size=3), None),
        (3, (1, 1, 1, 3, 6, 2), dict(kernel_size=1, output_size=(1, 0.7, 1)), None),  # the type before the dims
    ],
)
def test_fractional_max_pool_errors_where_torch_raises(d, shape, kwargs, samples):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    u = None if samples is None else np.random.default_rng(1).random(samples).astype(np.float32)
    ours, theirs = FRACTIONAL[d]
    _, err = torch_outcome(
        lambda: theirs(torch.tensor(x), _random_samples=None if u is None else torch.tensor(u), **kwargs)
    )
    assert err is not None
    with pytest.raises((ValueError, RuntimeError, TypeError, IndexError)) as info:
        ours(mc.tensor(x), _random_samples=None if u is None else mc.tensor(u), **kwargs)
    assert "fractional_max_pool" in str(info.value)
    assert isinstance(info.value, type(err)) or isinstance(err, (RuntimeError, IndexError))


def test_fractional_max_pool_checks_the_samples_dtype_and_accepts_empty_outputs_and_batches():
    x = mc.tensor(np.zeros((2, 3, 7, 9), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        FP.fractional_max_pool2d(x, 3, 4, _random_samples=mc.tensor(np.zeros((2, 3, 2))))
    u = np.random.default_rng(0).random((2, 3, 2)).astype(np.float32)
    ty = TF.fractional_max_pool2d(torch.tensor(x.numpy()), 3, (0, 4), _random_samples=torch.tensor(u))
    assert FP.fractional_max_pool2d(x, 3, (0, 4), _random_samples=mc.tensor(u)).shape == tuple(ty.shape)
    for shape, f, tf in (
        ((0, 3, 7, 7), FP.fractional_max_pool2d, TF.fractional_max_pool2d),
        ((0, 2, 5, 5, 5), FP.fractional_max_pool3d, TF.fractional_max_pool3d),
    ):
        xe = mc.tensor(np.zeros(shape), requires_grad=True)
        ye = f(xe, 2, 2)
        ye.sum().backward()
        assert ye.shape == tuple(tf(torch.zeros(shape), 2, 2).shape) and xe.grad.shape == shape


@pytest.mark.parametrize("d", [2, 3])
def test_fractional_max_pool_modules_like_torch(d):
    ours, theirs = (
        (NP.FractionalMaxPool2d, tnn.FractionalMaxPool2d)
        if d == 2
        else (NP.FractionalMaxPool3d, tnn.FractionalMaxPool3d)
    )
    x, u = fractional_data((2, 3) + (8,) * d, d, 4)
    for kwargs in (dict(output_size=3), dict(output_ratio=0.5), dict(output_ratio=(0.5,) * d, return_indices=True)):
        m = ours(2, _random_samples=mc.tensor(u), **kwargs)
        t = theirs(2, _random_samples=torch.tensor(u), **kwargs)
        assert repr(m) == repr(t)
        for name in ("kernel_size", "output_size", "output_ratio", "return_indices"):
            assert getattr(m, name) == getattr(t, name), name
        got, want = m(mc.tensor(x)), t(torch.tensor(x))
        if kwargs.get("return_indices"):
            np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
            got, want = got[0], want[0]
        np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
        assert list(m.state_dict()) == list(t.state_dict())
    for kwargs in (dict(), dict(output_size=2, output_ratio=0.5), dict(output_ratio=1.5), dict(output_ratio=0.0)):
        _, err = torch_outcome(lambda: theirs(2, **kwargs))  # noqa: B023
        with pytest.raises(type(err)):
            ours(2, **kwargs)


# -- lp_pool3d and max_unpool3d ----------------------------------------------------------------------
@st.composite
def pool3d_cases(draw):
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    s = draw(st.one_of(st.none(), st.tuples(*(st.integers(1, 3) for _ in range(3)))))
    size = tuple(draw(st.integers(kk, kk + 3)) for kk in k)
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if draw(st.booleans()) else (draw(st.integers(1, 2)),)
    return lead + size, k, s, draw(st.booleans()), draw(st.integers(0, 2**16))


@SETTINGS
@given(case=pool3d_cases(), p=st.sampled_from([1, 2, 3, 1.5, math.inf, -math.inf]))
def test_lp_pool3d_like_torch(case, p):
    shape, k, s, ceil_mode, seed = case
    signs = np.where(np.arange(math.prod(shape)) % 3, 1, -1).reshape(shape)
    x = np.random.default_rng(seed).uniform(0.3, 2.0, shape) * signs
    if p not in (1, 2, 3):
        x = np.abs(x)  # torch's pow of a negative base to a fractional power is NaN
    compare_with_torch(
        lambda t: U.lp_pool3d(t, p, k, s, ceil_mode),
        lambda t: TF.lp_pool3d(t, p, k, s, ceil_mode),
        [x],
    )


@settings(max_examples=10, deadline=None)
@given(case=pool3d_cases(), p=st.sampled_from([2, 3, math.inf]))
def test_lp_pool3d_double_backward_like_torch(case, p):
    shape, k, s, ceil_mode, seed = case
    x = np.random.default_rng(seed).uniform(0.3, 2.0, shape)
    double_backward_like_torch(
        lambda t: U.lp_pool3d(t, p, k, s, ceil_mode),
        lambda t: TF.lp_pool3d(t, p, k, s, ceil_mode),
        [x],
    )


@pytest.mark.parametrize("device", devices())
def test_lp_pool3d_gradcheck_and_gradgradcheck(device):
    x = np.random.default_rng(0).uniform(0.5, 1.5, (1, 2, 3, 3, 4))
    fn = lambda t: U.lp_pool3d(t, 2.5, (2, 2, 3), 1)  # noqa: E731
    assert mc.gradcheck(fn, [mc.tensor(x, requires_grad=True, device=device)])
    assert mc.gradgradcheck(fn, [mc.tensor(x, requires_grad=True, device=device)])


def test_lp_pool3d_errors_and_module_like_torch():
    x = mc.tensor(np.ones((1, 2, 4, 4, 4)))
    with pytest.raises(ValueError, match="norm_type"):
        U.lp_pool3d(x, 0, 2)
    with pytest.raises(ValueError, match="lp_pool3d"):
        U.lp_pool3d(mc.tensor(np.ones((2, 4, 4))), 2, 2)
    with pytest.raises(RuntimeError):
        U.lp_pool3d(x, 2, 5)  # kernel larger than the input, as torch
    for args in ((2, 3), (1.5, (1, 2, 2), 2, True)):
        m, t = NU.LPPool3d(*args), tnn.LPPool3d(*args)
        assert repr(m) == repr(t)
        xs = np.random.default_rng(1).uniform(0.1, 1, (2, 3, 5, 6, 6))
        np.testing.assert_allclose(m(mc.tensor(xs)).numpy(), t(torch.tensor(xs)).numpy(), rtol=1e-12)


@st.composite
def unpool3d_cases(draw):
    k = tuple(draw(st.integers(1, 3)) for _ in range(3))
    s = tuple(draw(st.integers(1, 3)) for _ in range(3))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    size = tuple(draw(st.integers(kk, kk + 4)) for kk in k)
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if draw(st.booleans()) else (draw(st.integers(1, 2)),)
    return k, s, p, lead + size, draw(st.booleans()), draw(st.integers(0, 2**16))


@SETTINGS
@given(case=unpool3d_cases())
def test_max_unpool3d_round_trip_like_torch(case):
    k, s, p, shape, give_size, seed = case
    x = torch.tensor(np.random.default_rng(seed).standard_normal(shape))
    pooled, idx = TF.max_pool3d(x, k, s, p, return_indices=True)
    out = list(shape[-3:]) if give_size else None
    _, err = torch_outcome(lambda: TF.max_unpool3d(pooled, idx, k, s, p, out))
    if err is not None:  # strides past the kernel: an index outside the default output volume
        with pytest.raises(RuntimeError, match="max_unpool3d: found an invalid max index"):
            U.max_unpool3d(mc.tensor(pooled.numpy()), mc.tensor(idx.numpy()), k, s, p, out)
        return
    empty = TF.max_unpool3d(pooled, idx, k, s, p, out).numel() == 0  # torch's backward fails there
    compare_with_torch(
        lambda t: U.max_unpool3d(t, mc.tensor(idx.numpy()), k, s, p, out),
        lambda t: TF.max_unpool3d(t, idx, k, s, p, out),
        [pooled.numpy()],
        grad_inputs=[not empty],
    )
    # and our max_pool3d's indices feed our unpool the same way
    y, i = max_pool3d(mc.tensor(x.numpy()), k, s, p, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), idx.numpy())


@pytest.mark.parametrize("device", devices())
def test_max_unpool3d_double_backward_gradcheck_and_module(device):
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4, 6))
    pooled, idx = TF.max_pool3d(torch.tensor(x), 2, return_indices=True)
    mi = mc.tensor(idx.numpy(), device=device)
    double_backward_like_torch(
        lambda t: U.max_unpool3d(t, mi, 2), lambda t: TF.max_unpool3d(t, idx, 2), [pooled.numpy()], device=device
    )
    fn = lambda t: U.max_unpool3d(t, mi, 2)  # noqa: E731
    assert mc.gradcheck(fn, [mc.tensor(pooled.numpy(), requires_grad=True, device=device)])
    assert mc.gradgradcheck(fn, [mc.tensor(pooled.numpy(), requires_grad=True, device=device)])
    m, t = NU.MaxUnpool3d(2, padding=0), tnn.MaxUnpool3d(2, padding=0)
    assert repr(m) == repr(t)
    got = m(mc.tensor(pooled.numpy(), device=device), mi, output_size=[2, 2, 4, 5, 7])
    np.testing.assert_array_equal(got.numpy(), t(pooled, idx, output_size=[2, 2, 4, 5, 7]).numpy())


def test_max_unpool3d_errors_where_torch_raises():
    pooled, idx = TF.max_pool3d(torch.randn(1, 2, 4, 4, 4), 2, return_indices=True)
    cases = [
        (pooled, idx + 100, 2, None),  # an index outside the output volume
        (pooled, idx, 2, [9, 9, 9]),  # output_size beyond a stride of the default
        (pooled, idx, 2, [4, 4]),  # output_size of the wrong length
        (pooled[0, 0], idx[0, 0], 2, None),  # 3-d input
        (pooled, idx[..., :1], 2, None),  # indices of another shape
    ]
    for x, i, k, out in cases:
        _, err = torch_outcome(lambda: TF.max_unpool3d(x, i, k, output_size=out))  # noqa: B023
        assert err is not None
        with pytest.raises((ValueError, RuntimeError)) as info:
            U.max_unpool3d(mc.tensor(x.numpy()), mc.tensor(i.numpy()), k, output_size=out)
        assert "max_unpool3d" in str(info.value)


# -- CrossMapLRN2d ------------------------------------------------------------------------------------
@st.composite
def lrn_cases(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    settings_ = (
        draw(st.integers(1, 7)),
        draw(st.sampled_from([1e-4, 0.3, 1.0])),
        draw(st.sampled_from([0.75, 0.5, 1.3])),
        draw(st.sampled_from([1, 2.0, 0.5])),
    )
    return shape, settings_, draw(st.integers(0, 2**16))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(case=lrn_cases())
def test_cross_map_lrn2d_forward_equals_torch(dtype, case):
    shape, (size, alpha, beta, k), seed = case
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    y = NN.CrossMapLRN2d(size, alpha, beta, k)(mc.tensor(x))
    ty = tnn.CrossMapLRN2d(size, alpha, beta, k)(torch.tensor(x))
    assert y.dtype == x.dtype
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), **tol)


def _torch_numerical_vjp(fn, x: np.ndarray, g: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d sum(fn(x) * g) / dx by central differences of torch's forward (float64)."""
    out = np.empty_like(x)
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = eps
        e = e.reshape(x.shape)
        hi, lo = fn(torch.tensor(x + e)).numpy(), fn(torch.tensor(x - e)).numpy()
        out.flat[j] = ((hi - lo) * g).sum() / (2 * eps)
    return out


@settings(max_examples=10, deadline=None)
@given(case=lrn_cases())
def test_cross_map_lrn2d_gradient_is_the_derivative_of_torchs_forward(case):
    # torch's own backward is not the derivative of its forward (it fails torch's gradcheck for
    # C > 1): the oracle is the numerical derivative of torch's forward
    shape, (size, alpha, beta, k), seed = case
    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    xt = mc.tensor(x, requires_grad=True)
    (NN.CrossMapLRN2d(size, alpha, beta, k)(xt) * mc.tensor(g)).sum().backward()
    want = _torch_numerical_vjp(tnn.CrossMapLRN2d(size, alpha, beta, k), x, g)
    np.testing.assert_allclose(xt.grad.numpy(), want, rtol=1e-6, atol=1e-8)


def test_cross_map_lrn2d_gradient_equals_torchs_backward_where_that_is_exact():
    # one channel: torch's backward is right there
    x = np.random.default_rng(0).standard_normal((2, 1, 3, 4))
    compare_with_torch(
        lambda t: NN.CrossMapLRN2d(3, 0.5, 0.75, 1)(t), lambda t: tnn.CrossMapLRN2d(3, 0.5, 0.75, 1)(t), [x]
    )


@settings(max_examples=10, deadline=None)
@given(case=lrn_cases())
def test_cross_map_lrn2d_double_backward_like_torch_local_response_norm(case):
    # with C <= P = (size-1)//2 + 1 torch's quirk (a_0^2 kept) never shows: CrossMapLRN2d is then
    # torch's LocalResponseNorm of size 2P-1 with alpha scaled by (2P-1)/size
    shape, (size, alpha, beta, k), seed = case
    n = 2 * ((size - 1) // 2) + 1
    shape = (shape[0], min(shape[1], (size - 1) // 2 + 1), *shape[2:])
    x = np.random.default_rng(seed).standard_normal(shape)
    double_backward_like_torch(
        lambda t: NN.CrossMapLRN2d(size, alpha, beta, k)(t),
        lambda t: TF.local_response_norm(t, n, alpha * n / size, beta, k),
        [x],
    )


@pytest.mark.parametrize("device", devices())
def test_cross_map_lrn2d_gradcheck_and_gradgradcheck(device):
    x = np.random.default_rng(2).standard_normal((1, 6, 2, 2))
    fn = NN.CrossMapLRN2d(3, 0.8, 0.75, 1.0)  # C > P: the a_0 term is in
    assert mc.gradcheck(fn, [mc.tensor(x, requires_grad=True, device=device)])
    assert mc.gradgradcheck(fn, [mc.tensor(x, requires_grad=True, device=device)])
    y = fn(mc.tensor(x, device=device))
    np.testing.assert_allclose(y.numpy(), tnn.CrossMapLRN2d(3, 0.8, 0.75, 1.0)(torch.tensor(x)).numpy(), rtol=1e-12)


def test_cross_map_lrn2d_differs_from_local_response_norm_as_torch():
    x = np.random.default_rng(3).standard_normal((1, 8, 2, 2))
    for size in (4, 5):
        ours = NN.CrossMapLRN2d(size, 0.5)(mc.tensor(x)).numpy()
        lrn = TF.local_response_norm(torch.tensor(x), size, 0.5).numpy()
        np.testing.assert_allclose(ours, tnn.CrossMapLRN2d(size, 0.5)(torch.tensor(x)).numpy(), rtol=1e-12)
        assert not np.allclose(ours, lrn)


def test_cross_map_lrn2d_errors_empty_inputs_and_repr():
    m, t = NN.CrossMapLRN2d(5, alpha=2e-4, k=2), tnn.CrossMapLRN2d(5, alpha=2e-4, k=2)
    assert repr(m) == repr(t)
    for shape in ((0, 3, 2, 2), (2, 3, 0, 2)):
        assert m(mc.tensor(np.zeros(shape))).shape == tuple(t(torch.zeros(shape)).shape)
    assert m(mc.tensor(np.zeros((2, 0, 2, 2)))).shape == (2, 0, 2, 2)  # torch's loop fails on no channels
    for shape in ((2, 3, 4), (1, 2, 3, 4, 5)):
        _, err = torch_outcome(lambda: t(torch.zeros(shape)))  # noqa: B023
        with pytest.raises(type(err), match="CrossMapLRN2d"):
            m(mc.tensor(np.zeros(shape)))


# -- signatures -----------------------------------------------------------------------------------------
def _params(fn) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values() if p.name not in ("self", "_layer")]


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (FP.fractional_max_pool2d, TF.fractional_max_pool2d_with_indices),  # torch's dispatcher hides its own
        (FP.fractional_max_pool3d, TF.fractional_max_pool3d_with_indices),
        (U.lp_pool3d, TF.lp_pool3d),
        (U.max_unpool3d, TF.max_unpool3d),
        (NP.FractionalMaxPool2d, tnn.FractionalMaxPool2d),
        (NP.FractionalMaxPool3d, tnn.FractionalMaxPool3d),
        (NU.LPPool3d, tnn.LPPool3d),
        (NU.MaxUnpool3d, tnn.MaxUnpool3d),
        (NU.MaxUnpool3d.forward, tnn.MaxUnpool3d.forward),
        (NN.CrossMapLRN2d, tnn.CrossMapLRN2d),
    ],
)
def test_signatures_equal_torchs(ours, theirs):
    assert _params(ours) == _params(theirs)


@pytest.mark.parametrize("bad", [-1, 512, 10**12])
def test_max_unpool3d_bad_index_error_names_the_volume_as_torch(bad):
    v = np.random.default_rng(0).standard_normal((1, 2, 2, 2, 2))
    idx = np.zeros(v.shape, dtype=np.int64)
    idx[0, 1, 1, 1, 1] = bad
    _, err = torch_outcome(lambda: TF.max_unpool3d(torch.tensor(v), torch.tensor(idx), 4))
    assert f"invalid max index: {bad} (output volumes are of size 8x8x8)" in str(err)
    want = rf"max_unpool3d: found an invalid max index: {bad} \(output volumes are of size 8x8x8"
    with pytest.raises(RuntimeError, match=want):
        U.max_unpool3d(mc.tensor(v), mc.tensor(idx), 4)
