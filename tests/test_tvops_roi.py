"""roi_align / roi_pool (minicnn.ops.roi, kernels in minicnn.kernels.roi) and the RoIAlign /
RoIPool layers against torchvision.ops 0.29: forward and input gradient on drawn maps and boxes
(boxes partly outside the map, degenerate boxes, both box forms, every sampling mode,
aligned or not, spatial scales), float64 gradcheck, and second derivatives by mc.gradgradcheck
(torchvision's own roi ops refuse double backward, so torch cannot be the oracle there)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torchvision.ops as tv
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.kernels import roi as K
from minicnn.nn.vision_layers import RoIAlign, RoIPool
from minicnn.ops.roi import roi_align, roi_pool


def draw_rois(rng: np.random.Generator, n: int, k: int, h: int, w: int, scale: float) -> np.ndarray:
    """(k, 5) rois in image coordinates (map size / scale), some reaching past the borders,
    some tiny or inverted."""
    size = np.array([w, h]) / scale
    corner = rng.uniform(-0.3, 1.1, (k, 2)) * size
    side = rng.uniform(-0.1, 0.9, (k, 2)) * size
    return np.concatenate([rng.integers(0, n, (k, 1)), corner, corner + side], axis=1)


def as_list(rois: Any, n: int) -> list:
    """The (K, 5) rows as torchvision's other form: one (L_i, 4) tensor per image (rows sorted by image)."""
    return [rois[rois[:, 0] == i][:, 1:] for i in range(n)]


roi_case = st.fixed_dictionaries(
    {
        "n": st.integers(1, 2),
        "c": st.integers(1, 3),
        "h": st.integers(1, 9),
        "w": st.integers(1, 9),
        "k": st.integers(0, 5),
        "out": st.sampled_from([1, 2, (2, 3), (3, 1)]),
        "scale": st.sampled_from([1.0, 0.5, 0.25, 2.0]),
        "seed": st.integers(0, 2**31 - 1),
    }
)


def case_arrays(case: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"]))
    rois = draw_rois(rng, case["n"], case["k"], case["h"], case["w"], case["scale"])
    return x, rois[np.argsort(rois[:, 0], kind="stable")]


@settings(max_examples=40, deadline=None)
@given(case=roi_case, sampling_ratio=st.sampled_from([-1, 0, 1, 2, 3]), aligned=st.booleans(), listed=st.booleans())
def test_roi_align_matches_torchvision(case: dict, sampling_ratio: int, aligned: bool, listed: bool) -> None:
    x, rois = case_arrays(case)
    args = (case["out"], case["scale"], sampling_ratio, aligned)
    n = case["n"]
    compare_with_torch(
        lambda a, r: roi_align(a, as_list(r, n) if listed else r, *args),
        lambda a, r: tv.roi_align(a, as_list(r, n) if listed else r, *args),
        [x, rois],
        grad_inputs=[True, False],
        seed=case["seed"],
    )


@settings(max_examples=40, deadline=None)
@given(case=roi_case, listed=st.booleans())
def test_roi_pool_matches_torchvision(case: dict, listed: bool) -> None:
    x, rois = case_arrays(case)
    n = case["n"]
    compare_with_torch(
        lambda a, r: roi_pool(a, as_list(r, n) if listed else r, case["out"], case["scale"]),
        lambda a, r: tv.roi_pool(a, as_list(r, n) if listed else r, case["out"], case["scale"]),
        [x, rois],
        grad_inputs=[True, False],
        seed=case["seed"],
    )


@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_float32(aligned: bool) -> None:
    rng = np.random.default_rng(1)
    x, rois = rng.standard_normal((2, 4, 12, 10)), draw_rois(rng, 2, 7, 12, 10, 1.0)
    for sampling_ratio in (-1, 2):
        args = ((3, 3), 1.0, sampling_ratio, aligned)
        compare_with_torch(
            lambda a, r, args=args: roi_align(a, r, *args),
            lambda a, r, args=args: tv.roi_align(a, r, *args),
            [x, rois],
            grad_inputs=[True, False],
            dtype=np.float32,
            rtol=1e-5,
            atol=2e-6,
        )


def test_roi_align_float32_is_computed_in_float32_as_torchvision() -> None:
    """The bilinear weights stay in the input's dtype (C++'s T): float32 results agree with
    torchvision's to float32 rounding, not to float64 weights' (which differ by ~1e-7)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8, 15, 13)).astype(np.float32)
    rois = draw_rois(rng, 2, 40, 15, 13, 0.5).astype(np.float32)
    for sampling_ratio, aligned in ((-1, True), (2, False)):
        args = ((4, 3), 0.5, sampling_ratio, aligned)
        weights = K._sample_axis(rois[:, 1], rois[:, 3] - rois[:, 1], np.full(40, 2), 0, 3, 13)[2]
        assert weights.dtype == np.float32
        got = roi_align(mc.tensor(x), mc.tensor(rois), *args).numpy()
        ref = tv.roi_align(torch.from_numpy(x), torch.from_numpy(rois), *args).numpy()
        np.testing.assert_allclose(got, ref, rtol=0, atol=3e-8)


def test_roi_align_adaptive_grids_of_different_sizes() -> None:
    """Adaptive sampling with rois of very different sizes (grids 1 x 1 up to 6 x 5, only the
    rois having a sample offset take it), forward and gradient against torchvision."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 14, 12))
    rois = np.array([[0, 0, 0, 11, 13], [1, 2, 3, 3, 4], [0, 1.5, 2.5, 7, 13], [1, -2, -1, 1, 1], [0, 5, 5, 5.2, 5.1]])
    for aligned in (False, True):
        compare_with_torch(
            lambda a, r, aligned=aligned: roi_align(a, r, (2, 2), 1.0, -1, aligned),
            lambda a, r, aligned=aligned: tv.roi_align(a, r, (2, 2), 1.0, -1, aligned),
            [x, rois],
            grad_inputs=[True, False],
        )


def test_roi_pool_ties_go_to_the_first_maximum_as_torchvision() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, (1, 2, 8, 8)).astype(np.float64)  # many equal maxima
    rois = np.array([[0, 0, 0, 7, 7], [0, 1.5, 2.5, 6.5, 4.0], [0, 3, 3, 3, 3], [0, -4, -4, -1, -1]])
    for dtype in (np.float32, np.float64):
        compare_with_torch(
            lambda a, r: roi_pool(a, r, (3, 2), 1.0),
            lambda a, r: tv.roi_pool(a, r, (3, 2), 1.0),
            [x, rois],
            grad_inputs=[True, False],
            dtype=dtype,
        )


def test_roi_pool_rounds_halves_away_from_zero_as_torchvision() -> None:
    """Box corners at .5 after scaling: C's round(), not NumPy's round-half-to-even."""
    x = np.random.default_rng(3).standard_normal((1, 1, 9, 9))
    rois = np.array([[0, 0.5, 1.5, 2.5, 4.5], [0, 1, 3, 5, 7], [0, -0.5, -1.5, 6.5, 3.5]])
    for scale in (1.0, 0.5):
        ref = tv.roi_pool(torch.tensor(x), torch.tensor(rois), 2, scale).numpy()
        np.testing.assert_array_equal(roi_pool(mc.tensor(x), mc.tensor(rois), 2, scale).numpy(), ref)


def test_gradcheck_float64() -> None:
    rng = np.random.default_rng(4)
    x = mc.tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)
    rois = mc.tensor(draw_rois(rng, 2, 3, 5, 6, 1.0))
    assert mc.gradcheck(lambda a: roi_align(a, rois, 2, 1.0, -1, False), [x])
    assert mc.gradcheck(lambda a: roi_align(a, rois, (2, 3), 0.5, 2, True), [x])
    assert mc.gradcheck(lambda a: roi_pool(a, rois, (2, 2), 1.0), [x])


def test_gradgradcheck_float64() -> None:
    rng = np.random.default_rng(5)
    x = mc.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    rois = mc.tensor(np.array([[0, 0.3, 0.2, 2.9, 3.1], [0, 1.2, -0.4, 3.6, 2.2]]))
    assert mc.gradgradcheck(lambda a: roi_align(a, rois, 2, 1.0, 2, True) ** 2, [x])
    assert mc.gradgradcheck(lambda a: roi_pool(a, rois, 2, 1.0) ** 2, [x])


def test_second_order_terms_by_hand() -> None:
    """d/dx of <grad_x(sum(y^2) / 2), v> = A^T A v for roi_align (y = A x), and the same through
    the argmax scatter for roi_pool: checked against the explicit matrix."""
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((1, 1, 4, 5))
    rois = mc.tensor(np.array([[0, 0.2, 0.1, 3.7, 2.9], [0, 1.0, 1.0, 4.0, 3.0]]))
    v = rng.standard_normal(x0.shape)
    for fn in (lambda a: roi_align(a, rois, 2, 1.0, 2, False), lambda a: roi_pool(a, rois, 2, 1.0)):
        cols = []
        for j in range(x0.size):  # A's columns: the op is piecewise linear; x0 fixes the argmax
            e = np.zeros(x0.size)
            e[j] = 1e-3
            cols.append((fn(mc.tensor(x0 + e.reshape(x0.shape))) - fn(mc.tensor(x0))).numpy().ravel() / 1e-3)
        a = np.stack(cols, axis=1)
        x = mc.tensor(x0, requires_grad=True)
        (g,) = mc.autograd.grad((fn(x) ** 2).sum() / 2, [x], create_graph=True)
        (gg,) = mc.autograd.grad((g * mc.tensor(v)).sum(), [x])
        np.testing.assert_allclose(gg.numpy().ravel(), a.T @ a @ v.ravel(), atol=1e-8)


@pytest.mark.parametrize("device", devices())
def test_roi_ops_on_device(device: str) -> None:
    rng = np.random.default_rng(7)
    x, rois = rng.standard_normal((2, 3, 7, 6)), draw_rois(rng, 2, 4, 7, 6, 0.5)
    for mc_fn, tv_fn in (
        (lambda a, r: roi_align(a, r, 2, 0.5, -1, True), lambda a, r: tv.roi_align(a, r, 2, 0.5, -1, True)),
        (lambda a, r: roi_pool(a, r, (2, 3), 0.5), lambda a, r: tv.roi_pool(a, r, (2, 3), 0.5)),
    ):
        compare_with_torch(mc_fn, tv_fn, [x, rois], grad_inputs=[True, False], device=device)


def test_layers_match_torchvision_and_their_reprs() -> None:
    rng = np.random.default_rng(8)
    x, rois = rng.standard_normal((2, 3, 6, 6)), draw_rois(rng, 2, 3, 6, 6, 1.0)
    pairs = [
        (RoIAlign((2, 2), 0.5, 2, aligned=True), tv.RoIAlign((2, 2), 0.5, 2, aligned=True)),
        (RoIAlign(3, 1.0, -1), tv.RoIAlign(3, 1.0, -1)),
        (RoIPool(2, 0.5), tv.RoIPool(2, 0.5)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        got = ours(mc.tensor(x), mc.tensor(rois)).numpy()
        np.testing.assert_allclose(got, theirs(torch.tensor(x), torch.tensor(rois)).numpy(), rtol=1e-12, atol=1e-12)
        assert not list(ours.parameters())


def test_no_rois_gives_an_empty_result() -> None:
    x = mc.tensor(np.ones((1, 2, 3, 3)), requires_grad=True)
    for fn in (roi_align, roi_pool):
        y = fn(x, mc.zeros(0, 5, dtype=np.float64), 2)
        assert y.shape == (0, 2, 2, 2)
        y.sum().backward()
        assert not x.grad.numpy().any()
        x.grad = None
    assert roi_align(x, [mc.zeros(0, 4, dtype=np.float64)], 2).shape == (0, 2, 2, 2)


@pytest.mark.parametrize("shape", [(1, 2, 0, 4), (1, 2, 4, 0)])
def test_an_empty_map_gives_zeros_and_a_zero_gradient(shape: tuple) -> None:
    """Every bin of an empty map is empty: 0, as torchvision's rule for empty bins (whose own
    kernels crash on such a map)."""
    x = mc.tensor(np.ones(shape), requires_grad=True)
    for fn in (roi_align, roi_pool):
        y = fn(x, mc.tensor(np.array([[0, 0, 0, 3, 3.0]])), 2)
        assert y.shape == (1, 2, 2, 2) and not y.numpy().any()
        y.sum().backward()
        assert x.grad.shape == shape
        x.grad = None


def test_bad_arguments_raise_clear_errors() -> None:
    x = mc.ones(1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"roi_align: boxes as a Tensor must have shape \(K, 5\), got \(2, 4\)"):
        roi_align(x, mc.zeros(2, 4), 2)
    with pytest.raises(ValueError, match=r"roi_pool: boxes as a list must hold Tensor\[L, 4\]"):
        roi_pool(x, [mc.zeros(2, 5)], 2)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, C, H, W\), got \(2, 4, 4\)"):
        roi_align(mc.ones(2, 4, 4), mc.zeros(1, 5), 2)
    with pytest.raises(TypeError, match="boxes should have the dtype of input"):
        roi_align(x, mc.zeros(1, 5, dtype=np.float64), 2)
    with pytest.raises(ValueError, match=r"batch indices in boxes must lie in \[0, 0\]"):
        roi_pool(x, mc.tensor([[1.0, 0, 0, 2, 2]]), 2)
    with pytest.raises(ValueError, match="output_size must be a positive int"):
        roi_align(x, mc.zeros(1, 5), (2, 0))
