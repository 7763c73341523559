"""``mc.data.transforms.functional``: the deterministic image transforms of
``torchvision.transforms.functional`` (v1), for arrays (NumPy or CuPy).

An image is (..., C, H, W): a sample (C, H, W) or any stack of them; the leading axes share
the transform. Float images (float32/float64) are in [0, 1], uint8 images in [0, 255]; as
torchvision, geometric ops on uint8 compute in float32 and round back (``torch.round``: half
to even), colour ops clamp and truncate. The results are new arrays (flips and crops may be
views of the input, as torchvision's).

- :func:`crop`, :func:`center_crop`, :func:`vflip`, :func:`hflip`, :func:`erase`,
  :func:`five_crop`, :func:`ten_crop`: indexing; :func:`pad`: :class:`~.transforms.Pad`.
- :func:`resize`, :func:`resized_crop`: :func:`minicnn.nn.functional.interpolate`
  (``align_corners=False``, ``antialias`` passed on for bilinear and bicubic).
- :func:`perspective`: torchvision's coefficients (its 8 x 8 least-squares system, solved by
  Householder QR as its gels; three corners on a line: RuntimeError where R is singular, else
  coefficients of rounding noise, which may differ) and its grid; sampled as rotate/affine.
- :func:`rotate`, :func:`affine`: torchvision's inverse affine matrix, its sampling grid, and
  :func:`minicnn.nn.functional.grid_sample` (nearest or bilinear, zeros padding; a ``fill``
  is blended in through an extra all-ones channel, as torchvision).
- :func:`rgb_to_grayscale`, :func:`adjust_brightness`, :func:`adjust_contrast`,
  :func:`adjust_saturation`, :func:`adjust_hue`: torchvision's blends and HSV round trip.
- :func:`gaussian_blur`: reflect padding and a separable Gaussian.
- :func:`invert`, :func:`posterize`, :func:`solarize`, :func:`adjust_gamma`,
  :func:`adjust_sharpness`, :func:`autocontrast`, :func:`equalize`: torchvision's tensor
  arithmetic (AutoAugment's ops), uint8 bit for bit; equalize's per-channel histograms in one
  bincount. :func:`to_pil_image`: an array or Tensor as a PIL image, as torchvision's.

The random transforms of :mod:`minicnn.data.transforms` apply the same arithmetic to a batch
(B, C, H, W) with one set of parameters per sample, vectorised: the ``*_per_sample`` helpers
here (per-sample resized crops through per-sample interpolation taps, per-sample affine grids
in one grid_sample call, per-sample blends and blurs). Cost: crops, flips and erasing are
gathers of the output's size; resizing T taps per output pixel and axis (2 bilinear, 4
bicubic, more when antialiasing shrinks); rotate/affine one grid_sample (4 taps bilinear);
a blur kx + ky multiply-adds per pixel.

Agreement with torchvision 0.29 (tests/test_transforms_more.py): float32 within 1e-5. The
affine grid is torchvision's own (``_gen_affine_grid``: pixel offsets from the centre times
the matrix, then normalised), not :func:`~minicnn.nn.functional.affine_grid` (which
normalises first): the same terms summed in the same order (torch's bmm: its naive kernel
below 400 multiply-adds, 6 * OH * OW, else the BLAS's fused product), so nearest-neighbour
sampling picks torchvision's pixels, even at exact half-pixel ties (a quarter turn of an
image with H + W odd is all ties), on torch's CPU builds as tested (the BLAS's blocking may
still round a few grid points of a larger canvas otherwise, where a tie may then go to the
other neighbour). uint8 resampling rounds a float32 result, which a
bilinear/bicubic blend of integers often puts at k + 1/2: torchvision and minicnn may then
round apart (by 1). Antialiased resizing to an output width of 1: torch 2.14's CPU kernel
ignores the vertical pass when the height changes (5 equal rows); the per-sample resizer
here gives the separable result, as :func:`~minicnn.nn.functional.interpolate`.

As torchvision's, every function here also takes a :class:`~minicnn.Tensor` (one that does not
require grad), giving the same result as for its array, as a Tensor; and :func:`to_tensor`,
:func:`pil_to_tensor`, :func:`crop`, :func:`center_crop`, :func:`hflip`, :func:`vflip`,
:func:`resize` and :func:`resized_crop` take PIL images as torchvision does (the geometric ones
with PIL's own operations, returning PIL images: :mod:`.pil`; Pillow is the ``images`` extra).
"""

from __future__ import annotations

import functools
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from enum import Enum
from numbers import Integral, Real
from typing import Any

import numpy as np

from ..autograd import Tensor, _wrap
from ..backend import get_array_module, to_numpy
from ..kernels.resample_aa import aa_filter
from ..kernels.rounding import fma
from ..kernels.upsample import cubic_weights
from ..ops.grid_sample import grid_sample
from ..ops.upsample import interpolate
from . import pil as _pil
from .pil import is_pil_image


class InterpolationMode(Enum):
    """torchvision's interpolation modes (the ones its tensor backend supports)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


_PIL_MODES = {0: "nearest", 2: "bilinear", 3: "bicubic"}  # torchvision's Pillow integer constants


def interpolation_name(interpolation: Any, name: str, allowed: Sequence[str] | None = None) -> str:
    """The mode string of ``interpolation``: an :class:`InterpolationMode` (or torchvision's:
    any enum whose value is the string), the string itself, or a Pillow integer constant."""
    if isinstance(interpolation, Enum):
        interpolation = interpolation.value
    elif isinstance(interpolation, Integral) and not isinstance(interpolation, bool):
        interpolation = _PIL_MODES.get(int(interpolation), interpolation)
    modes = allowed if allowed is not None else [m.value for m in InterpolationMode]
    if interpolation not in modes:
        raise ValueError(f"{name}: interpolation must be one of {list(modes)}, got {interpolation!r}")
    return str(interpolation)


def check_image(img: Any, name: str) -> Any:
    """The array module of an image array (..., C, H, W); a clear error for anything else."""
    if isinstance(img, Tensor):
        raise TypeError(
            f"{name}: got a Tensor that requires grad; minicnn's image transforms are not differentiable "
            "(pass x.detach())"
        )
    if is_pil_image(img):
        raise TypeError(f"{name}: minicnn takes image arrays and Tensors here, got a PIL image; apply ToTensor() first")
    if not hasattr(img, "ndim") or not hasattr(img, "dtype"):
        raise TypeError(f"{name}: expected an image array (..., C, H, W), got {type(img).__name__}")
    if img.ndim < 3:
        raise ValueError(f"{name}: expected an image (..., C, H, W), got shape {tuple(img.shape)}")
    if img.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected a float or integer (uint8) image, got {img.dtype}")
    return get_array_module(img)


def tensor_io(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function(img, ...)`` of an image array, also taking a Tensor ``img`` (one that does not
    require grad): the result for its array, as a Tensor (the Tensor itself where the function
    wrote into its array and returned it, as the ``inplace`` forms)."""

    @functools.wraps(function)
    def wrapper(img: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(img, Tensor) and not img.requires_grad:
            out = function(img.array, *args, **kwargs)
            return img if out is img.array else _wrap(out)
        return function(img, *args, **kwargs)

    return wrapper


def _size_pair(size: int | Sequence[int], name: str, what: str = "size") -> tuple[int, int]:
    if isinstance(size, Integral) and not isinstance(size, bool):
        pair: tuple[Any, ...] = (size, size)
    elif isinstance(size, Sequence) and len(size) in (1, 2):
        pair = (size[0], size[0]) if len(size) == 1 else tuple(size)
    else:
        raise ValueError(f"{name}: {what} must be an int or a sequence of 1 or 2 ints, got {size!r}")
    if any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in pair):
        raise ValueError(f"{name}: {what} must hold positive ints, got {size!r}")
    return int(pair[0]), int(pair[1])


def _to_compute(img: Any, xp: Any) -> tuple[Any, Any]:
    """(image as float32/float64, its original dtype): torchvision's ``_cast_squeeze_in``."""
    if img.dtype in (np.float32, np.float64):
        return img, img.dtype
    return img.astype(np.float32), img.dtype


def _from_compute(img: Any, dtype: Any, xp: Any) -> Any:
    """torchvision's ``_cast_squeeze_out``: round (half to even) before casting to an int type."""
    if img.dtype == dtype:
        return img
    if np.dtype(dtype).kind in "ui":
        img = xp.rint(img)
    return img.astype(dtype)


# --- conversion ---------------------------------------------------------------------------


def _image_array(pic: Any, name: str, native: bool) -> Any:
    """A PIL image (copied, as :func:`~.pil.to_array` with ``native``) or an image array, as an
    array (H, W, C) or (H, W)."""
    if is_pil_image(pic):
        return _pil.to_array(pic, native)
    if isinstance(pic, Tensor) or not hasattr(pic, "ndim"):
        raise TypeError(f"{name}: pic should be PIL Image or ndarray. Got {type(pic)}")
    if pic.ndim not in (2, 3):
        raise ValueError(
            f"{name}: expected an image (H, W) or (H, W, C), got shape {tuple(pic.shape)} "
            "(ToTensor().apply_batch takes a batch (B, H, W) or (B, H, W, C))"
        )
    return pic


def to_channels_first(images: Any, scale: bool) -> Any:
    """Images (..., H, W, C) -> a new C-contiguous array (..., C, H, W); with ``scale``, uint8
    becomes float32 / 255 (dividing as torch does, bit for bit), other dtypes stay as they are."""
    xp = get_array_module(images)
    lead = tuple(range(images.ndim - 3))
    out = images.transpose(*lead, images.ndim - 1, images.ndim - 3, images.ndim - 2)
    if not scale or out.dtype != xp.uint8:
        return xp.array(out, order="C", copy=True)
    out = xp.ascontiguousarray(out, dtype=xp.float32)  # a fresh copy: uint8 -> float32
    out /= 255
    return out


def image_to_tensor(pic: Any, scale: bool, name: str) -> Tensor:
    """A PIL image or an array (H, W) / (H, W, C) -> a Tensor (C, H, W) of a new array: with
    ``scale`` as :func:`to_tensor`, else as :func:`pil_to_tensor`; errors name ``name``."""
    array = _image_array(pic, name, native=not scale)
    if scale and is_pil_image(pic) and pic.mode == "1":
        array = array * np.uint8(255)  # as torchvision: mode 1 becomes 0 or 1.0
    return _wrap(to_channels_first(array if array.ndim == 3 else array[..., None], scale))


def to_tensor(pic: Any) -> Tensor:
    """torchvision's ``to_tensor``: a PIL image or an array (H, W) / (H, W, C) -> a Tensor
    (C, H, W); uint8 as float32 in [0, 1], other dtypes kept unscaled (PIL mode ``1``: 0 or 1.0)."""
    return image_to_tensor(pic, True, "to_tensor")


def pil_to_tensor(pic: Any) -> Tensor:
    """torchvision's ``pil_to_tensor``: a PIL image -> a Tensor (C, H, W) of its values, unscaled
    (uint8 for 8-bit modes). As a minicnn extension, an array image (H, W) or (H, W, C) (what
    minicnn's datasets give where torchvision's give PIL images) is taken too."""
    return image_to_tensor(pic, False, "pil_to_tensor")


_ONE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int32): "I", np.dtype(np.float32): "F"}
_ONE_CHANNEL_MODES[np.dtype(np.int16)] = "I;16" if sys.byteorder == "little" else "I;16B"
_MULTI_CHANNEL_MODES = {2: ("LA",), 3: ("RGB", "YCbCr", "HSV"), 4: ("RGBA", "CMYK", "RGBX")}


def to_pil_image(pic: Any, mode: str | None = None) -> Any:
    """torchvision's ``to_pil_image``: a Tensor (C, H, W) or (H, W), or an array (H, W, C) or
    (H, W) (NumPy or CuPy), as a PIL image. Float data becomes uint8 as ``(pic * 255)`` truncated
    unless ``mode`` is ``"F"``; with no ``mode``, one channel gives L (uint8), I;16 (int16), I
    (int32) or F (float32), 2 / 3 / 4 channels of uint8 give LA / RGB / RGBA. ValueError for
    other shapes or a ``mode`` the data cannot take, TypeError for a dtype with no mode."""
    if isinstance(pic, Tensor):
        array = pic.array
        if array.ndim == 3:
            array = array.transpose(1, 2, 0)
    elif hasattr(pic, "ndim") and hasattr(pic, "dtype") and not is_pil_image(pic):
        array = pic
    else:
        raise TypeError(f"to_pil_image: pic should be Tensor or ndarray, got {type(pic)}")
    array = to_numpy(array)  # (CuPy: to the host)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"to_pil_image: pic should be 2/3 dimensional, got {array.ndim} dimensions")
    if array.shape[-1] > 4:
        raise ValueError(f"to_pil_image: pic should not have > 4 channels, got {array.shape[-1]} channels")
    if array.dtype.kind == "f" and mode != "F":
        array = (array * 255).astype(np.uint8)
    channels = array.shape[2]
    if channels == 1:
        array = array[:, :, 0]
        expected = _ONE_CHANNEL_MODES.get(array.dtype)
        if mode is not None and mode != expected:
            raise ValueError(
                f"to_pil_image: incorrect mode ({mode}) for input type {array.dtype}, should be {expected}"
            )
        mode = expected
    else:
        permitted = _MULTI_CHANNEL_MODES[channels]
        if mode is not None and mode not in permitted:
            raise ValueError(f"to_pil_image: only modes {list(permitted)} are supported for {channels} channels")
        if mode is None and array.dtype == np.uint8:
            mode = permitted[0]
    if mode is None:
        raise TypeError(f"to_pil_image: input type {array.dtype} is not supported")
    size = (array.shape[1], array.shape[0])
    # Image.frombuffer reads the bytes in ``mode`` as torchvision's (Image.fromarray's mode is deprecated)
    return _pil.require_pil().frombuffer(mode, size, np.ascontiguousarray(array).tobytes(), "raw", mode, 0, 1)


@tensor_io
def convert_image_dtype(image: Any, dtype: Any = np.float32) -> Any:
    """torchvision's ``convert_image_dtype``: ``image`` as ``dtype``, its values rescaled between
    the ranges of the two types (floats [0, 1], integers [0, max of the type]): int -> float
    divides by the input's max; float -> int multiplies by ``max + 1 - 1e-3`` and truncates
    (RuntimeError for float32 -> int32/int64 and float64 -> int64, as torchvision); int -> int
    shifts by the ratio of the ranges (floor division or product)."""
    if is_pil_image(image) or not hasattr(image, "dtype"):
        raise TypeError(f"convert_image_dtype: Input img should be Tensor Image, got {type(image)}")
    dtype = np.dtype(dtype)
    if image.dtype == dtype:
        return image
    if image.dtype.kind == "f":
        if dtype.kind == "f":
            return image.astype(dtype)
        wide = (np.int32, np.int64) if image.dtype == np.float32 else (np.int64,) if image.dtype == np.float64 else ()
        if dtype in wide:
            raise RuntimeError(f"convert_image_dtype: the cast from {image.dtype} to {dtype} cannot be done safely")
        return (image * image.dtype.type(np.iinfo(dtype).max + 1.0 - 1e-3)).astype(dtype)
    input_max = float(np.iinfo(image.dtype).max)
    if dtype.kind == "f":
        return image.astype(dtype) / dtype.type(input_max)
    output_max = float(np.iinfo(dtype).max)
    if input_max > output_max:
        return (image // int((input_max + 1) // (output_max + 1))).astype(dtype)
    return image.astype(dtype) * dtype.type(int((output_max + 1) // (input_max + 1)))


def normalize(tensor: Any, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Any:
    """torchvision's ``normalize``: ``(tensor - mean[c]) / std[c]`` per channel of a float
    (..., C, H, W) Tensor or array (:class:`~minicnn.data.transforms.Normalize`)."""
    from .transforms import Normalize  # the class holds the arithmetic (and its differentiable path)

    return Normalize(mean, std, inplace)(tensor)


# --- crops and flips ----------------------------------------------------------------------


@tensor_io
def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """``img[..., top:top+height, left:left+width]``; parts outside the image are zeros (a PIL
    image: PIL's crop)."""
    if is_pil_image(img):
        return _pil.crop(img, top, left, height, width)
    xp = check_image(img, "crop")
    h, w = img.shape[-2:]
    bottom, right = top + height, left + width
    if height < 0 or width < 0:
        raise ValueError(f"crop: height and width must not be negative, got {(height, width)}")
    if left < 0 or top < 0 or right > w or bottom > h:
        pads = [(0, 0)] * (img.ndim - 2) + [
            (max(-top + min(0, bottom), 0), max(bottom - max(h, top), 0)),
            (max(-left + min(0, right), 0), max(right - max(w, left), 0)),
        ]
        return xp.pad(img[..., max(top, 0) : bottom, max(left, 0) : right], pads)
    return img[..., top:bottom, left:right]


@tensor_io
def center_crop(img: Any, output_size: int | Sequence[int]) -> Any:
    """The central (height, width) of ``img``; an image smaller than that is padded with zeros
    first (as torchvision: the extra pixel of an odd shortfall goes right/bottom)."""
    crop_h, crop_w = _size_pair(output_size, "center_crop", "output_size")
    if is_pil_image(img):  # torchvision pads with zeros, then crops: one PIL crop reaching outside
        sides = zip((img.height, img.width), (crop_h, crop_w))
        top, left = (-((c - s) // 2) if c > s else int(round((s - c) / 2.0)) for s, c in sides)
        return _pil.crop(img, top, left, crop_h, crop_w)
    check_image(img, "center_crop")
    h, w = img.shape[-2:]
    if crop_w > w or crop_h > h:
        left, top = max(crop_w - w, 0) // 2, max(crop_h - h, 0) // 2
        right, bottom = max(crop_w - w + 1, 0) // 2, max(crop_h - h + 1, 0) // 2
        xp = get_array_module(img)
        img = xp.pad(img, [(0, 0)] * (img.ndim - 2) + [(top, bottom), (left, right)])
        h, w = img.shape[-2:]
        if (crop_h, crop_w) == (h, w):
            return img
    return crop(img, int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0)), crop_h, crop_w)


@tensor_io
def vflip(img: Any) -> Any:
    """Upside down: ``img[..., ::-1, :]`` (a PIL image: PIL's flip)."""
    if is_pil_image(img):
        return _pil.flip(img, -2)
    check_image(img, "vflip")
    return img.flip(-2) if isinstance(img, Tensor) else img[..., ::-1, :]  # (a tensor takes no [::-1])


@tensor_io
def hflip(img: Any) -> Any:
    """Mirrored left-right: ``img[..., ::-1]`` (a PIL image: PIL's flip)."""
    if is_pil_image(img):
        return _pil.flip(img, -1)
    check_image(img, "hflip")
    return img.flip(-1) if isinstance(img, Tensor) else img[..., ::-1]


@tensor_io
def erase(img: Any, i: int, j: int, h: int, w: int, v: Any, inplace: bool = False) -> Any:
    """``img[..., i:i+h, j:j+w] = v`` (v broadcasts to (C, h, w)), on a copy unless ``inplace``."""
    xp = check_image(img, "erase")
    if not inplace:
        img = img.copy()
    img[..., i : i + h, j : j + w] = xp.asarray(v)
    return img


def pad(img: Any, padding: int | Sequence[int], fill: float = 0, padding_mode: str = "constant") -> Any:
    """torchvision's ``pad``: the (H, W) of ``img`` (an array, Tensor or PIL image) padded by
    ``padding`` (all sides, (left/right, top/bottom) or (left, top, right, bottom); negative
    amounts crop) in ``padding_mode`` constant (``fill``), edge, reflect or symmetric, as
    :class:`~minicnn.data.transforms.Pad`."""
    from .transforms import Pad  # the class holds the arithmetic (and its PIL path)

    return Pad(padding, fill, padding_mode)(img)


def five_crop(img: Any, size: int | Sequence[int]) -> tuple[Any, Any, Any, Any, Any]:
    """torchvision's ``five_crop``: the four corner crops of ``size`` (height, width) of ``img``
    (..., C, H, W) or a PIL image, and its central crop: (top-left, top-right, bottom-left,
    bottom-right, centre). ValueError if ``size`` exceeds the image."""
    if isinstance(size, Real):
        size = (int(size), int(size))
    elif isinstance(size, Sequence) and len(size) == 1:
        size = (size[0], size[0])
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(f"five_crop: please provide only two dimensions (h, w) for size, got {size!r}")
    if is_pil_image(img):
        height, width = img.height, img.width
    else:
        check_image(img.array if isinstance(img, Tensor) else img, "five_crop")
        height, width = img.shape[-2:]
    crop_h, crop_w = size
    if crop_w > width or crop_h > height:
        raise ValueError(f"five_crop: requested crop size {tuple(size)} is bigger than input size {(height, width)}")
    return (
        crop(img, 0, 0, crop_h, crop_w),
        crop(img, 0, width - crop_w, crop_h, crop_w),
        crop(img, height - crop_h, 0, crop_h, crop_w),
        crop(img, height - crop_h, width - crop_w, crop_h, crop_w),
        center_crop(img, [crop_h, crop_w]),
    )


def ten_crop(img: Any, size: int | Sequence[int], vertical_flip: bool = False) -> tuple[Any, ...]:
    """torchvision's ``ten_crop``: :func:`five_crop` of ``img``, then of ``img`` flipped
    (left-right, or upside down with ``vertical_flip``)."""
    flipped = vflip(img) if vertical_flip else hflip(img)
    return five_crop(img, size) + five_crop(flipped, size)


# --- resizing -----------------------------------------------------------------------------


def resized_output_size(
    height: int, width: int, size: int | Sequence[int], max_size: int | None, name: str
) -> tuple[int, int]:
    """torchvision's ``_compute_resized_output_size``: (new height, new width). As torchvision, a
    size that is no int or sequence of ints is a TypeError (a bool is an int there, as in Python)."""
    if isinstance(size, Integral):
        size = [int(size)]
    if not isinstance(size, Sequence) or isinstance(size, str):
        raise TypeError(f"{name}: size should be an int or a sequence of 1 or 2 ints, got {type(size).__name__}")
    if len(size) not in (1, 2):
        raise ValueError(f"{name}: size must be an int or a sequence of 1 or 2 ints, got {size!r}")
    if not all(isinstance(s, Integral) for s in size):
        raise TypeError(f"{name}: size should hold ints, got {size!r}")
    if any(s < 1 for s in size):
        raise ValueError(f"{name}: size must hold positive ints, got {size!r}")
    if len(size) == 2:
        if max_size is not None:
            raise ValueError(f"{name}: max_size should only be passed if size is an int or a sequence of 1 int")
        return int(size[0]), int(size[1])
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = int(size[0]), int(int(size[0]) * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"{name}: max_size = {max_size} must be strictly greater than the size {new_short}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return new_h, new_w


@tensor_io
def resize(
    img: Any,
    size: int | Sequence[int],
    interpolation: Any = InterpolationMode.BILINEAR,
    max_size: int | None = None,
    antialias: bool | None = True,
) -> Any:
    """``img`` (..., C, H, W) resized to ``size``: (height, width), or an int (or a sequence of
    one) for the shorter side, keeping the aspect ratio (the longer side truncated, at most
    ``max_size``). Modes nearest, nearest-exact, bilinear, bicubic (F.interpolate,
    ``align_corners=False``); ``antialias`` only for bilinear and bicubic (None means False).
    An image of the requested size is returned as it is. A PIL image is resized by PIL (whose
    bilinear and bicubic filters always antialias), as torchvision's."""
    mode = interpolation_name(interpolation, "resize")
    if is_pil_image(img):
        out_h, out_w = resized_output_size(img.height, img.width, size, max_size, "resize")
        if (out_h, out_w) == (img.height, img.width):
            return img
        if antialias is False:
            warnings.warn(
                "Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.", stacklevel=2
            )
        return _pil.resize(img, (out_h, out_w), mode)
    xp = check_image(img, "resize")
    h, w = img.shape[-2:]
    out_h, out_w = resized_output_size(h, w, size, max_size, "resize")
    if (out_h, out_w) == (h, w):
        return img
    antialias = bool(antialias) and mode in ("bilinear", "bicubic")
    x, dtype = _to_compute(img, xp)
    lead = x.shape[:-3]
    batch = x.reshape((-1,) + x.shape[-3:])
    align = False if mode in ("bilinear", "bicubic") else None
    out = interpolate(Tensor(batch), size=(out_h, out_w), mode=mode, align_corners=align, antialias=antialias).array
    if mode == "bicubic" and dtype == np.uint8:
        out = xp.clip(out, 0, 255)
    return _from_compute(out.reshape(lead + out.shape[1:]), dtype, xp)


@tensor_io
def resized_crop(
    img: Any,
    top: int,
    left: int,
    height: int,
    width: int,
    size: int | Sequence[int],
    interpolation: Any = InterpolationMode.BILINEAR,
    antialias: bool | None = True,
) -> Any:
    """:func:`crop` then :func:`resize`."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def resize_taps(
    in_size: Any, out_size: int, mode: str, antialias: bool, dtype: Any, small_kernel: bool
) -> tuple[Any, Any]:
    """Per-sample taps of torch's resizing along one axis: ``in_size`` (B,) int array ->
    (index (B, out_size, T) int64, weight (B, out_size, T) in ``dtype``, None for nearest),
    ``y[b, o] = sum_t weight[b, o, t] * x[b, index[b, o, t]]``.

    The rules of torch's CPU kernels (``align_corners=False``, no scale factor): nearest
    ``floor(o * in/out)`` in float32 (``small_kernel``: torch's 2-d kernel for OH + OW <= 128,
    else float64 for float64 input), nearest-exact ``floor((o + 0.5) * in/out)``; bilinear and
    bicubic from ``src = in/out * (o + 0.5) - 0.5`` (fused), bilinear clamping src at 0 and the
    taps at the last pixel, bicubic clamping its 4 taps into the image (A = -0.75); with
    ``antialias`` the support of the triangle / cubic (A = -0.5) filter is stretched by
    ``max(in/out, 1)``, truncated at the edges and the weights normalised to sum 1 (T the
    largest support in the batch; the taps beyond a sample's own support weigh 0).
    """
    xp = get_array_module(in_size)
    n_in = in_size.astype(np.int64)[:, None]  # (B, 1)
    o = xp.arange(out_size)[None, :]  # (1, out)
    ct = np.float64 if np.dtype(dtype) == np.float64 else np.float32
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest":
            wide = np.float64 if ct == np.float64 and not small_kernel else np.float32
            src = o.astype(wide) * (n_in.astype(wide) / wide(out_size))
        elif small_kernel:
            src = (o + 0.5) * (n_in.astype(np.float32) / np.float32(out_size)).astype(np.float64)
        else:
            scale = n_in.astype(ct) / ct(out_size)
            src = xp.maximum(fma(scale, o.astype(ct) + ct(0.5), ct(-0.5)), ct(0)).astype(np.float64) + 0.5
        index = xp.minimum(xp.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)
        return index[..., None], None
    cubic = mode == "bicubic"
    if antialias:
        scale = n_in.astype(np.float64) / out_size
        support = (2.0 if cubic else 1.0) * xp.maximum(scale, 1.0)
        invscale = 1.0 / xp.maximum(scale, 1.0)
        center = scale * (o + 0.5)
        xmin = xp.maximum(xp.trunc(center - support + 0.5), 0).astype(np.int64)
        xsize = xp.minimum(xp.trunc(center + support + 0.5).astype(np.int64), n_in) - xmin
        taps = xp.arange(int(xsize.max()))
        weight = aa_filter((taps + xmin[..., None] - center[..., None] + 0.5) * invscale[..., None], mode)
        weight = xp.where(taps < xsize[..., None], weight, 0.0)
        total = weight.sum(-1, keepdims=True)
        weight = weight / xp.where(total == 0, 1.0, total)
        return xp.minimum(xmin[..., None] + taps, n_in[..., None] - 1), weight.astype(dtype)
    src = fma(n_in.astype(ct) / ct(out_size), o.astype(ct) + ct(0.5), ct(-0.5))
    if not cubic:
        src = xp.maximum(src, ct(0))
    base = xp.minimum(xp.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)
    lam = xp.clip(src - base.astype(ct), 0, 1).astype(ct)
    if not cubic:
        index = xp.stack([base, base + (base < n_in - 1)], axis=-1)
        return index, xp.stack([1 - lam, lam], axis=-1).astype(dtype)
    index = xp.clip(base[..., None] + xp.arange(-1, 3), 0, n_in[..., None] - 1)
    return index, xp.stack(cubic_weights(lam), axis=-1).astype(dtype)


def resized_crop_per_sample(
    batch: Any, top: Any, left: Any, height: Any, width: Any, size: tuple[int, int], mode: str, antialias: bool
) -> Any:
    """Sample b of ``batch`` (B, C, H, W) cropped to the box (``top[b]``, ``left[b]``,
    ``height[b]``, ``width[b]``) (inside the image) and resized to ``size`` = (OH, OW): as
    :func:`resized_crop` on each sample, vectorised with per-sample taps (:func:`resize_taps`),
    columns first, then rows (torch's order). A box already of size (OH, OW) is copied exactly."""
    xp = get_array_module(batch)
    x, dtype = _to_compute(batch, xp)
    n, c = x.shape[:2]
    out_h, out_w = size
    antialias = antialias and mode in ("bilinear", "bicubic")
    small = out_h + out_w <= 128
    rows, row_w = resize_taps(xp.asarray(height), out_h, mode, antialias, x.dtype, small)
    cols, col_w = resize_taps(xp.asarray(width), out_w, mode, antialias, x.dtype, small)
    rows = rows + xp.asarray(top)[:, None, None]
    cols = cols + xp.asarray(left)[:, None, None]
    b = xp.arange(n)[:, None, None, None]
    ch = xp.arange(c)[None, :, None, None]
    wide = None  # (B, C, H, OW): the columns pass; each gathered part is a new array, updated in place
    for t in range(cols.shape[-1]):
        part = x[b, ch, xp.arange(x.shape[2])[None, None, :, None], cols[:, None, None, :, t]]
        if col_w is not None:
            part *= col_w[:, None, None, :, t]
        wide = part if wide is None else xp.add(wide, part, out=wide)
    out = None
    for t in range(rows.shape[-1]):
        part = wide[b, ch, rows[:, None, :, t, None], xp.arange(out_w)[None, None, None, :]]
        if row_w is not None:
            part *= row_w[:, None, :, t, None]
        out = part if out is None else xp.add(out, part, out=out)
    if mode == "bicubic" and dtype == np.uint8:
        out = xp.clip(out, 0, 255)
    return _from_compute(out, dtype, xp)


# --- rotate and affine --------------------------------------------------------------------


def inverse_affine_matrix(
    center: Sequence[float], angle: float, translate: Sequence[float], scale: float, shear: Sequence[float]
) -> list[float]:
    """torchvision's ``_get_inverse_affine_matrix`` (output pixel -> input pixel, both relative
    to ``center``): the 6 entries of the 2x3 matrix, row by row."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    matrix = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
    matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
    matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
    matrix[2] += cx
    matrix[5] += cy
    return matrix


def inverse_affine_matrices(center: Any, angle: Any, translate: Any, scale: Any, shear: Any) -> Any:
    """:func:`inverse_affine_matrix` for B samples at once: ``center``, ``translate``,
    ``shear`` (B, 2), ``angle``, ``scale`` (B,) arrays -> (B, 6) float64."""
    xp = get_array_module(angle)
    rot, sx, sy = xp.radians(angle), xp.radians(shear[:, 0]), xp.radians(shear[:, 1])
    cx, cy, tx, ty = center[:, 0], center[:, 1], translate[:, 0], translate[:, 1]
    a = xp.cos(rot - sy) / xp.cos(sy)
    b = -xp.cos(rot - sy) * xp.tan(sx) / xp.cos(sy) - xp.sin(rot)
    c = xp.sin(rot - sy) / xp.cos(sy)
    d = -xp.sin(rot - sy) * xp.tan(sx) / xp.cos(sy) + xp.cos(rot)
    zero = xp.zeros_like(a)
    m = [v / scale for v in (d, -b, zero, -c, a, zero)]
    m[2] = m[2] + m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] = m[5] + m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return xp.stack(m, axis=-1)


def _fill_values(fill: Any, channels: int, name: str) -> list[float] | None:
    if fill is None:
        return None
    values = [float(fill)] if isinstance(fill, Real) else [float(f) for f in fill]
    if len(values) not in (1, channels):
        raise ValueError(
            f"{name}: the number of elements in 'fill' cannot broadcast to match the number of channels of the "
            f"image ({len(values)} != {channels})"
        )
    return values


def affine_per_sample(batch: Any, matrices: Any, out_size: tuple[int, int], mode: str, fill: list[float] | None) -> Any:
    """Sample b of ``batch`` (B, C, H, W) resampled through its own inverse affine matrix
    ``matrices[b]`` (6 values, as :func:`inverse_affine_matrix`) onto an (OH, OW) canvas with
    the same centre: torchvision's ``_gen_affine_grid`` per sample and one
    :func:`~minicnn.nn.functional.grid_sample` (``mode`` nearest or bilinear, zeros padding,
    ``align_corners=False``). ``fill`` (one value or one per channel, or None): the value of
    the area outside the image, blended through an extra all-ones channel as torchvision (for
    nearest: where that channel samples below 0.5)."""
    xp = get_array_module(batch)
    x, dtype = _to_compute(batch, xp)
    n, c, h, w = x.shape
    out_h, out_w = out_size
    ct = x.dtype.type
    theta = xp.asarray(matrices, dtype=x.dtype).reshape(n, 2, 3)
    rescaled = xp.swapaxes(theta, 1, 2) / xp.asarray([0.5 * w, 0.5 * h], dtype=x.dtype)  # (B, 3, 2)
    xs = xp.arange(out_w, dtype=x.dtype) - ct(out_w * 0.5 - 0.5)  # torchvision's linspace, exact
    ys = xp.arange(out_h, dtype=x.dtype) - ct(out_h * 0.5 - 0.5)
    r = rescaled[:, None, None]  # (B, 1, 1, 3, 2)
    x_term = xs[None, None, :, None] * r[..., 0, :]
    if 6 * out_h * out_w < 400:  # torch's bmm: its naive kernel below 400 multiply-adds, else BLAS (fused)
        grid = x_term + ys[None, :, None, None] * r[..., 1, :] + r[..., 2, :]
    else:
        grid = fma(ys[None, :, None, None], r[..., 1, :], x_term) + r[..., 2, :]
    return _sample_grid(x, grid, mode, _fill_values(fill, c, "affine"), dtype)


def _sample_grid(x: Any, grid: Any, mode: str, values: list[float] | None, dtype: Any) -> Any:
    """torchvision's ``_apply_grid_transform``: ``x`` (B, C, H, W) in its compute dtype sampled at
    ``grid`` (B, OH, OW, 2), ``values`` (or None) filling the outside, cast back to ``dtype``."""
    xp = get_array_module(x)
    n, _, h, w = x.shape
    if values is not None:
        x = xp.concatenate([x, xp.ones((n, 1, h, w), x.dtype)], axis=1)
    out = grid_sample(Tensor(x), Tensor(grid), mode=mode, padding_mode="zeros", align_corners=False).array
    if values is not None:
        out, mask = out[:, :-1], out[:, -1:]
        fill_img = xp.asarray(values, dtype=x.dtype).reshape(1, -1, 1, 1)
        if mode == "nearest":
            xp.copyto(out, xp.broadcast_to(fill_img, out.shape), where=mask < 0.5)
        else:  # torchvision's out * mask + (1 - mask) * fill, in place
            out *= mask
            out += (1.0 - mask) * fill_img
    return _from_compute(out, dtype, xp)


def _grid_transform(img: Any, matrix: list[float], out_size: tuple[int, int], mode: str, fill: Any) -> Any:
    """One matrix for every image of the stack ``img`` (..., C, H, W)."""
    lead = img.shape[:-3]
    batch = img.reshape((-1,) + img.shape[-3:])
    matrices = np.tile(np.asarray(matrix, np.float64), (batch.shape[0], 1))
    fill_values = _fill_values(fill, img.shape[-3], "affine")
    out = affine_per_sample(batch, get_array_module(img).asarray(matrices), out_size, mode, fill_values)
    return out.reshape(lead + out.shape[1:])


def _center_offset(center: Sequence[float] | None, height: int, width: int, name: str) -> list[float]:
    if center is None:
        return [0.0, 0.0]
    if not isinstance(center, Sequence) or len(center) != 2:
        raise TypeError(f"{name}: center should be a sequence of 2 values, got {center!r}")
    return [1.0 * (cc - s * 0.5) for cc, s in zip(center, [width, height])]


def rotated_size(matrix: list[float], width: int, height: int) -> tuple[int, int]:
    """torchvision's ``_compute_affine_output_size`` (expand=True): (new width, new height)."""
    pts = np.array(
        [[-0.5 * width, -0.5 * height, 1.0], [-0.5 * width, 0.5 * height, 1.0],
         [0.5 * width, 0.5 * height, 1.0], [0.5 * width, -0.5 * height, 1.0]],
        np.float32,
    )  # fmt: skip
    new = pts @ np.asarray(matrix, np.float32).reshape(2, 3).T
    half = np.array([width * 0.5, height * 0.5], np.float32)
    low, high = new.min(axis=0) + half, new.max(axis=0) + half
    tol = np.float32(1e-4)
    size = np.ceil(np.trunc(high / tol) * tol) - np.floor(np.trunc(low / tol) * tol)
    return int(size[0]), int(size[1])


@tensor_io
def rotate(
    img: Any,
    angle: float,
    interpolation: Any = InterpolationMode.NEAREST,
    expand: bool = False,
    center: Sequence[int] | None = None,
    fill: Any = None,
) -> Any:
    """``img`` (..., C, H, W) rotated by ``angle`` degrees counter-clockwise about ``center``
    ((x, y) in pixels from the top-left corner; default the image centre). ``expand``: the
    canvas grows to hold the whole rotated image (rotation about the centre). ``fill``: the
    value(s) outside the image (None: zeros, without torchvision's mask blending)."""
    check_image(img, "rotate")
    mode = interpolation_name(interpolation, "rotate", ("nearest", "bilinear"))
    if not isinstance(angle, Real):
        raise TypeError(f"rotate: angle should be int or float, got {type(angle).__name__}")
    h, w = img.shape[-2:]
    matrix = inverse_affine_matrix(_center_offset(center, h, w, "rotate"), -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0])
    out_w, out_h = rotated_size(matrix, w, h) if expand else (w, h)
    return _grid_transform(img, matrix, (out_h, out_w), mode, fill)


def _shear_pair(shear: Any, name: str) -> list[float]:
    if isinstance(shear, Real):
        return [float(shear), 0.0]
    if not isinstance(shear, Sequence) or len(shear) not in (1, 2):
        raise ValueError(f"{name}: shear should be a number or a sequence of 1 or 2 values, got {shear!r}")
    return [float(shear[0])] * 2 if len(shear) == 1 else [float(s) for s in shear]


@tensor_io
def affine(
    img: Any,
    angle: float,
    translate: Sequence[int],
    scale: float,
    shear: Any,
    interpolation: Any = InterpolationMode.NEAREST,
    fill: Any = None,
    center: Sequence[int] | None = None,
) -> Any:
    """``img`` (..., C, H, W) rotated by ``angle`` degrees (clockwise), scaled by ``scale``,
    sheared by ``shear`` degrees (x, or (x, y)) about ``center`` (default the image centre),
    then shifted by ``translate`` = (dx, dy) pixels; the canvas keeps its size."""
    check_image(img, "affine")
    mode = interpolation_name(interpolation, "affine", ("nearest", "bilinear"))
    if not isinstance(angle, Real):
        raise TypeError(f"affine: angle should be int or float, got {type(angle).__name__}")
    if not isinstance(translate, Sequence) or len(translate) != 2:
        raise ValueError(f"affine: translate should be a sequence of length 2, got {translate!r}")
    if scale <= 0.0:
        raise ValueError(f"affine: scale should be positive, got {scale}")
    h, w = img.shape[-2:]
    center_f = _center_offset(center, h, w, "affine")
    translate_f = [1.0 * t for t in translate]
    matrix = inverse_affine_matrix(center_f, float(angle), translate_f, scale, _shear_pair(shear, "affine"))
    return _grid_transform(img, matrix, (h, w), mode, fill)


def perspective_coefficients(startpoints: Any, endpoints: Any) -> np.ndarray:
    """torchvision's ``_get_perspective_coeffs`` for one or a batch of point sets: ``startpoints``
    and ``endpoints`` (..., 4, 2) ((x, y) of the corners top-left, top-right, bottom-right,
    bottom-left) -> (..., 8) (a, b, c, d, e, f, g, h) mapping an output pixel (x, y) to the input
    ((a x + b y + c) / (g x + h y + 1), (d x + e y + f) / (g x + h y + 1)): the 8 x 8 system
    solved in float64 (batched), rounded to float32 as torchvision's. On the host (NumPy)."""
    start = np.asarray(startpoints, np.float64)
    end = np.asarray(endpoints, np.float64)
    if start.shape[-2:] != (4, 2) or end.shape[-2:] != (4, 2):
        raise ValueError(
            f"perspective: please provide exactly four corners (x, y), got startpoints of shape {start.shape} "
            f"and endpoints of shape {end.shape}"
        )
    start, end = np.broadcast_arrays(start, end)
    ex, ey, sx, sy = end[..., 0], end[..., 1], start[..., 0], start[..., 1]  # (..., 4)
    one, zero = np.ones_like(ex), np.zeros_like(ex)
    rows_x = np.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], axis=-1)  # (..., 4, 8)
    rows_y = np.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], axis=-1)
    a = np.stack([rows_x, rows_y], axis=-2).reshape(start.shape[:-2] + (8, 8))
    b = start.reshape(start.shape[:-2] + (8,))
    # LAPACK's gels, as torchvision's lstsq: Householder QR, then R x = Q^T b (R upper triangular, so
    # solve's partial pivoting keeps its rows); three corners on a line make R singular (or nearly)
    q, r = np.linalg.qr(a)
    if not np.all(np.diagonal(r, axis1=-2, axis2=-1)):
        raise RuntimeError(
            f"perspective: the corners {end.tolist()} do not define a perspective transform (three on a line)"
        )
    coeffs = np.linalg.solve(r, np.swapaxes(q, -1, -2) @ b[..., None])[..., 0]
    return coeffs.astype(np.float32).astype(np.float64)


def perspective_per_sample(batch: Any, coeffs: Any, mode: str, fill: list[float] | None) -> Any:
    """Sample b of ``batch`` (B, C, H, W) resampled through its own perspective ``coeffs[b]`` (8
    values, :func:`perspective_coefficients`): torchvision's ``_perspective_grid`` (two products
    of the pixel centres (x + 0.5, y + 0.5, 1), divided) and one
    :func:`~minicnn.nn.functional.grid_sample` (nearest or bilinear, zeros padding, ``fill`` blended
    in as :func:`affine_per_sample`). Cost: one grid_sample (4 taps bilinear) and 10 flops per pixel."""
    xp = get_array_module(batch)
    x, dtype = _to_compute(batch, xp)
    n, _, h, w = x.shape
    k = xp.asarray(coeffs, dtype=x.dtype).reshape(n, 8)[:, None, None, :]  # (B, 1, 1, 8)
    half = xp.asarray([0.5 * w, 0.5 * h], dtype=x.dtype)
    r0, r1, r2 = (xp.stack([k[..., i], k[..., i + 3]], axis=-1) / half for i in range(3))  # (B, 1, 1, 2)
    t0, t1 = (xp.stack([k[..., i], k[..., i]], axis=-1) for i in (6, 7))
    xs = (xp.arange(w, dtype=x.dtype) + x.dtype.type(0.5))[None, None, :, None]  # torchvision's linspace, exact
    ys = (xp.arange(h, dtype=x.dtype) + x.dtype.type(0.5))[None, :, None, None]
    if 6 * h * w < 400:  # torch's bmm: its naive kernel below 400 multiply-adds, else BLAS (fused)
        grid1 = xs * r0 + ys * r1 + r2
        grid2 = xs * t0 + ys * t1 + x.dtype.type(1)
    else:
        grid1 = fma(ys, r1, xs * r0) + r2
        grid2 = fma(ys, t1, xs * t0) + x.dtype.type(1)
    grid = grid1 / grid2 - x.dtype.type(1)
    return _sample_grid(x, grid, mode, fill, dtype)


@tensor_io
def perspective(
    img: Any,
    startpoints: Sequence[Sequence[int]],
    endpoints: Sequence[Sequence[int]],
    interpolation: Any = InterpolationMode.BILINEAR,
    fill: Any = None,
) -> Any:
    """``img`` (..., C, H, W) warped so that the corners ``startpoints`` (4 (x, y): top-left,
    top-right, bottom-right, bottom-left) go to ``endpoints``: each output pixel samples the
    input through :func:`perspective_coefficients` (nearest or bilinear; ``fill`` outside, None:
    zeros), as torchvision's."""
    check_image(img, "perspective")
    mode = interpolation_name(interpolation, "perspective", ("nearest", "bilinear"))
    coeffs = perspective_coefficients(startpoints, endpoints)
    if coeffs.ndim != 1:
        raise ValueError(f"perspective: expected one set of four corners, got coefficients of shape {coeffs.shape}")
    batch = img.reshape((-1,) + img.shape[-3:])
    fill_values = _fill_values(fill, img.shape[-3], "perspective")
    tiled = get_array_module(img).asarray(np.tile(coeffs, (batch.shape[0], 1)))
    return perspective_per_sample(batch, tiled, mode, fill_values).reshape(img.shape)


# --- colour -------------------------------------------------------------------------------


def _bound(dtype: Any) -> float:
    return 1.0 if np.dtype(dtype).kind == "f" else float(np.iinfo(dtype).max)


def _check_channels(img: Any, name: str) -> int:
    channels = img.shape[-3]
    if channels not in (1, 3):
        # TypeError as torchvision's _assert_channels
        raise TypeError(f"{name}: expected an image with 1 or 3 channels (..., C, H, W), got shape {tuple(img.shape)}")
    return channels


def _work_dtype(dtype: Any) -> Any:
    """The float type torch computes ``uint8 * python float`` in (float32), else the image's."""
    return np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float32)


def blend(img1: Any, img2: Any, ratio: Any) -> Any:
    """torchvision's ``_blend``: ``ratio * img1 + (1 - ratio) * img2`` clamped to the range of
    img1's dtype and cast to it (truncating). ``ratio`` a number or an array broadcasting
    against the images (one ratio per sample: (B, 1, 1, 1))."""
    xp = get_array_module(img1)
    wd = _work_dtype(img1.dtype)
    ratio = xp.asarray(ratio, dtype=np.float64)
    mixed = ratio.astype(wd) * img1 + (1.0 - ratio).astype(wd) * img2
    return xp.clip(mixed, 0, _bound(img1.dtype)).astype(img1.dtype)


@tensor_io
def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
    """``0.2989 R + 0.587 G + 0.114 B`` (..., 3, H, W) -> (..., 1, H, W), cast back to the
    image's dtype (truncating), repeated to 3 channels if ``num_output_channels == 3``; a
    one-channel image is copied (and stays one channel, as torchvision's)."""
    xp = check_image(img, "rgb_to_grayscale")
    _check_channels(img, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be either 1 or 3, got {num_output_channels}")
    if img.shape[-3] == 3:
        wd = _work_dtype(img.dtype)
        r, g, b = (img[..., k, :, :] for k in range(3))
        gray = (wd.type(0.2989) * r + wd.type(0.587) * g + wd.type(0.114) * b).astype(img.dtype)[..., None, :, :]
    else:
        gray = img.copy()
    if num_output_channels == 3:
        return xp.broadcast_to(gray, img.shape).copy()  # torchvision's expand: a 1-channel image stays so
    return gray


def _check_factor(factor: Any, name: str, what: str) -> None:
    if isinstance(factor, Real) and factor < 0:
        raise ValueError(f"{name}: {what} ({factor}) is not non-negative.")


@tensor_io
def adjust_brightness(img: Any, brightness_factor: float) -> Any:
    """``img * brightness_factor``, clamped (0 gives black, 1 the image)."""
    xp = check_image(img, "adjust_brightness")
    _check_factor(brightness_factor, "adjust_brightness", "brightness_factor")
    _check_channels(img, "adjust_brightness")
    return blend(img, xp.zeros_like(img), brightness_factor)


@tensor_io
def adjust_contrast(img: Any, contrast_factor: float) -> Any:
    """A blend with the mean of the image's grayscale (per image: over C, H, W)."""
    check_image(img, "adjust_contrast")
    _check_factor(contrast_factor, "adjust_contrast", "contrast_factor")
    channels = _check_channels(img, "adjust_contrast")
    wd = _work_dtype(img.dtype)
    gray = rgb_to_grayscale(img) if channels == 3 else img
    mean = gray.astype(wd).mean(axis=(-3, -2, -1), keepdims=True)
    return blend(img, mean, contrast_factor)


@tensor_io
def adjust_saturation(img: Any, saturation_factor: float) -> Any:
    """A blend with the image's grayscale (0: gray, 1: the image); a one-channel image is
    returned as it is."""
    check_image(img, "adjust_saturation")
    _check_factor(saturation_factor, "adjust_saturation", "saturation_factor")
    if _check_channels(img, "adjust_saturation") == 1:
        return img
    return blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb2hsv(img: Any) -> Any:
    """torchvision's ``_rgb2hsv`` (..., 3, H, W) -> (h, s, v) stacked, h in [0, 1)."""
    xp = get_array_module(img)
    r, g, b = (img[..., k, :, :] for k in range(3))
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = xp.ones_like(maxc)
    s = cr / xp.where(eqc, ones, maxc)
    cr_divisor = xp.where(eqc, ones, cr)
    rc, gc, bc = ((maxc - v) / cr_divisor for v in (r, g, b))
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = xp.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0).astype(img.dtype)
    return xp.stack((h, s, maxc), axis=-3)


def _hsv2rgb(img: Any) -> Any:
    """torchvision's ``_hsv2rgb``."""
    xp = get_array_module(img)
    h, s, v = (img[..., k, :, :] for k in range(3))
    i = xp.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = xp.clip(v * (1.0 - s), 0.0, 1.0)
    q = xp.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = xp.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = ((v, q, p, p, t, v), (t, v, v, q, p, p), (p, p, t, v, v, q))  # channel by sector i
    if xp is np:
        return np.stack([np.choose(i, [np.broadcast_to(a, i.shape) for a in row]) for row in table], axis=-3)
    # CuPy's choose takes the choices as one array (it reads choices.shape), and its default
    # mode="raise" checks the range on the host; i is in [0, 6) already, so "clip" clips nothing
    return xp.stack(
        [xp.choose(i, xp.stack([xp.broadcast_to(a, i.shape) for a in row]), mode="clip") for row in table], axis=-3
    )


@tensor_io
def adjust_hue(img: Any, hue_factor: float) -> Any:
    """Shift the hue by ``hue_factor`` (in [-0.5, 0.5], turns of the colour wheel), through
    HSV in float32 (an integer image scaled by 1/max of its type and back, as torchvision's
    ``convert_image_dtype``: uint8, int16; int32/int64 are refused, as torch refuses them);
    a one-channel image is returned as it is."""
    xp = check_image(img, "adjust_hue")
    if isinstance(hue_factor, Real) and not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _check_channels(img, "adjust_hue") == 1:
        return img
    dtype = img.dtype
    x = img.astype(np.float32)
    if dtype.kind in "ui":  # torchvision's convert_image_dtype: [0, max] <-> [0, 1]
        top = np.iinfo(dtype).max
        if top > 2**24:  # as torch, which refuses the float32 -> int32/int64 conversion back
            raise TypeError(f"adjust_hue: cannot convert float32 back to {dtype} safely (use uint8 or a float image)")
        x = x / np.float32(top)
    hsv = _rgb2hsv(x)
    shift = xp.asarray(hue_factor, dtype=np.float32)
    hue = xp.mod(hsv[..., 0, :, :] + (shift[..., 0, :, :] if shift.ndim else shift), np.float32(1.0))
    rgb = _hsv2rgb(xp.stack((hue, hsv[..., 1, :, :], hsv[..., 2, :, :]), axis=-3))
    if dtype.kind in "ui":
        return (rgb * np.float32(top + 1.0 - 1e-3)).astype(dtype)
    return rgb.astype(dtype)


# --- photometric ops of AutoAugment / RandAugment ------------------------------------------


def _check_photometric(img: Any, name: str, uint8_only: bool = False) -> Any:
    """The array module of an image (..., 1 or 3, H, W) for the photometric ops below; torchvision's
    TypeError for fewer than 3 dimensions, other channel counts and (``uint8_only``) other dtypes."""
    if hasattr(img, "ndim") and not isinstance(img, Tensor) and img.ndim < 3:
        raise TypeError(f"{name}: expected an image tensor with at least 3 dimensions (..., C, H, W), got {img.ndim}")
    xp = check_image(img, name)
    if uint8_only and img.dtype != np.uint8:
        raise TypeError(f"{name}: only uint8 images are supported, got {img.dtype}")
    _check_channels(img, name)
    return xp


def _max_value(dtype: Any) -> Any:
    """torchvision's ``_max_value``: 1.0 for floats, the type's max for integers (as that type)."""
    dtype = np.dtype(dtype)
    return dtype.type(1.0) if dtype.kind == "f" else dtype.type(np.iinfo(dtype).max)


@tensor_io
def invert(img: Any) -> Any:
    """``max - img`` (max 1.0 for floats, 255 for uint8, the type's max for other ints)."""
    _check_photometric(img, "invert")
    return _max_value(img.dtype) - img


@tensor_io
def posterize(img: Any, bits: int) -> Any:
    """A uint8 image with only the ``bits`` (0 to 8) high bits of each value kept."""
    if not 0 <= bits <= 8:
        raise ValueError(f"posterize: the number of bits should be between 0 and 8, got {bits}")
    _check_photometric(img, "posterize", uint8_only=True)
    return img & np.uint8((256 - 2 ** (8 - int(bits))) & 0xFF)


@tensor_io
def solarize(img: Any, threshold: float) -> Any:
    """``img`` with the values at or above ``threshold`` inverted (:func:`invert`); TypeError
    for a threshold above the dtype's max, as torchvision's."""
    xp = _check_photometric(img, "solarize")
    if threshold > _max_value(img.dtype):
        raise TypeError(f"solarize: threshold ({threshold}) should be at most the bound of the image ({img.dtype})")
    return xp.where(img >= threshold, _max_value(img.dtype) - img, img)


@tensor_io
def adjust_gamma(img: Any, gamma: float, gain: float = 1) -> Any:
    """``gain * img ** gamma`` clamped to [0, 1] on the image scaled to [0, 1] (an integer image
    as :func:`convert_image_dtype` to float32 and back)."""
    xp = _check_photometric(img, "adjust_gamma")
    if gamma < 0:
        raise ValueError(f"adjust_gamma: gamma should be a non-negative real number, got {gamma}")
    dtype = img.dtype
    x = img if dtype.kind == "f" else convert_image_dtype(img, np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = xp.clip(gain * x**gamma, 0, 1).astype(x.dtype, copy=False)
    return convert_image_dtype(x, dtype)


def _blurred_degenerate(img: Any, xp: Any) -> Any:
    """torchvision's ``_blurred_degenerate_image``: the inner pixels (H - 2, W - 2) smoothed by the
    3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 (valid, per channel; an integer image in
    float32, rounded back), the border pixels kept. Cost: 9 multiply-adds per inner pixel."""
    x, dtype = _to_compute(img, xp)
    weights = np.ones((3, 3), x.dtype)
    weights[1, 1] = 5
    weights /= weights.sum()
    height, width = x.shape[-2:]
    inner = sum(weights[i, j] * x[..., i : i + height - 2, j : j + width - 2] for i in range(3) for j in range(3))
    out = img.copy()
    out[..., 1:-1, 1:-1] = _from_compute(inner, dtype, xp)
    return out


@tensor_io
def adjust_sharpness(img: Any, sharpness_factor: float) -> Any:
    """A blend of ``img`` with its :func:`_blurred_degenerate` (0: blurred, 1: the image, 2:
    sharper); an image of height or width at most 2 is returned as it is (torchvision's)."""
    if sharpness_factor < 0:
        raise ValueError(f"adjust_sharpness: sharpness_factor ({sharpness_factor}) is not non-negative.")
    xp = _check_photometric(img, "adjust_sharpness")
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    return blend(img, _blurred_degenerate(img, xp), sharpness_factor)


@tensor_io
def autocontrast(img: Any) -> Any:
    """Each channel stretched linearly so that its minimum becomes 0 and its maximum the dtype's max
    (a constant channel, or one with a non-finite scale, is kept), clamped and cast back."""
    xp = _check_photometric(img, "autocontrast")
    bound = _bound(img.dtype)
    wd = _work_dtype(img.dtype)
    minimum = img.min(axis=(-2, -1), keepdims=True).astype(wd)
    maximum = img.max(axis=(-2, -1), keepdims=True).astype(wd)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = wd.type(1) / (maximum - minimum) * wd.type(bound)  # torch's bound / t: t.reciprocal() * bound
        degenerate = ~xp.isfinite(scale)
        minimum = xp.where(degenerate, wd.type(0), minimum)
        scale = xp.where(degenerate, wd.type(1), scale)
        return xp.clip((img - minimum) * scale, 0, bound).astype(img.dtype)


@tensor_io
def equalize(img: Any) -> Any:
    """Histogram equalisation of a uint8 image (C, H, W) or batch (B, C, H, W), per channel as
    torchvision's ``_scale_channel``: one bincount of every channel's values offset by 256 * its
    index, a cumulative-histogram lookup table per channel (a channel whose values but its top one
    number fewer than 255 is kept). Cost: two passes over the image and 256 entries per channel."""
    if hasattr(img, "ndim") and not isinstance(img, Tensor) and not 3 <= img.ndim <= 4:
        raise TypeError(f"equalize: expected an image (C, H, W) or a batch (B, C, H, W), got {img.ndim} dimensions")
    xp = _check_photometric(img, "equalize", uint8_only=True)
    if img.size == 0:
        return img.copy()
    channels = img.reshape(-1, img.shape[-2] * img.shape[-1])
    n = channels.shape[0]
    offsets = channels.astype(np.int64) + 256 * xp.arange(n, dtype=np.int64)[:, None]
    hist = xp.bincount(offsets.ravel(), minlength=256 * n).reshape(n, 256)
    top = channels.max(axis=1).astype(np.int64)
    step = (channels.shape[1] - xp.take_along_axis(hist, top[:, None], axis=1)) // 255  # (n, 1)
    lut = (xp.cumsum(hist, axis=1) + step // 2) // xp.maximum(step, 1)
    lut = xp.clip(xp.concatenate([xp.zeros_like(lut[:, :1]), lut[:, :-1]], axis=1), 0, 255)
    out = xp.take_along_axis(lut, channels.astype(np.int64), axis=1).astype(np.uint8)
    return xp.where(step == 0, channels, out).reshape(img.shape)


# --- blur ---------------------------------------------------------------------------------


def gaussian_kernels(kernel_size: int, sigma: Any, dtype: Any) -> Any:
    """torchvision's 1-d Gaussian kernel(s): ``sigma`` (B,) -> (B, kernel_size), each summing to 1."""
    xp = get_array_module(sigma)
    half = (kernel_size - 1) * 0.5
    x = xp.linspace(-half, half, kernel_size).astype(dtype)
    pdf = xp.exp(-0.5 * (x / xp.asarray(sigma, dtype=dtype)[:, None]) ** 2)
    return pdf / pdf.sum(axis=-1, keepdims=True)


def gaussian_blur_per_sample(batch: Any, kernel_size: tuple[int, int], sigma: Any) -> Any:
    """Sample b of ``batch`` (B, C, H, W) blurred with (sigma_x, sigma_y) = ``sigma[b]``
    ((B, 2)): reflect padding by half the kernel, then the separable Gaussian, kx taps along W
    and ky along H (kernel_size = (kx, ky), as torchvision)."""
    xp = get_array_module(batch)
    x, dtype = _to_compute(batch, xp)
    kx, ky = kernel_size
    height, width = x.shape[-2:]
    if ky // 2 >= height or kx // 2 >= width:
        raise ValueError(
            f"gaussian_blur: reflect padding of ({ky // 2}, {kx // 2}) must be smaller than the image's (H, W) = "
            f"{(height, width)}; use a smaller kernel_size than {(kx, ky)}"
        )
    sigma = xp.asarray(sigma, dtype=np.float64)
    wx = gaussian_kernels(kx, sigma[:, 0], x.dtype)[:, None, None, :]  # (B, 1, 1, kx)
    wy = gaussian_kernels(ky, sigma[:, 1], x.dtype)[:, None, None, :]
    pad = xp.pad(x, [(0, 0), (0, 0), (ky // 2, ky // 2), (kx // 2, kx // 2)], mode="reflect")
    rows = sum(wy[..., t, None] * pad[:, :, t : t + height, :] for t in range(ky))
    out = sum(wx[..., t, None] * rows[:, :, :, t : t + width] for t in range(kx))
    return _from_compute(out, dtype, xp)


def _blur_arguments(kernel_size: Any, sigma: Any) -> tuple[tuple[int, int], tuple[float, float]]:
    if isinstance(kernel_size, Integral) and not isinstance(kernel_size, bool):
        kernel_size = [int(kernel_size)] * 2
    if not isinstance(kernel_size, Sequence) or len(kernel_size) != 2:
        raise ValueError(f"gaussian_blur: kernel_size should be an int or a sequence of 2 ints, got {kernel_size!r}")
    for k in kernel_size:
        if not isinstance(k, Integral) or k % 2 == 0 or k < 0:
            raise ValueError(f"gaussian_blur: kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    if isinstance(sigma, Real):
        sigma = [float(sigma)] * 2
    if not isinstance(sigma, Sequence) or len(sigma) not in (1, 2):
        raise ValueError(f"gaussian_blur: sigma should be a number or a sequence of 1 or 2 numbers, got {sigma!r}")
    sigma = [float(sigma[0])] * 2 if len(sigma) == 1 else [float(s) for s in sigma]
    if any(s <= 0 for s in sigma):
        raise ValueError(f"gaussian_blur: sigma should have positive values. Got {sigma}")
    return (int(kernel_size[0]), int(kernel_size[1])), (sigma[0], sigma[1])


@tensor_io
def gaussian_blur(img: Any, kernel_size: int | Sequence[int], sigma: Any = None) -> Any:
    """``img`` (..., C, H, W) blurred by a Gaussian of ``kernel_size`` (kx, ky) (odd ints, or
    one int) and ``sigma`` (sigma_x, sigma_y) (or one value; None: ``0.15 * k + 0.35``), with
    reflect padding (the output keeps the image's size)."""
    xp = check_image(img, "gaussian_blur")
    kernel, sigmas = _blur_arguments(kernel_size, sigma)
    batch = img.reshape((-1,) + img.shape[-3:])
    sigma_b = xp.tile(xp.asarray(sigmas, dtype=np.float64), (batch.shape[0], 1))
    return gaussian_blur_per_sample(batch, kernel, sigma_b).reshape(img.shape)
