"""Module state-dict hooks (save and load, public and private forms) against torch, and the
compatibility hooks built on them: old ``weight_g`` / ``weight_v`` checkpoints loading into the
weight-norm parametrization, and the hook-based spectral norm's version metadata and version-0
conversion."""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given, settings

import minicnn as mc
from minicnn.nn import norm_hooks
from minicnn.nn import parametrizations as mc_parametrizations
from tests.conftest import devices


def _pair(seed: int = 0) -> tuple[mc.nn.Module, torch.nn.Module]:
    """The same nested model in both libraries, torch's values copied into minicnn's:
    Sequential(Linear(3, 4), Sequential(Linear(4, 2), BatchNorm1d(2)))."""
    torch.manual_seed(seed)
    t = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.BatchNorm1d(2))
    ).double()
    m = mc.nn.Sequential(mc.nn.Linear(3, 4), mc.nn.Sequential(mc.nn.Linear(4, 2), mc.nn.BatchNorm1d(2))).double()
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    return m, t


def _np(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, mc.Tensor):
        return mc.backend.to_numpy(value.array)
    return np.asarray(value)


def _numpy_sd(sd: Any) -> dict[str, np.ndarray]:
    return {k: _np(v) for k, v in sd.items()}


def _assert_same_sd(got: Any, want: Any) -> None:
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(_np(got[k]), _np(want[k]), rtol=1e-6, atol=1e-7, err_msg=k)


def _each_module(m: Any) -> list[Any]:
    return [m, m[0], m[1], m[1][0], m[1][1]]


# -- state_dict hooks ------------------------------------------------------------------------
@pytest.mark.parametrize("keep_vars", [False, True])
def test_state_dict_hook_order_and_arguments_match_torch(keep_vars: bool) -> None:
    m, t = _pair()
    logs: dict[str, list[tuple[Any, ...]]] = {"mc": [], "torch": []}
    for lib, model in (("mc", m), ("torch", t)):
        log = logs[lib]
        for i, mod in enumerate(_each_module(model)):

            def pre(module: Any, prefix: str, kv: bool, i: int = i, log: list = log, mod: Any = mod) -> None:
                assert module is mod
                log.append(("pre", i, prefix, kv))

            def post(module: Any, sd: Any, prefix: str, meta: dict, i: int = i, log: list = log) -> None:
                log.append(("post", i, prefix, list(sd), dict(meta)))

            mod.register_state_dict_pre_hook(pre)
            mod.register_state_dict_post_hook(post)
        model.state_dict(prefix="root.", keep_vars=keep_vars)
    # torch's BatchNorm has _version 2, minicnn's modules 1: compare the metadata keys only
    norm = [e if e[0] == "pre" else e[:4] + (sorted(e[4]),) for e in logs["torch"]]
    assert [e if e[0] == "pre" else e[:4] + (sorted(e[4]),) for e in logs["mc"]] == norm
    assert logs["mc"][0] == ("pre", 0, "root.", keep_vars)


def test_state_dict_post_hook_edits_in_place_like_torch() -> None:
    m, t = _pair()

    def rename_and_scale(module: Any, sd: Any, prefix: str, meta: dict) -> None:
        sd[prefix + "w"] = sd.pop(prefix + "weight") * 2
        del sd[prefix + "bias"]

    for model in (m, t):
        model[1][0].register_state_dict_post_hook(rename_and_scale)
    got, want = m.state_dict(), t.state_dict()
    _assert_same_sd(got, want)
    assert "1.0.w" in got and "1.0.weight" not in got


def test_state_dict_metadata_like_torch() -> None:
    m, t = _pair()
    got, want = m.state_dict(), t.state_dict()
    assert list(got._metadata) == list(want._metadata) == ["", "0", "1", "1.0", "1.1"]
    assert got._metadata["1.0"] == want._metadata["1.0"] == {"version": 1}  # Linear
    plain: dict[str, Any] = {}
    assert m.state_dict(destination=plain) is plain and not hasattr(plain, "_metadata")


def test_state_dict_public_post_hook_must_return_none() -> None:
    m, t = _pair()
    for model in (m, t):
        model[1].register_state_dict_post_hook(lambda module, sd, prefix, meta: {})
        with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
            model.state_dict()


@pytest.mark.parametrize("where", ["root", "child"])
def test_private_state_dict_hook_result_replaces_the_dict_at_the_root_only(where: str) -> None:
    m, t = _pair()
    out = {}
    for lib, model in (("mc", m), ("torch", t)):
        mod = model if where == "root" else model[1]
        mod._register_state_dict_hook(lambda module, sd, prefix, meta: OrderedDict(only=np.zeros(1)))
        out[lib] = model.state_dict()
    assert list(out["mc"]) == list(out["torch"])
    assert (list(out["mc"]) == ["only"]) == (where == "root")


def test_private_state_dict_hook_refuses_a_public_one() -> None:
    m, t = _pair()
    for model in (m, t):

        def hook(module: Any, sd: Any, prefix: str, meta: dict) -> None:
            pass

        model.register_state_dict_post_hook(hook)
        with pytest.raises(RuntimeError, match="previously registered via register_state_dict_post_hook"):
            model._register_state_dict_hook(hook)


def test_state_dict_hook_handles_remove() -> None:
    m, _ = _pair()
    calls: list[str] = []
    h1 = m[1].register_state_dict_pre_hook(lambda *a: calls.append("pre"))
    h2 = m[1].register_state_dict_post_hook(lambda *a: calls.append("post") and None)
    m.state_dict()
    assert calls == ["pre", "post"]
    h1.remove()
    with h2:
        m.state_dict()
    m.state_dict()
    assert calls == ["pre", "post", "post"]
    h2.remove()  # twice is fine


# -- load_state_dict hooks -------------------------------------------------------------------
def _old_names(sd: dict[str, Any]) -> dict[str, Any]:
    """The model's checkpoint with the inner Linear's keys under older names."""
    return {k.replace("1.0.weight", "1.0.W").replace("1.0.bias", "1.0.b"): v for k, v in sd.items()}


def _rename_hook(module: Any, sd: Any, prefix: str, *rest: Any) -> None:
    for old, new in (("W", "weight"), ("b", "bias")):
        if prefix + old in sd:
            sd[prefix + new] = sd.pop(prefix + old)


@pytest.mark.parametrize("strict", [True, False])
def test_load_pre_hook_renames_keys_like_torch(strict: bool) -> None:
    source, _ = _pair(seed=1)
    ckpt = _old_names(_numpy_sd(source.state_dict()))
    m, t = _pair(seed=2)
    m[1][0].register_load_state_dict_pre_hook(_rename_hook)
    t[1][0].register_load_state_dict_pre_hook(_rename_hook)
    got = m.load_state_dict(ckpt, strict=strict)
    want = t.load_state_dict({k: torch.from_numpy(v) for k, v in ckpt.items()}, strict=strict)
    assert got == want == ([], [])
    _assert_same_sd(m.state_dict(), t.state_dict())
    _assert_same_sd(m.state_dict(), source.state_dict())
    assert "1.0.W" in ckpt  # the caller's dict is not touched


def test_load_without_the_hook_reports_like_torch() -> None:
    source, _ = _pair(seed=1)
    ckpt = _old_names(_numpy_sd(source.state_dict()))
    m, t = _pair(seed=2)
    got = m.load_state_dict(ckpt, strict=False)
    want = t.load_state_dict({k: torch.from_numpy(v) for k, v in ckpt.items()}, strict=False)
    assert got == want
    assert got.missing_keys == ["1.0.weight", "1.0.bias"]
    for model in (m, t):
        with pytest.raises(RuntimeError) as info:
            model.load_state_dict({k: torch.from_numpy(v) for k, v in ckpt.items()})
        message = str(info.value)
        assert 'Missing key(s) in state_dict: "1.0.weight", "1.0.bias". ' in message
        assert 'Unexpected key(s) in state_dict: "1.0.W", "1.0.b". ' in message


def test_unexpected_keys_are_listed_module_by_module_like_torch() -> None:
    m, t = _pair()
    ckpt = _numpy_sd(t.state_dict())
    extra = OrderedDict([("1.0.extra", np.zeros(1)), ("extra", np.zeros(1)), ("1.nope.x", np.zeros(1))])
    ckpt.update(extra)
    got = m.load_state_dict(ckpt, strict=False)
    want = t.load_state_dict({k: torch.from_numpy(v) for k, v in ckpt.items()}, strict=False)
    assert got == want
    assert got.unexpected_keys == ["extra", "1.nope.x", "1.0.extra"]


@pytest.mark.parametrize("strict", [True, False])
def test_load_pre_hook_arguments_match_torch(strict: bool) -> None:
    m, t = _pair()
    ckpt = _numpy_sd(t.state_dict())
    del ckpt["1.0.bias"]
    logs: dict[str, list[tuple[Any, ...]]] = {"mc": [], "torch": []}
    for lib, model in (("mc", m), ("torch", t)):
        log = logs[lib]
        for i, mod in enumerate(_each_module(model)):

            def pre(module, sd, prefix, meta, strict_, missing, unexpected, errors, i=i, log=log, mod=mod):  # noqa: ANN001, ANN202
                assert module is mod
                log.append(("pre", i, prefix, sorted(sd), strict_, list(missing), list(unexpected), list(errors)))

            def post(module, keys, i=i, log=log):  # noqa: ANN001, ANN202
                log.append(("post", i, list(keys.missing_keys), list(keys.unexpected_keys)))

            mod.register_load_state_dict_pre_hook(pre)
            mod.register_load_state_dict_post_hook(post)
        state = dict(ckpt) if lib == "mc" else {k: torch.from_numpy(v) for k, v in ckpt.items()}
        state["1.0.extra"] = state["0.bias"]
        if strict:
            with pytest.raises(RuntimeError, match="Error"):
                model.load_state_dict(state, strict=strict)
        else:
            model.load_state_dict(state, strict=strict)
    assert logs["mc"] == logs["torch"]
    # children's post-hooks run before their parent's, each parent's pre-hook before its children's
    order = [e[:2] for e in logs["mc"]]
    assert order == [
        ("pre", 0), ("pre", 1), ("post", 1), ("pre", 2), ("pre", 3), ("post", 3), ("pre", 4), ("post", 4),
        ("post", 2), ("post", 0),
    ]  # fmt: skip


def test_load_pre_hook_local_metadata_like_torch() -> None:
    m, t = _pair()
    seen: dict[str, Any] = {}
    for lib, model in (("mc", m), ("torch", t)):
        model[1][0].register_load_state_dict_pre_hook(
            lambda module, sd, prefix, meta, *rest, lib=lib: seen.__setitem__(lib, dict(meta))
        )
        sd = model.state_dict()
        sd._metadata["1.0"]["note"] = "x"
        model.load_state_dict(sd)
    assert seen["mc"] == seen["torch"] == {"version": 1, "note": "x"}
    m.load_state_dict(dict(m.state_dict()))  # without metadata: {}
    assert seen["mc"] == {}


@pytest.mark.parametrize("strict", [True, False])
def test_post_hook_clearing_missing_keys_avoids_the_strict_error_like_torch(strict: bool) -> None:
    m, t = _pair(seed=3)
    ckpt = _numpy_sd(_pair(seed=4)[1].state_dict())
    del ckpt["1.0.weight"]
    results = {}
    for lib, model in (("mc", m), ("torch", t)):
        model.register_load_state_dict_post_hook(lambda module, keys: keys.missing_keys.clear())
        state = ckpt if lib == "mc" else {k: torch.from_numpy(v) for k, v in ckpt.items()}
        results[lib] = model.load_state_dict(state, strict=strict)
    assert results["mc"] == results["torch"] == ([], [])
    _assert_same_sd(m.state_dict(), t.state_dict())


def test_post_hook_adding_a_key_makes_strict_raise_like_torch() -> None:
    m, t = _pair()
    for model in (m, t):
        ckpt = model.state_dict()
        model[1].register_load_state_dict_post_hook(lambda module, keys: keys.unexpected_keys.append("made.up"))
        assert model.load_state_dict(ckpt, strict=False).unexpected_keys == ["made.up"]
        with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "made.up"'):
            model.load_state_dict(ckpt)


def test_post_hook_must_return_none() -> None:
    m, t = _pair()
    for model in (m, t):
        model[0].register_load_state_dict_post_hook(lambda module, keys: keys)
        with pytest.raises(AssertionError, match="not expected to return new values"):
            model.load_state_dict(model.state_dict())


def test_post_hook_sees_the_loaded_values_like_torch() -> None:
    m, t = _pair(seed=5)
    ckpt = _numpy_sd(_pair(seed=6)[1].state_dict())
    seen = {}
    for lib, model in (("mc", m), ("torch", t)):
        model[1].register_load_state_dict_post_hook(
            lambda module, keys, lib=lib: seen.__setitem__(lib, _np(module[0].weight).copy())
        )
        model.load_state_dict(ckpt if lib == "mc" else {k: torch.from_numpy(v) for k, v in ckpt.items()})
    np.testing.assert_array_equal(seen["mc"], ckpt["1.0.weight"])
    np.testing.assert_array_equal(seen["torch"], ckpt["1.0.weight"])


def test_a_failed_load_leaves_every_value_as_it_was() -> None:
    m, _ = _pair(seed=7)
    before = _numpy_sd(m.state_dict())
    ckpt = _numpy_sd(_pair(seed=8)[1].state_dict())
    ckpt["1.1.running_mean"] = np.zeros(5)  # a size mismatch, found after the others are copied
    with pytest.raises(RuntimeError, match="size mismatch for 1.1.running_mean"):
        m.load_state_dict(ckpt)
    _assert_same_sd(m.state_dict(), before)
    m.register_load_state_dict_post_hook(lambda module, keys: keys.missing_keys.append("x"))
    with pytest.raises(RuntimeError, match="Missing key"):
        m.load_state_dict(_numpy_sd(_pair(seed=8)[1].state_dict()))
    _assert_same_sd(m.state_dict(), before)


def test_load_hook_handles_remove() -> None:
    m, _ = _pair()
    calls: list[str] = []
    pre = m[1].register_load_state_dict_pre_hook(lambda *a: calls.append("pre"))
    post = m[1].register_load_state_dict_post_hook(lambda *a: calls.append("post") and None)
    private = m[1]._register_load_state_dict_pre_hook(lambda *a: calls.append(f"private {len(a)}"))
    m.load_state_dict(m.state_dict())
    assert calls == ["pre", "private 7", "post"]
    pre.remove()
    private.remove()
    with post:
        m.load_state_dict(m.state_dict())
    m.load_state_dict(m.state_dict())
    assert calls == ["pre", "private 7", "post", "post"]


def test_private_load_pre_hook_with_module() -> None:
    m, t = _pair()
    seen = {}
    for lib, model in (("mc", m), ("torch", t)):
        model[0]._register_load_state_dict_pre_hook(
            lambda *args, lib=lib: seen.__setitem__(lib, (type(args[0]).__name__, len(args))), with_module=True
        )
        model.load_state_dict(model.state_dict())
    assert seen["mc"] == seen["torch"] == ("Linear", 8)


def test_load_state_dict_refuses_a_non_mapping() -> None:
    m, t = _pair()
    for model in (m, t):
        with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
            model.load_state_dict([("0.weight", np.zeros((4, 3)))])


# -- weight_norm: old checkpoints into the parametrization -------------------------------------
def _old_weight_norm_checkpoint(t_module: torch.nn.Module, dim: int | None) -> dict[str, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.utils.weight_norm(t_module, dim=dim)
    with torch.no_grad():  # a g that is not simply ||v||
        old.weight_g.mul_(torch.linspace(0.5, 2.0, old.weight_g.numel()).reshape(old.weight_g.shape))
    return old.state_dict()


def _layer_pair(kind: str, shape: tuple[int, ...]) -> tuple[mc.nn.Module, torch.nn.Module]:
    if kind == "linear":
        return mc.nn.Linear(shape[1], shape[0]).double(), torch.nn.Linear(shape[1], shape[0]).double()
    out_c, in_c, k = shape
    return mc.nn.Conv2d(in_c, out_c, k).double(), torch.nn.Conv2d(in_c, out_c, k).double()


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["linear", "conv"]),
    out_f=st.integers(1, 4),
    in_f=st.integers(1, 4),
    k=st.integers(1, 3),
    dim=st.sampled_from([0, 1, -1, None]),
    seed=st.integers(0, 2**16),
)
def test_old_weight_norm_checkpoint_loads_into_the_parametrization_like_torch(
    kind: str, out_f: int, in_f: int, k: int, dim: int | None, seed: int
) -> None:
    shape = (out_f, in_f) if kind == "linear" else (out_f, in_f, k)
    torch.manual_seed(seed)
    ckpt = _old_weight_norm_checkpoint(_layer_pair(kind, shape)[1], dim)
    assert {"weight_g", "weight_v"} <= set(ckpt)
    m, t = _layer_pair(kind, shape)
    torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    mc_parametrizations.weight_norm(m, dim=dim)
    want = t.load_state_dict(ckpt)
    got = m.load_state_dict({k: v.numpy() for k, v in ckpt.items()})
    assert got == want == ([], [])
    _assert_same_sd(m.state_dict(), t.state_dict())
    assert "parametrizations.weight.original0" in m.state_dict()
    np.testing.assert_allclose(_np(m.weight), _np(t.weight), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("device", devices())
def test_old_weight_norm_checkpoint_in_a_nested_model(device: str) -> None:
    torch.manual_seed(0)
    t_old = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sequential(torch.nn.Conv1d(4, 2, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(t_old[1][0])
    ckpt = t_old.state_dict()
    assert "1.0.weight_g" in ckpt
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sequential(torch.nn.Conv1d(4, 2, 1)))
    m = mc.nn.Sequential(mc.nn.Linear(3, 4), mc.nn.Sequential(mc.nn.Conv1d(4, 2, 1))).to(device)
    torch.nn.utils.parametrizations.weight_norm(t[1][0])
    mc_parametrizations.weight_norm(m[1][0])
    assert m.load_state_dict(ckpt) == t.load_state_dict(ckpt) == ([], [])
    _assert_same_sd(m.state_dict(), t.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(
        mc.backend.to_numpy(m[0](mc.tensor(x, device=device)).array),
        t[0](torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
    )
    np.testing.assert_allclose(_np(m[1][0].weight), _np(t[1][0].weight), rtol=1e-5, atol=1e-7)
    # a checkpoint of the old form with only one of the two keys is not renamed
    partial = {k: v for k, v in ckpt.items() if k != "1.0.weight_v"}
    for model in (m, t):
        result = model.load_state_dict(partial, strict=False)
        assert result.unexpected_keys == ["1.0.weight_g"]
        assert "1.0.parametrizations.weight.original0" in result.missing_keys


def test_minicnn_hook_weight_norm_checkpoint_loads_into_the_parametrization() -> None:
    mc.manual_seed(0)
    old = mc.nn.Linear(5, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        norm_hooks.weight_norm(old)
    new = mc_parametrizations.weight_norm(mc.nn.Linear(5, 3))
    assert new.load_state_dict(old.state_dict()) == ([], [])
    np.testing.assert_allclose(_np(new.weight), _np(old.weight), rtol=1e-6)


# -- the hook-based spectral_norm's state-dict hooks -------------------------------------------
def test_spectral_norm_records_its_version_like_torch() -> None:
    m = norm_hooks.spectral_norm(mc.nn.Linear(3, 4))
    t = torch.nn.utils.spectral_norm(torch.nn.Linear(3, 4))
    for model in (m, t):
        wrapper = (mc.nn.Sequential if model is m else torch.nn.Sequential)(model)
        meta = wrapper.state_dict()._metadata
        assert meta["0"]["spectral_norm"] == {"weight.version": 1}
        assert "spectral_norm" not in meta[""]


@pytest.mark.parametrize("with_metadata", [True, False])
@pytest.mark.parametrize("kind", ["linear", "convtranspose"])
def test_spectral_norm_version_0_checkpoint_is_converted_like_torch(kind: str, with_metadata: bool) -> None:
    torch.manual_seed(0)
    if kind == "linear":
        t_src, t = torch.nn.Linear(5, 4).double(), torch.nn.Linear(5, 4).double()
        m = mc.nn.Linear(5, 4).double()
    else:
        t_src, t = (torch.nn.ConvTranspose2d(3, 2, 2).double() for _ in range(2))
        m = mc.nn.ConvTranspose2d(3, 2, 2).double()
    torch.nn.utils.spectral_norm(t_src)
    t_src(torch.zeros((1, 5) if kind == "linear" else (1, 3, 2, 2), dtype=torch.float64))  # one power iteration
    sd = t_src.state_dict()
    # the version-0 layout: the normalised weight saved, no v
    old = OrderedDict((k, v) for k, v in sd.items() if k != "weight_v")
    old["weight"] = t_src.weight.detach().clone()
    if with_metadata:
        old._metadata = {"": {"version": 1, "spectral_norm": {"weight.version": 0}}}
    torch.nn.utils.spectral_norm(t)
    norm_hooks.spectral_norm(m)
    want = t.load_state_dict(old)
    mc_old = OrderedDict((k, v.numpy()) for k, v in old.items())
    if with_metadata:
        mc_old._metadata = old._metadata
    got = m.load_state_dict(mc_old)
    assert got == want == ([], [])
    _assert_same_sd(m.state_dict(), t.state_dict())
    np.testing.assert_allclose(_np(m.weight_v), sd["weight_v"].numpy(), rtol=1e-6, atol=1e-9)
    m.eval()
    t.eval()
    x = np.ones((1, 5) if kind == "linear" else (1, 3, 2, 2))
    np.testing.assert_allclose(_np(m(mc.tensor(x))), t(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-9)


def test_spectral_norm_version_0_checkpoint_with_missing_keys_like_torch() -> None:
    t = torch.nn.utils.spectral_norm(torch.nn.Linear(3, 2))
    m = norm_hooks.spectral_norm(mc.nn.Linear(3, 2))
    ckpt = {k: v for k, v in t.state_dict().items() if k != "weight_v"}  # neither layout
    results = {}
    for lib, model in (("mc", m), ("torch", t)):
        results[lib] = model.load_state_dict(ckpt if lib == "torch" else _numpy_sd(ckpt), strict=False)
    assert results["mc"] == results["torch"]
    assert results["mc"].missing_keys == ["weight", "weight_v"]


def test_remove_spectral_norm_removes_its_state_dict_hooks() -> None:
    """A deliberate difference: torch leaves the load pre-hook behind, so that the plain
    module's own state dict no longer loads with strict=True."""
    m = norm_hooks.spectral_norm(mc.nn.Linear(3, 2))
    assert len(m._state_dict_hooks) == len(m._load_state_dict_pre_hooks) == 1
    norm_hooks.remove_spectral_norm(m)
    assert len(m._state_dict_hooks) == len(m._load_state_dict_pre_hooks) == 0
    plain = mc.nn.Linear(3, 2)
    assert m.load_state_dict(plain.state_dict()) == ([], [])
    np.testing.assert_array_equal(_np(m.weight), _np(plain.weight))


def test_a_deep_copy_s_load_pre_hook_gets_the_copy_like_torch() -> None:
    m, t = _pair()
    for model in (m, t):
        seen: list[Any] = []
        model.register_load_state_dict_pre_hook(lambda module, *rest, seen=seen: seen.append(module))
        clone = copy.deepcopy(model)
        clone.load_state_dict(clone.state_dict())
        model.load_state_dict(model.state_dict())
        assert seen[0] is clone and seen[1] is model
