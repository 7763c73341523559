"""``mc.save`` / ``mc.load``: checkpoints as ``.npz`` archives that never hold pickles.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are arrays and plain
Python values, e.g. ``{'model': model.state_dict(), 'optimizer': opt.state_dict(),
'epoch': 3, 'rng': mc.random.get_rng_state()}``. The file is an ordinary NumPy ``.npz`` (a zip
archive) holding

* one entry per array: ``a0``, ``a1``, ... (``.npy`` members, readable by ``np.load``);
* one entry ``structure``: UTF-8 JSON (stored as a uint8 array) describing the tree::

      {"format": "minicnn", "version": 1, "root": NODE}

  where a NODE is a JSON null/bool/int/float/string for a Python None/bool/int/float/str, or an
  object tagged by ``"type"``: ``{"type": "dict" | "odict", "keys": [...], "values": [...]}``
  (parallel lists, so key order and key types, int vs str, survive), ``{"type": "list" |
  "tuple", "items": [...]}``, ``{"type": "ndarray" | "npscalar", "entry": "a3"}`` or
  ``{"type": "tensor", "entry": "a4", "requires_grad": bool, "parameter": bool}``.

What comes back: NumPy arrays as NumPy arrays (dtype, shape, 0-d and empty ones kept), NumPy
scalars as NumPy scalars, CuPy arrays as host NumPy arrays, ``mc.Tensor`` / ``mc.nn.Parameter``
as CPU Tensors / Parameters (data and ``requires_grad``; not ``.grad``), ``OrderedDict`` as
``OrderedDict``, other dict subclasses as ``dict``. An object reached twice is stored twice.
Anything else (functions, sets, object arrays, ...) is a TypeError at save time; so is a whole
Module or Optimizer (``torch.save(model, path)``, which pickles): the error says to save its
``state_dict()`` and ``load_state_dict`` it into a new instance.

Safety: ``mc.load`` reads with ``np.load(..., allow_pickle=False)`` and builds only the types
above, so a crafted file cannot run code; anything unexpected raises :class:`CheckpointError`
(a ValueError) naming the file. ``mc.save`` to a path is atomic: it writes a temporary file in
the target's directory, fsyncs it and renames it over the path, so a crash never leaves a
partial checkpoint under the real name. The path is used exactly as given (no ``.npz`` is
appended).

Like ``torch.save`` / ``torch.load``, both also take a binary file object instead of a path
(``io.BytesIO``, ``open(name, "wb")`` / ``"rb"``): ``save`` writes the archive at the current
position, ``load`` reads it from the current position (a stream that cannot seek is read
into memory first), with the same checks as for a path.
"""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from typing import IO, Any

import numpy as np

from . import backend
from .autograd import Tensor

FORMAT = "minicnn"
VERSION = 1
_STRUCTURE = "structure"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class CheckpointError(ValueError):
    """A file that ``mc.load`` cannot read as a minicnn checkpoint."""


# -- saving -------------------------------------------------------------------------------
def save(obj: Any, f: str | os.PathLike | IO[bytes], *, compress: bool = False) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of arrays, Tensors and Python scalars) to ``f``,
    a path (written atomically) or a binary file object (written at its position).

    ``compress=True`` deflates the arrays (smaller, slower).
    """
    import json  # noqa: PLC0415 - json and tempfile load on first use, keeping `import minicnn` fast
    import tempfile  # noqa: PLC0415

    entries: dict[str, np.ndarray] = {}
    root = _encode(obj, entries, "obj", set())
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, ensure_ascii=False)
    arrays = {_STRUCTURE: np.frombuffer(header.encode("utf-8"), dtype=np.uint8), **entries}
    write = np.savez_compressed if compress else np.savez

    if _is_file_object(f, "write"):
        if isinstance(f, io.TextIOBase):
            raise TypeError("mc.save: the file object is in text mode; open it in binary mode ('wb')")
        write(f, **arrays)
        if hasattr(f, "flush"):
            f.flush()
        return

    path = os.fsdecode(os.fspath(f))
    directory = os.path.dirname(os.path.abspath(path))
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            # a file object, not a name: np.savez would append ".npz" to a name
            write(out, **arrays)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _is_file_object(f: Any, method: str) -> bool:
    """A file-like object (has ``method``) rather than a path (str, bytes, os.PathLike)."""
    return hasattr(f, method) and not isinstance(f, (str, bytes, os.PathLike))


def _encode(obj: Any, entries: dict[str, np.ndarray], where: str, active: set[int]) -> Any:
    if isinstance(obj, np.generic):  # before float: np.float64 is a float subclass
        return {"type": "npscalar", "entry": _add_array(np.asarray(obj), entries, where)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Tensor):
        from .nn.module import Parameter  # noqa: PLC0415 - nn loads lazily

        return {
            "type": "tensor",
            "entry": _add_array(obj.array, entries, where),
            "requires_grad": bool(obj.requires_grad),
            "parameter": isinstance(obj, Parameter),
        }
    if isinstance(obj, np.ndarray) or backend.is_cupy_array(obj):
        return {"type": "ndarray", "entry": _add_array(obj, entries, where)}
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in active:
            raise ValueError(f"mc.save: {where} contains itself (a cyclic structure cannot be saved)")
        active.add(id(obj))
        try:
            if isinstance(obj, dict):
                keys = [_encode_key(k, f"{where} key {k!r}") for k in obj]
                values = [_encode(v, entries, f"{where}[{k!r}]", active) for k, v in obj.items()]
                kind = "odict" if isinstance(obj, OrderedDict) else "dict"
                return {"type": kind, "keys": keys, "values": values}
            items = [_encode(v, entries, f"{where}[{i}]", active) for i, v in enumerate(obj)]
            return {"type": "tuple" if isinstance(obj, tuple) else "list", "items": items}
        finally:
            active.discard(id(obj))
    if callable(getattr(obj, "state_dict", None)):  # torch.save(model, path): a whole Module, Optimizer...
        raise TypeError(
            f"mc.save: cannot save {where}, a whole {type(obj).__name__} object: saving one needs pickle, which "
            f"minicnn never uses (a pickled file can run code when loaded). Save its state instead, "
            f"mc.save(obj.state_dict(), path), and load it into a new instance: "
            f"obj = {type(obj).__name__}(...); obj.load_state_dict(mc.load(path))"
        )
    raise TypeError(
        f"mc.save: cannot save {where} of type {type(obj).__name__}; a checkpoint holds dicts, lists, tuples, "
        "arrays, Tensors, NumPy scalars and None/bool/int/float/str"
    )


def _encode_key(key: Any, where: str) -> Any:
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    if isinstance(key, tuple):
        return {"type": "tuple", "items": [_encode_key(k, where) for k in key]}
    raise TypeError(
        f"mc.save: cannot save {where} of type {type(key).__name__}; dict keys must be str, int, float, bool, "
        "None or tuples of those"
    )


def _add_array(array: Any, entries: dict[str, np.ndarray], where: str) -> str:
    arr = backend.to_numpy(array)
    if arr.dtype.hasobject:
        raise TypeError(f"mc.save: cannot save {where}: arrays of Python objects (dtype {arr.dtype}) need pickle")
    name = f"a{len(entries)}"
    entries[name] = arr
    return name


def _file_mode(path: str) -> int:
    """The permission bits a plain ``open(path, 'w')`` would give (mkstemp's are 0o600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (best effort; not possible on every platform)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- loading ------------------------------------------------------------------------------
def load(
    f: str | os.PathLike | IO[bytes],
    map_location: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
) -> Any:
    """Read a checkpoint written by :func:`save` from a path or a binary file object. Never
    unpickles; raises :class:`CheckpointError` (a ValueError naming the file) for anything that
    is not a valid checkpoint.

    ``map_location`` (None, or a device string such as ``"cpu"`` or ``"cuda:0"``) is where
    Tensors and Parameters in the checkpoint are put; None means the CPU, where :func:`save`
    left them. Plain arrays (state dicts) stay host NumPy arrays, as ``state_dict()`` gives
    them. ``weights_only`` is torch's flag, accepted and ignored: loading never runs code
    whatever it says. ``mmap=True`` (torch: map the file instead of reading it) is refused:
    the arrays are read from a zip archive."""
    if mmap:
        raise NotImplementedError("mc.load: mmap=True is not supported; checkpoints are read from a zip archive")
    if map_location is not None:
        if not isinstance(map_location, str):
            raise TypeError(
                f"mc.load: map_location must be None or a device string ('cpu', 'cuda', 'cuda:1'), got "
                f"{type(map_location).__name__} (checkpoints hold CPU data, so there is nothing to remap)"
            )
        backend.parse_device(map_location)
    if not _is_file_object(f, "read"):
        path = os.fsdecode(os.fspath(f))
        with open(path, "rb") as stream:
            return _move(_load_stream(stream, path), map_location)
    if isinstance(f, io.TextIOBase):
        raise TypeError("mc.load: the file object is in text mode; open it in binary mode ('rb')")
    name = getattr(f, "name", None)
    where = name if isinstance(name, str) else f"<{type(f).__name__}>"
    seekable = getattr(f, "seekable", None)
    if seekable is None or not seekable():
        f = io.BytesIO(f.read())  # zip archives are read from the end: the stream must seek
    return _move(_load_stream(f, where), map_location)


def _move(obj: Any, device: str | None) -> Any:
    """``obj`` with every Tensor (Parameters stay Parameters) on ``device``; None: unchanged."""
    if device is None or backend.parse_device(device)[0] == "cpu":
        return obj
    if isinstance(obj, Tensor):  # a new leaf (Tensor or Parameter) there, not a copy in a graph
        return type(obj)(backend.to_device(obj.array, device), requires_grad=obj.requires_grad)
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _move(v, device)
        return out
    if isinstance(obj, (list, tuple)):
        items = [_move(v, device) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    return obj


def _load_stream(stream: IO[bytes], where: str) -> Any:
    start = stream.tell()
    if stream.read(4) not in _ZIP_MAGIC:
        raise CheckpointError(f"mc.load: {where!r} is not a minicnn checkpoint (not an .npz/zip archive)")
    stream.seek(start)
    try:
        with np.load(stream, allow_pickle=False) as npz:
            return _Reader(npz, where).read()
    except CheckpointError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # zip, npy-header, zlib, JSON and other format errors
        raise CheckpointError(
            f"mc.load: {where!r} is corrupt or truncated, or not a minicnn checkpoint ({type(exc).__name__}: {exc})"
        ) from exc


class _Reader:
    """Checks the JSON structure and rebuilds the object, reading each array it names."""

    def __init__(self, npz: Any, path: str) -> None:
        self.npz = npz
        self.path = path
        self.unused = set(npz.files)

    def fail(self, message: str) -> CheckpointError:
        return CheckpointError(f"mc.load: {self.path!r}: {message}")

    def read(self) -> Any:
        import json  # noqa: PLC0415

        if _STRUCTURE not in self.unused:
            hint = (
                " (it looks like a torch.save file, which holds pickles)"
                if any(name.endswith("data.pkl") for name in self.unused)
                else ""
            )
            raise self.fail(f"no 'structure' entry: not a file written by mc.save{hint}")
        raw = self.entry(_STRUCTURE)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise self.fail("the 'structure' entry is not UTF-8 JSON bytes")
        header = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT or "root" not in header:
            raise self.fail("the 'structure' entry is not a minicnn checkpoint header")
        if header.get("version") != VERSION:
            raise self.fail(f"format version {header.get('version')!r}; this minicnn reads version {VERSION}")
        obj = self.node(header["root"])
        if self.unused:
            raise self.fail(f"entries not described by the structure: {sorted(self.unused)}")
        return obj

    def entry(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.unused:
            raise self.fail(f"the structure names a missing or repeated array entry {name!r}")
        self.unused.discard(name)
        try:
            arr = self.npz[name]
        except ValueError as exc:
            raise self.fail(f"cannot read array entry {name!r} (mc.load never unpickles): {exc}") from exc
        if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
            raise self.fail(f"entry {name!r} is not a plain .npy array")
        return arr

    def node(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise self.fail(f"malformed structure node {_short(node)}")
        kind = node.get("type")
        fields = {
            "dict": {"keys", "values"},
            "odict": {"keys", "values"},
            "list": {"items"},
            "tuple": {"items"},
            "ndarray": {"entry"},
            "npscalar": {"entry"},
            "tensor": {"entry", "requires_grad", "parameter"},
        }.get(kind)
        if fields is None or set(node) != fields | {"type"}:
            raise self.fail(f"malformed structure node {_short(node)}")
        if kind in ("list", "tuple"):
            items = [self.node(v) for v in self.list_field(node, "items")]
            return items if kind == "list" else tuple(items)
        if kind in ("dict", "odict"):
            keys = [self.key(k) for k in self.list_field(node, "keys")]
            values = self.list_field(node, "values")
            if len(keys) != len(values):
                raise self.fail(f"a dict node has {len(keys)} keys and {len(values)} values")
            out = OrderedDict() if kind == "odict" else {}
            for k, v in zip(keys, values):
                out[k] = self.node(v)
            return out
        arr = self.entry(node["entry"])
        if kind == "ndarray":
            return arr
        if kind == "npscalar":
            if arr.ndim != 0:
                raise self.fail(f"npscalar entry {node['entry']!r} is not 0-d")
            return arr[()]
        if not isinstance(node["requires_grad"], bool) or not isinstance(node["parameter"], bool):
            raise self.fail(f"malformed tensor node {_short(node)}")
        if node["parameter"]:
            from .nn.module import Parameter  # noqa: PLC0415

            return Parameter(arr, requires_grad=node["requires_grad"])
        return Tensor(arr, requires_grad=node["requires_grad"])

    def key(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, dict) and node.get("type") == "tuple" and set(node) == {"type", "items"}:
            return tuple(self.key(k) for k in self.list_field(node, "items"))
        raise self.fail(f"malformed dict key {_short(node)}")

    def list_field(self, node: dict, name: str) -> list:
        value = node[name]
        if not isinstance(value, list):
            raise self.fail(f"malformed structure node {_short(node)}")
        return value


def _short(node: Any) -> str:
    text = repr(node)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = ["CheckpointError", "load", "save"]
