"""F.gumbel_softmax, F.pdist, F.embedding_bag and nn.EmbeddingBag against torch 2.14.

gumbel_softmax: torch's own function runs with its Gumbel draw replaced by a known one
(``Tensor.exponential_`` patched to write given Exponential(1) samples), minicnn's with the
same samples handed to ``gumbel_softmax_from_noise``; the drawing function itself is checked
for determinism under ``mc.manual_seed`` and for the sampled categories' frequencies.
pdist: forward and backward for every kind of p (0, < 1, 1, (1, 2), 2, > 2, inf), with
coinciding rows and tied coordinates (torch's zero-distance and tie rules), and its second
derivatives (torch's PdistBackwardBackward), also numerically with mc.gradgradcheck.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn.embedding import EmbeddingBag
from minicnn.ops.embedding import embedding_bag
from minicnn.ops.pdist import pdist
from minicnn.ops.sampling import gumbel_softmax, gumbel_softmax_from_noise, sample_gumbel

# --------------------------------------------------------------------------------------
# gumbel_softmax


class torch_noise:  # noqa: N801 - a context manager used like a function
    """Within the block, torch's ``Tensor.exponential_`` writes the given samples."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = samples

    def __enter__(self) -> None:
        self.original = torch.Tensor.exponential_
        samples = self.samples

        def fill(t: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
            return t.copy_(torch.tensor(samples))

        torch.Tensor.exponential_ = fill

    def __exit__(self, *exc: Any) -> None:
        torch.Tensor.exponential_ = self.original


def gumbel_pair(samples: np.ndarray, tau: float, hard: bool, dim: int):
    """(minicnn fn, torch fn) of the logits with the Gumbel noise -log(samples) on both sides."""

    def mc_fn(x: mc.Tensor) -> mc.Tensor:
        noise = mc.tensor(-np.log(samples).astype(x.dtype), device=x.device)
        return gumbel_softmax_from_noise(x, noise, tau, hard, dim)

    def torch_fn(x: torch.Tensor) -> torch.Tensor:
        with torch_noise(samples.astype(np.float64)):
            return TF.gumbel_softmax(x, tau=tau, hard=hard, dim=dim)

    return mc_fn, torch_fn


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, tau=st.sampled_from([0.3, 1.0, 2.5]), hard=st.booleans(), seed=st.integers(0, 2**16))
def test_gumbel_softmax_matches_torch_given_the_same_noise(shape, tau, hard, seed) -> None:
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(-len(shape), len(shape)))
    x = rng.standard_normal(shape)
    samples = rng.standard_exponential(shape)
    mc_fn, torch_fn = gumbel_pair(samples, tau, hard, dim)
    compare_with_torch(mc_fn, torch_fn, [x], seed=seed)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_float32_and_device(device: str, hard: bool) -> None:
    rng = np.random.default_rng(3)
    x, samples = rng.standard_normal((3, 5)), rng.standard_exponential((3, 5))
    mc_fn, torch_fn = gumbel_pair(samples, 0.5, hard, -1)
    compare_with_torch(mc_fn, torch_fn, [x], dtype=np.float32, device=device)


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_double_backward_like_torch(hard: bool) -> None:
    rng = np.random.default_rng(4)
    x, samples = rng.standard_normal((2, 4)), rng.standard_exponential((2, 4))
    mc_fn, torch_fn = gumbel_pair(samples, 0.8, hard, 1)
    double_backward_like_torch(mc_fn, torch_fn, [x])
    noise = mc.tensor(-np.log(samples))
    fn = lambda t: gumbel_softmax_from_noise(t, noise, 0.8, hard, 1)  # noqa: E731
    if not hard:  # (hard: the straight-through gradient is not the derivative of the one-hot forward)
        assert mc.gradcheck(fn, [mc.tensor(x, requires_grad=True)])
    assert mc.gradgradcheck(fn, [mc.tensor(x, requires_grad=True)])


def test_gumbel_softmax_draws_from_the_seeded_generator() -> None:
    x = mc.tensor(np.random.default_rng(5).standard_normal((4, 6)))
    mc.manual_seed(7)
    a = gumbel_softmax(x, tau=0.5, hard=True)
    noise = sample_gumbel((4, 6), np.float64)
    mc.manual_seed(7)
    b = gumbel_softmax(x, tau=0.5, hard=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy().sum(axis=-1), np.ones(4))  # one-hot rows
    assert set(np.unique(a.numpy())) <= {0.0, 1.0}
    c = gumbel_softmax(x, tau=0.5, hard=True)  # a later draw differs from the first
    assert not np.array_equal(noise.numpy(), sample_gumbel((4, 6), np.float64).numpy())
    assert c.shape == (4, 6) and c.dtype == np.float64


def test_gumbel_softmax_hard_samples_follow_the_softmax_of_the_logits() -> None:
    """argmax(logits + G) is a sample of Categorical(softmax(logits)) (the Gumbel-max trick):
    20000 rows, frequencies within 5 standard errors."""
    logits = np.array([0.0, 1.0, -1.0, 2.0])
    n = 20000
    mc.manual_seed(11)
    y = gumbel_softmax(mc.tensor(np.tile(logits, (n, 1))), tau=1.0, hard=True).numpy()
    freq = y.mean(axis=0)
    prob = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_array_less(np.abs(freq - prob), 5 * np.sqrt(prob * (1 - prob) / n))


def test_gumbel_softmax_eps_warns_and_errors() -> None:
    x = mc.tensor(np.zeros((2, 3)))
    with pytest.warns(UserWarning, match="eps"):
        gumbel_softmax(x, eps=1e-3)
    with pytest.raises(TypeError, match="gumbel_softmax"):
        gumbel_softmax(mc.tensor(np.zeros((2, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match="noise of shape"):
        gumbel_softmax_from_noise(x, mc.tensor(np.zeros((3, 2))))


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_of_a_0d_logit_as_torch(hard: bool) -> None:
    """One category: torch's soft and hard samples are 1 (the hard one with the soft gradient 0)."""
    mc_fn, torch_fn = gumbel_pair(np.array(0.7), 0.5, hard, 0)
    compare_with_torch(mc_fn, torch_fn, [np.array(1.5)])
    mc.manual_seed(0)
    assert gumbel_softmax(mc.tensor(np.array(1.5)), hard=hard, dim=-1).item() == 1.0


def test_gumbel_softmax_hard_along_an_empty_dim_raises_as_torch() -> None:
    with pytest.raises(IndexError):
        TF.gumbel_softmax(torch.zeros(3, 0), hard=True)
    with pytest.raises(IndexError, match="gumbel_softmax: hard=True needs a non-empty dim"):
        gumbel_softmax(mc.tensor(np.zeros((3, 0))), hard=True)
    assert gumbel_softmax(mc.tensor(np.zeros((0, 3))), hard=True).shape == (0, 3)  # (empty rows are fine)


# --------------------------------------------------------------------------------------
# pdist

P_VALUES = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf]


def rows_with_ties(n: int, m: int, seed: int) -> np.ndarray:
    """(n, m) normal rows; with n >= 3, row 2 repeats row 0 (a zero distance) and row 1 shares
    coordinate 0 with row 0 (a zero difference)."""
    x = np.random.default_rng(seed).standard_normal((n, m))
    if n >= 3 and m >= 1:
        x[2] = x[0]
        x[1, 0] = x[0, 0]
    return x


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(0, 4), p=st.sampled_from(P_VALUES), seed=st.integers(0, 2**16))
def test_pdist_matches_torch(n: int, m: int, p: float, seed: int) -> None:
    x = rows_with_ties(n, m, seed)
    compare_with_torch(lambda t: pdist(t, p), lambda t: TF.pdist(t, p), [x], seed=seed)


@pytest.mark.parametrize("p", P_VALUES)
def test_pdist_of_no_rows(p: float) -> None:
    """(0, M): no pairs. torch 2.14 returns the empty result too, but its backward crashes
    (a segmentation fault) for p != 0, so only the shapes are checked here."""
    x = mc.tensor(np.zeros((0, 3)), requires_grad=True)
    y = pdist(x, p)
    assert y.shape == tuple(TF.pdist(torch.zeros(0, 3), p).shape) == (0,)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((0, 3)))


@pytest.mark.parametrize("p", P_VALUES)
def test_pdist_torch_rules_at_zero_distance_and_ties(p: float) -> None:
    """Rows equal to others, zero differences and (for inf) tied maxima: torch's gradient."""
    x = np.array([[1.0, 2.0, -2.0], [1.0, 2.0, -2.0], [0.0, 0.0, 0.0], [1.0, -1.0, 3.0]])
    compare_with_torch(lambda t: pdist(t, p), lambda t: TF.pdist(t, p), [x])


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("p", [1.0, 2.0, math.inf])
def test_pdist_float32_and_device(device: str, p: float) -> None:
    x = rows_with_ties(5, 3, 1).astype(np.float32)
    compare_with_torch(lambda t: pdist(t, p), lambda t: TF.pdist(t, p), [x], dtype=np.float32, device=device)


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 2.0, 3.0, math.inf])
def test_pdist_gradcheck_and_gradgradcheck(p: float) -> None:
    x = mc.tensor(np.random.default_rng(2).standard_normal((4, 3)), requires_grad=True)
    assert mc.gradcheck(lambda t: pdist(t, p), [x])
    assert mc.gradgradcheck(lambda t: pdist(t, p), [x])


@pytest.mark.parametrize("p", P_VALUES)
def test_pdist_first_gradient_with_create_graph_is_torchs(p: float) -> None:
    x = rows_with_ties(5, 3, 3)
    g = np.random.default_rng(0).standard_normal(10)
    t = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(TF.pdist(t, p), [t], torch.tensor(g))
    m = mc.tensor(x, requires_grad=True)
    (mg,) = mc.autograd.grad(pdist(m, p), [m], mc.tensor(g), create_graph=True)
    np.testing.assert_allclose(mg.numpy(), tg.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), m=st.integers(0, 3), p=st.sampled_from(P_VALUES + [2.5]), seed=st.integers(0, 2**16))
def test_pdist_double_backward_like_torch(n: int, m: int, p: float, seed: int) -> None:
    x = rows_with_ties(n, m, seed)
    double_backward_like_torch(lambda t: pdist(t, p), lambda t: TF.pdist(t, p), [x], seed=seed)


def test_pdist_second_derivatives_take_memory_linear_in_the_pairs() -> None:
    """backward_graph gathers and scatters the rows: no (pairs x rows) incidence matrix, which
    for 200 rows of 1 value would alone be 19900 x 200 float64 = 32 MB."""
    import tracemalloc  # noqa: PLC0415

    x = mc.tensor(np.random.default_rng(0).standard_normal((200, 1)), requires_grad=True)
    tracemalloc.start()
    try:
        (g,) = mc.autograd.grad(pdist(x).sum(), [x], create_graph=True)
        (g * g).sum().backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12e6, f"{peak / 1e6:.1f} MB"
    assert x.grad.shape == (200, 1)


def test_pdist_errors_and_signature() -> None:
    with pytest.raises(ValueError, match=r"pdist: expected a 2-D input .*\(2, 3, 4\)"):
        pdist(mc.tensor(np.zeros((2, 3, 4))))
    with pytest.raises(ValueError, match="non-negative p"):
        pdist(mc.tensor(np.zeros((2, 3))), -1.0)
    with pytest.raises(TypeError, match="pdist"):
        pdist(mc.tensor(np.zeros((2, 3), dtype=np.int64)))
    assert str(inspect.signature(pdist)).startswith("(input: 'Tensor', p: 'float' = 2)")
    ours = [(q.name, q.default) for q in inspect.signature(gumbel_softmax).parameters.values()]
    assert ours == [("logits", inspect._empty), ("tau", 1), ("hard", False), ("eps", 1e-10), ("dim", -1)]


# --------------------------------------------------------------------------------------
# embedding_bag / EmbeddingBag


def random_bags(rng: np.random.Generator, V: int, n_bags: int, two_d: bool, include_last: bool):
    """(indices, offsets or None): 2-d (B, N) bags, or 1-d indices cut at sorted offsets (some
    bags empty); with include_last_offset one more offset (the total length)."""
    if two_d:
        return rng.integers(0, V, (n_bags, int(rng.integers(1, 4)))), None
    sizes = rng.integers(0, 4, n_bags)
    idx = rng.integers(0, V, int(sizes.sum()))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if include_last:
        offsets = np.concatenate([offsets, [len(idx)]])
    return idx, offsets.astype(np.int64)


def bag_pair(idx: np.ndarray, offsets: Any, **kwargs: Any):
    """(minicnn fn, torch fn) of (weight[, per_sample_weights]) for fixed indices and settings."""

    def mc_fn(w: mc.Tensor, *psw: mc.Tensor) -> mc.Tensor:
        o = None if offsets is None else mc.tensor(offsets, device=w.device)
        return embedding_bag(
            mc.tensor(idx, device=w.device), w, o, per_sample_weights=psw[0] if psw else None, **kwargs
        )

    def torch_fn(w: torch.Tensor, *psw: torch.Tensor) -> torch.Tensor:
        o = None if offsets is None else torch.tensor(offsets)
        return TF.embedding_bag(torch.tensor(idx), w, o, per_sample_weights=psw[0] if psw else None, **kwargs)

    return mc_fn, torch_fn


bag_settings = dict(
    mode=st.sampled_from(["sum", "mean", "max"]),
    two_d=st.booleans(),
    include_last=st.booleans(),
    padding=st.sampled_from([None, 0, -1]),
    weighted=st.booleans(),
    scale=st.booleans(),
    seed=st.integers(0, 2**16),
)


def draw_bag_case(mode, two_d, include_last, padding, weighted, scale, seed):
    rng = np.random.default_rng(seed)
    V, D = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    idx, offsets = random_bags(rng, V, int(rng.integers(1, 5)), two_d, include_last and not two_d)
    scale = scale and mode != "max"  # (max mode refuses scale_grad_by_freq, as torch: tested below)
    kwargs = dict(mode=mode, padding_idx=padding, scale_grad_by_freq=scale, include_last_offset=include_last)
    arrays = [rng.standard_normal((V, D))]
    if weighted and mode == "sum":
        arrays.append(rng.standard_normal(idx.shape))
    return idx, offsets, kwargs, arrays


@settings(max_examples=40, deadline=None)
@given(**bag_settings)
def test_embedding_bag_matches_torch(mode, two_d, include_last, padding, weighted, scale, seed) -> None:
    idx, offsets, kwargs, arrays = draw_bag_case(mode, two_d, include_last, padding, weighted, scale, seed)
    mc_fn, torch_fn = bag_pair(idx, offsets, **kwargs)
    compare_with_torch(mc_fn, torch_fn, arrays, seed=seed)


@settings(max_examples=12, deadline=None)
@given(**bag_settings)
def test_embedding_bag_second_derivatives(mode, two_d, include_last, padding, weighted, scale, seed) -> None:
    """torch 2.14 has no derivative of _embedding_bag_backward: the first gradients taken with
    create_graph=True are compared with torch's, the second derivatives numerically (without
    scale_grad_by_freq, whose gradient is not a derivative)."""
    idx, offsets, kwargs, arrays = draw_bag_case(mode, two_d, include_last, padding, weighted, scale, seed)
    mc_fn, torch_fn = bag_pair(idx, offsets, **kwargs)
    mt = [mc.tensor(a, requires_grad=True) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    v = np.random.default_rng(seed).standard_normal(tuple(torch_fn(*tt).shape))
    ours = mc.autograd.grad(mc_fn(*mt), mt, mc.tensor(v), create_graph=True, allow_unused=True, materialize_grads=True)
    theirs = torch.autograd.grad(torch_fn(*tt), tt, torch.tensor(v), allow_unused=True, materialize_grads=True)
    for m, t in zip(ours, theirs):
        np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)
    if not kwargs["scale_grad_by_freq"]:  # (then the gradient is not the derivative, by design)
        assert mc.gradgradcheck(mc_fn, [mc.tensor(a, requires_grad=True) for a in arrays])


def test_embedding_bag_max_ties_empty_bags_and_gradchecks() -> None:
    w = np.array([[1.0, 5.0], [3.0, 5.0], [3.0, 2.0], [0.0, 0.0]])
    idx, offsets = np.array([0, 1, 2, 3, 3, 1]), np.array([0, 3, 4, 4])
    for mode in ["sum", "mean", "max"]:  # ties go to the first maximum; an all-padding bag and an empty one are 0
        mc_fn, torch_fn = bag_pair(idx, offsets, mode=mode, padding_idx=3)
        compare_with_torch(mc_fn, torch_fn, [w])
    rng = np.random.default_rng(0)
    weight, psw = rng.standard_normal((4, 3)), rng.standard_normal(6)
    fn = lambda a, b: embedding_bag(mc.tensor(idx), a, mc.tensor(offsets), mode="sum", per_sample_weights=b)  # noqa: E731
    inputs = [mc.tensor(weight, requires_grad=True), mc.tensor(psw, requires_grad=True)]
    assert mc.gradcheck(fn, inputs)
    assert mc.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_embedding_bag_max_with_nan_as_torch(dtype: Any) -> None:
    """torch's max keeps a bag's first entry unless a later one is greater: a NaN wins only as
    the first (non-padding) entry of its bag, and the gradient goes to the entry kept."""
    w = np.array([[1.0, np.nan], [2.0, 3.0], [-np.inf, np.inf], [np.nan, -1.0], [5.0, np.nan]])
    idx, offsets = np.array([0, 1, 1, 0, 4, 3, 1, 0, 2, 3, 4, 3, 2]), np.array([0, 2, 5, 5, 8, 10])
    for padding in [None, 3]:
        mc_fn, torch_fn = bag_pair(idx, offsets, mode="max", padding_idx=padding)
        ours, theirs = mc.tensor(w.astype(dtype), requires_grad=True), torch.tensor(w.astype(dtype), requires_grad=True)
        mc_fn(ours).sum().backward()
        torch_fn(theirs).sum().backward()
        np.testing.assert_array_equal(mc_fn(ours).numpy(), torch_fn(theirs).detach().numpy())
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_float32_and_device(device: str, mode: str) -> None:
    rng = np.random.default_rng(1)
    idx, offsets = random_bags(rng, 6, 4, False, False)
    mc_fn, torch_fn = bag_pair(idx, offsets, mode=mode)
    compare_with_torch(mc_fn, torch_fn, [rng.standard_normal((6, 3))], dtype=np.float32, device=device)


def test_embedding_bag_max_norm_renormalises_the_weight_as_torch() -> None:
    rng = np.random.default_rng(2)
    w = rng.standard_normal((5, 3)) * 2
    idx, offsets = np.array([0, 2, 2, 4]), np.array([0, 1])
    mw, tw = mc.tensor(w.copy()), torch.tensor(w.copy())
    out = embedding_bag(mc.tensor(idx), mw, mc.tensor(offsets), max_norm=1.5, norm_type=1.0, mode="sum")
    expected = TF.embedding_bag(torch.tensor(idx), tw, torch.tensor(offsets), max_norm=1.5, norm_type=1.0, mode="sum")
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    np.testing.assert_allclose(mw.numpy(), tw.numpy(), rtol=1e-12)


def test_embedding_bag_module_as_torch() -> None:
    mc.manual_seed(0)
    layer = EmbeddingBag(6, 3, mode="max", padding_idx=-2, include_last_offset=True)
    t_layer = torch.nn.EmbeddingBag(6, 3, mode="max", padding_idx=-2, include_last_offset=True).double()
    assert repr(layer) == repr(t_layer) == "EmbeddingBag(6, 3, mode='max', padding_idx=4)"
    assert layer.padding_idx == t_layer.padding_idx == 4
    np.testing.assert_array_equal(layer.weight.numpy()[4], np.zeros(3))
    assert list(layer.state_dict()) == list(t_layer.state_dict())
    with torch.no_grad():
        t_layer.weight.copy_(torch.from_numpy(layer.weight.numpy()))
    idx, offsets = np.array([1, 4, 2, 0, 5]), np.array([0, 2, 2, 5])
    y = layer(mc.tensor(idx), mc.tensor(offsets))
    ty = t_layer(torch.tensor(idx), torch.tensor(offsets))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), t_layer.weight.grad.numpy(), rtol=1e-12)
    w = mc.tensor(np.ones((3, 2)))
    frozen = EmbeddingBag.from_pretrained(w, mode="sum")
    assert frozen.weight.requires_grad is False and frozen.mode == "sum"
    out = frozen(
        mc.tensor(np.array([[0, 1], [2, 2]])), per_sample_weights=mc.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    )
    np.testing.assert_array_equal(out.numpy(), [[3.0, 3.0], [7.0, 7.0]])
    for ours, theirs in [
        (EmbeddingBag.__init__, torch.nn.EmbeddingBag.__init__),
        (EmbeddingBag.forward, torch.nn.EmbeddingBag.forward),
        (EmbeddingBag.from_pretrained, torch.nn.EmbeddingBag.from_pretrained),
        (embedding_bag, TF.embedding_bag),
    ]:
        a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert [(q.name, q.default) for q in a.values()] == [(q.name, q.default) for q in b.values()]


def test_embedding_bag_errors() -> None:
    w = mc.tensor(np.zeros((4, 2)))
    i1, i2 = mc.tensor(np.array([0, 1, 2])), mc.tensor(np.array([[0, 1], [2, 3]]))
    with pytest.raises(ValueError, match="offsets has to be None"):
        embedding_bag(i2, w, mc.tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match="offsets has to be a 1-d tensor"):
        embedding_bag(i1, w)
    with pytest.raises(ValueError, match=r"offsets\[0\] has to be 0"):
        embedding_bag(i1, w, mc.tensor(np.array([1, 2])))
    with pytest.raises(ValueError, match="non-decreasing"):
        embedding_bag(i1, w, mc.tensor(np.array([0, 2, 1])))
    with pytest.raises(ValueError, match="greater than the input's length 3"):
        embedding_bag(i1, w, mc.tensor(np.array([0, 5])))
    with pytest.raises(ValueError, match="greater than the input's length 3"):  # (torch checks the last one too)
        embedding_bag(i1, w, mc.tensor(np.array([0, 1, 4])), include_last_offset=True)
    with pytest.raises(ValueError, match="non-decreasing"):
        embedding_bag(i1, w, mc.tensor(np.array([0, 2, 1])), include_last_offset=True)
    with pytest.raises(ValueError, match="mode"):
        embedding_bag(i1, w, mc.tensor(np.array([0])), mode="min")
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        embedding_bag(i1, w, mc.tensor(np.array([0])), per_sample_weights=mc.tensor(np.ones(3)))
    for lib in (mc, torch):  # torch's order: the shape of per_sample_weights before the mode
        with pytest.raises(ValueError, match="per_sample_weights"):
            lib.nn.functional.embedding_bag(lib.tensor([[0]]), lib.zeros(4, 2), per_sample_weights=lib.ones(1, 2))
    with pytest.raises(TypeError, match="per_sample_weights of dtype float32 must have the weight's dtype float64"):
        embedding_bag(i1, w, mc.tensor(np.array([0])), mode="sum", per_sample_weights=mc.tensor(np.ones(3, np.float32)))
    with pytest.raises(IndexError, match="index out of range"):
        embedding_bag(mc.tensor(np.array([0, 7])), w, mc.tensor(np.array([0])))
    with pytest.raises(ValueError, match="max mode does not support scaling"):
        embedding_bag(i1, w, mc.tensor(np.array([0])), mode="max", scale_grad_by_freq=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        EmbeddingBag(3, 2, sparse=True)
