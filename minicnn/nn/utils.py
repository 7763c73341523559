"""Model surgery: ``fully_convolutional`` turns a classifier's fully connected head into
convolutions, so that the network slides over images larger than it was trained on.

A Linear layer that reads the flattened C x H x W feature map is the same computation as a
convolution with C input maps and an H x W kernel applied at one position: its weight row
for output o, reshaped to (C, H, W), is that kernel. Every later Linear is a 1x1
convolution. On a larger image the converted network evaluates the classifier at every
position of the feature map, i.e. on every input crop of the native size at a step of the
network's stride (the product of the strides), sharing all the convolutional work between
overlapping crops (Sermanet et al., OverFeat, 2014; Long et al., FCN, 2015). Crops near
the border differ from the network run on the crop alone only where the crop's own zero
padding would have been: the big image supplies real pixels there.

The model declares its head by its layout, the one LeNet-5 (modern), AlexNet and VGG share:
``forward(x) = classifier(flatten(avgpool(features(x))))`` with ``avgpool`` optional and
``classifier`` a Sequential of Linear layers and elementwise layers (activations, dropout).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Tensor, no_grad
from .activation import LeakyReLU, ReLU, ReLU6, Sigmoid, Tanh
from .conv import Conv2d
from .dropout import Dropout, Dropout2d
from .linear import Flatten, Identity, Linear
from .module import Module, Parameter, Sequential

_ELEMENTWISE = (ReLU, ReLU6, LeakyReLU, Tanh, Sigmoid, Dropout, Dropout2d, Identity)


class FullyConvolutional(Module):
    """``features`` followed by the head as convolutions: (N, C, H, W) -> class-score map
    (N, num_classes, H' - h + 1, W' - w + 1), where H' x W' is the feature map of the input
    and h x w that of the native input size (1 x 1 at the native size). ``stride`` is the
    input distance between neighbouring cells of the score map."""

    def __init__(self, features: Module, classifier: Sequential, input_size: Sequence[int], stride: int) -> None:
        super().__init__()
        self.features = features
        self.classifier = classifier
        self.input_size = tuple(input_size)
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, stride={self.stride}"


def _chain_stride(features: Module) -> int:
    """Product of the strides of the layers in ``features`` (a chain of layers)."""
    stride = 1
    for m in features.modules():
        if not m._modules and hasattr(m, "kernel_size") and hasattr(m, "stride"):
            s = m.stride if m.stride is not None else m.kernel_size
            s = s[0] if isinstance(s, (tuple, list)) else s
            stride *= int(s)
    return stride


def fully_convolutional(model: Module, input_size: Sequence[int] | None = None) -> FullyConvolutional:
    """Return a network equal to ``model`` at its native input size whose fully connected
    layers are convolutions: the first Linear becomes a conv whose kernel is the whole last
    feature map, the following ones 1x1 convs. Accepts larger images and returns a map of
    class scores (N, num_classes, H_out, W_out); at the native size H_out = W_out = 1 and
    the scores equal the model's logits.

    ``input_size`` (C, H, W) is the native size, by default ``model.input_size``. The
    returned module shares ``model.features`` (not a copy); the convolutions hold copies of
    the Linear weights, so ``model`` itself is unchanged. The model must have ``features``
    and a Sequential ``classifier`` (and optionally ``avgpool``, which must be the identity
    at the native size, as AlexNet's and VGG's adaptive pools are at 224x224).
    """
    for attr in ("features", "classifier"):
        if not isinstance(getattr(model, attr, None), Module):
            raise TypeError(
                f"fully_convolutional: {type(model).__name__} has no '{attr}' module; expected the layout "
                "forward(x) = classifier(flatten(avgpool(features(x))))"
            )
    if input_size is None:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(f"fully_convolutional: {type(model).__name__} has no input_size; pass (C, H, W)")
    input_size = tuple(int(s) for s in input_size)
    pool = getattr(model, "avgpool", None)

    modes = {id(m): m.training for m in model.modules()}
    model.eval()
    try:
        with no_grad():
            dtype = next(iter(model.parameters())).dtype
            probe = Tensor(np.zeros((1, *input_size), dtype=dtype)).to(next(iter(model.parameters())).device)
            fmap = model.features(probe)
            if pool is not None and tuple(pool(fmap).shape) != tuple(fmap.shape):
                raise ValueError(
                    f"fully_convolutional: {type(model).__name__}.avgpool changes the feature map "
                    f"{tuple(fmap.shape[1:])} at the native size {input_size}; it cannot be dropped"
                )
    finally:
        for m in model.modules():
            object.__setattr__(m, "training", modes[id(m)])
    if fmap.ndim != 4:
        raise ValueError(f"fully_convolutional: features must end in a (N, C, H, W) map, got shape {fmap.shape}")
    c, h, w = fmap.shape[1:]

    head = list(model.classifier) if isinstance(model.classifier, Sequential) else [model.classifier]
    layers: list[Module] = []
    first = True
    for m in head:
        if isinstance(m, Linear):
            k = (h, w) if first else (1, 1)
            c_in = c if first else m.in_features
            if c_in * k[0] * k[1] != m.in_features:
                raise ValueError(
                    f"fully_convolutional: Linear({m.in_features}, {m.out_features}) does not read the "
                    f"{c}x{h}x{w} feature map"
                )
            conv = Conv2d(c_in, m.out_features, kernel_size=k, bias=m.bias is not None)
            conv.weight = Parameter(m.weight.array.reshape(m.out_features, c_in, *k).copy())
            if m.bias is not None:
                conv.bias = Parameter(m.bias.array.copy())
            layers.append(conv)
            first = False
        elif isinstance(m, Flatten):
            continue
        elif isinstance(m, _ELEMENTWISE) or getattr(m, "elementwise", False):
            layers.append(m)
        else:
            raise TypeError(
                f"fully_convolutional: cannot convert {type(m).__name__} in the classifier "
                "(only Linear, Flatten and elementwise layers)"
            )
    if first:
        raise ValueError(f"fully_convolutional: {type(model).__name__}.classifier has no Linear layer")
    return FullyConvolutional(model.features, Sequential(*layers), input_size, _chain_stride(model.features))


__all__ = ["FullyConvolutional", "fully_convolutional"]
