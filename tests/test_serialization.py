"""mc.save / mc.load: round trips, checkpoints, atomic writes, no unpickling, corrupt files."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minicnn as mc
from minicnn import serialization
from minicnn.serialization import CheckpointError

SETTINGS = settings(max_examples=30, deadline=None)


def assert_same(a, b, where="obj"):
    """Equal values and equal types all the way down (arrays: dtype, shape and bits)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), where
    elif isinstance(a, mc.Tensor):
        assert a.requires_grad == b.requires_grad and b.device == "cpu", where
        assert_same(a.numpy(), b.numpy(), where)
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for (ka, va), kb in zip(a.items(), b):
            assert type(ka) is type(kb), f"{where}: key {ka!r}"
            assert_same(va, b[kb], f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    elif isinstance(a, float):
        assert a == b and math.copysign(1, a) == math.copysign(1, b), where
    else:
        assert a == b, where


def round_trip(obj, tmp_path, **kw):
    path = tmp_path / "obj.ckpt"
    mc.save(obj, path, **kw)
    return mc.load(path)


# -- round trips ------------------------------------------------------------------------
DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int8, np.uint8, np.bool_, np.complex128]


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,), (2, 3), (2, 1, 4)])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_array_round_trip(dtype, shape, compress, tmp_path):
    a = (np.arange(int(np.prod(shape))) - 3).reshape(shape).astype(dtype)
    assert_same(a, round_trip(a, tmp_path, compress=compress))


@SETTINGS
@given(hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)))
def test_array_round_trip_hypothesis(a):
    buf_dir = Path(os.environ.get("TMPDIR", "/tmp"))
    path = buf_dir / f"minicnn-test-{os.getpid()}.ckpt"
    try:
        mc.save({"a": a, "view": a.T, "n": a.ndim}, path)
        out = mc.load(path)
    finally:
        path.unlink(missing_ok=True)
    assert_same(a, out["a"])
    assert_same(np.array(a.T, order="C"), out["view"])


def test_nested_structure_round_trip(tmp_path):
    obj = {
        "z": 1,  # not sorted: order must survive
        "a.b/c": {"weight.0": np.ones(2, np.float32), "": "empty key"},
        "structure": "a key equal to the header entry's name",
        "a0": "a key equal to an array entry's name",
        3: "int key",
        "3": "str key",
        -1.5: "float key",
        None: "None key",
        True: "bool key",
        (1, "x"): "tuple key",
        "scalars": [None, True, False, 0, -7, 2**130, 1.5, -0.0, math.inf, -math.inf, math.nan, "üñí €"],
        "containers": ([], (), {}, [[()]], (1, [2, (3,)])),
        "numpy scalars": [np.float32(1.25), np.float64(2.5), np.int64(-3), np.bool_(True), np.uint8(200)],
        "odict": OrderedDict([("b", 1), ("a", np.zeros((0, 3)))]),
        "tensors": [mc.tensor([1.0, 2.0]), mc.tensor([1, 2]), mc.tensor(np.eye(2), requires_grad=True)],
    }
    out = round_trip(obj, tmp_path)
    assert_same(obj, out)
    assert type(out["odict"]) is OrderedDict


def test_tensors_and_parameters_come_back_as_cpu_tensors(tmp_path):
    p = mc.nn.Parameter(np.arange(3.0))
    p.grad = mc.Tensor(np.ones(3))
    out = round_trip({"p": p, "t": p * 2}, tmp_path)
    assert type(out["p"]) is mc.nn.Parameter and out["p"].requires_grad and out["p"].grad is None
    assert type(out["t"]) is mc.Tensor and out["t"].requires_grad and out["t"].grad_fn is None
    np.testing.assert_array_equal(out["t"].numpy(), [0.0, 2.0, 4.0])


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    hnp.arrays(st.sampled_from([np.float32, np.int64, np.bool_]), hnp.array_shapes(min_dims=0, max_side=3)),
)
trees = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=6), st.integers(-5, 5)), children, max_size=4),
    ),
    max_leaves=20,
)


@SETTINGS
@given(trees)
def test_random_trees_round_trip(tree):
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"minicnn-tree-{os.getpid()}.ckpt"
    try:
        mc.save(tree, path)
        assert_same(tree, mc.load(path))
    finally:
        path.unlink(missing_ok=True)


def small_model():
    return mc.nn.Sequential(
        mc.nn.Linear(4, 6), mc.nn.BatchNorm1d(6), mc.nn.ReLU(), mc.nn.Sequential(mc.nn.Linear(6, 2))
    )


def test_module_state_dict_round_trip(tmp_path):
    mc.manual_seed(1)
    model = small_model()
    model(mc.randn(5, 4))  # training-mode forward: running stats and num_batches_tracked move
    sd = model.state_dict()
    out = round_trip(sd, tmp_path)
    assert_same(sd, out)
    mc.manual_seed(2)
    other = small_model()
    other.load_state_dict(out)
    assert_same(model.state_dict(), other.state_dict())
    x = mc.randn(3, 4)
    model.eval()
    other.eval()
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


def test_checkpoint_restores_training_and_random_stream(tmp_path):
    """model + optimizer + epoch + rng + metrics: resuming gives the same parameters and draws."""
    mc.manual_seed(0)
    model = mc.nn.Linear(3, 2)
    opt = mc.optim.Adam(model.parameters(), lr=0.01)

    def train_step():
        x = mc.randn(5, 3)
        loss = (model(x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss)

    metrics = [train_step() for _ in range(3)]
    ckpt = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "rng": mc.random.get_rng_state(),
        "metrics": metrics,
    }
    mc.save(ckpt, tmp_path / "ckpt")
    after = [train_step() for _ in range(3)]
    expected_params = [p.numpy() for p in model.parameters()]
    expected_draw = mc.randn(4).numpy()

    loaded = mc.load(tmp_path / "ckpt")
    assert loaded["epoch"] == 3 and loaded["metrics"] == metrics
    mc.manual_seed(123)  # a different stream, which the checkpoint must replace
    model = mc.nn.Linear(3, 2)
    opt = mc.optim.Adam(model.parameters(), lr=0.5)
    model.load_state_dict(loaded["model"])
    opt.load_state_dict(loaded["optimizer"])
    mc.random.set_rng_state(loaded["rng"])
    assert [train_step() for _ in range(3)] == after
    for p, e in zip(model.parameters(), expected_params):
        np.testing.assert_array_equal(p.numpy(), e)
    np.testing.assert_array_equal(mc.randn(4).numpy(), expected_draw)


# -- paths and files ----------------------------------------------------------------------
def test_path_is_used_exactly_and_file_is_an_npz(tmp_path):
    mc.save({"w": np.ones(2)}, str(tmp_path / "model.pt"))
    mc.save({"w": np.ones(2)}, tmp_path / "plain")
    mc.save({"w": np.ones(2)}, tmp_path / "with.npz")
    assert sorted(os.listdir(tmp_path)) == ["model.pt", "plain", "with.npz"]
    with np.load(tmp_path / "with.npz", allow_pickle=False) as npz:  # readable with NumPy alone
        assert sorted(npz.files) == ["a0", "structure"]
        header = json.loads(npz["structure"].tobytes().decode())
        assert header["format"] == "minicnn" and header["version"] == 1
        np.testing.assert_array_equal(npz["a0"], np.ones(2))


def test_overwrite_keeps_permissions(tmp_path):
    path = tmp_path / "ckpt"
    mc.save(1, path)
    os.chmod(path, 0o640)
    mc.save(2, path)
    assert mc.load(path) == 2 and (os.stat(path).st_mode & 0o777) == 0o640


def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        mc.save(1, tmp_path / "ckpt")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "ckpt").st_mode & 0o777 == 0o644


@pytest.mark.parametrize("stage", ["during savez", "fsync", "replace", "interrupt"])
def test_failed_save_leaves_previous_file_and_no_temp(stage, tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    mc.save({"epoch": 1, "w": np.ones(3)}, path)
    before = path.read_bytes()

    real_savez = np.savez

    def partial_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    def interrupted_savez(f, **arrays):
        real_savez(f, **arrays)
        raise KeyboardInterrupt

    def failing(*args, **kwargs):
        raise OSError(f"simulated failure in {stage}")

    if stage == "during savez":
        monkeypatch.setattr(np, "savez", partial_savez)
    elif stage == "interrupt":
        monkeypatch.setattr(np, "savez", interrupted_savez)
    else:
        monkeypatch.setattr(os, stage, failing)
    with pytest.raises(KeyboardInterrupt if stage == "interrupt" else OSError):
        mc.save({"epoch": 2, "w": np.zeros(3)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert path.read_bytes() == before
    assert mc.load(path)["epoch"] == 1


def test_unsavable_objects_raise_type_error_and_write_nothing(tmp_path):
    path = tmp_path / "ckpt"
    for bad, where in [
        ({"model": {"fc": lambda x: x}}, r"obj\['model'\]\['fc'\] of type function"),
        ([1, {2, 3}], r"obj\[1\] of type set"),
        ({"a": np.array([object()], dtype=object)}, r"obj\['a'\].*Python objects"),
        ({frozenset(): 1}, "key frozenset"),
        (b"bytes", "obj of type bytes"),
    ]:
        with pytest.raises(TypeError, match=where):
            mc.save(bad, path)
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="contains itself"):
        mc.save({"x": cyclic}, path)
    assert os.listdir(tmp_path) == []


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mc.load(tmp_path / "nope.npz")


# -- file objects, as torch.save / torch.load -------------------------------------------------
class Stream:
    """A binary stream that cannot seek (a pipe, a socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._data.read(n)

    def seekable(self) -> bool:
        return False


LOADERS = {
    "path": (lambda p: mc.load(p), lambda p: p.name),
    "open file": (lambda p: _load_open(p), lambda p: p.name),
    "BytesIO": (lambda p: mc.load(io.BytesIO(p.read_bytes())), lambda p: "BytesIO"),
    "stream": (lambda p: mc.load(Stream(p.read_bytes())), lambda p: "Stream"),
}


def _load_open(path: Path):
    with open(path, "rb") as f:
        return mc.load(f)


@pytest.fixture(params=list(LOADERS))
def loader(request):
    """(load(path) through a path / open file / BytesIO / unseekable stream, the name an error must give)."""
    return LOADERS[request.param]


def test_file_objects_round_trip(tmp_path):
    ckpt = {"model": small_model().state_dict(), "epoch": 3, "t": mc.tensor([1.0, 2.0], requires_grad=True)}
    buf = io.BytesIO()
    mc.save(ckpt, buf)
    assert buf.tell() == len(buf.getvalue()) > 0  # left at the end, as torch.save
    buf.seek(0)
    out = mc.load(buf)
    assert list(out["model"]) == list(ckpt["model"]) and out["epoch"] == 3 and out["t"].requires_grad
    for k, v in ckpt["model"].items():
        np.testing.assert_array_equal(out["model"][k], v)
    with open(tmp_path / "f.ckpt", "wb") as f:
        f.write(b"prefix")  # written at the current position
        mc.save({"a": np.arange(3)}, f, compress=True)
    with open(tmp_path / "f.ckpt", "rb") as f:
        assert f.read(6) == b"prefix"
        np.testing.assert_array_equal(mc.load(f)["a"], np.arange(3))
    assert mc.load(Stream(buf.getvalue()))["epoch"] == 3
    mc.save({"b": 1}, tmp_path / "p.ckpt")
    assert mc.load(io.BytesIO((tmp_path / "p.ckpt").read_bytes())) == {"b": 1}  # the same bytes as a path


def test_text_mode_file_objects_are_refused(tmp_path):
    with open(tmp_path / "t.txt", "w") as f, pytest.raises(TypeError, match="binary mode"):
        mc.save({"a": 1}, f)
    (tmp_path / "t.txt").write_text("hello")
    with open(tmp_path / "t.txt") as f, pytest.raises(TypeError, match="binary mode"):
        mc.load(f)


def test_torch_save_to_a_buffer_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    buf = io.BytesIO()
    torch.save({"w": Payload(marker)}, buf)
    buf.seek(0)
    with pytest.raises(CheckpointError, match="torch.save"):
        mc.load(buf)
    assert not marker.exists()


# -- hostile and broken files -------------------------------------------------------------
class Payload:
    """Unpickling this creates the file at ``target``: proof that code ran."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def write_npz(path: Path, structure, /, **arrays) -> None:
    """An npz with ``structure`` (JSON text or data to dump) as uint8 bytes, unless None."""
    if structure is not None:
        text = structure if isinstance(structure, str) else json.dumps(structure)
        arrays["structure"] = np.frombuffer(text.encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def header(root):
    return {"format": "minicnn", "version": 1, "root": root}


def test_pickle_payload_is_live(tmp_path):
    """Control: the payload does run when something unpickles it, so the next test can fail."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    write_npz(path, None, a0=np.array([Payload(marker)], dtype=object))
    with np.load(path, allow_pickle=True) as npz:
        npz["a0"]
    assert marker.exists()


@pytest.mark.parametrize("variant", ["object entry", "object structure", "raw pickle", "npy pickle", "torch.save"])
def test_pickled_payload_raises_and_runs_nothing(variant, tmp_path, loader):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    evil = np.array([Payload(marker)], dtype=object)
    if variant == "object entry":
        write_npz(path, header({"type": "ndarray", "entry": "a0"}), a0=evil)
    elif variant == "object structure":
        write_npz(path, None, structure=evil)
    elif variant == "raw pickle":
        path.write_bytes(pickle.dumps({"w": Payload(marker)}))
    elif variant == "npy pickle":
        with open(path, "wb") as f:  # a bare .npy holding a pickled object array
            np.save(f, evil, allow_pickle=True)
    else:
        torch.save({"w": Payload(marker)}, path)
    load, name = loader
    with pytest.raises(CheckpointError, match=name(path)):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "make",
    [
        lambda p: write_npz(p, "{not json"),
        lambda p: write_npz(p, header({"type": "mystery"})),
        lambda p: write_npz(p, header({"type": "ndarray", "entry": "a0"})),  # missing entry
        lambda p: write_npz(p, header(1), a0=np.ones(2)),  # entry nobody describes
        lambda p: write_npz(p, header({"type": "ndarray", "entry": "a0", "extra": 1}), a0=np.ones(2)),
        lambda p: write_npz(p, header({"type": "list", "items": {"a": 1}})),
        lambda p: write_npz(p, header({"type": "dict", "keys": [1, 2], "values": [3]})),
        lambda p: write_npz(p, header({"type": "dict", "keys": [[1]], "values": [3]})),
        lambda p: write_npz(p, header({"type": "list", "items": [[1, 2]]})),
        lambda p: write_npz(p, header({"type": "npscalar", "entry": "a0"}), a0=np.ones(2)),
        lambda p: write_npz(
            p, header({"type": "tensor", "entry": "a0", "requires_grad": 1, "parameter": False}), a0=np.ones(2)
        ),
        lambda p: write_npz(p, {"format": "minicnn", "version": 99, "root": 1}),
        lambda p: write_npz(p, {"format": "other", "version": 1, "root": 1}),
        lambda p: write_npz(p, None, structure=np.ones(3)),
        lambda p: write_npz(p, None, weights=np.ones(3)),
        lambda p: write_npz(p, "[" * 100_000 + "]" * 100_000),
    ],
)
def test_malformed_structure_raises_clear_error(make, tmp_path, loader):
    path = tmp_path / "bad.npz"
    make(path)
    load, name = loader
    with pytest.raises(CheckpointError, match=name(path)):
        load(path)


def test_non_npy_member_raises(tmp_path):
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("structure.npy", io.BytesIO().getvalue())
    with pytest.raises(CheckpointError, match="bad.npz"):
        mc.load(path)


@pytest.mark.parametrize("keep", [0, 3, 10, 0.5, -30])
def test_truncated_file_raises_naming_it(keep, tmp_path, loader):
    path = tmp_path / "ckpt.npz"
    mc.save({"model": small_model().state_dict(), "epoch": 1}, path)
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    path.write_bytes(data[:n])
    load, name = loader
    with pytest.raises(CheckpointError, match=name(path)):
        load(path)


@pytest.mark.parametrize("compress", [False, True])
def test_flipped_byte_in_array_data_is_detected(compress, tmp_path, loader):
    path = tmp_path / "ckpt.npz"
    mc.save({"w": np.arange(1000.0)}, path, compress=compress)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("a0.npy")
    data[info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    load, name = loader
    with pytest.raises(CheckpointError, match=name(path)):
        load(path)


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)
    assert serialization.load is mc.load and serialization.save is mc.save


@pytest.mark.parametrize("device", devices())
def test_load_map_location_puts_tensors_on_the_device(tmp_path, device):
    """torch.load's map_location: Tensors and Parameters land on that device (Parameters stay
    Parameters); plain arrays, as state_dict() gives them, stay host NumPy."""
    where = mc.zeros(1, device=device).device
    path = tmp_path / "ck.npz"
    p = mc.nn.Parameter(mc.tensor([1.0, 2.0]))
    mc.save({"p": p, "t": [mc.tensor([3.0])], "a": np.ones(2), "n": 4}, path)
    out = mc.load(path, map_location=device, weights_only=True)
    assert isinstance(out["p"], mc.nn.Parameter) and out["p"].requires_grad and out["p"].device == where
    assert out["t"][0].device == where and np.array_equal(out["t"][0].numpy(), [3.0])
    assert isinstance(out["a"], np.ndarray) and out["n"] == 4
    with open(path, "rb") as f:
        assert mc.load(f, map_location=device)["p"].device == where


def test_load_map_location_errors():
    buf = io.BytesIO()
    mc.save({"x": mc.tensor([1.0])}, buf)
    buf.seek(0)
    with pytest.raises(ValueError, match="unknown device"):
        mc.load(buf, map_location="tpu")
    with pytest.raises(TypeError, match="map_location"):
        mc.load(buf, map_location={"cuda:1": "cuda:0"})
    buf.seek(0)
    assert mc.load(buf, map_location="cpu")["x"].device == "cpu"


def test_load_refuses_mmap_clearly():
    buf = io.BytesIO()
    mc.save({"x": np.ones(2)}, buf)
    buf.seek(0)
    with pytest.raises(NotImplementedError, match="mmap"):
        mc.load(buf, mmap=True)
    buf.seek(0)
    assert mc.load(buf, mmap=None)["x"].shape == (2,)


# -- torch.save(model, path) (the Save & Load tutorial) ------------------------------------
def test_saving_a_whole_module_or_optimizer_names_the_state_dict_route(tmp_path):
    # torch pickles the whole object; minicnn never pickles: a TypeError saying what to do instead
    model = mc.nn.Sequential(mc.nn.Linear(2, 3))
    opt = mc.optim.SGD(model.parameters(), lr=0.1)
    for obj, name in ((model, "Sequential"), (opt, "SGD"), ({"model": model}, "Sequential")):
        with pytest.raises(TypeError, match=rf"a whole {name} object.*pickle.*state_dict\(\).*load_state_dict"):
            mc.save(obj, tmp_path / "whole.mc")
        assert not (tmp_path / "whole.mc").exists()
    mc.save(model.state_dict(), tmp_path / "weights.mc")  # the route the message names
    fresh = mc.nn.Sequential(mc.nn.Linear(2, 3))
    fresh.load_state_dict(mc.load(tmp_path / "weights.mc", weights_only=True))
    assert all((a == b).all() for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))
