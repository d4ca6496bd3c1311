"""Static (training mean pose: eggflow.data.StatsAccumulator), CVM and zero-velocity in the canonical frame."""

from __future__ import annotations

import numpy as np


def last_valid(past: np.ndarray, past_valid: np.ndarray) -> np.ndarray:
    """Per joint, the most recent valid observed position: past (N,T,J,3), valid (N,T,J) -> (N,J,3).

    A joint never observed validly falls back to the canonical origin (its coordinates stay 0).
    """
    t = np.arange(past.shape[1])[None, :, None]
    latest = np.where(past_valid, t, -1).max(axis=1)                                   # (N, J)
    picked = np.take_along_axis(past, np.clip(latest, 0, None)[:, None, :, None], axis=1)[:, 0]
    return np.where((latest >= 0)[..., None], picked, 0.0)


def zero_velocity(past: np.ndarray, past_valid: np.ndarray, horizon: int) -> np.ndarray:
    """Hold the last observed (valid) pose for every future step: (N,horizon,J,3)."""
    return np.repeat(last_valid(past, past_valid)[:, None], horizon, axis=1)


def constant_velocity(past: np.ndarray, past_valid: np.ndarray, horizon: int,
                      action_offset_start: int = 1) -> np.ndarray:
    """Per joint v = p[-1] - p[-2] (0 unless both are valid); target at offset k is p_last + k v."""
    both = (past_valid[:, -1] & past_valid[:, -2])[..., None]
    velocity = np.where(both, past[:, -1] - past[:, -2], 0.0)
    steps = np.arange(action_offset_start, action_offset_start + horizon, dtype=past.dtype)
    return last_valid(past, past_valid)[:, None] + steps[None, :, None, None] * velocity[:, None]


def static(mean: np.ndarray, num: int, horizon: int) -> np.ndarray:
    """The training mean pose (J,3) repeated for every sample and future step."""
    return np.broadcast_to(mean, (num, horizon, *mean.shape)).copy()
