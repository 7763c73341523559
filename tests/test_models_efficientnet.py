"""EfficientNet B0-B7 and V2 S/M/L against torchvision (the oracle).

- every constructor: parameter count (torchvision's published number), state-dict keys (in
  order) and shapes, every normalisation's eps and momentum, every block's stochastic-depth
  probability, the classifier's dropout (torchvision built on the ``meta`` device);
- B0 and V2-S, float64, on torchvision's weights with randomised batch norm: eval-mode
  logits, and in training mode (batch statistics; stochastic depth and dropout 0) the loss,
  the gradients of the input and of every parameter, and the running statistics after;
- stochastic depth in training with p > 0: torchvision's StochasticDepth replays our masks,
  and the loss and gradients agree (so each block drops where and as torchvision's does);
- odd and the smallest input sizes; ``mc.summary`` (B0, B3, V2-S: torchvision's
  multiply-adds); initialisation; errors; the GPU.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from conftest import (
    devices,
    gpu_step_equals_cpu,
    n_params,
    rel_err,
    skipped_init,
    torchvision_twin,
    training_step_like_torch,
)
from torchvision.models import efficientnet as tv_eff

import minicnn as mc
from minicnn.models import efficientnet as E
from minicnn.nn import functional as F

# --------------------------------------------------------------------------------------
# helpers


def eval_logits(ours: mc.nn.Module, tv: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ours.eval()
    tv.eval()
    with mc.no_grad(), torch.no_grad():
        return ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).numpy()


def tiny_setting(lib: Any) -> list:
    """A small net with all four kinds of block: MBConv at ratio 1 and 4 (with and without a
    residual), FusedMBConv at ratio 1 and 4, the 5x5 kernel; 8 blocks, 32x32 -> 4x4."""
    return [
        lib.FusedMBConvConfig(1, 3, 1, 16, 16, 2),
        lib.FusedMBConvConfig(4, 3, 2, 16, 24, 2),
        lib.MBConvConfig(1, 3, 1, 24, 24, 1),
        lib.MBConvConfig(4, 5, 2, 24, 32, 3, width_mult=1.0, depth_mult=1.0),
    ]


def tiny(lib: Any, **kwargs: Any) -> Any:
    return lib.EfficientNet(tiny_setting(lib), kwargs.pop("dropout", 0.0), num_classes=10, **kwargs)


# --------------------------------------------------------------------------------------
# every constructor: counts, keys, shapes, normalisations, drop rates

NAMES = ["efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
         "efficientnet_b5", "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_s", "efficientnet_v2_m",
         "efficientnet_v2_l"]  # fmt: skip
PUBLISHED = [5_288_548, 7_794_184, 9_109_994, 12_233_232, 19_341_616, 30_389_784, 43_040_704, 66_347_960,
             21_458_488, 54_139_356, 118_515_272]  # fmt: skip
RESOLUTION = [224, 240, 288, 300, 380, 456, 528, 600, 384, 480, 480]


@pytest.mark.parametrize("name, expected, resolution", zip(NAMES, PUBLISHED, RESOLUTION), ids=NAMES)
def test_constructor_equals_torchvision(name: str, expected: int, resolution: int) -> None:
    """Keys in order, shapes, count; each normalisation's eps and momentum (B0-B4 torch's
    defaults, B5-B7 1e-3 and 0.01, V2 eps 1e-3); each block's stochastic-depth probability
    (0.2 i / n for block i of n); the dropout; the evaluation crop."""
    with torch.device("meta"):
        tv = getattr(torchvision.models, name)()
    with skipped_init():
        ours = getattr(E, name)()
    assert n_params(tv) == expected  # torchvision's published number (its weights' meta)
    assert n_params(ours) == expected
    tv_sd, our_sd = tv.state_dict(), ours.state_dict()
    assert list(our_sd) == list(tv_sd)
    for k, v in tv_sd.items():
        assert our_sd[k].shape == tuple(v.shape), k
    our_bns = [m for m in ours.modules() if isinstance(m, mc.nn.BatchNorm2d)]
    tv_bns = [m for m in tv.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert [(m.eps, m.momentum) for m in our_bns] == [(m.eps, m.momentum) for m in tv_bns]
    eps = 1e-5 if name in NAMES[:5] else 1e-3
    assert all(m.eps == eps for m in our_bns)
    our_sd_p = [m.p for m in ours.modules() if isinstance(m, mc.nn.StochasticDepth)]
    tv_sd_p = [m.p for m in tv.modules() if isinstance(m, torchvision.ops.StochasticDepth)]
    n = len(our_sd_p)  # every block has one, used or not
    assert our_sd_p == tv_sd_p == [0.2 * i / n for i in range(n)]
    assert all(m.mode == "row" for m in ours.modules() if isinstance(m, mc.nn.StochasticDepth))
    assert ours.classifier[0].p == tv.classifier[0].p
    assert ours.input_size == (3, resolution, resolution)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("efficientnet_b0", {"num_classes": 7, "stochastic_depth_prob": 0.5, "dropout": 0.1}),
        ("efficientnet_b6", {"stochastic_depth_prob": 0.0}),
        ("efficientnet_v2_m", {"num_classes": 3, "stochastic_depth_prob": 0.3}),
    ],
    ids=["b0", "b6", "v2_m"],
)
def test_constructor_options_equal_torchvision(name: str, kwargs: dict) -> None:
    with torch.device("meta"):
        tv = getattr(torchvision.models, name)(**kwargs)
    with skipped_init():
        ours = getattr(E, name)(**kwargs)
    tv_sd, our_sd = tv.state_dict(), ours.state_dict()
    assert [(k, v.shape) for k, v in our_sd.items()] == [(k, tuple(v.shape)) for k, v in tv_sd.items()]
    our_sd_p = [m.p for m in ours.modules() if isinstance(m, mc.nn.StochasticDepth)]
    assert our_sd_p == [m.p for m in tv.modules() if isinstance(m, torchvision.ops.StochasticDepth)]
    assert ours.classifier[0].p == tv.classifier[0].p


def test_norm_layer_replaces_every_normalisation() -> None:
    """norm_layer builds every normalisation (torchvision's EfficientNet argument; the B5-B7
    builders there fix it, ours let it replace the variant's batch norm)."""
    with torch.device("meta"):
        tv = tv_eff.EfficientNet(
            tv_eff._efficientnet_conf("efficientnet_b0", width_mult=1.0, depth_mult=1.0)[0],
            0.2,
            norm_layer=lambda c: torch.nn.GroupNorm(8, c),
        )
    with skipped_init():
        ours = E.efficientnet_b0(norm_layer=lambda c: mc.nn.GroupNorm(8, c))
        b7 = E.efficientnet_b7(norm_layer=functools.partial(mc.nn.BatchNorm2d, eps=0.5))
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in tv.state_dict().items()
    ]
    assert not any(isinstance(m, mc.nn.BatchNorm2d) for m in ours.modules())
    assert {(m.eps, m.momentum) for m in b7.modules() if isinstance(m, mc.nn.BatchNorm2d)} == {(0.5, 0.1)}


# --------------------------------------------------------------------------------------
# forward and training-mode gradients equal torchvision's


@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_v2_s"])
def test_equals_torchvision(name: str) -> None:
    """float64, torchvision's weights: eval logits with the default stochastic depth and
    dropout (both off in eval); the training step with both 0 (no randomness). 64x64 input:
    at 32x32 the last stages see 1x1 maps, batch norm over 2 values per channel is
    ill-conditioned and float64 rounding grows to 1e-5 on both sides alike."""
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64))
    ours, tv = torchvision_twin(
        lambda: getattr(E, name)(num_classes=10), lambda: getattr(torchvision.models, name)(num_classes=10)
    )
    a, b = eval_logits(ours, tv, x)
    assert a.shape == b.shape == (2, 10)
    assert rel_err(a, b) < 1e-12
    ours.classifier[0].p = tv.classifier[0].p = 0.0
    for m in ours.modules():
        if isinstance(m, mc.nn.StochasticDepth):
            m.p = 0.0
    for m in tv.modules():
        if isinstance(m, torchvision.ops.StochasticDepth):
            m.p = 0.0
    training_step_like_torch(ours, tv, x, np.array([1, 7]))


def test_stochastic_depth_in_training_equals_torchvision() -> None:
    """stochastic_depth_prob 0.6 and dropout 0.5 in training: each of torchvision's
    StochasticDepth and Dropout modules replays the mask of ours of the same name (read off
    with forward hooks); loss, gradients and running statistics agree. The masks are one
    factor per sample, 0 or 1/(1-p) with the block's p, and both kinds are seen."""
    ours, tv = torchvision_twin(
        lambda: tiny(E, stochastic_depth_prob=0.6, dropout=0.5),
        lambda: tiny(tv_eff, stochastic_depth_prob=0.6, dropout=0.5),
    )
    kinds = (mc.nn.StochasticDepth, mc.nn.Dropout)
    ours_drops = {n: m for n, m in ours.named_modules() if isinstance(m, kinds)}
    tv_drops = {
        n: m for n, m in tv.named_modules() if isinstance(m, (torchvision.ops.StochasticDepth, torch.nn.Dropout))
    }
    assert list(ours_drops) == list(tv_drops) and len(ours_drops) == 9  # 8 blocks and the classifier
    masks: dict[str, np.ndarray] = {}
    inputs_seen: dict[str, np.ndarray] = {}

    def record(name: str) -> tuple[Any, Any]:
        def pre_hook(m: Any, inputs: tuple) -> None:  # a copy: Dropout(inplace=True) overwrites it
            inputs_seen[name] = inputs[0].numpy().copy()

        def hook(m: Any, inputs: tuple, out: Any) -> None:
            x, y, p = inputs_seen[name], out.numpy(), m.p
            ratio = y / x  # 0 or 1/(1-p) up to rounding: snapped to the exact values
            assert np.allclose(ratio, np.where(ratio > 0.5, 1.0 / (1.0 - p), 0.0), rtol=1e-12, atol=0), name
            masks[name] = np.where(ratio > 0.5, 1.0 / (1.0 - p), 0.0)

        return pre_hook, hook

    for name, m in ours_drops.items():
        pre_hook, hook = record(name)
        m.register_forward_pre_hook(pre_hook)
        m.register_forward_hook(hook)
        tv_drops[name].forward = lambda t, name=name: t * torch.from_numpy(masks[name])
    mc.manual_seed(5)
    x = np.random.default_rng(1).standard_normal((6, 3, 32, 32))
    training_step_like_torch(ours, tv, x, np.array([1, 7, 0, 3, 9, 2]))
    residual = [n for n, m in ours.named_modules() if isinstance(m, E.MBConv | E.FusedMBConv) and m.use_res_connect]
    assert sorted(masks) == sorted([f"{n}.stochastic_depth" for n in residual] + ["classifier.0"])
    seen = set()
    for name, mask in masks.items():
        p = ours_drops[name].p
        if name != "classifier.0":
            rows = mask.reshape(mask.shape[0], -1)
            assert np.all(rows == rows[:, :1]), name  # one factor per sample
        seen |= set(np.round(mask.ravel() * (1 - p), 12)) if p > 0 else set()
    assert seen == {0.0, 1.0}
    assert [m.p for m in ours_drops.values()] == pytest.approx([0.6 * i / 8 for i in range(8)] + [0.5])


def test_float32_training_step_and_state_dict_round_trip() -> None:
    """float32 (the default dtype): one training step on the same weights as torchvision's
    (stochastic depth and dropout 0) gives the loss, input and parameter gradients and running
    statistics to float32 rounding; the state dict goes back into torchvision's strict=True
    (num_batches_tracked an int64 count, as torch's) and gives the same eval logits."""
    torch.manual_seed(0)
    tv = tiny(tv_eff, stochastic_depth_prob=0.0)
    with skipped_init():
        ours = tiny(E, stochastic_depth_prob=0.0)
    ours.load_state_dict({k: v.numpy() for k, v in tv.state_dict().items()}, strict=True)
    x = np.random.default_rng(4).standard_normal((4, 3, 32, 32)).astype(np.float32)
    y = np.array([1, 7, 0, 3])
    ours.train()
    tv.train()
    xm = mc.tensor(x, requires_grad=True)
    loss = F.cross_entropy(ours(xm), mc.tensor(y))
    loss.backward()
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(tv(xt), torch.from_numpy(y))
    ref.backward()
    assert loss.dtype == np.float32 and xm.grad.dtype == np.float32
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    assert rel_err(xm.grad.numpy(), xt.grad.numpy()) < 1e-4
    tv_grads = {k: v.grad.numpy() for k, v in tv.named_parameters()}
    floor = 1e-4 * max(np.abs(g).max() for g in tv_grads.values())  # the gradient-0 biases (conftest)
    for name, p in ours.named_parameters():
        assert p.grad.dtype == np.float32, name
        assert np.abs(p.grad.numpy() - tv_grads[name]).max() / max(np.abs(tv_grads[name]).max(), floor) < 1e-3, name
    sd = ours.state_dict()
    assert sd["features.0.1.num_batches_tracked"].dtype == np.int64
    tv_sd = tv.state_dict()
    for name, v in sd.items():
        np.testing.assert_allclose(np.asarray(v), tv_sd[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    fresh = tiny(tv_eff, stochastic_depth_prob=0.0)
    assert not fresh.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in sd.items()}, strict=True)[0]
    assert fresh.state_dict()["features.0.1.num_batches_tracked"].item() == 1
    a, b = eval_logits(ours, fresh, x)
    assert a.dtype == np.float32 and rel_err(a, b) < 1e-5


def test_repr_as_torchvision() -> None:
    """The module tree prints exactly as torchvision's (Conv2dNormActivation blocks,
    SiLU(inplace=True), no extra Flatten module)."""
    with torch.device("meta"):
        tv = tiny(tv_eff, stochastic_depth_prob=0.3, dropout=0.2)
    with skipped_init():
        ours = tiny(E, stochastic_depth_prob=0.3, dropout=0.2)
    assert repr(ours) == repr(tv)


# --------------------------------------------------------------------------------------
# input sizes, summary, initialisation, errors


@pytest.mark.parametrize("lib_name", ["v1", "v2"])
def test_input_sizes_as_torchvision(lib_name: str) -> None:
    """Eval logits on odd inputs (33x35: odd maps through the strides) and on the smallest,
    1x1 (each stride-2 convolution with padding maps 1x1 to 1x1), equal torchvision's."""
    if lib_name == "v1":
        ours, tv = torchvision_twin(lambda: tiny(E), lambda: tiny(tv_eff))
    else:
        ours, tv = torchvision_twin(
            lambda: E.efficientnet_v2_s(num_classes=10), lambda: torchvision.models.efficientnet_v2_s(num_classes=10)
        )
    for h, w in [(33, 35), (1, 1)]:
        x = np.random.default_rng(h).standard_normal((1, 3, h, w))
        a, b = eval_logits(ours, tv, x)
        assert a.shape == b.shape == (1, 10) and rel_err(a, b) < 1e-10


@pytest.mark.parametrize("name, weights", [("b0", "B0"), ("b3", "B3"), ("v2_s", "V2_S")])
def test_summary_as_torchvision(name: str, weights: str) -> None:
    """``mc.summary`` at the native size: the parameters, and the multiply-adds torchvision's
    weights' meta lists ("_ops", its GFLOPS: B0 0.386, B3 1.827, V2-S 8.366)."""
    with skipped_init():
        net = getattr(E, f"efficientnet_{name}")()
    s = mc.summary(net, net.input_size, verbose=False)
    meta = getattr(torchvision.models, f"EfficientNet_{weights}_Weights").IMAGENET1K_V1.meta
    assert s.totals["params"] == meta["num_params"]
    assert s.totals["output_shape"] == (1, 1000)
    assert round(s.totals["multiply_adds"] / 1e9, 3) == meta["_ops"]


def test_initialisation_as_torchvision() -> None:
    """Conv: kaiming normal fan_out (std sqrt(2 / (C_out k^2))); batch norm 1, 0;
    linear uniform(+-1/sqrt(out_features)), bias 0."""
    mc.manual_seed(0)
    net = E.efficientnet_b0(num_classes=100)
    head = net.features[-1][0].weight.numpy()  # 1280 x 320 x 1 x 1
    assert head.std() == pytest.approx(np.sqrt(2 / 1280), rel=0.02) and abs(head.mean()) < 1e-3
    dw = net.features[6][0].block[1][0].weight.numpy()  # depthwise 5x5 on 672 maps
    _, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(dw.shape))
    assert fan_out == 672 * 25  # torch's fan_out ignores the groups
    assert dw.std() == pytest.approx(np.sqrt(2 / fan_out), rel=0.03)
    bn = net.features[3][1].block[0][1]
    assert np.all(bn.weight.numpy() == 1) and np.all(bn.bias.numpy() == 0)
    fc = net.classifier[1]
    bound = 1 / np.sqrt(100)
    w = fc.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    assert np.all(fc.bias.numpy() == 0)
    se = net.features[2][0].block[2]
    assert np.all(se.fc1.bias.numpy() == 0) and se.fc1.weight.shape == (4, 96, 1, 1)  # to 16 // 4 maps


def test_errors() -> None:
    with pytest.raises(ValueError, match="EfficientNet: the inverted_residual_setting should not be empty"):
        E.EfficientNet([], 0.2)
    with pytest.raises(TypeError, match=r"should be List\[MBConvConfig\].*got elements of type tuple"):
        E.EfficientNet([(1, 3, 1, 32, 16, 1)], 0.2)
    with pytest.raises(TypeError, match=r"should be List\[MBConvConfig\].*got int$"):  # not a sequence at all
        E.EfficientNet(5, 0.2)
    with pytest.raises(TypeError, match=r"should be List\[MBConvConfig\].*got generator$"):
        E.EfficientNet((c for c in tiny_setting(E)), 0.2)
    with pytest.raises(ValueError, match="MBConv: illegal stride value, expected 1 or 2, got 3"):
        E.EfficientNet([E.MBConvConfig(1, 3, 3, 32, 16, 1)], 0.2)
    with pytest.raises(ValueError, match="FusedMBConv: illegal stride value, expected 1 or 2, got 0"):
        E.EfficientNet([E.FusedMBConvConfig(1, 3, 0, 32, 16, 1)], 0.2)
    with pytest.raises(ValueError, match="unsupported model type efficientnet_v3"):
        E.efficientnet_config("efficientnet_v3")
    with torch.device("meta"), pytest.raises(ValueError, match="illegal stride value"):  # torchvision too
        tv_eff.EfficientNet([tv_eff.MBConvConfig(1, 3, 3, 32, 16, 1)], 0.2)


def test_config_scaling_as_torchvision() -> None:
    """Widths x width_mult to multiples of 8 (never 10 % below), repeats x depth_mult rounded up."""
    for arch, w, d in [("efficientnet_b3", 1.2, 1.4), ("efficientnet_b7", 2.0, 3.1), ("efficientnet_v2_l", 1, 1)]:
        ours, last = E.efficientnet_config(arch, w, d)
        kwargs = {"width_mult": w, "depth_mult": d} if "_b" in arch else {}
        theirs, tv_last = tv_eff._efficientnet_conf(arch, **kwargs)
        assert last == tv_last
        fields = ("expand_ratio", "kernel", "stride", "input_channels", "out_channels", "num_layers")
        assert [tuple(getattr(c, f) for f in fields) for c in ours] == [
            tuple(getattr(c, f) for f in fields) for c in theirs
        ]
        assert [c.block.__name__ for c in ours] == [c.block.__name__ for c in theirs]
        if "_b" in arch:  # the named variant's multipliers by default (not B0's table)
            assert E.efficientnet_config(arch) == (ours, last)
    assert E.efficientnet_config("efficientnet_b9", 3.0, 4.0)[0][-1].out_channels == 960
    with pytest.raises(ValueError, match="efficientnet_b9 needs width_mult and depth_mult"):
        E.efficientnet_config("efficientnet_b9")


# --------------------------------------------------------------------------------------
# the GPU computes what the CPU computes


@pytest.mark.slow
@pytest.mark.parametrize("device", devices()[1:])  # the "cuda" case only: the CPU is the reference
def test_on_the_gpu_equals_the_cpu(device: str) -> None:
    """Loss, input gradient and every parameter gradient of one training-mode step (batch norm
    on its running statistics, stochastic depth 0) with ``model.to(device)`` equal the CPU's."""
    gpu_step_equals_cpu(
        lambda: tiny(E, stochastic_depth_prob=0.0), device, (2, 3, 32, 32), eval_kinds=(mc.nn.BatchNorm2d,)
    )
