"""Chamfer/F-score against brute-force torch.cdist, surface sampling, ADE/FDE and PCKh by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from common.metrics import ade, chamfer_distance, f_score, fde, mpii_pckh, pckh, sample_surface


@pytest.fixture
def clouds() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(300, 3, generator=gen, dtype=torch.float64), torch.rand(
        410, 3, generator=gen, dtype=torch.float64) + 0.03


def test_chamfer_matches_cdist(clouds):
    a, b = clouds
    dist = torch.cdist(a, b)
    d_ab, d_ba = dist.min(1).values, dist.min(0).values
    assert chamfer_distance(a, b) == pytest.approx(float((d_ab**2).mean() + (d_ba**2).mean()), rel=1e-10)
    assert chamfer_distance(a.numpy(), b.numpy(), squared=False) == pytest.approx(
        float(d_ab.mean() + d_ba.mean()), rel=1e-10)


@pytest.mark.parametrize("threshold", [0.04, 0.06, 0.1])
def test_fscore_matches_cdist(clouds, threshold):
    a, b = clouds
    dist = torch.cdist(a, b)
    precision = float((dist.min(1).values < threshold).double().mean())
    recall = float((dist.min(0).values < threshold).double().mean())
    expected = 2 * precision * recall / (precision + recall)
    assert f_score(a, b, threshold) == pytest.approx(expected, rel=1e-12)


def test_fscore_is_zero_when_nothing_is_close():
    assert f_score(np.zeros((4, 3)), np.ones((5, 3)), 0.1) == 0.0


def test_surface_sampling_is_on_the_mesh_area_weighted_and_seeded():
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [3, 0, 1], [0, 2, 1]], dtype=float)
    faces = np.array([[0, 1, 2], [3, 4, 5]])  # areas 0.5 and 3.0, in the planes z=0 and z=1
    pts = sample_surface(verts, faces, 20000, seed=7)
    np.testing.assert_array_equal(pts, sample_surface(verts, faces, 20000, seed=7))
    on_lower = np.isclose(pts[:, 2], 0.0)
    assert np.all(on_lower | np.isclose(pts[:, 2], 1.0))
    assert on_lower.mean() == pytest.approx(0.5 / 3.5, abs=0.01)
    low = pts[on_lower]
    assert np.all(low[:, 0] + low[:, 1] <= 1 + 1e-12) and np.all(low[:, :2] >= 0)
    np.testing.assert_allclose(low[:, :2].mean(0), [1 / 3, 1 / 3], atol=0.01)


def test_ade_fde_by_hand_with_invalid_points_frames_and_samples():
    gt = np.zeros((3, 3, 2, 3))
    pred = gt.copy()
    pred[0, :, 0, 0] = [1.0, 2.0, 3.0]   # sample 0, point 0 errors per frame
    pred[0, :, 1, 0] = [3.0, 4.0, 6.0]   # sample 0, point 1
    pred[1, :, 0, 1] = [5.0, 7.0, 9.0]   # sample 1, point 0 (point 1 always invalid)
    valid = np.ones((3, 3, 2), dtype=bool)
    valid[0, 1, 1] = False               # frame 1 of sample 0 keeps point 0 only
    valid[1, :, 1] = False
    valid[1, 2, 0] = False               # sample 1: last frame empty -> no FDE, frame skipped in ADE
    valid[2] = False                     # sample 2: nothing valid -> skipped
    # sample 0: frames (1+3)/2=2, 2, (3+6)/2=4.5 -> 8.5/3 ; sample 1: (5+7)/2 = 6
    assert ade(pred, gt, valid) == pytest.approx((8.5 / 3 + 6.0) / 2)
    assert fde(pred, gt, valid) == pytest.approx(4.5)
    assert ade(torch.tensor(pred), torch.tensor(gt)) == pytest.approx(np.mean([
        np.mean([2, 3, 4.5]), np.mean([5 + 0, 7, 9]) / 2, 0.0]))


def test_pckh_by_hand():
    gt = np.zeros((2, 4, 2))
    pred = gt.copy()
    pred[0, :, 0] = [2.9, 3.0, 3.1, 100.0]   # head 10 px: threshold 0.5 * 0.6 * 10 = 3 px
    pred[1, :, 1] = [5.9, 6.1, 0.0, 0.0]     # head 20 px: threshold 6 px
    valid = np.array([[True, True, True, False], [True, True, True, True]])
    assert pckh(pred, gt, np.array([10.0, 20.0]), valid) == pytest.approx(100.0 * 5 / 7)
    boxes = np.array([[[0, 0], [6, 8]], [[0, 0], [12, 16]]], dtype=float)  # diagonals 10 and 20
    assert pckh(pred, gt, boxes, valid) == pytest.approx(100.0 * 5 / 7)
    assert pckh(pred, gt, np.array([10.0, 20.0]), valid, threshold=0.1) == pytest.approx(100.0 * 2 / 7)


def test_mpii_table_mean_excludes_pelvis_and_thorax():
    rng = np.random.default_rng(5)
    gt = rng.uniform(0, 200, size=(30, 16, 2))
    pred = gt + rng.normal(scale=4.0, size=gt.shape)
    head = rng.uniform(15, 30, size=30)
    valid = rng.random((30, 16)) > 0.1
    table = mpii_pckh(pred, gt, head, valid)
    no_pelvis_thorax = valid.copy()
    no_pelvis_thorax[:, 6:8] = False
    assert table["Mean"] == pytest.approx(pckh(pred, gt, head, no_pelvis_thorax))
    assert table["Mean@0.1"] == pytest.approx(pckh(pred, gt, head, no_pelvis_thorax, threshold=0.1))
    assert table["Head"] == pytest.approx(pckh(pred[:, 9:10], gt[:, 9:10], head, valid[:, 9:10]))
    shoulders = [pckh(pred[:, j:j + 1], gt[:, j:j + 1], head, valid[:, j:j + 1]) for j in (12, 13)]
    assert table["Shoulder"] == pytest.approx(np.mean(shoulders))
