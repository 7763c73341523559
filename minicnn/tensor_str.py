"""``repr(tensor)`` as torch prints it (torch/_tensor_str.py, same rules).

A float tensor is printed with ``precision`` digits after the point (4 by default) in one
width for all elements, as integers with a trailing point (``1.``) when every finite value is
whole, and in scientific notation when the nonzero finite magnitudes span more than a factor
1000, exceed 1e8 or fall below 1e-4 (``mc.set_printoptions(sci_mode=...)`` forces either way).
Rows are wrapped at ``linewidth`` (80) and tensors of more than ``threshold`` (1000) elements
are summarised to ``edgeitems`` (3) at each edge of each dimension. The dtype is shown unless it
is the default float dtype, int64 or bool; ``grad_fn=<...Backward0>`` names the node by
torch's name for the op (:func:`grad_fn_name`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["format_tensor", "grad_fn_name"]

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def _options() -> dict[str, Any]:
    from .runtime import _print  # noqa: PLC0415  (mc.set_printoptions; runtime imports autograd)

    return {**_DEFAULTS, **{k: v for k, v in _print.items() if v is not None or k == "sci_mode"}}


class _Formatter:
    """One element width and notation for a whole (summarised) array, as torch's ``_Formatter``."""

    def __init__(self, a: np.ndarray, precision: int, sci_mode: bool | None) -> None:
        self.floating = a.dtype.kind == "f"
        self.precision = precision
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            if a.size:
                if a.dtype.kind == "b":
                    self.width = 4 if a.all() else 5
                else:  # the longest decimal form is that of the largest or of the most negative value
                    self.width = max(len(str(a.max().item())), len(str(a.min().item())))
            return
        v = a.astype(np.float64).ravel()
        v = v[np.isfinite(v) & (v != 0)]
        if v.size == 0:
            return
        mag = np.abs(v)
        lo, hi = float(mag.min()), float(mag.max())
        self.int_mode = bool(np.all(v == np.ceil(v)))
        auto = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        self.sci_mode = auto if sci_mode is None else bool(sci_mode)
        # the longest string is that of an extreme: the largest or smallest magnitude of either sign
        extremes = [float(x) for part in (v[v > 0], v[v < 0]) if part.size for x in (part.min(), part.max())]
        if self.sci_mode:
            self.width = max(len(f"{x:.{precision}e}") for x in extremes)
        elif self.int_mode:
            self.width = max(len(f"{x:.0f}") + 1 for x in extremes)
        else:
            self.width = max(len(f"{x:.{precision}f}") for x in extremes)

    def format(self, value: Any) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{self.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{self.precision}f}"
        return text.rjust(self.width)


def _summarized(a: np.ndarray, edge: int) -> np.ndarray:
    """The elements a summarised print shows: ``edge`` at each end of every long dimension."""
    for axis in range(a.ndim):
        n = a.shape[axis]
        if n > 2 * edge:
            keep = np.r_[0:edge, n - edge : n]
            a = np.take(a, keep, axis=axis)
    return a


def _vector(row: np.ndarray, indent: int, summarize: bool, fmt: _Formatter, opts: dict[str, Any]) -> str:
    per_line = max(1, math.floor((opts["linewidth"] - indent) / (fmt.width + 2)))
    edge = opts["edgeitems"]
    if summarize and not edge:
        data = ["..."]
    elif summarize and row.shape[0] > 2 * edge:
        data = [*map(fmt.format, row[:edge].tolist()), " ...", *map(fmt.format, row[-edge:].tolist())]
    else:
        data = [fmt.format(x) for x in row.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter, opts: dict[str, Any]) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt, opts)
    edge, n = opts["edgeitems"], a.shape[0]
    if summarize and n > 2 * edge:
        rows = [*range(edge), None, *range(n - edge, n)]
    else:
        rows = list(range(n))
    parts = ["..." if i is None else _nested(a[i], indent + 1, summarize, fmt, opts) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text: str, suffixes: list[str], indent: int, linewidth: int) -> str:
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > linewidth:
            out.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(out) + ")"


def format_tensor(
    a: np.ndarray, *, device: str = "cpu", default_dtype: Any = np.float32, grad_fn: Any = None,
    requires_grad: bool = False, prefix: str = "tensor(",
) -> str:  # fmt: skip
    """torch's ``repr`` of a tensor holding the host array ``a`` (any shape).

    Args:
        a: the values (a NumPy array).
        device: shown as ``device='...'`` unless "cpu".
        default_dtype: the float dtype not shown (``mc.get_default_dtype()``).
        grad_fn: the node that made the tensor (shown by :func:`grad_fn_name`), or None.
        requires_grad: shown when True and there is no ``grad_fn``.
        prefix: the text before the values.

    Returns:
        e.g. ``"tensor([[1.5000, 2.0000]], dtype=float64, requires_grad=True)"``.
    """
    opts = _options()
    indent = len(prefix)
    suffixes = [f"device='{device}'"] if device != "cpu" else []
    shown_dtype = a.dtype not in (np.dtype(default_dtype), np.dtype(np.int64), np.dtype(np.bool_))
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype != np.dtype(default_dtype):
            suffixes.append(f"dtype={a.dtype}")
        body = "[]"
    else:
        if not opts["edgeitems"]:
            suffixes.append(f"size={tuple(a.shape)}")
        if shown_dtype:
            suffixes.append(f"dtype={a.dtype}")
        if a.dtype.kind == "c":  # complex: NumPy's look
            body = np.array2string(a, separator=", ", prefix=prefix)
        else:
            threshold = opts["threshold"]
            summarize = a.size > (math.inf if threshold == math.inf else int(threshold))
            edge = int(opts["edgeitems"])
            opts = {**opts, "edgeitems": edge, "linewidth": int(opts["linewidth"])}
            fmt = _Formatter(_summarized(a, edge) if summarize else a, int(opts["precision"]), opts["sci_mode"])
            body = _nested(a, indent, summarize, fmt, opts)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name(grad_fn)}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent, int(opts["linewidth"]))


# -- node names ------------------------------------------------------------------------------------
# minicnn op class -> torch's backward node name where the two differ by more than "Backward0"
_TORCH_NODE = {
    "ReLU": "ReluBackward0", "LeakyReLU": "LeakyReluBackward0", "GELU": "GeluBackward0", "ELU": "EluBackward0",
    "ReLU6": "HardtanhBackward0", "CrossEntropy": "NllLossBackward0", "NLLLoss": "NllLossBackward0",
    "Conv2d": "ConvolutionBackward0", "Conv1d": "ConvolutionBackward0", "Conv3d": "ConvolutionBackward0",
    "MaxPool2d": "MaxPool2DWithIndicesBackward0", "AvgPool2d": "AvgPool2DBackward0",
    "AdaptiveAvgPool2d": "AdaptiveAvgPool2DBackward0", "AdaptiveMaxPool2d": "AdaptiveMaxPool2DBackward0",
    "BatchNorm": "NativeBatchNormBackward0", "LayerNorm": "NativeLayerNormBackward0",
    "GroupNorm": "NativeGroupNormBackward0", "Concat": "CatBackward0", "AsType": "ToCopyBackward0",
    "Clip": "ClampBackward1", "Dropout": "NativeDropoutBackward0", "Reshape": "ViewBackward0",
    "Pad": "ConstantPadNdBackward0", "MSELoss": "MseLossBackward0", "L1": "MeanBackward0",
    "LUFactor": "LinalgLuFactorExBackward0",
}  # fmt: skip


# the usual name of an op named by its inputs, for a node that backward has released
_RELEASED = {"GetItem": "SliceBackward0", "MatMul": "MmBackward0", "Linear": "AddmmBackward0", "Permute": "TBackward0"}


def _getitem_name(index: Any) -> str:
    parts = index if isinstance(index, tuple) else (index,)
    if any(not isinstance(p, (int, slice)) and p is not Ellipsis for p in parts):
        return "IndexBackward0"  # lists, arrays, tensors, None
    return "SelectBackward0" if any(isinstance(p, int) for p in parts) else "SliceBackward0"


def _matmul_name(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> str:
    dims = (len(a_shape), len(b_shape))
    names = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (2, 2): "MmBackward0", (3, 3): "BmmBackward0"}
    return names.get(dims, "UnsafeViewBackward0" if max(dims) > 2 else "MmBackward0")


def grad_fn_name(fn: Any) -> str:
    """torch's name of the graph node ``fn`` (``tensor.grad_fn``): ``MulBackward0`` for x * y,
    ``AddmmBackward0`` for a Linear layer on a batch, ``NllLossBackward0`` for cross-entropy...;
    a built-in op torch names differently by context is named for the common case, and an op
    of the user's own (a Function subclass outside minicnn) ``<Class>Backward``, as torch's."""
    cls = type(fn)
    name = cls.__name__
    if name.endswith("Backward"):  # the node of a torch-style autograd.Function (custom_function.py)
        return name
    if not cls.__module__.startswith("minicnn."):
        return f"{name}Backward"
    attrs = vars(fn)  # a node released by backward keeps none of these: then the usual name
    if name in _TORCH_NODE:
        return _TORCH_NODE[name]
    if name == "GetItem" and "index" in attrs:
        return _getitem_name(attrs["index"])
    if name == "MatMul" and "a_shape" in attrs:
        return _matmul_name(attrs["a_shape"], attrs["b_shape"])
    if name == "Linear":
        ndim = len(attrs.get("x_shape", (0, 0)))
        if ndim != 2:
            return "ViewBackward0"
        return "AddmmBackward0" if len(attrs.get("needs_input_grad", (0, 0, 0))) == 3 else "MmBackward0"
    if name in ("Sum", "Mean") and "axes" in attrs and "in_shape" in attrs:
        whole = len(attrs["axes"]) == len(attrs["in_shape"]) and not attrs.get("keepdims")
        return f"{name}Backward{0 if whole else 1}"
    if name == "MaxMin":
        label = attrs.get("label", attrs.get("op", "max"))
        if label in ("amax", "amin"):
            return f"{label.capitalize()}Backward0"
        return f"{label.capitalize()}Backward{1 if attrs.get('whole', True) else 0}"
    if name == "Permute" and "axes" in attrs:
        axes = tuple(attrs["axes"])
        moved = [i for i, a in enumerate(axes) if a != i]
        if axes == (1, 0):
            return "TBackward0"
        return "TransposeBackward0" if len(moved) == 2 else "PermuteBackward0"
    if name == "Pow" and len(attrs.get("needs_input_grad", ())) == 2 and attrs["needs_input_grad"][1]:
        return "PowBackward1"
    return _RELEASED.get(name, f"{name}Backward0")
