"""Grad mode and inference mode are per thread, as torch's: each scenario runs in torch and in
minicnn and what each thread saw must agree. Threads are interleaved by events, not sleeps."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minicnn as mc

TIMEOUT = 10  # seconds an event may take: only a hang reaches it


def _leaf(lib: Any) -> Any:
    return lib.tensor(np.array([1.0, 2.0]), requires_grad=True)


class _Worker(threading.Thread):
    """``fn()`` in a new thread, started at once; :meth:`result` joins it and returns what ``fn``
    returned, or raises what it raised."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn, self.box = fn, {}
        self.start()

    def run(self) -> None:
        try:
            self.box["value"] = self.fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            self.box["error"] = e

    def result(self) -> Any:
        self.join(TIMEOUT)
        assert not self.is_alive(), "thread hung"
        if "error" in self.box:
            raise self.box["error"]
        return self.box["value"]


def _in_thread(fn: Callable[[], Any]) -> Any:
    return _Worker(fn).result()


def _observe(lib: Any) -> tuple[bool, bool, bool]:
    x = _leaf(lib)
    y = x * 2
    return lib.is_grad_enabled(), lib.is_inference_mode_enabled(), y.requires_grad


@pytest.mark.parametrize("outer", ["no_grad", "set_grad_enabled", "inference_mode", "plain_call"])
def test_a_new_thread_starts_with_grad_on_whatever_its_parent_has_as_torch(outer: str) -> None:
    seen = []
    for lib in (torch, mc):
        if outer == "plain_call":  # set_grad_enabled(False) called plainly switches the parent at once
            lib.set_grad_enabled(False)
            try:
                seen.append((_in_thread(lambda lib=lib: _observe(lib)), _observe(lib)))
            finally:
                lib.set_grad_enabled(True)
            continue
        with lib.set_grad_enabled(False) if outer == "set_grad_enabled" else getattr(lib, outer)():
            seen.append((_in_thread(lambda lib=lib: _observe(lib)), _observe(lib)))
    assert seen[1] == seen[0]
    assert seen[1][0] == (True, False, True)  # (the thread records)
    assert _observe(mc) == (True, False, True)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode", "plain_call"])
def test_a_mode_switched_in_one_thread_leaves_another_recording_as_torch(mode: str) -> None:
    """The worker switches grad off and waits inside its block while the main thread computes;
    then the main thread switches off while the worker computes."""
    seen = [_switch_in_a_worker(lib, mode) for lib in (torch, mc)]
    assert seen[1] == seen[0]
    assert seen[1][1] == (True, False, True)  # the main thread recorded while the worker had grad off


def _switch_in_a_worker(lib: Any, mode: str) -> tuple[Any, ...]:
    switched, main_done, main_switched, worker_done = (threading.Event() for _ in range(4))

    def worker() -> tuple[Any, Any]:
        if mode == "plain_call":
            lib.set_grad_enabled(False)
        with getattr(lib, mode)() if mode != "plain_call" else contextlib.nullcontext():
            inside = _observe(lib)
            switched.set()
            assert main_done.wait(TIMEOUT)
        assert main_switched.wait(TIMEOUT)
        after = _observe(lib)  # the main thread is inside its own block now
        worker_done.set()
        lib.set_grad_enabled(True)  # (a plain call's switch stays until undone)
        return inside, after

    t = _Worker(worker)
    assert switched.wait(TIMEOUT)
    main_while = _observe(lib)
    main_done.set()
    with lib.no_grad():
        main_switched.set()
        assert worker_done.wait(TIMEOUT)
        main_inside = _observe(lib)
    return t.result(), main_while, main_inside, _observe(lib)


def test_a_decorated_function_called_from_two_threads_at_once_keeps_each_threads_mode_as_torch() -> None:
    """Each call of a ``@no_grad()`` function saves and restores its own thread's mode, also when
    the calls overlap: thread A enters, thread B (grad off) enters, A leaves, B leaves."""
    seen = [_overlapping_decorated_calls(lib) for lib in (torch, mc)]
    assert seen[1] == seen[0] == (True, (False, True))


def _overlapping_decorated_calls(lib: Any) -> tuple[Any, Any]:
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    deco = lib.no_grad()

    @deco
    def a_body() -> None:
        a_in.set()
        assert b_in.wait(TIMEOUT)

    @deco
    def b_body() -> None:
        b_in.set()
        assert a_out.wait(TIMEOUT)

    def a() -> bool:
        a_body()
        a_out.set()
        return lib.is_grad_enabled()

    def b() -> tuple[bool, bool]:
        with lib.no_grad():
            assert a_in.wait(TIMEOUT)
            b_body()
            inside = lib.is_grad_enabled()
        return inside, lib.is_grad_enabled()

    ta, tb = _Worker(a), _Worker(b)
    return ta.result(), tb.result()


def test_inference_tensors_are_made_only_in_the_thread_in_inference_mode_as_torch() -> None:
    seen = [_inference_in_a_worker(lib) for lib in (torch, mc)]
    assert seen[1] == seen[0] == (True, False, True, False)


def _inference_in_a_worker(lib: Any) -> tuple[Any, ...]:
    entered, made = threading.Event(), threading.Event()

    def worker() -> bool:
        with lib.inference_mode():
            entered.set()
            assert made.wait(TIMEOUT)
            return lib.ones(2).is_inference()

    t = _Worker(worker)
    assert entered.wait(TIMEOUT)
    main = lib.ones(2)
    main_graph = (_leaf(lib) * main).requires_grad
    made.set()
    return t.result(), main.is_inference(), main_graph, lib.is_inference_mode_enabled()


def test_backward_in_one_thread_leaves_another_threads_grad_mode_as_torch() -> None:
    """A backward pass runs without grad in its own thread only: a hook that blocks inside it
    lets the main thread record meanwhile."""
    seen = [_backward_in_a_worker(lib) for lib in (torch, mc)]
    assert seen[1] == seen[0]
    assert seen[1][1] == (True, False, True)


def _backward_in_a_worker(lib: Any) -> tuple[Any, Any]:
    in_hook, main_done = threading.Event(), threading.Event()

    def worker() -> list[float]:
        x = _leaf(lib)
        y = x * 3

        def hook(g: Any) -> None:
            in_hook.set()
            assert main_done.wait(TIMEOUT)

        y.register_hook(hook)
        y.sum().backward()
        return x.grad.tolist()

    t = _Worker(worker)
    assert in_hook.wait(TIMEOUT)
    main = _observe(lib)
    main_done.set()
    return t.result(), main


def test_data_parallel_under_no_grad_records_nothing_as_torch() -> None:
    seen = []
    for lib in (torch, mc):
        lib.manual_seed(0)
        dp = lib.nn.DataParallel(lib.nn.Linear(3, 2))
        x = lib.ones(4, 3)
        with lib.no_grad():
            off = dp(x).requires_grad
        seen.append((off, dp(x).requires_grad))
    assert seen[1] == seen[0] == (False, True)
