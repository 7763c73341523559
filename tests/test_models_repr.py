"""Every mc.models family that torchvision has prints exactly as torchvision's model, and the
building blocks shared with torchvision.ops.misc (Conv2dNormActivation, Conv3dNormActivation,
SqueezeExcitation, MLP, Permute) match torchvision's in signature, printout and numerics.

The models are built without drawing weights (``skipped_init``; torchvision's on the meta
device where its constructor allows), so the whole file runs in seconds. minicnn-only options
have no torchvision counterpart and are not compared: ResNet's ``shortcut="A"`` (zero-padding
shortcuts), GoogLeNet's ``original=True`` (the 2014 network), MobileNet v1, AlexNet2012,
LeNet, Inception v4 and Inception-ResNet. With their defaults the models print alike, so no
normalisation is needed below.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
import torchvision.ops.misc as tv_misc
from conftest import compare_with_torch, skipped_init
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.models import _blocks

# (constructor name, keyword arguments given to both libraries)
MODELS: list[tuple[str, dict[str, Any]]] = [
    ("alexnet", {}),
    ("vgg11", {}),
    ("googlenet", {}),
    ("googlenet", {"aux_logits": False, "transform_input": True}),
    ("inception_v3", {}),
    ("inception_v3", {"aux_logits": False}),
    ("resnet18", {}),
    ("resnet50", {"replace_stride_with_dilation": [False, True, True]}),
    ("resnext50_32x4d", {}),
    ("squeezenet1_0", {}),
    ("squeezenet1_1", {}),
    ("densenet121", {}),
    ("shufflenet_v2_x0_5", {}),
    ("mobilenet_v2", {"width_mult": 0.75}),
    ("mobilenet_v3_small", {}),
    ("mobilenet_v3_large", {"reduced_tail": True, "dilated": True}),
    ("mnasnet0_5", {}),
    ("efficientnet_b0", {}),
    ("efficientnet_v2_s", {}),
    ("regnet_x_400mf", {}),
    ("regnet_y_400mf", {}),
    ("convnext_tiny", {}),
]


def build_torchvision(name: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    """torchvision's model, on the meta device (no weights drawn) where its constructor
    allows; RegNet computes its widths with tensors, so it is built on the CPU."""
    make = getattr(torchvision.models, name)
    if name in ("googlenet", "inception_v3"):
        kwargs = {**kwargs, "init_weights": False}  # its truncated-normal init needs real tensors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name.startswith("regnet"):
            return make(**kwargs)
        with torch.device("meta"):
            return make(**kwargs)


@pytest.mark.parametrize("name,kwargs", MODELS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(MODELS)])
def test_model_prints_as_torchvision(name: str, kwargs: dict[str, Any]) -> None:
    kwargs = {"num_classes": 10, **kwargs}
    with skipped_init():
        ours = getattr(mc.models, name)(**kwargs)
    theirs = build_torchvision(name, kwargs)
    assert repr(ours) == repr(theirs)
    # the printout names every child: the state-dict keys agree too
    assert list(ours.state_dict()) == list(theirs.state_dict())


# --------------------------------------------------------------------------------------
# the blocks

BLOCKS = ["ConvNormActivation", "Conv2dNormActivation", "Conv3dNormActivation", "SqueezeExcitation", "MLP", "Permute"]


def _default(value: Any) -> Any:
    """A default comparable across the libraries: a class by its name."""
    return value.__name__ if isinstance(value, type) else value


@pytest.mark.parametrize("name", BLOCKS)
def test_block_signature_is_torchvisions(name: str) -> None:
    ours = inspect.signature(getattr(_blocks, name)).parameters.values()
    theirs = inspect.signature(getattr(tv_misc, name)).parameters.values()
    assert [(p.name, p.kind, _default(p.default)) for p in ours] == [
        (p.name, p.kind, _default(p.default)) for p in theirs
    ]


def _torch_twin(value: Any) -> Any:
    """torch.nn's class of the same name for a mc.nn class; other values as they are."""
    return getattr(torch.nn, value.__name__) if isinstance(value, type) else value


CONV2D_SETTINGS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((3, 8), {}),
    ((3, 8, 1), {"norm_layer": None}),
    ((3, 8, (3, 5)), {"dilation": 2, "stride": (1, 2)}),
    ((3, 8, 5), {"dilation": (1, 2), "stride": 2}),
    ((4, 8, 3), {"groups": 2, "padding": "same", "activation_layer": mc.nn.SiLU}),
    ((4, 8, 4), {"padding": 0, "activation_layer": None, "bias": True}),
    ((4, 8), {"activation_layer": mc.nn.Hardswish, "inplace": None}),
    ((4, 8), {"activation_layer": mc.nn.ReLU6, "inplace": False, "norm_layer": mc.nn.InstanceNorm2d}),
    ((4, 4, 3, 1, None, 4), {"activation_layer": mc.nn.GELU, "inplace": None}),
]


@pytest.mark.parametrize("args,kwargs", CONV2D_SETTINGS)
def test_conv2d_norm_activation_prints_as_torchvisions(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    ours = _blocks.Conv2dNormActivation(*args, **kwargs)
    theirs = tv_misc.Conv2dNormActivation(*args, **{k: _torch_twin(v) for k, v in kwargs.items()})
    assert repr(ours) == repr(theirs)
    assert ours.out_channels == theirs.out_channels == args[1]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_conv2d_norm_activation_refuses_an_activation_without_inplace_as_torchvision() -> None:
    with pytest.raises(TypeError, match="inplace"):
        tv_misc.Conv2dNormActivation(3, 4, activation_layer=torch.nn.GELU)
    with pytest.raises(TypeError, match="inplace"):
        _blocks.Conv2dNormActivation(3, 4, activation_layer=mc.nn.GELU)


def test_other_blocks_print_as_torchvisions() -> None:
    pairs = [
        (_blocks.Conv3dNormActivation(2, 4, (1, 3, 3)), tv_misc.Conv3dNormActivation(2, 4, (1, 3, 3))),
        (
            _blocks.Conv3dNormActivation(2, 4, 3, dilation=(1, 2, 2), norm_layer=None),
            tv_misc.Conv3dNormActivation(2, 4, 3, dilation=(1, 2, 2), norm_layer=None),
        ),
        (_blocks.SqueezeExcitation(8, 2), tv_misc.SqueezeExcitation(8, 2)),
        (
            _blocks.SqueezeExcitation(8, 2, mc.nn.SiLU, mc.nn.Hardsigmoid),
            tv_misc.SqueezeExcitation(8, 2, torch.nn.SiLU, torch.nn.Hardsigmoid),
        ),
        (_blocks.MLP(4, [8, 2]), tv_misc.MLP(4, [8, 2])),
        (
            _blocks.MLP(4, [8, 6, 2], mc.nn.LayerNorm, mc.nn.GELU, None, False, 0.1),
            tv_misc.MLP(4, [8, 6, 2], torch.nn.LayerNorm, torch.nn.GELU, None, False, 0.1),
        ),
        (_blocks.MLP(4, [3], inplace=True), tv_misc.MLP(4, [3], inplace=True)),
        (_blocks.Permute([0, 2, 3, 1]), tv_misc.Permute([0, 2, 3, 1])),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_conv_norm_activation_base_warns_as_torchvision() -> None:
    with pytest.warns(UserWarning, match="Conv2dNormActivation and Conv3dNormActivation"):
        _blocks.ConvNormActivation(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _blocks.Conv2dNormActivation(3, 4)
        _blocks.Conv3dNormActivation(3, 4)


# -- numerics: the same weights give torch's outputs and input gradients ------------------------


def _twin_weights(ours: mc.nn.Module, theirs: torch.nn.Module, seed: int) -> None:
    """Random float64 weights in torch's module, copied into ours."""
    rng = np.random.default_rng(seed)
    theirs.double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, size=tuple(p.shape))))
    ours.to(mc.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


@settings(max_examples=20, deadline=None)
@given(
    k=st.sampled_from([1, 3, (1, 3), (3, 2)]),
    stride=st.sampled_from([1, 2, (2, 1)]),
    dilation=st.sampled_from([1, 2, (2, 1)]),
    groups=st.sampled_from([1, 2]),
    norm=st.sampled_from(["batch", "none"]),
    act=st.sampled_from(["ReLU", "SiLU", "Hardswish", "none"]),
    training=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv2d_norm_activation_computes_torchvisions(
    k: Any, stride: Any, dilation: Any, groups: int, norm: str, act: str, training: bool, seed: int
) -> None:
    norm_pair = (mc.nn.BatchNorm2d, torch.nn.BatchNorm2d) if norm == "batch" else (None, None)
    act_pair = (getattr(mc.nn, act), getattr(torch.nn, act)) if act != "none" else (None, None)
    settings_ = {"stride": stride, "dilation": dilation, "groups": groups}
    ours = _blocks.Conv2dNormActivation(4, 6, k, norm_layer=norm_pair[0], activation_layer=act_pair[0], **settings_)
    theirs = tv_misc.Conv2dNormActivation(4, 6, k, norm_layer=norm_pair[1], activation_layer=act_pair[1], **settings_)
    _twin_weights(ours, theirs, seed)
    ours.train(training)
    theirs.train(training)
    x = np.random.default_rng(seed + 1).standard_normal((2, 4, 7, 6))
    # torch's activations run in place on the conv's output; the input itself is untouched
    compare_with_torch(ours, theirs, [x], seed=seed)


@pytest.mark.parametrize("scale", ["Sigmoid", "Hardsigmoid"])
def test_squeeze_excitation_computes_torchvisions(scale: str) -> None:
    ours = _blocks.SqueezeExcitation(6, 3, mc.nn.SiLU, getattr(mc.nn, scale))
    theirs = tv_misc.SqueezeExcitation(6, 3, torch.nn.SiLU, getattr(torch.nn, scale))
    _twin_weights(ours, theirs, 1)
    x = np.random.default_rng(2).standard_normal((2, 6, 5, 4))
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32 (a relative 3e-8 off in
    # float64); ours divides by 6, hence the wider tolerance
    compare_with_torch(ours, theirs, [x], rtol=1e-6, atol=1e-9)


def test_mlp_and_conv3d_block_and_permute_compute_torchvisions() -> None:
    rng = np.random.default_rng(3)
    ours_mlp = _blocks.MLP(5, [7, 6, 3], norm_layer=mc.nn.LayerNorm, activation_layer=mc.nn.GELU)
    theirs_mlp = tv_misc.MLP(5, [7, 6, 3], norm_layer=torch.nn.LayerNorm, activation_layer=torch.nn.GELU)
    _twin_weights(ours_mlp, theirs_mlp, 4)
    compare_with_torch(ours_mlp, theirs_mlp, [rng.standard_normal((2, 4, 5))])

    ours_3d = _blocks.Conv3dNormActivation(2, 3, (1, 3, 3), stride=(1, 2, 2))
    theirs_3d = tv_misc.Conv3dNormActivation(2, 3, (1, 3, 3), stride=(1, 2, 2))
    _twin_weights(ours_3d, theirs_3d, 5)
    compare_with_torch(ours_3d, theirs_3d, [rng.standard_normal((2, 2, 3, 5, 4))])

    dims = [0, 3, 1, 2]
    compare_with_torch(_blocks.Permute(dims), tv_misc.Permute(dims), [rng.standard_normal((2, 3, 4, 5))])


def test_conv_bn_relu_name_is_gone_and_the_blocks_are_shared() -> None:
    """MobileNet, EfficientNet and RegNet build from the shared torchvision-named blocks
    (ConvBNReLU was minicnn's earlier name); ConvNeXt's Permute is the shared one."""
    from minicnn.models import convnext, efficientnet, mobilenet, regnet

    assert not hasattr(mobilenet, "ConvBNReLU")
    for module in (mobilenet, efficientnet, regnet):
        assert module.Conv2dNormActivation is _blocks.Conv2dNormActivation
        assert module.SqueezeExcitation is _blocks.SqueezeExcitation
    assert convnext.Permute is _blocks.Permute
    assert issubclass(regnet.SimpleStemIN, _blocks.Conv2dNormActivation)
