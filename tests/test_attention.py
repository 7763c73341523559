"""scaled_dot_product_attention, multi_head_attention_forward / nn.MultiheadAttention and the
Transformer layers against torch (float64): outputs, weights, every gradient, state dicts,
reprs, init, masks (bool / float, causal, padding, fully masked rows) and errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn.activation import GELU
from minicnn.nn.attention import MultiheadAttention
from minicnn.nn.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from minicnn.ops.activation import gelu
from minicnn.ops.attention import multi_head_attention_forward, scaled_dot_product_attention

SDPA_KW = ("dropout_p", "is_causal", "scale", "enable_gqa")


# -- scaled_dot_product_attention ------------------------------------------------------------
def _sdpa_both(mask_kind: str, **kw):
    """(minicnn fn, torch fn) of (q, k, v[, mask])."""

    def ours(q, k, v, *m):
        return scaled_dot_product_attention(q, k, v, m[0] if m else None, **kw)

    def theirs(q, k, v, *m):
        return TF.scaled_dot_product_attention(q, k, v, m[0] if m else None, **kw)

    return ours, theirs


@settings(max_examples=40, deadline=None)
@given(
    lead=st.lists(st.integers(1, 2), min_size=0, max_size=2),
    heads=st.integers(1, 2),
    gqa=st.integers(1, 2),
    ls=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    dims=st.tuples(st.integers(1, 4), st.integers(1, 3)),
    mask_kind=st.sampled_from(["none", "bool", "bool_full", "float", "float_inf", "causal"]),
    scale=st.sampled_from([None, 0.7]),
    seed=st.integers(0, 2**16),
)
def test_sdpa_matches_torch(lead, heads, gqa, ls, dims, mask_kind, scale, seed):
    rng = np.random.default_rng(seed)
    (L, S), (E, Ev) = ls, dims
    hq = heads * gqa
    q = rng.standard_normal((*lead, hq, L, E))
    k = rng.standard_normal((*lead, heads, S, E))
    v = rng.standard_normal((*lead, heads, S, Ev))
    arrays = [q, k, v]
    if mask_kind == "bool":  # (L, S) broadcast; some rows fully masked
        arrays.append(rng.random((L, S)) < 0.6)
    elif mask_kind == "bool_full":
        arrays.append(rng.random((*lead, hq, L, S)) < 0.6)
    elif mask_kind == "float":
        arrays.append(rng.standard_normal((L, S)))
    elif mask_kind == "float_inf":  # -inf entries, rows of -inf too
        arrays.append(np.where(rng.random((L, S)) < 0.4, -np.inf, rng.standard_normal((L, S))))
    kw = dict(is_causal=mask_kind == "causal", scale=scale, enable_gqa=gqa > 1)
    ours, theirs = _sdpa_both(mask_kind, **kw)
    compare_with_torch(ours, theirs, arrays, rtol=1e-9, atol=1e-10, seed=seed)


def test_sdpa_fully_masked_rows_give_zeros_like_torch():
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    m = np.ones((3, 5), dtype=bool)
    m[1] = False
    ours, theirs = _sdpa_both("bool")
    compare_with_torch(ours, theirs, [q, k, v, m])
    out = ours(*(mc.tensor(a) for a in (q, k, v, m))).numpy()
    assert np.all(out[:, 1] == 0) and np.isfinite(out).all()


def test_sdpa_unbatched_and_broadcast_batch_dims():
    rng = np.random.default_rng(1)
    ours, theirs = _sdpa_both("none")
    compare_with_torch(
        ours, theirs, [rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))]
    )
    arrays = [rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((1, 3, 5, 4)), rng.standard_normal((1, 1, 5, 2))]
    compare_with_torch(ours, theirs, arrays)


def test_sdpa_causal_is_top_left_aligned_when_lengths_differ():
    rng = np.random.default_rng(2)
    for L, S in ((4, 2), (2, 4)):
        ours, theirs = _sdpa_both("causal", is_causal=True)
        compare_with_torch(
            ours, theirs, [rng.standard_normal((L, 3)), rng.standard_normal((S, 3)), rng.standard_normal((S, 2))]
        )


def test_sdpa_gradcheck_and_double_backward():
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 3))
    fm = rng.standard_normal((3, 4))
    ts = [mc.tensor(a, requires_grad=True) for a in (q, k, v, fm)]
    assert mc.gradcheck(lambda *t: scaled_dot_product_attention(*t), ts)
    bm = mc.tensor(rng.random((3, 4)) < 0.7)
    assert mc.gradgradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, bm, scale=0.5), ts[:3])
    ours, theirs = _sdpa_both("float")
    double_backward_like_torch(ours, theirs, [q, k, v, fm], rtol=1e-8, atol=1e-10)
    ours, theirs = _sdpa_both("causal", is_causal=True)
    double_backward_like_torch(ours, theirs, [q, k, v], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("device", devices())
def test_sdpa_on_device(device):
    rng = np.random.default_rng(4)
    ours, theirs = _sdpa_both("bool")
    arrays = [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))]
    compare_with_torch(ours, theirs, [*arrays, rng.random((3, 5)) < 0.6], dtype=np.float32, device=device)


def test_sdpa_dropout_scales_the_kept_weights():
    mc.manual_seed(0)
    rng = np.random.default_rng(5)
    L, S, p = 400, 6, 0.3
    q, k = mc.tensor(rng.standard_normal((L, 4))), mc.tensor(rng.standard_normal((S, 4)))
    eye = mc.tensor(np.eye(S))  # value = identity: the output is the (dropped) weight matrix
    w = scaled_dot_product_attention(q, k, eye).numpy()
    dropped = scaled_dot_product_attention(q, k, eye, dropout_p=p).numpy()
    kept = dropped != 0
    assert abs(kept.mean() - (1 - p)) < 6 * np.sqrt(p * (1 - p) / kept.size)
    np.testing.assert_allclose(dropped[kept], w[kept] / (1 - p), rtol=1e-12)


def test_sdpa_errors():
    q = mc.randn(2, 3, 4)
    with pytest.raises(ValueError, match="is_causal"):
        scaled_dot_product_attention(q, q, q, mc.ones(3, 3).bool(), is_causal=True)
    with pytest.raises(ValueError, match=r"key \(\.\.\., S, E\)"):
        scaled_dot_product_attention(q, mc.randn(2, 3, 5), q)
    with pytest.raises(TypeError, match="dtype"):
        scaled_dot_product_attention(q, q, q.double())
    with pytest.raises(ValueError, match="divide"):
        scaled_dot_product_attention(mc.randn(1, 3, 2, 4), mc.randn(1, 2, 2, 4), mc.randn(1, 2, 2, 4), enable_gqa=True)
    with pytest.raises(TypeError):  # scale and enable_gqa are keyword-only, as torch's
        scaled_dot_product_attention(q, q, q, None, 0.0, False, 0.5)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: .*attn_mask"):
        scaled_dot_product_attention(q, q, q, mc.ones(4, 3).bool())  # (4, 3) does not broadcast to (3, 3)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: the batch dims"):
        scaled_dot_product_attention(mc.randn(1, 3, 2, 4), mc.randn(1, 2, 2, 4), mc.randn(1, 2, 2, 4))
    with pytest.raises(TypeError, match="attn_mask"):
        scaled_dot_product_attention(q, q, q, mc.ones(3, 3).long())


def test_sdpa_errors_are_torchs_runtime_error_too():
    """torch raises RuntimeError for misfit sizes and dtypes: minicnn's errors are that and ValueError /
    TypeError (found by tests/test_fuzz_attention.py). A value longer or shorter than the key is one too
    here; torch 2.14's CPU kernel runs it unchecked and returns garbage."""
    q = mc.randn(2, 3, 4, dtype=mc.float64)
    cases = [
        (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(x, x, x, x[0, :, :3] > 0, is_causal=True)),
        (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(x, x[..., :3], x)),
        (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(x, x, x.float())),
        (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(x, x, x, x[0, :, :3].long())),
        (lambda lib, x: lib.nn.functional.scaled_dot_product_attention(x[:1], x, x, x[0, :2, :3] > 0)),
    ]
    for fn in cases:
        with pytest.raises(RuntimeError):
            fn(torch, torch.tensor(q.numpy()))
        with pytest.raises(RuntimeError):
            fn(mc, q)
    with pytest.raises(RuntimeError, match="value"):
        mc.nn.functional.scaled_dot_product_attention(q, q, mc.cat([q, q], 1))


def test_sdpa_takes_a_float32_mask_for_any_query_dtype_like_torch():
    """torch accepts a bool mask, a mask of the query's dtype, or a float32 one (added in the
    query's dtype); the gradient reaches the float32 mask in its own dtype."""
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 2)])
    m = rng.standard_normal((3, 5)).astype(np.float32)
    for dtype in (np.float64, np.float16):
        ours = [mc.tensor(a.astype(dtype), requires_grad=True) for a in (q, k, v)]
        theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in (q, k, v)]
        mm, tm = mc.tensor(m, requires_grad=True), torch.tensor(m, requires_grad=True)
        a = scaled_dot_product_attention(*ours, mm)
        b = TF.scaled_dot_product_attention(*theirs, tm)
        assert a.dtype == dtype
        tol = 1e-12 if dtype == np.float64 else 2e-3
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)
        if dtype == np.float64:
            a.sum().backward(), b.sum().backward()
            assert mm.grad.dtype == np.float32
            np.testing.assert_allclose(mm.grad.numpy(), tm.grad.numpy(), rtol=1e-5, atol=1e-6)


# -- MultiheadAttention --------------------------------------------------------------------
def _load(ours, theirs) -> None:
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _assert_state_like_torch(ours, theirs) -> None:
    """State-dict keys and shapes, and the repr, equal torch's (a stack of layers prints as
    torch's ModuleList: identical children once, as "(0-1): 2 x ...")."""
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    assert repr(ours) == repr(theirs)


def _grads_like_torch(ours, theirs, mine, refs, tol=1e-9) -> None:
    """Parameter gradients by name and input gradients, relative to the largest of each."""
    tg = {k: p.grad for k, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        if tg[name] is None:
            assert p.grad is None or not np.any(p.grad.numpy()), name
            continue
        ref = tg[name].numpy()
        np.testing.assert_allclose(p.grad.numpy(), ref, rtol=0, atol=tol * max(1.0, np.abs(ref).max()), err_msg=name)
    for i, (m, t) in enumerate(zip(mine, refs)):
        ref = t.grad.numpy()
        np.testing.assert_allclose(
            m.grad.numpy(), ref, rtol=0, atol=tol * max(1.0, np.abs(ref).max()), err_msg=f"input {i}"
        )


def _mask(rng, shape, kind):
    """A bool (True = masked out) or float mask of ``shape`` whose last-dim entry 0 stays open."""
    if kind == "none":
        return None
    if kind == "bool":
        m = rng.random(shape) < 0.4
        m[..., 0] = False
        return m
    return rng.standard_normal(shape)


@settings(max_examples=30, deadline=None)
@given(
    heads=st.integers(1, 2),
    head_dim=st.integers(1, 3),
    lsn=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2)),
    batched=st.booleans(),
    batch_first=st.booleans(),
    kvdims=st.sampled_from([(None, None), (3, 2)]),
    bias=st.booleans(),
    add_bias_kv=st.booleans(),
    add_zero_attn=st.booleans(),
    mask_kind=st.sampled_from(["none", "bool", "float"]),
    attn_3d=st.booleans(),
    use_kpm=st.booleans(),
    need_weights=st.booleans(),
    average=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_multihead_attention_matches_torch(
    heads, head_dim, lsn, batched, batch_first, kvdims, bias, add_bias_kv, add_zero_attn, mask_kind, attn_3d, use_kpm,
    need_weights, average, seed,
):  # fmt: skip
    rng = np.random.default_rng(seed)
    L, S, N = lsn
    E = heads * head_dim
    kdim, vdim = kvdims
    kw = dict(
        bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, kdim=kdim, vdim=vdim, batch_first=batch_first
    )
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(E, heads, **kw).double()
    ours = MultiheadAttention(E, heads, dtype=np.float64, **kw)
    _assert_state_like_torch(ours, theirs)
    _load(ours, theirs)
    if add_bias_kv:  # torch's init draws bias_k / bias_v; give them values
        with torch.no_grad():
            theirs.bias_k.normal_()
            theirs.bias_v.normal_()
        _load(ours, theirs)

    def layout(length, dim):
        if not batched:
            return (length, dim)
        return (N, length, dim) if batch_first else (length, N, dim)

    arrays = [rng.standard_normal(layout(L, E)), rng.standard_normal(layout(S, kdim or E))]
    arrays.append(rng.standard_normal(layout(S, vdim or E)))
    attn_shape = (N * heads if batched else heads, L, S) if attn_3d else (L, S)
    masks = dict(attn_mask=_mask(rng, attn_shape, mask_kind))
    masks["key_padding_mask"] = _mask(rng, (N, S) if batched else (S,), mask_kind) if use_kpm else None
    mine = [mc.tensor(a, requires_grad=True) for a in arrays]
    refs = [torch.tensor(a, requires_grad=True) for a in arrays]
    settings_ = dict(need_weights=need_weights, average_attn_weights=average)
    a, aw = ours(*mine, **{k: None if m is None else mc.tensor(m) for k, m in masks.items()}, **settings_)
    b, bw = theirs(*refs, **{k: None if m is None else torch.tensor(m) for k, m in masks.items()}, **settings_)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-11)
    if need_weights:
        np.testing.assert_allclose(aw.numpy(), bw.detach().numpy(), rtol=1e-9, atol=1e-11)
    else:
        assert aw is None and bw is None
    g = rng.standard_normal(b.shape)
    (a * mc.tensor(g)).sum().backward()
    (b * torch.tensor(g)).sum().backward()
    _grads_like_torch(ours, theirs, mine, refs)


def test_multihead_attention_fully_masked_rows_like_torch():
    """need_weights=False (torch's sdpa path): zeros; need_weights=True: NaN, as torch."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(4, 2).double()
    ours = MultiheadAttention(4, 2, dtype=np.float64)
    _load(ours, theirs)
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    m = np.zeros((3, 3), dtype=bool)
    m[1] = True
    for need in (False, True):
        a = ours(*[mc.tensor(x)] * 3, attn_mask=mc.tensor(m), need_weights=need)[0].numpy()
        b = theirs(*[torch.tensor(x)] * 3, attn_mask=torch.tensor(m), need_weights=need)[0].detach().numpy()
        assert np.isnan(b[1]).all() == need
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_multi_head_attention_forward_gradcheck():
    rng = np.random.default_rng(6)
    E, H = 4, 2
    ts = [mc.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 1, E), (3, 1, E), (3 * E, E), (E, E)]]
    bias = mc.tensor(rng.standard_normal(3 * E))
    kpm = mc.tensor(np.array([[False, True, False]]))

    def fn(x, mem, w_in, w_out):
        return multi_head_attention_forward(
            x, mem, mem, E, H, w_in, bias, None, None, False, 0.0, w_out, None, key_padding_mask=kpm
        )[0]

    assert mc.gradcheck(fn, ts)


def test_multi_head_attention_forward_gradgradcheck():
    rng = np.random.default_rng(7)
    E, H = 4, 2
    ts = [mc.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 1, E), (3, 1, E), (3 * E, E), (E, E)]]
    bias = mc.tensor(rng.standard_normal(3 * E))
    kpm = mc.tensor(np.array([[False, True, False]]))
    for need_weights in (True, False):

        def fn(x, mem, w_in, w_out, need=need_weights):
            out, w = multi_head_attention_forward(
                x, mem, mem, E, H, w_in, bias, None, None, False, 0.0, w_out, None, key_padding_mask=kpm,
                need_weights=need,
            )  # fmt: skip
            return out if w is None else out.sum() + (w * w).sum()

        assert mc.gradgradcheck(fn, ts)


def test_mismatched_mask_types_warn_like_torch():
    mha, theirs = MultiheadAttention(4, 2).double(), torch.nn.MultiheadAttention(4, 2).double()
    _load(mha, theirs)
    x = np.random.default_rng(8).standard_normal((3, 2, 4))
    kpm = np.array([[False, False, True], [False, False, False]])
    mask = np.triu(np.full((3, 3), -1e9), 1)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        a = mha(*[mc.tensor(x)] * 3, key_padding_mask=mc.tensor(kpm), attn_mask=mc.tensor(mask))[0]
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        b = theirs(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(mask))[0]
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_multihead_attention_init_and_errors():
    mc.manual_seed(0)
    m = MultiheadAttention(8, 2, add_bias_kv=True)
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform_ of (3E, E)
    w = m.in_proj_weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert not m.in_proj_bias.numpy().any() and not m.out_proj.bias.numpy().any()
    assert m.bias_k.numpy().any() and m.bias_k.shape == (1, 1, 8)
    with pytest.raises(ValueError, match="divisible"):
        MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="greater than 0"):
        MultiheadAttention(0, 2)
    x = mc.randn(3, 2, 8)
    with pytest.raises(ValueError, match="2D attn_mask"):
        m(x, x, x, attn_mask=mc.zeros(3, 4))
    with pytest.raises(ValueError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match="batch size"):
        m(x, mc.randn(3, 1, 8), mc.randn(3, 1, 8))


def test_multihead_attention_mask_errors_and_dtypes_like_torch():
    """A misshapen attn_mask and is_causal without a mask are RuntimeErrors in torch (and ValueErrors here);
    an integer mask is refused; a float32 mask for a float64 layer is taken (cast), as torch's sdpa path
    (need_weights=False) takes it (found by tests/test_fuzz_attention.py)."""
    mha, theirs = MultiheadAttention(4, 2).double(), torch.nn.MultiheadAttention(4, 2).double()
    _load(mha, theirs)
    x = np.random.default_rng(9).standard_normal((3, 2, 4))
    for lib, m in ((mc, mha), (torch, theirs)):
        t = lib.tensor(x)
        with pytest.raises(RuntimeError, match="2D attn_mask"):
            m(t, t, t, attn_mask=lib.zeros(3, 4, dtype=lib.float64))
        with pytest.raises(RuntimeError, match="3D attn_mask"):
            m(t, t, t, attn_mask=lib.zeros(3, 3, 3, dtype=lib.float64))
        with pytest.raises(RuntimeError, match="is_causal"):
            m(t, t, t, is_causal=True, need_weights=False)
    with pytest.raises(TypeError, match="attn_mask must be bool or floating"):
        mha(*[mc.tensor(x)] * 3, attn_mask=mc.zeros(3, 3, dtype=mc.int64))
    mask = np.random.default_rng(10).standard_normal((3, 3)).astype(np.float32)
    kpm = np.array([[0.0, -np.inf, 0.0], [0.0, 0.0, -1.5]], dtype=np.float32)
    a = mha(*[mc.tensor(x)] * 3, attn_mask=mc.tensor(mask), key_padding_mask=mc.tensor(kpm), need_weights=False)[0]
    t_masks = dict(attn_mask=torch.tensor(mask), key_padding_mask=torch.tensor(kpm))
    b = theirs(*[torch.tensor(x)] * 3, need_weights=False, **t_masks)[0]
    assert a.dtype == mc.float64
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


# -- Transformer layers ----------------------------------------------------------------------
def _transformer_pair(kind: str, activation, norm_first: bool, batch_first: bool, dropout: float):
    kw = dict(dim_feedforward=6, dropout=dropout, norm_first=norm_first, batch_first=batch_first)
    t_act = {"relu": "relu", "gelu": "gelu", "callable": TF.gelu, "module": torch.nn.GELU()}[activation]
    m_act = {"relu": "relu", "gelu": "gelu", "callable": gelu, "module": GELU()}[activation]
    if kind == "encoder":
        theirs = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(4, 2, activation=t_act, **kw),
            2,
            norm=torch.nn.LayerNorm(4),
            enable_nested_tensor=False,
        )
        ours = TransformerEncoder(TransformerEncoderLayer(4, 2, activation=m_act, **kw), 2, norm=mc.nn.LayerNorm(4))
    elif kind == "decoder":
        theirs = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(4, 2, activation=t_act, **kw), 2)
        ours = TransformerDecoder(TransformerDecoderLayer(4, 2, activation=m_act, **kw), 2)
    else:
        theirs = torch.nn.Transformer(4, 2, 1, 1, activation=t_act, **kw)
        ours = Transformer(4, 2, 1, 1, activation=m_act, **kw)
    for layer in theirs.modules():  # torch's decoder layer __setstate__ (run by deepcopy) hides a module
        if isinstance(layer, torch.nn.TransformerDecoderLayer) and "activation" in layer._modules:
            del layer.__dict__["activation"]  # activation behind relu: undo that quirk
    theirs = theirs.double()
    ours = ours.double()
    _assert_state_like_torch(ours, theirs)
    _load(ours, theirs)
    return ours, theirs


@settings(max_examples=20, deadline=None)
@given(
    kind=st.sampled_from(["encoder", "decoder", "transformer"]),
    activation=st.sampled_from(["relu", "gelu", "callable", "module"]),
    norm_first=st.booleans(),
    batch_first=st.booleans(),
    train=st.booleans(),
    masks=st.sampled_from(["none", "causal", "padding"]),
    seed=st.integers(0, 2**16),
)
def test_transformer_layers_match_torch(kind, activation, norm_first, batch_first, train, masks, seed):
    """Eval mode with dropout 0.1 (off), train mode with dropout 0: outputs and all gradients."""
    torch.manual_seed(seed)
    ours, theirs = _transformer_pair(kind, activation, norm_first, batch_first, 0.0 if train else 0.1)
    ours.train(train)
    theirs.train(train)
    rng = np.random.default_rng(seed)
    N, S, T = 2, 4, 3
    shape = (lambda n: (N, n, 4)) if batch_first else (lambda n: (n, N, 4))
    src, tgt = rng.standard_normal(shape(S)), rng.standard_normal(shape(T))
    mine = [mc.tensor(src, requires_grad=True), mc.tensor(tgt, requires_grad=True)]
    refs = [torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)]
    pad = np.zeros((N, S), dtype=bool)
    pad[0, -1] = True
    m_kw: dict = {}
    t_kw: dict = {}
    if masks == "causal":
        n = S if kind == "encoder" else T
        name = {"encoder": "mask", "decoder": "tgt_mask", "transformer": "tgt_mask"}[kind]
        m_kw[name] = Transformer.generate_square_subsequent_mask(n, dtype=np.float64)
        t_kw[name] = torch.nn.Transformer.generate_square_subsequent_mask(n, dtype=torch.float64)
    elif masks == "padding":
        name = "src_key_padding_mask" if kind == "encoder" else "memory_key_padding_mask"
        m_kw[name], t_kw[name] = mc.tensor(pad), torch.tensor(pad)
    if kind == "encoder":
        a, b = ours(mine[0], **m_kw), theirs(refs[0], **t_kw)
    elif kind == "decoder":  # tgt, memory
        a, b = ours(mine[1], mine[0], **m_kw), theirs(refs[1], refs[0], **t_kw)
    else:
        a, b = ours(mine[0], mine[1], **m_kw), theirs(refs[0], refs[1], **t_kw)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-10)
    g = rng.standard_normal(b.shape)
    (a * mc.tensor(g)).sum().backward()
    (b * torch.tensor(g)).sum().backward()
    used = 1 if kind == "encoder" else 2
    _grads_like_torch(ours, theirs, mine[:used], refs[:used], tol=1e-8)


def test_transformer_unbatched_and_single_layers():
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    for theirs, ours in (
        (torch.nn.TransformerEncoderLayer(4, 2, 8), TransformerEncoderLayer(4, 2, 8)),
        (torch.nn.TransformerDecoderLayer(4, 2, 8, norm_first=True), TransformerDecoderLayer(4, 2, 8, norm_first=True)),
    ):
        theirs, ours = theirs.double().eval(), ours.double().eval()
        _assert_state_like_torch(ours, theirs)
        _load(ours, theirs)
        x, mem = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
        args = (x,) if isinstance(ours, TransformerEncoderLayer) else (x, mem)
        a = ours(*(mc.tensor(v) for v in args)).numpy()
        b = theirs(*(torch.tensor(v) for v in args)).detach().numpy()
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def test_encoder_deep_copies_the_layer_and_transformer_init():
    layer = TransformerEncoderLayer(4, 2, 8)
    enc = TransformerEncoder(layer, 2)
    assert enc.layers[0] is not layer and enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    np.testing.assert_array_equal(enc.layers[0].linear1.weight.numpy(), enc.layers[1].linear1.weight.numpy())
    mc.manual_seed(0)
    model = Transformer(8, 2, 1, 1, 16)
    w = model.encoder.layers[0].linear1.weight.numpy()  # re-drawn by xavier_uniform_
    assert np.abs(w).max() <= np.sqrt(6 / (8 + 16))
    assert np.abs(w).max() > np.sqrt(1 / 8)  # beyond Linear's kaiming bound 1/sqrt(fan_in)
    with pytest.raises(ValueError, match="relu/gelu"):
        TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(ValueError, match="d_model"):
        model(mc.randn(3, 1, 8), mc.randn(3, 1, 4))


@pytest.mark.parametrize("device", devices())
def test_square_subsequent_mask_and_layer_on_device(device):
    ref = torch.nn.Transformer.generate_square_subsequent_mask(4)
    mask = Transformer.generate_square_subsequent_mask(4, device=device)
    assert mask.dtype == np.float32 and mask.device == mc.tensor(0.0, device=device).device
    np.testing.assert_array_equal(mask.numpy(), ref.numpy())
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0)
    ours = TransformerEncoderLayer(4, 2, 8, dropout=0.0)
    _load(ours, theirs)
    ours.to(device)
    x = np.random.default_rng(0).standard_normal((4, 2, 4)).astype(np.float32)
    a = ours(mc.tensor(x, device=device), src_mask=mask)
    a.sum().backward()
    b = theirs(torch.tensor(x), src_mask=ref)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert ours.linear1.weight.grad.device == a.device


def test_mha_module_copy_is_independent():
    m = MultiheadAttention(4, 2)
    c = copy.deepcopy(m)
    assert c.in_proj_weight is not m.in_proj_weight and repr(c) == repr(m)


@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_projects_q_k_v_in_one_gemm_as_torch(batch_first, monkeypatch):
    """query is key is value: one linear with the packed (3E, E) weight (torch's
    _in_projection_packed); key is value: one for q and one for k and v. Values and gradients
    as torch's either way."""
    from minicnn.ops import attention as A

    calls = []
    linear = A.linear
    monkeypatch.setattr(A, "linear", lambda x, w, b=None: calls.append(tuple(w.shape)) or linear(x, w, b))
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    ours = mc.nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=mc.float64)
    ours.load_state_dict({k: mc.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x0, m0 = np.random.default_rng(1).standard_normal((2, 3, 5, 8))
    for kind in ("self", "key is value"):
        calls.clear()
        x, t = mc.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
        m, tm = mc.tensor(m0, requires_grad=True), torch.tensor(m0, requires_grad=True)
        out = ours(x, x, x)[0] if kind == "self" else ours(x, m, m)[0]
        ref = theirs(t, t, t)[0] if kind == "self" else theirs(t, tm, tm)[0]
        assert calls[:-1] == ([(24, 8)] if kind == "self" else [(8, 8), (16, 8)])  # (the last: out_proj)
        (out * out).sum().backward()
        (ref * ref).sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
        if kind != "self":
            np.testing.assert_allclose(m.grad.numpy(), tm.grad.numpy(), rtol=1e-10, atol=1e-12)
