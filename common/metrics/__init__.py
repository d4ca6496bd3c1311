"""Metrics shared by all papers, computed as the benchmarks' official evaluation code computes them."""

from common.metrics.aggregate import (
    M_TO_CM,
    M_TO_MM,
    TAIHRI_PART_SETS,
    aggregate,
    convert_units,
    per_subset_mpjpe,
)
from common.metrics.coco import COCO_KEYPOINT_SIGMAS, COCO_KEYPOINT_STAT_NAMES, coco_keypoint_eval
from common.metrics.icp import icp_translation_scale
from common.metrics.joints import (
    joint_errors,
    mpjpe,
    pa_mpjpe,
    per_sample_mpjpe,
    root_aligned_mpjpe,
    root_relative,
)
from common.metrics.mpii import MPII_JOINT_NAMES, SC_BIAS, mpii_pckh, pckh
from common.metrics.pointcloud import (
    chamfer_distance,
    chamfer_from_distances,
    f_score,
    fscore_from_distances,
    nearest_distances,
    sample_surface,
    surface_points,
)
from common.metrics.protocols import (
    behave_chamfer,
    egghand_metrics,
    egghand_validity,
    gsdf_hand_object_metrics,
    gsdf_sample_metrics,
)
from common.metrics.trajectories import ade, fde

__all__ = [
    "COCO_KEYPOINT_SIGMAS",
    "COCO_KEYPOINT_STAT_NAMES",
    "MPII_JOINT_NAMES",
    "M_TO_CM",
    "M_TO_MM",
    "SC_BIAS",
    "TAIHRI_PART_SETS",
    "ade",
    "aggregate",
    "behave_chamfer",
    "chamfer_distance",
    "chamfer_from_distances",
    "coco_keypoint_eval",
    "convert_units",
    "egghand_metrics",
    "egghand_validity",
    "f_score",
    "fde",
    "fscore_from_distances",
    "gsdf_hand_object_metrics",
    "gsdf_sample_metrics",
    "icp_translation_scale",
    "joint_errors",
    "mpii_pckh",
    "mpjpe",
    "nearest_distances",
    "pa_mpjpe",
    "pckh",
    "per_sample_mpjpe",
    "per_subset_mpjpe",
    "root_aligned_mpjpe",
    "root_relative",
    "sample_surface",
    "surface_points",
]
