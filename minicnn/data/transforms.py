"""Transforms: the preprocessing and augmentation of the LeNet/AlexNet/VGG era.

A transform is what torchvision means by one: a callable applied to ONE sample, ``t(image)``.
minicnn's own transforms can also do the same to a whole batch at once, with no Python
loop over its samples: they declare ``batched = True`` and have ``apply_batch(batch)``,
which takes the samples stacked along a new first axis and returns exactly what calling the
transform on each sample and stacking the results would (random ones included: see below).
Datasets and the DataLoader use that fast path when it is declared (:func:`apply_per_sample`),
and otherwise call the transform once per sample, so any user callable works too::

    MNIST(transform=lambda im: im.reshape(-1).astype(np.float32) / 255)  # ds[i]: (784,)

Layouts of one sample:

- ``ToTensor`` takes an image as stored, (H, W) or (H, W, C), and returns the tensor layout
  (C, H, W): uint8 becomes float32 in [0, 1], other dtypes are kept and not scaled (as
  torchvision). Its ``apply_batch`` takes (B, H, W) or (B, H, W, C).
- ``Normalize``, ``RandomCrop`` and ``RandomHorizontalFlip`` take the tensor layout
  (C, H, W). ``Pad`` pads the last two axes of any array.
- As a minicnn extension, ``RandomCrop`` and ``RandomHorizontalFlip`` called on a 4-D array
  (B, C, H, W) treat it as a batch (one draw per sample, as ``apply_batch``), and
  ``Normalize`` broadcasts over leading axes as torchvision's does.

So put ``ToTensor()`` first:
``Compose([ToTensor(), RandomCrop(28, padding=2), Normalize(MNIST.mean, MNIST.std)])``.

The random transforms draw from ``minicnn.random.generator()`` (seeded by
``mc.manual_seed``), independently for each sample, in sample order: on the CPU, one random
transform's ``apply_batch`` on B stacked samples consumes the generator exactly as B calls on
the samples one by one, so both give the same images. (A ``Compose`` of two random
transforms draws the first one's numbers for the whole batch, then the second one's, so its
images differ from one-by-one calls, with the same distribution: independent per sample.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

from ..autograd import Tensor
from ..backend import get_array_module
from ..random import generator
from .dataset import default_collate

_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _xp(x: Any) -> Any:
    """The array module of an array or of a Tensor's array."""
    return get_array_module(x.array if isinstance(x, Tensor) else x)


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, Integral) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
        raise ValueError(f"{name}: expected a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _as_batch(x: Any, name: str) -> tuple[Any, bool]:
    """``x`` as a (B, C, H, W) batch, and whether it was a single (C, H, W) sample."""
    if x.ndim == 4:
        return x, False
    if x.ndim == 3:
        if x.dtype.kind == "u":
            raise ValueError(
                f"{name}: got a 3-D {x.dtype} array of shape {tuple(x.shape)}, which looks like raw images "
                "((H, W, C) or a batch (B, H, W)); apply ToTensor() first"
            )
        return x[None], True
    raise ValueError(f"{name}: expected a batch (B, C, H, W) or a sample (C, H, W), got shape {tuple(x.shape)}")


def _check_image_batch(batch: Any, name: str) -> None:
    """Raise unless ``batch`` is a stack of (C, H, W) samples: (B, C, H, W)."""
    if batch.ndim != 4:
        hint = "; apply ToTensor() first" if batch.ndim == 3 and batch.dtype.kind == "u" else ""
        raise ValueError(
            f"{name}.apply_batch: expected samples (C, H, W) stacked to (B, C, H, W), "
            f"got shape {tuple(batch.shape)}{hint}"
        )


def _check_batch_ndim(batch: Any, min_ndim: int, name: str) -> None:
    """Raise unless ``batch`` stacks samples of at least ``min_ndim - 1`` dimensions."""
    if batch.ndim < min_ndim:
        raise ValueError(
            f"{name}.apply_batch: expected a stack of samples with at least {min_ndim - 1} dimensions each, "
            f"got an array of shape {tuple(batch.shape)}"
        )


def is_batched(transform: Any) -> bool:
    """Whether ``transform`` declares ``batched = True`` and has ``apply_batch``."""
    return getattr(transform, "batched", False) is True and callable(getattr(transform, "apply_batch", None))


def apply_per_sample(transform: Callable[[Any], Any], batch: Any, item: Callable[[Any], Any] | None = None) -> Any:
    """What ``transform`` makes of each sample of ``batch`` (along its first axis), stacked.

    One call of ``transform.apply_batch(batch)`` if the transform is :func:`is_batched`;
    otherwise ``transform(sample)`` for each sample, collated with
    :func:`~minicnn.data.default_collate`. ``item`` converts each sample before the call
    in that per-sample case (e.g. ``int`` for labels, which torchvision hands over as ints).
    """
    if is_batched(transform):
        return transform.apply_batch(batch)
    samples = (batch[i] for i in range(len(batch)))
    return default_collate([transform(s if item is None else item(s)) for s in samples])


class BatchTransform:
    """Base of minicnn's transforms: ``t(sample)`` and the vectorised ``t.apply_batch(batch)``.

    ``apply_batch(stack(samples))`` must equal ``stack([t(s) for s in samples])`` (for random
    transforms: with the generator in the same state).
    """

    batched: bool = True

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError

    def apply_batch(self, batch: Any) -> Any:
        """The transform of every sample of ``batch`` (samples stacked along the first axis)."""
        raise NotImplementedError


class Compose(BatchTransform):
    """Apply ``transforms`` one after the other; batched if every one of them is."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    @property
    def batched(self) -> bool:  # type: ignore[override]
        return all(is_batched(t) for t in self.transforms)

    def __call__(self, x: Any) -> Any:
        for transform in self.transforms:
            x = transform(x)
        return x

    def apply_batch(self, batch: Any) -> Any:
        if not self.batched:
            raise TypeError(f"Compose.apply_batch: not every transform is batched: {self.transforms}")
        for transform in self.transforms:
            batch = transform.apply_batch(batch)
        return batch

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToTensor(BatchTransform):
    """An image array as stored -> the tensor layout (C, H, W), as torchvision's ``ToTensor``.

    (H, W) -> (1, H, W) and (H, W, C) -> (C, H, W). uint8 is converted to float32 and scaled
    by 1/255 into [0, 1]; any other dtype is kept as it is, unscaled (torchvision 0.29: float64
    stays float64, int32 int32, bool bool). The result is a new array (never a view of the
    input), which the DataLoader wraps into a Tensor. :meth:`apply_batch` takes (B, H, W) or
    (B, H, W, C) and returns (B, C, H, W).
    """

    def __call__(self, pic: Any) -> Any:
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: expected an image array (H, W) or (H, W, C), got a Tensor")
        xp = get_array_module(pic)
        pic = xp.asarray(pic)
        if pic.ndim == 2:
            chw = pic[None]
        elif pic.ndim == 3:
            chw = pic.transpose(2, 0, 1)
        else:
            raise ValueError(
                f"ToTensor: expected an image (H, W) or (H, W, C), got shape {tuple(pic.shape)} "
                "(ToTensor().apply_batch takes a batch (B, H, W) or (B, H, W, C))"
            )
        return self._convert(chw, xp)

    def apply_batch(self, images: Any) -> Any:
        xp = get_array_module(images)
        images = xp.asarray(images)
        if images.ndim == 3:
            bchw = images[:, None]
        elif images.ndim == 4:
            bchw = images.transpose(0, 3, 1, 2)
        else:
            raise ValueError(
                f"ToTensor.apply_batch: expected images (B, H, W) or (B, H, W, C), got shape {tuple(images.shape)}"
            )
        return self._convert(bchw, xp)

    @staticmethod
    def _convert(x: Any, xp: Any) -> Any:
        """A C-contiguous copy of ``x``; uint8 as float32 / 255, other dtypes unchanged."""
        if x.dtype != xp.uint8:
            return xp.array(x, order="C", copy=True)
        out = xp.ascontiguousarray(x, dtype=xp.float32)  # a fresh copy: uint8 -> float32
        out /= 255  # division as torch does it, bit for bit
        return out

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize(BatchTransform):
    """``(x - mean[c]) / std[c]`` per channel c of a float (..., C, H, W) array or Tensor.

    ``mean`` and ``std`` hold C values, or one value for all channels. ``inplace=True``
    overwrites ``x``. A Tensor gives a Tensor (through differentiable ops).
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float], inplace: bool = False) -> None:
        self.mean = (float(mean),) if isinstance(mean, Real) else tuple(float(m) for m in mean)
        self.std = (float(std),) if isinstance(std, Real) else tuple(float(s) for s in std)
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std must not be zero, got {self.std}")
        self.inplace = inplace

    def __call__(self, x: Any) -> Any:
        xp = _xp(x)
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: expected a floating-point array (apply ToTensor() first), got {x.dtype}")
        if x.ndim < 3:
            raise ValueError(f"Normalize: expected (..., C, H, W), got shape {tuple(x.shape)}")
        channels = x.shape[-3]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise ValueError(f"Normalize: {len(values)} {name} values for {channels} channels")
        mean = xp.asarray(self.mean, dtype=x.dtype).reshape(-1, 1, 1)
        std = xp.asarray(self.std, dtype=x.dtype).reshape(-1, 1, 1)
        if not self.inplace:
            return (x - mean) / std
        x -= mean
        x /= std
        return x

    def apply_batch(self, batch: Any) -> Any:
        _check_batch_ndim(batch, 4, "Normalize")  # samples (C, H, W): a 3-D stack would read B as C
        return self(batch)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def _parse_padding(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """torchvision's padding forms -> (left, top, right, bottom); negative values crop."""
    if isinstance(padding, Integral) and not isinstance(padding, bool):
        pads: tuple[Any, ...] = (padding,) * 4
    elif isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) in (1, 2, 4):
        pads = tuple(padding) * (4 // len(padding))
    else:
        raise ValueError(f"Pad: padding must be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")
    if any(isinstance(p, bool) or not isinstance(p, Integral) for p in pads):
        raise ValueError(f"Pad: padding must be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")
    return tuple(int(p) for p in pads)  # type: ignore[return-value]


class Pad(BatchTransform):
    """Pad the last two axes (H, W) of an array of any rank, as torchvision's ``Pad``.

    ``padding``: an int (all sides), a sequence of one int (all sides), (left/right,
    top/bottom), or (left, top, right, bottom). A negative amount crops that side instead
    (``Pad(-1)`` removes the outermost pixels); an image cropped to nothing is an error.
    ``padding_mode``: ``"constant"`` (with ``fill``), ``"edge"``, ``"reflect"`` (mirror
    without repeating the edge: each amount must be smaller than the image's size along its
    axis) or ``"symmetric"`` (repeating it: at most that size). Where some sides crop and
    others pad, ``"reflect"`` pads from the whole image and then crops (as torch's reflection
    pad) and the other modes crop first (as torchvision's symmetric pad); the two orders
    differ only for reflection.
    """

    def __init__(self, padding: int | Sequence[int], fill: float = 0, padding_mode: str = "constant") -> None:
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {_PAD_MODES}, got {padding_mode!r}")
        self.padding = _parse_padding(padding)  # left, top, right, bottom
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, x: Any) -> Any:
        xp = get_array_module(x)
        if x.ndim < 2:
            raise ValueError(f"Pad: expected an array with (H, W) as its last two axes, got shape {tuple(x.shape)}")
        height, width = x.shape[-2:]
        crop_l, crop_t, crop_r, crop_b = (max(-p, 0) for p in self.padding)
        if height - crop_t - crop_b < 1 or width - crop_l - crop_r < 1:
            raise ValueError(f"Pad: padding {self.padding} crops the image {(height, width)} to nothing")
        if self.padding_mode == "reflect":  # torch reflects the whole image, then crops
            return self._crop(self._pad(x, xp), self.padding)
        return self._pad(self._crop(x, self.padding), xp)  # torchvision's symmetric crops first

    @staticmethod
    def _crop(x: Any, padding: tuple[int, int, int, int]) -> Any:
        """``x`` without the sides whose amount in ``padding`` is negative."""
        crop_l, crop_t, crop_r, crop_b = (max(-p, 0) for p in padding)
        height, width = x.shape[-2:]
        return x[..., crop_t : height - crop_b, crop_l : width - crop_r]

    def _pad(self, x: Any, xp: Any) -> Any:
        """``x`` padded by the positive amounts of the padding."""
        left, top, right, bottom = (max(p, 0) for p in self.padding)
        height, width = x.shape[-2:]
        if self.padding_mode in ("reflect", "symmetric"):
            strict = self.padding_mode == "reflect"
            sides = ((left, width, "W"), (right, width, "W"), (top, height, "H"), (bottom, height, "H"))
            for amount, size, axis in sides:
                if amount > size or (strict and amount == size):
                    bound = "smaller than" if strict else "at most"
                    raise ValueError(
                        f"Pad: {self.padding_mode} padding of {amount} along {axis} must be {bound} the image's "
                        f"size {size} there (image (H, W) = {(height, width)})"
                    )
        widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
        if self.padding_mode == "constant":
            return xp.pad(x, widths, mode="constant", constant_values=self.fill)
        return xp.pad(x, widths, mode=self.padding_mode)

    def apply_batch(self, batch: Any) -> Any:
        _check_batch_ndim(batch, 3, "Pad")
        return self(batch)

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode!r})"


def crop_per_sample(x: Any, top: Any, left: Any, height: int, width: int) -> Any:
    """Crop sample b of ``x`` (B, C, H, W) to rows ``top[b]:top[b]+height``, columns ``left[b]:left[b]+width``.

    One fancy-indexing gather: returns (B, C, height, width) (a Tensor for a Tensor ``x``).
    """
    xp = _xp(x)
    rows = xp.asarray(top)[:, None] + xp.arange(height)  # (B, height)
    cols = xp.asarray(left)[:, None] + xp.arange(width)  # (B, width)
    return _gather_per_sample(x, rows, cols)


def _gather_per_sample(x: Any, rows: Any, cols: Any) -> Any:
    """``out[b, c, i, j] = x[b, c, rows[b, i], cols[b, j]]`` for ``x`` (B, C, H, W)."""
    xp = _xp(x)
    batch, channels = x.shape[:2]
    return x[
        xp.arange(batch)[:, None, None, None],
        xp.arange(channels)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def _offsets(uniform: Any, count: int) -> Any:
    """Uniform draws in [0, 1) -> integers in [0, count), uniformly."""
    xp = get_array_module(uniform)
    return xp.minimum((uniform * count).astype(xp.int64), count - 1)


class RandomCrop(BatchTransform):
    """Crop a sample (C, H, W) at a random place to ``size`` (int or (height, width)).

    ``padding`` (optional, as :class:`Pad`, with ``fill`` and ``padding_mode``) is applied
    first: ``RandomCrop(28, padding=4)`` shifts each image by up to 4 pixels. With
    ``pad_if_needed`` an image smaller than ``size`` is then padded on both sides by the
    shortfall, as in torchvision. The offsets are drawn uniformly over all valid positions:
    two uniform numbers per sample, (top, left). A 4-D input is a batch (one crop per sample).
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        pad_if_needed: bool = False,
        fill: float = 0,
        padding_mode: str = "constant",
    ) -> None:
        self.size = _pair(size, "RandomCrop size")
        self.pad = Pad(padding, fill, padding_mode) if padding is not None else None
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def __call__(self, x: Any) -> Any:
        batch, single = _as_batch(x, "RandomCrop")
        out = self._crop(batch)
        return out[0] if single else out

    def apply_batch(self, batch: Any) -> Any:
        _check_image_batch(batch, "RandomCrop")
        return self._crop(batch)

    def _crop(self, batch: Any) -> Any:
        """One random crop per sample of ``batch`` (B, C, H, W)."""
        xp = _xp(batch)
        if self.pad is not None:
            batch = self.pad(batch)
        n, _, height, width = batch.shape
        h, w = self.size
        if self.pad_if_needed and (h > height or w > width):  # torchvision: pad both sides by the shortfall
            dh, dw = max(h - height, 0), max(w - width, 0)
            batch = Pad((dw, dh), self.fill, self.padding_mode)(batch)
            n, _, height, width = batch.shape
        if h > height or w > width:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the (padded) image {(height, width)}")
        uniform = generator(xp).random((n, 2))  # sample by sample: (top, left)
        top = _offsets(uniform[:, 0], height - h + 1)
        left = _offsets(uniform[:, 1], width - w + 1)
        return crop_per_sample(batch, top, left, h, w)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.pad.padding if self.pad else None})"


class RandomHorizontalFlip(BatchTransform):
    """Mirror a sample (C, H, W) left-right with probability ``p`` (one draw per sample).

    A 4-D input is a batch (each sample flipped or not on its own draw). A Tensor gives a
    Tensor (a differentiable gather), as :class:`Normalize` does.
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, x: Any) -> Any:
        batch, single = _as_batch(x, "RandomHorizontalFlip")
        out = self._flip(batch)
        return out[0] if single else out

    def apply_batch(self, batch: Any) -> Any:
        _check_image_batch(batch, "RandomHorizontalFlip")
        return self._flip(batch)

    def _flip(self, batch: Any) -> Any:
        """Each sample of ``batch`` (B, C, H, W) flipped with probability p."""
        xp = _xp(batch)
        n, _, height, width = batch.shape
        flip = generator(xp).random(n) < self.p
        if isinstance(batch, Tensor):
            ascending = xp.arange(width)
            cols = xp.where(flip[:, None], ascending[::-1], ascending)  # (B, W)
            rows = xp.broadcast_to(xp.arange(height), (n, height))
            return _gather_per_sample(batch, rows, cols)
        return xp.where(flip[:, None, None, None], batch[..., ::-1], batch)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
