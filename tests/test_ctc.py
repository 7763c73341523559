"""CTC loss (F.ctc_loss, torch.ctc_loss's top-level form, nn.CTCLoss) against torch: both
target layouts, unbatched inputs, repeats, empty targets, infeasible alignments, zero_infinity,
every reduction, float32/float64; the slow reference against the fast kernel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels.ctc import ctc_forward, ctc_reference
from minicnn.nn.loss_extra import CTCLoss
from minicnn.ops.activation import log_softmax
from minicnn.ops.ctc import ctc_loss, torch_ctc_loss

SETTINGS = settings(max_examples=30, deadline=None)


def log_probs(rng: np.random.Generator, t: int, n: int, c: int) -> np.ndarray:
    return torch.tensor(rng.normal(0, 2, (t, n, c))).log_softmax(2).numpy()


@st.composite
def problems(draw):
    """(log_probs (T, N, C), padded targets (N, S), input lengths, target lengths, blank): labels
    from few classes (repeats are common), lengths that are often infeasible."""
    t, n, c = draw(st.integers(1, 8)), draw(st.integers(1, 4)), draw(st.integers(2, 5))
    blank = draw(st.integers(0, c - 1))
    width = draw(st.integers(0, 4))
    labels = [k for k in range(c) if k != blank]
    targets = np.array(
        draw(st.lists(st.lists(st.sampled_from(labels), min_size=width, max_size=width), min_size=n, max_size=n))
    )
    targets = targets.reshape(n, width).astype(np.int64)
    tl = draw(st.lists(st.integers(0, width), min_size=n, max_size=n))
    il = draw(st.lists(st.integers(0, t), min_size=n, max_size=n))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return log_probs(rng, t, n, c), targets, il, tl, blank


def concatenated(targets: np.ndarray, tl: list[int]) -> np.ndarray:
    return np.concatenate([row[:k] for row, k in zip(targets, tl)] + [np.zeros(0, np.int64)])


@SETTINGS
@given(
    problems(),
    st.sampled_from(["none", "mean", "sum"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([np.float64, np.float32]),
)
def test_ctc_loss_like_torch(problem, reduction, zero_infinity, padded, dtype):
    lp, targets, il, tl, blank = problem
    tg = targets if padded else concatenated(targets, tl)
    tol = {} if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)
    kw = dict(blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    compare_with_torch(
        lambda x: ctc_loss(x, tg, il, tl, **kw),
        lambda x: TF.ctc_loss(x, torch.tensor(tg), il, tl, **kw),
        [lp],
        dtype=dtype,
        **tol,
    )


@SETTINGS
@given(problems())
def test_reference_equals_the_fast_kernel_and_torch(problem):
    lp, targets, il, tl, blank = problem
    nll, grad = ctc_reference(lp, targets, il, tl, blank)
    fast, _ = ctc_forward(lp, targets, np.array(il), np.array(tl), blank)
    np.testing.assert_allclose(fast, nll, rtol=1e-10)
    x = torch.tensor(lp, requires_grad=True)
    loss = TF.ctc_loss(x, torch.tensor(targets), il, tl, blank=blank, reduction="none")
    np.testing.assert_allclose(nll, loss.detach().numpy(), rtol=1e-10)
    loss.sum().backward()
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("lengths_as", ["tensor", "list", "tuple", "int"])
def test_unbatched_input(reduction, lengths_as):
    lp = log_probs(np.random.default_rng(1), 6, 1, 4)[:, 0]
    target = np.array([1, 1, 3])  # 1-d: the concatenated form (its length is the target length)
    wrap = {
        "tensor": lambda v: (mc.tensor(v), torch.tensor(v)),
        "list": lambda v: ([v], [v]),
        "tuple": lambda v: ((v,), (v,)),
        "int": lambda v: (v, torch.tensor(v)),  # torch takes no plain int; minicnn does
    }[lengths_as]
    (mi, ti), (mt, tt) = wrap(6), wrap(3)
    compare_with_torch(
        lambda x: ctc_loss(x, target, mi, mt, reduction=reduction),
        lambda x: TF.ctc_loss(x, torch.tensor(target), ti, tt, reduction=reduction),
        [lp],
    )


def test_lengths_as_int32_tensors_and_targets_as_tensor():
    rng = np.random.default_rng(2)
    lp = log_probs(rng, 7, 3, 5)
    targets = np.array([[1, 2, 2], [3, 0, 0], [4, 4, 1]])
    il, tl = np.array([7, 6, 5], np.int32), np.array([3, 1, 2], np.int32)
    compare_with_torch(
        lambda x: ctc_loss(x, mc.tensor(targets.astype(np.int32)), mc.tensor(il), mc.tensor(tl), blank=0),
        lambda x: TF.ctc_loss(x, torch.tensor(targets.astype(np.int32)), torch.tensor(il), torch.tensor(tl)),
        [lp],
    )


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_top_level_form_takes_torch_reduction_enum(reduction):
    rng = np.random.default_rng(3)
    lp = log_probs(rng, 5, 2, 4)
    targets, il, tl = np.array([[1, 2], [3, 3]]), [5, 5], [2, 2]
    compare_with_torch(
        lambda x: torch_ctc_loss(x, targets, il, tl, 0, reduction, True),
        lambda x: torch.ctc_loss(x, torch.tensor(targets), il, tl, 0, reduction, True),
        [lp],
    )
    with pytest.raises(ValueError, match="ctc_loss: reduction must be 0"):
        torch_ctc_loss(mc.tensor(lp), targets, il, tl, reduction="mean")


def test_gradcheck_on_log_softmax_inputs():
    """torch's gradient assumes log_softmax inputs: through log_softmax it is the true gradient."""
    rng = np.random.default_rng(4)
    x = mc.tensor(rng.normal(size=(5, 2, 3)), requires_grad=True)
    targets, il, tl = np.array([[1, 1], [2, 0]]), [5, 4], [2, 1]
    for reduction in ("none", "mean"):
        assert mc.gradcheck(lambda v, r=reduction: ctc_loss(log_softmax(v, 2), targets, il, tl, reduction=r), [x])


def test_double_backward_raises_like_torch():
    rng = np.random.default_rng(5)
    lp = log_probs(rng, 4, 1, 3)
    x = torch.tensor(lp, requires_grad=True)
    (g,) = torch.autograd.grad(TF.ctc_loss(x, torch.tensor([[1, 2]]), [4], [2]), x, create_graph=True)
    with pytest.raises(RuntimeError, match="not implemented"):
        g.sum().backward()
    m = mc.tensor(lp, requires_grad=True)
    with pytest.raises(NotImplementedError, match="ctc_loss: create_graph=True is not supported"):
        mc.autograd.grad(ctc_loss(m, [[1, 2]], [4], [2]), [m], create_graph=True)


def test_infeasible_and_empty_cases():
    lp = log_probs(np.random.default_rng(6), 3, 4, 3)
    targets = np.array([[1, 1, 1], [1, 2, 0], [0, 0, 0], [2, 0, 0]])
    il, tl = [3, 3, 0, 0], [3, 2, 0, 1]  # repeats need a blank between: 5 steps > 3; then two empty inputs
    loss = ctc_loss(mc.tensor(lp), targets, il, tl, blank=0, reduction="none").numpy()
    assert np.isinf(loss[0]) and np.isfinite(loss[1]) and loss[2] == 0 and np.isinf(loss[3])
    for zero_infinity in (False, True):
        compare_with_torch(
            lambda x, z=zero_infinity: ctc_loss(x, targets, il, tl, reduction="sum", zero_infinity=z),
            lambda x, z=zero_infinity: TF.ctc_loss(x, torch.tensor(targets), il, tl, reduction="sum", zero_infinity=z),
            [lp],
        )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda lp, t: ctc_loss(lp, t, [6, 5], [2, 2]), ValueError, "input_lengths to have value at most 5"),
        (lambda lp, t: ctc_loss(lp, t, [5, 5], [2, 4]), ValueError, "size at least 4 at dimension 1"),
        (lambda lp, t: ctc_loss(lp, t, [5, -1], [2, 2]), ValueError, "input_lengths to have value at least 0"),
        (lambda lp, t: ctc_loss(lp, t, [5, 5], [2, -1]), ValueError, "target_lengths to have value at least 0"),
        (lambda lp, t: ctc_loss(lp, t, [5], [2, 2]), ValueError, "input_lengths must be of size batch_size"),
        (lambda lp, t: ctc_loss(lp, t, [5, 5], [2]), ValueError, "target_lengths must be of size batch_size"),
        (lambda lp, t: ctc_loss(lp, t, [5, 5], [2, 2], blank=4), ValueError, "blank must be in label range"),
        (lambda lp, t: ctc_loss(lp, t.reshape(-1)[:3], [5, 5], [2, 2]), ValueError, "must have size 4"),
        (lambda lp, t: ctc_loss(lp, t[None], [5, 5], [2, 2]), ValueError, "targets of shape"),
        (lambda lp, t: ctc_loss(lp[None], t, [5, 5], [2, 2]), ValueError, r"log_probs of shape \(T, N, C\)"),
        (lambda lp, t: ctc_loss(lp, t, [5, 5], [2, 2], reduction="avg"), ValueError, "not a valid value"),
        (lambda lp, t: ctc_loss(lp, t + 3, [5, 5], [2, 2]), IndexError, r"label outside \[0, 4\)"),
        (lambda lp, t: ctc_loss(lp.int(), t, [5, 5], [2, 2]), TypeError, "floating-point"),
        (lambda lp, t: ctc_loss(lp, t, [5.0, 5.0], [2, 2]), TypeError, "input_lengths must hold integers"),
    ],
)
def test_errors_name_the_op(call, error, message):
    lp = mc.tensor(log_probs(np.random.default_rng(7), 5, 2, 4))
    with pytest.raises(error, match=message):
        call(lp, mc.tensor([[1, 2, 3], [3, 2, 1]]))


@pytest.mark.parametrize(
    "args",
    [
        (np.zeros((5, 0, 4)), np.zeros((0, 3), np.int64), [], []),  # empty batch
        (None, [[1, 2, 3], [3, 2, 1]], [6, 5], [2, 2]),  # input_lengths beyond T
        (None, [[1, 2, 3], [3, 2, 1]], [5, 5], [2, 4]),
        (None, [[1, 2, 3], [3, 2, 1]], [5], [2, 2]),
        (None, [[1, 2, 3], [3, 2, 1]], [5.0, 5.0], [2, 2]),
    ],
)
def test_errors_are_torchs_runtime_error(args):
    """Where torch raises RuntimeError, so does minicnn (its ValueError/TypeError being one too)."""
    lp, targets, il, tl = args
    lp = log_probs(np.random.default_rng(7), 5, 2, 4) if lp is None else lp
    with pytest.raises(RuntimeError) as theirs:
        TF.ctc_loss(torch.tensor(lp), torch.tensor(targets), torch.tensor(il), torch.tensor(tl))
    with pytest.raises(type(theirs.value)):
        ctc_loss(mc.tensor(lp), mc.tensor(np.array(targets)), mc.tensor(np.array(il)), mc.tensor(np.array(tl)))


def test_module_like_torch():
    rng = np.random.default_rng(8)
    lp = log_probs(rng, 6, 3, 5)
    targets, il, tl = np.array([[1, 2, 2], [4, 0, 0], [3, 3, 3]]), [6, 6, 4], [3, 1, 3]
    ours, theirs = CTCLoss(blank=0, reduction="sum", zero_infinity=True), torch.nn.CTCLoss(0, "sum", True)
    assert repr(ours) == repr(theirs) == "CTCLoss()"
    assert (ours.blank, ours.reduction, ours.zero_infinity) == (0, "sum", True)
    compare_with_torch(lambda x: ours(x, targets, il, tl), lambda x: theirs(x, torch.tensor(targets), il, tl), [lp])


@pytest.mark.parametrize("device", devices())
def test_ctc_on_devices(device):
    rng = np.random.default_rng(9)
    lp = log_probs(rng, 6, 3, 4)
    targets, il, tl = np.array([[1, 2, 2], [3, 0, 0], [1, 1, 1]]), [6, 5, 4], [3, 1, 3]
    tg = concatenated(targets, tl)
    compare_with_torch(
        lambda x: ctc_loss(x, mc.tensor(tg, device=device), il, tl, reduction="mean"),
        lambda x: TF.ctc_loss(x, torch.tensor(tg), il, tl, reduction="mean"),
        [lp],
        device=device,
    )


def test_unbatched_input_with_padded_targets():
    lp = log_probs(np.random.default_rng(10), 6, 1, 4)[:, 0]
    target = np.array([[2, 1, 1, 3]])  # (1, S): padded, target length 3 < S
    for reduction in ("none", "mean"):
        compare_with_torch(
            lambda x, r=reduction: ctc_loss(x, target, [6], [3], reduction=r),
            lambda x, r=reduction: TF.ctc_loss(x, torch.tensor(target), [6], [3], reduction=r),
            [lp],
        )


def test_signatures_match_torch():
    import inspect

    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert params(ctc_loss) == params(TF.ctc_loss)
    assert params(CTCLoss.__init__) == params(torch.nn.CTCLoss.__init__)
    assert params(CTCLoss.forward) == params(torch.nn.CTCLoss.forward)
    # torch.ctc_loss is a builtin without a signature: its ATen schema's names and defaults (Mean = 1)
    P = inspect.Parameter
    assert params(torch_ctc_loss) == [
        *[(n, P.POSITIONAL_OR_KEYWORD, P.empty) for n in ("log_probs", "targets", "input_lengths", "target_lengths")],
        ("blank", P.POSITIONAL_OR_KEYWORD, 0),
        ("reduction", P.POSITIONAL_OR_KEYWORD, 1),
        ("zero_infinity", P.POSITIONAL_OR_KEYWORD, False),
    ]


def test_backward_keeps_few_time_by_class_arrays():
    """The gradient holds the result and one more (T, N, C) array at a time (it used to peak near 5)."""
    import tracemalloc

    rng = np.random.default_rng(11)
    lp = log_probs(rng, 60, 4, 200)
    targets, il, tl = rng.integers(1, 200, (4, 4)), [60, 50, 40, 30], [4, 3, 2, 4]
    x = mc.tensor(lp, requires_grad=True)
    loss = ctc_loss(x, targets, il, tl)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 3 * lp.nbytes, peak / lp.nbytes


@pytest.mark.parametrize("garbage", [np.nan, np.inf, -np.inf])
def test_values_past_the_input_length_do_not_leak(garbage):
    rng = np.random.default_rng(12)
    lp = log_probs(rng, 7, 3, 4)
    targets, il, tl = np.array([[1, 2, 2], [3, 1, 0], [1, 1, 0]]), [5, 7, 3], [3, 2, 2]
    dirty = lp.copy()
    dirty[5:, 0] = garbage
    dirty[3:, 2] = garbage
    for reduction in ("none", "mean"):
        compare_with_torch(
            lambda x, r=reduction: ctc_loss(x, targets, il, tl, reduction=r),
            lambda x, r=reduction: TF.ctc_loss(x, torch.tensor(targets), il, tl, reduction=r),
            [dirty],
        )
    x = mc.tensor(dirty, requires_grad=True)
    ctc_loss(x, targets, il, tl).backward()
    assert np.isfinite(x.grad.numpy()).all() and (x.grad.numpy()[5:, 0] == 0).all()


def test_float32_long_sequences_stay_close_to_float64():
    """Log-space recursions at T=500: float32 within torch's own float32 error of float64."""
    rng = np.random.default_rng(13)
    raw = rng.normal(0, 3, (500, 3, 12))
    targets, il, tl = rng.integers(1, 12, (3, 60)), [500, 400, 250], [60, 45, 30]
    exact = torch.tensor(raw, requires_grad=True)
    loss64 = TF.ctc_loss(exact.log_softmax(2), torch.tensor(targets), il, tl, reduction="none")
    loss64.sum().backward()
    x = mc.tensor(raw.astype(np.float32), requires_grad=True)
    loss32 = ctc_loss(x.log_softmax(2), targets, il, tl, reduction="none")
    loss32.sum().backward()
    assert loss32.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(loss32.numpy(), loss64.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), exact.grad.numpy(), atol=1e-3)


def test_targets_holding_the_blank_get_the_true_gradient():
    """A blank inside the targets (torch documents it as invalid): the loss is torch's, the
    gradient is the exact derivative of that loss (torch's CPU kernel misses a term at the last
    step when the last label is the blank, see kernels/ctc.py)."""
    rng = np.random.default_rng(14)
    raw = rng.normal(size=(5, 2, 4))
    targets, il, tl = np.array([[0, 1], [1, 0]]), [5, 5], [2, 2]
    expected = TF.ctc_loss(torch.tensor(raw).log_softmax(2), torch.tensor(targets), il, tl, reduction="none")
    loss = ctc_loss(log_softmax(mc.tensor(raw), 2), targets, il, tl, reduction="none")
    np.testing.assert_allclose(loss.numpy(), expected.numpy(), rtol=1e-12)
    x = mc.tensor(raw, requires_grad=True)
    assert mc.gradcheck(lambda v: ctc_loss(log_softmax(v, 2), targets, il, tl), [x])
