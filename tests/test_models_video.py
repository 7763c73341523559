"""mc.models.video (R3D-18, MC3-18, R(2+1)D-18, S3D) against torchvision.models.video (the
oracle).

- every constructor (and VideoResNet with Bottleneck): printout, state-dict keys (in order)
  and shapes, parameter count equal torchvision's (built on the ``meta`` device) and its
  published count;
- each network in float64 on torchvision's weights with randomised batch norm: eval-mode
  logits, and in training mode (batch statistics) the cross-entropy loss, the gradients of
  the clip and of every parameter, and the updated running statistics;
- the GPU (or fake CuPy) against the CPU; bad inputs; ``zero_init_residual``; mc.summary.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torchvision.models.video as tv_video
from conftest import (
    devices,
    eval_logits_err,
    gpu_step_equals_cpu,
    n_params,
    randomise_batch_norm,
    rel_err,
    skipped_init,
    torchvision_twin,
    training_step_like_torch,
)

import minicnn as mc
from minicnn.models import video

# --------------------------------------------------------------------------------------
# helpers


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Batch norm's affine parameters and running statistics away from 1 and 0 (so that eval
    mode tests them), S3D's classifier bias away from 0; float64."""
    randomise_batch_norm(model, seed, torch.nn.BatchNorm3d, biases=(torch.nn.Linear, torch.nn.Conv3d))


def twin(name: str, seed: int = 0, **kwargs: Any) -> tuple[mc.nn.Module, torch.nn.Module]:
    """(ours, torchvision's) ``name`` with torchvision's weights, float64."""
    return torchvision_twin(
        lambda: getattr(video, name)(**kwargs), lambda: getattr(tv_video, name)(**kwargs), seed, randomise
    )


def check_training_step(
    ours_fn: Any, tv_fn: Any, ours: mc.nn.Module, tv: torch.nn.Module, x: np.ndarray, grad_tol: float = 1e-8
) -> None:
    """One training-mode forward of ``*_fn`` (the model, or a path through its parts) +
    cross-entropy + backward: loss, clip gradient, every parameter gradient (none where torch
    has none: not on the path), running statistics."""
    y = np.arange(x.shape[0]) % 10
    training_step_like_torch(ours, tv, x, y, grad_tol, ours_fn, tv_fn, what="clip gradient")


# --------------------------------------------------------------------------------------
# printout, keys, shapes, counts

RESNETS = [("r3d_18", 33_371_472), ("mc3_18", 11_695_440), ("r2plus1d_18", 31_505_325)]
CONSTRUCTORS = [*RESNETS, ("s3d", 8_320_048)]


def _compare_structure(ours: mc.nn.Module, tv: torch.nn.Module) -> None:
    assert repr(ours) == repr(tv)
    assert n_params(ours) == n_params(tv)
    tv_sd, our_sd = tv.state_dict(), ours.state_dict()
    assert list(our_sd) == list(tv_sd)  # same keys in the same order
    for k, v in tv_sd.items():
        assert our_sd[k].shape == tuple(v.shape), k


@pytest.mark.parametrize("name, expected", CONSTRUCTORS, ids=[n for n, _ in CONSTRUCTORS])
@pytest.mark.parametrize("num_classes", [None, 7])
def test_constructor_equals_torchvision(name: str, expected: int, num_classes: int | None) -> None:
    kwargs = {} if num_classes is None else {"num_classes": num_classes}
    with torch.device("meta"):
        tv = getattr(tv_video, name)(**kwargs)
    with skipped_init():
        ours = getattr(video, name)(**kwargs)
    _compare_structure(ours, tv)
    if num_classes is None:  # torchvision's published number (its weights' meta)
        assert n_params(tv) == expected


@pytest.mark.parametrize(
    "conv",
    ["Conv3DSimple", "Conv3DNoTemporal", "Conv2Plus1D"],
)
def test_bottleneck_video_resnet_equals_torchvision(conv: str) -> None:
    """VideoResNet with Bottleneck blocks (no torchvision constructor uses them) and each
    convolution class in every stage."""

    def build(lib: Any) -> Any:
        return lib.VideoResNet(lib.Bottleneck, [getattr(lib, conv)] * 4, [1, 2, 1, 1], lib.BasicStem, num_classes=5)

    with torch.device("meta"):
        tv = build(tv_video.resnet)
    with skipped_init():
        ours = build(video.resnet)
    _compare_structure(ours, tv)


def test_conv_builders_and_stems_equal_torchvision() -> None:
    for name in ("Conv3DSimple", "Conv3DNoTemporal", "Conv2Plus1D"):
        ours, theirs = getattr(video, name), getattr(tv_video.resnet, name)
        for s in (1, 2):
            assert ours.get_downsample_stride(s) == theirs.get_downsample_stride(s)
        with torch.device("meta"):
            t = theirs(16, 24, 20, 2)
        assert repr(ours(16, 24, 20, 2)) == repr(t)
    for name in ("BasicStem", "R2Plus1dStem"):
        with torch.device("meta"):
            t = getattr(tv_video.resnet, name)()
        assert repr(getattr(video, name)()) == repr(t)


# --------------------------------------------------------------------------------------
# numerics on torchvision's weights


@pytest.mark.parametrize("name", [n for n, _ in RESNETS])
def test_video_resnet_equals_torchvision(name: str) -> None:
    """A 2 x 3 x 4 x 32 x 32 clip: layer4 sees 1 x 2 x 2 (r3d, r(2+1)d) or 4 x 2 x 2 (mc3)."""
    ours, tv = twin(name, num_classes=10)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 32, 32))
    assert eval_logits_err(ours, tv, x) < 1e-10
    check_training_step(ours, tv, ours, tv, x)


@pytest.mark.parametrize("conv", ["Conv3DSimple", "Conv3DNoTemporal", "Conv2Plus1D"])
def test_bottleneck_block_equals_torchvision(conv: str) -> None:
    """A strided Bottleneck with its projection shortcut (16 -> 4 x 8 maps), float64 on
    torchvision's weights: eval output and the training step (through a mean over T, H, W)."""
    tv_res = tv_video.resnet
    ds = torch.nn.Sequential(
        torch.nn.Conv3d(16, 32, 1, stride=getattr(tv_res, conv).get_downsample_stride(2), bias=False),
        torch.nn.BatchNorm3d(32),
    )
    torch.manual_seed(0)
    tv = tv_res.Bottleneck(16, 8, getattr(tv_res, conv), 2, ds)
    randomise(tv, 0)
    ours_ds = mc.nn.Sequential(
        mc.nn.Conv3d(16, 32, 1, stride=getattr(video, conv).get_downsample_stride(2), bias=False),
        mc.nn.BatchNorm3d(32),
    )
    ours = video.Bottleneck(16, 8, getattr(video, conv), 2, ours_ds)
    ours.to(np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in tv.state_dict().items()})
    assert repr(ours) == repr(tv)
    x = np.random.default_rng(2).standard_normal((2, 16, 4, 6, 6))
    ours.eval()
    tv.eval()
    with mc.no_grad(), torch.no_grad():
        assert rel_err(ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).numpy()) < 1e-12
    check_training_step(lambda x: ours(x).mean((2, 3, 4)), lambda x: tv(x).mean((2, 3, 4)), ours, tv, x)


def test_s3d_equals_torchvision() -> None:
    """Eval logits on the smallest clip S3D takes (13 x 209 x 209: the 2x7x7 average pool
    needs 2 x 7 x 7 features); the training step on a 6 x 32 x 32 clip through features,
    classifier and the mean (features of 1 x 1 x 1, too small for the average pool, which
    has no parameters: every parameter is on this path)."""
    ours, tv = twin("s3d", num_classes=10, dropout=0.0)
    x = np.random.default_rng(0).standard_normal((1, 3, 13, 209, 209))
    assert eval_logits_err(ours, tv, x) < 1e-10
    with pytest.raises(ValueError, match="AvgPool3d"):
        ours(mc.zeros(1, 3, 12, 209, 209, dtype=np.float64))

    def without_pool(model: Any) -> Any:
        return lambda x: model.classifier(model.features(x)).mean((2, 3, 4))

    x = np.random.default_rng(1).standard_normal((2, 3, 6, 32, 32))
    check_training_step(without_pool(ours), without_pool(tv), ours, tv, x)


def test_s3d_dropout_and_norm_layer() -> None:
    """dropout draws in training only; norm_layer builds every normalisation layer."""
    mc.manual_seed(0)
    net = video.s3d(num_classes=3, dropout=0.5)
    assert net.classifier[0].p == 0.5
    bn = [m for m in net.modules() if isinstance(m, mc.nn.BatchNorm3d)]
    assert bn and all(m.eps == 1e-3 and m.momentum == 1e-3 for m in bn)
    net = video.S3D(num_classes=3, norm_layer=lambda c: mc.nn.GroupNorm(1, c))
    assert not any(isinstance(m, mc.nn.BatchNorm3d) for m in net.modules())
    with torch.device("meta"):
        tv = tv_video.S3D(num_classes=3, norm_layer=lambda c: torch.nn.GroupNorm(1, c))
    assert repr(net) == repr(tv)


# --------------------------------------------------------------------------------------
# the GPU computes what the CPU computes


@pytest.mark.parametrize("device", devices()[1:])  # the "cuda" case only: the CPU is the reference
@pytest.mark.parametrize("name", ["r2plus1d_18"])
def test_video_resnet_on_the_gpu_equals_the_cpu(device: str, name: str) -> None:
    """Loss, clip gradient and every parameter gradient of one training step (batch norm on
    its running statistics) with ``model.to(device)`` equal the CPU's (float32). R(2+1)D has
    1x7x7, 3x1x1, 1x3x3 and 1x1x1 convolutions with 1- and 2-strides, and batch norm
    between the two halves of each (2+1)-d convolution."""
    gpu_step_equals_cpu(
        lambda: getattr(video, name)(num_classes=10),
        device,
        (2, 3, 4, 32, 32),
        eval_kinds=(mc.nn.BatchNorm3d,),
        what="clip gradient",
    )


# --------------------------------------------------------------------------------------
# initialisation, errors, summary


def test_initialisation_follows_torchvision() -> None:
    """Conv3d kaiming normal (fan_out, ReLU), BN 1 and 0, fc N(0, 0.01^2) and 0; with
    ``zero_init_residual`` the last BN weight of each block 0 (torchvision's refers to a
    ``bn3`` these blocks lack: a no-op for BasicBlock, an AttributeError for Bottleneck)."""
    mc.manual_seed(0)
    net = video.r3d_18(num_classes=10)
    w = net.layer1[0].conv1[0].weight.numpy()  # 64 x 64 x 3 x 3 x 3, fan_out = 64 * 27
    assert abs(w.std() / np.sqrt(2 / (64 * 27)) - 1) < 0.02
    assert np.all(net.layer1[0].conv1[1].weight.numpy() == 1)
    assert abs(net.fc.weight.numpy().std() / 0.01 - 1) < 0.05 and np.all(net.fc.bias.numpy() == 0)
    net = video.r2plus1d_18(num_classes=10, zero_init_residual=True)
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        for block in layer:
            assert np.all(block.conv2[1].weight.numpy() == 0) and np.all(block.conv1[1].weight.numpy() == 1)
    bottleneck = video.VideoResNet(
        video.Bottleneck, [video.Conv3DNoTemporal] * 4, [1, 1, 1, 1], video.BasicStem, zero_init_residual=True
    )
    assert np.all(bottleneck.layer2[0].conv3[1].weight.numpy() == 0)
    with warnings.catch_warnings(), torch.device("meta"), pytest.raises(AttributeError, match="bn3"):
        warnings.simplefilter("ignore")
        tv_video.VideoResNet(
            tv_video.resnet.Bottleneck,
            [tv_video.resnet.Conv3DNoTemporal] * 4,
            [1, 1, 1, 1],
            tv_video.resnet.BasicStem,
            zero_init_residual=True,
        )


@pytest.mark.parametrize("name", ["r3d_18", "s3d"])
def test_a_frame_batch_is_refused(name: str) -> None:
    with skipped_init():
        net = getattr(video, name)(num_classes=3)
    with pytest.raises(ValueError, match=r"\(N, C, T, H, W\), got shape \(2, 3, 32, 32\)"):
        net(mc.zeros(2, 3, 32, 32))


def test_summary_counts_the_parameters_of_a_clip_model() -> None:
    """mc.summary runs on a full clip shape (N, C, T, H, W) and counts the parameters and the
    output shape."""
    with skipped_init():
        net = video.mc3_18(num_classes=10)
    s = mc.summary(net, (1, 3, 2, 16, 16), verbose=False)
    assert s.totals["params"] == 11_695_440 - 390 * (512 + 1)  # 390 classes fewer than 400
    assert s.totals["output_shape"] == (1, 10)


@pytest.mark.parametrize(("name", "gmacs"), [("r3d_18", 40.697), ("mc3_18", 43.343), ("r2plus1d_18", 40.519)])
def test_summary_at_the_native_clip_counts_torchvisions_multiply_adds(name: str, gmacs: float) -> None:
    """With no shape, mc.summary takes the model's (C, T, H, W) input_size and adds a batch axis;
    Conv3d layers are counted: torchvision's published GFLOPS (its meta "_ops") at 16x112x112."""
    with skipped_init():
        net = getattr(video, name)()
    s = mc.summary(net, verbose=False)
    assert s.totals["input_shape"] == (1, 3, 16, 112, 112)
    assert round(s.totals["multiply_adds"] / 1e9, 3) == gmacs
