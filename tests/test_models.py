"""The model zoo against torchvision (the oracle) and against the papers' numbers.

- parameter counts: the papers'/torchvision's published numbers and torchvision's counts
  computed live (torchvision models are built on the ``meta`` device: no memory, no init);
- state-dict keys and shapes equal torchvision's, so its weights load;
- forward equality with torchvision on the same weights (BN statistics randomised);
- LeNet-5 classic's special layers; ResNet's shortcut A; fully_convolutional;
- one SGD step per family lowers the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from conftest import devices, gpu_step_equals_cpu, n_params, rel_err, skipped_init

import minicnn as mc
from minicnn import models as M
from minicnn.nn import functional as F

# --------------------------------------------------------------------------------------
# helpers


def tv_meta(name: str, **kwargs: Any) -> torch.nn.Module:
    if name in ("googlenet", "inception_v3"):
        kwargs.setdefault("init_weights", False)
    with torch.device("meta"):
        return getattr(torchvision.models, name)(**kwargs)


def randomise_bn(model: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.num_features, generator=g) - 0.5)


def load_from_torchvision(ours: mc.nn.Module, tv: torch.nn.Module) -> None:
    ours.load_state_dict({k: v.numpy() for k, v in tv.state_dict().items()})


# --------------------------------------------------------------------------------------
# parameter counts, keys, shapes

TORCHVISION_MODELS = [
    ("alexnet", {}, 61_100_840),
    ("vgg11", {}, 132_863_336),
    ("vgg11_bn", {}, 132_868_840),
    ("vgg13", {}, 133_047_848),
    ("vgg13_bn", {}, 133_053_736),
    ("vgg16", {}, 138_357_544),
    ("vgg16_bn", {}, 138_365_992),
    ("vgg19", {}, 143_667_240),
    ("vgg19_bn", {}, 143_678_248),
    ("googlenet", {"aux_logits": True}, 13_004_888),
    ("googlenet", {"aux_logits": False}, 6_624_904),
    ("inception_v3", {"aux_logits": True}, 27_161_264),
    ("inception_v3", {"aux_logits": False}, 23_834_568),
    ("resnet18", {}, 11_689_512),
    ("resnet34", {}, 21_797_672),
    ("resnet50", {}, 25_557_032),
    ("resnet101", {}, 44_549_160),
    ("resnet152", {}, 60_192_808),
    ("mobilenet_v2", {}, 3_504_872),
]


@pytest.mark.parametrize("name, kwargs, expected", TORCHVISION_MODELS)
def test_torchvision_twin_counts_keys_and_shapes(name: str, kwargs: dict, expected: int) -> None:
    tv = tv_meta(name, **kwargs)
    with skipped_init():
        ours = getattr(M, name)(**kwargs)
    assert n_params(tv) == expected
    assert n_params(ours) == expected
    tv_sd, our_sd = tv.state_dict(), ours.state_dict()
    assert list(our_sd) == list(tv_sd)  # same keys in the same order
    for k, v in tv_sd.items():
        assert our_sd[k].shape == tuple(v.shape), k


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: M.lenet5(), 61_706),
        (lambda: M.lenet5(classic=True), 60_000),
        (lambda: M.alexnet(original=True), 60_965_224),
        (lambda: M.inception_v4(), 42_679_816),
        (lambda: M.inception_resnet_v2(), 55_843_464),
        (lambda: M.mobilenet_v1(), 4_231_976),
    ],
    ids=["lenet5", "lenet5_classic", "alexnet_2012", "inception_v4", "inception_resnet_v2", "mobilenet_v1"],
)
def test_published_counts(build: Any, expected: int) -> None:
    with skipped_init():
        assert n_params(build()) == expected


def test_inception_resnet_v1_count_from_the_paper() -> None:
    """Sum the layers of the paper's Figs. 14, 10, 7, 11, 12, 13 independently of the code:
    a conv+BN unit has cin*cout*kh*kw + 2*cout parameters, a residual 1x1 conv has a bias."""

    def cb(cin: int, cout: int, kh: int, kw: int | None = None) -> int:
        return cin * cout * kh * (kh if kw is None else kw) + 2 * cout

    stem = cb(3, 32, 3) + cb(32, 32, 3) + cb(32, 64, 3) + cb(64, 80, 1) + cb(80, 192, 3) + cb(192, 256, 3)
    a = cb(256, 32, 1) + cb(256, 32, 1) + cb(32, 32, 3) + cb(256, 32, 1) + 2 * cb(32, 32, 3) + 96 * 256 + 256
    red_a = cb(256, 384, 3) + cb(256, 192, 1) + cb(192, 192, 3) + cb(192, 256, 3)
    b = cb(896, 128, 1) + cb(896, 128, 1) + cb(128, 128, 1, 7) + cb(128, 128, 7, 1) + 256 * 896 + 896
    red_b = cb(896, 256, 1) + cb(256, 384, 3) + cb(896, 256, 1) + cb(256, 256, 3)
    red_b += cb(896, 256, 1) + cb(256, 256, 3) + cb(256, 256, 3)
    c = cb(1792, 192, 1) + cb(1792, 192, 1) + cb(192, 192, 1, 3) + cb(192, 192, 3, 1) + 384 * 1792 + 1792
    expected = stem + 5 * a + red_a + 10 * b + red_b + 5 * c + 1792 * 1000 + 1000
    with skipped_init():
        assert n_params(M.inception_resnet_v1()) == expected


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnet_shortcut_a_has_no_projection_parameters(name: str) -> None:
    tv = tv_meta(name)
    projections = sum(p.numel() for k, p in tv.named_parameters() if ".downsample." in k)
    with skipped_init():
        a = getattr(M, name)(shortcut="A")
    assert projections > 0
    assert n_params(a) == n_params(tv) - projections
    assert not any(".downsample." in k for k in a.state_dict())
    with pytest.raises(ValueError, match="shortcut"):
        M.resnet18(shortcut="C")


def test_num_classes_and_width_mult() -> None:
    with skipped_init():
        assert M.vgg11(num_classes=7).classifier[6].out_features == 7
        assert M.lenet5().classifier[4].out_features == 10  # LeNet's default is 10
        assert M.resnet18(num_classes=3).fc.out_features == 3
        for w in (0.5, 0.75):  # torchvision's rounding of the widths
            assert n_params(M.mobilenet_v2(width_mult=w)) == n_params(tv_meta("mobilenet_v2", width_mult=w))
        # MobileNet v1 at width 0.5 has (about) a quarter of the convolution parameters
        full, half = M.mobilenet_v1(num_classes=10), M.mobilenet_v1(num_classes=10, width_mult=0.5)
        conv = [n_params(m.features) for m in (full, half)]
        assert 0.24 < conv[1] / conv[0] < 0.27


# --------------------------------------------------------------------------------------
# forward equality with torchvision

FORWARD_CASES = [
    ("alexnet", {}, 63),
    ("vgg11_bn", {}, 32),
    ("googlenet", {"aux_logits": True}, 32),
    ("inception_v3", {"aux_logits": True}, 75),
    ("resnet18", {}, 32),
    ("resnet50", {}, 32),
    ("mobilenet_v2", {}, 32),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs, size", FORWARD_CASES)
def test_forward_equals_torchvision(name: str, kwargs: dict, size: int) -> None:
    torch.manual_seed(0)
    if name in ("googlenet", "inception_v3"):
        kwargs = {**kwargs, "init_weights": True}
    tv = getattr(torchvision.models, name)(num_classes=10, **kwargs).eval()
    randomise_bn(tv)
    with skipped_init():
        ours = getattr(M, name)(num_classes=10, **{k: v for k, v in kwargs.items() if k != "init_weights"})
    load_from_torchvision(ours, tv)
    ours.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        ref = tv(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        out = ours(mc.tensor(x))
    assert isinstance(out, mc.Tensor)  # eval mode: plain logits, no auxiliary outputs
    assert out.shape == (2, 10)
    assert rel_err(out.numpy(), ref) < 1e-4


@pytest.mark.slow
def test_googlenet_training_outputs_equal_torchvision() -> None:
    """Training mode (batch statistics; dropout off): (logits, aux_logits2, aux_logits1)."""
    torch.manual_seed(1)
    tv = torchvision.models.googlenet(num_classes=10, aux_logits=True, init_weights=True, dropout=0.0, dropout_aux=0.0)
    with skipped_init():
        ours = M.googlenet(num_classes=10, dropout=0.0, dropout_aux=0.0)
    load_from_torchvision(ours, tv)
    tv.train()
    ours.train()
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32)
    tv64 = torchvision.models.googlenet(
        num_classes=10, aux_logits=True, init_weights=False, dropout=0.0, dropout_aux=0.0
    )
    tv64.load_state_dict(tv.state_dict())
    tv64.double().train()
    with torch.no_grad():
        ref = tv64(torch.from_numpy(x).double())  # (before tv: its running statistics are compared below)
        tv(torch.from_numpy(x))
    with mc.no_grad():
        out = ours(mc.tensor(x))
    assert isinstance(out, M.GoogLeNetOutputs) and out._fields == ("logits", "aux_logits2", "aux_logits1")
    # against torch in float64: batch norm over 2 values per channel on the 1x1 maps amplifies
    # float32 rounding, so torch's float32 logits are 7.1e-5 off (ours 6.7e-5) and the two differ by 1.1e-4
    for a, b in zip(out, ref):
        assert rel_err(a.numpy(), b.numpy()) < 1e-4
    # batch norm in training mode updated the running statistics like torch's
    sd = ours.state_dict()
    assert np.allclose(sd["conv1.bn.running_mean"], tv.conv1.bn.running_mean.numpy(), rtol=1e-4, atol=1e-6)


def test_inception_v3_aux_head_equals_torchvision() -> None:
    """The auxiliary head needs the 17x17 grid of a 299x299 input: run it on such a map."""
    torch.manual_seed(2)
    tv = torchvision.models.inception.InceptionAux(768, 10).eval()
    randomise_bn(tv)
    with skipped_init():
        ours = M.inception.InceptionAux(768, 10).eval()
    load_from_torchvision(ours, tv)
    x = np.random.default_rng(13).standard_normal((2, 768, 17, 17)).astype(np.float32)
    with torch.no_grad():
        ref = tv(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        assert rel_err(ours(mc.tensor(x)).numpy(), ref) < 1e-4


def test_transform_input_matches_torchvision() -> None:
    torch.manual_seed(0)
    tvm = torchvision.models.googlenet(num_classes=10, aux_logits=False, transform_input=True, init_weights=False)
    tvm.eval()
    with skipped_init():
        ours = M.googlenet(num_classes=10, aux_logits=False, transform_input=True).eval()
    load_from_torchvision(ours, tvm)
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        ref = tvm(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        assert rel_err(ours(mc.tensor(x)).numpy(), ref) < 1e-4


def test_googlenet_2014_layout() -> None:
    """The published network: LRN, real 5x5 branches, conv biases, no batch norm; its
    auxiliary heads pool a 14x14 map 5x5/3 to 4x4 (so they need the native 224 input)."""
    mc.manual_seed(5)
    net = M.googlenet(num_classes=10, original=True)
    kinds = {type(m).__name__ for m in net.modules()}
    assert "LocalResponseNorm" in kinds and "BatchNorm2d" not in kinds
    assert net.inception3a.branch3[1].conv.kernel_size in (5, (5, 5))
    assert net.inception3a.branch1.conv.bias is not None
    with mc.no_grad():
        aux = net.aux1(mc.randn(2, 512, 14, 14))
    assert aux.shape == (2, 10)


# --------------------------------------------------------------------------------------
# LeNet-5, classic

# Table I of LeCun et al. 1998, typed from the paper: rows are S2 maps, columns C3 maps.
TABLE_I = [
    "X   XXX  XXXX XX",
    "XX   XXX  XXXX X",
    "XXX   XXX  X XXX",
    " XXX  XXXX  X XX",
    "  XXX  XXXX XX X",
    "   XXX  XXXX XXX",
]


def test_lenet_classic_layers() -> None:
    mc.manual_seed(0)
    net = M.lenet5(classic=True)
    f = net.features
    expected = {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48_120}
    for name, count in expected.items():
        assert n_params(getattr(f, name)) == count, name
    assert n_params(net.F6) == 10_164 and n_params(net.output) == 0
    # the connection table of C3 is Table I
    dense = f.C3.dense_weight().numpy()
    connected = np.abs(dense).sum(axis=(2, 3)) > 0  # (16 C3 maps, 6 S2 maps)
    table = np.array([[c == "X" for c in row] for row in TABLE_I])  # (6, 16)
    assert (connected == table.T).all()
    # the RBF prototypes are +-1 bitmaps held in a buffer, not trained
    assert "output.prototypes" in net.state_dict()
    assert all("prototypes" not in k for k, _ in net.named_parameters())
    protos = net.output.prototypes.numpy()
    assert protos.shape == (10, 84) and set(np.unique(protos)) == {-1.0, 1.0}
    assert len({p.tobytes() for p in protos}) == 10
    # LeCun's squashing: f(1) = 1, f(-1) = -1 (to 4 decimals)
    act = net.features.C1_act(mc.tensor(np.array([1.0, -1.0, 0.0], dtype=np.float32))).numpy()
    assert np.allclose(act, [1.0, -1.0, 0.0], atol=1e-4)


def test_lenet_classic_forward_matches_torch_composition() -> None:
    """The classic network computed with torch from the same weights (dense masked C3)."""
    mc.manual_seed(1)
    net = M.lenet5(classic=True)
    x = np.random.default_rng(4).standard_normal((3, 1, 28, 28)).astype(np.float32)
    sd = {k: torch.from_numpy(v) for k, v in net.state_dict().items()}
    c3 = torch.from_numpy(net.features.C3.dense_weight().numpy())

    def sq(a: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(2.0 * a / 3.0)

    def sub(a: torch.Tensor, p: str) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(a, 2) * sd[p + ".weight"].view(1, -1, 1, 1) + sd[p + ".bias"].view(
            1, -1, 1, 1
        )

    t = torch.nn.functional.pad(torch.from_numpy(x), (2, 2, 2, 2))
    t = sq(torch.nn.functional.conv2d(t, sd["features.C1.weight"], sd["features.C1.bias"]))
    t = sq(sub(t, "features.S2"))
    t = sq(torch.nn.functional.conv2d(t, c3, sd["features.C3.bias"]))
    t = sq(sub(t, "features.S4"))
    t = sq(torch.nn.functional.conv2d(t, sd["features.C5.weight"], sd["features.C5.bias"])).flatten(1)
    t = sq(t @ sd["F6.weight"].T + sd["F6.bias"])
    ref = -((t[:, None, :] - sd["output.prototypes"][None]) ** 2).sum(-1)
    out = net(mc.tensor(x)).numpy()
    assert out.shape == (3, 10)
    assert rel_err(out, ref.numpy()) < 1e-5


def test_partial_conv_gradient_matches_masked_dense_conv() -> None:
    mc.manual_seed(2)
    c3 = M.lenet.PartialConv2d(6, M.lenet.C3_TABLE, kernel_size=5)
    c3.to(np.float64)
    x = np.random.default_rng(5).standard_normal((2, 6, 9, 9))
    xt = mc.tensor(x, requires_grad=True)
    y = c3(xt)
    g = np.random.default_rng(6).standard_normal(y.shape)
    (y * mc.tensor(g)).sum().backward()
    w = torch.tensor(c3.dense_weight().numpy(), requires_grad=True)
    xr = torch.tensor(x, requires_grad=True)
    yr = torch.nn.functional.conv2d(xr, w, torch.from_numpy(c3.bias.numpy()))
    (yr * torch.from_numpy(g)).sum().backward()
    assert np.allclose(y.numpy(), yr.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert np.allclose(xt.grad.numpy(), xr.grad.numpy(), rtol=1e-10, atol=1e-12)
    index = c3.index.numpy()
    dense_grad = w.grad.numpy()
    for o in range(16):
        for i in range(6):
            if index[o, i] < c3.connections:
                assert np.allclose(c3.weight.grad.numpy()[index[o, i]], dense_grad[o, i], rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------
# ResNet shortcut A


def test_zero_pad_shortcut() -> None:
    block = M.resnet.ZeroPadShortcut(4, 8, stride=2)
    x = np.random.default_rng(7).standard_normal((2, 4, 5, 5)).astype(np.float32)
    out = block(mc.tensor(x)).numpy()
    ref = torch.nn.functional.pad(torch.from_numpy(x)[:, :, ::2, ::2], (0, 0, 0, 0, 0, 4)).numpy()
    assert out.shape == (2, 8, 3, 3)
    assert np.array_equal(out, ref)


# --------------------------------------------------------------------------------------
# fully_convolutional


def test_fully_convolutional_lenet() -> None:
    mc.manual_seed(3)
    net = M.lenet5().eval()
    fcn = mc.nn.utils.fully_convolutional(net)
    assert fcn.stride == 4
    assert not any(isinstance(m, mc.nn.Linear) for m in fcn.modules())
    x = np.random.default_rng(8).standard_normal((2, 1, 28, 28)).astype(np.float32)
    with mc.no_grad():
        logits = net(mc.tensor(x)).numpy()
        scores = fcn(mc.tensor(x)).numpy()
    assert scores.shape == (2, 10, 1, 1)
    assert np.allclose(scores[:, :, 0, 0], logits, rtol=1e-5, atol=1e-6)
    # 36x36: a 3x3 map; cell (i, j) is the network on the crop at (4i, 4j). The first conv
    # pads each crop with 2 zero pixels where the big image has real ones, so the rows and
    # columns just around the crops (2, 3, 6, 7, 28, 29, 32, 33) are set to zero.
    big = np.random.default_rng(9).standard_normal((2, 1, 36, 36)).astype(np.float32)
    gutters = [2, 3, 6, 7, 28, 29, 32, 33]
    big[:, :, gutters, :] = 0
    big[:, :, :, gutters] = 0
    with mc.no_grad():
        scores = fcn(mc.tensor(big)).numpy()
        assert scores.shape == (2, 10, 3, 3)
        for i in range(3):
            for j in range(3):
                crop = np.ascontiguousarray(big[:, :, 4 * i : 4 * i + 28, 4 * j : 4 * j + 28])
                assert np.allclose(scores[:, :, i, j], net(mc.tensor(crop)).numpy(), rtol=1e-5, atol=1e-5)
    # the original model is unchanged and still a classifier
    assert isinstance(net.classifier[0], mc.nn.Linear)


@pytest.mark.slow
def test_fully_convolutional_alexnet() -> None:
    mc.manual_seed(4)
    net = M.alexnet(num_classes=10).eval()
    fcn = mc.nn.utils.fully_convolutional(net)
    assert fcn.stride == 32
    x = np.random.default_rng(10).standard_normal((1, 3, 224, 224)).astype(np.float32)
    with mc.no_grad():
        logits = net(mc.tensor(x)).numpy()
        assert rel_err(fcn(mc.tensor(x)).numpy()[:, :, 0, 0], logits) < 1e-4
        big = np.random.default_rng(11).standard_normal((1, 3, 256, 256)).astype(np.float32)
        assert fcn(mc.tensor(big)).shape == (1, 10, 2, 2)


def test_fully_convolutional_rejects_what_it_cannot_convert() -> None:
    # VGG's layout where the adaptive pool is not the identity at the given size (15x15 -> 7x7)
    net = mc.nn.Module()
    net.features = mc.nn.Sequential(mc.nn.Conv2d(3, 4, 3), mc.nn.MaxPool2d(2))
    net.avgpool = mc.nn.AdaptiveAvgPool2d((7, 7))
    net.classifier = mc.nn.Sequential(mc.nn.Linear(4 * 7 * 7, 10))
    with pytest.raises(ValueError, match="avgpool"):
        mc.nn.utils.fully_convolutional(net, (3, 32, 32))
    net.avgpool = mc.nn.Identity()
    net.classifier = mc.nn.Sequential(mc.nn.Linear(4 * 15 * 15, 10), mc.nn.BatchNorm1d(10))
    with pytest.raises(TypeError, match="BatchNorm1d"):
        mc.nn.utils.fully_convolutional(net, (3, 32, 32))
    with pytest.raises(TypeError, match="features"):
        mc.nn.utils.fully_convolutional(M.resnet18(num_classes=10))


# --------------------------------------------------------------------------------------
# one SGD step per family lowers the loss


def _loss(model: mc.nn.Module, x: mc.Tensor, y: mc.Tensor) -> mc.Tensor:
    out = model(x)
    if isinstance(out, M.GoogLeNetOutputs):  # torchvision's recipe: aux losses weighted 0.3
        return F.cross_entropy(out.logits, y) + 0.3 * (
            F.cross_entropy(out.aux_logits1, y) + F.cross_entropy(out.aux_logits2, y)
        )
    if isinstance(out, M.InceptionOutputs):
        return F.cross_entropy(out.logits, y) + 0.4 * F.cross_entropy(out.aux_logits, y)
    return F.cross_entropy(out, y)


SGD_CASES = [
    ("lenet5", lambda: M.lenet5(), 28, 1),
    ("lenet5_classic", lambda: M.lenet5(classic=True), 28, 1),
    ("alexnet", lambda: M.alexnet(num_classes=10), 63, 3),
    ("alexnet_2012", lambda: M.alexnet(num_classes=10, original=True), 227, 3),
    ("vgg11", lambda: M.vgg11(num_classes=10), 32, 3),
    ("googlenet", lambda: M.googlenet(num_classes=10), 32, 3),
    ("googlenet_2014", lambda: M.googlenet(num_classes=10, original=True, aux_logits=False), 64, 3),
    ("inception_v3", lambda: M.inception_v3(num_classes=10, aux_logits=False), 75, 3),
    ("inception_v4", lambda: M.inception_v4(num_classes=10), 75, 3),
    ("inception_resnet_v1", lambda: M.inception_resnet_v1(num_classes=10), 75, 3),
    ("inception_resnet_v2", lambda: M.inception_resnet_v2(num_classes=10), 75, 3),
    ("resnet18_B", lambda: M.resnet18(num_classes=10), 32, 3),
    ("resnet18_A", lambda: M.resnet18(num_classes=10, shortcut="A"), 32, 3),
    ("mobilenet_v1", lambda: M.mobilenet_v1(num_classes=10), 32, 3),
    ("mobilenet_v2", lambda: M.mobilenet_v2(num_classes=10), 32, 3),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, build, size, channels", SGD_CASES, ids=[c[0] for c in SGD_CASES])
def test_one_sgd_step_lowers_the_loss(name: str, build: Any, size: int, channels: int) -> None:
    mc.manual_seed(0)
    model = build()
    model.train()  # auxiliary heads on; batch norm on its running statistics and dropout off, so
    for m in model.modules():  # the loss is a deterministic, smooth-enough function of the weights
        if isinstance(m, (mc.nn.Dropout, mc.nn.Dropout2d, mc.nn.BatchNorm2d, mc.nn.BatchNorm1d)):
            m.eval()
    rng = np.random.default_rng(12)
    x = mc.tensor(rng.standard_normal((2, channels, size, size)).astype(np.float32))
    y = mc.tensor(np.array([1, 7]))
    params = list(model.parameters())
    loss0 = _loss(model, x, y)
    loss0.backward()
    grads = [p.grad for p in params]
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads), "every parameter gets a gradient"
    # a step whose first-order decrease is 1 % of the loss: lr * |g|^2 = 0.01 * loss
    sq_norm = sum(float(np.vdot(g.array, g.array)) for g in grads)
    mc.optim.SGD(params, lr=0.01 * loss0.item() / sq_norm).step()
    with mc.no_grad():
        loss1 = _loss(model, x, y)
    assert np.isfinite(loss0.item()) and loss1.item() < loss0.item()


# --------------------------------------------------------------------------------------
# every family on the GPU computes what it computes on the CPU


@pytest.mark.slow
@pytest.mark.parametrize("device", devices()[1:])  # the "cuda" case only: the CPU is the reference
@pytest.mark.parametrize("name, build, size, channels", SGD_CASES, ids=[c[0] for c in SGD_CASES])
def test_family_on_the_gpu_equals_the_cpu(device: str, name: str, build: Any, size: int, channels: int) -> None:
    """Loss, input gradient and every parameter gradient of one training-mode forward and
    backward (auxiliary heads on; dropout off; batch norm on its running statistics: batch
    statistics of 2 images at 1x1 resolution amplify float rounding), with
    ``model.to(device)``, equal the CPU's to float32 tolerance."""
    gpu_step_equals_cpu(
        build,
        device,
        (2, channels, size, size),
        eval_kinds=(mc.nn.Dropout, mc.nn.Dropout2d, mc.nn.BatchNorm2d, mc.nn.BatchNorm1d),
        loss=_loss,
    )
