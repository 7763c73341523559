"""PIL images in the data pipeline, as torchvision takes them; Pillow is optional.

Pillow is not a dependency of minicnn (``pip install minicnn[images]`` adds it). It is imported
only when an image file is read (:func:`pil_loader`) or a PIL image is made (:func:`from_array`);
:func:`is_pil_image` recognises one without importing Pillow, since an image can only exist if
Pillow was imported already.

The transforms that torchvision applies to PIL images with PIL's own operations do the same here
(so the results are PIL's, pixel for pixel): resizing (:func:`resize`, PIL's filters, which always
antialias), cropping (:func:`crop`, zeros outside the image) and flips (:func:`flip`). The exact
array operations (padding, random crops) go through an array and back (:func:`to_array`,
:func:`from_array`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
"""The file extensions :class:`~minicnn.data.ImageFolder` reads (torchvision's)."""

_INSTALL_HINT = "Pillow is needed to read and transform PIL images: pip install minicnn[images] (or pip install pillow)"

# torchvision's ``to_tensor`` / ``pil_to_tensor`` element types; every other mode is uint8
_MODE_DTYPES = {"I": np.int32, "I;16" if sys.byteorder == "little" else "I;16B": np.int16, "F": np.float32}

# PIL's resampling filters by mode name (torchvision's ``pil_modes_mapping``)
_PIL_FILTERS = {"nearest": 0, "nearest-exact": 0, "bilinear": 2, "bicubic": 3}


def require_pil() -> Any:
    """The ``PIL.Image`` module; ImportError naming the ``images`` extra when Pillow is missing."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return Image


def is_pil_image(x: Any) -> bool:
    """Whether ``x`` is a ``PIL.Image.Image`` (without importing Pillow)."""
    image_module = sys.modules.get("PIL.Image")
    return image_module is not None and isinstance(x, image_module.Image)


def to_array(img: Any, native: bool = False) -> np.ndarray:
    """A PIL image as a new array (H, W, C), with the element type of torchvision's ``to_tensor``:
    int32 for mode ``I``, int16 for ``I;16``, float32 for ``F``, else uint8 (mode ``1``: 0 or 1);
    ``native``: NumPy's own for the mode, as ``pil_to_tensor`` (mode ``1``: bool, ``I;16``: uint16)."""
    array = np.array(img, None if native else _MODE_DTYPES.get(img.mode, np.uint8), copy=True)
    return array.reshape(img.size[1], img.size[0], len(img.getbands()))


def from_array(hwc: np.ndarray, like: Any) -> Any:
    """The array (H, W, C) of :func:`to_array` as a PIL image of the mode (and palette) of ``like``."""
    Image = require_pil()
    size = (hwc.shape[1], hwc.shape[0])
    if like.mode == "1":
        return Image.fromarray(np.ascontiguousarray(hwc[..., 0], dtype=bool))
    array = np.ascontiguousarray(hwc, dtype=_MODE_DTYPES.get(like.mode, np.uint8))
    out = Image.frombytes(like.mode, size, array.tobytes())
    if like.mode == "P":
        out.putpalette(like.getpalette())
    return out


def resize(img: Any, size: tuple[int, int], mode: str) -> Any:
    """``img`` resized to ``size`` (height, width) with PIL's filter for ``mode`` (torchvision's
    PIL path: ``img.resize((width, height), filter)``)."""
    return img.resize((size[1], size[0]), _PIL_FILTERS[mode])


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """PIL's ``img.crop``: the box (top, left, height, width), zeros where it leaves the image."""
    return img.crop((left, top, left + width, top + height))


def flip(img: Any, axis: int) -> Any:
    """``img`` mirrored left-right (``axis=-1``) or upside down (``axis=-2``)."""
    Image = require_pil()
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT if axis == -1 else Image.Transpose.FLIP_TOP_BOTTOM)


def apply_as_array(img: Any, transform: Any) -> Any:
    """``transform`` of the image's array (1, C, H, W) (a batch of one), back as a PIL image."""
    chw = to_array(img).transpose(2, 0, 1)[None]
    return from_array(np.asarray(transform(chw))[0].transpose(1, 2, 0), img)


def pil_loader(path: str | Path) -> Any:
    """The image file at ``path`` as an RGB PIL image (torchvision's ``pil_loader``)."""
    Image = require_pil()
    with open(path, "rb") as f:
        img = Image.open(f)
        return img.convert("RGB")


def default_loader(path: str | Path) -> Any:
    """torchvision's ``default_loader``: :func:`pil_loader` (minicnn has no other image backend)."""
    return pil_loader(path)
