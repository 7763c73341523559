"""PyTorch's model-tooling tutorials, ported by replacing ``import torch`` with
``import minicnn as torch``, run at small scale side by side with real torch from the same
weights and data: "Neural Transfer Using PyTorch" (style transfer with LBFGS), "Transfer
Learning for Computer Vision" (a frozen resnet18 with a new head), forward/backward hooks for
feature extraction (also the global ``torch.nn.modules.module`` hooks), the "Pruning Tutorial"
(``torch.nn.utils.prune``), the "Parametrizations Tutorial" and the "Knowledge Distillation
Tutorial". Each tutorial function below is written once and run with either library.

The transfer-learning tutorial reads its images with torchvision's ``datasets.ImageFolder``
(Pillow); minicnn has no image decoder, so the port feeds the same tensors through
``TensorDataset`` / ``DataLoader``.
"""

from __future__ import annotations

import copy

import minicnn.nn.utils.parametrize  # noqa: F401
import minicnn.nn.utils.prune  # noqa: F401
import numpy as np
import pytest
import torch as real_torch
import torch.nn.utils.parametrize  # noqa: F401  (torch's submodules are imported explicitly)
import torch.nn.utils.prune  # noqa: F401
import torchvision
from conftest import skipped_init

import minicnn


@pytest.fixture(autouse=True, scope="module")
def same_thread_count():
    """minicnn's BLAS at torch's thread count (conftest sets torch's): a fair comparison, and
    small matrix products are not slowed down by BLAS threads competing on a loaded machine."""
    before = minicnn.get_num_threads()
    minicnn.set_num_threads(real_torch.get_num_threads())
    yield
    minicnn.set_num_threads(before)


def copy_weights(ours, theirs) -> None:
    """Load torch's state dict into the minicnn model (strict: the same keys)."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def close(a, b, rtol: float = 1e-4, atol: float = 1e-5, msg: str = "") -> None:
    as_np = [x.detach().numpy() if hasattr(x, "detach") else np.asarray(x) for x in (a, b)]
    np.testing.assert_allclose(as_np[0], as_np[1], rtol=rtol, atol=atol, err_msg=msg)


# == 1. Neural Transfer Using PyTorch ==============================================================
def style_transfer(torch, cnn, content_img, style_img, input_img, num_steps=0):
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim

    class ContentLoss(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    def gram_matrix(input):
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = torch.mm(features, features.t())
        return G.div(a * b * c * d)

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super().__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            G = gram_matrix(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.mean = torch.tensor(mean).view(-1, 1, 1)
            self.std = torch.tensor(std).view(-1, 1, 1)

        def forward(self, img):
            return (img - self.mean) / self.std

    cnn_normalization_mean = [0.485, 0.456, 0.406]
    cnn_normalization_std = [0.229, 0.224, 0.225]
    content_layers = ["conv_4"]
    style_layers = ["conv_1", "conv_2", "conv_3", "conv_4", "conv_5"]

    normalization = Normalization(cnn_normalization_mean, cnn_normalization_std)
    content_losses, style_losses = [], []
    model = nn.Sequential(normalization)
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu_{i}"
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool_{i}"
        elif isinstance(layer, nn.BatchNorm2d):
            name = f"bn_{i}"
        else:
            raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")
        model.add_module(name, layer)
        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module(f"content_loss_{i}", content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module(f"style_loss_{i}", style_loss)
            style_losses.append(style_loss)
    for i in range(len(model) - 1, -1, -1):
        if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
            break
    model = model[: (i + 1)]

    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = optim.LBFGS([input_img])
    run, history = [0], []
    while run[0] <= num_steps:

        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= 1000000
            content_score *= 1
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            history.append((style_score.item(), content_score.item()))
            return style_score + content_score

        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    return model, input_img, history


def test_neural_style_transfer_like_torch():
    """vgg19's features (random weights), 16x16 images: the trimmed model, then one LBFGS step
    (20 closure evaluations) with the same losses at every evaluation."""
    cfg = torchvision.models.vgg.cfgs["E"]  # vgg19().features, without building the classifier
    real_torch.manual_seed(0)
    theirs = torchvision.models.vgg.make_layers(cfg).eval()
    with skipped_init():
        ours = minicnn.models.vgg.make_layers(minicnn.models.vgg.CONFIGS["E"]).eval()
    copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    content, style = rng.random((2, 1, 3, 16, 16), dtype=np.float32)
    t_model, t_img, t_hist = style_transfer(
        real_torch, theirs, real_torch.tensor(content), real_torch.tensor(style), real_torch.tensor(content).clone()
    )
    m_model, m_img, m_hist = style_transfer(
        minicnn, ours, minicnn.tensor(content), minicnn.tensor(style), minicnn.tensor(content).clone()
    )
    assert repr(m_model) == repr(t_model)
    assert len(m_hist) == len(t_hist) == 20
    close(np.array(m_hist[:6]), np.array(t_hist[:6]), rtol=1e-3, atol=1e-9, msg="first LBFGS evaluations")
    close(np.array(m_hist), np.array(t_hist), rtol=3e-2, atol=1e-7, msg="all LBFGS evaluations")
    close(m_img, t_img, atol=3e-2, msg="stylised image")
    assert not m_img.requires_grad or m_img.is_leaf


# == 2. Transfer Learning for Computer Vision (ConvNet as fixed feature extractor) ================
def train_model(torch, model, criterion, optimizer, scheduler, dataloaders, dataset_sizes, tmp, num_epochs=2):
    torch.save(model.state_dict(), tmp)
    best_acc = 0.0
    history = []
    for _epoch in range(num_epochs):
        for phase in ["train", "val"]:
            if phase == "train":
                model.train()
            else:
                model.eval()
            running_loss = 0.0
            running_corrects = 0
            for inputs, labels in dataloaders[phase]:
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(outputs, labels)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                running_loss += loss.item() * inputs.size(0)
                running_corrects += torch.sum(preds == labels.data)
            if phase == "train":
                scheduler.step()
            epoch_loss = running_loss / dataset_sizes[phase]
            epoch_acc = running_corrects.double() / dataset_sizes[phase]
            dtype = str(epoch_acc.dtype).replace("torch.", "")
            history.append((epoch_loss, epoch_acc.item(), dtype, f"{phase} Acc: {epoch_acc:.4f}"))
            if phase == "val" and epoch_acc > best_acc:
                best_acc = epoch_acc
                torch.save(model.state_dict(), tmp)
    model.load_state_dict(torch.load(tmp, weights_only=True))
    return model, history


def transfer_learning(torch, model_conv, fc_state, data, tmp):
    nn, optim, lr_scheduler = torch.nn, torch.optim, torch.optim.lr_scheduler
    for param in model_conv.parameters():
        param.requires_grad = False
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, 2)
    model_conv.fc.load_state_dict({k: torch.tensor(v) for k, v in fc_state.items()})
    criterion = nn.CrossEntropyLoss()
    optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.001, momentum=0.9)
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=1, gamma=0.1)
    image_datasets = {
        x: torch.utils.data.TensorDataset(torch.tensor(data[x][0]), torch.tensor(data[x][1])) for x in data
    }
    dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=4, shuffle=False) for x in data}
    dataset_sizes = {x: len(image_datasets[x]) for x in data}
    best_wts = copy.deepcopy(model_conv.state_dict())
    model_conv, history = train_model(
        torch, model_conv, criterion, optimizer_conv, exp_lr_scheduler, dataloaders, dataset_sizes, tmp
    )
    return model_conv, history, best_wts, exp_lr_scheduler.get_last_lr()


def test_transfer_learning_fixed_feature_extractor_like_torch(tmp_path):
    real_torch.manual_seed(0)
    theirs = torchvision.models.resnet18()
    ours = minicnn.models.resnet18()
    copy_weights(ours, theirs)
    fc_state = {k: v.numpy() for k, v in real_torch.nn.Linear(512, 2).state_dict().items()}
    rng = np.random.default_rng(0)
    data = {
        "train": (rng.standard_normal((8, 3, 32, 32), dtype=np.float32), rng.integers(0, 2, 8)),
        "val": (rng.standard_normal((4, 3, 32, 32), dtype=np.float32), rng.integers(0, 2, 4)),
    }
    t_model, t_hist, t_wts, t_lr = transfer_learning(real_torch, theirs, fc_state, data, tmp_path / "t.pt")
    m_model, m_hist, m_wts, m_lr = transfer_learning(minicnn, ours, fc_state, data, tmp_path / "m.pt")
    assert [h[2] for h in m_hist] == [h[2] for h in t_hist] == ["float64"] * 4
    assert [h[3] for h in m_hist] == [h[3] for h in t_hist]  # the tutorial's f"{epoch_acc:.4f}"
    close(np.array([h[:2] for h in m_hist]), np.array([h[:2] for h in t_hist]), msg="epoch loss / accuracy")
    close(np.array(m_lr), np.array(t_lr))
    assert list(m_wts) == list(t_wts)
    for k in ("fc.weight", "fc.bias", "layer4.1.bn2.running_var"):
        close(m_model.state_dict()[k], t_model.state_dict()[k], msg=k)
    assert not m_model.layer1[0].conv1.weight.requires_grad and m_model.fc.weight.requires_grad


# == 3. Forward and backward hooks for feature extraction ============================================
def extract_features(torch, model, x):
    features, grads, inputs_seen, order = {}, {}, [], []

    def get_activation(name):
        def hook(model, input, output):
            features[name] = output.detach()

        return hook

    handles = [
        model.layer1[0].conv1.register_forward_hook(get_activation("layer1.0.conv1")),
        model.get_submodule("layer2").register_forward_hook(get_activation("layer2")),
        model.avgpool.register_forward_hook(get_activation("avgpool")),
        model.fc.register_forward_pre_hook(lambda m, args: inputs_seen.append(tuple(args[0].shape))),
        model.layer4.register_forward_pre_hook(lambda m, args: (args[0] * 0.5,)),
        model.layer3[1].register_full_backward_hook(
            lambda m, gin, gout: grads.update(gin=gin[0].detach(), gout=gout[0].detach())
        ),
    ]
    global_hook = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: order.append(type(m).__name__))
    out = model(x)
    global_hook.remove()
    out.sum().backward()
    for h in handles:
        h.remove()
    names = [n for n, _ in model.named_modules()]
    return out, model(x), features, grads, inputs_seen, order, names


def test_feature_extraction_hooks_like_torch():
    real_torch.manual_seed(0)
    theirs = torchvision.models.resnet18().eval()
    ours = minicnn.models.resnet18().eval()
    copy_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32), dtype=np.float32)
    t_in, m_in = real_torch.tensor(x, requires_grad=True), minicnn.tensor(x, requires_grad=True)
    t = extract_features(real_torch, theirs, t_in)
    m = extract_features(minicnn, ours, m_in)
    close(m[0], t[0], msg="hooked output")
    close(m[1], t[1], msg="output after removing the hooks")
    assert sorted(m[2]) == sorted(t[2])
    for k in t[2]:
        close(m[2][k], t[2][k], msg=k)
    for k in ("gin", "gout"):
        close(m[3][k], t[3][k], msg=k)
    close(m_in.grad, t_in.grad, msg="input gradient")
    assert m[4] == t[4] == [(2, 512)]
    assert m[5] == t[5] and m[6] == t[6]


# == 4. Pruning Tutorial ==============================================================================
def lenet(torch):
    nn, F = torch.nn, torch.nn.functional

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 3)
            self.conv2 = nn.Conv2d(6, 16, 3)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return LeNet()


def pruning_tutorial(torch, model, x):
    prune = torch.nn.utils.prune
    log = []
    module = model.conv1
    log.append([n for n, _ in module.named_parameters()])
    other = copy.deepcopy(module)  # random pruning draws other entries in minicnn: on a copy
    prune.random_unstructured(other, name="weight", amount=0.3)
    log.append([n for n, _ in other.named_parameters()])
    log.append([n for n, _ in other.named_buffers()])
    log.append(int((other.weight_mask == 0).sum()))
    log.append([type(h).__name__ for h in other._forward_pre_hooks.values()])
    prune.l1_unstructured(module, name="weight", amount=0.3)
    prune.l1_unstructured(module, name="bias", amount=3)
    log.append(module.bias_mask.detach().numpy().copy())
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
    log.append(module.weight_mask.detach().numpy().copy())
    for hook in module._forward_pre_hooks.values():
        if hook._tensor_name == "weight":
            break
    log.append([type(m).__name__ for m in hook])
    log.append(list(model.state_dict().keys()))
    prune.remove(module, "weight")
    log.append([n for n, _ in module.named_parameters()])
    log.append(module.weight.detach().numpy().copy())
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d) and name != "conv1":
            prune.l1_unstructured(m, name="weight", amount=0.2)
        elif isinstance(m, torch.nn.Linear):
            prune.l1_unstructured(m, name="weight", amount=0.4)
    log.append(list(dict(model.named_buffers()).keys()))
    parameters_to_prune = (
        (model.conv1, "weight"),
        (model.conv2, "weight"),
        (model.fc1, "weight"),
        (model.fc2, "weight"),
        (model.fc3, "weight"),
    )
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.2)
    for m, n in parameters_to_prune:
        log.append(float(torch.sum(getattr(m, n) == 0)))
        log.append(getattr(m, n + "_mask").detach().numpy().copy())

    class FooBarPruningMethod(prune.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask

    def foobar_unstructured(module, name):
        FooBarPruningMethod.apply(module, name)
        return module

    foobar_unstructured(model.fc3, name="bias")
    log.append(model.fc3.bias_mask.detach().numpy().copy())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        log.append(loss.item())
    log.append(model.fc1.weight_orig.grad.numpy().copy())
    log.append(prune.is_pruned(model))
    return log


def test_pruning_tutorial_like_torch():
    real_torch.manual_seed(0)
    theirs, ours = lenet(real_torch), lenet(minicnn)
    copy_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28), dtype=np.float32)
    t_log = pruning_tutorial(real_torch, theirs, real_torch.tensor(x))
    m_log = pruning_tutorial(minicnn, ours, minicnn.tensor(x))
    assert len(m_log) == len(t_log)
    for i, (a, b) in enumerate(zip(m_log, t_log)):
        if isinstance(b, (np.ndarray, float)):
            close(a, b, msg=f"entry {i}")
        else:
            assert a == b, f"entry {i}"


# == 5. Parametrizations Tutorial =====================================================================
def parametrizations_tutorial(torch, states, x, spd):
    nn = torch.nn
    parametrize = torch.nn.utils.parametrize
    log = []

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    class SkewSymmetric(nn.Module):
        def forward(self, X):
            A = X.triu(1)
            return A - A.transpose(-1, -2)

    class MatrixExponential(nn.Module):
        def forward(self, X):
            return torch.matrix_exp(X)

    class CayleyMap(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.register_buffer("Id", torch.eye(n))

        def forward(self, X):
            return torch.linalg.solve(self.Id - X, self.Id + X)

    def linear(i):
        layer = nn.Linear(3, 3)
        layer.load_state_dict({k: torch.tensor(v) for k, v in states[i].items()})
        return layer

    layer = linear(0)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    A = layer.weight
    log += [A, torch.dist(A, A.T).item(), list(layer.state_dict()), layer.parametrizations.weight.original]
    log += [type(layer).__name__, repr(layer)]
    layer.weight = torch.tensor(spd)  # right_inverse
    log += [layer.parametrizations.weight.original, layer.weight]

    layer_orthogonal = linear(1)
    parametrize.register_parametrization(layer_orthogonal, "weight", SkewSymmetric())
    parametrize.register_parametrization(layer_orthogonal, "weight", CayleyMap(3))
    X = layer_orthogonal.weight
    log += [X, (X.T @ X).detach()]
    layer_exp = linear(1)
    parametrize.register_parametrization(layer_exp, "weight", SkewSymmetric())
    parametrize.register_parametrization(layer_exp, "weight", MatrixExponential())
    with parametrize.cached():
        log.append((layer_exp.weight @ layer_exp.weight.T).detach())
    optimizer = torch.optim.Adam(layer_orthogonal.parameters(), lr=0.05)
    for _ in range(3):
        optimizer.zero_grad()
        loss = layer_orthogonal(torch.tensor(x)).pow(2).sum()
        loss.backward()
        optimizer.step()
        log.append(loss.item())
    log.append(layer_orthogonal.parametrizations.weight.original)
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    log += [layer.weight, type(layer).__name__]
    parametrize.remove_parametrizations(layer_orthogonal, "weight")
    log.append(layer_orthogonal.weight)
    layer_orth = nn.Linear(4, 3)
    layer_orth.load_state_dict({k: torch.tensor(v) for k, v in states[2].items()})
    torch.nn.utils.parametrizations.orthogonal(layer_orth)
    log += [layer_orth.weight, list(layer_orth.state_dict()), parametrize.is_parametrized(layer_orth)]
    return log


def test_parametrizations_tutorial_like_torch():
    real_torch.manual_seed(0)
    linears = [real_torch.nn.Linear(3, 3), real_torch.nn.Linear(3, 3), real_torch.nn.Linear(4, 3)]
    states = [{k: v.numpy() for k, v in m.state_dict().items()} for m in linears]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3), dtype=np.float32)
    spd = rng.random((3, 3), dtype=np.float32)
    spd = spd + spd.T
    t_log = parametrizations_tutorial(real_torch, states, x, spd)
    m_log = parametrizations_tutorial(minicnn, states, x, spd)
    assert len(m_log) == len(t_log)
    for i, (a, b) in enumerate(zip(m_log, t_log)):
        if isinstance(b, (real_torch.Tensor, float)):
            close(a, b, rtol=1e-4, atol=1e-6, msg=f"entry {i}")
        else:
            assert a == b, f"entry {i}"


# == 6. Knowledge Distillation Tutorial ===============================================================
def distillation_nets(torch, size):
    """The tutorial's DeepNN / LightNN and their variants for images of ``size`` (32 there)."""
    nn = torch.nn
    cells = (size // 4) ** 2

    class DeepNN(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 128, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv2d(128, 64, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
                nn.Conv2d(64, 64, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv2d(64, 32, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
            )
            self.classifier = nn.Sequential(
                nn.Linear(32 * cells, 512), nn.ReLU(), nn.Dropout(0.1), nn.Linear(512, num_classes)
            )

        def forward(self, x):
            x = self.features(x)
            x = torch.flatten(x, 1)
            return self.classifier(x)

    class LightNN(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 16, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
                nn.Conv2d(16, 16, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2),
            )
            self.classifier = nn.Sequential(
                nn.Linear(16 * cells, 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, num_classes)
            )

        def forward(self, x):
            x = self.features(x)
            x = torch.flatten(x, 1)
            return self.classifier(x)

    class ModifiedDeepNNCosine(DeepNN):
        def forward(self, x):
            x = self.features(x)
            flattened_conv_output = torch.flatten(x, 1)
            x = self.classifier(flattened_conv_output)
            flattened_conv_output_after_pooling = torch.nn.functional.avg_pool1d(flattened_conv_output, 2)
            return x, flattened_conv_output_after_pooling

    class ModifiedLightNNCosine(LightNN):
        def forward(self, x):
            x = self.features(x)
            flattened_conv_output = torch.flatten(x, 1)
            x = self.classifier(flattened_conv_output)
            return x, flattened_conv_output

    class ModifiedDeepNNRegressor(DeepNN):
        def forward(self, x):
            x = self.features(x)
            conv_feature_map = x
            x = torch.flatten(x, 1)
            x = self.classifier(x)
            return x, conv_feature_map

    class ModifiedLightNNRegressor(LightNN):
        def __init__(self, num_classes=10):
            super().__init__(num_classes)
            self.regressor = nn.Sequential(nn.Conv2d(16, 32, kernel_size=3, padding=1))

        def forward(self, x):
            x = self.features(x)
            regressor_output = self.regressor(x)
            x = torch.flatten(x, 1)
            x = self.classifier(x)
            return x, regressor_output

    return {
        "kd": (DeepNN, LightNN),
        "cosine": (ModifiedDeepNNCosine, ModifiedLightNNCosine),
        "regressor": (ModifiedDeepNNRegressor, ModifiedLightNNRegressor),
    }


def distill(torch, kind, teacher, student, batches, T=2, aux_weight=0.25, ce_loss_weight=0.75):
    nn, optim = torch.nn, torch.optim
    ce_loss = nn.CrossEntropyLoss()
    cosine_loss = nn.CosineEmbeddingLoss()
    mse_loss = nn.MSELoss()
    if kind == "regressor":
        optimizer = optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
    else:
        optimizer = optim.Adam(student.parameters(), lr=0.001)
    teacher.eval()
    student.train()
    losses = []
    for inputs, labels in batches:
        optimizer.zero_grad()
        with torch.no_grad():
            teacher_out = teacher(inputs)
        student_out = student(inputs)
        if kind == "kd":
            soft_targets = nn.functional.softmax(teacher_out / T, dim=-1)
            soft_prob = nn.functional.log_softmax(student_out / T, dim=-1)
            aux = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)
            student_logits = student_out
        elif kind == "cosine":
            student_logits, student_hidden = student_out
            aux = cosine_loss(student_hidden, teacher_out[1], target=torch.ones(inputs.size(0)))
        else:
            student_logits, regressor_feature_map = student_out
            aux = mse_loss(regressor_feature_map, teacher_out[1])
        loss = aux_weight * aux + ce_loss_weight * ce_loss(student_logits, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("kind", ["kd", "cosine", "regressor"])
def test_knowledge_distillation_like_torch(kind):
    """16x16 images (the tutorial's CIFAR-10 32x32 at a quarter of the cost); dropout off in
    the student so that both runs are deterministic."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4, 3, 16, 16), dtype=np.float32)
    Y = rng.integers(0, 10, (3, 4))
    real_torch.manual_seed(0)
    pairs = []
    for teacher_cls, student_cls in zip(distillation_nets(real_torch, 16)[kind], distillation_nets(minicnn, 16)[kind]):
        theirs, ours = teacher_cls(), student_cls()
        copy_weights(ours, theirs)
        pairs.append((theirs, ours))
    losses = []
    for lib, (teacher, student) in ((real_torch, (pairs[0][0], pairs[1][0])), (minicnn, (pairs[0][1], pairs[1][1]))):
        for m in student.modules():
            if isinstance(m, lib.nn.Dropout):
                m.p = 0.0
        batches = [(lib.tensor(X[i]), lib.tensor(Y[i])) for i in range(3)]
        losses.append(distill(lib, kind, teacher, student, batches))
    close(np.array(losses[1]), np.array(losses[0]), rtol=1e-5, msg=f"{kind} distillation losses")
