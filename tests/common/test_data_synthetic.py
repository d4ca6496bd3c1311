"""Synthetic generators: geometric ground truth, determinism, text/motion agreement, disk round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from common.body import SMPL_PART_NAMES, load_smpl, smpl_part_labels
from common.data import schema as S
from common.data.schema import validate_sample
from common.data.synthetic import (
    OBJECT_CATEGORIES,
    BodyClipGenerator,
    BodySceneGenerator,
    HandMotionGenerator,
    HandObjectGenerator,
    SyntheticDataset,
    make_object,
    random_body_pose,
    write_dataset,
)
from common.data.synthetic.poses import SMPL_POSE_LIMITS
from common.data.transforms import hflip


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    p = np.asarray(points, np.float64) @ np.asarray(K, np.float64).T
    return p[..., :2] / p[..., 2:]


def _min_dist(points: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Brute-force distance from each point to its nearest vertex."""
    return cdist(points, verts).min(axis=1)


@pytest.fixture(scope="module")
def bodies() -> BodySceneGenerator:
    torch.set_num_threads(1)
    return BodySceneGenerator(seed=3, num_samples=12, render=True, object_prob=0.5, return_vertices=True,
                              num_object_points=256)


@pytest.fixture(scope="module")
def body_samples(bodies: BodySceneGenerator) -> list[dict]:
    return list(bodies)


def test_objects_vary_within_category_and_points_lie_on_the_surface() -> None:
    for category in OBJECT_CATEGORIES:
        v1, f1, p1 = make_object(category, np.random.default_rng(0), 500)
        v2, _, _ = make_object(category, np.random.default_rng(1), 500)
        _, _, p3 = make_object(category, np.random.default_rng(0), 500)
        assert not np.allclose(np.ptp(v1, axis=0), np.ptp(v2, axis=0))
        np.testing.assert_array_equal(p1, p3)
        assert f1.max() < len(v1) and p1.shape == (500, 3)
        assert (p1 >= v1.min(0) - 1e-6).all() and (p1 <= v1.max(0) + 1e-6).all()
    verts, _, points = make_object("box", np.random.default_rng(2), 300)
    half = verts.max(axis=0)
    on_face = np.isclose(np.abs(points), half, atol=1e-5).any(axis=1)
    assert on_face.all()
    verts, _, points = make_object("sphere", np.random.default_rng(3), 300)
    radius = np.linalg.norm(verts, axis=1).max()
    assert (np.linalg.norm(points, axis=1) > 0.98 * radius).all()


def test_random_body_pose_respects_joint_limits() -> None:
    rng = np.random.default_rng(0)
    poses = np.stack([random_body_pose(rng) for _ in range(200)]).reshape(200, 24, 3)
    assert (poses >= SMPL_POSE_LIMITS[..., 0] - 1e-6).all()
    assert (poses <= SMPL_POSE_LIMITS[..., 1] + 1e-6).all()
    assert (poses[:, 4, 0] >= 0).all() and (poses[:, 18, 1] <= 0).all() and poses.std(axis=0)[1:].min() > 0


def test_body_joints_project_onto_rendered_body_and_match_smpl(body_samples: list[dict]) -> None:
    smpl = load_smpl()
    for i, sample in enumerate(body_samples):
        validate_sample(sample, source=f"bodies[{i}]")
        np.testing.assert_allclose(_project(sample[S.JOINTS_CAM], sample[S.K])[sample[S.JOINT_VALID]],
                                   sample[S.JOINTS_2D][sample[S.JOINT_VALID]], atol=1e-3)
        params = {k: torch.as_tensor(v)[None] for k, v in sample[S.SMPL].items()}
        with torch.no_grad():
            out = smpl(betas=params[S.BETAS], global_orient=params[S.POSE][:, :3],
                       body_pose=params[S.POSE][:, 3:], transl=params[S.TRANSL])
        T = sample[S.T_WORLD_CAM].astype(np.float64)
        joints_world = out.joints[0, :24].double().numpy()
        np.testing.assert_allclose((joints_world - T[:3, 3]) @ T[:3, :3], sample[S.JOINTS_CAM], atol=1e-4)
        if S.OBJECT_POINTS in sample:
            continue
        mask = sample[S.MASK]
        grown = mask.copy()
        for axis in (0, 1):
            grown |= np.roll(mask, 1, axis) | np.roll(mask, -1, axis)
        uv = np.round(sample[S.JOINTS_2D][sample[S.JOINT_VALID]]).astype(int)
        assert grown[uv[:, 1], uv[:, 0]].all(), f"sample {i}: a projected joint is off the rendered body"
        assert (sample[S.DEPTH][mask] > 0).all()


def test_views_include_close_range_ego_with_parts_outside(bodies: BodySceneGenerator) -> None:
    scenes = bodies.scenes(range(len(bodies)))
    views = {s.view for s in scenes}
    assert views == {"exo", "ego"}
    ego = [bodies.to_sample(s) for s in scenes if s.view == "ego"]
    assert any(not s[S.JOINT_VALID].all() for s in ego)
    cams = [np.linalg.norm(s.T_world_cam[:3, 3] - s.joints[0]) for s in scenes if s.view == "ego"]
    assert max(cams) < 2.8


def test_body_generator_is_deterministic_and_streams_the_same(body_samples: list[dict]) -> None:
    again = BodySceneGenerator(seed=3, num_samples=3, object_prob=0.5)
    streamed = list(again)
    for i in range(3):
        direct = again[i]
        for key in (S.JOINTS_CAM, S.K, S.BOX):
            np.testing.assert_allclose(direct[key], streamed[i][key], atol=1e-5)
            np.testing.assert_allclose(direct[key], body_samples[i][key], atol=1e-5)
    other = BodySceneGenerator(seed=4, num_samples=1)[0]
    assert not np.allclose(other[S.JOINTS_CAM], streamed[0][S.JOINTS_CAM])


def test_body_contact_points_lie_within_threshold_of_the_body(body_samples: list[dict]) -> None:
    labels = smpl_part_labels()
    touched = 0
    for sample in body_samples:
        if S.OBJECT_POINTS not in sample:
            continue
        verts = sample[S.VERTICES_CAM].astype(np.float64)
        points = sample[S.OBJECT_POINTS].astype(np.float64)
        dist = _min_dist(points, verts)
        contact = sample[S.OBJECT_CONTACT]
        assert contact.any() and (dist[contact] < 0.04 + 1e-4).all() and (dist[~contact] > 0.04 - 1e-4).all()
        nearest = np.argmin(cdist(points[contact], verts), axis=1)
        np.testing.assert_array_equal(sample[S.OBJECT_CONTACT_PART][contact], labels[nearest])
        assert (sample[S.OBJECT_CONTACT_PART][~contact] == -1).all()
        part_words = {SMPL_PART_NAMES[p].replace("_", " ") for p in labels[nearest]}
        assert any(word in sample[S.TEXT] for word in part_words)
        assert sample[S.OBJECT_CATEGORY] in sample[S.TEXT]
        assert (sample[S.OBJECT_MASK] <= sample[S.OBJECT_MASK_AMODAL]).all()
        touched += 1
    assert touched >= 3


def test_hand_motions_are_smooth_and_match_their_text() -> None:
    gen = HandMotionGenerator(seed=5, num_samples=9, num_frames=90, fps=30.0, two_hands=True)
    seen = set()
    for i in range(len(gen)):
        clip = gen.clip(i)
        sample = gen.to_sample(clip)
        validate_sample(sample, source=f"hands[{i}]")
        assert sample[S.JOINTS_CAM].shape == (90, 42, 3)
        track = next(t for t in clip.hands if t.side == clip.active)
        wrist = track.joints[:, 0]
        accel = np.linalg.norm(np.diff(wrist, n=2, axis=0), axis=1)
        speed = np.linalg.norm(np.diff(wrist, axis=0), axis=1)
        assert accel.max() < 0.3 * speed.max(), f"clip {i} is not smooth"
        target = clip.objects[clip.target]
        named = [o for o in clip.objects if f"{o.color_name} {o.category}" in sample[S.TEXT]]
        assert named == [target] and sample[S.ACTION] in sample[S.TEXT].replace("pick up", "grasp")
        center = target.pose[:3, 3]
        settled = int(0.74 * 89)
        to_target = (center - wrist[0])[[0, 2]]
        moved = (wrist[settled] - wrist[0])[[0, 2]]
        assert moved @ to_target / np.linalg.norm(moved) / np.linalg.norm(to_target) > 0.85
        palm = track.joints[:, [0, 5, 9, 13, 17]].mean(axis=1)
        curl = np.linalg.norm(track.joints[:, [8, 12, 16, 20]] - palm[:, None], axis=2).mean(axis=1)
        lifted = clip.target_poses[-1, 1, 3] - clip.target_poses[0, 1, 3]
        if clip.action == "grasp":
            gap = cdist(track.verts[settled], target.points).min()
            assert gap < 0.01 and curl[-1] < curl[0] - 0.01 and lifted > 0.05
        elif clip.action == "tap":
            tip = track.joints[:, 8]
            dips = 1 + np.flatnonzero((tip[1:-1, 1] < tip[:-2, 1]) & (tip[1:-1, 1] < tip[2:, 1]))
            top = target.points[:, 1].max()
            assert len(dips) == 2 and lifted == 0
            assert np.allclose(tip[dips, 1], top, atol=0.01)
            assert (np.linalg.norm((tip[dips] - center)[:, [0, 2]], axis=1) < 0.01).all()
        else:
            distance = np.linalg.norm(wrist - center, axis=1)
            assert distance[-1] < distance[0] - 0.05 and abs(curl[-1] - curl[0]) < 0.02 and lifted == 0
        seen.add(clip.action)
    assert seen == {"reach", "grasp", "tap"}


def test_hand_object_contact_within_threshold_of_the_hand() -> None:
    gen = HandObjectGenerator(seed=2, num_samples=6, render=True, image_hw=(96, 96))
    for i in range(len(gen)):
        scene = gen.scene(i)
        sample = gen.to_sample(scene)
        validate_sample(sample, source=f"grasps[{i}]")
        dist = _min_dist(scene.obj_points.astype(np.float64), scene.hand_verts)
        contact = sample[S.OBJECT_CONTACT]
        assert contact.any() and (dist[contact] < 0.005 + 1e-5).all()
        assert (dist[~contact] >= 0.005 - 1e-5).all()
        assert (sample[S.OBJECT_MASK] <= sample[S.OBJECT_MASK_AMODAL]).all() and sample[S.MASK].any()


def test_written_dataset_reads_back_through_the_loader(tmp_path: Path, body_samples: list[dict]) -> None:
    samples = body_samples[:4]
    write_dataset(samples, tmp_path / "bodies", "train", meta={"generator": "bodies"})
    dataset = SyntheticDataset(tmp_path / "bodies", "train", cache_dir=tmp_path / "cache")
    assert len(dataset) == 4
    for original, loaded in zip(samples, dataset):
        assert set(loaded) == set(original)
        for key, value in original.items():
            if key == S.IMAGE:
                assert np.abs(loaded[key] - value).mean() < 0.02
            elif isinstance(value, dict):
                for sub, arr in value.items():
                    np.testing.assert_array_equal(loaded[key][sub], arr)
            elif isinstance(value, str | int):
                assert loaded[key] == value
            else:
                np.testing.assert_array_equal(loaded[key], value)
    clips = HandMotionGenerator(seed=1, num_samples=2, num_frames=4, render=True, image_hw=(48, 64))
    write_dataset(clips, tmp_path / "hands", "val")
    loaded = SyntheticDataset(tmp_path / "hands", "val", cache_dir=tmp_path / "cache")[1]
    assert loaded[S.FRAMES].shape == (4, 3, 48, 64) and loaded[S.TEXT] == clips[1][S.TEXT]
    np.testing.assert_array_equal(loaded[S.JOINTS_CAM], clips[1][S.JOINTS_CAM])


def test_body_clips_are_smooth_and_keep_the_object_in_contact() -> None:
    gen = BodyClipGenerator(seed=1, num_samples=3, num_frames=12, object_prob=1.0, return_vertices=True,
                            num_object_points=128)
    for i in range(len(gen)):
        clip = gen[i]
        validate_sample(clip, source=f"body_clips[{i}]")
        assert clip[S.JOINTS_CAM].shape == (12, 24, 3) and clip[S.SMPL][S.POSE].shape == (12, 72)
        joints = clip[S.JOINTS_CAM].astype(np.float64)
        accel = np.linalg.norm(np.diff(joints, n=2, axis=0), axis=2).max()
        assert accel < 0.5 * np.linalg.norm(np.diff(joints, axis=0), axis=2).max()
        for t in range(12):
            dist = _min_dist(clip[S.OBJECT_POINTS][t].astype(np.float64), clip[S.VERTICES_CAM][t])
            contact = clip[S.OBJECT_CONTACT][t]
            assert contact.any() and dist.min() < 0.012 and (dist[contact] < 0.04 + 1e-4).all()


def test_hflip_of_a_body_sample_is_a_valid_smpl_scene(body_samples: list[dict]) -> None:
    smpl = load_smpl()
    for sample in body_samples[:4]:
        flipped = hflip(sample)
        validate_sample(flipped)
        params = {k: torch.as_tensor(v)[None] for k, v in flipped[S.SMPL].items()}
        with torch.no_grad():
            out = smpl(betas=params[S.BETAS], global_orient=params[S.POSE][:, :3],
                       body_pose=params[S.POSE][:, 3:], transl=params[S.TRANSL])
        T = flipped[S.T_WORLD_CAM].astype(np.float64)
        joints = (out.joints[0, :24].double().numpy() - T[:3, 3]) @ T[:3, :3]
        np.testing.assert_allclose(joints, flipped[S.JOINTS_CAM], atol=1e-4)
        np.testing.assert_array_equal(flipped[S.MASK], sample[S.MASK][:, ::-1])


def test_coco17_keypoints_are_face_landmarks_and_smpl_joints() -> None:
    coco = BodySceneGenerator(seed=7, num_samples=2, keypoints="coco17", return_vertices=True)
    smpl24 = BodySceneGenerator(seed=7, num_samples=2)
    smpl = load_smpl()
    for i in range(2):
        sample, joints24 = coco[i], smpl24[i][S.JOINTS_CAM]
        assert sample[S.JOINTS_CAM].shape == (17, 3)
        np.testing.assert_allclose(sample[S.JOINTS_CAM][5:], joints24[[16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8]],
                                   atol=1e-5)
        face = _min_dist(sample[S.JOINTS_CAM][:5].astype(np.float64), sample[S.VERTICES_CAM].astype(np.float64))
        assert face.max() < 1e-5
        flipped = hflip(sample, image_hw=coco.image_hw)
        params = {k: torch.as_tensor(v)[None] for k, v in flipped[S.SMPL].items()}
        with torch.no_grad():
            out = smpl(betas=params[S.BETAS], global_orient=params[S.POSE][:, :3],
                       body_pose=params[S.POSE][:, 3:], transl=params[S.TRANSL])
        T = flipped[S.T_WORLD_CAM].astype(np.float64)
        keypoints = (out.joints[0, coco.keypoint_ids].double().numpy() - T[:3, 3]) @ T[:3, :3]
        np.testing.assert_allclose(keypoints, flipped[S.JOINTS_CAM], atol=1e-4)
