"""The library's one source of randomness.

Every random draw in minicnn (initialisation, dropout masks, shuffling, augmentation) goes
through :func:`generator`, so ``mc.manual_seed(s)`` makes two runs bit-identical on a CPU.
On a GPU, draws for CuPy arrays come from CuPy's generator, seeded by the same call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_seed: int | None = None
_np_rng: np.random.Generator = np.random.default_rng()
_cp_rngs: dict[int, Any] = {}  # CuPy generators by GPU (each keeps its state on its device)
_epoch: int | None = None  # set by begin_epoch: the CuPy generators are derived from (seed, epoch)
_generation = 0  # counts manual_seed / set_rng_state calls (DataParallel's workers follow them)


def manual_seed(seed: int) -> None:
    """Seed every random source minicnn uses. Any integer, as torch: a negative seed is taken
    modulo 2**64."""
    global _seed, _np_rng, _epoch, _generation
    _seed = int(seed) % 2**64
    _np_rng = np.random.default_rng(_seed)
    _cp_rngs.clear()  # re-created lazily from the seed on first GPU use
    _epoch = None
    _generation += 1


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
    from a stream derived from (seed, k)."""
    if xp is np:
        return _np_rng
    device = xp.cuda.runtime.getDevice()
    rng = _cp_rngs.get(device)
    if rng is None:
        seed = _seed if _seed is not None else int(_np_rng.integers(2**63))
        if _epoch is not None:
            seed = derived_seed(seed, _epoch)
        if device:
            seed = derived_seed(seed, 2**32 + device)
        rng = _cp_rngs[device] = xp.random.default_rng(seed)
    return rng


def get_rng_state() -> dict[str, Any]:
    """The NumPy generator's state as plain data (for checkpoints)."""
    return {"seed": -1 if _seed is None else _seed, "bit_generator": _np_rng.bit_generator.state}


def set_rng_state(state: dict[str, Any]) -> None:
    global _seed, _np_rng, _generation
    _generation += 1
    seed = int(state.get("seed", -1))
    _seed = None if seed < 0 else seed
    rng = np.random.default_rng()
    rng.bit_generator.state = state["bit_generator"]
    _np_rng = rng
