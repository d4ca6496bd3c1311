"""Synthetic scenes built on the stand-in SMPL/MANO models: the embedded default data of every paper.

Public API (stable): `random_body_pose`, `BodySceneGenerator`, `BodyClipGenerator`, `HandMotionGenerator`,
`HandObjectGenerator`, `make_object`, `OBJECT_CATEGORIES`, `write_dataset`, `SyntheticDataset`. Each generator
maps (seed, index) to one schema sample (`gen[i]`), streams with `iter(gen)` / `gen.stream()`, and renders when
render=True. See docs/data.md.
"""

from common.data.synthetic.bodies import BodySceneGenerator
from common.data.synthetic.body_clips import BodyClipGenerator
from common.data.synthetic.grasps import HandObjectGenerator
from common.data.synthetic.hands import ACTIONS, HandMotionGenerator
from common.data.synthetic.io import SyntheticDataset, write_dataset
from common.data.synthetic.objects import COLOR_NAMES, OBJECT_CATEGORIES, make_object
from common.data.synthetic.poses import SMPL_POSE_LIMITS, random_body_pose

GENERATORS = {"bodies": BodySceneGenerator, "body_clips": BodyClipGenerator, "hands": HandMotionGenerator,
              "grasps": HandObjectGenerator}
"""Generator classes by short name (used by scripts/show_samples.py and the benchmark)."""

__all__ = [
    "ACTIONS", "COLOR_NAMES", "GENERATORS", "OBJECT_CATEGORIES", "SMPL_POSE_LIMITS", "BodyClipGenerator",
    "BodySceneGenerator",
    "HandMotionGenerator", "HandObjectGenerator", "SyntheticDataset", "make_object", "random_body_pose",
    "write_dataset",
]
