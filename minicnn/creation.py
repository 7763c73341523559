"""Tensor factories: ``mc.tensor``, ``mc.zeros``, ``mc.randn``, ... (torch's names)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from . import autograd, backend, random
from .autograd import Tensor
from .ops.errors import DtypeError, ShapeError
from .tensor_methods import _missing


def _shape(size: tuple[Any, ...], keyword: Any = None, dims: bool = False, what: str = "") -> tuple[int, ...]:
    """The shape from varargs ``(2, 3)``, one sequence ``((2, 3),)`` or torch's ``size=``
    (``dims``: a sequence of dims, which may be negative, not sizes). ``what``: the factory
    whose varargs these are; no size at all is then torch's TypeError (``zeros(())`` is 0-d)."""
    if what and keyword is None and not size:
        raise _missing(what, "size")
    if keyword is not None:
        if size:
            raise TypeError("give the size either positionally or as size=, not both")
        size = (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) and not (isinstance(s, Tensor) and s.dtype.kind in "iu"):
            raise TypeError(f"a size must be a sequence of integers, got {s!r}")
    shape = tuple(int(s) for s in size)
    if not dims and any(s < 0 for s in shape):
        raise ShapeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    return shape


def _device(device: Any) -> Any:
    """``device``, or the default device (``mc.set_default_device``; the CPU unless set) when None."""
    return backend.DEFAULT_DEVICE if device is None else device


def _dtype(dtype: Any) -> np.dtype:
    """``dtype``, or the default float dtype (``mc.set_default_dtype``) when None."""
    return autograd.default_dtype(dtype)


def _draw(generator: Any, xp: Any, what: str, draw: Any) -> Any:
    """``draw(rng)`` as an array of ``xp``: from the library generator of ``xp`` when
    ``generator`` is None, else from the Generator's host stream, copied to the device."""
    rng, rxp = random.host_rng(generator, xp, what)
    a = draw(rng)
    return a if rxp is xp else xp.asarray(a)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data`` (Python floats become the default dtype, float32
    unless ``mc.set_default_dtype`` changed it)."""
    if isinstance(data, Tensor):
        data = data.array
    if device is None and _device(None) != "cpu":  # the default device (a GPU array stays where it is otherwise)
        device = _device(None)
    arr = autograd._as_array(data, dtype, device)  # torch.tensor's inference (Tensor(list) is float)
    if arr is data or (isinstance(data, np.ndarray) and not backend.is_cupy_array(arr) and np.shares_memory(arr, data)):
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with the NumPy array ``ndarray``."""
    return Tensor(ndarray)


def zeros(*dims: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, size: Any = None) -> Tensor:
    """A tensor of 0s of the size ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``; ``()``
    is 0-d, and no size at all torch's TypeError."""
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(xp.zeros(_shape(dims, size, what="zeros"), dtype=_dtype(dtype)), requires_grad=requires_grad)


def ones(*dims: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, size: Any = None) -> Tensor:
    """A tensor of 1s of the size ``ones(2, 3)``, ``ones((2, 3))`` or ``ones(size=(2, 3))``; ``()``
    is 0-d, and no size at all torch's TypeError."""
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(xp.ones(_shape(dims, size, what="ones"), dtype=_dtype(dtype)), requires_grad=requires_grad)


def full(size: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value as in torch
    (bool -> bool, int -> int64, float -> float32) unless given."""
    if dtype is None:
        kind = (fill_value.dtype if hasattr(fill_value, "dtype") else np.asarray(fill_value).dtype).kind
        dtype = np.bool_ if kind == "b" else np.int64 if kind in "iu" else autograd.DEFAULT_DTYPE
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(xp.full(_shape((size,)), fill_value, dtype=np.dtype(dtype)), requires_grad=requires_grad)


def zeros_like(input: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    xp = input.xp if device is None else backend.xp_for_device(device)
    with backend.array_scope(input.array) if device is None else backend.device_scope(device):
        out = Tensor(xp.zeros(input.shape, dtype=input.dtype if dtype is None else dtype), requires_grad=requires_grad)
    return out if device is None else out.to(device)


def ones_like(input: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    xp = input.xp if device is None else backend.xp_for_device(device)
    with backend.array_scope(input.array) if device is None else backend.device_scope(device):
        out = Tensor(xp.ones(input.shape, dtype=input.dtype if dtype is None else dtype), requires_grad=requires_grad)
    return out if device is None else out.to(device)


def randn(
    *dims: Any,
    generator: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    size: Any = None,
) -> Tensor:
    """Standard normal samples from the library generator (or ``generator``, a mc.Generator)."""
    device = _device(device)
    xp = backend.xp_for_device(device)
    shape = _shape(dims, size, what="randn")
    with backend.device_scope(device):
        if _dtype(dtype).kind != "f":
            raise DtypeError(f"randn: needs a floating point dtype, got {_dtype(dtype)}")
        a = _draw(generator, xp, "randn", lambda g: g.standard_normal(shape, dtype=np.float64)).astype(_dtype(dtype))
    return Tensor(a, requires_grad=requires_grad)


def rand(
    *dims: Any,
    generator: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    size: Any = None,
) -> Tensor:
    """Uniform [0, 1) samples from the library generator (or ``generator``, a mc.Generator)."""
    device = _device(device)
    xp = backend.xp_for_device(device)
    shape = _shape(dims, size, what="rand")
    with backend.device_scope(device):
        dt = _dtype(dtype)
        if dt.kind != "f":
            raise DtypeError(f"rand: needs a floating point dtype, got {dt}")
        # float32 is drawn as float32: a float64 draw rounded to float32 can give 1.0, outside [0, 1)
        draw_dt = np.float32 if dt == np.float32 else np.float64
        a = _draw(generator, xp, "rand", lambda g: g.random(shape, dtype=draw_dt)).astype(dt, copy=False)
    return Tensor(a, requires_grad=requires_grad)


def randint(
    low: int = 0,
    high: int | None = None,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    generator: Any = None,
) -> Tensor:
    """Integers uniform in [low, high); ``randint(high, size)`` means low = 0, as in torch.
    ``dtype`` None means int64; ``generator``: a mc.Generator (None: the library's)."""
    if size is None:  # randint(high, size): the size came second
        if high is None or isinstance(high, (int, np.integer)):
            raise TypeError("randint: a size is needed")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        shape = _shape((size,))
        if low >= high:
            raise ShapeError(f"randint: expects 'low' to be less than 'high', but got low={low} >= high={high}")
        a = _draw(generator, xp, "randint", lambda g: g.integers(low, high, size=shape))
        a = a.astype(np.int64 if dtype is None else dtype)
    return Tensor(a, requires_grad=requires_grad)


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers uniform in [low, high) with ``input``'s shape, dtype and device unless given;
    ``randint_like(x, high)`` means low = 0, as torch."""
    if high is None:
        low, high = 0, low
    dt = input.dtype if dtype is None else dtype
    return randint(
        low, high, input.shape, dtype=dt, device=device or input.device, requires_grad=requires_grad,
        generator=generator,
    )  # fmt: skip


def randperm(
    n: int, *, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype``), drawn from minicnn's
    generator (seeded by ``mc.manual_seed``) or ``generator``, as torch.randperm."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise RuntimeError(f"randperm: n must be a non-negative integer, got {n!r}")
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        rng, rxp = random.host_rng(generator, xp, "randperm")
        # CuPy's Generator has no permutation: the order of n random keys is one, drawn uniformly
        a = rng.permutation(int(n)) if rxp is np else rxp.argsort(rng.random(int(n), dtype=np.float64))
        a = xp.asarray(a)
        a = a.astype(np.int64 if dtype is None else dtype, copy=False)
    return Tensor(a, requires_grad=requires_grad)


def arange(
    start: float = 0,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Like torch.arange: integers give int64, any float gives float32; values ``start + i*step``
    are computed in float64 and then rounded once (so a float32 range does not drift)."""
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if end is None:
        start, end = 0, start
    if any(isinstance(v, (float, np.floating)) and not np.isfinite(v) for v in (start, end, step)):
        raise ShapeError(f"arange: unsupported range: {start} -> {end} (step {step})")
    if step == 0:
        raise ShapeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ShapeError(f"arange: from {start} to {end} runs against the sign of step {step}")
    device = _device(device)
    xp = backend.xp_for_device(device)
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else autograd.DEFAULT_DTYPE
    dtype = np.dtype(dtype)
    with backend.device_scope(device):
        if dtype.kind == "f":
            a = xp.arange(start, end, step, dtype=np.float64).astype(dtype)
        else:
            a = xp.arange(start, end, step, dtype=dtype)
    return Tensor(a, requires_grad=requires_grad)


def empty(*dims: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, size: Any = None) -> Tensor:
    """An uninitialised tensor (its values are whatever the memory held)."""
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(xp.empty(_shape(dims, size, what="empty"), dtype=_dtype(dtype)), requires_grad=requires_grad)


def _like(t: Tensor, make: Any, dtype: Any, requires_grad: bool, device: Any) -> Tensor:
    """``make(xp, shape, dtype)`` with t's shape, dtype and device unless given (``*_like``)."""
    dev = t.device if device is None else device
    xp = backend.xp_for_device(dev)
    with backend.device_scope(dev):
        return Tensor(make(xp, t.shape, np.dtype(t.dtype if dtype is None else dtype)), requires_grad=requires_grad)


def empty_like(input: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    return _like(input, lambda xp, shape, dt: xp.empty(shape, dtype=dt), dtype, requires_grad, device)


def full_like(
    input: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    return _like(input, lambda xp, shape, dt: xp.full(shape, fill_value, dtype=dt), dtype, requires_grad, device)


def rand_like(
    input: Tensor, *, generator: Any = None, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    return rand(
        input.shape,
        generator=generator,
        dtype=input.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device or input.device,
    )


def randn_like(
    input: Tensor, *, generator: Any = None, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    return randn(
        input.shape,
        generator=generator,
        dtype=input.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device or input.device,
    )


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive (computed in float64)."""
    if int(steps) < 0:
        raise ShapeError(f"linspace: number of steps must be non-negative, got {steps}")
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        a = xp.linspace(start, end, int(steps), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(a, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """The n x m identity matrix (m = n by default)."""
    if int(n) < 0 or (m is not None and int(m) < 0):
        raise ShapeError(f"eye: n and m must be greater or equal to 0, got n={n}, m={m}")
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        return Tensor(xp.eye(int(n), None if m is None else int(m), dtype=_dtype(dtype)), requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor sharing memory with ``data`` where it can (a NumPy array of the dtype and device
    asked for; a Tensor itself), else a converted copy, as torch.as_tensor."""
    if device is None and _device(None) != "cpu":  # the default device, for a Tensor too (as torch's)
        device = _device(None)
    if isinstance(data, Tensor):
        out = data
        if dtype is not None or device is not None:
            out = out.to(*(a for a in (device, dtype) if a is not None))
        return out
    return Tensor(autograd._as_array(data, dtype, device))


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


# -- strided factories and raw files ------------------------------------------------
def _layout_check(what: str, layout: Any) -> None:
    if layout is not None and str(layout).split(".")[-1] != "strided":
        raise RuntimeError(f"{what}: minicnn has only the strided layout, got layout={layout!r}")


def empty_strided(
    size: Any,
    stride: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor of ``size`` whose element strides are ``stride`` (``x.stride() ==
    stride``): a view over a fresh buffer just large enough, 1 + sum((size_i - 1) * stride_i)
    elements (none when a size is 0). Overlapping strides (a 0 stride) give a tensor whose
    elements share memory, as torch's (writing to it is then undefined). ``pin_memory`` is
    accepted and ignored (NumPy memory is host memory)."""
    _layout_check("empty_strided", layout)
    shape, strides = _shape((size,)), _shape((stride,))
    if len(shape) != len(strides):
        raise RuntimeError(
            f"dimensionality of sizes ({len(shape)}) must match dimensionality of strides ({len(strides)})"
        )
    if any(s < 0 for s in shape) or any(s < 0 for s in strides):
        raise RuntimeError(f"empty_strided: sizes and strides must be non-negative, got {list(shape)}, {list(strides)}")
    dt = _dtype(dtype)
    n = 0 if 0 in shape else 1 + sum((k - 1) * s for k, s in zip(shape, strides))
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        buf = xp.empty(n, dtype=dt)
        a = xp.lib.stride_tricks.as_strided(buf, shape, tuple(s * dt.itemsize for s in strides))
    return Tensor(a, requires_grad=requires_grad)


def empty_permuted(
    size: Any,
    physical_layout: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised dense tensor of ``size`` whose dims lie in memory in the order
    ``physical_layout`` (outermost first: ``(0, 2, 3, 1)`` is channels-last for NCHW), as
    torch.empty_permuted: allocated in that order, then its dims permuted back."""
    _layout_check("empty_permuted", layout)
    shape, perm = _shape((size,)), _shape((physical_layout,), dims=True)
    if len(perm) != len(shape):
        raise RuntimeError(
            f"Number of dimensions in size does not match the length of the physical_layout; "
            f"size {list(shape)}, physical_layout {list(perm)}"
        )
    seen: set[int] = set()
    for i, p in enumerate(perm):  # torch's checks, in its order
        if not 0 <= p < len(shape):
            raise RuntimeError(
                f"Dimension out of range (expected to be between 0 and {len(shape) - 1}, but got {p} at index {i}).  "
                "NB: negative dims not currently supported; file an issue if you want it."
            )
        if p in seen:
            raise RuntimeError("Duplicate dim not allowed")
        seen.add(p)
    device = _device(device)
    xp = backend.xp_for_device(device)
    with backend.device_scope(device):
        a = xp.empty([shape[p] for p in perm], dtype=_dtype(dtype)).transpose(np.argsort(perm).tolist())
    return Tensor(a, requires_grad=requires_grad)


def from_file(
    filename: str,
    shared: bool | None = None,
    size: int | None = 0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: bool | None = False,
) -> Tensor:
    """A 1-d tensor of the first ``size`` elements of ``dtype`` (the default float dtype) read as
    raw native-endian bytes from ``filename`` (never unpickled), as torch.from_file.
    ``shared=True`` maps the file (NumPy memmap): writes to the tensor reach the file, and a
    file shorter than needed is extended with zeros, as torch's; otherwise the bytes are
    copied, and a file too short raises torch's RuntimeError. On the CPU unless ``device`` is
    given (``mc.set_default_device`` does not apply, as torch's). Cost: one read of ``size``
    elements."""
    _layout_check("from_file", layout)
    dt, n, path = _dtype(dtype), int(size or 0), str(filename)
    need = n * dt.itemsize
    mode = "read-write" if shared else "read-only"
    try:
        have = os.path.getsize(path)
    except OSError as exc:
        raise RuntimeError(f"unable to open file <{path}> in {mode} mode: {exc.strerror} ({exc.errno})") from None
    if shared:
        if have < need:
            with open(path, "r+b") as f:
                f.truncate(need)
        a = np.memmap(path, dtype=dt, mode="r+", shape=(n,)) if n else np.empty(0, dtype=dt)
    else:
        if have < need:
            raise RuntimeError(f"file <{path}> size <{have}> is smaller than the required mapping size <{need}>")
        a = np.fromfile(path, dtype=dt, count=n)
    device = "cpu" if device is None else device  # torch.from_file ignores the default device
    return Tensor(a if backend.parse_device(device)[0] == "cpu" else backend.to_device(a, device))
