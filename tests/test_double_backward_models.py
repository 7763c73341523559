"""Second derivatives through whole networks, against torch on the same weights: a WGAN-GP
gradient penalty on LeNet-5, and a Hessian-vector product of a training loss through
convolution (grouped and depthwise), batch norm in training mode, pooling and dropout-free
heads. float64 on both sides."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn as mc
import minicnn.nn.functional as F


def lenet_twin() -> torch.nn.Module:
    """torch's LeNet-5 with minicnn's state-dict keys."""
    t = torch.nn
    net = t.Module()
    net.features = t.Sequential(
        t.Conv2d(1, 6, 5, padding=2), t.ReLU(), t.MaxPool2d(2), t.Conv2d(6, 16, 5), t.ReLU(), t.MaxPool2d(2)
    )
    net.flatten = t.Flatten()
    net.classifier = t.Sequential(t.Linear(400, 120), t.ReLU(), t.Linear(120, 84), t.ReLU(), t.Linear(84, 10))
    net.forward = lambda x: net.classifier(net.flatten(net.features(x)))
    return net.double()


def load(ours: mc.nn.Module, theirs: torch.nn.Module) -> None:
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def test_wgan_gp_gradient_penalty_on_lenet5_equals_torch():
    torch.manual_seed(0)
    theirs = lenet_twin()
    ours = mc.models.lenet5().to(mc.float64)
    load(ours, theirs)
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((2, 3, 1, 28, 28))
    eps = rng.uniform(size=(3, 1, 1, 1))
    mixed = eps * real + (1 - eps) * fake  # WGAN-GP: the critic's gradient norm on the line between them

    def penalty(net, x, grad):
        score = net(x)[:, 0].sum()
        (g,) = grad(score, x, create_graph=True)
        norm = ((g * g).reshape(3, -1).sum(1) + 1e-12) ** 0.5
        return ((norm - 1) ** 2).mean()

    gp = penalty(ours, mc.tensor(mixed, requires_grad=True), mc.autograd.grad)
    gp_t = penalty(theirs, torch.tensor(mixed, requires_grad=True), torch.autograd.grad)
    np.testing.assert_allclose(gp.item(), gp_t.item(), rtol=1e-10)
    gp.backward()
    gp_t.backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        # the last bias does not reach the penalty (None on both sides); the others only through
        # ReLU's derivative, which is 0 but keeps them in the graph (zeros on both sides)
        assert (p.grad is None) == (q.grad is None), name
        if q.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)
    assert abs(ours.features[0].weight.grad.numpy()).max() > 0


class Small(mc.nn.Module):
    """conv - BN - ReLU6 - depthwise conv - BN - ReLU - max pool - grouped conv - avg pool - linear."""

    def __init__(self, nn=mc.nn) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU6(),
            nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 6, 1, groups=2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(6, 4),
        )

    def forward(self, x):
        return self.body(x)


class SmallTorch(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = Small(torch.nn).body


@pytest.mark.parametrize("train", [True, False])
def test_hessian_vector_product_through_batch_norm_and_depthwise_conv_equals_torch(train):
    torch.manual_seed(1)
    theirs = SmallTorch().double().train(train)
    ours = Small().to(mc.float64).train(train)
    load(ours, theirs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 8, 8))
    y = np.array([0, 3, 1, 2])
    params = list(ours.parameters())
    params_t = list(theirs.parameters())
    vs = [rng.standard_normal(p.shape) for p in params]

    loss = F.cross_entropy(ours(mc.tensor(x)), mc.tensor(y))
    grads = mc.autograd.grad(loss, params, create_graph=True)
    hv = mc.autograd.grad(sum((g * mc.tensor(v)).sum() for g, v in zip(grads, vs)), params)

    loss_t = torch.nn.functional.cross_entropy(theirs.body(torch.tensor(x)), torch.tensor(y))
    grads_t = torch.autograd.grad(loss_t, params_t, create_graph=True)
    hv_t = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(grads_t, vs)), params_t)
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-12)
    for (name, _), h, ht in zip(ours.named_parameters(), hv, hv_t):
        np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


def test_maml_meta_gradient_through_an_inner_sgd_step_equals_torch():
    """MAML: one inner SGD step on a support batch taken with create_graph=True, then the query
    loss of the adapted weights differentiated back to the initial ones (through the step)."""
    rng = np.random.default_rng(2)
    arrays = {
        "conv": rng.standard_normal((4, 1, 3, 3)) * 0.5,
        "conv_b": rng.standard_normal(4) * 0.1,
        "fc": rng.standard_normal((3, 4 * 2 * 2)) * 0.3,
        "fc_b": rng.standard_normal(3) * 0.1,
    }
    support, query = rng.standard_normal((2, 6, 1, 8, 8))
    y_support, y_query = rng.integers(0, 3, (2, 6))

    def meta_grads(lib, F_):
        params = {k: lib.tensor(v, requires_grad=True) for k, v in arrays.items()}

        def net(x, p):
            h = F_.max_pool2d(F_.tanh(F_.conv2d(x, p["conv"], p["conv_b"], padding=1)), 2)
            h = F_.avg_pool2d(F_.leaky_relu(h, 0.1), 2, ceil_mode=True)
            return F_.linear(h.reshape(h.shape[0], -1), p["fc"], p["fc_b"])

        inner = F_.cross_entropy(net(lib.tensor(support), params), lib.tensor(y_support))
        grads = lib.autograd.grad(inner, list(params.values()), create_graph=True)
        fast = {k: p - 0.4 * g for (k, p), g in zip(params.items(), grads)}
        outer = F_.cross_entropy(net(lib.tensor(query), fast), lib.tensor(y_query), label_smoothing=0.1)
        return outer.item(), lib.autograd.grad(outer, list(params.values()))

    ours, theirs = meta_grads(mc, F), meta_grads(torch, torch.nn.functional)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    for name, m, t in zip(arrays, ours[1], theirs[1]):
        np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
