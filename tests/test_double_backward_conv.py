"""Second and third derivatives (``create_graph=True``) of the convolutions, linear layers,
pools, unpooling, resizing and grid sampling against torch.

Every op: a hypothesis test of forward, first gradients with a graph and second derivatives
(w.r.t. every input and the seed) against torch (``double_backward_like_torch``), and a float64
``mc.gradgradcheck`` on a tiny case. Max pools get distinct values (no ties, where the
derivative is a choice); the grid of grid_sample is a constant (its double backward is not
covered and says so).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from conftest import devices, double_backward_like_torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
import minicnn.nn.functional as F
from minicnn.ops import conv as C2
from minicnn.ops import conv1d as C1
from minicnn.ops import conv3d as C3
from minicnn.ops import conv_transpose as CT
from minicnn.ops import grid_sample as G
from minicnn.ops import pool as P
from minicnn.ops import unpool as U
from minicnn.ops import upsample as UP
from minicnn.ops.bilinear import bilinear
from minicnn.ops.linear import linear

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on its padded copy
SETTINGS = settings(max_examples=20, deadline=None)
FEW = settings(max_examples=10, deadline=None)
seeds = st.integers(0, 2**16)


def normal(seed: int, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def distinct(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Values 0.1 apart in a random order: a max pool's windows have no ties."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) / 10.0 - n / 20.0


def leaves(*arrays: np.ndarray, device: str = "cpu") -> list[mc.Tensor]:
    return [mc.tensor(a, requires_grad=True, device=device) for a in arrays]


# -- convolutions ------------------------------------------------------------------------------


@st.composite
def conv2d_cases(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    depthwise = draw(st.booleans())
    cg = 1 if depthwise else draw(st.integers(1, 2))
    o = groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if draw(st.booleans()):
        stride, padding = 1, "same"
    else:
        stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 1)))
    size = [dilation[a] * (k[a] - 1) + 1 + draw(st.integers(0, 3)) for a in range(2)]
    algos = ["auto", "direct", "im2col"] + (["depthwise"] if depthwise and groups > 1 else [])
    settings_ = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    x_shape = (draw(st.integers(1, 2)), groups * cg, *size)
    w_shape = (o, cg, *k)
    return x_shape, w_shape, draw(st.booleans()), settings_, draw(st.sampled_from(algos))


@SETTINGS
@given(conv2d_cases(), seeds)
def test_conv2d_double_backward_like_torch(case, seed):
    x_shape, w_shape, bias, kw, algo = case
    arrays = normal(seed, x_shape, w_shape, (w_shape[0],))[: 3 if bias else 2]
    double_backward_like_torch(
        lambda x, w, *b: C2.conv2d(x, w, *b, algo=algo, **kw),
        lambda x, w, *b: TF.conv2d(x, w, *b, **kw),
        arrays,
    )


@pytest.mark.parametrize("device", devices())
def test_conv2d_unbatched_depthwise_double_backward_on_device(device):
    x, w, b = normal(0, (4, 5, 6), (8, 1, 3, 3), (8,))
    kw = dict(stride=(1, 2), padding=1, groups=4)
    double_backward_like_torch(
        lambda x, w, b: C2.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw), [x, w, b], device=device
    )


def test_conv2d_gradgradcheck():
    x, w, b = leaves(*normal(1, (1, 4, 4, 3), (2, 2, 2, 2), (2,)))
    assert mc.gradgradcheck(lambda x, w, b: C2.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2), [x, w, b])


def test_conv2d_third_derivatives_like_torch():
    """d^3 of sum(conv2d(x, w, b)^2 * v): the gradient maps differentiated once more."""
    arrays = normal(2, (2, 4, 5, 4), (4, 2, 3, 2), (4,), (2, 4, 3, 2), (2, 4, 5, 4), (4, 2, 3, 2), (4,))
    kw = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    results = []
    for lib, conv in ((mc, C2.conv2d), (torch, TF.conv2d)):
        x, w, b, v, a, c, d = [lib.tensor(t, requires_grad=True) for t in arrays]
        y = conv(x, w, b, **kw)
        gx, gw, gb = lib.autograd.grad((y * y * v).sum(), [x, w, b], create_graph=True)
        s = (gx * a).sum() + (gw * c).sum() + (gb * d).sum()
        hx, hw, hv = lib.autograd.grad(s, [x, w, v], create_graph=True)
        third = lib.autograd.grad((hx * hx).sum() + (hw * c).sum() + (hv * v).sum(), [x, w, b, v])
        results.append([t.detach().numpy() for t in (hx, hw, hv, *third)])
    for m, t in zip(*results):
        np.testing.assert_allclose(m, t, rtol=1e-9, atol=1e-10)


@st.composite
def transposed_cases(draw, dims: int):
    groups = draw(st.integers(1, 2))
    cin, og = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = [draw(st.integers(1, 3)) for _ in range(dims)]
    s = [draw(st.integers(1, 2)) for _ in range(dims)]
    d = [draw(st.integers(1, 2)) for _ in range(dims)]
    p = [draw(st.integers(0, 1)) for _ in range(dims)]
    op = [draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(dims)]
    size = [draw(st.integers(1, 3)) for _ in range(dims)]
    assume(all((size[a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op[a] + 1 >= 1 for a in range(dims)))
    kw = dict(stride=tuple(s), padding=tuple(p), output_padding=tuple(op), groups=groups, dilation=tuple(d))
    return (draw(st.integers(1, 2)), cin, *size), (cin, og, *k), draw(st.booleans()), kw


@SETTINGS
@given(transposed_cases(2), seeds)
def test_conv_transpose2d_double_backward_like_torch(case, seed):
    x_shape, w_shape, bias, kw = case
    arrays = normal(seed, x_shape, w_shape, (w_shape[1] * kw["groups"],))[: 3 if bias else 2]
    double_backward_like_torch(
        lambda x, w, *b: CT.conv_transpose2d(x, w, *b, **kw),
        lambda x, w, *b: TF.conv_transpose2d(x, w, *b, **kw),
        arrays,
    )


@FEW
@given(transposed_cases(3), seeds)
def test_conv_transpose3d_double_backward_like_torch(case, seed):
    x_shape, w_shape, bias, kw = case
    arrays = normal(seed, x_shape, w_shape, (w_shape[1] * kw["groups"],))[: 3 if bias else 2]
    double_backward_like_torch(
        lambda x, w, *b: C3.conv_transpose3d(x, w, *b, **kw),
        lambda x, w, *b: TF.conv_transpose3d(x, w, *b, **kw),
        arrays,
    )


def test_conv_transpose2d_gradgradcheck():
    x, w, b = leaves(*normal(3, (1, 2, 2, 3), (2, 2, 2, 2), (4,)))
    fn = lambda x, w, b: CT.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)  # noqa: E731
    assert mc.gradgradcheck(fn, [x, w, b])


@st.composite
def conv_nd_cases(draw, dims: int):
    groups = draw(st.integers(1, 2))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = [draw(st.integers(1, 3)) for _ in range(dims)]
    d = [draw(st.integers(1, 2)) for _ in range(dims)]
    if draw(st.booleans()):
        s, p = 1, "same"
    else:
        s, p = [draw(st.integers(1, 2)) for _ in range(dims)], [draw(st.integers(0, 1)) for _ in range(dims)]
    size = [d[a] * (k[a] - 1) + 1 + draw(st.integers(0, 2)) for a in range(dims)]
    kw = dict(stride=s, padding=p, dilation=d, groups=groups)
    return (draw(st.integers(1, 2)), c, *size), (o, c // groups, *k), draw(st.booleans()), kw


@FEW
@given(conv_nd_cases(1), seeds)
def test_conv1d_double_backward_like_torch(case, seed):
    x_shape, w_shape, bias, kw = case
    arrays = normal(seed, x_shape, w_shape, (w_shape[0],))[: 3 if bias else 2]
    double_backward_like_torch(
        lambda x, w, *b: C1.conv1d(x, w, *b, **kw), lambda x, w, *b: TF.conv1d(x, w, *b, **kw), arrays
    )


@FEW
@given(conv_nd_cases(3), seeds)
def test_conv3d_double_backward_like_torch(case, seed):
    x_shape, w_shape, bias, kw = case
    arrays = normal(seed, x_shape, w_shape, (w_shape[0],))[: 3 if bias else 2]
    double_backward_like_torch(
        lambda x, w, *b: C3.conv3d(x, w, *b, **kw), lambda x, w, *b: TF.conv3d(x, w, *b, **kw), arrays
    )


def test_conv_transpose1d_double_backward_like_torch():
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)
    double_backward_like_torch(
        lambda x, w, b: C1.conv_transpose1d(x, w, b, **kw),
        lambda x, w, b: TF.conv_transpose1d(x, w, b, **kw),
        normal(4, (2, 4, 5), (4, 3, 3), (6,)),
    )


def test_conv3d_gradgradcheck():
    x, w = leaves(*normal(5, (1, 2, 3, 2, 3), (2, 1, 2, 1, 2)))
    assert mc.gradgradcheck(lambda x, w: C3.conv3d(x, w, stride=(1, 1, 2), padding=(1, 0, 0), groups=2), [x, w])


def test_unfold_and_fold_double_backward_like_torch():
    x, cols = normal(6, (2, 3, 5, 6), (2, 12, 8))
    kw = dict(padding=1, stride=2, dilation=(1, 2))
    double_backward_like_torch(
        lambda x: CT.unfold(x, (2, 3), **kw) ** 2, lambda x: TF.unfold(x, (2, 3), **kw) ** 2, [x]
    )
    double_backward_like_torch(
        lambda c: CT.fold(c, (4, 5), 2, stride=(2, 1)) ** 2, lambda c: TF.fold(c, (4, 5), 2, stride=(2, 1)) ** 2, [cols]
    )


# -- linear layers -----------------------------------------------------------------------------


@SETTINGS
@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from(["bias", "none", "vector"]),
    seeds,
)
def test_linear_double_backward_like_torch(lead, n_in, n_out, kind, seed):
    x, w, b = normal(seed, (*lead, n_in), (n_out, n_in), (n_out,))
    arrays = {"bias": [x, w, b], "none": [x, w], "vector": [x, w[0]]}[kind]
    double_backward_like_torch(linear, TF.linear, arrays)


@pytest.mark.parametrize("device", devices())
def test_linear_double_backward_on_device(device):
    double_backward_like_torch(linear, TF.linear, normal(7, (2, 3, 4), (5, 4), (5,)), device=device)


@pytest.mark.parametrize("bias_shape", [(), (1,), (1, 1), (3, 5), (2, 3, 5)])
def test_linear_with_a_bias_that_broadcasts_like_torch(bias_shape):
    """torch's F.linear takes any bias that broadcasts to the output (*, out); a (2,) bias for
    5 outputs is refused by both."""
    x, w, b = normal(9, (2, 3, 4), (5, 4), bias_shape)
    double_backward_like_torch(linear, TF.linear, [x, w, b])
    with pytest.raises(RuntimeError):
        TF.linear(torch.tensor(x), torch.tensor(w), torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="bias of shape"):
        linear(mc.tensor(x), mc.tensor(w), mc.zeros(2, dtype=mc.float64))


def test_linear_gradgradcheck():
    assert mc.gradgradcheck(linear, leaves(*normal(8, (2, 3), (2, 3), (2,))))


@FEW
@given(st.lists(st.integers(1, 3), min_size=0, max_size=2), st.integers(1, 3), st.integers(1, 3), st.booleans(), seeds)
def test_bilinear_double_backward_like_torch(lead, i, j, bias, seed):
    arrays = normal(seed, (*lead, i), (*lead, j), (2, i, j), (2,))[: 4 if bias else 3]
    double_backward_like_torch(bilinear, TF.bilinear, arrays)


def test_bilinear_gradgradcheck():
    assert mc.gradgradcheck(bilinear, leaves(*normal(9, (2, 2), (2, 3), (2, 2, 3), (2,))))


# -- pools -----------------------------------------------------------------------------------


@st.composite
def pool2d_cases(draw, dilation: bool):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    size = [d[a] * (k[a] - 1) + 1 + draw(st.integers(0, 3)) for a in range(2)]
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=draw(st.booleans()))
    if dilation:
        kw["dilation"] = d
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *size), kw


@SETTINGS
@given(pool2d_cases(dilation=True), seeds)
def test_max_pool2d_double_backward_like_torch(case, seed):
    shape, kw = case
    double_backward_like_torch(
        lambda x: P.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [distinct(seed, shape)]
    )


@SETTINGS
@given(pool2d_cases(dilation=False), st.booleans(), st.sampled_from([None, 1, 3]), seeds)
def test_avg_pool2d_double_backward_like_torch(case, include_pad, divisor, seed):
    shape, kw = case
    kw = dict(kw, count_include_pad=include_pad, divisor_override=divisor)
    double_backward_like_torch(lambda x: P.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), normal(seed, shape))


@SETTINGS
@given(
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
    st.sampled_from(["max", "avg"]),
    seeds,
)
def test_adaptive_pool2d_double_backward_like_torch(size, out, kind, seed):
    mc_fn, torch_fn = (
        (P.adaptive_max_pool2d, TF.adaptive_max_pool2d)
        if kind == "max"
        else (
            P.adaptive_avg_pool2d,
            TF.adaptive_avg_pool2d,
        )
    )
    x = distinct(seed, (2, 2, *size))
    double_backward_like_torch(lambda x: mc_fn(x, out) ** 2, lambda x: torch_fn(x, out) ** 2, [x])


@pytest.mark.parametrize("device", devices())
def test_pools_double_backward_on_device(device):
    x = distinct(10, (2, 3, 7, 6))
    cases = [
        (lambda x: P.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1)),
        (lambda x: P.avg_pool2d(x, 3, 2, 1), lambda x: TF.avg_pool2d(x, 3, 2, 1)),
        (lambda x: P.adaptive_max_pool2d(x, (4, 4)), lambda x: TF.adaptive_max_pool2d(x, (4, 4))),
        (lambda x: P.adaptive_avg_pool2d(x, (4, 4)), lambda x: TF.adaptive_avg_pool2d(x, (4, 4))),
    ]
    for mc_fn, torch_fn in cases:  # squared: second derivatives w.r.t. x as well as the seed
        double_backward_like_torch(lambda x, f=mc_fn: f(x) ** 2, lambda x, f=torch_fn: f(x) ** 2, [x], device=device)


POOLS_3D_1D = {
    "max3d": (lambda x: C3.max_pool3d(x, 2), lambda x: TF.max_pool3d(x, 2)),
    "max3d-dilated": (
        lambda x: C3.max_pool3d(x, 3, 2, 1, dilation=(1, 2, 1)),
        lambda x: TF.max_pool3d(x, 3, 2, 1, dilation=(1, 2, 1)),
    ),
    "avg3d": (lambda x: C3.avg_pool3d(x, 3, 2, 1, ceil_mode=True), lambda x: TF.avg_pool3d(x, 3, 2, 1, ceil_mode=True)),
    "adaptive-max3d": (lambda x: C3.adaptive_max_pool3d(x, (3, 2, 4)), lambda x: TF.adaptive_max_pool3d(x, (3, 2, 4))),
    "adaptive-avg3d": (lambda x: C3.adaptive_avg_pool3d(x, (3, 2, 4)), lambda x: TF.adaptive_avg_pool3d(x, (3, 2, 4))),
    "max1d": (lambda x: C1.max_pool1d(x, 3, 2, 1), lambda x: TF.max_pool1d(x, 3, 2, 1)),
    "avg1d": (lambda x: C1.avg_pool1d(x, 3, 2, 1), lambda x: TF.avg_pool1d(x, 3, 2, 1)),
    "adaptive-max1d": (lambda x: C1.adaptive_max_pool1d(x, 4), lambda x: TF.adaptive_max_pool1d(x, 4)),
    "adaptive-avg1d": (lambda x: C1.adaptive_avg_pool1d(x, 4), lambda x: TF.adaptive_avg_pool1d(x, 4)),
}


@pytest.mark.parametrize("name", POOLS_3D_1D)
def test_3d_and_1d_pools_double_backward_like_torch(name):
    mc_fn, torch_fn = POOLS_3D_1D[name]
    x = distinct(11, (2, 2, 5, 4, 6) if "3d" in name else (2, 3, 9))
    double_backward_like_torch(lambda x: mc_fn(x) ** 2, lambda x: torch_fn(x) ** 2, [x])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: P.max_pool2d(x, 2, 1),
        lambda x: P.avg_pool2d(x, 2, 1, 1, count_include_pad=False),
        lambda x: P.adaptive_max_pool2d(x, (2, 3)),
        lambda x: P.adaptive_avg_pool2d(x, (2, 3)),
        lambda x: C3.max_pool3d(x.reshape(1, 2, 1, 3, 4), (1, 2, 2), 1),
    ],
    ids=["max", "avg", "adaptive-max", "adaptive-avg", "max3d"],
)
def test_pools_gradgradcheck(fn):
    (x,) = leaves(distinct(12, (1, 2, 3, 4)))
    assert mc.gradgradcheck(lambda x: fn(x) ** 2, [x])


def test_lp_pool2d_double_backward_like_torch():
    x = np.random.default_rng(13).uniform(0.5, 2.0, (2, 3, 6, 5))
    for p in (2, 3.0):
        double_backward_like_torch(lambda x, p=p: U.lp_pool2d(x, p, 2), lambda x, p=p: TF.lp_pool2d(x, p, 2), [x])


# -- unpooling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1)], ids=["tiled", "overlapping"])
def test_max_unpool2d_double_backward_like_torch(device, kernel, stride):
    """Overlapping pools record a position more than once: the gather's adjoint adds them up."""
    y, idx = TF.max_pool2d(torch.tensor(distinct(14, (2, 3, 6, 5))), kernel, stride, return_indices=True)
    double_backward_like_torch(
        lambda v, i: U.max_unpool2d(v, i, kernel, stride, output_size=(6, 5)) * 3.0,
        lambda v, i: TF.max_unpool2d(v, i, kernel, stride, output_size=(6, 5)) * 3.0,
        [y.numpy(), idx.numpy()],
        grad_inputs=[True, False],
        device=device,
    )


def test_max_unpool_gradgradcheck():
    y, idx = TF.max_pool1d(torch.tensor(distinct(15, (1, 2, 6))), 2, return_indices=True)
    (v,) = leaves(y.numpy())
    assert mc.gradgradcheck(lambda v: U.max_unpool1d(v, mc.tensor(idx.numpy()), 2) ** 2, [v])


# -- resizing ----------------------------------------------------------------------------------


@st.composite
def interpolate_cases(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"]))
    dims = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(mode) or draw(st.integers(1, 3))
    size = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    kw: dict = {"mode": mode}
    if draw(st.booleans()):
        kw["size"] = tuple(draw(st.integers(1, 6)) for _ in range(dims))
    else:
        kw["scale_factor"] = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.7]))
        assume(all(int(n * kw["scale_factor"]) >= 1 for n in size))
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        kw["align_corners"] = draw(st.booleans())
    return (draw(st.integers(1, 2)), 2, *size), kw


@SETTINGS
@given(interpolate_cases(), seeds)
def test_interpolate_double_backward_like_torch(case, seed):
    shape, kw = case
    double_backward_like_torch(
        lambda x: UP.interpolate(x, **kw) ** 2, lambda x: TF.interpolate(x, **kw) ** 2, normal(seed, shape)
    )


@pytest.mark.parametrize("device", devices())
def test_interpolate_bicubic_double_backward_on_device(device):
    kw = dict(size=(5, 3), mode="bicubic", align_corners=False)
    double_backward_like_torch(
        lambda x: UP.interpolate(x, **kw) ** 2,
        lambda x: TF.interpolate(x, **kw) ** 2,
        normal(16, (1, 2, 3, 4)),
        device=device,
    )


def test_interpolate_gradgradcheck():
    (x,) = leaves(*normal(17, (1, 1, 3, 2)))
    assert mc.gradgradcheck(lambda x: UP.interpolate(x, size=(4, 3), mode="bilinear", align_corners=False) ** 2, [x])


# -- grid sampling -----------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["bilinear", "nearest", "bicubic"]),
    st.sampled_from(["zeros", "border", "reflection"]),
    st.booleans(),
    seeds,
)
def test_grid_sample_input_double_backward_like_torch(mode, padding_mode, align_corners, seed):
    x, grid = normal(seed, (2, 2, 4, 3), (2, 3, 2, 2))
    args = (mode, padding_mode, align_corners)
    double_backward_like_torch(
        lambda x, g: G.grid_sample(x, g, *args) ** 2,
        lambda x, g: TF.grid_sample(x, g, *args) ** 2,
        [x, grid * 0.8],
        grad_inputs=[True, False],
    )


@pytest.mark.parametrize("device", devices())
def test_grid_sample_3d_and_affine_grid_double_backward_like_torch(device):
    x, grid, theta = normal(18, (2, 2, 3, 4, 3), (2, 2, 3, 2, 3), (2, 3, 4))
    double_backward_like_torch(
        lambda x, g: G.grid_sample(x, g, "bilinear", "border", False) ** 2,
        lambda x, g: TF.grid_sample(x, g, "bilinear", "border", False) ** 2,
        [x, grid],
        grad_inputs=[True, False],
        device=device,
    )
    double_backward_like_torch(
        lambda t: G.affine_grid(t, (2, 1, 3, 2, 4), True) ** 2,
        lambda t: TF.affine_grid(t, (2, 1, 3, 2, 4), True) ** 2,
        [theta],
        device=device,
    )


def test_grid_sample_gradgradcheck_in_the_input():
    x, grid = normal(19, (1, 2, 3, 3), (1, 2, 2, 2))
    (xt,) = leaves(x)
    g = mc.tensor(grid * 0.9)
    assert mc.gradgradcheck(lambda x: G.grid_sample(x, g, "bicubic", "zeros", False) ** 2, [xt])


def test_grid_sample_double_backward_through_the_grid_is_not_supported():
    x, grid = leaves(*normal(20, (1, 1, 3, 3), (1, 2, 2, 2)))
    y = G.grid_sample(x, grid, align_corners=False)
    with pytest.raises(NotImplementedError, match="grid_sample: create_graph=True .* input only"):
        mc.autograd.grad((y * y).sum(), [x], create_graph=True)


TIED = {
    "avg_pool2d": (lambda F, x: F.avg_pool2d(x, 2), (1, 1, 4, 4)),
    "max_pool2d": (lambda F, x: F.max_pool2d(x, 2), (1, 1, 4, 4)),
    "adaptive_avg_pool2d": (lambda F, x: F.adaptive_avg_pool2d(x, 3), (1, 1, 4, 4)),
    "adaptive_max_pool2d": (lambda F, x: F.adaptive_max_pool2d(x, 3), (1, 1, 4, 4)),
    "avg_pool3d": (lambda F, x: F.avg_pool3d(x, 2), (1, 1, 4, 4, 4)),
    "max_pool3d": (lambda F, x: F.max_pool3d(x, 2), (1, 1, 4, 4, 4)),
    "max_pool1d": (lambda F, x: F.max_pool1d(x, 2), (1, 1, 4)),
    "reflect": (lambda F, x: F.pad(x, (1, 1, 1, 1), mode="reflect"), (1, 1, 4, 4)),
    "replicate": (lambda F, x: F.pad(x, (1, 1, 1, 1), mode="replicate"), (1, 1, 4, 4)),
    "circular": (lambda F, x: F.pad(x, (1, 1, 1, 1), mode="circular"), (1, 1, 4, 4)),
    "area": (lambda F, x: F.interpolate(x, size=3, mode="area"), (1, 1, 4, 4)),
    "bilinear": (lambda F, x: F.interpolate(x, size=3, mode="bilinear"), (1, 1, 4, 4)),
    "grid_sample": (lambda F, x: F.grid_sample(x, x.new_zeros((1, 2, 2, 2)), align_corners=False), (1, 1, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(TIED))
def test_first_gradient_is_tied_to_the_input_where_torchs_is(name):
    """torch's pool, reflect/replicate pad, area and grid_sample backward take the input, so the
    first gradient keeps a (zero-derivative) edge to it; the others' do not. Differentiating
    that gradient again then gives zeros (or none), not an error, on both sides."""
    fn, shape = TIED[name]
    x = np.random.default_rng(0).standard_normal(shape)
    tied = []
    for lib, F_ in ((mc, F), (torch, TF)):
        t = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad(fn(F_, t).sum(), t, create_graph=True)
        tied.append(g.requires_grad)
        if g.requires_grad:  # (torch's grid_sample gradient requires grad without an edge to x)
            (gg,) = lib.autograd.grad(g.sum(), t, allow_unused=True)
            assert gg is None or not gg.numpy().any()
    assert tied[0] == tied[1]
