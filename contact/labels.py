"""Contact pseudo-labels (paper eqs. 15-16): nearest SMPL vertex within 0.04 m gives its BEHAVE part."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

PART_NAMES: tuple[str, ...] = (
    "head", "left_foot", "left_forearm", "left_leg", "left_midarm", "left_upperarm", "right_foot",
    "right_forearm", "right_leg", "right_midarm", "right_upperarm", "torso", "upper_left_leg",
    "upper_right_leg",
)
"""The 14 parts in the key order of BEHAVE's `smpl_parts_dense.pkl` (label id = position)."""
NUM_PARTS = len(PART_NAMES)
NO_CONTACT = NUM_PARTS
"""Label of the 15th class, 'no contact'."""
NUM_CLASSES = NUM_PARTS + 1
CLASS_NAMES: tuple[str, ...] = (*PART_NAMES, "no_contact")
CONTACT_THRESHOLD_M = 0.04


def _as_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def contact_pseudo_labels(object_points: np.ndarray | torch.Tensor, body_verts: np.ndarray | torch.Tensor,
                          part_labels: np.ndarray | torch.Tensor,
                          threshold: float = CONTACT_THRESHOLD_M) -> tuple[np.ndarray, np.ndarray]:
    """Per object point (N,3) m: (label (N,) int64 in 0..14, distance (N,) m to the nearest body vertex).

    `body_verts` (V,3) m in the same frame, `part_labels` (V,) part id per vertex; a point whose
    nearest vertex is closer than `threshold` takes that vertex's part, otherwise NO_CONTACT.
    """
    points = _as_numpy(object_points).astype(np.float64)
    verts = _as_numpy(body_verts).astype(np.float64)
    parts = _as_numpy(part_labels).astype(np.int64)
    if parts.shape != (verts.shape[0],):
        raise ValueError(f"part_labels has shape {parts.shape}; expected ({verts.shape[0]},), one per vertex")
    dist, nearest = cKDTree(verts).query(points, k=1)
    labels = np.where(dist < threshold, parts[nearest], NO_CONTACT).astype(np.int64)
    return labels, dist


def part_map_from_dict(parts: dict[str, list[int] | np.ndarray], num_verts: int = 6890) -> np.ndarray:
    """(V,) int64 part id per vertex from a BEHAVE-style {part name: vertex ids} dict (ids by PART_NAMES)."""
    if set(parts) != set(PART_NAMES):
        raise ValueError(f"part dict keys {sorted(parts)} differ from BEHAVE's 14 parts {list(PART_NAMES)}")
    labels = np.full(num_verts, -1, dtype=np.int64)
    for part_id, name in enumerate(PART_NAMES):
        labels[np.asarray(parts[name], dtype=np.int64)] = part_id
    if (labels < 0).any():
        raise ValueError(f"{int((labels < 0).sum())} vertices are in no part; the map must cover all")
    return labels
