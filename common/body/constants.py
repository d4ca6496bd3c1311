"""Joint names, kinematic trees, landmark vertex ids and part names of SMPL and MANO."""

from __future__ import annotations

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hand", "right_hand",
)
SMPL_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)
"""Parent of each SMPL joint (-1 for the root), equal to kintree_table[0] of the real model."""

SMPL_PART_NAMES: tuple[str, ...] = (
    "head", "left_foot", "left_forearm", "left_leg", "left_midarm", "left_upperarm", "right_foot",
    "right_forearm", "right_leg", "right_midarm", "right_upperarm", "torso", "upper_left_leg",
    "upper_right_leg",
)
"""The 14 body parts of BEHAVE's smpl_parts_dense.pkl, in its (alphabetical) order."""

MANO_JOINT_NAMES_16: tuple[str, ...] = (
    "wrist", "index1", "index2", "index3", "middle1", "middle2", "middle3", "little1", "little2", "little3",
    "ring1", "ring2", "ring3", "thumb1", "thumb2", "thumb3",
)
"""MANO's own 16-joint order (as smplx.MANO returns them)."""
MANO_PARENTS_16: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)

MANO_JOINT_NAMES: tuple[str, ...] = (
    "wrist", "thumb1", "thumb2", "thumb3", "thumb4", "index1", "index2", "index3", "index4",
    "middle1", "middle2", "middle3", "middle4", "ring1", "ring2", "ring3", "ring4",
    "little1", "little2", "little3", "little4",
)
"""21 hand joints in DexYCB/OpenPose order (tips are the *4 joints)."""
MANO_PARENTS_21: tuple[int, ...] = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
MANO_TIP_VERTEX_IDS: tuple[int, ...] = (745, 317, 444, 556, 673)
"""MANO vertex ids of the thumb, index, middle, ring and little fingertips."""
MANO_16_TO_21: tuple[int, ...] = (0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20)
"""Index into cat([16 MANO joints, 5 tips]) that gives the 21 joints in MANO_JOINT_NAMES order."""
