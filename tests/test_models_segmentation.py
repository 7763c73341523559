"""FCN, DeepLabV3 and Lite R-ASPP (mc.models.segmentation) against torchvision (the oracle).

- every constructor, with and without the auxiliary head: parameter count, state-dict keys
  (in order) and shapes, and the printout equal torchvision's (built on the ``meta`` device);
- fcn_resnet50, deeplabv3_resnet50, deeplabv3_mobilenet_v3_large and
  lraspp_mobilenet_v3_large on torchvision's weights (batch norm randomised), float64, on an
  odd-sized input: eval-mode "out" and "aux" maps, then in training mode (dropout off on both
  sides, as its draws differ) the loss out + 0.5 aux, the gradients of the input and of every
  parameter, and the running statistics afterwards;
- IntermediateLayerGetter on its own, ``mc.summary`` on a model, the constructors' errors.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from conftest import check_gradients_like_torch, n_params, randomise_batch_norm, rel_err, skipped_init, torchvision_twin

import minicnn as mc
from minicnn.models import segmentation as MS
from minicnn.models.resnet import resnet18
from minicnn.nn import functional as F

TVS = torchvision.models.segmentation


def build_torchvision(name: str, **kwargs: Any) -> torch.nn.Module:
    """torchvision's model with no weights downloaded (``weights_backbone=None``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(TVS, name)(weights_backbone=None, **kwargs)


def twin(name: str, seed: int = 0, **kwargs: Any) -> tuple[mc.nn.Module, torch.nn.Module]:
    """(ours, torchvision's) with torchvision's weights (batch norm randomised), float64."""
    return torchvision_twin(lambda: getattr(MS, name)(**kwargs), lambda: build_torchvision(name, **kwargs), seed)


def no_dropout(ours: mc.nn.Module, tv: torch.nn.Module) -> None:
    for m in ours.modules():
        if isinstance(m, mc.nn.Dropout):
            m.p = 0.0
    for m in tv.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0


def check_parity(ours: mc.nn.Module, tv: torch.nn.Module, shape: tuple[int, ...], seed: int = 0) -> dict[str, float]:
    """Eval maps, then a training-mode forward, loss and backward: loss, input gradient,
    every parameter gradient and the running statistics. Returns the eval maps' relative
    differences by key."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    n, _, h, w = shape
    ours.eval()
    tv.eval()
    with mc.no_grad(), torch.no_grad():
        a, b = ours(mc.tensor(x)), tv(torch.from_numpy(x))
    assert isinstance(a, OrderedDict)
    assert list(a) == list(b)
    errs = {}
    for key in b:
        assert a[key].shape == tuple(b[key].shape) == (n, b[key].shape[1], h, w)
        errs[key] = rel_err(a[key].numpy(), b[key].numpy())
        assert errs[key] < 1e-10, key

    no_dropout(ours, tv)
    ours.train()
    tv.train()
    k = b["out"].shape[1]
    y = rng.integers(0, k, size=(n, h, w))
    xm = mc.tensor(x, requires_grad=True)
    outs = ours(xm)
    loss = F.cross_entropy(outs["out"], mc.tensor(y))
    if "aux" in outs:
        loss = loss + 0.5 * F.cross_entropy(outs["aux"], mc.tensor(y))
    loss.backward()
    xt = torch.tensor(x, requires_grad=True)
    touts = tv(xt)
    yt = torch.from_numpy(y)
    ref = torch.nn.functional.cross_entropy(touts["out"], yt)
    if "aux" in touts:
        ref = ref + 0.5 * torch.nn.functional.cross_entropy(touts["aux"], yt)
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-10)
    check_gradients_like_torch(ours, tv, xm, xt)
    return errs


# --------------------------------------------------------------------------------------
# every constructor: counts, keys, shapes, printout

CONSTRUCTORS = [
    ("fcn_resnet50", {"aux_loss": True}, 35_322_218),
    ("fcn_resnet50", {}, 32_957_013),
    ("fcn_resnet101", {"aux_loss": True}, 54_314_346),
    ("fcn_resnet101", {}, None),
    ("deeplabv3_resnet50", {"aux_loss": True}, 42_004_074),
    ("deeplabv3_resnet50", {"num_classes": 5}, None),
    ("deeplabv3_resnet101", {"aux_loss": True}, 60_996_202),
    ("deeplabv3_resnet101", {}, None),
    ("deeplabv3_mobilenet_v3_large", {"aux_loss": True}, 11_029_328),
    ("deeplabv3_mobilenet_v3_large", {}, None),
    ("lraspp_mobilenet_v3_large", {}, 3_221_538),
    ("lraspp_mobilenet_v3_large", {"num_classes": 7}, None),
]


@pytest.mark.parametrize(
    "name, kwargs, expected", CONSTRUCTORS, ids=[f"{n}-{'-'.join(map(str, k.values()))}" for n, k, _ in CONSTRUCTORS]
)
def test_counts_keys_shapes_and_printout_equal_torchvision(name: str, kwargs: dict, expected: int | None) -> None:
    with torch.device("meta"):
        tv = build_torchvision(name, **kwargs)
    with skipped_init():
        ours = getattr(MS, name)(**kwargs)
    if expected is not None:  # torchvision's published number (its weights' meta) or our docstring's
        assert n_params(tv) == expected
    assert n_params(ours) == n_params(tv)
    tv_sd, our_sd = tv.state_dict(), ours.state_dict()
    assert list(our_sd) == list(tv_sd)  # same keys in the same order
    for k, v in tv_sd.items():
        assert our_sd[k].shape == tuple(v.shape), k
    assert repr(ours) == repr(tv)
    if hasattr(tv, "aux_classifier"):
        assert (ours.aux_classifier is None) == (tv.aux_classifier is None) == (not kwargs.get("aux_loss"))


# --------------------------------------------------------------------------------------
# forward and training-mode gradients equal torchvision's


PARITY = [
    ("fcn_resnet50", {"aux_loss": True, "num_classes": 5}, (2, 3, 65, 49)),
    ("deeplabv3_resnet50", {"aux_loss": True, "num_classes": 4}, (2, 3, 64, 64)),
    ("deeplabv3_mobilenet_v3_large", {"aux_loss": True, "num_classes": 3}, (2, 3, 65, 49)),
    ("lraspp_mobilenet_v3_large", {"num_classes": 6}, (2, 3, 61, 70)),
]


@pytest.mark.parametrize("name, kwargs, shape", PARITY, ids=[p[0] for p in PARITY])
def test_model_equals_torchvision(name: str, kwargs: dict, shape: tuple[int, ...]) -> None:
    ours, tv = twin(name, **kwargs)
    errs = check_parity(ours, tv, shape)
    assert set(errs) == ({"out", "aux"} if kwargs.get("aux_loss") else {"out"})


def test_heads_equal_torchvision_on_their_own() -> None:
    """ASPP with other rates and widths, and the LRASPP head, outside a model (float64)."""
    rng = np.random.default_rng(3)
    torch.manual_seed(3)
    pairs: list[tuple[Callable[[], Any], Callable[[], Any], Any]] = [
        (lambda: MS.ASPP(6, [1, 2], out_channels=8), lambda: TVS.deeplabv3.ASPP(6, [1, 2], out_channels=8), None),
        (lambda: MS.FCNHead(12, 3), lambda: TVS.fcn.FCNHead(12, 3), None),
        (lambda: MS.LRASPPHead(5, 7, 3, 4), lambda: TVS.lraspp.LRASPPHead(5, 7, 3, 4), "dict"),
    ]
    for build, tv_build, kind in pairs:
        tv = tv_build().double()
        randomise_batch_norm(tv, 3)
        ours = build().to(np.float64)
        ours.load_state_dict({k: v.numpy() for k, v in tv.state_dict().items()})
        assert repr(ours) == repr(tv)
        ours.eval()
        tv.eval()
        if kind == "dict":
            low, high = rng.standard_normal((2, 5, 9, 7)), rng.standard_normal((2, 7, 5, 4))
            a = ours({"low": mc.tensor(low), "high": mc.tensor(high)}).numpy()
            b = tv({"low": torch.from_numpy(low), "high": torch.from_numpy(high)}).detach().numpy()
        else:
            x = rng.standard_normal((2, 6 if isinstance(ours, MS.ASPP) else 12, 7, 5))
            a, b = ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).detach().numpy()
        assert a.shape == b.shape
        assert rel_err(a, b) < 1e-12


# --------------------------------------------------------------------------------------
# IntermediateLayerGetter, summary, errors


def test_intermediate_layer_getter_is_torchvisions() -> None:
    with skipped_init():
        ours = MS.IntermediateLayerGetter(resnet18(), {"layer1": "feat1", "layer3": "feat2"})
    with torch.device("meta"):
        tv = torchvision.models._utils.IntermediateLayerGetter(
            torchvision.models.resnet18(), {"layer1": "feat1", "layer3": "feat2"}
        )
    assert list(ours.keys()) == list(tv.keys()) == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3"]
    assert repr(ours) == repr(tv)
    assert list(ours.state_dict()) == list(tv.state_dict())
    with np.errstate(invalid="ignore"):  # uninitialised arrays; eval batch norm needs none of them finite
        ours.to(np.float64)
    out = ours(mc.tensor(np.random.default_rng(0).standard_normal((1, 3, 40, 36))))
    assert isinstance(out, OrderedDict)
    assert [(k, v.shape) for k, v in out.items()] == [("feat1", (1, 64, 10, 9)), ("feat2", (1, 256, 3, 3))]
    with pytest.raises(ValueError, match="return_layers are not present in model"):
        MS.IntermediateLayerGetter(resnet18(), {"layer5": "x"})


def test_summary_runs_on_a_segmentation_model() -> None:
    model = MS.lraspp_mobilenet_v3_large(num_classes=4)
    s = mc.summary(model, (3, 48, 40), verbose=False)
    # 21 -> 4 classes takes 17 rows off each of the two 1x1 classifiers (40 and 128 inputs, + bias)
    assert s.totals["params"] == n_params(model) == 3_221_538 - 17 * (40 + 1) - 17 * (128 + 1)
    assert s.totals["multiply_adds"] > 0
    assert s.totals["output_shape"] == {"out": (1, 4, 48, 40)}  # the dict of maps, at the input size


def test_constructors_refuse_what_torchvision_refuses() -> None:
    with pytest.raises(NotImplementedError, match="does not use auxiliary loss"):
        MS.lraspp_mobilenet_v3_large(aux_loss=True)
    with pytest.raises(TypeError):
        MS.fcn_resnet50(5)  # keyword-only, as torchvision's
    with pytest.raises(TypeError, match="unexpected keyword"):
        MS.lraspp_mobilenet_v3_large(dilated=False)
    with pytest.raises(ValueError, match=r"FCN: expected input of shape \(N, C, H, W\), got \(3, 8, 8\)"):
        MS.FCN(MS.IntermediateLayerGetter(mc.nn.Sequential(mc.nn.ReLU()), {"0": "out"}), mc.nn.ReLU())(
            mc.zeros(3, 8, 8)
        )
