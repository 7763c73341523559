"""ConvNeXt against torchvision (the oracle).

- convnext_tiny/small/base/large: parameter count, state-dict keys (in order) and shapes, the
  stages and every block's stochastic depth probability equal torchvision's;
- convnext_tiny, float64, on torchvision's weights with randomised layer scales and layer norms
  (the default layer scale 1e-6 would hide the blocks): eval logits, and in training mode with
  stochastic_depth_prob=0 the loss and the gradients of the input and of every parameter;
- a small ConvNeXt in training with stochastic depth: torchvision replays our masks, the same
  loss and gradients; ``norm_layer`` and ``block``; second derivatives through a block;
- ``mc.summary``; the errors; a small model on the GPU (or the fake CuPy) against the CPU.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from conftest import (
    check_gradients_like_torch,
    devices,
    gpu_step_equals_cpu,
    n_params,
    rel_err,
    skipped_init,
    torchvision_twin,
)
from conftest import check_parity as conftest_check_parity
from torchvision.models import convnext as tv_convnext

import minicnn as mc
from minicnn.models import convnext
from minicnn.nn import functional as F

NAMES = ["convnext_tiny", "convnext_small", "convnext_base", "convnext_large"]
# torchvision's published parameter counts (its weights' meta)
EXPECTED_PARAMS = {"convnext_tiny": 28_589_128, "convnext_small": 50_223_688, "convnext_base": 88_591_464,
                   "convnext_large": 197_767_336}  # fmt: skip


def randomise(model: torch.nn.Module, seed: int) -> None:
    """float64; layer scales in [0.5, 1.5) (instead of 1e-6, which would hide every block), the
    layer norms' weights and biases away from 1 and 0, the biases of convolutions and linear
    layers away from 0."""
    g = torch.Generator().manual_seed(seed)
    model.double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_scale"):
                p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) + 0.5)
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g, dtype=torch.float64) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g, dtype=torch.float64) - 0.5)
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.bias.copy_(0.1 * torch.rand(m.bias.shape, generator=g, dtype=torch.float64) - 0.05)


def twin(build: Any, tv_build: Any, seed: int = 0) -> tuple[mc.nn.Module, torch.nn.Module]:
    """(ours, torchvision's) with torchvision's (randomised) weights, float64."""
    ours, tv = torchvision_twin(build, tv_build, seed, randomise=randomise)
    assert all(v.dtype == np.float64 for v in ours.state_dict().values())
    return ours, tv


def check_gradients(ours: mc.nn.Module, tv: torch.nn.Module, xm: mc.Tensor, xt: torch.Tensor, tol: float) -> None:
    """Input gradient and every parameter gradient (relative to the largest of each, with a
    floor of a millionth of the largest gradient anywhere), parameter names as torch's."""
    check_gradients_like_torch(ours, tv, xm, xt, tol, same_names=True)


def check_parity(ours: mc.nn.Module, tv: torch.nn.Module, size: int, seed: int = 0, tol: float = 1e-9) -> float:
    """Eval logits, then a training-mode forward + cross-entropy + backward (no stochastic
    depth): loss, input and parameter gradients. float64 on both sides. Returns the eval
    logits' relative difference."""
    return conftest_check_parity(ours, tv, size, seed, grad_tol=tol, same_names=True)


def small_setting(lib: Any) -> list[Any]:
    """Two stages of two blocks (widths 8 and 16): every kind of layer, at a small cost."""
    return [lib.CNBlockConfig(8, 16, 2), lib.CNBlockConfig(16, None, 2)]


# --------------------------------------------------------------------------------------
# every constructor: counts, keys, shapes, stages, drop probabilities


@pytest.mark.parametrize("name", NAMES)
def test_counts_keys_shapes_and_drop_probabilities_equal_torchvision(name: str) -> None:
    with torch.device("meta"):
        tv = getattr(torchvision.models, name)()
    with skipped_init():
        ours = getattr(convnext, name)()
    assert n_params(tv) == EXPECTED_PARAMS[name]
    assert n_params(ours) == n_params(tv)
    tv_sd, our_sd = tv.state_dict(), ours.state_dict()
    assert list(our_sd) == list(tv_sd)  # same keys in the same order
    for k, v in tv_sd.items():
        assert our_sd[k].shape == tuple(v.shape), k
    # the default stochastic depth probability of each size and its linear growth with depth
    ps = [m.p for m in ours.modules() if isinstance(m, mc.nn.StochasticDepth)]
    tv_ps = [m.p for m in tv.modules() if isinstance(m, torchvision.ops.StochasticDepth)]
    assert ps == tv_ps and ps[0] == 0.0 and ps[-1] == convnext.CONVNEXT_SETTINGS[name.split("_")[1]][2]
    assert all(m.mode == "row" for m in ours.modules() if isinstance(m, mc.nn.StochasticDepth))


def test_config_and_num_classes_equal_torchvision() -> None:
    """The stage lists print as torchvision's (its CNBlockConfig repr); num_classes, layer_scale
    and stochastic_depth_prob reach the head and the blocks."""
    stages = {"tiny": [3, 3, 9, 3], "small": [3, 3, 27, 3], "base": [3, 3, 27, 3], "large": [3, 3, 27, 3]}
    widths = {"tiny": 96, "small": 96, "base": 128, "large": 192}
    for size, depths in stages.items():
        c = widths[size]
        expected = [tv_convnext.CNBlockConfig(c * 2**i, c * 2 ** (i + 1) if i < 3 else None, n)
                    for i, n in enumerate(depths)]  # fmt: skip
        assert repr(convnext.convnext_config(size)) == repr(expected)
    with torch.device("meta"):
        tv = torchvision.models.convnext_tiny(num_classes=7, layer_scale=0.5, stochastic_depth_prob=0.3)
    with skipped_init():
        ours = convnext.convnext_tiny(num_classes=7, layer_scale=0.5, stochastic_depth_prob=0.3)
    assert ours.classifier[2].weight.shape == tuple(tv.classifier[2].weight.shape) == (7, 768)
    assert np.all(ours.features[1][0].layer_scale.numpy() == np.float32(0.5))
    assert [m.p for m in ours.modules() if isinstance(m, mc.nn.StochasticDepth)] == [
        m.p for m in tv.modules() if isinstance(m, torchvision.ops.StochasticDepth)
    ]


# --------------------------------------------------------------------------------------
# forward and training-mode gradients equal torchvision's


def test_convnext_tiny_equals_torchvision() -> None:
    """The whole convnext_tiny on torchvision's weights, float64, 2x3x64x64 (the last stage at
    2x2, so every tap of the 7x7 kernels that sees the map gets a gradient)."""
    ours, tv = twin(
        lambda: convnext.convnext_tiny(num_classes=10, stochastic_depth_prob=0.0),
        lambda: torchvision.models.convnext_tiny(num_classes=10, stochastic_depth_prob=0.0),
    )
    check_parity(ours, tv, 64)
    s = mc.summary(ours, (3, 32, 32), verbose=False)
    assert s.totals["params"] == n_params(tv)
    assert s.totals["output_shape"] == (1, 10)
    assert s.totals["multiply_adds"] > 0
    # a block with a parameter of its own (layer_scale) keeps what its inner ops carried: 1 stem + 18 blocks x
    # (dw conv, 2 linears) + 3 downsampling convs + the classifier; RF 4 + 3*6*4 + 4 + 3*6*8 + 8 + 9*6*16 + 16 + 3*6*32
    assert s.totals["depth"] == 59
    assert s.totals["receptive_field"] == (1688, 1688)


@pytest.mark.parametrize("size", [32, 45])
def test_small_convnext_equals_torchvision(size: int) -> None:
    """A two-stage ConvNeXt through the class: 32x32 and an odd 45x45 (the stem and the
    downsampling round down)."""
    ours, tv = twin(
        lambda: convnext.ConvNeXt(small_setting(convnext), num_classes=10),
        lambda: tv_convnext.ConvNeXt(small_setting(tv_convnext), num_classes=10),
    )
    check_parity(ours, tv, size, seed=size)


def test_stochastic_depth_in_training_equals_torchvision() -> None:
    """Training with stochastic_depth_prob 0.9 (blocks drop with 0, 0.3, 0.6, 0.9): each of
    torchvision's StochasticDepth layers replays the mask ours drew; loss and gradients agree."""
    ours, tv = twin(
        lambda: convnext.ConvNeXt(small_setting(convnext), stochastic_depth_prob=0.9, num_classes=10),
        lambda: tv_convnext.ConvNeXt(small_setting(tv_convnext), stochastic_depth_prob=0.9, num_classes=10),
    )
    masks: list[np.ndarray] = []

    def record(m: Any, inputs: Any, out: Any) -> None:
        x, y = inputs[0].numpy(), out.numpy()
        assert np.all(x != 0)
        ratio = (y / x).reshape(len(x), -1)
        assert np.allclose(ratio, ratio[:, :1], rtol=1e-12)  # one factor per sample
        kept = ratio[:, 0] > 0.5
        assert np.allclose(ratio[kept, 0], 1 / (1 - m.p), rtol=1e-12) and np.all(ratio[~kept, 0] == 0)
        masks.append(np.where(kept, 1 / (1 - m.p), 0.0).reshape(-1, 1, 1, 1))

    ours_sd = [m for m in ours.modules() if isinstance(m, mc.nn.StochasticDepth)]
    for m in ours_sd:
        m.register_forward_hook(record)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3, 32, 32))
    y = np.array([1, 7, 0, 3, 9, 2])
    ours.train()
    tv.train()
    mc.manual_seed(0)
    xm = mc.tensor(x, requires_grad=True)
    loss = F.cross_entropy(ours(xm), mc.tensor(y))
    loss.backward()
    assert len(masks) == 4
    assert np.all(masks[0] == 1.0)  # p = 0: the first block never drops
    assert any(np.any(mk == 0) for mk in masks) and any(np.any(mk > 1) for mk in masks)  # dropped and kept
    tv_sd = [m for m in tv.modules() if isinstance(m, torchvision.ops.StochasticDepth)]
    assert [m.p for m in tv_sd] == [m.p for m in ours_sd] == pytest.approx([0.0, 0.3, 0.6, 0.9])
    for m, mask in zip(tv_sd, masks):
        m.forward = functools.partial(lambda t, mk: t * torch.from_numpy(mk), mk=mask)
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(tv(xt), torch.from_numpy(y))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-10)
    check_gradients(ours, tv, xm, xt, 1e-9)


def test_norm_layer_and_block_equal_torchvision() -> None:
    """norm_layer builds the stem's, the downsampling layers' and the head's normalisation (not
    the blocks'); block is called as block(dim, layer_scale, sd_prob)."""
    calls: list[tuple[int, float, float]] = []

    def block(lib: Any) -> Any:
        def make(dim: int, layer_scale: float, sd_prob: float) -> Any:
            if lib is convnext:
                calls.append((dim, layer_scale, sd_prob))
            return lib.CNBlock(dim, layer_scale, sd_prob, norm_layer=functools.partial(lib_nn(lib).LayerNorm, eps=1e-3))

        return make

    def lib_nn(lib: Any) -> Any:
        return mc.nn if lib is convnext else torch.nn

    def norm_layer(lib: Any) -> Any:
        return functools.partial(lib.LayerNorm2d, eps=1e-4)

    def build(lib: Any) -> Any:
        return lib.ConvNeXt(small_setting(lib), 0.2, 0.3, 10, block=block(lib), norm_layer=norm_layer(lib))

    ours, tv = twin(lambda: build(convnext), lambda: build(tv_convnext))
    assert [c[:2] for c in calls] == [(8, 0.3), (8, 0.3), (16, 0.3), (16, 0.3)]
    assert [c[2] for c in calls] == pytest.approx([0.0, 0.2 / 3, 0.4 / 3, 0.2])
    eps = [m.eps for m in ours.modules() if isinstance(m, mc.nn.LayerNorm)]
    assert eps == [m.eps for m in tv.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert sorted(set(eps)) == [1e-4, 1e-3]
    assert isinstance(ours.features[2][0], convnext.LayerNorm2d) and ours.features[2][0].eps == 1e-4
    for m in ours.modules():
        if isinstance(m, mc.nn.StochasticDepth):
            m.p = 0.0
    for m in tv.modules():
        if isinstance(m, torchvision.ops.StochasticDepth):
            m.p = 0.0
    check_parity(ours, tv, 32)


def test_initialisation_as_torchvision() -> None:
    """Conv2d and Linear weights: truncated normal, std 0.02; biases 0; layer norms 1 and 0;
    layer scales 1e-6."""
    mc.manual_seed(0)
    net = convnext.ConvNeXt([convnext.CNBlockConfig(32, 64, 1), convnext.CNBlockConfig(64, None, 1)])
    weights = [m.weight.numpy().ravel() for m in net.modules() if isinstance(m, (mc.nn.Conv2d, mc.nn.Linear))]
    w = np.concatenate(weights)
    assert w.size > 100_000 and abs(w.std() - 0.02) < 0.001 and np.abs(w).max() <= 2.0
    for m in net.modules():
        if isinstance(m, (mc.nn.Conv2d, mc.nn.Linear)):
            assert np.all(m.bias.numpy() == 0)
        if isinstance(m, mc.nn.LayerNorm):
            assert np.all(m.weight.numpy() == 1) and np.all(m.bias.numpy() == 0)
    assert np.all(net.features[1][0].layer_scale.numpy() == np.float32(1e-6))
    assert net.features[1][0].layer_scale.dtype == np.float32


def test_block_second_derivatives() -> None:
    """gradcheck and gradgradcheck (float64) through one block with layer scale 1: the graph
    forms of the depthwise conv, permute, layer norm, linear and GELU."""
    mc.manual_seed(0)
    block = convnext.CNBlock(3, 1.0, 0.0).to(np.float64)
    x = mc.tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 4)), requires_grad=True)
    assert mc.gradcheck(block, [x])
    assert mc.gradgradcheck(block, [x])


def test_layer_norm_2d_equals_torchvision() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 3, 4))
    w, b = rng.standard_normal(5) + 1, rng.standard_normal(5)
    ours, tv = convnext.LayerNorm2d(5, eps=1e-6).to(np.float64), tv_convnext.LayerNorm2d(5, eps=1e-6).double()
    ours.load_state_dict({"weight": w, "bias": b})
    tv.load_state_dict({"weight": torch.from_numpy(w), "bias": torch.from_numpy(b)})
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = rng.standard_normal(x.shape)
    (ours(xm) * mc.tensor(g)).sum().backward()
    (tv(xt) * torch.from_numpy(g)).sum().backward()
    assert rel_err(xm.grad.numpy(), xt.grad.numpy()) < 1e-12
    assert rel_err(ours.weight.grad.numpy(), tv.weight.grad.numpy()) < 1e-12
    with mc.no_grad(), torch.no_grad():
        assert rel_err(ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).numpy()) < 1e-12


# --------------------------------------------------------------------------------------
# arguments and errors


def test_signatures_as_torchvision() -> None:
    """ConvNeXt, CNBlock, CNBlockConfig and LayerNorm2d take torchvision's parameters in its
    order with its defaults (ConvNeXt without the **kwargs torchvision ignores); each
    constructor takes the keyword arguments that matter, with its size's default drop."""
    for ours, theirs in [(convnext.ConvNeXt, tv_convnext.ConvNeXt), (convnext.CNBlock, tv_convnext.CNBlock),
                         (convnext.CNBlockConfig, tv_convnext.CNBlockConfig),
                         (convnext.LayerNorm2d, tv_convnext.LayerNorm2d)]:  # fmt: skip
        a = inspect.signature(ours).parameters
        b = {k: v for k, v in inspect.signature(theirs).parameters.items() if v.kind != v.VAR_KEYWORD}
        assert list(a) == list(b), ours.__name__
        assert all(a[k].default == b[k].default for k in b), ours.__name__
    for name in NAMES:
        p = inspect.signature(getattr(convnext, name)).parameters
        assert list(p) == ["num_classes", "stochastic_depth_prob", "layer_scale", "block", "norm_layer"]
        assert p["stochastic_depth_prob"].default == convnext.CONVNEXT_SETTINGS[name.split("_")[1]][2]
        assert p["num_classes"].default == 1000 and p["layer_scale"].default == 1e-6


def test_errors() -> None:
    for lib in (tv_convnext, convnext):
        with pytest.raises(ValueError, match="The block_setting should not be empty"):
            lib.ConvNeXt([])
        with pytest.raises(TypeError, match=r"The block_setting should be List\[CNBlockConfig\]"):
            lib.ConvNeXt([(8, None, 1)])
    with pytest.raises(ValueError, match="size must be one of tiny, small, base, large, got 'huge'"):
        convnext.convnext_config("huge")
    with pytest.raises(ValueError, match=r"LayerNorm2d\(5\): expected input \(N, 5, H, W\), got shape \(2, 5\)"):
        convnext.LayerNorm2d(5)(mc.zeros(2, 5))
    with pytest.raises(ValueError, match=r"LayerNorm2d\(5\): expected input \(N, 5, H, W\), got shape \(2, 4, 3, 3\)"):
        convnext.LayerNorm2d(5)(mc.zeros(2, 4, 3, 3))
    one = convnext.ConvNeXt([convnext.CNBlockConfig(8, None, 1)], stochastic_depth_prob=0.5, num_classes=3)
    assert one.features[1][0].stochastic_depth.p == 0.0  # torchvision divides by zero here
    with mc.no_grad():
        assert one(mc.randn(1, 3, 8, 8)).shape == (1, 3)


def test_repr_as_torchvision() -> None:
    """The model prints exactly as torchvision's (the stem a Conv2dNormActivation, Permute()
    without its dims)."""
    ours = repr(convnext.ConvNeXt(small_setting(convnext), 0.2, num_classes=10))
    theirs = repr(tv_convnext.ConvNeXt(small_setting(tv_convnext), 0.2, num_classes=10))
    assert ours == theirs


# --------------------------------------------------------------------------------------
# the GPU computes what the CPU computes


@pytest.mark.slow
@pytest.mark.parametrize("device", devices()[1:])  # the "cuda" case only: the CPU is the reference
def test_small_convnext_on_the_gpu_equals_the_cpu(device: str) -> None:
    """Loss, input gradient and every parameter gradient of a training step (float32, layer
    scale 1, no stochastic depth) with ``model.to(device)`` equal the CPU's."""

    def build() -> convnext.ConvNeXt:
        return convnext.ConvNeXt(small_setting(convnext), layer_scale=1.0, num_classes=10)

    gpu_step_equals_cpu(build, device, (2, 3, 32, 32))
