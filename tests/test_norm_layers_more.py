"""Layer, group and instance norm; one_hot, pixel (un)shuffle, channel shuffle, Unflatten and
the constant 2-d pads, against torch (the other pads: test_pad.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.backend import to_numpy
from minicnn.nn.layernorm import GroupNorm, InstanceNorm2d, LayerNorm
from minicnn.nn.padding import ConstantPad2d, ZeroPad2d
from minicnn.nn.shape_layers import ChannelShuffle, PixelShuffle, PixelUnshuffle, Unflatten
from minicnn.ops.groupnorm import group_norm, instance_norm, layer_norm
from minicnn.ops.one_hot import one_hot
from minicnn.ops.pixel import channel_shuffle, pixel_shuffle, pixel_unshuffle, unflatten

SETTINGS = settings(max_examples=20, deadline=None)
TOL32 = dict(rtol=1e-4, atol=1e-5)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _state_like_torch(m, t, rtol: float = 1e-12) -> None:
    """Same state-dict keys (in order), shapes, dtypes and values as torch's module."""
    ms, ts = m.state_dict(), t.state_dict()
    assert list(ms) == list(ts)
    for k in ts:
        assert tuple(ms[k].shape) == tuple(ts[k].shape), k
        assert np.dtype(ms[k].dtype) == np.dtype(str(ts[k].dtype).replace("torch.", "")), k
        np.testing.assert_allclose(to_numpy(ms[k]), ts[k].numpy(), rtol=rtol, atol=rtol * 1e-2, err_msg=k)


# -- layer norm ----------------------------------------------------------------------------------
@SETTINGS
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    norm=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    affine=st.sampled_from(["both", "weight", "bias", "none"]),
    eps=st.sampled_from([1e-5, 1e-3, 0.5]),
    seed=st.integers(0, 2**16),
)
def test_layer_norm_matches_torch(lead, norm, affine, eps, seed):
    rng = _rng(seed)
    shape = tuple(norm)
    x = rng.standard_normal(tuple(lead) + shape) * 3 + 1
    w, b = rng.standard_normal(shape), rng.standard_normal(shape)
    use_w, use_b = affine in ("both", "weight"), affine in ("both", "bias")

    def call(f, x, w, b):
        return f(x, shape, weight=w if use_w else None, bias=b if use_b else None, eps=eps)

    compare_with_torch(
        lambda x, w, b: call(layer_norm, x, w, b), lambda x, w, b: call(TF.layer_norm, x, w, b), [x, w, b], seed=seed
    )


def test_layer_norm_gradcheck():
    rng = _rng(1)
    x = mc.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert mc.gradcheck(lambda x, w, b: layer_norm(x, (3, 4), w, b, eps=1e-3), [x, w, b])
    assert mc.gradcheck(lambda x: layer_norm(x, [4]), [x])


def test_layer_norm_errors():
    x = mc.tensor(np.zeros((2, 6, 3, 4)))
    with pytest.raises(ValueError, match=r"layer_norm.*normalized_shape=\(3, 5\).*\(2, 6, 3, 4\)"):
        layer_norm(x, (3, 5))
    with pytest.raises(ValueError, match=r"weight of shape \(4,\).*got \(3,\)"):
        layer_norm(x, (4,), weight=mc.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="at least one dimension"):
        layer_norm(x, ())
    with pytest.raises(TypeError, match="floating point"):
        layer_norm(mc.tensor(np.zeros((2, 3), dtype=np.int64)), (3,))
    with pytest.raises(ValueError, match=r"LayerNorm\(\(5,\)\)"):
        LayerNorm(5)(x)


# -- group norm ----------------------------------------------------------------------------------
@SETTINGS
@given(
    n=st.integers(1, 3),
    groups_and_per=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    spatial=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    affine=st.sampled_from(["both", "weight", "bias", "none"]),
    seed=st.integers(0, 2**16),
)
def test_group_norm_matches_torch(n, groups_and_per, spatial, affine, seed):
    G, per = groups_and_per
    C = G * per
    if n * per * int(np.prod(spatial)) == 1:
        spatial = [2]  # torch refuses one value per group with N = 1 (tested in test_group_norm_errors)
    rng = _rng(seed)
    x = rng.standard_normal((n, C, *spatial)) * 2 - 0.5
    w, b = rng.standard_normal(C), rng.standard_normal(C)
    use_w, use_b = affine in ("both", "weight"), affine in ("both", "bias")

    def call(f, x, w, b):
        return f(x, num_groups=G, weight=w if use_w else None, bias=b if use_b else None, eps=1e-4)

    compare_with_torch(
        lambda x, w, b: call(group_norm, x, w, b), lambda x, w, b: call(TF.group_norm, x, w, b), [x, w, b], seed=seed
    )


def test_group_norm_gradcheck():
    rng = _rng(2)
    x = mc.tensor(rng.standard_normal((2, 6, 2, 3)), requires_grad=True)
    w = mc.tensor(rng.standard_normal(6), requires_grad=True)
    b = mc.tensor(rng.standard_normal(6), requires_grad=True)
    assert mc.gradcheck(lambda x, w, b: group_norm(x, 3, w, b), [x, w, b])


def test_group_norm_errors():
    x = mc.tensor(np.zeros((2, 6, 3)))
    with pytest.raises(ValueError, match=r"group_norm.*divisible.*\(2, 6, 3\).*num_groups=4"):
        group_norm(x, 4)
    with pytest.raises(ValueError, match=r"weight of shape \(5,\).*expected \(6,\)"):
        group_norm(x, 3, weight=mc.tensor(np.ones(5)))
    with pytest.raises(ValueError, match=r"\(N, C, \*\)"):
        group_norm(mc.tensor(np.zeros(6)), 3)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 2\)"):
        group_norm(mc.tensor(np.zeros((1, 2))), 2)  # torch refuses N * C/G * H * W == 1 too
    with pytest.raises(ValueError, match="divisible"):
        GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4\).*\(N, 4, \*\)"):
        GroupNorm(2, 4)(x)


def test_norm_shape_errors_are_torchs_runtime_error():
    """A misfit input or weight: torch's layer_norm, rms_norm and group_norm raise RuntimeError (minicnn's
    ShapeError, a ValueError too)."""
    x = np.zeros((2, 6, 3), np.float32)
    calls = [
        lambda L, t: L.nn.functional.layer_norm(t, (4,)),
        lambda L, t: L.nn.functional.layer_norm(t, (3,), weight=L.ones(2)),
        lambda L, t: L.nn.functional.rms_norm(t, (4,)),
        lambda L, t: L.nn.functional.rms_norm(t, (3,), weight=L.ones(2)),
        lambda L, t: L.nn.functional.group_norm(t, 4),
        lambda L, t: L.nn.functional.group_norm(t[0, 0], 3),
        lambda L, t: L.nn.functional.group_norm(t, 3, weight=L.ones(5)),
        lambda L, t: L.nn.LayerNorm(4)(t),
        lambda L, t: L.nn.GroupNorm(2, 4)(t),
    ]
    for call in calls:
        with pytest.raises(RuntimeError):
            call(torch, torch.tensor(x))
        with pytest.raises(RuntimeError):
            call(mc, mc.tensor(x))


def test_group_norm_without_affine_ignores_num_channels_like_torch():
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    expected = tnn.GroupNorm(2, 6, affine=False)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(GroupNorm(2, 6, affine=False)(mc.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)


# -- instance norm -------------------------------------------------------------------------------
@SETTINGS
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 4),
    spatial=st.sampled_from([(5,), (2, 3), (3, 1), (2, 2, 2)]),
    affine=st.booleans(),
    running=st.booleans(),
    momentum=st.sampled_from([0.1, 0.5, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_instance_norm_matches_torch(n, c, spatial, affine, running, momentum, seed):
    rng = _rng(seed)
    x = rng.standard_normal((n, c, *spatial)) * 2 + 1
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    m_stats = (mc.tensor(rm), mc.tensor(rv)) if running else (None, None)
    t_stats = (torch.tensor(rm), torch.tensor(rv)) if running else (None, None)

    def call(f, stats, x, w, b):
        return f(x, *stats, weight=w if affine else None, bias=b if affine else None, momentum=momentum, eps=1e-4)

    compare_with_torch(
        lambda x, w, b: call(instance_norm, m_stats, x, w, b),
        lambda x, w, b: call(TF.instance_norm, t_stats, x, w, b),
        [x, w, b],
        seed=seed,
    )
    if running:  # updated in place by the forward, as torch's
        for m, t in zip(m_stats, t_stats):
            np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_instance_norm_running_stats_normalise_without_input_stats(n, c, seed):
    rng = _rng(seed)
    x = rng.standard_normal((n, c, 3, 2))
    rm, rv, w, b = rng.standard_normal(c), rng.uniform(0.5, 2.0, c), rng.standard_normal(c), rng.standard_normal(c)
    compare_with_torch(
        lambda x, w, b: instance_norm(x, mc.tensor(rm), mc.tensor(rv), w, b, use_input_stats=False),
        lambda x, w, b: TF.instance_norm(x, torch.tensor(rm), torch.tensor(rv), w, b, use_input_stats=False),
        [x, w, b],
        seed=seed,
    )


def test_instance_norm_gradcheck():
    rng = _rng(3)
    x = mc.tensor(rng.standard_normal((2, 3, 2, 3)), requires_grad=True)
    w = mc.tensor(rng.standard_normal(3), requires_grad=True)
    b = mc.tensor(rng.standard_normal(3), requires_grad=True)
    assert mc.gradcheck(lambda x, w, b: instance_norm(x, weight=w, bias=b), [x, w, b])


def test_instance_norm_errors():
    with pytest.raises(ValueError, match=r"more than 1 spatial element.*\(2, 3, 1, 1\)"):
        instance_norm(mc.tensor(np.zeros((2, 3, 1, 1))))
    with pytest.raises(ValueError, match="use_input_stats"):
        instance_norm(mc.tensor(np.zeros((2, 3, 4))), use_input_stats=False)
    with pytest.raises(ValueError, match="both be None"):
        instance_norm(mc.tensor(np.zeros((2, 3, 4))), running_mean=mc.tensor(np.zeros(3)))
    with pytest.raises(ValueError, match=r"weight of shape \(2,\).*expected \(3,\)"):
        instance_norm(mc.tensor(np.zeros((2, 3, 4))), weight=mc.tensor(np.ones(2)))
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(3\).*\(N, C, H, W\)"):
        InstanceNorm2d(3)(mc.tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(3\).*num_features"):
        InstanceNorm2d(3, affine=True)(mc.tensor(np.zeros((2, 4, 3, 3))))
    with pytest.warns(UserWarning, match="num_features"):
        InstanceNorm2d(3)(mc.tensor(np.random.default_rng(0).standard_normal((2, 4, 3, 3))))


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm2d_train_eval_with_running_stats(momentum, affine):
    """Training normalises with the input's statistics and updates the running ones; evaluation
    normalises with the running ones; num_batches_tracked stays 0, as in torch."""
    rng = _rng(4)
    m = InstanceNorm2d(3, momentum=momentum, affine=affine, track_running_stats=True, dtype=np.float64)
    t = tnn.InstanceNorm2d(3, momentum=momentum, affine=affine, track_running_stats=True, dtype=torch.float64)
    if affine:
        w, b = rng.standard_normal(3), rng.standard_normal(3)
        m.weight.array[...], m.bias.array[...] = w, b
        with torch.no_grad():
            t.weight.copy_(torch.tensor(w))
            t.bias.copy_(torch.tensor(b))
    for step in range(3):
        x = rng.standard_normal((2, 3, 4, 5)) * (step + 1) + step
        np.testing.assert_allclose(m(mc.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    _state_like_torch(m, t)
    assert int(m.num_batches_tracked.item()) == 0
    m.eval()
    t.eval()
    x = rng.standard_normal((2, 3, 4, 5))
    compare_with_torch(m, t, [x])
    x3 = rng.standard_normal((3, 4, 5))  # no batch dim
    compare_with_torch(m, t, [x3])
    m.train()
    t.train()
    compare_with_torch(m, t, [x3])
    _state_like_torch(m, t)


@pytest.mark.parametrize("track", [False, True])
def test_instance_norm2d_untracked_uses_input_stats_in_eval(track):
    rng = _rng(5)
    m, t = InstanceNorm2d(2, track_running_stats=track), tnn.InstanceNorm2d(2, track_running_stats=track)
    m.eval()
    t.eval()
    x = rng.standard_normal((2, 2, 3, 3)) * 3 + 2
    compare_with_torch(m, t, [x], dtype=np.float32, **TOL32)
    _state_like_torch(m, t)


# -- modules: construction, state dict, init, repr ------------------------------------------------
NORM_MODULES = [
    ("LayerNorm", (4,), {}),
    ("LayerNorm", ((3, 4),), dict(eps=1e-3)),
    ("LayerNorm", ([2, 5],), dict(elementwise_affine=False)),
    ("LayerNorm", (6,), dict(bias=False)),
    ("GroupNorm", (2, 6), {}),
    ("GroupNorm", (3, 6), dict(eps=0.1, affine=False)),
    ("GroupNorm", (1, 4), dict(bias=False)),
    ("InstanceNorm2d", (3,), {}),
    ("InstanceNorm2d", (3,), dict(affine=True)),
    ("InstanceNorm2d", (3,), dict(affine=True, bias=False, momentum=None)),
    ("InstanceNorm2d", (4,), dict(eps=1e-3, momentum=0.3, track_running_stats=True)),
    ("InstanceNorm2d", (4,), dict(affine=True, track_running_stats=True)),
]
MC_NORM = {"LayerNorm": LayerNorm, "GroupNorm": GroupNorm, "InstanceNorm2d": InstanceNorm2d}


@pytest.mark.parametrize(("name", "args", "kwargs"), NORM_MODULES)
def test_norm_module_state_init_repr(name, args, kwargs):
    m, t = MC_NORM[name](*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(m) == repr(t)
    _state_like_torch(m, t)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    for p in m.parameters():
        p.array[...] = 7
    m.reset_parameters()
    _state_like_torch(m, t)


@pytest.mark.parametrize("device", devices())
def test_norm_modules_on_device(device):
    """float32 forward and backward of the three modules on the device, against torch."""
    rng = _rng(6)
    x = rng.standard_normal((2, 4, 3, 5))
    for m, t in (
        (LayerNorm((3, 5), device=device), tnn.LayerNorm((3, 5))),
        (GroupNorm(2, 4, device=device), tnn.GroupNorm(2, 4)),
        (
            InstanceNorm2d(4, affine=True, track_running_stats=True, device=device),
            tnn.InstanceNorm2d(4, affine=True, track_running_stats=True),
        ),
    ):
        for p in m.parameters():
            assert p.device.startswith(device)
        w = rng.standard_normal(tuple(m.weight.shape)).astype(np.float32)
        m.weight.array[...] = mc.tensor(w, device=device).array
        with torch.no_grad():
            t.weight.copy_(torch.tensor(w))
        compare_with_torch(m, t, [x], dtype=np.float32, device=device, **TOL32)
        g = rng.standard_normal(x.shape).astype(np.float32)
        xm, xt = mc.tensor(x.astype(np.float32), device=device), torch.tensor(x.astype(np.float32))
        (m(xm) * mc.tensor(g, device=device)).sum().backward()
        (t(xt) * torch.tensor(g)).sum().backward()
        for (n, p), (_, q) in zip(m.named_parameters(), t.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **TOL32, err_msg=n)
        _state_like_torch(m.to("cpu"), t, rtol=1e-5)


def test_layer_norm_module_gradcheck():
    rng = _rng(7)
    m = LayerNorm(4, dtype=np.float64)
    m.weight.array[...] = rng.standard_normal(4)
    m.bias.array[...] = rng.standard_normal(4)
    x = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert mc.gradcheck(m, [x])


# -- one_hot -------------------------------------------------------------------------------------
@SETTINGS
@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),
    k=st.integers(1, 6),
    extra=st.sampled_from([None, 0, 2]),
    seed=st.integers(0, 2**16),
)
def test_one_hot_matches_torch(shape, k, extra, seed):
    idx = _rng(seed).integers(0, k, size=tuple(shape))
    if extra is None and idx.size == 0:
        idx = np.array([k - 1])
    n = -1 if extra is None else k + extra
    out = one_hot(mc.tensor(idx), num_classes=n)
    expected = TF.one_hot(torch.tensor(idx), num_classes=n)
    assert out.dtype == np.int64
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_one_hot_errors_like_torch():
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        one_hot(mc.tensor(np.array([1, 2])), 2)
    with pytest.raises(RuntimeError, match="non-negative"):
        one_hot(mc.tensor(np.array([-1, 2])), 4)
    with pytest.raises(RuntimeError, match="LongTensor"):
        one_hot(mc.tensor(np.array([1.0, 2.0])))
    with pytest.raises(RuntimeError, match="LongTensor.*int32"):
        one_hot(mc.tensor(np.array([1, 2], dtype=np.int32)), 3)
    with pytest.raises(RuntimeError, match="empty tensor"):
        one_hot(mc.tensor(np.zeros(0, dtype=np.int64)))
    with pytest.raises(TypeError, match="num_classes"):
        one_hot(mc.tensor(np.array([1])), None)
    with pytest.raises(TypeError, match="once"):
        one_hot(mc.tensor(np.array([1])), input=mc.tensor(np.array([1])))
    assert one_hot(mc.tensor(np.zeros((0, 2), dtype=np.int64)), 3).shape == (0, 2, 3)
    np.testing.assert_array_equal(one_hot(mc.tensor(np.array(2)), 3).numpy(), [0, 0, 1])


@pytest.mark.parametrize("device", devices())
def test_one_hot_on_device(device):
    idx = np.array([[0, 3], [2, 2]])
    out = one_hot(mc.tensor(idx, device=device))
    assert out.device.startswith(device)
    np.testing.assert_array_equal(out.numpy(), TF.one_hot(torch.tensor(idx)).numpy())


def test_one_hot_keywords():
    """torch's builtin takes the indices by keyword as ``input`` (its docs say ``tensor``)."""
    idx = np.array([[0, 3], [2, 1]])
    expected = TF.one_hot(input=torch.tensor(idx), num_classes=5).numpy()
    np.testing.assert_array_equal(one_hot(input=mc.tensor(idx), num_classes=5).numpy(), expected)
    np.testing.assert_array_equal(one_hot(tensor=mc.tensor(idx), num_classes=5).numpy(), expected)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("layer_norm", dict(normalized_shape=(4, 6), weight=(4, 6), bias=(4, 6), eps=1e-3)),
        ("group_norm", dict(num_groups=2, weight=(4,), bias=(4,), eps=1e-3)),
        (
            "instance_norm",
            dict(running_mean=(4,), running_var=(4,), weight=(4,), bias=(4,), use_input_stats=True, momentum=0.2),
        ),
        ("pixel_shuffle", dict(upscale_factor=2)),
        ("pixel_unshuffle", dict(downscale_factor=2)),
        ("channel_shuffle", dict(groups=2)),
    ],
)
def test_functional_keyword_calls_like_torch(name, kwargs):
    """Every argument by torch's keyword (tuples in ``kwargs`` become random arrays)."""
    rng = _rng(11)
    x = rng.standard_normal((2, 4, 4, 6))
    arrays = {
        k: np.abs(rng.standard_normal(v)) + 0.5
        for k, v in kwargs.items()
        if k != "normalized_shape" and isinstance(v, tuple)
    }
    ours_fn = {"layer_norm": layer_norm, "group_norm": group_norm, "instance_norm": instance_norm}.get(name) or {
        "pixel_shuffle": pixel_shuffle,
        "pixel_unshuffle": pixel_unshuffle,
        "channel_shuffle": channel_shuffle,
    }[name]
    ours = ours_fn(input=mc.tensor(x), **{k: mc.tensor(arrays[k]) if k in arrays else v for k, v in kwargs.items()})
    theirs = getattr(TF, name)(
        input=torch.tensor(x), **{k: torch.tensor(arrays[k]) if k in arrays else v for k, v in kwargs.items()}
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


# -- pixel shuffle, channel shuffle, unflatten ----------------------------------------------------
@SETTINGS
@given(
    batch=st.lists(st.integers(1, 2), min_size=0, max_size=2),
    c=st.integers(1, 3),
    r=st.integers(1, 3),
    hw=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    seed=st.integers(0, 2**16),
)
def test_pixel_shuffle_and_unshuffle_match_torch(batch, c, r, hw, seed):
    rng = _rng(seed)
    x = rng.standard_normal((*batch, c * r * r, *hw))
    compare_with_torch(
        lambda t: pixel_shuffle(t, upscale_factor=r), lambda t: TF.pixel_shuffle(t, upscale_factor=r), [x], seed=seed
    )
    y = rng.standard_normal((*batch, c, hw[0] * r, hw[1] * r))
    compare_with_torch(
        lambda t: pixel_unshuffle(t, downscale_factor=r),
        lambda t: TF.pixel_unshuffle(t, downscale_factor=r),
        [y],
        seed=seed,
    )
    back = pixel_unshuffle(pixel_shuffle(mc.tensor(x), r), r)
    np.testing.assert_array_equal(back.numpy(), x)


def test_pixel_shuffle_empty_batch():
    """Forward only: torch's own backward refuses an empty batch."""
    x = np.zeros((0, 8, 2, 3))
    assert pixel_shuffle(mc.tensor(x), 2).shape == tuple(TF.pixel_shuffle(torch.tensor(x), 2).shape)
    y = np.zeros((0, 2, 4, 6))
    # torch 2.x returns an empty input of pixel_unshuffle unchanged, (0, 2, 4, 6); the shape rule
    # (*, C, H*r, W*r) -> (*, C*r^2, H, W) that torch applies to every non-empty input gives:
    assert pixel_unshuffle(mc.tensor(y), 2).shape == (0, 8, 2, 3)
    assert TF.pixel_unshuffle(torch.tensor(np.zeros((1, 2, 4, 6))), 2).shape == (1, 8, 2, 3)
    g = mc.tensor(x, requires_grad=True)
    pixel_shuffle(g, 2).sum().backward()
    assert g.grad.shape == x.shape


@SETTINGS
@given(
    n=st.integers(0, 2),
    groups_and_per=st.tuples(st.integers(1, 4), st.integers(1, 3)),
    rest=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    seed=st.integers(0, 2**16),
)
def test_channel_shuffle_matches_torch(n, groups_and_per, rest, seed):
    g, per = groups_and_per
    x = _rng(seed).standard_normal((n, g * per, *rest))
    compare_with_torch(
        lambda t: channel_shuffle(t, groups=g), lambda t: TF.channel_shuffle(t, groups=g), [x], seed=seed
    )
    compare_with_torch(ChannelShuffle(g), tnn.ChannelShuffle(g), [x], seed=seed)


@pytest.mark.parametrize("groups", [2, 3])
@pytest.mark.parametrize("device", devices())
def test_channel_shuffle_on_each_device(device, groups):
    x = _rng(0).standard_normal((2, 6, 2, 3)).astype(np.float32)
    compare_with_torch(
        lambda t: channel_shuffle(t, groups),
        lambda t: TF.channel_shuffle(t, groups),
        [x],
        device=device,
        dtype=np.float32,
    )


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_channel_shuffle_is_one_node_with_a_new_output_and_gradchecks(groups):
    x = _rng(groups).standard_normal((2, 6, 2, 3))
    a, t = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = channel_shuffle(a, groups), TF.channel_shuffle(t, groups)
    assert y.grad_fn.name() == ty.grad_fn.name() == "ChannelShuffleBackward0"
    # torch's output never shares the input's memory, even where the shuffle is the identity
    assert not np.shares_memory(y.detach().numpy(), x) and ty.data_ptr() != t.data_ptr()
    assert mc.gradcheck(lambda v: channel_shuffle(v, groups), [mc.tensor(x, requires_grad=True)])
    # no channels: torch's forward gives the empty tensor (its backward raises, shuffling with 0 groups);
    # minicnn's backward gives the empty gradient
    e = mc.tensor(np.zeros((2, 0, 3)), requires_grad=True)
    y0 = channel_shuffle(e, groups)
    assert y0.shape == tuple(TF.channel_shuffle(torch.zeros((2, 0, 3)), groups).shape)
    y0.sum().backward()
    assert e.grad.shape == (2, 0, 3)


@SETTINGS
@given(
    shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_unflatten_matches_torch(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    a = data.draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
    sizes = data.draw(st.sampled_from([(a, n // a), (a, -1), (-1, a), (n,), (1, n, 1), [a, 1, n // a]]))
    x = _rng(seed).standard_normal(shape)
    compare_with_torch(Unflatten(dim, sizes), tnn.Unflatten(dim, sizes), [x], seed=seed)


def test_pixel_ops_gradcheck():
    rng = _rng(8)
    x = mc.tensor(rng.standard_normal((2, 8, 2, 3)), requires_grad=True)
    assert mc.gradcheck(lambda t: pixel_shuffle(t, 2) * 1.5, [x])
    assert mc.gradcheck(
        lambda t: pixel_unshuffle(t, 2) * 1.5, [mc.tensor(rng.standard_normal((2, 2, 4, 6)), requires_grad=True)]
    )
    assert mc.gradcheck(lambda t: channel_shuffle(t, 4) * 1.5, [x])
    assert mc.gradcheck(lambda t: unflatten(t, 1, (2, -1)) * 1.5, [x])


def test_pixel_ops_errors_like_torch():
    x = mc.tensor(np.zeros((2, 7, 3, 3)))
    with pytest.raises(RuntimeError, match=r"divisible by the square.*size\(-3\)=7 is not divisible by 4"):
        pixel_shuffle(x, 2)
    with pytest.raises(RuntimeError, match="at least 3 dimensions"):
        pixel_shuffle(mc.tensor(np.zeros((3, 3))), 2)
    with pytest.raises(RuntimeError, match="positive upscale_factor"):
        pixel_shuffle(x, 0)
    with pytest.raises(TypeError, match="must be int"):
        pixel_shuffle(x, 2.0)
    with pytest.raises(RuntimeError, match=r"height to be divisible.*size\(-2\)=3"):
        pixel_unshuffle(x, 2)
    with pytest.raises(RuntimeError, match=r"width to be divisible.*size\(-1\)=5"):
        pixel_unshuffle(mc.tensor(np.zeros((1, 4, 5))), 2)
    with pytest.raises(RuntimeError, match="Got 7 channels and 2 groups"):
        channel_shuffle(x, 2)
    with pytest.raises(RuntimeError, match="> 2 dims"):
        channel_shuffle(mc.tensor(np.zeros((2, 6))), 3)
    with pytest.raises(RuntimeError, match="must be positive"):
        channel_shuffle(x, 0)
    with pytest.raises(RuntimeError, match=r"sizes \[2, 2\] don't multiply up to the size of dim 1 \(7\)"):
        unflatten(x, 1, (2, 2))
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        unflatten(x, 1, (-1, -1))
    with pytest.raises(RuntimeError, match="non-empty"):
        unflatten(x, 1, ())
    with pytest.raises(IndexError, match="out of range"):
        unflatten(x, 4, (1,))
    with pytest.raises(TypeError, match="tuple of ints"):
        Unflatten(1, 5)
    with pytest.raises(TypeError, match="element of type float at pos 1"):
        Unflatten(1, (2, 3.0))


# -- pads ----------------------------------------------------------------------------------------
@SETTINGS
@given(
    shape=st.lists(st.integers(2, 4), min_size=2, max_size=4),
    padding=st.one_of(st.integers(0, 2), st.tuples(*[st.integers(-1, 2)] * 4), st.tuples(*[st.integers(0, 2)] * 2)),
    value=st.sampled_from([0.0, 1.5, -2]),
    seed=st.integers(0, 2**16),
)
def test_pads_match_torch(shape, padding, value, seed):
    x = _rng(seed).standard_normal(shape)
    compare_with_torch(ConstantPad2d(padding, value), tnn.ConstantPad2d(padding, value), [x], seed=seed)
    compare_with_torch(ZeroPad2d(padding=padding), tnn.ZeroPad2d(padding=padding), [x], seed=seed)


def test_pad_gradcheck():
    x = mc.tensor(_rng(9).standard_normal((2, 3, 4)), requires_grad=True)
    assert mc.gradcheck(ConstantPad2d((1, -1, 2, 0), 3.0), [x])


# -- shape modules: construction, attributes, repr -----------------------------------------------
SHAPE_MODULES = [
    ("PixelShuffle", (3,), {}),
    ("PixelShuffle", (), dict(upscale_factor=2)),
    ("PixelUnshuffle", (2,), {}),
    ("PixelUnshuffle", (), dict(downscale_factor=4)),
    ("ChannelShuffle", (2,), {}),
    ("ChannelShuffle", (), dict(groups=3)),
    ("Unflatten", (1, (2, 3)), {}),
    ("Unflatten", (), dict(dim=-1, unflattened_size=[2, -1])),
    ("ZeroPad2d", (1,), {}),
    ("ZeroPad2d", ((1, 2, 3, 4),), {}),
    ("ZeroPad2d", (), dict(padding=[1, 2])),
    ("ConstantPad2d", (2, 3.5), {}),
    ("ConstantPad2d", (), dict(padding=(1, 2, 0, 1), value=2)),
]
MC_SHAPE = {
    "PixelShuffle": PixelShuffle,
    "PixelUnshuffle": PixelUnshuffle,
    "ChannelShuffle": ChannelShuffle,
    "Unflatten": Unflatten,
    "ZeroPad2d": ZeroPad2d,
    "ConstantPad2d": ConstantPad2d,
}


@pytest.mark.parametrize(("name", "args", "kwargs"), SHAPE_MODULES)
def test_shape_module_attributes_and_repr(name, args, kwargs):
    m, t = MC_SHAPE[name](*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(m) == repr(t)
    assert m.state_dict() == {} and len(t.state_dict()) == 0
    for attr in ("upscale_factor", "downscale_factor", "groups", "dim", "unflattened_size", "padding", "value"):
        if hasattr(t, attr):
            assert getattr(m, attr) == getattr(t, attr), attr
            assert type(getattr(m, attr)) is type(getattr(t, attr)), attr


@pytest.mark.parametrize("device", devices())
def test_shape_layers_on_device(device):
    x = _rng(10).standard_normal((2, 8, 3, 4))
    for m, t in (
        (PixelShuffle(2), tnn.PixelShuffle(2)),
        (PixelUnshuffle(1), tnn.PixelUnshuffle(1)),
        (ChannelShuffle(4), tnn.ChannelShuffle(4)),
        (Unflatten(1, (2, 4)), tnn.Unflatten(1, (2, 4))),
        (ZeroPad2d((1, 0, 2, -1)), tnn.ZeroPad2d((1, 0, 2, -1))),
        (ConstantPad2d(1, -0.5), tnn.ConstantPad2d(1, -0.5)),
    ):
        compare_with_torch(m, t, [x], dtype=np.float32, device=device, rtol=0, atol=0)
