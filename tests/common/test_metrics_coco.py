"""coco_keypoint_eval against a direct pycocotools COCOeval run set up from json files."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from common.metrics import COCO_KEYPOINT_STAT_NAMES, coco_keypoint_eval


def _person(rng: np.random.Generator, ann_id: int, image_id: int, box: list[float], num_kpts: int,
            unlabelled: float) -> dict:
    x, y, w, h = box
    xy = np.stack([rng.uniform(x, x + w, num_kpts), rng.uniform(y, y + h, num_kpts)], 1)
    vis = np.where(rng.random(num_kpts) < unlabelled, 0, rng.choice([1, 2], num_kpts))
    kpts = np.concatenate([np.where(vis[:, None] > 0, xy, 0.0), vis[:, None]], 1)
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "keypoints": kpts.reshape(-1).tolist(),
            "num_keypoints": int((vis > 0).sum()), "area": 0.8 * w * h, "bbox": box, "iscrowd": 0}


def _dataset(num_kpts: int, seed: int) -> tuple[dict, list[dict]]:
    """3 images: crowd region, an all-unlabelled person, medium/large persons, several detections each."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "width": 640, "height": 480, "file_name": f"{i}.jpg"} for i in (1, 2, 3)]
    anns = [
        _person(rng, 1, 1, [10, 20, 120, 200], num_kpts, 0.2),
        _person(rng, 2, 1, [300, 40, 60, 110], num_kpts, 0.3),
        {"id": 3, "image_id": 1, "category_id": 1, "keypoints": [0] * (3 * num_kpts), "num_keypoints": 0,
         "area": 30000.0, "bbox": [400, 200, 200, 200], "iscrowd": 1},
        _person(rng, 4, 2, [50, 50, 80, 90], num_kpts, 1.0),   # no labelled keypoint: ignored
        _person(rng, 5, 2, [200, 100, 150, 300], num_kpts, 0.1),
        _person(rng, 6, 3, [20, 30, 40, 60], num_kpts, 0.0),
        _person(rng, 7, 3, [150, 60, 220, 380], num_kpts, 0.4),
    ]
    categories = [{"id": 1, "name": "person", "supercategory": "person",
                   "keypoints": [f"k{i}" for i in range(num_kpts)], "skeleton": []}]
    gt = {"images": images, "annotations": anns, "categories": categories}
    results = []
    for ann in anns:
        kp = np.array(ann["keypoints"], dtype=float).reshape(-1, 3)
        if ann["num_keypoints"] == 0:
            kp[:, :2] = np.array(ann["bbox"][:2]) + rng.uniform(0, 100, (num_kpts, 2))
        for noise in (2.0, 8.0, 25.0):  # several detections per person, of decreasing quality
            xy = kp[:, :2] + rng.normal(scale=noise, size=(num_kpts, 2))
            dt = np.concatenate([xy, np.ones((num_kpts, 1))], 1)
            results.append({"image_id": ann["image_id"], "category_id": 1,
                            "keypoints": dt.reshape(-1).tolist(), "score": float(rng.uniform(0.2, 1.0))})
    false_positive = np.c_[rng.uniform(500, 600, (num_kpts, 2)), np.ones(num_kpts)]
    results.append({"image_id": 3, "category_id": 1, "score": 0.99,
                    "keypoints": false_positive.ravel().tolist()})
    return gt, results


def _direct(gt: dict, results: list[dict], tmp_path: Path, sigmas: np.ndarray | None = None) -> list[float]:
    gt_file, dt_file = tmp_path / "gt.json", tmp_path / "dt.json"
    gt_file.write_text(json.dumps(gt))
    dt_file.write_text(json.dumps(results))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_file))
        coco_dt = coco_gt.loadRes(str(dt_file))
        ev = COCOeval(coco_gt, coco_dt, "keypoints")
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = sigmas
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(s) for s in ev.stats]


def test_matches_direct_cocoeval_and_leaves_inputs_untouched(tmp_path, capsys):
    gt, results = _dataset(17, seed=0)
    gt_copy, results_copy = copy.deepcopy(gt), copy.deepcopy(results)
    got = coco_keypoint_eval(gt, results)
    assert capsys.readouterr().out == ""
    expected = _direct(gt, results, tmp_path)
    assert list(got) == list(COCO_KEYPOINT_STAT_NAMES)
    assert [got[k] for k in COCO_KEYPOINT_STAT_NAMES] == expected
    assert 0.0 < got["AP"] < 1.0
    assert gt == gt_copy and results == results_copy
    assert coco_keypoint_eval(tmp_path / "gt.json", results) == got


def test_custom_sigmas_match_direct_cocoeval(tmp_path):
    gt, results = _dataset(5, seed=1)
    sigmas = np.array([0.3, 0.5, 0.7, 0.9, 1.1]) / 10
    got = coco_keypoint_eval(gt, results, sigmas=sigmas)
    assert [got[k] for k in COCO_KEYPOINT_STAT_NAMES] == _direct(gt, results, tmp_path, sigmas)


def test_ground_truth_as_prediction_scores_one():
    gt, _ = _dataset(17, seed=2)
    perfect = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
               for a in gt["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"]]
    got = coco_keypoint_eval(gt, perfect)
    for key in ("AP", "AP50", "AP75", "APm", "APl", "AR", "ARm", "ARl"):
        assert got[key] == pytest.approx(1.0), key
    assert coco_keypoint_eval(gt, []) == dict.fromkeys(COCO_KEYPOINT_STAT_NAMES, 0.0)
