"""``mc.summary(model, input_size)``: a per-layer table of a network, from one probe pass.

For every layer (every module without children, and any module that holds parameters
itself) called during a forward pass on a zero batch of ``input_size``:

- ``output_shape`` and ``params`` (the module's own parameters);
- ``multiply_adds`` per sample: for a convolution prod(output spatial) x weight.size,
  i.e. C_out * OH * OW * (C_in / groups) * kh * kw; for a linear layer rows x in x out;
  a module may define ``multiply_adds(output_shape) -> int`` for its own count; all other
  layers (batch norm, activations, pooling) count 0, as in the papers' tables;
- ``receptive_field`` and ``jump`` (as (h, w)): the input window one output unit sees and
  the input distance between neighbouring output units. Through a layer with kernel k,
  stride s and dilation d: rf_out = rf_in + (d (k - 1)) jump_in, jump_out = jump_in s.
  Padding moves the window but does not change its size. Where paths branch and join
  (Inception's concatenation, ResNet's addition) the larger receptive field of the inputs
  is carried on, so the figure is the largest window along any path. Layers whose output
  has no spatial axes (after a flatten) report None;
- ``depth``: the number of weight layers (convolutions, linear layers and modules marked
  ``is_weight_layer``) along the longest path to this output: VGG16 16, ResNet-50 50,
  GoogLeNet 22 (in eval mode, without the auxiliary heads).

How the pass is observed (minicnn's Module has no hooks): for the duration of the probe the
layers' ``forward`` is wrapped by an instance attribute, and ``Function.apply`` is wrapped
so that every op carries the receptive-field record of its inputs to its output (that is
how branches meet). Both are restored afterwards, also on error. The model runs in eval
mode under ``no_grad`` (its modes are restored), so auxiliary heads that only run in
training are not in the rows, though their parameters are in ``totals["params"]``.
"""

from __future__ import annotations

import math
import types
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import nn
from .autograd import Function, Tensor, no_grad

_ACTIVATIONS = (
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "GELU", "SiLU", "Hardswish", "Hardsigmoid", "Tanh", "Sigmoid",
    "ScaledTanh", "Softmax", "LogSoftmax",
)  # fmt: skip


class Summary(list):
    """The rows (a list of dicts) plus ``totals`` (dict) and ``by_kind`` (dict of kind ->
    {"layers", "params", "multiply_adds"}); ``str()`` gives the printed table."""

    totals: dict[str, Any]
    by_kind: dict[str, dict[str, int]]

    def table(self) -> str:
        head = ("Layer", "Type", "Output shape", "Params", "Mult-adds", "RF", "Jump")
        lines = [[r["name"], r["type"], _fmt_shape(r["output_shape"]), f"{r['params']:,}",
                  f"{r['multiply_adds']:,}", _fmt_pair(r["receptive_field"]), _fmt_pair(r["jump"])]
                 for r in self]  # fmt: skip
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(head)]
        right = {3, 4, 5, 6}

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        rule = "-" * len(fmt(head))
        t = self.totals
        out = [rule, fmt(head), rule, *(fmt(line) for line in lines), rule]
        out.append(f"Input: {_fmt_shape(t['input_shape'])}  ->  output: {_fmt_shape(t['output_shape'])}")
        out.append(f"Parameters: {t['params']:,} ({t['trainable_params']:,} trainable)")
        if t["params_in_pass"] != t["params"]:
            out.append(f"  of which used in this pass: {t['params_in_pass']:,}")
        out.append(f"Multiply-adds per sample: {t['multiply_adds']:,} ({_si(t['multiply_adds'])})")
        out.append(f"Depth (weight layers on the longest path): {t['depth']}")
        if t["receptive_field"] is not None:
            out.append(f"Receptive field of the last spatial layer: {_fmt_pair(t['receptive_field'])}")
        out.append(rule)
        out.append(self.kind_table())
        return "\n".join(out)

    def kind_table(self) -> str:
        t = self.totals
        head = f"{'Kind':<18}{'Layers':>7}{'Params':>16}{'%':>7}{'Mult-adds':>17}{'%':>7}"
        lines = [head]
        for kind, k in sorted(self.by_kind.items(), key=lambda kv: -kv[1]["multiply_adds"]):
            p = 100 * k["params"] / t["params_in_pass"] if t["params_in_pass"] else 0.0
            m = 100 * k["multiply_adds"] / t["multiply_adds"] if t["multiply_adds"] else 0.0
            lines.append(f"{kind:<18}{k['layers']:>7}{k['params']:>16,}{p:>6.1f}%{k['multiply_adds']:>17,}{m:>6.1f}%")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _si(n: float) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3f} {unit}"
    return str(n)


def _fmt_shape(shape: Any) -> str:
    if shape is None:
        return "-"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "x".join(str(s) for s in shape)


def _fmt_pair(p: Any) -> str:
    if p is None:
        return "-"
    a, b = (_num(v) for v in p)
    return a if a == b else f"{a}x{b}"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def _pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _is_weight_layer(m: nn.Module) -> bool:
    return isinstance(m, (nn.Conv2d, nn.Linear)) or bool(getattr(m, "is_weight_layer", False))


def layer_kind(m: nn.Module) -> str:
    """The aggregation kind: 'conv 3x3', 'depthwise 3x3', 'grouped conv 5x5', 'linear',
    'batch norm', 'pool', 'activation', ...; a module may name its own with ``summary_kind``."""
    name = type(m).__name__
    if getattr(m, "summary_kind", None):
        return str(m.summary_kind)
    weight = getattr(m, "_parameters", {}).get("weight")
    if isinstance(m, nn.Linear):
        return "linear"
    if hasattr(m, "kernel_size") and weight is not None and hasattr(m, "in_channels"):
        kh, kw = _pair(m.kernel_size)
        groups = int(getattr(m, "groups", 1))
        if groups == 1:
            return f"conv {kh}x{kw}"
        if groups == m.in_channels:
            return f"depthwise {kh}x{kw}"
        return f"grouped conv {kh}x{kw}"
    if name.startswith("BatchNorm"):
        return "batch norm"
    if "Pool" in name or name == "Subsampling":
        return "pool"
    if name in _ACTIVATIONS:
        return "activation"
    if name.startswith("Dropout"):
        return "dropout"
    if name == "LocalResponseNorm":
        return "lrn"
    return "other"


def _multiply_adds(m: nn.Module, out: Any) -> int:
    if not isinstance(out, Tensor):
        return 0
    if hasattr(m, "multiply_adds"):
        return int(m.multiply_adds(out.shape))
    if isinstance(m, (nn.Conv2d, nn.Conv3d)):
        return int(np.prod(out.shape[2:])) * int(m.weight.array.size)
    if isinstance(m, nn.Linear):
        return int(np.prod(out.shape[1:-1])) * int(m.weight.array.size)
    return 0


class _Record:
    """What the probe knows about one tensor: receptive field, jump, weight-layer depth."""

    __slots__ = ("depth", "jump", "rf")

    def __init__(self, rf: tuple[float, float] | None, jump: tuple[float, float] | None, depth: int) -> None:
        self.rf, self.jump, self.depth = rf, jump, depth


def _merge(records: list[tuple[_Record, tuple[int, ...]]], out_shape: tuple[int, ...]) -> _Record:
    """The record of an op's output from its inputs' (record, shape): the largest receptive
    field among them. The last two axes stay the spatial ones through reshapes of more axes
    (a channel shuffle's 5-D view). The jump is that of the inputs as large as the output: an
    input broadcast from 1x1 (squeeze-excitation's pooled gate) widens the field to the whole
    image but does not make the map coarser."""
    depth = max((r.depth for r, _ in records), default=0)
    spatial = [(r, shape) for r, shape in records if r.rf is not None]
    if len(out_shape) < 4 or not spatial:
        return _Record(None, None, depth)
    area = lambda r: r.rf[0] * r.rf[1]  # noqa: E731
    best = max((r for r, _ in spatial), key=area)
    full = [r for r, shape in spatial if tuple(shape[-2:]) == tuple(out_shape[-2:])]
    return _Record(best.rf, max(full, key=area).jump if full else best.jump, depth)


def _through_layer(m: nn.Module, rec: _Record, x: Any, out: Any) -> _Record:
    """The record of a layer's output from the record of its input."""
    depth = rec.depth + (1 if _is_weight_layer(m) else 0)
    if not isinstance(out, Tensor) or out.ndim != 4:
        return _Record(None, None, depth)
    rf, jump = rec.rf or (1, 1), rec.jump or (1, 1)
    if hasattr(m, "kernel_size") and hasattr(m, "stride"):
        k, s = _pair(m.kernel_size), _pair(m.stride if m.stride is not None else m.kernel_size)
        d = _pair(getattr(m, "dilation", 1))
        rf = tuple(rf[i] + d[i] * (k[i] - 1) * jump[i] for i in range(2))
        jump = tuple(jump[i] * s[i] for i in range(2))
    elif hasattr(m, "output_size") and isinstance(x, Tensor) and x.ndim == 4:
        # adaptive pooling: bins of (at most) ceil-size, advancing by in/out
        rf_l, jump_l = list(rf), list(jump)
        for i in range(2):
            n_in, n_out = x.shape[2 + i], out.shape[2 + i]
            if n_in == n_out:
                continue
            k = max(math.ceil((j + 1) * n_in / n_out) - (j * n_in) // n_out for j in range(n_out))
            rf_l[i] = rf[i] + (k - 1) * jump[i]
            jump_l[i] = jump[i] * n_in // n_out if (jump[i] * n_in) % n_out == 0 else jump[i] * n_in / n_out
        rf, jump = tuple(rf_l), tuple(jump_l)
    return _Record(rf, jump, depth)


def _pool_window(cls: type[Function], params: dict[str, Any]) -> Any:
    """The window of a pooling Function applied directly (not through a layer), in the form
    :func:`_through_layer` reads (kernel_size, stride, dilation); None for other ops."""
    from .ops import pool  # noqa: PLC0415

    if cls is pool.MaxPool2d:
        k, s, d = params["kernel_size"], params["stride"], params["dilation"]
    elif cls is pool.AvgPool2d:
        k, s, d = params["settings"][0], params["settings"][1], 1
    else:
        return None
    return types.SimpleNamespace(kernel_size=k, stride=s if s is not None else k, dilation=d)


def _is_layer(m: nn.Module) -> bool:
    return not m._modules or any(p is not None for p in m._parameters.values())


def summary(
    model: nn.Module,
    input_size: Sequence[int] | None = None,
    *,
    batch_size: int = 1,
    dtype: Any = None,
    device: str | None = None,
    verbose: bool = True,
) -> Summary:
    """Run ``model`` once on zeros of shape (batch_size, *input_size) and describe each layer.

    ``input_size`` is (C, H, W) or (features,), to which a batch axis is added, or else a
    full input shape such as (N, C, H, W); by default the model's ``input_size`` attribute.
    Returns a :class:`Summary`: the list of row dicts (keys ``name``, ``type``, ``kind``,
    ``output_shape``, ``params``, ``multiply_adds``, ``receptive_field``, ``jump``,
    ``depth``) with ``.totals`` and ``.by_kind``; prints the table when ``verbose``.
    ``dtype`` and ``device`` default to those of the model's first parameter.
    """
    own = input_size is None
    if own:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(f"summary: {type(model).__name__} has no input_size attribute; pass input_size=(C, H, W)")
    shape = tuple(int(s) for s in input_size)
    if own or len(shape) in (1, 3):  # (C, H, W), (C, T, H, W) of a video model, or (features,): one sample
        shape = (batch_size, *shape)
    if len(shape) < 2:
        raise ValueError(f"summary: input_size must be (C, H, W) or a full input shape, got {tuple(input_size)}")

    from .backend import device_scope, xp_for_device

    first = next(iter(model.parameters()), None)
    dtype = (first.dtype if first is not None else np.float32) if dtype is None else dtype
    device = (first.device if first is not None else "cpu") if device is None else device
    xp = xp_for_device(device)
    with device_scope(device):  # made on that GPU, whichever is current
        x = Tensor(xp.zeros(shape, dtype=dtype))
    records: dict[int, _Record] = {id(x): _Record((1, 1), (1, 1), 0) if len(shape) == 4 else _Record(None, None, 0)}
    keep: list[Any] = [x]  # keep every tensor alive so that ids stay unique during the pass
    rows: list[dict[str, Any]] = []
    names = {id(m): name for name, m in model.named_modules()}
    layers = [m for m in model.modules() if _is_layer(m)]
    seen_params: set[int] = set()

    def record_of(t: Any) -> _Record:
        return records.get(id(t), _Record(None, None, 0))

    def wrap(m: nn.Module) -> Any:
        original = m.forward

        def forward(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            first = next((a for a in args if isinstance(a, Tensor)), None)
            if m._modules and isinstance(out, Tensor) and id(out) in records:
                rec = records[id(out)]  # a parent with parameters of its own: what its ops carried
            else:
                rec = _through_layer(m, record_of(first), first, out)
            outs = out if isinstance(out, (tuple, list)) else (out,)
            for o in outs:
                if isinstance(o, Tensor):
                    records[id(o)] = rec
                    keep.append(o)
            # its own parameters, and those of sublayers it applies as functions rather than calls
            # (nn.MultiheadAttention's out_proj, Swin's qkv): the called ones have counted theirs
            own = list(m.parameters())
            new = [p for p in own if id(p) not in seen_params]
            seen_params.update(id(p) for p in own)
            rows.append(
                {
                    "name": names.get(id(m), type(m).__name__) or type(m).__name__,
                    "type": type(m).__name__,
                    "kind": layer_kind(m),
                    "output_shape": _out_shape(out),
                    "params": sum(int(p.array.size) for p in new),
                    "multiply_adds": _multiply_adds(m, out),
                    "receptive_field": rec.rf,
                    "jump": rec.jump,
                    "depth": rec.depth,
                }
            )
            return out

        return forward

    apply_original = Function.__dict__["apply"]

    def apply(cls: type[Function], *inputs: Any, **params: Any) -> Tensor:
        out = apply_original.__func__(cls, *inputs, **params)
        ins = [(records[id(t)], t.shape) for t in inputs if isinstance(t, Tensor) and id(t) in records]
        if ins:
            window = _pool_window(cls, params)
            if window is not None:  # F.max_pool2d / F.avg_pool2d called in a forward: a window like the layers'
                records[id(out)] = _through_layer(window, records[id(inputs[0])], inputs[0], out)
            else:
                records[id(out)] = _merge(ins, out.shape)
            keep.append(out)
        return out

    modes = {id(m): m.training for m in model.modules()}
    try:
        for m in layers:
            m.__dict__["forward"] = wrap(m)
        Function.apply = classmethod(apply)
        model.eval()
        with no_grad():
            y = model(x)
    finally:
        Function.apply = apply_original
        for m in layers:
            m.__dict__.pop("forward", None)
        for m in model.modules():
            object.__setattr__(m, "training", modes.get(id(m), m.training))

    last = next((r for r in reversed(rows) if r["receptive_field"] is not None), None)
    all_params = list(model.parameters())
    result = Summary(rows)
    result.totals = {
        "input_shape": shape,
        "output_shape": _out_shape(y),
        "params": sum(int(p.array.size) for p in all_params),
        "trainable_params": sum(int(p.array.size) for p in all_params if p.requires_grad),
        "params_in_pass": sum(r["params"] for r in rows),
        "multiply_adds": sum(r["multiply_adds"] for r in rows),
        "depth": max((r["depth"] for r in rows), default=0),
        "receptive_field": None if last is None else last["receptive_field"],
        "jump": None if last is None else last["jump"],
    }
    by_kind: dict[str, dict[str, int]] = {}
    for r in rows:
        k = by_kind.setdefault(r["kind"], {"layers": 0, "params": 0, "multiply_adds": 0})
        k["layers"] += 1
        k["params"] += r["params"]
        k["multiply_adds"] += r["multiply_adds"]
    result.by_kind = by_kind
    if verbose:
        print(result.table())
    return result


def _out_shape(out: Any) -> Any:
    if isinstance(out, Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return [_out_shape(o) for o in out]
    if isinstance(out, dict):  # the segmentation models' {"out": ..., "aux": ...}
        return {k: _out_shape(v) for k, v in out.items()}
    return None


__all__ = ["Summary", "layer_kind", "summary"]
