"""nn.ParameterList and nn.ParameterDict against torch's: registration, state-dict keys,
indexing, iteration, mutation, reprs and errors, by running the same script on both."""

from __future__ import annotations

import re
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn.linear import Linear
from minicnn.nn.module import Module, Parameter, ParameterDict, ParameterList
from minicnn.optim import SGD

OURS = SimpleNamespace(
    name="minicnn",
    ParameterList=ParameterList,
    ParameterDict=ParameterDict,
    Parameter=Parameter,
    Module=Module,
    Linear=Linear,
    tensor=lambda a: mc.tensor(np.asarray(a)),
    Tensor=mc.Tensor,
)
TORCH = SimpleNamespace(
    name="torch",
    ParameterList=torch.nn.ParameterList,
    ParameterDict=torch.nn.ParameterDict,
    Parameter=torch.nn.Parameter,
    Module=torch.nn.Module,
    Linear=torch.nn.Linear,
    tensor=lambda a: torch.tensor(np.asarray(a)),
    Tensor=torch.Tensor,
)
_TORCH_DTYPE_NAMES = {"FloatTensor": "float32", "DoubleTensor": "float64", "LongTensor": "int64"}


def torch_repr_in_our_names(s: str) -> str:
    """torch's repr with its dtype names as minicnn prints dtypes (``torch.float32`` and
    ``torch.FloatTensor`` -> ``float32``); the layout is left as it is."""
    s = re.sub(r"torch\.(\w+)Tensor", lambda m: _TORCH_DTYPE_NAMES[m.group(1) + "Tensor"], s)
    return s.replace("torch.float", "float").replace("torch.int", "int")


def _shape(v: Any) -> Any:
    """A tensor's shape; a module's repr; any other value itself."""
    if hasattr(v, "shape"):
        return tuple(v.shape)
    return repr(v) if hasattr(v, "state_dict") else v


def describe(lib: Any, c: Any) -> dict[str, Any]:
    """What a container shows: entries (type, shape / value), state-dict keys and shapes,
    parameter names, len and repr (torch's in minicnn's dtype names)."""
    entries = list(c.items()) if hasattr(c, "items") else list(enumerate(c))
    text = repr(c)
    return dict(
        entries=[
            (k, type(v).__name__ if not isinstance(v, lib.Tensor) else "Parameter", _shape(v))
            if isinstance(v, (lib.Tensor, lib.Module))
            else (k, repr(v))
            for k, v in entries
        ],
        state=[(k, tuple(v.shape)) for k, v in c.state_dict().items()],
        params=[n for n, _ in c.named_parameters()],
        len=len(c),
        repr=torch_repr_in_our_names(text) if lib is TORCH else text,
    )


def outcome(fn: Any) -> Any:
    """``fn()``'s value, or the type of the exception it raised."""
    try:
        return fn()
    except Exception as exc:  # the type is what is compared
        return type(exc).__name__


def run_both(script: Any) -> tuple[Any, Any]:
    return script(OURS), script(TORCH)


# -- ParameterList --------------------------------------------------------------------------------
def _list_script(lib: Any) -> list[Any]:
    t = lib.tensor
    log = []
    pl = lib.ParameterList([t(np.ones((2, 3), np.float32)), lib.Parameter(t(np.zeros(4)))])
    log.append(describe(lib, pl))
    log.append(all(isinstance(p, lib.Parameter) and p.requires_grad for p in pl))
    pl.append(t(np.ones(1, np.float32)))
    pl.extend([None, 7])
    pl += [lib.Linear(2, 3)]
    log.append(describe(lib, pl))
    log.append([type(p).__name__ for p in pl])
    log.append(_shape(pl[-6]) if len(pl) == 6 else None)
    pl[1] = t(np.ones((5,), np.float32))  # a tensor put in becomes a Parameter
    pl[-3] = None  # a plain value replaces a plain value
    log.append(describe(lib, pl))
    log.append(type(pl[1]).__name__ == lib.Parameter.__name__)
    sub = pl[1:4]
    log.append((type(sub).__name__, len(sub), sub[0] is pl[1], describe(lib, sub)))
    log.append(describe(lib, pl[::-2]))
    log.append(outcome(lambda: pl[6]))
    log.append(outcome(lambda: pl[-7]))
    log.append(outcome(lambda: pl.__setitem__(6, t(np.ones(1)))))
    log.append(outcome(lambda: pl.__setitem__(0, 5)))  # a parameter slot takes a Parameter or None
    log.append(outcome(lambda: pl["0"]))
    log.append(outcome(lambda: pl.extend(t(np.ones(3)))))
    log.append(outcome(lambda: pl.extend(3)))
    log.append(outcome(lambda: pl(1)))

    def delete() -> None:
        del pl[0]

    log.append(outcome(delete))
    log.append(pl.append(t(np.ones(1))) is pl and pl.extend([]) is pl)
    log.append([k for k in dir(pl) if k.isdigit()])
    return log


def test_parameter_list_behaves_like_torch():
    ours, theirs = run_both(_list_script)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"step {i}:\n{a}\n!=\n{b}"
    assert len(ours) == len(theirs)


def test_parameter_list_reprs_equal_torch():
    for build in (
        lambda lib: lib.ParameterList(),
        lambda lib: lib.ParameterList([lib.tensor(np.ones(3, np.float32))]),  # torch's one-line layout
        lambda lib: lib.ParameterList([lib.tensor(np.ones((2, 1, 3))), None, "x", lib.Linear(2, 2)]),
    ):
        ours, theirs = run_both(build)
        assert repr(ours) == torch_repr_in_our_names(repr(theirs))


def test_parameter_list_shares_memory_and_trains_in_a_parent():
    w = mc.tensor(np.ones((2, 2), np.float32))
    pl = ParameterList([w])
    assert isinstance(pl[0], Parameter) and pl[0].array is w.array  # wrapped, not copied (as torch)
    arr = np.zeros(3, np.float32)
    pl.append(arr)  # a NumPy array is minicnn's stand-in for a tensor: wrapped too
    assert isinstance(pl[1], Parameter) and pl[1].requires_grad

    class Net(Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = Linear(2, 2)
            self.scales = pl

        def forward(self, x):
            return (self.lin(x) @ self.scales[0]).sum() + self.scales[1].sum()

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["lin.weight", "lin.bias", "scales.0", "scales.1"]
    assert list(net.state_dict()) == ["lin.weight", "lin.bias", "scales.0", "scales.1"]
    opt = SGD(net.parameters(), lr=0.5)
    net(mc.ones(3, 2)).backward()
    opt.step()
    np.testing.assert_allclose(pl[1].numpy(), -0.5)  # d sum(s1) / d s1 = 1, one step of lr 0.5
    net.double()
    assert pl[0].dtype == np.float64 and net.state_dict()["scales.0"].dtype == np.float64
    state = {k: np.full(v.shape, 2.0) for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    np.testing.assert_array_equal(pl[0].numpy(), 2.0)


# -- ParameterDict --------------------------------------------------------------------------------
def _dict_script(lib: Any) -> list[Any]:
    t = lib.tensor
    log = []
    pd = lib.ParameterDict({"b": t(np.ones(2, np.float32)), "a": lib.Parameter(t(np.zeros((3, 4)))), "c": 5})
    log.append(describe(lib, pd))  # a plain dict: keys sorted, as torch
    pd2 = lib.ParameterDict(OrderedDict([("z", t(np.ones(1))), ("y", t(np.ones(2)))]))
    log.append(describe(lib, pd2))  # an OrderedDict keeps its order
    pd3 = lib.ParameterDict([("q", t(np.ones(1))), ("p", None)])
    log.append(describe(lib, pd3))
    pd["d"] = t(np.ones((2, 2), np.float32))
    pd["b"] = None
    log.append(describe(lib, pd))
    log.append(("a" in pd, "zz" in pd, list(pd), list(reversed(pd)), list(pd.keys())))
    log.append([(k, _shape(v)) for k, v in pd.items()])
    log.append([_shape(v) for v in pd.values()])
    log.append((_shape(pd.get("a")), pd.get("zz"), pd.get("zz", 3)))
    log.append(_shape(pd.setdefault("e", t(np.ones(3)))))
    log.append(_shape(pd.setdefault("a")))
    log.append(_shape(pd.pop("d")))
    k, v = pd.popitem()
    log.append((k, _shape(v)))
    log.append(describe(lib, pd))
    del pd["c"]
    log.append(describe(lib, pd))
    cp = pd.copy()
    log.append((describe(lib, cp), cp["a"] is pd["a"]))
    log.append(describe(lib, pd.fromkeys(["u", "v"], t(np.ones(2)))))
    log.append(describe(lib, pd | pd2))
    merged = OrderedDict([("k", t(np.ones(1)))]) | pd  # pd.__ror__: the left operand's copy, updated
    log.append((type(merged).__name__, [(k, _shape(v)) for k, v in merged.items()]))
    pd |= pd3
    log.append(describe(lib, pd))
    pd.update([("w", t(np.ones(1)))])
    log.append(list(pd))
    pd.clear()
    log.append(describe(lib, pd))
    # errors, each on a fresh dict (torch's is left holding a bad key after a failed assignment)
    for bad in (
        lambda d: d.__setitem__(3, t(np.ones(1))),  # keys are strings
        lambda d: d.__setitem__("x.y", t(np.ones(1))),  # a parameter name has no dot
        lambda d: d.__setitem__("update", t(np.ones(1))),  # nor the name of an attribute
        lambda d: d.update(3),
        lambda d: d.update([("a", 1, 2)]),
        lambda d: d.update([1]),
        lambda d: d.__delitem__("zz"),
        lambda d: d(1),
    ):
        log.append(outcome(lambda bad=bad: bad(lib.ParameterDict({"a": t(np.ones(1))}))))
    return log
    log.append(describe(lib, pd))
    return log


def test_parameter_dict_behaves_like_torch():
    ours, theirs = run_both(_dict_script)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"step {i}:\n{a}\n!=\n{b}"
    assert len(ours) == len(theirs)


def test_parameter_dict_reprs_and_parent_keys_equal_torch():
    def build(lib: Any) -> Any:
        m = lib.Module()
        m.p = lib.ParameterList([lib.tensor(np.ones(1, np.float32))])
        m.d = lib.ParameterDict({"k": lib.tensor(np.ones((2, 3)))})
        m.e = lib.ParameterDict({"x": lib.tensor(np.ones(2)), "y": lib.Linear(1, 1), "n": None})
        return m

    ours, theirs = run_both(build)
    assert repr(ours) == torch_repr_in_our_names(repr(theirs))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ParameterDict()) == repr(torch.nn.ParameterDict())


def test_parameter_dict_missing_key_is_a_key_error():
    pd = ParameterDict({"a": mc.ones(1)})
    with pytest.raises(KeyError, match="zz"):  # torch raises AttributeError (its getattr); a dict raises KeyError
        pd["zz"]
    with pytest.raises(KeyError, match="empty"):
        ParameterDict().popitem()
    assert isinstance(pd["a"], Parameter) and pd["a"].requires_grad


def test_parameter_dict_failed_assignments_leave_it_unchanged():
    # torch records the key before the assignment fails (len 2 then, and items() raises); minicnn does not
    pd = ParameterDict({"a": mc.ones(1)})
    for key, error in ((3, TypeError), ("x.y", KeyError), ("update", KeyError)):
        with pytest.raises(error):
            pd[key] = mc.ones(1)
    assert list(pd) == ["a"] and len(pd) == 1 and list(pd.state_dict()) == ["a"]


# -- random sequences of list operations, against torch ---------------------------------------------
_LIST_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 3)),
        st.tuples(st.just("extend"), st.lists(st.integers(1, 3), max_size=3)),
        st.tuples(st.just("set"), st.integers(-5, 5), st.integers(1, 3)),
        st.tuples(st.just("slice"), st.integers(-4, 4), st.integers(-4, 4), st.sampled_from([1, 2, -1])),
    ),
    max_size=8,
)


@settings(max_examples=30, deadline=None)
@given(ops=_LIST_OPS)
def test_parameter_list_random_operations_match_torch(ops):
    def script(lib: Any) -> list[Any]:
        pl, log = lib.ParameterList(), []
        for op in ops:
            if op[0] == "append":
                pl.append(lib.tensor(np.ones(op[1])))
            elif op[0] == "extend":
                pl.extend([lib.tensor(np.ones(n)) for n in op[1]])
            elif op[0] == "set":
                log.append(outcome(lambda op=op, pl=pl: pl.__setitem__(op[1], lib.tensor(np.zeros(op[2])))))
            else:
                pl = pl[op[1] : op[2] : op[3]]
            log.append(describe(lib, pl))
        return log

    ours, theirs = run_both(script)
    assert ours == theirs
