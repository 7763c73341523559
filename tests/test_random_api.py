"""torch's random-sampling API: mc.Generator, the module-level RNG functions, the samplers
(normal, bernoulli, multinomial, poisson, the in-place ``x.*_()`` ones) and the runtime knobs.

Bit-equality with torch's streams is not a goal (different generators); reproducibility is,
and so are the distributions. Each distribution check uses a fixed seed and a bound that a
correct sampler misses with probability below ~1e-6 (KS: sqrt(ln(2/alpha) / (2n)) with
alpha = 1e-6; frequencies: 6 standard errors), and each check is shown to fail for a wrong
parameter, so that it can fail at all.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from conftest import devices

import minicnn as mc
from minicnn import random as mc_random
from minicnn import runtime
from minicnn.data import DataLoader, RandomSampler, TensorDataset, random_split

N = 20_000
KS_BOUND = math.sqrt(math.log(2 / 1e-6) / (2 * N))  # ~0.0190


def ks(sample: np.ndarray, cdf) -> float:
    """The Kolmogorov-Smirnov statistic of ``sample`` against the continuous ``cdf``."""
    x = np.sort(np.asarray(sample, dtype=np.float64).ravel())
    n = len(x)
    f = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def normal_cdf(mean: float, std: float):
    erf = np.vectorize(math.erf)
    return lambda x: 0.5 * (1 + erf((x - mean) / (std * math.sqrt(2))))


def log_normal_cdf(mean: float, std: float):
    return lambda x: normal_cdf(mean, std)(np.log(x))


def cauchy_cdf(median: float, sigma: float):
    return lambda x: 0.5 + np.arctan((x - median) / sigma) / np.pi


def freq_ok(counts: np.ndarray, p: np.ndarray, n: int, sigmas: float = 6.0) -> bool:
    """Observed frequencies within ``sigmas`` standard errors of the probabilities ``p``."""
    se = np.sqrt(p * (1 - p) / n) + 1e-12
    return bool(np.all(np.abs(counts / n - p) <= sigmas * se))


def torch_error(fn_mc, fn_torch) -> None:
    """Both raise; ours a RuntimeError with torch's message (its first line, up to a period)."""
    with pytest.raises(RuntimeError) as theirs:
        fn_torch()
    expected = str(theirs.value).split("\n")[0].split(".  (")[0].rstrip(".")
    with pytest.raises(RuntimeError) as ours:
        fn_mc()
    assert expected in str(ours.value)


# -- Generator ------------------------------------------------------------------------------------
def test_generator_seeding_is_reproducible_and_independent_of_the_library_stream():
    g = mc.Generator()
    assert g.device == "cpu" and g.manual_seed(7) is g and g.initial_seed() == 7
    mc.manual_seed(0)
    before = mc.get_rng_state()
    a = [mc.rand(5, generator=g), mc.randn(3, generator=g), mc.randint(0, 10, (4,), generator=g)]
    a += [mc.randperm(6, generator=g), mc.normal(0.0, 1.0, (3,), generator=g)]
    assert np.array_equal(mc.get_rng_state().numpy(), before.numpy())  # the library stream did not move
    g.manual_seed(7)
    b = [mc.rand(5, generator=g), mc.randn(3, generator=g), mc.randint(0, 10, (4,), generator=g)]
    b += [mc.randperm(6, generator=g), mc.normal(0.0, 1.0, (3,), generator=g)]
    for x, y in zip(a, b):
        assert np.array_equal(x.numpy(), y.numpy())
    assert not np.array_equal(mc.rand(5, generator=mc.Generator().manual_seed(8)).numpy(), a[0].numpy())
    assert mc.Generator().manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    s = g.seed()
    assert s == g.initial_seed() and 0 <= s < 2**64


def test_generator_state_round_trip_and_validation():
    g = mc.Generator().manual_seed(123)
    mc.rand(3, generator=g)  # advance it
    state = g.get_state()
    assert state.dtype == np.uint8 and state.shape == (mc_random.STATE_SIZE,)
    x = mc.randn(4, generator=g)
    assert g.set_state(state) is g
    assert np.array_equal(mc.randn(4, generator=g).numpy(), x.numpy())
    assert g.initial_seed() == 123
    h = mc.Generator().set_state(state)  # a state moves to another Generator
    assert np.array_equal(mc.randn(4, generator=h).numpy(), x.numpy())
    raw = state.numpy()
    g.set_state(state)
    with pytest.raises(TypeError, match="uint8"):
        g.set_state(mc.tensor(raw.astype(np.float32)))
    with pytest.raises(TypeError, match="uint8"):
        g.set_state(raw)
    with pytest.raises(ValueError, match="wrong size"):
        g.set_state(mc.tensor(raw[:-1]))
    bad = raw.copy()
    bad[0] ^= 1
    with pytest.raises(ValueError, match="magic"):
        g.set_state(mc.tensor(bad))
    bad = raw.copy()
    bad[20] &= 0xFE  # the PCG64 increment made even
    with pytest.raises(ValueError, match="corrupt"):
        g.set_state(mc.tensor(bad))
    with pytest.raises(TypeError, match="integer"):
        g.manual_seed(1.5)
    with pytest.raises(ValueError, match="Overflow"):
        g.manual_seed(2**64)
    assert np.array_equal(mc.randn(4, generator=g).numpy(), x.numpy())  # refused states changed nothing


def test_module_level_rng_functions():
    assert mc.manual_seed(5) is mc.default_generator
    assert mc.initial_seed() == 5 == mc.default_generator.initial_seed()
    state = mc.get_rng_state()
    x = mc.rand(4)
    mc.rand(2)
    assert mc.set_rng_state(state) is None
    assert np.array_equal(mc.rand(4).numpy(), x.numpy())
    mc.random.set_rng_state(state)  # the checkpoint function takes the tensor form too
    assert np.array_equal(mc.rand(4).numpy(), x.numpy())
    d = mc.random.get_rng_state()  # the dict form (checkpoints) still works
    y = mc.rand(3)
    mc.random.set_rng_state(d)
    assert np.array_equal(mc.rand(3).numpy(), y.numpy())
    s = mc.seed()
    assert s == mc.initial_seed()
    mc.manual_seed(9)
    with mc.random.fork_rng():
        inside = mc.rand(3)
        mc.manual_seed(100)
        mc.rand(3)
    assert mc.initial_seed() == 9
    assert np.array_equal(mc.rand(3).numpy(), inside.numpy())  # the stream continues as if untouched


def test_data_loading_takes_a_generator():
    ds = TensorDataset(np.arange(20))
    g = mc.Generator()

    def epoch(loader):
        return np.concatenate([b[0].numpy() if isinstance(b, (tuple, list)) else b.numpy() for b in loader])

    first = epoch(DataLoader(ds, batch_size=6, shuffle=True, generator=g.manual_seed(3)))
    again = epoch(DataLoader(ds, batch_size=6, shuffle=True, generator=g.manual_seed(3)))
    assert np.array_equal(first, again) and sorted(first.tolist()) == list(range(20))
    assert list(RandomSampler(range(9), generator=g.manual_seed(1))) == list(
        RandomSampler(range(9), generator=g.manual_seed(1))
    )
    a = random_split(range(10), [3, 7], generator=mc.Generator().manual_seed(4))
    b = random_split(range(10), [3, 7], generator=mc.Generator().manual_seed(4))
    assert [list(s.indices) for s in a] == [list(s.indices) for s in b]


# -- sampling ops ---------------------------------------------------------------------------------
def test_normal_forms_shapes_and_moments():
    g = mc.Generator().manual_seed(0)
    mean, std = mc.tensor([[0.0, 10.0]]), mc.tensor([1.0, 3.0])
    assert mc.normal(mean, std).shape == tuple(torch.normal(torch.zeros(1, 2), torch.ones(2)).shape)
    assert mc.normal(mc.zeros(2, 3), 2.0).dtype == np.float32
    assert mc.normal(0.0, mc.ones(3, dtype=mc.float64)).dtype == np.float64
    assert mc.normal(0.0, 1.0, (2, 3), dtype=mc.float64).dtype == np.float64
    x = mc.normal(mc.zeros(N, 1) + mean, std, generator=g).numpy()
    assert ks(x[:, 0], normal_cdf(0, 1)) < KS_BOUND
    assert ks(x[:, 1], normal_cdf(10, 3)) < KS_BOUND
    assert ks(x[:, 1], normal_cdf(10, 3.6)) > KS_BOUND
    y = mc.normal(2.0, 0.5, size=(N,), generator=g).numpy()
    assert ks(y, normal_cdf(2, 0.5)) < KS_BOUND < ks(y, normal_cdf(2.1, 0.5))
    torch_error(lambda: mc.normal(mc.zeros(2), -1.0), lambda: torch.normal(torch.zeros(2), -1.0))
    torch_error(lambda: mc.normal(0.0, mc.tensor([-1.0])), lambda: torch.normal(0.0, torch.tensor([-1.0])))
    with pytest.raises(TypeError):
        mc.normal(mc.zeros(2, dtype=mc.int64), 1.0)


def test_bernoulli_and_poisson():
    g = mc.Generator().manual_seed(1)
    p = mc.tensor([0.0, 0.2, 0.7, 1.0])
    b = mc.bernoulli(mc.zeros(N, 4) + p, generator=g).numpy()
    assert b.dtype == np.float32 and set(np.unique(b)) <= {0.0, 1.0}
    assert freq_ok(b.sum(0), p.numpy().astype(np.float64), N)
    assert not freq_ok(b.sum(0), np.array([0.0, 0.25, 0.7, 1.0]), N)
    c = mc.zeros(N).bernoulli(0.3, generator=g).numpy()
    assert freq_ok(np.array([c.sum()]), np.array([0.3]), N) and not freq_ok(np.array([c.sum()]), np.array([0.35]), N)
    torch_error(lambda: mc.bernoulli(mc.tensor([0.5]), 1.3), lambda: torch.bernoulli(torch.tensor([0.5]), 1.3))
    torch_error(lambda: mc.bernoulli(mc.tensor([1.5])), lambda: torch.bernoulli(torch.tensor([1.5])))
    lam = 3.5
    k = mc.poisson(mc.full((N,), lam), generator=g).numpy()
    assert k.dtype == np.float32
    pmf = np.array([math.exp(-lam) * lam**i / math.factorial(i) for i in range(8)])
    counts = np.bincount(k.astype(int), minlength=8)[:8]
    assert freq_ok(counts, pmf, N) and not freq_ok(counts, np.roll(pmf, 1), N)
    torch_error(lambda: mc.poisson(mc.tensor([-1.0])), lambda: torch.poisson(torch.tensor([-1.0])))


def _inclusion_probabilities(w: np.ndarray) -> np.ndarray:
    """P(category i among 2 draws without replacement, successive renormalisation)."""
    p = w / w.sum()
    return np.array([p[i] + sum(p[j] * p[i] / (1 - p[j]) for j in range(len(p)) if j != i) for i in range(len(p))])


def test_multinomial_distributions_vectorised_over_rows():
    g = mc.Generator().manual_seed(2)
    w = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 1.0]])
    rows = np.repeat(w, N // 2, axis=0)  # (N, 4): two kinds of rows
    one = mc.multinomial(mc.tensor(rows), 1, generator=g).numpy()[:, 0]
    for r in range(2):
        counts = np.bincount(one[r * N // 2 : (r + 1) * N // 2], minlength=4)
        assert freq_ok(counts, w[r] / w[r].sum(), N // 2)
    assert not freq_ok(np.bincount(one[: N // 2], minlength=4), np.full(4, 0.25), N // 2)
    two = mc.multinomial(mc.tensor(rows[: N // 2]), 2, generator=g).numpy()
    assert two.shape == (N // 2, 2) and two.dtype == np.int64 and np.all(two[:, 0] != two[:, 1])
    inclusion = np.array([np.sum(two == i) for i in range(4)])
    assert freq_ok(inclusion, _inclusion_probabilities(w[0]), N // 2)
    assert not freq_ok(inclusion, np.full(4, 0.5), N // 2)
    zero_last = mc.multinomial(mc.tensor([1.0, 0.0, 2.0]), 3, generator=g).numpy()
    assert sorted(zero_last[:2].tolist()) == [0, 2] and zero_last[2] == 1  # zero weight comes last, as torch
    rep = mc.multinomial(mc.tensor(w), N, replacement=True, generator=g).numpy()
    for r in range(2):
        assert freq_ok(np.bincount(rep[r], minlength=4), w[r] / w[r].sum(), N)
    assert mc.tensor([1.0, 1.0]).multinomial(5, True).shape == (5,)
    for args in [([[0.0, 0.0, 0.0]], 1), ([[-1.0, 1.0, 0.0]], 1), ([1.0, 1.0], 0), ([1.0, 2.0], 3), ([[[1.0]]], 1)]:
        torch_error(
            lambda a=args: mc.multinomial(mc.tensor(a[0]), a[1]),
            lambda a=args: torch.multinomial(torch.tensor(a[0]), a[1]),
        )
    with pytest.raises(RuntimeError, match="floating-point"):
        mc.multinomial(mc.tensor([1, 2]), 1)


def test_randint_like_and_rand_like_follow_torch():
    x = mc.zeros(3, 4)
    r = mc.randint_like(x, 5)
    t = torch.randint_like(torch.zeros(3, 4), 5)
    assert r.shape == tuple(t.shape) and r.dtype == np.float32 and str(t.dtype) == "torch.float32"
    assert r.numpy().min() >= 0 and r.numpy().max() < 5
    s = mc.randint_like(x, 3, 6, dtype=mc.int64, generator=mc.Generator().manual_seed(0)).numpy()
    assert s.dtype == np.int64 and s.min() >= 3 and s.max() < 6
    g = mc.Generator()
    assert np.array_equal(
        mc.rand_like(x, generator=g.manual_seed(1)).numpy(), mc.rand(3, 4, generator=g.manual_seed(1)).numpy()
    )


# -- in-place samplers ----------------------------------------------------------------------------
def sample_(x, name, *args, generator=None):
    """``x.<name>(*args, generator=generator)``. uniform_ and normal_ are still defined in
    minicnn/autograd.py without ``generator=`` (shadowing the h11_random section's): until that is
    integrated they are called through their functions in minicnn/ops/sampling_random.py."""
    if name in ("uniform_", "normal_") and "generator" not in inspect.signature(getattr(mc.Tensor, name)).parameters:
        return getattr(mc.ops.sampling_random, name)(x, *args, generator=generator)
    return getattr(x, name)(*args, generator=generator)


@pytest.mark.parametrize(
    "name, args, cdf, wrong",
    [
        ("exponential_", (2.0,), lambda x: 1 - np.exp(-2.0 * x), lambda x: 1 - np.exp(-2.4 * x)),
        ("log_normal_", (1.0, 0.5), log_normal_cdf(1, 0.5), log_normal_cdf(1.1, 0.5)),
        ("cauchy_", (1.0, 2.0), cauchy_cdf(1, 2), cauchy_cdf(0, 2)),
        ("uniform_", (-1.0, 3.0), lambda x: np.clip((x + 1) / 4, 0, 1), lambda x: np.clip((x + 1) / 4.2, 0, 1)),
        ("normal_", (1.0, 2.0), normal_cdf(1, 2), normal_cdf(1, 2.5)),
    ],
)
def test_continuous_inplace_samplers(name, args, cdf, wrong):
    g = mc.Generator().manual_seed(4)
    x = mc.zeros(N, dtype=mc.float64)
    out = sample_(x, name, *args, generator=g)
    assert out is x and x._version == 1
    assert ks(x.numpy(), cdf) < KS_BOUND < ks(x.numpy(), wrong)
    again = sample_(mc.zeros(N, dtype=mc.float64), name, *args, generator=g.manual_seed(4))
    assert np.array_equal(again.numpy(), x.numpy())


def test_discrete_inplace_samplers():
    g = mc.Generator().manual_seed(5)
    k = mc.zeros(N).geometric_(0.3, generator=g).numpy()
    counts = np.bincount(k.astype(int), minlength=8)[1:8]
    pmf = [np.array([p * (1 - p) ** (i - 1) for i in range(1, 8)]) for p in (0.3, 0.35)]
    assert k.min() >= 1 and freq_ok(counts, pmf[0], N) and not freq_ok(counts, pmf[1], N)
    b = mc.zeros(N, dtype=mc.int64).bernoulli_(0.25, generator=g).numpy()
    assert b.dtype == np.int64 and freq_ok(np.array([b.sum()]), np.array([0.25]), N)
    assert not freq_ok(np.array([b.sum()]), np.array([0.3]), N)
    u = mc.zeros(N, dtype=mc.uint8).random_(generator=g).numpy()
    assert freq_ok(np.bincount(u, minlength=256), np.full(256, 1 / 256), N)
    r = mc.zeros(N).random_(3, generator=g).numpy()
    assert set(np.unique(r)) == {0.0, 1.0, 2.0}
    r = mc.zeros(N, dtype=mc.int32).random_(-2, 2, generator=g).numpy()
    assert set(np.unique(r)) == {-2, -1, 0, 1}
    f = mc.zeros(N).random_(generator=g).numpy()
    assert f.min() >= 0 and f.max() <= 2**24 and f.max() > 2**23  # torch: [0, 2**24] for float32
    big = mc.zeros(N, dtype=mc.int64).random_(generator=g).numpy()
    assert big.min() >= 0 and big.max() > 2**62
    assert mc.zeros(N, dtype=mc.bool).random_(generator=g).numpy().mean() == pytest.approx(0.5, abs=0.03)


def test_inplace_sampler_errors_match_torch():
    cases = [("exponential_", (0,)), ("geometric_", (1,)), ("geometric_", (0,)), ("log_normal_", (1, 0))]
    cases += [("cauchy_", (0, 0)), ("bernoulli_", (1.3,)), ("random_", (5, 3)), ("uniform_", (1, 0))]
    for name, args in cases:
        ours = lambda n=name, a=args: sample_(mc.zeros(3), n, *a)  # noqa: E731
        torch_error(ours, lambda n=name, a=args: getattr(torch.zeros(3), n)(*a))
    for args in [(0, 300), (-1, 3)]:
        ours = lambda a=args: mc.zeros(3, dtype=mc.uint8).random_(*a)  # noqa: E731
        torch_error(ours, lambda a=args: torch.zeros(3, dtype=torch.uint8).random_(*a))
    with pytest.raises(TypeError, match="floating point"):
        mc.zeros(3, dtype=mc.int64).exponential_()
    w = mc.zeros(3, requires_grad=True)
    torch_error(lambda: w.exponential_(), lambda: torch.zeros(3, requires_grad=True).exponential_())
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.random_(0, 5)
    with mc.no_grad():
        w.cauchy_()
        w.geometric_(0.5)
    assert w.numpy().min() >= 1 and w.requires_grad


@pytest.mark.parametrize("device", devices())
def test_samplers_on_a_device(device):
    g = mc.Generator(device)
    a = mc.rand(6, device=device, generator=g.manual_seed(3))
    assert a.device != "cpu" or device == "cpu"
    assert np.array_equal(a.numpy(), mc.rand(6, generator=g.manual_seed(3)).numpy())  # drawn on the host
    x = mc.zeros(50, 3, device=device)
    outs = [
        mc.normal(x, 1.0),
        mc.bernoulli(x + 0.5),
        mc.multinomial(x + 1.0, 2),
        mc.multinomial(x + 1.0, 4, True, generator=g),
        mc.poisson(x + 2.0),
        mc.randint_like(x, 4),
        mc.randperm(5, device=device, generator=g),
    ]
    for name, args in [
        ("exponential_", ()),
        ("geometric_", (0.5,)),
        ("log_normal_", ()),
        ("cauchy_", ()),
        ("random_", (0, 7)),
        ("bernoulli_", (0.5,)),
    ]:
        outs.append(getattr(mc.zeros(50, device=device), name)(*args))
        outs.append(getattr(mc.zeros(50, device=device), name)(*args, generator=g))
    for o in outs:
        assert o.device == a.device and np.all(np.isfinite(o.numpy()))


# -- runtime knobs --------------------------------------------------------------------------------
def test_default_dtype_drives_python_floats_and_factories():
    assert mc.get_default_dtype() == np.float32
    try:
        mc.set_default_dtype(mc.float64)
        assert mc.get_default_dtype() == np.float64
        for t in (
            mc.tensor([1.5, 2.0]),
            mc.tensor(1.5),
            mc.zeros(2),
            mc.ones(2),
            mc.rand(2),
            mc.randn(2),
            mc.full((2,), 1.5),
            mc.arange(0.0, 1.0, 0.5),
            mc.empty(2),
            mc.normal(0.0, 1.0, (2,)),
        ):
            assert t.dtype == np.float64
        assert mc.tensor([1, 2]).dtype == np.int64
        assert "dtype" not in repr(mc.tensor([1.5])) and "float32" in repr(mc.tensor([1.5], dtype=mc.float32))
        with pytest.raises(TypeError, match="floating-point"):
            mc.set_default_dtype(mc.int64)
    finally:
        mc.set_default_dtype(mc.float32)
    assert mc.tensor([1.5]).dtype == np.float32 and mc.zeros(1).dtype == np.float32


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8"])
def test_finfo_iinfo_match_torch(name):
    ours_kind, theirs_kind = (mc.finfo, torch.finfo) if name.startswith("float") else (mc.iinfo, torch.iinfo)
    ours, theirs = ours_kind(getattr(mc, name)), theirs_kind(getattr(torch, name))
    attrs = ["bits", "max", "min", "dtype"]
    if name.startswith("float"):
        attrs += ["eps", "tiny", "smallest_normal", "resolution"]
        with pytest.raises(TypeError, match="iinfo"):
            mc.finfo(mc.int64)
    else:
        with pytest.raises(TypeError, match="finfo"):
            mc.iinfo(mc.float32)
    for a in attrs:
        assert getattr(ours, a) == getattr(theirs, a), a
    assert mc.finfo().dtype == "float32"


def test_num_threads_and_print_options():
    before = mc.get_num_threads()
    try:
        mc.set_num_threads(1)
        assert mc.get_num_threads() == 1
    finally:
        mc.set_num_threads(before)
    assert mc.get_num_threads() == before
    with pytest.raises(RuntimeError, match="positive integer"):
        mc.set_num_threads(0)
    saved = dict(runtime._print)
    try:
        runtime._print.clear()
        assert runtime.print_kwargs() == {}  # NumPy's look until set_printoptions
        mc.set_printoptions(precision=2, threshold=5, edgeitems=1, linewidth=40)
        text = np.array2string(np.array([1.23456, 2.0]), **runtime.print_kwargs())
        assert text == "[1.23 2.  ]"
        assert "..." in np.array2string(np.arange(10.0), **runtime.print_kwargs())
        mc.set_printoptions(sci_mode=True)
        assert "e+00" in np.array2string(np.array([1.5]), **runtime.print_kwargs())
        mc.set_printoptions(profile="full")
        assert "..." not in np.array2string(np.arange(2000.0), **runtime.print_kwargs())
        with pytest.raises(ValueError, match="profile"):
            mc.set_printoptions(profile="long")
    finally:
        runtime._print.clear()
        runtime._print.update(saved)


# -- review fixes (h11_review_random) ---------------------------------------------------------------
def test_multinomial_without_replacement_order_matches_sequential_sampling():
    # torch draws without replacement one category at a time, renormalised over those left: the
    # probability of an ordered triple (i, j, l) from 4 categories, enumerated exactly, must be the
    # frequency of that triple among the exponential-race (Gumbel-top-k) draws (6 standard errors
    # per cell, 24 cells: a false alarm has probability below 24 * 2e-9).
    import itertools  # noqa: PLC0415

    w = np.array([0.5, 0.2, 0.2, 0.1])

    def sequential(order, weights):
        left, prob = weights.copy(), 1.0
        for i in order:
            prob *= left[i] / left.sum()
            left[i] = 0.0
        return prob

    triples = list(itertools.permutations(range(4), 3))
    draws = mc.multinomial(mc.tensor(np.tile(w, (N, 1))), 3, generator=mc.Generator().manual_seed(4)).numpy()
    counts = np.bincount(draws[:, 0] * 16 + draws[:, 1] * 4 + draws[:, 2], minlength=64)
    counts = np.array([counts[i * 16 + j * 4 + k] for i, j, k in triples])
    assert freq_ok(counts, np.array([sequential(t, w) for t in triples]), N)
    wrong = np.array([0.4, 0.3, 0.2, 0.1])
    assert not freq_ok(counts, np.array([sequential(t, wrong) for t in triples]), N)


def test_review_inplace_sampler_argument_checks_match_torch():
    # a tensor p outside [0, 1] was accepted by bernoulli_
    torch_error(
        lambda: mc.zeros(3).bernoulli_(mc.tensor([0.5, 2.0, 0.5])),
        lambda: torch.zeros(3).bernoulli_(torch.tensor([0.5, 2.0, 0.5])),
    )
    torch_error(
        lambda: mc.zeros(2).bernoulli_(mc.tensor([float("nan"), 0.5])),
        lambda: torch.zeros(2).bernoulli_(torch.tensor([float("nan"), 0.5])),
    )
    assert mc.zeros(2, 3).bernoulli_(mc.tensor([0.0, 1.0, 1.0])).numpy().tolist() == [[0, 1, 1]] * 2
    # random_(0) is torch's empty range [0, 0), not random_()
    torch_error(lambda: mc.zeros(3).random_(0), lambda: torch.zeros(3).random_(0))
    assert set(np.unique(mc.zeros(200).random_(to=2).numpy())) == {0.0, 1.0}
    assert mc.zeros(200).random_().numpy().max() > 2
    # geometric_ on bool: torch refuses (not implemented), we raise TypeError
    with pytest.raises(NotImplementedError):
        torch.zeros(3, dtype=torch.bool).geometric_(0.5)
    with pytest.raises(TypeError, match="geometric_"):
        mc.zeros(3, dtype=mc.bool).geometric_(0.5)


def test_normal_of_two_tensors_takes_the_dtype_of_mean():
    for mean_dt, std_dt in (("float32", "float64"), ("float64", "float32")):
        ours = mc.normal(mc.zeros(2, dtype=mean_dt), mc.ones(2, dtype=std_dt))
        theirs = torch.normal(
            torch.zeros(2, dtype=getattr(torch, mean_dt)), torch.ones(2, dtype=getattr(torch, std_dt))
        )
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def test_review_runtime_knobs():
    with pytest.raises(TypeError):
        torch.set_default_dtype(None)
    with pytest.raises(TypeError, match="set_default_dtype"):
        mc.set_default_dtype(None)  # was np.dtype(None): silently float64
    assert mc.get_default_dtype() == np.float32
    assert mc.finfo(mc.float32) == mc.finfo() and mc.finfo(mc.float32) != mc.finfo(mc.float64)
    assert mc.iinfo(mc.int8) == mc.iinfo(mc.int8) and mc.iinfo(mc.int8) != mc.iinfo(mc.uint8)
    assert torch.finfo(torch.float32) == torch.finfo() and torch.iinfo(torch.int8) == torch.iinfo(torch.int8)
    saved = dict(runtime._print)
    try:
        mc.set_printoptions(sci_mode=False)  # never scientific, as torch (NumPy switches at 1e8 otherwise)
        torch.set_printoptions(sci_mode=False)
        ours = repr(mc.tensor([1e-8, 1e8]))
        theirs = repr(torch.tensor([1e-8, 1e8]))
        assert "e" not in ours.replace("tensor", "") and "100000000.0000" in ours and "100000000.0000" in theirs
    finally:
        torch.set_printoptions(profile="default", sci_mode=None)
        runtime._print.clear()
        runtime._print.update(saved)


def test_multinomial_puts_zero_weights_after_subnormal_ones():
    # E / w overflowed to inf for a subnormal float64 weight and then tied with the zero weights
    w = mc.tensor([0.0, 1e-310, 1.0], dtype=mc.float64)
    assert torch.multinomial(torch.tensor([0.0, 1e-310, 1.0], dtype=torch.float64), 2).tolist() == [2, 1]
    assert mc.multinomial(w, 2, generator=mc.Generator().manual_seed(0)).numpy().tolist() == [2, 1]
    assert mc.multinomial(w, 3, generator=mc.Generator().manual_seed(0)).numpy().tolist() == [2, 1, 0]


def test_multinomial_with_replacement_when_the_weights_sum_overflows():
    # the row sum of [1e308, 1e308] is inf: the CDF was nan and every draw the last category
    # (torch gives only the last category too); both categories have probability 1/2
    draws = mc.multinomial(
        mc.tensor([1e308, 1e308], dtype=mc.float64), N, True, generator=mc.Generator().manual_seed(0)
    )
    counts = np.bincount(draws.numpy(), minlength=2)
    assert freq_ok(counts, np.array([0.5, 0.5]), N)


def test_layers_and_promotion_follow_the_default_dtype_like_torch():
    """Layers made after set_default_dtype take it, and so do Python floats and integer-to-float
    results; resetting it restores float32 (the default is read when a layer is made)."""
    made = []
    for lib in (mc, torch):
        lib.set_default_dtype(lib.float64)
        try:
            ints = lib.tensor([1, 2])
            made.append(
                [
                    str(t.dtype).replace("torch.", "")
                    for t in (
                        lib.nn.Linear(2, 3).weight,
                        lib.nn.Conv2d(1, 2, 3).weight,
                        lib.nn.BatchNorm2d(3).running_mean,
                        lib.nn.LayerNorm(3).weight,
                        lib.nn.Embedding(4, 2).weight,
                        lib.nn.PReLU().weight,
                        ints * 1.5,
                        ints / 2,
                        ints.sqrt(),
                        lib.tensor(1.0),
                    )
                ]
            )
        finally:
            lib.set_default_dtype(lib.float32)
        made.append([str(lib.nn.Linear(2, 3).weight.dtype).replace("torch.", ""), str((ints / 2).dtype).split(".")[-1]])
    assert made[0] == made[2] == ["float64"] * 10
    assert made[1] == made[3] == ["float32", "float32"]


def test_thread_safe_generator_is_none_outside_thread_workers():
    """torch's thread_safe_generator: None in the main process (minicnn's DataLoader has no thread workers)."""
    assert torch.random.thread_safe_generator() is None and torch.thread_safe_generator() is None
    assert mc.random.thread_safe_generator() is None and mc.thread_safe_generator() is None
    assert mc.data.get_worker_info() is None
