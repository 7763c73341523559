"""Gradient checkpointing (minicnn.utils.checkpoint) against torch.utils.checkpoint
(use_reentrant=False) and against minicnn without checkpointing."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tc
from conftest import devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn as nn
from minicnn.utils.checkpoint import checkpoint, checkpoint_sequential

F64 = dict(rtol=1e-10, atol=1e-12)


def close(a, b, **tol):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else a.numpy()
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b.numpy()
    np.testing.assert_allclose(a, b, **(tol or F64))


def stacks(depth: int, channels: int, dropout: float = 0.0):
    """The same Conv2d+BatchNorm2d+ReLU(+Dropout) stack in minicnn and torch (torch's weights), float64."""
    mc_layers, t_layers = [], []
    for _ in range(depth):
        t_layers += [torch.nn.Conv2d(channels, channels, 3, padding=1), torch.nn.BatchNorm2d(channels), torch.nn.ReLU()]
        mc_layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
        if dropout:
            t_layers.append(torch.nn.Dropout(dropout))
            mc_layers.append(nn.Dropout(dropout))
    tm, mm = torch.nn.Sequential(*t_layers).double(), nn.Sequential(*mc_layers).double()
    with torch.no_grad():
        for p in tm.parameters():
            p.uniform_(-0.6, 0.6)
    for p, q in zip(mm.parameters(), tm.parameters()):
        p.data = q.detach().numpy().copy()
    return mm, tm


def grads(module) -> list[np.ndarray]:
    return [p.grad.numpy() for p in module.parameters()]


@settings(max_examples=12, deadline=None)
@given(
    depth=st.integers(1, 3),
    channels=st.integers(1, 3),
    batch=st.integers(2, 3),
    size=st.integers(3, 5),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_checkpoint_sequential_like_torch(depth, channels, batch, size, seed, data):
    """Outputs, gradients of the input and of every parameter, and batch norm's running
    statistics (updated in the forward and again in the recomputation, as torch's) equal torch's."""
    torch.manual_seed(seed)
    mm, tm = stacks(depth, channels)
    segments = data.draw(st.integers(1, 3 * depth), label="segments")
    x = np.random.default_rng(seed).standard_normal((batch, channels, size, size))
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym = checkpoint_sequential(mm, segments, xm, use_reentrant=False)
    yt = tc.checkpoint_sequential(tm, segments, xt, use_reentrant=False)
    close(ym, yt)
    v = np.random.default_rng(seed + 1).standard_normal(ym.shape)
    (ym * mc.tensor(v)).sum().backward()
    (yt * torch.tensor(v)).sum().backward()
    close(xm.grad, xt.grad)
    for p, q in zip(mm.parameters(), tm.parameters()):
        # a conv bias before batch norm has a zero gradient in exact arithmetic: both give
        # rounding noise there, so the absolute tolerance is set by the O(1) gradients around it
        close(p.grad, q.grad, rtol=1e-10, atol=1e-10)
    for (name, b), (tname, c) in zip(mm.named_buffers(), tm.named_buffers()):
        assert name == tname
        np.testing.assert_allclose(b.numpy(), c.numpy(), **F64)


@pytest.mark.parametrize("segments", range(1, 9))
def test_segments_equal_the_plain_network_exactly(segments):
    """Every segment count (1..len) gives bit-identical outputs and gradients to the plain
    call, dropout included (the recomputation replays the forward's random state)."""
    mm, _ = stacks(2, 2, dropout=0.4)  # 8 layers
    x = np.random.default_rng(segments).standard_normal((2, 2, 4, 4))
    mc.manual_seed(7)
    xa = mc.tensor(x, requires_grad=True)
    ya = mm(xa)
    (ya * ya).sum().backward()
    plain, gx = grads(mm), xa.grad.numpy()
    after_plain = mc.rand(3).numpy()
    mm.zero_grad()
    mc.manual_seed(7)
    xb = mc.tensor(x, requires_grad=True)
    yb = checkpoint_sequential(mm, segments, xb, use_reentrant=False)
    (yb * yb).sum().backward()
    np.testing.assert_array_equal(yb.numpy(), ya.numpy())
    np.testing.assert_array_equal(xb.grad.numpy(), gx)
    for g, h in zip(grads(mm), plain):
        np.testing.assert_array_equal(g, h)
    # the random stream goes on where the plain run left it (the replay restores it)
    np.testing.assert_array_equal(mc.rand(3).numpy(), after_plain)


def test_preserve_rng_state_false_draws_new_masks():
    """Without preserve_rng_state the recomputation draws new dropout masks: the gradient is
    then that of other masks (why the default keeps the state)."""
    x = mc.tensor(np.ones((1, 400)), requires_grad=True)
    drop = nn.Dropout(0.5)
    mc.manual_seed(3)
    y = checkpoint(drop, x, use_reentrant=False, preserve_rng_state=False)
    y.sum().backward()
    kept = y.numpy() != 0
    assert not np.array_equal(x.grad.numpy() != 0, kept)
    x.grad = None
    mc.manual_seed(3)
    y = checkpoint(drop, x, use_reentrant=False)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, y.numpy() != 0)


def test_several_outputs_kwargs_and_non_tensor_arguments_like_torch():
    rng = np.random.default_rng(0)
    a, b, w = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)

    def make(lib):
        wt = lib.tensor(w, requires_grad=True)

        def f(a, scale, b=None, *, power=2):
            return {"ab": (a * b * wt, scale), "p": (a * wt) ** power, "const": 7}

        return f, wt

    fm, wm = make(mc)
    ft, wt = make(torch)
    am, bm = mc.tensor(a, requires_grad=True), mc.tensor(b)  # b needs no gradient
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b)
    om = checkpoint(fm, am, 3.0, b=bm, power=3, use_reentrant=False)
    ot = tc.checkpoint(ft, at, 3.0, b=bt, power=3, use_reentrant=False)
    assert om["const"] == 7 and om["ab"][1] == 3.0 and isinstance(om["ab"], tuple)
    close(om["ab"][0], ot["ab"][0])
    close(om["p"], ot["p"])
    (om["ab"][0].sum() * 2 + om["p"].sum()).backward()
    (ot["ab"][0].sum() * 2 + ot["p"].sum()).backward()
    close(am.grad, at.grad)
    close(wm.grad, wt.grad)
    assert bm.grad is None


@pytest.mark.parametrize("used", [0, 1])
def test_only_one_of_two_outputs_has_a_gradient(used):
    w = mc.tensor(np.array([1.5, -2.0]), requires_grad=True)
    x = mc.tensor(np.array([0.3, 0.7]), requires_grad=True)
    outs = checkpoint(lambda x: (x * w, (x * w).exp()), x, use_reentrant=False)
    outs[used].sum().backward()
    wv, xv = w.numpy(), x.numpy()
    expected_x = wv if used == 0 else wv * np.exp(xv * wv)
    np.testing.assert_allclose(x.grad.numpy(), expected_x, **F64)
    np.testing.assert_allclose(w.grad.numpy(), xv if used == 0 else xv * np.exp(xv * wv), **F64)


def test_input_without_grad_still_trains_the_parameters_inside():
    mm, tm = stacks(2, 2)
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    ym = checkpoint(mm, mc.tensor(x), use_reentrant=False)
    yt = tc.checkpoint(tm, torch.tensor(x), use_reentrant=False)
    ym.sum().backward()
    yt.sum().backward()
    for p, q in zip(mm.parameters(), tm.parameters()):
        close(p.grad, q.grad)


def test_autograd_grad_wrt_parameters_like_torch():
    """The non-reentrant form works with autograd.grad (no .grad written)."""
    mm, tm = stacks(1, 2)
    x = np.random.default_rng(2).standard_normal((2, 2, 3, 3))
    xm, xt = mc.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gm = mc.autograd.grad(checkpoint(mm, xm, use_reentrant=False).sum(), [xm, mm[0].weight])
    gt = torch.autograd.grad(tc.checkpoint(tm, xt, use_reentrant=False).sum(), [xt, tm[0].weight])
    for a, b in zip(gm, gt):
        close(a, b)
    assert mm[0].weight.grad is None and xm.grad is None


def test_second_derivatives_gradient_penalty_like_torch():
    """A gradient penalty through a checkpointed block: create_graph=True records the
    recomputation's backward, and the second derivatives equal torch's."""
    rng = np.random.default_rng(3)
    x, w1, w2 = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((2, 3, 3, 3))

    def run(lib, F, ckpt):
        xs = lib.tensor(x, requires_grad=True)
        ws = [lib.tensor(w1, requires_grad=True), lib.tensor(w2, requires_grad=True)]

        def block(h):
            return F.conv2d(F.conv2d(h, ws[0], padding=1).tanh(), ws[1], padding=1).sigmoid()

        y = ckpt(block, xs, use_reentrant=False)
        (g,) = lib.autograd.grad(y.sum(), xs, create_graph=True)
        (g * g).sum().backward()
        return [xs.grad, *(w.grad for w in ws)]

    for a, b in zip(run(mc, nn.functional, checkpoint), run(torch, torch.nn.functional, tc.checkpoint)):
        close(a, b, rtol=1e-9, atol=1e-11)


def test_gradcheck_and_gradgradcheck_through_checkpoint():
    w = mc.tensor(np.random.default_rng(4).standard_normal((3, 3)), requires_grad=True)

    def f(x, w):
        return checkpoint(lambda x, w: (x @ w).tanh() * x, x, w, use_reentrant=False)

    x = mc.tensor(np.random.default_rng(5).standard_normal((2, 3)), requires_grad=True)
    assert mc.gradcheck(f, (x, w))
    assert mc.gradgradcheck(f, (x, w))


def test_closure_tensor_with_a_history_like_torch():
    """A tensor with a history read from the closure (not passed as an argument) still gets
    its gradient through the history, once."""
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal(4), rng.standard_normal(4)

    def run(lib, ckpt):
        at, bt = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        h = (at * 2).exp()
        y = ckpt(lambda b: (b * h).sin(), bt, use_reentrant=False)
        (y.sum() + h.sum()).backward()
        return at.grad, bt.grad

    for u, v in zip(run(mc, checkpoint), run(torch, tc.checkpoint)):
        close(u, v)


def test_the_activations_inside_are_freed():
    """Nothing computed inside the function outlives the checkpointed forward: that is the
    memory saved. (The plain call keeps them for backward.)"""
    kept = []

    def f(x):
        h = x.exp()
        kept.append(weakref.ref(h))
        return (h * 2).sin()

    x = mc.tensor(np.ones(6), requires_grad=True)
    y_plain = f(x)
    y = checkpoint(f, x, use_reentrant=False)
    gc.collect()
    assert kept[0]() is not None  # held by the plain graph
    assert kept[1]() is None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(2 * np.e) * np.e * np.ones(6), rtol=1e-6)
    del y_plain


def test_decorator_form_no_grad_and_retain_graph():
    x = mc.tensor(np.array([0.5, 1.0]), requires_grad=True)
    f = checkpoint(use_reentrant=False)(lambda x: (x * x).exp())
    y = f(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.numpy() * np.exp(x.numpy() ** 2), **F64)
    with mc.no_grad():
        z = checkpoint(lambda x: x * 3, x, use_reentrant=False)
    assert z.grad_fn is None and not z.requires_grad
    c = checkpoint(lambda x: x * 3, mc.tensor([1.0]), use_reentrant=False)  # nothing to differentiate
    assert c.grad_fn is None


def test_errors():
    x = mc.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(NotImplementedError, match="use_reentrant=True"):
        checkpoint(lambda x: x, x, use_reentrant=True)
    with pytest.raises(NotImplementedError, match="debug"):
        checkpoint(lambda x: x, x, use_reentrant=False, debug=True)
    with pytest.raises(NotImplementedError, match="context_fn"):
        checkpoint(lambda x: x, x, use_reentrant=False, context_fn=lambda: (None, None))
    with pytest.raises(NotImplementedError, match="respect_saved_tensors_hooks"):
        checkpoint(lambda x: x, x, use_reentrant=False, respect_saved_tensors_hooks=True)
    with pytest.raises(ValueError, match="determinism_check"):
        checkpoint(lambda x: x, x, use_reentrant=False, determinism_check="strict")
    with pytest.raises(TypeError, match="callable"):
        checkpoint(3, x, use_reentrant=False)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
        checkpoint(use_reentrant=False, foo=1)
    layers = [nn.ReLU(), nn.Tanh()]
    for segments in (0, 3):
        with pytest.raises(ValueError, match="segments must be an int from 1 to the number of functions"):
            checkpoint_sequential(layers, segments, x, use_reentrant=False)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: bogus"):
        checkpoint_sequential(layers, 1, x, use_reentrant=False, bogus=1)
    # a function that computes something else when run again
    calls = []

    def shifty(x):
        calls.append(1)
        return x[: len(calls) + 1] * 2

    y = checkpoint(shifty, x, use_reentrant=False)
    with pytest.raises(RuntimeError, match="recomputation gave something else"):
        y.sum().backward()
    # an input written in place after the forward
    z = mc.tensor(np.ones(3), requires_grad=True) * 1
    y = checkpoint(lambda z: z.exp(), z, use_reentrant=False)
    z += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_signatures_match_torch():
    import inspect

    for ours, theirs in ((checkpoint, tc.checkpoint), (checkpoint_sequential, tc.checkpoint_sequential)):
        a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(a) == list(b)
        for name in a:
            assert a[name].kind == b[name].kind, name
            if name != "context_fn":
                assert a[name].default == b[name].default, name


def test_utils_namespace():
    import minicnn.utils.data as data

    assert data is mc.data and mc.utils.data is mc.data
    assert mc.utils.checkpoint.checkpoint is checkpoint
    from minicnn.utils.data import DataLoader

    assert DataLoader is mc.data.DataLoader


@pytest.mark.parametrize("device", devices())
def test_checkpointed_stack_on_device(device):
    """On each device: a conv/batch norm stack gives bit-identical results checkpointed and
    plain, and a checkpointed dropout's gradient uses the mask its forward drew. (On a GPU the
    forward and the replay draw from a stream seeded from the GPU's generator -- CuPy's state
    cannot be saved -- so the masks there differ from the plain call's.)"""
    mm, _ = stacks(2, 2)
    mm = mm.to(device)
    x = np.random.default_rng(9).standard_normal((2, 2, 4, 4))
    results = []
    for use in (False, True):
        mm.zero_grad()
        xt = mc.tensor(x, requires_grad=True, device=device)
        y = checkpoint_sequential(mm, 2, xt, use_reentrant=False) if use else mm(xt)
        (y * y).sum().backward()
        results.append([y.numpy(), xt.grad.numpy(), *(p.grad.numpy() for p in mm.parameters())])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    mc.manual_seed(2)
    ones = mc.tensor(np.ones((4, 50)), requires_grad=True, device=device)
    drop = nn.Dropout(0.5)
    y = checkpoint(lambda h: drop(drop(h) * 3), ones, use_reentrant=False)
    y.sum().backward()
    assert 0 < (y.numpy() != 0).sum() < y.numel()
    np.testing.assert_array_equal(ones.grad.numpy(), y.numpy())  # x = 1: dy/dx = y


def test_outputs_that_are_inputs_or_views_and_no_arguments_like_torch():
    rng = np.random.default_rng(12)
    a = rng.standard_normal(4)

    def run(lib, ckpt):
        x = lib.tensor(a, requires_grad=True)
        same = ckpt(lambda x: x, x, use_reentrant=False)
        view = ckpt(lambda x: x.reshape(2, 2), x, use_reentrant=False)
        h = x * 2
        outer = ckpt(lambda: (h * h).sum(), use_reentrant=False)  # only a closure
        (same * 3).sum().backward(retain_graph=True)
        (view * view).sum().backward()
        outer.backward()
        return x.grad

    close(run(mc, checkpoint), run(torch, tc.checkpoint))


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_weight_used_in_two_checkpoints_in_a_row_like_torch(create_graph):
    """One weight inside two chained checkpoints (and the same module checkpointed twice):
    the second node's recomputation must give the weight only its gradient through that
    segment, not run (and free) the first node, nor count the path through it twice."""
    rng = np.random.default_rng(13)
    a, w = rng.standard_normal(4), rng.standard_normal(4)

    def run(lib, ckpt):
        x, wt = lib.tensor(a, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = ckpt(lambda x: (x * wt).sin(), x, use_reentrant=False)
        z = ckpt(lambda y: (y * wt).cos(), y.tanh(), use_reentrant=False)
        if create_graph:
            gx, gw = lib.autograd.grad((z * z).sum() + y.sum(), [x, wt], create_graph=True)
            (gx * gw).sum().backward()
            return [gx, gw, x.grad, wt.grad]
        (z * z).sum().backward()
        return [x.grad, wt.grad]

    for u, v in zip(run(mc, checkpoint), run(torch, tc.checkpoint)):
        close(u, v)


def test_dict_subclass_outputs_keep_their_type_like_torch():
    """Outputs in a defaultdict (whose constructor takes a factory, not items) or an
    OrderedDict come back in the same type, with gradients as torch's."""
    import collections

    a = np.random.default_rng(14).standard_normal(3)

    def run(lib, ckpt):
        x = lib.tensor(a, requires_grad=True)

        def f(x):
            d = collections.defaultdict(list)
            d["exp"] = x.exp()
            return d, collections.OrderedDict(sin=x.sin(), n=2)

        d, o = ckpt(f, x, use_reentrant=False)
        assert type(d) is collections.defaultdict and d.default_factory is list and d["missing"] == []
        assert type(o) is collections.OrderedDict and list(o) == ["sin", "n"] and o["n"] == 2
        (d["exp"] * o["sin"]).sum().backward()
        return x.grad

    close(run(mc, checkpoint), run(torch, tc.checkpoint))


def _two_outputs(lib, ckpt, main_first: bool):
    """x -> a (through a weight w inside), y -> b, in one checkpoint; returned as (a, b, x, y, w, x1)
    with x1 = x * 1 the (non-leaf) argument, a hook counter on a, and a.retain_grad()."""
    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    y = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([0.5, -0.5], dtype=lib.float64, requires_grad=True)
    x1 = x * 1

    def f(x, y):
        a, b = (x * w).exp(), (y * 3).sin()
        return (a, b) if main_first else (b, a)

    out = ckpt(f, x1, y, use_reentrant=False)
    a, b = out if main_first else out[::-1]
    calls = []
    a.register_hook(lambda g: calls.append(g))
    a.retain_grad()
    return a, b, x, y, w, x1, calls


def _same(u, v):
    assert (u is None) == (v is None)
    if u is not None:
        close(u, v)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("main_first", [True, False])
@pytest.mark.parametrize("how", ["backward", "grad_allow_unused", "backward_inputs", "materialize_grads"])
def test_an_output_not_differentiated_gets_no_gradient_like_torch(how, main_first, create_graph):
    """f returns (a, b) and only b is differentiated: a gets no gradient (None, its hook is not
    called), nor do x and w, reached only through a, as torch's checkpoint (whichever of a and
    b comes first)."""

    def run(lib, ckpt):
        a, b, x, y, w, x1, calls = _two_outputs(lib, ckpt, main_first)
        loss = b.sum()
        if how == "backward":
            loss.backward(create_graph=create_graph)
            got = [a.grad, x.grad, y.grad, w.grad]
        elif how == "backward_inputs":
            loss.backward(inputs=[a, x, y, w], create_graph=create_graph)
            got = [a.grad, x.grad, y.grad, w.grad]
        else:
            kw = {"allow_unused": True} if how == "grad_allow_unused" else {"materialize_grads": True}
            got = list(lib.autograd.grad(loss, [a, x, y, w, x1], create_graph=create_graph, **kw))
        return got, len(calls)

    (got_m, calls_m), (got_t, calls_t) = run(mc, checkpoint), run(torch, tc.checkpoint)
    assert calls_m == calls_t == 0
    for u, v in zip(got_m, got_t):
        _same(u, v)


def test_grad_of_an_output_not_differentiated_raises_like_torch():
    a, b, *_ = _two_outputs(mc, checkpoint, main_first=True)
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        mc.autograd.grad(b.sum(), [a])


def test_a_pass_that_stops_at_an_output_leaves_nothing_behind_like_torch():
    """backward(inputs=[b]) and grad(..., [b]) stop at the output b: the checkpoint node does
    not run, and what b handed over must not leak into a later pass that does not reach b."""

    def run(lib, ckpt):
        a, b, x, y, w, x1, _ = _two_outputs(lib, ckpt, main_first=True)
        (b * b).sum().backward(inputs=[b], retain_graph=True)
        (gb,) = lib.autograd.grad((b * b).sum(), [b], retain_graph=True)
        a.sum().backward(retain_graph=True)
        first = [b.grad.clone(), gb, x.grad.clone(), w.grad.clone(), y.grad]
        (a.sum() + b.sum()).backward()
        return first + [x.grad, w.grad, y.grad]

    for u, v in zip(run(mc, checkpoint), run(torch, tc.checkpoint)):
        _same(u, v)


@pytest.mark.parametrize("device", devices())
def test_two_outputs_one_differentiated_on_device(device):
    x = mc.tensor(np.array([0.2, -0.4, 0.9]), requires_grad=True, device=device)
    y = mc.tensor(np.array([1.0, 2.0, -1.0]), requires_grad=True, device=device)
    a, b = checkpoint(lambda x, y: (x.exp(), y * y), x, y, use_reentrant=False)
    a.retain_grad()
    (b * 2).sum().backward()
    assert a.grad is None and x.grad is None
    assert y.grad.device == y.device
    np.testing.assert_allclose(y.grad.cpu().numpy(), 4 * y.cpu().numpy(), **F64)


def test_outputs_that_are_views_share_the_version_counter_like_torch():
    """An output that is a view of an argument (or of another output) sees in-place writes to
    it, as torch's (whose checkpoint outputs are the views themselves)."""
    for lib, ckpt in ((mc, checkpoint), (torch, tc.checkpoint)):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        y = ckpt(lambda x: x.reshape(2, 2), x, use_reentrant=False)
        with pytest.raises(RuntimeError, match="view of a leaf"):
            y.mul_(2)
        h = x * 1
        a, b = ckpt(lambda h: (h.reshape(2, 2), h[1:]), h, use_reentrant=False)
        before = h._version
        a.mul_(2)
        assert (h._version - before, a._version, b._version) == (1, 1, 1)
