"""Pose samplers: SMPL body poses inside natural joint limits and MANO finger articulations.

SMPL canonical frame: y up, the body faces +z, its left side is +x; each joint's axis-angle components
are rotations about those axes (radians). Limits are per component, loosely following anatomical
ranges of motion (knees and elbows bend one way only, spine and neck split over several joints).
"""

from __future__ import annotations

import numpy as np
import torch

from common.body import mano_joints21

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


_FINGER_JOINTS = {"index": (0, 1, 2), "middle": (3, 4, 5), "little": (6, 7, 8), "ring": (9, 10, 11),
                  "thumb": (12, 13, 14)}
"""Indices into MANO's 15 articulated joints (smplx hand_pose order) per finger."""
_FINGERS = ("thumb", "index", "middle", "ring", "little")
_MAX_FLEX = {"thumb": (0.5, 0.6, 0.9), "index": (1.4, 1.7, 1.0), "middle": (1.4, 1.7, 1.0),
             "ring": (1.4, 1.7, 1.0), "little": (1.4, 1.7, 1.0)}
"""Flexion (rad) of each finger's three joints at full curl."""
_TIPS_21 = {"thumb": 4, "index": 8, "middle": 12, "ring": 16, "little": 20}
_BASES_21 = {"thumb": 1, "index": 5, "middle": 9, "ring": 13, "little": 17}


class HandArticulation:
    """Finger curls -> MANO hand_pose (45,); flexion axes are derived from the model's rest joints.

    The palm normal is cross(index1 - wrist, little1 - wrist), negated for a left hand; each finger
    bends about cross(finger direction, palm normal) so curling moves its tip towards the palm side.
    """

    def __init__(self, mano_model: torch.nn.Module) -> None:
        with torch.no_grad():
            zeros = torch.zeros(1, 3)
            rest = mano_model(global_orient=zeros, hand_pose=torch.zeros(1, 45), betas=torch.zeros(1, 10),
                              transl=zeros)
            joints = mano_joints21(rest, mano_model)[0].double().numpy()
        wrist = joints[0]
        normal = np.cross(joints[5] - wrist, joints[17] - wrist)
        normal /= np.linalg.norm(normal)
        if not getattr(mano_model, "is_rhand", True):
            normal = -normal
        self.palm_normal = normal  # (3,) unit, out of the palm, MANO canonical frame
        self.rest_joints = joints  # (21, 3) m, flat hand, MANO canonical frame
        self.axes = np.zeros((15, 3))
        for finger in _FINGERS:
            axis = np.cross(joints[_TIPS_21[finger]] - joints[_BASES_21[finger]], normal)
            self.axes[list(_FINGER_JOINTS[finger])] = axis / np.linalg.norm(axis)

    def hand_pose(self, curls: np.ndarray) -> np.ndarray:
        """(45,) float32 axis-angle from finger curls (5,) in [0,1]: thumb, index, middle, ring, little."""
        pose = np.zeros((15, 3))
        for finger, curl in zip(_FINGERS, np.asarray(curls, np.float64)):
            for joint, flex in zip(_FINGER_JOINTS[finger], _MAX_FLEX[finger]):
                pose[joint] = self.axes[joint] * flex * curl
        return pose.reshape(45).astype(np.float32)
