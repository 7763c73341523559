"""``mc.nn.utils``: gradient clipping, flattening parameters to one vector and back, and
model surgery.

As in torch, also: the submodules ``parametrize`` (tensors computed from others on access),
``parametrizations`` (weight_norm, spectral_norm as parametrizations), ``fusion``
(folding an eval BatchNorm into the conv/linear before it, whose functions are also here),
``prune`` (zeroing weights through masks, :mod:`minicnn.nn.prune`) and ``stateless`` (the
deprecated ``functional_call``, :mod:`minicnn.func`'s), and the older hook-based
``weight_norm`` / ``spectral_norm`` with their ``remove_*`` (:mod:`minicnn.nn.norm_hooks`).
``import minicnn.nn.utils.parametrize`` works like torch's ``import torch.nn.utils.parametrize``.

Gradient clipping, as ``torch.nn.utils``: ``clip_grad_norm_`` scales all gradients together
so that their joint ``norm_type``-norm is at most ``max_norm``; ``clip_grad_value_`` clamps
each gradient element to ``[-clip_value, clip_value]``. Both run on the gradients' own arrays
(NumPy or CuPy) and never read a GPU value back to the host: the total norm stays a 0-d tensor
on the device and the scale factor is applied unconditionally (a factor of 1 when no clipping
is needed), as in torch.

Model surgery: ``fully_convolutional`` turns a classifier's fully connected head into
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

import inspect
import math
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad
from ..ops.shape import cat
from . import fusion, parametrizations, parametrize, prune, stateless
from . import utils_rnn as rnn
from .activation import LeakyReLU, ReLU, ReLU6, Sigmoid, Tanh
from .conv import Conv2d
from .dropout import Dropout, Dropout2d
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .linear import Flatten, Identity, Linear
from .module import Module, Parameter, Sequential
from .norm_hooks import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm

# torch.nn.utils is a package: make ``import minicnn.nn.utils.parametrize`` (and the others) work too
for _sub in (fusion, parametrizations, parametrize, prune, stateless):
    sys.modules[f"{__name__}.{_sub.__name__.rpartition('.')[2]}"] = _sub
sys.modules[f"{__name__}.rnn"] = rnn  # torch.nn.utils.rnn (minicnn/nn/utils_rnn.py)

_ELEMENTWISE = (ReLU, ReLU6, LeakyReLU, Tanh, Sigmoid, Dropout, Dropout2d, Identity)


# -- gradient clipping ------------------------------------------------------------------------
def _tensor_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(x: Any, norm_type: float) -> Any:
    """torch.linalg.vector_norm of the array ``x`` (all elements) as a 0-d array of its device:
    max |x| for inf, min |x| for -inf, the count of nonzeros for 0, else (sum |x|^p)^(1/p)."""
    xp = backend.get_array_module(x)
    a = xp.abs(x)
    if abs(norm_type) == math.inf and a.size == 0:
        raise RuntimeError(
            f"get_total_norm: cannot compute the {norm_type} norm of an empty tensor: the operation does not have an "
            "identity"
        )
    if norm_type == math.inf:
        return a.max()
    if norm_type == -math.inf:
        return a.min()
    if norm_type == 0:
        return (a != 0).sum().astype(x.dtype)
    if norm_type == 1:
        return a.sum()
    if norm_type == 2:
        return xp.sqrt((a * a).sum())
    return (a**norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The ``norm_type``-norm of ``tensors`` (one tensor or an iterable) viewed as one vector: the
    norm of the per-tensor norms, as a 0-d Tensor on the first tensor's device (float32 0 for no
    tensors). With ``error_if_nonfinite`` a nan/inf norm raises RuntimeError, on a GPU at the next
    host read (``mc.backend.raise_if``). ``foreach`` is accepted and ignored (one path here)."""
    del foreach
    arrays = [t.array for t in _tensor_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor(np.array(0.0, dtype=np.float32))
    first = backend.device_of(arrays[0])
    norms = []
    for a in arrays:
        with backend.array_scope(a):
            norms.append(backend.to_device(_vector_norm(a, norm_type), first))
    with backend.device_scope(first):
        xp = backend.get_array_module(norms[0])
        total = _vector_norm(xp.stack(norms), norm_type)
        if error_if_nonfinite:
            backend.raise_if(
                ~xp.isfinite(total),
                RuntimeError,
                f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot "
                "be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
                "`error_if_nonfinite=False`",
            )
    return Tensor(total)


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor, foreach: bool | None = None
) -> None:
    """Scale the gradients of ``parameters`` in place by ``min(max_norm / (total_norm + 1e-6), 1)``,
    ``total_norm`` being a 0-d Tensor (or a number), e.g. from :func:`get_total_norm` of the
    gradients. Parameters without a gradient are skipped; ``foreach`` is accepted and ignored."""
    del foreach
    grads = [p.grad for p in _tensor_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm.array if isinstance(total_norm, Tensor) else np.asarray(float(total_norm))
    with backend.array_scope(total):
        xp = backend.get_array_module(total)
        # xp.minimum propagates nan as torch's clamp does
        coef = xp.minimum(float(max_norm) / (total + 1e-6), xp.asarray(1.0, dtype=total.dtype))
    for g in grads:
        with backend.array_scope(g.array), np.errstate(invalid="ignore"):  # inf * 0 gives nan quietly, as torch
            # a new array rather than an in-place write: a gradient array may be shared
            g.array = g.xp.asarray(g.array * backend.to_device(coef, g.device).astype(g.dtype))  # 0-d: an array


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients of ``parameters`` (one tensor or an iterable; those without a
    gradient are skipped) in place so that their total norm is at most ``max_norm``:
    :func:`get_total_norm` of the gradients, then :func:`clip_grads_with_norm_`.

    The total norm is the ``norm_type``-norm of the per-gradient norms (``inf`` for the largest
    magnitude), i.e. the norm of all gradients concatenated. Every gradient is multiplied by
    ``min(max_norm / (total_norm + 1e-6), 1)``. Returns the total norm (before clipping) as a
    0-d Tensor on the gradients' device (float32 0 when there is no gradient). With
    ``error_if_nonfinite`` a nan/inf total norm raises RuntimeError, on a GPU at the next host
    read (``mc.backend.raise_if``) rather than by stopping the GPU now. ``foreach`` is accepted
    for torch compatibility and ignored.
    """
    params = _tensor_list(parameters)
    total = get_total_norm([p.grad for p in params if p.grad is not None], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated (a FutureWarning, as torch): :func:`clip_grad_norm_`."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element of ``parameters`` to ``[-clip_value, clip_value]`` (those
    without a gradient are skipped; nan stays nan). ``foreach`` is accepted and ignored."""
    del foreach
    clip_value = float(clip_value)
    for p in _tensor_list(parameters):
        if p.grad is not None:
            g = p.grad.array
            with backend.array_scope(g):
                xp = backend.get_array_module(g)
                p.grad.array = xp.asarray(xp.clip(g, -clip_value, clip_value).astype(g.dtype))  # 0-d: an array


# -- parameters as one vector ---------------------------------------------------------------
def skip_init(module_cls: type[Module], *args: Any, **kwargs: Any) -> Module:
    """torch.nn.utils.skip_init: ``module_cls(*args, **kwargs)`` with its parameters left for the
    caller to fill. torch builds the module on the meta device and then ``to_empty``; minicnn has
    no meta device, so here the module is simply constructed (its parameters are initialised; the
    caller overwrites them anyway). As torch: the class must be a Module taking ``device``."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)


def _check_one_device(tensors: list[Tensor], name: str) -> None:
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise TypeError(f"{name}: found parameters on different devices {sorted(devices)}")


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-d tensor (differentiable, as torch)."""
    params = _tensor_list(parameters)
    _check_one_device(params, "parameters_to_vector")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's data the next slice of the 1-d ``vec``, reshaped: like torch's
    ``param.data = ...``, a view that shares memory with ``vec``."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    params = _tensor_list(parameters)
    _check_one_device(params + [vec], "vector_to_parameters")
    flat = vec.array.reshape(-1)
    pointer = 0
    for p in params:
        n = p.numel()
        if pointer + n > flat.size:
            raise RuntimeError(f"vector_to_parameters: {flat.size} elements are too few for the parameters")
        p.array = flat[pointer : pointer + n].reshape(p.shape)
        pointer += n


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

    def forward(self, input: Tensor) -> Tensor:
        return self.classifier(self.features(input))

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


__all__ = [
    "FullyConvolutional",
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "fully_convolutional",
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
    "fusion",
    "get_total_norm",
    "parameters_to_vector",
    "parametrizations",
    "parametrize",
    "prune",
    "remove_spectral_norm",
    "remove_weight_norm",
    "skip_init",
    "spectral_norm",
    "stateless",
    "vector_to_parameters",
    "weight_norm",
]
