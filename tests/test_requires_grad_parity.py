"""Which outputs require grad, against torch: for each case, every output's ``requires_grad``,
``grad_fn is None``, ``is_leaf`` and dtype, with inputs that require grad (grad mode and
``no_grad()``) and with inputs that do not; and, where an output requires grad, the gradients
of its sum. The table holds the ops whose flags once differed from torch's (found by a sweep of
every shared function) and the integer / bool results that never require grad."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minicnn as mc

_DATA = {
    "x": np.array([[0.3, 0.9, 0.1, 0.5], [0.7, 0.2, 0.8, 0.4], [0.6, 0.15, 0.35, 0.95]]),
    "sq": np.array([[2.0, 0.5, 0.1], [0.3, -1.5, 0.2], [0.1, 0.4, 3.0]]),
    "tall": np.array([[1.0, 0.2, 0.1], [0.3, 1.5, 0.2], [0.1, 0.4, 2.0], [0.5, 0.1, 0.3], [0.2, 0.7, 0.6]]),
    "rhs": np.array([[1.0, 0.5], [0.2, -1.0], [0.3, 0.4], [-0.6, 0.1], [0.9, 0.8]]),
    "q": np.array([0.2, 0.55, 0.9]),
}

CASES: dict[str, Callable[[Any, Callable[[str], Any]], Any]] = {
    "linalg.slogdet": lambda lib, t: lib.linalg.slogdet(t("sq")),
    "linalg.lu": lambda lib, t: lib.linalg.lu(t("x")),
    "linalg.lstsq gelsd": lambda lib, t: lib.linalg.lstsq(t("tall"), t("rhs"), driver="gelsd"),
    "linalg.lstsq gelsy": lambda lib, t: lib.linalg.lstsq(t("tall"), t("rhs")),
    "linalg.matrix_power 1": lambda lib, t: lib.linalg.matrix_power(t("sq"), 1),
    "diff n=0": lambda lib, t: lib.diff(t("x"), 0),
    "flatten of one dim": lambda lib, t: t("x").flatten(1),
    "quantile tensor q": lambda lib, t: lib.quantile(t("x"), t("q"), 1),
    "nanquantile tensor q": lambda lib, t: lib.nanquantile(t("x"), t("q"), 0),
    "max dim": lambda lib, t: lib.max(t("x"), 1),
    "sort": lambda lib, t: lib.sort(t("x"), 1),
    "topk": lambda lib, t: lib.topk(t("x"), 2),
    "argmax": lambda lib, t: lib.argmax(t("x"), 0),
    "comparison": lambda lib, t: t("x") > 0.5,
    "nonzero": lambda lib, t: lib.nonzero(t("x") > 0.5),
}


def _outputs(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _outputs(o)]
    return [out]


def _run(lib: Any, case: str, grad: bool, mode: str) -> tuple[list[tuple], list[Any], list[Any]]:
    leaves: list[Any] = []

    def t(name: str) -> Any:
        leaf = lib.tensor(_DATA[name], requires_grad=grad)
        leaves.append(leaf)
        return leaf

    if mode == "no_grad":
        with lib.no_grad():
            outs = _outputs(CASES[case](lib, t))
    else:
        outs = _outputs(CASES[case](lib, t))
    flags = [(o.requires_grad, o.grad_fn is None, o.is_leaf, str(o.dtype).replace("torch.", "")) for o in outs]
    return flags, outs, leaves


@pytest.mark.parametrize("mode", ["grad", "no_grad", "inputs without grad"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_flags_and_gradients_as_torch(case: str, mode: str) -> None:
    grad = mode != "inputs without grad"
    ours, mo, ml = _run(mc, case, grad, mode)
    theirs, to, tl = _run(torch, case, grad, mode)
    assert ours == theirs
    if mode == "grad":
        for m, t, (rg, *_) in zip(mo, to, theirs):
            if not rg:
                continue
            mg = mc.autograd.grad(m.sum(), ml, allow_unused=True, retain_graph=True)
            tg = torch.autograd.grad(t.sum(), tl, allow_unused=True, retain_graph=True)
            for a, b in zip(mg, tg):
                np.testing.assert_allclose(0 if a is None else a.numpy(), 0 if b is None else b.numpy(), atol=1e-12)
