"""Single images of a stand-in MANO right hand holding a primitive object, with visible/amodal masks and
per-point contact ground truth (object points within `contact_threshold` of the hand surface).

World frame = MANO's canonical frame with the wrist at its rest position (the hand has zero global
orientation); the camera is placed at random around the hand-object pair.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.data import schema as S
from common.data.render import merge_meshes, rasterize, shade
from common.data.synthetic.hands import CURL_PRESETS, HAND_COLOR, HandModel
from common.data.synthetic.objects import COLOR_NAMES, OBJECT_CATEGORIES, make_object
from common.data.synthetic.scene import (
    box_from_points,
    contact_labels,
    intrinsics,
    look_at,
    place_touching,
    project_points,
    random_rotation,
    visible_in_image,
    world_to_cam,
)


def _article(word: str) -> str:
    """'an' before a vowel, else 'a'."""
    return "an" if word[0] in "aeiou" else "a"


@dataclass
class GraspScene:
    """One hand-object scene, world frame (m)."""

    index: int
    category: str
    color_name: str
    hand_verts: np.ndarray
    joints: np.ndarray
    pose: np.ndarray
    transl: np.ndarray
    betas: np.ndarray
    obj_verts: np.ndarray
    obj_faces: np.ndarray
    obj_points: np.ndarray
    obj_pose: np.ndarray
    contact: np.ndarray
    T_world_cam: np.ndarray
    K: np.ndarray


class HandObjectGenerator:
    """Deterministic hand-object grasp samples (schema dicts); `gen[i]` is a pure function of (seed, i).

    Keys: K, T_world_cam, joints_cam/joints_2d/joint_valid (21 MANO joints), mano, box (hand), object_points,
    object_category, object_pose, object_contact, text, action ('hold'), hand_side; with render=True also
    image, mask (visible hand), object_mask (visible object), object_mask_amodal, depth.
    """

    def __init__(self, seed: int = 0, num_samples: int = 1000, image_hw: tuple[int, int] = (256, 256),
                 render: bool = False, object_categories: Sequence[str] = OBJECT_CATEGORIES,
                 contact_threshold: float = 0.005, num_object_points: int = 2048,
                 model_dir: str | Path | None = None) -> None:
        self.seed, self.num_samples, self.image_hw, self.render = seed, num_samples, tuple(image_hw), render
        self.object_categories, self.contact_threshold = tuple(object_categories), contact_threshold
        self.num_object_points = num_object_points
        self.hand = HandModel(True, model_dir)

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_samples:
            raise IndexError(index)
        return self.to_sample(self.scene(index))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(self.num_samples))

    def stream(self, start: int = 0) -> Iterator[dict[str, Any]]:
        """Samples start, start+1, ... forever."""
        index = start
        while True:
            yield self.to_sample(self.scene(index))
            index += 1

    def scene(self, index: int) -> GraspScene:
        """Generate scene `index`: grasp the object against the palm, then place a camera around it."""
        rng = np.random.default_rng([self.seed, int(index)])
        hand = self.hand
        category = self.object_categories[int(rng.integers(len(self.object_categories)))]
        color_name = list(COLOR_NAMES)[int(rng.integers(len(COLOR_NAMES)))]
        curls = np.clip(CURL_PRESETS["grasp"] * rng.uniform(0.55, 0.9, 5), 0.0, 1.0)
        betas = np.clip(rng.normal(0.0, 0.5, 10), -1.5, 1.5)
        verts, joints, pose48, transl = hand.forward(np.zeros((1, 3)), curls[None], hand.wrist[None], betas)
        verts, joints = verts[0], joints[0]
        normal = hand.art.palm_normal
        anchor = hand.anchor(np.eye(3), np.zeros(5)) + hand.wrist
        obj_verts, obj_faces, points = make_object(category, rng, self.num_object_points)
        R = random_rotation(rng)
        t = place_touching(points, R, anchor, normal, rng.uniform(0.0, 0.003))
        obj_pose = np.eye(4)
        obj_pose[:3, :3], obj_pose[:3, 3] = R, t
        points_w = (points @ R.T + t).astype(np.float32)
        contact, _, _ = contact_labels(points_w, verts, self.contact_threshold)
        center = 0.5 * (joints.mean(axis=0) + points_w.mean(axis=0))
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        dist = rng.uniform(0.35, 0.6)
        T_world_cam = look_at(center + dist * direction, center + rng.normal(0.0, 0.01, 3),
                              rng.uniform(-np.pi, np.pi))
        h, w = self.image_hw
        extent = np.ptp(np.concatenate([joints, points_w]), axis=0).max()
        K = intrinsics(rng.uniform(0.45, 0.7) * w * dist / max(extent, 0.05), (h, w))
        return GraspScene(int(index), category, color_name, verts, joints, pose48[0], transl[0],
                          betas.astype(np.float32), obj_verts @ R.T + t, obj_faces, points_w, obj_pose,
                          contact,
                          T_world_cam, K)

    def to_sample(self, scene: GraspScene) -> dict[str, Any]:
        """Schema sample (camera frame, pixels) of a scene; renders it when `render` is set."""
        T, K, hw = scene.T_world_cam, scene.K, self.image_hw
        joints = world_to_cam(scene.joints, T)
        uv = project_points(joints, K)
        hand_cam = world_to_cam(scene.hand_verts, T)
        sample: dict[str, Any] = {
            S.K: K.astype(np.float32), S.T_WORLD_CAM: T.astype(np.float32),
            S.JOINTS_CAM: joints.astype(np.float32),
            S.JOINTS_2D: np.nan_to_num(uv, nan=-1.0).astype(np.float32),
            S.JOINT_VALID: visible_in_image(uv, joints, hw),
            S.MANO: {S.BETAS: scene.betas, S.POSE: scene.pose, S.TRANSL: scene.transl},
            S.BOX: box_from_points(project_points(hand_cam, K), hw),
            S.OBJECT_POINTS: world_to_cam(scene.obj_points, T).astype(np.float32),
            S.OBJECT_CATEGORY: scene.category,
            S.OBJECT_POSE: (np.linalg.inv(T) @ scene.obj_pose).astype(np.float32),
            S.OBJECT_CONTACT: scene.contact,
            S.TEXT: f"a hand holding {_article(scene.color_name)} {scene.color_name} {scene.category}",
            S.ACTION: "hold", S.HAND_SIDE: "right", S.SEQUENCE_ID: f"grasp_{self.seed}_{scene.index:06d}",
            S.FRAME_ID: 0,
        }
        if self.render:
            obj_cam = world_to_cam(scene.obj_verts, T)
            verts, faces, offsets = merge_meshes([(hand_cam, self.hand.faces), (obj_cam, scene.obj_faces)])
            colors = np.concatenate([np.tile(HAND_COLOR, (len(self.hand.faces), 1)),
                                     np.tile(COLOR_NAMES[scene.color_name], (len(scene.obj_faces), 1))])
            face_ids, depth = rasterize(verts, faces, K, hw)
            background = np.full((*hw, 3), 96, np.uint8)
            rgb = shade(face_ids, verts, faces, colors, background)
            amodal, _ = rasterize(obj_cam, scene.obj_faces, K, hw)
            sample.update({
                S.IMAGE: (rgb.transpose(2, 0, 1) / np.float32(255.0)).astype(np.float32), S.DEPTH: depth,
                S.MASK: (face_ids >= 0) & (face_ids < offsets[1]), S.OBJECT_MASK: face_ids >= offsets[1],
                S.OBJECT_MASK_AMODAL: amodal >= 0,
            })
        return sample
