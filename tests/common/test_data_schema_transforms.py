"""Schema validation and geometric transforms: round trips, reprojection, image/point consistency."""

from __future__ import annotations

import numpy as np
import pytest

from common.data import schema as S
from common.data.schema import SchemaError, validate_sample
from common.data.transforms import apply_affine, box_to_center_size, crop_affine_matrix, inverse_crop


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Independent pinhole projection in float64."""
    p = np.asarray(points, np.float64) @ np.asarray(K, np.float64).T
    return p[..., :2] / p[..., 2:]


def _sample(rng: np.random.Generator, hw: tuple[int, int] = (120, 160), joints: int = 17) -> dict:
    """A random scene: joints in front of a camera, a dark image with one bright dot per joint."""
    h, w = hw
    K = np.array([[200.0, 0, 77.3], [0, 205.0, 61.8], [0, 0, 1]])
    uv = np.stack([rng.uniform(30, w - 30, joints), rng.uniform(25, h - 25, joints)], -1)
    depth = rng.uniform(2.0, 3.0, joints)
    cam = np.concatenate([(uv - K[:2, 2]) / np.diag(K)[:2] * depth[:, None], depth[:, None]], -1)
    image = np.zeros((3, h, w), np.float32)
    return {S.IMAGE: image, S.K: K.astype(np.float32), S.JOINTS_CAM: cam.astype(np.float32),
            S.JOINTS_2D: _project(cam, K).astype(np.float32), S.JOINT_VALID: np.ones(joints, bool),
            S.BOX: np.array([30, 20, 120, 100], np.float32), S.MASK: np.zeros(hw, bool)}


def test_valid_sample_passes_and_errors_are_collected() -> None:
    sample = _sample(np.random.default_rng(0))
    sample[S.TEXT] = "wave"
    validate_sample(sample, source="unit")
    bad = dict(sample)
    bad[S.JOINTS_2D] = np.zeros((17, 3), np.float32)
    bad[S.JOINT_VALID] = np.ones(17, np.float32)
    bad[S.IMAGE] = sample[S.IMAGE] + 2
    bad["joint_vaild"] = bad.pop(S.JOINT_VALID)
    bad[S.SMPL] = {S.BETAS: np.zeros(10, np.float32)}
    with pytest.raises(SchemaError) as err:
        validate_sample(bad, source="fixture.json", required=(S.FRAME_ID,))
    text = str(err.value)
    assert "fixture.json" in text and "6 problems" in text
    for needle in ("joints_2d: shape (17, 3)", "image: values", "'joint_valid'", "smpl.pose: missing",
                   "frame_id: missing", "fix:"):
        assert needle in text


def test_named_dimensions_must_agree_and_clips_need_leading_time() -> None:
    sample = _sample(np.random.default_rng(1))
    sample[S.JOINT_VALID] = np.ones(16, bool)
    with pytest.raises(SchemaError, match="joint_valid: shape"):
        validate_sample(sample)
    clip = {S.TIMESTAMPS: np.arange(4, dtype=np.float32), S.JOINTS_CAM: np.zeros((4, 21, 3), np.float32),
            S.K: np.tile(np.eye(3, dtype=np.float32), (4, 1, 1)), S.TEXT: "tap the box"}
    validate_sample(clip)
    clip[S.K] = np.eye(3, dtype=np.float32)
    with pytest.raises(SchemaError, match=r"K: shape \(3, 3\) but expected \('T', 3, 3\)"):
        validate_sample(clip)


def _crop(sample: dict, out_hw: tuple[int, int], box, padding: float, rot: float = 0.0, scale: float = 1.0) -> dict:
    """A top-down crop built from the transform primitives (as posellm.crop does)."""
    center, size = box_to_center_size(box, out_hw[1] / out_hw[0], padding)
    return apply_affine(sample, crop_affine_matrix(center, size * scale, out_hw, rot), out_hw)


@pytest.mark.parametrize("rot", [0.0, 33.0])
def test_crop_round_trip_and_reprojection(rot: float) -> None:
    rng = np.random.default_rng(2)
    sample = _sample(rng)
    out = _crop(sample, (64, 48), sample[S.BOX], padding=1.25, rot=rot, scale=1.1)
    assert out[S.IMAGE].shape == (3, 64, 48) and out[S.MASK].shape == (64, 48)
    np.testing.assert_allclose(_project(out[S.JOINTS_CAM], out[S.K]), out[S.JOINTS_2D], atol=1e-3)
    back = inverse_crop(out[S.JOINTS_2D], out[S.CROP_AFFINE])
    np.testing.assert_allclose(back, sample[S.JOINTS_2D], atol=1e-4)
    validate_sample(out)


def test_crop_moves_image_content_with_the_points() -> None:
    sample = _sample(np.random.default_rng(3), joints=1)
    u, v = np.round(sample[S.JOINTS_2D][0]).astype(int)
    sample[S.JOINTS_2D] = np.array([[u, v]], np.float32)
    sample[S.IMAGE][:, v, u] = 1.0
    out = _crop(sample, (96, 96), (u - 20, v - 20, u + 17, v + 23), padding=1.0)
    peak = np.unravel_index(np.argmax(out[S.IMAGE][0]), (96, 96))[::-1]
    np.testing.assert_allclose(peak, out[S.JOINTS_2D][0], atol=1.0)
