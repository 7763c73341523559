"""Lazy modules: layers whose input size is inferred at the first forward (torch's
``LazyModuleMixin`` and its layers, with torch's signatures).

A lazy layer is built with :class:`~minicnn.nn.parameter.UninitializedParameter` s (and, for
batch and instance norm, :class:`~minicnn.nn.parameter.UninitializedBuffer` s) in place of
the tensors whose shape depends on the input. A forward pre-hook runs
``initialize_parameters(*args, **kwargs)`` before the first forward: it reads the input size
(``in_features = x.shape[-1]``, ``in_channels`` / ``num_features`` = the channel dimension),
materialises the tensors and calls ``reset_parameters()``, which draws exactly what the eager
layer's constructor draws, in the same order -- so after ``mc.manual_seed(s)`` a
``LazyLinear(5)`` run on (*, 3) inputs holds the weights of ``Linear(3, 5)``. Then the hooks
are removed and the object becomes the eager class (``cls_to_become``: LazyLinear -> Linear),
so from the second call on it costs what the eager layer costs.

Before that first forward, ``Module.to(dtype/device)`` changes what the tensors will be;
``state_dict()`` holds the uninitialised tensors themselves (as torch); ``load_state_dict``
of initialised values materialises them with the checkpoint's shapes (the inferred size is
then checked against the first input). Using an uninitialised tensor in an op raises a
ValueError that says to run a forward first. Optimisers may be built before the first
forward, as in torch: they hold the same objects, which become Parameters in place.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..ops.errors import ShapeError
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .conv3d import BatchNorm3d, Conv3d, ConvTranspose3d, InstanceNorm3d
from .layernorm import InstanceNorm1d, InstanceNorm2d
from .linear import Linear
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d
from .parameter import UninitializedBuffer, UninitializedParameter, is_lazy

__all__ = [
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LazyLinear",
    "LazyModuleMixin",
]


def _shape_of(value: Any) -> tuple[int, ...]:
    """The shape of a checkpoint value (Tensor, NumPy/CuPy array, nested lists)."""
    return tuple(value.shape) if hasattr(value, "shape") else np.shape(value)


class LazyModuleMixin:
    """Mixed in before a Module class: shapes are inferred at the first forward.

    A subclass creates its shape-dependent tensors as UninitializedParameter/-Buffer and
    implements ``initialize_parameters(*args, **kwargs)`` (the forward's arguments), which
    materialises them all; ``cls_to_become`` (or None) is the class the module takes afterwards.
    """

    cls_to_become: type[Module] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        """As Module's, but an uninitialised tensor is saved as itself (torch's)."""
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            if t is None or name in self._non_persistent:
                continue
            if is_lazy(t) or keep_vars:
                destination[prefix + name] = t
            else:
                destination[prefix + name] = backend.to_numpy(t.array).copy()

    def _lazy_load_hook(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        """Load pre-hook: each uninitialised tensor with an initialised value in ``state_dict``
        is materialised with that value's shape (the load then copies the value in)."""
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if t is not None and key in state_dict and is_lazy(t) and not is_lazy(state_dict[key]):
                t.materialize(_shape_of(state_dict[key]))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Infer the shapes from the forward's arguments and materialise every uninitialised tensor."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether any own parameter or buffer is still uninitialised."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(), self._buffers.values()))

    def _infer_parameters(self, module: Module, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
        """The forward pre-hook: initialise, drop both hooks and become ``cls_to_become``."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        del module._initialize_hook
        del module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self) -> Any:
        raise RuntimeError(
            "Modules with uninitialized parameters can't be used with `DataParallel`. "
            "Run a dummy forward pass to correctly initialize the modules"
        )


def _check_tensor(module: Module, input: Any, min_ndim: int) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{type(module).__name__}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < min_ndim:
        raise ShapeError(f"{type(module).__name__}: cannot infer the input size from an input of shape {input.shape}")


def _check_loaded(module: Module, name: str, inferred: int, loaded: int) -> None:
    """After a load into the lazy module: the size the input shows must be the checkpoint's."""
    if inferred != loaded:
        raise ShapeError(
            f"{type(module).__name__}: the {name} inferred from the input ({inferred}) is not equal to "
            f"the {name} of the loaded weights ({loaded})"
        )


# -- linear ---------------------------------------------------------------------------------------


class LazyLinear(LazyModuleMixin, Linear):
    """:class:`~minicnn.nn.linear.Linear` with ``in_features`` inferred from ``input.shape[-1]``
    at the first forward (then it becomes a Linear). weight (out_features, in_features), bias
    (out_features,), drawn as Linear's."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, False, device, dtype)  # bias False: nothing to allocate and drop
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        """Infer ``in_features`` from ``input`` (*, in_features) and initialise weight and bias."""
        _check_tensor(self, input, 1)
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        if self.in_features == 0:  # loaded from a state dict
            _check_loaded(self, "in_features", input.shape[-1], self.weight.shape[-1])
            self.in_features = input.shape[-1]


# -- convolutions ---------------------------------------------------------------------------------


class _LazyConvXdMixin(LazyModuleMixin):
    """What the lazy (transposed) convolutions share: ``in_channels`` is the channel dimension
    of the first input, (N, C_in, *spatial) or unbatched (C_in, *spatial)."""

    transposed = False

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        """Infer ``in_channels`` from ``input`` and initialise weight and bias."""
        in_channels = self._get_in_channels(input)
        if self.has_uninitialized_params():
            self.in_channels = in_channels
            if in_channels % self.groups:
                raise ValueError(
                    f"{type(self).__name__}: in_channels ({in_channels}) must be divisible by groups ({self.groups})"
                )
            per_group = (in_channels, self.out_channels // self.groups)
            if not self.transposed:
                per_group = (self.out_channels, in_channels // self.groups)
            self.weight.materialize((*per_group, *self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()
        if self.in_channels == 0:  # loaded from a state dict (torch leaves 0 here)
            loaded = self.weight.shape[0] if self.transposed else self.weight.shape[1] * self.groups
            _check_loaded(self, "in_channels", in_channels, loaded)
            self.in_channels = in_channels

    def _get_in_channels(self, input: Tensor) -> int:
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor input, got {type(input).__name__}")
        unbatched = self.dims + 1
        if input.ndim not in (unbatched, unbatched + 1):
            raise ShapeError(
                f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to {type(self).__name__}, "
                f"but got input of size: {input.shape}"
            )
        return input.shape[1] if input.ndim == unbatched + 1 else input.shape[0]


class _LazyConv(_LazyConvXdMixin):
    """The constructor of LazyConv1d/2d/3d: the eager one with in_channels 0 and no bias,
    then uninitialised weight and bias."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        **extra: Any,
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device, dtype, **extra
        )
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """:class:`~minicnn.nn.conv.Conv1d` with ``in_channels`` inferred from the first input."""

    cls_to_become = Conv1d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype
        )


class LazyConv2d(_LazyConv, Conv2d):
    """:class:`~minicnn.nn.conv.Conv2d` with ``in_channels`` inferred from the first input
    (``algo`` is Conv2d's keyword-only kernel choice)."""

    cls_to_become = Conv2d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        algo: str = "auto",
    ) -> None:
        super().__init__(
            out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype, algo=algo
        )


class LazyConv3d(_LazyConv, Conv3d):
    """:class:`~minicnn.nn.conv3d.Conv3d` with ``in_channels`` inferred from the first input."""

    cls_to_become = Conv3d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype
        )


class _LazyConvTranspose(_LazyConvXdMixin):
    """The constructor of LazyConvTranspose1d/2d/3d (weight (in_channels, out_channels/groups, *k))."""

    transposed = True

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode, device, dtype
        )
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """:class:`~minicnn.nn.conv.ConvTranspose1d` with ``in_channels`` inferred from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """:class:`~minicnn.nn.conv.ConvTranspose2d` with ``in_channels`` inferred from the first input."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """:class:`~minicnn.nn.conv3d.ConvTranspose3d` with ``in_channels`` inferred from the first input."""

    cls_to_become = ConvTranspose3d


# -- batch and instance norm ----------------------------------------------------------------------


class _LazyNormBase(LazyModuleMixin):
    """Lazy batch and instance norm: ``num_features`` is the channel dimension of the first
    input; weight, bias (if ``affine``), running_mean and running_var (if
    ``track_running_stats``) start uninitialised. torch's defaults, also for instance norm:
    ``affine=True, track_running_stats=True``."""

    _spatial: int | None = None  # instance norm: the spatial dims (the channel dim of an unbatched input)

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            with backend.device_scope(device):
                self.num_batches_tracked = backend.xp_for_device(device).zeros((), dtype=np.int64)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _channel_dim(self, input: Tensor) -> int:
        unbatched = self._spatial is not None and input.ndim == self._spatial + 1
        return 0 if unbatched else 1

    def initialize_parameters(self, input: Tensor) -> None:
        """Infer ``num_features`` from ``input``'s channel dimension and initialise."""
        _check_tensor(self, input, 2)
        num_features = input.shape[self._channel_dim(input)]
        if self.has_uninitialized_params():
            self.num_features = num_features
            for t in (self.weight, self.bias, self.running_mean, self.running_var):
                if t is not None:
                    t.materialize((num_features,))
            self.reset_parameters()
        if self.num_features == 0:  # loaded from a state dict, or nothing to infer (torch leaves 0)
            loaded = next((t.shape[0] for t in (self.weight, self.running_mean) if t is not None), num_features)
            _check_loaded(self, "num_features", num_features, loaded)
            self.num_features = num_features


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """:class:`~minicnn.nn.normalization.BatchNorm1d` with ``num_features`` inferred from ``input.shape[1]``."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """:class:`~minicnn.nn.normalization.BatchNorm2d` with ``num_features`` inferred from ``input.shape[1]``."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """:class:`~minicnn.nn.conv3d.BatchNorm3d` with ``num_features`` inferred from ``input.shape[1]``."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    """:class:`~minicnn.nn.layernorm.InstanceNorm1d` with ``num_features`` inferred from the
    channel dimension of (N, C, L) or (C, L)."""

    cls_to_become = InstanceNorm1d
    _spatial = 1


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    """:class:`~minicnn.nn.layernorm.InstanceNorm2d` with ``num_features`` inferred from the
    channel dimension of (N, C, H, W) or (C, H, W)."""

    cls_to_become = InstanceNorm2d
    _spatial = 2


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    """:class:`~minicnn.nn.conv3d.InstanceNorm3d` with ``num_features`` inferred from the
    channel dimension of (N, C, D, H, W) or (C, D, H, W)."""

    cls_to_become = InstanceNorm3d
    _spatial = 3
