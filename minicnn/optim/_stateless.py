"""torch.optim.swap_in_optimizer_params_and_state: run an optimizer's API on other parameters and state.

Inside the context, ``optimizer.param_groups[i]["params"]`` are the given tensors (taken in
order, group after group), the groups' hyper-parameters are those of the given
``optimizer.state_dict()``-shaped dict, and ``optimizer.state`` maps each given tensor to a
shallow copy of its entry there; on exit the live groups (the same dicts, with their own
contents) and state come back. A step inside writes the given parameters and the state's arrays
in place, and the new values of the entries the caller gave (a buffer the step replaced, the
``step`` count, a 0-d tensor in torch) are written back into them, as torch's in-place edits
reach the caller's dict; entries the step adds stay inside, as torch's. The checks and their RuntimeErrors are torch's.
minicnn's optimizers keep raw arrays as state: a Tensor in the given state is installed as its
array (the same memory).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ..autograd import Tensor
from .optimizer import Optimizer

_NAME = "swap_in_optimizer_params_and_state"


def _check_state(state: Any) -> dict[Any, Any]:
    """``state`` must map packed parameter ids (ints) to per-parameter dicts."""
    if not isinstance(state, dict):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping packed parameter ids to "
            f"per-param state dicts, got {type(state).__name__}."
        )
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style state keyed by packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_NAME} requires per-parameter optimizer state entries to be dictionaries.")
    return state


def _check_group(idx: int, group: dict[str, Any], swapin_group: Any) -> list[int]:
    """The packed parameter ids of ``swapin_group``, checked against the live group ``group``."""
    if not isinstance(swapin_group, dict):
        raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
    ids = swapin_group.get("params")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style param_groups[*]['params'] entries keyed by packed "
            "parameter ids."
        )
    if len(group["params"]) != len(ids):
        raise RuntimeError(
            f"swapin_optim_state param group {idx} has a different number of params than the live optimizer "
            "param group."
        )
    swapin_only = [k for k in swapin_group if k not in group]
    live_only = [k for k in group if k not in swapin_group]
    if swapin_only or live_only:
        raise RuntimeError(
            f"{_NAME} requires optimizer.state_dict()-style param group keys to exactly match the live optimizer "
            f"group keys for group {idx}. Keys only in swap-in: {swapin_only}. Keys only in live: {live_only}."
        )
    return ids


def _prepare(
    optimizer: Optimizer, swapin_parameters: dict[str, Tensor], swapin_optim_state: dict[str, Any]
) -> tuple[dict[Any, Any], list[tuple[dict[str, Any], dict[str, Any], list[Tensor]]]]:
    """The checked state, and per group (live group, swap-in group, swap-in parameters)."""
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    state = _check_state(swapin_optim_state.get("state"))
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['param_groups'] to be a list of param-group dicts, "
            f"got {type(groups).__name__}."
        )
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups than the live optimizer.")
    flat = list(swapin_parameters.values())
    offset, seen, infos = 0, set(), []
    for idx, (group, swapin_group) in enumerate(zip(optimizer.param_groups, groups)):
        ids = _check_group(idx, group, swapin_group)
        seen.update(ids)
        if offset + len(ids) > len(flat):
            raise RuntimeError(
                f"{_NAME} requires the explicit parameter state to match optimizer.param_groups ordering."
            )
        infos.append((group, swapin_group, flat[offset : offset + len(ids)]))
        offset += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(
            f"{_NAME} requires swapin_optim_state['state'] to be keyed only by packed parameter ids from "
            f"param_groups[*]['params']; got extra keys {extra!r}."
        )
    return state, infos


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(
    optimizer: Optimizer, swapin_parameters: dict[str, Tensor], swapin_optim_state: dict[str, Any]
) -> Iterator[None]:
    """torch.optim.swap_in_optimizer_params_and_state: for the ``with`` block, ``optimizer`` works on
    ``swapin_parameters`` (a dict of tensors, in the order of the optimizer's parameters, e.g.
    ``model.named_parameters()``'s) with the state and group settings of ``swapin_optim_state``
    (shaped as ``optimizer.state_dict()``); the live parameters, settings and state come back on
    exit. RuntimeError (torch's) for an optimizer without state yet or a dict of another shape.
    Cost: O(number of parameters), no copy of any array."""
    state, infos = _prepare(optimizer, swapin_parameters, swapin_optim_state)
    live_state = optimizer.state
    snapshots = [dict(g) for g in optimizer.param_groups]
    entries: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (the caller's entry, the one installed)
    try:
        swapped: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for group, swapin_group, params in infos:
            group["params"] = params
            group.update({k: v for k, v in swapin_group.items() if k != "params"})
            for p, pid in zip(params, swapin_group["params"]):
                given = state.get(pid, {})
                swapped[p] = {k: v.array if isinstance(v, Tensor) else v for k, v in given.items()}
                entries.append((given, swapped[p]))
        optimizer.state = swapped
        yield
    finally:
        for given, used in entries:
            _write_back(given, used)
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = live_state


def _write_back(given: dict[str, Any], used: dict[str, Any]) -> None:
    """Carry the new values of ``given``'s entries that the optimizer replaced in ``used`` (its copy)
    into ``given``: arrays and Tensors in place, numbers (minicnn's ``step``, where torch keeps a
    0-d tensor that its step edits in place) by assignment; entries it added stay out, as torch's."""
    for key, old in given.items():
        new = used.get(key, old)
        if new is old or (isinstance(old, Tensor) and new is old.array):
            continue
        if isinstance(old, Tensor):
            old.array[...] = new
        elif hasattr(old, "shape") and hasattr(old, "__setitem__"):
            old[...] = new
        elif not isinstance(old, dict):
            given[key] = new
