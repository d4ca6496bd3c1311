"""Static (training mean pose), CVM (constant velocity) and zero-velocity baselines in the canonical frame."""

from __future__ import annotations

import numpy as np


def zero_velocity(past: np.ndarray, horizon: int) -> np.ndarray:
    """Hold the last observed pose: past (N,T,J,3) -> (N,horizon,J,3)."""
    return np.repeat(past[:, -1:], horizon, axis=1)


def constant_velocity(past: np.ndarray, horizon: int, action_offset_start: int = 1) -> np.ndarray:
    """Per-joint v = p[-1] - p[-2]; the target at offset k (k = start..start+H-1) is p[-1] + k v."""
    velocity = past[:, -1] - past[:, -2]
    steps = np.arange(action_offset_start, action_offset_start + horizon, dtype=past.dtype)
    return past[:, -1][:, None] + steps[None, :, None, None] * velocity[:, None]


def mean_pose(train_future: np.ndarray, train_valid: np.ndarray) -> np.ndarray:
    """Per-joint mean canonical position over every valid training target frame: (J,3)."""
    weights = train_valid.reshape(-1, train_valid.shape[-1], 1).astype(np.float64)
    points = train_future.reshape(-1, *train_future.shape[-2:])
    return ((points * weights).sum(0) / np.maximum(weights.sum(0), 1)).astype(np.float32)


def static(mean: np.ndarray, num: int, horizon: int) -> np.ndarray:
    """The training mean pose (J,3) repeated for every sample and future step."""
    return np.broadcast_to(mean, (num, horizon, *mean.shape)).copy()
