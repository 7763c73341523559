"""MnasNet (Tan, Chen, Pang, Vasudevan, Sandler, Howard & Le, "MnasNet: platform-aware
neural architecture search for mobile", CVPR 2019), the B1 variant (no squeeze-excitation)
in torchvision's layout (state-dict keys equal torchvision's, so its weights load as they are).

The architecture comes from a search whose reward is accuracy x (latency / target)^-0.07,
latency measured on a phone: the search trades accuracy for speed instead of counting
multiply-adds. The result is MobileNet v2's inverted residual (1x1 expansion by t, k x k
depthwise conv, linear 1x1 projection, the input added when the shapes allow) with a
kernel size and an expansion chosen per stage. Figure 7 of the paper (224x224 input)::

    conv 3x3/2                        32     112x112
    SepConv 3x3 (dw 3x3 + 1x1)        16     112x112   no shortcut, no final ReLU
    MBConv3 3x3  x3, first stride 2   24     56x56
    MBConv3 5x5  x3, first stride 2   40     28x28
    MBConv6 5x5  x3, first stride 2   80     14x14
    MBConv6 3x3  x2                   96     14x14
    MBConv6 5x5  x4, first stride 2   192    7x7
    MBConv6 3x3  x1                   320    7x7
    conv 1x1                          1280   7x7, then global average pool, dropout, fc

(MBConv t: expansion t.) The depth multiplier ``alpha`` scales every width but the last
1280 and rounds it to a multiple of 8, rounding up unless that is more than 10 % over:

    model         alpha   widths                                 parameters
    mnasnet0_5    0.5     16, 8, 16, 24, 40, 48, 96, 160         2,218,512
    mnasnet0_75   0.75    24, 16, 24, 32, 64, 72, 144, 240       3,170,208
    mnasnet1_0    1.0     32, 16, 24, 40, 80, 96, 192, 320       4,383,312
    mnasnet1_3    1.3     40, 24, 32, 56, 104, 128, 248, 416     6,282,256

Batch norm momentum 0.0003 (TensorFlow's decay 0.9997). torchvision's version 1 of the
model kept the stem (up to the first MBConv stack) at alpha 1.0's widths whatever alpha;
a state dict saved with version 1 (``_metadata``) still loads: the stem is rebuilt in that
layout first, with a UserWarning, as torchvision does.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import nn
from ..autograd import Tensor

_BN_MOMENTUM = 1 - 0.9997  # TensorFlow's decay 0.9997 as a PyTorch momentum


class _InvertedResidual(nn.Module):
    """1x1 expand to in_ch * expansion_factor (ReLU) -> k x k depthwise (stride, ReLU) ->
    1x1 linear projection; + the input when the stride is 1 and the widths match. Keys
    ``layers.0-7``. Named as torchvision's class, so that the models print alike.
    (N, in_ch, H, W) -> (N, out_ch, ceil(H/stride), ceil(W/stride))."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, stride: int, expansion_factor: int, bn_momentum: float = 0.1
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        if kernel_size not in (3, 5):
            raise ValueError(f"kernel_size should be 3 or 5 instead of {kernel_size}")
        mid = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid, 1, bias=False),
            nn.BatchNorm2d(mid, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, kernel_size, padding=kernel_size // 2, stride=stride, groups=mid, bias=False),
            nn.BatchNorm2d(mid, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_ch, 1, bias=False),  # linear bottleneck: no ReLU
            nn.BatchNorm2d(out_ch, momentum=bn_momentum),
        )

    def forward(self, input: Tensor) -> Tensor:
        return self.layers(input) + input if self.apply_residual else self.layers(input)


def _stack(
    in_ch: int, out_ch: int, kernel_size: int, stride: int, exp_factor: int, repeats: int, bn_momentum: float
) -> nn.Sequential:
    """``repeats`` inverted residuals; the first changes the width and takes the stride."""
    if repeats < 1:
        raise ValueError(f"repeats should be >= 1, instead got {repeats}")
    first = _InvertedResidual(in_ch, out_ch, kernel_size, stride, exp_factor, bn_momentum=bn_momentum)
    rest = [_InvertedResidual(out_ch, out_ch, kernel_size, 1, exp_factor, bn_momentum=bn_momentum)
            for _ in range(1, repeats)]  # fmt: skip
    return nn.Sequential(first, *rest)


def _round_to_multiple_of(val: float, divisor: int, round_up_bias: float = 0.9) -> int:
    """``val`` rounded to the nearest multiple of ``divisor``, then one step up if that lost
    more than 10 %: (83, 8) -> 80, (84, 8) -> 88... as torchvision's."""
    if not 0.0 < round_up_bias < 1.0:
        raise ValueError(f"round_up_bias should be greater than 0.0 and smaller than 1.0 instead of {round_up_bias}")
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def _get_depths(alpha: float) -> list[int]:
    """The eight widths of the table scaled by ``alpha``."""
    return [_round_to_multiple_of(depth * alpha, 8) for depth in (32, 16, 24, 40, 80, 96, 192, 320)]


# Figure 7: (kernel, stride of the first block, expansion, repeats) of the six MBConv stacks
STACKS: list[tuple[int, int, int, int]] = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4),
                                           (3, 1, 6, 1)]  # fmt: skip


def _stem(width: int, out: int) -> list[nn.Module]:
    """conv 3x3/2 + BN + ReLU, then SepConv: depthwise 3x3 + BN + ReLU, 1x1 to ``out`` + BN."""
    bn = _BN_MOMENTUM
    return [
        nn.Conv2d(3, width, 3, padding=1, stride=2, bias=False),
        nn.BatchNorm2d(width, momentum=bn),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, padding=1, stride=1, groups=width, bias=False),
        nn.BatchNorm2d(width, momentum=bn),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, out, 1, padding=0, stride=1, bias=False),
        nn.BatchNorm2d(out, momentum=bn),
    ]


class MNASNet(nn.Module):
    """(N, 3, H, W) -> logits (N, num_classes); native 224x224, any H, W >= 1 works.
    Arguments as torchvision's: ``alpha`` the depth multiplier (> 0), ``dropout`` before the fc."""

    input_size = (3, 224, 224)
    _version = 2  # version 2 scales the stem by alpha too

    def __init__(self, alpha: float, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        if alpha <= 0.0:
            raise ValueError(f"alpha should be greater than 0.0 instead of {alpha}")
        self.alpha = alpha
        self.num_classes = num_classes
        depths = _get_depths(alpha)
        layers = _stem(depths[0], depths[1])
        for (k, s, t, n), c_in, c_out in zip(STACKS, depths[1:], depths[2:]):
            layers.append(_stack(c_in, c_out, k, s, t, n, _BN_MOMENTUM))
        layers += [
            nn.Conv2d(depths[7], 1280, 1, padding=0, stride=1, bias=False),
            nn.BatchNorm2d(1280, momentum=_BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(1280, num_classes))
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.layers(x).mean([2, 3]))  # global average pool

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        """A version-1 state dict (torchvision's older layout: the stem at alpha 1.0's widths)
        rebuilds the stem in that layout first (for alpha != 1.0, with a UserWarning); the
        model then stays version 1. Unlike torchvision, a state dict without ``_metadata``
        (e.g. a dict comprehension) loads as the current version instead of raising."""
        version = local_metadata.get("version", None)
        if version not in (1, 2, None):
            raise ValueError(f"version should be set to 1 or 2 instead of {version}")
        if version == 1 and self.alpha != 1.0:
            depths = _get_depths(self.alpha)
            v1_stem = [*_stem(32, 16), _stack(16, depths[2], 3, 2, 3, 3, _BN_MOMENTUM)]
            for idx, layer in enumerate(v1_stem):
                self.layers[idx] = layer
            self._version = 1
            warnings.warn(
                "A new version of MNASNet model has been implemented. "
                "Your checkpoint was saved using the previous version. "
                "This checkpoint will load and work as before, but "
                "you may want to upgrade by training a newer model or "
                "transfer learning from an updated ImageNet checkpoint.",
                UserWarning,
                stacklevel=2,
            )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


def mnasnet0_5(num_classes: int = 1000, **kwargs: Any) -> MNASNet:
    """MNASNet with depth multiplier 0.5 (2,218,512 parameters); ``dropout`` as :class:`MNASNet`'s."""
    return MNASNet(0.5, num_classes=num_classes, **kwargs)


def mnasnet0_75(num_classes: int = 1000, **kwargs: Any) -> MNASNet:
    """MNASNet with depth multiplier 0.75 (3,170,208 parameters)."""
    return MNASNet(0.75, num_classes=num_classes, **kwargs)


def mnasnet1_0(num_classes: int = 1000, **kwargs: Any) -> MNASNet:
    """MNASNet with depth multiplier 1.0 (4,383,312 parameters)."""
    return MNASNet(1.0, num_classes=num_classes, **kwargs)


def mnasnet1_3(num_classes: int = 1000, **kwargs: Any) -> MNASNet:
    """MNASNet with depth multiplier 1.3 (6,282,256 parameters)."""
    return MNASNet(1.3, num_classes=num_classes, **kwargs)


__all__ = ["MNASNet", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"]
