"""Synthetic HOI clips (the embedded default): a stand-in SMPL body touching a primitive object over T frames.

Each clip: one interaction (a hand, a foot or sitting), T frames of slow motion with the object following
the contact, rendered RGB frames (body coloured per part, occluders on some frames), object surface
points with 15-class contact pseudo-labels from the GT body, and rough fits made by perturbing the GT
(object pose noise per frame; body translation and contact-chain rotation noise per clip), as an
upstream tracker would give. Everything is in the camera frame (OpenCV axes, metres).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from common.body import load_smpl, smpl_part_labels
from common.cache import cache_key, cached_npz
from common.data.render import render_mesh
from common.data.synthetic.objects import make_object
from common.geometry.meshes import sample_surface
from contact.config import ContactDataConfig
from contact.labels import PART_NAMES, contact_pseudo_labels

log = logging.getLogger(__name__)

CHAIN_JOINTS: dict[str, tuple[int, ...]] = {
    "left_arm": (13, 16, 18, 20), "right_arm": (14, 17, 19, 21), "left_leg": (1, 4, 7),
    "right_leg": (2, 5, 8), "body": (3, 6, 9, 12, 15),
}
"""Rotating joints of the paper's five kinematic chains (Fig. 3), SMPL joint ids."""
CACHE_VERSION = 6
CLIP_FRAMES = 7
"""Frames of every generated clip (the paper's largest T); a model with data.frames = T < 7 reads the centred
T-frame window of the same clips (contact.task.ClipDataset), so rows with different T see the same data."""


@dataclass(frozen=True)
class Interaction:
    """One interaction type: body parts whose vertices may touch, chain that moves, object categories."""

    name: str
    parts: tuple[str, ...]
    chain: str
    categories: tuple[str, ...]
    scale: tuple[float, float]          # object scale range applied to `make_object`'s hand-sized shapes


INTERACTIONS: tuple[Interaction, ...] = (
    Interaction("right_hand", ("right_forearm",), "right_arm", ("box", "cylinder", "sphere", "bottle"),
                (0.9, 1.4)),
    Interaction("left_hand", ("left_forearm",), "left_arm", ("box", "cylinder", "sphere", "bottle"),
                (0.9, 1.4)),
    Interaction("right_foot", ("right_foot",), "right_leg", ("box", "sphere", "cylinder"), (1.0, 1.6)),
    Interaction("left_foot", ("left_foot",), "left_leg", ("box", "sphere", "cylinder"), (1.0, 1.6)),
    Interaction("sit", ("upper_left_leg", "upper_right_leg"), "body", ("box", "cylinder"), (1.8, 2.4)),
)

PART_COLORS = np.array([
    [0.93, 0.80, 0.68], [0.20, 0.20, 0.25], [0.85, 0.55, 0.45], [0.25, 0.30, 0.55], [0.75, 0.35, 0.30],
    [0.65, 0.25, 0.25], [0.30, 0.30, 0.20], [0.55, 0.75, 0.45], [0.45, 0.35, 0.65], [0.40, 0.60, 0.35],
    [0.30, 0.50, 0.30], [0.80, 0.70, 0.30], [0.30, 0.45, 0.75], [0.55, 0.30, 0.60]])
"""Per-part clothing colours (head skin, dark shoes, ...), indexed by BEHAVE part id."""


def _rotvec(*steps: tuple[str, float]) -> np.ndarray:
    """Axis-angle of the composed rotation of (axis letter, degrees) steps, applied left to right."""
    rot = Rotation.identity()
    for axis, deg in steps:
        rot = Rotation.from_euler(axis, deg, degrees=True) * rot
    return rot.as_rotvec()


def interaction_pose(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Body pose (23,3) axis-angles for an interaction: arms relaxed, the acting limb reaching out."""
    pose = np.zeros((23, 3))
    relax = rng.uniform(55, 75)
    pose[15] = _rotvec(("z", -relax), ("y", rng.uniform(-10, 10)))       # left shoulder (joint 16)
    pose[16] = _rotvec(("z", relax), ("y", rng.uniform(-10, 10)))        # right shoulder (joint 17)
    if kind in ("right_hand", "left_hand"):
        side = 1.0 if kind == "right_hand" else -1.0
        shoulder, elbow = (16, 18) if kind == "right_hand" else (15, 17)
        pose[shoulder] = _rotvec(("z", side * rng.uniform(10, 50)), ("y", side * rng.uniform(50, 85)))
        pose[elbow] = _rotvec(("y", side * rng.uniform(0, 40)))
    elif kind in ("right_foot", "left_foot"):
        hip, knee = (1, 4) if kind == "right_foot" else (0, 3)
        pose[hip] = _rotvec(("x", -rng.uniform(20, 45)), ("z", rng.uniform(-8, 8)))
        pose[knee] = _rotvec(("x", rng.uniform(0, 25)))
    elif kind == "sit":
        for hip, knee in ((0, 3), (1, 4)):
            pose[hip] = _rotvec(("x", -rng.uniform(80, 95)), ("z", rng.uniform(-8, 8)))
            pose[knee] = _rotvec(("x", rng.uniform(80, 95)))
    else:
        raise KeyError(f"unknown interaction {kind!r}; choose one of {[i.name for i in INTERACTIONS]}")
    pose[2] = _rotvec(("x", rng.uniform(-8, 8)))                         # spine1
    return pose


def _look_direction(kind: str, joints: np.ndarray) -> np.ndarray:
    """Camera-frame unit direction from the body out towards where the object is placed."""
    if kind == "right_hand":
        d = joints[23] - joints[19]
    elif kind == "left_hand":
        d = joints[22] - joints[18]
    elif kind in ("right_foot", "left_foot"):
        foot, ankle = (11, 8) if kind == "right_foot" else (10, 7)
        d = (joints[foot] - joints[ankle]) + 0.3 * (joints[0] - joints[12])  # forward and down
    else:
        d = joints[0] - joints[12]                                        # down along the spine
    return d / np.linalg.norm(d)


class HOIClipGenerator:
    """Deterministic generator of synthetic HOI clips (`clip(i)` depends only on the seed and i)."""

    def __init__(self, cfg: ContactDataConfig, body_models: str | None = None) -> None:
        self.cfg = cfg
        self.body = load_smpl(body_models)
        self.part_labels = np.asarray(smpl_part_labels(body_models))
        self.faces = np.asarray(self.body.faces, dtype=np.int64)

    @torch.no_grad()
    def smpl(self, global_orient: np.ndarray, body_pose: np.ndarray, betas: np.ndarray,
             transl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Batched SMPL: (B,3), (B,69), (10,), (B,3) -> vertices (B,6890,3), joints (B,24,3) in metres."""
        b = len(global_orient)
        out = self.body(global_orient=torch.as_tensor(global_orient, dtype=torch.float32),
                        body_pose=torch.as_tensor(body_pose.reshape(b, -1), dtype=torch.float32),
                        betas=torch.as_tensor(betas, dtype=torch.float32).expand(b, -1),
                        transl=torch.as_tensor(transl, dtype=torch.float32))
        return out.vertices.double().numpy(), out.joints[:, :24].double().numpy()

    def _motion(self, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """GT per-frame global_orient (T,3), body pose (T,23,3), translation (T,3) for one clip."""
        t = CLIP_FRAMES
        base = interaction_pose(kind, rng)
        yaw = rng.uniform(-35, 35)
        orient = np.repeat(_rotvec(("y", yaw), ("x", 180.0))[None], t, axis=0)
        phase, speed = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.5)
        wiggle = rng.normal(size=(23, 3)) * np.deg2rad(4)
        poses = np.stack([base + wiggle * np.sin(phase + speed * i) for i in range(t)])
        start = np.array([rng.uniform(-0.15, 0.15), rng.uniform(-0.1, 0.1), rng.uniform(2.4, 2.9)])
        drift = rng.normal(size=3) * 0.008
        return orient, poses, start + drift * np.arange(t)[:, None]

    def _place_object(self, kind: str, verts0: np.ndarray, joints0: np.ndarray, interaction: Interaction,
                      rng: np.random.Generator) -> tuple[int, np.ndarray, np.ndarray, dict]:
        """Contact vertex id, object (verts, faces) in its frame, and its frame-0 pose touching the body."""
        category = str(rng.choice(interaction.categories))
        obj_verts, obj_faces, _ = make_object(category, rng, num_points=16)
        obj_verts = obj_verts.astype(np.float64) * rng.uniform(*interaction.scale)
        direction = _look_direction(kind, joints0)
        part_ids = [PART_NAMES.index(p) for p in interaction.parts]
        candidates = np.flatnonzero(np.isin(self.part_labels, part_ids))
        contact_vertex = int(candidates[np.argmax(verts0[candidates] @ direction)])
        rot = Rotation.random(random_state=int(rng.integers(1 << 31))).as_matrix()
        if kind == "sit":
            rot = Rotation.from_euler("y", rng.uniform(0, 360), degrees=True).as_matrix() @ np.array(
                [[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])                     # object up (+z) -> camera up (-y)
        rotated = obj_verts @ rot.T
        support = rotated[np.argmin(rotated @ direction)]
        gap = rng.uniform(-0.03, 0.0)                                     # pressed in: a grip, a step
        trans = verts0[contact_vertex] + gap * direction - support
        return contact_vertex, obj_verts, obj_faces, {"category": category, "rot": rot, "trans": trans}

    def _rough_body(self, chain: str, orient: np.ndarray, poses: np.ndarray, transl: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Rough fit: contact-chain joint rotations and translation perturbed (per clip, plus jitter)."""
        rough = poses.copy()
        for joint in CHAIN_JOINTS[chain]:
            bias = Rotation.from_rotvec(rng.normal(size=3) * np.deg2rad(self.cfg.chain_rot_deg) / np.sqrt(3))
            for i in range(len(poses)):
                jitter = Rotation.from_rotvec(rng.normal(size=3) * np.deg2rad(1.0))
                rough[i, joint - 1] = (jitter * bias * Rotation.from_rotvec(poses[i, joint - 1])).as_rotvec()
        sigma = self.cfg.body_trans_m                                     # depth-dominant, as monocular fits
        offset = np.array([rng.normal() * sigma / 3, rng.normal() * sigma / 3,
                           rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.0) * sigma])
        return rough, transl + offset + rng.normal(size=transl.shape) * 0.005

    def interaction_camera(self, centre: np.ndarray, radius: float) -> np.ndarray:
        """K (3,3) of a square crop centred on the object: side max(2.5 radius, crop_min_m) at its depth."""
        size = self.cfg.image_size
        side = max(2.5 * radius, self.cfg.crop_min_m)
        focal = size * centre[2] / side
        principal = size / 2 - 0.5 - focal * centre[:2] / centre[2]
        return np.array([[focal, 0.0, principal[0]], [0.0, focal, principal[1]], [0.0, 0.0, 1.0]])

    def _render(self, K: np.ndarray, body_verts: np.ndarray, obj_verts: np.ndarray, obj_faces: np.ndarray,
                obj_color: np.ndarray, background: np.ndarray, occluder: tuple | None) -> np.ndarray:
        size = self.cfg.image_size
        verts = np.concatenate([body_verts, obj_verts])
        faces = np.concatenate([self.faces, obj_faces + len(body_verts)])
        colors = np.concatenate([PART_COLORS[self.part_labels][self.faces].mean(axis=1),
                                 np.tile(obj_color, (len(obj_faces), 1))])
        bg = np.broadcast_to(background, (size, size, 3)).astype(np.uint8)
        rgb, _, _ = render_mesh(verts, faces, K, (size, size), colors=colors, background=bg)
        if occluder is not None:
            (u0, v0, u1, v1), color = occluder
            rgb[v0:v1, u0:u1] = color
        return rgb

    def clip(self, index: int) -> dict[str, np.ndarray | str]:
        """One clip as numpy arrays (see module docstring); keys documented in docs/contact.md."""
        digest = hashlib.sha256(f"{self.cfg.seed}:{index}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        interaction = INTERACTIONS[int(rng.integers(len(INTERACTIONS)))]
        kind = interaction.name
        betas = rng.normal(size=10) * 0.5
        orient, poses, transl = self._motion(kind, rng)
        verts, joints = self.smpl(orient, poses, betas, transl)
        contact_vertex, obj_verts, obj_faces, obj = self._place_object(
            kind, verts[0], joints[0], interaction, rng)
        obj_trans = obj["trans"] + (verts[:, contact_vertex] - verts[0, contact_vertex])   # follows contact
        scene = np.concatenate([verts[0], obj_verts @ obj["rot"].T + obj_trans[0]])
        shift = np.zeros(3)
        shift[:2] = -0.5 * (scene.min(axis=0) + scene.max(axis=0))[:2] + rng.normal(size=2) * 0.03
        verts, joints, transl, obj_trans = verts + shift, joints + shift, transl + shift, obj_trans + shift
        template_points = sample_surface(obj_verts, obj_faces, self.cfg.num_points, rng)
        gt_points = template_points @ obj["rot"].T + obj_trans[:, None]
        labels = np.stack([contact_pseudo_labels(p, v, self.part_labels)[0]
                           for p, v in zip(gt_points, verts)])
        t = CLIP_FRAMES
        rot_sigma = np.deg2rad(self.cfg.rough_rot_deg) / np.sqrt(3)
        noise = Rotation.from_rotvec(rng.normal(size=(t, 3)) * rot_sigma).as_matrix()
        rough_obj_rot = noise @ obj["rot"]
        rough_obj_trans = obj_trans + rng.normal(size=(t, 3)) * self.cfg.rough_trans_m / np.sqrt(3)
        rough_points = np.einsum("tij,nj->tni", rough_obj_rot, template_points) + rough_obj_trans[:, None]
        rough_pose, rough_transl = self._rough_body(interaction.chain, orient, poses, transl, rng)
        obj_color = rng.uniform(0.2, 1.0, size=3)
        background = rng.integers(40, 200, size=3)
        radius = float(np.linalg.norm(obj_verts, axis=1).max())
        Ks = np.stack([self.interaction_camera(p.mean(axis=0), radius) for p in gt_points])  # tracking crop
        images = []
        for i in range(t):
            occluder = None
            if rng.random() < self.cfg.occlusion_prob:
                uv = Ks[i] @ verts[i, contact_vertex]
                u, v = (uv[:2] / uv[2]).astype(int)
                half = int(self.cfg.image_size * rng.uniform(0.08, 0.16))
                box = (max(u - half, 0), max(v - half, 0), u + half, v + half)
                occluder = (box, rng.integers(0, 255, 3))
            obj_now = obj_verts @ obj["rot"].T + obj_trans[i]
            images.append(self._render(Ks[i], verts[i], obj_now, obj_faces, obj_color, background, occluder))
        root_2d = np.einsum("tij,tj->ti", Ks, joints[:, 0])
        return {
            "images": np.stack(images).transpose(0, 3, 1, 2),           # (T,3,S,S) uint8
            "K": Ks.astype(np.float32),
            "object_points": rough_points.astype(np.float32),
            "gt_object_points": gt_points.astype(np.float32),
            "labels": labels.astype(np.int64),
            "gt_global_orient": orient.astype(np.float32),
            "gt_body_pose": poses.reshape(t, 69).astype(np.float32),
            "gt_transl": transl.astype(np.float32), "betas": betas.astype(np.float32),
            "rough_body_pose": rough_pose.reshape(t, 69).astype(np.float32),
            "rough_transl": rough_transl.astype(np.float32),
            "root_2d": (root_2d[:, :2] / root_2d[:, 2:3] + rng.normal(size=(t, 2)) * 0.5).astype(np.float32),
            "object_verts": obj_verts.astype(np.float32), "object_faces": obj_faces,
            "gt_object_rot": np.repeat(obj["rot"][None], t, axis=0).astype(np.float32),
            "gt_object_trans": obj_trans.astype(np.float32),
            "rough_object_rot": rough_obj_rot.astype(np.float32),
            "rough_object_trans": rough_obj_trans.astype(np.float32),
            "interaction": kind, "category": obj["category"],
        }

    def config_key(self, body_models: str | None) -> str:
        """Hash of the data config, body model folder and format version (the on-disk cache name)."""
        return cache_key(asdict(replace(self.cfg, frames=CLIP_FRAMES)), body_models, CACHE_VERSION)


def generate_clips(cfg: ContactDataConfig, start: int, count: int, cache_dir: Path | None = None,
                   body_models: str | None = None) -> list[dict]:
    """Clips start..start+count-1, each cached as one .npz under cache_dir/hoi_<key>/ when given
    (common.cache: atomic writes; an unreadable file is named in a warning and rebuilt)."""
    generator = HOIClipGenerator(cfg, body_models)
    folder = None if cache_dir is None else Path(cache_dir) / f"hoi_{generator.config_key(body_models)}"
    clips = []
    for index in range(start, start + count):
        if folder is None:
            clips.append(generator.clip(index))
            continue
        data = cached_npz(folder / f"{index:06d}.npz", lambda i=index: generator.clip(i))
        clips.append({k: (str(v) if isinstance(v, np.ndarray) and v.dtype.kind == "U" else v)
                      for k, v in data.items()})
    log.info("synthetic HOI clips %d..%d ready (cache %s)", start, start + count - 1, folder)
    return clips
