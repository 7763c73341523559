"""minicnn.ops.boxes against torchvision.ops 0.29: box formats and areas, the IoU family and
its losses, the focal loss (forward, backward, float64 gradcheck, second derivatives),
clipping, filtering, masks_to_boxes, and NMS (exact indices, including tied scores and both
of batched_nms' strategies)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torchvision.ops as tv
from conftest import compare_with_torch, devices, double_backward_like_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.ops import boxes as B

PAIRWISE = ["box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"]
LOSSES = ["generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"]


def xyxy(rng: np.random.Generator, shape: tuple[int, ...], span: float = 10.0) -> np.ndarray:
    """Random boxes (*shape, 4) in xyxy form, sides in [0.5, 5]."""
    corner = rng.uniform(0, span, shape + (2,))
    return np.concatenate([corner, corner + rng.uniform(0.5, 5.0, shape + (2,))], axis=-1)


def in_format(boxes: np.ndarray, fmt: str) -> np.ndarray:
    return tv.box_convert(torch.from_numpy(boxes), "xyxy", fmt).numpy()


# -- pairwise IoUs -------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    fn=st.sampled_from(PAIRWISE),
    n=st.integers(1, 5),
    m=st.integers(1, 4),
    batch=st.sampled_from([(), (2,)]),
    seed=st.integers(0, 2**31 - 1),
)
def test_pairwise_iou_family_matches_torchvision(fn: str, n: int, m: int, batch: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = xyxy(rng, batch + (n,)), xyxy(rng, batch + (m,))
    compare_with_torch(getattr(B, fn), getattr(tv, fn), [a, b], seed=seed)


@settings(max_examples=15, deadline=None)
@given(fmt=st.sampled_from(["xyxy", "xywh", "cxcywh"]), n=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_box_iou_and_area_in_every_format_match_torchvision(fmt: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = in_format(xyxy(rng, (n,)), fmt), in_format(xyxy(rng, (3,)), fmt)
    compare_with_torch(lambda x, y: B.box_iou(x, y, fmt=fmt), lambda x, y: tv.box_iou(x, y, fmt=fmt), [a, b])
    compare_with_torch(lambda x: B.box_area(x, fmt=fmt), lambda x: tv.box_area(x, fmt=fmt), [a])


@pytest.mark.parametrize("in_fmt", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("out_fmt", ["xyxy", "xywh", "cxcywh"])
def test_box_convert_matches_torchvision(in_fmt: str, out_fmt: str) -> None:
    boxes = in_format(xyxy(np.random.default_rng(1), (2, 3)), in_fmt)
    compare_with_torch(
        lambda x: B.box_convert(x, in_fmt, out_fmt), lambda x: tv.box_convert(x, in_fmt, out_fmt), [boxes]
    )


def test_box_area_of_integer_boxes_upcasts_as_torchvision() -> None:
    boxes = np.array([[0, 0, 200, 100], [1, 2, 3, 7]], dtype=np.int16)
    got, ref = B.box_area(mc.tensor(boxes)), tv.box_area(torch.from_numpy(boxes))
    assert got.dtype == np.int32 and ref.dtype == torch.int32
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


# -- losses --------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    fn=st.sampled_from(LOSSES),
    n=st.integers(0, 6),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    eps=st.sampled_from([1e-7, 0.1]),
    seed=st.integers(0, 2**31 - 1),
)
def test_box_losses_match_torchvision(fn: str, n: int, reduction: str, eps: float, seed: int) -> None:
    """Matched pairs, overlapping or not (span 6 vs sides up to 5); empty input for 'mean' too."""
    rng = np.random.default_rng(seed)
    a, b = xyxy(rng, (n,), span=6.0), xyxy(rng, (n,), span=6.0)
    compare_with_torch(
        lambda x, y: getattr(B, fn)(x, y, reduction, eps),
        lambda x, y: getattr(tv, fn)(x, y, reduction, eps),
        [a, b],
        seed=seed,
    )


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(5,), (3, 4), (2, 3, 2)]),
    alpha=st.sampled_from([0.25, 0.5, 0.0, 1.0, -1]),
    gamma=st.sampled_from([0, 1, 2, 1.5]),
    reduction=st.sampled_from(["none", "mean", "sum"]),
    soft=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_sigmoid_focal_loss_matches_torchvision(
    shape: tuple, alpha: float, gamma: float, reduction: str, soft: bool, seed: int
) -> None:
    """Gradients for both the logits and the targets (0/1 labels or soft ones)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, shape)
    t = rng.uniform(0, 1, shape) if soft else (rng.random(shape) < 0.4).astype(np.float64)
    compare_with_torch(
        lambda a, b: B.sigmoid_focal_loss(a, b, alpha, gamma, reduction),
        lambda a, b: tv.sigmoid_focal_loss(a, b, alpha, gamma, reduction),
        [x, t],
        seed=seed,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_and_ious_in_float32(dtype: Any) -> None:
    rng = np.random.default_rng(3)
    a, b = xyxy(rng, (6,), span=6.0), xyxy(rng, (6,), span=6.0)
    for fn in LOSSES + PAIRWISE:
        compare_with_torch(getattr(B, fn), getattr(tv, fn), [a, b], dtype=dtype, rtol=1e-4, atol=1e-5)


# -- gradcheck and second derivatives ------------------------------------------------------------
def test_gradcheck_float64() -> None:
    """CIoU is left out: its alpha is held constant (torchvision's choice), so its gradient is
    deliberately not the derivative; the comparison with torchvision covers it."""
    rng = np.random.default_rng(4)
    a = mc.tensor(xyxy(rng, (3,), span=4.0), requires_grad=True)
    b = mc.tensor(xyxy(rng, (3,), span=4.0), requires_grad=True)
    for fn in PAIRWISE[:3]:
        assert mc.gradcheck(getattr(B, fn), [a, b])
    for fn in LOSSES[:2]:
        assert mc.gradcheck(lambda x, y, fn=fn: getattr(B, fn)(x, y, "sum"), [a, b])
    x = mc.tensor(rng.uniform(-3, 3, (4,)), requires_grad=True)
    t = mc.tensor(rng.uniform(0, 1, (4,)), requires_grad=True)
    assert mc.gradcheck(lambda u, v: B.sigmoid_focal_loss(u, v, 0.3, 2, "mean"), [x, t])
    assert mc.gradcheck(lambda u: B.clip_boxes_to_image(u, (6, 7)), [a])


def test_gradgradcheck_float64() -> None:
    rng = np.random.default_rng(5)
    a = mc.tensor(xyxy(rng, (2,), span=3.0), requires_grad=True)
    b = mc.tensor(xyxy(rng, (2,), span=3.0), requires_grad=True)
    assert mc.gradgradcheck(B.generalized_box_iou, [a, b])
    assert mc.gradgradcheck(lambda x, y: B.distance_box_iou_loss(x, y, "sum"), [a, b])
    x = mc.tensor(rng.uniform(-3, 3, (3,)), requires_grad=True)
    t = mc.tensor(rng.uniform(0, 1, (3,)), requires_grad=True)
    assert mc.gradgradcheck(lambda u, v: B.sigmoid_focal_loss(u, v, 0.25, 1.5), [x, t])


@settings(max_examples=12, deadline=None)
@given(fn=st.sampled_from(PAIRWISE + LOSSES + ["sigmoid_focal_loss"]), seed=st.integers(0, 2**31 - 1))
def test_second_derivatives_match_torch(fn: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    if fn == "sigmoid_focal_loss":
        arrays = [rng.uniform(-3, 3, (2, 3)), rng.uniform(0, 1, (2, 3))]
    else:
        arrays = [xyxy(rng, (3,), span=5.0), xyxy(rng, (3,), span=5.0)]
    double_backward_like_torch(getattr(B, fn), getattr(tv, fn), arrays, seed=seed, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("device", devices())
def test_box_ops_on_device(device: str) -> None:
    rng = np.random.default_rng(6)
    a, b = xyxy(rng, (3,), span=5.0), xyxy(rng, (3,), span=5.0)
    compare_with_torch(B.complete_box_iou, tv.complete_box_iou, [a, b], device=device)
    compare_with_torch(B.generalized_box_iou_loss, tv.generalized_box_iou_loss, [a, b], device=device)
    x, t = rng.uniform(-3, 3, (4,)), (rng.random(4) < 0.5).astype(np.float64)
    compare_with_torch(B.sigmoid_focal_loss, tv.sigmoid_focal_loss, [x, t], device=device)
    boxes, scores = xyxy(rng, (20,)).astype(np.float32), rng.random(20).astype(np.float32)
    keep = B.nms(mc.tensor(boxes, device=device), mc.tensor(scores, device=device), 0.2)
    assert keep.device == mc.tensor(boxes, device=device).device
    np.testing.assert_array_equal(keep.numpy(), tv.nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.2))


# -- clipping, filtering, masks ------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(
    batch=st.sampled_from([(5,), (2, 3)]),
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    seed=st.integers(0, 2**31 - 1),
)
def test_clip_boxes_to_image_matches_torchvision(batch: tuple, size: tuple, seed: int) -> None:
    boxes = xyxy(np.random.default_rng(seed), batch, span=12.0) - 3.3
    compare_with_torch(lambda x: B.clip_boxes_to_image(x, size), lambda x: tv.clip_boxes_to_image(x, size), [boxes])


@settings(max_examples=15, deadline=None)
@given(
    shape=st.sampled_from([(6,), (2, 4)]),
    min_size=st.sampled_from([0.0, 1.0, 2.5, 9.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_remove_small_boxes_matches_torchvision(shape: tuple, min_size: float, seed: int) -> None:
    boxes = np.round(xyxy(np.random.default_rng(seed), shape), 0)  # sides equal to min_size happen
    got = B.remove_small_boxes(mc.tensor(boxes), min_size)
    ref = tv.remove_small_boxes(torch.from_numpy(boxes), min_size)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(0, 4),
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    dtype=st.sampled_from([np.bool_, np.uint8, np.float32]),
    seed=st.integers(0, 2**31 - 1),
)
def test_masks_to_boxes_matches_torchvision(n: int, h: int, w: int, dtype: Any, seed: int) -> None:
    masks = (np.random.default_rng(seed).random((n, h, w)) < 0.15).astype(dtype)
    got, ref = B.masks_to_boxes(mc.tensor(masks)), tv.masks_to_boxes(torch.from_numpy(masks))
    assert got.dtype == np.float32 and got.shape == tuple(ref.shape)
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


# -- non-maximum suppression ---------------------------------------------------------------------
def nms_inputs(rng: np.random.Generator, n: int, dtype: Any, tied: bool) -> tuple[np.ndarray, np.ndarray]:
    boxes = xyxy(rng, (n,), span=8.0).astype(dtype)
    scores = (rng.integers(0, 4, n) / 4 if tied else rng.random(n)).astype(dtype)  # many equal scores
    return boxes, scores


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(0, 40),
    threshold=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 1.0]),
    dtype=st.sampled_from([np.float32, np.float64]),
    tied=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_nms_keeps_torchvisions_indices_in_its_order(
    n: int, threshold: float, dtype: Any, tied: bool, seed: int
) -> None:
    boxes, scores = nms_inputs(np.random.default_rng(seed), n, dtype, tied)
    got = B.nms(mc.tensor(boxes), mc.tensor(scores), threshold)
    ref = tv.nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


def test_nms_with_identical_and_degenerate_boxes() -> None:
    """Equal boxes (IoU 1) with equal scores: the lower index wins; zero-area boxes (IoU 0/0) stay."""
    boxes = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 2, 2]], dtype=np.float32)
    scores = np.array([0.5, 0.5, 0.9, 0.9, 0.7], dtype=np.float32)
    for thr in (0.0, 0.5, 1.0):
        got = B.nms(mc.tensor(boxes), mc.tensor(scores), thr)
        ref = tv.nms(torch.from_numpy(boxes), torch.from_numpy(scores), thr)
        np.testing.assert_array_equal(got.numpy(), ref.numpy())


def test_nms_visits_nan_scores_first_as_torchvision() -> None:
    """torch.sort puts NaN above every score (+inf included): those boxes are visited first."""
    rng = np.random.default_rng(3)
    boxes = xyxy(rng, (24,), span=4.0).astype(np.float32)
    scores = rng.choice([np.nan, np.inf, -np.inf, 0.5, 0.2, 0.0], 24).astype(np.float32)
    idxs = rng.integers(0, 2, 24)
    for thr in (0.0, 0.3, 1.0):
        got = B.nms(mc.tensor(boxes), mc.tensor(scores), thr)
        ref = tv.nms(torch.from_numpy(boxes), torch.from_numpy(scores), thr)
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
        got = B.batched_nms(mc.tensor(boxes), mc.tensor(scores), mc.tensor(idxs), thr)
        ref = tv.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(idxs), thr)
        np.testing.assert_array_equal(got.numpy(), ref.numpy())


def test_remove_small_boxes_of_a_single_box_as_torchvision() -> None:
    for box in ([0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 0.5, 2.0]):
        got = B.remove_small_boxes(mc.tensor(np.array(box)), 1.0)
        ref = tv.remove_small_boxes(torch.tensor(box), 1.0)
        np.testing.assert_array_equal(got.numpy(), ref.numpy())


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(0, 60),
    classes=st.integers(1, 4),
    threshold=st.sampled_from([0.2, 0.5]),
    tied=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_batched_nms_small_matches_torchvision(n: int, classes: int, threshold: float, tied: bool, seed: int) -> None:
    """Up to 1000 boxes torchvision shifts each class apart and runs one NMS."""
    rng = np.random.default_rng(seed)
    boxes, scores = nms_inputs(rng, n, np.float32, tied)
    idxs = rng.integers(0, classes, n)
    got = B.batched_nms(mc.tensor(boxes), mc.tensor(scores), mc.tensor(idxs), threshold)
    ref = tv.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(idxs), threshold)
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


@pytest.mark.parametrize("tied", [False, True])
def test_batched_nms_large_uses_per_class_nms_as_torchvision(tied: bool) -> None:
    """1,100 boxes (4,400 coordinates > 4,000): one NMS per class, merged by score. torchvision
    merges with an unstable sort, so among equal scores only the kept set and the order of the
    scores are compared (minicnn puts the lower index first)."""
    rng = np.random.default_rng(7)
    boxes, scores = nms_inputs(rng, 1100, np.float32, tied=tied)
    boxes = boxes * 5  # spread out, so that many boxes are kept
    idxs = rng.integers(0, 5, 1100)
    got = B.batched_nms(mc.tensor(boxes), mc.tensor(scores), mc.tensor(idxs), 0.3).numpy()
    ref = tv.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(idxs), 0.3).numpy()
    assert len(ref) > 300
    if not tied:
        np.testing.assert_array_equal(got, ref)
        return
    np.testing.assert_array_equal(np.sort(got), np.sort(ref))
    np.testing.assert_array_equal(scores[got], scores[ref])
    for level in np.unique(scores[got]):
        run = got[scores[got] == level]
        assert np.all(np.diff(run) > 0)


# -- errors --------------------------------------------------------------------------------------
def test_bad_arguments_raise_clear_errors() -> None:
    a = mc.tensor(xyxy(np.random.default_rng(0), (3,)))
    with pytest.raises(ValueError, match=r"box_iou: expected boxes2 of shape \(\.\.\., 4\), got shape \(3, 5\)"):
        B.box_iou(a, mc.zeros(3, 5))
    with pytest.raises(ValueError, match="box_convert: unsupported box format 'xyz'"):
        B.box_convert(a, "xyz", "xyxy")
    with pytest.raises(NotImplementedError, match="rotated"):
        B.box_iou(a, a, fmt="cxcywhr")
    with pytest.raises(ValueError, match="reduction"):
        B.generalized_box_iou_loss(a, a, reduction="avg")
    with pytest.raises(ValueError, match="alpha"):
        B.sigmoid_focal_loss(a, a, alpha=2.0)
    with pytest.raises(ValueError, match=r"nms: boxes should be a 2d tensor of shape \(N, 4\)"):
        B.nms(mc.zeros(3, 5), mc.zeros(3), 0.5)
    with pytest.raises(ValueError, match="same number"):
        B.nms(a.float(), mc.zeros(2), 0.5)
    with pytest.raises(TypeError, match="floating point of one dtype"):
        B.nms(a, mc.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"masks_to_boxes: expected masks of shape \(N, H, W\)"):
        B.masks_to_boxes(mc.ones(2, 3))
