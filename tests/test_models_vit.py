"""Vision Transformer and Swin Transformer (v1, v2) against torchvision (the oracle).

- vit_b_16/b_32/l_16/l_32/h_14 and swin_t/s/b, swin_v2_t/s/b: parameter count, state-dict keys
  (in order) and shapes equal torchvision's (its models built on the meta device);
- float64 on torchvision's (randomised) weights: eval logits, and in training mode (dropout and
  stochastic depth 0) the loss and the gradients of the input and of every parameter, for a
  reduced ViT (with and without the pre-logits head, with a convolutional stem), the whole
  vit_b_32 at 64x64, and reduced Swin v1 / v2 (32x32, and 44x44 which pads the windows);
- shifted_window_attention on hypothesis-drawn shapes, windows and shifts against torchvision's
  function (forward and gradients); gradcheck / gradgradcheck through a block of each kind;
- reprs, signatures, initialisation, the legacy MLPBlock state dict, mc.summary, errors, and a
  training step on the GPU (or the fake CuPy) against the CPU.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from functools import partial
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from conftest import (
    check_parity,
    compare_with_torch,
    devices,
    eval_logits_err,
    gpu_step_equals_cpu,
    n_params,
    skipped_init,
    torchvision_twin,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.models import swin_transformer as tv_swin
from torchvision.models import vision_transformer as tv_vit

import minicnn as mc
from minicnn.models import swin, vit

VIT_NAMES = ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"]
SWIN_NAMES = ["swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"]
# torchvision's published parameter counts (its weights' meta; vit_h_14's at 224x224)
EXPECTED_PARAMS = {"vit_b_16": 86_567_656, "vit_b_32": 88_224_232, "vit_l_16": 304_326_632,
                   "vit_l_32": 306_535_400, "vit_h_14": 632_045_800, "swin_t": 28_288_354, "swin_s": 49_606_258,
                   "swin_b": 87_768_224, "swin_v2_t": 28_351_570, "swin_v2_s": 49_737_442,
                   "swin_v2_b": 87_930_848}  # fmt: skip
# the reduced ViT: image 32, patch 8 (16 patches + the class token), 2 layers, hidden 48, 4 heads, MLP 96
SMALL_VIT = (32, 8, 2, 4, 48, 96)


def randomise(model: torch.nn.Module, seed: int) -> None:
    """float64; every parameter drawn anew (the head and the class token start at 0, the layer
    norms at 1 and 0, which would hide them): weights N(0, s^2) with s = 0.3 / sqrt(fan_in),
    vectors N(0, 0.2^2) (+1 for norm weights), batch-norm statistics away from 0 and 1."""
    g = torch.Generator().manual_seed(seed)
    model.double()
    norm_weights = {id(m.weight) for m in model.modules() if isinstance(m, (torch.nn.LayerNorm, torch.nn.BatchNorm2d))}
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if p.ndim > 1 and "class_token" not in name and "pos_embedding" not in name:
                p.copy_(r * (1.5 / p[0].numel() ** 0.5))  # 1.5 / sqrt(fan_in)
            else:
                p.copy_(0.2 * r + (1.0 if id(p) in norm_weights else 0.0))
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=g, dtype=torch.float64) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g, dtype=torch.float64) + 0.5)


def twin(build: Any, tv_build: Any, seed: int = 0) -> tuple[mc.nn.Module, torch.nn.Module]:
    """(ours, torchvision's) with torchvision's (randomised) weights, float64."""
    ours, tv = torchvision_twin(build, tv_build, seed, randomise=randomise)
    assert all(v.dtype == np.float64 for v in ours.state_dict(keep_vars=True).values() if v.dtype.kind == "f")
    return ours, tv


def small_vit(lib: Any, **kwargs: Any) -> Any:
    return lib.VisionTransformer(*SMALL_VIT, num_classes=10, **kwargs)


def small_swin(lib: Any, v2: bool, **kwargs: Any) -> Any:
    """32x32 input, patch 4, embed 24, depths (2, 2), heads (2, 4), window 4: stage 1 (8x8) has
    four windows and a shifted block, stage 2 (4x4) is one window (the shift is dropped)."""
    if v2:
        kwargs = dict(block=lib.SwinTransformerBlockV2, downsample_layer=lib.PatchMergingV2, **kwargs)
    return lib.SwinTransformer([4, 4], 24, [2, 2], [2, 4], [4, 4], stochastic_depth_prob=0.0, num_classes=10, **kwargs)


def keys_shapes_counts_equal(name: str, ours_lib: Any) -> tuple[Any, torch.nn.Module]:
    with torch.device("meta"):
        tv = getattr(torchvision.models, name)()
    with skipped_init():
        ours = getattr(ours_lib, name)()
    assert n_params(tv) == EXPECTED_PARAMS[name]
    assert n_params(ours) == n_params(tv)
    tv_sd, our_sd = tv.state_dict(), ours.state_dict(keep_vars=True)  # no copies of 600M parameters
    assert list(our_sd) == list(tv_sd)  # same keys in the same order
    for k, v in tv_sd.items():
        assert tuple(our_sd[k].shape) == tuple(v.shape), k
    return ours, tv


# --------------------------------------------------------------------------------------
# ViT


@pytest.mark.parametrize("name", VIT_NAMES)
def test_vit_counts_keys_and_shapes_equal_torchvision(name: str) -> None:
    ours, tv = keys_shapes_counts_equal(name, vit)
    assert (ours.patch_size, ours.hidden_dim, ours.mlp_dim, ours.seq_length) == (
        tv.patch_size, tv.hidden_dim, tv.mlp_dim, tv.seq_length)  # fmt: skip
    heads = [m.self_attention.num_heads for m in ours.encoder.layers]
    assert heads == [m.self_attention.num_heads for m in tv.encoder.layers]


@pytest.mark.parametrize("representation_size", [None, 20])
def test_small_vit_equals_torchvision(representation_size: int | None) -> None:
    """Eval logits, then training-mode loss and gradients of the input and every parameter
    (class token, position embedding, attention, MLPs, head)."""
    ours, tv = twin(
        lambda: small_vit(vit, representation_size=representation_size),
        lambda: small_vit(tv_vit, representation_size=representation_size),
    )
    check_parity(ours, tv, 32, grad_tol=1e-9, same_names=True)


def test_vit_with_a_convolutional_stem_equals_torchvision() -> None:
    """conv_stem_configs: two 3x3 conv-BN-ReLU layers (stride 2, 2) and the 1x1 conv_last; the
    batch norms in eval on randomised statistics, in training on the batch's."""

    def build(lib: Any) -> Any:
        stem = [lib.ConvStemConfig(8, 3, 2), lib.ConvStemConfig(16, 3, 2)]
        return lib.VisionTransformer(32, 4, 1, 2, 16, 32, num_classes=10, conv_stem_configs=stem)

    ours, tv = twin(lambda: build(vit), lambda: build(tv_vit))
    check_parity(ours, tv, 32, seed=1, grad_tol=1e-9, same_names=True)
    assert repr(ours) == repr(build(tv_vit))


def test_vit_b_32_equals_torchvision() -> None:
    """The whole vit_b_32 (88M parameters) at image_size 64 (4 patches + the class token), on
    torchvision's weights (drawn anew: built on the meta device, then randomised)."""

    def tv_build() -> torch.nn.Module:
        with torch.device("meta"):
            tv = torchvision.models.vit_b_32(image_size=64, num_classes=10)
        return tv.to_empty(device="cpu")

    torch.manual_seed(0)
    tv = tv_build()
    randomise(tv, 0)
    previous = mc.get_default_dtype()
    mc.set_default_dtype(np.float64)  # built in float64 at once: no cast of 88M parameters
    try:
        with skipped_init():
            ours = vit.vit_b_32(image_size=64, num_classes=10)
    finally:
        mc.set_default_dtype(previous)
    ours.load_state_dict({k: v.numpy() for k, v in tv.state_dict().items()})
    assert all(p.dtype == np.float64 for p in ours.parameters())
    check_parity(ours, tv, 64, grad_tol=1e-9, same_names=True)


def test_vit_dropout_settings_reach_every_layer_and_leave_eval_alone() -> None:
    """dropout after the position embedding, the attention and in the MLPs; attention_dropout on
    the attention weights; in eval mode the logits still equal torchvision's."""
    kwargs = dict(dropout=0.3, attention_dropout=0.2)
    ours, tv = twin(lambda: small_vit(vit, **kwargs), lambda: small_vit(tv_vit, **kwargs))
    ps = [m.p for m in ours.modules() if isinstance(m, mc.nn.Dropout)]
    assert ps == [m.p for m in tv.modules() if isinstance(m, torch.nn.Dropout)] and set(ps) == {0.3}
    assert [m.self_attention.dropout for m in ours.encoder.layers] == [0.2, 0.2]
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32))
    assert eval_logits_err(ours, tv, x) < 1e-10
    ours.train()
    with mc.no_grad():
        a, b = ours(mc.tensor(x)).numpy(), ours(mc.tensor(x)).numpy()
    assert not np.allclose(a, b)  # training mode draws masks


def test_vit_repr_and_signatures_as_torchvision() -> None:
    assert repr(small_vit(vit)) == repr(small_vit(tv_vit))
    assert repr(small_vit(vit, representation_size=20)) == repr(small_vit(tv_vit, representation_size=20))
    for ours, theirs in [(vit.VisionTransformer, tv_vit.VisionTransformer), (vit.Encoder, tv_vit.Encoder),
                         (vit.EncoderBlock, tv_vit.EncoderBlock), (vit.MLPBlock, tv_vit.MLPBlock)]:  # fmt: skip
        a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(a) == list(b), ours.__name__
        for k in b:
            if k == "norm_layer":  # both partial(LayerNorm, eps=1e-6), of each library's class
                assert a[k].default.keywords == b[k].default.keywords == {"eps": 1e-6}
            else:
                assert a[k].default == b[k].default, (ours.__name__, k)
    assert list(vit.ConvStemConfig._fields) == list(tv_vit.ConvStemConfig._fields)
    for name in VIT_NAMES:
        p = inspect.signature(getattr(vit, name)).parameters
        assert list(p) == ["image_size", "num_classes", "dropout", "attention_dropout", "representation_size",
                           "kwargs"]  # fmt: skip
        assert p["image_size"].default == 224 and p["num_classes"].default == 1000


def test_vit_initialisation_as_torchvision() -> None:
    """conv_proj truncated normal std sqrt(1 / fan_in), bias 0; class token 0; position
    embedding std 0.02; MLP Xavier uniform weights, biases N(0, 1e-12); head 0."""
    mc.manual_seed(0)
    net = vit.VisionTransformer(64, 8, 2, 4, 256, 512, num_classes=10, representation_size=32)
    w = net.conv_proj.weight.numpy()
    assert abs(w.std() - (1 / 192) ** 0.5) < 0.003 and np.all(net.conv_proj.bias.numpy() == 0)
    assert np.all(net.class_token.numpy() == 0)
    assert abs(net.encoder.pos_embedding.numpy().std() - 0.02) < 0.001
    mlp = net.encoder.layers[0].mlp
    bound = (6 / (256 + 512)) ** 0.5
    assert np.abs(mlp[0].weight.numpy()).max() <= bound and mlp[0].weight.numpy().max() > 0.95 * bound
    assert 0 < np.abs(mlp[0].bias.numpy()).max() < 1e-5
    assert np.all(net.heads.head.weight.numpy() == 0) and np.all(net.heads.head.bias.numpy() == 0)
    pre = net.heads.pre_logits.weight.numpy()
    assert abs(pre.std() - (1 / 256) ** 0.5) < 0.003 and np.all(net.heads.pre_logits.bias.numpy() == 0)
    assert all(p.dtype == np.float32 for p in net.parameters())
    stem = vit.VisionTransformer(32, 4, 1, 2, 64, 32, conv_stem_configs=[vit.ConvStemConfig(8, 3, 2)])
    assert abs(stem.conv_proj.conv_last.weight.numpy().std() - (2 / 64) ** 0.5) < 0.02


def test_mlp_block_loads_the_legacy_state_dict_as_torchvision() -> None:
    """A state dict of the old MLPBlock (``linear_1`` / ``linear_2``, metadata version 1) loads
    into the new layout, as torchvision's."""
    ours, tv = twin(lambda: small_vit(vit), lambda: small_vit(tv_vit))
    sd = tv.state_dict()
    old = OrderedDict(
        (k.replace("mlp.0.", "mlp.linear_1.").replace("mlp.3.", "mlp.linear_2."), v) for k, v in sd.items()
    )
    old._metadata = OrderedDict((k, dict(v)) for k, v in sd._metadata.items())  # type: ignore[attr-defined]
    for k in old._metadata:  # type: ignore[attr-defined]
        if k.endswith(".mlp"):
            old._metadata[k]["version"] = 1  # type: ignore[attr-defined]
    assert any("linear_1" in k for k in old)
    fresh_tv = small_vit(tv_vit).double()
    fresh_tv.load_state_dict(OrderedDict(old))
    mine = OrderedDict((k, v.numpy()) for k, v in old.items())
    mine._metadata = old._metadata  # type: ignore[attr-defined]
    with skipped_init(), np.errstate(invalid="ignore"):  # the uninitialised arrays hold anything
        fresh = small_vit(vit).to(np.float64)
    fresh.load_state_dict(mine)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    assert eval_logits_err(fresh, fresh_tv, x) < 1e-10
    assert eval_logits_err(fresh, tv, x) < 1e-10


# torchvision's published multiply-adds (its weights' "_ops", in G) at the native sizes
TORCHVISION_GMACS = {"vit_b_32": 4.409, "swin_t": 4.491, "swin_v2_t": 5.94}


@pytest.mark.parametrize("name", list(TORCHVISION_GMACS))
def test_summary_counts_as_torchvision(name: str) -> None:
    """mc.summary at the native size (224, swin_v2 256) counts torchvision's parameters and its
    published multiply-adds: the attention (Encoder's and ShiftedWindowAttention's
    ``multiply_adds``) included."""
    with skipped_init():
        net = getattr(vit, name, None) or getattr(swin, name)
        net = net()
    for p in net.parameters():
        p.array[...] = 0
    assert net.input_size == ((3, 256, 256) if name.startswith("swin_v2") else (3, 224, 224))
    s = mc.summary(net, net.input_size, verbose=False)
    assert s.totals["params"] == EXPECTED_PARAMS[name]
    assert s.totals["output_shape"] == (1, 1000)
    assert round(s.totals["multiply_adds"] / 1e9, 3) == TORCHVISION_GMACS[name]


def test_vit_summary() -> None:
    mc.manual_seed(0)
    net = small_vit(vit)
    s = mc.summary(net, (3, 32, 32), verbose=False)
    assert s.totals["params"] == n_params(small_vit(tv_vit))
    assert s.totals["output_shape"] == (1, 10)
    assert s.totals["multiply_adds"] > 0


def test_vit_errors() -> None:
    with pytest.raises(ValueError, match=r"image_size \(30\) must be a multiple of patch_size \(8\)"):
        vit.VisionTransformer(30, 8, 1, 2, 8, 8)
    net = small_vit(vit)
    with pytest.raises(ValueError, match=r"expected input \(N, 3, 32, 32\), got shape \(1, 3, 40, 40\)"):
        net(mc.zeros(1, 3, 40, 40))
    with pytest.raises(ValueError, match=r"Encoder: expected input \(batch_size, 17, 48\), got shape \(1, 5, 48\)"):
        net.encoder(mc.zeros(1, 5, 48))
    with pytest.raises(ValueError, match=r"EncoderBlock: expected \(batch_size, seq_length, hidden_dim\)"):
        net.encoder.layers[0](mc.zeros(5, 48))
    # a conv stem whose strides (2) do not make the patch (8): the map after conv_proj is named
    stem = vit.VisionTransformer(32, 8, 1, 2, 8, 16, conv_stem_configs=[vit.ConvStemConfig(8, 3, 2)])
    with pytest.raises(
        ValueError, match=r"VisionTransformer: conv_proj gives \(1, 8, 16, 16\), expected \(N, 8, 4, 4\)"
    ):
        stem(mc.zeros(1, 3, 32, 32))


@pytest.mark.parametrize("kind", ["vit", "swin_v2"])
def test_state_dicts_go_back_into_torchvision(kind: str) -> None:
    """Our state dict (torchvision's weights, float64) loads into a fresh torchvision model with
    strict=True, keys in torchvision's order, and that model computes torchvision's logits."""

    def build(lib: Any) -> Any:
        return small_vit(lib, representation_size=20) if kind == "vit" else small_swin(lib, True)

    ours, tv = twin(lambda: build(vit if kind == "vit" else swin), lambda: build(tv_vit if kind == "vit" else tv_swin))
    sd = ours.state_dict()
    assert list(sd) == list(tv.state_dict())
    back = build(tv_vit if kind == "vit" else tv_swin).double()
    back.load_state_dict(OrderedDict((k, torch.from_numpy(np.array(v))) for k, v in sd.items()), strict=True)
    x = np.random.default_rng(5).standard_normal((2, 3, 32, 32))
    assert eval_logits_err(ours, back, x) < 1e-12


# --------------------------------------------------------------------------------------
# Swin


@pytest.mark.parametrize("name", SWIN_NAMES)
def test_swin_counts_keys_shapes_and_drop_probabilities_equal_torchvision(name: str) -> None:
    ours, tv = keys_shapes_counts_equal(name, swin)
    ps = [m.p for m in ours.modules() if isinstance(m, mc.nn.StochasticDepth)]
    tv_ps = [m.p for m in tv.modules() if isinstance(m, torchvision.ops.StochasticDepth)]
    assert ps == pytest.approx(tv_ps) and ps[-1] == swin.SWIN_SETTINGS[name][4]
    shifts = [m.attn.shift_size for m in ours.modules() if isinstance(m, swin.SwinTransformerBlock)]
    assert shifts == [m.attn.shift_size for m in tv.modules() if isinstance(m, tv_swin.SwinTransformerBlock)]
    v2 = name.startswith("swin_v2")
    assert isinstance(ours.features[2], swin.PatchMergingV2 if v2 else swin.PatchMerging)


@pytest.mark.parametrize("v2", [False, True])
@pytest.mark.parametrize("size", [32, 44])
def test_small_swin_equals_torchvision(v2: bool, size: int) -> None:
    """32x32 (8x8 tokens: 2x2 windows, shifted) and 44x44 (11x11 tokens: padded to 12x12 for
    the windows, 6x6 after merging)."""
    ours, tv = twin(lambda: small_swin(swin, v2), lambda: small_swin(tv_swin, v2), seed=size)
    check_parity(ours, tv, size, seed=size, grad_tol=1e-9, same_names=True)


def test_swin_buffers_equal_torchvision() -> None:
    """relative_position_index (int64) and V2's relative_coords_table (float32) as torchvision
    computes them, for a square and an oblong window."""
    for window in ([4, 4], [3, 5]):
        a, b = (
            swin.ShiftedWindowAttentionV2(8, window, [0, 0], 2),
            tv_swin.ShiftedWindowAttentionV2(8, window, [0, 0], 2),
        )
        idx = a.relative_position_index.numpy()
        assert idx.dtype == np.int64 and np.array_equal(idx, b.relative_position_index.numpy())
        table = a.relative_coords_table.numpy()
        assert table.dtype == np.float32 and np.allclose(table, b.relative_coords_table.numpy(), rtol=1e-6, atol=1e-7)
        assert np.all(a.qkv.bias.numpy()[8:16] == 0)  # no k bias in V2
        v1 = swin.ShiftedWindowAttention(8, window, [0, 0], 2)
        assert v1.relative_position_bias_table.shape == ((2 * window[0] - 1) * (2 * window[1] - 1), 2)


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(1, 2),
    hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    window=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    shifted=st.booleans(),
    heads=st.integers(1, 2),
    head_dim=st.integers(1, 3),
    v2=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_shifted_window_attention_equals_torchvision(
    b: int, hw: tuple[int, int], window: tuple[int, int], shifted: bool, heads: int, head_dim: int, v2: bool, seed: int
) -> None:
    """Forward and gradients of every input (x, weights, biases, position bias, logit scale)
    on any map size (padded to the window), window, shift (dropped where the map is one
    window), with and without V2's cosine attention."""
    rng = np.random.default_rng(seed)
    c, n = heads * head_dim, window[0] * window[1]
    window_size = list(window)
    shift_size = [w // 2 for w in window] if shifted else [0, 0]
    arrays = [rng.standard_normal((b, *hw, c)), rng.standard_normal((3 * c, c)), rng.standard_normal((c, c)),
              rng.standard_normal((1, heads, n, n)), rng.standard_normal(3 * c), rng.standard_normal(c),
              rng.standard_normal((heads, 1, 1)) + 3.0]  # fmt: skip

    def call(fn: Any, x: Any, qw: Any, pw: Any, bias: Any, qb: Any, pb: Any, scale: Any) -> Any:
        return fn(x, qw, pw, bias, list(window_size), heads, list(shift_size), qkv_bias=qb, proj_bias=pb,
                  logit_scale=scale if v2 else None, training=False)  # fmt: skip

    compare_with_torch(
        partial(call, swin.shifted_window_attention),
        partial(call, tv_swin.shifted_window_attention),
        arrays,
        grad_inputs=[True] * 6 + [v2],
        rtol=1e-8,
        atol=1e-10,
    )


@pytest.mark.parametrize("v2", [False, True])
def test_swin_block_second_derivatives(v2: bool) -> None:
    """gradcheck and gradgradcheck (float64) through a shifted block on a 3x5 map with window 2
    (padded, rolled, masked): the graph forms of pad, roll, the window reshapes, normalize."""
    mc.manual_seed(0)
    cls = swin.SwinTransformerBlockV2 if v2 else swin.SwinTransformerBlock
    block = cls(4, 2, [2, 2], [1, 1], mlp_ratio=1.0).to(np.float64)
    for p in block.parameters():
        p.array[...] = np.random.default_rng(1).standard_normal(p.shape) * 0.5 + (1.0 if p.ndim == 1 else 0.0)
    x = mc.tensor(np.random.default_rng(0).standard_normal((1, 3, 5, 4)), requires_grad=True)
    assert mc.gradcheck(block, [x])
    assert mc.gradgradcheck(block, [x])


def test_swin_repr_and_signatures_as_torchvision() -> None:
    for v2 in (False, True):
        assert repr(small_swin(swin, v2)) == repr(small_swin(tv_swin, v2))
    pairs = [(swin.SwinTransformer, tv_swin.SwinTransformer), (swin.SwinTransformerBlock, tv_swin.SwinTransformerBlock),
             (swin.SwinTransformerBlockV2, tv_swin.SwinTransformerBlockV2), (swin.PatchMerging, tv_swin.PatchMerging),
             (swin.PatchMergingV2, tv_swin.PatchMergingV2),
             (swin.ShiftedWindowAttention, tv_swin.ShiftedWindowAttention),
             (swin.ShiftedWindowAttentionV2, tv_swin.ShiftedWindowAttentionV2),
             (swin.shifted_window_attention, tv_swin.shifted_window_attention)]  # fmt: skip
    tv_classes = {tv_swin.PatchMerging: swin.PatchMerging, tv_swin.ShiftedWindowAttention: swin.ShiftedWindowAttention,
                  tv_swin.ShiftedWindowAttentionV2: swin.ShiftedWindowAttentionV2,
                  torch.nn.LayerNorm: mc.nn.LayerNorm}  # fmt: skip
    for ours, theirs in pairs:
        a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(a) == list(b), ours.__name__
        for k in b:  # a default that is a torchvision / torch class is ours of the same name
            assert a[k].default == tv_classes.get(b[k].default, b[k].default), (ours.__name__, k)
    for name in SWIN_NAMES:
        p = inspect.signature(getattr(swin, name)).parameters
        assert list(p) == ["num_classes", "stochastic_depth_prob", "kwargs"]
        assert p["stochastic_depth_prob"].default == swin.SWIN_SETTINGS[name][4]


def test_swin_initialisation_and_arguments() -> None:
    """Every Linear truncated normal std 0.02, biases 0; the bias table std 0.02; V2's logit
    scale log 10; num_classes, mlp_ratio, norm_layer and stochastic_depth_prob reach the layers."""
    mc.manual_seed(0)
    net = swin.SwinTransformer([4, 4], 64, [2, 2], [2, 4], [7, 7], num_classes=5)
    w = np.concatenate([m.weight.numpy().ravel() for m in net.modules() if isinstance(m, mc.nn.Linear)])
    assert w.size > 100_000 and abs(w.std() - 0.02) < 0.001 and np.abs(w).max() <= 2.0
    assert all(np.all(m.bias.numpy() == 0) for m in net.modules() if isinstance(m, mc.nn.Linear) and m.bias is not None)
    table = np.concatenate([m.attn.relative_position_bias_table.numpy().ravel() for m in net.features[1]])
    assert abs(table.std() - 0.02) < 0.004
    v2 = swin.swin_v2_t(
        num_classes=7, stochastic_depth_prob=0.0, mlp_ratio=2.0, norm_layer=partial(mc.nn.LayerNorm, eps=1e-3)
    )
    blk = v2.features[1][0]
    assert np.allclose(blk.attn.logit_scale.numpy(), np.log(10.0))
    assert blk.mlp[0].out_features == 192 and blk.norm1.eps == 1e-3 and v2.head.out_features == 7
    assert all(m.p == 0.0 for m in v2.modules() if isinstance(m, mc.nn.StochasticDepth))


def test_swin_summary_and_errors() -> None:
    mc.manual_seed(0)
    s = mc.summary(small_swin(swin, True), (3, 32, 32), verbose=False)
    assert s.totals["params"] == n_params(small_swin(tv_swin, True))
    assert s.totals["output_shape"] == (1, 10)
    with pytest.raises(ValueError, match="window_size and shift_size must be of length 2"):
        swin.ShiftedWindowAttention(8, [4], [0, 0], 2)
    with pytest.raises(ValueError, match=r"SwinTransformer: expected input \(N, 3, H, W\), got shape \(1, 1, 8, 8\)"):
        small_swin(swin, False)(mc.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"shifted_window_attention: expected input \(B, H, W, C\)"):
        small_swin(swin, False).features[1][0].attn(mc.zeros(8, 8, 24))
    with pytest.raises(ValueError, match=r"the channels \(8\) must be divisible by num_heads \(3\)"):
        swin.SwinTransformer([4, 4], 8, [2, 2], [3, 2], [4, 4])(mc.zeros(1, 3, 32, 32))


def test_swin_stochastic_depth_draws_in_training_only() -> None:
    """stochastic_depth_prob 0.9 (blocks drop with 0, 0.3, 0.6, 0.9): training draws rows per
    sample (the seed repeats them), eval is deterministic."""
    mc.manual_seed(0)
    net = swin.SwinTransformer([4, 4], 8, [2, 2], [2, 2], [4, 4], stochastic_depth_prob=0.9, num_classes=3)
    assert [m.p for m in net.modules() if isinstance(m, mc.nn.StochasticDepth)] == pytest.approx([0, 0.3, 0.6, 0.9])
    x = mc.tensor(np.random.default_rng(0).standard_normal((4, 3, 20, 20)).astype(np.float32))
    with mc.no_grad():
        mc.manual_seed(1)
        a = net(x).numpy()
        b = net(x).numpy()
        mc.manual_seed(1)
        c = net(x).numpy()
        net.eval()
        d, e = net(x).numpy(), net(x).numpy()
    assert a.shape == d.shape == (4, 3) and np.all(np.isfinite(a))
    assert not np.array_equal(a, b) and np.array_equal(a, c) and np.array_equal(d, e)


# --------------------------------------------------------------------------------------
# the GPU computes what the CPU computes


@pytest.mark.slow
@pytest.mark.parametrize("device", devices()[1:])  # the "cuda" case only: the CPU is the reference
def test_small_models_on_the_gpu_equal_the_cpu(device: str) -> None:
    """A training step (float32, dropout 0) of the reduced ViT and Swin v1 / v2 with
    ``model.to(device)`` equals the CPU's."""
    gpu_step_equals_cpu(lambda: small_vit(vit, representation_size=20), device, (2, 3, 32, 32))
    for v2 in (False, True):
        gpu_step_equals_cpu(partial(small_swin, swin, v2), device, (2, 3, 36, 36))
