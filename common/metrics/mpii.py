"""MPII PCKh as the official evaluation computes it (head box diagonal times SC_BIAS 0.6)."""

from __future__ import annotations

from typing import Any

import numpy as np

from common.metrics._arrays import row_norm, to_numpy

SC_BIAS = 0.6
MPII_JOINT_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
)
_MPII_GROUPS = {
    "Head": (9,), "Shoulder": (12, 13), "Elbow": (11, 14), "Wrist": (10, 15),
    "Hip": (2, 3), "Knee": (1, 4), "Ankle": (0, 5),
}
_MPII_EXCLUDED_FROM_MEAN = (6, 7)


def _head_norm(head_size: Any, num_samples: int) -> np.ndarray:
    """Per-sample normaliser SC_BIAS * head size (N,); head_size is (N,) diagonals or (N, 2, 2) boxes."""
    size = to_numpy(head_size)
    if size.ndim == 3:
        size = row_norm(size[:, 1] - size[:, 0])
    return np.broadcast_to(size.reshape(-1), (num_samples,)) * SC_BIAS


def _scaled_errors(pred: Any, gt: Any, head_size: Any, valid: Any) -> tuple[np.ndarray, np.ndarray]:
    """Errors divided by the head normaliser (N, J) and the validity mask (N, J)."""
    p, g = to_numpy(pred), to_numpy(gt)
    if p.shape != g.shape or p.ndim != 3 or p.shape[-1] != 2:
        raise ValueError(f"expected matching (N, J, 2) pixel arrays, got {p.shape} and {g.shape}")
    mask = np.ones(p.shape[:2], dtype=bool) if valid is None else np.broadcast_to(
        to_numpy(valid, dtype=bool), p.shape[:2])
    scaled = row_norm(p - g) / _head_norm(head_size, len(p))[:, None]
    return scaled, mask


def pckh(pred: Any, gt: Any, head_size: Any, valid: Any = None, threshold: float = 0.5) -> float:
    """PCKh in percent pooled over valid joints: error <= threshold * 0.6 * head box diagonal.

    pred, gt: (N, J, 2) pixels in the same convention; head_size: (N,) head box diagonal (pixels) or
    (N, 2, 2) head boxes [[x1, y1], [x2, y2]]. For MPII's official "Mean" pass pelvis and thorax as
    invalid, or use `mpii_pckh`.
    """
    scaled, mask = _scaled_errors(pred, gt, head_size, valid)
    count = int(mask.sum())
    return float(100.0 * ((scaled <= threshold) & mask).sum() / count) if count else float("nan")


def mpii_pckh(pred: Any, gt: Any, head_size: Any, valid: Any = None) -> dict[str, float]:
    """Official MPII table for the 16 MPII joints: per-part PCKh@0.5, Mean (no pelvis/thorax), Mean@0.1."""
    scaled, mask = _scaled_errors(pred, gt, head_size, valid)
    if scaled.shape[1] != len(MPII_JOINT_NAMES):
        raise ValueError(f"mpii_pckh needs the 16 MPII joints, got {scaled.shape[1]}")
    count = mask.sum(0).astype(np.float64)

    def per_joint(threshold: float) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return 100.0 * ((scaled <= threshold) & mask).sum(0) / count

    kept = np.ones(len(MPII_JOINT_NAMES), dtype=bool)
    kept[list(_MPII_EXCLUDED_FROM_MEAN)] = False
    ratio = np.where(kept, count, 0.0) / count[kept].sum()
    at_half, at_tenth = per_joint(0.5), per_joint(0.1)
    table = {name: float(np.mean(at_half[list(idx)])) for name, idx in _MPII_GROUPS.items()}
    table["Mean"] = float(np.nansum(at_half * ratio))
    table["Mean@0.1"] = float(np.nansum(at_tenth * ratio))
    return table
