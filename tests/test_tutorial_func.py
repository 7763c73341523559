"""torch.func's tutorials (per-sample gradients, model ensembling, Jacobians/Hessians/hvp), ported:
each tutorial is written once against a module ``torch`` and run with real torch and with
``minicnn`` in its place, from the same weights and data; the results must agree."""

from __future__ import annotations

import copy
import warnings
from functools import partial
from typing import Any

import numpy as np
import pytest
import torch as real_torch

import minicnn as mc
from tests.conftest import devices


def _load(torch: Any, model: Any, state: dict[str, np.ndarray], device: str) -> Any:
    kw = {"device": device} if torch is mc else {}
    model.load_state_dict({k: torch.tensor(v, **kw) for k, v in state.items()})
    return model


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy()


def _state(model: real_torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# -- 1. Per-sample-gradients ---------------------------------------------------------------------
def per_sample_gradients(torch: Any, state: dict[str, np.ndarray], data_np: np.ndarray, targets_np: np.ndarray,
                         device: str) -> tuple[list[Any], Any]:  # fmt: skip
    nn, F = torch.nn, torch.nn.functional
    from_np = (lambda a: torch.tensor(a, device=device)) if torch is mc else torch.tensor

    class SimpleCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.fc1 = nn.Linear(32, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    def loss_fn(predictions, targets):
        return F.nll_loss(predictions, targets)

    data, targets = from_np(data_np), from_np(targets_np)
    model = SimpleCNN()
    if torch is mc:
        model.to(device)
    _load(torch, model, state, device)

    def compute_grad(sample, target):
        sample = sample.unsqueeze(0)  # prepend batch dimension for processing
        target = target.unsqueeze(0)
        prediction = model(sample)
        loss = loss_fn(prediction, target)
        return torch.autograd.grad(loss, list(model.parameters()))

    def compute_sample_grads(data, targets):
        """manually process each sample with per sample gradient"""
        sample_grads = [compute_grad(data[i], targets[i]) for i in range(len(data))]
        sample_grads = zip(*sample_grads)
        sample_grads = [torch.stack(shards) for shards in sample_grads]
        return sample_grads

    per_sample_grads = compute_sample_grads(data, targets)

    from_func = torch.func
    functional_call, vmap, grad = from_func.functional_call, from_func.vmap, from_func.grad

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        batch = sample.unsqueeze(0)
        targets = target.unsqueeze(0)
        predictions = functional_call(model, (params, buffers), (batch,))
        loss = loss_fn(predictions, targets)
        return loss

    ft_compute_grad = grad(compute_loss)
    ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
    ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
    for per_sample_grad, ft_per_sample_grad in zip(per_sample_grads, ft_per_sample_grads.values(), strict=True):
        assert torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5)
    # the module's own parameters are back in place after functional_call
    assert all(p is q for p, q in zip(model.parameters(), [model.get_parameter(n) for n in params], strict=True))
    return per_sample_grads, ft_per_sample_grads


@pytest.mark.parametrize("device", devices())
def test_per_sample_gradients_tutorial(device: str) -> None:
    rng = np.random.default_rng(0)
    real_torch.manual_seed(0)
    # the model is built inside the tutorial: its initial weights come from a twin with the same names
    twin = real_torch.nn.ModuleDict(
        {
            "conv1": real_torch.nn.Conv2d(1, 4, 3, 1),
            "conv2": real_torch.nn.Conv2d(4, 8, 3, 1),
            "fc1": real_torch.nn.Linear(32, 16),
            "fc2": real_torch.nn.Linear(16, 10),
        }
    )
    state = _state(twin)
    data = rng.standard_normal((5, 1, 8, 8)).astype(np.float32)
    targets = rng.integers(0, 10, 5)
    loop_t, ft_t = per_sample_gradients(real_torch, state, data, targets, "cpu")
    loop_m, ft_m = per_sample_gradients(mc, state, data, targets, device)
    for a, b in zip(loop_t, loop_m, strict=True):
        np.testing.assert_allclose(_np(b), _np(a), rtol=1e-4, atol=1e-5)
    assert list(ft_t) == list(ft_m)
    for k in ft_t:
        assert tuple(ft_m[k].shape) == tuple(ft_t[k].shape)
        np.testing.assert_allclose(_np(ft_m[k]), _np(ft_t[k]), rtol=1e-4, atol=1e-5)
        assert not ft_m[k].requires_grad


# -- 2. Model ensembling -------------------------------------------------------------------------
def ensembling(torch: Any, states: list[dict[str, np.ndarray]], data_np: np.ndarray, device: str) -> dict[str, Any]:
    nn, F = torch.nn, torch.nn.functional
    from_np = (lambda a: torch.tensor(a, device=device)) if torch is mc else torch.tensor

    class SimpleMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(16, 12)
            self.fc2 = nn.Linear(12, 12)
            self.fc3 = nn.Linear(12, 10)

        def forward(self, x):
            x = x.flatten(1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)
            x = F.relu(x)
            x = self.fc3(x)
            return x

    num_models = len(states)
    data = from_np(data_np)
    models = [_load(torch, SimpleMLP().to(device), s, device) for s in states]
    minibatches = data[:num_models]
    predictions_diff_minibatch_loop = [model(minibatch) for model, minibatch in zip(models, minibatches, strict=True)]
    minibatch = data[0]
    predictions2 = [model(minibatch) for model in models]

    from_func = torch.func
    stack_module_state, functional_call = from_func.stack_module_state, from_func.functional_call
    params, buffers = stack_module_state(models)

    # Construct a "stateless" version of one of the models. It is "stateless" in
    # the sense that the parameters are meta Tensors and do not have storage.
    base_model = copy.deepcopy(models[0])
    base_model = base_model.to("meta")

    def fmodel(params, buffers, x):
        return functional_call(base_model, (params, buffers), (x,))

    assert [p.size(0) for p in params.values()] == [num_models] * 6
    assert minibatches.shape == (num_models, 3, 1, 4, 4)
    vmap = torch.vmap
    predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)
    assert torch.allclose(predictions1_vmap, torch.stack(predictions_diff_minibatch_loop), atol=1e-3, rtol=1e-5)
    predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
    assert torch.allclose(predictions2_vmap, torch.stack(predictions2), atol=1e-3, rtol=1e-5)
    # the stacked parameters are leaves that train: a loss over the ensemble backpropagates to them
    predictions1_vmap.sum().backward()
    return {
        "p1": predictions1_vmap,
        "p2": predictions2_vmap,
        "grads": {k: v.grad for k, v in params.items()},
        "requires_grad": {k: v.requires_grad for k, v in params.items()},
    }


@pytest.mark.parametrize("device", devices())
def test_model_ensembling_tutorial(device: str) -> None:
    real_torch.manual_seed(1)
    rng = np.random.default_rng(1)
    states = []
    for _ in range(4):
        twin = real_torch.nn.ModuleDict(
            {
                "fc1": real_torch.nn.Linear(16, 12),
                "fc2": real_torch.nn.Linear(12, 12),
                "fc3": real_torch.nn.Linear(12, 10),
            }
        )
        states.append(_state(twin))
    data = rng.standard_normal((6, 3, 1, 4, 4)).astype(np.float32)
    got_t = ensembling(real_torch, states, data, "cpu")
    got_m = ensembling(mc, states, data, device)
    for key in ("p1", "p2"):
        np.testing.assert_allclose(_np(got_m[key]), _np(got_t[key]), rtol=1e-4, atol=1e-5)
    assert got_m["requires_grad"] == got_t["requires_grad"]
    for k, g in got_t["grads"].items():
        np.testing.assert_allclose(_np(got_m["grads"][k]), _np(g), rtol=1e-4, atol=1e-5)


def ensembling_dropout(torch: Any, randomness: str | None) -> Any:
    """The tutorial's note: with dropout (randomness), vmap needs randomness='different' (or 'same')."""
    nn = torch.nn
    models = [nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2)) for _ in range(3)]
    for m in models[1:]:
        m.load_state_dict(models[0].state_dict())
    params, buffers = torch.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def fmodel(params, buffers, x):
        return torch.func.functional_call(base, (params, buffers), (x,))

    kw = {} if randomness is None else {"randomness": randomness}
    return torch.vmap(fmodel, in_dims=(0, 0, None), **kw)(params, buffers, torch.ones(5, 4))


def test_model_ensembling_randomness_like_torch() -> None:
    for torch in (real_torch, mc):
        with pytest.raises(RuntimeError, match="called random operation while in randomness error mode"):
            ensembling_dropout(torch, None)
        same = _np(ensembling_dropout(torch, "same"))
        different = _np(ensembling_dropout(torch, "different"))
        assert same.shape == different.shape == (3, 5, 2)
        np.testing.assert_array_equal(same[1], same[0])  # one dropout mask for every model
        assert not np.array_equal(different[1], different[0])


# -- 3. Jacobians, Hessians, hvp, vhp, and more ------------------------------------------------
def jacobians_tutorial(torch: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    F = torch.nn.functional
    t = torch.tensor
    jacrev, jacfwd, vmap, vjp, jvp, grad = (
        getattr(torch.func, n) for n in ("jacrev", "jacfwd", "vmap", "vjp", "jvp", "grad")
    )
    hessian = torch.func.hessian
    out: dict[str, Any] = {}

    def predict(weight, bias, x):
        return F.linear(x, weight, bias).tanh()

    D = 4
    weight, bias, x = t(arrays["weight"]), t(arrays["bias"]), t(arrays["x"])

    def compute_jac(xp):
        jacobian_rows = [torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0] for vec in unit_vectors]
        return torch.stack(jacobian_rows)

    xp = x.clone().requires_grad_()
    unit_vectors = torch.eye(D)
    jacobian = compute_jac(xp)
    out["jacobian"] = jacobian

    _, vjp_fn = vjp(partial(predict, weight, bias), x)
    (ft_jacobian,) = vmap(vjp_fn)(unit_vectors)
    assert torch.allclose(ft_jacobian, jacobian)
    ft_jacobian = jacrev(predict, argnums=2)(weight, bias, x)
    assert torch.allclose(ft_jacobian, jacobian)
    ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
    out["jac_weight"], out["jac_bias"] = ft_jac_weight, ft_jac_bias
    jac_fwd = jacfwd(predict, argnums=2)(weight, bias, x)
    assert torch.allclose(jac_fwd, jacobian, atol=1e-6)

    hess_api = hessian(predict, argnums=2)(weight, bias, x)
    hess_fwdfwd = jacfwd(jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
    hess_revrev = jacrev(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
    assert torch.allclose(hess_api, hess_fwdfwd, atol=1e-6)
    assert torch.allclose(hess_api, hess_revrev, atol=1e-6)
    out["hessian"] = hess_api

    # batch Jacobians and batch Hessians
    weight, bias, x = t(arrays["bweight"]), t(arrays["bbias"]), t(arrays["bx"])
    compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
    batch_jacobian0 = compute_batch_jacobian(weight, bias, x)

    def predict_with_output_summed(weight, bias, x):
        return predict(weight, bias, x).sum(0)

    batch_jacobian1 = jacrev(predict_with_output_summed, argnums=2)(weight, bias, x).movedim(1, 0)
    assert torch.allclose(batch_jacobian0, batch_jacobian1)
    compute_batch_hessian = vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))
    out["batch_jacobian"], out["batch_hess"] = batch_jacobian0, compute_batch_hessian(weight, bias, x)

    # hvp: forward-over-reverse
    def hvp(f, primals, tangents):
        return jvp(grad(f), primals, tangents)[1]

    def f(x):
        return x.sin().sum()

    x, tangent = t(arrays["hx"]), t(arrays["htangent"])
    out["hvp"] = hvp(f, (x,), (tangent,))
    assert torch.allclose(out["hvp"], tangent * -x.sin())

    # has_aux, chunk_size (the API notes)
    jac, aux = jacrev(lambda x: (x.sin(), x.cos().sum()), has_aux=True)(x[:3])
    out["aux_jac"], out["aux"] = jac, aux
    out["chunked"] = jacrev(torch.sin, chunk_size=2)(x[:5])
    return out


def test_jacobians_hessians_tutorial() -> None:
    rng = np.random.default_rng(2)
    arrays = {
        "weight": rng.standard_normal((4, 4)),
        "bias": rng.standard_normal(4),
        "x": rng.standard_normal(4),
        "bweight": rng.standard_normal((5, 3)),
        "bbias": rng.standard_normal(5),
        "bx": rng.standard_normal((4, 3)),
        "hx": rng.standard_normal(16),
        "htangent": rng.standard_normal(16),
    }
    arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
    got_t = jacobians_tutorial(real_torch, arrays)
    got_m = jacobians_tutorial(mc, arrays)
    assert got_t.keys() == got_m.keys()
    for k, v in got_t.items():
        assert tuple(got_m[k].shape) == tuple(v.shape), k
        np.testing.assert_allclose(_np(got_m[k]), _np(v), rtol=1e-4, atol=1e-5, err_msg=k)


# -- 4. The rest of torch.func's API --------------------------------------------------------------
def other_api(torch: Any, x_np: np.ndarray, w_np: np.ndarray) -> dict[str, Any]:
    func = torch.func
    x, w = torch.tensor(x_np), torch.tensor(w_np)

    def loss(w, x):
        return (x @ w).tanh().pow(2).sum()

    g, value = func.grad_and_value(loss)(w, x)
    (gw, gx), (value2, aux) = func.grad_and_value(lambda w, x: (loss(w, x), x.sum()), argnums=(0, 1), has_aux=True)(
        w, x
    )
    out, jvp_fn = func.linearize(lambda x: (x @ w).sin(), x)
    lin = jvp_fn(torch.ones_like(x))

    def mutating(a):
        b = a.clone()
        b.add_(1)
        return b * 2

    functionalized = func.functionalize(mutating)(x)
    linear = torch.nn.Linear(3, 2)
    sd = {"weight": torch.ones(2, 3, dtype=torch.float64), "bias": torch.zeros(2, dtype=torch.float64)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stateless = torch.nn.utils.stateless.functional_call(linear, sd, (x,))
    assert any(issubclass(c.category, FutureWarning) for c in caught)
    return {"g": g, "value": value, "gw": gw, "gx": gx, "value2": value2, "aux": aux, "out": out, "lin": lin,
            "functionalized": functionalized, "stateless": stateless}  # fmt: skip


def test_grad_and_value_linearize_functionalize_stateless() -> None:
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    got_t, got_m = other_api(real_torch, x, w), other_api(mc, x, w)
    for k, v in got_t.items():
        np.testing.assert_allclose(_np(got_m[k]), _np(v), rtol=1e-9, atol=1e-12, err_msg=k)
    import minicnn.nn.utils.stateless as stateless  # torch's import path works too

    assert stateless.functional_call is mc.nn.utils.stateless.functional_call
    assert mc.vmap is mc.func.vmap
