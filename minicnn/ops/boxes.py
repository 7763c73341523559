"""Bounding-box helpers, as ``torchvision.ops``: formats, areas, the IoU family (plain,
generalized, distance, complete) and their losses, clipping, non-maximum suppression and the
sigmoid focal loss.

Boxes are ``(..., 4)`` tensors, by default in ``xyxy`` form (x1, y1, x2, y2 with x1 < x2,
y1 < y2). Everything differentiable is written in other minicnn ops (slices, maximum/minimum,
clamp, where, atan ...), so gradients and higher derivatives come from those ops and agree
with torchvision's autograd (ties in maximum/minimum share the gradient, as torch's do).
Pairwise functions take (..., N, 4) and (..., M, 4) and return (..., N, M): O(N M) memory.
``nms`` and ``batched_nms`` return int64 indices and are not differentiable.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from . import math as _m
from .activation import sigmoid
from .loss import binary_cross_entropy_with_logits
from .shape import stack

_AXIS_ALIGNED = ("xyxy", "xywh", "cxcywh")
_ROTATED = ("xywhr", "cxcywhr", "xyxyxyxy")


def _upcast(t: Tensor) -> Tensor:
    """torchvision's guard against overflow in products: float16 -> float32, small ints -> int32."""
    if t.dtype.kind == "f":
        return t if t.dtype in (np.float32, np.float64) else t.float()
    return t if t.dtype in (np.int32, np.int64) else t.int()


def _upcast_non_float(t: Tensor) -> Tensor:
    return t if t.dtype in (np.float32, np.float64) else t.float()


def _check_boxes(op: str, boxes: Any, name: str = "boxes", k: int = 4) -> None:
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(boxes).__name__}")
    if boxes.ndim < 1 or boxes.shape[-1] != k:
        raise ValueError(f"{op}: expected {name} of shape (..., {k}), got shape {boxes.shape}")


# -- formats ----------------------------------------------------------------------------------
def _cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def _xyxy_to_cxcywh(boxes: Tensor) -> Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def _xywh_to_xyxy(boxes: Tensor) -> Tensor:
    x, y, w, h = boxes.unbind(-1)
    return stack((x, y, x + w, y + h), dim=-1)


def _xyxy_to_xywh(boxes: Tensor) -> Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return stack((x1, y1, x2 - x1, y2 - y1), dim=-1)


def _check_format(op: str, fmt: str, allowed: tuple[str, ...] = _AXIS_ALIGNED) -> None:
    if fmt in _ROTATED:
        raise NotImplementedError(f"{op}: rotated box format {fmt!r} is not supported by minicnn (only {allowed})")
    if fmt not in allowed:
        raise ValueError(f"{op}: unsupported box format {fmt!r} (expected one of {allowed})")


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """boxes (..., 4) from ``in_fmt`` to ``out_fmt``, each one of "xyxy" (corners), "xywh"
    (top-left corner, width, height) and "cxcywh" (centre, width, height). Same format: a clone."""
    for fmt in (in_fmt, out_fmt):
        _check_format("box_convert", fmt)
    _check_boxes("box_convert", boxes)
    if in_fmt == out_fmt:
        return boxes.clone()
    if in_fmt == "xywh":
        boxes = _xywh_to_xyxy(boxes)
    elif in_fmt == "cxcywh":
        boxes = _cxcywh_to_xyxy(boxes)
    if out_fmt == "xywh":
        boxes = _xyxy_to_xywh(boxes)
    elif out_fmt == "cxcywh":
        boxes = _xyxy_to_cxcywh(boxes)
    return boxes


# -- areas and the IoU family ---------------------------------------------------------------
def box_area(boxes: Tensor, fmt: str = "xyxy") -> Tensor:
    """boxes (..., 4) -> areas (...): (x2 - x1)(y2 - y1) for "xyxy", w h otherwise."""
    _check_format("box_area", fmt)
    _check_boxes("box_area", boxes)
    boxes = _upcast(boxes)
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def _pairwise(op: str, boxes1: Tensor, boxes2: Tensor) -> None:
    _check_boxes(op, boxes1, "boxes1")
    _check_boxes(op, boxes2, "boxes2")
    if boxes1.ndim < 2 or boxes2.ndim < 2:
        raise ValueError(
            f"{op}: expected boxes1 (..., N, 4) and boxes2 (..., M, 4), got {boxes1.shape} and {boxes2.shape}"
        )


def _inter_union(boxes1: Tensor, boxes2: Tensor, fmt: str = "xyxy") -> tuple[Tensor, Tensor]:
    """Pairwise intersection and union areas, each (..., N, M)."""
    area1 = box_area(boxes1, fmt=fmt)
    area2 = box_area(boxes2, fmt=fmt)
    a, b = boxes1[..., :, None, :], boxes2[..., None, :, :]
    if fmt == "xyxy":
        lt = _m.maximum(a[..., :2], b[..., :2])
        rb = _m.minimum(a[..., 2:], b[..., 2:])
    elif fmt == "xywh":
        lt = _m.maximum(a[..., :2], b[..., :2])
        rb = _m.minimum(a[..., :2] + a[..., 2:], b[..., :2] + b[..., 2:])
    else:
        lt = _m.maximum(a[..., :2] - a[..., 2:] / 2, b[..., :2] - b[..., 2:] / 2)
        rb = _m.minimum(a[..., :2] + a[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2)
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[..., :, None] + area2[..., None, :] - inter
    return inter, union


def box_iou(boxes1: Tensor, boxes2: Tensor, fmt: str = "xyxy") -> Tensor:
    """Pairwise intersection over union: boxes1 (..., N, 4), boxes2 (..., M, 4) -> (..., N, M)."""
    _check_format("box_iou", fmt)
    _pairwise("box_iou", boxes1, boxes2)
    inter, union = _inter_union(boxes1, boxes2, fmt)
    return inter / union


def _enclosing_wh(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Width and height (..., N, M, 2) of the smallest box enclosing each pair."""
    a, b = boxes1[..., :, None, :], boxes2[..., None, :, :]
    lti = _m.minimum(a[..., :2], b[..., :2])
    rbi = _m.maximum(a[..., 2:], b[..., 2:])
    return _upcast(rbi - lti).clamp(min=0)


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise GIoU = IoU - (C - U) / C, C the enclosing box's area: (..., N, 4), (..., M, 4) -> (..., N, M)."""
    _pairwise("generalized_box_iou", boxes1, boxes2)
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / union
    whi = _enclosing_wh(boxes1, boxes2)
    areai = whi[..., 0] * whi[..., 1]
    return iou - (areai - union) / areai


def _diou_iou(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / union
    whi = _enclosing_wh(boxes1, boxes2)
    diagonal_sq = (whi[..., 0] ** 2) + (whi[..., 1] ** 2) + eps
    x_p = (boxes1[..., 0] + boxes1[..., 2]) / 2
    y_p = (boxes1[..., 1] + boxes1[..., 3]) / 2
    x_g = (boxes2[..., 0] + boxes2[..., 2]) / 2
    y_g = (boxes2[..., 1] + boxes2[..., 3]) / 2
    centers_sq = (_upcast(x_p[..., :, None] - x_g[..., None, :]) ** 2) + (
        _upcast(y_p[..., :, None] - y_g[..., None, :]) ** 2
    )
    return iou - centers_sq / diagonal_sq, iou


def distance_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Pairwise DIoU = IoU - d^2 / (c^2 + eps), d the centres' distance, c the enclosing box's
    diagonal: (..., N, 4), (..., M, 4) -> (..., N, M)."""
    _pairwise("distance_box_iou", boxes1, boxes2)
    return _diou_iou(_upcast(boxes1), _upcast(boxes2), eps)[0]


def _aspect_term(w1: Tensor, h1: Tensor, w2: Tensor, h2: Tensor) -> Tensor:
    """CIoU's v = 4/pi^2 (atan(w1/h1) - atan(w2/h2))^2."""
    return (4 / (math.pi**2)) * ((w1 / h1).atan() - (w2 / h2).atan()) ** 2


def complete_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7) -> Tensor:
    """Pairwise CIoU = DIoU - alpha v, v the aspect-ratio term and alpha = v / (1 - IoU + v + eps)
    held constant (no gradient), as torchvision: (..., N, 4), (..., M, 4) -> (..., N, M)."""
    _pairwise("complete_box_iou", boxes1, boxes2)
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    diou, iou = _diou_iou(boxes1, boxes2, eps)
    w_pred = boxes1[..., :, None, 2] - boxes1[..., :, None, 0]
    h_pred = boxes1[..., :, None, 3] - boxes1[..., :, None, 1]
    w_gt = boxes2[..., None, :, 2] - boxes2[..., None, :, 0]
    h_gt = boxes2[..., None, :, 3] - boxes2[..., None, :, 1]
    v = _aspect_term(w_pred, h_pred, w_gt, h_gt)
    alpha = (v / (1 - iou + v + eps)).detach()
    return diou - alpha * v


# -- box losses (elementwise over matched pairs) ------------------------------------------------
def _reduce(op: str, loss: Tensor, reduction: str, empty_mean: bool = True) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean() if loss.numel() > 0 or not empty_mean else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{op}: invalid value for reduction: {reduction!r} (expected one of 'none', 'mean', 'sum')")


def _loss_boxes(op: str, boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    _check_boxes(op, boxes1, "boxes1")
    _check_boxes(op, boxes2, "boxes2")
    return _upcast_non_float(boxes1), _upcast_non_float(boxes2)


def _loss_inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    """Intersection and union of matched pairs (broadcast): zero intersection unless both overlaps are positive."""
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    xkis1, ykis1 = _m.maximum(x1, x1g), _m.maximum(y1, y1g)
    xkis2, ykis2 = _m.minimum(x2, x2g), _m.minimum(y2, y2g)
    overlap = ((ykis2 > ykis1) & (xkis2 > xkis1)).array
    inter = _m.where(overlap, (xkis2 - xkis1) * (ykis2 - ykis1), 0.0)
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    return inter, union


def _diou_iou_loss(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    inter, union = _loss_inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    xc1, yc1 = _m.minimum(x1, x1g), _m.minimum(y1, y1g)
    xc2, yc2 = _m.maximum(x2, x2g), _m.maximum(y2, y2g)
    diagonal_sq = ((xc2 - xc1) ** 2) + ((yc2 - yc1) ** 2) + eps
    centers_sq = (((x2 + x1) / 2 - (x1g + x2g) / 2) ** 2) + (((y2 + y1) / 2 - (y1g + y2g) / 2) ** 2)
    return 1 - iou + centers_sq / diagonal_sq, iou


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """1 - GIoU of matched boxes: boxes1, boxes2 (..., 4) broadcast -> (...) for "none", else a scalar."""
    op = "generalized_box_iou_loss"
    boxes1, boxes2 = _loss_boxes(op, boxes1, boxes2)
    inter, union = _loss_inter_union(boxes1, boxes2)
    iou = inter / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    area_c = (_m.maximum(x2, x2g) - _m.minimum(x1, x1g)) * (_m.maximum(y2, y2g) - _m.minimum(y1, y1g))
    loss = 1 - (iou - (area_c - union) / (area_c + eps))
    return _reduce(op, loss, reduction)


def distance_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """1 - DIoU of matched boxes: boxes1, boxes2 (..., 4) broadcast -> (...) for "none", else a scalar."""
    op = "distance_box_iou_loss"
    boxes1, boxes2 = _loss_boxes(op, boxes1, boxes2)
    return _reduce(op, _diou_iou_loss(boxes1, boxes2, eps)[0], reduction)


def complete_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """1 - CIoU of matched boxes (alpha held constant): (..., 4) pairs -> (...) for "none", else a scalar.
    As torchvision, the DIoU part uses eps=1e-7 whatever ``eps`` is; ``eps`` enters alpha only."""
    op = "complete_box_iou_loss"
    boxes1, boxes2 = _loss_boxes(op, boxes1, boxes2)
    diou_loss, iou = _diou_iou_loss(boxes1, boxes2, 1e-7)
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    v = _aspect_term(x2g - x1g, y2g - y1g, x2 - x1, y2 - y1)
    alpha = (v / (1 - iou + v + eps)).detach()
    return _reduce(op, diou_loss + alpha * v, reduction)


def sigmoid_focal_loss(
    inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2, reduction: str = "none"
) -> Tensor:
    """RetinaNet's focal loss: BCE-with-logits(inputs, targets) (1 - p_t)^gamma, times
    alpha_t = alpha t + (1 - alpha)(1 - t) unless alpha = -1. inputs and targets: the same shape."""
    op = "sigmoid_focal_loss"
    if not (0 <= alpha <= 1) and alpha != -1:
        raise ValueError(f"{op}: invalid alpha value: {alpha}. alpha must be in the range [0,1] or -1 for ignore.")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{op}: invalid value for reduction: {reduction!r} (expected one of 'none', 'mean', 'sum')")
    p = sigmoid(inputs)
    ce_loss = binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return _reduce(op, loss, reduction, empty_mean=False)


# -- clipping, filtering, masks ----------------------------------------------------------------
def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """boxes (..., 4) xyxy clamped into an image of size (height, width): x to [0, width], y to [0, height]."""
    _check_boxes("clip_boxes_to_image", boxes)
    height, width = size
    boxes_x = boxes[..., 0::2].clamp(min=0, max=width)
    boxes_y = boxes[..., 1::2].clamp(min=0, max=height)
    return stack((boxes_x, boxes_y), dim=boxes.ndim).reshape(boxes.shape)


def remove_small_boxes(boxes: Tensor, min_size: float) -> Tensor:
    """int64 indices (along the first axis) of the boxes (..., 4) whose width and height are both >= min_size."""
    _check_boxes("remove_small_boxes", boxes)
    b = boxes.array
    xp = backend.get_array_module(b)
    with backend.array_scope(b):  # on the boxes' GPU, whichever is current
        keep = ((b[..., 2] - b[..., 0]) >= min_size) & ((b[..., 3] - b[..., 1]) >= min_size)
        return Tensor(xp.nonzero(xp.atleast_1d(keep))[0].astype(np.int64))


def masks_to_boxes(masks: Tensor) -> Tensor:
    """masks (N, H, W) -> float32 boxes (N, 4) xyxy around each mask's nonzero pixels (inclusive
    corners); an empty mask gives [0, 0, 0, 0]."""
    m = masks.array
    xp = backend.get_array_module(m)
    if m.size and m.ndim != 3:
        raise ValueError(f"masks_to_boxes: expected masks of shape (N, H, W), got shape {masks.shape}")
    with backend.array_scope(m):  # on the masks' GPU, whichever is current
        if m.size == 0:
            return Tensor(xp.zeros((0, 4), dtype=np.float32))
        _, h, w = m.shape
        rows, cols = (m != 0).any(axis=2), (m != 0).any(axis=1)
        y1, x1 = rows.argmax(axis=1), cols.argmax(axis=1)
        y2 = (h - 1) - rows[:, ::-1].argmax(axis=1)
        x2 = (w - 1) - cols[:, ::-1].argmax(axis=1)
        out = xp.stack([x1, y1, x2, y2], axis=1).astype(np.float32)
        out[~rows.any(axis=1)] = 0
        return Tensor(out)


# -- non-maximum suppression -------------------------------------------------------------------
def _by_score(scores: np.ndarray) -> np.ndarray:
    """Positions by descending score, stable, NaN first (torch.sort's order: NaN above everything)."""
    order = np.argsort(-scores, kind="stable")
    return order[np.argsort(~np.isnan(scores[order]), kind="stable")]


def _nms_host(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """torchvision's CPU NMS on host arrays: visit boxes by score (stable, descending); each box
    not yet suppressed is kept and suppresses the later ones with IoU > threshold. One vector
    step per kept box: O(N K) time for K kept boxes, O(N) memory. IoUs in the boxes' dtype,
    in the kernel's order of operations, compared in float64 as C++ compares with a double."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = _by_score(scores)
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    zero = boxes.dtype.type(0)
    for pos, i in enumerate(order):
        if suppressed[pos]:
            continue
        keep.append(i)
        rest = order[pos + 1 :]
        w = np.maximum(zero, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(zero, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        with np.errstate(invalid="ignore", divide="ignore"):  # zero-area pairs: NaN, never above the threshold
            ovr = inter / (areas[i] + areas[rest] - inter)
        suppressed[pos + 1 :] |= ovr.astype(np.float64) > iou_threshold
    return np.asarray(keep, dtype=np.int64)


def _check_nms(op: str, boxes: Tensor, scores: Tensor) -> None:
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{op}: boxes should be a 2d tensor of shape (N, 4), got {boxes.shape}")
    if scores.ndim != 1:
        raise ValueError(f"{op}: scores should be a 1d tensor of shape (N,), got {scores.shape}")
    if boxes.shape[0] != scores.shape[0]:
        raise ValueError(f"{op}: boxes {boxes.shape} and scores {scores.shape} should have the same number of elements")
    if boxes.dtype != scores.dtype or boxes.dtype.kind != "f":
        raise TypeError(
            f"{op}: boxes and scores should be floating point of one dtype, got {boxes.dtype}, {scores.dtype}"
        )


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression: boxes (N, 4) xyxy, scores (N,) -> int64 indices of the kept
    boxes, by decreasing score (equal scores: lower index first, as torchvision's CPU kernel).
    A box is dropped when its IoU with a kept, higher-scoring box is > iou_threshold."""
    _check_nms("nms", boxes, scores)
    keep = _nms_host(backend.to_numpy(boxes.array), backend.to_numpy(scores.array), float(iou_threshold))
    return Tensor(keep, device=boxes.device)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS within each category ``idxs`` (N,) separately: int64 indices by decreasing score.
    As torchvision: up to 4,000 box coordinates on the CPU (100,000 on a GPU) the boxes of
    category c are shifted by c (max + 1) and one NMS runs (the shift rounds the IoUs the same
    way); beyond that, one NMS per category, merged by a stable descending sort of the scores
    (torchvision's sort there is not stable: its order among equal scores is unspecified)."""
    _check_nms("batched_nms", boxes, scores)
    if idxs.shape != scores.shape:
        raise ValueError(f"batched_nms: idxs should have the shape of scores {scores.shape}, got {idxs.shape}")
    b, s = backend.to_numpy(boxes.array), backend.to_numpy(scores.array)
    cats = backend.to_numpy(idxs.array)
    if b.size == 0:
        keep = np.zeros(0, dtype=np.int64)
    elif b.size <= (4000 if boxes.device == "cpu" else 100_000):
        offsets = cats.astype(b.dtype) * (b.max() + b.dtype.type(1))
        keep = _nms_host(b + offsets[:, None], s, float(iou_threshold))
    else:
        kept = np.zeros(len(s), dtype=bool)
        for c in np.unique(cats):
            members = np.nonzero(cats == c)[0]
            kept[members[_nms_host(b[members], s[members], float(iou_threshold))]] = True
        keep = np.nonzero(kept)[0]
        keep = keep[_by_score(s[keep])]
    return Tensor(keep.astype(np.int64), device=boxes.device)
