"""Metrics shared by all papers, computed as the benchmarks' official evaluation code computes them.

The numpy-only metrics import eagerly; the point-cloud, ICP and protocol metrics resolve lazily (PEP 562),
so `from common.metrics import coco_keypoint_eval` loads numpy and pycocotools but neither torch nor scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

from common.metrics.aggregate import M_TO_CM, M_TO_MM, TAIHRI_PART_SETS, aggregate, convert_units, per_subset_mpjpe
from common.metrics.coco import COCO_KEYPOINT_SIGMAS, COCO_KEYPOINT_STAT_NAMES, coco_keypoint_eval
from common.metrics.joints import joint_errors, mpjpe, pa_mpjpe, per_sample_mpjpe, root_aligned_mpjpe, root_relative
from common.metrics.mpii import MPII_JOINT_NAMES, SC_BIAS, mpii_pckh, pckh
from common.metrics.trajectories import ade, fde

_WHERE = {
    "icp_translation_scale": "icp",
    "chamfer_distance": "pointcloud",
    "chamfer_from_distances": "pointcloud",
    "f_score": "pointcloud",
    "fscore_from_distances": "pointcloud",
    "nearest_distances": "pointcloud",
    "sample_surface": "pointcloud",
    "surface_points": "pointcloud",
    "behave_chamfer": "protocols",
    "egghand_metrics": "protocols",
    "egghand_validity": "protocols",
    "gsdf_hand_object_metrics": "protocols",
    "gsdf_sample_metrics": "protocols",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'common.metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"common.metrics.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


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
