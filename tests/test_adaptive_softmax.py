"""nn.AdaptiveLogSoftmaxWithLoss and nn.NLLLoss2d against torch (parameters copied from torch's
state dict: outputs, loss, log_prob, predict, gradients of the input and every parameter)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn.loss_extra import AdaptiveLogSoftmaxWithLoss, NLLLoss2d

SETTINGS = settings(max_examples=25, deadline=None)


def twins(in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device="cpu"):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-sized tail projections: "Initializing zero-element tensors"
        theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value, head_bias).double()
        ours = AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value, head_bias, dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours.to(device), theirs


@st.composite
def settings_and_data(draw):
    in_features = draw(st.integers(2, 12))
    n_classes = draw(st.integers(2, 14))
    cutoffs = sorted(draw(st.sets(st.integers(1, n_classes - 1), min_size=1, max_size=3)))
    n = draw(st.integers(1, 6))
    target = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    seed = draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).normal(size=(n, in_features))
    return in_features, n_classes, cutoffs, draw(st.sampled_from([2.0, 4.0])), draw(st.booleans()), x, target


def assert_grads_equal(ours, theirs):
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        expected = np.zeros(tp[name].shape) if tp[name].grad is None else tp[name].grad.numpy()
        got = np.zeros(p.shape) if p.grad is None else p.grad.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=name)


@SETTINGS
@given(settings_and_data())
def test_forward_loss_and_gradients_like_torch(case):
    in_features, n_classes, cutoffs, div_value, head_bias, x, target = case
    ours, theirs = twins(in_features, n_classes, cutoffs, div_value, head_bias)
    mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mo, to = ours(mx, mc.tensor(target)), theirs(tx, torch.tensor(target))
    np.testing.assert_allclose(mo.output.numpy(), to.output.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(mo.loss.numpy(), to.loss.detach().numpy(), rtol=1e-10)
    g = np.random.default_rng(0).normal(size=target.shape)
    ((mo.output * mc.tensor(g)).sum() + mo.loss).backward()
    ((to.output * torch.tensor(g)).sum() + to.loss).backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert_grads_equal(ours, theirs)
    np.testing.assert_allclose(ours.log_prob(mx).numpy(), theirs.log_prob(tx).detach().numpy(), rtol=1e-10)
    np.testing.assert_array_equal(ours.predict(mx).numpy(), theirs.predict(tx).numpy())


def test_predict_in_all_three_of_torchs_cases():
    """predict's three paths: every head argmax in the shortlist, none, and some."""
    x = np.random.default_rng(1).normal(size=(9, 6))
    cases = set()
    for cluster_bias in ([-9.0, -9.0], [0.0, 0.0], [9.0, 9.0]):
        ours, theirs = twins(6, 12, [3, 7], head_bias=True)
        with torch.no_grad():
            theirs.head.bias[3:] = torch.tensor(cluster_bias)
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        rare = theirs.head(torch.tensor(x)).argmax(1) >= 3
        cases.add("none" if not rare.any() else "all" if rare.all() else "some")
        np.testing.assert_array_equal(ours.predict(mc.tensor(x)).numpy(), theirs.predict(torch.tensor(x)).numpy())
    assert cases == {"none", "all", "some"}


def test_unbatched_input():
    ours, theirs = twins(5, 9, [2, 6])
    x = np.random.default_rng(2).normal(size=5)
    for label in (1, 4, 8):
        mo, to = ours(mc.tensor(x), mc.tensor(label)), theirs(torch.tensor(x), torch.tensor(label))
        assert mo.output.shape == tuple(to.output.shape) == ()
        np.testing.assert_allclose(mo.output.numpy(), to.output.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(mo.loss.numpy(), to.loss.detach().numpy(), rtol=1e-10)


def test_parameters_repr_and_result_fields_like_torch():
    ours, theirs = twins(8, 20, [5, 10], head_bias=True)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    assert (ours.cutoffs, ours.shortlist_size, ours.n_clusters, ours.head_size) == (
        theirs.cutoffs,
        theirs.shortlist_size,
        theirs.n_clusters,
        theirs.head_size,
    )
    out = ours(mc.tensor(np.zeros((2, 8))), [0, 19])
    assert out._fields == ("output", "loss") and out.output is out[0]


def test_double_backward_through_the_loss():
    ours, _ = twins(4, 7, [2, 4])
    target = mc.tensor([0, 3, 6])
    x = mc.tensor(np.random.default_rng(3).normal(size=(3, 4)), requires_grad=True)
    assert mc.gradgradcheck(lambda v: ours(v, target).loss, [x])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((8, 20, []), "length larger than 0"),
        ((8, 20, [10, 5]), "unique, positive integers"),
        ((8, 20, [0, 5]), "unique, positive integers"),
        ((8, 20, [5, 20]), "unique, positive integers"),
        ((8, 20, [5, 5]), "unique, positive integers"),
    ],
)
def test_bad_cutoffs(args, message):
    with pytest.raises(ValueError, match=message):
        AdaptiveLogSoftmaxWithLoss(*args)
    with pytest.raises(ValueError):
        torch.nn.AdaptiveLogSoftmaxWithLoss(*args)


def test_bad_inputs_name_the_layer():
    ours, _ = twins(4, 7, [2, 4])
    with pytest.raises(ValueError, match="AdaptiveLogSoftmaxWithLoss: input and target should have the same size"):
        ours(mc.zeros(3, 4, dtype=np.float64), [0, 1])
    with pytest.raises(ValueError, match="0D or 1D target tensor expected"):
        ours(mc.zeros(3, 4, dtype=np.float64), [[0, 1, 2]])
    with pytest.raises(ValueError, match="1D target tensor expects 2D input"):
        ours(mc.zeros(3, 2, 2, dtype=np.float64), [0, 1, 2])
    with pytest.raises(IndexError, match=r"should be in \[0, 6\]"):
        ours(mc.zeros(2, 4, dtype=np.float64), [0, 7])
    for method in ("predict", "log_prob"):  # torch fails on 1-d input too (IndexError); predict's was NumPy's
        with pytest.raises(ValueError, match=rf"AdaptiveLogSoftmaxWithLoss.{method}: expected input of shape \(N, 4\)"):
            getattr(ours, method)(mc.zeros(4, dtype=np.float64))
        with pytest.raises(IndexError):
            getattr(torch.nn.AdaptiveLogSoftmaxWithLoss(4, 7, [2, 4], div_value=1.0), method)(torch.zeros(4))


@pytest.mark.parametrize("device", devices())
def test_adaptive_softmax_on_devices(device):
    ours, theirs = twins(6, 10, [3, 6], head_bias=True, device=device)
    x = np.random.default_rng(4).normal(size=(5, 6))
    target = np.array([0, 4, 9, 2, 7])
    mx, tx = mc.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    mo, to = ours(mx, mc.tensor(target, device=device)), theirs(tx, torch.tensor(target))
    np.testing.assert_allclose(mo.output.numpy(), to.output.detach().numpy(), rtol=1e-10)
    mo.loss.backward()
    to.loss.backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(ours.predict(mx).numpy(), theirs.predict(tx).numpy())


def test_nll_loss_2d_is_nll_loss_like_torch():
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        ours = NLLLoss2d(weight=mc.tensor([1.0, 2.0, 0.5]), ignore_index=1, reduction="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        theirs = torch.nn.NLLLoss2d(weight=torch.tensor([1.0, 2.0, 0.5]), ignore_index=1, reduction="sum")
    assert isinstance(ours, mc.nn.NLLLoss)
    assert repr(ours) == repr(theirs) == "NLLLoss2d()"
    x = torch.randn(2, 3, 4, 5).log_softmax(1).numpy()
    target = np.random.default_rng(5).integers(0, 3, (2, 4, 5))
    mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ml, tl = ours(mx, target), theirs(tx, torch.tensor(target))
    np.testing.assert_allclose(ml.numpy(), tl.detach().numpy(), rtol=1e-5)
    ml.backward()
    tl.backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-5)


# --- F.linear_cross_entropy, nn.LinearCrossEntropyLoss -----------------------------------------


@st.composite
def linear_ce_cases(draw):
    n, d, c = draw(st.integers(1, 7)), draw(st.integers(1, 5)), draw(st.integers(2, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    target = rng.integers(0, c, n)
    ignore_index = draw(st.sampled_from([None, -100, 0]))
    if n > 1 and draw(st.booleans()):
        target[0] = -100 if ignore_index in (None, -100) else ignore_index
    kw = dict(
        reduction=draw(st.sampled_from(["none", "mean", "sum"])),
        ignore_index=ignore_index,
        label_smoothing=draw(st.sampled_from([0.0, 0.15])),
    )
    weight = rng.random(c) + 0.1 if draw(st.booleans()) else None
    chunk = draw(st.sampled_from([None, 1, 2, 3]))
    arrays = [rng.normal(size=(n, d)), rng.normal(size=(c, d))]
    if draw(st.booleans()):
        arrays.append(rng.normal(size=c))
    return arrays, target, weight, kw, chunk


def lce_pair(target, weight, kw, chunk, dtype=np.float64):
    from minicnn.ops.linear_cross_entropy import LinearCrossEntropyOptions, linear_cross_entropy

    options = None if chunk is None else LinearCrossEntropyOptions(batch_chunk_size=chunk)
    mw = None if weight is None else mc.tensor(weight.astype(dtype))
    tw = None if weight is None else torch.tensor(weight.astype(dtype))

    def ours(x, w, b=None):
        return linear_cross_entropy(x, w, target, linear_bias=b, weight=mw, options=options, **kw)

    def theirs(x, w, b=None):
        return torch.nn.functional.linear_cross_entropy(x, w, torch.tensor(target), linear_bias=b, weight=tw, **kw)

    return ours, theirs


@SETTINGS
@given(linear_ce_cases(), st.sampled_from([np.float64, np.float32]))
def test_linear_cross_entropy_like_torch(case, dtype):
    arrays, target, weight, kw, chunk = case
    ours, theirs = lce_pair(target, weight, kw, chunk, dtype)
    compare_with_torch(ours, theirs, arrays, dtype=dtype)


@settings(max_examples=10, deadline=None)
@given(linear_ce_cases())
def test_linear_cross_entropy_double_backward_like_torch(case):
    arrays, target, weight, kw, chunk = case
    ignored = -100 if kw["ignore_index"] is None else kw["ignore_index"]
    if kw["reduction"] == "mean" and (target == ignored).all():
        # every row ignored: the 'mean' is 0/0, where torch's second derivative w.r.t. the seed is
        # NaN although its first gradient is 0 for every seed; minicnn's is that 0's, 0 (a
        # deliberate difference, see test_double_backward_nn._ignored). Keep one row (class 1).
        target = target.copy()
        target[-1] = 1
    ours, theirs = lce_pair(target, weight, kw, chunk)
    double_backward_like_torch(ours, theirs, arrays)


def test_linear_cross_entropy_never_forms_all_logits(monkeypatch):
    """The point of the op: the cross-entropy kernel only ever sees a chunk of rows."""
    from minicnn.kernels import cross_entropy as ce
    from minicnn.ops.linear_cross_entropy import LinearCrossEntropyOptions, linear_cross_entropy

    seen = []
    forward = ce.cross_entropy_forward
    monkeypatch.setattr(ce, "cross_entropy_forward", lambda x, *a: seen.append(x.shape) or forward(x, *a))
    rng = np.random.default_rng(6)
    x, w, target = rng.normal(size=(10, 3)), rng.normal(size=(50, 3)), rng.integers(0, 50, 10)
    mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = linear_cross_entropy(mx, mc.tensor(w), target, options=LinearCrossEntropyOptions(batch_chunk_size=4))
    loss.backward()
    assert max(s[0] for s in seen) == 4 and sum(s[0] for s in seen) == 20  # forward + backward, 4 rows at most
    expected = torch.nn.functional.cross_entropy(tx @ torch.tensor(w).T, torch.tensor(target))
    expected.backward()
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_linear_cross_entropy_gradcheck():
    from minicnn.ops.linear_cross_entropy import LinearCrossEntropyOptions, linear_cross_entropy

    rng = np.random.default_rng(7)
    x, w, b = (mc.tensor(rng.normal(size=s), requires_grad=True) for s in [(5, 3), (4, 3), (4,)])
    target, options = mc.tensor([0, 3, 1, 1, 2]), LinearCrossEntropyOptions(batch_chunk_size=2)
    assert mc.gradcheck(
        lambda *a: linear_cross_entropy(a[0], a[1], target, linear_bias=a[2], label_smoothing=0.1, options=options),
        [x, w, b],
    )


def test_linear_cross_entropy_fallback_forms_like_torch():
    """Unbatched input, K-dimensional weights and probability targets (torch's reference path)."""
    from minicnn.ops.linear_cross_entropy import linear_cross_entropy

    rng = np.random.default_rng(8)
    for arrays, target, kw in [
        ([rng.normal(size=4), rng.normal(size=(5, 4)), rng.normal(size=5)], np.array(3), {"reduction": "none"}),
        (
            [rng.normal(size=(3, 4)), rng.normal(size=(5, 2, 4)), rng.normal(size=(5, 2))],
            rng.integers(0, 5, (3, 2)),
            {},
        ),
        ([rng.normal(size=(3, 4)), rng.normal(size=(5, 4))], rng.dirichlet(np.ones(5), 3), {"label_smoothing": 0.1}),
    ]:
        compare_with_torch(
            lambda x, w, b=None, t=target, kw=kw: linear_cross_entropy(x, w, mc.tensor(t), linear_bias=b, **kw),
            lambda x, w, b=None, t=target, kw=kw: torch.nn.functional.linear_cross_entropy(
                x, w, torch.tensor(t), linear_bias=b, **kw
            ),
            arrays,
        )


def test_linear_cross_entropy_module_like_torch():
    from minicnn.nn.loss_extra import LinearCrossEntropyLoss
    from minicnn.ops.linear_cross_entropy import LinearCrossEntropyOptions

    torch.manual_seed(0)
    theirs = torch.nn.LinearCrossEntropyLoss(
        4, 6, bias=True, ignore_index=2, options=torch.nn.LinearCrossEntropyOptions(batch_chunk_size=3)
    ).double()
    ours = LinearCrossEntropyLoss(
        4, 6, bias=True, ignore_index=2, dtype=np.float64, options=LinearCrossEntropyOptions(batch_chunk_size=3)
    )
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(9).normal(size=(7, 4))
    target = np.array([0, 2, 5, 1, 2, 3, 4])
    mx, tx = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ml, tl = ours(mx, target), theirs(tx, torch.tensor(target))
    np.testing.assert_allclose(ml.numpy(), tl.detach().numpy(), rtol=1e-10)
    ml.backward()
    tl.backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert_grads_equal(ours, theirs)
    k_dim = LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True)
    assert k_dim.linear.weight.shape == (6, 4) and k_dim(mc.zeros(5, 4), np.zeros((5, 2), np.int64)).shape == ()


def test_linear_cross_entropy_signatures_match_torch():
    import inspect

    from minicnn.nn.loss_extra import LinearCrossEntropyLoss
    from minicnn.ops.linear_cross_entropy import LinearCrossEntropyOptions, linear_cross_entropy

    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert params(linear_cross_entropy) == params(torch.nn.functional.linear_cross_entropy)
    assert params(LinearCrossEntropyLoss.__init__) == params(torch.nn.LinearCrossEntropyLoss.__init__)
    assert params(LinearCrossEntropyOptions) == params(torch.nn.LinearCrossEntropyOptions)
    assert repr(LinearCrossEntropyOptions(batch_chunk_size=4)) == repr(
        torch.nn.LinearCrossEntropyOptions(batch_chunk_size=4)
    )


def test_linear_cross_entropy_errors():
    from minicnn.ops.linear_cross_entropy import linear_cross_entropy

    x, w = mc.zeros(3, 4), mc.zeros(5, 4)
    with pytest.raises(ValueError, match="linear_cross_entropy: expected equal input and linear_weight last"):
        linear_cross_entropy(x, mc.zeros(5, 3), [0, 1, 2])
    with pytest.raises(ValueError, match=r"linear_cross_entropy: expected linear_bias shape \(5,\)"):
        linear_cross_entropy(x, w, [0, 1, 2], linear_bias=mc.zeros(4))
    with pytest.raises(ValueError, match="linear_cross_entropy: expected input with dimensionality 1 or 2"):
        linear_cross_entropy(mc.zeros(2, 3, 4), w, [0, 1, 2])
    with pytest.raises(ValueError, match="linear_cross_entropy: needs a target of shape|needs a target"):
        linear_cross_entropy(x, w, [0, 1])
    with pytest.raises(IndexError, match=r"linear_cross_entropy: target holds a class index outside \[0, 5\)"):
        linear_cross_entropy(x, w, [0, 1, 7])
    for args, kw in [
        ((x, w.double()), {}),  # the chunked path used to give float32 silently
        ((x.double(), w), {}),
        ((x, w), {"linear_bias": mc.zeros(5, dtype=np.float64)}),
        ((mc.zeros(3, 4, dtype=np.int64), mc.zeros(5, 4, dtype=np.int64)), {}),
    ]:
        with pytest.raises(TypeError, match="linear_cross_entropy: input, linear_weight and linear_bias must share"):
            linear_cross_entropy(*args, [0, 1, 2], **kw)


@pytest.mark.parametrize("device", devices())
def test_linear_cross_entropy_on_devices(device):
    rng = np.random.default_rng(10)
    ours, theirs = lce_pair(np.array([0, 3, 2, 1, 3]), None, {"reduction": "mean"}, 2)
    compare_with_torch(
        ours, theirs, [rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)], device=device
    )
