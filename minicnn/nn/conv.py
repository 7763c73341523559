"""The convolution layers: Conv2d, Conv1d, ConvTranspose2d/1d, Unfold and Fold (PyTorch's
signatures, parameter names and initialisation)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..kernels.conv import ALGOS
from ..kernels.conv_shapes import pair
from ..ops.conv import conv2d
from ..ops.conv1d import conv1d, conv_transpose1d
from ..ops.conv_transpose import conv_transpose2d, fold, unfold
from ..ops.errors import ShapeError
from ..ops.pad import pad
from .linear import register_weight_and_bias, reset_weight_and_bias
from .module import Module


class _ConvNd(Module):
    """What Conv1d, Conv2d and Conv3d share (torch's ``_ConvNd``): the checks, the stored
    settings (tuples of ``dims`` ints), the weight (out_channels, in_channels/groups, *kernel)
    and bias (out_channels,) with torch's init -- weight ~ kaiming_uniform(a=sqrt(5)) =
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = in_channels/groups * prod(kernel) -- and ``padding_mode`` (anything but "zeros"
    pads with F.pad first, then convolves with padding 0, as torch). ``device`` and ``dtype``
    are torch's factory arguments. A subclass gives ``dims``, ``_tuple`` (an int or a sequence
    -> a tuple of dims ints) and ``_conv`` (the call of its functional)."""

    dims = 2

    def __init__(
        self,
        in_channels: int,
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
        super().__init__()
        name = type(self).__name__
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must be divisible by groups ({groups})"
            )
        _check_padding_mode(padding_mode)
        stride = self._tuple(stride, "stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: padding must be 'same', 'valid', an int or a tuple of {self.dims} ints, got {padding!r}"
                )
            if padding == "same" and stride != (1,) * self.dims:
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        else:
            padding = self._tuple(padding, "padding")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = self._tuple(kernel_size, "kernel_size")
        self.stride, self.padding, self.dilation = stride, padding, self._tuple(dilation, "dilation")
        self.groups, self.padding_mode = groups, padding_mode
        register_weight_and_bias(
            self, (out_channels, in_channels // groups, *self.kernel_size), out_channels, bias, dtype, device
        )
        self._reversed_padding_repeated_twice = _reversed_padding(self.padding, self.kernel_size, self.dilation)

    @staticmethod
    def _tuple(v: Any, name: str) -> tuple[int, ...]:
        return pair(v, name)

    def _conv(self, x: Tensor, padding: Any, layer: str) -> Tensor:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self)

    def forward(self, input: Tensor) -> Tensor:
        input, padding = _pad_by_mode(self, input)
        return self._conv(input, padding, _LayerName(self))

    def extra_repr(self) -> str:
        return _conv_repr(self)


class Conv2d(_ConvNd):
    """2-d convolution over (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, OH, OW); weight
    (out_channels, in_channels/groups, kh, kw). Everything else as :class:`_ConvNd`.
    ``algo`` ("auto", "direct", "im2col", "depthwise", "winograd"; keyword-only, minicnn's own)
    forces a kernel, see :mod:`minicnn.kernels.conv`.
    """

    def __init__(
        self,
        in_channels: int,
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
        if algo not in ALGOS:
            raise ValueError(f"Conv2d: algo must be one of {ALGOS}, got {algo!r}")
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype
        )
        self.algo = algo

    def _conv(self, x: Tensor, padding: Any, layer: str) -> Tensor:
        return conv2d(
            x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups, algo=self.algo, _layer=layer
        )

    def extra_repr(self) -> str:
        s = _conv_repr(self)
        if self.algo != "auto":
            s += f", algo={self.algo}"
        return s


# -- transposed convolution, unfold and fold ----------------------------------------------


class ConvTranspose2d(Module):
    """Transposed 2-d convolution (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, OH, OW),
    ``OH = (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1``.

    ``weight``: (in_channels, out_channels/groups, kh, kw) -- torch's layout -- and ``bias``:
    (out_channels,). Init as torch: weight ~ kaiming_uniform(a=sqrt(5)) and bias ~ U(-b, b),
    b = 1/sqrt(fan_in), where torch's fan_in of this weight is out_channels/groups * kh * kw.
    ``forward(x, output_size=None)``: an (H, W) target (optionally with the batch and channel
    sizes in front) picks the output_padding, as torch.
    """

    dims = 2
    _conv = staticmethod(conv_transpose2d)

    def __init__(
        self,
        in_channels: int,
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
        super().__init__()
        name = type(self).__name__
        if groups < 1 or in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported, got {padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of {self.dims} ints, got {padding!r}")
        tup = self._tuple
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = tup(kernel_size, "kernel_size")
        self.stride, self.padding = tup(stride, "stride"), tup(padding, "padding")
        self.output_padding, self.dilation = tup(output_padding, "output_padding"), tup(dilation, "dilation")
        self.groups, self.padding_mode = groups, padding_mode
        register_weight_and_bias(
            self, (in_channels, out_channels // groups, *self.kernel_size), out_channels, bias, dtype, device
        )

    @staticmethod
    def _tuple(v: Any, name: str) -> tuple[int, ...]:
        return pair(v, name)

    def reset_parameters(self) -> None:
        reset_weight_and_bias(self)

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        """torch's rule: the output_padding that makes the output ``output_size``."""
        if output_size is None:
            return self.output_padding
        k = self.dims
        size = [int(v) for v in output_size]
        if len(size) == x.ndim:
            size = size[-k:]
        if len(size) != k:
            raise ValueError(
                f"{type(self).__name__}: output_size must have {k} or {x.ndim} elements, got {output_size!r}"
            )
        result = []
        for a in range(k):
            low = (x.shape[-k + a] - 1) * self.stride[a] - 2 * self.padding[a]
            low += self.dilation[a] * (self.kernel_size[a] - 1) + 1
            high = low + self.stride[a] - 1
            if not low <= size[a] <= high:
                raise ValueError(
                    f"{type(self).__name__}: requested an output size of {size}, but valid sizes range from "
                    f"{low} to {high} (for an input of {tuple(x.shape[-k:])})"
                )
            result.append(size[a] - low)
        return tuple(result)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return self._conv(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
            _layer=_LayerName(self),
        )

    def extra_repr(self) -> str:
        return _conv_repr(self, output_padding=self.output_padding)


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-d convolution (N, C_in, L) or (C_in, L) -> (N, C_out, OL),
    ``OL = (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1``; ``weight``:
    (in_channels, out_channels/groups, k). Everything else as :class:`ConvTranspose2d`."""

    dims = 1
    _conv = staticmethod(conv_transpose1d)

    @staticmethod
    def _tuple(v: Any, name: str) -> tuple[int, ...]:
        return _single(v)


class Unfold(Module):
    """Sliding blocks as columns, ``F.unfold``: (N, C, H, W) -> (N, C*kh*kw, L)."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """Columns added back onto their blocks, ``F.fold``: (N, C*kh*kw, L) -> (N, C, *output_size)."""

    def __init__(
        self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Conv1d(_ConvNd):
    """1-d convolution over (N, C_in, L) or (C_in, L) -> (N, C_out, OL), as the 2-d one on
    (N, C_in, 1, L); weight (out_channels, in_channels/groups, k). Everything else as
    :class:`_ConvNd`."""

    dims = 1

    @staticmethod
    def _tuple(v: Any, name: str) -> tuple[int, ...]:
        return _single(v)

    def _conv(self, x: Tensor, padding: Any, layer: str) -> Tensor:
        padding = padding if isinstance(padding, str) else padding[0]
        return conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups, _layer=layer)


class _LayerName:
    """A layer's name in error messages, ``Conv2d(3, 8, kernel_size=(3, 3), ...)``, built only
    when a message is (in an f-string): its repr costs more than a small layer's forward."""

    __slots__ = ("module",)

    def __init__(self, module: Module) -> None:
        self.module = module

    def __str__(self) -> str:
        return f"{type(self.module).__name__}({self.module.extra_repr()})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _conv_repr(m: Module, **extra: Any) -> str:
    """torch's convolution repr: channels, kernel and stride, then each setting that is not its
    default (padding, dilation, the ``extra`` ones such as output_padding, groups, bias)."""
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    zeros, ones = (0,) * len(m.kernel_size), (1,) * len(m.kernel_size)
    settings = [("padding", m.padding, zeros), ("dilation", m.dilation, ones)]
    settings += [(name, value, zeros) for name, value in extra.items()]
    for name, value, default in settings:
        if value != default:
            s += f", {name}={value}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    if m.padding_mode != "zeros":
        s += f", padding_mode={m.padding_mode}"
    return s


def _single(v: Any) -> tuple[int]:
    """``3`` or ``(3,)`` -> (3,), the 1-d layers' stored form (torch's); a longer tuple is an error."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ShapeError(f"a 1-d layer takes an int or a 1-tuple, got {tuple(v)}")
        return (int(v[0]),)
    return (int(v),)


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_padding_mode(padding_mode: str) -> None:
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, but got padding_mode={padding_mode!r}")


def _reversed_padding(padding: Any, kernel_size: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """torch's ``_reversed_padding_repeated_twice``: the F.pad widths, last dim first, that a
    padding_mode other than "zeros" pads with ('same' puts the odd extra pixel at the end)."""
    if padding == "valid":
        return (0,) * (2 * len(kernel_size))
    if padding == "same":
        widths: list[int] = []
        for k, d in zip(reversed(kernel_size), reversed(dilation)):
            total = d * (k - 1)
            widths += [total // 2, total - total // 2]
        return tuple(widths)
    return tuple(p for p in reversed(padding) for _ in range(2))


def _pad_by_mode(m: Module, x: Tensor) -> tuple[Tensor, Any]:
    """For padding_mode "zeros", ``x`` and the layer's padding (the kernel pads); otherwise x
    padded by F.pad in that mode and padding 0, as torch."""
    if m.padding_mode == "zeros":
        return x, m.padding
    return pad(x, m._reversed_padding_repeated_twice, m.padding_mode), (0,) * len(m.kernel_size)
