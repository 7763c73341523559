"""Behaviour kept by the overhead work: the anti-aliased resize's weight cache
(minicnn.kernels.resample_aa.axis_weights) and the engine's and training step's fast paths
(same results, same graph, same errors as before and as torch). No timings here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import devices

import minicnn as mc
from minicnn.kernels import resample_aa as AA
from minicnn.nn.functional import interpolate


# -- anti-aliased resize: the per-axis weights are built once ------------------------------------
@pytest.fixture
def builds(monkeypatch):
    """Counts of the weight builders' calls (float and uint8), the cache emptied first."""
    calls = {"float": 0, "uint8": 0}
    real_float, real_uint8 = AA.aa_axis, AA.aa_uint8_taps

    def counted_float(*args, **kwargs):
        calls["float"] += 1
        return real_float(*args, **kwargs)

    def counted_uint8(*args, **kwargs):
        calls["uint8"] += 1
        return real_uint8(*args, **kwargs)

    monkeypatch.setattr(AA, "aa_axis", counted_float)
    monkeypatch.setattr(AA, "aa_uint8_taps", counted_uint8)
    AA.clear_cache()
    yield calls
    AA.clear_cache()


def _image(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("device", devices())
def test_a_repeated_resize_builds_no_weights_and_gives_the_same_result(builds, device):
    x = mc.tensor(_image((2, 3, 17, 13)), requires_grad=True, device=device)
    first = interpolate(x, size=(7, 5), mode="bicubic", antialias=True)
    assert builds["float"] == 2  # one per axis
    second = interpolate(x, size=(7, 5), mode="bicubic", antialias=True)
    assert builds["float"] == 2
    assert second.device == x.device
    np.testing.assert_array_equal(first.cpu().numpy(), second.cpu().numpy())
    (first.sum() + (second * 2).sum()).backward()
    assert builds["float"] == 2  # backward uses the same weights
    xt = torch.tensor(x.detach().cpu().numpy(), requires_grad=True)
    yt = torch.nn.functional.interpolate(xt, size=(7, 5), mode="bicubic", antialias=True)
    (yt.sum() * 3).backward()
    np.testing.assert_allclose(first.detach().cpu().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


SETTINGS = [  # (input shape, keyword arguments of interpolate, dtype): each differs from another in one thing
    ((1, 2, 12, 10), dict(size=(5, 4), mode="bilinear"), np.float64),
    ((1, 2, 12, 10), dict(size=(5, 4), mode="bicubic"), np.float64),
    ((1, 2, 12, 10), dict(size=(5, 4), mode="lanczos"), np.float64),
    ((1, 2, 12, 10), dict(size=(5, 4), mode="bilinear"), np.float32),
    ((1, 2, 12, 10), dict(size=(4, 5), mode="bilinear"), np.float64),
    ((1, 2, 12, 10), dict(size=(5, 4), mode="bilinear", align_corners=True), np.float64),
    ((1, 2, 10, 12), dict(size=(5, 4), mode="bilinear"), np.float64),
    ((1, 2, 12, 10), dict(scale_factor=0.45, mode="bilinear"), np.float64),
    ((1, 2, 12, 10), dict(scale_factor=0.45, mode="bilinear", recompute_scale_factor=True), np.float64),
    ((1, 2, 12, 10), dict(scale_factor=0.5, mode="bilinear"), np.float64),
    ((1, 2, 12, 10), dict(size=(5, 4), mode="bilinear"), np.uint8),
    ((1, 2, 12, 10), dict(size=(5, 4), mode="bicubic"), np.uint8),
]


def _resize(shape, kwargs, dtype, seed):
    data = _image(shape, seed=seed)
    if dtype == np.uint8:
        data = np.random.default_rng(seed).integers(0, 256, shape)
    return interpolate(mc.tensor(data.astype(dtype)), antialias=True, **kwargs).numpy()


def test_different_settings_do_not_share_weights(builds):
    """Each setting resized alone (a fresh cache) and then all of them interleaved through one
    cache: the same results, bit for bit, and one build per distinct axis."""
    alone = []
    for i, (shape, kwargs, dtype) in enumerate(SETTINGS):
        AA.clear_cache()
        alone.append(_resize(shape, kwargs, dtype, seed=i))
    AA.clear_cache()
    builds.update(float=0, uint8=0)
    for _ in range(2):
        for i, (shape, kwargs, dtype) in reversed(list(enumerate(SETTINGS))):
            np.testing.assert_array_equal(_resize(shape, kwargs, dtype, seed=i), alone[i])
    # distinct axes (in, out, scale factor, align_corners, mode, dtype): two for each float setting,
    # but none for the (10, 12) input (its axes are those of size=(4, 5)) nor for
    # recompute_scale_factor (its axes are the first setting's: scale factor None)
    assert builds["float"] == 2 * 8
    assert builds["uint8"] == 4


def test_the_cache_is_bounded_and_drops_the_least_recently_used(builds, monkeypatch):
    monkeypatch.setattr(AA, "CACHE_SIZE", 3)
    x = mc.tensor(_image((1, 1, 9, 9)))

    def resize(n):  # the H axis changes (9 -> n), W is copied
        interpolate(x, size=(n, 9), mode="bilinear", antialias=True)

    for n in (2, 3, 4):
        resize(n)
    assert builds["float"] == 3
    resize(2)  # kept; now the most recent
    resize(5)  # drops 3, the least recently used
    assert builds["float"] == 4 and len(AA._cache) == 3
    resize(2)
    resize(4)
    assert builds["float"] == 4
    resize(3)
    assert builds["float"] == 5


def test_the_shared_weights_are_read_only(builds):
    matrix, (index, weight), (gindex, gweight) = AA.axis_weights(8, 3, None, False, "bicubic", np.float64, np.ones(1))
    for a in (matrix, index, weight, gindex, gweight):
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 0


# -- the engine's fast paths keep their checks ------------------------------------------------------
class _Boom(mc.autograd.Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        raise ArithmeticError("boom")


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_mode_inside_backward_and_restored_after_it(create_graph):
    x = mc.tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    y = x * 3
    y.register_hook(lambda g: seen.append(mc.is_grad_enabled()))
    (y * y).sum().backward(create_graph=create_graph)
    assert seen == [create_graph] and mc.is_grad_enabled()
    with mc.no_grad():
        z = x * 1
    assert not z.requires_grad
    with pytest.raises(ArithmeticError, match="boom"):
        _Boom.apply(x).sum().backward()
    assert mc.is_grad_enabled()  # put back although backward raised
    loss = _Boom.apply(x).sum()
    with mc.no_grad():
        with pytest.raises(ArithmeticError):
            loss.backward()
        assert not mc.is_grad_enabled()


def test_create_graph_given_as_a_number_records_a_graph():
    x = mc.tensor(np.array([0.5, -1.5]), requires_grad=True)
    (g,) = mc.autograd.grad((x**3).sum(), x, create_graph=1)
    assert g.requires_grad and g.grad_fn is not None
    (gg,) = mc.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy())


def test_in_place_writes_and_a_second_backward_still_raise():
    x = mc.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 1
    y = h.exp()  # keeps its output
    y += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    a = x * 1
    b = a * a  # keeps its inputs
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
    c = (x * x).sum()
    c.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        c.backward()
    w = x * 1
    v = w[0:1]
    w.mul_(3)  # recorded: v's graph is stale
    with pytest.raises(RuntimeError, match="computed before an in-place write"):
        v * 2


class _WrongShape(mc.autograd.Function):
    def forward(self, x):
        return x.sum()

    def backward(self, gy):
        return np.ones(3)


class _Wider(mc.autograd.Function):
    """Its backward hands back float64 for a float32 input: the pass casts it, as torch's engine."""

    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy.astype(np.float64) * 2


@pytest.mark.parametrize("hooked", [False, True])
def test_a_pass_with_and_without_hooks_agrees_with_torch(hooked):
    """A pass with no hooks takes the loop's plain branch; one hook (that changes nothing) puts it
    in torch's order with the hook step: the same gradients, torch's, either way."""
    x0 = np.random.default_rng(3).standard_normal((4, 6)).astype(np.float32)
    grads = []
    for lib in (mc, torch):
        x = lib.tensor(x0, requires_grad=True)
        w = lib.tensor(x0[::-1].copy(), requires_grad=True)
        y = (x * w + 0.5).relu()
        y.retain_grad()
        a, b = y.chunk(2, 1)  # two blocks of y's gradient (backward_part) meet
        z = (a.exp() * 0.5).sum() + (b * b).sum() + y[1:, 2].sum()
        if lib is mc:
            z = z + _Wider.apply(x).sum()
        else:
            z = z + (x * 2).sum()
        if hooked:
            y.register_hook(lambda g: None)
        z.backward()
        grads.append([x.grad.numpy(), w.grad.numpy(), y.grad.numpy()])
    for ours, theirs in zip(*grads):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    x = mc.tensor(np.zeros((2, 3)), requires_grad=True)
    if hooked:
        x.register_hook(lambda g: None)
    with pytest.raises(RuntimeError, match=r"_WrongShape.backward returned a gradient of shape \(3,\)"):
        _WrongShape.apply(x).backward()


def test_a_tensor_rewritten_in_place_stands_for_its_result_and_scalars_are_wrapped():
    x = mc.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = z = x * 2
    y += 1
    out = z * 3 + 1.5  # z is y now: (2x + 1) * 3 + 1.5
    np.testing.assert_array_equal(out.numpy(), (2 * x.numpy() + 1) * 3 + 1.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    assert mc.cat((y, y)).shape == (4,)
    assert mc.cat(t for t in (y, x)).shape == (4,)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(), (3,)])
def test_a_float_tensor_and_a_python_number_take_the_tensors_dtype_like_torch(dtype, shape):
    """The fast path for ``x * 2``, ``1 - x`` (ops.math._promote) gives torch's dtypes, values and
    gradients, on either side, for Python ints and floats (an int tensor takes the general rule:
    checked too)."""
    a = np.array([0.5, -2.0, 3.0], dtype)[: shape[0] if shape else 1].reshape(shape)
    ops = [lambda x, s: x + s, lambda x, s: s - x, lambda x, s: x * s, lambda x, s: s / x, lambda x, s: x**s]
    for scalar in (2, -3, 0.25):
        for op in ops:
            x, xt = mc.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
            y, yt = op(x, scalar), op(xt, scalar)
            assert str(y.dtype) == str(yt.dtype).removeprefix("torch.")
            np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-3)
            y.sum().backward()
            yt.sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-3)
    i, it = mc.tensor(np.array([1, 2], np.int32)), torch.tensor([1, 2], dtype=torch.int32)
    for scalar in (2, 0.5):
        assert str((i * scalar).dtype) == str((it * scalar).dtype).removeprefix("torch.")
    # a Python float beyond the dtype's range: inf, quietly (NumPy's cast used to warn). (float16:
    # torch multiplies in float32 and rounds the product, minicnn rounds the number first)
    big = 1e300 if dtype != "float16" else 1e6
    x, xt = mc.tensor(a), torch.tensor(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal((x * big).numpy(), (xt * big).numpy())
        for cmp in (lambda t: t == big, lambda t: t < big, lambda t: t != -big):
            np.testing.assert_array_equal(cmp(x).numpy(), cmp(xt).numpy())


def test_in_place_arithmetic_without_a_graph_makes_inf_and_nan_quietly_like_torch():
    """``x *= 1e300``, ``x.add_(np.float64(1e300))``, ``x /= 0``, ``x -= inf`` after ``x += inf``:
    the plain in-place path (nothing recorded) gives torch's values without NumPy's warnings."""
    writes = [
        lambda x: x.__imul__(1e300),
        lambda x: x.add_(np.float64(1e300)),
        lambda x: x.div_(0.0),
        lambda x: x.__ipow__(1e10),
        lambda x: (x.__iadd__(float("inf")), x.__isub__(float("inf"))),
    ]
    for write in writes:
        x, xt = mc.tensor([1.0, 0.0, -2.0]), torch.tensor([1.0, 0.0, -2.0])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            write(x)
        write(xt)
        np.testing.assert_array_equal(x.numpy(), xt.numpy())


@pytest.mark.parametrize("device", devices())
def test_tensors_on_two_devices_are_refused(device):
    a = mc.tensor(np.ones(2), device=device)
    b = mc.tensor(np.ones(2))
    if device == "cpu":
        assert (a + b).shape == (2,)
        return
    with pytest.raises(RuntimeError, match="expected all tensors on one device"):
        a + b


def test_leaf_gradients_are_fresh_tensors_that_share_no_memory():
    x = mc.tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = mc.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (x + w).sum().backward()  # Add hands one gradient to both
    assert type(x.grad) is mc.Tensor and not x.grad.requires_grad and x.grad.grad_fn is None
    assert not np.shares_memory(x.grad.array, w.grad.array)
    x.grad.array += 1  # the next pass adds to x's own memory
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_gradient_of_a_0d_leaf_is_a_writable_0d_array_like_torch(dtype):
    """0-d arithmetic gives NumPy scalars (``0-d * 0-d``); a leaf's ``.grad`` still holds a
    writable 0-d array, so in-place gradient edits work as torch's do."""
    x = mc.tensor(np.array(2.0, dtype), requires_grad=True)
    w = mc.tensor(np.array(3.0, dtype), requires_grad=True)
    (x * w).backward()
    xt, wt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True), torch.tensor(3.0, dtype=torch.float64)
    (xt * wt).backward()
    assert isinstance(x.grad.array, np.ndarray) and x.grad.shape == () and x.grad.dtype == dtype
    x.grad.mul_(2)
    xt.grad.mul_(2)
    w.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    (x * w).backward()  # accumulates into x's own memory
    np.testing.assert_array_equal(x.grad.numpy(), 9.0)
    assert w.grad.numpy() == 2.0


# -- modules and optimisers -------------------------------------------------------------------------
def test_forward_hooks_added_and_removed_after_calls_without_any():
    lin = mc.nn.Linear(2, 2)
    x = mc.tensor(np.ones((1, 2), np.float32))
    plain = lin(x).numpy()
    handle = lin.register_forward_hook(lambda m, args, out: out * 0)
    assert np.all(lin(x).numpy() == 0)
    handle.remove()
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    np.testing.assert_allclose(lin(x).numpy(), lin.forward(x * 2).numpy())
    pre.remove()
    np.testing.assert_array_equal(lin(x).numpy(), plain)


@pytest.mark.parametrize("dampening", [0.0, 0.25])
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_steps_equal_the_formula_bit_for_bit_and_torch(dampening, nesterov):
    if nesterov and dampening:
        return  # (torch refuses the combination)
    rng = np.random.default_rng(7)
    p0, grads = rng.standard_normal(5), [rng.standard_normal(5) for _ in range(4)]
    lr = mc.tensor(0.1, dtype=np.float64)  # a Tensor lr, changed in place between steps
    p = mc.tensor(p0.copy(), requires_grad=True)
    opt = mc.optim.SGD([p], lr=lr, momentum=0.9, dampening=dampening, weight_decay=0.01, nesterov=nesterov)
    pt = torch.tensor(p0.copy(), requires_grad=True)
    opt_t = torch.optim.SGD([pt], lr=0.1, momentum=0.9, dampening=dampening, weight_decay=0.01, nesterov=nesterov)
    want, buf = p0.copy(), None
    for i, g in enumerate(grads):
        rate = 0.1 / (i + 1)
        lr.fill_(rate)
        opt_t.param_groups[0]["lr"] = rate
        version = p._version
        p.grad, pt.grad = mc.tensor(g), torch.tensor(g)
        opt.step()
        opt_t.step()
        assert p._version == version + 1
        d = g + 0.01 * want
        buf = d.copy() if buf is None else buf * 0.9 + (1 - dampening) * d
        want = want - rate * (d + 0.9 * buf if nesterov else buf)
        np.testing.assert_array_equal(p.numpy(), want)
        np.testing.assert_allclose(p.numpy(), pt.detach().numpy(), rtol=1e-13, atol=1e-14)
    opt.zero_grad()
    assert p.grad is None


def test_optimizer_step_checks_and_skips():
    a = mc.tensor(np.ones(3), requires_grad=True)
    b = mc.tensor(np.ones(3), requires_grad=True)
    opt = mc.optim.SGD([a, b], lr=0.5)
    a.grad = mc.tensor(np.ones(3))
    opt.step()
    assert a._version == 1 and b._version == 0 and len(opt.state) == 0
    np.testing.assert_array_equal(a.numpy(), 0.5)
    a._grad = mc.tensor(np.ones(2))  # past the .grad setter's check (torch's): step has its own
    with pytest.raises(ValueError, match=r"shape \(3,\) has a gradient of shape \(2,\)"):
        opt.step()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    assert b.grad is None


@pytest.mark.parametrize("device", devices())
def test_scalars_uploaded_once_keep_the_sign_of_zero_and_nan(device):
    # a GPU caches each Python number's device array; 0.0 and -0.0 are equal keys, so -0.0
    # reused +0.0's array (x * -0.0 gave +0.0 where x > 0); NaN, never equal to itself, missed
    x, xt = mc.tensor([1.0, -2.0], device=device), torch.tensor([1.0, -2.0])
    for s in (0.0, -0.0, float("nan"), 0.0):
        np.testing.assert_array_equal(np.signbit((x * s).numpy()), np.signbit((xt * s).numpy()))
        np.testing.assert_array_equal((x + s).numpy(), (xt + s).numpy())
