"""Contact pseudo-labels (paper eqs. 15-16): nearest SMPL vertex within 0.04 m gives its BEHAVE part."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from common.body import SMPL_PART_NAMES

NO_CONTACT = len(SMPL_PART_NAMES)
"""Label of the 15th class, 'no contact'."""
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
