"""Dataset, TensorDataset, Subset and DataLoader: coverage, order, shuffling, collation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.data import DataLoader, Dataset, Subset, TensorDataset, default_collate
from minicnn.random import generator


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
