"""ResNeXt, Wide ResNet, SqueezeNet, DenseNet, ShuffleNet v2 and MobileNet v3 against
torchvision (the oracle).

- every constructor: parameter count, state-dict keys (in order) and shapes equal
  torchvision's (torchvision built on the ``meta`` device: no memory, no init);
- the smallest model of each family, float64, on torchvision's weights with randomised batch
  norm: eval-mode logits, and in training mode (batch statistics) the loss, the gradients of
  the input and of every parameter, and the updated running statistics;
- ``mc.summary`` on each of them; the constructors' errors;
- a small model of each family on the GPU (or the fake CuPy) against the CPU.
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
    check_parity,
    devices,
    gpu_step_equals_cpu,
    n_params,
    rel_err,
    skipped_init,
    torchvision_twin,
)

import minicnn as mc
from minicnn import models as M
from minicnn.models import densenet, mobilenet, resnet, shufflenet, squeezenet
from minicnn.nn import functional as F
from minicnn.utils.checkpoint import checkpoint

# --------------------------------------------------------------------------------------
# helpers


def twin(build: Any, tv_build: Any, seed: int = 0) -> tuple[mc.nn.Module, torch.nn.Module]:
    """(ours, torchvision's) with torchvision's weights (batch norm randomised), float64."""
    ours, tv = torchvision_twin(build, tv_build, seed)
    assert all(v.dtype == np.float64 for k, v in ours.state_dict().items() if "num_batches" not in k)
    return ours, tv


def check_summary(model: mc.nn.Module, expected_params: int, size: int) -> None:
    s = mc.summary(model, (3, size, size), verbose=False)
    assert s.totals["params"] == expected_params
    assert s.totals["output_shape"] == (1, 10)
    assert s.totals["multiply_adds"] > 0


# --------------------------------------------------------------------------------------
# every constructor: counts, keys, shapes

CONSTRUCTORS = [
    ("resnext50_32x4d", {}, 25_028_904),
    ("resnext101_32x8d", {}, 88_791_336),
    ("resnext101_64x4d", {}, 83_455_272),
    ("wide_resnet50_2", {}, 68_883_240),
    ("wide_resnet101_2", {}, 126_886_696),
    ("squeezenet1_0", {}, 1_248_424),
    ("squeezenet1_1", {}, 1_235_496),
    ("densenet121", {}, 7_978_856),
    ("densenet161", {}, 28_681_000),
    ("densenet169", {}, 14_149_480),
    ("densenet201", {}, 20_013_928),
    ("shufflenet_v2_x0_5", {}, 1_366_792),
    ("shufflenet_v2_x1_0", {}, 2_278_604),
    ("shufflenet_v2_x1_5", {}, 3_503_624),
    ("shufflenet_v2_x2_0", {}, 7_393_996),
    ("mobilenet_v3_large", {}, 5_483_032),
    ("mobilenet_v3_small", {}, 2_542_856),
    ("mobilenet_v3_large", {"width_mult": 0.75}, None),
    ("mobilenet_v3_large", {"reduced_tail": True, "dilated": True}, None),
    ("mobilenet_v3_small", {"width_mult": 1.3, "reduced_tail": True}, None),
    ("squeezenet1_1", {"num_classes": 7}, None),
    ("densenet121", {"num_classes": 7}, None),
]


@pytest.mark.parametrize(
    "name, kwargs, expected", CONSTRUCTORS, ids=[f"{n}-{'-'.join(map(str, k.values()))}" for n, k, _ in CONSTRUCTORS]
)
def test_counts_keys_and_shapes_equal_torchvision(name: str, kwargs: dict, expected: int | None) -> None:
    with torch.device("meta"):
        tv = getattr(torchvision.models, name)(**kwargs)
    with skipped_init():
        ours = getattr(M, name)(**kwargs)
    if expected is not None:  # torchvision's published number (its weights' meta)
        assert n_params(tv) == expected
    assert n_params(ours) == n_params(tv)
    tv_sd, our_sd = tv.state_dict(), ours.state_dict()
    assert list(our_sd) == list(tv_sd)  # same keys in the same order
    for k, v in tv_sd.items():
        assert our_sd[k].shape == tuple(v.shape), k


# --------------------------------------------------------------------------------------
# the smallest of each family: forward and training-mode gradients equal torchvision's


def test_resnext50_32x4d_equals_torchvision() -> None:
    ours, tv = twin(
        lambda: M.resnext50_32x4d(num_classes=10), lambda: torchvision.models.resnext50_32x4d(num_classes=10)
    )
    check_parity(ours, tv, 64)
    check_summary(ours, n_params(tv), 64)


def test_wide_resnet_bottleneck_equals_torchvision() -> None:
    """wide_resnet50_2 is resnext50's code path with groups 1 and width 128 (its keys and
    count are checked above); here the wide bottleneck in a one-block-per-stage ResNet."""
    tv_resnet = torchvision.models.resnet

    def tv_build() -> torch.nn.Module:
        return tv_resnet.ResNet(tv_resnet.Bottleneck, [1, 1, 1, 1], num_classes=10, width_per_group=128)

    ours, tv = twin(
        lambda: resnet.ResNet(resnet.Bottleneck, [1, 1, 1, 1], num_classes=10, width_per_group=128), tv_build
    )
    assert ours.layer4[0].conv2.weight.shape == (1024, 1024, 3, 3)  # 2 x 512 inside the last stage
    check_parity(ours, tv, 32)


@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1"])
def test_squeezenet_equals_torchvision(name: str) -> None:
    ours, tv = twin(
        lambda: getattr(M, name)(num_classes=10, dropout=0.0),
        lambda: getattr(torchvision.models, name)(num_classes=10, dropout=0.0),
    )
    check_parity(ours, tv, 48)
    check_summary(ours, n_params(tv), 48)


@pytest.mark.parametrize("memory_efficient", [False, True])
def test_densenet121_equals_torchvision(memory_efficient: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """memory_efficient=True checkpoints each layer's concatenation + BN + ReLU + 1x1 conv on
    both sides: the same gradients, and the batch norms inside updated twice as in torch."""
    calls = []

    def counted_checkpoint(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return checkpoint(*args, **kwargs)

    monkeypatch.setattr(densenet, "checkpoint", counted_checkpoint)
    ours, tv = twin(
        lambda: M.densenet121(num_classes=10, memory_efficient=memory_efficient),
        lambda: torchvision.models.densenet121(num_classes=10, memory_efficient=memory_efficient),
    )
    check_parity(ours, tv, 64)
    assert len(calls) == (6 + 12 + 24 + 16 if memory_efficient else 0)  # in the training pass only
    if not memory_efficient:
        check_summary(ours, n_params(tv), 64)


def test_densenet_drop_rate_draws_through_dropout() -> None:
    """drop_rate > 0: dropout after each dense layer in training, none in eval."""
    mc.manual_seed(0)
    net = densenet.DenseNet(8, (2, 2, 2, 2), 16, drop_rate=0.5, num_classes=3)
    x = mc.randn(2, 3, 32, 32)
    with mc.no_grad():
        net.eval()
        assert np.array_equal(net(x).numpy(), net(x).numpy())
        net.train()
        assert not np.array_equal(net(x).numpy(), net(x).numpy())


def test_shufflenet_v2_x0_5_equals_torchvision() -> None:
    ours, tv = twin(
        lambda: M.shufflenet_v2_x0_5(num_classes=10), lambda: torchvision.models.shufflenet_v2_x0_5(num_classes=10)
    )
    check_parity(ours, tv, 64)
    check_summary(ours, n_params(tv), 64)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("mobilenet_v3_small", {}),
        ("mobilenet_v3_large", {}),
        ("mobilenet_v3_small", {"reduced_tail": True, "dilated": True}),
    ],
    ids=["small", "large", "small-reduced-dilated"],
)
def test_mobilenet_v3_equals_torchvision(name: str, kwargs: dict) -> None:
    """Gradients to 1e-7: torch's float64 hard-sigmoid backward multiplies by 1/6 rounded to
    float32 (a relative 3e-8 off; checked below), minicnn's by the float64 1/6."""
    ours, tv = twin(
        lambda: getattr(M, name)(num_classes=10, dropout=0.0, **kwargs),
        lambda: getattr(torchvision.models, name)(num_classes=10, dropout=0.0, **kwargs),
    )
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.hardsigmoid(x).backward()
    assert x.grad.item() == float(np.float32(1 / 6)) != 1 / 6
    check_parity(ours, tv, 64, grad_tol=1e-7)
    check_summary(ours, n_params(tv), 64)


# --------------------------------------------------------------------------------------
# options and errors


def test_resnet_groups_options() -> None:
    with skipped_init():
        net = M.resnext50_32x4d(num_classes=3)
        block = net.layer1[0]
        assert block.conv2.groups == 32 and block.conv2.weight.shape == (128, 4, 3, 3)
        assert net.fc.out_features == 3
        a = M.resnext50_32x4d(shortcut="A")  # the paper's option A shortcut works for the variants too
        assert not any(".downsample." in k for k in a.state_dict())
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        resnet.ResNet(resnet.BasicBlock, [1, 1, 1, 1], groups=2)


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match="Unsupported SqueezeNet version 1_2"):
        squeezenet.SqueezeNet("1_2")
    with pytest.raises(ValueError, match="stages_repeats"):
        shufflenet.ShuffleNetV2([4, 8], [24, 48, 96, 192, 1024])
    with pytest.raises(ValueError, match="stages_out_channels"):
        shufflenet.ShuffleNetV2([4, 8, 4], [24, 48, 96, 192])
    with pytest.raises(ValueError, match="inp 24 and oup 48"):
        shufflenet.InvertedResidual(24, 48, 1)
    with pytest.raises(ValueError, match="arch must be 'large' or 'small'"):
        mobilenet.mobilenet_v3_config("medium")
    with pytest.raises(ValueError, match="should not be empty"):
        mobilenet.MobileNetV3([], 1280)
    with pytest.raises(TypeError, match="list of BneckConfig.*got elements of type tuple"):  # as torchvision
        mobilenet.MobileNetV3([(16, 3, 16, 16, False, False, 1, 1)], 1280)


@pytest.mark.parametrize(
    "name, setting, value",
    [
        ("resnext50_32x4d", "groups", 32),
        ("resnext101_64x4d", "width_per_group", 4),
        ("wide_resnet50_2", "width_per_group", 128),
    ],
)
def test_variant_settings_passed_again_as_torchvision(name: str, setting: str, value: int) -> None:
    """A variant's own setting passed again: the same value is accepted, another one is a
    ValueError with torchvision's message."""
    message = f"The parameter '{setting}' expected value {value} but got 2 instead."
    with torch.device("meta"):
        getattr(torchvision.models, name)(**{setting: value})
        with pytest.raises(ValueError, match=message):
            getattr(torchvision.models, name)(**{setting: 2})
    with skipped_init():
        net = getattr(M, name)(num_classes=3, **{setting: value})
        assert getattr(net, {"groups": "groups", "width_per_group": "base_width"}[setting]) == value
        with pytest.raises(ValueError, match=message):
            getattr(M, name)(**{setting: 2})


# --------------------------------------------------------------------------------------
# input sizes: odd ones, the smallest each family accepts, the error below it

SMALL_NETS = [  # (name, build from minicnn.models or torchvision.models, smallest square input)
    ("squeezenet1_0", lambda m: m.squeezenet1_0(num_classes=10), 21),
    ("squeezenet1_1", lambda m: m.squeezenet1_1(num_classes=10), 17),
    ("densenet", lambda m: m.DenseNet(8, (2, 2, 2, 2), 16, num_classes=10), 29),
    ("shufflenet", lambda m: m.ShuffleNetV2([1, 2, 1], [8, 16, 32, 64, 128], num_classes=10), 1),
    ("mobilenet_v3_small", lambda m: m.mobilenet_v3_small(num_classes=10, reduced_tail=True, dilated=True), 1),
    ("resnext", lambda m: m.ResNet(m.resnet.Bottleneck, [1, 1, 1, 1], num_classes=10, groups=8, width_per_group=4), 1),
]


@pytest.mark.parametrize("name, build, smallest", SMALL_NETS, ids=[c[0] for c in SMALL_NETS])
def test_input_sizes_as_torchvision(name: str, build: Any, smallest: int) -> None:
    """Eval logits on a 65x67 input (ceil-mode pools, odd maps through the strides) equal
    torchvision's; the smallest square input both accept is ``smallest`` (the docstrings'
    numbers), and below it both raise (ours a ValueError naming the pool)."""
    ours, tv = twin(lambda: build(M), lambda: build(torchvision.models))
    ours.eval()
    tv.eval()

    def run(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.random.default_rng(h).standard_normal((1, 3, h, w))
        with mc.no_grad(), torch.no_grad():
            return ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).numpy()

    a, b = run(65, 67)
    assert rel_err(a, b) < 1e-10
    a, b = run(smallest, smallest)
    assert a.shape == b.shape == (1, 10) and rel_err(a, b) < 1e-10
    if smallest > 1:
        with pytest.raises(RuntimeError, match="Output size is too small"), torch.no_grad():
            tv(torch.zeros(1, 3, smallest - 1, smallest - 1, dtype=torch.float64))
        with pytest.raises(ValueError, match=r"Pool2d\(.*is too small"):
            ours(mc.zeros(1, 3, smallest - 1, smallest - 1, dtype=np.float64))


# --------------------------------------------------------------------------------------
# dropout in training mode: where it sits and what it does (the parity tests above use p = 0)


@pytest.mark.parametrize("name", ["squeezenet1_1", "mobilenet_v3_small"])
def test_classifier_dropout_in_training_equals_torchvision(name: str) -> None:
    """Training mode with dropout 0.5 (MobileNet v3's in place, after an in-place hard swish):
    torchvision's Dropout replays our mask; loss, input and parameter gradients agree."""
    ours, tv = twin(
        lambda: getattr(M, name)(num_classes=10, dropout=0.5),
        lambda: getattr(torchvision.models, name)(num_classes=10, dropout=0.5),
    )
    drop = next(m for m in ours.modules() if isinstance(m, mc.nn.Dropout))
    seen: dict[str, np.ndarray] = {}
    drop.register_forward_pre_hook(lambda m, inputs: seen.update(x=inputs[0].numpy().copy()))
    drop.register_forward_hook(lambda m, inputs, out: seen.update(y=out.numpy().copy()))
    x = np.random.default_rng(0).standard_normal((2, 3, 33, 33))
    y = np.array([1, 7])
    ours.train()
    tv.train()
    mc.manual_seed(3)
    xm = mc.tensor(x, requires_grad=True)
    loss = F.cross_entropy(ours(xm), mc.tensor(y))
    loss.backward()
    mask = np.where(seen["x"] == 0, 0.0, seen["y"] / np.where(seen["x"] == 0, 1.0, seen["x"]))
    assert set(np.unique(mask[seen["x"] != 0])) == {0.0, 2.0}  # dropped and kept, both seen
    tv_drop = next(m for m in tv.modules() if isinstance(m, torch.nn.Dropout))
    tv_drop.forward = lambda t: t * torch.from_numpy(mask)
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(tv(xt), torch.from_numpy(y))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-10)
    assert rel_err(xm.grad.numpy(), xt.grad.numpy()) < 1e-7
    floor = 1e-6 * max(float(np.abs(p.grad.numpy()).max()) for p in tv.parameters())
    for (pname, p), q in zip(ours.named_parameters(), tv.parameters()):
        g, ref_g = p.grad.numpy(), q.grad.numpy()
        assert np.abs(g - ref_g).max() / max(np.abs(ref_g).max(), floor) < 1e-7, pname


# --------------------------------------------------------------------------------------
# each family on the GPU computes what it computes on the CPU

GPU_CASES = [
    (
        "resnext",
        lambda: resnet.ResNet(resnet.Bottleneck, [1, 1, 1, 1], num_classes=10, groups=8, width_per_group=4),
        32,
    ),
    ("squeezenet1_1", lambda: M.squeezenet1_1(num_classes=10, dropout=0.0), 48),
    ("densenet", lambda: densenet.DenseNet(8, (2, 2, 2, 2), 16, num_classes=10, memory_efficient=True), 32),
    ("shufflenet", lambda: shufflenet.ShuffleNetV2([1, 2, 1], [8, 16, 32, 64, 128], num_classes=10), 32),
    ("mobilenet_v3_small", lambda: M.mobilenet_v3_small(num_classes=10, dropout=0.0), 32),
]


@pytest.mark.slow
@pytest.mark.parametrize("device", devices()[1:])  # the "cuda" case only: the CPU is the reference
@pytest.mark.parametrize("name, build, size", GPU_CASES, ids=[c[0] for c in GPU_CASES])
def test_family_on_the_gpu_equals_the_cpu(device: str, name: str, build: Any, size: int) -> None:
    """Loss, input gradient and every parameter gradient of one training-mode step (batch
    norm on its running statistics) with ``model.to(device)`` equal the CPU's (float32)."""
    gpu_step_equals_cpu(build, device, (2, 3, size, size), eval_kinds=(mc.nn.BatchNorm2d,))


# --------------------------------------------------------------------------------------
# torchvision's remaining constructor arguments: replace_stride_with_dilation, norm_layer, block


def _stage_shapes(model: Any, x: Any) -> list[tuple[int, ...]]:
    """The output shapes of layer1..layer4 of a ResNet (ours or torchvision's)."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    shapes = []
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = layer(x)
        shapes.append(tuple(x.shape))
    return shapes


def test_resnet50_replace_stride_with_dilation_equals_torchvision() -> None:
    """DeepLab's output stride 8: layer3 and layer4 keep layer2's resolution, their 3x3
    convolutions dilated 2 (layer3 after its first block, layer4's first block) and 4."""
    setting = [False, True, True]
    ours, tv = twin(
        lambda: M.resnet50(num_classes=10, replace_stride_with_dilation=setting),
        lambda: torchvision.models.resnet50(num_classes=10, replace_stride_with_dilation=setting),
    )
    dilations = [b.conv2.dilation for layer in (ours.layer3, ours.layer4) for b in layer]
    assert dilations == [b.conv2.dilation for layer in (tv.layer3, tv.layer4) for b in layer]
    assert dilations[0] == (1, 1) and dilations[1] == dilations[6] == (2, 2) and dilations[-1] == (4, 4)
    assert ours.layer3[0].conv2.stride == ours.layer3[0].downsample[0].stride == (1, 1)
    x = np.random.default_rng(1).standard_normal((1, 3, 40, 40))
    ours.eval()
    tv.eval()
    with mc.no_grad(), torch.no_grad():
        shapes = _stage_shapes(ours, mc.tensor(x))
        assert shapes == _stage_shapes(tv, torch.from_numpy(x))
    assert shapes[1] == shapes[2][:1] + (512,) + shapes[2][2:] and shapes[3] == (1, 2048, 5, 5)
    check_parity(ours, tv, 40)


def _perturb_group_norms(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.copy_(torch.rand(m.num_channels, generator=g, dtype=torch.float64) + 0.5)
                m.bias.copy_(torch.rand(m.num_channels, generator=g, dtype=torch.float64) - 0.5)


@pytest.mark.parametrize("norm", ["bn-eps", "group"])
def test_resnet_norm_layer_equals_torchvision(norm: str) -> None:
    """norm_layer builds every normalisation, the shortcut's included."""

    def norm_layer(lib: Any) -> Any:
        if norm == "bn-eps":
            return functools.partial(lib.nn.BatchNorm2d, eps=1e-3, momentum=0.3)
        return lambda c: lib.nn.GroupNorm(8, c, eps=1e-4)

    tv_resnet = torchvision.models.resnet
    ours, tv = twin(
        lambda: resnet.ResNet(resnet.Bottleneck, [1, 2, 1, 1], num_classes=10, norm_layer=norm_layer(mc)),
        lambda: tv_resnet.ResNet(tv_resnet.Bottleneck, [1, 2, 1, 1], num_classes=10, norm_layer=norm_layer(torch)),
    )
    if norm == "group":
        _perturb_group_norms(tv, 0)
        ours.load_state_dict({k: v.numpy() for k, v in tv.state_dict().items()})
        kinds = {type(m).__name__ for m in ours.modules()}
        assert "GroupNorm" in kinds and "BatchNorm2d" not in kinds
        assert isinstance(ours.layer2[0].downsample[1], mc.nn.GroupNorm)
    else:
        bns = [m for m in ours.modules() if isinstance(m, mc.nn.BatchNorm2d)]
        assert len(bns) == len([m for m in tv.modules() if isinstance(m, torch.nn.BatchNorm2d)]) == 1 + 3 * 5 + 4
        assert all(m.eps == 1e-3 and m.momentum == 0.3 for m in bns)
    check_parity(ours, tv, 32)


def test_resnet_zero_init_residual_with_norm_layers() -> None:
    """zero_init_residual zeroes the last norm's weight of every block, whatever the norm; one
    without weight (affine=False) is skipped as torchvision's check does (torchvision's own
    initialisation then fails on GroupNorm's missing weight; ours leaves it alone)."""
    net = M.resnet18(zero_init_residual=True, norm_layer=lambda c: mc.nn.GroupNorm(4, c))
    for layer in (net.layer1, net.layer4):
        assert all(np.all(b.bn2.weight.numpy() == 0) and np.all(b.bn1.weight.numpy() == 1) for b in layer)
    plain = resnet.ResNet(resnet.Bottleneck, [1, 1, 1, 1], zero_init_residual=True,
                          norm_layer=lambda c: mc.nn.GroupNorm(4, c, affine=False))  # fmt: skip
    assert plain.layer1[0].bn3.weight is None


def test_resnet_dilation_errors_as_torchvision() -> None:
    """BasicBlock has no dilated form: a dilated stage after the first of layer2-4 raises
    NotImplementedError; a setting of the wrong length a ValueError (torchvision's texts)."""
    for build in (torchvision.models.resnet18, M.resnet18, M.resnet34):
        with pytest.raises(NotImplementedError, match="Dilation > 1 not supported in BasicBlock"):
            build(replace_stride_with_dilation=[False, False, True])
    with pytest.raises(NotImplementedError, match="Dilation > 1 not supported in BasicBlock"):
        resnet.BasicBlock(64, 64, dilation=2)
    with pytest.raises(NotImplementedError, match="Dilation > 1"):
        torchvision.models.resnet.BasicBlock(64, 64, dilation=2)
    for bad in ([True, True], [False] * 4):
        message = "replace_stride_with_dilation should be None or a 3-element tuple"
        with torch.device("meta"), pytest.raises(ValueError, match=message):
            torchvision.models.resnet50(replace_stride_with_dilation=bad)
        with pytest.raises(ValueError, match=message):
            M.resnet50(replace_stride_with_dilation=bad)


def test_new_arguments_have_torchvision_names_order_and_defaults() -> None:
    """The parameters torchvision has, in its order with its defaults; ours adds only
    ``shortcut`` (ResNet) and keeps mobilenet_v3's explicit settings (torchvision's **kwargs)."""
    tv_resnet, tv_mobile = torchvision.models.resnet, torchvision.models.mobilenetv3
    pairs = [
        (resnet.ResNet, tv_resnet.ResNet),
        (resnet.BasicBlock, tv_resnet.BasicBlock),
        (resnet.Bottleneck, tv_resnet.Bottleneck),
        (mobilenet.MobileNetV3, tv_mobile.MobileNetV3),
    ]
    for ours, theirs in pairs:
        a = inspect.signature(ours).parameters
        b = {k: v for k, v in inspect.signature(theirs).parameters.items() if v.kind != v.VAR_KEYWORD}
        assert [k for k in a if k in b] == list(b), ours.__name__
        assert all(a[k].default == b[k].default for k in b), ours.__name__
    assert set(inspect.signature(resnet.ResNet).parameters) - set(inspect.signature(tv_resnet.ResNet).parameters) == {
        "shortcut"
    }
    for name in ("mobilenet_v3_large", "mobilenet_v3_small"):
        p = inspect.signature(getattr(M, name)).parameters
        assert p["block"].default is None and p["norm_layer"].default is None


def test_mobilenet_v3_norm_layer_equals_torchvision() -> None:
    def norm_layer(lib: Any) -> Any:
        return functools.partial(lib.nn.BatchNorm2d, eps=1e-5, momentum=0.2)

    ours, tv = twin(
        lambda: M.mobilenet_v3_small(num_classes=10, dropout=0.0, norm_layer=norm_layer(mc)),
        lambda: torchvision.models.mobilenet_v3_small(num_classes=10, dropout=0.0, norm_layer=norm_layer(torch)),
    )
    bns = [m for m in ours.modules() if isinstance(m, mc.nn.BatchNorm2d)]
    assert bns and all(m.eps == 1e-5 and m.momentum == 0.2 for m in bns)
    check_parity(ours, tv, 32, grad_tol=1e-7)  # 1e-7: see test_mobilenet_v3_equals_torchvision


def test_mobilenet_v3_group_norm_and_block() -> None:
    """norm_layer=GroupNorm reaches the stem, every block and the last conv, and is
    initialised to weight 1, bias 0; ``block`` is called as block(cnf, norm_layer) per setting."""
    calls = []

    def block(cnf: Any, norm_layer: Any) -> mc.nn.Module:
        calls.append((cnf, norm_layer))
        return mobilenet.InvertedResidualV3(cnf, norm_layer)

    def group_norm(c: int) -> mc.nn.Module:
        return mc.nn.GroupNorm(8, c)

    net = M.mobilenet_v3_small(num_classes=10, block=block, norm_layer=group_norm)
    setting, _ = mobilenet.mobilenet_v3_config("small")
    assert [c for c, _ in calls] == setting and all(n is group_norm for _, n in calls)
    norms = [m for m in net.modules() if isinstance(m, mc.nn.GroupNorm)]
    assert not any(isinstance(m, mc.nn.BatchNorm2d) for m in net.modules())
    assert all(np.all(m.weight.numpy() == 1) and np.all(m.bias.numpy() == 0) for m in norms)
    with torch.device("meta"):
        tv = torchvision.models.mobilenet_v3_small(num_classes=10, norm_layer=lambda c: torch.nn.GroupNorm(8, c))
    assert list(net.state_dict()) == list(tv.state_dict())
    assert len(norms) == len([m for m in tv.modules() if isinstance(m, torch.nn.GroupNorm)])
    with mc.no_grad():
        assert net(mc.randn(2, 3, 32, 32)).shape == (2, 10)
