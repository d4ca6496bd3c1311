"""Trajectory errors ADE/FDE of tracked points (EggHand protocol), in the units of the inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from common.metrics._arrays import check_points, joint_mask, row_norm, to_numpy


def _frame_errors(pred: Any, gt: Any, valid: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame mean error over valid points (N, T) and whether each frame has any valid point (N, T)."""
    p, g = to_numpy(pred), to_numpy(gt)
    check_points(p, g)
    if p.ndim != 4:
        raise ValueError(f"expected trajectories (N, T, K, 3), got {p.shape}")
    mask = joint_mask(valid, p.shape[:-1])
    errors = row_norm(p - g)
    count = mask.sum(-1)
    frame_err = (errors * mask).sum(-1) / np.maximum(count, 1)
    return frame_err, count > 0


def ade(pred: Any, gt: Any, valid: Any = None) -> float:
    """Average displacement error: mean over valid points per frame, then frames, then samples.

    Frames with no valid point and samples with no valid frame are skipped; NaN when nothing is valid.
    """
    frame_err, frame_ok = _frame_errors(pred, gt, valid)
    n_frames = frame_ok.sum(-1)
    sample_ok = n_frames > 0
    if not sample_ok.any():
        return float("nan")
    sample_err = (frame_err * frame_ok).sum(-1)[sample_ok] / n_frames[sample_ok]
    return float(sample_err.mean())


def fde(pred: Any, gt: Any, valid: Any = None) -> float:
    """Final displacement error: mean over the valid points of the last frame, then over samples."""
    frame_err, frame_ok = _frame_errors(pred, gt, valid)
    last_ok = frame_ok[:, -1]
    return float(frame_err[last_ok, -1].mean()) if last_ok.any() else float("nan")
