"""The library's one source of randomness.

Every random draw in minicnn (initialisation, dropout masks, shuffling, augmentation) goes
through :func:`generator`, so ``mc.manual_seed(s)`` makes two runs bit-identical on a CPU.
On a GPU, draws for CuPy arrays come from CuPy's generator, seeded by the same call.

torch's API on top: :class:`Generator` (a stream of its own for the samplers' ``generator=``;
its draws are made on the host, so one seed gives the same numbers on every device),
:data:`default_generator` (the library stream as a Generator), ``get_rng_state_tensor`` /
``set_rng_state_tensor`` (``mc.get_rng_state`` / ``mc.set_rng_state``: a uint8 Tensor in the
fixed layout of :func:`encode_state`, never a pickle), :func:`initial_seed`, :func:`seed` and
:func:`fork_rng`. :func:`get_rng_state` keeps its dict form (checkpoints use it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import backend

_seed: int | None = None
# Unseeded, the host stream starts from a non-deterministic seed, kept for initial_seed().
_unseeded_initial: int = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
_np_rng: np.random.Generator = np.random.default_rng(_unseeded_initial)
_cp_rngs: dict[int, Any] = {}  # CuPy generators by GPU (each keeps its state on its device)
_epoch: int | None = None  # set by begin_epoch: the CuPy generators are derived from (seed, epoch)
_generation = 0  # counts manual_seed / set_rng_state calls (DataParallel's workers follow them)
_vmap_levels: list[str] = []  # the randomness= of the mc.func.vmap calls running, innermost last
_cp_base: int | None = None  # vmap(randomness='same'): the CuPy generators come from this seed


def manual_seed(seed: int) -> Generator:
    """Seed every random source minicnn uses. Any integer, as torch: a negative seed is taken
    modulo 2**64. Returns :data:`default_generator`, as torch."""
    global _seed, _np_rng, _epoch, _generation
    _seed = _check_seed(seed)
    _np_rng = np.random.default_rng(_seed)
    _cp_rngs.clear()  # re-created lazily from the seed on first GPU use
    _epoch = None
    _generation += 1
    return default_generator


def generation() -> int:
    """How many times the generators were seeded or restored (manual_seed, set_rng_state)."""
    return _generation


def begin_epoch(epoch: int) -> None:
    """Re-derive the generators a checkpoint cannot hold from the seed and ``epoch``.

    The NumPy generator's state goes into checkpoints (:func:`get_rng_state`), but CuPy's
    cuRAND-based generator cannot be saved. The training loop calls this at the start of
    every epoch, so that GPU draws (dropout masks) in epoch e depend only on (seed, e): a run
    resumed from the checkpoint of epoch e-1 draws exactly what the uninterrupted run drew.
    (:class:`minicnn.parallel.DataParallel` does the same for its workers with ``set_epoch``.)
    """
    global _epoch
    _epoch = int(epoch)
    _cp_rngs.clear()


def derived_seed(*key: int) -> int:
    """A seed for an independent stream named by ``key`` (e.g. (seed, epoch) or
    (seed, rank, epoch)), from NumPy's SeedSequence: distinct keys give unrelated streams."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1, np.uint64)[0])


def generator(xp: Any = np):
    """The library generator for array module ``xp`` (numpy or cupy). For CuPy, the one of
    the current GPU (ops run on their inputs' GPU): GPU 0 draws from the seed itself, GPU k
    from a stream derived from (seed, k). Inside ``mc.func.vmap(randomness='error')`` it raises
    torch's error: every random draw in minicnn asks for its generator here."""
    if _vmap_levels and "error" in _vmap_levels:
        _random_in_vmap()
    if xp is np:
        return _np_rng
    device = xp.cuda.runtime.getDevice()
    rng = _cp_rngs.get(device)
    if rng is None:
        if _cp_base is not None:
            seed = _cp_base
        else:
            seed = _seed if _seed is not None else int(_np_rng.integers(2**63))
            if _epoch is not None:
                seed = derived_seed(seed, _epoch)
        if device:
            seed = derived_seed(seed, 2**32 + device)
        rng = _cp_rngs[device] = xp.random.default_rng(seed)
    return rng


def get_rng_state() -> dict[str, Any]:
    """The NumPy generator's state as plain data (for checkpoints). (``mc.get_rng_state()`` is
    torch's form: a uint8 Tensor, :func:`get_rng_state_tensor`.)"""
    return {"seed": -1 if _seed is None else _seed, "bit_generator": _np_rng.bit_generator.state}


def set_rng_state(state: Any) -> None:
    """Restore the NumPy generator from :func:`get_rng_state`'s dict or from a uint8 Tensor of
    :func:`get_rng_state_tensor` (validated: TypeError / ValueError for a wrong or corrupt one)."""
    global _seed, _np_rng, _generation, _unseeded_initial
    if isinstance(state, dict):
        bit_state = state["bit_generator"]
        seed = int(state.get("seed", -1))
        seed_or_none = None if seed < 0 else seed
    else:
        bit_state, initial, seeded = decode_state(state)
        seed_or_none = initial if seeded else None
        if not seeded:
            _unseeded_initial = initial
    rng = np.random.default_rng()
    rng.bit_generator.state = bit_state
    _generation += 1
    _seed = seed_or_none
    _np_rng = rng


# -- Generator objects (torch.Generator) -------------------------------------------------------
# A generator's state as bytes (get_state / set_state), fixed layout, little-endian, no pickle:
#   0  magic b"mcR1"          4 bytes
#   4  PCG64 state            16 bytes (unsigned 128-bit)
#  20  PCG64 increment        16 bytes (unsigned 128-bit, always odd)
#  36  has_uint32             4 bytes (0 or 1: a cached half of a 64-bit draw is pending)
#  40  uinteger               4 bytes (that cached 32-bit half)
#  44  initial seed           8 bytes (unsigned 64-bit)
#  52  flags                  4 bytes (bit 0: seeded by manual_seed; other bits 0)
STATE_MAGIC = b"mcR1"
STATE_SIZE = 56


def _fresh_seed() -> int:
    """A non-deterministic 64-bit seed (from the OS entropy, as NumPy's SeedSequence)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])


def _check_seed(seed: Any, what: str = "manual_seed") -> int:
    """torch's seeds: any integer in [-2**63, 2**64); a negative one is taken modulo 2**64."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        if hasattr(seed, "__index__") and not isinstance(seed, bool):
            seed = seed.__index__()
        else:
            raise TypeError(f"{what}: the seed must be an integer, got {type(seed).__name__}")
    seed = int(seed)
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"{what}: Overflow when unpacking long: the seed {seed} is outside [-2**63, 2**64)")
    return seed % 2**64


def encode_state(bit_state: dict[str, Any], initial_seed: int, seeded: bool) -> np.ndarray:
    """A PCG64 bit generator's ``state`` dict (plus the initial seed) as STATE_SIZE bytes."""
    if bit_state.get("bit_generator") != "PCG64":
        raise ValueError(f"generator state: only PCG64 states can be encoded, got {bit_state.get('bit_generator')}")
    s = bit_state["state"]
    raw = b"".join(
        (
            STATE_MAGIC,
            int(s["state"]).to_bytes(16, "little"),
            int(s["inc"]).to_bytes(16, "little"),
            int(bit_state["has_uint32"]).to_bytes(4, "little"),
            int(bit_state["uinteger"]).to_bytes(4, "little"),
            int(initial_seed).to_bytes(8, "little"),
            int(bool(seeded)).to_bytes(4, "little"),
        )
    )
    return np.frombuffer(raw, dtype=np.uint8).copy()


def decode_state(new_state: Any) -> tuple[dict[str, Any], int, bool]:
    """The inverse of :func:`encode_state`: (bit generator state, initial seed, seeded), with
    TypeError for a tensor that is not uint8 and ValueError for a wrong size or corrupt bytes."""
    from .autograd import Tensor  # noqa: PLC0415 - autograd imports this module's users

    if not isinstance(new_state, Tensor):
        raise TypeError(f"set_state: expected a uint8 Tensor (torch's ByteTensor), got {type(new_state).__name__}")
    if new_state.dtype != np.uint8:
        raise TypeError(f"set_state: expected a uint8 Tensor (torch's ByteTensor), got dtype {new_state.dtype}")
    a = backend.to_numpy(new_state.array)
    if a.shape != (STATE_SIZE,):
        raise ValueError(f"set_state: RNG state is wrong size: expected {STATE_SIZE} bytes, got shape {a.shape}")
    raw = a.tobytes()
    if raw[:4] != STATE_MAGIC:
        raise ValueError(f"set_state: not a minicnn generator state (magic {raw[:4]!r}, expected {STATE_MAGIC!r})")
    state, inc = int.from_bytes(raw[4:20], "little"), int.from_bytes(raw[20:36], "little")
    has_uint32, uinteger = int.from_bytes(raw[36:40], "little"), int.from_bytes(raw[40:44], "little")
    initial, flags = int.from_bytes(raw[44:52], "little"), int.from_bytes(raw[52:56], "little")
    if inc % 2 == 0 or has_uint32 not in (0, 1) or flags not in (0, 1):
        raise ValueError("set_state: corrupt RNG state (even PCG64 increment, or invalid flag fields)")
    bit_state = {
        "bit_generator": "PCG64",
        "state": {"state": state, "inc": inc},
        "has_uint32": has_uint32,
        "uinteger": uinteger,
    }
    return bit_state, initial, bool(flags)


class Generator:
    """torch.Generator: a random stream of its own, for the ``generator=`` of minicnn's samplers.

    It holds a NumPy generator (PCG64, as ``numpy.random.default_rng``). Draws for tensors on a
    GPU are made on the host from this stream and copied to the device, so one seed gives the
    same numbers on every device (``device`` is kept as torch's, it does not move the stream).
    Without ``manual_seed`` it starts from a non-deterministic seed (:meth:`initial_seed` tells it).

    ``get_state()`` is a uint8 Tensor of STATE_SIZE bytes in a fixed little-endian layout (see
    :func:`encode_state`), ``set_state`` validates it.
    """

    def __init__(self, device: Any = "cpu") -> None:
        self._device = backend.device_str("cpu" if device is None else device)
        self._initial = _fresh_seed()
        self._seeded = False
        self._rng = np.random.default_rng(self._initial)

    @property
    def device(self) -> str:
        return self._device

    def numpy(self) -> np.random.Generator:
        """The NumPy generator the draws come from (minicnn's own accessor)."""
        return self._rng

    def manual_seed(self, seed: int) -> Generator:
        self._initial = _check_seed(seed)
        self._seeded = True
        self._rng = np.random.default_rng(self._initial)
        return self

    def seed(self) -> int:
        """Re-seed from a non-deterministic seed and return it."""
        s = _fresh_seed()
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._initial

    def get_state(self) -> Any:
        from .autograd import Tensor  # noqa: PLC0415

        return Tensor(encode_state(self._rng.bit_generator.state, self._initial, self._seeded))

    def set_state(self, new_state: Any) -> Generator:
        bit_state, initial, seeded = decode_state(new_state)
        rng = np.random.default_rng()
        rng.bit_generator.state = bit_state
        self._rng, self._initial, self._seeded = rng, initial, seeded
        return self

    def __repr__(self) -> str:
        return f"<minicnn.Generator device='{self._device}' initial_seed={self._initial}>"


class _DefaultGenerator(Generator):
    """``mc.default_generator``: the library stream itself (``generator(np)``) as a Generator."""

    def __init__(self) -> None:
        self._device = "cpu"

    @property
    def _rng(self) -> np.random.Generator:  # type: ignore[override]
        return _np_rng

    @property
    def _seeded(self) -> bool:  # type: ignore[override]
        return _seed is not None

    @property
    def _initial(self) -> int:  # type: ignore[override]
        return _unseeded_initial if _seed is None else _seed

    def manual_seed(self, seed: int) -> Generator:
        manual_seed(seed)
        return self

    def set_state(self, new_state: Any) -> Generator:
        set_rng_state(new_state)
        return self


default_generator = _DefaultGenerator()


def host_rng(gen: Generator | None, xp: Any = np, what: str = "generator") -> tuple[Any, Any]:
    """The generator a sampler draws from and the array module of its draws: the library
    generator of ``xp`` (on the device) when ``gen`` is None, else the Generator's NumPy
    stream (on the host; the caller copies the draws to the device)."""
    if _vmap_levels and "error" in _vmap_levels:
        _random_in_vmap()
    if gen is None:
        return generator(xp), xp
    if not isinstance(gen, Generator):
        raise TypeError(f"{what}: generator must be a minicnn.Generator or None, got {type(gen).__name__}")
    return gen._rng, np


def get_rng_state_tensor() -> Any:
    """torch.get_rng_state: the library generator's state as a uint8 Tensor."""
    return default_generator.get_state()


def set_rng_state_tensor(new_state: Any) -> None:
    """torch.set_rng_state: restore a state from :func:`get_rng_state_tensor`."""
    set_rng_state(new_state)


def initial_seed() -> int:
    """The seed of the library generator: the last ``manual_seed``, else the non-deterministic
    seed it started from."""
    return default_generator.initial_seed()


def seed() -> int:
    """Seed every random source from a non-deterministic seed (``manual_seed``) and return it."""
    s = _fresh_seed()
    manual_seed(s)
    return s


@contextlib.contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda") -> Iterator[None]:  # fmt: skip
    """torch.random.fork_rng: draws inside the block leave the library's streams as they were.

    The host (NumPy) stream's state is saved and restored. CuPy's generators cannot be saved:
    those used inside the block are dropped afterwards and the ones from before put back
    (``devices`` is accepted for torch's signature; every GPU is covered).
    """
    if not enabled:
        yield
        return
    global _seed, _np_rng, _unseeded_initial, _epoch
    saved = (_seed, _np_rng, _np_rng.bit_generator.state, _unseeded_initial, dict(_cp_rngs), _epoch)
    try:
        yield
    finally:
        _seed, _np_rng, bit_state, _unseeded_initial, cp_rngs, _epoch = saved
        _np_rng.bit_generator.state = bit_state
        _cp_rngs.clear()
        _cp_rngs.update(cp_rngs)


def _random_in_vmap() -> None:
    raise RuntimeError(
        "vmap: called random operation while in randomness error mode. Please either use the 'same' or "
        "'different' randomness flags on vmap or perform the randomness operation out of vmap"
    )


@contextlib.contextmanager
def vmap_randomness(randomness: str) -> Iterator[Any]:
    """The random streams for one ``mc.func.vmap`` call; yields ``rewind()``, called before each
    slice. 'error': a draw raises. 'different': the slices draw one after the other. 'same':
    ``rewind`` puts the host stream back where it was at the start, and re-creates the CuPy
    generators from one seed drawn at the start, so that every slice draws the same numbers;
    afterwards the host stream is where the last slice left it and the CuPy generators of
    before are back."""
    global _cp_base
    _vmap_levels.append(randomness)
    saved_cp = (dict(_cp_rngs), _cp_base)
    try:
        if randomness != "same":
            yield lambda: None
            return
        bit_state = _np_rng.bit_generator.state
        _cp_base = derived_seed(int(bit_state["state"]["state"]) % 2**63, 0x5A3E)  # without drawing from the host

        def rewind() -> None:
            _np_rng.bit_generator.state = bit_state
            _cp_rngs.clear()

        yield rewind
    finally:
        _vmap_levels.pop()
        if randomness == "same":
            _cp_rngs.clear()
            _cp_rngs.update(saved_cp[0])
            _cp_base = saved_cp[1]


def thread_safe_generator() -> Generator | None:
    """torch.random.thread_safe_generator: the generator of the DataLoader thread worker this runs
    in, None elsewhere (the default stream). minicnn's DataLoader loads in the calling thread
    (``get_worker_info()`` is None: it has no thread workers), so this is always None, as torch's
    in its main process."""
    return None
