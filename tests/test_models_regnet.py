"""RegNet (X and Y) and MNASNet against torchvision (the oracle).

- every constructor: the derived stage settings (depths, widths, group widths) equal
  torchvision's ``BlockParams``; parameter count equals torchvision's published one (its
  weights' meta); state-dict keys (in order) and shapes equal torchvision's (built on the
  ``meta`` device: no memory, no init);
- regnet_x_400mf, regnet_y_400mf, mnasnet0_5 and a small custom RegNet (norm_layer,
  activation), float64 on torchvision's weights with randomised batch norm: eval logits, and
  in training mode the loss, the gradients of the input and of every parameter, and the
  updated running statistics; ``mc.summary`` on them;
- MNASNet's version-1 state dicts; the initialisation; signatures; errors.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from conftest import check_parity as conftest_check_parity
from conftest import (
    devices,
    gpu_step_equals_cpu,
    n_params,
    randomise_batch_norm,
    rel_err,
    skipped_init,
    torchvision_twin,
)
from torchvision.models import mnasnet as tv_mnasnet
from torchvision.models import regnet as tv_regnet

import minicnn as mc
from minicnn.models import mnasnet, regnet

# --------------------------------------------------------------------------------------
# helpers


def numpy_state(tv: torch.nn.Module) -> OrderedDict:
    """torchvision's state dict as NumPy arrays, with its ``_metadata`` (versions)."""
    sd = tv.state_dict()
    out = OrderedDict((k, v.numpy()) for k, v in sd.items())
    out._metadata = sd._metadata  # type: ignore[attr-defined]
    return out


def twin(build: Any, tv_build: Any, seed: int = 0) -> tuple[mc.nn.Module, torch.nn.Module]:
    """(ours, torchvision's) with torchvision's weights (batch norm randomised; with the state
    dict's ``_metadata``), float64."""
    return torchvision_twin(build, tv_build, seed, state=numpy_state)


def check_parity(ours: mc.nn.Module, tv: torch.nn.Module, size: int, seed: int = 0) -> float:
    """conftest.check_parity with the parameter names checked against torch's. ``size`` at
    least 64 for a stride-32 network: training-mode batch norm over 2 samples of 1x1 maps
    amplifies rounding block after block (1e-3 apart after regnet_x_400mf's 12 blocks at 1x1)."""
    return conftest_check_parity(ours, tv, size, seed, same_names=True)


def check_summary(model: mc.nn.Module, expected_params: int, size: int) -> None:
    s = mc.summary(model, (3, size, size), verbose=False)
    assert s.totals["params"] == expected_params
    assert s.totals["output_shape"] == (1, 10)
    assert s.totals["multiply_adds"] > 0


def state_shapes(model: mc.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) in state-dict order without copying the arrays (regnet_y_128gf's state
    dict is 2.6 GB)."""
    out = []
    for prefix, m in model.named_modules():
        head = f"{prefix}." if prefix else ""
        out += [(head + k, tuple(p.shape)) for k, p in m.named_parameters(recurse=False)]
        out += [(head + k, tuple(b.shape)) for k, b in m.named_buffers(recurse=False)]
    return out


# --------------------------------------------------------------------------------------
# every constructor: stage settings, counts, keys, shapes

REGNETS = ["regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf",
           "regnet_x_32gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf",
           "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf"]  # fmt: skip
MNASNETS = ["mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"]


def tv_settings(name: str) -> dict[str, Any]:
    """The keyword arguments torchvision's constructor gives BlockParams.from_init_params
    (read from its source: the builders compute the stages outside any device context)."""
    src = inspect.getsource(getattr(tv_regnet, name))
    call = re.search(r"from_init_params\((.*?)\*\*kwargs", src, re.S).group(1)
    return {k: float(v) if "." in v else int(v) for k, v in re.findall(r"(\w+)=([\d.]+)", call)}


def tv_build(name: str, **kwargs: Any) -> torch.nn.Module:
    """torchvision's model ``name`` (torchvision's own BlockParams, the model on ``meta``
    if asked by the caller's device context)."""
    if name in MNASNETS:
        return getattr(torchvision.models, name)(**kwargs)
    with torch.device("cpu"):  # from_init_params needs real tensors
        params = tv_regnet.BlockParams.from_init_params(**tv_settings(name))
    return tv_regnet._regnet(params, None, False, **kwargs)


def published_params(name: str) -> int:
    return next(iter(torchvision.models.get_model_weights(name))).meta["num_params"]


@pytest.mark.parametrize("name", REGNETS)
def test_regnet_stage_settings_equal_torchvision(name: str) -> None:
    kw = tv_settings(name)
    assert set(kw) >= {"depth", "w_0", "w_a", "w_m", "group_width"}
    ours, theirs = regnet.BlockParams.from_init_params(**kw), tv_regnet.BlockParams.from_init_params(**kw)
    for attr in ("depths", "widths", "group_widths", "bottleneck_multipliers", "strides", "se_ratio"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.se_ratio == (0.25 if "_y_" in name else None)
    assert all(isinstance(v, int) for v in ours.widths + ours.depths + ours.group_widths)
    with skipped_init():  # the constructor uses these settings
        model = getattr(regnet, name)(num_classes=10)
    stages = list(model.trunk_output)
    assert [len(s) for s in stages] == ours.depths
    assert [next(iter(s)).f.c[0].out_channels for s in stages] == ours.widths


@pytest.mark.parametrize("name", REGNETS + MNASNETS)
def test_counts_keys_and_shapes_equal_torchvision(name: str) -> None:
    module = mnasnet if name in MNASNETS else regnet
    with skipped_init():
        ours = getattr(module, name)()
    assert n_params(ours) == published_params(name)  # torchvision's number, from its weights' meta
    with torch.device("meta"):
        tv = tv_build(name)
    assert n_params(tv) == n_params(ours)
    assert state_shapes(ours) == [(k, tuple(v.shape)) for k, v in tv.state_dict().items()]


# --------------------------------------------------------------------------------------
# the small ones: forward and training-mode gradients equal torchvision's


@pytest.mark.parametrize("name", ["regnet_x_400mf", "regnet_y_400mf"])
def test_regnet_400mf_equals_torchvision(name: str) -> None:
    ours, tv = twin(lambda: getattr(regnet, name)(num_classes=10), lambda: tv_build(name, num_classes=10))
    check_parity(ours, tv, 64)
    check_summary(ours, n_params(tv), 64)


def test_mnasnet0_5_equals_torchvision() -> None:
    ours, tv = twin(
        lambda: mnasnet.mnasnet0_5(num_classes=10, dropout=0.0),
        lambda: torchvision.models.mnasnet0_5(num_classes=10, dropout=0.0),
    )
    check_parity(ours, tv, 64)
    check_summary(ours, n_params(tv), 64)
    ours.eval()
    tv.eval()
    for h, w in ((33, 35), (1, 1)):  # odd maps through the strides; the smallest input
        x = np.random.default_rng(h).standard_normal((1, 3, h, w))
        with mc.no_grad(), torch.no_grad():
            assert rel_err(ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).numpy()) < 1e-10


def _small_params(lib: Any) -> Any:
    """Three stages, the first one's group width clipped to its width, squeeze-excitation."""
    return lib.BlockParams.from_init_params(depth=5, w_0=8, w_a=12.0, w_m=2.5, group_width=12, se_ratio=0.25)


def test_small_regnet_norm_layer_activation_and_odd_inputs_equal_torchvision() -> None:
    """norm_layer and activation reach the stem, every block and its squeeze-excitation;
    eval logits on odd and 1x1 inputs equal torchvision's."""

    def kwargs(lib: Any) -> dict[str, Any]:
        bn = functools.partial(lib.nn.BatchNorm2d, eps=1e-3, momentum=0.3)
        return {"num_classes": 10, "stem_width": 16, "norm_layer": bn, "activation": lib.nn.SiLU}

    ours, tv = twin(
        lambda: regnet.RegNet(_small_params(regnet), **kwargs(mc)),
        lambda: tv_regnet.RegNet(_small_params(tv_regnet), **kwargs(torch)),
    )
    params = _small_params(regnet)
    assert (params.depths, params.widths, params.group_widths) == ([1, 1, 3], [8, 24, 48], [8, 12, 12])
    bns = [m for m in ours.modules() if isinstance(m, mc.nn.BatchNorm2d)]
    assert len(bns) == len([m for m in tv.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert all(m.eps == 1e-3 and m.momentum == 0.3 for m in bns)
    n_silu = len([m for m in tv.modules() if isinstance(m, torch.nn.SiLU)])
    assert n_silu > 0 and len([m for m in ours.modules() if isinstance(m, mc.nn.SiLU)]) == n_silu
    assert not any(isinstance(m, mc.nn.ReLU) for m in ours.modules())
    check_parity(ours, tv, 24)
    ours.eval()
    tv.eval()
    for h, w in ((33, 35), (1, 1)):
        x = np.random.default_rng(h).standard_normal((1, 3, h, w))
        with mc.no_grad(), torch.no_grad():
            assert rel_err(ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).numpy()) < 1e-10


def test_mnasnet_version_1_state_dict_as_torchvision() -> None:
    """A state dict saved by torchvision's version 1 (stem at alpha 1.0's widths, 32 and 16)
    loads into mnasnet0_5 with a UserWarning: the stem is rebuilt, the logits equal; the model
    then saves version 1. A version-2 one or one without metadata loads as it is."""
    torch.manual_seed(0)
    tv = torchvision.models.mnasnet0_5(num_classes=10, dropout=0.0)
    depths = tv_mnasnet._get_depths(0.5)
    bn = tv_mnasnet._BN_MOMENTUM
    v1_stem = [
        torch.nn.Conv2d(3, 32, 3, padding=1, stride=2, bias=False),
        torch.nn.BatchNorm2d(32, momentum=bn),
        torch.nn.ReLU(inplace=True),
        torch.nn.Conv2d(32, 32, 3, padding=1, stride=1, groups=32, bias=False),
        torch.nn.BatchNorm2d(32, momentum=bn),
        torch.nn.ReLU(inplace=True),
        torch.nn.Conv2d(32, 16, 1, padding=0, stride=1, bias=False),
        torch.nn.BatchNorm2d(16, momentum=bn),
        tv_mnasnet._stack(16, depths[2], 3, 2, 3, 3, bn),
    ]
    for idx, layer in enumerate(v1_stem):
        tv.layers[idx] = layer
    tv._version = 1
    randomise_batch_norm(tv, 1)
    state = numpy_state(tv)
    assert state._metadata[""]["version"] == 1 and state["layers.0.weight"].shape == (32, 3, 3, 3)
    ours = mnasnet.mnasnet0_5(num_classes=10, dropout=0.0)
    assert ours.layers[0].weight.shape == (16, 3, 3, 3)
    with pytest.warns(UserWarning, match="A new version of MNASNet model has been implemented"):
        ours.load_state_dict(state)
    assert ours.layers[0].weight.shape == (32, 3, 3, 3) and ours.layers[8][0].layers[0].weight.shape == (48, 16, 1, 1)
    ours.to(np.float64)  # the new stem's modules are float32 (as torch's); load again, without metadata
    ours.load_state_dict(dict(state))
    assert ours._version == 1 and ours.state_dict()._metadata[""]["version"] == 1
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    ours.eval()
    tv.eval()
    with mc.no_grad(), torch.no_grad():
        assert rel_err(ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).numpy()) < 1e-10

    fresh = mnasnet.mnasnet0_5(num_classes=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for version 2 or for a plain dict
        fresh.load_state_dict(fresh.state_dict())
        fresh.load_state_dict(dict(fresh.state_dict()))
    assert fresh._version == 2
    bad = fresh.state_dict()
    bad._metadata[""]["version"] = 3
    with pytest.raises(ValueError, match="version should be set to 1 or 2 instead of 3"):
        fresh.load_state_dict(bad)


# --------------------------------------------------------------------------------------
# initialisation, signatures, errors


def test_regnet_initialisation_as_torchvision() -> None:
    """Conv weights N(0, 2 / (k*k*C_out)), batch norm 1 and 0, fc
    N(0, 0.01^2) with bias 0; squeeze-excitation biases keep the conv default."""
    mc.manual_seed(0)
    net = regnet.regnet_y_400mf(num_classes=100)
    conv = net.trunk_output.block4[0].f.b[0]  # 440 maps, groups of 8
    w = conv.weight.numpy()
    assert conv.groups == 55 and w.size == 440 * 8 * 9
    assert abs(w.mean()) < 0.03 * math.sqrt(2 / (9 * 440))  # 5 standard errors
    assert w.std() == pytest.approx(math.sqrt(2 / (9 * 440)), rel=0.02)
    stem = net.stem[0].weight.numpy()
    assert stem.std() == pytest.approx(math.sqrt(2 / (9 * 32)), rel=0.2)
    assert net.fc.weight.numpy().std() == pytest.approx(0.01, rel=0.05) and not net.fc.bias.numpy().any()
    bn = net.trunk_output.block2[0].f.a[1]
    assert np.all(bn.weight.numpy() == 1) and not bn.bias.numpy().any()
    se = net.trunk_output.block1[0].f.se
    assert se.fc1.bias.numpy().any()  # torchvision leaves conv biases at their default


def test_mnasnet_initialisation_as_torchvision() -> None:
    mc.manual_seed(0)
    net = mnasnet.mnasnet0_5(num_classes=100)
    fc = net.classifier[1].weight.numpy()  # kaiming uniform, fan_out 100, gain 1: bound sqrt(3/100)
    bound = math.sqrt(3 / 100)
    assert np.abs(fc).max() <= bound and np.abs(fc).max() > 0.99 * bound
    conv = net.layers[-3].weight.numpy()  # 1280 x 160 x 1 x 1, kaiming normal fan_out
    assert conv.std() == pytest.approx(math.sqrt(2 / 1280), rel=0.02)


def test_signatures_as_torchvision() -> None:
    pairs = [
        (regnet.RegNet, tv_regnet.RegNet),
        (regnet.BlockParams, tv_regnet.BlockParams),
        (regnet.BlockParams.from_init_params, tv_regnet.BlockParams.from_init_params),
        (regnet.ResBottleneckBlock, tv_regnet.ResBottleneckBlock),
        (regnet.AnyStage, tv_regnet.AnyStage),
        (mnasnet.MNASNet, tv_mnasnet.MNASNet),
    ]
    for ours, theirs in pairs:
        a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(a) == list(b), ours.__qualname__
        assert all(a[k].default == b[k].default for k in b), ours.__qualname__


def test_constructor_errors() -> None:
    for bad in ({"w_0": 12}, {"w_m": 1.0}, {"w_a": -1.0}, {"w_0": 0}):
        settings = {"depth": 4, "w_0": 16, "w_a": 8.0, "w_m": 2.0, "group_width": 8, **bad}
        with pytest.raises(ValueError, match="Invalid RegNet settings"):
            tv_regnet.BlockParams.from_init_params(**settings)
        with pytest.raises(ValueError, match="Invalid RegNet settings"):
            regnet.BlockParams.from_init_params(**settings)
    with pytest.raises(ValueError, match="alpha should be greater than 0.0 instead of 0.0"):
        mnasnet.MNASNet(0.0)
    with pytest.raises(ValueError, match="stride should be 1 or 2 instead of 3"):
        mnasnet._InvertedResidual(8, 8, 3, 3, 3)
    with pytest.raises(ValueError, match="kernel_size should be 3 or 5 instead of 7"):
        mnasnet._InvertedResidual(8, 8, 7, 1, 3)
    with pytest.raises(TypeError):  # as torchvision: only RegNet's own keyword arguments
        regnet.regnet_x_400mf(bottleneck_multiplier=2.0)


def test_reprs_as_torchvision() -> None:
    """The models print exactly as torchvision's (RegNet's conv-norm-activation blocks are
    Conv2dNormActivation as there).
    RegNet calls ``activation(inplace=True)`` as torchvision does (hence ReLU(inplace=True)),
    so an activation without ``inplace`` is refused as there."""
    assert repr(mnasnet.MNASNet(0.5, num_classes=5)) == repr(tv_mnasnet.MNASNet(0.5, num_classes=5))
    ours = repr(regnet.RegNet(_small_params(regnet), num_classes=5, stem_width=16))
    theirs = repr(tv_regnet.RegNet(_small_params(tv_regnet), num_classes=5, stem_width=16))
    assert "ReLU(inplace=True)" in ours and "flatten" not in ours
    assert ours == theirs
    for lib, nn_lib in ((tv_regnet, torch.nn), (regnet, mc.nn)):
        with pytest.raises(TypeError, match="inplace"):
            lib.RegNet(_small_params(lib), activation=nn_lib.GELU)


# --------------------------------------------------------------------------------------
# on the GPU (or the fake CuPy): what the CPU computes

GPU_CASES = [
    ("regnet", lambda: regnet.RegNet(_small_params(regnet), num_classes=10, stem_width=16), 48),
    ("mnasnet0_5", lambda: mnasnet.mnasnet0_5(num_classes=10, dropout=0.0), 64),
]


@pytest.mark.slow
@pytest.mark.parametrize("device", devices()[1:])  # the "cuda" case only: the CPU is the reference
@pytest.mark.parametrize("name, build, size", GPU_CASES, ids=[c[0] for c in GPU_CASES])
def test_on_the_gpu_equals_the_cpu(device: str, name: str, build: Any, size: int) -> None:
    """Loss, input gradient and every parameter gradient of one training-mode step (batch
    norm on its running statistics) with ``model.to(device)`` equal the CPU's (float32)."""
    gpu_step_equals_cpu(build, device, (2, 3, size, size), eval_kinds=(mc.nn.BatchNorm2d,))
