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

- ``ToTensor`` takes an image as stored, a PIL image or an array (H, W) or (H, W, C), and
  returns a Tensor in the tensor layout (C, H, W), as torchvision's: uint8 becomes float32 in
  [0, 1], other dtypes are kept and not scaled. ``PILToTensor`` keeps the values (uint8). Their
  ``apply_batch`` takes arrays (B, H, W) or (B, H, W, C) and returns the array (B, C, H, W): the
  batched path of the datasets stays on arrays, and the DataLoader makes each batch a Tensor once.
- ``Normalize``, ``RandomCrop`` and ``RandomHorizontalFlip`` take the tensor layout
  (C, H, W). ``Pad`` pads the last two axes of any array.
- As a minicnn extension, ``RandomCrop`` and ``RandomHorizontalFlip`` called on a 4-D array
  (B, C, H, W) treat it as a batch (one draw per sample, as ``apply_batch``), and
  ``Normalize`` broadcasts over leading axes as torchvision's does.

torchvision's other common transforms, on arrays (NumPy or CuPy) in the tensor layout, float
or uint8 (the arithmetic, as ``torchvision.transforms.functional``'s, is in
:mod:`.transforms_functional`, also reachable as ``transforms.functional``):

- deterministic, any (..., C, H, W): ``CenterCrop``, ``Resize``, ``Grayscale``, ``FiveCrop`` and
  ``TenCrop`` (a tuple of crops; a batch gives the tuple of batched crops); ``Lambda`` (a user
  function, called per sample: not batched) and ``ToPILImage`` (per sample);
- random, a sample (C, H, W) or, called on a 4-D array, a batch: ``RandomVerticalFlip``,
  ``RandomResizedCrop``, ``RandomRotation``, ``RandomAffine``, ``RandomErasing``,
  ``ColorJitter``, ``RandomGrayscale``, ``GaussianBlur``, ``RandomInvert``, ``RandomPosterize``,
  ``RandomSolarize``, ``RandomAdjustSharpness``, ``RandomAutocontrast``, ``RandomEqualize``
  (posterize and equalize: uint8 only, as torchvision's), ``RandomPerspective``. Each draws a fixed count of uniform
  numbers per sample (its docstring says how many), so batches equal one-by-one calls as
  below, and applies the per-sample parameters in one vectorised pass (per-sample resampling
  taps, per-sample affine grids in one ``grid_sample``, per-sample blends and blurs). The
  ``get_params`` static methods are torchvision's, drawing from the same generator. A uint8
  sample is taken in a batch only (``t(x[None])[0]``): a 3-D uint8 array is refused as a
  raw image (H, W, C) that ToTensor() has not seen, as by ``RandomCrop``;
- ``RandomApply(transforms, p)``: its batched form runs the transforms on the chosen samples.

So put ``ToTensor()`` first:
``Compose([ToTensor(), RandomCrop(28, padding=2), Normalize(MNIST.mean, MNIST.std)])``.

Tensors and PIL images, as torchvision's transforms take them: every image transform also takes a
Tensor (one that does not require grad; a uint8 one is (C, H, W)) and gives the Tensor of what it
gives for the array, on the same device; a Tensor that requires grad keeps the differentiable
paths of ``Normalize``, ``RandomCrop`` and the flips (the others say they are not differentiable).
``Resize``, ``CenterCrop``, ``RandomResizedCrop``, the flips, ``Grayscale``, ``Pad`` and
``RandomCrop`` take PIL images and return PIL images, through PIL's own resize, crop, flip and
convert as torchvision (the random ones draw what they draw for the array); the others refuse a
PIL image with a TypeError asking for ``ToTensor()`` first (:mod:`.pil`; Pillow is optional:
``pip install minicnn[images]``).

The random transforms draw from ``minicnn.random.generator()`` (seeded by
``mc.manual_seed``), independently for each sample, in sample order: on the CPU, one random
transform's ``apply_batch`` on B stacked samples consumes the generator exactly as B calls on
the samples one by one, so both give the same images. (A ``Compose`` of two random
transforms draws the first one's numbers for the whole batch, then the second one's, so its
images differ from one-by-one calls, with the same distribution: independent per sample.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from ..autograd import Tensor, _wrap
from ..backend import get_array_module, to_numpy
from ..random import generator
from . import pil
from . import transforms_functional as TF
from .dataset import default_collate
from .pil import is_pil_image

functional = TF  # torchvision.transforms.functional's place
InterpolationMode = TF.InterpolationMode

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


def _takes_images(method: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A transform's ``__call__`` or ``apply_batch`` on arrays, also taking what torchvision's
    take: a Tensor that does not require grad (the result for its array, as a Tensor; the Tensor
    itself when the array was changed in place and returned), and a PIL image (the transform's
    ``_pil(img)``; a clear TypeError for a transform without one). A Tensor that requires grad
    goes to the method itself: the differentiable paths of Normalize, RandomCrop and the flips."""

    @functools.wraps(method)
    def wrapper(self: Any, x: Any) -> Any:
        if isinstance(x, Tensor) and not x.requires_grad:
            if x.ndim == 3 and x.dtype.kind == "u":  # a Tensor is (C, H, W), never a raw image (H, W, C)
                return _wrap(method(self, x.array[None])[0])
            out = method(self, x.array)
            return x if out is x.array else _wrap(out)
        if is_pil_image(x):
            on_pil = getattr(self, "_pil", None)
            if on_pil is None:
                raise TypeError(
                    f"{type(self).__name__}: minicnn takes image arrays and Tensors here, got a PIL image; "
                    "apply ToTensor() first"
                )
            return on_pil(x)
        return method(self, x)

    return wrapper


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
    """An image as stored -> a Tensor in the layout (C, H, W), as torchvision's ``ToTensor``.

    Takes a PIL image or an array (H, W) / (H, W, C). uint8 is converted to float32 and scaled
    by 1/255 into [0, 1]; any other dtype is kept as it is, unscaled (torchvision 0.29: float64
    stays float64, int32 int32, bool bool). The result is a new array (never a view of the input)
    in a Tensor. :meth:`apply_batch` takes an array (B, H, W) or (B, H, W, C) and returns the
    array (B, C, H, W) (the datasets' batched path: the DataLoader makes the batch a Tensor).
    """

    def __call__(self, pic: Any) -> Tensor:
        return TF.image_to_tensor(pic, True, "ToTensor")

    def apply_batch(self, images: Any) -> Any:
        images = get_array_module(images).asarray(images)
        if images.ndim not in (3, 4):
            raise ValueError(
                f"ToTensor.apply_batch: expected images (B, H, W) or (B, H, W, C), got shape {tuple(images.shape)}"
            )
        return TF.to_channels_first(images if images.ndim == 4 else images[..., None], scale=True)

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor(BatchTransform):
    """A PIL image -> a Tensor (C, H, W) of its values, unscaled, as torchvision's ``PILToTensor``
    (uint8 for 8-bit images). Also takes what minicnn's datasets give where torchvision's give PIL
    images: an array (H, W) or (H, W, C); :meth:`apply_batch` takes arrays (B, H, W) or
    (B, H, W, C) -> (B, C, H, W)."""

    def __call__(self, pic: Any) -> Tensor:
        return TF.image_to_tensor(pic, False, "PILToTensor")

    def apply_batch(self, images: Any) -> Any:
        images = get_array_module(images).asarray(images)
        if images.ndim not in (3, 4):
            raise ValueError(
                f"PILToTensor.apply_batch: expected images (B, H, W) or (B, H, W, C), got shape {tuple(images.shape)}"
            )
        return TF.to_channels_first(images if images.ndim == 4 else images[..., None], scale=False)

    def __repr__(self) -> str:
        return "PILToTensor()"


class ConvertImageDtype(BatchTransform):
    """An image (array or Tensor) as ``dtype``, its values rescaled between the two types' ranges,
    as torchvision's ``ConvertImageDtype`` (:func:`~.transforms_functional.convert_image_dtype`)."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    @_takes_images
    def __call__(self, image: Any) -> Any:
        return TF.convert_image_dtype(image, self.dtype)

    @_takes_images
    def apply_batch(self, batch: Any) -> Any:
        return TF.convert_image_dtype(batch, self.dtype)

    def __repr__(self) -> str:
        return f"ConvertImageDtype(dtype={self.dtype})"


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

    @_takes_images
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

    @_takes_images
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

    @_takes_images
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

    def _pil(self, img: Any) -> Any:
        """torchvision's PIL path: crop the negative sides first, then NumPy's ``np.pad`` (whose
        reflect / symmetric modes reflect again where a side is longer than the image)."""
        if self.padding_mode == "constant":
            return pil.apply_as_array(img, self)
        crop_l, crop_t, crop_r, crop_b = (max(-p, 0) for p in self.padding)
        if img.height - crop_t - crop_b < 1 or img.width - crop_l - crop_r < 1:
            raise ValueError(f"Pad: padding {self.padding} crops the image {(img.height, img.width)} to nothing")
        hwc = pil.to_array(pil.crop(img, crop_t, crop_l, img.height - crop_t - crop_b, img.width - crop_l - crop_r))
        left, top, right, bottom = (max(p, 0) for p in self.padding)
        return pil.from_array(np.pad(hwc, [(top, bottom), (left, right), (0, 0)], mode=self.padding_mode), img)

    @_takes_images
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
        self.padding = padding  # (torchvision's attribute)
        self.pad = Pad(padding, fill, padding_mode) if padding is not None else None
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    @_takes_images
    def __call__(self, x: Any) -> Any:
        batch, single = _as_batch(x, "RandomCrop")
        out = self._crop(batch)
        return out[0] if single else out

    def _pil(self, img: Any) -> Any:
        return pil.apply_as_array(img, self._crop)

    @_takes_images
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


class _RandomFlip(BatchTransform):
    """Each sample flipped along ``axis`` (-1: left-right, -2: upside down) with probability p."""

    axis: int = -1

    def __init__(self, p: float = 0.5) -> None:
        _check_p(p, type(self).__name__)
        self.p = p  # (as given: torchvision's repr)

    @_takes_images
    def __call__(self, x: Any) -> Any:
        batch, single = _as_batch(x, type(self).__name__)
        out = self._flip(batch)
        return out[0] if single else out

    def _pil(self, img: Any) -> Any:
        flip = bool(generator(np).random(1)[0] < self.p)  # the draw of a batch of one
        return pil.flip(img, self.axis) if flip else img

    @_takes_images
    def apply_batch(self, batch: Any) -> Any:
        _check_image_batch(batch, type(self).__name__)
        return self._flip(batch)

    def _flip(self, batch: Any) -> Any:
        """Each sample of ``batch`` (B, C, H, W) flipped with probability p."""
        xp = _xp(batch)
        n, _, height, width = batch.shape
        flip = generator(xp).random(n) < self.p
        if isinstance(batch, Tensor):
            rows, cols = (xp.broadcast_to(xp.arange(size), (n, size)) for size in (height, width))
            if self.axis == -1:
                cols = xp.where(flip[:, None], cols[:, ::-1], cols)  # (B, W)
            else:
                rows = xp.where(flip[:, None], rows[:, ::-1], rows)  # (B, H)
            return _gather_per_sample(batch, rows, cols)
        return xp.where(flip[:, None, None, None], xp.flip(batch, self.axis), batch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror a sample (C, H, W) left-right with probability ``p`` (one draw per sample).

    A 4-D input is a batch (each sample flipped or not on its own draw). A Tensor gives a
    Tensor (a differentiable gather), as :class:`Normalize` does.
    """

    axis = -1


# --- torchvision's other common transforms (arithmetic in .transforms_functional) --------


def _uniforms(xp: Any, n: int, k: int) -> Any:
    """k uniform numbers in [0, 1) per sample, (n, k): sample after sample, so that n calls for
    one sample draw what one call for n samples does."""
    return generator(xp).random((n, k))


def _check_p(p: float, name: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be in [0, 1], got {p}")
    return float(p)


def _check_sequence(value: Any, name: str, what: str, sizes: tuple[int, ...] = (2,), forms: str = "") -> None:
    """torchvision's ``_check_sequence_input``: TypeError for a non-sequence, ValueError for its length."""
    expected = f"{what} should be {forms}a sequence of length {' or '.join(map(str, sizes))}, got {value!r}"
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"{name}: {expected}")
    if len(value) not in sizes:
        raise ValueError(f"{name}: {expected}")


def _range(value: Any, name: str, what: str, sizes: tuple[int, ...] = (2,)) -> tuple[float, ...]:
    """torchvision's ``_setup_angle``: a number v -> (-v, v), else a sequence of ``sizes`` values,
    (min, max) pairs (torch's ``uniform_`` refuses min > max when drawing; here at once)."""
    if isinstance(value, Real):
        if value < 0:
            raise ValueError(f"{name}: if {what} is a single number, it must be positive, got {value}")
        return (-float(value), float(value))
    _check_sequence(value, name, what, sizes, "a number or ")
    bounds = tuple(float(v) for v in value)
    if any(lo > hi for lo, hi in zip(bounds[::2], bounds[1::2])):
        raise ValueError(f"{name}: {what} should hold (min, max) pairs, got {value!r}")
    return bounds


def _setup_size(value: Any, name: str) -> tuple[int, int]:
    """torchvision's ``_setup_size``: a number (truncated to an int), one value in a sequence,
    or (height, width) -> a pair of positive ints."""
    if isinstance(value, Sequence) and len(value) == 1:
        value = value[0]
    if isinstance(value, Real) and not isinstance(value, Integral):
        value = int(value)
    return _pair(value, name)


def _fill_list(fill: Any, channels: int, name: str) -> list[float]:
    """torchvision's class behaviour: a number is repeated for every channel."""
    values = [float(fill)] * channels if isinstance(fill, Real) else [float(f) for f in fill]
    if len(values) not in (1, channels):
        raise ValueError(f"{name}: fill has {len(values)} values for an image of {channels} channels")
    return values


class CenterCrop(BatchTransform):
    """The central ``size`` (int or (height, width)) of an image (..., C, H, W), zero-padded
    first where the image is smaller, as torchvision's ``CenterCrop``."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _setup_size(size, "CenterCrop size")

    @_takes_images
    def __call__(self, x: Any) -> Any:
        return TF.center_crop(x, self.size)

    def _pil(self, img: Any) -> Any:
        return TF.center_crop(img, self.size)

    @_takes_images
    def apply_batch(self, batch: Any) -> Any:
        _check_image_batch(batch, "CenterCrop")
        return self(batch)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class Resize(BatchTransform):
    """An image (..., C, H, W) resized to ``size`` as :func:`~.transforms_functional.resize`
    (an int: the shorter side, keeping the aspect ratio, at most ``max_size`` for the longer)."""

    def __init__(
        self,
        size: int | Sequence[int],
        interpolation: Any = TF.InterpolationMode.BILINEAR,
        max_size: int | None = None,
        antialias: bool | None = True,
    ) -> None:
        if not isinstance(size, (Integral, Sequence)):
            raise TypeError(f"Resize: size should be an int or a sequence, got {type(size).__name__}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError(f"Resize: if size is a sequence, it should have 1 or 2 values, got {size!r}")
        TF.resized_output_size(1, 1, size, max_size, "Resize")  # checks size and max_size now
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = TF.interpolation_name(interpolation, "Resize")

    @_takes_images
    def __call__(self, x: Any) -> Any:
        return TF.resize(x, self.size, self.interpolation, self.max_size, self.antialias)

    def _pil(self, img: Any) -> Any:
        return TF.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    @_takes_images
    def apply_batch(self, batch: Any) -> Any:
        _check_image_batch(batch, "Resize")
        return self(batch)

    def __repr__(self) -> str:
        return (
            f"Resize(size={self.size}, interpolation={self.interpolation}, max_size={self.max_size}, "
            f"antialias={self.antialias})"
        )


class RandomVerticalFlip(_RandomFlip):
    """Flip a sample (C, H, W) upside down with probability ``p`` (one draw per sample); a 4-D
    input is a batch. A Tensor gives a Tensor (a differentiable gather)."""

    axis = -2


class _RandomImageTransform(BatchTransform):
    """A random transform of a sample (C, H, W) with per-sample parameters: ``t(sample)``,
    ``t(batch)`` for a 4-D batch and ``t.apply_batch(batch)`` all draw the parameters of every
    sample with :meth:`draw` (a fixed count of numbers per sample) and apply them with
    :meth:`apply_params`, vectorised."""

    name = "RandomTransform"

    @_takes_images
    def __call__(self, x: Any) -> Any:
        batch, single = _as_batch(x, self.name)
        TF.check_image(batch, self.name)
        out = self.apply_params(batch, self.draw(batch))
        return out[0] if single else out

    @_takes_images
    def apply_batch(self, batch: Any) -> Any:
        _check_image_batch(batch, self.name)
        TF.check_image(batch, self.name)
        return self.apply_params(batch, self.draw(batch))

    def draw(self, batch: Any) -> Any:
        """The parameters of every sample of ``batch`` (B, C, H, W), drawn sample by sample."""
        raise NotImplementedError

    def apply_params(self, batch: Any, params: Any) -> Any:
        """``batch`` (B, C, H, W) transformed by the per-sample ``params`` of :meth:`draw`."""
        raise NotImplementedError


def _crop_boxes(
    uniform: Any, height: int, width: int, scale: Sequence[float], ratio: Sequence[float], strict: bool
) -> tuple[Any, Any, Any, Any, Any]:
    """torchvision's 10 attempts of RandomResizedCrop / RandomErasing, vectorised over samples:
    ``uniform`` (B, 22) -> (top, left, h, w, found) (B,) each. Attempt k takes the area
    fraction from column 2k and the log aspect ratio from column 2k+1; the box is placed by
    columns 20 and 21. ``strict`` (erasing): a box must be smaller than the image (h < H,
    w < W, sizes 0 allowed), else (cropping) 0 < h <= H and 0 < w <= W."""
    xp = get_array_module(uniform)
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    target = area * (scale[0] + (scale[1] - scale[0]) * uniform[:, 0:20:2])
    aspect = xp.exp(log_lo + (log_hi - log_lo) * uniform[:, 1:20:2])
    first = xp.rint(xp.sqrt(target * aspect)).astype(np.int64)  # w for crops, h for erasing
    second = xp.rint(xp.sqrt(target / aspect)).astype(np.int64)
    w, h = (second, first) if strict else (first, second)
    ok = (h < height) & (w < width) if strict else (h > 0) & (h <= height) & (w > 0) & (w <= width)
    pick = xp.argmax(ok, axis=1)[:, None]
    found = ok.any(axis=1)
    h = xp.take_along_axis(h, pick, axis=1)[:, 0]
    w = xp.take_along_axis(w, pick, axis=1)[:, 0]
    top = _offsets(uniform[:, 20], xp.maximum(height - h + 1, 1))
    left = _offsets(uniform[:, 21], xp.maximum(width - w + 1, 1))
    return top, left, h, w, found


class RandomResizedCrop(_RandomImageTransform):
    """A random box of a sample (C, H, W), resized to ``size``, as torchvision's
    ``RandomResizedCrop``: up to 10 tries of an area fraction uniform in ``scale`` and an aspect
    ratio log-uniform in ``ratio`` until the box fits, then a uniform position (else the
    largest central box within ``ratio``). 22 uniform numbers per sample. The per-sample
    resizing is :func:`~.transforms_functional.resized_crop_per_sample` (the rules of
    :func:`~.transforms_functional.resized_crop`)."""

    name = "RandomResizedCrop"

    def __init__(
        self,
        size: int | Sequence[int],
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: Any = TF.InterpolationMode.BILINEAR,
        antialias: bool | None = True,
    ) -> None:
        self.size = _setup_size(size, "RandomResizedCrop size")
        for what, value in (("scale", scale), ("ratio", ratio)):
            if not isinstance(value, Sequence) or len(value) != 2:
                raise TypeError(f"RandomResizedCrop: {what} should be a sequence of 2 numbers, got {value!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1] or scale[0] < 0 or ratio[0] <= 0:
            raise ValueError(f"RandomResizedCrop: scale and ratio should be (min, max) ranges, got {scale}, {ratio}")
        self.scale, self.ratio = tuple(float(s) for s in scale), tuple(float(r) for r in ratio)
        self.interpolation = TF.interpolation_name(interpolation, "RandomResizedCrop")
        self.antialias = antialias

    @staticmethod
    def get_params(img: Any, scale: Sequence[float], ratio: Sequence[float]) -> tuple[int, int, int, int]:
        """(top, left, height, width) of one random box of ``img`` (..., H, W)."""
        height, width = img.shape[-2:]
        box = RandomResizedCrop._boxes(get_array_module(img), 1, height, width, scale, ratio)
        return tuple(int(v[0]) for v in box)  # type: ignore[return-value]

    @staticmethod
    def _boxes(xp: Any, n: int, height: int, width: int, scale: Sequence[float], ratio: Sequence[float]) -> tuple:
        top, left, h, w, found = _crop_boxes(_uniforms(xp, n, 22), height, width, scale, ratio, strict=False)
        in_ratio = width / height  # no box found: torchvision's fallback, the same for every sample
        if in_ratio < min(ratio):
            fh, fw = int(round(width / min(ratio))), width
        elif in_ratio > max(ratio):
            fh, fw = height, int(round(height * max(ratio)))
        else:
            fh, fw = height, width
        top = xp.where(found, top, (height - fh) // 2)
        left = xp.where(found, left, (width - fw) // 2)
        return top, left, xp.where(found, h, fh), xp.where(found, w, fw)

    def _pil(self, img: Any) -> Any:
        top, left, h, w = (int(v[0]) for v in self._boxes(np, 1, img.height, img.width, self.scale, self.ratio))
        return TF.resized_crop(img, top, left, h, w, self.size, self.interpolation, self.antialias)

    def draw(self, batch: Any) -> tuple:
        n, _, height, width = batch.shape
        return self._boxes(_xp(batch), n, height, width, self.scale, self.ratio)

    def apply_params(self, batch: Any, params: tuple) -> Any:
        return TF.resized_crop_per_sample(batch, *params, self.size, self.interpolation, bool(self.antialias))

    def __repr__(self) -> str:
        return (
            f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio}, "
            f"interpolation={self.interpolation}, antialias={self.antialias})"
        )


class RandomRotation(_RandomImageTransform):
    """Rotate a sample (C, H, W) by an angle uniform in ``degrees`` ((min, max), or d for
    (-d, d)), counter-clockwise about ``center``, as torchvision's ``RandomRotation`` (the area
    outside the image ``fill``ed, 0 by default). One uniform number per sample. With
    ``expand`` each sample's canvas has its own size, so the transform is not batched."""

    name = "RandomRotation"

    def __init__(
        self,
        degrees: Any,
        interpolation: Any = TF.InterpolationMode.NEAREST,
        expand: bool = False,
        center: Sequence[float] | None = None,
        fill: Any = 0,
    ) -> None:
        self.degrees = _range(degrees, "RandomRotation", "degrees")
        self.interpolation = TF.interpolation_name(interpolation, "RandomRotation", ("nearest", "bilinear"))
        if center is not None:
            _check_sequence(center, "RandomRotation", "center")
        if fill is not None and not isinstance(fill, (Real, Sequence)):  # None: 0, as torchvision
            raise TypeError(f"RandomRotation: fill should be a number or a sequence, got {type(fill).__name__}")
        self.expand, self.center, self.fill = expand, center, 0 if fill is None else fill

    @property
    def batched(self) -> bool:  # type: ignore[override]
        return not self.expand

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        """One angle uniform in [degrees[0], degrees[1])."""
        return float(degrees[0] + (degrees[1] - degrees[0]) * _uniforms(np, 1, 1)[0, 0])

    def draw(self, batch: Any) -> Any:
        lo, hi = self.degrees
        return lo + (hi - lo) * _uniforms(_xp(batch), batch.shape[0], 1)[:, 0]

    def apply_params(self, batch: Any, angle: Any) -> Any:
        xp = _xp(batch)
        n, channels, height, width = batch.shape
        center = TF._center_offset(self.center, height, width, "RandomRotation")
        zeros = xp.zeros((n, 2))
        matrices = TF.inverse_affine_matrices(xp.asarray([center] * n, dtype=np.float64), -angle, zeros, 1.0, zeros)
        out_h, out_w = height, width
        if self.expand:
            if n != 1:
                raise ValueError("RandomRotation: with expand=True every sample has its own size; call it per sample")
            out_w, out_h = TF.rotated_size([float(v) for v in matrices[0]], width, height)
        fill = _fill_list(self.fill, channels, "RandomRotation")
        return TF.affine_per_sample(batch, matrices, (out_h, out_w), self.interpolation, fill)

    def __repr__(self) -> str:
        return (
            f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation}, expand={self.expand}, "
            f"center={self.center}, fill={self.fill})"
        )


class RandomAffine(_RandomImageTransform):
    """A random affine map of a sample (C, H, W) keeping its centre, as torchvision's
    ``RandomAffine``: an angle uniform in ``degrees``; a shift uniform in
    ``(-translate[0] * W, translate[0] * W)`` and likewise along H, rounded to pixels; a scale
    uniform in ``scale``; shears uniform in ``shear`` (d, (min, max) along x, or 4 values for
    x then y). Six uniform numbers per sample (those of unused parts are ignored)."""

    name = "RandomAffine"

    def __init__(
        self,
        degrees: Any,
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: Any = None,
        interpolation: Any = TF.InterpolationMode.NEAREST,
        fill: Any = 0,
        center: Sequence[float] | None = None,
    ) -> None:
        self.degrees = _range(degrees, "RandomAffine", "degrees")
        if translate is not None:
            _check_sequence(translate, "RandomAffine", "translate")
            if not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"RandomAffine: translation values should be between 0 and 1, got {translate}")
        if scale is not None:
            _check_sequence(scale, "RandomAffine", "scale")
            if not 0 < scale[0] <= scale[1]:
                raise ValueError(f"RandomAffine: scale values should be positive and (min, max), got {scale}")
        self.translate, self.scale = translate, scale
        self.shear = None if shear is None else _range(shear, "RandomAffine", "shear", (2, 4))
        self.interpolation = TF.interpolation_name(interpolation, "RandomAffine", ("nearest", "bilinear"))
        if center is not None:
            _check_sequence(center, "RandomAffine", "center")
        if fill is not None and not isinstance(fill, (Real, Sequence)):  # None: 0, as torchvision
            raise TypeError(f"RandomAffine: fill should be a number or a sequence, got {type(fill).__name__}")
        self.fill, self.center = 0 if fill is None else fill, center

    @staticmethod
    def _params(
        uniform: Any, degrees: Any, translate: Any, scale_ranges: Any, shears: Any, img_size: Sequence[int]
    ) -> tuple[Any, Any, Any, Any]:
        """``uniform`` (B, 6) -> angle (B,), translations (B, 2), scale (B,), shear (B, 2)."""
        xp = get_array_module(uniform)

        def spread(column: int, lo: float, hi: float) -> Any:
            return lo + (hi - lo) * uniform[:, column]

        angle = spread(0, *degrees)
        zeros = xp.zeros_like(angle)
        if translate is not None:
            max_dx, max_dy = float(translate[0] * img_size[0]), float(translate[1] * img_size[1])
            shift = xp.stack([xp.rint(spread(1, -max_dx, max_dx)), xp.rint(spread(2, -max_dy, max_dy))], axis=1)
        else:
            shift = xp.stack([zeros, zeros], axis=1)
        scale = spread(3, *scale_ranges) if scale_ranges is not None else zeros + 1.0
        shear_x = spread(4, shears[0], shears[1]) if shears is not None else zeros
        shear_y = spread(5, shears[2], shears[3]) if shears is not None and len(shears) == 4 else zeros
        return angle, shift, scale, xp.stack([shear_x, shear_y], axis=1)

    @staticmethod
    def get_params(
        degrees: Sequence[float],
        translate: Sequence[float] | None,
        scale_ranges: Sequence[float] | None,
        shears: Sequence[float] | None,
        img_size: Sequence[int],
    ) -> tuple[float, tuple[int, int], float, tuple[float, float]]:
        """(angle, (dx, dy), scale, (shear_x, shear_y)) for an image of ``img_size`` = (W, H)."""
        angle, shift, scale, shear = RandomAffine._params(
            _uniforms(np, 1, 6), degrees, translate, scale_ranges, shears, img_size
        )
        return float(angle[0]), (int(shift[0, 0]), int(shift[0, 1])), float(scale[0]), tuple(map(float, shear[0]))

    def draw(self, batch: Any) -> tuple:
        n, _, height, width = batch.shape
        uniform = _uniforms(_xp(batch), n, 6)
        return self._params(uniform, self.degrees, self.translate, self.scale, self.shear, (width, height))

    def apply_params(self, batch: Any, params: tuple) -> Any:
        xp = _xp(batch)
        angle, shift, scale, shear = params
        n, channels, height, width = batch.shape
        center = xp.asarray([TF._center_offset(self.center, height, width, "RandomAffine")] * n, dtype=np.float64)
        matrices = TF.inverse_affine_matrices(center, angle, shift, scale, shear)
        fill = _fill_list(self.fill, channels, "RandomAffine")
        return TF.affine_per_sample(batch, matrices, (height, width), self.interpolation, fill)

    def __repr__(self) -> str:
        return (
            f"RandomAffine(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
            f"shear={self.shear}, interpolation={self.interpolation}, fill={self.fill}, center={self.center})"
        )


_NOISE_BLOCK = 2**18  # uniform numbers drawn per group of samples by RandomErasing(value="random")


class RandomErasing(_RandomImageTransform):
    """With probability ``p``, overwrite a random box of a sample (C, H, W) with ``value`` (a
    number, one per channel, or ``"random"``: standard normal noise), as torchvision's
    ``RandomErasing``: up to 10 tries of an area fraction uniform in ``scale`` and an aspect
    ratio log-uniform in ``ratio`` until the box is smaller than the image (else nothing is
    erased). 23 uniform numbers per sample (p, 10 tries, the position), plus C*H*W normal ones
    (Box-Muller) for ``"random"``."""

    name = "RandomErasing"

    def __init__(
        self,
        p: float = 0.5,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: Any = 0,
        inplace: bool = False,
    ) -> None:
        if not isinstance(value, (Real, str, Sequence)):
            raise TypeError("RandomErasing: value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: if value is str, it should be 'random', got {value!r}")
        for what, v in (("scale", scale), ("ratio", ratio)):
            if not isinstance(v, Sequence) or len(v) != 2:
                raise TypeError(f"RandomErasing: {what} should be a sequence of 2 numbers, got {v!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1] or ratio[0] <= 0:
            raise ValueError(f"RandomErasing: scale and ratio should be (min, max) ranges, got {scale}, {ratio}")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale should be between 0 and 1, got {scale}")
        self.p = _check_p(p, "RandomErasing")
        self.scale, self.ratio = tuple(float(s) for s in scale), tuple(float(r) for r in ratio)
        self.value, self.inplace = value, inplace

    @staticmethod
    def _draw(xp: Any, shape: tuple, scale: Any, ratio: Any, noise: bool, dtype: Any = np.float64) -> tuple:
        """(u (B,) the uniform number compared with p, top, left, h, w (B,), found (B,) bool: whether a
        try fitted, noise (B, C, H, W) in ``dtype`` or None) for ``shape`` (B, C, H, W). The noise is
        made in float64 for a group of samples at a time (about :data:`_NOISE_BLOCK` numbers), drawn
        as one call for the batch would draw them, and rounded into its preallocated array."""
        n, channels, height, width = shape
        count = channels * height * width
        per_sample = 23 + (2 * ((count + 1) // 2) if noise else 0)
        if not noise:
            uniform = _uniforms(xp, n, per_sample)
            field = None
        else:  # Box-Muller: pairs (u1, u2) -> two standard normal numbers, cos ones first
            uniform = xp.empty((n, 23))
            field = xp.empty((n, count), dtype)
            pairs = (count + 1) // 2
            group = max(1, _NOISE_BLOCK // per_sample)
            for start in range(0, n, group):
                stop = min(start + group, n)
                u = _uniforms(xp, stop - start, per_sample)
                uniform[start:stop] = u[:, :23]
                u1, u2 = u[:, 23::2], u[:, 24::2]
                radius = xp.sqrt(-2.0 * xp.log1p(-u1))
                del u1
                u2 *= 2 * math.pi  # the angle: 2 * pi * u2, as one product
                field[start:stop, :pairs] = radius * xp.cos(u2)
                field[start:stop, pairs:] = (radius * xp.sin(u2))[:, : count - pairs]
                del u, u2, radius
            field = field.reshape(n, channels, height, width)
        top, left, h, w, found = _crop_boxes(uniform[:, 1:23], height, width, scale, ratio, strict=True)
        return uniform[:, 0], top, left, h, w, found, field

    @staticmethod
    def get_params(
        img: Any, scale: Sequence[float], ratio: Sequence[float], value: Sequence[float] | None = None
    ) -> tuple[int, int, int, int, Any]:
        """(top, left, h, w, v) of one box of ``img`` (C, H, W), and the values to write: noise
        (C, h, w) float32 for ``value=None``, else ``value`` as (len(value), 1, 1); no box found:
        (0, 0, H, W, img)."""
        xp = get_array_module(img)
        shape = (1,) + tuple(img.shape[-3:])
        _, top, left, h, w, found, field = RandomErasing._draw(xp, shape, scale, ratio, value is None)
        if not bool(found[0]):
            return 0, 0, shape[2], shape[3], img
        i, j, hh, ww = int(top[0]), int(left[0]), int(h[0]), int(w[0])
        v = field[0, :, :hh, :ww].astype(np.float32) if value is None else xp.asarray(value)[:, None, None]
        return i, j, hh, ww, v

    def _values(self, channels: int) -> list[float] | None:
        if isinstance(self.value, str):
            return None
        values = [float(self.value)] if isinstance(self.value, Real) else [float(v) for v in self.value]
        if len(values) not in (1, channels):
            raise ValueError(
                "RandomErasing: if value is a sequence, it should have either a single value or "
                f"{channels} (number of input channels), got {len(values)}"
            )
        return values

    def draw(self, batch: Any) -> tuple:
        noise = self._values(batch.shape[1]) is None
        u, top, left, h, w, found, field = self._draw(
            _xp(batch), batch.shape, self.scale, self.ratio, noise, batch.dtype
        )
        return u < self.p, top, left, h, w, found, field

    def apply_params(self, batch: Any, params: tuple) -> Any:
        xp = _xp(batch)
        erase, top, left, h, w, found, field = params
        n, channels, height, width = batch.shape
        rows = xp.arange(height)[None, :] - top[:, None]  # (B, H): row offsets into the box
        cols = xp.arange(width)[None, :] - left[:, None]
        inside = (rows >= 0) & (rows < h[:, None]), (cols >= 0) & (cols < w[:, None])
        mask = (erase & found)[:, None, None, None] & inside[0][:, None, :, None] & inside[1][:, None, None, :]
        values = self._values(channels)
        if values is None:  # noise[b, :, r - top, c - left] in the box
            fill = _gather_per_sample(field.astype(batch.dtype, copy=False), rows % height, cols % width)
        else:
            fill = xp.asarray(values, dtype=np.float64).astype(batch.dtype).reshape(1, -1, 1, 1)
        if self.inplace:
            xp.copyto(batch, fill, where=mask)
            return batch
        if values is None:  # the gathered noise becomes the output: the batch outside the boxes
            xp.copyto(fill, batch, where=~mask)
            return fill
        return xp.where(mask, fill, batch)

    def __repr__(self) -> str:
        return (
            f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value}, "
            f"inplace={self.inplace})"
        )


def _jitter_range(value: Any, name: str, center: float = 1.0, bound: tuple = (0, float("inf")), clip: bool = True):
    """torchvision's ``ColorJitter._check_input``: (min, max) or None for the identity."""
    if isinstance(value, Real):
        if value < 0:
            raise ValueError(f"ColorJitter: if {name} is a single number, it must be non negative, got {value}")
        lo, hi = center - float(value), center + float(value)
        lo = max(lo, 0.0) if clip else lo
    elif isinstance(value, Sequence) and len(value) == 2:
        lo, hi = float(value[0]), float(value[1])
    else:
        raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple with length 2, got {value!r}")
    if not bound[0] <= lo <= hi <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, but got {(lo, hi)}")
    return None if lo == hi == center else (lo, hi)


class ColorJitter(_RandomImageTransform):
    """Random brightness, contrast, saturation and hue changes of a sample (C, H, W) (C = 1 or
    3), in a random order, as torchvision's ``ColorJitter``: each factor uniform in its range
    (a number v: (max(0, 1 - v), 1 + v); hue: (-v, v), v <= 0.5). Eight uniform numbers per
    sample: four whose ranks give the order, four factors."""

    name = "ColorJitter"

    def __init__(self, brightness: Any = 0, contrast: Any = 0, saturation: Any = 0, hue: Any = 0) -> None:
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0, bound=(-0.5, 0.5), clip=False)

    @staticmethod
    def _params(uniform: Any, ranges: Sequence[Any]) -> tuple[Any, list[Any]]:
        """``uniform`` (B, 8) -> order (B, 4) (a permutation of 0..3 per sample), factors (4 x (B,) or None)."""
        xp = get_array_module(uniform)
        order = xp.argsort(uniform[:, :4], axis=1)
        factors = [None if r is None else r[0] + (r[1] - r[0]) * uniform[:, 4 + k] for k, r in enumerate(ranges)]
        return order, factors

    @staticmethod
    def get_params(brightness: Any, contrast: Any, saturation: Any, hue: Any) -> tuple:
        """(fn_idx, b, c, s, h): the order of the four adjustments and their factors (None where unused)."""
        order, factors = ColorJitter._params(_uniforms(np, 1, 8), (brightness, contrast, saturation, hue))
        return (order[0], *(None if f is None else float(f[0]) for f in factors))

    def draw(self, batch: Any) -> tuple:
        uniform = _uniforms(_xp(batch), batch.shape[0], 8)
        return self._params(uniform, (self.brightness, self.contrast, self.saturation, self.hue))

    def apply_params(self, batch: Any, params: tuple) -> Any:
        xp = _xp(batch)
        order, factors = params
        if batch.shape[1] not in (1, 3):
            raise TypeError(f"ColorJitter: expected samples with 1 or 3 channels, got shape {tuple(batch.shape)}")
        ops = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
        out = batch.copy()
        for stage in range(4):  # at each stage, every sample gets the adjustment its order names there
            for k, (op, factor) in enumerate(zip(ops, factors)):
                if factor is None:
                    continue
                index = xp.flatnonzero(order[:, stage] == k)
                if index.size:
                    out[index] = op(out[index], factor[index].reshape(-1, 1, 1, 1))
        return out

    def __repr__(self) -> str:
        return (
            f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}, "
            f"hue={self.hue})"
        )


class Grayscale(BatchTransform):
    """An RGB image (..., 3, H, W) to grayscale (..., num_output_channels, H, W), as
    :func:`~.transforms_functional.rgb_to_grayscale`."""

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels should be either 1 or 3, got {num_output_channels}")
        self.num_output_channels = num_output_channels

    @_takes_images
    def __call__(self, x: Any) -> Any:
        return TF.rgb_to_grayscale(x, self.num_output_channels)

    def _pil(self, img: Any) -> Any:
        gray = img.convert("L")  # torchvision's PIL path
        return gray if self.num_output_channels == 1 else gray.convert("RGB")

    @_takes_images
    def apply_batch(self, batch: Any) -> Any:
        _check_image_batch(batch, "Grayscale")
        return self(batch)

    def __repr__(self) -> str:
        return f"Grayscale(num_output_channels={self.num_output_channels})"


class RandomGrayscale(_RandomImageTransform):
    """With probability ``p``, a sample (C, H, W) to grayscale with its C channels (one
    uniform number per sample), as torchvision's ``RandomGrayscale``."""

    name = "RandomGrayscale"

    def __init__(self, p: float = 0.1) -> None:
        self.p = _check_p(p, "RandomGrayscale")

    def draw(self, batch: Any) -> Any:
        return _uniforms(_xp(batch), batch.shape[0], 1)[:, 0] < self.p

    def apply_params(self, batch: Any, chosen: Any) -> Any:
        if not bool(chosen.any()):
            return batch.copy()
        gray = TF.rgb_to_grayscale(batch, batch.shape[1])
        return _xp(batch).where(chosen[:, None, None, None], gray, batch)

    def __repr__(self) -> str:
        return f"RandomGrayscale(p={self.p})"


class GaussianBlur(_RandomImageTransform):
    """Blur a sample (C, H, W) with a Gaussian of ``kernel_size`` (odd; int or (kx, ky)) and a
    sigma uniform in ``sigma`` ((min, max), or one value), as torchvision's ``GaussianBlur``
    (reflect padding). One uniform number per sample."""

    name = "GaussianBlur"

    def __init__(self, kernel_size: int | Sequence[int], sigma: Any = (0.1, 2.0)) -> None:
        kernel = _setup_size(kernel_size, "GaussianBlur kernel_size")
        if any(k % 2 == 0 for k in kernel):
            raise ValueError(f"GaussianBlur: kernel size values should be odd and positive, got {kernel_size!r}")
        if isinstance(sigma, Real):
            if sigma <= 0:
                raise ValueError(f"GaussianBlur: if sigma is a single number, it must be positive, got {sigma}")
            sigma = (float(sigma), float(sigma))
        elif isinstance(sigma, Sequence) and len(sigma) == 2:
            if not 0.0 < sigma[0] <= sigma[1]:
                raise ValueError(f"GaussianBlur: sigma values should be positive and (min, max), got {sigma}")
        else:
            raise ValueError(f"GaussianBlur: sigma should be a number or a list/tuple of length 2, got {sigma!r}")
        self.kernel_size, self.sigma = kernel, (float(sigma[0]), float(sigma[1]))

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float) -> float:
        """One sigma uniform in [sigma_min, sigma_max)."""
        return float(sigma_min + (sigma_max - sigma_min) * _uniforms(np, 1, 1)[0, 0])

    def draw(self, batch: Any) -> Any:
        lo, hi = self.sigma
        return lo + (hi - lo) * _uniforms(_xp(batch), batch.shape[0], 1)[:, 0]

    def apply_params(self, batch: Any, sigma: Any) -> Any:
        return TF.gaussian_blur_per_sample(batch, self.kernel_size, _xp(batch).stack([sigma, sigma], axis=1))

    def __repr__(self) -> str:
        return f"GaussianBlur(kernel_size={self.kernel_size}, sigma={self.sigma})"


class RandomPerspective(_RandomImageTransform):
    """With probability ``p``, a random perspective warp of a sample (C, H, W), as torchvision's
    ``RandomPerspective``: each corner moves inwards by a random whole number of pixels, up to
    ``distortion_scale`` times half the width / height (the area outside ``fill``ed, 0 by default).
    Nine uniform numbers per sample: one for ``p``, eight for the corners; the coefficients of the
    chosen samples are solved as one batch, and one grid_sample warps them all."""

    name = "RandomPerspective"

    def __init__(
        self,
        distortion_scale: float = 0.5,
        p: float = 0.5,
        interpolation: Any = TF.InterpolationMode.BILINEAR,
        fill: Any = 0,
    ) -> None:
        self.p = _check_p(p, "RandomPerspective")
        self.interpolation = TF.interpolation_name(interpolation, "RandomPerspective", ("nearest", "bilinear"))
        self.distortion_scale = distortion_scale
        if fill is not None and not isinstance(fill, (Real, Sequence)):  # None: 0, as torchvision
            raise TypeError(f"RandomPerspective: fill should be a number or a sequence, got {type(fill).__name__}")
        self.fill = 0 if fill is None else fill

    @staticmethod
    def _corners(uniform: Any, width: int, height: int, distortion_scale: float) -> Any:
        """``uniform`` (B, 8) -> endpoints (B, 4, 2): torchvision's randint ranges, corner by corner."""
        xp = get_array_module(uniform)
        dw, dh = int(distortion_scale * (width // 2)), int(distortion_scale * (height // 2))
        base = xp.asarray([[0, 0], [width - dw - 1, 0], [width - dw - 1, height - dh - 1], [0, height - dh - 1]])
        return base + xp.floor(uniform.reshape(-1, 4, 2) * xp.asarray([dw + 1, dh + 1])).astype(np.int64)

    @staticmethod
    def get_params(width: int, height: int, distortion_scale: float) -> tuple[list[list[int]], list[list[int]]]:
        """(startpoints, endpoints): the image's corners (top-left, top-right, bottom-right,
        bottom-left) and where they go, drawn as torchvision's (eight uniform numbers)."""
        endpoints = RandomPerspective._corners(_uniforms(np, 1, 8), width, height, distortion_scale)[0]
        startpoints = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
        return startpoints, endpoints.tolist()

    def draw(self, batch: Any) -> tuple[Any, Any]:
        uniform = _uniforms(_xp(batch), batch.shape[0], 9)
        height, width = batch.shape[-2:]
        return uniform[:, 0] < self.p, self._corners(uniform[:, 1:], width, height, self.distortion_scale)

    def apply_params(self, batch: Any, params: tuple[Any, Any]) -> Any:
        chosen, endpoints = params
        _, channels, height, width = batch.shape

        def warp(part: Any, index: Any) -> Any:
            start = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
            ends = to_numpy(endpoints)[to_numpy(index)]  # (an 8 x 8 solve each, on the host)
            coeffs = _xp(batch).asarray(TF.perspective_coefficients(start, ends))
            fill = _fill_list(self.fill, channels, "RandomPerspective")
            return TF.perspective_per_sample(part, coeffs, self.interpolation, fill)

        return _on_chosen(batch, chosen, warp)

    def __repr__(self) -> str:
        return f"RandomPerspective(p={self.p})"


def _on_chosen(batch: Any, chosen: Any, op: Callable[[Any, Any], Any]) -> Any:
    """A copy of ``batch`` (B, ...) with the samples where ``chosen`` (B,) is True replaced by
    ``op(batch[index], index)``, run once on them all."""
    out = batch.copy()
    index = _xp(batch).flatnonzero(chosen)
    if index.size:
        out[index] = op(batch[index], index)
    return out


class _RandomPhotometric(_RandomImageTransform):
    """With probability ``p``, a photometric op of :mod:`.transforms_functional` on a sample (C, H, W)
    (one uniform number per sample: applied when it is below ``p``, as torchvision's), the others
    kept as they are; the op runs once, on the chosen samples of a batch."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _check_p(p, self.name)

    def _op(self, batch: Any) -> Any:
        raise NotImplementedError

    def draw(self, batch: Any) -> Any:
        return _uniforms(_xp(batch), batch.shape[0], 1)[:, 0] < self.p

    def apply_params(self, batch: Any, chosen: Any) -> Any:
        return _on_chosen(batch, chosen, lambda part, _: self._op(part))

    def _args(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{self.name}({self._args()}p={self.p})"


class RandomInvert(_RandomPhotometric):
    """With probability ``p``, :func:`~.transforms_functional.invert` (``max - x``), as torchvision's."""

    name = "RandomInvert"

    def _op(self, batch: Any) -> Any:
        return TF.invert(batch)


class RandomPosterize(_RandomPhotometric):
    """With probability ``p``, :func:`~.transforms_functional.posterize` to ``bits`` bits (uint8)."""

    name = "RandomPosterize"

    def __init__(self, bits: int, p: float = 0.5) -> None:
        super().__init__(p)
        self.bits = bits

    def _op(self, batch: Any) -> Any:
        return TF.posterize(batch, self.bits)

    def _args(self) -> str:
        return f"bits={self.bits},"


class RandomSolarize(_RandomPhotometric):
    """With probability ``p``, :func:`~.transforms_functional.solarize` above ``threshold``."""

    name = "RandomSolarize"

    def __init__(self, threshold: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.threshold = threshold

    def _op(self, batch: Any) -> Any:
        return TF.solarize(batch, self.threshold)

    def _args(self) -> str:
        return f"threshold={self.threshold},"


class RandomAdjustSharpness(_RandomPhotometric):
    """With probability ``p``, :func:`~.transforms_functional.adjust_sharpness` by ``sharpness_factor``."""

    name = "RandomAdjustSharpness"

    def __init__(self, sharpness_factor: float, p: float = 0.5) -> None:
        super().__init__(p)
        self.sharpness_factor = sharpness_factor

    def _op(self, batch: Any) -> Any:
        return TF.adjust_sharpness(batch, self.sharpness_factor)

    def _args(self) -> str:
        return f"sharpness_factor={self.sharpness_factor},"


class RandomAutocontrast(_RandomPhotometric):
    """With probability ``p``, :func:`~.transforms_functional.autocontrast` (per channel)."""

    name = "RandomAutocontrast"

    def _op(self, batch: Any) -> Any:
        return TF.autocontrast(batch)


class RandomEqualize(_RandomPhotometric):
    """With probability ``p``, :func:`~.transforms_functional.equalize` (uint8, per channel)."""

    name = "RandomEqualize"

    def _op(self, batch: Any) -> Any:
        return TF.equalize(batch)


class FiveCrop(BatchTransform):
    """The four corner crops and the central crop of ``size`` (int or (height, width)) of an image
    (..., C, H, W) or a PIL image: a tuple of 5, as :func:`~.transforms_functional.five_crop`.
    ``apply_batch`` gives the tuple of the 5 crops of the whole batch, which is what collating the
    samples' tuples gives."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _setup_size(size, "FiveCrop size")

    def __call__(self, x: Any) -> tuple[Any, ...]:
        return TF.five_crop(x, self.size)

    def apply_batch(self, batch: Any) -> tuple[Any, ...]:
        _check_image_batch(batch.array if isinstance(batch, Tensor) else batch, "FiveCrop")
        return self(batch)

    def __repr__(self) -> str:
        return f"FiveCrop(size={self.size})"


class TenCrop(BatchTransform):
    """:class:`FiveCrop` of an image and of its mirror image (left-right, or upside down with
    ``vertical_flip``): a tuple of 10, as :func:`~.transforms_functional.ten_crop`."""

    def __init__(self, size: int | Sequence[int], vertical_flip: bool = False) -> None:
        self.size = _setup_size(size, "TenCrop size")
        self.vertical_flip = vertical_flip

    def __call__(self, x: Any) -> tuple[Any, ...]:
        return TF.ten_crop(x, self.size, self.vertical_flip)

    def apply_batch(self, batch: Any) -> tuple[Any, ...]:
        _check_image_batch(batch.array if isinstance(batch, Tensor) else batch, "TenCrop")
        return self(batch)

    def __repr__(self) -> str:
        return f"TenCrop(size={self.size}, vertical_flip={self.vertical_flip})"


class ToPILImage:
    """A Tensor (C, H, W) or an array (H, W, C) as a PIL image, as
    :func:`~.transforms_functional.to_pil_image` (``mode`` None: from the channels and dtype).
    Called per sample (not batched: a PIL image holds one)."""

    batched = False

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        return TF.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        return "ToPILImage()" if self.mode is None else f"ToPILImage(mode={self.mode})"


class Lambda:
    """A user function as a transform, ``Lambda(f)(x) == f(x)``; called once per sample (not batched)."""

    batched = False

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x: Any) -> Any:
        return self.lambd(x)

    def __repr__(self) -> str:
        return "Lambda()"


class RandomApply(BatchTransform):
    """Apply ``transforms`` in turn with probability ``p`` (one uniform number u per sample;
    applied when u <= p, as torchvision's). Batched when every transform is: ``apply_batch``
    draws u for every sample, then runs the transforms' ``apply_batch`` on the chosen samples
    (which must keep their shape). With deterministic transforms this equals one-by-one calls;
    with random ones the draws interleave differently (as :class:`Compose`), same distribution."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]], p: float = 0.5) -> None:
        self.transforms = list(transforms)
        self.p = _check_p(p, "RandomApply")

    @property
    def batched(self) -> bool:  # type: ignore[override]
        return all(is_batched(t) for t in self.transforms)

    def __call__(self, x: Any) -> Any:
        xp = _xp(x) if hasattr(x, "dtype") else np
        if self.p < _uniforms(xp, 1, 1)[0, 0]:
            return x
        for transform in self.transforms:
            x = transform(x)
        return x

    def apply_batch(self, batch: Any) -> Any:
        if not self.batched:
            raise TypeError(f"RandomApply.apply_batch: not every transform is batched: {self.transforms}")
        xp = _xp(batch)
        chosen = _uniforms(xp, batch.shape[0], 1)[:, 0] <= self.p
        if not bool(chosen.any()):
            return batch
        index = xp.flatnonzero(chosen)
        part = batch[index]
        for transform in self.transforms:
            part = transform.apply_batch(part)
        if part.shape[1:] != batch.shape[1:]:
            raise ValueError(
                f"RandomApply.apply_batch: the transforms change the sample shape {tuple(batch.shape[1:])} to "
                f"{tuple(part.shape[1:])}, so chosen and other samples cannot be stacked"
            )
        out = batch.astype(xp.result_type(batch, part), copy=True)
        out[index] = part
        return out

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"RandomApply(p={self.p}, transforms=[{inner}\n])"
