"""Geometric and photometric transforms on schema samples keeping `K`, 2D/3D joints, boxes, masks consistent.

Every geometric transform is a 2x3 affine map A of pixel coordinates (integer values at pixel centres).
It warps all per-pixel keys, maps `joints_2d` and `box`, replaces `K` by [A; 0 0 1] @ K (so projecting
`joints_cam` with the new K gives the new `joints_2d`) and composes A into `crop_affine`, which
`inverse_crop` uses to send predictions back to the original image. Samples are not modified in place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from common.data import schema as S


def box_to_center_size(box: Sequence[float], aspect_ratio: float,
                       padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """COCO top-down xyxy box -> (centre (2,), size (2,)) px: short side widened to aspect w/h, times padding.

    Equals HRNet/mmpose `_xywh2cs` with scale = size / 200 (pixel_std 200); LocLLM uses aspect 1, padding 1.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    center = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    return center, np.array([w, h]) * padding


def crop_affine_matrix(center: np.ndarray, size: np.ndarray, out_hw: tuple[int, int],
                       rot_deg: float = 0.0) -> np.ndarray:
    """2x3 map from original pixels to an (H, W) crop of the `size` px window at `center`, rotated rot_deg."""
    out_h, out_w = out_hw
    scale = out_w / float(size[0])
    c, s = math.cos(math.radians(rot_deg)), math.sin(math.radians(rot_deg))
    linear = scale * np.array([[c, -s], [s, c]])
    out_center = np.array([(out_w - 1) / 2.0, (out_h - 1) / 2.0])
    return np.concatenate([linear, (out_center - linear @ np.asarray(center, float))[:, None]], axis=1)


def apply_affine_points(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Map pixel points (..., 2) with a 2x3 affine matrix."""
    points = np.asarray(points, dtype=np.float64)
    return (points @ affine[:, :2].T + affine[:, 2]).astype(np.float32)


def inverse_crop(points_2d: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Map pixel points (..., 2) of a transformed image back to the original image (inverse of `affine`)."""
    return apply_affine_points(points_2d, cv2.invertAffineTransform(np.asarray(affine, np.float64)))


def _to3(affine: np.ndarray) -> np.ndarray:
    """2x3 affine -> 3x3 homogeneous matrix."""
    return np.vstack([affine, [0.0, 0.0, 1.0]])


def _warp_plane(plane: np.ndarray, affine: np.ndarray, out_hw: tuple[int, int], linear: bool) -> np.ndarray:
    """Warp one (C,H,W) float image or (H,W) mask/depth plane with cv2.warpAffine."""
    flags = cv2.INTER_LINEAR if linear else cv2.INTER_NEAREST
    size = (out_hw[1], out_hw[0])
    if plane.ndim == 3:
        hwc = np.ascontiguousarray(plane.transpose(1, 2, 0), dtype=np.float32)
        out = cv2.warpAffine(hwc, affine, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
        return np.clip(out.reshape(out_hw[0], out_hw[1], -1).transpose(2, 0, 1), 0.0, 1.0)
    dtype = plane.dtype
    src = plane.astype(np.uint8) if dtype == np.bool_ else plane
    out = cv2.warpAffine(src, affine, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
    return out.astype(dtype)


def apply_affine(sample: dict[str, Any], affine: np.ndarray, out_hw: tuple[int, int]) -> dict[str, Any]:
    """Apply a 2x3 pixel affine map to every geometric key of `sample`; returns a new sample of out_hw."""
    affine = np.asarray(affine, dtype=np.float64)
    out = dict(sample)
    for key in S.IMAGE_LIKE_KEYS:
        if key in sample:
            out[key] = _warp_plane(np.asarray(sample[key]), affine, out_hw, linear=key == S.IMAGE)
    if S.FRAMES in sample:
        out[S.FRAMES] = np.stack([_warp_plane(f, affine, out_hw, True) for f in np.asarray(sample[S.FRAMES])])
    if S.K in sample:
        out[S.K] = (_to3(affine) @ np.asarray(sample[S.K], np.float64)).astype(np.float32)
    if S.JOINTS_2D in sample:
        uv = apply_affine_points(sample[S.JOINTS_2D], affine)
        out[S.JOINTS_2D] = uv
        if S.JOINT_VALID in sample:
            inside = (uv[..., 0] >= -0.5) & (uv[..., 0] <= out_hw[1] - 0.5) & (uv[..., 1] >= -0.5) & (
                uv[..., 1] <= out_hw[0] - 0.5)
            out[S.JOINT_VALID] = np.asarray(sample[S.JOINT_VALID], bool) & inside
    if S.BOX in sample:
        x0, y0, x1, y1 = np.asarray(sample[S.BOX], np.float64)[..., 0:4].T
        corners = np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1), np.stack([x0, y1], -1),
                            np.stack([x1, y1], -1)], axis=-2)
        mapped = apply_affine_points(corners, affine)
        out[S.BOX] = np.concatenate([mapped.min(-2), mapped.max(-2)], -1).astype(np.float32)
    previous = np.asarray(sample.get(S.CROP_AFFINE, np.eye(2, 3)), np.float64)
    out[S.CROP_AFFINE] = (_to3(affine) @ _to3(previous))[:2].astype(np.float32)
    return out
