"""PyTorch's beginner tutorials ported to minicnn (``import minicnn as torch``), at small scale,
each run side by side with real torch on the same weights and data:

- "Learn the Basics": Tensors, Datasets & DataLoaders, Transforms, Build the Neural Network,
  Automatic Differentiation, Optimization, Save & Load;
- "Deep Learning with PyTorch: A 60 Minute Blitz": autograd (Q = 3a^3 - b^2, freezing a
  ResNet-18), Neural Networks (the LeNet-like Net), Training a classifier (CIFAR-10's Net on
  random images);
- "Learning PyTorch with Examples": tensors with manual gradients, autograd, nn, optim,
  a custom Module (Polynomial3), control flow and weight sharing (DynamicNet);
- "What is torch.nn really?": MNIST logistic regression by hand, then every refactor up to
  the CNN with ``nn.Sequential``, ``Lambda``, ``AdaptiveAvgPool2d`` and ``WrappedDataLoader``.

The tutorial code is written once, as a function of the library (``L.torch`` is ``minicnn`` or
``torch``), so both runs execute the same lines. What they print is compared too: tensor reprs
(dtype names aside: minicnn's dtypes are NumPy's, ``float64`` for ``torch.float64``), module
reprs and ``grad_fn`` names. Known, documented differences: ``Tensor.shape`` is a tuple, not
``torch.Size``; ``.numpy()`` is a copy (the contract, API.md), not a view; ``mc.save`` of a whole
module is a TypeError (minicnn never pickles) telling to save the state dict instead.
"""

# ruff: noqa: B007, N801  (the tutorials' own loop variables and class names, kept as written)

from __future__ import annotations

import math
import random
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from conftest import SHARED, devices

import minicnn as mc

F32 = dict(rtol=1e-4, atol=1e-5)


def lib(name: str) -> types.SimpleNamespace:
    """The names a tutorial imports, from minicnn or from torch (+ torchvision)."""
    if name == "mc":
        import minicnn.utils.data as data  # noqa: PLC0415 - the path the tutorials import

        return types.SimpleNamespace(
            torch=mc, nn=mc.nn, F=mc.nn.functional, optim=mc.optim, data=data, transforms=mc.data.transforms,
            models=mc.models, name="mc",
        )  # fmt: skip
    import torch.utils.data as data  # noqa: PLC0415

    return types.SimpleNamespace(
        torch=torch, nn=torch.nn, F=torch.nn.functional, optim=torch.optim, data=data,
        transforms=torchvision.transforms, models=torchvision.models, name="torch",
    )  # fmt: skip


MC, TORCH = lib("mc"), lib("torch")


def same(a: Any, b: Any, **tol: float) -> None:
    """minicnn's value ``a`` equals torch's ``b`` (tensors, arrays, numbers, nested lists)."""
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y, **tol)
        return
    a = a.detach().cpu().numpy() if isinstance(a, mc.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, **(tol or F32))


def text(t: Any) -> str:
    """What ``print`` shows, with torch's dtype prefix dropped (``torch.float64`` -> ``float64``)."""
    return str(t).replace("torch.", "")


def copy_weights(theirs: torch.nn.Module, ours: Any, device: str = "cpu") -> Any:
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.to(device)


# -- Learn the Basics: Tensors ------------------------------------------------------------------
def tensors_tutorial(L: types.SimpleNamespace, device: str) -> dict[str, Any]:
    torch = L.torch
    out: dict[str, Any] = {}
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    out["created"] = [str(x_data), str(x_np), f"Ones Tensor: \n {x_ones} \n", str(x_rand.dtype), tuple(x_rand.shape)]
    shape = (2, 3)
    out["factories"] = [str(torch.ones(shape)), str(torch.zeros(shape)), tuple(torch.rand(shape).shape)]
    tensor = torch.rand(3, 4)
    out["attributes"] = [tuple(tensor.shape), str(tensor.dtype), str(tensor.device)]
    tensor = tensor.to(device)
    out["moved"] = str(tensor.device)
    tensor = torch.ones(4, 4, device=device)
    out["indexing"] = [f"First row: {tensor[0]}", f"First column: {tensor[:, 0]}", f"Last column: {tensor[..., -1]}"]
    tensor[:, 1] = 0
    out["assigned"] = str(tensor)
    out["cat"] = str(torch.cat([tensor, tensor, tensor], dim=1))
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    out["arithmetic"] = [str(y) for y in (y1, y2, y3, z1, z2, z3)]
    agg = tensor.sum()
    agg_item = agg.item()
    out["item"] = (agg_item, type(agg_item).__name__)
    tensor.add_(5)
    out["in-place"] = str(tensor)
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    out["bridge"] = [f"t: {t}", f"n: {n}"]
    return out


@pytest.mark.parametrize("device", devices())
def test_tensors_tutorial(device):
    ours, theirs = tensors_tutorial(MC, device), tensors_tutorial(TORCH, "cpu")
    for key in theirs:
        if key in ("attributes", "moved"):
            continue
        mine = ours[key] if device == "cpu" else _untorch(ours[key], ", device='cuda:0'")
        assert mine == (theirs[key] if key == "item" else _untorch(theirs[key])), key
    assert ours["attributes"] == [(3, 4), "float32", "cpu"] and theirs["attributes"][1:] == ["torch.float32", "cpu"]
    assert ours["moved"] == ("cpu" if device == "cpu" else "cuda:0")  # str(torch.device) of a CUDA tensor


def _untorch(value: Any, drop: str = "torch.") -> Any:
    """``value`` (strings, nested in lists and tuples) without ``drop``."""
    if isinstance(value, list):
        return [_untorch(v, drop) for v in value]
    if isinstance(value, tuple):
        return tuple(_untorch(v, drop) for v in value)
    return value.replace(drop, "") if isinstance(value, str) else value


def test_tensor_reprs_the_tutorials_print():
    for make in (
        lambda t: t.tensor([[1.0, 2.0]], requires_grad=True),
        lambda t: t.tensor([1.5, 2.25], dtype=t.float64),
        lambda t: t.tensor([1, 2], dtype=t.int32),
        lambda t: t.tensor([True, False]),
        lambda t: t.tensor([1e-5, 1e5]),
        lambda t: t.arange(2000.0),
        lambda t: t.tensor([[1.0, -1.0], [1.0, 1.0]], requires_grad=True).sum(),
        lambda t: t.tensor([2.0, 3.0], requires_grad=True) ** 3 * 3 - t.tensor([6.0, 4.0]) ** 2,
    ):
        assert text(make(mc)) == text(make(torch))


# -- Datasets & DataLoaders, Transforms ---------------------------------------------------------
def datasets_tutorial(L: types.SimpleNamespace) -> dict[str, Any]:
    torch, Dataset, DataLoader = L.torch, L.data.Dataset, L.data.DataLoader
    ToTensor, Lambda = L.transforms.ToTensor, L.transforms.Lambda

    class CustomImageDataset(Dataset):
        def __init__(self, n, transform=None, target_transform=None):
            rng = np.random.default_rng(0)
            self.imgs = rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)  # (H, W, C) as a PIL image
            self.img_labels = rng.integers(0, 10, n)
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.img_labels)

        def __getitem__(self, idx):
            image, label = self.imgs[idx], int(self.img_labels[idx])
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    one_hot = Lambda(lambda y: torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1))
    ds = CustomImageDataset(10, transform=ToTensor(), target_transform=one_hot)
    img, label = ds[0]
    loader = DataLoader(ds, batch_size=4)
    train_features, train_labels = next(iter(loader))
    raw = DataLoader(CustomImageDataset(10), batch_size=4, shuffle=False)
    batches = [(tuple(x.shape), str(x.dtype), y) for x, y in raw]
    shuffled = DataLoader(ds, batch_size=4, shuffle=True)
    seen = sorted(int(lab.argmax()) for _, ys in shuffled for lab in ys)
    return dict(
        img=img, label=label, features=train_features, labels=train_labels, squeezed=train_features[0].squeeze(),
        lengths=(len(loader), len(loader.dataset)), batches=batches, seen=seen,
    )  # fmt: skip


def test_datasets_dataloaders_and_transforms_tutorials():
    ours, theirs = datasets_tutorial(MC), datasets_tutorial(TORCH)
    for key in ("img", "label", "features", "labels", "squeezed"):
        same(ours[key], theirs[key])
    assert ours["img"].dtype == np.float32 and ours["label"].dtype == np.float32
    assert ours["lengths"] == theirs["lengths"] == (3, 10)
    for (s1, d1, y1), (s2, d2, y2) in zip(ours["batches"], theirs["batches"]):
        assert s1 == s2 and d1 == d2.replace("torch.", "") and y1.dtype == np.int64
        same(y1, y2)
    assert ours["seen"] == theirs["seen"]


# -- Build the Neural Network; Automatic Differentiation -----------------------------------------
def neural_network(L: types.SimpleNamespace) -> Any:
    nn = L.nn

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28 * 28, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    return NeuralNetwork()


@pytest.mark.parametrize("device", devices())
def test_build_the_neural_network_tutorial(device):
    theirs = neural_network(TORCH)
    ours = copy_weights(theirs, neural_network(MC), device)
    assert repr(ours) == repr(theirs)
    X = np.random.default_rng(1).random((3, 28, 28), dtype=np.float32)
    results = []
    for L, model, dev in ((MC, ours, device), (TORCH, theirs, "cpu")):
        torch, nn = L.torch, L.nn
        logits = model(torch.tensor(X, device=dev))
        pred_probab = nn.Softmax(dim=1)(logits)
        y_pred = pred_probab.argmax(1)
        flatten = nn.Flatten()
        flat_image = flatten(torch.tensor(X))
        layer1 = nn.Linear(in_features=28 * 28, out_features=20)
        hidden1 = nn.ReLU()(layer1(flat_image))
        params = [(name, tuple(p.size()), p.requires_grad) for name, p in model.named_parameters()]
        results.append((logits, pred_probab, y_pred, tuple(hidden1.size()), params))
    (a, pa, ya, ha, na), (b, pb, yb, hb, nb) = results
    same(a, b)
    same(pa, pb)
    assert ya.tolist() == yb.tolist() and ya.dtype == np.int64
    assert ha == hb == (3, 20) and na == nb


def autograd_tutorial(L: types.SimpleNamespace, w0: np.ndarray, b0: np.ndarray) -> dict[str, Any]:
    torch = L.torch
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    names = [type(z.grad_fn).__name__, text(z)]
    loss.backward()
    grads = [w.grad, b.grad]
    try:
        loss.backward()
        second = None
    except RuntimeError as e:
        second = str(e)
    z = torch.matmul(x, w) + b
    flags = [z.requires_grad]
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    flags.append(z.requires_grad)
    flags.append((torch.matmul(x, w) + b).detach().requires_grad)
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    second_call = inp.grad.clone()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    shown = [f"First call\n{first}", f"\nSecond call\n{second_call}", f"\nCall after zeroing gradients\n{inp.grad}"]
    return dict(loss=loss, names=names, grads=grads, second=second, flags=flags, shown=shown, out=text(out))


def test_automatic_differentiation_tutorial():
    rng = np.random.default_rng(2)
    w0, b0 = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    ours, theirs = autograd_tutorial(MC, w0, b0), autograd_tutorial(TORCH, w0, b0)
    same(ours["loss"], theirs["loss"])
    same(ours["grads"], theirs["grads"])
    assert ours["names"][1] == theirs["names"][1]  # ... grad_fn=<AddBackward0>)
    assert "Trying to backward through the graph a second time" in ours["second"]
    assert "retain_graph=True" in ours["second"] and theirs["second"] is not None
    assert ours["flags"] == theirs["flags"] == [True, False, False]
    assert ours["shown"] == [text(s) for s in theirs["shown"]]
    assert ours["out"] == theirs["out"]


# -- Optimization; Save & Load ------------------------------------------------------------------
def optimization_tutorial(L: types.SimpleNamespace, model: Any, X: np.ndarray, Y: np.ndarray, device: str):
    torch, nn = L.torch, L.nn
    data = L.data
    learning_rate, batch_size, epochs = 1e-1, 16, 2
    train_dataloader = data.DataLoader(data.TensorDataset(torch.tensor(X[:48]), torch.tensor(Y[:48])), batch_size)
    test_dataloader = data.DataLoader(data.TensorDataset(torch.tensor(X[48:]), torch.tensor(Y[48:])), batch_size)
    record: list[Any] = []

    def train_loop(dataloader, model, loss_fn, optimizer):
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            pred = model(X.to(device))
            loss = loss_fn(pred, y.to(device))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            record.append(loss.item())

    def test_loop(dataloader, model, loss_fn):
        model.eval()
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                X, y = X.to(device), y.to(device)
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        record.append((test_loss, correct))

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    for t in range(epochs):
        train_loop(train_dataloader, model, loss_fn, optimizer)
        test_loop(test_dataloader, model, loss_fn)
    return record


@pytest.mark.parametrize("device", devices())
def test_optimization_and_save_load_tutorials(device, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.random((64, 28, 28), dtype=np.float32)
    Y = rng.integers(0, 10, 64)
    theirs = neural_network(TORCH)
    ours = copy_weights(theirs, neural_network(MC), device)
    rec_ours = optimization_tutorial(MC, ours, X, Y, device)
    rec_theirs = optimization_tutorial(TORCH, theirs, X, Y, "cpu")
    assert len(rec_ours) == len(rec_theirs) == 8
    for a, b in zip(rec_ours, rec_theirs):
        same(a, b, rtol=1e-4, atol=1e-5)
    same(ours.linear_relu_stack[4].weight, theirs.linear_relu_stack[4].weight)
    # Save & Load: the state dict; load with weights_only=True as the tutorial does
    torch_path, mc_path = tmp_path / "model_weights.pth", tmp_path / "model_weights.mc"
    torch.save(theirs.state_dict(), torch_path)
    mc.save(ours.state_dict(), mc_path)
    t2, m2 = neural_network(TORCH), neural_network(MC).to(device)
    t2.load_state_dict(torch.load(torch_path, weights_only=True))
    m2.load_state_dict(mc.load(mc_path, weights_only=True))
    t2.eval()
    m2.eval()
    same(m2(mc.tensor(X[:4], device=device)), t2(torch.tensor(X[:4])))
    # torch.save(model, path) pickles the whole module; minicnn never pickles: a clear TypeError
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        mc.save(ours, tmp_path / "model.mc")
    assert not (tmp_path / "model.mc").exists()


# -- 60 Minute Blitz ----------------------------------------------------------------------------
def blitz_autograd(L: types.SimpleNamespace) -> list[Any]:
    torch = L.torch
    a = torch.tensor([2.0, 3.0], requires_grad=True)
    b = torch.tensor([6.0, 4.0], requires_grad=True)
    Q = 3 * a**3 - b**2
    external_grad = torch.tensor([1.0, 1.0])
    Q.backward(gradient=external_grad)
    x, y, z = torch.rand(5, 5), torch.rand(5, 5), torch.rand((5, 5), requires_grad=True)
    return [text(Q), text(9 * a**2 == a.grad), text(-2 * b == b.grad), (x + y).requires_grad, (x + z).requires_grad]


def test_blitz_autograd_q_and_dag_exclusion():
    assert blitz_autograd(MC) == blitz_autograd(TORCH)


def test_blitz_autograd_finetuning_a_frozen_resnet18():
    data = np.random.default_rng(4).random((1, 3, 32, 32), dtype=np.float32)
    labels = np.random.default_rng(5).random((1, 1000), dtype=np.float32)
    theirs = torchvision.models.resnet18(weights=None)
    ours = copy_weights(theirs, mc.models.resnet18(weights=None))
    results = []
    for L, model in ((MC, ours), (TORCH, theirs)):
        torch, nn, optim = L.torch, L.nn, L.optim
        model.eval()  # a batch of one: the tutorial's train-mode batch norm would see one value per map
        prediction = model(torch.tensor(data))
        loss = (prediction - torch.tensor(labels)).sum()
        loss.backward()
        optim.SGD(model.parameters(), lr=1e-2, momentum=0.9).step()
        for param in model.parameters():
            param.requires_grad = False
        model.fc = nn.Linear(512, 10)
        with torch.no_grad():
            model.fc.weight.copy_(torch.tensor(np.linspace(-0.05, 0.05, 5120, dtype=np.float32).reshape(10, 512)))
            model.fc.bias.zero_()
        optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
        model.zero_grad()
        out = model(torch.tensor(data))
        out.sum().backward()
        optimizer.step()
        trained = [name for name, p in model.named_parameters() if p.grad is not None and p.requires_grad]
        results.append((loss, out, model.conv1.weight, model.fc.weight, trained))
    (l1, o1, c1, f1, n1), (l2, o2, c2, f2, n2) = results
    same(l1, l2, rtol=1e-4, atol=1e-3)
    same(o1, o2, rtol=1e-4, atol=1e-4)
    same(c1, c2, rtol=1e-4, atol=1e-5)
    same(f1, f2)
    assert n1 == n2 == ["fc.weight", "fc.bias"]


def blitz_net(L: types.SimpleNamespace, in_ch: int, conv_first: bool) -> Any:
    nn, F, torch = L.nn, L.F, L.torch

    class Net(nn.Module):
        """The "Neural Networks" Net (1 x 32 x 32) and "Training a classifier"'s (3 x 32 x 32)."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(in_ch, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            if conv_first:  # the Neural Networks tutorial
                x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
                x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            else:  # Training a classifier
                x = self.pool(F.relu(self.conv1(x)))
                x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return Net()


def blitz_neural_networks(L: types.SimpleNamespace, net: Any, inp: np.ndarray, g: np.ndarray, target: np.ndarray):
    torch, nn, optim = L.torch, L.nn, L.optim
    params = list(net.parameters())
    input = torch.tensor(inp)
    out = net(input)
    net.zero_grad()
    out.backward(torch.tensor(g))
    first = params[0].grad.clone()
    output = net(input)
    target = torch.tensor(target).view(1, -1)
    criterion = nn.MSELoss()
    loss = criterion(output, target)
    net.zero_grad()
    before = net.conv1.bias.grad
    loss.backward()
    after = net.conv1.bias.grad.clone()
    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    optimizer.zero_grad()
    loss2 = criterion(net(input), target)
    loss2.backward()
    optimizer.step()
    return dict(n=len(params), shape=tuple(params[0].size()), out=out, first=first, before=before, loss=loss,
                after=after, loss2=loss2, fc3=net.fc3.weight, repr=repr(net))  # fmt: skip


def test_blitz_neural_networks_tutorial():
    rng = np.random.default_rng(6)
    inp, g, target = (rng.standard_normal(s).astype(np.float32) for s in ((1, 1, 32, 32), (1, 10), (10,)))
    theirs = blitz_net(TORCH, 1, True)
    ours = copy_weights(theirs, blitz_net(MC, 1, True))
    a, b = blitz_neural_networks(MC, ours, inp, g, target), blitz_neural_networks(TORCH, theirs, inp, g, target)
    assert a["n"] == b["n"] == 10 and a["shape"] == b["shape"] == (6, 1, 5, 5) and a["repr"] == b["repr"]
    assert a["before"] is None and b["before"] is None
    for key in ("out", "first", "loss", "after", "loss2", "fc3"):
        same(a[key], b[key])


def blitz_classifier(L: types.SimpleNamespace, net: Any, images: np.ndarray, labels: np.ndarray) -> list[Any]:
    torch, nn, optim, data = L.torch, L.nn, L.optim, L.data
    trainloader = data.DataLoader(data.TensorDataset(torch.tensor(images), torch.tensor(labels)), batch_size=4)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    record = []
    for epoch in range(2):
        running_loss = 0.0
        for i, batch in enumerate(trainloader, 0):
            inputs, targets = batch
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        record.append(running_loss)
    correct = total = 0
    correct_pred = {c: 0 for c in range(10)}
    with torch.no_grad():
        for images_b, labels_b in trainloader:
            outputs = net(images_b)
            _, predicted = torch.max(outputs, 1)
            total += labels_b.size(0)
            correct += (predicted == labels_b).sum().item()
            for label, prediction in zip(labels_b, predicted):
                if label == prediction:
                    correct_pred[int(label)] += 1
    return [*record, correct / total, correct_pred, outputs]


def test_blitz_training_a_classifier_on_random_images():
    rng = np.random.default_rng(7)
    images = (rng.random((16, 3, 32, 32), dtype=np.float32) - 0.5) / 0.5  # Normalize((0.5,)*3, (0.5,)*3)
    labels = rng.integers(0, 10, 16)
    theirs = blitz_net(TORCH, 3, False)
    ours = copy_weights(theirs, blitz_net(MC, 3, False))
    a, b = blitz_classifier(MC, ours, images, labels), blitz_classifier(TORCH, theirs, images, labels)
    same(a[:3], b[:3])
    assert a[3] == b[3]
    same(a[4], b[4])


# -- Learning PyTorch with Examples -------------------------------------------------------------
def examples_tutorial(L: types.SimpleNamespace) -> list[Any]:
    torch = L.torch
    dtype, device = torch.float, "cpu"
    x = torch.linspace(-math.pi, math.pi, 200, device=device, dtype=dtype)
    y = torch.sin(x)
    res = []
    # tensors, gradients by hand
    a, b, c, d = (torch.full((), v, device=device, dtype=dtype) for v in (0.1, 0.2, -0.1, 0.05))
    learning_rate = 1e-6
    for t in range(30):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum().item()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x**2).sum()
        grad_d = (grad_y_pred * x**3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    res += [loss, a.item(), d.item()]
    # autograd
    a, b, c, d = (torch.full((), v, dtype=dtype, requires_grad=True) for v in (0.1, 0.2, -0.1, 0.05))
    for t in range(30):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = b.grad = c.grad = d.grad = None
    res += [loss.item(), text(a), a.is_leaf]
    # nn
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -0.2, 0.05]]))
        model[0].bias.fill_(0.01)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    for t in range(30):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    res += [tuple(xx.shape), loss.item(), linear_layer.bias.item(), linear_layer.weight[:, 2].item(), repr(model)]
    # optim
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for t in range(30):
        loss = loss_fn(model(xx), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    res += [loss.item(), model[0].weight]

    # custom nn Modules; control flow + weight sharing
    class Polynomial3(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c, self.d = (torch.nn.Parameter(torch.tensor(v)) for v in (0.3, -0.2, 0.1, 0.0))

        def forward(self, x):
            return self.a + self.b * x + self.c * x**2 + self.d * x**3

        def string(self):
            return f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3"

    class DynamicNet(Polynomial3):
        def __init__(self):
            super().__init__()
            self.e = torch.nn.Parameter(torch.tensor(0.01))

        def forward(self, x):
            y = self.a + self.b * x + self.c * x**2 + self.d * x**3
            for exp in range(4, random.randint(4, 6)):
                y = y + self.e * x**exp
            return y

    for Model, lr, momentum in ((Polynomial3, 1e-6, 0.0), (DynamicNet, 1e-8, 0.9)):
        random.seed(0)
        model = Model()
        criterion = torch.nn.MSELoss(reduction="sum")
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        for t in range(30):
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        res += [loss.item(), [name for name, _ in model.named_parameters()], model.string()[:6]]
    return res


def test_learning_pytorch_with_examples():
    ours, theirs = examples_tutorial(MC), examples_tutorial(TORCH)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if isinstance(a, (str, bool, tuple)) or (isinstance(a, list) and isinstance(a[0], str)):
            assert a == b
        else:
            same(a, b, rtol=2e-4, atol=1e-5)


# -- What is torch.nn really? -------------------------------------------------------------------
def mnist_subset() -> tuple[np.ndarray, ...]:
    root = Path(SHARED) / "data" / "mnist"
    if not root.is_dir():
        pytest.skip(f"MNIST files not at {root} (MINICNN_SHARED)")
    ds = mc.data.MNIST(root=root, train=False, download=False)
    x = (ds.data[:640].reshape(-1, 784) / 255.0).astype(np.float32)
    y = np.asarray(ds.targets[:640], dtype=np.int64)
    return x[:512], y[:512], x[512:], y[512:]


def nn_really_tutorial(L: types.SimpleNamespace, arrays: tuple[np.ndarray, ...], w0: np.ndarray, convs: dict) -> list:
    torch, nn, F, optim, data = L.torch, L.nn, L.F, L.optim, L.data
    TensorDataset, DataLoader = data.TensorDataset, data.DataLoader
    x_train, y_train, x_valid, y_valid = map(torch.tensor, arrays)
    n, c = x_train.shape
    record: list[Any] = [text(y_train.min()), text(y_train.max())]
    weights = torch.tensor(w0) / math.sqrt(784)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    bs = 64
    xb = x_train[0:bs]
    preds = model(xb)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    loss_func = nll
    yb = y_train[0:bs]

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    record += [preds[0], loss_func(preds, yb), accuracy(preds, yb)]
    lr, epochs = 0.5, 2
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    record += [loss_func(model(xb), yb), accuracy(model(xb), yb)]
    loss_func = F.cross_entropy

    def model(xb):  # noqa: F811 - the tutorial redefines it
        return xb @ weights + bias

    record.append(loss_func(model(xb), yb))

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.tensor(w0) / math.sqrt(784))
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, xb):
            return xb @ self.weights + self.bias

    model = Mnist_Logistic()

    def fit():
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)
                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * lr
                    model.zero_grad()

    fit()
    record.append(loss_func(model(xb), yb))

    class Mnist_Logistic2(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 10)

        def forward(self, xb):
            return self.lin(xb)

    def get_model():
        model = Mnist_Logistic2()
        model.load_state_dict({"lin.weight": torch.tensor(w0.T.copy()), "lin.bias": torch.zeros(10)})
        return model, optim.SGD(model.parameters(), lr=lr)

    model, opt = get_model()
    train_ds = TensorDataset(x_train, y_train)
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            xb, yb = train_ds[i * bs : i * bs + bs]
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
    record.append(loss_func(model(xb), yb))
    train_dl = DataLoader(train_ds, batch_size=bs)
    valid_ds = TensorDataset(x_valid, y_valid)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):  # noqa: F811
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)
            model.eval()
            with torch.no_grad():
                losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            record.append(val_loss)

    model, opt = get_model()
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    class Mnist_CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))

    lr = 0.1
    model = Mnist_CNN()
    model.load_state_dict({k: torch.tensor(v) for k, v in convs.items()})
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(1, model, loss_func, opt, train_dl, valid_dl)

    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            return self.func(x)

    def preprocess(x, y):
        return x.view(-1, 1, 28, 28), y

    class WrappedDataLoader:
        def __init__(self, dl, func):
            self.dl = dl
            self.func = func

        def __len__(self):
            return len(self.dl)

        def __iter__(self):
            for b in self.dl:
                yield (self.func(*b))

    train_dl = WrappedDataLoader(DataLoader(train_ds, batch_size=bs), preprocess)
    valid_dl = WrappedDataLoader(DataLoader(valid_ds, batch_size=bs * 2), preprocess)
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    model.load_state_dict({k: torch.tensor(v) for k, v in _sequential_keys(convs).items()})
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(1, model, loss_func, opt, train_dl, valid_dl)
    record.append(len(train_dl))
    return record


def _sequential_keys(convs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mnist_CNN's conv1..3 weights under the nn.Sequential's keys 0, 2, 4."""
    return {f"{2 * (int(k[4]) - 1)}{k[5:]}": v for k, v in convs.items()}


def test_what_is_torch_nn_really():
    arrays = mnist_subset()
    rng = np.random.default_rng(8)
    w0 = rng.standard_normal((784, 10)).astype(np.float32)
    cnn = torch.nn.Sequential(*(torch.nn.Conv2d(i, o, 3) for i, o in ((1, 16), (16, 16), (16, 10))))
    convs = {f"conv{int(k[0]) + 1}{k[1:]}": v.detach().numpy() for k, v in cnn.state_dict().items()}
    ours, theirs = nn_really_tutorial(MC, arrays, w0, convs), nn_really_tutorial(TORCH, arrays, w0, convs)
    assert ours[:2] == theirs[:2] == ["tensor(0)", "tensor(9)"]
    assert len(ours) == len(theirs) == 15
    for a, b in zip(ours[2:], theirs[2:]):
        same(a, b, rtol=2e-4, atol=2e-5)
