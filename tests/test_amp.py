"""Automatic mixed precision against torch's on the CPU: mc.autocast("cpu", dtype=float16) gives
each op category torch's output dtype (float16 for the lower-precision list, float32 for the
losses, the inputs' dtype for the rest) with float16-close values, and gradients in each input's
own dtype; GradScaler gives torch's scale sequence and skips the same steps."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import devices
from fake_gpu import cupy as fake_cupy
from hypothesis import given, settings

import minicnn as mc
import minicnn.nn.functional as F
from minicnn import autocast_state, backend

HALF_TOL = dict(rtol=2e-2, atol=2e-2)


def _run(lib: Any, fn: Any, arrays: list[np.ndarray], grad: bool = True) -> tuple[Any, list[Any]]:
    """``fn(lib, *tensors)`` inside lib's CPU float16 autocast; the output and the inputs' grads."""
    ts = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    with lib.autocast("cpu", dtype=lib.float16):
        out = fn(lib, *ts)
    if grad:
        (
            out.float() * lib.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)).astype(np.float32))
        ).sum().backward()
    return out, [t.grad for t in ts]


def _like_torch(fn: Any, arrays: list[np.ndarray], grad: bool = True) -> None:
    to, tgrads = _run(torch, fn, arrays, grad)
    mo, mgrads = _run(mc, fn, arrays, grad)
    assert str(mo.dtype) == str(to.dtype).replace("torch.", ""), f"dtype {mo.dtype} vs torch {to.dtype}"
    assert tuple(mo.shape) == tuple(to.shape)
    np.testing.assert_allclose(mo.detach().numpy().astype(np.float64), to.detach().double().numpy(), **HALF_TOL)
    for mg, tg in zip(mgrads, tgrads):
        if tg is None:
            continue
        assert mg is not None and str(mg.dtype) == str(tg.dtype).replace("torch.", "")
        np.testing.assert_allclose(mg.numpy().astype(np.float64), tg.double().numpy(), **HALF_TOL)


def _f32(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _fn(lib: Any, name: str) -> Any:
    return getattr(F if lib is mc else TF, name)


LOWER_OPS = {
    "linear": (
        lambda lib, x, w, b: _fn(lib, "linear")(x, w, b),
        lambda r, n, k, m: [_f32(r, n, k), _f32(r, m, k), _f32(r, m)],
    ),
    "matmul": (lambda lib, a, b: a @ b, lambda r, n, k, m: [_f32(r, 2, n, k), _f32(r, k, m)]),
    "mm": (lambda lib, a, b: lib.mm(a, b), lambda r, n, k, m: [_f32(r, n, k), _f32(r, k, m)]),
    "bmm": (lambda lib, a, b: lib.bmm(a, b), lambda r, n, k, m: [_f32(r, 2, n, k), _f32(r, 2, k, m)]),
    "addmm": (
        lambda lib, c, a, b: lib.addmm(c, a, b),
        lambda r, n, k, m: [_f32(r, n, m), _f32(r, n, k), _f32(r, k, m)],
    ),
    "baddbmm": (
        lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=0.5),
        lambda r, n, k, m: [_f32(r, 2, n, m), _f32(r, 2, n, k), _f32(r, 2, k, m)],
    ),
    "addbmm": (
        lambda lib, c, a, b: lib.addbmm(c, a, b),
        lambda r, n, k, m: [_f32(r, n, m), _f32(r, 2, n, k), _f32(r, 2, k, m)],
    ),
    "einsum": (lambda lib, a, b: lib.einsum("bij,jk->bik", a, b), lambda r, n, k, m: [_f32(r, 2, n, k), _f32(r, k, m)]),
    "conv1d": (
        lambda lib, x, w, b: _fn(lib, "conv1d")(x, w, b, padding=1),
        lambda r, n, k, m: [_f32(r, 2, k, n + 3), _f32(r, m, k, 3, scale=0.3), _f32(r, m)],
    ),
    "conv2d": (
        lambda lib, x, w, b: _fn(lib, "conv2d")(x, w, b, stride=2, padding=1),
        lambda r, n, k, m: [_f32(r, 2, k, n + 3, n + 2), _f32(r, m, k, 3, 3, scale=0.3), _f32(r, m)],
    ),
    "conv3d": (
        lambda lib, x, w: _fn(lib, "conv3d")(x, w),
        lambda r, n, k, m: [_f32(r, 1, k, 3, n + 2, 4), _f32(r, m, k, 2, 2, 2, scale=0.3)],
    ),
    "conv_transpose1d": (
        lambda lib, x, w: _fn(lib, "conv_transpose1d")(x, w, stride=2),
        lambda r, n, k, m: [_f32(r, 2, k, n + 1), _f32(r, k, m, 3, scale=0.3)],
    ),
    "conv_transpose2d": (
        lambda lib, x, w, b: _fn(lib, "conv_transpose2d")(x, w, b),
        lambda r, n, k, m: [_f32(r, 2, k, n + 1, 3), _f32(r, k, m, 2, 2, scale=0.3), _f32(r, m)],
    ),
    "prelu": (lambda lib, x, w: _fn(lib, "prelu")(x, w), lambda r, n, k, m: [_f32(r, 2, k, n), _f32(r, k)]),
    "sdpa": (
        lambda lib, q, k, v: _fn(lib, "scaled_dot_product_attention")(q, k, v),
        lambda r, n, k, m: [_f32(r, 2, n, k), _f32(r, 2, m, k), _f32(r, 2, m, k)],
    ),
}


@settings(max_examples=6)
@given(
    name=st.sampled_from(sorted(LOWER_OPS)),
    n=st.integers(1, 5),
    k=st.integers(1, 6),
    m=st.integers(1, 5),
    seed=st.integers(0, 99),
)
def test_lower_precision_ops_compute_in_float16_as_torch(name, n, k, m, seed):
    fn, make = LOWER_OPS[name]
    _like_torch(fn, make(np.random.default_rng(seed), n, k, m))


@pytest.mark.parametrize("name", sorted(LOWER_OPS))
def test_every_lower_precision_op_like_torch(name):
    fn, make = LOWER_OPS[name]
    _like_torch(fn, make(np.random.default_rng(1), 3, 4, 2))


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, a, v: lib.mv(a, v),
        lambda lib, a, v: lib.addmv(v[:3] * 0 + 1, a, v),
        lambda lib, a, v: lib.addr(a, v[:3], v),
    ],
    ids=["mv", "addmv", "addr"],
)
def test_cuda_only_lower_ops_stay_float32_on_the_cpu(fn):
    rng = np.random.default_rng(2)
    _like_torch(fn, [_f32(rng, 3, 4), _f32(rng, 4)])


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("bij,jk->bik", [(2, 3, 1), (1, 4)]),  # size-1 contraction: torch multiplies, float32
        ("ij,jk->ik", [(2, 0), (0, 4)]),  # size 0 is no size 1: bmm, float16
        ("ij,ij->ij", [(2, 3), (2, 3)]),
        ("ij,ij->i", [(2, 3), (2, 3)]),
        ("ij,kl->ijkl", [(2, 3), (4, 5)]),
        ("ii,ij->j", [(3, 3), (3, 2)]),
        ("ij->j", [(2, 3)]),
        ("ij,jk,kl->il", [(2, 1), (1, 4), (4, 5)]),  # the last contraction decides
        ("ij,jk,kl->il", [(2, 3), (3, 4), (1, 5)]),
        ("...j,j", [(2, 3), (3,)]),
    ],
)
def test_einsum_is_float16_where_torchs_reaches_bmm(equation, shapes):
    """torch's einsum is not on the autocast list itself; its bmm is, so the result is float16
    only where the (last) pairwise contraction sums a label of size other than 1 on both sides."""
    rng = np.random.default_rng(3)
    _like_torch(lambda lib, *ops: lib.einsum(equation, *ops), [_f32(rng, *s) for s in shapes])


FLOAT32_OPS = {
    "cross_entropy": lambda lib, x: _fn(lib, "cross_entropy")(x, lib.tensor([0, 2, 1, 2])),
    "nll_loss": lambda lib, x: _fn(lib, "nll_loss")(x, lib.tensor([0, 2, 1, 2])),
    "mse_loss": lambda lib, x: _fn(lib, "mse_loss")(x, x.detach() * 0.5),
    "l1_loss": lambda lib, x: _fn(lib, "l1_loss")(x, x.detach() * 0.5),
    "smooth_l1_loss": lambda lib, x: _fn(lib, "smooth_l1_loss")(x, x.detach() * 0.5),
    "huber_loss": lambda lib, x: _fn(lib, "huber_loss")(x, x.detach() * 0.5),
    "kl_div": lambda lib, x: _fn(lib, "kl_div")(x, x.detach().exp(), reduction="batchmean"),
    "bce": lambda lib, x: _fn(lib, "binary_cross_entropy")(x.sigmoid(), x.detach().sigmoid()),
    "bce_logits": lambda lib, x: _fn(lib, "binary_cross_entropy_with_logits")(x, x.detach().sigmoid()),
    # not in torch's CPU float32 list: they stay in the input's float16
    "softmax": lambda lib, x: _fn(lib, "softmax")(x, -1),
    "log_softmax": lambda lib, x: _fn(lib, "log_softmax")(x, -1),
    "relu": lambda lib, x: _fn(lib, "relu")(x),
    "sum": lambda lib, x: x.sum(),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_OPS))
def test_float16_inputs_of_the_float32_list_as_torch(name):
    """float16 activations (from a float16 linear) into the losses give float32 losses, as torch's."""
    rng = np.random.default_rng(3)

    def fn(lib: Any, x: Any, w: Any) -> Any:
        return FLOAT32_OPS[name](lib, _fn(lib, "linear")(x, w))

    _like_torch(fn, [_f32(rng, 4, 5), _f32(rng, 3, 5, scale=0.5)])


@pytest.mark.parametrize("kind", ["layer_norm", "group_norm", "batch_norm"])
def test_float16_activations_into_float32_norm_layers(kind):
    rng = np.random.default_rng(4)
    shape = {"layer_norm": (6,), "group_norm": (2, 6), "batch_norm": (6,)}[kind]

    def fn(lib: Any, x: Any, w: Any, g: Any, b: Any) -> Any:
        h = _fn(lib, "linear")(x, w)
        if kind == "layer_norm":
            return _fn(lib, "layer_norm")(h, shape, g, b)
        if kind == "group_norm":
            return _fn(lib, "group_norm")(h, 2, g, b)
        return _fn(lib, "batch_norm")(h, None, None, g, b, training=True)

    _like_torch(fn, [_f32(rng, 4, 5), _f32(rng, 6, 5), _f32(rng, 6), _f32(rng, 6)])


@pytest.mark.parametrize("device", devices())
def test_float64_and_integers_are_never_cast_and_gradcheck_holds(device):
    """torch casts only float32 (float64 is not eligible): float64 ops under autocast are the
    plain float64 ops, checked with gradcheck."""
    rng = np.random.default_rng(5)
    x = mc.tensor(rng.standard_normal((2, 3, 5, 5)), requires_grad=True, device=device)
    w = mc.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True, device=device)
    lw = mc.tensor(rng.standard_normal((2, 4 * 9)), requires_grad=True, device=device)
    with mc.autocast("cpu"):
        y = F.linear(F.conv2d(x, w, padding=0).reshape(2, -1), lw)
        assert y.dtype == mc.float64
        assert mc.gradcheck(lambda a, b, c: F.linear(F.conv2d(a, b).reshape(2, -1), c), (x, w, lw))
        assert (mc.arange(6).reshape(2, 3) @ mc.arange(3)).dtype == mc.int64


def test_models_under_autocast_like_torch():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 10, 10)).astype(np.float32)
    y = np.array([1, 4])
    results = {}
    for lib in (torch, mc):
        nn = lib.nn
        lib.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 8),
            nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 5),
        )  # fmt: skip
        if lib is mc:
            model.load_state_dict({k: v.detach().numpy() for k, v in results[torch][0].state_dict().items()})
        with lib.autocast("cpu", dtype=lib.float16):
            out = model(lib.tensor(x))
            loss = (F if lib is mc else TF).cross_entropy(out, lib.tensor(y))
        loss.backward()
        results[lib] = (model, out, loss)
    (tm, to, tl), (mm, mo, ml) = results[torch], results[mc]
    assert str(mo.dtype) == "float16" and to.dtype == torch.float16 and ml.dtype == mc.float32
    np.testing.assert_allclose(ml.item(), tl.item(), rtol=5e-3)
    for (name, tp), mp in zip(tm.named_parameters(), mm.parameters()):
        assert mp.grad.dtype == mc.float32, name
        np.testing.assert_allclose(mp.grad.numpy(), tp.grad.numpy(), rtol=2e-2, atol=2e-3, err_msg=name)


def test_regions_nest_switch_off_restore_and_decorate():
    a = mc.randn(3, 3)
    assert not autocast_state.active
    with mc.autocast("cpu") as ctx:
        assert ctx.fast_dtype == mc.float16 and mc.is_autocast_enabled("cpu") and not mc.is_autocast_enabled("cuda")
        assert (a @ a).dtype == mc.float16
        with mc.autocast("cpu", enabled=False):
            assert (a @ a).dtype == mc.float32 and not mc.is_autocast_enabled("cpu")
        assert (a @ a).dtype == mc.float16
    assert (a @ a).dtype == mc.float32 and not autocast_state.active

    @mc.autocast(device_type="cpu")
    def f(x: mc.Tensor) -> mc.Tensor:
        return x @ x

    assert f(a).dtype == mc.float16 and not autocast_state.active
    with pytest.raises(KeyError), mc.amp.autocast("cpu"):
        raise KeyError
    assert not mc.is_autocast_enabled("cpu") and not autocast_state.active
    assert mc.get_autocast_dtype("cpu") == mc.float16 and mc.amp.is_autocast_available("cpu")


def test_autocast_is_per_thread():
    a = mc.randn(3, 3)
    seen = []
    with mc.autocast("cpu"):
        t = threading.Thread(target=lambda: seen.append((a @ a).dtype))
        t.start()
        t.join()
        assert (a @ a).dtype == mc.float16
    assert seen == [mc.float32]


def test_parameter_casts_are_cached_within_a_region():
    lin = mc.nn.Linear(4, 4)
    x = mc.randn(2, 4)
    with mc.autocast("cpu"):
        y1, y2 = lin(x), lin(x)
        cast1 = y1.grad_fn.inputs[1]
        assert cast1 is y2.grad_fn.inputs[1] and cast1.dtype == mc.float16
    with mc.autocast("cpu", cache_enabled=False):
        assert lin(x).grad_fn.inputs[1] is not lin(x).grad_fn.inputs[1]
    with mc.autocast("cpu"):
        assert lin(x).grad_fn.inputs[1] is not cast1  # a new region casts again
    (y1.sum() + y2.sum()).backward()
    assert lin.weight.grad.dtype == mc.float32


def test_unsupported_settings_warn_and_disable_as_torch():
    for dtype in (mc.float32, mc.float64):
        with pytest.warns(UserWarning, match="In CPU autocast, but the target dtype is not supported"):
            ours = mc.autocast("cpu", dtype=dtype)
        with pytest.warns(UserWarning, match="In CPU autocast, but the target dtype is not supported"):
            torch.autocast("cpu", dtype=getattr(torch, str(np.dtype(dtype))))
        with ours:
            assert not mc.is_autocast_enabled("cpu")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        torch.autocast("cuda")
    if not mc.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            ours = mc.autocast("cuda")
        with ours:
            assert not mc.is_autocast_enabled("cuda")
    with pytest.raises(TypeError, match="no bfloat16"):
        mc.autocast("cpu", dtype="bfloat16")
    with pytest.raises(RuntimeError, match="unsupported device_type 'mps'"):
        mc.autocast("mps")
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        mc.autocast(0)


def test_deprecated_namespaces_warn_as_torch():
    with pytest.warns(FutureWarning, match=r"minicnn.cpu.amp.autocast\(args...\)` is deprecated"):
        ctx = mc.cpu.amp.autocast()
    with ctx:
        assert mc.is_autocast_enabled("cpu")
    with pytest.warns(FutureWarning, match="deprecated"):
        mc.cpu.amp.GradScaler()
    with pytest.warns(FutureWarning, match="deprecated"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mc.cuda.amp.autocast()


def test_custom_fwd_casts_inputs_and_bwd_replays_the_state():
    seen = {}

    class Square(mc.autograd.Function):
        @staticmethod
        @mc.amp.custom_fwd(device_type="cpu", cast_inputs=mc.float32)
        def forward(ctx, x):
            seen["fwd"] = (x.dtype, mc.is_autocast_enabled("cpu"))
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @mc.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = mc.is_autocast_enabled("cpu")
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = mc.randn(3, requires_grad=True)
    with mc.autocast("cpu"):
        h = x.half() if hasattr(x, "half") else x.to(mc.float16)
        y = Square.apply(h)
    y.sum().backward()
    assert seen == {"fwd": (mc.float32, False), "bwd": False} and y.dtype == mc.float32


# -- GradScaler ---------------------------------------------------------------------------------


def _train(lib: Any, bad_steps: dict[int, float], steps: int = 9, unscale: bool = False, **kw: Any) -> tuple:
    lin = lib.nn.Linear(3, 2)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) / 10))
        lin.bias.copy_(lib.tensor(np.array([0.1, -0.2], dtype=np.float32)))
    opt = lib.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", **kw)
    x = lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    scales, weights, returns = [], [], []
    for i in range(steps):
        opt.zero_grad()
        with lib.autocast("cpu", dtype=lib.float16):
            loss = lin(x).float().pow(2).mean()
        scaler.scale(loss).backward()
        if i in bad_steps:
            lin.weight.grad[0, 1] = bad_steps[i]
        if unscale:
            scaler.unscale_(opt)
            (lib.nn.utils if lib is torch else mc.nn.utils).clip_grad_norm_(lin.parameters(), 0.5)
        returns.append(scaler.step(opt))
        scaler.update()
        scales.append(scaler.get_scale())
        weights.append(lin.weight.detach().numpy().copy())
    return scales, weights, scaler.state_dict(), returns


@settings(max_examples=8)
@given(
    bad=st.dictionaries(st.integers(0, 8), st.sampled_from([float("inf"), float("-inf"), float("nan")]), max_size=4),
    init_scale=st.sampled_from([1.0, 3.0, 2.0**16]),
    growth_interval=st.integers(1, 3),
    factors=st.sampled_from([(2.0, 0.5), (3.0, 0.25)]),
    unscale=st.booleans(),
)
def test_grad_scaler_follows_torch_step_for_step(bad, init_scale, growth_interval, factors, unscale):
    kw = dict(
        init_scale=init_scale, growth_interval=growth_interval, growth_factor=factors[0], backoff_factor=factors[1]
    )
    ts, tw, tsd, tret = _train(torch, bad, unscale=unscale, **kw)
    ms, mw, msd, mret = _train(mc, bad, unscale=unscale, **kw)
    assert ms == ts and msd == tsd
    assert [r is None for r in mret] == [r is None for r in tret]  # the same skipped steps
    for a, b in zip(mw, tw):  # float16 forward: the losses agree to float16 rounding
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=1e-4)


def test_grad_scaler_disabled_passes_through_and_cuda_without_gpu_disables():
    scaler = mc.amp.GradScaler("cpu", enabled=False)
    loss = mc.tensor(2.0, requires_grad=True)
    assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    opt = mc.optim.SGD([loss], lr=0.1)
    loss.backward()
    scaler.step(opt)
    scaler.update()
    assert loss.item() == pytest.approx(1.9)
    scaler.load_state_dict({})  # nothing to restore, as torch's disabled scaler
    if not mc.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
            theirs = torch.amp.GradScaler("cuda")
        with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
            ours = mc.amp.GradScaler()
        assert ours.is_enabled() is theirs.is_enabled() is False


def test_grad_scaler_errors_as_torch():
    for lib in (torch, mc):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        scaler = lib.amp.GradScaler("cpu")
        with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
            scaler.step(opt)
        scaler.scale((p * 2).sum()).backward()
        scaler.unscale_(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
            scaler.unscale_(opt)
        scaler.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last update"):
            scaler.step(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
            scaler.unscale_(opt)
        scaler.update()
        with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
            scaler.step(opt, closure=lambda: 0)
        with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable of Tensors"):
            scaler.scale(3.0)
        q = lib.tensor([1.0, 2.0])
        outs = scaler.scale([q, (q, q)])
        assert isinstance(outs, list) and isinstance(outs[1], tuple)
        assert float(outs[1][0][0]) == 65536.0
        scaler.update(new_scale=8.0)
        assert scaler.get_scale() == 8.0
        with pytest.raises(RuntimeError, match="The source state dict is empty"):
            lib.amp.GradScaler("cpu").load_state_dict({})
        h = lib.tensor([1.0], dtype=lib.float16, requires_grad=True)
        h.grad = lib.tensor([1.0], dtype=lib.float16)
        with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
            scaler.unscale_(lib.optim.SGD([h], lr=0.1))


def test_grad_scaler_state_dict_round_trip_and_checkpoint():
    ts, _, tsd, _ = _train(torch, {2: float("inf")}, steps=5, init_scale=4.0, growth_interval=2)
    scaler = mc.amp.GradScaler("cpu")
    scaler.load_state_dict(tsd)
    assert scaler.state_dict() == tsd and scaler.get_scale() == ts[-1]
    mc.save({"scaler": scaler.state_dict()}, buf := __import__("io").BytesIO())
    buf.seek(0)
    assert mc.load(buf)["scaler"] == tsd


def test_grad_scaler_on_two_fake_gpus(monkeypatch):
    """Gradients on the (fake) GPUs: unscaled in place there, the inf flags read once per step."""
    monkeypatch.setattr(backend, "_cupy", fake_cupy)
    params = [mc.tensor([1.0, 2.0], device=f"cuda:{i}", requires_grad=True) for i in (0, 1)]
    opt = mc.optim.SGD(params, lr=1.0)
    scaler = mc.amp.GradScaler("cuda", init_scale=4.0, growth_interval=1)
    for bad in (False, True):
        opt.zero_grad()
        loss = (params[0] * 3).sum() + params[1].sum().to("cuda:0")
        scaler.scale(loss).backward()
        if bad:
            params[1].grad[0] = float("nan")
        before = [p.detach().numpy().copy() for p in params]
        scaler.step(opt)
        scaler.update()
        after = [p.detach().numpy() for p in params]
        if bad:
            assert all((a == b).all() for a, b in zip(after, before)) and scaler.get_scale() == 4.0
        else:
            np.testing.assert_allclose(after[0], before[0] - 3.0)
            np.testing.assert_allclose(after[1], before[1] - 1.0)
            assert scaler.get_scale() == 8.0
    assert all(p.grad.device == p.device for p in params)


def test_cuda_lists_on_the_fake_gpu(monkeypatch):
    """autocast("cuda") on (fake) GPU tensors: torch's CUDA lists -- mv also lowered, softmax and
    layer_norm widened to float32 -- with values as torch computes those casts; CPU tensors in
    the same region are left alone (autocast is per device type)."""
    monkeypatch.setattr(backend, "_cupy", fake_cupy)
    rng = np.random.default_rng(7)
    a, v, w = _f32(rng, 3, 4), _f32(rng, 4), _f32(rng, 5, 4)
    g, b = _f32(rng, 5), _f32(rng, 5)
    ta, tv, tw, tg, tb = (torch.tensor(x) for x in (a, v, w, g, b))
    ma, mv, mw, mg, mb = (mc.tensor(x, device="cuda") for x in (a, v, w, g, b))
    with mc.autocast("cuda"):
        h = F.linear(ma, mw)
        got = {
            "mv": mc.mv(ma, mv),
            "linear": h,
            "softmax": F.softmax(h, -1),
            "layer_norm": F.layer_norm(h, (5,), mg, mb),
            "cross_entropy": F.cross_entropy(h, mc.tensor([0, 1, 4], device="cuda")),
            "cpu_matmul": mc.tensor(a) @ mc.tensor(a).T,
        }
    th = TF.linear(ta.half().float(), tw.half().float()).half()  # float16 GEMM result, as torch's CUDA linear
    want = {
        "mv": torch.mv(ta.half().float(), tv.half().float()).half(),
        "linear": th,
        "softmax": TF.softmax(th.float(), -1),
        "layer_norm": TF.layer_norm(th.float(), (5,), tg, tb),
        "cross_entropy": TF.cross_entropy(th.float(), torch.tensor([0, 1, 4])),
        "cpu_matmul": ta @ ta.T,
    }
    for name, t in want.items():
        m = got[name]
        assert str(m.dtype) == str(t.dtype).replace("torch.", ""), name
        assert m.device.type == ("cpu" if name == "cpu_matmul" else "cuda"), name
        np.testing.assert_allclose(m.numpy().astype(np.float64), t.double().numpy(), rtol=2e-3, atol=2e-3, err_msg=name)


def test_low_level_state_functions_switch_autocast_as_torch():
    """mc.set_autocast_enabled / set_autocast_dtype / the nesting and cache functions, as torch's:
    switching autocast on really casts the ops that follow (torch: bfloat16 on the CPU, minicnn float16)."""
    a, b = mc.randn(2, 3), mc.randn(3, 2)
    ta, tb = torch.randn(2, 3), torch.randn(3, 2)
    try:
        for lib, x, y in ((torch, ta, tb), (mc, a, b)):
            lib.set_autocast_enabled("cpu", True)
            assert lib.is_autocast_enabled("cpu") and (x @ y).dtype == lib.get_autocast_dtype("cpu") != lib.float32
            lib.set_autocast_enabled("cpu", False)
            assert not lib.is_autocast_enabled("cpu") and (x @ y).dtype == lib.float32
            lib.set_autocast_enabled(True)  # the deprecated one-argument form: "cuda"
            assert lib.is_autocast_enabled() and lib.is_autocast_enabled("cuda") and not lib.is_autocast_enabled("cpu")
            lib.set_autocast_enabled(False)
            assert [lib.autocast_increment_nesting() for _ in range(2)] == [1, 2]
            assert [lib.autocast_decrement_nesting() for _ in range(3)] == [1, 0, -1]
            lib.autocast_increment_nesting()
            assert lib.is_autocast_cache_enabled()
            lib.set_autocast_cache_enabled(False)
            assert not lib.is_autocast_cache_enabled()
            lib.set_autocast_cache_enabled(True)
            lib.clear_autocast_cache()
            for bad_args in ((1,), ("cpu", 1)):
                with pytest.raises(TypeError):
                    lib.set_autocast_enabled(*bad_args)
            with pytest.raises(RuntimeError):
                lib.set_autocast_enabled("foo", True)
        assert not autocast_state.active
        mc.set_autocast_dtype("cpu", mc.float32)  # casts to float32: the lower-precision list stays float32
        mc.set_autocast_enabled("cpu", True)
        assert (a @ b).dtype == mc.float32
        mc.set_autocast_enabled("cpu", False)
        param = mc.randn(3, 2, requires_grad=True)
        mc.set_autocast_dtype("cpu", mc.float16)
        mc.set_autocast_enabled("cpu", True)
        assert (a @ param).dtype == mc.float16 and autocast_state._state()["cache"]  # the parameter's cast is cached
        mc.clear_autocast_cache()
        assert not autocast_state._state()["cache"]
    finally:
        for lib in (torch, mc):
            lib.set_autocast_enabled("cpu", False)
            lib.set_autocast_dtype("cpu", torch.bfloat16 if lib is torch else mc.float16)
    assert not autocast_state.active


@pytest.mark.parametrize(
    "name, args, now",
    [
        ("is_autocast_cpu_enabled", (), "is_autocast_enabled('cpu')"),
        ("set_autocast_cpu_enabled", (False,), "set_autocast_enabled('cpu', enabled)"),
        ("get_autocast_cpu_dtype", (), "get_autocast_dtype('cpu')"),
        ("set_autocast_cpu_dtype", ("float16",), "set_autocast_dtype('cpu', dtype)"),
        ("get_autocast_gpu_dtype", (), "get_autocast_dtype('cuda')"),
        ("set_autocast_gpu_dtype", ("float16",), "set_autocast_dtype('cuda', dtype)"),
    ],
)
def test_deprecated_cpu_gpu_state_forms_warn_as_torch(name: str, args: tuple, now: str):
    for lib in (torch, mc):
        before = lib.get_autocast_dtype("cpu"), lib.get_autocast_dtype("cuda")
        with pytest.warns(DeprecationWarning, match=rf"\.{now.split('(')[0]}\("):
            got = getattr(lib, name)(*(getattr(lib, a) if isinstance(a, str) else a for a in args))
        if name.startswith("get"):
            assert got == (before[0] if "cpu" in name else before[1])
        lib.set_autocast_dtype("cpu", before[0])
        lib.set_autocast_dtype("cuda", before[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        mc.set_autocast_cpu_enabled(True)
        assert mc.is_autocast_enabled("cpu") and mc.is_autocast_cpu_enabled()
        mc.set_autocast_cpu_enabled(False)
    assert not autocast_state.active
