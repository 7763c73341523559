"""More losses against torch: binary_cross_entropy (+ with logits), l1, smooth L1, Huber and
KL divergence (forward, gradients of input/target/weight, reductions, broadcasting, legacy
size_average/reduce, warnings, errors, gradchecks), their nn modules (signatures, reprs,
state dicts), and cosine_similarity / normalize (minicnn/ops/similarity.py)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minicnn as mc
from minicnn.nn import loss as NL
from minicnn.ops import loss as L
from minicnn.ops import similarity as S

SETTINGS = settings(max_examples=20, deadline=None)
REDUCTIONS = st.sampled_from(["none", "sum", "mean"])
FLOATS = st.sampled_from([np.float32, np.float64])


def _quiet(fn):
    """Call ``fn`` with torch's and our UserWarnings silenced (the warnings have their own tests)."""

    def call(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args)

    return call


def _with_edges(rng: np.random.Generator, shape: tuple[int, ...], values: list[float]) -> np.ndarray:
    """Uniform [0, 1] values with about a third replaced by the given edge values."""
    a = rng.uniform(0, 1, shape)
    mask = rng.uniform(size=shape) < 0.35
    a[mask] = rng.choice(values, size=int(mask.sum()))
    return a


# -- binary cross-entropy ----------------------------------------------------------------------


@SETTINGS
@given(
    shape=array_shapes(min_dims=0, max_dims=3, max_side=4),
    reduction=REDUCTIONS,
    weighted=st.sampled_from(["none", "full", "last"]),
    target_grad=st.booleans(),
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_binary_cross_entropy(device, shape, reduction, weighted, target_grad, dtype, seed):
    rng = np.random.default_rng(seed)
    x = _with_edges(rng, shape, [0.0, 1.0, 1e-30])  # log clamped at -100; dx bounded by 1/1e-12
    t = _with_edges(rng, shape, [0.0, 1.0])
    if target_grad:  # d/dt = log(1-x) - log(x) is +-inf at x in {0, 1}: torch's too, but keep it finite
        x = rng.uniform(0.01, 0.99, shape)
    arrays = [x, t]
    if weighted == "full" or (weighted == "last" and len(shape) > 0):
        arrays.append(rng.uniform(0.2, 2.0, shape if weighted == "full" else shape[-1:]))

    def mc_fn(a, b, *w):
        return L.binary_cross_entropy(a, b, *w, reduction=reduction)

    def torch_fn(a, b, *w):
        return TF.binary_cross_entropy(a, b, *w, reduction=reduction)

    grads = [True, target_grad, False][: len(arrays)]
    compare_with_torch(mc_fn, torch_fn, arrays, grad_inputs=grads, dtype=dtype, device=device, rtol=1e-5)


def test_binary_cross_entropy_edges_exactly():
    """Probabilities 0 and 1: the clamped logs, the 1e-12 floor of dx and the infinite d/dt."""
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1e-30, 0.5])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.5, 0.3])
    w = np.arange(1.0, 9.0)
    compare_with_torch(
        lambda a, b, c: L.binary_cross_entropy(a, b, c, reduction="none"),
        lambda a, b, c: TF.binary_cross_entropy(a, b, c, reduction="none"),
        [x, t, w],
        grad_inputs=[True, True, False],
    )
    loss = L.binary_cross_entropy(mc.tensor(x), mc.tensor(t), reduction="none").numpy()
    assert loss[2] == loss[3] == 100.0 and np.isfinite(loss).all()


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=4),
    reduction=REDUCTIONS,
    scale=st.sampled_from([1.0, 10.0, 400.0]),
    weighted=st.booleans(),
    pos=st.sampled_from(["none", "last", "full"]),
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_binary_cross_entropy_with_logits(device, shape, reduction, scale, weighted, pos, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale  # large logits: no overflow, torch's values
    t = _with_edges(rng, shape, [0.0, 1.0])
    w = rng.uniform(0.2, 2.0, shape[-1:]) if weighted else None
    p = None if pos == "none" else rng.uniform(0.2, 3.0, shape[-1:] if pos == "last" else shape)

    def run(fn, tensor):
        def call(a, b):
            kw = dict(reduction=reduction)
            if w is not None:
                kw["weight"] = tensor(w.astype(dtype))
            if p is not None:
                kw["pos_weight"] = tensor(p.astype(dtype))
            return fn(a, b, **kw)

        return call

    compare_with_torch(
        run(L.binary_cross_entropy_with_logits, lambda a: mc.tensor(a, device=device)),
        run(TF.binary_cross_entropy_with_logits, torch.tensor),
        [x, t],
        dtype=dtype,
        device=device,
    )


def test_binary_cross_entropy_errors_like_torch():
    half = mc.tensor([0.5, 0.5])
    for bad in ([1.5, 0.5], [float("nan"), 0.5], [-0.1, 0.5]):
        with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
            L.binary_cross_entropy(mc.tensor(bad), half)
        with pytest.raises(RuntimeError):
            TF.binary_cross_entropy(torch.tensor(bad), torch.tensor([0.5, 0.5]))
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        L.binary_cross_entropy(half, mc.tensor([0.5, 2.0]))
    with pytest.raises(ValueError, match="different to the input size"):
        L.binary_cross_entropy(half, mc.tensor([0.5]))
    with pytest.raises(ValueError, match="must be the same as input size"):
        L.binary_cross_entropy_with_logits(half, mc.tensor([0.5]))
    with pytest.raises(ValueError, match="does not broadcast to the input's shape"):
        L.binary_cross_entropy(half, half, weight=mc.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="does not broadcast to the input's shape"):
        L.binary_cross_entropy_with_logits(half, half, pos_weight=mc.ones(2, 2))
    with pytest.raises(TypeError, match="dtype"):
        L.binary_cross_entropy(half, mc.tensor([0.5, 0.5], dtype=np.float64))
    with pytest.raises(TypeError, match="floating"):
        L.binary_cross_entropy(mc.tensor([1, 0]), mc.tensor([1, 0]))
    for fn in (L.binary_cross_entropy, L.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match="not a valid value for reduction"):
            fn(half, half, reduction="foo")
    # torch has no derivative for weight/pos_weight and refuses them when they require grad
    w = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        L.binary_cross_entropy(half, half, w)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'pos_weight'"):
        L.binary_cross_entropy_with_logits(half, half, pos_weight=w)
    with pytest.raises(RuntimeError, match="not differentiable"):
        TF.binary_cross_entropy_with_logits(torch.ones(2), torch.ones(2), pos_weight=torch.ones(2, requires_grad=True))
    with mc.no_grad():
        L.binary_cross_entropy(half, half, w)


# -- l1, smooth L1, Huber ----------------------------------------------------------------------

REGRESSION = {
    "l1": (L.l1_loss, TF.l1_loss, {}),
    "smooth_l1": (L.smooth_l1_loss, TF.smooth_l1_loss, {"beta": [0.0, 0.5, 1.0, 1.5]}),
    "huber": (L.huber_loss, TF.huber_loss, {"delta": [0.25, 0.5, 1.0, 2.0]}),
}


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
    same=st.booleans(),
    reduction=REDUCTIONS,
    param=st.integers(0, 3),
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_losses(name, device, shapes, same, reduction, param, dtype, seed):
    mc_loss, torch_loss, params = REGRESSION[name]
    kw = {k: v[param] for k, v in params.items()}
    rng = np.random.default_rng(seed)
    xs, ts = shapes.input_shapes
    if same:
        ts = xs
    # a grid of quarters: x = t (zero gradient) and |x - t| = beta or delta exactly happen often
    x = rng.integers(-8, 9, xs) / 4
    t = rng.integers(-8, 9, ts) / 4
    compare_with_torch(
        _quiet(lambda a, b: mc_loss(a, b, reduction=reduction, **kw)),
        _quiet(lambda a, b: torch_loss(a, b, reduction=reduction, **kw)),
        [x, t],
        dtype=dtype,
        device=device,
    )


@pytest.mark.parametrize("shape", [(), (3,)])
def test_l1_loss_gradient_at_nan_is_zero_like_torch(shape):
    """torch's sign(NaN) is 0: l1_loss's input and target gradients are 0 where x - t is NaN."""
    x, t = np.full(shape, np.nan), np.full(shape, 0.5)
    grads = []
    for lib in (torch, mc):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(t, requires_grad=True)
        lib.nn.functional.l1_loss(a, b, reduction="sum").backward()
        grads.append((a.grad.numpy(), b.grad.numpy()))
    np.testing.assert_array_equal(grads[1][0], grads[0][0])
    np.testing.assert_array_equal(grads[1][1], grads[0][1])


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=4),
    reduction=REDUCTIONS,
    delta=st.sampled_from([0.5, 1.0]),
    zero_weights=st.booleans(),
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("name", ["l1", "huber"])
def test_weighted_l1_and_huber(name, shapes, reduction, delta, zero_weights, seed):
    """weight (the input's shape): l1 'mean' = sum(w l) / sum(w), Huber 'mean' = mean(w l);
    gradients of input, target and weight."""
    mc_loss, torch_loss, _ = REGRESSION[name]
    kw = {"delta": delta} if name == "huber" else {}
    rng = np.random.default_rng(seed)
    xs, ts = shapes.input_shapes
    w = rng.uniform(0.0, 2.0, xs) * (rng.uniform(size=xs) > 0.3 if zero_weights else 1)
    compare_with_torch(
        _quiet(lambda a, b, c: mc_loss(a, b, reduction=reduction, weight=c, **kw)),
        _quiet(lambda a, b, c: torch_loss(a, b, reduction=reduction, weight=c, **kw)),
        [rng.standard_normal(xs), rng.standard_normal(ts), w],
    )


def test_regression_warnings_and_errors_like_torch():
    x, col = mc.tensor(np.zeros(3)), mc.tensor(np.zeros((3, 1)))
    for name, (fn, tfn, _) in REGRESSION.items():
        with pytest.warns(UserWarning, match=r"target size \(3, 1\) that is different to the input size \(3,\)") as got:
            out = fn(x, col)
        assert got[0].filename == __file__, name  # reported at the caller, as torch's stacklevel=2
        with pytest.warns(UserWarning, match="different to the input size"):
            assert out.shape == tuple(tfn(torch.zeros(3), torch.zeros(3, 1)).shape)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fn(x, x)  # same shapes: no warning
        with pytest.raises(ValueError, match=rf"{name}_loss: input of shape \(3,\) and target of shape \(2,\)"):
            fn(x, mc.tensor(np.zeros(2)))
        with pytest.raises(ValueError, match="not a valid value for reduction"):
            fn(x, x, reduction="foo")
        with pytest.raises(TypeError, match="floating"):
            fn(mc.tensor([1, 2]), mc.tensor([1, 2]))
        with pytest.warns(UserWarning, match="elementwise_mean"):
            fn(x, x, reduction="elementwise_mean")
    with pytest.raises(RuntimeError, match="negative values for beta"):
        L.smooth_l1_loss(x, x, beta=-1.0)
    for delta in (0.0, -1.0):
        with pytest.raises(RuntimeError, match="non-positive values for delta"):
            L.huber_loss(x, x, delta=delta)
    for fn in (L.l1_loss, L.huber_loss):
        with pytest.raises(ValueError, match="Weights and input must have the same size"):
            fn(x, x, weight=mc.tensor(np.ones(1)))
        with pytest.raises(ValueError, match="not a valid value for reduction"):  # torch's weighted path too
            fn(x, x, reduction="elementwise_mean", weight=mc.tensor(np.ones(3)))


def test_mixed_dtypes_like_torch():
    """float32 input with a float64 (or integer) target: the loss's dtype is torch's."""
    a32, b64, bint = np.array([0.2, 0.7], np.float32), np.array([0.0, 1.0]), np.array([0, 1])
    cases = [
        (L.l1_loss, TF.l1_loss, b64),
        (L.smooth_l1_loss, TF.smooth_l1_loss, b64),
        (L.huber_loss, TF.huber_loss, b64),
        (L.kl_div, TF.kl_div, b64),
        (L.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, b64),
        (L.l1_loss, TF.l1_loss, bint),
    ]
    for fn, tfn, b in cases:
        out = fn(mc.tensor(a32), mc.tensor(b), reduction="sum")
        ref = tfn(torch.tensor(a32), torch.tensor(b), reduction="sum")
        assert out.dtype == np.dtype(str(ref.dtype).replace("torch.", "")), fn.__name__
        np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


# -- KL divergence -----------------------------------------------------------------------------


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
    reduction=st.sampled_from(["none", "sum", "mean", "batchmean"]),
    log_target=st.booleans(),
    zeros=st.booleans(),
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_kl_div(device, shapes, reduction, log_target, zeros, dtype, seed):
    rng = np.random.default_rng(seed)
    xs, ts = shapes.input_shapes
    x = np.log(rng.uniform(0.05, 1.0, xs))
    t = rng.uniform(0.0, 1.0, ts)
    if zeros:  # t = 0: loss 0, d/dt nan (torch's xlogy gradient), or t = -inf with log_target
        t[rng.uniform(size=ts) < 0.3] = 0.0
    if log_target:
        with np.errstate(divide="ignore"):
            t = np.log(t)
    compare_with_torch(
        _quiet(lambda a, b: L.kl_div(a, b, reduction=reduction, log_target=log_target)),
        _quiet(lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target)),
        [x, t],
        dtype=dtype,
        device=device,
    )


def test_kl_div_warnings_and_reductions_like_torch():
    x = mc.tensor(np.log(np.full((2, 3), 1 / 3)))
    t = mc.tensor(np.full((2, 3), 0.25))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size") as got:
        L.kl_div(x, t)
    assert got[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reduction in ("none", "sum", "batchmean"):
            L.kl_div(x, t, reduction=reduction)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        L.kl_div(x, t, reduction="foo")
    with pytest.raises(ValueError, match="do not broadcast"):
        L.kl_div(x, mc.tensor(np.zeros(2)))
    # empty batch: 'batchmean' and 'mean' are 0/0 = nan, 'sum' 0, as torch (no numpy warning)
    e = mc.tensor(np.zeros((0, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for reduction in ("batchmean", "sum"):
            ref = TF.kl_div(
                torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.float64), reduction=reduction
            )
            np.testing.assert_equal(L.kl_div(e, e, reduction=reduction).numpy(), ref.numpy())
        assert np.isnan(L.l1_loss(e, e).item()) and np.isnan(L.binary_cross_entropy(e, e).item())
    # a 0-d input: 'batchmean' is the plain sum
    assert L.kl_div(mc.tensor(-1.0), mc.tensor(0.5), reduction="batchmean").item() == pytest.approx(
        TF.kl_div(torch.tensor(-1.0), torch.tensor(0.5), reduction="batchmean").item()
    )


# -- legacy size_average / reduce, keyword calls, signatures ----------------------------------

LEGACY = {
    "binary_cross_entropy": (L.binary_cross_entropy, TF.binary_cross_entropy),
    "binary_cross_entropy_with_logits": (L.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits),
    "l1_loss": (L.l1_loss, TF.l1_loss),
    "smooth_l1_loss": (L.smooth_l1_loss, TF.smooth_l1_loss),
    "kl_div": (L.kl_div, TF.kl_div),
}


def _run_warned(fn, *args, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kw)
    return out, sorted(str(w.message) for w in caught)


@pytest.mark.parametrize("name", sorted(LEGACY))
@pytest.mark.parametrize("size_average", [None, True, False])
@pytest.mark.parametrize("reduce", [None, True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum", "batchmean"])
def test_legacy_size_average_and_reduce(name, size_average, reduce, reduction):
    """Every combination gives torch's value and torch's warnings (kl_div's 'batchmean' after a
    legacy pair divides the legacy result by the batch size, as torch does)."""
    if reduction == "batchmean" and name != "kl_div":
        return
    fn, tfn = LEGACY[name]
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, (2, 3))
    t = rng.uniform(0.0, 1.0, (2, 3))
    if name == "kl_div":
        x = np.log(x)
    kw = dict(size_average=size_average, reduce=reduce, reduction=reduction)
    out, msgs = _run_warned(fn, mc.tensor(x), mc.tensor(t), **kw)
    ref, ref_msgs = _run_warned(tfn, torch.tensor(x), torch.tensor(t), **kw)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    assert msgs == ref_msgs


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize(
    "name",
    ["binary_cross_entropy", "binary_cross_entropy_with_logits", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div"],
)
def test_signatures_and_keyword_calls_match_torch(name):
    fn, tfn = getattr(L, name), getattr(TF, name)
    assert _params(fn) == _params(tfn)
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 0.9, (3, 2))
    t = rng.uniform(0.0, 1.0, (3, 2))
    kw = {"reduction": "sum"}
    if name == "binary_cross_entropy":
        kw.update(weight=np.array([1.0, 2.0]), size_average=None, reduce=None)
    elif name == "binary_cross_entropy_with_logits":
        kw.update(weight=np.array([1.0, 2.0]), pos_weight=np.array([3.0, 0.5]), size_average=None, reduce=None)
    elif name == "smooth_l1_loss":
        kw.update(beta=0.3, size_average=None, reduce=None)
    elif name == "huber_loss":
        kw.update(delta=0.3, weight=rng.uniform(0, 1, (3, 2)))
    elif name == "kl_div":
        kw.update(log_target=True, size_average=None, reduce=None)
    else:
        kw.update(weight=rng.uniform(0, 1, (3, 2)), size_average=None, reduce=None)
    mkw = {k: mc.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out = fn(input=mc.tensor(x), target=mc.tensor(t), **mkw)
    ref = tfn(input=torch.tensor(x), target=torch.tensor(t), **tkw)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)


# -- gradchecks --------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_gradchecks(reduction):
    rng = np.random.default_rng(3)

    def r(*shape, low=-2.0, high=2.0):
        return mc.tensor(rng.uniform(low, high, shape), requires_grad=True)

    p, q = r(3, 4, low=0.05, high=0.95), r(3, 4, low=0.05, high=0.95)
    w = mc.tensor(rng.uniform(0.5, 2, 4))
    x, t, wt = r(3, 4), r(3, 4), r(3, 4, low=0.0, high=2.0)
    assert mc.gradcheck(lambda a, b: L.binary_cross_entropy(a, b, w, reduction=reduction), [p, q])
    assert mc.gradcheck(
        lambda a, b: L.binary_cross_entropy_with_logits(a, b, w, reduction=reduction, pos_weight=w * 2), [x, q]
    )
    assert mc.gradcheck(lambda a, b, c: L.l1_loss(a, b, reduction=reduction, weight=c), [x, t, wt])
    assert mc.gradcheck(lambda a, b: L.smooth_l1_loss(a, b, reduction=reduction, beta=0.7), [x, t])
    assert mc.gradcheck(lambda a, b, c: L.huber_loss(a, b, reduction=reduction, delta=0.6, weight=c), [x, t, wt])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert mc.gradcheck(lambda a, b: L.smooth_l1_loss(a, b, reduction=reduction), [r(3, 1), r(4)])  # broadcast
        assert mc.gradcheck(lambda a, b, c: L.l1_loss(a, b, reduction=reduction, weight=c), [r(3, 1), r(4), r(3, 1)])


@pytest.mark.parametrize("log_target", [False, True])
def test_gradcheck_kl_div(log_target):
    rng = np.random.default_rng(4)
    logp = mc.tensor(np.log(rng.dirichlet(np.ones(4), 3)), requires_grad=True)
    tgt = rng.dirichlet(np.ones(4), 3)
    tgt = mc.tensor(np.log(tgt) if log_target else tgt, requires_grad=True)
    for reduction in ("none", "batchmean"):
        assert mc.gradcheck(
            lambda a, b, red=reduction: L.kl_div(a, b, reduction=red, log_target=log_target), [logp, tgt]
        )


# -- modules -----------------------------------------------------------------------------------

MODULES = ["BCELoss", "BCEWithLogitsLoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss"]


@pytest.mark.parametrize("name", MODULES)
def test_module_signature_repr_state_dict_and_forward(name):
    cls, tcls = getattr(NL, name), getattr(tnn, name)
    assert _params(cls.__init__) == _params(tcls.__init__)
    rng = np.random.default_rng(2)
    w = rng.uniform(0.5, 2.0, 3)
    kw = {"reduction": "sum"}
    if name in ("BCELoss", "BCEWithLogitsLoss"):
        kw["weight"] = w
    if name == "BCEWithLogitsLoss":
        kw["pos_weight"] = w[::-1].copy()
    kw.update(
        {"SmoothL1Loss": {"beta": 0.4}, "HuberLoss": {"delta": 0.4}, "KLDivLoss": {"log_target": True}}.get(name, {})
    )
    m = cls(**{k: mc.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    tm = tcls(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    for key, value in tm.state_dict().items():
        np.testing.assert_array_equal(np.asarray(m.state_dict()[key]), value.numpy())
    x = rng.uniform(0.1, 0.9, (2, 3))
    t = rng.uniform(0.0, 1.0, (2, 3))
    np.testing.assert_allclose(m(mc.tensor(x), mc.tensor(t)).numpy(), tm(torch.tensor(x), torch.tensor(t)).numpy())
    assert cls().reduction == "mean" and list(cls().state_dict()) == list(tcls().state_dict())


def test_module_legacy_arguments():
    for name in ["BCELoss", "BCEWithLogitsLoss", "L1Loss", "SmoothL1Loss", "KLDivLoss"]:
        with pytest.warns(UserWarning, match="reduction='sum'"):
            m = getattr(NL, name)(size_average=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own deprecation warning
            theirs = getattr(tnn, name)(size_average=False).reduction
        assert m.reduction == "sum" == theirs


# -- cosine_similarity and normalize (minicnn/ops/similarity.py) -------------------------------


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
    dim=st.integers(-3, 2),
    eps=st.sampled_from([1e-8, 0.5]),
    zero_row=st.booleans(),
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_cosine_similarity(device, shapes, dim, eps, zero_row, dtype, seed):
    """Broadcast inputs, any valid dim; zero vectors and norms below eps (the gradient flows
    through the clamped norm, as torch's)."""
    ndim = max(len(shapes.result_shape), 1)
    dim = dim % ndim if not -ndim <= dim < ndim else dim
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) * rng.choice([0.1, 1.0]) for s in shapes.input_shapes)
    # A gradient that is 0 up to rounding carries the rounding of terms of size g / ||x||:
    # nonzero entries of at least 1e-2 keep those terms below 100 (8e-5 gave 5e-4 in float32).
    a, b = (np.where(np.abs(v) < 1e-2, np.copysign(1e-2, v), v) for v in (a, b))
    if zero_row and a.size:
        a.reshape(-1)[: max(1, a.size // 2)] = 0.0
    compare_with_torch(
        lambda x, y: S.cosine_similarity(x, y, dim=dim, eps=eps),
        lambda x, y: TF.cosine_similarity(x, y, dim=dim, eps=eps),
        [a, b],
        dtype=dtype,
        device=device,
        atol=1e-4 if dtype == np.float32 else None,  # float32: gradients that are 0 up to rounding (1.5e-5 seen)
    )


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    p=st.sampled_from([2.0, 1.0, 3.0, 0.5, float("inf"), 0.0, -1.0]),
    dims=st.sampled_from([0, -1, (0, -1), 1]),
    eps=st.sampled_from([1e-12, 0.5]),
    zero_row=st.booleans(),
    dtype=FLOATS,
    seed=st.integers(0, 999),
)
@pytest.mark.parametrize("device", devices())
def test_normalize(device, shape, p, dims, eps, zero_row, dtype, seed):
    if dims in (1, (0, -1)) and len(shape) < 2:  # (0, -1) of a 1-d tensor repeats dim 0: an error in both
        dims = 0
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * rng.choice([0.1, 1.0])
    if zero_row:
        x[0] = 0.0
    if p < 1:  # |x|^(p-1) at x = 0 and ties of |x|: keep the values distinct and nonzero
        x = np.where(x == 0, 0.3, x)
    compare_with_torch(
        lambda a: S.normalize(a, p=p, dim=dims, eps=eps),
        lambda a: TF.normalize(a, p=p, dim=dims, eps=eps),
        [x],
        dtype=dtype,
        device=device,
        rtol=1e-4 if dtype == np.float32 else 1e-8,
        atol=1e-4 if dtype == np.float32 else None,  # float32: gradients that are 0 up to rounding (1.3e-5 seen)
    )


def test_similarity_signatures_keywords_and_errors():
    assert _params(S.normalize) == _params(TF.normalize)
    assert [(n, d) for n, _, d in _params(S.cosine_similarity)] == [
        ("x1", inspect.Parameter.empty),
        ("x2", inspect.Parameter.empty),
        ("dim", 1),
        ("eps", 1e-8),
    ]
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(
        S.cosine_similarity(x1=mc.tensor(a), x2=mc.tensor(b), dim=0, eps=1e-6).numpy(),
        TF.cosine_similarity(x1=torch.tensor(a), x2=torch.tensor(b), dim=0, eps=1e-6).numpy(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        S.normalize(input=mc.tensor(a), p=3.0, dim=0, eps=1e-6).numpy(),
        TF.normalize(input=torch.tensor(a), p=3.0, dim=0, eps=1e-6).numpy(),
        rtol=1e-12,
    )
    # out=: written in place and returned, not differentiable (torch raises then too)
    out = mc.tensor(np.zeros((3, 4)))
    assert S.normalize(mc.tensor(a), out=out) is out
    np.testing.assert_allclose(out.numpy(), TF.normalize(torch.tensor(a)).numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        S.normalize(mc.tensor(a, requires_grad=True), out=out)
    with pytest.raises(ValueError, match=r"out has shape \(2,\)"):
        S.normalize(mc.tensor(a), out=mc.tensor(np.zeros(2)))
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        S.cosine_similarity(mc.tensor(a), mc.tensor(b), dim=2)
    with pytest.raises(IndexError):
        S.normalize(mc.tensor(a), dim=2)
    with pytest.raises(ValueError, match=r"x1 of shape \(3, 4\) and x2 of shape \(3,\) do not broadcast"):
        S.cosine_similarity(mc.tensor(a), mc.tensor(np.zeros(3)))
    with pytest.raises(TypeError, match="floating point"):
        S.cosine_similarity(mc.tensor([1, 2]), mc.tensor([1, 2]), dim=0)
    with pytest.raises(TypeError, match="floating point"):
        S.normalize(mc.tensor([1, 2]), dim=0)


def test_gradcheck_similarity():
    rng = np.random.default_rng(6)
    a = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = mc.tensor(rng.standard_normal((1, 4)), requires_grad=True)
    assert mc.gradcheck(lambda x, y: S.cosine_similarity(x, y), [a, b])
    assert mc.gradcheck(lambda x, y: S.cosine_similarity(x, y, dim=0), [a, b])
    for p in (2.0, 1.5, 3.0, 1.0):
        assert mc.gradcheck(lambda x, p=p: S.normalize(x, p=p, dim=1), [a])
    assert mc.gradcheck(lambda x: S.normalize(x, dim=(0, 1)), [a])
