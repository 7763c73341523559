"""``mc.testing``: torch.testing's ``assert_close`` and ``make_tensor``.

``assert_close(actual, expected)`` passes when the two hold the same values up to a tolerance
that depends on their dtype, as torch's does:

============  ========  ========
dtype         rtol      atol
============  ========  ========
float16       1e-3      1e-5
float32       1.3e-6    1e-5
float64       1e-7      1e-7
complex64     1.3e-6    1e-5
complex128    1e-7      1e-7
other         0         0
============  ========  ========

(the looser of the two inputs' dtypes). Inputs may be minicnn Tensors, NumPy (or CuPy)
arrays, Python and NumPy numbers, None, and sequences or mappings of these, compared item by
item. As in torch, both inputs of a pair must be of the same kind: a Tensor against a NumPy
array (or a list) is a TypeError ("No comparison pair was able to handle inputs ..."). A
failure raises AssertionError with torch's message ("Tensor-likes are not close!", the count
"Mismatched elements: k / n (p%)", the greatest absolute and relative differences and where
they are, and "The failure occurred for item [i]" inside a container).
"""

from __future__ import annotations

import cmath
import collections.abc
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor

__all__ = ["assert_close", "make_tensor"]

_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.complex128): (1e-7, 1e-7),
}
_NUMBER_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64), complex: np.dtype(np.complex128)}


class _Failure(Exception):  # noqa: N818 - not raised to the caller (to_error makes the error)
    """A failed comparison: the exception type to raise, its message, and the item path."""

    def __init__(self, kind: type[Exception], message: str, path: tuple = ()) -> None:
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path

    def to_error(self, msg: str | Callable[[str], str] | None) -> Exception:
        message = self.message
        if self.path:
            message += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.path)}"
        if callable(msg):
            message = msg(message)
        elif msg is not None:
            message = msg
        return self.kind(message)


def _tolerances(*dtypes: np.dtype, rtol: float | None, atol: float | None, path: tuple) -> tuple[float, float]:
    """rtol/atol as given, or the loosest defaults of ``dtypes``; both or neither must be given."""
    if (rtol is None) ^ (atol is None):
        missing = "rtol" if rtol is None else "atol"
        raise _Failure(
            ValueError, f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}.", path
        )
    if rtol is not None and atol is not None:
        return rtol, atol
    found = [_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(r for r, _ in found), max(a for _, a in found)


def _unsupported(actual: Any, expected: Any, path: tuple) -> _Failure:
    return _Failure(
        TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.", path
    )


def _make_mismatch_msg(
    identifier: str,
    extra: str,
    abs_diff: Any,
    abs_idx: tuple | None,
    rel_diff: Any,
    rel_idx: tuple | None,
    rtol: float,
    atol: float,
) -> str:
    equality = rtol == 0 and atol == 0

    def diff_line(kind: str, diff: Any, idx: tuple | None, tol: float) -> str:
        line = (
            f"{kind.title()} difference: {diff}"
            if idx is None
            else f"Greatest {kind} difference: {diff} at index {idx}"
        )
        return line + ("" if equality else f" (up to {tol} allowed)") + "\n"

    text = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    text += diff_line("absolute", abs_diff, abs_idx, atol) + diff_line("relative", rel_diff, rel_idx, rtol)
    return text.strip()


def _scalar_mismatch(actual: Any, expected: Any, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _make_mismatch_msg(
        "Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, rel_diff, None, rtol, atol
    )


def _compare_numbers(
    actual: Any, expected: Any, rtol: Any, atol: Any, equal_nan: bool, check_dtype: bool, path: tuple
) -> None:
    """torch's NumberPair: Python int/float/complex and NumPy numbers (compared as Python numbers)."""
    actual, expected = (v.item() if isinstance(v, np.number) else v for v in (actual, expected))
    rtol, atol = _tolerances(*(_NUMBER_DTYPES[type(v)] for v in (actual, expected)), rtol=rtol, atol=atol, path=path)
    if check_dtype and type(actual) is not type(expected):
        raise _Failure(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
    if actual == expected:
        return
    if equal_nan and cmath.isnan(actual) and cmath.isnan(expected):
        return
    abs_diff = abs(actual - expected)
    if cmath.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(expected):
        return
    raise _Failure(AssertionError, _scalar_mismatch(actual, expected, rtol, atol), path)


def _array_of(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def _device_of(x: Any) -> str:
    return str(x.device) if isinstance(x, Tensor) else str(backend.device_of(x))


def _compare_tensor_likes(
    actual: Any,
    expected: Any,
    rtol: Any,
    atol: Any,
    equal_nan: bool,
    check_device: bool,
    check_dtype: bool,
    check_stride: bool,
    path: tuple,
) -> None:
    """torch's TensorLikePair: attributes (shape, device, dtype, strides), then the values."""
    a, e = _array_of(actual), _array_of(expected)
    rtol, atol = _tolerances(a.dtype, e.dtype, rtol=rtol, atol=atol, path=path)

    def mismatch(name: str, x: Any, y: Any) -> _Failure:
        return _Failure(AssertionError, f"The values for attribute '{name}' do not match: {x} != {y}.", path)

    if a.shape != e.shape:
        from .size import Size  # noqa: PLC0415

        raise mismatch("shape", repr(Size(a.shape)), repr(Size(e.shape)))
    if check_stride and a.size > 1:
        strides = [tuple(s // arr.itemsize for s in arr.strides) for arr in (a, e)]
        if strides[0] != strides[1]:
            raise mismatch("stride()", *strides)
    if check_device and _device_of(actual) != _device_of(expected):
        raise mismatch("device", _device_of(actual), _device_of(expected))
    if check_dtype and a.dtype != e.dtype:
        raise mismatch("dtype", a.dtype, e.dtype)

    if _device_of(actual) != _device_of(expected):
        a, e = backend.to_numpy(a), backend.to_numpy(e)
    xp = backend.get_array_module(a, e)
    dtype = np.result_type(a.dtype, e.dtype)
    a, e = a.astype(dtype, copy=False), e.astype(dtype, copy=False)
    if dtype.kind == "b":
        matches = a == e
    elif dtype.kind in "iu":
        wide_a, wide_e = a.astype(np.int64), e.astype(np.int64)
        matches = xp.abs(wide_a - wide_e) <= atol + rtol * xp.abs(wide_e) if (rtol or atol) else wide_a == wide_e
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            matches = xp.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if bool(matches.all()):
        return
    if a.ndim == 0:
        raise _Failure(AssertionError, _scalar_mismatch(a.item(), e.item(), rtol, atol), path)
    raise _Failure(AssertionError, _tensor_mismatch(a, e, matches, rtol, atol), path)


def _tensor_mismatch(a: Any, e: Any, matches: Any, rtol: float, atol: float) -> str:
    """torch's make_tensor_mismatch_msg, on arrays of one dtype (integers are compared as int64;
    their relative difference is a float32, as torch's int64 / int64)."""
    xp = backend.get_array_module(a, e)
    n = int(matches.size)
    bad = n - int(matches.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    a, e, hit = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if a.dtype.kind in "biu":
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        abs_diff = xp.abs(a - e)
        abs_diff[hit] = 0
        denom = xp.abs(e)
        rel_diff = (abs_diff.astype(np.float32) / denom.astype(np.float32)) if a.dtype.kind == "i" else abs_diff / denom
        rel_diff[hit] = 0

    def greatest(d: Any) -> tuple[Any, tuple[int, ...]]:
        flat = int(d.argmax())
        return d[flat].item(), tuple(int(i) for i in np.unravel_index(flat, matches.shape))

    (abs_value, abs_idx), (rel_value, rel_idx) = greatest(abs_diff), greatest(rel_diff)
    return _make_mismatch_msg("Tensor-likes", extra, abs_value, abs_idx, rel_value, rel_idx, rtol, atol)


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) or backend.is_cupy_array(x)


def _compare(actual: Any, expected: Any, path: tuple, options: dict[str, Any]) -> None:
    """Compare one pair, recursing into sequences and mappings as torch's originate_pairs."""
    seq = collections.abc.Sequence
    if (
        isinstance(actual, seq)
        and not isinstance(actual, str)
        and isinstance(expected, seq)
        and not isinstance(expected, str)
    ):
        if len(actual) != len(expected):
            raise _Failure(
                AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path
            )
        for i, (x, y) in enumerate(zip(actual, expected, strict=True)):
            _compare(x, y, (*path, i), options)
        return
    mapping = collections.abc.Mapping
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        keys_a, keys_e = set(actual.keys()), set(expected.keys())
        if keys_a != keys_e:
            missing, extra = keys_e - keys_a, keys_a - keys_e
            raise _Failure(
                AssertionError,
                "The keys of the mappings do not match:\n"
                f"Missing keys in the actual mapping: {_sorted(missing)}\n"
                f"Additional keys in the actual mapping: {_sorted(extra)}",
                path,
            )
        for key in _sorted(actual.keys()):
            _compare(actual[key], expected[key], (*path, key), options)
        return
    if actual is None or expected is None:
        if actual is not expected:
            raise _Failure(AssertionError, f"None mismatch: {actual} is not {expected}", path)
        return
    if isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
        if bool(actual) != bool(expected):
            raise _Failure(AssertionError, f"Booleans mismatch: {actual} is not {expected}", path)
        return
    if _is_number(actual) and _is_number(expected):
        _compare_numbers(
            actual, expected, options["rtol"], options["atol"], options["equal_nan"], options["check_dtype"], path
        )
        return
    if _is_tensor_like(actual) and _is_tensor_like(expected):
        related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
        if not related or (not options["allow_subclasses"] and type(actual) is not type(expected)):
            raise _unsupported(actual, expected, path)
        _compare_tensor_likes(
            actual,
            expected,
            options["rtol"],
            options["atol"],
            options["equal_nan"],
            options["check_device"],
            options["check_dtype"],
            options["check_stride"],
            path,
        )
        return
    raise _unsupported(actual, expected, path)


def _sorted(keys: Any) -> list:
    """Keys sorted where they can be (a deterministic first failure, as torch), else in their order."""
    try:
        return sorted(keys)
    except TypeError:
        return list(keys)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, complex, np.number)) and not isinstance(x, (bool, np.bool_))


def _is_tensor_like(x: Any) -> bool:
    return isinstance(x, Tensor) or _is_array(x)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` are close, as torch.testing.assert_close.

    Tensors/arrays of any shape must have the same shape (and, with ``check_device`` /
    ``check_dtype`` / ``check_stride``, the same device, dtype and strides; otherwise they are
    compared on the CPU in their common dtype); values match when
    ``|actual - expected| <= atol + rtol * |expected|`` (NaNs equal with ``equal_nan``), with
    the default tolerances of the module docstring's table. Numbers, None, bools, sequences and
    mappings (recursively) are compared as torch does. ``msg`` replaces the message (a str) or
    rewrites it (a callable). ``check_layout`` is accepted for torch's signature (every minicnn
    tensor is strided). Raises TypeError for inputs of unrelated kinds, ValueError when only one
    of ``rtol``/``atol`` is given.
    """
    del check_layout
    options = {
        "allow_subclasses": allow_subclasses,
        "rtol": rtol,
        "atol": atol,
        "equal_nan": equal_nan,
        "check_device": check_device,
        "check_dtype": check_dtype,
        "check_stride": check_stride,
    }
    try:
        _compare(actual, expected, (), options)
    except _Failure as failure:
        raise failure.to_error(msg) from None


_BOUNDS_DEFAULT = {"b": (0, 2), "u": (0, 10), "i": (-9, 10), "f": (-9, 9), "c": (-9, 9)}


def make_tensor(
    *shape: int | Sequence[int],
    dtype: Any,
    device: Any,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format: Any = None,
) -> Tensor:
    """A tensor of ``shape`` with values uniform in ``[low, high)`` from the library generator
    (``mc.manual_seed`` makes it repeatable), as torch.testing.make_tensor.

    Defaults: bool [0, 2), unsigned [0, 10), signed integers [-9, 10), floating and complex
    [-9, 9); ``low``/``high`` outside the dtype's range are clamped to it (integers: rounded up).
    ``noncontiguous`` gives a strided view (every other element of a twice as long last dim);
    ``exclude_zero`` replaces zeros by 1 (bool, integers) or the dtype's smallest normal number.
    ``memory_format`` (``mc.channels_last`` and the like) is accepted and applied with
    ``Tensor.contiguous(memory_format)``. Raises ValueError for ``low >= high``, a NaN bound,
    ``requires_grad`` with an integer dtype, or ``noncontiguous`` together with ``memory_format``.
    """
    from . import creation, runtime  # noqa: PLC0415

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    dt = np.dtype(dtype)
    if noncontiguous and memory_format is not None:
        raise ValueError(
            "The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
            f"but got noncontiguous={noncontiguous} and memory_format={memory_format}"
        )
    if requires_grad and dt.kind in "biu":
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got dtype={dt}")
    if dt.kind not in _BOUNDS_DEFAULT:
        raise TypeError(f"The requested dtype '{dt}' is not supported by minicnn.testing.make_tensor().")

    default_low, default_high = _BOUNDS_DEFAULT[dt.kind]
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and dt.kind in "fc":
        warnings.warn(
            "Passing `low==high` to `make_tensor` for floating or complex types is deprecated (as in torch); "
            "use `mc.full(...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    info = runtime.finfo(dt) if dt.kind in "fc" else (np.iinfo(dt) if dt.kind in "iu" else None)
    lowest, highest = (
        (0, 2) if info is None else ((info.min, info.max + 1) if dt.kind in "iu" else (info.min, info.max))
    )
    if high < lowest or low >= highest:
        raise ValueError(
            f"The value interval specified by `low` and `high` is [{low}, {high}), "
            f"but {dt} only supports [{lowest}, {highest})"
        )
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)

    noncontiguous = noncontiguous and math.prod(shape) > 1
    draw_shape = (*shape[:-1], 2 * shape[-1]) if noncontiguous else shape
    if dt.kind in "biu":
        low, high = math.ceil(low), math.ceil(high)
        t = creation.randint(low, high, draw_shape, dtype=np.int64, device=device)
        a = t.array.astype(dt)
    else:
        real_dt = np.dtype(np.float64)
        span = high - low
        scale = 2.0 if span >= np.finfo(real_dt).max else 1.0  # torch halves a range wider than the dtype's max
        parts = [
            creation.rand(draw_shape, dtype=real_dt, device=device).array for _ in range(2 if dt.kind == "c" else 1)
        ]
        parts = [(p * (high / scale - low / scale) + low / scale) * scale for p in parts]
        a = (parts[0] + 1j * parts[1] if dt.kind == "c" else parts[0]).astype(dt)
    if noncontiguous:
        a = a[..., ::2]
    if exclude_zero:
        xp = backend.get_array_module(a)
        if dt.kind in "biu":
            replacement = 1
        else:
            tiny = float(np.finfo(dt).tiny)
            replacement = tiny + 1j * tiny if dt.kind == "c" else tiny
        a[a == 0] = xp.asarray(replacement, dtype=dt)
    out = Tensor(a, requires_grad=requires_grad)
    if memory_format is not None:
        out = out.contiguous(memory_format=memory_format).detach().requires_grad_(requires_grad)
    return out
