"""Differential fuzzers (seeded, trimmed): the same random program run through torch and minicnn,
every observable result compared.

- optimisers: random optimiser, settings, parameter shapes (0-d, empty), groups (one added later
  by ``add_param_group``), None / zero gradients, closures, ``zero_grad``, state-dict round trips
  into a fresh optimiser; parameters after each step at float64 and the state dict's structure.
- LR schedulers: random scheduler (SequentialLR / ChainedScheduler of random ones included),
  settings and step sequences; ``get_last_lr()``, the groups' lr and momentum, ``last_epoch``,
  warnings and exceptions at each step, state-dict round trips.
- nn.Module: random trees of containers and layers (shared submodules and parameters) and random
  operations (container edits, state-dict loading with missing / unexpected / misshapen keys,
  ``assign``, hooks, ``get_/set_submodule``, casts, modes); names and order of
  ``named_parameters/buffers/modules/children`` (``prefix``, ``remove_duplicate``), state-dict
  keys, ``repr``, ``dir``, flags, dtypes and values after each operation.

The full fuzzers run thousands of programs; here a few dozen each, so the file takes seconds.
A failure names the seed: ``run_*(seed)`` replays it.
"""

from __future__ import annotations

import math
import random
import re
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
import torch.optim.lr_scheduler as TL

import minicnn as mc
import minicnn.optim.lr_scheduler as ML

# -- optimisers ---------------------------------------------------------------------------------
OPTIMISERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]
OPTIMISERS.append("Adafactor")
SHAPES = [(), (1,), (3,), (2, 3), (1, 4), (3, 1, 2), (0,), (2, 0)]


def optimiser_settings(name: str, r: random.Random) -> dict[str, Any]:
    """Random constructor arguments of optimiser ``name``."""
    flip = lambda: r.random() < 0.5  # noqa: E731
    wd, lr = r.choice([0, 0, 0.01, 0.3]), r.choice([1e-3, 0.01, 0.1, 0.5])
    betas = (r.choice([0.0, 0.5, 0.9]), r.choice([0.9, 0.999]))
    if name == "SGD":
        mom = r.choice([0, 0, 0.5, 0.9])
        nest = mom > 0 and flip()
        damp = 0 if nest else r.choice([0, 0.1, 0.5])
        return dict(lr=lr, momentum=mom, dampening=damp, weight_decay=wd, nesterov=nest, maximize=flip())
    if name in ("Adam", "AdamW"):
        return dict(lr=lr, betas=betas, eps=r.choice([1e-8, 1e-3]), weight_decay=wd, amsgrad=flip(), maximize=flip())
    if name == "RMSprop":
        return dict(lr=lr, alpha=r.choice([0.9, 0.99]), weight_decay=wd, momentum=r.choice([0, 0.5]), centered=flip())
    if name == "Adagrad":
        return dict(lr=lr, lr_decay=r.choice([0, 0.1]), weight_decay=wd, initial_accumulator_value=r.choice([0, 0.1]))
    if name == "Adadelta":
        return dict(lr=r.choice([1.0, 0.5]), rho=r.choice([0.9, 0.5]), weight_decay=wd, maximize=flip())
    if name == "Adamax":
        return dict(lr=lr, betas=betas, weight_decay=wd, maximize=flip())
    if name == "NAdam":
        return dict(
            lr=lr, betas=betas, weight_decay=wd, momentum_decay=r.choice([0.004, 0.1]), decoupled_weight_decay=flip()
        )
    if name == "RAdam":
        return dict(lr=lr, betas=betas, weight_decay=wd, decoupled_weight_decay=flip(), maximize=flip())
    if name == "ASGD":
        return dict(
            lr=lr, lambd=r.choice([1e-4, 0.1]), alpha=r.choice([0.75, 0.5]), t0=r.choice([1e6, 2, 0]), weight_decay=wd
        )
    if name == "Rprop":
        return dict(lr=lr, etas=(r.choice([0.5, 0.3]), r.choice([1.2, 1.5])), step_sizes=(1e-6, r.choice([50, 0.2])))
    return dict(lr=lr, beta2_decay=r.choice([-0.8, -0.5]), eps=(r.choice([None, 1e-3]), 1e-3), weight_decay=wd)


def as_numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return value.numpy() if isinstance(value, mc.Tensor) else value


def same_value(a: Any, b: Any, rtol: float = 1e-9) -> bool:
    """Numbers, arrays and nested tuples / lists equal (arrays and floats to ``rtol``)."""
    a, b = as_numpy(a), as_numpy(b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=1e-12, equal_nan=True)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_value(x, y, rtol) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12)
    return a == b


def optimiser_state_dict_diff(ts: dict[str, Any], ms: dict[str, Any]) -> str | None:
    """Where torch's and minicnn's optimiser state dicts differ: keys, group settings, state entries."""
    for i, (a, b) in enumerate(zip(ts["param_groups"], ms["param_groups"])):
        if set(a) != set(b):
            return f"group {i} keys: {sorted(set(a) ^ set(b))}"
        bad = [k for k in a if not same_value(a[k], b[k])]
        if bad:
            return f"group {i}: {bad}"
    if set(ts["state"]) != set(ms["state"]):
        return f"state of params {sorted(ts['state'])} vs {sorted(ms['state'])}"
    for k, a in ts["state"].items():
        b = ms["state"][k]
        if set(a) != set(b):
            return f"state[{k}] keys {sorted(a)} vs {sorted(b)}"
        # NAdam's mu_product: float32 in torch, cast to the param dtype once torch loads a state dict
        bad = [kk for kk in a if not same_value(a[kk], b[kk], 1e-6 if kk == "mu_product" else 1e-9)]
        if bad:
            return f"state[{k}]: {bad}"
    return None


def run_optimiser(seed: int) -> str | None:
    """One random optimiser program; None if torch and minicnn agree, else what differs."""
    r, rs = random.Random(seed), np.random.RandomState(seed)
    name = r.choice(OPTIMISERS)
    shapes = [r.choice(SHAPES) for _ in range(r.randint(1, 4))]
    if name == "Adafactor":  # torch's Adafactor divides by zero on an empty parameter
        shapes = [s for s in shapes if 0 not in s] or [(2, 3)]
    init = [np.asarray(rs.randn(*s)) for s in shapes]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    mp = [mc.nn.Parameter(mc.tensor(a.copy())) for a in init]
    n_groups = r.randint(1, min(2, len(shapes)))
    bounds = [0, *sorted(r.sample(range(1, len(shapes)), n_groups - 1)), len(shapes)]
    settings = optimiser_settings(name, r)
    overrides = [optimiser_settings(name, r) if r.random() < 0.5 else {} for _ in range(n_groups)]
    groups = [[dict(params=ps[bounds[i] : bounds[i + 1]], **overrides[i]) for i in range(n_groups)] for ps in (tp, mp)]
    late = (groups[0].pop(), groups[1].pop()) if n_groups > 1 and r.random() < 0.3 else None
    topt, mopt = getattr(torch.optim, name)(groups[0], **settings), getattr(mc.optim, name)(groups[1], **settings)
    rtol = 1e-9
    for step in range(r.randint(1, 6)):
        if late is not None and step == 1:
            topt.add_param_group(late[0])
            mopt.add_param_group(late[1])
            late = None
        for t, m, s in zip(tp, mp, shapes):
            g = None if r.random() < 0.2 else np.asarray(rs.randn(*s)) * (r.random() > 0.1)
            t.grad, m.grad = (None, None) if g is None else (torch.tensor(g), mc.tensor(g.copy()))
        if r.random() < 0.3:
            if topt.step(lambda: 1.5) != mopt.step(lambda: 1.5):
                return f"step {step}: closure result"
        else:
            topt.step()
            mopt.step()
        bad = [i for i, (t, m) in enumerate(zip(tp, mp)) if not same_value(t, m, rtol)]
        if bad:
            return f"step {step}: parameters {bad}"
        if r.random() < 0.3:
            tsd, msd = topt.state_dict(), mopt.state_dict()
            diff = optimiser_state_dict_diff(tsd, msd)
            if diff:
                return f"step {step}: state dict {diff}"
            if r.random() < 0.5:  # into a fresh optimiser, then on
                n = len(topt.param_groups)
                topt = getattr(torch.optim, name)([dict(params=tp[bounds[i] : bounds[i + 1]]) for i in range(n)])
                mopt = getattr(mc.optim, name)([dict(params=mp[bounds[i] : bounds[i + 1]]) for i in range(n)])
                topt.load_state_dict(tsd)
                mopt.load_state_dict(msd)
                # torch casts the float32 scalar state it loads (NAdam mu_product, ASGD eta / mu) to float64 here
                rtol = 1e-6 if name in ("NAdam", "ASGD") else rtol
        if r.random() < 0.2:
            to_none = r.random() < 0.5
            topt.zero_grad(set_to_none=to_none)
            mopt.zero_grad(set_to_none=to_none)
            if [t.grad is None for t in tp] != [m.grad is None for m in mp]:
                return f"zero_grad(set_to_none={to_none})"
    diff = optimiser_state_dict_diff(topt.state_dict(), mopt.state_dict())
    return f"final state dict {diff}" if diff else None


def test_fuzz_optimisers_like_torch():
    failures = [(seed, run_optimiser(seed)) for seed in range(20)]
    assert [f for f in failures if f[1]] == []


# -- LR schedulers --------------------------------------------------------------------------------
SIMPLE = ["LinearLR", "ConstantLR", "ExponentialLR", "StepLR", "CosineAnnealingLR", "PolynomialLR", "MultiStepLR"]
SCHEDULERS = [*SIMPLE, "CosineAnnealingWarmRestarts", "LambdaLR", "MultiplicativeLR", "OneCycleLR", "CyclicLR"]
SCHEDULERS += ["ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"]
LAMBDAS = [lambda e: 0.95**e, lambda e: 1.0 / (e + 1), lambda e: 0.5 if e % 3 == 0 else 1.0]


def scheduler_settings(name: str, r: random.Random, n_groups: int) -> dict[str, Any]:
    """Random constructor arguments of scheduler ``name`` (sub-schedulers as (name, settings))."""
    if name == "StepLR":
        return dict(step_size=r.randint(1, 4), gamma=r.choice([0.1, 0.5, 0.9]))
    if name == "MultiStepLR":
        return dict(milestones=sorted(r.choices(range(10), k=r.randint(1, 4))), gamma=r.choice([0.1, 0.5]))
    if name == "ExponentialLR":
        return dict(gamma=r.choice([0.5, 0.9, 1.0]))
    if name == "CosineAnnealingLR":
        return dict(T_max=r.randint(1, 6), eta_min=r.choice([0.0, 0.001]))
    if name == "CosineAnnealingWarmRestarts":
        return dict(T_0=r.randint(1, 4), T_mult=r.randint(1, 3), eta_min=r.choice([0.0, 0.001]))
    if name in ("LambdaLR", "MultiplicativeLR"):
        return dict(lr_lambda=r.randint(0, 2))
    if name == "LinearLR":
        return dict(start_factor=r.choice([1 / 3, 1.0]), end_factor=r.choice([1.0, 0.2]), total_iters=r.randint(0, 6))
    if name == "ConstantLR":
        return dict(factor=r.choice([1 / 3, 0.5, 1.0]), total_iters=r.randint(0, 6))
    if name == "PolynomialLR":
        return dict(total_iters=r.randint(0, 6), power=r.choice([1.0, 2.0, 0.5]))
    if name == "OneCycleLR":
        max_lr = r.choice([0.1, 1.0]) if r.random() < 0.7 else [0.1 * (i + 1) for i in range(n_groups)]
        return dict(max_lr=max_lr, total_steps=r.randint(2, 12), pct_start=r.choice([0.3, 0.5, 0.1]),
                    anneal_strategy=r.choice(["cos", "linear"]), three_phase=r.random() < 0.3,
                    div_factor=r.choice([25.0, 4.0]), final_div_factor=r.choice([1e4, 10.0]),
                    cycle_momentum=r.random() < 0.7)  # fmt: skip
    if name == "CyclicLR":
        return dict(base_lr=r.choice([0.01, 0.001]), max_lr=r.choice([0.1, 1.0]), step_size_up=r.randint(1, 4),
                    step_size_down=r.choice([None, 1, 3]), mode=r.choice(["triangular", "triangular2", "exp_range"]),
                    gamma=r.choice([1.0, 0.9]), cycle_momentum=r.random() < 0.7,
                    scale_mode=r.choice(["cycle", "iterations"]))  # fmt: skip
    if name == "ReduceLROnPlateau":
        return dict(mode=r.choice(["min", "max"]), factor=r.choice([0.1, 0.5]), patience=r.randint(0, 3),
                    threshold=r.choice([1e-4, 0.1]), threshold_mode=r.choice(["rel", "abs"]), cooldown=r.randint(0, 2),
                    min_lr=r.choice([0, 0.01]), eps=r.choice([1e-8, 0.05]))  # fmt: skip
    subs = [r.choice(SIMPLE[:6]), r.choice([*SIMPLE, "LambdaLR"])]
    out: dict[str, Any] = dict(subs=[(s, scheduler_settings(s, r, n_groups)) for s in subs])
    if name == "SequentialLR":
        out["milestones"] = [r.randint(1, 5)]
    return out


def build_scheduler(lib: Any, name: str, settings: dict[str, Any], opt: Any) -> Any:
    schedulers = TL if lib is torch else ML
    kw = dict(settings)
    if "lr_lambda" in kw:
        kw["lr_lambda"] = LAMBDAS[kw["lr_lambda"]]
    if "subs" in kw:
        subs = [build_scheduler(lib, n, k, opt) for n, k in kw.pop("subs")]
        if name == "ChainedScheduler":
            return schedulers.ChainedScheduler(subs, optimizer=opt)
        return schedulers.SequentialLR(opt, subs, **kw)
    return getattr(schedulers, name)(opt, **kw)


def make_optimiser(lib: Any, lrs: list[float], kind: str) -> Any:
    params = [lib.nn.Parameter(lib.zeros(2)) for _ in lrs]
    extra = dict(momentum=0.9) if kind == "SGD" else {}
    return getattr(lib.optim, kind)([dict(params=[p], lr=lr) for p, lr in zip(params, lrs)], **extra)


def call_recording(fn: Any) -> tuple[Any, str | None, list[str]]:
    """(result, exception type name or None, sorted warning categories) of ``fn()``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result, error = fn(), None
        except Exception as e:  # noqa: BLE001 - the type is compared
            result, error = None, type(e).__name__
    return result, error, sorted({w.category.__name__ for w in caught})


def run_scheduler(seed: int) -> str | None:
    """One random scheduler program; None if torch and minicnn agree, else what differs."""
    r = random.Random(seed)
    lrs = [r.choice([0.1, 0.05, 1.0]) for _ in range(r.randint(1, 3))]
    kind = r.choice(["SGD", "SGD", "Adam"])
    name = r.choice(SCHEDULERS)
    settings = scheduler_settings(name, r, len(lrs))
    topt, mopt = make_optimiser(torch, lrs, kind), make_optimiser(mc, lrs, kind)
    ts, terr, twarn = call_recording(lambda: build_scheduler(torch, name, settings, topt))
    ms, merr, mwarn = call_recording(lambda: build_scheduler(mc, name, settings, mopt))
    if (terr, twarn) != (merr, mwarn):
        return f"{name} {settings}: construction {terr, twarn} vs {merr, mwarn}"
    if terr:
        return None

    def group_values(opt: Any) -> list[Any]:
        return [(float(g["lr"]), g.get("momentum", g.get("betas", (None,))[0])) for g in opt.param_groups]

    for i in range(r.randint(1, 25)):
        if i > 0 or r.random() < 0.8:  # sometimes the scheduler steps first: torch's warning
            topt.step()
            mopt.step()
        metric = r.choice([1.0, 0.9, 0.5, 1.2, 0.99999])
        args = (metric,) if name == "ReduceLROnPlateau" else ()
        _, terr, twarn = call_recording(lambda: ts.step(*args))  # noqa: B023
        _, merr, mwarn = call_recording(lambda: ms.step(*args))  # noqa: B023
        if (terr, twarn) != (merr, mwarn):
            return f"{name} {settings} step {i}: {terr, twarn} vs {merr, mwarn}"
        if terr:
            return None
        if not same_value(ts.get_last_lr(), ms.get_last_lr(), 1e-12):
            return f"{name} {settings} step {i}: get_last_lr {ts.get_last_lr()} vs {ms.get_last_lr()}"
        if not same_value(group_values(topt), group_values(mopt), 1e-12) or getattr(ts, "last_epoch", None) != getattr(
            ms, "last_epoch", None
        ):
            return f"{name} {settings} step {i}: groups {group_values(topt)} vs {group_values(mopt)}"
        if r.random() < 0.15:  # a fresh optimiser and scheduler, loaded from the state dicts
            tsd, msd, tosd, mosd = ts.state_dict(), ms.state_dict(), topt.state_dict(), mopt.state_dict()
            if set(tsd) - {"_get_lr_called_within_step"} != set(msd):
                return f"{name} {settings} step {i}: state dict keys {sorted(set(tsd) ^ set(msd))}"
            topt, mopt = make_optimiser(torch, lrs, kind), make_optimiser(mc, lrs, kind)
            for opt, osd in ((topt, tosd), (mopt, mosd)):
                opt.load_state_dict(osd)
            ts = call_recording(lambda: build_scheduler(torch, name, settings, topt))[0]  # noqa: B023
            ms = call_recording(lambda: build_scheduler(mc, name, settings, mopt))[0]  # noqa: B023
            ts.load_state_dict(tsd)
            ms.load_state_dict(msd)
            for opt, osd in ((topt, tosd), (mopt, mosd)):  # building a scheduler stepped the lr
                opt.load_state_dict(osd)
    return None


def test_fuzz_lr_schedulers_like_torch():
    failures = [(seed, run_scheduler(seed)) for seed in range(150)]
    assert [f for f in failures if f[1]] == []


# -- nn.Module ------------------------------------------------------------------------------------
LEAVES = ["Linear", "Conv2d", "BatchNorm2d", "BatchNorm1d", "ReLU", "Dropout", "Identity", "MaxPool2d", "Flatten"]


def custom_class(lib: Any) -> type:
    class Custom(lib.nn.Module):
        def __init__(self, kids, with_param, with_buf, nonpersist, none_param):
            super().__init__()
            for name, m in kids:
                setattr(self, name, m)
            if with_param:
                self.w = lib.nn.Parameter(lib.ones(2, dtype=lib.float32))
            if with_buf:
                self.register_buffer("b", lib.zeros(3, dtype=lib.float32), persistent=not nonpersist)
            if none_param:
                self.register_parameter("nothing", None)

    return Custom


CUSTOM = {torch: custom_class(torch), mc: custom_class(mc)}


def module_spec(r: random.Random, depth: int = 0) -> tuple[str, Any, dict[str, Any]]:
    """A random module tree as (kind, children or constructor args, settings)."""
    if depth >= 3 or r.random() < 0.45:
        kind = r.choice(LEAVES)
        settings = {
            "Linear": ((r.randint(1, 3), r.randint(1, 3)), dict(bias=r.random() < 0.7)),
            "Conv2d": ((r.randint(1, 3), r.randint(1, 3), r.choice([1, 3])), dict(bias=r.random() < 0.7, stride=2)),
            "BatchNorm2d": ((r.randint(1, 3),), dict(affine=r.random() < 0.7, track_running_stats=r.random() < 0.8)),
            "BatchNorm1d": ((r.randint(1, 3),), dict(momentum=r.choice([0.1, None]))),
            "Dropout": ((r.choice([0.5, 0.1]),), dict(inplace=r.random() < 0.2)),
            "MaxPool2d": ((r.choice([2, 3]),), dict(stride=r.choice([None, 1]), ceil_mode=r.random() < 0.3)),
            "ReLU": ((), dict(inplace=r.random() < 0.3)),
        }.get(kind, ((), {}))
        return (kind, *settings)
    kind = r.choice(["Sequential", "Sequential", "ModuleList", "ModuleDict", "Custom"])
    kids = [module_spec(r, depth + 1) for _ in range(r.randint(0, 3))]
    if kind == "Sequential" and r.random() < 0.3:
        return ("SequentialOD", [(f"m{r.randint(0, 9)}{i}", c) for i, c in enumerate(kids)], {})
    if kind == "ModuleDict":
        return (kind, [(f"k{r.randint(0, 9)}{i}", c) for i, c in enumerate(kids)], {})
    if kind == "Custom":
        flags = dict(with_param=r.random() < 0.5, with_buf=r.random() < 0.5, nonpersist=r.random() < 0.5)
        return (kind, [(f"c{i}", c) for i, c in enumerate(kids)], dict(flags, none_param=r.random() < 0.3))
    return (kind, kids, {})


def build_module(spec: tuple[str, Any, dict[str, Any]], lib: Any, pool: list[Any]) -> Any:
    kind, args, kw = spec
    nn = lib.nn
    if kind == "Sequential":
        m = nn.Sequential(*[build_module(c, lib, pool) for c in args])
    elif kind == "SequentialOD":
        m = nn.Sequential(OrderedDict((n, build_module(c, lib, pool)) for n, c in args))
    elif kind == "ModuleList":
        m = nn.ModuleList([build_module(c, lib, pool) for c in args])
    elif kind == "ModuleDict":
        m = nn.ModuleDict(OrderedDict((n, build_module(c, lib, pool)) for n, c in args))
    elif kind == "Custom":
        m = CUSTOM[lib]([(n, build_module(c, lib, pool)) for n, c in args], **kw)
    else:
        m = getattr(nn, kind)(*args, **kw)
    pool.append(m)
    return m


def observe(root: Any) -> dict[str, Any]:
    """Everything compared after each operation."""
    out: dict[str, Any] = {}
    for dedup in (True, False):
        for prefix in ("", "pre"):
            tag = f"{dedup} {prefix!r}"
            named = root.named_modules(prefix=prefix, remove_duplicate=dedup)
            out["modules " + tag] = [(n, type(m).__name__) for n, m in named]
            out["params " + tag] = [(n, tuple(p.shape)) for n, p in root.named_parameters(prefix, True, dedup)]
            out["buffers " + tag] = [(n, tuple(b.shape)) for n, b in root.named_buffers(prefix, True, dedup)]
    out["own params"] = [n for n, _ in root.named_parameters(recurse=False)]
    out["children"] = [(n, type(m).__name__) for n, m in root.named_children()]
    out["state dict"] = [(k, tuple(v.shape)) for k, v in root.state_dict().items()]
    out["training"] = [m.training for m in root.modules()]
    out["requires_grad"] = [p.requires_grad for p in root.parameters()]
    out["values"] = [round(float(as_numpy(p).astype(float).sum()), 4) for p in root.parameters()]
    out["repr"] = repr(root)
    dtypes = [*root.parameters(), *root.buffers()]
    out["dtypes"] = [str(t.dtype).replace("torch.", "") for t in dtypes]
    own = (
        {n for n, _ in root.named_children()}
        | set(out["own params"])
        | {n for n, _ in root.named_buffers(recurse=False)}
    )
    out["dir"] = sorted(k for k in dir(root) if k in own)
    return out


def containers(root: Any) -> list[Any]:
    names = ("Sequential", "ModuleList", "ModuleDict", "Custom")
    return [m for m in root.modules() if type(m).__name__ in names]


def new_module(lib: Any, k: int) -> Any:
    """A ReLU (k even) or a Linear(2, k + 1) with every parameter 0.25."""
    if k % 2 == 0:
        return lib.nn.ReLU()
    lin = lib.nn.Linear(2, k + 1)
    with torch.no_grad():
        for p in lin.parameters():
            p.fill_(0.25) if lib is torch else p.array.fill(0.25)
    return lin


def nothing(_: Any) -> None:
    """None whatever an operation returned (a container returns itself: not compared)."""


def edit_indexed(lib: Any, c: Any, sub: str, k: int, i: int, j: int) -> Any:
    """An operation ``sub`` on a Sequential or ModuleList ``c``."""
    n, kind = len(c), type(c).__name__
    if kind == "ModuleList" and list(c._modules) != [str(x) for x in range(n)]:
        return "skip"  # torch indexes a ModuleList by the names 0..n-1 only (else AttributeError)
    if sub == "insert" and -n <= i <= n:
        start = i if i >= 0 else i + n
        if not all(str(x) in c._modules for x in range(start, n)):
            return "skip"  # torch's insert assumes the names index..n-1 (KeyError; minicnn renumbers)
    if sub == "insert" and kind == "ModuleList" and not 0 <= i <= n:
        return "skip"  # torch's ModuleList.insert writes a name out of order there
    actions = {
        "get": lambda: type(c[i]).__name__,
        "slice": lambda: ([type(x).__name__ for x in c[i:j]], list(dict(c[i:j].named_children()))),
        "append": lambda: nothing(c.append(new_module(lib, k))),
        "insert": lambda: nothing(c.insert(i, new_module(lib, k))),
        "extend": lambda: nothing(c.extend([new_module(lib, k), lib.nn.Tanh()])),
        "pop": lambda: type(c.pop(i)).__name__,
        "del": lambda: c.__delitem__(i),
        "delslice": lambda: c.__delitem__(slice(i, j)),
        "set": lambda: c.__setitem__(i, new_module(lib, k)),
        "add": lambda: repr(c + (lib.nn.Sequential(lib.nn.Tanh()) if kind == "Sequential" else [lib.nn.Tanh()])),
        "mul": lambda: repr(c * 2) if kind == "Sequential" else "skip",
    }
    return actions[sub]()


def edit_other(lib: Any, c: Any, sub: str, k: int, i: int) -> Any:
    """An operation ``sub`` on a ModuleDict or a custom module ``c``."""
    if type(c).__name__ == "ModuleDict":
        keys = list(c.keys())
        if sub in ("get", "pop", "del") and not keys:
            return "empty"
        actions = {
            "get": lambda: type(c[keys[i % len(keys)]]).__name__,
            "append": lambda: c.__setitem__(f"n{k}", new_module(lib, k)),
            "pop": lambda: type(c.pop(keys[i % len(keys)])).__name__,
            "del": lambda: c.__delitem__(keys[i % len(keys)]),
            "extend": lambda: c.update([(f"u{k}", new_module(lib, k)), (keys[0] if keys else "z", lib.nn.Tanh())]),
        }
        return actions[sub]() if sub in actions else (list(c.keys()), "k00" in c, len(c))
    names = [*c._modules, *c._parameters, *c._buffers]
    children = list(c._modules)
    actions = {
        "get": lambda: c.add_module(f"a{k}", new_module(lib, k)),
        "append": lambda: setattr(c, f"s{k}", new_module(lib, k)),
        "insert": lambda: c.register_buffer(f"rb{k}", lib.ones(2), persistent=bool(i % 2)),
        "extend": lambda: c.register_parameter(f"rp{k}", None if i % 2 else lib.nn.Parameter(lib.ones(1))),
        "pop": lambda: delattr(c, names[i % len(names)]) if names else None,
        "set": lambda: setattr(c, children[i % len(children)], new_module(lib, k)) if children else None,
        "del": lambda: setattr(c, "w", lib.ones(2)),  # a plain tensor over a parameter: TypeError
    }
    return actions[sub]() if sub in actions else "skip"


def load_mutated(lib: Any, root: Any, mode: int, strict: bool, k: int, assign: bool) -> Any:
    """``load_state_dict`` of the module's own state dict, one key dropped / added / misshapen."""
    sd = OrderedDict((n, np.asarray(as_numpy(v))) for n, v in root.state_dict().items())
    keys = list(sd)
    if keys and mode == 1:
        del sd[keys[k % len(keys)]]
    if mode == 2:
        sd[f"bogus.{k}"] = sd[keys[0]] if keys else np.zeros(1)
    if keys and mode == 3:
        sd[keys[k % len(keys)]] = np.zeros((*sd[keys[k % len(keys)]].shape, 2))
    if keys and mode == 4:
        sd[keys[k % len(keys)].rsplit(".", 1)[0] + ".extra"] = sd[keys[0]]
    if lib is torch:
        sd = OrderedDict((n, torch.as_tensor(v)) for n, v in sd.items())
    try:
        res = root.load_state_dict(sd, strict=strict, assign=assign)
    except RuntimeError as e:
        return "error", sorted(re.findall(r'"([^"]+)"', str(e))), "size mismatch" in str(e)
    return sorted(res.missing_keys), sorted(res.unexpected_keys), repr(res)


def run_hooks(lib: Any, m: Any, hooks: list[tuple[str, bool, bool, bool]], removed: list[int], fail: bool) -> Any:
    """Forward (pre-)hooks on ``m`` (prepend, with_kwargs, always_call), some removed, then one call
    of a forward that returns or raises; the order in which hooks ran."""
    calls: list[tuple[str, int]] = []
    handles = []
    for j, (kind, prepend, with_kwargs, always) in enumerate(hooks):
        if kind == "pre":
            hook = (lambda mod, a, kw, j=j: calls.append(("pre", j))) if with_kwargs else (
                lambda mod, a, j=j: calls.append(("pre", j)))  # fmt: skip
            handles.append(m.register_forward_pre_hook(hook, prepend=prepend, with_kwargs=with_kwargs))
        else:
            hook = (lambda mod, a, kw, o, j=j: calls.append(("fwd", j))) if with_kwargs else (
                lambda mod, a, o, j=j: calls.append(("fwd", j)))  # fmt: skip
            handles.append(m.register_forward_hook(hook, prepend=prepend, with_kwargs=with_kwargs, always_call=always))
    for j in removed:
        if j < len(handles):
            handles[j].remove()

    def forward(*args: Any, **kwargs: Any) -> Any:
        if fail:
            raise ValueError("forward failed")
        return "out"

    m.forward = forward
    try:
        out = m(lib.zeros(1))
    except ValueError:
        out = "raised"
    finally:
        del m.forward
        for h in handles:
            h.remove()
    return calls, out


def module_operation(r: random.Random) -> tuple[Any, ...]:
    kinds = ["train", "requires_grad_", "zero_grad", "double", "float", "half", "apply", "edit", "edit", "edit"]
    kind = r.choice([*kinds, "edit", "share", "share_param", "load", "load", "get", "set_submodule", "hooks"])
    if kind in ("train", "requires_grad_", "zero_grad"):
        return kind, r.random() < 0.5
    if kind == "edit":
        subs = ["get", "slice", "append", "insert", "extend", "pop", "del", "delslice", "set", "add", "mul"]
        return kind, r.randint(0, 20), r.choice(subs), r.randint(0, 9), r.randint(-4, 4), r.randint(-4, 4)
    if kind == "load":
        return kind, r.randint(0, 4), r.random() < 0.5, r.randint(0, 50), r.random() < 0.4
    if kind == "hooks":
        hooks = [(r.choice(["pre", "fwd"]), r.random() < 0.3, r.random() < 0.3, r.random() < 0.3) for _ in range(3)]
        return kind, r.randint(0, 20), hooks, [r.randint(0, 4) for _ in range(r.randint(0, 2))], r.random() < 0.3
    return kind, r.randint(0, 20), r.randint(0, 50), r.randint(0, 9)


def apply_operation(lib: Any, root: Any, pool: list[Any], op: tuple[Any, ...]) -> Any:
    """Run ``op`` on ``root`` (a tree of ``lib``); what it returns is compared."""
    kind = op[0]
    if kind in ("train", "requires_grad_"):
        return nothing(getattr(root, kind)(op[1]))
    if kind in ("double", "float", "half"):
        return nothing(getattr(root, kind)())
    if kind == "zero_grad":
        for p in root.parameters():
            p.grad = lib.ones(p.shape, dtype=p.dtype)
        root.zero_grad(set_to_none=op[1])
        return [None if p.grad is None else float(p.grad.sum()) for p in root.parameters()]
    if kind == "apply":
        names: list[str] = []
        root.apply(lambda m: names.append(type(m).__name__))
        return names
    if kind == "load":
        return load_mutated(lib, root, *op[1:])
    modules = list(root.modules())
    if kind == "hooks":
        return run_hooks(lib, modules[op[1] % len(modules)], *op[2:])
    if kind == "get":
        names = [n for n, _ in root.named_modules()] + [n for n, _ in root.named_parameters()]
        target = [*names, *(n for n, _ in root.named_buffers()), "nope", "0.nope", "w.x"][op[2] % (len(names) + 3)]
        out = []
        for getter in ("get_submodule", "get_parameter", "get_buffer"):
            try:
                found = getattr(root, getter)(target)
                out.append(type(found).__name__ if getter == "get_submodule" else tuple(found.shape))
            except AttributeError:
                out.append("AttributeError")
        return out
    if kind == "set_submodule":
        names = [n for n, _ in root.named_modules() if n]
        target = "nope.x" if op[3] % 3 == 2 else names[op[1] % len(names)] if names else "x"
        root.set_submodule(target, lib.nn.Tanh(), strict=bool(op[3] % 2))
        return None
    conts = containers(root)
    if not conts:
        return "no container"
    c = conts[op[1] % len(conts)]
    if kind == "edit":
        if type(c).__name__ in ("Sequential", "ModuleList"):
            return edit_indexed(lib, c, op[2], op[3], op[4], op[5])
        return edit_other(lib, c, op[2], op[3], op[4])
    if kind == "share":  # a module of the tree under a second name
        target = pool[op[2] % len(pool)]
        if type(c).__name__ in ("Sequential", "ModuleList") or any(m is c for m in target.modules()):
            return "skip"
        return c.add_module(f"sh{op[3]}", target)
    # share_param: a parameter of the tree under a second name
    params = list(root.parameters())
    if type(c).__name__ != "Custom" or not params:
        return "skip"
    return setattr(c, f"sp{op[3]}", params[op[2] % len(params)])


def run_module(seed: int, n_ops: int = 12) -> str | None:
    """One random module program; None if torch and minicnn agree, else what differs."""
    r = random.Random(seed)
    spec = module_spec(r)
    if spec[0] in LEAVES:
        spec = ("Sequential", [spec], {})
    tpool: list[Any] = []
    mpool: list[Any] = []
    troot, mroot = build_module(spec, torch, tpool), build_module(spec, mc, mpool)
    with torch.no_grad():
        for (_, tp), (_, mp) in zip(troot.named_parameters(), mroot.named_parameters()):
            mp.array[...] = tp.numpy()
    done: list[Any] = []
    for step in range(n_ops + 1):
        if step:
            op = module_operation(r)
            done.append(op)
            results = []
            for lib, root, pool in ((torch, troot, tpool), (mc, mroot, mpool)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        out = apply_operation(lib, root, pool, op)
                        results.append(out.replace("torch.", "") if isinstance(out, str) else out)
                    except Exception as e:  # noqa: BLE001 - the type is compared
                        results.append(type(e).__name__)
            if results[0] != results[1]:
                return f"seed {seed}, {spec}, after {done}: {results}"
            if op[0] == "load" and op[4] and results[0][0] == "error":
                return None  # minicnn restores the module when load_state_dict raises; torch keeps what it assigned
        ours, theirs = observe(mroot), observe(troot)
        diff = [k for k in ours if ours[k] != theirs[k]]
        if diff:
            return f"seed {seed}, {spec}, after {done}: {diff[0]}: {theirs[diff[0]]} vs {ours[diff[0]]}"
    return None


def test_fuzz_module_api_like_torch():
    failures = [(seed, run_module(seed)) for seed in range(40)]
    assert [f for f in failures if f[1]] == []
