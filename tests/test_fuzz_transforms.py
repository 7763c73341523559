"""Differential fuzzer (seeded, trimmed): image transforms of ``minicnn.data.transforms`` and its
``functional`` against torchvision 0.29's, on the same random inputs and arguments.

Each case draws one transform that both have (the functional forms, the deterministic classes, and
the random classes' ``apply_params`` fed the parameters that torchvision's ``get_params`` / its
functional form take, since minicnn's random streams are its own: README "Known differences"),
random valid-or-invalid arguments, and an input of a random kind: a uint8 / float32 / float64
array or Tensor (C, H, W) or batched (N, C, H, W), 1 or 3 channels (sometimes 2 or 4), odd and
size-1 sizes; or a PIL image (L, RGB, RGBA, I, F, 1) for the transforms minicnn takes PIL images
in. Compared: values (float within 1e-5; integers exactly, or within 1 where a float32 blend of
integers lands on k + 1/2 and torchvision's CPU rounding goes the other way: bilinear / bicubic
resampling), dtype, shape, PIL mode and size, and whether both raise (and the exception type).

Left out on purpose: the transforms minicnn does not take PIL images in (colour ops, rotate,
affine, blur, ...: a TypeError asking for ``ToTensor()`` first, documented in
``minicnn.data.transforms``), and antialiased resizing to an output width of 1 (torch's CPU
kernel skips the vertical pass there: ``transforms_functional``'s docstring); a padding that crops
an image to nothing (minicnn refuses it: ``Pad``); a bool size (torch's kernels refuse some
``[True, n]``); inf pixels into adjust_hue and the per-sample resized crop (NaN where torch keeps
inf); and, for nearest sampling onto canvases of 6 * OH * OW >= 400, up to 1 pixel in 20 (half-pixel
ties rounded by the BLAS's blocked product: :func:`blas_ties`).

The full fuzzer runs thousands of cases (``python tests/test_fuzz_transforms.py 5000 [start]``);
here 200, so the file takes about a second. A failure names the seed: ``run_case(seed)`` replays it.
"""

from __future__ import annotations

import random
import sys
import warnings
from typing import Any

import numpy as np
import torch
import torchvision.transforms as TT
import torchvision.transforms.functional as TVF
from PIL import Image

import minicnn as mc
import minicnn.data.transforms as MT
import minicnn.data.transforms_functional as MF

MODES = ["nearest", "nearest-exact", "bilinear", "bicubic"]
TV_MODES = {m.value: m for m in TT.InterpolationMode}


def make_array(r: random.Random, rng: np.random.Generator, colour: bool = False) -> np.ndarray:
    """A random image array (C, H, W) or (N, C, H, W): uint8 / float32 / float64, small odd sizes."""
    dtype = r.choice([np.uint8, np.uint8, np.float32, np.float32, np.float64])
    channels = r.choice([1, 3, 3] if colour else [1, 3, 3, 2, 4])
    if r.random() < 0.05:
        channels = r.choice([2, 4])
    shape = (channels, r.choice([1, 2, 3, 5, 6, 7]), r.choice([1, 2, 3, 4, 5, 8]))
    if r.random() < 0.1:  # a larger canvas: torch's kernels switch paths with the size
        shape = (channels, r.randint(9, 24), r.randint(9, 24))
    if r.random() < 0.4:
        shape = (r.choice([1, 2, 3]),) + shape
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    x = rng.random(shape).astype(dtype)
    if r.random() < 0.1:  # out of [0, 1], and the special values
        x = (x * 3 - 1).astype(dtype)
        x.flat[rng.integers(0, x.size, 2)] = r.choice([np.inf, -np.inf, 0.0, 1.0])
    return x


def make_pil(r: random.Random, rng: np.random.Generator, modes: tuple[str, ...] = ("L", "RGB")) -> Image.Image:
    """A random PIL image of one of ``modes``, small odd sizes."""
    mode = r.choice(modes)
    h, w = r.choice([1, 2, 3, 5, 7]), r.choice([1, 2, 4, 5, 6])
    if mode in ("L", "P"):
        img = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L")
        return img.convert("P") if mode == "P" else img
    if mode in ("RGB", "RGBA", "LA", "CMYK", "YCbCr", "HSV"):
        bands = {"LA": 2, "CMYK": 4}.get(mode, len(mode) if mode != "YCbCr" else 3)
        return Image.frombytes(mode, (w, h), rng.integers(0, 256, (h, w, bands), dtype=np.uint8).tobytes())
    if mode == "I;16":
        return Image.frombytes(mode, (w, h), rng.integers(0, 65536, (h, w)).astype("<u2").tobytes())
    if mode == "1":
        return Image.fromarray(rng.random((h, w)) < 0.5)
    if mode == "I":
        return Image.fromarray(rng.integers(-1000, 100000, (h, w)).astype(np.int32), "I")
    return Image.fromarray(rng.random((h, w)).astype(np.float32), "F")


def both(r: random.Random, array: np.ndarray) -> tuple[Any, torch.Tensor]:
    """The minicnn input (the array itself or a Tensor of it) and torch's, each its own copy."""
    mine = array.copy() if r.random() < 0.5 else mc.tensor(array.copy())
    return mine, torch.from_numpy(array.copy())


def outcome(fn: Any) -> tuple[str, Any]:
    """("ok", result) or ("raise", exception type)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", fn()
    except Exception as exc:  # noqa: BLE001 (the fuzzer compares any exception)
        return "raise", type(exc)


def as_numpy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.numpy()
    if isinstance(x, mc.Tensor):
        return x.numpy()
    return x


def compare(name: str, mine: Any, theirs: Any, slack: int = 0, ties: bool = False) -> str | None:
    """None if ``mine`` (minicnn's result) matches ``theirs`` (torchvision's), else what differs.
    ``ties``: a few elements (1 in 20) may differ (nearest sampling at half-pixel ties)."""
    if isinstance(theirs, (list, tuple)):
        if not isinstance(mine, (list, tuple)) or len(mine) != len(theirs):
            return f"{name}: got {type(mine).__name__} of {len(mine) if hasattr(mine, '__len__') else '?'}"
        for k, (a, b) in enumerate(zip(mine, theirs)):
            if (msg := compare(f"{name}[{k}]", a, b, slack, ties)) is not None:
                return msg
        return None
    if isinstance(theirs, Image.Image):
        if not isinstance(mine, Image.Image):
            return f"{name}: expected a PIL image, got {type(mine).__name__}"
        if (mine.mode, mine.size) != (theirs.mode, theirs.size):
            return f"{name}: PIL {mine.mode} {mine.size} vs {theirs.mode} {theirs.size}"
        mine, theirs = np.asarray(mine), np.asarray(theirs)
    else:
        if isinstance(mine, Image.Image):
            return f"{name}: got a PIL image, expected {type(theirs).__name__}"
        if isinstance(theirs, torch.Tensor) and not isinstance(mine, (mc.Tensor, np.ndarray)):
            return f"{name}: got {type(mine).__name__}"
        mine, theirs = as_numpy(mine), as_numpy(theirs)
    if str(mine.dtype) != str(theirs.dtype).replace("torch.", ""):
        return f"{name}: dtype {mine.dtype} vs {theirs.dtype}"
    if mine.shape != theirs.shape:
        return f"{name}: shape {mine.shape} vs {theirs.shape}"
    if mine.dtype.kind == "f":
        close = np.isclose(mine, theirs, rtol=1e-5, atol=1e-5, equal_nan=True)
    else:
        close = np.abs(mine.astype(np.int64) - theirs.astype(np.int64)) <= slack
    ok = close.all() or (ties and (~close).sum() * 20 <= close.size)
    if not ok:
        diff = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
        return (
            f"{name}: values differ (max {np.nanmax(diff):.3g} at {np.unravel_index(np.nanargmax(diff), diff.shape)})"
        )
    return None


def check(
    name: str, mine_fn: Any, theirs_fn: Any, slack: int = 0, types: bool = True, ties: bool = False
) -> str | None:
    """Run both; compare results (:func:`compare`), or that both raise (the same exception type if ``types``)."""
    (k1, a), (k2, b) = outcome(mine_fn), outcome(theirs_fn)
    if k1 != k2:
        return f"{name}: minicnn {k1} {a if k1 == 'raise' else ''} / torchvision {k2} {b if k2 == 'raise' else ''}"
    if k1 == "raise":
        # torchvision lets torch's own errors through (RuntimeError from a kernel); minicnn raises
        # ValueError for a bad argument first: only a TypeError / ValueError split is a finding
        if types and a is not b and {a, b} <= {TypeError, ValueError}:
            return f"{name}: minicnn raises {a.__name__}, torchvision {b.__name__}"
        return None
    return compare(name, a, b, slack, ties)


def blas_ties(mode: str, out_hw: tuple[int, int]) -> bool:
    """Whether nearest sampling may break a few half-pixel ties apart from torchvision: its grid is a
    bmm, which above 400 multiply-adds (6 * OH * OW) is the BLAS's, whose fused blocked sums minicnn
    follows for most but not all elements (``transforms_functional``'s docstring)."""
    return mode == "nearest" and 6 * out_hw[0] * out_hw[1] >= 400


# -- the cases ----------------------------------------------------------------------------------


def case_resize(r: random.Random, rng: np.random.Generator) -> str | None:
    mode = r.choice(MODES)
    antialias = r.choice([True, False, None])
    max_size = r.choice([None, None, 4, 9, 12])
    size: Any = r.choice(
        [1, 2, 3, 4, 6, 9, [3], [2, 5], (4, 1), (1, 7), [7, 7], 0, [2, 3, 4], 2.0, True, [], 17, (20, 9)]
    )
    if r.random() < 0.3:
        img = make_pil(r, rng, ("L", "RGB", "RGBA", "I", "F", "P", "LA", "1", "I;16", "CMYK"))
        return check(
            f"resize PIL {img.mode} {img.size} {size} {mode} {max_size}",
            lambda: MF.resize(img, size, mode, max_size, antialias),
            lambda: TVF.resize(img, size, TV_MODES[mode], max_size, antialias),
        )
    x = make_array(r, rng)
    if r.random() < 0.1:
        x = (x * 100).astype(r.choice([np.int16, np.int32]))
    mine, theirs = both(r, x)
    if size is True:
        return None  # torch's kernels are handed [True] or [True, n] there and refuse some (TypeError)
    out_w = None
    if isinstance(size, int) or (isinstance(size, list) and len(size) == 1):
        out_w = None  # the shorter side: the width may come out 1
    elif isinstance(size, (list, tuple)) and len(size) == 2:
        out_w = size[1]
    if antialias and mode in ("bilinear", "bicubic") and (out_w == 1 or out_w is None):
        return None  # torch 2.14 skips the vertical pass at width 1 (module docstring)
    slack = 1 if x.dtype.kind in "ui" and mode in ("bilinear", "bicubic") else 0  # float32 blends at k + 1/2
    return check(
        f"resize {x.dtype} {x.shape} {size} {mode} max_size={max_size} aa={antialias}",
        lambda: MF.resize(mine, size, mine_mode(r, mode), max_size, antialias),
        lambda: TVF.resize(theirs, size, TV_MODES[mode], max_size, antialias),
        slack,
    )


def case_resized_crop(r: random.Random, rng: np.random.Generator) -> str | None:
    top, left, h, w = r.randint(-2, 4), r.randint(-2, 4), r.randint(1, 6), r.randint(1, 6)
    size: Any = r.choice([[3, 4], [2], 5, (1, 3), [6, 6]])
    mode = r.choice(MODES)
    if r.random() < 0.4:
        img = make_pil(r, rng, ("L", "RGB", "RGBA", "I", "F"))
        return check(
            f"resized_crop PIL {img.mode} {img.size} {(top, left, h, w)} {size} {mode}",
            lambda: MF.resized_crop(img, top, left, h, w, size, mode),
            lambda: TVF.resized_crop(img, top, left, h, w, size, TV_MODES[mode]),
        )
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    if mode in ("bilinear", "bicubic") and not (isinstance(size, list) and len(size) == 2 and size[1] > 1):
        return None  # an antialiased output width of 1 (see the module docstring)
    slack = 1 if x.dtype == np.uint8 and mode in ("bilinear", "bicubic") else 0
    return check(
        f"resized_crop {x.dtype} {x.shape} {(top, left, h, w)} {size} {mode}",
        lambda: MF.resized_crop(mine, top, left, h, w, size, mode),
        lambda: TVF.resized_crop(theirs, top, left, h, w, size, TV_MODES[mode]),
        slack,
    )


def case_classes(r: random.Random, rng: np.random.Generator) -> str | None:
    """The deterministic classes on arrays / Tensors, and RandomErasing's apply_params against F.erase."""
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    which = r.choice(["Resize", "Grayscale", "ConvertImageDtype", "Normalize", "RandomErasing"])
    if which == "Resize":
        size: Any = r.choice([3, [4, 5], (2, 7), [5]])
        mode = r.choice(MODES)
        if mode in ("bilinear", "bicubic") and not (isinstance(size, (list, tuple)) and len(size) == 2):
            mode = "nearest"
        slack = 1 if x.dtype == np.uint8 and mode in ("bilinear", "bicubic") else 0
        return check(
            f"Resize {x.dtype} {x.shape} {size} {mode}",
            lambda: MT.Resize(size, mode)(mine),
            lambda: TT.Resize(size, TV_MODES[mode])(theirs),
            slack,
        )
    if which == "Grayscale":
        n = r.choice([1, 3])
        return check(
            f"Grayscale {x.dtype} {x.shape} {n}", lambda: MT.Grayscale(n)(mine), lambda: TT.Grayscale(n)(theirs)
        )
    if which == "ConvertImageDtype":
        name = r.choice(["float32", "float64", "uint8", "int16"])
        return check(
            f"ConvertImageDtype {x.dtype} {name}",
            lambda: MT.ConvertImageDtype(np.dtype(name))(mine),
            lambda: TT.ConvertImageDtype(getattr(torch, name))(theirs),
            types=False,
        )
    if which == "Normalize":
        c = x.shape[-3]
        mean, std = [0.2] * c, r.choice([[0.5] * c, [2.0] * c])
        return check(
            f"Normalize {x.dtype} {x.shape}",
            lambda: MT.Normalize(mean, std)(mine),
            lambda: TT.Normalize(mean, std)(theirs),
            types=False,
        )
    batch = x if x.ndim == 4 else x[None]
    value = r.choice([0, 1, [0.5], "random"])
    c = batch.shape[1]
    if isinstance(value, list) and r.random() < 0.5:
        value = [0.25] * c
    t = MT.RandomErasing(p=1.0, value=value)
    boxes = [
        TT.RandomErasing.get_params(
            torch.from_numpy(s.copy()),
            (0.02, 0.33),
            (0.3, 3.3),
            None if value == "random" else [value] if not isinstance(value, list) else value,
        )
        for s in batch
    ]
    noise = np.zeros(batch.shape, np.float64)
    for k, b in enumerate(boxes):
        if value == "random":
            noise[k, :, : b[2], : b[3]] = b[4].numpy()  # minicnn's field holds a box's noise at its top left
    n = batch.shape[0]
    found = np.array([b[2] < batch.shape[2] or b[3] < batch.shape[3] for b in boxes])
    params = (
        np.ones(n, bool),
        *(np.array([b[k] for b in boxes]) for k in range(4)),
        found,
        noise if value == "random" else None,
    )

    def theirs_fn() -> Any:
        out = []
        for s, b in zip(batch, boxes):
            v = b[4].to(torch.float64).to(getattr(torch, str(s.dtype)))
            out.append(TVF.erase(torch.from_numpy(s.copy()), b[0], b[1], b[2], b[3], v))
        return torch.stack(out)

    if batch.dtype == np.uint8:
        return None  # torchvision's RandomErasing refuses nothing but casts noise to uint8 as it may
    return check(
        f"RandomErasing {batch.dtype} {batch.shape} {value}",
        lambda: t.apply_params(batch.copy(), params),
        theirs_fn,
        types=False,
    )


def case_crop(r: random.Random, rng: np.random.Generator) -> str | None:
    top, left = r.randint(-3, 6), r.randint(-3, 6)
    h, w = r.randint(0, 7), r.randint(0, 7)
    if r.random() < 0.3:
        img = make_pil(r, rng, ("L", "RGB", "RGBA", "I", "F", "1", "P", "LA", "CMYK", "I;16"))
        return check(
            f"crop PIL {img.mode} {img.size} {(top, left, h, w)}",
            lambda: MF.crop(img, top, left, h, w),
            lambda: TVF.crop(img, top, left, h, w),
        )
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    return check(
        f"crop {x.dtype} {x.shape} {(top, left, h, w)}",
        lambda: MF.crop(mine, top, left, h, w),
        lambda: TVF.crop(theirs, top, left, h, w),
    )


def case_center_crop(r: random.Random, rng: np.random.Generator) -> str | None:
    size: Any = r.choice([1, 2, 3, 5, 8, 10, [4], (2, 6), [9, 1], (3, 3)])
    cls = r.random() < 0.3
    if r.random() < 0.3:
        img = make_pil(r, rng, ("L", "RGB", "RGBA", "I", "F", "1", "P", "LA", "I;16"))
        mine_fn = (lambda: MT.CenterCrop(size)(img)) if cls else (lambda: MF.center_crop(img, size))
        theirs_fn = (lambda: TT.CenterCrop(size)(img)) if cls else (lambda: TVF.center_crop(img, size))
        return check(f"center_crop PIL {img.mode} {img.size} {size} cls={cls}", mine_fn, theirs_fn)
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    mine_fn = (lambda: MT.CenterCrop(size)(mine)) if cls else (lambda: MF.center_crop(mine, size))
    theirs_fn = (lambda: TT.CenterCrop(size)(theirs)) if cls else (lambda: TVF.center_crop(theirs, size))
    return check(f"center_crop {x.dtype} {x.shape} {size} cls={cls}", mine_fn, theirs_fn)


def case_flip(r: random.Random, rng: np.random.Generator) -> str | None:
    which = r.choice(["hflip", "vflip"])
    if r.random() < 0.3:
        img = make_pil(r, rng, ("L", "RGB", "RGBA", "I", "F", "1", "P", "LA", "CMYK", "I;16"))
        return check(f"{which} PIL {img.mode}", lambda: getattr(MF, which)(img), lambda: getattr(TVF, which)(img))
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    return check(f"{which} {x.dtype} {x.shape}", lambda: getattr(MF, which)(mine), lambda: getattr(TVF, which)(theirs))


def mine_mode(r: random.Random, mode: str) -> Any:
    """How the interpolation is given to minicnn: its string, its enum, torchvision's enum, Pillow's int."""
    pil_ints = {"nearest": 0, "bilinear": 2, "bicubic": 3}
    forms = [mode, MF.InterpolationMode(mode), TV_MODES[mode]] + ([pil_ints[mode]] if mode in pil_ints else [])
    return r.choice(forms)


def _fill(r: random.Random, channels: int) -> Any:
    return r.choice([None, 0, 1, 0.5, 7, [0.25] * channels, [1.0], [0.5, 0.2]])


def case_rotate(r: random.Random, rng: np.random.Generator) -> str | None:
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    mode = r.choice(["nearest", "bilinear"])
    angle = r.choice([0, 90, -90, 180, 45, 30.5, -17.3, 270, 360])
    mode_in = mine_mode(r, mode)
    expand = r.random() < 0.4
    center = r.choice([None, None, [0, 0], [1.5, 2], [3, 1], (2.5, 0.5)])
    fill = _fill(r, x.shape[-3])
    if x.dtype == np.uint8 and isinstance(fill, (int, float)) and not float(fill).is_integer():
        fill = 0
    slack = 1 if x.dtype == np.uint8 and mode == "bilinear" else 0
    h, w = x.shape[-2:]
    canvas = x.shape[-2:]
    if expand:
        canvas = MF.rotated_size(MF.inverse_affine_matrix([0.0, 0.0], -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0]), w, h)
        canvas = canvas[::-1]
    return check(
        f"rotate {x.dtype} {x.shape} {angle} {mode} expand={expand} center={center} fill={fill}",
        lambda: MF.rotate(mine, angle, mode_in, expand, center, fill),
        lambda: TVF.rotate(theirs, angle, TV_MODES[mode], expand, center, fill),
        slack,
        ties=blas_ties(mode, canvas),
    )


def case_affine(r: random.Random, rng: np.random.Generator) -> str | None:
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    mode = r.choice(["nearest", "bilinear"])
    angle = r.choice([0, 90, 45, -30.0, 12.5])
    translate = r.choice([[0, 0], [1, -2], [0.5, 1], (2, 3), [1], [1.5, -0.25]])
    scale = r.choice([1.0, 0.5, 1.7, 0.0, -1.0])
    shear = r.choice([0, 10, [5.0], [3, -4], (0.0, 20.0), [1, 2, 3], -7.5])
    center = r.choice([None, [0, 0], [2, 1], (1.5, 3.5)])
    fill = _fill(r, x.shape[-3])
    mode_in = mine_mode(r, mode)
    slack = 1 if x.dtype == np.uint8 and mode == "bilinear" else 0
    return check(
        f"affine {x.dtype} {x.shape} {angle} {translate} {scale} {shear} {mode} center={center} fill={fill}",
        lambda: MF.affine(mine, angle, translate, scale, shear, mode_in, fill, center),
        lambda: TVF.affine(theirs, angle, translate, scale, shear, TV_MODES[mode], fill, center),
        slack,
        ties=blas_ties(mode, x.shape[-2:]),
    )


def case_colour(r: random.Random, rng: np.random.Generator) -> str | None:
    x = make_array(r, rng, colour=r.random() < 0.9)
    mine, theirs = both(r, x)
    op = r.choice(["adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue", "rgb_to_grayscale"])
    if op == "adjust_hue":
        factor: Any = r.choice([0.0, 0.1, -0.25, 0.5, -0.5, 0.6])
    elif op == "rgb_to_grayscale":
        factor = r.choice([1, 3, 3, 2])
    else:
        factor = r.choice([0.0, 0.5, 1.0, 1.5, 3.0, -0.5])
    if op == "adjust_hue" and not np.isfinite(x).all():
        return None  # an inf pixel: torch's one-hot einsum over the 6 hue sectors spreads the NaN of the others
    return check(
        f"{op} {x.dtype} {x.shape} {factor}",
        lambda: getattr(MF, op)(mine, factor),
        lambda: getattr(TVF, op)(theirs, factor),
    )


def case_blur(r: random.Random, rng: np.random.Generator) -> str | None:
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    kernel: Any = r.choice([1, 3, 5, [3, 1], [1, 5], (3, 3), 2, [3]])
    sigma = r.choice([None, 0.5, 1.2, [0.3, 2.0], [1.0], 0.0])
    return check(
        f"gaussian_blur {x.dtype} {x.shape} {kernel} {sigma}",
        lambda: MF.gaussian_blur(mine, kernel, sigma),
        lambda: TVF.gaussian_blur(theirs, kernel, sigma),
        types=False,
    )


def case_normalize(r: random.Random, rng: np.random.Generator) -> str | None:
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    c = x.shape[-3]
    mean = r.choice([[0.5] * c, [0.1], (0.2, 0.3, 0.4), 0.5])
    std = r.choice([[0.25] * c, [2.0], (0.5, 1.0, 2.0), [0.0] * c])
    inplace = r.random() < 0.4
    if isinstance(mean, float):
        mean = [mean]

    def theirs_fn() -> Any:
        out = TVF.normalize(theirs, mean, std, inplace)
        return (out, theirs) if inplace else out

    def mine_fn() -> Any:
        out = MF.normalize(mine, mean, std, inplace)
        return (out, mine) if inplace else out

    return check(f"normalize {x.dtype} {x.shape} {mean} {std} inplace={inplace}", mine_fn, theirs_fn, types=False)


def case_convert(r: random.Random, rng: np.random.Generator) -> str | None:
    x = make_array(r, rng)
    if r.random() < 0.3:
        x = (x.astype(np.float64) * 30000).astype(r.choice([np.int16, np.int32])) if x.dtype != np.uint8 else x
    mine, theirs = both(r, x)
    name = r.choice(["float32", "float64", "uint8", "int16", "int32", "int64"])
    return check(
        f"convert_image_dtype {x.dtype} -> {name}",
        lambda: MF.convert_image_dtype(mine, np.dtype(name)),
        lambda: TVF.convert_image_dtype(theirs, getattr(torch, name)),
        types=False,
    )


def case_to_tensor(r: random.Random, rng: np.random.Generator) -> str | None:
    which = r.choice(["to_tensor", "pil_to_tensor"])
    if r.random() < 0.6:
        img: Any = make_pil(r, rng, ("L", "RGB", "RGBA", "I", "F", "1", "P", "LA", "CMYK", "YCbCr", "HSV", "I;16"))
        label = f"PIL {img.mode}"
    else:
        hwc = rng.integers(0, 256, (r.randint(1, 4), r.randint(1, 4), r.choice([1, 3])), dtype=np.uint8)
        img = hwc[..., 0] if r.random() < 0.3 else hwc
        img = img.astype(r.choice([np.uint8, np.float32, np.float64]))
        label = f"ndarray {img.dtype} {img.shape}"
        if which == "pil_to_tensor":
            return None  # minicnn takes an array there too (a documented extension); torchvision refuses
    return check(f"{which} {label}", lambda: getattr(MF, which)(img), lambda: getattr(TVF, which)(img))


def case_erase(r: random.Random, rng: np.random.Generator) -> str | None:
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    i, j, h, w = r.randint(0, 4), r.randint(0, 4), r.randint(0, 4), r.randint(0, 4)
    value = r.choice([0, 1, [0.5], "noise"])
    v = rng.random((x.shape[-3], h, w)) if value == "noise" else np.asarray(value, np.float64).reshape(-1, 1, 1)
    v = v.astype(x.dtype) if x.dtype != np.uint8 else (v * 255).astype(np.uint8)
    inplace = r.random() < 0.3

    def mine_fn() -> Any:
        out = MF.erase(mine, i, j, h, w, mc.tensor(v.copy()), inplace)
        return (out, mine) if inplace else out

    def theirs_fn() -> Any:
        out = TVF.erase(theirs, i, j, h, w, torch.from_numpy(v.copy()), inplace)
        return (out, theirs) if inplace else out

    return check(f"erase {x.dtype} {x.shape} {(i, j, h, w)} {value} inplace={inplace}", mine_fn, theirs_fn, types=False)


def case_pad(r: random.Random, rng: np.random.Generator) -> str | None:
    padding: Any = r.choice([0, 1, 2, [1, 2], (0, 1, 2, 3), [-1], [-1, 2], (1, -1, 0, 2), [1, 2, 3]])
    mode = r.choice(["constant", "edge", "reflect", "symmetric"])
    fill = r.choice([0, 3, 1.0])
    pads = MT._parse_padding(padding) if padding != [1, 2, 3] else (0, 0, 0, 0)
    if r.random() < 0.3:
        img = make_pil(r, rng, ("L", "RGB", "RGBA", "I", "F", "P", "LA", "1"))
        if img.width + min(pads[0], 0) + min(pads[2], 0) < 1 or img.height + min(pads[1], 0) + min(pads[3], 0) < 1:
            return None  # cropped to nothing: minicnn refuses (Pad's docstring), torchvision's PIL path gives 0 x W
        return check(
            f"Pad PIL {img.mode} {img.size} {padding} {mode} {fill}",
            lambda: MT.Pad(padding, fill, mode)(img),
            lambda: TT.Pad(padding, fill, mode)(img),
            types=False,
        )
    x = make_array(r, rng)
    mine, theirs = both(r, x)
    if x.dtype == np.uint8:
        fill = int(fill)
    if x.shape[-1] + min(pads[0], 0) + min(pads[2], 0) < 1 or x.shape[-2] + min(pads[1], 0) + min(pads[3], 0) < 1:
        return None  # cropped to nothing: minicnn refuses (Pad's docstring), torch's F.pad varies by mode
    return check(
        f"Pad {x.dtype} {x.shape} {padding} {mode} {fill}",
        lambda: MT.Pad(padding, fill, mode)(mine),
        lambda: TT.Pad(padding, fill, mode)(theirs),
        types=False,
    )


def case_pad_and_multi_crops(r: random.Random, rng: np.random.Generator) -> str | None:
    """The functional ``pad``, ``five_crop`` and ``ten_crop`` (arrays, Tensors and PIL images)."""
    img: Any = make_pil(r, rng, ("L", "RGB", "I", "F")) if r.random() < 0.3 else make_array(r, rng)
    if isinstance(img, Image.Image):
        mine = theirs = img
    else:
        mine, theirs = both(r, img)
    which = r.choice(["pad", "five_crop", "ten_crop"])
    if which == "pad":
        padding: Any = r.choice([1, [1, 2], (0, 1, 2, 0), [2]])
        mode = r.choice(["constant", "edge", "reflect", "symmetric"])
        fill = r.choice([0, 5])
        return check(
            f"pad {img!r:.60} {padding} {mode}",
            lambda: MF.pad(mine, padding, fill, mode),
            lambda: TVF.pad(theirs, padding, fill, mode),
            types=False,
        )
    size: Any = r.choice([1, 2, [2], (1, 3), (3, 2), 9, [2, 2, 2]])
    if which == "five_crop":
        return check(
            f"five_crop {img!r:.60} {size}", lambda: MF.five_crop(mine, size), lambda: TVF.five_crop(theirs, size)
        )
    vertical = r.random() < 0.5
    return check(
        f"ten_crop {img!r:.60} {size} {vertical}",
        lambda: MF.ten_crop(mine, size, vertical),
        lambda: TVF.ten_crop(theirs, size, vertical),
    )


def case_grayscale_pil(r: random.Random, rng: np.random.Generator) -> str | None:
    img = make_pil(r, rng, ("L", "RGB", "RGBA", "LA", "P", "1", "I", "F", "CMYK"))
    n = r.choice([1, 3])
    return check(f"Grayscale PIL {img.mode} {n}", lambda: MT.Grayscale(n)(img), lambda: TT.Grayscale(n)(img))


def case_random_params(r: random.Random, rng: np.random.Generator) -> str | None:
    """A random class's vectorised ``apply_params`` on a batch, with per-sample parameters drawn by
    torchvision's ``get_params``, against torchvision's functional form sample by sample."""
    x = make_array(r, rng, colour=True)
    batch = x if x.ndim == 4 else x[None]
    which = r.choice(["RandomResizedCrop", "RandomRotation", "RandomAffine", "GaussianBlur", "ColorJitter"])
    samples = [torch.from_numpy(s.copy()) for s in batch]
    u8 = batch.dtype == np.uint8
    if which == "RandomResizedCrop":
        size = r.choice([(3, 4), (5, 2), (2, 2), (7, 7)])
        mode = r.choice(MODES)
        boxes = [TT.RandomResizedCrop.get_params(s, (0.08, 1.0), (0.75, 4 / 3)) for s in samples]
        if mode in ("bilinear", "bicubic") and size[1] == 1:
            return None
        if not np.isfinite(batch).all():
            # an inf pixel: torch skips the pass along an axis whose size is kept, where minicnn's per-sample
            # taps multiply it by a zero weight (NaN instead of inf); not matched
            return None
        t = MT.RandomResizedCrop(size, interpolation=mode)
        params = tuple(np.array([b[k] for b in boxes]) for k in range(4))

        def theirs() -> list[torch.Tensor]:
            return [TVF.resized_crop(s, *b, list(size), TV_MODES[mode], antialias=True) for s, b in zip(samples, boxes)]

        slack = 1 if u8 and mode in ("bilinear", "bicubic") else 0
        return check(
            f"{which} {batch.dtype} {batch.shape} {size} {mode} {boxes}",
            lambda: t.apply_params(batch.copy(), params),
            lambda: torch.stack(theirs()),
            slack,
        )
    if which in ("RandomRotation", "RandomAffine"):
        mode = r.choice(["nearest", "bilinear"])
        fill = r.choice([0, 1, [0.5, 0.25, 0.0][: batch.shape[1]] if batch.shape[1] == 3 else [0.5]])
        slack = 1 if u8 and mode == "bilinear" else 0
        if which == "RandomRotation":
            angles = [TT.RandomRotation.get_params([-180.0, 180.0]) for _ in samples]
            t = MT.RandomRotation(180, mode, fill=fill)
            theirs = lambda: [TVF.rotate(s, a, TV_MODES[mode], fill=t_fill(fill, s)) for s, a in zip(samples, angles)]  # noqa: E731
            return check(
                f"{which} {batch.dtype} {batch.shape} {mode} {angles} fill={fill}",
                lambda: t.apply_params(batch.copy(), np.array(angles)),
                lambda: torch.stack(theirs()),
                slack,
                ties=blas_ties(mode, batch.shape[-2:]),
            )
        h, w = batch.shape[-2:]
        ps = [
            TT.RandomAffine.get_params([-40.0, 40.0], [0.3, 0.2], [0.7, 1.3], [-10.0, 10.0, -5.0, 5.0], [w, h])
            for _ in samples
        ]
        t = MT.RandomAffine(40, interpolation=mode, fill=fill)
        params = (
            np.array([p[0] for p in ps]),
            np.array([p[1] for p in ps], np.float64),
            np.array([p[2] for p in ps]),
            np.array([p[3] for p in ps], np.float64),
        )

        def theirs() -> list[torch.Tensor]:
            return [TVF.affine(s, *p, interpolation=TV_MODES[mode], fill=t_fill(fill, s)) for s, p in zip(samples, ps)]

        return check(
            f"{which} {batch.dtype} {batch.shape} {mode} {ps} fill={fill}",
            lambda: t.apply_params(batch.copy(), params),
            lambda: torch.stack(theirs()),
            slack,
            ties=blas_ties(mode, batch.shape[-2:]),
        )
    if which == "GaussianBlur":
        k = r.choice([1, 3, 5])
        if k // 2 >= min(batch.shape[-2:]):
            k = 1
        sigmas = [TT.GaussianBlur.get_params(0.1, 2.0) for _ in samples]
        t = MT.GaussianBlur(k)
        theirs = lambda: [TVF.gaussian_blur(s, [k, k], [sg, sg]) for s, sg in zip(samples, sigmas)]  # noqa: E731
        return check(
            f"{which} {batch.dtype} {batch.shape} {k} {sigmas}",
            lambda: t.apply_params(batch.copy(), np.array(sigmas)),
            lambda: torch.stack(theirs()),
        )
    ranges = dict(brightness=(0.5, 1.5), contrast=(0.2, 1.8), saturation=(0.0, 2.0), hue=(-0.3, 0.3))
    draws = [TT.ColorJitter.get_params(*ranges.values()) for _ in samples]
    t = MT.ColorJitter(**ranges)
    order = np.stack([d[0].numpy() for d in draws])
    factors = [np.array([d[1 + k] for d in draws]) for k in range(4)]
    ops = (TVF.adjust_brightness, TVF.adjust_contrast, TVF.adjust_saturation, TVF.adjust_hue)

    def theirs() -> list[torch.Tensor]:
        out = []
        for s, d in zip(samples, draws):
            for k in d[0].tolist():
                s = ops[k](s, d[1 + k])
            out.append(s)
        return out

    return check(
        f"{which} {batch.dtype} {batch.shape} {draws}",
        lambda: t.apply_params(batch.copy(), (order, factors)),
        lambda: torch.stack(theirs()),
    )


TRIPLES = [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]


def case_photometric(r: random.Random, rng: np.random.Generator) -> str | None:
    """invert, posterize, solarize, adjust_gamma, adjust_sharpness, autocontrast, equalize (the
    functional forms, or the Random* class with p = 1), perspective, and to_pil_image / the Five- and
    TenCrop classes."""
    ops = ["invert", "posterize", "solarize", "adjust_gamma", "adjust_sharpness", "autocontrast", "equalize"]
    which = r.choice([*ops, "to_pil_image", "crops", "perspective"])
    if which == "perspective":
        x = make_array(r, rng)
        mine, theirs = both(r, x)
        start, end = TT.RandomPerspective.get_params(x.shape[-1], x.shape[-2], r.choice([0.2, 0.5, 1.0]))
        p = np.asarray(end)
        if any((p[j] - p[i])[0] * (p[k] - p[i])[1] == (p[j] - p[i])[1] * (p[k] - p[i])[0] for i, j, k in TRIPLES):
            if x.shape[-1] > 1 and x.shape[-2] > 1:
                return None  # three corners on a line: torch's gels answers rounding noise (test_transforms_more)
        mode = r.choice(["nearest", "bilinear"])
        if mode == "nearest" and any(0 < abs(c) < 1e-9 for c in TVF._get_perspective_coeffs(start, end)):
            return None  # a coefficient 0 in exact arithmetic is the solver's rounding noise: it may break ties
        fill = _fill(r, x.shape[-3])
        if x.dtype == np.uint8 and isinstance(fill, (int, float)) and not float(fill).is_integer():
            fill = 0
        return check(
            f"perspective {x.dtype} {x.shape} {end} {mode} {fill}",
            lambda: MF.perspective(mine, start, end, mine_mode(r, mode), fill),
            lambda: TVF.perspective(theirs, start, end, TV_MODES[mode], fill),
            types=False,
        )
    if which == "to_pil_image":
        hwc = make_array(r, rng)
        hwc = hwc[0] if hwc.ndim == 4 and r.random() < 0.8 else hwc
        hwc = np.moveaxis(hwc, -3, -1) if r.random() < 0.7 else hwc[..., 0, :, :]
        if r.random() < 0.2:
            hwc = np.nan_to_num(hwc * 100, posinf=0, neginf=0).astype(r.choice([np.int16, np.int32]))
        mode = r.choice([None, None, "L", "F", "RGB", "RGBA", "LA", "YCbCr", "I"])

        def pil_tuple(f: Any) -> Any:
            img = f()
            return np.frombuffer(img.tobytes(), np.uint8), np.array([*img.size, ord(img.mode[0])])

        return check(
            f"to_pil_image {hwc.dtype} {hwc.shape} {mode}",
            lambda: pil_tuple(lambda: MF.to_pil_image(hwc.copy(), mode)),
            lambda: pil_tuple(lambda: TVF.to_pil_image(hwc.copy(), mode)),
        )
    x = make_array(r, rng, colour=r.random() < 0.9)
    if which in ("posterize", "equalize") and r.random() < 0.8:
        x = (np.nan_to_num(x.astype(np.float64), posinf=1, neginf=0) * (255 if x.dtype.kind == "f" else 1)).clip(0, 255)
        x = x.astype(np.uint8)
    if which == "crops":
        size = r.choice([1, 2, [3], (2, 1), [9, 9]])
        vertical = r.random() < 0.5
        img = make_pil(r, rng) if r.random() < 0.2 else None
        mine = img if img is not None else both(r, x)[0]
        theirs = img if img is not None else torch.from_numpy(x.copy())
        return check(
            f"FiveCrop/TenCrop {x.dtype} {x.shape} {size} {vertical} PIL={img is not None}",
            lambda: (MT.FiveCrop(size)(mine), MT.TenCrop(size, vertical)(mine)),
            lambda: (TT.FiveCrop(size)(theirs), TT.TenCrop(size, vertical)(theirs)),
        )
    args: tuple[Any, ...] = {
        "posterize": (r.choice([0, 1, 4, 8, 9]),),
        "solarize": (r.choice([0, 0.5, 1.0, 128, 255.5]),),
        "adjust_gamma": (r.choice([0.0, 0.5, 1.0, 2.5, -1.0]), r.choice([1, 0.8, 1.5])),
        "adjust_sharpness": (r.choice([0.0, 0.5, 1.0, 2.0, -0.5]),),
    }.get(which, ())
    mine, theirs = both(r, x)
    classes = {"invert": "RandomInvert", "posterize": "RandomPosterize", "solarize": "RandomSolarize"}
    classes |= {"adjust_sharpness": "RandomAdjustSharpness", "autocontrast": "RandomAutocontrast"}
    if which in classes or which == "equalize" and r.random() < 0.3 and x.ndim == 4 and x.dtype == np.uint8:
        name = classes.get(which, "RandomEqualize")
        if x.ndim == 4 and r.random() < 0.5:
            t = getattr(MT, name)(*args, p=1.0)
            chosen = rng.random(x.shape[0]) < 0.5
            return check(
                f"{name}.apply_params {x.dtype} {x.shape} {args} {chosen}",
                lambda: t.apply_params(x.copy(), chosen),
                lambda: torch.stack([getattr(TVF, which)(s, *args) if c else s for s, c in zip(theirs, chosen)]),
            )
    return check(
        f"{which} {x.dtype} {x.shape} {args}",
        lambda: getattr(MF, which)(mine, *args),
        lambda: getattr(TVF, which)(theirs, *args),
    )


def t_fill(fill: Any, s: torch.Tensor) -> Any:
    """torchvision's classes repeat a number fill for every channel: its functional form is given that list."""
    return [float(fill)] * s.shape[0] if isinstance(fill, (int, float)) else fill


CASES = [
    case_resize,
    case_crop,
    case_center_crop,
    case_flip,
    case_rotate,
    case_affine,
    case_colour,
    case_blur,
    case_normalize,
    case_convert,
    case_to_tensor,
    case_erase,
    case_pad,
    case_grayscale_pil,
    case_random_params,
    case_resized_crop,
    case_classes,
    case_pad_and_multi_crops,
    case_photometric,
]


def run_case(seed: int) -> str | None:
    """Replay case ``seed``: None if minicnn agrees with torchvision, else what differs."""
    r = random.Random(seed)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    return r.choice(CASES)(r, rng)


def test_fuzz_transforms_like_torchvision():
    failures = [f"seed {s}: {m}" for s in range(200) if (m := run_case(s)) is not None]
    assert not failures, "\n".join(failures[:10])


if __name__ == "__main__":  # the full fuzzer: python tests/test_fuzz_transforms.py [cases] [start]
    count, start = (int(a) for a in (sys.argv[1:] + ["2000", "0"][len(sys.argv) - 1 :])[:2])
    found = [(s, m) for s in range(start, start + count) if (m := run_case(s)) is not None]
    for s, m in found:
        print(s, m)
    print(f"{len(found)} mismatches in {count} cases")
