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


# -- models against torchvision: shared by tests/test_models*.py -------------------------------
def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference of a and b relative to the largest |b| (at least 1e-12)."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def randomise_batch_norm(
    model: torch.nn.Module,
    seed: int,
    norm: type | tuple[type, ...] = torch.nn.BatchNorm2d,
    biases: tuple[type, ...] = (),
) -> None:
    """Make ``model`` float64 and move every ``norm`` layer's running mean and variance, weight
    and bias away from 0, 1, 1 and 0 (so that eval mode tests them); the bias of every module
    of a class in ``biases`` (where it has one) drawn from [-0.5, 0.5). One generator seeded
    with ``seed``, drawn module after module."""
    g = torch.Generator().manual_seed(seed)
    model.double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, norm):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g, dtype=torch.float64) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=g, dtype=torch.float64) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g, dtype=torch.float64) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g, dtype=torch.float64) - 0.5)
            elif biases and isinstance(m, biases) and m.bias is not None:
                m.bias.copy_(torch.rand(m.bias.shape, generator=g, dtype=torch.float64) - 0.5)


def torchvision_twin(
    build: Callable[[], Any],
    tv_build: Callable[[], torch.nn.Module],
    seed: int = 0,
    randomise: Callable[[torch.nn.Module, int], None] = randomise_batch_norm,
    state: Callable[[torch.nn.Module], Any] | None = None,
) -> tuple[Any, torch.nn.Module]:
    """(ours, torchvision's), float64, ours holding torchvision's weights: ``tv_build()`` after
    ``torch.manual_seed(seed)``, then ``randomise(tv, seed)`` (which also makes it float64);
    ``build()`` with no init draws (skipped_init), cast to float64 and loaded with
    ``state(tv)`` (default: torchvision's state dict as NumPy arrays)."""
    torch.manual_seed(seed)
    tv = tv_build()
    randomise(tv, seed)
    with skipped_init():
        ours = build()
    with np.errstate(invalid="ignore"):  # the uninitialised float32 arrays hold anything
        ours.to(np.float64)
    ours.load_state_dict(state(tv) if state is not None else {k: v.numpy() for k, v in tv.state_dict().items()})
    return ours, tv


def eval_logits_err(ours: Any, tv: torch.nn.Module, x: np.ndarray) -> float:
    """Eval-mode logits of both on x (N, C, ...): asserts they are (N, 10); returns rel_err."""
    ours.eval()
    tv.eval()
    with mc.no_grad(), torch.no_grad():
        a, b = ours(mc.tensor(x)).numpy(), tv(torch.from_numpy(x)).numpy()
    assert a.shape == b.shape == (x.shape[0], 10)
    return rel_err(a, b)


def check_gradients_like_torch(
    ours: Any,
    tv: torch.nn.Module,
    xm: mc.Tensor,
    xt: torch.Tensor,
    tol: float = 1e-8,
    what: str = "input gradient",
    same_names: bool = False,
) -> None:
    """After a backward on both: the input gradient (``what``) and every parameter gradient
    agree to ``tol`` relative to the largest of each, and the running statistics agree
    (rtol 1e-10, atol 1e-12). A parameter torch leaves without a gradient (not on the path)
    must have none here either. ``same_names``: the parameter names, in order, equal torch's."""
    assert rel_err(xm.grad.numpy(), xt.grad.numpy()) < tol, what
    tv_grads = {k: None if v.grad is None else v.grad.numpy() for k, v in tv.named_parameters()}
    if same_names:
        assert [name for name, _ in ours.named_parameters()] == list(tv_grads)
    # a batch norm's bias followed by a 1x1 conv and another batch norm in training mode has
    # gradient 0 (the second one subtracts any constant): rounding noise there, so the scale of
    # an error is at least a millionth of the largest gradient anywhere
    floor = 1e-6 * max(np.abs(g).max() for g in tv_grads.values() if g is not None)
    for name, p in ours.named_parameters():
        ref_g = tv_grads[name]
        if ref_g is None:
            assert p.grad is None, name
            continue
        assert p.grad is not None, name
        assert np.abs(p.grad.numpy() - ref_g).max() / max(np.abs(ref_g).max(), floor) < tol, name
    tv_sd = tv.state_dict()
    for name, v in ours.state_dict().items():
        if "running" in name:
            assert np.allclose(v, tv_sd[name].numpy(), rtol=1e-10, atol=1e-12), name


def training_step_like_torch(
    ours: Any,
    tv: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    tol: float = 1e-8,
    ours_fn: Callable[[Any], Any] | None = None,
    tv_fn: Callable[[Any], Any] | None = None,
    what: str = "input gradient",
    same_names: bool = False,
) -> None:
    """One training-mode forward of ``*_fn`` (default: the models) + cross-entropy against
    targets y + backward on both: the loss agrees to 1e-10 (relative), then
    check_gradients_like_torch(tol, what, same_names)."""
    ours.train()
    tv.train()
    xm = mc.tensor(x, requires_grad=True)
    loss = mc.nn.functional.cross_entropy((ours_fn or ours)(xm), mc.tensor(y))
    loss.backward()
    xt = torch.tensor(x, requires_grad=True)
    ref = TF.cross_entropy((tv_fn or tv)(xt), torch.from_numpy(y))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-10)
    check_gradients_like_torch(ours, tv, xm, xt, tol, what, same_names)


def check_parity(
    ours: Any, tv: torch.nn.Module, size: int, seed: int = 0, grad_tol: float = 1e-8, same_names: bool = False
) -> float:
    """Classifier parity on x (2, 3, size, size) drawn with ``seed``, targets [1, 7]: eval
    logits to 1e-10, then training_step_like_torch(grad_tol, same_names). float64 on both
    sides. Returns the eval logits' relative difference."""
    x = np.random.default_rng(seed).standard_normal((2, 3, size, size))
    logits_err = eval_logits_err(ours, tv, x)
    assert logits_err < 1e-10, f"eval logits {logits_err}"
    training_step_like_torch(ours, tv, x, np.array([1, 7]), grad_tol, same_names=same_names)
    return logits_err


def gpu_step_equals_cpu(
    build: Callable[[], Any],
    device: str,
    x_shape: Sequence[int],
    eval_kinds: tuple[type, ...] = (),
    loss: Callable[[Any, mc.Tensor, mc.Tensor], mc.Tensor] | None = None,
    what: str = "input gradient",
) -> None:
    """Two models from ``build()`` (after mc.manual_seed(0)), the second with the first's state
    and ``.to(device)``: one training-mode step each (modules of ``eval_kinds`` in eval mode,
    e.g. batch norm on its running statistics) on the same float32 x of ``x_shape`` and targets
    [1, 7]; ``loss(model, x, y)`` (default cross-entropy of model(x)). The loss (rel 1e-4), the
    input gradient (``what``) and every parameter gradient (rel_err 3e-3) equal the CPU's:
    float32 through many layers, GEMMs summed in another order (cuBLAS vs OpenBLAS), so errors
    of 1e-4..1e-3 are rounding; a wrong kernel gives O(1)."""
    mc.manual_seed(0)
    cpu = build()
    gpu = build()
    gpu.load_state_dict(cpu.state_dict())
    gpu.to(device)
    x_np = np.random.default_rng(3).standard_normal(tuple(x_shape)).astype(np.float32)
    results = []
    for model, dev in ((cpu, "cpu"), (gpu, device)):
        model.train()
        for m in model.modules():
            if eval_kinds and isinstance(m, eval_kinds):
                m.eval()
        x = mc.tensor(x_np, requires_grad=True, device=dev)
        y = mc.tensor(np.array([1, 7]), device=dev)
        out = loss(model, x, y) if loss is not None else mc.nn.functional.cross_entropy(model(x), y)
        out.backward()
        results.append((out.item(), x.grad.numpy(), [p.grad.numpy() for p in model.parameters()]))
    (l_cpu, gx_cpu, g_cpu), (l_gpu, gx_gpu, g_gpu) = results
    assert l_gpu == pytest.approx(l_cpu, rel=1e-4)
    assert rel_err(gx_gpu, gx_cpu) < 3e-3, what
    for (pname, _), a, b in zip(cpu.named_parameters(), g_gpu, g_cpu):
        assert rel_err(a, b) < 3e-3, pname


@contextlib.contextmanager
def engine_writes() -> Iterator[list[int]]:
    """Within the block, the sizes of the arrays a backward pass allocates to sum gradients:
    each buffer it comes to own (a sum of two terms) and each partial gradient (a slice's)
    written into a zero array."""
    from minicnn import engine as A

    sizes: list[int] = []
    add, dense = A._Grads.add, A._Part.dense

    def counting_add(self: Any, key: int, g: Any) -> None:
        before = set(self.owned)
        add(self, key, g)
        sizes.extend(self[key].size for _ in self.owned - before)

    def counting_dense(self: Any) -> Any:
        out = dense(self)
        sizes.append(out.size)
        return out

    A._Grads.add, A._Part.dense = counting_add, counting_dense
    try:
        yield sizes
    finally:
        A._Grads.add, A._Part.dense = add, dense


# -- shared by the differential fuzzers (tests/test_fuzz_*.py) -----------------------------------------


def as_numpy(t: Any) -> np.ndarray:
    """A torch or minicnn tensor (or anything array-like) as a NumPy array on the host."""
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.numpy() if isinstance(t, mc.Tensor) else t)


def attempt(fn: Callable[[], Any]) -> tuple[Any, Exception | None]:
    """``(fn(), None)``, or ``(None, the exception)`` it raised; warnings silenced."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(), None
    except Exception as e:  # noqa: BLE001 - the type is compared
        return None, e


def same_builtin_error(t: Exception | None, m: Exception | None) -> bool:
    """Both None, or minicnn's exception an instance of the builtin class torch raised (minicnn's
    ShapeError is a ValueError and a RuntimeError)."""
    if t is None or m is None:
        return t is None and m is None
    base = next(c for c in type(t).__mro__ if c.__module__ == "builtins")
    return isinstance(m, base)


def error_names(t: Exception | None, m: Exception | None) -> str:
    """torch's and minicnn's exceptions, named for a mismatch report."""
    return f"{type(t).__name__}({str(t)[:90]!r}) vs {type(m).__name__}({str(m)[:90]!r})"


def finite_scale(x: np.ndarray) -> float:
    """The largest finite magnitude of a float array (at least 1); 1 for other dtypes."""
    return float(np.abs(x).max(initial=1.0, where=np.isfinite(x))) if x.dtype.kind == "f" else 1.0


def tensors_differ(a: Any, b: Any, rtol: float, atol: Callable[[np.ndarray], float] | None = None) -> str | None:
    """Where torch's ``a`` and minicnn's ``b`` (tensors, or None) differ: None-ness, shape, dtype or values
    (NaN where the other has NaN; ``atol(x)`` of torch's array, default ``rtol``); None if they agree."""
    if a is None or b is None:
        return None if a is None and b is None else f"{type(a).__name__} vs {type(b).__name__}"
    x, y = as_numpy(a), as_numpy(b)
    if x.shape != y.shape:
        return f"shape {x.shape} vs {y.shape}"
    if x.dtype != y.dtype:
        return f"dtype {x.dtype} vs {y.dtype}"
    if not np.allclose(x, y, rtol=rtol, atol=rtol if atol is None else atol(x), equal_nan=True):
        nan = x.dtype.kind == "f" and bool((np.isnan(x) != np.isnan(y)).any())
        err = np.nanmax(np.abs(x.astype(float) - y.astype(float)), initial=0.0)
        return f"values, max err {err}" + (" (NaN pattern)" if nan else "")
    return None
