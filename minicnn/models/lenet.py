"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to document
recognition", Proc. IEEE 1998), in a modern and in the classic form.

Modern (``lenet5()``), the form most courses teach, on 28x28 MNIST digits::

    layer      output      parameters
    conv 5x5   6x28x28     156      (padding 2 keeps 28x28)
    maxpool 2  6x14x14
    conv 5x5   16x10x10    2,416
    maxpool 2  16x5x5
    fc         120         48,120
    fc         84          10,164
    fc         10          850      total 61,706

Classic (``lenet5(classic=True)``), the network of the paper, Fig. 2: the 28x28 digit is
padded to 32x32; every layer up to F6 is squashed by f(a) = 1.7159 tanh(2a/3)::

    layer                         output      trainable parameters
    C1 conv 5x5                   6x28x28     156
    S2 subsampling 2x2            6x14x14     12   (average x coefficient + bias per map)
    C3 conv 5x5, Table I          16x10x10    1,516 (60 of the 96 map pairs connected)
    S4 subsampling 2x2            16x5x5      32
    C5 conv 5x5                   120x1x1     48,120
    F6 fc                         84          10,164
    output: Euclidean RBF         10          0    (fixed +-1 7x12 bitmaps, a buffer)
                                                    total 60,000

The RBF output unit i computes y_i = sum_j (x_j - w_ij)^2 with the prototypes w_i fixed, as
in the paper; the module returns -y_i so that the best-matching class has the largest score
and ``cross_entropy`` on these scores is the paper's MAP criterion without its constant
"rubbish" class.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn, random
from ..autograd import Tensor
from ..nn import functional as F
from ..ops import cat

# ---------------------------------------------------------------------------------------
# modern LeNet-5


class LeNet5(nn.Module):
    """Modern LeNet-5: (N, 1, 28, 28) -> logits (N, num_classes). 61,706 parameters at 10
    classes. ``features`` ends in the last feature map (16x5x5), ``classifier`` holds the
    fully connected layers, the layout ``mc.nn.utils.fully_convolutional`` converts."""

    input_size = (1, 28, 28)

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2),  # C1: 6x28x28
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2),  # S2: 6x14x14
            nn.Conv2d(6, 16, kernel_size=5),  # C3: 16x10x10
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2),  # S4: 16x5x5
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),  # C5 (a 5x5 convolution over the 5x5 map)
            nn.ReLU(),
            nn.Linear(120, 84),  # F6
            nn.ReLU(),
            nn.Linear(84, num_classes),  # output
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.features(x)))


# ---------------------------------------------------------------------------------------
# classic LeNet-5: its special layers


class ScaledTanh(nn.Module):
    """LeCun's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3, chosen so that
    f(1) = 1 and f(-1) = -1 and the gain is near 1 around the origin. Any shape."""

    amplitude = 1.7159
    slope = 2.0 / 3.0

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x * self.slope) * self.amplitude

    def extra_repr(self) -> str:
        return f"A={self.amplitude}, S={self.slope:.4f}"


class Subsampling(nn.Module):
    """S2/S4: each unit averages a 2x2 block of its map, multiplies by the map's trainable
    coefficient and adds the map's trainable bias: (N, C, H, W) -> (N, C, H/2, W/2),
    2 parameters per map. The coefficient starts at 1 and the bias at 0 (average pooling)."""

    is_weight_layer = True  # counted as a layer by mc.summary's depth (LeCun counts it)

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        self.channels = channels
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, kernel_size, 0, 1
        self.weight = nn.Parameter(np.ones(channels, dtype=np.float32))
        self.bias = nn.Parameter(np.zeros(channels, dtype=np.float32))

    def forward(self, x: Tensor) -> Tensor:
        pooled = F.avg_pool2d(x, self.kernel_size, _layer=f"Subsampling({self.extra_repr()})")
        return pooled * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)

    def multiply_adds(self, output_shape: Sequence[int]) -> int:
        """One multiply per output unit (the additions of the average are not counted)."""
        return int(np.prod(output_shape[1:]))

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size={self.kernel_size}"


# LeCun 1998, Table I: the S2 maps (0-5) that feed each C3 map (0-15). Maps 0-5 take three
# neighbouring maps, 6-11 four neighbouring maps, 12-14 four non-neighbouring ones and map
# 15 all six. "X" marks a connection (rows: S2 maps, columns: C3 maps):
#     0123456789012345
#  0  X   XXX  XXXX XX
#  1  XX   XXX  XXXX X
#  2  XXX   XXX  X XXX
#  3   XXX  XXXX  X XX
#  4    XXX  XXXX XX X
#  5     XXX  XXXX XXX
C3_TABLE: tuple[tuple[int, ...], ...] = (
    *(tuple((m + i) % 6 for i in range(3)) for m in range(6)),
    *(tuple((m + i) % 6 for i in range(4)) for m in range(6)),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class PartialConv2d(nn.Module):
    """A convolution whose output map o sees only the input maps ``table[o]`` (C3).

    ``weight`` holds one k x k kernel per connection, shape (connections, k, k); the forward
    pass scatters them into a dense (C_out, C_in, k, k) kernel that is zero for the missing
    pairs and runs one ordinary conv2d, so the gradient reaches exactly the connected
    kernels. (N, C_in, H, W) -> (N, C_out, H-k+1, W-k+1). C3: 60 x 25 + 16 = 1,516 parameters.
    """

    is_weight_layer = True

    def __init__(self, in_channels: int, table: Sequence[Sequence[int]], kernel_size: int = 5) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, len(table)
        self.kernel_size, self.stride, self.padding, self.dilation, self.groups = kernel_size, 1, 0, 1, 1
        pairs = [(o, i) for o, inputs in enumerate(table) for i in inputs]
        self.connections = len(pairs)
        index = np.full((self.out_channels, in_channels), self.connections, dtype=np.int64)
        for j, (o, i) in enumerate(pairs):
            index[o, i] = j  # index `connections` points at an all-zero kernel
        self.register_buffer("index", index, persistent=False)
        fan_in = np.bincount([o for o, _ in pairs], minlength=self.out_channels) * kernel_size**2
        self.weight = nn.Parameter(np.empty((self.connections, kernel_size, kernel_size), dtype=np.float32))
        self.bias = nn.Parameter(np.zeros(self.out_channels, dtype=np.float32))
        # LeCun's initialisation: U(-2.4/F, 2.4/F), F = fan-in of the receiving unit
        bound = np.array([2.4 / fan_in[o] for o, _ in pairs], dtype=np.float32)[:, None, None]
        rng = random.generator(np)
        self.weight.array[...] = self.weight.xp.asarray(rng.uniform(-1.0, 1.0, self.weight.shape) * bound)

    def dense_weight(self) -> Tensor:
        """The (C_out, C_in, k, k) kernel, zero where Table I has no connection."""
        k = self.kernel_size
        zero = Tensor(self.weight.xp.zeros((1, k, k), dtype=self.weight.dtype))
        return cat([self.weight, zero], 0)[self.index]

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias, _layer=f"PartialConv2d({self.extra_repr()})")

    def multiply_adds(self, output_shape: Sequence[int]) -> int:
        return int(np.prod(output_shape[2:])) * self.connections * self.kernel_size**2

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, connections={self.connections}"
        )


# The fixed RBF prototypes: 7x12 bitmaps of the ten digits (12 rows of 7 pixels; "#" -> +1,
# "." -> -1). The paper drew its own stylised 7x12 characters but did not publish them as
# data; these are drawn in the same spirit, one glyph per class.
DIGIT_BITMAPS: tuple[tuple[str, ...], ...] = (
    (  # 0
        ".......",
        "..###..",
        ".#...#.",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#...#.",
        "..###..",
        ".......",
    ),
    (  # 1
        ".......",
        "...#...",
        "..##...",
        ".#.#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        "...#...",
        ".#####.",
        ".......",
    ),
    (  # 2
        ".......",
        ".#####.",
        "#.....#",
        "......#",
        "......#",
        ".....#.",
        "....#..",
        "...#...",
        "..#....",
        ".#.....",
        "#######",
        ".......",
    ),
    (  # 3
        ".......",
        ".#####.",
        "#.....#",
        "......#",
        "......#",
        "..####.",
        "......#",
        "......#",
        "......#",
        "#.....#",
        ".#####.",
        ".......",
    ),
    (  # 4
        ".......",
        "....##.",
        "...#.#.",
        "..#..#.",
        ".#...#.",
        "#....#.",
        "#######",
        ".....#.",
        ".....#.",
        ".....#.",
        ".....#.",
        ".......",
    ),
    (  # 5
        ".......",
        "#######",
        "#......",
        "#......",
        "######.",
        "......#",
        "......#",
        "......#",
        "......#",
        "#.....#",
        ".#####.",
        ".......",
    ),
    (  # 6
        ".......",
        "..####.",
        ".#.....",
        "#......",
        "#......",
        "######.",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#####.",
        ".......",
    ),
    (  # 7
        ".......",
        "#######",
        "......#",
        ".....#.",
        "....#..",
        "...#...",
        "...#...",
        "..#....",
        "..#....",
        "..#....",
        "..#....",
        ".......",
    ),
    (  # 8
        ".......",
        ".#####.",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#####.",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        ".#####.",
        ".......",
    ),
    (  # 9
        ".......",
        ".#####.",
        "#.....#",
        "#.....#",
        "#.....#",
        "#.....#",
        ".######",
        "......#",
        "......#",
        ".....#.",
        ".####..",
        ".......",
    ),
)


def _digit_prototypes() -> np.ndarray:
    return np.array([[1.0 if c == "#" else -1.0 for c in "".join(rows)] for rows in DIGIT_BITMAPS], dtype=np.float32)


class EuclideanRBF(nn.Module):
    """Output layer of the paper: y_i = ||x - w_i||^2 against fixed prototypes w_i in
    {-1, +1}^84 (a buffer, not trained). (N, 84) -> scores (N, num_classes) = -y, so that
    the class whose prototype is nearest has the largest score."""

    is_weight_layer = True
    summary_kind = "rbf"

    def __init__(self, in_features: int = 84, num_classes: int = 10) -> None:
        super().__init__()
        self.in_features, self.num_classes = in_features, num_classes
        if num_classes == 10 and in_features == 84:
            protos = _digit_prototypes()
        else:  # no bitmaps for other label sets: random +-1 codes from the library RNG
            protos = np.where(random.generator(np).random((num_classes, in_features)) < 0.5, -1.0, 1.0)
        self.register_buffer("prototypes", protos.astype(np.float32))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"EuclideanRBF: expected input (N, {self.in_features}), got {x.shape}")
        diff = x.reshape(x.shape[0], 1, self.in_features) - self.prototypes.reshape(1, self.num_classes, -1)
        return -(diff * diff).sum(axis=2)

    def multiply_adds(self, output_shape: Sequence[int]) -> int:
        return int(np.prod(output_shape[1:])) * self.in_features

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_classes={self.num_classes}"


class Pad2d(nn.Module):
    """Zero padding of ``padding`` pixels on each side: (N, C, H, W) -> (N, C, H+2p, W+2p)."""

    def __init__(self, padding: int) -> None:
        super().__init__()
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        p = self.padding
        return F.pad(x, (p, p, p, p))

    def extra_repr(self) -> str:
        return str(self.padding)


class LeNet5Classic(nn.Module):
    """LeNet-5 as published (1998): (N, 1, 28, 28) -> scores (N, num_classes), the negated
    RBF penalties. 60,000 trainable parameters. Weights of C1, C5 and F6 start from LeCun's
    U(-2.4/F_in, 2.4/F_in); biases from 0; the subsampling coefficients from 1."""

    input_size = (1, 28, 28)

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            OrderedDict(
                pad=Pad2d(2),  # the 28x28 digit centred in a 32x32 field
                C1=nn.Conv2d(1, 6, kernel_size=5),
                C1_act=ScaledTanh(),
                S2=Subsampling(6),
                S2_act=ScaledTanh(),
                C3=PartialConv2d(6, C3_TABLE, kernel_size=5),
                C3_act=ScaledTanh(),
                S4=Subsampling(16),
                S4_act=ScaledTanh(),
                C5=nn.Conv2d(16, 120, kernel_size=5),
                C5_act=ScaledTanh(),
            )
        )
        self.flatten = nn.Flatten()
        self.F6 = nn.Linear(120, 84)
        self.F6_act = ScaledTanh()
        self.output = EuclideanRBF(84, num_classes)
        for layer in (self.features.C1, self.features.C5, self.F6):
            fan_in = int(np.prod(layer.weight.shape[1:]))
            nn.init.uniform_(layer.weight, -2.4 / fan_in, 2.4 / fan_in)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.output(self.F6_act(self.F6(self.flatten(self.features(x)))))


def lenet5(num_classes: int = 10, classic: bool = False, **kwargs: Any) -> nn.Module:
    """LeNet-5 for 28x28 single-channel images. ``classic=False``: the modern form (ReLU,
    max pooling, three fully connected layers; 61,706 parameters). ``classic=True``: the
    1998 network (scaled tanh, trainable subsampling, C3's connection table, C5 as a 5x5
    convolution, Euclidean RBF output with fixed prototypes; 60,000 trainable parameters)."""
    return LeNet5Classic(num_classes, **kwargs) if classic else LeNet5(num_classes, **kwargs)


__all__ = ["C3_TABLE", "LeNet5", "LeNet5Classic", "lenet5"]
