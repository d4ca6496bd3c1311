"""One nearest-neighbour pass and one hand ICP per sample give exactly the figures of the separate calls."""

from __future__ import annotations

import numpy as np

from common.metrics import chamfer_distance, f_score
from common.metrics.pointcloud import surface_points
from common.metrics.protocols import gsdf_sample_metrics
from tiger.evaluation import Prediction, centred_object_metrics, sample_metrics

CUBE_V = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64) * 0.03
CUBE_F = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],
                   [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])


def _prediction(rng: np.random.Generator) -> Prediction:
    gt_obj = (CUBE_V + np.array([0.0, 0.0, 0.5]), CUBE_F)
    gt_hand = (CUBE_V * 2 + [0.05, 0.0, 0.5], CUBE_F)
    pred_hand = (gt_hand[0] * 1.1 + rng.normal(0, 0.004, gt_hand[0].shape) + 0.01, CUBE_F)
    refined = surface_points(gt_obj, 300, rng) + rng.normal(0, 0.003, (300, 3))
    return Prediction({"refined": refined, "raw_prior": rng.normal(0, 0.03, (300, 3)) + np.array([0, 0, 0.52])},
                      pred_hand, gt_obj, gt_hand, 0.3, "box")


def test_centred_metrics_equal_the_separate_calls() -> None:
    pred = _prediction(np.random.default_rng(0))
    points = pred.objects["refined"]
    fast = centred_object_metrics(points, pred.gt_object, 800, seed=3)
    pred_c = (points - points.mean(0)) * 100
    gt = surface_points(pred.gt_object, 800, np.random.default_rng(3))
    gt_c = (gt - gt.mean(0)) * 100
    assert fast["cd_o_centred"] == chamfer_distance(pred_c, gt_c, squared=True)
    assert fast["fs_o_5_centred"] == f_score(pred_c, gt_c, 0.5)
    assert fast["fs_o_10_centred"] == f_score(pred_c, gt_c, 1.0)


def test_shared_hand_icp_equals_separate_gsdf_calls() -> None:
    pred = _prediction(np.random.default_rng(1))
    for icp in (True, False):
        both = sample_metrics(pred, 600, icp, seed=5)
        for name, points in pred.objects.items():
            alone = gsdf_sample_metrics(pred.pred_hand, pred.gt_hand, points, pred.gt_object, icp=icp,
                                        num_samples=600, seed=5)
            assert both[name]["cd_o"] == alone["chamfer_obj"]
            assert both[name]["fs_o_10"] == alone["fscore_obj_10mm"]
            assert both[name]["cd_h"] == alone["chamfer_hand"]
            assert both[name]["fs_h_5"] == alone["fscore_hand_5mm"]
