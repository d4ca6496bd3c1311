"""Yaw-only egocentric canonical frame (EgoH4/EggHand) and clip windowing with validity and edge padding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

ArrayLike = TypeVar("ArrayLike", np.ndarray, torch.Tensor)


def joint_validity(joints: np.ndarray) -> np.ndarray:
    """(...,J,3) -> (...,J) bool: a joint is invalid when any coordinate is NaN or all three are exactly 0."""
    finite = np.isfinite(joints).all(-1)
    nonzero = np.abs(np.nan_to_num(joints)).sum(-1) > 0
    return finite & nonzero


def canonical_frame(extrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World->camera [R|t] (3,4) -> (R_cano_world (3,3), origin (3,) world metres) removing only yaw.

    Origin is the camera centre; the rotation is Rz(-atan2(f_y, f_x)) with f the camera's +z axis in world
    coordinates, so world z (gravity) is kept and the camera's forward projection maps to +x.
    """
    rot, trans = extrinsics[:, :3], extrinsics[:, 3]
    origin = -rot.T @ trans
    forward = rot.T @ np.array([0.0, 0.0, 1.0])
    yaw = np.arctan2(forward[1], forward[0])
    c, s = np.cos(-yaw), np.sin(-yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]), origin


WRISTS = (0, 21)                                  # right wrist, left wrist in the 42-joint layout
WRIST_OF = [0] * 21 + [21] * 21                   # the wrist of each of the 42 joints


def to_wrist_relative(hands: ArrayLike) -> ArrayLike:
    """(...,42,3) joints (numpy or torch, metres) -> wrists kept, finger joints minus their hand's wrist."""
    base = hands[..., WRIST_OF, :]
    base[..., WRISTS, :] = 0
    return hands - base


def from_wrist_relative(rel: ArrayLike) -> ArrayLike:
    """Inverse of `to_wrist_relative`."""
    base = rel[..., WRIST_OF, :]
    base[..., WRISTS, :] = 0
    return rel + base


def to_canonical(points: np.ndarray, rot: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """World points (...,3) -> canonical frame (metres)."""
    return (points - origin) @ rot.T


def from_canonical(points: np.ndarray, rot: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Canonical points (...,3) -> world frame (inverse of `to_canonical`)."""
    return points @ rot + origin


def extrinsics_in_canonical(extrinsics: np.ndarray, rot: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """World->camera (...,3,4) -> canonical->camera (...,3,4): p_cam = R_c (R^T p' + o) + t."""
    r_cam, t_cam = extrinsics[..., :3], extrinsics[..., 3]
    new_rot = r_cam @ rot.T
    new_t = (r_cam @ origin) + t_cam
    return np.concatenate([new_rot, new_t[..., None]], axis=-1)


@dataclass
class Window:
    """One forecasting sample in the canonical frame (metres); invalid joints are zeros."""

    past: np.ndarray            # (obs_len, 42, 3)
    past_valid: np.ndarray      # (obs_len, 42) bool
    past_extrinsics: np.ndarray  # (obs_len, 12) canonical->camera, flattened 3x4
    future: np.ndarray          # (horizon, 42, 3)
    future_valid: np.ndarray    # (horizon, 42) bool
    egomotion: float            # norm of the variation of the camera extrinsics over the clip
    video_index: np.ndarray     # (num_video_frames,) episode frame indices of the RGB frames


def window_indices(anchor: int, length: int, obs_len: int, horizon: int, action_offset_start: int,
                   video_offsets: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edge-padded (clamped) episode indices of the state, action and video offsets around `anchor`."""
    state = np.clip(np.arange(anchor - obs_len + 1, anchor + 1), 0, length - 1)
    action = np.clip(np.arange(anchor + action_offset_start, anchor + action_offset_start + horizon),
                     0, length - 1)
    video = np.clip(anchor + np.asarray(video_offsets), 0, length - 1)
    return state, action, video


def make_window(joints_world: np.ndarray, extrinsics: np.ndarray, anchor: int, obs_len: int = 20,
                horizon: int = 10, action_offset_start: int = 1,
                video_offsets: list[int] | None = None) -> Window:
    """Cut one sample from an episode (T,42,3 world, NaN/0 invalid; T,3,4 world->camera) at `anchor`."""
    state_idx, action_idx, video_idx = window_indices(anchor, len(joints_world), obs_len, horizon,
                                                      action_offset_start, video_offsets or [-18, -12, -6, 0])
    rot, origin = canonical_frame(extrinsics[state_idx[0]])

    def convert(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw = joints_world[idx]
        valid = joint_validity(raw)
        cano = to_canonical(np.nan_to_num(raw), rot, origin)
        return np.where(valid[..., None], cano, 0.0).astype(np.float32), valid

    past, past_valid = convert(state_idx)
    future, future_valid = convert(action_idx)
    clip_idx = np.concatenate([state_idx, action_idx])
    egomotion = float(np.linalg.norm(np.diff(extrinsics[clip_idx].reshape(len(clip_idx), -1), axis=0)))
    past_extr = extrinsics_in_canonical(extrinsics[state_idx], rot, origin).reshape(obs_len, 12)
    return Window(past, past_valid, past_extr.astype(np.float32), future, future_valid, egomotion, video_idx)
