"""Array plumbing shared by the metric modules: numpy/torch inputs to float64 numpy, validity masks."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any, dtype: type = np.float64) -> np.ndarray:
    """Convert a numpy array, torch tensor (any device/dtype) or nested list to a numpy array of `dtype`.

    torch is not imported here: a tensor is recognised by its `detach` method (COCO-only users stay light).
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        x = x.float() if x.dtype.is_floating_point and x.element_size() < 4 else x
        x = x.numpy()
    return np.asarray(x, dtype=dtype)


def joint_mask(valid: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean validity mask broadcast to `shape` (the joint shape without the trailing xyz axis)."""
    if valid is None:
        return np.ones(shape, dtype=bool)
    mask = to_numpy(valid, dtype=bool)
    return np.broadcast_to(mask, shape)


def check_points(pred: np.ndarray, gt: np.ndarray) -> None:
    """Raise if the two joint/point arrays do not have the same (..., J, 3) shape."""
    if pred.shape != gt.shape or pred.ndim < 2 or pred.shape[-1] != 3:
        raise ValueError(f"expected matching (..., J, 3) arrays, got {pred.shape} and {gt.shape}")


def row_norm(x: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis (faster than np.linalg.norm for many short rows)."""
    return np.sqrt(np.einsum("...i,...i->...", x, x))


def masked_mean(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of `values` where `mask` is true; NaN when nothing is valid."""
    count = int(mask.sum())
    return float(values[mask].sum() / count) if count else float("nan")
