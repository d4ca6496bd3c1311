"""Shared synthetic building blocks the papers' own generators use: primitive objects and SMPL body poses.

`make_object` / `OBJECT_CATEGORIES` / `COLOR_NAMES` (contact and tiger scenes), `random_body_pose` /
`SMPL_POSE_LIMITS` (taihri). Each paper writes its own scenes with them (see docs/data.md).
"""

from common.data.synthetic.objects import COLOR_NAMES, OBJECT_CATEGORIES, make_object
from common.data.synthetic.poses import SMPL_POSE_LIMITS, random_body_pose

__all__ = ["COLOR_NAMES", "OBJECT_CATEGORIES", "SMPL_POSE_LIMITS", "make_object", "random_body_pose"]
