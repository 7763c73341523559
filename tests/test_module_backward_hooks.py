"""Module.register_full_backward_hook / register_full_backward_pre_hook against torch: what
the hooks see, what their replacements do to the gradients, removal, several inputs and
outputs, inputs that need no gradient, and a Grad-CAM style capture inside a network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn as mc

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3)).astype(np.float32)
W = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2) / 5


def arrays(grads):
    return tuple(None if g is None else g.detach().numpy().copy() for g in grads)


def assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if isinstance(b, tuple):
            assert_same(a, b)
        elif b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def linear(lib):
    layer = lib.nn.Linear(3, 2)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(W))
        layer.bias.copy_(lib.tensor(np.array([0.1, -0.2], np.float32)))
    return layer


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_hooks_see_and_replace_gradients_as_torch(x_requires_grad):
    results = []
    for lib in (mc, torch):
        layer, seen = linear(lib), []

        def hook(module, grad_input, grad_output, seen=seen):
            seen.append(("hook", arrays(grad_input), arrays(grad_output)))
            return None if grad_input[0] is None else (grad_input[0] * 2,)

        def pre_hook(module, grad_output, seen=seen):
            seen.append(("pre", arrays(grad_output)))
            return (grad_output[0] * 3,)

        layer.register_full_backward_hook(hook)
        layer.register_full_backward_pre_hook(pre_hook)
        x = lib.tensor(X, requires_grad=x_requires_grad)
        (layer(x) ** 2).sum().backward()
        results.append((seen, None if x.grad is None else x.grad.numpy(), layer.weight.grad.numpy()))
    (seen_m, gx_m, gw_m), (seen_t, gx_t, gw_t) = results
    assert [s[0] for s in seen_m] == [s[0] for s in seen_t] == ["pre", "hook"]
    for a, b in zip(seen_m, seen_t):
        assert_same(a[1:], b[1:])
    assert (gx_m is None) == (gx_t is None)
    if gx_t is not None:
        np.testing.assert_allclose(gx_m, gx_t, rtol=1e-5)
    np.testing.assert_allclose(gw_m, gw_t, rtol=1e-5)


def test_several_inputs_and_outputs_and_removal():
    class Pair(mc.nn.Module):
        def forward(self, a, scale, b):
            return a * b * scale, a - b

    class PairT(torch.nn.Module):
        def forward(self, a, scale, b):
            return a * b * scale, a - b

    results = []
    for lib, module in ((mc, Pair()), (torch, PairT())):
        seen = []
        handle = module.register_full_backward_hook(
            lambda m, gi, go, seen=seen: (
                seen.append((arrays(gi[:1]), gi[1], arrays(gi[2:]), arrays(go))) or (gi[0], None, gi[2] * 0)
            )
        )
        a = lib.tensor(X, requires_grad=True)
        b = lib.tensor(X[::-1].copy(), requires_grad=True)
        y, z = module(a, 2.0, b)
        (y * y + z).sum().backward()
        handle.remove()
        y, z = module(a, 2.0, b)
        (y + z).sum().backward()  # the hook is gone
        results.append((seen, a.grad.numpy(), b.grad.numpy()))
    (seen_m, ga_m, gb_m), (seen_t, ga_t, gb_t) = results
    assert len(seen_m) == len(seen_t) == 1
    assert_same(seen_m[0], seen_t[0])
    np.testing.assert_allclose(ga_m, ga_t, rtol=1e-5)
    np.testing.assert_allclose(gb_m, gb_t, rtol=1e-5)


def test_grad_cam_style_capture_inside_a_network():
    """The gradient of a class score with respect to a conv block's output, captured by a
    pre-hook on that block, as Grad-CAM does."""
    captured = []
    for lib in (mc, torch):
        torch.manual_seed(0)
        theirs = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
        )
        net = theirs
        if lib is mc:
            net = mc.nn.Sequential(
                mc.nn.Conv2d(1, 4, 3, padding=1), mc.nn.ReLU(), mc.nn.AdaptiveAvgPool2d(1), mc.nn.Flatten()
            )
            net.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        grads = []
        net[1].register_full_backward_pre_hook(lambda m, go, grads=grads: grads.append(arrays(go)[0]))
        image = lib.tensor(RNG.standard_normal((1, 1, 5, 5)).astype(np.float32))
        net(image)[0, 2].backward()
        captured.append(grads[0])
    np.testing.assert_allclose(captured[0], captured[1], rtol=1e-5, atol=1e-7)
