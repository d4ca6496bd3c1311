"""Stand-in MANO hands: table-top clips of structured motions (reach, grasp, tap) with a matching task text,
seen by a slowly moving head camera (single grasp images are in `grasps.py`).

World frame: y up, table top at y = TABLE_HEIGHT; the head camera sits near the origin looking at the
table (+z). Motions use minimum-jerk profiles, so positions and velocities are continuous.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from common.body import load_mano, mano_joints21
from common.data import schema as S
from common.data.render import merge_meshes, rasterize, shade
from common.data.synthetic.objects import COLOR_NAMES, OBJECT_CATEGORIES, make_object
from common.data.synthetic.poses import HandArticulation
from common.data.synthetic.scene import (
    WORLD_UP,
    intrinsics,
    look_at,
    min_jerk,
    project_points,
    visible_in_image,
    world_to_cam,
)

ACTIONS: tuple[str, ...] = ("reach", "grasp", "tap")
TABLE_HEIGHT = 0.75
HAND_COLOR = np.array([0.88, 0.72, 0.6])
_TEXT = {"reach": "reach toward the {color} {category}", "grasp": "pick up the {color} {category}",
         "tap": "tap the {color} {category} twice"}
CURL_PRESETS: dict[str, np.ndarray] = {
    "relaxed": np.array([0.2, 0.15, 0.15, 0.2, 0.25]), "open": np.full(5, 0.05),
    "grasp": np.array([0.55, 0.7, 0.72, 0.75, 0.78]), "point": np.array([0.7, 0.02, 0.9, 0.95, 0.95]),
}
"""Finger curls (thumb, index, middle, ring, little) in [0,1] of the named hand shapes."""


def frame_rotation(fingers: np.ndarray, palm: np.ndarray, fingers_to: np.ndarray,
                   palm_to: np.ndarray) -> np.ndarray:
    """(3,3) rotation taking (fingers, palm normal) directions to (fingers_to, palm_to), orthonormalised."""
    def basis(f: np.ndarray, n: np.ndarray) -> np.ndarray:
        n = n / np.linalg.norm(n)
        f = f - (f @ n) * n
        f /= np.linalg.norm(f)
        return np.stack([f, n, np.cross(f, n)], axis=1)

    return basis(fingers_to, palm_to) @ basis(fingers, palm).T


def axis_angle(R: np.ndarray) -> np.ndarray:
    """(3,) axis-angle of a rotation matrix (scipy, stable near pi)."""
    return Rotation.from_matrix(R).as_rotvec()


@dataclass
class TableObject:
    """An object standing on the table (world frame, m)."""

    category: str
    color_name: str
    verts: np.ndarray
    faces: np.ndarray
    points: np.ndarray
    pose: np.ndarray


class HandModel:
    """One MANO hand (stand-in by default) with its articulation helper and palm anchor geometry."""

    def __init__(self, is_right: bool, model_dir: str | Path | None) -> None:
        self.model = load_mano(model_dir, is_rhand=is_right)
        self.faces = np.asarray(self.model.faces, np.int64)
        self.art = HandArticulation(self.model)
        rest = self.art.rest_joints
        self.wrist = rest[0]
        self.fingers = rest[12] - rest[0]
        self.palm_center = rest[[0, 5, 9, 13, 17]].mean(axis=0)

    def forward(self, orient: np.ndarray, curls: np.ndarray, wrist: np.ndarray,
                betas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Batched (T,...) pose -> (verts (T,V,3), joints21 (T,21,3), pose48 (T,48), transl (T,3)), m."""
        hand_pose = np.stack([self.art.hand_pose(c) for c in curls]).astype(np.float32)
        transl = (wrist - self.wrist).astype(np.float32)
        count = len(curls)
        with torch.no_grad():
            out = self.model(global_orient=torch.from_numpy(orient.astype(np.float32)),
                             hand_pose=torch.from_numpy(hand_pose),
                             betas=torch.from_numpy(np.tile(betas, (count, 1)).astype(np.float32)),
                             transl=torch.from_numpy(transl))
            joints = mano_joints21(out, self.model).double().numpy()
        pose48 = np.concatenate([orient, hand_pose], axis=1).astype(np.float32)
        return out.vertices.double().numpy(), joints, pose48, transl

    def anchor(self, R: np.ndarray, curls: np.ndarray) -> np.ndarray:
        """Outermost point on the palm side near the palm centre, relative to the wrist, hand rotated by R.

        With curled fingers this can be a finger over the palm (use zero curls for the palm surface).
        """
        verts, _, _, _ = self.forward(np.zeros((1, 3)), curls[None], self.wrist[None], np.zeros(10))
        rel = verts[0] - self.palm_center
        normal = self.art.palm_normal
        in_plane = np.linalg.norm(rel - np.outer(rel @ normal, normal), axis=1)
        near = np.flatnonzero(in_plane < 0.02)
        best = near[np.argmax(rel[near] @ normal)]
        return R @ (verts[0, best] - self.wrist)


def table_objects(rng: np.random.Generator, count: int, categories: Sequence[str],
                  num_points: int) -> list[TableObject]:
    """`count` objects with distinct colours standing on the table in front of the camera, >=12 cm apart."""
    colors = rng.permutation(list(COLOR_NAMES))[:count]
    objects: list[TableObject] = []
    centers: list[np.ndarray] = []
    while len(objects) < count:
        category = categories[int(rng.integers(len(categories)))]
        verts, faces, points = make_object(category, rng, num_points)
        spot = np.array([rng.uniform(-0.3, 0.3), 0.0, rng.uniform(0.4, 0.65)])
        if any(np.linalg.norm(spot - c) < 0.12 for c in centers):
            continue
        yaw = rng.uniform(-np.pi, np.pi)
        upright = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])
        R = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1.0, 0], [-np.sin(yaw), 0, np.cos(yaw)]]) @ upright
        height = (verts @ R.T)[:, 1]
        spot[1] = TABLE_HEIGHT - height.min()
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = R, spot
        centers.append(spot)
        objects.append(TableObject(category, str(colors[len(objects)]), verts @ R.T + spot, faces,
                                   (points @ R.T + spot).astype(np.float32), pose))
    return objects


@dataclass
class HandTrack:
    """One hand over a clip, world frame (m): mesh, 21 joints and MANO parameters per frame."""

    side: str
    verts: np.ndarray
    joints: np.ndarray
    pose: np.ndarray
    transl: np.ndarray
    betas: np.ndarray


@dataclass
class HandClip:
    """One generated clip: table objects, the target, hands over time, cameras (world frame, m)."""

    index: int
    action: str
    text: str
    active: str
    target: int
    objects: list[TableObject]
    target_poses: np.ndarray
    hands: list[HandTrack]
    times: np.ndarray
    T_world_cam: np.ndarray
    K: np.ndarray


class HandMotionGenerator:
    """Deterministic clips of a hand reaching toward, grasping (and lifting) or tapping a named object.

    Sample keys (clip: leading T on per-frame keys): timestamps, K, T_world_cam, joints_cam/joints_2d/
    joint_valid (21 joints, or 42 = right then left with two_hands), mano (the right hand; `mano_left`
    too with two_hands), object_points/object_pose/object_category of the target, text, action,
    hand_side (the moving hand), sequence_id, frame_id; frames with render=True. `egomotion` scales the
    head motion (3 cm eye, 5 cm gaze sway), times a per-clip factor drawn in [0.2, 1.8].
    """

    def __init__(self, seed: int = 0, num_samples: int = 1000, num_frames: int = 30, fps: float = 10.0,
                 image_hw: tuple[int, int] = (224, 224), render: bool = False, two_hands: bool = False,
                 num_objects: int = 3, actions: Sequence[str] = ACTIONS,
                 object_categories: Sequence[str] = OBJECT_CATEGORIES, egomotion: float = 1.0,
                 num_object_points: int = 512, model_dir: str | Path | None = None) -> None:
        unknown = set(actions) - set(ACTIONS)
        if unknown:
            raise ValueError(f"unknown actions {sorted(unknown)}; choose from {ACTIONS}")
        self.seed, self.num_samples, self.num_frames, self.fps = seed, num_samples, num_frames, fps
        self.image_hw, self.render, self.two_hands = tuple(image_hw), render, two_hands
        self.num_objects, self.actions = num_objects, tuple(actions)
        self.object_categories = tuple(object_categories)
        self.egomotion, self.num_object_points = egomotion, num_object_points
        self.hands = {"right": HandModel(True, model_dir)}
        if two_hands:
            self.hands["left"] = HandModel(False, model_dir)

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_samples:
            raise IndexError(index)
        return self.to_sample(self.clip(index))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.stream(stop=self.num_samples)

    def stream(self, start: int = 0, stop: int | None = None) -> Iterator[dict[str, Any]]:
        """Samples start, start+1, ... (forever when stop is None)."""
        index = start
        while stop is None or index < stop:
            yield self.to_sample(self.clip(index))
            index += 1

    def clip(self, index: int) -> HandClip:
        """Generate clip `index` (a pure function of seed and index)."""
        rng = np.random.default_rng([self.seed, int(index)])
        objects = table_objects(rng, self.num_objects, self.object_categories, self.num_object_points)
        target = int(rng.integers(len(objects)))
        action = self.actions[int(rng.integers(len(self.actions)))]
        active = "left" if self.two_hands and rng.random() < 0.5 else "right"
        times = np.arange(self.num_frames) / self.fps
        s = np.linspace(0.0, 1.0, self.num_frames)
        target_poses = np.tile(objects[target].pose, (self.num_frames, 1, 1))
        tracks = []
        for side, hand in self.hands.items():
            sign = 1.0 if side == "right" else -1.0
            start = np.array([0.24 * sign, TABLE_HEIGHT + 0.12, 0.2]) + rng.normal(0.0, 0.02, 3)
            betas = np.clip(rng.normal(0.0, 0.5, 10), -1.5, 1.5)
            if side == active:
                R, curls, wrist, lift = self._motion(rng, hand, sign, action, objects[target], start, s)
                target_poses[:, :3, 3] += lift
            else:
                R = frame_rotation(hand.fingers, hand.art.palm_normal, np.array([0.0, 0.0, 1.0]), -WORLD_UP)
                curls = np.tile(CURL_PRESETS["relaxed"], (len(s), 1))
                sway = np.sin(2 * np.pi * s * rng.uniform(0.3, 0.8))
                wrist = start + np.outer(sway, rng.normal(0, 0.01, 3))
            orient = np.tile(axis_angle(R), (len(s), 1))
            verts, joints, pose48, transl = hand.forward(orient, curls, wrist, betas)
            tracks.append(HandTrack(side, verts, joints, pose48, transl, betas.astype(np.float32)))
        T_world_cam, K = self._cameras(rng, s)
        obj = objects[target]
        text = _TEXT[action].format(color=obj.color_name, category=obj.category)
        return HandClip(int(index), action, text, active, target, objects, target_poses, tracks, times,
                        T_world_cam, K)

    def _motion(self, rng: np.random.Generator, hand: HandModel, sign: float, action: str, obj: TableObject,
                start: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rotation (3,3), curls (T,5), wrist (T,3) and object lift (T,3) of the moving hand."""
        center = obj.pose[:3, 3]
        approach = (center - start) * np.array([1.0, 0.0, 1.0])
        approach /= np.linalg.norm(approach)
        s0 = rng.uniform(0.0, 0.15)
        lift = np.zeros((len(s), 3))
        if action == "grasp":
            fingers_to = sign * np.cross(approach, WORLD_UP)
            R = frame_rotation(hand.fingers, hand.art.palm_normal, fingers_to, approach)
            opened, closed = CURL_PRESETS["open"], CURL_PRESETS["grasp"]
            curls = opened + np.outer(min_jerk((s - 0.55) / 0.2), closed - opened)
            front = center - approach * np.max((center - obj.points) @ approach)
            goal = front - approach * rng.uniform(0.0, 0.004) - hand.anchor(R, CURL_PRESETS["grasp"])
            wrist = start + np.outer(min_jerk((s - s0) / (0.55 - s0)), goal - start)
            lift = np.outer(min_jerk((s - 0.75) / 0.2), WORLD_UP * rng.uniform(0.08, 0.15))
            wrist = wrist + lift
        elif action == "tap":
            R = frame_rotation(hand.fingers, hand.art.palm_normal, approach - 0.6 * WORLD_UP, -WORLD_UP)
            point = CURL_PRESETS["point"]
            relaxed = CURL_PRESETS["relaxed"]
            curls = relaxed + np.outer(min_jerk((s - s0) / 0.3), point - relaxed)
            _, joints, _, _ = hand.forward(np.zeros((1, 3)), point[None], hand.wrist[None], np.zeros(10))
            tip = R @ (joints[0, 8] - hand.wrist)
            top = obj.points[:, 1].max()
            above = np.array([center[0], top + 0.06, center[2]]) - tip
            wrist = start + np.outer(min_jerk((s - s0) / (0.45 - s0)), above - start)
            wrist[:, 1] -= 0.06 * np.sin(2 * np.pi * np.clip((s - 0.5) / 0.45, 0.0, 1.0)) ** 2
        else:
            R = frame_rotation(hand.fingers, hand.art.palm_normal, approach, -WORLD_UP)
            relaxed, opened = CURL_PRESETS["relaxed"], CURL_PRESETS["open"]
            curls = relaxed + np.outer(min_jerk((s - s0) / 0.6), opened - relaxed)
            radius = np.max(np.linalg.norm((obj.points - center)[:, [0, 2]], axis=1))
            goal = center - approach * (radius + rng.uniform(0.1, 0.14)) + WORLD_UP * rng.uniform(0.03, 0.08)
            wrist = start + np.outer(min_jerk((s - s0) / rng.uniform(0.6, 0.8)), goal - start)
        return R, curls, wrist, lift

    def _cameras(self, rng: np.random.Generator, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Head cameras over the clip (T,4,4) with smooth egomotion, and one K (3,3)."""
        h, w = self.image_hw
        eye0 = np.array([0.0, 1.35, 0.05]) + rng.normal(0.0, 0.03, 3)
        look0 = np.array([0.0, TABLE_HEIGHT, 0.45]) + rng.normal(0.0, 0.03, 3)
        freq, phase = rng.uniform(0.2, 0.8, 6), rng.uniform(0, 2 * np.pi, 6)
        wave = np.sin(2 * np.pi * np.outer(s, freq) + phase) * self.egomotion * rng.uniform(0.2, 1.8)
        eyes = eye0 + 0.03 * wave[:, :3]
        looks = look0 + 0.05 * wave[:, 3:]
        T = np.stack([look_at(e, t) for e, t in zip(eyes, looks)])
        K = intrinsics(0.5 * w / np.tan(0.5 * np.radians(rng.uniform(55.0, 70.0))), (h, w))
        return T, K

    def to_sample(self, clip: HandClip) -> dict[str, Any]:
        """Schema clip sample (camera frame of each frame, pixels)."""
        T = clip.T_world_cam
        R, t = T[:, :3, :3], T[:, :3, 3]

        def to_cam(points: np.ndarray) -> np.ndarray:
            return np.einsum("tij,tni->tnj", R, points - t[:, None])

        joints = np.concatenate([to_cam(track.joints) for track in clip.hands], axis=1)
        uv = project_points(joints, clip.K)
        obj = clip.objects[clip.target]
        points = np.einsum("tij,nj->tni", clip.target_poses[:, :3, :3], obj.points - obj.pose[:3, 3])
        points = to_cam(points + clip.target_poses[:, None, :3, 3])
        count = len(clip.times)
        sample: dict[str, Any] = {
            S.TIMESTAMPS: clip.times.astype(np.float32),
            S.K: np.tile(clip.K, (count, 1, 1)).astype(np.float32),
            S.T_WORLD_CAM: T.astype(np.float32), S.JOINTS_CAM: joints.astype(np.float32),
            S.JOINTS_2D: np.nan_to_num(uv, nan=-1.0).astype(np.float32),
            S.JOINT_VALID: visible_in_image(uv, joints, self.image_hw),
            S.OBJECT_POINTS: points.astype(np.float32), S.OBJECT_CATEGORY: obj.category,
            S.OBJECT_POSE: np.linalg.inv(T) @ clip.target_poses, S.TEXT: clip.text, S.ACTION: clip.action,
            S.HAND_SIDE: clip.active, S.SEQUENCE_ID: f"hand_{self.seed}_{clip.index:06d}", S.FRAME_ID: 0,
        }
        sample[S.OBJECT_POSE] = sample[S.OBJECT_POSE].astype(np.float32)
        for track in clip.hands:
            key = S.MANO if track.side == "right" else "mano_left"
            sample[key] = {S.BETAS: track.betas, S.POSE: track.pose, S.TRANSL: track.transl}
        if self.render:
            sample[S.FRAMES] = self._render(clip)
        return sample

    def _render(self, clip: HandClip) -> np.ndarray:
        """(T,3,H,W) float frames: table, objects (target moving when lifted) and hands."""
        frames = []
        table = np.array([[-0.6, TABLE_HEIGHT, 0.1], [0.6, TABLE_HEIGHT, 0.1], [0.6, TABLE_HEIGHT, 1.0],
                          [-0.6, TABLE_HEIGHT, 1.0]])
        table_faces = np.array([[0, 2, 1], [0, 3, 2]])
        background = np.zeros((*self.image_hw, 3), np.uint8)
        background[:] = (80, 70, 64)
        for f in range(len(clip.times)):
            T = clip.T_world_cam[f]
            meshes, colors = [(world_to_cam(table, T), table_faces)], [np.tile([0.55, 0.42, 0.3], (2, 1))]
            for k, obj in enumerate(clip.objects):
                verts = obj.verts
                if k == clip.target:
                    verts = verts + (clip.target_poses[f, :3, 3] - obj.pose[:3, 3])
                meshes.append((world_to_cam(verts, T), obj.faces))
                colors.append(np.tile(COLOR_NAMES[obj.color_name], (len(obj.faces), 1)))
            for track in clip.hands:
                faces = self.hands[track.side].faces
                meshes.append((world_to_cam(track.verts[f], T), faces))
                colors.append(np.tile(HAND_COLOR, (len(faces), 1)))
            verts, faces, _ = merge_meshes(meshes)
            face_ids, _ = rasterize(verts, faces, clip.K, self.image_hw)
            rgb = shade(face_ids, verts, faces, np.concatenate(colors), background)
            frames.append(rgb.transpose(2, 0, 1) / np.float32(255.0))
        return np.stack(frames).astype(np.float32)
