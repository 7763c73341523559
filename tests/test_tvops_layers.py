"""DropBlock2d/3d (minicnn.ops.drop_block, layers in minicnn.nn.vision_layers) and
FrozenBatchNorm2d against torchvision.ops 0.29.

DropBlock draws, so torchvision is the oracle where it is deterministic (the block mask made
from given seeds, eval mode, p = 0, errors, reprs) and in distribution (the dropped fraction);
each drawn output is checked against the definition: the dropped set is a union of whole
block_size^d cubes inside the map, the rest is scaled by numel / (eps + kept), and the gradient
is that same scaled mask."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
import torchvision.ops as tv
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn.vision_layers import DropBlock2d, DropBlock3d, FrozenBatchNorm2d
from minicnn.ops.drop_block import block_mask, drop_block2d, drop_block3d

DROP = {2: drop_block2d, 3: drop_block3d}
TV_DROP = {2: tv.drop_block2d, 3: tv.drop_block3d}


def positive(shape: tuple[int, ...], seed: int = 0, dtype: Any = np.float64) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(dtype)


def torch_block_mask(seeds: np.ndarray, bs: int) -> np.ndarray:
    """torchvision's construction: zero-pad by bs//2, max pool with a bs window, stride 1, padding bs//2."""
    d = seeds.ndim - 2
    pool = TF.max_pool2d if d == 2 else TF.max_pool3d
    padded = TF.pad(torch.from_numpy(seeds), [bs // 2] * (2 * d), value=0)
    return pool(padded, stride=1, kernel_size=bs, padding=bs // 2).numpy()


@settings(max_examples=25, deadline=None)
@given(
    d=st.sampled_from([2, 3]),
    bs=st.sampled_from([1, 3, 5]),
    extra=st.lists(st.integers(0, 4), min_size=3, max_size=3),
    seed=st.integers(0, 2**31 - 1),
)
def test_block_mask_matches_torchvisions_pad_and_max_pool(d: int, bs: int, extra: list, seed: int) -> None:
    shape = (2, 2) + tuple(e + 1 for e in extra[:d])  # the (S - bs + 1) seed positions
    seeds = (np.random.default_rng(seed).random(shape) < 0.2).astype(np.float64)
    np.testing.assert_array_equal(block_mask(seeds, bs), torch_block_mask(seeds, bs))


def opening_is_identity(dropped: np.ndarray, bs: int) -> bool:
    """A union of whole bs^d cubes inside the map is unchanged by erosion then dilation."""
    d = dropped.ndim - 2
    t = torch.from_numpy(dropped.astype(np.float64))
    pool = TF.max_pool2d if d == 2 else TF.max_pool3d
    eroded = -pool(-t, kernel_size=bs, stride=1)  # cubes fully inside (no padding: valid positions)
    return np.array_equal(block_mask(eroded.numpy(), bs), dropped.astype(np.float64))


@settings(max_examples=25, deadline=None)
@given(
    d=st.sampled_from([2, 3]),
    p=st.sampled_from([0.05, 0.2, 0.5, 1.0]),
    bs=st.sampled_from([1, 3, 5, 7]),
    size=st.integers(3, 9),
    seed=st.integers(0, 2**31 - 1),
)
def test_drawn_output_and_gradient_follow_the_definition(d: int, p: float, bs: int, size: int, seed: int) -> None:
    mc.manual_seed(seed)
    x0 = positive((2, 3) + (size,) * d, seed)
    x = mc.tensor(x0, requires_grad=True)
    if min(bs, size) % 2 == 0:  # the block is first cut to the map, then must be odd (torchvision's rule)
        with pytest.raises(ValueError, match="even"):
            DROP[d](x, p, bs)
        return
    y = DROP[d](x, p, bs)
    out = y.numpy()
    dropped = out == 0
    assert opening_is_identity(dropped, min(bs, size))
    kept = (~dropped).sum()
    scale = np.float64(out.size) / (1e-6 + np.float64(kept))
    np.testing.assert_allclose(out, x0 * ~dropped * scale, rtol=1e-12)
    (y * mc.tensor(x0)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x0 * ~dropped * scale, rtol=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_dropped_fraction_matches_torchvision_in_distribution(d: int) -> None:
    """The same gamma and construction: the dropped fraction over many blocks agrees."""
    shape = (16, 8) + (12,) * d if d == 2 else (8, 4) + (10,) * d
    x = np.ones(shape, dtype=np.float32)
    mc.manual_seed(0)
    torch.manual_seed(0)
    for p, bs in ((0.1, 3), (0.3, 5)):
        ours = np.mean([(DROP[d](mc.tensor(x), p, bs).numpy() == 0).mean() for _ in range(4)])
        theirs = np.mean([(TV_DROP[d](torch.from_numpy(x), p, bs).numpy() == 0).mean() for _ in range(4)])
        assert abs(ours - theirs) < 0.03, (p, bs, ours, theirs)


@pytest.mark.parametrize("d", [2, 3])
def test_identity_cases_and_a_certain_drop_as_torchvision(d: int) -> None:
    x0 = positive((2, 2) + (5,) * d)
    x, t = mc.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    assert DROP[d](x, 0.0, 3) is x and TV_DROP[d](t, 0.0, 3) is t
    assert DROP[d](x, 0.5, 3, training=False) is x and TV_DROP[d](t, 0.5, 3, training=False) is t
    layer = (DropBlock2d if d == 2 else DropBlock3d)(0.5, 3).eval()
    assert layer(x) is x
    # p = 1 with one block covering the map: gamma = 1, everything dropped (deterministic)
    np.testing.assert_array_equal(DROP[d](x, 1.0, 5).numpy(), TV_DROP[d](t, 1.0, 5).detach().numpy())
    assert not DROP[d](x, 1.0, 7).numpy().any()


def test_inplace_writes_the_input() -> None:
    mc.manual_seed(1)
    x = mc.tensor(positive((2, 3, 6, 6)))
    y = drop_block2d(x, 0.4, 3, inplace=True)
    assert y is x and (x.numpy() == 0).any()


def test_gradcheck_and_gradgradcheck_with_a_fixed_mask() -> None:
    def fn(t: mc.Tensor) -> mc.Tensor:
        mc.manual_seed(3)  # the same blocks at every evaluation
        return drop_block2d(t, 0.3, 3) ** 2

    x = mc.tensor(positive((1, 2, 5, 5)), requires_grad=True)
    assert (fn(x).numpy() == 0).any()
    assert mc.gradcheck(fn, [x])
    assert mc.gradgradcheck(fn, [mc.tensor(positive((1, 1, 4, 4)), requires_grad=True)])


@pytest.mark.parametrize("device", devices())
def test_drop_block_on_device(device: str) -> None:
    mc.manual_seed(4)
    x0 = positive((2, 3, 7, 7))
    x = mc.tensor(x0, requires_grad=True, device=device)
    y = drop_block2d(x, 0.3, 3)
    assert y.device == x.device
    out = y.numpy()
    assert opening_is_identity(out == 0, 3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out / x0, rtol=1e-12)


def test_drop_block_errors_and_reprs_as_torchvision() -> None:
    x = mc.ones(1, 1, 4, 4)
    with pytest.raises(ValueError, match="drop_block2d: drop probability has to be between 0 and 1, but got 1.5"):
        drop_block2d(x, 1.5, 3)
    with pytest.raises(ValueError, match="drop_block3d: input should be 5 dimensional. Got 4 dimensions."):
        drop_block3d(x, 0.1, 3)
    with pytest.raises(ValueError, match="block size should be odd. Got 2 which is even."):
        drop_block2d(x, 0.1, 2)
    with pytest.raises(ValueError, match="even"):  # block_size is first cut to the map: min(5, 4) = 4
        drop_block2d(x, 0.1, 5)
    with pytest.raises(ValueError, match="drop_block2d: block size should be a positive odd number, got -1"):
        drop_block2d(x, 0.1, -1)  # torchvision: a RuntimeError from pad
    for ours, theirs in (
        (DropBlock2d(0.1, 3), tv.DropBlock2d(0.1, 3)),
        (DropBlock3d(0.2, 5, True), tv.DropBlock3d(0.2, 5, True)),
    ):
        assert repr(ours) == repr(theirs)
        assert (ours.p, ours.block_size, ours.inplace, ours.eps) == (
            theirs.p,
            theirs.block_size,
            theirs.inplace,
            theirs.eps,
        )


# -- FrozenBatchNorm2d -----------------------------------------------------------------------------
def frozen_pair(c: int, eps: float, seed: int) -> tuple[FrozenBatchNorm2d, Any]:
    rng = np.random.default_rng(seed)
    state = {
        "weight": rng.standard_normal(c),
        "bias": rng.standard_normal(c),
        "running_mean": rng.standard_normal(c),
        "running_var": rng.uniform(0.2, 2.0, c),
    }
    ours, theirs = FrozenBatchNorm2d(c, eps), tv.FrozenBatchNorm2d(c, eps)
    ours.load_state_dict({k: v.astype(np.float32) for k, v in state.items()})
    theirs.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in state.items()})
    return ours, theirs


@settings(max_examples=20, deadline=None)
@given(
    c=st.integers(1, 4), eps=st.sampled_from([1e-5, 1e-3, 0.1]), hw=st.integers(1, 4), seed=st.integers(0, 2**31 - 1)
)
def test_frozen_batch_norm_matches_torchvision(c: int, eps: float, hw: int, seed: int) -> None:
    ours, theirs = frozen_pair(c, eps, seed)
    x = np.random.default_rng(seed + 1).standard_normal((2, c, hw, hw + 1))
    compare_with_torch(ours, theirs, [x], dtype=np.float32)


def test_frozen_batch_norm_double_precision_gradients() -> None:
    ours, theirs = frozen_pair(3, 1e-5, 0)
    ours.double()
    theirs.double()
    x = np.random.default_rng(1).standard_normal((2, 3, 2, 2))
    compare_with_torch(ours, theirs, [x])
    double_backward_like_torch(ours, theirs, [x])
    assert mc.gradcheck(ours, [mc.tensor(x, requires_grad=True)])
    assert mc.gradgradcheck(lambda t: ours(t) ** 2, [mc.tensor(x[:1, :, :1], requires_grad=True)])


@pytest.mark.parametrize("device", devices())
def test_frozen_batch_norm_on_device(device: str) -> None:
    ours, theirs = frozen_pair(3, 1e-5, 2)
    ours.to(device)
    compare_with_torch(
        ours, theirs, [np.random.default_rng(3).standard_normal((2, 3, 2, 3))], dtype=np.float32, device=device
    )


def test_frozen_batch_norm_buffers_state_dict_and_repr_as_torchvision() -> None:
    """All four are buffers (no parameters); a BatchNorm2d state dict, num_batches_tracked
    included, loads strictly (torchvision drops that key)."""
    ours, theirs = FrozenBatchNorm2d(5, eps=1e-3), tv.FrozenBatchNorm2d(5, eps=1e-3)
    assert repr(ours) == repr(theirs) == "FrozenBatchNorm2d(5, eps=0.001)"
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert not list(ours.parameters())
    for name, t in ours.state_dict().items():
        np.testing.assert_array_equal(np.asarray(t), theirs.state_dict()[name].numpy())
    bn = torch.nn.BatchNorm2d(5)
    bn.running_mean.uniform_(-1, 1)
    state = bn.state_dict()
    assert "num_batches_tracked" in state
    theirs.load_state_dict(state)
    ours.load_state_dict({k: v.numpy() for k, v in state.items()})
    np.testing.assert_array_equal(ours.running_mean.numpy(), theirs.running_mean.numpy())
    with pytest.raises(RuntimeError, match="Missing key"):
        ours.load_state_dict({"weight": np.ones(5)})
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 5, H, W\), got shape \(2, 4, 3, 3\)"):
        ours(mc.ones(2, 4, 3, 3))
