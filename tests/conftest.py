"""Shared test helpers: run the same computation in minicnn and torch and compare."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import hypothesis
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minicnn as mc

torch.set_num_threads(int(os.environ.get("MINICNN_TEST_THREADS", "1")))
# No per-example deadline anywhere: on a GPU the first example of a test also compiles its
# kernels (NVRTC), which a 200 ms deadline would report as a flaky failure.
# The default profile is derandomised (numpy's choice for its own suite): every run draws the
# same examples, so CI reruns what passed here; a change to a test draws new ones.
# MINICNN_HYPOTHESIS=explore draws fresh examples each run (or per --hypothesis-seed) to hunt.
hypothesis.settings.register_profile("minicnn", deadline=None, derandomize=True, database=None)
hypothesis.settings.register_profile("explore", deadline=None)
hypothesis.settings.load_profile("explore" if os.environ.get("MINICNN_HYPOTHESIS") == "explore" else "minicnn")

SHARED = Path(os.environ.get("MINICNN_SHARED", Path(__file__).resolve().parents[2] / "shared"))

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def devices() -> list[Any]:
    """``cpu`` always; ``cuda`` as a case that is skipped with a reason where no GPU is."""
    return [
        "cpu",
        pytest.param(
            "cuda",
            marks=[
                pytest.mark.cuda,
                pytest.mark.skipif(
                    not mc.cuda.is_available(), reason="CUDA: no GPU/CuPy (mc.cuda.is_available() is False)"
                ),
            ],
        ),
    ]


def _inputs_for_both(
    arrays: Sequence[np.ndarray],
    grad_inputs: Sequence[bool] | None,
    dtype: Any,
    device: str,
    rtol: float | None,
    atol: float | None,
) -> tuple[dict[str, float], Sequence[bool], list[mc.Tensor], list[torch.Tensor]]:
    """(tolerances, which inputs require grad, minicnn tensors, torch tensors): float arrays cast
    to ``dtype``, requiring grad where ``grad_inputs`` says (every float input by default)."""
    tol = dict(TOL[np.dtype(dtype).type])
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    arrays = [np.asarray(a) for a in arrays]
    if grad_inputs is None:
        grad_inputs = [a.dtype.kind == "f" for a in arrays]
    cast = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    mt = [mc.tensor(a, requires_grad=bool(g), device=device) for a, g in zip(cast, grad_inputs)]
    tt = [torch.tensor(a, requires_grad=bool(g)) for a, g in zip(cast, grad_inputs)]
    return tol, grad_inputs, mt, tt


def compare_with_torch(
    mc_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    grad_inputs: Sequence[bool] | None = None,
    dtype: Any = np.float64,
    device: str = "cpu",
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> None:
    """Run ``mc_fn`` and ``torch_fn`` on the same inputs; compare outputs and, for float
    inputs flagged in ``grad_inputs``, the gradients of sum(out * g) for a random g."""
    tol, grad_inputs, mt, tt = _inputs_for_both(arrays, grad_inputs, dtype, device, rtol, atol)
    mo = mc_fn(*mt)
    to = torch_fn(*tt)
    assert tuple(mo.shape) == tuple(to.shape), f"shape {mo.shape} vs torch {tuple(to.shape)}"
    assert mo.dtype == np.dtype(str(to.dtype).replace("torch.", "")), f"dtype {mo.dtype} vs torch {to.dtype}"
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), **tol, err_msg="forward")
    if not any(grad_inputs) or not to.requires_grad:
        return
    g = np.random.default_rng(seed).standard_normal(to.shape).astype(dtype)
    (mo * mc.tensor(g, device=device)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    for i, (m, t) in enumerate(zip(mt, tt)):
        if not grad_inputs[i]:
            continue
        tg = np.zeros(t.shape, dtype=dtype) if t.grad is None else t.grad.numpy()
        mg = np.zeros(m.shape, dtype=dtype) if m.grad is None else m.grad.numpy()
        np.testing.assert_allclose(mg, tg, **tol, err_msg=f"gradient of input {i}")


def double_backward_like_torch(
    mc_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    grad_inputs: Sequence[bool] | None = None,
    dtype: Any = np.float64,
    device: str = "cpu",
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> None:
    """Second derivatives against torch: the first gradients g_i of sum(out * v), taken with
    ``create_graph=True``, then the gradients of sum_i sum(g_i * w_i) with respect to every
    input flagged in ``grad_inputs`` and to ``v`` (random v, w_i). An input torch reports as
    unused counts as a zero gradient, on either side."""
    tol, grad_inputs, mt, tt = _inputs_for_both(arrays, grad_inputs, dtype, device, rtol, atol)
    mo, to = mc_fn(*mt), torch_fn(*tt)
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), **tol, err_msg="forward")
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(to.shape).astype(dtype)
    mv = mc.tensor(v, requires_grad=True, device=device)
    tv = torch.tensor(v, requires_grad=True)
    mx = [m for m, g in zip(mt, grad_inputs) if g]
    tx = [t for t, g in zip(tt, grad_inputs) if g]
    mg = mc.autograd.grad(mo, mx, mv, create_graph=True, allow_unused=True, materialize_grads=True)
    tg = torch.autograd.grad(to, tx, tv, create_graph=True, allow_unused=True, materialize_grads=True)
    ws = [rng.standard_normal(t.shape).astype(dtype) for t in tx]
    for i, (m, t) in enumerate(zip(mg, tg)):
        np.testing.assert_allclose(
            m.numpy(), t.detach().numpy(force=True), **tol, err_msg=f"first gradient of input {i}"
        )
    m_terms = [(m * mc.tensor(w, device=device)).sum() for m, w in zip(mg, ws) if m.requires_grad]
    t_terms = [(t * torch.tensor(w)).sum() for t, w in zip(tg, ws) if t.requires_grad]
    assert len(m_terms) == len(t_terms), "which first gradients carry a graph differs from torch"
    if not t_terms:
        return
    mgg = mc.autograd.grad(sum(m_terms), [*mx, mv], allow_unused=True, materialize_grads=True)
    tgg = torch.autograd.grad(sum(t_terms), [*tx, tv], allow_unused=True, materialize_grads=True)
    for i, (m, t) in enumerate(zip(mgg, tgg)):
        what = "the seed v" if i == len(mx) else f"input {i}"
        np.testing.assert_allclose(
            m.numpy(), t.detach().numpy(force=True), **tol, err_msg=f"second derivative w.r.t. {what}"
        )


def rand(rng: np.random.Generator, shape: Sequence[int], low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return rng.uniform(low, high, size=tuple(shape))


# -- models: counting parameters without drawing weights -----------------------------------
@contextlib.contextmanager
def skipped_init() -> Iterator[None]:
    """Make every mc.nn.init function a no-op, so that building a 140M-parameter model
    only allocates (lazily) and costs no random draws. For counting and for models whose
    weights are loaded afterwards."""
    names = ["uniform_", "normal_", "constant_", "zeros_", "ones_", "kaiming_uniform_", "kaiming_normal_",
             "xavier_uniform_", "xavier_normal_", "trunc_normal_"]  # fmt: skip
    saved = {n: getattr(mc.nn.init, n) for n in names}
    try:
        for n in names:
            setattr(mc.nn.init, n, lambda t, *a, **k: t)
        yield
    finally:
        for n, f in saved.items():
            setattr(mc.nn.init, n, f)


def n_params(model: Any) -> int:
    if isinstance(model, torch.nn.Module):
        return sum(p.numel() for p in model.parameters())
    return sum(int(p.array.size) for p in model.parameters())


# -- depthwise convolution --------------------------------------------------------------------
def torch_depthwise_grads(x, w, b, gy, stride, padding, dilation):
    """torch's depthwise conv2d (groups = channels) of x, w, b and its gradients for the seed
    gy: (y, dx, dw, db or None), as NumPy arrays."""
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    with warnings.catch_warnings():  # torch's note on padding='same' with even kernels
        warnings.simplefilter("ignore", UserWarning)
        y = TF.conv2d(tx, tw, tb, stride, padding, dilation, x.shape[1])
    y.backward(torch.tensor(gy))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), None if tb is None else tb.grad.numpy()
