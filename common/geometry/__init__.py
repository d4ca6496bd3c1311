"""Batched torch geometry: rotation conversions, similarity Procrustes, pinhole camera, rigid transforms."""

from common.geometry.camera import invert_rigid, make_rigid, project, rigid_transform, unproject
from common.geometry.procrustes import apply_similarity, similarity_procrustes, umeyama
from common.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_multiply,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rodrigues,
    rot6d_to_matrix,
    skew,
)

__all__ = [
    "apply_similarity", "axis_angle_to_matrix", "axis_angle_to_quaternion", "invert_rigid", "make_rigid",
    "matrix_to_axis_angle", "matrix_to_quaternion", "matrix_to_rot6d", "project", "quaternion_multiply",
    "quaternion_to_axis_angle", "quaternion_to_matrix", "rigid_transform", "rodrigues", "rot6d_to_matrix",
    "similarity_procrustes", "skew", "umeyama", "unproject",
]
