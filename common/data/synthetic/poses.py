"""SMPL body poses inside natural joint limits (used by taihri's scenes).

SMPL canonical frame: y up, the body faces +z, its left side is +x; each joint's axis-angle components
are rotations about those axes (radians). Limits are per component, loosely following anatomical
ranges of motion (knees and elbows bend one way only, spine and neck split over several joints).
"""

from __future__ import annotations

import numpy as np

_LIMITS_DEG: dict[int, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    1: ((-110, 25), (-35, 35), (-20, 45)),     # left hip: flexion is -x, abduction +z
    2: ((-110, 25), (-35, 35), (-45, 20)),     # right hip
    3: ((-10, 25), (-15, 15), (-12, 12)),      # spine1
    4: ((0, 135), (-5, 5), (-5, 5)),           # left knee: flexion +x only
    5: ((0, 135), (-5, 5), (-5, 5)),           # right knee
    6: ((-10, 25), (-15, 15), (-12, 12)),      # spine2
    7: ((-25, 35), (-15, 15), (-12, 12)),      # left ankle
    8: ((-25, 35), (-15, 15), (-12, 12)),      # right ankle
    9: ((-10, 20), (-15, 15), (-10, 10)),      # spine3
    10: ((-10, 10), (-5, 5), (-5, 5)),         # left foot
    11: ((-10, 10), (-5, 5), (-5, 5)),         # right foot
    12: ((-20, 30), (-30, 30), (-15, 15)),     # neck
    13: ((-5, 5), (-10, 10), (-15, 10)),       # left collar
    14: ((-5, 5), (-10, 10), (-10, 15)),       # right collar
    15: ((-20, 30), (-30, 30), (-15, 15)),     # head
    16: ((-40, 40), (-80, 30), (-85, 40)),     # left shoulder: arm down is -z, forward is -y
    17: ((-40, 40), (-30, 80), (-40, 85)),     # right shoulder: arm down is +z, forward is +y
    18: ((-10, 10), (-140, 0), (-10, 10)),     # left elbow: flexion -y only
    19: ((-10, 10), (0, 140), (-10, 10)),      # right elbow: flexion +y only
    20: ((-40, 40), (-20, 20), (-50, 50)),     # left wrist
    21: ((-40, 40), (-20, 20), (-50, 50)),     # right wrist
    22: ((-10, 10), (-10, 10), (-10, 10)),     # left hand
    23: ((-10, 10), (-10, 10), (-10, 10)),     # right hand
}
SMPL_POSE_LIMITS = np.zeros((24, 3, 2), np.float32)
"""(24, 3, 2) radians: lower/upper bound of each axis-angle component (root unbounded, kept at 0)."""
for _joint, _ranges in _LIMITS_DEG.items():
    SMPL_POSE_LIMITS[_joint] = np.radians(np.array(_ranges, np.float32))

_NEUTRAL = np.zeros((24, 3), np.float32)
_NEUTRAL[16, 2], _NEUTRAL[17, 2] = np.radians(-65), np.radians(65)   # arms half down
_NEUTRAL[18, 1], _NEUTRAL[19, 1] = np.radians(-20), np.radians(20)
_NEUTRAL[4, 0] = _NEUTRAL[5, 0] = np.radians(8)


def random_body_pose(rng: np.random.Generator, spread: float = 0.3) -> np.ndarray:
    """(72,) float32 SMPL axis-angle pose in joint limits, global orientation zero (upright, facing +z).

    Each component is drawn around a relaxed standing pose with std `spread` times its range, clipped.
    """
    lo, hi = SMPL_POSE_LIMITS[..., 0], SMPL_POSE_LIMITS[..., 1]
    pose = _NEUTRAL + rng.normal(size=(24, 3)).astype(np.float32) * spread * (hi - lo)
    pose = np.clip(pose, lo, hi)
    pose[0] = 0.0
    return pose.reshape(72).astype(np.float32)
