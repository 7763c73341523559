"""mc.summary: per-layer shapes, parameters, multiply-adds, receptive fields, depth.

Expected values come from the architecture formulae written out here, not from summary's
own output: conv multiply-adds = C_out * OH * OW * C_in * kh * kw / groups, linear = in * out;
receptive field through kernel k, stride s: rf += (k - 1) * jump, jump *= s.
"""

from __future__ import annotations

import pytest
import torch
import torchvision

import minicnn as mc
from minicnn import models as M
from minicnn.autograd import Function
from minicnn.models.vgg import CONFIGS, make_layers


def conv_macs(c_out: int, oh: int, ow: int, c_in: int, k: int, groups: int = 1) -> int:
    return c_out * oh * ow * c_in * k * k // groups


def test_lenet5_totals_and_rows(capsys: pytest.CaptureFixture[str]) -> None:
    mc.manual_seed(0)
    rows = mc.summary(M.lenet5(), (1, 28, 28))
    printed = capsys.readouterr().out
    assert "61,706" in printed and "features.0" in printed
    expected_macs = (
        conv_macs(6, 28, 28, 1, 5)  # C1, padding 2
        + conv_macs(16, 10, 10, 6, 5)  # C3
        + 400 * 120
        + 120 * 84
        + 84 * 10
    )
    assert rows.totals["params"] == 61_706
    assert rows.totals["multiply_adds"] == expected_macs == 416_520
    assert rows.totals["depth"] == 5
    assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
    by_name = {r["name"]: r for r in rows}
    assert by_name["features.0"]["output_shape"] == (1, 6, 28, 28)
    assert by_name["features.0"]["params"] == 6 * 25 + 6
    assert by_name["features.3"]["multiply_adds"] == conv_macs(16, 10, 10, 6, 5)
    # receptive field and jump along LeNet: conv5 -> 5, pool2 -> 6 (jump 2), conv5 -> 14, pool -> 16 (jump 4)
    rf = [(r["name"], r["receptive_field"], r["jump"]) for r in rows if r["receptive_field"] is not None]
    assert rf[0] == ("features.0", (5, 5), (1, 1))
    assert by_name["features.2"]["receptive_field"] == (6, 6) and by_name["features.2"]["jump"] == (2, 2)
    assert by_name["features.3"]["receptive_field"] == (14, 14)
    assert by_name["features.5"]["receptive_field"] == (16, 16) and by_name["features.5"]["jump"] == (4, 4)
    assert by_name["classifier.0"]["receptive_field"] is None  # no spatial axes after flatten
    assert rows.by_kind["conv 5x5"] == {"layers": 2, "params": 156 + 2416, "multiply_adds": 117_600 + 240_000}
    assert rows.by_kind["linear"]["layers"] == 3


def test_lenet5_classic_totals() -> None:
    mc.manual_seed(0)
    rows = mc.summary(M.lenet5(classic=True), (1, 28, 28), verbose=False)
    assert rows.totals["params"] == rows.totals["trainable_params"] == 60_000
    expected = (
        conv_macs(6, 28, 28, 1, 5)  # C1
        + 6 * 14 * 14  # S2: one multiply per unit
        + 10 * 10 * 60 * 25  # C3: 60 connected map pairs of 5x5
        + 16 * 5 * 5  # S4
        + conv_macs(120, 1, 1, 16, 5)  # C5
        + 120 * 84  # F6
        + 10 * 84  # RBF: one squared difference per prototype pixel
    )
    assert rows.totals["multiply_adds"] == expected
    assert rows.totals["depth"] == 7  # LeCun: "LeNet-5 comprises 7 layers, not counting the input"
    by_name = {r["name"]: r for r in rows}
    assert by_name["features.C5"]["receptive_field"] == (32, 32)  # C5 sees the whole 32x32 field


def test_vgg16_receptive_fields() -> None:
    """conv5_3 sees 196x196 pixels, pool5 212x212 (the figures in the notes)."""
    features = make_layers(CONFIGS["D"])
    rows = mc.summary(features, (3, 32, 32), verbose=False)
    convs = [r for r in rows if r["type"] == "Conv2d"]
    pools = [r for r in rows if r["type"] == "MaxPool2d"]
    assert len(convs) == 13 and len(pools) == 5
    rf, jump = 1, 1  # the formula, walked over configuration D
    for v in CONFIGS["D"]:
        rf, jump = (rf + jump, jump * 2) if v == "M" else (rf + 2 * jump, jump)
    assert convs[-1]["receptive_field"] == (196, 196) and convs[-1]["jump"] == (16, 16)
    assert pools[-1]["receptive_field"] == (212, 212) == (rf, rf) and pools[-1]["jump"] == (32, 32)
    assert rows.totals["depth"] == 13


def test_two_3x3_convolutions_see_what_one_5x5_sees() -> None:
    c = 4
    two = mc.nn.Sequential(mc.nn.Conv2d(c, c, 3, bias=False), mc.nn.ReLU(), mc.nn.Conv2d(c, c, 3, bias=False))
    one = mc.nn.Sequential(mc.nn.Conv2d(c, c, 5, bias=False))
    s_two = mc.summary(two, (c, 9, 9), verbose=False)
    s_one = mc.summary(one, (c, 9, 9), verbose=False)
    assert s_two[-1]["receptive_field"] == s_one[-1]["receptive_field"] == (5, 5)
    assert s_two[-1]["output_shape"] == s_one[-1]["output_shape"] == (1, c, 5, 5)
    assert s_two.totals["params"] / (c * c) == 18 and s_one.totals["params"] / (c * c) == 25
    # and 1x3 followed by 3x1 sees what one 3x3 sees with 6 instead of 9 weights per pair
    fact = mc.nn.Sequential(mc.nn.Conv2d(c, c, (1, 3), bias=False), mc.nn.Conv2d(c, c, (3, 1), bias=False))
    s_fact = mc.summary(fact, (c, 9, 9), verbose=False)
    assert s_fact[0]["receptive_field"] == (1, 3) and s_fact[-1]["receptive_field"] == (3, 3)
    assert s_fact.totals["params"] / (c * c) == 6
    assert set(s_fact.by_kind) == {"conv 1x3", "conv 3x1"}


class _TwoBranches(mc.nn.Module):
    """A 1x1 branch and a 5x5 branch concatenated, plus a residual addition of the input."""

    def __init__(self) -> None:
        super().__init__()
        self.narrow = mc.nn.Conv2d(2, 2, 1)
        self.wide = mc.nn.Conv2d(2, 2, 5, padding=2)
        self.pool = mc.nn.MaxPool2d(2)

    def forward(self, x: mc.Tensor) -> mc.Tensor:
        y = mc.cat([self.narrow(x), self.wide(x)], 1)
        return self.pool(y + mc.cat([x, x], 1))


def test_branches_carry_the_larger_receptive_field() -> None:
    rows = mc.summary(_TwoBranches(), (2, 8, 8), verbose=False)
    by_name = {r["name"]: r for r in rows}
    assert by_name["narrow"]["receptive_field"] == (1, 1)
    assert by_name["wide"]["receptive_field"] == (5, 5)
    assert by_name["pool"]["receptive_field"] == (6, 6)  # max(1, 5, 1) + (2 - 1) * 1
    assert by_name["pool"]["depth"] == 1


def test_summary_depth_of_known_networks() -> None:
    mc.manual_seed(0)
    assert mc.summary(M.resnet18(num_classes=10), (3, 32, 32), verbose=False).totals["depth"] == 18
    assert mc.summary(M.mobilenet_v1(num_classes=10), (3, 32, 32), verbose=False).totals["depth"] == 28


def test_depthwise_kind_and_macs() -> None:
    c = 8
    net = mc.nn.Sequential(mc.nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), mc.nn.Conv2d(c, 16, 1, bias=False))
    rows = mc.summary(net, (c, 6, 6), verbose=False)
    assert rows[0]["kind"] == "depthwise 3x3" and rows[1]["kind"] == "conv 1x1"
    assert rows[0]["multiply_adds"] == conv_macs(c, 6, 6, c, 3, groups=c) == 6 * 6 * c * 9
    assert rows[1]["multiply_adds"] == conv_macs(16, 6, 6, c, 1)
    # depthwise separable / standard 3x3 = 1/N + 1/k^2
    ratio = rows.totals["multiply_adds"] / conv_macs(16, 6, 6, c, 3)
    assert ratio == pytest.approx(1 / 16 + 1 / 9, rel=1e-12)


def test_mobilenet_v1_pointwise_share() -> None:
    """The paper: 1x1 convolutions hold 94.86 % of the multiply-adds and 74.59 % of the
    parameters (of the weights, batch norm aside) at 224x224."""
    mc.manual_seed(0)
    rows = mc.summary(M.mobilenet_v1(), (3, 224, 224), verbose=False)
    one = rows.by_kind["conv 1x1"]
    weights = rows.totals["params"] - rows.by_kind["batch norm"]["params"]
    assert one["multiply_adds"] / rows.totals["multiply_adds"] == pytest.approx(0.9486, abs=5e-5)
    assert one["params"] / weights == pytest.approx(0.7459, abs=5e-4)
    assert rows.totals["params"] == 4_231_976


def test_summary_leaves_the_model_as_it_was() -> None:
    mc.manual_seed(0)
    net = M.googlenet(num_classes=10)
    net.train()
    apply = Function.__dict__["apply"]
    rows = mc.summary(net, (3, 32, 32), verbose=False)
    assert Function.__dict__["apply"] is apply
    assert all("forward" not in m.__dict__ for m in net.modules())
    assert all(m.training for m in net.modules())
    # eval mode during the probe: the auxiliary heads do not run, but their parameters count
    assert not any(r["name"].startswith("aux") for r in rows)
    with torch.device("meta"):
        tv = torchvision.models.googlenet(num_classes=10, aux_logits=True, init_weights=False)
    assert rows.totals["params"] == sum(p.numel() for p in tv.parameters())
    assert rows.totals["params_in_pass"] < rows.totals["params"]
    assert rows.totals["depth"] == 22  # "22 layers deep when counting only layers with parameters"


def test_summary_errors() -> None:
    with pytest.raises(ValueError, match="input_size"):
        mc.summary(mc.nn.Sequential(mc.nn.Linear(3, 2)))
    rows = mc.summary(mc.nn.Sequential(mc.nn.Linear(3, 2)), (5, 3), verbose=False)
    assert rows.totals["multiply_adds"] == 3 * 2  # per sample (a batch of 5)
    rows = mc.summary(mc.nn.Sequential(mc.nn.Linear(3, 2)), (3,), verbose=False)
    assert rows[0]["output_shape"] == (1, 2)


def test_summary_stays_callable_after_its_module_is_imported():
    import minicnn.summarize  # noqa: F401  (a submodule import must not shadow mc.summary)

    assert callable(mc.summary)
    assert mc.summary(M.lenet5(), (1, 28, 28), verbose=False).totals["params"] == 61706


class _Shuffled(mc.nn.Module):
    """conv 3x3 / 2, a channel shuffle (through a 5-D view), conv 3x3."""

    def __init__(self) -> None:
        super().__init__()
        self.a = mc.nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.b = mc.nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return self.b(mc.nn.functional.channel_shuffle(self.a(x), 2))


class _Gated(mc.nn.Module):
    """conv 3x3, a squeeze-excitation gate (global pool -> 1x1 conv -> sigmoid) times the map,
    conv 3x3."""

    def __init__(self) -> None:
        super().__init__()
        self.a = mc.nn.Conv2d(1, 4, 3, padding=1)
        self.pool = mc.nn.AdaptiveAvgPool2d(1)
        self.fc = mc.nn.Conv2d(4, 4, 1)
        self.b = mc.nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        y = self.a(x)
        return self.b(y * self.fc(self.pool(y)).sigmoid())


def test_receptive_field_through_a_channel_shuffle_and_a_gate() -> None:
    """The field goes on through a 5-D view of the maps; a gate broadcast from 1x1 widens it to
    the whole map (3 + (8 - 1) after the pool) without coarsening the step."""
    rows = {r["name"]: r for r in mc.summary(_Shuffled(), (1, 16, 16), verbose=False)}
    assert rows["b"]["receptive_field"] == (7, 7) and rows["b"]["jump"] == (2, 2)
    rows = {r["name"]: r for r in mc.summary(_Gated(), (1, 8, 8), verbose=False)}
    assert rows["pool"]["receptive_field"] == (10, 10)
    assert rows["b"]["receptive_field"] == (12, 12) and rows["b"]["jump"] == (1, 1)


def test_parameters_of_sublayers_applied_as_functions_count_as_used() -> None:
    """nn.MultiheadAttention applies its out_proj's weight without calling it, as torch's; Swin's
    attention applies qkv and proj so: their parameters are used in the pass all the same."""
    from minicnn.models import swin, vit

    for model in (vit.VisionTransformer(32, 8, 2, 4, 48, 96), swin.SwinTransformer([4, 4], 16, [2, 2], [2, 4], [4, 4])):
        totals = mc.summary(model, (1, 3, 32, 32)).totals
        assert totals["params_in_pass"] == totals["params"] == sum(p.numel() for p in model.parameters())
