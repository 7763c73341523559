"""minicnn's public callables take torch's parameter names, positional order and defaults.

The first half compares signatures systematically: every callable of ``mc.nn.functional``,
every ``mc.nn`` class (constructor), ``mc.nn.init`` and ``mc.nn.utils`` function, optimizer,
lr scheduler and top-level ``mc`` function that torch also has, against torch 2.x's. Builtins
without an inspectable signature are read from the first line of their docstring. Each
accepted difference is listed below with its reason; a listed difference that no longer
exists fails the test too (so the lists cannot go stale).

The second half checks the behaviour behind the signatures against torch: keyword calls with
torch's names, ``F.pad(value=None)``, softmax's ``dtype``, the losses' deprecated
``size_average``/``reduce``, ``mse_loss``'s ``weight``, in-place activations, factory defaults.
(``mc.data`` and Tensor methods are not covered here.)
"""

from __future__ import annotations

import ast
import inspect
import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, broadcastable_shapes

import minicnn as mc
import minicnn.nn.functional as F
import minicnn.optim.lr_scheduler as mc_sched

P = inspect.Parameter
EMPTY = P.empty
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
SETTINGS = settings(max_examples=30, deadline=None)

# ---------------------------------------------------------------------------------------------
# Differences accepted on purpose. Keys are (our qualified name, torch's parameter name).

# torch factory/out keywords minicnn does not have. Skipped only where our callable really lacks
# the parameter (where we have it, it is compared like any other), and only when keyword-only or
# trailing in torch (so no later positional parameter moves).
ABSENT_TORCH_PARAMS = {
    "out": "ops return new tensors; there is no out= (write into an existing tensor with copy_)",
    "layout": "one layout only: dense (strided) NumPy/CuPy arrays",
    "memory_format": "arrays keep C order; there is no channels_last memory format",
    "pin_memory": "no pinned host memory",
    "generator": "nn.init draws from the library generator only (mc.manual_seed); mc.Generator serves the samplers",
}

DELIBERATE = {
    ("mc.cat", "dim"): "API.md fixes mc.cat(tensors, axis) (dim= accepted as an alias): axis is 2nd positional",
    ("mc.stack", "dim"): "API.md fixes mc.stack(tensors, axis) (dim= accepted as an alias): axis is 2nd positional",
    ("F.flatten", "start_dim"): "API.md fixes F.flatten(x, start_dim=1), keeping the batch axis like nn.Flatten "
    "(torch.nn.functional has no flatten; this compares with torch.flatten, whose default is 0)",
    ("mc.concat", "dim"): "mc.concat is mc.cat (API.md fixes axis as its 2nd positional, dim= an alias)",
    ("mc.norm", "dtype"): "torch.norm(input, p, dim, keepdim, out, dtype): minicnn has no out=, so dtype comes "
    "5th (pass it by keyword, as torch's docs do)",
    ("mc.randperm", "dtype"): "dtype=None means int64, torch's default (minicnn has no torch.int64 object to name)",
    ("F.scaled_dot_product_attention", "scale"): "keyword-only, as torch's builtin (its doc line lists it "
    "positionally, but torch refuses it there)",
    ("F.scaled_dot_product_attention", "enable_gqa"): "as scale",
    ("nn.TransformerEncoderLayer", "activation"): "the default is F.relu, minicnn's (torch's is torch's F.relu)",
    ("nn.TransformerDecoderLayer", "activation"): "as nn.TransformerEncoderLayer",
    ("nn.Transformer", "activation"): "as nn.TransformerEncoderLayer",
    ("nn.NLLLoss2d", "*args"): "torch's class is wrapped by @deprecated, which shows (*args, **kwargs); minicnn's has "
    "the parameters of its __init__ (NLLLoss's, the same as torch's __init__)",
    ("nn.NLLLoss2d", "**kwargs"): "as above",
    ("nn.Container", "*args"): "as nn.NLLLoss2d: torch's @deprecated wrapper shows (*args, **kwargs); its __init__ "
    "takes **kwargs only, as minicnn's",
    ("mc.tril_indices", "dtype"): "as mc.randperm",
    ("mc.triu_indices", "dtype"): "as mc.randperm",
    ("mc.var", "correction"): "correction=None: the unbiased flag decides (torch's legacy overload var(dim, unbiased, "
    "keepdim) shares the positional slots; torch's documented default is correction=1, the same result)",
    ("mc.std", "correction"): "as mc.var",
    ("mc.var_mean", "correction"): "as mc.var",
    ("mc.std_mean", "correction"): "as mc.var",
    ("mc.save", "pickle_module"): "API.md: mc.save never pickles (npz-based format)",
    ("mc.save", "pickle_protocol"): "API.md: mc.save never pickles (npz-based format)",
    ("mc.save", "_use_new_zipfile_serialization"): "a private switch of torch's own file format",
    ("mc.save", "_disable_byteorder_record"): "a private switch of torch's own file format",
    ("mc.load", "pickle_module"): "API.md: mc.load never unpickles (npz-based format)",
    ("mc.load", "**pickle_load_args"): "API.md: mc.load never unpickles (npz-based format)",
}
# torch declares Module.__init__(*args, **kwargs) but refuses any argument (checked by
# test_torch_modules_without_parameters_refuse_arguments): they take nothing, as ours do.
TORCH_TAKES_NOTHING = ("Module", "Sigmoid", "Tanh", "LogSigmoid", "Softsign", "Tanhshrink", "Softmax2d")
for _name in TORCH_TAKES_NOTHING:
    for _p in ("*args", "**kwargs"):
        DELIBERATE[(f"nn.{_name}", _p)] = "torch's *args/**kwargs refuse every argument (TypeError)"

# Differences in files other owners are changing; each is reported to them. Remove an entry
# when it is fixed (a stale entry fails test_signatures_match_torch).
NOT_YET_MATCHED: dict[tuple[str, str], str] = {}

# Top-level torch names minicnn also has that are not compared here.
SKIPPED_TOP_LEVEL = {
    "Tensor": "the Tensor class and its methods are outside this check (minicnn/autograd.py; API.md fixes them)",
    "Generator": "a class whose torch signature is not inspectable (tests/test_random_api.py checks it)",
    "finfo": "a class whose torch signature is not inspectable (tests/test_random_api.py checks its attributes)",
    "iinfo": "a class whose torch signature is not inspectable (tests/test_random_api.py checks its attributes)",
    "device": "a class whose torch signature is not inspectable (tests/test_backend.py checks its forms)",
    **{
        name: "a legacy typed tensor class; torch's is not inspectable (tests/test_legacy_types.py checks its forms)"
        for name in (
            "BoolTensor",
            "ByteTensor",
            "CharTensor",
            "DoubleTensor",
            "FloatTensor",
            "HalfTensor",
            "IntTensor",
            "LongTensor",
            "ShortTensor",
        )
    },  # fmt: skip
}


# ---------------------------------------------------------------------------------------------
# Reading signatures.


@dataclass(frozen=True)
class Param:
    name: str
    kind: Any
    default: Any = EMPTY

    @property
    def key(self) -> str:
        """The parameter as a differences key: ``*args`` and ``**kwargs`` keep their stars."""
        return {P.VAR_POSITIONAL: "*", P.VAR_KEYWORD: "**"}.get(self.kind, "") + self.name


class Unparsed(str):
    """A docstring default that is not a Python literal (e.g. ``torch.strided``)."""


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def doc_params(name: str, doc: str | None) -> list[Param]:
    """Parameters from a builtin's first doc line, e.g. ``conv2d(input, weight, bias=None, ...)``."""
    text = (doc or "").strip().replace("\\*", "*")
    assert text.startswith(f"{name}("), f"{name}: no signature line in its docstring: {text[:80]!r}"
    depth, end = 0, len(text)
    for i, ch in enumerate(text):
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == ")" and depth == 0:
            end = i
            break
    params, kw_only = [], False
    for part in _split_top_level(text[len(name) + 1 : end]):
        if part == "*":
            kw_only = True
        elif part.startswith("**"):
            params.append(Param(part[2:], P.VAR_KEYWORD))
        elif part.startswith("*"):
            params.append(Param(part[1:], P.VAR_POSITIONAL))
            kw_only = True
        else:
            head, eq, default = part.partition("=")
            value: Any = EMPTY
            if eq:
                try:
                    value = ast.literal_eval(default.strip())
                except (ValueError, SyntaxError):
                    value = _arithmetic(default.strip())
            params.append(
                Param(head.split(":")[0].strip(), P.KEYWORD_ONLY if kw_only else P.POSITIONAL_OR_KEYWORD, value)
            )
    return params


def _arithmetic(text: str) -> Any:
    """A default written as arithmetic on numbers in torch's docstrings ("1./8") as its value;
    anything else as Unparsed."""
    ops = {ast.Div: lambda a, b: a / b, ast.Mult: lambda a, b: a * b}

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](value(node.left), value(node.right))
        raise ValueError(text)

    try:
        return value(ast.parse(text, mode="eval").body)
    except (ValueError, SyntaxError):
        return Unparsed(text)


def signature_params(obj: Any) -> list[Param]:
    return [Param(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]


# torch builtins that carry no docstring: their signatures as torch's documentation gives them
UNDOCUMENTED_TORCH = {
    "ctc_loss": (
        "ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False)"
    ),
    "log_softmax": "log_softmax(input, dim, dtype=None)",
    "binomial": "binomial(count, prob, generator=None)",
    "embedding_bag": (
        "embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False, "
        "per_sample_weights=None, include_last_offset=False, padding_idx=None)"
    ),
    "feature_dropout": "feature_dropout(input, p, train)",
    "native_batch_norm": "native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)",
    "native_layer_norm": "native_layer_norm(input, normalized_shape, weight, bias, eps)",
    "native_group_norm": "native_group_norm(input, weight, bias, N, C, HxW, group, eps)",
    "native_dropout": "native_dropout(input, p, train)",
    "native_norm": "native_norm(input, p=2)",
    "norm_except_dim": "norm_except_dim(v, pow=2, dim=0)",
    "embedding_renorm_": "embedding_renorm_(input, indices, max_norm, norm_type)",
    "convolution": "convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)",
    "grid_sampler_2d": "grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners)",
    "grid_sampler_3d": "grid_sampler_3d(input, grid, interpolation_mode, padding_mode, align_corners)",
    "conv_tbc": "conv_tbc(input, weight, bias, pad=0)",
    "is_anomaly_enabled": "is_anomaly_enabled()",
    "is_anomaly_check_nan_enabled": "is_anomaly_check_nan_enabled()",
    "set_anomaly_enabled": "set_anomaly_enabled(enabled, check_nan=True)",
    "lu": "lu(A, pivot=True, get_infos=False, out=None)",
    "masked_fill": "masked_fill(input, mask, value)",
    "relu": "relu(input)",
    "split_with_sizes": "split_with_sizes(input, split_sizes, dim=0)",
    "index_fill": "index_fill(input, dim, index, value)",
    "index_put": "index_put(input, indices, values, accumulate=False)",
    "masked_scatter": "masked_scatter(input, mask, source)",
    "put": "put(input, index, source, accumulate=False)",
    "is_same_size": "is_same_size(input, other)",
    "clamp_max": "clamp_max(input, max)",
    "clamp_min": "clamp_min(input, min)",
    "is_signed": "is_signed(input)",
    # a (*args, **kwargs) wrapper whose docstring does not start with the signature (torch's docs give it)
    "unique_consecutive": "unique_consecutive(input, return_inverse=False, return_counts=False, dim=None)",
    # torch's builtins of the top-level forms of F ops and in-place functions (from their ATen schemas;
    # max_pool*d's padding/dilation written as ints, same meaning; the losses' reduction=0: torch's Python
    # bindings leave them unreduced by default)
    "adaptive_max_pool1d": "adaptive_max_pool1d(input, output_size)",
    "affine_grid_generator": "affine_grid_generator(theta, size, align_corners)",
    "alpha_dropout": "alpha_dropout(input, p, train)",
    "batch_norm": "batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits(input, target, weight=None, "
    "pos_weight=None, reduction=0)",
    "celu": "celu(input, alpha=1.0)",
    "clamp_max_": "clamp_max_(input, max)",
    "clamp_min_": "clamp_min_(input, min)",
    "constant_pad_nd": "constant_pad_nd(input, pad, value=0)",
    "cosine_embedding_loss": "cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0)",
    "detach": "detach(input)",
    "dropout": "dropout(input, p, train)",
    "dropout_": "dropout_(input, p, train)",
    "embedding": "embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False)",
    "feature_alpha_dropout": "feature_alpha_dropout(input, p, train)",
    "fill": "fill(input, value)",
    "frobenius_norm": "frobenius_norm(input, dim, keepdim=False)",
    "grid_sampler": "grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)",
    "group_norm": "group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True)",
    "hinge_embedding_loss": "hinge_embedding_loss(input, target, margin=1.0, reduction=0)",
    "index_put_": "index_put_(input, indices, values, accumulate=False)",
    "instance_norm": "instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, "
    "cudnn_enabled)",
    "kl_div": "kl_div(input, target, reduction=0, *, log_target=False)",
    "layer_norm": "layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True)",
    "margin_ranking_loss": "margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0)",
    "max_pool1d": "max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False)",
    "max_pool2d": "max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False)",
    "max_pool3d": "max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False)",
    "nuclear_norm": "nuclear_norm(input, dim, keepdim=False)",
    "poisson_nll_loss": "poisson_nll_loss(input, target, log_input, full, eps, reduction)",
    "rms_norm": "rms_norm(input, normalized_shape, weight=None, eps=None)",
    "rrelu": "rrelu(input, lower=0.125, upper=0.3333333333333333, training=False, generator=None)",
    "rsub": "rsub(input, other, *, alpha=1)",
    "scalar_tensor": "scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=None)",
    "selu": "selu(input)",
    "threshold": "threshold(input, threshold, value)",
    "triplet_margin_loss": "triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-06, "
    "swap=False, reduction=0)",
    "zero_": "zero_(input)",
    "get_device": "get_device(input)",
    "resize_as_": "resize_as_(input, the_template, *, memory_format=None)",
    # the copy variants of view ops and the functional RNNs (minicnn/ops/copies.py, ops/rnn_functional.py):
    # ATen schemas, self written input; unsafe_split's docstring says split_size_or_sections, its binding split_size
    "alias_copy": "alias_copy(input)",
    "as_strided_copy": "as_strided_copy(input, size, stride, storage_offset=None)",
    "detach_copy": "detach_copy(input)",
    "diagonal_copy": "diagonal_copy(input, offset=0, dim1=0, dim2=1)",
    "expand_copy": "expand_copy(input, size, *, implicit=False)",
    "permute_copy": "permute_copy(input, dims)",
    "select_copy": "select_copy(input, dim, index)",
    "slice_copy": "slice_copy(input, dim=0, start=None, end=None, step=1)",
    "slice_inverse": "slice_inverse(input, src, dim=0, start=None, end=None, step=1)",
    "split_copy": "split_copy(input, split_size, dim=0)",
    "split_with_sizes_copy": "split_with_sizes_copy(input, split_sizes, dim=0)",
    "squeeze_copy": "squeeze_copy(input, dim=None)",
    "t_copy": "t_copy(input)",
    "transpose_copy": "transpose_copy(input, dim0, dim1)",
    "unbind_copy": "unbind_copy(input, dim=0)",
    "unfold_copy": "unfold_copy(input, dimension, size, step)",
    "unsqueeze_copy": "unsqueeze_copy(input, dim)",
    "view_copy": "view_copy(input, size)",
    "unsafe_split": "unsafe_split(tensor, split_size, dim=0)",
    "unsafe_split_with_sizes": "unsafe_split_with_sizes(input, split_sizes, dim=0)",
    "max_pool1d_with_indices": "max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, "
    "ceil_mode=False)",
    **{
        f"{kind}_cell": f"{kind}_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None)"
        for kind in ("lstm", "gru", "rnn_tanh", "rnn_relu")
    },
    **{
        kind: f"{kind}(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)"
        for kind in ("lstm", "gru", "rnn_tanh", "rnn_relu")
    },
}


def torch_params(obj: Any, name: str) -> list[Param]:
    """inspect's view of a torch callable; the doc line where inspect cannot see one, or sees
    only ``(*args, **kwargs)`` of a dispatch wrapper (F.max_pool2d) whose doc names the real ones."""
    try:
        params = signature_params(obj)
    except (ValueError, TypeError):
        return doc_params(name, UNDOCUMENTED_TORCH.get(name) or obj.__doc__)
    only_varargs = [p.kind for p in params] == [P.VAR_POSITIONAL, P.VAR_KEYWORD]
    if only_varargs and (obj.__doc__ or "").strip().startswith(f"{name}("):
        return doc_params(name, obj.__doc__)
    if only_varargs and name in UNDOCUMENTED_TORCH:
        return doc_params(name, UNDOCUMENTED_TORCH[name])
    if only_varargs and (obj.__doc__ or "").strip().startswith("__init__("):  # nn.RNN/LSTM/GRU: the documented one
        return doc_params("__init__", obj.__doc__)
    return params


def _same_default(ours: Any, theirs: Any) -> bool:
    if ours is EMPTY:
        return False
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return type(ours) is type(theirs) and ours == theirs
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        return ours == theirs
    return type(ours) is type(theirs) and ours == theirs


def differences(qualname: str, ours: list[Param], theirs: list[Param]) -> dict[tuple[str, str], str]:
    """(qualname, torch parameter) -> what differs, for a call written for torch."""
    out: dict[tuple[str, str], str] = {}
    by_name = {p.name: p for p in ours}
    our_positional = [p for p in ours if p.kind in POSITIONAL]
    matched: set[str] = set()
    index = 0
    skipped_positional = None
    for t in theirs:
        key = (qualname, t.key)
        if t.name in ABSENT_TORCH_PARAMS and t.name not in by_name:
            if t.kind in POSITIONAL:
                skipped_positional = t.name
            continue
        o: Param | None
        if t.kind in POSITIONAL:
            if skipped_positional is not None:
                out[key] = f"follows torch's positional {skipped_positional!r}, which minicnn lacks"
                continue
            o = our_positional[index] if index < len(our_positional) else None
            index += 1
            if o is None:
                out[key] = f"torch's positional parameter {index - 1} {t.name!r} is missing"
                continue
            matched.add(o.name)
            if t.kind == P.POSITIONAL_OR_KEYWORD and o.name != t.name:
                out[key] = f"positional parameter {index - 1} is named {o.name!r}, torch's is {t.name!r}"
                continue
            if t.kind == P.POSITIONAL_OR_KEYWORD and o.kind == P.POSITIONAL_ONLY:
                out[key] = f"{t.name!r} cannot be passed by keyword, as torch allows"
                continue
        elif t.kind == P.KEYWORD_ONLY:
            o = by_name.get(t.name)
            if o is None or o.kind not in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY):
                out[key] = f"keyword {t.name!r} is missing"
                continue
            matched.add(o.name)
        else:
            o = next((p for p in ours if p.kind == t.kind), None)
            if o is None:
                out[key] = f"{t.key} is missing"
                continue
            matched.add(o.name)
            if t.kind == P.VAR_POSITIONAL and ours.index(o) != index:
                out[key] = f"{o.key} comes after {ours.index(o)} positional parameters, torch's after {index}"
                continue
        if t.default is not EMPTY and not _same_default(o.default, t.default):
            shown = "none (required)" if o.default is EMPTY else repr(o.default)
            out[key] = f"default of {t.name!r} is {shown}, torch's is {t.default!r}"
    for o in ours:
        if o.name not in matched and o.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD) and o.default is EMPTY:
            out[(qualname, o.key)] = (
                f"minicnn-only parameter {o.name!r} has no default: a call written for torch misses it"
            )
    return out


# ---------------------------------------------------------------------------------------------
# What is compared.


def _public(module: Any) -> list[str]:
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    return sorted(names)


def _ours_in(module: Any, predicate: Any) -> list[str]:
    return [
        n
        for n in _public(module)
        if predicate(getattr(module, n)) and getattr(module, n).__module__.startswith("minicnn")
    ]


def cases() -> list[tuple[str, Any, Any, str]]:
    """(qualified name, our callable, torch's callable, torch's name) for everything compared."""
    out = []
    for name in _ours_in(F, inspect.isfunction):
        if hasattr(TF, name):
            out.append((f"F.{name}", getattr(F, name), getattr(TF, name), name))
    out.append(("F.flatten", F.flatten, torch.flatten, "flatten"))  # torch's functional API has none
    for name in _ours_in(mc.nn, inspect.isclass):
        if hasattr(torch.nn, name):
            out.append((f"nn.{name}", getattr(mc.nn, name), getattr(torch.nn, name), name))
    for mod, tmod, prefix in ((mc.nn.init, torch.nn.init, "nn.init"), (mc.nn.utils, torch.nn.utils, "nn.utils")):
        for name in _ours_in(mod, inspect.isfunction):
            # torch's deprecated nn.init.normal etc. are (*args, **kwargs) documented "normal(...)": test_api_gaps.py
            if hasattr(tmod, name) and not (getattr(tmod, name).__doc__ or "").strip().startswith(f"{name}(...)"):
                out.append((f"{prefix}.{name}", getattr(mod, name), getattr(tmod, name), name))
    for name in _ours_in(mc.optim, inspect.isclass):
        if hasattr(torch.optim, name):
            out.append((f"optim.{name}", getattr(mc.optim, name), getattr(torch.optim, name), name))
    for name in _ours_in(mc_sched, inspect.isclass):
        if hasattr(torch.optim.lr_scheduler, name) and name != "Optimizer":
            out.append((f"lr_scheduler.{name}", getattr(mc_sched, name), getattr(torch.optim.lr_scheduler, name), name))
    for name in ("grad", "backward"):
        out.append((f"autograd.{name}", getattr(mc.autograd, name), getattr(torch.autograd, name), name))
    for name in ("vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"):
        ours, theirs = getattr(mc.autograd.functional, name), getattr(torch.autograd.functional, name)
        out.append((f"autograd.functional.{name}", ours, theirs, name))
    for name in _public(mc):
        ours, theirs = getattr(mc, name), getattr(torch, name, None)
        if not callable(ours) or theirs is None or inspect.ismodule(theirs) or name in SKIPPED_TOP_LEVEL:
            continue
        out.append((f"mc.{name}", ours, theirs, name))
    return out


CASES = cases()


def test_the_comparison_covers_what_it_should():
    names = {c[0] for c in CASES}
    required = {f"F.{n}" for n in TF.__dict__ if n in F.__all__} | {
        "F.conv2d",
        "F.softmax",
        "F.pad",
        "F.mse_loss",
        "nn.CrossEntropyLoss",
        "nn.NLLLoss",
        "nn.MSELoss",
        "nn.Conv2d",
        "nn.BatchNorm2d",
        "optim.SGD",
        "optim.Adam",
        "lr_scheduler.StepLR",
        "lr_scheduler.ReduceLROnPlateau",
        "nn.init.kaiming_uniform_",
        "autograd.grad",
        "autograd.functional.hessian",
    }
    required |= {
        f"mc.{n}"
        for n in "where clamp exp log sqrt matmul maximum minimum from_numpy zeros_like ones_like empty_like "
        "full_like rand_like randn_like zeros ones randn rand randint arange tensor cat stack".split()
    }
    assert required <= names, sorted(required - names)


def test_signatures_match_torch():
    found: dict[tuple[str, str], str] = {}
    for qualname, ours, theirs, name in CASES:
        found.update(differences(qualname, signature_params(ours), torch_params(theirs, name)))
    accepted = {**DELIBERATE, **NOT_YET_MATCHED}
    unexpected = {k: v for k, v in found.items() if k not in accepted}
    stale = sorted(k for k in accepted if k not in found)
    report = "\n".join(f"  {q}({p}): {why}" for (q, p), why in sorted(unexpected.items()))
    assert not unexpected, f"{len(unexpected)} signature difference(s) from torch:\n{report}"
    assert not stale, f"listed as differences but now matching torch (remove them from the lists): {stale}"


def test_torch_modules_without_parameters_refuse_arguments():
    """Why TORCH_TAKES_NOTHING is accepted: torch's *args/**kwargs there take nothing."""
    for name in TORCH_TAKES_NOTHING:
        with pytest.raises(TypeError):
            getattr(torch.nn, name)(1)
        with pytest.raises(TypeError):
            getattr(torch.nn, name)(foo=1)


def test_the_checker_reports_differences():
    """The comparison itself: names, order, defaults, missing and extra parameters."""

    def torch_like(input, weight, bias=None, *, out=None, scale=1.0):
        pass

    ref = signature_params(torch_like)
    assert differences("f", signature_params(lambda input, weight, bias=None, scale=1.0, algo="x": 0), ref) == {}
    assert set(differences("f", signature_params(lambda x, weight, bias=None, scale=1.0: 0), ref)) == {("f", "input")}
    assert set(differences("f", signature_params(lambda input, bias=None, weight=None, scale=1.0: 0), ref)) == {
        ("f", "weight"),
        ("f", "bias"),
    }
    assert set(differences("f", signature_params(lambda input, weight, bias=0, scale=1.0: 0), ref)) == {("f", "bias")}
    assert set(differences("f", signature_params(lambda input, weight, bias=None: 0), ref)) == {("f", "scale")}
    extra = signature_params(lambda input, weight, bias=None, scale=1.0, *, need: 0)
    assert set(differences("f", extra, ref)) == {("f", "need")}
    assert (
        set(differences("f", signature_params(lambda input, weight, bias=None, scale=1.0, out=None: 0), ref)) == set()
    )
    assert doc_params("full_like", "full_like(input, fill_value, \\*, dtype=None, layout=torch.strided) -> T") == [
        Param("input", P.POSITIONAL_OR_KEYWORD),
        Param("fill_value", P.POSITIONAL_OR_KEYWORD),
        Param("dtype", P.KEYWORD_ONLY, None),
        Param("layout", P.KEYWORD_ONLY, Unparsed("torch.strided")),
    ]


# ---------------------------------------------------------------------------------------------
# Keyword calls with torch's names give torch's results.

RNG = np.random.default_rng(0)
X4 = RNG.standard_normal((2, 3, 6, 6))
W4 = RNG.standard_normal((4, 3, 3, 3))
B4 = RNG.standard_normal(4)


def _t(a: Any, lib: str) -> Any:
    if not isinstance(a, np.ndarray):
        return a
    return mc.tensor(a) if lib == "mc" else torch.tensor(a)


_POOLED2, _INDICES2 = (t.numpy() for t in TF.max_pool2d(torch.tensor(X4), 2, return_indices=True))
_POOLED1, _INDICES1 = (t.numpy() for t in TF.max_pool1d(torch.tensor(X4[:, :, 0]), 2, return_indices=True))
X5 = np.stack([X4, X4.transpose(0, 1, 3, 2), -X4, X4 * 0.5], axis=2)  # (2, 3, 4, 6, 6)
_POOLED3, _INDICES3 = (t.numpy() for t in TF.max_pool3d(torch.tensor(X5), 2, return_indices=True))

# name -> keyword arguments written for torch (arrays are converted for each library)
F_KEYWORD_CALLS = {
    "scaled_dot_product_attention": dict(
        query=RNG.standard_normal((2, 3, 4)),
        key=RNG.standard_normal((2, 5, 4)),
        value=RNG.standard_normal((2, 5, 6)),
        attn_mask=RNG.standard_normal((3, 5)),
        is_causal=False,
        scale=0.3,
    ),
    "multi_head_attention_forward": dict(
        query=RNG.standard_normal((3, 2, 4)),
        key=RNG.standard_normal((5, 2, 4)),
        value=RNG.standard_normal((5, 2, 4)),
        embed_dim_to_check=4,
        num_heads=2,
        in_proj_weight=RNG.standard_normal((12, 4)),
        in_proj_bias=RNG.standard_normal(12),
        bias_k=None,
        bias_v=None,
        add_zero_attn=False,
        dropout_p=0.0,
        out_proj_weight=RNG.standard_normal((4, 4)),
        out_proj_bias=RNG.standard_normal(4),
        training=False,
        need_weights=True,
        average_attn_weights=False,
    ),
    "ctc_loss": dict(
        log_probs=np.log(np.random.default_rng(4).dirichlet(np.ones(4), (6, 2))),
        targets=np.array([[1, 2, 2], [3, 1, 0]]),
        input_lengths=np.array([6, 5]),
        target_lengths=np.array([3, 2]),
        blank=0,
        reduction="sum",
        zero_infinity=False,
    ),
    "conv_tbc": dict(
        input=RNG.standard_normal((5, 2, 3)), weight=RNG.standard_normal((3, 3, 4)), bias=RNG.standard_normal(4), pad=1
    ),
    "linear_cross_entropy": dict(
        input=RNG.standard_normal((5, 3)),
        linear_weight=RNG.standard_normal((4, 3)),
        target=np.array([0, 3, 1, 2, 3]),
        linear_bias=RNG.standard_normal(4),
        weight=np.array([0.5, 1.0, 2.0, 1.5]),
        reduction="sum",
        ignore_index=1,
        label_smoothing=0.1,
        options=None,
    ),
    "native_channel_shuffle": dict(input=X4[:, :2].copy(), groups=2),
    "tanhshrink": dict(input=X4),
    "softshrink": dict(input=X4, lambd=0.3),
    "hardshrink": dict(input=X4, lambd=0.3),
    "pairwise_distance": dict(
        x1=RNG.standard_normal((4, 3)), x2=RNG.standard_normal((4, 3)), p=3.0, eps=1e-5, keepdim=True
    ),
    "upsample": dict(input=X4, size=None, scale_factor=2, mode="bilinear", align_corners=False),
    "upsample_nearest": dict(input=X4, size=(9, 7)),
    "upsample_bilinear": dict(input=X4, scale_factor=2),
    "binary_cross_entropy": dict(
        input=RNG.uniform(0.1, 0.9, (4, 3)), target=RNG.uniform(0, 1, (4, 3)), reduction="sum"
    ),
    "binary_cross_entropy_with_logits": dict(
        input=RNG.standard_normal((4, 3)), target=RNG.uniform(0, 1, (4, 3)), pos_weight=RNG.uniform(0.5, 2, 3)
    ),
    "l1_loss": dict(input=RNG.standard_normal((4, 3)), target=RNG.standard_normal((4, 3)), reduction="none"),
    "smooth_l1_loss": dict(input=RNG.standard_normal((4, 3)), target=RNG.standard_normal((4, 3)), beta=0.5),
    "huber_loss": dict(input=RNG.standard_normal((4, 3)), target=RNG.standard_normal((4, 3)), delta=0.7),
    "kl_div": dict(input=RNG.standard_normal((4, 3)), target=RNG.uniform(0, 1, (4, 3)), reduction="batchmean"),
    "cosine_similarity": dict(x1=RNG.standard_normal((4, 3)), x2=RNG.standard_normal((4, 3)), dim=1, eps=1e-6),
    "normalize": dict(input=RNG.standard_normal((4, 3)), p=3.0, dim=0, eps=1e-6),
    "layer_norm": dict(
        input=X4,
        normalized_shape=(6, 6),
        weight=RNG.standard_normal((6, 6)),
        bias=RNG.standard_normal((6, 6)),
        eps=1e-3,
    ),
    "group_norm": dict(input=X4, num_groups=3, weight=RNG.standard_normal(3), bias=RNG.standard_normal(3), eps=1e-3),
    "instance_norm": dict(
        input=X4,
        running_mean=RNG.standard_normal(3),
        running_var=RNG.uniform(0.5, 2, 3),
        weight=RNG.standard_normal(3),
        bias=RNG.standard_normal(3),
        use_input_stats=True,
        momentum=0.2,
        eps=1e-3,
    ),
    "one_hot": dict(input=np.array([[0, 3], [2, 1]]), num_classes=5),
    "pixel_shuffle": dict(input=RNG.standard_normal((2, 8, 3, 3)), upscale_factor=2),
    "pixel_unshuffle": dict(input=X4, downscale_factor=3),
    "channel_shuffle": dict(input=RNG.standard_normal((2, 6, 2, 2)), groups=3),
    "conv_transpose2d": dict(
        input=X4,
        weight=RNG.standard_normal((3, 2, 3, 3)),
        bias=None,
        stride=2,
        padding=1,
        output_padding=1,
        groups=1,
        dilation=1,
    ),
    "unfold": dict(input=X4, kernel_size=2, dilation=1, padding=1, stride=2),
    "fold": dict(
        input=RNG.standard_normal((2, 12, 9)), output_size=(4, 4), kernel_size=2, dilation=1, padding=0, stride=1
    ),
    "interpolate": dict(input=X4, size=None, scale_factor=1.5, mode="bilinear", align_corners=False),
    "conv1d": dict(input=X4[:, :, 0], weight=RNG.standard_normal((4, 3, 2)), bias=None, stride=1, padding=1),
    "max_pool1d": dict(input=X4[:, :, 0], kernel_size=2, stride=2, padding=1, ceil_mode=True),
    "avg_pool1d": dict(input=X4[:, :, 0], kernel_size=3, stride=1, padding=1, count_include_pad=False),
    "conv_transpose1d": dict(
        input=X4[:, :, 0],
        weight=RNG.standard_normal((3, 2, 3)),
        bias=None,
        stride=2,
        padding=1,
        output_padding=1,
        groups=1,
        dilation=1,
    ),
    "adaptive_avg_pool1d": dict(input=X4[:, :, 0], output_size=3),
    "adaptive_max_pool1d": dict(input=X4[:, :, 0], output_size=2, return_indices=False),
    "gelu": dict(input=X4, approximate="tanh"),
    "silu": dict(input=X4),
    "elu": dict(input=X4, alpha=0.5),
    "selu": dict(input=X4),
    "celu": dict(input=X4, alpha=2.0),
    "mish": dict(input=X4),
    "hardswish": dict(input=X4 * 3),
    "hardsigmoid": dict(input=X4 * 3),
    "hardtanh": dict(input=X4, min_val=-0.5, max_val=0.7),
    "logsigmoid": dict(input=X4),
    "softsign": dict(input=X4),
    "threshold": dict(input=X4, threshold=0.1, value=-2.0),
    "softmin": dict(input=X4, dim=1),
    "glu": dict(input=X4, dim=-1),
    "prelu": dict(input=X4, weight=np.array([0.1, 0.2, 0.3])),
    "leaky_relu_": dict(input=X4 - 0.2, negative_slope=0.2),
    "relu_": dict(input=X4 - 0.5),
    "softplus": dict(input=X4 * 10, beta=2.0, threshold=5.0),
    "conv2d": dict(input=X4, weight=W4, bias=B4, stride=1, padding=1, dilation=1, groups=1),
    "linear": dict(input=X4[:, 0, 0], weight=RNG.standard_normal((5, 6)), bias=RNG.standard_normal(5)),
    "avg_pool2d": dict(input=X4, kernel_size=2, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    "max_pool2d": dict(input=X4, kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True),
    "adaptive_avg_pool2d": dict(input=X4, output_size=(3, 2)),
    "adaptive_max_pool2d": dict(input=X4, output_size=4),
    "batch_norm": dict(
        input=X4,
        running_mean=RNG.standard_normal(3),
        running_var=RNG.uniform(0.5, 2, 3),
        weight=RNG.standard_normal(3),
        bias=RNG.standard_normal(3),
        training=False,
        momentum=0.1,
        eps=1e-3,
    ),
    "dropout": dict(input=X4, p=0.3, training=False),
    "dropout2d": dict(input=X4, p=0.3, training=False),
    "dropout1d": dict(input=X4[:, :, 0], p=0.3, training=False),
    "dropout3d": dict(input=X4[:, None], p=0.3, training=False, inplace=False),
    "alpha_dropout": dict(input=X4, p=0.3, training=False),
    "feature_alpha_dropout": dict(input=X4, p=0.3, training=False),
    "rrelu": dict(input=X4, lower=0.1, upper=0.3, training=False),
    "rrelu_": dict(input=X4 - 0.2, lower=0.1, upper=0.2, training=False),
    "elu_": dict(input=X4 - 0.2, alpha=0.5),
    "celu_": dict(input=X4 - 0.2, alpha=0.5),
    "selu_": dict(input=X4 - 0.2),
    "hardtanh_": dict(input=X4, min_val=-0.3, max_val=0.4),
    "threshold_": dict(input=X4, threshold=0.1, value=-2.0),
    "max_pool1d_with_indices": dict(input=X4[:, :, 0], kernel_size=2, stride=1, padding=1, ceil_mode=True),
    "max_pool2d_with_indices": dict(input=X4, kernel_size=2, stride=1, padding=1, dilation=1, return_indices=False),
    "adaptive_max_pool1d_with_indices": dict(input=X4[:, :, 0], output_size=3),
    "adaptive_max_pool2d_with_indices": dict(input=X4, output_size=(2, 3)),
    "max_unpool2d": dict(
        input=_POOLED2, indices=_INDICES2, kernel_size=2, stride=2, padding=0, output_size=list(X4.shape[-2:])
    ),
    "max_unpool1d": dict(input=_POOLED1, indices=_INDICES1, kernel_size=2, stride=None, padding=0, output_size=None),
    "lp_pool2d": dict(input=np.abs(X4) + 0.1, norm_type=2.0, kernel_size=2, stride=1, ceil_mode=False),
    "fractional_max_pool2d": dict(
        input=X4,
        kernel_size=2,
        output_size=None,
        output_ratio=(0.5, 0.5),
        return_indices=True,
        _random_samples=RNG.uniform(0, 1, (2, 3, 2)),
    ),
    "fractional_max_pool3d": dict(
        input=X5,
        kernel_size=2,
        output_size=(2, 3, 3),
        output_ratio=None,
        return_indices=False,
        _random_samples=RNG.uniform(0, 1, (2, 3, 3)),
    ),
    "lp_pool3d": dict(input=np.abs(X5) + 0.1, norm_type=3.0, kernel_size=2, stride=1, ceil_mode=True),
    "max_unpool3d": dict(
        input=_POOLED3, indices=_INDICES3, kernel_size=2, stride=2, padding=0, output_size=list(X5.shape[-3:])
    ),
    "embedding": dict(
        input=np.array([[0, 2], [1, 0]]),
        weight=RNG.standard_normal((3, 4)),
        padding_idx=1,
        max_norm=None,
        norm_type=2.0,
    ),
    "embedding_bag": dict(
        input=np.array([[0, 2], [1, 0]]),
        weight=RNG.standard_normal((3, 4)),
        mode="max",
        per_sample_weights=None,
        padding_idx=None,
    ),
    # the noise is random: logits 1000 apart make the sample certain (one-hot to exp(-900))
    "gumbel_softmax": dict(logits=np.array([[0.0, 1000.0, 0.0], [1000.0, 0.0, 0.0]]), tau=1.0, hard=True, dim=-1),
    "pdist": dict(input=RNG.standard_normal((4, 3)), p=1.5),
    "bilinear": dict(
        input1=RNG.standard_normal((2, 3)), input2=RNG.standard_normal((2, 4)), weight=RNG.standard_normal((5, 3, 4))
    ),
    "rms_norm": dict(input=X4, normalized_shape=(6, 6), weight=None, eps=1e-5),
    "margin_ranking_loss": dict(
        input1=X4[0, 0, 0], input2=X4[0, 0, 1], target=np.sign(X4[0, 0, 2]), margin=0.1, reduction="sum"
    ),
    "hinge_embedding_loss": dict(input=X4[0, 0], target=np.sign(X4[0, 1]), margin=0.5, reduction="mean"),
    "soft_margin_loss": dict(input=X4[0, 0], target=np.sign(X4[0, 1]), reduction="none"),
    "multilabel_soft_margin_loss": dict(input=X4[0, 0], target=(X4[0, 1] > 0) * 1.0, weight=None, reduction="mean"),
    "multi_margin_loss": dict(input=X4[0, 0], target=np.array([0, 2, 1, 5, 4, 3]), p=2, margin=0.5, weight=None),
    "multilabel_margin_loss": dict(input=X4[0, 0], target=np.array([[1, 3, -1, 0, 0, 0]] * 6), reduction="sum"),
    "triplet_margin_loss": dict(
        anchor=X4[0, 0], positive=X4[0, 1], negative=X4[0, 2], margin=0.5, p=1.0, eps=1e-6, swap=True
    ),
    "triplet_margin_with_distance_loss": dict(
        anchor=X4[0, 0], positive=X4[0, 1], negative=X4[0, 2], distance_function=None, margin=0.5, swap=True
    ),
    "cosine_embedding_loss": dict(
        input1=X4[0, 0], input2=X4[0, 1], target=np.sign(X4[0, 2, :, 0]), margin=0.1, reduction="mean"
    ),
    "poisson_nll_loss": dict(
        input=X4[0, 0], target=np.abs(X4[0, 1]), log_input=True, full=True, eps=1e-8, reduction="mean"
    ),
    "gaussian_nll_loss": dict(input=X4[0, 0], target=X4[0, 1], var=np.abs(X4[0, 2]) + 0.1, full=True, eps=1e-6),
    "conv3d": dict(
        input=X4[:, :, None], weight=RNG.standard_normal((4, 3, 1, 2, 2)), bias=None, stride=1, padding=1, groups=1
    ),
    "conv_transpose3d": dict(
        input=X4[:, :, None],
        weight=RNG.standard_normal((3, 2, 1, 2, 2)),
        bias=None,
        stride=2,
        padding=0,
        output_padding=1,
        groups=1,
        dilation=1,
    ),
    "max_pool3d": dict(input=X4[:, None], kernel_size=2, stride=1, padding=1, dilation=1, ceil_mode=True),
    "max_pool3d_with_indices": dict(input=X4[:, None], kernel_size=2, stride=2, padding=0, return_indices=False),
    "avg_pool3d": dict(input=X4[:, None], kernel_size=2, stride=1, padding=1, count_include_pad=False),
    "adaptive_avg_pool3d": dict(input=X4[:, None], output_size=(2, 3, 2)),
    "adaptive_max_pool3d": dict(input=X4[:, None], output_size=2, return_indices=False),
    "adaptive_max_pool3d_with_indices": dict(input=X4[:, None], output_size=(1, 2, 3)),
    "affine_grid": dict(theta=RNG.standard_normal((2, 2, 3)), size=[2, 3, 4, 5], align_corners=False),
    "grid_sample": dict(
        input=X4,
        grid=RNG.uniform(-1.2, 1.2, (2, 3, 4, 2)),
        mode="bilinear",
        padding_mode="reflection",
        align_corners=True,
    ),
    "lp_pool1d": dict(input=np.abs(X4[:, :, 0]) + 0.1, norm_type=3, kernel_size=2, stride=None, ceil_mode=True),
    "leaky_relu": dict(input=X4, negative_slope=0.2),
    "local_response_norm": dict(input=X4, size=3, alpha=1e-2, beta=0.7, k=2.0),
    "log_softmax": dict(input=X4, dim=1),
    "softmax": dict(input=X4, dim=-1),
    "pad": dict(input=X4, pad=(1, 2), mode="constant", value=1.5),
    "relu": dict(input=X4),
    "relu6": dict(input=X4 * 4),
    "sigmoid": dict(input=X4),
    "tanh": dict(input=X4),
    "cross_entropy": dict(
        input=X4[:, :, 0, 0], target=np.array([0, 2]), weight=RNG.uniform(0.5, 1, 3), reduction="sum"
    ),
    "nll_loss": dict(input=X4[:, :, 0, 0], target=np.array([1, 2]), ignore_index=2, reduction="mean"),
    "mse_loss": dict(input=X4, target=X4[::-1].copy(), reduction="sum"),
}


def test_every_functional_has_a_keyword_call():
    assert set(F_KEYWORD_CALLS) == {c[0][2:] for c in CASES if c[0].startswith("F.") and c[0] != "F.flatten"}


@pytest.mark.parametrize("name", sorted(F_KEYWORD_CALLS))
def test_functional_keyword_calls_match_torch(name):
    kw = F_KEYWORD_CALLS[name]
    with warnings.catch_warnings(record=True) as caught:  # the deprecated upsample*: both warn
        warnings.simplefilter("always")
        ours = getattr(F, name)(**{k: _t(v, "mc") for k, v in kw.items()})
        n_ours = len(caught)
        theirs = getattr(TF, name)(**{k: _t(v, "torch") for k, v in kw.items()})
    assert (n_ours > 0) == (len(caught) > n_ours), [str(w.message) for w in caught]
    for o, t in zip(*((r,) if isinstance(r, (mc.Tensor, torch.Tensor)) else r for r in (ours, theirs)), strict=True):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)


def test_flatten_keyword_call():
    x = mc.tensor(X4)
    assert F.flatten(input=x, start_dim=2).shape == torch.flatten(input=torch.tensor(X4), start_dim=2).shape


TOP_KEYWORD_CALLS = {
    "where": dict(condition=X4 > 0, input=X4, other=-X4),
    "clamp": dict(input=X4, min=-0.5, max=0.5),
    "exp": dict(input=X4),
    "log": dict(input=np.abs(X4) + 0.1),
    "sqrt": dict(input=np.abs(X4)),
    "matmul": dict(input=X4, other=X4.transpose(0, 1, 3, 2).copy()),
    "maximum": dict(input=X4, other=X4[:, :1]),
    "minimum": dict(input=X4, other=X4[:, :1]),
    "zeros_like": dict(input=X4),
    "ones_like": dict(input=X4, dtype="float32"),
    "full_like": dict(input=X4, fill_value=2.5),
}


@pytest.mark.parametrize("name", sorted(TOP_KEYWORD_CALLS))
def test_top_level_keyword_calls_match_torch(name):
    kw = TOP_KEYWORD_CALLS[name]
    ours = getattr(mc, name)(**{k: np.dtype(v) if k == "dtype" else _t(v, "mc") for k, v in kw.items()})
    theirs = getattr(torch, name)(**{k: getattr(torch, v) if k == "dtype" else _t(v, "torch") for k, v in kw.items()})
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_random_likes_and_from_numpy_take_torch_keywords():
    t = mc.tensor(X4)
    for fn in (mc.empty_like, mc.rand_like, mc.randn_like):
        out = fn(input=t, dtype=mc.float32, requires_grad=True)
        assert out.shape == t.shape and out.dtype == np.float32 and out.requires_grad
    a = np.zeros(3)
    shared = mc.from_numpy(ndarray=a)
    a[0] = 5.0
    assert shared.numpy()[0] == torch.from_numpy(a)[0].item() == 5.0  # torch's builtin refuses the keyword


# ---------------------------------------------------------------------------------------------
# F.pad's value=None, softmax's dtype and _stacklevel.


def test_pad_value_none_means_zero_as_torch():
    x = RNG.standard_normal((2, 3))
    for kw in (dict(value=None), dict(mode="constant", value=None), {}):
        ours = F.pad(mc.tensor(x), (1, 2, 0, 1), **kw)
        np.testing.assert_array_equal(ours.numpy(), TF.pad(torch.tensor(x), (1, 2, 0, 1), **kw).numpy())


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5),
    data=st.data(),
    log=st.booleans(),
    to64=st.booleans(),
    seed=st.integers(0, 999),
)
def test_softmax_dtype_matches_torch(shape, data, log, to64, seed):
    """dtype casts the input before the op; the gradient comes back in the input's dtype."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    src, dst = (np.float32, np.float64) if to64 else (np.float64, np.float32)
    x = (np.random.default_rng(seed).standard_normal(shape) * 3).astype(src)
    name = "log_softmax" if log else "softmax"
    mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours = getattr(F, name)(mx, dim=dim, dtype=np.dtype(dst))
    theirs = getattr(TF, name)(tx, dim=dim, dtype=getattr(torch, np.dtype(dst).name))
    assert ours.dtype == dst and theirs.dtype == getattr(torch, np.dtype(dst).name)
    tol = dict(rtol=1e-5, atol=1e-6) if dst == np.float32 or src == np.float32 else dict(rtol=1e-10)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), **tol)
    g = np.random.default_rng(seed + 1).standard_normal(shape).astype(dst)
    (ours * mc.tensor(g)).sum().backward()
    (theirs * torch.tensor(g)).sum().backward()
    assert mx.grad.dtype == src
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), **tol)


def test_softmax_dtype_positionally_and_gradcheck():
    x = RNG.standard_normal((3, 4))
    for name in ("softmax", "log_softmax"):
        ours = getattr(F, name)(mc.tensor(x.astype(np.float32)), 1, 3, mc.float64)  # torch's positions
        theirs = getattr(TF, name)(torch.tensor(x.astype(np.float32)), 1, 3, torch.float64)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
        xt = mc.tensor(x, requires_grad=True)
        assert mc.gradcheck(lambda a, name=name: getattr(F, name)(a, dim=0, dtype=mc.float64), [xt])


def test_softmax_implicit_dim_warning_points_where_torchs_does():
    x = RNG.standard_normal((2, 3))
    for name in ("softmax", "log_softmax"):
        for kw in ({}, dict(_stacklevel=1)):
            with warnings.catch_warnings(record=True) as ours:
                warnings.simplefilter("always")
                getattr(F, name)(mc.tensor(x), **kw)
            with warnings.catch_warnings(record=True) as theirs:
                warnings.simplefilter("always")
                getattr(TF, name)(torch.tensor(x), **kw)
            assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
            at_caller = [w.filename == __file__ for w in ours]
            assert at_caller == [w.filename == __file__ for w in theirs] == [not kw]


# ---------------------------------------------------------------------------------------------
# Losses: torch's deprecated size_average/reduce and 'elementwise_mean'.

LEGACY = list(itertools.product([None, True, False], [None, True, False], ["mean", "sum", "none"]))


def _run_recording(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[tuple[type, str]]]:
    """fn(*args, **kwargs) and the warnings it gave, as (category, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [(w.category, str(w.message)) for w in caught]


def _loss_inputs(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(7)
    if name == "mse_loss":
        return rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), None
    x = rng.standard_normal((5, 4))
    if name == "nll_loss":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    return x, rng.integers(0, 4, 5), rng.uniform(0.5, 2, 4)


def _legacy_call(lib: str, name: str, size_average: Any, reduce: Any, reduction: str, positional: bool) -> Any:
    """The loss with the legacy arguments in torch's positions, or as keywords."""
    x, target, weight = _loss_inputs(name)
    fn = getattr(F if lib == "mc" else TF, name)
    xt = _t(x, lib).requires_grad_(True)
    tt = _t(target, lib)
    legacy = dict(size_average=size_average, reduce=reduce, reduction=reduction)
    if name == "mse_loss":
        loss = fn(xt, tt, size_average, reduce, reduction) if positional else fn(xt, tt, **legacy)
    elif positional:
        loss = fn(xt, tt, _t(weight, lib), size_average, -100, reduce, reduction)
    else:
        loss = fn(xt, tt, weight=_t(weight, lib), **legacy)
    loss.sum().backward()
    return loss, xt.grad


@pytest.mark.parametrize("positional", [True, False])
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "mse_loss"])
def test_legacy_size_average_and_reduce_match_torch(name, positional):
    for size_average, reduce, reduction in LEGACY:
        settings = (name, size_average, reduce, reduction, positional)
        (ours, our_grad), our_warnings = _run_recording(_legacy_call, "mc", *settings)
        (theirs, their_grad), their_warnings = _run_recording(_legacy_call, "torch", *settings)
        case = f"{name}(size_average={size_average}, reduce={reduce}, reduction={reduction!r})"
        assert ours.shape == tuple(theirs.shape), case
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, err_msg=case)
        np.testing.assert_allclose(our_grad.numpy(), their_grad.numpy(), rtol=1e-10, err_msg=case)
        assert our_warnings == their_warnings, case


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss", "MSELoss"])
def test_loss_modules_take_legacy_arguments_like_torch(name):
    fname = {"CrossEntropyLoss": "cross_entropy", "NLLLoss": "nll_loss", "MSELoss": "mse_loss"}[name]
    x, target, weight = _loss_inputs(fname)
    for size_average, reduce, reduction in LEGACY:
        if name == "MSELoss":
            our_args = their_args = (size_average, reduce, reduction)
        else:  # weight, size_average, ignore_index, reduce, reduction: torch's positions
            our_args = (mc.tensor(weight), size_average, 1, reduce, reduction)
            their_args = (torch.tensor(weight), size_average, 1, reduce, reduction)
        ours, our_warnings = _run_recording(getattr(mc.nn, name), *our_args)
        theirs, their_warnings = _run_recording(getattr(torch.nn, name), *their_args)
        case = f"{name}(size_average={size_average}, reduce={reduce}, reduction={reduction!r})"
        assert ours.reduction == theirs.reduction and our_warnings == their_warnings, case
        np.testing.assert_allclose(
            ours(mc.tensor(x), mc.tensor(target)).numpy(),
            theirs(torch.tensor(x), torch.tensor(target)).numpy(),
            rtol=1e-10,
            err_msg=case,
        )


def test_legacy_warning_points_at_the_caller():
    with pytest.warns(UserWarning, match=r"please use reduction='sum' instead\.") as record:
        F.mse_loss(mc.zeros(2), mc.zeros(2), size_average=False)
        mc.nn.NLLLoss(reduce=True, size_average=False)
    assert [w.filename for w in record] == [__file__, __file__]


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "mse_loss"])
def test_elementwise_mean_is_torchs_deprecated_mean(name):
    x, target, _ = _loss_inputs(name)
    ours, our_warnings = _run_recording(
        lambda: getattr(F, name)(mc.tensor(x), mc.tensor(target), reduction="elementwise_mean")
    )
    theirs, their_warnings = _run_recording(
        lambda: getattr(TF, name)(torch.tensor(x), torch.tensor(target), reduction="elementwise_mean")
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    assert our_warnings == their_warnings and len(our_warnings) == 1, our_warnings


def test_weighted_mse_refuses_elementwise_mean_like_torch():
    x = np.ones((2, 2))
    with pytest.raises(ValueError):
        TF.mse_loss(torch.tensor(x), torch.tensor(x), reduction="elementwise_mean", weight=torch.tensor(x))
    with pytest.raises(ValueError, match="mse_loss.*elementwise_mean"):
        F.mse_loss(mc.tensor(x), mc.tensor(x), reduction="elementwise_mean", weight=mc.tensor(x))


# ---------------------------------------------------------------------------------------------
# mse_loss's weight (torch 2.14).


@SETTINGS
@given(
    shapes=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4).flatmap(
        lambda s: st.tuples(st.just(s), broadcastable_shapes(s, min_dims=0, max_dims=3, min_side=1, max_side=4))
    ),
    target_first=st.booleans(),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 999),
)
def test_weighted_mse_loss_matches_torch(shapes, target_first, reduction, dtype, seed):
    """weight has the input's shape; the target broadcasts with it either way round (a
    weight smaller than the broadcast loss is broadcast too)."""
    big, small = shapes
    in_shape, target_shape = (small, big) if target_first else (big, small)
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(in_shape), rng.standard_normal(target_shape), rng.uniform(0.1, 2.0, in_shape)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # differing shapes warn, in both
        compare_with_torch(
            lambda x, t, w: F.mse_loss(x, t, reduction=reduction, weight=w),
            lambda x, t, w: TF.mse_loss(x, t, reduction=reduction, weight=w),
            arrays,
            dtype=dtype,
            seed=seed,
            # d mean / d weight = (sq - mean) / sum(w) cancels: in float32 it is exact only to
            # about 1e-7 * sum(sq) / sum(w), not to the default atol
            atol=1e-3 if dtype == np.float32 else None,
        )


def test_weighted_mse_loss_positionally_and_gradcheck():
    rng = np.random.default_rng(5)
    x, t, w = rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), rng.uniform(0.1, 2, (3, 2))
    ours = F.mse_loss(mc.tensor(x), mc.tensor(t), None, None, "mean", mc.tensor(w))  # torch's positions
    theirs = TF.mse_loss(torch.tensor(x), torch.tensor(t), None, None, "mean", torch.tensor(w))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    for reduction in ("mean", "sum", "none"):
        inputs = [mc.tensor(a, requires_grad=True) for a in (x, t, w)]
        assert mc.gradcheck(lambda a, b, c, r=reduction: F.mse_loss(a, b, reduction=r, weight=c), inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        inputs = [mc.tensor(a, requires_grad=True) for a in (x[:, :1], t[:1], w[:, :1])]  # (3,1) vs (1,2)
        assert mc.gradcheck(lambda a, b, c: F.mse_loss(a, b, weight=c), inputs)


def test_weighted_mse_loss_edge_cases_match_torch():
    x, t = np.ones((2, 3)), np.zeros((2, 3))
    with pytest.raises(ValueError, match="same size"):
        TF.mse_loss(torch.tensor(x), torch.tensor(t), weight=torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"mse_loss.*weight.*\(3,\).*\(2, 3\)"):
        F.mse_loss(mc.tensor(x), mc.tensor(t), weight=mc.ones(3, dtype=mc.float64))
    zero = np.zeros((2, 3))  # all weights 0: 'mean' is 0/0 = nan in both
    ours = F.mse_loss(mc.tensor(x), mc.tensor(t), weight=mc.tensor(zero))
    theirs = TF.mse_loss(torch.tensor(x), torch.tensor(t), weight=torch.tensor(zero))
    assert np.isnan(ours.item()) and np.isnan(theirs.item())
    w32 = np.full((2, 3), 0.5, np.float32)  # a float64 weight on float32 input promotes, as torch
    for xs, ws in ((x.astype(np.float32), w32.astype(np.float64)), (x.astype(np.float32), w32)):
        ours = F.mse_loss(mc.tensor(xs), mc.tensor(t.astype(np.float32)), weight=mc.tensor(ws), reduction="sum")
        theirs = TF.mse_loss(
            torch.tensor(xs), torch.tensor(t.astype(np.float32)), weight=torch.tensor(ws), reduction="sum"
        )
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
        np.testing.assert_allclose(ours.item(), theirs.item())


# ---------------------------------------------------------------------------------------------
# In-place activations (torch's relu_, relu6's hardtanh_, leaky_relu_).

INPLACE = {
    "relu": dict(),
    "relu6": dict(),
    "leaky_relu": dict(negative_slope=0.3),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_activation_writes_into_the_input_like_torch(name):
    x = RNG.standard_normal((3, 4)) * 8
    m, t = mc.tensor(x), torch.tensor(x)
    m_out = getattr(F, name)(m, inplace=True, **INPLACE[name])
    t_out = getattr(TF, name)(t, inplace=True, **INPLACE[name])
    assert m_out is m and t_out is t
    np.testing.assert_array_equal(m.numpy(), t.numpy())
    view = mc.tensor(x)  # positionally, through a view: the base sees the write
    if name == "leaky_relu":
        F.leaky_relu(view[1], 0.3, True)
    else:
        getattr(F, name)(view[1], True)
    np.testing.assert_array_equal(view.numpy()[1], t.numpy()[1])
    np.testing.assert_array_equal(view.numpy()[0], x[0])


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_activation_gradients_match_torch(name):
    x = RNG.standard_normal((3, 4)) * 8
    g = RNG.standard_normal((3, 4))

    def run(lib):
        leaf = _t(x, lib).requires_grad_(True)
        f = F if lib == "mc" else TF
        y = leaf * 2.0
        out = getattr(f, name)(y, inplace=True, **INPLACE[name])
        (out * _t(g, lib)).sum().backward()
        return y, leaf.grad

    (my, mg), (ty, tg) = run("mc"), run("torch")
    np.testing.assert_array_equal(my.detach().numpy(), ty.detach().numpy())
    np.testing.assert_allclose(mg.numpy(), tg.numpy(), rtol=1e-12)
    for f, lib in ((F, "mc"), (TF, "torch")):
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(f, name)(_t(x, lib).requires_grad_(True), inplace=True)


# ---------------------------------------------------------------------------------------------
# Factory defaults.


def test_factory_defaults_match_torch():
    assert mc.randint(0, 10, (3,), dtype=None).dtype == np.int64  # was float64
    assert torch.randint(0, 10, (3,), dtype=None).dtype == torch.int64
    for kw in (dict(high=10, size=(4,)), dict(low=3, high=4, size=(2,))):
        ours, theirs = mc.randint(**kw), torch.randint(**kw)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == np.int64 and 0 <= ours.numpy().min()
    assert (mc.randint(low=3, high=4, size=(2,)).numpy() == 3).all()
    with pytest.raises(TypeError):
        mc.randint(high=10)
    np.testing.assert_array_equal(mc.arange(end=5).numpy(), torch.arange(end=5).numpy())
    ours, theirs = mc.arange(0.0, 2.0, 0.5, requires_grad=True), torch.arange(0.0, 2.0, 0.5, requires_grad=True)
    assert ours.requires_grad and theirs.requires_grad and ours.dtype == np.float32
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())


FORWARD_CONTAINERS = {"Container", "Module", "ModuleDict", "ModuleList", "ParameterDict", "ParameterList"}
# abstract bases whose forward torch leaves unimplemented (Module's ``*input``); ours hold the
# forward their subclasses share, compared through RNN/LSTM/GRU and the cells
FORWARD_CONTAINERS |= {"RNNBase", "RNNCellBase"}


def test_module_forward_arguments_are_torchs():
    """``layer(input=...)`` works as in torch: every module's forward has torch's parameter
    names, order and defaults (the containers, whose forward is never called, aside)."""
    differences = {}
    for name in sorted(mc.nn.__all__):
        ours, theirs = getattr(mc.nn, name), getattr(torch.nn, name, None)
        if theirs is None or not hasattr(ours, "forward") or name in FORWARD_CONTAINERS:
            continue
        o = [(p.name, p.default) for p in list(inspect.signature(ours.forward).parameters.values())[1:]]
        t = [(p.name, p.default) for p in list(inspect.signature(theirs.forward).parameters.values())[1:]]
        if [n for n, _ in o] != [n for n, _ in t] or [_plain(d) for _, d in o] != [_plain(d) for _, d in t]:
            differences[name] = (o, t)
    assert not differences, differences


def _plain(default: Any) -> Any:
    return None if default is inspect.Parameter.empty else default
