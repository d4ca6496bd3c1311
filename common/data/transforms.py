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

COCO_FLIP_PAIRS: tuple[tuple[int, int], ...] = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14),
                                                (15, 16))
"""Left/right pairs of the 17 COCO keypoints."""
SMPL_FLIP_PAIRS: tuple[tuple[int, int], ...] = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17),
                                                (18, 19), (20, 21), (22, 23))
"""Left/right pairs of the 24 SMPL joints (also valid for the first 22)."""
TWO_HAND_FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple((i, i + 21) for i in range(21))
"""Swap of the right (0..20) and left (21..41) hand joints of a two-hand sample."""
_DEFAULT_FLIP_PAIRS = {17: COCO_FLIP_PAIRS, 24: SMPL_FLIP_PAIRS, 22: SMPL_FLIP_PAIRS[:-1], 21: (),
                       42: TWO_HAND_FLIP_PAIRS}
_MIRROR = np.diag([-1.0, 1.0, 1.0])


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


def top_down_crop(sample: dict[str, Any], out_hw: tuple[int, int] = (256, 192),
                  box: Sequence[float] | None = None, padding: float = 1.25, rot_deg: float = 0.0,
                  scale: float = 1.0) -> dict[str, Any]:
    """COCO top-down crop around `box` (default sample['box']) to out_hw=(H, W), optional rotation/scale."""
    center, size = box_to_center_size(sample[S.BOX] if box is None else box, out_hw[1] / out_hw[0], padding)
    return apply_affine(sample, crop_affine_matrix(center, size * scale, out_hw, rot_deg), out_hw)


def _image_hw(sample: dict[str, Any]) -> tuple[int, int]:
    """(H, W) of the sample's image, frames or mask."""
    for key in (S.IMAGE, S.MASK, S.DEPTH):
        if key in sample:
            return tuple(np.asarray(sample[key]).shape[-2:])
    if S.FRAMES in sample:
        return tuple(np.asarray(sample[S.FRAMES]).shape[-2:])
    raise KeyError("sample has no image, frames, mask or depth to take the size from")


def rescale_to_focal(sample: dict[str, Any], f_target: float = 1000.0) -> dict[str, Any]:
    """Resize by s = f_target / fx so the camera has focal f_target px (TAIHRI); pixel areas stay aligned."""
    fx = float(np.asarray(sample[S.K]).reshape(-1, 3, 3)[0, 0, 0])
    s = f_target / fx
    h, w = _image_hw(sample)
    shift = 0.5 * s - 0.5
    affine = np.array([[s, 0.0, shift], [0.0, s, shift]])
    return apply_affine(sample, affine, (max(1, round(h * s)), max(1, round(w * s))))


def _mirror_axis_angle(pose: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Mirror (..., 3J) axis-angle poses across the x=0 plane: swap left/right joints, negate y and z."""
    aa = np.asarray(pose, np.float32).reshape(*np.shape(pose)[:-1], -1, 3).copy()
    for i, j in pairs:
        aa[..., [i, j], :] = aa[..., [j, i], :]
    aa[..., 1:] *= -1.0
    return aa.reshape(np.shape(pose))


def hflip(sample: dict[str, Any], flip_pairs: Sequence[tuple[int, int]] | None = None,
          image_hw: tuple[int, int] | None = None) -> dict[str, Any]:
    """Mirror the image left-right and the scene across the camera's x=0 plane, swapping left/right joints.

    3D keys are mirrored (x -> -x) so K keeps fx > 0 and projecting the new joints_cam gives the new
    joints_2d. SMPL/MANO poses are mirrored (exact for a symmetric template; transl x is negated);
    `hand_side` is swapped. `flip_pairs` defaults to COCO (17 joints), SMPL (22/24) or two-hand (42) pairs,
    none for one hand (21). `image_hw` gives the size of samples without any per-pixel key.
    """
    h, w = _image_hw(sample) if image_hw is None else image_hw
    affine = np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0]])
    out = apply_affine(sample, affine, (h, w))
    if S.K in out:
        out[S.K] = (np.asarray(out[S.K], np.float64) @ _MIRROR).astype(np.float32)
    num_joints = None
    for key in (S.JOINTS_2D, S.JOINTS_CAM):
        if key in sample:
            num_joints = np.shape(sample[key])[-2]
    pairs = _DEFAULT_FLIP_PAIRS.get(num_joints, ()) if flip_pairs is None else flip_pairs
    for key in (S.JOINTS_CAM, S.VERTICES_CAM, S.OBJECT_POINTS):
        if key in out:
            out[key] = (np.asarray(out[key], np.float32) * np.array([-1.0, 1.0, 1.0], np.float32))
    for key in (S.JOINTS_2D, S.JOINTS_CAM, S.JOINT_VALID):
        if key in out and pairs:
            arr = np.asarray(out[key])
            axis = arr.ndim - (1 if key == S.JOINT_VALID else 2)
            perm = np.arange(arr.shape[axis])
            for i, j in pairs:
                perm[i], perm[j] = j, i
            out[key] = np.take(arr, perm, axis=axis)
    mirror4 = np.diag([-1.0, 1.0, 1.0, 1.0])
    for key in (S.T_WORLD_CAM, S.OBJECT_POSE):
        if key in out:
            out[key] = (mirror4 @ np.asarray(out[key], np.float64) @ mirror4).astype(np.float32)
    for key, body_pairs in ((S.SMPL, SMPL_FLIP_PAIRS), (S.MANO, ())):
        if key in out:
            params = dict(out[key])
            params[S.POSE] = _mirror_axis_angle(params[S.POSE], body_pairs)
            params[S.TRANSL] = np.asarray(params[S.TRANSL], np.float32) * np.float32([-1.0, 1.0, 1.0])
            out[key] = params
    if S.HAND_SIDE in out:
        out[S.HAND_SIDE] = {"right": "left", "left": "right"}[out[S.HAND_SIDE]]
    return out


def color_jitter(sample: dict[str, Any], rng: np.random.Generator, brightness: float = 0.3,
                 contrast: float = 0.3, saturation: float = 0.3, hue: float = 0.05) -> dict[str, Any]:
    """Random brightness/contrast/saturation factors in [1-a, 1+a] and a hue rotation in [-hue, hue] turns."""
    b = rng.uniform(1 - brightness, 1 + brightness)
    c = rng.uniform(1 - contrast, 1 + contrast)
    s = rng.uniform(1 - saturation, 1 + saturation)
    angle = 2 * math.pi * rng.uniform(-hue, hue)
    to_yiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    rot = np.array([[1, 0, 0], [0, math.cos(angle), -math.sin(angle)], [0, math.sin(angle), math.cos(angle)]])
    colour = np.linalg.inv(to_yiq) @ np.diag([1.0, s, s]) @ rot @ to_yiq * b
    out = dict(sample)
    for key in (S.IMAGE, S.FRAMES):
        if key in sample:
            img = np.asarray(sample[key], np.float32)
            mixed = np.einsum("ij,...jhw->...ihw", colour.astype(np.float32), img)
            mean = mixed.mean(axis=(-3, -2, -1), keepdims=True)
            out[key] = np.clip((mixed - mean) * c + mean, 0.0, 1.0).astype(np.float32)
    return out
