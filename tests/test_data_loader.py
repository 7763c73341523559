"""Datasets, samplers and DataLoader: coverage, order, shuffling, collation, against torch.utils.data."""

from __future__ import annotations

import multiprocessing.context
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    random_split,
)
from minicnn.random import generator

td = torch.utils.data


def epoch_indices(loader: DataLoader) -> list[np.ndarray]:
    """The sample ids of each batch, for a dataset whose first field is arange(n)."""
    return [batch[0].numpy() for batch in loader]


def make(n: int) -> TensorDataset:
    return TensorDataset(np.arange(n), np.arange(n) * 10)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans())
def test_every_sample_once_per_epoch(n: int, batch_size: int, drop_last: bool, shuffle: bool) -> None:
    loader = DataLoader(make(n), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
    # torch is the oracle for the number of batches.
    assert len(loader) == len(torch.utils.data.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last))
    batches = epoch_indices(loader)
    assert len(batches) == len(loader)
    full, rest = divmod(n, batch_size)
    sizes = [len(b) for b in batches]
    assert sizes == [batch_size] * full + ([rest] if rest and not drop_last else [])
    seen = np.concatenate(batches) if batches else np.array([], int)
    assert len(np.unique(seen)) == len(seen)  # nothing twice
    if not drop_last:
        assert sorted(seen.tolist()) == list(range(n))  # everything once
    if not shuffle:
        assert seen.tolist() == list(range(len(seen)))  # in order


def test_fields_stay_aligned_and_typed() -> None:
    loader = DataLoader(make(10), batch_size=4, shuffle=True)
    for ids, tens in loader:
        assert isinstance(ids, mc.Tensor) and isinstance(tens, mc.Tensor)
        assert ids.dtype == np.int64
        np.testing.assert_array_equal(tens.numpy(), ids.numpy() * 10)


def test_shuffle_reproducible_and_new_each_epoch() -> None:
    loader = DataLoader(make(50), batch_size=8, shuffle=True)
    mc.manual_seed(7)
    first = [np.concatenate(epoch_indices(loader)) for _ in range(3)]
    mc.manual_seed(7)
    again = [np.concatenate(epoch_indices(loader)) for _ in range(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    mc.manual_seed(8)
    assert not np.array_equal(np.concatenate(epoch_indices(loader)), first[0])


def test_order_is_drawn_when_iteration_starts() -> None:
    loader = DataLoader(make(30), batch_size=30, shuffle=True)
    mc.manual_seed(1)
    it = iter(loader)
    generator().random(5)  # another draw between iter() and the first batch
    first = next(it)[0].numpy()
    mc.manual_seed(1)
    np.testing.assert_array_equal(next(iter(loader))[0].numpy(), first)


class NoItems(TensorDataset):
    def __getitem__(self, index: int) -> tuple:
        raise AssertionError("array-backed batching must not go through __getitem__")


def test_array_backed_datasets_batch_without_getitem() -> None:
    ds = NoItems(np.arange(20), np.arange(20))
    assert sum(len(b[0]) for b in DataLoader(ds, batch_size=6, shuffle=True)) == 20
    sub = Subset(ds, [19, 3, 5, 7])
    assert [b[0].numpy().tolist() for b in DataLoader(sub, batch_size=3)] == [[19, 3, 5], [7]]


class Squares(Dataset):
    """A generic dataset: samples come one at a time from __getitem__."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple:
        self.calls += 1
        return np.full((2, 3), index, np.float32), index * index


class Plain:
    """Not a minicnn Dataset at all: only __len__ and __getitem__."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, index: int) -> np.ndarray:
        return np.array([index, -index])


def test_generic_datasets_are_collated_per_sample() -> None:
    ds = Squares(7)
    batches = list(DataLoader(ds, batch_size=3))
    assert ds.calls == 7
    images, targets = batches[2]
    assert images.shape == (1, 2, 3) and images.dtype == np.float32
    assert targets.dtype == np.int64 and targets.numpy().tolist() == [36]
    single = list(DataLoader(Plain(), batch_size=2))
    assert all(isinstance(b, mc.Tensor) for b in single)  # one field: a Tensor, not a tuple
    assert single[1].numpy().tolist() == [[2, -2], [3, -3]]


def test_default_collate() -> None:
    ids, xs, flags = default_collate([(1, 0.5, True), (2, 1.5, False)])
    assert ids.dtype == np.int64 and ids.tolist() == [1, 2]
    assert xs.dtype == np.float64 and xs.tolist() == [0.5, 1.5]  # Python floats: float64, as torch
    assert flags.dtype == np.bool_
    stacked = default_collate([mc.tensor([1.0, 2.0]), np.array([3.0, 4.0], np.float32)])
    assert stacked.shape == (2, 2) and stacked.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_loader_transform_applies_to_inputs_only() -> None:
    loader = DataLoader(make(4), batch_size=4, transform=lambda x: x + 100)
    ids, tens = next(iter(loader))
    assert ids.numpy().tolist() == [100, 101, 102, 103]
    assert tens.numpy().tolist() == [0, 10, 20, 30]


def test_tensor_dataset() -> None:
    ds = TensorDataset(mc.tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([5, 6]))
    assert len(ds) == 2
    x, y = ds[1]
    assert x.tolist() == [3.0, 4.0] and y == 6
    with pytest.raises(ValueError, match=r"differ in their first dimension: \[2, 3\]"):
        TensorDataset(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_arguments_checked() -> None:
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(make(3), batch_size=0)
    with pytest.raises(ValueError, match="unknown device"):
        DataLoader(make(3), device="tpu")
    ((ids, _),) = DataLoader(make(3), batch_size=3, device="cpu")
    assert ids.device == "cpu"
    with pytest.raises(TypeError):
        Dataset()  # abstract


def test_torch_keywords_num_workers_and_pin_memory_are_accepted() -> None:
    data = mc.data.TensorDataset(mc.tensor(np.arange(10.0)))
    a = [b[0].numpy() for b in mc.data.DataLoader(data, batch_size=4, num_workers=2, pin_memory=True)]
    b = [b[0].numpy() for b in mc.data.DataLoader(data, batch_size=4)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and len(a) == len(b) == 3
    with pytest.raises(ValueError, match="num_workers"):
        mc.data.DataLoader(data, batch_size=4, num_workers=-1)


# --- default_collate against torch's ------------------------------------------------------


def as_plain(batch: object) -> object:
    """torch's or minicnn's batch as nested plain data: arrays as ("array", dtype, values)."""
    if isinstance(batch, torch.Tensor):
        batch = batch.numpy()
    if isinstance(batch, np.ndarray):
        return ("array", batch.dtype.name, batch.tolist())
    if isinstance(batch, dict):
        return {key: as_plain(value) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)) and batch and all(isinstance(s, (str, bytes)) for s in batch):
        return ("strings", list(batch))
    if isinstance(batch, (tuple, list)):
        return [as_plain(field) for field in batch]
    return batch


POINT = __import__("collections").namedtuple("POINT", "x y")
COLLATE_CASES = [
    [1.5, 2.5],  # Python floats: float64
    [1, 2],
    [True, False],
    [1, 2.5],  # mixed: torch's default float
    [True, 2],
    ["a", "b"],
    [b"a", b"b"],
    [np.float32(1), np.float32(2)],
    [np.int32(1), np.int32(2)],
    [np.array(1.0), np.array(2.0)],
    [{"x": 1, "name": "a"}, {"x": 2, "name": "b"}],
    [{"img": np.ones((2, 2), np.uint8), "meta": {"id": 3, "tag": "p", "w": 0.5}}] * 3,
    [(1, ("a", 2.0)), (3, ("b", 4.0))],
    [[1, 2], [3, 4]],
    [POINT(1, 2.0), POINT(3, 4.0)],
    [np.int64(0), 0.5],  # NumPy scalars with Python numbers: torch's promotion, not NumPy's
    [np.int32(1), 2],
    [np.uint8(1), -1],
    [np.int32(1), np.float32(2)],
    [np.uint8(1), np.int8(2)],
    [np.float16(1), 2],
]


@pytest.mark.parametrize("samples", COLLATE_CASES, ids=lambda s: repr(s)[:40])
def test_default_collate_matches_torch(samples: list) -> None:
    ours = default_collate(samples)
    assert as_plain(ours) == as_plain(torch.utils.data.default_collate(samples))
    for leaf in ours.values() if isinstance(ours, dict) else ours if isinstance(ours, tuple) else [ours]:
        assert not (isinstance(leaf, np.ndarray) and leaf.dtype.kind in "SUO")  # never object or unicode arrays


def test_default_collate_keeps_structure_types() -> None:
    assert isinstance(default_collate([POINT(1, 2.0), POINT(3, 4.0)]), POINT)
    batch = default_collate([{"x": (1, "a")}, {"x": (2, "b")}])
    assert isinstance(batch, dict) and batch["x"][1] == ["a", "b"] and batch["x"][0].dtype == np.int64


@pytest.mark.parametrize(
    "samples, error, match",
    [
        ([np.array(["a"]), np.array(["b"])], TypeError, "dtype <U1"),
        ([np.array([1], dtype=object)] * 2, TypeError, "dtype object"),
        ([None, None], TypeError, "NoneType"),
        ([1, "a"], TypeError, "among numbers"),
        ([(1, 2), (3,)], ValueError, "different numbers of fields"),
        ([np.zeros(2), np.zeros(3)], ValueError, "different shapes"),
        ([{"x": 1}, {"z": 2}], ValueError, "same keys"),
    ],
)
def test_default_collate_refuses_what_torch_refuses(samples: list, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        default_collate(samples)


@pytest.mark.parametrize(
    "samples",
    [
        [(1, 2), (3,)],
        [[1], [2, 3]],
        [np.zeros(2), np.zeros(3)],
        [{"x": 1, "y": 2}, {"x": 2}],
        [(1, 2), 5],
        [{"x": 1}, (1,)],
        [np.zeros((2, 1)), np.zeros((1, 2))],
        [],
    ],
    ids=repr,
)
def test_default_collate_mismatch_errors_are_torchs_types(samples: list) -> None:
    with pytest.raises(Exception) as expected:
        torch.utils.data.default_collate(samples)
    with pytest.raises(type(expected.value)):
        default_collate(samples)


class Records(Dataset):
    """Samples that are dicts with an array, a label, a name and a nested tuple."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, index: int) -> dict:
        return {"x": np.full(3, index, np.float32), "y": index, "name": f"item{index}", "pair": (index, 0.5)}


def test_loader_yields_dicts_of_tensors_and_lists_of_str() -> None:
    batches = list(DataLoader(Records(), batch_size=2))
    first = batches[0]
    assert set(first) == {"x", "y", "name", "pair"}
    assert isinstance(first["x"], mc.Tensor) and first["x"].shape == (2, 3)
    assert first["y"].dtype == np.int64 and first["name"] == ["item0", "item1"]
    assert first["pair"][1].dtype == np.float64 and first["pair"][0].numpy().tolist() == [0, 1]
    assert batches[-1]["name"] == ["item4"]
    with pytest.raises(TypeError, match="dicts"):
        next(iter(DataLoader(Records(), batch_size=2, transform=lambda x: x)))


def test_loader_transform_is_per_sample() -> None:
    ds = TensorDataset(np.arange(24, dtype=np.float32).reshape(6, 2, 2), np.arange(6))
    seen = []

    def flatten(x: np.ndarray) -> np.ndarray:
        seen.append(x.shape)
        return x.reshape(-1)

    images, labels = next(iter(DataLoader(ds, batch_size=4, transform=flatten)))
    assert images.shape == (4, 4) and labels.shape == (4,) and seen == [(2, 2)] * 4


class WholeBatchFlattener(TensorDataset):
    """A broken get_batch: flattens the images of the whole batch into one vector."""

    def get_batch(self, indices: np.ndarray) -> tuple:
        images, labels = super().get_batch(indices)
        return images.reshape(-1), labels


def test_loader_rejects_fields_of_different_first_dimensions() -> None:
    ds = WholeBatchFlattener(np.zeros((8, 28, 28), np.uint8), np.arange(8))
    with pytest.raises(ValueError, match=r"a batch of 4 samples, but batch\[0\] \(shape \(3136,\)\) has first dim"):
        next(iter(DataLoader(ds, batch_size=4)))
    one_field = TensorDataset(np.zeros((8, 2)))
    (sums,) = next(iter(DataLoader(one_field, batch_size=3, transform=lambda x: x.sum())))  # per sample
    assert sums.shape == (3,)
    with pytest.raises(ValueError, match=r"batch of 3 samples, but batch\[0\] \(shape \(\)\) has first dimension None"):
        next(iter(DataLoader(one_field, batch_size=3, transform=WrongBatched())))


class WrongBatched:
    """Claims batched = True but sums the whole batch: the loader catches it."""

    batched = True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x.sum()

    def apply_batch(self, batch: np.ndarray) -> np.ndarray:
        return batch.sum()


# --- samplers against torch.utils.data ------------------------------------------------------


def raised(fn: object) -> type | None:
    """The type of the exception ``fn()`` raises, or None."""
    try:
        fn()  # type: ignore[operator]
    except Exception as error:  # noqa: BLE001
        return type(error)
    return None


def plain(batch: object) -> object:
    """A batch of either library as plain data (minicnn Tensors like torch's)."""
    if isinstance(batch, mc.Tensor):
        batch = batch.numpy()
    if isinstance(batch, dict):
        return {key: plain(value) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)) and not all(isinstance(s, (str, bytes)) for s in batch):
        return [plain(field) for field in batch]
    return as_plain(batch)


def same_epochs(ours: object, theirs: object) -> None:
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]  # type: ignore[attr-defined]


@pytest.mark.parametrize("n", [0, 1, 7])
def test_sequential_sampler_matches_torch(n: int) -> None:
    data = list(range(n))
    assert list(SequentialSampler(data)) == list(td.SequentialSampler(data))
    assert len(SequentialSampler(data)) == len(td.SequentialSampler(data)) == n


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 30), batch_size=st.integers(1, 9), drop_last=st.booleans(), kind=st.sampled_from("slg"))
def test_batch_sampler_matches_torch(n: int, batch_size: int, drop_last: bool, kind: str) -> None:
    def source(lib: object) -> object:
        if kind == "s":  # a sampler (ours: sliced from one array)
            return lib.SequentialSampler(range(n))  # type: ignore[attr-defined]
        if kind == "l":  # a list of keys
            return [10 * i for i in range(n)]
        return (i * i for i in range(n))  # a one-shot iterable without len

    ours, theirs = (
        BatchSampler(source(mc.data), batch_size, drop_last),
        td.BatchSampler(source(td), batch_size, drop_last),
    )
    if kind != "g":
        assert len(ours) == len(theirs)
    assert list(ours) == list(theirs)
    assert all(type(i) is int for batch in BatchSampler(source(mc.data), batch_size, drop_last) for i in batch)


SAMPLER_ARGUMENTS = [
    ("RandomSampler", ([1, 2],), {"replacement": 1}),
    ("RandomSampler", ([1, 2],), {"num_samples": 0}),
    ("RandomSampler", ([1, 2],), {"num_samples": -3}),
    ("RandomSampler", ([1, 2],), {"num_samples": 1.5}),
    ("RandomSampler", ([],), {}),
    ("RandomSampler", ([1, 2],), {"num_samples": 5, "replacement": True}),
    ("WeightedRandomSampler", ([1.0, 2.0], 0), {}),
    ("WeightedRandomSampler", ([1.0, 2.0], True), {}),
    ("WeightedRandomSampler", ([1.0, 2.0], 2.0), {}),
    ("WeightedRandomSampler", ([1.0, 2.0], 2), {"replacement": 1}),
    ("WeightedRandomSampler", ([[1.0, 2.0]], 2), {}),
    ("WeightedRandomSampler", (["a", "b"], 2), {}),
    ("WeightedRandomSampler", ([1.0, 2.0], 2), {"replacement": False}),
    ("BatchSampler", ([1, 2], 0, False), {}),
    ("BatchSampler", ([1, 2], -1, False), {}),
    ("BatchSampler", ([1, 2], None, False), {}),
    ("BatchSampler", ([1, 2], True, False), {}),
    ("BatchSampler", ([1, 2], 2.0, False), {}),
    ("BatchSampler", ([1, 2], 2, 0), {}),
    ("BatchSampler", ([1, 2], 2, None), {}),
]


@pytest.mark.parametrize("name, args, kwargs", SAMPLER_ARGUMENTS, ids=lambda a: repr(a)[:30])
def test_sampler_argument_errors_match_torch(name: str, args: tuple, kwargs: dict) -> None:
    ours, theirs = getattr(mc.data, name), getattr(td, name)
    assert raised(lambda: ours(*args, **kwargs)) is raised(lambda: theirs(*args, **kwargs))


@pytest.mark.parametrize(
    "weights, num_samples, replacement",
    [([0.0, 0.0], 1, True), ([-1.0, 2.0], 1, True), ([np.nan, 2.0], 1, True), ([np.inf, 2.0], 1, True),
     ([], 1, True), ([1.0, 2.0], 3, False), ([1.0, 0.0, 2.0], 3, False)],
)  # fmt: skip
def test_weighted_sampler_iteration_errors_match_torch(weights: list, num_samples: int, replacement: bool) -> None:
    ours = WeightedRandomSampler(weights, num_samples, replacement)
    theirs = td.WeightedRandomSampler(weights, num_samples, replacement)
    assert raised(lambda: list(ours)) is raised(lambda: list(theirs))


def test_samplers_refuse_generators_that_are_not_numpy_ones() -> None:
    for make_sampler in (
        lambda g: RandomSampler(range(3), generator=g),
        lambda g: SubsetRandomSampler([1, 2], generator=g),
        lambda g: WeightedRandomSampler([1.0, 2.0], 2, generator=g),
        lambda g: random_split(range(4), [2, 2], generator=g),
        lambda g: DataLoader(make(4), shuffle=True, generator=g),
    ):
        with pytest.raises(TypeError, match=r"numpy\.random\.Generator.*torch\.Generator"):
            make_sampler(torch.Generator())
        make_sampler(np.random.default_rng(0))  # accepted


def test_random_sampler_is_the_loaders_permutation() -> None:
    # DataLoader(shuffle=True) and a bare RandomSampler draw exactly generator().permutation(n).
    mc.manual_seed(11)
    expected = generator().permutation(37)
    mc.manual_seed(11)
    assert list(RandomSampler(range(37))) == expected.tolist()
    mc.manual_seed(11)
    assert np.concatenate(epoch_indices(DataLoader(make(37), batch_size=5, shuffle=True))).tolist() == expected.tolist()
    mc.manual_seed(11)
    it = iter(RandomSampler(range(37)))  # drawn by iter(), not by the first next()
    generator().random(3)
    assert list(it) == expected.tolist()


@pytest.mark.parametrize("num_samples", [None, 1, 5, 13, 40])
def test_random_sampler_without_replacement(num_samples: int | None) -> None:
    n = 13
    sampler = RandomSampler(range(n), num_samples=num_samples, generator=np.random.default_rng(3))
    k = n if num_samples is None else num_samples
    assert len(sampler) == len(td.RandomSampler(range(n), num_samples=num_samples)) == k
    draw = list(sampler)
    assert len(draw) == k and all(type(i) is int for i in draw)
    for start in range(0, k, n):  # each block of n is a permutation (the last one cut short)
        block = draw[start : start + n]
        assert len(set(block)) == len(block) and set(block) <= set(range(n))
    assert list(sampler) != draw  # a new draw every epoch


def test_random_sampler_with_replacement_is_uniform() -> None:
    n, draws = 10, 100_000
    sampler = RandomSampler(range(n), replacement=True, num_samples=draws, generator=np.random.default_rng(0))
    counts = np.bincount(list(sampler), minlength=n)
    assert counts.sum() == draws and len(counts) == n
    sigma = np.sqrt(draws * (1 / n) * (1 - 1 / n))  # binomial standard deviation of each count
    assert np.all(np.abs(counts - draws / n) < 5 * sigma)
    once = list(RandomSampler(range(1000), replacement=True, generator=np.random.default_rng(1)))
    assert len(once) == 1000 and len(set(once)) < 1000  # repeats: with replacement
    assert all(type(i) is int for i in once)


def test_random_sampler_follows_a_growing_dataset() -> None:
    data = list(range(4))
    sampler = RandomSampler(data)
    data.extend([4, 5])
    assert len(sampler) == 6 and sorted(sampler) == list(range(6))
    data.clear()
    with pytest.raises(ValueError, match="empty data_source"):
        list(RandomSampler(data, num_samples=3))  # torch: ZeroDivisionError
    assert list(DataLoader(make(0), shuffle=True)) == []  # an empty epoch (torch's RandomSampler refuses)


def test_generator_argument_reproducible_and_separate_from_the_library_rng() -> None:
    def epochs(g: np.random.Generator) -> list[list[int]]:
        sampler = RandomSampler(range(20), generator=g)
        return [list(sampler) for _ in range(3)]

    mc.manual_seed(5)
    library_next = generator().random()
    mc.manual_seed(5)
    first = epochs(np.random.default_rng(42))
    assert generator().random() == library_next  # the library generator was not used
    assert first == epochs(np.random.default_rng(42))
    assert first[0] != first[1] != first[2]
    assert first[0] == np.random.default_rng(42).permutation(20).tolist()
    loaders = [DataLoader(make(20), batch_size=6, shuffle=True, generator=np.random.default_rng(9)) for _ in range(2)]
    orders = [[np.concatenate(epoch_indices(loader)).tolist() for _ in range(2)] for loader in loaders]
    assert orders[0] == orders[1] and orders[0][0] != orders[0][1]
    assert sorted(orders[0][0]) == list(range(20))
    assert orders[0][0] == np.random.default_rng(9).permutation(20).tolist()


def test_subset_random_sampler() -> None:
    indices = [7, 3, 11, 5]
    sampler = SubsetRandomSampler(indices, generator=np.random.default_rng(0))
    assert len(sampler) == len(td.SubsetRandomSampler(indices)) == 4
    draws = [list(sampler) for _ in range(20)]
    assert all(sorted(d) == sorted(indices) and all(type(i) is int for i in d) for d in draws)
    assert len({tuple(d) for d in draws}) > 1
    assert sorted(SubsetRandomSampler(["a", "b", "c"])) == ["a", "b", "c"]  # keys kept as given
    mc.manual_seed(2)
    expected = np.array(indices)[generator().permutation(4)].tolist()
    mc.manual_seed(2)
    assert list(SubsetRandomSampler(indices)) == expected


def test_weighted_sampler_frequencies_follow_the_weights() -> None:
    weights, draws = np.array([1.0, 2.0, 3.0, 4.0, 0.0]), 100_000
    sampler = WeightedRandomSampler(weights, draws, generator=np.random.default_rng(0))
    assert len(sampler) == draws
    counts = np.bincount(list(sampler), minlength=5)
    p = weights / weights.sum()
    sigma = np.sqrt(draws * p * (1 - p))
    assert counts[4] == 0 and np.all(np.abs(counts[:4] - draws * p[:4]) < 5 * sigma[:4])
    assert WeightedRandomSampler(mc.tensor([1.0, 2.0]), 3).weights.dtype == np.float64


def test_weighted_sampler_without_replacement_draws_successively() -> None:
    # P(first = i) = w_i / W and P(second = j) = sum_i P(first = i) w_j / (W - w_i), as torch.multinomial.
    w, epochs = np.array([1.0, 2.0, 3.0, 4.0]), 20_000
    sampler = WeightedRandomSampler(w, 2, replacement=False, generator=np.random.default_rng(1))
    pairs = np.array([list(sampler) for _ in range(epochs)])
    assert np.all(pairs[:, 0] != pairs[:, 1])
    p_first = w / w.sum()
    p_second = np.array([sum(p_first[i] * w[j] / (w.sum() - w[i]) for i in range(4) if i != j) for j in range(4)])
    for column, p in ((pairs[:, 0], p_first), (pairs[:, 1], p_second)):
        counts = np.bincount(column, minlength=4)
        assert np.all(np.abs(counts - epochs * p) < 5 * np.sqrt(epochs * p * (1 - p)))
    assert list(WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False))[-1] == 1  # zero weight last, as torch


class Reversed(Sampler[int]):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):  # noqa: ANN204
        return iter(range(self.n - 1, -1, -1))

    def __len__(self) -> int:
        return self.n


class EvensOnly(RandomSampler):
    """A subclass that overrides __iter__: the loader must iterate it, not draw its own array."""

    def __iter__(self):  # noqa: ANN204
        return iter(range(0, len(self.data_source), 2))


# --- DataLoader's sampler, batch_sampler, collate_fn ---------------------------------------------


@pytest.mark.parametrize(
    "sampler",
    [lambda lib: [4, 2, 0, 1], lambda lib: Reversed(7), lambda lib: lib.SequentialSampler(range(7))],
    ids=["list", "custom", "sequential"],
)
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_sampler_matches_torch(sampler: object, drop_last: bool) -> None:
    data = np.arange(7) * 3
    ours = DataLoader(make(7), batch_size=3, drop_last=drop_last, sampler=sampler(mc.data))  # type: ignore[operator]
    theirs = td.DataLoader(
        td.TensorDataset(torch.arange(7), torch.from_numpy(data * 10 // 3)),
        batch_size=3,
        drop_last=drop_last,
        sampler=sampler(td),  # type: ignore[operator]
    )
    assert len(ours) == len(theirs)
    same_epochs(ours, theirs)


def test_loader_uses_overridden_sampler_iteration() -> None:
    assert [b[0].numpy().tolist() for b in DataLoader(make(7), batch_size=2, sampler=EvensOnly(range(7)))] == [
        [0, 2],
        [4, 6],
    ]


def test_loader_with_random_samplers() -> None:
    loader = DataLoader(make(10), batch_size=4, sampler=SubsetRandomSampler([1, 3, 5, 7, 9]))
    assert len(loader) == 2 and sorted(np.concatenate(epoch_indices(loader)).tolist()) == [1, 3, 5, 7, 9]
    with_replacement = DataLoader(make(10), batch_size=8, sampler=RandomSampler(range(10), True, 50))
    seen = np.concatenate(epoch_indices(with_replacement))
    assert len(with_replacement) == 7 and len(seen) == 50 and seen.max() < 10


@pytest.mark.parametrize("batches", [[[3, 1], [0], [2, 4, 5]], [[5, 4, 3, 2, 1, 0]], []])
def test_loader_batch_sampler_matches_torch(batches: list) -> None:
    ours = DataLoader(make(6), batch_sampler=batches)
    theirs = td.DataLoader(td.TensorDataset(torch.arange(6), torch.arange(6) * 10), batch_sampler=batches)
    assert len(ours) == len(theirs) and ours.batch_size is None and not ours.drop_last
    same_epochs(ours, theirs)
    shuffled = DataLoader(make(6), batch_sampler=BatchSampler(RandomSampler(range(6)), 4, True))
    assert [len(b[0]) for b in shuffled] == [4]


def string_keyed() -> dict:
    return {"a": (np.float32(1.0), 1), "b": (np.float32(2.0), 2), "c": (np.float32(3.0), 3)}


def test_loader_with_keys_that_are_not_integers_matches_torch() -> None:
    data = string_keyed()
    ours = DataLoader(data, batch_size=2, sampler=["c", "a", "b"])  # type: ignore[arg-type]
    same_epochs(ours, td.DataLoader(data, batch_size=2, sampler=["c", "a", "b"]))  # type: ignore[arg-type]


LOADER_ARGUMENTS = [
    {"sampler": [0, 1], "shuffle": True},
    {"batch_sampler": [[0]], "batch_size": 2},
    {"batch_sampler": [[0]], "batch_size": None},
    {"batch_sampler": [[0]], "shuffle": True},
    {"batch_sampler": [[0]], "sampler": [0]},
    {"batch_sampler": [[0]], "drop_last": True},
    {"batch_size": None, "drop_last": True},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1},
    {"persistent_workers": True},
    {"multiprocessing_context": "spawn"},
    {"num_workers": 1, "multiprocessing_context": "no-such-method"},
    {"num_workers": 1, "multiprocessing_context": 5},
    {"num_workers": -1},
    {"sampler": [0, 1], "shuffle": False},  # the accepted ones must be accepted by both
    {"shuffle": None},
    {"batch_size": None},
    {"num_workers": 2, "prefetch_factor": 4, "persistent_workers": True, "multiprocessing_context": "spawn"},
    {"timeout": 5, "worker_init_fn": print, "pin_memory_device": "cpu", "in_order": False},
]


@pytest.mark.parametrize("kwargs", LOADER_ARGUMENTS, ids=lambda k: repr(k)[:40])
def test_loader_argument_errors_match_torch(kwargs: dict) -> None:
    data = list(range(4))
    assert raised(lambda: DataLoader(data, **kwargs)) is raised(lambda: td.DataLoader(data, **kwargs))


class Stream(IterableDataset):
    def __init__(self, n: int) -> None:
        self.n, self.started = n, 0

    def __iter__(self):  # noqa: ANN204
        self.started += 1
        return ((np.full(2, i, np.float32), i) for i in range(self.n))


class SizedStream(Stream):
    def __len__(self) -> int:
        return self.n


class TorchStream(td.IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):  # noqa: ANN204
        return ((np.full(2, i, np.float32), i) for i in range(self.n))


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_iterable_loader_refuses_what_torch_refuses(kwargs: dict) -> None:
    assert raised(lambda: DataLoader(Stream(3), **kwargs)) is raised(lambda: td.DataLoader(TorchStream(3), **kwargs))
    assert raised(lambda: DataLoader(Stream(3), **kwargs)) is ValueError


def test_loader_attributes_are_frozen_as_in_torch() -> None:
    loader, theirs = DataLoader(make(4)), td.DataLoader(range(4))
    for name in ("batch_size", "sampler", "batch_sampler", "drop_last", "dataset", "persistent_workers"):
        ours_error = raised(lambda: setattr(loader, name, 2))  # noqa: B023
        assert ours_error is raised(lambda: setattr(theirs, name, 2)) is ValueError  # noqa: B023
    with pytest.raises(ValueError, match="shuffle attribute"):
        loader.shuffle = True
    loader.transform = lambda x: x  # read at every batch: may change
    assert DataLoader(make(4), num_workers=2).prefetch_factor == td.DataLoader(range(4), num_workers=2).prefetch_factor


def test_loader_shuffle_none_is_sequential() -> None:
    assert np.concatenate(epoch_indices(DataLoader(make(5), batch_size=2, shuffle=None))).tolist() == list(range(5))


def test_worker_options_have_no_effect() -> None:
    calls: list[int] = []
    kwargs = {"worker_init_fn": calls.append, "timeout": 3, "persistent_workers": True, "prefetch_factor": 3}
    loader = DataLoader(make(9), batch_size=4, num_workers=2, multiprocessing_context="spawn", **kwargs)
    assert isinstance(loader.multiprocessing_context, multiprocessing.context.BaseContext)
    same_epochs(loader, DataLoader(make(9), batch_size=4))
    list(DataLoader(make(9), batch_size=4, worker_init_fn=calls.append))
    assert calls == [] and mc.data.get_worker_info() is None is td.get_worker_info()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 12), batch_size=st.one_of(st.none(), st.integers(1, 5)), drop_last=st.booleans())
def test_iterable_loader_batches_consecutive_samples_as_torch(n: int, batch_size: int | None, drop_last: bool) -> None:
    if batch_size is None:
        drop_last = False
    ours = DataLoader(Stream(n), batch_size=batch_size, drop_last=drop_last)
    theirs = td.DataLoader(TorchStream(n), batch_size=batch_size, drop_last=drop_last)
    same_epochs(ours, theirs)
    sized = DataLoader(SizedStream(n), batch_size=batch_size, drop_last=drop_last)
    assert len(sized) == len(list(sized))
    with pytest.raises(TypeError):
        len(ours)


def test_iterable_dataset_protocol() -> None:
    stream = Stream(5)
    assert raised(lambda: stream[0]) is raised(lambda: TorchStream(5)[0]) is NotImplementedError
    assert raised(lambda: len(stream)) is raised(lambda: len(TorchStream(5))) is TypeError
    assert len(list(stream)) == 5  # list() falls back to iteration despite __len__ raising
    with pytest.raises(TypeError):
        IterableDataset()  # abstract: __iter__
    loader = DataLoader(stream, batch_size=2, transform=lambda x: x * 2)
    it = iter(loader)  # the stream is opened when iteration starts
    assert stream.started == 2
    images, labels = next(it)
    assert images.numpy().tolist() == [[0, 0], [2, 2]] and labels.numpy().tolist() == [0, 1]
    assert "Stream" in repr(loader)
    chained = Stream(2) + SizedStream(3)
    assert isinstance(chained, ChainDataset)
    assert [s[1] for s in chained] == [s[1] for s in td.ChainDataset([TorchStream(2), TorchStream(3)])]
    with pytest.raises(TypeError):
        len(chained)
    assert len(ChainDataset([SizedStream(2), SizedStream(3)])) == 5
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([make(3)]))


def test_batch_size_none_yields_samples_as_torch() -> None:
    same_epochs(DataLoader(range(3), batch_size=None), td.DataLoader(range(3), batch_size=None))
    ours = list(DataLoader(Squares(3), batch_size=None))
    theirs = list(td.DataLoader(Squares(3), batch_size=None))
    assert len(ours) == 3 == len(DataLoader(Squares(3), batch_size=None))
    assert isinstance(ours[2][0], mc.Tensor) and ours[2][0].shape == (2, 3) and ours[2][1] == 4  # ints stay ints
    same_epochs(ours, theirs)
    mc.manual_seed(3)
    shuffled = [int(x.item()) for x, _ in DataLoader(make(6), batch_size=None, shuffle=True)]
    mc.manual_seed(3)
    assert shuffled == generator().permutation(6).tolist()


def pad_collate(samples: list) -> tuple:
    """Variable-length sequences padded to the longest: (B, T) array, lengths and names."""
    longest = max(len(seq) for seq, _ in samples)
    padded = np.zeros((len(samples), longest), np.float32)
    for row, (seq, _) in enumerate(samples):
        padded[row, : len(seq)] = seq
    return padded, [len(seq) for seq, _ in samples], [name for _, name in samples]


class Sequences(Dataset):
    def __len__(self) -> int:
        return 5

    def __getitem__(self, index: int) -> tuple:
        return np.arange(index + 1, dtype=np.float32), f"s{index}"


def test_collate_fn_results_match_torch() -> None:
    ours = list(DataLoader(Sequences(), batch_size=2, collate_fn=pad_collate))
    theirs = list(td.DataLoader(Sequences(), batch_size=2, collate_fn=pad_collate))
    same_epochs(ours, theirs)
    padded, lengths, names = ours[1]
    assert isinstance(padded, mc.Tensor) and padded.shape == (2, 4)
    assert lengths == [3, 4] and names == ["s2", "s3"]  # Python values pass through
    identity = DataLoader(list(range(5)), batch_size=2, collate_fn=lambda s: s)
    same_epochs(identity, td.DataLoader(list(range(5)), batch_size=2, collate_fn=lambda s: s))
    single = DataLoader(Sequences(), batch_size=None, collate_fn=lambda s: (s[0] * 2, s[1]))
    same_epochs(single, td.DataLoader(Sequences(), batch_size=None, collate_fn=lambda s: (s[0] * 2, s[1])))
    arrays = DataLoader(make(5), batch_size=5, collate_fn=lambda s: {"x": np.stack([a for a, _ in s])}, device="cpu")
    (batch,) = list(arrays)
    assert isinstance(batch["x"], mc.Tensor) and batch["x"].device == "cpu"


def test_collate_fn_fetches_samples_one_by_one() -> None:
    ds = NoItems(np.arange(4), np.arange(4))
    with pytest.raises(AssertionError, match="must not go through __getitem__"):
        next(iter(DataLoader(ds, batch_size=2, collate_fn=default_collate)))
    squares = Squares(5)
    list(DataLoader(squares, batch_size=2, collate_fn=default_collate))
    assert squares.calls == 5


class Bulk(Squares):
    """torch's __getitems__ protocol: one call per batch."""

    def __getitems__(self, keys: list) -> list:
        self.bulk = getattr(self, "bulk", []) + [keys]
        return [(np.full((2, 3), k, np.float32), k * k) for k in keys]


def test_getitems_is_used_for_per_sample_batches_as_torch() -> None:
    ds = Bulk(5)
    (images, targets), _, _ = list(DataLoader(ds, batch_size=2))
    assert ds.bulk == [[0, 1], [2, 3], [4]] and ds.calls == 0 and targets.numpy().tolist() == [0, 1]
    theirs = Bulk(5)
    list(td.DataLoader(theirs, batch_size=2))
    assert theirs.bulk == ds.bulk


def test_transform_with_collate_fn_applies_to_each_sample_first() -> None:
    ds = TensorDataset(np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6))
    seen: list = []

    def collate(samples: list) -> object:
        seen.append([s[0].tolist() for s in samples])
        return default_collate(samples)

    plus = DataLoader(ds, batch_size=4, transform=lambda x: x + 100, collate_fn=collate)
    same_epochs(plus, DataLoader(ds, batch_size=4, transform=lambda x: x + 100))
    assert seen[0][0] == [100, 101]  # collate_fn saw transformed samples
    with pytest.raises(TypeError, match="dicts"):
        next(iter(DataLoader(Records(), batch_size=2, collate_fn=lambda s: s, transform=lambda x: x)))
    (first,) = list(DataLoader(ds, batch_size=None, transform=lambda x: -x))[:1]
    assert first[0].numpy().tolist() == [-0.0, -1.0] and first[1].item() == 0


# --- ConcatDataset and random_split ----------------------------------------------------------


def two_parts() -> tuple[ConcatDataset, object]:
    a, b = np.arange(5), np.arange(100, 103)
    ours = ConcatDataset([TensorDataset(a, a * 2), TensorDataset(b, b * 2)])
    theirs = td.ConcatDataset([td.TensorDataset(torch.from_numpy(a), torch.from_numpy(a * 2)),
                               td.TensorDataset(torch.from_numpy(b), torch.from_numpy(b * 2))])  # fmt: skip
    return ours, theirs


def test_concat_dataset_indexing_matches_torch() -> None:
    ours, theirs = two_parts()
    assert len(ours) == len(theirs) == 8 and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-8, 8):
        assert [int(v) for v in ours[i]] == [int(v) for v in theirs[i]]
    for i in (-9, 8, 20):
        assert raised(lambda: ours[i]) is raised(lambda: theirs[i]) is not None  # noqa: B023
    for bad in ([-9], [8]):
        assert raised(lambda: ours.get_batch(np.array(bad))) is raised(lambda: theirs[bad[0]])  # noqa: B023
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([make(2), Stream(2)])
    plus = make(2) + make(3)
    assert isinstance(plus, ConcatDataset) and len(plus) == 5


@settings(max_examples=30, deadline=None)
@given(indices=st.lists(st.integers(-8, 7), min_size=1, max_size=12))
def test_concat_dataset_get_batch_is_the_collated_samples(indices: list) -> None:
    ours, _ = two_parts()
    batch = ours.get_batch(np.array(indices))
    expected = default_collate([ours[i] for i in indices])
    assert as_plain(batch) == as_plain(expected)


def test_concat_dataset_batches_vectorised_and_mixed() -> None:
    arrays = ConcatDataset([NoItems(np.arange(4), np.arange(4)), Subset(NoItems(np.arange(9), np.arange(9)), [8, 7])])
    loader = DataLoader(arrays, batch_size=6, shuffle=True)
    assert sorted(np.concatenate(epoch_indices(loader)).tolist()) == [0, 1, 2, 3, 7, 8]
    mixed = ConcatDataset([Squares(3), TensorDataset(np.full((2, 2, 3), 7, np.float32), np.array([5, 6]))])
    assert as_plain(mixed.get_batch(np.array([4, 0, 3, 2]))) == as_plain(
        default_collate([mixed[i] for i in [4, 0, 3, 2]])
    )
    named = ConcatDataset([Records(), Records()])
    assert named.get_batch(np.array([6, 1]))["name"] == ["item1", "item1"]
    with pytest.raises(ValueError, match="numbers of fields"):
        ConcatDataset([make(2), TensorDataset(np.arange(2))]).get_batch(np.array([0, 3]))


@pytest.mark.parametrize("n", [0, 7, 10, 101])
@pytest.mark.parametrize(
    "lengths",
    [[0.3, 0.3, 0.4], [0.33, 0.33, 0.34], [0.5, 0.5], [0.1] * 10, [1.0], [0.7, 0.2, 0.1], [0.25, 0.75], [1, 0]],
)
def test_random_split_fraction_lengths_match_torch(n: int, lengths: list) -> None:
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = random_split(range(n), lengths)
    with warnings.catch_warnings(record=True) as torch_warned:
        warnings.simplefilter("always")
        theirs = td.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert len(ours_warned) == len(torch_warned)  # a warning per empty split
    assert all(isinstance(s, Subset) for s in ours)
    assert sorted(i for s in ours for i in s.indices.tolist()) == list(range(n))  # a partition


@pytest.mark.parametrize("lengths", [[0.5, 0.6], [1.5, -0.5], [3, 8], [5, 4], [-0.2, 1.2]])
def test_random_split_errors_match_torch(lengths: list) -> None:
    assert raised(lambda: random_split(range(10), lengths)) is raised(lambda: td.random_split(range(10), lengths))
    assert raised(lambda: random_split(range(10), lengths)) is ValueError


def test_random_split_draws_one_permutation() -> None:
    mc.manual_seed(4)
    order = generator().permutation(10)
    mc.manual_seed(4)
    a, b = random_split(make(10), [3, 7])
    assert a.indices.tolist() == order[:3].tolist() and b.indices.tolist() == order[3:].tolist()
    assert [int(x) for x in b[0]] == [order[3], order[3] * 10]
    one = random_split(range(10), [0.5, 0.5], generator=np.random.default_rng(1))
    two = random_split(range(10), [0.5, 0.5], generator=np.random.default_rng(1))
    assert [s.indices.tolist() for s in one] == [s.indices.tolist() for s in two]
    with pytest.raises(ValueError, match="non-negative integers"):
        random_split(range(10), [-1, 11])  # torch returns overlapping splits here
