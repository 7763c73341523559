"""Batch transforms: the preprocessing and augmentation of the LeNet/AlexNet/VGG era.

Every transform takes and returns an array and works on a whole batch at once, with no
Python loop over samples. Layouts:

- ``ToTensor`` takes images as stored (uint8, channels last or no channel axis) and returns
  the tensor layout, float32 in [0, 1]: (B, H, W) -> (B, 1, H, W), (B, H, W, C) -> (B, C, H, W),
  and a single (H, W) image -> (1, H, W).
- ``Normalize``, ``RandomCrop`` and ``RandomHorizontalFlip`` take the tensor layout: a batch
  (B, C, H, W) or a single sample (C, H, W). ``Pad`` pads the last two axes of any array.

Datasets and the DataLoader hand transforms batches, so put ``ToTensor()`` first:
``Compose([ToTensor(), RandomCrop(28, padding=2), Normalize(MNIST.mean, MNIST.std)])``.
The random transforms draw one choice per sample from ``minicnn.random.generator()`` (seeded
by ``mc.manual_seed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

from ..backend import get_array_module
from ..random import generator

_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


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
                f"{name}: got a 3-D {x.dtype} array of shape {tuple(x.shape)}, which looks like a batch of raw "
                "images (B, H, W); apply ToTensor() first (a single uint8 image goes in as (1, C, H, W))"
            )
        return x[None], True
    raise ValueError(f"{name}: expected a batch (B, C, H, W) or a sample (C, H, W), got shape {tuple(x.shape)}")


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToTensor:
    """Images as stored -> float32 tensor layout; uint8 is scaled by 1/255 into [0, 1].

    (H, W) -> (1, H, W); (B, H, W) -> (B, 1, H, W); (B, H, W, C) -> (B, C, H, W). Other
    dtypes are converted to float32 without scaling (as torchvision's ``ToTensor``).
    Unlike torchvision's per-sample ``ToTensor``, a 3-d array is read as a *batch* of
    greyscale images (these transforms work on batches): give a single colour image
    (H, W, C) as (1, H, W, C). The result is an array, which the DataLoader wraps.
    """

    def __call__(self, images: Any) -> Any:
        xp = get_array_module(images)
        images = xp.asarray(images)
        if images.ndim == 2:
            chw = images[None]
        elif images.ndim == 3:
            chw = images[:, None]
        elif images.ndim == 4:
            chw = images.transpose(0, 3, 1, 2)
        else:
            raise ValueError(
                f"ToTensor: expected images (H, W), (B, H, W) or (B, H, W, C), got shape {tuple(images.shape)}"
            )
        out = xp.ascontiguousarray(chw, dtype=xp.float32)
        if images.dtype == xp.uint8:
            out /= 255  # out is a fresh copy here; division as torch does it, bit for bit
        return out

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel c of a float (B, C, H, W) or (C, H, W) array.

    ``mean`` and ``std`` hold C values, or one value for all channels. ``inplace=True``
    overwrites ``x``.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float], inplace: bool = False) -> None:
        self.mean = (float(mean),) if isinstance(mean, Real) else tuple(float(m) for m in mean)
        self.std = (float(std),) if isinstance(std, Real) else tuple(float(s) for s in std)
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std must not be zero, got {self.std}")
        self.inplace = inplace

    def __call__(self, x: Any) -> Any:
        xp = get_array_module(x)
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: expected a floating-point array (apply ToTensor() first), got {x.dtype}")
        if x.ndim < 3:
            raise ValueError(f"Normalize: expected (B, C, H, W) or (C, H, W), got shape {tuple(x.shape)}")
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

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Pad:
    """Pad the last two axes (H, W) of an array of any rank.

    ``padding``: an int (all sides), (left/right, top/bottom), or (left, top, right, bottom),
    as torchvision. ``padding_mode``: ``"constant"`` (with ``fill``), ``"edge"``,
    ``"reflect"`` (mirror without repeating the edge) or ``"symmetric"`` (repeating it).
    """

    def __init__(self, padding: int | Sequence[int], fill: float = 0, padding_mode: str = "constant") -> None:
        pads = (padding,) * 4 if isinstance(padding, Integral) else tuple(padding)
        if len(pads) == 2:
            pads = pads * 2
        if len(pads) != 4 or any(int(p) != p or p < 0 for p in pads):
            raise ValueError(f"Pad: padding must be a non-negative int or 2 or 4 of them, got {padding!r}")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {_PAD_MODES}, got {padding_mode!r}")
        self.padding = tuple(int(p) for p in pads)  # left, top, right, bottom
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, x: Any) -> Any:
        xp = get_array_module(x)
        if x.ndim < 2:
            raise ValueError(f"Pad: expected an array with (H, W) as its last two axes, got shape {tuple(x.shape)}")
        left, top, right, bottom = self.padding
        widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
        if self.padding_mode == "constant":
            return xp.pad(x, widths, mode="constant", constant_values=self.fill)
        return xp.pad(x, widths, mode=self.padding_mode)

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode!r})"


def crop_per_sample(x: Any, top: Any, left: Any, height: int, width: int) -> Any:
    """Crop sample b of ``x`` (B, C, H, W) to rows ``top[b]:top[b]+height``, columns ``left[b]:left[b]+width``.

    One fancy-indexing gather: returns (B, C, height, width).
    """
    xp = get_array_module(x)
    batch, channels = x.shape[:2]
    rows = xp.asarray(top)[:, None] + xp.arange(height)  # (B, height)
    cols = xp.asarray(left)[:, None] + xp.arange(width)  # (B, width)
    return x[
        xp.arange(batch)[:, None, None, None],
        xp.arange(channels)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


class RandomCrop:
    """Crop each sample at a random place to ``size`` (int or (height, width)).

    ``padding`` (optional, as :class:`Pad`, with ``fill`` and ``padding_mode``) is applied
    first: ``RandomCrop(28, padding=4)`` shifts each image by up to 4 pixels. With
    ``pad_if_needed`` an image smaller than ``size`` is then padded on both sides by the
    shortfall, as in torchvision. One offset pair
    is drawn per sample, uniformly over all valid positions.
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
        xp = get_array_module(x)
        batch, single = _as_batch(x, "RandomCrop")
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
        rng = generator(xp)
        top = rng.integers(0, height - h + 1, size=n)
        left = rng.integers(0, width - w + 1, size=n)
        out = crop_per_sample(batch, top, left, h, w)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.pad.padding if self.pad else None})"


class RandomHorizontalFlip:
    """Mirror each sample left-right with probability ``p`` (one draw per sample)."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, x: Any) -> Any:
        xp = get_array_module(x)
        batch, single = _as_batch(x, "RandomHorizontalFlip")
        flip = generator(xp).random(batch.shape[0]) < self.p
        out = xp.where(flip[:, None, None, None], batch[..., ::-1], batch)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
