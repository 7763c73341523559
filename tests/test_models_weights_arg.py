"""torchvision's ``weights=`` / ``progress=`` keywords on ``mc.models`` constructors
(minicnn/models/_weights.py): ``weights=None`` builds the randomly initialised model, as
``torchvision.models.resnet18(weights=None)`` does; minicnn downloads nothing, so other
weights raise a ValueError telling how to load torchvision's."""

from __future__ import annotations

import inspect

import pytest
import torchvision
from conftest import n_params

import minicnn as mc


@pytest.mark.parametrize("name", ["resnet18", "lenet5", "mobilenet_v2", "squeezenet1_1"])
def test_weights_none_builds_the_model(name):
    mc.manual_seed(0)
    a = getattr(mc.models, name)(weights=None, progress=False, num_classes=10)
    mc.manual_seed(0)
    b = getattr(mc.models, name)(num_classes=10)
    assert type(a) is type(b)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and (va == vb).all()
    params = inspect.signature(getattr(mc.models, name)).parameters
    assert params["weights"].default is None and params["progress"].default is True


def test_resnet18_weights_none_as_torchvision():
    ours, theirs = mc.models.resnet18(weights=None), torchvision.models.resnet18(weights=None)
    assert n_params(ours) == n_params(theirs) and list(ours.state_dict()) == list(theirs.state_dict())


def test_pretrained_weights_are_refused_with_the_way_to_load_them():
    with pytest.raises(ValueError, match=r"resnet18: minicnn does not download.*load_state_dict"):
        mc.models.resnet18(weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="does not download"):
        mc.models.vgg11(weights=torchvision.models.VGG11_Weights.DEFAULT)
