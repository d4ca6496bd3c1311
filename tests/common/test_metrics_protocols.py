"""BEHAVE/CHORE, gSDF and EggHand protocols against brute-force and loop transcriptions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from common.metrics import (
    behave_chamfer,
    egghand_metrics,
    gsdf_hand_object_metrics,
    gsdf_sample_metrics,
    icp_translation_scale,
)


def _cdist_chamfer(a: np.ndarray, b: np.ndarray, squared: bool) -> float:
    d = torch.cdist(torch.tensor(a), torch.tensor(b))
    d_ab, d_ba = d.min(1).values, d.min(0).values
    return float((d_ab**2).mean() + (d_ba**2).mean()) if squared else float(d_ab.mean() + d_ba.mean())


def _similar(points: np.ndarray, seed: int) -> np.ndarray:
    rot = Rotation.random(random_state=seed).as_matrix()
    return 1.3 * points @ rot.T + np.array([0.2, -0.1, 0.4])


def test_behave_combined_procrustes_and_unaligned_chamfer():
    rng = np.random.default_rng(0)
    gt_h, gt_o = rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) + 2.0
    pred_h, pred_o = _similar(gt_h, 1), _similar(gt_o, 1)
    aligned = behave_chamfer(pred_h, gt_h, pred_o, gt_o)
    assert aligned["chamfer_human"] == pytest.approx(0.0, abs=1e-8)
    assert aligned["chamfer_object"] == pytest.approx(0.0, abs=1e-8)
    raw = behave_chamfer(pred_h, gt_h, pred_o, gt_o, align=False)
    assert raw["chamfer_human"] == pytest.approx(100 * _cdist_chamfer(pred_h, gt_h, squared=False))
    assert raw["chamfer_object"] == pytest.approx(100 * _cdist_chamfer(pred_o, gt_o, squared=False))
    # object moved on its own: the one combined fit can no longer zero both
    moved = behave_chamfer(pred_h, gt_h, pred_o + 0.5, gt_o)
    assert moved["chamfer_human"] > 1.0 and moved["chamfer_object"] > 1.0
    # object vertex counts differ: CHORE falls back to a human-only fit
    human_only = behave_chamfer(pred_h, gt_h, pred_o[:100] + 0.5, gt_o)
    assert human_only["chamfer_human"] == pytest.approx(0.0, abs=1e-8) and human_only["chamfer_object"] > 1.0


def test_behave_meshes_are_sampled_after_alignment():
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    gt_h, gt_o = (verts, faces), (verts + 3.0, faces)
    pred_h, pred_o = (_similar(verts, 2), faces), (_similar(verts + 3.0, 2), faces)
    out = behave_chamfer(pred_h, gt_h, pred_o, gt_o, num_samples=5000)
    assert 0.0 < out["chamfer_human"] < 3.0 and 0.0 < out["chamfer_object"] < 3.0  # sampling noise only (cm)
    assert behave_chamfer(pred_h, gt_h, pred_o, gt_o, align=False, num_samples=5000)["chamfer_human"] > 50.0


def test_gsdf_point_sets_match_cdist_and_aggregate():
    rng = np.random.default_rng(3)
    samples = []
    for _ in range(3):
        gh, go = rng.normal(scale=0.03, size=(400, 3)), rng.normal(scale=0.05, size=(500, 3))
        samples.append((gh + rng.normal(scale=0.002, size=gh.shape), gh,
                        go + rng.normal(scale=0.004, size=go.shape), go))
    per = [gsdf_sample_metrics(*s) for s in samples]
    for (ph, gh, po, go), got in zip(samples, per):
        assert got["chamfer_hand"] == pytest.approx(_cdist_chamfer(100 * ph, 100 * gh, squared=True))
        assert got["chamfer_obj"] == pytest.approx(_cdist_chamfer(100 * po, 100 * go, squared=True))
        d = torch.cdist(torch.tensor(100 * gh), torch.tensor(100 * ph))
        p1 = float((d.min(1).values < 0.1).double().mean())
        p2 = float((d.min(0).values < 0.1).double().mean())
        assert got["fscore_hand_1mm"] == pytest.approx(2 * p1 * p2 / (p1 + p2))
    ph, gh, po, go = zip(*samples)
    total = gsdf_hand_object_metrics([*ph, None], [*gh, gh[0]], [*po, None], [*go, go[0]])
    chamfers = [p["chamfer_obj"] for p in per]
    assert total["num_samples"] == 3.0
    assert total["chamfer_obj_mean"] == pytest.approx(np.mean(chamfers))
    assert total["chamfer_obj_median"] == pytest.approx(np.median(chamfers))
    assert total["fscore_obj_10mm"] == pytest.approx(np.mean([p["fscore_obj_10mm"] for p in per]))


def test_gsdf_icp_recovers_translation_scale_and_moves_the_object():
    rng = np.random.default_rng(4)
    gt_hand = rng.normal(scale=[0.04, 0.02, 0.01], size=(3000, 3))
    gt_obj = rng.normal(scale=0.05, size=(2000, 3)) + np.array([0.05, 0.0, 0.0])
    scale, shift = 1.15, np.array([0.03, -0.02, 0.01])
    keep = rng.random(3000) > 0.3  # a partial prediction: centroid/RMS pre-normalisation is not enough
    pred_hand, pred_obj = (gt_hand[keep] - shift) / scale, (gt_obj - shift) / scale
    s, t = icp_translation_scale(pred_hand, gt_hand)
    assert s == pytest.approx(scale, rel=0.05)
    np.testing.assert_allclose(t, shift, atol=3e-3)
    plain = gsdf_sample_metrics(pred_hand, gt_hand, pred_obj, gt_obj)
    fitted = gsdf_sample_metrics(pred_hand, gt_hand, pred_obj, gt_obj, icp=True)
    assert fitted["chamfer_obj"] < 0.1 * plain["chamfer_obj"]
    assert fitted["fscore_obj_5mm"] > plain["fscore_obj_5mm"]


def _egghand_reference(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Transcription of EggHand inference/evaluate.py's per-sample loop."""
    wrist_of = np.array([0] * 21 + [21] * 21)
    acc = {k: [] for k in ("mpjpe", "mpjpe_f", "ade", "fde", "abs_mpjpe", "abs_mpjpe_f")}
    for p, g in zip(pred, gt):
        valid = ~np.all(g == 0, axis=2)
        if not valid.any():
            continue
        err = np.linalg.norm(p - g, axis=2)
        acc["abs_mpjpe"] += err[valid].tolist()
        acc["abs_mpjpe_f"] += err[-1, valid[-1]].tolist()
        wrist_err, wrist_ok = err[:, [0, 21]], valid[:, [0, 21]]
        per_t = [wrist_err[t, wrist_ok[t]].mean() for t in range(len(err)) if wrist_ok[t].any()]
        if per_t:
            acc["ade"].append(np.mean(per_t))
        if wrist_ok[-1].any():
            acc["fde"].append(wrist_err[-1, wrist_ok[-1]].mean())
        rel_ok = valid & valid[:, wrist_of]
        rel_err = np.linalg.norm((p - p[:, wrist_of]) - (g - g[:, wrist_of]), axis=2)
        acc["mpjpe"] += rel_err[rel_ok].tolist()
        acc["mpjpe_f"] += rel_err[-1, rel_ok[-1]].tolist()
    return {k: float(np.mean(v)) for k, v in acc.items()}


def test_egghand_matches_official_loop_with_missing_joints():
    rng = np.random.default_rng(5)
    gt = rng.normal(size=(5, 10, 42, 3))
    pred = gt + rng.normal(scale=0.05, size=gt.shape)
    gt[rng.random((5, 10, 42)) < 0.15] = 0.0
    gt[1, :, 21] = 0.0        # left wrist never valid in sample 1
    gt[2, -1, [0, 21]] = 0.0  # no valid wrist on the last frame of sample 2
    gt[3] = 0.0               # sample 3 has no valid joint at all
    got = egghand_metrics(pred, gt)
    expected = _egghand_reference(pred, gt)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-10), key
