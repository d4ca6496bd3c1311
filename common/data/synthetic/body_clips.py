"""Clips of a stand-in SMPL body moving smoothly between two natural poses, seen by a fixed camera,
optionally with an object that stays attached to the touched body surface (contact labels per frame).

A clip sample is the per-frame `BodySceneGenerator` samples stacked along a leading T axis (see
`stack_frames`): per-frame keys get (T, ...), `image` becomes `frames`, other per-pixel keys are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from common.data import schema as S
from common.data.synthetic.bodies import BODY_JOINTS, SKIN_TONES, BodyScene, BodySceneGenerator
from common.data.synthetic.poses import random_body_pose
from common.data.synthetic.scene import contact_labels, min_jerk


def stack_frames(frames: list[dict[str, Any]], times: np.ndarray) -> dict[str, Any]:
    """Stack per-frame schema samples into one clip sample with `timestamps` = times (s)."""
    first = frames[0]
    clip: dict[str, Any] = {S.TIMESTAMPS: np.asarray(times, np.float32)}
    for key, value in first.items():
        spec = S.SPEC.get(key)
        if key == S.IMAGE:
            clip[S.FRAMES] = np.stack([f[key] for f in frames])
        elif key in S.IMAGE_LIKE_KEYS:
            continue
        elif isinstance(value, dict):
            fields = S.SPEC[key].fields if key in S.SPEC else {}
            clip[key] = {sub: np.stack([f[key][sub] for f in frames]) if sub not in fields or fields[sub].per_frame
                         else v for sub, v in value.items()}
        elif spec is not None and spec.per_frame:
            clip[key] = np.stack([f[key] for f in frames])
        else:
            clip[key] = value
    return clip


def _surface_frame(verts: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(4,4) rigid frame on a mesh triangle: origin at its first vertex, z along its normal."""
    a, b, c = verts[face]
    x = (b - a) / np.linalg.norm(b - a)
    z = np.cross(b - a, c - a)
    z /= np.linalg.norm(z)
    frame = np.eye(4)
    frame[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    frame[:3, 3] = a
    return frame


class BodyClipGenerator(BodySceneGenerator):
    """Deterministic body clips: `gen[i]` is a clip sample of `num_frames` frames at `fps`.

    Same options as `BodySceneGenerator`; the touched object (probability `object_prob`) moves rigidly with
    the triangle it touches, and `object_contact`/`object_contact_part` are recomputed every frame.
    """

    def __init__(self, *args: Any, num_frames: int = 8, fps: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.num_frames, self.fps = num_frames, fps

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_samples:
            raise IndexError(index)
        return self.clip_sample(self.clip(index))

    def stream(self, start: int = 0, stop: int | None = None) -> Iterator[dict[str, Any]]:
        """Clips start, start+1, ... (forever when stop is None)."""
        index = start
        while stop is None or index < stop:
            yield self.clip_sample(self.clip(index))
            index += 1

    def clip(self, index: int) -> list[BodyScene]:
        """Per-frame scenes of clip `index` (a pure function of seed and index)."""
        rng = np.random.default_rng([self.seed, int(index), 1])
        start, end = random_body_pose(rng), random_body_pose(rng)
        weight = min_jerk(np.linspace(0.0, 1.0, self.num_frames))[:, None]
        poses = (start + (end - start) * weight).astype(np.float32)
        yaw = rng.uniform(-np.pi, np.pi)
        poses[:, 1] = yaw
        betas = np.clip(rng.normal(size=10), -2.0, 2.0).astype(np.float32)
        place = rng.uniform(-0.5, 0.5, size=2)
        with torch.no_grad():
            out = self.model(betas=torch.from_numpy(np.tile(betas, (self.num_frames, 1))),
                             global_orient=torch.from_numpy(poses[:, :3]), body_pose=torch.from_numpy(poses[:, 3:]),
                             transl=torch.zeros(self.num_frames, 3))
        verts = out.vertices.double().numpy()
        joints = out.joints[:, :BODY_JOINTS].double().numpy()
        keypoints = out.joints[:, self.keypoint_ids].double().numpy()
        transl = np.stack([[place[0], -v[:, 1].min(), place[1]] for v in verts])
        verts, joints, keypoints = verts + transl[:, None], joints + transl[:, None], keypoints + transl[:, None]
        view = self.view if self.view != "mixed" else ("exo", "ego")[int(rng.integers(2))]
        T_world_cam, K = self._camera(rng, view, joints[0], yaw)
        obj = self._object(rng, verts[0], joints[0]) if rng.random() < self.object_prob else None
        skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.9, 1.05)
        scenes = []
        if obj is not None:
            face = self.faces[np.flatnonzero((self.faces == obj.anchor).any(axis=1))[0]]
            to_local = np.linalg.inv(_surface_frame(verts[0], face))
        for t in range(self.num_frames):
            placed = None
            if obj is not None:
                motion = _surface_frame(verts[t], face) @ to_local
                points = obj.points @ motion[:3, :3].T + motion[:3, 3]
                contact, part, _ = contact_labels(points, verts[t], self.contact_threshold, self.part_labels)
                placed = replace(obj, verts=obj.verts @ motion[:3, :3].T + motion[:3, 3],
                                 points=points.astype(np.float32), pose=motion @ obj.pose, contact=contact,
                                 contact_part=part)
            scenes.append(BodyScene(int(index), view, betas, poses[t], transl[t].astype(np.float32), verts[t],
                                    joints[t], keypoints[t], T_world_cam, K, skin, placed))
        return scenes

    def clip_sample(self, scenes: list[BodyScene]) -> dict[str, Any]:
        """Schema clip sample (leading T on per-frame keys) of `clip(...)` scenes."""
        times = np.arange(len(scenes)) / self.fps
        return stack_frames([self.to_sample(scene) for scene in scenes], times)
