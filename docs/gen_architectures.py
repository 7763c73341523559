"""Regenerate the numbers in docs/architectures.md: ``python docs/gen_architectures.py``.

Builds every model of ``mc.models``, runs ``mc.summary`` at its native input size (one
zero image; the weights are set to zero instead of drawn, since shapes and counts do not
depend on them) and rewrites the blocks between ``<!-- BEGIN name -->`` and
``<!-- END name -->`` in architectures.md: the model table and the checks of the notes'
claims. Takes a minute or two on a laptop CPU (VGG19 alone is 20 G multiply-adds).
``--print`` prints the blocks instead of writing the file.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import minicnn as mc
from minicnn import models as M

DOC = Path(__file__).with_name("architectures.md")

# torchvision's published multiply-add counts (its weights' "_ops" metadata, in G) for
# the models it has, to check our counting against an independent one
TORCHVISION_GMACS = {
    "alexnet": 0.714, "vgg11": 7.609, "vgg13": 11.308, "vgg16": 15.47, "vgg19": 19.632,
    "googlenet": 1.498, "inception_v3": 5.713, "resnet18": 1.814, "resnet34": 3.664,
    "resnet50": 4.089, "resnet101": 7.801, "resnet152": 11.514, "mobilenet_v2": 0.301,
    "resnext50_32x4d": 4.23, "resnext101_32x8d": 16.414, "resnext101_64x4d": 15.46, "wide_resnet50_2": 11.398,
    "wide_resnet101_2": 22.753, "squeezenet1_0": 0.819, "squeezenet1_1": 0.349, "densenet121": 2.834,
    "densenet161": 7.728, "densenet169": 3.36, "densenet201": 4.291, "shufflenet_v2_x0_5": 0.04,
    "shufflenet_v2_x1_0": 0.145, "shufflenet_v2_x1_5": 0.296, "shufflenet_v2_x2_0": 0.583,
    "mobilenet_v3_large": 0.217, "mobilenet_v3_small": 0.057,
    "convnext_tiny": 4.456, "convnext_small": 8.684, "convnext_base": 15.355, "convnext_large": 34.361,
    "regnet_x_400mf": 0.414, "regnet_x_800mf": 0.8, "regnet_x_1_6gf": 1.603, "regnet_x_3_2gf": 3.177,
    "regnet_x_8gf": 7.995, "regnet_x_16gf": 15.941, "regnet_x_32gf": 31.736, "regnet_y_400mf": 0.402,
    "regnet_y_800mf": 0.834, "regnet_y_1_6gf": 1.612, "regnet_y_3_2gf": 3.176, "regnet_y_8gf": 8.473,
    "regnet_y_16gf": 15.912, "regnet_y_32gf": 32.28, "mnasnet0_5": 0.104, "mnasnet0_75": 0.215,
    "mnasnet1_0": 0.314, "mnasnet1_3": 0.526,
    "efficientnet_b0": 0.386, "efficientnet_b1": 0.687, "efficientnet_b2": 1.088, "efficientnet_b3": 1.827,
    "efficientnet_b4": 4.394, "efficientnet_b5": 10.266, "efficientnet_b6": 19.068, "efficientnet_b7": 37.746,
    "efficientnet_v2_s": 8.366, "efficientnet_v2_m": 24.582, "efficientnet_v2_l": 56.08,
    "vit_b_16": 17.564, "vit_b_32": 4.409, "vit_l_16": 61.555, "vit_l_32": 15.378, "vit_h_14": 167.295,
    "swin_t": 4.491, "swin_s": 8.741, "swin_b": 15.431, "swin_v2_t": 5.94, "swin_v2_s": 11.546, "swin_v2_b": 20.325,
}  # fmt: skip


MODELS: list[tuple[str, Callable[[], mc.nn.Module]]] = [
    ("lenet5", lambda: M.lenet5()),
    ("lenet5 (classic)", lambda: M.lenet5(classic=True)),
    ("alexnet", lambda: M.alexnet()),
    ("alexnet (original)", lambda: M.alexnet(original=True)),
    ("vgg11", lambda: M.vgg11()),
    ("vgg13", lambda: M.vgg13()),
    ("vgg16", lambda: M.vgg16()),
    ("vgg19", lambda: M.vgg19()),
    ("googlenet", lambda: M.googlenet()),
    ("googlenet (original)", lambda: M.googlenet(original=True)),
    ("inception_v3", lambda: M.inception_v3()),
    ("inception_v4", lambda: M.inception_v4()),
    ("inception_resnet_v1", lambda: M.inception_resnet_v1()),
    ("inception_resnet_v2", lambda: M.inception_resnet_v2()),
    ("resnet18", lambda: M.resnet18()),
    ("resnet18 (shortcut A)", lambda: M.resnet18(shortcut="A")),
    ("resnet34", lambda: M.resnet34()),
    ("resnet50", lambda: M.resnet50()),
    ("resnet101", lambda: M.resnet101()),
    ("resnet152", lambda: M.resnet152()),
    ("mobilenet_v1", lambda: M.mobilenet_v1()),
    ("mobilenet_v2", lambda: M.mobilenet_v2()),
    ("resnext50_32x4d", lambda: M.resnext50_32x4d()),
    ("resnext101_32x8d", lambda: M.resnext101_32x8d()),
    ("resnext101_64x4d", lambda: M.resnext101_64x4d()),
    ("wide_resnet50_2", lambda: M.wide_resnet50_2()),
    ("wide_resnet101_2", lambda: M.wide_resnet101_2()),
    ("squeezenet1_0", lambda: M.squeezenet1_0()),
    ("squeezenet1_1", lambda: M.squeezenet1_1()),
    ("densenet121", lambda: M.densenet121()),
    ("densenet161", lambda: M.densenet161()),
    ("densenet169", lambda: M.densenet169()),
    ("densenet201", lambda: M.densenet201()),
    ("shufflenet_v2_x0_5", lambda: M.shufflenet_v2_x0_5()),
    ("shufflenet_v2_x1_0", lambda: M.shufflenet_v2_x1_0()),
    ("shufflenet_v2_x1_5", lambda: M.shufflenet_v2_x1_5()),
    ("shufflenet_v2_x2_0", lambda: M.shufflenet_v2_x2_0()),
    ("mobilenet_v3_large", lambda: M.mobilenet_v3_large()),
    ("mobilenet_v3_small", lambda: M.mobilenet_v3_small()),
    ("convnext_tiny", lambda: M.convnext_tiny()),
    ("convnext_small", lambda: M.convnext_small()),
    ("convnext_base", lambda: M.convnext_base()),
    ("convnext_large", lambda: M.convnext_large()),
    ("mnasnet0_5", lambda: M.mnasnet0_5()),
    ("mnasnet0_75", lambda: M.mnasnet0_75()),
    ("mnasnet1_0", lambda: M.mnasnet1_0()),
    ("mnasnet1_3", lambda: M.mnasnet1_3()),
    ("efficientnet_b0", lambda: M.efficientnet_b0()),
    ("efficientnet_b1", lambda: M.efficientnet_b1()),
    ("efficientnet_b2", lambda: M.efficientnet_b2()),
    ("efficientnet_b3", lambda: M.efficientnet_b3()),
    ("efficientnet_b4", lambda: M.efficientnet_b4()),
    ("efficientnet_b5", lambda: M.efficientnet_b5()),
    ("efficientnet_b6", lambda: M.efficientnet_b6()),
    ("efficientnet_b7", lambda: M.efficientnet_b7()),
    ("efficientnet_v2_s", lambda: M.efficientnet_v2_s()),
    ("efficientnet_v2_m", lambda: M.efficientnet_v2_m()),
    ("efficientnet_v2_l", lambda: M.efficientnet_v2_l()),
    ("regnet_x_400mf", lambda: M.regnet_x_400mf()),
    ("regnet_x_800mf", lambda: M.regnet_x_800mf()),
    ("regnet_x_1_6gf", lambda: M.regnet_x_1_6gf()),
    ("regnet_x_3_2gf", lambda: M.regnet_x_3_2gf()),
    ("regnet_x_8gf", lambda: M.regnet_x_8gf()),
    ("regnet_x_16gf", lambda: M.regnet_x_16gf()),
    ("regnet_x_32gf", lambda: M.regnet_x_32gf()),
    ("regnet_y_400mf", lambda: M.regnet_y_400mf()),
    ("regnet_y_800mf", lambda: M.regnet_y_800mf()),
    ("regnet_y_1_6gf", lambda: M.regnet_y_1_6gf()),
    ("regnet_y_3_2gf", lambda: M.regnet_y_3_2gf()),
    ("regnet_y_8gf", lambda: M.regnet_y_8gf()),
    ("regnet_y_16gf", lambda: M.regnet_y_16gf()),
    ("regnet_y_32gf", lambda: M.regnet_y_32gf()),
    ("vit_b_16", lambda: M.vit_b_16()),
    ("vit_b_32", lambda: M.vit_b_32()),
    ("vit_l_16", lambda: M.vit_l_16()),
    ("vit_l_32", lambda: M.vit_l_32()),
    ("vit_h_14", lambda: M.vit_h_14()),
    ("swin_t", lambda: M.swin_t()),
    ("swin_s", lambda: M.swin_s()),
    ("swin_b", lambda: M.swin_b()),
    ("swin_v2_t", lambda: M.swin_v2_t()),
    ("swin_v2_s", lambda: M.swin_v2_s()),
    ("swin_v2_b", lambda: M.swin_v2_b()),
]


@contextlib.contextmanager
def zero_init() -> Iterator[None]:
    """Every mc.nn.init function fills zeros: building a 140M-parameter model then costs
    no random draws (shapes, counts and receptive fields do not depend on the values)."""
    names = ["uniform_", "normal_", "constant_", "ones_", "kaiming_uniform_", "kaiming_normal_",
             "xavier_uniform_", "xavier_normal_", "trunc_normal_"]  # fmt: skip
    saved = {n: getattr(mc.nn.init, n) for n in names}

    def zero(t: Any, *args: Any, **kwargs: Any) -> Any:
        t.array[...] = 0
        return t

    try:
        for n in names:
            setattr(mc.nn.init, n, zero)
        yield
    finally:
        for n, f in saved.items():
            setattr(mc.nn.init, n, f)


def build(make: Callable[[], mc.nn.Module]) -> mc.nn.Module:
    with zero_init():
        return make()


def fmt_int(n: float) -> str:
    return f"{int(n):,}"


def model_table(log: Callable[[str], None]) -> tuple[str, dict[str, Any]]:
    lines = [
        "| model | input | parameters | multiply-adds | torchvision's count | depth | RF of the last conv |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    summaries: dict[str, Any] = {}
    for name, make in MODELS:
        t0 = time.time()
        model = build(make)
        s = mc.summary(model, verbose=False)
        summaries[name] = s
        t = s.totals
        macs = t["multiply_adds"]
        macs_s = f"{macs / 1e9:.3f} G" if macs >= 1e8 else f"{macs / 1e6:.3f} M"
        tv = TORCHVISION_GMACS.get(name)
        tv_s = f"{tv:.3f} G" if tv is not None else ""
        convs = [r for r in s if r["receptive_field"] is not None and ("conv" in r["kind"] or "depthwise" in r["kind"])]
        rf = convs[-1]["receptive_field"] if convs else None
        lines.append(
            f"| {name} | {'x'.join(map(str, model.input_size[1:]))} | {fmt_int(t['params'])} | {macs_s} | {tv_s} "
            f"| {t['depth']} | {int(rf[0]) if rf else ''} |"
        )
        log(f"  {name}: {time.time() - t0:.1f}s")
        del model
    return "\n".join(lines), summaries


def claim_3x3(log: Callable[[str], None]) -> str:
    c, hw = 64, 56

    def stack(*kernels: tuple[int, int]) -> mc.nn.Sequential:
        """Convolutions of the given kernels, 'same' padding, each followed by a ReLU."""
        layers: list[mc.nn.Module] = []
        for kh, kw in kernels:
            layers += [mc.nn.Conv2d(c, c, (kh, kw), padding=(kh // 2, kw // 2), bias=False), mc.nn.ReLU()]
        return mc.nn.Sequential(*layers)

    variants = {
        "one 5x5": stack((5, 5)),
        "two 3x3": stack((3, 3), (3, 3)),
        "one 3x3": stack((3, 3)),
        "1x3 then 3x1": stack((1, 3), (3, 1)),
        "one 7x7": stack((7, 7)),
        "three 3x3": stack((3, 3), (3, 3), (3, 3)),
        "1x7 then 7x1": stack((1, 7), (7, 1)),
    }
    lines = [
        f"{c} -> {c} maps on a {hw}x{hw} map (no bias):",
        "",
        "| stack | receptive field | weights per channel pair | parameters | multiply-adds | ReLUs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, net in variants.items():
        s = mc.summary(net, (c, hw, hw), verbose=False)
        rf = s[-1]["receptive_field"]
        relus = sum(1 for r in s if r["kind"] == "activation")
        lines.append(
            f"| {name} | {int(rf[0])}x{int(rf[1])} | {s.totals['params'] // (c * c)} | {fmt_int(s.totals['params'])} "
            f"| {fmt_int(s.totals['multiply_adds'])} | {relus} |"
        )
    log("  3x3 claims done")
    return "\n".join(lines)


def claim_mobilenet(s: Any) -> str:
    t = s.totals
    kinds = s.by_kind
    one = kinds["conv 1x1"]
    dw = kinds["depthwise 3x3"]
    lines = [
        "| layer kind | layers | parameters | share | multiply-adds | share |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in ("conv 1x1", "depthwise 3x3", "conv 3x3", "linear", "batch norm"):
        k = kinds[kind]
        lines.append(
            f"| {kind} | {k['layers']} | {fmt_int(k['params'])} | {100 * k['params'] / t['params']:.2f} % "
            f"| {fmt_int(k['multiply_adds'])} | {100 * k['multiply_adds'] / t['multiply_adds']:.2f} % |"
        )
    conv_params = sum(k["params"] for name, k in kinds.items() if name != "batch norm")
    lines += [
        "",
        f"1x1 convolutions: {100 * one['multiply_adds'] / t['multiply_adds']:.2f} % of the multiply-adds "
        f"(paper: 94.86 %), {100 * one['params'] / t['params']:.2f} % of all parameters and "
        f"{100 * one['params'] / conv_params:.2f} % of the weights without batch norm (paper: 74.59 %). "
        f"Depthwise 3x3: {100 * dw['multiply_adds'] / t['multiply_adds']:.2f} % of the multiply-adds.",
    ]
    return "\n".join(lines)


def claim_separable(s: Any) -> str:
    rows = list(s)
    lines = [
        "| layer | input | M -> N | separable (dw + pw) | standard 3x3 | ratio | 1/N + 1/9 |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    total_sep = total_std = 0
    for i, r in enumerate(rows):
        if r["kind"] != "depthwise 3x3":
            continue
        pw = next(q for q in rows[i + 1 :] if q["kind"] == "conv 1x1")
        m, oh, ow = r["output_shape"][1:]
        n = pw["output_shape"][1]
        sep = r["multiply_adds"] + pw["multiply_adds"]
        std = m * n * 9 * oh * ow
        total_sep += sep
        total_std += std
        lines.append(
            f"| {r['name'].rsplit('.', 2)[0]} | {oh}x{ow} | {m} -> {n} | {fmt_int(sep)} | {fmt_int(std)} "
            f"| {sep / std:.4f} | {1 / n + 1 / 9:.4f} |"
        )
    lines += [
        "",
        f"All 13 layers: separable/standard = {total_sep / total_std:.4f} ({total_std / total_sep:.1f}x fewer).",
    ]
    return "\n".join(lines)


def claim_googlenet(s: Any) -> str:
    """Cost of the 3x3 and 5x5 branches of each inception module with and without their
    1x1 reductions (the 'naive' module applies the 3x3/5x5 to the module input)."""
    model = build(lambda: M.googlenet(original=True, aux_logits=False))
    rows = {r["name"]: r for r in s}
    lines = [
        "| module | input | 3x3+5x5 branches with 1x1 reductions | without | saving |",
        "|---|---|---:|---:|---:|",
    ]
    tot_with = tot_without = 0
    for name, mod in model.named_children():
        if not name.startswith("inception"):
            continue
        with_red = without = 0
        for branch in ("branch2", "branch3"):
            red, conv = getattr(mod, branch)[0].conv, getattr(mod, branch)[1].conv
            r_red = rows[f"{name}.{branch}.0.conv"]
            r_conv = rows[f"{name}.{branch}.1.conv"]
            with_red += r_red["multiply_adds"] + r_conv["multiply_adds"]
            _, c_out, oh, ow = r_conv["output_shape"]
            kh, kw = conv.weight.shape[2:]
            without += red.in_channels * c_out * kh * kw * oh * ow
        c_in = mod.branch1.conv.in_channels
        tot_with += with_red
        tot_without += without
        lines.append(
            f"| {name} | {oh}x{ow}x{c_in} | {with_red / 1e6:.1f} M | {without / 1e6:.1f} M "
            f"| {without / with_red:.1f}x |"
        )
    lines += [
        "",
        f"Nine modules: {tot_with / 1e9:.3f} G multiply-adds with the reductions, {tot_without / 1e9:.3f} G "
        f"without ({tot_without / tot_with:.1f}x); the whole published network is "
        f"{s.totals['multiply_adds'] / 1e9:.3f} G.",
    ]
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n).*?(<!-- END {re.escape(name)} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: no block {name!r}")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the blocks instead of writing the file")
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.time()
    log("models at their native sizes:")
    table, summaries = model_table(log)
    blocks = {
        "models": table,
        "claims-3x3": claim_3x3(log),
        "claims-mobilenet": claim_mobilenet(summaries["mobilenet_v1"]),
        "claims-separable": claim_separable(summaries["mobilenet_v1"]),
        "claims-googlenet": claim_googlenet(summaries["googlenet (original)"]),
    }
    if args.print:
        for name, body in blocks.items():
            print(f"<!-- {name} -->\n{body}\n")
    else:
        text = DOC.read_text()
        for name, body in blocks.items():
            text = replace_block(text, name, body)
        DOC.write_text(text)
        log(f"wrote {DOC}")
    log(f"total {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
