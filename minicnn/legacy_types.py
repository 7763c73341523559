"""torch's legacy typed tensor classes: ``mc.FloatTensor``, ``mc.LongTensor``, ... and ``Tensor.type()``.

Old tutorials and examples still write ``torch.LongTensor(ids)``, ``torch.FloatTensor(2, 3)``,
``isinstance(x, torch.LongTensor)`` and ``x.type(torch.LongTensor)`` / ``x.type()``. Each class
here stands for one dtype on the CPU, as in torch:

- ``mc.LongTensor()``: an empty 1-d tensor; ``mc.LongTensor(2, 3)``: a new (2, 3) tensor
  (zeros here; torch leaves it uninitialised); ``mc.LongTensor(data)``: ``data`` (a nested
  sequence or an array) converted to the class's dtype (floats truncate, as torch casts);
  ``mc.LongTensor(t)`` of a Tensor: ``t`` itself if it has that dtype, else TypeError.
- ``isinstance(x, mc.LongTensor)``: ``x`` is a CPU Tensor of dtype int64 (a Parameter too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor

# name -> dtype, in torch's naming (torch.<name>; torch.cuda.<name> on a GPU)
TYPE_DTYPES: dict[str, np.dtype] = {
    "FloatTensor": np.dtype(np.float32),
    "DoubleTensor": np.dtype(np.float64),
    "HalfTensor": np.dtype(np.float16),
    "LongTensor": np.dtype(np.int64),
    "IntTensor": np.dtype(np.int32),
    "ShortTensor": np.dtype(np.int16),
    "CharTensor": np.dtype(np.int8),
    "ByteTensor": np.dtype(np.uint8),
    "BoolTensor": np.dtype(np.bool_),
    "ComplexFloatTensor": np.dtype(np.complex64),
    "ComplexDoubleTensor": np.dtype(np.complex128),
}
_DTYPE_NAMES = {dt: name for name, dt in TYPE_DTYPES.items()}


def _is_int(a: Any) -> bool:
    return isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))


def legacy_new(dtype: np.dtype, args: tuple[Any, ...], device: Any, name: str) -> Tensor:
    """``torch.<name>(*args)``: empty 1-d for no args, a new tensor of shape ``args`` for ints
    (zero-filled), else ``args[0]`` converted to ``dtype``. TypeError/RuntimeError as torch."""
    if not args or all(_is_int(a) for a in args):
        sizes = tuple(int(a) for a in args) if args else (0,)
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"{name}: trying to create tensor with negative dimension: {list(sizes)}")
        return Tensor(np.zeros(sizes, dtype=dtype), device=device)
    if len(args) > 1:
        kinds = ", ".join(type(a).__name__ for a in args)
        raise TypeError(f"{name}(): expected sizes (ints) or one sequence of data, got ({kinds})")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype != dtype:
            raise TypeError(f"{name}(tensor): expected a tensor of dtype {dtype}, got dtype {data.dtype}")
        return data if device is None else data.to(device)
    if isinstance(data, (float, bool, complex, np.generic, str, bytes)):
        raise TypeError(f"{name}(): data must be a sequence (got {type(data).__name__})")
    if isinstance(data, np.ndarray) or backend.is_cupy_array(data):
        arr = data
    else:  # Python floats read as doubles (torch.DoubleTensor([1.7]) is exact), then cast like torch
        arr = np.asarray(data)
        if arr.dtype.kind in "OUSVM":
            raise TypeError(f"{name}(): data must be a (nested) sequence of numbers, got {type(data).__name__}")
        _check_range(arr, dtype)
    return Tensor(arr.astype(dtype), device=device)


def _check_range(arr: np.ndarray, dtype: np.dtype) -> None:
    """torch's overflow check of Python numbers cast to an integer dtype: a float must lie in
    [min, max + 1), an int in [min, max] (in [-max, max] for an unsigned type, which wraps)."""
    if dtype.kind not in "iu" or arr.size == 0 or arr.dtype.kind not in "iuf":
        return
    info = np.iinfo(dtype)
    lo = -float(info.max) if dtype.kind == "u" and arr.dtype.kind != "f" else float(info.min)
    lo_v, hi_v = float(arr.min()), float(arr.max())
    too_big = hi_v >= info.max + 1.0 if arr.dtype.kind == "f" else hi_v > info.max
    if lo_v < lo or too_big or np.isnan(lo_v):
        raise RuntimeError(f"value cannot be converted to type {dtype} without overflow")


class LegacyTensorType(type):
    """Metaclass of the legacy typed tensor classes: calling one makes a Tensor of its dtype;
    ``isinstance(x, cls)`` checks dtype (and that ``x`` lives on the CPU)."""

    dtype: np.dtype

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:  # type: ignore[override]
        return legacy_new(cls.dtype, args, device, cls.__name__)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device == "cpu"

    def __repr__(cls) -> str:
        return f"<class 'minicnn.{cls.__name__}'>"


def _make(name: str) -> LegacyTensorType:
    doc = f"torch.{name}: a CPU tensor of dtype {TYPE_DTYPES[name]} (a constructor and an isinstance check)."
    return LegacyTensorType(name, (), {"dtype": TYPE_DTYPES[name], "is_cuda": False, "__doc__": doc})


FloatTensor = _make("FloatTensor")
DoubleTensor = _make("DoubleTensor")
HalfTensor = _make("HalfTensor")
LongTensor = _make("LongTensor")
IntTensor = _make("IntTensor")
ShortTensor = _make("ShortTensor")
CharTensor = _make("CharTensor")
ByteTensor = _make("ByteTensor")
BoolTensor = _make("BoolTensor")

LEGACY_TYPES = (
    FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor, BoolTensor,
)  # fmt: skip


def type_name(t: Tensor) -> str:
    """``t.type()``: torch's type string, ``"torch.FloatTensor"`` (``"torch.cuda.FloatTensor"``
    on a GPU), so code that compares against torch's strings keeps working."""
    name = _DTYPE_NAMES.get(np.dtype(t.dtype), f"{np.dtype(t.dtype).name}Tensor")
    return f"torch.cuda.{name}" if t.device.startswith("cuda") else f"torch.{name}"


def tensor_type(t: Tensor, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> str | Tensor:
    """``Tensor.type(dtype=None, non_blocking=False)``: the type string with no ``dtype``; else
    ``t`` converted to ``dtype``: a dtype, a legacy class (``mc.LongTensor``: also to the CPU, as
    torch) or a type string (``"torch.LongTensor"``, ``"torch.cuda.LongTensor"``; ``minicnn.``
    works too). Returns ``t`` itself when nothing changes. ValueError for an unknown string."""
    if dtype is None:
        if kwargs:
            raise TypeError(f"type(): unexpected keyword arguments {sorted(kwargs)}")
        return type_name(t)
    if isinstance(dtype, LegacyTensorType):
        return t.to(dtype.dtype).to("cpu")
    if isinstance(dtype, str):
        parts = dtype.split(".")
        if len(parts) < 2 or parts[0] not in ("torch", "minicnn") or parts[-1] not in TYPE_DTYPES:
            raise ValueError(f"invalid type: {dtype!r} (expected e.g. 'torch.LongTensor' or 'torch.cuda.FloatTensor')")
        if len(parts) > 3 or (len(parts) == 3 and parts[1] != "cuda"):
            raise ValueError(f"invalid type: {dtype!r} (expected e.g. 'torch.LongTensor' or 'torch.cuda.FloatTensor')")
        on_gpu = len(parts) == 3
        out = t.to(TYPE_DTYPES[parts[-1]])
        if on_gpu and not t.device.startswith("cuda"):
            return out.to("cuda")
        return out if on_gpu else out.to("cpu")
    return t.to(dtype)
