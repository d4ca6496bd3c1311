"""Joint metrics against brute-force loops, closed-form similarity cases and scipy's Procrustes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from common.metrics import (
    M_TO_MM,
    TAIHRI_PART_SETS,
    aggregate,
    convert_units,
    mpjpe,
    pa_mpjpe,
    per_sample_mpjpe,
    per_subset_mpjpe,
    root_aligned_mpjpe,
)


@pytest.fixture
def joints() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(6, 24, 3))
    pred = gt + rng.normal(scale=0.1, size=gt.shape)
    valid = rng.random((6, 24)) > 0.3
    return pred, gt, valid


def _loop_mean(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    errs = [np.sqrt(((pred[n, j] - gt[n, j]) ** 2).sum()) for n in range(len(pred))
            for j in range(pred.shape[1]) if valid[n, j]]
    return float(np.mean(errs))


def test_mpjpe_matches_loop_and_accepts_torch(joints):
    pred, gt, valid = joints
    assert mpjpe(pred, gt, valid) == pytest.approx(_loop_mean(pred, gt, valid), rel=1e-12)
    as_torch = torch.tensor(pred, dtype=torch.float32), torch.tensor(gt), torch.tensor(valid)
    assert mpjpe(*as_torch) == pytest.approx(_loop_mean(pred, gt, valid), rel=1e-5)
    per_sample = per_sample_mpjpe(pred, gt, valid)
    assert per_sample[2] == pytest.approx(_loop_mean(pred[2:3], gt[2:3], valid[2:3]))


def test_root_aligned_single_root_and_two_hand_groups(joints):
    pred, gt, valid = joints
    valid[:, 0] = True
    ref = _loop_mean(pred - pred[:, :1], gt - gt[:, :1], valid)
    assert root_aligned_mpjpe(pred, gt, root=0, valid=valid) == pytest.approx(ref)
    rng = np.random.default_rng(2)
    gt2 = rng.normal(size=(4, 42, 3))
    pred2 = gt2 + rng.normal(scale=0.05, size=gt2.shape)
    valid2 = rng.random((4, 42)) > 0.2
    valid2[1, 21] = False  # left wrist invalid: the whole left hand of sample 1 drops out
    rel_p, rel_g, mask = pred2.copy(), gt2.copy(), valid2.copy()
    for wrist in (0, 21):
        sl = slice(wrist, wrist + 21)
        rel_p[:, sl] -= pred2[:, wrist:wrist + 1]
        rel_g[:, sl] -= gt2[:, wrist:wrist + 1]
        mask[:, sl] &= valid2[:, wrist:wrist + 1]
    got = root_aligned_mpjpe(pred2, gt2, root=[0, 21], valid=valid2, groups=[range(21), range(21, 42)])
    assert got == pytest.approx(_loop_mean(rel_p, rel_g, mask))


def test_pa_mpjpe_closed_form_similarity_is_zero():
    rng = np.random.default_rng(3)
    pred = rng.normal(size=(5, 17, 3))
    rots = Rotation.random(5, random_state=4).as_matrix()
    scale = np.array([0.5, 1.0, 1.7, 2.5, 0.9])
    gt = scale[:, None, None] * np.einsum("bij,bnj->bni", rots, pred) + rng.normal(size=(5, 1, 3))
    assert mpjpe(pred, gt) > 0.5
    assert pa_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-10)


def _scipy_pa(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    errs = []
    for p, g, v in zip(pred, gt, valid):
        pc, gc = p[v] - p[v].mean(0), g[v] - g[v].mean(0)
        rot, _ = Rotation.align_vectors(gc, pc)
        rotated = rot.apply(pc)
        s = (rotated * gc).sum() / (pc**2).sum()
        errs.extend(np.linalg.norm(s * rotated - gc, axis=1))
    return float(np.mean(errs))


def test_pa_mpjpe_matches_scipy_with_reflection_and_invalid_joints(joints):
    pred, gt, valid = joints
    pred = pred.copy()
    pred[0, :, 0] *= -1.0  # a mirrored sample: the best proper rotation, not the reflection
    assert pa_mpjpe(pred, gt, valid) == pytest.approx(_scipy_pa(pred, gt, valid), rel=1e-9)
    assert pa_mpjpe(pred, gt) == pytest.approx(_scipy_pa(pred, gt, np.ones_like(valid)), rel=1e-9)


def test_subsets_aggregate_and_units(joints):
    pred, gt, valid = joints
    got = per_subset_mpjpe(pred, gt, TAIHRI_PART_SETS, valid)
    assert TAIHRI_PART_SETS["left_arm"] == [16, 18, 20] and TAIHRI_PART_SETS["lower_body"] == [1, 2, 4, 5]
    for name, idx in TAIHRI_PART_SETS.items():
        assert got[name] == pytest.approx(_loop_mean(pred[:, idx], gt[:, idx], valid[:, idx]))
    stats = aggregate([1.0, None, 3.0, float("nan"), 10.0])
    assert stats == {"mean": pytest.approx(14.0 / 3), "median": 3.0}
    assert convert_units({"mpjpe": 0.05}, M_TO_MM) == {"mpjpe": pytest.approx(50.0)}
    assert convert_units(2e-4, 100.0, power=2) == pytest.approx(2.0)


def test_pa_mpjpe_planar_and_near_degenerate_samples():
    rng = np.random.default_rng(6)
    planar = np.concatenate([rng.normal(size=(3, 12, 2)), np.zeros((3, 12, 1))], -1)  # rank-2 covariance
    rots = Rotation.random(3, random_state=7).as_matrix()
    gt = 0.8 * np.einsum("bij,bnj->bni", rots, planar) + 1.0
    assert pa_mpjpe(planar, gt) == pytest.approx(0.0, abs=1e-10)
    noisy = planar + rng.normal(scale=1e-3, size=planar.shape)
    assert pa_mpjpe(noisy, gt) == pytest.approx(_scipy_pa(noisy, gt, np.ones((3, 12), bool)), rel=1e-8)
