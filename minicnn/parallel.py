"""Data-parallel training on a CPU's cores: each step's batch is split among processes.

NumPy runs every array operation on one core (only BLAS calls use more), so a training step
of a small network keeps one core busy while the others idle. minicnn uses a machine's cores
the way Chainer's ``MultiprocessParallelUpdater`` and torch's ``DistributedDataParallel``
do: ``workers`` processes each hold a replica of the model, each runs forward and backward
on its share of the batch, and the shares' gradients are averaged, weighted by share size,
before the optimiser step. For a loss that is a mean over samples (``cross_entropy``,
``mse_loss`` with ``reduction="mean"``, no class weights) that average *is* the gradient of
the whole batch, up to float rounding::

    dp = mc.parallel.DataParallel(model, F.cross_entropy, workers=2)
    for x, y in loader:
        optimizer.zero_grad()
        loss, logits = dp.forward_backward(x, y)   # fills the parameters' .grad
        optimizer.step()
    dp.close()                                     # or: with DataParallel(...) as dp:

How it works:

* The constructor forks ``workers - 1`` processes (``fork``: each inherits a copy of the
  model, nothing is pickled). The calling process is worker 0 and computes a share itself.
* Parameters and buffers are broadcast through one shared-memory block (an anonymous
  ``mmap``) before every step; each worker returns its gradients through a block of its own.
  Batches and outputs travel as raw bytes through pipes.
* The workers run their BLAS on one thread, and so does the calling process during
  ``forward_backward`` and ``forward`` (``threadpoolctl``): the cores are used by the
  processes instead. Outside those calls the calling process is left as it was.

Where it differs from one process: BatchNorm normalises each share with that share's
statistics (as DistributedDataParallel without SyncBatchNorm does), and its running
statistics come from worker 0's share (broadcast to the others every step). Dropout masks
of worker r come from a generator seeded from the library seed and r (and the epoch, after
``set_epoch``), so a run is reproducible for a given number of workers, and a resumed run
that calls ``set_epoch`` as the training command does draws what the uninterrupted one drew.
Linux only (it needs ``fork``); CPU only (on a GPU one process already uses the device).
"""

from __future__ import annotations

import json
import mmap
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend, random
from .autograd import Tensor, is_grad_enabled, no_grad, set_grad_enabled

ALIGN = 64


def _layout(arrays: list[np.ndarray]) -> tuple[list[int], int]:
    """Byte offsets (64-byte aligned) of ``arrays`` packed one after another, and the total."""
    offsets, end = [], 0
    for a in arrays:
        offsets.append(end)
        end += -(-a.nbytes // ALIGN) * ALIGN
    return offsets, end


def _views(block: np.ndarray, arrays: list[np.ndarray], offsets: list[int]) -> list[np.ndarray]:
    """Arrays shaped like ``arrays`` that live in the byte block at ``offsets``."""
    return [block[o : o + a.nbytes].view(a.dtype).reshape(a.shape) for a, o in zip(arrays, offsets)]


def _send_array(conn: Any, a: np.ndarray) -> None:
    conn.send_bytes(np.ascontiguousarray(a).data)


def _recv_array(conn: Any, spec: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(conn.recv_bytes(), dtype=spec["dtype"]).reshape(spec["shape"])


def _spec(a: np.ndarray) -> dict[str, Any]:
    return {"shape": list(a.shape), "dtype": a.dtype.str}


def _array(v: Any) -> np.ndarray:
    a = v.array if isinstance(v, Tensor) else np.asarray(v)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"DataParallel: inputs must be on the CPU, got {type(a).__name__}")
    return a


class DataParallel:
    """Split each batch among ``workers`` processes (this one included); see the module
    docstring. ``loss_fn(output, target)`` must return the mean loss over the share."""

    def __init__(self, module: Any, loss_fn: Callable[[Tensor, Tensor], Tensor], workers: int = 2) -> None:
        if int(workers) < 1:
            raise ValueError(f"DataParallel: workers must be >= 1, got {workers}")
        if workers > 1 and not hasattr(os, "fork"):
            raise RuntimeError("DataParallel: more than one worker needs os.fork (Linux)")
        for m in module.modules():  # a lazy layer has no shapes yet: torch's message
            if getattr(m, "has_uninitialized_params", None) is not None and m.has_uninitialized_params():
                m._replicate_for_data_parallel()
        self.module, self.loss_fn, self.workers = module, loss_fn, int(workers)
        unique: dict[int, Tensor] = {}
        for _, t in module._state_tensors():
            unique.setdefault(id(t), t)
        self._state = list(unique.values())
        self._params = [p for p in module.parameters() if p.requires_grad]
        for t in self._state:
            if not isinstance(t.array, np.ndarray):
                raise ValueError(
                    f"DataParallel: the module must be on the CPU, found a tensor on {backend.device_of(t.array)}"
                )
        self._conns: list[Any] = []
        self._procs: list[Any] = []
        self._blas: Any = None  # ThreadpoolController of this process, with more than one worker
        self._closed = False
        self._epoch: int | None = None
        self._epoch_calls = 0  # set_epoch calls: each one re-seeds the workers
        if self.workers == 1:
            return
        state_arrays = [t.array for t in self._state]
        grad_arrays = [p.array for p in self._params]
        self._state_offsets, state_bytes = _layout(state_arrays)
        self._grad_offsets, grad_bytes = _layout(grad_arrays)
        self._shm = mmap.mmap(-1, max(1, state_bytes + (self.workers - 1) * grad_bytes))
        block = np.frombuffer(self._shm, dtype=np.uint8)
        self._state_views = _views(block[:state_bytes], state_arrays, self._state_offsets)
        grads = block[state_bytes:]
        self._grad_views = [
            _views(grads[r * grad_bytes : (r + 1) * grad_bytes], grad_arrays, self._grad_offsets)
            for r in range(self.workers - 1)
        ]
        seed = random.get_rng_state()["seed"]
        base = self._unseeded_base = seed if seed >= 0 else int(random.generator().integers(2**62))
        ctx = multiprocessing.get_context("fork")
        for rank in range(1, self.workers):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=self._serve, args=(rank, theirs, ours, base), daemon=True, name=f"minicnn-dp-{rank}"
            )
            proc.start()
            theirs.close()
            self._conns.append(ours)
            self._procs.append(proc)
        self._blas = _threadpools()

    # -- the worker processes -------------------------------------------------------------

    def _serve(self, rank: int, conn: Any, parent_end: Any, base_seed: int) -> None:
        """Worker ``rank``'s loop: receive a share, compute, send back, until told to stop or
        the calling process is gone (end of file on the pipe)."""
        for other in [parent_end, *self._conns]:  # the calling process's pipe ends, inherited through fork
            other.close()
        _threadpools().limit(limits=1, user_api="blas")  # for the worker's whole life
        draws = None  # the (library seeding, set_epoch call) the generator was last seeded for
        random.manual_seed(random.derived_seed(base_seed, rank))
        grads = self._grad_views[rank - 1]
        while True:
            try:
                header = json.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return
            if header["op"] == "stop":
                return
            if header["draws"] != draws:  # re-seeded or set_epoch: draws depend on (seed, rank, epoch) only
                draws, (seed, epoch) = header["draws"], (header["draws"][2], header["epoch"])
                random.manual_seed(random.derived_seed(seed, rank, *([] if epoch is None else [epoch])))
            try:
                x = _recv_array(conn, header["x"])
                target = _recv_array(conn, header["target"]) if "target" in header else None
                for t, v in zip(self._state, self._state_views):
                    t.array[...] = v
                self.module.train(header["training"])
                for p in self._params:
                    p.grad = None
                with set_grad_enabled(header["grad_enabled"]):
                    loss, out = self._compute(x, target, header["op"] == "forward_backward")
                if header["op"] == "forward_backward":
                    for p, g in zip(self._params, grads):
                        if p.grad is None:
                            g[...] = 0
                        else:
                            g[...] = p.grad.array
                reply = {"ok": True, "loss": loss, "out": _spec(out)}
            except Exception:
                conn.send_bytes(json.dumps({"ok": False, "error": traceback.format_exc()}).encode())
                continue
            conn.send_bytes(json.dumps(reply).encode())
            _send_array(conn, out)

    def _compute(self, x: np.ndarray, target: np.ndarray | None, grad: bool, scale: float = 1.0) -> tuple[float, Any]:
        """Forward, and unless ``grad`` is False backward of ``scale * loss`` (accumulating
        into ``.grad`` like ``backward``), on one share: (loss, output array)."""
        if not grad:
            with no_grad():
                return 0.0, self.module(Tensor(x)).array
        out = self.module(Tensor(x))
        loss = self.loss_fn(out, Tensor(target))
        (loss * scale if scale != 1.0 else loss).backward()
        return float(loss.item()), out.array

    # -- the calling process ----------------------------------------------------------------

    def _scatter(self, op: str, x: np.ndarray, target: np.ndarray | None) -> list[tuple[int, int]]:
        """Send shares 1.. to the workers; the (start, stop) rows of every share."""
        n = len(x)
        bounds = np.linspace(0, n, self.workers + 1).round().astype(int)
        shares = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        for v, t in zip(self._state_views, self._state):
            if t.array.shape != v.shape or t.array.dtype != v.dtype or not isinstance(t.array, np.ndarray):
                raise RuntimeError(
                    "DataParallel: a parameter or buffer changed shape, dtype or device since the workers "
                    f"were started ({v.dtype}{list(v.shape)} -> {t.array.dtype}{list(t.array.shape)}); "
                    "close this DataParallel and create a new one"
                )
            v[...] = t.array
        seed = random.get_rng_state()["seed"]
        draws = [random.generation(), self._epoch_calls, seed if seed >= 0 else self._unseeded_base]
        for rank, (conn, (a, b)) in enumerate(zip(self._conns, shares[1:]), start=1):
            header = {
                "op": op,
                "training": self.module.training,
                "grad_enabled": is_grad_enabled(),  # the caller's, as torch's parallel_apply gives its threads
                "epoch": self._epoch,
                "draws": draws,
                "x": _spec(x[a:b]),
            }
            if target is not None:
                header["target"] = _spec(target[a:b])
            try:
                conn.send_bytes(json.dumps(header).encode())
                _send_array(conn, x[a:b])
                if target is not None:
                    _send_array(conn, target[a:b])
            except OSError as exc:  # a broken pipe: the worker is gone
                code = self._procs[rank - 1].exitcode
                self.close()
                raise RuntimeError(f"DataParallel: worker {rank} died (exit code {code})") from exc
        return shares

    def _gather_all(self, quiet: bool = False) -> list[tuple[float, np.ndarray]]:
        """(loss, output) from workers 1.. in order. A failed or dead worker raises
        RuntimeError after every reply was read (unless ``quiet``)."""
        replies, failure = [], None
        for rank, conn in enumerate(self._conns, start=1):
            try:
                reply = json.loads(conn.recv_bytes())
            except (EOFError, OSError):
                failure = failure or f"worker {rank} died (exit code {self._procs[rank - 1].exitcode})"
                continue
            if not reply["ok"]:
                failure = failure or f"worker {rank} failed:\n{reply['error']}"
                continue
            replies.append((reply["loss"], _recv_array(conn, reply["out"])))
        if failure is not None and "died" in failure:
            self.close()
        if failure is not None and not quiet:
            raise RuntimeError(f"DataParallel: {failure}")
        return replies

    def forward_backward(self, x: Any, target: Any) -> tuple[float, Tensor]:
        """Forward and backward of the whole batch, split among the workers.

        Adds the gradient of the batch's mean loss to every parameter's ``.grad`` (as
        ``loss.backward()`` would) and returns (mean loss, output Tensor without a graph).
        """
        self._check_open()
        x, target = _array(x), _array(target)
        if self.workers == 1 or len(x) < self.workers:
            loss, out = self._compute(x, target, True)
            return loss, Tensor(out)
        with self._blas.limit(limits=1, user_api="blas"):
            return self._forward_backward(x, target)

    def _own_share_then_gather(self, compute: Callable[[], Any]) -> tuple[Any, list[tuple[float, np.ndarray]]]:
        """``compute()`` this process's share while the workers compute theirs, then their
        (loss, output) replies. Should ``compute`` fail, every reply is still read, so the
        pipes stay in step for the next call."""
        try:
            own = compute()
        except BaseException:
            self._gather_all(quiet=True)
            raise
        return own, self._gather_all()

    def _forward_backward(self, x: np.ndarray, target: np.ndarray) -> tuple[float, Tensor]:
        n = len(x)
        shares = self._scatter("forward_backward", x, target)
        a, b = shares[0]
        own, replies = self._own_share_then_gather(lambda: self._compute(x[a:b], target[a:b], True, (b - a) / n))
        results = [own, *replies]
        for (a, b), grads in zip(shares[1:], self._grad_views):
            w = (b - a) / n
            for p, g in zip(self._params, grads):
                share = g * p.dtype.type(w)
                p.grad = Tensor(share if p.grad is None else p.grad.array + share)
        loss = sum(lo * (b - a) / n for (lo, _), (a, b) in zip(results, shares))
        return loss, Tensor(np.concatenate([out for _, out in results]))

    def forward(self, x: Any) -> Tensor:
        """The module's output for the whole batch without a graph (evaluation), split among
        the workers."""
        self._check_open()
        x = _array(x)
        if self.workers == 1 or len(x) < self.workers:
            return Tensor(self._compute(x, None, False)[1])
        with self._blas.limit(limits=1, user_api="blas"):
            return self._forward(x)

    def _forward(self, x: np.ndarray) -> Tensor:
        a, b = self._scatter("forward", x, None)[0]
        own, replies = self._own_share_then_gather(lambda: self._compute(x[a:b], None, False))
        return Tensor(np.concatenate([out for _, out in [own, *replies]]))

    __call__ = forward

    def set_epoch(self, epoch: int) -> None:
        """Re-seed the workers' generators from (library seed, rank, ``epoch``) before their next
        share, as torch's ``DistributedSampler.set_epoch``: their draws (dropout masks) in an
        epoch then do not depend on earlier epochs, so a run resumed from a checkpoint draws
        what the uninterrupted run drew. Calling it again with the same epoch repeats that
        epoch's draws; so does ``mc.manual_seed`` (the workers re-seed at their next share
        whenever the library was seeded). (The calling process's generator is the library's
        own, whose state checkpoints hold.)"""
        self._epoch = int(epoch)
        self._epoch_calls += 1

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("DataParallel: already closed")

    def close(self) -> None:
        """Stop the workers. Idempotent."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        for conn in self._conns:
            try:
                conn.send_bytes(json.dumps({"op": "stop"}).encode())
                conn.close()
            except OSError:
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        self._conns, self._procs = [], []

    def __enter__(self) -> DataParallel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if not sys.is_finalizing():
            self.close()


def _threadpools() -> Any:
    """threadpoolctl's controller of this process's BLAS pools (imported when workers start:
    ``import minicnn`` and one-process training do not need threadpoolctl)."""
    from threadpoolctl import ThreadpoolController  # noqa: PLC0415

    return ThreadpoolController()
