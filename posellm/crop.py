"""LocLLM's top-down crop (square GT box, no padding, 224 px) on top of `common.data.transforms`."""

from __future__ import annotations

import cv2
import numpy as np

from common.data.transforms import apply_affine_points, box_to_center_size, crop_affine_matrix, inverse_crop


def box_center_size(box_xywh: np.ndarray) -> tuple[np.ndarray, float]:
    """COCO xywh box -> crop centre (2,) px and square side px (short side enlarged, padding 1.0)."""
    x, y, w, h = (float(v) for v in box_xywh)
    center, size = box_to_center_size((x, y, x + w, y + h), 1.0, padding=1.0)
    return center, float(size[0])


def crop_matrix(center: np.ndarray, size: float, out_size: int, rotation_deg: float = 0.0) -> np.ndarray:
    """2x3 affine from image px to crop px (the `size` px square at `center` fills the crop)."""
    return crop_affine_matrix(center, np.array([size, size]), (out_size, out_size), rotation_deg)


def warp_image(image: np.ndarray, matrix: np.ndarray, out_size: int) -> np.ndarray:
    """(out_size, out_size, 3) uint8 crop of an HxWx3 image under a 2x3 affine (bilinear, black border)."""
    return cv2.warpAffine(image, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)


def image_to_crop(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(N, 2) image px -> crop px."""
    return apply_affine_points(points, matrix).astype(np.float64)


def image_to_norm(points: np.ndarray, matrix: np.ndarray, out_size: int) -> np.ndarray:
    """(N, 2) image px -> coordinates normalised to the crop ([0, 1] inside it)."""
    return apply_affine_points(points, matrix).astype(np.float64) / out_size


def norm_to_image(xy_norm: np.ndarray, matrix: np.ndarray, out_size: int) -> np.ndarray:
    """(N, 2) answers normalised to the crop -> original image px (inverse crop)."""
    return inverse_crop(np.asarray(xy_norm, np.float64) * out_size, matrix).astype(np.float64)
