"""nn.init in place and in the tails, grad-mode switching, and the tensor factories, against torch."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import init

RANDOM_INITS = [
    (init.uniform_, dict(a=-1.0, b=2.0)),
    (init.normal_, dict(mean=1.0, std=2.0)),
    (init.kaiming_uniform_, dict(a=0.1)),
    (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="relu")),
    (init.xavier_uniform_, dict(gain=2.0)),
    (init.xavier_normal_, dict()),
    (init.trunc_normal_, dict(std=0.5)),
]


@pytest.mark.parametrize("fn, kwargs", RANDOM_INITS, ids=lambda v: getattr(v, "__name__", ""))
def test_random_inits_write_into_the_tensor_like_torch(fn, kwargs):
    lin = mc.nn.Linear(4, 3, bias=False)
    before = lin.weight.numpy()
    fn(lin.weight.data, **kwargs)  # torch's idiom: through .data, a view of the same memory
    assert not np.array_equal(lin.weight.numpy(), before)
    w = mc.zeros(4, 4)
    fn(w[1:3], **kwargs)  # a slice
    assert np.all(w.numpy()[[0, 3]] == 0) and np.all(w.numpy()[1:3] != 0)
    x = mc.ones(1, 4, requires_grad=True)
    y = lin(x).sum()
    fn(lin.weight, **kwargs)  # the version counter moves: backward refuses, as torch's
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
def test_kaiming_of_an_empty_tensor_is_a_no_op_with_torchs_warning(fn):
    with pytest.warns(UserWarning, match="zero-element"):
        fn(mc.zeros(3, 0))
    with pytest.warns(UserWarning, match="zero-element"):
        torch.nn.init.kaiming_uniform_(torch.zeros(3, 0))
    with pytest.warns(UserWarning, match="zero-element"):  # torch's Linear(0, 5) warns too
        assert mc.nn.Linear(0, 5).weight.shape == (5, 0)


def test_init_argument_checks_like_torch():
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(mc.zeros(3, 3), mode="bad")
    with pytest.raises(TypeError, match="floating"):
        init.normal_(mc.zeros(3, dtype=mc.int64))
    for name in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name) == 1
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", True)


@settings(max_examples=25, deadline=None)
@given(
    lo=st.floats(-9, 9),
    width=st.sampled_from([1e-4, 0.01, 0.5, 1.0, 3.0, 30.0]),
    mean=st.floats(-2, 2),
    std=st.floats(0.05, 3),
)
def test_trunc_normal_in_any_window_matches_the_truncated_normal(lo, width, mean, std):
    """torch draws by the inverse CDF; minicnn by rejection with the best proposal. Both must
    give N(mean, std^2) restricted to [a, b] quickly, even 9 standard deviations out (plain
    rejection would loop for hours there)."""
    a, b = mean + std * lo, mean + std * (lo + width)
    t = mc.zeros(20000, dtype=mc.float64)
    init.trunc_normal_(t, mean, std, a, b)
    x = t.numpy()
    assert x.min() >= a and x.max() <= b
    # the truncated normal's mean: mean + std * (phi(lo) - phi(hi)) / (Phi(hi) - Phi(lo))
    hi = lo + width
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    mass = init._phi_between(lo, hi)
    if mass > 1e-12:  # else the window is beyond float precision of the formula; bounds suffice
        expected = mean + std * (pdf(lo) - pdf(hi)) / mass
        spread = std * width / math.sqrt(12)
        assert abs(x.mean() - expected) < 5 * spread / math.sqrt(x.size) + 1e-9 * abs(expected)


@pytest.mark.parametrize("device", devices())
def test_trunc_normal_on_the_device(device):
    t = mc.zeros(1000, device=device)
    init.trunc_normal_(t, 0.0, 1.0, 6.0, 7.0)
    x = t.numpy()
    assert x.min() >= 6 and x.max() <= 7 and 6.05 < x.mean() < 6.3


def test_set_grad_enabled_called_plainly_switches_at_once_like_torch():
    x = mc.ones(2, requires_grad=True)
    try:
        mc.set_grad_enabled(False)
        assert not mc.is_grad_enabled() and not (x * 2).requires_grad
        mc.set_grad_enabled(True)
        assert (x * 2).requires_grad
        with mc.set_grad_enabled(False):
            assert not mc.is_grad_enabled()
        assert mc.is_grad_enabled()

        @mc.set_grad_enabled(False)
        def inside():
            return mc.is_grad_enabled()

        assert mc.is_grad_enabled() and not inside() and mc.is_grad_enabled()
        with mc.no_grad():
            with mc.enable_grad():
                assert mc.is_grad_enabled()
            assert not mc.is_grad_enabled()
    finally:
        mc.set_grad_enabled(True)


def test_factories_like_torch():
    mc.manual_seed(0)
    assert mc.randint(10, (3,)).shape == (3,) and mc.randint(10, (3,)).dtype == np.int64
    assert mc.zeros(size=(2, 3)).shape == mc.ones(size=[2, 3]).shape == mc.rand(size=(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError):
        mc.zeros(2.5)
    with pytest.raises(TypeError):
        mc.rand(2, dtype=mc.int64)
    pairs = [
        (mc.linspace(-1, 2, 7), torch.linspace(-1, 2, 7)),
        (mc.eye(2, 3), torch.eye(2, 3)),
        (mc.full_like(mc.ones(2, dtype=mc.float64), 7), torch.full_like(torch.ones(2, dtype=torch.float64), 7)),
        (
            mc.empty_like(mc.ones(2, 2, dtype=mc.int64)).shape,
            torch.empty_like(torch.ones(2, 2, dtype=torch.int64)).shape,
        ),
    ]
    for ours, theirs in pairs:
        if isinstance(ours, mc.Tensor):
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
        else:
            assert tuple(ours) == tuple(theirs)
    assert mc.randn_like(mc.ones(3, dtype=mc.float64)).dtype == np.float64
    assert mc.rand_like(mc.ones(3)).shape == (3,)
    a = np.ones(3)
    assert np.shares_memory(mc.as_tensor(a).array, a) and mc.is_tensor(mc.ones(1)) and not mc.is_tensor(a)
    assert mc.bool == np.bool_ and mc.int8 == np.int8


def test_rand_float32_stays_below_one():
    mc.manual_seed(0)
    x = mc.rand(4_000_000).numpy()
    assert x.dtype == np.float32 and x.max() < 1.0 and x.min() >= 0.0


def test_to_copy_other_and_short_casts_like_torch():
    x = mc.ones(2)
    y = x.to(mc.float32, copy=True)
    y += 1
    np.testing.assert_array_equal(x.numpy(), [1, 1])
    assert x.to(mc.ones(1, dtype=mc.float64)).dtype == np.float64
    assert (x.int().dtype, x.half().dtype, x.bool().dtype) == (np.int32, np.float16, np.bool_)


def _gram(w: np.ndarray) -> np.ndarray:
    """W W^T for a wide (or square) matrix, W^T W for a tall one: gain^2 I when W is (semi-)orthogonal."""
    return w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3, 3), (4, 4)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_is_semi_orthogonal_like_torch(shape, gain):
    ours = init.orthogonal_(mc.zeros(shape, dtype=mc.float64), gain=gain).numpy().reshape(shape[0], -1)
    theirs = torch.nn.init.orthogonal_(torch.zeros(shape, dtype=torch.float64), gain=gain).numpy()
    theirs = theirs.reshape(shape[0], -1)
    for w in (ours, theirs):
        np.testing.assert_allclose(_gram(w), gain**2 * np.eye(min(w.shape)), atol=1e-12)
    w32 = init.orthogonal_(mc.zeros(shape), gain=gain).numpy().reshape(shape[0], -1)  # float32: drawn in float32
    np.testing.assert_allclose(_gram(w32), gain**2 * np.eye(min(w32.shape)), atol=1e-5)
    assert not np.allclose(
        ours, init.orthogonal_(mc.zeros(shape, dtype=mc.float64), gain=gain).numpy().reshape(ours.shape)
    )


def test_orthogonal_of_an_empty_tensor_is_a_no_op_like_torch():
    t = mc.zeros(0, 3)
    assert init.orthogonal_(t) is t and t.shape == torch.nn.init.orthogonal_(torch.zeros(0, 3)).shape


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 6), (0, 2)])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_eye_equals_torchs(shape, dtype):
    t = mc.ones(shape, dtype=getattr(mc, dtype))
    assert init.eye_(t) is t
    expected = torch.nn.init.eye_(torch.ones(shape, dtype=getattr(torch, dtype))).numpy()
    np.testing.assert_array_equal(t.numpy(), expected)
    assert t.dtype == expected.dtype


@pytest.mark.parametrize(
    "shape, groups",
    [
        ((4, 2, 3), 1),
        ((2, 4, 5), 1),
        ((6, 4, 3, 3), 2),
        ((6, 2, 5, 4, 3), 3),
        ((2, 5, 3, 3), 1),
        ((4, 4, 1, 1), 4),
        ((8, 3, 2, 2), 2),
        ((4, 2, 3), -2),  # torch accepts a negative divisor and writes no ones
    ],
)
def test_dirac_equals_torchs(shape, groups):
    t = mc.ones(shape, dtype=mc.float64)
    assert init.dirac_(t, groups) is t
    np.testing.assert_array_equal(t.numpy(), torch.nn.init.dirac_(torch.ones(shape, dtype=torch.float64), groups))


def test_dirac_is_the_identity_convolution():
    x = mc.randn(2, 6, 5, 5)
    conv = mc.nn.Conv2d(6, 6, 3, padding=1, groups=2, bias=False)
    init.dirac_(conv.weight.data, groups=2)
    np.testing.assert_allclose(conv(x).numpy(), x.numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "shape, sparsity", [((10, 7), 0.25), ((6, 4), 0.5), ((5, 3), 0.0), ((4, 3), 1.5), ((4, 3), -0.5)]
)
def test_sparse_zeros_per_column_like_torch(shape, sparsity):
    t = mc.zeros(shape, dtype=mc.float64)
    assert init.sparse_(t, sparsity, std=0.5) is t
    theirs = torch.nn.init.sparse_(torch.zeros(shape, dtype=torch.float64), sparsity, std=0.5).numpy()
    np.testing.assert_array_equal((t.numpy() == 0).sum(0), (theirs == 0).sum(0))


def test_sparse_picks_other_rows_per_column_and_draws_normal_values():
    mc.manual_seed(0)
    w = init.sparse_(mc.zeros(2000, 50, dtype=mc.float64), 0.3, std=2.0).numpy()
    assert np.all((w == 0).sum(0) == 600)
    assert len({tuple(np.flatnonzero(w[:, j] == 0)[:5]) for j in range(50)}) > 40  # not the same rows each time
    nonzero = w[w != 0]
    assert abs(nonzero.mean()) < 0.05 and abs(nonzero.std() - 2.0) < 0.05


def test_new_init_dimension_errors_like_torch():
    cases = [
        (lambda m: m.orthogonal_, lambda: (mc.zeros(3),), lambda: (torch.zeros(3),)),
        (lambda m: m.eye_, lambda: (mc.zeros(2, 2, 2),), lambda: (torch.zeros(2, 2, 2),)),
        (lambda m: m.eye_, lambda: (mc.zeros(3),), lambda: (torch.zeros(3),)),
        (lambda m: m.dirac_, lambda: (mc.zeros(3, 3),), lambda: (torch.zeros(3, 3),)),
        (lambda m: m.dirac_, lambda: (mc.zeros(1, 1, 1, 1, 1, 1),), lambda: (torch.zeros(1, 1, 1, 1, 1, 1),)),
        (lambda m: m.dirac_, lambda: (mc.zeros(5, 2, 3), 2), lambda: (torch.zeros(5, 2, 3), 2)),
        (lambda m: m.dirac_, lambda: (mc.zeros(4, 2, 3), 0), lambda: (torch.zeros(4, 2, 3), 0)),
        (lambda m: m.sparse_, lambda: (mc.zeros(3), 0.5), lambda: (torch.zeros(3), 0.5)),
        (lambda m: m.sparse_, lambda: (mc.zeros(2, 2, 2), 0.5), lambda: (torch.zeros(2, 2, 2), 0.5)),
    ]
    for fn, ours, theirs in cases:
        with pytest.raises(Exception) as expected:
            fn(torch.nn.init)(*theirs())
        with pytest.raises(expected.type, match=re.escape(str(expected.value))):
            fn(init)(*ours())
    with pytest.raises(TypeError, match="floating"):  # torch: NotImplementedError from its normal_ kernel
        init.orthogonal_(mc.zeros(3, 3, dtype=mc.int64))


NEW_INITS = [
    (init.orthogonal_, dict(gain=2.0)),
    (init.eye_, dict()),
    (init.sparse_, dict(sparsity=0.5, std=1.0)),
]


@pytest.mark.parametrize("fn, kwargs", NEW_INITS, ids=lambda v: getattr(v, "__name__", ""))
def test_new_inits_write_into_the_tensor_like_torch(fn, kwargs):
    lin = mc.nn.Linear(4, 3, bias=False)
    lin.weight.data[...] = 7.0
    out = fn(lin.weight.data, **kwargs)  # torch's idiom: through .data, a view of the same memory
    assert out.shape == (3, 4) and not np.any(lin.weight.numpy() == 7.0)
    w = mc.full((4, 4), 7.0)
    fn(w[1:3], **kwargs)  # a slice
    assert np.all(w.numpy()[[0, 3]] == 7) and not np.any(w.numpy()[1:3] == 7)
    x = mc.ones(1, 4, requires_grad=True)
    y = lin(x).sum()
    version = lin.weight._version
    assert fn(lin.weight, **kwargs) is lin.weight and lin.weight._version > version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_dirac_writes_into_the_tensor_and_bumps_the_version():
    conv = mc.nn.Conv2d(2, 2, 3, bias=False)
    y = conv(mc.ones(1, 2, 5, 5, requires_grad=True)).sum()
    version = conv.weight._version
    assert init.dirac_(conv.weight) is conv.weight and conv.weight._version > version
    np.testing.assert_array_equal(conv.weight.numpy(), torch.nn.init.dirac_(torch.empty(2, 2, 3, 3)).numpy())
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("fn, kwargs", [(init.orthogonal_, {}), (init.sparse_, dict(sparsity=0.3))])
def test_new_random_inits_are_reproducible_under_manual_seed(fn, kwargs):
    mc.manual_seed(123)
    a = fn(mc.zeros(6, 4), **kwargs).numpy()
    b = fn(mc.zeros(6, 4), **kwargs).numpy()
    mc.manual_seed(123)
    np.testing.assert_array_equal(fn(mc.zeros(6, 4), **kwargs).numpy(), a)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("device", devices())
def test_new_inits_on_the_device(device):
    for shape in ((3, 5), (5, 3), (4, 2, 3, 3)):
        t = mc.zeros(shape, device=device)
        w = init.orthogonal_(t, gain=2.0).numpy().reshape(shape[0], -1)
        np.testing.assert_allclose(_gram(w), 4 * np.eye(min(w.shape)), atol=1e-5)
        assert str(t.device).startswith(device)
    np.testing.assert_array_equal(init.eye_(mc.ones(2, 3, device=device)).numpy(), np.eye(2, 3))
    ours = init.dirac_(mc.ones(6, 4, 3, 3, device=device), groups=2).numpy()
    np.testing.assert_array_equal(ours, torch.nn.init.dirac_(torch.ones(6, 4, 3, 3), groups=2).numpy())
    w = init.sparse_(mc.zeros(10, 7, device=device), 0.25).numpy()
    assert np.all((w == 0).sum(0) == 3)


def test_initialisers_take_torchs_argument_names():
    import inspect

    for name in (
        "uniform_",
        "normal_",
        "constant_",
        "zeros_",
        "ones_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "xavier_uniform_",
        "xavier_normal_",
        "trunc_normal_",
        "orthogonal_",
        "eye_",
        "dirac_",
        "sparse_",
    ):
        ours = list(inspect.signature(getattr(init, name)).parameters)
        theirs = [p for p in inspect.signature(getattr(torch.nn.init, name)).parameters if p != "generator"]
        assert ours == theirs, (name, ours, theirs)
    w = mc.zeros(3, 4)
    init.kaiming_uniform_(tensor=w, a=1.0)
    assert (w.numpy() != 0).all()


def test_trunc_normal_of_an_empty_tensor_is_a_no_op():
    """torch fills a zero-element tensor without complaint (ConvNeXt(num_classes=0) initialises one)."""
    w = mc.nn.Linear(4, 0).weight
    mc.nn.init.trunc_normal_(w, std=0.02)
    assert w.shape == (0, 4) and w.dtype == np.float32
    torch.nn.init.trunc_normal_(torch.empty(0, 4), std=0.02)


def test_values_beyond_float32_become_inf_quietly_as_torch():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's "overflow encountered in cast" must not reach the user
        ours = mc.tensor([-1e300, 1e300, 1.0])
        theirs = torch.tensor([-1e300, 1e300, 1.0])
    assert ours.dtype == mc.float32
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.zeros(2, -1),
        lambda L: L.ones(-3),
        lambda L: L.full((-1,), 2.0),
        lambda L: L.eye(-1),
        lambda L: L.arange(5, 1),
        lambda L: L.arange(0, 5, 0),
        lambda L: L.arange(0, float("inf")),
        lambda L: L.arange(0, float("nan")),
        lambda L: L.linspace(0, 1, -1),
        lambda L: L.randint(5, 5, (2,)),
        lambda L: L.rand(2, dtype=L.int64),
        lambda L: L.tensor([300], dtype=L.uint8),
        lambda L: L.tensor([-129], dtype=L.int8),
    ],
)
def test_bad_creation_arguments_raise_torchs_runtime_error(make):
    with pytest.raises(RuntimeError):
        make(torch)
    with pytest.raises(RuntimeError):
        make(mc)


def test_negative_ints_wrap_into_unsigned_tensors_as_torch():
    data = [-1, -129, 255, 0]
    expected = torch.tensor(data, dtype=torch.uint8).numpy()
    np.testing.assert_array_equal(mc.tensor(data, dtype=mc.uint8).numpy(), expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.zeros(),
        lambda L: L.ones(),
        lambda L: L.empty(),
        lambda L: L.rand(),
        lambda L: L.randn(),
        lambda L: L.rand(dtype=L.float64),
        lambda L: L.zeros(dtype=L.float64, requires_grad=True),
        lambda L: L.full(),
        lambda L: L.randint(),
        lambda L: L.randint(5),
        lambda L: L.randperm(),
        lambda L: L.empty_strided(),
        lambda L: L.normal(),
        lambda L: L.eye(),
        lambda L: L.tensor(),
        lambda L: L.ones(2).new_zeros(),
        lambda L: L.ones(2).new_ones(),
        lambda L: L.ones(2).new_empty(),
        lambda L: L.ones(2).new_full(),
        lambda L: L.ones(2).new_tensor(),
    ],
)
def test_factories_without_a_size_raise_torchs_type_error(make):
    """No size at all is a missing argument in torch (not a 0-d tensor)."""
    with pytest.raises(TypeError):
        make(torch)
    with pytest.raises(TypeError):
        make(mc)


def test_factories_name_the_missing_size_in_torchs_words():
    for name in ("zeros", "ones", "empty", "rand", "randn"):
        with pytest.raises(TypeError) as theirs:
            getattr(torch, name)(dtype=torch.float64)
        with pytest.raises(TypeError) as ours:
            getattr(mc, name)(dtype=mc.float64)
        assert str(ours.value) == str(theirs.value) == f'{name}() missing 1 required positional arguments: "size"'


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn", "new_zeros", "new_ones", "new_empty"])
@pytest.mark.parametrize("args, kwargs", [(((),), {}), (([],), {}), ((), {"size": ()}), ((), {"size": []})])
def test_an_explicit_empty_size_is_0d_as_torch(name, args, kwargs):
    def make(L):
        f = getattr(L.ones(2, dtype=L.float64), name) if name.startswith("new_") else getattr(L, name)
        return f(*args, **kwargs)

    ours, theirs = make(mc), make(torch)
    assert tuple(ours.shape) == tuple(theirs.shape) == ()
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


def test_is_meta_as_torch():
    for L in (mc, torch):
        meta = L.nn.Linear(2, 3).to("meta")
        assert meta.weight.is_meta and meta.bias.is_meta
        assert not L.ones(2).is_meta and not L.nn.Linear(2, 3).weight.is_meta
        assert not L.nn.LazyLinear(3).weight.is_meta
        assert meta.to_empty(device="cpu").weight.is_meta is False


def test_a_detached_meta_tensor_stays_meta():
    # torch's detach of a meta tensor is meta; minicnn's kept it until now as a plain array of zeros,
    # so arithmetic on it computed (with zeros) instead of refusing
    for L in (mc, torch):
        w = L.nn.Linear(2, 3).to("meta").weight
        assert w.detach().is_meta
    with pytest.raises(RuntimeError, match="meta"):
        mc.nn.Linear(2, 3).to("meta").weight.detach() * 2
