"""Differential fuzzer (seeded, trimmed) of attention and the transformer layers against torch.

Each case draws one of: ``F.scaled_dot_product_attention`` (bool / float masks of broadcastable or
misfit shapes, fully masked rows, ``is_causal`` with L != S, ``scale``, ``enable_gqa``, a float32 mask
for a float64 query, a mask that requires grad), ``nn.MultiheadAttention`` (heads, bias, add_bias_kv,
add_zero_attn, kdim / vdim, batch_first, key_padding_mask and attn_mask 2-d / 3-d bool / float,
need_weights, average_attn_weights, is_causal with a causal mask, batched and unbatched, self-attention
with one tensor object or three, key is value) and ``nn.TransformerEncoderLayer`` /
``TransformerDecoderLayer`` / ``TransformerEncoder`` / ``Transformer`` (activation relu / gelu / a
callable, norm_first, batch_first, bias, layer_norm_eps, masks, ``generate_square_subsequent_mask``).
Both libraries build the layer with the same parameters (torch's state dict loaded into minicnn's), in
eval mode or train mode with dropout 0, and run it at float64 (sometimes float32); compared: outputs and
attention weights, gradients of the inputs and of every parameter, state-dict keys, and exceptions
(type; both raise or neither). Some eval cases run under no_grad, where torch takes its inference fast
path (only where that path gives the same numbers; see ``run_attention``).

The full fuzzer runs thousands of cases; here a few dozen, so the file takes seconds.
A failure names the seed: ``run_attention(seed)`` replays it.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from conftest import attempt, error_names, finite_scale, same_builtin_error, tensors_differ

import minicnn as mc


@dataclass
class Case:
    """One drawn program: ``make(lib)`` builds the module (None: a function), ``call(lib, module, leaves)``
    runs it on the float input leaves made from ``inputs`` (masks are closed over as arrays)."""

    family: str
    make: Callable[[Any], Any] | None
    inputs: list[np.ndarray]
    call: Callable[[Any, Any, list[Any]], Any]
    train: bool = False
    no_grad: bool = False
    note: dict[str, Any] = field(default_factory=dict)


def flip(r: random.Random, p: float = 0.5) -> bool:
    return r.random() < p


def tensor(lib: Any, a: np.ndarray | None, grad: bool = False) -> Any:
    """``a`` as a tensor of ``lib`` (None stays None)."""
    if a is None:
        return None
    return torch.tensor(a, requires_grad=grad) if lib is torch else mc.tensor(a.copy(), requires_grad=grad)


def float_mask(r: random.Random, rs: np.random.RandomState, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Random additive mask, some entries -inf (all of them, now and then)."""
    m = rs.randn(*shape).astype(dtype)
    m[rs.rand(*shape) < r.choice([0.0, 0.3, 0.6, 1.0])] = -np.inf
    return m


def bool_mask(r: random.Random, rs: np.random.RandomState, shape: tuple[int, ...]) -> np.ndarray:
    return rs.rand(*shape) < r.choice([0.0, 0.3, 0.6, 1.0])


def causal(length: int, source: int, kind: str, dtype: str) -> np.ndarray:
    """torch's causal mask (top-left aligned) as MultiheadAttention takes it: True / -inf above the diagonal."""
    above = np.triu(np.ones((length, source), dtype=bool), 1)
    return above if kind == "bool" else np.where(above, -np.inf, 0.0).astype(dtype)


def mha_mask(r: random.Random, rs: np.random.RandomState, shape: tuple[int, ...], kind: str, dtype: str) -> Any:
    """A mask in MultiheadAttention's convention (True / -inf = masked out) of ``kind`` bool / float; now
    and then one of another dtype (an integer mask, or float32 for a float64 layer: errors)."""
    if flip(r, 0.03):
        return rs.randint(0, 2, shape) if flip(r) else float_mask(r, rs, shape, "float32")
    return bool_mask(r, rs, shape) if kind == "bool" else float_mask(r, rs, shape, dtype)


# -- scaled_dot_product_attention -----------------------------------------------------------------
def draw_sdpa(r: random.Random, rs: np.random.RandomState, dtype: str) -> Case:
    lead = r.choice([(), (2,), (1,), (2, 3), (3, 1)])
    L, S = r.choice([0, 1, 2, 3, 4]) if flip(r, 0.9) else 0, r.choice([1, 2, 3, 4]) if flip(r, 0.93) else 0
    E, Ev = r.randint(1, 4), r.randint(1, 4)
    gqa = lead and flip(r, 0.25)
    hk = lead[-1] if lead else 1
    hq = hk * r.choice([1, 2]) if gqa else hk
    q_lead = (*lead[:-1], hq) if lead else ()
    k_lead = lead if not lead or flip(r, 0.8) else (*((1,) * (len(lead) - 1)), lead[-1])  # broadcast batch
    # misfit sizes; not with an empty query or key, where torch returns an empty result before checking anything
    # (and leaves the mask out of the graph)
    misfit = L > 0 and S > 0 and flip(r, 0.1)
    if misfit and flip(r):
        k_lead = (*k_lead, 1)  # one more leading dim: broadcasts or not
    q, k = rs.randn(*q_lead, L, E), rs.randn(*k_lead, S, E + (misfit and flip(r, 0.4)))
    v = rs.randn(*k_lead, S, Ev)  # (not longer or shorter than key: torch 2.14 runs that unchecked, into garbage)
    kw: dict[str, Any] = {"dropout_p": 0.0}
    if flip(r, 0.3):
        kw["scale"] = r.choice([0.5, 1.7, 1e-3, 0.0])
    if gqa:
        kw["enable_gqa"] = True
    mask = None
    kind = r.choice(["none", "bool", "float", "float", "causal"])
    if kind == "causal":
        kw["is_causal"] = True
        if flip(r, 0.1):
            kind = "bool"  # is_causal with a mask: an error
    if kind in ("bool", "float"):
        lead_qk = q_lead if len(k_lead) <= len(q_lead) else k_lead
        full = (*lead_qk, L, S) if not misfit or flip(r) else (L + 1, S)
        shape = tuple(1 if flip(r, 0.3) else d for d in full[r.randint(0, len(full) - 2) :])
        if kind == "bool":
            mask = bool_mask(r, rs, shape)  # (sdpa: True = takes part)
            mask = ~mask if flip(r, 0.5) else mask
        else:
            mask = float_mask(r, rs, shape, "float32" if dtype == "float64" and flip(r, 0.2) else dtype)
    mask_grad = mask is not None and mask.dtype == dtype and L > 0 and S > 0 and flip(r, 0.2)
    inputs = [q.astype(dtype), k.astype(dtype), v.astype(dtype)] + ([mask] if mask_grad else [])

    def call(lib: Any, mod: Any, xs: list[Any]) -> Any:
        m = xs[3] if mask_grad else tensor(lib, mask)
        return lib.nn.functional.scaled_dot_product_attention(xs[0], xs[1], xs[2], m, **kw)

    return Case(f"sdpa {kind} {kw}", None, inputs, call)


# -- nn.MultiheadAttention ------------------------------------------------------------------------
def draw_mha(r: random.Random, rs: np.random.RandomState, dtype: str) -> Case:
    heads, hd = r.choice([1, 2, 2, 3]), r.randint(1, 3)
    E = heads * hd if flip(r, 0.97) else heads * hd + 1
    ctor = dict(
        embed_dim=E,
        num_heads=heads,
        bias=flip(r, 0.8),
        add_bias_kv=flip(r, 0.2),
        add_zero_attn=flip(r, 0.2),
        batch_first=flip(r),
        dropout=r.choice([0.0, 0.0, 0.3]),
    )
    if flip(r, 0.25):
        ctor["kdim"], ctor["vdim"] = r.choice([E, 1, 3]), r.choice([E, 2, 4])
    kdim, vdim = ctor.get("kdim", E), ctor.get("vdim", E)
    train = flip(r, 0.4) and not ctor["dropout"]
    no_grad = not train and flip(r, 0.3)
    batched = flip(r, 0.8)
    N, L = r.randint(0 if flip(r, 0.05) else 1, 3), r.randint(0 if flip(r, 0.05) else 1, 4)
    S = L if flip(r, 0.5) else r.randint(0 if flip(r, 0.05) else 1, 4)
    # 0: three tensors, 1: query is key is value, 2: key is value
    sharing = r.choice([0, 1, 1, 2]) if kdim == vdim else 0
    if sharing == 1 and (kdim != E or S != L):
        sharing = 0

    def seq(length: int, d: int) -> np.ndarray:
        shape = ((N, length, d) if ctor["batch_first"] else (length, N, d)) if batched else (length, d)
        return rs.randn(*shape).astype(dtype)

    inputs = (
        [seq(L, E)]
        if sharing == 1
        else [seq(L, E), seq(S, kdim)]
        if sharing == 2
        else [seq(L, E), seq(S, kdim), seq(S, vdim)]
    )
    kw: dict[str, Any] = {"need_weights": flip(r, 0.6), "average_attn_weights": flip(r, 0.6)}
    kinds = ["bool", "float"]
    kpm = am = None
    if flip(r, 0.4):
        kpm = mha_mask(r, rs, (N, S) if batched else (S,), r.choice(kinds), dtype)
    if flip(r, 0.5):
        kind = r.choice(kinds) if kpm is None or flip(r, 0.2) else ("bool" if kpm.dtype == bool else "float")
        # is_causal: a hint that attn_mask is causal; torch then drops the mask and asks sdpa for its causal
        # mask, which also hides the bias_k / zero columns the mask would have let through (an artefact of
        # the hint: minicnn applies the mask given, as torch does without the hint)
        if flip(r, 0.2) and not ctor["add_bias_kv"] and not ctor["add_zero_attn"]:
            am, kw["is_causal"] = causal(L, S, kind, dtype), True
        else:
            am = mha_mask(r, rs, (N * heads, L, S) if flip(r, 0.3) else (L, S), kind, dtype)
    elif flip(r, 0.03):
        kw["is_causal"] = True  # without a mask: an error
    if flip(r, 0.03) and kpm is not None:
        kpm = kpm[..., :-1]  # misshapen

    def call(lib: Any, mod: Any, xs: list[Any]) -> Any:
        q, k, v = (xs[0], xs[0], xs[0]) if sharing == 1 else (xs[0], xs[1], xs[1]) if sharing == 2 else xs
        return mod(q, k, v, key_padding_mask=tensor(lib, kpm), attn_mask=tensor(lib, am), **kw)

    def make(lib: Any) -> Any:
        return lib.nn.MultiheadAttention(**ctor)

    f32 = dtype == "float64" and any(m is not None and m.dtype == np.float32 for m in (kpm, am))
    family = f"MHA {ctor} {'batched' if batched else 'unbatched'} sharing={sharing} kpm={kpm is not None}"
    family += f" am={None if am is None else (am.dtype, am.shape)} {kw}"
    return Case(family, make, inputs, call, train=train, no_grad=no_grad, note={"float32_mask": f32})


def draw_mha_functional(r: random.Random, rs: np.random.RandomState, dtype: str) -> Case:
    """``F.multi_head_attention_forward`` with every weight a leaf: separate projection weights, static_k /
    static_v, bias_k / bias_v, add_zero_attn, training with dropout_p 0."""
    H, hd = r.choice([1, 2, 3]), r.randint(1, 3)
    E = H * hd
    separate = flip(r, 0.4)
    kd, vd = (r.randint(1, 4), r.randint(1, 4)) if separate else (E, E)
    batched = flip(r, 0.8)
    N, L = r.randint(1, 3), r.randint(1, 3)
    S = L if flip(r) else r.randint(1, 3)
    shared = not separate and S == L and flip(r)

    def seq(length: int, dim: int) -> np.ndarray:
        return rs.randn(*((length, N, dim) if batched else (length, dim)))

    names = ["query"] if shared else ["query", "key", "value"]
    arrays = [seq(L, E)] if shared else [seq(L, E), seq(S, kd), seq(S, vd)]
    params: dict[str, Any] = {}
    if separate:
        params |= {"q_proj_weight": rs.randn(E, E), "k_proj_weight": rs.randn(E, kd), "v_proj_weight": rs.randn(E, vd)}
    else:
        params["in_proj_weight"] = rs.randn(3 * E, E)
    params["in_proj_bias"] = rs.randn(3 * E) if flip(r, 0.7) else None
    kv_bias = flip(r, 0.25)
    params["bias_k"] = rs.randn(1, 1, E) if kv_bias or flip(r, 0.03) else None
    params["bias_v"] = rs.randn(1, 1, E) if kv_bias else None
    params["out_proj_weight"] = rs.randn(E, E)
    params["out_proj_bias"] = rs.randn(E) if flip(r, 0.7) else None
    s_eff = S
    if flip(r, 0.2) and not kv_bias:
        s_eff = r.randint(1, 3)
        params["static_k"] = rs.randn(N * H if batched else H, s_eff, hd)
        params["static_v"] = rs.randn(N * H if batched else H, s_eff, hd)
    given = [k for k, v in params.items() if v is not None]
    names += given
    arrays += [params[k] for k in given]
    kw: dict[str, Any] = dict(
        add_zero_attn=flip(r, 0.2),
        dropout_p=0.0,
        training=flip(r),
        need_weights=flip(r, 0.6),
        average_attn_weights=flip(r),
        use_separate_proj_weight=separate,
    )
    kpm = am = None
    if flip(r, 0.4):
        kpm = mha_mask(r, rs, (N, s_eff) if batched else (s_eff,), r.choice(["bool", "float"]), dtype)
    if flip(r, 0.4):
        am = mha_mask(r, rs, (L, S), "bool" if kpm is None or kpm.dtype == bool else "float", dtype)

    def call(lib: Any, mod: Any, xs: list[Any]) -> Any:
        got = dict(zip(names, xs))
        q = got.pop("query")
        k, v = (q, q) if shared else (got.pop("key"), got.pop("value"))
        args = {n: got.get(n) for n in ("in_proj_weight", "in_proj_bias", "bias_k", "bias_v")}
        return lib.nn.functional.multi_head_attention_forward(
            q, k, v, E, H, *args.values(), kw["add_zero_attn"], 0.0, got["out_proj_weight"], got.get("out_proj_bias"),
            training=kw["training"], key_padding_mask=tensor(lib, kpm), need_weights=kw["need_weights"],
            attn_mask=tensor(lib, am), use_separate_proj_weight=separate, q_proj_weight=got.get("q_proj_weight"),
            k_proj_weight=got.get("k_proj_weight"), v_proj_weight=got.get("v_proj_weight"),
            static_k=got.get("static_k"), static_v=got.get("static_v"),
            average_attn_weights=kw["average_attn_weights"],
        )  # fmt: skip

    family = f"F.mha E={E} H={H} {'batched' if batched else 'unbatched'} shared={shared} leaves={names} {kw}"
    family += f" kpm={None if kpm is None else (kpm.dtype, kpm.shape)}"
    family += f" am={None if am is None else (am.dtype, am.shape)}"
    inputs = [a.astype(dtype) for a in arrays]
    f32 = dtype == "float64" and any(m is not None and m.dtype == np.float32 for m in (kpm, am))
    return Case(family, None, inputs, call, note={"float32_mask": f32})


# -- transformer layers ---------------------------------------------------------------------------
def activation(lib: Any, name: str) -> Any:
    if name == "relu_fn":
        return lib.nn.functional.relu
    if name == "tanh":
        return lambda x: lib.tanh(x)
    return name


def draw_transformer(r: random.Random, rs: np.random.RandomState, dtype: str) -> Case:
    kinds = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder"]
    kind = r.choice([*kinds, "Transformer"])
    nhead, hd = r.choice([1, 2]), r.randint(1, 3)
    d = nhead * hd
    act = r.choice(["relu", "gelu", "relu_fn", "tanh"])
    dropout = r.choice([0.0, 0.1])
    train = dropout == 0.0 and flip(r, 0.4)
    no_grad = not train and flip(r, 0.3)
    layer = dict(
        d_model=d,
        nhead=nhead,
        dim_feedforward=r.randint(1, 5),
        dropout=dropout,
        layer_norm_eps=r.choice([1e-5, 0.1]),
        batch_first=flip(r),
        norm_first=flip(r),
        bias=flip(r, 0.8),
    )
    batched = flip(r, 0.8)
    N, S, T = r.randint(1, 3), r.randint(1, 4), r.randint(1, 4)

    def seq(length: int) -> np.ndarray:
        shape = ((N, length, d) if layer["batch_first"] else (length, N, d)) if batched else (length, d)
        return rs.randn(*shape).astype(dtype)

    def masks(length: int, source: int, prefix: str, square: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        mk = r.choice(["bool", "float"])
        if flip(r, 0.4):
            out[f"{prefix}_key_padding_mask"] = mha_mask(r, rs, (N, source) if batched else (source,), mk, dtype)
        if flip(r, 0.5):
            if square and flip(r, 0.5):
                out[f"{prefix}_mask"] = "causal"
                if flip(r, 0.5):
                    out[f"{prefix}_is_causal"] = True
            else:
                out[f"{prefix}_mask"] = mha_mask(r, rs, (length, source), mk, dtype)
        return out

    ffn_act = act
    if kind == "TransformerEncoderLayer":
        inputs = [seq(S)]
        m = masks(S, S, "src", True)
        args = {"src_mask": m.get("src_mask"), "src_key_padding_mask": m.get("src_key_padding_mask")}
        args["is_causal"] = m.get("src_is_causal", False)
    elif kind in ("TransformerDecoderLayer", "TransformerDecoder"):
        inputs = [seq(T), seq(S)]
        m = {**masks(T, T, "tgt", True), **masks(T, S, "memory", False)}
        args = {k: m.get(k) for k in ("tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask")}
        args["tgt_is_causal"] = m.get("tgt_is_causal", False if kind.endswith("Layer") else None)
    elif kind == "TransformerEncoder":
        inputs = [seq(S)]
        m = masks(S, S, "src", True)
        args = {"mask": m.get("src_mask"), "src_key_padding_mask": m.get("src_key_padding_mask")}
        args["is_causal"] = m.get("src_is_causal")
    else:
        inputs = [seq(S), seq(T)]
        m = {**masks(S, S, "src", True), **masks(T, T, "tgt", True), **masks(T, S, "memory", False)}
        args = {k: m.get(k) for k in ("src_mask", "tgt_mask", "memory_mask")}
        args |= {k: m.get(k) for k in ("src_key_padding_mask", "tgt_key_padding_mask", "memory_key_padding_mask")}
        args |= {"src_is_causal": m.get("src_is_causal"), "tgt_is_causal": m.get("tgt_is_causal")}
    layers, dec_layers, with_norm = r.randint(1, 2), r.randint(1, 2), flip(r)
    seq_dim = 1 if layer["batch_first"] and batched else 0

    def make(lib: Any) -> Any:
        kw = {**layer, "activation": activation(lib, ffn_act)}
        if kind == "Transformer":
            return lib.nn.Transformer(num_encoder_layers=layers, num_decoder_layers=dec_layers, **kw)
        if kind == "TransformerEncoder":
            norm = lib.nn.LayerNorm(d) if with_norm else None
            return lib.nn.TransformerEncoder(
                lib.nn.TransformerEncoderLayer(**kw), layers, norm=norm, enable_nested_tensor=False
            )
        if kind == "TransformerDecoder":
            norm = lib.nn.LayerNorm(d) if with_norm else None
            return lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(**kw), layers, norm=norm)
        return getattr(lib.nn, kind)(**kw)

    def call(lib: Any, mod: Any, xs: list[Any]) -> Any:
        kw = {}
        for k, v in args.items():
            if isinstance(v, str):  # "causal": the library's own square mask
                tgt = -1 if kind == "Transformer" and k == "tgt_mask" else 0  # (Transformer's inputs: src, tgt)
                size = xs[tgt].shape[seq_dim]
                v = lib.nn.Transformer.generate_square_subsequent_mask(size, dtype=getattr(lib, dtype))
            elif isinstance(v, np.ndarray):
                v = tensor(lib, v)
            kw[k] = v
        return mod(*xs, **kw)

    family = f"{kind} {layer} act={act} layers={layers} norm={with_norm} {'batched' if batched else 'unbatched'}"
    shown = {k: (v.dtype, v.shape) if isinstance(v, np.ndarray) else v for k, v in args.items()}
    family += f" masks={shown}"
    return Case(family, make, inputs, call, train=train, no_grad=no_grad)


FAMILIES = [draw_sdpa, draw_mha, draw_mha_functional, draw_mha, draw_transformer, draw_transformer]


# -- runner ---------------------------------------------------------------------------------------
def outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def differ(a: Any, b: Any, rtol: float) -> str | None:
    """:func:`tensors_differ` with an absolute tolerance scaled by the largest finite value."""
    return tensors_differ(a, b, rtol, lambda x: rtol * finite_scale(x))


def same_error(t: Exception | None, m: Exception | None) -> bool:
    """:func:`same_builtin_error`, where torch's assert (its MultiheadAttention checks sizes and dtypes
    with assert) is minicnn's ValueError or TypeError."""
    if isinstance(t, AssertionError) and m is not None:
        return isinstance(m, (ValueError, TypeError))
    return same_builtin_error(t, m)


def draw(seed: int) -> tuple[Case, str]:
    r, rs = random.Random(seed), np.random.RandomState(seed % 2**32)
    dtype = "float32" if flip(r, 0.15) else "float64"
    return FAMILIES[seed % len(FAMILIES)](r, rs, dtype), dtype


def build(lib: Any, case: Case, dtype: str) -> Any:
    if case.make is None:
        return None
    mod = case.make(lib)
    return getattr(mod, "double" if dtype == "float64" else "float")().train(case.train)


def run_attention(seed: int) -> str | None:
    """One random attention program; None if torch and minicnn agree, else what differs."""
    case, dtype = draw(seed)
    where = f"seed {seed} {case.family} inputs {[a.shape for a in case.inputs]} {dtype}"
    where += " train" if case.train else " no_grad" if case.no_grad else ""
    tol = 1e-7 if dtype == "float64" else 1e-3
    tm, terr = attempt(lambda: build(torch, case, dtype))
    mm, merr = attempt(lambda: build(mc, case, dtype))
    if terr or merr:
        return None if same_error(terr, merr) else f"{where}: construction {error_names(terr, merr)}"
    if tm is not None:
        ts = tm.state_dict()
        if list(ts) != list(mm.state_dict()):
            return f"{where}: state dict keys {list(ts)} vs {list(mm.state_dict())}"
        mm.load_state_dict(OrderedDict((k, mc.tensor(v.detach().numpy().copy())) for k, v in ts.items()))
    grad = not case.no_grad
    tx = [tensor(torch, a, grad) for a in case.inputs]
    mx = [tensor(mc, a, grad) for a in case.inputs]
    with torch.set_grad_enabled(grad):
        tout, terr = attempt(lambda: outputs(case.call(torch, tm, tx)))
    with mc.set_grad_enabled(grad):
        mout, merr = attempt(lambda: outputs(case.call(mc, mm, mx)))
    if not grad and merr is None and (terr or any(map(differ, tout, mout, [tol] * len(mout)))):
        # torch's inference fast path (eval, no_grad) gives NaN in every row of a batch entry with a row whose
        # keys are all masked (float -inf), where its ordinary path (and minicnn) gives numbers, and its nested
        # tensors (Transformer's encoder, enable_nested_tensor by default) fail on a batch entry with every key
        # masked: compare with the ordinary path, which is what the layer computes
        tout, terr = attempt(lambda: outputs(case.call(torch, tm, [x.requires_grad_() for x in tx])))
    if case.note.get("float32_mask") and isinstance(terr, RuntimeError) and merr is None:
        return None  # torch's weights path (need_weights) refuses a float32 mask its sdpa path takes: minicnn takes it
    if "cannot reshape tensor of 0 elements" in str(terr) and merr is None:
        return None  # torch's MultiheadAttention reshapes with -1 and fails on an empty batch: minicnn's gives empties
    if terr or merr:
        return None if same_error(terr, merr) else f"{where}: forward {error_names(terr, merr)}"
    if len(tout) != len(mout):
        return f"{where}: {len(tout)} outputs vs {len(mout)}"
    for i, (a, b) in enumerate(zip(tout, mout)):
        if differ(a, b, tol):
            return f"{where}: output {i} {differ(a, b, tol)}"
    if not grad:
        return None
    rs = np.random.RandomState(seed % 2**32 + 1)
    ws = [None if a is None else rs.randn(*a.shape).astype(dtype) for a in tout]
    tloss = sum((a * torch.tensor(w)).sum() for a, w in zip(tout, ws) if a is not None)
    mloss = sum((b * mc.tensor(w)).sum() for b, w in zip(mout, ws) if b is not None)
    _, terr = attempt(lambda: tloss.backward())
    _, merr = attempt(lambda: mloss.backward())
    if not same_error(terr, merr):
        return f"{where}: backward {error_names(terr, merr)}"
    for i, (a, b) in enumerate(zip(tx, mx)):
        if differ(a.grad, b.grad, tol):
            return f"{where}: input {i} grad {differ(a.grad, b.grad, tol)}"
    if tm is not None:
        mp = dict(mm.named_parameters())
        for n, p in tm.named_parameters():
            if differ(p.grad, mp[n].grad, tol):
                return f"{where}: {n}.grad {differ(p.grad, mp[n].grad, tol)}"
    return None


def test_fuzz_attention_like_torch():
    failures = [(seed, run_attention(seed)) for seed in range(80)]
    assert [f for f in failures if f[1]] == []
