"""Contact classes (14 BEHAVE parts + no contact); the pseudo-labels themselves are kinematics.contacts'."""

from __future__ import annotations

import numpy as np

from kinematics.contacts import CONTACT_THRESHOLD_M, NO_CONTACT, contact_pseudo_labels

PART_NAMES: tuple[str, ...] = (
    "head", "left_foot", "left_forearm", "left_leg", "left_midarm", "left_upperarm", "right_foot",
    "right_forearm", "right_leg", "right_midarm", "right_upperarm", "torso", "upper_left_leg",
    "upper_right_leg",
)
"""The 14 parts in the key order of BEHAVE's `smpl_parts_dense.pkl` (label id = position)."""
__all__ = ["CLASS_NAMES", "CONTACT_THRESHOLD_M", "NO_CONTACT", "NUM_CLASSES", "NUM_PARTS", "PART_NAMES",
           "contact_pseudo_labels", "part_map_from_dict"]
NUM_PARTS = len(PART_NAMES)
NUM_CLASSES = NUM_PARTS + 1
CLASS_NAMES: tuple[str, ...] = (*PART_NAMES, "no_contact")


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
