"""Posed stand-in SMPL bodies seen by a known camera (third-person or close-range egocentric), optionally
touching a primitive object with per-point contact ground truth.

Sample i is a pure function of (seed, i): `gen[i]` and `iter(gen)` give identical samples.
World frame: y up, ground at y = 0; the SMPL parameters in `smpl` produce the body in that frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from common.body import SMPL_PARENTS, SMPL_PART_NAMES, load_smpl, smpl_part_labels
from common.data import schema as S
from common.data.render import merge_meshes, rasterize, shade
from common.data.synthetic.objects import COLOR_NAMES, OBJECT_CATEGORIES, make_object
from common.data.synthetic.poses import random_body_pose
from common.data.synthetic.scene import (
    box_from_points,
    contact_labels,
    ground_mesh,
    intrinsics,
    look_at,
    place_touching,
    project_points,
    random_rotation,
    vertex_normal,
    visible_in_image,
    world_to_cam,
)

VIEWS: tuple[str, ...] = ("exo", "ego", "mixed")
"""'exo': third-person camera 2.5-5 m away; 'ego': head-height camera 0.5-2.5 m in front of the subject
(wide field of view, parts leave the frame); 'mixed': each sample picks one of the two."""
SKIN_TONES = np.array([[0.93, 0.78, 0.66], [0.80, 0.62, 0.48], [0.62, 0.45, 0.33], [0.42, 0.3, 0.22]])
BODY_JOINTS = 24
COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)
KEYPOINT_SETS: dict[str, tuple[int, ...]] = {
    "smpl24": tuple(range(BODY_JOINTS)),
    "coco17": (24, 26, 25, 28, 27, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8),
}
"""Rows of smplx's 45 SMPL joints per keypoint set. COCO face points are smplx's landmark vertices (nose,
eyes, ears); COCO limbs and hips are SMPL joints (an approximation: COCO hips sit lower and wider)."""
PARENTS = np.maximum(np.array(SMPL_PARENTS), 0)
"""SMPL parent of each joint (root mapped to itself), for bone sampling."""


@dataclass
class PlacedObject:
    """A primitive object placed in the world (m) with contact labels against the body."""

    category: str
    color_name: str
    verts: np.ndarray
    faces: np.ndarray
    points: np.ndarray
    pose: np.ndarray
    contact: np.ndarray
    contact_part: np.ndarray
    anchor: int


@dataclass
class BodyScene:
    """One generated scene, world frame (m): SMPL parameters, mesh, joints, camera and optional object."""

    index: int
    view: str
    betas: np.ndarray
    pose: np.ndarray
    transl: np.ndarray
    verts: np.ndarray
    joints: np.ndarray
    keypoints: np.ndarray
    T_world_cam: np.ndarray
    K: np.ndarray
    skin: np.ndarray
    obj: PlacedObject | None


class BodySceneGenerator:
    """Deterministic stream of posed stand-in bodies with cameras; `gen[i]` is a schema sample.

    Keys: K, T_world_cam, joints_cam/joints_2d/joint_valid (24 SMPL joints, or the 17 COCO keypoints with
    keypoints="coco17", in COCO_KEYPOINT_NAMES order), smpl, box, sequence_id,
    frame_id; with render=True also image, mask, depth; with an object also object_points (camera
    frame), object_category, object_pose, object_contact, object_contact_part, object_mask(_amodal),
    text and action ('touch'). return_vertices=True adds vertices_cam.
    """

    def __init__(self, seed: int = 0, num_samples: int = 1000, image_hw: tuple[int, int] = (224, 224),
                 view: str = "mixed", render: bool = False, object_prob: float = 0.0,
                 object_categories: Sequence[str] = OBJECT_CATEGORIES, contact_threshold: float = 0.04,
                 num_object_points: int = 1024, return_vertices: bool = False, keypoints: str = "smpl24",
                 model_dir: str | Path | None = None) -> None:
        if keypoints not in KEYPOINT_SETS:
            raise ValueError(f"keypoints must be one of {sorted(KEYPOINT_SETS)}, got {keypoints!r}")
        self.keypoint_ids = list(KEYPOINT_SETS[keypoints])
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        self.seed, self.num_samples, self.image_hw, self.view = seed, num_samples, tuple(image_hw), view
        self.render, self.object_prob, self.object_categories = render, object_prob, tuple(object_categories)
        self.contact_threshold, self.num_object_points = contact_threshold, num_object_points
        self.return_vertices = return_vertices
        self.model = load_smpl(model_dir)
        self.faces = np.asarray(self.model.faces, np.int64)
        self.part_labels = smpl_part_labels(model_dir)

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_samples:
            raise IndexError(index)
        return self.to_sample(self.scenes([index])[0])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.stream(stop=self.num_samples)

    def stream(self, start: int = 0, stop: int | None = None, batch: int = 16) -> Iterator[dict[str, Any]]:
        """Samples start, start+1, ... (forever when stop is None), posed in batches for speed."""
        index = start
        while stop is None or index < stop:
            count = batch if stop is None else min(batch, stop - index)
            yield from (self.to_sample(s) for s in self.scenes(range(index, index + count)))
            index += count

    def scenes(self, indices: Sequence[int]) -> list[BodyScene]:
        """Generate the scenes of `indices` with one batched SMPL forward pass."""
        rngs = [np.random.default_rng([self.seed, int(i)]) for i in indices]
        poses = np.stack([random_body_pose(r) for r in rngs])
        betas = np.stack([np.clip(r.normal(size=10), -2.0, 2.0).astype(np.float32) for r in rngs])
        yaw = np.array([r.uniform(-np.pi, np.pi) for r in rngs])
        poses[:, 1] = yaw
        place = np.stack([r.uniform(-0.5, 0.5, size=2) for r in rngs])
        with torch.no_grad():
            out = self.model(betas=torch.from_numpy(betas), global_orient=torch.from_numpy(poses[:, :3]),
                             body_pose=torch.from_numpy(poses[:, 3:]), transl=torch.zeros(len(rngs), 3))
        verts_all = out.vertices.double().numpy()
        joints_all = out.joints[:, :BODY_JOINTS].double().numpy()
        keypoints_all = out.joints[:, self.keypoint_ids].double().numpy()
        result = []
        for k, rng in enumerate(rngs):
            transl = np.array([place[k, 0], -verts_all[k, :, 1].min(), place[k, 1]])
            verts, joints = verts_all[k] + transl, joints_all[k] + transl
            view = self.view if self.view != "mixed" else ("exo", "ego")[int(rng.integers(2))]
            T_world_cam, K = self._camera(rng, view, joints, yaw[k])
            obj = self._object(rng, verts, joints) if rng.random() < self.object_prob else None
            skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.9, 1.05)
            result.append(BodyScene(int(indices[k]), view, betas[k], poses[k], transl.astype(np.float32),
                                    verts, joints, keypoints_all[k] + transl, T_world_cam, K, skin, obj))
        return result

    def _camera(self, rng: np.random.Generator, view: str, joints: np.ndarray,
                yaw: float) -> tuple[np.ndarray, np.ndarray]:
        """Random camera for the view: (T_world_cam (4,4), K (3,3))."""
        h, w = self.image_hw
        if view == "exo":
            azimuth, dist = rng.uniform(-np.pi, np.pi), rng.uniform(2.5, 5.0)
            eye = joints[0] + dist * np.array([np.sin(azimuth), 0.0, np.cos(azimuth)])
            eye[1] = rng.uniform(0.5, 2.0)
            target = joints[0] + np.array([0.0, rng.uniform(-0.1, 0.3), 0.0])
            focal = rng.uniform(0.7, 0.95) * h * np.linalg.norm(eye - target) / 1.9
            roll = rng.uniform(-0.05, 0.05)
        else:
            azimuth, dist = yaw + rng.uniform(-1.0, 1.0), rng.uniform(0.5, 2.5)
            eye = joints[0] + dist * np.array([np.sin(azimuth), 0.0, np.cos(azimuth)])
            eye[1] = rng.uniform(1.45, 1.75)
            target = joints[0] + rng.uniform(0.0, 1.0) * (joints[15] - joints[0]) + rng.normal(0.0, 0.12, 3)
            focal = 0.5 * w / np.tan(0.5 * np.radians(rng.uniform(60.0, 95.0)))
            roll = rng.uniform(-0.15, 0.15)
        offset = tuple(rng.uniform(-0.03, 0.03, 2) * (w, h))
        return look_at(eye, target, roll), intrinsics(focal, (h, w), offset)

    def _object(self, rng: np.random.Generator, verts: np.ndarray, joints: np.ndarray) -> PlacedObject:
        """A random object touching a random body vertex (forearms/hands twice as likely), with contact labels.

        The contact normal is the vertex normal, flipped if needed to point away from the nearest bone.
        """
        category = self.object_categories[int(rng.integers(len(self.object_categories)))]
        color_name = list(COLOR_NAMES)[int(rng.integers(len(COLOR_NAMES)))]
        obj_verts, obj_faces, points = make_object(category, rng, self.num_object_points)
        hand_parts = np.isin(self.part_labels, [SMPL_PART_NAMES.index(p) for p in ("left_forearm", "right_forearm")])
        weights = np.where(hand_parts, 2.0, 1.0)
        anchor_id = int(rng.choice(len(verts), p=weights / weights.sum()))
        normal = vertex_normal(verts, self.faces, anchor_id)
        bones = joints[1:, None] + np.linspace(0.0, 1.0, 5)[:, None] * (joints[PARENTS[1:]] - joints[1:])[:, None]
        skeleton = bones.reshape(-1, 3)
        outward = verts[anchor_id] - skeleton[np.argmin(np.linalg.norm(skeleton - verts[anchor_id], axis=1))]
        if normal @ outward < 0:
            normal = -normal
        rotation = random_rotation(rng)
        transl = place_touching(points, rotation, verts[anchor_id], normal, rng.uniform(0.0, 0.01))
        points_w = points @ rotation.T + transl
        contact, part, _ = contact_labels(points_w, verts, self.contact_threshold, self.part_labels)
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = rotation, transl
        return PlacedObject(category, color_name, obj_verts @ rotation.T + transl, obj_faces,
                            points_w.astype(np.float32), pose, contact, part, anchor_id)

    def to_sample(self, scene: BodyScene) -> dict[str, Any]:
        """Schema sample (camera frame, pixels) of a scene; renders it when `render` is set."""
        hw = self.image_hw
        T = scene.T_world_cam
        joints_cam = world_to_cam(scene.keypoints, T)
        uv = project_points(joints_cam, scene.K)
        verts_cam = world_to_cam(scene.verts, T)
        sample: dict[str, Any] = {
            S.K: scene.K.astype(np.float32), S.T_WORLD_CAM: T.astype(np.float32),
            S.JOINTS_CAM: joints_cam.astype(np.float32),
            S.JOINTS_2D: np.nan_to_num(uv, nan=-1.0).astype(np.float32),
            S.JOINT_VALID: visible_in_image(uv, joints_cam, hw),
            S.SMPL: {S.BETAS: scene.betas, S.POSE: scene.pose, S.TRANSL: scene.transl},
            S.BOX: box_from_points(project_points(verts_cam[verts_cam[:, 2] > 0.05], scene.K), hw),
            S.SEQUENCE_ID: f"body_{self.seed}_{scene.index:06d}", S.FRAME_ID: 0,
        }
        if self.return_vertices:
            sample[S.VERTICES_CAM] = verts_cam.astype(np.float32)
        obj = scene.obj
        if obj is not None:
            T_cam_world = np.linalg.inv(T)
            part = obj.contact_part[obj.contact]
            touching = "body"
            if len(part):
                touching = SMPL_PART_NAMES[int(np.bincount(part).argmax())].replace("_", " ")
            sample.update({
                S.OBJECT_POINTS: world_to_cam(obj.points, T).astype(np.float32),
                S.OBJECT_CATEGORY: obj.category, S.OBJECT_POSE: (T_cam_world @ obj.pose).astype(np.float32),
                S.OBJECT_CONTACT: obj.contact, S.OBJECT_CONTACT_PART: obj.contact_part,
                S.TEXT: f"touch the {obj.color_name} {obj.category} with the {touching}", S.ACTION: "touch",
            })
        if self.render:
            sample.update(self._render(scene, verts_cam))
        return sample

    def _render(self, scene: BodyScene, verts_cam: np.ndarray) -> dict[str, Any]:
        """Image, masks and depth of body (+ object) over a checkerboard ground and a plain sky."""
        T = scene.T_world_cam
        g_verts, g_faces, g_colors = ground_mesh(scene.verts.mean(axis=0), half_size=6.0, tile=0.5)
        meshes = [(verts_cam, self.faces), (world_to_cam(g_verts, T), g_faces)]
        colors = [np.tile(scene.skin, (len(self.faces), 1)), g_colors]
        if scene.obj is not None:
            meshes.append((world_to_cam(scene.obj.verts, T), scene.obj.faces))
            colors.append(np.tile(COLOR_NAMES[scene.obj.color_name], (len(scene.obj.faces), 1)))
        verts, faces, offsets = merge_meshes(meshes)
        sky = np.zeros((*self.image_hw, 3), np.uint8)
        sky[:] = (np.array([0.62, 0.75, 0.9]) * 255).astype(np.uint8)
        face_ids, depth = rasterize(verts, faces, scene.K, self.image_hw)
        rgb = shade(face_ids, verts, faces, np.concatenate(colors), sky)
        out = {S.IMAGE: (rgb.transpose(2, 0, 1) / np.float32(255.0)).astype(np.float32),
               S.MASK: (face_ids >= 0) & (face_ids < offsets[1]), S.DEPTH: depth}
        if scene.obj is not None:
            out[S.OBJECT_MASK] = face_ids >= offsets[2]
            amodal, _ = rasterize(*meshes[2], scene.K, self.image_hw)
            out[S.OBJECT_MASK_AMODAL] = amodal >= 0
        return out
