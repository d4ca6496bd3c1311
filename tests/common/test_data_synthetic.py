"""Shared synthetic building blocks: primitive objects (contact, tiger) and SMPL body poses (taihri)."""

from __future__ import annotations

import numpy as np

from common.data.synthetic import OBJECT_CATEGORIES, SMPL_POSE_LIMITS, make_object, random_body_pose


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
